/*
 * server.c: the status server (server.h) on libevent's evhttp: the
 * socket, the routes, the bearer token, and the glue between the daemon
 * context (the store, the config, the followers) and the pure renderers
 * (view.h, metrics.h, view/dashboard.h).
 *
 * Invariants: every answer is produced synchronously in the request
 * callback (no request outlives its callback), so freeing the server
 * never leaves a callback pointing at freed memory; the token lives only
 * in the server (a copy, wiped at free) and in the config, and is
 * compared as SHA-256 digests with CRYPTO_memcmp, so neither its bytes
 * nor its length leak through timing.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config/config.h"
#include "monitor/follow/follow.h"
#include "monitor/log.h"
#include "monitor/server/metrics.h"
#include "monitor/server/server.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "monitor/view/attestation.h"
#include "monitor/view/dashboard.h"
#include "monitor/view/view.h"
#include "notify/alert.h"

#define SERVER_PROBE_KEY "server.readyz_probe"

struct server {
    struct tlw *t; /* borrowed */
    struct evhttp *http;
    char listen[CONFIG_MAX_STRING]; /* as bound */
    int has_token;
    unsigned char token_sha[SHA256_DIGEST_LENGTH];
    /* /readyz's store probe: the last one and its outcome. */
    uint64_t probe_ms; /* monotonic; 0: never */
    int probe_ok;
    char probe_err[256];
    /* POST /api/v1/attestation answers since start, by verdict
     * (enum attestation_verdict), and documents refused as input errors. */
    uint64_t att_answers[ATTESTATION_INVALID + 1];
    uint64_t att_refused;
};

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- answers ------------------------------------------------------------ */

