/*
 * rekor_v1.c: the Rekor v1 protocol of the follower engine (engine.h).
 * See follow.h for what it proves.
 *
 * Shape of the machine, per log:
 *
 *   poll timer -> GET /api/v1/log -> verify every signed tree head
 *     -> frozen shards unchanged?            (else log.inconsistent;
 *        a head served as checked within the hour: not again)
 *     -> our shard rotated away?             (finish it to its final cp)
 *     -> compare with the verified checkpoint:
 *          smaller                           log.rollback
 *          same size, other root             log.inconsistent
 *          larger -> GET /api/v1/log/proof -> verify against both signed
 *                    roots -> record          (else log.inconsistent)
 *     -> no cursor yet? seed it from the inclusion proof of the leaf
 *        before the start point (GET /api/v1/log/entries?logIndex=)
 *     -> fetch [cursor, verified size) in batches, apply in order,
 *        root-check at every verified size, commit;
 *     -> every FOLLOW_COMMIT_EVERY entries between verified sizes, prove
 *        the compact range at the cursor from the inclusion proof of the
 *        entry before it (GET /api/v1/log/entries?logIndex=) before
 *        committing (else log.entries_mismatch, nothing committed).
 *
 * The follower's in-memory cursor (next, range) runs ahead of the
 * committed one by at most FOLLOW_COMMIT_EVERY entries; anything that
 * goes wrong resets it to the committed state from the store.  Only a
 * proven cursor is committed: at a verified size (its root is the
 * signed root) or at a commit point (its compact range is the signed
 * tree's); what is applied past the last commit is dropped on stop.
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
#include "monitor/follow/engine.h"
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
    int checked;     /* an inactive shard's head, the same signed note as
                        checked within FOLLOW_FROZEN_POLL_MS (frozen_seen) */
};

/*
 * An inactive shard's final signed head as last checked (signature, and
 * store_frozen_check against the recorded one).  The log serves it with
 * every poll; the same bytes again within FOLLOW_FROZEN_POLL_MS are not
 * verified nor compared again, other bytes are at once.
 */
struct frozen_seen {
    char tree_id[FOLLOW_TREE_ID_MAX];
    uint8_t fp[MERKLE_HASH_LEN]; /* fingerprint of the signed note */
    struct merkle_checkpoint cp;
    uint64_t checked_ms; /* monotonic */
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

/* Request kinds besides the engine's FE_REQ_UNITS (retrieve). */
enum { REQ_LOG = 1, REQ_PROOF, REQ_SEED, REQ_CHECK };

/* The commit-point check (follow_check_start). */
enum { CHECK_NONE = 0, CHECK_SENT, CHECK_WAIT };

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

/* The Rekor v1 protocol's state (struct follower.p). */
struct v1 {
    struct merkle_note_key *keys[FOLLOW_MAX_KEYS];
    size_t nkeys;

    struct shard cur;
    struct log_view view; /* last verified poll (heads owned) */
    int have_view;
    struct frozen_seen frozen[FOLLOW_MAX_SHARDS];
    size_t nfrozen;

    struct rootcheck checks[8]; /* verified sizes ahead of the cursor */
    size_t nchecks;

    struct entry **slots; /* reorder ring, nslots */
    size_t nslots;
    unsigned char *ahead; /* nslots: AHEAD_* of the slot's index */
    json_t *ahead_alerts; /* found ahead of a missing entry */
    struct policy_batch ahead_signings;

    struct pending_cp pcp;
    int proving, seeding;

