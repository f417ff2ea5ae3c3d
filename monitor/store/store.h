/*
 * store.h: tlogwatch's durable state, one sqlite file (WAL).
 *
 * What it keeps, per followed log (one row per configured log name and
 * checkpoint origin, i.e. per Rekor shard / tree):
 *  - every verified checkpoint (the full signed note, size, root, time
 *    verified) with the proof that linked it to the previous one: the
 *    evidence an auditor can check offline; the largest is "the verified
 *    checkpoint";
 *  - the entry cursor (next virtual index and next shard-local index) and
 *    the compact range [0, shard-local cursor) at it;
 *  - last success, last error and the STORE_RECENT_ERRORS latest errors;
 *  - counters: entries scanned, checkpoints verified, consistency proofs
 *    verified, root checks passed.
 * And for the whole service: the final checkpoints of inactive (frozen)
 * shards, alerts (idempotent on their stable id), watched signings, the
 * notification outbox (one delivery per alert and sink), reports and a
 * key/value meta table.
 *
 * Invariants the store enforces itself, whatever its caller does
 * (DESIGN.md "What must be proven before state moves forward"):
 *  - the cursor moves only through store_commit_progress(), forward, from
 *    exactly where it is (the batch's from_index must equal the stored
 *    cursor: no gap, no overlap), together with the alerts and signings
 *    found in [from_index, to_index), in ONE transaction;
 *  - the compact range size always equals the shard-local cursor, and the
 *    virtual offset (virtual index - shard-local index) never changes;
 *  - the cursor never passes the verified checkpoint size, and when it
 *    stands on the size of any verified checkpoint, the compact range root
 *    equals that checkpoint's root;
 *  - a verified checkpoint is never replaced, and removed only by
 *    store_prune (schema triggers refuse any other removal): never the
 *    verified (largest) one of its log, one at or above the cursor, or the
 *    final checkpoint of a frozen shard; a newer one is
 *    accepted only with a consistency proof from the previous one that
 *    verifies (or, for tile logs, the caller's word that the root was
 *    recomputed from tiles); a smaller one, or the same size with another
 *    root, is refused;
 *  - a frozen shard's final checkpoint is written once and never changes
 *    (store_frozen_check() reports a difference, it never overwrites);
 *  - an alert id is stored at most once: replaying entries after a crash
 *    never duplicates an alert, a signing or a delivery;
 *  - a pending delivery, its alert and a signing pending a PCR lookup are
 *    never deleted (triggers refuse it).
 *
 * Crash safety: every write is one transaction (BEGIN IMMEDIATE) in WAL
 * mode with synchronous=FULL, so a commit that returned is on disk before
 * any alert it holds can be delivered, and a crash (process or power) at
 * any point leaves the state of the last returned commit: the follower
 * resumes at that cursor, re-derives the same alert ids, and the store
 * ignores the ones it already has.  FULL costs one WAL fsync per commit;
 * commits come every few thousand entries in catch-up and once per poll
 * when idle, so the cost is small (bench_store measures it).
 * STORE_OPEN_SYNC_NORMAL trades that durability for speed (a power loss
 * may roll back the last commits; still atomic, still no duplicate).
 *
 * Cost (bench_store, this 2-core VM): with FULL a commit costs about one
 * fsync, ~4-10 ms whatever its size: a 5,000-entry commit every second is
 * ~1% of catch-up time, but committing every entry would cap the follower
 * near 230 entries/s.  So the follower commits once per few thousand
 * entries or about once a second, and always when the cursor reaches a
 * checkpoint size, never per request.
 *
 * Growth: one row of note + proof, ~1 KiB, per newer checkpoint seen (a
 * 30 s poll: ~1M rows a year), plus alerts, deliveries and signings.
 * Nothing is deleted unless the caller asks: store_prune() removes, per
 * kind, rows older than a retention the operator chose, within the
 * rules above.  Recent errors are bounded (STORE_RECENT_ERRORS per log);
 * reports (one small row per report) and meta are kept.
 *
 * Conventions: times are unix seconds (int64_t, UTC) given by the caller;
 * log indexes and sizes are uint64_t and must be <= INT64_MAX (sqlite
 * integers are signed), larger values are refused.  Every int function
 * returns 0 on success and -1 on failure, with a message from
 * store_errmsg().  Strings in rows passed to callbacks are borrowed: valid
 * only during the callback.  A callback returns 0 to go on and non-zero
 * to stop early (not an error).  It may call other store functions
 * (reads, writes: a row it changes may or may not show up again later in
 * the same listing), but not the listing it runs in (that call fails),
 * and never store_close.
 * A struct store is not thread-safe: one per thread, never shared across
 * fork().  Only this module includes <sqlite3.h>.
 */
