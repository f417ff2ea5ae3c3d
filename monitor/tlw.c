/*
 * tlw.c: the daemon's context: build it from a config, start and stop the
 * followers, signals (TERM/INT stop after committing, HUP reloads a
 * validated config), the delivery worker (outbox.c), once-mode
 * bookkeeping.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "config/discovery.h"
#include "config/trusted_root.h"
#include "monitor/follow/follow.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/outbox.h"
#include "monitor/registry/pcrwatch.h"
#include "monitor/report/report_timer.h"
#include "monitor/retention.h"
#include "monitor/server/server.h"
#include "monitor/sdnotify.h"
#include "monitor/identity/policy.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "monitor/unlogged.h"
#include "notify/alert.h"

#define TLW_MAX_SINKS 64
#define TLW_HTTP_BUDGET (16u * 1024 * 1024)
#define TLW_DRAIN_MS 60000 /* once: longest wait for deliveries at the end */

uint64_t
tlw_random(struct tlw *t, uint64_t n)
{
    /* xorshift64*: jitter only, never security. */
    uint64_t x = t->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return n ? (x * 0x2545f4914f6cdd1dULL) % n : 0;
}

uint64_t
tlw_jitter(struct tlw *t, uint64_t ms, unsigned pct)
{
    uint64_t span = ms * pct / 100;

    if (span == 0) {
        return ms;
    }
    return ms - span + tlw_random(t, 2 * span + 1);
}

size_t
tlw_sinks_for(const struct tlw *t, enum notify_severity sev, const char **names,
              size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < t->cfg->n_sinks && n < cap; i++) {
        if ((int)sev >= (int)t->cfg->sinks[i].min_severity) {
            names[n++] = t->cfg->sinks[i].name;
        }
    }
    return n;
}

void
tlw_alert_raised(struct tlw *t, enum notify_severity sev)
{
    if (sev >= NOTIFY_WARNING) {
        t->alerts_warning = 1;
    }
}

int
tlw_alert_record(struct tlw *t, int64_t log_id, json_t *alert)
{
    struct store_alert a;
    const char *sinks[TLW_MAX_SINKS];
    char *body = notify_alert_render(alert);
    int inserted = 0, rc;

    if (body == NULL) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.id = notify_alert_get_id(alert);
    a.type = notify_alert_get_type(alert);
    a.severity = notify_alert_get_severity(alert);
    a.detected_at = time(NULL);
    a.body = body;
    a.sinks = sinks;
    a.nsinks = tlw_sinks_for(t, a.severity, sinks, TLW_MAX_SINKS);
    rc = store_alert_record(t->store, log_id, &a, &inserted);
    free(body);
    if (rc == 0) {
        tlw_alert_raised(t, a.severity);
        if (inserted) {
            tlw_outbox_flush(t);
        }
    }
    return rc;
}

void
tlw_outbox_flush(struct tlw *t)
{
    outbox_kick(t->outbox);
}

/* A new delivery worker for t->cfg (sinks and heartbeat are copied). */
static struct outbox *
tlw_outbox_new(struct tlw *t, char *err, size_t errlen)
{
    struct outbox_opts oo;

    memset(&oo, 0, sizeof(oo));
    oo.base = t->base;
    oo.store = t->store;
    oo.cfg = t->cfg;
    oo.http = t->http;
    oo.seed = tlw_random(t, UINT64_MAX);
    oo.heartbeat = t->mode == TLW_MODE_RUN;
    return outbox_new(&oo, err, errlen);
}

static void
tlw_drained(void *arg)
{
    struct tlw *t = arg;

    event_base_loopbreak(t->base);
}

void
tlw_fatal(struct tlw *t, const char *what)
{
    log_errx("fatal: %s", what);
    sdnotify_stopping(t->sd);
    t->fatal = 1;
    event_base_loopbreak(t->base);
}

/* once, at the end: give every due delivery its attempt, then stop. */
static void
tlw_once_deliver(void *arg)
{
    struct tlw *t = arg;

    if (t->outbox != NULL) {
        outbox_drain(t->outbox, TLW_DRAIN_MS, tlw_drained, t);
    } else {
        event_base_loopbreak(t->base);
    }
}

