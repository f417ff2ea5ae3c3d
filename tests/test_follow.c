/*
 * test_follow.c: the log followers (monitor/follow/follow.h), Rekor v1 and
 * Rekor v2, driven deterministically through their environment
 * (monitor/follow/env.h) against an in-process fake log.
 *
 * The fake environment: a monotonic clock and a wall clock the test sets
 * separately; timers that fire only when the test advances the clock, in
 * due order; a transport that queues every request and answers it later
 * (never from inside http_request), in the order the test picks (first
 * in, last in, or shuffled), from the fake log; the daemon's alert sink
 * (tlw_env.c) over a real sqlite store in a temporary directory.
 *
 * The fake log is faithful to the protocols: a real RFC 6962 tree,
 * checkpoints as C2SP signed notes with keys generated here (v1: ECDSA
 * P-256, origin "<host> - <treeID>", key id SHA-256(SPKI)[:4]; v2:
 * Ed25519, the origin as key name), the JSON shapes of production Rekor
 * and of tests/testlog, hash tiles and entry bundles.  The trusted root
 * for those keys is written as trusted_root.json and loaded with
 * config/trusted_root.h.  On cue, per request, it misbehaves: leaves an
 * index out of retrieve, answers another index, duplicates, reverses,
 * 404s an entry bundle, answers 429 with Retry-After, 5xx, or nothing
 * (transport error, timeout), signs an impossible checkpoint, serves a
 * tampered body; it counts what it is asked, per kind and per unit.
 *
 * Only the public surfaces are used: env.h, follow.h, store.h, the
 * alerts.  Nothing sleeps and no socket is opened.
 *
 * Environment: TLW_FOLLOW_TRACE=1 prints every request the fake log
 * receives (fake time in ms, kind, URL, body).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/follow/env.h"
#include "monitor/follow/follow.h"
#include "monitor/http.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/policy.h"
#include "monitor/log.h"
#include "monitor/store/store.h"
#include "notify/alert.h"

#define MONO0 5000000u        /* the fake monotonic clock at start, ms */
#define WALL0 1700000000000LL /* the fake wall clock at start, ms */
#define SEC 1000u
#define MIN (60u * SEC)
#define DAY (24LL * 3600 * 1000)

#define V1_HOST "rekor.test"
#define V1_URL "https://" V1_HOST
#define V1_TREE_ID 1193050959916656506ULL
#define INACTIVE_TREE_ID "3904496407287907110" /* v1: an inactive shard */
#define V2_HOST "log2025-1.rekor.test"
#define V2_URL "https://" V2_HOST
#define CT_HOST "ctfe.test/2022" /* host and path: url_path strips both */
#define CT_URL "https://" CT_HOST
#define CT_CAP 100 /* entries the fake CT log grants per get-entries */
#define LOG_NAME "rekor"
#define SINK_NAME "test-sink"

/* The most events (deliveries, timers) the loop runs at one instant of
 * fake time before it calls it a busy loop. */
#define BUSY_LIMIT 100000

/* ---- a small RFC 6962 tree ----------------------------------------------
 *
 * lv[0] holds the leaf hashes, lv[k][j] the root of the perfect subtree
 * over leaves [j 2^k, (j + 1) 2^k), stored once all its leaves are; any
 * subtree hash the RFC's MTH, PATH and PROOF need is then O(log n). */

#define MT_LEVELS 40

struct mtree {
    uint64_t n, cap;
    uint8_t (*lv[MT_LEVELS])[MERKLE_HASH_LEN];
};

static void
mt_free(struct mtree *t)
{
    int k;

    for (k = 0; k < MT_LEVELS; k++) {
        free(t->lv[k]);
    }
    memset(t, 0, sizeof(*t));
}

static void
mt_append(struct mtree *t, const uint8_t leaf[MERKLE_HASH_LEN])
{
    uint64_t i;
    int k;

    if (t->n == t->cap) {
        uint64_t cap = t->cap ? t->cap * 2 : 1024;
        for (k = 0; k < MT_LEVELS && (cap >> k) > 0; k++) {
            void *p = realloc(t->lv[k], (size_t)(cap >> k) * MERKLE_HASH_LEN);
            assert_non_null(p);
            t->lv[k] = p;
        }
        t->cap = cap;
    }
    memcpy(t->lv[0][t->n], leaf, MERKLE_HASH_LEN);
    i = t->n++;
    for (k = 1; k < MT_LEVELS && ((i + 1) & ((1ULL << k) - 1)) == 0; k++) {
        uint64_t j = i >> k;
        merkle_node_hash(t->lv[k - 1][2 * j], t->lv[k - 1][2 * j + 1],
                         t->lv[k][j]);
    }
}

/* The largest power of two below n (n >= 2). */
static uint64_t
mt_split(uint64_t n)
{
    uint64_t k = 1;

    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

/* MTH(D[lo:hi]); lo is a multiple of the largest power of two <= hi - lo. */
static void
mt_hash(const struct mtree *t, uint64_t lo, uint64_t hi,
        uint8_t out[MERKLE_HASH_LEN])
{
    uint64_t n = hi - lo, k;
    uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];

    if ((n & (n - 1)) == 0) {
        int lvl = __builtin_ctzll(n);
        memcpy(out, t->lv[lvl][lo >> lvl], MERKLE_HASH_LEN);
        return;
    }
    k = mt_split(n);
    mt_hash(t, lo, lo + k, l);
    mt_hash(t, lo + k, hi, r);
    merkle_node_hash(l, r, out);
}

static void
mt_root(const struct mtree *t, uint64_t size, uint8_t out[MERKLE_HASH_LEN])
{
    if (size == 0) {
        merkle_empty_root(out);
        return;
    }
    mt_hash(t, 0, size, out);
}

/* PATH(index, D[lo:hi]), leaf first. */
static void
mt_path(const struct mtree *t, uint64_t index, uint64_t lo, uint64_t hi,
        uint8_t (*out)[MERKLE_HASH_LEN], size_t *n)
{
    uint64_t k;

    if (hi - lo == 1) {
        return;
    }
    k = mt_split(hi - lo);
    if (index < lo + k) {
        mt_path(t, index, lo, lo + k, out, n);
        mt_hash(t, lo + k, hi, out[(*n)++]);
    } else {
        mt_path(t, index, lo + k, hi, out, n);
        mt_hash(t, lo, lo + k, out[(*n)++]);
    }
}

/* SUBPROOF(m, D[lo:hi], b). */
static void
mt_subproof(const struct mtree *t, uint64_t m, uint64_t lo, uint64_t hi, int b,
            uint8_t (*out)[MERKLE_HASH_LEN], size_t *n)
{
    uint64_t k;

    if (m == hi - lo) {
        if (!b) {
            mt_hash(t, lo, hi, out[(*n)++]);
        }
        return;
    }
    k = mt_split(hi - lo);
    if (m <= k) {
        mt_subproof(t, m, lo, lo + k, b, out, n);
        mt_hash(t, lo + k, hi, out[(*n)++]);
    } else {
        mt_subproof(t, m - k, lo + k, hi, 0, out, n);
        mt_hash(t, lo, lo + k, out[(*n)++]);
    }
}

/* ---- small helpers ------------------------------------------------------ */

static char *
b64_new(const uint8_t *in, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *s = malloc(cap);

    assert_non_null(s);
    assert_true(merkle_b64_encode(in, len, s, cap) >= 0);
    return s;
}

static void
hex32(const uint8_t h[MERKLE_HASH_LEN], char out[2 * MERKLE_HASH_LEN + 1])
{
    assert_true(merkle_hex_encode(h, MERKLE_HASH_LEN, out,
                                  2 * MERKLE_HASH_LEN + 1) > 0);
}

/* json_dumps of a compact document (a string when o is one); new. */
static char *
dumps(const json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);

    assert_non_null(s);
    return s;
}

/* Signature over msg: ECDSA P-256 with SHA-256 (DER), or Ed25519. */
static size_t
sign_msg(EVP_PKEY *k, int ed25519, const void *msg, size_t len, uint8_t *sig,
         size_t cap)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = cap;

    assert_non_null(c);
    assert_int_equal(
        EVP_DigestSignInit(c, NULL, ed25519 ? NULL : EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &n, msg, len), 1);
    EVP_MD_CTX_free(c);
    return n;
}

/* ---- the fake log ------------------------------------------------------- */

/* What the log is asked, by kind. */
enum fkind {
    K_LOG = 0,  /* v1 GET /api/v1/log */
    K_PROOF,    /* v1 GET /api/v1/log/proof */
    K_ENTRY,    /* v1 GET /api/v1/log/entries?logIndex= */
    K_RETRIEVE, /* v1 POST /api/v1/log/entries/retrieve */
    K_CHECKPOINT /* v2 GET checkpoint */,
    K_TILE,   /* v2 GET tile/<L>/<N> */
    K_BUNDLE, /* v2 GET tile/entries/<N> */
    K_OTHER,
    K_N,
    K_ANY = K_N, /* a plan for any kind */
};

/* A planned answer for the next request of a kind. */
struct plan {
    int kind;                /* enum fkind, or K_ANY */
    enum http_result result; /* HTTP_COMPLETE: status below */
    int status;
    int retry_after; /* seconds, -1: no header */
};

/* One request the log received. */
struct reqrec {
    uint64_t at; /* monotonic ms */
    int kind;
    uint64_t unit; /* first index (v1 retrieve/entry) or bundle; or 0 */
};

#define MAX_PLANS 64
#define MAX_RULES 16

struct flog {
    int v2;
    int ct;          /* an RFC 6962 CT log (get-sth, get-entries...) */
    unsigned ct_cap; /* ct: entries granted per get-entries */
    uint8_t *cert;   /* ct: the certificate every leaf logs, DER */
    size_t cert_len;
    char host[64];
    char origin[128];
    uint64_t tree_id;
    EVP_PKEY *key, *wrong_key;
    EVP_PKEY_CTX *set_ctx; /* v1: signs SET digests */
    uint8_t spki[128];
    size_t spki_len;
    uint8_t raw[32];                 /* v2: the raw Ed25519 key */
    uint8_t log_id[MERKLE_HASH_LEN]; /* trusted root logId.keyId */
    uint8_t key_hint[4];

    struct mtree t;
    uint8_t **bodies; /* owned, n = t.n; without their padding */
    size_t *blens;
    size_t *pads;     /* padding bytes of each body (flog_body) */
    size_t pad;       /* padding of the entries appended from now on */
    uint8_t *scratch; /* a padded body, owned */
    size_t scap;
    char **sets; /* v1 SETs (base64), made when first served */
    int64_t *itimes;
    size_t bcap;

    uint64_t cp_size; /* the size it signs */
    char *note;       /* signed note at cp_size, owned */
    char *fake_note;  /* served instead when set (impossible checkpoint) */
    uint64_t fake_size;
    int fake_raw_size; /* v1: treeSize written as the note's size even
                          beyond int64 */
    int sign_wrong;    /* sign with another key */
    int frozen;        /* v2: checkpoints carry the "Log frozen" line */
    /* v1: one inactive shard before this one (its final signed head,
     * owned, of inactive_size entries; NULL: none); offset is the
     * virtual index of this shard's local 0 (= inactive_size). */
    char *inactive_note;
    uint64_t inactive_size, offset;

    /* Misbehaviour. */
    uint64_t drop[MAX_RULES]; /* v1 index or v2 bundle never returned */
    size_t ndrop;
    struct {
        uint64_t from, to;
        int count; /* answers left; -1: always */
        int lie;   /* 1: body of `to`, claiming index `from` */
    } mis[MAX_RULES];
    size_t nmis;
    uint64_t tamper[MAX_RULES]; /* served body differs from the leaf */
    size_t ntamper;
    int dup;     /* retrieve answers each entry twice */
    int reverse; /* retrieve answers in reverse order */
    struct plan plans[MAX_PLANS];
    size_t nplans;
    enum http_result down; /* HTTP_COMPLETE: up; else every answer */

    /* What it was asked. */
    uint64_t counts[K_N];
    uint64_t *asked; /* per unit (v1 index, v2 bundle) */
    uint64_t *first_ask_ms;
    size_t acap;
    struct reqrec *reqs;
    size_t nreqs, rcap;
};

static void
flog_note_free(struct flog *lg)
{
    free(lg->note);
    lg->note = NULL;
}

/* A signed note for (size, root), with the log's key (or the wrong one). */
static char *
flog_sign(struct flog *lg, uint64_t size, const uint8_t root[MERKLE_HASH_LEN])
{
    char text[512], *rb64, *sb64, *note;
    uint8_t sig[4 + 128];
    size_t n, tl;
    int len;

    if (lg->ct) {
        /* An RFC 6962 STH: TreeHeadSignature = version 0, tree_hash 1,
         * timestamp, tree_size, root; DigitallySigned sha256 (4), ecdsa
         * (3), opaque<0..2^16-1>. */
        uint8_t tbs[50];
        uint64_t ts = (uint64_t)WALL0 + size, k;

        tbs[0] = 0;
        tbs[1] = 1;
        for (k = 0; k < 8; k++) {
            tbs[2 + k] = (uint8_t)(ts >> (56 - 8 * k));
            tbs[10 + k] = (uint8_t)(size >> (56 - 8 * k));
        }
        memcpy(tbs + 18, root, MERKLE_HASH_LEN);
        n = sign_msg(lg->sign_wrong ? lg->wrong_key : lg->key, 0, tbs,
                     sizeof(tbs), sig + 4, sizeof(sig) - 4);
        sig[0] = 4;
        sig[1] = 3;
        sig[2] = (uint8_t)(n >> 8);
        sig[3] = (uint8_t)n;
        rb64 = b64_new(root, MERKLE_HASH_LEN);
        sb64 = b64_new(sig, n + 4);
        note = malloc(512);
        assert_non_null(note);
        snprintf(note, 512,
                 "{\"tree_size\":%llu,\"timestamp\":%llu,"
                 "\"sha256_root_hash\":\"%s\",\"tree_head_signature\":"
                 "\"%s\"}",
                 (unsigned long long)size, (unsigned long long)ts, rb64, sb64);
        free(rb64);
        free(sb64);
        return note;
    }

    rb64 = b64_new(root, MERKLE_HASH_LEN);
    len = snprintf(text, sizeof(text), "%s\n%llu\n%s\n%s", lg->origin,
                   (unsigned long long)size, rb64,
                   lg->v2 && lg->frozen ? "Log frozen\n" : "");
    free(rb64);
    assert_true(len > 0 && (size_t)len < sizeof(text));
    tl = (size_t)len;
    memcpy(sig, lg->key_hint, 4);
    n = sign_msg(lg->sign_wrong ? lg->wrong_key : lg->key, lg->v2, text, tl,
                 sig + 4, sizeof(sig) - 4);
    sb64 = b64_new(sig, n + 4);
    n = tl + strlen(lg->v2 ? lg->origin : lg->host) + strlen(sb64) + 16;
    note = malloc(n);
    assert_non_null(note);
    snprintf(note, n, "%s\n\xe2\x80\x94 %s %s\n", text,
             lg->v2 ? lg->origin : lg->host, sb64);
    free(sb64);
    return note;
}

static void
key_spki(struct flog *lg)
{
    unsigned char *p = lg->spki;
    int n = i2d_PUBKEY(lg->key, NULL);

    assert_true(n > 0 && (size_t)n <= sizeof(lg->spki));
    assert_int_equal(i2d_PUBKEY(lg->key, &p), n);
    lg->spki_len = (size_t)n;
}

/* ct: a self-signed certificate for the log's leaves (the follower
 * proves leaf hashes; what the certificate says is not read here). */
static void
flog_cert(struct flog *lg)
{
    X509 *c = X509_new();
    X509_NAME *nm;
    unsigned char *p;
    int n;

    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(c), 4242), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(c), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(c), 600));
    nm = X509_get_subject_name(c);
    assert_int_equal(X509_NAME_add_entry_by_txt(
                         nm, "CN", MBSTRING_ASC,
                         (const unsigned char *)"sigstore", -1, -1, 0),
                     1);
    assert_int_equal(X509_set_issuer_name(c, nm), 1);
    assert_int_equal(X509_set_pubkey(c, lg->key), 1);
    assert_true(X509_sign(c, lg->key, EVP_sha256()) > 0);
    n = i2d_X509(c, NULL);
    assert_true(n > 0);
    lg->cert = malloc((size_t)n);
    assert_non_null(lg->cert);
    p = lg->cert;
    assert_int_equal(i2d_X509(c, &p), n);
    lg->cert_len = (size_t)n;
    X509_free(c);
}

static struct flog *
flog_new(int proto)
{
    struct flog *lg = calloc(1, sizeof(*lg));
    int v2 = proto == 1;

    assert_non_null(lg);
    lg->v2 = v2;
    lg->ct = proto == 2;
    lg->ct_cap = CT_CAP;
    lg->down = HTTP_COMPLETE;
    if (lg->ct) {
        snprintf(lg->host, sizeof(lg->host), "%s", CT_HOST);
        snprintf(lg->origin, sizeof(lg->origin), "%s", CT_HOST);
        lg->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        lg->wrong_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(lg->key);
        assert_non_null(lg->wrong_key);
        key_spki(lg);
        /* RFC 6962 LogID: SHA-256(DER SPKI). */
        SHA256(lg->spki, lg->spki_len, lg->log_id);
        flog_cert(lg);
    } else if (v2) {
        uint8_t idbuf[sizeof(lg->origin) + 2 + sizeof(lg->raw)];
        size_t rl = sizeof(lg->raw), ol;

        snprintf(lg->host, sizeof(lg->host), "%s", V2_HOST);
        snprintf(lg->origin, sizeof(lg->origin), "%s", V2_HOST);
        lg->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        lg->wrong_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        assert_non_null(lg->key);
        assert_non_null(lg->wrong_key);
        assert_int_equal(EVP_PKEY_get_raw_public_key(lg->key, lg->raw, &rl), 1);
        key_spki(lg);
        /* C2SP key id: SHA-256(name || 0x0A || 0x01 || raw key). */
        ol = strlen(lg->origin);
        memcpy(idbuf, lg->origin, ol);
        idbuf[ol] = 0x0a;
        idbuf[ol + 1] = 0x01;
        memcpy(idbuf + ol + 2, lg->raw, sizeof(lg->raw));
        SHA256(idbuf, ol + 2 + sizeof(lg->raw), lg->log_id);
    } else {
        snprintf(lg->host, sizeof(lg->host), "%s", V1_HOST);
        lg->tree_id = V1_TREE_ID;
        snprintf(lg->origin, sizeof(lg->origin), "%s - %llu", V1_HOST,
                 (unsigned long long)lg->tree_id);
        lg->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        lg->wrong_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_non_null(lg->key);
        assert_non_null(lg->wrong_key);
        key_spki(lg);
        /* Rekor v1: log id = SHA-256(DER SPKI). */
        SHA256(lg->spki, lg->spki_len, lg->log_id);
    }
    memcpy(lg->key_hint, lg->log_id, 4);
    return lg;
}

