/*
 * http.c: the HTTP side of tlogwatch-testlog: the Rekor v1 read API on
 * libevent's evhttp (one thread), the throttling it can be told to apply,
 * and request statistics.
 *
 * Endpoints and their production shapes (sigstore/rekor openapi.yaml,
 * pkg/api/{tlog,entries}.go):
 *   GET  /api/v1/log             {"inactiveShards":[{"rootHash",
 *                                "signedTreeHead","treeID","treeSize"}],
 *                                "rootHash","signedTreeHead","treeID",
 *                                "treeSize"}; inactiveShards omitted
 *                                while there is a single shard
 *   GET  /api/v1/log/proof?firstSize=&lastSize=&treeID=
 *                                {"hashes":[hex],"rootHash":hex}; the
 *                                root is the shard's CURRENT root, as
 *                                production returns it
 *   GET  /api/v1/log/entries?logIndex=N   {uuid: entry}; 404 no body;
 *                                an entry is {"attestation":{"data":b64}
 *                                (intoto/dsse that stored one), "body",
 *                                "integratedTime","logID","logIndex",
 *                                "verification"} on all three endpoints
 *   GET  /api/v1/log/entries/{uuid}       the same, by 64/80-hex id
 *                                (a linear scan of the leaves: for tests)
 *   POST /api/v1/log/entries/retrieve     {"entryUUIDs":[..],
 *                                "logIndexes":[..]} -> [{uuid: entry}],
 *                                at most 10 items (422 above), missing
 *                                ones silently dropped, uuids first
 *   GET  /api/v1/log/publicKey   the log key, PEM
 * Errors are Rekor's {"code":N,"message":"..."}.
 *
 * Throttling applies to API requests only (never /admin/), in this order:
 * the token bucket (/admin/rate: 429 + Retry-After when empty), then the
 * injected failures (/admin/fail), then the delay (/admin/delay, an event
 * timer; the loop never sleeps).
 *
 * Hostile reads (admin.c has the shapes): /admin/drop withholds an index
 * from every entry endpoint, /admin/misdirect answers it with another
 * index's entry, /admin/impossible replaces the active head of
 * GET /api/v1/log (and --tiles /checkpoint); /admin/pad grows and
 * /admin/trickle slows the 200 answers of the entry endpoints (v1
 * retrieve, logIndex=, entries/{uuid}; --tiles entry bundles).  A
 * trickled answer is an evhttp reply started with its Content-Length and
 * fed by a timer per response (struct tl_trickle), so one slow body
 * never blocks the loop; padding is added by reference to one block.
 *
 * --tiles --prefix P serves the tlog-tiles API under P only (the bare
 * paths are 404); /admin/ stays at the root.  --ct serves the RFC 6962
 * read API /ct/v1/... only (ct.c has its shapes), under --prefix too.
 *
 * Invariants: every request gets exactly one reply; a delayed request is
 * on srv->pending until its timer fires or the server stops; a trickled
 * one is on srv->trickles until its body is sent, its client left, or
 * trickling ends (then the rest goes at once).
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "merkle/merkle.h"
#include "testlog.h"

#define TL_MAX_REQUEST_BODY (4 * 1024 * 1024) /* admin payloads included */

struct tl_pending {
    struct tl_server *srv;
    struct evhttp_request *req;
    struct event *ev;
    struct tl_pending *next;
    struct tl_pending *prev;
};

static const char *
reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return code >= 500 ? "Server Error" : "Error";
    }
}

/* Count a reply to req in the statistics (API requests only). */
static void
count_reply(struct tl_server *srv, struct evhttp_request *req, int code)
{
    const char *uri = evhttp_request_get_uri(req);

    if (uri != NULL && strncmp(uri, "/admin/", 7) == 0) {
        /* admin replies are not counted in the API statistics */
    } else if (code >= 200 && code < 300) {
        srv->responses_2xx++;
    } else if (code == 429) {
        srv->responses_429++;
    } else if (code >= 500) {
        srv->responses_5xx++;
    } else {
        srv->responses_4xx++;
    }
}

void
tl_reply(struct tl_server *srv, struct evhttp_request *req, int code,
         const char *ctype, const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (ctype != NULL) {
        evhttp_add_header(h, "Content-Type", ctype);
    }
    if (b != NULL && len > 0 && evbuffer_add(b, body, len) != 0) {
        evbuffer_free(b);
        b = NULL;
        code = 500;
    }
    count_reply(srv, req, code);
    evhttp_send_reply(req, code, reason(code), b);
    if (b != NULL) {
        evbuffer_free(b);
    }
}

void
tl_reply_error(struct tl_server *srv, struct evhttp_request *req, int code,
               long api_code, const char *msg)
{
    struct tl_buf b = {0};

    if (tl_buf_printf(&b, "{\"code\":%ld,\"message\":", api_code) == 0 &&
        tl_buf_add_json_str(&b, msg, strlen(msg)) == 0 &&
        tl_buf_adds(&b, "}\n") == 0) {
        tl_reply(srv, req, code, "application/json", b.p, b.len);
    } else {
        tl_reply(srv, req, 500, NULL, NULL, 0);
    }
    tl_buf_free(&b);
}

