/*
 * test_outbox.c: the delivery worker (monitor/outbox.c) with real parts
 * only: a real sqlite state file, the real curl-multi transport, an evhttp
 * receiver on 127.0.0.1 on the test's own loop, real exec children, a
 * config parsed from YAML by the real loader.  What the receiver got and
 * what the store says are checked, never the worker's own word.
 *
 * Receiver paths: /ok (200), /status/N (N), /retry/S (429 + Retry-After
 * S), /stall (never answered while the test runs).
 *
 * Time: a test waits for what it expects (run_until, with a deadline that
 * only bounds a failing test), never for a fixed time that hopes the
 * machine is fast enough; a fixed run_for only shows that something does
 * not happen.  What must be cut short (a hung hook) runs far longer than
 * any deadline here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config/config.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/outbox.h"
#include "monitor/store/store.h"
#include "monitor/view/view.h"
#include "notify/alert.h"
#include "notify/redact.h"

#define RUN_LIMIT_MS 60000   /* bounds a failing wait; success comes sooner */
#define DRAIN_LIMIT_MS 30000 /* test_drain's deadline, < RUN_LIMIT_MS */
#define MAX_REQS 64
#define SECRET "test-hmac-key"

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the receiver ---- */

struct req {
    char path[128];
    char id[128];
    char sig[160];
    char body[4096];
    uint64_t at; /* monotonic ms */
};

struct fx {
    struct event_base *base;
    struct evhttp *http;
    int port;
    struct req reqs[MAX_REQS];
    int nreq;
    struct evhttp_request *stalled[8];
    int nstalled;
    struct http_client *client;
    struct store *store;
    struct config *cfg;
    struct outbox *ob;
    char dir[64];
    char db[128];
    /* rows_attempted: the (id, sink) rows it waits for */
    const char *watch_id;
    const char *watch_sinks[2];
    uint64_t watch_attempts;
};

