/*
 * log.c: the state of tlogwatch-testlog's Rekor v1 log: shards, growth,
 * checkpoints, entry rendering and the misbehaviours that change state.
 *
 * A shard is one Trillian-like tree with a tree id; the last shard is
 * active, earlier ones are frozen with a final signed checkpoint.  Per
 * leaf a shard keeps the Merkle tree (tree.c), its integratedTime and,
 * for noise leaves, the 70-72 byte ECDSA signature its body embeds;
 * stored leaves (appended signings, raw bodies, fork variants) keep their
 * whole body in a sorted side table, with the attestation they serve.
 * About 145 bytes per noise leaf: a noise intoto / dsse leaf's
 * attestation (its DSSE payload) is rebuilt when served, like its body.
 *
 * Checkpoints are Rekor v1 signed notes:
 *   "<host> - <tree id>\n<size>\n<base64 root>\n\n"
 *   "\u2014 <host> base64(log id[0:4] || DER ECDSA-P256-SHA256(text))\n"
 * With /admin/wrong-key on, the signature is made with another key but
 * keeps the log key's hint, so a verifier sees a bad signature from the
 * pinned key rather than an unknown signer.  /admin/impossible notes
 * (tl_log_impossible) are made the same way for any size and root.
 *
 * The signed entry timestamp is ECDSA-P256-SHA256 over the canonical
 * JSON {"body":<base64>,"integratedTime":<n>,"logID":"<hex>",
 * "logIndex":<virtual index>} of the untampered body; as in Rekor
 * (pkg/api/entries.go, logEntryFromLeaf) the attestation is not signed.
 *
 * Invariants: for every leaf, level[0] of its shard's tree equals
 * SHA-256(0x00 || tl_log_body()); log->gen changes whenever a root or a
 * checkpoint could change, which invalidates the caches; shards are
 * contiguous in virtual index space.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "merkle/merkle.h"
#include "testlog.h"

static uint64_t
shard_tree_id(uint64_t seed, size_t n)
{
    uint64_t h = tl_mix64(seed ^ tl_mix64(0x7ee1d5eedULL + n));

    /* in [2^60, 2^61): 16 hex digits and 19 decimal digits, like
     * production's 1193050959916656506 (0x108e9186e8c5677a) */
    return (h & 0x0fffffffffffffffULL) | 0x1000000000000000ULL;
}

static void
shard_free(struct tl_shard *s)
{
    size_t i;

    if (s == NULL) {
        return;
    }
    tl_tree_free(&s->tree);
    free(s->times);
    free(s->sigs);
    free(s->siglens);
    for (i = 0; i < s->nstored; i++) {
        free(s->stored[i].body);
        free(s->stored[i].att);
    }
    free(s->stored);
    free(s->note);
    free(s->final_note);
    free(s);
}

static struct tl_shard *
shard_new(uint64_t tree_id, uint64_t offset)
{
    struct tl_shard *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->tree_id = tree_id;
    s->offset = offset;
    s->active = 1;
    tl_tree_init(&s->tree);
    return s;
}

/* Room for cap leaves in every per-leaf array. */
static int
shard_reserve(struct tl_shard *s, uint64_t cap)
{
    void *p;

    if (cap <= s->cap) {
        return 0;
    }
    if (cap > TL_MAX_ENTRIES || tl_tree_reserve(&s->tree, cap) != 0) {
        return -1;
    }
    p = realloc(s->times, (size_t)cap * sizeof(*s->times));
    if (p == NULL) {
        return -1;
    }
    s->times = p;
    p = realloc(s->sigs, (size_t)cap * sizeof(*s->sigs));
    if (p == NULL) {
        return -1;
    }
    s->sigs = p;
    p = realloc(s->siglens, (size_t)cap);
    if (p == NULL) {
        return -1;
    }
    s->siglens = p;
    s->cap = cap;
    return 0;
}

