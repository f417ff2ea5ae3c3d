/*
 * config.c: loading and validating the tlogwatch configuration into one
 * immutable struct config (config.h has the contract: syntax, defaults,
 * secrets, relative paths).
 *
 * How it works: config_tree.c turns the bytes into a tree of positioned
 * nodes; the validator below walks that tree once, section by section,
 * filling a fresh struct config and recording every problem it finds at
 * the node where it is (it never stops at the first).  Cross-checks that
 * need a whole section (duplicate names, references to sinks) run on the
 * tree too, so they still work when a neighbouring field was invalid.  If
 * any error was recorded the half-filled struct is freed and only the
 * errors, sorted by position, are returned.
 *
 * Invariants: a value is only quoted in a message when it is short and
 * made of [A-Za-z0-9._-] (cv_safe), and never for a secret field; every
 * allocation is checked; secrets are wiped before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "config/config_tree.h"
#include "config/config_value.h"
#include "config/trusted_root.h"

#define CV_PATH_MAX 160 /* key path in messages: watch[3].pcrs.allow[0]... */
#define CV_MSG_MAX 1024 /* one message */
#define CV_SHOW_MAX 40  /* longest value quoted in a message */
#define CV_VAR_MAX 128  /* longest ${NAME} */

/* Validation context: one per load. */
struct cv {
    const char *file;     /* name for messages; borrowed */
    const char *base_dir; /* for relative paths, or NULL; borrowed */
    struct config_errors **errs;
    int failed;
};

static const char *const root_keys[] = {"state",
                                        "trusted_root",
                                        "logs",
                                        "watch",
                                        "notify",
                                        "heartbeat",
                                        "report",
                                        "http",
                                        "retention",
                                        "logs_from_trusted_root",
                                        "discovered_start",
                                        "attestation",
                                        NULL};
static const char *const log_keys[] = {"name",
                                       "kind",
                                       "url",
                                       "poll_interval",
                                       "start",
                                       "max_concurrency",
                                       "stale_after",
                                       "unreachable_after",
                                       "withhold_after",
                                       NULL};
static const char *const watch_keys[] = {
    "name", "repository",      "repository_id",  "issuer", "allow",
    "pcrs", "record_expected", "unlogged_after", NULL};
static const char *const allow_keys[] = {"workflows", "refs", "triggers",
                                         "runners", NULL};
static const char *const pcrs_keys[] = {"registry", "credentials", "allow",
                                        "lookup_timeout", NULL};
static const char *const pcr_names[] = {"PCR0", "PCR1", "PCR2", "PCR8", NULL};
static const char *const sink_keys[] = {
    "name",        "type",       "min_severity", "url",      "secret",
    "command",     "timeout",    "format",       "signing",  "resolve_after",
    "routing_key", "repository", "token",        "labels",   "api_url",
    "from",        "to",         "username",     "password", "ca_file",
    "tls",         NULL};
static const char *const heartbeat_keys[] = {"every", "notify", NULL};
static const char *const report_keys[] = {"every", "notify", "dir", NULL};
static const char *const http_keys[] = {"listen", "token", "ready_lag", NULL};
static const char *const attestation_keys[] = {"root", NULL};
static const char *const retention_keys[] = {"checkpoints", "alerts",
                                             "signings", NULL};

static const char *const log_kind_names[] = {"rekor-v1", "rekor-v2", "ct",
                                             NULL};
static const char *const sink_type_names[] = {
    "slack",     "webhook",      "exec",  "stdout", "alertmanager",
    "pagerduty", "github_issue", "email", NULL};
static const char *const sink_format_names[] = {"tlogwatch", "cloudevents",
                                                "ocsf", NULL};
static const char *const sink_signing_names[] = {"tlogwatch", "standard", NULL};
static const char *const severity_names[] = {"info", "warning", "critical",
                                             NULL};
static const char *const runner_names[] = {"github-hosted", "self-hosted",
                                           NULL};

/* Wipe and free a secret.  NULL is a no-op. */
static void
free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void cv_err(struct cv *cv, const struct config_node *at,
                   const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record an error at node at (NULL: the file as a whole). */
static void
cv_err(struct cv *cv, const struct config_node *at, const char *path,
       const char *fmt, ...)
{
    char msg[CV_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cv->failed = 1;
    (void)config_errors_add(cv->errs, cv->file, at ? at->line : 0,
                            at ? at->col : 0, "%s%s%s", path,
                            path[0] != '\0' ? ": " : "", msg);
}

/* 1 when s may be quoted in a message: short, [A-Za-z0-9._-] only. */
static int
cv_safe(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (i >= CV_SHOW_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return i > 0;
}

/* " 'value'" when the value may be shown, else "". */
static const char *
cv_show(const char *s, char *buf, size_t cap)
{
    if (!cv_safe(s)) {
        return "";
    }
    (void)snprintf(buf, cap, " '%s'", s);
    return buf;
}

/* A path (no control bytes, bounded) for "cannot read FILE" messages. */
static const char *
cv_clean_path(const char *s, char *buf, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; s[i] != '\0' && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i] != '\0') {
        buf[n++] = '.';
        buf[n++] = '.';
        buf[n++] = '.';
    }
    buf[n] = '\0';
    return buf;
}

/* Key paths are bounded by the schema (depth <= 6, short keys), so
 * CV_PATH_MAX never truncates; a truncated path would still be safe. */
static void
cv_join(char *out, size_t cap, const char *path, const char *key)
{
    int w;

    if (path[0] == '\0') {
        w = snprintf(out, cap, "%s", key);
    } else {
        w = snprintf(out, cap, "%s.%s", path, key);
    }
    if (w < 0) {
        out[0] = '\0';
    }
}

static void
cv_index(char *out, size_t cap, const char *path, size_t i)
{
    if (snprintf(out, cap, "%s[%zu]", path, i) < 0) {
        out[0] = '\0';
    }
}

static int
cv_is_null(const struct config_node *n)
{
    return n->kind == CONFIG_NODE_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->str, "~") == 0 ||
            strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
            strcmp(n->str, "NULL") == 0);
}

/* Plain true/false (YAML 1.2 core schema spellings): 0 or 1, else -1. */
static int
cv_bool_value(const struct config_node *n)
{
    if (n->kind != CONFIG_NODE_SCALAR || !n->plain) {
        return -1;
    }
    if (strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0 ||
        strcmp(n->str, "TRUE") == 0) {
        return 1;
    }
    if (strcmp(n->str, "false") == 0 || strcmp(n->str, "False") == 0 ||
        strcmp(n->str, "FALSE") == 0) {
        return 0;
    }
    return -1;
}

/* What a node is, for "expected X, got Y". */
static const char *
cv_what(const struct config_node *n)
{
    size_t i;

    switch (n->kind) {
    case CONFIG_NODE_MAP:
        return "a mapping";
    case CONFIG_NODE_LIST:
        return "a list";
    case CONFIG_NODE_SCALAR:
        break;
    }
    if (cv_is_null(n)) {
        return "no value";
    }
    if (cv_bool_value(n) >= 0) {
        return "a boolean";
    }
    if (!n->plain) {
        return "a quoted string";
    }
    for (i = 0; i < n->len && n->str[i] >= '0' && n->str[i] <= '9'; i++) {
    }
    return i == n->len ? "a number" : "a string";
}

/* v must be a mapping whose keys are all in keys (NULL-terminated), each
 * once.  Unknown and duplicate keys are reported; returns -1 only when v
 * is not a mapping at all. */
static int
cv_map(struct cv *cv, const struct config_node *v, const char *path,
       const char *const *keys)
{
    size_t i, j, k;
    char show[CV_SHOW_MAX + 8];

    if (v->kind != CONFIG_NODE_MAP) {
        cv_err(cv, v, path, "expected a mapping, got %s", cv_what(v));
        return -1;
    }
    for (i = 0; i + 1 < v->n; i += 2) {
        const struct config_node *key = v->items[i];

        for (k = 0; keys[k] != NULL; k++) {
            if (strcmp(keys[k], key->str) == 0) {
                break;
            }
        }
        if (keys[k] == NULL) {
            cv_err(cv, key, path, "unknown key%s",
                   cv_show(key->str, show, sizeof(show)));
            continue;
        }
        for (j = 0; j < i; j += 2) {
            if (strcmp(v->items[j]->str, key->str) == 0) {
                cv_err(cv, key, path, "duplicate key '%s' (first at %lu:%lu)",
                       keys[k], v->items[j]->line, v->items[j]->col);
                break;
            }
        }
    }
    return 0;
}

