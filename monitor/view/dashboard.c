/*
 * dashboard.c: render the status document as the dashboard page.  See
 * dashboard.h.
 *
 * The page is written into one buffer bounded by max_bytes.  Content is
 * written against a lower limit (max_bytes - TAIL_RESERVE); closing tags
 * are written against max_bytes itself ("forced"), so a page cut short
 * still closes every element it opened.  Each table row is a unit: a
 * row that does not fit is rolled back whole.  Elements are closed only
 * when their opening tag was written (pg_open returns whether it was).
 *
 * Every string from the document goes through put_text (HTML escape,
 * control characters replaced, cut to DASHBOARD_MAX_STRING bytes on a
 * UTF-8 boundary) or put_link (http/https only, else text).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monitor/view/dashboard.h"

#define SCHEMA "tlogwatch.status/v1"
#define TAIL_RESERVE 1024  /* bytes kept for closing tags and the notice */
#define MAX_HISTORY 200000 /* history rows read for the chart */
#define CHART_LOGS 8       /* logs drawn in the chart (one colour each) */

/* ---- the bounded page buffer ----------------------------------------- */

struct page {
    char *p; /* owned, NUL-terminated */
    size_t len, cap;
    size_t max;  /* hard bound, NUL excluded */
    size_t soft; /* content bound: max - TAIL_RESERVE */
    int cut;     /* content stopped at the soft bound */
    int oom;
};

static int
pg_grow(struct page *pg, size_t need)
{
    size_t cap;
    char *np;

    if (need + 1 <= pg->cap) {
        return 0;
    }
    cap = pg->cap ? pg->cap : 16384;
    while (cap < need + 1) {
        cap *= 2;
    }
    np = realloc(pg->p, cap);
    if (np == NULL) {
        pg->oom = 1;
        return -1;
    }
    pg->p = np;
    pg->cap = cap;
    return 0;
}

/* Append n bytes if they fit under the bound (soft, or max when forced).
 * Returns 1 when written. */
static int
pg_put(struct page *pg, const char *s, size_t n, int forced)
{
    size_t bound = forced ? pg->max : pg->soft;

    if (pg->oom || (!forced && pg->cut)) {
        return 0;
    }
    if (pg->len + n > bound) {
        pg->cut = 1;
        return 0;
    }
    if (pg_grow(pg, pg->len + n) < 0) {
        return 0;
    }
    memcpy(pg->p + pg->len, s, n);
    pg->len += n;
    pg->p[pg->len] = '\0';
    return 1;
}

static void
pg_str(struct page *pg, const char *s)
{
    pg_put(pg, s, strlen(s), 0);
}

/* An opening tag (or any content after which the caller must close):
 * returns 1 when written, and then the caller closes with pg_close. */
static int
pg_open(struct page *pg, const char *s)
{
    return pg_put(pg, s, strlen(s), 0);
}

static void
pg_close(struct page *pg, const char *s)
{
    pg_put(pg, s, strlen(s), 1);
}

static void pg_printf(struct page *pg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short formatted content (numbers, fixed words): at most 255 bytes. */
static void
pg_printf(struct page *pg, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        return;
    }
    pg_put(pg, small, (size_t)n, 0);
}

/* A row: begin remembers where it starts; end rolls it back whole when
 * it was cut.  Returns 1 when the row was kept. */
static size_t
row_begin(const struct page *pg)
{
    return pg->len;
}

static int
row_end(struct page *pg, size_t mark)
{
    if (!pg->cut && !pg->oom) {
        return 1;
    }
    if (!pg->oom) {
        pg->len = mark;
        pg->p[pg->len] = '\0';
    }
    return 0;
}

/* ---- escaping --------------------------------------------------------- */

/* Bytes of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    size_t want, i;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] & 0xe0) == 0xc0) {
        want = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        want = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        want = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (want > n) {
        return 0;
    }
    for (i = 1; i < want; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((want == 2 && cp < 0x80) || (want == 3 && cp < 0x800) ||
        (want == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return want;
}

/* Escape n bytes of s for HTML text and attribute values; control
 * characters, DEL and invalid UTF-8 become U+FFFD; at most
 * DASHBOARD_MAX_STRING bytes of input are shown, then an ellipsis. */
static void
put_textn(struct page *pg, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, limit = n;
    int cut = 0;

    if (limit > DASHBOARD_MAX_STRING) {
        /* Cut before a UTF-8 sequence the limit would split. */
        limit = DASHBOARD_MAX_STRING;
        while (limit > DASHBOARD_MAX_STRING - 4 && (u[limit] & 0xc0) == 0x80) {
            limit--;
        }
        cut = 1;
    }
    while (i < limit) {
        size_t run = i, k;

        /* Copy plain ASCII runs at once. */
        while (run < limit && u[run] >= 0x20 && u[run] < 0x7f &&
               u[run] != '&' && u[run] != '<' && u[run] != '>' &&
               u[run] != '"' && u[run] != '\'') {
            run++;
        }
        if (run > i) {
            pg_put(pg, s + i, run - i, 0);
            i = run;
            continue;
        }
        switch (u[i]) {
        case '&':
            pg_str(pg, "&amp;");
            i++;
            continue;
        case '<':
            pg_str(pg, "&lt;");
            i++;
            continue;
        case '>':
            pg_str(pg, "&gt;");
            i++;
            continue;
        case '"':
            pg_str(pg, "&quot;");
            i++;
            continue;
        case '\'':
            pg_str(pg, "&#39;");
            i++;
            continue;
        default:
            break;
        }
        k = u[i] >= 0x80 ? utf8_len(u + i, limit - i) : 0;
        if (k == 0) {
            pg_str(pg, "&#xFFFD;");
            i++;
        } else {
            pg_put(pg, s + i, k, 0);
            i += k;
        }
    }
    if (cut) {
        pg_str(pg, "&#x2026;");
    }
}