int
tl_request_body(struct evhttp_request *req, struct tl_buf *out)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);

    tl_buf_reset(out);
    if (tl_buf_reserve(out, len) != 0) {
        return -1;
    }
    if (len > 0 && evbuffer_copyout(in, out->p, len) != (ev_ssize_t)len) {
        return -1;
    }
    out->len = len;
    out->p[len] = '\0';
    return 0;
}

/* Parse a decimal uint64 that is the whole of s.  0 / -1. */
static int
parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* -------------------------------------------- big and slow bodies */

struct tl_trickle {
    struct tl_server *srv;
    struct evhttp_request *req; /* ours until evhttp_send_reply_end */
    struct evbuffer *rest;      /* the body not sent yet */
    struct event *ev;
    double last;   /* tl_mono() of the previous tick */
    double credit; /* bytes due and not sent yet */
    struct tl_trickle *next;
    struct tl_trickle *prev;
};

static void
trickle_unlink(struct tl_server *srv, struct tl_trickle *t)
{
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        srv->trickles = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    }
    srv->ntrickles--;
}

/* Send what is left of t's body now (unless the client left), finish
 * the reply and free t. */
static void
trickle_finish(struct tl_trickle *t, int flush)
{
    if (flush && evhttp_request_get_connection(t->req) != NULL &&
        evbuffer_get_length(t->rest) > 0) {
        evhttp_send_reply_chunk(t->req, t->rest);
    }
    /* frees the request when the connection is gone (libevent 2.1) */
    evhttp_send_reply_end(t->req);
    trickle_unlink(t->srv, t);
    event_free(t->ev);
    evbuffer_free(t->rest);
    free(t);
}

void
tl_trickle_flush_all(struct tl_server *srv)
{
    while (srv->trickles != NULL) {
        trickle_finish(srv->trickles, 1);
    }
}

/*
 * A tick of a trickled response: the credit grows by trickle_bps per
 * second; what is due goes out, but never more than TL_TRICKLE_QUEUE
 * bytes waiting in the connection's output (a client that stops reading
 * costs nothing, and evhttp's write timeout ends it).  While bytes
 * flow, a reply may take longer than evhttp's 120 s timeout (checked:
 * 140,000 bytes at 1,000 B/s arrive whole).
 */
#define TL_TRICKLE_TICK_US 50000
#define TL_TRICKLE_QUEUE (1024 * 1024)

static void
on_trickle(evutil_socket_t fd, short what, void *arg)
{
    struct tl_trickle *t = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(t->req);
    struct bufferevent *bev =
        evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    const struct timeval tick = {0, TL_TRICKLE_TICK_US};
    double now = tl_mono(), bps = t->srv->trickle_bps;
    size_t queued, left, n;

    (void)fd;
    (void)what;
    if (bev == NULL || bps <= 0) {
        trickle_finish(t, 1); /* the client left, or trickling is off */
        return;
    }
    queued = evbuffer_get_length(bufferevent_get_output(bev));
    left = evbuffer_get_length(t->rest);
    t->credit += (now - t->last) * bps;
    t->last = now;
    if (queued >= TL_TRICKLE_QUEUE) {
        /* the client is not reading: no credit piles up meanwhile */
        if (t->credit > bps * TL_TRICKLE_TICK_US / 1e6 + 1) {
            t->credit = bps * TL_TRICKLE_TICK_US / 1e6 + 1;
        }
    } else if (t->credit >= 1) {
        struct evbuffer *chunk = evbuffer_new();

        n = t->credit < (double)left ? (size_t)t->credit : left;
        if (n > TL_TRICKLE_QUEUE - queued) {
            n = TL_TRICKLE_QUEUE - queued;
        }
        if (chunk == NULL ||
            evbuffer_remove_buffer(t->rest, chunk, n) != (int)n) {
            if (chunk != NULL) {
                evbuffer_free(chunk);
            }
            trickle_finish(t, 0); /* out of memory: a short body */
            return;
        }
        evhttp_send_reply_chunk(t->req, chunk);
        evbuffer_free(chunk);
        t->credit -= (double)n;
        left -= n;
    }
    if (left == 0) {
        trickle_finish(t, 0);
        return;
    }
    evtimer_add(t->ev, &tick);
}

/* Start sending body (200, its Content-Length given up front, as for
 * any other reply) at trickle_bps.  0 (takes body) / -1 (body kept). */
static int
trickle_start(struct tl_server *srv, struct evhttp_request *req,
              struct evbuffer *body)
{
    struct tl_trickle *t = calloc(1, sizeof(*t));
    const struct timeval tick = {0, TL_TRICKLE_TICK_US};
    char cl[24];

