/*
 * render_github.c: the GitHub issue of an alert and the search for it
 * among a repository's issues (render.h).
 *
 * Invariants: the issue body carries the hidden marker
 * "<!-- tlogwatch-alert-id: <id> -->" so that a retry finds the issue it
 * may already have opened; every string from the alert sits inside a
 * fenced code block whose fence it cannot close (backticks in it are
 * replaced), so an alert can neither mention (@user, @org/team) nor
 * format anything; the title is cut to NOTIFY_GITHUB_TITLE_MAX bytes on
 * a UTF-8 boundary.  notify_github_find() reads untrusted bytes (the
 * issues list) with jansson, at most NOTIFY_GITHUB_LIST_MAX of them;
 * notify_github_link_next() reads a Link header (untrusted) by hand, at
 * most NOTIFY_GITHUB_LINK_MAX bytes, never past len.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify/alert.h"
#include "notify/render.h"

/* A growing string; oom set on failure. */
struct gbuf {
    char *s;
    size_t n, cap;
    int oom;
};

static void
gb_put(struct gbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *ns;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void
gb_puts(struct gbuf *b, const char *s)
{
    gb_put(b, s, strlen(s));
}

/* s inside a code fence: every backtick becomes a single quote, so the
 * fence (three backticks) cannot be closed from inside. */
static void
gb_fenced(struct gbuf *b, const char *s)
{
    const char *p;

    gb_puts(b, "```\n");
    for (p = s; *p != '\0'; p++) {
        gb_put(b, *p == '`' ? "'" : p, 1);
    }
    gb_puts(b, "\n```\n");
}

char *
notify_github_marker(const char *alert_id, char *out, size_t outcap)
{
    char id[NOTIFY_ALERT_ID_LEN + 1];
    size_t i;

    /* An id is hex; anything else (backticks, "-->") could open a fence
     * or close the comment, so it becomes '_'. */
    for (i = 0;
         alert_id != NULL && i < NOTIFY_ALERT_ID_LEN && alert_id[i] != '\0';
         i++) {
        char ch = alert_id[i];
        id[i] = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                        (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '.'
                    ? ch
                    : '_';
    }
    id[i] = '\0';
    snprintf(out, outcap, "<!-- tlogwatch-alert-id: %s -->", id);
    return out;
}

/* Whether s is NULL or only blanks and control bytes. */
static int
gh_blank(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((unsigned char)*s > 0x20) {
            return 0;
        }
    }
    return 1;
}

char *
notify_render_github_issue(const json_t *alert, const char *const *labels,
                           size_t nlabels)
{
    struct notify_alert_fields f;
    struct gbuf b = {NULL, 0, 0, 0};
    char marker[NOTIFY_ALERT_ID_LEN + 40];
    char title[NOTIFY_GITHUB_TITLE_MAX + 1];
    char *text = NULL, *json = NULL;
    json_t *issue = NULL, *lab = NULL;
    size_t i, n;

    if (!json_is_object(alert)) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    if (f.id == NULL || f.type == NULL) {
        return NULL;
    }
    text = notify_render_text(alert);
    json = json_dumps(alert, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL || json == NULL) {
        goto out;
    }
    gb_puts(&b, notify_github_marker(f.id, marker, sizeof(marker)));
    gb_puts(&b, "\n\n**tlogwatch** raised an alert (`");
    gb_puts(&b, f.severity != NULL && strcmp(f.severity, "critical") == 0
                    ? "critical"
                : f.severity != NULL && strcmp(f.severity, "warning") == 0
                    ? "warning"
                    : "info");
    gb_puts(&b, "`). What it saw:\n\n");
    gb_fenced(&b, text);
    gb_puts(&b, "\n<details><summary>The alert (tlogwatch.alert/v1), with "
                "its evidence</summary>\n\n");
    gb_fenced(&b, json);
    gb_puts(&b, "\n</details>\n\nThe alert id is the key of this issue: "
                "tlogwatch opens one issue per alert, however often it "
                "retries.\n");
    if (b.oom) {
        goto out;
    }
    /* GitHub refuses a blank title (422): the summary, else the type. */
    snprintf(title, sizeof(title), "%s",
             !gh_blank(f.summary) ? f.summary
             : !gh_blank(f.type)  ? f.type
                                  : "tlogwatch alert");
    n = strlen(title);
    if (n == NOTIFY_GITHUB_TITLE_MAX) {
        while (n > 0 && ((unsigned char)title[n] & 0xc0) == 0x80) {
            n--;
        }
        title[n] = '\0';
    }
    for (i = 0; title[i] != '\0'; i++) {
        if ((unsigned char)title[i] < 0x20) {
            title[i] = ' ';
        }
    }
    issue = json_object();
    lab = json_array();
    if (issue == NULL || lab == NULL) {
        goto out;
    }
    for (i = 0; i < nlabels; i++) {
        json_array_append_new(lab, json_string(labels[i]));
    }
    json_object_set_new(issue, "title", json_stringn(title, strlen(title)));
    json_object_set_new(issue, "body", json_string(b.s));
    if (nlabels > 0) {
        json_object_set(issue, "labels", lab);
    }
    free(text);
    free(json);
    free(b.s);
    json_decref(lab);
    text = json_dumps(issue, JSON_COMPACT);
    json_decref(issue);
    return text;
out:
    free(text);
    free(json);
    free(b.s);
    json_decref(issue);
    json_decref(lab);
    return NULL;
}

int
notify_github_find(const char *body, size_t len, const char *alert_id,
                   uint64_t *number, size_t *count)
{
    char marker[NOTIFY_ALERT_ID_LEN + 40];
    json_t *list, *it;
    size_t i;
    int rc = 0;

    if (count != NULL) {
        *count = 0;
    }
    if (body == NULL || alert_id == NULL || len > NOTIFY_GITHUB_LIST_MAX) {
        return -1;
    }
    notify_github_marker(alert_id, marker, sizeof(marker));
    list = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(list)) {
        json_decref(list);
        return -1;
    }
    json_array_foreach(list, i, it)
    {
        const char *b = json_string_value(json_object_get(it, "body"));
        const json_t *num = json_object_get(it, "number");
        if (!json_is_object(it)) {
            rc = -1;
            break;
        }
        if (b != NULL && strstr(b, marker) != NULL && json_is_integer(num) &&
            json_integer_value(num) > 0) {
            *number = (uint64_t)json_integer_value(num);
            rc = 1;
            break;
        }
    }
    if (count != NULL && rc >= 0) {
        *count = json_array_size(list);
    }
    json_decref(list);
    return rc;
}

