/*
 * test_discovery.c: which logs of a trusted root are followed
 * (config/discovery.h), on Sigstore's real trusted roots
 * ($TLOGWATCH_TESTDATA/fulcio/trusted_root.json, production, and
 * rekor-v2/staging-trusted_root.json), with their validFor windows
 * edited in memory where a case needs another window.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "config/discovery.h"
#include "config/trusted_root.h"

#define T2026 1780000000LL /* 2026-05-28 */
#define T2020 1577836800LL /* 2020-01-01 */

static char *
testdata(const char *rel)
{
    const char *d = getenv("TLOGWATCH_TESTDATA");
    size_t len;
    char *p;

    assert_non_null(d);
    len = strlen(d) + strlen(rel) + 2;
    p = malloc(len);
    assert_non_null(p);
    snprintf(p, len, "%s/%s", d, rel);
    return p;
}

/* The trusted root at rel, with tlogs[tlog].publicKey.validFor.end set to
 * end (when tlog >= 0), loaded from memory. */
static struct config_trusted_root *
root_edit(const char *rel, int tlog, const char *end)
{
    char *path = testdata(rel);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r;
    char *s;

    assert_non_null(j);
    if (tlog >= 0) {
        json_t *vf = json_object_get(
            json_object_get(
                json_array_get(json_object_get(j, "tlogs"), (size_t)tlog),
                "publicKey"),
            "validFor");
        assert_non_null(vf);
        assert_int_equal(json_object_set_new(vf, "end", json_string(end)), 0);
    }
    s = json_dumps(j, 0);
    assert_non_null(s);
    r = config_trusted_root_load_mem(s, strlen(s), path, err, sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(s);
    json_decref(j);
    free(path);
    return r;
}

static struct config *
cfg_of(const char *yaml)
{
    struct config_errors *errs = NULL;
    struct config *c = config_load_mem(yaml, strlen(yaml), "t.yaml", &errs);

    if (c == NULL) {
        char buf[512];
        assert_non_null(errs);
        fail_msg("%s", config_error_format(&errs->v[0], buf, sizeof(buf)));
    }
    return c;
}

static const struct config_discovery *
find(const struct config_discovery *d, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (d[i].log.name != NULL && strcmp(d[i].log.name, name) == 0) {
            return &d[i];
        }
    }
    return NULL;
}

static void
discover(const struct config *c, const struct config_trusted_root *r,
         const char *mc, int64_t now, int64_t since,
         struct config_discovery **d, size_t *n)
{
    char err[512];

