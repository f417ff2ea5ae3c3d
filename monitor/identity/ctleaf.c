/*
 * ctleaf.c: RFC 6962 signed tree heads and get-entries items (see
 * ctleaf.h for the formats, the trust model and the invariants).
 *
 * Every TLS and DER length is checked against what is left before it is
 * used; no structure is trusted to be well formed.  The only allocations
 * are the ctleaf object with its copies of the decoded bytes, the fulcio
 * certificate, and jansson's document.
 */
#include "monitor/identity/ctleaf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "merkle/merkle.h"

#define CTLEAF_TLS_HASH_SHA256 4
#define CTLEAF_TLS_SIG_RSA 1
#define CTLEAF_TLS_SIG_ECDSA 3
#define CTLEAF_POISON_OID "1.3.6.1.4.1.11129.2.4.3"

/* Struct with its buffers (one allocation each). */
struct ctleaf_obj {
    struct ctleaf pub;
    uint8_t *leaf;
    uint8_t *extra;
    size_t extra_len;
    struct fulcio_cert *fc;
};

static void ctleaf_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ctleaf_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- TLS presentation-language reader ---- */

struct ctleaf_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static int
ctleaf_rd_bytes(struct ctleaf_rd *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->off) {
        return -1;
    }
    if (out != NULL) {
        *out = r->p + r->off;
    }
    r->off += n;
    return 0;
}

static int
ctleaf_rd_uint(struct ctleaf_rd *r, size_t n, uint64_t *v)
{
    const uint8_t *b;
    size_t i;

    if (ctleaf_rd_bytes(r, n, &b) != 0) {
        return -1;
    }
    *v = 0;
    for (i = 0; i < n; i++) {
        *v = (*v << 8) | b[i];
    }
    return 0;
}

static size_t
ctleaf_rd_left(const struct ctleaf_rd *r)
{
    return r->len - r->off;
}

/* ---- minimal DER walker (definite lengths, at most 4 length bytes) ---- */

struct ctleaf_der {
    unsigned tag;
    const uint8_t *all; /* tag byte */
    size_t all_len;     /* header + content */
    const uint8_t *val;
    size_t len;
};

/* Read one element at p[0 .. n); returns 0 or -1. */
static int
ctleaf_der_next(const uint8_t *p, size_t n, struct ctleaf_der *d)
{
    size_t hdr = 2, len, i, nb;

    if (n < 2 || (p[0] & 0x1f) == 0x1f) {
        return -1; /* short, or a multi-byte tag (not used here) */
    }
    len = p[1];
    if (len & 0x80) {
        nb = len & 0x7f;
        if (nb == 0 || nb > 4 || n - 2 < nb) {
            return -1;
        }
        len = 0;
        for (i = 0; i < nb; i++) {
            len = (len << 8) | p[2 + i];
        }
        hdr += nb;
    }
    if (len > n - hdr) {
        return -1;
    }
    d->tag = p[0];
    d->all = p;
    d->all_len = hdr + len;
    d->val = p + hdr;
    d->len = len;
    return 0;
}

/*
 * The parts of a TBSCertificate that ctleaf needs.  tbs[0 .. n) must be
 * exactly one SEQUENCE.
 */
struct ctleaf_tbs {
    struct ctleaf_der serial, sigalg, issuer;
};

static int
ctleaf_tbs_walk(const uint8_t *tbs, size_t n, struct ctleaf_tbs *t)
{
    struct ctleaf_der seq, e;
    const uint8_t *p;
    size_t left;

    if (ctleaf_der_next(tbs, n, &seq) != 0 || seq.tag != 0x30 ||
        seq.all_len != n) {
        return -1;
    }
    p = seq.val;
    left = seq.len;
    if (ctleaf_der_next(p, left, &e) != 0) {
        return -1;
    }
    if (e.tag == 0xa0) { /* [0] EXPLICIT version */
        p += e.all_len;
        left -= e.all_len;
        if (ctleaf_der_next(p, left, &e) != 0) {
            return -1;
        }
    }
    if (e.tag != 0x02 || e.len == 0) {
        return -1;
    }
    t->serial = e;
    p += e.all_len;
    left -= e.all_len;
    if (ctleaf_der_next(p, left, &e) != 0 || e.tag != 0x30) {
        return -1;
    }
    t->sigalg = e;
    p += e.all_len;
    left -= e.all_len;
    if (ctleaf_der_next(p, left, &e) != 0 || e.tag != 0x30) {
        return -1;
    }
    t->issuer = e;
    return 0;
}

/* The TBSCertificate inside a Certificate's DER (exactly one SEQUENCE). */
static int
ctleaf_cert_tbs(const uint8_t *der, size_t n, const uint8_t **tbs,
                size_t *tbslen)
{
    struct ctleaf_der seq, e;

    if (ctleaf_der_next(der, n, &seq) != 0 || seq.tag != 0x30 ||
        seq.all_len != n || ctleaf_der_next(seq.val, seq.len, &e) != 0 ||
        e.tag != 0x30) {
        return -1;
    }
    *tbs = e.all;
    *tbslen = e.all_len;
    return 0;
}