static void
put_text(struct page *pg, const char *s)
{
    put_textn(pg, s, strlen(s));
}

/* ---- reading the document (every member may be missing) ------------- */

/* The string member `key` of obj, or NULL. */
static const char *
jstr(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The numeric member `key` as an integer; 0 when absent (then *has 0). */
static int
jint(const json_t *obj, const char *key, json_int_t *out)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);

        if (d > -9.2e18 && d < 9.2e18) {
            *out = (json_int_t)d;
            return 1;
        }
    }
    *out = 0;
    return 0;
}

/* A string member as escaped text, "-" when absent. */
static void
put_field(struct page *pg, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_string(v)) {
        put_textn(pg, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else {
        pg_str(pg, "-");
    }
}

/* A string member cut to its first `max` bytes (an id: the rest adds
 * nothing a reader compares), "-" when absent. */
static void
put_short(struct page *pg, const json_t *obj, const char *key, size_t max)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_string(v) && json_string_length(v) > max) {
        put_textn(pg, json_string_value(v), max);
        pg_str(pg, "&#x2026;");
    } else {
        put_field(pg, obj, key);
    }
}

static void
put_num(struct page *pg, const json_t *obj, const char *key)
{
    json_int_t n;

    if (jint(obj, key, &n)) {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT, n);
    } else {
        pg_str(pg, "-");
    }
}

/* Only absolute http(s) URLs without spaces or control characters are
 * links, and only when they fit unabridged. */
static int
url_ok(const char *u, size_t n)
{
    size_t i;

    if (n > DASHBOARD_MAX_STRING) {
        return 0;
    }
    if (!(n > 7 && strncasecmp(u, "http://", 7) == 0) &&
        !(n > 8 && strncasecmp(u, "https://", 8) == 0)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];

        if (c <= 0x20 || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A link to the URL member `url_key` showing `label` (the URL itself
 * when NULL); text only when the URL is not http(s); "-" when absent. */
static void
put_link(struct page *pg, const json_t *obj, const char *url_key,
         const char *label)
{
    const json_t *v = json_object_get(obj, url_key);
    const char *u;
    size_t n;

    if (!json_is_string(v)) {
        if (label != NULL) {
            put_text(pg, label);
        } else {
            pg_str(pg, "-");
        }
        return;
    }
    u = json_string_value(v);
    n = json_string_length(v);
    if (!url_ok(u, n) || strlen(u) != n) {
        put_textn(pg, label != NULL ? label : u,
                  label != NULL ? strlen(label) : n);
        if (label != NULL) {
            pg_str(pg, " <span class=\"muted\">(not a web link: ");
            put_textn(pg, u, n);
            pg_str(pg, ")</span>");
        }
        return;
    }
    pg_str(pg, "<a rel=\"noopener noreferrer nofollow\" href=\"");
    put_textn(pg, u, n);
    pg_str(pg, "\">");
    put_textn(pg, label != NULL ? label : u, label != NULL ? strlen(label) : n);
    pg_str(pg, "</a>");
}

/* "3d 4h", "5m 12s": an age in seconds. */
static void
put_age(struct page *pg, json_int_t s)
{
    if (s < 0) {
        pg_str(pg, "in the future");
    } else if (s < 120) {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT "s ago", s);
    } else if (s < 7200) {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT "m %" JSON_INTEGER_FORMAT "s ago",
                  s / 60, s % 60);
    } else if (s < 172800) {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT "h %" JSON_INTEGER_FORMAT "m ago",
                  s / 3600, (s % 3600) / 60);
    } else {
        pg_printf(pg, "%" JSON_INTEGER_FORMAT "d %" JSON_INTEGER_FORMAT "h ago",
                  s / 86400, (s % 86400) / 3600);
    }
}

/* A severity word as a CSS class: only the three known ones. */
static const char *
sev_class(const char *sev)
{
    if (sev != NULL && strcmp(sev, "critical") == 0) {
        return "crit";
    }
    if (sev != NULL && strcmp(sev, "warning") == 0) {
        return "warn";
    }
    if (sev != NULL && strcmp(sev, "info") == 0) {
        return "info";
    }
    return "bad";
}

/* ---- sections ----------------------------------------------------------- */

static const char CSS[] =
    "body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,"
    "sans-serif;margin:0;background:#f6f7f9;color:#1f2328}"
    "header{background:#24292f;color:#fff;padding:12px 20px}"
    "header h1{margin:0;font-size:20px}header p{margin:4px 0 0;"
    "color:#d0d7de}main{padding:8px 20px 24px}"
    "section{background:#fff;border:1px solid #d0d7de;border-radius:6px;"
    "margin:12px 0;padding:8px 14px}h2{font-size:17px;margin:6px 0}"
    "h3{font-size:15px;margin:10px 0 4px}"
    "table{border-collapse:collapse;width:100%;margin:4px 0}"
    "th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:left;"
    "vertical-align:top;overflow-wrap:break-word}th{background:#f6f8fa;"
    "font-weight:600;white-space:nowrap}.wrap{overflow-wrap:anywhere}"
    ".mono,.pcr{font-family:ui-monospace,Menlo,Consolas,monospace;"
    "font-size:12px}.pcr{word-break:break-all}td.pcrs{min-width:22em}"
    "td.commit{word-break:break-all;max-width:12em}"
    ".nowrap{white-space:nowrap}"
    ".ok{color:#1a7f37;font-weight:600}"
    ".bad,.crit{color:#b42318;font-weight:700}"
    ".warn{color:#9a6700;font-weight:700}.info{color:#0550ae}"
    ".muted{color:#656d76}tr.notallowed td{background:#fff1f0}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;"
    "margin-right:6px;border:1px solid currentColor}"
    ".cut{color:#b42318;font-weight:700}svg{max-width:100%;height:auto}"
    "a{color:#0969da}";

