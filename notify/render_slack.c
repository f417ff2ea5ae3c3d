/*
 * render_slack.c: the fields of an alert a person acts on, the Slack Block
 * Kit message and the plain-text rendering (render.h).
 *
 * Invariants: every alert string goes through text_put(), which drops
 * control bytes, cuts on a UTF-8 boundary and, for mrkdwn, escapes &, <
 * and >, within a byte budget, so no block can exceed its Block Kit limit
 * (bytes >= characters); links come only from link_safe() URLs or URLs
 * built here from checked parts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/render.h"

/* A growing NUL-terminated string; on allocation failure it sets oom and
 * ignores further appends. */
struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *np;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = 1;
        return;
    }
    sb_putn(b, tmp, (size_t)n);
}

/* Take the string (or NULL) and free nothing else. */
static char *
sb_take(struct sbuf *b)
{
    if (b->oom || b->p == NULL) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* Length of the UTF-8 sequence starting with byte c (1 for invalid). */
static size_t
utf8_len(unsigned char c)
{
    if (c >= 0xf0 && c < 0xf8) {
        return 4;
    }
    if (c >= 0xe0) {
        return c < 0xf0 ? 3 : 1;
    }
    if (c >= 0xc0) {
        return 2;
    }
    return 1;
}

#define TEXT_PLAIN 0
#define TEXT_MRKDWN 1

/*
 * Append at most max bytes of s (NULL: nothing) and at most budget bytes
 * of output: control bytes become '?', a multi-byte character is kept
 * whole or not at all, and in mrkdwn &, <, > are escaped.  When s was cut,
 * "..." ends it (counted in the budget).  Returns the bytes written.
 */
static size_t
text_put(struct sbuf *b, const char *s, size_t max, size_t budget, int mode)
{
    size_t i = 0, out = 0, n = s != NULL ? strlen(s) : 0;

    if (n > max) {
        n = max;
    }
    if (budget < 4) {
        return 0;
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t k = utf8_len(c);
        const char *rep = NULL;
        char one[2] = {0, 0};

        if (c < 0x20 || c == 0x7f) {
            one[0] = '?';
            rep = one;
            k = 1;
        } else if (mode == TEXT_MRKDWN && c == '&') {
            rep = "&amp;";
        } else if (mode == TEXT_MRKDWN && c == '<') {
            rep = "&lt;";
        } else if (mode == TEXT_MRKDWN && c == '>') {
            rep = "&gt;";
        }
        if (k > n - i) {
            break; /* a character cut by max: drop it */
        }
        if (out + (rep ? strlen(rep) : k) > budget - 3) {
            break;
        }
        if (rep != NULL) {
            sb_puts(b, rep);
            out += strlen(rep);
        } else {
            sb_putn(b, s + i, k);
            out += k;
        }
        i += k;
    }
    if (s != NULL && i < strlen(s)) {
        sb_puts(b, "...");
        out += 3;
    }
    return out;
}

static const char *
obj_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int
is_hex(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || strlen(s) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

/* A GitHub owner/repo made of the characters GitHub allows. */
static int
repo_safe(const char *s)
{
    size_t i, slashes = 0, n = s != NULL ? strlen(s) : 0;

    if (n < 3 || n > 200 || s[0] == '/' || s[n - 1] == '/') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '/') {
            slashes++;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                     c == '.')) {
            return 0;
        }
    }
    return slashes == 1;
}

/* An https:// URL that can sit in <url|text> without breaking out. */
static int
link_safe(const char *s)
{
    size_t i, n = s != NULL ? strlen(s) : 0;

    if (n <= 8 || n > NOTIFY_RENDER_FIELD_MAX || strncmp(s, "https://", 8)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '|' ||
            c == '"' || c == '\'' || c == '`' || c == '&') {
            return 0;
        }
    }
    return 1;
}

/* Copy at most NOTIFY_RENDER_FIELD_MAX bytes of s[0..n) cleaned into out. */
static void
field_copy(char *out, const char *s, size_t n)
{
    struct sbuf b = {NULL, 0, 0, 0};

    out[0] = '\0';
    if (s == NULL || n == 0) {
        return;
    }
    {
        char *tmp = malloc(n + 1);
        if (tmp == NULL) {
            return;
        }
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        text_put(&b, tmp, NOTIFY_RENDER_FIELD_MAX, NOTIFY_RENDER_FIELD_MAX,
                 TEXT_PLAIN);
        free(tmp);
    }
    if (!b.oom && b.p != NULL) {
        memcpy(out, b.p, b.len + 1);
    }
    free(b.p);
}