static int
shard_grow_for(struct tl_shard *s, uint64_t extra)
{
    uint64_t need = s->tree.size + extra, cap = s->cap;

    if (need <= cap) {
        return 0;
    }
    if (cap < 1024) {
        cap = 1024;
    }
    while (cap < need) {
        cap += cap / 2;
    }
    if (cap > TL_MAX_ENTRIES) {
        cap = need;
    }
    return shard_reserve(s, cap);
}

/* The stored body at local, or NULL. */
static struct tl_stored *
stored_find(const struct tl_shard *s, uint64_t local)
{
    size_t lo = 0, hi = s->nstored;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->stored[mid].local == local) {
            return &s->stored[mid];
        }
        if (s->stored[mid].local < local) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Insert or replace the stored body at local, with its attestation (att
 * NULL: none).  Takes ownership of body and att on success only. */
static int
stored_put(struct tl_shard *s, uint64_t local, uint8_t *body, size_t len,
           uint8_t *att, size_t att_len)
{
    struct tl_stored *st = stored_find(s, local);
    size_t pos;

    if (st != NULL) {
        free(st->body);
        free(st->att);
        *st = (struct tl_stored){local, body, len, att, att_len};
        return 0;
    }
    if (s->nstored == s->capstored) {
        size_t ncap = s->capstored ? s->capstored * 2 : 16;
        void *p = realloc(s->stored, ncap * sizeof(*s->stored));

        if (p == NULL) {
            return -1;
        }
        s->stored = p;
        s->capstored = ncap;
    }
    pos = s->nstored;
    while (pos > 0 && s->stored[pos - 1].local > local) {
        pos--;
    }
    memmove(&s->stored[pos + 1], &s->stored[pos],
            (s->nstored - pos) * sizeof(*s->stored));
    s->stored[pos] = (struct tl_stored){local, body, len, att, att_len};
    s->nstored++;
    return 0;
}

struct tl_shard *
tl_log_active(const struct tl_log *log)
{
    return log->shards[log->nshards - 1];
}

uint64_t
tl_log_size(const struct tl_log *log)
{
    const struct tl_shard *s = tl_log_active(log);

    return s->offset + s->tree.size;
}

struct tl_shard *
tl_log_locate(const struct tl_log *log, uint64_t v, uint64_t *local)
{
    size_t i;

    for (i = 0; i < log->nshards; i++) {
        struct tl_shard *s = log->shards[i];

        if (v >= s->offset && v - s->offset < s->tree.size) {
            *local = v - s->offset;
            return s;
        }
    }
    return NULL;
}

struct tl_shard *
tl_log_shard_by_id(const struct tl_log *log, uint64_t tree_id)
{
    size_t i;

    for (i = 0; i < log->nshards; i++) {
        if (log->shards[i]->tree_id == tree_id) {
            return log->shards[i];
        }
    }
    return NULL;
}

int
tl_log_find_leaf(const struct tl_log *log, int have_tree, uint64_t tree_id,
                 const uint8_t leaf[TL_HASH_LEN], uint64_t *vindex)
{
    size_t i;
    uint64_t j;

    for (i = log->nshards; i-- > 0;) {
        const struct tl_shard *s = log->shards[i];

        if (have_tree && s->tree_id != tree_id) {
            continue;
        }
        for (j = 0; j < s->tree.size; j++) {
            if (memcmp(s->tree.level[0][j], leaf, TL_HASH_LEN) == 0) {
                *vindex = s->offset + j;
                return 0;
            }
        }
    }
    return -1;
}

/* ------------------------------------------------------------- growth */

struct grow_job {
    const struct tl_log *log;
    struct tl_shard *s;
    uint64_t lo, hi; /* shard-local range */
    int rc;
};