void
tlw_follower_done(struct tlw *t, struct follower *f, int failed)
{
    (void)f;
    if (failed) {
        t->once_failed = 1;
    }
    if (t->once_pending > 0 && --t->once_pending == 0) {
        /* once: the CT certificates due by now, judged with what every
         * Rekor log showed in this cycle. */
        if (t->mode == TLW_MODE_ONCE && !t->fatal) {
            (void)unlogged_check(t);
        }
        /* once: one attempt at every pending PCR lookup (their alerts
         * are delivered with the rest), then deliver and stop. */
        if (t->mode == TLW_MODE_ONCE && t->pcrwatch == NULL && !t->fatal) {
            t->pcrwatch = pcrwatch_once(t, tlw_once_deliver, t);
            if (t->pcrwatch != NULL) {
                return;
            }
            log_warnx("once: out of memory for the PCR lookups");
        }
        tlw_once_deliver(t);
    }
}

/* What the store knows: how many logs, since when, which names. */
struct tlw_known {
    size_t n;
    int64_t oldest;
    const char *name; /* looked up, or NULL */
    int found;
};

static int
tlw_known_cb(void *arg, const struct store_log_status *st)
{
    struct tlw_known *k = arg;

    if (k->n++ == 0 || st->created_at < k->oldest) {
        k->oldest = st->created_at;
    }
    if (k->name != NULL && strcmp(k->name, st->name) == 0) {
        k->found = 1;
    }
    return 0;
}

/* A log.added / log.retired alert (info) for a discovered log. */
static int
tlw_discovery_alert(struct tlw *t, const char *type,
                    const struct config_discovery *d)
{
    char key[1024], summary[1024];
    json_t *a;
    int rc;

    snprintf(key, sizeof(key), "%s|%s|%s", d->log.name, d->log.url, type);
    snprintf(summary, sizeof(summary),
             strcmp(type, "log.added") == 0
                 ? "the trusted root lists %s log %s (%s): now followed"
                 : "the trusted root's validity of %s log %s (%s) ended: "
                   "followed to its final checkpoint",
             config_log_kind_name(d->log.kind), d->log.name, d->log.url);
    a = notify_alert_new(type, key, summary, time(NULL));
    if (a == NULL) {
        return -1;
    }
    notify_alert_set(a, "log",
                     json_pack("{s:s, s:s, s:s}", "name", d->log.name, "origin",
                               d->origin, "url", d->log.url));
    log_info("%s: %s: %s", d->log.name, type, summary);
    rc = tlw_alert_record(t, 0, a);
    json_decref(a);
    return rc;
}

/*
 * logs_from_trusted_root: append tr's logs to cfg (config/discovery.h)
 * before any follower reads it.  A log is new (log.added) when old (the
 * running config, on reload) does not name it, or at start when the
 * store has state but never saw it; a retired one raises log.retired
 * (both idempotent).  Returns 0, or -1 with err.
 */
static int
tlw_discover(struct tlw *t, struct config *cfg,
             const struct config_trusted_root *tr, const struct config *old,
             char *err, size_t errlen)
{
    struct config_discovery *d = NULL;
    struct tlw_known k;
    char mc[4096];
    size_t n = 0, i;
    int64_t now = (int64_t)time(NULL);

    if (!cfg->logs_from_trusted_root) {
        return 0;
    }
    memset(&k, 0, sizeof(k));
    if (store_logs_each(t->store, tlw_known_cb, &k) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(t->store));
        return -1;
    }
    if (config_discover(
            cfg, tr,
            config_discovery_monitor_path(cfg->trusted_root, mc, sizeof(mc)),
            now, k.n > 0 ? k.oldest : now, &d, &n, err, errlen) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        int fresh;
        if (d[i].skip != NULL) {
            log_info("trusted root: %s (%s) not followed: %s", d[i].log.name,
                     d[i].log.url, d[i].skip);
            continue;
        }
        if (d[i].overridden) {
            continue; /* the logs: entry with its URL is followed */
        }
        if (old != NULL) {
            fresh = config_log_find(old, d[i].log.name) == NULL;
        } else {
            struct tlw_known kn;
            memset(&kn, 0, sizeof(kn));
            kn.name = d[i].log.name;
            fresh = store_logs_each(t->store, tlw_known_cb, &kn) == 0 &&
                    kn.n > 0 && !kn.found;
        }
        if ((fresh && tlw_discovery_alert(t, "log.added", &d[i]) != 0) ||
            (d[i].retired &&
             tlw_discovery_alert(t, "log.retired", &d[i]) != 0)) {
            snprintf(err, errlen, "%s", store_errmsg(t->store));
            config_discovery_free(d, n);
            return -1;
        }
    }
    if (config_discovery_apply(cfg, d, n) != 0) {
        snprintf(err, errlen, "out of memory");
        config_discovery_free(d, n);
        return -1;
    }
    config_discovery_free(d, n);
    if (cfg->n_logs == 0) {
        snprintf(err, errlen,
                 "%s: no log to follow (logs_from_trusted_root found none)",
                 cfg->trusted_root);
        return -1;
    }
    log_info("trusted root: following %zu logs", cfg->n_logs);
    return 0;
}

