/*
 * test_attest.c: monitor/attest against the real intoto and dsse bundles
 * of $TLOGWATCH_TESTDATA/rekor/bundles/valid (their dsseEnvelope.payload is
 * the attestation Rekor stores, their canonicalizedBody the entry body) and
 * against statements built here from the real describe-eif output in
 * $TLOGWATCH_TESTDATA/nitro, wrapped as each accepted predicate shape.
 *
 * Expected values are read from the data at run time through an
 * independent path (jansson for JSON, OpenSSL EVP_EncodeBlock /
 * EVP_DecodeBlock for base64, OpenSSL SHA256 for payloadHash).  Every
 * positive case has a negative twin: a flipped payload byte, a missing or
 * short PCR, two places that disagree, a payload one byte too big.
 * attest_statement (the statement step alone, for bytes a caller verified)
 * is run on every payload attest_check accepts the hash of and must give
 * the same verdict, PCRs, subject digest and why.
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
#include <openssl/sha.h>

#include "monitor/identity/attest.h"

static const char *const pcr_keys[4] = {"PCR0", "PCR1", "PCR2", "PCR8"};

static json_t *
load_td(const char *rel)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char path[4096];
    json_error_t jerr;
    json_t *j;

    assert_non_null(base);
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    j = json_load_file(path, 0, &jerr);
    if (j == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return j;
}

/* Independent base64 (OpenSSL): new NUL-terminated text. */
static char *
b64_enc(const uint8_t *b, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);

    assert_non_null(out);
    EVP_EncodeBlock((unsigned char *)out, b, (int)n);
    return out;
}

static uint8_t *
b64_dec(const char *s, size_t *outlen)
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
sha256_hex(const uint8_t *b, size_t n, char out[65])
{
    uint8_t d[32];
    size_t i;

    SHA256(b, n, d);
    for (i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* attest_statement on bytes attest_check verified gives the same result:
 * verdict, PCRs, subject digest and why. */
static void
same_as_statement(const uint8_t *payload, size_t n,
                  const struct attest_result *r)
{
    struct attest_result s;

    memset(&s, 0xa5, sizeof(s)); /* overwritten whole */
    assert_int_equal(attest_statement(payload, n, &s), r->status);
    assert_int_equal(s.status, r->status);
    assert_string_equal(s.why, r->why);
    assert_int_equal(s.pcrs.present, r->pcrs.present);
    assert_memory_equal(s.pcrs.hex, r->pcrs.hex, sizeof(s.pcrs.hex));
    assert_string_equal(s.pcrs.artifact_digest, r->pcrs.artifact_digest);
    assert_null(s.pcrs.statement);
    assert_int_equal(s.pcrs.statement_len, 0);
}

/* attest_check over a payload (bytes) and a body (JSON text) whose
 * payloadHash is the payload's; attest_statement agrees on the bytes. */
static enum attest_status
check_bytes(const char *body, const uint8_t *payload, size_t n,
            struct attest_result *r)
{
    char *b64 = b64_enc(payload, n);
    enum attest_status st =
        attest_check((const uint8_t *)body, strlen(body), b64, strlen(b64), r);

    assert_int_equal(st, r->status);
    assert_non_null(memchr(r->why, '\0', sizeof(r->why)));
    assert_true(strlen(r->why) > 0);
    if (n <= ATTEST_MAX_BYTES) {
        same_as_statement(payload, n, r);
    } else { /* too big for either; attest_check said so in base64 terms */
        struct attest_result s;
        assert_int_equal(attest_statement(payload, n, &s), ATTEST_MALFORMED);
        assert_int_equal(st, ATTEST_MALFORMED);
    }
    free(b64);
    return st;
}

/*
 * Body kinds built here: the payloadHash is the SHA-256 of the payload.
 * 0: intoto 0.0.2 (the real body of gha-intoto-sigstore-js with its
 * payloadHash replaced), 1: dsse 0.0.1 (likewise from
 * gha-dsse-kubewarden-controller), 2: intoto 0.0.1 (minimal).
 */
#define NBODIES 3

static char *
body_for(int kind, const uint8_t *payload, size_t n, int upper)
{
    static const char *const bundles[2] = {
        "rekor/bundles/valid/gha-intoto-sigstore-js-2.0.0.sigstore.json",
        "rekor/bundles/valid/gha-dsse-kubewarden-controller.sigstore.json"};
    char hex[65], *out;
    json_t *body, *ph;
    size_t i;

    sha256_hex(payload, n, hex);
    if (upper) {
        for (i = 0; i < 64; i++) {
            if (hex[i] >= 'a' && hex[i] <= 'f') {
                hex[i] = (char)(hex[i] - 'a' + 'A');
            }
        }
    }
    if (kind < 2) {
        json_t *bundle = load_td(bundles[kind]);
        const char *cb = json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_object_get(bundle, "verificationMaterial"),
                                "tlogEntries"),
                0),
            "canonicalizedBody"));
        size_t blen;
        uint8_t *raw;
        json_error_t jerr;

        assert_non_null(cb);
        raw = b64_dec(cb, &blen);
        body = json_loadb((const char *)raw, blen, 0, &jerr);
        assert_non_null(body);
        free(raw);
        json_decref(bundle);
        ph =
            kind == 0
                ? json_object_get(
                      json_object_get(json_object_get(body, "spec"), "content"),
                      "payloadHash")
                : json_object_get(json_object_get(body, "spec"), "payloadHash");
        assert_non_null(ph);
        assert_int_equal(json_object_set_new(ph, "value", json_string(hex)), 0);
    } else {
        body = json_pack("{s:s,s:s,s:{s:{s:{s:s,s:s}}}}", "apiVersion", "0.0.1",
                         "kind", "intoto", "spec", "content", "payloadHash",
                         "algorithm", "sha256", "value", hex);
        assert_non_null(body);
    }
    out = json_dumps(body, JSON_COMPACT);
    assert_non_null(out);
    json_decref(body);
    return out;
}