/* workflow and ref from "https://github.com/o/r/.github/workflows/x@ref". */
static void
derive_workflow(struct notify_alert_fields *f)
{
    const char *uri = f->build_config_uri;
    const char *at, *path;

    if (uri == NULL || strchr(uri, '@') == NULL) {
        uri = f->workflow_ref;
    }
    if (uri != NULL && (at = strrchr(uri, '@')) != NULL) {
        path = uri;
        if (strncmp(path, "https://github.com/", 19) == 0) {
            path += 19;
            if (f->repository != NULL &&
                strncasecmp(path, f->repository, strlen(f->repository)) == 0 &&
                path[strlen(f->repository)] == '/') {
                path += strlen(f->repository) + 1;
            }
        }
        if (path < at) {
            field_copy(f->workflow, path, (size_t)(at - path));
        }
        field_copy(f->ref, at + 1, strlen(at + 1));
    } else if (f->workflow_ref != NULL &&
               strncmp(f->workflow_ref, "refs/", 5) == 0) {
        /* Fulcio's GitHub Workflow Ref extension: the ref alone. */
        field_copy(f->ref, f->workflow_ref, strlen(f->workflow_ref));
    }
}

void
notify_alert_fields(const json_t *alert, struct notify_alert_fields *f)
{
    const json_t *id = json_object_get(alert, "identity");
    const json_t *entry = json_object_get(alert, "entry");
    const json_t *log = json_object_get(alert, "log");
    const json_t *pcrs = json_object_get(alert, "pcrs");
    const json_t *idx = json_object_get(entry, "log_index");

    memset(f, 0, sizeof(*f));
    f->type = obj_str(alert, "type");
    f->severity = obj_str(alert, "severity");
    f->summary = obj_str(alert, "summary");
    f->id = obj_str(alert, "id");
    f->detected_at = obj_str(alert, "detected_at");
    f->rule = obj_str(alert, "rule");
    f->log_name = obj_str(log, "name");
    f->log_origin = obj_str(log, "origin");
    f->entry_uuid = obj_str(entry, "uuid");
    f->entry_kind = obj_str(entry, "kind");
    f->repository = obj_str(id, "repository");
    f->repository_id = obj_str(id, "repository_id");
    f->workflow_ref = obj_str(id, "workflow_ref");
    f->build_config_uri = obj_str(id, "build_config_uri");
    f->workflow_sha = obj_str(id, "workflow_sha");
    f->runner_environment = obj_str(id, "runner_environment");
    f->trigger = obj_str(id, "trigger");
    f->run_invocation_uri = obj_str(id, "run_invocation_uri");
    f->san = obj_str(id, "san");
    f->issuer = obj_str(id, "issuer");
    f->cert_sha256 = obj_str(id, "cert_sha256");
    f->pcr[0] = obj_str(pcrs, "PCR0");
    f->pcr[1] = obj_str(pcrs, "PCR1");
    f->pcr[2] = obj_str(pcrs, "PCR2");
    if (json_is_integer(idx) && json_integer_value(idx) >= 0) {
        f->has_log_index = 1;
        f->log_index = (uint64_t)json_integer_value(idx);
    }
    derive_workflow(f);
}

char *
notify_render_search_url(uint64_t log_index, char *out, size_t outcap)
{
    snprintf(out, outcap, "%s%llu", NOTIFY_SEARCH_URL,
             (unsigned long long)log_index);
    return out;
}

/* ---- the field list shared by Slack and text ------------------------- */

/* One labelled value; url (built or checked) makes it a link. */
struct field {
    const char *label;
    const char *value; /* untrusted text */
    char url[NOTIFY_RENDER_FIELD_MAX + 64];
};

#define MAX_FIELDS 16

