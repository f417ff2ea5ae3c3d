/*
 * ct.c: the RFC 6962 Certificate Transparency protocol of the follower
 * engine (engine.h), for Fulcio's CT log (ctfe.sigstore.dev/2022).  The
 * signed tree heads and entries are parsed by monitor/identity/ctleaf.h.
 *
 * What it proves (DESIGN.md "What must be proven", as for Rekor):
 *  1. a signed tree head (GET <url>/ct/v1/get-sth) counts only when its
 *     TreeHeadSignature verifies with a key of the trusted root's ctlogs
 *     whose baseUrl is the configured url (else log.bad_signature); a
 *     size of 2^63 or more is log.inconsistent (no log grows to it);
 *  2. a larger STH counts only when get-sth-consistency from the last
 *     verified one verifies against both signed roots (else
 *     log.inconsistent, with both STHs and the proof); smaller ->
 *     log.rollback; same size, other root -> log.inconsistent;
 *  3. entries (get-entries, in units of CT_UNIT indexes) are applied in
 *     order, each leaf hash SHA-256(0x00 || leaf_input) recomputed from
 *     the MerkleTreeLeaf and appended to the compact range; at the
 *     verified size the range root must equal the signed root (else
 *     log.entries_mismatch, the cursor goes back to the last commit).
 *     The log may grant fewer entries than asked: the rest of the unit is
 *     asked for next, from what came.  A unit the log does not return
 *     (an error answer, no entries, a malformed answer) is the engine's
 *     withheld unit (backoff, log.entries_withheld);
 *  4. a start point other than 0 is seeded from the leaf before it (one
 *     get-entries) and its audit path (get-proof-by-hash) in the verified
 *     tree: the compact range from that inclusion proof;
 *  7. progress is committed at the verified size, after its root check,
 *     and every FOLLOW_COMMIT_EVERY entries once get-sth-consistency from
 *     the cursor's size to the verified size proves the cursor's range
 *     root is a prefix of the signed tree.
 *
 * The log's state in the store is keyed by its origin: the url without
 * its scheme ("ctfe.sigstore.dev/2022"); the "note" of a verified STH is
 * ctleaf's STH evidence text (the get-sth answer with the log id), which
 * is what the alerts carry as old_checkpoint / new_checkpoint.
 *
 * Watch rules: get-entries is parsed with the rules' prefilter
 * (ctleaf_entries_parse_needles), the entries it lets through are kept in
 * their unit's slot, and each is given to policy_eval_ct when the cursor
 * applies it, with the verified STH (whose tree holds it) as evidence:
 * its alerts (signing.unexpected, signing.self_hosted_runner with the
 * certificate's id, signing.impostor) and its CT certificate rows (for
 * signing.unlogged_certificate, monitor/unlogged.h) are committed with the
 * cursor, so a replay after a crash finds the same ids and rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/follow/engine.h"
#include "monitor/follow/env.h"
#include "monitor/follow/follow.h"
#include "monitor/http.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/policy.h"
#include "monitor/log.h"
#include "monitor/store/store.h"

#define CT_UNIT 256   /* entries per unit (one get-entries request) */
#define CT_MAX_KEYS 8 /* ctlogs keys for one url */
#define CT_MAX_PROOF_JSON (64u * 1024)
#define CT_URL_MAX 2048

/* Request kinds besides the engine's FE_REQ_UNITS. */
enum { CR_STH = 1, CR_CONSISTENCY, CR_SEED_LEAF, CR_SEED_PROOF, CR_CHECK };

/* A unit of entries received, waiting for its turn: leaf hashes of
 * entries [first, first + got). */
struct cslot {
    int have;
    uint64_t unit;
    uint64_t first;
    uint64_t got;
    uint8_t (*hashes)[MERKLE_HASH_LEN];
    /* The entries the watch rules' prefilter let through (claims read),
     * by index - first; NULL when none (most units).  Owned; their
     * bytes (ct_leaf_bytes) count in the engine's look-ahead. */
    struct ctleaf **watched;
    size_t watched_bytes;
};

/* About what a kept entry holds: its bytes and its parsed certificate. */
static size_t
ct_leaf_bytes(const struct ctleaf *l)
{
    size_t n = l->leaf_input_len + l->precert_len + 4096, i;

    for (i = 0; i < l->nchain; i++) {
        n += l->chain_len[i];
    }
    return n;
}

struct ct {
    struct follower *f;                             /* the engine, borrowed */
    const struct config_log_key *keys[CT_MAX_KEYS]; /* borrowed (troot) */
    size_t nkeys;
    char base[CT_URL_MAX]; /* the url, no trailing '/' */

    int64_t log_id; /* the store's; 0: no STH seen yet */
    char origin[MERKLE_ORIGIN_MAX];
    int has_cp;
    uint64_t vsize;
    uint8_t vroot[MERKLE_HASH_LEN];
    char *vnote; /* evidence text, owned */

    /* The STH being proven. */
    struct ctleaf_sth psth;
    char *pnote; /* owned */

    /* Seeding: the leaf before the start point. */
    uint8_t seed_leaf[MERKLE_HASH_LEN];
    int seeding;
    /* A commit point being proven (CR_CHECK at the cursor). */
    int checking;

