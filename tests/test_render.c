/*
 * test_render.c: the sink payloads of notify/render.h.  The Slack message
 * is checked by a validator of Block Kit's documented structure (block
 * types, text objects, character limits) that has its own negative cases;
 * the webhook signature by an independent HMAC computed here with
 * OpenSSL's one-shot HMAC(); the exec environment by name and content.
 * Hostile alert strings (mrkdwn injection, oversized fields, control
 * bytes) must stay inside the limits and never become links.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify/alert.h"
#include "notify/render.h"

#define REPO "acme/enclave-app"
#define SHA "0123456789abcdef0123456789abcdef01234567"
#define RUN "https://github.com/acme/enclave-app/actions/runs/42/attempts/1"
#define IDX 123456789

/* ---- a Block Kit validator (https://api.slack.com/reference/block-kit) */

static size_t
utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80) {
            n++;
        }
    }
    return n;
}

/* A text object: {"type": plain_text|mrkdwn, "text": 1..max chars}. */
static int
valid_text(const json_t *t, size_t max, int plain_only)
{
    const char *type = json_string_value(json_object_get(t, "type"));
    const char *text = json_string_value(json_object_get(t, "text"));
    const char *k;
    json_t *v;

    if (type == NULL || text == NULL || text[0] == '\0' ||
        utf8_chars(text) > max) {
        return 0;
    }
    if (strcmp(type, "plain_text") != 0 &&
        (plain_only || strcmp(type, "mrkdwn") != 0)) {
        return 0;
    }
    json_object_foreach((json_t *)t, k, v)
    {
        if (strcmp(k, "type") != 0 && strcmp(k, "text") != 0 &&
            strcmp(k, "emoji") != 0 && strcmp(k, "verbatim") != 0) {
            return 0;
        }
        if (strcmp(k, "emoji") == 0 &&
            (!json_is_boolean(v) || strcmp(type, "plain_text") != 0)) {
            return 0;
        }
    }
    return 1;
}

/* 1 when msg is a valid incoming-webhook message with blocks. */
static int
valid_blockkit(const json_t *msg)
{
    const json_t *blocks = json_object_get(msg, "blocks");
    const char *text = json_string_value(json_object_get(msg, "text"));
    size_t i, j;

    if (!json_is_object(msg) || text == NULL || text[0] == '\0' ||
        utf8_chars(text) > 40000 || !json_is_array(blocks) ||
        json_array_size(blocks) == 0 || json_array_size(blocks) > 50) {
        return 0;
    }
    for (i = 0; i < json_array_size(blocks); i++) {
        const json_t *b = json_array_get(blocks, i);
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type == NULL) {
            return 0;
        }
        if (strcmp(type, "header") == 0) {
            if (!valid_text(json_object_get(b, "text"), 150, 1) ||
                json_object_size(b) != 2) {
                return 0;
            }
        } else if (strcmp(type, "section") == 0) {
            const json_t *t = json_object_get(b, "text");
            const json_t *f = json_object_get(b, "fields");
            if (t == NULL && f == NULL) {
                return 0;
            }
            if (t != NULL && !valid_text(t, 3000, 0)) {
                return 0;
            }
            if (f != NULL && (!json_is_array(f) || json_array_size(f) == 0 ||
                              json_array_size(f) > 10)) {
                return 0;
            }
            for (j = 0; j < json_array_size(f); j++) {
                if (!valid_text(json_array_get(f, j), 2000, 0)) {
                    return 0;
                }
            }
        } else if (strcmp(type, "context") == 0) {
            const json_t *e = json_object_get(b, "elements");
            if (!json_is_array(e) || json_array_size(e) == 0 ||
                json_array_size(e) > 10) {
                return 0;
            }
            for (j = 0; j < json_array_size(e); j++) {
                if (!valid_text(json_array_get(e, j), 3000, 0)) {
                    return 0;
                }
            }
        } else if (strcmp(type, "divider") != 0) {
            return 0;
        }
    }
    return 1;
}

/* All the mrkdwn/plain text of a message, concatenated with newlines. */
static void
collect(const json_t *j, char **acc)
{
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_string(j)) {
        size_t old = *acc ? strlen(*acc) : 0;
        const char *s = json_string_value(j);
        *acc = realloc(*acc, old + strlen(s) + 2);
        assert_non_null(*acc);
        memcpy(*acc + old, s, strlen(s));
        (*acc)[old + strlen(s)] = '\n';
        (*acc)[old + strlen(s) + 1] = '\0';
    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j); i++) {
            collect(json_array_get(j, i), acc);
        }
    } else if (json_is_object(j)) {
        json_object_foreach((json_t *)j, k, v)
        {
            collect(v, acc);
        }
    }
}

