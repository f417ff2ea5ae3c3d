/*
 * test_ctleaf.c: monitor/identity/ctleaf (RFC 6962 STHs and entries).
 *
 *  - STHs: real tree heads signed by Go's CT library (tests/data/ct, see
 *    its PROVENANCE.md) verify with their keys and not with the other key
 *    nor with the Sigstore CT log key of the real trusted root; every
 *    field change breaks the signature; an RSA log key is exercised with a
 *    key and STH the test makes; evidence text round-trips and verifies.
 *  - Entries: x509_entry and precert_entry leaves built from the real
 *    Fulcio leaf certificates ($TLOGWATCH_TESTDATA/fulcio/leaf): the
 *    precert's TBSCertificate is the certificate's with the SCT list
 *    extension removed, as Fulcio logged it.  Claims from the CT entry
 *    equal the claims fulcio reads from the final certificate (as in a
 *    Rekor entry), link_id equals the final certificate's, the leaf hash
 *    equals SHA-256(0x00 || leaf_input) computed here.
 *  - Hostile input: every truncation, trailing bytes, bad versions and
 *    types, limits, bad base64, bad JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/fulcio.h"

#define SCT_OID "1.3.6.1.4.1.11129.2.4.2"
#define POISON_OID "1.3.6.1.4.1.11129.2.4.3"

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *
read_file(const char *env, const char *rel, size_t *len)
{
    const char *base = getenv(env);
    char path[4096];
    FILE *f;
    uint8_t *buf;
    long n;

    assert_non_null(base);
    assert_true(snprintf(path, sizeof(path), "%s/%s", base, rel) <
                (int)sizeof(path));
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static EVP_PKEY *
load_pub(const char *rel)
{
    size_t n;
    uint8_t *pem = read_file("TLOGWATCH_SRC", rel, &n);
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);

    assert_non_null(k);
    BIO_free(b);
    free(pem);
    return k;
}

static X509 *
load_cert_td(const char *rel)
{
    size_t n;
    uint8_t *pem = read_file("TLOGWATCH_TESTDATA", rel, &n);
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

    assert_non_null(x);
    BIO_free(b);
    free(pem);
    return x;
}

static struct config_trusted_root *
load_root(void)
{
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;

    assert_true(snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json",
                         getenv("TLOGWATCH_TESTDATA")) < (int)sizeof(path));
    r = config_trusted_root_load(path, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    return r;
}

/* Growable byte buffer for building TLS structures. */
struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void
buf_put(struct buf *b, const void *d, size_t n)
{
    if (d == NULL || n == 0) {
        return;
    }
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void
buf_uint(struct buf *b, uint64_t v, int bytes)
{
    uint8_t t[8];
    int i;

    for (i = 0; i < bytes; i++) {
        t[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    }
    buf_put(b, t, (size_t)bytes);
}

static char *
b64(const uint8_t *d, size_t n)
{
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *s = malloc(cap);

    assert_non_null(s);
    assert_true(merkle_b64_encode(d, n, s, cap) >= 0);
    return s;
}

static size_t
der_of(X509 *x, uint8_t **out)
{
    int n;

    *out = NULL;
    n = i2d_X509(x, out);
    assert_true(n > 0);
    return (size_t)n;
}

/* x with extension oid removed (a copy; the original is unchanged). */
static X509 *
without_ext(X509 *x, const char *oid)
{
    X509 *d = X509_dup(x);
    ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
    int idx;

    assert_non_null(d);
    idx = X509_get_ext_by_OBJ(d, o, -1);
    assert_true(idx >= 0);
    X509_EXTENSION_free(X509_delete_ext(d, idx));
    ASN1_OBJECT_free(o);
    return d;
}

/* The logged TBSCertificate of a final certificate: SCT list removed. */
static size_t
precert_tbs(X509 *x, uint8_t **out)
{
    X509 *d = without_ext(x, SCT_OID);
    int n;

    *out = NULL;
    n = i2d_re_X509_tbs(d, out);
    assert_true(n > 0);
    X509_free(d);
    return (size_t)n;
}

/* The precertificate: SCT list removed, critical poison added. */
static size_t
precert_der(X509 *x, uint8_t **out)
{
    X509 *d = without_ext(x, SCT_OID);
    ASN1_OBJECT *o = OBJ_txt2obj(POISON_OID, 1);
    ASN1_OCTET_STRING *null = ASN1_OCTET_STRING_new();
    static const uint8_t asn1_null[2] = {0x05, 0x00};
    X509_EXTENSION *e;
    size_t n;

    assert_true(ASN1_OCTET_STRING_set(null, asn1_null, 2) == 1);
    e = X509_EXTENSION_create_by_OBJ(NULL, o, 1, null);
    assert_non_null(e);
    assert_true(X509_add_ext(d, e, -1) == 1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(null);
    ASN1_OBJECT_free(o);
    /* X509_add_ext/X509_delete_ext do not drop OpenSSL's cached TBS
     * encoding; i2d_re_X509_tbs does, so i2d_X509 re-encodes. */
    assert_true(i2d_re_X509_tbs(d, NULL) > 0);
    n = der_of(d, out);
    X509_free(d);
    return n;
}

/* MerkleTreeLeaf bytes. */
static void
make_leaf(struct buf *b, int type, uint64_t ts, const uint8_t *ikh,
          const uint8_t *cert, size_t certlen, const uint8_t *ext,
          size_t extlen)
{
    buf_uint(b, 0, 1);
    buf_uint(b, 0, 1);
    buf_uint(b, ts, 8);
    buf_uint(b, (uint64_t)type, 2);
    if (type == 1) {
        buf_put(b, ikh, 32);
    }
    buf_uint(b, certlen, 3);
    buf_put(b, cert, certlen);
    buf_uint(b, extlen, 2);
    if (extlen > 0) {
        buf_put(b, ext, extlen);
    }
}

static void
chain_add(struct buf *b, const uint8_t *c, size_t n)
{
    buf_uint(b, n, 3);
    buf_put(b, c, n);
}

static void
assert_str_eq_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
    } else {
        assert_string_equal(a, b);
    }
}

static void
assert_claims_equal(const struct fulcio_claims *a,
                    const struct fulcio_claims *b)
{
    unsigned i;

    assert_int_equal(a->san_type, b->san_type);
    assert_str_eq_null(a->san, b->san);
    assert_str_eq_null(a->issuer, b->issuer);
    assert_str_eq_null(a->issuer_cn, b->issuer_cn);
    assert_true(a->not_before == b->not_before);
    assert_true(a->not_after == b->not_after);
    for (i = 0; i <= FULCIO_EXT_MAX; i++) {
        assert_str_eq_null(a->ext[i], b->ext[i]);
    }
    assert_str_eq_null(a->repository, b->repository);
    assert_str_eq_null(a->repository_id, b->repository_id);
    assert_str_eq_null(a->workflow_path, b->workflow_path);
    assert_str_eq_null(a->workflow_ref, b->workflow_ref);
    assert_str_eq_null(a->build_signer_uri, b->build_signer_uri);
    assert_str_eq_null(a->workflow_sha, b->workflow_sha);
    assert_str_eq_null(a->runner_environment, b->runner_environment);
    assert_str_eq_null(a->trigger, b->trigger);
    assert_str_eq_null(a->run_invocation_uri, b->run_invocation_uri);
}

/* ---- STH ---------------------------------------------------------------- */

static struct ctleaf_sth *
parse_sth_file(const char *rel)
{
    size_t n;
    uint8_t *j = read_file("TLOGWATCH_SRC", rel, &n);
    struct ctleaf_sth *s = malloc(sizeof(*s));
    char err[CTLEAF_ERR_LEN];

    assert_non_null(s);
    if (ctleaf_sth_parse((const char *)j, n, s, err, sizeof(err)) != 0) {
        fail_msg("%s: %s", rel, err);
    }
    free(j);
    return s;
}

static void
test_sth_real(void **state)
{
    struct config_log_key km = {0}, kb = {0};
    struct ctleaf_sth *mi = parse_sth_file("tests/data/ct/sth_m_init.json");
    struct ctleaf_sth *bi = parse_sth_file("tests/data/ct/sth_b_init.json");
    struct ctleaf_sth *mn = parse_sth_file("tests/data/ct/sth_m_next.json");
    struct ctleaf_sth t;
    struct config_trusted_root *root = load_root();
    const struct config_log_key *ctfe;

    (void)state;
    km.pkey = load_pub("tests/data/ct/witness_m.pub");
    kb.pkey = load_pub("tests/data/ct/witness_b.pub");
    assert_true(mi->tree_size == 5 && mi->timestamp == 0);
    assert_true(mn->tree_size == 8 && mn->timestamp == 1);
    assert_int_equal(mi->hash_alg, 4);
    assert_int_equal(mi->sig_alg, 3);

    assert_int_equal(ctleaf_sth_verify(mi, &km), CTLEAF_STH_OK);
    assert_int_equal(ctleaf_sth_verify(mn, &km), CTLEAF_STH_OK);
    assert_int_equal(ctleaf_sth_verify(bi, &kb), CTLEAF_STH_OK);
    /* negative twins: the other key, the Sigstore CT log's key */
    assert_int_equal(ctleaf_sth_verify(mi, &kb), CTLEAF_STH_BAD_SIGNATURE);
    assert_int_equal(ctleaf_sth_verify(bi, &km), CTLEAF_STH_BAD_SIGNATURE);
    assert_true(config_trusted_root_nctlogs(root) > 0);
    ctfe = config_trusted_root_ctlog(root, 0);
    assert_non_null(ctfe->pkey);
    assert_int_equal(ctleaf_sth_verify(mi, ctfe), CTLEAF_STH_BAD_SIGNATURE);

    /* every signed field counts */
    t = *mi;
    t.tree_size++;
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_BAD_SIGNATURE);
    t = *mi;
    t.timestamp++;
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_BAD_SIGNATURE);
    t = *mi;
    t.root_hash[31] ^= 1;
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_BAD_SIGNATURE);
    t = *mi;
    t.sig[t.sig_len - 1] ^= 1;
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_BAD_SIGNATURE);
    t = *mi;
    t.sig_alg = 1; /* rsa claimed, EC key */
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_WRONG_ALG);
    t = *mi;
    t.hash_alg = 5;
    assert_int_equal(ctleaf_sth_verify(&t, &km), CTLEAF_STH_WRONG_ALG);
    assert_int_equal(ctleaf_sth_verify(mi, NULL), CTLEAF_STH_NO_KEY);
    assert_non_null(ctleaf_sth_strerror(CTLEAF_STH_WRONG_ALG));

    EVP_PKEY_free(km.pkey);
    EVP_PKEY_free(kb.pkey);
    config_trusted_root_free(root);
    free(mi);
    free(bi);
    free(mn);
}

