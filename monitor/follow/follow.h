/*
 * follow.h: a follower of one transparency log, the daemon's view of it,
 * and the helpers every protocol of the follower engine (engine.h)
 * shares.  A follower is the engine with one protocol: Rekor v1 REST
 * (rekor_v1.c, all its shards) or Rekor v2 tlog-tiles (rekor_v2.c).
 *
 * It proves, before any state moves (DESIGN.md "What must be proven"):
 *  1. every checkpoint it accepts verifies with a pinned key of the log
 *     (from trusted_root.json; unknown signers ignored), and can be a tree
 *     of the log (follow_checkpoint_impossible: else log.inconsistent);
 *  2. every newer checkpoint is linked to the last verified one by a
 *     consistency proof (v1: from the log; v2: computed from hash tiles
 *     that hash to the new signed root), checked against the two signed
 *     roots; smaller -> log.rollback, same size with another root or a
 *     failing proof -> log.inconsistent;
 *  3. the cursor advances only over entries received in order, each leaf
 *     hash equal to the hash in its entry id, appended to the compact
 *     range; at each verified checkpoint size the range root must equal
 *     the signed root, or log.entries_mismatch and the cursor stops; an
 *     entry the log does not return is asked for again on its own backoff
 *     and raises log.entries_withheld after withhold_after (the cursor
 *     waits; v1 scans the entries after it, each proven on its own);
 *  4. a start point is seeded from a compact range checked against a
 *     signed root;
 *  5. final checkpoints never change (v1 inactive shards, a v2 log
 *     frozen: fe_frozen_check; re-checked every FOLLOW_FROZEN_POLL_MS, a
 *     v1 head that differs at once); a v1 rotation is followed: the old
 *     shard is finished to its final checkpoint, then the new one starts
 *     at 0 at the virtual offset the log states;
 *  7. the cursor, the compact range and the alerts found up to it are
 *     committed in one store transaction.
 *
 * Fetching: up to max_concurrency requests in flight; the window halves
 * on 429/5xx/transport errors (Retry-After honoured, exponential backoff
 * with jitter otherwise) and grows back by one per success; results are
 * applied in order from a reorder buffer bounded by count and bytes.
 * Deadlines and backoff run on the monotonic clock of env.h.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_H
#define TLOGWATCH_MONITOR_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "merkle/merkle.h"
#include "merkle/note.h"

struct follow_env;
struct config_log;
struct follower;
struct http_response;
struct policy_batch;

#define FOLLOW_BATCH 10          /* production's retrieve limit */
#define FOLLOW_COMMIT_EVERY 4096 /* entries between progress commits */
#define FOLLOW_MAX_RESPONSE (16u * 1024 * 1024) /* bytes of one response */
/* Bytes of entries held ahead of the cursor before no new index is asked
 * for (the ones the cursor waits for always are). */
#define FOLLOW_LOOKAHEAD_BYTES (8u * 1024 * 1024)
/* Entries read ahead of the cursor at the most: at least this many, so a
 * withheld entry does not hide the signings soon after it. */
#define FOLLOW_LOOKAHEAD_ENTRIES 4096
#define FOLLOW_MAX_SHARDS 64 /* inactive shards we accept */
/* A final checkpoint, once checked (a frozen Rekor v2 log read to its
 * size, a Rekor v1 inactive shard), is checked again this rarely: a v2
 * log is polled, a v1 shard's signed head (served with every poll of the
 * log) is verified and compared with the recorded one; a v1 head that
 * differs in any byte is checked at once. */
#define FOLLOW_FROZEN_POLL_MS (3600ULL * 1000)
#define FOLLOW_BACKOFF_BASE_MS 500
#define FOLLOW_BACKOFF_MAX_MS 60000
#define FOLLOW_ONCE_MAX_FAILURES 5 /* once: consecutive failures, then 3 */

