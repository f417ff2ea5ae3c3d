/*
 * unlogged.c: signing.unlogged_certificate (see unlogged.h).  One evtimer
 * on the context's loop that arms its own next deadline.  The due rows
 * are copied out of the listing first, then each is fired in its own
 * transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "config/config.h"
#include "monitor/follow/follow.h"
#include "monitor/log.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "monitor/unlogged.h"
#include "notify/alert.h"

#define UNLOGGED_MAX_SINKS 64

struct unlogged {
    struct tlw *t;    /* borrowed: the context that owns it */
    struct event *ev; /* owned */
};

/* A due certificate, copied out of the listing. */
struct unlogged_due {
    char *link_id, *rule, *alert; /* owned */
    int64_t log_id;
    uint64_t log_index;
};

struct unlogged_list {
    struct unlogged_due v[UNLOGGED_BATCH];
    size_t n;
    int oom;
};

static int
unlogged_due_cb(void *arg, const struct store_ct_cert *c)
{
    struct unlogged_list *l = arg;
    struct unlogged_due *d = &l->v[l->n];

    d->link_id = strdup(c->link_id);
    d->rule = strdup(c->rule);
    d->alert = strdup(c->alert);
    d->log_id = c->log_id;
    d->log_index = c->log_index;
    l->n++;
    if (d->link_id == NULL || d->rule == NULL || d->alert == NULL) {
        l->oom = 1;
        return 1;
    }
    return l->n == UNLOGGED_BATCH;
}

/* The Rekor logs' rows in the store: since when each name has been
 * followed (its oldest row), the latest of those. */
struct unlogged_since {
    const struct tlw *t;
    int64_t since;
};

static int
unlogged_since_cb(void *arg, const struct store_log_status *st)
{
    struct unlogged_since *u = arg;
    size_t i;

    for (i = 0; i < u->t->cfg->n_logs; i++) {
        const struct config_log *l = &u->t->cfg->logs[i];
        if ((l->kind == CONFIG_LOG_REKOR_V1 ||
             l->kind == CONFIG_LOG_REKOR_V2) &&
            strcmp(l->name, st->name) == 0 && st->created_at > u->since) {
            u->since = st->created_at;
        }
    }
    return 0;
}

/* Until when every Rekor log has been read (unlogged.h "Time"). */
static int64_t
unlogged_until(const struct tlw *t, int64_t now)
{
    int64_t until = now;
    size_t i;

    for (i = 0; i < t->n_followers && i < t->cfg->n_logs; i++) {
        enum config_log_kind k = t->cfg->logs[i].kind;
        int64_t seen;

        if (k != CONFIG_LOG_REKOR_V1 && k != CONFIG_LOG_REKOR_V2) {
            continue;
        }
        seen = follower_seen_until(t->followers[i]);
        if (seen < until) {
            until = seen;
        }
    }
    return until;
}

/* Raise the prepared alert of d now.  1 raised, 0 not (logged
 * meanwhile), -1 store failure. */
static int
unlogged_fire(struct tlw *t, const struct unlogged_due *d, int64_t now)
{
    const char *sinks[UNLOGGED_MAX_SINKS];
    json_error_t jerr;
    json_t *a = json_loads(d->alert, 0, &jerr);
    struct store_alert sa;
    char when[32], *body = NULL;
    int fired = 0, rc = -1;

    if (a == NULL) {
        /* Written by policy_eval_ct; unreadable means a corrupt state. */
        log_warnx("unlogged certificate %s (rule %s): stored alert "
                  "unreadable: %s",
                  d->link_id, d->rule, jerr.text);
        return 0;
    }
    notify_rfc3339((time_t)now, when, sizeof(when));
    if (json_object_set_new(a, "detected_at", json_string(when)) != 0 ||
        (body = notify_alert_render(a)) == NULL) {
        json_decref(a);
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = notify_alert_get_type(a);
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = now;
    sa.has_index = 1;
    sa.log_index = d->log_index;
    sa.rule = d->rule;
    sa.body = body;
    sa.sinks = sinks;
    sa.nsinks = tlw_sinks_for(t, sa.severity, sinks, UNLOGGED_MAX_SINKS);
    if (sa.id != NULL && sa.type != NULL &&
        store_ct_cert_fire(t->store, d->link_id, d->rule, d->log_id, &sa,
                           &fired) == 0) {
        rc = fired;
        if (fired) {
            log_info("signing.unlogged_certificate: %s",
                     json_string_value(json_object_get(a, "summary")));
            tlw_alert_raised(t, sa.severity);
        }
    }
    free(body);
    json_decref(a);
    return rc;
}

int
unlogged_check(struct tlw *t)
{
    struct unlogged_list *l;
    struct unlogged_since us;
    int64_t now = (int64_t)time(NULL);
    int raised = 0;
    size_t i;

    if (t->store == NULL || t->fatal) {
        return 0;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        tlw_fatal(t, "out of memory");
        return -1;
    }
    /* Judged: certificates issued since every Rekor log has been
     * followed (an earlier one may be logged before a start: latest). */
    us.t = t;
    us.since = INT64_MIN;
    if (store_logs_each(t->store, unlogged_since_cb, &us) != 0 ||
        store_ct_certs_due(t->store, us.since, unlogged_until(t, now),
                           UNLOGGED_BATCH, unlogged_due_cb, l) != 0 ||
        l->oom) {
        tlw_fatal(t, l->oom ? "out of memory" : store_errmsg(t->store));
        raised = -1;
    }
    for (i = 0; raised >= 0 && i < l->n; i++) {
        int r = unlogged_fire(t, &l->v[i], now);
        if (r < 0) {
            tlw_fatal(t, store_errmsg(t->store));
            raised = -1;
        } else {
            raised += r;
        }
    }
    for (i = 0; i < l->n; i++) {
        free(l->v[i].link_id);
        free(l->v[i].rule);
        free(l->v[i].alert);
    }
    free(l);
    if (raised > 0) {
        tlw_outbox_flush(t);
    }
    return raised;
}

static void
unlogged_cb(evutil_socket_t fd, short what, void *arg)
{
    struct unlogged *u = arg;
    struct timeval tv = {(time_t)(UNLOGGED_CHECK_MS / 1000),
                         (suseconds_t)(UNLOGGED_CHECK_MS % 1000) * 1000};

    (void)fd;
    (void)what;
    if (unlogged_check(u->t) < 0) {
        return; /* fatal: the loop stops */
    }
    evtimer_add(u->ev, &tv);
}

int
unlogged_start(struct tlw *t, struct unlogged **out)
{
    struct unlogged *u = calloc(1, sizeof(*u));
    struct timeval tv = {(time_t)(UNLOGGED_CHECK_MS / 1000),
                         (suseconds_t)(UNLOGGED_CHECK_MS % 1000) * 1000};

    *out = NULL;
    if (u == NULL) {
        log_warnx("unlogged certificates: out of memory");
        return -1;
    }
    u->t = t;
    u->ev = evtimer_new(t->base, unlogged_cb, u);
    if (u->ev == NULL || evtimer_add(u->ev, &tv) != 0) {
        log_warnx("unlogged certificates: cannot arm the timer");
        unlogged_free(u);
        return -1;
    }
    *out = u;
    return 0;
}

void
unlogged_free(struct unlogged *u)
{
    if (u == NULL) {
        return;
    }
    if (u->ev != NULL) {
        event_free(u->ev);
    }
    free(u);
}
