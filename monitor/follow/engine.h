/*
 * engine.h: the follower engine, the machine every log protocol shares.
 *
 * One engine per followed log owns: the requests in flight, request
 * pacing (window, backoff, Retry-After), the poll cycle and its timer,
 * liveness (log.stale, log.unreachable) and once's end, the fetching of
 * entries in units (which units to ask for, in what batches, the retry
 * list with each missing unit's backoff and log.entries_withheld, the
 * look-ahead bound by count and bytes), and the cursor with its compact
 * range, root checks and commits.
 *
 * A protocol (rekor_v1.c: Rekor v1 REST; rekor_v2.c: Rekor v2
 * tlog-tiles; ct.c: an RFC 6962 CT log) supplies a table of operations
 * (struct fe_proto): read and verify the checkpoint, prove growth, seed a
 * start, say which units of entries exist and send a request for some,
 * and decode and apply what comes back.  Adding a protocol is a new file
 * with a new table.
 *
 * Everything reaches the daemon through the environment (env.h): the
 * engine and the protocols run the same on a test clock and transport.
 *
 * Invariants:
 *  - the cursor (next, range) runs ahead of the committed one
 *    (committed_next) only over entries applied in order; anything that
 *    goes wrong resets it to the committed state (fe_reset_cursor);
 *  - a unit the log does not return is re-asked only when its backoff has
 *    passed (withhold.h), never in a loop without delay; the cursor never
 *    passes it;
 *  - data from a log never ends the daemon: only follow_fatal (the store,
 *    memory) does.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_ENGINE_H
#define TLOGWATCH_MONITOR_FOLLOW_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "merkle/merkle.h"
#include "monitor/follow/env.h"
#include "monitor/follow/follow.h"
#include "monitor/follow/withhold.h"
#include "monitor/identity/policy.h"

struct config_log;
struct http_response;
struct follower;

#define FE_MAX_BATCH 16 /* units in one entries request, at most */
#define FE_URL_MAX 2048

/* Request kinds: FE_REQ_UNITS fetches entries (counted in the window);
 * the others are the protocol's own (checkpoint, proofs, tiles...). */
#define FE_REQ_UNITS 0

/* One request in flight. */
struct fe_req {
    struct follower *f;
    struct http_handle *h;
    int kind; /* FE_REQ_UNITS or the protocol's */
    size_t n; /* FE_REQ_UNITS: units asked for */
    uint64_t units[FE_MAX_BATCH];
    unsigned width;             /* the protocol's (v2: bundle width) */
    int level;                  /* the protocol's (v2: tile level) */
    uint64_t index;             /* the protocol's (v2: tile index) */
    struct fe_req *prev, *next; /* in-flight list */
};

/* What the engine needs to know of the log's current state. */
struct fe_view {
    int64_t log_id;     /* 0: none yet */
    const char *origin; /* "" when none */
    int has_cp;         /* a verified checkpoint */
    uint64_t vsize;     /* its size */
    const char *vnote;  /* its signed note (NULL when none) */
    int frozen;         /* its final checkpoint is recorded: never stale
                           (0 unless the protocol sets it) */
};

struct fe_proto {
    const char *name;
    unsigned batch; /* units per entries request, 1..FE_MAX_BATCH */
    /* Poll while entries are being fetched (new checkpoints extend what
     * is read past a withheld unit)? */
    int poll_while_fetching;

    /* New protocol state for f (keys from env->troot, resume from the
     * store): 0, or -1 with a message in err.  free(NULL) is a no-op. */
    int (*init)(struct follower *f, char *err, size_t errlen);
    void (*free)(struct follower *f);

    /* Start reading the checkpoint (fe_send, then f->polling = 1); the
     * protocol goes on from its response. */
    void (*poll)(struct follower *f);
    /* Busy on the checkpoint side (proofs, seeds, tiles)? */
    int (*busy)(const struct follower *f);
    void (*view)(const struct follower *f, struct fe_view *out);

    /* Units: those below fetch_end exist (covered by the verified
     * checkpoint); those below window_end may be asked for now (the
     * look-ahead by count). */
    uint64_t (*fetch_end)(const struct follower *f);
    uint64_t (*window_end)(const struct follower *f);
    /* Send one request for units[0..n): new (the engine links it, counts
     * it and fills r->units), or NULL when it cannot start. */
    struct fe_req *(*send_units)(struct follower *f, const uint64_t *units,
                                 size_t n);
    /* Entries virtual indexes [*first, *last] of unit u (alert text). */
    void (*unit_range)(const struct follower *f, uint64_t u, uint64_t *first,
                       uint64_t *last);
    /* Is the cursor at the end of what may be read now? */
    int (*caught_up)(const struct follower *f);
    /* Caught up and committed: end the cycle, or go on (a frozen v1
     * shard's successor). */
    void (*on_caught_up)(struct follower *f);
    /* A response to a request of the protocol (any kind; for
     * FE_REQ_UNITS the engine has taken it off the window already and
     * pumps afterwards). */
    void (*on_response)(struct follower *f, struct fe_req *r,
                        const struct http_response *resp);
    /* Drop what the protocol holds beyond the committed cursor (slots,
     * pending checks); called by fe_reset_cursor after the engine's own
     * part. */
    void (*reset)(struct follower *f);
    /* The base URL requests are sent under (no trailing '/'). */
    const char *(*base_url)(const struct follower *f);
};

/* The engine: the public struct follower. */
struct follower {
    const struct follow_env *env; /* borrowed */
    const struct config_log *cfg; /* borrowed */
    const struct fe_proto *proto; /* static */
    void *p;                      /* the protocol's state, owned */

