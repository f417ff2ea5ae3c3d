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
 * rekor_v2.c implements it as the engine's protocol rekor_v2_proto
 * (engine.h), chosen for a log of kind rekor-v2.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_TILES_H
#define TLOGWATCH_MONITOR_FOLLOW_TILES_H

#include <stddef.h>

#define TFOLLOW_MAX_CHECKPOINT (64u * 1024) /* bytes of GET /checkpoint */
#define TFOLLOW_MAX_KEYS 16

#endif
