/*
 * merkle.h: RFC 6962 / RFC 9162 Merkle tree verification for tlogwatch.
 *
 * Leaf and node hashing, inclusion and consistency proof verification
 * (RFC 9162 2.1.3.2 and 2.1.4.2), and a compact range that follows a growing
 * log with O(log n) state.
 *
 * Invariants kept by this module:
 *  - no I/O, no logging, no allocation on any verify path;
 *  - every verification returns a typed verdict; MERKLE_OK is the only
 *    success, every other value names what was wrong (merkle_strerror);
 *  - proof lengths are checked before any hashing is done.
 *
 * Hashes are always MERKLE_HASH_LEN (32) bytes, SHA-256.
 */
#ifndef TLOGWATCH_MERKLE_H
#define TLOGWATCH_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
/* Longest proof for any tree of fewer than 2^64 leaves (inclusion <= 64,
 * consistency <= 2*64); longer inputs are rejected before hashing. */
#define MERKLE_MAX_PROOF 128
/* A compact range holds one hash per set bit of its size. */
#define MERKLE_RANGE_MAX 64

enum merkle_result {
    MERKLE_OK = 0,
    MERKLE_ERR_ARG,             /* impossible arguments (index >= size, ...) */
    MERKLE_ERR_PROOF_LENGTH,    /* proof has the wrong number of hashes */
    MERKLE_ERR_ROOT_MISMATCH,   /* recomputed root differs from the given */
    MERKLE_ERR_SIZE_ZERO,       /* consistency from size 0 is meaningless */
    MERKLE_ERR_SIZE_ORDER,      /* old size greater than new size */
    MERKLE_ERR_NONEMPTY_PROOF,  /* equal sizes need an empty proof */
    MERKLE_ERR_HASH_LENGTH,     /* a hash that is not 32 bytes */
    MERKLE_ERR_NOTE_MALFORMED,  /* signed note or checkpoint does not parse */
    MERKLE_ERR_NOTE_UNVERIFIED, /* no signature from a known key */
    MERKLE_ERR_NOTE_BAD_SIGNATURE, /* a known key's signature is invalid */
    MERKLE_ERR_NOTE_TOO_MANY,      /* more than MERKLE_NOTE_MAX_SIGS lines */
    MERKLE_ERR_KEY,      /* key or vkey unusable (bad encoding, alg) */
    MERKLE_ERR_INTERNAL, /* crypto library failure */
};

/* Returns a static English description of r; never NULL. */
const char *merkle_strerror(enum merkle_result r);

/* SHA-256(0x00 || data). */
void merkle_leaf_hash(const uint8_t *data, size_t len,
                      uint8_t out[MERKLE_HASH_LEN]);
/* SHA-256(0x01 || left || right). out may alias left or right. */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN],
                      const uint8_t right[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN]);
/* SHA-256 of the empty string: the root of the empty tree. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_LEN]);

/*
 * Recompute the root from an inclusion proof (RFC 9162 2.1.3.2).
 * Fails with MERKLE_ERR_ARG when index >= size and MERKLE_ERR_PROOF_LENGTH
 * when nproof is not exactly the length the (index, size) pair implies.
 */
enum merkle_result
merkle_root_from_inclusion(uint64_t index, uint64_t size,
                           const uint8_t leaf[MERKLE_HASH_LEN],
                           const uint8_t (*proof)[MERKLE_HASH_LEN],
                           size_t nproof, uint8_t root_out[MERKLE_HASH_LEN]);

/* Verify that leaf is at index in the tree of the given size and root. */
enum merkle_result
merkle_verify_inclusion(uint64_t index, uint64_t size,
                        const uint8_t leaf[MERKLE_HASH_LEN],
                        const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof,
                        const uint8_t root[MERKLE_HASH_LEN]);

/*
 * Verify a consistency proof between (size1, root1) and (size2, root2)
 * (RFC 9162 2.1.4.2).  size1 == 0 is an error (MERKLE_ERR_SIZE_ZERO);
 * size1 > size2 is MERKLE_ERR_SIZE_ORDER; size1 == size2 needs an empty
 * proof (MERKLE_ERR_NONEMPTY_PROOF) and equal roots.
 */
enum merkle_result merkle_verify_consistency(
    uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH_LEN],
    const uint8_t root2[MERKLE_HASH_LEN],
    const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof);

/* Expected proof lengths, for callers that size buffers or check inputs.
 * Both return 0 for impossible arguments (index >= size; size1 == 0 or
 * size1 >= size2), which is also the length for size 1 / equal sizes. */
size_t merkle_inclusion_proof_len(uint64_t index, uint64_t size);
size_t merkle_consistency_proof_len(uint64_t size1, uint64_t size2);

/*
 * Compact range [0, size): the roots of the maximal perfect subtrees,
 * left to right (one per set bit of size, largest first).  Fixed size, no
 * allocation; copy it by value; 2 KiB.
 */
struct merkle_range {
    uint64_t size;
    unsigned nhashes;
    uint8_t hashes[MERKLE_RANGE_MAX][MERKLE_HASH_LEN];
};

/* The empty range. */
void merkle_range_init(struct merkle_range *r);
/* Append one leaf hash. Amortised O(1) node hashes. Fails (MERKLE_ERR_ARG)
 * only when size would overflow. */
enum merkle_result merkle_range_append(struct merkle_range *r,
                                       const uint8_t leaf[MERKLE_HASH_LEN]);
/* Root of the tree of r->size leaves (empty root for size 0). */
void merkle_range_root(const struct merkle_range *r,
                       uint8_t out[MERKLE_HASH_LEN]);
/* Load a range from stored hashes; nhashes must equal popcount(size). */
enum merkle_result merkle_range_load(struct merkle_range *r, uint64_t size,
                                     const uint8_t (*hashes)[MERKLE_HASH_LEN],
                                     size_t nhashes);
/*
 * Seed r with the range [0, index + 1) from the inclusion proof of leaf
 * `index` in the tree (size, root): the proof is verified against root
 * first; its left-hand hashes plus the leaf are exactly the compact range
 * (DESIGN.md "What must be proven", point 4).  r is untouched on failure.
 */
enum merkle_result
merkle_range_from_inclusion(struct merkle_range *r, uint64_t index,
                            uint64_t size, const uint8_t leaf[MERKLE_HASH_LEN],
                            const uint8_t (*proof)[MERKLE_HASH_LEN],
                            size_t nproof, const uint8_t root[MERKLE_HASH_LEN]);

/* Constant-time comparison of two hashes; 1 when equal. */
int merkle_hash_equal(const uint8_t a[MERKLE_HASH_LEN],
                      const uint8_t b[MERKLE_HASH_LEN]);

/*
 * Codecs used by every parser of log data.  All are pure, length-checked
 * and allocation free.  They return the number of bytes written, or -1 on
 * malformed input or when the output does not fit.
 */
/* Standard base64 with padding (RFC 4648 4); whitespace is not accepted. */
long merkle_b64_decode(const char *in, size_t inlen, uint8_t *out,
                       size_t outcap);
/* Writes a NUL-terminated string; returns its length. */
long merkle_b64_encode(const uint8_t *in, size_t inlen, char *out,
                       size_t outcap);
/* Hex, either case on input; lower case on output (NUL-terminated). */
long merkle_hex_decode(const char *in, size_t inlen, uint8_t *out,
                       size_t outcap);
long merkle_hex_encode(const uint8_t *in, size_t inlen, char *out,
                       size_t outcap);

#endif