static void *
grow_worker(void *arg)
{
    struct grow_job *job = arg;
    struct tl_shard *s = job->s;
    struct tl_signer *signer = tl_signer_new();
    struct tl_buf body = {0};
    struct tl_noise n;
    uint64_t i;

    job->rc = signer != NULL ? 0 : -1;
    for (i = job->lo; i < job->hi && job->rc == 0; i++) {
        size_t siglen = TL_SIG_MAX;

        tl_buf_reset(&body);
        if (job->log->ct != NULL) {
            /* --ct: a leaf from the CT noise pool, nothing to sign */
            if (tl_ct_noise_leaf(job->log, s->offset + i, s->times[i], 0, &body,
                                 NULL) != 0) {
                job->rc = -1;
                break;
            }
            s->siglens[i] = 0;
            merkle_leaf_hash((const uint8_t *)body.p, body.len,
                             s->tree.level[0][i]);
            continue;
        }
        if (tl_noise_prepare(job->log, s->offset + i, s->times[i], 0, &n) !=
                0 ||
            tl_signer_sign(signer, n.ident->d, n.digest, s->sigs[i], &siglen) !=
                0 ||
            tl_noise_body(&n, s->sigs[i], siglen, &body) != 0) {
            job->rc = -1;
            break;
        }
        s->siglens[i] = (uint8_t)siglen;
        merkle_leaf_hash((const uint8_t *)body.p, body.len,
                         s->tree.level[0][i]);
    }
    tl_buf_free(&body);
    tl_signer_free(signer);
    return NULL;
}

int
tl_log_grow_noise(struct tl_log *log, uint64_t n, int64_t t)
{
    struct tl_shard *s = tl_log_active(log);
    struct grow_job jobs[TL_MAX_THREADS];
    uint64_t base = s->tree.size, i;
    unsigned k, nthreads;

    if (n == 0) {
        return 0;
    }
    if (n > TL_MAX_ENTRIES || tl_log_size(log) + n > TL_MAX_ENTRIES ||
        shard_grow_for(s, n) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        s->times[base + i] =
            t > 0 ? t
                  : log->genesis +
                        (int64_t)((s->offset + base + i) / TL_NOISE_PER_SEC);
    }
    if (log->ct == NULL &&
        tl_epochs_ensure(log, s->times[base + n - 1], log->threads) != 0) {
        return -1;
    }
    nthreads = log->threads < 1 ? 1 : log->threads;
    if (nthreads > TL_MAX_THREADS) {
        nthreads = TL_MAX_THREADS;
    }
    if (n < 256) {
        nthreads = 1;
    }
    for (k = 0; k < nthreads; k++) {
        jobs[k].log = log;
        jobs[k].s = s;
        jobs[k].lo = base + n * k / nthreads;
        jobs[k].hi = base + n * (k + 1) / nthreads;
        jobs[k].rc = 0;
    }
    tl_parallel(grow_worker, jobs, sizeof(jobs[0]), nthreads);
    for (k = 0; k < nthreads; k++) {
        if (jobs[k].rc != 0) {
            return -1;
        }
    }
    tl_tree_commit(&s->tree, n);
    if (s->times[base + n - 1] > log->last_time) {
        log->last_time = s->times[base + n - 1];
    }
    log->gen++;
    return 0;
}

/* A malloc'd copy of n bytes (n may be 0).  New, or NULL. */
static uint8_t *
dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n + 1);

    if (copy != NULL && n > 0) {
        memcpy(copy, p, n);
    }
    return copy;
}

