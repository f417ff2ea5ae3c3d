/*
 * test_dashboard.c: the dashboard page of monitor/view/dashboard.h,
 * rendered from hand-written status documents (tests/data/dashboard/:
 * status.json, a plausible daemon state; status-hostile.json, every
 * string a log or a certificate could make hostile).
 *
 * The pages are read back by a strict checker written here: every tag
 * is one the renderer may write (no script, iframe, img, style outside
 * the head...), every attribute is on an allow-list, every href is an
 * http(s) URL, elements nest and close, and no raw control byte is
 * left.  The checker has its own negative cases, so a page it accepts
 * was actually checked.
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

#include "monitor/view/dashboard.h"

/* ---- a strict checker of the pages ----------------------------------- */

static const char *const TAGS[] = {
    "html", "head", "meta", "title", "style",   "body",     "header", "main",
    "h1",   "h2",   "h3",   "p",     "section", "table",    "thead",  "tbody",
    "tr",   "th",   "td",   "span",  "b",       "br",       "a",      "div",
    "ul",   "li",   "svg",  "rect",  "text",    "polyline", "circle"};
static const char *const VOID_TAGS[] = {"meta", "br"};
static const char *const ATTRS[] = {
    "class",     "id",          "href",        "rel",
    "style",     "http-equiv",  "content",     "charset",
    "name",      "lang",        "colspan",     "viewBox",
    "width",     "height",      "role",        "xmlns",
    "x",         "y",           "fill",        "stroke",
    "font-size", "font-weight", "text-anchor", "stroke-width",
    "points",    "cx",          "cy",          "r"};

static int
in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

#define IN(list, s, len) in_list(list, sizeof(list) / sizeof(list[0]), s, len)

/* 0 when the page is acceptable, else a reason in why. */
static int
check_page(const char *html, size_t len, char *why, size_t whycap)
{
    const char *stack[64];
    size_t stack_len[64];
    size_t depth = 0, i = 0;

#define FAIL(...)                                                              \
    do {                                                                       \
        snprintf(why, whycap, __VA_ARGS__);                                    \
        return -1;                                                             \
    } while (0)

    if (strlen(html) != len) {
        FAIL("NUL inside the page");
    }
    if (strncmp(html, "<!DOCTYPE html>\n", 16) != 0) {
        FAIL("no doctype");
    }
    i = 16;
    while (i < len) {
        const char *t, *name;
        size_t nlen;
        int closing = 0, self = 0;

        if ((unsigned char)html[i] < 0x20 && html[i] != '\n') {
            FAIL("control byte 0x%02x at %zu", (unsigned char)html[i], i);
        }
        if (html[i] == 0x7f) {
            FAIL("DEL at %zu", i);
        }
        if (html[i] == '>') {
            FAIL("bare > at %zu", i);
        }
        if (html[i] != '<') {
            i++;
            continue;
        }
        t = html + i + 1;
        if (*t == '/') {
            closing = 1;
            t++;
        }
        name = t;
        while ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
               (*t >= '0' && *t <= '9')) {
            t++;
        }
        nlen = (size_t)(t - name);
        if (nlen == 0 || !IN(TAGS, name, nlen)) {
            FAIL("tag not allowed at %zu: %.20s", i, html + i);
        }
        /* attributes: name="value" */
        for (;;) {
            const char *an, *av;
            size_t anl;

            while (*t == ' ' || *t == '\n') {
                t++;
            }
            if (*t == '>' || (*t == '/' && t[1] == '>')) {
                break;
            }
            if (closing) {
                FAIL("attribute on a closing tag at %zu", i);
            }
            an = t;
            while ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
                   *t == '-') {
                t++;
            }
            anl = (size_t)(t - an);
            if (anl == 0 || !IN(ATTRS, an, anl)) {
                FAIL("attribute not allowed at %zu: %.30s", i, an);
            }
            if (t[0] != '=' || t[1] != '"') {
                FAIL("unquoted attribute at %zu: %.30s", i, an);
            }
            av = t + 2;
            t = strchr(av, '"');
            if (t == NULL) {
                FAIL("unterminated attribute at %zu", i);
            }
            if (memchr(av, '<', (size_t)(t - av)) != NULL ||
                memchr(av, '>', (size_t)(t - av)) != NULL) {
                FAIL("< or > inside an attribute at %zu", i);
            }
            if (anl == 4 && strncmp(an, "href", 4) == 0 &&
                strncmp(av, "http://", 7) != 0 &&
                strncmp(av, "https://", 8) != 0) {
                FAIL("href not http(s) at %zu: %.40s", i, av);
            }
            if (anl == 5 && strncmp(an, "style", 5) == 0 &&
                (t - av != 13 || strncmp(av, "color:#", 7) != 0)) {
                FAIL("style attribute other than a colour at %zu", i);
            }
            t++;
        }
        if (*t == '/') {
            self = 1;
            t++;
        }
        if (closing) {
            if (depth == 0 || stack_len[depth - 1] != nlen ||
                strncmp(stack[depth - 1], name, nlen) != 0) {
                FAIL("</%.*s> closes %.*s at %zu", (int)nlen, name,
                     depth ? (int)stack_len[depth - 1] : 4,
                     depth ? stack[depth - 1] : "none", i);
            }
            depth--;
        } else if (!self && !IN(VOID_TAGS, name, nlen)) {
            if (depth == 64) {
                FAIL("nested too deep");
            }
            stack[depth] = name;
            stack_len[depth++] = nlen;
        }
        i = (size_t)(t - html) + 1;
        /* Raw text of <style>: the renderer's own CSS, up to </style>. */
        if (!closing && nlen == 5 && strncmp(name, "style", 5) == 0) {
            const char *end = strstr(html + i, "</style>");

            if (end == NULL) {
                FAIL("unterminated style");
            }
            if (memchr(html + i, '<', (size_t)(end - html - i)) != NULL) {
                FAIL("< inside style");
            }
            i = (size_t)(end - html);
        }
    }
    if (depth != 0) {
        FAIL("%zu elements left open, innermost %.*s", depth,
             (int)stack_len[depth - 1], stack[depth - 1]);
    }
