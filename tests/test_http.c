/*
 * test_http.c: the HTTP transport (monitor/http.c) against real servers on
 * loopback.  Plain-HTTP servers are libevent evhttp instances on the test's
 * own event_base (127.0.0.1 and 127.0.0.2: two hosts as libcurl sees
 * them); the TLS server is a small blocking OpenSSL server in a forked child
 * with a certificate made at run time.  The servers record what arrived
 * (connections, methods, headers, bodies), so every claim is checked on the
 * wire, not on the transport's word.  For the buffer budget the evhttp
 * server also plays a slow log (bodies trickled in pieces, plain or gzip)
 * and a stalled one (most of a body, then nothing).  Each positive test
 * has a negative twin next to it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "monitor/http.h"

#define SRV_BODY_MAX 65536
#define RUN_LIMIT_MS 10000 /* no test waits longer for its callbacks */

/* ---- clock ---- */

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- test data made at run time ---- */

/* Byte i of the pattern body with the given seed: printable, position-bound. */
static char
pattern_byte(size_t i, size_t seed)
{
    return (char)('a' + (i * 7 + seed) % 26);
}

static int
pattern_ok(const char *p, size_t n, size_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != pattern_byte(i, seed)) {
            return 0;
        }
    }
    return 1;
}

static uint32_t
crc32_bytes(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void
put_le32(struct evbuffer *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    evbuffer_add(b, x, 4);
}

/*
 * A gzip member (RFC 1952) holding data in stored deflate blocks of up to
 * 65535 bytes (RFC 1951 3.2.4): a genuine encoding, made without zlib.
 * corrupt flips the CRC.
 */
static void
gzip_stored(struct evbuffer *b, const unsigned char *data, size_t n,
            int corrupt)
{
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    unsigned char blk[5];
    size_t off = 0, k;

    evbuffer_add(b, hdr, sizeof(hdr));
    do {
        k = n - off > 65535 ? 65535 : n - off;
        blk[0] = off + k == n ? 0x01 : 0x00; /* BFINAL, BTYPE=00 (stored) */
        blk[1] = (unsigned char)k;
        blk[2] = (unsigned char)(k >> 8);
        blk[3] = (unsigned char)~k;
        blk[4] = (unsigned char)(~k >> 8);
        evbuffer_add(b, blk, sizeof(blk));
        evbuffer_add(b, data + off, k);
        off += k;
    } while (off < n);
    put_le32(b, crc32_bytes(data, n) ^ (corrupt ? 1u : 0u));
    put_le32(b, (uint32_t)n);
}

static void
http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- the evhttp test server ---- */

struct srv {
    struct evhttp *http;
    char addr[32];
    int port;
    char url[64]; /* http://addr:port */
    int nconn;    /* connections accepted */
    int nreq;     /* requests seen */
    int nstall;   /* requests left unanswered */
    char redirect_to[512];
    /* the last request */
    char method[16];
    char path[256];
    int saw_auth;
    char auth[256];
    char ctype[128];
    char xtest[128];
    char ua[128];
    char accept_enc[128];
    unsigned char body[SRV_BODY_MAX];
    size_t body_len;
    struct event_base *base;
    int ntrickle; /* trickled bodies started */
    int nhold;    /* held bodies started */
};

/*
 * A body sent piece by piece, each after the previous one left the
 * server's buffer and a delay passed: a slow log.  Owned by the server
 * connection: freed when the body is done or the connection closes.
 */
struct trickle {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *timer;
    struct evbuffer *src; /* what is left to send */
    size_t piece;
    struct timeval delay;
};

static void
trickle_free(struct trickle *t)
{
    if (t->timer != NULL) {
        event_free(t->timer);
    }
    if (t->src != NULL) {
        evbuffer_free(t->src);
    }
    free(t);
}

/*
 * The connection goes before the body is done: a client that left leaves
 * the unfinished request to us (libevent detaches it), and ending it frees
 * it; when the server itself is freed, libevent frees it right after.
 */
static void
trickle_closed(struct evhttp_connection *evcon, void *arg)
{
    struct trickle *t = arg;

    (void)evcon;
    evhttp_send_reply_end(t->req);
    trickle_free(t);
}

/* The same for a held body (the request is the argument). */
static void
hold_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    evhttp_send_reply_end(arg);
}

static void trickle_written(struct evhttp_connection *evcon, void *arg);

static void
trickle_send(struct trickle *t)
{
    struct evbuffer *out = evbuffer_new();

    assert_non_null(out);
    evbuffer_remove_buffer(t->src, out, t->piece);
    evhttp_send_reply_chunk_with_cb(t->req, out, trickle_written, t);
    evbuffer_free(out);
}

static void
trickle_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    trickle_send(arg);
}

static void
trickle_written(struct evhttp_connection *evcon, void *arg)
{
    struct trickle *t = arg;

    if (evbuffer_get_length(t->src) > 0) {
        evtimer_add(t->timer, &t->delay);
        return;
    }
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    evhttp_send_reply_end(t->req);
    trickle_free(t);
}

/* Starts sending src (taken) in pieces, gzip-encoded when gz. */
static void
trickle_start(struct srv *s, struct evhttp_request *req, struct evbuffer *src,
              size_t piece, long delay_ms, int gz)
{
    struct trickle *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    t->req = req;
    t->evcon = evhttp_request_get_connection(req);
    t->src = src;
    t->piece = piece;
    t->delay.tv_sec = delay_ms / 1000;
    t->delay.tv_usec = (delay_ms % 1000) * 1000;
    t->timer = evtimer_new(s->base, trickle_tick, t);
    assert_non_null(t->timer);
    if (gz) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Encoding", "gzip");
    }
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(t->evcon, trickle_closed, t);
    trickle_send(t);
}

static void
copy_hdr(struct evkeyvalq *h, const char *name, char *out, size_t cap)
{
    const char *v = evhttp_find_header(h, name);

    snprintf(out, cap, "%s", v != NULL ? v : "");
}

static const char *
cmd_str(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    default:
        return "OTHER";
    }
}

static void
srv_record(struct srv *s, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    const char *auth = evhttp_find_header(in, "Authorization");

    s->nreq++;
    snprintf(s->method, sizeof(s->method), "%s",
             cmd_str(evhttp_request_get_command(req)));
    snprintf(s->path, sizeof(s->path), "%s", evhttp_request_get_uri(req));
    s->saw_auth = auth != NULL;
    snprintf(s->auth, sizeof(s->auth), "%s", auth != NULL ? auth : "");
    copy_hdr(in, "Content-Type", s->ctype, sizeof(s->ctype));
    copy_hdr(in, "X-Tlogwatch-Test", s->xtest, sizeof(s->xtest));
    copy_hdr(in, "User-Agent", s->ua, sizeof(s->ua));
    copy_hdr(in, "Accept-Encoding", s->accept_enc, sizeof(s->accept_enc));
    s->body_len = evbuffer_get_length(ib);
    if (s->body_len > sizeof(s->body)) {
        s->body_len = sizeof(s->body);
    }
    evbuffer_copyout(ib, s->body, s->body_len);
}

