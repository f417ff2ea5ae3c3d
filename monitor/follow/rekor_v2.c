/*
 * rekor_v2.c: the Rekor v2 (tlog-tiles) protocol of the follower engine
 * (engine.h).  See follow_tiles.h
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
#include "monitor/follow/engine.h"
#include "monitor/follow/follow_tiles.h"
#include "monitor/follow/withhold.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/identity/policy.h"
#include "monitor/store/store.h"
#include "monitor/follow/env.h"
#include "notify/alert.h"

#define TF_URL_MAX 2048
#define TF_FROZEN_LINE "Log frozen"
#define TF_SPKI_MAX 256
#define TF_NEED_MAX (2 * TILES_SET_MAX)

/* A pinned key, copied from the trusted root (it may be reloaded). */
struct tkey {
    int alg; /* CONFIG_KEY_* */
    uint8_t spki[TF_SPKI_MAX];
    size_t spki_len;
    uint8_t raw[32]; /* Ed25519 */
};

/* Request kinds besides the engine's FE_REQ_UNITS (entry bundles). */
enum { TR_CHECKPOINT = 1, TR_TILE };

enum tjob_purpose {
    TJ_CONSISTENCY = 0,
    TJ_SEED,
    TJ_CHECK, /* the compact range at the cursor, before a commit */
    TJ_AHEAD, /* the ranges at both ends of bundles read past a missing one */
};

/* Hash tiles being read for one tree size. */
struct tjob {
    int active;
    enum tjob_purpose purpose;
    uint64_t n;
    uint64_t at;  /* TJ_SEED: the start point; TJ_CHECK: the cursor;
                     TJ_AHEAD: the first entry of the bundles */
    uint64_t at2; /* TJ_AHEAD: the end of the bundles */
    struct tiles_set *ts;
    struct tiles_coord need[TF_NEED_MAX];
    size_t nneed, nsent, ngot;
};

/* A received entry bundle, waiting for its turn. */
struct bslot {
    int have;
    int ahead; /* read past a missing bundle, and scanned (or tried) */
    uint64_t index;
    unsigned width;
    uint8_t *buf;
    size_t len;
};

/* The Rekor v2 protocol's state (struct follower.p). */
struct tfollower {
    struct follower *f; /* the engine, borrowed */
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

    struct tjob job;
    json_t *ahead_alerts; /* found past a missing bundle */
    struct policy_batch ahead_signings;

    /* Bundles received, waiting for their turn. */
    struct bslot *slots;
    size_t nslots;
    int mismatch;     /* set by the bundle callback */
    int frozen;       /* a final checkpoint is recorded (store_frozen_check) */
    int frozen_known; /* frozen was read from the store */
};

static void tf_after_checkpoint(struct tfollower *tf);
static void tf_reset_to_committed(struct tfollower *tf);
static int tf_apply(struct tfollower *tf);
static void tf_entries_mismatch(struct tfollower *tf, uint64_t size,
                                const uint8_t want[MERKLE_HASH_LEN]);

/* ---- helpers ------------------------------------------------------- */

/* ---- keys ------------------------------------------------------------ */

/* base[0]: the configured url without trailing '/'; base[1]: the other
 * form of Rekor v2's read path ("/api/v2" removed or added), or "". */