/* The real trusted root with one more ctlogs[] entry for key rel. */
static struct config_trusted_root *
root_with_ctlog(const char *rel)
{
    EVP_PKEY *k = load_pub(rel);
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    uint8_t id[32];
    char *r64, *i64, *text, err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    json_t *doc, *log;
    json_error_t jerr;
    char path[4096];
    struct config_trusted_root *root;

    assert_true(n > 0);
    SHA256(spki, (size_t)n, id);
    r64 = b64(spki, (size_t)n);
    i64 = b64(id, 32);
    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json",
             getenv("TLOGWATCH_TESTDATA"));
    doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    log = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "baseUrl",
                    "https://ct.example", "hashAlgorithm", "SHA2_256",
                    "publicKey", "rawBytes", r64, "keyDetails",
                    "PKIX_ECDSA_P256_SHA_256", "validFor", "start",
                    "2021-01-01T00:00:00Z", "logId", "keyId", i64);
    assert_non_null(log);
    assert_int_equal(json_array_append_new(json_object_get(doc, "ctlogs"), log),
                     0);
    text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    root = config_trusted_root_load_mem(text, strlen(text), "test root", err,
                                        sizeof(err));
    if (root == NULL) {
        fail_msg("%s", err);
    }
    free(text);
    json_decref(doc);
    free(r64);
    free(i64);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    return root;
}

static void
test_sth_evidence_verify(void **state)
{
    struct config_trusted_root *root =
        root_with_ctlog("tests/data/ct/witness_m.pub");
    struct config_trusted_root *real = load_root();
    struct ctleaf_sth *mi = parse_sth_file("tests/data/ct/sth_m_init.json");
    struct ctleaf_sth *bi = parse_sth_file("tests/data/ct/sth_b_init.json");
    struct ctleaf_sth out;
    const struct config_log_key *k;
    char ev[CTLEAF_EVIDENCE_MAX], err[CTLEAF_ERR_LEN];
    long n;

    (void)state;
    /* the added log is the last ctlog; its id was checked at load */
    k = config_trusted_root_ctlog(root, config_trusted_root_nctlogs(root) - 1);
    assert_non_null(k);
    n = ctleaf_sth_evidence(mi, k->log_id, ev, sizeof(ev));
    assert_true(n > 0);
    assert_int_equal(
        ctleaf_sth_evidence_verify(ev, (size_t)n, root, &out, err, sizeof(err)),
        0);
    assert_true(out.tree_size == 5);
    /* negative twins: the root without that log, another log's head
     * under this log id, a changed tree size */
    assert_int_equal(
        ctleaf_sth_evidence_verify(ev, (size_t)n, real, &out, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "no CT log with log_id"));
    n = ctleaf_sth_evidence(bi, k->log_id, ev, sizeof(ev));
    assert_int_equal(
        ctleaf_sth_evidence_verify(ev, (size_t)n, root, NULL, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "does not verify"));
    mi->tree_size = 6;
    n = ctleaf_sth_evidence(mi, k->log_id, ev, sizeof(ev));
    assert_int_equal(
        ctleaf_sth_evidence_verify(ev, (size_t)n, root, NULL, err, sizeof(err)),
        -1);
    free(mi);
    free(bi);
    config_trusted_root_free(root);
    config_trusted_root_free(real);
}

