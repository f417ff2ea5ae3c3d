/*
 * engine.c: the follower engine (engine.h): requests, pacing, the poll
 * cycle, liveness, fetching in units with withheld-unit backoff and the
 * look-ahead bound, the cursor and its commits, and the alerts and
 * evidence every protocol raises the same way.
 *
 * Shape of one cycle, per log:
 *
 *   poll timer -> proto->poll: read and verify the checkpoint, prove
 *   growth, seed a start (the protocol's requests, fe_poll_failed on
 *   failure) -> the protocol starts fetching -> fe_pump asks for units
 *   (due retries first, then new ones up to the window, the count and
 *   byte look-ahead) -> proto->on_response decodes, applies in order,
 *   commits -> caught up: fe_commit, proto->on_caught_up -> fe_cycle_done
 *   arms the next poll (run) or reports done (once).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/follow/engine.h"
#include "monitor/follow/env.h"
#include "monitor/follow/follow.h"
#include "monitor/follow/withhold.h"
#include "monitor/http.h"
#include "monitor/identity/policy.h"
#include "monitor/log.h"
#include "monitor/store/store.h"
#include "notify/alert.h"

/* ---- the environment, in short ---------------------------------------- */

uint64_t
follow_mono(const struct follow_env *env)
{
    return env->ops->mono_ms(env->ctx);
}

int64_t
follow_wall(const struct follow_env *env)
{
    return env->ops->wall_s(env->ctx);
}

uint64_t
follow_jitter(const struct follow_env *env, uint64_t ms, unsigned pct)
{
    uint64_t span = ms * pct / 100;

    if (span == 0) {
        return ms;
    }
    return ms - span + env->ops->random(env->ctx, 2 * span + 1);
}

void
follow_fatal(const struct follow_env *env, const char *what)
{
    env->ops->fatal(env->ctx, what);
}

int
follow_is_fatal(const struct follow_env *env)
{
    return env->ops->is_fatal(env->ctx);
}

void
follow_hex(const uint8_t *b, size_t n, char *out, size_t outcap)
{
    if (merkle_hex_encode(b, n, out, outcap) < 0 && outcap > 0) {
        out[0] = '\0';
    }
}

static json_t *
proof_array(const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++) {
        char hex[2 * MERKLE_HASH_LEN + 1];
        follow_hex(proof[i], MERKLE_HASH_LEN, hex, sizeof(hex));
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

void
follow_raise_log_alert(const struct follow_env *env, const char *log_name,
                       int64_t log_id, const char *origin, const char *type,
                       const char *key, const char *summary, json_t *evidence)
{
    char stable[1024];
    json_t *a;

    snprintf(stable, sizeof(stable), "%s|%s", log_name, key);
    a = notify_alert_new(type, stable, summary, follow_wall(env));
    if (a == NULL) {
        json_decref(evidence);
        follow_fatal(env, "out of memory building an alert");
        return;
    }
    notify_alert_set(
        a, "log", json_pack("{s:s, s:s}", "name", log_name, "origin", origin));
    if (evidence != NULL) {
        notify_alert_set(a, "evidence", evidence);
    }
    log_warnx("%s: %s: %s", log_name, type, summary);
    if (env->ops->alert_record(env->ctx, log_id, a) != 0) {
        follow_fatal(env, store_errmsg(env->store));
    }
    /* A critical log alert stops or holds the follower: it is the log's
     * error too, so status and reports show it (issue 12). */
    if (notify_alert_get_severity(a) == NOTIFY_CRITICAL) {
        char msg[1024];

        snprintf(msg, sizeof(msg), "%s: %s", type, summary);
        if ((log_id != 0
                 ? store_log_error(env->store, log_id, follow_wall(env), msg)
                 : store_name_error(env->store, log_name, follow_wall(env),
                                    msg)) != 0) {
            follow_fatal(env, store_errmsg(env->store));
        }
    }
    json_decref(a);
}

json_t *
follow_evidence_new(const char *old_note, const char *new_note,
                    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    json_t *e = json_object();

    if (e == NULL) {
        return NULL;
    }
    if (old_note != NULL) {
        json_object_set_new(e, "old_checkpoint", json_string(old_note));
    }
    if (new_note != NULL) {
        json_object_set_new(e, "new_checkpoint", json_string(new_note));
    }
    json_object_set_new(e, "proof", proof_array(proof, nproof));
    return e;
}

/* "https://Host:443/" and "https://host:443" name the same log. */
const char *
follow_checkpoint_impossible(const struct merkle_checkpoint *cp,
                             uint64_t offset, const char *pinned_origin)
{
    if (cp->size >= FOLLOW_MAX_TREE_SIZE) {
        return "its size is 2^63 or more: no log can have grown to it";
    }
    if (offset >= FOLLOW_MAX_TREE_SIZE ||
        cp->size >= FOLLOW_MAX_TREE_SIZE - offset) {
        return "its entries would end beyond virtual index 2^63";
    }
    if (pinned_origin != NULL && pinned_origin[0] != '\0' &&
        strcmp(cp->origin, pinned_origin) != 0) {
        return "its origin is not the log's";
    }
    return NULL;
}

void
follow_raise_impossible(const struct follow_env *env, const char *log_name,
                        int64_t log_id, const char *origin,
                        const char *old_note, const char *note, size_t note_len,
                        const char *why)
{
    uint8_t h[MERKLE_HASH_LEN];
    char hex[2 * MERKLE_HASH_LEN + 1], key[256], msg[1024];
    char *copy = strndup(note, note_len);

    merkle_leaf_hash((const uint8_t *)note, note_len, h);
    follow_hex(h, MERKLE_HASH_LEN, hex, sizeof(hex));
    snprintf(key, sizeof(key), "impossible|%s", hex);
    snprintf(msg, sizeof(msg),
             "Log %s signed a checkpoint that cannot be a tree of this log: "
             "%s",
             log_name, why);
    follow_raise_log_alert(env, log_name, log_id, origin, "log.inconsistent",
                           key, msg,
                           follow_evidence_new(old_note, copy, NULL, 0));
    free(copy);
}

static void
rfc3339(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "%lld", (long long)t);
    }
}

