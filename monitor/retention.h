/*
 * retention.h: the daemon's state retention (config retention:).  In
 * `run` (never in `once`) it prunes the store at start and then every
 * RETENTION_PERIOD_MS, with the retention of t->cfg read at each run (a
 * reload changes it from the next run on), and logs what was removed.
 * What is pruned and what is always kept is store_prune's contract
 * (store.h); with no retention configured (the default) nothing is ever
 * deleted.
 *
 * Cost: store_prune works in transactions of at most STORE_PRUNE_BATCH
 * rows of one kind, so the followers' commits wait for one batch at
 * most; a run blocks the loop for its whole length (a first prune of a
 * years-old file: seconds), once a day.
 */
#ifndef TLOGWATCH_MONITOR_RETENTION_H
#define TLOGWATCH_MONITOR_RETENTION_H

#include <stdint.h>

struct tlw;
struct config_retention;
struct store_retention;
struct store_prune_stats;

#define RETENTION_PERIOD_MS (24ULL * 3600 * 1000) /* between two runs */
#define RETENTION_RETRY_MS (3600ULL * 1000)       /* after a failed run */

struct retention;

/*
 * Arm the retention of t: a first run as soon as the loop runs, then one
 * every RETENTION_PERIOD_MS.  Armed even when t->cfg has no retention (a
 * reload may add one).  *out: new (caller frees with retention_free,
 * before t->base and t->store).  Returns 0 or -1 (no memory; logged).
 */
int retention_start(struct tlw *t, struct retention **out);
/* Disarm and free; NULL is a no-op. */
void retention_free(struct retention *r);

/* The store's retention (seconds) from the config's (ms); batch 0. */
void retention_from_config(const struct config_retention *c,
                           struct store_retention *out);

/*
 * One run now: prune t->store with t->cfg's retention and log what was
 * removed.  *out (may be NULL) receives the counts.  Returns 0 (also
 * when nothing is configured), or -1 when the store failed (logged; the
 * batches committed before the failure stay).
 */
int retention_run(struct tlw *t, struct store_prune_stats *out);

#endif