static void
put_head(struct page *pg, const json_t *st, const struct dashboard_opts *o)
{
    const char *title = o->title != NULL ? o->title : "tlogwatch";

    pg_str(pg, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
               "<meta charset=\"utf-8\">"
               "<meta http-equiv=\"Content-Security-Policy\" "
               "content=\"default-src 'none'; style-src 'unsafe-inline'; "
               "img-src data:; form-action 'none'; base-uri 'none'\">"
               "<meta name=\"referrer\" content=\"no-referrer\">"
               "<meta name=\"viewport\" "
               "content=\"width=device-width,initial-scale=1\">");
    if (o->refresh_s > 0) {
        pg_printf(pg, "<meta http-equiv=\"refresh\" content=\"%u\">",
                  o->refresh_s);
    }
    pg_str(pg, "<title>");
    put_text(pg, title);
    pg_str(pg, "</title><style>");
    pg_str(pg, CSS);
    pg_str(pg, "</style></head><body>\n<header><h1>");
    put_text(pg, title);
    pg_str(pg, "</h1><p>Status generated at ");
    put_field(pg, st, "generated_at");
    if (o->refresh_s > 0) {
        pg_printf(pg, " &middot; refreshes every %u s", o->refresh_s);
    }
    pg_str(pg, "</p></header>\n<main>\n");
}

static int signing_allowed(const json_t *s);

/* Counts for the summary line. */
static void
put_summary(struct page *pg, const json_t *st)
{
    const json_t *logs = json_object_get(st, "logs");
    const json_t *rules = json_object_get(st, "rules");
    const json_t *by =
        json_object_get(json_object_get(st, "alerts"), "by_severity");
    size_t i, j, nlogs = 0, nstale = 0, nsig = 0, nbad = 0, nct = 0;
    size_t nctbad = 0;
    json_int_t crit = 0, warn = 0;

    for (i = 0; i < json_array_size(logs); i++) {
        nlogs++;
        if (json_is_true(json_object_get(json_array_get(logs, i), "stale"))) {
            nstale++;
        }
    }
    for (i = 0; i < json_array_size(rules); i++) {
        const json_t *sg =
            json_object_get(json_array_get(rules, i), "signings");
        const json_t *ct =
            json_object_get(json_array_get(rules, i), "ct_certificates");

        for (j = 0; j < json_array_size(ct); j++) {
            const json_t *c = json_array_get(ct, j);

            /* a logged one is counted with its Rekor signing */
            if (!json_is_object(json_object_get(c, "signing"))) {
                nct++;
                if (!signing_allowed(c)) {
                    nctbad++;
                }
            }
        }
        for (j = 0; j < json_array_size(sg); j++) {
            const json_t *s = json_array_get(sg, j);
            const char *v = jstr(s, "verdict");

            nsig++;
            if (!json_is_true(json_object_get(s, "allowed")) || v == NULL ||
                strcmp(v, "allowed") != 0) {
                nbad++;
            }
        }
    }
    jint(by, "critical", &crit);
    jint(by, "warning", &warn);
    if (!pg_open(pg, "<section id=\"summary\"><h2>Summary</h2><p>")) {
        return;
    }
    pg_printf(pg, "<span class=\"badge %s\">%zu log%s, %zu stale</span>",
              nstale ? "bad" : "ok", nlogs, nlogs == 1 ? "" : "s", nstale);
    pg_printf(pg,
              "<span class=\"badge %s\">%zu of %zu latest signing%s not "
              "allowed</span>",
              nbad ? "bad" : "ok", nbad, nsig, nsig == 1 ? "" : "s");
    if (nct > 0) {
        pg_printf(pg,
                  "<span class=\"badge %s\">%zu of %zu latest certificate%s "
                  "seen only in CT not allowed</span>",
                  nctbad ? "bad" : "ok", nctbad, nct, nct == 1 ? "" : "s");
    }
    pg_printf(pg,
              "<span class=\"badge %s\">%" JSON_INTEGER_FORMAT
              " critical, %" JSON_INTEGER_FORMAT " warning alerts</span>",
              crit ? "crit" : (warn ? "warn" : "ok"), crit, warn);
    pg_close(pg, "</p></section>\n");
}

static void
put_errors(struct page *pg, const json_t *log)
{
    const json_t *errs = json_object_get(log, "recent_errors");
    size_t i, n = json_array_size(errs);

    if (n == 0) {
        return;
    }
    if (!pg_open(pg, "<tr><td></td><td class=\"wrap\" colspan=\"8\"><b>Recent "
                     "errors</b><ul>")) {
        return;
    }
    for (i = 0; i < n && i < DASHBOARD_MAX_ERRORS; i++) {
        const json_t *e = json_array_get(errs, i);
        size_t mark = row_begin(pg);

        pg_str(pg, "<li><span class=\"mono\">");
        put_field(pg, e, "at");
        pg_str(pg, "</span> ");
        put_field(pg, e, "message");
        pg_str(pg, "</li>");
        if (!row_end(pg, mark)) {
            break;
        }
    }
    pg_close(pg, "</ul></td></tr>\n");
}