static void
flog_free(struct flog *lg)
{
    size_t i;

    if (lg == NULL) {
        return;
    }
    for (i = 0; i < lg->t.n; i++) {
        free(lg->bodies[i]);
        free(lg->sets[i]);
    }
    free(lg->bodies);
    free(lg->blens);
    free(lg->pads);
    free(lg->scratch);
    free(lg->sets);
    free(lg->itimes);
    mt_free(&lg->t);
    flog_note_free(lg);
    free(lg->fake_note);
    free(lg->inactive_note);
    free(lg->asked);
    free(lg->first_ask_ms);
    free(lg->reqs);
    free(lg->cert);
    EVP_PKEY_CTX_free(lg->set_ctx);
    EVP_PKEY_free(lg->key);
    EVP_PKEY_free(lg->wrong_key);
    free(lg);
}

/* The length of body i as served. */
static size_t
flog_blen(const struct flog *lg, uint64_t i)
{
    /* ,"padding":"<pad>" before the closing brace */
    return lg->blens[i] + (lg->pads[i] ? lg->pads[i] + 13 : 0);
}

/* Body i as served (borrowed: valid until the next call). */
static const uint8_t *
flog_body(struct flog *lg, uint64_t i, size_t *len)
{
    size_t bl = lg->blens[i], n = flog_blen(lg, i);

    *len = n;
    if (lg->pads[i] == 0) {
        return lg->bodies[i];
    }
    if (lg->scap < n) {
        lg->scratch = realloc(lg->scratch, n);
        assert_non_null(lg->scratch);
        lg->scap = n;
    }
    memcpy(lg->scratch, lg->bodies[i], bl - 1);
    memcpy(lg->scratch + bl - 1, ",\"padding\":\"", 12);
    memset(lg->scratch + bl - 1 + 12, 'x', lg->pads[i]);
    memcpy(lg->scratch + n - 2, "\"}", 2);
    return lg->scratch;
}

/* Append n entries (bodies in the shape of the protocol's hashedrekord). */
static void
flog_append(struct flog *lg, uint64_t n, int64_t now_s)
{
    uint64_t k;

    for (k = 0; k < n; k++) {
        uint64_t i = lg->t.n;
        char body[512];
        uint8_t leaf[MERKLE_HASH_LEN];
        int len;

        if (i == lg->bcap) {
            size_t cap = lg->bcap ? lg->bcap * 2 : 1024;
            lg->bodies = realloc(lg->bodies, cap * sizeof(*lg->bodies));
            lg->blens = realloc(lg->blens, cap * sizeof(*lg->blens));
            lg->pads = realloc(lg->pads, cap * sizeof(*lg->pads));
            lg->sets = realloc(lg->sets, cap * sizeof(*lg->sets));
            lg->itimes = realloc(lg->itimes, cap * sizeof(*lg->itimes));
            assert_non_null(lg->bodies);
            assert_non_null(lg->blens);
            assert_non_null(lg->pads);
            assert_non_null(lg->sets);
            assert_non_null(lg->itimes);
            lg->bcap = cap;
        }
        if (lg->ct) {
            /* MerkleTreeLeaf: v1, timestamped_entry, timestamp,
             * x509_entry, ASN.1Cert<1..2^24-1>, no extensions. */
            size_t bl = 2 + 8 + 2 + 3 + lg->cert_len + 2, k2;
            uint64_t ts = (uint64_t)WALL0 + i;
            uint8_t *b = malloc(bl);

            assert_non_null(b);
            b[0] = 0;
            b[1] = 0;
            for (k2 = 0; k2 < 8; k2++) {
                b[2 + k2] = (uint8_t)(ts >> (56 - 8 * k2));
            }
            b[10] = 0;
            b[11] = 0;
            b[12] = (uint8_t)(lg->cert_len >> 16);
            b[13] = (uint8_t)(lg->cert_len >> 8);
            b[14] = (uint8_t)lg->cert_len;
            memcpy(b + 15, lg->cert, lg->cert_len);
            b[bl - 2] = 0;
            b[bl - 1] = 0;
            lg->bodies[i] = b;
            lg->blens[i] = bl;
            lg->pads[i] = 0;
            lg->sets[i] = NULL;
            lg->itimes[i] = now_s;
            merkle_leaf_hash(b, bl, leaf);
            mt_append(&lg->t, leaf);
            continue;
        }
        if (lg->v2) {
            len = snprintf(body, sizeof(body),
                           "{\"apiVersion\":\"0.0.2\",\"kind\":"
                           "\"hashedrekord\",\"spec\":{\"hashedRekordV002\":"
                           "{\"data\":{\"algorithm\":\"SHA2_256\",\"digest\":"
                           "\"%016llx\"},\"signature\":{\"content\":\"\"}}}}",
                           (unsigned long long)i);
        } else {
            len = snprintf(body, sizeof(body),
                           "{\"apiVersion\":\"0.0.1\",\"kind\":"
                           "\"hashedrekord\",\"spec\":{\"data\":{\"hash\":{"
                           "\"algorithm\":\"sha256\",\"value\":\"%064llx\"}},"
                           "\"signature\":{\"content\":\"\",\"publicKey\":{"
                           "\"content\":\"\"}}}}",
                           (unsigned long long)i);
        }
        assert_true(len > 0 && (size_t)len < sizeof(body));
        lg->bodies[i] = malloc((size_t)len);
        assert_non_null(lg->bodies[i]);
        memcpy(lg->bodies[i], body, (size_t)len);
        lg->blens[i] = (size_t)len;
        lg->pads[i] = lg->pad;
        lg->sets[i] = NULL;
        lg->itimes[i] = now_s;
        {
            size_t bl;
            const uint8_t *b = flog_body(lg, i, &bl);
            merkle_leaf_hash(b, bl, leaf);
        }
        mt_append(&lg->t, leaf);
    }
}

/* Sign the whole tree: the checkpoint the log serves from now on. */
static void
flog_publish(struct flog *lg)
{
    uint8_t root[MERKLE_HASH_LEN];

    lg->cp_size = lg->t.n;
    mt_root(&lg->t, lg->cp_size, root);
    flog_note_free(lg);
    lg->note = flog_sign(lg, lg->cp_size, root);
}

/* Serve a validly signed checkpoint of size and root (NULL: the real
 * current root) instead of the real one; size 0 turns it off. */
static void
flog_fake(struct flog *lg, uint64_t size, const uint8_t *root)
{
    uint8_t r[MERKLE_HASH_LEN];

    free(lg->fake_note);
    lg->fake_note = NULL;
    lg->fake_size = size;
    if (size == 0) {
        return;
    }
    if (root == NULL) {
        mt_root(&lg->t, lg->cp_size, r);
        root = r;
    }
    lg->fake_note = flog_sign(lg, size, root);
}

/* v1: serve an inactive shard before this one, its final head signed at
 * size and root (with the log's key; origin "<host> - <its tree id>"):
 * this shard's entries start at virtual index size. */
static void
flog_inactive(struct flog *lg, uint64_t size, const uint8_t *root)
{
    char origin[sizeof(lg->origin)];

    assert_false(lg->v2 || lg->ct);
    memcpy(origin, lg->origin, sizeof(origin));
    snprintf(lg->origin, sizeof(lg->origin), "%s - %s", lg->host,
             INACTIVE_TREE_ID);
    free(lg->inactive_note);
    lg->inactive_note = flog_sign(lg, size, root);
    memcpy(lg->origin, origin, sizeof(origin));
    lg->inactive_size = size;
    lg->offset = size;
}

static void
flog_impossible(struct flog *lg, uint64_t size)
{
    flog_fake(lg, size, NULL);
}

static const char *
flog_served_note(const struct flog *lg)
{
    return lg->fake_note != NULL ? lg->fake_note : lg->note;
}

static void
flog_plan(struct flog *lg, int kind, enum http_result result, int status,
          int retry_after, unsigned times)
{
    unsigned i;

    for (i = 0; i < times; i++) {
        struct plan *p;
        assert_true(lg->nplans < MAX_PLANS);
        p = &lg->plans[lg->nplans++];
        p->kind = kind;
        p->result = result;
        p->status = status;
        p->retry_after = retry_after;
    }
}

static void
flog_drop(struct flog *lg, uint64_t unit)
{
    assert_true(lg->ndrop < MAX_RULES);
    lg->drop[lg->ndrop++] = unit;
}

static void
flog_undrop(struct flog *lg)
{
    lg->ndrop = 0;
}

static void
flog_misdirect(struct flog *lg, uint64_t from, uint64_t to, int count, int lie)
{
    assert_true(lg->nmis < MAX_RULES);
    lg->mis[lg->nmis].from = from;
    lg->mis[lg->nmis].to = to;
    lg->mis[lg->nmis].count = count;
    lg->mis[lg->nmis].lie = lie;
    lg->nmis++;
}

static void
flog_tamper(struct flog *lg, uint64_t index)
{
    assert_true(lg->ntamper < MAX_RULES);
    lg->tamper[lg->ntamper++] = index;
}

static int
in_list(const uint64_t *v, size_t n, uint64_t x)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (v[i] == x) {
            return 1;
        }
    }
    return 0;
}

/* The index to answer in place of i (i itself when honest); *lie set when
 * the answer claims to be i. */
static uint64_t
flog_redirect(struct flog *lg, uint64_t i, int *lie)
{
    size_t k;

    *lie = 0;
    for (k = 0; k < lg->nmis; k++) {
        if (lg->mis[k].from == i && lg->mis[k].count != 0) {
            if (lg->mis[k].count > 0) {
                lg->mis[k].count--;
            }
            *lie = lg->mis[k].lie;
            return lg->mis[k].to;
        }
    }
    return i;
}

static void
flog_count_unit(struct flog *lg, uint64_t unit, uint64_t now)
{
    if (unit >= lg->acap) {
        size_t cap = lg->acap ? lg->acap : 1024, old = lg->acap;
        while (cap <= unit) {
            cap *= 2;
        }
        lg->asked = realloc(lg->asked, cap * sizeof(*lg->asked));
        lg->first_ask_ms =
            realloc(lg->first_ask_ms, cap * sizeof(*lg->first_ask_ms));
        assert_non_null(lg->asked);
        assert_non_null(lg->first_ask_ms);
        memset(lg->asked + old, 0, (cap - old) * sizeof(*lg->asked));
        memset(lg->first_ask_ms + old, 0,
               (cap - old) * sizeof(*lg->first_ask_ms));
        lg->acap = cap;
    }
    if (lg->asked[unit]++ == 0) {
        lg->first_ask_ms[unit] = now;
    }
}

static uint64_t
flog_asked(const struct flog *lg, uint64_t unit)
{
    return unit < lg->acap ? lg->asked[unit] : 0;
}

/* ---- the log's answers -------------------------------------------------- */

/* An answer under construction. */
struct fresp {
    enum http_result result;
    int status;
    char *body; /* owned, NUL-terminated */
    size_t len;
    const char *ctype;
    int retry_after; /* -1: none */
};

static void
resp_set(struct fresp *r, int status, char *body, const char *ctype)
{
    r->status = status;
    r->body = body;
    r->len = body != NULL ? strlen(body) : 0;
    r->ctype = ctype;
}

static void
resp_error(struct fresp *r, int status, const char *msg)
{
    json_t *o = json_pack("{s:i, s:s}", "code", status, "message", msg);

    resp_set(r, status, dumps(o), "application/json");
    json_decref(o);
}

static const char *
url_path(const struct flog *lg, const char *url)
{
    size_t hl = strlen(lg->host);

    assert_true(strncmp(url, "https://", 8) == 0);
    assert_true(strncmp(url + 8, lg->host, hl) == 0);
    assert_true(url[8 + hl] == '/');
    return url + 8 + hl;
}

static int
query_u64(const char *path, const char *name, uint64_t *out)
{
    char key[64];
    const char *p;
    char *end;

    snprintf(key, sizeof(key), "%s=", name);
    p = strstr(path, key);
    if (p == NULL || (p[-1] != '?' && p[-1] != '&')) {
        return -1;
    }
    p += strlen(key);
    *out = strtoull(p, &end, 10);
    return end == p ? -1 : 0;
}

/* The base64 SET of entry i (made once), body_b64 the base64 of its body:
 * the log key's ECDSA signature over the canonical JSON of body,
 * integratedTime, logID and logIndex. */
static const char *
flog_set(struct flog *lg, uint64_t i, const char *body_b64)
{
    if (lg->sets[i] == NULL) {
        char lid[2 * MERKLE_HASH_LEN + 1], tail[256];
        uint8_t sig[128], digest[MERKLE_HASH_LEN];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        size_t n = sizeof(sig);
        unsigned dl = sizeof(digest);

        hex32(lg->log_id, lid);
        snprintf(tail, sizeof(tail),
                 "\",\"integratedTime\":%lld,\"logID\":\"%s\",\"logIndex\":"
                 "%llu}",
                 (long long)lg->itimes[i], lid, (unsigned long long)i);
        assert_non_null(c);
        assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(c, "{\"body\":\"", 9), 1);
        assert_int_equal(EVP_DigestUpdate(c, body_b64, strlen(body_b64)), 1);
        assert_int_equal(EVP_DigestUpdate(c, tail, strlen(tail)), 1);
        assert_int_equal(EVP_DigestFinal_ex(c, digest, &dl), 1);
        EVP_MD_CTX_free(c);
        if (lg->set_ctx == NULL) {
            lg->set_ctx = EVP_PKEY_CTX_new(lg->key, NULL);
            assert_non_null(lg->set_ctx);
            assert_int_equal(EVP_PKEY_sign_init(lg->set_ctx), 1);
            assert_int_equal(
                EVP_PKEY_CTX_set_signature_md(lg->set_ctx, EVP_sha256()), 1);
        }
        assert_int_equal(
            EVP_PKEY_sign(lg->set_ctx, sig, &n, digest, sizeof(digest)), 1);
        lg->sets[i] = b64_new(sig, n);
    }
    return lg->sets[i];
}

/* {"<uuid>": entry} for entry i of the tree, claiming index claim, with
 * its inclusion proof in the signed tree; the body is tampered with when
 * a rule says so (the uuid, proof and SET stay the log's). */
static json_t *
flog_entry_json(struct flog *lg, uint64_t i, uint64_t claim)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
    char uuid[16 + 2 * MERKLE_HASH_LEN + 1], lid[2 * MERKLE_HASH_LEN + 1];
    char rhex[2 * MERKLE_HASH_LEN + 1], *b64;
    const char *set;
    json_t *hashes = json_array(), *e;
    const uint8_t *body;
    size_t np = 0, k, bl;

    assert_true(i < lg->cp_size);
    mt_path(&lg->t, i, 0, lg->cp_size, proof, &np);
    for (k = 0; k < np; k++) {
        char h[2 * MERKLE_HASH_LEN + 1];
        hex32(proof[k], h);
        json_array_append_new(hashes, json_string(h));
    }
    snprintf(uuid, 17, "%016llx", (unsigned long long)lg->tree_id);
    hex32(lg->t.lv[0][i], uuid + 16);
    hex32(lg->log_id, lid);
    mt_root(&lg->t, lg->cp_size, root);
    hex32(root, rhex);
    body = flog_body(lg, i, &bl);
    b64 = b64_new(body, bl);
    set = flog_set(lg, i, b64);
    if (in_list(lg->tamper, lg->ntamper, i)) {
        uint8_t *tb = malloc(bl + 1);
        assert_non_null(tb);
        memcpy(tb, body, bl);
        tb[bl] = ' ';
        free(b64);
        b64 = b64_new(tb, bl + 1);
        free(tb);
    }
    e = json_pack("{s:{s:s, s:I, s:s, s:I, s:{s:{s:s, s:o, s:I, s:s, s:I}, "
                  "s:s}}}",
                  uuid, "body", b64, "integratedTime",
                  (json_int_t)lg->itimes[i], "logID", lid, "logIndex",
                  (json_int_t)claim, "verification", "inclusionProof",
                  "checkpoint", lg->note, "hashes", hashes, "logIndex",
                  (json_int_t)i, "rootHash", rhex, "treeSize",
                  (json_int_t)lg->cp_size, "signedEntryTimestamp", set);
    free(b64);
    assert_non_null(e);
    return e;
}

/* The entry answered for index i: NULL when the log leaves it out. */
static json_t *
flog_answer_index(struct flog *lg, uint64_t i)
{
    uint64_t j;
    int lie;

    if (i < lg->offset || i - lg->offset >= lg->cp_size ||
        in_list(lg->drop, lg->ndrop, i)) {
        return NULL;
    }
    j = flog_redirect(lg, i, &lie);
    if (j < lg->offset || j - lg->offset >= lg->cp_size) {
        return NULL;
    }
    return flog_entry_json(lg, j - lg->offset, lie ? i : j);
}

static void
v1_log(struct flog *lg, struct fresp *r)
{
    uint8_t root[MERKLE_HASH_LEN];
    char rhex[2 * MERKLE_HASH_LEN + 1], *note, *body;
    uint64_t size = lg->fake_note ? lg->fake_size : lg->cp_size;
    size_t n;

    mt_root(&lg->t, lg->cp_size, root);
    hex32(root, rhex);
    {
        json_t *s = json_string(flog_served_note(lg));
        note = dumps(s);
        json_decref(s);
    }
    /* treeSize: production's int64 cannot hold a size beyond it (a JSON
     * reader without big integers refuses the document); unless told to
     * write it raw, such a size is written as INT64_MAX. */
    if (size > INT64_MAX && !lg->fake_raw_size) {
        size = INT64_MAX;
    }
    n = strlen(note) + 256;
    body = malloc(n);
    assert_non_null(body);
    snprintf(body, n,
             "{\"rootHash\":\"%s\",\"signedTreeHead\":%s,\"treeID\":\"%llu\","
             "\"treeSize\":%llu}",
             rhex, note, (unsigned long long)lg->tree_id,
             (unsigned long long)size);
    free(note);
    if (lg->inactive_note != NULL) {
        /* inactiveShards: [{rootHash, signedTreeHead, treeID, treeSize}]
         * (the root and size fields are noise; the note counts). */
        json_t *o = json_loads(body, 0, NULL);
        assert_non_null(o);
        assert_int_equal(
            json_object_set_new(o, "inactiveShards",
                                json_pack("[{s:s, s:s, s:s, s:I}]", "rootHash",
                                          rhex, "signedTreeHead",
                                          lg->inactive_note, "treeID",
                                          INACTIVE_TREE_ID, "treeSize",
                                          (json_int_t)lg->inactive_size)),
            0);
        free(body);
        body = dumps(o);
        json_decref(o);
    }
    resp_set(r, 200, body, "application/json");
}

