/*
 * test_fulcio.c: monitor/fulcio against the real Fulcio leaf certificates
 * in $TLOGWATCH_TESTDATA/fulcio/leaf (expected values read at run time
 * from leaf/extensions-decoded.json) and against certificates the tests
 * make themselves with OpenSSL: impostors re-signed by a self-made CA with
 * the same subject as Fulcio's intermediate, leaves without the
 * code-signing EKU, hostile extension encodings, and SAN-only / .12-only /
 * legacy .5-only / .15-only certificates for the prefilter.
 *
 * Every positive test has a negative twin; the prefilter property test
 * checks "prefilter == 0 implies the full parse does not match" over all
 * leaves and pseudo-random needles (fixed seed, so it is repeatable).
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <setjmp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/trusted_root.h"
#include "monitor/identity/fulcio.h"

#define ARC "1.3.6.1.4.1.57264.1."

/* ---- test data helpers -------------------------------------------------- */

static char *
td_path(const char *rel)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char *p;

    assert_non_null(base);
    p = malloc(strlen(base) + strlen(rel) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", base, rel);
    return p;
}

static uint8_t *
read_rel(const char *rel, size_t *len)
{
    char *path = td_path(rel);
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    free(path);
    *len = (size_t)n;
    return buf;
}

static json_t *
load_json(const char *rel)
{
    char *p = td_path(rel);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);

    if (j == NULL) {
        fail_msg("%s: %s", p, e.text);
    }
    free(p);
    return j;
}

static json_t *
decoded(void)
{
    return load_json("fulcio/leaf/extensions-decoded.json");
}

static struct config_trusted_root *
load_root_json(json_t *doc)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    char *s = json_dumps(doc, JSON_COMPACT);
    struct config_trusted_root *r;

    assert_non_null(s);
    r = config_trusted_root_load_mem(s, strlen(s), "test-root", err,
                                     sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(s);
    return r;
}

static struct config_trusted_root *
load_root(const char *rel)
{
    json_t *doc = load_json(rel);
    struct config_trusted_root *r = load_root_json(doc);

    json_decref(doc);
    return r;
}

/* "Mar 19 22:41:15 2024 GMT" (openssl's format) to unix seconds. */
static int64_t
openssl_time(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(s, "%b %d %H:%M:%S %Y GMT", &tm));
    return (int64_t)timegm(&tm);
}

static void
rfc3339(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    assert_non_null(gmtime_r(&tt, &tm));
    assert_true(strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
}

/* DER of a PEM file, through OpenSSL (independent of the module). */
static uint8_t *
pem_to_der(const uint8_t *pem, size_t len, size_t *derlen)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x;
    uint8_t *der = NULL;
    int n;

    assert_non_null(b);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    assert_non_null(x);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    X509_free(x);
    BIO_free(b);
    *derlen = (size_t)n;
    return der;
}

static char *
b64_encode(const uint8_t *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);

    assert_non_null(out);
    assert_true(EVP_EncodeBlock((unsigned char *)out, in, (int)len) >= 0);
    return out;
}

static const char *
ext_value(json_t *cert, unsigned n)
{
    char oid[64];

    snprintf(oid, sizeof(oid), ARC "%u", n);
    return json_string_value(json_object_get(
        json_object_get(json_object_get(cert, "sigstoreExtensions"), oid),
        "value"));
}

static const char *
first_of(const char *a, const char *b, const char *c)
{
    return a != NULL ? a : b != NULL ? b : c;
}

static void
assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL) {
        if (got != NULL) {
            fail_msg("expected NULL, got \"%s\"", got);
        }
    } else {
        if (got == NULL) {
            fail_msg("expected \"%s\", got NULL", want);
        }
        assert_string_equal(got, want);
    }
}

/* ---- certificate factory ----------------------------------------------- */

static EVP_PKEY *
gen_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    assert_non_null(k);
    return k;
}

static void
add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;

    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
}

/* Extension ARC.n with exactly these extnValue bytes. */
static void
add_ext_bytes(X509 *x, unsigned n, const void *v, size_t len)
{
    char oid[64];
    ASN1_OBJECT *obj;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ex;

    snprintf(oid, sizeof(oid), ARC "%u", n);
    obj = OBJ_txt2obj(oid, 1);
    assert_non_null(obj);
    assert_non_null(os);
    assert_int_equal(ASN1_OCTET_STRING_set(os, v, (int)len), 1);
    ex = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(x, ex, -1), 1);
    X509_EXTENSION_free(ex);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
}

/* DER TLV header of a definite length, minimal form; returns its size. */
static size_t
der_header(uint8_t tag, size_t len, uint8_t *out)
{
    if (len < 0x80) {
        out[0] = tag;
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 0x100) {
        out[0] = tag;
        out[1] = 0x81;
        out[2] = (uint8_t)len;
        return 3;
    }
    assert_true(len < 0x10000);
    out[0] = tag;
    out[1] = 0x82;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
}

/* Extension ARC.n holding a DER UTF8String of s (n >= 8). */
static void
add_ext_utf8(X509 *x, unsigned n, const char *s)
{
    size_t len = strlen(s), h;
    uint8_t *buf = malloc(len + 8);

    assert_non_null(buf);
    h = der_header(0x0c, len, buf);
    memcpy(buf + h, s, len);
    add_ext_bytes(x, n, buf, h + len);
    free(buf);
}

/* A new certificate shell: subject CN, key, validity, serial. */
static X509 *
new_cert(const char *cn, EVP_PKEY *key, int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    static long serial = 1;

    assert_non_null(x);
    assert_non_null(name);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    if (cn != NULL) {
        assert_int_equal(X509_NAME_add_entry_by_txt(
                             name, "O", MBSTRING_ASC,
                             (const unsigned char *)"sigstore.dev", -1, -1, 0),
                         1);
        assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                    (const unsigned char *)cn,
                                                    -1, -1, 0),
                         1);
    }
    assert_int_equal(X509_set_subject_name(x, name), 1);
    X509_NAME_free(name);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    return x;
}