static void
reply(struct evhttp_request *req, int code, const char *reason,
      const char *type, const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (b == NULL || evbuffer_add(b, body, len) != 0) {
        if (b != NULL) {
            evbuffer_free(b);
        }
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
           const char *text)
{
    reply(req, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

/* A JSON document (stolen), indented as `tlogwatch status --format json`
 * prints it. */
static void
reply_json(struct evhttp_request *req, int code, const char *reason,
           json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    size_t n;

    json_decref(doc);
    if (s == NULL) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    n = strlen(s);
    /* json_dumps leaves room for nothing: add the newline status prints. */
    {
        char *t = realloc(s, n + 2);
        if (t == NULL) {
            free(s);
            reply_text(req, 500, "Internal Server Error", "out of memory\n");
            return;
        }
        s = t;
        s[n++] = '\n';
        s[n] = '\0';
    }
    reply(req, code, reason, "application/json", s, n);
    free(s);
}

/* The status document now, or NULL with why in err. */
static json_t *
status_doc(struct server *sv, char *err, size_t errlen)
{
    struct tlw *t = sv->t;

    return view_status_json(t->store, t->cfg, (int64_t)time(NULL), err, errlen);
}

static void
serve_livez(struct server *sv, struct evhttp_request *req)
{
    (void)sv;
    reply_text(req, 200, "OK", "ok\n");
}

/* Prove the store writable: a meta row, at most once per
 * SERVER_PROBE_EVERY_MS.  NULL when it is, else why not. */
static const char *
store_probe(struct server *sv)
{
    uint64_t now = mono_ms();

    if (sv->t->fatal) {
        return "a store write failed; the daemon is stopping";
    }
    if (sv->probe_ms == 0 || now - sv->probe_ms >= SERVER_PROBE_EVERY_MS) {
        sv->probe_ms = now;
        sv->probe_ok = store_meta_set_int(sv->t->store, SERVER_PROBE_KEY,
                                          (int64_t)time(NULL)) == 0;
        if (!sv->probe_ok) {
            snprintf(sv->probe_err, sizeof(sv->probe_err), "%s",
                     store_errmsg(sv->t->store));
        }
    }
    return sv->probe_ok ? NULL : sv->probe_err;
}

static void
serve_readyz(struct server *sv, struct evhttp_request *req)
{
    char err[STORE_ERRMSG_MAX];
    const char *serr = store_probe(sv);
    json_t *doc = status_doc(sv, err, sizeof(err));
    json_t *reasons = json_array(), *out;
    int ready;

    if (reasons == NULL) {
        json_decref(doc);
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    if (doc == NULL) {
        log_warnx("status server: %s", err);
    }
    ready = server_readiness(doc, sv->t->cfg, serr, reasons);
    json_decref(doc);
    out = json_pack("{s:b, s:o}", "ready", ready == 1, "reasons", reasons);
    if (ready == 1) {
        reply_json(req, 200, "OK", out);
    } else {
        reply_json(req, 503, "Service Unavailable", out);
    }
}

/* text (len bytes) followed by the attestation counters; new (free()),
 * its length in *len. */
static char *
att_metrics(const struct server *sv, const char *text, size_t *len)
{
    size_t cap = *len + 1024, n;
    char *out = malloc(cap);
    int v, w;

    if (out == NULL) {
        return NULL;
    }
    memcpy(out, text, *len);
    n = *len;
    w = snprintf(out + n, cap - n,
                 "# HELP tlogwatch_attestation_documents_total Attestation "
                 "documents checked through POST /api/v1/attestation since "
                 "start, by verdict (refused: not a well-formed document).\n"
                 "# TYPE tlogwatch_attestation_documents_total counter\n");
    n += (size_t)w;
    for (v = 0; v <= ATTESTATION_INVALID; v++) {
        w = snprintf(out + n, cap - n,
                     "tlogwatch_attestation_documents_total{verdict=\"%s\"} "
                     "%" PRIu64 "\n",
                     attestation_verdict_str((enum attestation_verdict)v),
                     sv->att_answers[v]);
        n += (size_t)w;
    }
    w = snprintf(out + n, cap - n,
                 "tlogwatch_attestation_documents_total{verdict=\"refused\"} "
                 "%" PRIu64 "\n",
                 sv->att_refused);
    n += (size_t)w;
    *len = n;
    return out;
}

static void
serve_metrics(struct server *sv, struct evhttp_request *req)
{
    struct tlw *t = sv->t;
    char err[STORE_ERRMSG_MAX];
    struct server_log_stats *ls;
    json_t *doc;
    char *text = NULL;
    size_t i, len = 0;

    doc = status_doc(sv, err, sizeof(err));
    ls = calloc(t->n_followers + 1, sizeof(*ls));
    if (doc == NULL) {
        log_warnx("status server: /metrics: %s", err);
        reply_text(req, 500, "Internal Server Error",
                   "the store could not be read\n");
        goto done;
    }
    if (ls == NULL) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        goto done;
    }
    for (i = 0; i < t->n_followers; i++) {
        ls[i].name = follower_name(t->followers[i]);
        follower_stats(t->followers[i], &ls[i].stats);
    }
    text =
        server_metrics_text(doc, ls, t->n_followers, TLOGWATCH_VERSION, &len);
    if (text == NULL) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        goto done;
    }
    {
        char *all = att_metrics(sv, text, &len);

        if (all == NULL) {
            reply_text(req, 500, "Internal Server Error", "out of memory\n");
            goto done;
        }
        reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", all,
              len);
        free(all);
    }
done:
    free(text);
    free(ls);
    json_decref(doc);
}

static void
serve_status(struct server *sv, struct evhttp_request *req)
{
    char err[STORE_ERRMSG_MAX];
    json_t *doc = status_doc(sv, err, sizeof(err));

    if (doc == NULL) {
        log_warnx("status server: %s", err);
        reply_text(req, 500, "Internal Server Error",
                   "the store could not be read\n");
        return;
    }
    reply_json(req, 200, "OK", doc);
}

static void
serve_dashboard(struct server *sv, struct evhttp_request *req)
{
    char err[STORE_ERRMSG_MAX];
    json_t *doc = status_doc(sv, err, sizeof(err));
    struct dashboard_opts o;
    char *html;
    size_t len = 0;

    if (doc == NULL) {
        log_warnx("status server: %s", err);
        reply_text(req, 500, "Internal Server Error",
                   "the store could not be read\n");
        return;
    }
    dashboard_opts_init(&o);
    html = dashboard_html(doc, &o, &len, err, sizeof(err));
    json_decref(doc);
    if (html == NULL) {
        log_warnx("status server: dashboard: %s", err);
        reply_text(req, 500, "Internal Server Error",
                   "the dashboard could not be rendered\n");
        return;
    }
    /* The page's own policy, as a header too (the stronger form). */
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; "
                      "img-src data:; form-action 'none'; base-uri 'none'; "
                      "frame-ancestors 'none'");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Referrer-Policy",
                      "no-referrer");
    reply(req, 200, "OK", "text/html; charset=utf-8", html, len);
    free(html);
}

