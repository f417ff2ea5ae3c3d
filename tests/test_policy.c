/*
 * test_policy.c: the policy engine (monitor/identity/policy.h) over real data.
 *
 * The real Fulcio leaves of ../shared/testdata/fulcio/leaf arrive as the
 * real Rekor entries of the bundles they came from (and of the API-shaped
 * entries in rekor/api-entries); every expected value is read at run time
 * from fulcio/leaf/extensions-decoded.json.  Rules are built from those
 * values, then bent one list at a time: each positive case has its
 * negative twin.  The impostor is a real leaf re-signed by a CA made
 * here; malformed bodies are made here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/identity/bundle.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/policy.h"
#include "notify/alert.h"

#define GH "https://github.com/"

/* ---- test data ------------------------------------------------------- */

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
    char *path = td_path(rel);
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    free(path);
    *len = (size_t)n;
    return buf;
}

static json_t *
load_json(const char *rel)
{
    char *p = td_path(rel);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);

    if (j == NULL) {
        fail_msg("%s: %s", p, e.text);
    }
    free(p);
    return j;
}

static struct config_trusted_root *
load_root(void)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    char *p = td_path("fulcio/trusted_root.json");
    struct config_trusted_root *r =
        config_trusted_root_load(p, err, sizeof(err));

    if (r == NULL) {
        fail_msg("%s", err);
    }
    free(p);
    return r;
}

/* extensions-decoded.json's value of .n for cert jc, or NULL. */
static const char *
ext(json_t *jc, unsigned n)
{
    char oid[64];

    snprintf(oid, sizeof(oid), "1.3.6.1.4.1.57264.1.%u", n);
    return json_string_value(json_object_get(
        json_object_get(json_object_get(jc, "sigstoreExtensions"), oid),
        "value"));
}

/* "owner/repo" of .12 into out; 0, or -1 when the cert has no .12. */
static int
jc_repository(json_t *jc, char *out, size_t cap)
{
    const char *u = ext(jc, 12);

    if (u == NULL || strncmp(u, GH, strlen(GH)) != 0) {
        return -1;
    }
    snprintf(out, cap, "%s", u + strlen(GH));
    return 0;
}

/* PATH of .18 "https://github.com/owner/repo/PATH@REF" into out. */
static void
jc_workflow(json_t *jc, char *out, size_t cap)
{
    const char *u = ext(jc, 18);
    char repo[512];
    const char *p, *at;

    assert_non_null(u);
    assert_int_equal(jc_repository(jc, repo, sizeof(repo)), 0);
    p = u + strlen(GH) + strlen(repo) + 1;
    at = strchr(p, '@');
    assert_non_null(at);
    snprintf(out, cap, "%.*s", (int)(at - p), p);
}

/* The SAN without openssl's "URI:" / "email:" label. */
static const char *
jc_san(json_t *jc)
{
    const char *s = json_string_value(json_object_get(jc, "subjectAltName"));
    const char *c = s != NULL ? strchr(s, ':') : NULL;

    assert_non_null(c);
    return c + 1;
}

/* The DER of a PEM file under testdata. */
static uint8_t *
pem_der(const char *rel, size_t *len)
{
    size_t n;
    char *pem = read_rel(rel, &n);
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    uint8_t *der = NULL;
    int dl;

    assert_non_null(x);
    dl = i2d_X509(x, &der);
    assert_true(dl > 0);
    *len = (size_t)dl;
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return der;
}

static void
sha256_hex(const uint8_t *d, size_t n, char out[65])
{
    uint8_t h[32];

    SHA256(d, n, h);
    merkle_hex_encode(h, 32, out, 65);
}

/* The tlog entry of a bundle under testdata (new). */
static struct entry *
bundle_entry(const char *rel)
{
    size_t n;
    char *text = read_rel(rel, &n);
    char err[256];
    struct bundle *b = bundle_parse(text, n, err, sizeof(err));
    struct entry *e;

    if (b == NULL) {
        fail_msg("%s: %s", rel, err);
    }
    e = b->entry;
    b->entry = NULL;
    assert_non_null(e);
    bundle_free(b);
    free(text);
    return e;
}

/* An entry whose body is text (uuid made of the leaf hash). */
static struct entry *
body_entry(const char *text, uint64_t index)
{
    struct entry *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    e->body_len = strlen(text);
    e->body = malloc(e->body_len);
    assert_non_null(e->body);
    memcpy(e->body, text, e->body_len);
    entry_compute_leaf(e);
    merkle_hex_encode(e->leaf_hash, 32, e->uuid, sizeof(e->uuid));
    e->log_index = index;
    e->has_integrated_time = 1;
    e->integrated_time = 1700000000;
    return e;
}

/* A hashedrekord 0.0.1 body carrying der as base64 of PEM (new). */
static char *
hashedrekord_body(const uint8_t *der, size_t len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    char *pem, *b64, *out;
    long pl;

    assert_non_null(x);
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    pl = BIO_get_mem_data(bio, &pem);
    assert_true(pl > 0);
    b64 = malloc((size_t)pl * 2 + 8);
    assert_non_null(b64);
    assert_true(merkle_b64_encode((const uint8_t *)pem, (size_t)pl, b64,
                                  (size_t)pl * 2 + 8) > 0);
    out = malloc(strlen(b64) + 512);
    assert_non_null(out);
    sprintf(out,
            "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
            "\"data\":{\"hash\":{\"algorithm\":\"sha256\",\"value\":"
            "\"%064d\"}},\"signature\":{\"content\":\"MEUCIQ==\","
            "\"publicKey\":{\"content\":\"%s\"}}}}",
            0, b64);
    free(b64);
    BIO_free(bio);
    X509_free(x);
    return out;
}