static int
gh_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
gh_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Whether the relation types v[0..n) (space-separated) hold "next". */
static int
gh_rel_next(const char *v, size_t n)
{
    size_t i = 0, w;

    while (i < n) {
        while (i < n && v[i] == ' ') {
            i++;
        }
        for (w = 0; i + w < n && v[i + w] != ' '; w++) {
        }
        if (w == 4 && strncasecmp(v + i, "next", 4) == 0) {
            return 1;
        }
        i += w;
    }
    return 0;
}

int
notify_github_link_next(const char *s, size_t len)
{
    size_t i = 0, name, nlen, val, vlen;
    int found = 0;

    if (s == NULL || len > NOTIFY_GITHUB_LINK_MAX) {
        return -1;
    }
    for (;;) {
        /* #link-value: empty elements and blanks between them */
        while (i < len && (gh_ows(s[i]) || s[i] == ',')) {
            i++;
        }
        if (i == len) {
            return found;
        }
        if (s[i] != '<') {
            return -1;
        }
        while (i < len && s[i] != '>') {
            i++;
        }
        if (i == len) {
            return -1;
        }
        i++;
        /* *( OWS ";" OWS link-param ) */
        for (;;) {
            while (i < len && gh_ows(s[i])) {
                i++;
            }
            if (i == len || s[i] == ',') {
                break;
            }
            if (s[i] != ';') {
                return -1;
            }
            i++;
            while (i < len && gh_ows(s[i])) {
                i++;
            }
            for (name = i; i < len && gh_tchar((unsigned char)s[i]); i++) {
            }
            nlen = i - name;
            if (nlen == 0) {
                return -1;
            }
            while (i < len && gh_ows(s[i])) {
                i++;
            }
            val = i;
            vlen = 0;
            if (i < len && s[i] == '=') {
                i++;
                while (i < len && gh_ows(s[i])) {
                    i++;
                }
                if (i < len && s[i] == '"') {
                    val = ++i;
                    while (i < len && s[i] != '"') {
                        if (s[i] == '\\') {
                            i++; /* quoted-pair */
                        }
                        i++;
                    }
                    if (i >= len) {
                        return -1;
                    }
                    vlen = i - val;
                    i++;
                } else {
                    for (val = i; i < len && gh_tchar((unsigned char)s[i]);
                         i++) {
                    }
                    vlen = i - val;
                    if (vlen == 0) {
                        return -1;
                    }
                }
            }
            if (nlen == 3 && strncasecmp(s + name, "rel", 3) == 0 &&
                gh_rel_next(s + val, vlen)) {
                found = 1;
            }
        }
    }
}

int
notify_github_more(size_t count, const char *link)
{
    if (count < NOTIFY_GITHUB_PAGE) {
        return 0;
    }
    if (link == NULL) {
        return 1;
    }
    return notify_github_link_next(link, strlen(link)) != 0;
}
