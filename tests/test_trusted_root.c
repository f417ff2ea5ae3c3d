/*
 * test_trusted_root.c: config/trusted_root against the real Sigstore
 * trusted roots in $TLOGWATCH_TESTDATA (production, staging, staging with
 * the alpha Rekor v2 logs) and against malformed variants written by the
 * tests themselves.
 *
 * Every expected value is read from the test data at run time: the JSON is
 * parsed independently with jansson, base64 with OpenSSL, times with
 * strptime/timegm, URLs by hand.  Each positive test has a negative twin.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "config/trusted_root.h"

static const char *const roots[] = {
    "fulcio/trusted_root.json",
    "rekor-v2/staging-trusted_root.json",
    "rekor-v2/staging-trusted_root-alpha3.json",
};
#define NROOTS (sizeof(roots) / sizeof(roots[0]))

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

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static json_t *
load_json(const char *rel)
{
    char *p = td_path(rel);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);

    assert_non_null(j);
    free(p);
    return j;
}

/* base64 with OpenSSL's decoder (independent of the module's own). */
static size_t
b64(const char *s, uint8_t *out, size_t cap)
{
    size_t len = strlen(s), pad = 0;
    int n;

    assert_true(len / 4 * 3 <= cap);
    n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    assert_true(n >= 0);
    while (len > 0 && s[len - 1] == '=') {
        len--;
        pad++;
    }
    return (size_t)n - pad;
}

static int64_t
rfc3339(const char *s)
{
    struct tm tm;
    const char *rest;

    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    return (int64_t)timegm(&tm);
}

/* Host of a URL, by hand: between "://" and the next '/' or ':'. */
static void
url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t n;

    assert_non_null(p);
    p += 3;
    n = strcspn(p, "/:");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

static struct config_trusted_root *
load_root(const char *rel)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    char *p = td_path(rel);
    struct config_trusted_root *r =
        config_trusted_root_load(p, err, sizeof(err));

    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(p);
    return r;
}

static void
check_validity(json_t *obj, const struct config_validity *v)
{
    json_t *vf = json_object_get(obj, "validFor");
    json_t *end;

    if (vf == NULL) {
        assert_int_equal(v->start, 0);
        assert_int_equal(v->has_end, 0);
        return;
    }
    assert_int_equal(v->start,
                     rfc3339(json_string_value(json_object_get(vf, "start"))));
    end = json_object_get(vf, "end");
    assert_int_equal(v->has_end, end != NULL);
    if (end != NULL) {
        assert_int_equal(v->end, rfc3339(json_string_value(end)));
    }
}

/* A log entry matches its JSON: URL, signer, key, log id derivation. */
static void
check_log_key(json_t *jl, const struct config_log_key *k, int is_tlog)
{
    json_t *pk = json_object_get(jl, "publicKey");
    const char *details = json_string_value(json_object_get(pk, "keyDetails"));
    uint8_t der[8192], id[64], h[32], raw[32];
    size_t derlen, idlen, rawlen = sizeof(raw);
    char host[256];

    assert_string_equal(k->base_url,
                        json_string_value(json_object_get(jl, "baseUrl")));
    url_host(k->base_url, host, sizeof(host));
    assert_string_equal(k->signer_name, host);
    assert_string_equal(k->key_details, details);
    derlen = b64(json_string_value(json_object_get(pk, "rawBytes")), der,
                 sizeof(der));
    assert_int_equal(k->spki_len, derlen);
    assert_memory_equal(k->spki_der, der, derlen);
    idlen = b64(json_string_value(
                    json_object_get(json_object_get(jl, "logId"), "keyId")),
                id, sizeof(id));
    assert_int_equal(idlen, 32);
    assert_memory_equal(k->log_id, id, 32);
    assert_int_equal(k->key_hint, (uint32_t)id[0] << 24 |
                                      (uint32_t)id[1] << 16 |
                                      (uint32_t)id[2] << 8 | id[3]);
    check_validity(pk, &k->valid_for);

    SHA256(der, derlen, h);
    if (strcmp(details, "PKIX_ED25519") == 0) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        assert_int_equal(k->alg, CONFIG_KEY_ED25519);
        assert_non_null(k->pkey);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen), 1);
        assert_int_equal(rawlen, 32);
        /* The raw key is the tail of the SPKI. */
        assert_memory_equal(raw, der + derlen - 32, 32);
        /* Rekor v2: log id = C2SP note key id, not SHA-256(SPKI). */
        assert_true(is_tlog);
        assert_memory_not_equal(h, id, 32);
        assert_non_null(ctx);
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, host, strlen(host)), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, "\n\001", 2), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, raw, 32), 1);
        assert_int_equal(EVP_DigestFinal_ex(ctx, h, NULL), 1);
        EVP_MD_CTX_free(ctx);
        assert_memory_equal(h, id, 32);
    } else if (strcmp(details, "PKIX_ECDSA_P256_SHA_256") == 0) {
        assert_int_equal(k->alg, CONFIG_KEY_ECDSA_P256_SHA256);
        assert_non_null(k->pkey);
        assert_int_equal(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_EC);
        /* Rekor v1 and CT: log id = SHA-256(DER SPKI). */
        assert_memory_equal(h, id, 32);
    } else {
        /* Not in the allow-list (e.g. staging's PKCS1_RSA_PKCS1V5). */
        assert_int_equal(k->alg, CONFIG_KEY_UNSUPPORTED);
        assert_null(k->pkey);
    }
}

