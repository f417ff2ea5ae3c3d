/*
 * follow.c: the Rekor v1 follower.  See follow.h for what it proves.
 *
 * Shape of the machine, per log:
 *
 *   poll timer -> GET /api/v1/log -> verify every signed tree head
 *     -> frozen shards unchanged?            (else log.inconsistent)
 *     -> our shard rotated away?             (finish it to its final cp)
 *     -> compare with the verified checkpoint:
 *          smaller                           log.rollback
 *          same size, other root             log.inconsistent
 *          larger -> GET /api/v1/log/proof -> verify against both signed
 *                    roots -> record          (else log.inconsistent)
 *     -> no cursor yet? seed it from the inclusion proof of the leaf
 *        before the start point (GET /api/v1/log/entries?logIndex=)
 *     -> fetch [cursor, verified size) in batches, apply in order,
 *        root-check at every verified size, commit.
 *
 * The follower's in-memory cursor (next, range) runs ahead of the
 * committed one by at most FOLLOW_COMMIT_EVERY entries; anything that
 * goes wrong resets it to the committed state from the store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/identity/entry.h"
#include "monitor/follow/follow.h"
#include "monitor/follow/follow_tiles.h"
#include "monitor/follow/withhold.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/identity/scan.h"
#include "monitor/identity/policy.h"
#include "monitor/store/store.h"
#include "monitor/follow/env.h"
#include "notify/alert.h"

#define FOLLOW_MAX_KEYS 16
#define FOLLOW_REORDER_PER_REQUEST 4 /* reorder buffer = window * 10 * 4 */
#define FOLLOW_URL_MAX 2048
#define FOLLOW_TREE_ID_MAX 24 /* decimal uint64 */

/* What the look-ahead did with an entry past a missing one. */
#define AHEAD_NONE 0    /* nothing yet */
#define AHEAD_REREAD 1  /* asked for again, to be read with its proof */
#define AHEAD_SCANNED 2 /* proven and scanned, or not provable: done */

/* One signed tree head from GET /api/v1/log, verified. */
struct head {
    char tree_id[FOLLOW_TREE_ID_MAX];
    char *note; /* owned, NUL-terminated */
    size_t note_len;
    struct merkle_checkpoint cp;
    uint64_t offset; /* virtual index of its local 0 */
};

/* The verified view of the whole log from one poll. */
struct log_view {
    struct head active;
    struct head inactive[FOLLOW_MAX_SHARDS];
    size_t ninactive;
};

/* The shard being read. */
struct shard {
    int64_t log_id; /* 0: none yet */
    char origin[MERKLE_ORIGIN_MAX];
    char tree_id[FOLLOW_TREE_ID_MAX];
    uint64_t offset;
    int has_cp;
    uint64_t vsize;
    uint8_t vroot[MERKLE_HASH_LEN];
    char *vnote; /* owned */
    size_t vnote_len;
    int final; /* frozen: move to the successor at vsize */
};

enum req_kind {
    REQ_LOG = 0,
    REQ_PROOF,
    REQ_SEED,
    REQ_ENTRIES,
};

struct req {
    struct follower *f;
    struct http_handle *h;
    enum req_kind kind;
    size_t n;
    uint64_t idx[FOLLOW_BATCH];
    struct req *prev, *next; /* in-flight list */
};

/* What a pending proof request will prove, kept while it runs. */
struct pending_cp {
    struct head head;
    int final;
};

/* A verified size the range must be root-checked at. */
struct rootcheck {
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
};

struct follower {
    struct tfollower *tiles;      /* kind rekor-v2: everything is there */
    const struct follow_env *env; /* borrowed */
    const struct config_log *cfg; /* borrowed */
    struct merkle_note_key *keys[FOLLOW_MAX_KEYS];
    size_t nkeys;

    struct shard cur;
    struct log_view view; /* last verified poll (heads owned) */
    int have_view;

    /* The cursor: committed and applied. */
    int has_cursor;
    uint64_t committed_next; /* virtual */
    uint64_t next;           /* virtual, applied */
    struct merkle_range range;
    uint64_t root_checks; /* since the last commit */
    json_t *batch_alerts; /* array: alerts found since the last commit */
    json_t *ahead_alerts; /* array: found ahead of a missing entry */
    struct policy_batch ahead_signings;
    struct policy_batch batch_signings; /* watched signings since then */
    struct rootcheck checks[8];
    size_t nchecks;

    /* Fetching. */
    int fetching;
    uint64_t fetch_next; /* next virtual index never requested */
    uint64_t *retry;     /* indexes to ask for again */
    size_t nretry, retry_cap;
    struct withhold wh;   /* indexes the log left out: backoff, verdict */
    struct entry **slots; /* reorder ring, nslots */
    size_t nslots;
    size_t slot_bytes;    /* body bytes held in slots: bounds the look-ahead */
    unsigned char *ahead; /* nslots: AHEAD_* of the slot's index */
    struct follow_pace pace; /* window, backoff, once's failure count */
    unsigned inflight;

    struct req *reqs; /* all in flight */
    struct pending_cp pcp;
    int proving, seeding, polling;

    struct follow_timer *poll_ev;
    struct follow_timer *pump_ev;

    /* Liveness. */
    uint64_t last_growth_ms; /* monotonic: the verified size last grew */
    int once_done;
    int stopped; /* an alert stopped progress until the next poll */

    struct follower_stats stats;
};

static void follow_pump(struct follower *f);
static void follow_after_checkpoint(struct follower *f);
static void follow_cycle_done(struct follower *f, int failed);
static void follow_reset_to_committed(struct follower *f);

/* ---- small helpers ------------------------------------------------ */

uint64_t
follow_mono(const struct follow_env *env)
{
    return env->ops->mono_ms(env->ctx);
}

int64_t
follow_wall(const struct follow_env *env)
{
    return env->ops->wall_s(env->ctx);
}

uint64_t
follow_jitter(const struct follow_env *env, uint64_t ms, unsigned pct)
{
    uint64_t span = ms * pct / 100;

    if (span == 0) {
        return ms;
    }
    return ms - span + env->ops->random(env->ctx, 2 * span + 1);
}

void
follow_fatal(const struct follow_env *env, const char *what)
{
    env->ops->fatal(env->ctx, what);
}

int
follow_is_fatal(const struct follow_env *env)
{
    return env->ops->is_fatal(env->ctx);
}

static void
hexs(const uint8_t *b, size_t n, char *out, size_t outcap)
{
    if (merkle_hex_encode(b, n, out, outcap) < 0 && outcap > 0) {
        out[0] = '\0';
    }
}

/* What an entry in the reorder ring holds, for the look-ahead bound. */
static size_t
entry_bytes(const struct entry *e)
{
    return sizeof(*e) + e->body_len + e->attestation_b64_len;
}

static void
head_clear(struct head *h)
{
    free(h->note);
    memset(h, 0, sizeof(*h));
}

static void
view_clear(struct log_view *v)
{
    size_t i;

    head_clear(&v->active);
    for (i = 0; i < v->ninactive; i++) {
        head_clear(&v->inactive[i]);
    }
    v->ninactive = 0;
}

const char *
follower_name(const struct follower *f)
{
    return f->cfg->name;
}

void
follower_stats(const struct follower *f, struct follower_stats *out)
{
    if (f->tiles != NULL) {
        tfollower_stats(f->tiles, out);
        return;
    }
    *out = f->stats;
    out->window = f->pace.window;
}

