/*
 * test_entry.c: monitor/entry against the real Rekor v1 API entries in
 * $TLOGWATCH_TESTDATA/rekor/api-entries, plus malformed variants written
 * by the tests themselves.
 *
 * Expected values are read from the data at run time through an
 * independent path: the JSON with jansson, base64 with OpenSSL's
 * EVP_DecodeBlock, hashes with OpenSSL's SHA256, the log key chosen by
 * SHA-256(DER SPKI) == logID.  Every positive test has a negative twin:
 * a body byte, a proof hash, the root, the SET or the checkpoint signature
 * changed must fail exactly the checks that depend on it.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/fulcio.h"

#define MAX_FILES 32

static const char *const pems[] = {
    "rekor/rekor.sigstore.dev.pub",
    "rekor/api-entries/rekor-staging.pub",
};
#define NPEMS (sizeof(pems) / sizeof(pems[0]))

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
read_rel(const char *rel, size_t *len)
{
    char *path = td_path(rel), *buf;
    FILE *f = fopen(path, "rb");
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
    free(path);
    *len = (size_t)n;
    return buf;
}

/* The .json files of a testdata folder, sorted; returns the count. */
static size_t
list_json(const char *rel, char names[MAX_FILES][256])
{
    char *path = td_path(rel);
    DIR *d = opendir(path);
    struct dirent *de;
    size_t n = 0, i, j;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
            int w;
            assert_true(n < MAX_FILES);
            w = snprintf(names[n++], 256, "%s/%s", rel, de->d_name);
            assert_true(w > 0 && w < 256);
        }
    }
    closedir(d);
    free(path);
    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (strcmp(names[i], names[j]) > 0) {
                char t[256];
                memcpy(t, names[i], 256);
                memcpy(names[i], names[j], 256);
                memcpy(names[j], t, 256);
            }
        }
    }
    return n;
}

/* Independent base64 (OpenSSL); returns a new buffer. */
static uint8_t *
ossl_b64(const char *s, size_t *outlen)
{
    size_t len = strlen(s), pad = 0;
    uint8_t *out = malloc(len / 4 * 3 + 1);
    int n;

    assert_non_null(out);
    n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    assert_true(n >= 0);
    if (len > 0 && s[len - 1] == '=') {
        pad++;
    }
    if (len > 1 && s[len - 2] == '=') {
        pad++;
    }
    *outlen = (size_t)n - pad;
    return out;
}