static void
v1_proof(struct flog *lg, const char *path, struct fresp *r)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], root[MERKLE_HASH_LEN];
    char rhex[2 * MERKLE_HASH_LEN + 1];
    uint64_t m, n;
    size_t np = 0, k;
    json_t *hashes, *o;

    if (query_u64(path, "firstSize", &m) != 0 ||
        query_u64(path, "lastSize", &n) != 0 || m < 1 || m > n ||
        n > lg->cp_size) {
        resp_error(r, 400, "invalid proof request");
        return;
    }
    if (m < n) {
        mt_subproof(&lg->t, m, 0, n, 1, proof, &np);
    }
    hashes = json_array();
    for (k = 0; k < np; k++) {
        char h[2 * MERKLE_HASH_LEN + 1];
        hex32(proof[k], h);
        json_array_append_new(hashes, json_string(h));
    }
    /* rootHash: the log's current root, as production answers. */
    mt_root(&lg->t, lg->cp_size, root);
    hex32(root, rhex);
    o = json_pack("{s:o, s:s}", "hashes", hashes, "rootHash", rhex);
    resp_set(r, 200, dumps(o), "application/json");
    json_decref(o);
}

static void
v1_entry(struct flog *lg, const char *path, struct fresp *r)
{
    uint64_t i;
    json_t *e;

    if (query_u64(path, "logIndex", &i) != 0) {
        resp_error(r, 400, "logIndex");
        return;
    }
    e = flog_answer_index(lg, i);
    if (e == NULL) {
        resp_error(r, 404, "entry not found");
        return;
    }
    resp_set(r, 200, dumps(e), "application/json");
    json_decref(e);
}

static void
v1_retrieve(struct flog *lg, const char *body, size_t len, struct fresp *r)
{
    json_t *in = json_loadb(body, len, 0, NULL);
    json_t *idx = json_object_get(in, "logIndexes"), *out;
    size_t n = json_array_size(idx), k;

    if (!json_is_array(idx)) {
        json_decref(in);
        resp_error(r, 422, "logIndexes");
        return;
    }
    if (n > FOLLOW_BATCH) {
        json_decref(in);
        resp_error(r, 422, "too many indexes");
        return;
    }
    out = json_array();
    for (k = 0; k < n; k++) {
        size_t at = lg->reverse ? n - 1 - k : k;
        json_t *e = flog_answer_index(
            lg, (uint64_t)json_integer_value(json_array_get(idx, at)));
        if (e == NULL) {
            continue;
        }
        if (lg->dup) {
            json_array_append(out, e);
        }
        json_array_append_new(out, e);
    }
    json_decref(in);
    resp_set(r, 200, dumps(out), "application/json");
    json_decref(out);
}

/* "<N path>[.p/<W>]" of tlog-tiles: N in x-prefixed groups of three. */
static int
parse_tile_index(const char *s, uint64_t *n, unsigned *w)
{
    uint64_t v = 0;
    char *end;
    unsigned long wl;

    for (;;) {
        int x = *s == 'x';
        if (x) {
            s++;
        }
        if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
            s[2] < '0' || s[2] > '9') {
            return -1;
        }
        v = v * 1000 +
            (uint64_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
        s += 3;
        if (!x) {
            break;
        }
        if (*s != '/') {
            return -1;
        }
        s++;
    }
    *n = v;
    *w = 256;
    if (*s == '\0') {
        return 0;
    }
    if (strncmp(s, ".p/", 3) != 0) {
        return -1;
    }
    wl = strtoul(s + 3, &end, 10);
    if (end == s + 3 || *end != '\0' || wl < 1 || wl > 255) {
        return -1;
    }
    *w = (unsigned)wl;
    return 0;
}

static void
v2_tile(struct flog *lg, int level, uint64_t n, unsigned w, struct fresp *r)
{
    int h = 8 * level;
    uint64_t avail = h < 64 ? lg->cp_size >> h : 0, k;
    char *body;

    if (h >= MT_LEVELS || n * 256 + w > avail) {
        resp_error(r, 404, "no such tile");
        return;
    }
    body = malloc((size_t)w * MERKLE_HASH_LEN + 1);
    assert_non_null(body);
    for (k = 0; k < w; k++) {
        memcpy(body + k * MERKLE_HASH_LEN, lg->t.lv[h][n * 256 + k],
               MERKLE_HASH_LEN);
    }
    body[(size_t)w * MERKLE_HASH_LEN] = '\0';
    r->status = 200;
    r->body = body;
    r->len = (size_t)w * MERKLE_HASH_LEN;
    r->ctype = "application/octet-stream";
}

static void
v2_bundle(struct flog *lg, uint64_t n, unsigned w, struct fresp *r)
{
    uint64_t k, j;
    size_t len = 0, off = 0;
    char *body;
    int lie;

    if (n * 256 + w > lg->cp_size || in_list(lg->drop, lg->ndrop, n)) {
        resp_error(r, 404, "no such entry bundle");
        return;
    }
    /* Another bundle's bytes answered for this one. */
    j = flog_redirect(lg, n, &lie);
    if (j != n) {
        n = j;
        if (n * 256 + w > lg->cp_size) {
            resp_error(r, 404, "no such entry bundle");
            return;
        }
    }
    for (k = 0; k < w; k++) {
        uint64_t i = n * 256 + k;
        len += 2 + flog_blen(lg, i) +
               (in_list(lg->tamper, lg->ntamper, i) ? 1 : 0);
    }
    body = malloc(len + 1);
    assert_non_null(body);
    for (k = 0; k < w; k++) {
        uint64_t i = n * 256 + k;
        size_t bl;
        const uint8_t *b = flog_body(lg, i, &bl);
        int t = in_list(lg->tamper, lg->ntamper, i);
        body[off++] = (char)((bl + (size_t)t) >> 8);
        body[off++] = (char)((bl + (size_t)t) & 0xff);
        memcpy(body + off, b, bl);
        off += bl;
        if (t) {
            body[off++] = ' ';
        }
    }
    body[off] = '\0';
    r->status = 200;
    r->body = body;
    r->len = len;
    r->ctype = "application/octet-stream";
}

/* ---- ct: RFC 6962 answers ---- */

static json_t *
b64_hashes(const uint8_t (*h)[MERKLE_HASH_LEN], size_t n)
{
    json_t *a = json_array();
    size_t k;

    for (k = 0; k < n; k++) {
        char *b = b64_new(h[k], MERKLE_HASH_LEN);
        json_array_append_new(a, json_string(b));
        free(b);
    }
    return a;
}

/* GET /ct/v1/get-sth */
static void
ct_sth(struct flog *lg, struct fresp *r)
{
    char *sth = strdup(flog_served_note(lg));

    assert_non_null(sth);
    resp_set(r, 200, sth, "application/json");
}

/* GET /ct/v1/get-sth-consistency?first=&second= */
static void
ct_consistency(struct flog *lg, const char *path, struct fresp *r)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint64_t m, n;
    size_t np = 0;
    json_t *o;

    if (query_u64(path, "first", &m) != 0 ||
        query_u64(path, "second", &n) != 0 || m < 1 || m > n ||
        n > lg->cp_size) {
        resp_error(r, 400, "invalid first/second");
        return;
    }
    if (m < n) {
        mt_subproof(&lg->t, m, 0, n, 1, proof, &np);
    }
    o = json_pack("{s:o}", "consistency",
                  b64_hashes((const uint8_t(*)[MERKLE_HASH_LEN])proof, np));
    resp_set(r, 200, dumps(o), "application/json");
    json_decref(o);
}

/* GET /ct/v1/get-proof-by-hash?hash=<b64, percent-encoded>&tree_size= */
static void
ct_proof_by_hash(struct flog *lg, const char *path, struct fresp *r)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN], h[MERKLE_HASH_LEN];
    char b64[128];
    const char *p = strstr(path, "hash=");
    uint64_t n, i;
    size_t np = 0, k = 0;
    json_t *o;

    assert_non_null(p);
    for (p += 5; *p != '\0' && *p != '&' && k + 1 < sizeof(b64); p++) {
        if (*p == '%') {
            unsigned v;
            assert_int_equal(sscanf(p + 1, "%2x", &v), 1);
            b64[k++] = (char)v;
            p += 2;
        } else {
            b64[k++] = *p;
        }
    }
    b64[k] = '\0';
    if (query_u64(path, "tree_size", &n) != 0 || n > lg->cp_size ||
        merkle_b64_decode(b64, k, h, sizeof(h)) != MERKLE_HASH_LEN) {
        resp_error(r, 400, "invalid hash/tree_size");
        return;
    }
    for (i = 0; i < n && !merkle_hash_equal(lg->t.lv[0][i], h); i++) {
    }
    if (i == n) {
        resp_error(r, 404, "no such leaf");
        return;
    }
    mt_path(&lg->t, i, 0, n, proof, &np);
    o = json_pack("{s:I, s:o}", "leaf_index", (json_int_t)i, "audit_path",
                  b64_hashes((const uint8_t(*)[MERKLE_HASH_LEN])proof, np));
    resp_set(r, 200, dumps(o), "application/json");
    json_decref(o);
}

/* GET /ct/v1/get-entries?start=&end=: at most ct_cap entries from start;
 * an entry whose unit (256 indexes) is dropped ends the answer there (an
 * empty list when it is the first). */
static void
ct_entries(struct flog *lg, const char *path, struct fresp *r)
{
    uint64_t a, z, i;
    json_t *arr, *o;

    if (query_u64(path, "start", &a) != 0 || query_u64(path, "end", &z) != 0 ||
        a > z || a >= lg->cp_size) {
        resp_error(r, 400, "invalid start/end");
        return;
    }
    if (z >= lg->cp_size) {
        z = lg->cp_size - 1;
    }
    if (z - a + 1 > lg->ct_cap) {
        z = a + lg->ct_cap - 1;
    }
    arr = json_array();
    for (i = a; i <= z && !in_list(lg->drop, lg->ndrop, i / 256); i++) {
        uint8_t *b = malloc(lg->blens[i]);
        char *b64;

        assert_non_null(b);
        memcpy(b, lg->bodies[i], lg->blens[i]);
        if (in_list(lg->tamper, lg->ntamper, i)) {
            b[9] ^= 1; /* another timestamp: another leaf */
        }
        b64 = b64_new(b, lg->blens[i]);
        json_array_append_new(
            arr, json_pack("{s:s, s:s}", "leaf_input", b64, "extra_data", ""));
        free(b64);
        free(b);
    }
    o = json_pack("{s:o}", "entries", arr);
    resp_set(r, 200, dumps(o), "application/json");
    json_decref(o);
}

/* The kind of a request and the unit it asks for first. */
static int
flog_classify(struct flog *lg, enum http_method m, const char *url,
              const char *body, size_t blen, uint64_t now, uint64_t *unit)
{
    const char *path = url_path(lg, url);
    uint64_t n;
    unsigned w;

    *unit = 0;
    if (lg->ct) {
        if (m != HTTP_GET) {
            return K_OTHER;
        }
        if (strcmp(path, "/ct/v1/get-sth") == 0) {
            return K_CHECKPOINT;
        }
        if (strncmp(path, "/ct/v1/get-sth-consistency?", 27) == 0 ||
            strncmp(path, "/ct/v1/get-proof-by-hash?", 25) == 0) {
            return K_PROOF;
        }
        if (strncmp(path, "/ct/v1/get-entries?", 19) == 0 &&
            query_u64(path, "start", &n) == 0) {
            *unit = n / 256;
            flog_count_unit(lg, n / 256, now);
            return K_RETRIEVE;
        }
        return K_OTHER;
    }
    if (!lg->v2) {
        if (m == HTTP_GET && strcmp(path, "/api/v1/log") == 0) {
            return K_LOG;
        }
        if (m == HTTP_GET && strncmp(path, "/api/v1/log/proof?", 18) == 0) {
            return K_PROOF;
        }
        if (m == HTTP_GET &&
            strncmp(path, "/api/v1/log/entries?logIndex=", 29) == 0) {
            (void)query_u64(path, "logIndex", unit);
            return K_ENTRY;
        }
        if (m == HTTP_POST &&
            strcmp(path, "/api/v1/log/entries/retrieve") == 0) {
            json_t *in = json_loadb(body, blen, 0, NULL);
            json_t *idx = json_object_get(in, "logIndexes");
            size_t k;
            for (k = 0; k < json_array_size(idx); k++) {
                uint64_t i =
                    (uint64_t)json_integer_value(json_array_get(idx, k));
                if (k == 0) {
                    *unit = i;
                }
                flog_count_unit(lg, i, now);
            }
            json_decref(in);
            return K_RETRIEVE;
        }
        return K_OTHER;
    }
    if (m != HTTP_GET) {
        return K_OTHER;
    }
    if (strcmp(path, "/checkpoint") == 0) {
        return K_CHECKPOINT;
    }
    if (strncmp(path, "/tile/entries/", 14) == 0 &&
        parse_tile_index(path + 14, &n, &w) == 0) {
        *unit = n;
        flog_count_unit(lg, n, now);
        return K_BUNDLE;
    }
    if (strncmp(path, "/tile/", 6) == 0 && path[6] >= '0' && path[6] <= '9' &&
        path[7] == '/' && parse_tile_index(path + 8, &n, &w) == 0) {
        *unit = n;
        return K_TILE;
    }
    return K_OTHER;
}

/* Answer a request of kind (the log's state now). */
static void
flog_answer(struct flog *lg, int kind, enum http_method m, const char *url,
            const char *body, size_t blen, struct fresp *r)
{
    const char *path = url_path(lg, url);
    uint64_t n;
    unsigned w;

    (void)m;
    r->result = HTTP_COMPLETE;
    r->retry_after = -1;
    if (lg->ct) {
        if (kind == K_CHECKPOINT) {
            ct_sth(lg, r);
        } else if (kind == K_RETRIEVE) {
            ct_entries(lg, path, r);
        } else if (kind == K_PROOF && strstr(path, "consistency") != NULL) {
            ct_consistency(lg, path, r);
        } else if (kind == K_PROOF) {
            ct_proof_by_hash(lg, path, r);
        } else {
            resp_error(r, 404, "not found");
        }
        return;
    }
    switch (kind) {
    case K_LOG:
        v1_log(lg, r);
        break;
    case K_PROOF:
        v1_proof(lg, path, r);
        break;
    case K_ENTRY:
        v1_entry(lg, path, r);
        break;
    case K_RETRIEVE:
        v1_retrieve(lg, body, blen, r);
        break;
    case K_CHECKPOINT: {
        char *note = strdup(flog_served_note(lg));
        assert_non_null(note);
        resp_set(r, 200, note, "text/plain; charset=utf-8");
        break;
    }
    case K_TILE:
        assert_int_equal(parse_tile_index(path + 8, &n, &w), 0);
        v2_tile(lg, path[6] - '0', n, w, r);
        break;
    case K_BUNDLE:
        assert_int_equal(parse_tile_index(path + 14, &n, &w), 0);
        v2_bundle(lg, n, w, r);
        break;
    default:
        resp_error(r, 404, "not found");
        break;
    }
}

/* ---- the fake environment ----------------------------------------------- */

enum order {
    ORDER_FIFO = 0, /* the oldest ready request is answered first */
    ORDER_LIFO,     /* the newest first */
    ORDER_SHUFFLE,  /* any, by the seeded generator */
};

struct follow_timer {
    struct fenv *fe;
    follow_timer_cb cb;
    void *arg;
    int armed;
    uint64_t due, seq;
    struct follow_timer *next; /* all timers */
};

/* A request in flight: the transport's handle. */
struct freq {
    struct fenv *fe;
    http_done_cb cb;
    void *arg;
    enum http_method method;
    char *url, *body; /* owned copies */
    size_t blen;
    int kind;
    uint64_t ready_at; /* monotonic: answered no sooner */
    int planned;
    struct plan plan; /* when planned */
    struct freq *prev, *next;
};

struct fenv {
    struct follow_env env;
    uint64_t mono;   /* ms */
    int64_t wall_ms; /* ms */
    uint64_t rng;
    uint64_t seq;
    struct follow_timer *timers;
    struct freq *head, *tail; /* in flight, oldest first */
    size_t inflight, max_inflight;
    enum order order;
    struct flog *log;

    json_t *alerts; /* copies of every alert_record, with "_at_ms" */
    unsigned raised[NOTIFY_CRITICAL + 1];
    unsigned flushes;
    int done_calls, done_failed;
    uint64_t done_at;
    int fatal_calls;
    int fatal;
    int crash;       /* is_fatal answers 1: follower_free commits nothing */
    unsigned refuse; /* the next requests that cannot start (NULL) */
    /* Planned answers delivered: when, and how many requests the log had
     * received by then. */
    struct {
        uint64_t at;
        size_t nreqs;
        int status;
    } thr[MAX_PLANS];
    size_t nthr;
};

static uint64_t
fe_rand(struct fenv *fe)
{
    /* xorshift64* */
    fe->rng ^= fe->rng >> 12;
    fe->rng ^= fe->rng << 25;
    fe->rng ^= fe->rng >> 27;
    return fe->rng * 2685821657736338717ULL;
}

static uint64_t
env_mono_ms(void *ctx)
{
    return ((struct fenv *)ctx)->mono;
}

static int64_t
env_wall_s(void *ctx)
{
    return ((struct fenv *)ctx)->wall_ms / 1000;
}

static uint64_t
env_random(void *ctx, uint64_t n)
{
    assert_true(n > 0);
    return fe_rand(ctx) % n;
}

static struct follow_timer *
env_timer_new(void *ctx, follow_timer_cb cb, void *arg)
{
    struct fenv *fe = ctx;
    struct follow_timer *tm = calloc(1, sizeof(*tm));

    assert_non_null(tm);
    tm->fe = fe;
    tm->cb = cb;
    tm->arg = arg;
    tm->next = fe->timers;
    fe->timers = tm;
    return tm;
}

static void
env_timer_arm(struct follow_timer *tm, uint64_t ms)
{
    tm->armed = 1;
    tm->due = tm->fe->mono + ms;
    tm->seq = ++tm->fe->seq;
}

static int
env_timer_pending(const struct follow_timer *tm)
{
    return tm->armed;
}

static void
env_timer_free(struct follow_timer *tm)
{
    struct follow_timer **pp;

    if (tm == NULL) {
        return;
    }
    for (pp = &tm->fe->timers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == tm) {
            *pp = tm->next;
            break;
        }
    }
    free(tm);
}

static void
freq_unlink(struct fenv *fe, struct freq *rq)
{
    if (rq->prev != NULL) {
        rq->prev->next = rq->next;
    } else {
        fe->head = rq->next;
    }
    if (rq->next != NULL) {
        rq->next->prev = rq->prev;
    } else {
        fe->tail = rq->prev;
    }
    fe->inflight--;
}

