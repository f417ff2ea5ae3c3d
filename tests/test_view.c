/*
 * test_view.c: the one read model (monitor/view) against a real sqlite
 * store populated here through the store's own API: signings recorded
 * ahead of the cursor, alerts about their entries, PCR outcomes, errors
 * of a log never reached, deliveries that failed.
 *
 * What must hold: the document has the schema and every documented
 * key; a signing the policy allowed is shown as not allowed once a
 * warning-or-worse alert is about its entry (signing.unknown_pcrs), or
 * while its PCR lookup is pending or ended unavailable (the twin: an
 * allowed signing with a found PCR set and only an info alert stays
 * allowed); errors of a log with no shard row are in its recent_errors;
 * sinks are shown as scheme://host/... and a delivery's error without
 * the receiver's reply; lists are bounded.
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
#include <jansson.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/store/store.h"
#include "monitor/view/view.h"
#include "notify/alert.h"

#define T0 1700000000

static const char cfg_text[] =
    "state: /nonexistent/state.db\n"
    "logs:\n"
    "  - name: rekor\n"
    "    url: https://rekor.example\n"
    "  - name: never\n"
    "    url: https://never.example\n"
    "watch:\n"
    "  - name: app\n"
    "    repository: acme/enclave-app\n"
    "notify:\n"
    "  - name: hook\n"
    "    type: webhook\n"
    "    url: https://hooks.example/services/T0/B0/SECRETPATHTOKEN?k=QTOKEN\n"
    "  - {name: console, type: stdout}\n";

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
    struct config *cfg;
    int64_t log_id;
};

static struct store_signing
signing(uint64_t index, const char *verdict, const char *state)
{
    struct store_signing g;

    memset(&g, 0, sizeof(g));
    g.log_index = index;
    g.shard_index = index;
    g.uuid = "00aa";
    g.kind = "hashedrekord";
    g.integrated_time = T0;
    g.cert_sha256 = "11bb";
    g.repository = "acme/enclave-app";
    g.workflow_path = ".github/workflows/build-eif.yml";
    g.ref = "refs/heads/main";
    g.workflow_sha = "0123456789abcdef0123456789abcdef01234567";
    g.runner_environment = "github-hosted";
    g.trigger = "push";
    g.run_invocation_uri = "https://github.com/acme/enclave-app/actions/runs/1";
    g.rule = "app";
    g.verdict = verdict;
    g.pcrs_state = state;
    if (state != NULL && strcmp(state, "found") == 0) {
        g.pcr0 = "00";
        g.pcr1 = "11";
        g.pcr2 = "22";
    }
    return g;
}

/* Record alert type about entry index (severity from the type). */
static void
alert_about(struct fx *f, const char *type, const char *key, uint64_t index,
            int64_t at, const char **sinks, size_t nsinks)
{
    json_t *a = notify_alert_new(type, key, "about an entry", at);
    struct store_alert sa;
    char *body;

    assert_non_null(a);
    body = notify_alert_render(a);
    assert_non_null(body);
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = type;
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = at;
    sa.has_index = 1;
    sa.log_index = index;
    sa.rule = "app";
    sa.body = body;
    sa.sinks = sinks;
    sa.nsinks = nsinks;
    if (store_alert_record(f->s, f->log_id, &sa, NULL) != 0) {
        fail_msg("alert: %s", store_errmsg(f->s));
    }
    free(body);
    json_decref(a);
}

/*
 * Entries 10..13 of log rekor, rule app, newest last:
 *  10 allowed, PCRs found, an info signing.recorded: allowed;
 *  11 allowed, PCRs found, then a critical signing.unknown_pcrs;
 *  12 allowed, PCR lookup pending;
 *  13 unexpected (the policy's own verdict).
 * Log "never" has errors only (no shard row).
 */
