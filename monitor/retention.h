/*
 * retention.h: the daemon's state retention (config retention:).  In
 * `run` (never in `once`) it prunes the store at start and then every
 * RETENTION_PERIOD_MS, with the retention of t->cfg read at each run (a
 * reload changes it from the next run on), and logs what was removed.
 * What is pruned and what is always kept is store_prune's contract
 * (store.h); with no retention configured (the default) nothing is ever
 * deleted.
 *
 * Cost: a run goes one batch of at most RETENTION_BATCH rows of one
 * kind per turn of the event loop, so the followers wait for one batch
 * at most (~75 ms for 2,000 checkpoint rows on the test VM, mostly WAL
 * writes): the first prune of a year of 30 s checkpoints (1M rows) takes
 * about 40 s in 500 batches (measured), the followers going on in
 * between.  Each run logs its totals when it ends.
 */
#ifndef TLOGWATCH_MONITOR_RETENTION_H
#define TLOGWATCH_MONITOR_RETENTION_H

#include <stdint.h>

struct tlw;
struct config_retention;
struct store_retention;

#define RETENTION_PERIOD_MS (24ULL * 3600 * 1000) /* between two runs */
#define RETENTION_RETRY_MS (3600ULL * 1000)       /* after a failed run */
#define RETENTION_BATCH 2000 /* rows per transaction (one per loop turn) */

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

#endif