/* A self-signed CA named O=sigstore.dev, CN=cn. */
static X509 *
make_ca(const char *cn, EVP_PKEY *key)
{
    X509 *x = new_cert(cn, key, 946684800 /* 2000 */, 4102444800 /* 2100 */);

    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
    add_conf_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
    add_conf_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

/* An empty leaf issued by ca; the caller adds extensions and signs. */
static X509 *
new_leaf(X509 *ca, EVP_PKEY *leaf_key, int64_t nb)
{
    X509 *x = new_cert(NULL, leaf_key, nb, nb + 600);

    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
    return x;
}

static uint8_t *
sign_der(X509 *x, EVP_PKEY *ca_key, size_t *len)
{
    uint8_t *der = NULL;
    int n;

    assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
    n = i2d_X509(x, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    return der;
}

/* A trusted root with the real tlogs and one CA made of chain (leafward
 * first), valid from `start`. */
static struct config_trusted_root *
root_with_ca(X509 *const *chain, size_t n, int64_t start)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    json_t *cas = json_array(), *certs = json_array(), *ca = json_object();
    json_t *vf = json_object();
    struct config_trusted_root *r;
    char t[64];
    size_t i;

    for (i = 0; i < n; i++) {
        uint8_t *der = NULL;
        int len = i2d_X509(chain[i], &der);
        char *b;

        assert_true(len > 0);
        b = b64_encode(der, (size_t)len);
        json_array_append_new(certs, json_pack("{s:s}", "rawBytes", b));
        free(b);
        OPENSSL_free(der);
    }
    json_object_set_new(ca, "uri", json_string("https://fulcio.test"));
    json_object_set_new(ca, "certChain",
                        json_pack("{s:o}", "certificates", certs));
    rfc3339(start, t, sizeof(t));
    json_object_set_new(vf, "start", json_string(t));
    json_object_set_new(ca, "validFor", vf);
    json_array_append_new(cas, ca);
    json_object_set_new(doc, "certificateAuthorities", cas);
    r = load_root_json(doc);
    json_decref(doc);
    return r;
}

/* ---- parsing the real leaves ------------------------------------------- */

/* The file's names for .1-.6 carry the helper's ", raw" annotation, which
 * docs/oid-info.md does not have ("Issuer (deprecated)"). */
static void
assert_ext_name(unsigned n, const char *file_name)
{
    char want[256];
    const char *raw = strstr(file_name, ", raw)");

    if (raw != NULL) {
        snprintf(want, sizeof(want), "%.*s)", (int)(raw - file_name),
                 file_name);
    } else {
        snprintf(want, sizeof(want), "%s", file_name);
    }
    assert_non_null(fulcio_ext_name(n));
    assert_string_equal(fulcio_ext_name(n), want);
}

/* All claims of one parsed leaf against its JSON record. */
static void
check_claims(const struct fulcio_claims *cl, json_t *jc, const uint8_t *der,
             size_t derlen)
{
    const char *san = json_string_value(json_object_get(jc, "subjectAltName"));
    json_t *exts = json_object_get(jc, "sigstoreExtensions");
    uint8_t h[32];
    unsigned n;
    const char *v12, *v18, *key;
    json_t *val;

    /* SAN, as "URI:..." or "email:..." */
    if (strncmp(san, "URI:", 4) == 0) {
        assert_int_equal(cl->san_type, FULCIO_SAN_URI);
        assert_string_equal(cl->san, san + 4);
    } else {
        assert_int_equal(strncmp(san, "email:", 6), 0);
        assert_int_equal(cl->san_type, FULCIO_SAN_EMAIL);
        assert_string_equal(cl->san, san + 6);
    }
    assert_string_equal(cl->issuer_cn,
                        json_string_value(json_object_get(jc, "issuerCN")));
    assert_int_equal(cl->not_before, openssl_time(json_string_value(
                                         json_object_get(jc, "notBefore"))));
    assert_int_equal(cl->not_after, openssl_time(json_string_value(
                                        json_object_get(jc, "notAfter"))));
    SHA256(der, derlen, h);
    assert_memory_equal(cl->sha256, h, 32);

    /* Every extension of the file, by number, with its name... */
    json_object_foreach(exts, key, val)
    {
        assert_int_equal(strncmp(key, ARC, strlen(ARC)), 0);
        n = (unsigned)atoi(key + strlen(ARC));
        assert_true(n >= 1 && n <= FULCIO_EXT_MAX);
        assert_non_null(cl->ext[n]);
        assert_string_equal(cl->ext[n],
                            json_string_value(json_object_get(val, "value")));
        assert_ext_name(n, json_string_value(json_object_get(val, "name")));
    }
    /* ...and none that the file lacks. */
    for (n = 0; n <= FULCIO_EXT_MAX; n++) {
        if (ext_value(jc, n) == NULL) {
            assert_str_or_null(cl->ext[n], NULL);
        }
    }

    /* Derived fields, re-derived here from the file's values. */
    assert_str_or_null(cl->issuer,
                       first_of(ext_value(jc, 8), ext_value(jc, 1), NULL));
    assert_str_or_null(cl->repository_id, ext_value(jc, 15));
    assert_str_or_null(cl->build_signer_uri, ext_value(jc, 9));
    assert_str_or_null(cl->runner_environment, ext_value(jc, 11));
    assert_str_or_null(cl->run_invocation_uri, ext_value(jc, 21));
    assert_str_or_null(cl->trigger,
                       first_of(ext_value(jc, 20), ext_value(jc, 2), NULL));
    assert_str_or_null(
        cl->workflow_sha,
        first_of(ext_value(jc, 13), ext_value(jc, 19), ext_value(jc, 3)));
    v12 = ext_value(jc, 12);
    if (v12 != NULL) {
        assert_int_equal(strncmp(v12, "https://github.com/", 19), 0);
        assert_string_equal(cl->repository, v12 + 19);
        if (ext_value(jc, 5) != NULL) {
            assert_string_equal(cl->repository, ext_value(jc, 5));
        }
    } else {
        assert_str_or_null(cl->repository, ext_value(jc, 5));
    }
    v18 = ext_value(jc, 18);
    if (v18 != NULL) {
        /* https://github.com/<repository>/<path>@<ref> */
        const char *path = v18 + 19 + strlen(cl->repository) + 1;
        const char *at = strchr(path, '@');

        assert_non_null(at);
        assert_int_equal(strncmp(cl->workflow_path, path, (size_t)(at - path)),
                         0);
        assert_int_equal(strlen(cl->workflow_path), (size_t)(at - path));
        assert_string_equal(cl->workflow_ref, at + 1);
        assert_int_equal(strncmp(cl->workflow_path, ".github/workflows/", 18),
                         0);
    } else if (cl->san_type != FULCIO_SAN_URI) {
        assert_null(cl->workflow_path);
        assert_null(cl->workflow_ref);
    }
}

static void
test_leaves_parse(void **state)
{
    json_t *doc = decoded(), *certs = json_object_get(doc, "certs"), *jc;
    char *dir = td_path("fulcio/leaf");
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t npem = 0, ngha = 0, nemail = 0;

    (void)state;
    assert_non_null(d);
    /* Every .pem of the folder has a record, and every record a file. */
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l > 4 && strcmp(de->d_name + l - 4, ".pem") == 0) {
            assert_non_null(json_object_get(certs, de->d_name));
            npem++;
        }
    }
    closedir(d);
    free(dir);
    assert_int_equal(npem, json_object_size(certs));
    assert_true(npem > 0);

    {
        const char *name;

        json_object_foreach(certs, name, jc)
        {
            char rel[256];
            size_t pemlen, derlen, dlen;
            uint8_t *pem, *der, out[FULCIO_MAX_DER];
            char *b64pem;
            struct fulcio_cert *c[3];
            enum fulcio_error e;
            int i;

            snprintf(rel, sizeof(rel), "fulcio/leaf/%s", name);
            pem = read_rel(rel, &pemlen);
            der = pem_to_der(pem, pemlen, &derlen);
            b64pem = b64_encode(pem, pemlen);

            /* The three input forms give the same certificate. */
            c[0] = fulcio_cert_parse(pem, pemlen, &e);
            if (c[0] == NULL) {
                fail_msg("%s: %s", name, fulcio_strerror(e));
            }
            c[1] = fulcio_cert_parse(der, derlen, &e);
            assert_non_null(c[1]);
            c[2] =
                fulcio_cert_parse((const uint8_t *)b64pem, strlen(b64pem), &e);
            assert_non_null(c[2]);
            for (i = 0; i < 3; i++) {
                size_t l;
                const uint8_t *cd = fulcio_cert_der(c[i], &l);

                assert_int_equal(l, derlen);
                assert_memory_equal(cd, der, derlen);
                check_claims(fulcio_cert_claims(c[i]), jc, der, derlen);
                assert_non_null(fulcio_cert_x509(c[i]));
                fulcio_cert_free(c[i]);
            }
            /* fulcio_cert_decode gives the same DER from each form. */
            assert_int_equal(
                fulcio_cert_decode(pem, pemlen, out, sizeof(out), &dlen), 0);
            assert_int_equal(dlen, derlen);
            assert_memory_equal(out, der, derlen);
            assert_int_equal(fulcio_cert_decode((const uint8_t *)b64pem,
                                                strlen(b64pem), out,
                                                sizeof(out), &dlen),
                             0);
            assert_memory_equal(out, der, derlen);
            /* Negative twins: one byte short, one byte too many. */
            assert_null(fulcio_cert_parse_der(der, derlen - 1, &e));
            assert_int_equal(e, FULCIO_ERR_DER);
            {
                uint8_t *longer = malloc(derlen + 1);

                assert_non_null(longer);
                memcpy(longer, der, derlen);
                longer[derlen] = 0;
                assert_null(fulcio_cert_parse_der(longer, derlen + 1, &e));
                assert_int_equal(e, FULCIO_ERR_DER);
                free(longer);
            }
            if (ext_value(jc, 9) != NULL) {
                ngha++;
            } else {
                nemail++;
            }
            free(b64pem);
            OPENSSL_free(der);
            free(pem);
        }
    }
    /* The data covers both kinds. */
    assert_true(ngha > 0);
    assert_true(nemail > 0);
    json_decref(doc);
}