/* ---- rules ------------------------------------------------------------ */

/* A rule that allows exactly what leaf jc carries (new json). */
static json_t *
rule_for(json_t *jc, const char *name, int record_expected)
{
    char repo[512], wf[1024];

    assert_int_equal(jc_repository(jc, repo, sizeof(repo)), 0);
    jc_workflow(jc, wf, sizeof(wf));
    return json_pack("{s:s, s:s, s:{s:[s], s:[s], s:[s], s:[s]}, s:b}", "name",
                     name, "repository", repo, "allow", "workflows", wf, "refs",
                     ext(jc, 14), "triggers", ext(jc, 20), "runners",
                     ext(jc, 11), "record_expected", record_expected);
}

/* A policy for the rules (stolen) over tr. */
static struct policy *
policy_for(json_t *rules, const struct config_trusted_root *tr)
{
    json_t *doc = json_pack(
        "{s:s, s:[{s:s, s:s}], s:o}", "state", "/nonexistent/state.db", "logs",
        "name", "rekor", "url", "https://rekor.sigstore.dev", "watch", rules);
    char *text = json_dumps(doc, JSON_COMPACT);
    struct config_errors *errs = NULL;
    struct config *cfg;
    struct policy *p;
    char err[POLICY_ERR_LEN];

    assert_non_null(text);
    cfg = config_load_mem(text, strlen(text), "test", &errs);
    if (cfg == NULL) {
        char line[1024];
        fail_msg("config: %s",
                 errs != NULL && errs->n > 0
                     ? config_error_format(&errs->v[0], line, sizeof(line))
                     : "?");
    }
    p = policy_new(cfg, tr, err, sizeof(err));
    if (p == NULL) {
        fail_msg("%s", err);
    }
    config_free(cfg); /* the policy keeps copies */
    free(text);
    json_decref(doc);
    return p;
}

/* One evaluation's output. */
struct run {
    json_t *alerts;
    struct policy_batch batch;
    struct policy_result res;
};

static void
run_eval(struct policy *p, const struct entry *e, uint64_t index,
         const char *log, time_t now, struct run *r)
{
    struct policy_entry_ctx ctx = {log, "rekor.sigstore.dev - 42", index,
                                   index / 2, now};

    memset(r, 0, sizeof(*r));
    r->alerts = json_array();
    assert_non_null(r->alerts);
    assert_int_equal(
        policy_eval_result(p, &ctx, e, r->alerts, &r->batch, &r->res), 0);
}

static void
run_free(struct run *r)
{
    json_decref(r->alerts);
    policy_batch_free(&r->batch);
}

/* The sorted types of r's alerts, space separated. */
static const char *
types(const struct run *r, char *out, size_t cap)
{
    const char *v[16];
    size_t i, j, n = json_array_size(r->alerts);

    assert_true(n <= 16);
    for (i = 0; i < n; i++) {
        v[i] = notify_alert_get_type(json_array_get(r->alerts, i));
    }
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    out[0] = '\0';
    for (i = 0; i < n; i++) {
        strncat(out, i ? " " : "", cap - strlen(out) - 1);
        strncat(out, v[i], cap - strlen(out) - 1);
    }
    return out;
}

static void
assert_types(const struct run *r, const char *want)
{
    char got[512];

    assert_string_equal(types(r, got, sizeof(got)), want);
}

