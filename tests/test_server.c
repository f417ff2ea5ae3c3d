/*
 * test_server.c: the status server's pure parts (monitor/server/metrics.h):
 * the /metrics text from a status document and follower counters, and
 * the /readyz verdict.  Documents are written by the test; every
 * positive case has a twin that must come out otherwise.  The text is
 * also checked with promtool when it is installed (PROMTOOL, PATH, or
 * where scripts/install-deps.sh puts it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "monitor/server/metrics.h"

static const char cfg_text[] =
    "logs:\n"
    "  - {name: rekor, url: https://rekor.sigstore.dev, stale_after: 1h}\n"
    "  - {name: two, url: https://two.example, stale_after: 10m}\n"
    "http: {listen: \"127.0.0.1:9464\", ready_lag: 100}\n";

static struct config *
load_cfg(void)
{
    struct config_errors *errs = NULL;
    struct config *cfg =
        config_load_mem(cfg_text, strlen(cfg_text), "t.yaml", &errs);

    assert_null(errs);
    assert_non_null(cfg);
    return cfg;
}

/* A status document with two logs; "two" is as given by the args. */
static json_t *
doc_with(json_t *two_size, json_t *two_lag, int two_stale)
{
    json_t *d = json_pack(
        "{s:s, s:[{s:s, s:[{s:s, s:I, s:I, s:I, s:I, s:I}, "
        "{s:s, s:I, s:I, s:I, s:I, s:I}], s:I, s:I, s:I, s:s, s:b}, "
        "{s:s, s:[], s:o, s:n, s:o, s:n, s:b}], "
        "s:{s:I, s:I, s:I, s:[{s:s, s:s, s:s, s:I, s:I}]}}",
        "schema", "tlogwatch.status/v1", "logs", "name", "rekor", "shards",
        "origin", "old", "entries_scanned", (json_int_t)1000,
        "checkpoints_verified", (json_int_t)3, "proofs_verified", (json_int_t)2,
        "root_checks_passed", (json_int_t)3, "verified_size", (json_int_t)1000,
        "origin", "new", "entries_scanned", (json_int_t)50,
        "checkpoints_verified", (json_int_t)1, "proofs_verified", (json_int_t)0,
        "root_checks_passed", (json_int_t)1, "verified_size", (json_int_t)60,
        "verified_size", (json_int_t)60, "cursor", (json_int_t)1050, "lag",
        (json_int_t)10, "last_success", "2026-12-05T07:00:00Z", "stale", 0,
        "name", "two", "shards", "verified_size", two_size, "cursor", "lag",
        two_lag, "last_success", "stale", two_stale, "outbox", "pending",
        (json_int_t)4, "sent", (json_int_t)7, "failed", (json_int_t)1, "sinks",
        "name", "hook", "type", "webhook", "where", "https://h.example/...",
        "pending", (json_int_t)4, "failed", (json_int_t)1);

    assert_non_null(d);
    return d;
}

static int
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = text;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return 1;
        }
        p += n;
    }
    return 0;
}

/* Every line a comment or "tlogwatch_<name>[{labels}] <value>"; every
 * family declared once before its samples; counters end in _total and
 * nothing else does. */
static void
check_format(const char *text)
{
    char *copy = strdup(text), *save = NULL, *line;
    char typed[64][96];
    size_t ntyped = 0, i;

    assert_non_null(copy);
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char name[96], type[16];
        size_t nl;

        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(strncmp(line + 7, "tlogwatch_", 10), 0);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%95s %15s", name, type), 2);
            assert_int_equal(strncmp(name, "tlogwatch_", 10), 0);
            nl = strlen(name);
            if (strcmp(type, "counter") == 0) {
                assert_true(nl > 6 && strcmp(name + nl - 6, "_total") == 0);
            } else {
                assert_string_equal(type, "gauge");
                assert_false(nl > 6 && strcmp(name + nl - 6, "_total") == 0);
            }
            for (i = 0; i < ntyped; i++) {
                assert_string_not_equal(typed[i], name);
            }
            assert_true(ntyped < 64);
            snprintf(typed[ntyped++], sizeof(typed[0]), "%s", name);
            continue;
        }
        assert_int_equal(strncmp(line, "tlogwatch_", 10), 0);
        nl = strcspn(line, "{ ");
        assert_true(nl < sizeof(name));
        memcpy(name, line, nl);
        name[nl] = '\0';
        /* a sample of the family declared last */
        assert_true(ntyped > 0);
        assert_string_equal(name, typed[ntyped - 1]);
        assert_non_null(strrchr(line, ' '));
    }
    free(copy);
}