void
follow_raise_withheld(const struct follow_env *env,
                      const struct config_log *cfg, int64_t log_id,
                      const char *origin, const char *note,
                      uint64_t first_index, uint64_t last_index,
                      const struct withhold_unit *u)
{
    char key[512], msg[1024], t1[32], t2[32], what[96];
    json_t *ev = json_object();

    rfc3339(u->first_wall, t1, sizeof(t1));
    rfc3339(u->last_wall, t2, sizeof(t2));
    if (first_index == last_index) {
        snprintf(what, sizeof(what), "entry %llu",
                 (unsigned long long)first_index);
    } else {
        snprintf(what, sizeof(what), "entries %llu-%llu",
                 (unsigned long long)first_index,
                 (unsigned long long)last_index);
    }
    snprintf(key, sizeof(key), "withheld|%s|%llu", origin,
             (unsigned long long)first_index);
    snprintf(msg, sizeof(msg),
             "Log %s has not returned %s, which its signed checkpoint "
             "commits to, since %s (%u attempts; last answer %d)",
             cfg->name, what, t1, u->attempts, u->last_status);
    if (ev != NULL) {
        if (note != NULL) {
            json_object_set_new(ev, "checkpoint", json_string(note));
        }
        json_object_set_new(ev, "log_index",
                            json_integer((json_int_t)first_index));
        if (last_index != first_index) {
            json_object_set_new(ev, "last_log_index",
                                json_integer((json_int_t)last_index));
        }
        json_object_set_new(ev, "attempts", json_integer(u->attempts));
        json_object_set_new(ev, "first_attempt", json_string(t1));
        json_object_set_new(ev, "last_attempt", json_string(t2));
        json_object_set_new(ev, "last_status", json_integer(u->last_status));
    }
    follow_raise_log_alert(env, cfg->name, log_id, origin,
                           "log.entries_withheld", key, msg, ev);
}

/* The "scheme://authority" part of url: its length, default port gone
 * in *alen (the authority starts at *auth). */
static size_t
url_origin(const char *url, const char **auth, size_t *alen)
{
    const char *sep = strstr(url, "://"), *a, *end;
    size_t n;

    if (sep == NULL) {
        *auth = url;
        *alen = 0;
        return 0;
    }
    a = sep + 3;
    end = a + strcspn(a, "/?#");
    n = (size_t)(end - a);
    if ((size_t)(sep - url) == 5 && strncasecmp(url, "https", 5) == 0 &&
        n > 4 && strncmp(end - 4, ":443", 4) == 0) {
        n -= 4;
    } else if ((size_t)(sep - url) == 4 && strncasecmp(url, "http", 4) == 0 &&
               n > 3 && strncmp(end - 3, ":80", 3) == 0) {
        n -= 3;
    }
    *auth = a;
    *alen = n;
    return (size_t)(sep - url);
}

int
follow_same_host(const char *a, const char *b)
{
    const char *aa, *ba;
    size_t al, bl, as = url_origin(a, &aa, &al), bs = url_origin(b, &ba, &bl);

    return as > 0 && as == bs && strncasecmp(a, b, as) == 0 && al > 0 &&
           al == bl && strncasecmp(aa, ba, al) == 0;
}

int
follow_same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    while (la > 0 && a[la - 1] == '/') {
        la--;
    }
    while (lb > 0 && b[lb - 1] == '/') {
        lb--;
    }
    return la == lb && strncasecmp(a, b, la) == 0;
}

int
follow_root_has_key(const struct config_trusted_root *tr,
                    const struct config_log *cfg)
{
    size_t i;

    if (cfg->kind == CONFIG_LOG_CT) {
        for (i = 0; i < config_trusted_root_nctlogs(tr); i++) {
            const struct config_log_key *k = config_trusted_root_ctlog(tr, i);
            if (k->pkey != NULL && follow_same_url(k->base_url, cfg->url)) {
                return 1;
            }
        }
        return 0;
    }
    for (i = 0; i < config_trusted_root_ntlogs(tr); i++) {
        const struct config_log_key *k = config_trusted_root_tlog(tr, i);
        int same = cfg->kind == CONFIG_LOG_REKOR_V2
                       ? follow_same_host(k->base_url, cfg->url)
                       : follow_same_url(k->base_url, cfg->url);
        if (same && k->pkey != NULL &&
            (k->alg == CONFIG_KEY_ECDSA_P256_SHA256 ||
             k->alg == CONFIG_KEY_ED25519)) {
            return 1;
        }
    }
    return 0;
}