static void
test_ext_names(void **state)
{
    unsigned n;

    (void)state;
    for (n = 1; n <= FULCIO_EXT_MAX; n++) {
        assert_non_null(fulcio_ext_name(n));
    }
    assert_null(fulcio_ext_name(0));
    assert_null(fulcio_ext_name(FULCIO_EXT_MAX + 1));
    assert_string_equal(fulcio_ext_name(7), "OtherName SAN");
    for (n = 0; n <= FULCIO_EXT_MAX + 1; n++) {
        assert_non_null(fulcio_strerror((enum fulcio_error)n));
    }
    for (n = 0; n <= FULCIO_CHAIN_INTERNAL + 1; n++) {
        assert_non_null(fulcio_chain_strerror((enum fulcio_chain_result)n));
    }
}

/* ---- chain verification ------------------------------------------------ */

static struct fulcio_cert *
parse_leaf(const char *name)
{
    char rel[256];
    size_t len;
    uint8_t *pem;
    struct fulcio_cert *c;
    enum fulcio_error e;

    snprintf(rel, sizeof(rel), "fulcio/leaf/%s", name);
    pem = read_rel(rel, &len);
    c = fulcio_cert_parse(pem, len, &e);
    assert_non_null(c);
    free(pem);
    return c;
}

static void
test_chain_real(void **state)
{
    json_t *doc = decoded(), *jc;
    struct config_trusted_root *prod = load_root("fulcio/trusted_root.json");
    struct config_trusted_root *staging =
        load_root("rekor-v2/staging-trusted_root.json");
    const char *name;
    size_t ok = 0;

    (void)state;
    json_object_foreach(json_object_get(doc, "certs"), name, jc)
    {
        struct fulcio_cert *c = parse_leaf(name);
        int xerr = -1;
        enum fulcio_chain_result r = fulcio_verify_chain(c, prod, &xerr);

        if (strcmp(json_string_value(json_object_get(jc, "chainVerify")),
                   "OK") == 0) {
            if (r != FULCIO_CHAIN_OK) {
                fail_msg("%s: %s (X509 error %d)", name,
                         fulcio_chain_strerror(r), xerr);
            }
            assert_int_equal(xerr, 0);
            ok++;
        } else {
            assert_int_not_equal(r, FULCIO_CHAIN_OK);
        }
        /* Negative twin: an unrelated (staging) root. */
        r = fulcio_verify_chain(c, staging, &xerr);
        assert_int_not_equal(r, FULCIO_CHAIN_OK);
        assert_int_not_equal(xerr, 0);
        fulcio_cert_free(c);
    }
    assert_true(ok > 0);
    config_trusted_root_free(prod);
    config_trusted_root_free(staging);
    json_decref(doc);
}

/* The production root reduced to its CA i, with validFor replaced. */
static struct config_trusted_root *
prod_with_validity(size_t i, int64_t start, int64_t end)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    json_t *vf = json_object(), *only = json_array();
    char t[64];
    struct config_trusted_root *r;

    json_array_append(
        only,
        json_array_get(json_object_get(doc, "certificateAuthorities"), i));
    json_object_set_new(doc, "certificateAuthorities", only);
    i = 0;

    rfc3339(start, t, sizeof(t));
    json_object_set_new(vf, "start", json_string(t));
    if (end != 0) {
        rfc3339(end, t, sizeof(t));
        json_object_set_new(vf, "end", json_string(t));
    }
    json_object_set_new(
        json_array_get(json_object_get(doc, "certificateAuthorities"), i),
        "validFor", vf);
    r = load_root_json(doc);
    json_decref(doc);
    return r;
}

static void
test_chain_validfor(void **state)
{
    json_t *doc = decoded(), *jc;
    const char *name;
    size_t ncas, i, tested = 0;
    struct config_trusted_root *prod = load_root("fulcio/trusted_root.json");

    (void)state;
    ncas = config_trusted_root_ncas(prod);
    json_object_foreach(json_object_get(doc, "certs"), name, jc)
    {
        struct fulcio_cert *c = parse_leaf(name);
        int64_t nb = fulcio_cert_claims(c)->not_before;
        size_t issuing = ncas;
        struct config_trusted_root *r;

        /* Which CA issues it (each CA alone, valid from NotBefore). */
        for (i = 0; i < ncas; i++) {
            struct config_trusted_root *only;

            only = prod_with_validity(i, nb, 0);
            if (fulcio_verify_chain(c, only, NULL) == FULCIO_CHAIN_OK) {
                issuing = i;
            }
            config_trusted_root_free(only);
        }
        assert_true(issuing < ncas);
        /* validFor starting exactly at NotBefore: covered (twin). */
        r = prod_with_validity(issuing, nb, 0);
        assert_int_equal(fulcio_verify_chain(c, r, NULL), FULCIO_CHAIN_OK);
        config_trusted_root_free(r);
        /* Starting one second later, or ending one second before: not. */
        r = prod_with_validity(issuing, nb + 1, 0);
        assert_int_not_equal(fulcio_verify_chain(c, r, NULL), FULCIO_CHAIN_OK);
        config_trusted_root_free(r);
        r = prod_with_validity(issuing, nb - 86400, nb - 1);
        assert_int_not_equal(fulcio_verify_chain(c, r, NULL), FULCIO_CHAIN_OK);
        config_trusted_root_free(r);
        tested++;
        fulcio_cert_free(c);
    }
    assert_true(tested > 0);
    config_trusted_root_free(prod);
    json_decref(doc);
}

/* A copy of leaf whose issuer is ca, signed by ca_key: same extensions,
 * SAN, validity and public key; only the signature differs. */
static uint8_t *
resign(X509 *leaf, X509 *ca, EVP_PKEY *ca_key, size_t *len)
{
    X509 *x = X509_dup(leaf);
    uint8_t *der;

    assert_non_null(x);
    assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(ca)), 1);
    der = sign_der(x, ca_key, len);
    X509_free(x);
    return der;
}