static json_t *
full_alert(void)
{
    json_t *a = notify_alert_new("signing.self_hosted_runner", "test|1",
                                 "acme/enclave-app signed on a self-hosted "
                                 "runner",
                                 1700000000);

    assert_non_null(a);
    assert_int_equal(
        notify_alert_set(a, "log",
                         json_pack("{s:s,s:s}", "name", "rekor", "origin",
                                   "rekor.sigstore.dev - 1193050959916656506")),
        0);
    assert_int_equal(notify_alert_set(a, "entry",
                                      json_pack("{s:I,s:s,s:s}", "log_index",
                                                (json_int_t)IDX, "uuid", "abcd",
                                                "kind", "hashedrekord")),
                     0);
    assert_int_equal(
        notify_alert_set(
            a, "identity",
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "repository", REPO,
                      "repository_id", "123456", "build_config_uri",
                      "https://github.com/" REPO
                      "/.github/workflows/build-eif.yml@refs/heads/main",
                      "workflow_sha", SHA, "runner_environment", "self-hosted",
                      "trigger", "push", "run_invocation_uri", RUN, "san",
                      "https://github.com/" REPO
                      "/.github/workflows/build-eif.yml@refs/heads/main")),
        0);
    assert_int_equal(notify_alert_set(a, "rule", json_string("enclave-app")),
                     0);
    assert_int_equal(
        notify_alert_set(a, "reasons",
                         json_pack("[s]", "runner_environment 'self-hosted' "
                                          "not in [github-hosted]")),
        0);
    assert_int_equal(notify_alert_set(a, "pcrs",
                                      json_pack("{s:s,s:s}", "PCR0", "aa00ff",
                                                "PCR1", "bb11ee")),
                     0);
    return a;
}

static void
test_slack_valid_and_complete(void **state)
{
    json_t *a = full_alert(), *msg;
    char *s = notify_render_slack(a), *all = NULL, want[256];

    (void)state;
    assert_non_null(s);
    msg = json_loads(s, 0, NULL);
    assert_non_null(msg);
    assert_true(valid_blockkit(msg));
    collect(msg, &all);
    /* Every field a person acts on, and the links. */
    assert_non_null(strstr(all, "critical"));
    assert_non_null(strstr(all, "signing.self_hosted_runner"));
    assert_non_null(strstr(all, "<https://github.com/" REPO "|" REPO ">"));
    assert_non_null(strstr(all, ".github/workflows/build-eif.yml"));
    assert_non_null(strstr(all, "refs/heads/main"));
    assert_non_null(
        strstr(all, "<https://github.com/" REPO "/commit/" SHA "|" SHA ">"));
    assert_non_null(strstr(all, "self-hosted"));
    assert_non_null(strstr(all, "<" RUN "|"));
    assert_non_null(strstr(all, "enclave-app"));
    assert_non_null(strstr(all, "PCR0 `aa00ff`"));
    assert_non_null(strstr(all, "PCR1 `bb11ee`"));
    snprintf(want, sizeof(want), "<%s%d|%d>", NOTIFY_SEARCH_URL, IDX, IDX);
    assert_non_null(strstr(all, want));
    assert_non_null(strstr(all, notify_alert_get_id(a)));
    assert_non_null(strstr(all, "runner_environment 'self-hosted'"));
    free(all);
    free(s);
    json_decref(msg);
    json_decref(a);
}

/* The validator is able to fail: each broken variant is refused. */
static void
test_blockkit_validator_rejects(void **state)
{
    json_t *a = full_alert(), *msg, *blocks, *b;
    char *s = notify_render_slack(a);
    char big[3100];
    size_t i;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    /* Header too long. */
    msg = json_loads(s, 0, NULL);
    b = json_array_get(json_object_get(msg, "blocks"), 0);
    json_object_set_new(json_object_get(b, "text"), "text",
                        json_stringn(big, 151));
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    /* Header in mrkdwn. */
    msg = json_loads(s, 0, NULL);
    b = json_array_get(json_object_get(msg, "blocks"), 0);
    json_object_set_new(json_object_get(b, "text"), "type",
                        json_string("mrkdwn"));
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    /* Section text over 3000. */
    msg = json_loads(s, 0, NULL);
    b = json_array_get(json_object_get(msg, "blocks"), 1);
    json_object_set_new(json_object_get(b, "text"), "text", json_string(big));
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    /* Eleven fields. */
    msg = json_loads(s, 0, NULL);
    b = json_array_get(json_object_get(msg, "blocks"), 2);
    for (i = 0; i < 11; i++) {
        json_array_append_new(
            json_object_get(b, "fields"),
            json_pack("{s:s,s:s}", "type", "mrkdwn", "text", "x"));
    }
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    /* Unknown block type; missing fallback text; 51 blocks. */
    msg = json_loads(s, 0, NULL);
    json_array_append_new(json_object_get(msg, "blocks"),
                          json_pack("{s:s}", "type", "table"));
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    msg = json_loads(s, 0, NULL);
    json_object_del(msg, "text");
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    msg = json_loads(s, 0, NULL);
    blocks = json_object_get(msg, "blocks");
    while (json_array_size(blocks) <= 50) {
        json_array_append_new(blocks, json_pack("{s:s}", "type", "divider"));
    }
    assert_false(valid_blockkit(msg));
    json_decref(msg);
    free(s);
    json_decref(a);
}