/*
 * A follower of cfg (borrowed: must outlive the follower) in env
 * (borrowed, likewise).  Loads its keys from env->troot and its state
 * from env->store.  Returns new
 * (follower_free) or NULL with a message in err.
 */
struct follower *follower_new(const struct follow_env *env,
                              const struct config_log *cfg, char *err,
                              size_t errlen);
/* Arm the first poll (immediately). */
void follower_start(struct follower *f);
/* Commit what is applied but not committed; cancel requests; free.
 * NULL is a no-op. */
void follower_free(struct follower *f);

/* Classes of the answers to a follower's requests (metrics). */
enum follow_http_class {
    FOLLOW_HTTP_2XX = 0,
    FOLLOW_HTTP_3XX,
    FOLLOW_HTTP_4XX,
    FOLLOW_HTTP_5XX,
    FOLLOW_HTTP_ERROR, /* no HTTP status: transport error, timeout, cap */
    FOLLOW_HTTP_CLASSES,
};

/* What a failed proof was (metrics): a checkpoint signature
 * (log.bad_signature), a consistency proof (log.inconsistent), a root
 * check of the entries read (log.entries_mismatch). */
enum follow_proof_kind {
    FOLLOW_PROOF_CHECKPOINT = 0,
    FOLLOW_PROOF_CONSISTENCY,
    FOLLOW_PROOF_ROOT,
    FOLLOW_PROOF_KINDS,
};

/* Status counters for logs, tests and the status server's /metrics
 * (window, throttles seen, answers by class, ...), since the daemon
 * started: a reload carries them to the follower of the same log
 * (follower_carry_put). */
struct follower_stats {
    unsigned window;                    /* current request window */
    unsigned window_min;                /* smallest window since start */
    uint64_t throttled;                 /* 429 and 5xx answers */
    uint64_t retried;                   /* indexes asked for again */
    uint64_t requests;                  /* retrieve requests sent */
    uint64_t entries;                   /* entries applied */
    uint64_t http[FOLLOW_HTTP_CLASSES]; /* answers by class */
    uint64_t proofs_failed[FOLLOW_PROOF_KINDS]; /* by kind */
    /* Final checkpoints (a frozen Rekor v2 log's, a v1 inactive shard's)
     * compared with the recorded one (fe_frozen_check). */
    uint64_t frozen_checks;
};
/* The class of an answer (resp from the transport). */
enum follow_http_class follow_http_class_of(const struct http_response *resp);
/* Names for metrics labels: "2xx" .. "error"; "checkpoint", ... */
const char *follow_http_class_name(enum follow_http_class c);
const char *follow_proof_kind_name(enum follow_proof_kind k);
void follower_stats(const struct follower *f, struct follower_stats *out);
const char *follower_name(const struct follower *f);
/*
 * Wall-clock time (unix s) at which the latest poll cycle that ended
 * caught up began: every entry of the checkpoint it fetched, so every
 * entry the log had integrated before then (as far as its checkpoint
 * shows), is applied and committed.  0 before the first such cycle.  A
 * poll that read no checkpoint (it failed) does not count: the entries
 * read then are those of the poll before it.  A reload keeps it for a
 * log it leaves unchanged (follower_carry_put).
 * (signing.unlogged_certificate waits for every Rekor follower to have
 * seen past a certificate's deadline: monitor/unlogged.h.)
 */
int64_t follower_seen_until(const struct follower *f);

/*
 * What a reload (SIGHUP: every follower is rebuilt from the store) keeps
 * of a follower for the one that replaces it: the log it follows (its
 * config, borrowed from the old config, which must outlive the carry, and
 * its log id in the store), until when it has read the log
 * (follower_seen_until) and its counters (follower_stats).
 */