static void
put_logs(struct page *pg, const json_t *st)
{
    const json_t *logs = json_object_get(st, "logs");
    size_t i, n = json_array_size(logs);

    if (!pg_open(pg, "<section id=\"logs\"><h2>Logs</h2>")) {
        return;
    }
    if (n == 0) {
        pg_str(pg, "<p class=\"muted\">No log configured.</p>");
    } else if (pg_open(pg, "<table><thead><tr><th>Log</th><th>Kind</th>"
                           "<th>Verified size</th><th>Cursor</th>"
                           "<th>Lag</th><th>Last success</th>"
                           "<th>State</th><th>Last error</th>"
                           "<th>Shards</th></tr></thead><tbody>\n")) {
        for (i = 0; i < n && i < DASHBOARD_MAX_LOGS; i++) {
            const json_t *l = json_array_get(logs, i);
            const json_t *le = json_object_get(l, "last_error");
            size_t mark = row_begin(pg);
            json_int_t age, lagv;

            pg_str(pg, "<tr><td class=\"wrap\"><b>");
            put_field(pg, l, "name");
            pg_str(pg, "</b><br><span class=\"mono\">");
            put_link(pg, l, "url", NULL);
            pg_str(pg, "</span></td><td>");
            put_field(pg, l, "kind");
            pg_str(pg, "</td><td>");
            put_num(pg, l, "verified_size");
            pg_str(pg, "</td><td>");
            put_num(pg, l, "cursor");
            pg_printf(pg, "</td><td class=\"%s\">",
                      jint(l, "lag", &lagv) && lagv == 0 ? "ok" : "");
            put_num(pg, l, "lag");
            pg_str(pg, "</td><td><span class=\"mono\">");
            put_field(pg, l, "last_success");
            pg_str(pg, "</span>");
            if (jint(l, "last_success_age_s", &age)) {
                pg_str(pg, "<br>");
                put_age(pg, age);
            }
            pg_str(pg, "</td><td>");
            if (json_is_true(json_object_get(l, "stale"))) {
                pg_str(pg, "<span class=\"bad\">STALE</span>");
            } else if (json_is_false(json_object_get(l, "stale"))) {
                pg_str(pg, "<span class=\"ok\">fresh</span>");
            } else {
                pg_str(pg, "-");
            }
            pg_str(pg, "</td><td class=\"wrap\">");
            if (json_is_object(le)) {
                pg_str(pg, "<span class=\"mono\">");
                put_field(pg, le, "at");
                pg_str(pg, "</span><br>");
                put_field(pg, le, "message");
            } else {
                pg_str(pg, "none");
            }
            pg_printf(pg, "</td><td>%zu</td></tr>\n",
                      json_array_size(json_object_get(l, "shards")));
            if (!row_end(pg, mark)) {
                break;
            }
            put_errors(pg, l);
        }
        pg_close(pg, "</tbody></table>\n");
        if (n > DASHBOARD_MAX_LOGS) {
            pg_printf(pg, "<p class=\"muted\">%zu more logs not shown.</p>",
                      n - DASHBOARD_MAX_LOGS);
        }
    }
    pg_close(pg, "</section>\n");
}

/* The effective verdict: allowed only when both "allowed" is true and
 * "verdict" is "allowed"; anything else (missing, contradictory) is
 * not. */
static int
signing_allowed(const json_t *s)
{
    const char *v = jstr(s, "verdict");

    return json_is_true(json_object_get(s, "allowed")) && v != NULL &&
           strcmp(v, "allowed") == 0;
}

static void
put_pcrs(struct page *pg, const json_t *pcrs)
{
    static const char *const names[] = {"PCR0", "PCR1", "PCR2", "PCR8"};
    size_t i;

    if (!json_is_object(pcrs)) {
        pg_str(pg, "<span class=\"muted\">none</span>");
        return;
    }
    pg_str(pg, "state ");
    put_field(pg, pcrs, "state");
    pg_str(pg, ", source ");
    put_field(pg, pcrs, "source");
    if (jstr(pcrs, "note") != NULL) {
        pg_str(pg, "<br><span class=\"muted\">");
        put_field(pg, pcrs, "note");
        pg_str(pg, "</span>");
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (json_object_get(pcrs, names[i]) == NULL ||
            json_is_null(json_object_get(pcrs, names[i]))) {
            continue;
        }
        pg_printf(pg, "<div class=\"pcr\">%s ", names[i]);
        put_field(pg, pcrs, names[i]);
        pg_str(pg, "</div>");
    }
}

static void
put_signing(struct page *pg, const json_t *s)
{
    const json_t *alerts = json_object_get(s, "alerts");
    const char *commit = jstr(s, "commit");
    int ok = signing_allowed(s);
    size_t i;

    pg_printf(pg, "<tr class=\"%s\"><td>", ok ? "allowed" : "notallowed");
    if (ok) {
        pg_str(pg, "<span class=\"ok\">allowed</span>");
    } else {
        pg_str(pg, "<span class=\"bad\">NOT ALLOWED: ");
        put_field(pg, s, "verdict");
        pg_str(pg, "</span>");
    }
    if (jstr(s, "policy_verdict") != NULL) {
        pg_str(pg, "<br><span class=\"muted\">policy: ");
        put_field(pg, s, "policy_verdict");
        pg_str(pg, "</span>");
    }
    pg_str(pg, "</td><td class=\"mono nowrap\">");
    put_field(pg, s, "log");
    pg_str(pg, " #");
    put_num(pg, s, "log_index");
    pg_str(pg, "<br>");
    put_field(pg, s, "integrated_time");
    pg_str(pg, "</td><td class=\"mono commit\">");
    if (commit != NULL) {
        put_link(pg, s, "commit_url", commit);
    } else {
        pg_str(pg, "-");
    }
    pg_str(pg, "</td><td class=\"wrap\">");
    put_field(pg, s, "workflow");
    pg_str(pg, "<br><span class=\"mono\">");
    put_field(pg, s, "ref");
    pg_str(pg, "</span><br>trigger ");
    put_field(pg, s, "trigger");
    pg_str(pg, "<br>");
    if (jstr(s, "run_url") != NULL) {
        put_link(pg, s, "run_url", NULL);
    } else {
        pg_str(pg, "<span class=\"muted\">no run link</span>");
    }
    pg_str(pg, "</td><td>");
    put_field(pg, s, "runner");
    pg_str(pg, "</td><td class=\"pcrs\">");
    put_pcrs(pg, json_object_get(s, "pcrs"));
    pg_str(pg, "</td><td>");
    if (json_array_size(alerts) == 0) {
        pg_str(pg, "<span class=\"muted\">none</span>");
    }
    for (i = 0; i < json_array_size(alerts) && i < DASHBOARD_MAX_ERRORS; i++) {
        const json_t *a = json_array_get(alerts, i);

        pg_printf(pg, "<div class=\"%s\">", sev_class(jstr(a, "severity")));
        put_field(pg, a, "severity");
        pg_str(pg, " ");
        put_field(pg, a, "type");
        pg_str(pg, "</div>");
    }
    pg_str(pg, "</td></tr>\n");
}