/* Hostile strings: no injected link or mention, every limit kept. */
static void
test_slack_hostile(void **state)
{
    json_t *a, *msg, *reasons = json_array();
    char *s, *all = NULL, *huge = malloc(20000);
    size_t i;

    (void)state;
    assert_non_null(huge);
    for (i = 0; i < 19995; i++) {
        huge[i] = "<&>\xc3\xa9"[i % 5]; /* also a 2-byte character */
    }
    huge[19995] = 0;
    a = notify_alert_new("signing.unexpected", "hostile", huge, 1);
    assert_non_null(a);
    for (i = 0; i < 30; i++) {
        json_array_append_new(reasons, json_string(huge));
    }
    notify_alert_set(a, "reasons", reasons);
    notify_alert_set(a, "identity",
                     json_pack("{s:s,s:s,s:s,s:s}", "repository",
                               "<!channel> <https://evil.example|click>",
                               "workflow_sha", SHA, "run_invocation_uri",
                               "https://evil.example/a|b>", "build_config_uri",
                               huge));
    notify_alert_set(a, "rule", json_string("line\nbreak\x01"));
    notify_alert_set(a, "pcrs", json_pack("{s:s}", "PCR0", "`<!here>`"));
    s = notify_render_slack(a);
    assert_non_null(s);
    msg = json_loads(s, 0, NULL);
    assert_non_null(msg);
    assert_true(valid_blockkit(msg));
    collect(msg, &all);
    assert_null(strstr(all, "<!channel"));
    assert_null(strstr(all, "<!here"));
    assert_null(strstr(all, "<https://evil"));
    assert_null(strstr(all, "/commit/")); /* repository not GitHub-shaped */
    assert_non_null(strstr(all, "&lt;!channel&gt;"));
    assert_null(strstr(all, "\x01"));
    assert_non_null(strstr(all, "and 22 more"));
    /* Its positive twin: the same message from a GitHub-shaped repo links. */
    free(all);
    free(s);
    json_decref(msg);
    json_decref(a);
    free(huge);
}

static void
test_slack_not_object(void **state)
{
    json_t *arr = json_array();

    (void)state;
    assert_null(notify_render_slack(arr));
    assert_null(notify_render_slack(NULL));
    assert_null(notify_render_text(arr));
    json_decref(arr);
    /* An object with nothing in it (empty summary, no type) still gives a
     * valid message: Block Kit refuses empty texts. */
    {
        json_t *o = json_pack("{s:s}", "summary", "");
        char *s = notify_render_slack(o);
        json_t *m;
        assert_non_null(s);
        m = json_loads(s, 0, NULL);
        assert_non_null(m);
        assert_true(valid_blockkit(m));
        json_decref(m);
        free(s);
        json_decref(o);
    }
}

static void
test_text(void **state)
{
    json_t *a = full_alert();
    char *t = notify_render_text(a), want[128];

    (void)state;
    assert_non_null(t);
    assert_non_null(strstr(t, "[critical] signing.self_hosted_runner: "));
    assert_non_null(strstr(t, "Repository: " REPO));
    assert_non_null(strstr(t, "Commit: " SHA));
    assert_non_null(strstr(t, "Ref: refs/heads/main"));
    snprintf(want, sizeof(want), "%s%d", NOTIFY_SEARCH_URL, IDX);
    assert_non_null(strstr(t, want));
    assert_non_null(strstr(t, notify_alert_get_id(a)));
    free(t);
    /* Negative twin: without identity nothing identity-shaped appears. */
    json_object_del(a, "identity");
    t = notify_render_text(a);
    assert_non_null(t);
    assert_null(strstr(t, "Repository:"));
    assert_null(strstr(t, "Commit:"));
    free(t);
    json_decref(a);
}