static void
assert_str_or_null(const char *got, const char *want)
{
    if (want == NULL) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

/* The GitHub leaves (with .12): name, cert json, bundle path. */
static size_t
each_gha(json_t *doc, const char **names, json_t **jcs, size_t cap)
{
    const char *name;
    json_t *jc;
    size_t n = 0;

    json_object_foreach(json_object_get(doc, "certs"), name, jc)
    {
        const char *from = json_string_value(json_object_get(jc, "fromBundle"));
        if (ext(jc, 12) == NULL || from == NULL ||
            strncmp(from, "rekor/bundles/", 14) != 0 || n == cap) {
            continue;
        }
        names[n] = name;
        jcs[n] = jc;
        n++;
    }
    return n;
}

/* Row and identity of one allowed signing equal the leaf's values. */
static void
check_row(const struct store_signing *s, json_t *jc, const char *leafname)
{
    char repo[512], wf[1024], rel[256], hex[65];
    uint8_t *der;
    size_t len;

    assert_int_equal(jc_repository(jc, repo, sizeof(repo)), 0);
    jc_workflow(jc, wf, sizeof(wf));
    assert_string_equal(s->repository, repo);
    assert_string_equal(s->workflow_path, wf);
    assert_string_equal(s->ref, ext(jc, 14));
    assert_string_equal(s->trigger, ext(jc, 20));
    assert_string_equal(s->runner_environment, ext(jc, 11));
    assert_string_equal(s->workflow_sha, ext(jc, 13));
    assert_string_equal(s->repository_id, ext(jc, 15));
    assert_string_equal(s->issuer, ext(jc, 8));
    assert_string_equal(s->build_signer_uri, ext(jc, 9));
    assert_str_or_null(s->run_invocation_uri, ext(jc, 21));
    assert_string_equal(s->san, jc_san(jc));
    snprintf(rel, sizeof(rel), "fulcio/leaf/%s", leafname);
    der = pem_der(rel, &len);
    sha256_hex(der, len, hex);
    assert_string_equal(s->cert_sha256, hex);
    OPENSSL_free(der);
}

/* ---- tests ------------------------------------------------------------ */

/*
 * Every GitHub leaf, as the entry of its real bundle, decodes to the
 * claims extensions-decoded.json lists: a rule allowing exactly them
 * records one allowed signing with those values; the twin without
 * record_expected records it silently.
 */
static void
test_real_entries_allowed(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    struct config_trusted_root *tr = load_root();
    const char *names[16];
    json_t *jcs[16];
    size_t i, n = each_gha(doc, names, jcs, 16);

    (void)state;
    assert_true(n >= 6);
    for (i = 0; i < n; i++) {
        const char *from =
            json_string_value(json_object_get(jcs[i], "fromBundle"));
        struct entry *e = bundle_entry(from);
        struct policy *loud =
            policy_for(json_pack("[o]", rule_for(jcs[i], "loud", 1)), tr);
        struct policy *quiet =
            policy_for(json_pack("[o]", rule_for(jcs[i], "quiet", 0)), tr);
        struct run r;
        json_t *a, *idn;

        run_eval(loud, e, 1000 + i, "rekor", 1, &r);
        assert_types(&r, "signing.recorded");
        assert_int_equal(r.batch.n, 1);
        assert_string_equal(r.batch.v[0].verdict, "allowed");
        assert_string_equal(r.batch.v[0].rule, "loud");
        assert_int_equal(r.batch.v[0].log_index, 1000 + i);
        assert_string_equal(r.batch.v[0].uuid, e->uuid);
        check_row(&r.batch.v[0], jcs[i], names[i]);
        a = json_array_get(r.alerts, 0);
        idn = json_object_get(a, "identity");
        assert_string_equal(
            json_string_value(json_object_get(idn, "workflow_sha")),
            ext(jcs[i], 13));
        assert_string_equal(
            json_string_value(json_object_get(idn, "build_config_uri")),
            ext(jcs[i], 18));
        assert_string_equal(json_string_value(json_object_get(a, "rule")),
                            "loud");
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(a, "entry"), "log_index")),
                         1000 + i);
        assert_null(json_object_get(a, "reasons"));
        run_free(&r);

        run_eval(quiet, e, 1000 + i, "rekor", 1, &r);
        assert_types(&r, "");
        assert_int_equal(r.batch.n, 1);
        assert_string_equal(r.batch.v[0].verdict, "allowed");
        run_free(&r);
        policy_free(loud);
        policy_free(quiet);
        entry_free(e);
    }
    config_trusted_root_free(tr);
    json_decref(doc);
}

/*
 * The API-shaped entries: those carrying a GitHub leaf give its claims;
 * the others (jar, staging) give no signing for rules naming every
 * GitHub repository of the data.
 */
static void
test_api_entries(void **state)
{
    static const char *const files[] = {
        "rekor/api-entries/derived-gha-hashedrekord-79605083.json",
        "rekor/api-entries/derived-gha-dsse-1261105807.json",
        "rekor/api-entries/derived-gha-dsse-155690850.json",
        "rekor/api-entries/prod-jar-entry.json",
        "rekor/api-entries/staging-hashedrekord-entry.json",
    };
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    struct config_trusted_root *tr = load_root();
    const char *names[16];
    json_t *jcs[16], *rules = json_array();
    size_t i, k, n = each_gha(doc, names, jcs, 16), found = 0;
    struct policy *p;

    (void)state;
    for (i = 0; i < n; i++) {
        char rn[32];
        snprintf(rn, sizeof(rn), "r%zu", i);
        json_array_append_new(rules, rule_for(jcs[i], rn, 1));
    }
    p = policy_for(rules, tr);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *text = read_rel(files[i], &len), err[256];
        struct entry *e = entry_parse(text, len, err, sizeof(err));
        struct run r;

        if (e == NULL) {
            fail_msg("%s: %s", files[i], err);
        }
        run_eval(p, e, e->log_index, "rekor", 1, &r);
        if (strstr(files[i], "derived-gha") != NULL) {
            /* Identical leaves (same repository and workflow) match one
             * rule each: every row must be one of the leaves. */
            assert_true(r.batch.n >= 1);
            for (k = 0; k < r.batch.n; k++) {
                size_t j;
                int hit = 0;
                assert_string_equal(r.batch.v[k].verdict, "allowed");
                for (j = 0; j < n && !hit; j++) {
                    char rel[256], hex[65];
                    uint8_t *der;
                    size_t dl;
                    snprintf(rel, sizeof(rel), "fulcio/leaf/%s", names[j]);
                    der = pem_der(rel, &dl);
                    sha256_hex(der, dl, hex);
                    OPENSSL_free(der);
                    if (strcmp(hex, r.batch.v[k].cert_sha256) == 0) {
                        check_row(&r.batch.v[k], jcs[j], names[j]);
                        hit = 1;
                    }
                }
                assert_true(hit);
            }
            found++;
        } else {
            assert_int_equal(r.batch.n, 0);
            assert_int_equal(json_array_size(r.alerts), 0);
        }
        run_free(&r);
        entry_free(e);
        free(text);
    }
    assert_int_equal(found, 3);
    policy_free(p);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* The rfc8785.py leaf, whose values every violation test bends. */
static json_t *
rfc_leaf(json_t *doc)
{
    json_t *jc = json_object_get(json_object_get(doc, "certs"),
                                 "gha-hashedrekord-rfc8785py.pem");

    assert_non_null(jc);
    return jc;
}