#ifndef TLOGWATCH_MONITOR_STORE_H
#define TLOGWATCH_MONITOR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "notify/severity.h"

/* Schema version written to PRAGMA user_version by this build. */
#define STORE_SCHEMA_VERSION 7
/* PRAGMA application_id of a tlogwatch state file ("TLGW"). */
#define STORE_APPLICATION_ID 0x544c4757

/* Named limits (bytes, without the NUL) on what the store accepts. */
#define STORE_NAME_MAX 128                       /* log, rule, sink names */
#define STORE_ORIGIN_MAX (MERKLE_ORIGIN_MAX - 1) /* checkpoint origin */
#define STORE_NOTE_MAX MERKLE_NOTE_MAX_SIZE      /* a signed note */
#define STORE_ERROR_MAX 1024 /* an error message; longer is truncated */
#define STORE_FIELD_MAX 4096 /* any one signing field */
#define STORE_ALERT_MAX (1024 * 1024) /* a rendered alert */
#define STORE_META_MAX (64 * 1024)    /* a meta value */
#define STORE_RECENT_ERRORS 16        /* errors kept per log, newest first */
#define STORE_ERRMSG_MAX 512          /* store_errmsg() length */
#define STORE_HISTORY_EVERY 300       /* s between history samples */
#define STORE_HISTORY_MAX 2016        /* samples kept per log (a week) */

/* store_open() flags. */
#define STORE_OPEN_READONLY 0x1    /* never write; no create, no migration */
#define STORE_OPEN_SYNC_NORMAL 0x2 /* synchronous=NORMAL instead of FULL */

struct store;

/*
 * Open (creating if missing, unless read-only) the state file at path,
 * set WAL, synchronous, foreign keys and a busy timeout, and migrate the
 * schema forward from any older user_version in one transaction per
 * step.  Refuses, with a message in err: a file that is not an sqlite
 * database, a database of another application, a schema newer than
 * STORE_SCHEMA_VERSION, a read-only open of a file that needs migrating.
 * Returns new (caller frees with store_close) or NULL with err filled
 * (err may be NULL; errcap bytes, NUL-terminated).
 */
struct store *store_open(const char *path, unsigned flags, char *err,
                         size_t errcap);
/* Close; store_close(NULL) is a no-op. */
void store_close(struct store *s);
/* The last error of s, borrowed (valid until the next call on s). */
const char *store_errmsg(const struct store *s);
/* The schema version of the open file (STORE_SCHEMA_VERSION once open). */
int store_schema_version(const struct store *s);

/* ---- logs ---------------------------------------------------------- */

/*
 * The id of the log (name, origin), created (without cursor, without
 * checkpoint) when missing.  origin is the checkpoint origin line, e.g.
 * "rekor.sigstore.dev - 1193050959916656506".  Ids are > 0 and stable.
 */
int store_log_open(struct store *s, const char *name, const char *origin,
                   int64_t now, int64_t *log_id);
/* Like store_log_open but never creates: *log_id = 0 when absent. */
int store_log_find(struct store *s, const char *name, const char *origin,
                   int64_t *log_id);

struct store_log_status {
    int64_t log_id;
    char name[STORE_NAME_MAX + 1];
    char origin[STORE_ORIGIN_MAX + 1];
    int64_t created_at;
    int frozen; /* a final checkpoint is recorded for (name, origin) */
    /* The verified checkpoint (the largest), when has_checkpoint. */
    int has_checkpoint;
    uint64_t verified_size;
    uint8_t verified_root[MERKLE_HASH_LEN];
    int64_t verified_at; /* when that size was first verified */
    /* The cursor, when has_cursor (seeded). */
    int has_cursor;
    uint64_t next_index;       /* virtual */
    uint64_t next_shard_index; /* shard-local == compact range size */
    /* 0 when never. */
    int64_t last_success_at;
    int64_t last_error_at;
    char last_error[STORE_ERROR_MAX + 1]; /* "" when none */
    uint64_t entries_scanned;
    uint64_t checkpoints_verified;
    uint64_t proofs_verified;
    uint64_t root_checks_passed;
};

/* Status of one log, copied into *out. */
int store_log_status(struct store *s, int64_t log_id,
                     struct store_log_status *out);
typedef int (*store_log_fn)(void *arg, const struct store_log_status *st);
/* Every log, by name then id. */
int store_logs_each(struct store *s, store_log_fn fn, void *arg);

