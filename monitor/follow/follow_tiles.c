/*
 * follow_tiles.c: the Rekor v2 (tlog-tiles) follower.  See follow_tiles.h
 * for what it proves.
 *
 * One cycle, per poll:
 *
 *   GET /checkpoint -> verify with the pinned keys (named by its origin)
 *     -> compare with the verified checkpoint:
 *          none        record (STORE_LINK_NONE)
 *          smaller     log.rollback
 *          same size   other root: log.inconsistent
 *          larger      hash tiles for the consistency proof and the root
 *                      -> root of the tiles == new signed root?
 *                      -> proof from the tiles verifies?   (else
 *                         log.inconsistent) -> record (CONSISTENCY)
 *     -> no cursor yet? hash tiles for the compact range at the start
 *        point and the root -> seed
 *     -> entry bundles [cursor, verified size), several in flight,
 *        applied in order; commit every FOLLOW_COMMIT_EVERY entries and at
 *        the verified size after its root check.
 *
 * The poll timer is armed again only when the cycle is over, so the
 * verified size does not move while bundles are read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "merkle/tiles.h"
#include "monitor/identity/entry.h"
#include "monitor/follow/follow.h"
#include "monitor/follow/follow_tiles.h"
#include "monitor/follow/withhold.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/identity/policy.h"
#include "monitor/store/store.h"
#include "monitor/follow/env.h"
#include "notify/alert.h"

#define TF_URL_MAX 2048
#define TF_SPKI_MAX 256
#define TF_NEED_MAX (2 * TILES_SET_MAX)

/* A pinned key, copied from the trusted root (it may be reloaded). */
struct tkey {
    int alg; /* CONFIG_KEY_* */
    uint8_t spki[TF_SPKI_MAX];
    size_t spki_len;
    uint8_t raw[32]; /* Ed25519 */
};

enum treq_kind {
    TR_CHECKPOINT = 0,
    TR_TILE,
    TR_BUNDLE,
};

struct treq {
    struct tfollower *tf;
    struct http_handle *h;
    enum treq_kind kind;
    struct tiles_coord c;
    struct treq *prev, *next;
};

enum tjob_purpose {
    TJ_CONSISTENCY = 0,
    TJ_SEED,
    TJ_CHECK, /* the compact range at the cursor, before a commit */
};

/* Hash tiles being read for one tree size. */
struct tjob {
    int active;
    enum tjob_purpose purpose;
    uint64_t n;
    uint64_t at; /* TJ_SEED: the start point; TJ_CHECK: the cursor */
    struct tiles_set *ts;
    struct tiles_coord need[TF_NEED_MAX];
    size_t nneed, nsent, ngot;
};

/* A received entry bundle, waiting for its turn. */
struct bslot {
    int have;
    uint64_t index;
    unsigned width;
    uint8_t *buf;
    size_t len;
};

struct tfollower {
    const struct follow_env *env; /* borrowed */
    const struct config_log *cfg; /* borrowed */
    struct follower *pub;         /* borrowed */
    struct tkey keys[TFOLLOW_MAX_KEYS];
    size_t nkeys;
    /* Where the tiles API is read: base[0] the configured url, base[1]
     * the other form ("/api/v2" added or removed), tried when the
     * checkpoint answers 404 until one form has answered. */
    char base[2][TF_URL_MAX];
    int alt;     /* the form in use */
    int settled; /* a checkpoint came from base[alt] */

    int64_t log_id; /* 0: no checkpoint seen yet */
    char origin[MERKLE_ORIGIN_MAX];
    int has_cp;
    uint64_t vsize;
    uint8_t vroot[MERKLE_HASH_LEN];
    char *vnote; /* owned */

    /* The checkpoint being proven. */
    char *pnote; /* owned */
    struct merkle_checkpoint pcp;

    /* The cursor: committed and applied. */
    int has_cursor;
    uint64_t committed_next;
    uint64_t next;
    struct merkle_range range;
    uint64_t root_checks;
    json_t *batch_alerts;
    struct policy_batch batch_signings;

    struct tjob job;

    /* Bundles. */
    int fetching;
    uint64_t fetch_next; /* next bundle index never requested */
    uint64_t *retry;     /* bundle indexes to ask for again */
    size_t nretry, retry_cap;
    struct withhold wh; /* bundles the log did not serve: backoff, verdict */
    struct bslot *slots;
    size_t nslots;
    size_t slot_bytes;       /* held in slots: bounds the look-ahead */
    struct follow_pace pace; /* window, backoff, once's failure count */
    unsigned inflight;

    struct treq *reqs;
    int polling;

    struct follow_timer *poll_ev, *pump_ev;

    uint64_t last_growth_ms; /* monotonic: the verified size last grew */
    int once_done;
    int stopped;
    int mismatch; /* set by the bundle callback */

    struct follower_stats stats;
};

static void tf_pump(struct tfollower *tf);
static void tf_after_checkpoint(struct tfollower *tf);
static void tf_cycle_done(struct tfollower *tf, int failed);
static void tf_poll_failed(struct tfollower *tf,
                           const struct http_response *resp);
static void tf_reset_to_committed(struct tfollower *tf);
static int tf_apply(struct tfollower *tf);
static int tf_commit(struct tfollower *tf);
static void tf_missed(struct tfollower *tf, uint64_t b, int status);
static void tf_entries_mismatch(struct tfollower *tf, uint64_t size,
                                const uint8_t want[MERKLE_HASH_LEN]);

/* ---- helpers ------------------------------------------------------- */

static void
hexs(const uint8_t *b, size_t n, char *out, size_t outcap)
{
    if (merkle_hex_encode(b, n, out, outcap) < 0 && outcap > 0) {
        out[0] = '\0';
    }
}

static int
tf_busy(const struct tfollower *tf)
{
    return tf->polling || tf->job.active || tf->fetching;
}

