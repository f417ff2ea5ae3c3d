/*
 * ct.c: --ct, the RFC 6962 Certificate Transparency view of
 * tlogwatch-testlog: a CT log in the shape of Fulcio's
 * (ctfe.sigstore.dev/2022) that logs the precertificates and
 * certificates of the test log's Fulcio-like CA.
 *
 * Read API (RFC 6962 section 4; JSON; base64 is standard with padding;
 * errors are 400/404 with a text/plain message):
 *   GET /ct/v1/get-sth                {"tree_size","timestamp",
 *                                     "sha256_root_hash",
 *                                     "tree_head_signature"}
 *   GET /ct/v1/get-sth-consistency?first=M&second=N
 *                                     {"consistency":[b64...]}
 *                                     (0 < M <= N <= size; M == N: [])
 *   GET /ct/v1/get-proof-by-hash?hash=B64&tree_size=N
 *                                     {"leaf_index","audit_path":[b64]}
 *   GET /ct/v1/get-entries?start=S&end=E
 *                                     {"entries":[{"leaf_input",
 *                                     "extra_data"}]}: at most --ct-batch
 *                                     (default 256) entries, E clamped to
 *                                     size - 1; S >= size: 400
 *   GET /ct/v1/get-roots              {"certificates":[root, intermediate]}
 *
 * The STH: the tree head signature is a DigitallySigned (hash sha256 = 4,
 * signature ecdsa = 3, uint16 length, DER ECDSA P-256) over the
 * TreeHeadSignature (version v1 = 0, signature_type tree_hash = 1,
 * uint64 timestamp, uint64 tree_size, 32-byte root), signed with the log
 * key (log.pub; /admin/wrong-key: wrong-key.pub).  Its timestamp is the
 * current time in milliseconds, never earlier than the newest entry's.
 *
 * Leaves: a MerkleTreeLeaf (version v1 = 0, leaf_type timestamped_entry =
 * 0, uint64 timestamp ms, uint16 entry_type, then for x509_entry (0) the
 * DER certificate as uint24-length bytes, for precert_entry (1) the
 * issuer_key_hash (SHA-256 of the intermediate's SubjectPublicKeyInfo)
 * and the precertificate's TBSCertificate with the poison extension
 * (1.3.6.1.4.1.11129.2.4.3) removed, uint24-length; then uint16 0: no CT
 * extensions).  Leaf hash = SHA-256(0x00 || leaf_input).  extra_data:
 * x509_entry: the certificate_chain (uint24 list of uint24-length DER:
 * intermediate, root); precert_entry: the PrecertChainEntry (the
 * precertificate, uint24-length, then that chain).
 *
 * Certificates carry the Fulcio extensions 1.3.6.1.4.1.57264.1.* of
 * certs.c.  A precertificate is the certificate plus the critical poison
 * extension, signed by the same intermediate (no precertificate signing
 * certificate), so its TBSCertificate with the poison removed is exactly
 * the certificate's.  The certificate /admin/append returns for a
 * precert entry is, as Fulcio's, that certificate plus a non-critical
 * embedded SCT list (1.3.6.1.4.1.11129.2.4.2: an OCTET STRING holding the
 * TLS SignedCertificateTimestampList) with one v1 SCT by the log key (log
 * id = SHA-256 of its DER key, the leaf's timestamp, signature over the
 * precert_entry as RFC 6962 3.2 says), re-signed by the intermediate: its
 * TBSCertificate without that extension is the logged one.  Noise and
 * x509_entry certificates carry no SCT list.
 *
 * Noise: a pool of TL_CT_POOL GitHub identities (repositories
 * ct-noise-K/app-K), each with a certificate and a precertificate made
 * at startup, valid from the oldest noise timestamp (or the CA's start)
 * to a year ahead; noise leaf v is pool entry v % TL_CT_POOL, a certificate
 * when v % 4 == 3 and a precertificate otherwise, timestamped
 * integratedTime * 1000 + v % 1000 ms; rebuilt on demand (never stored).
 * Appended certificates (/admin/append in --ct) are stored leaves whose
 * extra_data is kept as the leaf's attestation; /admin/append-raw stores
 * any leaf_input bytes, served with an empty extra_data.
 *
 * Misbehaviour (admin.c): fork replaces a leaf with a variant (another
 * timestamp), rollback truncates, wrong-key signs STHs with the wrong
 * key, impossible serves an STH for its size and root, tamper serves
 * leaf_input with one byte flipped in its middle, drop withholds an index:
 * get-entries ends its batch before it (a batch that would start with it
 * is {"entries":[]}); fail, delay and rate apply as on every API path;
 * pad and trickle apply to get-entries; ct-freeze keeps serving the STH
 * of its call (a log that stops publishing heads while it grows).
 * rotate and misdirect answer 400.
 *
 * Invariant: a leaf's tree hash is always SHA-256(0x00 || the untampered
 * leaf_input get-entries serves for it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "merkle/merkle.h"
#include "testlog.h"

#define CT_POISON_OID "1.3.6.1.4.1.11129.2.4.3"
#define CT_SCT_LIST_OID "1.3.6.1.4.1.11129.2.4.2"

/* ------------------------------------------------------------ encoding */