/* A successful poll: sets last_success_at (and samples the history). */
int store_log_success(struct store *s, int64_t log_id, int64_t now);
/*
 * A failure: sets last_error (truncated to STORE_ERROR_MAX bytes; the
 * caller cleans untrusted text first) and keeps it among the
 * STORE_RECENT_ERRORS newest errors of the log; older ones are deleted.
 */
int store_log_error(struct store *s, int64_t log_id, int64_t now,
                    const char *message);
typedef int (*store_error_fn)(void *arg, int64_t at, const char *message);
/* The recent errors of a log, newest first. */
int store_log_errors_each(struct store *s, int64_t log_id, store_error_fn fn,
                          void *arg);
/*
 * A failure of the configured log log_name before it has any row (never
 * reached, so no checkpoint origin is known): kept, truncated as in
 * store_log_error, among the STORE_RECENT_ERRORS newest errors of that
 * name; older ones are deleted.
 */
int store_name_error(struct store *s, const char *log_name, int64_t now,
                     const char *message);
/* The recent errors recorded by store_name_error for log_name, newest
 * first, at most limit (0: all kept). */
int store_name_errors_each(struct store *s, const char *log_name, size_t limit,
                           store_error_fn fn, void *arg);

/*
 * History: store_log_success also keeps a sample of the log's verified
 * size and entries scanned, at most one per STORE_HISTORY_EVERY seconds,
 * the newest STORE_HISTORY_MAX per log.  The samples taken at or after
 * since, newest first, at most limit (0: all kept).
 */
typedef int (*store_history_fn)(void *arg, int64_t at, uint64_t verified_size,
                                uint64_t entries_scanned);
int store_history_each(struct store *s, int64_t log_id, int64_t since,
                       size_t limit, store_history_fn fn, void *arg);

/* ---- checkpoints ---------------------------------------------------- */

/* How a newer checkpoint was linked to the previous verified one. */
enum store_link {
    STORE_LINK_NONE = 0,        /* first checkpoint of the log (or after 0) */
    STORE_LINK_CONSISTENCY = 1, /* consistency proof, given in proof[] */
    STORE_LINK_TILES = 2,       /* root recomputed from tiles (tile logs) */
};

/* A verified checkpoint, as given to the store.  Pointers are borrowed. */
struct store_checkpoint {
    const char *note; /* the whole signed note as received */
    size_t note_len;  /* <= STORE_NOTE_MAX */
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
    enum store_link link;
    /* STORE_LINK_CONSISTENCY: the proof from the previous verified
     * checkpoint to this one, 1..MERKLE_MAX_PROOF hashes. */
    const uint8_t (*proof)[MERKLE_HASH_LEN];
    size_t nproof;
};

/*
 * Record a checkpoint the caller verified (signature from the pinned
 * key, and its link), in one transaction; counts one checkpoint verified
 * (and one proof verified with a consistency proof).
 *  - no verified checkpoint yet: recorded; link must be STORE_LINK_NONE;
 *  - same size and root as the verified one: nothing new is recorded;
 *  - larger: link must be CONSISTENCY (its proof from the verified
 *    checkpoint is verified again here) or TILES; STORE_LINK_NONE only
 *    when the verified size is 0;
 *  - smaller (a rollback) or same size with another root: refused, -1;
 *    nothing changes.  The follower raises the alert, with the evidence
 *    from store_checkpoint_latest().
 */
int store_checkpoint_record(struct store *s, int64_t log_id,
                            const struct store_checkpoint *cp, int64_t now);

/* A recorded checkpoint, as read back.  Pointers borrowed (callback) or
 * owned by the caller (store_checkpoint_latest: free(note), free(proof)). */
struct store_checkpoint_row {
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
    int64_t verified_at;
    char *note;
    size_t note_len;
    enum store_link link;
    int has_prev; /* prev_size is the size it was linked from */
    uint64_t prev_size;
    uint8_t (*proof)[MERKLE_HASH_LEN];
    size_t nproof;
};

/*
 * The verified (largest) checkpoint of a log: *found = 0 when none.  On
 * success with *found, out->note (NUL-terminated) and out->proof are new:
 * the caller frees both with free() (store_checkpoint_row_free does).
 */
int store_checkpoint_latest(struct store *s, int64_t log_id, int *found,
                            struct store_checkpoint_row *out);
/* Free what store_checkpoint_latest allocated in row and zero it.
 * NULL is a no-op. */