static void follow_error(struct follower *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record a failure in the log and the store (recent errors). */
static void
follow_error(struct follower *f, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warnx("%s: %s", f->cfg->name, msg);
    if (f->cur.log_id != 0 && store_log_error(f->env->store, f->cur.log_id,
                                              follow_wall(f->env), msg) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
    }
}

/* ---- alerts (shared with follow_tiles.c) ---------------------------- */

static json_t *
proof_array(const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++) {
        char hex[2 * MERKLE_HASH_LEN + 1];
        hexs(proof[i], MERKLE_HASH_LEN, hex, sizeof(hex));
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

void
follow_raise_log_alert(const struct follow_env *env, const char *log_name,
                       int64_t log_id, const char *origin, const char *type,
                       const char *key, const char *summary, json_t *evidence)
{
    char stable[1024];
    json_t *a;

    snprintf(stable, sizeof(stable), "%s|%s", log_name, key);
    a = notify_alert_new(type, stable, summary, follow_wall(env));
    if (a == NULL) {
        json_decref(evidence);
        follow_fatal(env, "out of memory building an alert");
        return;
    }
    notify_alert_set(
        a, "log", json_pack("{s:s, s:s}", "name", log_name, "origin", origin));
    if (evidence != NULL) {
        notify_alert_set(a, "evidence", evidence);
    }
    log_warnx("%s: %s: %s", log_name, type, summary);
    if (env->ops->alert_record(env->ctx, log_id, a) != 0) {
        follow_fatal(env, store_errmsg(env->store));
    }
    json_decref(a);
}

/*
 * Raise a log.* alert now (outside a batch): stored with its deliveries,
 * then delivered.  evidence is stolen (may be NULL).
 */
static void
follow_log_alert(struct follower *f, const char *type, const char *key,
                 const char *summary, const char *origin, json_t *evidence)
{
    follow_raise_log_alert(f->env, f->cfg->name, f->cur.log_id,
                           origin != NULL ? origin : f->cur.origin, type, key,
                           summary, evidence);
}

json_t *
follow_evidence_new(const char *old_note, const char *new_note,
                    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    json_t *e = json_object();

    if (e == NULL) {
        return NULL;
    }
    if (old_note != NULL) {
        json_object_set_new(e, "old_checkpoint", json_string(old_note));
    }
    if (new_note != NULL) {
        json_object_set_new(e, "new_checkpoint", json_string(new_note));
    }
    json_object_set_new(e, "proof", proof_array(proof, nproof));
    return e;
}

/* ---- keys ------------------------------------------------------------ */

/* "https://Host:443/" and "https://host:443" name the same log. */
const char *
follow_checkpoint_impossible(const struct merkle_checkpoint *cp,
                             uint64_t offset, const char *pinned_origin)
{
    if (cp->size >= FOLLOW_MAX_TREE_SIZE) {
        return "its size is 2^63 or more: no log can have grown to it";
    }
    if (offset >= FOLLOW_MAX_TREE_SIZE ||
        cp->size >= FOLLOW_MAX_TREE_SIZE - offset) {
        return "its entries would end beyond virtual index 2^63";
    }
    if (pinned_origin != NULL && pinned_origin[0] != '\0' &&
        strcmp(cp->origin, pinned_origin) != 0) {
        return "its origin is not the log's";
    }
    return NULL;
}

void
follow_raise_impossible(const struct follow_env *env, const char *log_name,
                        int64_t log_id, const char *origin,
                        const char *old_note, const char *note, size_t note_len,
                        const char *why)
{
    uint8_t h[MERKLE_HASH_LEN];
    char hex[2 * MERKLE_HASH_LEN + 1], key[256], msg[1024];
    char *copy = strndup(note, note_len);

    merkle_leaf_hash((const uint8_t *)note, note_len, h);
    hexs(h, MERKLE_HASH_LEN, hex, sizeof(hex));
    snprintf(key, sizeof(key), "impossible|%s", hex);
    snprintf(msg, sizeof(msg),
             "Log %s signed a checkpoint that cannot be a tree of this log: "
             "%s",
             log_name, why);
    follow_raise_log_alert(env, log_name, log_id, origin, "log.inconsistent", key,
                           msg, follow_evidence_new(old_note, copy, NULL, 0));
    free(copy);
}

static void
rfc3339(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld", (long long)t);
    }
}

void
follow_raise_withheld(const struct follow_env *env,
                      const struct config_log *cfg, int64_t log_id,
                      const char *origin, const char *note,
                      uint64_t first_index, uint64_t last_index,
                      const struct withhold_unit *u)
{
    char key[512], msg[1024], t1[32], t2[32], what[96];
    json_t *ev = json_object();

    rfc3339(u->first_wall, t1, sizeof(t1));
    rfc3339(u->last_wall, t2, sizeof(t2));
    if (first_index == last_index) {
        snprintf(what, sizeof(what), "entry %llu",
                 (unsigned long long)first_index);
    } else {
        snprintf(what, sizeof(what), "entries %llu-%llu",
                 (unsigned long long)first_index,
                 (unsigned long long)last_index);
    }
    snprintf(key, sizeof(key), "withheld|%s|%llu", origin,
             (unsigned long long)first_index);
    snprintf(msg, sizeof(msg),
             "Log %s has not returned %s, which its signed checkpoint "
             "commits to, since %s (%u attempts; last answer %d)",
             cfg->name, what, t1, u->attempts, u->last_status);
    if (ev != NULL) {
        if (note != NULL) {
            json_object_set_new(ev, "checkpoint", json_string(note));
        }
        json_object_set_new(ev, "log_index",
                            json_integer((json_int_t)first_index));
        if (last_index != first_index) {
            json_object_set_new(ev, "last_log_index",
                                json_integer((json_int_t)last_index));
        }
        json_object_set_new(ev, "attempts", json_integer(u->attempts));
        json_object_set_new(ev, "first_attempt", json_string(t1));
        json_object_set_new(ev, "last_attempt", json_string(t2));
        json_object_set_new(ev, "last_status", json_integer(u->last_status));
    }
    follow_raise_log_alert(env, cfg->name, log_id, origin, "log.entries_withheld",
                           key, msg, ev);
}

/* The "scheme://authority" part of url: its length, default port gone
 * in *alen (the authority starts at *auth). */
static size_t
url_origin(const char *url, const char **auth, size_t *alen)
{
    const char *sep = strstr(url, "://"), *a, *end;
    size_t n;

    if (sep == NULL) {
        *auth = url;
        *alen = 0;
        return 0;
    }
    a = sep + 3;
    end = a + strcspn(a, "/?#");
    n = (size_t)(end - a);
    if ((size_t)(sep - url) == 5 && strncasecmp(url, "https", 5) == 0 &&
        n > 4 && strncmp(end - 4, ":443", 4) == 0) {
        n -= 4;
    } else if ((size_t)(sep - url) == 4 && strncasecmp(url, "http", 4) == 0 &&
               n > 3 && strncmp(end - 3, ":80", 3) == 0) {
        n -= 3;
    }
    *auth = a;
    *alen = n;
    return (size_t)(sep - url);
}

int
follow_same_host(const char *a, const char *b)
{
    const char *aa, *ba;
    size_t al, bl, as = url_origin(a, &aa, &al), bs = url_origin(b, &ba, &bl);

    return as > 0 && as == bs && strncasecmp(a, b, as) == 0 && al > 0 &&
           al == bl && strncasecmp(aa, ba, al) == 0;
}

int
follow_same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    while (la > 0 && a[la - 1] == '/') {
        la--;
    }
    while (lb > 0 && b[lb - 1] == '/') {
        lb--;
    }
    return la == lb && strncasecmp(a, b, la) == 0;
}

static int
follow_load_keys(struct follower *f, char *err, size_t errlen)
{
    size_t i, n = config_trusted_root_ntlogs(f->env->troot);

    for (i = 0; i < n && f->nkeys < FOLLOW_MAX_KEYS; i++) {
        const struct config_log_key *k =
            config_trusted_root_tlog(f->env->troot, i);
        struct merkle_note_key *nk = NULL;
        enum merkle_result r = MERKLE_ERR_KEY;

        if (!follow_same_url(k->base_url, f->cfg->url) || k->pkey == NULL) {
            continue;
        }
        if (k->alg == CONFIG_KEY_ECDSA_P256_SHA256) {
            nk = merkle_note_key_ecdsa(k->signer_name, k->spki_der, k->spki_len,
                                       &r);
        } else if (k->alg == CONFIG_KEY_ED25519) {
            uint8_t raw[32];
            size_t rawlen = sizeof(raw);
            if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) == 1 &&
                rawlen == sizeof(raw)) {
                nk = merkle_note_key_ed25519(k->signer_name, raw, &r);
            }
        }
        if (nk == NULL) {
            snprintf(err, errlen, "log %s: unusable key in trusted root: %s",
                     f->cfg->name, merkle_strerror(r));
            return -1;
        }
        f->keys[f->nkeys++] = nk;
    }
    if (f->nkeys == 0) {
        snprintf(err, errlen,
                 "log %s: the trusted root has no usable key for this url",
                 f->cfg->name);
        return -1;
    }
    return 0;
}

/* ---- requests ----------------------------------------------------- */

static void follow_http_done(const struct http_response *resp, void *arg);