static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct config_errors *errs = NULL;
    struct store_signing g[4];
    struct merkle_range empty;
    const char *hook[] = {"hook"};
    char err[STORE_ERRMSG_MAX], id[NOTIFY_ALERT_ID_LEN + 1];

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tlw-view-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    f->s = store_open(f->path, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    if (f->s == NULL) {
        fail_msg("store_open: %s", err);
    }
    f->cfg = config_load_mem(cfg_text, strlen(cfg_text), "t.yaml", &errs);
    if (f->cfg == NULL) {
        fail_msg("config: %s", errs != NULL && errs->n > 0 ? errs->v[0].message
                                                           : "out of memory");
    }
    assert_int_equal(
        store_log_open(f->s, "rekor", "rekor.example - 1", T0, &f->log_id), 0);
    merkle_range_init(&empty);
    if (store_cursor_seed(f->s, f->log_id, 0, &empty, T0) != 0) {
        fail_msg("seed: %s", store_errmsg(f->s));
    }
    g[0] = signing(10, "allowed", "found");
    g[1] = signing(11, "allowed", "found");
    g[2] = signing(12, "allowed", "pending");
    g[3] = signing(13, "unexpected", NULL);
    if (store_record_ahead(f->s, f->log_id, NULL, 0, g, 4, T0, NULL) != 0) {
        fail_msg("record: %s", store_errmsg(f->s));
    }
    alert_about(f, "signing.recorded", "r10", 10, T0 + 1, NULL, 0);
    alert_about(f, "signing.unknown_pcrs", "u11", 11, T0 + 2, hook, 1);
    notify_alert_id("signing.unknown_pcrs", "u11", id);
    assert_int_equal(store_delivery_failed(f->s, id, "hook", T0 + 3, T0 + 60,
                                           "HTTP 500: echoed QTOKEN reply"),
                     0);
    assert_int_equal(store_log_success(f->s, f->log_id, T0 + 5), 0);
    assert_int_equal(store_log_error(f->s, f->log_id, T0 + 6, "shard boom"), 0);
    assert_int_equal(
        store_name_error(f->s, "never", T0 + 7, "Could not resolve host"), 0);
    assert_int_equal(
        store_name_error(f->s, "never", T0 + 8, "Could not connect"), 0);
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    store_close(f->s);
    config_free(f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

static json_t *
doc_of(struct fx *f)
{
    char err[256];
    json_t *doc = view_status_json(f->s, f->cfg, T0 + 100, err, sizeof(err));

    if (doc == NULL) {
        fail_msg("view_status_json: %s", err);
    }
    return doc;
}

static json_t *
log_named(json_t *doc, const char *name)
{
    size_t i;
    json_t *l;

    json_array_foreach(json_object_get(doc, "logs"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "name")), name) == 0) {
            return l;
        }
    }
    fail_msg("no log %s", name);
    return NULL;
}

static json_t *
signing_at(json_t *doc, uint64_t index)
{
    json_t *rule = json_array_get(json_object_get(doc, "rules"), 0), *g;
    size_t i;

    json_array_foreach(json_object_get(rule, "signings"), i, g)
    {
        if ((uint64_t)json_integer_value(json_object_get(g, "log_index")) ==
            index) {
            return g;
        }
    }
    fail_msg("no signing at %llu", (unsigned long long)index);
    return NULL;
}

static const char *
sget(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v)) {
        fail_msg("%s is not a string", key);
    }
    return json_string_value(v);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_schema_keys(void **state)
{
    struct fx *f = *state;
    json_t *doc = doc_of(f), *l, *sh;
    static const char *const top[] = {
        "schema", "generated_at", "logs",    "rules",
        "alerts", "outbox",       "history", "pcr_lookups_pending"};
    static const char *const logk[] = {
        "name",   "kind",          "url",
        "shards", "verified_size", "cursor",
        "lag",    "last_success",  "last_success_age_s",
        "stale",  "last_error",    "recent_errors"};
    static const char *const shk[] = {"origin",          "frozen",
                                      "verified_size",   "verified_root",
                                      "verified_at",     "cursor",
                                      "shard_cursor",    "lag",
                                      "entries_scanned", "checkpoints_verified",
                                      "proofs_verified", "root_checks_passed"};
    size_t i;

    assert_string_equal(sget(doc, "schema"), "tlogwatch.status/v1");
    assert_string_equal(sget(doc, "generated_at"), "2023-11-14T22:15:00Z");
    for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        if (json_object_get(doc, top[i]) == NULL) {
            fail_msg("no %s", top[i]);
        }
    }
    l = log_named(doc, "rekor");
    for (i = 0; i < sizeof(logk) / sizeof(logk[0]); i++) {
        if (json_object_get(l, logk[i]) == NULL) {
            fail_msg("log has no %s", logk[i]);
        }
    }
    assert_int_equal(json_array_size(json_object_get(l, "shards")), 1);
    sh = json_array_get(json_object_get(l, "shards"), 0);
    for (i = 0; i < sizeof(shk) / sizeof(shk[0]); i++) {
        if (json_object_get(sh, shk[i]) == NULL) {
            fail_msg("shard has no %s", shk[i]);
        }
    }
    assert_string_equal(sget(sh, "origin"), "rekor.example - 1");
    assert_int_equal(json_integer_value(json_object_get(l, "cursor")), 0);
    assert_true(json_is_null(json_object_get(l, "verified_size")));
    assert_int_equal(
        json_integer_value(json_object_get(l, "last_success_age_s")), 95);
    assert_false(json_is_true(json_object_get(l, "stale")));
    json_decref(doc);
}