/* Sign an STH with a fresh key and hand out its get-sth JSON. */
static char *
sign_sth(EVP_PKEY *k, int sig_alg, uint64_t size, uint64_t ts,
         const uint8_t root[32])
{
    struct ctleaf_sth s;
    uint8_t tbs[CTLEAF_STH_TBS_LEN], sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    struct buf b = {0};
    char *r64, *s64, *json;

    memset(&s, 0, sizeof(s));
    s.tree_size = size;
    s.timestamp = ts;
    memcpy(s.root_hash, root, 32);
    ctleaf_sth_signed_data(&s, tbs);
    assert_true(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1);
    assert_true(EVP_DigestSign(c, sig, &siglen, tbs, sizeof(tbs)) == 1);
    EVP_MD_CTX_free(c);
    buf_uint(&b, 4, 1);
    buf_uint(&b, (uint64_t)sig_alg, 1);
    buf_uint(&b, siglen, 2);
    buf_put(&b, sig, siglen);
    r64 = b64(root, 32);
    s64 = b64(b.p, b.n);
    json = malloc(4096);
    assert_non_null(json);
    snprintf(json, 4096,
             "{\"tree_size\":%llu,\"timestamp\":%llu,"
             "\"sha256_root_hash\":\"%s\",\"tree_head_signature\":\"%s\"}",
             (unsigned long long)size, (unsigned long long)ts, r64, s64);
    free(r64);
    free(s64);
    free(b.p);
    return json;
}

static void
test_sth_rsa_and_evidence(void **state)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    struct config_log_key kr = {0}, ke = {0};
    uint8_t root[32], id[32], id2[32];
    char *json, ev[CTLEAF_EVIDENCE_MAX], err[CTLEAF_ERR_LEN];
    struct ctleaf_sth s, s2;
    long n;

    (void)state;
    assert_non_null(rsa);
    assert_non_null(ec);
    kr.pkey = rsa;
    ke.pkey = ec;
    memset(root, 0xab, sizeof(root));
    json = sign_sth(rsa, 1, 1234567, 1700000000123ULL, root);
    assert_int_equal(ctleaf_sth_parse(json, strlen(json), &s, err, sizeof(err)),
                     0);
    assert_int_equal(ctleaf_sth_verify(&s, &kr), CTLEAF_STH_OK);
    assert_int_equal(ctleaf_sth_verify(&s, &ke), CTLEAF_STH_WRONG_ALG);
    free(json);

    /* evidence: round trip, then verify offline from the text alone */
    json = sign_sth(ec, 3, 9876543210ULL, 1700000000999ULL, root);
    assert_int_equal(ctleaf_sth_parse(json, strlen(json), &s, err, sizeof(err)),
                     0);
    memset(id, 0x5a, sizeof(id));
    n = ctleaf_sth_evidence(&s, id, ev, sizeof(ev));
    assert_true(n > 0 && (size_t)n == strlen(ev));
    assert_non_null(strstr(ev, "\"tree_size\":9876543210,"));
    assert_int_equal(
        ctleaf_sth_evidence_parse(ev, (size_t)n, &s2, id2, err, sizeof(err)),
        0);
    assert_memory_equal(id, id2, 32);
    assert_true(s2.tree_size == s.tree_size && s2.timestamp == s.timestamp);
    assert_memory_equal(s2.root_hash, s.root_hash, 32);
    assert_int_equal(ctleaf_sth_verify(&s2, &ke), CTLEAF_STH_OK);
    /* too small a buffer */
    assert_int_equal(ctleaf_sth_evidence(&s, id, ev, 40), -1);
    /* negative twins of the evidence */
    {
        const char *bad[] = {
            "{\"ct_sth\":2,\"log_id\":\"00\"}",
            "{\"log_id\":\"aa\",\"tree_size\":1}",
            "not json",
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(ctleaf_sth_evidence_parse(bad[i], strlen(bad[i]),
                                                       &s2, id2, err,
                                                       sizeof(err)),
                             -1);
        }
        n = ctleaf_sth_evidence(&s, id, ev, sizeof(ev));
        ev[25] = 'g'; /* a log_id digit that is not hex */
        assert_int_equal(ctleaf_sth_evidence_parse(ev, (size_t)n, &s2, id2, err,
                                                   sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "log_id"));
    }
    free(json);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

/* Replace the first occurrence of from in s (malloc'd) by to; new. */
static char *
str_replace1(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r;

    assert_non_null(at);
    r = malloc(n);
    assert_non_null(r);
    snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return r;
}

/* tree_size and timestamp beyond int64 (up to 2^64 - 1), which jansson
 * alone refuses: read exactly, so that the signature over the full uint64
 * verifies and the follower can judge the head (log.inconsistent); in
 * the evidence text too.  2^64 and integers in nested objects are still
 * refused; a member name with escapes counts; text in strings is never
 * touched. */
