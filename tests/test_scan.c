/*
 * test_scan.c: the follower's fast retrieve-response scanner reads real
 * Rekor entries exactly as the full parser does, and gives up (so the
 * caller falls back to jansson) on everything outside its strict subset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "monitor/identity/entry.h"
#include "monitor/identity/scan.h"

#define MAXE 16

/* A retrieve response built from every real API entry in the test data. */
static char *
real_response(size_t *len)
{
    static const char *files[] = {
        "derived-gha-dsse-1261105807.json", "derived-gha-dsse-155690850.json",
        "derived-gha-hashedrekord-79605083.json", "prod-jar-entry.json",
        "staging-hashedrekord-entry.json"};
    const char *td = getenv("TLOGWATCH_TESTDATA");
    json_t *arr = json_array();
    char path[4096], *out;
    size_t i;

    assert_non_null(td);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        json_error_t err;
        json_t *el;
        snprintf(path, sizeof(path), "%s/rekor/api-entries/%s", td, files[i]);
        el = json_load_file(path, 0, &err);
        assert_non_null(el);
        json_array_append_new(arr, el);
    }
    out = json_dumps(arr, JSON_INDENT(1));
    json_decref(arr);
    assert_non_null(out);
    *len = strlen(out);
    return out;
}

static void
test_real_entries_match_full_parser(void **state)
{
    size_t len, i;
    char *buf = real_response(&len);
    struct entry *fast[MAXE];
    long n = scan_retrieve(buf, len, fast, MAXE);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);

    (void)state;
    assert_int_equal(n, 5);
    for (i = 0; i < (size_t)n; i++) {
        char err[ENTRY_ERR_LEN];
        struct entry *e =
            entry_from_json(json_array_get(root, i), err, sizeof(err));
        assert_non_null(e);
        assert_string_equal(e->uuid, fast[i]->uuid);
        assert_int_equal(e->body_len, fast[i]->body_len);
        assert_memory_equal(e->body, fast[i]->body, e->body_len);
        assert_memory_equal(e->leaf_hash, fast[i]->leaf_hash, 32);
        assert_int_equal(e->log_index, fast[i]->log_index);
        assert_int_equal(e->integrated_time, fast[i]->integrated_time);
        assert_memory_equal(e->log_id, fast[i]->log_id, 32);
        /* The entry id names the body: the real leaf hash. */
        if (fast[i]->has_uuid_leaf) {
            assert_memory_equal(fast[i]->uuid_leaf, fast[i]->leaf_hash, 32);
        }
        entry_free(e);
        entry_free(fast[i]);
    }
    json_decref(root);
    free(buf);
}

static long
scan_str(const char *s)
{
    struct entry *out[MAXE];
    long n = scan_retrieve(s, strlen(s), out, MAXE), i;

    for (i = 0; i < n; i++) {
        entry_free(out[i]);
    }
    return n;
}

#define ID                                                                     \
    "0000000000000001"                                                         \
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
#define LOGID "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"

static void
test_strict_subset(void **state)
{
    (void)state;
    /* Positive: minimal element; unknown members skipped. */
    assert_int_equal(scan_str("[]"), 0);
    assert_int_equal(
        scan_str(
            "[{\"" ID "\":{\"body\":\"AA==\",\"integratedTime\":1,"
            "\"logID\":\"" LOGID "\",\"logIndex\":7,"
            "\"verification\":{\"x\":[1,{\"y\":\"a\\\"b\"}],\"z\":null}}}]"),
        1);
    /* Negative twins: each makes the scanner give up. */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"A\\u0041==\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}]"),
                     -1); /* escape in a read string */
    assert_int_equal(scan_str("[{\"" ID
                              "\":{\"body\":\"AA==\",\"body\":\"AA==\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}]"),
                     -1); /* duplicate read member */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA==\","
                              "\"integratedTime\":1e3,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}]"),
                     -1); /* exponent */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA==\","
                              "\"integratedTime\":-1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}]"),
                     -1); /* sign */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA==\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\"}}]"),
                     -1); /* missing logIndex */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA==\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}] x"),
                     -1); /* trailing garbage */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA=\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7}}]"),
                     -1); /* bad base64 */
    assert_int_equal(scan_str("[{\"" ID "\":{\"body\":\"AA==\","
                              "\"integratedTime\":1,\"logID\":\"" LOGID
                              "\",\"logIndex\":7},\"x\":1}]"),
                     -1); /* two entry ids in one element */
    assert_int_equal(scan_str("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["), -1);
}