static void
hex_of(const uint8_t *b, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

/* The one value of a {"<uuid>": {...}} document, and its key. */
static json_t *
entry_value(json_t *doc, const char **uuid)
{
    void *it = json_object_iter(doc);

    assert_non_null(it);
    *uuid = json_object_iter_key(it);
    return json_object_iter_value(it);
}

/* The PEM key whose SHA-256(DER SPKI) is logID, or NULL.  New. */
static EVP_PKEY *
key_for_log_id(const char *logid_hex)
{
    size_t i;

    for (i = 0; i < NPEMS; i++) {
        char *path = td_path(pems[i]);
        FILE *f = fopen(path, "r");
        EVP_PKEY *k;
        unsigned char *der = NULL, md[32];
        char hex[65];
        int n;

        assert_non_null(f);
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
        free(path);
        assert_non_null(k);
        n = i2d_PUBKEY(k, &der);
        assert_true(n > 0);
        SHA256(der, (size_t)n, md);
        OPENSSL_free(der);
        hex_of(md, 32, hex);
        if (strcmp(hex, logid_hex) == 0) {
            return k;
        }
        EVP_PKEY_free(k);
    }
    return NULL;
}

struct loaded {
    char *buf;
    size_t len;
    json_t *doc;
    json_t *v; /* borrowed from doc */
    const char *uuid;
    struct entry *e;
    EVP_PKEY *key;
    struct entry_log_key lk;
};

static void
load(const char *rel, struct loaded *L)
{
    char err[ENTRY_ERR_LEN] = "";
    json_error_t jerr;

    memset(L, 0, sizeof(*L));
    L->buf = read_rel(rel, &L->len);
    L->doc = json_loadb(L->buf, L->len, 0, &jerr);
    assert_non_null(L->doc);
    L->v = entry_value(L->doc, &L->uuid);
    L->e = entry_parse(L->buf, L->len, err, sizeof(err));
    if (L->e == NULL) {
        fail_msg("%s: %s", rel, err);
    }
    L->key = key_for_log_id(json_string_value(json_object_get(L->v, "logID")));
    assert_non_null(L->key);
    L->lk.pkey = L->key;
    L->lk.name = NULL;
}

static void
unload(struct loaded *L)
{
    entry_free(L->e);
    EVP_PKEY_free(L->key);
    json_decref(L->doc);
    free(L->buf);
}

static enum entry_verdict
run_check(const struct entry *e, const struct entry_log_key *k, int which)
{
    struct entry_check c;

    memset(&c, 0xa5, sizeof(c));
    switch (which) {
    case 0:
        entry_check_uuid(e, &c);
        break;
    case 1:
        entry_check_inclusion(e, &c);
        break;
    case 2:
        entry_check_checkpoint(e, k, &c);
        break;
    default:
        entry_check_set(e, k, &c);
        break;
    }
    /* A failure or skip always says why. */
    if (c.verdict != ENTRY_CHECK_OK) {
        assert_true(c.reason[0] != '\0');
        assert_non_null(memchr(c.reason, '\0', sizeof(c.reason)));
    }
    return c.verdict;
}

/* Every API entry decodes to what its file says, and every check passes. */
static void
test_api_entries_decode_and_verify(void **state)
{
    char names[MAX_FILES][256];
    size_t n = list_json("rekor/api-entries", names), i;

    (void)state;
    assert_true(n >= 5);
    for (i = 0; i < n; i++) {
        struct loaded L;
        const json_t *ip;
        uint8_t *body, *pre, md[32];
        size_t blen;
        char hex[65];
        int c;

        load(names[i], &L);
        /* uuid, leaf hash = SHA-256(0x00 || body) = last 64 hex of uuid */
        assert_string_equal(L.e->uuid, L.uuid);
        body = ossl_b64(json_string_value(json_object_get(L.v, "body")), &blen);
        assert_int_equal(L.e->body_len, blen);
        assert_memory_equal(L.e->body, body, blen);
        pre = malloc(blen + 1);
        assert_non_null(pre);
        pre[0] = 0x00;
        memcpy(pre + 1, body, blen);
        SHA256(pre, blen + 1, md);
        free(pre);
        hex_of(L.e->leaf_hash, 32, hex);
        assert_string_equal(hex, L.uuid + strlen(L.uuid) - 64);
        assert_memory_equal(L.e->leaf_hash, md, 32);
        assert_int_equal(L.e->has_tree_id, strlen(L.uuid) == 80);
        /* indexes and time */
        assert_int_equal(L.e->log_index,
                         json_integer_value(json_object_get(L.v, "logIndex")));
        assert_int_equal(
            L.e->integrated_time,
            json_integer_value(json_object_get(L.v, "integratedTime")));
        ip = json_object_get(json_object_get(L.v, "verification"),
                             "inclusionProof");
        assert_true(L.e->has_proof);
        assert_int_equal(L.e->proof.index,
                         json_integer_value(json_object_get(ip, "logIndex")));
        assert_int_equal(L.e->proof.size,
                         json_integer_value(json_object_get(ip, "treeSize")));
        assert_int_equal(L.e->proof.nhashes,
                         json_array_size(json_object_get(ip, "hashes")));
        hex_of(L.e->proof.root, 32, hex);
        assert_string_equal(hex,
                            json_string_value(json_object_get(ip, "rootHash")));
        assert_string_equal(
            L.e->proof.checkpoint,
            json_string_value(json_object_get(ip, "checkpoint")));
        assert_non_null(L.e->set);
        /* every check passes with the log's key */
        for (c = 0; c < 4; c++) {
            if (run_check(L.e, &L.lk, c) != ENTRY_CHECK_OK) {
                fail_msg("%s: check %d did not pass", names[i], c);
            }
        }
        /* twin: without a key the signature checks are skipped */
        assert_int_equal(run_check(L.e, NULL, 2), ENTRY_CHECK_SKIPPED);
        assert_int_equal(run_check(L.e, NULL, 3), ENTRY_CHECK_SKIPPED);
        free(body);
        unload(&L);
    }
}

/* The body decodes to the kind and apiVersion its JSON names. */
static void
test_api_entries_body(void **state)
{
    char names[MAX_FILES][256], err[ENTRY_ERR_LEN];
    size_t n = list_json("rekor/api-entries", names), i;

    (void)state;
    for (i = 0; i < n; i++) {
        struct loaded L;
        struct entry_body *b;
        json_t *bj;
        uint8_t *raw;
        size_t rawlen, k;

        load(names[i], &L);
        raw =
            ossl_b64(json_string_value(json_object_get(L.v, "body")), &rawlen);
        bj = json_loadb((const char *)raw, rawlen, 0, NULL);
        assert_non_null(bj);
        b = entry_body_decode(L.e->body, L.e->body_len, err, sizeof(err));
        if (b == NULL) {
            fail_msg("%s: %s", names[i], err);
        }
        assert_string_equal(b->kind,
                            json_string_value(json_object_get(bj, "kind")));
        assert_string_equal(b->api_version, json_string_value(json_object_get(
                                                bj, "apiVersion")));
        /* All of these carry exactly one signing certificate, which
         * parses as a Fulcio-style certificate with a SAN. */
        assert_int_equal(b->ncerts, 1);
        for (k = 0; k < b->ncerts; k++) {
            enum fulcio_error fe;
            struct fulcio_cert *fc =
                fulcio_cert_parse_der(b->certs[k].der, b->certs[k].len, &fe);
            assert_non_null(fc);
            assert_non_null(fulcio_cert_claims(fc)->san);
            fulcio_cert_free(fc);
        }
        entry_body_free(b);
        json_decref(bj);
        free(raw);
        unload(&L);
    }
}

/* jar: the certificate is the PKCS7 signer, not the CA in publicKey. */
static void
test_jar_signer_certificate(void **state)
{
    char err[ENTRY_ERR_LEN];
    struct loaded L;
    struct entry_body *b;
    struct fulcio_cert *fc;
    enum fulcio_error fe;
    const struct fulcio_claims *cl;

    (void)state;
    load("rekor/api-entries/prod-jar-entry.json", &L);
    b = entry_body_decode(L.e->body, L.e->body_len, err, sizeof(err));
    assert_non_null(b);
    assert_string_equal(b->kind, "jar");
    assert_int_equal(b->ncerts, 1);
    fc = fulcio_cert_parse_der(b->certs[0].der, b->certs[0].len, &fe);
    assert_non_null(fc);
    cl = fulcio_cert_claims(fc);
    /* The signer is a Fulcio leaf: email SAN, OIDC issuer extension. */
    assert_int_equal(cl->san_type, FULCIO_SAN_EMAIL);
    assert_non_null(cl->ext[1]);
    /* twin: the publicKey.content certificate (a CA) has no such claims */
    {
        json_t *bj;
        const char *pk;
        uint8_t *raw, *pem;
        size_t rawlen, pemlen;
        BIO *bio;
        X509 *ca;
        unsigned char *d = NULL;
        int dl;

        raw =
            ossl_b64(json_string_value(json_object_get(L.v, "body")), &rawlen);
        bj = json_loadb((const char *)raw, rawlen, 0, NULL);
        pk = json_string_value(json_object_get(
            json_object_get(
                json_object_get(json_object_get(bj, "spec"), "signature"),
                "publicKey"),
            "content"));
        assert_non_null(pk);
        pem = ossl_b64(pk, &pemlen);
        bio = BIO_new_mem_buf(pem, (int)pemlen);
        ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        assert_non_null(ca);
        dl = i2d_X509(ca, &d);
        assert_true(dl > 0);
        /* It is not the certificate we reported. */
        assert_false((size_t)dl == b->certs[0].len &&
                     memcmp(d, b->certs[0].der, (size_t)dl) == 0);
        OPENSSL_free(d);
        X509_free(ca);
        free(pem);
        json_decref(bj);
        free(raw);
    }
    fulcio_cert_free(fc);
    entry_body_free(b);
    unload(&L);
}

/* Negative twins: one changed byte fails exactly the dependent checks. */
static void
test_api_entries_tampered(void **state)
{
    char names[MAX_FILES][256];
    size_t n = list_json("rekor/api-entries", names), i;

    (void)state;
    for (i = 0; i < n; i++) {
        struct loaded L;
        uint8_t saved;
        char *cp, *sig;

        load(names[i], &L);
        /* a body byte: uuid, inclusion and SET fail; the checkpoint
         * (which does not cover the body) still verifies */
        L.e->body[L.e->body_len / 2] ^= 0x01;
        entry_compute_leaf(L.e);
        assert_int_equal(run_check(L.e, &L.lk, 0), ENTRY_CHECK_FAILED);
        assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_FAILED);
        assert_int_equal(run_check(L.e, &L.lk, 2), ENTRY_CHECK_OK);
        assert_int_equal(run_check(L.e, &L.lk, 3), ENTRY_CHECK_FAILED);
        L.e->body[L.e->body_len / 2] ^= 0x01;
        entry_compute_leaf(L.e);
        assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_OK);

        /* a proof hash */
        if (L.e->proof.nhashes > 0) {
            L.e->proof.hashes[L.e->proof.nhashes - 1][3] ^= 0x80;
            assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_FAILED);
            assert_int_equal(run_check(L.e, &L.lk, 3), ENTRY_CHECK_OK);
            L.e->proof.hashes[L.e->proof.nhashes - 1][3] ^= 0x80;
        }
        /* the root hash */
        L.e->proof.root[31] ^= 0x01;
        assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_FAILED);
        L.e->proof.root[31] ^= 0x01;
        /* the proof's tree size (now differs from the checkpoint too) */
        L.e->proof.size++;
        assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_FAILED);
        L.e->proof.size--;
        /* the SET */
        saved = L.e->set[L.e->set_len - 1];
        L.e->set[L.e->set_len - 1] ^= 0x01;
        assert_int_equal(run_check(L.e, &L.lk, 3), ENTRY_CHECK_FAILED);
        L.e->set[L.e->set_len - 1] = saved;
        /* the log index covered by the SET */
        L.e->log_index++;
        assert_int_equal(run_check(L.e, &L.lk, 3), ENTRY_CHECK_FAILED);
        L.e->log_index--;
        /* the checkpoint signature: change one base64 character */
        cp = L.e->proof.checkpoint;
        sig = strrchr(cp, ' ');
        assert_non_null(sig);
        saved = (uint8_t)sig[10];
        sig[10] = sig[10] == 'A' ? 'B' : 'A';
        assert_int_equal(run_check(L.e, &L.lk, 2), ENTRY_CHECK_FAILED);
        sig[10] = (char)saved;
        /* everything restored: all pass again (the twins were real) */
        assert_int_equal(run_check(L.e, &L.lk, 0), ENTRY_CHECK_OK);
        assert_int_equal(run_check(L.e, &L.lk, 1), ENTRY_CHECK_OK);
        assert_int_equal(run_check(L.e, &L.lk, 2), ENTRY_CHECK_OK);
        assert_int_equal(run_check(L.e, &L.lk, 3), ENTRY_CHECK_OK);
        unload(&L);
    }
}