/* A statement around predicate (stolen), dumped. */
static char *
statement_with(json_t *predicate, const char *type)
{
    json_t *st = json_pack(
        "{s:s,s:s,s:[{s:s,s:{s:s}}],s:o}", "_type", type, "predicateType",
        "https://example.com/enclave/v1", "subject", "name", "enclave.eif",
        "digest", "sha256",
        "6be47f8386175bc4853c3b821f9e6fa6f65f8bd73492d1df99ba9dd0d734e11c",
        "predicate", predicate);
    char *out;

    assert_non_null(st);
    out = json_dumps(st, JSON_COMPACT);
    assert_non_null(out);
    json_decref(st);
    return out;
}

static enum attest_status
check_statement(int kind, const char *stmt, struct attest_result *r)
{
    char *body = body_for(kind, (const uint8_t *)stmt, strlen(stmt), 0);
    enum attest_status st =
        check_bytes(body, (const uint8_t *)stmt, strlen(stmt), r);

    free(body);
    return st;
}

/* ---- the real bundles ---- */

static void
test_real_bundles(void **state)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char dir[4096];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    (void)state;
    assert_non_null(base);
    snprintf(dir, sizeof(dir), "%s/rekor/bundles/valid", base);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char rel[512], expect[80] = "";
        json_t *bundle, *stmt, *sha;
        const char *payload, *cb;
        uint8_t *raw, *body;
        size_t rawlen, bodylen;
        struct attest_result r;
        json_error_t jerr;

        if (strncmp(de->d_name, "gha-intoto-", 11) != 0 &&
            strncmp(de->d_name, "gha-dsse-", 9) != 0 &&
            strncmp(de->d_name, "email-dsse-", 11) != 0) {
            continue;
        }
        snprintf(rel, sizeof(rel), "rekor/bundles/valid/%s", de->d_name);
        bundle = load_td(rel);
        payload = json_string_value(json_object_get(
            json_object_get(bundle, "dsseEnvelope"), "payload"));
        cb = json_string_value(json_object_get(
            json_array_get(
                json_object_get(json_object_get(bundle, "verificationMaterial"),
                                "tlogEntries"),
                0),
            "canonicalizedBody"));
        assert_non_null(payload);
        assert_non_null(cb);
        body = b64_dec(cb, &bodylen);
        raw = b64_dec(payload, &rawlen);

        /* The subject digest the statement names, read independently. */
        stmt = json_loadb((const char *)raw, rawlen, 0, &jerr);
        assert_non_null(stmt);
        sha = json_object_get(
            json_object_get(json_array_get(json_object_get(stmt, "subject"), 0),
                            "digest"),
            "sha256");
        if (sha != NULL) {
            snprintf(expect, sizeof(expect), "sha256:%s",
                     json_string_value(sha));
        }

        assert_int_equal(
            attest_check(body, bodylen, payload, strlen(payload), &r),
            ATTEST_NO_PCRS);
        assert_string_equal(r.pcrs.artifact_digest, expect);
        assert_int_equal(r.pcrs.present, 0);
        same_as_statement(raw, rawlen, &r);
        {
            /* the body's payloadHash as the registry lookup key */
            char want[65], got[65];
            sha256_hex(raw, rawlen, want);
            assert_int_equal(attest_payload_hash(body, bodylen, got, &r),
                             ATTEST_PCRS);
            assert_string_equal(got, want);
        }

        /* Negative twin: one flipped byte of the payload. */
        raw[rawlen / 2] ^= 0x01;
        {
            char *b64 = b64_enc(raw, rawlen);
            assert_int_equal(attest_check(body, bodylen, b64, strlen(b64), &r),
                             ATTEST_UNTRUSTED);
            assert_non_null(strstr(r.why, "payloadHash"));
            assert_string_equal(r.pcrs.artifact_digest, "");
            free(b64);
        }
        /* And a flipped byte of the body's hash: untrusted too. */
        {
            char *p = strstr((char *)body, "payloadHash");
            char *v;
            assert_non_null(p);
            v = strstr(p, "\"value\":\"");
            assert_non_null(v);
            v += 9;
            *v = *v == '0' ? '1' : '0';
            assert_int_equal(
                attest_check(body, bodylen, payload, strlen(payload), &r),
                ATTEST_UNTRUSTED);
        }
        json_decref(stmt);
        json_decref(bundle);
        free(raw);
        free(body);
        n++;
    }
    closedir(d);
    assert_true(n >= 4); /* 2 intoto + 3 gha dsse + 1 email dsse today */
}