static void
freq_free(struct freq *rq)
{
    free(rq->url);
    free(rq->body);
    free(rq);
}

static struct http_handle *
env_http_request(void *ctx, const struct http_request_opts *o, http_done_cb cb,
                 void *arg)
{
    struct fenv *fe = ctx;
    struct flog *lg = fe->log;
    struct freq *rq;
    uint64_t unit;
    size_t i;

    assert_non_null(o->url);
    assert_non_null(cb);
    if (fe->refuse > 0) {
        fe->refuse--;
        return NULL;
    }
    rq = calloc(1, sizeof(*rq));
    assert_non_null(rq);
    rq->fe = fe;
    rq->cb = cb;
    rq->arg = arg;
    rq->method = o->method;
    rq->url = strdup(o->url);
    assert_non_null(rq->url);
    if (o->body != NULL) {
        rq->body = malloc(o->body_len + 1);
        assert_non_null(rq->body);
        memcpy(rq->body, o->body, o->body_len);
        rq->body[o->body_len] = '\0';
        rq->blen = o->body_len;
    }
    rq->kind = flog_classify(lg, o->method, rq->url, rq->body, rq->blen,
                             fe->mono, &unit);
    lg->counts[rq->kind]++;
    if (lg->nreqs == lg->rcap) {
        lg->rcap = lg->rcap ? lg->rcap * 2 : 1024;
        lg->reqs = realloc(lg->reqs, lg->rcap * sizeof(*lg->reqs));
        assert_non_null(lg->reqs);
    }
    if (getenv("TLW_FOLLOW_TRACE") != NULL) {
        print_message("%8llu req %d %s %s\n",
                      (unsigned long long)(fe->mono - MONO0), rq->kind, rq->url,
                      rq->body ? rq->body : "");
    }
    lg->reqs[lg->nreqs].at = fe->mono;
    lg->reqs[lg->nreqs].kind = rq->kind;
    lg->reqs[lg->nreqs].unit = unit;
    lg->nreqs++;
    /* A plan for this kind, first come first served. */
    for (i = 0; i < lg->nplans; i++) {
        if (lg->plans[i].kind == K_ANY || lg->plans[i].kind == rq->kind) {
            rq->planned = 1;
            rq->plan = lg->plans[i];
            memmove(&lg->plans[i], &lg->plans[i + 1],
                    (lg->nplans - i - 1) * sizeof(lg->plans[0]));
            lg->nplans--;
            break;
        }
    }
    if (!rq->planned && lg->down != HTTP_COMPLETE) {
        rq->planned = 1;
        rq->plan.kind = rq->kind;
        rq->plan.result = lg->down;
        rq->plan.retry_after = -1;
    }
    rq->ready_at = fe->mono;
    if (rq->planned && rq->plan.result == HTTP_ERR_TIMEOUT) {
        rq->ready_at += o->timeout_ms ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    }
    rq->prev = fe->tail;
    if (fe->tail != NULL) {
        fe->tail->next = rq;
    } else {
        fe->head = rq;
    }
    fe->tail = rq;
    if (++fe->inflight > fe->max_inflight) {
        fe->max_inflight = fe->inflight;
    }
    return (struct http_handle *)(void *)rq;
}

static void
env_http_cancel(void *ctx, struct http_handle *h)
{
    struct fenv *fe = ctx;
    struct freq *rq = (struct freq *)(void *)h, *p;

    if (rq == NULL) {
        return;
    }
    for (p = fe->head; p != NULL && p != rq; p = p->next) {
    }
    assert_ptr_equal(p, rq); /* a live handle */
    freq_unlink(fe, rq);
    freq_free(rq);
}

/* As tlw_alert_record: stored with its deliveries, idempotent on its id. */
static int
env_alert_record(void *ctx, int64_t log_id, json_t *alert)
{
    struct fenv *fe = ctx;
    struct store_alert a;
    const char *sinks[1] = {SINK_NAME};
    char *body = notify_alert_render(alert);
    json_t *copy = json_deep_copy(alert);
    int inserted = 0, rc;

    assert_non_null(body);
    assert_non_null(copy);
    memset(&a, 0, sizeof(a));
    a.id = notify_alert_get_id(alert);
    a.type = notify_alert_get_type(alert);
    a.severity = notify_alert_get_severity(alert);
    a.detected_at = fe->wall_ms / 1000;
    a.body = body;
    a.sinks = sinks;
    a.nsinks = 1;
    rc = store_alert_record(fe->env.store, log_id, &a, &inserted);
    free(body);
    json_object_set_new(copy, "_at_ms", json_integer((json_int_t)fe->mono));
    json_object_set_new(copy, "_inserted", json_boolean(inserted));
    json_array_append_new(fe->alerts, copy);
    if (rc == 0) {
        fe->raised[a.severity]++;
        if (inserted) {
            fe->flushes++;
        }
    }
    return rc;
}

static size_t
env_sinks_for(void *ctx, enum notify_severity sev, const char **names,
              size_t cap)
{
    (void)ctx;
    (void)sev;
    if (cap == 0) {
        return 0;
    }
    names[0] = SINK_NAME;
    return 1;
}

static void
env_alert_raised(void *ctx, enum notify_severity sev)
{
    ((struct fenv *)ctx)->raised[sev]++;
}

static void
env_outbox_flush(void *ctx)
{
    ((struct fenv *)ctx)->flushes++;
}

static void
env_done(void *ctx, struct follower *f, int failed)
{
    struct fenv *fe = ctx;

    (void)f;
    fe->done_calls++;
    fe->done_failed = failed;
    fe->done_at = fe->mono;
}

static void
env_fatal(void *ctx, const char *what)
{
    struct fenv *fe = ctx;

    print_message("fatal: %s\n", what);
    fe->fatal_calls++;
    fe->fatal = 1;
}

static int
env_is_fatal(void *ctx)
{
    const struct fenv *fe = ctx;

    return fe->fatal || fe->crash;
}

static const struct follow_env_ops fake_ops = {
    env_mono_ms,      env_wall_s,        env_random,     env_timer_new,
    env_timer_arm,    env_timer_pending, env_timer_free, env_http_request,
    env_http_cancel,  env_alert_record,  env_sinks_for,  env_alert_raised,
    env_outbox_flush, env_done,          env_fatal,      env_is_fatal,
};

/* Answer rq now: remove it from the queue first (the callback may send
 * and cancel others), then call back. */
static void
fe_deliver(struct fenv *fe, struct freq *rq)
{
    struct http_response resp;
    struct fresp r;
    char err[64] = "";

    freq_unlink(fe, rq);
    if (rq->planned && fe->log->down == HTTP_COMPLETE && fe->nthr < MAX_PLANS) {
        fe->thr[fe->nthr].at = fe->mono;
        fe->thr[fe->nthr].nreqs = fe->log->nreqs;
        fe->thr[fe->nthr].status = rq->plan.status;
        fe->nthr++;
    }
    memset(&r, 0, sizeof(r));
    r.retry_after = -1;
    if (rq->planned && rq->plan.result != HTTP_COMPLETE) {
        r.result = rq->plan.result;
        snprintf(err, sizeof(err), "%s (fake)",
                 http_result_str(rq->plan.result));
    } else if (rq->planned) {
        r.result = HTTP_COMPLETE;
        resp_error(&r, rq->plan.status, "planned failure");
        r.retry_after = rq->plan.retry_after;
    } else {
        flog_answer(fe->log, rq->kind, rq->method, rq->url, rq->body, rq->blen,
                    &r);
    }
    memset(&resp, 0, sizeof(resp));
    resp.result = r.result;
    if (r.result == HTTP_COMPLETE) {
        resp.status = r.status;
        resp.body = r.body != NULL ? r.body : "";
        resp.body_len = r.len;
        resp.content_type = r.ctype;
        if (r.retry_after >= 0) {
            resp.has_retry_after = 1;
            resp.retry_after_s = (uint64_t)r.retry_after;
        }
    } else {
        resp.error = err;
    }
    rq->cb(&resp, rq->arg);
    free(r.body);
    freq_free(rq);
}

static struct freq *
fe_pick_ready(struct fenv *fe)
{
    struct freq *rq, *pick = NULL;
    size_t n = 0, k;

    for (rq = fe->head; rq != NULL; rq = rq->next) {
        if (rq->ready_at <= fe->mono) {
            n++;
            if (pick == NULL || fe->order == ORDER_LIFO) {
                pick = rq;
            }
        }
    }
    if (n == 0 || fe->order != ORDER_SHUFFLE) {
        return pick;
    }
    k = (size_t)(fe_rand(fe) % n);
    for (rq = fe->head; rq != NULL; rq = rq->next) {
        if (rq->ready_at <= fe->mono && k-- == 0) {
            return rq;
        }
    }
    return NULL;
}

static struct follow_timer *
fe_next_timer(struct fenv *fe)
{
    struct follow_timer *tm, *best = NULL;

    for (tm = fe->timers; tm != NULL; tm = tm->next) {
        if (tm->armed && (best == NULL || tm->due < best->due ||
                          (tm->due == best->due && tm->seq < best->seq))) {
            best = tm;
        }
    }
    return best;
}

static void
fe_advance(struct fenv *fe, uint64_t ms)
{
    fe->mono += ms;
    fe->wall_ms += (int64_t)ms;
}

/* Run one event due by `end`: a ready answer first, else the earliest
 * timer or answer, the clock moved to it.  0 when nothing is due. */
static int
fe_step(struct fenv *fe, uint64_t end)
{
    struct freq *rq = fe_pick_ready(fe), *p;
    struct follow_timer *tm;
    uint64_t t = UINT64_MAX;

    if (rq != NULL) {
        fe_deliver(fe, rq);
        return 1;
    }
    tm = fe_next_timer(fe);
    if (tm != NULL) {
        t = tm->due;
    }
    for (p = fe->head; p != NULL; p = p->next) {
        if (p->ready_at < t) {
            t = p->ready_at;
            tm = NULL;
        }
    }
    if (t == UINT64_MAX || t > end) {
        return 0;
    }
    if (t > fe->mono) {
        fe_advance(fe, t - fe->mono);
    }
    if (tm != NULL) {
        tm->armed = 0;
        tm->cb(tm->arg);
    }
    return 1;
}

/* ---- the fixture -------------------------------------------------------- */

struct fx {
    int v2;
    int ct; /* proto_ct: an RFC 6962 CT log */
    char dir[512], db[600], trpath[600];
    struct flog *log;
    struct fenv fe;
    struct config_trusted_root *troot;
    struct store *store;
    struct config_log cfg;
    char name[16], url[64];
    struct follower *f;
    struct follower_stats prev; /* of followers freed in this test */
    uint64_t target;            /* for predicates */
    int key_twice; /* the trusted root lists the key twice (two periods) */
};

static const int proto_v1 = 0;
static const int proto_v2 = 1;
static const int proto_ct = 2;

/* trusted_root.json with the fake log's key, for its base URL. */
static void
write_trusted_root(struct fx *x)
{
    char *spki = b64_new(x->log->spki, x->log->spki_len);
    char *lid = b64_new(x->log->log_id, MERKLE_HASH_LEN);
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    json_t *root, *lg;

    lg = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "baseUrl", x->url,
        "hashAlgorithm", "SHA2_256", "publicKey", "rawBytes", spki,
        "keyDetails", x->v2 ? "PKIX_ED25519" : "PKIX_ECDSA_P256_SHA_256",
        "validFor", "start", "2020-01-01T00:00:00Z", "logId", "keyId", lid);
    /* ct: the key under ctlogs only (tlogs empty, as testlog --ct). */
    root =
        json_pack("{s:s, s:[], s:[], s:[], s:[]}", "mediaType",
                  CONFIG_TRUSTED_ROOT_MEDIA_TYPE, "tlogs",
                  "certificateAuthorities", "ctlogs", "timestampAuthorities");
    json_array_append(json_object_get(root, x->ct ? "ctlogs" : "tlogs"), lg);
    if (x->key_twice) {
        /* One key, two validFor periods: 2020-2021, then open. */
        json_t *early = json_deep_copy(lg);
        json_t *vf =
            json_object_get(json_object_get(early, "publicKey"), "validFor");
        json_object_set_new(vf, "end", json_string("2021-01-01T00:00:00Z"));
        vf = json_object_get(json_object_get(lg, "publicKey"), "validFor");
        json_object_set_new(vf, "start", json_string("2021-01-01T00:00:00Z"));
        json_array_insert(json_object_get(root, x->ct ? "ctlogs" : "tlogs"), 0,
                          early);
        json_decref(early);
    }
    json_decref(lg);
    assert_non_null(root);
    assert_int_equal(json_dump_file(root, x->trpath, JSON_INDENT(2)), 0);
    json_decref(root);
    free(spki);
    free(lid);
    x->troot = config_trusted_root_load(x->trpath, err, sizeof(err));
    if (x->troot == NULL) {
        fail_msg("trusted root: %s", err);
    }
}

static int
fx_setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    const char *tmp = getenv("TMPDIR");
    char err[512];

    if (x == NULL) {
        return -1;
    }
    x->v2 = *(const int *)*state == proto_v2;
    x->ct = *(const int *)*state == proto_ct;
    snprintf(x->dir, sizeof(x->dir), "%s/tlw-follow-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(x->dir) == NULL) {
        free(x);
        return -1;
    }
    snprintf(x->db, sizeof(x->db), "%s/state.db", x->dir);
    snprintf(x->trpath, sizeof(x->trpath), "%s/trusted_root.json", x->dir);
    snprintf(x->name, sizeof(x->name), "%s", LOG_NAME);
    snprintf(x->url, sizeof(x->url), "%s",
             x->ct ? CT_URL : (x->v2 ? V2_URL : V1_URL));
    x->log = flog_new(*(const int *)*state);
    write_trusted_root(x);
    x->store = store_open(x->db, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    if (x->store == NULL) {
        fail_msg("store_open: %s", err);
    }

    x->fe.env.ops = &fake_ops;
    x->fe.env.ctx = &x->fe;
    x->fe.env.store = x->store;
    x->fe.env.policy = NULL;
    x->fe.env.troot = x->troot;
    x->fe.env.once = 0;
    x->fe.mono = MONO0;
    x->fe.wall_ms = WALL0;
    x->fe.rng = 0x9e3779b97f4a7c15ULL;
    x->fe.log = x->log;
    x->fe.alerts = json_array();

    x->cfg.name = x->name;
    x->cfg.kind = x->ct   ? CONFIG_LOG_CT
                  : x->v2 ? CONFIG_LOG_REKOR_V2
                          : CONFIG_LOG_REKOR_V1;
    x->cfg.url = x->url;
    x->cfg.poll_interval_ms = 30 * SEC;
    x->cfg.start_latest = 0;
    x->cfg.start_index = 0;
    x->cfg.max_concurrency = 4;
    x->cfg.stale_after_ms = 3600 * SEC;
    x->cfg.unreachable_after_ms = 10 * MIN;
    x->cfg.withhold_after_ms = 30 * SEC;
    *state = x;
    return 0;
}