    if (t == NULL) {
        return -1;
    }
    t->ev = evtimer_new(srv->base, on_trickle, t);
    if (t->ev == NULL) {
        free(t);
        return -1;
    }
    t->srv = srv;
    t->req = req;
    t->rest = body;
    t->last = tl_mono();
    snprintf(cl, sizeof(cl), "%zu", evbuffer_get_length(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length",
                      cl);
    count_reply(srv, req, 200);
    srv->trickled++;
    evhttp_send_reply_start(req, 200, reason(200));
    t->next = srv->trickles;
    if (t->next != NULL) {
        t->next->prev = t;
    }
    srv->trickles = t;
    srv->ntrickles++;
    evtimer_add(t->ev, &tick);
    return 0;
}

#define TL_PAD_BLOCK (1024 * 1024)

/* The padding blocks: spaces, and junk (0xff: as an entry bundle, a
 * length prefix of 65535 and more of the same).  0 / -1. */
static int
pad_blocks(struct tl_server *srv)
{
    if (srv->pad_space == NULL) {
        srv->pad_space = malloc(TL_PAD_BLOCK);
        if (srv->pad_space == NULL) {
            return -1;
        }
        memset(srv->pad_space, ' ', TL_PAD_BLOCK);
    }
    if (srv->pad_junk == NULL) {
        srv->pad_junk = malloc(TL_PAD_BLOCK);
        if (srv->pad_junk == NULL) {
            return -1;
        }
        memset(srv->pad_junk, 0xff, TL_PAD_BLOCK);
    }
    return 0;
}

/*
 * Reply 200 with srv->out as an entry response (Rekor v1 entries, or a
 * tlog-tiles entry bundle when junk is set), grown by /admin/pad and
 * sent slowly under /admin/trickle.  v1: JSON whitespace before the
 * final newline until the body is pad_bytes long (still the same JSON
 * value); bundles: pad_bytes of junk after the entries.  The padding is
 * added by reference to one shared block: a 16 MiB body costs the test
 * log nothing.
 */
static void
send_entries(struct tl_server *srv, struct evhttp_request *req,
             const char *ctype, int junk)
{
    struct evbuffer *b = evbuffer_new();
    size_t len = srv->out.len, tail = 0;
    uint64_t pad = 0;

    if (b == NULL) {
        goto err;
    }
    if (junk) {
        pad = srv->pad_bytes;
    } else if (srv->pad_bytes > len) {
        pad = srv->pad_bytes - len;
        tail = len > 0 && srv->out.p[len - 1] == '\n';
    }
    if ((pad > 0 && pad_blocks(srv) != 0) ||
        evbuffer_add(b, srv->out.p, len - tail) != 0) {
        goto err;
    }
    if (pad > 0) {
        srv->padded++;
    }
    while (pad > 0) {
        size_t n = pad > TL_PAD_BLOCK ? TL_PAD_BLOCK : (size_t)pad;

        if (evbuffer_add_reference(b, junk ? srv->pad_junk : srv->pad_space, n,
                                   NULL, NULL) != 0) {
            goto err;
        }
        pad -= n;
    }
    if (tail && evbuffer_add(b, "\n", 1) != 0) {
        goto err;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      ctype);
    if (srv->trickle_bps > 0 && trickle_start(srv, req, b) == 0) {
        return;
    }
    count_reply(srv, req, 200);
    evhttp_send_reply(req, 200, reason(200), b);
    evbuffer_free(b);
    return;
err:
    if (b != NULL) {
        evbuffer_free(b);
    }
    tl_reply(srv, req, 500, NULL, NULL, 0);
}

/* ------------------------------------------------------------- the API */

static void
send_out(struct tl_server *srv, struct evhttp_request *req)
{
    tl_reply(srv, req, 200, "application/json", srv->out.p, srv->out.len);
}

/* The index whose entry answers a read of v (< the log's size): 0 with
 * *served (v, or its /admin/misdirect target), -1 when /admin/drop
 * withholds v.  A rule loses one use per read. */
static int
resolve_read(struct tl_server *srv, uint64_t v, uint64_t *served)
{
    struct tl_log *log = srv->log;
    uint64_t to;

    if (tl_rule_take(log->drop, &log->ndrop, v, NULL)) {
        srv->dropped++;
        return -1;
    }
    *served = v;
    if (tl_rule_take(log->misdirect, &log->nmisdirect, v, &to)) {
        srv->misdirected++;
        *served = to;
    }
    return 0;
}

static void
api_log(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_log *log = srv->log;
    struct tl_buf *o = &srv->out;
    size_t i;

    tl_buf_reset(o);
    if (tl_buf_adds(o, "{") != 0) {
        goto err;
    }
    if (log->nshards > 1) {
        if (tl_buf_adds(o, "\"inactiveShards\":[") != 0) {
            goto err;
        }
        for (i = 0; i + 1 < log->nshards; i++) {
            struct tl_shard *s = log->shards[i];
            const char *note = tl_log_checkpoint(log, s);

            if (note == NULL ||
                tl_buf_adds(o, i > 0 ? ",{\"rootHash\":\""
                                     : "{\"rootHash\":\"") != 0 ||
                tl_buf_add_hex(o, tl_shard_root(log, s), TL_HASH_LEN) != 0 ||
                tl_buf_adds(o, "\",\"signedTreeHead\":") != 0 ||
                tl_buf_add_json_str(o, note, strlen(note)) != 0 ||
                tl_buf_printf(o, ",\"treeID\":\"%llu\",\"treeSize\":%llu}",
                              (unsigned long long)s->tree_id,
                              (unsigned long long)s->tree.size) != 0) {
                goto err;
            }
        }
        if (tl_buf_adds(o, "],") != 0) {
            goto err;
        }
    }
    {
        /* /admin/impossible: the signed note, rootHash and treeSize of
         * the impossible tree; treeSize is a JSON integer even beyond
         * int64 (production's int64 cannot say it; the note can) */
        struct tl_shard *s = tl_log_active(log);
        const char *note =
            log->imp_on ? tl_log_impossible(log) : tl_log_checkpoint(log, s);
        const uint8_t *root =
            log->imp_on ? log->imp_root : tl_shard_root(log, s);
        uint64_t size = log->imp_on ? log->imp_tree_size : s->tree.size;

        if (note == NULL || tl_buf_adds(o, "\"rootHash\":\"") != 0 ||
            tl_buf_add_hex(o, root, TL_HASH_LEN) != 0 ||
            tl_buf_adds(o, "\",\"signedTreeHead\":") != 0 ||
            tl_buf_add_json_str(o, note, strlen(note)) != 0 ||
            tl_buf_printf(o, ",\"treeID\":\"%llu\",\"treeSize\":%llu}\n",
                          (unsigned long long)s->tree_id,
                          (unsigned long long)size) != 0) {
            goto err;
        }
    }
    send_out(srv, req);
    return;
err:
    tl_reply_error(srv, req, 500, 500, "error generating signed tree head");
}

static void
api_proof(struct tl_server *srv, struct evhttp_request *req,
          struct evkeyvalq *q)
{
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    const char *fs = evhttp_find_header(q, "firstSize");
    const char *ls = evhttp_find_header(q, "lastSize");
    const char *tid = evhttp_find_header(q, "treeID");
    struct tl_shard *s = tl_log_active(srv->log);
    uint64_t first = 1, last, id;
    struct tl_buf *o = &srv->out;
    char msg[256];
    size_t n, i;