/* The signature equals an independent HMAC-SHA256 of "<t>.<body>". */
static void
test_signature(void **state)
{
    static const char key[] = "s3cr3t-key";
    static const char body[] = "{\"id\":\"x\"}";
    char sig[NOTIFY_SIGNATURE_MAX], want[NOTIFY_SIGNATURE_MAX], msg[64];
    unsigned char md[32];
    unsigned int mdlen = 32, i;
    int n;

    (void)state;
    assert_int_equal(notify_render_signature(key, strlen(key), 1700000000, body,
                                             strlen(body), sig, sizeof(sig)),
                     0);
    snprintf(msg, sizeof(msg), "%d.%s", 1700000000, body);
    assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key),
                         (const unsigned char *)msg, strlen(msg), md, &mdlen));
    n = snprintf(want, sizeof(want), "t=1700000000,v1=");
    for (i = 0; i < mdlen; i++) {
        n += snprintf(want + n, sizeof(want) - (size_t)n, "%02x", md[i]);
    }
    assert_string_equal(sig, want);
    /* Negative twins: another body, time or key gives another value. */
    assert_int_equal(notify_render_signature(key, strlen(key), 1700000000, "{}",
                                             2, sig, sizeof(sig)),
                     0);
    assert_string_not_equal(sig, want);
    assert_int_equal(notify_render_signature(key, strlen(key), 1700000001, body,
                                             strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_not_equal(sig, want);
    assert_int_equal(notify_render_signature("other", 5, 1700000000, body,
                                             strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_not_equal(sig, want);
    /* Bad arguments. */
    assert_int_equal(
        notify_render_signature(NULL, 0, 1, body, 1, sig, sizeof(sig)), -1);
    assert_string_equal(sig, "");
    assert_int_equal(
        notify_render_signature(key, strlen(key), -1, body, 1, sig, 96), -1);
    assert_int_equal(
        notify_render_signature(key, strlen(key), 1, body, 1, sig, 10), -1);
}

/* ---- envelopes ------------------------------------------------------------
 */

static json_t *
parse(char *s)
{
    json_t *j;

    assert_non_null(s);
    j = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(j);
    return j;
}

static const char *
jstr(const json_t *o, const char *path)
{
    char buf[128], *p, *save = NULL;
    const json_t *v = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (p = strtok_r(buf, ".", &save); p != NULL && v != NULL;
         p = strtok_r(NULL, ".", &save)) {
        v = json_object_get(v, p);
    }
    return json_string_value(v);
}

static void
test_cloudevent(void **state)
{
    json_t *a = full_alert(), *e;

    (void)state;
    e = parse(notify_render_cloudevent(a, "host-1"));
    assert_string_equal(jstr(e, "specversion"), "1.0");
    assert_string_equal(jstr(e, "id"), notify_alert_get_id(a));
    assert_string_equal(jstr(e, "source"), "tlogwatch://host-1/rekor");
    assert_string_equal(jstr(e, "type"),
                        "dev.tlogwatch.signing.self_hosted_runner");
    assert_string_equal(jstr(e, "time"), "2023-11-14T22:13:20Z");
    assert_string_equal(jstr(e, "subject"), REPO);
    assert_string_equal(jstr(e, "datacontenttype"), "application/json");
    assert_true(json_equal(json_object_get(e, "data"), a));
    json_decref(e);
    /* No log: the rule; a host and names that are not URI-safe are
     * percent-encoded. */
    json_object_del(a, "log");
    json_object_set_new(a, "rule", json_string("a b/c"));
    e = parse(notify_render_cloudevent(a, "h st"));
    assert_string_equal(jstr(e, "source"), "tlogwatch://h%20st/a%20b%2Fc");
    json_decref(e);
    /* Not an alert. */
    assert_null(notify_render_cloudevent(json_object_get(a, "entry"), "h"));
    assert_null(notify_render_cloudevent(a, NULL));
    json_decref(a);
}

static void
test_ocsf(void **state)
{
    json_t *a = full_alert(), *o;

    (void)state;
    o = parse(notify_render_ocsf(a, "9.9.9"));
    assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 2004);
    assert_int_equal(json_integer_value(json_object_get(o, "category_uid")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "type_uid")),
                     200401);
    assert_int_equal(json_integer_value(json_object_get(o, "severity_id")), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "time")),
                     1700000000000LL);
    assert_true(json_is_true(json_object_get(o, "is_alert")));
    assert_string_equal(jstr(o, "metadata.product.version"), "9.9.9");
    assert_string_equal(jstr(o, "finding_info.uid"), notify_alert_get_id(a));
    assert_string_equal(jstr(o, "finding_info.analytic.name"), "enclave-app");
    assert_string_equal(jstr(o, "finding_info.desc"),
                        "runner_environment 'self-hosted' not in "
                        "[github-hosted]");
    assert_non_null(strstr(jstr(o, "finding_info.src_url"), NOTIFY_SEARCH_URL));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(o, "resources"), 0), "name")),
        REPO);
    assert_true(json_equal(json_object_get(o, "unmapped"), a));
    json_decref(o);
    /* Severity map; a detected_at that is not RFC 3339 is refused. */
    json_object_set_new(a, "severity", json_string("warning"));
    o = parse(notify_render_ocsf(a, "1"));
    assert_int_equal(json_integer_value(json_object_get(o, "severity_id")), 3);
    json_decref(o);
    json_object_set_new(a, "detected_at", json_string("yesterday"));
    assert_null(notify_render_ocsf(a, "1"));
    json_decref(a);
}