void store_checkpoint_row_free(struct store_checkpoint_row *row);
typedef int (*store_checkpoint_fn)(void *arg,
                                   const struct store_checkpoint_row *row);
/* The history of a log verified in [since, until), oldest first; row
 * pointers are borrowed. */
int store_checkpoints_each(struct store *s, int64_t log_id, int64_t since,
                           int64_t until, store_checkpoint_fn fn, void *arg);

/* ---- frozen shards ------------------------------------------------- */

enum store_frozen_result {
    STORE_FROZEN_RECORDED = 0,  /* first sight: recorded */
    STORE_FROZEN_SAME = 1,      /* equal to the recorded one */
    STORE_FROZEN_DIFFERENT = 2, /* size or root differs: log.inconsistent */
};

/*
 * Compare the final checkpoint of the inactive shard (log_name, origin)
 * with the recorded one, recording it on first sight.  Equal means the
 * same size and root (the note's signature lines may legitimately
 * differ); the recorded note never changes.  On STORE_FROZEN_DIFFERENT,
 * when stored is not NULL, it receives the recorded checkpoint (note and
 * proof new as in store_checkpoint_latest; link STORE_LINK_NONE) as
 * evidence.  Only cp->note, size and root are used.
 */
int store_frozen_check(struct store *s, const char *log_name,
                       const char *origin, const struct store_checkpoint *cp,
                       int64_t now, enum store_frozen_result *result,
                       struct store_checkpoint_row *stored);

/* ---- cursor and progress ------------------------------------------ */

/*
 * The cursor of a log: *has_cursor = 0 before store_cursor_seed.  range
 * (may be NULL) receives the compact range at the cursor, loaded and
 * checked (nhashes == popcount(size)).
 */
int store_cursor_get(struct store *s, int64_t log_id, int *has_cursor,
                     uint64_t *next_index, struct merkle_range *range);
/*
 * Place the cursor of a log that has none: next virtual index
 * next_index, shard-local index range->size (so the shard's virtual
 * offset is next_index - range->size, fixed from then on), compact range
 * range (DESIGN point 4: seeded from the inclusion proof of the
 * preceding leaf, or empty to start a shard at 0).  Subject to the invariants
 * above (range size <= verified size; root equal at a checkpoint size).  Fails
 * when the log already has a cursor.  now is not stored by schema 1 (kept
 * so that a later schema can record it without changing callers).
 */
int store_cursor_seed(struct store *s, int64_t log_id, uint64_t next_index,
                      const struct merkle_range *range, int64_t now);

/*
 * An alert to record.  Pointers are borrowed.  id, type, severity,
 * detected_at and body must be those of the alert object (body is its
 * rendering, notify_alert_render); the store keeps body verbatim and
 * uses the other fields as columns to query.
 */
struct store_alert {
    const char *id; /* stable id: the dedupe key, 1..STORE_NAME_MAX bytes */
    const char *type;
    enum notify_severity severity;
    int64_t detected_at;
    int has_index;      /* the alert is about the entry at log_index */
    uint64_t log_index; /* virtual */
    const char *rule;   /* NULL when no watch rule applies */
    const char *body;   /* JSON, <= STORE_ALERT_MAX bytes */
    /* The sinks to deliver it to: one outbox row each, pending, due at
     * detected_at.  Only created with the alert (a replay adds none). */
    const char *const *sinks;
    size_t nsinks;
};

/*
 * A watched signing (one per entry, certificate and matching rule).
 * Pointers are borrowed; optional strings may be NULL (stored NULL).
 */
struct store_signing {
    uint64_t log_index;   /* virtual */
    uint64_t shard_index; /* shard-local */
    const char *uuid;     /* required */
    const char *kind;     /* entry kind, e.g. "hashedrekord" */
    int64_t integrated_time;
    const char *cert_sha256; /* hex, required */
    const char *san;
    const char *issuer;
    const char *repository;
    const char *repository_id;
    const char *workflow_path; /* Build Config URI path */
    const char *ref;
    const char *workflow_sha;
    const char *runner_environment;
    const char *trigger;
    const char *run_invocation_uri;
    const char *build_signer_uri;
    const char *rule;    /* required */
    const char *verdict; /* required, e.g. "allowed", "unexpected" */
    const char *artifact_digest;
    const char *pcr0, *pcr1, *pcr2; /* NULL when not known (yet) */
    const char *pcr8;               /* NULL: not known or unsigned EIF */
    /* Where the PCRs come from: "signature" (cosign .sig manifest found
     * by the payload digest artifact_digest), "attestation" (the entry's
     * own in-toto statement; pcr0.. set on insert), "subject" (manifest
     * artifact_digest that the statement's subject names), or NULL
     * (read as "signature"). */
    const char *pcrs_source;
    const char *pcrs_note; /* why not (yet) found; may be NULL */
    /* PCR lookup state: NULL on insert means "found" when pcr0 is set,
     * else "none"; "pending" queues a lookup that survives a restart
     * (store_signings_pending), with pcrs_deadline (unix s; 0: none). */
    const char *pcrs_state;
    int64_t pcrs_deadline;
    /* The certificate's link id (ctleaf.h: hex of SHA-256(issuer ||
     * serial)), or NULL.  A signing with one marks the CT certificates
     * (store_ct_cert) of that link id logged. */
    const char *link_id;
    /* Read back only: */
    int64_t log_id;
    int64_t recorded_at;
};

