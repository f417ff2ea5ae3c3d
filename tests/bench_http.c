/*
 * bench_http.c: requests per second through the HTTP transport against an
 * in-process evhttp server on 127.0.0.1, with 1, 8 and 32 requests in
 * flight (and as many connections allowed to the host), for a small body
 * and for a 64 KiB one (about a Rekor v1 batch of ten entries).  Client and
 * server share one event loop and one thread, so the figures are what one
 * core does for both ends; CPU is the process's, both ends included.
 *
 * Then the buffer budget: a slow log serving 16 MiB bodies (256 KiB pieces,
 * 2 ms apart) to 8 and 64 requests in flight, under the default budget,
 * and once more at 8 without a budget to compare: bodies per second, the
 * most the transport held at once, pauses, and the process's peak RSS so
 * far (VmHWM; the server's one 16 MiB body is in it too).
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
#include <sys/time.h>
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

/* ---- the buffer budget against a slow log of 16 MiB bodies ---- */

#define BIG_BODY (16u * 1024 * 1024)
#define BIG_PIECE (256u * 1024)
#define BIG_DELAY_US 2000

/* One slow reply in progress; freed when done or when the peer leaves. */
struct slow {
    struct evhttp_request *req;
    struct event *timer;
    const char *body; /* borrowed: the whole body */
    size_t off;
};

static void
slow_free(struct slow *sl)
{
    event_free(sl->timer);
    free(sl);
}

/* The peer left: libevent leaves the unfinished request to us. */
static void
slow_closed(struct evhttp_connection *evcon, void *arg)
{
    struct slow *sl = arg;

    (void)evcon;
    evhttp_send_reply_end(sl->req);
    slow_free(sl);
}

static void slow_written(struct evhttp_connection *evcon, void *arg);

static void
slow_send(struct slow *sl)
{
    struct evbuffer *out = evbuffer_new();
    size_t n = BIG_BODY - sl->off < BIG_PIECE ? BIG_BODY - sl->off : BIG_PIECE;

    if (out == NULL) {
        return; /* the client times out */
    }
    /* a reference to the piece, not a copy */
    evbuffer_add_reference(out, sl->body + sl->off, n, NULL, NULL);
    sl->off += n;
    evhttp_send_reply_chunk_with_cb(sl->req, out, slow_written, sl);
    evbuffer_free(out);
}

static void
slow_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    slow_send(arg);
}

static void
slow_written(struct evhttp_connection *evcon, void *arg)
{
    struct slow *sl = arg;
    struct timeval tv = {0, BIG_DELAY_US};

    if (sl->off < BIG_BODY) {
        evtimer_add(sl->timer, &tv);
        return;
    }
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    evhttp_send_reply_end(sl->req);
    slow_free(sl);
}

static struct event_base *slow_base;

static void
serve_slow(struct evhttp_request *req, void *arg)
{
    struct slow *sl = calloc(1, sizeof(*sl));

    if (sl == NULL ||
        (sl->timer = evtimer_new(slow_base, slow_tick, sl)) == NULL) {
        free(sl);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    sl->req = req;
    sl->body = arg;
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  slow_closed, sl);
    slow_send(sl);
}

static double
vm_hwm_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib / 1024;
}

static int
run_big(struct event_base *base, int port, uint64_t par, uint64_t budget,
        double seconds)
{
    struct http_client_opts co;
    struct http_client_stats st;
    struct bench b;
    uint64_t t0, i;
    double wall;

    memset(&b, 0, sizeof(b));
    memset(&co, 0, sizeof(co));
    co.max_total_connections = par;
    co.max_host_connections = par;
    co.buffer_budget = budget;
    b.base = base;
    if ((b.c = http_client_new(base, &co)) == NULL) {
        return -1;
    }
    snprintf(b.url, sizeof(b.url), "http://127.0.0.1:%d/slow", port);
    t0 = mono_ns();
    b.deadline_ns = t0 + (uint64_t)(seconds * 1e9);
    for (i = 0; i < par; i++) {
        if (start_one(&b) != 0) {
            http_client_free(b.c);
            return -1;
        }
    }
    event_base_dispatch(base);
    wall = (double)(mono_ns() - t0) / 1e9;
    http_client_get_stats(b.c, &st);
    printf("16 MiB slow parallel %2llu, budget %5.0f MiB: %5.1f bodies/s"
           "  %6.1f MiB/s  held at most %6.1f MiB  %5llu pauses"
           "  peak RSS so far %6.1f MiB  (%llu bodies, %llu failed, %.1f s)\n",
           (unsigned long long)par, (double)st.buffer_budget / (1024 * 1024),
           (double)b.done / wall, (double)b.bytes / wall / (1024 * 1024),
           (double)st.buffered_peak / (1024 * 1024),
           (unsigned long long)st.pauses, vm_hwm_mib(),
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
    char *big;
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
    /* the budget; runs last, as peak RSS only grows */
    slow_base = base;
    if ((big = malloc(BIG_BODY)) == NULL) {
        return 1;
    }
    for (i = 0; i < BIG_BODY; i++) {
        big[i] = (char)('a' + i % 26);
    }
    evhttp_set_cb(http, "/slow", serve_slow, big);
    printf("peak RSS before the budget runs: %.1f MiB\n", vm_hwm_mib());
    if (run_big(base, ntohs(sin.sin_port), 8, 0, 2 * seconds) != 0 ||
        run_big(base, ntohs(sin.sin_port), 64, 0, 2 * seconds) != 0 ||
        run_big(base, ntohs(sin.sin_port), 8, HTTP_MAX_BUFFER_BUDGET,
                2 * seconds) != 0) {
        rc = 1;
    }
    evhttp_free(http);
    evbuffer_free(bodies[0]);
    evbuffer_free(bodies[1]);
    free(big);
    event_base_free(base);
    http_global_cleanup();
    return rc;
}