static void
test_alertmanager(void **state)
{
    json_t *a = full_alert(), *l, *x;

    (void)state;
    l = parse(notify_render_alertmanager(a, 3600, "http://127.0.0.1:9/#a"));
    assert_int_equal(json_array_size(l), 1);
    x = json_array_get(l, 0);
    assert_string_equal(jstr(x, "labels.alertname"),
                        "signing.self_hosted_runner");
    assert_string_equal(jstr(x, "labels.severity"), "critical");
    assert_string_equal(jstr(x, "labels.log"), "rekor");
    assert_string_equal(jstr(x, "labels.repository"), REPO);
    assert_string_equal(jstr(x, "labels.rule"), "enclave-app");
    assert_string_equal(jstr(x, "annotations.summary"),
                        "acme/enclave-app signed on a self-hosted runner");
    assert_non_null(strstr(jstr(x, "annotations.description"),
                           "[critical] signing.self_hosted_runner"));
    assert_string_equal(jstr(x, "startsAt"), "2023-11-14T22:13:20Z");
    assert_string_equal(jstr(x, "endsAt"), "2023-11-14T23:13:20Z");
    assert_string_equal(jstr(x, "generatorURL"), "http://127.0.0.1:9/#a");
    json_decref(l);
    /* Without a dashboard: no generatorURL; resolve_after 0 refused. */
    l = parse(notify_render_alertmanager(a, 60, NULL));
    assert_null(json_object_get(json_array_get(l, 0), "generatorURL"));
    json_decref(l);
    assert_null(notify_render_alertmanager(a, 0, NULL));
    json_decref(a);
}

static void
test_pagerduty(void **state)
{
    json_t *a = full_alert(), *e, *p;
    char big[2000];

    (void)state;
    e = parse(notify_render_pagerduty(a, "KEY123", "h", "http://x/#alerts"));
    assert_string_equal(jstr(e, "routing_key"), "KEY123");
    assert_string_equal(jstr(e, "event_action"), "trigger");
    assert_string_equal(jstr(e, "dedup_key"), notify_alert_get_id(a));
    assert_string_equal(jstr(e, "payload.severity"), "critical");
    assert_string_equal(jstr(e, "payload.source"), REPO);
    assert_string_equal(jstr(e, "payload.group"), "enclave-app");
    assert_string_equal(jstr(e, "payload.class"), "signing.self_hosted_runner");
    assert_string_equal(jstr(e, "client_url"), "http://x/#alerts");
    p = json_object_get(json_object_get(e, "payload"), "custom_details");
    assert_true(json_equal(p, a));
    assert_non_null(
        strstr(json_string_value(json_object_get(
                   json_array_get(json_object_get(e, "links"), 0), "href")),
               NOTIFY_SEARCH_URL));
    json_decref(e);
    /* A long summary is cut to 1024 bytes; no key, no document. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(a, "summary", json_string(big));
    e = parse(notify_render_pagerduty(a, "K", "h", NULL));
    assert_int_equal(strlen(jstr(e, "payload.summary")),
                     NOTIFY_PAGERDUTY_SUMMARY_MAX);
    assert_null(json_object_get(e, "client_url"));
    json_decref(e);
    assert_null(notify_render_pagerduty(a, NULL, "h", NULL));
    json_decref(a);
}

/* The header of m (up to the blank line), NUL-terminated, new. */
static char *
email_header(const char *m)
{
    const char *end = strstr(m, "\r\n\r\n");

    assert_non_null(end);
    return strndup(m, (size_t)(end - m) + 2);
}

static void
test_email(void **state)
{
    static const char *const to[] = {"sec@example.org", "oncall@example.org"};
    json_t *a = full_alert();
    char *m, *h, want[200], big[3000];
    const char *p;
    size_t i;

    (void)state;
    m = notify_render_email(a, "{\"doc\":1}", "tlogwatch@example.org", to, 2,
                            1733400000);
    assert_non_null(m);
    h = email_header(m);
    assert_non_null(strstr(h, "Date: Thu, 05 Dec 2024 12:00:00 +0000\r\n"));
    assert_non_null(strstr(h, "From: tlogwatch <tlogwatch@example.org>\r\n"));
    assert_non_null(
        strstr(h, "To: sec@example.org,\r\n oncall@example.org\r\n"));
    snprintf(want, sizeof(want), "Message-ID: <tlogwatch.%s@example.org>\r\n",
             notify_alert_get_id(a));
    assert_non_null(strstr(h, want));
    assert_non_null(strstr(h, "Subject: [tlogwatch critical] acme/enclave-app "
                              "signed on a self-hosted runner\r\n"));
    assert_non_null(strstr(h, "X-Tlogwatch-Event: signing.self_hosted_runner"));
    assert_non_null(strstr(h, "multipart/mixed"));
    /* the attachment is the document given, base64 */
    assert_non_null(strstr(m, "application/json"));
    assert_non_null(strstr(m, "eyJkb2MiOjF9\r\n")); /* {"doc":1} */
    for (p = m; *p != '\0'; p++) {
        assert_true(*p != '\n' || (p > m && p[-1] == '\r'));
    }
    free(h);
    free(m);
    /* A short ASCII summary stays plain. */
    json_object_set_new(a, "summary", json_string("short"));
    m = notify_render_email(a, "{}", "t@example.org", to, 1, 0);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nSubject: [tlogwatch critical] short\r\n"));
    assert_non_null(strstr(m, "\r\nTo: sec@example.org\r\n"));
    free(m);
    /* Its negative twin: CR/LF in the summary never starts a header. */
    json_object_set_new(a, "summary",
                        json_string("x\r\nBcc: victim@example.org\r\n\r\ny"));
    m = notify_render_email(a, "{}", "t@example.org", to, 1, 0);
    assert_non_null(m);
    h = email_header(m);
    assert_null(strstr(h, "\r\nBcc:"));
    assert_non_null(strstr(
        h, "Subject: [tlogwatch critical] x Bcc: victim@example.org y\r\n"));
    free(h);
    free(m);
    /* A long summary: cut, every header line within 998 octets. */
    for (i = 0; i < sizeof(big) - 1; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(a, "summary", json_string(big));
    m = notify_render_email(a, "{}", "t@example.org", to, 1, 0);
    assert_non_null(m);
    /* one long word: not folded (no blank), within 998 */
    assert_non_null(strstr(m, "\r\nSubject: [tlogwatch critical]\r\n abcd"));
    free(m);
    /* long ASCII with blanks: folded at 78; non-ASCII: encoded words */
    json_object_set_new(a, "summary",
                        json_string("acme/enclave-app   was signed by an "
                                    "unexpected job, on a branch nobody "
                                    "reviewed, by a runner nobody knows"));
    m = notify_render_email(a, "{}", "t@example.org", to, 1, 0);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nSubject: [tlogwatch critical] acme/enclave-"
                              "app was signed by an unexpected\r\n job, on"));
    {
        /* unfolded (CRLF removed, RFC 5322 2.2.3), it is the summary */
        char un[400];
        const char *q = strstr(m, "\r\nSubject: ") + 2;
        size_t k = 0;
        for (; !(q[0] == '\r' && q[2] != ' ') && k + 1 < sizeof(un); q++) {
            if (*q != '\r' && *q != '\n') {
                un[k++] = *q;
            }
        }
        un[k] = '\0';
        assert_string_equal(un,
                            "Subject: [tlogwatch critical] acme/enclave-app "
                            "was signed by an unexpected job, on a "
                            "branch nobody reviewed, by a runner nobody "
                            "knows");
    }
    free(m);
    json_object_set_new(a, "summary", json_string("caf\xc3\xa9 sign\xc3\xa9"));
    m = notify_render_email(a, "{}", "t@example.org", to, 1, 0);
    assert_non_null(m);
    assert_non_null(strstr(m, "\r\nSubject: =?UTF-8?B?"));
    for (p = m, i = 0; *p != '\0'; p++) {
        i = *p == '\n' ? 0 : i + 1;
        assert_true(i <= NOTIFY_EMAIL_LINE_MAX);
    }
    free(m);
    /* Refused: bad addresses, no recipient, an id that is not hex. */
    assert_null(notify_render_email(a, "{}", "t@example.org>", to, 1, 0));
    {
        static const char *const bad[] = {"a@b\r\nRCPT TO:<c@d>"};
        assert_null(notify_render_email(a, "{}", "t@example.org", bad, 1, 0));
    }
    assert_null(notify_render_email(a, "{}", "t@example.org", to, 0, 0));
    json_object_set_new(a, "id", json_string("../x"));
    assert_null(notify_render_email(a, "{}", "t@example.org", to, 1, 0));
    json_decref(a);
    assert_true(notify_email_addr_ok("a.b+c@mx-1.example.org"));
    assert_false(notify_email_addr_ok("a..b@example.org"));
    assert_false(notify_email_addr_ok("Name <a@example.org>"));
    assert_false(notify_email_addr_ok("a@-x.org"));
    assert_false(notify_email_addr_ok("a@b@c"));
}