static void
test_roots_load(void **state)
{
    size_t r, i, j, unsupported = 0, ed25519 = 0, ecdsa = 0;

    (void)state;
    for (r = 0; r < NROOTS; r++) {
        struct config_trusted_root *root = load_root(roots[r]);
        json_t *doc = load_json(roots[r]);
        json_t *tl = json_object_get(doc, "tlogs");
        json_t *ct = json_object_get(doc, "ctlogs");
        json_t *cas = json_object_get(doc, "certificateAuthorities");
        json_t *tsas = json_object_get(doc, "timestampAuthorities");

        assert_int_equal(config_trusted_root_ntlogs(root), json_array_size(tl));
        assert_int_equal(config_trusted_root_nctlogs(root),
                         json_array_size(ct));
        assert_int_equal(config_trusted_root_ncas(root), json_array_size(cas));
        assert_int_equal(config_trusted_root_ntsas(root),
                         json_array_size(tsas));
        for (i = 0; i < json_array_size(tl); i++) {
            const struct config_log_key *k = config_trusted_root_tlog(root, i);

            assert_non_null(k);
            check_log_key(json_array_get(tl, i), k, 1);
            ed25519 += k->alg == CONFIG_KEY_ED25519;
            ecdsa += k->alg == CONFIG_KEY_ECDSA_P256_SHA256;
        }
        assert_null(config_trusted_root_tlog(root, i));
        for (i = 0; i < json_array_size(ct); i++) {
            const struct config_log_key *k = config_trusted_root_ctlog(root, i);

            check_log_key(json_array_get(ct, i), k, 0);
            unsupported += k->alg == CONFIG_KEY_UNSUPPORTED;
        }
        assert_null(config_trusted_root_ctlog(root, i));
        for (i = 0; i < json_array_size(cas) + json_array_size(tsas); i++) {
            int is_ca = i < json_array_size(cas);
            size_t k = is_ca ? i : i - json_array_size(cas);
            const struct config_ca *ca = is_ca
                                             ? config_trusted_root_ca(root, k)
                                             : config_trusted_root_tsa(root, k);
            json_t *jc = json_array_get(is_ca ? cas : tsas, k);
            json_t *certs = json_object_get(json_object_get(jc, "certChain"),
                                            "certificates");
            json_t *subj = json_object_get(jc, "subject");

            assert_non_null(ca);
            assert_string_equal(ca->uri,
                                json_string_value(json_object_get(jc, "uri")));
            assert_string_equal(
                ca->subject_cn,
                json_string_value(json_object_get(subj, "commonName")));
            assert_string_equal(
                ca->subject_org,
                json_string_value(json_object_get(subj, "organization")));
            assert_int_equal(sk_X509_num(ca->chain), json_array_size(certs));
            for (j = 0; j < json_array_size(certs); j++) {
                uint8_t der[8192], *enc = NULL;
                size_t dlen = b64(json_string_value(json_object_get(
                                      json_array_get(certs, j), "rawBytes")),
                                  der, sizeof(der));
                int elen = i2d_X509(sk_X509_value(ca->chain, (int)j), &enc);

                assert_int_equal(elen, (int)dlen);
                assert_memory_equal(enc, der, dlen);
                OPENSSL_free(enc);
            }
            /* Root last: the last certificate is self-issued. */
            {
                X509 *last =
                    sk_X509_value(ca->chain, sk_X509_num(ca->chain) - 1);
                assert_int_equal(X509_NAME_cmp(X509_get_subject_name(last),
                                               X509_get_issuer_name(last)),
                                 0);
            }
            check_validity(jc, &ca->valid_for);
        }
        assert_null(
            config_trusted_root_ca(root, config_trusted_root_ncas(root)));
        json_decref(doc);
        config_trusted_root_free(root);
    }
    /* The data exercises every branch checked above. */
    assert_true(ed25519 > 0);
    assert_true(ecdsa > 0);
    assert_true(unsupported > 0);
}