/* The policy allowed all of 10, 11, 12; only 10 is still allowed. */
static void
test_verdicts(void **state)
{
    struct fx *f = *state;
    json_t *doc = doc_of(f), *g;

    g = signing_at(doc, 10);
    assert_string_equal(sget(g, "verdict"), "allowed");
    assert_true(json_is_true(json_object_get(g, "allowed")));
    assert_int_equal(json_array_size(json_object_get(g, "alerts")), 1);

    g = signing_at(doc, 11);
    assert_string_equal(sget(g, "verdict"), "unknown_pcrs");
    assert_string_equal(sget(g, "policy_verdict"), "allowed");
    assert_true(json_is_false(json_object_get(g, "allowed")));
    assert_string_equal(
        sget(json_array_get(json_object_get(g, "alerts"), 0), "type"),
        "signing.unknown_pcrs");
    assert_string_equal(
        sget(json_array_get(json_object_get(g, "alerts"), 0), "severity"),
        "critical");
    assert_string_equal(sget(json_object_get(g, "pcrs"), "PCR0"), "00");

    g = signing_at(doc, 12);
    assert_string_equal(sget(g, "verdict"), "pcrs_pending");
    assert_true(json_is_false(json_object_get(g, "allowed")));

    g = signing_at(doc, 13);
    assert_string_equal(sget(g, "verdict"), "unexpected");
    assert_true(json_is_false(json_object_get(g, "allowed")));

    assert_string_equal(sget(g, "commit_url"),
                        "https://github.com/acme/enclave-app/commit/"
                        "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(sget(g, "run_url"),
                        "https://github.com/acme/enclave-app/actions/runs/1");
    assert_string_equal(sget(g, "log"), "rekor");
    json_decref(doc);
}

/* view_signing_verdict on its own, with its twins. */
static void
test_verdict_function(void **state)
{
    struct store_signing g = signing(1, "allowed", "found");
    const char *warn[] = {"signing.pcrs_unavailable"};
    const char *info[] = {"signing.recorded"};
    const char *two[] = {"signing.unknown_pcrs", "signing.pcrs_unavailable"};

    (void)state;
    assert_string_equal(view_signing_verdict(&g, NULL, 0), "allowed");
    assert_string_equal(view_signing_verdict(&g, info, 1), "allowed");
    assert_string_equal(view_signing_verdict(&g, warn, 1), "pcrs_unavailable");
    assert_string_equal(view_signing_verdict(&g, two, 2), "unknown_pcrs");
    g.pcrs_state = "unavailable";
    assert_string_equal(view_signing_verdict(&g, NULL, 0), "pcrs_unavailable");
    g.pcrs_state = "pending";
    assert_string_equal(view_signing_verdict(&g, NULL, 0), "pcrs_pending");
    g.pcrs_state = "none";
    assert_string_equal(view_signing_verdict(&g, NULL, 0), "allowed");
    g.verdict = "self_hosted_runner";
    assert_string_equal(view_signing_verdict(&g, two, 2), "self_hosted_runner");
    assert_true(view_verdict_allowed("allowed"));
    assert_false(view_verdict_allowed("unknown_pcrs"));
    assert_false(view_verdict_allowed(NULL));
}

