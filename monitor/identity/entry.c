/*
 * entry.c: Rekor v1 API entries, entry bodies, proof files, and the checks
 * that bind an entry to its log (see entry.h for the contract).
 *
 * Invariants kept here:
 *  - every length is checked against a named limit before a copy or a
 *    decode; base64 and hex go through merkle/'s canonical codecs;
 *  - error messages are fixed English text plus field names and numbers
 *    computed here, never bytes of the input;
 *  - certificates are found by following the documented schema of each
 *    entry kind; X.509 parsing is left to OpenSSL (PKCS7, DER sniffing)
 *    and to fulcio.h for claims.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/identity/entry.h"

/* Largest base64-of-PEM verifier inside a body that we decode. */
#define ENTRY_MAX_VERIFIER (64 * 1024)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- small pure parsers shared with bundle.c ---- */

int
entry_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s == NULL || len == 0 || len > 20) {
        return -1;
    }
    if (len > 1 && s[0] == '0') {
        return -1;
    }
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
entry_parse_hash_hex(const char *s, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
    if (s == NULL || len != 2 * MERKLE_HASH_LEN) {
        return -1;
    }
    return merkle_hex_decode(s, len, out, MERKLE_HASH_LEN) == MERKLE_HASH_LEN
               ? 0
               : -1;
}

int
entry_parse_hash_b64(const char *s, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
    if (s == NULL || len != 44) {
        return -1;
    }
    return merkle_b64_decode(s, len, out, MERKLE_HASH_LEN) == MERKLE_HASH_LEN
               ? 0
               : -1;
}

int
entry_b64_alloc(const char *s, size_t len, size_t max, uint8_t **out,
                size_t *outlen)
{
    uint8_t *buf;
    size_t cap;
    long n;

    *out = NULL;
    *outlen = 0;
    if (s == NULL || len % 4 != 0 || len / 4 > max / 3 + 1) {
        return -1;
    }
    cap = len / 4 * 3;
    buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        return -1;
    }
    n = merkle_b64_decode(s, len, buf, cap);
    if (n < 0 || (size_t)n > max) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = (size_t)n;
    return 0;
}

int
entry_proof_set_checkpoint(struct entry_proof *p, const char *s, size_t len)
{
    char *c;

    if (len > ENTRY_MAX_CHECKPOINT || memchr(s, '\0', len) != NULL) {
        return -1;
    }
    c = malloc(len + 1);
    if (c == NULL) {
        return -1;
    }
    memcpy(c, s, len);
    c[len] = '\0';
    free(p->checkpoint);
    p->checkpoint = c;
    p->checkpoint_len = len;
    return 0;
}

void
entry_compute_leaf(struct entry *e)
{
    merkle_leaf_hash(e->body, e->body_len, e->leaf_hash);
}

int
entry_set_attestation(struct entry *e, const char *s, size_t len)
{
    char *c = NULL;

    if (len > ENTRY_MAX_ATTESTATION_B64) {
        e->attestation_oversize = 1;
        len = 0;
    } else if (len > 0) {
        c = malloc(len + 1);
        if (c == NULL) {
            return -1;
        }
        memcpy(c, s, len);
        c[len] = '\0';
    }
    free(e->attestation_b64);
    e->attestation_b64 = c;
    e->attestation_b64_len = len;
    return 0;
}

/* A JSON integer >= 0. */
static int
json_u64(const json_t *v, uint64_t *out)
{
    json_int_t i;

    if (!json_is_integer(v)) {
        return -1;
    }
    i = json_integer_value(v);
    if (i < 0) {
        return -1;
    }
    *out = (uint64_t)i;
    return 0;
}