/* Evaluate the rfc8785.py entry under rule (stolen). */
static void
eval_rule(json_t *rule, const struct config_trusted_root *tr, struct run *r)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    const char *from =
        json_string_value(json_object_get(rfc_leaf(doc), "fromBundle"));
    struct entry *e = bundle_entry(from);
    struct policy *p = policy_for(json_pack("[o]", rule), tr);

    run_eval(p, e, 7, "rekor", 1, r);
    policy_free(p);
    entry_free(e);
    json_decref(doc);
}

/* reasons[i] of the only alert of type. */
static const char *
reason(const struct run *r, const char *type, size_t i)
{
    size_t k;

    for (k = 0; k < json_array_size(r->alerts); k++) {
        json_t *a = json_array_get(r->alerts, k);
        if (strcmp(notify_alert_get_type(a), type) == 0) {
            return json_string_value(
                json_array_get(json_object_get(a, "reasons"), i));
        }
    }
    return NULL;
}

static size_t
nreasons(const struct run *r, const char *type)
{
    size_t k;

    for (k = 0; k < json_array_size(r->alerts); k++) {
        json_t *a = json_array_get(r->alerts, k);
        if (strcmp(notify_alert_get_type(a), type) == 0) {
            return json_array_size(json_object_get(a, "reasons"));
        }
    }
    return 0;
}

/* Each allow list, bent alone, is named alone. */
static void
test_violations(void **state)
{
    static const struct {
        const char *list;   /* allow key */
        const char *value;  /* the only allowed value */
        const char *prefix; /* of the reason */
    } cases[] = {
        {"workflows", ".github/workflows/other.yml", "workflow '"},
        {"refs", "refs/heads/main", "ref '"},
        {"triggers", "pull_request", "trigger '"},
    };
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    json_t *jc = rfc_leaf(doc);
    struct config_trusted_root *tr = load_root();
    struct run r;
    size_t i;
    json_t *rule;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[512];
        const char *got;

        rule = rule_for(jc, "app", 1);
        json_object_set_new(json_object_get(rule, "allow"), cases[i].list,
                            json_pack("[s]", cases[i].value));
        eval_rule(rule, tr, &r);
        assert_types(&r, "signing.unexpected");
        assert_int_equal(nreasons(&r, "signing.unexpected"), 1);
        got = reason(&r, "signing.unexpected", 0);
        assert_non_null(got);
        assert_true(strncmp(got, cases[i].prefix, strlen(cases[i].prefix)) ==
                    0);
        snprintf(want, sizeof(want), "not in [%s]", cases[i].value);
        assert_non_null(strstr(got, want));
        assert_int_equal(r.batch.n, 1);
        assert_string_equal(r.batch.v[0].verdict, "unexpected");
        run_free(&r);
    }
    /* The ref glob: refs/tags/v* allows the leaf's refs/tags/v0.1.2, and
     * "refs/STAR" does not cross a '/' (FNM_PATHNAME). */
    rule = rule_for(jc, "app", 1);
    json_object_set_new(json_object_get(rule, "allow"), "refs",
                        json_pack("[s]", "refs/tags/v*"));
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.recorded");
    run_free(&r);
    rule = rule_for(jc, "app", 1);
    json_object_set_new(json_object_get(rule, "allow"), "refs",
                        json_pack("[s]", "refs/*"));
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.unexpected");
    run_free(&r);
    /* Issuer. */
    rule = rule_for(jc, "app", 1);
    json_object_set_new(rule, "issuer",
                        json_string("https://issuer.example.com"));
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.unexpected");
    assert_non_null(strstr(reason(&r, "signing.unexpected", 0), "issuer '"));
    run_free(&r);
    /* Runner: only self-hosted allowed -> its own alert, not unexpected. */
    rule = rule_for(jc, "app", 1);
    json_object_set_new(json_object_get(rule, "allow"), "runners",
                        json_pack("[s]", "self-hosted"));
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.self_hosted_runner");
    assert_string_equal(reason(&r, "signing.self_hosted_runner", 0),
                        "runner_environment 'github-hosted' not in "
                        "[self-hosted]");
    assert_string_equal(r.batch.v[0].verdict, "self_hosted_runner");
    run_free(&r);
    /* Three lists bent at once: one alert naming the three. */
    rule = rule_for(jc, "app", 1);
    json_object_set_new(json_object_get(rule, "allow"), "workflows",
                        json_pack("[s]", ".github/workflows/a.yml"));
    json_object_set_new(json_object_get(rule, "allow"), "refs",
                        json_pack("[s]", "refs/heads/main"));
    json_object_set_new(json_object_get(rule, "allow"), "triggers",
                        json_pack("[s, s]", "push", "workflow_dispatch"));
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.unexpected");
    assert_int_equal(nreasons(&r, "signing.unexpected"), 3);
    run_free(&r);
    /* Absent lists restrict nothing; an explicit empty list allows
     * nothing. */
    eval_rule(json_pack("{s:s, s:s, s:b}", "name", "app", "repository",
                        "trailofbits/rfc8785.py", "record_expected", 1),
              tr, &r);
    assert_types(&r, "signing.recorded");
    run_free(&r);
    rule = rule_for(jc, "app", 1);
    json_object_set_new(json_object_get(rule, "allow"), "triggers",
                        json_array());
    eval_rule(rule, tr, &r);
    assert_types(&r, "signing.unexpected");
    run_free(&r);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* The repository matches in any case; a near name does not. */