/* view_signing_alerts: warning and worse, most severe first. */
static void
test_signing_alerts(void **state)
{
    struct fx *f = *state;
    struct store_signing g = signing(11, "allowed", "found");
    char *types[VIEW_ALERT_TYPES];
    size_t n, i;

    g.log_id = f->log_id;
    alert_about(f, "signing.pcrs_unavailable", "p11", 11, T0 + 1, NULL, 0);
    assert_int_equal(view_signing_alerts(f->s, &g, types, VIEW_ALERT_TYPES, &n),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(types[0], "signing.unknown_pcrs");
    assert_string_equal(types[1], "signing.pcrs_unavailable");
    for (i = 0; i < n; i++) {
        free(types[i]);
    }
    g.log_index = 10; /* only an info alert */
    assert_int_equal(view_signing_alerts(f->s, &g, types, VIEW_ALERT_TYPES, &n),
                     0);
    assert_int_equal(n, 0);
}

/* A log never reached: its errors, newest first; the reached one: its
 * shard's error. */
static void
test_errors(void **state)
{
    struct fx *f = *state;
    json_t *doc = doc_of(f), *l, *e;

    l = log_named(doc, "never");
    assert_int_equal(json_array_size(json_object_get(l, "shards")), 0);
    e = json_object_get(l, "recent_errors");
    assert_int_equal(json_array_size(e), 2);
    assert_string_equal(sget(json_array_get(e, 0), "message"),
                        "Could not connect");
    assert_string_equal(sget(json_array_get(e, 1), "message"),
                        "Could not resolve host");
    assert_string_equal(sget(json_object_get(l, "last_error"), "message"),
                        "Could not connect");
    assert_true(json_is_true(json_object_get(l, "stale")));

    l = log_named(doc, "rekor");
    e = json_object_get(l, "recent_errors");
    assert_int_equal(json_array_size(e), 1);
    assert_string_equal(sget(json_array_get(e, 0), "message"), "shard boom");
    json_decref(doc);
}

/* At most 10 recent errors, the newest. */
static void
test_errors_bounded(void **state)
{
    struct fx *f = *state;
    json_t *doc, *e;
    char msg[32];
    int i;

    for (i = 0; i < 30; i++) {
        snprintf(msg, sizeof(msg), "err %d", i);
        assert_int_equal(store_name_error(f->s, "never", T0 + 10 + i, msg), 0);
    }
    doc = doc_of(f);
    e = json_object_get(log_named(doc, "never"), "recent_errors");
    assert_int_equal(json_array_size(e), 10);
    assert_string_equal(sget(json_array_get(e, 0), "message"), "err 29");
    assert_string_equal(sget(json_array_get(e, 9), "message"), "err 20");
    json_decref(doc);
}

/* The outbox shows no URL path, query or reply. */
static void
test_outbox_redacted(void **state)
{
    struct fx *f = *state;
    json_t *doc = doc_of(f), *ob = json_object_get(doc, "outbox"), *k;
    char *text;

    assert_int_equal(json_integer_value(json_object_get(ob, "pending")), 1);
    k = json_array_get(json_object_get(ob, "sinks"), 0);
    assert_string_equal(sget(k, "name"), "hook");
    assert_string_equal(sget(k, "where"), "https://hooks.example/...");
    assert_int_equal(json_integer_value(json_object_get(k, "pending")), 1);
    assert_string_equal(sget(k, "last_error"), "HTTP 500");
    k = json_array_get(json_object_get(ob, "sinks"), 1);
    assert_string_equal(sget(k, "name"), "console");
    assert_true(json_is_null(json_object_get(k, "where")));
    text = json_dumps(doc, 0);
    assert_non_null(text);
    assert_null(strstr(text, "SECRETPATHTOKEN"));
    assert_null(strstr(text, "QTOKEN"));
    assert_null(strstr(text, "services"));
    free(text);
    json_decref(doc);
}

/* A log name only the store has (removed from the configuration) is
 * listed after the configured ones, without kind or url; its twin, a
 * configured log, has both. */
static void
test_unconfigured_log(void **state)
{
    struct fx *f = *state;
    json_t *doc, *logs, *l;
    int64_t id;

    assert_int_equal(store_log_open(f->s, "gone", "gone - 1", T0, &id), 0);
    doc = doc_of(f);
    logs = json_object_get(doc, "logs");
    assert_int_equal(json_array_size(logs), 3);
    l = json_array_get(logs, 2);
    assert_string_equal(sget(l, "name"), "gone");
    assert_true(json_is_null(json_object_get(l, "kind")));
    assert_true(json_is_null(json_object_get(l, "url")));
    assert_false(json_is_true(json_object_get(l, "stale")));
    l = json_array_get(logs, 0);
    assert_string_equal(sget(l, "name"), "rekor");
    assert_string_equal(sget(l, "kind"), "rekor-v1");
    assert_string_equal(sget(l, "url"), "https://rekor.example");
    json_decref(doc);
}

/* alerts.by_type of the fixture: signing.recorded info and
 * signing.unknown_pcrs critical, n each. */
static void
by_type_is(const json_t *alerts, json_int_t n)
{
    json_t *bt = json_object_get(alerts, "by_type"), *r;

    assert_int_equal(json_array_size(bt), 2);
    r = json_array_get(bt, 0);
    assert_string_equal(sget(r, "type"), "signing.recorded");
    assert_string_equal(sget(r, "severity"), "info");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), n);
    r = json_array_get(bt, 1);
    assert_string_equal(sget(r, "type"), "signing.unknown_pcrs");
    assert_string_equal(sget(r, "severity"), "critical");
    assert_int_equal(json_integer_value(json_object_get(r, "count")), n);
}