    struct cslot *slots;
    size_t nslots;
};

static void ct_after_sth(struct ct *c);
static int ct_apply(struct ct *c);

/* ---- keys and origin ------------------------------------------------- */

static int
ct_load_keys(struct ct *c, char *err, size_t errlen)
{
    const struct config_trusted_root *tr = c->f->env->troot;
    size_t i, n = tr != NULL ? config_trusted_root_nctlogs(tr) : 0;
    const char *url = c->f->cfg->url, *sep = strstr(url, "://");
    size_t ul;

    snprintf(c->base, sizeof(c->base), "%s", url);
    ul = strlen(c->base);
    while (ul > 0 && c->base[ul - 1] == '/') {
        c->base[--ul] = '\0';
    }
    {
        const char *o = sep != NULL ? c->base + (sep - url) + 3 : c->base;
        if (strlen(o) >= sizeof(c->origin)) {
            snprintf(err, errlen, "log %s: url too long", c->f->cfg->name);
            return -1;
        }
        snprintf(c->origin, sizeof(c->origin), "%.255s", o);
    }
    for (i = 0; i < n && c->nkeys < CT_MAX_KEYS; i++) {
        const struct config_log_key *k = config_trusted_root_ctlog(tr, i);
        if (k->pkey != NULL && follow_same_url(k->base_url, c->base)) {
            c->keys[c->nkeys++] = k;
        }
    }
    if (c->nkeys == 0) {
        snprintf(err, errlen,
                 "log %s: the trusted root has no usable ctlogs key for "
                 "this url",
                 c->f->cfg->name);
        return -1;
    }
    return 0;
}

/* Verify sth with the pinned keys: the key that verifies, or NULL with
 * the last failure in *why. */
static const struct config_log_key *
ct_verify(struct ct *c, const struct ctleaf_sth *sth,
          enum ctleaf_sth_result *why)
{
    size_t i;

    *why = CTLEAF_STH_NO_KEY;
    for (i = 0; i < c->nkeys; i++) {
        *why = ctleaf_sth_verify(sth, c->keys[i]);
        if (*why == CTLEAF_STH_OK) {
            return c->keys[i];
        }
    }
    return NULL;
}

/* The evidence text of sth (signed by key), new; NULL without memory. */
static char *
ct_note(const struct ctleaf_sth *sth, const struct config_log_key *key)
{
    char buf[CTLEAF_EVIDENCE_MAX];

    if (ctleaf_sth_evidence(sth, key->log_id, buf, sizeof(buf)) < 0) {
        return NULL;
    }
    return strdup(buf);
}

/* What names a tree head in an alert id: hex of SHA-256(tree_size as 8
 * bytes || root), the first 16 bytes.  Not the answer's bytes: a log's
 * get-sth carries the current time, so every poll of the same bad or
 * impossible head is another answer, but the same claim (raised once). */
static void
ct_head_id(const struct ctleaf_sth *sth, char out[33])
{
    uint8_t buf[8 + MERKLE_HASH_LEN], h[MERKLE_HASH_LEN];
    int i;

    for (i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(sth->tree_size >> (56 - 8 * i));
    }
    memcpy(buf + 8, sth->root_hash, MERKLE_HASH_LEN);
    merkle_leaf_hash(buf, sizeof(buf), h);
    follow_hex(h, 16, out, 33);
}

/* ---- requests -------------------------------------------------------- */

static struct fe_req *
ct_get(struct ct *c, int kind, const char *path, uint64_t cap)
{
    return fe_send(c->f, kind, HTTP_GET, path, NULL, 0, cap);
}

static int
ct_ok(struct ct *c, const struct http_response *resp, const char *what)
{
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        fe_response_error(c->f, resp, what);
        return 0;
    }
    return 1;
}

static void
ct_poll(struct follower *f)
{
    struct ct *c = f->p;

    if (ct_get(c, CR_STH, "/ct/v1/get-sth", CTLEAF_MAX_STH_JSON) == NULL) {
        fe_error(f, "cannot start a request");
        fe_poll_failed(f, NULL);
        return;
    }
    f->polling = 1;
}

/* A JSON array of base64 hashes (at most MERKLE_MAX_PROOF) under name in
 * body: the count, or -1. */
static long
ct_hashes(const char *body, size_t len, const char *name,
          uint8_t (*out)[MERKLE_HASH_LEN], json_int_t *leaf_index)
{
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *a = json_object_get(o, name), *li;
    size_t i, n;
    long rc = -1;

    if (!json_is_array(a) || (n = json_array_size(a)) > MERKLE_MAX_PROOF) {
        goto out;
    }
    if (leaf_index != NULL) {
        li = json_object_get(o, "leaf_index");
        if (!json_is_integer(li) || json_integer_value(li) < 0) {
            goto out;
        }
        *leaf_index = json_integer_value(li);
    }
    for (i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL ||
            merkle_b64_decode(s, strlen(s), out[i], MERKLE_HASH_LEN) !=
                MERKLE_HASH_LEN) {
            goto out;
        }
    }
    rc = (long)n;
out:
    json_decref(o);
    return rc;
}