/* ---- statements built from the real describe-eif output ---- */

/* The PCR sets of testdata/nitro, each as a Measurements-like object. */
struct pcr_source {
    const char *what;
    json_t *measurements; /* {"PCR0": ..., ...} (new) */
    json_t *describe;     /* a describe-eif document around it (new) */
};

static size_t
pcr_sources(struct pcr_source src[3])
{
    json_t *pcrs = load_td("nitro/nitro-cli-pcrs.json");
    json_t *schema = load_td("nitro/describe-eif-schema-example.json");
    json_t *m;

    /* 1: the signed hello-world build output (PCR0, 1, 2, 8). */
    src[0].what = "buildEnclaveSignedHelloWorld";
    src[0].describe = json_deep_copy(json_object_get(
        json_object_get(pcrs, "buildEnclaveSignedHelloWorld"), "stdoutJson"));
    src[0].measurements =
        json_deep_copy(json_object_get(src[0].describe, "Measurements"));
    /* 2: the sample image's x86_64 PCRs (0, 1, 2), wrapped. */
    src[1].what = "expectedPcrsForSampleImage.x86_64";
    m = json_object_get(json_object_get(pcrs, "expectedPcrsForSampleImage"),
                        "x86_64");
    src[1].measurements = json_deep_copy(m);
    src[1].describe = json_pack("{s:O}", "Measurements", m);
    /* 3: the full describe-eif schema example. */
    src[2].what = "describeEif";
    src[2].describe = json_deep_copy(json_object_get(schema, "describeEif"));
    src[2].measurements =
        json_deep_copy(json_object_get(src[2].describe, "Measurements"));
    json_decref(pcrs);
    json_decref(schema);
    assert_non_null(src[0].measurements);
    assert_non_null(src[1].measurements);
    assert_non_null(src[2].measurements);
    return 3;
}