/* The other log's key verifies neither checkpoint nor SET. */
static void
test_wrong_key(void **state)
{
    struct loaded prod, staging;
    struct entry_log_key k;

    (void)state;
    load("rekor/api-entries/prod-jar-entry.json", &prod);
    load("rekor/api-entries/staging-hashedrekord-entry.json", &staging);
    k.pkey = staging.key;
    k.name = NULL;
    assert_int_equal(run_check(prod.e, &k, 2), ENTRY_CHECK_FAILED);
    assert_int_equal(run_check(prod.e, &k, 3), ENTRY_CHECK_FAILED);
    k.pkey = prod.key;
    assert_int_equal(run_check(staging.e, &k, 2), ENTRY_CHECK_FAILED);
    assert_int_equal(run_check(staging.e, &k, 3), ENTRY_CHECK_FAILED);
    /* the right key under a wrong signer name: no known signature line */
    k.pkey = prod.key;
    k.name = "bob.loblaw.dev";
    assert_int_equal(run_check(prod.e, &k, 2), ENTRY_CHECK_FAILED);
    k.name = "rekor.sigstore.dev";
    assert_int_equal(run_check(prod.e, &k, 2), ENTRY_CHECK_OK);
    unload(&prod);
    unload(&staging);
}

/* A uuid whose tree id disagrees with the checkpoint origin fails. */
static void
test_uuid_tree_id(void **state)
{
    struct loaded L;

    (void)state;
    load("rekor/api-entries/prod-jar-entry.json", &L);
    assert_true(L.e->has_tree_id);
    assert_int_equal(run_check(L.e, NULL, 0), ENTRY_CHECK_OK);
    L.e->tree_id ^= 1;
    assert_int_equal(run_check(L.e, NULL, 0), ENTRY_CHECK_FAILED);
    L.e->tree_id ^= 1;
    L.e->uuid_leaf[0] ^= 1;
    assert_int_equal(run_check(L.e, NULL, 0), ENTRY_CHECK_FAILED);
    unload(&L);
}