/* ---- signed tree heads ----------------------------------------------- */

static int
ct_record(struct ct *c, const char *note, const struct ctleaf_sth *sth,
          enum store_link link, const uint8_t (*proof)[MERKLE_HASH_LEN],
          size_t nproof)
{
    struct store_checkpoint sc;
    char *copy;

    memset(&sc, 0, sizeof(sc));
    sc.note = note;
    sc.note_len = strlen(note);
    sc.size = sth->tree_size;
    memcpy(sc.root, sth->root_hash, MERKLE_HASH_LEN);
    sc.link = link;
    sc.proof = proof;
    sc.nproof = nproof;
    if (store_checkpoint_record(c->f->env->store, c->log_id, &sc,
                                follow_wall(c->f->env)) != 0) {
        follow_fatal(c->f->env, store_errmsg(c->f->env->store));
        return -1;
    }
    if ((copy = strdup(note)) == NULL) {
        follow_fatal(c->f->env, "out of memory");
        return -1;
    }
    if (!c->has_cp || sth->tree_size > c->vsize) {
        fe_grew(c->f);
    }
    if (c->has_cp && sth->tree_size > c->vsize && c->vsize % CT_UNIT != 0 &&
        c->f->fetch_next > c->vsize / CT_UNIT) {
        /* The last unit was cut at the verified size: it grows, and the
         * rest of it is asked for. */
        c->f->fetch_next = c->vsize / CT_UNIT;
    }
    free(c->vnote);
    c->vnote = copy;
    c->vsize = sth->tree_size;
    memcpy(c->vroot, sth->root_hash, MERKLE_HASH_LEN);
    c->has_cp = 1;
    return 0;
}

static void
ct_stop(struct ct *c)
{
    c->f->stopped = 1;
    fe_cycle_done(c->f, 0);
}