/* Alerts: counted in the window, newest listed with summaries. */
static void
test_alerts_and_history(void **state)
{
    struct fx *f = *state;
    json_t *doc = doc_of(f), *a = json_object_get(doc, "alerts"), *h;

    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(a, "by_severity"), "critical")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(a, "by_severity"), "info")),
                     1);
    assert_string_equal(
        sget(json_array_get(json_object_get(a, "latest"), 0), "type"),
        "signing.unknown_pcrs");
    assert_string_equal(
        sget(json_array_get(json_object_get(a, "latest"), 0), "summary"),
        "about an entry");
    /* all alerts by (type, severity), ordered by type; the pending
     * lookup of entry 12 */
    by_type_is(a, 1);
    assert_int_equal(
        json_integer_value(json_object_get(doc, "pcr_lookups_pending")), 1);
    h = json_object_get(doc, "history");
    assert_int_equal(json_array_size(h), 1);
    assert_string_equal(sget(json_array_get(h, 0), "log"), "rekor");
    json_decref(doc);

    /* A day later the window is empty (the twin). */
    {
        char err[256];
        json_t *late =
            view_status_json(f->s, f->cfg, T0 + 2 * 86400, err, sizeof(err));
        assert_non_null(late);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(late, "alerts"), "by_severity"),
                "critical")),
            0);
        assert_true(
            json_is_true(json_object_get(log_named(late, "rekor"), "stale")));
        /* by_type counts all time: the same two */
        by_type_is(json_object_get(late, "alerts"), 1);
        json_decref(late);
    }
}

/* A history sample per STORE_HISTORY_EVERY at most, STORE_HISTORY_MAX
 * kept. */
static void
test_history_sampling(void **state)
{
    struct fx *f = *state;
    int i;
    size_t n = 0;

    for (i = 1; i <= 9; i++) {
        assert_int_equal(store_log_success(f->s, f->log_id, T0 + 5 + i * 30),
                         0);
    }
    /* T0+5 sampled; T0+35..T0+275 are less than 300 s after it. */
    {
        json_t *doc = doc_of(f);
        n = json_array_size(json_object_get(doc, "history"));
        json_decref(doc);
    }
    assert_int_equal(n, 1);
    assert_int_equal(store_log_success(f->s, f->log_id, T0 + 305), 0);
    {
        char err[256];
        json_t *doc =
            view_status_json(f->s, f->cfg, T0 + 400, err, sizeof(err));
        assert_non_null(doc);
        assert_int_equal(json_array_size(json_object_get(doc, "history")), 2);
        json_decref(doc);
    }
}

/* ---- CT certificates ------------------------------------------------ */

/* Record alert type about CT entry index of log_id (rule app). */
static void
alert_on(struct fx *f, int64_t log_id, const char *type, const char *key,
         uint64_t index, int64_t at)
{
    json_t *a = notify_alert_new(type, key, "about a CT entry", at);
    struct store_alert sa;
    char *body;

    assert_non_null(a);
    body = notify_alert_render(a);
    assert_non_null(body);
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = type;
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = at;
    sa.has_index = 1;
    sa.log_index = index;
    sa.rule = "app";
    sa.body = body;
    if (store_alert_record(f->s, log_id, &sa, NULL) != 0) {
        fail_msg("alert: %s", store_errmsg(f->s));
    }
    free(body);
    json_decref(a);
}

/* A CT certificate row of rule app; its prepared alert carries the
 * claims (as policy_eval_ct writes them). */