/* Rewrite the jar entry with one field replaced (a JSON text). */
static char *
variant(const char *field, const char *json_value)
{
    size_t len;
    char *buf = read_rel("rekor/api-entries/prod-jar-entry.json", &len), *s;
    json_t *doc = json_loadb(buf, len, 0, NULL), *v, *nv;
    const char *uuid;

    assert_non_null(doc);
    v = entry_value(doc, &uuid);
    nv = json_loads(json_value, JSON_DECODE_ANY, NULL);
    assert_non_null(nv);
    if (strncmp(field, "proof.", 6) == 0) {
        json_object_set_new(json_object_get(json_object_get(v, "verification"),
                                            "inclusionProof"),
                            field + 6, nv);
    } else if (json_is_null(nv)) {
        json_object_del(v, field);
        json_decref(nv);
    } else {
        json_object_set_new(v, field, nv);
    }
    s = json_dumps(doc, 0);
    json_decref(doc);
    free(buf);
    return s;
}

static void
expect_bad(const char *json, size_t len, const char *what)
{
    char err[ENTRY_ERR_LEN] = "";
    struct entry *e = entry_parse(json, len, err, sizeof(err));

    if (e != NULL) {
        entry_free(e);
        fail_msg("accepted: %s", what);
    }
    assert_true(err[0] != '\0');
}