static void
ct_on_sth(struct ct *c, const struct http_response *resp)
{
    struct ctleaf_sth sth;
    const struct config_log_key *key;
    enum ctleaf_sth_result vr;
    char err[CTLEAF_ERR_LEN], key_s[1024], msg[1024], r1[65], r2[65];
    char *note;

    c->f->polling = 0;
    if (!ct_ok(c, resp, "GET /ct/v1/get-sth")) {
        fe_poll_failed(c->f, resp);
        return;
    }
    if (ctleaf_sth_parse(resp->body, resp->body_len, &sth, err, sizeof(err)) !=
        0) {
        fe_error(c->f, "get-sth: %s", err);
        fe_poll_failed(c->f, NULL);
        return;
    }
    key = ct_verify(c, &sth, &vr);
    if (key == NULL) {
        char hex[33];
        /* Evidence: the head as STH evidence text with the log id of
         * the pinned key, so that `tlogwatch verify evidence` finds the
         * key it fails with; the answer as served if that cannot be. */
        char *copy = ct_note(&sth, c->keys[0]);

        if (copy == NULL) {
            copy = strndup(resp->body, resp->body_len);
        }

        ct_head_id(&sth, hex);
        snprintf(key_s, sizeof(key_s), "bad_signature|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s served a signed tree head whose signature does "
                 "not verify with the pinned key: %s",
                 c->f->cfg->name, ctleaf_sth_strerror(vr));
        fe_log_alert(c->f, "log.bad_signature", key_s, msg, c->origin,
                     follow_evidence_new(c->vnote, copy, NULL, 0));
        free(copy);
        ct_stop(c);
        return;
    }
    if ((note = ct_note(&sth, key)) == NULL) {
        follow_fatal(c->f->env, "out of memory");
        return;
    }
    if (sth.tree_size >= FOLLOW_MAX_TREE_SIZE) {
        /* As follow_raise_impossible, with the id of the head (size and
         * root), not of the note: one alert however often it is served. */
        char hex[33];

        ct_head_id(&sth, hex);
        snprintf(key_s, sizeof(key_s), "impossible|%s", hex);
        snprintf(msg, sizeof(msg),
                 "Log %s signed a checkpoint that cannot be a tree of this "
                 "log: its size is 2^63 or more: no log can have grown to it",
                 c->f->cfg->name);
        fe_log_alert(c->f, "log.inconsistent", key_s, msg, c->origin,
                     follow_evidence_new(c->vnote, note, NULL, 0));
        free(note);
        ct_stop(c);
        return;
    }
    if (c->log_id == 0 &&
        store_log_open(c->f->env->store, c->f->cfg->name, c->origin,
                       follow_wall(c->f->env), &c->log_id) != 0) {
        free(note);
        follow_fatal(c->f->env, store_errmsg(c->f->env->store));
        return;
    }
    {
        unsigned failures = c->f->pace.once_failures;
        fe_liveness(c->f, 1);
        c->f->pace.once_failures = failures;
    }
    if (!c->has_cp || c->vsize == 0) {
        if (!(c->has_cp && sth.tree_size == 0)) {
            (void)ct_record(c, note, &sth, STORE_LINK_NONE, NULL, 0);
        }
        free(note);
        ct_after_sth(c);
        return;
    }
    follow_hex(c->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(sth.root_hash, MERKLE_HASH_LEN, r2, sizeof(r2));
    if (sth.tree_size < c->vsize) {
        snprintf(key_s, sizeof(key_s), "rollback|%s|%llu|%s|%llu|%s", c->origin,
                 (unsigned long long)c->vsize, r1,
                 (unsigned long long)sth.tree_size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s signed size %llu after size %llu was verified",
                 c->f->cfg->name, (unsigned long long)sth.tree_size,
                 (unsigned long long)c->vsize);
        fe_log_alert(c->f, "log.rollback", key_s, msg, NULL,
                     follow_evidence_new(c->vnote, note, NULL, 0));
        free(note);
        ct_stop(c);
        return;
    }
    if (sth.tree_size == c->vsize) {
        if (!merkle_hash_equal(sth.root_hash, c->vroot)) {
            snprintf(key_s, sizeof(key_s), "fork|%s|%llu|%s|%s", c->origin,
                     (unsigned long long)sth.tree_size, r1, r2);
            snprintf(msg, sizeof(msg),
                     "Log %s signed two different roots for size %llu",
                     c->f->cfg->name, (unsigned long long)sth.tree_size);
            fe_log_alert(c->f, "log.inconsistent", key_s, msg, NULL,
                         follow_evidence_new(c->vnote, note, NULL, 0));
            free(note);
            ct_stop(c);
            return;
        }
        free(note);
        ct_after_sth(c);
        return;
    }
    /* Larger: ask the log to prove it. */
    {
        char path[128];

        free(c->pnote);
        c->pnote = note;
        c->psth = sth;
        snprintf(path, sizeof(path),
                 "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
                 (unsigned long long)c->vsize,
                 (unsigned long long)sth.tree_size);
        if (ct_get(c, CR_CONSISTENCY, path, CT_MAX_PROOF_JSON) == NULL) {
            fe_error(c->f, "cannot start a request");
            fe_poll_failed(c->f, NULL);
            return;
        }
        c->f->polling = 1;
    }
}

static void
ct_on_consistency(struct ct *c, const struct http_response *resp)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    long n;
    enum merkle_result mr;
    char key_s[1024], msg[1024], r1[65], r2[65];

    c->f->polling = 0;
    if (c->pnote == NULL) {
        return;
    }
    if (!ct_ok(c, resp, "GET /ct/v1/get-sth-consistency")) {
        fe_poll_failed(c->f, resp);
        return;
    }
    n = ct_hashes(resp->body, resp->body_len, "consistency", proof, NULL);
    mr = n < 0 ? MERKLE_ERR_PROOF_LENGTH
               : merkle_verify_consistency(
                     c->vsize, c->psth.tree_size, c->vroot, c->psth.root_hash,
                     (const uint8_t(*)[MERKLE_HASH_LEN])proof, (size_t)n);
    if (mr != MERKLE_OK) {
        follow_hex(c->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
        follow_hex(c->psth.root_hash, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key_s, sizeof(key_s), "consistency|%s|%llu|%s|%llu|%s",
                 c->origin, (unsigned long long)c->vsize, r1,
                 (unsigned long long)c->psth.tree_size, r2);
        snprintf(msg, sizeof(msg),
                 "Log %s: no valid consistency proof from size %llu to "
                 "size %llu (%s)",
                 c->f->cfg->name, (unsigned long long)c->vsize,
                 (unsigned long long)c->psth.tree_size, merkle_strerror(mr));
        fe_log_alert(
            c->f, "log.inconsistent", key_s, msg, NULL,
            follow_evidence_new(c->vnote, c->pnote,
                                (const uint8_t(*)[MERKLE_HASH_LEN])proof,
                                n > 0 ? (size_t)n : 0));
        free(c->pnote);
        c->pnote = NULL;
        ct_stop(c);
        return;
    }
    if (ct_record(c, c->pnote, &c->psth, STORE_LINK_CONSISTENCY,
                  (const uint8_t(*)[MERKLE_HASH_LEN])proof, (size_t)n) != 0) {
        return;
    }
    free(c->pnote);
    c->pnote = NULL;
    ct_after_sth(c);
}

/* ---- seeding --------------------------------------------------------- */

static uint64_t
ct_start(const struct ct *c)
{
    if (c->f->cfg->start_latest || c->f->cfg->start_index > c->vsize) {
        return c->vsize;
    }
    return c->f->cfg->start_index;
}

static void
ct_seed_done(struct ct *c, uint64_t at, const struct merkle_range *r)
{
    if (store_cursor_seed(c->f->env->store, c->log_id, at, r,
                          follow_wall(c->f->env)) != 0) {
        follow_fatal(c->f->env, store_errmsg(c->f->env->store));
        return;
    }
    c->f->has_cursor = 1;
    c->f->pace.once_failures = 0;
    c->f->next = c->f->committed_next = at;
    c->f->range = *r;
    log_info("%s: cursor seeded at index %llu", c->f->cfg->name,
             (unsigned long long)at);
    ct_after_sth(c);
}

static void
ct_seed(struct ct *c)
{
    uint64_t at = ct_start(c);
    char path[128];

    if (at == 0) {
        struct merkle_range empty;
        merkle_range_init(&empty);
        ct_seed_done(c, 0, &empty);
        return;
    }
    snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
             (unsigned long long)(at - 1), (unsigned long long)(at - 1));
    if (ct_get(c, CR_SEED_LEAF, path, FOLLOW_MAX_RESPONSE) == NULL) {
        fe_error(c->f, "cannot start a seed request");
        fe_poll_failed(c->f, NULL);
        return;
    }
    c->seeding = 1;
}