struct follower_carry {
    const struct config_log *cfg; /* borrowed */
    int64_t log_id;               /* 0: no log row yet */
    int64_t seen_until;
    struct follower_stats stats;
};
/* Take c from f (before follower_free). */
void follower_carry_get(const struct follower *f, struct follower_carry *c);
/*
 * Give f (new, not started) what c's follower had, when both follow the
 * same log: the same name, kind and url, and the same log id in the
 * store (the log row f resumed; 0 for both when never reached).  Returns
 * 1 when carried, 0 when not: a new or changed log starts afresh (its
 * counters at zero; not caught up until a cycle of its own).
 */
int follower_carry_put(struct follower *f, const struct follower_carry *c);

/* ---- shared by every protocol (engine.c) ------------------------------ */

/* b[0..n) in lower-case hex into out ("" when it does not fit). */
void follow_hex(const uint8_t *b, size_t n, char *out, size_t outcap);

/* Sizes and virtual indexes of a log stay below this (sqlite is signed,
 * and no log grows to it). */
#define FOLLOW_MAX_TREE_SIZE ((uint64_t)1 << 63)

/*
 * Can the validly signed checkpoint cp be a tree of this log?  NULL when
 * it can, else why not: a size of 2^63 or more, entries that would end
 * beyond virtual index 2^63 (offset: the virtual index of its local 0),
 * or an origin other than pinned_origin (NULL or "": not pinned yet).
 */
const char *follow_checkpoint_impossible(const struct merkle_checkpoint *cp,
                                         uint64_t offset,
                                         const char *pinned_origin);
/*
 * Raise log.inconsistent for such a checkpoint (note, note_len: its
 * signed note), with the last verified note (old_note, may be NULL) as
 * evidence; id stable per note, so a log that keeps serving it raises it
 * once.
 */
void follow_raise_impossible(const struct follow_env *env, const char *log_name,
                             int64_t log_id, const char *origin,
                             const char *old_note, const char *note,
                             size_t note_len, const char *why);

struct withhold_unit;
/*
 * Raise log.entries_withheld (critical) for unit u (follow/withhold.h),
 * whose entries start at virtual index first_index: the signed note that
 * commits to it (note), the index, the attempts, the first and last
 * attempt times and the last answer's status as evidence.  Id stable per
 * origin and index: raised once.
 */
void follow_raise_withheld(const struct follow_env *env,
                           const struct config_log *cfg, int64_t log_id,
                           const char *origin, const char *note,
                           uint64_t first_index, uint64_t last_index,
                           const struct withhold_unit *u);

/* Same scheme and host (and port, the default one implied): a Rekor v2
 * log's key is announced with its baseUrl (the host), while its read API
 * may sit under a path ("https://log2025-1.rekor.sigstore.dev/api/v2"). */
int follow_same_host(const char *a, const char *b);

/* "https://Host:443/" and "https://host:443" name the same log. */
int follow_same_url(const char *a, const char *b);

struct config_trusted_root;
/*
 * 1 when tr holds a key the follower of cfg would pin (its kind's rule:
 * Rekor v1 a tlogs entry with its url, Rekor v2 one with its host, CT a
 * ctlogs entry with its url; a supported key), else 0 (follower_new
 * would fail with "no usable key").  For check-config.
 */
int follow_root_has_key(const struct config_trusted_root *tr,
                        const struct config_log *cfg);

/* Evidence {"old_checkpoint", "new_checkpoint", "proof": [hex...]}; the
 * notes may be NULL (left out).  New, or NULL without memory. */
json_t *follow_evidence_new(const char *old_note, const char *new_note,
                            const uint8_t (*proof)[MERKLE_HASH_LEN],
                            size_t nproof);

/*
 * Raise a log.* alert now (outside a batch): id stable from
 * "<log_name>|<key>", "log": {name, origin}, stored with its deliveries
 * (a known id is ignored), then delivered.  evidence is stolen (may be
 * NULL).  A store failure is follow_fatal.
 */
void follow_raise_log_alert(const struct follow_env *env, const char *log_name,
                            int64_t log_id, const char *origin,
                            const char *type, const char *key,
                            const char *summary, json_t *evidence);