static void
test_repository_case(void **state)
{
    static const char *const match[] = {"trailofbits/rfc8785.py",
                                        "TRAILOFBITS/RFC8785.PY",
                                        "TrailOfBits/Rfc8785.Py"};
    static const char *const nomatch[] = {
        "trailofbits/rfc8785.p", "trailofbits/rfc8785.pyx",
        "railofbits/rfc8785.py", "trailofbits/rfc8785-py"};
    struct config_trusted_root *tr = load_root();
    struct run r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(match) / sizeof(match[0]); i++) {
        eval_rule(json_pack("{s:s, s:s, s:b}", "name", "app", "repository",
                            match[i], "record_expected", 1),
                  tr, &r);
        assert_types(&r, "signing.recorded");
        assert_int_equal(r.res.prefilter, 1);
        run_free(&r);
    }
    for (i = 0; i < sizeof(nomatch) / sizeof(nomatch[0]); i++) {
        eval_rule(json_pack("{s:s, s:s, s:b}", "name", "app", "repository",
                            nomatch[i], "record_expected", 1),
                  tr, &r);
        assert_types(&r, "");
        assert_int_equal(r.batch.n, 0);
        assert_int_equal(r.res.matched, 0);
        run_free(&r);
    }
    config_trusted_root_free(tr);
}

/* repository_id is preferred: it follows a rename, and the same name with
 * another id is not silently ours. */
static void
test_repository_id(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    const char *id = ext(rfc_leaf(doc), 15);
    struct config_trusted_root *tr = load_root();
    char other[64];
    struct run r;

    (void)state;
    assert_non_null(id);
    snprintf(other, sizeof(other), "%s9", id);
    /* Renamed: another name, the id of the leaf. */
    eval_rule(json_pack("{s:s, s:s, s:s, s:b}", "name", "app", "repository",
                        "someone/renamed", "repository_id", id,
                        "record_expected", 1),
              tr, &r);
    assert_types(&r, "signing.recorded");
    assert_string_equal(r.batch.v[0].repository, "trailofbits/rfc8785.py");
    run_free(&r);
    /* Twin: another name and another id. */
    eval_rule(json_pack("{s:s, s:s, s:s, s:b}", "name", "app", "repository",
                        "someone/renamed", "repository_id", other,
                        "record_expected", 1),
              tr, &r);
    assert_types(&r, "");
    assert_int_equal(r.batch.n, 0);
    run_free(&r);
    /* The name, another id: a signing, and unexpected. */
    eval_rule(json_pack("{s:s, s:s, s:s, s:b}", "name", "app", "repository",
                        "trailofbits/rfc8785.py", "repository_id", other,
                        "record_expected", 1),
              tr, &r);
    assert_types(&r, "signing.unexpected");
    assert_non_null(
        strstr(reason(&r, "signing.unexpected", 0), "repository_id '"));
    run_free(&r);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* A real leaf re-signed by a CA made here names the repository but does
 * not chain: signing.impostor and no signing.  Twin: the real leaf in
 * the same body shape is recorded. */
static void
test_impostor(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    json_t *jc = rfc_leaf(doc);
    struct config_trusted_root *tr = load_root();
    struct policy *p = policy_for(json_pack("[o]", rule_for(jc, "app", 1)), tr);
    EVP_PKEY *key = EVP_EC_gen("P-384");
    X509 *ca = X509_new(), *leaf;
    X509_NAME *nm = X509_NAME_new();
    uint8_t *real, *fake = NULL;
    const uint8_t *q;
    size_t rl;
    int fl;
    char *body;
    struct entry *e;
    struct run r;

    (void)state;
    assert_non_null(key);
    /* A self-signed CA with Fulcio's intermediate's name. */
    assert_int_equal(X509_set_version(ca, 2), 1);
    assert_int_equal(X509_NAME_add_entry_by_txt(
                         nm, "O", MBSTRING_ASC,
                         (const unsigned char *)"sigstore.dev", -1, -1, 0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(
                         nm, "CN", MBSTRING_ASC,
                         (const unsigned char *)"sigstore-intermediate", -1, -1,
                         0),
                     1);
    assert_int_equal(X509_set_subject_name(ca, nm), 1);
    assert_int_equal(X509_set_issuer_name(ca, nm), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(ca), -86400L * 9000));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(ca), 86400L * 9000));
    assert_int_equal(X509_set_pubkey(ca, key), 1);
    assert_true(X509_sign(ca, key, EVP_sha384()) > 0);

    real = pem_der("fulcio/leaf/gha-hashedrekord-rfc8785py.pem", &rl);
    q = real;
    leaf = d2i_X509(NULL, &q, (long)rl);
    assert_non_null(leaf);
    assert_int_equal(X509_set_issuer_name(leaf, nm), 1);
    assert_true(X509_sign(leaf, key, EVP_sha384()) > 0);
    fl = i2d_X509(leaf, &fake);
    assert_true(fl > 0);

    body = hashedrekord_body(fake, (size_t)fl);
    e = body_entry(body, 5);
    run_eval(p, e, 5, "rekor", 1, &r);
    assert_types(&r, "signing.impostor");
    assert_int_equal(r.res.impostors, 1);
    assert_int_equal(r.batch.n, 0); /* never a signing of the rule */
    assert_non_null(reason(&r, "signing.impostor", 0));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(r.alerts, 0), "identity"),
            "repository")),
        "trailofbits/rfc8785.py");
    run_free(&r);
    entry_free(e);
    free(body);

    body = hashedrekord_body(real, rl);
    e = body_entry(body, 5);
    run_eval(p, e, 5, "rekor", 1, &r);
    assert_types(&r, "signing.recorded");
    assert_int_equal(r.res.impostors, 0);
    assert_int_equal(r.batch.n, 1);
    run_free(&r);
    entry_free(e);
    free(body);

    OPENSSL_free(fake);
    OPENSSL_free(real);
    X509_free(leaf);
    X509_free(ca);
    X509_NAME_free(nm);
    EVP_PKEY_free(key);
    policy_free(p);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* Undecodable bodies are entry.malformed, with and without rules;
 * decodable ones are not. */
