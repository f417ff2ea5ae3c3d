/*
 * bench_http.c: requests per second through the HTTP transport against an
 * in-process evhttp server on 127.0.0.1, with 1, 8 and 32 requests in
 * flight (and as many connections allowed to the host), for a small body
 * and for a 64 KiB one (about a Rekor v1 batch of ten entries).  Client and
 * server share one event loop and one thread, so the figures are what one
 * core does for both ends; CPU is the process's, both ends included.
 *
 * Usage: bench_http [seconds per run, default 1]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "monitor/http.h"

struct bench {
    struct event_base *base;
    struct http_client *c;
    char url[128];
    uint64_t deadline_ns; /* stop starting new requests after this */
    uint64_t done;
    uint64_t failed;
    uint64_t bytes;
    uint64_t inflight;
};

static uint64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double
cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int nodelay = 1;

static void
serve(struct evhttp_request *req, void *arg)
{
    struct evbuffer *body = arg, *out = evbuffer_new();

    if (out == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (nodelay) {
        /* evhttp leaves Nagle on: without this the last segment of a large
           reply waits for the client's delayed ACK (40 ms) */
        struct bufferevent *bev = evhttp_connection_get_bufferevent(
            evhttp_request_get_connection(req));
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
    }
    /* a reference, not a copy, as a server with a ready response would */
    evbuffer_add_buffer_reference(out, body);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static int start_one(struct bench *b);

static void
on_done(const struct http_response *r, void *arg)
{
    struct bench *b = arg;

    b->inflight--;
    b->done++;
    if (r->result != HTTP_COMPLETE || r->status != 200) {
        b->failed++;
    }
    b->bytes += r->body_len;
    if (mono_ns() < b->deadline_ns) {
        if (start_one(b) != 0) {
            b->failed++;
        }
    }
    if (b->inflight == 0) {
        event_base_loopbreak(b->base);
    }
}

static int
start_one(struct bench *b)
{
    struct http_request_opts o;

    memset(&o, 0, sizeof(o));
    o.url = b->url;
    if (http_request(b->c, &o, on_done, b) == NULL) {
        return -1;
    }
    b->inflight++;
    return 0;
}

static int
run(struct event_base *base, int port, const char *path, uint64_t par,
    double seconds)
{
    struct http_client_opts co;
    struct bench b;
    uint64_t t0, i;
    double c0, wall, cpu;

    memset(&b, 0, sizeof(b));
    memset(&co, 0, sizeof(co));
    co.max_total_connections = par;
    co.max_host_connections = par;
    b.base = base;
    if ((b.c = http_client_new(base, &co)) == NULL) {
        return -1;
    }
    snprintf(b.url, sizeof(b.url), "http://127.0.0.1:%d%s", port, path);
    t0 = mono_ns();
    c0 = cpu_s();
    b.deadline_ns = t0 + (uint64_t)(seconds * 1e9);
    for (i = 0; i < par; i++) {
        if (start_one(&b) != 0) {
            http_client_free(b.c);
            return -1;
        }
    }
    event_base_dispatch(base);
    wall = (double)(mono_ns() - t0) / 1e9;
    cpu = cpu_s() - c0;
    printf("%-10s parallel %2llu: %8.0f req/s  %7.1f MiB/s  %6.1f us CPU/req"
           "  (%llu requests, %llu failed, %.2f s)\n",
           path, (unsigned long long)par, (double)b.done / wall,
           (double)b.bytes / wall / (1024 * 1024), cpu * 1e6 / (double)b.done,
           (unsigned long long)b.done, (unsigned long long)b.failed, wall);
    http_client_free(b.c);
    return b.failed == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    static const uint64_t pars[] = {1, 8, 32};
    static const size_t sizes[] = {100, 64 * 1024};
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bs;
    struct evbuffer *bodies[2];
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    nodelay = getenv("BENCH_NAGLE") == NULL;
    size_t s, i;
    int rc = 0;

    if (seconds <= 0 || http_global_init() != 0 ||
        (base = event_base_new()) == NULL ||
        (http = evhttp_new(base)) == NULL) {
        fprintf(stderr, "bench_http: setup failed\n");
        return 1;
    }
    bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (bs == NULL || getsockname(evhttp_bound_socket_get_fd(bs),
                                  (struct sockaddr *)&sin, &sl) != 0) {
        fprintf(stderr, "bench_http: cannot listen on 127.0.0.1\n");
        return 1;
    }
    printf("bench_http: in-process evhttp on 127.0.0.1:%d, %.1f s a run, "
           "one thread for both ends\n",
           ntohs(sin.sin_port), seconds);
    for (s = 0; s < 2; s++) {
        char path[32];
        if ((bodies[s] = evbuffer_new()) == NULL) {
            return 1;
        }
        for (i = 0; i < sizes[s]; i++) {
            char ch = (char)('a' + i % 26);
            evbuffer_add(bodies[s], &ch, 1);
        }
        snprintf(path, sizeof(path), "/%zu", sizes[s]);
        evhttp_set_cb(http, path, serve, bodies[s]);
    }
    for (s = 0; s < 2; s++) {
        char path[32];
        snprintf(path, sizeof(path), "/%zu", sizes[s]);
        for (i = 0; i < sizeof(pars) / sizeof(pars[0]); i++) {
            if (run(base, ntohs(sin.sin_port), path, pars[i], seconds) != 0) {
                rc = 1;
            }
        }
    }
    evhttp_free(http);
    evbuffer_free(bodies[0]);
    evbuffer_free(bodies[1]);
    event_base_free(base);
    http_global_cleanup();
    return rc;
}