static void
srv_handle(struct evhttp_request *req, void *arg)
{
    struct srv *s = arg;
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();
    const char *uri = evhttp_request_get_uri(req);
    char hv[128], dv[128];
    size_t n, i;
    long skew, delay;
    int code;

    assert_non_null(b);
    srv_record(s, req);
    if (strcmp(uri, "/echo") == 0) {
        evhttp_add_header(out, "Content-Type",
                          "application/x-echo; charset=utf-8");
        evbuffer_add(b, s->body, s->body_len);
        evhttp_send_reply(req, 200, "OK", b);
    } else if (sscanf(uri, "/bytes/%zu", &n) == 1) {
        for (i = 0; i < n; i++) {
            char ch = pattern_byte(i, n);
            evbuffer_add(b, &ch, 1);
        }
        evhttp_send_reply(req, 200, "OK", b);
    } else if (sscanf(uri, "/chunked/%zu", &n) == 1) {
        for (i = 0; i < n; i++) {
            char ch = pattern_byte(i, n);
            evbuffer_add(b, &ch, 1);
        }
        evhttp_send_reply_start(req, 200, "OK");
        evhttp_send_reply_chunk(req, b);
        evhttp_send_reply_end(req);
    } else if (sscanf(uri, "/status/%d", &code) == 1) {
        if (code == 401) {
            evhttp_add_header(out, "WWW-Authenticate",
                              "Bearer realm=\"https://auth.test/token\","
                              "service=\"registry.test\"");
        }
        evbuffer_add_printf(b, "status %d", code);
        evhttp_send_reply(req, code, "Test", b);
    } else if (sscanf(uri, "/retry/delta/%ld", &delay) == 1) {
        snprintf(hv, sizeof(hv), "%ld", delay);
        evhttp_add_header(out, "Retry-After", hv);
        evhttp_send_reply(req, 429, "Too Many Requests", b);
    } else if (strcmp(uri, "/retry/garbage") == 0) {
        evhttp_add_header(out, "Retry-After", "soon");
        evhttp_send_reply(req, 429, "Too Many Requests", b);
    } else if (sscanf(uri, "/ratelimit/%ld", &skew) == 1) {
        /* GitHub's primary rate limit, on a server clock off by skew; a
         * Link header longer than the transport keeps, with a control
         * byte in it */
        char link[HTTP_MAX_CAPTURED_HEADER + 200];
        time_t t = time(NULL) + skew;
        size_t k;
        http_date(t, dv, sizeof(dv));
        evhttp_add_header(out, "Date", dv);
        evhttp_add_header(out, "x-ratelimit-remaining", "0");
        snprintf(hv, sizeof(hv), "%lld", (long long)t + 30);
        evhttp_add_header(out, "X-RATELIMIT-RESET", hv);
        k = (size_t)snprintf(link, sizeof(link),
                             "<http://x/?page=2>;\x01"
                             "rel=\"next\", <");
        memset(link + k, 'a', sizeof(link) - k - 1);
        link[sizeof(link) - 1] = '\0';
        evhttp_add_header(out, "Link", link);
        evhttp_send_reply(req, 403, "Forbidden", b);
    } else if (sscanf(uri, "/retry/date/%ld/%ld", &skew, &delay) == 2) {
        /* the server's clock is off by skew; Retry-After is on its clock */
        time_t t = time(NULL) + skew;
        http_date(t, dv, sizeof(dv));
        evhttp_add_header(out, "Date", dv);
        http_date(t + delay, hv, sizeof(hv));
        evhttp_add_header(out, "Retry-After", hv);
        evhttp_send_reply(req, 503, "Service Unavailable", b);
    } else if (sscanf(uri, "/trickle/%zu/%zu/%ld", &n, &i, &delay) == 3 ||
               sscanf(uri, "/trickle-gz/%zu/%zu/%ld", &n, &i, &delay) == 3) {
        /* n pattern bytes, i at a time, delay ms apart */
        struct evbuffer *src = evbuffer_new();
        unsigned char *raw = malloc(n);
        size_t k;
        assert_non_null(src);
        assert_non_null(raw);
        for (k = 0; k < n; k++) {
            raw[k] = (unsigned char)pattern_byte(k, n);
        }
        if (strncmp(uri, "/trickle-gz/", 12) == 0) {
            gzip_stored(src, raw, n, 0);
        } else {
            evbuffer_add(src, raw, n);
        }
        free(raw);
        s->ntrickle++;
        trickle_start(s, req, src, i, delay, uri[8] == '-'); /* -gz */
    } else if (sscanf(uri, "/hold/%zu", &n) == 1) {
        /* n pattern bytes at once, then never the end: a stalled log */
        for (i = 0; i < n; i++) {
            char ch = pattern_byte(i, n);
            evbuffer_add(b, &ch, 1);
        }
        s->nhold++;
        evhttp_send_reply_start(req, 200, "OK");
        evhttp_send_reply_chunk(req, b);
        evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                      hold_closed, req);
    } else if (strcmp(uri, "/stall") == 0) {
        s->nstall++; /* never answered; evhttp_free drops it */
    } else if (strcmp(uri, "/redirect") == 0) {
        evhttp_add_header(out, "Location", s->redirect_to);
        evhttp_send_reply(req, 302, "Found", b);
    } else if (strcmp(uri, "/gzip") == 0 || strcmp(uri, "/gzipbad") == 0) {
        unsigned char raw[3000];
        for (i = 0; i < sizeof(raw); i++) {
            raw[i] = (unsigned char)pattern_byte(i, sizeof(raw));
        }
        gzip_stored(b, raw, sizeof(raw), strcmp(uri, "/gzipbad") == 0);
        evhttp_add_header(out, "Content-Encoding", "gzip");
        evhttp_send_reply(req, 200, "OK", b);
    } else {
        evhttp_send_reply(req, 404, "Not Found", b);
    }
    evbuffer_free(b);
}

static struct bufferevent *
srv_bevcb(struct event_base *base, void *arg)
{
    struct srv *s = arg;

    s->nconn++;
    return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static int
srv_start(struct srv *s, struct event_base *base, const char *addr)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);

    memset(s, 0, sizeof(*s));
    s->base = base;
    if ((s->http = evhttp_new(base)) == NULL) {
        return -1;
    }
    evhttp_set_gencb(s->http, srv_handle, s);
    evhttp_set_bevcb(s->http, srv_bevcb, s);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
    bs = evhttp_bind_socket_with_handle(s->http, addr, 0);
    if (bs == NULL || getsockname(evhttp_bound_socket_get_fd(bs),
                                  (struct sockaddr *)&sin, &sl) != 0) {
        evhttp_free(s->http);
        s->http = NULL;
        return -1;
    }
    snprintf(s->addr, sizeof(s->addr), "%s", addr);
    s->port = ntohs(sin.sin_port);
    snprintf(s->url, sizeof(s->url), "http://%s:%d", addr, s->port);
    return 0;
}

static void
srv_stop(struct srv *s)
{
    if (s->http != NULL) {
        evhttp_free(s->http);
        s->http = NULL;
    }
}

/* ---- the TLS test server: a forked child, blocking OpenSSL ---- */

struct tls_srv {
    pid_t pid;
    int port;
    char dir[64];
    char cert[128];
    char key[128];
};

static int
tls_make_cert(const char *certpath, const char *keypath)
{
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    X509_NAME *nm;
    X509_EXTENSION *ext;
    X509V3_CTX ctx;
    FILE *f = NULL;
    int rc = -1;

    if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL) {
        goto out;
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pkey);
    nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                               (const unsigned char *)"tlogwatch test", -1, -1,
                               0);
    X509_set_issuer_name(x, nm);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              "critical,CA:TRUE");
    if (ext == NULL || !X509_add_ext(x, ext, -1)) {
        X509_EXTENSION_free(ext);
        goto out;
    }
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    if (ext == NULL || !X509_add_ext(x, ext, -1)) {
        X509_EXTENSION_free(ext);
        goto out;
    }
    X509_EXTENSION_free(ext);
    if (!X509_sign(x, pkey, EVP_sha256())) {
        goto out;
    }
    if ((f = fopen(certpath, "w")) == NULL || !PEM_write_X509(f, x)) {
        goto out;
    }
    fclose(f);
    if ((f = fopen(keypath, "w")) == NULL ||
        !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL)) {
        goto out;
    }
    rc = 0;
out:
    if (f != NULL) {
        fclose(f);
    }
    X509_free(x);
    EVP_PKEY_free(pkey);
    return rc;
}

static void
tls_child(int lfd, const char *cert, const char *key, int plain_port)
{
    SSL_CTX *ctx;
    char req[8192], resp[1024];
    int fd, n, len;

    signal(SIGPIPE, SIG_IGN);
    alarm(60); /* never outlive a broken test run */
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_file(ctx, cert, 1) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, 1) != 1) {
        _exit(1);
    }
    for (;;) {
        SSL *ssl;
        if ((fd = accept(lfd, NULL, NULL)) < 0) {
            if (errno == EINTR) {
                continue;
            }
            _exit(1);
        }
        ssl = SSL_new(ctx);
        if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
            len = 0;
            while (len < (int)sizeof(req) - 1) {
                n = SSL_read(ssl, req + len, (int)sizeof(req) - 1 - len);
                if (n <= 0) {
                    break;
                }
                len += n;
                req[len] = '\0';
                if (strstr(req, "\r\n\r\n") != NULL) {
                    break;
                }
            }
            req[len] = '\0';
            if (strncmp(req, "GET /hello ", 11) == 0) {
                n = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
                             "Connection: close\r\n\r\nhello tls");
            } else if (strncmp(req, "GET /to-http ", 13) == 0) {
                n = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 302 Found\r\nLocation: "
                             "http://127.0.0.1:%d/echo\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n",
                             plain_port);
            } else {
                n = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n");
            }
            SSL_write(ssl, resp, n);
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        close(fd);
    }
}

static int
tls_start(struct tls_srv *t, int plain_port)
{
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    int lfd, one = 1;

    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/tlw-http-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        return -1;
    }
    snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
    snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
    if (tls_make_cert(t->cert, t->key) != 0) {
        return -1;
    }
    if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        return -1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0) {
        close(lfd);
        return -1;
    }
    t->port = ntohs(sin.sin_port);
    t->pid = fork();
    if (t->pid < 0) {
        close(lfd);
        return -1;
    }
    if (t->pid == 0) {
        tls_child(lfd, t->cert, t->key, plain_port);
        _exit(0);
    }
    close(lfd);
    return 0;
}

static void
tls_stop(struct tls_srv *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        waitpid(t->pid, NULL, 0);
        t->pid = 0;
    }
    unlink(t->cert);
    unlink(t->key);
    rmdir(t->dir);
}

/* ---- fixture ---- */

struct fx {
    struct event_base *base;
    struct event *tick; /* wakes the loop so run_until can see its deadline */
    struct srv a;       /* on 127.0.0.1 */
    struct srv b;       /* on 127.0.0.2 */
    struct http_client *c;
};

/* What one callback saw, copied out of the borrowed response. */
struct got {
    int calls;
    enum http_result result;
    int status;
    char *body;
    size_t body_len;
    int body_null;
    char content_type[128];
    char location[512];
    char redirect_url[512];
    char www[256];
    char error[256];
    int has_retry;
    uint64_t retry;
    char link[HTTP_MAX_CAPTURED_HEADER + 1];
    char rl_remaining[64], rl_reset[64];
    int has_link, has_rl;
    int64_t date;
    uint64_t redirects;
    uint64_t at_ms; /* when the callback ran */
    /* optional actions run inside the callback */
    struct http_client *client;
    struct http_handle *cancel_other;
    int free_client;
    int request_after_free; /* http_request() result from the callback */
    const char *retry_url;  /* what on_done_retry requests */
};

static void
opt_copy(char *out, size_t cap, const char *s)
{
    snprintf(out, cap, "%s", s != NULL ? s : "");
}