/*
 * Request pacing, the same for every follower: the request window (halved
 * by a throttle, grown back by one per success up to max_concurrency), the
 * pause after 429/5xx/transport errors (Retry-After honoured, else
 * exponential backoff with jitter from FOLLOW_BACKOFF_BASE_MS to
 * FOLLOW_BACKOFF_MAX_MS), and the liveness counters once uses to give up.
 */
struct follow_pace {
    unsigned window;           /* requests that may be in flight */
    unsigned fail_streak;      /* throttles since the last success */
    uint64_t pause_until_ms;   /* monotonic: no requests before */
    uint64_t failing_since_ms; /* monotonic: the first failure, 0: ok */
    int64_t failing_since;     /* its wall time (alert id and text) */
    unsigned once_failures;    /* once: non-throttle failures in a row */
};

/* window = cfg->max_concurrency, nothing failing; stats->window_min too. */
void follow_pace_init(struct follow_pace *p, const struct config_log *cfg,
                      struct follower_stats *stats);
/* A throttle (resp may be NULL: a transport error or a lost request):
 * halve the window, pause.  Counted in stats. */
void follow_pace_throttle(struct follow_pace *p, const struct follow_env *env,
                          const struct config_log *cfg,
                          const struct http_response *resp,
                          struct follower_stats *stats);
/* A response that moved the follower on: the window grows back by one,
 * the failure counters clear. */
void follow_pace_success(struct follow_pace *p, const struct config_log *cfg);
/*
 * A poll-side request failed (the liveness update is the caller's, before
 * this call); resp is the response when one came.  429 and 5xx throttle.
 * Returns 1 when once must give up (FOLLOW_ONCE_MAX_FAILURES other
 * failures in a row, or failing for longer than unreachable_after), else
 * 0 with *wait_ms, the delay before the next poll.
 */
int follow_pace_poll_failed(struct follow_pace *p, const struct follow_env *env,
                            const struct config_log *cfg,
                            const struct http_response *resp,
                            struct follower_stats *stats, uint64_t *wait_ms);

/*
 * After a request: ok records a success (store) and clears the failure
 * counters of p; a failure starts p's failing time and raises
 * log.unreachable once it is older than cfg->unreachable_after.  Either
 * way log.stale is raised when the verified size (has_cp) has not grown
 * since last_growth_ms (monotonic) for cfg->stale_after.  Deadlines are
 * measured on the monotonic clock, so a step of the wall clock neither
 * fires nor suppresses them.
 */
void follow_liveness_update(const struct follow_env *env,
                            const struct config_log *cfg, int64_t log_id,
                            const char *origin, int has_cp, uint64_t vsize,
                            uint64_t last_growth_ms, struct follow_pace *p,
                            int ok);
/* Has p been failing for at least ms (monotonic)? */
int follow_failing_for(const struct follow_env *env,
                       const struct follow_pace *p, uint64_t ms);

/* ---- the environment (env.h), in short -------------------------------- */

/* The monotonic clock of every deadline, in milliseconds. */
uint64_t follow_mono(const struct follow_env *env);
/* Wall-clock seconds, for timestamps only. */
int64_t follow_wall(const struct follow_env *env);
/* ms +- pct percent of jitter. */
uint64_t follow_jitter(const struct follow_env *env, uint64_t ms, unsigned pct);
/* A local failure: the daemon stops (exit 3). */
void follow_fatal(const struct follow_env *env, const char *what);
int follow_is_fatal(const struct follow_env *env);

/*
 * Commit the cursor [from, to) with its compact range, root checks, the
 * alerts (JSON array) and signings found since the last commit, in one
 * store transaction, then deliver what is due.  On success alerts and
 * signings are cleared: 0.  -1 after follow_fatal.
 */
int follow_commit_progress(const struct follow_env *env, int64_t log_id,
                           uint64_t from, uint64_t to,
                           const struct merkle_range *range,
                           uint64_t root_checks, json_t *alerts,
                           struct policy_batch *signings);

#endif