static int
add_u8(struct tl_buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;

    return tl_buf_add(b, &c, 1);
}

static int
add_uint(struct tl_buf *b, uint64_t v, unsigned bytes)
{
    uint8_t p[8];
    unsigned i;

    for (i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    }
    return tl_buf_add(b, p, bytes);
}

/* uint24 length, then the bytes.  0 / -1 (too long). */
static int
add_u24_bytes(struct tl_buf *b, const uint8_t *p, size_t n)
{
    if (n > 0xffffff || add_uint(b, n, 3) != 0) {
        return -1;
    }
    return tl_buf_add(b, p, n);
}

static int
x509_der(X509 *x, uint8_t **out, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    if (n <= 0) {
        return -1;
    }
    *out = der;
    *len = (size_t)n;
    return 0;
}

int
tl_ct_leaf_build(int64_t ts_ms, int precert, const uint8_t ikh[TL_HASH_LEN],
                 const uint8_t *der, size_t len, struct tl_buf *out)
{
    tl_buf_reset(out);
    if (add_u8(out, 0) != 0 || add_u8(out, 0) != 0 ||
        add_uint(out, (uint64_t)ts_ms, 8) != 0 ||
        add_uint(out, precert ? 1 : 0, 2) != 0) {
        return -1;
    }
    if (precert && tl_buf_add(out, ikh, TL_HASH_LEN) != 0) {
        return -1;
    }
    if (add_u24_bytes(out, der, len) != 0 || add_uint(out, 0, 2) != 0) {
        return -1;
    }
    return 0;
}

/* extra_data: the chain (pre == NULL) or a PrecertChainEntry. */
static int
extra_build(const struct tl_ct *ct, const uint8_t *pre, size_t pre_len,
            struct tl_buf *out)
{
    tl_buf_reset(out);
    if (pre != NULL && add_u24_bytes(out, pre, pre_len) != 0) {
        return -1;
    }
    return tl_buf_add(out, ct->chain.p, ct->chain.len);
}

/* ------------------------------------------------------ certificates */