int
tl_log_append_body(struct tl_log *log, const uint8_t *body, size_t len,
                   const uint8_t *att, size_t att_len, int64_t t,
                   uint64_t *vindex)
{
    struct tl_shard *s = tl_log_active(log);
    uint64_t local = s->tree.size;
    uint8_t *copy, *acopy = NULL;

    if (tl_log_size(log) + 1 > TL_MAX_ENTRIES || shard_grow_for(s, 1) != 0) {
        return -1;
    }
    copy = dup_bytes(body, len);
    if (att != NULL) {
        acopy = dup_bytes(att, att_len);
    }
    if (copy == NULL || (att != NULL && acopy == NULL) ||
        stored_put(s, local, copy, len, acopy, att_len) != 0) {
        free(copy);
        free(acopy);
        return -1;
    }
    s->times[local] = t;
    s->siglens[local] = 0;
    merkle_leaf_hash(body, len, s->tree.level[0][local]);
    tl_tree_commit(&s->tree, 1);
    if (t > log->last_time) {
        log->last_time = t;
    }
    log->gen++;
    *vindex = s->offset + local;
    return 0;
}

/* Body of a leaf into body and, when att != NULL, its attestation into
 * att (both reset first).  *has_att: 1 when the leaf serves one.  0 / -1. */
static int
leaf_content(const struct tl_log *log, const struct tl_shard *s, uint64_t local,
             struct tl_buf *body, struct tl_buf *att, int *has_att)
{
    const struct tl_stored *st = stored_find(s, local);
    struct tl_noise n;

    tl_buf_reset(body);
    *has_att = 0;
    if (att != NULL) {
        tl_buf_reset(att);
    }
    if (st != NULL) {
        if (tl_buf_add(body, st->body, st->len) != 0) {
            return -1;
        }
        if (att != NULL && st->att != NULL) {
            *has_att = 1;
            return tl_buf_add(att, st->att, st->att_len);
        }
        return 0;
    }
    if (log->ct != NULL) {
        *has_att = att != NULL;
        return tl_ct_noise_leaf(log, s->offset + local, s->times[local], 0,
                                body, att);
    }
    if (tl_noise_prepare(log, s->offset + local, s->times[local], 0, &n) != 0 ||
        tl_noise_body(&n, s->sigs[local], s->siglens[local], body) != 0) {
        return -1;
    }
    /* Rekor stores the payload of intoto 0.0.2 entries only: its dsse type
     * implements no attestation storage (pkg/types/dsse/v0.0.1). */
    if (att != NULL && n.kind == TL_KIND_INTOTO) {
        *has_att = 1;
        return tl_buf_add(att, n.payload, n.payload_len);
    }
    return 0;
}

int
tl_log_leaf(const struct tl_log *log, const struct tl_shard *s, uint64_t local,
            struct tl_buf *body, struct tl_buf *att, int *has_att)
{
    return leaf_content(log, s, local, body, att, has_att);
}

int
tl_log_body(const struct tl_log *log, const struct tl_shard *s, uint64_t local,
            struct tl_buf *out)
{
    int has_att;

    return leaf_content(log, s, local, out, NULL, &has_att);
}

/* --------------------------------------------------------- checkpoints */

const uint8_t *
tl_shard_root(struct tl_log *log, struct tl_shard *s)
{
    if (!s->root_ok || s->root_gen != log->gen) {
        tl_tree_root(&s->tree, s->tree.size, s->root);
        s->root_gen = log->gen;
        s->root_ok = 1;
    }
    return s->root;
}

/* A new signed note for shard s claiming size leaves with root. */
static char *
build_note_at(struct tl_log *log, const struct tl_shard *s, uint64_t size,
              const uint8_t root[TL_HASH_LEN])
{
    struct tl_buf text = {0}, sigblob = {0};
    uint8_t sig[TL_SIG_MAX + 4];
    size_t siglen = TL_SIG_MAX;
    const BIGNUM *key = log->wrong_key_on ? log->wrong_key.d : log->log_key.d;
    uint8_t digest[TL_HASH_LEN];
    char *note = NULL;

    if (tl_buf_printf(&text, "%s - %llu\n%llu\n", log->host,
                      (unsigned long long)s->tree_id,
                      (unsigned long long)size) != 0 ||
        tl_buf_add_b64(&text, root, TL_HASH_LEN) != 0 ||
        tl_buf_adds(&text, "\n") != 0) {
        goto done;
    }
    /* key hint of the pinned log key, also under --wrong-key */
    memcpy(sig, log->log_key.id, 4);
    SHA256((const uint8_t *)text.p, text.len, digest);
    if (tl_signer_sign(log->signer, key, digest, sig + 4, &siglen) != 0 ||
        tl_buf_add_b64(&sigblob, sig, siglen + 4) != 0 ||
        tl_buf_printf(&text, "\n\xe2\x80\x94 %s %s\n", log->host, sigblob.p) !=
            0) {
        goto done;
    }
    note = text.p;
    text.p = NULL;
done:
    tl_buf_free(&text);
    tl_buf_free(&sigblob);
    return note;
}