static void
test_sth_beyond_int64(void **state)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    struct config_log_key ke = {0};
    uint8_t root[32], id[32], id2[32];
    char *json, *j2, ev[CTLEAF_EVIDENCE_MAX], err[CTLEAF_ERR_LEN];
    struct ctleaf_sth s, s2;
    long n;

    (void)state;
    assert_non_null(ec);
    ke.pkey = ec;
    memset(root, 0x42, sizeof(root));

    json = sign_sth(ec, 3, UINT64_MAX, UINT64_MAX - 7, root);
    assert_non_null(strstr(json, "\"tree_size\":18446744073709551615,"));
    assert_int_equal(ctleaf_sth_parse(json, strlen(json), &s, err, sizeof(err)),
                     0);
    assert_true(s.tree_size == UINT64_MAX);
    assert_true(s.timestamp == UINT64_MAX - 7);
    assert_int_equal(ctleaf_sth_verify(&s, &ke), CTLEAF_STH_OK);

    /* the evidence text round-trips it */
    memset(id, 0x17, sizeof(id));
    n = ctleaf_sth_evidence(&s, id, ev, sizeof(ev));
    assert_true(n > 0);
    assert_non_null(strstr(ev, "\"tree_size\":18446744073709551615,"));
    assert_int_equal(
        ctleaf_sth_evidence_parse(ev, (size_t)n, &s2, id2, err, sizeof(err)),
        0);
    assert_true(s2.tree_size == UINT64_MAX && s2.timestamp == UINT64_MAX - 7);
    assert_int_equal(ctleaf_sth_verify(&s2, &ke), CTLEAF_STH_OK);

    /* one less is another signed size: the signature fails */
    j2 = str_replace1(json, "18446744073709551615", "18446744073709551614");
    assert_int_equal(ctleaf_sth_parse(j2, strlen(j2), &s2, err, sizeof(err)),
                     0);
    assert_true(s2.tree_size == UINT64_MAX - 1);
    assert_int_equal(ctleaf_sth_verify(&s2, &ke), CTLEAF_STH_BAD_SIGNATURE);
    free(j2);
    /* 2^64 does not fit: refused */
    j2 = str_replace1(json, "18446744073709551615", "18446744073709551616");
    assert_int_equal(ctleaf_sth_parse(j2, strlen(j2), &s2, err, sizeof(err)),
                     -1);
    free(j2);
    /* an escaped member name is the same member */
    j2 = str_replace1(json, "\"tree_size\"", "\"tree\\u005fsize\"");
    assert_int_equal(ctleaf_sth_parse(j2, strlen(j2), &s2, err, sizeof(err)),
                     0);
    assert_true(s2.tree_size == UINT64_MAX);
    assert_int_equal(ctleaf_sth_verify(&s2, &ke), CTLEAF_STH_OK);
    free(j2);
    /* a big integer elsewhere (nested) is not read: jansson refuses it */
    j2 =
        str_replace1(json, "{", "{\"x\":{\"tree_size\":18446744073709551615},");
    assert_int_equal(ctleaf_sth_parse(j2, strlen(j2), &s2, err, sizeof(err)),
                     -1);
    free(j2);
    /* the same text inside a string is just a string */
    j2 = str_replace1(json, "{",
                      "{\"x\":\"\\\"tree_size\\\":18446744073709551615\",");
    assert_int_equal(ctleaf_sth_parse(j2, strlen(j2), &s2, err, sizeof(err)),
                     0);
    assert_true(s2.tree_size == UINT64_MAX);
    free(j2);
    free(json);

    /* the boundaries: 2^63 - 1 (jansson's) and 2^63 (the scan's) */
    json = sign_sth(ec, 3, (uint64_t)INT64_MAX, 5, root);
    assert_int_equal(ctleaf_sth_parse(json, strlen(json), &s, err, sizeof(err)),
                     0);
    assert_true(s.tree_size == (uint64_t)INT64_MAX);
    assert_int_equal(ctleaf_sth_verify(&s, &ke), CTLEAF_STH_OK);
    free(json);
    json = sign_sth(ec, 3, (uint64_t)1 << 63, 5, root);
    assert_int_equal(ctleaf_sth_parse(json, strlen(json), &s, err, sizeof(err)),
                     0);
    assert_true(s.tree_size == (uint64_t)1 << 63);
    assert_int_equal(ctleaf_sth_verify(&s, &ke), CTLEAF_STH_OK);
    free(json);
    EVP_PKEY_free(ec);
}

#define GOOD_SIG                                                               \
    "BAMARzBFAiEA4CEXH2Z+T4Rcj3YTvgK5qM9NuFYHipI13Il6A/"                       \
    "ozTFUCIBDY1VDFy8ZezXsuWNs+iLzkyO5I5kCZldGeMvspHOof"
#define GOOD_ROOT "41smjBUiAU70EtKlT6lIOIYtRTYxYXsDB+XHfcvu/BE="

static void
test_sth_malformed(void **state)
{
    static const char good[] =
        "{\"tree_size\":5,\"timestamp\":0,\"sha256_root_hash\":\"" GOOD_ROOT
        "\",\"tree_head_signature\":\"" GOOD_SIG "\"}";
    char err[CTLEAF_ERR_LEN];
    struct ctleaf_sth s;
    struct {
        const char *json;
        const char *want; /* in the error */
    } cases[] = {
        {"{\"timestamp\":0,\"sha256_root_hash\":\"" GOOD_ROOT
         "\",\"tree_head_signature\":\"" GOOD_SIG "\"}",
         "tree_size: missing"},
        {"{\"tree_size\":-1,\"timestamp\":0,\"sha256_root_hash\":\"" GOOD_ROOT
         "\",\"tree_head_signature\":\"" GOOD_SIG "\"}",
         "tree_size"},
        {"{\"tree_size\":\"5\",\"timestamp\":0,\"sha256_root_hash\":"
         "\"" GOOD_ROOT "\",\"tree_head_signature\":\"" GOOD_SIG "\"}",
         "tree_size"},
        {"{\"tree_size\":5,\"tree_size\":6,\"timestamp\":0,"
         "\"sha256_root_hash\":\"" GOOD_ROOT
         "\",\"tree_head_signature\":\"" GOOD_SIG "\"}",
         "not JSON"},
        {"{\"tree_size\":5,\"timestamp\":0,\"sha256_root_hash\":"
         "\"AAAA" GOOD_ROOT "\",\"tree_head_signature\":\"" GOOD_SIG "\"}",
         "sha256_root_hash"},
        {"{\"tree_size\":5,\"timestamp\":0,\"sha256_root_hash\":\"" GOOD_ROOT
         "\",\"tree_head_signature\":\"" GOOD_SIG "AA==\"}",
         "tree_head_signature"},
        {"{\"tree_size\":5,\"timestamp\":0,\"sha256_root_hash\":\"" GOOD_ROOT
         "\",\"tree_head_signature\":\"BAMA\"}",
         "tree_head_signature"},
        {"[\"" GOOD_ROOT "\"]", "not a JSON object"},
    };
    size_t i;

    (void)state;
    assert_int_equal(ctleaf_sth_parse(good, strlen(good), &s, err, sizeof(err)),
                     0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = 0;
        assert_int_equal(ctleaf_sth_parse(cases[i].json, strlen(cases[i].json),
                                          &s, err, sizeof(err)),
                         -1);
        if (strstr(err, cases[i].want) == NULL) {
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
        }
    }
    assert_int_equal(
        ctleaf_sth_parse(good, CTLEAF_MAX_STH_JSON + 1, &s, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "limit"));
    assert_int_equal(ctleaf_sth_parse(NULL, 0, &s, err, sizeof(err)), -1);
}

/* ---- entries ------------------------------------------------------------ */

struct leafset {
    X509 *inter, *root;
    uint8_t *inter_der, *root_der;
    size_t inter_len, root_len;
    uint8_t ikh[32];                /* SHA-256 of the intermediate's SPKI */
    struct config_trusted_root *tr; /* the real trusted root */
};