/* A CT certificate row (view.h "ct_certificates"). */
static void
put_ct_cert(struct page *pg, const json_t *c)
{
    const json_t *alerts = json_object_get(c, "alerts");
    const json_t *sg = json_object_get(c, "signing");
    const char *commit = jstr(c, "commit");
    int ok = signing_allowed(c);
    size_t i;

    pg_printf(pg, "<tr class=\"%s\"><td>", ok ? "allowed" : "notallowed");
    if (ok) {
        pg_str(pg, "<span class=\"ok\">allowed</span>");
    } else {
        pg_str(pg, "<span class=\"bad\">NOT ALLOWED: ");
        put_field(pg, c, "verdict");
        pg_str(pg, "</span>");
    }
    if (jstr(c, "policy_verdict") != NULL) {
        pg_str(pg, "<br><span class=\"muted\">policy: ");
        put_field(pg, c, "policy_verdict");
        pg_str(pg, "</span>");
    }
    pg_str(pg, "</td><td class=\"ctstate\">");
    put_field(pg, c, "state");
    pg_str(pg, "</td><td class=\"mono nowrap\">");
    put_field(pg, c, "ct_log");
    pg_str(pg, " #");
    put_num(pg, c, "ct_log_index");
    pg_str(pg, "<br>seen ");
    put_field(pg, c, "first_seen");
    pg_str(pg, "<br>deadline ");
    put_field(pg, c, "deadline");
    pg_str(pg, "</td><td class=\"mono commit\">");
    if (commit != NULL) {
        put_link(pg, c, "commit_url", commit);
    } else {
        pg_str(pg, "-");
    }
    pg_str(pg, "</td><td class=\"wrap\">");
    put_field(pg, c, "workflow");
    pg_str(pg, "<br><span class=\"mono\">");
    put_field(pg, c, "ref");
    pg_str(pg, "</span><br>runner ");
    put_field(pg, c, "runner");
    pg_str(pg, "</td><td class=\"mono nowrap\">");
    if (json_is_object(sg)) {
        put_field(pg, sg, "log");
        pg_str(pg, " #");
        put_num(pg, sg, "log_index");
        pg_str(pg, "<br>");
        put_field(pg, sg, "verdict");
    } else {
        pg_str(pg, "<span class=\"muted\">none</span>");
    }
    pg_str(pg, "</td><td>");
    if (json_array_size(alerts) == 0) {
        pg_str(pg, "<span class=\"muted\">none</span>");
    }
    for (i = 0; i < json_array_size(alerts) && i < DASHBOARD_MAX_ERRORS; i++) {
        const json_t *a = json_array_get(alerts, i);

        pg_printf(pg, "<div class=\"%s\">", sev_class(jstr(a, "severity")));
        put_field(pg, a, "severity");
        pg_str(pg, " ");
        put_field(pg, a, "type");
        pg_str(pg, "</div>");
    }
    pg_str(pg, "</td></tr>\n");
}

/* Whether rule r's CT certificates are shown: a CT log is followed, or r
 * has certificates from one (a CT log since removed from the config). */
static int
ct_shown(const json_t *st, const json_t *r)
{
    const json_t *cc = json_object_get(r, "ct_counts"), *l;
    json_int_t k;
    const char *f[] = {"pending", "unlogged", "logged"};
    size_t i;

    json_array_foreach(json_object_get(st, "logs"), i, l)
    {
        const char *kind = jstr(l, "kind");

        if (kind != NULL && strcmp(kind, "ct") == 0) {
            return 1;
        }
    }
    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (jint(cc, f[i], &k) && k != 0) {
            return 1;
        }
    }
    return json_array_size(json_object_get(r, "ct_certificates")) > 0;
}