static size_t
field_list(const struct notify_alert_fields *f, struct field *v, char *idxbuf,
           size_t idxcap)
{
    size_t n = 0;

#define ADD(l, val)                                                            \
    do {                                                                       \
        if ((val) != NULL && (val)[0] != '\0' && n < MAX_FIELDS) {             \
            v[n].label = (l);                                                  \
            v[n].value = (val);                                                \
            v[n].url[0] = '\0';                                                \
            n++;                                                               \
        }                                                                      \
    } while (0)

    ADD("Severity", f->severity);
    ADD("Type", f->type);
    ADD("Repository", f->repository);
    if (n > 0 && repo_safe(f->repository) &&
        strcmp(v[n - 1].label, "Repository") == 0) {
        snprintf(v[n - 1].url, sizeof(v[n - 1].url), "https://github.com/%s",
                 f->repository);
    }
    ADD("Workflow", f->workflow);
    ADD("Ref", f->ref);
    ADD("Commit", f->workflow_sha);
    if (n > 0 && strcmp(v[n - 1].label, "Commit") == 0 &&
        repo_safe(f->repository) && is_hex(f->workflow_sha, 40)) {
        snprintf(v[n - 1].url, sizeof(v[n - 1].url),
                 "https://github.com/%s/commit/%s", f->repository,
                 f->workflow_sha);
    }
    ADD("Runner", f->runner_environment);
    ADD("Trigger", f->trigger);
    ADD("Run", f->run_invocation_uri);
    if (n > 0 && strcmp(v[n - 1].label, "Run") == 0 &&
        link_safe(f->run_invocation_uri)) {
        snprintf(v[n - 1].url, sizeof(v[n - 1].url), "%s",
                 f->run_invocation_uri);
    }
    ADD("Rule", f->rule);
    if (f->has_log_index) {
        snprintf(idxbuf, idxcap, "%llu", (unsigned long long)f->log_index);
        ADD("Log index", idxbuf);
        if (n > 0 && strcmp(v[n - 1].label, "Log index") == 0) {
            notify_render_search_url(f->log_index, v[n - 1].url,
                                     sizeof(v[n - 1].url));
        }
    }
    ADD("Log", f->log_name);
    ADD("Identity", f->san);
#undef ADD
    return n;
}

/* ---- Slack -------------------------------------------------------------- */

/* A JSON string of the bytes in b, added to obj under key (stolen). */
static int
set_text(json_t *obj, const char *key, struct sbuf *b)
{
    json_t *s;

    if (b->oom) {
        free(b->p);
        return -1;
    }
    s = json_string(b->p != NULL ? b->p : "");
    free(b->p);
    memset(b, 0, sizeof(*b));
    return s != NULL && json_object_set_new(obj, key, s) == 0 ? 0 : -1;
}

static json_t *
mrkdwn(struct sbuf *b)
{
    json_t *t = json_pack("{s:s}", "type", "mrkdwn");

    if (t == NULL || set_text(t, "text", b) != 0) {
        json_decref(t);
        return NULL;
    }
    return t;
}

/* Append the section block {"type":"section","text":mrkdwn(b)}. */
static int
add_section(json_t *blocks, struct sbuf *b)
{
    json_t *t = mrkdwn(b);
    json_t *sec =
        t != NULL ? json_pack("{s:s,s:o}", "type", "section", "text", t) : NULL;

    return sec != NULL && json_array_append_new(blocks, sec) == 0 ? 0 : -1;
}

/* A field as mrkdwn "*Label*\n<url|value>" within the field limit. */
static json_t *
field_block(const struct field *fl)
{
    struct sbuf b = {NULL, 0, 0, 0};
    size_t budget = NOTIFY_SLACK_FIELD_TEXT_MAX - 64;

    sb_printf(&b, "*%s*\n", fl->label);
    if (fl->url[0] != '\0') {
        sb_puts(&b, "<");
        sb_puts(&b, fl->url); /* checked or built: no escaping needed */
        sb_puts(&b, "|");
        budget -= strlen(fl->url) < budget / 2 ? strlen(fl->url) : budget / 2;
        text_put(&b, fl->value, NOTIFY_RENDER_FIELD_MAX, budget, TEXT_MRKDWN);
        sb_puts(&b, ">");
    } else {
        text_put(&b, fl->value, NOTIFY_RENDER_FIELD_MAX, budget, TEXT_MRKDWN);
    }
    return mrkdwn(&b);
}

static int
slack_fields(json_t *blocks, const struct field *v, size_t n)
{
    size_t i = 0;

    while (i < n) {
        json_t *fields = json_array(), *sec;
        size_t k;
        if (fields == NULL) {
            return -1;
        }
        for (k = 0; k < NOTIFY_SLACK_FIELDS_MAX && i < n; k++, i++) {
            if (json_array_append_new(fields, field_block(&v[i])) != 0) {
                json_decref(fields);
                return -1;
            }
        }
        sec = json_pack("{s:s,s:o}", "type", "section", "fields", fields);
        if (sec == NULL || json_array_append_new(blocks, sec) != 0) {
            return -1;
        }
    }
    return 0;
}

