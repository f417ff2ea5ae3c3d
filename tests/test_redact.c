/*
 * test_redact.c: notify/redact.h.  Sink URLs of the shapes real hooks use
 * (Slack, Discord, Teams, a query token, userinfo) are shown as
 * scheme://host/... only; receiver replies keep their words but lose
 * every URL, path, credential value and token-shaped run, and are cut
 * after redaction.  Each redaction has a twin that must be kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "notify/redact.h"

static const char *
url(const char *in)
{
    static char out[256];

    return notify_redact_url(in, out, sizeof(out));
}

static void
test_url_shapes(void **state)
{
    (void)state;
    assert_string_equal(url("https://hooks.slack.com/services/T0/B0/XyZsecret"),
                        "https://hooks.slack.com/...");
    assert_string_equal(
        url("https://discord.com/api/webhooks/1234/AbCdEfToKeN?wait=1"),
        "https://discord.com/...");
    assert_string_equal(url("https://acme.webhook.office.com/webhookb2/"
                            "0000@1111/IncomingWebhook/abc/def"),
                        "https://acme.webhook.office.com/...");
    assert_string_equal(url("http://127.0.0.1:8080/hook?token=s3cr3t#frag"),
                        "http://127.0.0.1:8080/...");
    assert_string_equal(url("https://user:pw@siem.example:8443/in"),
                        "https://siem.example:8443/...");
    assert_string_equal(url("https://siem.example"),
                        "https://siem.example/...");
    assert_string_equal(url("https://siem.example?x=1"),
                        "https://siem.example/...");
    assert_string_equal(url("http://[::1]:9/p"), "http://[::1]:9/...");
}

static void
test_url_bad(void **state)
{
    char small[12];

    (void)state;
    assert_string_equal(url("no scheme here"), "(unparsable url)");
    assert_string_equal(url("://host/x"), "(unparsable url)");
    assert_string_equal(url("1ttp://host/x"), "(unparsable url)");
    assert_string_equal(url("https:///path/only"), "(unparsable url)");
    assert_string_equal(url("https://user@/x"), "(unparsable url)");
    assert_string_equal(url(NULL), "(unparsable url)");
    assert_string_equal(url("https://ho\x01st\xc3\xa9/x"), "https://ho?st?"
                                                           "?/...");
    /* Cut to the buffer, never past it. */
    notify_redact_url("https://hooks.slack.com/services/x", small,
                      sizeof(small));
    assert_string_equal(small, "https://hoo");
    assert_null(notify_redact_url("https://x/", NULL, 0));
}

/* The form with the path (http_redact_url's): the same host part as
 * notify_redact_url for every input, the path without query or fragment,
 * a hook's cut after /services/; its twins: what the host-only form
 * shows of the same URLs. */
static void
test_url_path(void **state)
{
    static const char *const in[] = {
        "https://hooks.slack.com/services/T0/B0/XyZsecret",
        "http://127.0.0.1:8080/api/v1/log/entries?logIndex=5#f",
        "https://user:pw@rekor.example:8443/api/v1/log",
        "https://siem.example",
        "https://siem.example?token=x",
        "https://ho\x01st/x\x7fy",
        "no scheme here",
        NULL,
    };
    static const char *const want[] = {
        "https://hooks.slack.com/services/",
        "http://127.0.0.1:8080/api/v1/log/entries",
        "https://rekor.example:8443/api/v1/log",
        "https://siem.example",
        "https://siem.example",
        "https://ho?st/x?y",
        "(unparsable url)",
        "(unparsable url)",
    };
    char out[256], host[256];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        assert_ptr_equal(notify_redact_url_path(in[i], out, sizeof(out)), out);
        assert_string_equal(out, want[i]);
        notify_redact_url(in[i], host, sizeof(host));
        n = strlen(host) > 4 ? strlen(host) - 4 : strlen(host);
        assert_memory_equal(out, host, n);
    }
    assert_null(notify_redact_url_path("https://x/", NULL, 0));
}

static const char *
reply(const char *in)
{
    static char out[512];

    return notify_redact_reply(in, strlen(in), out, sizeof(out));
}

/* s holds none of the needles. */
static void
assert_free_of(const char *s, const char *const *needles)
{
    for (; *needles != NULL; needles++) {
        if (strstr(s, *needles) != NULL) {
            fail_msg("'%s' holds '%s'", s, *needles);
        }
    }
}