    if (ls == NULL) {
        tl_reply_error(srv, req, 422, 602, "lastSize in query is required");
        return;
    }
    if (parse_u64(ls, &last) != 0 || (fs != NULL && parse_u64(fs, &first))) {
        tl_reply_error(srv, req, 422, 601,
                       "firstSize and lastSize in query must be of type "
                       "int64");
        return;
    }
    if (first < 1 || last < 1) {
        tl_reply_error(srv, req, 422, 609,
                       "firstSize and lastSize in query should be greater "
                       "than or equal to 1");
        return;
    }
    if (first > last) {
        snprintf(msg, sizeof(msg),
                 "firstSize(%llu) must be less than lastSize(%llu)",
                 (unsigned long long)first, (unsigned long long)last);
        tl_reply_error(srv, req, 400, 400, msg);
        return;
    }
    /* production ignores a treeID that is not a number */
    if (tid != NULL && *tid != '\0' && parse_u64(tid, &id) == 0) {
        s = tl_log_shard_by_id(srv->log, id);
        if (s == NULL) {
            tl_reply_error(srv, req, 500, 500,
                           "unexpected error communicating with "
                           "transparency log");
            return;
        }
    }
    if (last > s->tree.size) {
        snprintf(msg, sizeof(msg),
                 "the tree size requested(%llu) was greater than what is "
                 "currently observable(%llu)",
                 (unsigned long long)last, (unsigned long long)s->tree.size);
        tl_reply_error(srv, req, 400, 400, msg);
        return;
    }
    n = tl_tree_consistency(&s->tree, first, last, proof);
    tl_buf_reset(o);
    if (tl_buf_adds(o, "{\"hashes\":[") != 0) {
        goto err;
    }
    for (i = 0; i < n; i++) {
        if (tl_buf_adds(o, i > 0 ? ",\"" : "\"") != 0 ||
            tl_buf_add_hex(o, proof[i], TL_HASH_LEN) != 0 ||
            tl_buf_adds(o, "\"") != 0) {
            goto err;
        }
    }
    if (tl_buf_adds(o, "],\"rootHash\":\"") != 0 ||
        tl_buf_add_hex(o, tl_shard_root(srv->log, s), TL_HASH_LEN) != 0 ||
        tl_buf_adds(o, "\"}\n") != 0) {
        goto err;
    }
    send_out(srv, req);
    return;
err:
    tl_reply_error(srv, req, 500, 500, "out of memory");
}

/* Render one entry as a JSON object into srv->out.  1 / 0 / -1. */
static int
render_object(struct tl_server *srv, uint64_t v)
{
    int rc;

    if (tl_buf_adds(&srv->out, "{") != 0) {
        return -1;
    }
    rc = tl_log_render_entry(srv->log, v, &srv->out);
    if (rc == 1) {
        if (tl_buf_adds(&srv->out, "}") != 0) {
            return -1;
        }
        srv->entries_served++;
    } else {
        srv->out.len--; /* drop the "{" */
        srv->out.p[srv->out.len] = '\0';
    }
    return rc;
}

static void
api_entry_by_index(struct tl_server *srv, struct evhttp_request *req,
                   struct evkeyvalq *q)
{
    const char *li = evhttp_find_header(q, "logIndex");
    uint64_t v;
    int rc;