static int
slack_reasons(json_t *blocks, const json_t *alert)
{
    const json_t *reasons = json_object_get(alert, "reasons");
    struct sbuf b = {NULL, 0, 0, 0};
    size_t i, n = json_array_size(reasons), used;

    if (n == 0) {
        return 0;
    }
    sb_puts(&b, "*Reasons*");
    used = b.len;
    for (i = 0; i < n && i < NOTIFY_RENDER_REASONS_MAX; i++) {
        const char *r = json_string_value(json_array_get(reasons, i));
        size_t room = NOTIFY_SLACK_SECTION_MAX - 100 - used;
        if (r == NULL) {
            continue;
        }
        sb_puts(&b, "\n\xe2\x80\xa2 "); /* bullet */
        used += 5;
        used += text_put(&b, r, NOTIFY_RENDER_FIELD_MAX,
                         room > NOTIFY_SLACK_SECTION_MAX / 8
                             ? NOTIFY_SLACK_SECTION_MAX / 8
                             : room,
                         TEXT_MRKDWN);
    }
    if (n > NOTIFY_RENDER_REASONS_MAX) {
        sb_printf(&b, "\nand %zu more", n - NOTIFY_RENDER_REASONS_MAX);
    }
    return add_section(blocks, &b);
}

static int
slack_pcrs(json_t *blocks, const struct notify_alert_fields *f)
{
    struct sbuf b = {NULL, 0, 0, 0};
    int i, any = 0;

    sb_puts(&b, "*PCRs*");
    for (i = 0; i < 3; i++) {
        if (f->pcr[i] == NULL) {
            continue;
        }
        any = 1;
        sb_printf(&b, "\nPCR%d ", i);
        if (is_hex(f->pcr[i], strlen(f->pcr[i])) && strlen(f->pcr[i]) <= 128) {
            sb_puts(&b, "`");
            sb_puts(&b, f->pcr[i]);
            sb_puts(&b, "`");
        } else {
            text_put(&b, f->pcr[i], 128, 600, TEXT_MRKDWN);
        }
    }
    if (!any) {
        free(b.p);
        return 0;
    }
    return add_section(blocks, &b);
}

/* The lines of a monitor.heartbeat: "name: cursor C of V (lag L)". */
static void
heartbeat_lines(struct sbuf *b, const json_t *alert, size_t budget, int mode)
{
    const json_t *logs =
        json_object_get(json_object_get(alert, "heartbeat"), "logs");
    size_t i;

    for (i = 0; i < json_array_size(logs) && i < 20; i++) {
        const json_t *l = json_array_get(logs, i);
        sb_puts(b, "\n");
        text_put(b, obj_str(l, "name"), 64, budget / 20, mode);
        sb_printf(
            b, ": cursor %lld of %lld verified, lag %lld",
            (long long)json_integer_value(json_object_get(l, "cursor")),
            (long long)json_integer_value(json_object_get(l, "verified_size")),
            (long long)json_integer_value(json_object_get(l, "lag")));
    }
}

static int
slack_heartbeat(json_t *blocks, const json_t *alert)
{
    struct sbuf b = {NULL, 0, 0, 0};

    if (json_array_size(json_object_get(json_object_get(alert, "heartbeat"),
                                        "logs")) == 0) {
        return 0;
    }
    sb_puts(&b, "*Logs*");
    heartbeat_lines(&b, alert, NOTIFY_SLACK_SECTION_MAX - 200, TEXT_MRKDWN);
    return add_section(blocks, &b);
}

