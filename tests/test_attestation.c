/*
 * test_attestation.c: the attestation answer (monitor/view/attestation.h)
 * and its store query (store_signings_by_pcrs) against a real sqlite
 * state populated through the store's own API (store_record_ahead, as
 * the follower records signings; store_signing_set_pcrs, as the PCR
 * lookup completes one), with documents minted by a test CA shaped like
 * AWS's (tests/tools/nitro_mint.h) so that the PCRs can be chosen, and
 * the real debug-mode document of $TLOGWATCH_TESTDATA/nitro.
 *
 * Signings (rule app, log rekor):
 *   10  allowed, PCRs A (no PCR8), an info signing.recorded alert
 *   11  allowed, PCRs B, then a critical signing.unknown_pcrs alert
 *   12  allowed, PCRs C with PCR8 X
 *   13  allowed, lookup pending; set to PCRs D by store_signing_set_pcrs
 * What must hold: A gives known_build, clean, naming commit, run URL, log
 * and index; A with PCR2 changed gives unknown_build; B gives
 * known_build but not clean (alerted); C with PCR8 X or zero gives
 * known_build, with another PCR8 unknown_build; A with any PCR8 gives
 * known_build (the signing recorded none); D only after the lookup
 * recorded it; a stale document with max_age, a wrong or missing nonce,
 * a future timestamp, and the AWS root for a test document give invalid
 * naming the check; the real debug-mode document gives debug_mode with
 * no lookup (no store needed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/store/store.h"
#include "monitor/view/attestation.h"
#include "notify/alert.h"
#include "tests/tools/nitro_mint.h"

#define T0 1700000000

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
    int64_t log_id;
    struct nitro_mint_ca *ca;
    int64_t now;
    char pcr[4][4][97]; /* sets A..D, PCR0 PCR1 PCR2 PCR8 */
};

static void
fill(char out[97], char c)
{
    memset(out, c, 96);
    out[96] = '\0';
}

static struct store_signing
signing(struct fx *f, uint64_t index, int set, const char *state)
{
    struct store_signing g;
    static char sha[8][41];

    memset(&g, 0, sizeof(g));
    snprintf(sha[index % 8], sizeof(sha[0]), "%040llx",
             (unsigned long long)(0xc0ffee00 + index));
    g.log_index = index;
    g.shard_index = index;
    g.uuid = "24296fb24b8ad77a00aa";
    g.kind = "hashedrekord";
    g.integrated_time = T0;
    g.cert_sha256 = "11bb";
    g.repository = "acme/enclave-app";
    g.workflow_path = ".github/workflows/build-eif.yml";
    g.ref = "refs/heads/main";
    g.workflow_sha = sha[index % 8];
    g.runner_environment = "github-hosted";
    g.trigger = "push";
    g.run_invocation_uri =
        "https://github.com/acme/enclave-app/actions/runs/4242/attempts/1";
    g.rule = "app";
    g.verdict = "allowed";
    g.pcrs_state = state;
    g.pcrs_source = "signature";
    if (set >= 0) {
        g.pcr0 = f->pcr[set][0];
        g.pcr1 = f->pcr[set][1];
        g.pcr2 = f->pcr[set][2];
        g.pcr8 = set == 2 ? f->pcr[set][3] : NULL;
    }
    return g;
}