static void
tf_set_bases(struct tfollower *tf)
{
    static const char suffix[] = "/api/v2";
    const size_t sl = sizeof(suffix) - 1;
    size_t ul = strlen(tf->f->cfg->url);

    while (ul > 0 && tf->f->cfg->url[ul - 1] == '/') {
        ul--;
    }
    snprintf(tf->base[0], sizeof(tf->base[0]), "%.*s", (int)ul,
             tf->f->cfg->url);
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
    size_t i, n = config_trusted_root_ntlogs(tf->f->env->troot);

    for (i = 0; i < n && tf->nkeys < TFOLLOW_MAX_KEYS; i++) {
        const struct config_log_key *k =
            config_trusted_root_tlog(tf->f->env->troot, i);
        struct tkey *tk = &tf->keys[tf->nkeys];

        if (!follow_same_host(k->base_url, tf->f->cfg->url) ||
            k->pkey == NULL || k->dup) {
            continue; /* a dup: the same key, another validFor period */
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
                         tf->f->cfg->name);
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
                 tf->f->cfg->name);
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

/* ---- polling ------------------------------------------------------- */

/* GET path (relative to the tiles API) as a request of kind. */
static struct fe_req *
tf_get(struct tfollower *tf, int kind, const char *path, uint64_t cap)
{
    char p[TILES_PATH_MAX + 2];

    if ((size_t)snprintf(p, sizeof(p), "/%s", path) >= sizeof(p)) {
        return NULL;
    }
    return fe_send(tf->f, kind, HTTP_GET, p, NULL, 0, cap);
}

static void
v2_poll(struct follower *f)
{
    struct tfollower *tf = f->p;

    if (tf_get(tf, TR_CHECKPOINT, "checkpoint", TFOLLOW_MAX_CHECKPOINT) ==
        NULL) {
        fe_error(f, "cannot start a request");
        fe_poll_failed(f, NULL);
        return;
    }
    f->polling = 1;
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
    if (store_log_open(tf->f->env->store, tf->f->cfg->name, origin,
                       follow_wall(tf->f->env), &tf->log_id) != 0) {
        follow_fatal(tf->f->env, store_errmsg(tf->f->env->store));
        return -1;
    }
    return 0;
}

/* 1 when the checkpoint text of note (its lines from cp->next_line to the
 * blank line) has an extension line starting "Log frozen". */
static int
tf_note_frozen(const char *note, size_t len, const struct merkle_checkpoint *cp)
{
    size_t i = cp->next_line, n = sizeof(TF_FROZEN_LINE) - 1;

    while (i < len && note[i] != '\n') {
        const char *eol = memchr(note + i, '\n', len - i);
        size_t ll = eol != NULL ? (size_t)(eol - (note + i)) : len - i;
        if (ll >= n && memcmp(note + i, TF_FROZEN_LINE, n) == 0) {
            return 1;
        }
        i += ll + 1;
    }
    return 0;
}

/*
 * A frozen log's final checkpoint never changes: once a checkpoint with
 * the "Log frozen" line is seen, it is recorded (store_frozen_check) and
 * every later checkpoint must equal it (size and root), else
 * log.inconsistent with both notes.  Returns 1 when that alert stopped
 * the cycle, 0 to go on, -1 on a store error (fatal).
 */
static int
tf_frozen_check(struct tfollower *tf, const char *note, size_t len,
                const struct merkle_checkpoint *cp)
{
    struct store *st = tf->f->env->store;
    char label[300];
    int res;

    if (!tf->frozen_known) {
        struct store_log_status ls;
        if (store_log_status(st, tf->log_id, &ls) != 0) {
            follow_fatal(tf->f->env, store_errmsg(st));
            return -1;
        }
        tf->frozen = ls.frozen;
        tf->frozen_known = 1;
    }
    if (!tf->frozen && !tf_note_frozen(note, len, cp)) {
        return 0;
    }
    snprintf(label, sizeof(label), "log %s", tf->f->cfg->name);
    if (fe_frozen_check(tf->f, label, tf->origin, NULL, note, len, cp, &res) !=
        0) {
        return -1;
    }
    if (res == STORE_FROZEN_RECORDED) {
        tf->frozen = 1;
        log_info("%s: log frozen at size %llu: checked to it, then polled "
                 "every %llus",
                 tf->f->cfg->name, (unsigned long long)cp->size,
                 (unsigned long long)(FOLLOW_FROZEN_POLL_MS / 1000));
    }
    if (res != STORE_FROZEN_DIFFERENT) {
        return 0;
    }
    tf->f->stopped = 1;
    return 1;
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
    if (store_checkpoint_record(tf->f->env->store, tf->log_id, &sc,
                                follow_wall(tf->f->env)) != 0) {
        follow_fatal(tf->f->env, store_errmsg(tf->f->env->store));
        return -1;
    }
    copy = strndup(note, note_len);
    if (copy == NULL) {
        follow_fatal(tf->f->env, "out of memory");
        return -1;
    }
    if (!tf->has_cp || cp->size > tf->vsize) {
        tf->f->last_growth_ms = follow_mono(tf->f->env);
    }
    if (tf->has_cp && cp->size > tf->vsize && tf->vsize % TILES_WIDTH != 0) {
        /* The last bundle was partial: it grows, so what was read of it
         * (held or asked for) is read again in full. */
        uint64_t pb = tf->vsize / TILES_WIDTH;
        struct bslot *ps = &tf->slots[pb % tf->nslots];
        if (ps->have && ps->index == pb) {
            tf->f->ahead_bytes -= ps->len;
            free(ps->buf);
            memset(ps, 0, sizeof(*ps));
        }
        if (tf->f->fetch_next > pb) {
            tf->f->fetch_next = pb;
        }
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
             uint64_t m_or_at, uint64_t at2)
{
    struct tjob *j = &tf->job;
    struct tiles_coord extra[TILES_SET_MAX];
    size_t ne, i, k;

    memset(j, 0, sizeof(*j));
    j->purpose = purpose;
    j->n = n;
    j->at = m_or_at;
    j->at2 = at2;
    if (purpose == TJ_CONSISTENCY) {
        j->nneed = tiles_needed_consistency(m_or_at, n, j->need, TILES_SET_MAX);
    } else {
        j->nneed = tiles_needed_range(m_or_at, n, j->need, TILES_SET_MAX);
    }
    if (j->nneed > TILES_SET_MAX) {
        return -1;
    }
    for (int pass = purpose == TJ_AHEAD ? 0 : 1; pass < 2; pass++) {
        ne = pass == 0 ? tiles_needed_range(j->at2, n, extra, TILES_SET_MAX)
                       : tiles_needed_root(n, extra, TILES_SET_MAX);
        if (ne > TILES_SET_MAX) {
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
                if (j->nneed == TF_NEED_MAX) {
                    return -1;
                }
                j->need[j->nneed++] = extra[i];
            }
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
    fe_cancel(tf->f, TR_TILE);
    tiles_set_free(tf->job.ts);
    memset(&tf->job, 0, sizeof(tf->job));
}

/* The tiles could not be read: a failed poll (fetching stops too). */
static void
tf_job_fail(struct tfollower *tf, const struct http_response *resp)
{
    int check = tf->job.purpose == TJ_CHECK;

    if (tf->job.purpose == TJ_AHEAD) {
        /* Only the look-ahead is lost: the cursor goes on as before. */
        tf_job_clear(tf);
        if (tf_apply(tf) == 0) {
            fe_pump(tf->f);
        }
        return;
    }
    tf_job_clear(tf);
    if (check) {
        tf_reset_to_committed(tf);
    }
    fe_poll_failed(tf->f, resp);
}

static void
tf_job_pump(struct tfollower *tf)
{
    struct tjob *j = &tf->job;
    unsigned inflight = (unsigned)(j->nsent - j->ngot);

    while (j->nsent < j->nneed && inflight < tf->f->pace.window) {
        char path[TILES_PATH_MAX];
        const struct tiles_coord *c = &j->need[j->nsent];
        struct fe_req *r;

        if (tiles_path(c->level, c->index, c->width, path, sizeof(path)) != 0 ||
            (r = tf_get(tf, TR_TILE, path,
                        (uint64_t)c->width * MERKLE_HASH_LEN)) == NULL) {
            fe_error(tf->f, "cannot start a tile request");
            tf_job_fail(tf, NULL);
            return;
        }
        r->level = c->level;
        r->index = c->index;
        r->width = c->width;
        j->nsent++;
        inflight++;
        tf->f->stats.requests++;
    }
}

static void tf_job_done(struct tfollower *tf);

static void
tf_on_tile(struct tfollower *tf, struct fe_req *r,
           const struct http_response *resp)
{
    struct tjob *j = &tf->job;
    char path[TILES_PATH_MAX];
    struct tiles_coord c;

    if (!j->active) {
        return;
    }
    memset(&c, 0, sizeof(c));
    c.level = r->level;
    c.index = r->index;
    c.width = r->width;
    (void)tiles_path(r->level, r->index, r->width, path, sizeof(path));
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        fe_response_error(tf->f, resp, path);
        tf_job_fail(tf, resp);
        return;
    }
    if (resp->body_len != (size_t)r->width * MERKLE_HASH_LEN ||
        tiles_set_put(j->ts, &c, (const uint8_t *)resp->body, resp->body_len) !=
            0) {
        fe_error(tf->f, "%s: %zu bytes, not a tile of width %u", path,
                 resp->body_len, r->width);
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

    follow_hex(tf->job.purpose == TJ_CONSISTENCY ? tf->pcp.root : tf->vroot,
               MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(got, MERKLE_HASH_LEN, r2, sizeof(r2));
    snprintf(key, sizeof(key), "tiles|%s|%llu|%s|%s", tf->origin,
             (unsigned long long)tf->job.n, r1, r2);
    snprintf(msg, sizeof(msg),
             "Log %s: the hash tiles for size %llu hash to %s, not the "
             "signed root %s",
             tf->f->cfg->name, (unsigned long long)tf->job.n, r2, r1);
    ev = follow_evidence_new(
        tf->vnote, tf->job.purpose == TJ_CONSISTENCY ? tf->pnote : NULL, NULL,
        0);
    json_object_set_new(ev, "tiles_root", json_string(r2));
    fe_log_alert(tf->f, "log.inconsistent", key, msg, NULL, ev);
    tf->f->stopped = 1;
}

static void tf_seed_done(struct tfollower *tf, uint64_t local,
                         const struct merkle_range *r);

/* One entry of bundles read past a missing one (tf_ahead_scan). */
struct ahead_ctx {
    struct tfollower *tf;
    uint64_t base;          /* index of the bundle's first entry */
    uint64_t from, to;      /* the entries to take: [from, to) */
    struct merkle_range *r; /* pass 1: append leaf hashes */
    int scan;               /* pass 2: the watch rules */
};

static int
tf_ahead_entry(const uint8_t *data, size_t len, unsigned i, void *arg)
{
    struct ahead_ctx *ac = arg;
    struct tfollower *tf = ac->tf;
    uint64_t idx = ac->base + i;
    struct entry e;

    if (idx < ac->from || idx >= ac->to) {
        return 0;
    }
    memset(&e, 0, sizeof(e));
    e.body = (uint8_t *)(uintptr_t)data;
    e.body_len = len;
    e.log_index = idx;
    merkle_leaf_hash(data, len, e.leaf_hash);
    if (!ac->scan) {
        return merkle_range_append(ac->r, e.leaf_hash) == MERKLE_OK ? 0 : 1;
    }
    follow_hex(e.leaf_hash, MERKLE_HASH_LEN, e.uuid, sizeof(e.uuid));
    {
        struct policy_entry_ctx pc = {tf->f->cfg->name, tf->origin, idx, idx,
                                      follow_wall(tf->f->env)};
        if (policy_eval(tf->f->env->policy, &pc, &e, tf->ahead_alerts,
                        &tf->ahead_signings) != 0) {
            follow_fatal(tf->f->env,
                         "out of memory evaluating the watch rules");
            return 1;
        }
    }
    return 0;
}

/*
 * The bundles holding entries [a, z), read past a missing bundle, are in
 * the log's signed tree when the compact range at a (from hash tiles that
 * hash to the signed root), with their leaf hashes appended, equals the
 * range at z (likewise).  Then their entries are scanned by the watch
 * rules and what they raise is recorded now (store_record_ahead); the
 * cursor does not move.  A withheld bundle stops the cursor, not the
 * watch.
 */
static void
tf_ahead_scan(struct tfollower *tf, uint64_t a, uint64_t z,
              const struct merkle_range *ra, const struct merkle_range *rz)
{
    struct merkle_range r = *ra;
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    int pass;
    uint64_t b;

    if (tf->f->env->policy == NULL) {
        return;
    }
    for (pass = 0; pass < 2; pass++) {
        for (b = a / TILES_WIDTH; b * TILES_WIDTH < z; b++) {
            struct bslot *s = &tf->slots[b % tf->nslots];
            struct ahead_ctx ac = {tf, b * TILES_WIDTH, a, z, &r, pass};
            if (!s->have || s->index != b ||
                tiles_parse_bundle(s->buf, s->len, s->width, tf_ahead_entry,
                                   &ac) != 0) {
                json_array_clear(tf->ahead_alerts);
                policy_batch_clear(&tf->ahead_signings);
                return;
            }
        }
        if (pass == 0) {
            merkle_range_root(&r, r1);
            merkle_range_root(rz, r2);
            if (r.size != z || rz->size != z || !merkle_hash_equal(r1, r2)) {
                fe_error(tf->f,
                         "entries %llu-%llu read past a missing bundle do "
                         "not match the hash tiles",
                         (unsigned long long)a, (unsigned long long)(z - 1));
                return;
            }
        }
    }
    if (json_array_size(tf->ahead_alerts) > 0 || tf->ahead_signings.n > 0) {
        log_info("%s: %zu alert(s) from entries read past a missing bundle",
                 tf->f->cfg->name, json_array_size(tf->ahead_alerts));
        (void)follow_commit_progress(tf->f->env, tf->log_id, 0, 0, NULL, 0,
                                     tf->ahead_alerts, &tf->ahead_signings);
    }
}

/*
 * The cursor waits for a missing bundle: prove the run of bundles read
 * after it (not tried yet) from the hash tiles, then scan them.
 */
static void
tf_ahead_start(struct tfollower *tf)
{
    uint64_t c, b1, b2, z;

    if (tf->job.active || tf->f->wh.n == 0 || !tf->f->has_cursor ||
        tf->f->env->policy == NULL || follow_is_fatal(tf->f->env)) {
        return;
    }
    c = tf->f->next / TILES_WIDTH;
    for (b1 = c + 1; b1 < c + tf->nslots; b1++) {
        struct bslot *s = &tf->slots[b1 % tf->nslots];
        if (s->have && s->index == b1 && !s->ahead) {
            break;
        }
    }
    if (b1 >= c + tf->nslots) {
        return;
    }
    for (b2 = b1; b2 < c + tf->nslots; b2++) {
        struct bslot *s = &tf->slots[b2 % tf->nslots];
        if (!s->have || s->index != b2 || s->ahead) {
            break;
        }
        s->ahead = 1;
    }
    z = b2 * TILES_WIDTH < tf->vsize ? b2 * TILES_WIDTH : tf->vsize;
    if (b1 * TILES_WIDTH >= z ||
        tf_job_start(tf, TJ_AHEAD, tf->vsize, b1 * TILES_WIDTH, z) != 0) {
        tiles_set_free(tf->job.ts);
        memset(&tf->job, 0, sizeof(tf->job));
    }
}

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

    tf->f->pace.once_failures = 0; /* every tile arrived: progress */
    if (tiles_root(j->ts, root) != 0) {
        fe_error(tf->f, "cannot compute the root of size %llu from the tiles",
                 (unsigned long long)j->n);
        tf_job_fail(tf, NULL);
        return;
    }
    if (!merkle_hash_equal(root, want)) {
        int check = j->purpose == TJ_CHECK || j->purpose == TJ_AHEAD;
        tf_tiles_mismatch(tf, root);
        tf_job_clear(tf);
        if (check) {
            tf_reset_to_committed(tf);
        }
        tf_after_checkpoint(tf);
        return;
    }
    if (j->purpose == TJ_AHEAD) {
        struct merkle_range ra, rz;
        uint64_t a = j->at, z = j->at2;
        int ok = tiles_range_at(j->ts, a, &ra) == 0 &&
                 tiles_range_at(j->ts, z, &rz) == 0;
        tf_job_clear(tf);
        if (ok) {
            tf_ahead_scan(tf, a, z, &ra, &rz);
        }
        if (!follow_is_fatal(tf->f->env) && tf_apply(tf) == 0) {
            fe_pump(tf->f);
        }
        return;
    }
    if (j->purpose == TJ_CHECK) {
        struct merkle_range r;
        uint64_t at = j->at;
        uint8_t want_at[MERKLE_HASH_LEN], got_at[MERKLE_HASH_LEN];
        int rc = tiles_range_at(j->ts, at, &r);
        tf_job_clear(tf);
        if (rc != 0 || tf->f->next != at) {
            fe_error(tf->f, "cannot compute the compact range at %llu",
                     (unsigned long long)at);
            tf_reset_to_committed(tf);
            fe_poll_failed(tf->f, NULL);
            return;
        }
        merkle_range_root(&r, want_at);
        merkle_range_root(&tf->f->range, got_at);
        if (!merkle_hash_equal(want_at, got_at)) {
            tf_entries_mismatch(tf, at, want_at);
            return;
        }
        tf->f->root_checks++;
        if (fe_commit(tf->f) != 0) {
            return;
        }
        if (tf_apply(tf) == 0) {
            fe_pump(tf->f);
        }
        return;
    }
    if (j->purpose == TJ_SEED) {
        struct merkle_range r;
        uint64_t at = j->at;
        int rc = tiles_range_at(j->ts, at, &r);
        tf_job_clear(tf);
        if (rc != 0) {
            fe_error(tf->f, "cannot compute the compact range at %llu",
                     (unsigned long long)at);
            fe_poll_failed(tf->f, NULL);
            return;
        }
        tf_seed_done(tf, at, &r);
        tf_after_checkpoint(tf);
        return;
    }
    if (tiles_consistency_proof(j->ts, tf->vsize, proof, MERKLE_MAX_PROOF,
                                &nproof) != 0) {
        fe_error(tf->f, "cannot compute the consistency proof from the tiles");
        tf_job_fail(tf, NULL);
        return;
    }
    tf_job_clear(tf);
    mr = merkle_verify_consistency(
        tf->vsize, tf->pcp.size, tf->vroot, tf->pcp.root,
        (const uint8_t(*)[MERKLE_HASH_LEN])proof, nproof);
    if (mr != MERKLE_OK) {
        char key[1024], msg[1024], r1[65], r2[65];
        follow_hex(tf->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
        follow_hex(tf->pcp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "consistency|%s|%llu|%s|%llu|%s", tf->origin,
                 (unsigned long long)tf->vsize, r1,
                 (unsigned long long)tf->pcp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: no valid consistency proof from size %llu to "
                 "size %llu (%s)",
                 tf->f->cfg->name, (unsigned long long)tf->vsize,
                 (unsigned long long)tf->pcp.size, merkle_strerror(mr));
        fe_log_alert(tf->f, "log.inconsistent", key, msg, NULL,
                     follow_evidence_new(
                         tf->vnote, tf->pnote,
                         (const uint8_t(*)[MERKLE_HASH_LEN])proof, nproof));
        tf->f->stopped = 1;
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

    tf->f->polling = 0;
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        fe_response_error(tf->f, resp, "GET /checkpoint");
        if (!tf->settled && resp->result == HTTP_COMPLETE &&
            resp->status == 404 && tf->base[1][0] != '\0') {
            tf->alt = !tf->alt;
            log_info("%s: no checkpoint there; trying %s", tf->f->cfg->name,
                     tf->base[tf->alt]);
        }
        fe_poll_failed(tf->f, resp);
        return;
    }
    if (!tf->settled) {
        tf->settled = 1;
        log_info("%s: reading the tiles API at %s", tf->f->cfg->name,
                 tf->base[tf->alt]);
    }
    r = tf_verify_note(tf, resp->body, resp->body_len, &cp);
    if (r == MERKLE_ERR_NOTE_UNVERIFIED || r == MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        uint8_t h[MERKLE_HASH_LEN];
        char hex[2 * MERKLE_HASH_LEN + 1];
        char *copy = strndup(resp->body, resp->body_len);
        merkle_leaf_hash((const uint8_t *)resp->body, resp->body_len, h);
        follow_hex(h, 8, hex, sizeof(hex));
        snprintf(key, sizeof(key), "bad_signature|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s served a checkpoint whose signature does not "
                 "verify with the pinned key: %s",
                 tf->f->cfg->name, merkle_strerror(r));
        fe_log_alert(tf->f, "log.bad_signature", key, msg, NULL,
                     follow_evidence_new(tf->vnote, copy, NULL, 0));
        free(copy);
        tf->f->stopped = 1;
        fe_cycle_done(tf->f, 0);
        return;
    }
    if (r != MERKLE_OK) {
        fe_error(tf->f, "checkpoint: %s", merkle_strerror(r));
        fe_poll_failed(tf->f, NULL);
        return;
    }
    why = follow_checkpoint_impossible(&cp, 0,
                                       tf->log_id != 0 ? tf->origin : NULL);
    if (why != NULL) {
        /* Validly signed: evidence against this log, which keeps being
         * polled; nothing else stops. */
        follow_raise_impossible(tf->f->env, tf->f->cfg->name, tf->log_id,
                                tf->log_id != 0 ? tf->origin : cp.origin,
                                tf->vnote, resp->body, resp->body_len, why);
        tf->f->stopped = 1;
        fe_cycle_done(tf->f, 0);
        return;
    }
    if (tf_open_log(tf, cp.origin) != 0) {
        return;
    }
    {
        /* Reachable; but for once a cycle counts as a success only when
         * it gets further (a log whose tiles always fail must end). */
        unsigned failures = tf->f->pace.once_failures;
        fe_liveness(tf->f, 1);
        tf->f->pace.once_failures = failures;
    }
    switch (tf_frozen_check(tf, resp->body, resp->body_len, &cp)) {
    case 0:
        break;
    case 1:
        tf_after_checkpoint(tf);
        return;
    default:
        return;
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
    follow_hex(tf->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
    if (cp.size < tf->vsize) {
        char *copy = strndup(resp->body, resp->body_len);
        snprintf(key, sizeof(key), "rollback|%s|%llu|%s|%llu|%s", tf->origin,
                 (unsigned long long)tf->vsize, r1, (unsigned long long)cp.size,
                 r2);
        snprintf(msg, sizeof(msg),
                 "Log %s signed size %llu after size %llu was verified",
                 tf->f->cfg->name, (unsigned long long)cp.size,
                 (unsigned long long)tf->vsize);
        fe_log_alert(tf->f, "log.rollback", key, msg, NULL,
                     follow_evidence_new(tf->vnote, copy, NULL, 0));
        free(copy);
        tf->f->stopped = 1;
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
                     tf->f->cfg->name, (unsigned long long)cp.size);
            fe_log_alert(tf->f, "log.inconsistent", key, msg, NULL,
                         follow_evidence_new(tf->vnote, copy, NULL, 0));
            free(copy);
            tf->f->stopped = 1;
        }
        tf_after_checkpoint(tf);
        return;
    }
    /* Larger: prove it from the tiles. */
    free(tf->pnote);
    tf->pnote = strndup(resp->body, resp->body_len);
    tf->pcp = cp;
    if (tf->pnote == NULL ||
        tf_job_start(tf, TJ_CONSISTENCY, cp.size, tf->vsize, 0) != 0) {
        fe_error(tf->f, "cannot start reading the tiles of size %llu",
                 (unsigned long long)cp.size);
        tf_job_fail(tf, NULL);
    }
}

/* ---- seeding --------------------------------------------------------- */

static uint64_t
tf_start_local(const struct tfollower *tf)
{
    if (tf->f->cfg->start_latest || tf->f->cfg->start_index > tf->vsize) {
        return tf->vsize;
    }
    return tf->f->cfg->start_index;
}

static void
tf_seed_done(struct tfollower *tf, uint64_t local, const struct merkle_range *r)
{
    if (store_cursor_seed(tf->f->env->store, tf->log_id, local, r,
                          follow_wall(tf->f->env)) != 0) {
        follow_fatal(tf->f->env, store_errmsg(tf->f->env->store));
        return;
    }
    tf->f->has_cursor = 1;
    tf->f->next = tf->f->committed_next = local;
    tf->f->range = *r;
    log_info("%s: cursor seeded at index %llu", tf->f->cfg->name,
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
    if (tf_job_start(tf, TJ_SEED, tf->vsize, local, 0) != 0) {
        fe_error(tf->f, "cannot start reading the tiles for the seed");
        tf_job_fail(tf, NULL);
    }
}

/* ---- progress -------------------------------------------------------- */

static void
tf_clear_slots(struct tfollower *tf)
{
    size_t i;

    for (i = 0; i < tf->nslots; i++) {
        free(tf->slots[i].buf);
        memset(&tf->slots[i], 0, sizeof(tf->slots[i]));
    }
    tf->f->ahead_bytes = 0;
}

/* The engine reset the cursor to the committed state: drop the tile
 * check under way and the bundles held beyond it. */
static void
v2_reset(struct follower *f)
{
    struct tfollower *tf = f->p;

    if (tf->job.active && tf->job.purpose == TJ_CHECK) {
        tf_job_clear(tf);
    }
    tf_clear_slots(tf);
}

/* Back to the committed state: drop everything applied since. */
static void
tf_reset_to_committed(struct tfollower *tf)
{
    fe_reset_cursor(tf->f);
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

    if (idx < tf->f->next) {
        return 0; /* before the cursor: read already */
    }
    if (idx != tf->f->next || idx >= tf->vsize) {
        return 1;
    }
    memset(&e, 0, sizeof(e));
    e.body = (uint8_t *)(uintptr_t)data;
    e.body_len = len;
    e.log_index = idx;
    merkle_leaf_hash(data, len, e.leaf_hash);
    follow_hex(e.leaf_hash, MERKLE_HASH_LEN, e.uuid, sizeof(e.uuid));
    if (merkle_range_append(&tf->f->range, e.leaf_hash) != MERKLE_OK) {
        follow_fatal(tf->f->env, "compact range overflow");
        return 1;
    }
    if (tf->f->env->policy != NULL) {
        struct policy_entry_ctx pc = {tf->f->cfg->name, tf->origin, idx, idx,
                                      follow_wall(tf->f->env)};
        if (policy_eval(tf->f->env->policy, &pc, &e, tf->f->batch_alerts,
                        &tf->f->batch_signings) != 0) {
            follow_fatal(tf->f->env,
                         "out of memory evaluating the watch rules");
            return 1;
        }
    }
    tf->f->next++;
    tf->f->stats.entries++;
    if (tf->f->next == tf->vsize) {
        uint8_t root[MERKLE_HASH_LEN];
        merkle_range_root(&tf->f->range, root);
        if (!merkle_hash_equal(root, tf->vroot)) {
            tf->mismatch = 1;
            return 1;
        }
        tf->f->root_checks++;
        return fe_commit(tf->f) != 0 ? 1 : 0;
    }
    if (tf->f->next - tf->f->committed_next >= FOLLOW_COMMIT_EVERY &&
        tf->f->next % TILES_WIDTH == 0) {
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

    merkle_range_root(&tf->f->range, root);
    follow_hex(want, MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(root, MERKLE_HASH_LEN, r2, sizeof(r2));
    snprintf(key, sizeof(key), "root|%s|%llu|%s|%s", tf->origin,
             (unsigned long long)size, r1, r2);
    if (size == tf->vsize) {
        snprintf(msg, sizeof(msg),
                 "Log %s: the entries up to size %llu hash to %s, not the "
                 "signed root %s",
                 tf->f->cfg->name, (unsigned long long)size, r2, r1);
    } else {
        snprintf(msg, sizeof(msg),
                 "Log %s: the entries up to size %llu hash to %s, not %s, "
                 "the root of that size in the hash tiles of the signed "
                 "size %llu",
                 tf->f->cfg->name, (unsigned long long)size, r2, r1,
                 (unsigned long long)tf->vsize);
    }
    ev = follow_evidence_new(tf->vnote, NULL, NULL, 0);
    json_object_set_new(ev, "computed_root", json_string(r2));
    json_object_set_new(ev, "size", json_integer((json_int_t)size));
    if (size != tf->vsize) {
        json_object_set_new(ev, "tiles_root", json_string(r1));
    }
    tf->mismatch = 0;
    fe_log_alert(tf->f, "log.entries_mismatch", key, msg, NULL, ev);
    tf_reset_to_committed(tf);
    tf->f->stopped = 1;
    fe_cycle_done(tf->f, 0);
}

/* Apply every bundle that is next in order.  -1: stopped. */
static int
tf_apply(struct tfollower *tf)
{
    while (tf->f->has_cursor && tf->f->next < tf->vsize && !tf->job.active) {
        uint64_t b = tf->f->next / TILES_WIDTH;
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
        tf->f->ahead_bytes -= len;
        rc = tiles_parse_bundle(buf, len, width, tf_apply_entry, &ac);
        free(buf);
        if (follow_is_fatal(tf->f->env)) {
            return -1;
        }
        if (tf->mismatch) {
            tf_entries_mismatch(tf, tf->vsize, tf->vroot);
            return -1;
        }
        if (rc == 2) {
            /* A commit point: prove the range there from the tiles of
             * the verified size first (tf_job_done commits, resumes). */
            if (tf_job_start(tf, TJ_CHECK, tf->vsize, tf->f->next, 0) != 0) {
                fe_error(tf->f, "cannot start reading the tiles at %llu",
                         (unsigned long long)tf->f->next);
                tf_job_fail(tf, NULL);
            }
            return -1;
        }
        if (rc != 0) {
            /* Nothing of it was applied (tiles_parse_bundle checks the
             * whole bundle first): ask for it again after its backoff. */
            fe_error(tf->f, "entry bundle %llu (width %u) is malformed",
                     (unsigned long long)b, width);
            fe_unit_missed(tf->f, b, 200);
            fe_pump(tf->f);
            return -1;
        }
    }
    return 0;
}

static void
tf_on_bundle(struct tfollower *tf, struct fe_req *r,
             const struct http_response *resp)
{
    struct bslot *s;

    if (fe_is_throttle(resp)) {
        if (resp->result != HTTP_COMPLETE) {
            fe_response_error(tf->f, resp, "entry bundle");
        }
        fe_units_throttled(tf->f, r, resp);
        return;
    }
    fe_answered(tf->f);
    if (r->width < tiles_width(TILES_ENTRIES, r->index, tf->vsize)) {
        /* Asked for while the bundle was partial; it has grown since. */
        fe_unit_retry(tf->f, r->index);
        return;
    }
    if (resp->result != HTTP_COMPLETE || resp->status != 200 ||
        tiles_parse_bundle((const uint8_t *)resp->body, resp->body_len,
                           r->width, NULL, NULL) != 0) {
        /* The log answers, but not with this bundle: it is asked for
         * again on its own backoff, and reported withheld in time; the
         * bundles after it are still read. */
        if (resp->status == 200) {
            fe_error(tf->f, "entry bundle %llu (width %u) is malformed",
                     (unsigned long long)r->index, r->width);
        } else {
            fe_response_error(tf->f, resp, "entry bundle");
        }
        fe_unit_missed(tf->f, r->index, resp->status);
        tf_ahead_start(tf);
        return;
    }
    fe_unit_got(tf->f, r->index);
    s = &tf->slots[r->index % tf->nslots];
    if (s->have) {
        tf->f->ahead_bytes -= s->len;
    }
    free(s->buf);
    s->buf = malloc(resp->body_len + 1);
    if (s->buf == NULL) {
        follow_fatal(tf->f->env, "out of memory");
        return;
    }
    memcpy(s->buf, resp->body, resp->body_len);
    s->len = resp->body_len;
    tf->f->ahead_bytes += s->len;
    s->index = r->index;
    s->width = r->width;
    s->have = 1;
    fe_unthrottle(tf->f);
    if (tf_apply(tf) == 0) {
        tf_ahead_start(tf);
    }
}

/* A frozen log, checked to its final size, is polled rarely (its
 * checkpoint must never change): the next poll in FOLLOW_FROZEN_POLL_MS
 * (+-10%), unless one is armed already. */
static void
tf_arm_frozen(struct tfollower *tf)
{
    if (tf->frozen && !tf->f->env->once &&
        !tf->f->env->ops->timer_pending(tf->f->poll_ev)) {
        fe_arm_poll(tf->f,
                    follow_jitter(tf->f->env, FOLLOW_FROZEN_POLL_MS, 10));
    }
}

static void
tf_after_checkpoint(struct tfollower *tf)
{
    if (follow_is_fatal(tf->f->env)) {
        return;
    }
    if (tf->f->stopped || !tf->has_cp) {
        fe_cycle_done(tf->f, 0);
        return;
    }
    if (!tf->f->has_cursor) {
        tf_seed(tf);
        return;
    }
    if (tf->f->next >= tf->vsize && !tf->f->fetching) {
        /* caught up: nothing to read */
        tf_arm_frozen(tf);
        fe_cycle_done(tf->f, 0);
        return;
    }
    if (!tf->f->fetching || tf->f->fetch_next < tf->f->next / TILES_WIDTH) {
        tf->f->fetch_next = tf->f->next / TILES_WIDTH;
    }
    tf->f->fetching = 1;
    fe_pump(tf->f);
}

/* ---- the engine's operations ------------------------------------------ */

static void
v2_on_response(struct follower *f, struct fe_req *r,
               const struct http_response *resp)
{
    struct tfollower *tf = f->p;

    switch (r->kind) {
    case TR_CHECKPOINT:
        tf_on_checkpoint(tf, resp);
        break;
    case TR_TILE:
        tf_on_tile(tf, r, resp);
        break;
    case FE_REQ_UNITS:
        tf_on_bundle(tf, r, resp);
        break;
    default:
        break;
    }
}

static int
v2_busy(const struct follower *f)
{
    const struct tfollower *tf = f->p;

    return tf->job.active;
}

static void
v2_view(const struct follower *f, struct fe_view *out)
{
    const struct tfollower *tf = f->p;

    out->log_id = tf->log_id;
    out->origin = tf->origin;
    out->has_cp = tf->has_cp;
    out->vsize = tf->vsize;
    out->vnote = tf->vnote;
    out->frozen = tf->frozen;
}

/* Units are entry bundles; those the verified size covers exist. */
static uint64_t
v2_fetch_end(const struct follower *f)
{
    const struct tfollower *tf = f->p;

    return (tf->vsize + TILES_WIDTH - 1) / TILES_WIDTH;
}

/* The slots hold nslots bundles from the cursor's on. */
static uint64_t
v2_window_end(const struct follower *f)
{
    const struct tfollower *tf = f->p;

    return f->next / TILES_WIDTH + tf->nslots;
}

static struct fe_req *
v2_send_units(struct follower *f, const uint64_t *units, size_t n)
{
    struct tfollower *tf = f->p;
    char path[TILES_PATH_MAX];
    unsigned width;
    struct fe_req *r;

    (void)n; /* batch 1 */
    width = tiles_width(TILES_ENTRIES, units[0], tf->vsize);
    if (tiles_path(TILES_ENTRIES, units[0], width, path, sizeof(path)) != 0 ||
        (r = tf_get(tf, FE_REQ_UNITS, path, TILES_MAX_BUNDLE)) == NULL) {
        return NULL;
    }
    r->level = TILES_ENTRIES;
    r->index = units[0];
    r->width = width;
    return r;
}

static void
v2_unit_range(const struct follower *f, uint64_t u, uint64_t *first,
              uint64_t *last)
{
    const struct tfollower *tf = f->p;
    unsigned w = tiles_width(TILES_ENTRIES, u, tf->vsize);

    *first = u * TILES_WIDTH;
    *last = w > 0 ? *first + w - 1 : *first;
}

static int
v2_caught_up(const struct follower *f)
{
    const struct tfollower *tf = f->p;

    return f->next >= tf->vsize;
}

static void
v2_on_caught_up(struct follower *f)
{
    /* Read to the final size of a frozen log: polled rarely from now. */
    tf_arm_frozen(f->p);
    fe_cycle_done(f, 0);
}

static const char *
v2_base_url(const struct follower *f)
{
    const struct tfollower *tf = f->p;

    return tf->base[tf->alt];
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
    p.name = tf->f->cfg->name;
    if (store_logs_each(tf->f->env->store, tf_pick_cb, &p) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(tf->f->env->store));
        return -1;
    }
    if (!p.found) {
        return 0;
    }
    tf->log_id = p.log_id;
    snprintf(tf->origin, sizeof(tf->origin), "%s", p.origin);
    memset(&row, 0, sizeof(row));
    if (store_checkpoint_latest(tf->f->env->store, tf->log_id, &found, &row) !=
            0 ||
        store_cursor_get(tf->f->env->store, tf->log_id, &tf->f->has_cursor,
                         &tf->f->next, &tf->f->range) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(tf->f->env->store));
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
    tf->f->committed_next = tf->f->next;
    tf->f->last_growth_ms = follow_mono(tf->f->env);
    log_info("%s: resuming %s at index %llu (verified size %llu)",
             tf->f->cfg->name, tf->origin, (unsigned long long)tf->f->next,
             (unsigned long long)tf->vsize);
    return 0;
}

static void v2_free(struct follower *f);

static int
v2_init(struct follower *f, char *err, size_t errlen)
{
    struct tfollower *tf = calloc(1, sizeof(*tf));

    if (tf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->p = tf;
    tf->f = f;
    tf_set_bases(tf);
    tf->nslots = (size_t)f->pace.window * 2;
    if (tf->nslots * TILES_WIDTH < FOLLOW_LOOKAHEAD_ENTRIES) {
        /* Past a withheld bundle the slots are the look-ahead (by count;
         * FOLLOW_LOOKAHEAD_BYTES bounds it by bytes). */
        tf->nslots = FOLLOW_LOOKAHEAD_ENTRIES / TILES_WIDTH;
    }
    tf->slots = calloc(tf->nslots, sizeof(*tf->slots));
    tf->ahead_alerts = json_array();
    if (tf->slots == NULL || tf->ahead_alerts == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tf_load_keys(tf, err, errlen) != 0 || tf_resume(tf, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

/* What is applied since the last commit is not root-checked yet: it is
 * dropped (read again on the next start), never committed. */
static void
v2_free(struct follower *f)
{
    struct tfollower *tf = f->p;

    if (tf == NULL) {
        return;
    }
    tiles_set_free(tf->job.ts);
    if (tf->slots != NULL) {
        tf_clear_slots(tf);
    }
    free(tf->slots);
    json_decref(tf->ahead_alerts);
    policy_batch_free(&tf->ahead_signings);
    free(tf->vnote);
    free(tf->pnote);
    free(tf);
    f->p = NULL;
}

const struct fe_proto rekor_v2_proto = {
    .name = "rekor-v2",
    .batch = 1,
    .poll_while_fetching = 1,
    .init = v2_init,
    .free = v2_free,
    .poll = v2_poll,
    .busy = v2_busy,
    .view = v2_view,
    .fetch_end = v2_fetch_end,
    .window_end = v2_window_end,
    .send_units = v2_send_units,
    .unit_range = v2_unit_range,
    .caught_up = v2_caught_up,
    .on_caught_up = v2_on_caught_up,
    .on_response = v2_on_response,
    .reset = v2_reset,
    .base_url = v2_base_url,
};
