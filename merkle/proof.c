/*
 * proof.c: RFC 9162 inclusion (2.1.3.2) and consistency (2.1.4.2) proof
 * verification, and the expected proof lengths.
 *
 * The algorithms are the iterative decomposition used by transparency-dev's
 * proof/verify.go: a proof splits into an "inner" part (below the level where
 * the paths to the leaf and to the last leaf of the tree diverge) and a
 * "border" part (left siblings above it).  Both lengths follow from the
 * sizes alone, so every proof length is checked against the exact expected
 * value before any hash is computed.
 *
 * Invariants: no recursion, no allocation, no I/O; work is bounded by the
 * checked proof length (<= 64 for inclusion, <= 128 for consistency).
 */
#include <string.h>

#include "merkle/merkle.h"

const char *
merkle_strerror(enum merkle_result r)
{
    switch (r) {
    case MERKLE_OK:
        return "ok";
    case MERKLE_ERR_ARG:
        return "impossible arguments";
    case MERKLE_ERR_PROOF_LENGTH:
        return "proof has the wrong number of hashes";
    case MERKLE_ERR_ROOT_MISMATCH:
        return "recomputed root differs from the expected root";
    case MERKLE_ERR_SIZE_ZERO:
        return "consistency proof from an empty tree";
    case MERKLE_ERR_SIZE_ORDER:
        return "old tree size is greater than new tree size";
    case MERKLE_ERR_NONEMPTY_PROOF:
        return "equal tree sizes need an empty proof";
    case MERKLE_ERR_HASH_LENGTH:
        return "hash is not 32 bytes";
    case MERKLE_ERR_NOTE_MALFORMED:
        return "malformed signed note or checkpoint";
    case MERKLE_ERR_NOTE_UNVERIFIED:
        return "no signature from a known key";
    case MERKLE_ERR_NOTE_BAD_SIGNATURE:
        return "invalid signature from a known key";
    case MERKLE_ERR_NOTE_TOO_MANY:
        return "too many signature lines";
    case MERKLE_ERR_KEY:
        return "unusable verifier key";
    case MERKLE_ERR_INTERNAL:
        return "crypto library failure";
    }
    return "unknown merkle error";
}

/* Number of significant bits of x (0 for 0). */
static unsigned
bit_len(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
}

static unsigned
pop_count(uint64_t x)
{
    unsigned n = 0;

    while (x != 0) {
        x &= x - 1;
        n++;
    }
    return n;
}

static unsigned
trailing_zeros(uint64_t x)
{
    unsigned n = 0;

    if (x == 0) {
        return 64;
    }
    while ((x & 1) == 0) {
        n++;
        x >>= 1;
    }
    return n;
}

/*
 * Split the inclusion proof of index in a tree of size (index < size) into
 * its inner and border lengths.
 */
static void
decomp_inclusion(uint64_t index, uint64_t size, unsigned *inner,
                 unsigned *border)
{
    *inner = bit_len(index ^ (size - 1));
    *border = pop_count(*inner >= 64 ? 0 : index >> *inner);
}

/* Hash the inner part: bit i of index says on which side proof[i] is. */
static void
chain_inner(uint8_t seed[MERKLE_HASH_LEN],
            const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n, uint64_t index)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (((index >> i) & 1) == 0) {
            merkle_node_hash(seed, proof[i], seed);
        } else {
            merkle_node_hash(proof[i], seed, seed);
        }
    }
}

/* Like chain_inner, but only the left-hand siblings. */
static void
chain_inner_right(uint8_t seed[MERKLE_HASH_LEN],
                  const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n,
                  uint64_t index)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (((index >> i) & 1) == 1) {
            merkle_node_hash(proof[i], seed, seed);
        }
    }
}

/* The border part: every sibling is on the left. */
static void
chain_border_right(uint8_t seed[MERKLE_HASH_LEN],
                   const uint8_t (*proof)[MERKLE_HASH_LEN], size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        merkle_node_hash(proof[i], seed, seed);
    }
}

size_t
merkle_inclusion_proof_len(uint64_t index, uint64_t size)
{
    unsigned inner, border;

    if (index >= size) {
        return 0;
    }
    decomp_inclusion(index, size, &inner, &border);
    return (size_t)inner + border;
}