static struct store_ct_cert
ct_row(const char *link, uint64_t index, const char *verdict,
       const char *runner, int64_t deadline)
{
    static char alerts[8][1024];
    static size_t next;
    struct store_ct_cert c;
    char *alert = alerts[next++ % 8];

    snprintf(alert, 1024,
             "{\"schema\":\"tlogwatch.alert/v1\",\"id\":\"unlogged-%s\","
             "\"type\":\"signing.unlogged_certificate\","
             "\"identity\":{\"repository\":\"acme/enclave-app\","
             "\"workflow_path\":\".github/workflows/build-eif.yml\","
             "\"workflow_ref\":\"refs/heads/main\","
             "\"workflow_sha\":\"%s\",\"runner_environment\":\"%s\","
             "\"trigger\":\"push\",\"run_invocation_uri\":"
             "\"https://github.com/acme/enclave-app/actions/runs/7\"}}",
             link, "89abcdef0123456789abcdef0123456789abcdef", runner);
    memset(&c, 0, sizeof(c));
    c.link_id = link;
    c.rule = "app";
    c.log_index = index;
    c.leaf_hash = "1eaf";
    c.entry_type = "precert";
    c.cert_sha256 = "ce27";
    c.not_before = deadline - 50;
    c.deadline = deadline;
    c.verdict = verdict;
    c.alert = alert;
    return c;
}

static json_t *
ct_at(json_t *doc, uint64_t index)
{
    json_t *rule = json_array_get(json_object_get(doc, "rules"), 0), *g;
    size_t i;

    json_array_foreach(json_object_get(rule, "ct_certificates"), i, g)
    {
        if ((uint64_t)json_integer_value(json_object_get(g, "ct_log_index")) ==
            index) {
            return g;
        }
    }
    return NULL;
}

static uint64_t
ct_count(json_t *doc, const char *state)
{
    json_t *rule = json_array_get(json_object_get(doc, "rules"), 0);

    return (uint64_t)json_integer_value(
        json_object_get(json_object_get(rule, "ct_counts"), state));
}

/*
 * Certificates of rule app seen in CT log "ct" (entries 0..4):
 *  0 "p1": allowed by the policy, pending (deadline ahead): rekor_pending;
 *  1 "u1": allowed, deadline passed, fired: unlogged, its
 *    signing.unlogged_certificate listed, judged at the alert's time;
 *  2 "l1": logged (its signing came after it) by Rekor entry 16, whose
 *    PCRs are not allowed (signing.unknown_pcrs): the certificate says
 *    unknown_pcrs too, and names the signing;
 *  3 "l2": logged by entry 17 (allowed, PCRs found) before it was seen:
 *    allowed, the twin of 2;
 *  4 "s1": a self-hosted runner, pending, its CT alert raised:
 *    self_hosted_runner.
 * The status document lists each with its state and links, counts them
 * per state, and view_ct_unlogged lists 1 in its period only.  Also:
 * the view's verdicts agree with the alerts of the same document.
 */