static void
ct_on_seed_leaf(struct ct *c, const struct http_response *resp)
{
    struct ctleaf **a = NULL;
    size_t n = 0;
    char err[CTLEAF_ERR_LEN], b64[64], path[256], *q;
    size_t i;

    if (!ct_ok(c, resp, "seed: GET /ct/v1/get-entries")) {
        c->seeding = 0;
        fe_poll_failed(c->f, resp);
        return;
    }
    if (ctleaf_entries_parse(resp->body, resp->body_len, 1, &a, &n, err,
                             sizeof(err)) != 0 ||
        n != 1) {
        fe_error(c->f, "seed: get-entries: %s",
                 n != 1 && a != NULL ? "not one entry" : err);
        ctleaf_array_free(a, n);
        c->seeding = 0;
        fe_poll_failed(c->f, NULL);
        return;
    }
    memcpy(c->seed_leaf, a[0]->leaf_hash, MERKLE_HASH_LEN);
    ctleaf_array_free(a, n);
    if (merkle_b64_encode(c->seed_leaf, MERKLE_HASH_LEN, b64, sizeof(b64)) <
        0) {
        c->seeding = 0;
        fe_poll_failed(c->f, NULL);
        return;
    }
    q = path + snprintf(path, sizeof(path), "/ct/v1/get-proof-by-hash?hash=");
    for (i = 0; b64[i] != '\0'; i++) {
        /* base64's '+', '/' and '=' percent-encoded */
        if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=') {
            q += snprintf(q, 4, "%%%02X", (unsigned char)b64[i]);
        } else {
            *q++ = b64[i];
        }
    }
    snprintf(q, sizeof(path) - (size_t)(q - path), "&tree_size=%llu",
             (unsigned long long)c->vsize);
    if (ct_get(c, CR_SEED_PROOF, path, CT_MAX_PROOF_JSON) == NULL) {
        c->seeding = 0;
        fe_error(c->f, "cannot start a seed request");
        fe_poll_failed(c->f, NULL);
    }
}