static void
srv_handle(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *ib = evhttp_request_get_input_buffer(req);
    struct evbuffer *b = evbuffer_new();
    const char *uri = evhttp_request_get_uri(req);
    const char *v;
    struct req *r;
    char hv[32];
    size_t n;
    int code;

    assert_non_null(b);
    assert_true(f->nreq < MAX_REQS);
    r = &f->reqs[f->nreq++];
    memset(r, 0, sizeof(*r));
    r->at = now_ms();
    snprintf(r->path, sizeof(r->path), "%s", uri);
    v = evhttp_find_header(in, "X-Tlogwatch-Alert-Id");
    snprintf(r->id, sizeof(r->id), "%s", v != NULL ? v : "");
    v = evhttp_find_header(in, "X-Tlogwatch-Signature");
    snprintf(r->sig, sizeof(r->sig), "%s", v != NULL ? v : "");
    n = evbuffer_get_length(ib);
    if (n >= sizeof(r->body)) {
        n = sizeof(r->body) - 1;
    }
    evbuffer_copyout(ib, r->body, n);
    if (strcmp(uri, "/stall") == 0) {
        assert_true(f->nstalled < 8);
        f->stalled[f->nstalled++] = req;
        evbuffer_free(b);
        return;
    }
    if (sscanf(uri, "/retry/%d", &code) == 1) {
        snprintf(hv, sizeof(hv), "%d", code);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          hv);
        evhttp_send_reply(req, 429, "Too Many Requests", b);
    } else if (strncmp(uri, "/echo/", 6) == 0) {
        /* A receiver that quotes the request URL and its own tokens. */
        evbuffer_add_printf(b,
                            "failed: POST http://127.0.0.1:%d%s path %s "
                            "reply_token=ECHOTOK1 trace "
                            "ECHOTOK2Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9 ",
                            f->port, uri, uri);
        for (n = 0; n < 40; n++) {
            evbuffer_add_printf(b, "padding ");
        }
        evbuffer_add_printf(b, "ECHOTOK3=late");
        evhttp_send_reply(req, 500, "Test", b);
    } else if (sscanf(uri, "/status/%d", &code) == 1) {
        evbuffer_add_printf(b, "status %d", code);
        evhttp_send_reply(req, code, "Test", b);
    } else {
        evbuffer_add_printf(b, "ok");
        evhttp_send_reply(req, 200, "OK", b);
    }
    evbuffer_free(b);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct evhttp_bound_socket *bs;
    char err[512];

    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->http = evhttp_new(f->base);
    assert_non_null(f->http);
    bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                     (struct sockaddr *)&ss, &sl),
                         0);
        f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    evhttp_set_gencb(f->http, srv_handle, f);
    f->client = http_client_new(f->base, NULL);
    assert_non_null(f->client);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tlw-outbox.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
    f->store = store_open(f->db, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    assert_non_null(f->store);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[160];
    int i;

    outbox_free(f->ob);
    for (i = 0; i < f->nstalled; i++) {
        evhttp_send_reply(f->stalled[i], 500, "Late", NULL);
    }
    http_client_free(f->client);
    evhttp_free(f->http);
    store_close(f->store);
    config_free(f->cfg);
    event_base_free(f->base);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Parse a config whose notify: list is sinks (YAML flow items). */
static void
load_config(struct fx *f, const char *sinks, const char *extra)
{
    char buf[4096];
    struct config_errors *errs = NULL;
    int n;

    n = snprintf(
        buf, sizeof(buf),
        "state: %s\nlogs:\n  - {name: l, url: \"http://127.0.0.1:1\"}\n"
        "notify:\n%s%s",
        f->db, sinks, extra != NULL ? extra : "");
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    f->cfg = config_load_mem(buf, (size_t)n, "test.yaml", &errs);
    if (f->cfg == NULL) {
        char line[512];
        size_t i;
        for (i = 0; errs != NULL && i < errs->n; i++) {
            fprintf(stderr, "%s\n",
                    config_error_format(&errs->v[i], line, sizeof(line)));
        }
    }
    assert_non_null(f->cfg);
}

static void
start_outbox(struct fx *f, int heartbeat)
{
    struct outbox_opts oo;
    char err[256];

    memset(&oo, 0, sizeof(oo));
    oo.base = f->base;
    oo.store = f->store;
    oo.cfg = f->cfg;
    oo.http = f->client;
    oo.tmp_dir = f->dir;
    oo.seed = 42;
    oo.heartbeat = heartbeat;
    oo.backoff_base_ms = 200;
    oo.backoff_max_ms = 2000;
    oo.slack_interval_ms = 300;
    f->ob = outbox_new(&oo, err, sizeof(err));
    assert_non_null(f->ob);
}

/* Record an alert (key makes its id) for the named sinks. */
static void
add_alert(struct fx *f, const char *key, const char *const *sinks,
          size_t nsinks, char id[NOTIFY_ALERT_ID_LEN + 1])
{
    json_t *a = notify_alert_new("log.stale", key, "no new checkpoint", 1);
    struct store_alert sa;
    char *body;
    int ins = 0;

    assert_non_null(a);
    body = notify_alert_render(a);
    assert_non_null(body);
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = notify_alert_get_type(a);
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = time(NULL);
    sa.body = body;
    sa.sinks = sinks;
    sa.nsinks = nsinks;
    assert_int_equal(store_alert_record(f->store, 0, &sa, &ins), 0);
    assert_int_equal(ins, 1);
    snprintf(id, NOTIFY_ALERT_ID_LEN + 1, "%s", sa.id);
    free(body);
    json_decref(a);
}

/* The status and attempts of (id, sink) in the store. */
struct row {
    const char *id, *sink;
    int found;
    enum store_delivery_status status;
    uint64_t attempts;
    int64_t next_at;
    char error[1024]; /* last_error, "" when none */
};

static int
row_cb(void *arg, const struct store_delivery *d)
{
    struct row *r = arg;

    if (strcmp(d->alert_id, r->id) == 0 && strcmp(d->sink, r->sink) == 0) {
        r->found = 1;
        r->status = d->status;
        r->attempts = d->attempts;
        r->next_at = d->next_attempt_at;
        snprintf(r->error, sizeof(r->error), "%s",
                 d->last_error != NULL ? d->last_error : "");
    }
    return 0;
}

/* Pending rows only are listed: found == 0 means sent or failed. */
static int
pending(struct fx *f, const char *id, const char *sink, struct row *out)
{
    struct row r;

    memset(&r, 0, sizeof(r));
    r.id = id;
    r.sink = sink;
    assert_int_equal(store_deliveries_due(f->store, INT64_MAX, 0, row_cb, &r),
                     0);
    if (out != NULL) {
        *out = r;
    }
    return r.found;
}

static uint64_t
deliveries(struct fx *f, enum store_delivery_status st)
{
    struct store_counts c;

    assert_int_equal(store_counts(f->store, 0, INT64_MAX, &c), 0);
    return c.deliveries[st];
}

/* Run the loop until pred(f) or ms pass; returns pred's last value. */
static int
run_until(struct fx *f, int (*pred)(struct fx *), uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    struct timeval tick = {0, 20000};

    while (!pred(f) && now_ms() < end) {
        event_base_loopexit(f->base, &tick);
        event_base_dispatch(f->base);
    }
    return pred(f);
}

static void
run_for(struct fx *f, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000),
                         (suseconds_t)((ms % 1000) * 1000)};

    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