X509 *
tl_ct_precert(const struct tl_ca *ca, X509 *cert)
{
    X509 *pre = X509_dup(cert);
    ASN1_OBJECT *obj = OBJ_txt2obj(CT_POISON_OID, 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    static const unsigned char asn1_null[2] = {0x05, 0x00};

    if (pre == NULL || obj == NULL || val == NULL ||
        ASN1_OCTET_STRING_set(val, asn1_null, sizeof(asn1_null)) != 1) {
        goto err;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, val);
    if (ext == NULL || X509_add_ext(pre, ext, -1) != 1 ||
        X509_sign(pre, ca->inter_key.pkey, EVP_sha384()) <= 0) {
        goto err;
    }
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(val);
    return pre;
err:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(val);
    X509_free(pre);
    return NULL;
}

int
tl_ct_tbs_unpoisoned(X509 *pre, uint8_t **tbs, size_t *len)
{
    X509 *x = X509_dup(pre);
    ASN1_OBJECT *obj = OBJ_txt2obj(CT_POISON_OID, 1);
    unsigned char *der = NULL;
    int idx, n;

    if (x == NULL || obj == NULL) {
        goto err;
    }
    idx = X509_get_ext_by_OBJ(x, obj, -1);
    if (idx < 0) {
        goto err;
    }
    X509_EXTENSION_free(X509_delete_ext(x, idx));
    n = i2d_re_X509_tbs(x, &der);
    if (n <= 0) {
        goto err;
    }
    *tbs = der;
    *len = (size_t)n;
    X509_free(x);
    ASN1_OBJECT_free(obj);
    return 0;
err:
    X509_free(x);
    ASN1_OBJECT_free(obj);
    return -1;
}

/* Fill p with a certificate for c valid [nb, na] and its precertificate.
 * 0 / -1. */
static int
pool_entry(const struct tl_log *log, const struct tl_claims *c, int64_t nb,
           int64_t na, struct tl_ct_cert *p)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = NULL, *pre = NULL;
    int rc = -1;

    if (key == NULL) {
        return -1;
    }
    cert = tl_leaf_issue(&log->ca, key, c, nb, na);
    pre = cert != NULL ? tl_ct_precert(&log->ca, cert) : NULL;
    if (pre == NULL || x509_der(cert, &p->cert, &p->cert_len) != 0 ||
        x509_der(pre, &p->pre, &p->pre_len) != 0 ||
        tl_ct_tbs_unpoisoned(pre, &p->tbs, &p->tbs_len) != 0) {
        goto done;
    }
    rc = 0;
done:
    X509_free(cert);
    X509_free(pre);
    EVP_PKEY_free(key);
    return rc;
}

void
tl_ct_free(struct tl_ct *ct)
{
    size_t i;

    if (ct == NULL) {
        return;
    }
    for (i = 0; i < TL_CT_POOL; i++) {
        OPENSSL_free(ct->pool[i].cert);
        OPENSSL_free(ct->pool[i].pre);
        OPENSSL_free(ct->pool[i].tbs);
    }
    tl_buf_free(&ct->chain);
    free(ct->frozen);
    tl_buf_free(&ct->scratch);
    tl_buf_free(&ct->scratch2);
    free(ct);
}