static void
test_parse_malformed(void **state)
{
    static const struct {
        const char *field, *value;
    } bad[] = {
        {"body", "\"!!!!\""},
        {"body", "12"},
        {"body", "null"},
        {"logIndex", "-1"},
        {"logIndex", "1.5"},
        {"logIndex", "\"7\""},
        {"integratedTime", "-5"},
        {"logID", "\"abcd\""},
        {"logID", "\"zz2f30a3c32d639c2b762205a21c7bb07788e68283a4ae6f42118723a"
                  "1bea496\""},
        {"verification", "[]"},
        {"proof.hashes", "[\"00\"]"},
        {"proof.hashes", "\"00\""},
        {"proof.rootHash", "\"AAAA\""},
        {"proof.treeSize", "-3"},
        {"proof.checkpoint", "5"},
    };
    size_t i, len;
    char *s, *good;
    char err[ENTRY_ERR_LEN];
    struct entry *e;

    (void)state;
    /* the unmodified document parses (the variants are real twins) */
    good = variant("logIndex", "3120029");
    e = entry_parse(good, strlen(good), err, sizeof(err));
    assert_non_null(e);
    entry_free(e);
    free(good);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = variant(bad[i].field, bad[i].value);
        expect_bad(s, strlen(s), bad[i].field);
        free(s);
    }
    /* shapes */
    expect_bad("", 0, "empty");
    expect_bad("{", 1, "truncated");
    expect_bad("[]", 2, "array");
    expect_bad("{}", 2, "no entry");
    s = read_rel("rekor/api-entries/prod-jar-entry.json", &len);
    expect_bad(s, (size_t)(strrchr(s, '}') - s), "last brace missing");
    expect_bad(s, len / 2, "half");
    s[2] = 'X'; /* uuid no longer hex */
    expect_bad(s, len, "uuid not hex");
    free(s);
    expect_bad("{\"abcd\": {}}", 12, "short uuid");
    /* too large: refused before parsing */
    s = calloc(1, ENTRY_MAX_JSON + 2);
    assert_non_null(s);
    memset(s, ' ', ENTRY_MAX_JSON + 1);
    expect_bad(s, ENTRY_MAX_JSON + 1, "over ENTRY_MAX_JSON");
    free(s);
}

/*
 * attestation.data: the text is kept as sent (not decoded), absent or
 * empty is NULL, one byte over ENTRY_MAX_ATTESTATION_B64 is dropped and
 * flagged; any other shape refuses the entry with a message.
 */
static void
test_attestation(void **state)
{
    static const char *const bad[] = {"[]", "\"QUJD\"", "5", "{\"data\":5}",
                                      "{\"data\":{}}"};
    static const char *const none[] = {"{}", "{\"data\":null}",
                                       "{\"data\":\"\"}"};
    char err[ENTRY_ERR_LEN];
    struct entry *e;
    char *s, *att;
    size_t i, k, len;

    (void)state;
    /* absent (the real entry as it is) */
    s = read_rel("rekor/api-entries/prod-jar-entry.json", &len);
    e = entry_parse(s, len, err, sizeof(err));
    assert_non_null(e);
    assert_null(e->attestation_b64);
    assert_int_equal(e->attestation_b64_len, 0);
    assert_int_equal(e->attestation_oversize, 0);
    entry_free(e);
    free(s);

    s = variant("attestation", "{\"data\":\"eyJhIjoxfQ==\",\"x\":[1]}");
    e = entry_parse(s, strlen(s), err, sizeof(err));
    assert_non_null(e);
    assert_string_equal(e->attestation_b64, "eyJhIjoxfQ==");
    assert_int_equal(e->attestation_b64_len, 12);
    entry_free(e);
    free(s);

    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        s = variant("attestation", none[i]);
        e = entry_parse(s, strlen(s), err, sizeof(err));
        assert_non_null(e);
        assert_null(e->attestation_b64);
        assert_int_equal(e->attestation_oversize, 0);
        entry_free(e);
        free(s);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = variant("attestation", bad[i]);
        expect_bad(s, strlen(s), bad[i]);
        e = entry_parse(s, strlen(s), err, sizeof(err));
        assert_null(e);
        assert_non_null(strstr(err, "attestation"));
        free(s);
    }

    /* at the limit and one over */
    for (k = 0; k < 2; k++) {
        size_t n = ENTRY_MAX_ATTESTATION_B64 + k;
        att = malloc(n + 16);
        assert_non_null(att);
        memcpy(att, "{\"data\":\"", 9);
        memset(att + 9, 'A', n);
        memcpy(att + 9 + n, "\"}", 3);
        s = variant("attestation", att);
        e = entry_parse(s, strlen(s), err, sizeof(err));
        assert_non_null(e);
        if (k == 0) {
            assert_non_null(e->attestation_b64);
            assert_int_equal(e->attestation_b64_len, n);
            assert_int_equal(strlen(e->attestation_b64), n);
            assert_int_equal(e->attestation_oversize, 0);
        } else {
            assert_null(e->attestation_b64);
            assert_int_equal(e->attestation_b64_len, 0);
            assert_int_equal(e->attestation_oversize, 1);
        }
        entry_free(e);
        free(s);
        free(att);
    }

    /* entry_set_attestation replaces what the entry held */
    e = calloc(1, sizeof(*e));
    assert_non_null(e);
    assert_int_equal(entry_set_attestation(e, "QUJD", 4), 0);
    assert_string_equal(e->attestation_b64, "QUJD");
    assert_int_equal(entry_set_attestation(e, "QQ==", 4), 0);
    assert_string_equal(e->attestation_b64, "QQ==");
    assert_int_equal(entry_set_attestation(e, "", 0), 0);
    assert_null(e->attestation_b64);
    entry_free(e);
}