#undef FAIL
    return 0;
}

static void
assert_page_ok(const char *html, size_t len)
{
    char why[256];

    if (check_page(html, len, why, sizeof(why)) != 0) {
        fail_msg("page rejected: %s", why);
    }
}

/* The checker rejects what it must (it is not a checker otherwise). */
static void
test_checker_negative(void **state)
{
    static const char *const bad[] = {
        "<p>no doctype</p>",
        "<!DOCTYPE html>\n<html><script>x</script></html>",
        "<!DOCTYPE html>\n<html><p onclick=\"x\"></p></html>",
        "<!DOCTYPE html>\n<html><a href=\"javascript:x\">x</a></html>",
        "<!DOCTYPE html>\n<html><a href=\" https://x\">x</a></html>",
        "<!DOCTYPE html>\n<html><p>",
        "<!DOCTYPE html>\n<html><p></td></html>",
        "<!DOCTYPE html>\n<html><p class=x></p></html>",
        "<!DOCTYPE html>\n<html><p>a > b</p></html>",
        "<!DOCTYPE html>\n<html><p>\x01</p></html>",
        ("<!DOCTYPE html>\n<html><span style=\"background:url(x)\">"
         "</span></html>"),
        "<!DOCTYPE html>\n<html><img src=\"x\"></html>",
    };
    char why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (check_page(bad[i], strlen(bad[i]), why, sizeof(why)) == 0) {
            fail_msg("checker accepted bad page %zu: %s", i, bad[i]);
        }
    }
    {
        static const char good[] =
            "<!DOCTYPE html>\n<html><p class=\"a\">x &lt; y<br></p>"
            "<a href=\"https://x/\">x</a></html>\n";

        assert_int_equal(check_page(good, strlen(good), why, sizeof(why)), 0);
    }
}