/* The rule's certificates seen in CT: counts, then the newest rows. */
static void
put_ct_certs(struct page *pg, const json_t *r)
{
    const json_t *cc = json_object_get(r, "ct_counts");
    const json_t *list = json_object_get(r, "ct_certificates");
    size_t j, m = json_array_size(list), mark = row_begin(pg);
    json_int_t pend = 0, unl = 0, lg = 0;

    jint(cc, "pending", &pend);
    jint(cc, "unlogged", &unl);
    jint(cc, "logged", &lg);
    pg_printf(pg,
              "<p class=\"ctcounts\">Certificates seen in CT: "
              "<span class=\"badge %s\">%" JSON_INTEGER_FORMAT
              " unlogged</span><span class=\"badge %s\">%" JSON_INTEGER_FORMAT
              " pending</span><span class=\"badge ok\">%" JSON_INTEGER_FORMAT
              " logged</span></p>",
              unl > 0 ? "warn" : "ok", unl, pend > 0 ? "muted" : "ok", pend,
              lg);
    if (!row_end(pg, mark) || m == 0) {
        return;
    }
    if (!pg_open(pg, "<table class=\"ct\"><thead><tr><th>Verdict</th>"
                     "<th>State</th><th>CT entry</th><th>Commit</th>"
                     "<th>Workflow, ref, runner</th><th>Rekor signing</th>"
                     "<th>Alerts</th></tr></thead><tbody>\n")) {
        return;
    }
    for (j = 0; j < m && j < DASHBOARD_MAX_SIGNINGS; j++) {
        mark = row_begin(pg);
        put_ct_cert(pg, json_array_get(list, j));
        if (!row_end(pg, mark)) {
            break;
        }
    }
    pg_close(pg, "</tbody></table>\n");
}

static void
put_rules(struct page *pg, const json_t *st)
{
    const json_t *rules = json_object_get(st, "rules");
    size_t i, j, n = json_array_size(rules);

    if (!pg_open(pg, "<section id=\"rules\"><h2>Watch rules: latest "
                     "signings</h2>")) {
        return;
    }
    if (n == 0) {
        pg_str(pg, "<p class=\"muted\">No watch rule.</p>");
    }
    for (i = 0; i < n && i < DASHBOARD_MAX_RULES && !pg->cut; i++) {
        const json_t *r = json_array_get(rules, i);
        const json_t *sg = json_object_get(r, "signings");
        size_t m = json_array_size(sg);
        size_t mark = row_begin(pg);

        pg_str(pg, "<h3>");
        put_field(pg, r, "name");
        pg_str(pg, " <span class=\"muted\">");
        put_field(pg, r, "repository");
        pg_str(pg, "</span></h3>");
        if (!row_end(pg, mark)) {
            break;
        }
        if (m == 0) {
            pg_str(pg, "<p class=\"muted\">No signing recorded.</p>");
        } else {
            if (!pg_open(pg, "<table><thead><tr><th>Verdict</th><th>Entry</th>"
                             "<th>Commit</th><th>Workflow, ref, run</th>"
                             "<th>Runner</th><th>PCRs</th><th>Alerts</th>"
                             "</tr></thead><tbody>\n")) {
                break;
            }
            for (j = 0; j < m && j < DASHBOARD_MAX_SIGNINGS; j++) {
                mark = row_begin(pg);
                put_signing(pg, json_array_get(sg, j));
                if (!row_end(pg, mark)) {
                    break;
                }
            }
            pg_close(pg, "</tbody></table>\n");
        }
        if (ct_shown(st, r)) {
            put_ct_certs(pg, r);
        }
    }
    pg_close(pg, "</section>\n");
}

static void
put_alerts(struct page *pg, const json_t *st)
{
    static const char *const sevs[] = {"critical", "warning", "info"};
    const json_t *al = json_object_get(st, "alerts");
    const json_t *by = json_object_get(al, "by_severity");
    const json_t *latest = json_object_get(al, "latest");
    size_t i, mark, n = json_array_size(latest);
    json_int_t w;

    if (!pg_open(pg, "<section id=\"alerts\"><h2>Alerts</h2>")) {
        return;
    }
    mark = row_begin(pg);
    pg_str(pg, "<p>");
    for (i = 0; i < sizeof(sevs) / sizeof(sevs[0]); i++) {
        json_int_t c = 0;

        jint(by, sevs[i], &c);
        pg_printf(
            pg, "<span class=\"badge %s\">%s: %" JSON_INTEGER_FORMAT "</span>",
            c > 0 ? sev_class(sevs[i]) : "muted", sevs[i], c);
    }
    if (jint(al, "window_s", &w)) {
        pg_printf(pg,
                  "<span class=\"muted\">in the last %" JSON_INTEGER_FORMAT
                  " s</span>",
                  w);
    }
    pg_str(pg, "</p>");
    row_end(pg, mark);
    if (n == 0) {
        pg_str(pg, "<p class=\"muted\">No alert.</p>");
    } else if (pg_open(pg, "<table><thead><tr><th>At</th><th>Severity</th>"
                           "<th>Type</th><th>Summary</th><th>Log</th>"
                           "<th>Rule</th><th>Id</th></tr></thead>"
                           "<tbody>\n")) {
        for (i = 0; i < n && i < DASHBOARD_MAX_ALERTS; i++) {
            const json_t *a = json_array_get(latest, i);

            mark = row_begin(pg);

            pg_str(pg, "<tr><td class=\"mono nowrap\">");
            put_field(pg, a, "at");
            pg_printf(pg, "</td><td class=\"%s\">",
                      sev_class(jstr(a, "severity")));
            put_field(pg, a, "severity");
            pg_str(pg, "</td><td class=\"mono\">");
            put_field(pg, a, "type");
            pg_str(pg, "</td><td class=\"wrap\">");
            put_field(pg, a, "summary");
            pg_str(pg, "</td><td>");
            put_field(pg, a, "log");
            pg_str(pg, "</td><td>");
            put_field(pg, a, "rule");
            pg_str(pg, "</td><td class=\"mono\">");
            put_short(pg, a, "id", 16);
            pg_str(pg, "</td></tr>\n");
            if (!row_end(pg, mark)) {
                break;
            }
        }
        pg_close(pg, "</tbody></table>\n");
    }
    pg_close(pg, "</section>\n");
}