static int
one_sent(struct fx *f)
{
    return deliveries(f, STORE_DELIVERY_SENT) >= 1;
}
static int
two_sent(struct fx *f)
{
    return deliveries(f, STORE_DELIVERY_SENT) >= 2;
}
static int
three_sent(struct fx *f)
{
    return deliveries(f, STORE_DELIVERY_SENT) >= 3;
}
static int
one_failed(struct fx *f)
{
    return deliveries(f, STORE_DELIVERY_FAILED) >= 1;
}
static int
one_req(struct fx *f)
{
    return f->nreq >= 1;
}
static int
two_reqs(struct fx *f)
{
    return f->nreq >= 2;
}
static int
idle(struct fx *f)
{
    return outbox_in_flight(f->ob) == 0;
}

/* rows_attempted waits for these rows (sink2 may be NULL) to be pending
 * with at least attempts attempts. */
static void
watch_rows(struct fx *f, const char *id, const char *sink1, const char *sink2,
           uint64_t attempts)
{
    f->watch_id = id;
    f->watch_sinks[0] = sink1;
    f->watch_sinks[1] = sink2;
    f->watch_attempts = attempts;
}
static int
rows_attempted(struct fx *f)
{
    struct row r;
    size_t i;

    for (i = 0; i < 2 && f->watch_sinks[i] != NULL; i++) {
        if (!pending(f, f->watch_id, f->watch_sinks[i], &r) ||
            r.attempts < f->watch_attempts) {
            return 0;
        }
    }
    return 1;
}

/* ---- pure helpers ---- */

static void
test_verdicts(void **state)
{
    (void)state;
    assert_int_equal(outbox_http_verdict(1, 200), OUTBOX_SENT);
    assert_int_equal(outbox_http_verdict(1, 204), OUTBOX_SENT);
    assert_int_equal(outbox_http_verdict(1, 400), OUTBOX_PERMANENT);
    assert_int_equal(outbox_http_verdict(1, 404), OUTBOX_PERMANENT);
    /* Negative twins: the retryable ones. */
    assert_int_equal(outbox_http_verdict(1, 408), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(1, 429), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(1, 500), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(1, 503), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(1, 302), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(0, 0), OUTBOX_RETRY);
    assert_int_equal(outbox_http_verdict(0, 200), OUTBOX_RETRY);
    /* SMTP: accepted; 550-554 for good; the rest (no STARTTLS, TLS, AUTH
     * 535, 4xx, timeout) again. */
    assert_int_equal(outbox_smtp_verdict(1, 250), OUTBOX_SENT);
    assert_int_equal(outbox_smtp_verdict(0, 550), OUTBOX_PERMANENT);
    assert_int_equal(outbox_smtp_verdict(0, 554), OUTBOX_PERMANENT);
    assert_int_equal(outbox_smtp_verdict(0, 535), OUTBOX_RETRY);
    assert_int_equal(outbox_smtp_verdict(0, 555), OUTBOX_RETRY);
    assert_int_equal(outbox_smtp_verdict(0, 451), OUTBOX_RETRY);
    assert_int_equal(outbox_smtp_verdict(0, 250), OUTBOX_RETRY);
    assert_int_equal(outbox_smtp_verdict(0, 0), OUTBOX_RETRY);
}

