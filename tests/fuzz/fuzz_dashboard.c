/*
 * fuzz_dashboard.c: libFuzzer target for the dashboard renderer
 * (dashboard_html in monitor/view/dashboard.h).  Every string of the
 * status document comes from a log or a certificate.
 *
 * The input is parsed as a JSON document (its "schema" forced to the
 * status schema); an input that is not JSON becomes the value of every
 * string member of a small document instead (raw bytes, NUL and invalid
 * UTF-8 included).  The page is rendered under the default bound and
 * under a small one chosen by the input.  Invariants (abort on breach):
 *  - it renders, within its bound, NUL-free, ending "</html>\n";
 *  - every '<' opens or closes a tag the renderer writes (no input can
 *    open a tag), and every href is an http(s) URL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "monitor/view/dashboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FD_MAX_INPUT 65536

static const char *const TAGS[] = {
    "html", "head", "meta", "title", "style",   "body",     "header", "main",
    "h1",   "h2",   "h3",   "p",     "section", "table",    "thead",  "tbody",
    "tr",   "th",   "td",   "span",  "b",       "br",       "a",      "div",
    "ul",   "li",   "svg",  "rect",  "text",    "polyline", "circle"};

static void
check(const char *html, size_t len, size_t bound)
{
    const char *p;

    if (len > bound || strlen(html) != len || len < 8 ||
        strcmp(html + len - 8, "</html>\n") != 0) {
        abort();
    }
    for (p = strchr(html + 1, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *n = p + 1 + (p[1] == '/');
        size_t k, nl = strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789");
        int ok = 0;

        for (k = 0; k < sizeof(TAGS) / sizeof(TAGS[0]); k++) {
            ok |= strlen(TAGS[k]) == nl && strncmp(TAGS[k], n, nl) == 0;
        }
        if (!ok || (n[nl] != ' ' && n[nl] != '>')) {
            abort();
        }
    }
    for (p = strstr(html, "href=\""); p != NULL; p = strstr(p + 1, "href=\"")) {
        if (strncmp(p + 6, "http://", 7) != 0 &&
            strncmp(p + 6, "https://", 8) != 0) {
            abort();
        }
    }
}

/* Every string member of the document set to the input's bytes. */
static const char TEMPLATE[] =
    "{\"generated_at\":\"t\",\"logs\":[{\"name\":\"n\",\"kind\":\"k\","
    "\"url\":\"u\",\"lag\":1,\"stale\":true,\"last_success\":\"t\","
    "\"last_success_age_s\":5,\"last_error\":{\"at\":\"t\","
    "\"message\":\"m\"},\"recent_errors\":[{\"at\":\"t\","
    "\"message\":\"m\"}]}],\"rules\":[{\"name\":\"n\","
    "\"repository\":\"r\",\"signings\":[{\"log\":\"l\","
    "\"log_index\":7,\"verdict\":\"v\",\"allowed\":true,"
    "\"policy_verdict\":\"p\",\"commit\":\"c\",\"commit_url\":\"u\","
    "\"workflow\":\"w\",\"ref\":\"r\",\"trigger\":\"t\","
    "\"runner\":\"r\",\"run_url\":\"u\",\"pcrs\":{\"state\":\"s\","
    "\"source\":\"s\",\"note\":\"n\",\"PCR0\":\"p\",\"PCR8\":\"p\"},"
    "\"alerts\":[{\"type\":\"t\",\"severity\":\"s\"}]}]}],"
    "\"alerts\":{\"window_s\":60,\"by_severity\":{\"critical\":1},"
    "\"latest\":[{\"id\":\"i\",\"type\":\"t\",\"severity\":\"s\","
    "\"at\":\"t\",\"summary\":\"s\",\"log\":\"l\",\"rule\":\"r\"}]},"
    "\"outbox\":{\"pending\":1,\"sinks\":[{\"name\":\"n\","
    "\"where\":\"w\",\"last_error\":\"e\"}]},"
    "\"history\":[{\"log\":\"l\",\"at\":\"t\",\"verified_size\":3},"
    "{\"log\":\"l\",\"at\":\"2026-12-04T18:00:00Z\","
    "\"verified_size\":5}]}";

static void
fill(json_t *v, const char *s, size_t n)
{
    const char *k;
    json_t *m;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach(v, k, m)
        {
            if (json_is_string(m) &&
                strncmp(json_string_value(m), "2026", 4) != 0) {
                json_object_set_new(v, k, json_stringn_nocheck(s, n));
            } else {
                fill(m, s, n);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            fill(m, s, n);
        }
    }
}

static json_t *
from_bytes(const uint8_t *data, size_t size)
{
    json_t *doc = json_loads(TEMPLATE, 0, NULL);

    if (doc != NULL) {
        fill(doc, (const char *)data, size > 4096 ? 4096 : size);
    }
    return doc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dashboard_opts o;
    json_t *doc;
    char *html;
    size_t len;

    if (size > FD_MAX_INPUT) {
        size = FD_MAX_INPUT;
    }
    doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = from_bytes(data, size);
        if (doc == NULL) {
            return 0;
        }
    }
    json_object_set_new(doc, "schema", json_string("tlogwatch.status/v1"));
    dashboard_opts_init(&o);
    html = dashboard_html(doc, &o, &len, NULL, 0);
    if (html == NULL) {
        abort();
    }
    check(html, len, DASHBOARD_MAX_BYTES);
    free(html);
    o.max_bytes = DASHBOARD_MIN_BYTES + (size ? data[0] * 61u : 0);
    o.title = size > 1 ? (const char *)data + 1 : NULL;
    if (o.title != NULL && memchr(o.title, '\0', size - 1) == NULL) {
        o.title = NULL;
    }
    html = dashboard_html(doc, &o, &len, NULL, 0);
    if (html == NULL) {
        abort();
    }
    check(html, len, o.max_bytes);
    free(html);
    json_decref(doc);
    return 0;
}
