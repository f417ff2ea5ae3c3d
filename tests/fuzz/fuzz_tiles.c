/*
 * fuzz_tiles.c: libFuzzer target for merkle/tiles.h: entry bundles, tile
 * paths, and the tile set with the proofs, ranges and roots read from it.
 *
 * Input: byte 0 = s (selector), bytes 1..8 = a, 9..16 = b, 17..24 = c
 * (big-endian), the rest (or, when shorter than 25 bytes, all of it) is
 * the payload.  Derived: tree size n = (a mod 2^63) >> (s mod 64), old size
 * m = 1 + b mod n, range size at = c mod (n + 1).
 *
 * Invariants checked (abort on breach):
 *  - the whole input and the payload as bundles of a few widths: accepted
 *    exactly when the entries tile the buffer, each callback's entry lies
 *    inside it, in order, width of them;
 *  - paths: "tile/..." NUL-terminated within TILES_PATH_MAX, -1 exactly
 *    for bad levels and widths;
 *  - needs: at most TILES_SET_MAX, no duplicates, widths of the tree n;
 *    a set of those tiles (any bytes, from the payload) always gives a
 *    proof of merkle_consistency_proof_len hashes, a range of popcount(at)
 *    hashes and a root; without a needed tile, -1; a wrong width is refused;
 *  - for n <= FUZZ_HONEST_MAX, tiles computed honestly from leaves derived
 *    from the payload: the proof verifies against the roots of m and n from
 *    merkle_range_append, and the tile root and range equal them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"
#include "merkle/tiles.h"

#define FUZZ_HONEST_MAX 1100

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_bundle {
    const uint8_t *buf;
    size_t len;
    size_t used; /* bytes up to the end of the last entry seen */
    unsigned calls;
};

static int
fuzz_bundle_cb(const uint8_t *e, size_t n, unsigned i, void *arg)
{
    struct fuzz_bundle *b = arg;

    if (i != b->calls || e < b->buf + 2 || e > b->buf + b->len ||
        n > (size_t)(b->buf + b->len - e) ||
        (size_t)(e - b->buf) != b->used + 2) {
        abort();
    }
    b->used = (size_t)(e - b->buf) + n;
    b->calls++;
    return 0;
}

static void
fuzz_bundle(const uint8_t *buf, size_t len, unsigned width)
{
    struct fuzz_bundle b;
    int r;

    memset(&b, 0, sizeof(b));
    b.buf = buf;
    b.len = len;
    r = tiles_parse_bundle(buf, len, width, fuzz_bundle_cb, &b);
    if (r == 0) {
        if (b.calls != width || b.used != len) {
            abort();
        }
    } else if (r != -1 || b.calls != 0) {
        abort();
    }
}

static uint64_t
fuzz_u64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
fuzz_path(int level, uint64_t index, unsigned width)
{
    char buf[TILES_PATH_MAX];
    int bad = (level != TILES_ENTRIES && (level < 0 || level > 63)) ||
              width > TILES_WIDTH;
    int r = tiles_path(level, index, width, buf, sizeof(buf));

    if (r != (bad ? -1 : 0) || memchr(buf, '\0', sizeof(buf)) == NULL ||
        (r == 0 && strncmp(buf, "tile/", 5) != 0)) {
        abort();
    }
}

/* Add need[0..k) to the set with bytes from pay (cycled), skipping tiles
 * already there. */
static void
fuzz_fill(struct tiles_set *ts, uint64_t n, const struct tiles_coord *need,
          size_t k, const uint8_t *pay, size_t plen, uint8_t *tile)
{
    size_t i, j, len;
    int r;

    for (i = 0; i < k; i++) {
        if (need[i].level < 0 || need[i].width == 0 ||
            need[i].width != tiles_width(need[i].level, need[i].index, n)) {
            abort();
        }
        for (j = 0; j < i; j++) {
            if (need[j].level == need[i].level &&
                need[j].index == need[i].index) {
                abort();
            }
        }
        len = (size_t)need[i].width * MERKLE_HASH_LEN;
        for (j = 0; j < len; j++) {
            tile[j] = plen > 0 ? pay[(j + i) % plen] : (uint8_t)i;
        }
        r = tiles_set_put(ts, &need[i], tile, len);
        if (r != 0 && r != -1) {
            abort();
        }
    }
}