static void
put_outbox(struct page *pg, const json_t *st)
{
    const json_t *ob = json_object_get(st, "outbox");
    const json_t *sinks = json_object_get(ob, "sinks");
    size_t i, mark, n = json_array_size(sinks);
    json_int_t failed = 0;

    if (!json_is_object(ob) ||
        !pg_open(pg, "<section id=\"outbox\"><h2>Deliveries</h2>")) {
        return;
    }
    jint(ob, "failed", &failed);
    mark = row_begin(pg);
    pg_str(pg, "<p>pending ");
    put_num(pg, ob, "pending");
    pg_str(pg, ", sent ");
    put_num(pg, ob, "sent");
    pg_printf(pg, ", <span class=\"%s\">failed ", failed ? "bad" : "");
    put_num(pg, ob, "failed");
    pg_str(pg, "</span></p>");
    row_end(pg, mark);
    if (n > 0 && pg_open(pg, "<table><thead><tr><th>Sink</th><th>Type</th>"
                             "<th>Where</th><th>Pending</th><th>Failed</th>"
                             "<th>Last error</th></tr></thead><tbody>\n")) {
        for (i = 0; i < n && i < DASHBOARD_MAX_SINKS; i++) {
            const json_t *s = json_array_get(sinks, i);

            mark = row_begin(pg);

            /* "where" is shown as text, never linked. */
            pg_str(pg, "<tr><td>");
            put_field(pg, s, "name");
            pg_str(pg, "</td><td>");
            put_field(pg, s, "type");
            pg_str(pg, "</td><td class=\"mono wrap\">");
            put_field(pg, s, "where");
            pg_str(pg, "</td><td>");
            put_num(pg, s, "pending");
            pg_str(pg, "</td><td>");
            put_num(pg, s, "failed");
            pg_str(pg, "</td><td class=\"wrap\">");
            put_field(pg, s, "last_error");
            pg_str(pg, "</td></tr>\n");
            if (!row_end(pg, mark)) {
                break;
            }
        }
        pg_close(pg, "</tbody></table>\n");
    }
    pg_close(pg, "</section>\n");
}