static void tf_error(struct tfollower *tf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
tf_error(struct tfollower *tf, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warnx("%s: %s", tf->cfg->name, msg);
    if (tf->log_id != 0 && store_log_error(tf->env->store, tf->log_id,
                                           follow_wall(tf->env), msg) != 0) {
        follow_fatal(tf->env, store_errmsg(tf->env->store));
    }
}

/* ---- alerts (the shapes of follow.c's) ----------------------------- */

/* Raise a log.* alert now; evidence is stolen (may be NULL). */
static void
tf_log_alert(struct tfollower *tf, const char *type, const char *key,
             const char *summary, json_t *evidence)
{
    follow_raise_log_alert(tf->env, tf->cfg->name, tf->log_id, tf->origin, type,
                           key, summary, evidence);
}

/* ---- keys ------------------------------------------------------------ */

/* base[0]: the configured url without trailing '/'; base[1]: the other
 * form of Rekor v2's read path ("/api/v2" removed or added), or "". */
static void
tf_set_bases(struct tfollower *tf)
{
    static const char suffix[] = "/api/v2";
    const size_t sl = sizeof(suffix) - 1;
    size_t ul = strlen(tf->cfg->url);

    while (ul > 0 && tf->cfg->url[ul - 1] == '/') {
        ul--;
    }
    snprintf(tf->base[0], sizeof(tf->base[0]), "%.*s", (int)ul, tf->cfg->url);
    if (ul > sl && strncmp(tf->base[0] + ul - sl, suffix, sl) == 0) {
        snprintf(tf->base[1], sizeof(tf->base[1]), "%.*s", (int)(ul - sl),
                 tf->base[0]);
    } else if (strchr(strstr(tf->base[0], "://") != NULL
                          ? strstr(tf->base[0], "://") + 3
                          : tf->base[0],
                      '/') == NULL) {
        /* Only a bare host gets the suffix tried. */
        size_t l0 = strlen(tf->base[0]);
        if (l0 + sl < sizeof(tf->base[1])) {
            memcpy(tf->base[1], tf->base[0], l0);
            memcpy(tf->base[1] + l0, suffix, sl + 1);
        }
    }
}

static int
tf_load_keys(struct tfollower *tf, char *err, size_t errlen)
{
    size_t i, n = config_trusted_root_ntlogs(tf->env->troot);

    for (i = 0; i < n && tf->nkeys < TFOLLOW_MAX_KEYS; i++) {
        const struct config_log_key *k =
            config_trusted_root_tlog(tf->env->troot, i);
        struct tkey *tk = &tf->keys[tf->nkeys];

        if (!follow_same_host(k->base_url, tf->cfg->url) || k->pkey == NULL) {
            continue;
        }
        memset(tk, 0, sizeof(*tk));
        if (k->alg == CONFIG_KEY_ECDSA_P256_SHA256 &&
            k->spki_len <= sizeof(tk->spki)) {
            memcpy(tk->spki, k->spki_der, k->spki_len);
            tk->spki_len = k->spki_len;
        } else if (k->alg == CONFIG_KEY_ED25519) {
            size_t rawlen = sizeof(tk->raw);
            if (EVP_PKEY_get_raw_public_key(k->pkey, tk->raw, &rawlen) != 1 ||
                rawlen != sizeof(tk->raw)) {
                snprintf(err, errlen, "log %s: unusable Ed25519 key",
                         tf->cfg->name);
                return -1;
            }
        } else {
            continue;
        }
        tk->alg = (int)k->alg;
        tf->nkeys++;
    }
    if (tf->nkeys == 0) {
        snprintf(err, errlen,
                 "log %s: the trusted root has no usable key for this url",
                 tf->cfg->name);
        return -1;
    }
    return 0;
}

/*
 * Verify a checkpoint with the pinned keys, each named by the note's
 * origin line (the C2SP key name of a tiles log is its origin).
 */
static enum merkle_result
tf_verify_note(struct tfollower *tf, const char *note, size_t len,
               struct merkle_checkpoint *out)
{
    struct merkle_note_key *nk[TFOLLOW_MAX_KEYS];
    char name[MERKLE_ORIGIN_MAX];
    const char *nl = memchr(note, '\n', len);
    size_t i, n = 0, olen;
    enum merkle_result r = MERKLE_ERR_NOTE_UNVERIFIED, kr;

    if (nl == NULL || (olen = (size_t)(nl - note)) == 0 ||
        olen >= sizeof(name)) {
        return MERKLE_ERR_NOTE_UNVERIFIED;
    }
    memcpy(name, note, olen);
    name[olen] = '\0';
    for (i = 0; i < tf->nkeys; i++) {
        struct merkle_note_key *k = NULL;
        if (tf->keys[i].alg == CONFIG_KEY_ED25519) {
            k = merkle_note_key_ed25519(name, tf->keys[i].raw, &kr);
        } else {
            k = merkle_note_key_ecdsa(name, tf->keys[i].spki,
                                      tf->keys[i].spki_len, &kr);
        }
        if (k != NULL) {
            nk[n++] = k;
        }
    }
    if (n > 0) {
        r = merkle_checkpoint_verify(note, len, nk, n, out);
    }
    for (i = 0; i < n; i++) {
        merkle_note_key_free(nk[i]);
    }
    return r;
}

/* ---- requests ----------------------------------------------------- */

static void tf_http_done(const struct http_response *resp, void *arg);

static struct treq *
tf_send(struct tfollower *tf, enum treq_kind kind, const char *path,
        uint64_t cap)
{
    char url[TF_URL_MAX];
    struct http_request_opts o;
    struct treq *r;

    if ((size_t)snprintf(url, sizeof(url), "%s/%s", tf->base[tf->alt], path) >=
        sizeof(url)) {
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->tf = tf;
    r->kind = kind;
    memset(&o, 0, sizeof(o));
    o.method = HTTP_GET;
    o.url = url;
    o.connect_timeout_ms = 10000;
    o.timeout_ms = 60000;
    o.max_response_bytes = cap;
    r->h = tf->env->ops->http_request(tf->env->ctx, &o, tf_http_done, r);
    if (r->h == NULL) {
        free(r);
        return NULL;
    }
    r->next = tf->reqs;
    if (tf->reqs != NULL) {
        tf->reqs->prev = r;
    }
    tf->reqs = r;
    return r;
}

static void
treq_unlink(struct tfollower *tf, struct treq *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        tf->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
}

/* Cancel every request of a kind (all kinds: -1). */
static void
tf_cancel(struct tfollower *tf, int kind)
{
    struct treq *r, *nx;

    for (r = tf->reqs; r != NULL; r = nx) {
        nx = r->next;
        if (kind < 0 || (int)r->kind == kind) {
            treq_unlink(tf, r);
            http_cancel(r->h);
            free(r);
        }
    }
}

static int
is_throttle(const struct http_response *resp)
{
    return resp != NULL &&
           (resp->result != HTTP_COMPLETE || resp->status == 429 ||
            resp->status >= 500) &&
           resp->result != HTTP_ERR_TOO_LARGE &&
           resp->result != HTTP_ERR_REFUSED;
}

static void
tf_response_error(struct tfollower *tf, const struct http_response *resp,
                  const char *what)
{
    if (resp->result == HTTP_COMPLETE) {
        tf_error(tf, "%s: HTTP status %d", what, resp->status);
    } else {
        tf_error(tf, "%s: %s", what,
                 resp->error != NULL ? resp->error
                                     : http_result_str(resp->result));
    }
}

/* ---- liveness and throttling --------------------------------------- */

static void
tf_liveness(struct tfollower *tf, int ok)
{
    follow_liveness_update(tf->env, tf->cfg, tf->log_id, tf->origin, tf->has_cp,
                           tf->vsize, tf->last_growth_ms, &tf->pace, ok);
}

static void
tf_throttle(struct tfollower *tf, const struct http_response *resp)
{
    follow_pace_throttle(&tf->pace, tf->env, tf->cfg, resp, &tf->stats);
}

static void
tf_unthrottle(struct tfollower *tf)
{
    follow_pace_success(&tf->pace, tf->cfg);
}

/* ---- polling ------------------------------------------------------- */

static void
tf_arm_poll(struct tfollower *tf, uint64_t ms)
{
    if (tf->env->once && tf->once_done) {
        return;
    }
    tf->env->ops->timer_arm(tf->poll_ev, ms);
}

/* A poll-side step failed (as follow.c's follow_poll_failed). */
static void
tf_poll_failed(struct tfollower *tf, const struct http_response *resp)
{
    uint64_t wait;

    tf_liveness(tf, 0);
    if (follow_pace_poll_failed(&tf->pace, tf->env, tf->cfg, resp, &tf->stats,
                                &wait)) {
        tf_cycle_done(tf, 1);
        return;
    }
    tf_arm_poll(tf, wait);
}

static void
tf_poll_cb(void *arg)
{
    struct tfollower *tf = arg;

    if (tf_busy(tf)) {
        tf_arm_poll(tf, 1000);
        return;
    }
    tf->stopped = 0;
    if (tf_send(tf, TR_CHECKPOINT, "checkpoint", TFOLLOW_MAX_CHECKPOINT) ==
        NULL) {
        tf_error(tf, "cannot start a request");
        tf_poll_failed(tf, NULL);
        return;
    }
    tf->polling = 1;
}

/* ---- checkpoints ----------------------------------------------------- */

/* Open the store's row for the log at its first checkpoint. */
static int
tf_open_log(struct tfollower *tf, const char *origin)
{
    if (tf->log_id != 0) {
        return 0;
    }
    snprintf(tf->origin, sizeof(tf->origin), "%s", origin);
    if (store_log_open(tf->env->store, tf->cfg->name, origin,
                       follow_wall(tf->env), &tf->log_id) != 0) {
        follow_fatal(tf->env, store_errmsg(tf->env->store));
        return -1;
    }
    return 0;
}

static int
tf_record(struct tfollower *tf, const char *note, size_t note_len,
          const struct merkle_checkpoint *cp, enum store_link link,
          const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    struct store_checkpoint sc;
    char *copy;

    memset(&sc, 0, sizeof(sc));
    sc.note = note;
    sc.note_len = note_len;
    sc.size = cp->size;
    memcpy(sc.root, cp->root, MERKLE_HASH_LEN);
    sc.link = link;
    sc.proof = proof;
    sc.nproof = nproof;
    if (store_checkpoint_record(tf->env->store, tf->log_id, &sc,
                                follow_wall(tf->env)) != 0) {
        follow_fatal(tf->env, store_errmsg(tf->env->store));
        return -1;
    }
    copy = strndup(note, note_len);
    if (copy == NULL) {
        follow_fatal(tf->env, "out of memory");
        return -1;
    }
    if (!tf->has_cp || cp->size > tf->vsize) {
        tf->last_growth_ms = follow_mono(tf->env);
    }
    free(tf->vnote);
    tf->vnote = copy;
    tf->vsize = cp->size;
    memcpy(tf->vroot, cp->root, MERKLE_HASH_LEN);
    tf->has_cp = 1;
    return 0;
}

static void tf_job_pump(struct tfollower *tf);

/* Start reading the hash tiles of tree n for purpose. */
static int
tf_job_start(struct tfollower *tf, enum tjob_purpose purpose, uint64_t n,
             uint64_t m_or_at)
{
    struct tjob *j = &tf->job;
    struct tiles_coord extra[TILES_SET_MAX];
    size_t ne, i, k;

    memset(j, 0, sizeof(*j));
    j->purpose = purpose;
    j->n = n;
    j->at = m_or_at;
    if (purpose == TJ_CONSISTENCY) {
        j->nneed = tiles_needed_consistency(m_or_at, n, j->need, TILES_SET_MAX);
    } else {
        j->nneed = tiles_needed_range(m_or_at, n, j->need, TILES_SET_MAX);
    }
    ne = tiles_needed_root(n, extra, TILES_SET_MAX);
    if (j->nneed > TILES_SET_MAX || ne > TILES_SET_MAX) {
        return -1;
    }
    for (i = 0; i < ne; i++) {
        for (k = 0; k < j->nneed; k++) {
            if (j->need[k].level == extra[i].level &&
                j->need[k].index == extra[i].index) {
                break;
            }
        }
        if (k == j->nneed) {
            j->need[j->nneed++] = extra[i];
        }
    }
    if (j->nneed > TILES_SET_MAX) {
        return -1;
    }
    j->ts = tiles_set_new(n);
    if (j->ts == NULL) {
        return -1;
    }
    j->active = 1;
    tf_job_pump(tf);
    return 0;
}

static void
tf_job_clear(struct tfollower *tf)
{
    tf_cancel(tf, TR_TILE);
    tiles_set_free(tf->job.ts);
    memset(&tf->job, 0, sizeof(tf->job));
}

/* The tiles could not be read: a failed poll (fetching stops too). */
static void
tf_job_fail(struct tfollower *tf, const struct http_response *resp)
{
    int check = tf->job.purpose == TJ_CHECK;

    tf_job_clear(tf);
    if (check) {
        tf_reset_to_committed(tf);
    }
    tf_poll_failed(tf, resp);
}

static void
tf_job_pump(struct tfollower *tf)
{
    struct tjob *j = &tf->job;
    unsigned inflight = (unsigned)(j->nsent - j->ngot);

    while (j->nsent < j->nneed && inflight < tf->pace.window) {
        char path[TILES_PATH_MAX];
        const struct tiles_coord *c = &j->need[j->nsent];
        struct treq *r;

        if (tiles_path(c->level, c->index, c->width, path, sizeof(path)) != 0 ||
            (r = tf_send(tf, TR_TILE, path,
                         (uint64_t)c->width * MERKLE_HASH_LEN)) == NULL) {
            tf_error(tf, "cannot start a tile request");
            tf_job_fail(tf, NULL);
            return;
        }
        r->c = *c;
        j->nsent++;
        inflight++;
        tf->stats.requests++;
    }
}

static void tf_job_done(struct tfollower *tf);

static void
tf_on_tile(struct tfollower *tf, struct treq *r,
           const struct http_response *resp)
{
    struct tjob *j = &tf->job;
    char path[TILES_PATH_MAX];

    if (!j->active) {
        return;
    }
    (void)tiles_path(r->c.level, r->c.index, r->c.width, path, sizeof(path));
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        tf_response_error(tf, resp, path);
        tf_job_fail(tf, resp);
        return;
    }
    if (resp->body_len != (size_t)r->c.width * MERKLE_HASH_LEN ||
        tiles_set_put(j->ts, &r->c, (const uint8_t *)resp->body,
                      resp->body_len) != 0) {
        tf_error(tf, "%s: %zu bytes, not a tile of width %u", path,
                 resp->body_len, r->c.width);
        tf_job_fail(tf, NULL);
        return;
    }
    j->ngot++;
    if (j->ngot == j->nneed) {
        tf_job_done(tf);
        return;
    }
    tf_job_pump(tf);
}

/* The tiles do not hash to the signed root of the new checkpoint. */
static void
tf_tiles_mismatch(struct tfollower *tf, const uint8_t got[MERKLE_HASH_LEN])
{
    char key[1024], msg[1024], r1[65], r2[65];
    json_t *ev;

    hexs(tf->job.purpose == TJ_CONSISTENCY ? tf->pcp.root : tf->vroot,
         MERKLE_HASH_LEN, r1, sizeof(r1));
    hexs(got, MERKLE_HASH_LEN, r2, sizeof(r2));
    snprintf(key, sizeof(key), "tiles|%s|%llu|%s|%s", tf->origin,
             (unsigned long long)tf->job.n, r1, r2);
    snprintf(msg, sizeof(msg),
             "Log %s: the hash tiles for size %llu hash to %s, not the "
             "signed root %s",
             tf->cfg->name, (unsigned long long)tf->job.n, r2, r1);
    ev = follow_evidence_new(
        tf->vnote, tf->job.purpose == TJ_CONSISTENCY ? tf->pnote : NULL, NULL,
        0);
    json_object_set_new(ev, "tiles_root", json_string(r2));
    tf_log_alert(tf, "log.inconsistent", key, msg, ev);
    tf->stopped = 1;
}

static void tf_seed_done(struct tfollower *tf, uint64_t local,
                         const struct merkle_range *r);

static void
tf_job_done(struct tfollower *tf)
{
    struct tjob *j = &tf->job;
    uint8_t root[MERKLE_HASH_LEN];
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    size_t nproof = 0;
    const uint8_t *want =
        j->purpose == TJ_CONSISTENCY ? tf->pcp.root : tf->vroot;
    enum merkle_result mr;

    tf->pace.once_failures = 0; /* every tile arrived: progress */
    if (tiles_root(j->ts, root) != 0) {
        tf_error(tf, "cannot compute the root of size %llu from the tiles",
                 (unsigned long long)j->n);
        tf_job_fail(tf, NULL);
        return;
    }
    if (!merkle_hash_equal(root, want)) {
        int check = j->purpose == TJ_CHECK;
        tf_tiles_mismatch(tf, root);
        tf_job_clear(tf);
        if (check) {
            tf_reset_to_committed(tf);
        }
        tf_after_checkpoint(tf);
        return;
    }
    if (j->purpose == TJ_CHECK) {
        struct merkle_range r;
        uint64_t at = j->at;
        uint8_t want_at[MERKLE_HASH_LEN], got_at[MERKLE_HASH_LEN];
        int rc = tiles_range_at(j->ts, at, &r);
        tf_job_clear(tf);
        if (rc != 0 || tf->next != at) {
            tf_error(tf, "cannot compute the compact range at %llu",
                     (unsigned long long)at);
            tf_reset_to_committed(tf);
            tf_poll_failed(tf, NULL);
            return;
        }
        merkle_range_root(&r, want_at);
        merkle_range_root(&tf->range, got_at);
        if (!merkle_hash_equal(want_at, got_at)) {
            tf_entries_mismatch(tf, at, want_at);
            return;
        }
        tf->root_checks++;
        if (tf_commit(tf) != 0) {
            return;
        }
        if (tf_apply(tf) == 0) {
            tf_pump(tf);
        }
        return;
    }
    if (j->purpose == TJ_SEED) {
        struct merkle_range r;
        uint64_t at = j->at;
        int rc = tiles_range_at(j->ts, at, &r);
        tf_job_clear(tf);
        if (rc != 0) {
            tf_error(tf, "cannot compute the compact range at %llu",
                     (unsigned long long)at);
            tf_poll_failed(tf, NULL);
            return;
        }
        tf_seed_done(tf, at, &r);
        tf_after_checkpoint(tf);
        return;
    }
    if (tiles_consistency_proof(j->ts, tf->vsize, proof, MERKLE_MAX_PROOF,
                                &nproof) != 0) {
        tf_error(tf, "cannot compute the consistency proof from the tiles");
        tf_job_fail(tf, NULL);
        return;
    }
    tf_job_clear(tf);
    mr = merkle_verify_consistency(
        tf->vsize, tf->pcp.size, tf->vroot, tf->pcp.root,
        (const uint8_t(*)[MERKLE_HASH_LEN])proof, nproof);
    if (mr != MERKLE_OK) {
        char key[1024], msg[1024], r1[65], r2[65];
        hexs(tf->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
        hexs(tf->pcp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "consistency|%s|%llu|%s|%llu|%s", tf->origin,
                 (unsigned long long)tf->vsize, r1,
                 (unsigned long long)tf->pcp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: no valid consistency proof from size %llu to "
                 "size %llu (%s)",
                 tf->cfg->name, (unsigned long long)tf->vsize,
                 (unsigned long long)tf->pcp.size, merkle_strerror(mr));
        tf_log_alert(tf, "log.inconsistent", key, msg,
                     follow_evidence_new(
                         tf->vnote, tf->pnote,
                         (const uint8_t(*)[MERKLE_HASH_LEN])proof, nproof));
        tf->stopped = 1;
        tf_after_checkpoint(tf);
        return;
    }
    if (tf_record(tf, tf->pnote, strlen(tf->pnote), &tf->pcp,
                  STORE_LINK_CONSISTENCY,
                  (const uint8_t(*)[MERKLE_HASH_LEN])proof, nproof) != 0) {
        return;
    }
    tf_after_checkpoint(tf);
}

static void
tf_on_checkpoint(struct tfollower *tf, const struct http_response *resp)
{
    struct merkle_checkpoint cp;
    enum merkle_result r;
    const char *why;
    char key[1024], msg[1024], r1[65], r2[65];

    tf->polling = 0;
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        tf_response_error(tf, resp, "GET /checkpoint");
        if (!tf->settled && resp->result == HTTP_COMPLETE &&
            resp->status == 404 && tf->base[1][0] != '\0') {
            tf->alt = !tf->alt;
            log_info("%s: no checkpoint there; trying %s", tf->cfg->name,
                     tf->base[tf->alt]);
        }
        tf_poll_failed(tf, resp);
        return;
    }
    if (!tf->settled) {
        tf->settled = 1;
        log_info("%s: reading the tiles API at %s", tf->cfg->name,
                 tf->base[tf->alt]);
    }
    r = tf_verify_note(tf, resp->body, resp->body_len, &cp);
    if (r == MERKLE_ERR_NOTE_UNVERIFIED || r == MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        uint8_t h[MERKLE_HASH_LEN];
        char hex[2 * MERKLE_HASH_LEN + 1];
        char *copy = strndup(resp->body, resp->body_len);
        merkle_leaf_hash((const uint8_t *)resp->body, resp->body_len, h);
        hexs(h, 8, hex, sizeof(hex));
        snprintf(key, sizeof(key), "bad_signature|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s served a checkpoint whose signature does not "
                 "verify with the pinned key: %s",
                 tf->cfg->name, merkle_strerror(r));
        tf_log_alert(tf, "log.bad_signature", key, msg,
                     follow_evidence_new(tf->vnote, copy, NULL, 0));
        free(copy);
        tf->stopped = 1;
        tf_cycle_done(tf, 0);
        return;
    }
    if (r != MERKLE_OK) {
        tf_error(tf, "checkpoint: %s", merkle_strerror(r));
        tf_poll_failed(tf, NULL);
        return;
    }
    why = follow_checkpoint_impossible(&cp, 0,
                                       tf->log_id != 0 ? tf->origin : NULL);
    if (why != NULL) {
        /* Validly signed: evidence against this log, which keeps being
         * polled; nothing else stops. */
        follow_raise_impossible(tf->env, tf->cfg->name, tf->log_id,
                                tf->log_id != 0 ? tf->origin : cp.origin,
                                tf->vnote, resp->body, resp->body_len, why);
        tf->stopped = 1;
        tf_cycle_done(tf, 0);
        return;
    }
    if (tf_open_log(tf, cp.origin) != 0) {
        return;
    }
    {
        /* Reachable; but for once a cycle counts as a success only when
         * it gets further (a log whose tiles always fail must end). */
        unsigned failures = tf->pace.once_failures;
        tf_liveness(tf, 1);
        tf->pace.once_failures = failures;
    }
    if (!tf->has_cp || tf->vsize == 0) {
        if (tf->has_cp && cp.size == 0) {
            tf_after_checkpoint(tf);
            return;
        }
        if (tf_record(tf, resp->body, resp->body_len, &cp, STORE_LINK_NONE,
                      NULL, 0) != 0) {
            return;
        }
        tf_after_checkpoint(tf);
        return;
    }
    hexs(tf->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    hexs(cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
    if (cp.size < tf->vsize) {
        char *copy = strndup(resp->body, resp->body_len);
        snprintf(key, sizeof(key), "rollback|%s|%llu|%s|%llu|%s", tf->origin,
                 (unsigned long long)tf->vsize, r1, (unsigned long long)cp.size,
                 r2);
        snprintf(msg, sizeof(msg),
                 "Log %s signed size %llu after size %llu was verified",
                 tf->cfg->name, (unsigned long long)cp.size,
                 (unsigned long long)tf->vsize);
        tf_log_alert(tf, "log.rollback", key, msg,
                     follow_evidence_new(tf->vnote, copy, NULL, 0));
        free(copy);
        tf->stopped = 1;
        tf_after_checkpoint(tf);
        return;
    }
    if (cp.size == tf->vsize) {
        if (!merkle_hash_equal(cp.root, tf->vroot)) {
            char *copy = strndup(resp->body, resp->body_len);
            snprintf(key, sizeof(key), "fork|%s|%llu|%s|%s", tf->origin,
                     (unsigned long long)cp.size, r1, r2);
            snprintf(msg, sizeof(msg),
                     "Log %s signed two different roots for size %llu",
                     tf->cfg->name, (unsigned long long)cp.size);
            tf_log_alert(tf, "log.inconsistent", key, msg,
                         follow_evidence_new(tf->vnote, copy, NULL, 0));
            free(copy);
            tf->stopped = 1;
        }
        tf_after_checkpoint(tf);
        return;
    }
    /* Larger: prove it from the tiles. */
    free(tf->pnote);
    tf->pnote = strndup(resp->body, resp->body_len);
    tf->pcp = cp;
    if (tf->pnote == NULL ||
        tf_job_start(tf, TJ_CONSISTENCY, cp.size, tf->vsize) != 0) {
        tf_error(tf, "cannot start reading the tiles of size %llu",
                 (unsigned long long)cp.size);
        tf_job_fail(tf, NULL);
    }
}

/* ---- seeding --------------------------------------------------------- */

static uint64_t
tf_start_local(const struct tfollower *tf)
{
    if (tf->cfg->start_latest || tf->cfg->start_index > tf->vsize) {
        return tf->vsize;
    }
    return tf->cfg->start_index;
}

static void
tf_seed_done(struct tfollower *tf, uint64_t local, const struct merkle_range *r)
{
    if (store_cursor_seed(tf->env->store, tf->log_id, local, r,
                          follow_wall(tf->env)) != 0) {
        follow_fatal(tf->env, store_errmsg(tf->env->store));
        return;
    }
    tf->has_cursor = 1;
    tf->next = tf->committed_next = local;
    tf->range = *r;
    log_info("%s: cursor seeded at index %llu", tf->cfg->name,
             (unsigned long long)local);
}

static void
tf_seed(struct tfollower *tf)
{
    uint64_t local = tf_start_local(tf);

    if (local == 0) {
        struct merkle_range empty;
        merkle_range_init(&empty);
        tf_seed_done(tf, 0, &empty);
        tf_after_checkpoint(tf);
        return;
    }
    if (tf_job_start(tf, TJ_SEED, tf->vsize, local) != 0) {
        tf_error(tf, "cannot start reading the tiles for the seed");
        tf_job_fail(tf, NULL);
    }
}

/* ---- progress -------------------------------------------------------- */

static int
tf_commit(struct tfollower *tf)
{
    if (tf->next == tf->committed_next &&
        json_array_size(tf->batch_alerts) == 0) {
        return 0;
    }
    if (follow_commit_progress(tf->env, tf->log_id, tf->committed_next,
                               tf->next, &tf->range, tf->root_checks,
                               tf->batch_alerts, &tf->batch_signings) != 0) {
        return -1;
    }
    tf->committed_next = tf->next;
    tf->root_checks = 0;
    return 0;
}

static void
tf_clear_slots(struct tfollower *tf)
{
    size_t i;

    for (i = 0; i < tf->nslots; i++) {
        free(tf->slots[i].buf);
        memset(&tf->slots[i], 0, sizeof(tf->slots[i]));
    }
    tf->slot_bytes = 0;
    tf->nretry = 0;
    withhold_clear(&tf->wh);
}

/* Back to the committed state: drop everything applied since. */
static void
tf_reset_to_committed(struct tfollower *tf)
{
    if (tf->job.active && tf->job.purpose == TJ_CHECK) {
        tf_job_clear(tf);
    }
    tf_cancel(tf, TR_BUNDLE);
    tf->inflight = 0;
    tf_clear_slots(tf);
    json_array_clear(tf->batch_alerts);
    policy_batch_clear(&tf->batch_signings);
    tf->root_checks = 0;
    if (store_cursor_get(tf->env->store, tf->log_id, &tf->has_cursor, &tf->next,
                         &tf->range) != 0) {
        follow_fatal(tf->env, store_errmsg(tf->env->store));
        return;
    }
    tf->committed_next = tf->next;
    tf->fetching = 0;
}

/* One entry of a bundle, at index base + i. */
struct apply_ctx {
    struct tfollower *tf;
    uint64_t base;
};

static int
tf_apply_entry(const uint8_t *data, size_t len, unsigned i, void *arg)
{
    struct apply_ctx *ac = arg;
    struct tfollower *tf = ac->tf;
    uint64_t idx = ac->base + i;
    struct entry e;

    if (idx < tf->next) {
        return 0; /* before the cursor: read already */
    }
    if (idx != tf->next || idx >= tf->vsize) {
        return 1;
    }
    memset(&e, 0, sizeof(e));
    e.body = (uint8_t *)(uintptr_t)data;
    e.body_len = len;
    e.log_index = idx;
    merkle_leaf_hash(data, len, e.leaf_hash);
    hexs(e.leaf_hash, MERKLE_HASH_LEN, e.uuid, sizeof(e.uuid));
    if (merkle_range_append(&tf->range, e.leaf_hash) != MERKLE_OK) {
        follow_fatal(tf->env, "compact range overflow");
        return 1;
    }
    if (tf->env->policy != NULL) {
        struct policy_entry_ctx pc = {tf->cfg->name, tf->origin, idx, idx,
                                      follow_wall(tf->env)};
        if (policy_eval(tf->env->policy, &pc, &e, tf->batch_alerts,
                        &tf->batch_signings) != 0) {
            follow_fatal(tf->env, "out of memory evaluating the watch rules");
            return 1;
        }
    }
    tf->next++;
    tf->stats.entries++;
    if (tf->next == tf->vsize) {
        uint8_t root[MERKLE_HASH_LEN];
        merkle_range_root(&tf->range, root);
        if (!merkle_hash_equal(root, tf->vroot)) {
            tf->mismatch = 1;
            return 1;
        }
        tf->root_checks++;
        return tf_commit(tf) != 0 ? 1 : 0;
    }
    if (tf->next - tf->committed_next >= FOLLOW_COMMIT_EVERY &&
        tf->next % TILES_WIDTH == 0) {
        return 2; /* the end of a bundle: check against the tiles, commit */
    }
    return 0;
}

static void
tf_entries_mismatch(struct tfollower *tf, uint64_t size,
                    const uint8_t want[MERKLE_HASH_LEN])
{
    char key[1024], msg[1024], r1[65], r2[65];
    uint8_t root[MERKLE_HASH_LEN];
    json_t *ev;

    merkle_range_root(&tf->range, root);
    hexs(want, MERKLE_HASH_LEN, r1, sizeof(r1));
    hexs(root, MERKLE_HASH_LEN, r2, sizeof(r2));
    snprintf(key, sizeof(key), "root|%s|%llu|%s|%s", tf->origin,
             (unsigned long long)size, r1, r2);
    if (size == tf->vsize) {
        snprintf(msg, sizeof(msg),
                 "Log %s: the entries up to size %llu hash to %s, not the "
                 "signed root %s",
                 tf->cfg->name, (unsigned long long)size, r2, r1);
    } else {
        snprintf(msg, sizeof(msg),
                 "Log %s: the entries up to size %llu hash to %s, not %s, "
                 "the root of that size in the hash tiles of the signed "
                 "size %llu",
                 tf->cfg->name, (unsigned long long)size, r2, r1,
                 (unsigned long long)tf->vsize);
    }
    ev = follow_evidence_new(tf->vnote, NULL, NULL, 0);
    json_object_set_new(ev, "computed_root", json_string(r2));
    json_object_set_new(ev, "size", json_integer((json_int_t)size));
    if (size != tf->vsize) {
        json_object_set_new(ev, "tiles_root", json_string(r1));
    }
    tf->mismatch = 0;
    tf_log_alert(tf, "log.entries_mismatch", key, msg, ev);
    tf_reset_to_committed(tf);
    tf->stopped = 1;
    tf_cycle_done(tf, 0);
}

/* Apply every bundle that is next in order.  -1: stopped. */
static int
tf_apply(struct tfollower *tf)
{
    while (tf->has_cursor && tf->next < tf->vsize && !tf->job.active) {
        uint64_t b = tf->next / TILES_WIDTH;
        struct bslot *s = &tf->slots[b % tf->nslots];
        struct apply_ctx ac = {tf, b * TILES_WIDTH};
        uint8_t *buf;
        size_t len;
        unsigned width;
        int rc;

        if (!s->have || s->index != b) {
            break;
        }
        buf = s->buf;
        len = s->len;
        width = s->width;
        memset(s, 0, sizeof(*s));
        tf->slot_bytes -= len;
        rc = tiles_parse_bundle(buf, len, width, tf_apply_entry, &ac);
        free(buf);
        if (follow_is_fatal(tf->env)) {
            return -1;
        }
        if (tf->mismatch) {
            tf_entries_mismatch(tf, tf->vsize, tf->vroot);
            return -1;
        }
        if (rc == 2) {
            /* A commit point: prove the range there from the tiles of
             * the verified size first (tf_job_done commits, resumes). */
            if (tf_job_start(tf, TJ_CHECK, tf->vsize, tf->next) != 0) {
                tf_error(tf, "cannot start reading the tiles at %llu",
                         (unsigned long long)tf->next);
                tf_job_fail(tf, NULL);
            }
            return -1;
        }
        if (rc != 0) {
            /* Nothing of it was applied (tiles_parse_bundle checks the
             * whole bundle first): ask for it again after its backoff. */
            tf_error(tf, "entry bundle %llu (width %u) is malformed",
                     (unsigned long long)b, width);
            tf_missed(tf, b, 200);
            tf_pump(tf);
            return -1;
        }
    }
    return 0;
}

static void
tf_retry_push(struct tfollower *tf, uint64_t b)
{
    if (tf->nretry == tf->retry_cap) {
        size_t cap = tf->retry_cap ? tf->retry_cap * 2 : 16;
        uint64_t *n = realloc(tf->retry, cap * sizeof(*n));
        if (n == NULL) {
            follow_fatal(tf->env, "out of memory");
            return;
        }
        tf->retry = n;
        tf->retry_cap = cap;
    }
    tf->retry[tf->nretry++] = b;
    tf->stats.retried++;
}

/* The log did not serve bundle b (status: its answer's HTTP status; 200
 * for a malformed bundle): ask again after its backoff, and raise
 * log.entries_withheld once it has been missing for withhold_after. */
static void
tf_missed(struct tfollower *tf, uint64_t b, int status)
{
    struct withhold_unit *u;

    if (withhold_missed(&tf->wh, b, status, follow_mono(tf->env),
                        follow_wall(tf->env)) != 0) {
        log_warnx("%s: too many missing bundles tracked", tf->cfg->name);
    }
    tf_retry_push(tf, b);
    while ((u = withhold_take_overdue(&tf->wh, tf->cfg->withhold_after_ms,
                                      follow_mono(tf->env))) != NULL) {
        uint64_t first = u->unit * TILES_WIDTH, last = first;
        unsigned w = tiles_width(TILES_ENTRIES, u->unit, tf->vsize);
        if (w > 0) {
            last = first + w - 1;
        }
        follow_raise_withheld(tf->env, tf->cfg, tf->log_id, tf->origin,
                              tf->vnote, first, last, u);
    }
}

/*
 * Bundles wait for their backoff: wake the pump when the next is due;
 * once gives up when one has been missing for unreachable_after.  -1
 * when the cycle ended here.
 */
static int
tf_withheld_wait(struct tfollower *tf, uint64_t now)
{
    uint64_t due = withhold_next_due(&tf->wh), oldest;

    if (tf->env->once && (oldest = withhold_oldest_ms(&tf->wh)) != UINT64_MAX &&
        now - oldest >= tf->cfg->unreachable_after_ms) {
        log_warnx("%s: once: giving up: entry bundle %llu has been withheld "
                  "for %llu s",
                  tf->cfg->name,
                  (unsigned long long)withhold_oldest_unit(&tf->wh),
                  (unsigned long long)((now - oldest) / 1000));
        if (tf_commit(tf) != 0) {
            return -1;
        }
        tf_reset_to_committed(tf);
        tf_cycle_done(tf, 1);
        return -1;
    }
    if (due != UINT64_MAX && !tf->env->ops->timer_pending(tf->pump_ev)) {
        uint64_t ms = due > now ? due - now : 1;
        tf->env->ops->timer_arm(tf->pump_ev, ms);
    }
    return 0;
}

static void
tf_on_bundle(struct tfollower *tf, struct treq *r,
             const struct http_response *resp)
{
    struct bslot *s;

    tf->inflight--;
    if (!tf->fetching) {
        return;
    }
    if (is_throttle(resp)) {
        if (resp->result != HTTP_COMPLETE) {
            tf_response_error(tf, resp, "entry bundle");
        }
        tf_retry_push(tf, r->c.index);
        tf_throttle(tf, resp);
        tf_liveness(tf, 0);
        if (tf->env->once &&
            follow_failing_for(tf->env, &tf->pace,
                               tf->cfg->unreachable_after_ms)) {
            tf_reset_to_committed(tf);
            tf_cycle_done(tf, 1);
        }
        return;
    }
    withhold_answered(&tf->wh, follow_mono(tf->env));
    if (resp->result != HTTP_COMPLETE || resp->status != 200 ||
        tiles_parse_bundle((const uint8_t *)resp->body, resp->body_len,
                           r->c.width, NULL, NULL) != 0) {
        /* The log answers, but not with this bundle: it is asked for
         * again on its own backoff, and reported withheld in time; the
         * bundles after it are still read. */
        if (resp->status == 200) {
            tf_error(tf, "entry bundle %llu (width %u) is malformed",
                     (unsigned long long)r->c.index, r->c.width);
        } else {
            tf_response_error(tf, resp, "entry bundle");
        }
        tf_missed(tf, r->c.index, resp->status);
        return;
    }
    withhold_got(&tf->wh, r->c.index);
    s = &tf->slots[r->c.index % tf->nslots];
    if (s->have) {
        tf->slot_bytes -= s->len;
    }
    free(s->buf);
    s->buf = malloc(resp->body_len + 1);
    if (s->buf == NULL) {
        follow_fatal(tf->env, "out of memory");
        return;
    }
    memcpy(s->buf, resp->body, resp->body_len);
    s->len = resp->body_len;
    tf->slot_bytes += s->len;
    s->index = r->c.index;
    s->width = r->c.width;
    s->have = 1;
    tf_unthrottle(tf);
    (void)tf_apply(tf);
}

static void
tf_pump_cb(void *arg)
{
    tf_pump(arg);
}

static void
tf_pump(struct tfollower *tf)
{
    uint64_t end, now;

    if (!tf->fetching || follow_is_fatal(tf->env)) {
        return;
    }
    end = (tf->vsize + TILES_WIDTH - 1) / TILES_WIDTH; /* bundles */
    now = follow_mono(tf->env);
    if (now < tf->pace.pause_until_ms) {
        uint64_t ms = tf->pace.pause_until_ms - now;
        tf->env->ops->timer_arm(tf->pump_ev, ms);
        return;
    }
    while (tf->inflight < tf->pace.window) {
        uint64_t b;
        char path[TILES_PATH_MAX];
        unsigned width;
        struct treq *r;

        b = UINT64_MAX;
        for (size_t i = 0; i < tf->nretry; i++) {
            if (withhold_due(&tf->wh, tf->retry[i], now)) {
                b = tf->retry[i];
                tf->retry[i] = tf->retry[--tf->nretry];
                break;
            }
        }
        if (b == UINT64_MAX) {
            if (tf->fetch_next < end &&
                tf->fetch_next < tf->next / TILES_WIDTH + tf->nslots &&
                tf->slot_bytes < TFOLLOW_LOOKAHEAD_BYTES) {
                b = tf->fetch_next++;
            } else {
                break;
            }
        }
        width = tiles_width(TILES_ENTRIES, b, tf->vsize);
        if (tiles_path(TILES_ENTRIES, b, width, path, sizeof(path)) != 0 ||
            (r = tf_send(tf, TR_BUNDLE, path, TILES_MAX_BUNDLE)) == NULL) {
            tf_retry_push(tf, b);
            tf_throttle(tf, NULL);
            {
                tf->env->ops->timer_arm(tf->pump_ev, 1000);
            }
            return;
        }
        r->c.level = TILES_ENTRIES;
        r->c.index = b;
        r->c.width = width;
        tf->inflight++;
        tf->stats.requests++;
    }
    if (tf->nretry > 0 && tf_withheld_wait(tf, now) != 0) {
        return;
    }
    if (tf->inflight == 0 && tf->nretry == 0 && tf->next >= tf->vsize) {
        tf->fetching = 0;
        if (tf_commit(tf) != 0) {
            return;
        }
        tf_cycle_done(tf, 0);
    }
}

static void
tf_after_checkpoint(struct tfollower *tf)
{
    if (follow_is_fatal(tf->env)) {
        return;
    }
    if (tf->stopped || !tf->has_cp) {
        tf_cycle_done(tf, 0);
        return;
    }
    if (!tf->has_cursor) {
        tf_seed(tf);
        return;
    }
    tf->fetching = 1;
    tf->fetch_next = tf->next / TILES_WIDTH;
    tf_pump(tf);
}

/* ---- dispatch -------------------------------------------------------- */

static void
tf_http_done(const struct http_response *resp, void *arg)
{
    struct treq *r = arg;
    struct tfollower *tf = r->tf;

    treq_unlink(tf, r);
    switch (r->kind) {
    case TR_CHECKPOINT:
        tf_on_checkpoint(tf, resp);
        break;
    case TR_TILE:
        tf_on_tile(tf, r, resp);
        break;
    case TR_BUNDLE:
        tf_on_bundle(tf, r, resp);
        tf_pump(tf);
        break;
    }
    free(r);
}

static void
tf_cycle_done(struct tfollower *tf, int failed)
{
    if (tf->env->once) {
        if (tf->once_done || tf_busy(tf)) {
            return;
        }
        tf->once_done = 1;
        tf->env->ops->done(tf->env->ctx, tf->pub, failed);
        return;
    }
    if (tf_busy(tf)) {
        return;
    }
    if (!tf->env->ops->timer_pending(tf->poll_ev)) {
        tf_arm_poll(tf, follow_jitter(tf->env, tf->cfg->poll_interval_ms, 10));
    }
}

/* ---- life cycle ------------------------------------------------------ */

struct resume_pick {
    const char *name;
    int found;
    int64_t log_id;
    char origin[STORE_ORIGIN_MAX + 1];
};

static int
tf_pick_cb(void *arg, const struct store_log_status *st)
{
    struct resume_pick *p = arg;

    if (strcmp(st->name, p->name) != 0 || !st->has_checkpoint) {
        return 0;
    }
    if (!p->found || st->log_id > p->log_id) {
        p->found = 1;
        p->log_id = st->log_id;
        snprintf(p->origin, sizeof(p->origin), "%s", st->origin);
    }
    return 0;
}

static int
tf_resume(struct tfollower *tf, char *err, size_t errlen)
{
    struct resume_pick p;
    struct store_checkpoint_row row;
    int found = 0;

    memset(&p, 0, sizeof(p));
    p.name = tf->cfg->name;
    if (store_logs_each(tf->env->store, tf_pick_cb, &p) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(tf->env->store));
        return -1;
    }
    if (!p.found) {
        return 0;
    }
    tf->log_id = p.log_id;
    snprintf(tf->origin, sizeof(tf->origin), "%s", p.origin);
    memset(&row, 0, sizeof(row));
    if (store_checkpoint_latest(tf->env->store, tf->log_id, &found, &row) !=
            0 ||
        store_cursor_get(tf->env->store, tf->log_id, &tf->has_cursor, &tf->next,
                         &tf->range) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(tf->env->store));
        store_checkpoint_row_free(&row);
        return -1;
    }
    if (found) {
        tf->has_cp = 1;
        tf->vsize = row.size;
        memcpy(tf->vroot, row.root, MERKLE_HASH_LEN);
        tf->vnote = row.note;
        row.note = NULL;
    }
    store_checkpoint_row_free(&row);
    tf->committed_next = tf->next;
    tf->last_growth_ms = follow_mono(tf->env);
    log_info("%s: resuming %s at index %llu (verified size %llu)",
             tf->cfg->name, tf->origin, (unsigned long long)tf->next,
             (unsigned long long)tf->vsize);
    return 0;
}

struct tfollower *
tfollower_new(const struct follow_env *env, const struct config_log *cfg,
              struct follower *pub, char *err, size_t errlen)
{
    struct tfollower *tf = calloc(1, sizeof(*tf));

    if (tf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tf->env = env;
    tf->cfg = cfg;
    tf_set_bases(tf);
    tf->pub = pub;
    follow_pace_init(&tf->pace, cfg, &tf->stats); /* config: >= 1 */
    tf->nslots = (size_t)tf->pace.window * 2;
    tf->slots = calloc(tf->nslots, sizeof(*tf->slots));
    tf->batch_alerts = json_array();
    tf->poll_ev = env->ops->timer_new(env->ctx, tf_poll_cb, tf);
    tf->pump_ev = env->ops->timer_new(env->ctx, tf_pump_cb, tf);
    if (tf->slots == NULL || tf->batch_alerts == NULL || tf->poll_ev == NULL ||
        tf->pump_ev == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tf_load_keys(tf, err, errlen) != 0 || tf_resume(tf, err, errlen) != 0) {
        goto fail;
    }
    return tf;
fail:
    tfollower_free(tf);
    return NULL;
}

void
tfollower_start(struct tfollower *tf)
{
    tf_arm_poll(tf, 0);
}

void
tfollower_free(struct tfollower *tf)
{
    if (tf == NULL) {
        return;
    }
    /* What is applied since the last commit is not root-checked yet: it
     * is dropped (read again on the next start), never committed. */
    tf_cancel(tf, -1);
    tiles_set_free(tf->job.ts);
    if (tf->slots != NULL) {
        tf_clear_slots(tf);
    }
    free(tf->slots);
    free(tf->retry);
    withhold_free(&tf->wh);
    json_decref(tf->batch_alerts);
    policy_batch_free(&tf->batch_signings);
    if (tf->poll_ev != NULL) {
        tf->env->ops->timer_free(tf->poll_ev);
    }
    if (tf->pump_ev != NULL) {
        tf->env->ops->timer_free(tf->pump_ev);
    }
    free(tf->vnote);
    free(tf->pnote);
    free(tf);
}

void
tfollower_stats(const struct tfollower *tf, struct follower_stats *out)
{
    *out = tf->stats;
    out->window = tf->pace.window;
}