static void
on_done(const struct http_response *r, void *arg)
{
    struct got *g = arg;

    g->calls++;
    g->at_ms = now_ms();
    g->result = r->result;
    g->status = r->status;
    g->body_null = r->body == NULL;
    free(g->body);
    g->body = NULL;
    g->body_len = r->body_len;
    if (r->body != NULL) {
        g->body = malloc(r->body_len + 1);
        assert_non_null(g->body);
        memcpy(g->body, r->body, r->body_len + 1);
        assert_int_equal(r->body[r->body_len], '\0');
    }
    opt_copy(g->content_type, sizeof(g->content_type), r->content_type);
    opt_copy(g->location, sizeof(g->location), r->location);
    opt_copy(g->redirect_url, sizeof(g->redirect_url), r->redirect_url);
    opt_copy(g->www, sizeof(g->www), r->www_authenticate);
    opt_copy(g->error, sizeof(g->error), r->error);
    g->has_retry = r->has_retry_after;
    g->retry = r->retry_after_s;
    opt_copy(g->link, sizeof(g->link), r->link);
    opt_copy(g->rl_remaining, sizeof(g->rl_remaining), r->ratelimit_remaining);
    opt_copy(g->rl_reset, sizeof(g->rl_reset), r->ratelimit_reset);
    g->has_link = r->link != NULL;
    g->has_rl = r->ratelimit_remaining != NULL || r->ratelimit_reset != NULL;
    g->date = r->date;
    g->redirects = r->redirects;
    if (g->cancel_other != NULL) {
        http_cancel(g->cancel_other);
        g->cancel_other = NULL;
    }
    if (g->free_client && g->client != NULL) {
        http_client_free(g->client);
    }
}

/* A callback that tries to start a request while the client is freed. */
static void
on_done_retry(const struct http_response *r, void *arg)
{
    struct got *g = arg;
    struct http_request_opts o;

    on_done(r, arg);
    memset(&o, 0, sizeof(o));
    o.url = g->retry_url;
    g->request_after_free = http_request(g->client, &o, on_done, g) != NULL;
}