/* GitHub's rate limits: what to wait, from the status and headers. */
static void
test_github_verdicts(void **state)
{
    uint64_t w = 99;

    (void)state;
    /* The primary limit: until the reset (on the server's clock) + 1 s. */
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "0", "1000", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 11);
    assert_int_equal(
        outbox_github_verdict(429, 0, 0, "0", "1000", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 11);
    /* a reset in the past: 1 s; far ahead: the outbox's max backoff */
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "0", "900", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 1);
    assert_int_equal(outbox_github_verdict(403, 0, 0, "0",
                                           "99999999999999999999999", 0, 990,
                                           600, &w),
                     OUTBOX_RETRY);
    assert_int_equal(w, OUTBOX_GITHUB_MIN_WAIT_S); /* too long: no reset */
    assert_int_equal(outbox_github_verdict(403, 0, 0, "0",
                                           "18446744073709551615", 0, 990, 600,
                                           &w),
                     OUTBOX_RETRY);
    assert_int_equal(w, 600);
    /* a garbled reset: at least a minute */
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "0", "-5", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, OUTBOX_GITHUB_MIN_WAIT_S);
    /* The secondary limit: Retry-After, whatever else; bounded too. */
    assert_int_equal(
        outbox_github_verdict(403, 1, 7, "4999", "1000", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 7);
    assert_int_equal(
        outbox_github_verdict(403, 1, 86400, NULL, NULL, 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 600);
    /* without headers, a body naming a rate limit, or a 429: a minute */
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "12", "1000", 1, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, OUTBOX_GITHUB_MIN_WAIT_S);
    assert_int_equal(
        outbox_github_verdict(429, 0, 0, NULL, NULL, 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, OUTBOX_GITHUB_MIN_WAIT_S);
    /* Negative twins: a 403 with requests left, or with garbage or no
     * rate-limit headers, is no rate limit: refused for good. */
    w = 99;
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "4999", "1000", 0, 990, 600, &w),
        OUTBOX_PERMANENT);
    assert_int_equal(w, 0);
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "0x0", "1000", 0, 990, 600, &w),
        OUTBOX_PERMANENT);
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, "", "1000", 0, 990, 600, &w),
        OUTBOX_PERMANENT);
    assert_int_equal(
        outbox_github_verdict(403, 0, 0, NULL, NULL, 0, 990, 600, &w),
        OUTBOX_PERMANENT);
    /* other statuses as outbox_http_verdict */
    assert_int_equal(
        outbox_github_verdict(401, 0, 0, "0", "1000", 0, 990, 600, &w),
        OUTBOX_PERMANENT);
    assert_int_equal(
        outbox_github_verdict(201, 0, 0, "0", "1000", 0, 990, 600, &w),
        OUTBOX_SENT);
    assert_int_equal(
        outbox_github_verdict(502, 0, 0, "0", "1000", 0, 990, 600, &w),
        OUTBOX_RETRY);
    assert_int_equal(w, 0);
}

static void
test_backoff(void **state)
{
    uint64_t a, r;

    (void)state;
    /* Without jitter: doubling from the base, capped. */
    assert_int_equal(outbox_backoff_ms(1, 1000, 600000, 0, 7), 1000);
    assert_int_equal(outbox_backoff_ms(2, 1000, 600000, 0, 7), 2000);
    assert_int_equal(outbox_backoff_ms(5, 1000, 600000, 0, 7), 16000);
    assert_int_equal(outbox_backoff_ms(40, 1000, 600000, 0, 7), 600000);
    assert_int_equal(outbox_backoff_ms(UINT64_MAX, 1000, 600000, 0, 7), 600000);
    /* Jitter stays within +-20% and does vary with r. */
    for (r = 0; r < 1000; r++) {
        a = outbox_backoff_ms(3, 1000, 600000, 20, r * 2654435761u);
        assert_true(a >= 3200 && a <= 4800);
    }
    assert_true(outbox_backoff_ms(3, 1000, 600000, 20, 1) !=
                outbox_backoff_ms(3, 1000, 600000, 20, 2));
}

/* ---- webhook ---- */

static void
hmac_hex(const char *t, const char *body, char out[65])
{
    unsigned char md[32];
    unsigned int len = 32, i;
    char *msg = malloc(strlen(t) + strlen(body) + 2);

    assert_non_null(msg);
    sprintf(msg, "%s.%s", t, body);
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
                         (unsigned char *)msg, strlen(msg), md, &len));
    for (i = 0; i < 32; i++) {
        sprintf(out + 2 * i, "%02x", md[i]);
    }
    free(msg);
}

static void
test_webhook_delivered_and_signed(void **state)
{
    struct fx *f = *state;
    static const char *const sinks[] = {"hook", "plain"};
    char yaml[512], id[65], t[32], want[65];
    const char *comma;

    snprintf(yaml, sizeof(yaml),
             "  - {name: hook, type: webhook, url: "
             "\"http://127.0.0.1:%d/ok\", secret: \"" SECRET "\"}\n"
             "  - {name: plain, type: webhook, url: "
             "\"http://127.0.0.1:%d/ok\"}\n",
             f->port, f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "w1", sinks, 2, id);
    outbox_kick(f->ob);
    assert_true(run_until(f, two_sent, RUN_LIMIT_MS));
    assert_int_equal(f->nreq, 2);
    assert_false(pending(f, id, "hook", NULL));
    assert_false(pending(f, id, "plain", NULL));
    /* The signed one: id header, body = the stored alert, HMAC checks. */
    {
        struct req *r =
            strcmp(f->reqs[0].sig, "") != 0 ? &f->reqs[0] : &f->reqs[1];
        struct req *u = r == &f->reqs[0] ? &f->reqs[1] : &f->reqs[0];
        assert_string_equal(r->id, id);
        assert_non_null(strstr(r->body, id));
        assert_int_equal(strncmp(r->sig, "t=", 2), 0);
        comma = strchr(r->sig, ',');
        assert_non_null(comma);
        snprintf(t, sizeof(t), "%.*s", (int)(comma - r->sig - 2), r->sig + 2);
        hmac_hex(t, r->body, want);
        assert_int_equal(strncmp(comma, ",v1=", 4), 0);
        assert_string_equal(comma + 4, want);
        /* Negative twins: a changed body does not verify; no secret, no
         * signature. */
        r->body[strlen(r->body) - 1] = ' ';
        hmac_hex(t, r->body, want);
        assert_string_not_equal(comma + 4, want);
        assert_string_equal(u->sig, "");
        assert_string_equal(u->id, id);
    }
}