    if (config_discover(c, r, mc, now, since, d, n, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
}

/* Production: ECDSA rekor.sigstore.dev is v1, Ed25519 log2025-1 is v2,
 * both open; the CT logs are listed but skipped; defaults applied. */
static void
test_key_types(void **state)
{
    struct config *c =
        cfg_of("logs_from_trusted_root: true\ndiscovered_start: 0\n");
    struct config_trusted_root *r =
        root_edit("fulcio/trusted_root.json", -1, NULL);
    struct config_discovery *d;
    size_t n;
    const struct config_discovery *v1, *v2, *ct;

    (void)state;
    assert_int_equal(c->n_logs, 0);
    assert_true(c->logs_from_trusted_root);
    discover(c, r, NULL, T2026, T2026, &d, &n);
    v1 = find(d, n, "rekor.sigstore.dev");
    v2 = find(d, n, "log2025-1.rekor.sigstore.dev");
    ct = find(d, n, "ctfe.sigstore.dev-2022");
    assert_non_null(v1);
    assert_non_null(v2);
    assert_non_null(ct);
    assert_int_equal(v1->log.kind, CONFIG_LOG_REKOR_V1);
    assert_string_equal(v1->log.url, "https://rekor.sigstore.dev");
    assert_null(v1->skip);
    assert_false(v1->retired);
    assert_int_equal(v2->log.kind, CONFIG_LOG_REKOR_V2);
    assert_string_equal(v2->log.url, "https://log2025-1.rekor.sigstore.dev");
    assert_null(v2->skip);
    assert_null(ct->skip);
    assert_int_equal(ct->log.kind, CONFIG_LOG_CT);
    assert_string_equal(ct->log.url, "https://ctfe.sigstore.dev/2022");
    /* the 2021-2022 CT log ended before the state began */
    assert_non_null(find(d, n, "ctfe.sigstore.dev-test")->skip);
    assert_false(v2->log.start_latest);
    assert_int_equal(v2->log.start_index, 0);
    assert_int_equal(v2->log.poll_interval_ms, CONFIG_DEFAULT_POLL_INTERVAL_MS);
    assert_true(v2->log.discovered);
    /* applied: three logs appended, the skipped one not */
    assert_int_equal(config_discovery_apply(c, d, n), 0);
    assert_int_equal(c->n_logs, 3);
    assert_non_null(config_log_find(c, "ctfe.sigstore.dev-2022"));
    assert_non_null(config_log_find(c, "rekor.sigstore.dev"));
    assert_non_null(config_log_find(c, "log2025-1.rekor.sigstore.dev"));
    config_discovery_free(d, n);
    config_free(c);
    config_trusted_root_free(r);
}

/* validFor: ended before the state began: skipped; ended since: retired
 * and followed; the default start is latest. */
static void
test_valid_for(void **state)
{
    struct config *c = cfg_of("logs_from_trusted_root: true\n");
    struct config_trusted_root *r = root_edit(
        "rekor-v2/staging-trusted_root.json", 1, "2025-06-01T00:00:00Z");
    struct config_discovery *d;
    size_t n;
    const struct config_discovery *v2;

    (void)state;
    /* state began in 2020: the log ended after it: retired, followed */
    discover(c, r, NULL, T2026, T2020, &d, &n);
    v2 = find(d, n, "log2025-alpha1.rekor.sigstage.dev");
    assert_non_null(v2);
    assert_null(v2->skip);
    assert_true(v2->retired);
    assert_true(v2->log.start_latest);
    assert_null(find(d, n, "rekor.sigstage.dev")->skip);
    assert_false(find(d, n, "rekor.sigstage.dev")->retired);
    config_discovery_free(d, n);
    /* state began in 2026: it ended before: not followed */
    discover(c, r, NULL, T2026, T2026, &d, &n);
    v2 = find(d, n, "log2025-alpha1.rekor.sigstage.dev");
    assert_non_null(v2);
    assert_non_null(v2->skip);
    /* staging's ctlogs: the RSA one and 2022 ended in 2022, 2022-2 open */
    assert_non_null(find(d, n, "ctfe.sigstage.dev-test")->skip);
    assert_non_null(find(d, n, "ctfe.sigstage.dev-2022")->skip);
    assert_null(find(d, n, "ctfe.sigstage.dev-2022-2")->skip);
    assert_int_equal(config_discovery_apply(c, d, n), 0);
    assert_int_equal(c->n_logs, 2);
    assert_null(config_log_find(c, "log2025-alpha1.rekor.sigstage.dev"));
    assert_non_null(config_log_find(c, "ctfe.sigstage.dev-2022-2"));
    config_discovery_free(d, n);
    config_free(c);
    config_trusted_root_free(r);
}

/* An explicit logs: entry with the same URL wins with its own settings;
 * order of logs: does not matter. */
static void
test_override(void **state)
{
    struct config *c = cfg_of("logs_from_trusted_root: true\n"
                              "logs:\n"
                              "  - name: mine\n"
                              "    kind: rekor-v2\n"
                              "    url: https://log2025-1.rekor.sigstore.dev/\n"
                              "    poll_interval: 5m\n"
                              "    start: 42\n"
                              "    max_concurrency: 2\n");
    struct config_trusted_root *r =
        root_edit("fulcio/trusted_root.json", -1, NULL);
    struct config_discovery *d;
    size_t n;
    const struct config_log *l;

    (void)state;
    discover(c, r, NULL, T2026, T2026, &d, &n);
    assert_true(find(d, n, "log2025-1.rekor.sigstore.dev")->overridden);
    assert_false(find(d, n, "rekor.sigstore.dev")->overridden);
    assert_int_equal(config_discovery_apply(c, d, n), 0);
    assert_int_equal(c->n_logs, 3); /* mine, rekor.sigstore.dev, CT */
    assert_null(config_log_find(c, "log2025-1.rekor.sigstore.dev"));
    l = config_log_find(c, "mine");
    assert_non_null(l);
    assert_false(l->discovered);
    assert_int_equal(l->poll_interval_ms, 5 * 60 * 1000);
    assert_int_equal(l->start_index, 42);
    assert_int_equal(l->max_concurrency, 2);
    config_discovery_free(d, n);
    config_free(c);
    config_trusted_root_free(r);
}

/* The shipped config with logs_from_trusted_root and its trusted root: its
 * two logs: entries (v2 written with /api/v2) override both tlogs; nothing
 * is followed twice; Fulcio's CT log is added. */
static void
test_shipped(void **state)
{
    const char *src = getenv("TLOGWATCH_SRC");
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_errors *errs = NULL;
    struct config *c;
    struct config_trusted_root *r;
    struct config_discovery *d;
    size_t n, i, followed = 0;

    (void)state;
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/deploy/tlogwatch.yaml", src);
    c = config_load(path, &errs);
    assert_null(errs);
    assert_non_null(c);
    assert_true(c->logs_from_trusted_root);
    r = config_trusted_root_load(c->trusted_root, err, sizeof(err));
    assert_non_null(r);
    discover(c, r, NULL, T2026, T2026, &d, &n);
    assert_true(find(d, n, "log2025-1.rekor.sigstore.dev")->overridden);
    assert_true(find(d, n, "rekor.sigstore.dev")->overridden);
    for (i = 0; i < n; i++) {
        followed += d[i].skip == NULL && !d[i].overridden;
    }
    /* Fulcio's CT log is the one log the shipped config adds */
    assert_int_equal(followed, 1);
    assert_null(find(d, n, "ctfe.sigstore.dev-2022")->skip);
    assert_int_equal(config_discovery_apply(c, d, n), 0);
    assert_int_equal(c->n_logs, 3);
    config_discovery_free(d, n);
    config_free(c);
    config_trusted_root_free(r);
}

/* monitor_config.json gives the read URL and the API version. */
static void
test_monitor_config(void **state)
{
    struct config *c = cfg_of("logs_from_trusted_root: true\n");
    struct config_trusted_root *r =
        root_edit("fulcio/trusted_root.json", -1, NULL);
    struct config_discovery *d;
    size_t n;
    char path[] = "/tmp/tlw-mcXXXXXX";
    char err[512];
    int fd = mkstemp(path);
    FILE *f;
    const struct config_discovery *v2, *v1;

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"logs\": [{\"read_url\": \"https://read.example.org/log2025-1\","
          " \"log_origin\": \"log2025-1.rekor.sigstore.dev\","
          " \"major_api_version\": 2},"
          " {\"readUrl\": \"https://rekor-read.example.org\","
          " \"logOrigin\": \"rekor.sigstore.dev - 1193050959916656506\","
          " \"majorApiVersion\": 1}]}",
          f);
    fclose(f);
    discover(c, r, path, T2026, T2026, &d, &n);
    v2 = find(d, n, "log2025-1.rekor.sigstore.dev");
    v1 = find(d, n, "rekor.sigstore.dev");
    assert_string_equal(v2->log.url, "https://read.example.org/log2025-1");
    assert_int_equal(v2->log.kind, CONFIG_LOG_REKOR_V2);
    assert_string_equal(v1->log.url, "https://rekor-read.example.org");
    assert_int_equal(v1->log.kind, CONFIG_LOG_REKOR_V1);
    config_discovery_free(d, n);
    /* a missing file is no monitor config; a bad one is an error */
    unlink(path);
    discover(c, r, path, T2026, T2026, &d, &n);
    assert_string_equal(find(d, n, "rekor.sigstore.dev")->log.url,
                        "https://rekor.sigstore.dev");
    config_discovery_free(d, n);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"logs\": 3}", f);
    fclose(f);
    assert_int_equal(
        config_discover(c, r, path, T2026, T2026, &d, &n, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "logs"));
    unlink(path);
    config_free(c);
    config_trusted_root_free(r);
}