static void
test_find_by_log_id(void **state)
{
    size_t r, i;

    (void)state;
    for (r = 0; r < NROOTS; r++) {
        struct config_trusted_root *root = load_root(roots[r]);

        for (i = 0; i < config_trusted_root_ntlogs(root); i++) {
            const struct config_log_key *k = config_trusted_root_tlog(root, i);
            uint8_t id[CONFIG_LOG_ID_LEN];
            size_t bit;

            assert_ptr_equal(config_trusted_root_find_tlog(root, k->log_id), k);
            /* Negative twin: any one-bit change misses. */
            for (bit = 0; bit < 8 * CONFIG_LOG_ID_LEN; bit += 37) {
                memcpy(id, k->log_id, sizeof(id));
                id[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                assert_null(config_trusted_root_find_tlog(root, id));
            }
        }
        /* CT log ids are not transparency logs. */
        for (i = 0; i < config_trusted_root_nctlogs(root); i++) {
            assert_null(config_trusted_root_find_tlog(
                root, config_trusted_root_ctlog(root, i)->log_id));
        }
        config_trusted_root_free(root);
    }
}

static void
test_find_by_hint(void **state)
{
    size_t r, i;

    (void)state;
    for (r = 0; r < NROOTS; r++) {
        struct config_trusted_root *root = load_root(roots[r]);

        for (i = 0; i < config_trusted_root_ntlogs(root); i++) {
            const struct config_log_key *k = config_trusted_root_tlog(root, i);

            assert_ptr_equal(
                config_trusted_root_find_tlog_hint(root, k->key_hint, NULL), k);
            assert_ptr_equal(config_trusted_root_find_tlog_hint(
                                 root, k->key_hint, k->signer_name),
                             k);
            assert_null(config_trusted_root_find_tlog_hint(root, k->key_hint,
                                                           "witness.example"));
            assert_null(config_trusted_root_find_tlog_hint(
                root, k->key_hint ^ 0x01000000u, NULL));
            assert_null(
                config_trusted_root_find_tlog_hint(root, ~k->key_hint, NULL));
        }
        config_trusted_root_free(root);
    }
}

/* "key: value" from a derived text file in the test data. */
static void
text_field(const char *text, const char *key, char *out, size_t cap)
{
    const char *p = strstr(text, key);
    size_t n;

    assert_non_null(p);
    p += strlen(key);
    while (*p == ' ') {
        p++;
    }
    n = strcspn(p, " \n");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Key hint and name of the first signature line of a signed note. */
static void
note_sig(const char *note, char *name, size_t cap, uint32_t *hint)
{
    const char *p = strstr(note, "\n\n\xe2\x80\x94 ");
    const char *sp;
    uint8_t sig[512];
    char b[1024];
    size_t n;

    assert_non_null(p);
    p += 6;
    sp = strchr(p, ' ');
    assert_non_null(sp);
    assert_true((size_t)(sp - p) < cap);
    memcpy(name, p, (size_t)(sp - p));
    name[sp - p] = '\0';
    n = strcspn(sp + 1, "\n");
    assert_true(n < sizeof(b));
    memcpy(b, sp + 1, n);
    b[n] = '\0';
    assert_true(b64(b, sig, sizeof(sig)) > 4);
    *hint = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 |
            (uint32_t)sig[2] << 8 | sig[3];
}

/* Real checkpoints: their signature line's name and hint find the key. */
static void
test_checkpoint_signers(void **state)
{
    struct config_trusted_root *root = load_root("fulcio/trusted_root.json");
    char *p, *text, name[256], hex[64], origin[256];
    const struct config_log_key *k;
    json_t *bundle;
    uint32_t hint;
    size_t len;

    (void)state;
    /* Rekor v1: checkpoints/valid.txt, signer rekor.sigstore.dev. */
    p = td_path("rekor/checkpoints/valid.txt");
    text = read_file(p, &len);
    note_sig(text, name, sizeof(name), &hint);
    k = config_trusted_root_find_tlog_hint(root, hint, name);
    assert_non_null(k);
    assert_string_equal(k->signer_name, name);
    assert_int_equal(k->alg, CONFIG_KEY_ECDSA_P256_SHA256);
    free(text);
    free(p);

    p = td_path("rekor/rekor.sigstore.dev.logid.txt");
    text = read_file(p, &len);
    text_field(text, "checkpoint_key_hint_hex:", hex, sizeof(hex));
    text_field(text, "signer_name_in_checkpoints:", name, sizeof(name));
    k = config_trusted_root_find_tlog_hint(
        root, (uint32_t)strtoul(hex, NULL, 16), name);
    assert_non_null(k);
    free(text);
    free(p);

    /* Rekor v2: the production bundle's checkpoint and logid.txt. */
    bundle = load_json("rekor-v2/prod-log2025-1.sigstore.json");
    text = (char *)json_string_value(json_object_get(
        json_object_get(
            json_object_get(
                json_array_get(
                    json_object_get(
                        json_object_get(bundle, "verificationMaterial"),
                        "tlogEntries"),
                    0),
                "inclusionProof"),
            "checkpoint"),
        "envelope"));
    assert_non_null(text);
    note_sig(text, name, sizeof(name), &hint);
    k = config_trusted_root_find_tlog_hint(root, hint, name);
    assert_non_null(k);
    assert_int_equal(k->alg, CONFIG_KEY_ED25519);
    /* The origin line is the signer name for Rekor v2. */
    len = strcspn(text, "\n");
    memcpy(origin, text, len);
    origin[len] = '\0';
    assert_string_equal(k->signer_name, origin);
    json_decref(bundle);

    p = td_path("rekor-v2/log2025-1.rekor.sigstore.dev.logid.txt");
    text = read_file(p, &len);
    text_field(text, "checkpoint_key_hint_hex:", hex, sizeof(hex));
    text_field(text, "checkpoint origin line:", name, sizeof(name));
    k = config_trusted_root_find_tlog_hint(
        root, (uint32_t)strtoul(hex, NULL, 16), name);
    assert_non_null(k);
    assert_string_equal(k->signer_name, name);
    /* Negative twin: the v1 signer name with the v2 hint. */
    assert_null(config_trusted_root_find_tlog_hint(
        root, (uint32_t)strtoul(hex, NULL, 16), "rekor.sigstore.dev"));
    free(text);
    free(p);
    config_trusted_root_free(root);
}

static void
test_validity(void **state)
{
    struct config_validity open = {100, 0, 0}, closed = {100, 200, 1};

    (void)state;
    assert_true(config_validity_covers(&open, 100));
    assert_true(config_validity_covers(&open, INT64_MAX));
    assert_false(config_validity_covers(&open, 99));
    assert_true(config_validity_covers(&closed, 200));
    assert_false(config_validity_covers(&closed, 201));
    assert_false(config_validity_covers(&closed, 99));
    assert_false(config_validity_covers(NULL, 150));
}

/* ---- malformed inputs -------------------------------------------------- */

/* Load a JSON value from memory, return NULL and the error. */
static struct config_trusted_root *
load_doc(json_t *doc, char *err, size_t errlen)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    struct config_trusted_root *r;

    assert_non_null(s);
    r = config_trusted_root_load_mem(s, strlen(s), "mem.json", err, errlen);
    free(s);
    return r;
}

/* Write data to a new temporary file; returns its path (caller frees). */
static char *
write_temp(const char *data, size_t len)
{
    char *path = strdup("/tmp/tlw-trusted-root-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static void
expect_file_error(const char *data, size_t len, const char *want)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN], prefix[64];
    char *path = write_temp(data, len);
    struct config_trusted_root *r;

    r = config_trusted_root_load(path, err, sizeof(err));
    snprintf(prefix, sizeof(prefix), "%s: ", path);
    if (r != NULL || strncmp(err, prefix, strlen(prefix)) != 0 ||
        strstr(err, want) == NULL) {
        fail_msg("expected \"%s...%s\", got \"%s\"", prefix, want,
                 r != NULL ? "(loaded)" : err);
    }
    unlink(path);
    free(path);
}

/* The production root, with one edit made by edit(). */
typedef void (*edit_fn)(json_t *doc);

static void
expect_error(edit_fn edit, const char *want)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;

    /* Positive twin first: the unedited document loads. */
    r = load_doc(doc, err, sizeof(err));
    assert_non_null(r);
    config_trusted_root_free(r);

    edit(doc);
    r = load_doc(doc, err, sizeof(err));
    if (r != NULL || strncmp(err, "mem.json: ", 10) != 0 ||
        strstr(err, want) == NULL) {
        fail_msg("expected an error containing \"%s\", got \"%s\"", want,
                 r != NULL ? "(loaded)" : err);
    }
    /* The same document through a temporary file: "path: ..." */
    {
        char *text = json_dumps(doc, JSON_INDENT(2));

        assert_non_null(text);
        expect_file_error(text, strlen(text), want);
        free(text);
    }
    json_decref(doc);
}

