/*
 * test_range_property.c: property tests of the compact range and the proof
 * verifiers against a reference written here straight from RFC 6962:
 * MTH (2.1), PATH (2.1.1) and PROOF/SUBPROOF (2.1.2), recursive and slow
 * on purpose, sharing nothing with merkle/ but the two hash functions.
 *
 * Trees have random leaves from a seeded PRNG (splitmix64); the seed is
 * printed, and TLW_SEED=<n> repeats a run.  Sizes go up to 65,536 leaves:
 * every small size exhaustively, larger ones sampled log-uniformly, and
 * the full 65,536 a few times, so a Debug ASan build stays well under
 * 20 s.  Very large sizes (up to 2^64 - 1) are covered by a tree whose
 * leaves are all equal, whose subtree hashes depend only on their size.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "merkle/merkle.h"
#include "merkle_testutil.h"

#define MAX_LEAVES 65536
#define SMALL_N 48 /* every (i, n) and (m, n) pair up to this size */
#define SAMPLES 40
#define FULL_RUNS 2

typedef uint8_t hash_t[MERKLE_HASH_LEN];

struct world {
    uint64_t seed;
    uint64_t rng;
    hash_t *leaves; /* MAX_LEAVES random leaf hashes */
};

static struct world *W;

static uint64_t
rnd(void)
{
    uint64_t z = (W->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static uint64_t
rnd_below(uint64_t n)
{
    return rnd() % n;
}

/* Log-uniform in [lo, hi]. */
static uint64_t
rnd_size(uint64_t lo, uint64_t hi)
{
    unsigned bits = 0, b;
    uint64_t v;

    while ((hi >> bits) > 1) {
        bits++;
    }
    do {
        b = (unsigned)rnd_below(bits + 1);
        v = ((uint64_t)1 << b) + rnd_below((uint64_t)1 << b);
    } while (v < lo || v > hi);
    return v;
}

/* ---- RFC 6962 reference ------------------------------------------- */

/* The largest power of two smaller than n (n > 1). */
static uint64_t
split_point(uint64_t n)
{
    uint64_t k = 1;

    while (k < n - k) {
        k <<= 1;
    }
    return k;
}

/* MTH(D[n]) over leaf hashes d. */
static void
ref_mth(const hash_t *d, uint64_t n, hash_t out)
{
    hash_t l, r;
    uint64_t k;

    if (n == 0) {
        merkle_empty_root(out);
        return;
    }
    if (n == 1) {
        memcpy(out, d[0], MERKLE_HASH_LEN);
        return;
    }
    k = split_point(n);
    ref_mth(d, k, l);
    ref_mth(d + k, n - k, r);
    merkle_node_hash(l, r, out);
}

/* PATH(m, D[n]) appended to proof[*np]. */
static void
ref_path(uint64_t m, const hash_t *d, uint64_t n, hash_t *proof, size_t *np)
{
    uint64_t k;

    if (n <= 1) {
        return;
    }
    k = split_point(n);
    if (m < k) {
        ref_path(m, d, k, proof, np);
        ref_mth(d + k, n - k, proof[(*np)++]);
    } else {
        ref_path(m - k, d + k, n - k, proof, np);
        ref_mth(d, k, proof[(*np)++]);
    }
}

/* SUBPROOF(m, D[n], b) appended to proof[*np]. */
static void
ref_subproof(uint64_t m, const hash_t *d, uint64_t n, int b, hash_t *proof,
             size_t *np)
{
    uint64_t k;

    if (m == n) {
        if (!b) {
            ref_mth(d, n, proof[(*np)++]);
        }
        return;
    }
    k = split_point(n);
    if (m <= k) {
        ref_subproof(m, d, k, b, proof, np);
        ref_mth(d + k, n - k, proof[(*np)++]);
    } else {
        ref_subproof(m - k, d + k, n - k, 0, proof, np);
        ref_mth(d, k, proof[(*np)++]);
    }
}

/* ---- checks ------------------------------------------------------- */

static void
flip(hash_t h)
{
    h[rnd_below(MERKLE_HASH_LEN)] ^= (uint8_t)(1u << rnd_below(8));
}

/* Inclusion of leaf i in D[n]: the reference proof verifies, mutations
 * fail, and seeding a range from it then appending reaches MTH(D[n]). */
static void
check_inclusion(uint64_t i, uint64_t n)
{
    const hash_t *d = (const hash_t *)W->leaves;
    hash_t proof[MERKLE_MAX_PROOF + 1], root, got, want;
    size_t np = 0;
    struct merkle_range rg;
    enum merkle_result r;
    uint64_t j;

    ref_mth(d, n, root);
    ref_path(i, d, n, proof, &np);
    if (merkle_inclusion_proof_len(i, n) != np) {
        fail_msg("seed %" PRIu64 ": inclusion length (%" PRIu64 ", %" PRIu64
                 "): %zu, reference %zu",
                 W->seed, i, n, merkle_inclusion_proof_len(i, n), np);
    }
    r = merkle_verify_inclusion(i, n, d[i], (const hash_t *)proof, np, root);
    if (r != MERKLE_OK) {
        fail_msg("seed %" PRIu64 ": inclusion (%" PRIu64 ", %" PRIu64 "): %s",
                 W->seed, i, n, merkle_strerror(r));
    }

    /* mutations */
    if (np > 0) {
        size_t at = (size_t)rnd_below(np);
        hash_t save;
        memcpy(save, proof[at], MERKLE_HASH_LEN);
        flip(proof[at]);
        assert_int_equal(merkle_verify_inclusion(
                             i, n, d[i], (const hash_t *)proof, np, root),
                         MERKLE_ERR_ROOT_MISMATCH);
        memcpy(proof[at], save, MERKLE_HASH_LEN);
        assert_int_equal(merkle_verify_inclusion(
                             i, n, d[i], (const hash_t *)proof, np - 1, root),
                         MERKLE_ERR_PROOF_LENGTH);
    }
    assert_int_equal(merkle_verify_inclusion(i, n, d[i], (const hash_t *)proof,
                                             np + 1, root),
                     MERKLE_ERR_PROOF_LENGTH);
    if (n > 1) {
        /* another leaf, another index */
        uint64_t o = (i + 1 + rnd_below(n - 1)) % n;
        assert_int_not_equal(merkle_verify_inclusion(
                                 o, n, d[i], (const hash_t *)proof, np, root),
                             MERKLE_OK);
        assert_int_not_equal(merkle_verify_inclusion(
                                 i, n, d[o], (const hash_t *)proof, np, root),
                             MERKLE_OK);
    }
    memcpy(got, root, MERKLE_HASH_LEN);
    flip(got);
    assert_int_equal(
        merkle_verify_inclusion(i, n, d[i], (const hash_t *)proof, np, got),
        MERKLE_ERR_ROOT_MISMATCH);

    /* seed the range [0, i + 1) from the proof, then append the rest */
    r = merkle_range_from_inclusion(&rg, i, n, d[i], (const hash_t *)proof, np,
                                    root);
    assert_int_equal(r, MERKLE_OK);
    assert_int_equal(rg.size, i + 1);
    merkle_range_root(&rg, got);
    ref_mth(d, i + 1, want);
    if (memcmp(got, want, MERKLE_HASH_LEN) != 0) {
        fail_msg("seed %" PRIu64 ": seeded range root (%" PRIu64 ", %" PRIu64
                 ") differs",
                 W->seed, i, n);
    }
    for (j = i + 1; j < n; j++) {
        assert_int_equal(merkle_range_append(&rg, d[j]), MERKLE_OK);
    }
    merkle_range_root(&rg, got);
    if (memcmp(got, root, MERKLE_HASH_LEN) != 0) {
        fail_msg("seed %" PRIu64 ": seeded+appended root (%" PRIu64 ", %" PRIu64
                 ") differs",
                 W->seed, i, n);
    }
}

/* Consistency m -> n: the reference proof verifies, mutations fail. */
static void
check_consistency(uint64_t m, uint64_t n)
{
    const hash_t *d = (const hash_t *)W->leaves;
    hash_t proof[MERKLE_MAX_PROOF + 1], r1, r2, other;
    size_t np = 0;
    enum merkle_result r;

    ref_mth(d, m, r1);
    ref_mth(d, n, r2);
    ref_subproof(m, d, n, 1, proof, &np);
    if (m < n && merkle_consistency_proof_len(m, n) != np) {
        fail_msg("seed %" PRIu64 ": consistency length (%" PRIu64 ", %" PRIu64
                 "): %zu, reference %zu",
                 W->seed, m, n, merkle_consistency_proof_len(m, n), np);
    }
    r = merkle_verify_consistency(m, n, r1, r2, (const hash_t *)proof, np);
    if (r != MERKLE_OK) {
        fail_msg("seed %" PRIu64 ": consistency (%" PRIu64 ", %" PRIu64 "): %s",
                 W->seed, m, n, merkle_strerror(r));
    }
    if (np > 0) {
        size_t at = (size_t)rnd_below(np);
        hash_t save;
        memcpy(save, proof[at], MERKLE_HASH_LEN);
        flip(proof[at]);
        assert_int_equal(
            merkle_verify_consistency(m, n, r1, r2, (const hash_t *)proof, np),
            MERKLE_ERR_ROOT_MISMATCH);
        memcpy(proof[at], save, MERKLE_HASH_LEN);
        assert_int_equal(merkle_verify_consistency(
                             m, n, r1, r2, (const hash_t *)proof, np - 1),
                         MERKLE_ERR_PROOF_LENGTH);
    }
    assert_int_not_equal(
        merkle_verify_consistency(m, n, r1, r2, (const hash_t *)proof, np + 1),
        MERKLE_OK);
    /* a changed root on either side */
    memcpy(other, r1, MERKLE_HASH_LEN);
    flip(other);
    assert_int_not_equal(
        merkle_verify_consistency(m, n, other, r2, (const hash_t *)proof, np),
        MERKLE_OK);
    memcpy(other, r2, MERKLE_HASH_LEN);
    flip(other);
    assert_int_not_equal(
        merkle_verify_consistency(m, n, r1, other, (const hash_t *)proof, np),
        MERKLE_OK);
    /* a root from another size, on either side (small trees: the
     * reference costs O(n)) */
    if (m > 1 && n <= SMALL_N) {
        ref_mth(d, m - 1, other);
        assert_int_not_equal(merkle_verify_consistency(
                                 m, n, other, r2, (const hash_t *)proof, np),
                             MERKLE_OK);
    }
    if (n < MAX_LEAVES && n <= SMALL_N) {
        ref_mth(d, n + 1, other);
        assert_int_not_equal(merkle_verify_consistency(
                                 m, n, r1, other, (const hash_t *)proof, np),
                             MERKLE_OK);
    }
    if (m < n) {
        assert_int_not_equal(
            merkle_verify_consistency(m, n, r2, r1, (const hash_t *)proof, np),
            MERKLE_OK);
    }
}

/* ---- tests -------------------------------------------------------- */

static void
test_append_small(void **state)
{
    struct merkle_range rg;
    hash_t got, want;
    uint64_t n;

    (void)state;
    merkle_range_init(&rg);
    for (n = 0; n <= 1024; n++) {
        merkle_range_root(&rg, got);
        ref_mth((const hash_t *)W->leaves, n, want);
        if (memcmp(got, want, MERKLE_HASH_LEN) != 0) {
            fail_msg("seed %" PRIu64 ": root at size %" PRIu64 " differs",
                     W->seed, n);
        }
        /* negative twin: one leaf changed changes the root */
        if (n > 0) {
            struct merkle_range alt;
            hash_t leaf;
            uint64_t j, at = rnd_below(n);
            merkle_range_init(&alt);
            for (j = 0; j < n; j++) {
                memcpy(leaf, W->leaves[j], MERKLE_HASH_LEN);
                if (j == at) {
                    flip(leaf);
                }
                assert_int_equal(merkle_range_append(&alt, leaf), MERKLE_OK);
            }
            merkle_range_root(&alt, leaf);
            assert_memory_not_equal(leaf, want, MERKLE_HASH_LEN);
            n += n / 16; /* sample the larger sizes */
            while (rg.size < n) {
                assert_int_equal(merkle_range_append(&rg, W->leaves[rg.size]),
                                 MERKLE_OK);
            }
        }
        assert_int_equal(merkle_range_append(&rg, W->leaves[n]), MERKLE_OK);
        assert_int_equal(rg.size, n + 1);
    }
}

static void
test_append_full(void **state)
{
    struct merkle_range rg, copy;
    hash_t got, want;
    uint64_t n, checkpoints[] = {2,    3,     255,   256,   257,   4095,  4096,
                                 4097, 32767, 32768, 32769, 65535, 65536, 0};
    size_t c = 0;

    (void)state;
    merkle_range_init(&rg);
    for (n = 1; n <= MAX_LEAVES; n++) {
        assert_int_equal(merkle_range_append(&rg, W->leaves[n - 1]), MERKLE_OK);
        /* the listed sizes, and about 4 random ones */
        if (n == checkpoints[c] || rnd_below(MAX_LEAVES / 4) == 0) {
            merkle_range_root(&rg, got);
            ref_mth((const hash_t *)W->leaves, n, want);
            if (memcmp(got, want, MERKLE_HASH_LEN) != 0) {
                fail_msg("seed %" PRIu64 ": root at size %" PRIu64 " differs",
                         W->seed, n);
            }
            /* a stored and reloaded range gives the same root */
            assert_int_equal(merkle_range_load(&copy, rg.size,
                                               (const hash_t *)rg.hashes,
                                               rg.nhashes),
                             MERKLE_OK);
            merkle_range_root(&copy, want);
            assert_memory_equal(got, want, MERKLE_HASH_LEN);
            if (n == checkpoints[c]) {
                c++;
            }
        }
    }
    assert_int_equal(rg.size, MAX_LEAVES);
    assert_int_equal(rg.nhashes, 1);
}

static void
test_inclusion_small(void **state)
{
    uint64_t n, i;

    (void)state;
    for (n = 1; n <= SMALL_N; n++) {
        for (i = 0; i < n; i++) {
            check_inclusion(i, n);
        }
    }
}

static void
test_consistency_small(void **state)
{
    uint64_t n, m;

    (void)state;
    for (n = 1; n <= SMALL_N; n++) {
        for (m = 1; m <= n; m++) {
            check_consistency(m, n);
        }
    }
}

static void
test_sampled(void **state)
{
    int s;

    (void)state;
    for (s = 0; s < SAMPLES; s++) {
        uint64_t n = rnd_size(SMALL_N + 1, MAX_LEAVES / 8);
        check_inclusion(rnd_below(n), n);
        check_consistency(1 + rnd_below(n), n);
    }
}

static void
test_full_size(void **state)
{
    int s;

    (void)state;
    for (s = 0; s < FULL_RUNS; s++) {
        uint64_t i = s == 0 ? MAX_LEAVES - 1 : rnd_below(MAX_LEAVES);
        uint64_t m = s == 0 ? MAX_LEAVES - 1 : 1 + rnd_below(MAX_LEAVES);
        check_inclusion(i, MAX_LEAVES);
        check_consistency(m, MAX_LEAVES);
    }
}

/* ---- huge trees of equal leaves ----------------------------------- */

/* With every leaf equal to u, MTH of any n leaves depends on n only. */
static hash_t U_pow[64]; /* U_pow[k] = MTH of 2^k equal leaves */

static void
uni_mth(uint64_t n, hash_t out)
{
    hash_t r;
    uint64_t k;
    unsigned b = 0;

    if (n == 0) {
        merkle_empty_root(out);
        return;
    }
    if ((n & (n - 1)) == 0) {
        while (((uint64_t)1 << b) != n) {
            b++;
        }
        memcpy(out, U_pow[b], MERKLE_HASH_LEN);
        return;
    }
    k = split_point(n);
    uni_mth(n - k, r);
    uni_mth(k, out);
    merkle_node_hash(out, r, out);
}

static void
uni_path(uint64_t m, uint64_t n, hash_t *proof, size_t *np)
{
    uint64_t k;

    if (n <= 1) {
        return;
    }
    k = split_point(n);
    if (m < k) {
        uni_path(m, k, proof, np);
        uni_mth(n - k, proof[(*np)++]);
    } else {
        uni_path(m - k, n - k, proof, np);
        uni_mth(k, proof[(*np)++]);
    }
}

static void
uni_subproof(uint64_t m, uint64_t n, int b, hash_t *proof, size_t *np)
{
    uint64_t k;

    if (m == n) {
        if (!b) {
            uni_mth(n, proof[(*np)++]);
        }
        return;
    }
    k = split_point(n);
    if (m <= k) {
        uni_subproof(m, k, b, proof, np);
        uni_mth(n - k, proof[(*np)++]);
    } else {
        uni_subproof(m - k, n - k, 0, proof, np);
        uni_mth(k, proof[(*np)++]);
    }
}

static void
test_huge_sizes(void **state)
{
    hash_t proof[MERKLE_MAX_PROOF + 1], root, r1;
    struct merkle_range rg;
    int s, k;

    (void)state;
    memcpy(U_pow[0], W->leaves[0], MERKLE_HASH_LEN);
    for (k = 1; k < 64; k++) {
        merkle_node_hash(U_pow[k - 1], U_pow[k - 1], U_pow[k]);
    }
    for (s = 0; s < 400; s++) {
        uint64_t n = s == 0 ? UINT64_MAX : rnd_size(2, UINT64_MAX);
        uint64_t i = s == 0 ? UINT64_MAX - 1 : rnd_below(n);
        uint64_t m = s == 0 ? UINT64_MAX - 1 : 1 + rnd_below(n);
        size_t np = 0;

        uni_mth(n, root);
        uni_path(i, n, proof, &np);
        assert_int_equal(merkle_inclusion_proof_len(i, n), np);
        assert_true(np <= 64);
        assert_int_equal(merkle_verify_inclusion(
                             i, n, U_pow[0], (const hash_t *)proof, np, root),
                         MERKLE_OK);
        /* seeding works at any size; its root is MTH(i + 1) */
        assert_int_equal(merkle_range_from_inclusion(&rg, i, n, U_pow[0],
                                                     (const hash_t *)proof, np,
                                                     root),
                         MERKLE_OK);
        merkle_range_root(&rg, r1);
        uni_mth(i + 1, proof[0]);
        assert_memory_equal(r1, proof[0], MERKLE_HASH_LEN);

        np = 0;
        uni_mth(m, r1);
        uni_subproof(m, n, 1, proof, &np);
        assert_true(np <= MERKLE_MAX_PROOF);
        if (m < n) {
            assert_int_equal(merkle_consistency_proof_len(m, n), np);
        }
        assert_int_equal(merkle_verify_consistency(m, n, r1, root,
                                                   (const hash_t *)proof, np),
                         MERKLE_OK);
        if (np > 0) {
            flip(proof[rnd_below(np)]);
            assert_int_equal(merkle_verify_consistency(
                                 m, n, r1, root, (const hash_t *)proof, np),
                             MERKLE_ERR_ROOT_MISMATCH);
        }
    }
}

static int
setup(void **state)
{
    const char *env = getenv("TLW_SEED");
    size_t i;

    (void)state;
    W = calloc(1, sizeof(*W));
    if (W == NULL) {
        return -1;
    }
    if (env != NULL && env[0] != '\0') {
        W->seed = strtoull(env, NULL, 10);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        W->seed = (uint64_t)ts.tv_sec * 1000000007ULL + (uint64_t)ts.tv_nsec;
    }
    printf("test_range_property: seed %" PRIu64 " (TLW_SEED=%" PRIu64
           " repeats this run)\n",
           W->seed, W->seed);
    W->rng = W->seed;
    W->leaves = malloc((size_t)MAX_LEAVES * MERKLE_HASH_LEN);
    if (W->leaves == NULL) {
        return -1;
    }
    for (i = 0; i < MAX_LEAVES; i++) {
        uint64_t v[2] = {rnd(), rnd()};
        merkle_leaf_hash((const uint8_t *)v, sizeof(v), W->leaves[i]);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    free(W->leaves);
    free(W);
    W = NULL;
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_small),
        cmocka_unit_test(test_append_full),
        cmocka_unit_test(test_inclusion_small),
        cmocka_unit_test(test_consistency_small),
        cmocka_unit_test(test_sampled),
        cmocka_unit_test(test_full_size),
        cmocka_unit_test(test_huge_sizes),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
