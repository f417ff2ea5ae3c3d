/*
 * test_config.c: the config loader (config/config.h) against the shipped
 * configs (deploy/tlogwatch.yaml, deploy/examples/full.{yaml,json}) and
 * against configs written by the tests: every error class with its exact
 * line:col, all errors at once, ${NAME} and file: secrets (never in a
 * message), relative paths, JSON equivalence, the input limits, and
 * config_check's look at the system (trusted root, state directory).
 *
 * Expected positions are either written out (for a known bad line) or
 * computed from the test's own text (the n-th occurrence of a token), and
 * YAML syntax errors are compared with what libyaml itself reports.  Every
 * positive case has a negative twin.  Files go to a fresh temp directory.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <yaml.h>

#include "config/config.h"
#include "config/config_value.h"

/* PCR-sized hex: 96 and 95 characters. */
#define Z8 "00000000"
#define Z32 Z8 Z8 Z8 Z8
#define Z96 Z32 Z32 Z32
#define Z95 Z32 Z32 Z8 Z8 Z8 "0000000"

#define BASE_LOG "logs:\n  - name: rekor\n    url: https://rekor.sigstore.dev\n"
/* BASE_LOG and a CT log */
#define BASE_CT                                                                \
    BASE_LOG "  - name: ct\n    kind: ct\n    url: "                           \
             "https://ctfe.sigstore.dev/2022\n"

struct fx {
    char dir[PATH_MAX]; /* temp dir, removed at the end */
};

/* ---- helpers ---------------------------------------------------------- */

/* snprintf that fails the test when the output does not fit. */
static void fmt(char *buf, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int
group_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    const char *t = getenv("TMPDIR");

    if (fx == NULL) {
        return -1;
    }
    fmt(fx->dir, sizeof(fx->dir), "%s/tlw-config-XXXXXX", t ? t : "/tmp");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
group_teardown(void **state)
{
    struct fx *fx = *state;

    nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

/* Write content to dir/rel (creating dir/sub if rel has one level);
 * returns the full path in out. */
static void
write_file(const struct fx *fx, const char *rel, const void *content,
           size_t len, char *out, size_t cap)
{
    FILE *f;
    const char *slash = strchr(rel, '/');

    if (slash != NULL) {
        char sub[PATH_MAX];
        fmt(sub, sizeof(sub), "%s/%.*s", fx->dir, (int)(slash - rel), rel);
        (void)mkdir(sub, 0700);
    }
    fmt(out, cap, "%s/%s", fx->dir, rel);
    f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
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

static void
src_path(const char *rel, char *out, size_t cap)
{
    const char *src = getenv("TLOGWATCH_SRC");

    if (src == NULL) {
        fail_msg("TLOGWATCH_SRC is not set (run through ctest)");
    }
    fmt(out, cap, "%s/%s", src, rel);
}

/* Line and column (1-based) of the nth (1-based) occurrence of needle. */
static void
pos_of(const char *text, const char *needle, int nth, unsigned long *line,
       unsigned long *col)
{
    const char *p = text, *q;

    for (;;) {
        p = strstr(p, needle);
        if (p == NULL) {
            fail_msg("test bug: '%s' #%d not in the config text", needle, nth);
        }
        if (--nth == 0) {
            break;
        }
        p++;
    }
    *line = 1;
    *col = 1;
    for (q = text; q < p; q++) {
        if (*q == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void
dump_errors(const struct config_errors *errs)
{
    char buf[2048];
    size_t i;

    for (i = 0; errs != NULL && i < errs->n; i++) {
        print_message("  %s\n",
                      config_error_format(&errs->v[i], buf, sizeof(buf)));
    }
}

/* 1 if some error sits at line:col and contains substr. */
static int
has_error(const struct config_errors *errs, unsigned long line,
          unsigned long col, const char *substr)
{
    size_t i;

    for (i = 0; errs != NULL && i < errs->n; i++) {
        if (errs->v[i].line == line && errs->v[i].col == col &&
            strstr(errs->v[i].message, substr) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* 1 if any error message contains s. */
static int
any_message_has(const struct config_errors *errs, const char *s)
{
    size_t i;

    for (i = 0; errs != NULL && i < errs->n; i++) {
        if (strstr(errs->v[i].message, s) != NULL ||
            strstr(errs->v[i].file, s) != NULL) {
            return 1;
        }
    }
    return 0;
}

static struct config *
load_text(const char *text, struct config_errors **errs)
{
    return config_load_mem(text, strlen(text), "t.yaml", errs);
}

/* text must fail with exactly one error, at the nth needle, holding msg. */
static void
expect_one_error(const char *text, const char *needle, int nth, const char *msg)
{
    struct config_errors *errs = NULL;
    struct config *cfg = load_text(text, &errs);
    unsigned long line, col;

    pos_of(text, needle, nth, &line, &col);
    if (cfg != NULL || errs == NULL || errs->n != 1 ||
        !has_error(errs, line, col, msg)) {
        print_message("config:\n%s\nwanted one error at %lu:%lu with '%s'; "
                      "got %zu:\n",
                      text, line, col, msg, errs ? errs->n : 0);
        dump_errors(errs);
        config_free(cfg);
        config_errors_free(errs);
        fail();
    }
    assert_string_equal(errs->v[0].file, "t.yaml");
    config_errors_free(errs);
}

static struct config *
expect_ok(const char *text)
{
    struct config_errors *errs = NULL;
    struct config *cfg = load_text(text, &errs);

    if (cfg == NULL || errs != NULL) {
        print_message("config:\n%s\nwanted it to load; errors:\n", text);
        dump_errors(errs);
        config_errors_free(errs);
        fail();
    }
    return cfg;
}

static int
str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

static int
strings_eq(const struct config_strings *a, const struct config_strings *b)
{
    size_t i;

    if (a->set != b->set || a->n != b->n) {
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        if (!str_eq(a->v[i], b->v[i])) {
            return 0;
        }
    }
    return 1;
}

static int
refs_eq(const struct config_sink_refs *a, const struct config_sink_refs *b)
{
    return a->n == b->n &&
           (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(*a->v)) == 0);
}

/* Every field except positions and the file name.  1 when equal. */
static int
config_equal(const struct config *a, const struct config *b)
{
    size_t i, j;

    if (!str_eq(a->base_dir, b->base_dir) || !str_eq(a->state, b->state) ||
        !str_eq(a->trusted_root, b->trusted_root) || a->n_logs != b->n_logs ||
        a->n_watch != b->n_watch || a->n_sinks != b->n_sinks) {
        return 0;
    }
    for (i = 0; i < a->n_logs; i++) {
        const struct config_log *x = &a->logs[i], *y = &b->logs[i];
        if (!str_eq(x->name, y->name) || x->kind != y->kind ||
            !str_eq(x->url, y->url) ||
            x->poll_interval_ms != y->poll_interval_ms ||
            x->start_latest != y->start_latest ||
            x->start_index != y->start_index ||
            x->max_concurrency != y->max_concurrency ||
            x->stale_after_ms != y->stale_after_ms ||
            x->unreachable_after_ms != y->unreachable_after_ms ||
            x->withhold_after_ms != y->withhold_after_ms) {
            return 0;
        }
    }
    for (i = 0; i < a->n_watch; i++) {
        const struct config_watch *x = &a->watch[i], *y = &b->watch[i];
        if (!str_eq(x->name, y->name) ||
            !str_eq(x->repository, y->repository) ||
            !str_eq(x->repository_id, y->repository_id) ||
            !str_eq(x->issuer, y->issuer) ||
            !strings_eq(&x->workflows, &y->workflows) ||
            !strings_eq(&x->refs, &y->refs) ||
            !strings_eq(&x->triggers, &y->triggers) ||
            x->runners != y->runners ||
            x->record_expected != y->record_expected ||
            x->unlogged_after_ms != y->unlogged_after_ms ||
            x->pcrs.enabled != y->pcrs.enabled ||
            !str_eq(x->pcrs.registry_host, y->pcrs.registry_host) ||
            !str_eq(x->pcrs.registry_repository, y->pcrs.registry_repository) ||
            x->pcrs.registry_plain_http != y->pcrs.registry_plain_http ||
            !str_eq(x->pcrs.credentials, y->pcrs.credentials) ||
            x->pcrs.n_allow != y->pcrs.n_allow ||
            x->pcrs.lookup_timeout_ms != y->pcrs.lookup_timeout_ms) {
            return 0;
        }
        for (j = 0; j < x->pcrs.n_allow; j++) {
            if (memcmp(&x->pcrs.allow[j], &y->pcrs.allow[j],
                       sizeof(x->pcrs.allow[j])) != 0) {
                return 0;
            }
        }
    }
    for (i = 0; i < a->n_sinks; i++) {
        const struct config_sink *x = &a->sinks[i], *y = &b->sinks[i];
        if (!str_eq(x->name, y->name) || x->type != y->type ||
            x->min_severity != y->min_severity || !str_eq(x->url, y->url) ||
            !str_eq(x->secret, y->secret) || !str_eq(x->command, y->command) ||
            x->timeout_ms != y->timeout_ms) {
            return 0;
        }
    }
    return a->heartbeat.enabled == b->heartbeat.enabled &&
           a->heartbeat.every_ms == b->heartbeat.every_ms &&
           refs_eq(&a->heartbeat.notify, &b->heartbeat.notify) &&
           a->report.every_ms == b->report.every_ms &&
           refs_eq(&a->report.notify, &b->report.notify) &&
           str_eq(a->report.dir, b->report.dir) &&
           str_eq(a->http.listen, b->http.listen) &&
           str_eq(a->http.host, b->http.host) && a->http.port == b->http.port &&
           a->retention.checkpoints_ms == b->retention.checkpoints_ms &&
           a->retention.alerts_ms == b->retention.alerts_ms &&
           a->retention.signings_ms == b->retention.signings_ms;
}

/* ---- the shipped configs ---------------------------------------------- */

static void
set_example_env(void)
{
    setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/xyz",
           1);
    setenv("HOOK_SECRET", "hook-secret-value", 1);
    setenv("GHCR_TOKEN", "ghcr-token-value", 1);
}

static void
test_default_config(void **state)
{
    char path[PATH_MAX], dir[PATH_MAX], want[PATH_MAX * 2];
    struct config_errors *errs = NULL;
    struct config *cfg;
    const struct config_watch *w;

    (void)state;
    src_path("deploy/tlogwatch.yaml", path, sizeof(path));
    src_path("deploy", want, sizeof(want));
    assert_non_null(realpath(want, dir));
    cfg = config_load(path, &errs);
    dump_errors(errs);
    assert_non_null(cfg);
    assert_null(errs);

    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->base_dir, dir);
    fmt(want, sizeof(want), "%s/../state/tlogwatch.db", dir);
    assert_string_equal(cfg->state, want);
    fmt(want, sizeof(want), "%s/trusted_root.json", dir);
    assert_string_equal(cfg->trusted_root, want);
    assert_true(cfg->trusted_root_pos.line > 0);

    assert_int_equal(cfg->n_logs, 2);
    assert_string_equal(cfg->logs[1].name, "rekor-v2");
    assert_int_equal(cfg->logs[1].kind, CONFIG_LOG_REKOR_V2);
    assert_string_equal(cfg->logs[1].url,
                        "https://log2025-1.rekor.sigstore.dev/api/v2");
    assert_int_equal(cfg->logs[1].start_latest, 1);
    assert_string_equal(cfg->logs[0].name, "rekor");
    assert_int_equal(cfg->logs[0].kind, CONFIG_LOG_REKOR_V1);
    assert_string_equal(cfg->logs[0].url, "https://rekor.sigstore.dev");
    assert_int_equal(cfg->logs[0].poll_interval_ms, 30000);
    assert_int_equal(cfg->logs[0].start_latest, 1);
    assert_int_equal(cfg->logs[0].max_concurrency, 8);
    assert_int_equal(cfg->logs[0].stale_after_ms, 3600000);
    assert_int_equal(cfg->logs[0].unreachable_after_ms, 600000);
    assert_int_equal(cfg->logs[0].withhold_after_ms, 600000);

    assert_int_equal(cfg->n_watch, 1);
    w = config_watch_find(cfg, "nitro-sandbox");
    assert_ptr_equal(w, &cfg->watch[0]);
    assert_string_equal(w->repository,
                        "richardfan1126/nitro-enclaves-cosign-sandbox");
    assert_null(w->repository_id);
    assert_string_equal(w->issuer,
                        "https://token.actions.githubusercontent.com");
    assert_true(w->workflows.set);
    assert_int_equal(w->workflows.n, 1);
    assert_string_equal(w->workflows.v[0],
                        ".github/workflows/build-and-sign-image.yaml");
    assert_int_equal(w->refs.n, 1);
    assert_string_equal(w->refs.v[0], "refs/tags/v*");
    assert_int_equal(w->triggers.n, 1);
    assert_string_equal(w->triggers.v[0], "push");
    assert_int_equal(w->runners, CONFIG_RUNNER_GITHUB_HOSTED);
    assert_false(w->pcrs.enabled);
    assert_int_equal(w->record_expected, 1);

    assert_int_equal(cfg->n_sinks, 1);
    assert_string_equal(cfg->sinks[0].name, "console");
    assert_int_equal(cfg->sinks[0].type, CONFIG_SINK_STDOUT);
    assert_int_equal(cfg->sinks[0].min_severity, CONFIG_SEVERITY_INFO);
    assert_null(cfg->sinks[0].url);
    assert_false(cfg->heartbeat.enabled);
    assert_int_equal(cfg->report.every_ms, 0);
    assert_null(cfg->report.dir);
    assert_null(cfg->http.listen);
    assert_null(cfg->http.token);
    assert_int_equal(cfg->http.ready_lag, CONFIG_DEFAULT_READY_LAG);
    assert_null(config_log_find(cfg, "nope"));
    config_free(cfg);
}

/* The twin: the default file with one byte broken is rejected there. */
static void
test_default_config_broken(void **state)
{
    struct fx *fx = *state;
    char path[PATH_MAX], out[PATH_MAX];
    struct config_errors *errs = NULL;
    size_t len;
    char *text, *p;
    unsigned long line, col;

    src_path("deploy/tlogwatch.yaml", path, sizeof(path));
    text = read_file(path, &len);
    assert_non_null(text);
    p = strstr(text, "poll_interval: 30s");
    assert_non_null(p);
    p[strlen("poll_interval: 30")] = 'x';
    pos_of(text, "30x", 1, &line, &col);
    write_file(fx, "default-broken.yaml", text, len, out, sizeof(out));
    assert_null(config_load(out, &errs));
    assert_non_null(errs);
    assert_int_equal(errs->n, 1);
    assert_true(has_error(errs, line, col,
                          "logs[0].poll_interval: bad "
                          "duration '30x': unknown unit"));
    assert_string_equal(errs->v[0].file, out);
    config_errors_free(errs);
    free(text);
}

static void
check_full(const struct config *cfg, const char *dir)
{
    char want[PATH_MAX * 2];
    const struct config_watch *w;
    const struct config_sink *k;
    static const char *const pcr_seed[] = {"example PCR0", "example PCR1",
                                           "example PCR2", "example PCR8"};
    size_t i;

    assert_string_equal(cfg->state, "/var/lib/tlogwatch/state.db");
    fmt(want, sizeof(want), "%s/../trusted_root.json", dir);
    assert_string_equal(cfg->trusted_root, want);

    assert_int_equal(cfg->n_logs, 2);
    assert_string_equal(cfg->logs[0].name, "rekor");
    assert_int_equal(cfg->logs[0].kind, CONFIG_LOG_REKOR_V1);
    assert_string_equal(cfg->logs[0].url, "https://rekor.sigstore.dev");
    assert_int_equal(cfg->logs[0].poll_interval_ms, 30000);
    assert_int_equal(cfg->logs[0].start_latest, 1);
    assert_int_equal(cfg->logs[0].max_concurrency, 8);
    assert_int_equal(cfg->logs[0].stale_after_ms, 3600000);
    assert_int_equal(cfg->logs[0].unreachable_after_ms, 600000);
    assert_string_equal(cfg->logs[1].name, "rekor-v2");
    assert_int_equal(cfg->logs[1].kind, CONFIG_LOG_REKOR_V2);
    assert_string_equal(cfg->logs[1].url,
                        "https://log2025-1.rekor.sigstore.dev");
    assert_int_equal(cfg->logs[1].poll_interval_ms, 60000);
    assert_int_equal(cfg->logs[1].start_latest, 0);
    assert_int_equal(cfg->logs[1].start_index, 0);
    assert_int_equal(cfg->logs[1].max_concurrency, 4);
    assert_int_equal(cfg->logs[1].stale_after_ms, 7200000);
    assert_int_equal(cfg->logs[1].unreachable_after_ms, 900000);
    assert_int_equal(cfg->logs[0].withhold_after_ms, 600000);
    assert_int_equal(cfg->logs[1].withhold_after_ms, 300000);

    assert_int_equal(cfg->n_watch, 1);
    w = &cfg->watch[0];
    assert_string_equal(w->name, "enclave-app");
    assert_string_equal(w->repository, "acme/enclave-app");
    assert_string_equal(w->repository_id, "123456");
    assert_string_equal(w->issuer,
                        "https://token.actions.githubusercontent.com");
    assert_int_equal(w->workflows.n, 1);
    assert_string_equal(w->workflows.v[0], ".github/workflows/build-eif.yml");
    assert_int_equal(w->refs.n, 2);
    assert_string_equal(w->refs.v[0], "refs/heads/main");
    assert_string_equal(w->refs.v[1], "refs/tags/v*");
    assert_int_equal(w->triggers.n, 2);
    assert_string_equal(w->triggers.v[0], "push");
    assert_string_equal(w->triggers.v[1], "workflow_dispatch");
    assert_int_equal(w->runners, CONFIG_RUNNER_GITHUB_HOSTED);
    assert_true(w->pcrs.enabled);
    assert_string_equal(w->pcrs.registry_host, "ghcr.io");
    assert_string_equal(w->pcrs.registry_repository, "acme/enclave-app");
    assert_int_equal(w->pcrs.registry_plain_http, 0);
    assert_string_equal(w->pcrs.credentials, "ghcr-token-value");
    assert_int_equal(w->pcrs.lookup_timeout_ms, 900000);
    assert_int_equal(w->pcrs.n_allow, 1);
    assert_int_equal(w->pcrs.allow[0].present, 0xf);
    /* The placeholders are SHA-384 of "example PCRn" (see full.yaml). */
    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        unsigned char md[48];
        char hex[97];
        size_t j;
        assert_non_null(SHA384((const unsigned char *)pcr_seed[i],
                               strlen(pcr_seed[i]), md));
        for (j = 0; j < 48; j++) {
            fmt(hex + 2 * j, 3, "%02x", md[j]);
        }
        assert_string_equal(w->pcrs.allow[0].hex[i], hex);
    }
    assert_int_equal(w->record_expected, 1);
    assert_int_equal(w->unlogged_after_ms, 30ULL * 60 * 1000);

    assert_int_equal(cfg->n_sinks, 9);
    k = config_sink_find(cfg, "mail");
    assert_int_equal(k->type, CONFIG_SINK_EMAIL);
    assert_string_equal(k->url, "smtp://smtp.example.org:587");
    assert_string_equal(k->from, "tlogwatch@example.org");
    assert_int_equal(k->to.n, 1);
    assert_string_equal(k->to.v[0], "security@example.org");
    assert_string_equal(k->username, "tlogwatch");
    assert_string_equal(k->secret, "smtp-password-here");
    assert_null(k->ca_file);
    k = config_sink_find(cfg, "issues");
    assert_int_equal(k->type, CONFIG_SINK_GITHUB_ISSUE);
    assert_string_equal(k->repository, "acme/security-alerts");
    assert_string_equal(k->url, CONFIG_DEFAULT_GITHUB_API_URL);
    assert_int_equal(k->labels.n, 1);
    k = config_sink_find(cfg, "oncall");
    assert_int_equal(k->type, CONFIG_SINK_PAGERDUTY);
    assert_string_equal(k->url, CONFIG_DEFAULT_PAGERDUTY_URL);
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_CRITICAL);
    k = config_sink_find(cfg, "siem-events");
    assert_int_equal(k->format, CONFIG_FORMAT_CLOUDEVENTS);
    assert_int_equal(k->signing, CONFIG_SIGNING_STANDARD);
    assert_int_equal(k->n_secrets_more, 1);
    k = config_sink_find(cfg, "alertmanager");
    assert_int_equal(k->type, CONFIG_SINK_ALERTMANAGER);
    assert_int_equal(k->resolve_after_ms, CONFIG_DEFAULT_RESOLVE_AFTER_MS);
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_WARNING);
    k = config_sink_find(cfg, "sec-slack");
    assert_ptr_equal(k, &cfg->sinks[0]);
    assert_int_equal(k->type, CONFIG_SINK_SLACK);
    assert_string_equal(k->url, "https://hooks.slack.com/services/T0/B0/xyz");
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_WARNING);
    k = &cfg->sinks[1];
    assert_string_equal(k->name, "siem");
    assert_int_equal(k->type, CONFIG_SINK_WEBHOOK);
    assert_string_equal(k->url, "https://siem.example/in");
    assert_string_equal(k->secret, "hook-secret-value");
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_INFO);
    k = &cfg->sinks[2];
    assert_string_equal(k->name, "pager");
    assert_int_equal(k->type, CONFIG_SINK_EXEC);
    assert_string_equal(k->command, "/usr/local/bin/page");
    assert_int_equal(k->timeout_ms, 30000);
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_CRITICAL);
    k = &cfg->sinks[3];
    assert_string_equal(k->name, "console");
    assert_int_equal(k->type, CONFIG_SINK_STDOUT);

    assert_true(cfg->heartbeat.enabled);
    assert_int_equal(cfg->heartbeat.every_ms, 3600000);
    assert_int_equal(cfg->heartbeat.notify.n, 1);
    assert_int_equal(cfg->heartbeat.notify.v[0], 2);
    assert_int_equal(cfg->report.every_ms, 24 * 3600000ULL);
    assert_int_equal(cfg->report.notify.n, 1);
    assert_int_equal(cfg->report.notify.v[0], 0);
    assert_string_equal(cfg->report.dir, "/var/lib/tlogwatch/reports");
    assert_string_equal(cfg->http.listen, "127.0.0.1:9464");
    assert_string_equal(cfg->http.host, "127.0.0.1");
    assert_int_equal(cfg->http.port, 9464);
}