static void
free_sources(struct pcr_source *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        json_decref(src[i].measurements);
        json_decref(src[i].describe);
    }
}

/* r holds exactly the PCRs of m (read from the test data). */
static void
assert_pcrs(const struct attest_result *r, const json_t *m)
{
    size_t i, j;

    assert_int_equal(r->status, ATTEST_PCRS);
    for (i = 0; i < 4; i++) {
        const json_t *v = json_object_get(m, pcr_keys[i]);
        if (v == NULL) {
            assert_int_equal(r->pcrs.present & (1u << i), 0);
            assert_string_equal(r->pcrs.hex[i], "");
            continue;
        }
        assert_int_not_equal(r->pcrs.present & (1u << i), 0);
        assert_int_equal(strlen(r->pcrs.hex[i]), 96);
        for (j = 0; j < 96; j++) {
            char c = json_string_value(v)[j];
            if (c >= 'A' && c <= 'F') {
                c = (char)(c - 'A' + 'a');
            }
            assert_int_equal(r->pcrs.hex[i][j], c);
        }
    }
    assert_string_equal(
        r->pcrs.artifact_digest,
        "sha256:"
        "6be47f8386175bc4853c3b821f9e6fa6f65f8bd73492d1df99ba9dd0d734e11c");
}

/* Predicate shape i around a source (new). */
#define NSHAPES 5
static json_t *
shape(int i, const struct pcr_source *s)
{
    char *text;
    json_t *p;

    switch (i) {
    case 0: /* the describe-eif JSON is the predicate */
        return json_deep_copy(s->describe);
    case 1: /* PCRn at the top of the predicate */
        return json_deep_copy(s->measurements);
    case 2:
        return json_pack("{s:O,s:s}", "pcrs", s->measurements, "note",
                         "lower-case key");
    case 3:
        return json_pack("{s:O}", "PCRs", s->measurements);
    default: /* cosign attest --type custom around the describe-eif file */
        text = json_dumps(s->describe, JSON_INDENT(2));
        assert_non_null(text);
        p = json_pack("{s:s,s:s}", "Data", text, "Timestamp",
                      "2026-11-26T18:00:00Z");
        free(text);
        return p;
    }
}

static void
test_predicate_shapes(void **state)
{
    struct pcr_source src[3];
    size_t ns = pcr_sources(src), i;
    int sh, kind;

    (void)state;
    for (i = 0; i < ns; i++) {
        for (sh = 0; sh < NSHAPES; sh++) {
            for (kind = 0; kind < NBODIES; kind++) {
                const char *type = (sh + kind) % 2
                                       ? "https://in-toto.io/Statement/v1"
                                       : "https://in-toto.io/Statement/v0.1";
                char *stmt = statement_with(shape(sh, &src[i]), type);
                struct attest_result r;

                if (check_statement(kind, stmt, &r) != ATTEST_PCRS) {
                    fail_msg("%s shape %d body %d: %s", src[i].what, sh, kind,
                             r.why);
                }
                assert_pcrs(&r, src[i].measurements);
                free(stmt);
            }
        }
    }
    free_sources(src, ns);
}

