/*
 * discovery.c: the logs a trusted root announces (discovery.h).
 */
#include "config/discovery.h"
#include "config/config_value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The monitor config's entry for one log. */
struct mc_log {
    const char *read_url;   /* borrowed from the JSON */
    const char *log_origin; /* borrowed */
    long long major;        /* 0: not given */
};

static const char *
mc_str(const json_t *o, const char *snake, const char *camel)
{
    const json_t *v = json_object_get(o, snake);
    if (v == NULL) {
        v = json_object_get(o, camel);
    }
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long
mc_int(const json_t *o, const char *snake, const char *camel)
{
    const json_t *v = json_object_get(o, snake);
    if (v == NULL) {
        v = json_object_get(o, camel);
    }
    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "1") == 0 || strcmp(s, "2") == 0) {
            return s[0] - '0';
        }
    }
    return 0;
}

/* Load path into *root (NULL when absent).  0, or -1 with err. */
static int
mc_load(const char *path, json_t **root, char *err, size_t errlen)
{
    FILE *f;
    char *buf;
    size_t len;
    json_error_t je;
    const json_t *list;

    *root = NULL;
    if (path == NULL) {
        return 0;
    }
    if ((f = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(CONFIG_DISCOVERY_MAX_FILE + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    len = fread(buf, 1, CONFIG_DISCOVERY_MAX_FILE + 1, f);
    fclose(f);
    if (len > CONFIG_DISCOVERY_MAX_FILE) {
        free(buf);
        snprintf(err, errlen, "%s: larger than %d bytes", path,
                 CONFIG_DISCOVERY_MAX_FILE);
        return -1;
    }
    *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (*root == NULL) {
        snprintf(err, errlen, "%s: line %d: %s", path, je.line, je.text);
        return -1;
    }
    list = json_object_get(*root, "logs");
    if (list == NULL) {
        list = json_object_get(*root, "transparencyLogs");
    }
    if (!json_is_array(list) ||
        json_array_size(list) > CONFIG_TRUSTED_ROOT_MAX_ITEMS) {
        snprintf(err, errlen, "%s: logs: must be a list of at most %d items",
                 path, CONFIG_TRUSTED_ROOT_MAX_ITEMS);
        json_decref(*root);
        *root = NULL;
        return -1;
    }
    return 0;
}

/* The monitor config's entry whose log_origin is origin (or, for v1,
 * "origin - <tree id>"); 0 when none. */
static int
mc_find(const json_t *root, const char *origin, struct mc_log *out)
{
    const json_t *list, *item;
    size_t i, olen = strlen(origin);

    if (root == NULL) {
        return 0;
    }
    list = json_object_get(root, "logs");
    if (list == NULL) {
        list = json_object_get(root, "transparencyLogs");
    }
    json_array_foreach(list, i, item)
    {
        const char *lo = mc_str(item, "log_origin", "logOrigin");
        if (lo == NULL) {
            continue;
        }
        if (strcmp(lo, origin) == 0 || (strncmp(lo, origin, olen) == 0 &&
                                        strncmp(lo + olen, " - ", 3) == 0)) {
            out->read_url = mc_str(item, "read_url", "readUrl");
            out->log_origin = lo;
            out->major = mc_int(item, "major_api_version", "majorApiVersion");
            return 1;
        }
    }
    return 0;
}

/* https://, or http:// on a loopback host (as config.h requires). */
static int
url_ok(const char *u)
{
    static const char *const loop[] = {"http://127.", "http://localhost",
                                       "http://[::1]", NULL};
    size_t i;

    if (strncmp(u, "https://", 8) == 0) {
        return strchr(u, '@') == NULL;
    }
    for (i = 0; loop[i] != NULL; i++) {
        if (strncmp(u, loop[i], strlen(loop[i])) == 0) {
            return strchr(u, '@') == NULL;
        }
    }
    return 0;
}

static char *
url_dup(const char *u)
{
    char *s = strdup(u);

    if (s != NULL) {
        size_t len = strlen(s);
        while (len > 0 && s[len - 1] == '/') {
            s[--len] = '\0';
        }
    }
    return s;
}

/* The name of the log at base URL u: the URL without its scheme, ':' and
 * '/' as '-' ("rekor.sigstore.dev", "ctfe.sigstore.dev-2022",
 * "127.0.0.1-8080").  NULL when out of memory. */
static char *
name_of(const char *u)
{
    const char *p = strstr(u, "://");
    char *s = strdup(p != NULL ? p + 3 : u);
    size_t i, len;

    if (s == NULL) {
        return NULL;
    }
    len = strlen(s);
    while (len > 0 && s[len - 1] == '/') {
        s[--len] = '\0';
    }
    for (i = 0; i < len; i++) {
        if (s[i] == ':' || s[i] == '/') {
            s[i] = '-';
        }
    }
    return s;
}

/* The same log: equal URLs, or equal but for a trailing "/api/v2" (the
 * Rekor v2 follower reads either form). */
static int
url_same(const char *a, const char *b)
{
    static const char v2[] = "/api/v2";
    size_t la = strlen(a), lb = strlen(b), n = sizeof(v2) - 1;

    if (la >= n && strcmp(a + la - n, v2) == 0) {
        la -= n;
    }
    if (lb >= n && strcmp(b + lb - n, v2) == 0) {
        lb -= n;
    }
    return la == lb && strncmp(a, b, la) == 0;
}

static void
log_defaults(const struct config *cfg, struct config_log *l)
{
    l->poll_interval_ms = CONFIG_DEFAULT_POLL_INTERVAL_MS;
    l->start_latest = cfg->discovered_start_latest;
    l->start_index = cfg->discovered_start_index;
    l->max_concurrency = CONFIG_DEFAULT_MAX_CONCURRENCY;
    l->stale_after_ms = CONFIG_DEFAULT_STALE_AFTER_MS;
    l->unreachable_after_ms = CONFIG_DEFAULT_UNREACHABLE_AFTER_MS;
    l->withhold_after_ms = CONFIG_DEFAULT_WITHHOLD_AFTER_MS;
    l->discovered = 1;
}

static int
is_ecdsa(enum config_key_alg a)
{
    return a == CONFIG_KEY_ECDSA_P256_SHA256 ||
           a == CONFIG_KEY_ECDSA_P384_SHA384 ||
           a == CONFIG_KEY_ECDSA_P521_SHA512;
}

void
config_discovery_free(struct config_discovery *d, size_t n)
{
    size_t i;

    for (i = 0; d != NULL && i < n; i++) {
        free(d[i].log.name);
        free(d[i].log.url);
    }
    free(d);
}

char *
config_discovery_monitor_path(const char *trusted_root, char *buf, size_t cap)
{
    const char *slash = strrchr(trusted_root, '/');

    if (slash == NULL) {
        snprintf(buf, cap, "%s", CONFIG_MONITOR_CONFIG_NAME);
    } else {
        snprintf(buf, cap, "%.*s/%s", (int)(slash - trusted_root), trusted_root,
                 CONFIG_MONITOR_CONFIG_NAME);
    }
    return buf;
}

/* One tlog into d (already zeroed); merges v1 shards into an earlier
 * entry of the same URL.  Returns 1 when d was used, 0 when merged. */
static int
discover_one(const struct config *cfg, const json_t *mc,
             const struct config_log_key *k, int ct, int64_t now, int64_t since,
             struct config_discovery *all, size_t n_all, char *err,
             size_t errlen)
{
    struct config_discovery *d = &all[n_all];
    struct mc_log m = {NULL, NULL, 0};
    const char *url = k->base_url;
    int has_mc, ended, retired;
    const char *why;
    size_t i;

    snprintf(d->origin, sizeof(d->origin), "%s", k->signer_name);
    has_mc = !ct && mc_find(mc, d->origin, &m);
    if (has_mc && m.read_url != NULL) {
        url = m.read_url;
    }
    log_defaults(cfg, &d->log);
    if (ct) {
        d->log.kind = CONFIG_LOG_CT;
        if (k->alg == CONFIG_KEY_UNSUPPORTED) {
            d->skip = "unsupported key";
        }
    } else if (has_mc && (m.major == 1 || m.major == 2)) {
        d->log.kind = m.major == 1 ? CONFIG_LOG_REKOR_V1 : CONFIG_LOG_REKOR_V2;
    } else if (is_ecdsa(k->alg)) {
        d->log.kind = CONFIG_LOG_REKOR_V1;
    } else if (k->alg == CONFIG_KEY_ED25519) {
        d->log.kind = CONFIG_LOG_REKOR_V2;
    } else {
        d->skip = "unsupported key";
    }
    ended = k->valid_for.has_end && k->valid_for.end <= since;
    retired = k->valid_for.has_end && k->valid_for.end <= now;
    if ((d->log.url = url_dup(url)) == NULL ||
        (d->log.name = name_of(k->base_url)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Entries of one URL (v1 shards, a key listed again for another
     * validFor period): one log, retired when all are. */
    for (i = 0; i < n_all; i++) {
        if (all[i].log.kind == d->log.kind && d->skip == NULL &&
            (all[i].skip == NULL || !ended) &&
            strcmp(all[i].log.url, d->log.url) == 0) {
            if (!ended) {
                all[i].skip = NULL;
                all[i].retired = all[i].retired && retired;
            }
            free(d->log.url);
            free(d->log.name);
            memset(d, 0, sizeof(*d));
            return 0;
        }
    }
    d->retired = retired;
    if (d->skip == NULL && ended) {
        d->skip = "validFor ended before the state began";
    }
    if (d->skip == NULL && !url_ok(d->log.url)) {
        d->skip = "URL is neither https:// nor loopback http://";
    }
    if (d->skip == NULL && config_value_name(d->log.name, &why) != 0) {
        d->skip = why;
    }
    for (i = 0; i < cfg->n_logs; i++) {
        if (url_same(cfg->logs[i].url, d->log.url)) {
            d->overridden = 1;
        } else if (d->skip == NULL &&
                   strcmp(cfg->logs[i].name, d->log.name) == 0) {
            d->skip = "a logs: entry with another URL has this name";
        }
    }
    return 1;
}

int
config_discover(const struct config *cfg,
                const struct config_trusted_root *root,
                const char *monitor_config, int64_t now, int64_t since,
                struct config_discovery **out, size_t *n, char *err,
                size_t errlen)
{
    json_t *mc;
    struct config_discovery *all;
    size_t nt = config_trusted_root_ntlogs(root);
    size_t nc = config_trusted_root_nctlogs(root);
    size_t i, used = 0;

    *out = NULL;
    *n = 0;
    if (mc_load(monitor_config, &mc, err, errlen) != 0) {
        return -1;
    }
    all = calloc(nt + nc + 1, sizeof(*all));
    if (all == NULL) {
        json_decref(mc);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < nt; i++) {
        int r = discover_one(cfg, mc, config_trusted_root_tlog(root, i), 0, now,
                             since, all, used, err, errlen);
        if (r < 0) {
            json_decref(mc);
            config_discovery_free(all, used + 1);
            return -1;
        }
        used += (size_t)r;
    }
    for (i = 0; i < nc; i++) {
        int r = discover_one(cfg, mc, config_trusted_root_ctlog(root, i), 1,
                             now, since, all, used, err, errlen);
        if (r < 0) {
            json_decref(mc);
            config_discovery_free(all, used + 1);
            return -1;
        }
        used += (size_t)r;
    }
    json_decref(mc);
    *out = all;
    *n = used;
    return 0;
}

int
config_discovery_apply(struct config *cfg, struct config_discovery *d, size_t n)
{
    size_t i, add = 0;
    struct config_log *logs;

    for (i = 0; i < n; i++) {
        add += d[i].skip == NULL && !d[i].overridden;
    }
    if (add == 0) {
        return 0;
    }
    logs = realloc(cfg->logs, (cfg->n_logs + add) * sizeof(*logs));
    if (logs == NULL) {
        return -1;
    }
    cfg->logs = logs;
    for (i = 0; i < n; i++) {
        if (d[i].skip == NULL && !d[i].overridden) {
            cfg->logs[cfg->n_logs++] = d[i].log;
            d[i].log.name = NULL;
            d[i].log.url = NULL;
        }
    }
    return 0;
}