static void
test_github(void **state)
{
    static const char *const labels[] = {"tlogwatch"};
    json_t *a = full_alert(), *i;
    char list[1024], marker[NOTIFY_ALERT_ID_LEN + 40];
    const char *body;
    uint64_t num = 0;

    (void)state;
    /* A hostile summary cannot close the fence nor mention anyone out of
     * it: its backticks are gone. */
    json_object_set_new(a, "summary", json_string("x ``` @org/team"));
    i = parse(notify_render_github_issue(a, labels, 1));
    body = jstr(i, "body");
    assert_string_equal(jstr(i, "title"), "x ``` @org/team");
    assert_non_null(strstr(body, notify_github_marker(notify_alert_get_id(a),
                                                      marker, sizeof(marker))));
    assert_non_null(strstr(body, "x ''' @org/team"));
    assert_null(strstr(body, "x ```"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(i, "labels"), 0)),
        "tlogwatch");
    json_decref(i);
    /* Found by its marker; not found; not a list. */
    snprintf(list, sizeof(list),
             "[{\"number\":7,\"body\":\"a\"},{\"number\":5,\"body\":\"%s\"}]",
             marker);
    assert_int_equal(notify_github_find(list, strlen(list),
                                        notify_alert_get_id(a), &num, NULL),
                     1);
    assert_int_equal(num, 5);
    assert_int_equal(notify_github_find(list, strlen(list), "00ff", &num, NULL),
                     0);
    assert_int_equal(notify_github_find("{\"message\":\"x\"}", 15,
                                        notify_alert_get_id(a), &num, NULL),
                     -1);
    /* An id that is not hex cannot open a fence or close the comment (the
     * marker sits outside the fences); a hex one is kept as it is. */
    assert_string_equal(
        notify_github_marker("ab```--> x", marker, sizeof(marker)),
        "<!-- tlogwatch-alert-id: ab___--__x -->");
    assert_string_equal(notify_github_marker("0442ef", marker, sizeof(marker)),
                        "<!-- tlogwatch-alert-id: 0442ef -->");
    /* A blank summary: the type is the title (GitHub refuses a blank
     * one); a summary is the title. */
    json_object_set_new(a, "summary", json_string(" \t"));
    i = parse(notify_render_github_issue(a, labels, 1));
    assert_string_equal(jstr(i, "title"), notify_alert_get_type(a));
    json_decref(i);
    json_object_set_new(a, "summary", json_string("s"));
    i = parse(notify_render_github_issue(a, labels, 1));
    assert_string_equal(jstr(i, "title"), "s");
    json_decref(i);
    json_decref(a);
}

