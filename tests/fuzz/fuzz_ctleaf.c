/*
 * fuzz_ctleaf.c: libFuzzer target for the RFC 6962 parsers
 * (monitor/identity/ctleaf.c).  The first byte picks the entry point:
 *   'S'  get-sth JSON: parse, verify (without a key: must not crash),
 *        write evidence, read it back: the fields must survive the round
 *        trip;
 *   'E'  evidence text: parse;
 *   'J'  get-entries JSON: parse;
 *   'L'  raw leaf: a 3-byte big-endian length N, N bytes of leaf_input,
 *        the rest extra_data: parse_raw, and the same in base64 through
 *        ctleaf_parse (both must agree), then precert consistency.
 * Other first bytes: everything above on the rest.
 *
 * Invariants beyond "no crash": a parsed leaf's hash is SHA-256(0x00 ||
 * leaf_input); its certificate lies inside leaf_input; claim strings are
 * NUL-terminated and free of raw control bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "merkle/merkle.h"
#include "monitor/identity/ctleaf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Compiled once; the harness, not the library, holds this state. */
static struct fulcio_needles *fuzz_needles;

static void
fuzz_check_string(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f) {
            abort();
        }
    }
}

static void
fuzz_check_leaf(const struct ctleaf *l)
{
    uint8_t want[CTLEAF_HASH_LEN];
    unsigned n;

    merkle_leaf_hash(l->leaf_input, l->leaf_input_len, want);
    if (memcmp(want, l->leaf_hash, sizeof(want)) != 0) {
        abort();
    }
    if (l->cert < l->leaf_input ||
        l->cert + l->cert_len > l->leaf_input + l->leaf_input_len) {
        abort();
    }
    if (l->claims != NULL) {
        fuzz_check_string(l->claims->san);
        fuzz_check_string(l->claims->repository);
        for (n = 0; n <= FULCIO_EXT_MAX; n++) {
            fuzz_check_string(l->claims->ext[n]);
        }
    }
    (void)ctleaf_precert_consistent(l);
}

static void
fuzz_sth(const uint8_t *d, size_t n)
{
    struct ctleaf_sth s, s2;
    uint8_t id[CTLEAF_HASH_LEN], id2[CTLEAF_HASH_LEN];
    char ev[CTLEAF_EVIDENCE_MAX], err[CTLEAF_ERR_LEN];
    long len;

    if (ctleaf_sth_parse((const char *)d, n, &s, err, sizeof(err)) != 0) {
        return;
    }
    (void)ctleaf_sth_verify(&s, NULL);
    memset(id, 0x11, sizeof(id));
    len = ctleaf_sth_evidence(&s, id, ev, sizeof(ev));
    if (len < 0) {
        abort(); /* CTLEAF_EVIDENCE_MAX is always enough */
    }
    if (ctleaf_sth_evidence_parse(ev, (size_t)len, &s2, id2, err,
                                  sizeof(err)) != 0 ||
        s2.tree_size != s.tree_size || s2.timestamp != s.timestamp ||
        memcmp(s2.root_hash, s.root_hash, sizeof(s.root_hash)) != 0 ||
        s2.sig_len != s.sig_len || memcmp(s2.sig, s.sig, s.sig_len) != 0 ||
        memcmp(id, id2, sizeof(id)) != 0) {
        abort();
    }
}

static void
fuzz_evidence(const uint8_t *d, size_t n)
{
    struct ctleaf_sth s;
    uint8_t id[CTLEAF_HASH_LEN];
    char err[CTLEAF_ERR_LEN];

    (void)ctleaf_sth_evidence_parse((const char *)d, n, &s, id, err,
                                    sizeof(err));
    if (ctleaf_sth_evidence_verify((const char *)d, n, NULL, &s, err,
                                   sizeof(err)) == 0) {
        abort(); /* no root, no key: never verified */
    }
}

static void
fuzz_entries(const uint8_t *d, size_t n)
{
    struct ctleaf **a;
    size_t cnt, i;
    char err[CTLEAF_ERR_LEN];

    if (ctleaf_entries_parse((const char *)d, n, 1000, &a, &cnt, err,
                             sizeof(err)) == 0) {
        for (i = 0; i < cnt; i++) {
            fuzz_check_leaf(a[i]);
        }
        ctleaf_array_free(a, cnt);
    }
    /* prefiltered: a skipped entry's claims load on demand */
    if (fuzz_needles == NULL) {
        fuzz_needles = fulcio_needles_new();
        if (fuzz_needles == NULL ||
            fulcio_needles_add(fuzz_needles,
                               "sigstore-conformance/"
                               "extremely-dangerous-public-oidc-beacon",
                               "632596580") != 0) {
            abort();
        }
    }
    if (ctleaf_entries_parse_needles((const char *)d, n, 1000, fuzz_needles, &a,
                                     &cnt, err, sizeof(err)) == 0) {
        for (i = 0; i < cnt; i++) {
            int skipped = a[i]->claims_skipped;

            if (skipped &&
                (a[i]->claims != NULL || a[i]->fulcio_error != FULCIO_OK)) {
                abort();
            }
            (void)ctleaf_load_claims(a[i]);
            if (a[i]->claims_skipped) {
                abort();
            }
            fuzz_check_leaf(a[i]);
        }
        ctleaf_array_free(a, cnt);
    }
}

static void
fuzz_leaf(const uint8_t *d, size_t n)
{
    size_t ln;
    struct ctleaf *l, *l2;
    char err[CTLEAF_ERR_LEN], *b1, *b2;
    size_t c1, c2;

    if (n < 3) {
        return;
    }
    ln = ((size_t)d[0] << 16) | ((size_t)d[1] << 8) | d[2];
    d += 3;
    n -= 3;
    if (ln > n) {
        ln = n;
    }
    l = ctleaf_parse_raw(d, ln, d + ln, n - ln, err, sizeof(err));
    if (l != NULL) {
        fuzz_check_leaf(l);
    }
    /* the base64 entry point must agree */
    c1 = (ln + 2) / 3 * 4 + 1;
    c2 = (n - ln + 2) / 3 * 4 + 1;
    b1 = malloc(c1);
    b2 = malloc(c2);
    if (b1 != NULL && b2 != NULL && merkle_b64_encode(d, ln, b1, c1) >= 0 &&
        merkle_b64_encode(d + ln, n - ln, b2, c2) >= 0) {
        l2 = ctleaf_parse(b1, strlen(b1), b2, strlen(b2), err, sizeof(err));
        if ((l == NULL) != (l2 == NULL) ||
            (l != NULL &&
             memcmp(l->leaf_hash, l2->leaf_hash, CTLEAF_HASH_LEN) != 0)) {
            abort();
        }
        ctleaf_free(l2);
    }
    free(b1);
    free(b2);
    ctleaf_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    switch (data[0]) {
    case 'S':
        fuzz_sth(data + 1, size - 1);
        break;
    case 'E':
        fuzz_evidence(data + 1, size - 1);
        break;
    case 'J':
        fuzz_entries(data + 1, size - 1);
        break;
    case 'L':
        fuzz_leaf(data + 1, size - 1);
        break;
    default:
        fuzz_sth(data + 1, size - 1);
        fuzz_evidence(data + 1, size - 1);
        fuzz_entries(data + 1, size - 1);
        fuzz_leaf(data + 1, size - 1);
        break;
    }
    return 0;
}