/* Both paths over one response; returns the scanner's count (-1: gave up)
 * and the entries in *fast / *full (NULL when that path refused). */
static long
both_paths(const char *buf, size_t len, struct entry **fast,
           struct entry **full)
{
    long n = scan_retrieve(buf, len, fast, 1);
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    char err[ENTRY_ERR_LEN];

    *full = NULL;
    if (root != NULL && json_array_size(root) == 1) {
        *full = entry_from_json(json_array_get(root, 0), err, sizeof(err));
    }
    json_decref(root);
    if (n != 1) {
        *fast = NULL;
    }
    return n;
}

/* One element with the member text att (e.g. "\"attestation\":{...}"). */
static char *
element_with(const char *att)
{
    static const char head[] = "[{\"" ID "\":{\"body\":\"AA==\",";
    static const char tail[] =
        "\"integratedTime\":1,\"logID\":\"" LOGID "\",\"logIndex\":7}}]";
    size_t n = strlen(head) + strlen(att) + 1 + strlen(tail) + 1;
    char *buf = malloc(n);

    assert_non_null(buf);
    snprintf(buf, n, "%s%s%s%s", head, att, att[0] ? "," : "", tail);
    return buf;
}

/* The real attestation of a testdata bundle (its DSSE payload, base64). */
static char *
real_attestation(void)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    char path[4096], *out;
    json_error_t err;
    json_t *b;

    assert_non_null(td);
    snprintf(path, sizeof(path),
             "%s/rekor/bundles/valid/gha-dsse-aa-test-provenance.sigstore.json",
             td);
    b = json_load_file(path, 0, &err);
    assert_non_null(b);
    out = strdup(json_string_value(
        json_object_get(json_object_get(b, "dsseEnvelope"), "payload")));
    assert_non_null(out);
    json_decref(b);
    return out;
}

static void
test_attestation_captured(void **state)
{
    size_t len, i;
    char *buf = real_response(&len);
    char *att = real_attestation();
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr), *el;
    struct entry *fast[MAXE];
    char *withatt;
    long n;

    (void)state;
    /* Every real entry, the first two with the real attestation (one with
     * an extra member in the attestation object), the others without. */
    for (i = 0; i < 2; i++) {
        json_t *a = json_pack("{s:s}", "data", att);
        if (i == 1) {
            json_object_set_new(a, "other", json_pack("[i,{}]", 1));
        }
        el = json_object_iter_value(json_object_iter(json_array_get(root, i)));
        json_object_set_new(el, "attestation", a);
    }
    withatt = json_dumps(root, JSON_INDENT(1));
    assert_non_null(withatt);
    n = scan_retrieve(withatt, strlen(withatt), fast, MAXE);
    assert_int_equal(n, 5);
    for (i = 0; i < (size_t)n; i++) {
        char err[ENTRY_ERR_LEN];
        struct entry *e =
            entry_from_json(json_array_get(root, i), err, sizeof(err));
        assert_non_null(e);
        assert_int_equal(fast[i]->attestation_oversize, 0);
        assert_int_equal(e->attestation_oversize, 0);
        if (i < 2) {
            assert_non_null(fast[i]->attestation_b64);
            assert_string_equal(fast[i]->attestation_b64, att);
            assert_int_equal(fast[i]->attestation_b64_len, strlen(att));
            assert_string_equal(e->attestation_b64, att);
            assert_int_equal(e->attestation_b64_len, strlen(att));
        } else {
            assert_null(fast[i]->attestation_b64);
            assert_int_equal(fast[i]->attestation_b64_len, 0);
            assert_null(e->attestation_b64);
        }
        entry_free(e);
        entry_free(fast[i]);
    }
    free(withatt);
    json_decref(root);
    free(att);
    free(buf);
}