int
tl_ct_init(struct tl_log *log, uint64_t n, uint64_t batch)
{
    struct tl_ct *ct = calloc(1, sizeof(*ct));
    uint8_t *der = NULL;
    size_t len, i;
    int64_t now = tl_now(), nb;

    if (ct == NULL || batch < 1 || batch > TL_CT_BATCH_MAX ||
        n > TL_MAX_ENTRIES || tl_log_size(log) != 0) {
        free(ct);
        return -1;
    }
    log->ct = ct;
    ct->batch = batch;
    log->genesis = now - (int64_t)(n / TL_NOISE_PER_SEC) - 1;
    log->last_time = log->genesis;
    /* noise certificates cover every noise timestamp, from the oldest
     * (never before the CA) to a year ahead (leaves /admin/grow adds) */
    nb = log->genesis - TL_CERT_BACKDATE;
    if (nb < log->ca.not_before) {
        nb = log->ca.not_before;
    }
    SHA256(log->ca.inter_key.spki, log->ca.inter_key.spki_len,
           ct->issuer_key_hash);
    /* certificate_chain: uint24 total, then each uint24-length DER */
    {
        struct tl_buf list = {0};
        int ok = x509_der(log->ca.inter, &der, &len) == 0 &&
                 add_u24_bytes(&list, der, len) == 0;

        OPENSSL_free(der);
        der = NULL;
        ok = ok && x509_der(log->ca.root, &der, &len) == 0 &&
             add_u24_bytes(&list, der, len) == 0 &&
             add_u24_bytes(&ct->chain, (const uint8_t *)list.p, list.len) == 0;
        OPENSSL_free(der);
        tl_buf_free(&list);
        if (!ok) {
            return -1;
        }
    }
    for (i = 0; i < TL_CT_POOL; i++) {
        struct tl_github g;
        struct tl_github_strs st;
        struct tl_claims c;
        char repo[64], sha[41], rid[24], oid[24];
        size_t k;

        memset(&g, 0, sizeof(g));
        snprintf(repo, sizeof(repo), "ct-noise-%zu/app-%zu", i, i);
        for (k = 0; k < 20; k++) {
            snprintf(sha + 2 * k, 3, "%02x",
                     (unsigned)(tl_mix64(log->seed + 31 * i + k) & 0xff));
        }
        snprintf(rid, sizeof(rid), "%zu", 700000000 + i);
        snprintf(oid, sizeof(oid), "%zu", 7000000 + i);
        g.repository = repo;
        g.repository_id = rid;
        g.owner_id = oid;
        g.workflow = ".github/workflows/release.yml";
        g.ref = "refs/heads/main";
        g.trigger = "push";
        g.runner_environment = "github-hosted";
        g.sha = sha;
        g.run_id = 20000000000ULL + i;
        if (tl_github_claims(&g, &st, &c) != 0 ||
            pool_entry(log, &c, nb, now + 366 * 86400LL, &ct->pool[i]) != 0) {
            return -1;
        }
    }
    return tl_log_grow_noise(log, n, 0);
}

int
tl_ct_noise_leaf(const struct tl_log *log, uint64_t v, int64_t t, uint64_t salt,
                 struct tl_buf *body, struct tl_buf *att)
{
    const struct tl_ct *ct = log->ct;
    const struct tl_ct_cert *p = &ct->pool[(v + salt) % TL_CT_POOL];
    int precert = v % 4 != 3;
    int64_t ms = t * 1000 + (int64_t)(v % 1000) + (int64_t)salt;

    if (tl_ct_leaf_build(ms, precert, ct->issuer_key_hash,
                         precert ? p->tbs : p->cert,
                         precert ? p->tbs_len : p->cert_len, body) != 0) {
        return -1;
    }
    if (att != NULL) {
        return extra_build(ct, precert ? p->pre : NULL, p->pre_len, att);
    }
    return 0;
}

int
tl_ct_append(struct tl_log *log, X509 *cert, X509 *pre, int64_t t,
             uint64_t *vindex)
{
    struct tl_ct *ct = log->ct;
    uint8_t *der = NULL, *pder = NULL;
    size_t len = 0, plen = 0;
    uint64_t v = tl_log_size(log);
    int64_t ms = t * 1000 + (int64_t)(v % 1000);
    int rc = -1;

    if (pre != NULL) {
        if (tl_ct_tbs_unpoisoned(pre, &der, &len) != 0 ||
            x509_der(pre, &pder, &plen) != 0) {
            goto done;
        }
    } else if (x509_der(cert, &der, &len) != 0) {
        goto done;
    }
    if (tl_ct_leaf_build(ms, pre != NULL, ct->issuer_key_hash, der, len,
                         &ct->scratch) != 0 ||
        extra_build(ct, pder, plen, &ct->scratch2) != 0 ||
        tl_log_append_body(log, (const uint8_t *)ct->scratch.p, ct->scratch.len,
                           (const uint8_t *)ct->scratch2.p, ct->scratch2.len, t,
                           vindex) != 0) {
        goto done;
    }
    rc = 0;
done:
    OPENSSL_free(der);
    OPENSSL_free(pder);
    return rc;
}