static void
test_reply_urls(void **state)
{
    static const char *const secrets[] = {"Tok3nPath", "qSecret", "T0/B0",
                                          NULL};
    (void)state;
    assert_string_equal(reply("got POST https://h.example/hook/Tok3nPath?"
                              "t=qSecret ok"),
                        "got POST [url] ok");
    assert_string_equal(reply("{\"url\":\"http:\\/\\/127.0.0.1\\/Tok3nPath\"}"),
                        "{\"url\":\"[url]\"}");
    assert_string_equal(reply("path /api/webhooks/1/Tok3nPath denied"),
                        "path [url] denied");
    assert_string_equal(reply("see hooks.slack.com/services/T0/B0/X"),
                        "see [url]");
    assert_string_equal(reply("bad hook?t=qSecret"), "bad [url]");
    assert_string_equal(reply("redirect=https%3A%2F%2Fh%2FTok3nPath"), "[url]");
    assert_free_of(reply("<a href='https://x/Tok3nPath'>x</a> /p?qSecret"),
                   secrets);
    /* Twins: words with one slash, a lone '?' or '/', and ':' are kept. */
    assert_string_equal(reply("content-type text/plain: what? / ok"),
                        "content-type text/plain: what? / ok");
}

static void
test_reply_credentials(void **state)
{
    (void)state;
    assert_string_equal(reply("{\"error\":\"bad\",\"token\":\"abc\"}"),
                        "{\"error\":\"bad\",\"token\":\"[redacted]\"}");
    assert_string_equal(reply("api_key=abc&sig=def&x=1"),
                        "api_key=[redacted]&sig=[redacted]&x=1");
    assert_string_equal(reply("Authorization: Bearer abc.def"),
                        "Authorization: Bearer [redacted].def");
    assert_string_equal(reply("password: hunter2"), "password: [redacted]");
    assert_string_equal(reply("X-Secret = shh"), "X-Secret = [redacted]");
    /* Twin: ordinary words after ordinary names are kept. */
    assert_string_equal(reply("error: rate limited, retry=5"),
                        "error: rate limited, retry=5");
    /* A value that holds a name is a value (it was shown as a name, and
     * the word after it replaced instead), and what follows it goes too;
     * only an authentication scheme is shown between name and value. */
    assert_string_equal(reply("password: passw0rd"), "password: [redacted]");
    assert_string_equal(reply("token: mykey ok"),
                        "token: [redacted] [redacted]");
    assert_string_equal(reply("{\"secret\":\"mysecret\",\"n\":1}"),
                        "{\"secret\":\"[redacted]\",\"[redacted]\":1}");
    assert_string_equal(reply("token_type: bearer, access_token: k1"),
                        "token_type: bearer, [redacted]: [redacted]");
    assert_string_equal(reply("Authorization: Basic dXNlcjpw"),
                        "Authorization: Basic [redacted]");
    assert_string_equal(reply("auth: Token abc"), "auth: Token [redacted]");
    /* Twin: a name after a value that is not one starts anew. */
    assert_string_equal(reply("password: hunter2 api_key: x ok"),
                        "password: [redacted] api_key: [redacted] ok");
}

static void
test_reply_runs(void **state)
{
    char in[128];

    (void)state;
    /* 20+ base64url with a digit; 32+ of anything; 16+ hex. */
    assert_string_equal(reply("id Abcdefghij0123456789x done"),
                        "id [redacted] done");
    assert_string_equal(reply("z ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"),
                        "z [redacted]");
    assert_string_equal(reply("sum deadbeefcafebabe."), "sum [redacted].");
    assert_string_equal(reply("a 0123456789abcdef0123"), "a [redacted]");
    /* Twins: just below each limit, or letters only. */
    assert_string_equal(reply("id Abcdefghij012345678 done"),
                        "id Abcdefghij012345678 done");
    assert_string_equal(reply("z ABCDEFGHIJKLMNOPQRSTUVWXYZabcde"),
                        "z ABCDEFGHIJKLMNOPQRSTUVWXYZabcde");
    assert_string_equal(reply("sum deadbeefcafebab."), "sum deadbeefcafebab.");
    assert_string_equal(reply("Internal-Server-Error_occurred"),
                        "Internal-Server-Error_occurred");
    /* A JWT's parts are each redacted. */
    snprintf(in, sizeof(in),
             "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjEyMzQ1Njc4"
             "OTB9.c2lnbmF0dXJlMTIzNDU2Nzg5MA");
    assert_string_equal(reply(in), "jwt [redacted].[redacted].[redacted]");
}

/* A token-shaped word is replaced whatever it holds: one in about 300
 * random base64url tokens of 32 characters contains "sig", "key" or
 * "jwt", and was shown as a credential name (e2e_secrets leaked the
 * first one below about once in 110 runs).  One that holds a name still
 * announces a value. */