static void
test_uppercase_hex(void **state)
{
    struct pcr_source src[3];
    size_t ns = pcr_sources(src), i;
    json_t *m = json_deep_copy(src[0].measurements);
    struct attest_result r;
    char *stmt, *body;

    (void)state;
    /* Upper-case PCRs are stored lower-case. */
    for (i = 0; i < 4; i++) {
        char up[97];
        size_t j;
        memcpy(up, json_string_value(json_object_get(m, pcr_keys[i])), 97);
        for (j = 0; j < 96; j++) {
            if (up[j] >= 'a' && up[j] <= 'f') {
                up[j] = (char)(up[j] - 'a' + 'A');
            }
        }
        json_object_set_new(m, pcr_keys[i], json_string(up));
    }
    stmt = statement_with(json_pack("{s:o}", "Measurements", m),
                          "https://in-toto.io/Statement/v1");
    /* An upper-case payloadHash value verifies too. */
    body = body_for(1, (const uint8_t *)stmt, strlen(stmt), 1);
    assert_int_equal(check_bytes(body, (const uint8_t *)stmt, strlen(stmt), &r),
                     ATTEST_PCRS);
    assert_pcrs(&r, src[0].measurements);
    free(body);
    free(stmt);
    free_sources(src, ns);
}

/* A statement with the describe-eif PCRs, one of them changed by edit. */
static enum attest_status
check_edited(void (*edit)(json_t *pred, const json_t *m),
             struct attest_result *r)
{
    struct pcr_source src[3];
    size_t ns = pcr_sources(src);
    json_t *pred = json_deep_copy(src[0].describe);
    char *stmt;
    enum attest_status st;

    edit(pred, src[0].measurements);
    stmt = statement_with(pred, "https://in-toto.io/Statement/v1");
    st = check_statement(0, stmt, r);
    free(stmt);
    free_sources(src, ns);
    return st;
}

static void
edit_none(json_t *pred, const json_t *m)
{
    (void)pred;
    (void)m;
}

static void
edit_no_pcr1(json_t *pred, const json_t *m)
{
    (void)m;
    json_object_del(json_object_get(pred, "Measurements"), "PCR1");
}

static void
edit_short_pcr2(json_t *pred, const json_t *m)
{
    char v[97];

    memcpy(v, json_string_value(json_object_get(m, "PCR2")), 97);
    v[95] = '\0';
    json_object_set_new(json_object_get(pred, "Measurements"), "PCR2",
                        json_string(v));
}

static void
edit_nonhex_pcr0(json_t *pred, const json_t *m)
{
    char v[97];

    memcpy(v, json_string_value(json_object_get(m, "PCR0")), 97);
    v[10] = 'g';
    json_object_set_new(json_object_get(pred, "Measurements"), "PCR0",
                        json_string(v));
}

static void
edit_pcr0_number(json_t *pred, const json_t *m)
{
    (void)m;
    json_object_set_new(json_object_get(pred, "Measurements"), "PCR0",
                        json_integer(7));
}

/* The same PCRs in a second place: agree. */
static void
edit_second_place_same(json_t *pred, const json_t *m)
{
    json_object_set_new(pred, "PCRs", json_deep_copy(m));
}

/* A second place with PCR2 changed. */
static void
edit_second_place_pcr2(json_t *pred, const json_t *m)
{
    json_t *c = json_deep_copy(m);
    char v[97];

    memcpy(v, json_string_value(json_object_get(m, "PCR2")), 97);
    v[0] = v[0] == '0' ? '1' : '0';
    json_object_set_new(c, "PCR2", json_string(v));
    json_object_set_new(pred, "pcrs", c);
}

/* A second place without PCR8 (the first has it). */
static void
edit_second_place_no_pcr8(json_t *pred, const json_t *m)
{
    json_t *c = json_deep_copy(m);

    json_object_del(c, "PCR8");
    json_object_set_new(pred, "PCRs", c);
}