/* The trust anchor: attestation.root (read at each request, so a new
 * file needs no restart) or the AWS root compiled in.  NULL after
 * logging why. */
static X509 *
att_root(const struct tlw *t)
{
    char why[NITRO_WHY_MAX];
    FILE *f;
    char buf[64 * 1024];
    size_t n;
    X509 *x;

    if (t->cfg->attestation_root == NULL) {
        return nitro_root_default();
    }
    f = fopen(t->cfg->attestation_root, "r");
    if (f == NULL) {
        log_warn("status server: attestation.root %s",
                 t->cfg->attestation_root);
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    x = nitro_root_from_pem(buf, n, why);
    if (x == NULL) {
        log_warnx("status server: attestation.root %s: %s",
                  t->cfg->attestation_root, why);
    }
    return x;
}

/*
 * An unknown_build or debug_mode answer raises attestation.unknown_build
 * (critical), once per distinct PCR set (the id's key is the document's
 * PCR0, PCR1, PCR2 and PCR8), with the PCRs and the module id.
 */
static void
att_alert(struct server *sv, const json_t *answer,
          enum attestation_verdict verdict)
{
    static const char *const keep[] = {"PCR0", "PCR1", "PCR2", "PCR8"};
    const json_t *doc = json_object_get(answer, "document");
    const json_t *dp = json_object_get(doc, "pcrs");
    const char *module = json_string_value(json_object_get(doc, "module_id"));
    json_t *alert, *pcrs = json_object(), *reasons = json_array();
    char key[4 * (NITRO_PCR_HEX + 1) + 16], summary[512], line[320];
    size_t i, n = 0;

    key[0] = '\0';
    for (i = 0; i < 4; i++) {
        const char *h = json_string_value(json_object_get(dp, keep[i]));

        n += (size_t)snprintf(key + n, sizeof(key) - n, "%s%s", i ? "/" : "",
                              h != NULL ? h : "-");
        if (h != NULL && pcrs != NULL) {
            json_object_set_new(pcrs, keep[i], json_string(h));
        }
    }
    snprintf(summary, sizeof(summary),
             verdict == ATTESTATION_DEBUG_MODE
                 ? "An enclave (%s) attested from debug mode: PCR0-2 are "
                   "zero, its measurements prove nothing"
                 : "An enclave (%s) runs measurements that no recorded "
                   "signing explains",
             module != NULL ? module : "?");
    alert =
        notify_alert_new("attestation.unknown_build", key, summary, time(NULL));
    snprintf(line, sizeof(line), "verdict %s",
             attestation_verdict_str(verdict));
    json_array_append_new(reasons, json_string(line));
    snprintf(line, sizeof(line), "module_id %s", module != NULL ? module : "?");
    json_array_append_new(reasons, json_string(line));
    if (alert == NULL || pcrs == NULL || reasons == NULL ||
        notify_alert_set(alert, "pcrs", pcrs) != 0 ||
        notify_alert_set(alert, "reasons", reasons) != 0) {
        log_warnx("status server: attestation.unknown_build: out of memory");
        json_decref(alert);
        return;
    }
    if (tlw_alert_record(sv->t, 0, alert) != 0) {
        log_warnx("status server: attestation.unknown_build: cannot record "
                  "it: %s",
                  store_errmsg(sv->t->store));
    }
    json_decref(alert);
}

/*
 * POST /api/v1/attestation: the body is an attestation document, raw or
 * base64; the answer is `tlogwatch attestation verify`'s (200), or 400
 * {"error"} for a body that is not a well-formed document.
 */
static void
serve_attestation(struct server *sv, struct evhttp_request *req)
{
    struct tlw *t = sv->t;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t blen = evbuffer_get_length(in);
    struct attestation_opts o;
    struct attestation a;
    enum attestation_verdict verdict;
    char why[NITRO_WHY_MAX], err[STORE_ERRMSG_MAX];
    const uint8_t *body;
    uint8_t *doc = NULL;
    json_t *answer = NULL;
    long n;
    int clean;

    memset(&o, 0, sizeof(o));
    memset(&a, 0, sizeof(a));
    body = blen > 0 ? evbuffer_pullup(in, -1) : NULL;
    doc = malloc(NITRO_MAX_BYTES);
    if (doc == NULL) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    n = nitro_decode_input(body, blen, doc, NITRO_MAX_BYTES, why);
    o.root = n >= 0 ? att_root(t) : NULL;
    if (n >= 0 && o.root == NULL) {
        reply_text(req, 500, "Internal Server Error",
                   "the trust anchor could not be read\n");
        goto out;
    }
    o.now = (int64_t)time(NULL);
    if (n < 0 || attestation_check(doc, (size_t)n, &o, &a, why) != 0) {
        json_t *e = json_object();

        sv->att_refused++;
        json_object_set_new(e, "error", json_string(why));
        reply_json(req, 400, "Bad Request", e);
        goto out;
    }
    answer =
        attestation_answer(&a, t->store, &verdict, &clean, err, sizeof(err));
    if (answer == NULL) {
        log_warnx("status server: attestation: %s", err);
        reply_text(req, 500, "Internal Server Error",
                   "the store could not be read\n");
        goto out;
    }
    sv->att_answers[verdict]++;
    if (verdict == ATTESTATION_UNKNOWN_BUILD ||
        verdict == ATTESTATION_DEBUG_MODE) {
        att_alert(sv, answer, verdict);
    }
    reply_json(req, 200, "OK", answer);
out:
    attestation_release(&a);
    X509_free(o.root);
    free(doc);
}

/* ---- routing ------------------------------------------------------------ */

struct route {
    const char *path;
    int public; /* no token needed */
    void (*serve)(struct server *sv, struct evhttp_request *req);
    int post; /* POST only (else GET and HEAD) */
};

static const struct route routes[] = {
    {"/livez", 1, serve_livez, 0},
    {"/readyz", 1, serve_readyz, 0},
    {"/metrics", 0, serve_metrics, 0},
    {"/api/v1/status", 0, serve_status, 0},
    {"/api/v1/attestation", 0, serve_attestation, 1},
    {"/", 0, serve_dashboard, 0},
};

/* Does the request carry the token?  Compared as digests in constant
 * time. */
static int
authorized(const struct server *sv, struct evhttp_request *req)
{
    static const char prefix[] = "Bearer ";
    const char *a;
    unsigned char got[SHA256_DIGEST_LENGTH];
    int ok;

    if (!sv->has_token) {
        return 1;
    }
    a = evhttp_find_header(evhttp_request_get_input_headers(req),
                           "Authorization");
    if (a == NULL || strncasecmp(a, prefix, sizeof(prefix) - 1) != 0) {
        return 0;
    }
    a += sizeof(prefix) - 1;
    SHA256((const unsigned char *)a, strlen(a), got);
    ok = CRYPTO_memcmp(got, sv->token_sha, sizeof(got)) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
    struct server *sv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const struct route *r = NULL;
    size_t i;

    if (path == NULL || path[0] == '\0') {
        path = "/";
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(path, routes[i].path) == 0) {
            r = &routes[i];
        }
    }
    if (r == NULL) {
        reply_text(req, 404, "Not Found", "not found\n");
        return;
    }
    if (r->post ? m != EVHTTP_REQ_POST
                : m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          r->post ? "POST" : "GET, HEAD");
        reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
        return;
    }
    if (!r->public && !authorized(sv, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "WWW-Authenticate", "Bearer realm=\"tlogwatch\"");
        reply_text(req, 401, "Unauthorized", "unauthorized\n");
        return;
    }
    r->serve(sv, req);
}