/* The key node of key in map, or NULL. */
static const struct config_node *
cv_key_node(const struct config_node *map, const char *key)
{
    size_t i;

    for (i = 0; i + 1 < map->n; i += 2) {
        if (strcmp(map->items[i]->str, key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/* The value of a required key; reports it missing at the mapping. */
static const struct config_node *
cv_require(struct cv *cv, const struct config_node *map, const char *path,
           const char *key)
{
    const struct config_node *v = config_tree_get(map, key);

    if (v == NULL) {
        cv_err(cv, map, path, "missing required key '%s'", key);
    }
    return v;
}

static int
cv_list(struct cv *cv, const struct config_node *v, const char *path)
{
    if (v->kind != CONFIG_NODE_LIST) {
        cv_err(cv, v, path, "expected a list, got %s", cv_what(v));
        return -1;
    }
    return 0;
}

/* A non-empty string scalar; *out borrowed from the tree. */
static int
cv_str(struct cv *cv, const struct config_node *v, const char *path,
       const char **out)
{
    if (v->kind != CONFIG_NODE_SCALAR || cv_is_null(v) ||
        cv_bool_value(v) >= 0) {
        cv_err(cv, v, path, "expected a string, got %s", cv_what(v));
        return -1;
    }
    if (v->len == 0) {
        cv_err(cv, v, path, "must not be empty");
        return -1;
    }
    *out = v->str;
    return 0;
}

static char *
cv_dup(struct cv *cv, const struct config_node *v, const char *path,
       const char *s)
{
    char *d = strdup(s);

    if (d == NULL) {
        cv_err(cv, v, path, "out of memory");
    }
    return d;
}

static int
cv_bool(struct cv *cv, const struct config_node *v, const char *path, int *out)
{
    int b = cv_bool_value(v);

    if (b < 0) {
        cv_err(cv, v, path, "expected true or false, got %s", cv_what(v));
        return -1;
    }
    *out = b;
    return 0;
}

static int
cv_uint(struct cv *cv, const struct config_node *v, const char *path,
        uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t x;

    if (v->kind != CONFIG_NODE_SCALAR || !v->plain || cv_is_null(v) ||
        cv_bool_value(v) >= 0) {
        cv_err(cv, v, path, "expected an integer, got %s", cv_what(v));
        return -1;
    }
    if (config_value_uint(v->str, max, &x) != 0 || x < min) {
        cv_err(cv, v, path, "must be an integer from %llu to %llu",
               (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

static int
cv_duration(struct cv *cv, const struct config_node *v, const char *path,
            uint64_t *out)
{
    const char *s, *why;
    char show[CV_SHOW_MAX + 8];

    if (cv_str(cv, v, path, &s) != 0) {
        return -1;
    }
    if (config_parse_duration(s, v->len, out, &why) != 0) {
        cv_err(cv, v, path, "bad duration%s: %s",
               cv_show(s, show, sizeof(show)), why);
        return -1;
    }
    return 0;
}

/* One of names (NULL-terminated); *out its index. */
static int
cv_enum(struct cv *cv, const struct config_node *v, const char *path,
        const char *const *names, int *out)
{
    const char *s;
    char show[CV_SHOW_MAX + 8], list[256];
    size_t i, n = 0;

    if (cv_str(cv, v, path, &s) != 0) {
        return -1;
    }
    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    list[0] = '\0';
    for (i = 0; names[i] != NULL; i++) {
        int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                         names[i]);
        if (w < 0 || (size_t)w >= sizeof(list) - n) {
            break;
        }
        n += (size_t)w;
    }
    cv_err(cv, v, path, "must be one of %s, not%s", list,
           cv_safe(s) ? cv_show(s, show, sizeof(show)) : " this value");
    return -1;
}

/* s made absolute against the config's directory (new), or NULL (OOM). */
static char *
cv_resolve(const struct cv *cv, const char *s)
{
    size_t n;
    char *out;

    if (s[0] == '/' || cv->base_dir == NULL) {
        return strdup(s);
    }
    n = strlen(cv->base_dir) + 1 + strlen(s) + 1;
    out = malloc(n);
    if (out != NULL) {
        (void)snprintf(out, n, "%s/%s", cv->base_dir, s);
    }
    return out;
}

static int
cv_path(struct cv *cv, const struct config_node *v, const char *path,
        char **out)
{
    const char *s;

    if (cv_str(cv, v, path, &s) != 0) {
        return -1;
    }
    *out = cv_resolve(cv, s);
    if (*out == NULL) {
        cv_err(cv, v, path, "out of memory");
        return -1;
    }
    if (strlen(*out) >= PATH_MAX) {
        cv_err(cv, v, path, "path longer than %d bytes", PATH_MAX - 1);
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Read the secret file named by "file:PATH" (p points at PATH). */
static int
cv_secret_file(struct cv *cv, const struct config_node *v, const char *path,
               const char *p, char **out)
{
    char buf[CONFIG_MAX_STRING + 3], shown[256];
    char *full;
    size_t n = 0;
    ssize_t r;
    struct stat st;
    int fd, rc = -1;

    if (p[0] == '\0') {
        cv_err(cv, v, path, "file: needs a path to the secret file");
        return -1;
    }
    full = cv_resolve(cv, p);
    if (full == NULL) {
        cv_err(cv, v, path, "out of memory");
        return -1;
    }
    cv_clean_path(full, shown, sizeof(shown));
    fd = open(full, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cv_err(cv, v, path, "cannot read secret file '%s': %s", shown,
               strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cv_err(cv, v, path, "secret file '%s' is not a regular file", shown);
        goto done;
    }
    while (n < sizeof(buf)) {
        r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            cv_err(cv, v, path, "cannot read secret file '%s': %s", shown,
                   strerror(errno));
            goto done;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }
    if (n > CONFIG_MAX_STRING) {
        cv_err(cv, v, path, "secret file '%s' is larger than %d bytes", shown,
               CONFIG_MAX_STRING);
        goto done;
    }
    if (n == 0) {
        cv_err(cv, v, path, "secret file '%s' is empty", shown);
        goto done;
    }
    if (memchr(buf, '\0', n) != NULL) {
        cv_err(cv, v, path, "secret file '%s' contains a NUL byte", shown);
        goto done;
    }
    *out = strndup(buf, n);
    if (*out == NULL) {
        cv_err(cv, v, path, "out of memory");
        goto done;
    }
    rc = 0;
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    if (fd >= 0) {
        close(fd);
    }
    free(full);
    return rc;
}

/* Expand ${NAME} references in s.  Reports every missing variable. */
static int
cv_secret_env(struct cv *cv, const struct config_node *v, const char *path,
              const char *s, char **out)
{
    char buf[CONFIG_MAX_STRING + 1], name[CV_VAR_MAX + 1];
    size_t i = 0, n = 0, k;
    int bad = 0, toolong = 0;

    while (s[i] != '\0') {
        const char *val, *end;

        if (s[i] != '$' || s[i + 1] != '{') {
            if (n < CONFIG_MAX_STRING) {
                buf[n++] = s[i];
            } else {
                toolong = 1;
            }
            i++;
            continue;
        }
        end = strchr(s + i + 2, '}');
        k = end ? (size_t)(end - (s + i + 2)) : 0;
        if (end == NULL || k == 0 || k > CV_VAR_MAX) {
            cv_err(cv, v, path, "malformed ${NAME} reference");
            bad = 1;
            break;
        }
        memcpy(name, s + i + 2, k);
        name[k] = '\0';
        if (!cv_safe(name) || strchr(name, '.') != NULL ||
            strchr(name, '-') != NULL || (name[0] >= '0' && name[0] <= '9')) {
            cv_err(cv, v, path,
                   "malformed ${NAME} reference (NAME is letters, digits, "
                   "'_')");
            bad = 1;
            break;
        }
        val = getenv(name);
        if (val == NULL) {
            cv_err(cv, v, path, "environment variable %s is not set", name);
            bad = 1;
        } else {
            size_t vl = strlen(val);
            if (vl > CONFIG_MAX_STRING - n) {
                toolong = 1;
            } else {
                memcpy(buf + n, val, vl);
                n += vl;
            }
        }
        i = (size_t)(end - s) + 1;
    }
    if (!bad && toolong) {
        cv_err(cv, v, path, "value longer than %d bytes after expansion",
               CONFIG_MAX_STRING);
        bad = 1;
    }
    if (!bad && n == 0) {
        cv_err(cv, v, path, "value is empty after ${NAME} expansion");
        bad = 1;
    }
    if (!bad) {
        *out = strndup(buf, n);
        if (*out == NULL) {
            cv_err(cv, v, path, "out of memory");
            bad = 1;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return bad ? -1 : 0;
}

/* A secret value: file:PATH, or a string with ${NAME} references. */
static int
cv_secret(struct cv *cv, const struct config_node *v, const char *path,
          char **out)
{
    const char *s;

    if (cv_str(cv, v, path, &s) != 0) {
        return -1;
    }
    if (strncmp(s, "file:", 5) == 0) {
        return cv_secret_file(cv, v, path, s + 5, out);
    }
    return cv_secret_env(cv, v, path, s, out);
}

/* A URL; secret: the value is a secret (expanded, never shown). */
static int
cv_url(struct cv *cv, const struct config_node *v, const char *path, int secret,
       char **out)
{
    const char *s, *why;
    char *u;
    size_t n;

    if (secret) {
        if (cv_secret(cv, v, path, &u) != 0) {
            return -1;
        }
    } else {
        if (cv_str(cv, v, path, &s) != 0) {
            return -1;
        }
        u = cv_dup(cv, v, path, s);
        if (u == NULL) {
            return -1;
        }
    }
    if (config_value_url(u, &why) != 0) {
        cv_err(cv, v, path, "%s", why);
        if (secret) {
            free_secret(u);
        } else {
            free(u);
        }
        return -1;
    }
    if (!secret) {
        n = strlen(u);
        while (n > 0 && u[n - 1] == '/') {
            u[--n] = '\0';
        }
    }
    *out = u;
    return 0;
}

static int
cv_name(struct cv *cv, const struct config_node *v, const char *path,
        char **out)
{
    const char *s, *why;

    if (cv_str(cv, v, path, &s) != 0) {
        return -1;
    }
    if (config_value_name(s, &why) != 0) {
        cv_err(cv, v, path, "%s", why);
        return -1;
    }
    *out = cv_dup(cv, v, path, s);
    return *out ? 0 : -1;
}

/* Per-item checks of string lists. */
static int
check_workflow(const char *s, const char **why)
{
    static const char prefix[] = ".github/workflows/";

    if (strncmp(s, prefix, sizeof(prefix) - 1) != 0 ||
        s[sizeof(prefix) - 1] == '\0' || strpbrk(s, " \t@") != NULL) {
        *why = "a workflow is its path in the repository, e.g. "
               ".github/workflows/build.yml";
        return -1;
    }
    return 0;
}

static int
check_ref(const char *s, const char **why)
{
    size_t i;

    if (strncmp(s, "refs/", 5) != 0 || s[5] == '\0') {
        *why = "a ref is a full git ref or glob, e.g. refs/heads/main or "
               "refs/tags/v*";
        return -1;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f) {
            *why = "a ref contains no spaces or control characters";
            return -1;
        }
    }
    return 0;
}

static int
check_trigger(const char *s, const char **why)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_') || i >= 64) {
            *why = "a trigger is a GitHub event name, e.g. push or "
                   "workflow_dispatch";
            return -1;
        }
    }
    return 0;
}

static int
cv_strings(struct cv *cv, const struct config_node *v, const char *path,
           int (*check)(const char *, const char **),
           struct config_strings *out)
{
    size_t i;
    char p[CV_PATH_MAX];
    const char *s, *why;

    if (cv_list(cv, v, path) != 0) {
        return -1;
    }
    out->set = 1;
    out->v = calloc(v->n ? v->n : 1, sizeof(*out->v));
    if (out->v == NULL) {
        cv_err(cv, v, path, "out of memory");
        return -1;
    }
    for (i = 0; i < v->n; i++) {
        cv_index(p, sizeof(p), path, i);
        if (cv_str(cv, v->items[i], p, &s) != 0) {
            continue;
        }
        if (check(s, &why) != 0) {
            cv_err(cv, v->items[i], p, "%s", why);
            continue;
        }
        out->v[out->n] = cv_dup(cv, v->items[i], p, s);
        if (out->v[out->n] != NULL) {
            out->n++;
        }
    }
    return 0;
}

/* start: and discovered_start: 'latest' or a log index. */
static void
cv_start(struct cv *cv, const struct config_node *n, const char *p, int *latest,
         uint64_t *index)
{
    if (n->kind == CONFIG_NODE_SCALAR && strcmp(n->str, "latest") == 0) {
        *latest = 1;
    } else if (n->kind == CONFIG_NODE_SCALAR && n->len > 0 &&
               strspn(n->str, "0123456789") == n->len) {
        if (config_value_uint(n->str, UINT64_MAX, index) != 0) {
            cv_err(cv, n, p, "log index out of range");
        }
        *latest = 0;
    } else {
        char show[CV_SHOW_MAX + 8];
        cv_err(
            cv, n, p, "must be 'latest' or a non-negative log index, not%s%s",
            n->kind == CONFIG_NODE_SCALAR && cv_safe(n->str)
                ? cv_show(n->str, show, sizeof(show))
                : " ",
            n->kind == CONFIG_NODE_SCALAR && cv_safe(n->str) ? "" : cv_what(n));
    }
}

static void
cv_log(struct cv *cv, const struct config_node *v, const char *path,
       struct config_log *l)
{
    const struct config_node *n;
    char p[CV_PATH_MAX];
    uint64_t x;
    int kind;

    l->pos.line = v->line;
    l->pos.col = v->col;
    l->kind = CONFIG_LOG_REKOR_V1;
    l->poll_interval_ms = CONFIG_DEFAULT_POLL_INTERVAL_MS;
    l->start_latest = 1;
    l->max_concurrency = CONFIG_DEFAULT_MAX_CONCURRENCY;
    l->stale_after_ms = CONFIG_DEFAULT_STALE_AFTER_MS;
    l->unreachable_after_ms = CONFIG_DEFAULT_UNREACHABLE_AFTER_MS;
    l->withhold_after_ms = CONFIG_DEFAULT_WITHHOLD_AFTER_MS;
    if (cv_map(cv, v, path, log_keys) != 0) {
        return;
    }
    if ((n = cv_require(cv, v, path, "name")) != NULL) {
        cv_join(p, sizeof(p), path, "name");
        (void)cv_name(cv, n, p, &l->name);
    }
    if ((n = cv_require(cv, v, path, "url")) != NULL) {
        cv_join(p, sizeof(p), path, "url");
        (void)cv_url(cv, n, p, 0, &l->url);
    }
    if ((n = config_tree_get(v, "kind")) != NULL) {
        cv_join(p, sizeof(p), path, "kind");
        if (cv_enum(cv, n, p, log_kind_names, &kind) == 0) {
            l->kind = (enum config_log_kind)kind;
        }
    }
    if ((n = config_tree_get(v, "poll_interval")) != NULL) {
        cv_join(p, sizeof(p), path, "poll_interval");
        (void)cv_duration(cv, n, p, &l->poll_interval_ms);
    }
    if ((n = config_tree_get(v, "stale_after")) != NULL) {
        cv_join(p, sizeof(p), path, "stale_after");
        (void)cv_duration(cv, n, p, &l->stale_after_ms);
    }
    if ((n = config_tree_get(v, "unreachable_after")) != NULL) {
        cv_join(p, sizeof(p), path, "unreachable_after");
        (void)cv_duration(cv, n, p, &l->unreachable_after_ms);
    }
    if ((n = config_tree_get(v, "withhold_after")) != NULL) {
        cv_join(p, sizeof(p), path, "withhold_after");
        if (cv_duration(cv, n, p, &l->withhold_after_ms) == 0 &&
            l->withhold_after_ms < CONFIG_MIN_WITHHOLD_AFTER_MS) {
            cv_err(cv, n, p, "must be at least 10s");
        }
    }
    if ((n = config_tree_get(v, "max_concurrency")) != NULL) {
        cv_join(p, sizeof(p), path, "max_concurrency");
        if (cv_uint(cv, n, p, 1, CONFIG_MAX_CONCURRENCY, &x) == 0) {
            l->max_concurrency = (unsigned)x;
        }
    }
    if ((n = config_tree_get(v, "start")) != NULL) {
        cv_join(p, sizeof(p), path, "start");
        cv_start(cv, n, p, &l->start_latest, &l->start_index);
    }
}

static void
cv_pcr_set(struct cv *cv, const struct config_node *v, const char *path,
           struct config_pcr_set *set)
{
    size_t i, k;
    char p[CV_PATH_MAX];
    const char *s, *why;

    if (cv_map(cv, v, path, pcr_names) != 0) {
        return;
    }
    for (i = 0; i + 1 < v->n; i += 2) {
        for (k = 0; pcr_names[k] != NULL; k++) {
            if (strcmp(pcr_names[k], v->items[i]->str) == 0) {
                break;
            }
        }
        if (pcr_names[k] == NULL) {
            continue; /* reported by cv_map */
        }
        cv_join(p, sizeof(p), path, pcr_names[k]);
        if (cv_str(cv, v->items[i + 1], p, &s) != 0) {
            continue;
        }
        if (config_value_pcr_hex(s, v->items[i + 1]->len, &why) != 0) {
            cv_err(cv, v->items[i + 1], p, "%s", why);
            continue;
        }
        {
            size_t j;
            for (j = 0; j < CONFIG_PCR_HEX_LEN; j++) {
                char c = s[j];
                set->hex[k][j] = (c >= 'A' && c <= 'F') ? (char)(c + 32) : c;
            }
            set->hex[k][CONFIG_PCR_HEX_LEN] = '\0';
        }
        set->present |= 1u << k;
    }
    if (v->n == 0) {
        cv_err(cv, v, path,
               "a PCR set names at least one of PCR0, PCR1, PCR2, PCR8");
    }
}

static void
cv_pcrs(struct cv *cv, const struct config_node *v, const char *path,
        struct config_pcrs *pc)
{
    const struct config_node *n;
    char p[CV_PATH_MAX], q[CV_PATH_MAX];
    const char *s, *why;
    size_t i;

    pc->lookup_timeout_ms = CONFIG_DEFAULT_LOOKUP_TIMEOUT_MS;
    if (cv_map(cv, v, path, pcrs_keys) != 0) {
        return;
    }
    pc->enabled = 1;
    if ((n = cv_require(cv, v, path, "registry")) != NULL) {
        cv_join(p, sizeof(p), path, "registry");
        if (cv_str(cv, n, p, &s) == 0 &&
            config_value_registry(s, &pc->registry_host,
                                  &pc->registry_repository,
                                  &pc->registry_plain_http, &why) != 0) {
            cv_err(cv, n, p, "%s", why);
        }
    }
    if ((n = config_tree_get(v, "credentials")) != NULL) {
        cv_join(p, sizeof(p), path, "credentials");
        (void)cv_secret(cv, n, p, &pc->credentials);
    }
    if ((n = config_tree_get(v, "lookup_timeout")) != NULL) {
        cv_join(p, sizeof(p), path, "lookup_timeout");
        (void)cv_duration(cv, n, p, &pc->lookup_timeout_ms);
    }
    if ((n = cv_require(cv, v, path, "allow")) != NULL) {
        cv_join(p, sizeof(p), path, "allow");
        if (cv_list(cv, n, p) != 0) {
            return;
        }
        if (n->n == 0) {
            cv_err(cv, n, p, "at least one allowed PCR set is required");
            return;
        }
        pc->allow = calloc(n->n, sizeof(*pc->allow));
        if (pc->allow == NULL) {
            cv_err(cv, n, p, "out of memory");
            return;
        }
        pc->n_allow = n->n;
        for (i = 0; i < n->n; i++) {
            cv_index(q, sizeof(q), p, i);
            cv_pcr_set(cv, n->items[i], q, &pc->allow[i]);
        }
    }
}

static void
cv_allow(struct cv *cv, const struct config_node *v, const char *path,
         struct config_watch *w)
{
    const struct config_node *n;
    char p[CV_PATH_MAX], q[CV_PATH_MAX];
    size_t i;
    int r;

    if (cv_map(cv, v, path, allow_keys) != 0) {
        return;
    }
    if ((n = config_tree_get(v, "workflows")) != NULL) {
        cv_join(p, sizeof(p), path, "workflows");
        (void)cv_strings(cv, n, p, check_workflow, &w->workflows);
    }
    if ((n = config_tree_get(v, "refs")) != NULL) {
        cv_join(p, sizeof(p), path, "refs");
        (void)cv_strings(cv, n, p, check_ref, &w->refs);
    }
    if ((n = config_tree_get(v, "triggers")) != NULL) {
        cv_join(p, sizeof(p), path, "triggers");
        (void)cv_strings(cv, n, p, check_trigger, &w->triggers);
    }
    if ((n = config_tree_get(v, "runners")) != NULL) {
        cv_join(p, sizeof(p), path, "runners");
        if (cv_list(cv, n, p) != 0) {
            return;
        }
        w->runners = 0;
        for (i = 0; i < n->n; i++) {
            cv_index(q, sizeof(q), p, i);
            if (cv_enum(cv, n->items[i], q, runner_names, &r) == 0) {
                w->runners |= r == 0 ? CONFIG_RUNNER_GITHUB_HOSTED
                                     : CONFIG_RUNNER_SELF_HOSTED;
            }
        }
    }
}

static void
cv_watch(struct cv *cv, const struct config_node *v, const char *path,
         struct config_watch *w)
{
    const struct config_node *n;
    char p[CV_PATH_MAX];
    const char *s, *why;
    size_t i;

    w->pos.line = v->line;
    w->pos.col = v->col;
    w->runners = CONFIG_RUNNER_GITHUB_HOSTED;
    w->pcrs.lookup_timeout_ms = CONFIG_DEFAULT_LOOKUP_TIMEOUT_MS;
    w->unlogged_after_ms = CONFIG_DEFAULT_UNLOGGED_AFTER_MS;
    if (cv_map(cv, v, path, watch_keys) != 0) {
        return;
    }
    if ((n = cv_require(cv, v, path, "name")) != NULL) {
        cv_join(p, sizeof(p), path, "name");
        (void)cv_name(cv, n, p, &w->name);
    }
    if ((n = cv_require(cv, v, path, "repository")) != NULL) {
        cv_join(p, sizeof(p), path, "repository");
        if (cv_str(cv, n, p, &s) == 0) {
            if (config_value_repository(s, &why) != 0) {
                cv_err(cv, n, p, "%s", why);
            } else if ((w->repository = cv_dup(cv, n, p, s)) != NULL) {
                for (i = 0; w->repository[i] != '\0'; i++) {
                    char c = w->repository[i];
                    if (c >= 'A' && c <= 'Z') {
                        w->repository[i] = (char)(c + 32);
                    }
                }
            }
        }
    }
    if ((n = config_tree_get(v, "repository_id")) != NULL) {
        cv_join(p, sizeof(p), path, "repository_id");
        if (cv_str(cv, n, p, &s) == 0) {
            if (strspn(s, "0123456789") != n->len || n->len > 20) {
                cv_err(cv, n, p,
                       "must be GitHub's numeric repository id (digits)");
            } else {
                w->repository_id = cv_dup(cv, n, p, s);
            }
        }
    }
    if ((n = config_tree_get(v, "issuer")) != NULL) {
        cv_join(p, sizeof(p), path, "issuer");
        (void)cv_url(cv, n, p, 0, &w->issuer);
    }
    if ((n = config_tree_get(v, "allow")) != NULL) {
        cv_join(p, sizeof(p), path, "allow");
        cv_allow(cv, n, p, w);
    }
    if ((n = config_tree_get(v, "pcrs")) != NULL) {
        cv_join(p, sizeof(p), path, "pcrs");
        cv_pcrs(cv, n, p, &w->pcrs);
    }
    if ((n = config_tree_get(v, "record_expected")) != NULL) {
        cv_join(p, sizeof(p), path, "record_expected");
        (void)cv_bool(cv, n, p, &w->record_expected);
    }
    if ((n = config_tree_get(v, "unlogged_after")) != NULL) {
        cv_join(p, sizeof(p), path, "unlogged_after");
        if (cv_duration(cv, n, p, &w->unlogged_after_ms) == 0 &&
            (w->unlogged_after_ms < CONFIG_MIN_UNLOGGED_AFTER_MS ||
             w->unlogged_after_ms > CONFIG_MAX_UNLOGGED_AFTER_MS)) {
            cv_err(cv, n, p, "must be between 5s and 7d");
        }
    }
}

/* Which sink types a type-specific key applies to, as bits. */
static unsigned
sink_key_types(const char *key)
{
    if (strcmp(key, "url") == 0) {
        return 1u << CONFIG_SINK_SLACK | 1u << CONFIG_SINK_WEBHOOK |
               1u << CONFIG_SINK_ALERTMANAGER | 1u << CONFIG_SINK_PAGERDUTY |
               1u << CONFIG_SINK_EMAIL;
    }
    if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0 ||
        strcmp(key, "username") == 0 || strcmp(key, "password") == 0 ||
        strcmp(key, "ca_file") == 0 || strcmp(key, "tls") == 0) {
        return 1u << CONFIG_SINK_EMAIL;
    }
    if (strcmp(key, "routing_key") == 0) {
        return 1u << CONFIG_SINK_PAGERDUTY;
    }
    if (strcmp(key, "repository") == 0 || strcmp(key, "token") == 0 ||
        strcmp(key, "labels") == 0 || strcmp(key, "api_url") == 0) {
        return 1u << CONFIG_SINK_GITHUB_ISSUE;
    }
    if (strcmp(key, "secret") == 0 || strcmp(key, "signing") == 0) {
        return 1u << CONFIG_SINK_WEBHOOK;
    }
    if (strcmp(key, "command") == 0 || strcmp(key, "timeout") == 0) {
        return 1u << CONFIG_SINK_EXEC;
    }
    if (strcmp(key, "format") == 0) {
        return 1u << CONFIG_SINK_WEBHOOK | 1u << CONFIG_SINK_EXEC |
               1u << CONFIG_SINK_STDOUT;
    }
    if (strcmp(key, "resolve_after") == 0) {
        return 1u << CONFIG_SINK_ALERTMANAGER;
    }
    return ~0u;
}

/* A GitHub label: 1 to 50 characters, no comma (the API's list
 * separator) and no control byte. */
static int
check_label(const char *s, const char **why)
{
    size_t i, n = strlen(s);

    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == ',' || s[i] == 0x7f) {
            *why = "a label has no comma or control character";
            return -1;
        }
    }
    if (n > 50) {
        *why = "a label is at most 50 characters";
        return -1;
    }
    return 0;
}

/* Is s a Standard Webhooks secret: "whsec_" then standard base64 of
 * 24 to 64 bytes (the specification's range)? */
static int
cv_whsec_ok(const char *s)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n, pad = 0, i, bytes;

    if (strncmp(s, "whsec_", 6) != 0) {
        return 0;
    }
    s += 6;
    n = strlen(s);
    if (n == 0 || n % 4 != 0) {
        return 0;
    }
    while (pad < 2 && s[n - 1 - pad] == '=') {
        pad++;
    }
    for (i = 0; i < n - pad; i++) {
        if (strchr(b64, s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }
    bytes = n / 4 * 3 - pad;
    return bytes >= 24 && bytes <= 64;
}

/* The webhook secret: one value, or (signing: standard) a list of 1 to
 * CONFIG_MAX_SECRETS, the first signing. */
static void
cv_sink_secret(struct cv *cv, const struct config_node *n, const char *p,
               struct config_sink *k)
{
    char ip[CV_PATH_MAX];
    size_t i;

    if (n->kind != CONFIG_NODE_LIST) {
        if (cv_secret(cv, n, p, &k->secret) == 0 &&
            k->signing == CONFIG_SIGNING_STANDARD && !cv_whsec_ok(k->secret)) {
            cv_err(cv, n, p,
                   "signing: standard needs a whsec_ secret: whsec_ then "
                   "base64 of 24 to 64 bytes");
        }
        return;
    }
    if (k->signing != CONFIG_SIGNING_STANDARD) {
        cv_err(cv, n, p, "a list of secrets needs signing: standard");
        return;
    }
    if (n->n == 0 || n->n > CONFIG_MAX_SECRETS) {
        cv_err(cv, n, p, "must list 1 to %d secrets", CONFIG_MAX_SECRETS);
        return;
    }
    k->secrets_more = calloc(n->n, sizeof(char *));
    if (k->secrets_more == NULL) {
        cv_err(cv, n, p, "out of memory");
        return;
    }
    k->n_secrets_more = n->n - 1;
    for (i = 0; i < n->n; i++) {
        char **slot = i == 0 ? &k->secret : &k->secrets_more[i - 1];
        (void)snprintf(ip, sizeof(ip), "%s[%zu]", p, i);
        if (cv_secret(cv, n->items[i], ip, slot) != 0) {
            continue;
        }
        if (!cv_whsec_ok(*slot)) {
            cv_err(cv, n->items[i], ip,
                   "signing: standard needs a whsec_ secret: whsec_ then "
                   "base64 of 24 to 64 bytes");
        }
    }
}

/* ca_file must hold a PEM certificate now (libcurl reads it again at
 * each delivery). */
static void
cv_ca_file(struct cv *cv, const struct config_node *n, const char *p,
           const char *file)
{
    char shown[256];
    FILE *f;
    X509 *x = NULL;
    int e;

    f = fopen(file, "r");
    e = errno;
    if (f != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    ERR_clear_error();
    if (x == NULL) {
        cv_clean_path(file, shown, sizeof(shown));
        cv_err(cv, n, p, "%s: %s", shown,
               f == NULL ? strerror(e) : "no PEM certificate");
    }
    X509_free(x);
}

static int
check_email(const char *s, const char **why)
{
    return config_value_email(s, why);
}

/* The email sink's keys: url (smtps://, or smtp:// with STARTTLS always
 * required), from, to, username and password (both or neither), ca_file
 * (a readable PEM file of CA certificates). */
static void
cv_sink_email(struct cv *cv, const struct config_node *v, const char *path,
              struct config_sink *k)
{
    const struct config_node *n, *un, *pn;
    char p[CV_PATH_MAX];
    const char *s, *why;

    if ((n = cv_require(cv, v, path, "url")) != NULL) {
        /* Like every sink URL, it may come from ${NAME} or file:PATH. */
        char *u = NULL;
        cv_join(p, sizeof(p), path, "url");
        if (cv_secret(cv, n, p, &u) == 0) {
            if (config_value_smtp_url(u, &why) != 0) {
                cv_err(cv, n, p, "%s", why);
                free_secret(u);
            } else {
                k->url = u;
            }
        }
    }
    if ((n = cv_require(cv, v, path, "from")) != NULL) {
        cv_join(p, sizeof(p), path, "from");
        if (cv_str(cv, n, p, &s) == 0) {
            if (config_value_email(s, &why) != 0) {
                cv_err(cv, n, p, "%s", why);
            } else {
                k->from = cv_dup(cv, n, p, s);
            }
        }
    }
    if ((n = cv_require(cv, v, path, "to")) != NULL) {
        cv_join(p, sizeof(p), path, "to");
        if (cv_strings(cv, n, p, check_email, &k->to) == 0 &&
            (n->n == 0 || n->n > CONFIG_MAX_RECIPIENTS)) {
            cv_err(cv, n, p, "must list 1 to %d addresses",
                   CONFIG_MAX_RECIPIENTS);
        }
    }
    un = config_tree_get(v, "username");
    pn = config_tree_get(v, "password");
    if ((un == NULL) != (pn == NULL)) {
        cv_err(cv, cv_key_node(v, un != NULL ? "username" : "password"), path,
               "username and password go together");
    }
    if (un != NULL) {
        cv_join(p, sizeof(p), path, "username");
        if (cv_secret(cv, un, p, &k->username) == 0 &&
            strpbrk(k->username, "\r\n") != NULL) {
            cv_err(cv, un, p, "a username has no line break");
        }
    }
    if (pn != NULL) {
        cv_join(p, sizeof(p), path, "password");
        if (cv_secret(cv, pn, p, &k->secret) == 0 &&
            strpbrk(k->secret, "\r\n") != NULL) {
            cv_err(cv, pn, p, "a password has no line break");
        }
    }
    if ((n = config_tree_get(v, "ca_file")) != NULL) {
        cv_join(p, sizeof(p), path, "ca_file");
        if (cv_path(cv, n, p, &k->ca_file) == 0) {
            cv_ca_file(cv, n, p, k->ca_file);
        }
    }
    /* tls: required (the default) or none: plain SMTP to a relay on this
     * machine (a local MTA without a certificate), and nowhere else. */
    if ((n = config_tree_get(v, "tls")) != NULL) {
        static const char *const tls_names[] = {"required", "none", NULL};
        int e;

        cv_join(p, sizeof(p), path, "tls");
        if (cv_enum(cv, n, p, tls_names, &e) != 0 || e == 0) {
            return;
        }
        k->plain = 1;
        if (k->url != NULL && config_value_smtp_plain_ok(k->url, &why) != 0) {
            cv_err(cv, n, p, "%s", why);
        }
        if (un != NULL) {
            cv_err(cv, n, p,
                   "tls: none with username and password: credentials are "
                   "never sent without TLS");
        }
        if (config_tree_get(v, "ca_file") != NULL) {
            cv_err(cv, n, p,
                   "tls: none with a ca_file: there is no TLS to "
                   "trust it for");
        }
    }
}

static void
cv_sink(struct cv *cv, const struct config_node *v, const char *path,
        struct config_sink *k)
{
    static const char *const specific[] = {
        "url",      "secret",        "command",     "timeout",    "format",
        "signing",  "resolve_after", "routing_key", "repository", "token",
        "labels",   "api_url",       "from",        "to",         "username",
        "password", "ca_file",       "tls",         NULL};
    const struct config_node *n;
    char p[CV_PATH_MAX];
    const char *s;
    size_t i;
    int t = -1, sev, e;

    k->pos.line = v->line;
    k->pos.col = v->col;
    k->min_severity = CONFIG_SEVERITY_INFO;
    if (cv_map(cv, v, path, sink_keys) != 0) {
        return;
    }
    if ((n = cv_require(cv, v, path, "name")) != NULL) {
        cv_join(p, sizeof(p), path, "name");
        (void)cv_name(cv, n, p, &k->name);
    }
    if ((n = cv_require(cv, v, path, "type")) != NULL) {
        cv_join(p, sizeof(p), path, "type");
        if (cv_enum(cv, n, p, sink_type_names, &t) == 0) {
            k->type = (enum config_sink_type)t;
        }
    }
    if ((n = config_tree_get(v, "min_severity")) != NULL) {
        cv_join(p, sizeof(p), path, "min_severity");
        if (cv_enum(cv, n, p, severity_names, &sev) == 0) {
            k->min_severity = (enum config_severity)sev;
        }
    }
    if (t < 0) {
        return; /* the type-specific keys cannot be judged */
    }
    for (i = 0; specific[i] != NULL; i++) {
        const struct config_node *key = cv_key_node(v, specific[i]);
        if (key != NULL && !(sink_key_types(specific[i]) & (1u << t))) {
            cv_err(cv, key, path, "key '%s' does not apply to type %s",
                   specific[i], sink_type_names[t]);
        }
    }
    if (k->type == CONFIG_SINK_SLACK || k->type == CONFIG_SINK_WEBHOOK ||
        k->type == CONFIG_SINK_ALERTMANAGER) {
        if ((n = cv_require(cv, v, path, "url")) != NULL) {
            cv_join(p, sizeof(p), path, "url");
            if (cv_url(cv, n, p, 1, &k->url) == 0 &&
                k->type == CONFIG_SINK_ALERTMANAGER &&
                strpbrk(k->url, "?#") != NULL) {
                /* /api/v2/alerts is appended to it. */
                cv_err(cv, n, p,
                       "an Alertmanager URL is its base URL, without a "
                       "query or fragment");
            }
        }
    }
    if (k->type == CONFIG_SINK_GITHUB_ISSUE) {
        if ((n = config_tree_get(v, "api_url")) != NULL) {
            cv_join(p, sizeof(p), path, "api_url");
            (void)cv_url(cv, n, p, 0, &k->url);
        } else {
            k->url = cv_dup(cv, v, path, CONFIG_DEFAULT_GITHUB_API_URL);
        }
        if ((n = cv_require(cv, v, path, "repository")) != NULL) {
            const char *why;
            cv_join(p, sizeof(p), path, "repository");
            if (cv_str(cv, n, p, &s) == 0) {
                if (config_value_repository(s, &why) != 0) {
                    cv_err(cv, n, p, "%s", why);
                } else {
                    k->repository = cv_dup(cv, n, p, s);
                }
            }
        }
        if ((n = cv_require(cv, v, path, "token")) != NULL) {
            cv_join(p, sizeof(p), path, "token");
            if (cv_secret(cv, n, p, &k->secret) == 0 &&
                strpbrk(k->secret, " \t\r\n") != NULL) {
                cv_err(cv, n, p, "a token has no blanks");
            }
        }
        if ((n = config_tree_get(v, "labels")) != NULL) {
            cv_join(p, sizeof(p), path, "labels");
            if (cv_strings(cv, n, p, check_label, &k->labels) == 0 &&
                k->labels.n > CONFIG_MAX_LABELS) {
                cv_err(cv, n, p, "at most %d labels", CONFIG_MAX_LABELS);
            }
        }
    }
    if (k->type == CONFIG_SINK_EMAIL) {
        cv_sink_email(cv, v, path, k);
    }
    if (k->type == CONFIG_SINK_PAGERDUTY) {
        if ((n = config_tree_get(v, "url")) != NULL) {
            cv_join(p, sizeof(p), path, "url");
            (void)cv_url(cv, n, p, 1, &k->url);
        } else {
            k->url = cv_dup(cv, v, path, CONFIG_DEFAULT_PAGERDUTY_URL);
        }
        if ((n = cv_require(cv, v, path, "routing_key")) != NULL) {
            cv_join(p, sizeof(p), path, "routing_key");
            if (cv_secret(cv, n, p, &k->secret) == 0 &&
                (strlen(k->secret) > 128 ||
                 strpbrk(k->secret, " \t\r\n\"\\") != NULL)) {
                cv_err(cv, n, p,
                       "a routing key is an integration key: at most 128 "
                       "characters, no blanks or quotes");
            }
        }
    }
    if ((n = config_tree_get(v, "format")) != NULL &&
        (sink_key_types("format") & (1u << t))) {
        cv_join(p, sizeof(p), path, "format");
        if (cv_enum(cv, n, p, sink_format_names, &e) == 0) {
            k->format = (enum config_sink_format)e;
        }
    }
    if (k->type == CONFIG_SINK_WEBHOOK &&
        (n = config_tree_get(v, "signing")) != NULL) {
        cv_join(p, sizeof(p), path, "signing");
        if (cv_enum(cv, n, p, sink_signing_names, &e) == 0) {
            k->signing = (enum config_sink_signing)e;
            if (config_tree_get(v, "secret") == NULL) {
                cv_err(cv, n, p, "signing needs a secret");
            }
        }
    }
    if (k->type == CONFIG_SINK_WEBHOOK &&
        (n = config_tree_get(v, "secret")) != NULL) {
        cv_join(p, sizeof(p), path, "secret");
        cv_sink_secret(cv, n, p, k);
    }
    if (k->type == CONFIG_SINK_ALERTMANAGER) {
        k->resolve_after_ms = CONFIG_DEFAULT_RESOLVE_AFTER_MS;
        if ((n = config_tree_get(v, "resolve_after")) != NULL) {
            cv_join(p, sizeof(p), path, "resolve_after");
            if (cv_duration(cv, n, p, &k->resolve_after_ms) == 0 &&
                k->resolve_after_ms < 60000) {
                cv_err(cv, n, p, "must be at least 1m");
            }
        }
    }
    if (k->type == CONFIG_SINK_EXEC) {
        k->timeout_ms = CONFIG_DEFAULT_EXEC_TIMEOUT_MS;
        if ((n = cv_require(cv, v, path, "command")) != NULL) {
            cv_join(p, sizeof(p), path, "command");
            if (cv_str(cv, n, p, &s) == 0) {
                if (strpbrk(s, " \t\r\n") != NULL) {
                    cv_err(cv, n, p,
                           "command is the path of an executable, without "
                           "arguments or spaces");
                } else {
                    (void)cv_path(cv, n, p, &k->command);
                }
            }
        }
        if ((n = config_tree_get(v, "timeout")) != NULL) {
            cv_join(p, sizeof(p), path, "timeout");
            (void)cv_duration(cv, n, p, &k->timeout_ms);
        }
    }
}

/* The name scalar of a list item, or NULL. */
static const struct config_node *
cv_item_name(const struct config_node *item)
{
    const struct config_node *n = config_tree_get(item, "name");

    return (n != NULL && n->kind == CONFIG_NODE_SCALAR && n->len > 0) ? n
                                                                      : NULL;
}

/* Report every item whose name repeats an earlier item's name. */
static void
cv_unique(struct cv *cv, const struct config_node *list, const char *section,
          const char *what)
{
    size_t i, j;
    char p[CV_PATH_MAX], show[CV_SHOW_MAX + 8];

    for (i = 0; i < list->n; i++) {
        const struct config_node *a = cv_item_name(list->items[i]);
        if (a == NULL) {
            continue;
        }
        for (j = 0; j < i; j++) {
            const struct config_node *b = cv_item_name(list->items[j]);
            if (b != NULL && strcmp(a->str, b->str) == 0) {
                (void)snprintf(p, sizeof(p), "%s[%zu].name", section, i);
                cv_err(cv, a, p, "duplicate %s name%s (first at %lu:%lu)", what,
                       cv_show(a->str, show, sizeof(show)), b->line, b->col);
                break;
            }
        }
    }
}

/* Sink references (heartbeat.notify, report.notify) by name into indexes
 * of the notify list node sinks (may be NULL: no sinks). */
static void
cv_refs(struct cv *cv, const struct config_node *v, const char *path,
        const struct config_node *sinks, struct config_sink_refs *out)
{
    size_t i, j;
    char p[CV_PATH_MAX], show[CV_SHOW_MAX + 8];
    const char *s;

    if (cv_list(cv, v, path) != 0) {
        return;
    }
    out->v = calloc(v->n ? v->n : 1, sizeof(*out->v));
    if (out->v == NULL) {
        cv_err(cv, v, path, "out of memory");
        return;
    }
    for (i = 0; i < v->n; i++) {
        size_t found = SIZE_MAX;

        cv_index(p, sizeof(p), path, i);
        if (cv_str(cv, v->items[i], p, &s) != 0) {
            continue;
        }
        for (j = 0;
             sinks != NULL && sinks->kind == CONFIG_NODE_LIST && j < sinks->n;
             j++) {
            const struct config_node *nm = cv_item_name(sinks->items[j]);
            if (nm != NULL && strcmp(nm->str, s) == 0) {
                found = j;
                break;
            }
        }
        if (found == SIZE_MAX) {
            cv_err(cv, v->items[i], p, "unknown sink%s (not in notify:)",
                   cv_show(s, show, sizeof(show)));
            continue;
        }
        for (j = 0; j < out->n; j++) {
            if (out->v[j] == found) {
                cv_err(cv, v->items[i], p, "sink%s is listed twice",
                       cv_show(s, show, sizeof(show)));
                break;
            }
        }
        if (j == out->n) {
            out->v[out->n++] = found;
        }
    }
}

static void
cv_heartbeat(struct cv *cv, const struct config_node *v,
             const struct config_node *sinks, struct config_heartbeat *h)
{
    const struct config_node *n;

    if (cv_map(cv, v, "heartbeat", heartbeat_keys) != 0) {
        return;
    }
    h->enabled = 1;
    if ((n = cv_require(cv, v, "heartbeat", "every")) != NULL) {
        (void)cv_duration(cv, n, "heartbeat.every", &h->every_ms);
    }
    if ((n = cv_require(cv, v, "heartbeat", "notify")) != NULL) {
        cv_refs(cv, n, "heartbeat.notify", sinks, &h->notify);
        if (n->kind == CONFIG_NODE_LIST && n->n == 0) {
            cv_err(cv, n, "heartbeat.notify", "at least one sink is required");
        }
    }
}

static void
cv_report(struct cv *cv, const struct config_node *v,
          const struct config_node *sinks, struct config_report *r)
{
    const struct config_node *n;

    if (cv_map(cv, v, "report", report_keys) != 0) {
        return;
    }
    if ((n = config_tree_get(v, "every")) != NULL) {
        (void)cv_duration(cv, n, "report.every", &r->every_ms);
    }
    if ((n = config_tree_get(v, "notify")) != NULL) {
        cv_refs(cv, n, "report.notify", sinks, &r->notify);
    }
    if ((n = config_tree_get(v, "dir")) != NULL) {
        (void)cv_path(cv, n, "report.dir", &r->dir);
    }
}

static void
cv_http(struct cv *cv, const struct config_node *v, struct config_http *h)
{
    const struct config_node *n, *t, *r;
    const char *s, *why;

    if (cv_map(cv, v, "http", http_keys) != 0) {
        return;
    }
    if ((n = config_tree_get(v, "listen")) != NULL &&
        cv_str(cv, n, "http.listen", &s) == 0) {
        if (config_value_listen(s, &h->host, &h->port, &why) != 0) {
            cv_err(cv, n, "http.listen", "%s", why);
        } else {
            h->listen = cv_dup(cv, n, "http.listen", s);
        }
    }
    if ((t = config_tree_get(v, "token")) != NULL &&
        cv_secret(cv, t, "http.token", &h->token) == 0 &&
        strlen(h->token) < CONFIG_MIN_TOKEN) {
        cv_err(cv, t, "http.token", "must be at least %d bytes",
               CONFIG_MIN_TOKEN);
    }
    if ((r = config_tree_get(v, "ready_lag")) != NULL) {
        (void)cv_uint(cv, r, "http.ready_lag", 0, INT64_MAX, &h->ready_lag);
    }
    /* Anyone who can reach a non-loopback address could read the status
     * (rules, repositories, alerts): a token is required there. */
    if (h->host != NULL && h->token == NULL &&
        !config_value_is_loopback(h->host, strlen(h->host))) {
        cv_err(cv, n, "http.listen",
               "a listen address that is not loopback requires http.token");
    }
}

/*
 * attestation: {root: PATH}: the trust anchor of the status server's POST
 * /api/v1/attestation instead of the AWS Nitro Enclaves root compiled in
 * (for tests).  The file must hold a PEM certificate now; the server
 * reads it again at each request.
 */
static void
cv_attestation(struct cv *cv, const struct config_node *v, char **root)
{
    const struct config_node *n;
    FILE *f;
    X509 *x = NULL;
    int e;

    if (cv_map(cv, v, "attestation", attestation_keys) != 0) {
        return;
    }
    if ((n = config_tree_get(v, "root")) == NULL ||
        cv_path(cv, n, "attestation.root", root) != 0) {
        return;
    }
    f = fopen(*root, "r");
    e = errno;
    if (f != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    ERR_clear_error();
    if (x == NULL) {
        cv_err(cv, n, "attestation.root", "%s: %s", *root,
               f == NULL ? strerror(e) : "no PEM certificate");
    }
    X509_free(x);
}

/*
 * A retention: a plain 0 (keep forever) or a duration of at least
 * CONFIG_MIN_RETENTION_MS (a typo such as 400m for 400d would delete
 * the evidence of the last 400 days).
 */
static void
cv_retention_one(struct cv *cv, const struct config_node *v, const char *path,
                 uint64_t *out)
{
    if (v->kind == CONFIG_NODE_SCALAR && v->plain && v->len == 1 &&
        v->str[0] == '0') {
        *out = 0;
        return;
    }
    if (cv_duration(cv, v, path, out) != 0) {
        return;
    }
    if (*out < CONFIG_MIN_RETENTION_MS) {
        cv_err(cv, v, path,
               "a retention must be at least 1d (a shorter one is "
               "too easy to lose evidence with); 0 keeps forever");
        *out = 0;
    }
}

/* ms as the shortest duration text that reads it back ("1d30m"). */
static void
cv_duration_text(uint64_t ms, char *out, size_t cap)
{
    static const struct {
        uint64_t ms;
        char unit;
    } units[] = {
        {86400000ULL, 'd'}, {3600000ULL, 'h'}, {60000ULL, 'm'}, {1000ULL, 's'}};
    size_t i, o = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof(units) / sizeof(units[0]) && o < cap; i++) {
        if (ms >= units[i].ms) {
            int k =
                snprintf(out + o, cap - o, "%llu%c",
                         (unsigned long long)(ms / units[i].ms), units[i].unit);
            if (k < 0) {
                break;
            }
            o += (size_t)k;
            ms %= units[i].ms;
        }
    }
    if (o < cap && ms > 0) {
        (void)snprintf(out + o, cap - o, "%llums", (unsigned long long)ms);
    } else if (out[0] == '\0') {
        (void)snprintf(out, cap, "0");
    }
}

/*
 * retention.signings against the watch rules: a CT certificate is
 * judged logged by a signing with its link id, so that signing must
 * still be stored when the certificate is read from the CT log, up to
 * its deadline (NotBefore + unlogged_after) and past it by however long
 * the CT log lags.  A retention shorter than the largest unlogged_after
 * plus CONFIG_RETENTION_CT_MARGIN_MS could prune it first and raise a
 * false signing.unlogged_certificate: refused.
 */
static void
cv_retention_ct(struct cv *cv, const struct config_node *n,
                const struct config *cfg)
{
    uint64_t need;
    const char *rule = NULL;
    uint64_t longest = 0;
    char have_s[32], need_s[32], ua_s[32];
    size_t i;

    if (cfg->retention.signings_ms == 0 || cfg->n_watch == 0) {
        return;
    }
    /* Only a CT log's certificates are judged: without one (explicit, or
     * one the trusted root may announce) there is nothing to protect. */
    for (i = 0; i < cfg->n_logs && cfg->logs[i].kind != CONFIG_LOG_CT; i++) {
    }
    if (i == cfg->n_logs && !cfg->logs_from_trusted_root) {
        return;
    }
    for (i = 0; i < cfg->n_watch; i++) {
        if (rule == NULL || cfg->watch[i].unlogged_after_ms > longest) {
            longest = cfg->watch[i].unlogged_after_ms;
            rule = cfg->watch[i].name;
        }
    }
    need = longest + CONFIG_RETENTION_CT_MARGIN_MS;
    if (cfg->retention.signings_ms >= need) {
        return;
    }
    cv_duration_text(cfg->retention.signings_ms, have_s, sizeof(have_s));
    cv_duration_text(need, need_s, sizeof(need_s));
    cv_duration_text(longest, ua_s, sizeof(ua_s));
    cv_err(cv, n, "retention.signings",
           "%s is shorter than watch rule %s's unlogged_after (%s) plus 1d: "
           "a certificate's Rekor signing could be pruned before the "
           "certificate seen in a CT log is judged (a false "
           "signing.unlogged_certificate); use at least %s, or 0",
           have_s, rule != NULL ? rule : "?", ua_s, need_s);
}

static void
cv_retention(struct cv *cv, const struct config_node *v,
             struct config_retention *r)
{
    const struct config_node *n;

    if (cv_map(cv, v, "retention", retention_keys) != 0) {
        return;
    }
    r->pos.line = v->line;
    r->pos.col = v->col;
    if ((n = config_tree_get(v, "checkpoints")) != NULL) {
        cv_retention_one(cv, n, "retention.checkpoints", &r->checkpoints_ms);
    }
    if ((n = config_tree_get(v, "alerts")) != NULL) {
        cv_retention_one(cv, n, "retention.alerts", &r->alerts_ms);
    }
    if ((n = config_tree_get(v, "signings")) != NULL) {
        cv_retention_one(cv, n, "retention.signings", &r->signings_ms);
    }
}

/* Validate the items of a top-level list section with fn. */
#define CV_SECTION(cv, node, name, arr, count, fn)                             \
    do {                                                                       \
        size_t i_;                                                             \
        char p_[CV_PATH_MAX];                                                  \
        if (cv_list((cv), (node), (name)) != 0) {                              \
            break;                                                             \
        }                                                                      \
        if ((node)->n == 0) {                                                  \
            break;                                                             \
        }                                                                      \
        (arr) = calloc((node)->n, sizeof(*(arr)));                             \
        if ((arr) == NULL) {                                                   \
            cv_err((cv), (node), (name), "out of memory");                     \
            break;                                                             \
        }                                                                      \
        (count) = (node)->n;                                                   \
        for (i_ = 0; i_ < (node)->n; i_++) {                                   \
            cv_index(p_, sizeof(p_), (name), i_);                              \
            fn((cv), (node)->items[i_], p_, &(arr)[i_]);                       \
        }                                                                      \
    } while (0)

static void
cv_root(struct cv *cv, const struct config_node *root, struct config *cfg)
{
    const struct config_node *n, *sinks;

    if (root->kind != CONFIG_NODE_MAP) {
        cv_err(cv, root, "",
               "the configuration must be a mapping (state:, logs:, ...), "
               "got %s",
               cv_what(root));
        return;
    }
    (void)cv_map(cv, root, "", root_keys);
    cfg->http.ready_lag = CONFIG_DEFAULT_READY_LAG;
    if ((n = config_tree_get(root, "state")) != NULL) {
        cfg->state_pos.line = n->line;
        cfg->state_pos.col = n->col;
        (void)cv_path(cv, n, "state", &cfg->state);
    }
    if ((n = config_tree_get(root, "trusted_root")) != NULL) {
        cfg->trusted_root_pos.line = n->line;
        cfg->trusted_root_pos.col = n->col;
        (void)cv_path(cv, n, "trusted_root", &cfg->trusted_root);
    }
    cfg->discovered_start_latest = 1;
    if ((n = config_tree_get(root, "logs_from_trusted_root")) != NULL) {
        (void)cv_bool(cv, n, "logs_from_trusted_root",
                      &cfg->logs_from_trusted_root);
    }
    if ((n = config_tree_get(root, "discovered_start")) != NULL) {
        cv_start(cv, n, "discovered_start", &cfg->discovered_start_latest,
                 &cfg->discovered_start_index);
    }
    n = cfg->logs_from_trusted_root ? config_tree_get(root, "logs")
                                    : cv_require(cv, root, "", "logs");
    if (n != NULL) {
        if (n->kind == CONFIG_NODE_LIST && n->n == 0 &&
            !cfg->logs_from_trusted_root) {
            cv_err(cv, n, "logs", "at least one log is required");
        }
        CV_SECTION(cv, n, "logs", cfg->logs, cfg->n_logs, cv_log);
        if (n->kind == CONFIG_NODE_LIST) {
            cv_unique(cv, n, "logs", "log");
        }
    }
    if ((n = config_tree_get(root, "watch")) != NULL) {
        CV_SECTION(cv, n, "watch", cfg->watch, cfg->n_watch, cv_watch);
        if (n->kind == CONFIG_NODE_LIST) {
            cv_unique(cv, n, "watch", "watch rule");
        }
    }
    sinks = config_tree_get(root, "notify");
    if (sinks != NULL) {
        CV_SECTION(cv, sinks, "notify", cfg->sinks, cfg->n_sinks, cv_sink);
        if (sinks->kind == CONFIG_NODE_LIST) {
            cv_unique(cv, sinks, "notify", "sink");
        }
    }
    if ((n = config_tree_get(root, "heartbeat")) != NULL) {
        cv_heartbeat(cv, n, sinks, &cfg->heartbeat);
    }
    if ((n = config_tree_get(root, "report")) != NULL) {
        cv_report(cv, n, sinks, &cfg->report);
    }
    if ((n = config_tree_get(root, "http")) != NULL) {
        cv_http(cv, n, &cfg->http);
    }
    if ((n = config_tree_get(root, "retention")) != NULL) {
        cv_retention(cv, n, &cfg->retention);
        if (n->kind == CONFIG_NODE_MAP &&
            (n = config_tree_get(n, "signings")) != NULL) {
            cv_retention_ct(cv, n, cfg);
        }
    }
    if ((n = config_tree_get(root, "attestation")) != NULL) {
        cv_attestation(cv, n, &cfg->attestation_root);
    }
}

/* Record an error at pos (0, 0: the file as a whole), like cv_err. */
static void cv_err_at(struct cv *cv, struct config_pos pos, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));

static void
cv_err_at(struct cv *cv, struct config_pos pos, const char *fmt, ...)
{
    char msg[CV_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cv->failed = 1;
    (void)config_errors_add(cv->errs, cv->file, pos.line, pos.col, "%s", msg);
}

/* config_check: the state file's directory exists and this process's
 * real user can create files in it; an existing state file is a regular
 * file it can read and write. */
static void
cv_check_state(struct cv *cv, const char *state, struct config_pos pos)
{
    char dir[PATH_MAX], show[PATH_MAX];
    const char *slash = strrchr(state, '/');
    const char *key = pos.line ? "state" : "state (default)";
    struct stat st;

    if (slash == NULL) {
        (void)snprintf(dir, sizeof(dir), ".");
    } else if (slash == state) {
        (void)snprintf(dir, sizeof(dir), "/");
    } else {
        (void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - state), state);
    }
    (void)cv_clean_path(dir, show, sizeof(show));
    if (stat(dir, &st) != 0) {
        cv_err_at(cv, pos,
                  "%s: directory %s: %s (create it, writable by "
                  "the user that runs tlogwatch)",
                  key, show, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        cv_err_at(cv, pos, "%s: %s is not a directory", key, show);
        return;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cv_err_at(cv, pos,
                  "%s: directory %s is not writable by this user "
                  "(uid %lu): %s",
                  key, show, (unsigned long)getuid(), strerror(errno));
        return;
    }
    (void)cv_clean_path(state, show, sizeof(show));
    if (stat(state, &st) != 0) {
        if (errno != ENOENT) {
            cv_err_at(cv, pos, "%s: %s: %s", key, show, strerror(errno));
        }
        return; /* absent: the daemon creates it */
    }
    if (!S_ISREG(st.st_mode)) {
        cv_err_at(cv, pos, "%s: %s is not a regular file", key, show);
    } else if (access(state, R_OK | W_OK) != 0) {
        cv_err_at(cv, pos,
                  "%s: %s is not readable and writable by this "
                  "user (uid %lu): %s",
                  key, show, (unsigned long)getuid(), strerror(errno));
    }
}

/* config_check: the trusted root loads. */
static void
cv_check_trusted_root(struct cv *cv, const char *path, struct config_pos pos)
{
    struct config_trusted_root *root;
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];

    err[0] = '\0';
    root = config_trusted_root_load(path, err, sizeof(err));
    if (root != NULL) {
        config_trusted_root_free(root);
        return;
    }
    cv_err_at(cv, pos, "trusted_root%s: %s", pos.line ? "" : " (default)",
              err[0] ? err : "cannot load");
}

/* The checks of config_check that look at the system, each on its
 * default when the key is absent and skipped when the key is invalid
 * (that error is already recorded). */
static void
cv_check_system(struct cv *cv, const struct config *cfg)
{
    if (cfg->state != NULL) {
        cv_check_state(cv, cfg->state, cfg->state_pos);
    } else if (cfg->state_pos.line == 0) {
        cv_check_state(cv, CONFIG_DEFAULT_STATE, cfg->state_pos);
    }
    if (cfg->trusted_root != NULL) {
        cv_check_trusted_root(cv, cfg->trusted_root, cfg->trusted_root_pos);
    } else if (cfg->trusted_root_pos.line == 0) {
        cv_check_trusted_root(cv, CONFIG_DEFAULT_TRUSTED_ROOT,
                              cfg->trusted_root_pos);
    }
}

/* Fill in the string defaults; 0 or -1 (out of memory). */
static int
cv_defaults(struct config *cfg)
{
    size_t i;

    if (cfg->state == NULL &&
        (cfg->state = strdup(CONFIG_DEFAULT_STATE)) == NULL) {
        return -1;
    }
    if (cfg->trusted_root == NULL &&
        (cfg->trusted_root = strdup(CONFIG_DEFAULT_TRUSTED_ROOT)) == NULL) {
        return -1;
    }
    for (i = 0; i < cfg->n_watch; i++) {
        if (cfg->watch[i].issuer == NULL &&
            (cfg->watch[i].issuer = strdup(CONFIG_DEFAULT_ISSUER)) == NULL) {
            return -1;
        }
    }
    return 0;
}

/* Stable sort of the errors by position (the "too many" entry stays last). */
static void
errors_sort(struct config_errors *e)
{
    size_t n = e->truncated ? e->n - 1 : e->n, i, j;

    for (i = 1; i < n; i++) {
        struct config_error x = e->v[i];
        for (j = i;
             j > 0 && (e->v[j - 1].line > x.line ||
                       (e->v[j - 1].line == x.line && e->v[j - 1].col > x.col));
             j--) {
            e->v[j] = e->v[j - 1];
        }
        e->v[j] = x;
    }
}

static struct config *
config_load_buf(const void *buf, size_t len, const char *name,
                const char *base_dir, int check_system,
                struct config_errors **errs)
{
    struct config_node *tree;
    struct config *cfg;
    struct cv cv;

    if (name == NULL) {
        name = "(config)";
    }
    if (len > CONFIG_MAX_FILE) {
        (void)config_errors_add(errs, name, 0, 0,
                                "file larger than %d bytes (limit)",
                                CONFIG_MAX_FILE);
        return NULL;
    }
    tree = config_tree_parse(buf, len, name, errs);
    if (tree == NULL) {
        return NULL;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        config_tree_free(tree);
        (void)config_errors_add(errs, name, 0, 0, "out of memory");
        return NULL;
    }
    memset(&cv, 0, sizeof(cv));
    cv.file = name;
    cv.base_dir = base_dir;
    cv.errs = errs;
    cv_root(&cv, tree, cfg);
    config_tree_free(tree);
    if (check_system) {
        cv_check_system(&cv, cfg);
    }
    if (!cv.failed) {
        cfg->path = strdup(name);
        cfg->base_dir = base_dir ? strdup(base_dir) : NULL;
        if (cv_defaults(cfg) != 0 || cfg->path == NULL ||
            (base_dir != NULL && cfg->base_dir == NULL)) {
            cv_err(&cv, NULL, "", "out of memory");
        }
    }
    if (cv.failed) {
        config_free(cfg);
        if (*errs != NULL) {
            errors_sort(*errs);
        }
        return NULL;
    }
    return cfg;
}

struct config *
config_load_mem(const void *buf, size_t len, const char *name,
                struct config_errors **errs)
{
    *errs = NULL;
    return config_load_buf(buf, len, name, NULL, 0, errs);
}

/* The directory holding path, absolute (new), or NULL. */
static char *
config_dir_of(const char *path)
{
    char *dir = strdup(path), *slash, *abs;

    if (dir == NULL) {
        return NULL;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    abs = realpath(dir, NULL);
    free(dir);
    return abs;
}

static struct config *
config_load_file(const char *path, int check_system,
                 struct config_errors **errs)
{
    struct config *cfg = NULL;
    struct stat st;
    char *buf = NULL, *dir = NULL;
    size_t n = 0;
    ssize_t r;
    int fd;

    *errs = NULL;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        (void)config_errors_add(errs, path, 0, 0, "cannot open: %s",
                                strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)config_errors_add(errs, path, 0, 0, "not a regular file");
        goto done;
    }
    if (st.st_size > CONFIG_MAX_FILE) {
        (void)config_errors_add(errs, path, 0, 0,
                                "file larger than %d bytes (limit)",
                                CONFIG_MAX_FILE);
        goto done;
    }
    buf = malloc(CONFIG_MAX_FILE + 1);
    if (buf == NULL) {
        (void)config_errors_add(errs, path, 0, 0, "out of memory");
        goto done;
    }
    while (n < CONFIG_MAX_FILE + 1) {
        r = read(fd, buf + n, CONFIG_MAX_FILE + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            (void)config_errors_add(errs, path, 0, 0, "cannot read: %s",
                                    strerror(errno));
            goto done;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    dir = config_dir_of(path);
    if (dir == NULL) {
        (void)config_errors_add(errs, path, 0, 0,
                                "cannot resolve the file's directory: %s",
                                strerror(errno));
        goto done;
    }
    cfg = config_load_buf(buf, n, path, dir, check_system, errs);
done:
    close(fd);
    if (buf != NULL) {
        OPENSSL_cleanse(buf, n); /* the file may hold literal secrets */
    }
    free(buf);
    free(dir);
    return cfg;
}

struct config *
config_load(const char *path, struct config_errors **errs)
{
    return config_load_file(path, 0, errs);
}

struct config *
config_check(const char *path, struct config_errors **errs)
{
    return config_load_file(path, 1, errs);
}

static void
strings_free(struct config_strings *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->v[i]);
    }
    free(s->v);
}

void
config_free(struct config *cfg)
{
    size_t i, j;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; i < cfg->n_logs; i++) {
        free(cfg->logs[i].name);
        free(cfg->logs[i].url);
    }
    free(cfg->logs);
    for (i = 0; i < cfg->n_watch; i++) {
        struct config_watch *w = &cfg->watch[i];
        free(w->name);
        free(w->repository);
        free(w->repository_id);
        free(w->issuer);
        strings_free(&w->workflows);
        strings_free(&w->refs);
        strings_free(&w->triggers);
        free(w->pcrs.registry_host);
        free(w->pcrs.registry_repository);
        free_secret(w->pcrs.credentials);
        free(w->pcrs.allow);
    }
    free(cfg->watch);
    for (i = 0; i < cfg->n_sinks; i++) {
        free(cfg->sinks[i].name);
        free_secret(cfg->sinks[i].url);
        free_secret(cfg->sinks[i].secret);
        for (j = 0; j < cfg->sinks[i].n_secrets_more; j++) {
            free_secret(cfg->sinks[i].secrets_more[j]);
        }
        free(cfg->sinks[i].secrets_more);
        free(cfg->sinks[i].repository);
        for (j = 0; j < cfg->sinks[i].labels.n; j++) {
            free(cfg->sinks[i].labels.v[j]);
        }
        free(cfg->sinks[i].labels.v);
        free(cfg->sinks[i].command);
        free(cfg->sinks[i].from);
        strings_free(&cfg->sinks[i].to);
        free_secret(cfg->sinks[i].username);
        free(cfg->sinks[i].ca_file);
    }
    free(cfg->sinks);
    free(cfg->heartbeat.notify.v);
    free(cfg->report.notify.v);
    free(cfg->report.dir);
    free(cfg->http.listen);
    free(cfg->http.host);
    free_secret(cfg->http.token);
    free(cfg->path);
    free(cfg->base_dir);
    free(cfg->state);
    free(cfg->trusted_root);
    free(cfg->attestation_root);
    free(cfg);
}

const struct config_log *
config_log_find(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->n_logs; i++) {
        if (strcmp(cfg->logs[i].name, name) == 0) {
            return &cfg->logs[i];
        }
    }
    return NULL;
}

const struct config_watch *
config_watch_find(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->n_watch; i++) {
        if (strcmp(cfg->watch[i].name, name) == 0) {
            return &cfg->watch[i];
        }
    }
    return NULL;
}

const struct config_sink *
config_sink_find(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->n_sinks; i++) {
        if (strcmp(cfg->sinks[i].name, name) == 0) {
            return &cfg->sinks[i];
        }
    }
    return NULL;
}

const char *
config_log_kind_name(enum config_log_kind k)
{
    return (unsigned)k <= CONFIG_LOG_CT ? log_kind_names[k] : "unknown";
}

const char *
config_sink_type_name(enum config_sink_type t)
{
    return (unsigned)t < 8 ? sink_type_names[t] : "unknown";
}

const char *
config_severity_name(enum config_severity s)
{
    return (unsigned)s < 3 ? severity_names[s] : "unknown";
}

const char *
config_pcr_name(enum config_pcr p)
{
    return (unsigned)p < CONFIG_PCR_COUNT ? pcr_names[p] : "unknown";
}