/* ---- inputs ------------------------------------------------------------ */

static json_t *
load(const char *name)
{
    const char *src = getenv("TLOGWATCH_SRC");
    char path[1024];
    json_error_t jerr;
    json_t *doc;

    snprintf(path, sizeof(path), "%s/tests/data/dashboard/%s",
             src != NULL ? src : "..", name);
    doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    return doc;
}

static char *
render(const json_t *doc, const struct dashboard_opts *o, size_t *len)
{
    char err[256] = "";
    char *html = dashboard_html(doc, o, len, err, sizeof(err));

    if (html == NULL) {
        fail_msg("dashboard_html: %s", err);
    }
    assert_int_equal(strlen(html), *len);
    return html;
}

/* The table row (<tr ...>...</tr>) of the page that holds needle. */
static char *
row_of(const char *html, const char *needle)
{
    const char *at = strstr(html, needle), *start, *end;
    char *row;

    if (at == NULL) {
        fail_msg("not in the page: %s", needle);
    }
    start = at;
    while (start > html && strncmp(start, "<tr", 3) != 0) {
        start--;
    }
    end = strstr(at, "</tr>");
    assert_non_null(end);
    row = strndup(start, (size_t)(end - start));
    assert_non_null(row);
    return row;
}

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static const char *
find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0) {
            return hay;
        }
    }
    return NULL;
}