    /* The commit-point check (follow_check_start): its state, the
     * cursor it proves (virtual), its failures in a row (all, for the
     * backoff; answers that were no throttle, for once's give-up), and
     * the timer that sends it again. */
    int check; /* CHECK_* */
    uint64_t check_at;
    unsigned check_fails, check_bad;
    struct follow_timer *check_ev; /* owned */
};

static void follow_after_checkpoint(struct follower *f);
static void follow_reset_to_committed(struct follower *f);

/* ---- small helpers ------------------------------------------------ */

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

/* ---- keys ------------------------------------------------------------ */

static int
follow_load_keys(struct follower *f, char *err, size_t errlen)
{
    struct v1 *v = f->p;
    size_t i, n = config_trusted_root_ntlogs(f->env->troot);

    for (i = 0; i < n && v->nkeys < FOLLOW_MAX_KEYS; i++) {
        const struct config_log_key *k =
            config_trusted_root_tlog(f->env->troot, i);
        struct merkle_note_key *nk = NULL;
        enum merkle_result r = MERKLE_ERR_KEY;

        if (!follow_same_url(k->base_url, f->cfg->url) || k->pkey == NULL ||
            k->dup) {
            continue; /* a dup: the same key, another validFor period */
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
        v->keys[v->nkeys++] = nk;
    }
    if (v->nkeys == 0) {
        snprintf(err, errlen,
                 "log %s: the trusted root has no usable key for this url",
                 f->cfg->name);
        return -1;
    }
    return 0;
}

/* ---- requests ----------------------------------------------------- */

/* Is this a response worth parsing?  Records failures and throttling. */
static int
follow_response_ok(struct follower *f, const struct http_response *resp,
                   const char *what)
{
    if (resp->result == HTTP_COMPLETE && resp->status == 200) {
        return 1;
    }
    if (resp->result == HTTP_COMPLETE) {
        fe_error(f, "%s: HTTP status %d", what, resp->status);
    } else {
        fe_error(f, "%s: %s", what,
                 resp->error != NULL ? resp->error
                                     : http_result_str(resp->result));
    }
    return 0;
}

/* ---- polling ------------------------------------------------------- */

static void
v1_poll(struct follower *f)
{
    if (fe_send(f, REQ_LOG, HTTP_GET, "/api/v1/log", NULL, 0,
                FOLLOW_MAX_RESPONSE) == NULL) {
        fe_error(f, "cannot start a request");
        fe_poll_failed(f, NULL);
        return;
    }
    f->polling = 1;
}

/* The inactive shard tree_id's head as checked within
 * FOLLOW_FROZEN_POLL_MS with these very bytes, or NULL. */
static const struct frozen_seen *
frozen_seen_find(struct follower *f, const char *tree_id, const char *note,
                 size_t note_len)
{
    struct v1 *v = f->p;
    uint8_t fp[MERKLE_HASH_LEN];
    size_t i;

    merkle_leaf_hash((const uint8_t *)note, note_len, fp);
    for (i = 0; i < v->nfrozen; i++) {
        const struct frozen_seen *s = &v->frozen[i];
        if (strcmp(s->tree_id, tree_id) == 0) {
            return merkle_hash_equal(s->fp, fp) &&
                           follow_mono(f->env) - s->checked_ms <
                               FOLLOW_FROZEN_POLL_MS
                       ? s
                       : NULL;
        }
    }
    return NULL;
}

/* h (an inactive shard's head) is checked now. */
static void
frozen_seen_set(struct follower *f, const struct head *h)
{
    struct v1 *v = f->p;
    struct frozen_seen *s = NULL;
    size_t i;

    for (i = 0; i < v->nfrozen && s == NULL; i++) {
        if (strcmp(v->frozen[i].tree_id, h->tree_id) == 0) {
            s = &v->frozen[i];
        }
    }
    if (s == NULL) {
        if (v->nfrozen == FOLLOW_MAX_SHARDS) {
            return; /* cannot happen: at most that many per view */
        }
        s = &v->frozen[v->nfrozen++];
    }
    snprintf(s->tree_id, sizeof(s->tree_id), "%s", h->tree_id);
    merkle_leaf_hash((const uint8_t *)h->note, h->note_len, s->fp);
    s->cp = h->cp;
    s->checked_ms = follow_mono(f->env);
}

/*
 * Verify one signed tree head: note signature with our keys, checkpoint
 * parse, origin "<name> - <treeID>".  An inactive shard's head (inactive)
 * served as checked within FOLLOW_FROZEN_POLL_MS is taken from
 * frozen_seen, marked checked.  0, or -1 after raising log.bad_signature
 * (signature) or recording an error (malformed).
 */
static int
follow_verify_head(struct follower *f, const char *tree_id, const char *note,
                   size_t note_len, uint64_t offset, int inactive,
                   struct head *out)
{
    struct v1 *v = f->p;
    enum merkle_result r;
    const char *dash, *why;
    char key[1024], msg[1024];
    const struct frozen_seen *seen;

    memset(out, 0, sizeof(*out));
    if (note_len > MERKLE_NOTE_MAX_SIZE) {
        fe_error(f, "signed tree head too large");
        return -1;
    }
    /* An inactive shard (not ours) serving the head it served when last
     * checked: verified then, not again until FOLLOW_FROZEN_POLL_MS. */
    if (inactive && strcmp(tree_id, v->cur.tree_id) != 0 &&
        strlen(tree_id) < sizeof(out->tree_id) &&
        (seen = frozen_seen_find(f, tree_id, note, note_len)) != NULL &&
        follow_checkpoint_impossible(&seen->cp, offset, NULL) == NULL) {
        out->cp = seen->cp;
        strcpy(out->tree_id, tree_id);
        if ((out->note = strndup(note, note_len)) == NULL) {
            return -1;
        }
        out->note_len = note_len;
        out->checked = 1;
        return 0;
    }
    r = merkle_checkpoint_verify(note, note_len, v->keys, v->nkeys, &out->cp);
    if (r == MERKLE_ERR_NOTE_UNVERIFIED || r == MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        uint8_t h[MERKLE_HASH_LEN];
        char hex[2 * MERKLE_HASH_LEN + 1];
        merkle_leaf_hash((const uint8_t *)note, note_len, h);
        follow_hex(h, 8, hex, sizeof(hex));
        snprintf(key, sizeof(key), "bad_signature|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s served a checkpoint (tree %s) whose signature does "
                 "not verify with the pinned key: %s",
                 f->cfg->name, tree_id, merkle_strerror(r));
        char *copy = strndup(note, note_len);
        fe_log_alert(f, "log.bad_signature", key, msg, NULL,
                     follow_evidence_new(v->cur.vnote, copy, NULL, 0));
        f->stopped = 1;
        free(copy);
        return -1;
    }
    if (r != MERKLE_OK) {
        fe_error(f, "signed tree head: %s", merkle_strerror(r));
        return -1;
    }
    dash = strstr(out->cp.origin, " - ");
    why = follow_checkpoint_impossible(
        &out->cp, offset,
        strcmp(tree_id, v->cur.tree_id) == 0 ? v->cur.origin : NULL);
    if (why == NULL && (dash == NULL || strcmp(dash + 3, tree_id) != 0)) {
        why = "its origin does not name the tree it is served for";
    }
    if (why != NULL) {
        /* Validly signed, so evidence of a misbehaving log, never a
         * reason to stop anything but this log's progress. */
        follow_raise_impossible(f->env, f->cfg->name, v->cur.log_id,
                                v->cur.origin[0] ? v->cur.origin
                                                 : out->cp.origin,
                                v->cur.vnote, note, note_len, why);
        f->stopped = 1;
        return -1;
    }
    if (strlen(tree_id) >= sizeof(out->tree_id)) {
        fe_error(f, "tree id too long");
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
follow_parse_head(struct follower *f, json_t *o, uint64_t offset, int inactive,
                  struct head *out)
{
    const char *tid = json_string_value(json_object_get(o, "treeID"));
    json_t *sth = json_object_get(o, "signedTreeHead");
    json_t *size = json_object_get(o, "treeSize");
    uint64_t tid_num;

    if (tid == NULL || !json_is_string(sth) || !json_is_number(size) ||
        entry_parse_u64(tid, strlen(tid), &tid_num) != 0) {
        fe_error(f, "GET /api/v1/log: malformed tree head");
        return -1;
    }
    if (follow_verify_head(f, tid, json_string_value(sth),
                           json_string_length(sth), offset, inactive,
                           out) != 0) {
        return -1;
    }
    /* Numbers are read as reals (an integer beyond int64 must not make
     * the signed note unreadable); the signed size is what counts. */
    if (json_number_value(size) < 0 ||
        json_number_value(size) != (double)out->cp.size) {
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
    struct v1 *v = f->p;
    json_t *root, *inactive;
    json_error_t jerr;
    struct log_view lv;
    size_t i;
    uint64_t offset = 0;

    f->polling = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log")) {
        fe_poll_failed(f, resp);
        return;
    }
    /* Integers as reals: a treeSize beyond int64 (which jansson refuses
     * as an integer) must still let the signed note be judged. */
    root = json_loadb(resp->body, resp->body_len,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        fe_error(f, "GET /api/v1/log: not a JSON object");
        fe_poll_failed(f, NULL);
        return;
    }
    memset(&lv, 0, sizeof(lv));
    inactive = json_object_get(root, "inactiveShards");
    if (inactive != NULL && !json_is_array(inactive) &&
        !json_is_null(inactive)) {
        fe_error(f, "GET /api/v1/log: inactiveShards is not a list");
        goto fail;
    }
    if (json_array_size(inactive) > FOLLOW_MAX_SHARDS) {
        fe_error(f, "GET /api/v1/log: too many inactive shards");
        goto fail;
    }
    for (i = 0; i < json_array_size(inactive); i++) {
        if (follow_parse_head(f, json_array_get(inactive, i), offset, 1,
                              &lv.inactive[i]) != 0) {
            lv.ninactive = i;
            goto fail;
        }
        lv.inactive[i].offset = offset;
        offset += lv.inactive[i].cp.size;
        lv.ninactive = i + 1;
    }
    if (follow_parse_head(f, root, offset, 0, &lv.active) != 0) {
        goto fail;
    }
    lv.active.offset = offset;
    json_decref(root);
    view_clear(&v->view);
    v->view = lv;
    v->have_view = 1;
    {
        /* Reachable; but for once a cycle counts as a success only when
         * it gets further than the checkpoint (a log whose proof or seed
         * request always fails must end with exit 3, not poll forever). */
        unsigned failures = f->pace.once_failures;

        fe_liveness(f, 1);
        f->pace.once_failures = failures;
    }
    follow_handle_view(f);
    return;
fail:
    json_decref(root);
    view_clear(&lv);
    if (f->stopped) {
        /* An alert was raised (bad signature): a verdict, not an outage. */
        fe_cycle_done(f, 0);
        return;
    }
    fe_poll_failed(f, NULL);
}

/* ---- checkpoints ----------------------------------------------------- */

/*
 * Frozen shards: their final checkpoint must never change
 * (fe_frozen_check).  A head served as last checked within
 * FOLLOW_FROZEN_POLL_MS (h->checked) is not compared again; any other is,
 * at once.  0 when a final checkpoint changed (alert raised), else 1.
 */
static int
follow_check_frozen(struct follower *f)
{
    struct v1 *v = f->p;
    size_t i;
    int ok = 1;

    for (i = 0; i < v->view.ninactive; i++) {
        struct head *h = &v->view.inactive[i];
        char label[MERKLE_ORIGIN_MAX + 8];
        int res;

        if (h->checked ||
            frozen_seen_find(f, h->tree_id, h->note, h->note_len) != NULL) {
            continue;
        }
        snprintf(label, sizeof(label), "shard %s", h->cp.origin);
        if (fe_frozen_check(f, label, h->cp.origin, h->cp.origin, h->note,
                            h->note_len, &h->cp, &res) != 0) {
            return 0;
        }
        if (res == STORE_FROZEN_DIFFERENT) {
            ok = 0;
        }
        frozen_seen_set(f, h);
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
    struct v1 *v = f->p;

    if (v->nchecks == sizeof(v->checks) / sizeof(v->checks[0])) {
        /* Keep the newest: it is the target; older ones are implied by
         * the consistency proofs already verified. */
        memmove(&v->checks[0], &v->checks[1],
                (v->nchecks - 1) * sizeof(v->checks[0]));
        v->nchecks--;
    }
    v->checks[v->nchecks].size = size;
    memcpy(v->checks[v->nchecks].root, root, MERKLE_HASH_LEN);
    v->nchecks++;
}

/* Record h as the shard's newest verified checkpoint. */
static int
follow_record(struct follower *f, const struct head *h,
              const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    struct v1 *v = f->p;
    struct store_checkpoint cp;

    memset(&cp, 0, sizeof(cp));
    cp.note = h->note;
    cp.note_len = h->note_len;
    cp.size = h->cp.size;
    memcpy(cp.root, h->cp.root, MERKLE_HASH_LEN);
    cp.link = nproof > 0 ? STORE_LINK_CONSISTENCY : STORE_LINK_NONE;
    cp.proof = proof;
    cp.nproof = nproof;
    if (store_checkpoint_record(f->env->store, v->cur.log_id, &cp,
                                follow_wall(f->env)) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    if (!v->cur.has_cp || h->cp.size > v->cur.vsize) {
        f->last_growth_ms = follow_mono(f->env);
    }
    shard_set_cp(&v->cur, h);
    if (f->has_cursor && h->cp.size > f->next - v->cur.offset) {
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
    struct v1 *v = f->p;
    char key[1024], msg[1024], r1[65], r2[65], path[256];

    if (!v->cur.has_cp || v->cur.vsize == 0) {
        if (follow_record(f, h, NULL, 0) != 0) {
            return;
        }
        v->cur.final = final;
        follow_after_checkpoint(f);
        return;
    }
    follow_hex(v->cur.vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(h->cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
    if (h->cp.size < v->cur.vsize) {
        snprintf(key, sizeof(key), "rollback|%s|%llu|%s|%llu|%s", v->cur.origin,
                 (unsigned long long)v->cur.vsize, r1,
                 (unsigned long long)h->cp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s signed size %llu after size %llu was verified",
                 f->cfg->name, (unsigned long long)h->cp.size,
                 (unsigned long long)v->cur.vsize);
        fe_log_alert(f, "log.rollback", key, msg, NULL,
                     follow_evidence_new(v->cur.vnote, h->note, NULL, 0));
        f->stopped = 1;
        follow_after_checkpoint(f);
        return;
    }
    if (h->cp.size == v->cur.vsize) {
        if (!merkle_hash_equal(h->cp.root, v->cur.vroot)) {
            snprintf(key, sizeof(key), "fork|%s|%llu|%s|%s", v->cur.origin,
                     (unsigned long long)h->cp.size, r1, r2);
            snprintf(msg, sizeof(msg),
                     "Log %s signed two different roots for size %llu",
                     f->cfg->name, (unsigned long long)h->cp.size);
            fe_log_alert(f, "log.inconsistent", key, msg, NULL,
                         follow_evidence_new(v->cur.vnote, h->note, NULL, 0));
            f->stopped = 1;
        } else if (final) {
            v->cur.final = 1;
        }
        follow_after_checkpoint(f);
        return;
    }
    /* Larger: prove it. */
    free(v->pcp.head.note);
    v->pcp.head = *h;
    v->pcp.head.note = strdup(h->note);
    v->pcp.final = final;
    snprintf(path, sizeof(path),
             "/api/v1/log/proof?firstSize=%llu&lastSize=%llu&treeID=%s",
             (unsigned long long)v->cur.vsize, (unsigned long long)h->cp.size,
             h->tree_id);
    if (v->pcp.head.note == NULL || fe_send(f, REQ_PROOF, HTTP_GET, path, NULL,
                                            0, FOLLOW_MAX_RESPONSE) == NULL) {
        fe_error(f, "cannot start a proof request");
        follow_after_checkpoint(f);
        return;
    }
    v->proving = 1;
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
    struct v1 *v = f->p;
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    size_t nhashes = 0;
    char err[128];
    enum merkle_result r;
    struct head *h = &v->pcp.head;

    v->proving = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log/proof")) {
        fe_poll_failed(f, resp);
        return;
    }
    if (follow_parse_proof(resp->body, resp->body_len, hashes, &nhashes, err,
                           sizeof(err)) != 0) {
        fe_error(f, "GET /api/v1/log/proof: %s", err);
        fe_poll_failed(f, NULL);
        return;
    }
    r = merkle_verify_consistency(
        v->cur.vsize, h->cp.size, v->cur.vroot, h->cp.root,
        (const uint8_t(*)[MERKLE_HASH_LEN])hashes, nhashes);
    if (r != MERKLE_OK) {
        char key[1024], msg[1024], r1[65], r2[65];
        follow_hex(v->cur.vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
        follow_hex(h->cp.root, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "consistency|%s|%llu|%s|%llu|%s",
                 v->cur.origin, (unsigned long long)v->cur.vsize, r1,
                 (unsigned long long)h->cp.size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: no valid consistency proof from size %llu to "
                 "size %llu (%s)",
                 f->cfg->name, (unsigned long long)v->cur.vsize,
                 (unsigned long long)h->cp.size, merkle_strerror(r));
        fe_log_alert(f, "log.inconsistent", key, msg, NULL,
                     follow_evidence_new(
                         v->cur.vnote, h->note,
                         (const uint8_t(*)[MERKLE_HASH_LEN])hashes, nhashes));
        f->stopped = 1;
        follow_after_checkpoint(f);
        return;
    }
    f->pace.once_failures = 0; /* a verified proof: progress */
    if (follow_record(f, h, (const uint8_t(*)[MERKLE_HASH_LEN])hashes,
                      nhashes) == 0 &&
        v->pcp.final) {
        v->cur.final = 1;
    }
    follow_after_checkpoint(f);
}

/* ---- shards ------------------------------------------------------------ */

/* Point cur at shard h (new or resumed from the store). */
static int
follow_enter_shard(struct follower *f, const struct head *h)
{
    struct v1 *v = f->p;
    int found = 0;
    struct store_checkpoint_row row;

    free(v->cur.vnote);
    memset(&v->cur, 0, sizeof(v->cur));
    snprintf(v->cur.origin, sizeof(v->cur.origin), "%s", h->cp.origin);
    snprintf(v->cur.tree_id, sizeof(v->cur.tree_id), "%s", h->tree_id);
    v->cur.offset = h->offset;
    if (store_log_open(f->env->store, f->cfg->name, h->cp.origin,
                       follow_wall(f->env), &v->cur.log_id) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    memset(&row, 0, sizeof(row));
    if (store_checkpoint_latest(f->env->store, v->cur.log_id, &found, &row) !=
        0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    if (found) {
        v->cur.has_cp = 1;
        v->cur.vsize = row.size;
        memcpy(v->cur.vroot, row.root, MERKLE_HASH_LEN);
        v->cur.vnote = row.note;
        v->cur.vnote_len = row.note_len;
        row.note = NULL;
        store_checkpoint_row_free(&row);
    }
    if (store_cursor_get(f->env->store, v->cur.log_id, &f->has_cursor, &f->next,
                         &f->range) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return -1;
    }
    f->committed_next = f->next;
    v->nchecks = 0;
    if (f->has_cursor && v->cur.has_cp &&
        f->next - v->cur.offset < v->cur.vsize) {
        follow_add_check(f, v->cur.vsize, v->cur.vroot);
    }
    return 0;
}

/* The shard that starts where ours ends, from the last view. */
static const struct head *
follow_successor(const struct follower *f)
{
    const struct v1 *v = f->p;
    uint64_t end = v->cur.offset + v->cur.vsize;
    size_t i;

    for (i = 0; i < v->view.ninactive; i++) {
        if (v->view.inactive[i].offset == end &&
            strcmp(v->view.inactive[i].cp.origin, v->cur.origin) != 0) {
            return &v->view.inactive[i];
        }
    }
    if (v->view.active.offset == end &&
        strcmp(v->view.active.cp.origin, v->cur.origin) != 0) {
        return &v->view.active;
    }
    return NULL;
}

/* Our shard is finished: move to its successor at local 0. */
static void
follow_switch_shard(struct follower *f)
{
    struct v1 *v = f->p;
    const struct head *succ = follow_successor(f);
    struct head copy;
    int is_final;

    if (succ == NULL) {
        char key[1024], msg[1024];
        snprintf(key, sizeof(key), "successor|%s|%llu", v->cur.origin,
                 (unsigned long long)(v->cur.offset + v->cur.vsize));
        snprintf(msg, sizeof(msg),
                 "Log %s: no shard continues frozen shard %s at virtual "
                 "index %llu",
                 f->cfg->name, v->cur.origin,
                 (unsigned long long)(v->cur.offset + v->cur.vsize));
        fe_log_alert(f, "log.inconsistent", key, msg, NULL, NULL);
        f->stopped = 1;
        fe_cycle_done(f, 0);
        return;
    }
    log_info("%s: shard %s finished at virtual index %llu; following %s",
             f->cfg->name, v->cur.origin,
             (unsigned long long)(v->cur.offset + v->cur.vsize),
             succ->cp.origin);
    copy = *succ;
    copy.note = strdup(succ->note);
    is_final = succ != &v->view.active;
    if (copy.note == NULL || follow_enter_shard(f, &copy) != 0) {
        free(copy.note);
        return;
    }
    if (!f->has_cursor) {
        struct merkle_range empty;
        merkle_range_init(&empty);
        if (!v->cur.has_cp && follow_record(f, &copy, NULL, 0) != 0) {
            free(copy.note);
            return;
        }
        if (store_cursor_seed(f->env->store, v->cur.log_id, v->cur.offset,
                              &empty, follow_wall(f->env)) != 0) {
            follow_fatal(f->env, store_errmsg(f->env->store));
            free(copy.note);
            return;
        }
        f->has_cursor = 1;
        f->next = f->committed_next = v->cur.offset;
        f->range = empty;
        v->nchecks = 0;
        if (v->cur.vsize > 0) {
            follow_add_check(f, v->cur.vsize, v->cur.vroot);
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
    const struct v1 *v = f->p;

    if (f->cfg->start_latest || f->cfg->start_index < v->cur.offset) {
        return v->cur.vsize;
    }
    if (f->cfg->start_index - v->cur.offset > v->cur.vsize) {
        return v->cur.vsize;
    }
    return f->cfg->start_index - v->cur.offset;
}

static void
follow_seed_done(struct follower *f, uint64_t local,
                 const struct merkle_range *r)
{
    struct v1 *v = f->p;

    if (store_cursor_seed(f->env->store, v->cur.log_id, v->cur.offset + local,
                          r, follow_wall(f->env)) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return;
    }
    f->has_cursor = 1;
    f->pace.once_failures = 0; /* seeded: progress */
    f->next = f->committed_next = v->cur.offset + local;
    f->range = *r;
    v->nchecks = 0;
    if (local < v->cur.vsize) {
        follow_add_check(f, v->cur.vsize, v->cur.vroot);
    }
    log_info("%s: cursor seeded at virtual index %llu (shard %s, local "
             "%llu)",
             f->cfg->name, (unsigned long long)f->next, v->cur.origin,
             (unsigned long long)local);
}

static void
follow_seed(struct follower *f)
{
    struct v1 *v = f->p;
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
             (unsigned long long)(v->cur.offset + local - 1));
    if (fe_send(f, REQ_SEED, HTTP_GET, path, NULL, 0, FOLLOW_MAX_RESPONSE) ==
        NULL) {
        fe_error(f, "cannot start a seed request");
        fe_cycle_done(f, 1);
        return;
    }
    v->seeding = 1;
}

/* The entry of an answer to GET /api/v1/log/entries?logIndex=: new, or
 * NULL with a message in err.  Production answers a JSON object; some
 * versions a one-item list. */
static struct entry *
follow_entry_answer(const struct http_response *resp, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *el = json_is_array(root) ? json_array_get(root, 0) : root;
    struct entry *e = NULL;

    if (el == NULL) {
        snprintf(err, errlen, "not JSON");
    } else {
        e = entry_from_json(el, err, errlen);
    }
    json_decref(root);
    return e;
}

static void
follow_on_seed(struct follower *f, const struct http_response *resp)
{
    struct v1 *v = f->p;
    uint64_t local = follow_start_local(f);
    struct entry *e = NULL;
    struct merkle_checkpoint cp;
    struct merkle_range r;
    char err[ENTRY_ERR_LEN];
    enum merkle_result mr;
    uint8_t rr[MERKLE_HASH_LEN];

    v->seeding = 0;
    if (!follow_response_ok(f, resp, "GET /api/v1/log/entries")) {
        fe_poll_failed(f, resp);
        return;
    }
    e = follow_entry_answer(resp, err, sizeof(err));
    if (e == NULL) {
        fe_error(f, "seed entry: %s", err);
        goto fail;
    }
    if (e->log_index != v->cur.offset + local - 1 || !e->has_proof ||
        !e->proof.has_index || e->proof.index != local - 1 ||
        e->proof.checkpoint == NULL) {
        fe_error(f,
                 "seed entry: not the entry at index %llu with an "
                 "inclusion proof and checkpoint",
                 (unsigned long long)(v->cur.offset + local - 1));
        goto fail;
    }
    mr = merkle_checkpoint_verify(e->proof.checkpoint, e->proof.checkpoint_len,
                                  v->keys, v->nkeys, &cp);
    if (mr != MERKLE_OK) {
        fe_error(f, "seed entry checkpoint: %s", merkle_strerror(mr));
        goto fail;
    }
    if (strcmp(cp.origin, v->cur.origin) != 0 || cp.size != e->proof.size ||
        !merkle_hash_equal(cp.root, e->proof.root) || cp.size < v->cur.vsize) {
        fe_error(f, "seed entry: its checkpoint does not match its proof");
        goto fail;
    }
    mr = merkle_range_from_inclusion(
        &r, local - 1, cp.size, e->leaf_hash,
        (const uint8_t(*)[MERKLE_HASH_LEN])e->proof.hashes, e->proof.nhashes,
        cp.root);
    if (mr != MERKLE_OK) {
        fe_error(f, "seed entry inclusion proof: %s", merkle_strerror(mr));
        goto fail;
    }
    /* Starting at the verified size: the seeded range must give its root. */
    merkle_range_root(&r, rr);
    if (local == v->cur.vsize && !merkle_hash_equal(rr, v->cur.vroot)) {
        fe_error(f, "seed: compact range root differs from the verified "
                    "checkpoint");
        goto fail;
    }
    entry_free(e);
    follow_seed_done(f, local, &r);
    follow_after_checkpoint(f);
    return;
fail:
    entry_free(e);
    fe_poll_failed(f, NULL);
}

/* ---- the view, after a poll ----------------------------------------- */

static void
follow_handle_view(struct follower *f)
{
    struct v1 *v = f->p;
    size_t i;

    if (!follow_check_frozen(f)) {
        /* Keep following: the alert is raised; our own shard is judged
         * below like any other. */
    }
    if (v->cur.log_id == 0) {
        /* Fresh: pick the shard holding the start index. */
        const struct head *h = &v->view.active;
        int final = 0;
        if (!f->cfg->start_latest && f->cfg->start_index < h->offset) {
            for (i = 0; i < v->view.ninactive; i++) {
                const struct head *s = &v->view.inactive[i];
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
    if (strcmp(v->view.active.cp.origin, v->cur.origin) == 0) {
        if (v->view.active.offset != v->cur.offset) {
            char key[1024], msg[1024];
            snprintf(key, sizeof(key), "offset|%s|%llu|%llu", v->cur.origin,
                     (unsigned long long)v->cur.offset,
                     (unsigned long long)v->view.active.offset);
            snprintf(msg, sizeof(msg),
                     "Log %s: the virtual offset of shard %s moved from "
                     "%llu to %llu",
                     f->cfg->name, v->cur.origin,
                     (unsigned long long)v->cur.offset,
                     (unsigned long long)v->view.active.offset);
            fe_log_alert(f, "log.inconsistent", key, msg, NULL, NULL);
            f->stopped = 1;
            follow_after_checkpoint(f);
            return;
        }
        follow_advance(f, &v->view.active, 0);
        return;
    }
    for (i = 0; i < v->view.ninactive; i++) {
        if (strcmp(v->view.inactive[i].cp.origin, v->cur.origin) == 0) {
            follow_advance(f, &v->view.inactive[i], 1);
            return;
        }
    }
    {
        char key[1024], msg[1024];
        snprintf(key, sizeof(key), "vanished|%s", v->cur.origin);
        snprintf(msg, sizeof(msg),
                 "Log %s no longer lists shard %s, active or inactive",
                 f->cfg->name, v->cur.origin);
        fe_log_alert(
            f, "log.inconsistent", key, msg, NULL,
            follow_evidence_new(v->cur.vnote, v->view.active.note, NULL, 0));
        f->stopped = 1;
        follow_after_checkpoint(f);
    }
}

/* The checkpoint step is settled: seed, fetch, or finish the cycle. */
static void
follow_after_checkpoint(struct follower *f)
{
    struct v1 *v = f->p;

    if (follow_is_fatal(f->env)) {
        return;
    }
    if (f->stopped || !v->cur.has_cp) {
        fe_cycle_done(f, 0);
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
    fe_pump(f);
}

/* ---- fetching and applying -------------------------------------------- */

static void
follow_clear_slots(struct follower *f)
{
    struct v1 *v = f->p;
    size_t i;

    for (i = 0; i < v->nslots; i++) {
        entry_free(v->slots[i]);
        v->slots[i] = NULL;
        v->ahead[i] = 0;
    }
    f->ahead_bytes = 0;
}

/* The engine reset the cursor to the committed state: drop the slots and
 * the pending root checks beyond it. */
static void
v1_reset(struct follower *f)
{
    struct v1 *v = f->p;

    if (v->check != CHECK_NONE) {
        /* A timer armed for it finds nothing to do. */
        fe_cancel(f, REQ_CHECK);
        v->check = CHECK_NONE;
    }
    follow_clear_slots(f);
    f->fetch_next = f->next;
    v->nchecks = 0;
    if (v->cur.has_cp && f->next - v->cur.offset < v->cur.vsize) {
        follow_add_check(f, v->cur.vsize, v->cur.vroot);
    }
}

/* Back to the committed state: drop everything applied since. */
static void
follow_reset_to_committed(struct follower *f)
{
    fe_reset_cursor(f);
}

static void
follow_mismatch(struct follower *f, const char *key, const char *summary,
                json_t *evidence)
{
    fe_log_alert(f, "log.entries_mismatch", key, summary, NULL, evidence);
    follow_reset_to_committed(f);
    f->stopped = 1;
    fe_cycle_done(f, 0);
}

static void follow_check_send(struct follower *f);

/*
 * The commit-point check could not be made (no answer, a throttle, or an
 * answer that proves nothing): nothing is committed, the cursor waits at
 * the commit point with what it applied, and the check is sent again
 * after a backoff (the pacer's pause after a throttle, and at least
 * FOLLOW_BACKOFF_BASE_MS doubling to FOLLOW_BACKOFF_MAX_MS), never in a
 * loop without delay; run keeps polling meanwhile.  Retrying the check
 * alone keeps a 429 on it from costing the FOLLOW_COMMIT_EVERY entries
 * read before it.  once gives up (nothing past the last commit
 * committed) after FOLLOW_ONCE_MAX_FAILURES answers that proved nothing
 * in a row, or once the log has been failing for unreachable_after.
 */
static void
follow_check_failed(struct follower *f, const struct http_response *resp)
{
    struct v1 *v = f->p;
    int throttled = fe_is_throttle(resp);
    uint64_t now = follow_mono(f->env), wait;
    unsigned shift;

    v->check = CHECK_WAIT;
    v->check_fails++;
    if (throttled) {
        fe_throttle(f, resp);
    } else {
        v->check_bad++;
    }
    fe_liveness(f, 0);
    if (follow_is_fatal(f->env)) {
        return;
    }
    if (f->env->once &&
        (v->check_bad >= FOLLOW_ONCE_MAX_FAILURES ||
         follow_failing_for(f->env, &f->pace, f->cfg->unreachable_after_ms))) {
        follow_reset_to_committed(f);
        fe_cycle_done(f, 1);
        return;
    }
    shift = v->check_fails - 1 < 7 ? v->check_fails - 1 : 7;
    wait = (uint64_t)FOLLOW_BACKOFF_BASE_MS << shift;
    if (wait > FOLLOW_BACKOFF_MAX_MS) {
        wait = FOLLOW_BACKOFF_MAX_MS;
    }
    if (f->pace.pause_until_ms > now + wait) {
        wait = f->pace.pause_until_ms - now;
    }
    f->env->ops->timer_arm(v->check_ev, wait);
    if (!f->env->once && !f->polling &&
        !f->env->ops->timer_pending(f->poll_ev)) {
        fe_arm_poll(f, follow_jitter(f->env, f->cfg->poll_interval_ms, 10));
    }
}

static void
follow_check_cb(void *arg)
{
    struct follower *f = arg;
    struct v1 *v = f->p;

    if (v->check == CHECK_WAIT && !follow_is_fatal(f->env)) {
        follow_check_send(f);
    }
}

static void
follow_check_send(struct follower *f)
{
    struct v1 *v = f->p;
    char path[128];

    snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%llu",
             (unsigned long long)(v->check_at - 1));
    v->check = CHECK_SENT;
    if (fe_send(f, REQ_CHECK, HTTP_GET, path, NULL, 0, FOLLOW_MAX_RESPONSE) ==
        NULL) {
        fe_error(f, "cannot start a request for the commit-point check");
        follow_check_failed(f, NULL);
    }
}

/*
 * The cursor is at a commit point that is not a verified size: prove the
 * compact range there before it is committed (follow_on_check).  The
 * entry before the cursor is read again with its inclusion proof: one
 * request per FOLLOW_COMMIT_EVERY entries.  Nothing is applied, and the
 * fetch does not end, until it is settled.
 */
static void
follow_check_start(struct follower *f)
{
    struct v1 *v = f->p;

    v->check_at = f->next;
    v->check_fails = 0;
    v->check_bad = 0;
    follow_check_send(f);
}

/* Apply every entry that is next in order (none while a commit-point
 * check runs). */
static void
follow_apply(struct follower *f)
{
    struct v1 *v = f->p;

    while (f->has_cursor && v->check == CHECK_NONE) {
        size_t slot = (size_t)(f->next % v->nslots);
        struct entry *e = v->slots[slot];
        uint64_t local;

        if (e == NULL || e->log_index != f->next) {
            break;
        }
        v->slots[slot] = NULL;
        v->ahead[slot] = 0;
        f->ahead_bytes -= entry_bytes(e);
        if (e->has_uuid_leaf &&
            !merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) {
            char key[1024], msg[1024], lh[65];
            json_t *ev;
            follow_hex(e->leaf_hash, MERKLE_HASH_LEN, lh, sizeof(lh));
            snprintf(key, sizeof(key), "entry|%s|%llu|%s", v->cur.origin,
                     (unsigned long long)f->next, lh);
            snprintf(msg, sizeof(msg),
                     "Log %s served a body for index %llu that does not "
                     "hash to its entry id",
                     f->cfg->name, (unsigned long long)f->next);
            ev = follow_evidence_new(v->cur.vnote, NULL, NULL, 0);
            json_object_set_new(ev, "log_index",
                                json_integer((json_int_t)f->next));
            json_object_set_new(ev, "uuid", json_string(e->uuid));
            json_object_set_new(ev, "leaf_hash", json_string(lh));
            entry_free(e);
            follow_mismatch(f, key, msg, ev);
            return;
        }
        if (e->has_tree_id &&
            e->tree_id != strtoull(v->cur.tree_id, NULL, 10)) {
            fe_error(f, "entry %llu carries another tree id",
                     (unsigned long long)f->next);
            entry_free(e);
            follow_reset_to_committed(f);
            fe_cycle_done(f, 0);
            return;
        }
        if (merkle_range_append(&f->range, e->leaf_hash) != MERKLE_OK) {
            entry_free(e);
            follow_fatal(f->env, "compact range overflow");
            return;
        }
        if (f->env->policy != NULL) {
            struct policy_entry_ctx pc = {f->cfg->name, v->cur.origin, f->next,
                                          f->next - v->cur.offset,
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
        local = f->next - v->cur.offset;
        if (v->nchecks > 0 && local == v->checks[0].size) {
            uint8_t root[MERKLE_HASH_LEN];
            merkle_range_root(&f->range, root);
            if (!merkle_hash_equal(root, v->checks[0].root)) {
                char key[1024], msg[1024], r1[65], r2[65];
                json_t *ev;
                follow_hex(v->checks[0].root, MERKLE_HASH_LEN, r1, sizeof(r1));
                follow_hex(root, MERKLE_HASH_LEN, r2, sizeof(r2));
                snprintf(key, sizeof(key), "root|%s|%llu|%s|%s", v->cur.origin,
                         (unsigned long long)local, r1, r2);
                snprintf(msg, sizeof(msg),
                         "Log %s: the entries up to size %llu hash to %s, "
                         "not the signed root %s",
                         f->cfg->name, (unsigned long long)local, r2, r1);
                ev = follow_evidence_new(v->cur.vnote, NULL, NULL, 0);
                json_object_set_new(ev, "computed_root", json_string(r2));
                json_object_set_new(ev, "size",
                                    json_integer((json_int_t)local));
                follow_mismatch(f, key, msg, ev);
                return;
            }
            f->root_checks++;
            memmove(&v->checks[0], &v->checks[1],
                    (v->nchecks - 1) * sizeof(v->checks[0]));
            v->nchecks--;
            if (fe_commit(f) != 0) {
                return;
            }
        } else if (f->next - f->committed_next >= FOLLOW_COMMIT_EVERY) {
            /* Not a verified size: proven first, committed after. */
            follow_check_start(f);
            return;
        }
    }
}

/* Put e in its reorder slot if request r asked for it; else free it. */
static void
follow_place(struct follower *f, const struct fe_req *r, struct entry *e,
             int *got)
{
    struct v1 *v = f->p;
    size_t k;

    for (k = 0; k < r->n; k++) {
        if (r->units[k] == e->log_index && !got[k]) {
            break;
        }
    }
    if (k == r->n || e->log_index < f->next ||
        e->log_index >= f->next + v->nslots ||
        v->slots[e->log_index % v->nslots] != NULL) {
        /* Not asked for in this request: ignore it. */
        entry_free(e);
        return;
    }
    got[k] = 1;
    v->slots[e->log_index % v->nslots] = e;
    f->ahead_bytes += entry_bytes(e);
}

/*
 * Is the tree an inclusion proof names (p->size, p->root) a signed tree
 * of our shard?  It must be the verified checkpoint, or the signed
 * checkpoint the log sent with the proof (verified with the pinned keys,
 * same origin, same size and root), not smaller than the verified size.
 */
static int
follow_proof_tree_signed(const struct follower *f, const struct entry_proof *p)
{
    const struct v1 *v = f->p;
    struct merkle_checkpoint cp;

    if (!p->has_tree || !v->cur.has_cp || p->size < v->cur.vsize) {
        return 0;
    }
    if (p->size == v->cur.vsize && merkle_hash_equal(p->root, v->cur.vroot)) {
        return 1;
    }
    return p->checkpoint != NULL &&
           merkle_checkpoint_verify(p->checkpoint, p->checkpoint_len, v->keys,
                                    v->nkeys, &cp) == MERKLE_OK &&
           strcmp(cp.origin, v->cur.origin) == 0 && cp.size == p->size &&
           merkle_hash_equal(cp.root, p->root);
}

/*
 * Is e, read ahead of the cursor, in the log's signed tree?  Its leaf
 * hash must equal its entry id, and its inclusion proof must verify
 * against a signed tree of our shard (follow_proof_tree_signed).
 */
static int
follow_ahead_proven(const struct follower *f, const struct entry *e)
{
    const struct v1 *v = f->p;
    const struct entry_proof *p = &e->proof;
    uint64_t local = e->log_index - v->cur.offset;

    if ((e->has_uuid_leaf && !merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) ||
        (e->has_tree_id && e->tree_id != strtoull(v->cur.tree_id, NULL, 10)) ||
        !e->has_proof || !p->has_index || p->index != local ||
        !follow_proof_tree_signed(f, p)) {
        return 0;
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
    struct v1 *v = f->p;
    size_t i;
    int any = 0;

    if (f->wh.n == 0 || f->env->policy == NULL || follow_is_fatal(f->env)) {
        return;
    }
    for (i = 0; i < v->nslots; i++) {
        struct entry *e = v->slots[i];
        if (e == NULL || v->ahead[i] == AHEAD_SCANNED ||
            e->log_index <= f->next) {
            continue;
        }
        if (!e->has_proof && v->ahead[i] == AHEAD_NONE) {
            /* Read by the fast scanner, which keeps no proof: ask for it
             * once more, to be read whole (follow_on_entries reads every
             * response whole while an entry is missing). */
            v->ahead[i] = AHEAD_REREAD;
            f->ahead_bytes -= entry_bytes(e);
            fe_unit_retry(f, e->log_index);
            entry_free(e);
            v->slots[i] = NULL;
            continue;
        }
        v->ahead[i] = AHEAD_SCANNED;
        if (!follow_ahead_proven(f, e)) {
            continue;
        }
        {
            struct policy_entry_ctx pc = {
                f->cfg->name, v->cur.origin, e->log_index,
                e->log_index - v->cur.offset, follow_wall(f->env)};
            if (policy_eval(f->env->policy, &pc, e, v->ahead_alerts,
                            &v->ahead_signings) != 0) {
                follow_fatal(f->env,
                             "out of memory evaluating the watch rules");
                return;
            }
        }
        any = 1;
    }
    if (any &&
        (json_array_size(v->ahead_alerts) > 0 || v->ahead_signings.n > 0)) {
        log_info("%s: %zu alert(s) from entries read past a missing one",
                 f->cfg->name, json_array_size(v->ahead_alerts));
        (void)follow_commit_progress(f->env, v->cur.log_id, 0, 0, NULL, 0,
                                     v->ahead_alerts, &v->ahead_signings);
    }
}

/* A commit-point check found entries that are not the signed tree's. */
static void
follow_check_mismatch(struct follower *f, const struct entry *e,
                      const char *key, const char *summary)
{
    struct v1 *v = f->p;
    const struct entry_proof *p = &e->proof;
    char lh[2 * MERKLE_HASH_LEN + 1], pr[2 * MERKLE_HASH_LEN + 1];
    json_t *ev;

    follow_hex(e->leaf_hash, MERKLE_HASH_LEN, lh, sizeof(lh));
    follow_hex(p->root, MERKLE_HASH_LEN, pr, sizeof(pr));
    ev = follow_evidence_new(v->cur.vnote, p->checkpoint,
                             (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
                             p->nhashes);
    json_object_set_new(ev, "log_index",
                        json_integer((json_int_t)e->log_index));
    json_object_set_new(ev, "uuid", json_string(e->uuid));
    json_object_set_new(ev, "leaf_hash", json_string(lh));
    json_object_set_new(ev, "proof_index", json_integer((json_int_t)p->index));
    json_object_set_new(ev, "proof_tree_size",
                        json_integer((json_int_t)p->size));
    json_object_set_new(ev, "proof_root", json_string(pr));
    follow_mismatch(f, key, summary, ev);
}

/*
 * The answer to a commit-point check: the entry before the cursor with
 * its inclusion proof in a signed tree of our shard
 * (follow_proof_tree_signed).  The proof, with that entry's leaf hash,
 * gives the compact range of the signed tree at the cursor; ours must be
 * the same (so every entry applied since the last commit is the signed
 * tree's), and then the cursor is committed.  A range that differs, or
 * an entry the signed tree holds at another index, is
 * log.entries_mismatch and nothing is committed; an answer that proves
 * nothing is a failed check (follow_check_failed).
 */
static void
follow_on_check(struct follower *f, const struct http_response *resp)
{
    struct v1 *v = f->p;
    uint64_t at = v->check_at, local = at - v->cur.offset;
    const struct entry_proof *p;
    struct entry *e;
    struct merkle_range r;
    enum merkle_result mr;
    uint8_t want[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN];
    char err[ENTRY_ERR_LEN], key[1024], msg[1024];

    if (!follow_response_ok(f, resp, "commit-point check")) {
        follow_check_failed(f, resp);
        return;
    }
    e = follow_entry_answer(resp, err, sizeof(err));
    if (e == NULL) {
        fe_error(f, "commit-point check: %s", err);
        follow_check_failed(f, NULL);
        return;
    }
    p = &e->proof;
    if (f->next != at || e->log_index != at - 1 || !e->has_proof ||
        !p->has_index ||
        (e->has_tree_id && e->tree_id != strtoull(v->cur.tree_id, NULL, 10)) ||
        !follow_proof_tree_signed(f, p)) {
        fe_error(f,
                 "commit-point check: not the entry at index %llu with an "
                 "inclusion proof in a signed tree",
                 (unsigned long long)(at - 1));
        goto fail;
    }
    if (p->index != local - 1) {
        /* Answered for index at - 1 with an entry the signed tree holds
         * at another index, if its proof says so: a lie. */
        if (p->index >= p->size ||
            merkle_verify_inclusion(
                p->index, p->size, e->leaf_hash,
                (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes, p->nhashes,
                p->root) != MERKLE_OK) {
            fe_error(f,
                     "commit-point check: the entry's proof is for index "
                     "%llu and does not verify",
                     (unsigned long long)p->index);
            goto fail;
        }
        follow_hex(e->leaf_hash, MERKLE_HASH_LEN, err, sizeof(err));
        snprintf(key, sizeof(key), "misplaced|%s|%llu|%s", v->cur.origin,
                 (unsigned long long)(at - 1), err);
        snprintf(msg, sizeof(msg),
                 "Log %s answered for index %llu with an entry its signed "
                 "tree of size %llu holds at index %llu",
                 f->cfg->name, (unsigned long long)(at - 1),
                 (unsigned long long)p->size,
                 (unsigned long long)(v->cur.offset + p->index));
        follow_check_mismatch(f, e, key, msg);
        entry_free(e);
        return;
    }
    mr = merkle_range_from_inclusion(
        &r, local - 1, p->size, e->leaf_hash,
        (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes, p->nhashes, p->root);
    if (mr != MERKLE_OK) {
        fe_error(f, "commit-point check: inclusion proof of %llu: %s",
                 (unsigned long long)(at - 1), merkle_strerror(mr));
        goto fail;
    }
    merkle_range_root(&r, want);
    merkle_range_root(&f->range, got);
    if (r.size != f->range.size || !merkle_hash_equal(want, got)) {
        char r1[2 * MERKLE_HASH_LEN + 1], r2[2 * MERKLE_HASH_LEN + 1];
        follow_hex(want, MERKLE_HASH_LEN, r1, sizeof(r1));
        follow_hex(got, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "range|%s|%llu|%s|%s", v->cur.origin,
                 (unsigned long long)local, r1, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: the entries up to size %llu hash to %s, not %s, "
                 "the root of that size that the inclusion proof of entry "
                 "%llu gives in the signed tree of size %llu",
                 f->cfg->name, (unsigned long long)local, r2, r1,
                 (unsigned long long)(at - 1), (unsigned long long)p->size);
        follow_check_mismatch(f, e, key, msg);
        entry_free(e);
        return;
    }
    entry_free(e);
    v->check = CHECK_NONE;
    f->pace.once_failures = 0; /* proven: progress */
    f->root_checks++;
    if (fe_commit(f) != 0) {
        return;
    }
    follow_apply(f);
    follow_scan_ahead(f);
    fe_pump(f);
    return;
fail:
    entry_free(e);
    follow_check_failed(f, NULL);
}

static void
follow_on_entries(struct follower *f, struct fe_req *r,
                  const struct http_response *resp)
{
    json_t *root;
    json_error_t jerr;
    size_t i, k;
    int got[FOLLOW_BATCH] = {0};
    struct entry *scanned[2 * FOLLOW_BATCH];
    long nscan;

    if (fe_is_throttle(resp)) {
        for (k = 0; k < r->n; k++) {
            fe_unit_retry(f, r->units[k]);
        }
        if (resp->result == HTTP_COMPLETE) {
            log_debug("%s: retrieve: HTTP %d, window %u", f->cfg->name,
                      resp->status, f->pace.window);
        } else {
            fe_error(f, "retrieve: %s",
                     resp->error ? resp->error : http_result_str(resp->result));
        }
        fe_throttle(f, resp);
        fe_liveness(f, 0);
        return;
    }
    if (resp->status != 200) {
        /* The log answers, but not with these entries: each is re-asked
         * on its own backoff, and reported withheld in time. */
        fe_error(f, "retrieve: HTTP status %d", resp->status);
        for (k = 0; k < r->n; k++) {
            fe_unit_missed(f, r->units[k], resp->status);
        }
        fe_answered(f);
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
            fe_error(f, "retrieve: response is not a JSON list");
            json_decref(root);
            for (k = 0; k < r->n; k++) {
                fe_unit_missed(f, r->units[k], 200);
            }
            fe_answered(f);
            return;
        }
        for (i = 0; i < json_array_size(root); i++) {
            char err[ENTRY_ERR_LEN];
            struct entry *e =
                entry_from_json(json_array_get(root, i), err, sizeof(err));
            if (e == NULL) {
                fe_error(f, "retrieve: %s", err);
                continue;
            }
            follow_place(f, r, e, got);
        }
        json_decref(root);
    }
    fe_answered(f);
    for (k = 0; k < r->n; k++) {
        if (!got[k]) {
            fe_unit_missed(f, r->units[k], 200);
        } else {
            fe_unit_got(f, r->units[k]);
        }
    }
    /* Reachable again; the store's last success is written per poll, not
     * per response (each store write is a synced transaction). */
    fe_unthrottle(f);
    follow_apply(f);
    follow_scan_ahead(f);
}

/* ---- the engine's operations ------------------------------------------ */

/* Units are virtual indexes; those below the verified size of our shard
 * exist. */
static uint64_t
v1_fetch_end(const struct follower *f)
{
    const struct v1 *v = f->p;

    return v->cur.offset + v->cur.vsize;
}

/* The reorder ring holds nslots entries from the cursor on. */
static uint64_t
v1_window_end(const struct follower *f)
{
    const struct v1 *v = f->p;

    return f->next + v->nslots;
}

static struct fe_req *
v1_send_units(struct follower *f, const uint64_t *units, size_t n)
{
    char body[512];
    size_t off, k;

    off = (size_t)snprintf(body, sizeof(body), "{\"logIndexes\":[");
    for (k = 0; k < n; k++) {
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s%llu",
                                k ? "," : "", (unsigned long long)units[k]);
    }
    off += (size_t)snprintf(body + off, sizeof(body) - off, "]}");
    return fe_send(f, FE_REQ_UNITS, HTTP_POST, "/api/v1/log/entries/retrieve",
                   body, off, FOLLOW_MAX_RESPONSE);
}

static void
v1_unit_range(const struct follower *f, uint64_t u, uint64_t *first,
              uint64_t *last)
{
    (void)f;
    *first = *last = u;
}

static int
v1_caught_up(const struct follower *f)
{
    const struct v1 *v = f->p;

    return v->check == CHECK_NONE && f->next >= v1_fetch_end(f);
}

static void
v1_on_caught_up(struct follower *f)
{
    struct v1 *v = f->p;

    if (v->cur.final) {
        follow_switch_shard(f);
        return;
    }
    fe_cycle_done(f, 0);
}

static void
v1_on_response(struct follower *f, struct fe_req *r,
               const struct http_response *resp)
{
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
    case REQ_CHECK:
        follow_on_check(f, resp);
        break;
    case FE_REQ_UNITS:
        follow_on_entries(f, r, resp);
        break;
    default:
        break;
    }
}

static int
v1_busy(const struct follower *f)
{
    const struct v1 *v = f->p;

    return v->proving || v->seeding || v->check == CHECK_SENT;
}

static void
v1_view(const struct follower *f, struct fe_view *out)
{
    const struct v1 *v = f->p;

    out->log_id = v->cur.log_id;
    out->origin = v->cur.origin;
    out->has_cp = v->cur.has_cp;
    out->vsize = v->cur.vsize;
    out->vnote = v->cur.vnote;
}

static const char *
v1_base_url(const struct follower *f)
{
    return f->cfg->url;
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
    struct v1 *v = f->p;
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
        if (store_log_status(f->env->store, v->cur.log_id, &st) == 0 &&
            st.frozen) {
            v->cur.final = 1;
        }
    }
    f->last_growth_ms = follow_mono(f->env);
    log_info("%s: resuming shard %s at virtual index %llu (verified size "
             "%llu)",
             f->cfg->name, v->cur.origin, (unsigned long long)f->next,
             (unsigned long long)v->cur.vsize);
    return 0;
}

static void v1_free(struct follower *f);

static int
v1_init(struct follower *f, char *err, size_t errlen)
{
    struct v1 *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->p = v;
    v->nslots = (size_t)f->cfg->max_concurrency * FOLLOW_BATCH *
                FOLLOW_REORDER_PER_REQUEST;
    if (v->nslots < FOLLOW_LOOKAHEAD_ENTRIES) {
        /* Past a withheld entry the ring is the look-ahead (by count;
         * FOLLOW_LOOKAHEAD_BYTES bounds it by bytes). */
        v->nslots = FOLLOW_LOOKAHEAD_ENTRIES;
    }
    v->slots = calloc(v->nslots, sizeof(*v->slots));
    v->ahead = calloc(v->nslots, 1);
    v->ahead_alerts = json_array();
    v->check_ev = f->env->ops->timer_new(f->env->ctx, follow_check_cb, f);
    if (v->slots == NULL || v->ahead == NULL || v->ahead_alerts == NULL ||
        v->check_ev == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (follow_load_keys(f, err, errlen) != 0 ||
        follow_resume(f, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

/* What is applied since the last commit is not proven yet (a commit is
 * made at every verified size and checked commit point): it is dropped
 * (read again on the next start), never committed. */
static void
v1_free(struct follower *f)
{
    struct v1 *v = f->p;
    size_t i;

    if (v == NULL) {
        return;
    }
    if (v->slots != NULL) {
        follow_clear_slots(f);
    }
    free(v->slots);
    free(v->ahead);
    json_decref(v->ahead_alerts);
    policy_batch_free(&v->ahead_signings);
    for (i = 0; i < v->nkeys; i++) {
        merkle_note_key_free(v->keys[i]);
    }
    view_clear(&v->view);
    free(v->pcp.head.note);
    free(v->cur.vnote);
    f->env->ops->timer_free(v->check_ev);
    free(v);
    f->p = NULL;
}

const struct fe_proto rekor_v1_proto = {
    .name = "rekor-v1",
    .batch = FOLLOW_BATCH,
    .poll_while_fetching = 1,
    .init = v1_init,
    .free = v1_free,
    .poll = v1_poll,
    .busy = v1_busy,
    .view = v1_view,
    .fetch_end = v1_fetch_end,
    .window_end = v1_window_end,
    .send_units = v1_send_units,
    .unit_range = v1_unit_range,
    .caught_up = v1_caught_up,
    .on_caught_up = v1_on_caught_up,
    .on_response = v1_on_response,
    .reset = v1_reset,
    .base_url = v1_base_url,
};