int
tlw_discover_view(struct config *cfg, struct store *s, char *warn,
                  size_t warnlen)
{
    struct config_trusted_root *tr;
    struct config_discovery *d = NULL;
    struct tlw_known k;
    char mc[4096], tre[CONFIG_TRUSTED_ROOT_ERR_LEN];
    size_t n = 0;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;

    warn[0] = '\0';
    if (!cfg->logs_from_trusted_root) {
        return 0;
    }
    tr = config_trusted_root_load(cfg->trusted_root, tre, sizeof(tre));
    if (tr == NULL) {
        snprintf(warn, warnlen, "logs_from_trusted_root: %s", tre);
        return 0;
    }
    memset(&k, 0, sizeof(k));
    if (store_logs_each(s, tlw_known_cb, &k) != 0) {
        snprintf(warn, warnlen, "%s", store_errmsg(s));
        config_trusted_root_free(tr);
        return -1;
    }
    if (config_discover(
            cfg, tr,
            config_discovery_monitor_path(cfg->trusted_root, mc, sizeof(mc)),
            now, k.n > 0 ? k.oldest : now, &d, &n, tre, sizeof(tre)) != 0) {
        snprintf(warn, warnlen, "logs_from_trusted_root: %s", tre);
    } else if (config_discovery_apply(cfg, d, n) != 0) {
        snprintf(warn, warnlen, "out of memory");
        rc = -1;
    }
    config_discovery_free(d, n);
    config_trusted_root_free(tr);
    return rc;
}

static int
tlw_build_followers(struct tlw *t, char *err, size_t errlen)
{
    size_t i;

    tlw_env_init(t);
    t->followers = calloc(t->cfg->n_logs, sizeof(*t->followers));
    if (t->followers == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < t->cfg->n_logs; i++) {
        t->followers[i] = follower_new(&t->env, &t->cfg->logs[i], err, errlen);
        if (t->followers[i] == NULL) {
            return -1;
        }
        t->n_followers = i + 1;
    }
    return 0;
}

static void
tlw_free_followers(struct tlw *t)
{
    size_t i;

    for (i = 0; i < t->n_followers; i++) {
        follower_free(t->followers[i]);
    }
    free(t->followers);
    t->followers = NULL;
    t->n_followers = 0;
}

/* Load config and trusted root; on success the caller owns both. */
static int
tlw_load(const char *path, struct config **cfgp,
         struct config_trusted_root **trp, char *err, size_t errlen)
{
    struct config_errors *errs = NULL;
    struct config *cfg = config_load(path, &errs);
    char tre[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *tr;

    if (cfg == NULL) {
        size_t i;
        for (i = 0; errs != NULL && i < errs->n; i++) {
            char line[1024];
            log_warnx("%s",
                      config_error_format(&errs->v[i], line, sizeof(line)));
        }
        snprintf(err, errlen, "%s: invalid configuration (%zu errors)", path,
                 errs != NULL ? errs->n : (size_t)0);
        config_errors_free(errs);
        return -1;
    }
    tr = config_trusted_root_load(cfg->trusted_root, tre, sizeof(tre));
    if (tr == NULL) {
        snprintf(err, errlen, "%s", tre);
        config_free(cfg);
        return -1;
    }
    *cfgp = cfg;
    *trp = tr;
    return 0;
}

int
tlw_init(struct tlw *t, struct event_base *base, const char *config_path,
         enum tlw_mode mode, char *err, size_t errlen)
{
    char serr[STORE_ERRMSG_MAX];
    struct http_client_opts ho;