static void
test_chain_impostor(void **state)
{
    json_t *doc = decoded(), *jc;
    struct config_trusted_root *prod = load_root("fulcio/trusted_root.json");
    EVP_PKEY *fake_key = gen_key();
    /* Same subject as Fulcio's intermediate: O=sigstore.dev,
     * CN=sigstore-intermediate; self-made. */
    X509 *fake = make_ca("sigstore-intermediate", fake_key);
    struct config_trusted_root *fake_root = root_with_ca(&fake, 1, 0);
    const char *name;
    size_t n = 0;

    (void)state;
    json_object_foreach(json_object_get(doc, "certs"), name, jc)
    {
        struct fulcio_cert *real = parse_leaf(name), *imp;
        const struct fulcio_claims *rc = fulcio_cert_claims(real), *ic;
        size_t len;
        uint8_t *der = resign(fulcio_cert_x509(real), fake, fake_key, &len);
        enum fulcio_error e;
        enum fulcio_chain_result r;
        unsigned k;

        imp = fulcio_cert_parse_der(der, len, &e);
        assert_non_null(imp);
        ic = fulcio_cert_claims(imp);
        /* The parser reports the same claims: it does not judge. */
        assert_string_equal(ic->san, rc->san);
        assert_str_or_null(ic->repository, rc->repository);
        for (k = 0; k <= FULCIO_EXT_MAX; k++) {
            assert_str_or_null(ic->ext[k], rc->ext[k]);
        }
        assert_memory_not_equal(ic->sha256, rc->sha256, 32);
        /* The impostor does not chain to Fulcio... */
        r = fulcio_verify_chain(imp, prod, NULL);
        assert_int_equal(r, FULCIO_CHAIN_BAD_SIGNATURE);
        /* ...but does to its own CA (twin: only trust differs)... */
        assert_int_equal(fulcio_verify_chain(imp, fake_root, NULL),
                         FULCIO_CHAIN_OK);
        /* ...and the real leaf does not chain to the self-made root. */
        assert_int_not_equal(fulcio_verify_chain(real, fake_root, NULL),
                             FULCIO_CHAIN_OK);
        fulcio_cert_free(imp);
        fulcio_cert_free(real);
        OPENSSL_free(der);
        n++;
    }
    assert_true(n > 0);
    config_trusted_root_free(fake_root);
    config_trusted_root_free(prod);
    X509_free(fake);
    EVP_PKEY_free(fake_key);
    json_decref(doc);
}

/* A leaf from a test CA with the given EKU config (NULL: none). */
static enum fulcio_chain_result
verify_eku(const char *eku, EVP_PKEY *ca_key, X509 *ca,
           struct config_trusted_root *root)
{
    EVP_PKEY *k = gen_key();
    X509 *x = new_leaf(ca, k, 1700000000);
    size_t len;
    uint8_t *der;
    struct fulcio_cert *c;
    enum fulcio_chain_result r;

    add_conf_ext(x, ca, NID_subject_alt_name, "email:someone@example.com");
    if (eku != NULL) {
        add_conf_ext(x, ca, NID_ext_key_usage, eku);
    }
    der = sign_der(x, ca_key, &len);
    c = fulcio_cert_parse_der(der, len, NULL);
    assert_non_null(c);
    r = fulcio_verify_chain(c, root, NULL);
    fulcio_cert_free(c);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
    return r;
}

static void
test_chain_eku(void **state)
{
    EVP_PKEY *ca_key = gen_key();
    X509 *ca = make_ca("test-ca", ca_key);
    struct config_trusted_root *root = root_with_ca(&ca, 1, 0);

    (void)state;
    assert_int_equal(verify_eku("codeSigning", ca_key, ca, root),
                     FULCIO_CHAIN_OK);
    assert_int_equal(verify_eku(NULL, ca_key, ca, root), FULCIO_CHAIN_EKU);
    assert_int_equal(verify_eku("serverAuth", ca_key, ca, root),
                     FULCIO_CHAIN_EKU);
    config_trusted_root_free(root);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

/* A two-level test chain (intermediate first, root last) verifies; a
 * chain listed without its intermediate does not. */
static void
test_chain_intermediate(void **state)
{
    EVP_PKEY *root_key = gen_key(), *int_key = gen_key(), *k = gen_key();
    X509 *root = make_ca("test-root", root_key);
    X509 *inter = new_cert("test-intermediate", int_key, 946684800, 4102444800);
    X509 *chain[2], *x;
    struct config_trusted_root *good, *bad;
    struct fulcio_cert *c;
    uint8_t *der;
    size_t len;

    (void)state;
    assert_int_equal(X509_set_issuer_name(inter, X509_get_subject_name(root)),
                     1);
    add_conf_ext(inter, root, NID_basic_constraints,
                 "critical,CA:TRUE,pathlen:0");
    add_conf_ext(inter, root, NID_key_usage, "critical,keyCertSign");
    assert_true(X509_sign(inter, root_key, EVP_sha256()) > 0);
    x = new_leaf(inter, k, 1700000000);
    add_conf_ext(x, inter, NID_subject_alt_name, "email:a@example.com");
    add_conf_ext(x, inter, NID_ext_key_usage, "codeSigning");
    der = sign_der(x, int_key, &len);
    c = fulcio_cert_parse_der(der, len, NULL);
    assert_non_null(c);
    chain[0] = inter;
    chain[1] = root;
    good = root_with_ca(chain, 2, 0);
    bad = root_with_ca(&root, 1, 0);
    assert_int_equal(fulcio_verify_chain(c, good, NULL), FULCIO_CHAIN_OK);
    assert_int_equal(fulcio_verify_chain(c, bad, NULL), FULCIO_CHAIN_UNTRUSTED);
    config_trusted_root_free(good);
    config_trusted_root_free(bad);
    fulcio_cert_free(c);
    OPENSSL_free(der);
    X509_free(x);
    X509_free(inter);
    X509_free(root);
    EVP_PKEY_free(k);
    EVP_PKEY_free(int_key);
    EVP_PKEY_free(root_key);
}

/* ---- hostile and synthetic certificates -------------------------------- */

struct factory {
    EVP_PKEY *ca_key, *key;
    X509 *ca;
};

static void
factory_init(struct factory *f)
{
    f->ca_key = gen_key();
    f->key = gen_key();
    f->ca = make_ca("test-ca", f->ca_key);
}

static void
factory_free(struct factory *f)
{
    X509_free(f->ca);
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->key);
}

/* A leaf with SAN san (OpenSSL config syntax, NULL for none). */
static X509 *
leaf_with_san(struct factory *f, const char *san)
{
    X509 *x = new_leaf(f->ca, f->key, 1700000000);

    if (san != NULL) {
        add_conf_ext(x, f->ca, NID_subject_alt_name, san);
    }
    add_conf_ext(x, f->ca, NID_ext_key_usage, "codeSigning");
    return x;
}

/* Sign and parse; returns the parse error (cert freed). */
static enum fulcio_error
parse_result(struct factory *f, X509 *x)
{
    size_t len;
    uint8_t *der = sign_der(x, f->ca_key, &len);
    enum fulcio_error e = FULCIO_ERR_INTERNAL;
    struct fulcio_cert *c = fulcio_cert_parse_der(der, len, &e);

    if (c != NULL) {
        assert_int_equal(e, FULCIO_OK);
    }
    fulcio_cert_free(c);
    OPENSSL_free(der);
    X509_free(x);
    return e;
}

/* Sign and parse; returns the cert (caller frees). */
static struct fulcio_cert *
parse_ok(struct factory *f, X509 *x)
{
    size_t len;
    uint8_t *der = sign_der(x, f->ca_key, &len);
    enum fulcio_error e;
    struct fulcio_cert *c = fulcio_cert_parse_der(der, len, &e);

    if (c == NULL) {
        fail_msg("parse failed: %s", fulcio_strerror(e));
    }
    OPENSSL_free(der);
    X509_free(x);
    return c;
}