/* A body over ENTRY_MAX_BODY is refused; one at the limit is not. */
static void
test_body_limit(void **state)
{
    size_t n = ENTRY_MAX_BODY, b64len = (n + 2) / 3 * 4;
    char *b64 = malloc(b64len + 1), *doc;
    uint8_t *raw = calloc(1, n + 3);
    char err[ENTRY_ERR_LEN];
    struct entry *e;
    int pass;

    (void)state;
    assert_non_null(b64);
    assert_non_null(raw);
    doc = malloc(b64len + 512);
    assert_non_null(doc);
    for (pass = 0; pass < 2; pass++) {
        size_t bl = n + (size_t)pass * 3; /* limit, then 3 bytes over */
        size_t el = (bl + 2) / 3 * 4;
        char *b = malloc(el + 1);
        assert_non_null(b);
        assert_true(merkle_b64_encode(raw, bl, b, el + 1) >= 0);
        snprintf(doc, b64len + 512,
                 "{\"%064d\": {\"body\": \"%s\", \"integratedTime\": 1, "
                 "\"logID\": \"%064d\", \"logIndex\": 1}}",
                 0, b, 0);
        free(b);
        e = entry_parse(doc, strlen(doc), err, sizeof(err));
        if (pass == 0) {
            assert_non_null(e);
            assert_int_equal(e->body_len, n);
            /* no SET, no proof: those checks are skipped */
            assert_int_equal(run_check(e, NULL, 1), ENTRY_CHECK_SKIPPED);
            assert_int_equal(run_check(e, NULL, 3), ENTRY_CHECK_SKIPPED);
            /* the uuid of zeros is not this body's leaf */
            assert_int_equal(run_check(e, NULL, 0), ENTRY_CHECK_FAILED);
            entry_free(e);
        } else {
            assert_null(e);
        }
    }
    free(doc);
    free(b64);
    free(raw);
}

static void
test_parse_u64(void **state)
{
    static const struct {
        const char *s;
        int ok;
        uint64_t v;
    } cases[] = {
        {"0", 1, 0},
        {"7", 1, 7},
        {"18446744073709551615", 1, UINT64_MAX},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"007", 0, 0},
        {"", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {"1a", 0, 0},
        {" 1", 0, 0},
        {"1e3", 0, 0},
    };
    size_t i;
    uint64_t v;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 12345;
        assert_int_equal(entry_parse_u64(cases[i].s, strlen(cases[i].s), &v) ==
                             0,
                         cases[i].ok);
        if (cases[i].ok) {
            assert_true(v == cases[i].v);
        }
    }
}