static void
alert_about(struct fx *f, const char *type, const char *key, uint64_t index)
{
    json_t *a = notify_alert_new(type, key, "about an entry", T0 + 1);
    struct store_alert sa;
    char *body;

    assert_non_null(a);
    body = notify_alert_render(a);
    assert_non_null(body);
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = type;
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = T0 + 1;
    sa.has_index = 1;
    sa.log_index = index;
    sa.rule = "app";
    sa.body = body;
    if (store_alert_record(f->s, f->log_id, &sa, NULL) != 0) {
        fail_msg("alert: %s", store_errmsg(f->s));
    }
    free(body);
    json_decref(a);
}

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct store_signing g[4];
    struct merkle_range empty;
    char err[STORE_ERRMSG_MAX];
    int i, k;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tlw-att-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    f->s = store_open(f->path, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    if (f->s == NULL) {
        fail_msg("store_open: %s", err);
    }
    for (i = 0; i < 4; i++) {
        for (k = 0; k < 4; k++) {
            fill(f->pcr[i][k], "abcd"[i]);
            f->pcr[i][k][95] = (char)('0' + k); /* PCRs differ */
        }
    }
    /* Uppercase PCR8 of set C in the store: compared case-insensitively. */
    fill(f->pcr[2][3], 'E');
    assert_int_equal(
        store_log_open(f->s, "rekor", "rekor.example - 1", T0, &f->log_id), 0);
    merkle_range_init(&empty);
    if (store_cursor_seed(f->s, f->log_id, 0, &empty, T0) != 0) {
        fail_msg("seed: %s", store_errmsg(f->s));
    }
    g[0] = signing(f, 10, 0, "found");
    g[1] = signing(f, 11, 1, "found");
    g[2] = signing(f, 12, 2, "found");
    g[3] = signing(f, 13, -1, "pending");
    if (store_record_ahead(f->s, f->log_id, NULL, 0, g, 4, T0, NULL) != 0) {
        fail_msg("record: %s", store_errmsg(f->s));
    }
    alert_about(f, "signing.recorded", "r10", 10);
    alert_about(f, "signing.unknown_pcrs", "u11", 11);
    f->now = (int64_t)time(NULL);
    f->ca = nitro_mint_ca_new(f->now - 86400 * 365, f->now + 86400 * 365,
                              f->now - 86400, f->now + 86400);
    assert_non_null(f->ca);
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    store_close(f->s);
    nitro_mint_ca_free(f->ca);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

/* A minted document with set's PCR0..2 (set < 0: all zero), PCR8 pcr8
 * (NULL: zero), timestamp now - age, nonce 01 02 03. */
static uint8_t *
mint(struct fx *f, int set, const char *pcr8, int64_t age, size_t *len)
{
    static const uint8_t nonce[3] = {1, 2, 3};
    struct nitro_mint_doc d;
    int k;

    memset(&d, 0, sizeof(d));
    d.timestamp_ms = (uint64_t)(f->now - age) * 1000 + 7;
    d.pcr_present = 0xffff;
    for (k = 0; k < 3 && set >= 0; k++) {
        assert_int_equal(merkle_hex_decode(f->pcr[set][k], 96, d.pcrs[k], 48),
                         48);
    }
    if (pcr8 != NULL) {
        assert_int_equal(merkle_hex_decode(pcr8, 96, d.pcrs[8], 48), 48);
    }
    d.nonce = nonce;
    d.nonce_len = sizeof(nonce);
    return nitro_mint(f->ca, &d, len);
}

struct outcome {
    enum attestation_verdict verdict;
    int clean;
    json_t *answer;
};

/* Check buf with root (NULL: the test CA's) and the given options. */
static struct outcome
run(struct fx *f, const uint8_t *buf, size_t len, X509 *root,
    const uint8_t *nonce, size_t nonce_len, int64_t max_age)
{
    struct attestation_opts o;
    struct attestation a;
    struct outcome out;
    char why[NITRO_WHY_MAX], err[256];

    memset(&o, 0, sizeof(o));
    o.root = root != NULL ? root : f->ca->cert[0];
    o.nonce = nonce;
    o.nonce_len = nonce_len;
    o.max_age_s = max_age;
    o.now = f->now;
    if (attestation_check(buf, len, &o, &a, why) != 0) {
        fail_msg("check: %s", why);
    }
    out.answer = attestation_answer(&a, a.needs_lookup ? f->s : NULL,
                                    &out.verdict, &out.clean, err, sizeof(err));
    if (out.answer == NULL) {
        fail_msg("answer: %s", err);
    }
    attestation_release(&a);
    /* The answer's verdict is the one returned. */
    assert_string_equal(
        json_string_value(json_object_get(out.answer, "verdict")),
        attestation_verdict_str(out.verdict));
    assert_non_null(json_string_value(json_object_get(out.answer, "summary")));
    return out;
}

static const char *
sget(const json_t *o, const char *path1, const char *path2)
{
    const json_t *v = json_object_get(o, path1);

    if (path2 != NULL) {
        v = json_object_get(v, path2);
    }
    return json_string_value(v);
}

static void
test_known_build(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *buf = mint(f, 0, NULL, 10, &len);
    struct outcome r = run(f, buf, len, NULL, NULL, 0, 0);
    json_t *g = json_array_get(json_object_get(r.answer, "signings"), 0);

    assert_non_null(buf);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    assert_true(r.clean);
    assert_int_equal(json_array_size(json_object_get(r.answer, "signings")), 1);
    assert_string_equal(sget(g, "commit", NULL),
                        "00000000000000000000000000000000c0ffee0a");
    assert_string_equal(
        sget(g, "run_url", NULL),
        "https://github.com/acme/enclave-app/actions/runs/4242/attempts/1");
    assert_string_equal(sget(g, "log", "name"), "rekor");
    assert_string_equal(sget(g, "log", "origin"), "rekor.example - 1");
    assert_int_equal(json_integer_value(json_object_get(g, "log_index")), 10);
    assert_string_equal(sget(g, "verdict", NULL), "allowed");
    assert_string_equal(sget(g, "pcrs_source", NULL), "signature");
    assert_true(json_is_false(json_object_get(g, "alerted")));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r.answer, "checks"), "pcrs"),
            "outcome")),
        "pass");
    assert_string_equal(sget(r.answer, "document", "module_id"),
                        "i-0123456789abcdef0-enc0123456789abcd");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r.answer, "document"), "pcrs"),
            "PCR0")),
        f->pcr[0][0]);
    assert_string_equal(sget(r.answer, "document", "nonce"), "010203");
    assert_int_equal(json_array_size(json_object_get(r.answer, "reasons")), 0);
    json_decref(r.answer);
    free(buf);

    /* Twin: PCR2 changed: no signing explains it. */
    f->pcr[0][2][0] = '9';
    buf = mint(f, 0, NULL, 10, &len);
    f->pcr[0][2][0] = 'a';
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_UNKNOWN_BUILD);
    assert_false(r.clean);
    assert_int_equal(json_array_size(json_object_get(r.answer, "signings")), 0);
    json_decref(r.answer);
    free(buf);

    /* A with a non-zero PCR8: the signing recorded none, still known. */
    buf = mint(f, 0, f->pcr[3][3], 10, &len);
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    free(buf);
}