/* A new signed note for shard s at its current size. */
static char *
build_note(struct tl_log *log, struct tl_shard *s)
{
    return build_note_at(log, s, s->tree.size, tl_shard_root(log, s));
}

const char *
tl_log_impossible(struct tl_log *log)
{
    char *n;

    if (!log->imp_on) {
        return NULL;
    }
    if (log->imp_note != NULL && log->imp_note_gen == log->gen) {
        return log->imp_note;
    }
    n = log->tiles ? tl_tiles_note_new(log, log->imp_size, log->imp_root)
                   : build_note_at(log, tl_log_active(log), log->imp_size,
                                   log->imp_root);
    if (n == NULL) {
        return NULL;
    }
    free(log->imp_note);
    log->imp_note = n;
    log->imp_note_gen = log->gen;
    return n;
}

const char *
tl_log_checkpoint(struct tl_log *log, struct tl_shard *s)
{
    if (!s->active && s->final_note != NULL) {
        return s->final_note;
    }
    if (s->note == NULL || s->note_size != s->tree.size ||
        s->note_wrong != log->wrong_key_on || s->note_gen != log->gen) {
        char *n = build_note(log, s);

        if (n == NULL) {
            return NULL;
        }
        free(s->note);
        s->note = n;
        s->note_size = s->tree.size;
        s->note_wrong = log->wrong_key_on;
        s->note_gen = log->gen;
    }
    return s->note;
}

void
tl_log_uuid(const struct tl_shard *s, uint64_t local, char out[81])
{
    int i;

    snprintf(out, 17, "%016llx", (unsigned long long)s->tree_id);
    for (i = 0; i < TL_HASH_LEN; i++) {
        snprintf(out + 16 + 2 * i, 3, "%02x", s->tree.level[0][local][i]);
    }
}