static void
test_utf8string_encodings(void **state)
{
    struct factory f;
    uint8_t buf[8192];
    struct fulcio_cert *c;
    char *longv;
    X509 *x;

    (void)state;
    factory_init(&f);
    longv = malloc(FULCIO_MAX_VALUE + 2);
    assert_non_null(longv);

    /* Long-form length (0x81 0xc8: 200 bytes) is accepted... */
    memset(longv, 'r', 200);
    longv[200] = '\0';
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 14, longv);
    c = parse_ok(&f, x);
    assert_string_equal(fulcio_cert_claims(c)->ext[14], longv);
    fulcio_cert_free(c);
    /* ...and so is a two-byte length at exactly the limit... */
    memset(longv, 'r', FULCIO_MAX_VALUE);
    longv[FULCIO_MAX_VALUE] = '\0';
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 14, longv);
    c = parse_ok(&f, x);
    assert_int_equal(strlen(fulcio_cert_claims(c)->ext[14]), FULCIO_MAX_VALUE);
    fulcio_cert_free(c);
    /* ...but one byte over is refused. */
    longv[FULCIO_MAX_VALUE] = 'r';
    longv[FULCIO_MAX_VALUE + 1] = '\0';
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 14, longv);
    assert_int_equal(parse_result(&f, x), FULCIO_ERR_VALUE_TOO_LONG);
    /* Raw (.1-.6) values have the same limit. */
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_bytes(x, 4, longv, FULCIO_MAX_VALUE + 1);
    assert_int_equal(parse_result(&f, x), FULCIO_ERR_VALUE_TOO_LONG);

    {
        static const struct {
            const char *what;
            uint8_t bytes[12];
            size_t len;
        } bad[] = {
            {"non-minimal long form",
             {0x0c, 0x81, 0x05, 'h', 'e', 'l', 'l', 'o'},
             8},
            {"length longer than content",
             {0x0c, 0x06, 'h', 'e', 'l', 'l', 'o'},
             7},
            {"trailing byte", {0x0c, 0x05, 'h', 'e', 'l', 'l', 'o', 0}, 8},
            {"PrintableString tag", {0x13, 0x05, 'h', 'e', 'l', 'l', 'o'}, 7},
            {"indefinite length", {0x0c, 0x80, 'h', 'i', 0, 0}, 6},
            {"five length bytes",
             {0x0c, 0x85, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'},
             12},
            {"huge length", {0x0c, 0x84, 0xff, 0xff, 0xff, 0xff, 'h'}, 7},
            {"missing length", {0x0c}, 1},
            {"empty", {0}, 0},
        };
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            x = leaf_with_san(&f, "email:a@example.com");
            add_ext_bytes(x, 12, bad[i].bytes, bad[i].len);
            if (parse_result(&f, x) != FULCIO_ERR_EXTENSION) {
                fail_msg("accepted: %s", bad[i].what);
            }
        }
        /* Twin: the well-formed short form of the same value. */
        memcpy(buf, "\x0c\x05hello", 7);
        x = leaf_with_san(&f, "email:a@example.com");
        add_ext_bytes(x, 12, buf, 7);
        c = parse_ok(&f, x);
        assert_string_equal(fulcio_cert_claims(c)->ext[12], "hello");
        fulcio_cert_free(c);
    }

    /* A duplicate Sigstore extension is refused; its twin (two different
     * extensions) is accepted. */
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 11, "github-hosted");
    add_ext_utf8(x, 11, "self-hosted");
    assert_int_equal(parse_result(&f, x), FULCIO_ERR_EXTENSION);
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 11, "github-hosted");
    add_ext_utf8(x, 20, "push");
    c = parse_ok(&f, x);
    assert_string_equal(fulcio_cert_claims(c)->runner_environment,
                        "github-hosted");
    assert_string_equal(fulcio_cert_claims(c)->trigger, "push");
    fulcio_cert_free(c);

    free(longv);
    factory_free(&f);
}

static void
test_escaping(void **state)
{
    struct factory f;
    struct fulcio_cert *c;
    const struct fulcio_claims *cl;
    X509 *x;
    static const uint8_t raw[] = {'a', 0x01, 'b', '\\', 'c', 0xff, 0x7f, 0};
    static const char utf8[] = "caf\xc3\xa9 \xe2\x80\xae"
                               "evil";

    (void)state;
    factory_init(&f);
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_bytes(x, 4, raw, sizeof(raw));
    add_ext_utf8(x, 22, utf8);
    add_ext_utf8(x, 11, "github-hosted");
    c = parse_ok(&f, x);
    cl = fulcio_cert_claims(c);
    /* Control bytes, invalid UTF-8 and NUL escaped; backslash doubled. */
    assert_string_equal(cl->ext[4], "a\\x01b\\\\c\\xff\\x7f\\x00");
    /* Valid UTF-8 kept; a bidi override (U+202E) escaped. */
    assert_string_equal(cl->ext[22], "caf\xc3\xa9 \\xe2\\x80\\xaeevil");
    /* Twin: a plain value is untouched. */
    assert_string_equal(cl->ext[11], "github-hosted");
    fulcio_cert_free(c);
    factory_free(&f);
}

static void
test_san_forms(void **state)
{
    struct factory f;
    struct fulcio_cert *c;

    (void)state;
    factory_init(&f);
    c = parse_ok(&f, leaf_with_san(&f, "otherName:" ARC "7;UTF8:octocat"));
    assert_int_equal(fulcio_cert_claims(c)->san_type, FULCIO_SAN_OTHERNAME);
    assert_string_equal(fulcio_cert_claims(c)->san, "octocat");
    fulcio_cert_free(c);
    /* Other otherName types, missing SAN, two names, a DNS name: no. */
    assert_int_equal(
        parse_result(&f, leaf_with_san(&f, "otherName:1.2.3.4;UTF8:x")),
        FULCIO_ERR_SAN);
    assert_int_equal(
        parse_result(&f, leaf_with_san(&f, "otherName:" ARC "7;IA5:x")),
        FULCIO_ERR_SAN);
    assert_int_equal(parse_result(&f, leaf_with_san(&f, NULL)), FULCIO_ERR_SAN);
    assert_int_equal(
        parse_result(&f, leaf_with_san(&f, "email:a@example.com,"
                                           "URI:https://github.com/a/b")),
        FULCIO_ERR_SAN);
    assert_int_equal(parse_result(&f, leaf_with_san(&f, "DNS:example.com")),
                     FULCIO_ERR_SAN);
    factory_free(&f);
}