static json_t *
tlog(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "tlogs"), i);
}

static void
edit_tlogs_object(json_t *doc)
{
    json_object_set_new(doc, "tlogs", json_object());
}
static void
edit_baseurl_number(json_t *doc)
{
    json_object_set_new(tlog(doc, 0), "baseUrl", json_integer(1));
}
static void
edit_baseurl_nohost(json_t *doc)
{
    json_object_set_new(tlog(doc, 0), "baseUrl", json_string("rekor"));
}
static void
edit_bad_base64(json_t *doc)
{
    json_object_set_new(json_object_get(tlog(doc, 0), "publicKey"), "rawBytes",
                        json_string("MFkw!!EwYHKoZIzj0CAQ=="));
}
static void
edit_bad_key_der(json_t *doc)
{
    json_object_set_new(json_object_get(tlog(doc, 0), "publicKey"), "rawBytes",
                        json_string("AAAA"));
}
static void
edit_missing_logid(json_t *doc)
{
    json_object_del(tlog(doc, 1), "logId");
}
static void
edit_logid_mismatch(json_t *doc)
{
    /* The Ed25519 log's id on the ECDSA log. */
    json_object_set(tlog(doc, 0), "logId",
                    json_object_get(tlog(doc, 1), "logId"));
}
static void
edit_logid_short(json_t *doc)
{
    json_object_set_new(json_object_get(tlog(doc, 0), "logId"), "keyId",
                        json_string("wNI9atQGlz+VWfO6"));
}
static void
edit_keydetails_wrong(json_t *doc)
{
    json_object_set_new(json_object_get(tlog(doc, 0), "publicKey"),
                        "keyDetails", json_string("PKIX_ED25519"));
}
static void
edit_validfor_string(json_t *doc)
{
    json_object_set_new(json_object_get(tlog(doc, 0), "publicKey"), "validFor",
                        json_string("2021"));
}
static void
edit_bad_time(json_t *doc)
{
    json_object_set_new(
        json_object_get(json_object_get(tlog(doc, 0), "publicKey"), "validFor"),
        "start", json_string("2021-02-30T00:00:00Z"));
}
static void
edit_end_before_start(json_t *doc)
{
    json_object_set_new(
        json_object_get(json_object_get(tlog(doc, 0), "publicKey"), "validFor"),
        "end", json_string("2020-01-01T00:00:00Z"));
}
static void
edit_media_type(json_t *doc)
{
    json_object_set_new(doc, "mediaType", json_string("application/json"));
}
static void
edit_no_media_type(json_t *doc)
{
    json_object_del(doc, "mediaType");
}
static json_t *
ca(json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "certificateAuthorities"), i);
}
static void
edit_certs_not_array(json_t *doc)
{
    json_object_set_new(json_object_get(ca(doc, 1), "certChain"),
                        "certificates", json_string("x"));
}
static void
edit_cert_garbage(json_t *doc)
{
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(ca(doc, 1), "certChain"),
                                       "certificates"),
                       0),
        "rawBytes", json_string("MIIBAAAA"));
}
static void
edit_chain_too_long(json_t *doc)
{
    json_t *certs = json_object_get(json_object_get(ca(doc, 1), "certChain"),
                                    "certificates");
    json_t *c = json_array_get(certs, 0);
    int i;

    for (i = 0; i < CONFIG_TRUSTED_ROOT_MAX_CHAIN; i++) {
        json_array_append(certs, c);
    }
}
static void
edit_chain_empty(json_t *doc)
{
    json_array_clear(json_object_get(json_object_get(ca(doc, 1), "certChain"),
                                     "certificates"));
}
static void
edit_ca_no_validfor(json_t *doc)
{
    json_object_del(ca(doc, 1), "validFor");
}
static void
edit_too_many_tlogs(json_t *doc)
{
    json_t *tl = json_object_get(doc, "tlogs");
    json_t *first = json_array_get(tl, 0);

    while (json_array_size(tl) <= CONFIG_TRUSTED_ROOT_MAX_ITEMS) {
        json_array_append(tl, first);
    }
}
static void
edit_no_logs(json_t *doc)
{
    json_object_del(doc, "tlogs");
    json_object_set_new(doc, "ctlogs", json_array());
}
/* tlogs[0] listed again under another baseUrl: a conflict. */
static void
edit_dup_other_url(json_t *doc)
{
    json_t *c = json_deep_copy(tlog(doc, 0));

    json_object_set_new(c, "baseUrl", json_string("https://other.example"));
    json_array_append_new(json_object_get(doc, "tlogs"), c);
}
/* ctlogs[1] listed again under another baseUrl: the same in ctlogs. */
static void
edit_dup_ct_other_url(json_t *doc)
{
    json_t *ct = json_object_get(doc, "ctlogs");
    json_t *c = json_deep_copy(json_array_get(ct, 1));

    json_object_set_new(c, "baseUrl", json_string("https://other.example"));
    json_array_append_new(ct, c);
}
/* tlogs[0] again with an unsupported keyDetails and other bytes under
 * the same logId (a supported key's logId is checked against it). */
