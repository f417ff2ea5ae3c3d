/*
 * sign.c: fast ECDSA P-256 signing for tlogwatch-testlog's hot paths
 * (one signature per noise entry at startup, one signed entry timestamp
 * per entry served).
 *
 * An ECDSA signature costs a scalar multiplication k*G, a field inversion
 * to make it affine and an inversion of k modulo the group order; through
 * EVP each signature pays all of that plus provider dispatch (~31 us on
 * this machine).  Here nonces are prepared TL_NONCE_POOL at a time: k is
 * drawn with BN_priv_rand_range, r = x(k*G) mod n, and the k are inverted
 * together with Montgomery's trick (one BN_mod_inverse per pool).  A
 * signature then only computes s = k^-1 (e + r d) mod n and its DER.
 * Only public, non-deprecated OpenSSL 3 calls are used.
 *
 * Invariants: every nonce is used for at most one signature and is
 * discarded after; r and s are never 0 (a zero draws the next nonce);
 * a struct tl_signer belongs to one thread.  Signatures verify with any
 * ECDSA verifier (the tests check them with OpenSSL's EVP).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "testlog.h"

#define TL_NONCE_POOL 64

struct tl_signer {
    EC_GROUP *group;
    const BIGNUM *order; /* borrowed from group */
    BN_CTX *bn;
    EC_POINT *pt;
    BIGNUM *k[TL_NONCE_POOL];
    BIGNUM *prefix[TL_NONCE_POOL];
    BIGNUM *kinv[TL_NONCE_POOL];
    BIGNUM *r[TL_NONCE_POOL];
    BIGNUM *x, *inv, *e, *s;
    size_t avail; /* prepared nonces: indexes [0, avail) */
};

void
tl_signer_free(struct tl_signer *s)
{
    size_t i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < TL_NONCE_POOL; i++) {
        BN_clear_free(s->k[i]);
        BN_clear_free(s->prefix[i]);
        BN_clear_free(s->kinv[i]);
        BN_free(s->r[i]);
    }
    BN_free(s->x);
    BN_clear_free(s->inv);
    BN_free(s->e);
    BN_free(s->s);
    EC_POINT_free(s->pt);
    BN_CTX_free(s->bn);
    EC_GROUP_free(s->group);
    free(s);
}

struct tl_signer *
tl_signer_new(void)
{
    struct tl_signer *s = calloc(1, sizeof(*s));
    size_t i;

    if (s == NULL) {
        return NULL;
    }
    s->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    s->bn = BN_CTX_new();
    if (s->group == NULL || s->bn == NULL) {
        goto err;
    }
    s->order = EC_GROUP_get0_order(s->group);
    s->pt = EC_POINT_new(s->group);
    s->x = BN_new();
    s->inv = BN_secure_new();
    s->e = BN_new();
    s->s = BN_new();
    if (s->pt == NULL || s->x == NULL || s->inv == NULL || s->e == NULL ||
        s->s == NULL) {
        goto err;
    }
    for (i = 0; i < TL_NONCE_POOL; i++) {
        s->k[i] = BN_secure_new();
        s->prefix[i] = BN_secure_new();
        s->kinv[i] = BN_secure_new();
        s->r[i] = BN_new();
        if (s->k[i] == NULL || s->prefix[i] == NULL || s->kinv[i] == NULL ||
            s->r[i] == NULL) {
            goto err;
        }
    }
    return s;
err:
    tl_signer_free(s);
    return NULL;
}

/* Prepare TL_NONCE_POOL nonces (k^-1, r).  0 / -1. */
static int
refill(struct tl_signer *s)
{
    size_t j;

    j = 0;
    while (j < TL_NONCE_POOL) {
        do {
            if (BN_priv_rand_range(s->k[j], s->order) != 1) {
                return -1;
            }
        } while (BN_is_zero(s->k[j]));
        if (EC_POINT_mul(s->group, s->pt, s->k[j], NULL, NULL, s->bn) != 1 ||
            EC_POINT_get_affine_coordinates(s->group, s->pt, s->x, NULL,
                                            s->bn) != 1 ||
            BN_nnmod(s->r[j], s->x, s->order, s->bn) != 1) {
            return -1;
        }
        if (BN_is_zero(s->r[j])) {
            continue; /* astronomically unlikely; draw again */
        }
        if (j == 0 ? BN_copy(s->prefix[0], s->k[0]) == NULL
                   : BN_mod_mul(s->prefix[j], s->prefix[j - 1], s->k[j],
                                s->order, s->bn) != 1) {
            return -1;
        }
        j++;
    }
    /* inv = (k0 * ... * k63)^-1; walk back to each k_j^-1 */
    if (BN_mod_inverse(s->inv, s->prefix[TL_NONCE_POOL - 1], s->order, s->bn) ==
        NULL) {
        return -1;
    }
    for (j = TL_NONCE_POOL - 1; j > 0; j--) {
        if (BN_mod_mul(s->kinv[j], s->inv, s->prefix[j - 1], s->order, s->bn) !=
                1 ||
            BN_mod_mul(s->inv, s->inv, s->k[j], s->order, s->bn) != 1) {
            return -1;
        }
    }
    if (BN_copy(s->kinv[0], s->inv) == NULL) {
        return -1;
    }
    s->avail = TL_NONCE_POOL;
    return 0;
}

/* DER INTEGER of a positive v (< 2^256) at out; returns its length. */
static size_t
der_int(uint8_t *out, const BIGNUM *v)
{
    uint8_t buf[32];
    int n = BN_bn2bin(v, buf);
    size_t pad = (buf[0] & 0x80) ? 1 : 0;

    out[0] = 0x02;
    out[1] = (uint8_t)(n + (int)pad);
    out[2] = 0;
    memcpy(out + 2 + pad, buf, (size_t)n);
    return 2 + pad + (size_t)n;
}

int
tl_signer_sign(struct tl_signer *s, const BIGNUM *d,
               const uint8_t digest[TL_HASH_LEN], uint8_t *sig, size_t *siglen)
{
    uint8_t body[2 * 35];
    size_t j, n;

    if (BN_bin2bn(digest, TL_HASH_LEN, s->e) == NULL) {
        return -1;
    }
    for (;;) {
        if (s->avail == 0 && refill(s) != 0) {
            return -1;
        }
        j = --s->avail;
        /* s = k^-1 (e + r d) mod n */
        if (BN_mod_mul(s->s, s->r[j], d, s->order, s->bn) != 1 ||
            BN_mod_add(s->s, s->s, s->e, s->order, s->bn) != 1 ||
            BN_mod_mul(s->s, s->s, s->kinv[j], s->order, s->bn) != 1) {
            return -1;
        }
        if (!BN_is_zero(s->s)) {
            break;
        }
    }
    n = der_int(body, s->r[j]);
    n += der_int(body + n, s->s);
    if (n + 2 > TL_SIG_MAX) {
        return -1;
    }
    sig[0] = 0x30;
    sig[1] = (uint8_t)n;
    memcpy(sig + 2, body, n);
    *siglen = n + 2;
    BN_clear(s->kinv[j]);
    return 0;
}

BIGNUM *
tl_private_scalar(EVP_PKEY *pkey)
{
    BIGNUM *d = NULL;

    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
        return NULL;
    }
    return d;
}