static void
test_input_forms(void **state)
{
    uint8_t *pem, *der, out[FULCIO_MAX_DER], *big;
    size_t pemlen, derlen, n;
    enum fulcio_error e;
    char *b64, *bad;

    (void)state;
    pem = read_rel("fulcio/leaf/gha-hashedrekord-rfc8785py.pem", &pemlen);
    der = pem_to_der(pem, pemlen, &derlen);
    /* CRLF line ends and leading text are fine. */
    {
        uint8_t *crlf = malloc(pemlen * 2 + 32);
        size_t i, k = 0;

        assert_non_null(crlf);
        memcpy(crlf, "subject: x\r\n", 12);
        k = 12;
        for (i = 0; i < pemlen; i++) {
            if (pem[i] == '\n') {
                crlf[k++] = '\r';
            }
            crlf[k++] = pem[i];
        }
        assert_int_equal(fulcio_cert_decode(crlf, k, out, sizeof(out), &n), 0);
        assert_int_equal(n, derlen);
        assert_memory_equal(out, der, n);
        free(crlf);
    }
    /* Corrupt base64 inside PEM: refused (twin of the above). */
    bad = malloc(pemlen + 1);
    assert_non_null(bad);
    memcpy(bad, pem, pemlen);
    bad[40] = '*';
    assert_null(fulcio_cert_parse((uint8_t *)bad, pemlen, &e));
    assert_int_equal(e, FULCIO_ERR_ENCODING);
    /* Missing END line. */
    assert_null(fulcio_cert_parse(pem, pemlen - 30, &e));
    assert_int_equal(e, FULCIO_ERR_ENCODING);
    /* base64 of PEM, then one character broken. */
    b64 = b64_encode(pem, pemlen);
    b64[100] = '!';
    assert_null(fulcio_cert_parse((uint8_t *)b64, strlen(b64), &e));
    assert_int_equal(e, FULCIO_ERR_ENCODING);
    free(b64);
    /* Garbage, empty, too large. */
    assert_null(fulcio_cert_parse((const uint8_t *)"hello", 5, &e));
    assert_int_equal(e, FULCIO_ERR_ENCODING);
    assert_null(fulcio_cert_parse(pem, 0, &e));
    assert_int_equal(e, FULCIO_ERR_ARG);
    big = calloc(1, FULCIO_MAX_INPUT + 1);
    assert_non_null(big);
    memcpy(big, pem, pemlen);
    assert_null(fulcio_cert_parse(big, FULCIO_MAX_INPUT + 1, &e));
    assert_int_equal(e, FULCIO_ERR_TOO_LARGE);
    big[0] = 0x30;
    assert_null(fulcio_cert_parse_der(big, FULCIO_MAX_DER + 1, &e));
    assert_int_equal(e, FULCIO_ERR_TOO_LARGE);
    assert_int_equal(
        fulcio_cert_decode(big, FULCIO_MAX_DER + 1, out, sizeof(out), &n), -1);
    /* Every truncation of the DER fails cleanly. */
    for (n = 0; n < derlen; n += 7) {
        assert_null(fulcio_cert_parse(der, n, &e));
    }
    free(big);
    free(bad);
    OPENSSL_free(der);
    free(pem);
}

/*
 * Re-encode DER with the primitive OCTET STRING (tag 0x04) whose content
 * equals `value` split into a BER constructed OCTET STRING of two pieces.
 * Enclosing lengths are recomputed.  Returns the new length.
 */
static size_t
ber_split(const uint8_t *in, size_t len, const uint8_t *value, size_t vlen,
          uint8_t *out)
{
    size_t i = 0, o = 0;

    while (i < len) {
        uint8_t tag = in[i];
        size_t hl = 2, cl, k;

        cl = in[i + 1];
        if (cl & 0x80) {
            size_t nb = cl & 0x7f;

            cl = 0;
            for (k = 0; k < nb; k++) {
                cl = (cl << 8) | in[i + 2 + k];
            }
            hl = 2 + nb;
        }
        if (tag == 0x04 && cl == vlen &&
            memcmp(in + i + hl, value, vlen) == 0) {
            uint8_t inner[1024];
            size_t h1 = vlen / 2, il = 0;

            il += der_header(0x04, h1, inner + il);
            memcpy(inner + il, value, h1);
            il += h1;
            il += der_header(0x04, vlen - h1, inner + il);
            memcpy(inner + il, value + h1, vlen - h1);
            il += vlen - h1;
            o += der_header(0x24, il, out + o);
            memcpy(out + o, inner, il);
            o += il;
        } else if (tag & 0x20) {
            uint8_t sub[16384];
            size_t sl = ber_split(in + i + hl, cl, value, vlen, sub);

            o += der_header(tag, sl, out + o);
            memcpy(out + o, sub, sl);
            o += sl;
        } else {
            memcpy(out + o, in + i, hl + cl);
            o += hl + cl;
        }
        i += hl + cl;
    }
    return o;
}

static void
test_ber_value_refused(void **state)
{
    struct factory f;
    X509 *x;
    uint8_t *der, ber[16384];
    size_t len, blen;
    struct fulcio_cert *c;
    struct fulcio_needles *nd = fulcio_needles_new();
    enum fulcio_error e;
    X509 *check;
    const unsigned char *p;

    (void)state;
    factory_init(&f);
    assert_int_equal(fulcio_needles_add(nd, "acme/enclave-app", NULL), 0);
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_bytes(x, 5, "acme/enclave-app", 16);
    der = sign_der(x, f.ca_key, &len);
    /* DER form: parsed, matched, found by the prefilter. */
    c = fulcio_cert_parse_der(der, len, &e);
    assert_non_null(c);
    assert_true(fulcio_needles_match_claims(nd, fulcio_cert_claims(c)));
    assert_true(fulcio_prefilter(nd, der, len));
    fulcio_cert_free(c);
    /* BER form ("acme/enc" + "lave-app"): OpenSSL accepts it... */
    blen = ber_split(der, len, (const uint8_t *)"acme/enclave-app", 16, ber);
    assert_int_not_equal(blen, len);
    p = ber;
    check = d2i_X509(NULL, &p, (long)blen);
    assert_non_null(check);
    X509_free(check);
    /* ...the prefilter cannot see it, so the parser must refuse it. */
    assert_false(fulcio_prefilter(nd, ber, blen));
    assert_null(fulcio_cert_parse_der(ber, blen, &e));
    assert_int_equal(e, FULCIO_ERR_DER);
    OPENSSL_free(der);
    X509_free(x);
    fulcio_needles_free(nd);
    factory_free(&f);
}

/* ---- prefilter ---------------------------------------------------------- */

/* The repository a leaf's JSON record names (.12, else .5), or NULL. */
static const char *
record_repo(json_t *jc)
{
    const char *v12 = ext_value(jc, 12);

    if (v12 != NULL) {
        return v12 + strlen("https://github.com/");
    }
    return ext_value(jc, 5);
}

static void
recase(const char *in, char *out, int mode, uint64_t *seed)
{
    size_t i;

    for (i = 0; in[i] != '\0'; i++) {
        unsigned char c = (unsigned char)in[i];
        int up = mode == 0 ? 0 : mode == 1 ? 1 : (int)((*seed >> (i % 61)) & 1);

        out[i] = (char)(up ? toupper(c) : tolower(c));
    }
    out[i] = '\0';
}

/* The three input forms of a blob, for the prefilter. */
struct forms {
    uint8_t *pem, *der;
    char *b64;
    size_t pemlen, derlen;
};

static void
forms_load(struct forms *fm, const char *name)
{
    char rel[256];

    snprintf(rel, sizeof(rel), "fulcio/leaf/%s", name);
    fm->pem = read_rel(rel, &fm->pemlen);
    fm->der = pem_to_der(fm->pem, fm->pemlen, &fm->derlen);
    fm->b64 = b64_encode(fm->pem, fm->pemlen);
}

static void
forms_free(struct forms *fm)
{
    free(fm->pem);
    OPENSSL_free(fm->der);
    free(fm->b64);
}

/* Prefilter over all three forms; they must agree. */
static int
prefilter3(const struct fulcio_needles *n, const struct forms *fm)
{
    int a = fulcio_prefilter(n, fm->pem, fm->pemlen);
    int b = fulcio_prefilter(n, fm->der, fm->derlen);
    int c = fulcio_prefilter(n, (const uint8_t *)fm->b64, strlen(fm->b64));

    assert_int_equal(a, b);
    assert_int_equal(a, c);
    return a;
}

static int
match_one(const char *repo, const char *id, const struct forms *fm,
          int *matched)
{
    struct fulcio_needles *n = fulcio_needles_new();
    struct fulcio_cert *c;
    int r;

    assert_non_null(n);
    assert_int_equal(fulcio_needles_add(n, repo, id), 0);
    r = prefilter3(n, fm);
    c = fulcio_cert_parse(fm->pem, fm->pemlen, NULL);
    assert_non_null(c);
    *matched = fulcio_needles_match_claims(n, fulcio_cert_claims(c));
    fulcio_cert_free(c);
    fulcio_needles_free(n);
    return r;
}