static void
test_alerted_signing(void **state)
{
    struct fx *f = *state;
    size_t len;
    uint8_t *buf = mint(f, 1, NULL, 10, &len);
    struct outcome r = run(f, buf, len, NULL, NULL, 0, 0);
    json_t *g = json_array_get(json_object_get(r.answer, "signings"), 0);

    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    assert_false(r.clean); /* exit 1 */
    assert_true(json_is_true(json_object_get(g, "alerted")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(g, "alerts"), 0)),
        "signing.unknown_pcrs");
    assert_string_equal(sget(g, "verdict", NULL), "unknown_pcrs");
    assert_non_null(strstr(sget(r.answer, "summary", NULL), "alert"));
    json_decref(r.answer);
    free(buf);
}

static void
test_pcr8(void **state)
{
    struct fx *f = *state;
    char other[97], lower[97];
    size_t len, i;
    uint8_t *buf;
    struct outcome r;

    for (i = 0; i < 96; i++) {
        lower[i] = (char)(f->pcr[2][3][i] | 0x20);
    }
    lower[96] = '\0';
    /* the recorded PCR8 (stored uppercase, here lowercase): known */
    buf = mint(f, 2, lower, 10, &len);
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    free(buf);
    /* PCR8 zero (an unsigned EIF's document): PCR0..2 decide */
    buf = mint(f, 2, NULL, 10, &len);
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    free(buf);
    /* another PCR8: unknown */
    fill(other, '7');
    buf = mint(f, 2, other, 10, &len);
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_UNKNOWN_BUILD);
    json_decref(r.answer);
    free(buf);
}