static void
test_malformed(void **state)
{
    static const char *const bad[] = {
        "not json",
        "{\"kind\":\"hashedrekord\"}",
        "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
        "\"signature\":{\"publicKey\":{\"content\":\"%%%%\"}}}}",
        /* base64 of "this is not a PEM certificate or key\n" */
        "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
        "\"data\":{\"hash\":{\"algorithm\":\"sha256\",\"value\":\"00\"}},"
        "\"signature\":{\"content\":\"AA==\",\"publicKey\":{\"content\":"
        "\"dGhpcyBpcyBub3QgYSBQRU0gY2VydGlmaWNhdGUgb3Iga2V5Cg==\"}}}}",
    };
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    struct config_trusted_root *tr = load_root();
    struct policy *ruled =
        policy_for(json_pack("[o]", rule_for(rfc_leaf(doc), "app", 1)), tr);
    struct policy *none = policy_for(json_array(), tr);
    struct policy *ps[2] = {ruled, none};
    struct entry *e;
    struct run r;
    size_t i, k;

    (void)state;
    assert_int_equal(policy_nrules(none), 0);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            json_t *a, *ent;
            e = body_entry(bad[i], 77);
            run_eval(ps[k], e, 77, "rekor", 1, &r);
            assert_types(&r, "entry.malformed");
            assert_int_equal(r.res.malformed, 1);
            assert_int_equal(r.batch.n, 0);
            a = json_array_get(r.alerts, 0);
            assert_null(json_object_get(a, "rule"));
            assert_int_equal(notify_alert_get_severity(a), NOTIFY_INFO);
            ent = json_object_get(a, "entry");
            assert_int_equal(
                json_integer_value(json_object_get(ent, "log_index")), 77);
            assert_string_equal(json_string_value(json_object_get(ent, "uuid")),
                                e->uuid);
            assert_non_null(json_object_get(a, "reasons"));
            run_free(&r);
            entry_free(e);
        }
        /* Twin: a real entry is not malformed. */
        e = bundle_entry(
            json_string_value(json_object_get(rfc_leaf(doc), "fromBundle")));
        run_eval(ps[k], e, 77, "rekor", 1, &r);
        assert_int_equal(r.res.malformed, 0);
        assert_types(&r, k == 0 ? "signing.recorded" : "");
        run_free(&r);
        entry_free(e);
    }
    policy_free(ruled);
    policy_free(none);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* The same entry and rule always give the same id; another index, rule
 * or log gives another. */
