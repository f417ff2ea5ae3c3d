/*
 * tiles.h: C2SP tlog-tiles primitives for Rekor v2 (a Tessera log): tile
 * paths and widths, entry bundles, and proofs and roots computed from a
 * set of hash tiles.
 *
 * A level-L hash tile holds up to TILES_WIDTH consecutive tree nodes of
 * height 8*L: tile (L, N) holds nodes [N*256, N*256 + width) of that
 * height.  In a tree of n leaves its width is min(256, (n >> 8L) - N*256)
 * (tiles_width).  Entry bundles (level TILES_ENTRIES) follow the level-0
 * tiles: bundle N holds entries [N*256, N*256 + width).
 *
 * A perfect subtree (height h, index i), (i + 1) << h <= n, is read from
 * the level-(h / 8) tile that holds the 2^(h % 8) nodes below it, hashed up
 * with merkle_node_hash.  A non-perfect subtree (the right edge of a
 * consistency proof) is hashed from the perfect ones that cover it.
 *
 * Invariants kept by this module:
 *  - no I/O, no logging; the only allocation that outlives a call is the
 *    tile set (tiles_set_new / tiles_set_put), which owns copies;
 *  - tree sizes are below 2^63 (TILES_MAX_SIZE), so heights are <= 62 and
 *    levels <= 7; proofs are at most MERKLE_MAX_PROOF hashes; a set holds
 *    at most TILES_SET_MAX tiles, enough for any one call's needs;
 *  - every function is total: bad arguments give -1 (or 0 / NULL), never
 *    undefined behaviour.
 */
#ifndef TLOGWATCH_MERKLE_TILES_H
#define TLOGWATCH_MERKLE_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

#define TILES_HEIGHT 8
#define TILES_WIDTH 256 /* hashes/entries in a full tile */
#define TILES_PATH_MAX 96
#define TILES_MAX_BUNDLE (TILES_WIDTH * (2 + 65535)) /* bytes */
#define TILES_ENTRIES (-1)                           /* level of bundles */
#define TILES_MAX_LEVEL 63 /* highest level a path may name (spec) */
/* Tree sizes must be below this (2^63). */
#define TILES_MAX_SIZE ((uint64_t)1 << 63)
/* Tiles a set holds at most; every tiles_needed_* answer fits. */
#define TILES_SET_MAX 256
/* Bytes of a full hash tile. */
#define TILES_TILE_MAX (TILES_WIDTH * MERKLE_HASH_LEN)

/*
 * "tile/<L>/<N>" or "tile/entries/<N>" (level TILES_ENTRIES), with
 * ".p/<W>" when 0 < width < 256; N in the spec's x-prefixed 3-digit
 * groups ("x001/x234/067").  Width 0 or 256 names the full tile.  0, or -1
 * on bad arguments (level not TILES_ENTRIES or 0..TILES_MAX_LEVEL, width
 * above 256) or when cap is too small (out then holds "").
 */
int tiles_path(int level, uint64_t index, unsigned width, char *out,
               size_t cap);

/* Width of tile (level, index) in a tree of size n: 0 when it has no hash
 * yet (or the level is out of range), 256 when full, else the partial
 * width.  TILES_ENTRIES gives the width of entry bundle index. */
unsigned tiles_width(int level, uint64_t index, uint64_t n);

/*
 * An entry bundle: width entries, each a big-endian uint16 length and that
 * many bytes; exactly width of them and nothing after.  The whole bundle
 * is checked first; then cb (may be NULL) is called for each entry in
 * order (e borrowed: points into buf); a non-zero return stops with that
 * value.  0, or -1 on a malformed bundle (also: width not 1..256, len
 * above TILES_MAX_BUNDLE), without any call to cb.
 */
int tiles_parse_bundle(const uint8_t *buf, size_t len, unsigned width,
                       int (*cb)(const uint8_t *e, size_t n, unsigned i,
                                 void *arg),
                       void *arg);

struct tiles_coord {
    int level;      /* 0..7 for hash tiles; TILES_ENTRIES for bundles */
    uint64_t index; /* N */
    unsigned width; /* 1..256 */
};

/* A set of hash tiles read for a tree of size n (owned copies). */
struct tiles_set;

/* Returns new (caller frees with tiles_set_free), NULL when n >=
 * TILES_MAX_SIZE or out of memory. */
struct tiles_set *tiles_set_new(uint64_t n);
/* tiles_set_free(NULL) is a no-op. */
void tiles_set_free(struct tiles_set *ts);
/* The tree size the set was made for. */
uint64_t tiles_set_tree_size(const struct tiles_set *ts);
/* Number of tiles held. */
size_t tiles_set_count(const struct tiles_set *ts);

/*
 * Add hash tile c (its bytes: exactly c->width * 32; c->width must equal
 * tiles_width(c->level, c->index, n) and be non-zero) as a copy.  0, or -1
 * on a wrong level, width or length, a tile already held (the first one
 * stays), a full set (TILES_SET_MAX) or no memory.
 */
int tiles_set_put(struct tiles_set *ts, const struct tiles_coord *c,
                  const uint8_t *bytes, size_t len);

/*
 * The hash tiles needed (each once, in order of first use) for: the
 * consistency proof from m to n (0 < m <= n); the compact range at size
 * `at` (at <= n); the root of n.  Widths are those of the tree n.  Written
 * to out (cap entries; out may be NULL when cap is 0); returns how many
 * are needed (may exceed cap: then call again with more room), at most
 * TILES_SET_MAX; never fails (impossible sizes need nothing: 0).
 */
size_t tiles_needed_consistency(uint64_t m, uint64_t n, struct tiles_coord *out,
                                size_t cap);
size_t tiles_needed_range(uint64_t at, uint64_t n, struct tiles_coord *out,
                          size_t cap);
size_t tiles_needed_root(uint64_t n, struct tiles_coord *out, size_t cap);

/*
 * From the set (which must hold the needed tiles):
 *  - the RFC 9162 consistency proof from m to the set's size n (0 < m <=
 *    n; empty when m == n): *nproof hashes written to proof (cap of them);
 *  - the compact range [0, at), at <= n (as merkle_range_load makes it);
 *  - the root of n (the empty root for n == 0).
 * 0, or -1 on impossible sizes, too small a cap or a missing tile; the
 * outputs are written only on success.
 */
int tiles_consistency_proof(const struct tiles_set *ts, uint64_t m,
                            uint8_t (*proof)[MERKLE_HASH_LEN], size_t cap,
                            size_t *nproof);
int tiles_range_at(const struct tiles_set *ts, uint64_t at,
                   struct merkle_range *out);
int tiles_root(const struct tiles_set *ts, uint8_t root[MERKLE_HASH_LEN]);

#endif