    if (li == NULL) {
        tl_reply_error(srv, req, 422, 602, "logIndex in query is required");
        return;
    }
    if (parse_u64(li, &v) != 0) {
        tl_reply_error(srv, req, 422, 601,
                       "logIndex in query must be of type int64");
        return;
    }
    if (v >= tl_log_size(srv->log) || resolve_read(srv, v, &v) != 0) {
        tl_reply(srv, req, 404, NULL, NULL, 0); /* production: no body */
        return;
    }
    tl_buf_reset(&srv->out);
    rc = render_object(srv, v);
    if (rc == 0) {
        tl_reply(srv, req, 404, NULL, NULL, 0);
        return;
    }
    if (rc < 0 || tl_buf_adds(&srv->out, "\n") != 0) {
        tl_reply_error(srv, req, 500, 500, "error rendering entry");
        return;
    }
    send_entries(srv, req, "application/json", 0);
}

/* Parse a 64 (leaf hash) or 80 (tree id + leaf hash) hex entry id. */
static int
parse_uuid(const char *s, size_t len, int *have_tree, uint64_t *tree_id,
           uint8_t leaf[TL_HASH_LEN])
{
    uint8_t tid[8];
    size_t i;

    if (len == 2 * TL_HASH_LEN) {
        *have_tree = 0;
    } else if (len == 16 + 2 * TL_HASH_LEN) {
        if (merkle_hex_decode(s, 16, tid, sizeof(tid)) != 8) {
            return -1;
        }
        *tree_id = 0;
        for (i = 0; i < 8; i++) {
            *tree_id = (*tree_id << 8) | tid[i];
        }
        *have_tree = 1;
        s += 16;
    } else {
        return -1;
    }
    return merkle_hex_decode(s, 2 * TL_HASH_LEN, leaf, TL_HASH_LEN) ==
                   TL_HASH_LEN
               ? 0
               : -1;
}

static void
api_entry_by_uuid(struct tl_server *srv, struct evhttp_request *req,
                  const char *id)
{
    uint8_t leaf[TL_HASH_LEN];
    uint64_t tree_id = 0, v;
    int have_tree, rc;

    if (parse_uuid(id, strlen(id), &have_tree, &tree_id, leaf) != 0) {
        tl_reply_error(srv, req, 400, 400,
                       "UUID must be a 64-character hexadecimal string");
        return;
    }
    if (tl_log_find_leaf(srv->log, have_tree, tree_id, leaf, &v) != 0 ||
        resolve_read(srv, v, &v) != 0) {
        tl_reply(srv, req, 404, NULL, NULL, 0);
        return;
    }
    tl_buf_reset(&srv->out);
    rc = render_object(srv, v);
    if (rc != 1 || tl_buf_adds(&srv->out, "\n") != 0) {
        tl_reply_error(srv, req, 500, 500, "error rendering entry");
        return;
    }
    send_entries(srv, req, "application/json", 0);
}

/* Append one retrieve result (array member) unless dropped; a
 * misdirected index gets its target's entry. */
static int
retrieve_one(struct tl_server *srv, uint64_t v, int *first)
{
    size_t mark = srv->out.len;
    int rc;

    if (v >= tl_log_size(srv->log)) {
        return 0; /* missing: dropped silently, as production */
    }
    if (resolve_read(srv, v, &v) != 0) {
        return 0;
    }
    if (!*first && tl_buf_adds(&srv->out, ",") != 0) {
        return -1;
    }
    rc = render_object(srv, v);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        srv->out.len = mark;
        srv->out.p[mark] = '\0';
        return 0;
    }
    *first = 0;
    return 0;
}

