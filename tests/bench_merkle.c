/*
 * bench_merkle.c: throughput of the merkle/ verifiers (never run by ctest;
 * a benchmark never fails, it prints what it measured).
 *
 *   consistency verifications/s  proofs between sizes around 2^30
 *   inclusion verifications/s    proofs in trees around 2^30 leaves
 *   compact-range appends/s
 *   note verifications/s         ECDSA P-256 (Rekor v1) and Ed25519 (v2)
 *
 * Valid proofs for 2^30-leaf trees are made without the tree: with every
 * leaf equal, the hash of a subtree depends on its size only, so RFC 6962
 * MTH/PATH/SUBPROOF take O(log^2 n) here.  Verification cost does not
 * depend on the hash values, only on the proof length.
 *
 * Usage: bench_merkle [seconds-per-benchmark]   (default 1)
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "merkle/note.h"

#define NPROOFS 64

typedef uint8_t hash_t[MERKLE_HASH_LEN];

static hash_t pow_hash[64]; /* MTH of 2^k equal leaves */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k < n - k) {
        k <<= 1;
    }
    return k;
}

static void
mth(uint64_t n, hash_t out)
{
    hash_t r;
    uint64_t k;
    unsigned b = 0;

    if ((n & (n - 1)) == 0) {
        while (((uint64_t)1 << b) != n) {
            b++;
        }
        memcpy(out, pow_hash[b], MERKLE_HASH_LEN);
        return;
    }
    k = split_point(n);
    mth(n - k, r);
    mth(k, out);
    merkle_node_hash(out, r, out);
}

static void
path(uint64_t m, uint64_t n, hash_t *p, size_t *np)
{
    uint64_t k;
    if (n <= 1) {
        return;
    }
    k = split_point(n);
    if (m < k) {
        path(m, k, p, np);
        mth(n - k, p[(*np)++]);
    } else {
        path(m - k, n - k, p, np);
        mth(k, p[(*np)++]);
    }
}

static void
subproof(uint64_t m, uint64_t n, int b, hash_t *p, size_t *np)
{
    uint64_t k;
    if (m == n) {
        if (!b) {
            mth(n, p[(*np)++]);
        }
        return;
    }
    k = split_point(n);
    if (m <= k) {
        subproof(m, k, b, p, np);
        mth(n - k, p[(*np)++]);
    } else {
        subproof(m - k, n - k, 0, p, np);
        mth(k, p[(*np)++]);
    }
}

struct proof_case {
    uint64_t a, n; /* index or old size; tree size */
    hash_t r1, r2;
    hash_t p[MERKLE_MAX_PROOF];
    size_t np;
};

static void
report(const char *what, unsigned long ops, double secs, unsigned long bad)
{
    printf("%-34s %12.0f /s  (%lu in %.2f s%s)\n", what,
           secs > 0 ? (double)ops / secs : 0.0, ops, secs,
           bad ? ", SOME FAILED" : "");
}

static void
bench_proofs(double secs)
{
    static struct proof_case c[NPROOFS];
    unsigned long ops = 0, bad = 0;
    double t0, t;
    size_t i, plen = 0;

    for (i = 0; i < NPROOFS; i++) {
        c[i].n = ((uint64_t)1 << 30) + rnd() % ((uint64_t)1 << 29);
        c[i].a = ((uint64_t)1 << 29) + rnd() % ((uint64_t)1 << 29);
        mth(c[i].n, c[i].r2);
        mth(c[i].a, c[i].r1);
        c[i].np = 0;
        subproof(c[i].a, c[i].n, 1, c[i].p, &c[i].np);
        plen += c[i].np;
    }
    t0 = now();
    do {
        for (i = 0; i < NPROOFS; i++) {
            bad += merkle_verify_consistency(c[i].a, c[i].n, c[i].r1, c[i].r2,
                                             (const hash_t *)c[i].p,
                                             c[i].np) != MERKLE_OK;
        }
        ops += NPROOFS;
    } while ((t = now() - t0) < secs);
    printf("(consistency proofs: %.1f hashes on average)\n",
           (double)plen / NPROOFS);
    report("consistency verifications", ops, t, bad);

    plen = 0;
    for (i = 0; i < NPROOFS; i++) {
        c[i].a = rnd() % c[i].n;
        c[i].np = 0;
        path(c[i].a, c[i].n, c[i].p, &c[i].np);
        plen += c[i].np;
    }
    ops = 0;
    bad = 0;
    t0 = now();
    do {
        for (i = 0; i < NPROOFS; i++) {
            bad += merkle_verify_inclusion(c[i].a, c[i].n, pow_hash[0],
                                           (const hash_t *)c[i].p, c[i].np,
                                           c[i].r2) != MERKLE_OK;
        }
        ops += NPROOFS;
    } while ((t = now() - t0) < secs);
    printf("(inclusion proofs: %.1f hashes on average)\n",
           (double)plen / NPROOFS);
    report("inclusion verifications", ops, t, bad);
}