/*
 * A certificate for a watched repository seen in a CT log (one per link
 * id and rule; the precertificate and the final certificate of Fulcio
 * share the link id).  It waits, "pending", until deadline (unix s:
 * its NotBefore + the rule's unlogged_after) for a signing (any log)
 * with the same link_id; then it is "logged", or, past the deadline
 * without one, "unlogged" once its alert is recorded
 * (store_ct_cert_fire).  Pointers are borrowed.
 */
struct store_ct_cert {
    const char *link_id;     /* 64 hex, required */
    const char *rule;        /* required */
    uint64_t log_index;      /* in the CT log */
    const char *leaf_hash;   /* hex, required */
    const char *entry_type;  /* "precert" or "x509", required */
    const char *cert_sha256; /* hex, required (precert: of the TBS) */
    int64_t not_before;      /* unix s */
    int64_t deadline;        /* unix s */
    const char *verdict;     /* the rule's verdict, required */
    /* The rendered signing.unlogged_certificate alert to raise when it
     * stays unlogged (its identity holds the claims); required. */
    const char *alert;
    /* Read back only: */
    int64_t log_id;
    const char *state;   /* "pending", "logged" or "unlogged" */
    int64_t recorded_at; /* first seen */
    int64_t judged_at;   /* logged or unlogged since; 0: pending, or
                            judged before schema 7 (logged) */
};

/* One batch of entries [from_index, to_index) read and checked. */
struct store_progress {
    uint64_t from_index; /* must equal the stored cursor */
    uint64_t to_index;   /* the new cursor (virtual), >= from_index */
    /* The compact range at to_index; its size is the new shard-local
     * cursor, so to_index - range->size must equal the current virtual
     * offset, and range->size - (old shard-local cursor) must equal
     * to_index - from_index.  Borrowed. */
    const struct merkle_range *range;
    uint64_t root_checks_passed; /* checks the caller made in the batch */
    /* Found in the batch: every alert with has_index and every signing
     * has from_index <= log_index < to_index.  Borrowed arrays. */
    const struct store_alert *alerts;
    size_t nalerts;
    const struct store_signing *signings;
    size_t nsignings;
    /* CT certificates seen in the batch (store_ct_cert): recorded
     * "logged" when a signing with their link id exists, else
     * "pending"; INSERT OR IGNORE on (link_id, rule). */
    const struct store_ct_cert *ct_certs;
    size_t nct_certs;
};

/*
 * THE key operation: in one transaction, check the invariants above,
 * move the cursor to p->to_index with p->range, add the counters, and
 * record the batch's alerts (INSERT OR IGNORE on id, with their
 * deliveries) and signings (ignored when the same log index, certificate
 * and rule is there).  All or nothing.  *new_alerts (may be NULL)
 * receives how many alerts were new.
 */
int store_commit_progress(struct store *s, int64_t log_id,
                          const struct store_progress *p, int64_t now,
                          size_t *new_alerts);

/*
 * Record the alerts and signings found in entries ahead of the cursor
 * (each checked on its own, read past an entry the log withholds), in one
 * transaction, without moving the cursor: every one must have a log index
 * at or after it.  The same INSERT OR IGNORE rules as
 * store_commit_progress, so when the cursor later passes them they are
 * not recorded twice.  *new_alerts (may be NULL): how many were new.
 */
int store_record_ahead(struct store *s, int64_t log_id,
                       const struct store_alert *alerts, size_t nalerts,
                       const struct store_signing *signings, size_t nsignings,
                       int64_t now, size_t *new_alerts);

/* ---- alerts ------------------------------------------------------- */