static void
api_retrieve(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_buf body = {0};
    json_t *doc = NULL, *uuids, *idx, *ents, *it;
    json_error_t jerr;
    size_t total = 0, i;
    int first = 1;
    char msg[300];

    if (tl_request_body(req, &body) != 0) {
        tl_reply_error(srv, req, 500, 500, "out of memory");
        goto done;
    }
    doc = json_loadb(body.p, body.len, 0, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        snprintf(msg, sizeof(msg), "parsing entry body from \"\" failed: %s",
                 doc == NULL ? jerr.text : "not a JSON object");
        tl_reply_error(srv, req, 400, 400, msg);
        goto done;
    }
    uuids = json_object_get(doc, "entryUUIDs");
    idx = json_object_get(doc, "logIndexes");
    ents = json_object_get(doc, "entries");
    if ((uuids != NULL && !json_is_array(uuids)) ||
        (idx != NULL && !json_is_array(idx)) ||
        (ents != NULL && !json_is_array(ents))) {
        tl_reply_error(srv, req, 422, 601,
                       "entryUUIDs, logIndexes and entries must be arrays");
        goto done;
    }
    total =
        json_array_size(uuids) + json_array_size(idx) + json_array_size(ents);
    if (total > TL_RETRIEVE_MAX) {
        snprintf(msg, sizeof(msg),
                 "more than max allowed %d entries in "
                 "request",
                 TL_RETRIEVE_MAX);
        tl_reply_error(srv, req, 422, 422, msg);
        goto done;
    }
    if (json_array_size(ents) > 0) {
        tl_reply_error(srv, req, 400, 400,
                       "search by proposed entries is not supported by "
                       "tlogwatch-testlog");
        goto done;
    }
    json_array_foreach(idx, i, it)
    {
        if (!json_is_integer(it) || json_integer_value(it) < 0) {
            tl_reply_error(srv, req, 422, 609,
                           "logIndexes in body should be integers greater "
                           "than or equal to 0");
            goto done;
        }
    }
    tl_buf_reset(&srv->out);
    if (tl_buf_adds(&srv->out, "[") != 0) {
        goto oom;
    }
    json_array_foreach(uuids, i, it)
    {
        uint8_t leaf[TL_HASH_LEN];
        uint64_t tree_id = 0, v;
        int have_tree;
        const char *s = json_string_value(it);

        if (s == NULL || parse_uuid(s, json_string_length(it), &have_tree,
                                    &tree_id, leaf) != 0) {
            snprintf(msg, sizeof(msg), "invalid uuid %.100s",
                     s != NULL ? s : "(not a string)");
            tl_reply_error(srv, req, 400, 400, msg);
            goto done;
        }
        if (tl_log_find_leaf(srv->log, have_tree, tree_id, leaf, &v) == 0 &&
            retrieve_one(srv, v, &first) != 0) {
            goto oom;
        }
    }
    json_array_foreach(idx, i, it)
    {
        if (retrieve_one(srv, (uint64_t)json_integer_value(it), &first) != 0) {
            goto oom;
        }
    }
    if (tl_buf_adds(&srv->out, "]\n") != 0) {
        goto oom;
    }
    send_entries(srv, req, "application/json", 0);
    goto done;
oom:
    tl_reply_error(srv, req, 500, 500, "error rendering entries");
done:
    json_decref(doc);
    tl_buf_free(&body);
}

static void
api_pubkey(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_buf b = {0};

    if (tl_pem_pubkey(srv->log->log_key.pkey, &b) != 0) {
        tl_reply_error(srv, req, 500, 500, "error encoding public key");
    } else {
        tl_reply(srv, req, 200, "application/x-pem-file", b.p, b.len);
    }
    tl_buf_free(&b);
}

/* --------------------------------------------------- tlog-tiles (v2) */

static void
tiles_not_found(struct tl_server *srv, struct evhttp_request *req)
{
    tl_reply(srv, req, 404, "text/plain; charset=utf-8", "not found\n", 10);
}

static void
tiles_checkpoint(struct tl_server *srv, struct evhttp_request *req)
{
    const char *note = srv->log->imp_on ? tl_log_impossible(srv->log)
                                        : tl_tiles_checkpoint(srv->log);

    if (note == NULL) {
        tl_reply(srv, req, 500, "text/plain; charset=utf-8",
                 "checkpoint signing failed\n", 26);
        return;
    }
    tl_reply(srv, req, 200, "text/plain; charset=utf-8", note, strlen(note));
}

/* A hash tile or an entry bundle; 404 for a path that is not one, a
 * tile beyond the tree, or a bundle holding an index /admin/drop
 * withholds (as if it never arrived). */
static void
tiles_tile(struct tl_server *srv, struct evhttp_request *req, const char *path)
{
    struct tl_tile_req r;
    int rc;

    tl_buf_reset(&srv->out);
    if (tl_tiles_parse_path(path, &r) != 0) {
        tiles_not_found(srv, req);
        return;
    }
    if (tl_tiles_withheld(srv->log, &r)) {
        srv->dropped++;
        tiles_not_found(srv, req);
        return;
    }
    rc = tl_tiles_render(srv->log, &r, &srv->out);
    if (rc == 0) {
        tiles_not_found(srv, req);
    } else if (rc < 0) {
        tl_reply(srv, req, 500, "text/plain; charset=utf-8",
                 "tile rendering failed\n", 22);
    } else if (r.entries) {
        srv->entries_served += r.width != 0 ? r.width : TL_TILE_WIDTH;
        send_entries(srv, req, "application/octet-stream", 1);
    } else {
        tl_reply(srv, req, 200, "application/octet-stream", srv->out.p,
                 srv->out.len);
    }
}

/* Which endpoint a request is for (counted before any throttling); with
 * --tiles only the tlog-tiles paths, else only the Rekor v1 API. */