static void
leafset_init(struct leafset *ls)
{
    unsigned char *spki = NULL;
    int n;

    ls->inter = load_cert_td("fulcio/sigstore-intermediate.pem");
    ls->root = load_cert_td("fulcio/sigstore-root.pem");
    ls->inter_len = der_of(ls->inter, &ls->inter_der);
    ls->root_len = der_of(ls->root, &ls->root_der);
    ls->tr = load_root();
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ls->inter), &spki);
    assert_true(n > 0);
    SHA256(spki, (size_t)n, ls->ikh);
    OPENSSL_free(spki);
}

static void
leafset_free(struct leafset *ls)
{
    X509_free(ls->inter);
    X509_free(ls->root);
    OPENSSL_free(ls->inter_der);
    OPENSSL_free(ls->root_der);
    config_trusted_root_free(ls->tr);
}

/* Call fn for every real leaf certificate. */
static int
for_each_leaf(void (*fn)(X509 *x, const char *name, struct leafset *ls),
              struct leafset *ls)
{
    char dir[4096], rel[4096];
    DIR *d;
    struct dirent *e;
    int count = 0;

    snprintf(dir, sizeof(dir), "%s/fulcio/leaf", getenv("TLOGWATCH_TESTDATA"));
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        X509 *x;

        if (l < 5 || strcmp(e->d_name + l - 4, ".pem") != 0) {
            continue;
        }
        snprintf(rel, sizeof(rel), "fulcio/leaf/%s", e->d_name);
        x = load_cert_td(rel);
        fn(x, e->d_name, ls);
        X509_free(x);
        count++;
    }
    closedir(d);
    return count;
}

static void
check_x509_entry(X509 *x, const char *name, struct leafset *ls)
{
    uint8_t *der, want[32], link[32];
    size_t n = der_of(x, &der);
    struct buf leaf = {0}, extra = {0}, chain = {0}, pre = {0};
    struct fulcio_cert *fc;
    struct ctleaf *l;
    char err[CTLEAF_ERR_LEN], *l64, *e64;

    make_leaf(&leaf, 0, 1700000000000ULL, ls->ikh, der, n, NULL, 0);
    chain_add(&chain, ls->inter_der, ls->inter_len);
    chain_add(&chain, ls->root_der, ls->root_len);
    buf_uint(&extra, chain.n, 3);
    buf_put(&extra, chain.p, chain.n);
    l64 = b64(leaf.p, leaf.n);
    e64 = b64(extra.p, extra.n);
    l = ctleaf_parse(l64, strlen(l64), e64, strlen(e64), err, sizeof(err));
    if (l == NULL) {
        fail_msg("%s: %s", name, err);
    }
    assert_int_equal(l->type, CTLEAF_X509);
    assert_true(l->timestamp == 1700000000000ULL);
    /* leaf hash, computed independently */
    buf_uint(&pre, 0, 1);
    buf_put(&pre, leaf.p, leaf.n);
    SHA256(pre.p, pre.n, want);
    assert_memory_equal(l->leaf_hash, want, 32);
    SHA256(der, n, want);
    assert_memory_equal(l->cert_sha256, want, 32);
    assert_int_equal(l->cert_len, n);
    assert_memory_equal(l->cert, der, n);
    /* claims exactly as fulcio reads the certificate */
    fc = fulcio_cert_parse_der(der, n, NULL);
    assert_non_null(fc);
    if (l->claims == NULL) {
        fail_msg("%s: %s", name, fulcio_strerror(l->fulcio_error));
    }
    assert_claims_equal(l->claims, fulcio_cert_claims(fc));
    assert_memory_equal(l->claims->sha256, want, 32);
    assert_int_equal(ctleaf_link_id_x509(fulcio_cert_x509(fc), link), 0);
    assert_memory_equal(l->link_id, link, 32);
    /* extra_data: the chain, no precert */
    assert_null(l->precert);
    assert_int_equal(l->nchain, 2);
    assert_int_equal(l->chain_len[0], ls->inter_len);
    assert_memory_equal(l->chain[0], ls->inter_der, ls->inter_len);
    assert_int_equal(ctleaf_precert_consistent(l), 0);
    assert_int_equal(ctleaf_issuer_in_root(l, ls->tr, l->claims->not_before),
                     0);
    fulcio_cert_free(fc);
    ctleaf_free(l);
    free(l64);
    free(e64);
    free(leaf.p);
    free(extra.p);
    free(chain.p);
    free(pre.p);
    OPENSSL_free(der);
}

static void
check_precert_entry(X509 *x, const char *name, struct leafset *ls)
{
    uint8_t *der, *tbs, *pc, want[32], link[32], tbs_sha[32];
    size_t n = der_of(x, &der), tn = precert_tbs(x, &tbs),
           pn = precert_der(x, &pc), i;
    struct buf leaf = {0}, extra = {0}, chain = {0};
    struct fulcio_cert *fc;
    struct ctleaf *l;
    char err[CTLEAF_ERR_LEN], serial[200];
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);

    make_leaf(&leaf, 1, 1700000000001ULL, ls->ikh, tbs, tn, NULL, 0);
    buf_uint(&extra, pn, 3);
    buf_put(&extra, pc, pn);
    chain_add(&chain, ls->inter_der, ls->inter_len);
    buf_uint(&extra, chain.n, 3);
    buf_put(&extra, chain.p, chain.n);
    l = ctleaf_parse_raw(leaf.p, leaf.n, extra.p, extra.n, err, sizeof(err));
    if (l == NULL) {
        fail_msg("%s: %s", name, err);
    }
    assert_int_equal(l->type, CTLEAF_PRECERT);
    assert_memory_equal(l->issuer_key_hash, ls->ikh, 32);
    assert_int_equal(l->cert_len, tn);
    SHA256(tbs, tn, tbs_sha);
    assert_memory_equal(l->cert_sha256, tbs_sha, 32);
    /* claims of the precert entry == claims of the final certificate */
    fc = fulcio_cert_parse_der(der, n, NULL);
    assert_non_null(fc);
    if (l->claims == NULL) {
        fail_msg("%s: %s", name, fulcio_strerror(l->fulcio_error));
    }
    assert_claims_equal(l->claims, fulcio_cert_claims(fc));
    /* the precert links to the final certificate (the Rekor side) */
    assert_int_equal(ctleaf_link_id_der(der, n, link), 0);
    assert_memory_equal(l->link_id, link, 32);
    assert_int_equal(ctleaf_link_id_x509(fulcio_cert_x509(fc), want), 0);
    assert_memory_equal(l->link_id, want, 32);
    /* serial in hex */
    for (i = 0; i < (size_t)sn->length; i++) {
        snprintf(serial + 2 * i, 3, "%02x", sn->data[i]);
    }
    /* DER may carry a leading 00 for a positive serial with the top bit */
    assert_non_null(strstr(l->serial_hex, serial));
    /* extra_data */
    assert_int_equal(l->precert_len, pn);
    assert_int_equal(l->nchain, 1);
    assert_int_equal(ctleaf_precert_consistent(l), 1);
    /* issuer_key_hash names a Fulcio CA of the real trusted root, valid
     * at NotBefore; not before the CA's validFor, not another key */
    assert_int_equal(ctleaf_issuer_in_root(l, ls->tr, l->claims->not_before),
                     1);
    assert_int_equal(ctleaf_issuer_in_root(l, ls->tr, 0), 0);
    l->issuer_key_hash[0] ^= 1;
    assert_int_equal(ctleaf_issuer_in_root(l, ls->tr, l->claims->not_before),
                     0);
    fulcio_cert_free(fc);
    ctleaf_free(l);

    /* negative twin: the served precertificate is another certificate
     * (the final certificate itself: no poison) */
    free(extra.p);
    memset(&extra, 0, sizeof(extra));
    buf_uint(&extra, n, 3);
    buf_put(&extra, der, n);
    buf_uint(&extra, 0, 3);
    l = ctleaf_parse_raw(leaf.p, leaf.n, extra.p, extra.n, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(ctleaf_precert_consistent(l), 0);
    ctleaf_free(l);

    /* negative twin: a changed TBS byte changes link or claims or hash */
    tbs[tn - 1] ^= 1;
    free(leaf.p);
    memset(&leaf, 0, sizeof(leaf));
    make_leaf(&leaf, 1, 1700000000001ULL, ls->ikh, tbs, tn, NULL, 0);
    l = ctleaf_parse_raw(leaf.p, leaf.n, NULL, 0, err, sizeof(err));
    if (l != NULL) {
        assert_memory_not_equal(l->cert_sha256, tbs_sha, 32);
        ctleaf_free(l);
    }

    free(leaf.p);
    free(extra.p);
    free(chain.p);
    OPENSSL_free(der);
    OPENSSL_free(tbs);
    OPENSSL_free(pc);
}