/* ---- the chart ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS..." (UTC) to unix seconds; -1 if not. */
static int
parse_time(const char *s, int64_t *out)
{
    unsigned v[6];
    static const size_t at[6] = {0, 5, 8, 11, 14, 17};
    static const size_t w[6] = {4, 2, 2, 2, 2, 2};
    size_t i, k;

    if (s == NULL || strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':') {
        return -1;
    }
    for (i = 0; i < 6; i++) {
        v[i] = 0;
        for (k = 0; k < w[i]; k++) {
            char c = s[at[i] + k];

            if (c < '0' || c > '9') {
                return -1;
            }
            v[i] = v[i] * 10 + (unsigned)(c - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
        v[4] > 59 || v[5] > 60) {
        return -1;
    }
    *out = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 +
           v[5];
    return 0;
}

static const char *const COLOURS[CHART_LOGS] = {"#0969da", "#8250df", "#1a7f37",
                                                "#bc4c00", "#cf222e", "#116329",
                                                "#953800", "#6e7781"};

struct chart {
    const char *logs[CHART_LOGS]; /* borrowed from the document */
    size_t count[CHART_LOGS];     /* usable points per log */
    size_t nlogs;
    int64_t t0, t1;
    double vmax;
    const char *first_at, *last_at; /* borrowed */
};

/* Index of log name in c, adding it when there is room; -1 if none. */
static int
chart_log(struct chart *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nlogs; i++) {
        if (strcmp(c->logs[i], name) == 0) {
            return (int)i;
        }
    }
    if (c->nlogs == CHART_LOGS) {
        return -1;
    }
    c->logs[c->nlogs] = name;
    return (int)c->nlogs++;
}

/* One panel: the value `key` of every log over time. */
static void
put_panel(struct page *pg, const json_t *hist, size_t nh, const struct chart *c,
          const char *key, const char *label)
{
    const double W = 900, H = 220, L = 90, R = 20, T = 24, B = 34;
    double span = c->t1 > c->t0 ? (double)(c->t1 - c->t0) : 1;
    double vmax = 0;
    size_t li, i, mark;

    for (i = 0; i < nh; i++) {
        json_int_t v;

        if (jint(json_array_get(hist, i), key, &v) && (double)v > vmax) {
            vmax = (double)v;
        }
    }
    if (vmax <= 0) {
        vmax = 1;
    }
    if (!pg_open(pg, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                     "viewBox=\"0 0 900 220\" width=\"900\" height=\"220\" "
                     "role=\"img\">")) {
        return;
    }
    mark = row_begin(pg);
    pg_printf(pg,
              "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
              "fill=\"#fbfcfd\" stroke=\"#d0d7de\"/>",
              L, T, W - L - R, H - T - B);
    pg_printf(pg,
              "<text x=\"%.0f\" y=\"16\" font-size=\"13\" "
              "font-weight=\"600\">%s</text>",
              L, label);
    pg_printf(pg,
              "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
              "text-anchor=\"end\">%.0f</text>",
              L - 4, T + 10, vmax);
    pg_printf(pg,
              "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
              "text-anchor=\"end\">0</text>",
              L - 4, H - B);
    pg_printf(pg, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">", L,
              H - B + 16);
    put_text(pg, c->first_at != NULL ? c->first_at : "");
    pg_str(pg, "</text>");
    pg_printf(pg,
              "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
              "text-anchor=\"end\">",
              W - R, H - B + 16);
    put_text(pg, c->last_at != NULL ? c->last_at : "");
    pg_str(pg, "</text>");
    row_end(pg, mark);
    for (li = 0; li < c->nlogs; li++) {
        size_t step = c->count[li] / DASHBOARD_MAX_POINTS + 1, seen = 0;
        double x, y, x_last = 0, y_last = 0;
        int64_t t_last = 0;
        int have_last = 0;

        if (c->count[li] == 0) {
            continue;
        }
        mark = row_begin(pg);
        pg_printf(pg,
                  "<polyline fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" points=\"",
                  COLOURS[li]);
        for (i = 0; i < nh; i++) {
            const json_t *h = json_array_get(hist, i);
            const char *log = jstr(h, "log");
            json_int_t v;
            int64_t t;

            if (log == NULL || strcmp(log, c->logs[li]) != 0 ||
                parse_time(jstr(h, "at"), &t) < 0 || !jint(h, key, &v)) {
                continue;
            }
            if (seen++ % step != 0 && seen != c->count[li]) {
                continue;
            }
            x = L + (W - L - R) * (double)(t - c->t0) / span;
            y = H - B - (H - T - B) * (double)v / vmax;
            pg_printf(pg, "%.1f,%.1f ", x, y);
            if (!have_last || t >= t_last) {
                have_last = 1;
                t_last = t;
                x_last = x;
                y_last = y;
            }
        }
        pg_str(pg, "\"/>");
        if (have_last) {
            /* The newest point, so that one point alone shows too. */
            pg_printf(pg,
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                      "fill=\"%s\"/>",
                      x_last, y_last, COLOURS[li]);
        }
        row_end(pg, mark);
    }
    pg_close(pg, "</svg>\n");
}

static void
put_chart(struct page *pg, const json_t *st)
{
    const json_t *hist = json_object_get(st, "history");
    size_t i, mark, nh = json_array_size(hist);
    struct chart c;

    memset(&c, 0, sizeof(c));
    if (nh > MAX_HISTORY) {
        nh = MAX_HISTORY;
    }
    for (i = 0; i < nh; i++) {
        const json_t *h = json_array_get(hist, i);
        const char *log = jstr(h, "log");
        json_int_t v;
        int64_t t;
        int li;

        if (log == NULL || parse_time(jstr(h, "at"), &t) < 0 ||
            (!jint(h, "verified_size", &v) &&
             !jint(h, "entries_scanned", &v)) ||
            (li = chart_log(&c, log)) < 0) {
            continue;
        }
        if (c.first_at == NULL || t < c.t0) {
            c.t0 = t;
            c.first_at = jstr(h, "at");
        }
        if (c.last_at == NULL || t > c.t1) {
            c.t1 = t;
            c.last_at = jstr(h, "at");
        }
        c.count[li]++;
    }
    if (!pg_open(pg, "<section id=\"history\"><h2>History</h2>")) {
        return;
    }
    if (c.nlogs == 0) {
        pg_str(pg, "<p class=\"muted\">No history yet.</p>");
        pg_close(pg, "</section>\n");
        return;
    }
    mark = row_begin(pg);
    pg_str(pg, "<p>");
    for (i = 0; i < c.nlogs; i++) {
        pg_printf(pg, "<span class=\"badge\" style=\"color:%s\">", COLOURS[i]);
        put_text(pg, c.logs[i]);
        pg_str(pg, "</span>");
    }
    pg_str(pg, "</p>");
    row_end(pg, mark);
    put_panel(pg, hist, nh, &c, "verified_size", "Verified size");
    put_panel(pg, hist, nh, &c, "entries_scanned", "Entries scanned");
    pg_close(pg, "</section>\n");
}

/* ---- the page ------------------------------------------------------------ */

void
dashboard_opts_init(struct dashboard_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->refresh_s = DASHBOARD_REFRESH_S;
}

static void
set_err(char *err, size_t errcap, const char *msg)
{
    if (err != NULL && errcap > 0) {
        snprintf(err, errcap, "%s", msg);
    }
}

char *
dashboard_html(const json_t *status, const struct dashboard_opts *opts,
               size_t *len_out, char *err, size_t errcap)
{
    struct dashboard_opts o;
    struct page pg;
    const char *schema = jstr(status, "schema");

    if (opts != NULL) {
        o = *opts;
    } else {
        dashboard_opts_init(&o);
    }
    if (o.max_bytes == 0) {
        o.max_bytes = DASHBOARD_MAX_BYTES;
    }
    if (!json_is_object(status) || schema == NULL ||
        strcmp(schema, SCHEMA) != 0) {
        set_err(err, errcap, "not a " SCHEMA " document");
        return NULL;
    }
    if (o.max_bytes < DASHBOARD_MIN_BYTES) {
        set_err(err, errcap, "dashboard: max_bytes below the minimum");
        return NULL;
    }
    memset(&pg, 0, sizeof(pg));
    pg.max = o.max_bytes;
    pg.soft = o.max_bytes - TAIL_RESERVE;
    if (pg_grow(&pg, 0) < 0) {
        set_err(err, errcap, "out of memory");
        return NULL;
    }
    pg.p[0] = '\0';

    put_head(&pg, status, &o);
    put_summary(&pg, status);
    put_logs(&pg, status);
    put_rules(&pg, status);
    put_alerts(&pg, status);
    put_chart(&pg, status);
    put_outbox(&pg, status);
    if (pg.cut) {
        pg_close(&pg, "<p class=\"cut\" id=\"cut\">This page was cut at its "
                      "size limit; see /api/v1/status or "
                      "`tlogwatch status` for everything.</p>\n");
    }
    pg_close(&pg, "</main></body></html>\n");
    if (pg.oom) {
        free(pg.p);
        set_err(err, errcap, "out of memory");
        return NULL;
    }
    if (len_out != NULL) {
        *len_out = pg.len;
    }
    return pg.p;
}