/* promtool check metrics, when promtool is there: 0 pass, 1 fail, -1 none. */
static int
promtool_check(const char *text)
{
    const char *env = getenv("PROMTOOL");
    char tool[1200], cmd[2400], path[] = "/tmp/test_server.XXXXXX";
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char cache[1024];
    int fd, rc;
    FILE *f;

    if (env != NULL && env[0] != '\0') {
        snprintf(tool, sizeof(tool), "%s", env);
    } else if (system("command -v promtool >/dev/null 2>&1") == 0) {
        snprintf(tool, sizeof(tool), "promtool");
    } else {
        /* where scripts/install-deps.sh puts it */
        if (xdg != NULL && xdg[0] != '\0') {
            snprintf(cache, sizeof(cache), "%s", xdg);
        } else {
            snprintf(cache, sizeof(cache), "%s/.cache",
                     home != NULL ? home : "/tmp");
        }
        snprintf(tool, sizeof(tool), "%s/tlogwatch/promtool", cache);
        if (access(tool, X_OK) != 0) {
            return -1;
        }
    }
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "'%s' check metrics < %s", tool, path);
    rc = system(cmd);
    unlink(path);
    return rc == 0 ? 0 : 1;
}

static void
test_metrics(void **state)
{
    struct server_log_stats ls[2];
    json_t *doc = doc_with(json_null(), json_null(), 1);
    char *text;
    size_t len = 0;

    (void)state;
    /* the store's counts, as the document holds them */
    assert_int_equal(
        json_object_set_new(doc, "alerts",
                            json_pack("{s:[{s:s, s:s, s:i}, {s:s, s:s, s:i}]}",
                                      "by_type", "type", "log.stale",
                                      "severity", "warning", "count", 3, "type",
                                      "signing.unknown_pcrs", "severity",
                                      "critical", "count", 1)),
        0);
    assert_int_equal(
        json_object_set_new(doc, "pcr_lookups_pending", json_integer(5)), 0);
    /* CT certificates per rule and state; a rule named with a quote, a
     * count of the wrong type (no sample) */
    assert_int_equal(
        json_object_set_new(
            doc, "rules",
            json_pack("[{s:s, s:{s:i, s:i, s:i}}, {s:s, s:{s:s, s:i}}]", "name",
                      "app", "ct_counts", "pending", 2, "unlogged", 1, "logged",
                      7, "name", "o\"k", "ct_counts", "pending", "two",
                      "unlogged", 0)),
        0);
    memset(ls, 0, sizeof(ls));
    ls[0].name = "rekor";
    ls[0].stats.window = 6;
    ls[0].stats.http[FOLLOW_HTTP_2XX] = 120;
    ls[0].stats.http[FOLLOW_HTTP_5XX] = 2;
    ls[0].stats.http[FOLLOW_HTTP_ERROR] = 1;
    ls[0].stats.proofs_failed[FOLLOW_PROOF_CONSISTENCY] = 1;
    ls[0].stats.throttled = 3;
    ls[1].name = "two";
    ls[1].stats.frozen_checks = 5;
    ls[1].stats.window = 8;
    text = server_metrics_text(doc, ls, 2, "1.2.3", &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    check_format(text);
    assert_true(has_line(text, "tlogwatch_build_info{version=\"1.2.3\"} 1"));
    /* the newest shard's figures, from the document */
    assert_true(
        has_line(text, "tlogwatch_log_verified_size{log=\"rekor\"} 60"));
    assert_true(has_line(text, "tlogwatch_log_cursor{log=\"rekor\"} 1050"));
    assert_true(has_line(text, "tlogwatch_log_lag_entries{log=\"rekor\"} 10"));
    /* 2026-12-05T07:00:00Z */
    assert_true(has_line(text, "tlogwatch_log_last_success_timestamp_seconds"
                               "{log=\"rekor\"} 1796454000"));
    assert_true(has_line(text, "tlogwatch_log_stale{log=\"rekor\"} 0"));
    assert_true(has_line(text, "tlogwatch_log_stale{log=\"two\"} 1"));
    /* counters summed over shards */
    assert_true(
        has_line(text, "tlogwatch_entries_scanned_total{log=\"rekor\"} 1050"));
    assert_true(has_line(text, "tlogwatch_proofs_verified_total{log=\"rekor\","
                               "kind=\"checkpoint\"} 4"));
    assert_true(has_line(text, "tlogwatch_proofs_verified_total{log=\"rekor\","
                               "kind=\"consistency\"} 2"));
    assert_true(has_line(text, "tlogwatch_proofs_verified_total{log=\"rekor\","
                               "kind=\"root\"} 4"));
    assert_true(
        has_line(text, "tlogwatch_entries_scanned_total{log=\"two\"} 0"));
    /* a log without a checkpoint, cursor or success has no such sample */
    assert_null(strstr(text, "tlogwatch_log_verified_size{log=\"two\"}"));
    assert_null(strstr(text, "tlogwatch_log_lag_entries{log=\"two\"}"));
    assert_null(strstr(text, "last_success_timestamp_seconds{log=\"two\"}"));
    /* the engine's counters */
    assert_true(has_line(text, "tlogwatch_http_responses_total{log=\"rekor\","
                               "class=\"2xx\"} 120"));
    assert_true(has_line(text, "tlogwatch_http_responses_total{log=\"rekor\","
                               "class=\"5xx\"} 2"));
    assert_true(has_line(text, "tlogwatch_http_responses_total{log=\"rekor\","
                               "class=\"error\"} 1"));
    assert_true(has_line(text, "tlogwatch_http_responses_total{log=\"two\","
                               "class=\"4xx\"} 0"));
    assert_true(has_line(text, "tlogwatch_proofs_failed_total{log=\"rekor\","
                               "kind=\"consistency\"} 1"));
    assert_true(has_line(text, "tlogwatch_proofs_failed_total{log=\"rekor\","
                               "kind=\"root\"} 0"));
    assert_true(has_line(text, "tlogwatch_request_window{log=\"two\"} 8"));
    assert_true(
        has_line(text, "tlogwatch_http_throttled_total{log=\"rekor\"} 3"));
    assert_true(has_line(text, "tlogwatch_frozen_checks_total{log=\"two\"} 5"));
    assert_true(
        has_line(text, "tlogwatch_frozen_checks_total{log=\"rekor\"} 0"));
    /* store counts, from the document */
    assert_true(has_line(text, "tlogwatch_alerts_total{type=\"log.stale\","
                               "severity=\"warning\"} 3"));
    assert_true(has_line(text,
                         "tlogwatch_alerts_total{type=\"signing.unknown_pcrs\","
                         "severity=\"critical\"} 1"));
    assert_true(
        has_line(text, "tlogwatch_deliveries_pending{sink=\"hook\"} 4"));
    assert_true(
        has_line(text, "tlogwatch_deliveries_failed_total{sink=\"hook\"} 1"));
    assert_true(has_line(text, "tlogwatch_pcr_lookups_pending 5"));
    assert_true(has_line(
        text, "tlogwatch_ct_certificates{rule=\"app\",state=\"pending\"} 2"));
    assert_true(has_line(
        text, "tlogwatch_ct_certificates{rule=\"app\",state=\"unlogged\"} 1"));
    assert_true(has_line(
        text, "tlogwatch_ct_certificates{rule=\"app\",state=\"logged\"} 7"));
    assert_true(has_line(text, "tlogwatch_ct_certificates{rule=\"o\\\"k\","
                               "state=\"unlogged\"} 0"));
    assert_null(strstr(text, "rule=\"o\\\"k\",state=\"pending\""));
    assert_null(strstr(text, "rule=\"o\\\"k\",state=\"logged\""));
    if (promtool_check(text) == 1) {
        print_message("promtool rejected:\n%s", text);
        fail();
    }
    free(text);
    json_decref(doc);

    /* not a document */
    assert_null(server_metrics_text(NULL, NULL, 0, "x", NULL));
    doc = json_array();
    assert_null(server_metrics_text(doc, NULL, 0, "x", NULL));
    json_decref(doc);
}

/* Label values are escaped; members of the wrong type are absent;
 * promtool (when there) agrees with the escaping. */
static void
test_metrics_hostile(void **state)
{
    struct server_log_stats ls;
    json_t *doc = json_pack(
        "{s:[{s:s, s:s, s:i, s:s, s:[{s:s}]}], s:{s:[{s:s, s:s, s:i},"
        " {s:i, s:s, s:i}, {s:s, s:s, s:s}]}, s:s}",
        "logs", "name", "q\"x\\y\nz", "verified_size", "12", "lag", -4,
        "last_success", "yesterday", "shards", "entries_scanned", "many",
        "alerts", "by_type", "type", "a\"b\\c\nd", "severity", "warning",
        "count", 1, "type", 7, "severity", "info", "count", 2, "type", "t",
        "severity", "info", "count", "three", "pcr_lookups_pending", "five");
    char esc[16], *text;

    (void)state;
    assert_non_null(doc);
    memset(&ls, 0, sizeof(ls));
    ls.name = "q\"x\\y\nz";
    text = server_metrics_text(doc, &ls, 1, "v\"1", NULL);
    assert_non_null(text);
    check_format(text);
    assert_non_null(strstr(text, "{log=\"q\\\"x\\\\y\\nz\"}"));
    assert_non_null(strstr(text, "type=\"a\\\"b\\\\c\\nd\""));
    /* a by_type row of the wrong type, and pcr_lookups_pending as a
     * string: no sample */
    assert_null(strstr(text, "severity=\"info\""));
    assert_null(strstr(text, "\ntlogwatch_pcr_lookups_pending "));
    assert_non_null(strstr(text, "version=\"v\\\"1\""));
    assert_null(strstr(text, "tlogwatch_log_verified_size{"));
    assert_null(strstr(text, "tlogwatch_log_lag_entries{"));
    assert_null(strstr(text, "tlogwatch_log_last_success_timestamp_seconds{"));
    assert_non_null(strstr(text, "tlogwatch_entries_scanned_total{log=\"q\\\"x"
                                 "\\\\y\\nz\"} 0\n"));
    if (promtool_check(text) == 1) {
        print_message("promtool rejected:\n%s", text);
        fail();
    }
    free(text);
    json_decref(doc);
    /* cut to fit, never mid-escape */
    assert_string_equal(server_label_escape("ab\"cd", esc, 4), "ab");
    assert_string_equal(server_label_escape("ab\"cd", esc, 5), "ab\\\"");
    assert_string_equal(server_label_escape(NULL, esc, sizeof(esc)), "");
}

static int
has_reason(const json_t *reasons, const char *part)
{
    const json_t *r;
    size_t i;

    json_array_foreach(reasons, i, r)
    {
        if (strstr(json_string_value(r), part) != NULL) {
            return 1;
        }
    }
    return 0;
}

static void
test_readiness(void **state)
{
    struct config *cfg = load_cfg();
    json_t *reasons = json_array(), *doc;

    (void)state;
    /* every log verified, fresh, within ready_lag: ready */
    doc = doc_with(json_integer(5000), json_integer(100), 0);
    assert_int_equal(server_readiness(doc, cfg, NULL, reasons), 1);
    assert_int_equal(json_array_size(reasons), 0);
    /* the same with the store not writable */
    assert_int_equal(server_readiness(doc, cfg, "disk I/O error", reasons), 0);
    assert_int_equal(json_array_size(reasons), 1);
    assert_true(has_reason(reasons, "store: not writable: disk I/O error"));
    json_array_clear(reasons);
    json_decref(doc);

    /* one entry past ready_lag */
    doc = doc_with(json_integer(5000), json_integer(101), 0);
    assert_int_equal(server_readiness(doc, cfg, NULL, reasons), 0);
    assert_int_equal(json_array_size(reasons), 1);
    assert_true(has_reason(reasons, "log two: cursor lag 101 entries, more "
                                    "than http.ready_lag (100)"));
    json_array_clear(reasons);
    json_decref(doc);

    /* stale */
    doc = doc_with(json_integer(5000), json_integer(0), 1);
    assert_int_equal(server_readiness(doc, cfg, NULL, reasons), 0);
    assert_int_equal(json_array_size(reasons), 1);
    assert_true(has_reason(reasons, "log two: no checkpoint verified within "
                                    "stale_after (600 s); last success "
                                    "never"));
    json_array_clear(reasons);
    json_decref(doc);

    /* never verified */
    doc = doc_with(json_null(), json_null(), 1);
    assert_int_equal(server_readiness(doc, cfg, NULL, reasons), 0);
    assert_int_equal(json_array_size(reasons), 1);
    assert_true(has_reason(reasons, "log two: no verified checkpoint yet"));
    json_array_clear(reasons);
    json_decref(doc);

    /* a configured log the document lacks, and no document at all */
    doc = json_pack("{s:[]}", "logs");
    assert_int_equal(server_readiness(doc, cfg, NULL, reasons), 0);
    assert_int_equal(json_array_size(reasons), 2);
    assert_true(has_reason(reasons, "log rekor: no verified checkpoint yet"));
    json_array_clear(reasons);
    json_decref(doc);
    assert_int_equal(server_readiness(NULL, cfg, NULL, reasons), 0);
    assert_true(has_reason(reasons, "status: the store could not be read"));
    json_decref(reasons);
    config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_hostile),
        cmocka_unit_test(test_readiness),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
