/*
 * follow_tiles.h: a follower of one Rekor v2 log (C2SP tlog-tiles).
 *
 * It proves what the Rekor v1 follower proves (follow.h, DESIGN.md "What
 * must be proven", points 1-4 and 7), from the tiles read API:
 *  1. a checkpoint (GET /checkpoint) counts only when a signature line of
 *     a pinned key of the log verifies; the key's name is the checkpoint
 *     origin, which must stay the same for the life of the state;
 *  2. a larger checkpoint counts only when the hash tiles read for it
 *     hash to its signed root, and the consistency proof computed from
 *     them verifies against both signed roots; smaller -> log.rollback,
 *     same size other root or a failing proof -> log.inconsistent;
 *  3. the cursor advances over entry bundles applied in order, each entry
 *     hashed and appended to the compact range; at the verified size the
 *     range root must equal the signed root (else log.entries_mismatch and
 *     the cursor goes back to the last commit);
 *  4. a start point is seeded from the compact range computed from hash
 *     tiles that hash to the signed root;
 *  7. progress is committed in one store transaction every
 *     FOLLOW_COMMIT_EVERY entries and at the verified size.
 *
 * follow.c builds it for a log of kind rekor-v2 and forwards its public
 * follower_* calls here; pub is the public follower the daemon sees.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_TILES_H
#define TLOGWATCH_MONITOR_FOLLOW_TILES_H

#include <stddef.h>

struct follow_env;
struct config_log;
struct follower;
struct follower_stats;
struct tfollower;

#define TFOLLOW_MAX_CHECKPOINT (64u * 1024) /* bytes of GET /checkpoint */
#define TFOLLOW_MAX_KEYS 16
/* Bytes of entry bundles held ahead of the cursor before no new bundle is
 * asked for (the one the cursor waits for always is). */
#define TFOLLOW_LOOKAHEAD_BYTES (8u * 1024 * 1024)

/* New follower of cfg (borrowed) on t; pub (borrowed) is what
 * the env done callback is given.  NULL with a message in err. */
struct tfollower *tfollower_new(const struct follow_env *env,
                                const struct config_log *cfg,
                                struct follower *pub, char *err, size_t errlen);
void tfollower_start(struct tfollower *tf);
/* Commit what is applied, cancel requests, free.  NULL is a no-op. */
void tfollower_free(struct tfollower *tf);
void tfollower_stats(const struct tfollower *tf, struct follower_stats *out);

#endif