static void
test_ct_certificates(void **state)
{
    struct fx *f = *state;
    uint8_t leaf[MERKLE_HASH_LEN];
    struct store_ct_cert cts[5];
    struct store_signing g[2];
    struct store_progress p;
    struct store_checkpoint cp;
    struct store_alert sa;
    struct merkle_range r;
    json_t *doc, *c, *a, *list;
    char err[256];
    int64_t ct_id;
    int fired = 0;
    size_t i;

    assert_int_equal(store_log_open(f->s, "ct", "ct.example/2026", T0, &ct_id),
                     0);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(f->s, ct_id, 0, &r, T0), 0);
    /* entry 17's signing exists before its certificate is seen */
    g[0] = signing(16, "allowed", "found");
    g[0].link_id = "l1";
    g[0].cert_sha256 = "c16";
    g[1] = signing(17, "allowed", "found");
    g[1].link_id = "l2";
    g[1].cert_sha256 = "c17";
    if (store_record_ahead(f->s, f->log_id, NULL, 0, &g[1], 1, T0 + 3, NULL) !=
        0) {
        fail_msg("record: %s", store_errmsg(f->s));
    }
    cts[0] = ct_row("p1", 0, "allowed", "github-hosted", T0 + 100000);
    cts[1] = ct_row("u1", 1, "allowed", "github-hosted", T0 + 50);
    cts[2] = ct_row("l1", 2, "allowed", "github-hosted", T0 + 100000);
    cts[3] = ct_row("l2", 3, "allowed", "github-hosted", T0 + 100000);
    cts[4] = ct_row("s1", 4, "self_hosted_runner", "self-hosted", T0 + 100000);
    for (i = 0; i < 5; i++) {
        memset(leaf, (int)i + 1, sizeof(leaf));
        assert_int_equal(merkle_range_append(&r, leaf), MERKLE_OK);
    }
    memset(&cp, 0, sizeof(cp));
    cp.note = "ct.example/2026\n5\n";
    cp.note_len = strlen(cp.note);
    cp.size = 5;
    merkle_range_root(&r, cp.root);
    cp.link = STORE_LINK_NONE;
    if (store_checkpoint_record(f->s, ct_id, &cp, T0 + 4) != 0) {
        fail_msg("checkpoint: %s", store_errmsg(f->s));
    }
    memset(&p, 0, sizeof(p));
    p.from_index = 0;
    p.to_index = 5;
    p.range = &r;
    p.ct_certs = cts;
    p.nct_certs = 5;
    if (store_commit_progress(f->s, ct_id, &p, T0 + 4, NULL) != 0) {
        fail_msg("commit: %s", store_errmsg(f->s));
    }
    alert_on(f, ct_id, "signing.self_hosted_runner", "s1", 4, T0 + 4);

    /* before u1's deadline and l1's Rekor entry: four pending */
    doc = doc_of(f);
    assert_int_equal(ct_count(doc, "pending"), 4);
    assert_int_equal(ct_count(doc, "logged"), 1);
    assert_int_equal(ct_count(doc, "unlogged"), 0);
    c = ct_at(doc, 0);
    assert_non_null(c);
    assert_string_equal(sget(c, "state"), "pending");
    assert_string_equal(sget(c, "verdict"), "rekor_pending");
    assert_true(json_is_false(json_object_get(c, "allowed")));
    assert_true(json_is_null(json_object_get(c, "signing")));
    assert_true(json_is_null(json_object_get(c, "judged_at")));
    assert_string_equal(sget(c, "ct_log"), "ct");
    assert_string_equal(sget(c, "rule"), "app");
    assert_string_equal(sget(c, "first_seen"), "2023-11-14T22:13:24Z");
    assert_string_equal(sget(c, "deadline"), "2023-11-16T02:00:00Z");
    assert_string_equal(sget(c, "commit_url"),
                        "https://github.com/acme/enclave-app/commit/"
                        "89abcdef0123456789abcdef0123456789abcdef");
    assert_string_equal(sget(c, "workflow"), ".github/workflows/build-eif.yml");
    assert_string_equal(sget(c, "ref"), "refs/heads/main");
    assert_string_equal(sget(c, "run_url"),
                        "https://github.com/acme/enclave-app/actions/runs/7");
    c = ct_at(doc, 4);
    assert_string_equal(sget(c, "verdict"), "self_hosted_runner");
    assert_string_equal(sget(c, "runner"), "self-hosted");
    assert_string_equal(
        sget(json_array_get(json_object_get(c, "alerts"), 0), "type"),
        "signing.self_hosted_runner");
    c = ct_at(doc, 3); /* logged when seen */
    assert_string_equal(sget(c, "state"), "logged");
    assert_string_equal(sget(c, "verdict"), "allowed");
    assert_true(json_is_true(json_object_get(c, "allowed")));
    assert_string_equal(sget(json_object_get(c, "signing"), "log"), "rekor");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(c, "signing"), "log_index")),
                     17);
    assert_string_equal(sget(c, "judged_at"), "2023-11-14T22:13:24Z");
    json_decref(doc);

    /* u1's deadline passes with no signing: fired once, judged then */
    memset(&sa, 0, sizeof(sa));
    {
        json_t *al = notify_alert_new("signing.unlogged_certificate", "u1",
                                      "unlogged", T0 + 60);
        char *body = notify_alert_render(al);

        sa.id = notify_alert_get_id(al);
        sa.type = "signing.unlogged_certificate";
        sa.severity = notify_alert_get_severity(al);
        sa.detected_at = T0 + 60;
        sa.has_index = 1;
        sa.log_index = 1;
        sa.rule = "app";
        sa.body = body;
        assert_int_equal(
            store_ct_cert_fire(f->s, "u1", "app", ct_id, &sa, &fired), 0);
        assert_int_equal(fired, 1);
        free(body);
        json_decref(al);
    }
    /* l1's Rekor entry arrives, and its PCRs are not allowed */
    if (store_record_ahead(f->s, f->log_id, NULL, 0, &g[0], 1, T0 + 70, NULL) !=
        0) {
        fail_msg("record: %s", store_errmsg(f->s));
    }
    alert_about(f, "signing.unknown_pcrs", "u16", 16, T0 + 71, NULL, 0);

    doc = doc_of(f);
    assert_int_equal(ct_count(doc, "pending"), 2);
    assert_int_equal(ct_count(doc, "logged"), 2);
    assert_int_equal(ct_count(doc, "unlogged"), 1);
    c = ct_at(doc, 1);
    assert_string_equal(sget(c, "state"), "unlogged");
    assert_string_equal(sget(c, "verdict"), "unlogged_certificate");
    assert_true(json_is_false(json_object_get(c, "allowed")));
    assert_string_equal(sget(c, "judged_at"), "2023-11-14T22:14:20Z");
    a = json_array_get(json_object_get(c, "alerts"), 0);
    assert_string_equal(sget(a, "type"), "signing.unlogged_certificate");
    assert_string_equal(sget(a, "severity"), "warning");
    c = ct_at(doc, 2);
    assert_string_equal(sget(c, "state"), "logged");
    assert_string_equal(sget(c, "verdict"), "unknown_pcrs");
    assert_string_equal(sget(c, "policy_verdict"), "allowed");
    assert_true(json_is_false(json_object_get(c, "allowed")));
    assert_string_equal(sget(json_object_get(c, "signing"), "verdict"),
                        "unknown_pcrs");
    assert_string_equal(sget(json_object_get(c, "signing"), "verdict"),
                        sget(signing_at(doc, 16), "verdict"));
    assert_string_equal(sget(c, "judged_at"), "2023-11-14T22:14:30Z");
    /* the unlogged alert of the document's alerts is about this row */
    list = json_object_get(json_object_get(doc, "alerts"), "latest");
    for (i = 0; i < json_array_size(list); i++) {
        a = json_array_get(list, i);
        if (strcmp(sget(a, "type"), "signing.unlogged_certificate") == 0) {
            assert_string_equal(sget(a, "log"), "ct");
            assert_string_equal(sget(a, "rule"), "app");
            break;
        }
    }
    assert_true(i < json_array_size(list));
    json_decref(doc);

    /* the reports' listing: u1 in the period it was judged in only */
    list = view_ct_unlogged(f->s, f->cfg, T0, T0 + 61, 0, err, sizeof(err));
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(sget(json_array_get(list, 0), "link_id"), "u1");
    assert_string_equal(sget(json_array_get(list, 0), "rule"), "app");
    json_decref(list);
    list =
        view_ct_unlogged(f->s, f->cfg, T0 + 61, T0 + 1000, 0, err, sizeof(err));
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
}