int
tl_log_render_entry(struct tl_log *log, uint64_t v, struct tl_buf *out)
{
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    uint8_t set[TL_SIG_MAX], digest[TL_HASH_LEN];
    size_t nproof, setlen = sizeof(set), i, mark = out->len;
    struct tl_buf *body = &log->scratch_body, *b64 = &log->scratch_b64;
    struct tl_buf *canon = &log->scratch_canon, *att = &log->scratch_att;
    struct tl_shard *s;
    uint64_t local;
    const char *note;
    char uuid[81];
    int64_t t;
    int has_att;

    s = tl_log_locate(log, v, &local);
    if (s == NULL) {
        return 0;
    }
    t = s->times[local];
    note = tl_log_checkpoint(log, s);
    if (note == NULL || leaf_content(log, s, local, body, att, &has_att) != 0) {
        return -1;
    }
    /* b64 = base64(body); canon = the SET's canonical JSON */
    tl_buf_reset(b64);
    tl_buf_reset(canon);
    if (tl_buf_add_b64(b64, (const uint8_t *)body->p, body->len) != 0 ||
        tl_buf_adds(canon, "{\"body\":\"") != 0 ||
        tl_buf_add(canon, b64->p, b64->len) != 0 ||
        tl_buf_printf(canon,
                      "\",\"integratedTime\":%lld,\"logID\":\"%s\","
                      "\"logIndex\":%llu}",
                      (long long)t, log->logid_hex,
                      (unsigned long long)v) != 0) {
        return -1;
    }
    SHA256((const uint8_t *)canon->p, canon->len, digest);
    if (tl_signer_sign(log->signer, log->log_key.d, digest, set, &setlen) !=
        0) {
        return -1;
    }
    if (tl_rule_take(log->tamper, &log->ntamper, v, NULL)) {
        /* served body differs; uuid, proof and SET stay the log's */
        if (tl_tamper_body((const uint8_t *)body->p, body->len, canon) != 0) {
            return -1;
        }
        tl_buf_reset(b64);
        if (tl_buf_add_b64(b64, (const uint8_t *)canon->p, canon->len) != 0) {
            return -1;
        }
    }
    nproof = tl_tree_inclusion(&s->tree, local, s->tree.size, proof);
    tl_log_uuid(s, local, uuid);
    /* Rekor's LogEntryAnon marshals attestation first; data is format
     * byte (standard base64) and omitted when empty */
    if (tl_buf_printf(out, "\"%s\":{", uuid) != 0 ||
        (has_att &&
         (tl_buf_adds(out, "\"attestation\":{") != 0 ||
          (att->len > 0 &&
           (tl_buf_adds(out, "\"data\":\"") != 0 ||
            tl_buf_add_b64(out, (const uint8_t *)att->p, att->len) != 0 ||
            tl_buf_adds(out, "\"") != 0)) ||
          tl_buf_adds(out, "},") != 0)) ||
        tl_buf_adds(out, "\"body\":\"") != 0 ||
        tl_buf_add(out, b64->p, b64->len) != 0 ||
        tl_buf_printf(out,
                      "\",\"integratedTime\":%lld,\"logID\":\"%s\","
                      "\"logIndex\":%llu,\"verification\":{\"inclusionProof\":"
                      "{\"checkpoint\":",
                      (long long)t, log->logid_hex,
                      (unsigned long long)v) != 0 ||
        tl_buf_add_json_str(out, note, strlen(note)) != 0 ||
        tl_buf_adds(out, ",\"hashes\":[") != 0) {
        goto err;
    }
    for (i = 0; i < nproof; i++) {
        if ((i > 0 && tl_buf_adds(out, ",") != 0) ||
            tl_buf_adds(out, "\"") != 0 ||
            tl_buf_add_hex(out, proof[i], TL_HASH_LEN) != 0 ||
            tl_buf_adds(out, "\"") != 0) {
            goto err;
        }
    }
    if (tl_buf_printf(out, "],\"logIndex\":%llu,\"rootHash\":\"",
                      (unsigned long long)local) != 0 ||
        tl_buf_add_hex(out, tl_shard_root(log, s), TL_HASH_LEN) != 0 ||
        tl_buf_printf(out, "\",\"treeSize\":%llu},\"signedEntryTimestamp\":\"",
                      (unsigned long long)s->tree.size) != 0 ||
        tl_buf_add_b64(out, set, setlen) != 0 ||
        tl_buf_adds(out, "\"}}") != 0) {
        goto err;
    }
    return 1;
err:
    out->len = mark;
    if (out->p != NULL) {
        out->p[mark] = '\0';
    }
    return -1;
}

/* ------------------------------------------------------- misbehaviour */

