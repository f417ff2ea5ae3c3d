/*
 * tlw_env.c: the daemon's side of the followers' environment
 * (monitor/follow/env.h): clocks, randomness and timers on the event
 * loop, the HTTP transport, and the context's store, rules, trust
 * material, alert sink and once bookkeeping.  The followers see only
 * this table, never struct tlw.
 */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "monitor/follow/env.h"
#include "monitor/http.h"
#include "monitor/tlw.h"

struct follow_timer {
    struct event *ev; /* owned */
    follow_timer_cb cb;
    void *arg;
};

static uint64_t
env_mono_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t
env_wall_s(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static uint64_t
env_random(void *ctx, uint64_t n)
{
    return tlw_random(ctx, n);
}

static void
env_timer_fire(evutil_socket_t fd, short what, void *arg)
{
    struct follow_timer *tm = arg;

    (void)fd;
    (void)what;
    tm->cb(tm->arg);
}

static struct follow_timer *
env_timer_new(void *ctx, follow_timer_cb cb, void *arg)
{
    struct tlw *t = ctx;
    struct follow_timer *tm = calloc(1, sizeof(*tm));

    if (tm == NULL) {
        return NULL;
    }
    tm->cb = cb;
    tm->arg = arg;
    tm->ev = evtimer_new(t->base, env_timer_fire, tm);
    if (tm->ev == NULL) {
        free(tm);
        return NULL;
    }
    return tm;
}

static void
env_timer_arm(struct follow_timer *tm, uint64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    evtimer_add(tm->ev, &tv);
}

static int
env_timer_pending(const struct follow_timer *tm)
{
    return evtimer_pending(tm->ev, NULL);
}

static void
env_timer_free(struct follow_timer *tm)
{
    if (tm == NULL) {
        return;
    }
    event_free(tm->ev);
    free(tm);
}

static struct http_handle *
env_http_request(void *ctx, const struct http_request_opts *o, http_done_cb cb,
                 void *arg)
{
    struct tlw *t = ctx;

    return http_request(t->http, o, cb, arg);
}

static void
env_http_cancel(void *ctx, struct http_handle *h)
{
    (void)ctx;
    http_cancel(h);
}

static int
env_alert_record(void *ctx, int64_t log_id, json_t *alert)
{
    return tlw_alert_record(ctx, log_id, alert);
}

static size_t
env_sinks_for(void *ctx, enum notify_severity sev, const char **names,
              size_t cap)
{
    return tlw_sinks_for(ctx, sev, names, cap);
}

static void
env_alert_raised(void *ctx, enum notify_severity sev)
{
    tlw_alert_raised(ctx, sev);
}

static void
env_outbox_flush(void *ctx)
{
    tlw_outbox_flush(ctx);
}

static void
env_done(void *ctx, struct follower *f, int failed)
{
    tlw_follower_done(ctx, f, failed);
}

static void
env_fatal(void *ctx, const char *what)
{
    tlw_fatal(ctx, what);
}

static int
env_is_fatal(void *ctx)
{
    const struct tlw *t = ctx;

    return t->fatal;
}

static const struct follow_env_ops tlw_env_ops = {
    env_mono_ms,      env_wall_s,        env_random,     env_timer_new,
    env_timer_arm,    env_timer_pending, env_timer_free, env_http_request,
    env_http_cancel,  env_alert_record,  env_sinks_for,  env_alert_raised,
    env_outbox_flush, env_done,          env_fatal,      env_is_fatal,
};

void
tlw_env_init(struct tlw *t)
{
    t->env.ops = &tlw_env_ops;
    t->env.ctx = t;
    t->env.store = t->store;
    t->env.policy = t->policy;
    t->env.troot = t->troot;
    t->env.once = t->mode == TLW_MODE_ONCE;
}