static void
test_entries_real_leaves(void **state)
{
    struct leafset ls;

    (void)state;
    leafset_init(&ls);
    assert_true(for_each_leaf(check_x509_entry, &ls) >= 9);
    assert_true(for_each_leaf(check_precert_entry, &ls) >= 9);
    leafset_free(&ls);
}

/* One precert leaf_input from the first real leaf; caller frees. */
static void
sample_leaf(struct buf *leaf, struct leafset *ls)
{
    X509 *x = load_cert_td("fulcio/leaf/gha-hashedrekord-conformance.pem");
    uint8_t *tbs;
    size_t tn = precert_tbs(x, &tbs);
    static const uint8_t ext[3] = {1, 2, 3};

    make_leaf(leaf, 1, 42, ls->ikh, tbs, tn, ext, sizeof(ext));
    OPENSSL_free(tbs);
    X509_free(x);
}

static void
test_entries_hostile(void **state)
{
    struct leafset ls;
    struct buf leaf = {0}, big = {0}, extra = {0};
    struct ctleaf *l;
    char err[CTLEAF_ERR_LEN];
    size_t i;
    uint8_t *m;

    (void)state;
    leafset_init(&ls);
    sample_leaf(&leaf, &ls);
    l = ctleaf_parse_raw(leaf.p, leaf.n, NULL, 0, err, sizeof(err));
    assert_non_null(l);
    assert_int_equal(l->extensions_len, 3);
    assert_non_null(l->claims);
    ctleaf_free(l);

    /* every truncation fails (copied, so ASan sees over-reads) */
    for (i = 0; i < leaf.n; i++) {
        m = malloc(i + 1);
        memcpy(m, leaf.p, i);
        l = ctleaf_parse_raw(m, i, NULL, 0, err, sizeof(err));
        assert_null(l);
        free(m);
    }
    /* trailing byte */
    m = malloc(leaf.n + 1);
    memcpy(m, leaf.p, leaf.n);
    m[leaf.n] = 0;
    assert_null(ctleaf_parse_raw(m, leaf.n + 1, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "trailing"));
    /* version, leaf_type, entry_type */
    m[0] = 1;
    assert_null(ctleaf_parse_raw(m, leaf.n, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "version"));
    m[0] = 0;
    m[1] = 1;
    assert_null(ctleaf_parse_raw(m, leaf.n, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "leaf_type"));
    m[1] = 0;
    m[11] = 2;
    assert_null(ctleaf_parse_raw(m, leaf.n, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "entry_type"));
    m[11] = 1;
    /* a TBS that is not DER is a structural error */
    m[12 + 32 + 3] = 0x31;
    assert_null(ctleaf_parse_raw(m, leaf.n, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "tbs_certificate"));
    free(m);

    /* limits: leaf and extensions */
    m = calloc(1, CTLEAF_MAX_LEAF + 1);
    assert_null(
        ctleaf_parse_raw(m, CTLEAF_MAX_LEAF + 1, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "limit"));
    free(m);
    {
        X509 *x = load_cert_td("fulcio/leaf/gha-hashedrekord-conformance.pem");
        uint8_t *tbs, *ext = calloc(1, CTLEAF_MAX_EXTENSIONS + 1);
        size_t tn = precert_tbs(x, &tbs);

        make_leaf(&big, 1, 42, ls.ikh, tbs, tn, ext, CTLEAF_MAX_EXTENSIONS + 1);
        assert_null(ctleaf_parse_raw(big.p, big.n, NULL, 0, err, sizeof(err)));
        assert_non_null(strstr(err, "extensions"));
        free(ext);
        OPENSSL_free(tbs);
        X509_free(x);
    }

    /* extra_data: too many chain certificates, truncated, trailing */
    {
        struct buf chain = {0};

        for (i = 0; i <= CTLEAF_MAX_CHAIN; i++) {
            chain_add(&chain, ls.root_der, 10);
        }
        buf_uint(&extra, 1, 3);
        buf_uint(&extra, 0x30, 1);
        buf_uint(&extra, chain.n, 3);
        buf_put(&extra, chain.p, chain.n);
        assert_null(ctleaf_parse_raw(leaf.p, leaf.n, extra.p, extra.n, err,
                                     sizeof(err)));
        assert_non_null(strstr(err, "chain"));
        assert_null(
            ctleaf_parse_raw(leaf.p, leaf.n, extra.p, 5, err, sizeof(err)));
        buf_uint(&extra, 0, 1);
        free(chain.p);
    }

    /* base64 */
    assert_null(ctleaf_parse("!!!!", 4, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "base64"));
    assert_null(ctleaf_parse("", 0, NULL, 0, err, sizeof(err)));

    free(leaf.p);
    free(big.p);
    free(extra.p);
    leafset_free(&ls);
}

