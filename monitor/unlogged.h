/*
 * unlogged.h: signing.unlogged_certificate, the daemon's side.  Fulcio
 * logs every certificate it issues to its CT log; one used to sign
 * without a Rekor entry (cosign --tlog-upload=false, a stolen token used
 * offline) is visible there only.  ct.c records each certificate of a
 * watched repository seen in a CT log (store_ct_cert: deadline =
 * NotBefore + the rule's unlogged_after, wall-clock seconds); a Rekor
 * signing with the same link id (any followed Rekor log) marks it
 * logged.  unlogged_check raises the alert policy_eval_ct prepared for
 * every certificate still pending at its deadline, once
 * (store_ct_cert_fire: the state change and the alert in one
 * transaction, so a restart neither loses nor repeats it).
 *
 * Time: the deadline is wall-clock time (NotBefore is a date in the
 * certificate).  A certificate is judged only once every followed Rekor
 * log has ended a poll cycle caught up that began at or after its
 * deadline (follower_seen_until; a poll that failed to read the
 * checkpoint does not count, and a reload keeps it for every Rekor log it
 * leaves unchanged): a Rekor log that lags, is unreachable or still
 * catching up delays the verdict, it never makes one up.  With
 * no Rekor log followed, every certificate is judged at its deadline.
 * A certificate whose NotBefore is before the store first saw one of the
 * followed Rekor logs is never judged: its Rekor entry may lie before
 * that log's start point (start: latest), unread.
 *
 * In run the check runs every UNLOGGED_CHECK_MS (one indexed query on the
 * pending rows, empty most of the time); in once after every follower has
 * finished its cycle.
 */
#ifndef TLOGWATCH_MONITOR_UNLOGGED_H
#define TLOGWATCH_MONITOR_UNLOGGED_H

#include <stdint.h>

struct tlw;
struct unlogged;

#define UNLOGGED_CHECK_MS 2000ULL /* run: between two checks */
#define UNLOGGED_BATCH 256        /* certificates judged per check at most */

/*
 * Arm the periodic check of t (run).  *out: new (unlogged_free, before
 * t->base and t->store).  0, or -1 without memory.
 */
int unlogged_start(struct tlw *t, struct unlogged **out);
/* Disarm and free; NULL is a no-op. */
void unlogged_free(struct unlogged *u);

/*
 * Judge the certificates due now (see the top): raise
 * signing.unlogged_certificate for each still unlogged.  Returns how many
 * were raised, or -1 on a store failure (after tlw_fatal).
 */
int unlogged_check(struct tlw *t);

#endif