/* A Data with other PCRs beside Measurements. */
static void
edit_data_disagrees(json_t *pred, const json_t *m)
{
    json_t *c = json_pack("{s:O}", "Measurements", m);
    char *text, v[97];

    memcpy(v, json_string_value(json_object_get(m, "PCR1")), 97);
    v[50] = v[50] == 'a' ? 'b' : 'a';
    json_object_set_new(json_object_get(c, "Measurements"), "PCR1",
                        json_string(v));
    text = json_dumps(c, 0);
    json_object_set_new(pred, "Data", json_string(text));
    free(text);
    json_decref(c);
}

/* Data that is JSON with a duplicate key. */
static void
edit_data_duplicate(json_t *pred, const json_t *m)
{
    (void)m;
    json_object_set_new(
        pred, "Data", json_string("{\"Measurements\":{},\"Measurements\":{}}"));
}

/* Data that is not JSON: ignored. */
static void
edit_data_text(json_t *pred, const json_t *m)
{
    (void)m;
    json_object_set_new(pred, "Data", json_string("{not json"));
}

/* PCR3 and PCR4 are not read. */
static void
edit_only_other_pcrs(json_t *pred, const json_t *m)
{
    json_t *meas = json_object_get(pred, "Measurements");
    size_t i;

    for (i = 0; i < 4; i++) {
        json_object_del(meas, pcr_keys[i]);
    }
    json_object_set(meas, "PCR3", json_object_get(m, "PCR0"));
    json_object_set(meas, "PCR4", json_object_get(m, "PCR1"));
}

static void
test_pcr_faults(void **state)
{
    struct attest_result r;

    (void)state;
    assert_int_equal(check_edited(edit_none, &r), ATTEST_PCRS);

    assert_int_equal(check_edited(edit_no_pcr1, &r), ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "lacks PCR1"));
    assert_int_equal(r.pcrs.present, 0);
    assert_string_equal(r.pcrs.artifact_digest, "");

    assert_int_equal(check_edited(edit_short_pcr2, &r), ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "PCR2"));
    assert_non_null(strstr(r.why, "95 characters"));

    assert_int_equal(check_edited(edit_nonhex_pcr0, &r), ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "PCR0"));
    assert_int_equal(check_edited(edit_pcr0_number, &r), ATTEST_UNTRUSTED);

    assert_int_equal(check_edited(edit_second_place_same, &r), ATTEST_PCRS);
    assert_non_null(strstr(r.why, "2 places"));

    assert_int_equal(check_edited(edit_second_place_pcr2, &r),
                     ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "disagree on PCR2"));
    assert_int_equal(check_edited(edit_second_place_no_pcr8, &r),
                     ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "disagree on PCR8"));
    assert_int_equal(check_edited(edit_data_disagrees, &r), ATTEST_UNTRUSTED);
    assert_non_null(strstr(r.why, "disagree on PCR1"));
    assert_int_equal(check_edited(edit_data_duplicate, &r), ATTEST_UNTRUSTED);

    assert_int_equal(check_edited(edit_data_text, &r), ATTEST_PCRS);
    assert_int_equal(check_edited(edit_only_other_pcrs, &r), ATTEST_NO_PCRS);
    assert_string_equal(
        r.pcrs.artifact_digest,
        "sha256:"
        "6be47f8386175bc4853c3b821f9e6fa6f65f8bd73492d1df99ba9dd0d734e11c");
}

/* ---- malformed input ---- */