/*
 * Record one alert outside a batch (log.rollback, log.stale,
 * monitor.test ...), idempotently.  log_id 0: not about a log.
 * *inserted (may be NULL) is 1 when it was new, 0 when the id existed.
 */
int store_alert_record(struct store *s, int64_t log_id,
                       const struct store_alert *a, int *inserted);

/* Filter for store_alerts_each; a zeroed struct plus until = INT64_MAX
 * matches everything.  Newest first (detected_at, then insertion). */
struct store_alert_query {
    int64_t since;                     /* detected_at >= since */
    int64_t until;                     /* detected_at < until */
    const char *type;                  /* NULL: any */
    int64_t log_id;                    /* 0: any */
    enum notify_severity min_severity; /* NOTIFY_INFO: any */
    size_t limit;                      /* 0: no limit */
};

/* An alert read back; strings borrowed (rule may be NULL). */
struct store_alert_row {
    const char *id;
    const char *type;
    enum notify_severity severity;
    int64_t detected_at;
    int64_t log_id; /* 0: none */
    int has_index;
    uint64_t log_index;
    const char *rule;
    const char *body;
};
typedef int (*store_alert_fn)(void *arg, const struct store_alert_row *row);
int store_alerts_each(struct store *s, const struct store_alert_query *q,
                      store_alert_fn fn, void *arg);
/*
 * The alerts about the entry (log_id, log_index) of severity at least
 * min_severity, and for rule (NULL: any) or for no rule, the most
 * severe first, then the oldest, at most limit (0: no limit).  Served by the
 * index on (log_id, log_index): a few rows whatever the size of the table.
 */
int store_entry_alerts_each(struct store *s, int64_t log_id, uint64_t log_index,
                            const char *rule, enum notify_severity min_severity,
                            size_t limit, store_alert_fn fn, void *arg);

/* ---- signings ----------------------------------------------------- */

typedef int (*store_signing_fn)(void *arg, const struct store_signing *row);
/* The latest n signings of a rule (by insertion), newest first. */
int store_signings_latest(struct store *s, const char *rule, size_t n,
                          store_signing_fn fn, void *arg);
/* The first signing of rule whose certificate has link_id (the Rekor
 * entry of a logged CT certificate): fn at most once. */
int store_signing_by_link(struct store *s, const char *link_id,
                          const char *rule, store_signing_fn fn, void *arg);

/* The signings of a rule recorded in [since, until), newest first (by
 * insertion), at most n (0: no limit); served by the index on (rule,
 * recorded_at). */
int store_signings_between(struct store *s, const char *rule, int64_t since,
                           int64_t until, size_t n, store_signing_fn fn,
                           void *arg);

/* The signings recorded at or after since (unix s; INT64_MIN: all) whose
 * PCR lookup is "pending", oldest first; a partial index holds the
 * pending rows only, so the cost follows their number, not the table's. */
int store_signings_pending(struct store *s, int64_t since, store_signing_fn fn,
                           void *arg);

/*
 * The signings whose recorded PCRs are pcr0, pcr1 and pcr2 (96 hex digits
 * each, either case), and, when pcr8 is not NULL, whose PCR8 is pcr8 or
 * was not recorded (an unsigned EIF), oldest first, at most n (0: no
 * limit): the builds that explain an enclave's measurements (`tlogwatch
 * attestation verify`).  A scan of the signings table (one row per watched
 * signing), no index.  A malformed PCR argument is an error.
 */
int store_signings_by_pcrs(struct store *s, const char *pcr0, const char *pcr1,
                           const char *pcr2, const char *pcr8, size_t n,
                           store_signing_fn fn, void *arg);

/* What a PCR lookup found, for store_signing_set_pcrs().  Borrowed. */
struct store_pcrs_update {
    const char *state;              /* "none", "pending", "found" or
                                       "unavailable" */
    const char *pcr0, *pcr1, *pcr2; /* each may be NULL (stored NULL) */
    const char *pcr8;               /* may be NULL (stored NULL) */
    const char *source;             /* NULL keeps the stored one */
    const char *note;               /* may be NULL (stored NULL) */
    const char *artifact_digest;    /* NULL keeps the stored one */
    int64_t deadline;               /* "pending" only; 0: none */
};

/*
 * In one transaction: set the PCRs and lookup state of the signing
 * (log_id, log_index, cert_sha256, rule), and record alert (may be NULL;
 * INSERT OR IGNORE on its id, with its deliveries, as in
 * store_commit_progress).  A signing that is not there is an error and
 * nothing is written.  *new_alert (may be NULL) is 1 when the alert was
 * new.
 */