/* SignedCertificateTimestampList (RFC 6962 3.3) with one SCT for the
 * precert entry (tbs, ms) signed by the log key, into out.  0 / -1. */
static int
sct_list(struct tl_log *log, int64_t ms, const uint8_t *tbs, size_t tbs_len,
         struct tl_buf *out)
{
    struct tl_buf m = {0}, sct = {0};
    uint8_t sig[TL_SIG_MAX];
    size_t siglen = sizeof(sig);
    int rc = -1;

    /* digitally-signed struct: v1, certificate_timestamp, timestamp,
     * precert_entry, issuer_key_hash, TBS, no extensions */
    if (add_u8(&m, 0) != 0 || add_u8(&m, 0) != 0 ||
        add_uint(&m, (uint64_t)ms, 8) != 0 || add_uint(&m, 1, 2) != 0 ||
        tl_buf_add(&m, log->ct->issuer_key_hash, TL_HASH_LEN) != 0 ||
        add_u24_bytes(&m, tbs, tbs_len) != 0 || add_uint(&m, 0, 2) != 0 ||
        tl_sign_sha256(log->log_key.pkey, m.p, m.len, sig, &siglen) != 0) {
        goto done;
    }
    if (add_u8(&sct, 0) != 0 ||
        tl_buf_add(&sct, log->log_key.id, TL_HASH_LEN) != 0 ||
        add_uint(&sct, (uint64_t)ms, 8) != 0 || add_uint(&sct, 0, 2) != 0 ||
        add_u8(&sct, 4) != 0 || add_u8(&sct, 3) != 0 ||
        add_uint(&sct, siglen, 2) != 0 || tl_buf_add(&sct, sig, siglen) != 0) {
        goto done;
    }
    tl_buf_reset(out);
    if (add_uint(out, sct.len + 2, 2) != 0 || add_uint(out, sct.len, 2) != 0 ||
        tl_buf_add(out, sct.p, sct.len) != 0) {
        goto done;
    }
    rc = 0;
done:
    tl_buf_free(&m);
    tl_buf_free(&sct);
    return rc;
}

X509 *
tl_ct_final_cert(struct tl_log *log, X509 *cert, X509 *pre, int64_t ms)
{
    struct tl_buf list = {0};
    uint8_t *tbs = NULL;
    size_t tbs_len;
    unsigned char *inner = NULL;
    int inner_len;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(CT_SCT_LIST_OID, 1);
    X509_EXTENSION *ext = NULL;
    X509 *x = NULL;

    if (os == NULL || val == NULL || obj == NULL ||
        tl_ct_tbs_unpoisoned(pre, &tbs, &tbs_len) != 0 ||
        sct_list(log, ms, tbs, tbs_len, &list) != 0 ||
        ASN1_OCTET_STRING_set(os, (const unsigned char *)list.p,
                              (int)list.len) != 1 ||
        (inner_len = i2d_ASN1_OCTET_STRING(os, &inner)) <= 0 ||
        ASN1_OCTET_STRING_set(val, inner, inner_len) != 1) {
        goto err;
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val);
    x = X509_dup(cert);
    if (ext == NULL || x == NULL || X509_add_ext(x, ext, -1) != 1 ||
        X509_sign(x, log->ca.inter_key.pkey, EVP_sha384()) <= 0) {
        X509_free(x);
        x = NULL;
    }
err:
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(obj);
    ASN1_OCTET_STRING_free(os);
    ASN1_OCTET_STRING_free(val);
    OPENSSL_free(inner);
    OPENSSL_free(tbs);
    tl_buf_free(&list);
    return x;
}

/* ----------------------------------------------------------------- STH */