static void
test_attestation_limits(void **state)
{
    static const char *const member[] = {"\"attestation\":{\"data\":\"", "\"}"};
    size_t sizes[2] = {ENTRY_MAX_ATTESTATION_B64,
                       ENTRY_MAX_ATTESTATION_B64 + 1};
    struct entry *fast, *full;
    size_t k;

    (void)state;
    /* At the limit: kept; one over: dropped and flagged, by both paths. */
    for (k = 0; k < 2; k++) {
        size_t n = strlen(member[0]) + sizes[k] + strlen(member[1]) + 1;
        char *m = malloc(n), *buf;
        assert_non_null(m);
        strcpy(m, member[0]);
        memset(m + strlen(member[0]), 'Q', sizes[k]);
        strcpy(m + strlen(member[0]) + sizes[k], member[1]);
        buf = element_with(m);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), 1);
        assert_non_null(full);
        if (k == 0) {
            assert_non_null(fast->attestation_b64);
            assert_int_equal(fast->attestation_b64_len, sizes[k]);
            assert_int_equal(fast->attestation_oversize, 0);
            assert_int_equal(full->attestation_b64_len, sizes[k]);
            assert_memory_equal(full->attestation_b64, fast->attestation_b64,
                                sizes[k] + 1);
        } else {
            assert_null(fast->attestation_b64);
            assert_int_equal(fast->attestation_b64_len, 0);
            assert_int_equal(fast->attestation_oversize, 1);
            assert_null(full->attestation_b64);
            assert_int_equal(full->attestation_oversize, 1);
        }
        entry_free(fast);
        entry_free(full);
        free(buf);
        free(m);
    }
}

static void
test_attestation_shapes(void **state)
{
    /* Read the same by both paths: absent, empty object, empty data. */
    static const char *const none[] = {"", "\"attestation\":{}",
                                       "\"attestation\":{\"data\":\"\"}",
                                       "\"attestation\":{\"x\":[\"data\"]}"};
    /* The scanner gives up (the full parser reads them). */
    static const char *const fallback[] = {
        "\"attestation\":null",
        "\"attestation\":{\"data\":null}",
        "\"attestation\":{\"data\":\"QU\\u0042D\"}",
        "\"attestation\":{\"data\":\"QUJD\\/\"}",
        "\"attestation\":{\"data\":\"QU\xc3\xa9\"}",
    };
    /* Both refuse (the full parser with a message). */
    static const char *const refused[] = {
        "\"attestation\":[]",
        "\"attestation\":\"QUJD\"",
        "\"attestation\":{\"data\":5}",
        "\"attestation\":{\"data\":[\"QUJD\"]}",
    };
    /* The scanner refuses, and so does jansson (invalid JSON). */
    static const char *const invalid[] = {
        "\"attestation\":{\"data\":\"QU\tJD\"}",
        "\"attestation\":{\"data\":\"QU\x01JD\"}",
        "\"attestation\":{\"data\":\"QU\xff\"}",
        "\"attestation\":{\"data\":\"QUJD\",\"data\":\"QUJD\"}",
        "\"attestation\":{},\"attestation\":{}",
    };
    struct entry *fast, *full;
    size_t i;
    char *buf;

    (void)state;
    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        buf = element_with(none[i]);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), 1);
        assert_non_null(full);
        assert_null(fast->attestation_b64);
        assert_null(full->attestation_b64);
        assert_int_equal(fast->attestation_oversize, 0);
        entry_free(fast);
        entry_free(full);
        free(buf);
    }
    /* Positive twin: a plain data string is read by both. */
    buf = element_with("\"attestation\":{\"data\":\"QUJD\"}");
    assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), 1);
    assert_string_equal(fast->attestation_b64, "QUJD");
    assert_string_equal(full->attestation_b64, "QUJD");
    entry_free(fast);
    entry_free(full);
    free(buf);

    for (i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
        buf = element_with(fallback[i]);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), -1);
        if (full == NULL) {
            fail_msg("fallback %zu: the full parser refused", i);
        }
        entry_free(full);
        free(buf);
    }
    /* What the full parser read of the escapes. */
    buf = element_with(fallback[2]);
    both_paths(buf, strlen(buf), &fast, &full);
    assert_string_equal(full->attestation_b64, "QUBD");
    entry_free(full);
    free(buf);

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        buf = element_with(refused[i]);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), -1);
        assert_null(full);
        free(buf);
    }
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        json_error_t jerr;
        json_t *j;
        buf = element_with(invalid[i]);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), -1);
        assert_null(full);
        j = json_loadb(buf, strlen(buf), JSON_REJECT_DUPLICATES, &jerr);
        assert_null(j);
        free(buf);
    }
}