static struct req *
follow_send(struct follower *f, enum req_kind kind, enum http_method method,
            const char *path, const char *body, size_t body_len)
{
    char url[FOLLOW_URL_MAX];
    struct http_request_opts o;
    struct req *r;

    if ((size_t)snprintf(url, sizeof(url), "%s%s", f->cfg->url, path) >=
        sizeof(url)) {
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->f = f;
    r->kind = kind;
    memset(&o, 0, sizeof(o));
    o.method = method;
    o.url = url;
    o.body = body;
    o.body_len = body_len;
    o.content_type = body != NULL ? "application/json" : NULL;
    o.connect_timeout_ms = 10000;
    o.timeout_ms = 60000;
    o.max_response_bytes = FOLLOW_MAX_RESPONSE;
    r->h = f->env->ops->http_request(f->env->ctx, &o, follow_http_done, r);
    if (r->h == NULL) {
        free(r);
        return NULL;
    }
    r->next = f->reqs;
    if (f->reqs != NULL) {
        f->reqs->prev = r;
    }
    f->reqs = r;
    return r;
}

static void
req_unlink(struct follower *f, struct req *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        f->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
}

static void
follow_cancel_all(struct follower *f)
{
    while (f->reqs != NULL) {
        struct req *r = f->reqs;
        req_unlink(f, r);
        http_cancel(r->h);
        free(r);
    }
    f->inflight = 0;
    f->polling = f->proving = f->seeding = 0;
}

/* Is this a response worth parsing?  Records failures and throttling. */
static int
follow_response_ok(struct follower *f, const struct http_response *resp,
                   const char *what)
{
    if (resp->result == HTTP_COMPLETE && resp->status == 200) {
        return 1;
    }
    if (resp->result == HTTP_COMPLETE) {
        follow_error(f, "%s: HTTP status %d", what, resp->status);
    } else {
        follow_error(f, "%s: %s", what,
                     resp->error != NULL ? resp->error
                                         : http_result_str(resp->result));
    }
    return 0;
}

/* ---- liveness ------------------------------------------------------ */

void
follow_liveness_update(const struct follow_env *env,
                       const struct config_log *cfg, int64_t log_id,
                       const char *origin, int has_cp, uint64_t vsize,
                       uint64_t last_growth_ms, struct follow_pace *p, int ok)
{
    uint64_t now = follow_mono(env);
    int64_t wall = follow_wall(env);
    char key[1024], msg[1024];

    if (ok) {
        p->failing_since_ms = 0;
        p->failing_since = 0;
        p->once_failures = 0;
        if (log_id != 0 && store_log_success(env->store, log_id, wall) != 0) {
            follow_fatal(env, store_errmsg(env->store));
        }
    } else {
        if (p->failing_since_ms == 0) {
            p->failing_since_ms = now;
            p->failing_since = wall;
        }
        if (now - p->failing_since_ms >= cfg->unreachable_after_ms) {
            /* The id names the outage by its wall-clock start; how long
             * it lasted is measured on the monotonic clock. */
            snprintf(key, sizeof(key), "unreachable|%lld",
                     (long long)p->failing_since);
            snprintf(msg, sizeof(msg),
                     "Log %s has been unreachable since %lld (%llu s)",
                     cfg->name, (long long)p->failing_since,
                     (unsigned long long)((now - p->failing_since_ms) / 1000));
            follow_raise_log_alert(env, cfg->name, log_id, origin,
                                   "log.unreachable", key, msg, NULL);
        }
    }
    if (has_cp && last_growth_ms != 0 &&
        now - last_growth_ms >= cfg->stale_after_ms) {
        snprintf(key, sizeof(key), "stale|%s|%llu", origin,
                 (unsigned long long)vsize);
        snprintf(msg, sizeof(msg),
                 "Log %s has signed no checkpoint newer than size %llu "
                 "for %llu s",
                 cfg->name, (unsigned long long)vsize,
                 (unsigned long long)((now - last_growth_ms) / 1000));
        follow_raise_log_alert(env, cfg->name, log_id, origin, "log.stale", key,
                               msg, NULL);
    }
}

int
follow_failing_for(const struct follow_env *env, const struct follow_pace *p,
                   uint64_t ms)
{
    return p->failing_since_ms != 0 &&
           follow_mono(env) - p->failing_since_ms >= ms;
}

static void
follow_liveness(struct follower *f, int ok)
{
    follow_liveness_update(f->env, f->cfg, f->cur.log_id, f->cur.origin,
                           f->cur.has_cp, f->cur.vsize, f->last_growth_ms,
                           &f->pace, ok);
}

/* ---- pacing (shared with follow_tiles.c) --------------------------- */

void
follow_pace_init(struct follow_pace *p, const struct config_log *cfg,
                 struct follower_stats *stats)
{
    memset(p, 0, sizeof(*p));
    p->window = cfg->max_concurrency;
    stats->window_min = p->window;
}

void
follow_pace_throttle(struct follow_pace *p, const struct follow_env *env,
                     const struct config_log *cfg,
                     const struct http_response *resp,
                     struct follower_stats *stats)
{
    uint64_t delay;
    unsigned was = p->window;

    p->window = p->window > 1 ? p->window / 2 : 1;
    if (p->window != was) {
        log_info("%s: throttled (%s): request window %u -> %u", cfg->name,
                 resp != NULL && resp->result == HTTP_COMPLETE
                     ? (resp->status == 429 ? "429" : "5xx")
                     : "error",
                 was, p->window);
    }
    if (p->window < stats->window_min || stats->window_min == 0) {
        stats->window_min = p->window;
    }
    stats->throttled++;
    if (p->fail_streak < 16) {
        p->fail_streak++;
    }
    if (resp != NULL && resp->has_retry_after) {
        delay = resp->retry_after_s * 1000;
    } else {
        delay = (uint64_t)FOLLOW_BACKOFF_BASE_MS << (p->fail_streak - 1);
        if (delay > FOLLOW_BACKOFF_MAX_MS) {
            delay = FOLLOW_BACKOFF_MAX_MS;
        }
        delay = delay / 2 + env->ops->random(env->ctx, delay / 2 + 1);
    }
    if (follow_mono(env) + delay > p->pause_until_ms) {
        p->pause_until_ms = follow_mono(env) + delay;
    }
}

void
follow_pace_success(struct follow_pace *p, const struct config_log *cfg)
{
    p->fail_streak = 0;
    p->failing_since_ms = 0;
    p->failing_since = 0;
    p->once_failures = 0;
    if (p->window < cfg->max_concurrency) {
        p->window++;
        if (p->window == cfg->max_concurrency) {
            log_info("%s: request window recovered to %u", cfg->name,
                     p->window);
        }
    }
}

int
follow_pace_poll_failed(struct follow_pace *p, const struct follow_env *env,
                        const struct config_log *cfg,
                        const struct http_response *resp,
                        struct follower_stats *stats, uint64_t *wait_ms)
{
    int throttled = resp != NULL && resp->result == HTTP_COMPLETE &&
                    (resp->status == 429 || resp->status >= 500);
    uint64_t now = follow_mono(env), wait = 0;

    if (throttled) {
        follow_pace_throttle(p, env, cfg, resp, stats);
        wait = p->pause_until_ms > now ? p->pause_until_ms - now : 0;
    }
    if (env->once) {
        if ((!throttled && ++p->once_failures >= FOLLOW_ONCE_MAX_FAILURES) ||
            follow_failing_for(env, p, cfg->unreachable_after_ms)) {
            return 1;
        }
        if (!throttled) {
            wait = (uint64_t)FOLLOW_BACKOFF_BASE_MS << p->once_failures;
        }
        *wait_ms = wait;
        return 0;
    }
    *wait_ms = wait > cfg->poll_interval_ms
                   ? wait
                   : follow_jitter(env, cfg->poll_interval_ms, 10);
    return 0;
}

/* ---- polling ------------------------------------------------------- */

static void
follow_arm_poll(struct follower *f, uint64_t ms)
{
    if (f->env->once && f->once_done) {
        return;
    }
    f->env->ops->timer_arm(f->poll_ev, ms);
}

static void follow_throttle(struct follower *f,
                            const struct http_response *resp);

/*
 * A poll-side request (log, proof, seed) failed; resp is the response
 * when one came (NULL otherwise).  429 and 5xx are the server asking us to
 * slow down: the window halves and Retry-After is honoured.  once gives
 * up (exit 3) after FOLLOW_ONCE_MAX_FAILURES other failures in a row, or
 * when failing for longer than unreachable_after.
 */
static void
follow_poll_failed(struct follower *f, const struct http_response *resp)
{
    uint64_t wait;

    follow_liveness(f, 0);
    if (follow_pace_poll_failed(&f->pace, f->env, f->cfg, resp, &f->stats,
                                &wait)) {
        follow_cycle_done(f, 1);
        return;
    }
    follow_arm_poll(f, wait);
}

static void
follow_poll_cb(void *arg)
{
    struct follower *f = arg;

    if (f->polling || f->proving || f->seeding) {
        follow_arm_poll(f, 1000);
        return;
    }
    f->stopped = 0;
    if (follow_send(f, REQ_LOG, HTTP_GET, "/api/v1/log", NULL, 0) == NULL) {
        follow_error(f, "cannot start a request");
        follow_poll_failed(f, NULL);
        return;
    }
    f->polling = 1;
}

/*
 * Verify one signed tree head: note signature with our keys, checkpoint
 * parse, origin "<name> - <treeID>".  0, or -1 after raising
 * log.bad_signature (signature) or recording an error (malformed).
 */
static int
follow_verify_head(struct follower *f, const char *tree_id, const char *note,
                   size_t note_len, uint64_t offset, struct head *out)
{
    enum merkle_result r;
    const char *dash, *why;
    char key[1024], msg[1024];

    memset(out, 0, sizeof(*out));
    if (note_len > MERKLE_NOTE_MAX_SIZE) {
        follow_error(f, "signed tree head too large");
        return -1;
    }
    r = merkle_checkpoint_verify(note, note_len, f->keys, f->nkeys, &out->cp);
    if (r == MERKLE_ERR_NOTE_UNVERIFIED || r == MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        uint8_t h[MERKLE_HASH_LEN];
        char hex[2 * MERKLE_HASH_LEN + 1];
        merkle_leaf_hash((const uint8_t *)note, note_len, h);
        hexs(h, 8, hex, sizeof(hex));
        snprintf(key, sizeof(key), "bad_signature|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s served a checkpoint (tree %s) whose signature does "
                 "not verify with the pinned key: %s",
                 f->cfg->name, tree_id, merkle_strerror(r));
        char *copy = strndup(note, note_len);
        follow_log_alert(f, "log.bad_signature", key, msg, NULL,
                         follow_evidence_new(f->cur.vnote, copy, NULL, 0));
        f->stopped = 1;
        free(copy);
        return -1;
    }
    if (r != MERKLE_OK) {
        follow_error(f, "signed tree head: %s", merkle_strerror(r));
        return -1;
    }
    dash = strstr(out->cp.origin, " - ");
    why = follow_checkpoint_impossible(
        &out->cp, offset,
        strcmp(tree_id, f->cur.tree_id) == 0 ? f->cur.origin : NULL);
    if (why == NULL && (dash == NULL || strcmp(dash + 3, tree_id) != 0)) {
        why = "its origin does not name the tree it is served for";
    }
    if (why != NULL) {
        /* Validly signed, so evidence of a misbehaving log, never a
         * reason to stop anything but this log's progress. */
        follow_raise_impossible(f->env, f->cfg->name, f->cur.log_id,
                                f->cur.origin[0] ? f->cur.origin
                                                 : out->cp.origin,
                                f->cur.vnote, note, note_len, why);
        f->stopped = 1;
        return -1;
    }
    if (strlen(tree_id) >= sizeof(out->tree_id)) {
        follow_error(f, "tree id too long");
        return -1;
    }
    strcpy(out->tree_id, tree_id);
    out->note = strndup(note, note_len);
    if (out->note == NULL) {
        return -1;
    }
    out->note_len = note_len;
    return 0;
}

/* Parse a tree head object {treeID, treeSize, signedTreeHead, rootHash}. */
static int
follow_parse_head(struct follower *f, json_t *o, uint64_t offset,
                  struct head *out)
{
    const char *tid = json_string_value(json_object_get(o, "treeID"));
    json_t *sth = json_object_get(o, "signedTreeHead");
    json_t *size = json_object_get(o, "treeSize");
    uint64_t tid_num;

    if (tid == NULL || !json_is_string(sth) || !json_is_integer(size) ||
        entry_parse_u64(tid, strlen(tid), &tid_num) != 0) {
        follow_error(f, "GET /api/v1/log: malformed tree head");
        return -1;
    }
    if (follow_verify_head(f, tid, json_string_value(sth),
                           json_string_length(sth), offset, out) != 0) {
        return -1;
    }
    if (json_integer_value(size) < 0 ||
        (uint64_t)json_integer_value(size) != out->cp.size) {
        /* The signed size is what counts; a differing field is noise
         * from a buggy server, not evidence. */
        log_debug("%s: treeSize field differs from the signed size",
                  f->cfg->name);
    }
    return 0;
}

static void follow_handle_view(struct follower *f);

static void
follow_on_log(struct follower *f, const struct http_response *resp)
{
    json_t *root, *inactive;
    json_error_t jerr;
    struct log_view v;
    size_t i;
    uint64_t offset = 0;

    f->polling = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log")) {
        follow_poll_failed(f, resp);
        return;
    }
    root =
        json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        follow_error(f, "GET /api/v1/log: not a JSON object");
        follow_poll_failed(f, NULL);
        return;
    }
    memset(&v, 0, sizeof(v));
    inactive = json_object_get(root, "inactiveShards");
    if (inactive != NULL && !json_is_array(inactive) &&
        !json_is_null(inactive)) {
        follow_error(f, "GET /api/v1/log: inactiveShards is not a list");
        goto fail;
    }
    if (json_array_size(inactive) > FOLLOW_MAX_SHARDS) {
        follow_error(f, "GET /api/v1/log: too many inactive shards");
        goto fail;
    }
    for (i = 0; i < json_array_size(inactive); i++) {
        if (follow_parse_head(f, json_array_get(inactive, i), offset,
                              &v.inactive[i]) != 0) {
            v.ninactive = i;
            goto fail;
        }
        v.inactive[i].offset = offset;
        offset += v.inactive[i].cp.size;
        v.ninactive = i + 1;
    }
    if (follow_parse_head(f, root, offset, &v.active) != 0) {
        goto fail;
    }
    v.active.offset = offset;
    json_decref(root);
    view_clear(&f->view);
    f->view = v;
    f->have_view = 1;
    {
        /* Reachable; but for once a cycle counts as a success only when
         * it gets further than the checkpoint (a log whose proof or seed
         * request always fails must end with exit 3, not poll forever). */
        unsigned failures = f->pace.once_failures;

        follow_liveness(f, 1);
        f->pace.once_failures = failures;
    }
    follow_handle_view(f);
    return;