/* The issues list's count and Link header: when to read another page. */
static void
test_github_pages(void **state)
{
    static const char *const next[] = {
        "<https://api.github.com/repositories/1/issues?page=2>; rel=\"next\", "
        "<https://api.github.com/repositories/1/issues?page=5>; rel=\"last\"",
        "<https://x/?page=1>; rel=\"prev first\",<https://x/?page=3>;rel=next",
        "<a>;title=\"a \\\" b\";REL=\"NEXT\"",
        "<a>; anchor=\"#x\"; rel=\"prefetch next\"",
    };
    static const char *const last[] = {
        "<https://api.github.com/repositories/1/issues?page=4>; rel=\"prev\", "
        "<https://api.github.com/repositories/1/issues?page=1>; rel=\"first\"",
        "",
        "<a>; rel=\"nextpage\"",
        " , <a>;rel=last ,",
    };
    static const char *const bad[] = {
        "<a; rel=next", "a>; rel=next", "<a>; rel=\"next",     "<a>; =next",
        "<a>; rel=",    "<a> rel=next", "<a>; rel=\"next\" x", "<a>; rel=\"x\\",
    };
    char list[64];
    uint64_t num = 0;
    size_t i, count = 99;

    (void)state;
    for (i = 0; i < sizeof(next) / sizeof(next[0]); i++) {
        assert_int_equal(notify_github_link_next(next[i], strlen(next[i])), 1);
        assert_int_equal(notify_github_more(NOTIFY_GITHUB_PAGE, next[i]), 1);
        /* a short page is the last one, whatever the Link says */
        assert_int_equal(notify_github_more(NOTIFY_GITHUB_PAGE - 1, next[i]),
                         0);
    }
    for (i = 0; i < sizeof(last) / sizeof(last[0]); i++) {
        assert_int_equal(notify_github_link_next(last[i], strlen(last[i])), 0);
        assert_int_equal(notify_github_more(NOTIFY_GITHUB_PAGE, last[i]), 0);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(notify_github_link_next(bad[i], strlen(bad[i])), -1);
        /* a doubt costs a request, never a duplicate issue */
        assert_int_equal(notify_github_more(NOTIFY_GITHUB_PAGE, bad[i]), 1);
    }
    /* len bounds the read: the "next" past it is not seen */
    assert_int_equal(notify_github_link_next(next[1], 19), 0);
    assert_int_equal(notify_github_link_next(next[0], 10), -1);
    assert_int_equal(notify_github_link_next(NULL, 0), -1);
    /* no Link header: a full page may have a next one */
    assert_int_equal(notify_github_more(NOTIFY_GITHUB_PAGE, NULL), 1);
    assert_int_equal(notify_github_more(0, NULL), 0);
    /* the count of a list, 0 for what is not one */
    snprintf(list, sizeof(list), "[{\"number\":1},{\"number\":2},{}]");
    assert_int_equal(notify_github_find(list, strlen(list), "00", &num, &count),
                     0);
    assert_int_equal(count, 3);
    assert_int_equal(notify_github_find("[]", 2, "00", &num, &count), 0);
    assert_int_equal(count, 0);
    count = 99;
    assert_int_equal(notify_github_find("{}", 2, "00", &num, &count), -1);
    assert_int_equal(count, 0);
}

/* Standard Webhooks: each signature is base64 HMAC-SHA256 under the
 * decoded key of "<id>.<t>.<body>", computed here independently. */
static void
std_want(const char *b64key, const char *msg, char *out, size_t outcap)
{
    unsigned char key[128], md[32], enc[64];
    unsigned int mdlen = 32;
    int kl;

    kl = EVP_DecodeBlock(key, (const unsigned char *)b64key,
                         (int)strlen(b64key));
    assert_true(kl > 0);
    assert_true(outcap > 50);
    {
        size_t pad = 0, n = strlen(b64key);
        while (pad < 2 && b64key[n - 1 - pad] == '=') {
            pad++;
        }
        kl = (int)(n / 4 * 3 - pad);
    }
    assert_non_null(HMAC(EVP_sha256(), key, kl, (const unsigned char *)msg,
                         strlen(msg), md, &mdlen));
    EVP_EncodeBlock(enc, md, 32);
    snprintf(out, outcap, "v1,%s", (const char *)enc);
}