static void
rm_dir(const char *dir)
{
    struct dirent *de;
    char p[1200];
    DIR *d = opendir(dir);

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int
fx_teardown(void **state)
{
    struct fx *x = *state;
    struct freq *rq, *nx;

    follower_free(x->f);
    /* Requests the follower left behind would be a leak of its own. */
    assert_null(x->fe.head);
    for (rq = x->fe.head; rq != NULL; rq = nx) {
        nx = rq->next;
        freq_free(rq);
    }
    assert_null(x->fe.timers);
    store_close(x->store);
    config_trusted_root_free(x->troot);
    flog_free(x->log);
    json_decref(x->fe.alerts);
    rm_dir(x->dir);
    free(x);
    return 0;
}

static int64_t
fx_now_s(const struct fx *x)
{
    return x->fe.wall_ms / 1000;
}

static void
fx_start(struct fx *x)
{
    char err[512];

    assert_null(x->f);
    x->f = follower_new(&x->fe.env, &x->cfg, err, sizeof(err));
    if (x->f == NULL) {
        fail_msg("follower_new: %s", err);
    }
    follower_start(x->f);
}

static void
fx_stop(struct fx *x)
{
    struct follower_stats st;

    follower_stats(x->f, &st);
    x->prev.entries += st.entries;
    x->prev.requests += st.requests;
    follower_free(x->f);
    x->f = NULL;
    /* Every request of the follower was cancelled or answered. */
    assert_null(x->fe.head);
    assert_null(x->fe.timers);
}

/* Run the follower for ms of fake time (both clocks move). */
static void
fx_run(struct fx *x, uint64_t ms)
{
    uint64_t end = x->fe.mono + ms, at = x->fe.mono;
    unsigned spins = 0;

    while (fe_step(&x->fe, end)) {
        if (x->fe.mono != at) {
            at = x->fe.mono;
            spins = 0;
        } else if (++spins > BUSY_LIMIT) {
            fail_msg("busy loop: %u events at one instant (t=%llu ms)", spins,
                     (unsigned long long)(x->fe.mono - MONO0));
        }
    }
    if (end > x->fe.mono) {
        fe_advance(&x->fe, end - x->fe.mono);
    }
}

/* Run until pred holds (checked after every event) or ms pass; 1 when it
 * held. */
static int
fx_run_until(struct fx *x, uint64_t ms, int (*pred)(struct fx *))
{
    uint64_t end = x->fe.mono + ms, at = x->fe.mono;
    unsigned spins = 0;

    while (!pred(x)) {
        if (!fe_step(&x->fe, end)) {
            if (end > x->fe.mono) {
                fe_advance(&x->fe, end - x->fe.mono);
            }
            return pred(x);
        }
        if (x->fe.mono != at) {
            at = x->fe.mono;
            spins = 0;
        } else if (++spins > BUSY_LIMIT) {
            fail_msg("busy loop at t=%llu ms",
                     (unsigned long long)(x->fe.mono - MONO0));
        }
    }
    return 1;
}

/* The store's view of the followed log (zeroed when it has no row). */
static void
fx_status(struct fx *x, struct store_log_status *st)
{
    int64_t id = 0;

    memset(st, 0, sizeof(*st));
    assert_int_equal(store_log_find(x->store, x->name, x->log->origin, &id), 0);
    if (id != 0) {
        assert_int_equal(store_log_status(x->store, id, st), 0);
    }
}

static uint64_t
fx_cursor(struct fx *x)
{
    struct store_log_status st;

    fx_status(x, &st);
    return st.has_cursor ? st.next_index : 0;
}

static uint64_t
fx_applied(struct fx *x)
{
    struct follower_stats st;

    follower_stats(x->f, &st);
    return st.entries;
}

/* Alerts of type (NULL: all) in the store. */
static int
count_cb(void *arg, const struct store_alert_row *row)
{
    (void)row;
    (*(unsigned *)arg)++;
    return 0;
}

static unsigned
fx_stored_alerts(struct fx *x, const char *type)
{
    struct store_alert_query q;
    unsigned n = 0;

    memset(&q, 0, sizeof(q));
    q.since = INT64_MIN;
    q.until = INT64_MAX;
    q.type = type;
    assert_int_equal(store_alerts_each(x->store, &q, count_cb, &n), 0);
    return n;
}

/* Alerts of type (NULL: all) raised through alert_record, counting
 * repeats of one id. */
static unsigned
fx_raised(struct fx *x, const char *type)
{
    size_t i;
    unsigned n = 0;

    for (i = 0; i < json_array_size(x->fe.alerts); i++) {
        const json_t *a = json_array_get(x->fe.alerts, i);
        if (type == NULL || strcmp(notify_alert_get_type(a), type) == 0) {
            n++;
        }
    }
    return n;
}

/* The first alert of type raised, or NULL (borrowed). */
static json_t *
fx_alert(struct fx *x, const char *type)
{
    size_t i;

    for (i = 0; i < json_array_size(x->fe.alerts); i++) {
        json_t *a = json_array_get(x->fe.alerts, i);
        if (strcmp(notify_alert_get_type(a), type) == 0) {
            return a;
        }
    }
    return NULL;
}

/* Print what was raised (for a failing assertion's context). */
static void
fx_dump_alerts(struct fx *x)
{
    size_t i;

    for (i = 0; i < json_array_size(x->fe.alerts); i++) {
        const json_t *a = json_array_get(x->fe.alerts, i);
        print_message("alert %s: %s\n", notify_alert_get_type(a),
                      json_string_value(json_object_get(a, "summary")));
    }
}

static void
assert_no_alerts(struct fx *x)
{
    if (fx_raised(x, NULL) != 0 || fx_stored_alerts(x, NULL) != 0) {
        fx_dump_alerts(x);
        fail_msg("unexpected alerts: %u raised, %u stored", fx_raised(x, NULL),
                 fx_stored_alerts(x, NULL));
    }
}

/* Requests of kind (K_ANY: all) the log received after the first mark
 * (a count of requests received, x->log->nreqs) and sent no sooner than
 * from (monotonic ms); many are sent at one instant of fake time. */
static unsigned
fx_requests_since(struct fx *x, int kind, size_t mark, uint64_t from)
{
    size_t i;
    unsigned n = 0;

    for (i = mark; i < x->log->nreqs; i++) {
        const struct reqrec *r = &x->log->reqs[i];
        if ((kind == K_ANY || r->kind == kind) && r->at >= from) {
            n++;
        }
    }
    return n;
}

/* The kind that carries entries, and a unit (index or bundle) of them. */
static int
entries_kind(const struct fx *x)
{
    return x->v2 ? K_BUNDLE : K_RETRIEVE; /* ct: get-entries */
}

static int
checkpoint_kind(const struct fx *x)
{
    return x->v2 || x->ct ? K_CHECKPOINT : K_LOG; /* ct: get-sth */
}

/* The first entry index of unit u. */
static uint64_t
unit_first(const struct fx *x, uint64_t u)
{
    return x->v2 || x->ct ? u * 256 : u; /* ct: 256 indexes a unit */
}

/* Grow the log by n entries and sign the new size. */
static void
fx_grow(struct fx *x, uint64_t n)
{
    flog_append(x->log, n, fx_now_s(x));
    flog_publish(x->log);
}

static int
pred_done(struct fx *x)
{
    return x->fe.done_calls > 0;
}

/* Run until the committed cursor reaches the signed size. */
static int
pred_caught_up(struct fx *x)
{
    return fx_cursor(x) == x->log->offset + x->log->cp_size;
}

static int
pred_applied(struct fx *x)
{
    return fx_applied(x) >= x->target;
}

static int
pred_committed(struct fx *x)
{
    return fx_cursor(x) >= x->target;
}

static int
pred_planned(struct fx *x)
{
    return x->fe.nthr >= x->target;
}

/* ---- 1. catch-up ---------------------------------------------------------
 *
 * A log of a few thousand entries is followed to its checkpoint: every
 * entry applied once, the cursor at the size, the root checked, no alert;
 * then it grows (a consistency proof, or tiles) and is followed again; then
 * idle, one checkpoint request per poll. */
static void
test_catch_up(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    struct follower_stats fs;
    size_t mark;

    fx_grow(x, 3000);
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.next_index, 3000);
    assert_int_equal(st.verified_size, 3000);
    assert_true(st.root_checks_passed >= 1);
    assert_int_equal(st.entries_scanned, 3000);
    follower_stats(x->f, &fs);
    assert_int_equal(fs.entries, 3000); /* nothing applied twice */
    assert_no_alerts(x);

    fx_grow(x, 1234);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.next_index, 4234);
    assert_int_equal(st.verified_size, 4234);
    assert_true(st.checkpoints_verified >= 2);
    if (x->v2) {
        assert_true(x->log->counts[K_TILE] >= 1);
    } else {
        assert_int_equal(x->log->counts[K_PROOF], 1);
        assert_true(st.proofs_verified >= 1);
    }
    assert_int_equal(st.entries_scanned, 4234);
    follower_stats(x->f, &fs);
    assert_int_equal(fs.entries, 4234);

    /* Idle: a checkpoint per poll interval (30 s, +-10%), nothing else. */
    mark = x->log->nreqs;
    fx_run(x, 10 * MIN);
    assert_in_range(fx_requests_since(x, checkpoint_kind(x), mark, 0), 17, 23);
    /* And no entry request: at the verified size there is nothing to
     * read (v2 once read the partial bundle at the cursor again). */
    assert_int_equal(fx_requests_since(x, entries_kind(x), mark, 0), 0);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(x->log->counts[K_OTHER], 0);
}

/* The trusted root lists the log's key twice (two validFor periods of
 * one key): one verifier key, not an ambiguous pair; caught up, no
 * alert, no error. */
static void
test_key_twice(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    config_trusted_root_free(x->troot);
    x->key_twice = 1;
    write_trusted_root(x);
    x->fe.env.troot = x->troot;
    if (x->ct) {
        assert_int_equal(config_trusted_root_ntlogs(x->troot), 0);
        assert_true(config_trusted_root_ctlog(x->troot, 1)->dup);
    } else {
        assert_int_equal(config_trusted_root_ntlogs(x->troot), 2);
        assert_true(config_trusted_root_tlog(x->troot, 1)->dup);
    }
    fx_grow(x, 100);
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.next_index, 100);
    assert_int_equal(st.verified_size, 100);
    assert_true(st.root_checks_passed >= 1);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* Negative twin: one served body differs from the leaf the log signed;
 * log.entries_mismatch, and the cursor does not pass it.  When the log
 * serves the right body again, the next cycle catches up. */
static void
test_catch_up_tampered(void **state)
{
    struct fx *x = *state;

    fx_grow(x, 1500);
    flog_tamper(x->log, 700);
    fx_start(x);
    fx_run(x, 40 * SEC);
    assert_int_equal(fx_stored_alerts(x, "log.entries_mismatch"), 1);
    assert_true(fx_cursor(x) <= 700);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(x->fe.fatal_calls, 0);

    x->log->ntamper = 0;
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
}

/* Negative twin: a checkpoint whose signature (by the pinned key's id)
 * does not verify: log.bad_signature, nothing recorded; once the log
 * signs properly, it is followed. */
static void
test_bad_signature(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    x->log->sign_wrong = 1;
    fx_grow(x, 300);
    fx_start(x);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, "log.bad_signature"), 1);
    fx_status(x, &st);
    assert_false(st.has_checkpoint);
    assert_int_equal(x->log->counts[entries_kind(x)], 0);

    x->log->sign_wrong = 0;
    flog_publish(x->log);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
}

/* ---- 2. a withheld unit ------------------------------------------------- */

static uint64_t
withheld_size(const struct fx *x)
{
    return x->v2 || x->ct ? 1000 : 2000;
}

static uint64_t
withheld_unit(const struct fx *x)
{
    return x->v2 || x->ct ? 2 : 1234; /* v2, ct: entries 512..767 */
}

/* The log never returns one unit a verified checkpoint commits to:
 * exactly one log.entries_withheld once it has been missing for
 * withhold_after (and not before), with its evidence; about one request
 * per backoff step; the cursor waits at the gap.  When the log returns
 * it, the cursor moves on and nothing more is raised. */
static void
test_withheld(void **state)
{
    struct fx *x = *state;
    uint64_t unit = withheld_unit(x), first = unit_first(x, unit);
    uint64_t t_first, asks;
    json_t *a, *ev;
    char *t;

    fx_grow(x, withheld_size(x));
    flog_drop(x->log, unit);
    fx_start(x);
    fx_run(x, 5 * SEC);
    assert_int_equal(fx_applied(x), first);
    assert_true(fx_cursor(x) <= first);
    assert_true(flog_asked(x->log, unit) >= 1);
    t_first = x->log->first_ask_ms[unit];
    /* The entries after the gap are read all the same (look-ahead). */
    assert_true(flog_asked(x->log, unit + (x->v2 || x->ct ? 1 : 50)) >= 1);

    /* Not before withhold_after. */
    fx_run(x, t_first + x->cfg.withhold_after_ms - 1 - x->fe.mono);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 0);
    assert_int_equal(fx_applied(x), first);

    /* Within one backoff step (60 s at most) after it. */
    fx_run(x, 61 * SEC);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 1);
    assert_int_equal(fx_stored_alerts(x, "log.entries_withheld"), 1);
    a = fx_alert(x, "log.entries_withheld");
    assert_int_equal(notify_alert_get_severity(a), NOTIFY_CRITICAL);
    assert_in_range(json_integer_value(json_object_get(a, "_at_ms")) - t_first,
                    x->cfg.withhold_after_ms,
                    x->cfg.withhold_after_ms + 60 * SEC);
    ev = json_object_get(a, "evidence");
    assert_int_equal(json_integer_value(json_object_get(ev, "log_index")),
                     first);
    assert_true(json_integer_value(json_object_get(ev, "attempts")) >= 5);
    assert_true(json_is_string(json_object_get(ev, "first_attempt")));
    assert_true(json_is_string(json_object_get(ev, "last_attempt")));
    assert_int_equal(json_integer_value(json_object_get(ev, "last_status")),
                     x->v2 ? 404 : 200);
    if (x->ct) {
        /* ctleaf's STH evidence: the get-sth answer with the log id */
        assert_non_null(
            strstr(json_string_value(json_object_get(ev, "checkpoint")),
                   strstr(x->log->note, "\"sha256_root_hash\"")));
    } else {
        assert_string_equal(
            json_string_value(json_object_get(ev, "checkpoint")), x->log->note);
    }
    t = dumps(json_object_get(a, "log"));
    assert_non_null(strstr(t, x->log->origin));
    free(t);

    /* Ten minutes of it: about one request per backoff step (500 ms
     * doubling to 60 s: 8 in the first 64 s, then one a minute). */
    fx_run(x, t_first + 10 * MIN - x->fe.mono);
    asks = flog_asked(x->log, unit);
    print_message("unit %llu asked %llu times in 10 min\n",
                  (unsigned long long)unit, (unsigned long long)asks);
    assert_in_range(asks, 12, 20);
    assert_true(fx_requests_since(x, K_ANY, 0, x->fe.mono - MIN) < 200);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 1);
    assert_int_equal(fx_applied(x), first);
    assert_true(fx_cursor(x) <= first);
    assert_int_equal(x->fe.done_calls, 0);
    /* The watch goes on meanwhile: checkpoints are read every poll. */
    assert_true(fx_requests_since(x, checkpoint_kind(x), 0, t_first) >= 15);

    /* The log returns it: the cursor moves on, nothing new is raised. */
    flog_undrop(x->log);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), withheld_size(x));
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 1);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* once: the follower reports done(failed) once the unit has been missing
 * for unreachable_after (not before), the cursor committed up to the gap;
 * it asks nothing after. */
static void
test_withheld_once(void **state)
{
    struct fx *x = *state;
    uint64_t unit = withheld_unit(x), first = unit_first(x, unit);
    uint64_t t_first, n;

    x->fe.env.once = 1;
    x->cfg.unreachable_after_ms = 2 * MIN;
    fx_grow(x, withheld_size(x));
    flog_drop(x->log, unit);
    fx_start(x);
    fx_run(x, 5 * SEC);
    t_first = x->log->first_ask_ms[unit];
    assert_true(t_first > 0);
    fx_run(x, t_first + x->cfg.unreachable_after_ms - 1 - x->fe.mono);
    assert_int_equal(x->fe.done_calls, 0);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 1);

    assert_true(fx_run_until(x, 61 * SEC, pred_done));
    assert_int_equal(x->fe.done_calls, 1);
    assert_int_equal(x->fe.done_failed, 1);
    assert_in_range(x->fe.done_at - t_first, x->cfg.unreachable_after_ms,
                    x->cfg.unreachable_after_ms + 60 * SEC);
    assert_int_equal(fx_applied(x), first);
    assert_true(fx_cursor(x) <= first);

    n = x->log->nreqs;
    fx_run(x, 10 * MIN);
    assert_int_equal(x->log->nreqs, n);
    assert_int_equal(x->fe.done_calls, 1);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* While a unit is withheld, the log signs a fork (its size with another
 * root), then a rollback: log.inconsistent, log.rollback, each within a
 * few polls.  A withheld entry stops the cursor, not the watch: both
 * protocols keep reading checkpoints while they wait (v2 once did not,
 * so a log withholding one bundle could fork unseen). */
static void
test_withheld_fork(void **state)
{
    struct fx *x = *state;
    uint8_t other[MERKLE_HASH_LEN], smaller[MERKLE_HASH_LEN];

    fx_grow(x, withheld_size(x));
    flog_drop(x->log, withheld_unit(x));
    fx_start(x);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, "log.entries_withheld"), 1);

    memset(other, 0x42, sizeof(other));
    flog_fake(x->log, x->log->cp_size, other);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 1);

    mt_root(&x->log->t, x->log->cp_size - 10, smaller);
    flog_fake(x->log, x->log->cp_size - 10, smaller);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, "log.rollback"), 1);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* once gives up on a withheld unit (exit 3) and commits the cursor up to
 * the gap: only entries proven against the signed root may be behind it.
 * Here the log serves, before the gap, an entry that is not its tree's
 * (v1: the id and body of index 7 claiming index 5; v2: a tampered body
 * in bundle 0), then withholds a later unit.  Nothing can prove those
 * entries (the signed root is only reached past the gap), so the
 * committed cursor must not pass them; when the log is honest again, the
 * next run catches up, with no log.entries_mismatch.  (The give-up once
 * committed the in-memory cursor with the compact range of the unproven
 * entries, and every later run stayed stuck on log.entries_mismatch.) */
static void
test_withheld_once_unproven(void **state)
{
    struct fx *x = *state;

    x->fe.env.once = 1;
    x->cfg.unreachable_after_ms = 2 * MIN;
    fx_grow(x, withheld_size(x));
    flog_drop(x->log, withheld_unit(x));
    if (x->v2) {
        flog_tamper(x->log, 5);
    } else {
        flog_misdirect(x->log, 5, 7, -1, 1);
    }
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_done));
    assert_int_equal(x->fe.done_failed, 1);
    assert_true(fx_cursor(x) <= 5);
    fx_stop(x);

    x->fe.env.once = 0;
    flog_undrop(x->log);
    x->log->ntamper = 0;
    x->log->nmis = 0;
    fx_start(x);
    assert_true(fx_run_until(x, 3 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, "log.entries_mismatch"), 0);
}

/* v1: the look-ahead past a withheld index is bounded by bytes, not only
 * by the reorder ring: with 100 KB entries, what is asked ahead stays
 * within FOLLOW_LOOKAHEAD_BYTES (8 MiB: ~80 entries) plus one window of
 * requests in flight, below the ring's 160 entries and the log's end. */
static void
test_lookahead_bytes(void **state)
{
    struct fx *x = *state;
    uint64_t u, last = 0, ring;

    x->cfg.max_concurrency = 4;
    ring = (uint64_t)x->cfg.max_concurrency * FOLLOW_BATCH * 4;
    x->log->pad = 100 * 1024;
    fx_grow(x, 200);
    flog_drop(x->log, 20);
    fx_start(x);
    fx_run(x, 20 * SEC);
    for (u = 0; u < 200; u++) {
        if (flog_asked(x->log, u) > 0) {
            last = u;
        }
    }
    print_message("asked up to index %llu past the gap at 20 (ring %llu)\n",
                  (unsigned long long)last, (unsigned long long)ring);
    assert_true(last > 20);
    assert_true(last <= 20 + FOLLOW_LOOKAHEAD_BYTES / x->log->pad +
                            x->cfg.max_concurrency * FOLLOW_BATCH + 10);
    assert_true(last < 20 + ring);

    flog_undrop(x->log);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), 200);
    assert_no_alerts(x);
}

/* Requests that cannot start (http_request returns NULL) are an error
 * like any other: no busy loop, no fatal; the catch-up completes once
 * they can. */
static void
test_cannot_start(void **state)
{
    struct fx *x = *state;

    fx_grow(x, 1000);
    x->fe.refuse = 3;
    fx_start(x);
    fx_run(x, 5 * SEC);
    x->fe.refuse = 5;
    assert_true(fx_run_until(x, 3 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), 1000);
    assert_int_equal(x->fe.refuse, 0);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(fx_stored_alerts(x, NULL), 0);
}

/* ---- 3. other indexes, duplicates, reordering ---------------------------
 *
 * v1: entries for other indexes (in the same request and outside it),
 * every entry twice, each answer reversed, answers delivered newest first
 * and then shuffled: the cursor advances over every index once, nothing
 * applied twice, no alert.  v2: bundles answered newest first, then
 * shuffled. */
static void
test_reorder(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    fx_grow(x, x->v2 ? 2600 : 1000);
    if (!x->v2) {
        flog_misdirect(x->log, 100, 105, 3, 0); /* same request */
        flog_misdirect(x->log, 200, 900, 2, 0); /* another one */
        flog_misdirect(x->log, 999, 0, 1, 0);   /* behind the cursor */
        x->log->dup = 1;
        x->log->reverse = 1;
    }
    x->fe.order = ORDER_LIFO;
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), x->log->cp_size);
    if (!x->v2) {
        assert_true(flog_asked(x->log, 100) >= 4);
        assert_true(flog_asked(x->log, 200) >= 3);
    }
    assert_true(x->fe.max_inflight >= 2);

    x->fe.order = ORDER_SHUFFLE;
    fx_grow(x, 1000);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.entries_scanned, x->log->cp_size);
    assert_int_equal(fx_applied(x), x->log->cp_size);
    assert_true(st.root_checks_passed >= 2);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* Negative twin (v1): an entry that claims an index it is not (the body
 * and id of another entry) is caught by the root check:
 * log.entries_mismatch, the cursor does not pass the signed size; an
 * honest answer later is followed.  (v2: another bundle's bytes answered
 * for a bundle, the same verdict.) */