static void
test_entries_json(void **state)
{
    struct leafset ls;
    struct buf leaf = {0}, extra = {0};
    char *l64, *e64, *json, err[CTLEAF_ERR_LEN];
    struct ctleaf **a;
    size_t n, cap;

    (void)state;
    leafset_init(&ls);
    sample_leaf(&leaf, &ls);
    l64 = b64(leaf.p, leaf.n);
    buf_uint(&extra, ls.inter_len, 3); /* pre_certificate (any DER) */
    buf_put(&extra, ls.inter_der, ls.inter_len);
    buf_uint(&extra, 0, 3);
    e64 = b64(extra.p, extra.n);
    cap = 3 * (strlen(l64) + strlen(e64)) + 256;
    json = malloc(cap);

    snprintf(json, cap,
             "{\"entries\":[{\"leaf_input\":\"%s\",\"extra_data\":\"%s\"},"
             "{\"leaf_input\":\"%s\",\"extra_data\":\"%s\"}]}",
             l64, e64, l64, e64);
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 10, &a, &n, err, sizeof(err)),
        0);
    assert_int_equal(n, 2);
    assert_memory_equal(a[0]->leaf_hash, a[1]->leaf_hash, 32);
    assert_int_equal(ctleaf_precert_consistent(a[0]), 0);
    ctleaf_array_free(a, n);
    /* more than asked */
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 1, &a, &n, err, sizeof(err)),
        -1);
    /* an item without extra_data names the item */
    snprintf(json, cap,
             "{\"entries\":[{\"leaf_input\":\"%s\",\"extra_data\":\"%s\"},"
             "{\"leaf_input\":\"%s\"}]}",
             l64, e64, l64);
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 10, &a, &n, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "entries[1]"));
    /* a bad leaf names the item */
    snprintf(json, cap,
             "{\"entries\":[{\"leaf_input\":\"AAAA\",\"extra_data\":\"\"}]}");
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 10, &a, &n, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "entries[0]: leaf_input"));
    /* empty is valid */
    snprintf(json, cap, "{\"entries\":[]}");
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 10, &a, &n, err, sizeof(err)),
        0);
    assert_int_equal(n, 0);
    ctleaf_array_free(a, n);
    snprintf(json, cap, "{\"entries\":{}}");
    assert_int_equal(
        ctleaf_entries_parse(json, strlen(json), 10, &a, &n, err, sizeof(err)),
        -1);

    free(json);
    free(l64);
    free(e64);
    free(leaf.p);
    free(extra.p);
    leafset_free(&ls);
}

/* ---- CT entries of another implementation (tests/data/ct/go_*) ------- */

static X509 *
load_cert_src(const char *rel)
{
    size_t n;
    uint8_t *pem = read_file("TLOGWATCH_SRC", rel, &n);
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

    assert_non_null(x);
    BIO_free(b);
    free(pem);
    return x;
}

/* The SCT (hex, TLS-encoded) and leaf hash (base64) of go_vectors.json. */
static void
go_vector(const char *sct_key, const char *hash_key, uint64_t *ts,
          struct buf *ext, uint8_t hash[32])
{
    size_t n;
    char *text =
        (char *)read_file("TLOGWATCH_SRC", "tests/data/ct/go_vectors.json", &n);
    json_t *v = json_loadb(text, n, 0, NULL);
    const char *h, *b;
    uint8_t sct[512];
    long sl;
    size_t el;
    int i;

    assert_non_null(v);
    h = json_string_value(json_object_get(v, sct_key));
    b = json_string_value(json_object_get(v, hash_key));
    assert_non_null(h);
    assert_non_null(b);
    sl = merkle_hex_decode(h, strlen(h), sct, sizeof(sct));
    /* SignedCertificateTimestamp: version(1) log_id(32) timestamp(8)
     * extensions<0..2^16-1> signature */
    assert_true(sl > 43);
    assert_int_equal(sct[0], 0);
    *ts = 0;
    for (i = 0; i < 8; i++) {
        *ts = (*ts << 8) | sct[33 + i];
    }
    el = ((size_t)sct[41] << 8) | sct[42];
    assert_true(43 + el <= (size_t)sl);
    buf_put(ext, sct + 43, el);
    assert_int_equal(merkle_b64_decode(b, strlen(b), hash, 32), 32);
    json_decref(v);
    free(text);
}

/*
 * certificate-transparency-go's testdata: a certificate and a
 * precertificate of its test CA with the SCTs its log issued and the leaf
 * hashes it computed.  The MerkleTreeLeaf is built here as RFC 6962 3.4
 * says (for the precertificate: the issuer's key hash and the TBS without
 * the poison); ctleaf must parse it back and arrive at Go's leaf hash.
 */
static void
test_entries_go_vectors(void **state)
{
    X509 *ca = load_cert_src("tests/data/ct/go_ca.pem");
    uint8_t *cader, ikh[32];
    size_t calen = der_of(ca, &cader);
    unsigned char *spki = NULL;
    int n, type;

    (void)state;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca), &spki);
    assert_true(n > 0);
    SHA256(spki, (size_t)n, ikh);
    OPENSSL_free(spki);
    for (type = 0; type <= 1; type++) {
        X509 *x = load_cert_src(type == 0 ? "tests/data/ct/go_cert.pem"
                                          : "tests/data/ct/go_precert.pem");
        struct buf ext = {0}, leaf = {0}, extra = {0}, chain = {0};
        uint8_t want[32], got[32], link[32], *der, *tbs = NULL;
        size_t dl = der_of(x, &der), tl;
        uint64_t ts;
        char err[CTLEAF_ERR_LEN];
        struct ctleaf *l;

        go_vector(type == 0 ? "cert_sct" : "precert_sct",
                  type == 0 ? "cert_leaf_hash" : "precert_leaf_hash", &ts, &ext,
                  want);
        chain_add(&chain, cader, calen);
        if (type == 0) {
            make_leaf(&leaf, 0, ts, NULL, der, dl, ext.p, ext.n);
        } else {
            X509 *d = without_ext(x, POISON_OID);

            n = i2d_re_X509_tbs(d, &tbs);
            assert_true(n > 0);
            tl = (size_t)n;
            X509_free(d);
            make_leaf(&leaf, 1, ts, ikh, tbs, tl, ext.p, ext.n);
            chain_add(&extra, der, dl); /* pre_certificate */
        }
        buf_uint(&extra, chain.n, 3);
        buf_put(&extra, chain.p, chain.n);
        l = ctleaf_parse_raw(leaf.p, leaf.n, extra.p, extra.n, err,
                             sizeof(err));
        if (l == NULL) {
            fail_msg("go %s: %s", type == 0 ? "cert" : "precert", err);
        }
        /* Go's leaf hash, from the leaf as ctleaf read it */
        assert_memory_equal(l->leaf_hash, want, 32);
        merkle_leaf_hash(l->leaf_input, l->leaf_input_len, got);
        assert_memory_equal(got, want, 32);
        assert_int_equal(l->timestamp, ts);
        assert_int_equal(l->nchain, 1);
        assert_int_equal(l->chain_len[0], calen);
        assert_memory_equal(l->chain[0], cader, calen);
        /* not Fulcio certificates: the entry stands, the claims do not */
        assert_null(l->claims);
        assert_int_not_equal(l->fulcio_error, FULCIO_OK);
        assert_int_equal(ctleaf_link_id_x509(x, link), 0);
        assert_memory_equal(l->link_id, link, 32);
        if (type == 0) {
            assert_int_equal(l->type, CTLEAF_X509);
            assert_null(l->precert);
            SHA256(der, dl, got);
            assert_memory_equal(l->cert_sha256, got, 32);
            assert_int_equal(ctleaf_precert_consistent(l), 0);
        } else {
            uint8_t *bad;

            assert_int_equal(l->type, CTLEAF_PRECERT);
            assert_non_null(l->precert);
            assert_memory_equal(l->issuer_key_hash, ikh, 32);
            /* the served precertificate is the logged one, poison aside */
            assert_int_equal(ctleaf_precert_consistent(l), 1);
            /* negative twin: one byte of the served TBS changed */
            bad = malloc(extra.n);
            assert_non_null(bad);
            memcpy(bad, extra.p, extra.n);
            bad[3 + 40] ^= 1;
            ctleaf_free(l);
            l = ctleaf_parse_raw(leaf.p, leaf.n, bad, extra.n, NULL, 0);
            assert_non_null(l);
            assert_int_equal(ctleaf_precert_consistent(l), 0);
            free(bad);
            OPENSSL_free(tbs);
        }
        assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
        ctleaf_free(l);
        OPENSSL_free(der);
        free(ext.p);
        free(leaf.p);
        free(extra.p);
        free(chain.p);
        X509_free(x);
    }
    OPENSSL_free(cader);
    X509_free(ca);
}

