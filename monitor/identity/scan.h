/*
 * scan.h: a fast, strict scanner for POST /api/v1/log/entries/retrieve
 * responses, the follower's hot path.
 *
 * A retrieve response is a JSON list of {"<entry id>": {body,
 * integratedTime, logID, logIndex, verification}} objects, ~6 KB each.
 * The follower needs only the entry id, the body, logIndex, integratedTime,
 * logID and (for intoto/dsse entries) the text of attestation.data: the
 * per-entry inclusion proofs and SETs are not used, since every entry is
 * checked against the signed root through the compact range.  Building a
 * jansson tree of the whole response costs about half of the follower's time;
 * this scanner skips what it does not read.
 *
 * It is strict where it reads (strings without escapes, plain unsigned
 * integers, each read member at most once) and gives up (returns -1) on
 * anything unexpected; the caller then parses the response with jansson
 * and entry_from_json, which give precise error messages.  So it never
 * accepts a value the full parser would read differently.  Pure and
 * bounded; fuzzed by tests/fuzz/fuzz_scan.c against entry_from_json.
 */
#ifndef TLOGWATCH_MONITOR_SCAN_H
#define TLOGWATCH_MONITOR_SCAN_H

#include <stddef.h>

struct entry;

#define SCAN_MAX_DEPTH 32 /* nesting of skipped values */

/*
 * Scan buf[0 .. len) (need not be NUL-terminated).  On success returns the
 * number of entries, each new in out[i] (caller frees with entry_free),
 * with uuid, body, leaf hash, log index, integrated time, log id and the
 * attestation text (as entry_from_json reads it) set, and no proof or SET.
 * Returns -1 (out untouched) when the response is not in the expected
 * shape or holds more than max elements.
 */
long scan_retrieve(const char *buf, size_t len, struct entry **out, size_t max);

#endif