static void
test_reorder_lie(void **state)
{
    struct fx *x = *state;

    fx_grow(x, 1500);
    if (x->v2) {
        flog_misdirect(x->log, 1, 2, 1, 0);
    } else {
        flog_misdirect(x->log, 100, 105, 1, 1);
    }
    x->fe.order = ORDER_LIFO;
    fx_start(x);
    fx_run(x, 20 * SEC);
    assert_int_equal(fx_stored_alerts(x, "log.entries_mismatch"), 1);
    assert_true(fx_cursor(x) < 1500);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* The evidence text ev names the head the log served (served: its note,
 * or for ct its get-sth answer, which the evidence carries with the log
 * id: the same size, timestamp, root and signature bytes). */
static void
assert_same_head(const struct fx *x, const char *ev, const char *served)
{
    struct ctleaf_sth a, b;
    uint8_t id[CTLEAF_HASH_LEN];
    char err[CTLEAF_ERR_LEN];

    assert_non_null(ev);
    assert_non_null(served);
    if (!x->ct) {
        assert_string_equal(ev, served);
        return;
    }
    assert_int_equal(
        ctleaf_sth_evidence_parse(ev, strlen(ev), &a, id, err, sizeof(err)), 0);
    assert_int_equal(
        ctleaf_sth_parse(served, strlen(served), &b, err, sizeof(err)), 0);
    assert_true(a.tree_size == b.tree_size && a.timestamp == b.timestamp);
    assert_memory_equal(a.root_hash, b.root_hash, CTLEAF_HASH_LEN);
    assert_int_equal(a.tls_sig_len, b.tls_sig_len);
    assert_memory_equal(a.tls_sig, b.tls_sig, a.tls_sig_len);
}

/* ---- 4. impossible checkpoints ------------------------------------------
 *
 * A validly signed checkpoint of size 2^64-1, then 2^63: log.inconsistent
 * with the note as evidence, once per note; never fatal; the verified
 * checkpoint and the cursor stay; polling goes on, and a later good
 * checkpoint is followed. */
static void
test_impossible(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    char *good;
    json_t *a, *ev;
    size_t mark;

    fx_grow(x, 500);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    good = strdup(x->log->note);
    assert_non_null(good);

    flog_impossible(x->log, UINT64_MAX);
    mark = x->log->nreqs;
    fx_run(x, 2 * MIN);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 1);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    a = fx_alert(x, "log.inconsistent");
    assert_non_null(a);
    assert_int_equal(notify_alert_get_severity(a), NOTIFY_CRITICAL);
    ev = json_object_get(a, "evidence");
    assert_same_head(x,
                     json_string_value(json_object_get(ev, "new_checkpoint")),
                     x->log->fake_note);
    assert_same_head(
        x, json_string_value(json_object_get(ev, "old_checkpoint")), good);
    fx_status(x, &st);
    assert_int_equal(st.verified_size, 500);
    assert_int_equal(st.next_index, 500);
    assert_in_range(fx_requests_since(x, checkpoint_kind(x), mark, 0), 3, 6);
    assert_int_equal(fx_requests_since(x, entries_kind(x), mark, 0), 0);

    flog_impossible(x->log, (uint64_t)1 << 63);
    fx_run(x, 2 * MIN);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 2);
    fx_status(x, &st);
    assert_int_equal(st.verified_size, 500);
    assert_int_equal(st.next_index, 500);

    flog_impossible(x->log, 0);
    fx_grow(x, 100);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.verified_size, 600);
    assert_int_equal(fx_stored_alerts(x, NULL), 2);
    assert_int_equal(x->fe.fatal_calls, 0);
    free(good);
}

/* The same as the first checkpoint a follower ever sees: nothing is
 * recorded from it; the good one after it is followed from scratch. */
static void
test_impossible_first(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    fx_grow(x, 300);
    flog_impossible(x->log, UINT64_MAX);
    fx_start(x);
    fx_run(x, 2 * MIN);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 1);
    fx_status(x, &st);
    assert_false(st.has_checkpoint);
    assert_int_equal(x->log->counts[entries_kind(x)], 0);

    flog_impossible(x->log, 0);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
}

/* v1: the treeSize field beyond int64 too (2^64-1 written as a JSON
 * integer, which production's int64 cannot say and a JSON reader without
 * big integers refuses): the signed note in the document is still judged,
 * log.inconsistent with it as evidence; never fatal, nothing recorded,
 * polling paced; the good checkpoint after it is followed. */
static void
test_impossible_raw(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    json_t *a;
    size_t mark;

    fx_grow(x, 500);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    x->log->fake_raw_size = 1;
    flog_impossible(x->log, UINT64_MAX);
    mark = x->log->nreqs;
    fx_run(x, 10 * MIN);
    assert_int_equal(x->fe.fatal_calls, 0);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 1);
    a = fx_alert(x, "log.inconsistent");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(a, "evidence"), "new_checkpoint")),
                        x->log->fake_note);
    fx_status(x, &st);
    assert_int_equal(st.verified_size, 500);
    assert_int_equal(st.next_index, 500);
    assert_in_range(fx_requests_since(x, K_ANY, mark, 0), 17, 23);

    flog_impossible(x->log, 0);
    fx_grow(x, 10);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
}

/* ---- 5. clock steps ------------------------------------------------------
 *
 * The wall clock stepped by days, forwards and backwards, while the log is
 * healthy and growing (and fails now and then, with a step between two
 * failures): no log.unreachable, no log.stale. */
static void
test_clock_steps(void **state)
{
    struct fx *x = *state;
    unsigned k;

    x->cfg.unreachable_after_ms = 5 * MIN;
    x->cfg.stale_after_ms = 15 * MIN;
    fx_grow(x, 300);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    for (k = 0; k < 12; k++) {
        static const int64_t step[] = {3 * DAY, -6 * DAY, 2 * DAY, DAY / 2};
        fx_run(x, 2 * MIN);
        x->fe.wall_ms += step[k % 4];
        fx_grow(x, 10);
        if (k % 3 == 0) {
            /* Two checkpoint failures in a row, the wall clock stepped
             * between them. */
            flog_plan(x->log, checkpoint_kind(x), HTTP_ERR_TRANSPORT, 0, -1, 2);
            unsigned waited = 0;
            x->target = x->log->counts[checkpoint_kind(x)];
            while (x->log->counts[checkpoint_kind(x)] == x->target) {
                assert_true(++waited < 120);
                fx_run(x, SEC);
            }
            x->fe.wall_ms += 30 * DAY;
        }
    }
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    if (fx_raised(x, NULL) != 0) {
        fx_dump_alerts(x);
    }
    assert_int_equal(fx_raised(x, "log.unreachable"), 0);
    assert_int_equal(fx_raised(x, "log.stale"), 0);
    assert_no_alerts(x);
}

/* Negative twin: a real outage (no answer: every request times out) of
 * unreachable_after on the monotonic clock raises log.unreachable, a
 * backwards wall step during it notwithstanding; a log that does not grow
 * for stale_after raises log.stale.  When it answers again, it is
 * followed. */
static void
test_outage(void **state)
{
    struct fx *x = *state;
    uint64_t t0;
    json_t *a;

    x->cfg.unreachable_after_ms = 5 * MIN;
    x->cfg.stale_after_ms = 15 * MIN;
    fx_grow(x, 300);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    x->log->down = HTTP_ERR_TIMEOUT;
    t0 = x->fe.mono;
    fx_run(x, 2 * MIN);
    x->fe.wall_ms -= 3 * DAY;
    fx_run(x, 3 * MIN);
    assert_int_equal(fx_raised(x, "log.unreachable"), 0);
    fx_run(x, 2 * MIN + 30 * SEC);
    assert_true(fx_raised(x, "log.unreachable") >= 1);
    assert_int_equal(fx_stored_alerts(x, "log.unreachable"), 1);
    a = fx_alert(x, "log.unreachable");
    assert_in_range(json_integer_value(json_object_get(a, "_at_ms")) - t0,
                    5 * MIN, 7 * MIN + 30 * SEC);
    /* One request at a time while nothing answers. */
    assert_true(x->fe.max_inflight <= 8);
    assert_int_equal(fx_raised(x, "log.stale"), 0);
    fx_run(x, 10 * MIN);
    assert_true(fx_raised(x, "log.stale") >= 1);
    assert_int_equal(fx_stored_alerts(x, "log.stale"), 1);

    x->log->down = HTTP_COMPLETE;
    fx_grow(x, 50);
    assert_true(fx_run_until(x, 3 * MIN, pred_caught_up));
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* ---- start points ---------------------------------------------------------
 *
 * start: <index> and start: latest: the cursor is seeded from the
 * inclusion proof of the preceding leaf (v1, GET entries?logIndex=) or
 * from the hash tiles (v2), checked against the signed root; only the
 * entries from the start point on are read. */
static void
test_start_index(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    x->cfg.start_index = 1000;
    fx_grow(x, 3000);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), 2000);
    if (x->ct) {
        /* the leaf at 999 and its audit path, then 1000.. */
        assert_int_equal(x->log->counts[K_PROOF], 1);
        assert_int_equal(flog_asked(x->log, 2), 0); /* 512..767 */
        assert_int_equal(flog_asked(x->log, 3), 2); /* 999, 1000..1023 */
    } else if (!x->v2) {
        assert_int_equal(x->log->counts[K_ENTRY], 1);
        assert_int_equal(flog_asked(x->log, 999), 0);
        assert_int_equal(flog_asked(x->log, 1000), 1);
    } else {
        assert_int_equal(flog_asked(x->log, 2), 0); /* bundle of 512.. */
        assert_int_equal(flog_asked(x->log, 3), 1); /* 768..1023 */
    }
    fx_status(x, &st);
    assert_int_equal(st.entries_scanned, 2000);
    assert_true(st.root_checks_passed >= 1);
    assert_no_alerts(x);
}

static void
test_start_latest(void **state)
{
    struct fx *x = *state;

    x->cfg.start_latest = 1;
    fx_grow(x, 3000);
    fx_start(x);
    x->target = 3000;
    assert_true(fx_run_until(x, 2 * MIN, pred_committed));
    assert_int_equal(fx_applied(x), 0);
    fx_grow(x, 700);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), 700);
    assert_no_alerts(x);
}

/* Negative twin (v1): the seed entry is not the log's (its body is
 * tampered, so its leaf is not in the tree its proof names): no cursor is
 * seeded, nothing is read; with the right entry, the next poll seeds. */
static void
test_start_bad_seed(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    x->cfg.start_index = 1000;
    fx_grow(x, 3000);
    flog_tamper(x->log, 999);
    fx_start(x);
    fx_run(x, 2 * MIN);
    fx_status(x, &st);
    assert_false(st.has_cursor);
    assert_int_equal(x->log->counts[K_RETRIEVE], 0);
    assert_true(x->log->counts[K_ENTRY] >= 2);
    x->log->ntamper = 0;
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), 2000);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* ---- 6. pacing: 429 and 5xx ----------------------------------------------
 *
 * 429 with Retry-After: 7 on the first entries request: no entries
 * request before 7 s of fake time, the window halves and grows back. */
static void
test_throttle_429(void **state)
{
    struct fx *x = *state;
    struct follower_stats fs;
    size_t i, mark;
    uint64_t t429;

    x->cfg.max_concurrency = 8;
    fx_grow(x, x->v2 ? 256 * 12 : 1200);
    flog_plan(x->log, entries_kind(x), HTTP_COMPLETE, 429, 7, 1);
    fx_start(x);
    x->target = 1;
    assert_true(fx_run_until(x, MIN, pred_planned));
    t429 = x->fe.thr[0].at;
    mark = x->fe.thr[0].nreqs;
    follower_stats(x->f, &fs);
    assert_int_equal(fs.window, 4);
    assert_int_equal(fs.throttled, 1);

    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    for (i = mark; i < x->log->nreqs; i++) {
        if (x->log->reqs[i].kind == entries_kind(x)) {
            assert_true(x->log->reqs[i].at >= t429 + 7 * SEC);
        }
    }
    assert_true(fx_requests_since(x, entries_kind(x), mark, 0) >= 1);
    follower_stats(x->f, &fs);
    assert_int_equal(fs.window, 8);
    assert_int_equal(fs.window_min, 4);
    assert_no_alerts(x);
}

/* 429 with Retry-After: 45, longer than the poll interval, on the
 * checkpoint: the next checkpoint request waits for it. */
static void
test_throttle_checkpoint(void **state)
{
    struct fx *x = *state;
    size_t i, mark;
    uint64_t t429;

    fx_grow(x, 300);
    fx_start(x);
    assert_true(fx_run_until(x, MIN, pred_caught_up));
    flog_plan(x->log, checkpoint_kind(x), HTTP_COMPLETE, 429, 45, 1);
    x->target = 1;
    assert_true(fx_run_until(x, MIN, pred_planned));
    t429 = x->fe.thr[0].at;
    mark = x->fe.thr[0].nreqs;
    fx_run(x, 2 * MIN);
    assert_true(x->log->nreqs > mark);
    for (i = mark; i < x->log->nreqs; i++) {
        assert_true(x->log->reqs[i].at >= t429 + 45 * SEC);
    }
    assert_no_alerts(x);
}

/* Three 503s in a row: the window halves each time (8, 4, 2, 1), a pause
 * of at least half the backoff after each, then the window grows back to
 * max_concurrency; the catch-up completes without an alert. */
static void
test_throttle_5xx(void **state)
{
    struct fx *x = *state;
    struct follower_stats fs;
    size_t k, i;

    x->cfg.max_concurrency = 8;
    fx_grow(x, x->v2 ? 256 * 24 : 1200);
    fx_start(x);
    /* The first entries requests are out: fail the next three. */
    while (x->log->counts[entries_kind(x)] == 0) {
        assert_true(fe_step(&x->fe, x->fe.mono + MIN));
    }
    flog_plan(x->log, entries_kind(x), HTTP_COMPLETE, 503, -1, 3);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    assert_int_equal(x->fe.nthr, 3);
    for (k = 0; k < x->fe.nthr; k++) {
        /* After a throttle, the next entries request waits at least
         * half of the backoff (500 ms << streak, halved by jitter). */
        for (i = x->fe.thr[k].nreqs; i < x->log->nreqs; i++) {
            if (x->log->reqs[i].kind == entries_kind(x)) {
                assert_true(x->log->reqs[i].at >= x->fe.thr[k].at + 250);
                break;
            }
        }
    }
    follower_stats(x->f, &fs);
    assert_true(fs.throttled >= 3);
    assert_int_equal(fs.window_min, 1);
    assert_int_equal(fs.window, 8);
    assert_int_equal(fx_applied(x), x->log->cp_size);
    assert_no_alerts(x);
}

/* ---- 7. commit points and resume ------------------------------------------
 *
 * A crash point: the follower goes away after its first commit (4096)
 * without committing anything more (the environment reports a fatal
 * state, so follower_free writes nothing: what a killed process leaves).
 * A new follower on the same store resumes at the committed cursor: it
 * asks for nothing below it, applies exactly the rest, no alert. */
/* One commit point (4096) inside, and more entries after it than a
 * follower holds ahead (v1: its reorder ring, 160 entries here; v2: 8
 * bundles), so that the commit and the end are separate events. */
#define RESUME_SIZE (x->v2 ? 6500 : 4400)

static uint64_t *
snapshot_asks(const struct flog *lg, uint64_t units)
{
    uint64_t *s = calloc(units + 1, sizeof(*s)), u;

    assert_non_null(s);
    for (u = 0; u < units; u++) {
        s[u] = flog_asked(lg, u);
    }
    return s;
}

