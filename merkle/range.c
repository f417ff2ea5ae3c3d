/*
 * range.c: the compact range [0, size) of an RFC 6962 tree.
 *
 * The range holds the roots of the maximal perfect subtrees that cover
 * [0, size), one per set bit of size, largest (left-most) first.  That is
 * enough to append leaves and to compute the root at the current size.
 *
 * Invariants: r->nhashes == popcount(r->size) <= MERKLE_RANGE_MAX at every
 * return; a failing call leaves *r unchanged; no allocation, no I/O.
 */
#include <string.h>

#include "merkle/merkle.h"

static unsigned
range_popcount(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        x &= x - 1;
        n++;
    }
    return n;
}

/* Number of significant bits of x (0 for 0). */
static unsigned
range_bit_len(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
}

void
merkle_range_init(struct merkle_range *r)
{
    memset(r, 0, sizeof(*r));
}

enum merkle_result
merkle_range_append(struct merkle_range *r, const uint8_t leaf[MERKLE_HASH_LEN])
{
    uint8_t h[MERKLE_HASH_LEN];
    uint64_t s;

    if (r->size == UINT64_MAX || r->nhashes > MERKLE_RANGE_MAX ||
        r->nhashes != range_popcount(r->size)) {
        return MERKLE_ERR_ARG;
    }
    /*
     * Every trailing one bit of the old size is a perfect subtree of the
     * same height as the new right-hand neighbour: merge them, like a
     * binary carry.  Amortised one node hash per append.
     */
    memcpy(h, leaf, MERKLE_HASH_LEN);
    for (s = r->size; (s & 1) != 0; s >>= 1) {
        r->nhashes--;
        merkle_node_hash(r->hashes[r->nhashes], h, h);
    }
    memcpy(r->hashes[r->nhashes], h, MERKLE_HASH_LEN);
    r->nhashes++;
    r->size++;
    return MERKLE_OK;
}

void
merkle_range_root(const struct merkle_range *r, uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t h[MERKLE_HASH_LEN];
    unsigned i;

    if (r->nhashes == 0 || r->nhashes > MERKLE_RANGE_MAX) {
        merkle_empty_root(out);
        return;
    }
    /* Fold right to left: the smallest subtrees hang off the right edge. */
    memcpy(h, r->hashes[r->nhashes - 1], MERKLE_HASH_LEN);
    for (i = r->nhashes - 1; i > 0; i--) {
        merkle_node_hash(r->hashes[i - 1], h, h);
    }
    memcpy(out, h, MERKLE_HASH_LEN);
}

enum merkle_result
merkle_range_load(struct merkle_range *r, uint64_t size,
                  const uint8_t (*hashes)[MERKLE_HASH_LEN], size_t nhashes)
{
    if (nhashes != range_popcount(size) || (nhashes > 0 && hashes == NULL)) {
        return MERKLE_ERR_ARG;
    }
    r->size = size;
    r->nhashes = (unsigned)nhashes;
    if (nhashes > 0) {
        memcpy(r->hashes, hashes, nhashes * MERKLE_HASH_LEN);
    }
    return MERKLE_OK;
}

enum merkle_result
merkle_range_from_inclusion(struct merkle_range *r, uint64_t index,
                            uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                            const uint8_t (*proof)[MERKLE_HASH_LEN],
                            size_t nproof, const uint8_t root[MERKLE_HASH_LEN])
{
    struct merkle_range tmp;
    unsigned inner, k;
    size_t i;
    enum merkle_result res;

    res = merkle_verify_inclusion(index, size, leaf, proof, nproof, root);
    if (res != MERKLE_OK) {
        return res;
    }
    /*
     * Below height `inner` (where the leaf's path and the tree's right
     * edge part) proof hash i is the sibling at height i, on the left
     * exactly when bit i of index is set.  Above it (the "border") every
     * sibling is on the left, one per remaining set bit of index.  So the
     * left-hand siblings, from the leaf up, are the perfect subtrees for
     * the set bits of index, smallest first: the compact range [0, index).
     * Store them largest first, then append the leaf.
     */
    inner = range_bit_len(index ^ (size - 1));
    k = range_popcount(index);
    if (k > MERKLE_RANGE_MAX) {
        return MERKLE_ERR_INTERNAL;
    }
    merkle_range_init(&tmp);
    tmp.size = index;
    tmp.nhashes = k;
    for (i = 0; i < nproof; i++) {
        if (i < inner && ((index >> i) & 1) == 0) {
            continue; /* a right-hand sibling */
        }
        if (k == 0) {
            return MERKLE_ERR_INTERNAL; /* cannot happen once verified */
        }
        k--;
        memcpy(tmp.hashes[k], proof[i], MERKLE_HASH_LEN);
    }
    if (k != 0) {
        return MERKLE_ERR_INTERNAL;
    }
    res = merkle_range_append(&tmp, leaf);
    if (res != MERKLE_OK) {
        return res;
    }
    *r = tmp;
    return MERKLE_OK;
}
