/*
 * retention.c: the daemon's state retention (see retention.h).  One
 * evtimer on the context's loop; each firing runs store_prune once and
 * arms the next run (a timer arms its own next deadline): a day later,
 * or RETENTION_RETRY_MS later when the store failed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config/config.h"
#include "monitor/log.h"
#include "monitor/retention.h"
#include "monitor/store.h"
#include "monitor/tlw.h"

struct retention {
    struct tlw *t;    /* borrowed: the context that owns this timer */
    struct event *ev; /* owned */
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

int
retention_run(struct tlw *t, struct store_prune_stats *out)
{
    struct store_retention r;
    struct store_prune_stats st;
    char a[32], b[32], c[32];
    int rc;

    memset(&st, 0, sizeof(st));
    retention_from_config(&t->cfg->retention, &r);
    if (r.checkpoints == 0 && r.alerts == 0 && r.signings == 0) {
        log_debug("retention: none configured, nothing is deleted");
        if (out != NULL) {
            *out = st;
        }
        return 0;
    }
    rc = store_prune(t->store, &r, (int64_t)time(NULL), &st);
    if (out != NULL) {
        *out = st;
    }
    if (rc != 0) {
        log_warnx("retention: prune failed: %s", store_errmsg(t->store));
    }
    log_info("retention: pruned %" PRIu64 " checkpoints, %" PRIu64
             " alerts (%" PRIu64 " deliveries), %" PRIu64
             " signings in %" PRIu64 " transactions "
             "(expire: checkpoints %s, alerts %s, signings %s)",
             st.checkpoints, st.alerts, st.deliveries, st.signings,
             st.transactions, retention_show(r.checkpoints, a, sizeof(a)),
             retention_show(r.alerts, b, sizeof(b)),
             retention_show(r.signings, c, sizeof(c)));
    return rc;
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

static void
retention_cb(evutil_socket_t fd, short what, void *arg)
{
    struct retention *rn = arg;

    (void)fd;
    (void)what;
    if (retention_run(rn->t, NULL) != 0) {
        retention_arm(rn, RETENTION_RETRY_MS);
        return;
    }
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
