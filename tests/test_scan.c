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

#include "monitor/entry.h"
#include "monitor/scan.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_entries_match_full_parser),
        cmocka_unit_test(test_strict_subset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