/* The PCR lookup's own write path makes a signing findable. */
static void
test_found_later(void **state)
{
    struct fx *f = *state;
    struct store_pcrs_update u;
    size_t len;
    uint8_t *buf = mint(f, 3, NULL, 10, &len);
    struct outcome r = run(f, buf, len, NULL, NULL, 0, 0);

    assert_int_equal(r.verdict, ATTESTATION_UNKNOWN_BUILD);
    json_decref(r.answer);
    memset(&u, 0, sizeof(u));
    u.state = "found";
    u.pcr0 = f->pcr[3][0];
    u.pcr1 = f->pcr[3][1];
    u.pcr2 = f->pcr[3][2];
    u.source = "attestation";
    if (store_signing_set_pcrs(f->s, f->log_id, 13, "11bb", "app", &u, NULL,
                               T0 + 5, NULL) != 0) {
        fail_msg("set_pcrs: %s", store_errmsg(f->s));
    }
    r = run(f, buf, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    assert_true(r.clean);
    assert_string_equal(
        sget(json_array_get(json_object_get(r.answer, "signings"), 0),
             "pcrs_source", NULL),
        "attestation");
    json_decref(r.answer);
    free(buf);
}

/* Fails check name; the first reason names it. */
static void
invalid_naming(struct outcome r, const char *name)
{
    const char *first = json_string_value(
        json_array_get(json_object_get(r.answer, "reasons"), 0));
    const json_t *c =
        json_object_get(json_object_get(r.answer, "checks"), name);

    assert_int_equal(r.verdict, ATTESTATION_INVALID);
    assert_false(r.clean);
    assert_non_null(first);
    assert_int_equal(strncmp(first, name, strlen(name)), 0);
    assert_string_equal(json_string_value(json_object_get(c, "outcome")),
                        "fail");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r.answer, "checks"), "pcrs"),
            "outcome")),
        "skipped");
    json_decref(r.answer);
}

static void
test_invalid(void **state)
{
    static const uint8_t right[3] = {1, 2, 3}, wrong[3] = {1, 2, 4};
    struct fx *f = *state;
    size_t len;
    uint8_t *stale = mint(f, 0, NULL, 7200, &len), *buf;
    X509 *aws = nitro_root_default();
    struct outcome r;

    /* 2 h old: fine without --max-age or with 3h, invalid with 1h */
    r = run(f, stale, len, NULL, NULL, 0, 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    r = run(f, stale, len, NULL, NULL, 0, 3 * 3600);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    invalid_naming(run(f, stale, len, NULL, NULL, 0, 3600), "max_age");
    free(stale);
    /* from the future (ten minutes ahead) with --max-age */
    buf = mint(f, 0, NULL, -600, &len);
    invalid_naming(run(f, buf, len, NULL, NULL, 0, 3600), "max_age");
    free(buf);
    /* the nonce */
    buf = mint(f, 0, NULL, 10, &len);
    r = run(f, buf, len, NULL, right, sizeof(right), 0);
    assert_int_equal(r.verdict, ATTESTATION_KNOWN_BUILD);
    json_decref(r.answer);
    invalid_naming(run(f, buf, len, NULL, wrong, sizeof(wrong), 0), "nonce");
    invalid_naming(run(f, buf, len, NULL, right, 2, 0), "nonce");
    /* the AWS root is not this document's anchor */
    invalid_naming(run(f, buf, len, aws, NULL, 0, 0), "chain");
    free(buf);
    X509_free(aws);
}

static void
test_real_debug_mode(void **state)
{
    struct fx *f = *state;
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char path[4096], text[8192];
    uint8_t raw[NITRO_MAX_BYTES];
    char why[NITRO_WHY_MAX], err[128];
    struct attestation_opts o;
    struct attestation a;
    enum attestation_verdict v;
    json_t *ans;
    FILE *fp;
    size_t n;
    long len;
    int clean;

    (void)f;
    assert_non_null(base);
    snprintf(path, sizeof(path), "%s/nitro/attestation-debug-valid.cose.b64",
             base);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof(text), fp);
    fclose(fp);
    len = nitro_decode_input((const uint8_t *)text, n, raw, sizeof(raw), why);
    assert_true(len > 0);
    memset(&o, 0, sizeof(o));
    o.root = nitro_root_default();
    o.now = (int64_t)time(NULL);
    assert_int_equal(attestation_check(raw, (size_t)len, &o, &a, why), 0);
    assert_false(a.needs_lookup);
    ans = attestation_answer(&a, NULL, &v, &clean, err, sizeof(err));
    assert_non_null(ans);
    assert_int_equal(v, ATTESTATION_DEBUG_MODE);
    assert_false(clean);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(ans, "checks"), "chain"),
            "outcome")),
        "pass");
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(ans, "root"), "sha256")),
        "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
    json_decref(ans);
    attestation_release(&a);
    X509_free(o.root);
}