    memset(t, 0, sizeof(*t));
    t->base = base;
    t->mode = mode;
    t->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
             0x9e3779b97f4a7c15ULL;
    t->config_path = strdup(config_path);
    if (t->config_path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tlw_load(config_path, &t->cfg, &t->troot, err, errlen) != 0) {
        return -1;
    }
    t->policy = policy_new(t->cfg, t->troot, err, errlen);
    if (t->policy == NULL) {
        return -1;
    }
    t->store = store_open(t->cfg->state, 0, serr, sizeof(serr));
    if (t->store == NULL) {
        snprintf(err, errlen, "%s", serr);
        return -1;
    }
    if (tlw_discover(t, t->cfg, t->troot, NULL, err, errlen) != 0) {
        return -1;
    }
    memset(&ho, 0, sizeof(ho));
    ho.ca_file = getenv("TLOGWATCH_CA_FILE");
    /* Response bytes buffered for the whole daemon, whatever the logs'
     * max_concurrency: with one 16 MiB answer allowed past it, bodies
     * stay under 32 MiB (peak RSS under 64 MiB against hostile logs). */
    ho.buffer_budget = TLW_HTTP_BUDGET;
    t->http = http_client_new(base, &ho);
    if (t->http == NULL) {
        snprintf(err, errlen, "cannot create the HTTP client");
        return -1;
    }
    t->outbox = tlw_outbox_new(t, err, errlen);
    if (t->outbox == NULL) {
        return -1;
    }
    return tlw_build_followers(t, err, errlen);
}

static void
tlw_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct tlw *t = arg;

    (void)what;
    if (sig == SIGHUP) {
        log_info("SIGHUP: reloading %s", t->config_path);
        sdnotify_reloading(t->sd);
        if (tlw_reload(t) != 0) {
            log_warnx("reload failed; keeping the running configuration");
        }
        (void)sdnotify_ready(t->sd);
        return;
    }
    log_info("signal %d: committing and stopping", (int)sig);
    sdnotify_stopping(t->sd);
    event_base_loopbreak(t->base);
}

int
tlw_start(struct tlw *t)
{
    size_t i;

    t->sig_term = evsignal_new(t->base, SIGTERM, tlw_signal_cb, t);
    t->sig_int = evsignal_new(t->base, SIGINT, tlw_signal_cb, t);
    t->sig_hup = evsignal_new(t->base, SIGHUP, tlw_signal_cb, t);
    if (t->sig_term == NULL || t->sig_int == NULL || t->sig_hup == NULL ||
        evsignal_add(t->sig_term, NULL) != 0 ||
        evsignal_add(t->sig_int, NULL) != 0 ||
        evsignal_add(t->sig_hup, NULL) != 0) {
        return -1;
    }
    /* The status server first: an address that cannot be bound stops
     * the start with its reason (run only). */
    if (t->mode == TLW_MODE_RUN && t->cfg->http.listen != NULL) {
        char err[512];
        if ((t->server = server_start(t, err, sizeof(err))) == NULL) {
            log_warnx("%s", err);
            return -1;
        }
    }
    t->once_pending = t->n_followers;
    for (i = 0; i < t->n_followers; i++) {
        follower_start(t->followers[i]);
    }
    /* Deliver what an earlier run left pending. */
    tlw_outbox_flush(t);
    if (t->mode == TLW_MODE_RUN && report_timer_start(t, &t->reports) != 0) {
        return -1;
    }
    /* Pending PCR lookups, this run's and an earlier run's. */
    if (t->mode == TLW_MODE_RUN && (t->pcrwatch = pcrwatch_new(t)) == NULL) {
        return -1;
    }
    /* CT certificates with no Rekor entry (run only; once: at its end). */
    if (t->mode == TLW_MODE_RUN && unlogged_start(t, &t->unlogged) != 0) {
        return -1;
    }
    /* Prune old state now and daily (config retention:; run only). */
    if (t->mode == TLW_MODE_RUN && retention_start(t, &t->retention) != 0) {
        return -1;
    }
    /* Every log is loaded and the store is open: tell systemd (run only;
     * a no-op outside it), and ping its watchdog from the loop. */
    if (t->mode == TLW_MODE_RUN) {
        if ((t->sd = sdnotify_new(t->base)) == NULL) {
            return -1;
        }
        (void)sdnotify_ready(t->sd);
    }
    return 0;
}

/*
 * What the followers carry over a reload (follower_carry: counters and
 * caught-up time, for logs the reload leaves unchanged).  new (free()),
 * n of them; NULL without memory (nothing is carried: a warning).
 */
static struct follower_carry *
tlw_carry_take(const struct tlw *t, size_t *n)
{
    struct follower_carry *c = calloc(t->n_followers + 1, sizeof(*c));
    size_t i;

    *n = 0;
    if (c == NULL) {
        log_warnx("reload: out of memory: the followers' counters restart");
        return NULL;
    }
    for (i = 0; i < t->n_followers; i++) {
        follower_carry_get(t->followers[i], &c[i]);
    }
    *n = t->n_followers;
    return c;
}

