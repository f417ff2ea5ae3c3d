/*
 * tlw.h: the daemon's one context (STYLE.md rule 6): the event loop, the
 * configuration, the trust material, the store, the HTTP client and the
 * log followers hang off one struct tlw that main creates.
 *
 * Invariants: one event_base, created and dispatched by the caller; every
 * module arms its own timers on it.  Alerts reach the store through
 * tlw_alert_record (or a follower's progress commit) and leave it through
 * the outbox, so an alert is on disk before anyone is told about it.
 */
#ifndef TLOGWATCH_MONITOR_TLW_H
#define TLOGWATCH_MONITOR_TLW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "monitor/follow/env.h"
#include "notify/severity.h"

struct event_base;
struct event;
struct config;
struct config_trusted_root;
struct store;
struct http_client;
struct follower;
struct report_timer;
struct policy;
struct outbox;
struct pcrwatch;
struct retention;
struct unlogged;
struct server;
struct sdnotify;

enum tlw_mode {
    TLW_MODE_RUN = 0, /* the daemon: poll forever */
    TLW_MODE_ONCE,    /* catch every log up once, deliver, exit */
};

struct tlw {
    struct event_base *base; /* borrowed from main */
    enum tlw_mode mode;
    char *config_path;                 /* owned */
    struct config *cfg;                /* owned */
    struct config_trusted_root *troot; /* owned */
    struct policy *policy;             /* owned; borrows troot */
    struct store *store;               /* owned */
    struct http_client *http;          /* owned */
    struct outbox *outbox;             /* owned: delivery worker */
    struct follower **followers;       /* owned, n_followers */
    size_t n_followers;
    struct report_timer *reports; /* owned; NULL: no periodic report */
    struct pcrwatch *pcrwatch;    /* owned: PCR lookups (once: from the end) */
    struct retention *retention;  /* owned; run only: state pruning */
    struct unlogged *unlogged;    /* owned; run only: CT certificates */
    struct server *server; /* owned; run with http.listen: status server */
    struct sdnotify *sd; /* owned; run only: systemd READY/WATCHDOG/STOPPING */
    struct event *sig_term, *sig_int, *sig_hup; /* owned */
    uint64_t rng;                               /* jitter PRNG state */
    struct follow_env env; /* what the followers see of this context */
    /* once: */
    size_t once_pending; /* followers not yet done */
    int once_failed;     /* a follower could not complete */
    int alerts_warning;  /* alerts >= warning were raised */
    int fatal;           /* a store write failed: stop */
};

/*
 * Build the context from a config file: load and validate the config and
 * the trusted root, open the store, create the HTTP client and one
 * follower per log.  Returns 0, or -1 with a one-line message in err.
 * Nothing is started: tlw_start arms the timers.
 */
int tlw_init(struct tlw *t, struct event_base *base, const char *config_path,
             enum tlw_mode mode, char *err, size_t errlen);
/*
 * For status and report, which read the state without running: append to
 * cfg the logs its trusted root announces (logs_from_trusted_root), as
 * the daemon does at start, so that a discovered log shows with its kind,
 * url and deadlines, and one not reached yet shows at all.  No alert, no
 * write.  A trusted root that does not load (or a bad monitor config)
 * leaves cfg as it is: 0 with a warning in warn.  -1 with warn when the
 * store cannot be read or memory ran out.  warn is "" otherwise.
 */
int tlw_discover_view(struct config *cfg, struct store *s, char *warn,
                      size_t warnlen);

/* Arm signals and start every follower. */
int tlw_start(struct tlw *t);
/* Stop: commit what followers hold, free everything.  Safe on a
 * partially initialised context. */
void tlw_free(struct tlw *t);

/* Reload the config (SIGHUP): validated first; the old one stays on any
 * error.  Followers are rebuilt from the store's state. */
int tlw_reload(struct tlw *t);

/* Point t->env (the followers' environment, tlw_env.c) at t's current
 * store, rules and trust material; again after each reload. */
void tlw_env_init(struct tlw *t);

/* A follower finished its once-cycle; failed = could not complete. */
void tlw_follower_done(struct tlw *t, struct follower *f, int failed);
/* A store write failed: stop the loop; main exits 3. */
void tlw_fatal(struct tlw *t, const char *what);

/* Uniform random in [0, n) from the context's PRNG (n > 0). */
uint64_t tlw_random(struct tlw *t, uint64_t n);
/* ms +- pct percent of jitter. */
uint64_t tlw_jitter(struct tlw *t, uint64_t ms, unsigned pct);

/*
 * The sinks an alert of severity sev goes to (names borrowed from the
 * config), at most cap; returns how many.
 */
size_t tlw_sinks_for(const struct tlw *t, enum notify_severity sev,
                     const char **names, size_t cap);

/*
 * Record an alert that is not part of an entry batch (log.* alerts),
 * idempotently, with its deliveries, and deliver what is due.  alert is
 * borrowed.  log_id 0: not about a log.  Returns 0 or -1 (store error).
 */
int tlw_alert_record(struct tlw *t, int64_t log_id, json_t *alert);

/* New outbox rows may be due: let the delivery worker scan (stdout rows
 * are written before it returns, the others are sent on the loop). */
void tlw_outbox_flush(struct tlw *t);

/* Note that an alert of severity sev was raised (once's exit code). */
void tlw_alert_raised(struct tlw *t, enum notify_severity sev);

#endif