/* http.token is a secret (${NAME}, file:PATH) that lets the status server
 * listen beyond loopback; ready_lag is a plain integer. */
static void
test_http_token(void **state)
{
    struct config_errors *errs = NULL;
    struct config *cfg;

    (void)state;
    setenv("TLW_TEST_HTTP_TOKEN", "0123456789abcdef-token", 1);
    cfg = expect_ok(BASE_LOG "http: {listen: \"0.0.0.0:9464\", token: "
                             "\"${TLW_TEST_HTTP_TOKEN}\", ready_lag: 50}\n");
    assert_string_equal(cfg->http.host, "0.0.0.0");
    assert_string_equal(cfg->http.token, "0123456789abcdef-token");
    assert_int_equal(cfg->http.ready_lag, 50);
    config_free(cfg);
    cfg = expect_ok(BASE_LOG "http: {listen: \"[::1]:9464\", ready_lag: 0}\n");
    assert_null(cfg->http.token);
    assert_int_equal(cfg->http.ready_lag, 0);
    config_free(cfg);
    unsetenv("TLW_TEST_HTTP_TOKEN");
    cfg = load_text(BASE_LOG "http: {listen: \"0.0.0.0:9464\", token: "
                             "\"${TLW_TEST_HTTP_TOKEN}\"}\n",
                    &errs);
    assert_null(cfg);
    assert_non_null(errs);
    config_errors_free(errs);
}