static void
test_prefilter_leaves(void **state)
{
    json_t *doc = decoded(), *certs = json_object_get(doc, "certs"), *jc, *jo;
    const char *name, *other;
    uint64_t seed = 42;
    size_t gha = 0;

    (void)state;
    json_object_foreach(certs, name, jc)
    {
        const char *repo = record_repo(jc), *id = ext_value(jc, 15);
        struct forms fm;
        char buf[512];
        int mode, m;

        forms_load(&fm, name);
        if (repo != NULL) {
            gha++;
            for (mode = 0; mode < 3; mode++) {
                recase(repo, buf, mode, &seed);
                assert_true(match_one(buf, NULL, &fm, &m));
                assert_true(m);
            }
        }
        if (id != NULL) {
            /* By id alone (the repository needle names nothing). */
            assert_true(match_one("nobody/nothing", id, &fm, &m));
            assert_true(m);
        }
        /* Negative twins: other repositories, an unknown id. */
        assert_false(match_one("acme/enclave-app", NULL, &fm, &m));
        assert_false(m);
        assert_false(
            match_one("acme/enclave-app", "98765432109876543210", &fm, &m));
        assert_false(m);
        json_object_foreach(certs, other, jo)
        {
            const char *orepo = record_repo(jo);

            if (orepo == NULL ||
                (repo != NULL && strcasecmp(orepo, repo) == 0)) {
                continue;
            }
            assert_false(match_one(orepo, NULL, &fm, &m));
            assert_false(m);
        }
        forms_free(&fm);
    }
    assert_true(gha > 0);
    json_decref(doc);
}

/* Sign a synthetic leaf into forms (DER, PEM, base64 of PEM). */
static void
forms_from_x509(struct forms *fm, struct factory *f, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    fm->der = sign_der(x, f->ca_key, &fm->derlen);
    assert_non_null(b);
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    n = BIO_get_mem_data(b, &p);
    assert_true(n > 0);
    fm->pem = malloc((size_t)n);
    assert_non_null(fm->pem);
    memcpy(fm->pem, p, (size_t)n);
    fm->pemlen = (size_t)n;
    fm->b64 = b64_encode(fm->pem, fm->pemlen);
    BIO_free(b);
    X509_free(x);
}

static void
test_prefilter_synthetic(void **state)
{
    struct factory f;
    struct forms fm[4];
    X509 *x;
    size_t i;
    int m;
    const char *repo_of[4];

    (void)state;
    factory_init(&f);
    /* SAN only. */
    forms_from_x509(&fm[0], &f,
                    leaf_with_san(&f, "URI:https://github.com/Acme/Enclave-App/"
                                      ".github/workflows/build.yml@refs/heads/"
                                      "main"));
    /* .12 Source Repository URI only (SAN an email). */
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 12, "https://github.com/ACME/enclave-app");
    forms_from_x509(&fm[1], &f, x);
    /* Legacy .5 only. */
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_bytes(x, 5, "acme/Enclave-app", 16);
    forms_from_x509(&fm[2], &f, x);
    /* .15 only. */
    x = leaf_with_san(&f, "email:a@example.com");
    add_ext_utf8(x, 15, "123456");
    forms_from_x509(&fm[3], &f, x);
    repo_of[0] = "Acme/Enclave-App";
    repo_of[1] = "ACME/enclave-app";
    repo_of[2] = "acme/Enclave-app";
    repo_of[3] = NULL;

    for (i = 0; i < 3; i++) {
        struct fulcio_cert *c =
            fulcio_cert_parse(fm[i].pem, fm[i].pemlen, NULL);

        assert_non_null(c);
        assert_string_equal(fulcio_cert_claims(c)->repository, repo_of[i]);
        fulcio_cert_free(c);
        assert_true(match_one("acme/enclave-app", NULL, &fm[i], &m));
        assert_true(m);
        assert_true(match_one("ACME/ENCLAVE-APP", NULL, &fm[i], &m));
        assert_true(m);
        /* Twins: a longer name and another owner do not match. */
        assert_false(match_one("acme/enclave-apps", NULL, &fm[i], &m));
        assert_false(m);
        assert_false(match_one("acmf/enclave-app", NULL, &fm[i], &m));
        assert_false(m);
        /* A prefix may pass the prefilter, never the exact match. */
        (void)match_one("acme/enclave", NULL, &fm[i], &m);
        assert_false(m);
        /* No repository id in these. */
        assert_false(match_one("x/y", "123456", &fm[i], &m));
        assert_false(m);
    }
    assert_true(match_one("x/y", "123456", &fm[3], &m));
    assert_true(m);
    assert_false(match_one("x/y", "1234567", &fm[3], &m));
    assert_false(m);
    (void)match_one("x/y", "12345", &fm[3], &m); /* substring: may pass */
    assert_false(m);
    assert_false(match_one("acme/enclave-app", NULL, &fm[3], &m));
    for (i = 0; i < 4; i++) {
        forms_free(&fm[i]);
    }
    factory_free(&f);
}

static void
test_needles_validation(void **state)
{
    struct fulcio_needles *n = fulcio_needles_new();
    static const char *const bad_repo[] = {
        "acme",       "acme/", "/app",       "a/b/c",      "a b/c",
        "acme/app@x", "",      "acme\\/app", "acme/app\n",
    };
    size_t i;
    char big[FULCIO_NEEDLE_MAX_LEN + 8];

    (void)state;
    assert_non_null(n);
    for (i = 0; i < sizeof(bad_repo) / sizeof(bad_repo[0]); i++) {
        assert_int_equal(fulcio_needles_add(n, bad_repo[i], NULL), -1);
    }
    assert_int_equal(fulcio_needles_add(n, NULL, NULL), -1);
    assert_int_equal(fulcio_needles_add(n, "a/b", "12a"), -1);
    assert_int_equal(fulcio_needles_add(n, "a/b", ""), -1);
    assert_int_equal(fulcio_needles_add(n, "a/b", "-1"), -1);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[3] = '/';
    assert_int_equal(fulcio_needles_add(n, big, NULL), -1);
    /* Twins. */
    assert_int_equal(fulcio_needles_add(n, "a/b", NULL), 0);
    assert_int_equal(fulcio_needles_add(n, "Org-1/repo.name_x", "1"), 0);
    /* An empty needle set matches nothing. */
    fulcio_needles_free(n);
    n = fulcio_needles_new();
    assert_false(fulcio_prefilter(n, (const uint8_t *)"a/b", 3));
    for (i = 0; i < FULCIO_NEEDLES_MAX; i++) {
        assert_int_equal(fulcio_needles_add(n, "a/b", NULL), 0);
    }
    assert_int_equal(fulcio_needles_add(n, "a/b", NULL), -1);
    fulcio_needles_free(n);
    fulcio_needles_free(NULL);
}

static uint64_t
rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A random needle derived from a real repository name or id. */
static void
random_repo(const char *base, char *out, uint64_t *s)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzAZ019-_./";
    size_t len = strlen(base), i;

    memcpy(out, base, len + 1);
    switch (rnd(s) % 5) {
    case 0: /* exact, random case */
        break;
    case 1: /* drop a suffix */
        out[len - rnd(s) % (len / 2 + 1)] = '\0';
        break;
    case 2: /* drop a prefix */
        memmove(out, out + rnd(s) % (len / 2 + 1), len + 1);
        break;
    case 3: /* replace one character */
        out[rnd(s) % len] = alphabet[rnd(s) % (sizeof(alphabet) - 1)];
        break;
    default: /* append one */
        out[len] = alphabet[rnd(s) % (sizeof(alphabet) - 1)];
        out[len + 1] = '\0';
        break;
    }
    for (i = 0; out[i] != '\0'; i++) {
        if (rnd(s) & 1) {
            out[i] = (char)toupper((unsigned char)out[i]);
        }
    }
}