/* logs: stays required without logs_from_trusted_root; the new keys are
 * typed. */
static void
test_config_keys(void **state)
{
    struct config_errors *errs = NULL;
    const char *bad[] = {"watch: []\n", "logs_from_trusted_root: yes-please\n",
                         "logs_from_trusted_root: true\ndiscovered_start: -1\n",
                         NULL};
    size_t i;
    char mp[256];

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        assert_null(config_load_mem(bad[i], strlen(bad[i]), "b.yaml", &errs));
        assert_non_null(errs);
        config_errors_free(errs);
        errs = NULL;
    }
    assert_string_equal(config_discovery_monitor_path(
                            "/etc/tlogwatch/trusted_root.json", mp, sizeof(mp)),
                        "/etc/tlogwatch/monitor_config.json");
}

/* The root at rel as JSON, edited by the caller, then loaded. */
static json_t *
root_json(const char *rel)
{
    char *path = testdata(rel);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);

    assert_non_null(j);
    free(path);
    return j;
}

static struct config_trusted_root *
root_load(json_t *j)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    char *s = json_dumps(j, 0);
    struct config_trusted_root *r;

    assert_non_null(s);
    r = config_trusted_root_load_mem(s, strlen(s), "edited.json", err,
                                     sizeof(err));
    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(s);
    return r;
}