static void
test_webhook_permanent_and_retry(void **state)
{
    struct fx *f = *state;
    static const char *const s400[] = {"bad"};
    static const char *const s500[] = {"down"};
    char yaml[512], id1[65], id2[65];
    struct row r;

    snprintf(yaml, sizeof(yaml),
             "  - {name: bad, type: webhook, url: "
             "\"http://127.0.0.1:%d/status/400\"}\n"
             "  - {name: down, type: webhook, url: "
             "\"http://127.0.0.1:%d/status/503\"}\n",
             f->port, f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "p1", s400, 1, id1);
    add_alert(f, "p2", s500, 1, id2);
    outbox_kick(f->ob);
    assert_true(run_until(f, one_failed, RUN_LIMIT_MS));
    /* 400: failed for good, never pending again. */
    assert_false(pending(f, id1, "bad", NULL));
    assert_int_equal(deliveries(f, STORE_DELIVERY_FAILED), 1);
    /* 503: still pending, attempts counted, and retried by the worker
     * itself (backoff 200 ms here): a second attempt comes. */
    watch_rows(f, id2, "down", NULL, 2);
    assert_true(run_until(f, rows_attempted, RUN_LIMIT_MS));
    assert_true(pending(f, id2, "down", &r));
    assert_true(r.attempts >= 2);
    assert_int_equal(deliveries(f, STORE_DELIVERY_SENT), 0);
}

/* What a receiver replies is kept redacted: no URL, path or token, cut
 * to NOTIFY_REPLY_MAX bytes, in the store and in status; the sink shown
 * as scheme://host/... . */
static void
test_reply_redacted(void **state)
{
    struct fx *f = *state;
    static const char *const sinks[] = {"echo"};
    char yaml[512], id[65], where[64], err[STORE_ERRMSG_MAX], *out;
    json_t *doc;
    const json_t *sk;
    struct row r;

    snprintf(yaml, sizeof(yaml),
             "  - {name: echo, type: webhook, url: "
             "\"http://127.0.0.1:%d/echo/SECRETPATH?token=SECRETQ\"}\n",
             f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "echo", sinks, 1, id);
    outbox_kick(f->ob);
    watch_rows(f, id, "echo", NULL, 1);
    assert_true(run_until(f, rows_attempted, RUN_LIMIT_MS));
    assert_true(pending(f, id, "echo", &r));
    /* The receiver did get the secrets. */
    assert_non_null(strstr(f->reqs[0].path, "SECRETPATH?token=SECRETQ"));
    /* Kept: the status and the reply's plain words. */
    assert_true(
        strncmp(r.error, "HTTP 500: failed: POST [url] path [url]", 39) == 0);
    assert_true(strlen(r.error) <= NOTIFY_REPLY_MAX);
    assert_null(strstr(r.error, "SECRET"));
    assert_null(strstr(r.error, "ECHOTOK"));
    assert_null(strstr(r.error, "://"));
    assert_null(strstr(r.error, "/echo"));
    /* Cut: the padding runs past the limit, the last token never shows. */
    assert_int_equal(strlen(r.error), NOTIFY_REPLY_MAX);
    /* status (the one read model): the sink as scheme://host/..., the
     * error's class only; no secret anywhere in the document. */
    doc = view_status_json(f->store, f->cfg, time(NULL), err, sizeof(err));
    assert_non_null(doc);
    sk = json_array_get(
        json_object_get(json_object_get(doc, "outbox"), "sinks"), 0);
    snprintf(where, sizeof(where), "http://127.0.0.1:%d/...", f->port);
    assert_string_equal(json_string_value(json_object_get(sk, "where")), where);
    assert_string_equal(json_string_value(json_object_get(sk, "last_error")),
                        "HTTP 500");
    out = json_dumps(doc, 0);
    assert_non_null(out);
    assert_null(strstr(out, "SECRET"));
    assert_null(strstr(out, "ECHOTOK"));
    json_decref(doc);
    free(out);
}