static int
count(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

/* ---- the plausible document -------------------------------------------- */

static void
test_status(void **state)
{
    json_t *doc = load("status.json");
    const json_t *rule = json_array_get(json_object_get(doc, "rules"), 0);
    const json_t *sg = json_object_get(rule, "signings");
    struct dashboard_opts o;
    char *html, *row, want[512];
    size_t len, i;

    (void)state;
    dashboard_opts_init(&o);
    o.refresh_s = 17;
    html = render(doc, &o, &len);
    assert_page_ok(html, len);
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" "
                                 "content=\"17\">"));
    assert_null(strstr(html, "class=\"cut\""));

    /* Every signing: commit linked to commit_url, run link, PCRs, and
     * the verdict as the document says it. */
    assert_true(json_array_size(sg) >= 2);
    for (i = 0; i < json_array_size(sg); i++) {
        const json_t *s = json_array_get(sg, i);
        const json_t *pcrs = json_object_get(s, "pcrs");
        const char *commit = json_string_value(json_object_get(s, "commit"));
        const char *verdict = json_string_value(json_object_get(s, "verdict"));
        const char *k;
        json_t *v;

        row = row_of(html, commit);
        snprintf(want, sizeof(want),
                 "<a rel=\"noopener noreferrer nofollow\" href=\"%s\">%s</a>",
                 json_string_value(json_object_get(s, "commit_url")), commit);
        assert_non_null(strstr(row, want));
        snprintf(want, sizeof(want), "href=\"%s\"",
                 json_string_value(json_object_get(s, "run_url")));
        assert_non_null(strstr(row, want));
        assert_non_null(
            strstr(row, json_string_value(json_object_get(s, "runner"))));
        assert_non_null(
            strstr(row, json_string_value(json_object_get(s, "workflow"))));
        json_object_foreach((json_t *)pcrs, k, v)
        {
            if (json_is_string(v) && strncmp(k, "PCR", 3) == 0) {
                snprintf(want, sizeof(want), "%s %s", k, json_string_value(v));
                assert_non_null(strstr(row, want));
            }
        }
        if (json_is_true(json_object_get(s, "allowed"))) {
            assert_non_null(strstr(row, "<span class=\"ok\">allowed</span>"));
            assert_null(strstr(row, "NOT ALLOWED"));
        } else {
            /* Not allowed: said in words, red, never the ok colour. */
            snprintf(want, sizeof(want),
                     "<span class=\"bad\">NOT ALLOWED: %s</span>", verdict);
            assert_non_null(strstr(row, want));
            assert_non_null(strstr(row, "class=\"notallowed\""));
            assert_null(strstr(row, "class=\"ok\""));
        }
        free(row);
    }

    /* Logs: the stale one says so, its errors are listed. */
    row = row_of(html, "<b>rekor-v2</b>");
    assert_non_null(strstr(row, "STALE"));
    assert_non_null(strstr(row, "40m 0s ago"));
    free(row);
    assert_non_null(strstr(html, "HTTP 503 from checkpoint"));
    row = row_of(html, "<b>rekor</b>");
    assert_non_null(strstr(row, "fresh"));
    assert_non_null(strstr(row, "<td>2650</td>"));
    free(row);

    /* Alerts by severity and the latest list. */
    assert_non_null(strstr(html, "critical: 1</span>"));
    assert_non_null(strstr(html, "warning: 1</span>"));
    assert_non_null(strstr(html, "info: 3</span>"));
    assert_non_null(strstr(html, "rekor-v2 unreachable for 30m"));

    /* The chart: two panels, one line per log in each. */
    assert_int_equal(count(html, "<svg "), 2);
    assert_int_equal(count(html, "<polyline "), 4);
    assert_int_equal(count(html, "<circle "), 4);

    /* The summary counts the not-allowed signing. */
    assert_non_null(strstr(html, "1 of 2 latest signings not allowed"));
    assert_non_null(strstr(html, "2 logs, 1 stale"));

    /* Outbox: the sink's where as text, never a link. */
    assert_non_null(strstr(html, "https://hooks.example.test/"));
    assert_null(strstr(html, "href=\"https://hooks"));

    /* No CT log followed and no certificate from one: no CT line. */
    assert_null(strstr(html, "class=\"ctcounts\""));
    free(html);

    /* A rule with certificates from a CT log since removed: its line
     * only. */
    json_object_set_new(
        (json_t *)rule, "ct_counts",
        json_pack("{s:i,s:i,s:i}", "pending", 0, "unlogged", 2, "logged", 0));
    html = render(doc, &o, &len);
    assert_page_ok(html, len);
    assert_int_equal(count(html, "class=\"ctcounts\""), 1);
    assert_non_null(strstr(html, ">2 unlogged</span>"));
    free(html);

    /* A CT log followed: every rule has its line, zeros included. */
    json_object_set_new(json_array_get(json_object_get(doc, "logs"), 1), "kind",
                        json_string("ct"));
    html = render(doc, &o, &len);
    assert_page_ok(html, len);
    assert_int_equal(count(html, "class=\"ctcounts\""),
                     (int)json_array_size(json_object_get(doc, "rules")));
    free(html);
    json_decref(doc);
}

/* The same signing with its verdict changed: only an entry that is
 * allowed by both members is shown allowed. */
static void
test_verdict_contradictions(void **state)
{
    static const struct {
        const char *verdict; /* NULL: absent */
        json_t *(*allowed)(void);
        int shown_allowed;
    } cases[] = {
        {"allowed", json_true, 1},      {"allowed", json_false, 0},
        {"unknown_pcrs", json_true, 0}, {"pcrs_pending", json_false, 0},
        {NULL, json_true, 0},           {"allowed", json_null, 0},
        {"Allowed", json_true, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = load("status.json");
        json_t *s = json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "rules"), 0),
                            "signings"),
            1);
        char *html, *row;
        size_t len;

        if (cases[i].verdict != NULL) {
            json_object_set_new(s, "verdict", json_string(cases[i].verdict));
        } else {
            json_object_del(s, "verdict");
        }
        json_object_set_new(s, "allowed", cases[i].allowed());
        html = render(doc, NULL, &len);
        assert_page_ok(html, len);
        row = row_of(html, "3f786850e387550fdab836ed7e6dc881de23001b");
        if (cases[i].shown_allowed) {
            assert_non_null(strstr(row, "class=\"ok\""));
            assert_null(strstr(row, "NOT ALLOWED"));
        } else {
            assert_null(strstr(row, "class=\"ok\""));
            assert_non_null(strstr(row, "NOT ALLOWED"));
        }
        free(row);
        free(html);
        json_decref(doc);
    }
}