static void
bench_range(double secs)
{
    struct merkle_range rg;
    hash_t leaf;
    unsigned long ops = 0, bad = 0, k;
    double t0, t;

    merkle_range_init(&rg);
    merkle_leaf_hash((const uint8_t *)"x", 1, leaf);
    t0 = now();
    do {
        for (k = 0; k < 4096; k++) {
            leaf[0] = (uint8_t)k;
            bad += merkle_range_append(&rg, leaf) != MERKLE_OK;
        }
        ops += 4096;
    } while ((t = now() - t0) < secs);
    report("compact-range appends", ops, t, bad);
}

/* Sign text with pk into a one-signature note; returns new or NULL. */
static char *
make_note(EVP_PKEY *pk, const EVP_MD *md, const struct merkle_note_key *key,
          const char *text)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t sig[4 + 128];
    size_t siglen = sizeof(sig) - 4;
    char b64[256], *note = NULL;
    uint32_t id = merkle_note_key_id(key);
    size_t n;

    sig[0] = (uint8_t)(id >> 24);
    sig[1] = (uint8_t)(id >> 16);
    sig[2] = (uint8_t)(id >> 8);
    sig[3] = (uint8_t)id;
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig + 4, &siglen, (const unsigned char *)text,
                       strlen(text)) != 1 ||
        merkle_b64_encode(sig, 4 + siglen, b64, sizeof(b64)) < 0) {
        goto out;
    }
    n = strlen(text) + strlen(b64) + strlen(merkle_note_key_name(key)) + 16;
    note = malloc(n);
    if (note != NULL) {
        snprintf(note, n, "%s\n\xe2\x80\x94 %s %s\n", text,
                 merkle_note_key_name(key), b64);
    }
out:
    EVP_MD_CTX_free(ctx);
    return note;
}

static void
bench_note(const char *what, EVP_PKEY *pk, const EVP_MD *md,
           struct merkle_note_key *key, double secs)
{
    char text[256], root[64];
    char *note;
    unsigned long ops = 0, bad = 0;
    double t0, t;
    hash_t h;
    size_t len;

    mth(((uint64_t)1 << 30) + 12345, h);
    merkle_b64_encode(h, sizeof(h), root, sizeof(root));
    snprintf(text, sizeof(text), "%s - 1193050959916656506\n%" PRIu64 "\n%s\n",
             merkle_note_key_name(key), ((uint64_t)1 << 30) + 12345, root);
    note = make_note(pk, md, key, text);
    if (note == NULL) {
        printf("%-34s could not sign\n", what);
        return;
    }
    len = strlen(note);
    t0 = now();
    do {
        struct merkle_checkpoint cp;
        bad += merkle_checkpoint_verify(note, len, &key, 1, &cp) != MERKLE_OK;
        ops++;
    } while ((t = now() - t0) < secs);
    report(what, ops, t, bad);
    free(note);
}

static void
bench_notes(double secs)
{
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    struct merkle_note_key *kec = NULL, *ked = NULL;
    enum merkle_result err;
    unsigned char *der = NULL;
    uint8_t raw[32];
    size_t rawlen = sizeof(raw);
    int dlen;

    if (ec == NULL || ed == NULL) {
        printf("note verifications: key generation failed\n");
        goto out;
    }
    dlen = i2d_PUBKEY(ec, &der);
    if (dlen > 0) {
        kec = merkle_note_key_ecdsa("rekor.example", der, (size_t)dlen, &err);
    }
    if (EVP_PKEY_get_raw_public_key(ed, raw, &rawlen) == 1) {
        ked = merkle_note_key_ed25519("log2025.example", raw, &err);
    }
    if (kec != NULL) {
        bench_note("note verifications (ECDSA P-256)", ec, EVP_sha256(), kec,
                   secs);
    }
    if (ked != NULL) {
        bench_note("note verifications (Ed25519)", ed, NULL, ked, secs);
    }
out:
    merkle_note_key_free(kec);
    merkle_note_key_free(ked);
    OPENSSL_free(der);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ed);
}

int
main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int k;

    if (secs <= 0) {
        secs = 1.0;
    }
    merkle_leaf_hash((const uint8_t *)"bench", 5, pow_hash[0]);
    for (k = 1; k < 64; k++) {
        merkle_node_hash(pow_hash[k - 1], pow_hash[k - 1], pow_hash[k]);
    }
    bench_proofs(secs);
    bench_range(secs);
    bench_notes(secs);
    return 0;
}