/* A sink that never answers does not hold back another one. */
static int
two_sent_one_stalled(struct fx *f)
{
    return two_sent(f) && f->nstalled >= 1;
}
static void
test_sinks_independent(void **state)
{
    struct fx *f = *state;
    static const char *const both[] = {"stuck", "fine"};
    char yaml[512], id1[65], id2[65];

    snprintf(yaml, sizeof(yaml),
             "  - {name: stuck, type: webhook, url: "
             "\"http://127.0.0.1:%d/stall\"}\n"
             "  - {name: fine, type: webhook, url: "
             "\"http://127.0.0.1:%d/ok\"}\n",
             f->port, f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "i1", both, 2, id1);
    add_alert(f, "i2", both, 2, id2);
    outbox_kick(f->ob);
    assert_true(run_until(f, two_sent_one_stalled, RUN_LIMIT_MS));
    assert_false(pending(f, id1, "fine", NULL));
    assert_false(pending(f, id2, "fine", NULL));
    /* Negative twin: the stuck sink has one in flight and both pending. */
    assert_true(pending(f, id1, "stuck", NULL));
    assert_true(pending(f, id2, "stuck", NULL));
    assert_int_equal(f->nstalled, 1);
    assert_int_equal(outbox_in_flight(f->ob), 1);
}

/* 429 + Retry-After: the row waits that long, the sink too. */
static void
test_retry_after(void **state)
{
    struct fx *f = *state;
    static const char *const s[] = {"rl"};
    char yaml[256], id[65];
    struct row r;
    int64_t before = time(NULL);

    snprintf(yaml, sizeof(yaml),
             "  - {name: rl, type: webhook, url: "
             "\"http://127.0.0.1:%d/retry/3\"}\n",
             f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "r1", s, 1, id);
    outbox_kick(f->ob);
    watch_rows(f, id, "rl", NULL, 1);
    assert_true(run_until(f, rows_attempted, RUN_LIMIT_MS));
    assert_int_equal(f->nreq, 1);
    assert_true(pending(f, id, "rl", &r));
    assert_true(r.next_at >= before + 3);
    /* Negative twin: after Retry-After it is tried again, and not at the
     * 200 ms backoff: the second request comes 3 s after the first. */
    assert_true(run_until(f, two_reqs, RUN_LIMIT_MS));
    assert_int_equal(f->nreq, 2);
    assert_true(f->reqs[1].at - f->reqs[0].at >= 2900);
}

/* Slack: Block Kit body, one message per interval per hook. */
static void
test_slack_rate(void **state)
{
    struct fx *f = *state;
    static const char *const s[] = {"sl"};
    char yaml[256], id[65];
    json_t *m;
    int i;

    snprintf(yaml, sizeof(yaml),
             "  - {name: sl, type: slack, url: "
             "\"http://127.0.0.1:%d/services/T/B/x\"}\n",
             f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "s1", s, 1, id);
    add_alert(f, "s2", s, 1, id);
    add_alert(f, "s3", s, 1, id);
    outbox_kick(f->ob);
    assert_true(run_until(f, three_sent, RUN_LIMIT_MS));
    assert_int_equal(f->nreq, 3);
    for (i = 0; i < 3; i++) {
        m = json_loads(f->reqs[i].body, 0, NULL);
        assert_non_null(m);
        assert_true(json_is_array(json_object_get(m, "blocks")));
        assert_true(json_is_string(json_object_get(m, "text")));
        json_decref(m);
    }
    assert_true(f->reqs[1].at - f->reqs[0].at >= 290);
    assert_true(f->reqs[2].at - f->reqs[1].at >= 290);
}

/* Rows left pending by a stopped worker go out from a new one. */
static void
test_resume_after_stop(void **state)
{
    struct fx *f = *state;
    static const char *const s[] = {"hook"};
    char yaml[256], id[65];
    struct config_errors *errs = NULL;
    char buf[512];
    int n;

    snprintf(yaml, sizeof(yaml),
             "  - {name: hook, type: webhook, url: "
             "\"http://127.0.0.1:%d/stall\"}\n",
             f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "x1", s, 1, id);
    outbox_kick(f->ob);
    assert_true(run_until(f, one_req, RUN_LIMIT_MS));
    outbox_free(f->ob); /* stop mid-delivery */
    f->ob = NULL;
    assert_true(pending(f, id, "hook", NULL));
    /* Restart with the receiver answering. */
    config_free(f->cfg);
    n = snprintf(
        buf, sizeof(buf),
        "state: %s\nlogs:\n  - {name: l, url: \"http://127.0.0.1:1\"}\n"
        "notify:\n  - {name: hook, type: webhook, url: "
        "\"http://127.0.0.1:%d/ok\"}\n",
        f->db, f->port);
    f->cfg = config_load_mem(buf, (size_t)n, "t.yaml", &errs);
    assert_non_null(f->cfg);
    start_outbox(f, 0);
    outbox_kick(f->ob);
    assert_true(run_until(f, one_sent, RUN_LIMIT_MS));
    assert_false(pending(f, id, "hook", NULL));
    assert_string_equal(f->reqs[f->nreq - 1].id, id);
}