/* view_ct_verdict on its own, with its twins. */
static void
test_ct_verdict_function(void **state)
{
    struct store_ct_cert c;
    const char *warn[] = {"signing.unlogged_certificate"};
    const char *info[] = {"signing.recorded"};

    (void)state;
    memset(&c, 0, sizeof(c));
    c.verdict = "allowed";
    c.state = "pending";
    assert_string_equal(view_ct_verdict(&c, NULL, 0, NULL), "rekor_pending");
    c.state = "unlogged";
    assert_string_equal(view_ct_verdict(&c, NULL, 0, NULL),
                        "unlogged_certificate");
    c.state = "logged";
    assert_string_equal(view_ct_verdict(&c, NULL, 0, NULL), "allowed");
    assert_string_equal(view_ct_verdict(&c, info, 1, NULL), "allowed");
    assert_string_equal(view_ct_verdict(&c, NULL, 0, "pcrs_pending"),
                        "pcrs_pending");
    assert_string_equal(view_ct_verdict(&c, warn, 1, "allowed"),
                        "unlogged_certificate");
    c.verdict = "unexpected";
    assert_string_equal(view_ct_verdict(&c, NULL, 0, "allowed"), "unexpected");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_keys, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_verdicts, fx_setup, fx_teardown),
        cmocka_unit_test(test_verdict_function),
        cmocka_unit_test_setup_teardown(test_signing_alerts, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors_bounded, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_redacted, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_alerts_and_history, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_unconfigured_log, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_history_sampling, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_ct_certificates, fx_setup,
                                        fx_teardown),
        cmocka_unit_test(test_ct_verdict_function),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