int
tl_log_fork(struct tl_log *log, struct tl_shard *s, uint64_t local)
{
    struct tl_buf body = {0};
    struct tl_noise n;
    uint8_t sig[TL_SIG_MAX], leaf[TL_HASH_LEN];
    size_t siglen = sizeof(sig);
    uint8_t *copy, *acopy = NULL;

    if (local >= s->tree.size) {
        return -1;
    }
    if (log->ct != NULL) {
        /* --ct: a noise variant (another timestamp), with its extra_data */
        struct tl_buf extra = {0};

        if (tl_ct_noise_leaf(log, s->offset + local, s->times[local],
                             log->fork_count + 1, &body, &extra) != 0 ||
            stored_put(s, local, (uint8_t *)body.p, body.len,
                       (uint8_t *)extra.p, extra.len) != 0) {
            tl_buf_free(&body);
            tl_buf_free(&extra);
            return -1;
        }
        copy = (uint8_t *)body.p;
        goto stored;
    }
    if (tl_noise_prepare(log, s->offset + local, s->times[local],
                         log->fork_count + 1, &n) != 0 ||
        tl_signer_sign(log->signer, n.ident->d, n.digest, sig, &siglen) != 0 ||
        tl_noise_body(&n, sig, siglen, &body) != 0) {
        tl_buf_free(&body);
        return -1;
    }
    copy = (uint8_t *)body.p;
    if (n.kind == TL_KIND_INTOTO) {
        /* the variant's attestation is its own payload (intoto only, as
         * leaf_content serves noise) */
        acopy = dup_bytes((const uint8_t *)n.payload, n.payload_len);
        if (acopy == NULL) {
            tl_buf_free(&body);
            return -1;
        }
    }
    if (stored_put(s, local, copy, body.len, acopy, n.payload_len) != 0) {
        tl_buf_free(&body);
        free(acopy);
        return -1;
    }
stored:
    log->fork_count++;
    merkle_leaf_hash(copy, body.len, leaf);
    s->siglens[local] = 0;
    tl_tree_set_leaf(&s->tree, local, leaf);
    log->gen++;
    if (!s->active) {
        /* a frozen shard whose final checkpoint changes */
        char *note = build_note(log, s);

        if (note == NULL) {
            return -1;
        }
        free(s->final_note);
        s->final_note = note;
    }
    return 0;
}

int
tl_log_rollback(struct tl_log *log, uint64_t size)
{
    struct tl_shard *s = tl_log_active(log);
    size_t keep = 0, i;

    if (size >= s->tree.size) {
        return -1;
    }
    for (i = 0; i < s->nstored; i++) {
        if (s->stored[i].local >= size) {
            free(s->stored[i].body);
            free(s->stored[i].att);
        } else {
            s->stored[keep++] = s->stored[i];
        }
    }
    s->nstored = keep;
    tl_tree_truncate(&s->tree, size);
    log->gen++;
    return 0;
}

int
tl_log_rotate(struct tl_log *log)
{
    struct tl_shard *old = tl_log_active(log), *s;
    char *note;

    if (log->nshards >= TL_MAX_SHARDS) {
        return -1;
    }
    note = build_note(log, old);
    if (note == NULL) {
        return -1;
    }
    s = shard_new(shard_tree_id(log->seed, log->nshards),
                  old->offset + old->tree.size);
    if (s == NULL || shard_reserve(s, 1024) != 0) {
        shard_free(s);
        free(note);
        return -1;
    }
    old->active = 0;
    free(old->final_note);
    old->final_note = note;
    log->shards[log->nshards++] = s;
    log->gen++;
    return 0;
}

int
tl_rule_set(struct tl_rule *rules, size_t *n, uint64_t v, int64_t remaining,
            uint64_t to)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (rules[i].vindex == v) {
            if (remaining == 0) {
                rules[i] = rules[--*n];
            } else {
                rules[i].remaining = remaining;
                rules[i].to = to;
            }
            return 0;
        }
    }
    if (remaining == 0) {
        return 0;
    }
    if (*n >= TL_MAX_RULES) {
        return -1;
    }
    rules[*n].vindex = v;
    rules[*n].remaining = remaining;
    rules[*n].to = to;
    (*n)++;
    return 0;
}