char *
notify_render_slack(const json_t *alert)
{
    struct notify_alert_fields f;
    struct field v[MAX_FIELDS];
    char idxbuf[32];
    struct sbuf b = {NULL, 0, 0, 0};
    json_t *msg = NULL, *blocks, *hdr, *ctx, *elems;
    char *out = NULL;
    size_t n;

    if (!json_is_object(alert)) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    n = field_list(&f, v, idxbuf, sizeof(idxbuf));
    msg = json_object();
    blocks = json_array();
    if (msg == NULL || blocks == NULL ||
        json_object_set_new(msg, "blocks", blocks) != 0) {
        json_decref(blocks);
        goto out;
    }
    /* Fallback text (notifications, clients without blocks). */
    sb_puts(&b, "[");
    text_put(&b, f.severity ? f.severity : "info", 16, 16, TEXT_MRKDWN);
    sb_puts(&b, "] ");
    text_put(&b, f.type, 64, 100, TEXT_MRKDWN);
    sb_puts(&b, ": ");
    text_put(&b, f.summary, NOTIFY_RENDER_SUMMARY_MAX,
             NOTIFY_SLACK_TEXT_MAX - 200, TEXT_MRKDWN);
    if (set_text(msg, "text", &b) != 0) {
        goto out;
    }
    /* Header: plain_text, at most 150 characters. */
    sb_puts(&b, f.severity != NULL && strcmp(f.severity, "critical") == 0
                    ? "\xf0\x9f\x9a\xa8 " /* rotating light */
                    : "");
    text_put(&b, f.severity ? f.severity : "info", 16, 16, TEXT_PLAIN);
    sb_puts(&b, ": ");
    text_put(&b, f.type, 100, 120, TEXT_PLAIN);
    hdr = json_pack("{s:s,s:{s:s,s:b}}", "type", "header", "text", "type",
                    "plain_text", "emoji", 1);
    if (hdr == NULL || json_array_append_new(blocks, hdr) != 0 ||
        set_text(json_object_get(hdr, "text"), "text", &b) != 0) {
        goto out;
    }
    /* Summary. */
    text_put(&b, f.summary && f.summary[0] ? f.summary : "(no summary)",
             NOTIFY_RENDER_SUMMARY_MAX, NOTIFY_SLACK_SECTION_MAX - 100,
             TEXT_MRKDWN);
    if (add_section(blocks, &b) != 0 || slack_fields(blocks, v, n) != 0 ||
        slack_reasons(blocks, alert) != 0 || slack_pcrs(blocks, &f) != 0 ||
        slack_heartbeat(blocks, alert) != 0) {
        goto out;
    }
    /* Context: id and time. */
    sb_puts(&b, "tlogwatch \xc2\xb7 alert ");
    text_put(&b, f.id, 80, 100, TEXT_MRKDWN);
    if (f.detected_at != NULL) {
        sb_puts(&b, " \xc2\xb7 detected ");
        text_put(&b, f.detected_at, 40, 60, TEXT_MRKDWN);
    }
    elems = json_array();
    ctx = json_pack("{s:s,s:o}", "type", "context", "elements", elems);
    if (ctx == NULL || json_array_append_new(blocks, ctx) != 0 ||
        json_array_append_new(elems, mrkdwn(&b)) != 0) {
        goto out;
    }
    out = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    free(b.p);
    json_decref(msg);
    return out;
}

char *
notify_render_text(const json_t *alert)
{
    struct notify_alert_fields f;
    struct field v[MAX_FIELDS];
    char idxbuf[32];
    struct sbuf b = {NULL, 0, 0, 0};
    size_t i, n;
    const json_t *reasons;

    if (!json_is_object(alert)) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    n = field_list(&f, v, idxbuf, sizeof(idxbuf));
    sb_puts(&b, "[");
    text_put(&b, f.severity ? f.severity : "info", 16, 16, TEXT_PLAIN);
    sb_puts(&b, "] ");
    text_put(&b, f.type, 64, 100, TEXT_PLAIN);
    sb_puts(&b, ": ");
    text_put(&b, f.summary, NOTIFY_RENDER_SUMMARY_MAX,
             NOTIFY_RENDER_SUMMARY_MAX + 8, TEXT_PLAIN);
    for (i = 0; i < n; i++) {
        sb_printf(&b, "\n%s: ", v[i].label);
        text_put(&b, v[i].value, NOTIFY_RENDER_FIELD_MAX,
                 NOTIFY_RENDER_FIELD_MAX + 8, TEXT_PLAIN);
        if (v[i].url[0] != '\0' && strcmp(v[i].url, v[i].value) != 0) {
            sb_puts(&b, " (");
            sb_puts(&b, v[i].url);
            sb_puts(&b, ")");
        }
    }
    reasons = json_object_get(alert, "reasons");
    for (i = 0; i < json_array_size(reasons) && i < NOTIFY_RENDER_REASONS_MAX;
         i++) {
        sb_puts(&b, "\nReason: ");
        text_put(&b, json_string_value(json_array_get(reasons, i)),
                 NOTIFY_RENDER_FIELD_MAX, NOTIFY_RENDER_FIELD_MAX + 8,
                 TEXT_PLAIN);
    }
    for (i = 0; i < 3; i++) {
        if (f.pcr[i] != NULL) {
            sb_printf(&b, "\nPCR%zu: ", i);
            text_put(&b, f.pcr[i], 128, 136, TEXT_PLAIN);
        }
    }
    heartbeat_lines(&b, alert, 4000, TEXT_PLAIN);
    if (f.id != NULL) {
        sb_puts(&b, "\nAlert id: ");
        text_put(&b, f.id, 80, 100, TEXT_PLAIN);
    }
    return sb_take(&b);
}