static void
ct_on_seed_proof(struct ct *c, const struct http_response *resp)
{
    uint8_t path[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    json_int_t li = -1;
    long n;
    uint64_t at = ct_start(c);
    struct merkle_range r;
    enum merkle_result mr;

    c->seeding = 0;
    if (!ct_ok(c, resp, "seed: GET /ct/v1/get-proof-by-hash")) {
        fe_poll_failed(c->f, resp);
        return;
    }
    n = ct_hashes(resp->body, resp->body_len, "audit_path", path, &li);
    if (n < 0 || (uint64_t)li != at - 1) {
        fe_error(c->f,
                 "seed: get-proof-by-hash: not an audit path for "
                 "index %llu",
                 (unsigned long long)(at - 1));
        fe_poll_failed(c->f, NULL);
        return;
    }
    mr = merkle_range_from_inclusion(&r, at - 1, c->vsize, c->seed_leaf,
                                     (const uint8_t(*)[MERKLE_HASH_LEN])path,
                                     (size_t)n, c->vroot);
    if (mr != MERKLE_OK) {
        fe_error(c->f, "seed: inclusion proof: %s", merkle_strerror(mr));
        fe_poll_failed(c->f, NULL);
        return;
    }
    ct_seed_done(c, at, &r);
}

/* ---- entries --------------------------------------------------------- */

static void
ct_slot_clear(struct ct *c, struct cslot *s)
{
    if (s->have) {
        c->f->ahead_bytes -= (size_t)s->got * MERKLE_HASH_LEN;
    }
    if (s->watched != NULL) {
        ctleaf_array_free(s->watched, CT_UNIT);
        c->f->ahead_bytes -= s->watched_bytes;
    }
    free(s->hashes);
    memset(s, 0, sizeof(*s));
}

/* The watch rules on the entry at the cursor (l, borrowed): alerts and
 * CT certificate rows go to the batch committed with the cursor.  The
 * STH that includes it is the verified one.  0, or -1 after
 * follow_fatal. */
static int
ct_policy(struct ct *c, struct ctleaf *l)
{
    struct policy_ct_ctx pc;

    memset(&pc, 0, sizeof(pc));
    pc.log_name = c->f->cfg->name;
    pc.origin = c->origin;
    pc.log_index = c->f->next;
    pc.sth = c->vnote;
    pc.now = (time_t)follow_wall(c->f->env);
    if (policy_eval_ct(c->f->env->policy, &pc, l, c->f->batch_alerts,
                       &c->f->batch_signings, NULL) != 0) {
        follow_fatal(c->f->env, "out of memory");
        return -1;
    }
    return 0;
}

static void
ct_clear_slots(struct ct *c)
{
    size_t i;

    for (i = 0; i < c->nslots; i++) {
        ct_slot_clear(c, &c->slots[i]);
    }
    c->f->ahead_bytes = 0;
}

/* The first index of unit u not held yet (what to ask for). */
static uint64_t
ct_unit_from(const struct ct *c, uint64_t u)
{
    const struct cslot *s = &c->slots[u % c->nslots];
    uint64_t from = u * CT_UNIT;

    if (from < c->f->next) {
        from = c->f->next;
    }
    if (s->have && s->unit == u && s->first + s->got > from) {
        from = s->first + s->got;
    }
    return from;
}

/* One past the last index of unit u under the verified size. */
static uint64_t
ct_unit_end(const struct ct *c, uint64_t u)
{
    uint64_t end = (u + 1) * CT_UNIT;

    return end < c->vsize ? end : c->vsize;
}

static void
ct_mismatch(struct ct *c, uint64_t size, const char *how)
{
    char key_s[1024], msg[1024], r1[65], r2[65];
    uint8_t root[MERKLE_HASH_LEN];
    json_t *ev;

    merkle_range_root(&c->f->range, root);
    follow_hex(c->vroot, MERKLE_HASH_LEN, r1, sizeof(r1));
    follow_hex(root, MERKLE_HASH_LEN, r2, sizeof(r2));
    snprintf(key_s, sizeof(key_s), "root|%s|%llu|%s|%s", c->origin,
             (unsigned long long)size, r1, r2);
    snprintf(msg, sizeof(msg),
             "Log %s: the entries up to size %llu hash to %s, %s the "
             "signed root %s of size %llu",
             c->f->cfg->name, (unsigned long long)size, r2, how, r1,
             (unsigned long long)c->vsize);
    ev = follow_evidence_new(c->vnote, NULL, NULL, 0);
    json_object_set_new(ev, "computed_root", json_string(r2));
    json_object_set_new(ev, "size", json_integer((json_int_t)size));
    fe_log_alert(c->f, "log.entries_mismatch", key_s, msg, NULL, ev);
    fe_reset_cursor(c->f);
    ct_stop(c);
}

/* A commit point: ask the log to prove the cursor's tree is a prefix of
 * the verified one. */
static int
ct_check_start(struct ct *c)
{
    char path[128];

    snprintf(path, sizeof(path),
             "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
             (unsigned long long)c->f->next, (unsigned long long)c->vsize);
    if (ct_get(c, CR_CHECK, path, CT_MAX_PROOF_JSON) == NULL) {
        return -1;
    }
    c->checking = 1;
    return 0;
}

static void
ct_on_check(struct ct *c, const struct http_response *resp)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
    long n;

    c->checking = 0;
    if (!ct_ok(c, resp, "GET /ct/v1/get-sth-consistency (commit point)")) {
        fe_reset_cursor(c->f);
        fe_poll_failed(c->f, resp);
        return;
    }
    n = ct_hashes(resp->body, resp->body_len, "consistency", proof, NULL);
    merkle_range_root(&c->f->range, root);
    if (n < 0 ||
        merkle_verify_consistency(c->f->next, c->vsize, root, c->vroot,
                                  (const uint8_t(*)[MERKLE_HASH_LEN])proof,
                                  (size_t)n) != MERKLE_OK) {
        ct_mismatch(c, c->f->next,
                    "which no consistency proof the log gives links to");
        return;
    }
    c->f->root_checks++;
    if (fe_commit(c->f) != 0) {
        return;
    }
    if (ct_apply(c) == 0) {
        fe_pump(c->f);
    }
}

/* Apply what is next in order.  -1: stopped (or waiting for a check). */
static int
ct_apply(struct ct *c)
{
    while (c->f->has_cursor && c->f->next < c->vsize && !c->checking) {
        uint64_t u = c->f->next / CT_UNIT;
        struct cslot *s = &c->slots[u % c->nslots];

        if (!s->have || s->unit != u || c->f->next < s->first ||
            c->f->next >= s->first + s->got) {
            break;
        }
        if (s->watched != NULL && s->watched[c->f->next - s->first] != NULL &&
            c->f->env->policy != NULL &&
            ct_policy(c, s->watched[c->f->next - s->first]) != 0) {
            return -1;
        }
        if (merkle_range_append(
                &c->f->range, s->hashes[c->f->next - s->first]) != MERKLE_OK) {
            follow_fatal(c->f->env, "compact range overflow");
            return -1;
        }
        c->f->next++;
        c->f->stats.entries++;
        if (c->f->next == ct_unit_end(c, u)) {
            ct_slot_clear(c, s);
        }
        if (c->f->next == c->vsize) {
            uint8_t root[MERKLE_HASH_LEN];
            merkle_range_root(&c->f->range, root);
            if (!merkle_hash_equal(root, c->vroot)) {
                ct_mismatch(c, c->vsize, "not");
                return -1;
            }
            c->f->root_checks++;
            return fe_commit(c->f) != 0 ? -1 : 0;
        }
        if (c->f->next - c->f->committed_next >= FOLLOW_COMMIT_EVERY) {
            if (ct_check_start(c) != 0) {
                fe_error(c->f, "cannot start a commit point check");
                fe_reset_cursor(c->f);
                fe_poll_failed(c->f, NULL);
            }
            return -1;
        }
    }
    return 0;
}