static void
test_statement_faults(void **state)
{
    static const char *const bad[] = {
        "hello, not JSON",
        "[1,2]",
        "{\"_type\":\"https://in-toto.io/Statement/v2\",\"subject\":[]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":{}}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
        "\"predicate\":\"x\"}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
        "\"subject\":[]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{"
        "\"digest\":{\"sha256\":\"abc\"}}]}",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[1]}",
    };
    static const char ok[] =
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[]}";
    struct attest_result r;
    size_t i;
    char *deep;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check_statement(0, bad[i], &r) != ATTEST_MALFORMED) {
            fail_msg("statement %zu: %s", i, r.why);
        }
    }
    /* The positive twin: a minimal statement verifies, without PCRs. */
    assert_int_equal(check_statement(1, ok, &r), ATTEST_NO_PCRS);
    assert_string_equal(r.pcrs.artifact_digest, "");

    /* Nesting past ATTEST_MAX_DEPTH. */
    deep = calloc(1, 4 * ATTEST_MAX_DEPTH + 256);
    assert_non_null(deep);
    strcpy(deep, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":"
                 "[],\"predicate\":{\"x\":");
    for (i = 0; i < ATTEST_MAX_DEPTH + 2; i++) {
        strcat(deep, "[");
    }
    for (i = 0; i < ATTEST_MAX_DEPTH + 2; i++) {
        strcat(deep, "]");
    }
    strcat(deep, "}}");
    assert_int_equal(check_statement(2, deep, &r), ATTEST_MALFORMED);
    assert_non_null(strstr(r.why, "deeper"));
    free(deep);
}

static void
test_encoding_and_size(void **state)
{
    static const char stmt_head[] =
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[],"
        "\"predicate\":{\"pad\":\"";
    static const char stmt_tail[] = "\"}}";
    struct attest_result r;
    char *body, *buf, *b64;
    size_t n, fill;

    (void)state;
    /* A statement of exactly ATTEST_MAX_BYTES verifies; one more byte is
     * malformed (too big). */
    for (n = ATTEST_MAX_BYTES; n <= ATTEST_MAX_BYTES + 1; n++) {
        buf = malloc(n);
        assert_non_null(buf);
        fill = n - strlen(stmt_head) - strlen(stmt_tail);
        memcpy(buf, stmt_head, strlen(stmt_head));
        memset(buf + strlen(stmt_head), 'a', fill);
        memcpy(buf + strlen(stmt_head) + fill, stmt_tail, strlen(stmt_tail));
        body = body_for(0, (const uint8_t *)buf, n, 0);
        assert_int_equal(check_bytes(body, (const uint8_t *)buf, n, &r),
                         n == ATTEST_MAX_BYTES ? ATTEST_NO_PCRS
                                               : ATTEST_MALFORMED);
        free(body);
        free(buf);
    }

    body = body_for(0, (const uint8_t *)"x", 1, 0);
    /* Not base64, unpadded, URL alphabet, empty, NULL. */
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), "eA=!", 4, &r),
        ATTEST_MALFORMED);
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), "eA", 2, &r),
        ATTEST_MALFORMED);
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), "-_-_", 4, &r),
        ATTEST_MALFORMED);
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), "", 0, &r),
        ATTEST_MALFORMED);
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), NULL, 0, &r),
        ATTEST_MALFORMED);
    /* Positive twin: "x" in base64 hashes right but is no statement. */
    assert_int_equal(
        attest_check((const uint8_t *)body, strlen(body), "eA==", 4, &r),
        ATTEST_MALFORMED);
    assert_non_null(strstr(r.why, "JSON"));
    free(body);

    /* Bodies that are not a sha256 intoto/dsse entry. */
    b64 = b64_enc((const uint8_t *)"x", 1);
    {
        static const char *const bodies[] = {
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{}}",
            "{\"apiVersion\":\"0.0.2\",\"kind\":\"dsse\",\"spec\":{"
            "\"payloadHash\":{\"algorithm\":\"sha256\",\"value\":"
            "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
            "\"}}}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{"
            "\"payloadHash\":{\"algorithm\":\"sha512\",\"value\":"
            "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
            "\"}}}",
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{"
            "\"payloadHash\":{\"algorithm\":\"sha256\",\"value\":"
            "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a488"
            "\"}}}",
            "not json",
        };
        /* Positive twin of the last bodies: the right hash of "x". */
        static const char good[] =
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{"
            "\"payloadHash\":{\"algorithm\":\"sha256\",\"value\":"
            "\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
            "\"}}}";
        size_t i;
        char hex[65];
        for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
            assert_int_equal(attest_check((const uint8_t *)bodies[i],
                                          strlen(bodies[i]), b64, strlen(b64),
                                          &r),
                             ATTEST_MALFORMED);
            assert_null(strstr(r.why, "JSON object (or"));
            memset(hex, 'x', sizeof(hex));
            assert_int_equal(attest_payload_hash((const uint8_t *)bodies[i],
                                                 strlen(bodies[i]), hex, &r),
                             ATTEST_MALFORMED);
            assert_string_equal(hex, "");
            assert_true(strlen(r.why) > 0);
        }
        /* the twin: sha256("x"), lower case */
        assert_int_equal(
            attest_payload_hash((const uint8_t *)good, strlen(good), hex, &r),
            ATTEST_PCRS);
        assert_string_equal(
            hex,
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
        /* Hash ok, statement not JSON: past the body checks. */
        assert_int_equal(attest_check((const uint8_t *)good, strlen(good), b64,
                                      strlen(b64), &r),
                         ATTEST_MALFORMED);
        assert_non_null(strstr(r.why, "attestation is not a JSON"));
    }
    free(b64);
}