/* String value and length of v, or -1 if v is not a string. */
static int
json_str(const json_t *v, const char **s, size_t *len)
{
    if (!json_is_string(v)) {
        return -1;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* ---- entries ---- */

void
entry_proof_clear(struct entry_proof *p)
{
    if (p == NULL) {
        return;
    }
    free(p->checkpoint);
    memset(p, 0, sizeof(*p));
}

void
entry_free(struct entry *e)
{
    if (e == NULL) {
        return;
    }
    free(e->body);
    free(e->set);
    free(e->attestation_b64);
    entry_proof_clear(&e->proof);
    free(e);
}

/* Proof hashes from a JSON array of hex strings. */
static int
proof_hashes_hex(const json_t *arr, struct entry_proof *p, const char *field,
                 char *err, size_t errlen)
{
    size_t i;

    if (!json_is_array(arr)) {
        seterr(err, errlen, "%s: not an array", field);
        return -1;
    }
    if (json_array_size(arr) > ENTRY_MAX_PROOF) {
        seterr(err, errlen, "%s: more than %d hashes", field, ENTRY_MAX_PROOF);
        return -1;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        const char *s;
        size_t len;
        if (json_str(json_array_get(arr, i), &s, &len) != 0 ||
            entry_parse_hash_hex(s, len, p->hashes[i]) != 0) {
            seterr(err, errlen, "%s[%zu]: not a 64-digit hex hash", field, i);
            return -1;
        }
    }
    p->nhashes = json_array_size(arr);
    return 0;
}

int
entry_parse_uuid(struct entry *e, const char *key, char *err, size_t errlen)
{
    size_t len = strlen(key), i, off;

    if (len != 64 && len != 80) {
        seterr(err, errlen, "entry id: not 64 or 80 hex digits");
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = key[i];
        if (c >= 'A' && c <= 'F') {
            c = (char)(c - 'A' + 'a');
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            seterr(err, errlen, "entry id: not 64 or 80 hex digits");
            return -1;
        }
        e->uuid[i] = c;
    }
    e->uuid[len] = '\0';
    off = 0;
    if (len == 80) {
        uint8_t tid[8];
        if (merkle_hex_decode(e->uuid, 16, tid, sizeof(tid)) != 8) {
            seterr(err, errlen, "entry id: bad tree id");
            return -1;
        }
        e->tree_id = 0;
        for (i = 0; i < 8; i++) {
            e->tree_id = (e->tree_id << 8) | tid[i];
        }
        e->has_tree_id = 1;
        off = 16;
    }
    if (entry_parse_hash_hex(e->uuid + off, 64, e->uuid_leaf) != 0) {
        seterr(err, errlen, "entry id: bad leaf hash");
        return -1;
    }
    e->has_uuid_leaf = 1;
    return 0;
}

static int
parse_inclusion_proof(struct entry *e, const json_t *ip, char *err,
                      size_t errlen)
{
    struct entry_proof *p = &e->proof;
    const json_t *v;
    const char *s;
    size_t len;

    if (!json_is_object(ip)) {
        seterr(err, errlen, "verification.inclusionProof: not an object");
        return -1;
    }
    if (json_u64(json_object_get(ip, "logIndex"), &p->index) != 0) {
        seterr(err, errlen,
               "verification.inclusionProof.logIndex: missing or not an "
               "integer >= 0");
        return -1;
    }
    if (json_u64(json_object_get(ip, "treeSize"), &p->size) != 0) {
        seterr(err, errlen,
               "verification.inclusionProof.treeSize: missing or not an "
               "integer >= 0");
        return -1;
    }
    if (json_str(json_object_get(ip, "rootHash"), &s, &len) != 0 ||
        entry_parse_hash_hex(s, len, p->root) != 0) {
        seterr(err, errlen,
               "verification.inclusionProof.rootHash: missing or not a "
               "64-digit hex hash");
        return -1;
    }
    if (proof_hashes_hex(json_object_get(ip, "hashes"), p,
                         "verification.inclusionProof.hashes", err,
                         errlen) != 0) {
        return -1;
    }
    v = json_object_get(ip, "checkpoint");
    if (v != NULL && !json_is_null(v)) {
        if (json_str(v, &s, &len) != 0 ||
            entry_proof_set_checkpoint(p, s, len) != 0) {
            seterr(err, errlen,
                   "verification.inclusionProof.checkpoint: not a string of "
                   "at most %d bytes",
                   ENTRY_MAX_CHECKPOINT);
            return -1;
        }
    }
    p->has_tree = 1;
    p->has_index = 1;
    e->has_proof = 1;
    return 0;
}

struct entry *
entry_from_json(const json_t *element, char *err, size_t errlen)
{
    struct entry *e = NULL;
    const char *key, *s;
    const json_t *obj, *v, *ver;
    json_int_t t;
    size_t len;
    void *iter;

    if (!json_is_object(element) || json_object_size(element) != 1) {
        seterr(err, errlen, "entry: not an object with exactly one entry id");
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    iter = json_object_iter((json_t *)element);
    key = json_object_iter_key(iter);
    obj = json_object_iter_value(iter);
    if (entry_parse_uuid(e, key, err, errlen) != 0) {
        goto fail;
    }
    if (!json_is_object(obj)) {
        seterr(err, errlen, "entry: value is not an object");
        goto fail;
    }
    if (json_str(json_object_get(obj, "body"), &s, &len) != 0) {
        seterr(err, errlen, "body: missing or not a string");
        goto fail;
    }
    if (entry_b64_alloc(s, len, ENTRY_MAX_BODY, &e->body, &e->body_len) != 0) {
        seterr(err, errlen, "body: not canonical base64 of at most %d bytes",
               ENTRY_MAX_BODY);
        goto fail;
    }
    entry_compute_leaf(e);
    v = json_object_get(obj, "integratedTime");
    if (!json_is_integer(v) || (t = json_integer_value(v)) < 0) {
        seterr(err, errlen, "integratedTime: missing or not an integer >= 0");
        goto fail;
    }
    e->integrated_time = (int64_t)t;
    e->has_integrated_time = 1;
    if (json_u64(json_object_get(obj, "logIndex"), &e->log_index) != 0) {
        seterr(err, errlen, "logIndex: missing or not an integer >= 0");
        goto fail;
    }
    if (json_str(json_object_get(obj, "logID"), &s, &len) != 0 ||
        entry_parse_hash_hex(s, len, e->log_id) != 0) {
        seterr(err, errlen, "logID: missing or not a 64-digit hex hash");
        goto fail;
    }
    e->has_log_id = 1;
    v = json_object_get(obj, "attestation");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v)) {
            seterr(err, errlen, "attestation: not an object");
            goto fail;
        }
        v = json_object_get(v, "data");
        if (v != NULL && !json_is_null(v)) {
            if (json_str(v, &s, &len) != 0) {
                seterr(err, errlen, "attestation.data: not a string");
                goto fail;
            }
            if (entry_set_attestation(e, s, len) != 0) {
                seterr(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    ver = json_object_get(obj, "verification");
    if (ver != NULL && !json_is_null(ver)) {
        if (!json_is_object(ver)) {
            seterr(err, errlen, "verification: not an object");
            goto fail;
        }
        v = json_object_get(ver, "inclusionProof");
        if (v != NULL && !json_is_null(v) &&
            parse_inclusion_proof(e, v, err, errlen) != 0) {
            goto fail;
        }
        v = json_object_get(ver, "signedEntryTimestamp");
        if (v != NULL && !json_is_null(v)) {
            if (json_str(v, &s, &len) != 0 ||
                entry_b64_alloc(s, len, ENTRY_MAX_SET, &e->set, &e->set_len) !=
                    0 ||
                e->set_len == 0) {
                seterr(err, errlen,
                       "verification.signedEntryTimestamp: not base64 of "
                       "1 to %d bytes",
                       ENTRY_MAX_SET);
                goto fail;
            }
        }
    }
    return e;
fail:
    entry_free(e);
    return NULL;
}

struct entry *
entry_parse(const char *json, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    struct entry *e;

    if (len > ENTRY_MAX_JSON) {
        seterr(err, errlen, "entry larger than %d bytes", ENTRY_MAX_JSON);
        return NULL;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jerr.text may quote the input: report the position only. */
        seterr(err, errlen, "not valid JSON (line %d, column %d)", jerr.line,
               jerr.column);
        return NULL;
    }
    e = entry_from_json(root, err, errlen);
    json_decref(root);
    return e;
}

/* ---- proof files ---- */

static int
proof_json(const char *buf, size_t len, struct entry_proof *p, char *err,
           size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    const json_t *v;
    const char *s;
    size_t slen;
    int have_root = 0, have_size = 0, rc = -1;

    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        seterr(err, errlen, "proof: not valid JSON (line %d, column %d)",
               jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(root)) {
        seterr(err, errlen, "proof: not a JSON object");
        goto out;
    }
    if (proof_hashes_hex(json_object_get(root, "hashes"), p, "proof: hashes",
                         err, errlen) != 0) {
        goto out;
    }
    v = json_object_get(root, "rootHash");
    if (v != NULL) {
        if (json_str(v, &s, &slen) != 0 ||
            entry_parse_hash_hex(s, slen, p->root) != 0) {
            seterr(err, errlen, "proof: rootHash: not a 64-digit hex hash");
            goto out;
        }
        have_root = 1;
    }
    v = json_object_get(root, "treeSize");
    if (v != NULL) {
        if (json_u64(v, &p->size) != 0) {
            seterr(err, errlen, "proof: treeSize: not an integer >= 0");
            goto out;
        }
        have_size = 1;
    }
    if (have_root != have_size) {
        seterr(err, errlen, "proof: rootHash and treeSize come together");
        goto out;
    }
    p->has_tree = have_root;
    v = json_object_get(root, "logIndex");
    if (v != NULL) {
        if (json_u64(v, &p->index) != 0) {
            seterr(err, errlen, "proof: logIndex: not an integer >= 0");
            goto out;
        }
        p->has_index = 1;
    }
    v = json_object_get(root, "checkpoint");
    if (v != NULL && !json_is_null(v)) {
        if (json_str(v, &s, &slen) != 0 ||
            entry_proof_set_checkpoint(p, s, slen) != 0) {
            seterr(err, errlen,
                   "proof: checkpoint: not a string of at most "
                   "%d bytes",
                   ENTRY_MAX_CHECKPOINT);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static int
proof_text(const char *buf, size_t len, struct entry_proof *p, char *err,
           size_t errlen)
{
    size_t pos = 0, line = 0;

    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t llen = end - pos;

        line++;
        if (llen > 0 && buf[pos + llen - 1] == '\r') {
            llen--;
        }
        if (p->nhashes == ENTRY_MAX_PROOF) {
            seterr(err, errlen, "proof: more than %d hashes", ENTRY_MAX_PROOF);
            return -1;
        }
        if (entry_parse_hash_hex(buf + pos, llen, p->hashes[p->nhashes]) != 0) {
            seterr(err, errlen, "proof line %zu: not a 64-digit hex hash",
                   line);
            return -1;
        }
        p->nhashes++;
        pos = end + 1;
    }
    return 0;
}

int
entry_proof_file_parse(const char *buf, size_t len, struct entry_proof *out,
                       char *err, size_t errlen)
{
    size_t i = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > ENTRY_MAX_JSON) {
        seterr(err, errlen, "proof larger than %d bytes", ENTRY_MAX_JSON);
        return -1;
    }
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
                       buf[i] == '\n')) {
        i++;
    }
    if (i < len && buf[i] == '{') {
        rc = proof_json(buf, len, out, err, errlen);
    } else {
        rc = proof_text(buf, len, out, err, errlen);
    }
    if (rc != 0) {
        entry_proof_clear(out);
    }
    return rc;
}

/* ---- bodies ---- */

void
entry_body_free(struct entry_body *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < b->ncerts; i++) {
        free(b->certs[i].der);
    }
    free(b);
}

/* Add a DER certificate (copied), skipping duplicates. */
static int
body_add_cert(struct entry_body *b, const uint8_t *der, size_t len, char *err,
              size_t errlen)
{
    size_t i;
    uint8_t *copy;

    if (len == 0 || len > ENTRY_MAX_CERT_DER) {
        seterr(err, errlen, "certificate: empty or larger than %d bytes",
               ENTRY_MAX_CERT_DER);
        return -1;
    }
    for (i = 0; i < b->ncerts; i++) {
        if (b->certs[i].len == len && memcmp(b->certs[i].der, der, len) == 0) {
            return 0;
        }
    }
    if (b->ncerts == ENTRY_MAX_CERTS) {
        seterr(err, errlen, "more than %d certificates", ENTRY_MAX_CERTS);
        return -1;
    }
    copy = malloc(len);
    if (copy == NULL) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, der, len);
    b->certs[b->ncerts].der = copy;
    b->certs[b->ncerts].len = len;
    b->ncerts++;
    return 0;
}

/* Certificates of a DER PKCS7 signedData: the signers, else all. */
static int
body_add_pkcs7(struct entry_body *b, const uint8_t *der, size_t len, char *err,
               size_t errlen)
{
    const unsigned char *p = der;
    PKCS7 *p7;
    STACK_OF(X509) *signers = NULL, *certs;
    int i, rc = -1;

    p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (p7 == NULL || p != der + len || !PKCS7_type_is_signed(p7) ||
        p7->d.sign == NULL) {
        seterr(err, errlen, "PKCS7 signature: not a DER signedData");
        goto out;
    }
    signers = PKCS7_get0_signers(p7, NULL, 0);
    certs = signers != NULL ? signers : p7->d.sign->cert;
    for (i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
        unsigned char *out = NULL;
        int n = i2d_X509(sk_X509_value(certs, i), &out);
        int r;
        if (n <= 0) {
            seterr(err, errlen, "PKCS7 signature: certificate re-encoding");
            goto out;
        }
        r = body_add_cert(b, out, (size_t)n, err, errlen);
        OPENSSL_free(out);
        if (r != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    sk_X509_free(signers);
    PKCS7_free(p7);
    ERR_clear_error();
    return rc;
}

/* What a DER blob is: 1 certificate, 2 public key, 0 neither. */
static int
der_sniff(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x;
    EVP_PKEY *k;
    int kind = 0;

    x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p == der + len) {
        kind = 1;
    }
    X509_free(x);
    if (kind == 0) {
        p = der;
        k = d2i_PUBKEY(NULL, &p, (long)len);
        if (k != NULL && p == der + len) {
            kind = 2;
        }
        EVP_PKEY_free(k);
    }
    ERR_clear_error();
    return kind;
}

static int
is_b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/*
 * Walk the PEM blocks of text[0 .. len): certificates are added, public
 * keys counted, PKCS7 opened, anything else counted as other.
 */
static int
body_add_pem(struct entry_body *b, const char *text, size_t len, char *err,
             size_t errlen)
{
    static const char begin[] = "-----BEGIN ";
    const char *p = text, *end = text + len;
    uint8_t *b64 = NULL, *der = NULL;
    int nblocks = 0, rc = -1;

    b64 = malloc(len + 1);
    der = malloc(len + 1);
    if (b64 == NULL || der == NULL) {
        seterr(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        const char *lab, *labend, *q, *stop;
        char endmark[96];
        size_t lablen, n = 0;
        long dlen;

        while (p < end && (size_t)(end - p) >= sizeof(begin) - 1 &&
               memcmp(p, begin, sizeof(begin) - 1) != 0) {
            p++;
        }
        if ((size_t)(end - p) < sizeof(begin) - 1) {
            break;
        }
        lab = p + sizeof(begin) - 1;
        labend = lab;
        while (labend < end && *labend != '-' && *labend != '\n') {
            labend++;
        }
        lablen = (size_t)(labend - lab);
        if (lablen == 0 || lablen > 40 || end - labend < 5 ||
            memcmp(labend, "-----", 5) != 0) {
            seterr(err, errlen, "PEM: malformed BEGIN line");
            goto out;
        }
        snprintf(endmark, sizeof(endmark), "-----END %.*s-----", (int)lablen,
                 lab);
        q = labend + 5;
        stop = NULL;
        while (q < end) {
            unsigned char c = (unsigned char)*q;
            if (c == '-') {
                size_t ml = strlen(endmark);
                if ((size_t)(end - q) >= ml && memcmp(q, endmark, ml) == 0) {
                    stop = q + ml;
                }
                break;
            }
            if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
                q++;
                continue;
            }
            if (!is_b64_char(c)) {
                break;
            }
            b64[n++] = c;
            q++;
        }
        if (stop == NULL) {
            seterr(err, errlen, "PEM: block without a matching END line");
            goto out;
        }
        dlen = merkle_b64_decode((const char *)b64, n, der, len + 1);
        if (dlen <= 0) {
            seterr(err, errlen, "PEM: bad base64 inside a block");
            goto out;
        }
        if (lablen == 11 && memcmp(lab, "CERTIFICATE", 11) == 0) {
            if (body_add_cert(b, der, (size_t)dlen, err, errlen) != 0) {
                goto out;
            }
        } else if (lablen == 5 && memcmp(lab, "PKCS7", 5) == 0) {
            if (body_add_pkcs7(b, der, (size_t)dlen, err, errlen) != 0) {
                goto out;
            }
        } else if ((lablen == 10 && memcmp(lab, "PUBLIC KEY", 10) == 0) ||
                   (lablen == 13 && memcmp(lab, "EC PUBLIC KEY", 13) == 0) ||
                   (lablen == 14 && memcmp(lab, "RSA PUBLIC KEY", 14) == 0)) {
            b->nkeys++;
        } else {
            b->nother++;
        }
        if (++nblocks > ENTRY_MAX_CERTS) {
            seterr(err, errlen, "PEM: more than %d blocks", ENTRY_MAX_CERTS);
            goto out;
        }
        p = stop;
    }
    if (nblocks == 0) {
        b->nother++;
    }
    rc = 0;
out:
    free(b64);
    free(der);
    return rc;
}

/* A verifier in bytes: PEM text, DER certificate or key, or other. */
static int
body_add_verifier_bytes(struct entry_body *b, const uint8_t *v, size_t len,
                        char *err, size_t errlen)
{
    if (len >= 11 && memcmp(v, "-----BEGIN ", 11) == 0) {
        return body_add_pem(b, (const char *)v, len, err, errlen);
    }
    if (len > 0 && v[0] == 0x30 && len <= ENTRY_MAX_CERT_DER) {
        switch (der_sniff(v, len)) {
        case 1:
            return body_add_cert(b, v, len, err, errlen);
        case 2:
            b->nkeys++;
            return 0;
        default:
            break;
        }
    }
    b->nother++;
    return 0;
}

/* A verifier given as a JSON string of base64 (of PEM, usually). */
static int
body_add_verifier_b64(struct entry_body *b, const json_t *v, const char *field,
                      char *err, size_t errlen)
{
    const char *s;
    size_t len;
    uint8_t *raw;
    size_t rawlen;
    int rc;

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_str(v, &s, &len) != 0 ||
        entry_b64_alloc(s, len, ENTRY_MAX_VERIFIER, &raw, &rawlen) != 0) {
        seterr(err, errlen, "%s: not base64 of at most %d bytes", field,
               ENTRY_MAX_VERIFIER);
        return -1;
    }
    rc = body_add_verifier_bytes(b, raw, rawlen, err, errlen);
    free(raw);
    return rc;
}

/* A Rekor v2 verifier: {x509Certificate: {rawBytes}} | {publicKey: ...}. */
static int
body_add_verifier_v2(struct entry_body *b, const json_t *ver, const char *field,
                     char *err, size_t errlen)
{
    const json_t *c;
    const char *s;
    size_t len;
    uint8_t *der;
    size_t derlen;
    int rc;

    if (!json_is_object(ver)) {
        seterr(err, errlen, "%s: not an object", field);
        return -1;
    }
    c = json_object_get(ver, "x509Certificate");
    if (c == NULL) {
        if (json_object_get(ver, "publicKey") != NULL) {
            b->nkeys++;
        } else {
            b->nother++;
        }
        return 0;
    }
    if (!json_is_object(c) ||
        json_str(json_object_get(c, "rawBytes"), &s, &len) != 0 ||
        entry_b64_alloc(s, len, ENTRY_MAX_CERT_DER, &der, &derlen) != 0) {
        seterr(err, errlen,
               "%s.x509Certificate.rawBytes: not base64 of at most %d bytes",
               field, ENTRY_MAX_CERT_DER);
        return -1;
    }
    rc = body_add_cert(b, der, derlen, err, errlen);
    free(der);
    return rc;
}

/* Descend through objects by keys (NULL-terminated); NULL if absent. */
static const json_t *
jpath(const json_t *o, ...)
{
    va_list ap;
    const char *k;

    va_start(ap, o);
    while ((k = va_arg(ap, const char *)) != NULL) {
        if (!json_is_object(o)) {
            o = NULL;
            break;
        }
        o = json_object_get(o, k);
    }
    va_end(ap);
    return o;
}

/* An optional array of at most ENTRY_MAX_CERTS items. */
static int
sig_array(const json_t *a, const char *field, char *err, size_t errlen)
{
    if (a == NULL || json_is_null(a)) {
        return 0;
    }
    if (!json_is_array(a)) {
        seterr(err, errlen, "%s: not an array", field);
        return -1;
    }
    if (json_array_size(a) > ENTRY_MAX_CERTS) {
        seterr(err, errlen, "%s: more than %d signatures", field,
               ENTRY_MAX_CERTS);
        return -1;
    }
    return 0;
}

static int
body_kind(struct entry_body *b, const json_t *spec, char *err, size_t errlen)
{
    const char *k = b->kind, *v = b->api_version;
    const json_t *a;
    size_t i;

    if (strcmp(k, "hashedrekord") == 0 && strcmp(v, "0.0.2") == 0) {
        return body_add_verifier_v2(b,
                                    jpath(spec, "hashedRekordV002", "signature",
                                          "verifier", (const char *)NULL),
                                    "spec.hashedRekordV002.signature.verifier",
                                    err, errlen);
    }
    if (strcmp(k, "dsse") == 0 && strcmp(v, "0.0.2") == 0) {
        a = jpath(spec, "dsseV002", "signatures", (const char *)NULL);
        if (sig_array(a, "spec.dsseV002.signatures", err, errlen) != 0) {
            return -1;
        }
        for (i = 0; a != NULL && i < json_array_size(a); i++) {
            if (body_add_verifier_v2(
                    b,
                    jpath(json_array_get(a, i), "verifier", (const char *)NULL),
                    "spec.dsseV002.signatures[].verifier", err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (strcmp(k, "hashedrekord") == 0) {
        return body_add_verifier_b64(b,
                                     jpath(spec, "signature", "publicKey",
                                           "content", (const char *)NULL),
                                     "spec.signature.publicKey.content", err,
                                     errlen);
    }
    if (strcmp(k, "rekord") == 0) {
        const json_t *fmt =
            jpath(spec, "signature", "format", (const char *)NULL);
        const json_t *c = jpath(spec, "signature", "publicKey", "content",
                                (const char *)NULL);
        if (json_is_string(fmt) &&
            strcmp(json_string_value(fmt), "x509") != 0) {
            if (c != NULL) {
                b->nother++;
            }
            return 0;
        }
        return body_add_verifier_b64(b, c, "spec.signature.publicKey.content",
                                     err, errlen);
    }
    if (strcmp(k, "intoto") == 0 && strcmp(v, "0.0.2") == 0) {
        a = jpath(spec, "content", "envelope", "signatures",
                  (const char *)NULL);
        if (sig_array(a, "spec.content.envelope.signatures", err, errlen) !=
            0) {
            return -1;
        }
        for (i = 0; a != NULL && i < json_array_size(a); i++) {
            if (body_add_verifier_b64(
                    b,
                    jpath(json_array_get(a, i), "publicKey",
                          (const char *)NULL),
                    "spec.content.envelope.signatures[].publicKey", err,
                    errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (strcmp(k, "intoto") == 0 || strcmp(k, "cose") == 0) {
        return body_add_verifier_b64(
            b, jpath(spec, "publicKey", (const char *)NULL), "spec.publicKey",
            err, errlen);
    }
    if (strcmp(k, "dsse") == 0) {
        a = jpath(spec, "signatures", (const char *)NULL);
        if (sig_array(a, "spec.signatures", err, errlen) != 0) {
            return -1;
        }
        for (i = 0; a != NULL && i < json_array_size(a); i++) {
            if (body_add_verifier_b64(
                    b,
                    jpath(json_array_get(a, i), "verifier", (const char *)NULL),
                    "spec.signatures[].verifier", err, errlen) != 0) {
                return -1;
            }
        }
        return 0;
    }
    if (strcmp(k, "jar") == 0) {
        if (body_add_verifier_b64(
                b, jpath(spec, "signature", "content", (const char *)NULL),
                "spec.signature.content", err, errlen) != 0) {
            return -1;
        }
        if (b->ncerts > 0) {
            return 0;
        }
        return body_add_verifier_b64(b,
                                     jpath(spec, "signature", "publicKey",
                                           "content", (const char *)NULL),
                                     "spec.signature.publicKey.content", err,
                                     errlen);
    }
    return 0; /* a kind without a certificate we know of */
}

/* Copy a short identifier made of [a-z0-9.] into out. */
static int
copy_ident(const json_t *v, char *out, size_t outcap)
{
    const char *s;
    size_t len, i;

    if (json_str(v, &s, &len) != 0 || len == 0 || len >= outcap) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-')) {
            return -1;
        }
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

struct entry_body *
entry_body_decode(const uint8_t *body, size_t len, char *err, size_t errlen)
{
    struct entry_body *b = NULL;
    json_error_t jerr;
    json_t *root;
    const json_t *spec;

    if (len > ENTRY_MAX_BODY) {
        seterr(err, errlen, "body larger than %d bytes", ENTRY_MAX_BODY);
        return NULL;
    }
    root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        seterr(err, errlen, "body: not valid JSON (line %d, column %d)",
               jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        seterr(err, errlen, "body: not a JSON object");
        goto fail;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        seterr(err, errlen, "out of memory");
        goto fail;
    }
    if (copy_ident(json_object_get(root, "kind"), b->kind, sizeof(b->kind)) !=
        0) {
        seterr(err, errlen, "body: kind: missing or not a short identifier");
        goto fail;
    }
    if (copy_ident(json_object_get(root, "apiVersion"), b->api_version,
                   sizeof(b->api_version)) != 0) {
        seterr(err, errlen,
               "body: apiVersion: missing or not a short version string");
        goto fail;
    }
    spec = json_object_get(root, "spec");
    if (!json_is_object(spec)) {
        seterr(err, errlen, "body: spec: missing or not an object");
        goto fail;
    }
    if (body_kind(b, spec, err, errlen) != 0) {
        goto fail;
    }
    json_decref(root);
    return b;
fail:
    entry_body_free(b);
    json_decref(root);
    return NULL;
}

/* ---- checks ---- */

static void check_set(struct entry_check *c, enum entry_verdict v,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
check_set(struct entry_check *c, enum entry_verdict v, const char *fmt, ...)
{
    va_list ap;

    c->verdict = v;
    c->reason[0] = '\0';
    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
        va_end(ap);
    }
}

const char *
entry_check_string(const struct entry_check *c, char *buf, size_t buflen)
{
    switch (c->verdict) {
    case ENTRY_CHECK_OK:
        snprintf(buf, buflen, "ok");
        break;
    case ENTRY_CHECK_FAILED:
        snprintf(buf, buflen, "failed: %s", c->reason);
        break;
    default:
        snprintf(buf, buflen, "skipped: %s", c->reason);
        break;
    }
    return buf;
}

int
entry_key_log_id(EVP_PKEY *pkey, const char *name, uint8_t out[MERKLE_HASH_LEN])
{
    unsigned char *spki = NULL;
    int n;

    if (pkey == NULL) {
        return -1;
    }
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
        uint8_t buf[MERKLE_NOTE_MAX_NAME + 2 + 32];
        size_t nlen = name != NULL ? strlen(name) : 0, rawlen = 32;

        if (nlen == 0 || nlen > MERKLE_NOTE_MAX_NAME) {
            return -1;
        }
        memcpy(buf, name, nlen);
        buf[nlen] = 0x0a;
        buf[nlen + 1] = 0x01;
        if (EVP_PKEY_get_raw_public_key(pkey, buf + nlen + 2, &rawlen) != 1 ||
            rawlen != 32) {
            ERR_clear_error();
            return -1;
        }
        SHA256(buf, nlen + 2 + rawlen, out);
        return 0;
    }
    n = i2d_PUBKEY(pkey, &spki);
    if (n <= 0) {
        ERR_clear_error();
        return -1;
    }
    SHA256(spki, (size_t)n, out);
    OPENSSL_free(spki);
    return 0;
}

/* Split a checkpoint note: signed text length and the parsed checkpoint. */
static enum merkle_result
checkpoint_of(const char *note, size_t len, struct merkle_checkpoint *cp)
{
    struct merkle_note_result res;
    enum merkle_result r;

    r = merkle_note_parse(note, len, &res);
    if (r != MERKLE_OK) {
        return r;
    }
    return merkle_checkpoint_parse(note, res.text_len, cp);
}

/* Tree id at the end of an origin "<name> - <decimal>", or -1. */
static int
origin_tree_id(const char *origin, uint64_t *out)
{
    const char *dash = strstr(origin, " - ");
    const char *last = NULL;

    while (dash != NULL) {
        last = dash;
        dash = strstr(dash + 1, " - ");
    }
    if (last == NULL) {
        return -1;
    }
    return entry_parse_u64(last + 3, strlen(last + 3), out);
}

void
entry_check_uuid(const struct entry *e, struct entry_check *out)
{
    struct merkle_checkpoint cp;
    uint64_t tid;

    if (!e->has_uuid_leaf) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no entry id");
        return;
    }
    if (!merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) {
        check_set(out, ENTRY_CHECK_FAILED,
                  "the body's leaf hash differs from the entry id");
        return;
    }
    if (e->has_tree_id && e->has_proof && e->proof.checkpoint != NULL &&
        checkpoint_of(e->proof.checkpoint, e->proof.checkpoint_len, &cp) ==
            MERKLE_OK &&
        origin_tree_id(cp.origin, &tid) == 0 && tid != e->tree_id) {
        check_set(out, ENTRY_CHECK_FAILED,
                  "tree id %llu in the entry id differs from the checkpoint "
                  "origin's %llu",
                  (unsigned long long)e->tree_id, (unsigned long long)tid);
        return;
    }
    check_set(out, ENTRY_CHECK_OK, NULL);
}

void
entry_check_inclusion(const struct entry *e, struct entry_check *out)
{
    const struct entry_proof *p = &e->proof;
    struct merkle_checkpoint cp;
    enum merkle_result r;

    if (!e->has_proof) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no inclusion proof");
        return;
    }
    if (!p->has_tree || !p->has_index) {
        check_set(out, ENTRY_CHECK_FAILED,
                  "inclusion proof without index, size or root");
        return;
    }
    r = merkle_verify_inclusion(p->index, p->size, e->leaf_hash,
                                (const uint8_t(*)[MERKLE_HASH_LEN])p->hashes,
                                p->nhashes, p->root);
    if (r != MERKLE_OK) {
        check_set(out, ENTRY_CHECK_FAILED, "%s", merkle_strerror(r));
        return;
    }
    if (p->checkpoint != NULL) {
        r = checkpoint_of(p->checkpoint, p->checkpoint_len, &cp);
        if (r != MERKLE_OK) {
            check_set(out, ENTRY_CHECK_FAILED, "checkpoint: %s",
                      merkle_strerror(r));
            return;
        }
        if (cp.size != p->size) {
            check_set(out, ENTRY_CHECK_FAILED,
                      "checkpoint size %llu differs from the proof's tree "
                      "size %llu",
                      (unsigned long long)cp.size, (unsigned long long)p->size);
            return;
        }
        if (!merkle_hash_equal(cp.root, p->root)) {
            check_set(out, ENTRY_CHECK_FAILED,
                      "checkpoint root differs from the proof's root hash");
            return;
        }
    }
    check_set(out, ENTRY_CHECK_OK, NULL);
}

struct merkle_note_key *
entry_note_key(EVP_PKEY *pkey, const char *name, enum merkle_result *r)
{
    struct merkle_note_key *k = NULL;

    *r = MERKLE_ERR_KEY;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
        uint8_t raw[32];
        size_t rawlen = sizeof(raw);
        if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) == 1 &&
            rawlen == sizeof(raw)) {
            k = merkle_note_key_ed25519(name, raw, r);
        }
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        unsigned char *spki = NULL;
        int n = i2d_PUBKEY(pkey, &spki);
        if (n > 0) {
            k = merkle_note_key_ecdsa(name, spki, (size_t)n, r);
        }
        OPENSSL_free(spki);
    }
    ERR_clear_error();
    return k;
}

void
entry_check_checkpoint(const struct entry *e, const struct entry_log_key *key,
                       struct entry_check *out)
{
    const struct entry_proof *p = &e->proof;
    struct merkle_checkpoint cp;
    struct merkle_note_key *k;
    char name[MERKLE_NOTE_MAX_NAME];
    enum merkle_result r;

    if (!e->has_proof || p->checkpoint == NULL) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no checkpoint");
        return;
    }
    if (key == NULL || key->pkey == NULL) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no log key given");
        return;
    }
    r = checkpoint_of(p->checkpoint, p->checkpoint_len, &cp);
    if (r != MERKLE_OK) {
        check_set(out, ENTRY_CHECK_FAILED, "checkpoint: %s",
                  merkle_strerror(r));
        return;
    }
    if (key->name != NULL) {
        snprintf(name, sizeof(name), "%s", key->name);
    } else {
        size_t n = strcspn(cp.origin, " ");
        if (n == 0 || n >= sizeof(name)) {
            check_set(out, ENTRY_CHECK_FAILED,
                      "no signer name in the checkpoint origin");
            return;
        }
        memcpy(name, cp.origin, n);
        name[n] = '\0';
    }
    k = entry_note_key(key->pkey, name, &r);
    if (k == NULL) {
        check_set(out, ENTRY_CHECK_FAILED, "log key: %s", merkle_strerror(r));
        return;
    }
    r = merkle_note_verify(p->checkpoint, p->checkpoint_len,
                           (struct merkle_note_key *const *)&k, 1, NULL);
    merkle_note_key_free(k);
    if (r != MERKLE_OK) {
        check_set(out, ENTRY_CHECK_FAILED, "%s", merkle_strerror(r));
        return;
    }
    check_set(out, ENTRY_CHECK_OK, NULL);
}

void
entry_check_set(const struct entry *e, const struct entry_log_key *key,
                struct entry_check *out)
{
    char *msg = NULL, *b64 = NULL;
    char logid[2 * MERKLE_HASH_LEN + 1];
    uint8_t kid[MERKLE_HASH_LEN];
    size_t b64cap, msgcap;
    EVP_MD_CTX *ctx = NULL;
    const EVP_MD *md;
    int n;

    if (e->set == NULL) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no signed entry timestamp");
        return;
    }
    if (key == NULL || key->pkey == NULL) {
        check_set(out, ENTRY_CHECK_SKIPPED, "no log key given");
        return;
    }
    if (!e->has_integrated_time || !e->has_log_id) {
        check_set(out, ENTRY_CHECK_FAILED,
                  "a SET needs integratedTime and the log id");
        return;
    }
    if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_ED25519 &&
        entry_key_log_id(key->pkey, NULL, kid) == 0 &&
        !merkle_hash_equal(kid, e->log_id)) {
        check_set(out, ENTRY_CHECK_FAILED,
                  "the key is not the key of the entry's log id");
        return;
    }
    b64cap = (e->body_len + 2) / 3 * 4 + 1;
    msgcap = b64cap + 192;
    b64 = malloc(b64cap);
    msg = malloc(msgcap);
    if (b64 == NULL || msg == NULL ||
        merkle_b64_encode(e->body, e->body_len, b64, b64cap) < 0 ||
        merkle_hex_encode(e->log_id, MERKLE_HASH_LEN, logid, sizeof(logid)) <
            0) {
        check_set(out, ENTRY_CHECK_FAILED, "out of memory");
        goto out;
    }
    n = snprintf(msg, msgcap,
                 "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\","
                 "\"logIndex\":%llu}",
                 b64, (long long)e->integrated_time, logid,
                 (unsigned long long)e->log_index);
    if (n < 0 || (size_t)n >= msgcap) {
        check_set(out, ENTRY_CHECK_FAILED, "canonical JSON does not fit");
        goto out;
    }
    md = EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_ED25519 ? NULL
                                                             : EVP_sha256();
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL ||
        EVP_DigestVerifyInit(ctx, NULL, md, NULL, key->pkey) != 1) {
        check_set(out, ENTRY_CHECK_FAILED, "log key unusable for a SET");
        goto out;
    }
    if (EVP_DigestVerify(ctx, e->set, e->set_len, (const unsigned char *)msg,
                         (size_t)n) != 1) {
        check_set(out, ENTRY_CHECK_FAILED, "signature does not verify");
        goto out;
    }
    check_set(out, ENTRY_CHECK_OK, NULL);
out:
    EVP_MD_CTX_free(ctx);
    free(b64);
    free(msg);
    ERR_clear_error();
}