void
follow_liveness_update(const struct follow_env *env,
                       const struct config_log *cfg, int64_t log_id,
                       const char *origin, int has_cp, uint64_t vsize,
                       uint64_t last_growth_ms, struct follow_pace *p, int ok)
{
    uint64_t now = follow_mono(env);
    int64_t wall = follow_wall(env);
    char key[1024], msg[1024];

    if (ok) {
        p->failing_since_ms = 0;
        p->failing_since = 0;
        p->once_failures = 0;
        if (log_id != 0 && store_log_success(env->store, log_id, wall) != 0) {
            follow_fatal(env, store_errmsg(env->store));
        }
    } else {
        if (p->failing_since_ms == 0) {
            p->failing_since_ms = now;
            p->failing_since = wall;
        }
        if (now - p->failing_since_ms >= cfg->unreachable_after_ms) {
            /* The id names the outage by its wall-clock start; how long
             * it lasted is measured on the monotonic clock. */
            snprintf(key, sizeof(key), "unreachable|%lld",
                     (long long)p->failing_since);
            snprintf(msg, sizeof(msg),
                     "Log %s has been unreachable since %lld (%llu s)",
                     cfg->name, (long long)p->failing_since,
                     (unsigned long long)((now - p->failing_since_ms) / 1000));
            follow_raise_log_alert(env, cfg->name, log_id, origin,
                                   "log.unreachable", key, msg, NULL);
        }
    }
    if (has_cp && last_growth_ms != 0 &&
        now - last_growth_ms >= cfg->stale_after_ms) {
        snprintf(key, sizeof(key), "stale|%s|%llu", origin,
                 (unsigned long long)vsize);
        snprintf(msg, sizeof(msg),
                 "Log %s has signed no checkpoint newer than size %llu "
                 "for %llu s",
                 cfg->name, (unsigned long long)vsize,
                 (unsigned long long)((now - last_growth_ms) / 1000));
        follow_raise_log_alert(env, cfg->name, log_id, origin, "log.stale", key,
                               msg, NULL);
    }
}

int
follow_failing_for(const struct follow_env *env, const struct follow_pace *p,
                   uint64_t ms)
{
    return p->failing_since_ms != 0 &&
           follow_mono(env) - p->failing_since_ms >= ms;
}

void
follow_pace_init(struct follow_pace *p, const struct config_log *cfg,
                 struct follower_stats *stats)
{
    memset(p, 0, sizeof(*p));
    p->window = cfg->max_concurrency;
    stats->window_min = p->window;
}

void
follow_pace_throttle(struct follow_pace *p, const struct follow_env *env,
                     const struct config_log *cfg,
                     const struct http_response *resp,
                     struct follower_stats *stats)
{
    uint64_t delay;
    unsigned was = p->window;

    p->window = p->window > 1 ? p->window / 2 : 1;
    if (p->window != was) {
        log_info("%s: throttled (%s): request window %u -> %u", cfg->name,
                 resp != NULL && resp->result == HTTP_COMPLETE
                     ? (resp->status == 429 ? "429" : "5xx")
                     : "error",
                 was, p->window);
    }
    if (p->window < stats->window_min || stats->window_min == 0) {
        stats->window_min = p->window;
    }
    stats->throttled++;
    if (p->fail_streak < 16) {
        p->fail_streak++;
    }
    if (resp != NULL && resp->has_retry_after) {
        delay = resp->retry_after_s * 1000;
    } else {
        delay = (uint64_t)FOLLOW_BACKOFF_BASE_MS << (p->fail_streak - 1);
        if (delay > FOLLOW_BACKOFF_MAX_MS) {
            delay = FOLLOW_BACKOFF_MAX_MS;
        }
        delay = delay / 2 + env->ops->random(env->ctx, delay / 2 + 1);
    }
    if (follow_mono(env) + delay > p->pause_until_ms) {
        p->pause_until_ms = follow_mono(env) + delay;
    }
}

void
follow_pace_success(struct follow_pace *p, const struct config_log *cfg)
{
    p->fail_streak = 0;
    p->failing_since_ms = 0;
    p->failing_since = 0;
    p->once_failures = 0;
    if (p->window < cfg->max_concurrency) {
        p->window++;
        if (p->window == cfg->max_concurrency) {
            log_info("%s: request window recovered to %u", cfg->name,
                     p->window);
        }
    }
}

int
follow_pace_poll_failed(struct follow_pace *p, const struct follow_env *env,
                        const struct config_log *cfg,
                        const struct http_response *resp,
                        struct follower_stats *stats, uint64_t *wait_ms)
{
    int throttled = resp != NULL && resp->result == HTTP_COMPLETE &&
                    (resp->status == 429 || resp->status >= 500);
    uint64_t now = follow_mono(env), wait = 0;