static void
test_resume_crash(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    uint64_t c1, u, units, *before;

    fx_grow(x, RESUME_SIZE);
    fx_start(x);
    x->target = 1;
    assert_true(fx_run_until(x, 5 * MIN, pred_committed));
    c1 = fx_cursor(x);
    assert_int_equal(c1, FOLLOW_COMMIT_EVERY);
    assert_true(fx_applied(x) >= c1);
    assert_true(fx_applied(x) < RESUME_SIZE);

    x->fe.crash = 1;
    fx_stop(x);
    x->fe.crash = 0;
    assert_int_equal(fx_cursor(x), c1);

    units = x->v2 || x->ct ? (c1 + 255) / 256 : c1;
    before = snapshot_asks(x->log, units);
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    for (u = 0; u < units; u++) {
        if (flog_asked(x->log, u) != before[u]) {
            fail_msg("unit %llu asked %llu times, was %llu",
                     (unsigned long long)u,
                     (unsigned long long)flog_asked(x->log, u),
                     (unsigned long long)before[u]);
        }
    }
    free(before);
    assert_int_equal(fx_applied(x), RESUME_SIZE - c1);
    fx_status(x, &st);
    assert_int_equal(st.entries_scanned, RESUME_SIZE);
    assert_int_equal(st.verified_size, RESUME_SIZE);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* A clean stop mid-catch-up (follower_free commits nothing unproven: what
 * was applied past the last commit point, proven by the tiles (v2) or the
 * inclusion proof at it (v1), is dropped): the next follower resumes
 * exactly there. */
static void
test_resume_clean(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    uint64_t c1, applied;

    fx_grow(x, RESUME_SIZE);
    fx_start(x);
    x->target = FOLLOW_COMMIT_EVERY + 150;
    assert_true(fx_run_until(x, 5 * MIN, pred_applied));
    applied = fx_applied(x);
    assert_true(applied < RESUME_SIZE);
    fx_stop(x);
    c1 = fx_cursor(x);
    assert_int_equal(c1, FOLLOW_COMMIT_EVERY);
    assert_true(applied > c1);

    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    assert_int_equal(fx_applied(x), RESUME_SIZE - c1);
    fx_status(x, &st);
    assert_int_equal(st.entries_scanned, RESUME_SIZE);
    assert_no_alerts(x);
}

/* A crash while a unit is withheld (after its alert): the next follower
 * raises the same alert again, which the store keeps once; when the log
 * returns the unit, it catches up.  No gap, no duplicate. */
static void
test_resume_withheld(void **state)
{
    struct fx *x = *state;
    uint64_t unit = x->v2 ? 17 : 4300; /* v2: 4352..4607 */

    fx_grow(x, RESUME_SIZE);
    flog_drop(x->log, unit);
    fx_start(x);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 1);
    assert_int_equal(fx_cursor(x), FOLLOW_COMMIT_EVERY);

    x->fe.crash = 1;
    fx_stop(x);
    x->fe.crash = 0;
    fx_start(x);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_raised(x, "log.entries_withheld"), 2);
    assert_int_equal(fx_stored_alerts(x, "log.entries_withheld"), 1);
    assert_int_equal(fx_applied(x), unit_first(x, unit) - FOLLOW_COMMIT_EVERY);

    flog_undrop(x->log);
    assert_true(fx_run_until(x, 3 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(fx_applied(x), RESUME_SIZE - FOLLOW_COMMIT_EVERY);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* ---- 8. commit points between verified sizes (v1) ------------------------
 *
 * Between two verified sizes the v1 follower commits every
 * FOLLOW_COMMIT_EVERY entries, and only a proven cursor: the entry before
 * the commit point is read again with its inclusion proof
 * (GET entries?logIndex=), which gives the compact range of the signed
 * tree there; the follower's range must be the same.  One extra request
 * per commit point.  (The follower once committed there unchecked: a log
 * serving another index's entry before a commit point got its leaf into
 * the committed range, and the follower stayed stuck on
 * log.entries_mismatch at the verified size, even once the log was
 * honest again.) */
#define CHECK_SIZE 9000 /* two commit points (4096, 8192), then the end */

/* The logIndex of every GET entries?logIndex= request, in order. */
static size_t
entry_requests(const struct fx *x, uint64_t *out, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < x->log->nreqs; i++) {
        if (x->log->reqs[i].kind == K_ENTRY) {
            if (n < cap) {
                out[n] = x->log->reqs[i].unit;
            }
            n++;
        }
    }
    return n;
}

/* The log serves, at index lie, the real entry of index 100 (its id and
 * body, so its leaf hash is its id's): the commit-point check finds the
 * range is not the signed tree's: log.entries_mismatch with evidence, no
 * commit past the lie; once the log is honest, the next cycle catches up
 * with no other alert. */
static void
commit_point_lie(struct fx *x, uint64_t lie)
{
    struct store_log_status st;
    json_t *a, *ev;
    size_t mark;

    fx_grow(x, CHECK_SIZE);
    flog_misdirect(x->log, lie, 100, -1, 1);
    fx_start(x);
    fx_run(x, 2 * MIN);
    if (fx_stored_alerts(x, "log.entries_mismatch") != 1) {
        fx_dump_alerts(x);
    }
    assert_int_equal(fx_stored_alerts(x, "log.entries_mismatch"), 1);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_true(fx_cursor(x) <= lie);
    a = fx_alert(x, "log.entries_mismatch");
    assert_int_equal(notify_alert_get_severity(a), NOTIFY_CRITICAL);
    ev = json_object_get(a, "evidence");
    assert_int_equal(json_integer_value(json_object_get(ev, "log_index")),
                     FOLLOW_COMMIT_EVERY - 1);
    assert_string_equal(
        json_string_value(json_object_get(ev, "old_checkpoint")), x->log->note);
    assert_true(json_array_size(json_object_get(ev, "proof")) > 0);
    /* One check per cycle (a poll interval), no loop. */
    assert_in_range(x->log->counts[K_ENTRY], 2, 6);
    assert_int_equal(x->fe.fatal_calls, 0);

    x->log->nmis = 0;
    mark = x->log->nreqs;
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_requests_since(x, K_ENTRY, mark, 0), 2);
    fx_status(x, &st);
    assert_int_equal(st.entries_scanned, CHECK_SIZE);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(fx_cursor(x), CHECK_SIZE);
}

/* A lie well before the commit point: the proof of the entry before it
 * gives another range. */
static void
test_commit_point_lie(void **state)
{
    commit_point_lie(*state, 1234);
}

/* The lie at the entry before the commit point, in retrieve and in the
 * check's answer alike: an entry whose own proof places it at another
 * index of the signed tree. */
static void
test_commit_point_misplaced(void **state)
{
    commit_point_lie(*state, FOLLOW_COMMIT_EVERY - 1);
}

/* Positive twin: an honest catch-up makes one check per commit point and
 * commits there; after growth, commit points count from the last commit
 * (9000 + 4096). */
static void
test_commit_point_checks(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    uint64_t at[8];

    fx_grow(x, CHECK_SIZE);
    fx_start(x);
    x->target = 1;
    assert_true(fx_run_until(x, 5 * MIN, pred_committed));
    assert_int_equal(fx_cursor(x), FOLLOW_COMMIT_EVERY);
    assert_int_equal(entry_requests(x, at, 8), 1);
    assert_int_equal(at[0], FOLLOW_COMMIT_EVERY - 1);

    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    assert_int_equal(entry_requests(x, at, 8), 2);
    assert_int_equal(at[1], 2 * FOLLOW_COMMIT_EVERY - 1);
    assert_int_equal(fx_applied(x), CHECK_SIZE);
    fx_status(x, &st);
    assert_int_equal(st.root_checks_passed, 3);
    assert_int_equal(st.entries_scanned, CHECK_SIZE);

    fx_grow(x, 5000);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    assert_int_equal(entry_requests(x, at, 8), 3);
    assert_int_equal(at[2], CHECK_SIZE + FOLLOW_COMMIT_EVERY - 1);
    assert_int_equal(fx_applied(x), CHECK_SIZE + 5000);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* The check's request fails (no answer, then the log is down for it ten
 * times in a row): nothing is committed past the last commit, the cursor
 * waits at the commit point with what it read (nothing is read twice),
 * and the check is sent again after a backoff (at least 500 ms, doubling),
 * never in a loop; polling goes on meanwhile.  When it is answered, the
 * cursor commits and catches up, no alert. */
static void
test_commit_point_check_fails(void **state)
{
    struct fx *x = *state;
    uint64_t t, prev_gap = 0;
    size_t i, mark, n = 0;

    fx_grow(x, CHECK_SIZE);
    flog_plan(x->log, K_ENTRY, HTTP_ERR_TRANSPORT, 0, -1, 1);
    fx_start(x);
    x->target = 1;
    assert_true(fx_run_until(x, MIN, pred_planned));
    t = x->fe.thr[0].at;
    mark = x->fe.thr[0].nreqs;
    assert_int_equal(fx_cursor(x), 0);
    assert_int_equal(fx_applied(x), FOLLOW_COMMIT_EVERY);

    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    for (i = mark; i < x->log->nreqs; i++) {
        if (x->log->reqs[i].kind == K_ENTRY) {
            assert_true(x->log->reqs[i].at >= t + FOLLOW_BACKOFF_BASE_MS);
            break;
        }
    }
    assert_int_equal(x->log->counts[K_ENTRY], 3);
    assert_int_equal(fx_applied(x), CHECK_SIZE);
    assert_int_equal(flog_asked(x->log, 0), 1);
    assert_int_equal(flog_asked(x->log, FOLLOW_COMMIT_EVERY - 1), 1);
    assert_no_alerts(x);

    /* Ten failures in a row at the next commit point. */
    fx_grow(x, FOLLOW_COMMIT_EVERY + 100);
    flog_plan(x->log, K_ENTRY, HTTP_ERR_TRANSPORT, 0, -1, 5);
    flog_plan(x->log, K_ENTRY, HTTP_COMPLETE, 503, -1, 5);
    mark = x->log->nreqs;
    x->target = 11;
    assert_true(fx_run_until(x, 10 * MIN, pred_planned));
    assert_int_equal(fx_cursor(x), CHECK_SIZE);
    /* Polls go on while the check waits. */
    assert_true(fx_requests_since(x, K_LOG, mark, 0) >= 3);
    for (i = mark, t = 0; i < x->log->nreqs; i++) {
        if (x->log->reqs[i].kind == K_ENTRY) {
            if (t != 0) {
                assert_true(x->log->reqs[i].at - t >= FOLLOW_BACKOFF_BASE_MS);
                assert_true(x->log->reqs[i].at - t + 1000 >= prev_gap);
                prev_gap = x->log->reqs[i].at - t;
            }
            t = x->log->reqs[i].at;
            n++;
        }
    }
    assert_int_equal(n, 10);
    assert_true(fx_run_until(x, 3 * MIN, pred_caught_up));
    assert_int_equal(fx_requests_since(x, K_ENTRY, mark, 0), 11);
    assert_int_equal(fx_applied(x), CHECK_SIZE + FOLLOW_COMMIT_EVERY + 100);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* once: a check that never proves anything (the log answers 404 for the
 * entry) ends the run as failed after a few attempts, nothing committed
 * past the last commit and nothing asked after; the next run, with the
 * log answering, catches up. */
static void
test_commit_point_check_once(void **state)
{
    struct fx *x = *state;
    size_t n;

    x->fe.env.once = 1;
    fx_grow(x, CHECK_SIZE);
    flog_plan(x->log, K_ENTRY, HTTP_COMPLETE, 404, -1, 20);
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_done));
    assert_int_equal(x->fe.done_failed, 1);
    assert_int_equal(fx_cursor(x), 0);
    assert_in_range(x->log->counts[K_ENTRY], 3, 8);
    n = x->log->nreqs;
    fx_run(x, 10 * MIN);
    assert_int_equal(x->log->nreqs, n);
    assert_int_equal(x->fe.done_calls, 1);
    fx_stop(x);

    x->log->nplans = 0;
    x->fe.done_calls = 0;
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_done));
    assert_int_equal(x->fe.done_failed, 0);
    assert_int_equal(fx_cursor(x), CHECK_SIZE);
    assert_no_alerts(x);
}

/* ---- the fake log itself ---------------------------------------------- */

/* The fake tree's roots and proofs agree with merkle/: a test of the
 * test, so that a follower failure is never the fake log's. */
static void
test_fake_tree(void **state)
{
    struct mtree t;
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    struct merkle_range range;
    uint64_t i, m, n;
    size_t np;

    (void)state;
    memset(&t, 0, sizeof(t));
    merkle_range_init(&range);
    for (i = 0; i < 1100; i++) {
        uint8_t leaf[MERKLE_HASH_LEN], data[8];
        memcpy(data, &i, sizeof(data));
        merkle_leaf_hash(data, sizeof(data), leaf);
        mt_append(&t, leaf);
        assert_int_equal(merkle_range_append(&range, leaf), MERKLE_OK);
        merkle_range_root(&range, r1);
        mt_root(&t, t.n, r2);
        assert_memory_equal(r1, r2, MERKLE_HASH_LEN);
    }
    for (n = 1; n <= t.n; n += 37) {
        mt_root(&t, n, r1);
        for (i = 0; i < n; i += 13) {
            np = 0;
            mt_path(&t, i, 0, n, proof, &np);
            assert_int_equal(merkle_verify_inclusion(
                                 i, n, t.lv[0][i],
                                 (const uint8_t(*)[MERKLE_HASH_LEN])proof, np,
                                 r1),
                             MERKLE_OK);
        }
        for (m = 1; m < n; m += 29) {
            np = 0;
            mt_root(&t, m, r2);
            mt_subproof(&t, m, 0, n, 1, proof, &np);
            assert_int_equal(
                merkle_verify_consistency(
                    m, n, r2, r1, (const uint8_t(*)[MERKLE_HASH_LEN])proof, np),
                MERKLE_OK);
        }
    }
    mt_free(&t);
}

/* ---- ct: what only an RFC 6962 log does -------------------------------- */

/* The log grants 7 entries per get-entries (fewer than asked): the
 * follower goes on from what came, never re-reads an entry, and is caught
 * up and proven with about size / 7 requests. */
static void
test_ct_short_batches(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;

    x->log->ct_cap = 7;
    fx_grow(x, 1000);
    fx_start(x);
    assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
    fx_status(x, &st);
    assert_int_equal(st.next_index, 1000);
    assert_true(st.root_checks_passed >= 1);
    assert_int_equal(fx_applied(x), 1000);
    assert_in_range(x->log->counts[K_RETRIEVE], 1000 / 7, 1000 / 7 + 20);
    assert_no_alerts(x);
}

/* A larger STH, validly signed, whose root is not an extension of the
 * verified tree: get-sth-consistency cannot prove it, log.inconsistent
 * with both STHs and the proof as evidence, nothing recorded. */
static void
test_ct_inconsistent(void **state)
{
    struct fx *x = *state;
    struct store_log_status st;
    uint8_t other[MERKLE_HASH_LEN];
    json_t *ev;

    fx_grow(x, 500);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    fx_grow(x, 100);
    memset(other, 0x42, sizeof(other));
    flog_fake(x->log, x->log->cp_size, other);
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 1);
    ev = json_object_get(fx_alert(x, "log.inconsistent"), "evidence");
    assert_non_null(strstr(
        json_string_value(json_object_get(ev, "new_checkpoint")), "QkJC"));
    assert_non_null(json_object_get(ev, "old_checkpoint"));
    assert_true(json_array_size(json_object_get(ev, "proof")) > 0);
    fx_status(x, &st);
    assert_int_equal(st.verified_size, 500);
    assert_int_equal(fx_cursor(x), 500);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* A tampered leaf below the first commit point (4096) of a larger log:
 * the consistency proof from the cursor's size to the signed one does not
 * link the computed root, so nothing is committed past it:
 * log.entries_mismatch naming size 4096, and the cursor stays at 0.  Its
 * twin, the honest log, commits at 4096 first (test_resume_crash). */
static void
test_ct_commit_point_tampered(void **state)
{
    struct fx *x = *state;
    json_t *ev;

    fx_grow(x, 5000);
    flog_tamper(x->log, 100);
    fx_start(x);
    fx_run(x, 40 * SEC);
    assert_int_equal(fx_stored_alerts(x, "log.entries_mismatch"), 1);
    ev = json_object_get(fx_alert(x, "log.entries_mismatch"), "evidence");
    assert_int_equal(json_integer_value(json_object_get(ev, "size")),
                     FOLLOW_COMMIT_EVERY);
    assert_int_equal(fx_cursor(x), 0);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);

    x->log->ntamper = 0;
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
}

#define V1(fn)                                                                 \
    cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown,        \
                                             (void *)&proto_v1)
#define BOTH(fn)                                                               \
    cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown,        \
                                             (void *)&proto_v1),               \
        cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown,    \
                                                 (void *)&proto_v2)

#define CT(fn)                                                                 \
    cmocka_unit_test_prestate_setup_teardown(fn, fx_setup, fx_teardown,        \
                                             (void *)&proto_ct)

/* ---- the watch rules on a CT log ---------------------------------------- */

/* The trusted root of x with the certificate authorities of Sigstore's
 * real trusted root (testdata), reloaded into x->troot. */
static void
ct_root_with_fulcio(struct fx *x)
{
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    json_error_t jerr;
    json_t *mine = json_load_file(x->trpath, 0, &jerr), *real;

    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json",
             getenv("TLOGWATCH_TESTDATA"));
    real = json_load_file(path, 0, &jerr);
    assert_non_null(mine);
    assert_non_null(real);
    json_object_set(mine, "certificateAuthorities",
                    json_object_get(real, "certificateAuthorities"));
    assert_int_equal(json_dump_file(mine, x->trpath, JSON_INDENT(2)), 0);
    json_decref(mine);
    json_decref(real);
    config_trusted_root_free(x->troot);
    x->troot = config_trusted_root_load(x->trpath, err, sizeof(err));
    if (x->troot == NULL) {
        fail_msg("trusted root: %s", err);
    }
    x->fe.env.troot = x->troot;
}

/* The DER of a real Fulcio leaf (testdata fulcio/leaf/NAME), malloc'ed. */
static uint8_t *
real_leaf_der(const char *name, size_t *len)
{
    char path[4096];
    FILE *fp;
    X509 *c;
    uint8_t *der, *p;
    int n;

    snprintf(path, sizeof(path), "%s/fulcio/leaf/%s",
             getenv("TLOGWATCH_TESTDATA"), name);
    fp = fopen(path, "r");
    assert_non_null(fp);
    c = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(c);
    n = i2d_X509(c, NULL);
    assert_true(n > 0);
    der = malloc((size_t)n);
    assert_non_null(der);
    p = der;
    assert_int_equal(i2d_X509(c, &p), n);
    X509_free(c);
    *len = (size_t)n;
    return der;
}

/* x's log grows by one x509_entry of the certificate der. */
static void
ct_grow_cert(struct fx *x, uint8_t *der, size_t len)
{
    uint8_t *keep = x->log->cert;
    size_t keep_len = x->log->cert_len;

    x->log->cert = der;
    x->log->cert_len = len;
    fx_grow(x, 1);
    x->log->cert = keep;
    x->log->cert_len = keep_len;
}

/*
 * A CT log of 5,000 entries, one of them (index 300) the real rfc8785.py
 * leaf, under a rule for its repository that allows another trigger:
 * catch-up records exactly one signing.unexpected about CT index 300,
 * committed with the cursor (evidence: the verified STH, which holds
 * it), and one CT certificate row, pending, for its link id.  Twin: the
 * same log under a rule for another repository records nothing.
 */