static void
edit_dup_other_key(json_t *doc)
{
    json_t *c = json_deep_copy(tlog(doc, 0));
    json_t *pk = json_object_get(c, "publicKey");

    json_object_set_new(pk, "keyDetails", json_string("PKIX_FUTURE_KEY"));
    json_object_set_new(pk, "rawBytes", json_string("AAAA"));
    json_array_append_new(json_object_get(doc, "tlogs"), c);
}

static void
test_malformed_fields(void **state)
{
    (void)state;
    expect_error(edit_tlogs_object, "\"tlogs\" must be an array");
    expect_error(edit_baseurl_number, "tlogs[0]: \"baseUrl\" must be a string");
    expect_error(edit_baseurl_nohost, "tlogs[0]: \"baseUrl\": not an http");
    expect_error(edit_bad_base64,
                 "tlogs[0].publicKey: \"rawBytes\": bad base64");
    expect_error(edit_bad_key_der, "not a DER SubjectPublicKeyInfo");
    expect_error(edit_missing_logid, "tlogs[1]: missing field \"logId\"");
    expect_error(edit_logid_mismatch,
                 "tlogs[0].logId: \"keyId\" does not match the public key");
    expect_error(edit_logid_short, "must be 32 bytes");
    expect_error(edit_keydetails_wrong, "key does not match keyDetails");
    expect_error(edit_validfor_string, "\"validFor\" must be an object");
    expect_error(edit_bad_time, "\"start\": not an RFC 3339 time");
    expect_error(edit_end_before_start, "\"end\" is before \"start\"");
    expect_error(edit_media_type, "unsupported mediaType");
    expect_error(edit_no_media_type, "missing field \"mediaType\"");
    expect_error(edit_certs_not_array,
                 "certificateAuthorities[1].certChain: \"certificates\" must "
                 "be an array");
    expect_error(edit_cert_garbage,
                 "certificates[0]: \"rawBytes\": not a DER X.509");
    expect_error(edit_chain_too_long, "(1 to 8 allowed)");
    expect_error(edit_chain_empty, "(1 to 8 allowed)");
    expect_error(edit_ca_no_validfor,
                 "certificateAuthorities[1]: missing field \"validFor\"");
    expect_error(edit_too_many_tlogs, "\"tlogs\": 65 entries");
    expect_error(edit_no_logs, "no transparency log");
    expect_error(edit_dup_other_url,
                 "tlogs[2]: logId is also tlogs[0]'s, with another baseUrl");
    expect_error(edit_dup_ct_other_url,
                 "ctlogs[2]: logId is also ctlogs[1]'s, with another baseUrl");
    expect_error(edit_dup_other_key,
                 "tlogs[2]: logId is also tlogs[0]'s, with another key");
}