static void
test_reply_runs_holding_names(void **state)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789-_";
    static const char *const names[] = {"sig", "KEY", "jWt", "Pass", "auth"};
    char tokbuf[40], in[128];
    const char *out;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    size_t i, k;

    (void)state;
    assert_string_equal(reply("trace Ek9QCjnxNySMED1zsgtX6isIGjaYuH-z\"}"),
                        "trace [redacted]\"}");
    assert_string_equal(reply("{\"reply_token\": \"q7sIgq7q7q7q7q7q7q7q7q\"}"),
                        "{\"reply_token\": \"[redacted]\"}");
    assert_string_equal(reply("api_key_0123456789abcdef=v1 ok"),
                        "[redacted]=[redacted] ok");
    /* Twin: a name that is not token-shaped is shown, its value is not. */
    assert_string_equal(reply("api_key_01=v1 ok"), "api_key_01=[redacted] ok");
    /* 2,000 random 32-character tokens, each with a name at some place:
     * after a plain word and after a credential name. */
    for (i = 0; i < 2000; i++) {
        for (k = 0; k < 32; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            tokbuf[k] = b64[(x >> 33) % 64];
        }
        tokbuf[32] = '\0';
        memcpy(tokbuf + (x >> 40) % 28, names[i % 5], strlen(names[i % 5]));
        snprintf(in, sizeof(in), "trace %s; token=%s", tokbuf, tokbuf);
        out = reply(in);
        if (strstr(out, tokbuf) != NULL ||
            strcmp(out, "trace [redacted]; token=[redacted]") != 0) {
            fail_msg("'%s' gave '%s'", in, out);
        }
    }
}

static void
test_reply_twice(void **state)
{
    static const char *const in[] = {
        "{\"reply_token\": \"abc\", \"u\": \"https://h/x\"}",
        "Authorization: Bearer Abcdefghij0123456789x and [redacted] [url]",
        "your token [x] is [redacted",
        NULL,
    };
    char once[512], twice[512];
    size_t i;

    (void)state;
    for (i = 0; in[i] != NULL; i++) {
        notify_redact_reply(in[i], strlen(in[i]), once, sizeof(once));
        notify_redact_reply(once, strlen(once), twice, sizeof(twice));
        assert_string_equal(once, twice);
    }
    assert_string_equal(reply("{\"reply_token\": \"abc\"}"),
                        "{\"reply_token\": \"[redacted]\"}");
    /* A marker ends a credential: what follows it is judged alone. */
    assert_string_equal(reply("token [redacted] retry later"),
                        "token [redacted] retry later");
}

static void
test_reply_clean_and_cut(void **state)
{
    char big[4096], out[512], tiny[8];
    size_t i;

    (void)state;
    assert_string_equal(reply("  a\r\n\tb\x01 c\xc3\xa9  "), "a b c??");
    assert_string_equal(reply(""), "");
    /* Cut at NOTIFY_REPLY_MAX. */
    for (i = 0; i + 1 < sizeof(big); i++) {
        big[i] = "word "[i % 5];
    }
    big[sizeof(big) - 1] = '\0';
    notify_redact_reply(big, strlen(big), out, sizeof(out));
    assert_int_equal(strlen(out), NOTIFY_REPLY_MAX);
    /* Cut at the caller's buffer. */
    notify_redact_reply(big, strlen(big), tiny, sizeof(tiny));
    assert_string_equal(tiny, "word wo");
    /* A token straddling the limit is judged whole: its start never
     * shows.  195 bytes of words, then a 40-byte token. */
    memset(big, 'a', 195);
    for (i = 9; i < 195; i += 10) {
        big[i] = ' ';
    }
    memcpy(big + 195, " Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9", 41);
    big[236] = '\0';
    notify_redact_reply(big, 236, out, sizeof(out));
    assert_int_equal(strlen(out), NOTIFY_REPLY_MAX);
    assert_null(strstr(out, "Zq9"));
    assert_string_equal(out + 195, " [red");
    /* NUL bytes inside the reply are cleaned, not an end. */
    notify_redact_reply("a\0b", 3, out, sizeof(out));
    assert_string_equal(out, "a b");
    assert_null(notify_redact_reply("x", 1, NULL, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_shapes),
        cmocka_unit_test(test_url_bad),
        cmocka_unit_test(test_url_path),
        cmocka_unit_test(test_reply_urls),
        cmocka_unit_test(test_reply_credentials),
        cmocka_unit_test(test_reply_runs),
        cmocka_unit_test(test_reply_runs_holding_names),
        cmocka_unit_test(test_reply_twice),
        cmocka_unit_test(test_reply_clean_and_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