/* ---- exec ---- */

static void
write_hook(struct fx *f, const char *name, const char *script)
{
    char path[160];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\n%s\n", script);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_size > 0;
}

static void
test_exec(void **state)
{
    struct fx *f = *state;
    static const char *const s[] = {"ok", "fail", "hang"};
    char yaml[1024], id[65], script[512], envfile[160], line[512];
    struct row r;
    FILE *fp;
    int saw_event = 0, saw_file = 0, saw_secret = 0;

    snprintf(script, sizeof(script),
             "env > %s/env.out; cp \"$ALERT_JSON_FILE\" %s/alert.out", f->dir,
             f->dir);
    write_hook(f, "ok.sh", script);
    write_hook(f, "fail.sh", "exit 7");
    write_hook(f, "hang.sh", "sleep 600"); /* far past RUN_LIMIT_MS */
    setenv("TLW_TEST_SECRET", "do-not-pass", 1);
    snprintf(yaml, sizeof(yaml),
             "  - {name: ok, type: exec, command: %s/ok.sh}\n"
             "  - {name: fail, type: exec, command: %s/fail.sh}\n"
             "  - {name: hang, type: exec, command: %s/hang.sh, timeout: "
             "300ms}\n",
             f->dir, f->dir, f->dir);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "e1", s, 3, id);
    outbox_kick(f->ob);
    assert_true(run_until(f, one_sent, RUN_LIMIT_MS));
    snprintf(envfile, sizeof(envfile), "%s/env.out", f->dir);
    assert_true(file_exists(envfile));
    fp = fopen(envfile, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char want[128];
        snprintf(want, sizeof(want), "ALERT_ID=%s\n", id);
        saw_event |= strcmp(line, "EVENT=log.stale\n") == 0;
        saw_file |= strcmp(line, want) == 0;
        saw_secret |= strstr(line, "do-not-pass") != NULL;
    }
    fclose(fp);
    assert_true(saw_event);
    assert_true(saw_file);
    assert_false(saw_secret); /* tlogwatch's environment is not passed */
    snprintf(envfile, sizeof(envfile), "%s/alert.out", f->dir);
    assert_true(file_exists(envfile));
    /* Non-zero exit and a hang: pending, attempts counted; the hang was
     * cut at its limit (else it would be in flight for 600 s, with no
     * attempt counted). */
    watch_rows(f, id, "fail", "hang", 1);
    assert_true(run_until(f, rows_attempted, RUN_LIMIT_MS));
    assert_true(pending(f, id, "fail", &r));
    assert_true(r.attempts >= 1);
    assert_true(pending(f, id, "hang", &r));
    assert_true(r.attempts >= 1);
    assert_false(pending(f, id, "ok", NULL));
    unsetenv("TLW_TEST_SECRET");
}

/* ---- drain and direct sends ---- */

static int drained_flag;

static void
on_drained(void *arg)
{
    (void)arg;
    drained_flag = 1;
}

static int
is_drained(struct fx *f)
{
    (void)f;
    return drained_flag;
}