    if (throttled) {
        follow_pace_throttle(p, env, cfg, resp, stats);
        wait = p->pause_until_ms > now ? p->pause_until_ms - now : 0;
    }
    if (env->once) {
        if ((!throttled && ++p->once_failures >= FOLLOW_ONCE_MAX_FAILURES) ||
            follow_failing_for(env, p, cfg->unreachable_after_ms)) {
            return 1;
        }
        if (!throttled) {
            wait = (uint64_t)FOLLOW_BACKOFF_BASE_MS << p->once_failures;
        }
        *wait_ms = wait;
        return 0;
    }
    *wait_ms = wait > cfg->poll_interval_ms
                   ? wait
                   : follow_jitter(env, cfg->poll_interval_ms, 10);
    return 0;
}

int
follow_commit_progress(const struct follow_env *env, int64_t log_id,
                       uint64_t from, uint64_t to,
                       const struct merkle_range *range, uint64_t root_checks,
                       json_t *batch_alerts, struct policy_batch *signings)
{
    struct store_progress p;
    struct store_alert *alerts = NULL;
    const char *(*sinks)[64] = NULL;
    char **bodies = NULL;
    size_t i, n = json_array_size(batch_alerts), nsinks, fresh = 0;
    int rc = -1;

    if (n > 0) {
        alerts = calloc(n, sizeof(*alerts));
        bodies = calloc(n, sizeof(*bodies));
        sinks = calloc(n, sizeof(*sinks)); /* each alert its own sinks */
        if (alerts == NULL || bodies == NULL || sinks == NULL) {
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        json_t *a = json_array_get(batch_alerts, i);
        json_t *entry = json_object_get(a, "entry");
        json_t *rule = json_object_get(a, "rule");
        enum notify_severity sev = notify_alert_get_severity(a);
        bodies[i] = notify_alert_render(a);
        if (bodies[i] == NULL) {
            goto out;
        }
        nsinks = env->ops->sinks_for(env->ctx, sev, sinks[i], 64);
        alerts[i].id = notify_alert_get_id(a);
        alerts[i].type = notify_alert_get_type(a);
        alerts[i].severity = sev;
        alerts[i].detected_at = follow_wall(env);
        alerts[i].has_index = entry != NULL;
        alerts[i].log_index =
            (uint64_t)json_integer_value(json_object_get(entry, "log_index"));
        alerts[i].rule = json_string_value(rule);
        alerts[i].body = bodies[i];
        alerts[i].sinks = sinks[i];
        alerts[i].nsinks = nsinks;
        env->ops->alert_raised(env->ctx, sev);
    }
    if (range == NULL) {
        /* Ahead of the cursor (Rekor past a withheld entry): signings
         * only; CT certificate rows come with the cursor (ct.c never
         * records ahead). */
        if (store_record_ahead(env->store, log_id, alerts, n, signings->v,
                               signings->n, follow_wall(env), &fresh) != 0) {
            follow_fatal(env, store_errmsg(env->store));
            goto out;
        }
        json_array_clear(batch_alerts);
        policy_batch_clear(signings);
        rc = 0;
        if (fresh > 0) {
            env->ops->outbox_flush(env->ctx);
        }
        goto out;
    }
    memset(&p, 0, sizeof(p));
    p.from_index = from;
    p.to_index = to;
    p.range = range;
    p.root_checks_passed = root_checks;
    p.alerts = alerts;
    p.nalerts = n;
    p.signings = signings->v;
    p.nsignings = signings->n;
    p.ct_certs = signings->ct;
    p.nct_certs = signings->nct;
    if (store_commit_progress(env->store, log_id, &p, follow_wall(env),
                              &fresh) != 0) {
        follow_fatal(env, store_errmsg(env->store));
        goto out;
    }
    json_array_clear(batch_alerts);
    policy_batch_clear(signings);
    rc = 0;
    if (fresh > 0) {
        env->ops->outbox_flush(env->ctx);
    }
out:
    for (i = 0; bodies != NULL && i < n; i++) {
        free(bodies[i]);
    }
    free(bodies);
    free(alerts);
    free(sinks);
    return rc;
}

/* ---- requests ---------------------------------------------------------- */

static void fe_http_done(const struct http_response *resp, void *arg);

static void
fe_req_unlink(struct follower *f, struct fe_req *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        f->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
}

struct fe_req *
fe_send(struct follower *f, int kind, enum http_method method, const char *path,
        const char *body, size_t body_len, uint64_t cap)
{
    char url[FE_URL_MAX];
    struct http_request_opts o;
    struct fe_req *r;

    if ((size_t)snprintf(url, sizeof(url), "%s%s", f->proto->base_url(f),
                         path) >= sizeof(url)) {
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->f = f;
    r->kind = kind;
    memset(&o, 0, sizeof(o));
    o.method = method;
    o.url = url;
    o.body = body;
    o.body_len = body_len;
    o.content_type = body != NULL ? "application/json" : NULL;
    o.connect_timeout_ms = 10000;
    o.timeout_ms = 60000;
    o.max_response_bytes = cap;
    r->h = f->env->ops->http_request(f->env->ctx, &o, fe_http_done, r);
    if (r->h == NULL) {
        free(r);
        return NULL;
    }
    r->next = f->reqs;
    if (f->reqs != NULL) {
        f->reqs->prev = r;
    }
    f->reqs = r;
    return r;
}

void
fe_cancel(struct follower *f, int kind)
{
    struct fe_req *r, *nx;

    for (r = f->reqs; r != NULL; r = nx) {
        nx = r->next;
        if (kind < 0 || r->kind == kind) {
            fe_req_unlink(f, r);
            f->env->ops->http_cancel(f->env->ctx, r->h);
            free(r);
        }
    }
    if (kind < 0 || kind == FE_REQ_UNITS) {
        f->inflight = 0;
    }
    if (kind < 0) {
        f->polling = 0;
    }
}

int
fe_is_throttle(const struct http_response *resp)
{
    return resp != NULL &&
           (resp->result != HTTP_COMPLETE || resp->status == 429 ||
            resp->status >= 500) &&
           resp->result != HTTP_ERR_TOO_LARGE &&
           resp->result != HTTP_ERR_REFUSED;
}

enum follow_http_class
follow_http_class_of(const struct http_response *resp)
{
    if (resp == NULL || resp->status < 200 || resp->status > 599 ||
        (resp->result != HTTP_COMPLETE && resp->status < 300)) {
        return FOLLOW_HTTP_ERROR;
    }
    return (enum follow_http_class)(resp->status / 100 - 2);
}

const char *
follow_http_class_name(enum follow_http_class c)
{
    static const char *const names[] = {"2xx", "3xx", "4xx", "5xx", "error"};

    return (unsigned)c < FOLLOW_HTTP_CLASSES ? names[c] : "error";
}

const char *
follow_proof_kind_name(enum follow_proof_kind k)
{
    static const char *const names[] = {"checkpoint", "consistency", "root"};

    return (unsigned)k < FOLLOW_PROOF_KINDS ? names[k] : "other";
}

static void
fe_http_done(const struct http_response *resp, void *arg)
{
    struct fe_req *r = arg;
    struct follower *f = r->f;

    f->stats.http[follow_http_class_of(resp)]++;
    fe_req_unlink(f, r);
    if (r->kind == FE_REQ_UNITS) {
        f->inflight--;
        if (f->fetching) {
            f->proto->on_response(f, r, resp);
        }
        free(r);
        fe_pump(f);
        return;
    }
    f->proto->on_response(f, r, resp);
    free(r);
}

/* ---- errors and alerts ------------------------------------------------- */

void
fe_error(struct follower *f, const char *fmt, ...)
{
    char msg[1024];
    struct fe_view v;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warnx("%s: %s", f->cfg->name, msg);
    snprintf(f->last_error, sizeof(f->last_error), "%.255s", msg);
    f->proto->view(f, &v);
    /* A log never reached has no row yet: its errors go by name, so
     * that status shows why (issue 12). */
    if ((v.log_id != 0 ? store_log_error(f->env->store, v.log_id,
                                         follow_wall(f->env), msg)
                       : store_name_error(f->env->store, f->cfg->name,
                                          follow_wall(f->env), msg)) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
    }
}

void
fe_response_error(struct follower *f, const struct http_response *resp,
                  const char *what)
{
    if (resp->result == HTTP_COMPLETE) {
        fe_error(f, "%s: HTTP status %d", what, resp->status);
    } else {
        fe_error(f, "%s: %s", what,
                 resp->error != NULL ? resp->error
                                     : http_result_str(resp->result));
    }
}

void
fe_log_alert(struct follower *f, const char *type, const char *key,
             const char *summary, const char *origin, json_t *evidence)
{
    struct fe_view v;

    /* Every failed proof of a log ends in one of these alerts. */
    if (strcmp(type, "log.bad_signature") == 0) {
        f->stats.proofs_failed[FOLLOW_PROOF_CHECKPOINT]++;
    } else if (strcmp(type, "log.inconsistent") == 0) {
        f->stats.proofs_failed[FOLLOW_PROOF_CONSISTENCY]++;
    } else if (strcmp(type, "log.entries_mismatch") == 0) {
        f->stats.proofs_failed[FOLLOW_PROOF_ROOT]++;
    }
    f->proto->view(f, &v);
    follow_raise_log_alert(f->env, f->cfg->name, v.log_id,
                           origin != NULL ? origin : v.origin, type, key,
                           summary, evidence);
}

int
fe_frozen_check(struct follower *f, const char *label, const char *origin,
                const char *alert_origin, const char *note, size_t len,
                const struct merkle_checkpoint *cp, int *res)
{
    struct store *st = f->env->store;
    struct store_checkpoint scp;
    struct store_checkpoint_row stored;
    enum store_frozen_result r;
    char *copy;
    char key[1024], msg[1024], r1[65], r2[65];

    if ((copy = strndup(note, len)) == NULL) {
        follow_fatal(f->env, "out of memory");
        return -1;
    }
    memset(&scp, 0, sizeof(scp));
    memset(&stored, 0, sizeof(stored));
    scp.note = copy;
    scp.note_len = len;
    scp.size = cp->size;
    memcpy(scp.root, cp->root, MERKLE_HASH_LEN);
    if (store_frozen_check(st, f->cfg->name, origin, &scp, follow_wall(f->env),
                           &r, &stored) != 0) {
        free(copy);
        follow_fatal(f->env, store_errmsg(st));
        return -1;
    }
    *res = (int)r;
    f->stats.frozen_checks++;
    if (r == STORE_FROZEN_DIFFERENT) {
        follow_hex(stored.root, MERKLE_HASH_LEN, r1, sizeof(r1));
        follow_hex(cp->root, MERKLE_HASH_LEN, r2, sizeof(r2));
        snprintf(key, sizeof(key), "frozen|%s|%llu|%s|%llu|%s", origin,
                 (unsigned long long)stored.size, r1,
                 (unsigned long long)cp->size, r2);
        snprintf(msg, sizeof(msg),
                 "Frozen %s changed its final checkpoint from size %llu to "
                 "size %llu",
                 label, (unsigned long long)stored.size,
                 (unsigned long long)cp->size);
        fe_log_alert(f, "log.inconsistent", key, msg, alert_origin,
                     follow_evidence_new(stored.note, copy, NULL, 0));
    }
    store_checkpoint_row_free(&stored);
    free(copy);
    return 0;
}

/* ---- pacing, liveness, the poll cycle ---------------------------------- */

void
fe_liveness(struct follower *f, int ok)
{
    struct fe_view v;

    memset(&v, 0, sizeof(v));
    f->proto->view(f, &v);
    /* A frozen log signs no newer checkpoint, by design: not log.stale
     * (a change of its final one is log.inconsistent). */
    follow_liveness_update(f->env, f->cfg, v.log_id, v.origin,
                           v.has_cp && !v.frozen, v.vsize, f->last_growth_ms,
                           &f->pace, ok);
}

void
fe_grew(struct follower *f)
{
    f->last_growth_ms = follow_mono(f->env);
}

void
fe_throttle(struct follower *f, const struct http_response *resp)
{
    follow_pace_throttle(&f->pace, f->env, f->cfg, resp, &f->stats);
}

void
fe_unthrottle(struct follower *f)
{
    follow_pace_success(&f->pace, f->cfg);
}

void
fe_arm_poll(struct follower *f, uint64_t ms)
{
    if (f->env->once && f->once_done) {
        return;
    }
    f->env->ops->timer_arm(f->poll_ev, ms);
}

void
fe_poll_failed(struct follower *f, const struct http_response *resp)
{
    uint64_t wait;

    /* This poll read no checkpoint: what the entries being read cover is
     * the log as of the poll before it (follower_seen_until). */
    f->poll_wall = f->poll_wall_prev;
    fe_liveness(f, 0);
    if (follow_pace_poll_failed(&f->pace, f->env, f->cfg, resp, &f->stats,
                                &wait)) {
        fe_cycle_done(f, 1);
        return;
    }
    fe_arm_poll(f, wait);
}

static int
fe_busy(const struct follower *f)
{
    return f->polling || f->fetching || f->proto->busy(f);
}

void
fe_cycle_done(struct follower *f, int failed)
{
    if (!failed && !f->stopped && !fe_busy(f) && f->has_cursor &&
        f->next == f->committed_next && f->proto->caught_up(f) &&
        f->poll_wall > f->seen_until) {
        /* Every entry of the checkpoint this cycle fetched is committed. */
        f->seen_until = f->poll_wall;
    }
    if (f->env->once) {
        if (f->once_done || fe_busy(f)) {
            return;
        }
        f->once_done = 1;
        if (failed) {
            struct fe_view v;
            f->proto->view(f, &v);
            log_warnx("%s: once: not finished (cursor %llu of %llu): %s",
                      f->cfg->name, (unsigned long long)f->next,
                      (unsigned long long)v.vsize,
                      f->last_error[0] ? f->last_error : "log unreachable");
        }
        f->env->ops->done(f->env->ctx, f, failed);
        return;
    }
    if (fe_busy(f)) {
        return;
    }
    if (!f->env->ops->timer_pending(f->poll_ev)) {
        fe_arm_poll(f, follow_jitter(f->env, f->cfg->poll_interval_ms, 10));
    }
}

static void
fe_poll_cb(void *arg)
{
    struct follower *f = arg;

    if (f->polling || f->proto->busy(f) ||
        (f->fetching && !f->proto->poll_while_fetching)) {
        fe_arm_poll(f, 1000);
        return;
    }
    f->stopped = 0;
    f->poll_wall_prev = f->poll_wall;
    f->poll_wall = follow_wall(f->env);
    f->proto->poll(f);
}

/* ---- fetching ---------------------------------------------------------- */

static void
fe_retry_push(struct follower *f, uint64_t u)
{
    if (f->nretry == f->retry_cap) {
        size_t cap = f->retry_cap ? f->retry_cap * 2 : 64;
        uint64_t *n = realloc(f->retry, cap * sizeof(*n));
        if (n == NULL) {
            follow_fatal(f->env, "out of memory");
            return;
        }
        f->retry = n;
        f->retry_cap = cap;
    }
    f->retry[f->nretry++] = u;
    f->stats.retried++;
}

void
fe_unit_retry(struct follower *f, uint64_t u)
{
    fe_retry_push(f, u);
}

void
fe_unit_got(struct follower *f, uint64_t u)
{
    withhold_got(&f->wh, u);
}

void
fe_units_throttled(struct follower *f, const struct fe_req *r,
                   const struct http_response *resp)
{
    size_t i;

    for (i = 0; i < r->n; i++) {
        fe_retry_push(f, r->units[i]);
    }
    fe_throttle(f, resp);
    fe_liveness(f, 0);
    if (f->env->once &&
        follow_failing_for(f->env, &f->pace, f->cfg->unreachable_after_ms)) {
        fe_reset_cursor(f);
        fe_cycle_done(f, 1);
    }
}

void
fe_answered(struct follower *f)
{
    withhold_answered(&f->wh, follow_mono(f->env));
}

void
fe_unit_missed(struct follower *f, uint64_t u, int status)
{
    struct withhold_unit *w;
    struct fe_view v;

    if (withhold_missed(&f->wh, u, status, follow_mono(f->env),
                        follow_wall(f->env)) != 0) {
        log_warnx("%s: too many missing units tracked", f->cfg->name);
    }
    fe_retry_push(f, u);
    f->proto->view(f, &v);
    while ((w = withhold_take_overdue(&f->wh, f->cfg->withhold_after_ms,
                                      follow_mono(f->env))) != NULL) {
        uint64_t first, last;
        f->proto->unit_range(f, w->unit, &first, &last);
        follow_raise_withheld(f->env, f->cfg, v.log_id, v.origin, v.vnote,
                              first, last, w);
    }
}

/*
 * Units wait for their backoff: wake the pump when the next is due.
 * While the log withholds one, run keeps polling (when the protocol can
 * take a new checkpoint mid-fetch); once gives up when one has been
 * missing for unreachable_after.  -1 when the cycle ended here.
 */
static int
fe_withheld_wait(struct follower *f, uint64_t now)
{
    uint64_t due = withhold_next_due(&f->wh), oldest;

    if (f->env->once && (oldest = withhold_oldest_ms(&f->wh)) != UINT64_MAX &&
        now - oldest >= f->cfg->unreachable_after_ms) {
        uint64_t first, last;
        f->proto->unit_range(f, withhold_oldest_unit(&f->wh), &first, &last);
        snprintf(f->last_error, sizeof(f->last_error),
                 "entry %llu has been withheld for %llu s",
                 (unsigned long long)first,
                 (unsigned long long)((now - oldest) / 1000));
        /* Nothing applied since the last commit is committed: it has not
         * been checked against a signed root yet. */
        fe_reset_cursor(f);
        fe_cycle_done(f, 1);
        return -1;
    }
    if (due != UINT64_MAX && !f->env->ops->timer_pending(f->pump_ev)) {
        f->env->ops->timer_arm(f->pump_ev, due > now ? due - now : 1);
    }
    if (!f->env->once && f->proto->poll_while_fetching && f->wh.n > 0 &&
        !f->polling && !f->proto->busy(f) &&
        !f->env->ops->timer_pending(f->poll_ev)) {
        fe_arm_poll(f, follow_jitter(f->env, f->cfg->poll_interval_ms, 10));
    }
    return 0;
}

static void
fe_pump_cb(void *arg)
{
    fe_pump(arg);
}

void
fe_pump(struct follower *f)
{
    uint64_t now, end, wend;

    if (!f->fetching || follow_is_fatal(f->env)) {
        return;
    }
    now = follow_mono(f->env);
    if (now < f->pace.pause_until_ms) {
        f->env->ops->timer_arm(f->pump_ev, f->pace.pause_until_ms - now);
        return;
    }
    end = f->proto->fetch_end(f);
    wend = f->proto->window_end(f);
    while (f->inflight < f->pace.window) {
        uint64_t units[FE_MAX_BATCH];
        size_t n = 0, i;
        struct fe_req *r;

        /* Due retries first: the cursor waits for them. */
        for (i = 0; n < f->proto->batch && i < f->nretry;) {
            if (withhold_due(&f->wh, f->retry[i], now)) {
                units[n++] = f->retry[i];
                f->retry[i] = f->retry[--f->nretry];
            } else {
                i++;
            }
        }
        while (n < f->proto->batch && f->fetch_next < end &&
               f->fetch_next < wend && f->ahead_bytes < f->ahead_max) {
            units[n++] = f->fetch_next++;
        }
        if (n == 0) {
            break;
        }
        r = f->proto->send_units(f, units, n);
        if (r == NULL) {
            for (i = 0; i < n; i++) {
                fe_retry_push(f, units[i]);
            }
            fe_error(f, "cannot start an entries request");
            fe_throttle(f, NULL);
            f->env->ops->timer_arm(f->pump_ev, 1000);
            return;
        }
        r->n = n;
        memcpy(r->units, units, n * sizeof(units[0]));
        f->inflight++;
        f->stats.requests++;
    }
    if (f->nretry > 0 && fe_withheld_wait(f, now) != 0) {
        return;
    }
    if (f->inflight == 0 && f->nretry == 0 && f->proto->caught_up(f)) {
        f->fetching = 0;
        if (fe_commit(f) != 0) {
            return;
        }
        f->proto->on_caught_up(f);
    }
}

/* ---- the cursor -------------------------------------------------------- */

int
fe_commit(struct follower *f)
{
    struct fe_view v;

    if (f->next == f->committed_next && json_array_size(f->batch_alerts) == 0) {
        return 0;
    }
    f->proto->view(f, &v);
    if (follow_commit_progress(f->env, v.log_id, f->committed_next, f->next,
                               &f->range, f->root_checks, f->batch_alerts,
                               &f->batch_signings) != 0) {
        return -1;
    }
    f->committed_next = f->next;
    f->root_checks = 0;
    return 0;
}

void
fe_reset_cursor(struct follower *f)
{
    struct fe_view v;

    fe_cancel(f, FE_REQ_UNITS);
    f->nretry = 0;
    withhold_clear(&f->wh);
    json_array_clear(f->batch_alerts);
    policy_batch_clear(&f->batch_signings);
    f->root_checks = 0;
    f->fetching = 0;
    f->proto->view(f, &v);
    if (v.log_id != 0 &&
        store_cursor_get(f->env->store, v.log_id, &f->has_cursor, &f->next,
                         &f->range) != 0) {
        follow_fatal(f->env, store_errmsg(f->env->store));
        return;
    }
    f->committed_next = f->next;
    f->proto->reset(f);
}

/* ---- the public follower ------------------------------------------------ */

const char *
follower_name(const struct follower *f)
{
    return f->cfg->name;
}

int64_t
follower_seen_until(const struct follower *f)
{
    return f->seen_until;
}

void
follower_carry_get(const struct follower *f, struct follower_carry *c)
{
    struct fe_view v;

    memset(&v, 0, sizeof(v));
    f->proto->view(f, &v);
    memset(c, 0, sizeof(*c));
    c->cfg = f->cfg;
    c->log_id = v.log_id;
    c->seen_until = f->seen_until;
    follower_stats(f, &c->stats);
}

int
follower_carry_put(struct follower *f, const struct follower_carry *c)
{
    struct fe_view v;
    unsigned window_min;

    memset(&v, 0, sizeof(v));
    f->proto->view(f, &v);
    if (c->cfg == NULL || c->cfg->kind != f->cfg->kind ||
        strcmp(c->cfg->name, f->cfg->name) != 0 ||
        !follow_same_url(c->cfg->url, f->cfg->url) || c->log_id != v.log_id) {
        return 0;
    }
    /* seen_until: every entry the log had integrated by then is
     * committed in the store, which the new follower resumes from. */
    if (c->seen_until > f->seen_until) {
        f->seen_until = c->seen_until;
    }
    /* Counters go on; the window is the new follower's own. */
    window_min = f->stats.window_min < c->stats.window_min
                     ? f->stats.window_min
                     : c->stats.window_min;
    f->stats = c->stats;
    f->stats.window = f->pace.window;
    f->stats.window_min = window_min;
    return 1;
}

void
follower_stats(const struct follower *f, struct follower_stats *out)
{
    *out = f->stats;
    out->window = f->pace.window;
}

struct follower *
follower_new(const struct follow_env *env, const struct config_log *cfg,
             char *err, size_t errlen)
{
    struct follower *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->env = env;
    f->cfg = cfg;
    switch (cfg->kind) {
    case CONFIG_LOG_REKOR_V1:
        f->proto = &rekor_v1_proto;
        break;
    case CONFIG_LOG_REKOR_V2:
        f->proto = &rekor_v2_proto;
        break;
    case CONFIG_LOG_CT:
        f->proto = &ct_proto;
        break;
    default:
        snprintf(err, errlen, "log %s: unsupported log kind", cfg->name);
        free(f);
        return NULL;
    }
    follow_pace_init(&f->pace, cfg, &f->stats);
    withhold_init(&f->wh);
    f->ahead_max = FOLLOW_LOOKAHEAD_BYTES;
    f->batch_alerts = json_array();
    f->poll_ev = env->ops->timer_new(env->ctx, fe_poll_cb, f);
    f->pump_ev = env->ops->timer_new(env->ctx, fe_pump_cb, f);
    if (f->batch_alerts == NULL || f->poll_ev == NULL || f->pump_ev == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (f->proto->init(f, err, errlen) != 0) {
        goto fail;
    }
    f->last_growth_ms = follow_mono(env);
    return f;
fail:
    follower_free(f);
    return NULL;
}

void
follower_start(struct follower *f)
{
    fe_arm_poll(f, 0);
}

void
follower_free(struct follower *f)
{
    if (f == NULL) {
        return;
    }
    fe_cancel(f, -1);
    f->proto->free(f);
    free(f->retry);
    withhold_free(&f->wh);
    json_decref(f->batch_alerts);
    policy_batch_free(&f->batch_signings);
    f->env->ops->timer_free(f->poll_ev);
    f->env->ops->timer_free(f->pump_ev);
    free(f);
}