static void
test_std_signature(void **state)
{
    /* The Standard Webhooks documentation's example key, and another. */
    static const char k1[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    static const char k2[] = "whsec_C2lnbmluZy1rZXktb25lLXRoaXJ0eS10d28tYnl0";
    static const char body[] = "{\"test\": 2432232314}";
    const char *both[] = {k1, k2};
    char sig[NOTIFY_STD_SIGNATURE_MAX], w1[80], w2[80], two[200];
    unsigned char key[NOTIFY_STD_KEY_MAX];
    size_t kl;

    (void)state;
    std_want(k1 + 6,
             "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",
             w1, sizeof(w1));
    std_want(k2 + 6,
             "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",
             w2, sizeof(w2));
    assert_int_equal(notify_render_std_signature(
                         both, 1, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                         body, strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_equal(sig, w1);
    assert_int_equal(notify_render_std_signature(
                         both, 2, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                         body, strlen(body), sig, sizeof(sig)),
                     0);
    snprintf(two, sizeof(two), "%s %s", w1, w2);
    assert_string_equal(sig, two);
    /* Negative twins: other id or time; a key without whsec_ or not
     * base64; too small an output. */
    assert_int_equal(notify_render_std_signature(both, 1, "msg_other",
                                                 1614265330, body, strlen(body),
                                                 sig, sizeof(sig)),
                     0);
    assert_string_not_equal(sig, w1);
    {
        const char *bad[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
        const char *bad2[] = {"whsec_***"};
        assert_int_equal(notify_render_std_signature(bad, 1, "m", 1, body,
                                                     strlen(body), sig,
                                                     sizeof(sig)),
                         -1);
        assert_string_equal(sig, "");
        assert_int_equal(notify_render_std_signature(bad2, 1, "m", 1, body,
                                                     strlen(body), sig,
                                                     sizeof(sig)),
                         -1);
    }
    assert_int_equal(notify_render_std_signature(both, 2, "m", 1, body,
                                                 strlen(body), sig, 60),
                     -1);
    assert_int_equal(notify_std_secret_decode(k1, key, sizeof(key), &kl), 0);
    assert_int_equal(kl, 24);
}

static const char *
env_get(char **env, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; env[i] != NULL; i++) {
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
            return env[i] + n + 1;
        }
    }
    return NULL;
}

static void
test_exec_env(void **state)
{
    static const char *const base[] = {"PATH=/usr/bin:/bin", "bad", NULL};
    json_t *a = full_alert();
    char **env, want[64];

    (void)state;
    json_object_set_new(a, "summary", json_string("two\nlines"));
    env = notify_render_exec_env(a, "/tmp/alert.json", base);
    assert_non_null(env);
    assert_string_equal(env_get(env, "EVENT"), "signing.self_hosted_runner");
    assert_string_equal(env_get(env, "SEVERITY"), "critical");
    assert_string_equal(env_get(env, "SUMMARY"), "two?lines");
    assert_string_equal(env_get(env, "ALERT_ID"), notify_alert_get_id(a));
    assert_string_equal(env_get(env, "ALERT_JSON_FILE"), "/tmp/alert.json");
    assert_string_equal(env_get(env, "REPOSITORY"), REPO);
    assert_string_equal(env_get(env, "WORKFLOW_SHA"), SHA);
    assert_string_equal(env_get(env, "WORKFLOW"),
                        ".github/workflows/build-eif.yml");
    assert_string_equal(env_get(env, "REF"), "refs/heads/main");
    assert_string_equal(env_get(env, "RUNNER_ENVIRONMENT"), "self-hosted");
    assert_string_equal(env_get(env, "RULE"), "enclave-app");
    snprintf(want, sizeof(want), "%d", IDX);
    assert_string_equal(env_get(env, "LOG_INDEX"), want);
    assert_string_equal(env_get(env, "PATH"), "/usr/bin:/bin");
    assert_null(env_get(env, "bad"));
    assert_null(env_get(env, "PCR2")); /* unknown: absent */
    notify_render_env_free(env);
    /* Negative twins. */
    assert_null(notify_render_exec_env(a, NULL, NULL));
    assert_null(notify_render_exec_env(NULL, "/x", NULL));
    notify_render_env_free(NULL);
    json_decref(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slack_valid_and_complete),
        cmocka_unit_test(test_blockkit_validator_rejects),
        cmocka_unit_test(test_slack_hostile),
        cmocka_unit_test(test_slack_not_object),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_exec_env),
        cmocka_unit_test(test_cloudevent),
        cmocka_unit_test(test_ocsf),
        cmocka_unit_test(test_alertmanager),
        cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_github),
        cmocka_unit_test(test_github_pages),
        cmocka_unit_test(test_std_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