static void
test_drain(void **state)
{
    struct fx *f = *state;
    static const char *const s[] = {"good", "bad"};
    char yaml[512], id[65];
    uint64_t t0;

    snprintf(yaml, sizeof(yaml),
             "  - {name: good, type: webhook, url: "
             "\"http://127.0.0.1:%d/ok\"}\n"
             "  - {name: bad, type: webhook, url: "
             "\"http://127.0.0.1:%d/status/500\"}\n",
             f->port, f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    add_alert(f, "d1", s, 2, id);
    add_alert(f, "d2", s, 2, id);
    drained_flag = 0;
    t0 = now_ms();
    outbox_drain(f->ob, DRAIN_LIMIT_MS, on_drained, NULL);
    assert_true(run_until(f, is_drained, RUN_LIMIT_MS));
    /* Well before the deadline: the failing sink had its one attempt. */
    assert_true(now_ms() - t0 < DRAIN_LIMIT_MS / 2);
    assert_int_equal(deliveries(f, STORE_DELIVERY_SENT), 2);
    assert_int_equal(deliveries(f, STORE_DELIVERY_PENDING), 2);
    assert_true(idle(f));
}

struct direct_res {
    int n;
    enum outbox_verdict v[4];
    char err[4][OUTBOX_ERROR_MAX];
};

static void
on_direct(void *arg, const struct outbox_result *r)
{
    struct direct_res *d = arg;

    d->v[d->n] = r->verdict;
    snprintf(d->err[d->n], sizeof(d->err[0]), "%s %s", r->where, r->error);
    d->n++;
}

static struct direct_res *direct_res;

static int
two_direct(struct fx *f)
{
    (void)f;
    return direct_res->n >= 2;
}

static void
test_direct(void **state)
{
    struct fx *f = *state;
    char yaml[512];
    struct direct_res d;
    json_t *a = notify_alert_new("monitor.test", "direct", "test", 1);
    char *body = notify_alert_render(a);

    memset(&d, 0, sizeof(d));
    direct_res = &d;
    snprintf(yaml, sizeof(yaml),
             "  - {name: up, type: webhook, url: "
             "\"http://127.0.0.1:%d/ok?token=SECRET1\"}\n"
             "  - {name: refused, type: slack, url: "
             "\"http://127.0.0.1:%d/status/404/services/SECRET2\"}\n",
             f->port, f->port);
    load_config(f, yaml, NULL);
    start_outbox(f, 0);
    assert_int_equal(outbox_send_direct(f->ob, "up", body, on_direct, &d), 0);
    assert_int_equal(outbox_send_direct(f->ob, "refused", body, on_direct, &d),
                     0);
    assert_int_equal(outbox_send_direct(f->ob, "nope", body, on_direct, &d),
                     -1);
    assert_true(run_until(f, two_direct, RUN_LIMIT_MS));
    assert_int_equal(d.v[0] == OUTBOX_SENT ? d.v[1] : d.v[0], OUTBOX_PERMANENT);
    assert_true(d.v[0] == OUTBOX_SENT || d.v[1] == OUTBOX_SENT);
    /* Nothing went to the store; no secret in what is reported. */
    assert_int_equal(deliveries(f, STORE_DELIVERY_SENT), 0);
    assert_null(strstr(d.err[0], "SECRET"));
    assert_null(strstr(d.err[1], "SECRET"));
    free(body);
    json_decref(a);
}

/* ---- heartbeat ---- */

static int
two_beats(struct fx *f)
{
    struct store_counts c;

    assert_int_equal(store_counts(f->store, 0, INT64_MAX, &c), 0);
    return c.alerts[NOTIFY_INFO] >= 2 &&
           deliveries(f, STORE_DELIVERY_SENT) >= 2;
}

static void
test_heartbeat(void **state)
{
    struct fx *f = *state;
    char yaml[512];
    int64_t log_id;
    int i, beats = 0;

    snprintf(yaml, sizeof(yaml),
             "  - {name: hb, type: webhook, url: \"http://127.0.0.1:%d/ok\"}\n"
             "  - {name: other, type: webhook, url: "
             "\"http://127.0.0.1:%d/status/500\"}\n",
             f->port, f->port);
    load_config(f, yaml, "heartbeat: {every: 500ms, notify: [hb]}\n");
    assert_int_equal(store_log_open(f->store, "l", "origin", 1, &log_id), 0);
    start_outbox(f, 1);
    outbox_kick(f->ob);
    assert_true(run_until(f, two_beats, RUN_LIMIT_MS));
    for (i = 0; i < f->nreq; i++) {
        json_t *a = json_loads(f->reqs[i].body, 0, NULL);
        const json_t *logs;
        assert_non_null(a);
        /* Only to its sinks: never to "other". */
        assert_int_equal(strncmp(f->reqs[i].path, "/ok", 3), 0);
        assert_string_equal(notify_alert_get_type(a), "monitor.heartbeat");
        logs = json_object_get(json_object_get(a, "heartbeat"), "logs");
        assert_int_equal(json_array_size(logs), 1);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(logs, 0), "name")),
            "l");
        assert_true(
            json_is_integer(json_object_get(json_array_get(logs, 0), "lag")));
        beats++;
        json_decref(a);
    }
    assert_true(beats >= 2);
    /* Each beat has its own id. */
    assert_string_not_equal(f->reqs[0].id, f->reqs[1].id);
}

/* Negative twin: without heartbeat (once mode) nothing beats. */
static void
test_no_heartbeat(void **state)
{
    struct fx *f = *state;
    char yaml[256];

    snprintf(yaml, sizeof(yaml),
             "  - {name: hb, type: webhook, url: \"http://127.0.0.1:%d/ok\"}\n",
             f->port);
    load_config(f, yaml, "heartbeat: {every: 200ms, notify: [hb]}\n");
    start_outbox(f, 0);
    outbox_kick(f->ob);
    run_for(f, 700);
    assert_int_equal(f->nreq, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_github_verdicts),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test_setup_teardown(test_webhook_delivered_and_signed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_permanent_and_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sinks_independent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slack_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_stop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_heartbeat, setup, teardown),
    };
    int rc;

    log_init(0);
    if (http_global_init() != 0) {
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_global_cleanup();
    return rc;
}