static void
test_store_query_args(void **state)
{
    struct fx *f = *state;
    char bad[97];

    fill(bad, 'g');
    assert_int_equal(store_signings_by_pcrs(f->s, bad, f->pcr[0][1],
                                            f->pcr[0][2], NULL, 0, NULL, NULL),
                     -1);
    assert_int_equal(store_signings_by_pcrs(f->s, "00", f->pcr[0][1],
                                            f->pcr[0][2], NULL, 0, NULL, NULL),
                     -1);
    assert_int_equal(store_signings_by_pcrs(f->s, f->pcr[0][0], f->pcr[0][1],
                                            f->pcr[0][2], "zz", 0, NULL, NULL),
                     -1);
}

/* attestation.root: a PEM certificate is taken; anything else refused at
 * load, with the key named. */
static void
test_config_root(void **state)
{
    struct fx *f = *state;
    struct config_errors *errs = NULL;
    struct config *cfg;
    char path[256], text[1024];
    char *pem = nitro_mint_root_pem(f->ca);
    FILE *fp;

    assert_non_null(pem);
    snprintf(path, sizeof(path), "%s/root.pem", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(pem, fp);
    fclose(fp);
    free(pem);
    snprintf(text, sizeof(text),
             "state: /nonexistent/state.db\n"
             "logs:\n  - {name: rekor, url: https://rekor.example}\n"
             "attestation:\n  root: %s\n",
             path);
    cfg = config_load_mem(text, strlen(text), "t.yaml", &errs);
    if (cfg == NULL) {
        fail_msg("config: %s", errs->n > 0 ? errs->v[0].message : "?");
    }
    assert_string_equal(cfg->attestation_root, path);
    config_free(cfg);
    /* twins: not a certificate (the state file), a missing file, an
     * unknown key */
    snprintf(text, sizeof(text),
             "state: /nonexistent/state.db\n"
             "logs:\n  - {name: rekor, url: https://rekor.example}\n"
             "attestation:\n  root: %s\n",
             f->path);
    assert_null(config_load_mem(text, strlen(text), "t.yaml", &errs));
    assert_non_null(errs);
    assert_non_null(strstr(errs->v[0].message, "attestation.root"));
    assert_non_null(strstr(errs->v[0].message, "no PEM certificate"));
    config_errors_free(errs);
    errs = NULL;
    snprintf(text, sizeof(text),
             "state: /nonexistent/state.db\n"
             "logs:\n  - {name: rekor, url: https://rekor.example}\n"
             "attestation:\n  root: %s/none.pem\n",
             f->dir);
    assert_null(config_load_mem(text, strlen(text), "t.yaml", &errs));
    assert_non_null(strstr(errs->v[0].message, "No such file"));
    config_errors_free(errs);
    errs = NULL;
    snprintf(text, sizeof(text),
             "state: /nonexistent/state.db\n"
             "logs:\n  - {name: rekor, url: https://rekor.example}\n"
             "attestation:\n  root: %s\n  roots: x\n",
             path);
    assert_null(config_load_mem(text, strlen(text), "t.yaml", &errs));
    assert_non_null(strstr(errs->v[0].message, "roots"));
    config_errors_free(errs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_build),
        cmocka_unit_test(test_alerted_signing),
        cmocka_unit_test(test_pcr8),
        cmocka_unit_test(test_found_later),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_real_debug_mode),
        cmocka_unit_test(test_store_query_args),
        cmocka_unit_test(test_config_root),
    };

    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