static void
test_proof_file(void **state)
{
    char err[ENTRY_ERR_LEN], *buf;
    struct entry_proof p;
    char h1[65], h2[65];
    char json[1024];
    size_t i;
    static const char *const bad[] = {
        "zz\n",
        "\n",
        "{\"hashes\": [\"ab\"]}",
        "{\"hashes\": 3}",
        "{\"hashes\": [], \"rootHash\": \"" /* no treeSize */
        "0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"hashes\": []",
        "{}",
    };

    (void)state;
    memset(h1, 'a', 64);
    h1[64] = '\0';
    memset(h2, '0', 64);
    h2[64] = '\0';
    /* text, with CRLF and without a final newline */
    snprintf(json, sizeof(json), "%s\r\n%s", h1, h2);
    assert_int_equal(
        entry_proof_file_parse(json, strlen(json), &p, err, sizeof(err)), 0);
    assert_int_equal(p.nhashes, 2);
    assert_int_equal(p.hashes[0][0], 0xaa);
    assert_int_equal(p.hashes[1][31], 0x00);
    assert_false(p.has_tree);
    entry_proof_clear(&p);
    /* empty: the empty proof */
    assert_int_equal(entry_proof_file_parse("", 0, &p, err, sizeof(err)), 0);
    assert_int_equal(p.nhashes, 0);
    entry_proof_clear(&p);
    /* the full /api/v1/log/proof shape */
    snprintf(json, sizeof(json),
             "{\"hashes\": [\"%s\"], \"rootHash\": \"%s\", \"treeSize\": 9, "
             "\"checkpoint\": \"x\\n\"}",
             h1, h2);
    assert_int_equal(
        entry_proof_file_parse(json, strlen(json), &p, err, sizeof(err)), 0);
    assert_int_equal(p.nhashes, 1);
    assert_true(p.has_tree);
    assert_int_equal(p.size, 9);
    assert_string_equal(p.checkpoint, "x\n");
    entry_proof_clear(&p);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (entry_proof_file_parse(bad[i], strlen(bad[i]), &p, err,
                                   sizeof(err)) == 0) {
            fail_msg("accepted proof file %zu", i);
        }
        assert_true(err[0] != '\0');
        assert_null(p.checkpoint);
    }
    /* ENTRY_MAX_PROOF hashes pass, one more does not */
    buf = malloc((ENTRY_MAX_PROOF + 1) * 65 + 1);
    assert_non_null(buf);
    for (i = 0; i <= ENTRY_MAX_PROOF; i++) {
        memcpy(buf + i * 65, h1, 64);
        buf[i * 65 + 64] = '\n';
    }
    assert_int_equal(
        entry_proof_file_parse(buf, ENTRY_MAX_PROOF * 65, &p, err, sizeof(err)),
        0);
    assert_int_equal(p.nhashes, ENTRY_MAX_PROOF);
    assert_int_equal(entry_proof_file_parse(buf, (ENTRY_MAX_PROOF + 1) * 65, &p,
                                            err, sizeof(err)),
                     -1);
    free(buf);
}