int
tl_rule_take(struct tl_rule *rules, size_t *n, uint64_t v, uint64_t *to)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (rules[i].vindex != v) {
            continue;
        }
        if (to != NULL) {
            *to = rules[i].to;
        }
        if (rules[i].remaining > 0 && --rules[i].remaining == 0) {
            rules[i] = rules[--*n];
        }
        return 1;
    }
    return 0;
}

int
tl_tamper_body(const uint8_t *body, size_t len, struct tl_buf *out)
{
    static const char key[] = "\"value\":\"";
    size_t i;

    tl_buf_reset(out);
    if (tl_buf_add(out, body, len) != 0) {
        return -1;
    }
    if (len == 0) {
        return tl_buf_add(out, " ", 1);
    }
    for (i = 0; i + sizeof(key) - 1 < len; i++) {
        if (memcmp(out->p + i, key, sizeof(key) - 1) == 0) {
            char *c = out->p + i + sizeof(key) - 1;

            *c = *c == '0' ? '1' : '0';
            return 0;
        }
    }
    out->p[len - 1] ^= 1;
    return 0;
}

/* ------------------------------------------------------------ lifetime */

struct tl_log *
tl_log_new(uint64_t seed, const char *host, uint64_t n, unsigned threads,
           int tiles)
{
    struct tl_log *log = calloc(1, sizeof(*log));
    int64_t now = tl_now();
    int i;

    if (log == NULL) {
        return NULL;
    }
    log->seed = seed;
    log->threads = threads;
    log->tiles = tiles != 0;
    log->signer = tl_signer_new();
    if (log->signer == NULL) {
        goto err;
    }
    if (strlen(host) >= sizeof(log->host) || n > TL_MAX_ENTRIES) {
        goto err;
    }
    memcpy(log->host, host, strlen(host) + 1);
    log->genesis = now - (int64_t)(n / TL_NOISE_PER_SEC) - 1;
    log->last_time = log->genesis;
    if (tl_key_generate(&log->log_key, "P-256") != 0 ||
        tl_key_generate(&log->wrong_key, "P-256") != 0) {
        goto err;
    }
    for (i = 0; i < TL_HASH_LEN; i++) {
        snprintf(log->logid_hex + 2 * i, 3, "%02x", log->log_key.id[i]);
    }
    /* both CAs cover the whole log's life and ten years ahead */
    if (tl_ca_create(&log->ca, TL_CA_ORG, TL_CA_CN, log->genesis - 86400,
                     now + 10 * 366 * 86400LL) != 0 ||
        tl_ca_create(&log->impostor, TL_CA_ORG, TL_CA_CN, log->genesis - 86400,
                     now + 10 * 366 * 86400LL) != 0) {
        goto err;
    }
    log->shards[0] = shard_new(shard_tree_id(seed, 0), 0);
    if (log->shards[0] == NULL) {
        goto err;
    }
    log->nshards = 1;
    if (shard_reserve(log->shards[0], n > 1024 ? n + n / 16 : 1024) != 0 ||
        tl_log_grow_noise(log, n, 0) != 0) {
        goto err;
    }
    return log;
err:
    tl_log_free(log);
    return NULL;
}

void
tl_log_free(struct tl_log *log)
{
    size_t i;

    if (log == NULL) {
        return;
    }
    for (i = 0; i < log->nshards; i++) {
        shard_free(log->shards[i]);
    }
    tl_epochs_free(log);
    tl_ct_free(log->ct);
    tl_key_clear(&log->log_key);
    tl_key_clear(&log->wrong_key);
    tl_key_clear(&log->tiles_key);
    tl_key_clear(&log->tiles_wrong);
    free(log->tiles_note);
    free(log->imp_note);
    tl_signer_free(log->signer);
    tl_ca_clear(&log->ca);
    tl_ca_clear(&log->impostor);
    tl_buf_free(&log->scratch_body);
    tl_buf_free(&log->scratch_canon);
    tl_buf_free(&log->scratch_b64);
    tl_buf_free(&log->scratch_att);
    free(log);
}
