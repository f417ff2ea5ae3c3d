/*
 * retention.c: the daemon's state retention (see retention.h).  One
 * evtimer on the context's loop.  A run is a series of firings, each one
 * store_prune call of at most one batch of RETENTION_BATCH rows that
 * deletes something, re-armed at once while the store says there is
 * more (the loop serves the followers in between); then the totals are
 * logged and the next run armed (a timer arms its own next deadline): a
 * day later, or RETENTION_RETRY_MS later when the store failed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config/config.h"
#include "monitor/log.h"
#include "monitor/retention.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"

struct retention {
    struct tlw *t;                /* borrowed: the context that owns it */
    struct event *ev;             /* owned */
    int running;                  /* a run is under way (more to do) */
    struct store_prune_stats sum; /* of the run under way */
    struct timespec started;      /* CLOCK_MONOTONIC, of the run */
};

void
retention_from_config(const struct config_retention *c,
                      struct store_retention *out)
{
    memset(out, 0, sizeof(*out));
    /* <= CONFIG_MAX_DURATION_MS (100 years): fits an int64_t. */
    out->checkpoints = (int64_t)(c->checkpoints_ms / 1000);
    out->alerts = (int64_t)(c->alerts_ms / 1000);
    out->signings = (int64_t)(c->signings_ms / 1000);
}

/* "400d" or "never" (0), for the log line; whole days when exact. */
static const char *
retention_show(int64_t secs, char *buf, size_t cap)
{
    if (secs == 0) {
        snprintf(buf, cap, "never");
    } else if (secs % 86400 == 0) {
        snprintf(buf, cap, "%" PRId64 "d", secs / 86400);
    } else {
        snprintf(buf, cap, "%" PRId64 "s", secs);
    }
    return buf;
}

/* The retention of t->cfg; 0 when none is configured. */
static int
retention_get(struct tlw *t, struct store_retention *r)
{
    retention_from_config(&t->cfg->retention, r);
    return r->checkpoints != 0 || r->alerts != 0 || r->signings != 0;
}

static void
retention_log(const struct store_retention *r,
              const struct store_prune_stats *st, double secs)
{
    char a[32], b[32], c[32];

    log_info("retention: pruned %" PRIu64 " checkpoints, %" PRIu64
             " alerts (%" PRIu64 " deliveries), %" PRIu64
             " signings in %" PRIu64 " transactions, %.1f s "
             "(expire: checkpoints %s, alerts %s, signings %s); %" PRIu64
             " CT certificates",
             st->checkpoints, st->alerts, st->deliveries, st->signings,
             st->transactions, secs,
             retention_show(r->checkpoints, a, sizeof(a)),
             retention_show(r->alerts, b, sizeof(b)),
             retention_show(r->signings, c, sizeof(c)), st->ct_certs);
}

static double
retention_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
retention_add(struct store_prune_stats *sum, const struct store_prune_stats *st)
{
    sum->checkpoints += st->checkpoints;
    sum->alerts += st->alerts;
    sum->deliveries += st->deliveries;
    sum->signings += st->signings;
    sum->ct_certs += st->ct_certs;
    sum->transactions += st->transactions;
}

static void
retention_arm(struct retention *rn, uint64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    if (evtimer_add(rn->ev, &tv) != 0) {
        log_warnx("retention: cannot arm the timer");
    }
}

/* One step of a run: one batch (re-armed at once while there is more). */
static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
    struct retention *rn = arg;
    struct store_retention r;
    struct store_prune_stats st;

    (void)fd;
    (void)what;
    if (!retention_get(rn->t, &r)) {
        log_debug("retention: none configured, nothing is deleted");
        rn->running = 0;
        retention_arm(rn, RETENTION_PERIOD_MS);
        return;
    }
    if (!rn->running) {
        rn->running = 1;
        memset(&rn->sum, 0, sizeof(rn->sum));
        clock_gettime(CLOCK_MONOTONIC, &rn->started);
    }
    r.batch = RETENTION_BATCH;
    r.max_batches = 1;
    if (store_prune(rn->t->store, &r, (int64_t)time(NULL), &st) != 0) {
        retention_add(&rn->sum, &st);
        log_warnx("retention: prune failed: %s", store_errmsg(rn->t->store));
        retention_log(&r, &rn->sum, retention_since(&rn->started));
        rn->running = 0;
        retention_arm(rn, RETENTION_RETRY_MS);
        return;
    }
    retention_add(&rn->sum, &st);
    if (st.more) {
        retention_arm(rn, 0); /* the loop runs, then the next batch */
        return;
    }
    retention_log(&r, &rn->sum, retention_since(&rn->started));
    rn->running = 0;
    retention_arm(rn, RETENTION_PERIOD_MS);
}

int
retention_start(struct tlw *t, struct retention **out)
{
    struct retention *rn;

    *out = NULL;
    rn = calloc(1, sizeof(*rn));
    if (rn == NULL) {
        log_warnx("retention: out of memory");
        return -1;
    }
    rn->t = t;
    rn->ev = evtimer_new(t->base, retention_cb, rn);
    if (rn->ev == NULL) {
        log_warnx("retention: cannot create the timer");
        free(rn);
        return -1;
    }
    retention_arm(rn, 0);
    *out = rn;
    return 0;
}

void
retention_free(struct retention *r)
{
    if (r == NULL) {
        return;
    }
    if (r->ev != NULL) {
        event_free(r->ev);
    }
    free(r);
}