static enum tl_endpoint
classify(const char *path, enum evhttp_cmd_type m, int tiles, int ct)
{
    static const char entries[] = "/api/v1/log/entries/";

    if (path == NULL) {
        return TL_EP_OTHER; /* outside --prefix */
    }
    if (ct) {
        static const struct {
            const char *path;
            enum tl_endpoint ep;
        } ctp[] = {
            {"/ct/v1/get-sth", TL_EP_CT_STH},
            {"/ct/v1/get-sth-consistency", TL_EP_CT_CONSISTENCY},
            {"/ct/v1/get-proof-by-hash", TL_EP_CT_PROOF},
            {"/ct/v1/get-entries", TL_EP_CT_ENTRIES},
            {"/ct/v1/get-roots", TL_EP_CT_ROOTS},
        };
        size_t i;

        for (i = 0; m == EVHTTP_REQ_GET && i < sizeof(ctp) / sizeof(ctp[0]);
             i++) {
            if (strcmp(path, ctp[i].path) == 0) {
                return ctp[i].ep;
            }
        }
        return TL_EP_OTHER;
    }
    if (tiles) {
        if (m != EVHTTP_REQ_GET) {
            return TL_EP_OTHER;
        }
        if (strcmp(path, "/checkpoint") == 0) {
            return TL_EP_CHECKPOINT;
        }
        if (strncmp(path, "/tile/entries/", 14) == 0) {
            return TL_EP_BUNDLE;
        }
        if (strncmp(path, "/tile/", 6) == 0) {
            return TL_EP_TILE;
        }
        return TL_EP_OTHER;
    }

    if (strcmp(path, "/api/v1/log") == 0 && m == EVHTTP_REQ_GET) {
        return TL_EP_LOG;
    }
    if (strcmp(path, "/api/v1/log/proof") == 0 && m == EVHTTP_REQ_GET) {
        return TL_EP_PROOF;
    }
    if (strcmp(path, "/api/v1/log/entries") == 0 && m == EVHTTP_REQ_GET) {
        return TL_EP_ENTRY;
    }
    if (strcmp(path, "/api/v1/log/entries/retrieve") == 0 &&
        m == EVHTTP_REQ_POST) {
        return TL_EP_RETRIEVE;
    }
    if (strncmp(path, entries, sizeof(entries) - 1) == 0 &&
        m == EVHTTP_REQ_GET) {
        return TL_EP_UUID;
    }
    if (strcmp(path, "/api/v1/log/publicKey") == 0 && m == EVHTTP_REQ_GET) {
        return TL_EP_PUBKEY;
    }
    return TL_EP_OTHER;
}

/* The API path of a request path: what follows --prefix (which must be
 * followed by '/'), or NULL when path is outside it. */
static const char *
api_path(const struct tl_server *srv, const char *path)
{
    size_t n = strlen(srv->prefix);

    if (n == 0) {
        return path;
    }
    return strncmp(path, srv->prefix, n) == 0 && path[n] == '/' ? path + n
                                                                : NULL;
}

static void
api_handle(struct tl_server *srv, struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    const char *rel = api_path(srv, path);
    struct evkeyvalq q;
    char msg[300];

    TAILQ_INIT(&q);
    if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
        tl_reply_error(srv, req, 400, 400, "malformed query string");
        return;
    }
    switch (classify(rel, evhttp_request_get_command(req), srv->log->tiles,
                     srv->log->ct != NULL)) {
    case TL_EP_CT_STH:
    case TL_EP_CT_CONSISTENCY:
    case TL_EP_CT_PROOF:
    case TL_EP_CT_ENTRIES:
    case TL_EP_CT_ROOTS: {
        enum tl_endpoint ep =
            classify(rel, evhttp_request_get_command(req), 0, 1);
        int code = tl_ct_respond(srv, ep, &q, &srv->out);

        if (code == 200 && ep == TL_EP_CT_ENTRIES) {
            send_entries(srv, req, "application/json", 0);
        } else if (code == 200) {
            send_out(srv, req);
        } else {
            tl_reply(srv, req, code, "text/plain", srv->out.p, srv->out.len);
        }
        break;
    }
    case TL_EP_CHECKPOINT:
        tiles_checkpoint(srv, req);
        break;
    case TL_EP_TILE:
    case TL_EP_BUNDLE:
        tiles_tile(srv, req, rel);
        break;
    case TL_EP_LOG:
        api_log(srv, req);
        break;
    case TL_EP_PROOF:
        api_proof(srv, req, &q);
        break;
    case TL_EP_ENTRY:
        api_entry_by_index(srv, req, &q);
        break;
    case TL_EP_RETRIEVE:
        api_retrieve(srv, req);
        break;
    case TL_EP_UUID:
        api_entry_by_uuid(srv, req, rel + strlen("/api/v1/log/entries/"));
        break;
    case TL_EP_PUBKEY:
        api_pubkey(srv, req);
        break;
    default:
        snprintf(msg, sizeof(msg), "path %.200s was not found", path);
        tl_reply_error(srv, req, 404, 404, msg);
        break;
    }
    evhttp_clear_headers(&q);
}

/* ---------------------------------------------------------- throttling */

static void
pending_unlink(struct tl_server *srv, struct tl_pending *p)
{
    if (p->prev != NULL) {
        p->prev->next = p->next;
    } else {
        srv->pending = p->next;
    }
    if (p->next != NULL) {
        p->next->prev = p->prev;
    }
}

static void
on_delay(evutil_socket_t fd, short what, void *arg)
{
    struct tl_pending *p = arg;
    struct tl_server *srv = p->srv;

    (void)fd;
    (void)what;
    pending_unlink(srv, p);
    api_handle(srv, p->req);
    event_free(p->ev);
    free(p);
}