int store_signing_set_pcrs(struct store *s, int64_t log_id, uint64_t log_index,
                           const char *cert_sha256, const char *rule,
                           const struct store_pcrs_update *u,
                           const struct store_alert *alert, int64_t now,
                           int *new_alert);

/* ---- CT certificates (signing.unlogged_certificate) ---------------- */

typedef int (*store_ct_cert_fn)(void *arg, const struct store_ct_cert *row);
/*
 * The CT certificates still "pending" whose deadline is at or before
 * until, whose NotBefore is at or after since, and that no signing with
 * their link id has logged, oldest deadline first, at most limit (0: no
 * limit).  A partial index holds the pending rows only.
 */
int store_ct_certs_due(struct store *s, int64_t since, int64_t until,
                       size_t limit, store_ct_cert_fn fn, void *arg);
/*
 * In one transaction: when (link_id, rule) is still pending and no
 * signing with link_id exists, mark it "unlogged" and record alert (as
 * store_alert_record, on log_id, with its deliveries): *fired = 1.
 * Otherwise (logged meanwhile, fired before) mark it "logged" when a
 * signing exists, record nothing: *fired = 0.  Exactly once per row,
 * whatever crashes or restarts happen around it.
 */
int store_ct_cert_fire(struct store *s, const char *link_id, const char *rule,
                       int64_t log_id, const struct store_alert *alert,
                       int *fired);
/* The CT certificate (link_id, rule): *found 0 when absent.  Strings of
 * out are copied into buf (cap bytes; too small is an error). */
int store_ct_cert_get(struct store *s, const char *link_id, const char *rule,
                      int *found, struct store_ct_cert *out, char *buf,
                      size_t cap);

/* The CT certificates of rule, newest first (recorded_at), at most n
 * (0: no limit); index ct_certs_rule. */
int store_ct_certs_latest(struct store *s, const char *rule, size_t n,
                          store_ct_cert_fn fn, void *arg);
/* The CT certificates judged unlogged in [since, until) (judged_at),
 * newest first, at most n (0: no limit); partial index
 * ct_certs_unlogged. */
int store_ct_certs_unlogged(struct store *s, int64_t since, int64_t until,
                            size_t n, store_ct_cert_fn fn, void *arg);
typedef int (*store_ct_count_fn)(void *arg, const char *rule, const char *state,
                                 uint64_t count);
/* How many CT certificates per (rule, state), ordered by rule then
 * state; reads the covering index ct_certs_state once. */
int store_ct_cert_counts_each(struct store *s, store_ct_count_fn fn, void *arg);

/* ---- outbox ------------------------------------------------------- */

enum store_delivery_status {
    STORE_DELIVERY_PENDING = 0,
    STORE_DELIVERY_SENT = 1,
    STORE_DELIVERY_FAILED = 2, /* failed permanently */
};

/* A delivery read back; strings borrowed. */
struct store_delivery {
    const char *alert_id;
    const char *sink;
    const char *body; /* the alert's rendering */
    enum notify_severity severity;
    enum store_delivery_status status;
    uint64_t attempts;
    int64_t next_attempt_at;
    const char *last_error; /* NULL when none */
};
typedef int (*store_delivery_fn)(void *arg, const struct store_delivery *d);
/* Pending deliveries due at now (next_attempt_at <= now), oldest first,
 * at most limit (0: all). */
int store_deliveries_due(struct store *s, int64_t now, size_t limit,
                         store_delivery_fn fn, void *arg);
/* Mark (alert_id, sink) sent; counts the attempt. */
int store_delivery_sent(struct store *s, const char *alert_id, const char *sink,
                        int64_t now);
/*
 * Count a failed attempt of (alert_id, sink) with its error: pending
 * again at retry_at, or failed permanently when retry_at is 0.
 */
int store_delivery_failed(struct store *s, const char *alert_id,
                          const char *sink, int64_t now, int64_t retry_at,
                          const char *error);

/*
 * Per sink with deliveries pending or failed, by sink name: how many of
 * each, and the error of the one attempted last (borrowed; NULL when
 * none), at most limit sinks (0: no limit).  Reads the pending and
 * failed rows only (the deliveries_due index), never the sent ones.
 */
typedef int (*store_sink_fn)(void *arg, const char *sink, uint64_t pending,
                             uint64_t failed, const char *last_error);
int store_sinks_each(struct store *s, size_t limit, store_sink_fn fn,
                     void *arg);

/* ---- counts for reports and status -------------------------------- */