static void
got_reset(struct got *g)
{
    free(g->body);
    memset(g, 0, sizeof(*g));
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int
setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    struct timeval tv = {0, 20000};

    if (fx == NULL || (fx->base = event_base_new()) == NULL) {
        return -1;
    }
    fx->tick = event_new(fx->base, -1, EV_PERSIST, tick_cb, NULL);
    if (fx->tick == NULL || event_add(fx->tick, &tv) != 0) {
        return -1;
    }
    if (srv_start(&fx->a, fx->base, "127.0.0.1") != 0 ||
        srv_start(&fx->b, fx->base, "127.0.0.2") != 0) {
        return -1;
    }
    if ((fx->c = http_client_new(fx->base, NULL)) == NULL) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *fx = *state;

    http_client_free(fx->c);
    srv_stop(&fx->a);
    srv_stop(&fx->b);
    event_free(fx->tick);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

/* Runs the loop until *counter reaches want; -1 after RUN_LIMIT_MS. */
static int
run_until(struct fx *fx, const int *counter, int want)
{
    uint64_t deadline = now_ms() + RUN_LIMIT_MS;

    while (*counter < want) {
        if (now_ms() > deadline) {
            return -1;
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
    return 0;
}

static void
run_for(struct fx *fx, uint64_t ms)
{
    uint64_t deadline = now_ms() + ms;

    while (now_ms() < deadline) {
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

static void
replace_client(struct fx *fx, const struct http_client_opts *o)
{
    http_client_free(fx->c);
    fx->c = http_client_new(fx->base, o);
    assert_non_null(fx->c);
}

static struct http_handle *
get(struct fx *fx, const char *url, struct got *g)
{
    struct http_request_opts o;

    memset(&o, 0, sizeof(o));
    o.url = url;
    return http_request(fx->c, &o, on_done, g);
}

static void fmt(char *out, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < cap);
}

/* ---- round trips ---- */

static void
test_get_roundtrip(void **state)
{
    struct fx *fx = *state;
    struct http_header hd[] = {{"X-Tlogwatch-Test", "abc 123"},
                               {"Authorization", "Bearer t0ken"}};
    struct http_request_opts o;
    struct got g = {0};
    char url[128];

    fmt(url, sizeof(url), "%s/bytes/1234", fx->a.url);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.headers = hd;
    o.nheaders = 2;
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(g.calls, 0); /* never from inside http_request */
    assert_int_equal(http_client_pending(fx->c), 1);
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.body_len, 1234);
    assert_true(pattern_ok(g.body, g.body_len, 1234));
    assert_string_equal(fx->a.method, "GET");
    assert_string_equal(fx->a.xtest, "abc 123");
    assert_string_equal(fx->a.auth, "Bearer t0ken");
    assert_string_equal(fx->a.ua, "tlogwatch/" TLOGWATCH_VERSION);
    assert_int_equal(http_client_pending(fx->c), 0);
    run_for(fx, 50);
    assert_int_equal(g.calls, 1); /* exactly once */
    got_reset(&g);

    /* twin: a missing resource is a complete response with its status */
    fmt(url, sizeof(url), "%s/nothing-here", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 404);
    assert_string_equal(g.error, "");
    got_reset(&g);
}

static void
test_post_put_head(void **state)
{
    struct fx *fx = *state;
    static const char body[] = "{\"a\":1}\0binary\xff tail";
    struct http_request_opts o;
    struct got g = {0};
    char url[128];

    fmt(url, sizeof(url), "%s/echo", fx->a.url);
    memset(&o, 0, sizeof(o));
    o.method = HTTP_POST;
    o.url = url;
    o.body = body;
    o.body_len = sizeof(body) - 1;
    o.content_type = "application/json";
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_string_equal(fx->a.method, "POST");
    assert_string_equal(fx->a.ctype, "application/json");
    assert_int_equal(fx->a.body_len, sizeof(body) - 1);
    assert_memory_equal(fx->a.body, body, sizeof(body) - 1);
    assert_int_equal(g.body_len, sizeof(body) - 1);
    assert_memory_equal(g.body, body, sizeof(body) - 1);
    assert_string_equal(g.content_type, "application/x-echo; charset=utf-8");
    got_reset(&g);

    o.method = HTTP_PUT;
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(fx->a.method, "PUT");
    assert_memory_equal(fx->a.body, body, sizeof(body) - 1);
    got_reset(&g);

    /* POST without a body sends an empty one */
    o.method = HTTP_POST;
    o.body = NULL;
    o.body_len = 0;
    o.content_type = NULL;
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(fx->a.method, "POST");
    assert_int_equal(fx->a.body_len, 0);
    got_reset(&g);

    /* HEAD: headers only */
    fmt(url, sizeof(url), "%s/bytes/500", fx->a.url);
    o.method = HTTP_HEAD;
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_string_equal(fx->a.method, "HEAD");
    assert_int_equal(g.body_len, 0);
    got_reset(&g);
}

/* Twin of the round trips: options the transport must not accept. */
static void
test_invalid_options(void **state)
{
    struct fx *fx = *state;
    struct http_header crlf[] = {{"X-Test", "a\r\nInjected: 1"}};
    struct http_header badname[] = {{"X Test", "a"}};
    struct http_header many[HTTP_MAX_HEADERS + 1];
    struct http_request_opts o, base;
    struct got g = {0};
    size_t i;

    memset(&base, 0, sizeof(base));
    base.url = "http://127.0.0.1:1/";
    for (i = 0; i < HTTP_MAX_HEADERS + 1; i++) {
        many[i].name = "X-A";
        many[i].value = "b";
    }
    o = base;
    assert_null(http_request(fx->c, &o, NULL, &g)); /* no callback */
    assert_null(http_request(NULL, &o, on_done, &g));
    assert_null(http_request(fx->c, NULL, on_done, &g));
    o.url = NULL;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.headers = crlf;
    o.nheaders = 1;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o.headers = badname;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o.headers = many;
    o.nheaders = HTTP_MAX_HEADERS + 1;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o.nheaders = HTTP_MAX_HEADERS; /* the limit itself is fine */
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.content_type = "text/plain\nX: y";
    assert_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.body_len = 3; /* without a body */
    assert_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.max_response_bytes = (uint64_t)HTTP_MAX_RESPONSE_CAP + 1;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.max_redirects = HTTP_MAX_REDIRECTS + 1;
    assert_null(http_request(fx->c, &o, on_done, &g));
    o = base;
    o.method = (enum http_method)42;
    assert_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(http_client_pending(fx->c), 1);
    {
        struct http_client_opts co = {.user_agent = "x\r\nInjected: 1"};
        assert_null(http_client_new(fx->base, &co));
        co.user_agent = NULL;
        co.max_host_connections = 100000;
        assert_null(http_client_new(fx->base, &co));
        assert_null(http_client_new(NULL, NULL));
    }
    assert_int_equal(run_until(fx, &g.calls, 1), 0); /* the valid one */
    run_for(fx, 50);
    assert_int_equal(g.calls, 1);
    got_reset(&g);
}

/* ---- parallelism and connection reuse ---- */

#define NPAR 64

static void
test_parallel(void **state)
{
    struct fx *fx = *state;
    struct http_client_opts co = {.max_total_connections = 8,
                                  .max_host_connections = 8};
    struct got *g = calloc(NPAR, sizeof(*g));
    int total = 0, i;
    char url[128];

    assert_non_null(g);
    replace_client(fx, &co);
    for (i = 0; i < NPAR; i++) {
        fmt(url, sizeof(url), "%s/bytes/%d", fx->a.url, 100 + i * 37);
        assert_non_null(get(fx, url, &g[i]));
    }
    assert_int_equal(http_client_pending(fx->c), NPAR);
    {
        uint64_t deadline = now_ms() + RUN_LIMIT_MS;
        while (http_client_pending(fx->c) > 0 && now_ms() < deadline) {
            event_base_loop(fx->base, EVLOOP_ONCE);
        }
    }
    run_for(fx, 50);
    for (i = 0; i < NPAR; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].result, HTTP_COMPLETE);
        assert_int_equal(g[i].status, 200);
        assert_int_equal(g[i].body_len, (size_t)(100 + i * 37));
        assert_true(pattern_ok(g[i].body, g[i].body_len, g[i].body_len));
        total += g[i].calls;
        got_reset(&g[i]);
    }
    assert_int_equal(total, NPAR);
    assert_int_equal(fx->a.nreq, NPAR);
    /* parallel for real, within the limit */
    assert_true(fx->a.nconn > 1);
    assert_true(fx->a.nconn <= 8);
    free(g);
}

struct chain {
    struct fx *fx;
    int left;
    int done;
    int ok;
};

static void
on_chain(const struct http_response *r, void *arg)
{
    struct chain *ch = arg;
    char url[128];

    ch->ok += r->result == HTTP_COMPLETE && r->status == 200;
    if (--ch->left > 0) {
        fmt(url, sizeof(url), "%s/bytes/10", ch->fx->a.url);
        struct http_request_opts o = {.url = url};
        assert_non_null(http_request(ch->fx->c, &o, on_chain, ch));
    } else {
        ch->done = 1;
    }
}

static void
test_keepalive(void **state)
{
    struct fx *fx = *state;
    struct http_client_opts co = {.max_host_connections = 2};
    struct chain ch = {fx, 6, 0, 0};
    struct http_request_opts o;
    struct got g[16];
    char url[128];
    int i;

    /* six requests one after another (each started from the previous
       callback) share one connection */
    fmt(url, sizeof(url), "%s/bytes/10", fx->a.url);
    memset(&o, 0, sizeof(o));
    o.url = url;
    assert_non_null(http_request(fx->c, &o, on_chain, &ch));
    assert_int_equal(run_until(fx, &ch.done, 1), 0);
    assert_int_equal(ch.ok, 6);
    assert_int_equal(fx->a.nreq, 6);
    assert_int_equal(fx->a.nconn, 1);

    /* twin: another host is another connection */
    memset(g, 0, sizeof(g));
    fmt(url, sizeof(url), "%s/bytes/10", fx->b.url);
    assert_non_null(get(fx, url, &g[0]));
    assert_int_equal(run_until(fx, &g[0].calls, 1), 0);
    assert_int_equal(fx->b.nconn, 1);
    assert_int_equal(fx->a.nconn, 1);
    got_reset(&g[0]);

    /* sixteen at once to one host with max_host_connections 2: all done,
       over two connections at most */
    replace_client(fx, &co);
    fx->a.nconn = 0;
    for (i = 0; i < 16; i++) {
        fmt(url, sizeof(url), "%s/bytes/%d", fx->a.url, 10 + i);
        assert_non_null(get(fx, url, &g[i]));
    }
    for (i = 0; i < 16; i++) {
        assert_int_equal(run_until(fx, &g[i].calls, 1), 0);
        assert_int_equal(g[i].status, 200);
        assert_true(pattern_ok(g[i].body, g[i].body_len, (size_t)(10 + i)));
        got_reset(&g[i]);
    }
    assert_true(fx->a.nconn >= 1);
    assert_true(fx->a.nconn <= 2);
}

/* ---- statuses and headers ---- */

static void
test_retry_after_delta(void **state)
{
    struct fx *fx = *state;
    struct got g = {0};
    char url[128];

    fmt(url, sizeof(url), "%s/retry/delta/7", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 429);
    assert_true(g.has_retry);
    assert_int_equal(g.retry, 7);
    got_reset(&g);

    /* a huge delay is clamped */
    fmt(url, sizeof(url), "%s/retry/delta/99999999999", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_true(g.has_retry);
    assert_int_equal(g.retry, HTTP_RETRY_AFTER_MAX);
    got_reset(&g);

    /* twins: an unparsable value, and no header at all */
    fmt(url, sizeof(url), "%s/retry/garbage", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 429);
    assert_false(g.has_retry);
    got_reset(&g);
    fmt(url, sizeof(url), "%s/status/429", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 429);
    assert_false(g.has_retry);
    got_reset(&g);
}

/* The headers GitHub's pagination and rate limit need, cleaned and cut;
 * their twin: none of them on a plain answer. */
static void
test_ratelimit_headers(void **state)
{
    struct fx *fx = *state;
    struct got g = {0};
    char url[128], want[64];
    int64_t t0 = (int64_t)time(NULL) - 3600;

    fmt(url, sizeof(url), "%s/ratelimit/-3600", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 403);
    assert_string_equal(g.rl_remaining, "0");
    /* the server's clock, not ours */
    assert_true(g.date >= t0 - 2 && g.date <= t0 + 2);
    snprintf(want, sizeof(want), "%lld", (long long)g.date + 30);
    assert_string_equal(g.rl_reset, want);
    assert_int_equal(strlen(g.link), HTTP_MAX_CAPTURED_HEADER);
    assert_memory_equal(g.link, "<http://x/?page=2>;?rel=\"next\", <aaa", 36);
    assert_false(g.has_retry);
    got_reset(&g);

    fmt(url, sizeof(url), "%s/status/403", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 403);
    assert_false(g.has_link);
    assert_false(g.has_rl);
    got_reset(&g);
}

static void
test_retry_after_date(void **state)
{
    struct fx *fx = *state;
    struct got g = {0};
    char url[128];

    /* an HTTP-date 120 s after the server's Date */
    fmt(url, sizeof(url), "%s/retry/date/0/120", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 503);
    assert_true(g.has_retry);
    assert_int_equal(g.retry, 120);
    got_reset(&g);

    /* the server's clock is an hour behind: still 30 s on its clock */
    fmt(url, sizeof(url), "%s/retry/date/-3600/30", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_true(g.has_retry);
    assert_int_equal(g.retry, 30);
    got_reset(&g);

    /* twin: a date in the past means now */
    fmt(url, sizeof(url), "%s/retry/date/0/-50", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_true(g.has_retry);
    assert_int_equal(g.retry, 0);
    got_reset(&g);
}

static void
test_5xx_and_401(void **state)
{
    struct fx *fx = *state;
    struct got g = {0};
    char url[128];
    int codes[] = {500, 502, 503};
    size_t i;

    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char want[32];
        fmt(url, sizeof(url), "%s/status/%d", fx->a.url, codes[i]);
        assert_non_null(get(fx, url, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_COMPLETE);
        assert_int_equal(g.status, codes[i]);
        fmt(want, sizeof(want), "status %d", codes[i]);
        assert_string_equal(g.body, want);
        got_reset(&g);
    }
    /* WWW-Authenticate is handed over for registry token challenges */
    fmt(url, sizeof(url), "%s/status/401", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 401);
    assert_string_equal(g.www, "Bearer realm=\"https://auth.test/token\","
                               "service=\"registry.test\"");
    got_reset(&g);
    /* twin: no challenge on a 200 */
    fmt(url, sizeof(url), "%s/status/200", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.www, "");
    got_reset(&g);
}

/* ---- timeouts and caps ---- */

static void
test_timeout(void **state)
{
    struct fx *fx = *state;
    struct http_request_opts o;
    struct got g = {0};
    uint64_t t0;
    char url[128];

    fmt(url, sizeof(url), "%s/stall", fx->a.url);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.timeout_ms = 300;
    t0 = now_ms();
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_TIMEOUT);
    assert_int_equal(fx->a.nstall, 1); /* the server did get it */
    assert_true(g.at_ms - t0 >= 250);
    assert_true(g.at_ms - t0 < 3000);
    assert_true(g.body_null);
    assert_true(strlen(g.error) > 0);
    run_for(fx, 100);
    assert_int_equal(g.calls, 1);
    got_reset(&g);

    /* twin: the same deadline on a server that answers */
    fmt(url, sizeof(url), "%s/bytes/10", fx->a.url);
    assert_non_null(http_request(fx->c, &o, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    got_reset(&g);
}

static void
test_size_cap(void **state)
{
    struct fx *fx = *state;
    const char *kinds[] = {"bytes", "chunked"}; /* Content-Length, or none */
    struct http_request_opts o;
    struct got g = {0};
    char url[128];
    size_t k;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.max_response_bytes = 1000;
    for (k = 0; k < 2; k++) {
        fmt(url, sizeof(url), "%s/%s/5000", fx->a.url, kinds[k]);
        assert_non_null(http_request(fx->c, &o, on_done, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_ERR_TOO_LARGE);
        assert_true(g.body_null);
        assert_int_equal(g.body_len, 0);
        got_reset(&g);

        fmt(url, sizeof(url), "%s/%s/1001", fx->a.url, kinds[k]);
        assert_non_null(http_request(fx->c, &o, on_done, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_ERR_TOO_LARGE);
        got_reset(&g);

        /* twin: exactly the cap is fine */
        fmt(url, sizeof(url), "%s/%s/1000", fx->a.url, kinds[k]);
        assert_non_null(http_request(fx->c, &o, on_done, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_COMPLETE);
        assert_int_equal(g.body_len, 1000);
        assert_true(pattern_ok(g.body, 1000, 1000));
        got_reset(&g);
    }
    /* the client still works after aborted transfers */
    fmt(url, sizeof(url), "%s/bytes/20", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    got_reset(&g);
}

static void
test_gzip(void **state)
{
    struct fx *fx = *state;
    struct got g = {0};
    char url[128];

    fmt(url, sizeof(url), "%s/gzip", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(fx->a.accept_enc, "gzip"));
    assert_int_equal(g.body_len, 3000); /* decoded, not the 3023 sent */
    assert_true(pattern_ok(g.body, g.body_len, 3000));
    got_reset(&g);

    /* twin: a corrupt gzip stream is an error, not a body */
    fmt(url, sizeof(url), "%s/gzipbad", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_TRANSPORT);
    assert_true(g.body_null);
    got_reset(&g);
}

/* ---- the buffer budget ---- */

#define BNUM 24               /* requests at once */
#define BBODY (256u * 1024)   /* bytes of each body, and its cap */
#define BBUDGET (512u * 1024) /* the budget under test */
#define BPIECE (16u * 1024)   /* the slow server's piece */

/* Runs the loop until nothing is pending; -1 after RUN_LIMIT_MS. */
static int
run_idle(struct fx *fx)
{
    uint64_t deadline = now_ms() + RUN_LIMIT_MS;

    while (http_client_pending(fx->c) > 0) {
        if (now_ms() > deadline) {
            return -1;
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
    return 0;
}

/* Runs the loop until at least want requests are paused on the budget. */
static int
run_until_paused(struct fx *fx, uint64_t want)
{
    struct http_client_stats st;
    uint64_t deadline = now_ms() + RUN_LIMIT_MS;

    for (;;) {
        http_client_get_stats(fx->c, &st);
        if (st.paused >= want) {
            return 0;
        }
        if (now_ms() > deadline) {
            return -1;
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

/*
 * Runs the loop until no request is paused and at least held bytes are
 * held; -1 after RUN_LIMIT_MS.
 */
static int
run_until_resumed(struct fx *fx, uint64_t held)
{
    struct http_client_stats st;
    uint64_t deadline = now_ms() + RUN_LIMIT_MS;

    for (;;) {
        http_client_get_stats(fx->c, &st);
        if (st.paused == 0 && st.buffered_bytes >= held) {
            return 0;
        }
        if (now_ms() > deadline) {
            return -1;
        }
        event_base_loop(fx->base, EVLOOP_ONCE);
    }
}

/*
 * BNUM slow full-size bodies at once through a client with the given
 * budget; every body must arrive whole.  Returns the client's stats.
 */
static void
slow_bodies(struct fx *fx, uint64_t budget, const char *kind, size_t piece,
            struct http_client_stats *st)
{
    struct http_client_opts co = {.max_total_connections = BNUM,
                                  .max_host_connections = BNUM,
                                  .buffer_budget = budget};
    struct http_request_opts o;
    struct got *g = calloc(BNUM, sizeof(*g));
    char url[128];
    int i;

    assert_non_null(g);
    replace_client(fx, &co);
    fmt(url, sizeof(url), "%s/%s/%u/%zu/1", fx->a.url, kind, BBODY, piece);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.max_response_bytes = BBODY;
    for (i = 0; i < BNUM; i++) {
        assert_non_null(http_request(fx->c, &o, on_done, &g[i]));
    }
    assert_int_equal(run_idle(fx), 0);
    for (i = 0; i < BNUM; i++) {
        assert_int_equal(g[i].calls, 1);
        if (g[i].result != HTTP_COMPLETE) {
            fail_msg("request %d: %s (%s)", i, http_result_str(g[i].result),
                     g[i].error);
        }
        assert_int_equal(g[i].status, 200);
        assert_int_equal(g[i].body_len, BBODY);
        assert_true(pattern_ok(g[i].body, g[i].body_len, BBODY));
        got_reset(&g[i]);
    }
    free(g);
    http_client_get_stats(fx->c, st);
    /* every buffer is given back once its callback returned */
    assert_int_equal(st->buffered_bytes, 0);
    assert_int_equal(st->paused, 0);
    assert_int_equal(st->pending, 0);
}

static void
test_budget_bounds(void **state)
{
    struct fx *fx = *state;
    struct http_client_stats st;

    slow_bodies(fx, BBUDGET, "trickle", BPIECE, &st);
    assert_int_equal(st.buffer_budget, BBUDGET);
    if (st.buffered_peak > BBUDGET + BBODY + 1) {
        fail_msg("peak %llu > budget %u + one body %u + 1",
                 (unsigned long long)st.buffered_peak, BBUDGET, BBODY);
    }
    assert_true(st.buffered_peak >= BBODY + 1); /* bodies were held */
    assert_true(st.pauses > 0);                 /* the budget did bind */
    assert_int_equal(fx->a.ntrickle, BNUM);

    /* twin: the same load without a budget to speak of holds them all at
       once, so the bound above is not a property of the load */
    slow_bodies(fx, HTTP_MAX_BUFFER_BUDGET, "trickle", BPIECE, &st);
    assert_int_equal(st.pauses, 0);
    if (st.buffered_peak <= BBUDGET + BBODY + 1) {
        fail_msg("unbudgeted peak only %llu",
                 (unsigned long long)st.buffered_peak);
    }
}

/*
 * Encoded bodies are paused between reads, not inside one; they arrive
 * whole and decoded.
 */
static void
test_budget_gzip(void **state)
{
    struct fx *fx = *state;
    struct http_client_stats st;

    slow_bodies(fx, BBUDGET, "trickle-gz", BPIECE, &st);
    assert_true(st.pauses > 0);
    assert_true(st.buffered_peak >= BBODY + 1);
    /* past the budget by what the passes over their sockets decoded (a
       piece or a few each), far from all of them at once */
    if (st.buffered_peak > BNUM * BBODY / 4 * 3) {
        fail_msg("encoded peak %llu", (unsigned long long)st.buffered_peak);
    }
    /* twin: plenty of budget, no pause, everything held at once */
    slow_bodies(fx, HTTP_MAX_BUFFER_BUDGET, "trickle-gz", BPIECE, &st);
    assert_int_equal(st.pauses, 0);
    assert_true(st.buffered_peak > BNUM * BBODY / 2);
}

/*
 * A log that sends most of a big body and then stalls: the holder waits
 * at its deadline, the other big requests are paused and keep theirs, and
 * a small response still gets through.
 */
static void
test_budget_stalled(void **state)
{
    struct fx *fx = *state;
    struct http_client_opts co = {.max_total_connections = 16,
                                  .max_host_connections = 16,
                                  .buffer_budget = BBUDGET};
    struct http_client_stats st;
    struct http_request_opts o;
    struct http_handle *hold[4];
    struct got gh[4], gs = {0}, gb = {0};
    uint64_t t0;
    char url[128];
    int i;

    memset(gh, 0, sizeof(gh));
    replace_client(fx, &co);
    fmt(url, sizeof(url), "%s/hold/%u", fx->a.url, 200u * 1024);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.max_response_bytes = BBODY;
    for (i = 0; i < 4; i++) {
        hold[i] = http_request(fx->c, &o, on_done, &gh[i]);
        assert_non_null(hold[i]);
    }
    /* one holds past the budget; the large part (384 KiB) has room for one
       whole 200 KiB body at most, so two or three wait */
    assert_int_equal(run_until_paused(fx, 2), 0);
    run_for(fx, 100);
    http_client_get_stats(fx->c, &st);
    assert_true(st.paused >= 2 && st.paused <= 3);
    assert_true(st.buffered_bytes <= BBUDGET + BBODY + 1);

    /* a small body is not held up by the big ones */
    fmt(url, sizeof(url), "%s/bytes/1000", fx->a.url);
    t0 = now_ms();
    assert_non_null(get(fx, url, &gs));
    assert_int_equal(run_until(fx, &gs.calls, 1), 0);
    assert_int_equal(gs.result, HTTP_COMPLETE);
    assert_true(pattern_ok(gs.body, gs.body_len, 1000));
    assert_true(gs.at_ms - t0 < 1000);
    got_reset(&gs);

    /* twin: a big one waits, and a paused request still ends at its
       deadline, not when the budget frees */
    fmt(url, sizeof(url), "%s/bytes/%u", fx->a.url, 100u * 1024);
    o.url = url;
    o.timeout_ms = 400;
    t0 = now_ms();
    assert_non_null(http_request(fx->c, &o, on_done, &gb));
    assert_int_equal(run_until(fx, &gb.calls, 1), 0);
    assert_int_equal(gb.result, HTTP_ERR_TIMEOUT);
    assert_true(gb.at_ms - t0 >= 350);
    assert_true(gb.at_ms - t0 < 3000);
    got_reset(&gb);
    for (i = 0; i < 4; i++) {
        assert_int_equal(gh[i].calls, 0); /* the stalled ones still wait */
    }

    /* cancelling frees their budget: the paused ones resume (and get
       their 200 KiB, then stall like the rest) */
    http_cancel(hold[0]);
    http_cancel(hold[1]);
    assert_int_equal(run_until_resumed(fx, 2 * 200u * 1024), 0);
    http_client_get_stats(fx->c, &st);
    assert_true(st.buffered_bytes <= BBUDGET + BBODY + 1);

    /* freeing the client ends the rest, paused or not, once each */
    http_client_free(fx->c);
    fx->c = NULL;
    for (i = 2; i < 4; i++) {
        assert_int_equal(gh[i].calls, 1);
        assert_int_equal(gh[i].result, HTTP_ERR_CANCELLED);
        got_reset(&gh[i]);
    }
    assert_int_equal(gh[0].calls + gh[1].calls, 0);
    fx->c = http_client_new(fx->base, NULL);
    assert_non_null(fx->c);
}

/* Raising the budget resumes what waits; the setter checks its input. */
static void
test_budget_setter(void **state)
{
    struct fx *fx = *state;
    struct http_client_opts co = {.max_total_connections = 8,
                                  .max_host_connections = 8,
                                  .buffer_budget = 64u * 1024};
    struct http_client_stats st;
    struct http_request_opts o;
    struct got g[3];
    char url[128];
    int i;

    http_client_get_stats(fx->c, &st);
    assert_int_equal(st.buffer_budget, HTTP_DEFAULT_BUFFER_BUDGET);
    assert_int_equal(http_client_set_buffer_budget(NULL, 1), -1);
    assert_int_equal(
        http_client_set_buffer_budget(fx->c, HTTP_MAX_BUFFER_BUDGET + 1), -1);
    http_client_get_stats(fx->c, &st);
    assert_int_equal(st.buffer_budget, HTTP_DEFAULT_BUFFER_BUDGET);
    assert_int_equal(http_client_set_buffer_budget(fx->c, 12345), 0);
    http_client_get_stats(fx->c, &st);
    assert_int_equal(st.buffer_budget, 12345);
    assert_int_equal(http_client_set_buffer_budget(fx->c, 0), 0);
    http_client_get_stats(fx->c, &st);
    assert_int_equal(st.buffer_budget, HTTP_DEFAULT_BUFFER_BUDGET);
    http_client_get_stats(NULL, &st);
    assert_int_equal(st.buffer_budget, 0);
    assert_int_equal(st.pending, 0);
    {
        struct http_client_opts bad = {.buffer_budget =
                                           HTTP_MAX_BUFFER_BUDGET + 1};
        assert_null(http_client_new(fx->base, &bad));
    }

    /* three stalled 200 KiB bodies under 64 KiB: one holds, two wait */
    memset(g, 0, sizeof(g));
    replace_client(fx, &co);
    fmt(url, sizeof(url), "%s/hold/%u", fx->a.url, 200u * 1024);
    memset(&o, 0, sizeof(o));
    o.url = url;
    o.max_response_bytes = BBODY;
    for (i = 0; i < 3; i++) {
        assert_non_null(http_request(fx->c, &o, on_done, &g[i]));
    }
    assert_int_equal(run_until_paused(fx, 2), 0);
    run_for(fx, 100);
    http_client_get_stats(fx->c, &st);
    assert_int_equal(st.paused, 2);
    /* twin: with room for all, nothing waits */
    assert_int_equal(http_client_set_buffer_budget(fx->c, 4u * BBODY), 0);
    assert_int_equal(run_until_resumed(fx, 3 * 200u * 1024), 0);
    assert_int_equal(fx->a.nhold, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 0);
    }
    replace_client(fx, NULL);
    for (i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].result, HTTP_ERR_CANCELLED);
        got_reset(&g[i]);
    }
}

/* ---- the loopback rule ---- */

static void
test_refuse_plain_http(void **state)
{
    struct fx *fx = *state;
    const char *bad[] = {
        "http://192.0.2.1/",
        "http://example.invalid/",
        "http://127.0.0.1.example.invalid/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "http://user:secret@127.0.0.1/",
        "not a url",
    };
    struct got g = {0};
    char url[128];
    size_t i;
    uint64_t t0;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        t0 = now_ms();
        assert_non_null(get(fx, bad[i], &g));
        assert_int_equal(g.calls, 0);
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_ERR_REFUSED);
        assert_true(g.at_ms - t0 < 200);
        assert_int_equal(g.status, 0);
        assert_null(strstr(g.error, "secret"));
        got_reset(&g);
    }
    /* twins: loopback by address and by name */
    fmt(url, sizeof(url), "%s/bytes/5", fx->a.url);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    got_reset(&g);
    fmt(url, sizeof(url), "http://localhost:%d/bytes/5", fx->a.port);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    got_reset(&g);
    assert_int_equal(fx->a.nreq, 2);
}

/* IPv6 loopback, where the host has it: [::1] passes every check. */
static void
test_ipv6_loopback(void **state)
{
    struct fx *fx = *state;
    struct evhttp_bound_socket *bs;
    struct sockaddr_in6 sin6;
    socklen_t sl = sizeof(sin6);
    struct got g = {0};
    char url[128];
    int nreq;

    bs = evhttp_bind_socket_with_handle(fx->a.http, "::1", 0);
    if (bs == NULL) {
        skip(); /* no IPv6 here */
    }
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                 (struct sockaddr *)&sin6, &sl),
                     0);
    nreq = fx->a.nreq;
    fmt(url, sizeof(url), "http://[::1]:%d/bytes/9", ntohs(sin6.sin6_port));
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    if (g.result != HTTP_COMPLETE) {
        fail_msg("[::1]: %s (%s)", http_result_str(g.result), g.error);
    }
    assert_int_equal(g.status, 200);
    assert_int_equal(fx->a.nreq, nreq + 1);
    got_reset(&g);
    /* twin: another IPv6 address is not loopback */
    fmt(url, sizeof(url), "http://[2001:db8::1]:%d/bytes/9",
        ntohs(sin6.sin6_port));
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_REFUSED);
    assert_int_equal(fx->a.nreq, nreq + 1);
    got_reset(&g);
}

static void
test_url_check(void **state)
{
    const char *ok[] = {
        "https://rekor.sigstore.dev", "https://192.0.2.1:8443/api/v1/log",
        "http://127.0.0.1:3000/",     "http://127.255.0.9/x",
        "http://[::1]:8080/",         "http://LOCALHOST/",
    };
    const char *no[] = {
        "http://rekor.sigstore.dev",
        "http://10.0.0.1/",
        "http://[::2]/",
        "http://[::ffff:192.0.2.1]/",
        "http://localhost.example/",
        "https://user:pw@rekor.sigstore.dev/",
        "gopher://127.0.0.1/",
        "https://",
        "https://exa mple.com/",
        "",
    };
    char why[64];
    char *longurl;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (http_url_check(ok[i], why, sizeof(why)) != 0) {
            fail_msg("refused %s: %s", ok[i], why);
        }
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        why[0] = '\0';
        if (http_url_check(no[i], why, sizeof(why)) == 0) {
            fail_msg("accepted %s", no[i]);
        }
        assert_true(strlen(why) > 0);
        assert_null(strstr(why, "pw"));
    }
    assert_int_equal(http_url_check(NULL, NULL, 0), -1);
    longurl = malloc(HTTP_MAX_URL + 2);
    assert_non_null(longurl);
    memcpy(longurl, "https://a.test/", 15);
    memset(longurl + 15, 'x', HTTP_MAX_URL + 1 - 15);
    longurl[HTTP_MAX_URL + 1] = '\0';
    assert_int_equal(http_url_check(longurl, NULL, 0), -1);
    longurl[HTTP_MAX_URL] = '\0'; /* at the limit: fine */
    assert_int_equal(http_url_check(longurl, NULL, 0), 0);
    free(longurl);
}

/* ---- redirects ---- */

static struct http_handle *
get_follow(struct fx *fx, const char *url, int follow,
           const struct http_header *hd, size_t nhd, struct got *g)
{
    struct http_request_opts o;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.follow_redirects = follow;
    o.headers = hd;
    o.nheaders = nhd;
    return http_request(fx->c, &o, on_done, g);
}

static void
test_redirect_authorization(void **state)
{
    struct fx *fx = *state;
    struct http_header hd[] = {{"Authorization", "Bearer s3cret"},
                               {"X-Tlogwatch-Test", "carried"}};
    struct got g = {0};
    char url[128];
    struct srv c2;

    /* 127.0.0.1 -> 127.0.0.2: another host, Authorization stays behind */
    fmt(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s/echo", fx->b.url);
    fmt(url, sizeof(url), "%s/redirect", fx->a.url);
    assert_non_null(get_follow(fx, url, 1, hd, 2, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.redirects, 1);
    assert_string_equal(g.location, ""); /* the final response's headers */
    assert_string_equal(g.content_type, "application/x-echo; charset=utf-8");
    assert_int_equal(fx->a.nreq, 1);
    assert_true(fx->a.saw_auth); /* the first host got it */
    assert_int_equal(fx->b.nreq, 1);
    assert_false(fx->b.saw_auth);                /* the second did not */
    assert_string_equal(fx->b.xtest, "carried"); /* other headers do go */
    got_reset(&g);

    /* same host, another port: also another origin for libcurl */
    assert_int_equal(srv_start(&c2, fx->base, "127.0.0.1"), 0);
    fmt(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s/echo", c2.url);
    assert_non_null(get_follow(fx, url, 1, hd, 2, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    assert_int_equal(c2.nreq, 1);
    assert_false(c2.saw_auth);
    srv_stop(&c2);
    got_reset(&g);

    /* twin: a redirect on the same origin keeps it */
    fmt(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s/echo", fx->a.url);
    fx->a.nreq = 0;
    assert_non_null(get_follow(fx, url, 1, hd, 2, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.redirects, 1);
    assert_int_equal(fx->a.nreq, 2);
    assert_string_equal(fx->a.path, "/echo");
    assert_true(fx->a.saw_auth);
    assert_string_equal(fx->a.auth, "Bearer s3cret");
    got_reset(&g);

    /* not following: the 302 itself, with its Location */
    fmt(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s/echo", fx->b.url);
    fx->b.nreq = 0;
    assert_non_null(get_follow(fx, url, 0, hd, 2, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 302);
    assert_int_equal(g.redirects, 0);
    assert_string_equal(g.location, fx->a.redirect_to);
    assert_string_equal(g.redirect_url, fx->a.redirect_to);
    assert_int_equal(fx->b.nreq, 0);
    got_reset(&g);
}

static void
test_redirect_refused(void **state)
{
    struct fx *fx = *state;
    const char *targets[] = {"http://192.0.2.1/x", "http://example.invalid/x",
                             "ftp://127.0.0.2/x"};
    struct got g = {0};
    char url[128];
    size_t i;
    uint64_t t0;

    fmt(url, sizeof(url), "%s/redirect", fx->a.url);
    for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        snprintf(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s",
                 targets[i]);
        t0 = now_ms();
        assert_non_null(get_follow(fx, url, 1, NULL, 0, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        if (g.result != HTTP_ERR_REFUSED) {
            fail_msg("redirect to %s: %s (%s)", targets[i],
                     http_result_str(g.result), g.error);
        }
        assert_true(g.at_ms - t0 < 1000);
        got_reset(&g);
    }
    /* twin: a redirect to the other loopback host is followed */
    fmt(fx->a.redirect_to, sizeof(fx->a.redirect_to), "%s/bytes/3", fx->b.url);
    assert_non_null(get_follow(fx, url, 1, NULL, 0, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    assert_int_equal(g.status, 200);
    assert_int_equal(fx->b.nreq, 1);
    got_reset(&g);
}

/* ---- SMTP: a server that goes silent ---- */

/*
 * A TCP listener on 127.0.0.1 playing an SMTP server that stalls: it
 * accepts, sends the 220 greeting when greet is set, then answers nothing
 * (what it is sent stays unread, for the test to look at).
 */
struct mute_smtp {
    int lfd;
    int conn; /* the accepted connection, or -1 */
    int naccepted;
    int greet;
    uint16_t port;
    struct event *ev;
};

static void
mute_accept(evutil_socket_t fd, short what, void *arg)
{
    struct mute_smtp *m = arg;
    static const char hello[] = "220 mute.test ESMTP\r\n";
    int c = accept(fd, NULL, NULL);

    (void)what;
    if (c < 0) {
        return;
    }
    m->naccepted++;
    if (m->conn >= 0) {
        close(c);
        return;
    }
    m->conn = c;
    if (m->greet) {
        assert_int_equal(write(c, hello, sizeof(hello) - 1),
                         (ssize_t)(sizeof(hello) - 1));
    }
}

static void
mute_start(struct fx *fx, struct mute_smtp *m, int greet)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    memset(m, 0, sizeof(*m));
    m->conn = -1;
    m->greet = greet;
    m->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(m->lfd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(m->lfd, 4), 0);
    assert_int_equal(getsockname(m->lfd, (struct sockaddr *)&sa, &len), 0);
    m->port = ntohs(sa.sin_port);
    m->ev = event_new(fx->base, m->lfd, EV_READ | EV_PERSIST, mute_accept, m);
    assert_non_null(m->ev);
    assert_int_equal(event_add(m->ev, NULL), 0);
}

static void
mute_stop(struct mute_smtp *m)
{
    event_free(m->ev);
    if (m->conn >= 0) {
        close(m->conn);
    }
    close(m->lfd);
}

/* What the client sent the mute server so far (its socket left open). */
static void
mute_read(struct mute_smtp *m, char *out, size_t cap)
{
    ssize_t n = recv(m->conn, out, cap - 1, MSG_DONTWAIT);

    out[n > 0 ? n : 0] = '\0';
}

static void
smtp_opts_for(struct http_smtp_opts *so, const char *url, uint64_t timeout,
              int plain)
{
    static const char *const rcpt[] = {"sec@example.test"};
    static const char msg[] = "Subject: t\r\n\r\nbody\r\n";

    memset(so, 0, sizeof(*so));
    so->url = url;
    so->mail_from = "tlogwatch@example.test";
    so->rcpt = rcpt;
    so->nrcpt = 1;
    so->message = msg;
    so->message_len = sizeof(msg) - 1;
    so->timeout_ms = timeout;
    so->plain = plain;
}

/*
 * A stalled SMTP server (silent before its greeting, or after it) holds
 * no one up: the message ends in HTTP_ERR_TIMEOUT at its deadline (the
 * outbox retries it), and while it waits the same client and loop answer
 * a log's request.  Twin: a server that closes ends it at once, with a
 * transport error and not a timeout.
 */
static void
test_smtp_stalled(void **state)
{
    struct fx *fx = *state;
    struct mute_smtp m;
    struct http_smtp_opts so;
    struct got g = {0}, h = {0};
    char url[128], seen[512];
    uint64_t t0;
    int greet;

    for (greet = 0; greet <= 1; greet++) {
        mute_start(fx, &m, greet);
        fmt(url, sizeof(url), "smtp://127.0.0.1:%u", (unsigned)m.port);
        smtp_opts_for(&so, url, 300, 0);
        t0 = now_ms();
        assert_non_null(http_smtp_send(fx->c, &so, on_done, &g));
        assert_int_equal(run_until(fx, &g.calls, 1), 0);
        assert_int_equal(g.result, HTTP_ERR_TIMEOUT);
        assert_true(g.at_ms - t0 >= 250);
        assert_true(strlen(g.error) > 0);
        assert_int_equal(m.naccepted, 1);
        mute_read(&m, seen, sizeof(seen));
        if (greet) {
            /* past the greeting: EHLO sent, no answer came */
            assert_non_null(strstr(seen, "EHLO "));
        } else {
            assert_string_equal(seen, ""); /* SMTP: the server speaks first */
        }
        assert_null(strstr(seen, "MAIL FROM")); /* no STARTTLS: no mail */
        run_for(fx, 100);
        assert_int_equal(g.calls, 1);
        got_reset(&g);
        mute_stop(&m);
    }

    /* the loop goes on while a message waits on a stalled server (no
     * deadline near): a log's request on the same client is answered */
    mute_start(fx, &m, 1);
    fmt(url, sizeof(url), "smtp://127.0.0.1:%u", (unsigned)m.port);
    smtp_opts_for(&so, url, 0, 0); /* the default deadline, a minute */
    assert_non_null(http_smtp_send(fx->c, &so, on_done, &g));
    assert_int_equal(run_until(fx, &m.naccepted, 1), 0);
    fmt(url, sizeof(url), "%s/bytes/10", fx->a.url);
    assert_non_null(get(fx, url, &h));
    assert_int_equal(run_until(fx, &h.calls, 1), 0);
    assert_int_equal(h.result, HTTP_COMPLETE);
    assert_int_equal(h.status, 200);
    assert_int_equal(g.calls, 0); /* still waiting */
    assert_int_equal(http_client_pending(fx->c), 1);
    /* twin: the server hangs up: a transport error, now */
    close(m.conn);
    m.conn = -1;
    t0 = now_ms();
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_TRANSPORT);
    assert_true(g.at_ms - t0 < 5000);
    got_reset(&g);
    got_reset(&h);
    mute_stop(&m);
}

/*
 * tls: none (plain): only smtp:// without a username, and only to a
 * loopback address: to another one the socket is never opened.  Twin:
 * plain to the loopback server connects (and times out on its silence).
 */
static void
test_smtp_plain(void **state)
{
    struct fx *fx = *state;
    struct mute_smtp m;
    struct http_smtp_opts so;
    struct got g = {0};
    char url[128];

    smtp_opts_for(&so, "smtps://127.0.0.1:1", 300, 1);
    assert_null(http_smtp_send(fx->c, &so, on_done, &g));
    smtp_opts_for(&so, "smtp://127.0.0.1:1", 300, 1);
    so.username = "u";
    so.password = "p";
    assert_null(http_smtp_send(fx->c, &so, on_done, &g));

    /* TEST-NET-1: never connected to, refused before any packet */
    smtp_opts_for(&so, "smtp://192.0.2.1:25", 5000, 1);
    assert_non_null(http_smtp_send(fx->c, &so, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_REFUSED);
    assert_non_null(strstr(g.error, "off loopback refused"));
    got_reset(&g);

    mute_start(fx, &m, 1);
    fmt(url, sizeof(url), "smtp://127.0.0.1:%u", (unsigned)m.port);
    smtp_opts_for(&so, url, 300, 1);
    assert_non_null(http_smtp_send(fx->c, &so, on_done, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_TIMEOUT);
    assert_int_equal(m.naccepted, 1);
    got_reset(&g);
    mute_stop(&m);
}

/* ---- TLS ---- */

static void
test_tls(void **state)
{
    struct fx *fx = *state;
    struct http_client_opts co;
    struct tls_srv t;
    struct got g = {0};
    char url[128];

    assert_int_equal(tls_start(&t, fx->a.port), 0);
    memset(&co, 0, sizeof(co));
    co.ca_file = t.cert;
    replace_client(fx, &co);

    fmt(url, sizeof(url), "https://127.0.0.1:%d/hello", t.port);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    if (g.result != HTTP_COMPLETE) {
        fail_msg("https: %s (%s)", http_result_str(g.result), g.error);
    }
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "hello tls");
    got_reset(&g);

    /* https never follows to http://, even on loopback */
    fmt(url, sizeof(url), "https://127.0.0.1:%d/to-http", t.port);
    assert_non_null(get_follow(fx, url, 1, NULL, 0, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_REFUSED);
    assert_int_equal(fx->a.nreq, 0);
    got_reset(&g);

    /* twin: without the test CA the certificate is not trusted */
    replace_client(fx, NULL);
    fmt(url, sizeof(url), "https://127.0.0.1:%d/hello", t.port);
    assert_non_null(get(fx, url, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_ERR_TRANSPORT);
    assert_true(g.body_null);
    assert_true(strlen(g.error) > 0);
    got_reset(&g);
    tls_stop(&t);
}

/* ---- cancel and free ---- */

static void
test_cancel(void **state)
{
    struct fx *fx = *state;
    struct got g = {0}, g2 = {0}, g3 = {0};
    struct http_handle *h;
    char url[128], url2[128];

    /* cancelled while the server holds it */
    fmt(url, sizeof(url), "%s/stall", fx->a.url);
    h = get(fx, url, &g);
    assert_non_null(h);
    assert_int_equal(run_until(fx, &fx->a.nstall, 1), 0);
    http_cancel(h);
    assert_int_equal(http_client_pending(fx->c), 0);
    run_for(fx, 200);
    assert_int_equal(g.calls, 0);

    /* cancelled before it started, and a refused one before delivery */
    h = get(fx, url, &g);
    assert_non_null(h);
    http_cancel(h);
    h = get(fx, "http://192.0.2.1/", &g);
    assert_non_null(h);
    http_cancel(h);
    http_cancel(NULL);
    run_for(fx, 100);
    assert_int_equal(g.calls, 0);
    assert_int_equal(fx->a.nstall, 1);

    /* cancelled from another request's callback */
    fmt(url2, sizeof(url2), "%s/bytes/1", fx->a.url);
    g2.cancel_other = get(fx, url, &g3);
    assert_non_null(g2.cancel_other);
    assert_int_equal(run_until(fx, &fx->a.nstall, 2), 0);
    assert_non_null(get(fx, url2, &g2));
    assert_int_equal(run_until(fx, &g2.calls, 1), 0);
    assert_int_equal(g2.status, 200);
    run_for(fx, 100);
    assert_int_equal(g3.calls, 0);
    assert_int_equal(http_client_pending(fx->c), 0);
    got_reset(&g2);

    /* twin: the client is fine, and an uncancelled request is answered */
    assert_non_null(get(fx, url2, &g));
    assert_int_equal(run_until(fx, &g.calls, 1), 0);
    assert_int_equal(g.result, HTTP_COMPLETE);
    got_reset(&g);
}

static void
test_free_in_flight(void **state)
{
    struct fx *fx = *state;
    struct got g[6];
    char url[128];
    int i;

    memset(g, 0, sizeof(g));
    fmt(url, sizeof(url), "%s/stall", fx->a.url);
    for (i = 0; i < 6; i++) {
        g[i].client = fx->c;
        g[i].retry_url = url;
    }
    for (i = 0; i < 5; i++) {
        assert_non_null(http_request(fx->c,
                                     &(struct http_request_opts){.url = url},
                                     on_done_retry, &g[i]));
    }
    assert_non_null(http_request(
        fx->c, &(struct http_request_opts){.url = "http://192.0.2.1/"},
        on_done_retry, &g[5]));
    /* the refused one is delivered, its callback starts a sixth stall */
    assert_int_equal(run_until(fx, &g[5].calls, 1), 0);
    assert_int_equal(run_until(fx, &fx->a.nstall, 6), 0);
    assert_int_equal(g[5].calls, 1);
    assert_int_equal(g[5].result, HTTP_ERR_REFUSED);
    assert_true(g[5].request_after_free); /* the client was still open */
    http_client_free(fx->c);
    fx->c = NULL;
    for (i = 0; i < 5; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].result, HTTP_ERR_CANCELLED);
        assert_false(g[i].request_after_free);
        got_reset(&g[i]);
    }
    /* the request g[5]'s callback started went down with the client */
    assert_int_equal(g[5].calls, 2);
    assert_int_equal(g[5].result, HTTP_ERR_CANCELLED);
    got_reset(&g[5]);
    run_for(fx, 50);
    fx->c = http_client_new(fx->base, NULL);
    assert_non_null(fx->c);
}

static void
test_free_from_callback(void **state)
{
    struct fx *fx = *state;
    struct got g[4];
    char url[128];
    int i;

    memset(g, 0, sizeof(g));
    fmt(url, sizeof(url), "%s/stall", fx->a.url);
    for (i = 0; i < 3; i++) {
        assert_non_null(get(fx, url, &g[i]));
    }
    assert_int_equal(run_until(fx, &fx->a.nstall, 3), 0);
    fmt(url, sizeof(url), "%s/bytes/2", fx->a.url);
    g[3].client = fx->c;
    g[3].free_client = 1;
    assert_non_null(get(fx, url, &g[3]));
    assert_int_equal(run_until(fx, &g[3].calls, 1), 0);
    fx->c = NULL; /* freed by g[3]'s callback */
    assert_int_equal(g[3].result, HTTP_COMPLETE);
    for (i = 0; i < 3; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].result, HTTP_ERR_CANCELLED);
        got_reset(&g[i]);
    }
    got_reset(&g[3]);
    run_for(fx, 50);
    http_client_free(NULL);
    fx->c = http_client_new(fx->base, NULL);
    assert_non_null(fx->c);
}

/* ---- pure helpers ---- */

static void
test_redact(void **state)
{
    struct {
        const char *in, *want;
    } v[] = {
        {"https://user:pa55@hooks.slack.com/services/T0/B0/XyZ?x=1",
         "https://hooks.slack.com/services/"},
        {"http://127.0.0.1:8080/api/v1/log/entries?logIndex=5#frag",
         "http://127.0.0.1:8080/api/v1/log/entries"},
        {"https://siem.example/in", "https://siem.example/in"},
        {"https://siem.example?token=abc", "https://siem.example"},
        {"https://a@b@host.example/p", "https://host.example/p"},
        {"https://host.example/p@q", "https://host.example/p@q"},
        {"https://[::1]:9/x", "https://[::1]:9/x"},
        {"https://h.example/a\nb", "https://h.example/a?b"},
        {"no scheme here", "(unparsable url)"},
        {"://x", "(unparsable url)"},
        {"https://user@/x", "(unparsable url)"},
    };
    char out[128], tiny[12];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_ptr_equal(http_redact_url(v[i].in, out, sizeof(out)), out);
        assert_string_equal(out, v[i].want);
    }
    /* twins: the secrets are gone, the host is not */
    http_redact_url("https://u:TOPSECRET@h.example/x?k=KEY", out, sizeof(out));
    assert_null(strstr(out, "TOPSECRET"));
    assert_null(strstr(out, "KEY"));
    assert_non_null(strstr(out, "h.example"));
    http_redact_url(NULL, out, sizeof(out));
    assert_string_equal(out, "(unparsable url)");
    /* truncation keeps the terminator */
    http_redact_url("https://hostname.example/path", tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_memory_equal(tiny, "https://hos", sizeof(tiny));
    assert_null(http_redact_url("https://h/", NULL, 0));
}

static void
test_parse_header_line(void **state)
{
    const char *n, *v;
    size_t nl, vl;
    char big[HTTP_MAX_HEADER_LINE + 2];
    static const char l1[] = "Retry-After:   120 \t\r\n";
    static const char l2[] = "X-Empty:\r\n";

    (void)state;
    assert_int_equal(
        http_parse_header_line(l1, sizeof(l1) - 1, &n, &nl, &v, &vl), 0);
    assert_int_equal(nl, 11);
    assert_memory_equal(n, "Retry-After", 11);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "120", 3);
    assert_int_equal(
        http_parse_header_line(l2, sizeof(l2) - 1, &n, &nl, &v, &vl), 0);
    assert_int_equal(vl, 0);
    /* twins */
    assert_int_equal(
        http_parse_header_line("HTTP/1.1 200 OK\r\n", 17, &n, &nl, &v, &vl),
        -1);
    assert_int_equal(http_parse_header_line("\r\n", 2, &n, &nl, &v, &vl), -1);
    assert_int_equal(http_parse_header_line(": x", 3, &n, &nl, &v, &vl), -1);
    assert_int_equal(http_parse_header_line("No colon", 8, &n, &nl, &v, &vl),
                     -1);
    assert_int_equal(
        http_parse_header_line("Bad Name: x", 11, &n, &nl, &v, &vl), -1);
    memset(big, 'a', sizeof(big));
    big[1] = ':';
    assert_int_equal(
        http_parse_header_line(big, HTTP_MAX_HEADER_LINE, &n, &nl, &v, &vl), 0);
    assert_int_equal(
        http_parse_header_line(big, HTTP_MAX_HEADER_LINE + 1, &n, &nl, &v, &vl),
        -1);
}

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static void
test_parse_retry_after(void **state)
{
    const char *forms[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",  /* IMF-fixdate */
        "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 */
        "Sun Nov  6 08:49:37 1994",       /* asctime */
    };
    const char *bad[] = {"",
                         "  ",
                         "-5",
                         "+5",
                         "5s",
                         "1.5",
                         "soon",
                         "Sun, 06 Nov 1994 08:49:37 GMT\x01",
                         "Sun, 06 Nov 1994 08:49:37 GMT  and a lot more text"
                         " beyond the limit"};
    int64_t when = utc(1994, 11, 6, 8, 49, 37);
    uint64_t s;
    size_t i;

    (void)state;
    assert_int_equal(http_parse_retry_after("0", 1, 0, &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(http_parse_retry_after(" 42 ", 4, 0, &s), 0);
    assert_int_equal(s, 42);
    assert_int_equal(
        http_parse_retry_after("123456789012345678901234567890", 30, 0, &s), 0);
    assert_int_equal(s, HTTP_RETRY_AFTER_MAX);
    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_int_equal(
            http_parse_retry_after(forms[i], strlen(forms[i]), when - 90, &s),
            0);
        assert_int_equal(s, 90);
        assert_int_equal(
            http_parse_retry_after(forms[i], strlen(forms[i]), when + 5, &s),
            0);
        assert_int_equal(s, 0);
        assert_int_equal(
            http_parse_retry_after(forms[i], strlen(forms[i]), INT64_MIN, &s),
            0);
        assert_int_equal(s, HTTP_RETRY_AFTER_MAX);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (http_parse_retry_after(bad[i], strlen(bad[i]), when, &s) == 0) {
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    assert_int_equal(http_parse_retry_after(NULL, 0, 0, &s), -1);
}

static void
test_result_str(void **state)
{
    (void)state;
    assert_string_equal(http_result_str(HTTP_COMPLETE), "complete");
    assert_string_equal(http_result_str(HTTP_ERR_TIMEOUT), "timeout");
    assert_string_equal(http_result_str((enum http_result)99), "unknown");
}

static int
group_setup(void **state)
{
    (void)state;
    return http_global_init();
}

static int
group_teardown(void **state)
{
    (void)state;
    http_global_cleanup();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_put_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_delta, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_date, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratelimit_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_5xx_and_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_stalled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_stalled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_setter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_plain_http, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_loopback, setup, teardown),
        cmocka_unit_test(test_url_check),
        cmocka_unit_test_setup_teardown(test_redirect_authorization, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_redirect_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup,
                                        teardown),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_parse_header_line),
        cmocka_unit_test(test_parse_retry_after),
        cmocka_unit_test(test_result_str),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