/* ---- prefiltered parsing ----------------------------------------------- */

/* A get-entries item (JSON object text) for x as a precert entry. */
static char *
precert_item(X509 *x, struct leafset *ls)
{
    uint8_t *tbs;
    size_t tn = precert_tbs(x, &tbs), cap;
    struct buf leaf = {0};
    char *l64, *item;

    make_leaf(&leaf, 1, 7, ls->ikh, tbs, tn, NULL, 0);
    l64 = b64(leaf.p, leaf.n);
    cap = strlen(l64) + 64;
    item = malloc(cap);
    assert_non_null(item);
    snprintf(item, cap, "{\"leaf_input\":\"%s\",\"extra_data\":\"\"}", l64);
    free(l64);
    free(leaf.p);
    OPENSSL_free(tbs);
    return item;
}

static void
test_entries_needles(void **state)
{
    struct leafset ls;
    X509 *gha = load_cert_td("fulcio/leaf/gha-hashedrekord-conformance.pem");
    X509 *mail = load_cert_td("fulcio/leaf/email-hashedrekord-p256-2026.pem");
    struct fulcio_cert *fg, *fm;
    struct fulcio_needles *nd = fulcio_needles_new(), *other;
    char *i1, *i2, *json, err[CTLEAF_ERR_LEN];
    uint8_t *der;
    size_t n, cap, dl;
    struct ctleaf **a;

    (void)state;
    leafset_init(&ls);
    dl = der_of(gha, &der);
    fg = fulcio_cert_parse_der(der, dl, NULL);
    OPENSSL_free(der);
    dl = der_of(mail, &der);
    fm = fulcio_cert_parse_der(der, dl, NULL);
    OPENSSL_free(der);
    assert_non_null(fg);
    assert_non_null(fm);
    assert_non_null(fulcio_cert_claims(fg)->repository);
    assert_int_equal(
        fulcio_needles_add(nd, fulcio_cert_claims(fg)->repository, NULL), 0);
    i1 = precert_item(gha, &ls);
    i2 = precert_item(mail, &ls);
    cap = strlen(i1) + strlen(i2) + 64;
    json = malloc(cap);
    snprintf(json, cap, "{\"entries\":[%s,%s]}", i1, i2);

    assert_int_equal(ctleaf_entries_parse_needles(json, strlen(json), 10, nd,
                                                  &a, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 2);
    /* the watched repository's certificate: claims read */
    assert_int_equal(a[0]->claims_skipped, 0);
    assert_non_null(a[0]->claims);
    assert_claims_equal(a[0]->claims, fulcio_cert_claims(fg));
    /* the other: skipped, everything else still there, claims on demand */
    assert_int_equal(a[1]->claims_skipped, 1);
    assert_null(a[1]->claims);
    assert_int_equal(a[1]->fulcio_error, FULCIO_OK);
    assert_int_equal(ctleaf_load_claims(a[1]), 0);
    assert_int_equal(a[1]->claims_skipped, 0);
    assert_claims_equal(a[1]->claims, fulcio_cert_claims(fm));
    assert_int_equal(ctleaf_load_claims(a[1]), 0); /* idempotent */
    ctleaf_array_free(a, n);

    /* negative twin: needles for another repository skip both */
    other = fulcio_needles_new();
    assert_int_equal(fulcio_needles_add(other, "octo-org/not-there", NULL), 0);
    assert_int_equal(ctleaf_entries_parse_needles(json, strlen(json), 10, other,
                                                  &a, &n, err, sizeof(err)),
                     0);
    assert_int_equal(a[0]->claims_skipped, 1);
    assert_int_equal(a[1]->claims_skipped, 1);
    ctleaf_array_free(a, n);
    /* no needles: everything read */
    assert_int_equal(ctleaf_entries_parse_needles(json, strlen(json), 10, NULL,
                                                  &a, &n, err, sizeof(err)),
                     0);
    assert_int_equal(a[1]->claims_skipped, 0);
    assert_non_null(a[1]->claims);
    ctleaf_array_free(a, n);

    fulcio_needles_free(nd);
    fulcio_needles_free(other);
    fulcio_cert_free(fg);
    fulcio_cert_free(fm);
    free(i1);
    free(i2);
    free(json);
    X509_free(gha);
    X509_free(mail);
    leafset_free(&ls);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sth_real),
        cmocka_unit_test(test_sth_rsa_and_evidence),
        cmocka_unit_test(test_sth_malformed),
        cmocka_unit_test(test_sth_beyond_int64),
        cmocka_unit_test(test_sth_evidence_verify),
        cmocka_unit_test(test_entries_real_leaves),
        cmocka_unit_test(test_entries_go_vectors),
        cmocka_unit_test(test_entries_hostile),
        cmocka_unit_test(test_entries_json),
        cmocka_unit_test(test_entries_needles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