int
tl_ct_sth_sign(EVP_PKEY *key, uint64_t ts, uint64_t size,
               const uint8_t root[TL_HASH_LEN], struct tl_buf *out)
{
    struct tl_buf m = {0};
    uint8_t sig[TL_SIG_MAX];
    size_t siglen = sizeof(sig);
    int rc = -1;

    tl_buf_reset(out);
    if (add_u8(&m, 0) != 0 || add_u8(&m, 1) != 0 || add_uint(&m, ts, 8) != 0 ||
        add_uint(&m, size, 8) != 0 || tl_buf_add(&m, root, TL_HASH_LEN) != 0 ||
        tl_sign_sha256(key, m.p, m.len, sig, &siglen) != 0) {
        goto done;
    }
    if (add_u8(out, 4) != 0 || add_u8(out, 3) != 0 ||
        add_uint(out, siglen, 2) != 0 || tl_buf_add(out, sig, siglen) != 0) {
        goto done;
    }
    rc = 0;
done:
    tl_buf_free(&m);
    return rc;
}

static int
sth_json(struct tl_log *log, struct tl_buf *out)
{
    struct tl_shard *s = tl_log_active(log);
    struct tl_buf sig = {0};
    uint8_t root[TL_HASH_LEN];
    uint64_t size = s->tree.size;
    int64_t ts = tl_now() * 1000, floor = log->last_time * 1000 + 999;
    int rc = -1;

    if (log->imp_on) {
        size = log->imp_size;
        memcpy(root, log->imp_root, TL_HASH_LEN);
    } else {
        memcpy(root, tl_shard_root(log, s), TL_HASH_LEN);
    }
    if (ts < floor) {
        ts = floor;
    }
    if (tl_ct_sth_sign(log->wrong_key_on ? log->wrong_key.pkey
                                         : log->log_key.pkey,
                       (uint64_t)ts, size, root, &sig) != 0) {
        goto done;
    }
    tl_buf_reset(out);
    if (tl_buf_printf(out, "{\"tree_size\":%llu,\"timestamp\":%lld,",
                      (unsigned long long)size, (long long)ts) != 0 ||
        tl_buf_adds(out, "\"sha256_root_hash\":\"") != 0 ||
        tl_buf_add_b64(out, root, TL_HASH_LEN) != 0 ||
        tl_buf_adds(out, "\",\"tree_head_signature\":\"") != 0 ||
        tl_buf_add_b64(out, (const uint8_t *)sig.p, sig.len) != 0 ||
        tl_buf_adds(out, "\"}\n") != 0) {
        goto done;
    }
    rc = 0;
done:
    tl_buf_free(&sig);
    return rc;
}

/* ---------------------------------------------------------------- HTTP */

static int
q_u64(const struct evkeyvalq *q, const char *k, uint64_t *out)
{
    const char *s = evhttp_find_header(q, k);
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 20) {
        return -1;
    }
    v = strtoull(s, &end, 10);
    if (*end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

static int
err(struct tl_buf *out, const char *msg)
{
    tl_buf_reset(out);
    (void)tl_buf_printf(out, "%s\n", msg);
    return 400;
}

static int
add_hash_list(struct tl_buf *out, uint8_t (*h)[TL_HASH_LEN], size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if ((i > 0 && tl_buf_adds(out, ",") != 0) ||
            tl_buf_adds(out, "\"") != 0 ||
            tl_buf_add_b64(out, h[i], TL_HASH_LEN) != 0 ||
            tl_buf_adds(out, "\"") != 0) {
            return -1;
        }
    }
    return 0;
}

static int
get_consistency(struct tl_log *log, const struct evkeyvalq *q,
                struct tl_buf *out)
{
    struct tl_shard *s = tl_log_active(log);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    uint64_t m, n;
    size_t k = 0;

