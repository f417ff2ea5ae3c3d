/*
 * env.h: everything a log follower needs from the rest of the daemon, and
 * nothing more: two clocks, randomness, timers, the HTTP transport, the
 * store, the watch rules, the trust material, and where log alerts and
 * the end of a once-cycle go.
 *
 * The daemon (monitor/tlw_env.c) implements it over libevent, libcurl and its
 * context; tests implement it with a clock they set, timers they fire and
 * a transport they answer, so a follower runs deterministically without
 * sockets or sleeps.  Followers never see the daemon context (struct
 * tlw): the daemon includes the followers, never the other way round.
 *
 * Time: mono_ms is the only clock for deadlines, backoff and pacing (a
 * step of the wall clock neither fires nor suppresses them); wall_s is
 * used only for timestamps written to alerts and the store.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_ENV_H
#define TLOGWATCH_MONITOR_FOLLOW_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/http.h"
#include "notify/severity.h"

struct store;
struct policy;
struct config_trusted_root;
struct follower;
struct follow_timer;

typedef void (*follow_timer_cb)(void *arg);

struct follow_env_ops {
    /* Clocks: monotonic milliseconds; wall-clock seconds (Unix time). */
    uint64_t (*mono_ms)(void *ctx);
    int64_t (*wall_s)(void *ctx);
    /* Uniform in [0, n), n > 0 (jitter). */
    uint64_t (*random)(void *ctx, uint64_t n);

    /* A one-shot timer calling cb(arg) when it fires: new (timer_free),
     * NULL without memory.  timer_arm (re)arms it ms from now on the
     * monotonic clock; timer_pending says whether it is armed.
     * timer_free(NULL) is a no-op. */
    struct follow_timer *(*timer_new)(void *ctx, follow_timer_cb cb, void *arg);
    void (*timer_arm)(struct follow_timer *tm, uint64_t ms);
    int (*timer_pending)(const struct follow_timer *tm);
    void (*timer_free)(struct follow_timer *tm);

    /* The transport (monitor/http.h semantics): cb is called exactly once,
     * later (never from inside http_request), unless http_cancel is
     * called first.  NULL when the request cannot start. */
    struct http_handle *(*http_request)(void *ctx,
                                        const struct http_request_opts *o,
                                        http_done_cb cb, void *arg);
    void (*http_cancel)(void *ctx, struct http_handle *h);

    /* Alerts: record a log alert outside a batch (idempotent on its id,
     * with its deliveries) and deliver what is due: 0, or -1 on a store
     * failure.  alert is borrowed. */
    int (*alert_record)(void *ctx, int64_t log_id, json_t *alert);
    /* The sinks an alert of severity sev goes to (names borrowed), at
     * most cap; returns how many. */
    size_t (*sinks_for)(void *ctx, enum notify_severity sev, const char **names,
                        size_t cap);
    /* An alert of severity sev was raised (once's exit code). */
    void (*alert_raised)(void *ctx, enum notify_severity sev);
    /* New outbox rows may be due. */
    void (*outbox_flush)(void *ctx);

    /* once: follower f finished its cycle; failed = could not complete. */
    void (*done)(void *ctx, struct follower *f, int failed);
    /* A local failure (the store, memory): the daemon stops, exit 3.
     * Never called for anything a log sent. */
    void (*fatal)(void *ctx, const char *what);
    /* Has fatal been called? */
    int (*is_fatal)(void *ctx);
};

struct follow_env {
    const struct follow_env_ops *ops;
    void *ctx;
    struct store *store;                     /* borrowed */
    struct policy *policy;                   /* borrowed; NULL: no rules */
    const struct config_trusted_root *troot; /* borrowed */
    int once;                                /* 1: tlogwatch once */
};

#endif