/*
 * Skipped values are accepted only as jansson reads them: each accepted
 * one parses with jansson too; each refused one is a form jansson refuses
 * or reads differently (so the fallback decides).
 */
static void
test_skipped_values_match_jansson(void **state)
{
    static const char *const ok[] = {
        "\"v\":\"rekor.sigstore.dev - 1\\n\\u2014 rekor \xe2\x80\x94 x\"",
        "\"v\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD7FF\\uE000\x7f\"",
        "\"v\":\"\xf0\x9f\x94\x91 \xc3\xa9 \xef\xbf\xbd \xf4\x8f\xbf\xbf\"",
        "\"v\":[true,false,null,0,-0,-12,123456789012345678]",
    };
    /* Refused by the scanner and by jansson. */
    static const char *const invalid[] = {
        "\"v\":\"\\q\"",
        "\"v\":\"\\u0000\"",
        "\"v\":\"\\u12G4\"",
        "\"v\":\"\xe2\x80\"",
        "\"v\":\"\xc0\xaf\"",
        "\"v\":\"\xed\xa0\x80\"",
        "\"v\":\"\xf4\x90\x80\x80\"",
        "\"v\":\"\xff\"",
        "\"v\":\"a\x01\"",
        "\"v\":nul",
        "\"v\":nullx",
        "\"v\":tru",
        "\"v\":01",
        "\"v\":-",
        "\"v\":+1",
        "\"\xff\":1",
    };
    /* Refused by the scanner only (the fallback reads them): surrogate
     * pairs, reals, integers past 18 digits, names with escapes or
     * non-ASCII. */
    static const char *const fallback[] = {
        "\"v\":\"\\ud83d\\udd11\"",  "\"v\":1.5",      "\"v\":1e3",
        "\"v\":1234567890123456789", "\"\\u00e9\":{}", "\"\xc3\xa9\":{}",
    };
    struct entry *fast, *full;
    json_error_t jerr;
    json_t *j;
    size_t i;
    char *buf;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        buf = element_with(ok[i]);
        if (both_paths(buf, strlen(buf), &fast, &full) != 1) {
            fail_msg("skipped value %zu refused", i);
        }
        assert_non_null(full);
        entry_free(fast);
        entry_free(full);
        free(buf);
    }
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        buf = element_with(invalid[i]);
        if (scan_str(buf) != -1) {
            fail_msg("invalid value %zu accepted", i);
        }
        j = json_loadb(buf, strlen(buf), 0, &jerr);
        if (j != NULL) {
            fail_msg("jansson accepts invalid value %zu", i);
        }
        free(buf);
    }
    for (i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
        buf = element_with(fallback[i]);
        assert_int_equal(both_paths(buf, strlen(buf), &fast, &full), -1);
        if (full == NULL) {
            fail_msg("fallback value %zu refused by jansson", i);
        }
        entry_free(full);
        free(buf);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_entries_match_full_parser),
        cmocka_unit_test(test_strict_subset),
        cmocka_unit_test(test_attestation_captured),
        cmocka_unit_test(test_attestation_limits),
        cmocka_unit_test(test_attestation_shapes),
        cmocka_unit_test(test_skipped_values_match_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
