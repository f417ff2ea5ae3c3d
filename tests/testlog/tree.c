/*
 * tree.c: an in-memory RFC 6962 Merkle tree for tlogwatch-testlog.
 *
 * Storage: level[0] holds the leaf hashes; level[k][j] is the hash of the
 * perfect subtree over leaves [j * 2^k, (j + 1) * 2^k), stored as soon as
 * all its leaves are.  That is about 64 bytes per leaf (64 MB for 1M).
 *
 * Every subtree hash the RFC 6962 algorithms (MTH, PATH, PROOF) ask for
 * is a range [lo, hi) whose lo is a multiple of the largest power of two
 * below its length, so its left part is always a stored perfect subtree
 * and only its right spine is combined on the fly: a root is O(log n)
 * node hashes, a proof O(log n) lookups plus at most one spine.
 *
 * Invariants: for every k, level[k][j] is valid for j < size >> k; a
 * tree never holds more than cap leaves; nothing here allocates except
 * tl_tree_reserve / tl_tree_append.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "merkle/merkle.h"
#include "testlog.h"

void
tl_tree_init(struct tl_tree *t)
{
    memset(t, 0, sizeof(*t));
}

void
tl_tree_free(struct tl_tree *t)
{
    int k;

    for (k = 0; k < TL_MAX_LEVELS; k++) {
        free(t->level[k]);
    }
    memset(t, 0, sizeof(*t));
}

int
tl_tree_reserve(struct tl_tree *t, uint64_t cap)
{
    int k;

    if (cap <= t->cap) {
        return 0;
    }
    if (cap > TL_MAX_ENTRIES) {
        return -1;
    }
    for (k = 0; k < TL_MAX_LEVELS; k++) {
        uint64_t n = cap >> k;
        void *p;

        if (n == 0) {
            break;
        }
        p = realloc(t->level[k], (size_t)n * TL_HASH_LEN);
        if (p == NULL) {
            return -1; /* levels below k grew; cap unchanged stays true */
        }
        t->level[k] = p;
    }
    t->cap = cap;
    return 0;
}

void
tl_tree_commit(struct tl_tree *t, uint64_t n)
{
    uint64_t old = t->size, nsize = t->size + n;
    int k;

    assert(nsize <= t->cap);
    for (k = 1; k < TL_MAX_LEVELS; k++) {
        uint64_t j, lo = old >> k, hi = nsize >> k;

        if (hi == 0) {
            break;
        }
        for (j = lo; j < hi; j++) {
            merkle_node_hash(t->level[k - 1][2 * j], t->level[k - 1][2 * j + 1],
                             t->level[k][j]);
        }
    }
    t->size = nsize;
}

int
tl_tree_append(struct tl_tree *t, const uint8_t leaf[TL_HASH_LEN])
{
    if (t->size == t->cap) {
        uint64_t ncap = t->cap < 1024 ? 1024 : t->cap * 2;

        if (tl_tree_reserve(t, ncap) != 0) {
            return -1;
        }
    }
    memcpy(t->level[0][t->size], leaf, TL_HASH_LEN);
    tl_tree_commit(t, 1);
    return 0;
}

void
tl_tree_set_leaf(struct tl_tree *t, uint64_t i, const uint8_t leaf[TL_HASH_LEN])
{
    int k;

    assert(i < t->size);
    memcpy(t->level[0][i], leaf, TL_HASH_LEN);
    for (k = 1; k < TL_MAX_LEVELS; k++) {
        uint64_t j = i >> k;

        if (j >= (t->size >> k)) {
            break;
        }
        merkle_node_hash(t->level[k - 1][2 * j], t->level[k - 1][2 * j + 1],
                         t->level[k][j]);
    }
}

void
tl_tree_truncate(struct tl_tree *t, uint64_t size)
{
    assert(size <= t->size);
    t->size = size;
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t
split_point(uint64_t n)
{
    return 1ULL << (63 - __builtin_clzll(n - 1));
}

/* MTH(D[lo:hi]) for an aligned range (see the file comment). */
static void
range_hash(const struct tl_tree *t, uint64_t lo, uint64_t hi,
           uint8_t out[TL_HASH_LEN])
{
    uint64_t n = hi - lo, k;
    uint8_t left[TL_HASH_LEN], right[TL_HASH_LEN];

    assert(lo < hi && hi <= t->size);
    if ((n & (n - 1)) == 0) {
        int lvl = __builtin_ctzll(n);

        assert((lo & (n - 1)) == 0);
        memcpy(out, t->level[lvl][lo >> lvl], TL_HASH_LEN);
        return;
    }
    k = split_point(n);
    range_hash(t, lo, lo + k, left);
    range_hash(t, lo + k, hi, right);
    merkle_node_hash(left, right, out);
}

void
tl_tree_root(const struct tl_tree *t, uint64_t size, uint8_t out[TL_HASH_LEN])
{
    if (size == 0) {
        SHA256((const unsigned char *)"", 0, out);
        return;
    }
    range_hash(t, 0, size, out);
}

/* PATH(index, D[lo:hi]), leaf to root order. */
static void
path(const struct tl_tree *t, uint64_t index, uint64_t lo, uint64_t hi,
     uint8_t (*out)[TL_HASH_LEN], size_t *cnt)
{
    uint64_t k;

    if (hi - lo == 1) {
        return;
    }
    k = split_point(hi - lo);
    if (index < lo + k) {
        path(t, index, lo, lo + k, out, cnt);
        range_hash(t, lo + k, hi, out[(*cnt)++]);
    } else {
        path(t, index, lo + k, hi, out, cnt);
        range_hash(t, lo, lo + k, out[(*cnt)++]);
    }
}

size_t
tl_tree_inclusion(const struct tl_tree *t, uint64_t index, uint64_t size,
                  uint8_t (*out)[TL_HASH_LEN])
{
    size_t cnt = 0;

    assert(index < size && size <= t->size);
    path(t, index, 0, size, out, &cnt);
    return cnt;
}

/* SUBPROOF(m, D[lo:hi], b). */
static void
subproof(const struct tl_tree *t, uint64_t m, uint64_t lo, uint64_t hi, int b,
         uint8_t (*out)[TL_HASH_LEN], size_t *cnt)
{
    uint64_t n = hi - lo, k;

    if (m == n) {
        if (!b) {
            range_hash(t, lo, hi, out[(*cnt)++]);
        }
        return;
    }
    k = split_point(n);
    if (m <= k) {
        subproof(t, m, lo, lo + k, b, out, cnt);
        range_hash(t, lo + k, hi, out[(*cnt)++]);
    } else {
        subproof(t, m - k, lo + k, hi, 0, out, cnt);
        range_hash(t, lo, lo + k, out[(*cnt)++]);
    }
}

size_t
tl_tree_consistency(const struct tl_tree *t, uint64_t m, uint64_t n,
                    uint8_t (*out)[TL_HASH_LEN])
{
    size_t cnt = 0;

    assert(m > 0 && m <= n && n <= t->size);
    if (m == n) {
        return 0;
    }
    subproof(t, m, 0, n, 1, out, &cnt);
    return cnt;
}