/* ---- the socket --------------------------------------------------------- */

/* A listening socket for host:port, or -1 with why in err. */
static evutil_socket_t
listen_on(const char *host, unsigned port, const char *shown, char *err,
          size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char ps[16];
    evutil_socket_t fd = -1;
    int e = 0, one = 1;
    const char *what = "cannot bind";

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(ps, sizeof(ps), "%u", port);
    if ((e = getaddrinfo(host, ps, &hints, &res)) != 0) {
        snprintf(err, errlen, "http.listen %s: %s", shown, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            what = "cannot create a socket";
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0 &&
            evutil_make_socket_nonblocking(fd) == 0) {
            break;
        }
        e = errno;
        what = "cannot bind";
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "http.listen %s: %s: %s", shown, what,
                 strerror(e));
    }
    return fd;
}

struct server *
server_start(struct tlw *t, char *err, size_t errlen)
{
    const struct config_http *hc = &t->cfg->http;
    struct server *sv;
    evutil_socket_t fd;

    sv = calloc(1, sizeof(*sv));
    if (sv == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sv->t = t;
    snprintf(sv->listen, sizeof(sv->listen), "%s", hc->listen);
    if (hc->token != NULL) {
        sv->has_token = 1;
        SHA256((const unsigned char *)hc->token, strlen(hc->token),
               sv->token_sha);
    }
    sv->http = evhttp_new(t->base);
    if (sv->http == NULL) {
        snprintf(err, errlen, "cannot create the status server");
        server_free(sv);
        return NULL;
    }
    evhttp_set_max_headers_size(sv->http, SERVER_MAX_HEADERS);
    evhttp_set_max_body_size(sv->http, SERVER_MAX_BODY);
    evhttp_set_timeout(sv->http, SERVER_TIMEOUT_S);
    /* Every method reaches server_cb, which answers 405 itself (evhttp
     * would say 501 for a method it was not told about). */
    evhttp_set_allowed_methods(
        sv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                      EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(sv->http, server_cb, sv);
    fd = listen_on(hc->host, hc->port, hc->listen, err, errlen);
    if (fd < 0) {
        server_free(sv);
        return NULL;
    }
    if (evhttp_accept_socket_with_handle(sv->http, fd) == NULL) {
        evutil_closesocket(fd);
        snprintf(err, errlen, "http.listen %s: cannot accept", hc->listen);
        server_free(sv);
        return NULL;
    }
    log_info("status server listening on %s%s", hc->listen,
             sv->has_token ? " (bearer token required)" : "");
    return sv;
}

void
server_reloaded(struct server *s)
{
    const struct config_http *hc;
    unsigned char sha[SHA256_DIGEST_LENGTH];
    int same_token;

    if (s == NULL) {
        return;
    }
    hc = &s->t->cfg->http;
    if (hc->token != NULL) {
        SHA256((const unsigned char *)hc->token, strlen(hc->token), sha);
        same_token =
            s->has_token && CRYPTO_memcmp(sha, s->token_sha, sizeof(sha)) == 0;
        OPENSSL_cleanse(sha, sizeof(sha));
    } else {
        same_token = !s->has_token;
    }
    if (hc->listen == NULL || strcmp(hc->listen, s->listen) != 0 ||
        !same_token) {
        log_warnx("reload: the http: section changed; the status server "
                  "keeps %s and its token until a restart",
                  s->listen);
    }
}

void
server_free(struct server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->http != NULL) {
        evhttp_free(s->http);
    }
    OPENSSL_cleanse(s->token_sha, sizeof(s->token_sha));
    free(s);
}