/* Synthetic bodies of every kind, built around a real leaf certificate. */
static void
test_body_kinds(void **state)
{
    size_t pemlen, i;
    char *pem = read_rel("fulcio/leaf/gha-dsse-conformance.pem", &pemlen);
    char *pemb64, *derb64, *keyb64, body[65536], err[ENTRY_ERR_LEN];
    const char *pub = "-----BEGIN PUBLIC KEY-----\n"
                      "MCowBQYDK2VwAyEAt8rlp1knGwjfbcXAYPYAkn0XiLz1x8O4t0YkEhie"
                      "244=\n-----END PUBLIC KEY-----\n";
    BIO *bio;
    X509 *x;
    unsigned char *der = NULL;
    int derlen;
    struct {
        const char *fmt;
        size_t certs, keys, other;
    } cases[] = {
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
         "\"signature\":{\"publicKey\":{\"content\":\"%1$s\"}}}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
         "\"signature\":{\"publicKey\":{\"content\":\"%3$s\"}}}}",
         0, 1, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"rekord\",\"spec\":{"
         "\"signature\":{\"format\":\"x509\",\"publicKey\":{\"content\":"
         "\"%1$s\"}}}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"rekord\",\"spec\":{"
         "\"signature\":{\"format\":\"pgp\",\"publicKey\":{\"content\":"
         "\"AAAA\"}}}}",
         0, 0, 1},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"intoto\",\"spec\":{"
         "\"publicKey\":\"%1$s\"}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.2\",\"kind\":\"intoto\",\"spec\":{\"content\":"
         "{\"envelope\":{\"signatures\":[{\"publicKey\":\"%1$s\"},"
         "{\"publicKey\":\"%1$s\"}]}}}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{\"signatures\":"
         "[{\"verifier\":\"%1$s\"},{\"verifier\":\"%3$s\"}]}}",
         1, 1, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"cose\",\"spec\":{"
         "\"publicKey\":\"%1$s\"}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.2\",\"kind\":\"hashedrekord\",\"spec\":{"
         "\"hashedRekordV002\":{\"signature\":{\"verifier\":{"
         "\"x509Certificate\":{\"rawBytes\":\"%2$s\"}}}}}}",
         1, 0, 0},
        {"{\"apiVersion\":\"0.0.2\",\"kind\":\"dsse\",\"spec\":{\"dsseV002\":{"
         "\"signatures\":[{\"verifier\":{\"x509Certificate\":{\"rawBytes\":"
         "\"%2$s\"}}},{\"verifier\":{\"publicKey\":{\"rawBytes\":\"AAAA\"}}}"
         "]}}}",
         1, 1, 0},
        {"{\"apiVersion\":\"0.0.1\",\"kind\":\"helm\",\"spec\":{}}", 0, 0, 0},
    };

    (void)state;
    bio = BIO_new_mem_buf(pem, (int)pemlen);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    derlen = i2d_X509(x, &der);
    assert_true(derlen > 0);
    pemb64 = malloc(pemlen * 2 + 4);
    derb64 = malloc((size_t)derlen * 2 + 4);
    keyb64 = malloc(strlen(pub) * 2 + 4);
    assert_true(merkle_b64_encode((const uint8_t *)pem, pemlen, pemb64,
                                  pemlen * 2 + 4) > 0);
    assert_true(merkle_b64_encode(der, (size_t)derlen, derb64,
                                  (size_t)derlen * 2 + 4) > 0);
    assert_true(merkle_b64_encode((const uint8_t *)pub, strlen(pub), keyb64,
                                  strlen(pub) * 2 + 4) > 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct entry_body *b;
        int n;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        n = snprintf(body, sizeof(body), cases[i].fmt, pemb64, derb64, keyb64);
#pragma GCC diagnostic pop
        assert_true(n > 0 && (size_t)n < sizeof(body));
        b = entry_body_decode((const uint8_t *)body, (size_t)n, err,
                              sizeof(err));
        if (b == NULL) {
            fail_msg("case %zu: %s", i, err);
        }
        assert_int_equal(b->ncerts, cases[i].certs);
        assert_int_equal(b->nkeys, cases[i].keys);
        assert_int_equal(b->nother, cases[i].other);
        if (b->ncerts > 0) {
            assert_int_equal(b->certs[0].len, (size_t)derlen);
            assert_memory_equal(b->certs[0].der, der, (size_t)derlen);
        }
        entry_body_free(b);
    }
    /* negative twins: malformed bodies are refused with a reason */
    {
        static const char *const bad[] = {
            "not json",
            "[]",
            "{\"kind\":\"hashedrekord\",\"spec\":{}}",
            "{\"apiVersion\":\"0.0.1\",\"spec\":{}}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"Hashed Rekord\",\"spec\":{}}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\"}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
            "\"signature\":{\"publicKey\":{\"content\":\"!!\"}}}}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
            "\"signature\":{\"publicKey\":{\"content\":7}}}}",
            /* PEM without its END line */
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"cose\",\"spec\":{"
            "\"publicKey\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEK\"}}",
            "{\"apiVersion\":\"0.0.2\",\"kind\":\"dsse\",\"spec\":{"
            "\"dsseV002\":"
            "{\"signatures\":[{\"verifier\":{\"x509Certificate\":{"
            "\"rawBytes\":\"*\"}}}]}}}",
        };
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err[0] = '\0';
            if (entry_body_decode((const uint8_t *)bad[i], strlen(bad[i]), err,
                                  sizeof(err)) != NULL) {
                fail_msg("accepted bad body %zu", i);
            }
            assert_true(err[0] != '\0');
        }
    }
    /* more than ENTRY_MAX_CERTS signatures */
    {
        size_t off;
        off = (size_t)snprintf(body, sizeof(body),
                               "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\","
                               "\"spec\":{\"signatures\":[");
        for (i = 0; i <= ENTRY_MAX_CERTS; i++) {
            off += (size_t)snprintf(body + off, sizeof(body) - off,
                                    "%s{\"verifier\":\"AAAA\"}", i ? "," : "");
        }
        off += (size_t)snprintf(body + off, sizeof(body) - off, "]}}");
        assert_null(
            entry_body_decode((const uint8_t *)body, off, err, sizeof(err)));
    }
    free(pemb64);
    free(derb64);
    free(keyb64);
    OPENSSL_free(der);
    X509_free(x);
    free(pem);
}

static void
test_check_string(void **state)
{
    struct entry_check c;
    char buf[ENTRY_ERR_LEN + 16];

    (void)state;
    c.verdict = ENTRY_CHECK_OK;
    c.reason[0] = '\0';
    assert_string_equal(entry_check_string(&c, buf, sizeof(buf)), "ok");
    c.verdict = ENTRY_CHECK_FAILED;
    strcpy(c.reason, "why");
    assert_string_equal(entry_check_string(&c, buf, sizeof(buf)),
                        "failed: why");
    c.verdict = ENTRY_CHECK_SKIPPED;
    assert_string_equal(entry_check_string(&c, buf, sizeof(buf)),
                        "skipped: why");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_entries_decode_and_verify),
        cmocka_unit_test(test_api_entries_body),
        cmocka_unit_test(test_jar_signer_certificate),
        cmocka_unit_test(test_api_entries_tampered),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_uuid_tree_id),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_attestation),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_proof_file),
        cmocka_unit_test(test_body_kinds),
        cmocka_unit_test(test_check_string),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