/* ---- hostile strings ------------------------------------------------------
 */

static void
test_hostile(void **state)
{
    json_t *doc = load("status-hostile.json");
    struct dashboard_opts o;
    char *html, *row;
    size_t len;

    (void)state;
    dashboard_opts_init(&o);
    o.title = "<script>alert('title')</script>";
    html = render(doc, &o, &len);
    assert_page_ok(html, len);
    assert_null(find_nocase(html, "<script"));
    assert_null(find_nocase(html, "href=\"javascript"));
    assert_null(find_nocase(html, "href=\"data"));
    assert_null(find_nocase(html, "<img"));
    assert_null(find_nocase(html, "<iframe"));
    /* Shown, escaped, as text. */
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "javascript:alert(3)"));
    assert_non_null(strstr(html,
                           "&quot;&gt;&lt;script&gt;alert(8)&lt;/script&gt; "
                           "<span class=\"muted\">(not a web link: "
                           "javascript:alert(document.cookie))</span>"));
    assert_non_null(strstr(html, "w&#39; onmouseover=&#39;alert(9)"));
    /* A quote inside an http(s) URL stays inside the attribute. */
    assert_non_null(strstr(html, "href=\"https://github.com/a/b/commit/"
                                 "def&quot;onmouseover=&quot;alert(12)\""));
    assert_non_null(strstr(
        html, "href=\"https://github.com/a/b/actions/runs/1?x=&lt;script&gt;"));
    /* A leading space is no link. */
    assert_null(strstr(html, "href=\" https"));
    /* A string of 5000 bytes is cut: DASHBOARD_MAX_STRING shown. */
    {
        char xs[DASHBOARD_MAX_STRING + 2];

        memset(xs, 'x', DASHBOARD_MAX_STRING + 1);
        xs[DASHBOARD_MAX_STRING + 1] = '\0';
        assert_null(strstr(html, xs));
        strcpy(xs + DASHBOARD_MAX_STRING, "&");
        assert_non_null(strstr(html, xs));
    }
    assert_non_null(strstr(html, "x&#x2026;"));
    /* Contradictions are not allowed: "<i>allowed</i>" with allowed
     * true, "allowed" with allowed "true" (a string), unknown_pcrs with
     * allowed true, no verdict. */
    row = row_of(html, "NOT ALLOWED: &lt;i&gt;allowed&lt;/i&gt;");
    assert_null(strstr(row, "class=\"ok\""));
    free(row);
    row = row_of(html, "rekor #5<br>");
    assert_non_null(strstr(row, "NOT ALLOWED: allowed"));
    free(row);
    row = row_of(html, "rekor #7<br>");
    assert_non_null(strstr(row, "NOT ALLOWED: unknown_pcrs"));
    free(row);
    row = row_of(html, "rekor #8<br>");
    assert_non_null(strstr(row, "NOT ALLOWED: -"));
    free(row);
    /* CT certificates: escaped, no link from a javascript: commit URL,
     * and a contradiction (allowed true, verdict unlogged_certificate;
     * verdict allowed with allowed "true") is not allowed */
    assert_non_null(strstr(html, "&lt;script&gt;alert(20)&lt;/script&gt; #41"));
    assert_non_null(strstr(html, "<td class=\"ctstate\">&lt;pending&gt;</td>"));
    row = row_of(html, "&lt;script&gt;alert(20)&lt;/script&gt; #41");
    assert_non_null(strstr(row, "NOT ALLOWED: unlogged_certificate"));
    assert_null(strstr(row, "href=\"javascript"));
    free(row);
    row = row_of(html, "ct #42<br>");
    assert_non_null(strstr(row, "NOT ALLOWED: allowed"));
    free(row);
    /* Only the one signing with allowed true and verdict "allowed". */
    assert_int_equal(count(html, "<span class=\"ok\">allowed</span>"), 1);
    free(html);
    json_decref(doc);
}