/* attest_statement alone: nothing to read, too big; the real statements
 * and built ones are compared with attest_check in check_bytes. */
static void
test_statement_only(void **state)
{
    static const char ok[] =
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[]}";
    struct attest_result r;
    uint8_t *big;

    (void)state;
    assert_int_equal(attest_statement(NULL, 10, &r), ATTEST_MALFORMED);
    assert_int_equal(attest_statement((const uint8_t *)ok, 0, &r),
                     ATTEST_MALFORMED);
    assert_int_equal(r.status, ATTEST_MALFORMED);
    assert_true(strlen(r.why) > 0);
    /* the twin: the same bytes with their length */
    assert_int_equal(attest_statement((const uint8_t *)ok, strlen(ok), &r),
                     ATTEST_NO_PCRS);
    /* one byte over the limit: refused before parsing */
    big = calloc(1, ATTEST_MAX_BYTES + 1);
    assert_non_null(big);
    memcpy(big, ok, strlen(ok));
    memset(big + strlen(ok), ' ', ATTEST_MAX_BYTES + 1 - strlen(ok));
    assert_int_equal(attest_statement(big, ATTEST_MAX_BYTES + 1, &r),
                     ATTEST_MALFORMED);
    assert_non_null(strstr(r.why, "limit"));
    assert_int_equal(attest_statement(big, ATTEST_MAX_BYTES, &r),
                     ATTEST_NO_PCRS);
    free(big);
}

static void
test_kind_and_names(void **state)
{
    (void)state;
    assert_int_equal(attest_kind_applies("intoto"), 1);
    assert_int_equal(attest_kind_applies("dsse"), 1);
    assert_int_equal(attest_kind_applies("hashedrekord"), 0);
    assert_int_equal(attest_kind_applies("intot"), 0);
    assert_int_equal(attest_kind_applies(NULL), 0);
    assert_string_equal(attest_status_str(ATTEST_PCRS), "pcrs");
    assert_string_equal(attest_status_str(ATTEST_NO_PCRS), "no_pcrs");
    assert_string_equal(attest_status_str(ATTEST_UNTRUSTED), "untrusted");
    assert_string_equal(attest_status_str(ATTEST_MALFORMED), "malformed");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_bundles),
        cmocka_unit_test(test_predicate_shapes),
        cmocka_unit_test(test_uppercase_hex),
        cmocka_unit_test(test_pcr_faults),
        cmocka_unit_test(test_statement_faults),
        cmocka_unit_test(test_encoding_and_size),
        cmocka_unit_test(test_statement_only),
        cmocka_unit_test(test_kind_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