static void
ct_on_entries(struct ct *c, struct fe_req *r, const struct http_response *resp)
{
    uint64_t u = r->units[0], from = r->index, end = ct_unit_end(c, u);
    struct cslot *s = &c->slots[u % c->nslots];
    struct ctleaf **a = NULL;
    size_t n = 0, i;
    char err[CTLEAF_ERR_LEN];

    if (fe_is_throttle(resp)) {
        if (resp->result != HTTP_COMPLETE) {
            fe_response_error(c->f, resp, "get-entries");
        }
        fe_units_throttled(c->f, r, resp);
        return;
    }
    fe_answered(c->f);
    if (from != ct_unit_from(c, u) || from >= end) {
        /* Asked for before the cursor or the slot moved: ask again. */
        if (ct_unit_from(c, u) < end) {
            fe_unit_retry(c->f, u);
        }
        return;
    }
    if (resp->result != HTTP_COMPLETE || resp->status != 200) {
        fe_response_error(c->f, resp, "get-entries");
        fe_unit_missed(c->f, u, resp->status);
        return;
    }
    if (ctleaf_entries_parse_needles(
            resp->body, resp->body_len, (size_t)(end - from),
            c->f->env->policy != NULL ? policy_needles(c->f->env->policy)
                                      : NULL,
            &a, &n, err, sizeof(err)) != 0 ||
        n == 0) {
        fe_error(c->f, "get-entries %llu-%llu: %s", (unsigned long long)from,
                 (unsigned long long)(end - 1),
                 n == 0 && a != NULL ? "no entries" : err);
        ctleaf_array_free(a, n);
        fe_unit_missed(c->f, u, 200);
        return;
    }
    if (!s->have || s->unit != u) {
        ct_slot_clear(c, s);
        s->hashes = calloc(CT_UNIT, MERKLE_HASH_LEN);
        if (s->hashes == NULL) {
            ctleaf_array_free(a, n);
            follow_fatal(c->f->env, "out of memory");
            return;
        }
        s->have = 1;
        s->unit = u;
        s->first = from;
        s->got = 0;
    }
    for (i = 0; i < n; i++) {
        memcpy(s->hashes[from - s->first + i], a[i]->leaf_hash,
               MERKLE_HASH_LEN);
        /* Kept for the watch rules: the entries whose claims the
         * prefilter had read (a possible watched repository). */
        if (c->f->env->policy != NULL && !a[i]->claims_skipped &&
            a[i]->claims != NULL) {
            if (s->watched == NULL &&
                (s->watched = calloc(CT_UNIT, sizeof(*s->watched))) == NULL) {
                ctleaf_array_free(a, n);
                follow_fatal(c->f->env, "out of memory");
                return;
            }
            if (s->watched[from - s->first + i] != NULL) {
                size_t old = ct_leaf_bytes(s->watched[from - s->first + i]);
                s->watched_bytes -= old;
                c->f->ahead_bytes -= old;
                ctleaf_free(s->watched[from - s->first + i]);
            }
            s->watched[from - s->first + i] = a[i];
            s->watched_bytes += ct_leaf_bytes(a[i]);
            c->f->ahead_bytes += ct_leaf_bytes(a[i]);
            a[i] = NULL;
        }
    }
    s->got += n;
    c->f->ahead_bytes += n * MERKLE_HASH_LEN;
    ctleaf_array_free(a, n);
    fe_unit_got(c->f, u);
    fe_unthrottle(c->f);
    if (s->first + s->got < end) {
        /* The log granted fewer than asked: the rest next. */
        fe_unit_retry(c->f, u);
    }
    (void)ct_apply(c);
}

static void
ct_after_sth(struct ct *c)
{
    if (follow_is_fatal(c->f->env)) {
        return;
    }
    if (c->f->stopped || !c->has_cp) {
        fe_cycle_done(c->f, 0);
        return;
    }
    if (!c->f->has_cursor) {
        ct_seed(c);
        return;
    }
    if (c->f->next >= c->vsize && !c->f->fetching) {
        fe_cycle_done(c->f, 0);
        return;
    }
    if (!c->f->fetching || c->f->fetch_next < c->f->next / CT_UNIT) {
        c->f->fetch_next = c->f->next / CT_UNIT;
    }
    c->f->fetching = 1;
    fe_pump(c->f);
}

/* ---- the engine's operations ----------------------------------------- */

static void
ct_on_response(struct follower *f, struct fe_req *r,
               const struct http_response *resp)
{
    struct ct *c = f->p;

    switch (r->kind) {
    case CR_STH:
        ct_on_sth(c, resp);
        break;
    case CR_CONSISTENCY:
        ct_on_consistency(c, resp);
        break;
    case CR_SEED_LEAF:
        ct_on_seed_leaf(c, resp);
        break;
    case CR_SEED_PROOF:
        ct_on_seed_proof(c, resp);
        break;
    case CR_CHECK:
        ct_on_check(c, resp);
        break;
    case FE_REQ_UNITS:
        ct_on_entries(c, r, resp);
        break;
    default:
        break;
    }
}