/* Hold req for ms milliseconds.  0 / -1. */
static int
delay_request(struct tl_server *srv, struct evhttp_request *req, int ms)
{
    struct tl_pending *p = calloc(1, sizeof(*p));
    struct timeval tv;

    if (p == NULL) {
        return -1;
    }
    p->srv = srv;
    p->req = req;
    p->ev = evtimer_new(srv->base, on_delay, p);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    if (p->ev == NULL || evtimer_add(p->ev, &tv) != 0) {
        if (p->ev != NULL) {
            event_free(p->ev);
        }
        free(p);
        return -1;
    }
    p->next = srv->pending;
    if (p->next != NULL) {
        p->next->prev = p;
    }
    srv->pending = p;
    return 0;
}

static void
reply_throttled(struct tl_server *srv, struct evhttp_request *req, int code,
                int retry_after, const char *msg)
{
    char ra[24];

    if (retry_after >= 0) {
        snprintf(ra, sizeof(ra), "%d", retry_after);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          ra);
    }
    tl_reply_error(srv, req, code, code, msg);
}

/* Token bucket; 1 when the request may proceed, else the Retry-After
 * seconds in *retry. */
static int
rate_admit(struct tl_server *srv, int *retry)
{
    double now = tl_mono(), wait;

    if (srv->rate_rps <= 0) {
        return 1;
    }
    srv->rate_tokens += (now - srv->rate_last) * srv->rate_rps;
    if (srv->rate_tokens > srv->rate_burst) {
        srv->rate_tokens = srv->rate_burst;
    }
    srv->rate_last = now;
    if (srv->rate_tokens >= 1.0) {
        srv->rate_tokens -= 1.0;
        return 1;
    }
    wait = (1.0 - srv->rate_tokens) / srv->rate_rps;
    *retry = (int)ceil(wait);
    if (*retry < 1) {
        *retry = 1;
    }
    return 0;
}

/*
 * evhttp writes a response's headers and body separately; with Nagle on,
 * the body waits for the ACK of the headers, which the client delays by
 * 40 ms.  Every reply goes out at once instead.
 */
static void
nodelay(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev =
        evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    int one = 1;

    if (fd >= 0) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct tl_server *srv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    int retry;

    if (path == NULL) {
        tl_reply_error(srv, req, 400, 400, "malformed request URI");
        return;
    }
    nodelay(req);
    if (strncmp(path, "/admin/", 7) == 0) {
        srv->admin_requests++;
        tl_admin_handle(srv, req, path);
        return;
    }
    srv->requests++;
    srv->endpoint[classify(api_path(srv, path), evhttp_request_get_command(req),
                           srv->log->tiles, srv->log->ct != NULL)]++;
    if (!rate_admit(srv, &retry)) {
        srv->rate_limited++;
        reply_throttled(srv, req, 429, retry, "rate limit exceeded");
        return;
    }
    if (srv->fail_count != 0) {
        if (srv->fail_count > 0) {
            srv->fail_count--;
        }
        srv->injected_failures++;
        reply_throttled(srv, req, srv->fail_status, srv->fail_retry_after,
                        srv->fail_status == 429 ? "rate limit exceeded"
                                                : "injected failure");
        return;
    }
    if (srv->delay_count != 0 && srv->delay_ms > 0) {
        if (srv->delay_count > 0) {
            srv->delay_count--;
        }
        srv->delayed++;
        if (delay_request(srv, req, srv->delay_ms) == 0) {
            return;
        }
    }
    api_handle(srv, req);
}

int
tl_server_start(struct tl_server *srv, struct event_base *base,
                struct tl_log *log, const char *host, unsigned port,
                unsigned *bound)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    srv->base = base;
    srv->log = log;
    srv->fail_retry_after = -1;
    srv->started = tl_mono();
    srv->http = evhttp_new(base);
    if (srv->http == NULL) {
        return -1;
    }
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(srv->http, TL_MAX_REQUEST_BODY);
    evhttp_set_timeout(srv->http, 120);
    evhttp_set_gencb(srv->http, on_request, srv);
    bs = evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port);
    if (bs == NULL) {
        evhttp_free(srv->http);
        srv->http = NULL;
        return -1;
    }
    {
        /* Accepted sockets inherit TCP_NODELAY from the listener (Linux):
         * every reply of a keep-alive connection, not only the first,
         * leaves at once instead of waiting 40 ms for a delayed ACK. */
        int one = 1;
        (void)setsockopt(evhttp_bound_socket_get_fd(bs), IPPROTO_TCP,
                         TCP_NODELAY, &one, sizeof(one));
    }
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
                    &sl) != 0) {
        evhttp_free(srv->http);
        srv->http = NULL;
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        *bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return 0;
}

void
tl_server_stop(struct tl_server *srv)
{
    while (srv->pending != NULL) {
        struct tl_pending *p = srv->pending;

        pending_unlink(srv, p);
        event_free(p->ev);
        tl_reply_error(srv, p->req, 503, 503, "shutting down");
        free(p);
    }
    tl_trickle_flush_all(srv);
    if (srv->http != NULL) {
        evhttp_free(srv->http);
        srv->http = NULL;
    }
    /* after evhttp_free: buffers it freed may have referenced these */
    free(srv->pad_space);
    free(srv->pad_junk);
    srv->pad_space = NULL;
    srv->pad_junk = NULL;
    tl_buf_free(&srv->out);
}