static void
test_full_example(void **state)
{
    char path[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
    struct config_errors *errs = NULL;
    struct config *cfg;

    (void)state;
    set_example_env();
    src_path("deploy/examples/full.yaml", path, sizeof(path));
    src_path("deploy/examples", tmp, sizeof(tmp));
    assert_non_null(realpath(tmp, dir));
    cfg = config_load(path, &errs);
    dump_errors(errs);
    assert_non_null(cfg);
    check_full(cfg, dir);
    config_free(cfg);
}

/* The twin: without the environment, exactly the three variables are
 * reported, each at its ${...} value, and no other error. */
static void
test_full_example_without_env(void **state)
{
    char path[PATH_MAX];
    struct config_errors *errs = NULL;
    size_t len;
    char *text;
    unsigned long line, col;

    (void)state;
    unsetenv("SLACK_WEBHOOK_URL");
    unsetenv("HOOK_SECRET");
    unsetenv("GHCR_TOKEN");
    src_path("deploy/examples/full.yaml", path, sizeof(path));
    text = read_file(path, &len);
    assert_non_null(text);
    assert_null(config_load(path, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 3);
    pos_of(text, "\"${GHCR_TOKEN}\"", 1, &line, &col);
    assert_true(has_error(errs, line, col,
                          "watch[0].pcrs.credentials: environment variable "
                          "GHCR_TOKEN is not set"));
    pos_of(text, "\"${SLACK_WEBHOOK_URL}\"", 1, &line, &col);
    assert_true(has_error(errs, line, col,
                          "notify[0].url: environment variable "
                          "SLACK_WEBHOOK_URL is not set"));
    pos_of(text, "\"${HOOK_SECRET}\"", 1, &line, &col);
    assert_true(has_error(errs, line, col, "HOOK_SECRET is not set"));
    config_errors_free(errs);
    free(text);
}

static void
test_json_equivalence(void **state)
{
    char y[PATH_MAX], j[PATH_MAX];
    struct config_errors *errs = NULL;
    struct config *a, *b;

    (void)state;
    set_example_env();
    src_path("deploy/examples/full.yaml", y, sizeof(y));
    src_path("deploy/examples/full.json", j, sizeof(j));
    a = config_load(y, &errs);
    assert_non_null(a);
    b = config_load(j, &errs);
    dump_errors(errs);
    assert_non_null(b);
    assert_true(config_equal(a, b));
    config_free(a);
    config_free(b);

    /* The same with compact inline text: YAML block style and JSON. */
    a = expect_ok("logs:\n  - name: r\n    url: http://127.0.0.1:8080/\n"
                  "    start: 42\n    max_concurrency: 3\n"
                  "watch:\n  - name: w\n    repository: Acme/App\n"
                  "    repository_id: 99\n    record_expected: false\n"
                  "    allow: {runners: [self-hosted, github-hosted]}\n"
                  "notify:\n  - {name: c, type: stdout}\n"
                  "report: {every: 1h30m, notify: [c]}\n");
    b = expect_ok(
        "{\"logs\":[{\"name\":\"r\",\"url\":\"http://127.0.0.1:8080/\""
        ",\"start\":42,\"max_concurrency\":3}],\n\t\"watch\":[{"
        "\"name\":\"w\",\"repository\":\"Acme/App\","
        "\"repository_id\":\"99\",\"record_expected\":false,"
        "\"allow\":{\"runners\":[\"self-hosted\",\"github-hosted\"]}"
        "}],\"notify\":[{\"name\":\"c\",\"type\":\"stdout\"}],"
        "\"report\":{\"every\":\"1h30m\",\"notify\":[\"c\"]}}");
    assert_true(config_equal(a, b));
    assert_string_equal(b->logs[0].url, "http://127.0.0.1:8080");
    assert_int_equal(b->logs[0].start_index, 42);
    assert_string_equal(b->watch[0].repository, "acme/app");
    assert_int_equal(b->watch[0].runners,
                     CONFIG_RUNNER_GITHUB_HOSTED | CONFIG_RUNNER_SELF_HOSTED);
    assert_int_equal(b->report.every_ms, 5400000);
    config_free(a);
    config_free(b);
}

/* The twin: a JSON file that differs in one value is not equal (both
 * loaded from the same directory, so only that value differs), and JSON
 * errors carry JSON positions. */
static void
test_json_difference(void **state)
{
    struct fx *fx = *state;
    char y[PATH_MAX], j[PATH_MAX], out[PATH_MAX];
    struct config_errors *errs = NULL;
    struct config *a, *b;
    size_t ylen, jlen;
    char *ytext, *jtext, *p;
    const char *bad;

    set_example_env();
    src_path("deploy/examples/full.yaml", y, sizeof(y));
    src_path("deploy/examples/full.json", j, sizeof(j));
    ytext = read_file(y, &ylen);
    jtext = read_file(j, &jlen);
    assert_non_null(ytext);
    assert_non_null(jtext);
    write_file(fx, "ex/full.yaml", ytext, ylen, out, sizeof(out));
    a = config_load(out, &errs);
    assert_non_null(a);
    write_file(fx, "ex/full.json", jtext, jlen, out, sizeof(out));
    b = config_load(out, &errs);
    assert_non_null(b);
    assert_true(config_equal(a, b)); /* control: same directory, equal */
    config_free(b);

    p = strstr(jtext, "\"max_concurrency\": 4");
    assert_non_null(p);
    p[strlen("\"max_concurrency\": ")] = '5';
    write_file(fx, "ex/full-changed.json", jtext, jlen, out, sizeof(out));
    b = config_load(out, &errs);
    assert_non_null(b);
    assert_int_equal(b->logs[1].max_concurrency, 5);
    assert_false(config_equal(a, b));
    config_free(b);
    config_free(a);
    free(ytext);
    free(jtext);

    bad = "{\"logs\": [{\"name\": \"r\", \"url\": \"https://x.example\", "
          "\"max_concurrency\": \"8\"}]}";
    expect_one_error(bad, "\"8\"", 1,
                     "logs[0].max_concurrency: expected an integer, got a "
                     "quoted string");
}

/* ---- error classes ---------------------------------------------------- */

#define EMAIL_OK "from: a@example.org, to: [b@example.org]"
/* An email sink: secrets from the environment, a real PEM ca_file; its
 * twin: the ca_file that is not PEM is refused. */
static void
test_email_sink(void **state)
{
    char pem[PATH_MAX], text[PATH_MAX + 512];
    const struct config_sink *k;
    struct config *cfg;

    (void)state;
    src_path("deploy/aws-nitro-enclaves-root-G1.pem", pem, sizeof(pem));
    setenv("TLW_SMTP_PASS", "p4ss word", 1);
    setenv("TLW_SMTP_USER", "tlw", 1);
    setenv("TLW_SMTP_URL", "smtps://127.0.0.1:4650/tlogwatch.example", 1);
    fmt(text, sizeof(text),
        BASE_LOG
        "notify:\n  - {name: m, type: email, url: "
        "\"${TLW_SMTP_URL}\", from: "
        "a.b@example.org, to: [x@example.org, y+z@mx.example.org], "
        "username: \"${TLW_SMTP_USER}\", password: \"${TLW_SMTP_PASS}\", "
        "ca_file: \"%s\", min_severity: warning}\n",
        pem);
    cfg = expect_ok(text);
    k = &cfg->sinks[0];
    assert_int_equal(k->type, CONFIG_SINK_EMAIL);
    assert_string_equal(k->url, "smtps://127.0.0.1:4650/tlogwatch.example");
    assert_string_equal(k->from, "a.b@example.org");
    assert_int_equal(k->to.n, 2);
    assert_string_equal(k->to.v[1], "y+z@mx.example.org");
    assert_string_equal(k->secret, "p4ss word");
    assert_string_equal(k->username, "tlw");
    assert_string_equal(k->ca_file, pem);
    assert_int_equal(k->min_severity, CONFIG_SEVERITY_WARNING);
    assert_string_equal(config_sink_type_name(k->type), "email");
    assert_int_equal(k->plain, 0); /* TLS required by default */
    config_free(cfg);
    /* tls: none, to a relay on this machine (bad cases: elsewhere, with
     * smtps://, credentials or a ca_file); tls: required is the default */
    cfg = expect_ok(BASE_LOG "notify:\n  - {name: m, type: email, url: "
                             "\"smtp://127.0.0.1:2525\", " EMAIL_OK
                             ", tls: none}\n  - {name: n, type: email, url: "
                             "\"smtp://localhost\", " EMAIL_OK
                             ", tls: none}\n  - {name: o, type: email, url: "
                             "\"smtp://[::1]:25\", " EMAIL_OK
                             ", tls: none}\n  - {name: r, type: email, url: "
                             "\"smtp://m.example\", " EMAIL_OK
                             ", tls: required}\n");
    assert_int_equal(cfg->sinks[0].plain, 1);
    assert_int_equal(cfg->sinks[1].plain, 1);
    assert_int_equal(cfg->sinks[2].plain, 1);
    assert_int_equal(cfg->sinks[3].plain, 0);
    config_free(cfg);
    fmt(text, sizeof(text),
        BASE_LOG "notify:\n  - {name: m, type: email, url: "
                 "\"smtp://127.0.0.1\", " EMAIL_OK ", ca_file: \"%s\", "
                 "tls: none}\n",
        pem);
    expect_one_error(text, "none", 1,
                     "tls: none with a ca_file: there is no TLS to trust it "
                     "for");
    unsetenv("TLW_SMTP_PASS");
    unsetenv("TLW_SMTP_USER");
    unsetenv("TLW_SMTP_URL");
    expect_one_error(BASE_LOG "notify:\n  - {name: m, type: email, url: "
                              "\"smtp://m.example\", from: a@example.org, "
                              "to: [b@example.org], ca_file: /dev/null}\n",
                     "/dev/null", 1, "no PEM certificate");
}

struct bad_case {
    const char *text;
    const char *needle; /* where the error must be */
    int nth;            /* which occurrence of needle */
    const char *msg;    /* substring of the message */
};

static const struct bad_case bad_cases[] = {
    /* unknown keys */
    {BASE_LOG "colour: blue\n", "colour", 1, "unknown key 'colour'"},
    {"logs:\n  - name: r\n    url: https://x.example\n    pol_interval: 3s\n",
     "pol_interval", 1, "logs[0]: unknown key 'pol_interval'"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    allow: "
              "{workflow: [x]}\n",
     "workflow", 1, "watch[0].allow: unknown key 'workflow'"},
    /* wrong types */
    {BASE_LOG "watch: {name: x}\n", "{name", 1,
     "watch: expected a list, got a mapping"},
    {"logs: https://x.example\n", "https", 1,
     "logs: expected a list, got a string"},
    {"logs:\n  - name: r\n    url: https://x.example\n    max_concurrency: "
     "\"8\"\n",
     "\"8\"", 1, "expected an integer, got a quoted string"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    "
              "record_expected: yes\n",
     "yes", 1, "record_expected: expected true or false, got a string"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    "
              "unlogged_after: 4s\n",
     "4s", 1, "unlogged_after: must be between 5s and 7d"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    "
              "unlogged_after: 8d\n",
     "8d", 1, "unlogged_after: must be between 5s and 7d"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    "
              "unlogged_after: soon\n",
     "soon", 1, "unlogged_after: bad duration"},
    {"logs:\n  - name: [r]\n    url: https://x.example\n", "[r]", 1,
     "logs[0].name: expected a string, got a list"},
    {BASE_LOG "state: ~\n", "~", 1, "state: expected a string, got no value"},
    {BASE_LOG "trusted_root: true\n", "true", 1,
     "trusted_root: expected a string, got a boolean"},
    {BASE_LOG "http: 9464\n", "9464", 1,
     "http: expected a mapping, got a number"},
    {BASE_LOG "watch:\n  - x\n", "x\n", 1,
     "watch[0]: expected a mapping, got a string"},
    /* durations */
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: 30\n",
     "30", 1, "bad duration '30': missing unit"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "-5s\n",
     "-5s", 1, "bad duration '-5s': negative"},
    {"logs:\n  - name: r\n    url: https://x.example\n    stale_after: 1w\n",
     "1w", 1, "logs[0].stale_after: bad duration '1w': unknown unit"},
    {"logs:\n  - name: r\n    url: https://x.example\n    stale_after: "
     "1h1d\n",
     "1h1d", 1, "logs[0].stale_after: bad duration '1h1d': each unit"},
    {"logs:\n  - name: r\n    url: https://x.example\n    withhold_after: "
     "9s\n",
     "9s", 1, "logs[0].withhold_after: must be at least 10s"},
    {"logs:\n  - name: r\n    url: https://x.example\n    withhold_after: "
     "10\n",
     "10", 1, "logs[0].withhold_after: bad duration '10': missing unit"},
    /* retention */
    {BASE_LOG "retention:\n  checkpoint: 400d\n", "checkpoint", 1,
     "retention: unknown key 'checkpoint'"},
    {BASE_LOG "retention: 400d\n", "400d", 1,
     "retention: expected a mapping, got a string"},
    {BASE_LOG "retention:\n  alerts: 23h59m\n", "23h59m", 1,
     "retention.alerts: a retention must be at least 1d"},
    {BASE_LOG "retention:\n  checkpoints: 400m\n", "400m", 1,
     "retention.checkpoints: a retention must be at least 1d"},
    {BASE_LOG "retention:\n  signings: 400\n", "400", 1,
     "retention.signings: bad duration '400': missing unit"},
    {BASE_LOG "retention:\n  signings: \"0\"\n", "\"0\"", 1,
     "retention.signings: bad duration '0': missing unit"},
    {BASE_LOG "retention:\n  signings: 0d\n", "0d", 1,
     "retention.signings: bad duration '0d': duration must be greater"},
    {BASE_LOG "retention:\n  alerts: -400d\n", "-400d", 1,
     "retention.alerts: bad duration '-400d': negative"},
    {BASE_LOG "retention:\n  alerts: ~\n", "~", 1,
     "retention.alerts: expected a string, got no value"},
    /* retention.signings below the longest unlogged_after + 1d: a Rekor
     * signing could be pruned before its CT certificate is judged */
    {BASE_CT "watch:\n  - {name: w, repository: a/b}\n"
             "retention:\n  signings: 1d\n",
     "1d", 1,
     "retention.signings: 1d is shorter than watch rule w's "
     "unlogged_after (30m) plus 1d: a certificate's Rekor signing could be "
     "pruned before the certificate seen in a CT log is judged (a false "
     "signing.unlogged_certificate); use at least 1d30m, or 0"},
    {BASE_CT "watch:\n  - {name: w, repository: a/b, unlogged_after: 1h}\n"
             "  - {name: v, repository: a/c, unlogged_after: 7d}\n"
             "retention: {alerts: 400d, signings: 7d23h59m59s}\n",
     "7d23h59m59s", 1,
     "retention.signings: 7d23h59m59s is shorter than watch rule v's "
     "unlogged_after (7d) plus 1d"},
    /* the trusted root may announce a CT log */
    {BASE_LOG "logs_from_trusted_root: true\n"
              "watch:\n  - {name: w, repository: a/b}\n"
              "retention:\n  signings: 1d\n",
     "1d", 1,
     "retention.signings: 1d is shorter than watch rule w's "
     "unlogged_after (30m) plus 1d"},
    {"logs:\n  - name: r\n    url: https://x.example\n    "
     "unreachable_after: \"\"\n",
     "\"\"", 1, "logs[0].unreachable_after: must not be empty"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "99999999999999999999s\n",
     "9999", 1, "out of range"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "1000000h\n",
     "1000000h", 1, "out of range"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "1.5h\n",
     "1.5h", 1, "fractions are not allowed"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "30m1h\n",
     "30m1h", 1, "largest first"},
    {"logs:\n  - name: r\n    url: https://x.example\n    poll_interval: "
     "0s\n",
     "0s", 1, "greater than zero"},
    /* URLs */
    {"logs:\n  - name: r\n    url: http://rekor.sigstore.dev\n", "http://", 1,
     "logs[0].url: http:// is only allowed for loopback hosts"},
    {"logs:\n  - name: r\n    url: http://10.0.0.1:80\n", "http://", 1,
     "only allowed for loopback"},
    {"logs:\n  - name: r\n    url: http://[::2]/\n", "http://", 1,
     "only allowed for loopback"},
    {"logs:\n  - name: r\n    url: http://localhost.evil.example/\n", "http://",
     1, "only allowed for loopback"},
    {"logs:\n  - name: r\n    url: https://u:p@rekor.sigstore.dev\n",
     "https://", 1, "must not contain user information"},
    {"logs:\n  - name: r\n    url: ftp://rekor.sigstore.dev\n", "ftp", 1,
     "must start with https://"},
    {"logs:\n  - name: r\n    url: https://rekor.sigstore.dev:0\n", "https", 1,
     "port outside 1..65535"},
    {"logs:\n  - name: r\n    url: https://\n", "https", 1, "has no"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    issuer: "
              "http://issuer.example\n",
     "http://", 1, "watch[0].issuer: http:// is only allowed"},
    {BASE_LOG "notify:\n  - name: h\n    type: webhook\n    url: "
              "http://10.1.2.3/hook\n",
     "http://", 1, "notify[0].url: http:// is only allowed"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: http://ghcr.io/a/b\n      allow: [{PCR0: "
              "\"" Z96 "\"}]\n",
     "http://", 1, "http:// is only allowed for loopback registries"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/Acme/App\n      allow: [{PCR0: "
              "\"" Z96 "\"}]\n",
     "ghcr.io", 1, "lowercase path components"},
    /* PCRs */
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/a/b\n      allow:\n        - PCR0: "
              "\"" Z95 "\"\n",
     "\"000", 1, "watch[0].pcrs.allow[0].PCR0: a PCR value is exactly 96"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/a/b\n      allow:\n        - PCR1: "
              "\"g" Z95 "\"\n",
     "\"g00", 1, "PCR1: a PCR value holds only hex"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/a/b\n      allow:\n        - {}\n",
     "{}", 1, "names at least one of PCR0, PCR1, PCR2, PCR8"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/a/b\n      allow:\n        - {PCR3: x}\n",
     "PCR3", 1, "unknown key 'PCR3'"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n      "
              "registry: ghcr.io/a/b\n      allow: []\n",
     "[]", 1, "at least one allowed PCR set"},
    /* duplicate names */
    {"logs:\n  - name: a\n    url: https://x.example\n  - name: a\n    url: "
     "https://y.example\n",
     "a\n", 2, "logs[1].name: duplicate log name 'a' (first at 2:11)"},
    {BASE_LOG "watch:\n  - {name: w, repository: a/b}\n  - {name: w, "
              "repository: c/d}\n",
     "w,", 2, "watch[1].name: duplicate watch rule name 'w'"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\n  - {name: t, type: "
              "stdout}\n  - {name: s, type: stdout}\n",
     "s,", 2, "notify[2].name: duplicate sink name 's'"},
    /* sink references */
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\nheartbeat: {every: 1h, "
              "notify: [pager]}\n",
     "pager", 1, "heartbeat.notify[0]: unknown sink 'pager'"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\nreport: {every: 1h, "
              "notify: [s, slack]}\n",
     "slack", 1, "report.notify[1]: unknown sink 'slack'"},
    {BASE_LOG "report: {notify: [s]}\n", "s]", 1,
     "report.notify[0]: unknown sink 's'"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\nheartbeat: {every: 1h, "
              "notify: [s, s]}\n",
     "s]", 1, "sink 's' is listed twice"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\nheartbeat: {every: 1h, "
              "notify: []}\n",
     "[]", 1, "heartbeat.notify: at least one sink"},
    /* enums, integers, names */
    {"logs:\n  - name: r\n    kind: rekor-v3\n    url: https://x.example\n",
     "rekor-v3", 1, "must be one of rekor-v1, rekor-v2, ct, not 'rekor-v3'"},
    {"logs:\n  - name: r\n    url: https://x.example\n    start: -1\n", "-1", 1,
     "start: must be 'latest' or a non-negative log index"},
    {"logs:\n  - name: r\n    url: https://x.example\n    start: early\n",
     "early", 1, "must be 'latest' or a non-negative log index"},
    {"logs:\n  - name: r\n    url: https://x.example\n    start: "
     "18446744073709551616\n",
     "1844", 1, "log index out of range"},
    {"logs:\n  - name: r\n    url: https://x.example\n    start: {a: 1}\n",
     "{a", 1, "not a mapping"},
    {"logs:\n  - name: r\n    url: https://x.example\n    max_concurrency: "
     "0\n",
     "0\n", 1, "must be an integer from 1 to 64"},
    {"logs:\n  - name: r\n    url: https://x.example\n    max_concurrency: "
     "65\n",
     "65", 1, "must be an integer from 1 to 64"},
    {"logs:\n  - name: r\n    url: https://x.example\n    max_concurrency: "
     "-1\n",
     "-1", 1, "must be an integer from 1 to 64"},
    {"logs:\n  - name: r x\n    url: https://x.example\n", "r x", 1,
     "a name may hold only"},
    {BASE_LOG "watch:\n  - name: w\n    repository: acme\n", "acme", 1,
     "watch[0].repository: must be a GitHub repository written owner/repo"},
    {BASE_LOG "watch:\n  - name: w\n    repository: acme/app/x\n", "acme", 1,
     "owner/repo"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    "
              "repository_id: \"12a\"\n",
     "\"12a\"", 1, "repository_id: must be GitHub's numeric repository id"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    allow: "
              "{workflows: [build.yml]}\n",
     "build.yml", 1, "allow.workflows[0]: a workflow is its path"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    allow: {refs: "
              "[main]}\n",
     "main", 1, "allow.refs[0]: a ref is a full git ref"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    allow: "
              "{triggers: [Push]}\n",
     "Push", 1, "allow.triggers[0]: a trigger is a GitHub event name"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    allow: "
              "{runners: [cloud]}\n",
     "cloud", 1, "must be one of github-hosted, self-hosted, not 'cloud'"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout, min_severity: warn}\n",
     "warn", 1, "must be one of info, warning, critical, not 'warn'"},
    {BASE_LOG "notify:\n  - {name: s, type: sms}\n", "sms", 1,
     "notify[0].type: must be one of slack, webhook, exec, stdout, "
     "alertmanager, pagerduty, github_issue, email"},
    /* email */
    {BASE_LOG "notify:\n  - {name: s, type: email, " EMAIL_OK "}\n", "{name: s",
     1, "notify[0]: missing required key 'url'"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"https://m.example\", " EMAIL_OK "}\n",
     "\"https://m", 1, "notify[0].url: an SMTP URL starts with smtps://"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtp://u:p@m.example\", " EMAIL_OK "}\n",
     "\"smtp://u", 1, "use username and password"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example/?x\", " EMAIL_OK "}\n",
     "\"smtps://m", 1, "no query or fragment"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example\", from: \"Me <a@example.org>\", "
              "to: [b@example.org]}\n",
     "\"Me", 1, "notify[0].from: an address is local@domain"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example\", from: a@example.org, to: []}\n",
     "[]", 1, "notify[0].to: must list 1 to 32 addresses"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example\", from: a@example.org, "
              "to: [b@example.org, \"c@d\\r\\nRCPT TO:<e@f>\"]}\n",
     "\"c@d", 1, "notify[0].to[1]: an address is local@domain"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example\", " EMAIL_OK ", username: u}\n",
     "username", 1, "username and password go together"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://m.example\", " EMAIL_OK
              ", ca_file: /nonexistent/ca.pem}\n",
     "/nonexistent", 1, "notify[0].ca_file: /nonexistent/ca.pem: No such file"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtp://mail.example.org\", " EMAIL_OK ", tls: none}\n",
     "none", 1, "notify[0].tls: tls: none is only allowed for a loopback host"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtp://127.0.0.1.example.org\", " EMAIL_OK ", tls: none}\n",
     "none", 1, "only allowed for a loopback host"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtps://127.0.0.1\", " EMAIL_OK ", tls: none}\n",
     "none", 1, "an smtps:// server always speaks TLS"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtp://127.0.0.1\", " EMAIL_OK
              ", username: u, password: p, tls: none}\n",
     "none", 1, "credentials are never sent without TLS"},
    {BASE_LOG "notify:\n  - {name: s, type: email, url: "
              "\"smtp://127.0.0.1\", " EMAIL_OK ", tls: off}\n",
     "off", 1, "notify[0].tls: must be one of required, none, not 'off'"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", tls: none}\n",
     "tls:", 1, "notify[0]: key 'tls' does not apply to type webhook"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", to: [a@example.org]}\n",
     "to:", 1, "notify[0]: key 'to' does not apply to type webhook"},
    {BASE_LOG "notify:\n  - {name: s, type: github_issue, token: t}\n",
     "{name: s", 1, "notify[0]: missing required key 'repository'"},
    {BASE_LOG "notify:\n  - {name: s, type: github_issue, repository: a/b, "
              "token: t, labels: [\"a,b\"]}\n",
     "\"a,b", 1, "notify[0].labels[0]: a label has no comma"},
    {BASE_LOG "notify:\n  - {name: s, type: github_issue, repository: a, "
              "token: t}\n",
     "a, token", 1, "notify[0].repository: must be a GitHub repository"},
    {BASE_LOG "notify:\n  - {name: s, type: pagerduty}\n", "{name: s", 1,
     "notify[0]: missing required key 'routing_key'"},
    {BASE_LOG "notify:\n  - {name: s, type: pagerduty, routing_key: \"a b\"}\n",
     "\"a b", 1, "notify[0].routing_key: a routing key is an integration key"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", routing_key: abc}\n",
     "routing_key", 1,
     "notify[0]: key 'routing_key' does not apply to type webhook"},
    {BASE_LOG "notify:\n  - {name: s, type: pagerduty, routing_key: abc, "
              "url: \"http://pd.example/x\"}\n",
     "\"http://pd", 1, "only allowed for loopback"},
    {BASE_LOG "notify:\n  - {name: s, type: slack, url: "
              "\"https://h.example/x\", format: ocsf}\n",
     "format", 1, "notify[0]: key 'format' does not apply to type slack"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout, format: xml}\n", "xml", 1,
     "notify[0].format: must be one of tlogwatch, cloudevents, ocsf, not "
     "'xml'"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", signing: standard}\n",
     "standard", 1, "notify[0].signing: signing needs a secret"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", signing: stripe, secret: k}\n",
     "stripe", 1, "notify[0].signing: must be one of tlogwatch, standard"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", secret: [a, b]}\n",
     "[a", 1, "notify[0].secret: a list of secrets needs signing: standard"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", signing: standard, secret: abc}\n",
     "abc", 1, "notify[0].secret: signing: standard needs a whsec_ secret"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", signing: standard, secret: "
              "[\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\", whsec_AAAA]}\n",
     "whsec_AAAA", 1,
     "notify[0].secret[1]: signing: standard needs a whsec_ secret"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook, url: "
              "\"https://h.example/x\", resolve_after: 1h}\n",
     "resolve_after", 1,
     "notify[0]: key 'resolve_after' does not apply to type webhook"},
    {BASE_LOG "notify:\n  - {name: s, type: alertmanager, url: "
              "\"https://am.example/?token=x\"}\n",
     "\"https://am", 1,
     "notify[0].url: an Alertmanager URL is its base URL, without a query"},
    {BASE_LOG "notify:\n  - {name: s, type: alertmanager}\n", "{name: s", 1,
     "notify[0]: missing required key 'url'"},
    {BASE_LOG "notify:\n  - {name: s, type: alertmanager, url: "
              "\"https://am.example\", resolve_after: 10s}\n",
     "10s", 1, "notify[0].resolve_after: must be at least 1m"},
    {BASE_LOG "notify:\n  - {name: s, type: alertmanager, url: "
              "\"https://am.example\", format: ocsf}\n",
     "format", 1,
     "notify[0]: key 'format' does not apply to type alertmanager"},
    {BASE_LOG "notify:\n  - {name: s, type: slack, url: "
              "\"https://h.example/x\", secret: abc}\n",
     "secret", 1, "notify[0]: key 'secret' does not apply to type slack"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout, timeout: 5s}\n", "timeout",
     1, "key 'timeout' does not apply to type stdout"},
    {BASE_LOG "notify:\n  - {name: s, type: exec, command: \"/bin/page "
              "-u\"}\n",
     "\"/bin", 1, "without arguments"},
    {BASE_LOG "http: {listen: \"9464\"}\n", "\"9464", 1,
     "http.listen: must be host:port"},
    {BASE_LOG "http: {listen: \"example.com:9464\"}\n", "\"example", 1,
     "the host must be an IP address or localhost"},
    {BASE_LOG "http: {listen: \"127.0.0.1:70000\"}\n", "\"127", 1,
     "the port must be 1..65535"},
    {BASE_LOG "http: {listen: \"0.0.0.0:9464\"}\n", "\"0.0", 1,
     "http.listen: a listen address that is not loopback requires "
     "http.token"},
    {BASE_LOG "http: {listen: \"[::]:9464\"}\n", "\"[::", 1,
     "requires http.token"},
    {BASE_LOG "http: {listen: \"127.0.0.1:9464\", token: shorttoken}\n",
     "shorttoken", 1, "http.token: must be at least 16 bytes"},
    {BASE_LOG "http: {ready_lag: -1}\n", "-1", 1,
     "http.ready_lag: must be an integer"},
    /* missing required fields: reported at the mapping */
    {"logs:\n  - url: https://x.example\n", "url", 1,
     "logs[0]: missing required key 'name'"},
    {"logs:\n  - name: r\n", "name", 1, "logs[0]: missing required key 'url'"},
    {BASE_LOG "watch:\n  - repository: a/b\n", "repository", 1,
     "watch[0]: missing required key 'name'"},
    {BASE_LOG "watch:\n  - name: w\n", "name: w", 1,
     "watch[0]: missing required key 'repository'"},
    {BASE_LOG "notify:\n  - {type: stdout}\n", "{type", 1,
     "notify[0]: missing required key 'name'"},
    {BASE_LOG "notify:\n  - {name: s}\n", "{name: s", 1,
     "notify[0]: missing required key 'type'"},
    {BASE_LOG "notify:\n  - {name: s, type: slack}\n", "{name: s", 1,
     "notify[0]: missing required key 'url'"},
    {BASE_LOG "notify:\n  - {name: s, type: webhook}\n", "{name: s", 1,
     "notify[0]: missing required key 'url'"},
    {BASE_LOG "notify:\n  - {name: s, type: exec}\n", "{name: s", 1,
     "notify[0]: missing required key 'command'"},
    {BASE_LOG "watch:\n  - name: w\n    repository: a/b\n    pcrs: {allow: "
              "[{PCR8: \"" Z96 "\"}]}\n",
     "{allow", 1, "watch[0].pcrs: missing required key 'registry'"},
    {BASE_LOG "notify:\n  - {name: s, type: stdout}\nheartbeat: {notify: "
              "[s]}\n",
     "{notify", 1, "heartbeat: missing required key 'every'"},
    {"state: /tmp/x.db\n", "state", 1, "missing required key 'logs'"},
    {"logs: []\n", "[]", 1, "logs: at least one log is required"},
    /* YAML structure */
    {BASE_LOG "state: a.db\nstate: b.db\n", "state", 2,
     "duplicate key 'state' (first at 4:1)"},
    {BASE_LOG "state: &s a.db\n", "&s", 1, "anchors (&name) are not supported"},
    {BASE_LOG "state: a.db\ntrusted_root: *s\n", "*s", 1,
     "aliases (*name) are not supported"},
    {BASE_LOG "state: !!str a.db\n", "!!str", 1, "tags (!tag) are not"},
    {BASE_LOG "---\nstate: a.db\n", "---", 1, "only one YAML document"},
    {BASE_LOG "? [a]\n: b\n", "[a]", 1, "mapping keys must be plain strings"},
    {"- a\n- b\n", "- a", 1, "the configuration must be a mapping"},
    {"# nothing but a comment\n", "#", 1, "configuration is empty"},
};

static void
test_error_classes(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        expect_one_error(bad_cases[i].text, bad_cases[i].needle,
                         bad_cases[i].nth, bad_cases[i].msg);
    }
}

/* The twins: the same fields with valid values load, with the value. */
static void
test_valid_variants(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = expect_ok("logs:\n  - name: r.1_x-y\n    url: "
                    "HTTP://LOCALHOST:8080/base/\n    kind: rekor-v2\n    "
                    "poll_interval: 500ms\n    stale_after: 2h45m10s500ms\n"
                    "    unreachable_after: 90m\n    start: "
                    "18446744073709551615\n    max_concurrency: 64\n"
                    "  - name: s\n    url: http://127.5.6.7\n    start: "
                    "\"17\"\n    max_concurrency: 1\n"
                    "  - name: t\n    url: http://[::1]:3000/x\n"
                    "  - name: u\n    url: https://[2001:db8::1]:443\n");
    assert_string_equal(cfg->logs[0].url, "HTTP://LOCALHOST:8080/base");
    assert_int_equal(cfg->logs[0].kind, CONFIG_LOG_REKOR_V2);
    assert_int_equal(cfg->logs[0].poll_interval_ms, 500);
    assert_int_equal(cfg->logs[0].stale_after_ms,
                     2 * 3600000 + 45 * 60000 + 10500);
    assert_int_equal(cfg->logs[0].unreachable_after_ms, 90 * 60000);
    assert_int_equal(cfg->logs[0].start_latest, 0);
    assert_true(cfg->logs[0].start_index == UINT64_MAX);
    assert_int_equal(cfg->logs[0].max_concurrency, 64);
    assert_int_equal(cfg->logs[1].start_index, 17);
    assert_int_equal(cfg->logs[1].max_concurrency, 1);
    assert_string_equal(cfg->logs[2].url, "http://[::1]:3000/x");
    config_free(cfg);

    /* kind: ct, an RFC 6962 CT log (url with a path, as Fulcio's) */
    cfg = expect_ok("logs:\n  - name: fulcio-ct\n    kind: ct\n    url: "
                    "https://ctfe.sigstore.dev/2022/\n");
    assert_int_equal(cfg->logs[0].kind, CONFIG_LOG_CT);
    assert_string_equal(cfg->logs[0].url, "https://ctfe.sigstore.dev/2022");
    assert_string_equal(config_log_kind_name(cfg->logs[0].kind), "ct");
    config_free(cfg);

    cfg = expect_ok(BASE_LOG
                    "watch:\n  - name: w\n    repository: "
                    "Owner-1/Repo.Name_x\n    repository_id: 123456\n"
                    "    issuer: https://issuer.example/\n"
                    "    allow:\n      workflows: []\n      refs: "
                    "[\"refs/pull/*/merge\"]\n      runners: [self-hosted]\n"
                    "    pcrs:\n      registry: 127.0.0.1:5000/a/b-c\n"
                    "      allow:\n        - {PCR8: \""
                    "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF01"
                    "23456789ABCDEF0123456789ABCDEF0123456789\"}\n"
                    "      lookup_timeout: 1m\n"
                    "  - name: x\n    repository: a/b\n    pcrs:\n"
                    "      registry: https://localhost/a\n      allow: [{PCR0: "
                    "\"" Z96 "\"}]\n"
                    "notify:\n  - {name: p, type: exec, command: "
                    "/bin/true, timeout: 2s, min_severity: critical}\n"
                    "  - {name: h, type: webhook, url: "
                    "\"http://127.0.0.1:9/h\"}\n"
                    "heartbeat: {every: 10m, notify: [h, p]}\n"
                    "http: {listen: \"[::1]:9464\"}\n");
    assert_string_equal(cfg->watch[0].repository, "owner-1/repo.name_x");
    assert_string_equal(cfg->watch[0].repository_id, "123456");
    assert_string_equal(cfg->watch[0].issuer, "https://issuer.example");
    assert_true(cfg->watch[0].workflows.set);
    assert_int_equal(cfg->watch[0].workflows.n, 0);
    assert_false(cfg->watch[0].triggers.set);
    assert_int_equal(cfg->watch[0].runners, CONFIG_RUNNER_SELF_HOSTED);
    assert_string_equal(cfg->watch[0].pcrs.registry_host, "127.0.0.1:5000");
    assert_string_equal(cfg->watch[0].pcrs.registry_repository, "a/b-c");
    assert_int_equal(cfg->watch[0].pcrs.registry_plain_http, 1);
    assert_null(cfg->watch[0].pcrs.credentials);
    assert_int_equal(cfg->watch[0].pcrs.allow[0].present, 1u << CONFIG_PCR8);
    assert_string_equal(cfg->watch[0].pcrs.allow[0].hex[CONFIG_PCR8],
                        "abcdef0123456789abcdef0123456789abcdef0123456789abcd"
                        "ef0123456789abcdef0123456789abcdef0123456789");
    assert_string_equal(cfg->watch[0].pcrs.allow[0].hex[CONFIG_PCR0], "");
    assert_int_equal(cfg->watch[0].pcrs.lookup_timeout_ms, 60000);
    assert_int_equal(cfg->watch[1].pcrs.registry_plain_http, 0);
    assert_string_equal(cfg->sinks[0].command, "/bin/true");
    assert_int_equal(cfg->sinks[0].timeout_ms, 2000);
    assert_int_equal(cfg->sinks[0].min_severity, CONFIG_SEVERITY_CRITICAL);
    assert_int_equal(cfg->sinks[1].timeout_ms, 0);
    assert_int_equal(cfg->heartbeat.every_ms, 600000);
    assert_int_equal(cfg->heartbeat.notify.n, 2);
    assert_int_equal(cfg->heartbeat.notify.v[0], 1);
    assert_int_equal(cfg->heartbeat.notify.v[1], 0);
    assert_string_equal(cfg->http.host, "::1");
    assert_int_equal(cfg->http.port, 9464);
    config_free(cfg);
}

static void
test_defaults(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = expect_ok(BASE_LOG "watch:\n  - {name: w, repository: a/b}\n"
                             "notify:\n  - {name: e, type: exec, command: "
                             "rel/page}\n");
    assert_string_equal(cfg->path, "t.yaml");
    assert_null(cfg->base_dir);
    assert_string_equal(cfg->state, CONFIG_DEFAULT_STATE);
    assert_string_equal(cfg->state, "/var/lib/tlogwatch/state.db");
    assert_string_equal(cfg->trusted_root, "/etc/tlogwatch/trusted_root.json");
    assert_int_equal(cfg->trusted_root_pos.line, 0);
    assert_int_equal(cfg->logs[0].kind, CONFIG_LOG_REKOR_V1);
    assert_int_equal(cfg->logs[0].poll_interval_ms, 30 * 1000);
    assert_int_equal(cfg->logs[0].start_latest, 1);
    assert_int_equal(cfg->logs[0].max_concurrency, 8);
    assert_int_equal(cfg->logs[0].stale_after_ms, 3600 * 1000);
    assert_int_equal(cfg->logs[0].unreachable_after_ms, 600 * 1000);
    assert_int_equal(cfg->logs[0].pos.line, 2);
    assert_int_equal(cfg->logs[0].pos.col, 5);
    assert_string_equal(cfg->watch[0].issuer,
                        "https://token.actions.githubusercontent.com");
    assert_int_equal(cfg->watch[0].runners, CONFIG_RUNNER_GITHUB_HOSTED);
    assert_false(cfg->watch[0].workflows.set);
    assert_false(cfg->watch[0].refs.set);
    assert_false(cfg->watch[0].pcrs.enabled);
    assert_int_equal(cfg->watch[0].pcrs.lookup_timeout_ms, 15 * 60 * 1000);
    assert_int_equal(cfg->watch[0].record_expected, 0);
    assert_int_equal(cfg->watch[0].unlogged_after_ms,
                     CONFIG_DEFAULT_UNLOGGED_AFTER_MS);
    assert_int_equal(CONFIG_DEFAULT_UNLOGGED_AFTER_MS, 30 * 60 * 1000);
    assert_int_equal(cfg->sinks[0].min_severity, CONFIG_SEVERITY_INFO);
    assert_int_equal(cfg->sinks[0].timeout_ms, 30 * 1000);
    /* config_load_mem: no directory, relative paths stay relative */
    assert_string_equal(cfg->sinks[0].command, "rel/page");
    assert_false(cfg->heartbeat.enabled);
    assert_int_equal(cfg->report.every_ms, 0);
    assert_int_equal(cfg->report.notify.n, 0);
    assert_null(cfg->report.dir);
    assert_null(cfg->http.listen);
    /* retention: nothing is deleted unless asked */
    assert_int_equal(cfg->retention.checkpoints_ms, 0);
    assert_int_equal(cfg->retention.alerts_ms, 0);
    assert_int_equal(cfg->retention.signings_ms, 0);
    assert_int_equal(cfg->retention.pos.line, 0);
    assert_string_equal(config_log_kind_name(CONFIG_LOG_REKOR_V2), "rekor-v2");
    assert_string_equal(config_sink_type_name(CONFIG_SINK_WEBHOOK), "webhook");
    assert_string_equal(config_severity_name(CONFIG_SEVERITY_WARNING),
                        "warning");
    assert_string_equal(config_pcr_name(CONFIG_PCR8), "PCR8");
    assert_string_equal(config_pcr_name(CONFIG_PCR_COUNT), "unknown");
    config_free(cfg);
    config_free(NULL);
    config_errors_free(NULL);
}

/* retention: each kind alone, the three together, 0 and the 1d
 * minimum exactly (the twins of the retention bad cases). */
static void
test_retention(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = expect_ok(BASE_LOG "retention:\n  checkpoints: 400d\n"
                             "  alerts: 1d\n  signings: 0\n");
    assert_int_equal(cfg->retention.checkpoints_ms, 400ULL * 86400000);
    assert_int_equal(cfg->retention.alerts_ms, 86400000);
    assert_int_equal(cfg->retention.signings_ms, 0);
    assert_int_equal(cfg->retention.pos.line, 5);
    assert_int_equal(cfg->retention.pos.col, 3);
    config_free(cfg);

    cfg = expect_ok(BASE_LOG "retention:\n  signings: 24h\n");
    assert_int_equal(cfg->retention.checkpoints_ms, 0);
    assert_int_equal(cfg->retention.alerts_ms, 0);
    assert_int_equal(cfg->retention.signings_ms, 86400000);
    config_free(cfg);

    /* the twins of the retention.signings / unlogged_after bad cases:
     * exactly the longest unlogged_after + 1d, or 0, or no watch rule */
    cfg = expect_ok(BASE_CT "watch:\n  - {name: w, repository: a/b}\n"
                            "retention:\n  signings: 1d30m\n");
    assert_int_equal(cfg->retention.signings_ms, 86400000 + 1800000);
    config_free(cfg);
    /* no CT log followed: no certificate is judged, any retention goes */
    cfg = expect_ok(BASE_LOG "watch:\n  - {name: w, repository: a/b}\n"
                             "retention:\n  signings: 1d\n");
    assert_int_equal(cfg->retention.signings_ms, 86400000);
    config_free(cfg);
    cfg = expect_ok(BASE_CT
                    "watch:\n  - {name: w, repository: a/b, unlogged_after: "
                    "1h}\n  - {name: v, repository: a/c, unlogged_after: "
                    "7d}\nretention: {alerts: 400d, signings: 8d}\n");
    config_free(cfg);
    cfg = expect_ok(BASE_LOG "watch:\n  - {name: w, repository: a/b}\n"
                             "retention:\n  signings: 0\n");
    config_free(cfg);

    cfg = expect_ok(BASE_LOG "retention: {checkpoints: 1d12h, alerts: 0}\n");
    assert_int_equal(cfg->retention.checkpoints_ms, 36ULL * 3600000);
    assert_int_equal(cfg->retention.alerts_ms, 0);
    config_free(cfg);

    cfg = expect_ok(BASE_LOG "retention: {}\n");
    assert_int_equal(cfg->retention.checkpoints_ms, 0);
    assert_int_equal(cfg->retention.alerts_ms, 0);
    assert_int_equal(cfg->retention.signings_ms, 0);
    config_free(cfg);
}

/* A known bad line, positions written out. */
static void
test_exact_position(void **state)
{
    static const char text[] = "logs:\n"
                               "  - name: rekor\n"
                               "    url: https://rekor.sigstore.dev\n"
                               "    poll_interval: 30x\n";
    struct config_errors *errs = NULL;
    char buf[256];

    (void)state;
    assert_null(load_text(text, &errs));
    assert_non_null(errs);
    assert_int_equal(errs->n, 1);
    assert_int_equal(errs->v[0].line, 4);
    assert_int_equal(errs->v[0].col, 20);
    assert_string_equal(config_error_format(&errs->v[0], buf, sizeof(buf)),
                        "t.yaml:4:20: logs[0].poll_interval: bad duration "
                        "'30x': unknown unit (use d, h, m, s or ms)");
    config_errors_free(errs);

    /* twin: the line fixed, no error */
    config_free(expect_ok("logs:\n  - name: rekor\n    url: "
                          "https://rekor.sigstore.dev\n    poll_interval: "
                          "30s\n"));
}

/* Several errors in one file: all reported, in file order, even when the
 * later ones are found first (duplicates and references are cross-checks
 * that run after the sections). */
static void
test_all_errors_together(void **state)
{
    static const char text[] =
        "logs:\n"                                            /* 1 */
        "  - name: a\n"                                      /* 2 */
        "    url: http://rekor.example\n"                    /* 3 */
        "  - name: a\n"                                      /* 4 */
        "    url: https://rekor.example\n"                   /* 5 */
        "    kind: rekor-v9\n"                               /* 6 */
        "watch:\n"                                           /* 7 */
        "  - name: w\n"                                      /* 8 */
        "    repository: nope\n"                             /* 9 */
        "notify:\n"                                          /* 10 */
        "  - {name: s, type: slack, url: \"${TLW_NOPE}\"}\n" /* 11 */
        "heartbeat: {every: 1x, notify: [t]}\n"              /* 12 */
        "bogus: 1\n";                                        /* 13 */
    struct config_errors *errs = NULL;
    size_t i;

    (void)state;
    unsetenv("TLW_NOPE");
    assert_null(load_text(text, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 8);
    assert_true(has_error(errs, 3, 10, "logs[0].url: http://"));
    assert_true(has_error(errs, 4, 11, "duplicate log name 'a'"));
    assert_true(has_error(errs, 6, 11, "rekor-v9"));
    assert_true(has_error(errs, 9, 17, "owner/repo"));
    assert_true(has_error(errs, 11, 33, "TLW_NOPE is not set"));
    assert_true(has_error(errs, 12, 20, "bad duration '1x'"));
    assert_true(has_error(errs, 12, 33, "unknown sink 't'"));
    assert_true(has_error(errs, 13, 1, "unknown key 'bogus'"));
    for (i = 1; i < errs->n; i++) {
        assert_true(errs->v[i - 1].line < errs->v[i].line ||
                    (errs->v[i - 1].line == errs->v[i].line &&
                     errs->v[i - 1].col < errs->v[i].col));
    }
    config_errors_free(errs);
}

/* More than CONFIG_MAX_ERRORS errors: the list is capped and says so. */
static void
test_error_cap(void **state)
{
    char *text = malloc(200 * 16 + 64);
    size_t n, i;
    struct config_errors *errs = NULL;

    (void)state;
    assert_non_null(text);
    n = (size_t)sprintf(text, "%s", BASE_LOG);
    for (i = 0; i < 100; i++) {
        n += (size_t)sprintf(text + n, "k%zu: 1\n", i);
    }
    assert_null(load_text(text, &errs));
    assert_non_null(errs);
    assert_int_equal(errs->n, CONFIG_MAX_ERRORS + 1);
    assert_true(errs->truncated);
    assert_non_null(strstr(errs->v[errs->n - 1].message, "too many errors"));
    config_errors_free(errs);
    errs = NULL;
    /* twin: 50 errors are all kept */
    n = (size_t)sprintf(text, "%s", BASE_LOG);
    for (i = 0; i < 50; i++) {
        n += (size_t)sprintf(text + n, "k%zu: 1\n", i);
    }
    assert_null(load_text(text, &errs));
    assert_int_equal(errs->n, 50);
    assert_false(errs->truncated);
    config_errors_free(errs);
    free(text);
}

/* What libyaml reports for text: the problem mark, 1-based. */
static int
libyaml_error(const char *text, unsigned long *line, unsigned long *col)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int found = 0;

    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            *line = (unsigned long)p.problem_mark.line + 1;
            *col = (unsigned long)p.problem_mark.column + 1;
            found = 1;
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return found;
}

static void
test_syntax_errors(void **state)
{
    static const char *const texts[] = {
        "logs:\n  - name: a\n    url: [unclosed\n",
        "logs:\n  - name: a\n   url: b\n",
        "logs:\n\t- name: a\n",
        "{\"logs\": [{\"name\": \"a\",}\n",
        "logs:\n  - name: \"a\n",
        "logs: x\n  bad: indentation\n",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct config_errors *errs = NULL;
        unsigned long line, col;

        assert_true(libyaml_error(texts[i], &line, &col));
        assert_null(load_text(texts[i], &errs));
        if (errs == NULL || errs->n != 1 ||
            !has_error(errs, line, col, "YAML syntax error")) {
            print_message("case %zu: wanted a syntax error at %lu:%lu\n", i,
                          line, col);
            dump_errors(errs);
            fail();
        }
        config_errors_free(errs);
    }
    /* twin: valid text has no libyaml error and loads */
    assert_false(
        libyaml_error(BASE_LOG, &(unsigned long){0}, &(unsigned long){0}));
    config_free(expect_ok(BASE_LOG));

    /* invalid UTF-8 is a reader error with a position */
    {
        static const char bad[] = BASE_LOG "state: \"a\xff\"\n";
        struct config_errors *errs = NULL;

        assert_null(load_text(bad, &errs));
        assert_non_null(errs);
        assert_int_equal(errs->n, 1);
        assert_int_equal(errs->v[0].line, 4);
        assert_non_null(strstr(errs->v[0].message, "invalid input"));
        config_errors_free(errs);
    }
}

/* ---- sink envelopes, signing, alertmanager ------------------------------ */

static void
test_sink_formats(void **state)
{
    struct config *cfg;
    const struct config_sink *k;
    static const char text[] = BASE_LOG
        "notify:\n"
        "  - {name: ce, type: webhook, url: \"https://h.example/\", "
        "format: cloudevents, signing: standard, secret: "
        "[\"${TLW_WH1}\", \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]}\n"
        "  - {name: o, type: stdout, format: ocsf}\n"
        "  - {name: x, type: exec, command: /bin/true, format: "
        "cloudevents}\n"
        "  - {name: am, type: alertmanager, url: "
        "\"http://127.0.0.1:9093\", resolve_after: 2h}\n"
        "  - {name: am2, type: alertmanager, url: "
        "\"https://am.example\"}\n"
        "  - {name: w, type: webhook, url: \"https://h.example/\", "
        "secret: plain}\n"
        "  - {name: pd, type: pagerduty, routing_key: "
        "R0123456789abcdef0123456789abcdef}\n"
        "  - {name: pd2, type: pagerduty, routing_key: x, url: "
        "\"http://127.0.0.1:8/v2/enqueue\"}\n";

    (void)state;
    setenv("TLW_WH1", "whsec_C2lnbmluZy1rZXktb25lLXRoaXJ0eS10d28tYnl0", 1);
    cfg = expect_ok(text);
    k = config_sink_find(cfg, "ce");
    assert_int_equal(k->format, CONFIG_FORMAT_CLOUDEVENTS);
    assert_int_equal(k->signing, CONFIG_SIGNING_STANDARD);
    assert_string_equal(k->secret,
                        "whsec_C2lnbmluZy1rZXktb25lLXRoaXJ0eS10d28tYnl0");
    assert_int_equal(k->n_secrets_more, 1);
    assert_string_equal(k->secrets_more[0],
                        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_int_equal(config_sink_find(cfg, "o")->format, CONFIG_FORMAT_OCSF);
    assert_int_equal(config_sink_find(cfg, "x")->format,
                     CONFIG_FORMAT_CLOUDEVENTS);
    k = config_sink_find(cfg, "am");
    assert_int_equal(k->type, CONFIG_SINK_ALERTMANAGER);
    assert_string_equal(k->url, "http://127.0.0.1:9093");
    assert_int_equal(k->resolve_after_ms, 2 * 3600000ULL);
    assert_int_equal(config_sink_find(cfg, "am2")->resolve_after_ms,
                     CONFIG_DEFAULT_RESOLVE_AFTER_MS);
    k = config_sink_find(cfg, "w");
    assert_int_equal(k->format, CONFIG_FORMAT_TLOGWATCH);
    assert_int_equal(k->signing, CONFIG_SIGNING_TLOGWATCH);
    assert_int_equal(k->n_secrets_more, 0);
    assert_string_equal(config_sink_type_name(CONFIG_SINK_ALERTMANAGER),
                        "alertmanager");
    k = config_sink_find(cfg, "pd");
    assert_int_equal(k->type, CONFIG_SINK_PAGERDUTY);
    assert_string_equal(k->url, CONFIG_DEFAULT_PAGERDUTY_URL);
    assert_string_equal(k->secret, "R0123456789abcdef0123456789abcdef");
    k = config_sink_find(cfg, "pd2");
    assert_string_equal(k->url, "http://127.0.0.1:8/v2/enqueue");
    config_free(cfg);
    unsetenv("TLW_WH1");
}

/* ---- secrets ---------------------------------------------------------- */

static void
test_env_secrets(void **state)
{
    struct config *cfg;
    static const char text[] =
        BASE_LOG "notify:\n  - {name: s, type: slack, url: "
                 "\"${TLW_SLACK}\"}\n"
                 "  - {name: h, type: webhook, url: "
                 "\"https://hooks.example/${TLW_PART}/in?a=$b\", "
                 "secret: \"${TLW_KEY}${TLW_KEY}\"}\n"
                 "watch:\n  - name: w\n    repository: a/b\n    pcrs:\n"
                 "      registry: ghcr.io/a/b\n"
                 "      credentials: \"${TLW_TOKEN}\"\n"
                 "      allow: [{PCR2: \"" Z96 "\"}]\n";
    struct config_errors *errs = NULL;
    unsigned long line, col;

    (void)state;
    setenv("TLW_SLACK", "https://hooks.slack.com/services/T/B/s3cr3t", 1);
    setenv("TLW_PART", "p4rt", 1);
    setenv("TLW_KEY", "k3y", 1);
    setenv("TLW_TOKEN", "t0ken", 1);
    cfg = expect_ok(text);
    assert_string_equal(cfg->sinks[0].url,
                        "https://hooks.slack.com/services/T/B/s3cr3t");
    assert_string_equal(cfg->sinks[1].url,
                        "https://hooks.example/p4rt/in?a=$b");
    assert_string_equal(cfg->sinks[1].secret, "k3yk3y");
    assert_string_equal(cfg->watch[0].pcrs.credentials, "t0ken");
    config_free(cfg);

    /* twins: a missing variable is an error naming it; an empty one too */
    unsetenv("TLW_KEY");
    setenv("TLW_TOKEN", "", 1);
    assert_null(load_text(text, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 3); /* TLW_KEY twice, TLW_TOKEN empty */
    pos_of(text, "\"${TLW_KEY}", 1, &line, &col);
    assert_true(has_error(errs, line, col,
                          "notify[1].secret: environment variable TLW_KEY is "
                          "not set"));
    pos_of(text, "\"${TLW_TOKEN}", 1, &line, &col);
    assert_true(has_error(errs, line, col,
                          "watch[0].pcrs.credentials: value is empty"));
    config_errors_free(errs);
    errs = NULL;

    expect_one_error(BASE_LOG "notify:\n  - {name: s, type: slack, url: "
                              "\"${TLW_SLACK\"}\n",
                     "\"${", 1, "malformed ${NAME} reference");
    expect_one_error(BASE_LOG "notify:\n  - {name: s, type: slack, url: "
                              "\"${1X}\"}\n",
                     "\"${", 1, "malformed ${NAME} reference");
    /* ${...} is not expanded outside secrets */
    expect_one_error(BASE_LOG "state: \"${TLW_SLACK}\"\nhttp: {listen: "
                              "\"${TLW_SLACK}\"}\n",
                     "\"${TLW_SLACK}\"}", 1, "http.listen: must be host:port");
    unsetenv("TLW_SLACK");
    unsetenv("TLW_PART");
    unsetenv("TLW_TOKEN");
}

static void
test_file_secrets(void **state)
{
    struct fx *fx = *state;
    char cfgpath[PATH_MAX], tok[PATH_MAX], text[2 * PATH_MAX];
    struct config_errors *errs = NULL;
    struct config *cfg;
    char *big;

    write_file(fx, "sec/token", "t0k\n", 4, tok, sizeof(tok));
    write_file(fx, "sec/url", "https://hooks.example/x\r\n", 25, tok,
               sizeof(tok));
    write_file(fx, "sec/empty", "\n", 1, tok, sizeof(tok));
    big = malloc(CONFIG_MAX_STRING + 2);
    assert_non_null(big);
    memset(big, 'a', CONFIG_MAX_STRING + 1);
    write_file(fx, "sec/big", big, CONFIG_MAX_STRING + 1, tok, sizeof(tok));
    write_file(fx, "sec/max", big, CONFIG_MAX_STRING, tok, sizeof(tok));
    free(big);

    /* relative file: paths are relative to the config's directory */
    fmt(text, sizeof(text),
        "%snotify:\n  - {name: h, type: webhook, url: "
        "\"file:sec/url\", secret: \"file:%s/sec/token\"}\n"
        "  - {name: m, type: webhook, url: \"https://h.example\", "
        "secret: \"file:sec/max\"}\n",
        BASE_LOG, fx->dir);
    write_file(fx, "f1.yaml", text, strlen(text), cfgpath, sizeof(cfgpath));
    cfg = config_load(cfgpath, &errs);
    dump_errors(errs);
    assert_non_null(cfg);
    assert_string_equal(cfg->sinks[0].url, "https://hooks.example/x");
    assert_string_equal(cfg->sinks[0].secret, "t0k");
    assert_int_equal(strlen(cfg->sinks[1].secret), CONFIG_MAX_STRING);
    config_free(cfg);

    /* twins: missing, a directory, empty, too large */
    fmt(text, sizeof(text),
        "%snotify:\n"
        "  - {name: a, type: webhook, url: \"file:sec/missing\"}\n"
        "  - {name: b, type: webhook, url: \"file:sec\"}\n"
        "  - {name: c, type: webhook, url: \"file:sec/empty\"}\n"
        "  - {name: d, type: webhook, url: \"file:sec/big\"}\n"
        "  - {name: e, type: webhook, url: \"file:\"}\n",
        BASE_LOG);
    write_file(fx, "f2.yaml", text, strlen(text), cfgpath, sizeof(cfgpath));
    assert_null(config_load(cfgpath, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 5);
    assert_true(has_error(errs, 5, 35, "cannot read secret file"));
    assert_true(has_error(errs, 5, 35, "sec/missing': No such file"));
    assert_true(has_error(errs, 6, 35, "is not a regular file"));
    assert_true(has_error(errs, 7, 35, "is empty"));
    assert_true(has_error(errs, 8, 35, "larger than 4096 bytes"));
    assert_true(has_error(errs, 9, 35, "file: needs a path"));
    config_errors_free(errs);
}

/* Secret values never reach a message, whatever is wrong with them. */
static void
test_secrets_not_in_messages(void **state)
{
    struct fx *fx = *state;
    char cfgpath[PATH_MAX], tok[PATH_MAX], text[2 * PATH_MAX];
    struct config_errors *errs = NULL;
    static const char *const secrets[] = {"SECRETVALUE1", "SECRETVALUE2",
                                          "SECRETVALUE3", "SECRETVALUE4",
                                          "SECRETVALUE5", "SECRETVALUE6"};
    size_t i;

    (void)state;
    setenv("TLW_S1", "http://hooks.example/SECRETVALUE1", 1);
    setenv("TLW_S2", "https://user:SECRETVALUE2@hooks.example/", 1);
    write_file(fx, "sec/bad-url", "ftp://SECRETVALUE3\n", 19, tok, sizeof(tok));
    fmt(text, sizeof(text),
        "%snotify:\n"
        "  - {name: a, type: slack, url: \"${TLW_S1}\"}\n"
        "  - {name: b, type: webhook, url: \"${TLW_S2}\"}\n"
        "  - {name: c, type: webhook, url: \"file:sec/bad-url\"}\n"
        "  - {name: d, type: slack, url: \"http://SECRETVALUE4/x\"}\n"
        "  - {name: e, type: slack, url: [SECRETVALUE5]}\n"
        "  - {name: f, type: stdout, url: SECRETVALUE6}\n"
        "  - {name: g, type: stdout, min_severity: SHOWNVALUE}\n",
        BASE_LOG);
    write_file(fx, "s.yaml", text, strlen(text), cfgpath, sizeof(cfgpath));
    assert_null(config_load(cfgpath, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 7);
    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        assert_false(any_message_has(errs, secrets[i]));
    }
    assert_true(has_error(errs, 5, 33, "notify[0].url: http:// is only"));
    assert_true(has_error(errs, 6, 35, "notify[1].url: URL must not contain"));
    assert_true(has_error(errs, 7, 35, "notify[2].url: URL must start"));
    assert_true(has_error(errs, 8, 33, "notify[3].url: http:// is only"));
    assert_true(has_error(errs, 9, 33, "expected a string, got a list"));
    assert_true(has_error(errs, 10, 29, "key 'url' does not apply"));
    /* the twin: a non-secret value is shown, so the scan above can fail */
    assert_true(any_message_has(errs, "SHOWNVALUE"));
    config_errors_free(errs);
    unsetenv("TLW_S1");
    unsetenv("TLW_S2");
}

/* ---- paths and limits ------------------------------------------------- */

static void
test_relative_paths(void **state)
{
    struct fx *fx = *state;
    char cfgpath[PATH_MAX], sub[PATH_MAX], real[PATH_MAX], want[PATH_MAX * 2];
    struct config_errors *errs = NULL;
    struct config *cfg;
    static const char text[] =
        "state: db/state.db\ntrusted_root: ../root.json\n" BASE_LOG
        "notify:\n  - {name: e, type: exec, command: hooks/page}\n"
        "  - {name: f, type: exec, command: /usr/bin/page}\n"
        "report: {dir: reports}\n";
    char *cwd = getcwd(NULL, 0);

    write_file(fx, "conf/rel.yaml", text, strlen(text), cfgpath,
               sizeof(cfgpath));
    fmt(sub, sizeof(sub), "%s/conf", fx->dir);
    assert_non_null(realpath(sub, real));
    /* load through a relative name from another working directory */
    assert_int_equal(chdir(fx->dir), 0);
    cfg = config_load("conf/rel.yaml", &errs);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    dump_errors(errs);
    assert_non_null(cfg);
    assert_string_equal(cfg->path, "conf/rel.yaml");
    assert_string_equal(cfg->base_dir, real);
    fmt(want, sizeof(want), "%s/db/state.db", real);
    assert_string_equal(cfg->state, want);
    fmt(want, sizeof(want), "%s/../root.json", real);
    assert_string_equal(cfg->trusted_root, want);
    assert_int_equal(cfg->trusted_root_pos.line, 2);
    assert_int_equal(cfg->trusted_root_pos.col, 15);
    fmt(want, sizeof(want), "%s/hooks/page", real);
    assert_string_equal(cfg->sinks[0].command, want);
    assert_string_equal(cfg->sinks[1].command, "/usr/bin/page");
    fmt(want, sizeof(want), "%s/reports", real);
    assert_string_equal(cfg->report.dir, want);
    config_free(cfg);

    /* twin: from memory, nothing is resolved */
    cfg = expect_ok(text);
    assert_string_equal(cfg->state, "db/state.db");
    assert_string_equal(cfg->report.dir, "reports");
    config_free(cfg);
}

/* config_check: the trusted root and the state directory are checked
 * together with everything else, each at its key; config_load (the twin)
 * checks neither. */
static void
test_check_system(void **state)
{
    struct fx *fx = *state;
    char cfgpath[PATH_MAX], rootsrc[PATH_MAX], rootdst[PATH_MAX];
    char sub[PATH_MAX];
    struct config_errors *errs = NULL;
    struct config *cfg;
    unsigned long line, col;
    size_t len;
    char *root;
    static const char broken[] =
        "state: chk-db/state.db\ntrusted_root: chk-missing.json\n"
        "logs:\n  - name: rekor\n    url: https://rekor.sigstore.dev\n"
        "    poll_interval: 30x\n";
    static const char good[] =
        "state: chk-db/state.db\ntrusted_root: chk-root.json\n" BASE_LOG;
    static const char notroot[] =
        "state: chk-db/state.db\ntrusted_root: chk-notroot.json\n" BASE_LOG;
    static const char defaults[] = BASE_LOG;

    /* every error at once: a bad duration hides neither the missing
     * trusted root nor the missing state directory */
    write_file(fx, "chk-broken.yaml", broken, strlen(broken), cfgpath,
               sizeof(cfgpath));
    assert_null(config_check(cfgpath, &errs));
    dump_errors(errs);
    assert_non_null(errs);
    assert_int_equal(errs->n, 3);
    assert_true(has_error(errs, 1, 8, "state: directory "));
    assert_true(has_error(errs, 1, 8, "No such file or directory"));
    assert_true(has_error(errs, 2, 15, "trusted_root: "));
    assert_true(has_error(errs, 2, 15, "chk-missing.json"));
    pos_of(broken, "30x", 1, &line, &col);
    assert_true(has_error(errs, line, col, "bad duration"));
    config_errors_free(errs);
    /* twin: config_load sees only the duration */
    assert_null(config_load(cfgpath, &errs));
    assert_int_equal(errs->n, 1);
    assert_true(has_error(errs, line, col, "bad duration"));
    config_errors_free(errs);

    /* the real root and an existing directory: accepted, though the
     * state file does not exist yet */
    src_path("deploy/trusted_root.json", rootsrc, sizeof(rootsrc));
    root = read_file(rootsrc, &len);
    assert_non_null(root);
    write_file(fx, "chk-root.json", root, len, rootdst, sizeof(rootdst));
    free(root);
    write_file(fx, "chk-good.yaml", good, strlen(good), cfgpath,
               sizeof(cfgpath));
    assert_null(config_check(cfgpath, &errs)); /* no directory yet */
    assert_int_equal(errs->n, 1);
    assert_true(has_error(errs, 1, 8, "state: directory "));
    config_errors_free(errs);
    fmt(sub, sizeof(sub), "%s/chk-db", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    cfg = config_check(cfgpath, &errs);
    dump_errors(errs);
    assert_non_null(cfg);
    assert_null(errs);
    config_free(cfg);

    /* the state path names a directory: not a regular file */
    fmt(sub, sizeof(sub), "%s/chk-db/state.db", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_null(config_check(cfgpath, &errs));
    assert_int_equal(errs->n, 1);
    assert_true(has_error(errs, 1, 8, "is not a regular file"));
    config_errors_free(errs);
    assert_int_equal(rmdir(sub), 0);

    /* the directory is not writable (only checkable when not root:
     * access(2) grants root everything) */
    fmt(sub, sizeof(sub), "%s/chk-db", fx->dir);
    if (getuid() != 0) {
        assert_int_equal(chmod(sub, 0500), 0);
        assert_null(config_check(cfgpath, &errs));
        assert_int_equal(errs->n, 1);
        assert_true(has_error(errs, 1, 8, "is not writable by this user"));
        config_errors_free(errs);
        assert_int_equal(chmod(sub, 0700), 0);
    } else {
        print_message("  (root: the unwritable-directory case is tested as "
                      "nobody by e2e_check_config)\n");
    }

    /* a file that is not a trusted root */
    write_file(fx, "chk-notroot.json", "{\"a\": 1}", 8, rootdst,
               sizeof(rootdst));
    write_file(fx, "chk-notroot.yaml", notroot, strlen(notroot), cfgpath,
               sizeof(cfgpath));
    assert_null(config_check(cfgpath, &errs));
    dump_errors(errs);
    assert_int_equal(errs->n, 1);
    assert_true(has_error(errs, 2, 15, "trusted_root: "));
    config_errors_free(errs);

    /* without the keys the defaults are checked, with no position; what
     * is expected depends on this machine, so ask it */
    write_file(fx, "chk-defaults.yaml", defaults, strlen(defaults), cfgpath,
               sizeof(cfgpath));
    cfg = config_check(cfgpath, &errs);
    {
        int state_ok = access("/var/lib/tlogwatch", W_OK | X_OK) == 0;
        struct stat st;
        int root_there = stat(CONFIG_DEFAULT_TRUSTED_ROOT, &st) == 0;

        dump_errors(errs);
        assert_int_equal(has_error(errs, 0, 0, "state (default): "), !state_ok);
        if (!root_there) {
            assert_true(has_error(errs, 0, 0, "trusted_root (default): "));
        }
        if (state_ok && root_there) {
            assert_non_null(cfg);
        } else {
            assert_null(cfg);
        }
    }
    config_free(cfg);
    config_errors_free(errs);
}

static void
test_file_errors(void **state)
{
    struct fx *fx = *state;
    char path[PATH_MAX], dir[PATH_MAX];
    struct config_errors *errs = NULL;
    char buf[PATH_MAX + 128];
    char *big;

    fmt(path, sizeof(path), "%s/does-not-exist.yaml", fx->dir);
    assert_null(config_load(path, &errs));
    assert_non_null(errs);
    assert_int_equal(errs->n, 1);
    assert_int_equal(errs->v[0].line, 0);
    fmt(dir, sizeof(dir), "%s: cannot open: No such file or directory", path);
    assert_string_equal(config_error_format(&errs->v[0], buf, sizeof(buf)),
                        dir);
    config_errors_free(errs);

    assert_null(config_load(fx->dir, &errs));
    assert_non_null(strstr(errs->v[0].message, "not a regular file"));
    config_errors_free(errs);

    /* exactly CONFIG_MAX_FILE bytes loads; one more does not */
    big = malloc(CONFIG_MAX_FILE + 1);
    assert_non_null(big);
    memset(big, ' ', CONFIG_MAX_FILE + 1);
    memcpy(big, BASE_LOG "#", strlen(BASE_LOG "#"));
    big[CONFIG_MAX_FILE - 1] = '\n';
    write_file(fx, "max.yaml", big, CONFIG_MAX_FILE, path, sizeof(path));
    config_free(config_load(path, &errs));
    dump_errors(errs);
    assert_null(errs);
    big[CONFIG_MAX_FILE - 1] = ' ';
    big[CONFIG_MAX_FILE] = '\n';
    write_file(fx, "big.yaml", big, CONFIG_MAX_FILE + 1, path, sizeof(path));
    assert_null(config_load(path, &errs));
    assert_non_null(errs);
    assert_non_null(strstr(errs->v[0].message, "larger than 1048576"));
    config_errors_free(errs);
    assert_null(config_load_mem(big, CONFIG_MAX_FILE + 1, "m", &errs));
    assert_non_null(strstr(errs->v[0].message, "larger than 1048576"));
    config_errors_free(errs);
    free(big);
}

static void
test_limits(void **state)
{
    char *text = malloc(64 * 1024);
    size_t n, i;
    struct config_errors *errs = NULL;
    struct config *cfg;

    (void)state;
    assert_non_null(text);

    /* depth: the root map is level 1; 16 levels parse, 17 do not */
    n = (size_t)sprintf(text, "%sstate: ", BASE_LOG);
    for (i = 0; i < 15; i++) {
        text[n++] = '[';
    }
    for (i = 0; i < 15; i++) {
        text[n++] = ']';
    }
    strcpy(text + n, "\n");
    assert_null(load_text(text, &errs));
    assert_int_equal(errs->n, 1);
    assert_non_null(strstr(errs->v[0].message, "expected a string"));
    config_errors_free(errs);
    n = (size_t)sprintf(text, "%sstate: ", BASE_LOG);
    for (i = 0; i < 16; i++) {
        text[n++] = '[';
    }
    for (i = 0; i < 16; i++) {
        text[n++] = ']';
    }
    strcpy(text + n, "\n");
    assert_null(load_text(text, &errs));
    assert_int_equal(errs->n, 1);
    assert_int_equal(errs->v[0].line, 4);
    assert_int_equal(errs->v[0].col, 23);
    assert_non_null(strstr(errs->v[0].message, "nesting deeper than 16"));
    config_errors_free(errs);

    /* items: 256 workflows load, 257 do not */
    n = (size_t)sprintf(text,
                        "%swatch:\n  - name: w\n    repository: a/b\n"
                        "    allow:\n      workflows: [",
                        BASE_LOG);
    for (i = 0; i < CONFIG_MAX_ITEMS; i++) {
        n += (size_t)sprintf(text + n, "%s.github/workflows/%zu.yml",
                             i ? ", " : "", i);
    }
    strcpy(text + n, "]\n");
    cfg = expect_ok(text);
    assert_int_equal(cfg->watch[0].workflows.n, CONFIG_MAX_ITEMS);
    config_free(cfg);
    strcpy(text + n, ", .github/workflows/x.yml]\n");
    expect_one_error(text, ".github/workflows/x.yml", 1,
                     "list has more than 256 items");

    /* strings: 4096 bytes load, 4097 do not */
    n = (size_t)sprintf(text,
                        "%swatch:\n  - name: w\n    repository: a/b\n"
                        "    allow: {refs: [\"refs/",
                        BASE_LOG);
    memset(text + n, 'x', CONFIG_MAX_STRING - 5);
    strcpy(text + n + CONFIG_MAX_STRING - 5, "\"]}\n");
    cfg = expect_ok(text);
    assert_int_equal(strlen(cfg->watch[0].refs.v[0]), CONFIG_MAX_STRING);
    config_free(cfg);
    memset(text + n, 'x', CONFIG_MAX_STRING - 4);
    strcpy(text + n + CONFIG_MAX_STRING - 4, "\"]}\n");
    expect_one_error(text, "\"refs/", 1, "string longer than 4096 bytes");

    /* a NUL byte inside a quoted scalar */
    expect_one_error(BASE_LOG "state: \"a\\0b\"\n", "\"a", 1,
                     "contains a NUL byte");
    free(text);
}

/* ---- pure value checks ------------------------------------------------ */

static void
test_durations(void **state)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } good[] = {
        {"30s", 30000},
        {"10m", 600000},
        {"1h", 3600000},
        {"24h", 86400000},
        {"1h30m", 5400000},
        {"500ms", 500},
        {"1ms", 1},
        {"1h0m", 3600000},
        {"90m", 5400000},
        {"007s", 7000},
        {"2h3m4s5ms", 7384005},
        {"876000h", 876000ULL * 3600000},
        {"1d", 86400000},
        {"400d", 400ULL * 86400000},
        {"1d12h", 36ULL * 3600000},
        {"36500d", 36500ULL * 86400000},
    };
    static const char *const bad[] = {
        "",        "-5s",  "+5s",  "30",   "5x",     "1.5h",
        "30m1h",   "1s1s", "0s",   "0h0m", "s",      " 5s",
        "5 s",     "5S",   "1w",   "ms",   "1m-1s",  "99999999999999999999s",
        "876001h", "5sm",  "1h1d", "1d1d", "36501d", "0d",
        "1D",      "d",
    };
    size_t i;
    uint64_t ms;
    const char *why;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        why = NULL;
        if (config_parse_duration(good[i].s, strlen(good[i].s), &ms, &why) !=
                0 ||
            ms != good[i].ms) {
            fail_msg("duration '%s': %s", good[i].s, why ? why : "wrong");
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (config_parse_duration(bad[i], strlen(bad[i]), &ms, &why) == 0) {
            fail_msg("duration '%s' accepted", bad[i]);
        }
        assert_non_null(why);
    }
    /* length is honoured: "30s" seen as "3" */
    assert_int_equal(config_parse_duration("30s", 1, &ms, &why), -1);
}

static void
test_urls(void **state)
{
    static const char *const good[] = {
        "https://rekor.sigstore.dev",
        "https://rekor.sigstore.dev:443/api/v1?x=1#f",
        "HTTPS://Rekor.Sigstore.Dev",
        "http://127.0.0.1",
        "http://127.255.0.9:8080/x",
        "http://localhost",
        "http://LOCALHOST:1/",
        "http://[::1]:65535/",
        "https://[2001:db8::1]/",
        "https://10.0.0.1/",
    };
    static const char *const bad[] = {
        "http://example.com",
        "http://128.0.0.1/",
        "http://126.0.0.1/",
        "http://127.0.0.1.example.com/",
        "http://localhost.example.com/",
        "http://[::2]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0x7f000001/",
        "http://127.1/",
        "https://user@rekor.sigstore.dev",
        "https://u:p@rekor.sigstore.dev",
        "http://u@127.0.0.1/",
        "ftp://rekor.sigstore.dev",
        "rekor.sigstore.dev",
        "https://",
        "https:///path",
        "https://host:",
        "https://host:0",
        "https://host:65536",
        "https://host:123456",
        "https://host:8a",
        "https://ho st/",
        "https://host/\x01",
        "https://h\xc3\xa9st/",
        "https://[::1/",
        "https://[zz::1]/",
        "https://[::1]x/",
    };
    size_t i;
    const char *why;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        why = NULL;
        if (config_value_url(good[i], &why) != 0) {
            fail_msg("url '%s' rejected: %s", good[i], why);
        }
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (config_value_url(bad[i], &why) == 0) {
            fail_msg("url '%s' accepted", bad[i]);
        }
    }
}

static void
test_value_checks(void **state)
{
    static const char *const good_repos[] = {"a/b", "Acme-1/app.x_y-z",
                                             "a/.github"};
    static const char *const bad_repos[] = {"a",     "a/",   "/b",  "a/b/c",
                                            "a b/c", "-a/b", "a/.", "a/..",
                                            "a_b/c", "a/b c"};
    static const char *const good_names[] = {"a", "rekor-v2", "A.b_c-9"};
    static const char *const bad_names[] = {"",
                                            "-a",
                                            ".a",
                                            "a b",
                                            "a/b",
                                            "a:b",
                                            "a23456789012345678901234567890123"
                                            "45678901234567890123456789012345"};
    static const char *const good_listen[] = {"127.0.0.1:9464", "[::1]:1",
                                              "0.0.0.0:65535", "localhost:80"};
    static const char *const bad_listen[] = {
        "9464",    ":9464",  "127.0.0.1:",  "127.0.0.1:0",   "[::1]9464",
        "host:80", "::1:80", "1.2.3.4:+80", "1.2.3.4:080000"};
    static const char *const good_reg[] = {"ghcr.io/a/b", "localhost:5000/x",
                                           "https://ghcr.io/a",
                                           "http://[::1]:5000/a/b"};
    static const char *const bad_reg[] = {
        "ghcr.io",       "ghcr.io/",    "ghcr.io/A",        "ghcr.io/a//b",
        "ghcr.io/a:tag", "u@ghcr.io/a", "http://ghcr.io/a", "/a",
        "ghcr.io:0/a",   "ghcr.io/-a"};
    size_t i;
    const char *why;
    char *h = NULL, *r = NULL;
    unsigned port;
    int plain;
    uint64_t v;

    (void)state;
    for (i = 0; i < sizeof(good_repos) / sizeof(good_repos[0]); i++) {
        assert_int_equal(config_value_repository(good_repos[i], &why), 0);
    }
    for (i = 0; i < sizeof(bad_repos) / sizeof(bad_repos[0]); i++) {
        if (config_value_repository(bad_repos[i], &why) == 0) {
            fail_msg("repository '%s' accepted", bad_repos[i]);
        }
    }
    for (i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
        assert_int_equal(config_value_name(good_names[i], &why), 0);
    }
    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        if (config_value_name(bad_names[i], &why) == 0) {
            fail_msg("name '%s' accepted", bad_names[i]);
        }
    }
    for (i = 0; i < sizeof(good_listen) / sizeof(good_listen[0]); i++) {
        assert_int_equal(config_value_listen(good_listen[i], &h, &port, &why),
                         0);
        free(h);
        h = NULL;
    }
    for (i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++) {
        if (config_value_listen(bad_listen[i], &h, &port, &why) == 0) {
            fail_msg("listen '%s' accepted", bad_listen[i]);
        }
    }
    for (i = 0; i < sizeof(good_reg) / sizeof(good_reg[0]); i++) {
        assert_int_equal(
            config_value_registry(good_reg[i], &h, &r, &plain, &why), 0);
        free(h);
        free(r);
    }
    assert_int_equal(
        config_value_registry("http://[::1]:5000/a/b", &h, &r, &plain, &why),
        0);
    assert_string_equal(h, "[::1]:5000");
    assert_string_equal(r, "a/b");
    assert_int_equal(plain, 1);
    free(h);
    free(r);
    for (i = 0; i < sizeof(bad_reg) / sizeof(bad_reg[0]); i++) {
        if (config_value_registry(bad_reg[i], &h, &r, &plain, &why) == 0) {
            fail_msg("registry '%s' accepted", bad_reg[i]);
        }
    }
    assert_int_equal(config_value_uint("18446744073709551615", UINT64_MAX, &v),
                     0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(config_value_uint("18446744073709551616", UINT64_MAX, &v),
                     -1);
    assert_int_equal(config_value_uint("65", 64, &v), -1);
    assert_int_equal(config_value_uint("", 64, &v), -1);
    assert_int_equal(config_value_uint("6a", 64, &v), -1);
    assert_int_equal(config_value_is_loopback("127.0.0.1", 9), 1);
    assert_int_equal(config_value_is_loopback("127.0.0.1", 8), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_config),
        cmocka_unit_test(test_default_config_broken),
        cmocka_unit_test(test_full_example),
        cmocka_unit_test(test_full_example_without_env),
        cmocka_unit_test(test_json_equivalence),
        cmocka_unit_test(test_email_sink),
        cmocka_unit_test(test_json_difference),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_exact_position),
        cmocka_unit_test(test_all_errors_together),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_env_secrets),
        cmocka_unit_test(test_file_secrets),
        cmocka_unit_test(test_secrets_not_in_messages),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_check_system),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_http_token),
        cmocka_unit_test(test_value_checks),
        cmocka_unit_test(test_sink_formats),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