/* Give each new follower what the old one of its name carried (the old
 * config, which c borrows, is still alive). */
static void
tlw_carry_put(struct tlw *t, const struct follower_carry *c, size_t n)
{
    size_t i, j, carried = 0;

    for (i = 0; i < t->n_followers; i++) {
        for (j = 0; j < n; j++) {
            if (strcmp(follower_name(t->followers[i]), c[j].cfg->name) == 0) {
                carried += (size_t)follower_carry_put(t->followers[i], &c[j]);
                break;
            }
        }
    }
    log_info("reload: %zu of %zu logs unchanged (counters and caught-up "
             "time kept)",
             carried, t->n_followers);
}

int
tlw_reload(struct tlw *t)
{
    struct config *cfg = NULL;
    struct config_trusted_root *tr = NULL;
    struct config *old_cfg = t->cfg;
    struct config_trusted_root *old_tr = t->troot;
    struct policy *pol, *old_pol = t->policy;
    struct follower_carry *carry;
    char err[512];
    size_t i, ncarry;

    if (tlw_load(t->config_path, &cfg, &tr, err, sizeof(err)) != 0) {
        log_warnx("%s", err);
        return -1;
    }
    if (strcmp(cfg->state, t->cfg->state) != 0) {
        log_warnx("reload: 'state' cannot change while running");
        config_free(cfg);
        config_trusted_root_free(tr);
        return -1;
    }
    if (tlw_discover(t, cfg, tr, t->cfg, err, sizeof(err)) != 0) {
        log_warnx("reload: %s", err);
        config_free(cfg);
        config_trusted_root_free(tr);
        return -1;
    }
    pol = policy_new(cfg, tr, err, sizeof(err));
    if (pol == NULL) {
        log_warnx("reload: %s", err);
        config_free(cfg);
        config_trusted_root_free(tr);
        return -1;
    }
    /* Commit and drop the followers, then rebuild them from the store
     * (with what an unchanged log's follower carries). */
    carry = tlw_carry_take(t, &ncarry);
    tlw_free_followers(t);
    t->cfg = cfg;
    t->troot = tr;
    t->policy = pol;
    if (tlw_build_followers(t, err, sizeof(err)) != 0) {
        log_warnx("reload: %s; keeping the old configuration", err);
        tlw_free_followers(t);
        policy_free(pol);
        config_free(cfg);
        config_trusted_root_free(tr);
        t->cfg = old_cfg;
        t->troot = old_tr;
        t->policy = old_pol;
        if (tlw_build_followers(t, err, sizeof(err)) != 0) {
            free(carry);
            tlw_fatal(t, err);
            return -1;
        }
        tlw_carry_put(t, carry, ncarry);
    } else {
        struct outbox *ob;

        tlw_carry_put(t, carry, ncarry);
        ob = tlw_outbox_new(t, err, sizeof(err));
        if (ob == NULL) {
            log_warnx("reload: %s; keeping the old sinks", err);
        } else {
            /* In-flight deliveries stay pending and go out again. */
            outbox_free(t->outbox);
            t->outbox = ob;
            outbox_kick(ob);
        }
        policy_free(old_pol);
        config_free(old_cfg);
        config_trusted_root_free(old_tr);
        log_info("configuration reloaded: %zu logs", t->cfg->n_logs);
        server_reloaded(t->server);
    }
    free(carry);
    for (i = 0; i < t->n_followers; i++) {
        follower_start(t->followers[i]);
    }
    return 0;
}

void
tlw_free(struct tlw *t)
{
    server_free(t->server); /* first: it reads the followers and store */
    sdnotify_stopping(t->sd);
    tlw_free_followers(t);
    if (t->sig_term != NULL) {
        event_free(t->sig_term);
    }
    if (t->sig_int != NULL) {
        event_free(t->sig_int);
    }
    if (t->sig_hup != NULL) {
        event_free(t->sig_hup);
    }
    report_timer_free(t->reports);
    retention_free(t->retention);
    unlogged_free(t->unlogged);
    pcrwatch_free(t->pcrwatch); /* before the client: cancels lookups */
    outbox_free(t->outbox);     /* before the client: cancels its requests */
    http_client_free(t->http);
    store_close(t->store);
    policy_free(t->policy);
    config_trusted_root_free(t->troot);
    config_free(t->cfg);
    free(t->config_path);
    sdnotify_free(t->sd);
    memset(t, 0, sizeof(*t));
}