static int
ctleaf_link_from_tbs(const struct ctleaf_tbs *t, uint8_t out[CTLEAF_HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok;

    ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(c, t->issuer.all, t->issuer.all_len) == 1 &&
         EVP_DigestUpdate(c, t->serial.all, t->serial.all_len) == 1 &&
         EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int
ctleaf_link_id_der(const uint8_t *der, size_t len, uint8_t out[CTLEAF_HASH_LEN])
{
    const uint8_t *tbs;
    size_t tbslen;
    struct ctleaf_tbs t;

    if (der == NULL || len == 0 || len > FULCIO_MAX_DER ||
        ctleaf_cert_tbs(der, len, &tbs, &tbslen) != 0 ||
        ctleaf_tbs_walk(tbs, tbslen, &t) != 0) {
        return -1;
    }
    return ctleaf_link_from_tbs(&t, out);
}

int
ctleaf_link_id_x509(X509 *x, uint8_t out[CTLEAF_HASH_LEN])
{
    unsigned char *der = NULL;
    int n, rc;

    if (x == NULL) {
        return -1;
    }
    n = i2d_X509(x, &der);
    if (n <= 0) {
        return -1;
    }
    rc = ctleaf_link_id_der(der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}

/* ---- signed tree heads ---- */

const char *
ctleaf_sth_strerror(enum ctleaf_sth_result r)
{
    switch (r) {
    case CTLEAF_STH_OK:
        return "signature verified";
    case CTLEAF_STH_BAD_SIGNATURE:
        return "tree head signature does not verify";
    case CTLEAF_STH_WRONG_ALG:
        return "tree head signature algorithm does not match the log key "
               "(or hash is not SHA-256)";
    case CTLEAF_STH_NO_KEY:
        return "no usable log key";
    case CTLEAF_STH_INTERNAL:
        return "crypto library failure";
    }
    return "unknown STH verdict";
}

/*
 * jansson reads integers only up to INT64_MAX, but a tree head's
 * tree_size and timestamp are uint64 in the signed TreeHeadSignature: a
 * hostile log's STH of size 2^64 - 1 must be judged (its signature
 * verified over the full uint64), not refused as malformed.  Before
 * jansson reads the text, ctleaf_big_scan finds a top-level member
 * "tree_size" or "timestamp" whose value is an integer literal above
 * INT64_MAX and at most UINT64_MAX, records its value, and blanks it in a
 * copy ("0" and spaces: the same length, still valid JSON) that jansson
 * then reads; ctleaf_json_u64 returns the recorded value for that member.
 * Larger literals are left alone (jansson refuses the document).
 */
struct ctleaf_big {
    int has_size, has_ts;
    uint64_t size, ts;
};

/* The member name s[0 .. n) (raw, between the quotes) decoded equals
 * want (escapes such as "tree\u005fsize" included). */
static int
ctleaf_big_key_is(const char *s, size_t n, const char *want)
{
    json_t *j;
    char *q;
    int eq;

    if (memchr(s, '\\', n) == NULL) {
        return n == strlen(want) && memcmp(s, want, n) == 0;
    }
    if ((q = malloc(n + 2)) == NULL) {
        return 0;
    }
    q[0] = '"';
    memcpy(q + 1, s, n);
    q[n + 1] = '"';
    j = json_loadb(q, n + 2, JSON_DECODE_ANY, NULL);
    free(q);
    eq = json_is_string(j) && strcmp(json_string_value(j), want) == 0;
    json_decref(j);
    return eq;
}

/*
 * Scan s[0 .. len) (writable: big literals are blanked in place).  Only a
 * top-level object's members count; strings are skipped with their
 * escapes.  Malformed text is left for jansson to refuse.
 */
static void
ctleaf_big_scan(char *s, size_t len, struct ctleaf_big *big)
{
    size_t i = 0, key = 0, keylen = 0, depth = 0;
    int top_obj = 0, want_key = 0, have_key = 0;

    memset(big, 0, sizeof(*big));
    while (i < len) {
        char ch = s[i];

        if (ch == '"') {
            size_t st = ++i;

            while (i < len && s[i] != '"') {
                i += s[i] == '\\' ? 2 : 1;
            }
            if (i >= len) {
                return;
            }
            if (depth == 1 && top_obj && want_key) {
                key = st;
                keylen = i - st;
                have_key = 1;
                want_key = 0;
            }
            i++;
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (depth == 0) {
                top_obj = ch == '{';
                want_key = top_obj;
            }
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (depth == 0) {
                return;
            }
            depth--;
        } else if (depth == 1 && top_obj && ch == ',') {
            want_key = 1;
            have_key = 0;
        } else if (depth == 1 && top_obj && ch == ':' && have_key) {
            size_t d, nd;
            uint64_t v = 0;
            int over = 0, is_size, is_ts;

            have_key = 0;
            d = i + 1;
            while (d < len && (s[d] == ' ' || s[d] == '\t' || s[d] == '\n' ||
                               s[d] == '\r')) {
                d++;
            }
            for (nd = 0; d + nd < len && s[d + nd] >= '0' && s[d + nd] <= '9';
                 nd++) {
                unsigned dig = (unsigned)(s[d + nd] - '0');
                if (v > (UINT64_MAX - dig) / 10) {
                    over = 1;
                }
                v = v * 10 + dig;
            }
            if (nd < 19 || over || v <= (uint64_t)INT64_MAX || s[d] == '0' ||
                (d + nd < len &&
                 (s[d + nd] == '.' || s[d + nd] == 'e' || s[d + nd] == 'E'))) {
                i++;
                continue;
            }
            is_size = ctleaf_big_key_is(s + key, keylen, "tree_size");
            is_ts = !is_size && ctleaf_big_key_is(s + key, keylen, "timestamp");
            if (is_size || is_ts) {
                if (is_size) {
                    big->has_size = 1;
                    big->size = v;
                } else {
                    big->has_ts = 1;
                    big->ts = v;
                }
                s[d] = '0';
                memset(s + d + 1, ' ', nd - 1);
            }
            i = d + nd;
            continue;
        }
        i++;
    }
}

static int
ctleaf_json_u64(json_t *root, const char *key, uint64_t *v, char *err,
                size_t errlen, int has_big, uint64_t big)
{
    json_t *j = json_object_get(root, key);

    if (j == NULL) {
        ctleaf_err(err, errlen, "get-sth: %s: missing", key);
        return -1;
    }
    if (!json_is_integer(j) || json_integer_value(j) < 0) {
        ctleaf_err(err, errlen, "get-sth: %s: not a non-negative integer", key);
        return -1;
    }
    *v = has_big ? big : (uint64_t)json_integer_value(j);
    return 0;
}

static const char *
ctleaf_json_str(json_t *root, const char *key, size_t *len, const char *ctx,
                char *err, size_t errlen)
{
    json_t *j = json_object_get(root, key);

    if (j == NULL) {
        ctleaf_err(err, errlen, "%s: %s: missing", ctx, key);
        return NULL;
    }
    if (!json_is_string(j)) {
        ctleaf_err(err, errlen, "%s: %s: not a string", ctx, key);
        return NULL;
    }
    *len = json_string_length(j);
    return json_string_value(j);
}

static int
ctleaf_sth_from_json(json_t *root, const struct ctleaf_big *big,
                     struct ctleaf_sth *out, char *err, size_t errlen)
{
    const char *s;
    size_t n, siglen;
    long got;
    struct ctleaf_rd r;
    uint64_t h, a, l;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(root)) {
        ctleaf_err(err, errlen, "get-sth: not a JSON object");
        return -1;
    }
    if (ctleaf_json_u64(root, "tree_size", &out->tree_size, err, errlen,
                        big->has_size, big->size) != 0 ||
        ctleaf_json_u64(root, "timestamp", &out->timestamp, err, errlen,
                        big->has_ts, big->ts) != 0) {
        return -1;
    }
    s = ctleaf_json_str(root, "sha256_root_hash", &n, "get-sth", err, errlen);
    if (s == NULL) {
        return -1;
    }
    if (n != 44 ||
        merkle_b64_decode(s, n, out->root_hash, sizeof(out->root_hash)) != 32) {
        ctleaf_err(err, errlen,
                   "get-sth: sha256_root_hash: not base64 of 32 bytes");
        return -1;
    }
    s = ctleaf_json_str(root, "tree_head_signature", &n, "get-sth", err,
                        errlen);
    if (s == NULL) {
        return -1;
    }
    if (n > (sizeof(out->tls_sig) + 2) / 3 * 4) {
        ctleaf_err(err, errlen,
                   "get-sth: tree_head_signature: longer than %zu bytes",
                   sizeof(out->tls_sig));
        return -1;
    }
    got = merkle_b64_decode(s, n, out->tls_sig, sizeof(out->tls_sig));
    if (got < 0) {
        ctleaf_err(err, errlen, "get-sth: tree_head_signature: bad base64");
        return -1;
    }
    out->tls_sig_len = (size_t)got;
    r.p = out->tls_sig;
    r.len = out->tls_sig_len;
    r.off = 0;
    if (ctleaf_rd_uint(&r, 1, &h) != 0 || ctleaf_rd_uint(&r, 1, &a) != 0 ||
        ctleaf_rd_uint(&r, 2, &l) != 0) {
        ctleaf_err(err, errlen,
                   "get-sth: tree_head_signature: truncated header");
        return -1;
    }
    siglen = (size_t)l;
    if (siglen == 0 || siglen > CTLEAF_MAX_SIG ||
        siglen != ctleaf_rd_left(&r)) {
        ctleaf_err(err, errlen,
                   "get-sth: tree_head_signature: signature length %zu, "
                   "%zu bytes follow",
                   siglen, ctleaf_rd_left(&r));
        return -1;
    }
    out->hash_alg = (uint8_t)h;
    out->sig_alg = (uint8_t)a;
    memcpy(out->sig, r.p + r.off, siglen);
    out->sig_len = siglen;
    return 0;
}

static json_t *
ctleaf_json_load(const char *json, size_t len, size_t max, const char *ctx,
                 char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;

    if (json == NULL || len == 0) {
        ctleaf_err(err, errlen, "%s: empty answer", ctx);
        return NULL;
    }
    if (len > max) {
        ctleaf_err(err, errlen, "%s: answer of %zu bytes, limit %zu", ctx, len,
                   max);
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        ctleaf_err(err, errlen, "%s: not JSON (line %d: %.80s)", ctx, jerr.line,
                   jerr.text);
    }
    return root;
}

/* ctleaf_json_load of a tree head's text (at most max bytes, so the copy
 * is small), its uint64 members beyond int64 read by ctleaf_big_scan. */
static json_t *
ctleaf_sth_load(const char *json, size_t len, size_t max, const char *ctx,
                struct ctleaf_big *big, char *err, size_t errlen)
{
    json_t *root;
    char *copy;

    memset(big, 0, sizeof(*big));
    if (json == NULL || len == 0 || len > max) {
        return ctleaf_json_load(json, len, max, ctx, err, errlen);
    }
    if ((copy = malloc(len)) == NULL) {
        ctleaf_err(err, errlen, "%s: out of memory", ctx);
        return NULL;
    }
    memcpy(copy, json, len);
    ctleaf_big_scan(copy, len, big);
    root = ctleaf_json_load(copy, len, max, ctx, err, errlen);
    free(copy);
    return root;
}

int
ctleaf_sth_parse(const char *json, size_t len, struct ctleaf_sth *out,
                 char *err, size_t errlen)
{
    struct ctleaf_big big;
    json_t *root;
    int rc;

    root = ctleaf_sth_load(json, len, CTLEAF_MAX_STH_JSON, "get-sth", &big, err,
                           errlen);
    if (root == NULL) {
        return -1;
    }
    rc = ctleaf_sth_from_json(root, &big, out, err, errlen);
    json_decref(root);
    return rc;
}

void
ctleaf_sth_signed_data(const struct ctleaf_sth *sth,
                       uint8_t out[CTLEAF_STH_TBS_LEN])
{
    int i;

    out[0] = 0; /* v1 */
    out[1] = 1; /* tree_hash */
    for (i = 0; i < 8; i++) {
        out[2 + i] = (uint8_t)(sth->timestamp >> (56 - 8 * i));
        out[10 + i] = (uint8_t)(sth->tree_size >> (56 - 8 * i));
    }
    memcpy(out + 18, sth->root_hash, CTLEAF_HASH_LEN);
}

enum ctleaf_sth_result
ctleaf_sth_verify(const struct ctleaf_sth *sth,
                  const struct config_log_key *key)
{
    uint8_t tbs[CTLEAF_STH_TBS_LEN];
    EVP_MD_CTX *ctx;
    int id, rc;
    enum ctleaf_sth_result res;

    if (sth == NULL || key == NULL || key->pkey == NULL) {
        return CTLEAF_STH_NO_KEY;
    }
    id = EVP_PKEY_get_base_id(key->pkey);
    if (sth->hash_alg != CTLEAF_TLS_HASH_SHA256 ||
        !((id == EVP_PKEY_EC && sth->sig_alg == CTLEAF_TLS_SIG_ECDSA) ||
          (id == EVP_PKEY_RSA && sth->sig_alg == CTLEAF_TLS_SIG_RSA))) {
        return CTLEAF_STH_WRONG_ALG;
    }
    ctleaf_sth_signed_data(sth, tbs);
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return CTLEAF_STH_INTERNAL;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1) {
        res = CTLEAF_STH_INTERNAL;
    } else {
        rc = EVP_DigestVerify(ctx, sth->sig, sth->sig_len, tbs, sizeof(tbs));
        res = rc == 1 ? CTLEAF_STH_OK : CTLEAF_STH_BAD_SIGNATURE;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return res;
}

long
ctleaf_sth_evidence(const struct ctleaf_sth *sth,
                    const uint8_t log_id[CTLEAF_HASH_LEN], char *out,
                    size_t outcap)
{
    char hex[2 * CTLEAF_HASH_LEN + 1], root[64];
    char sig[(sizeof(sth->tls_sig) + 2) / 3 * 4 + 1];
    int n;

    if (sth == NULL || log_id == NULL || out == NULL ||
        sth->tls_sig_len > sizeof(sth->tls_sig) ||
        merkle_hex_encode(log_id, CTLEAF_HASH_LEN, hex, sizeof(hex)) < 0 ||
        merkle_b64_encode(sth->root_hash, CTLEAF_HASH_LEN, root, sizeof(root)) <
            0 ||
        merkle_b64_encode(sth->tls_sig, sth->tls_sig_len, sig, sizeof(sig)) <
            0) {
        return -1;
    }
    n = snprintf(out, outcap,
                 "{\"ct_sth\":1,\"log_id\":\"%s\",\"tree_size\":%llu,"
                 "\"timestamp\":%llu,\"sha256_root_hash\":\"%s\","
                 "\"tree_head_signature\":\"%s\"}",
                 hex, (unsigned long long)sth->tree_size,
                 (unsigned long long)sth->timestamp, root, sig);
    if (n < 0 || (size_t)n >= outcap) {
        return -1;
    }
    return n;
}

int
ctleaf_sth_evidence_parse(const char *text, size_t len, struct ctleaf_sth *out,
                          uint8_t log_id[CTLEAF_HASH_LEN], char *err,
                          size_t errlen)
{
    struct ctleaf_big big;
    json_t *root, *v;
    const char *s;
    size_t n;
    int rc = -1;

    root = ctleaf_sth_load(text, len, CTLEAF_EVIDENCE_MAX, "ct_sth evidence",
                           &big, err, errlen);
    if (root == NULL) {
        return -1;
    }
    v = json_object_get(root, "ct_sth");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        ctleaf_err(err, errlen, "ct_sth evidence: ct_sth: not 1");
        goto done;
    }
    s = ctleaf_json_str(root, "log_id", &n, "ct_sth evidence", err, errlen);
    if (s == NULL) {
        goto done;
    }
    if (n != 2 * CTLEAF_HASH_LEN ||
        merkle_hex_decode(s, n, log_id, CTLEAF_HASH_LEN) != CTLEAF_HASH_LEN) {
        ctleaf_err(err, errlen, "ct_sth evidence: log_id: not 64 hex digits");
        goto done;
    }
    rc = ctleaf_sth_from_json(root, &big, out, err, errlen);
done:
    json_decref(root);
    return rc;
}

int
ctleaf_sth_evidence_verify(const char *text, size_t len,
                           const struct config_trusted_root *root,
                           struct ctleaf_sth *out, char *err, size_t errlen)
{
    struct ctleaf_sth sth;
    uint8_t id[CTLEAF_HASH_LEN];
    const struct config_log_key *key = NULL;
    enum ctleaf_sth_result r;
    char hex[2 * CTLEAF_HASH_LEN + 1];
    size_t i, n;

    if (ctleaf_sth_evidence_parse(text, len, &sth, id, err, errlen) != 0) {
        return -1;
    }
    n = root == NULL ? 0 : config_trusted_root_nctlogs(root);
    for (i = 0; i < n && key == NULL; i++) {
        const struct config_log_key *k = config_trusted_root_ctlog(root, i);

        if (k != NULL && memcmp(k->log_id, id, sizeof(id)) == 0) {
            key = k;
        }
    }
    if (key == NULL) {
        (void)merkle_hex_encode(id, sizeof(id), hex, sizeof(hex));
        ctleaf_err(err, errlen, "no CT log with log_id %s in the trusted root",
                   hex);
        return -1;
    }
    r = ctleaf_sth_verify(&sth, key);
    if (r != CTLEAF_STH_OK) {
        ctleaf_err(err, errlen, "ct_sth evidence: %s", ctleaf_sth_strerror(r));
        return -1;
    }
    if (out != NULL) {
        *out = sth;
    }
    return 0;
}

/* ---- entries ---- */

/*
 * Wrap a TBSCertificate into Certificate SEQUENCE { tbs, sigalg, BIT
 * STRING "" } in out (outcap bytes).  Returns the length or 0.
 */
static size_t
ctleaf_wrap_tbs(const uint8_t *tbs, size_t tbslen, const struct ctleaf_tbs *t,
                uint8_t *out, size_t outcap)
{
    static const uint8_t bits[3] = {0x03, 0x01, 0x00};
    size_t content = tbslen + t->sigalg.all_len + sizeof(bits), h = 0;

    if (content > 0xffff || content + 4 > outcap) {
        return 0;
    }
    out[h++] = 0x30;
    if (content >= 256) { /* minimal DER length */
        out[h++] = 0x82;
        out[h++] = (uint8_t)(content >> 8);
    } else if (content >= 128) {
        out[h++] = 0x81;
    }
    out[h++] = (uint8_t)content;
    memcpy(out + h, tbs, tbslen);
    memcpy(out + h + tbslen, t->sigalg.all, t->sigalg.all_len);
    memcpy(out + h + tbslen + t->sigalg.all_len, bits, sizeof(bits));
    return h + content;
}

static int
ctleaf_parse_extra(struct ctleaf_obj *o, char *err, size_t errlen)
{
    struct ctleaf *l = &o->pub;
    struct ctleaf_rd r, c;
    uint64_t n;
    const uint8_t *b;

    r.p = o->extra;
    r.len = o->extra_len;
    r.off = 0;
    if (l->type == CTLEAF_PRECERT) {
        if (ctleaf_rd_uint(&r, 3, &n) != 0 || n == 0 ||
            ctleaf_rd_bytes(&r, (size_t)n, &b) != 0) {
            ctleaf_err(err, errlen, "extra_data: truncated pre_certificate");
            return -1;
        }
        l->precert = b;
        l->precert_len = (size_t)n;
    }
    if (ctleaf_rd_uint(&r, 3, &n) != 0 ||
        ctleaf_rd_bytes(&r, (size_t)n, &b) != 0) {
        ctleaf_err(err, errlen, "extra_data: truncated certificate chain");
        return -1;
    }
    if (ctleaf_rd_left(&r) != 0) {
        ctleaf_err(err, errlen, "extra_data: %zu trailing bytes",
                   ctleaf_rd_left(&r));
        return -1;
    }
    c.p = b;
    c.len = (size_t)n;
    c.off = 0;
    while (ctleaf_rd_left(&c) > 0) {
        if (l->nchain == CTLEAF_MAX_CHAIN) {
            ctleaf_err(err, errlen,
                       "extra_data: more than %d chain certificates",
                       CTLEAF_MAX_CHAIN);
            return -1;
        }
        if (ctleaf_rd_uint(&c, 3, &n) != 0 || n == 0 ||
            ctleaf_rd_bytes(&c, (size_t)n, &b) != 0) {
            ctleaf_err(err, errlen, "extra_data: truncated chain[%zu]",
                       l->nchain);
            return -1;
        }
        l->chain[l->nchain] = b;
        l->chain_len[l->nchain] = (size_t)n;
        l->nchain++;
    }
    return 0;
}

static int
ctleaf_parse_leaf(struct ctleaf_obj *o, char *err, size_t errlen)
{
    struct ctleaf *l = &o->pub;
    struct ctleaf_rd r;
    uint64_t v, n;
    const uint8_t *b;

    r.p = l->leaf_input;
    r.len = l->leaf_input_len;
    r.off = 0;
    if (ctleaf_rd_uint(&r, 1, &v) != 0 || v != 0) {
        ctleaf_err(err, errlen, "leaf_input: version is not v1 (0)");
        return -1;
    }
    if (ctleaf_rd_uint(&r, 1, &v) != 0 || v != 0) {
        ctleaf_err(err, errlen,
                   "leaf_input: leaf_type is not timestamped_entry (0)");
        return -1;
    }
    if (ctleaf_rd_uint(&r, 8, &l->timestamp) != 0) {
        ctleaf_err(err, errlen, "leaf_input: truncated timestamp");
        return -1;
    }
    if (ctleaf_rd_uint(&r, 2, &v) != 0 || v > 1) {
        ctleaf_err(err, errlen,
                   "leaf_input: entry_type missing or not x509/precert");
        return -1;
    }
    l->type = v == 0 ? CTLEAF_X509 : CTLEAF_PRECERT;
    if (l->type == CTLEAF_PRECERT) {
        if (ctleaf_rd_bytes(&r, CTLEAF_HASH_LEN, &b) != 0) {
            ctleaf_err(err, errlen, "leaf_input: truncated issuer_key_hash");
            return -1;
        }
        memcpy(l->issuer_key_hash, b, CTLEAF_HASH_LEN);
    }
    if (ctleaf_rd_uint(&r, 3, &n) != 0 || n == 0 || n > ctleaf_rd_left(&r)) {
        ctleaf_err(err, errlen,
                   "leaf_input: %s length missing, zero or over the %zu "
                   "bytes left",
                   l->type == CTLEAF_X509 ? "certificate" : "tbs_certificate",
                   ctleaf_rd_left(&r));
        return -1;
    }
    (void)ctleaf_rd_bytes(&r, (size_t)n, &l->cert);
    l->cert_len = (size_t)n;
    if (ctleaf_rd_uint(&r, 2, &n) != 0 || n > ctleaf_rd_left(&r)) {
        ctleaf_err(err, errlen, "leaf_input: truncated extensions");
        return -1;
    }
    if (n > CTLEAF_MAX_EXTENSIONS) {
        ctleaf_err(err, errlen,
                   "leaf_input: extensions of %llu bytes, limit %d",
                   (unsigned long long)n, CTLEAF_MAX_EXTENSIONS);
        return -1;
    }
    (void)ctleaf_rd_bytes(&r, (size_t)n, &l->extensions);
    l->extensions_len = (size_t)n;
    if (ctleaf_rd_left(&r) != 0) {
        ctleaf_err(err, errlen, "leaf_input: %zu trailing bytes",
                   ctleaf_rd_left(&r));
        return -1;
    }
    return 0;
}

/* Fulcio claims of the (TBS)certificate t was walked from. */
static void
ctleaf_claims(struct ctleaf_obj *o, const uint8_t *tbs, size_t tbslen,
              const struct ctleaf_tbs *t)
{
    struct ctleaf *l = &o->pub;
    uint8_t wrap[FULCIO_MAX_DER];
    size_t wlen;

    if (l->type == CTLEAF_X509) {
        o->fc = fulcio_cert_parse_der(l->cert, l->cert_len, &l->fulcio_error);
    } else {
        wlen = ctleaf_wrap_tbs(tbs, tbslen, t, wrap, sizeof(wrap));
        if (wlen == 0) {
            l->fulcio_error = FULCIO_ERR_TOO_LARGE;
        } else {
            o->fc = fulcio_cert_parse_der(wrap, wlen, &l->fulcio_error);
        }
    }
    ERR_clear_error();
    if (o->fc != NULL) {
        l->fulcio = o->fc;
        l->claims = fulcio_cert_claims(o->fc);
    }
}

static int
ctleaf_parse_cert(struct ctleaf_obj *o, const struct fulcio_needles *needles,
                  char *err, size_t errlen)
{
    struct ctleaf *l = &o->pub;
    const uint8_t *tbs = l->cert;
    size_t tbslen = l->cert_len, i, slen;
    struct ctleaf_tbs t;
    const char *what =
        l->type == CTLEAF_X509 ? "certificate" : "tbs_certificate";

    if (l->type == CTLEAF_X509 &&
        ctleaf_cert_tbs(l->cert, l->cert_len, &tbs, &tbslen) != 0) {
        ctleaf_err(err, errlen, "leaf_input: certificate: not DER");
        return -1;
    }
    if (ctleaf_tbs_walk(tbs, tbslen, &t) != 0) {
        ctleaf_err(err, errlen,
                   "leaf_input: %s: not a DER TBSCertificate (serial, "
                   "signature, issuer)",
                   what);
        return -1;
    }
    slen = t.serial.len;
    if (slen > (sizeof(l->serial_hex) - 1) / 2) {
        ctleaf_err(err, errlen, "leaf_input: %s: serial of %zu bytes", what,
                   slen);
        return -1;
    }
    for (i = 0; i < slen; i++) {
        (void)snprintf(l->serial_hex + 2 * i, 3, "%02x", t.serial.val[i]);
    }
    l->serial_hex[2 * slen] = '\0';
    if (ctleaf_link_from_tbs(&t, l->link_id) != 0 ||
        SHA256(l->cert, l->cert_len, l->cert_sha256) == NULL) {
        ctleaf_err(err, errlen, "crypto library failure");
        return -1;
    }
    if (needles != NULL && !fulcio_prefilter(needles, l->cert, l->cert_len)) {
        l->claims_skipped = 1;
        return 0;
    }
    ctleaf_claims(o, tbs, tbslen, &t);
    return 0;
}

int
ctleaf_load_claims(struct ctleaf *l)
{
    struct ctleaf_obj *o = (struct ctleaf_obj *)l;
    const uint8_t *tbs = l->cert;
    size_t tbslen = l->cert_len;
    struct ctleaf_tbs t;

    if (!l->claims_skipped) {
        return l->claims != NULL ? 0 : -1;
    }
    l->claims_skipped = 0;
    /* The structure was checked when l was parsed. */
    if ((l->type == CTLEAF_X509 &&
         ctleaf_cert_tbs(l->cert, l->cert_len, &tbs, &tbslen) != 0) ||
        ctleaf_tbs_walk(tbs, tbslen, &t) != 0) {
        l->fulcio_error = FULCIO_ERR_DER;
        return -1;
    }
    ctleaf_claims(o, tbs, tbslen, &t);
    return l->claims != NULL ? 0 : -1;
}

static struct ctleaf *
ctleaf_parse_raw_n(const uint8_t *leaf_input, size_t leaf_len,
                   const uint8_t *extra, size_t extra_len,
                   const struct fulcio_needles *needles, char *err,
                   size_t errlen)
{
    struct ctleaf_obj *o;

    if (leaf_input == NULL || leaf_len == 0) {
        ctleaf_err(err, errlen, "leaf_input: empty");
        return NULL;
    }
    if (leaf_len > CTLEAF_MAX_LEAF) {
        ctleaf_err(err, errlen, "leaf_input: %zu bytes, limit %d", leaf_len,
                   CTLEAF_MAX_LEAF);
        return NULL;
    }
    if (extra_len > CTLEAF_MAX_EXTRA || (extra == NULL && extra_len > 0)) {
        ctleaf_err(err, errlen, "extra_data: %zu bytes, limit %d", extra_len,
                   CTLEAF_MAX_EXTRA);
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL || (o->leaf = malloc(leaf_len)) == NULL ||
        (extra_len > 0 && (o->extra = malloc(extra_len)) == NULL)) {
        ctleaf_err(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(o->leaf, leaf_input, leaf_len);
    o->pub.leaf_input = o->leaf;
    o->pub.leaf_input_len = leaf_len;
    merkle_leaf_hash(o->leaf, leaf_len, o->pub.leaf_hash);
    if (ctleaf_parse_leaf(o, err, errlen) != 0 ||
        ctleaf_parse_cert(o, needles, err, errlen) != 0) {
        goto fail;
    }
    if (extra != NULL && extra_len > 0) {
        memcpy(o->extra, extra, extra_len);
        o->extra_len = extra_len;
        if (ctleaf_parse_extra(o, err, errlen) != 0) {
            goto fail;
        }
    }
    return &o->pub;
fail:
    ctleaf_free(o == NULL ? NULL : &o->pub);
    return NULL;
}

struct ctleaf *
ctleaf_parse_raw(const uint8_t *leaf_input, size_t leaf_len,
                 const uint8_t *extra, size_t extra_len, char *err,
                 size_t errlen)
{
    return ctleaf_parse_raw_n(leaf_input, leaf_len, extra, extra_len, NULL, err,
                              errlen);
}

/* Decode base64 text of at most max decoded bytes into a new buffer. */
static uint8_t *
ctleaf_b64(const char *in, size_t inlen, size_t max, size_t *outlen,
           const char *what, char *err, size_t errlen)
{
    uint8_t *buf;
    long n;
    size_t cap = inlen / 4 * 3;

    if (inlen > (max + 2) / 3 * 4) {
        ctleaf_err(err, errlen, "%s: over the limit of %zu bytes", what, max);
        return NULL;
    }
    buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        ctleaf_err(err, errlen, "out of memory");
        return NULL;
    }
    n = merkle_b64_decode(in, inlen, buf, cap);
    if (n < 0 || (size_t)n > max) {
        ctleaf_err(err, errlen, "%s: bad base64", what);
        free(buf);
        return NULL;
    }
    *outlen = (size_t)n;
    return buf;
}

static struct ctleaf *
ctleaf_parse_n(const char *leaf_b64, size_t leaf_len, const char *extra_b64,
               size_t extra_len, const struct fulcio_needles *needles,
               char *err, size_t errlen)
{
    uint8_t *leaf = NULL, *extra = NULL;
    size_t ln = 0, en = 0;
    struct ctleaf *l = NULL;

    if (leaf_b64 == NULL || leaf_len == 0) {
        ctleaf_err(err, errlen, "leaf_input: empty");
        return NULL;
    }
    leaf = ctleaf_b64(leaf_b64, leaf_len, CTLEAF_MAX_LEAF, &ln, "leaf_input",
                      err, errlen);
    if (leaf == NULL) {
        return NULL;
    }
    if (extra_b64 != NULL && extra_len > 0) {
        extra = ctleaf_b64(extra_b64, extra_len, CTLEAF_MAX_EXTRA, &en,
                           "extra_data", err, errlen);
        if (extra == NULL) {
            goto done;
        }
    }
    l = ctleaf_parse_raw_n(leaf, ln, extra, en, needles, err, errlen);
done:
    free(leaf);
    free(extra);
    return l;
}

struct ctleaf *
ctleaf_parse(const char *leaf_b64, size_t leaf_len, const char *extra_b64,
             size_t extra_len, char *err, size_t errlen)
{
    return ctleaf_parse_n(leaf_b64, leaf_len, extra_b64, extra_len, NULL, err,
                          errlen);
}

void
ctleaf_free(struct ctleaf *l)
{
    struct ctleaf_obj *o = (struct ctleaf_obj *)l;

    if (o == NULL) {
        return;
    }
    fulcio_cert_free(o->fc);
    free(o->leaf);
    free(o->extra);
    free(o);
}

void
ctleaf_array_free(struct ctleaf **a, size_t n)
{
    size_t i;

    if (a == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        ctleaf_free(a[i]);
    }
    free(a);
}

int
ctleaf_entries_parse(const char *json, size_t len, size_t max_entries,
                     struct ctleaf ***out, size_t *n, char *err, size_t errlen)
{
    return ctleaf_entries_parse_needles(json, len, max_entries, NULL, out, n,
                                        err, errlen);
}

int
ctleaf_entries_parse_needles(const char *json, size_t len, size_t max_entries,
                             const struct fulcio_needles *needles,
                             struct ctleaf ***out, size_t *n, char *err,
                             size_t errlen)
{
    json_t *root, *arr, *it;
    struct ctleaf **a = NULL;
    size_t i, cnt, ll, el;
    const char *ls, *es;
    char sub[CTLEAF_ERR_LEN], ctx[32];
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (max_entries > CTLEAF_MAX_ENTRIES) {
        max_entries = CTLEAF_MAX_ENTRIES;
    }
    root = ctleaf_json_load(json, len, CTLEAF_MAX_ENTRIES_JSON, "get-entries",
                            err, errlen);
    if (root == NULL) {
        return -1;
    }
    arr = json_object_get(root, "entries");
    if (!json_is_array(arr)) {
        ctleaf_err(err, errlen,
                   "get-entries: entries: missing or not an "
                   "array");
        goto done;
    }
    cnt = json_array_size(arr);
    if (cnt > max_entries) {
        ctleaf_err(err, errlen,
                   "get-entries: %zu entries, asked for at most "
                   "%zu",
                   cnt, max_entries);
        goto done;
    }
    a = calloc(cnt > 0 ? cnt : 1, sizeof(*a));
    if (a == NULL) {
        ctleaf_err(err, errlen, "out of memory");
        goto done;
    }
    for (i = 0; i < cnt; i++) {
        it = json_array_get(arr, i);
        (void)snprintf(ctx, sizeof(ctx), "entries[%zu]", i);
        if (!json_is_object(it)) {
            ctleaf_err(err, errlen, "get-entries: %s: not an object", ctx);
            goto done;
        }
        ls = ctleaf_json_str(it, "leaf_input", &ll, ctx, sub, sizeof(sub));
        es = ls == NULL ? NULL
                        : ctleaf_json_str(it, "extra_data", &el, ctx, sub,
                                          sizeof(sub));
        if (ls == NULL || es == NULL) {
            ctleaf_err(err, errlen, "get-entries: %s", sub);
            goto done;
        }
        a[i] = ctleaf_parse_n(ls, ll, es, el, needles, sub, sizeof(sub));
        if (a[i] == NULL) {
            ctleaf_err(err, errlen, "get-entries: %s: %s", ctx, sub);
            goto done;
        }
    }
    *out = a;
    *n = cnt;
    a = NULL;
    rc = 0;
done:
    if (a != NULL) {
        ctleaf_array_free(a, cnt);
    }
    json_decref(root);
    return rc;
}

int
ctleaf_precert_consistent(const struct ctleaf *l)
{
    const unsigned char *p;
    X509 *x = NULL;
    X509_EXTENSION *ext;
    ASN1_OBJECT *poison = NULL;
    unsigned char *tbs = NULL;
    int idx, n, ok = 0;

    if (l == NULL || l->type != CTLEAF_PRECERT || l->precert == NULL ||
        l->precert_len > FULCIO_MAX_DER) {
        return 0;
    }
    p = l->precert;
    x = d2i_X509(NULL, &p, (long)l->precert_len);
    if (x == NULL || p != l->precert + l->precert_len) {
        goto done;
    }
    poison = OBJ_txt2obj(CTLEAF_POISON_OID, 1);
    if (poison == NULL) {
        goto done;
    }
    idx = X509_get_ext_by_OBJ(x, poison, -1);
    if (idx < 0 || X509_get_ext_by_OBJ(x, poison, idx) >= 0) {
        goto done; /* no poison, or two */
    }
    ext = X509_delete_ext(x, idx);
    X509_EXTENSION_free(ext);
    n = i2d_re_X509_tbs(x, &tbs);
    ok = n > 0 && (size_t)n == l->cert_len &&
         memcmp(tbs, l->cert, l->cert_len) == 0;
done:
    OPENSSL_free(tbs);
    ASN1_OBJECT_free(poison);
    X509_free(x);
    ERR_clear_error();
    return ok;
}

int
ctleaf_issuer_in_root(const struct ctleaf *l,
                      const struct config_trusted_root *root, int64_t at)
{
    size_t i, nca;
    int j, n;

    if (l == NULL || root == NULL || l->type != CTLEAF_PRECERT) {
        return 0;
    }
    nca = config_trusted_root_ncas(root);
    for (i = 0; i < nca; i++) {
        const struct config_ca *ca = config_trusted_root_ca(root, i);

        if (ca == NULL || ca->chain == NULL ||
            !config_validity_covers(&ca->valid_for, at)) {
            continue;
        }
        n = sk_X509_num(ca->chain);
        for (j = 0; j < n; j++) {
            X509 *x = sk_X509_value(ca->chain, j);
            unsigned char *spki = NULL;
            uint8_t h[CTLEAF_HASH_LEN];
            int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
            int same = len > 0 && SHA256(spki, (size_t)len, h) != NULL &&
                       memcmp(h, l->issuer_key_hash, sizeof(h)) == 0;

            OPENSSL_free(spki);
            if (same) {
                return 1;
            }
        }
    }
    return 0;
}