    struct fe_req *reqs; /* all in flight, owned */
    struct follow_pace pace;
    struct follower_stats stats;
    struct follow_timer *poll_ev, *pump_ev; /* owned */
    int polling;             /* a checkpoint request is in flight */
    int once_done;           /* once: done was reported */
    int stopped;             /* an alert stopped progress until the next poll */
    uint64_t last_growth_ms; /* monotonic: the verified size last grew */
    int64_t poll_wall;       /* wall s: the current poll cycle began */
    int64_t poll_wall_prev;  /* wall s: the poll before it began (a failed
                                poll's is taken back: its checkpoint was
                                not read) */
    int64_t seen_until;      /* wall s: see follower_seen_until */
    char last_error[256];    /* the last failure (once's last line) */

    /* The cursor: committed and applied. */
    int has_cursor;
    uint64_t committed_next; /* virtual */
    uint64_t next;           /* virtual, applied */
    struct merkle_range range;
    uint64_t root_checks;               /* since the last commit */
    json_t *batch_alerts;               /* found since the last commit */
    struct policy_batch batch_signings; /* found since the last commit */

    /* Fetching. */
    int fetching;
    unsigned inflight;   /* FE_REQ_UNITS requests in flight */
    uint64_t fetch_next; /* next unit never requested */
    uint64_t *retry;     /* units to ask for again, owned */
    size_t nretry, retry_cap;
    struct withhold wh; /* units the log did not return */
    size_t ahead_bytes; /* held ahead of the cursor (the protocol's) */
    size_t ahead_max;   /* look-ahead bound in bytes */
};

/* ---- requests ---------------------------------------------------------- */

/* Send method path (under proto->base_url) with body (may be NULL), at
 * most cap response bytes; linked into f->reqs.  NULL when it cannot
 * start. */
struct fe_req *fe_send(struct follower *f, int kind, enum http_method method,
                       const char *path, const char *body, size_t body_len,
                       uint64_t cap);
/* Cancel every request of kind (-1: all); FE_REQ_UNITS clears inflight. */
void fe_cancel(struct follower *f, int kind);
/* 429, 5xx and transport errors (but not a refused or oversized
 * answer): the log asks us to slow down. */
int fe_is_throttle(const struct http_response *resp);

/* ---- pacing, liveness, the poll cycle ---------------------------------- */

/* Record a failure in the log and the store (recent errors). */
void fe_error(struct follower *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* fe_error for a response that is not a 200. */
void fe_response_error(struct follower *f, const struct http_response *resp,
                       const char *what);
/* Raise a log.* alert now about this log; evidence is stolen. */
void fe_log_alert(struct follower *f, const char *type, const char *key,
                  const char *summary, const char *origin, json_t *evidence);
/*
 * A final checkpoint (a frozen Rekor v2 log's, a Rekor v1 inactive
 * shard's) must never change: compare cp (its signed note: note, len)
 * with the one recorded for (this log, origin), recording it on first
 * sight (store_frozen_check).  Another size or root raises
 * log.inconsistent (critical, both notes as evidence; id stable per pair,
 * so raised once); label names the frozen thing in the summary ("log
 * NAME", "shard ORIGIN"); alert_origin as for fe_log_alert.  Returns 0
 * with *res, or -1 after follow_fatal (store).
 */
int fe_frozen_check(struct follower *f, const char *label, const char *origin,
                    const char *alert_origin, const char *note, size_t len,
                    const struct merkle_checkpoint *cp, int *res);
void fe_liveness(struct follower *f, int ok);
void fe_throttle(struct follower *f, const struct http_response *resp);
void fe_unthrottle(struct follower *f);
void fe_arm_poll(struct follower *f, uint64_t ms);
/* A checkpoint-side step failed (resp: the response, may be NULL). */
void fe_poll_failed(struct follower *f, const struct http_response *resp);
/* The cycle is over: once reports (failed: could not complete), run arms
 * the next poll. */
void fe_cycle_done(struct follower *f, int failed);
/* The verified size grew (for log.stale). */
void fe_grew(struct follower *f);

/* ---- fetching ---------------------------------------------------------- */

/* Ask for more units if the window, the pause and the look-ahead allow;
 * end the fetch when caught up. */
void fe_pump(struct follower *f);
/* The log returned unit u. */
void fe_unit_got(struct follower *f, uint64_t u);
/* The log answered (status: HTTP status, 200 when the answer lacked it)
 * but not with unit u: ask again after its backoff; log.entries_withheld
 * once it has been missing for withhold_after. */
void fe_unit_missed(struct follower *f, uint64_t u, int status);
/* Unit u was not asked for successfully (throttled): ask again. */
void fe_unit_retry(struct follower *f, uint64_t u);
/* Request r for units was throttled (429, 5xx, transport): its units
 * are asked again after the pause; once gives up when the log has been
 * failing for unreachable_after. */
void fe_units_throttled(struct follower *f, const struct fe_req *r,
                        const struct http_response *resp);
/* The log answered something (not a throttle). */
void fe_answered(struct follower *f);

/* ---- the cursor -------------------------------------------------------- */

/* Commit [committed_next, next) with the range, checks, alerts and
 * signings: 0, or -1 after follow_fatal. */
int fe_commit(struct follower *f);
/* Back to the committed state: units requests cancelled, retries and
 * batch dropped, cursor from the store, then proto->reset. */
void fe_reset_cursor(struct follower *f);

/* The protocols. */
extern const struct fe_proto rekor_v1_proto;
extern const struct fe_proto rekor_v2_proto;
extern const struct fe_proto ct_proto; /* ct.c: RFC 6962 CT */

#endif