    if (q_u64(q, "first", &m) != 0 || q_u64(q, "second", &n) != 0 || m == 0 ||
        m > n || n > s->tree.size) {
        return err(out, "first and second: 0 < first <= second <= tree size");
    }
    if (m < n) {
        k = tl_tree_consistency(&s->tree, m, n, proof);
    }
    tl_buf_reset(out);
    if (tl_buf_adds(out, "{\"consistency\":[") != 0 ||
        add_hash_list(out, proof, k) != 0 || tl_buf_adds(out, "]}\n") != 0) {
        return 500;
    }
    return 200;
}

static int
get_proof_by_hash(struct tl_log *log, const struct evkeyvalq *q,
                  struct tl_buf *out)
{
    struct tl_shard *s = tl_log_active(log);
    uint8_t proof[TL_PROOF_MAX][TL_HASH_LEN];
    const char *h = evhttp_find_header(q, "hash");
    char fixed[64];
    uint8_t *leaf = NULL;
    size_t len = 0, k, i;
    uint64_t n, v;

    if (h == NULL || strlen(h) >= sizeof(fixed) ||
        q_u64(q, "tree_size", &n) != 0 || n == 0 || n > s->tree.size) {
        return err(out, "hash (base64) and tree_size (1..tree size) needed");
    }
    /* a '+' the client did not escape arrives as a space */
    for (i = 0; h[i] != '\0'; i++) {
        fixed[i] = h[i] == ' ' ? '+' : h[i];
    }
    fixed[i] = '\0';
    leaf = tl_b64_decode_new(fixed, i, &len);
    if (leaf == NULL || len != TL_HASH_LEN) {
        free(leaf);
        return err(out, "hash must be the base64 of 32 bytes");
    }
    if (tl_log_find_leaf(log, 0, 0, leaf, &v) != 0 || v >= n) {
        free(leaf);
        tl_buf_reset(out);
        (void)tl_buf_adds(out, "no leaf with that hash in the tree\n");
        return 404;
    }
    free(leaf);
    k = tl_tree_inclusion(&s->tree, v, n, proof);
    tl_buf_reset(out);
    if (tl_buf_printf(out, "{\"leaf_index\":%llu,\"audit_path\":[",
                      (unsigned long long)v) != 0 ||
        add_hash_list(out, proof, k) != 0 || tl_buf_adds(out, "]}\n") != 0) {
        return 500;
    }
    return 200;
}

static int
get_entries(struct tl_server *srv, const struct evkeyvalq *q,
            struct tl_buf *out)
{
    struct tl_log *log = srv->log;
    struct tl_shard *s = tl_log_active(log);
    struct tl_ct *ct = log->ct;
    uint64_t start, end, v;
    int has_att;

    if (q_u64(q, "start", &start) != 0 || q_u64(q, "end", &end) != 0 ||
        start > end) {
        return err(out, "start and end: 0 <= start <= end");
    }
    if (start >= s->tree.size) {
        return err(out, "start is beyond the tree size");
    }
    if (end >= s->tree.size) {
        end = s->tree.size - 1;
    }
    if (end - start >= ct->batch) {
        end = start + ct->batch - 1;
    }
    tl_buf_reset(out);
    if (tl_buf_adds(out, "{\"entries\":[") != 0) {
        return 500;
    }
    for (v = start; v <= end; v++) {
        const struct tl_buf *leaf = &ct->scratch;

        if (tl_rule_take(log->drop, &log->ndrop, v, NULL)) {
            srv->dropped++;
            break;
        }
        if (tl_log_leaf(log, s, v, &ct->scratch, &ct->scratch2, &has_att) !=
            0) {
            return 500;
        }
        if (tl_rule_take(log->tamper, &log->ntamper, v, NULL)) {
            ct->scratch.p[ct->scratch.len / 2] ^= 0x01;
        }
        if ((v > start && tl_buf_adds(out, ",") != 0) ||
            tl_buf_adds(out, "{\"leaf_input\":\"") != 0 ||
            tl_buf_add_b64(out, (const uint8_t *)leaf->p, leaf->len) != 0 ||
            tl_buf_adds(out, "\",\"extra_data\":\"") != 0 ||
            tl_buf_add_b64(out, (const uint8_t *)ct->scratch2.p,
                           has_att ? ct->scratch2.len : 0) != 0 ||
            tl_buf_adds(out, "\"}") != 0) {
            return 500;
        }
        srv->entries_served++;
    }
    if (tl_buf_adds(out, "]}\n") != 0) {
        return 500;
    }
    return 200;
}