static void
test_ct_watch(void **state)
{
    struct fx *x = *state;
    static const char rules[] =
        "{\"state\":\"/nonexistent/s.db\",\"logs\":[{\"name\":\"ct\","
        "\"url\":\"https://ctfe.test/2022\"}],\"watch\":[{\"name\":\"app\","
        "\"repository\":\"trailofbits/rfc8785.py\",\"allow\":{\"triggers\":"
        "[\"pull_request\"]}}]}";
    static const char other[] =
        "{\"state\":\"/nonexistent/s.db\",\"logs\":[{\"name\":\"ct\","
        "\"url\":\"https://ctfe.test/2022\"}],\"watch\":[{\"name\":\"app\","
        "\"repository\":\"acme/enclave-app\"}]}";
    const char *cfgs[2] = {other, rules};
    struct config_errors *errs = NULL;
    struct config *cfg;
    struct policy *p;
    struct store_ct_cert row;
    uint8_t *der, link[CTLEAF_HASH_LEN];
    char link_hex[65], buf[8192], perr[POLICY_ERR_LEN];
    size_t len;
    int found, k;
    json_t *a, *sth;
    json_error_t jerr;

    ct_root_with_fulcio(x);
    der = real_leaf_der("gha-hashedrekord-rfc8785py.pem", &len);
    assert_int_equal(ctleaf_link_id_der(der, len, link), 0);
    merkle_hex_encode(link, sizeof(link), link_hex, sizeof(link_hex));
    fx_grow(x, 300);
    ct_grow_cert(x, der, len);
    fx_grow(x, 4699);
    for (k = 0; k < 2; k++) {
        cfg = config_load_mem(cfgs[k], strlen(cfgs[k]), "t", &errs);
        assert_non_null(cfg);
        p = policy_new(cfg, x->troot, perr, sizeof(perr));
        assert_non_null(p);
        config_free(cfg);
        x->fe.env.policy = p;
        fx_start(x);
        assert_true(fx_run_until(x, 5 * MIN, pred_caught_up));
        assert_int_equal(fx_cursor(x), 5000);
        fx_stop(x);
        if (k == 0) {
            /* the twin: nothing; then a fresh state for the rule */
            assert_int_equal(fx_stored_alerts(x, NULL), 0);
            assert_int_equal(store_ct_cert_get(x->store, link_hex, "app",
                                               &found, &row, buf, sizeof(buf)),
                             0);
            assert_false(found);
            store_close(x->store);
            unlink(x->db);
            x->store =
                store_open(x->db, STORE_OPEN_SYNC_NORMAL, perr, sizeof(perr));
            assert_non_null(x->store);
            x->fe.env.store = x->store;
        }
        x->fe.env.policy = NULL;
        policy_free(p);
    }
    assert_int_equal(fx_stored_alerts(x, NULL), 1);
    assert_int_equal(fx_stored_alerts(x, "signing.unexpected"), 1);
    assert_int_equal(store_ct_cert_get(x->store, link_hex, "app", &found, &row,
                                       buf, sizeof(buf)),
                     0);
    assert_true(found);
    assert_string_equal(row.state, "pending");
    assert_string_equal(row.entry_type, "x509");
    assert_string_equal(row.verdict, "unexpected");
    assert_int_equal(row.log_index, 300);
    a = json_loads(row.alert, 0, &jerr);
    assert_non_null(a);
    sth = json_loads(json_string_value(json_object_get(
                         json_object_get(a, "evidence"), "checkpoint")),
                     0, &jerr);
    assert_non_null(sth);
    assert_true(json_integer_value(json_object_get(sth, "tree_size")) > 300);
    json_decref(sth);
    json_decref(a);
    free(der);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* ---- frozen logs ---------------------------------------------------------
 *
 * A final checkpoint (a Rekor v1 inactive shard's, a frozen Rekor v2
 * log's) is compared with the recorded one (fe_frozen_check) when first
 * seen and then once per FOLLOW_FROZEN_POLL_MS on the monotonic clock: v1
 * serves the head with every poll of the log (the same bytes are not
 * checked again within the hour, other bytes at once); a frozen v2 log
 * is only polled again after the hour (+-10% jitter).  A change raises
 * exactly one log.inconsistent with both notes; an unchanged head none;
 * an unreachable log no inconsistency. */

static uint64_t
fx_frozen_checks(struct fx *x)
{
    struct follower_stats st;

    follower_stats(x->f, &st);
    return st.frozen_checks;
}

/* The log.inconsistent about a frozen head: raised at least once, stored
 * exactly once, evidence the recorded note and the served one. */
static void
assert_frozen_alert(struct fx *x, const char *old_note, const char *new_note)
{
    json_t *a = fx_alert(x, "log.inconsistent"), *ev;

    if (fx_stored_alerts(x, "log.inconsistent") != 1) {
        fx_dump_alerts(x);
        fail_msg("log.inconsistent stored %u times, want 1",
                 fx_stored_alerts(x, "log.inconsistent"));
    }
    assert_non_null(a);
    assert_non_null(
        strstr(json_string_value(json_object_get(a, "summary")), "Frozen"));
    ev = json_object_get(a, "evidence");
    assert_string_equal(
        json_string_value(json_object_get(ev, "old_checkpoint")), old_note);
    assert_string_equal(
        json_string_value(json_object_get(ev, "new_checkpoint")), new_note);
}

static void
test_frozen_shard(void **state)
{
    struct fx *x = *state;
    uint8_t root[MERKLE_HASH_LEN], forked[MERKLE_HASH_LEN];
    char *first;
    size_t mark;

    memset(root, 0x5a, sizeof(root));
    memset(forked, 0xa5, sizeof(forked));
    flog_inactive(x->log, 7000, root);
    first = strdup(x->log->inactive_note);
    assert_non_null(first);
    x->cfg.start_latest = 1;
    x->cfg.stale_after_ms = 24 * 3600 * SEC; /* the active shard idles */
    fx_grow(x, 100);
    fx_start(x);

    /* The first poll checks (and records) the shard's final head. */
    assert_true(fx_run_until(x, 1 * MIN, pred_caught_up));
    assert_int_equal(fx_cursor(x), 7100);
    assert_int_equal(fx_frozen_checks(x), 1);

    /* Served with every poll for 59 minutes: not checked again. */
    mark = x->log->nreqs;
    fx_run(x, 59 * MIN);
    assert_true(fx_requests_since(x, K_LOG, mark, 0) >= 100);
    assert_int_equal(fx_frozen_checks(x), 1);

    /* Past the hour: checked again at the next poll; unchanged, no
     * alert. */
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_frozen_checks(x), 2);
    fx_run(x, 30 * MIN);
    assert_int_equal(fx_frozen_checks(x), 2);
    assert_no_alerts(x);

    /* Unreachable for two hours: no check, no inconsistency (the outage
     * is log.unreachable); back, the head is checked at once (the hour
     * has passed), unchanged. */
    x->log->down = HTTP_ERR_TIMEOUT;
    fx_run(x, 2 * 60 * MIN);
    assert_int_equal(fx_frozen_checks(x), 2);
    x->log->down = HTTP_COMPLETE;
    fx_run(x, 2 * MIN);
    assert_int_equal(fx_frozen_checks(x), 3);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 0);
    assert_int_equal(fx_stored_alerts(x, "log.unreachable"), 1);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);

    /* The shard's head changes (same size, another root): other bytes
     * are checked at the next poll, not after the hour; one
     * log.inconsistent, however long it is served. */
    flog_inactive(x->log, 7000, forked);
    fx_run(x, 1 * MIN);
    assert_int_equal(fx_frozen_checks(x), 4);
    assert_frozen_alert(x, first, x->log->inactive_note);
    fx_run(x, 3 * 60 * MIN);
    assert_in_range(fx_frozen_checks(x), 6, 7); /* hourly again */
    assert_frozen_alert(x, first, x->log->inactive_note);
    assert_int_equal(fx_stored_alerts(x, NULL), 2);

    /* The shard it follows carried on meanwhile. */
    fx_grow(x, 50);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_cursor(x), 7150);
    assert_int_equal(x->fe.fatal_calls, 0);
    free(first);
}

static int
pred_asked_checkpoint(struct fx *x)
{
    return fx_requests_since(x, checkpoint_kind(x), (size_t)x->target, 0) > 0;
}

/* Run until the log is asked for its checkpoint (v1: GET /api/v1/log;
 * at most max_ms), then
 * until that answer is handled: how long it took to be asked, in ms. */
static uint64_t
fx_run_to_poll(struct fx *x, uint64_t max_ms)
{
    uint64_t t0 = x->fe.mono, took;

    x->target = x->log->nreqs;
    if (!fx_run_until(x, max_ms, pred_asked_checkpoint)) {
        fail_msg("no checkpoint request within %llu ms",
                 (unsigned long long)max_ms);
    }
    took = x->fe.mono - t0;
    fx_run(x, 1 * SEC);
    return took;
}

static void
test_frozen_log(void **state)
{
    struct fx *x = *state;
    uint8_t forked[MERKLE_HASH_LEN];
    char *first;
    size_t mark;
    uint64_t took;

    memset(forked, 0xa5, sizeof(forked));
    x->log->frozen = 1;
    fx_grow(x, 600);
    first = strdup(x->log->note);
    assert_non_null(first);
    fx_start(x);

    /* The first checkpoint is checked and recorded; the log is read to
     * its final size. */
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    assert_int_equal(fx_frozen_checks(x), 1);
    fx_run(x, 1 * SEC); /* the end of the cycle */

    /* Then the checkpoint is asked for again only after the hour, less
     * or more its jitter (10%), and nothing else in between; checked,
     * unchanged: no alert (not log.stale either: a frozen log does not
     * grow). */
    mark = x->log->nreqs;
    took = fx_run_to_poll(x, 70 * MIN);
    assert_in_range(took, 54 * MIN, 66 * MIN);
    assert_int_equal(fx_requests_since(x, K_ANY, mark, 0), 1);
    assert_int_equal(fx_frozen_checks(x), 2);
    assert_no_alerts(x);
    mark = x->log->nreqs;
    took = fx_run_to_poll(x, 70 * MIN);
    assert_in_range(took, 54 * MIN, 66 * MIN);
    assert_int_equal(fx_requests_since(x, K_ANY, mark, 0), 1);
    assert_int_equal(fx_frozen_checks(x), 3);
    assert_no_alerts(x);

    /* Unreachable at the next check: polled on the backoff, never an
     * inconsistency (log.unreachable after unreachable_after). */
    x->log->down = HTTP_ERR_TIMEOUT;
    (void)fx_run_to_poll(x, 70 * MIN);
    mark = x->log->nreqs;
    fx_run(x, 40 * MIN);
    assert_true(fx_requests_since(x, K_CHECKPOINT, mark, 0) >= 2);
    assert_int_equal(fx_frozen_checks(x), 3);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 0);
    assert_int_equal(fx_stored_alerts(x, "log.unreachable"), 1);
    /* Back: checked at its next poll, unchanged; hourly again. */
    x->log->down = HTTP_COMPLETE;
    (void)fx_run_to_poll(x, 2 * MIN);
    assert_int_equal(fx_frozen_checks(x), 4);
    mark = x->log->nreqs;
    took = fx_run_to_poll(x, 70 * MIN);
    assert_in_range(took, 54 * MIN, 66 * MIN);
    assert_int_equal(fx_requests_since(x, K_ANY, mark, 0), 1);
    assert_int_equal(fx_frozen_checks(x), 5);
    assert_int_equal(fx_stored_alerts(x, "log.inconsistent"), 0);
    assert_int_equal(fx_stored_alerts(x, NULL), 1);

    /* The final checkpoint changes (same size, another root): the next
     * hourly poll raises log.inconsistent, once, however long the log
     * serves it. */
    flog_fake(x->log, x->log->cp_size, forked);
    took = fx_run_to_poll(x, 70 * MIN);
    assert_in_range(took, 54 * MIN, 66 * MIN);
    assert_int_equal(fx_frozen_checks(x), 6);
    assert_frozen_alert(x, first, x->log->fake_note);
    fx_run(x, 3 * 60 * MIN);
    assert_true(fx_frozen_checks(x) > 6);
    assert_frozen_alert(x, first, x->log->fake_note);
    assert_int_equal(fx_stored_alerts(x, NULL), 2);
    assert_int_equal(x->fe.fatal_calls, 0);
    free(first);
}

/* ---- a reload ------------------------------------------------------------
 *
 * A reload rebuilds every follower from the store; the one that replaces
 * a follower of the same log (name, kind, url, log id) carries on its
 * counters and its caught-up time (follower_seen_until, which
 * signing.unlogged_certificate waits for); a renamed log or another log
 * row starts afresh. */
static void
test_carry(void **state)
{
    struct fx *x = *state;
    struct follower_carry c, c2;
    struct follower_stats before, after;
    struct config_log renamed;
    int64_t seen;
    char err[512];

    fx_grow(x, 500);
    fx_start(x);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    fx_run(x, 2 * MIN); /* idle cycles: caught up */
    seen = follower_seen_until(x->f);
    assert_true(seen > 0 && seen <= fx_now_s(x));
    follower_stats(x->f, &before);
    assert_int_equal(before.entries, 500);
    assert_true(before.http[FOLLOW_HTTP_2XX] > 0);
    follower_carry_get(x->f, &c);
    assert_true(c.log_id > 0);
    follower_free(x->f);
    x->f = NULL;

    /* Renamed: another log to the store; nothing carried. */
    renamed = x->cfg;
    renamed.name = "renamed";
    x->f = follower_new(&x->fe.env, &renamed, err, sizeof(err));
    assert_non_null(x->f);
    assert_int_equal(follower_carry_put(x->f, &c), 0);
    assert_int_equal(follower_seen_until(x->f), 0);
    follower_stats(x->f, &after);
    assert_int_equal(after.entries, 0);
    assert_int_equal(after.http[FOLLOW_HTTP_2XX], 0);
    follower_free(x->f);
    x->f = NULL;

    /* The same name on another log row: nothing carried. */
    x->f = follower_new(&x->fe.env, &x->cfg, err, sizeof(err));
    assert_non_null(x->f);
    c2 = c;
    c2.log_id = c.log_id + 1;
    assert_int_equal(follower_carry_put(x->f, &c2), 0);
    assert_int_equal(follower_seen_until(x->f), 0);
    follower_stats(x->f, &after);
    assert_int_equal(after.entries, 0);

    /* Unchanged: carried, before its first poll. */
    assert_int_equal(follower_carry_put(x->f, &c), 1);
    assert_int_equal(follower_seen_until(x->f), seen);
    follower_stats(x->f, &after);
    assert_int_equal(after.entries, before.entries);
    assert_int_equal(after.requests, before.requests);
    assert_int_equal(after.http[FOLLOW_HTTP_2XX], before.http[FOLLOW_HTTP_2XX]);

    /* And it goes on from there: counters grow, the caught-up time moves
     * at its own next caught-up cycle. */
    follower_start(x->f);
    fx_grow(x, 20);
    assert_true(fx_run_until(x, 2 * MIN, pred_caught_up));
    fx_run(x, 1 * MIN);
    follower_stats(x->f, &after);
    assert_int_equal(after.entries, 520);
    assert_true(after.http[FOLLOW_HTTP_2XX] > before.http[FOLLOW_HTTP_2XX]);
    assert_true(follower_seen_until(x->f) > seen);
    assert_no_alerts(x);
    assert_int_equal(x->fe.fatal_calls, 0);
}

/* Every protocol (v1 too: its polls are GET /api/v1/log, which the
 * poll predicate once did not count, so v1 looked as if it sent none).
 * The caught-up time (follower_seen_until) names a poll whose checkpoint
 * was read: a poll that fails while the entries of an earlier checkpoint
 * are still being read does not count when that read ends.  Poll P1
 * reads the log's size; one unit of it is withheld (the follower polls
 * on meanwhile); the log grows; P2 gets no answer; the withheld unit
 * comes back before P3: every entry the log had at P1 is read, not
 * every entry it had at P2 (a certificate due between them could be
 * judged unlogged while its Rekor entry is unread), so the caught-up
 * time stays at P1 until P3 reads the new size. */
static void
test_seen_until_failed_poll(void **state)
{
    struct fx *x = *state;
    uint64_t unit = withheld_unit(x), size = withheld_size(x);
    int64_t p1;
    size_t mark;

    /* Polls every 5 minutes; a withheld unit is asked again at least
     * once a minute (withhold.h), and raises nothing within the hour. */
    x->cfg.poll_interval_ms = 5 * MIN;
    x->cfg.withhold_after_ms = 60 * MIN;
    fx_grow(x, 100);
    fx_start(x);
    assert_true(fx_run_until(x, 1 * MIN, pred_caught_up));
    fx_run(x, 1 * SEC);
    assert_true(follower_seen_until(x->f) > 0);

    /* P1 reads `size`; one unit of it is withheld. */
    fx_grow(x, size - 100);
    flog_drop(x->log, unit);
    (void)fx_run_to_poll(x, 6 * MIN);
    p1 = fx_now_s(x) - 1; /* fx_run_to_poll ran a second past P1 */
    assert_true(fx_cursor(x) < size);
    /* Entries integrated after P1; P2 gets no answer. */
    fx_grow(x, 10);
    flog_plan(x->log, checkpoint_kind(x), HTTP_ERR_TRANSPORT, 0, -1, 1);
    (void)fx_run_to_poll(x, 6 * MIN);
    assert_true(fx_now_s(x) - 1 > p1);
    /* The withheld unit comes in (its backoff is shorter than the poll
     * interval here): caught up with P1's size, not P2's. */
    flog_undrop(x->log);
    mark = x->log->nreqs;
    x->target = size;
    assert_true(fx_run_until(x, 2 * MIN, pred_committed));
    assert_int_equal(fx_cursor(x), size);
    fx_run(x, 1 * SEC);
    assert_int_equal(fx_requests_since(x, checkpoint_kind(x), mark, 0), 0);
    if (follower_seen_until(x->f) > p1) {
        fail_msg("caught up until %lld, after P1 (%lld): the failed poll "
                 "P2 counted",
                 (long long)follower_seen_until(x->f), (long long)p1);
    }
    /* P3 reads the new size: caught up past P2 at last. */
    assert_true(fx_run_until(x, 6 * MIN, pred_caught_up));
    assert_int_equal(fx_cursor(x), size + 10);
    fx_run(x, 1 * SEC);
    assert_true(follower_seen_until(x->f) > p1);
    assert_int_equal(fx_stored_alerts(x, NULL), 0);
    assert_int_equal(x->fe.fatal_calls, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_tree),
        BOTH(test_catch_up),
        BOTH(test_key_twice),
        CT(test_key_twice),
        BOTH(test_catch_up_tampered),
        BOTH(test_bad_signature),
        BOTH(test_withheld),
        BOTH(test_withheld_once),
        BOTH(test_withheld_fork),
        V1(test_lookahead_bytes),
        BOTH(test_cannot_start),
        BOTH(test_withheld_once_unproven),
        BOTH(test_reorder),
        BOTH(test_reorder_lie),
        BOTH(test_impossible),
        BOTH(test_impossible_first),
        V1(test_impossible_raw),
        BOTH(test_clock_steps),
        BOTH(test_outage),
        BOTH(test_start_index),
        BOTH(test_start_latest),
        V1(test_start_bad_seed),
        BOTH(test_throttle_429),
        BOTH(test_throttle_checkpoint),
        BOTH(test_throttle_5xx),
        CT(test_catch_up),
        CT(test_ct_short_batches),
        CT(test_ct_watch),
        CT(test_catch_up_tampered),
        CT(test_bad_signature),
        CT(test_withheld),
        CT(test_withheld_once),
        CT(test_withheld_fork),
        CT(test_cannot_start),
        CT(test_clock_steps),
        CT(test_outage),
        CT(test_start_index),
        CT(test_start_latest),
        CT(test_throttle_429),
        CT(test_throttle_checkpoint),
        CT(test_throttle_5xx),
        CT(test_resume_crash),
        CT(test_resume_clean),
        CT(test_ct_inconsistent),
        CT(test_impossible),
        CT(test_impossible_first),
        CT(test_ct_commit_point_tampered),
        BOTH(test_resume_crash),
        BOTH(test_resume_clean),
        BOTH(test_resume_withheld),
        V1(test_commit_point_lie),
        V1(test_commit_point_misplaced),
        V1(test_commit_point_checks),
        V1(test_commit_point_check_fails),
        V1(test_commit_point_check_once),
        V1(test_frozen_shard),
        BOTH(test_seen_until_failed_poll),
        CT(test_seen_until_failed_poll),
        BOTH(test_carry),
        CT(test_carry),
        cmocka_unit_test_prestate_setup_teardown(
            test_frozen_log, fx_setup, fx_teardown, (void *)&proto_v2),
    };

    log_init(0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