/* Control bytes, NUL and invalid UTF-8 (which jansson can hold when
 * built without its check) become U+FFFD; valid UTF-8 stays. */
static void
test_bytes(void **state)
{
    json_t *doc = load("status.json");
    json_t *log = json_array_get(json_object_get(doc, "logs"), 0);
    static const char raw[] = "a\x01"
                              "b\x00"
                              "c\xff\xc0\xaf"
                              "d\x7f"
                              "e\xe2\x82\xac\xed\xa0\x80";
    char *html;
    size_t len;

    (void)state;
    json_object_set_new(log, "name",
                        json_stringn_nocheck(raw, sizeof(raw) - 1));
    html = render(doc, NULL, &len);
    assert_page_ok(html, len);
    assert_non_null(strstr(html, "<b>a&#xFFFD;b&#xFFFD;c&#xFFFD;&#xFFFD;"
                                 "&#xFFFD;d&#xFFFD;e\xe2\x82\xac&#xFFFD;"
                                 "&#xFFFD;&#xFFFD;</b>"));
    free(html);
    json_decref(doc);
}

/* A string of exactly the limit is whole; one more byte is cut, and a
 * cut never splits a UTF-8 sequence. */
static void
test_string_limit(void **state)
{
    json_t *doc = load("status.json");
    json_t *log = json_array_get(json_object_get(doc, "logs"), 0);
    char s[DASHBOARD_MAX_STRING + 2], want[DASHBOARD_MAX_STRING + 32];
    char *html;
    size_t len;

    (void)state;
    memset(s, 'n', DASHBOARD_MAX_STRING);
    s[DASHBOARD_MAX_STRING] = '\0';
    json_object_set_new(log, "name", json_string(s));
    html = render(doc, NULL, &len);
    snprintf(want, sizeof(want), "<b>%s</b>", s);
    assert_non_null(strstr(html, want));
    free(html);

    /* The limit falls inside a 3-byte euro sign. */
    s[DASHBOARD_MAX_STRING - 1] = '\xe2';
    s[DASHBOARD_MAX_STRING] = '\x82';
    s[DASHBOARD_MAX_STRING + 1] = '\0';
    {
        char full[DASHBOARD_MAX_STRING + 3];

        memcpy(full, s, DASHBOARD_MAX_STRING + 1);
        full[DASHBOARD_MAX_STRING + 1] = '\xac';
        full[DASHBOARD_MAX_STRING + 2] = '\0';
        json_object_set_new(log, "name", json_string(full));
    }
    html = render(doc, NULL, &len);
    assert_page_ok(html, len);
    memset(want, 0, sizeof(want));
    memcpy(want, "<b>", 3);
    memset(want + 3, 'n', DASHBOARD_MAX_STRING - 1);
    strcat(want, "&#x2026;</b>");
    assert_non_null(strstr(html, want));
    free(html);
    json_decref(doc);
}

/* ---- bounds
 * ------------------------------------------------------------------ */

/* A document far past every limit: the page stays under its bound, is
 * well-formed, and says it was cut; every bound between the minimum and
 * the whole page gives a well-formed page under it. */