static int
get_roots(struct tl_log *log, struct tl_buf *out)
{
    uint8_t *der = NULL;
    size_t len;
    int rc = 500;

    tl_buf_reset(out);
    if (tl_buf_adds(out, "{\"certificates\":[\"") != 0 ||
        x509_der(log->ca.root, &der, &len) != 0 ||
        tl_buf_add_b64(out, der, len) != 0) {
        goto done;
    }
    OPENSSL_free(der);
    der = NULL;
    if (tl_buf_adds(out, "\",\"") != 0 ||
        x509_der(log->ca.inter, &der, &len) != 0 ||
        tl_buf_add_b64(out, der, len) != 0 || tl_buf_adds(out, "\"]}\n") != 0) {
        goto done;
    }
    rc = 200;
done:
    OPENSSL_free(der);
    return rc;
}

int
tl_ct_freeze(struct tl_log *log, int on)
{
    struct tl_buf b = {0};

    free(log->ct->frozen);
    log->ct->frozen = NULL;
    if (!on) {
        return 0;
    }
    if (sth_json(log, &b) != 0) {
        tl_buf_free(&b);
        return -1;
    }
    log->ct->frozen = b.p; /* NUL-terminated, owned by ct now */
    return 0;
}

int
tl_ct_respond(struct tl_server *srv, enum tl_endpoint ep,
              const struct evkeyvalq *q, struct tl_buf *out)
{
    struct tl_log *log = srv->log;

    switch (ep) {
    case TL_EP_CT_STH:
        if (log->ct->frozen != NULL) {
            tl_buf_reset(out);
            return tl_buf_adds(out, log->ct->frozen) == 0 ? 200 : 500;
        }
        return sth_json(log, out) == 0 ? 200 : 500;
    case TL_EP_CT_CONSISTENCY:
        return get_consistency(log, q, out);
    case TL_EP_CT_PROOF:
        return get_proof_by_hash(log, q, out);
    case TL_EP_CT_ENTRIES:
        return get_entries(srv, q, out);
    case TL_EP_CT_ROOTS:
        return get_roots(log, out);
    default:
        tl_buf_reset(out);
        (void)tl_buf_adds(out, "not found\n");
        return 404;
    }
}

/* -------------------------------------------------------- trusted root */

int
tl_ct_trusted_root(const struct tl_log *log, const char *base_url,
                   struct tl_buf *out)
{
    struct tl_buf b = {0};
    json_t *doc = NULL, *tlogs, *entry;
    char *text = NULL;
    int rc = -1;

    if (tl_trusted_root_json(&log->log_key, "PKIX_ECDSA_P256_SHA_256", base_url,
                             &log->ca, log->genesis - 86400, &b) != 0) {
        goto done;
    }
    doc = json_loadb(b.p, b.len, 0, NULL);
    tlogs = doc != NULL ? json_object_get(doc, "tlogs") : NULL;
    entry = tlogs != NULL ? json_array_get(tlogs, 0) : NULL;
    if (entry == NULL ||
        json_object_set_new(doc, "ctlogs", json_pack("[O]", entry)) != 0 ||
        json_object_set_new(doc, "tlogs", json_array()) != 0) {
        goto done;
    }
    text = json_dumps(doc, JSON_INDENT(2));
    if (text == NULL || tl_buf_adds(out, text) != 0 ||
        tl_buf_adds(out, "\n") != 0) {
        goto done;
    }
    rc = 0;
done:
    free(text);
    json_decref(doc);
    tl_buf_free(&b);
    return rc;
}