static int
ct_busy(const struct follower *f)
{
    const struct ct *c = f->p;

    return c->seeding || c->checking;
}

static void
ct_view(const struct follower *f, struct fe_view *out)
{
    const struct ct *c = f->p;

    out->log_id = c->log_id;
    out->origin = c->origin;
    out->has_cp = c->has_cp;
    out->vsize = c->vsize;
    out->vnote = c->vnote;
}

static uint64_t
ct_fetch_end(const struct follower *f)
{
    const struct ct *c = f->p;

    return (c->vsize + CT_UNIT - 1) / CT_UNIT;
}

static uint64_t
ct_window_end(const struct follower *f)
{
    const struct ct *c = f->p;

    return f->next / CT_UNIT + c->nslots;
}

static struct fe_req *
ct_send_units(struct follower *f, const uint64_t *units, size_t n)
{
    struct ct *c = f->p;
    uint64_t u = units[0], from = ct_unit_from(c, u), end = ct_unit_end(c, u);
    char path[128];
    struct fe_req *r;

    (void)n; /* batch 1 */
    if (from >= end) {
        from = end > 0 ? end - 1 : 0; /* nothing left: a harmless ask */
    }
    snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
             (unsigned long long)from, (unsigned long long)(end - 1));
    r = ct_get(c, FE_REQ_UNITS, path, FOLLOW_MAX_RESPONSE);
    if (r != NULL) {
        r->index = from;
    }
    return r;
}

static void
ct_unit_range(const struct follower *f, uint64_t u, uint64_t *first,
              uint64_t *last)
{
    const struct ct *c = f->p;
    uint64_t end = ct_unit_end(c, u);

    *first = ct_unit_from(c, u);
    *last = end > *first ? end - 1 : *first;
}

static int
ct_caught_up(const struct follower *f)
{
    const struct ct *c = f->p;

    return f->next >= c->vsize;
}

static void
ct_on_caught_up(struct follower *f)
{
    fe_cycle_done(f, 0);
}

static void
ct_reset(struct follower *f)
{
    struct ct *c = f->p;

    if (c->checking) {
        fe_cancel(f, CR_CHECK);
        c->checking = 0;
    }
    ct_clear_slots(c);
}

static const char *
ct_base_url(const struct follower *f)
{
    const struct ct *c = f->p;

    return c->base;
}

/* ---- life cycle ------------------------------------------------------ */

static int
ct_resume(struct ct *c, char *err, size_t errlen)
{
    struct store_checkpoint_row row;
    int found = 0;

    if (store_log_find(c->f->env->store, c->f->cfg->name, c->origin,
                       &c->log_id) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(c->f->env->store));
        return -1;
    }
    if (c->log_id == 0) {
        return 0;
    }
    memset(&row, 0, sizeof(row));
    if (store_checkpoint_latest(c->f->env->store, c->log_id, &found, &row) !=
            0 ||
        store_cursor_get(c->f->env->store, c->log_id, &c->f->has_cursor,
                         &c->f->next, &c->f->range) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(c->f->env->store));
        store_checkpoint_row_free(&row);
        return -1;
    }
    if (found) {
        c->has_cp = 1;
        c->vsize = row.size;
        memcpy(c->vroot, row.root, MERKLE_HASH_LEN);
        c->vnote = row.note;
        row.note = NULL;
    }
    store_checkpoint_row_free(&row);
    c->f->committed_next = c->f->next;
    log_info("%s: resuming %s at index %llu (verified size %llu)",
             c->f->cfg->name, c->origin, (unsigned long long)c->f->next,
             (unsigned long long)c->vsize);
    return 0;
}

static void ct_free(struct follower *f);

static int
ct_init(struct follower *f, char *err, size_t errlen)
{
    struct ct *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->p = c;
    c->f = f;
    c->nslots = (size_t)f->pace.window * 2;
    if (c->nslots * CT_UNIT < FOLLOW_LOOKAHEAD_ENTRIES) {
        c->nslots = FOLLOW_LOOKAHEAD_ENTRIES / CT_UNIT;
    }
    c->slots = calloc(c->nslots, sizeof(*c->slots));
    if (c->slots == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (ct_load_keys(c, err, errlen) != 0 || ct_resume(c, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

static void
ct_free(struct follower *f)
{
    struct ct *c = f->p;

    if (c == NULL) {
        return;
    }
    if (c->slots != NULL) {
        ct_clear_slots(c);
    }
    free(c->slots);
    free(c->vnote);
    free(c->pnote);
    free(c);
    f->p = NULL;
}

const struct fe_proto ct_proto = {
    .name = "ct",
    .batch = 1,
    .poll_while_fetching = 1,
    .init = ct_init,
    .free = ct_free,
    .poll = ct_poll,
    .busy = ct_busy,
    .view = ct_view,
    .fetch_end = ct_fetch_end,
    .window_end = ct_window_end,
    .send_units = ct_send_units,
    .unit_range = ct_unit_range,
    .caught_up = ct_caught_up,
    .on_caught_up = ct_on_caught_up,
    .on_response = ct_on_response,
    .reset = ct_reset,
    .base_url = ct_base_url,
};