static void
test_stable_ids(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    json_t *jc = rfc_leaf(doc);
    struct config_trusted_root *tr = load_root();
    struct policy *p1 =
        policy_for(json_pack("[o]", rule_for(jc, "app", 1)), tr);
    struct policy *p1b =
        policy_for(json_pack("[o]", rule_for(jc, "app", 1)), tr);
    struct policy *p2 =
        policy_for(json_pack("[o]", rule_for(jc, "other", 1)), tr);
    struct entry *e =
        bundle_entry(json_string_value(json_object_get(jc, "fromBundle")));
    struct run a, b, c, d, f;
    char id[NOTIFY_ALERT_ID_LEN + 1];

    (void)state;
    run_eval(p1, e, 9, "rekor", 100, &a);
    run_eval(p1b, e, 9, "rekor", 200000, &b); /* later, another policy */
    run_eval(p1, e, 10, "rekor", 100, &c);
    run_eval(p2, e, 9, "rekor", 100, &d);
    run_eval(p1, e, 9, "rekor2", 100, &f);
    snprintf(id, sizeof(id), "%s",
             notify_alert_get_id(json_array_get(a.alerts, 0)));
    assert_int_equal(strlen(id), NOTIFY_ALERT_ID_LEN);
    assert_string_equal(id, notify_alert_get_id(json_array_get(b.alerts, 0)));
    assert_string_not_equal(id,
                            notify_alert_get_id(json_array_get(c.alerts, 0)));
    assert_string_not_equal(id,
                            notify_alert_get_id(json_array_get(d.alerts, 0)));
    assert_string_not_equal(id,
                            notify_alert_get_id(json_array_get(f.alerts, 0)));
    run_free(&a);
    run_free(&b);
    run_free(&c);
    run_free(&d);
    run_free(&f);
    entry_free(e);
    policy_free(p1);
    policy_free(p1b);
    policy_free(p2);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* Rules for repositories nobody in the data signed for: the prefilter
 * stops every real entry before an X.509 parse.  Twin: a rule naming the
 * entry's repository passes it. */
static void
test_unwatched(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    struct config_trusted_root *tr = load_root();
    json_t *rules = json_array();
    const char *names[16];
    json_t *jcs[16];
    size_t i, n = each_gha(doc, names, jcs, 16);
    struct policy *p;

    (void)state;
    for (i = 0; i < 10; i++) {
        char rn[32], repo[64];
        snprintf(rn, sizeof(rn), "r%zu", i);
        snprintf(repo, sizeof(repo), "acme/enclave-app-%zu", i);
        json_array_append_new(
            rules, json_pack("{s:s, s:s, s:s}", "name", rn, "repository", repo,
                             "repository_id", "123456789012"));
    }
    p = policy_for(rules, tr);
    assert_int_equal(policy_nrules(p), 10);
    for (i = 0; i < n; i++) {
        struct entry *e = bundle_entry(
            json_string_value(json_object_get(jcs[i], "fromBundle")));
        struct policy *own =
            policy_for(json_pack("[o]", rule_for(jcs[i], "own", 0)), tr);
        struct run r;

        run_eval(p, e, 1, "rekor", 1, &r);
        assert_int_equal(r.res.prefilter, 0);
        assert_types(&r, "");
        assert_int_equal(r.batch.n, 0);
        run_free(&r);
        run_eval(own, e, 1, "rekor", 1, &r);
        assert_int_equal(r.res.prefilter, 1);
        assert_int_equal(r.res.matched, 1);
        run_free(&r);
        policy_free(own);
        entry_free(e);
    }
    policy_free(p);
    config_trusted_root_free(tr);
    json_decref(doc);
}

/* ---- Fulcio's CT log ---------------------------------------------------- */

#define SCT_OID "1.3.6.1.4.1.11129.2.4.2"

/* A MerkleTreeLeaf (RFC 6962 3.4) of type (0 x509, 1 precert) over cert
 * (precert: the TBSCertificate, with issuer key hash ikh), parsed (new). */
static struct ctleaf *
ct_leaf(int type, const uint8_t *ikh, const uint8_t *cert, size_t n)
{
    uint8_t *b = malloc(n + 64), *q = b;
    char err[CTLEAF_ERR_LEN];
    struct ctleaf *l;
    uint64_t ts = 1700000000123ULL;
    int i;

    assert_non_null(b);
    *q++ = 0; /* v1 */
    *q++ = 0; /* timestamped_entry */
    for (i = 7; i >= 0; i--) {
        *q++ = (uint8_t)(ts >> (8 * i));
    }
    *q++ = 0;
    *q++ = (uint8_t)type;
    if (type == 1) {
        memcpy(q, ikh, 32);
        q += 32;
    }
    *q++ = (uint8_t)(n >> 16);
    *q++ = (uint8_t)(n >> 8);
    *q++ = (uint8_t)n;
    memcpy(q, cert, n);
    q += n;
    *q++ = 0; /* no extensions */
    *q++ = 0;
    l = ctleaf_parse_raw(b, (size_t)(q - b), NULL, 0, err, sizeof(err));
    if (l == NULL) {
        fail_msg("ct leaf: %s", err);
    }
    free(b);
    return l;
}

/* The logged TBSCertificate of final certificate x (SCT list removed). */
static size_t
tbs_of(X509 *x, uint8_t **out)
{
    X509 *d = X509_dup(x);
    ASN1_OBJECT *o = OBJ_txt2obj(SCT_OID, 1);
    int idx, n;

    assert_non_null(d);
    idx = X509_get_ext_by_OBJ(d, o, -1);
    assert_true(idx >= 0);
    X509_EXTENSION_free(X509_delete_ext(d, idx));
    ASN1_OBJECT_free(o);
    *out = NULL;
    n = i2d_re_X509_tbs(d, out);
    assert_true(n > 0);
    X509_free(d);
    return (size_t)n;
}

/* SHA-256 of the SubjectPublicKeyInfo of the PEM certificate rel. */
static void
spki_hash(const char *rel, uint8_t out[32])
{
    size_t n;
    uint8_t *der = pem_der(rel, &n);
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    unsigned char *spki = NULL;
    int sl;

    assert_non_null(x);
    sl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    assert_true(sl > 0);
    SHA256(spki, (size_t)sl, out);
    OPENSSL_free(spki);
    X509_free(x);
    OPENSSL_free(der);
}

static void
run_ct(struct policy *p, struct ctleaf *l, uint64_t index, struct run *r)
{
    struct policy_ct_ctx ctx = {"fulcio-ct", "ctfe.example/2022", index,
                                "{\"ct_sth\":1,\"test\":\"STH\"}", 100};

    memset(r, 0, sizeof(*r));
    r->alerts = json_array();
    assert_non_null(r->alerts);
    assert_int_equal(policy_eval_ct(p, &ctx, l, r->alerts, &r->batch, &r->res),
                     0);
}

/* The id of the only alert of type in r. */
static const char *
id_of(const struct run *r, const char *type)
{
    size_t i;
    const char *id = NULL;

    for (i = 0; i < json_array_size(r->alerts); i++) {
        json_t *a = json_array_get(r->alerts, i);
        if (strcmp(notify_alert_get_type(a), type) == 0) {
            assert_null(id);
            id = notify_alert_get_id(a);
        }
    }
    assert_non_null(id);
    return id;
}

/*
 * The real rfc8785.py leaf as Fulcio's CT log holds it (a precert_entry
 * of its TBSCertificate, and an x509_entry) under a rule it violates
 * (trigger): the same signing.unexpected as its Rekor entry, with the
 * same id (the certificate's link id), so the store keeps one; one
 * CT certificate row each, deadline NotBefore + unlogged_after, carrying
 * the signing.unlogged_certificate alert with the STH as evidence; the
 * Rekor signing row carries the same link id.  Twins: another rule name
 * gives another id; an allowed certificate gives a row and no alert; a
 * precert whose issuer key is no Fulcio CA is signing.impostor, no row.
 */
static void
test_ct_cert(void **state)
{
    json_t *doc = load_json("fulcio/leaf/extensions-decoded.json");
    json_t *jc = rfc_leaf(doc);
    struct config_trusted_root *tr = load_root();
    json_t *rule = rule_for(jc, "app", 1);
    struct policy *p, *p2, *ok;
    struct entry *e =
        bundle_entry(json_string_value(json_object_get(jc, "fromBundle")));
    size_t n, tn;
    uint8_t *der = pem_der("fulcio/leaf/gha-hashedrekord-rfc8785py.pem", &n);
    uint8_t *tbs, ikh[32], link[32], zero[32];
    const uint8_t *dp = der;
    X509 *x = d2i_X509(NULL, &dp, (long)n);
    struct ctleaf *pre, *fin, *bad;
    struct run rk, rp, rf, r2, rok, rbad;
    char link_hex[65], id[NOTIFY_ALERT_ID_LEN + 1];
    json_t *alert, *alert2;
    json_error_t jerr;

    (void)state;
    assert_non_null(x);
    json_object_set_new(json_object_get(rule, "allow"), "triggers",
                        json_pack("[s]", "pull_request"));
    json_object_set_new(rule, "unlogged_after", json_string("10m"));
    p = policy_for(json_pack("[o]", json_deep_copy(rule)), tr);
    json_object_set_new(rule, "name", json_string("other"));
    p2 = policy_for(json_pack("[o]", rule), tr);
    ok = policy_for(json_pack("[o]", rule_for(jc, "app", 1)), tr);
    tn = tbs_of(x, &tbs);
    spki_hash("fulcio/sigstore-intermediate.pem", ikh);
    memset(zero, 0x5a, sizeof(zero));
    pre = ct_leaf(1, ikh, tbs, tn);
    fin = ct_leaf(0, NULL, der, n);
    bad = ct_leaf(1, zero, tbs, tn);
    assert_int_equal(ctleaf_link_id_der(der, n, link), 0);
    merkle_hex_encode(link, 32, link_hex, sizeof(link_hex));

    run_eval(p, e, 7, "rekor", 1, &rk);
    run_ct(p, pre, 41, &rp);
    run_ct(p, fin, 42, &rf);
    assert_types(&rk, "signing.unexpected");
    assert_types(&rp, "signing.unexpected");
    assert_types(&rf, "signing.unexpected");
    snprintf(id, sizeof(id), "%s", id_of(&rk, "signing.unexpected"));
    assert_string_equal(id_of(&rp, "signing.unexpected"), id);
    assert_string_equal(id_of(&rf, "signing.unexpected"), id);
    assert_int_equal(rk.batch.n, 1);
    assert_string_equal(rk.batch.v[0].link_id, link_hex);
    /* no signing rows from the CT log, one certificate row each */
    assert_int_equal(rp.batch.n, 0);
    assert_int_equal(rp.batch.nct, 1);
    assert_int_equal(rf.batch.nct, 1);
    assert_string_equal(rp.batch.ct[0].link_id, link_hex);
    assert_string_equal(rf.batch.ct[0].link_id, link_hex);
    assert_string_equal(rp.batch.ct[0].entry_type, "precert");
    assert_string_equal(rf.batch.ct[0].entry_type, "x509");
    assert_string_equal(rp.batch.ct[0].verdict, "unexpected");
    assert_int_equal(rp.batch.ct[0].log_index, 41);
    assert_int_equal(rp.batch.ct[0].deadline, rp.batch.ct[0].not_before + 600);
    assert_true(rp.batch.ct[0].not_before > 1600000000);
    /* the alert to raise later: the certificate's id, the STH */
    alert = json_loads(rp.batch.ct[0].alert, 0, &jerr);
    assert_non_null(alert);
    assert_string_equal(notify_alert_get_type(alert),
                        "signing.unlogged_certificate");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(alert, "evidence"), "checkpoint")),
                        "{\"ct_sth\":1,\"test\":\"STH\"}");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(alert, "identity"),
                                          "cert_link_id")),
        link_hex);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(alert, "entry"), "log_index")),
                     41);
    alert2 = json_loads(rf.batch.ct[0].alert, 0, &jerr);
    assert_non_null(alert2);
    assert_string_equal(notify_alert_get_id(alert),
                        notify_alert_get_id(alert2));
    json_decref(alert);
    json_decref(alert2);
    /* twins */
    run_ct(p2, pre, 41, &r2);
    assert_types(&r2, "signing.unexpected");
    assert_string_not_equal(id_of(&r2, "signing.unexpected"), id);
    run_ct(ok, pre, 41, &rok);
    assert_types(&rok, "");
    assert_int_equal(rok.batch.nct, 1);
    assert_string_equal(rok.batch.ct[0].verdict, "allowed");
    assert_int_equal(rok.batch.ct[0].deadline,
                     rok.batch.ct[0].not_before + 1800); /* default 30m */
    run_ct(p, bad, 41, &rbad);
    assert_types(&rbad, "signing.impostor");
    assert_int_equal(rbad.batch.nct, 0);
    assert_int_equal(rbad.res.impostors, 1);

    run_free(&rk);
    run_free(&rp);
    run_free(&rf);
    run_free(&r2);
    run_free(&rok);
    run_free(&rbad);
    ctleaf_free(pre);
    ctleaf_free(fin);
    ctleaf_free(bad);
    OPENSSL_free(tbs);
    OPENSSL_free(der);
    X509_free(x);
    entry_free(e);
    policy_free(p);
    policy_free(p2);
    policy_free(ok);
    config_trusted_root_free(tr);
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_entries_allowed),
        cmocka_unit_test(test_api_entries),
        cmocka_unit_test(test_violations),
        cmocka_unit_test(test_repository_case),
        cmocka_unit_test(test_repository_id),
        cmocka_unit_test(test_impostor),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_stable_ids),
        cmocka_unit_test(test_unwatched),
        cmocka_unit_test(test_ct_cert),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