struct store_counts {
    /* In [since, until): */
    uint64_t alerts[NOTIFY_CRITICAL + 1]; /* by severity */
    uint64_t signings;                    /* recorded */
    uint64_t checkpoints;                 /* verified (new sizes) */
    /* Now, whatever the range: */
    uint64_t deliveries[STORE_DELIVERY_FAILED + 1]; /* by status */
};
int store_counts(struct store *s, int64_t since, int64_t until,
                 struct store_counts *out);
typedef int (*store_count_fn)(void *arg, const char *key1, const char *key2,
                              uint64_t count);
/* Alerts detected in [since, until) per (type, severity name).  With
 * since INT64_MIN and until INT64_MAX (all alerts) it reads the index on
 * (type, severity) only. */
int store_alert_counts_each(struct store *s, int64_t since, int64_t until,
                            store_count_fn fn, void *arg);
/* Signings recorded in [since, until) per (rule, verdict). */
int store_signing_counts_each(struct store *s, int64_t since, int64_t until,
                              store_count_fn fn, void *arg);

/* ---- retention ----------------------------------------------------- */

/* The most rows of one kind store_prune deletes per transaction. */
#define STORE_PRUNE_BATCH 10000

/* How long to keep each kind of row, in seconds; 0 keeps it forever. */
struct store_retention {
    int64_t checkpoints; /* by verified_at */
    int64_t alerts;      /* by detected_at, with their deliveries */
    int64_t signings;    /* by recorded_at; CT certificates too */
    size_t batch;        /* rows per transaction, 1..STORE_PRUNE_BATCH;
                            0: STORE_PRUNE_BATCH */
    size_t max_batches;  /* stop after this many transactions that deleted
                            rows (out->more = 1); 0: no limit */
};

/* What store_prune deleted. */
struct store_prune_stats {
    uint64_t checkpoints;
    uint64_t alerts;
    uint64_t deliveries; /* of those alerts */
    uint64_t signings;
    uint64_t ct_certs;     /* CT certificates (with the signings' retention) */
    uint64_t transactions; /* committed */
    int more;              /* stopped at max_batches: call again for the rest */
};

/*
 * Delete, for each kind with a retention, the rows older than now minus
 * its retention (strictly older: a row exactly at the limit stays),
 * except what must be kept:
 *  - checkpoints: the verified (largest) checkpoint of every log (the
 *    follower's anchor, the evidence of the latest rollback check), every
 *    checkpoint at or above the log's cursor (a log without a cursor
 *    keeps them all: the follower checks its root when it gets there),
 *    and the final checkpoint of a frozen shard (the frozen_shards table
 *    itself is never pruned);
 *  - alerts: one with a pending delivery ("never loses an alert"); the
 *    others go with their deliveries (all sent or failed);
 *  - signings: one pending a PCR lookup;
 *  - CT certificates (by recorded_at, with the signings' retention): one
 *    still pending (its verdict is not in yet).
 * Work goes in batches of at most r->batch rows of one kind (an alert
 * batch also deletes those alerts' deliveries), one transaction each,
 * until a batch is not full, so a writer waits for one batch at most
 * (~0.2-0.4 s for 10,000 checkpoints on the test VM, mostly WAL writes);
 * with r->max_batches, it returns after that many batches that deleted
 * rows, with out->more set, so that an event loop can run between calls.
 * The freed pages are reused by later writes (the file is not shrunk).
 * *out (may be NULL) receives what was deleted, also on failure (the
 * batches committed before it).  Returns 0, or -1 (the failing batch is
 * rolled back; the committed ones stay).
 */
int store_prune(struct store *s, const struct store_retention *r, int64_t now,
                struct store_prune_stats *out);

/* ---- reports and meta ---------------------------------------------- */

/* Note that a report covering [since, until) was written (path may be
 * NULL) in format ("md", "json", "html"). */
int store_report_record(struct store *s, int64_t now, int64_t since,
                        int64_t until, const char *format, const char *path);
/* The end of the latest report's range: *found = 0 when none. */
int store_report_last(struct store *s, int *found, int64_t *until);

/* Set key (1..STORE_NAME_MAX bytes) to value (<= STORE_META_MAX). */
int store_meta_set(struct store *s, const char *key, const char *value);
/* *value: new (caller frees with free()), or NULL when key is absent. */
int store_meta_get(struct store *s, const char *key, char **value);
int store_meta_set_int(struct store *s, const char *key, int64_t value);
/* *found = 0 when absent; a value that is not an integer is an error. */
int store_meta_get_int(struct store *s, const char *key, int *found,
                       int64_t *value);

#endif