fail:
    json_decref(root);
    view_clear(&v);
    if (f->stopped) {
        /* An alert was raised (bad signature): a verdict, not an outage. */
        follow_cycle_done(f, 0);
        return;
    }
    follow_poll_failed(f, NULL);
}

/* ---- checkpoints ----------------------------------------------------- */

/* Frozen shards: their final checkpoint must never change. */
static int
follow_check_frozen(struct follower *f)
{
    size_t i;
    int ok = 1;

    for (i = 0; i < f->view.ninactive; i++) {
        struct head *h = &f->view.inactive[i];
        struct store_checkpoint cp;
        struct store_checkpoint_row stored;
        enum store_frozen_result res;
        char key[1024], msg[1024];

        memset(&cp, 0, sizeof(cp));
        memset(&stored, 0, sizeof(stored));
        cp.note = h->note;
        cp.note_len = h->note_len;
        cp.size = h->cp.size;
        memcpy(cp.root, h->cp.root, MERKLE_HASH_LEN);
        if (store_frozen_check(f->env->store, f->cfg->name, h->cp.origin, &cp,
                               follow_wall(f->env), &res, &stored) != 0) {
            follow_fatal(f->env, store_errmsg(f->env->store));
            return 0;
        }
        if (res == STORE_FROZEN_DIFFERENT) {
            char r1[65], r2[65];
            hexs(stored.root, MERKLE_HASH_LEN, r1, sizeof(r1));
            hexs(h->cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
            snprintf(key, sizeof(key), "frozen|%s|%llu|%s|%llu|%s",
                     h->cp.origin, (unsigned long long)stored.size, r1,
                     (unsigned long long)h->cp.size, r2);
            snprintf(msg, sizeof(msg),
                     "Frozen shard %s changed its final checkpoint from "
                     "size %llu to size %llu",
                     h->cp.origin, (unsigned long long)stored.size,
                     (unsigned long long)h->cp.size);
            follow_log_alert(
                f, "log.inconsistent", key, msg, h->cp.origin,
                follow_evidence_new(stored.note, h->note, NULL, 0));
            ok = 0;
        }
        store_checkpoint_row_free(&stored);
    }
    return ok;
}

static void
shard_set_cp(struct shard *s, const struct head *h)
{
    free(s->vnote);
    s->vnote = strdup(h->note);
    s->vnote_len = h->note_len;
    s->vsize = h->cp.size;
    memcpy(s->vroot, h->cp.root, MERKLE_HASH_LEN);
    s->has_cp = 1;
}

/* Queue a root check at a newly verified size ahead of the cursor. */
static void
follow_add_check(struct follower *f, uint64_t size,
                 const uint8_t root[MERKLE_HASH_LEN])
{
    if (f->nchecks == sizeof(f->checks) / sizeof(f->checks[0])) {
        /* Keep the newest: it is the target; older ones are implied by
         * the consistency proofs already verified. */
        memmove(&f->checks[0], &f->checks[1],
                (f->nchecks - 1) * sizeof(f->checks[0]));
        f->nchecks--;
    }
    f->checks[f->nchecks].size = size;
    memcpy(f->checks[f->nchecks].root, root, MERKLE_HASH_LEN);
    f->nchecks++;
}

/* Record h as the shard's newest verified checkpoint. */
static int
follow_record(struct follower *f, const struct head *h,
              const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    struct store_checkpoint cp;

    memset(&cp, 0, sizeof(cp));
    cp.note = h->note;
    cp.note_len = h->note_len;
    cp.size = h->cp.size;
    memcpy(cp.root, h->cp.root, MERKLE_HASH_LEN);
    cp.link = nproof > 0 ? STORE_LINK_CONSISTENCY : STORE_LINK_NONE;
    cp.proof = proof;
    cp.nproof = nproof;
    if (store_checkpoint_record(f->env->store, f->cur.log_id, &cp,
                                follow_wall(f->env)) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    if (!f->cur.has_cp || h->cp.size > f->cur.vsize) {
        f->last_growth_ms = follow_mono(f->env);
    }
    shard_set_cp(&f->cur, h);
    if (f->has_cursor && h->cp.size > f->next - f->cur.offset) {
        follow_add_check(f, h->cp.size, h->cp.root);
    }
    return 0;
}

/*
 * Move the shard's verified checkpoint to h (the active head, or the
 * final checkpoint of our shard after a rotation).  May go asynchronous
 * (consistency proof); follow_after_checkpoint runs when it is settled.
 */
static void
follow_advance(struct follower *f, const struct head *h, int final)
{
    char key[1024], msg[1024], r1[65], r2[65], path[256];

    if (!f->cur.has_cp || f->cur.vsize == 0) {
        if (follow_record(f, h, NULL, 0) != 0) {
            return;
        }
        f->cur.final = final;
        follow_after_checkpoint(f);
        return;
    }
    hexs(f->cur.vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    hexs(h->cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
    if (h->cp.size < f->cur.vsize) {
        snprintf(key, sizeof(key), "rollback|%s|%llu|%s|%llu|%s", f->cur.origin,
                 (unsigned long long)f->cur.vsize, r1,
                 (unsigned long long)h->cp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s signed size %llu after size %llu was verified",
                 f->cfg->name, (unsigned long long)h->cp.size,
                 (unsigned long long)f->cur.vsize);
        follow_log_alert(f, "log.rollback", key, msg, NULL,
                         follow_evidence_new(f->cur.vnote, h->note, NULL, 0));
        f->stopped = 1;
        follow_after_checkpoint(f);
        return;
    }
    if (h->cp.size == f->cur.vsize) {
        if (!merkle_hash_equal(h->cp.root, f->cur.vroot)) {
            snprintf(key, sizeof(key), "fork|%s|%llu|%s|%s", f->cur.origin,
                     (unsigned long long)h->cp.size, r1, r2);
            snprintf(msg, sizeof(msg),
                     "Log %s signed two different roots for size %llu",
                     f->cfg->name, (unsigned long long)h->cp.size);
            follow_log_alert(
                f, "log.inconsistent", key, msg, NULL,
                follow_evidence_new(f->cur.vnote, h->note, NULL, 0));
            f->stopped = 1;
        } else if (final) {
            f->cur.final = 1;
        }
        follow_after_checkpoint(f);
        return;
    }
    /* Larger: prove it. */
    free(f->pcp.head.note);
    f->pcp.head = *h;
    f->pcp.head.note = strdup(h->note);
    f->pcp.final = final;
    snprintf(path, sizeof(path),
             "/api/v1/log/proof?firstSize=%llu&lastSize=%llu&treeID=%s",
             (unsigned long long)f->cur.vsize, (unsigned long long)h->cp.size,
             h->tree_id);
    if (f->pcp.head.note == NULL ||
        follow_send(f, REQ_PROOF, HTTP_GET, path, NULL, 0) == NULL) {
        follow_error(f, "cannot start a proof request");
        follow_after_checkpoint(f);
        return;
    }
    f->proving = 1;
}

/*
 * Parse a /api/v1/log/proof response: {"hashes": [hex...], ...}.  Only
 * the hashes are used: rootHash is the log's current root in production,
 * not the one being proven, and checkpoint is not needed (both roots are
 * already verified).  0, or -1 with a message.
 */
static int
follow_parse_proof(const char *body, size_t len,
                   uint8_t (*hashes)[MERKLE_HASH_LEN], size_t *n, char *err,
                   size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *arr = json_object_get(root, "hashes");
    size_t i;

    *n = 0;
    if (!json_is_object(root) ||
        (arr != NULL && !json_is_array(arr) && !json_is_null(arr))) {
        snprintf(err, errlen, "not a proof object");
        json_decref(root);
        return -1;
    }
    if (json_array_size(arr) > MERKLE_MAX_PROOF) {
        snprintf(err, errlen, "too many proof hashes");
        json_decref(root);
        return -1;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *h = json_array_get(arr, i);
        if (!json_is_string(h) ||
            entry_parse_hash_hex(json_string_value(h), json_string_length(h),
                                 hashes[i]) != 0) {
            snprintf(err, errlen, "proof hash %zu is not 64 hex digits", i);
            json_decref(root);
            return -1;
        }
    }
    *n = i;
    json_decref(root);
    return 0;
}

static void
follow_on_proof(struct follower *f, const struct http_response *resp)
{
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    size_t nhashes = 0;
    char err[128];
    enum merkle_result r;
    struct head *h = &f->pcp.head;

    f->proving = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log/proof")) {
        follow_poll_failed(f, resp);
        return;
    }
    if (follow_parse_proof(resp->body, resp->body_len, hashes, &nhashes, err,
                           sizeof(err)) != 0) {
        follow_error(f, "GET /api/v1/log/proof: %s", err);
        follow_poll_failed(f, NULL);
        return;
    }
    r = merkle_verify_consistency(
        f->cur.vsize, h->cp.size, f->cur.vroot, h->cp.root,
        (const uint8_t(*)[MERKLE_HASH_LEN])hashes, nhashes);
    if (r != MERKLE_OK) {
        char key[1024], msg[1024], r1[65], r2[65];
        hexs(f->cur.vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
        hexs(h->cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "consistency|%s|%llu|%s|%llu|%s",
                 f->cur.origin, (unsigned long long)f->cur.vsize, r1,
                 (unsigned long long)h->cp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: no valid consistency proof from size %llu to "
                 "size %llu (%s)",
                 f->cfg->name, (unsigned long long)f->cur.vsize,
                 (unsigned long long)h->cp.size, merkle_strerror(r));
        follow_log_alert(
            f, "log.inconsistent", key, msg, NULL,
            follow_evidence_new(f->cur.vnote, h->note,
                                (const uint8_t(*)[MERKLE_HASH_LEN])hashes,
                                nhashes));
        f->stopped = 1;
        follow_after_checkpoint(f);
        return;
    }
    f->pace.once_failures = 0; /* a verified proof: progress */
    if (follow_record(f, h, (const uint8_t(*)[MERKLE_HASH_LEN])hashes,
                      nhashes) == 0 &&
        f->pcp.final) {
        f->cur.final = 1;
    }
    follow_after_checkpoint(f);
}

/* ---- shards ------------------------------------------------------------ */

/* Point cur at shard h (new or resumed from the store). */
static int
follow_enter_shard(struct follower *f, const struct head *h)
{
    int found = 0;
    struct store_checkpoint_row row;

    free(f->cur.vnote);
    memset(&f->cur, 0, sizeof(f->cur));
    snprintf(f->cur.origin, sizeof(f->cur.origin), "%s", h->cp.origin);
    snprintf(f->cur.tree_id, sizeof(f->cur.tree_id), "%s", h->tree_id);
    f->cur.offset = h->offset;
    if (store_log_open(f->env->store, f->cfg->name, h->cp.origin,
                       follow_wall(f->env), &f->cur.log_id) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    memset(&row, 0, sizeof(row));
    if (store_checkpoint_latest(f->env->store, f->cur.log_id, &found, &row) !=
        0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    if (found) {
        f->cur.has_cp = 1;
        f->cur.vsize = row.size;
        memcpy(f->cur.vroot, row.root, MERKLE_HASH_LEN);
        f->cur.vnote = row.note;
        f->cur.vnote_len = row.note_len;
        row.note = NULL;
        store_checkpoint_row_free(&row);
    }
    if (store_cursor_get(f->env->store, f->cur.log_id, &f->has_cursor, &f->next,
                         &f->range) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    f->committed_next = f->next;
    f->nchecks = 0;
    if (f->has_cursor && f->cur.has_cp &&
        f->next - f->cur.offset < f->cur.vsize) {
        follow_add_check(f, f->cur.vsize, f->cur.vroot);
    }
    return 0;
}

/* The shard that starts where ours ends, from the last view. */
static const struct head *
follow_successor(const struct follower *f)
{
    uint64_t end = f->cur.offset + f->cur.vsize;
    size_t i;

    for (i = 0; i < f->view.ninactive; i++) {
        if (f->view.inactive[i].offset == end &&
            strcmp(f->view.inactive[i].cp.origin, f->cur.origin) != 0) {
            return &f->view.inactive[i];
        }
    }
    if (f->view.active.offset == end &&
        strcmp(f->view.active.cp.origin, f->cur.origin) != 0) {
        return &f->view.active;
    }
    return NULL;
}

/* Our shard is finished: move to its successor at local 0. */
static void
follow_switch_shard(struct follower *f)
{
    const struct head *succ = follow_successor(f);
    struct head copy;
    int is_final;

    if (succ == NULL) {
        char key[1024], msg[1024];
        snprintf(key, sizeof(key), "successor|%s|%llu", f->cur.origin,
                 (unsigned long long)(f->cur.offset + f->cur.vsize));
        snprintf(msg, sizeof(msg),
                 "Log %s: no shard continues frozen shard %s at virtual "
                 "index %llu",
                 f->cfg->name, f->cur.origin,
                 (unsigned long long)(f->cur.offset + f->cur.vsize));
        follow_log_alert(f, "log.inconsistent", key, msg, NULL, NULL);
        f->stopped = 1;
        follow_cycle_done(f, 0);
        return;
    }
    log_info("%s: shard %s finished at virtual index %llu; following %s",
             f->cfg->name, f->cur.origin,
             (unsigned long long)(f->cur.offset + f->cur.vsize),
             succ->cp.origin);
    copy = *succ;
    copy.note = strdup(succ->note);
    is_final = succ != &f->view.active;
    if (copy.note == NULL || follow_enter_shard(f, &copy) != 0) {
        free(copy.note);
        return;
    }
    if (!f->has_cursor) {
        struct merkle_range empty;
        merkle_range_init(&empty);
        if (!f->cur.has_cp && follow_record(f, &copy, NULL, 0) != 0) {
            free(copy.note);
            return;
        }
        if (store_cursor_seed(f->env->store, f->cur.log_id, f->cur.offset,
                              &empty, follow_wall(f->env)) != 0) {
            follow_fatal(f->env, store_errmsg(f->env->store));
            free(copy.note);
            return;
        }
        f->has_cursor = 1;
        f->next = f->committed_next = f->cur.offset;
        f->range = empty;
        f->nchecks = 0;
        if (f->cur.vsize > 0) {
            follow_add_check(f, f->cur.vsize, f->cur.vroot);
        }
    }
    follow_advance(f, &copy, is_final);
    free(copy.note);
}

/* ---- seeding (point 4) ---------------------------------------------- */

/* The local index the cursor starts at, for a shard without a cursor. */
static uint64_t
follow_start_local(const struct follower *f)
{
    if (f->cfg->start_latest || f->cfg->start_index < f->cur.offset) {
        return f->cur.vsize;
    }
    if (f->cfg->start_index - f->cur.offset > f->cur.vsize) {
        return f->cur.vsize;
    }
    return f->cfg->start_index - f->cur.offset;
}

static void
follow_seed_done(struct follower *f, uint64_t local,
                 const struct merkle_range *r)
{
    if (store_cursor_seed(f->env->store, f->cur.log_id, f->cur.offset + local,
                          r, follow_wall(f->env)) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return;
    }
    f->has_cursor = 1;
    f->pace.once_failures = 0; /* seeded: progress */
    f->next = f->committed_next = f->cur.offset + local;
    f->range = *r;
    f->nchecks = 0;
    if (local < f->cur.vsize) {
        follow_add_check(f, f->cur.vsize, f->cur.vroot);
    }
    log_info("%s: cursor seeded at virtual index %llu (shard %s, local "
             "%llu)",
             f->cfg->name, (unsigned long long)f->next, f->cur.origin,
             (unsigned long long)local);
}

static void
follow_seed(struct follower *f)
{
    uint64_t local = follow_start_local(f);
    char path[128];
    struct merkle_range empty;

    if (local == 0) {
        merkle_range_init(&empty);
        follow_seed_done(f, 0, &empty);
        follow_after_checkpoint(f);
        return;
    }
    snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%llu",
             (unsigned long long)(f->cur.offset + local - 1));
    if (follow_send(f, REQ_SEED, HTTP_GET, path, NULL, 0) == NULL) {
        follow_error(f, "cannot start a seed request");
        follow_cycle_done(f, 1);
        return;
    }
    f->seeding = 1;
}

static void
follow_on_seed(struct follower *f, const struct http_response *resp)
{
    uint64_t local = follow_start_local(f);
    json_t *root = NULL, *el;
    struct entry *e = NULL;
    struct merkle_checkpoint cp;
    struct merkle_range r;
    json_error_t jerr;
    char err[ENTRY_ERR_LEN];
    enum merkle_result mr;
    uint8_t rr[MERKLE_HASH_LEN];

    f->seeding = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log/entries")) {
        follow_poll_failed(f, resp);
        return;
    }
    root =
        json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    /* Production answers a JSON object; some versions a one-item list. */
    el = json_is_array(root) ? json_array_get(root, 0) : root;
    if (el == NULL || (e = entry_from_json(el, err, sizeof(err))) == NULL) {
        follow_error(f, "seed entry: %s", el == NULL ? "not JSON" : err);
        goto fail;
    }
    if (e->log_index != f->cur.offset + local - 1 || !e->has_proof ||
        !e->proof.has_index || e->proof.index != local - 1 ||
        e->proof.checkpoint == NULL) {
        follow_error(f,
                     "seed entry: not the entry at index %llu with an "
                     "inclusion proof and checkpoint",
                     (unsigned long long)(f->cur.offset + local - 1));
        goto fail;
    }
    mr = merkle_checkpoint_verify(e->proof.checkpoint, e->proof.checkpoint_len,
                                  f->keys, f->nkeys, &cp);
    if (mr != MERKLE_OK) {
        follow_error(f, "seed entry checkpoint: %s", merkle_strerror(mr));
        goto fail;
    }
    if (strcmp(cp.origin, f->cur.origin) != 0 || cp.size != e->proof.size ||
        !merkle_hash_equal(cp.root, e->proof.root) || cp.size < f->cur.vsize) {
        follow_error(f, "seed entry: its checkpoint does not match its proof");
        goto fail;
    }
    mr = merkle_range_from_inclusion(
        &r, local - 1, cp.size, e->leaf_hash,
        (const uint8_t(*)[MERKLE_HASH_LEN])e->proof.hashes, e->proof.nhashes,
        cp.root);
    if (mr != MERKLE_OK) {
        follow_error(f, "seed entry inclusion proof: %s", merkle_strerror(mr));
        goto fail;
    }
    /* Starting at the verified size: the seeded range must give its root. */
    merkle_range_root(&r, rr);
    if (local == f->cur.vsize && !merkle_hash_equal(rr, f->cur.vroot)) {
        follow_error(f, "seed: compact range root differs from the verified "
                        "checkpoint");
        goto fail;
    }
    entry_free(e);
    json_decref(root);
    follow_seed_done(f, local, &r);
    follow_after_checkpoint(f);
    return;
fail:
    entry_free(e);
    json_decref(root);
    follow_poll_failed(f, NULL);
}

/* ---- the view, after a poll ----------------------------------------- */

static void
follow_handle_view(struct follower *f)
{
    size_t i;

    if (!follow_check_frozen(f)) {
        /* Keep following: the alert is raised; our own shard is judged
         * below like any other. */
    }
    if (f->cur.log_id == 0) {
        /* Fresh: pick the shard holding the start index. */
        const struct head *h = &f->view.active;
        int final = 0;
        if (!f->cfg->start_latest && f->cfg->start_index < h->offset) {
            for (i = 0; i < f->view.ninactive; i++) {
                const struct head *s = &f->view.inactive[i];
                if (f->cfg->start_index >= s->offset &&
                    f->cfg->start_index < s->offset + s->cp.size) {
                    h = s;
                    final = 1;
                    break;
                }
            }
        }
        if (follow_enter_shard(f, h) != 0) {
            return;
        }
        follow_advance(f, h, final);
        return;
    }
    if (strcmp(f->view.active.cp.origin, f->cur.origin) == 0) {
        if (f->view.active.offset != f->cur.offset) {
            char key[1024], msg[1024];
            snprintf(key, sizeof(key), "offset|%s|%llu|%llu", f->cur.origin,
                     (unsigned long long)f->cur.offset,
                     (unsigned long long)f->view.active.offset);
            snprintf(msg, sizeof(msg),
                     "Log %s: the virtual offset of shard %s moved from "
                     "%llu to %llu",
                     f->cfg->name, f->cur.origin,
                     (unsigned long long)f->cur.offset,
                     (unsigned long long)f->view.active.offset);
            follow_log_alert(f, "log.inconsistent", key, msg, NULL, NULL);
            f->stopped = 1;
            follow_after_checkpoint(f);
            return;
        }
        follow_advance(f, &f->view.active, 0);
        return;
    }
    for (i = 0; i < f->view.ninactive; i++) {
        if (strcmp(f->view.inactive[i].cp.origin, f->cur.origin) == 0) {
            follow_advance(f, &f->view.inactive[i], 1);
            return;
        }
    }
    {
        char key[1024], msg[1024];
        snprintf(key, sizeof(key), "vanished|%s", f->cur.origin);
        snprintf(msg, sizeof(msg),
                 "Log %s no longer lists shard %s, active or inactive",
                 f->cfg->name, f->cur.origin);
        follow_log_alert(
            f, "log.inconsistent", key, msg, NULL,
            follow_evidence_new(f->cur.vnote, f->view.active.note, NULL, 0));
        f->stopped = 1;
        follow_after_checkpoint(f);
    }
}

/* The checkpoint step is settled: seed, fetch, or finish the cycle. */
static void
follow_after_checkpoint(struct follower *f)
{
    if (follow_is_fatal(f->env)) {
        return;
    }
    if (f->stopped || !f->cur.has_cp) {
        follow_cycle_done(f, 0);
        return;
    }
    if (!f->has_cursor) {
        follow_seed(f);
        return;
    }
    f->fetching = 1;
    if (f->fetch_next < f->next) {
        f->fetch_next = f->next;
    }
    follow_pump(f);
}

/* ---- fetching and applying -------------------------------------------- */

int
follow_commit_progress(const struct follow_env *env, int64_t log_id,
                       uint64_t from, uint64_t to,
                       const struct merkle_range *range, uint64_t root_checks,
                       json_t *batch_alerts, struct policy_batch *signings)
{
    struct store_progress p;
    struct store_alert *alerts = NULL;
    const char *(*sinks)[64] = NULL;
    char **bodies = NULL;
    size_t i, n = json_array_size(batch_alerts), nsinks, fresh = 0;
    int rc = -1;

    if (n > 0) {
        alerts = calloc(n, sizeof(*alerts));
        bodies = calloc(n, sizeof(*bodies));
        sinks = calloc(n, sizeof(*sinks)); /* each alert its own sinks */
        if (alerts == NULL || bodies == NULL || sinks == NULL) {
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        json_t *a = json_array_get(batch_alerts, i);
        json_t *entry = json_object_get(a, "entry");
        json_t *rule = json_object_get(a, "rule");
        enum notify_severity sev = notify_alert_get_severity(a);
        bodies[i] = notify_alert_render(a);
        if (bodies[i] == NULL) {
            goto out;
        }
        nsinks = env->ops->sinks_for(env->ctx, sev, sinks[i], 64);
        alerts[i].id = notify_alert_get_id(a);
        alerts[i].type = notify_alert_get_type(a);
        alerts[i].severity = sev;
        alerts[i].detected_at = follow_wall(env);
        alerts[i].has_index = entry != NULL;
        alerts[i].log_index =
            (uint64_t)json_integer_value(json_object_get(entry, "log_index"));
        alerts[i].rule = json_string_value(rule);
        alerts[i].body = bodies[i];
        alerts[i].sinks = sinks[i];
        alerts[i].nsinks = nsinks;
        env->ops->alert_raised(env->ctx, sev);
    }
    if (range == NULL) {
        if (store_record_ahead(env->store, log_id, alerts, n, signings->v,
                               signings->n, follow_wall(env), &fresh) != 0) {
            follow_fatal(env, store_errmsg(env->store));
            goto out;
        }
        json_array_clear(batch_alerts);
        policy_batch_clear(signings);
        rc = 0;
        if (fresh > 0) {
            env->ops->outbox_flush(env->ctx);
        }
        goto out;
    }
    memset(&p, 0, sizeof(p));
    p.from_index = from;
    p.to_index = to;
    p.range = range;
    p.root_checks_passed = root_checks;
    p.alerts = alerts;
    p.nalerts = n;
    p.signings = signings->v;
    p.nsignings = signings->n;
    if (store_commit_progress(env->store, log_id, &p, follow_wall(env),
                              &fresh) != 0) {
        follow_fatal(env, store_errmsg(env->store));
        goto out;
    }
    json_array_clear(batch_alerts);
    policy_batch_clear(signings);
    rc = 0;
    if (fresh > 0) {
        env->ops->outbox_flush(env->ctx);
    }
out:
    for (i = 0; bodies != NULL && i < n; i++) {
        free(bodies[i]);
    }
    free(bodies);
    free(alerts);
    free(sinks);
    return rc;
}

static int
follow_commit(struct follower *f)
{
    if (f->next == f->committed_next && json_array_size(f->batch_alerts) == 0) {
        return 0;
    }
    if (follow_commit_progress(f->env, f->cur.log_id, f->committed_next,
                               f->next, &f->range, f->root_checks,
                               f->batch_alerts, &f->batch_signings) != 0) {
        return -1;
    }
    f->committed_next = f->next;
    f->root_checks = 0;
    return 0;
}

static void
follow_clear_slots(struct follower *f)
{
    size_t i;

    for (i = 0; i < f->nslots; i++) {
        entry_free(f->slots[i]);
        f->slots[i] = NULL;
        f->ahead[i] = 0;
    }
    f->slot_bytes = 0;
    f->nretry = 0;
    withhold_clear(&f->wh);
}

/* Back to the committed state: drop everything applied since. */
static void
follow_reset_to_committed(struct follower *f)
{
    struct req *r, *nx;

    for (r = f->reqs; r != NULL; r = nx) {
        nx = r->next;
        if (r->kind == REQ_ENTRIES) {
            req_unlink(f, r);
            http_cancel(r->h);
            free(r);
        }
    }
    f->inflight = 0;
    follow_clear_slots(f);
    json_array_clear(f->batch_alerts);
    policy_batch_clear(&f->batch_signings);
    f->root_checks = 0;
    if (store_cursor_get(f->env->store, f->cur.log_id, &f->has_cursor, &f->next,
                         &f->range) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return;
    }
    f->committed_next = f->next;
    f->fetch_next = f->next;
    f->fetching = 0;
    f->nchecks = 0;
    if (f->cur.has_cp && f->next - f->cur.offset < f->cur.vsize) {
        follow_add_check(f, f->cur.vsize, f->cur.vroot);
    }
}

static void
follow_mismatch(struct follower *f, const char *key, const char *summary,
                json_t *evidence)
{
    follow_log_alert(f, "log.entries_mismatch", key, summary, NULL, evidence);
    follow_reset_to_committed(f);
    f->stopped = 1;
    follow_cycle_done(f, 0);
}

/* Apply every entry that is next in order. */
static void
follow_apply(struct follower *f)
{
    while (f->has_cursor) {
        size_t slot = (size_t)(f->next % f->nslots);
        struct entry *e = f->slots[slot];
        uint64_t local;

        if (e == NULL || e->log_index != f->next) {
            break;
        }
        f->slots[slot] = NULL;
        f->ahead[slot] = 0;
        f->slot_bytes -= entry_bytes(e);
        if (e->has_uuid_leaf &&
            !merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) {
            char key[1024], msg[1024], lh[65];
            json_t *ev;
            hexs(e->leaf_hash, MERKLE_HASH_LEN, lh, sizeof(lh));
            snprintf(key, sizeof(key), "entry|%s|%llu|%s", f->cur.origin,
                     (unsigned long long)f->next, lh);
            snprintf(msg, sizeof(msg),
                     "Log %s served a body for index %llu that does not "
                     "hash to its entry id",
                     f->cfg->name, (unsigned long long)f->next);
            ev = follow_evidence_new(f->cur.vnote, NULL, NULL, 0);
            json_object_set_new(ev, "log_index",
                                json_integer((json_int_t)f->next));
            json_object_set_new(ev, "uuid", json_string(e->uuid));
            json_object_set_new(ev, "leaf_hash", json_string(lh));
            entry_free(e);
            follow_mismatch(f, key, msg, ev);
            return;
        }
        if (e->has_tree_id &&
            e->tree_id != strtoull(f->cur.tree_id, NULL, 10)) {
            follow_error(f, "entry %llu carries another tree id",
                         (unsigned long long)f->next);
            entry_free(e);
            follow_reset_to_committed(f);
            follow_cycle_done(f, 0);
            return;
        }
        if (merkle_range_append(&f->range, e->leaf_hash) != MERKLE_OK) {
            entry_free(e);
            follow_fatal(f->env, "compact range overflow");
            return;
        }
        if (f->env->policy != NULL) {
            struct policy_entry_ctx pc = {f->cfg->name, f->cur.origin, f->next,
                                          f->next - f->cur.offset,
                                          follow_wall(f->env)};
            if (policy_eval(f->env->policy, &pc, e, f->batch_alerts,
                            &f->batch_signings) != 0) {
                entry_free(e);
                follow_fatal(f->env,
                             "out of memory evaluating the watch rules");
                return;
            }
        }
        entry_free(e);
        f->next++;
        f->stats.entries++;
        local = f->next - f->cur.offset;
        if (f->nchecks > 0 && local == f->checks[0].size) {
            uint8_t root[MERKLE_HASH_LEN];
            merkle_range_root(&f->range, root);
            if (!merkle_hash_equal(root, f->checks[0].root)) {
                char key[1024], msg[1024], r1[65], r2[65];
                json_t *ev;
                hexs(f->checks[0].root, MERKLE_HASH_LEN, r1, sizeof(r1));
                hexs(root, MERKLE_HASH_LEN, r2, sizeof(r2));
                snprintf(key, sizeof(key), "root|%s|%llu|%s|%s", f->cur.origin,
                         (unsigned long long)local, r1, r2);
                snprintf(msg, sizeof(msg),
                         "Log %s: the entries up to size %llu hash to %s, "
                         "not the signed root %s",
                         f->cfg->name, (unsigned long long)local, r2, r1);
                ev = follow_evidence_new(f->cur.vnote, NULL, NULL, 0);
                json_object_set_new(ev, "computed_root", json_string(r2));
                json_object_set_new(ev, "size",
                                    json_integer((json_int_t)local));
                follow_mismatch(f, key, msg, ev);
                return;
            }
            f->root_checks++;
            memmove(&f->checks[0], &f->checks[1],
                    (f->nchecks - 1) * sizeof(f->checks[0]));
            f->nchecks--;
            if (follow_commit(f) != 0) {
                return;
            }
        } else if (f->next - f->committed_next >= FOLLOW_COMMIT_EVERY) {
            if (follow_commit(f) != 0) {
                return;
            }
        }
    }
}

static void
follow_retry_push(struct follower *f, uint64_t idx)
{
    if (f->nretry == f->retry_cap) {
        size_t cap = f->retry_cap ? f->retry_cap * 2 : 64;
        uint64_t *n = realloc(f->retry, cap * sizeof(*n));
        if (n == NULL) {
            follow_fatal(f->env, "out of memory");
            return;
        }
        f->retry = n;
        f->retry_cap = cap;
    }
    f->retry[f->nretry++] = idx;
    f->stats.retried++;
}

static void
follow_throttle(struct follower *f, const struct http_response *resp)
{
    follow_pace_throttle(&f->pace, f->env, f->cfg, resp, &f->stats);
}

/* The log did not return idx (status: its answer's HTTP status, 200 when
 * the answer left it out): ask again after its backoff. */
static void
follow_missed(struct follower *f, uint64_t idx, int status)
{
    if (withhold_missed(&f->wh, idx, status, follow_mono(f->env),
                        follow_wall(f->env)) != 0) {
        log_warnx("%s: too many missing entries tracked", f->cfg->name);
    }
    follow_retry_push(f, idx);
}

/* Raise log.entries_withheld for every index missing for withhold_after. */
static void
follow_check_withheld(struct follower *f)
{
    struct withhold_unit *u;

    while ((u = withhold_take_overdue(&f->wh, f->cfg->withhold_after_ms,
                                      follow_mono(f->env))) != NULL) {
        follow_raise_withheld(f->env, f->cfg, f->cur.log_id, f->cur.origin,
                              f->cur.vnote, u->unit, u->unit, u);
    }
}

/* Put e in its reorder slot if request r asked for it; else free it. */
static void
follow_place(struct follower *f, const struct req *r, struct entry *e, int *got)
{
    size_t k;

    for (k = 0; k < r->n; k++) {
        if (r->idx[k] == e->log_index && !got[k]) {
            break;
        }
    }
    if (k == r->n || e->log_index < f->next ||
        e->log_index >= f->next + f->nslots ||
        f->slots[e->log_index % f->nslots] != NULL) {
        /* Not asked for in this request: ignore it. */
        entry_free(e);
        return;
    }
    got[k] = 1;
    f->slots[e->log_index % f->nslots] = e;
    f->slot_bytes += entry_bytes(e);
}

/*
 * Is e, read ahead of the cursor, in the log's signed tree?  Its leaf
 * hash must equal its entry id, and its inclusion proof must verify
 * against the verified checkpoint, or against the signed checkpoint the
 * log sent with it (verified with the pinned keys, same origin, not
 * smaller than the verified size).
 */
static int
follow_ahead_proven(const struct follower *f, const struct entry *e)
{
    const struct entry_proof *p = &e->proof;
    uint64_t local = e->log_index - f->cur.offset;
    struct merkle_checkpoint cp;

    if ((e->has_uuid_leaf && !merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) ||
        (e->has_tree_id && e->tree_id != strtoull(f->cur.tree_id, NULL, 10)) ||
        !e->has_proof || !p->has_tree || !p->has_index || p->index != local ||
        !f->cur.has_cp || p->size < f->cur.vsize) {
        return 0;
    }
    if (p->size != f->cur.vsize || !merkle_hash_equal(p->root, f->cur.vroot)) {
        if (p->checkpoint == NULL ||
            merkle_checkpoint_verify(p->checkpoint, p->checkpoint_len, f->keys,
                                     f->nkeys, &cp) != MERKLE_OK ||
            strcmp(cp.origin, f->cur.origin) != 0 || cp.size != p->size ||
            !merkle_hash_equal(cp.root, p->root)) {
            return 0;
        }
    }
    return merkle_verify_inclusion(local, p->size, e->leaf_hash,
                                   (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
                                   p->nhashes, p->root) == MERKLE_OK;
}

/*
 * The cursor waits for an index the log has not returned: scan the
 * entries read past it, each proven on its own (follow_ahead_proven),
 * with the watch rules, and record what they raise now.  The cursor and
 * the compact range do not move; when the cursor passes these entries
 * later, the same alerts and signings are recognised and not recorded
 * twice.  A withheld entry stops the cursor, not the watch.
 */
static void
follow_scan_ahead(struct follower *f)
{
    size_t i;
    int any = 0;

    if (f->wh.n == 0 || f->env->policy == NULL || follow_is_fatal(f->env)) {
        return;
    }
    for (i = 0; i < f->nslots; i++) {
        struct entry *e = f->slots[i];
        if (e == NULL || f->ahead[i] == AHEAD_SCANNED ||
            e->log_index <= f->next) {
            continue;
        }
        if (!e->has_proof && f->ahead[i] == AHEAD_NONE) {
            /* Read by the fast scanner, which keeps no proof: ask for it
             * once more, to be read whole (follow_on_entries reads every
             * response whole while an entry is missing). */
            f->ahead[i] = AHEAD_REREAD;
            f->slot_bytes -= entry_bytes(e);
            follow_retry_push(f, e->log_index);
            entry_free(e);
            f->slots[i] = NULL;
            continue;
        }
        f->ahead[i] = AHEAD_SCANNED;
        if (!follow_ahead_proven(f, e)) {
            continue;
        }
        {
            struct policy_entry_ctx pc = {
                f->cfg->name, f->cur.origin, e->log_index,
                e->log_index - f->cur.offset, follow_wall(f->env)};
            if (policy_eval(f->env->policy, &pc, e, f->ahead_alerts,
                            &f->ahead_signings) != 0) {
                follow_fatal(f->env,
                             "out of memory evaluating the watch rules");
                return;
            }
        }
        any = 1;
    }
    if (any &&
        (json_array_size(f->ahead_alerts) > 0 || f->ahead_signings.n > 0)) {
        log_info("%s: %zu alert(s) from entries read past a missing one",
                 f->cfg->name, json_array_size(f->ahead_alerts));
        (void)follow_commit_progress(f->env, f->cur.log_id, 0, 0, NULL, 0,
                                     f->ahead_alerts, &f->ahead_signings);
    }
}

static void
follow_on_entries(struct follower *f, struct req *r,
                  const struct http_response *resp)
{
    json_t *root;
    json_error_t jerr;
    size_t i, k;
    int got[FOLLOW_BATCH] = {0};
    struct entry *scanned[2 * FOLLOW_BATCH];
    long nscan;

    f->inflight--;
    if (resp->result != HTTP_COMPLETE || resp->status == 429 ||
        resp->status >= 500) {
        for (k = 0; k < r->n; k++) {
            follow_retry_push(f, r->idx[k]);
        }
        if (resp->result == HTTP_COMPLETE) {
            log_debug("%s: retrieve: HTTP %d, window %u", f->cfg->name,
                      resp->status, f->pace.window);
        } else {
            follow_error(f, "retrieve: %s",
                         resp->error ? resp->error
                                     : http_result_str(resp->result));
        }
        follow_throttle(f, resp);
        follow_liveness(f, 0);
        return;
    }
    if (resp->status != 200) {
        /* The log answers, but not with these entries: each is re-asked
         * on its own backoff, and reported withheld in time. */
        follow_error(f, "retrieve: HTTP status %d", resp->status);
        for (k = 0; k < r->n; k++) {
            follow_missed(f, r->idx[k], resp->status);
        }
        withhold_answered(&f->wh, follow_mono(f->env));
        follow_check_withheld(f);
        return;
    }
    /* Fast path: the strict scanner; anything unusual goes to jansson,
     * and so does every response while an entry is missing (the entries
     * read past it are proven on their own, from their inclusion proofs,
     * which the scanner does not keep). */
    nscan = f->wh.n > 0 ? -1
                        : scan_retrieve(resp->body, resp->body_len, scanned,
                                        sizeof(scanned) / sizeof(scanned[0]));
    if (nscan >= 0) {
        for (i = 0; i < (size_t)nscan; i++) {
            follow_place(f, r, scanned[i], got);
        }
    } else {
        root = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES,
                          &jerr);
        if (!json_is_array(root)) {
            follow_error(f, "retrieve: response is not a JSON list");
            json_decref(root);
            for (k = 0; k < r->n; k++) {
                follow_missed(f, r->idx[k], 200);
            }
            withhold_answered(&f->wh, follow_mono(f->env));
            follow_check_withheld(f);
            return;
        }
        for (i = 0; i < json_array_size(root); i++) {
            char err[ENTRY_ERR_LEN];
            struct entry *e =
                entry_from_json(json_array_get(root, i), err, sizeof(err));
            if (e == NULL) {
                follow_error(f, "retrieve: %s", err);
                continue;
            }
            follow_place(f, r, e, got);
        }
        json_decref(root);
    }
    withhold_answered(&f->wh, follow_mono(f->env));
    for (k = 0; k < r->n; k++) {
        if (!got[k]) {
            follow_missed(f, r->idx[k], 200);
        } else {
            withhold_got(&f->wh, r->idx[k]);
        }
    }
    follow_check_withheld(f);
    /* Reachable again; the store's last success is written per poll, not
     * per response (each store write is a synced transaction). */
    follow_pace_success(&f->pace, f->cfg);
    follow_apply(f);
    follow_scan_ahead(f);
}

/* The end of what we may read: the newest verified size of our shard. */
static uint64_t
follow_fetch_end(const struct follower *f)
{
    return f->cur.offset + f->cur.vsize;
}

static void
follow_pump_cb(void *arg)
{
    follow_pump(arg);
}

/*
 * Indexes wait for their backoff: wake the pump when the next is due.
 * While the log withholds one, run keeps polling (new checkpoints extend
 * what is read past the gap); once gives up when one has been missing
 * for unreachable_after.  -1 when the cycle ended here.
 */
static int
follow_withheld_wait(struct follower *f, uint64_t now)
{
    uint64_t due = withhold_next_due(&f->wh), oldest;

    if (f->env->once && (oldest = withhold_oldest_ms(&f->wh)) != UINT64_MAX &&
        now - oldest >= f->cfg->unreachable_after_ms) {
        log_warnx("%s: once: giving up: index %llu has been withheld for "
                  "%llu s",
                  f->cfg->name,
                  (unsigned long long)withhold_oldest_unit(&f->wh),
                  (unsigned long long)((now - oldest) / 1000));
        if (follow_commit(f) != 0) {
            return -1;
        }
        follow_reset_to_committed(f);
        follow_cycle_done(f, 1);
        return -1;
    }
    if (due != UINT64_MAX && !f->env->ops->timer_pending(f->pump_ev)) {
        uint64_t ms = due > now ? due - now : 1;
        f->env->ops->timer_arm(f->pump_ev, ms);
    }
    if (!f->env->once && f->wh.n > 0 && !f->polling && !f->proving &&
        !f->seeding && !f->env->ops->timer_pending(f->poll_ev)) {
        follow_arm_poll(f, follow_jitter(f->env, f->cfg->poll_interval_ms, 10));
    }
    return 0;
}

static void
follow_pump(struct follower *f)
{
    uint64_t end = follow_fetch_end(f), now;

    if (!f->fetching || follow_is_fatal(f->env)) {
        return;
    }
    now = follow_mono(f->env);
    if (now < f->pace.pause_until_ms) {
        uint64_t ms = f->pace.pause_until_ms - now;
        f->env->ops->timer_arm(f->pump_ev, ms);
        return;
    }
    while (f->inflight < f->pace.window) {
        char body[512];
        size_t n = 0, off;
        uint64_t idx[FOLLOW_BATCH];
        struct req *r;

        for (size_t i = 0; n < FOLLOW_BATCH && i < f->nretry;) {
            if (withhold_due(&f->wh, f->retry[i], now)) {
                idx[n++] = f->retry[i];
                f->retry[i] = f->retry[--f->nretry];
            } else {
                i++;
            }
        }
        while (n < FOLLOW_BATCH && f->fetch_next < end &&
               f->fetch_next < f->next + f->nslots &&
               f->slot_bytes < FOLLOW_LOOKAHEAD_BYTES) {
            idx[n++] = f->fetch_next++;
        }
        if (n == 0) {
            break;
        }
        off = (size_t)snprintf(body, sizeof(body), "{\"logIndexes\":[");
        for (size_t k = 0; k < n; k++) {
            off += (size_t)snprintf(body + off, sizeof(body) - off, "%s%llu",
                                    k ? "," : "", (unsigned long long)idx[k]);
        }
        off += (size_t)snprintf(body + off, sizeof(body) - off, "]}");
        r = follow_send(f, REQ_ENTRIES, HTTP_POST,
                        "/api/v1/log/entries/retrieve", body, off);
        if (r == NULL) {
            for (size_t k = 0; k < n; k++) {
                follow_retry_push(f, idx[k]);
            }
            follow_throttle(f, NULL);
            follow_pump(f);
            return;
        }
        r->n = n;
        memcpy(r->idx, idx, n * sizeof(idx[0]));
        f->inflight++;
        f->stats.requests++;
    }
    if (f->nretry > 0) {
        if (follow_withheld_wait(f, now) != 0) {
            return;
        }
    }
    if (f->inflight == 0 && f->nretry == 0 && f->next >= end) {
        /* Caught up with the verified checkpoint. */
        f->fetching = 0;
        if (follow_commit(f) != 0) {
            return;
        }
        if (f->cur.final) {
            follow_switch_shard(f);
            return;
        }
        follow_cycle_done(f, 0);
    }
}

/* ---- dispatch -------------------------------------------------------- */

static void
follow_http_done(const struct http_response *resp, void *arg)
{
    struct req *r = arg;
    struct follower *f = r->f;

    req_unlink(f, r);
    switch (r->kind) {
    case REQ_LOG:
        follow_on_log(f, resp);
        break;
    case REQ_PROOF:
        follow_on_proof(f, resp);
        break;
    case REQ_SEED:
        follow_on_seed(f, resp);
        break;
    case REQ_ENTRIES:
        follow_on_entries(f, r, resp);
        follow_pump(f);
        break;
    }
    free(r);
}

/* One poll cycle is over: once reports, run arms the next poll. */
static void
follow_cycle_done(struct follower *f, int failed)
{
    if (f->env->once) {
        if (f->once_done || f->fetching || f->proving || f->seeding) {
            return;
        }
        f->once_done = 1;
        f->env->ops->done(f->env->ctx, f, failed);
        return;
    }
    if (f->polling || f->proving || f->seeding) {
        return;
    }
    if (!f->env->ops->timer_pending(f->poll_ev)) {
        follow_arm_poll(f, follow_jitter(f->env, f->cfg->poll_interval_ms, 10));
    }
}

/* ---- life cycle ------------------------------------------------------ */

/* Resume the shard this log was reading, if the store knows one. */
struct resume_pick {
    const char *name;
    int found;
    int64_t log_id;
    uint64_t next;
    char origin[STORE_ORIGIN_MAX + 1];
    uint64_t offset;
};

static int
follow_pick_cb(void *arg, const struct store_log_status *st)
{
    struct resume_pick *p = arg;

    if (strcmp(st->name, p->name) != 0 || !st->has_cursor ||
        !st->has_checkpoint) {
        return 0;
    }
    if (!p->found || st->next_index > p->next ||
        (st->next_index == p->next && st->log_id > p->log_id)) {
        p->found = 1;
        p->log_id = st->log_id;
        p->next = st->next_index;
        p->offset = st->next_index - st->next_shard_index;
        snprintf(p->origin, sizeof(p->origin), "%s", st->origin);
    }
    return 0;
}

static int
follow_resume(struct follower *f, char *err, size_t errlen)
{
    struct resume_pick p;
    struct head h;
    const char *dash;

    memset(&p, 0, sizeof(p));
    p.name = f->cfg->name;
    if (store_logs_each(f->env->store, follow_pick_cb, &p) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(f->env->store));
        return -1;
    }
    if (!p.found) {
        return 0;
    }
    memset(&h, 0, sizeof(h));
    snprintf(h.cp.origin, sizeof(h.cp.origin), "%s", p.origin);
    dash = strstr(p.origin, " - ");
    snprintf(h.tree_id, sizeof(h.tree_id), "%s", dash ? dash + 3 : "");
    h.offset = p.offset;
    if (follow_enter_shard(f, &h) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(f->env->store));
        return -1;
    }
    {
        struct store_log_status st;
        if (store_log_status(f->env->store, f->cur.log_id, &st) == 0 &&
            st.frozen) {
            f->cur.final = 1;
        }
    }
    f->last_growth_ms = follow_mono(f->env);
    log_info("%s: resuming shard %s at virtual index %llu (verified size "
             "%llu)",
             f->cfg->name, f->cur.origin, (unsigned long long)f->next,
             (unsigned long long)f->cur.vsize);
    return 0;
}

struct follower *
follower_new(const struct follow_env *env, const struct config_log *cfg,
             char *err, size_t errlen)
{
    struct follower *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->env = env;
    f->cfg = cfg;
    if (cfg->kind == CONFIG_LOG_REKOR_V2) {
        f->tiles = tfollower_new(env, cfg, f, err, errlen);
        if (f->tiles == NULL) {
            free(f);
            return NULL;
        }
        return f;
    }
    follow_pace_init(&f->pace, cfg, &f->stats);
    f->nslots = (size_t)cfg->max_concurrency * FOLLOW_BATCH *
                FOLLOW_REORDER_PER_REQUEST;
    f->slots = calloc(f->nslots, sizeof(*f->slots));
    f->ahead = calloc(f->nslots, 1);
    f->batch_alerts = json_array();
    f->ahead_alerts = json_array();
    f->poll_ev = env->ops->timer_new(env->ctx, follow_poll_cb, f);
    f->pump_ev = env->ops->timer_new(env->ctx, follow_pump_cb, f);
    if (f->slots == NULL || f->ahead == NULL || f->batch_alerts == NULL ||
        f->ahead_alerts == NULL || f->poll_ev == NULL || f->pump_ev == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->kind != CONFIG_LOG_REKOR_V1) {
        snprintf(err, errlen, "log %s: unsupported log kind", cfg->name);
        goto fail;
    }
    if (follow_load_keys(f, err, errlen) != 0 ||
        follow_resume(f, err, errlen) != 0) {
        goto fail;
    }
    return f;
fail:
    follower_free(f);
    return NULL;
}

void
follower_start(struct follower *f)
{
    if (f->tiles != NULL) {
        tfollower_start(f->tiles);
        return;
    }
    follow_arm_poll(f, 0);
}

void
follower_free(struct follower *f)
{
    size_t i;

    if (f == NULL) {
        return;
    }
    if (f->tiles != NULL) {
        tfollower_free(f->tiles);
        free(f);
        return;
    }
    if (f->cur.log_id != 0 && f->has_cursor && !follow_is_fatal(f->env)) {
        (void)follow_commit(f);
    }
    follow_cancel_all(f);
    if (f->slots != NULL) {
        follow_clear_slots(f);
    }
    free(f->slots);
    free(f->ahead);
    free(f->retry);
    withhold_free(&f->wh);
    json_decref(f->batch_alerts);
    policy_batch_free(&f->batch_signings);
    json_decref(f->ahead_alerts);
    policy_batch_free(&f->ahead_signings);
    if (f->poll_ev != NULL) {
        f->env->ops->timer_free(f->poll_ev);
    }
    if (f->pump_ev != NULL) {
        f->env->ops->timer_free(f->pump_ev);
    }
    for (i = 0; i < f->nkeys; i++) {
        merkle_note_key_free(f->keys[i]);
    }
    view_clear(&f->view);
    free(f->pcp.head.note);
    free(f->cur.vnote);
    free(f);
}