static void
random_id(const char *base, char *out, uint64_t *s)
{
    size_t len = strlen(base), i;

    if (rnd(s) % 3 == 0) {
        for (i = 0; i < 1 + rnd(s) % 10; i++) {
            out[i] = (char)('0' + rnd(s) % 10);
        }
        out[i] = '\0';
        return;
    }
    memcpy(out, base, len + 1);
    if (rnd(s) & 1) {
        out[len - rnd(s) % len] = '\0';
        if (out[0] == '\0') {
            out[0] = '7';
            out[1] = '\0';
        }
    } else if (rnd(s) & 1) {
        out[rnd(s) % len] = (char)('0' + rnd(s) % 10);
    }
}

static void
test_prefilter_property(void **state)
{
    json_t *doc = decoded(), *certs = json_object_get(doc, "certs"), *jc;
    const char *name, *pool_repo[64], *pool_id[64];
    size_t npool = 0, nid = 0, iter;
    size_t hit_match = 0, pass_nomatch = 0, reject = 0;
    uint64_t s = 0x5eed;

    (void)state;
    json_object_foreach(certs, name, jc)
    {
        if (record_repo(jc) != NULL) {
            pool_repo[npool++] = record_repo(jc);
        }
        if (ext_value(jc, 15) != NULL) {
            pool_id[nid++] = ext_value(jc, 15);
        }
    }
    pool_repo[npool++] = "acme/enclave-app";
    pool_id[nid++] = "123456";
    assert_true(npool > 1 && nid > 1);

    json_object_foreach(certs, name, jc)
    {
        struct forms fm;
        struct fulcio_cert *c;

        forms_load(&fm, name);
        c = fulcio_cert_parse(fm.der, fm.derlen, NULL);
        assert_non_null(c);
        for (iter = 0; iter < 1500; iter++) {
            struct fulcio_needles *n = fulcio_needles_new();
            char repo[600], id[64];
            size_t k, nn = 1 + rnd(&s) % 3;
            int pf, m;

            for (k = 0; k < nn; k++) {
                random_repo(pool_repo[rnd(&s) % npool], repo, &s);
                random_id(pool_id[rnd(&s) % nid], id, &s);
                (void)fulcio_needles_add(n, repo, (rnd(&s) & 1) ? id : NULL);
            }
            pf = prefilter3(n, &fm);
            m = fulcio_needles_match_claims(n, fulcio_cert_claims(c));
            if (!pf && m) {
                fail_msg("%s: prefilter missed a match (needle %s / %s)", name,
                         repo, id);
            }
            hit_match += pf && m;
            pass_nomatch += pf && !m;
            reject += !pf;
            fulcio_needles_free(n);
        }
        fulcio_cert_free(c);
        forms_free(&fm);
    }
    /* The generator exercises all three outcomes. */
    assert_true(hit_match > 100);
    assert_true(pass_nomatch > 10);
    assert_true(reject > 100);
    json_decref(doc);
}

/* Which source each derived field comes from, when several are present. */
static void
test_derived_precedence(void **state)
{
    struct factory f;
    struct fulcio_cert *c;
    const struct fulcio_claims *cl;
    X509 *x;

    (void)state;
    factory_init(&f);
    /* All sources present: .8, .12, .13, .20, .18 win. */
    x = leaf_with_san(&f, "URI:https://github.com/san/repo/.github/workflows/"
                          "r.yml@refs/heads/san");
    add_ext_bytes(x, 1, "https://legacy-issuer", 21);
    add_ext_bytes(x, 2, "legacy-trigger", 14);
    add_ext_bytes(x, 3, "legacy-sha", 10);
    add_ext_bytes(x, 5, "legacy/repo", 11);
    add_ext_utf8(x, 8, "https://issuer-v2");
    add_ext_utf8(x, 12, "https://github.com/source/repo");
    add_ext_utf8(x, 13, "source-sha");
    add_ext_utf8(x, 18,
                 "https://github.com/source/repo/.github/workflows/"
                 "b.yml@refs/tags/v1@x");
    add_ext_utf8(x, 19, "config-sha");
    add_ext_utf8(x, 20, "push");
    c = parse_ok(&f, x);
    cl = fulcio_cert_claims(c);
    assert_string_equal(cl->issuer, "https://issuer-v2");
    assert_string_equal(cl->repository, "source/repo");
    assert_string_equal(cl->workflow_sha, "source-sha");
    assert_string_equal(cl->trigger, "push");
    assert_string_equal(cl->workflow_path, ".github/workflows/b.yml");
    assert_string_equal(cl->workflow_ref, "refs/tags/v1@x");
    fulcio_cert_free(c);

    /* Legacy only: .1, .5 (before the SAN), .3, .2, path from the SAN. */
    x = leaf_with_san(&f, "URI:https://github.com/reusable/wf/.github/"
                          "workflows/r.yml@refs/heads/main");
    add_ext_bytes(x, 1, "https://legacy-issuer", 21);
    add_ext_bytes(x, 2, "legacy-trigger", 14);
    add_ext_bytes(x, 3, "legacy-sha", 10);
    add_ext_bytes(x, 5, "legacy/repo", 11);
    add_ext_utf8(x, 19, "config-sha");
    c = parse_ok(&f, x);
    cl = fulcio_cert_claims(c);
    assert_string_equal(cl->issuer, "https://legacy-issuer");
    assert_string_equal(cl->repository, "legacy/repo");
    assert_string_equal(cl->workflow_sha, "config-sha");
    assert_string_equal(cl->trigger, "legacy-trigger");
    assert_string_equal(cl->workflow_path, ".github/workflows/r.yml");
    assert_string_equal(cl->workflow_ref, "refs/heads/main");
    assert_null(cl->runner_environment);
    fulcio_cert_free(c);

    /* .3 as the last resort; no repository from a non-GitHub .12 (and no
     * fallback past a .12 that is present). */
    x = leaf_with_san(&f, "URI:https://github.com/san/repo/x.yml@main");
    add_ext_bytes(x, 3, "legacy-sha", 10);
    add_ext_utf8(x, 12, "https://gitlab.com/group/project");
    c = parse_ok(&f, x);
    cl = fulcio_cert_claims(c);
    assert_string_equal(cl->workflow_sha, "legacy-sha");
    assert_null(cl->repository);
    assert_null(cl->issuer);
    fulcio_cert_free(c);
    factory_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaves_parse),
        cmocka_unit_test(test_ext_names),
        cmocka_unit_test(test_chain_real),
        cmocka_unit_test(test_chain_validfor),
        cmocka_unit_test(test_chain_impostor),
        cmocka_unit_test(test_chain_eku),
        cmocka_unit_test(test_chain_intermediate),
        cmocka_unit_test(test_utf8string_encodings),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_derived_precedence),
        cmocka_unit_test(test_san_forms),
        cmocka_unit_test(test_input_forms),
        cmocka_unit_test(test_ber_value_refused),
        cmocka_unit_test(test_prefilter_leaves),
        cmocka_unit_test(test_prefilter_synthetic),
        cmocka_unit_test(test_needles_validation),
        cmocka_unit_test(test_prefilter_property),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