/* Level hashes of n leaves derived from pay; levels[h] has n >> h. */
static void
fuzz_honest(uint64_t m, uint64_t n, uint64_t at, const uint8_t *pay,
            size_t plen)
{
    static uint8_t lv[11][FUZZ_HONEST_MAX][MERKLE_HASH_LEN];
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN];
    struct tiles_coord need[TILES_SET_MAX];
    struct merkle_range ref, rat, rm, tr;
    struct tiles_set *ts;
    uint64_t i, j, h;
    size_t k, np = 0, t;

    merkle_range_init(&ref);
    merkle_range_init(&rat);
    merkle_range_init(&rm);
    for (i = 0; i < n; i++) {
        uint8_t leaf[2];
        leaf[0] = plen > 0 ? pay[i % plen] : 0;
        leaf[1] = (uint8_t)i;
        merkle_leaf_hash(leaf, sizeof(leaf), lv[0][i]);
        if (i == at) {
            rat = ref;
        }
        if (i == m) {
            rm = ref;
        }
        if (merkle_range_append(&ref, lv[0][i]) != MERKLE_OK) {
            abort();
        }
    }
    if (at == n) {
        rat = ref;
    }
    if (m == n) {
        rm = ref;
    }
    for (h = 0; h + 1 < 11 && (n >> (h + 1)) > 0; h++) {
        for (j = 0; j < (n >> (h + 1)); j++) {
            merkle_node_hash(lv[h][2 * j], lv[h][2 * j + 1], lv[h + 1][j]);
        }
    }
    ts = tiles_set_new(n);
    if (ts == NULL) {
        abort();
    }
    for (t = 0; t < 3; t++) {
        k = t == 0   ? tiles_needed_consistency(m, n, need, TILES_SET_MAX)
            : t == 1 ? tiles_needed_range(at, n, need, TILES_SET_MAX)
                     : tiles_needed_root(n, need, TILES_SET_MAX);
        for (i = 0; i < k; i++) {
            unsigned hh = (unsigned)need[i].level * TILES_HEIGHT;
            (void)tiles_set_put(ts, &need[i],
                                lv[hh][need[i].index * TILES_WIDTH],
                                (size_t)need[i].width * MERKLE_HASH_LEN);
        }
    }
    merkle_range_root(&rm, r1);
    merkle_range_root(&ref, r2);
    if (tiles_consistency_proof(ts, m, proof, MERKLE_MAX_PROOF, &np) != 0 ||
        merkle_verify_consistency(m, n, r1, r2,
                                  (const uint8_t(*)[MERKLE_HASH_LEN])proof,
                                  np) != MERKLE_OK) {
        abort();
    }
    if (tiles_root(ts, got) != 0 || memcmp(got, r2, MERKLE_HASH_LEN) != 0) {
        abort();
    }
    if (tiles_range_at(ts, at, &tr) != 0 || tr.size != rat.size ||
        tr.nhashes != rat.nhashes ||
        memcmp(tr.hashes, rat.hashes, (size_t)tr.nhashes * MERKLE_HASH_LEN) !=
            0) {
        abort();
    }
    tiles_set_free(ts);
}

static unsigned
fuzz_popcount(uint64_t x)
{
    unsigned c = 0;

    for (; x != 0; x &= x - 1) {
        c++;
    }
    return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t tile[TILES_TILE_MAX];
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    uint8_t root[MERKLE_HASH_LEN];
    struct tiles_coord need[TILES_SET_MAX], all[3 * TILES_SET_MAX], bad;
    struct merkle_range r;
    struct tiles_set *ts;
    const uint8_t *pay = data;
    size_t plen = size, k1, k2, k3, np = 0, want;
    uint64_t n = 0, m = 0, at = 0;
    uint8_t s = size > 0 ? data[0] : 0;

    /* Bundles: the whole input and the payload, a few widths. */
    fuzz_bundle(data, size, 1);
    fuzz_bundle(data, size, 1u + s);
    fuzz_bundle(data, size, 0);
    if (size < 25) {
        fuzz_path((int)s - 2, size, (unsigned)size * 13);
        return 0;
    }
    pay = data + 25;
    plen = size - 25;
    fuzz_bundle(pay, plen, 1u + data[1]);
    fuzz_bundle(pay, plen, 2);
    n = (fuzz_u64(data + 1) & (TILES_MAX_SIZE - 1)) >> (s % 64);
    fuzz_path((int)(data[9] % 70) - 2, fuzz_u64(data + 1),
              fuzz_u64(data + 17) % 300);
    if (n == 0) {
        return 0;
    }
    m = 1 + fuzz_u64(data + 9) % n;
    at = fuzz_u64(data + 17) % (n + 1);

    /* Needs, and a set of them holding any bytes. */
    k1 = tiles_needed_consistency(m, n, all, TILES_SET_MAX);
    k2 = tiles_needed_range(at, n, all + k1, TILES_SET_MAX);
    k3 = tiles_needed_root(n, all + k1 + k2, TILES_SET_MAX);
    if (k1 > TILES_SET_MAX || k2 > TILES_SET_MAX || k3 > TILES_SET_MAX ||
        tiles_needed_consistency(m, n, NULL, 0) != k1 ||
        tiles_needed_range(at, n, need, 1) != k2) {
        abort();
    }
    ts = tiles_set_new(n);
    if (ts == NULL) {
        abort();
    }
    /* Without the first needed tile the proof is refused. */
    fuzz_fill(ts, n, all + 1, k1 > 0 ? k1 - 1 : 0, pay, plen, tile);
    if (k1 > 0 &&
        tiles_consistency_proof(ts, m, proof, MERKLE_MAX_PROOF, &np) != -1) {
        abort();
    }
    fuzz_fill(ts, n, all, k1, pay, plen, tile);
    fuzz_fill(ts, n, all + k1, k2, pay, plen, tile);
    fuzz_fill(ts, n, all + k1 + k2, k3, pay, plen, tile);
    want = m == n ? 0 : merkle_consistency_proof_len(m, n);
    if (tiles_consistency_proof(ts, m, proof, MERKLE_MAX_PROOF, &np) != 0 ||
        np != want || tiles_range_at(ts, at, &r) != 0 || r.size != at ||
        r.nhashes != fuzz_popcount(at) || tiles_root(ts, root) != 0) {
        abort();
    }
    if (want > 0 &&
        tiles_consistency_proof(ts, m, proof, want - 1, &np) != -1) {
        abort();
    }
    /* A tile of the wrong width is refused. */
    if (k1 + k2 + k3 > 0) {
        bad = all[0];
        bad.width = bad.width == TILES_WIDTH ? 1 : bad.width + 1;
        if (tiles_set_put(ts, &bad, tile,
                          (size_t)bad.width * MERKLE_HASH_LEN) != -1) {
            abort();
        }
    }
    tiles_set_free(ts);

    if (n <= FUZZ_HONEST_MAX) {
        fuzz_honest(m, n, at, pay, plen);
    }
    return 0;
}