/* entry i of list with validFor [start, end) (end NULL: open), new. */
static json_t *
period(json_t *list, size_t i, const char *start, const char *end)
{
    json_t *c = json_deep_copy(json_array_get(list, i));
    json_t *vf = json_object_get(json_object_get(c, "publicKey"), "validFor");

    assert_non_null(vf);
    json_object_set_new(vf, "start", json_string(start));
    if (end != NULL) {
        json_object_set_new(vf, "end", json_string(end));
    } else {
        json_object_del(vf, "end");
    }
    return c;
}

/*
 * One key listed twice, for two validFor periods (production's root,
 * edited: Rekor v1, the v2 log and the 2022 CT log each get an ended
 * period and an open one): one log each, not two, and not retired
 * while one period is open; retired when both ended after the state
 * began.
 */
static void
test_duplicate_periods(void **state)
{
    const char *names[] = {"rekor.sigstore.dev", "log2025-1.rekor.sigstore.dev",
                           "ctfe.sigstore.dev-2022"};
    struct config *c =
        cfg_of("logs_from_trusted_root: true\ndiscovered_start: 0\n");
    int closed;

    (void)state;
    for (closed = 0; closed < 2; closed++) {
        json_t *j = root_json("fulcio/trusted_root.json");
        json_t *tl = json_object_get(j, "tlogs"),
               *ct = json_object_get(j, "ctlogs");
        json_t *n_tl = json_array(), *n_ct = json_array();
        const char *end2 = closed ? "2026-01-01T00:00:00Z" : NULL;
        struct config_trusted_root *r;
        struct config_discovery *d;
        size_t n, i, k, followed = 0;

        /* tlogs: v1, v2; ctlogs: test (ended), 2022 */
        for (i = 0; i < 2; i++) {
            json_array_append_new(n_tl, period(tl, i, "2021-01-01T00:00:00Z",
                                               "2024-01-01T00:00:00Z"));
            json_array_append_new(n_tl,
                                  period(tl, i, "2024-01-01T00:00:00Z", end2));
        }
        json_array_append(n_ct, json_array_get(ct, 0));
        json_array_append_new(n_ct, period(ct, 1, "2021-01-01T00:00:00Z",
                                           "2024-01-01T00:00:00Z"));
        json_array_append_new(n_ct,
                              period(ct, 1, "2024-01-01T00:00:00Z", end2));
        json_object_set_new(j, "tlogs", n_tl);
        json_object_set_new(j, "ctlogs", n_ct);
        r = root_load(j);
        assert_true(config_trusted_root_tlog(r, 1)->dup);
        assert_true(config_trusted_root_tlog(r, 3)->dup);
        assert_true(config_trusted_root_ctlog(r, 2)->dup);
        /* the state began in 2025: the first periods ended before it */
        discover(c, r, NULL, T2026, T2026 - 86400 * 365, &d, &n);
        for (k = 0; k < 3; k++) {
            size_t same = 0;
            for (i = 0; i < n; i++) {
                same += strcmp(d[i].log.name, names[k]) == 0;
            }
            assert_int_equal(same, 1);
            assert_null(find(d, n, names[k])->skip);
            assert_int_equal(find(d, n, names[k])->retired, closed);
        }
        for (i = 0; i < n; i++) {
            followed += d[i].skip == NULL;
        }
        assert_int_equal(followed, 3);
        config_discovery_free(d, n);
        config_trusted_root_free(r);
        json_decref(j);
    }
    config_free(c);
}

/* A root with CT logs only ("tlogs": [], as tlogwatch-testlog --ct writes
 * it): its CT log is followed. */
static void
test_ct_only(void **state)
{
    struct config *c =
        cfg_of("logs_from_trusted_root: true\ndiscovered_start: 0\n");
    json_t *j = root_json("fulcio/trusted_root.json");
    struct config_trusted_root *r;
    struct config_discovery *d;
    size_t n;

    (void)state;
    json_object_set_new(j, "tlogs", json_array());
    r = root_load(j);
    discover(c, r, NULL, T2026, T2026, &d, &n);
    assert_int_equal(n, 2); /* the ended test log (skipped) and 2022 */
    assert_null(find(d, n, "ctfe.sigstore.dev-2022")->skip);
    assert_int_equal(find(d, n, "ctfe.sigstore.dev-2022")->log.kind,
                     CONFIG_LOG_CT);
    assert_int_equal(config_discovery_apply(c, d, n), 0);
    assert_int_equal(c->n_logs, 1);
    config_discovery_free(d, n);
    config_trusted_root_free(r);
    json_decref(j);
    config_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_types),
        cmocka_unit_test(test_valid_for),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_monitor_config),
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_duplicate_periods),
        cmocka_unit_test(test_ct_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