static void
test_bounds(void **state)
{
    json_t *doc = load("status.json");
    json_t *logs = json_object_get(doc, "logs");
    json_t *hist = json_object_get(doc, "history");
    json_t *l0 = json_array_get(logs, 1);
    struct dashboard_opts o;
    char big[4096], *html;
    size_t len, full, i, cuts = 0;

    (void)state;
    memset(big, '<', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (i = 0; i < 300; i++) {
        json_t *l = json_deep_copy(l0);
        json_t *e = json_array_get(json_object_get(l, "recent_errors"), 0);

        json_object_set_new(e, "message", json_string(big));
        json_array_append_new(logs, l);
    }
    for (i = 0; i < 100000; i++) {
        char at[32];

        snprintf(at, sizeof(at), "2026-12-%02zuT%02zu:%02zu:%02zuZ",
                 1 + i / 86400 % 28, i / 3600 % 24, i / 60 % 60, i % 60);
        json_array_append_new(
            hist, json_pack("{s:s, s:s, s:I, s:I}", "log", "rekor", "at", at,
                            "verified_size", (json_int_t)i, "entries_scanned",
                            (json_int_t)(2 * i)));
    }
    /* Default bound: the logs table is cut at DASHBOARD_MAX_LOGS. */
    html = render(doc, NULL, &len);
    assert_page_ok(html, len);
    assert_true(len <= DASHBOARD_MAX_BYTES);
    assert_non_null(strstr(html, "more logs not shown"));
    /* The chart has at most DASHBOARD_MAX_POINTS + 1 points per line. */
    {
        const char *p = strstr(html, "<polyline");
        const char *e = strstr(p, "/>");
        size_t pts = 0;

        for (; p < e; p++) {
            pts += *p == ',';
        }
        assert_true(pts <= DASHBOARD_MAX_POINTS + 1);
        assert_true(pts >= DASHBOARD_MAX_POINTS / 2);
    }
    full = len;
    free(html);

    /* Every bound from the minimum up: under it, well-formed, cut said. */
    for (o.max_bytes = DASHBOARD_MIN_BYTES; o.max_bytes < full + 2000;
         o.max_bytes += 7919) {
        o.title = NULL;
        o.refresh_s = 5;
        html = render(doc, &o, &len);
        assert_true(len <= o.max_bytes);
        assert_page_ok(html, len);
        if (strstr(html, "id=\"cut\"") != NULL) {
            cuts++;
        } else {
            assert_true(o.max_bytes >= full);
        }
        assert_true(len >= 16 + 20);
        assert_string_equal(html + len - 22, "</main></body></html>\n");
        free(html);
    }
    assert_true(cuts > 10);
    json_decref(doc);
}

static void
test_refused(void **state)
{
    json_t *doc = load("status.json");
    json_t *other = json_pack("{s:s}", "schema", "tlogwatch.report/v1");
    json_t *arr = json_array();
    struct dashboard_opts o;
    char err[128];
    size_t len = 99;

    (void)state;
    err[0] = '\0';
    assert_null(dashboard_html(other, NULL, &len, err, sizeof(err)));
    assert_non_null(strstr(err, "tlogwatch.status/v1"));
    assert_null(dashboard_html(arr, NULL, &len, err, sizeof(err)));
    assert_null(dashboard_html(NULL, NULL, &len, err, sizeof(err)));
    dashboard_opts_init(&o);
    o.max_bytes = DASHBOARD_MIN_BYTES - 1;
    err[0] = '\0';
    assert_null(dashboard_html(doc, &o, &len, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_int_equal(len, 99);
    /* refresh 0: no refresh */
    o.max_bytes = 0;
    o.refresh_s = 0;
    {
        char *html = render(doc, &o, &len);

        assert_null(strstr(html, "http-equiv=\"refresh\""));
        free(html);
    }
    json_decref(arr);
    json_decref(other);
    json_decref(doc);
}

/* The smallest document: every section says it has nothing. */
static void
test_empty(void **state)
{
    json_t *doc = json_pack("{s:s}", "schema", "tlogwatch.status/v1");
    char *html;
    size_t len;

    (void)state;
    html = render(doc, NULL, &len);
    assert_page_ok(html, len);
    assert_non_null(strstr(html, "No log configured."));
    assert_non_null(strstr(html, "No watch rule."));
    assert_non_null(strstr(html, "No alert."));
    assert_non_null(strstr(html, "No history yet."));
    assert_non_null(
        strstr(html, "<meta http-equiv=\"refresh\" content=\"30\">"));
    free(html);
    json_decref(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_negative),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_verdict_contradictions),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_string_limit),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