static void
test_malformed_files(void **state)
{
    char *p = td_path("fulcio/trusted_root.json");
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN], *tmp;
    size_t len, cut;
    char *text = read_file(p, &len), *big;
    struct config_trusted_root *r;

    (void)state;
    /* Positive twin: the same bytes through a temp file load. */
    tmp = write_temp(text, len);
    r = config_trusted_root_load(tmp, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(config_trusted_root_ntlogs(r), 2);
    config_trusted_root_free(r);
    unlink(tmp);
    free(tmp);

    /* Truncated anywhere: a JSON error with line and column. */
    for (cut = 0; cut < len; cut += len / 7 + 1) {
        expect_file_error(text, cut, cut == 0 ? "empty input" : "line ");
    }
    expect_file_error("[1, 2]", 6, "top level must be a JSON object");
    expect_file_error("{\"mediaType\": 1}", 16,
                      "\"mediaType\" must be a string");
    /* Duplicate keys are refused (a second "tlogs" could hide the first). */
    expect_file_error("{\"tlogs\": [], \"tlogs\": []}", 26, "duplicate");

    /* Over the size limit: refused before parsing. */
    big = malloc(CONFIG_TRUSTED_ROOT_MAX_FILE + 2);
    assert_non_null(big);
    memset(big, ' ', CONFIG_TRUSTED_ROOT_MAX_FILE + 1);
    memcpy(big, text, len);
    expect_file_error(big, CONFIG_TRUSTED_ROOT_MAX_FILE + 1, "larger than");
    /* Negative twin of the limit: padded to exactly the limit loads. */
    tmp = write_temp(big, CONFIG_TRUSTED_ROOT_MAX_FILE);
    r = config_trusted_root_load(tmp, err, sizeof(err));
    assert_non_null(r);
    config_trusted_root_free(r);
    unlink(tmp);
    free(tmp);
    free(big);

    /* A missing file names the path and the reason. */
    r = config_trusted_root_load("/nonexistent/trusted_root.json", err,
                                 sizeof(err));
    assert_null(r);
    assert_string_equal(err, "/nonexistent/trusted_root.json: No such file or "
                             "directory");
    /* A tiny error buffer is still NUL-terminated. */
    r = config_trusted_root_load("/nonexistent/x", err, 8);
    assert_null(r);
    assert_int_equal(strlen(err), 7);
    free(text);
    free(p);
}