size_t
merkle_consistency_proof_len(uint64_t size1, uint64_t size2)
{
    unsigned inner, border, shift;

    if (size1 == 0 || size1 >= size2) {
        return 0;
    }
    decomp_inclusion(size1 - 1, size2, &inner, &border);
    shift = trailing_zeros(size1);
    inner -= shift;
    /* A power-of-two size1 is itself a node of the new tree: its root is
     * root1 and is not repeated in the proof. */
    return (size1 == (uint64_t)1 << shift ? 0 : 1) + (size_t)inner + border;
}

enum merkle_result
merkle_root_from_inclusion(uint64_t index, uint64_t size,
                           const uint8_t leaf[MERKLE_HASH_LEN],
                           const uint8_t (*proof)[MERKLE_HASH_LEN],
                           size_t nproof, uint8_t root_out[MERKLE_HASH_LEN])
{
    unsigned inner, border;
    uint8_t h[MERKLE_HASH_LEN];

    if (index >= size) {
        return MERKLE_ERR_ARG;
    }
    decomp_inclusion(index, size, &inner, &border);
    if (nproof != (size_t)inner + border) {
        return MERKLE_ERR_PROOF_LENGTH;
    }
    if (nproof > 0 && proof == NULL) {
        return MERKLE_ERR_ARG;
    }
    memcpy(h, leaf, MERKLE_HASH_LEN);
    chain_inner(h, proof, inner, index);
    chain_border_right(h, proof + inner, border);
    memcpy(root_out, h, MERKLE_HASH_LEN);
    return MERKLE_OK;
}

enum merkle_result
merkle_verify_inclusion(uint64_t index, uint64_t size,
                        const uint8_t leaf[MERKLE_HASH_LEN],
                        const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof,
                        const uint8_t root[MERKLE_HASH_LEN])
{
    uint8_t got[MERKLE_HASH_LEN];
    enum merkle_result r;

    r = merkle_root_from_inclusion(index, size, leaf, proof, nproof, got);
    if (r != MERKLE_OK) {
        return r;
    }
    if (!merkle_hash_equal(got, root)) {
        return MERKLE_ERR_ROOT_MISMATCH;
    }
    return MERKLE_OK;
}

enum merkle_result
merkle_verify_consistency(uint64_t size1, uint64_t size2,
                          const uint8_t root1[MERKLE_HASH_LEN],
                          const uint8_t root2[MERKLE_HASH_LEN],
                          const uint8_t (*proof)[MERKLE_HASH_LEN],
                          size_t nproof)
{
    unsigned inner, border, shift;
    uint8_t seed[MERKLE_HASH_LEN], h1[MERKLE_HASH_LEN], h2[MERKLE_HASH_LEN];
    uint64_t mask;
    size_t start;

    if (size1 == 0) {
        return MERKLE_ERR_SIZE_ZERO;
    }
    if (size1 > size2) {
        return MERKLE_ERR_SIZE_ORDER;
    }
    if (size1 == size2) {
        if (nproof != 0) {
            return MERKLE_ERR_NONEMPTY_PROOF;
        }
        return merkle_hash_equal(root1, root2) ? MERKLE_OK
                                               : MERKLE_ERR_ROOT_MISMATCH;
    }
    if (nproof != merkle_consistency_proof_len(size1, size2)) {
        return MERKLE_ERR_PROOF_LENGTH;
    }
    if (proof == NULL) {
        return MERKLE_ERR_ARG;
    }

    decomp_inclusion(size1 - 1, size2, &inner, &border);
    shift = trailing_zeros(size1);
    inner -= shift;
    if (size1 == (uint64_t)1 << shift) {
        memcpy(seed, root1, MERKLE_HASH_LEN);
        start = 0;
    } else {
        memcpy(seed, proof[0], MERKLE_HASH_LEN);
        start = 1;
    }
    proof += start;
    mask = (size1 - 1) >> shift;

    memcpy(h1, seed, MERKLE_HASH_LEN);
    chain_inner_right(h1, proof, inner, mask);
    chain_border_right(h1, proof + inner, border);
    if (!merkle_hash_equal(h1, root1)) {
        return MERKLE_ERR_ROOT_MISMATCH;
    }

    memcpy(h2, seed, MERKLE_HASH_LEN);
    chain_inner(h2, proof, inner, mask);
    chain_border_right(h2, proof + inner, border);
    if (!merkle_hash_equal(h2, root2)) {
        return MERKLE_ERR_ROOT_MISMATCH;
    }
    return MERKLE_OK;
}