/* Unknown fields are ignored; their twin (a known field of a wrong type)
 * is tested above. */
static void
test_unknown_fields_ignored(void **state)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;

    (void)state;
    json_object_set_new(doc, "futureField", json_array());
    json_object_set_new(tlog(doc, 0), "operator", json_integer(7));
    json_object_set_new(ca(doc, 1), "extra", json_object());
    r = load_doc(doc, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    assert_int_equal(config_trusted_root_ntlogs(r), 2);
    config_trusted_root_free(r);
    json_decref(doc);
}

/* RFC 3339 forms: offsets, fractions, lower case; each against the same
 * instant written in UTC, plus invalid forms (the negative twins). */
static void
test_time_formats(void **state)
{
    static const struct {
        const char *text;
        const char *utc; /* NULL: must be refused */
    } cases[] = {
        {"2021-01-12T13:53:27+02:00", "2021-01-12T11:53:27Z"},
        {"2021-01-12T06:23:27-05:30", "2021-01-12T11:53:27Z"},
        {"2021-01-12t11:53:27.999999z", "2021-01-12T11:53:27Z"},
        {"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
        {"2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"},
        {"2023-02-29T00:00:00Z", NULL},
        {"2021-13-01T00:00:00Z", NULL},
        {"2021-01-12T11:53:27", NULL},
        {"2021-01-12 11:53:27Z", NULL},
        {"2021-01-12T11:53:27.Z", NULL},
        {"2021-01-12T11:53:27+2:00", NULL},
        {"2021-01-12T24:00:00Z", NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = load_json("fulcio/trusted_root.json");
        json_t *vf = json_object_get(json_object_get(tlog(doc, 0), "publicKey"),
                                     "validFor");
        char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
        struct config_trusted_root *r;

        json_object_set_new(vf, "start", json_string(cases[i].text));
        r = load_doc(doc, err, sizeof(err));
        if (cases[i].utc == NULL) {
            if (r != NULL) {
                fail_msg("accepted %s", cases[i].text);
            }
            assert_non_null(strstr(err, "not an RFC 3339 time"));
        } else {
            if (r == NULL) {
                fail_msg("%s: %s", cases[i].text, err);
            }
            assert_int_equal(config_trusted_root_tlog(r, 0)->valid_for.start,
                             rfc3339(cases[i].utc));
        }
        config_trusted_root_free(r);
        json_decref(doc);
    }
}

/* A root with CT logs only (Fulcio's CT log followed alone) loads, with
 * "tlogs" absent or empty; without any log it is refused (above). */
static void
test_ct_only(void **state)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    size_t nct = json_array_size(json_object_get(doc, "ctlogs"));
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;
    int empty;

    (void)state;
    assert_true(nct > 0);
    for (empty = 0; empty < 2; empty++) {
        if (empty) {
            json_object_set_new(doc, "tlogs", json_array());
        } else {
            json_object_del(doc, "tlogs");
        }
        r = load_doc(doc, err, sizeof(err));
        if (r == NULL) {
            fail_msg("%s", err);
        }
        assert_int_equal(config_trusted_root_ntlogs(r), 0);
        assert_int_equal(config_trusted_root_nctlogs(r), nct);
        assert_null(config_trusted_root_tlog(r, 0));
        config_trusted_root_free(r);
    }
    json_decref(doc);
}

/*
 * The same key listed twice (one log, two validFor periods): derived from
 * the real root, tlogs[0] (Rekor v1) ends at a cut and a copy of it
 * starts there, open ended; the same for ctlogs[1].  It loads, the copy
 * is marked dup, the log is valid in both periods and not before.
 */
static void
test_duplicate_key(void **state)
{
    json_t *doc = load_json("fulcio/trusted_root.json");
    json_t *tl = json_object_get(doc, "tlogs");
    json_t *ct = json_object_get(doc, "ctlogs");
    json_t *vf, *copy;
    size_t nt = json_array_size(tl), nct = json_array_size(ct), i;
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r, *single;
    const struct config_log_key *k0, *kd;
    const char *cut = "2022-06-01T00:00:00Z";
    int64_t start, t_cut = rfc3339(cut);

    (void)state;
    vf =
        json_object_get(json_object_get(tlog(doc, 0), "publicKey"), "validFor");
    start = rfc3339(json_string_value(json_object_get(vf, "start")));
    assert_true(start < t_cut);
    copy = json_deep_copy(tlog(doc, 0));
    json_object_set_new(vf, "end", json_string(cut));
    /* Without the second period: not valid after the cut. */
    single = load_doc(doc, err, sizeof(err));
    if (single == NULL) {
        fail_msg("%s", err);
    }
    json_object_set_new(
        json_object_get(json_object_get(copy, "publicKey"), "validFor"),
        "start", json_string(cut));
    json_array_append_new(tl, copy);
    json_array_append_new(ct, json_deep_copy(json_array_get(ct, 1)));

    r = load_doc(doc, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    assert_int_equal(config_trusted_root_ntlogs(r), nt + 1);
    assert_int_equal(config_trusted_root_nctlogs(r), nct + 1);
    for (i = 0; i < nt; i++) {
        assert_false(config_trusted_root_tlog(r, i)->dup);
    }
    k0 = config_trusted_root_tlog(r, 0);
    kd = config_trusted_root_tlog(r, nt);
    assert_true(kd->dup);
    assert_memory_equal(kd->log_id, k0->log_id, CONFIG_LOG_ID_LEN);
    assert_string_equal(kd->base_url, k0->base_url);
    assert_ptr_equal(config_trusted_root_find_tlog(r, k0->log_id), k0);
    assert_true(config_trusted_root_ctlog(r, nct)->dup);
    assert_false(config_trusted_root_ctlog(r, 1)->dup);
    /* Valid in either period, not before the first. */
    assert_true(config_trusted_root_tlog_valid_at(r, k0->log_id, start));
    assert_true(config_trusted_root_tlog_valid_at(r, k0->log_id, t_cut - 1));
    assert_true(
        config_trusted_root_tlog_valid_at(r, k0->log_id, t_cut + 86400 * 365));
    assert_false(config_trusted_root_tlog_valid_at(r, k0->log_id, start - 1));
    assert_false(config_trusted_root_tlog_valid_at(single, k0->log_id,
                                                   t_cut + 86400 * 365));
    assert_true(config_trusted_root_tlog_valid_at(single, k0->log_id, start));
    config_trusted_root_free(single);
    config_trusted_root_free(r);
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roots_load),
        cmocka_unit_test(test_find_by_log_id),
        cmocka_unit_test(test_find_by_hint),
        cmocka_unit_test(test_checkpoint_signers),
        cmocka_unit_test(test_validity),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_ct_only),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_unknown_fields_ignored),
        cmocka_unit_test(test_time_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
