/*
 * hash.c: RFC 6962 leaf and node hashing (domain-separated SHA-256).
 * OpenSSL's low-level SHA256_* interface is used on purpose: it allocates
 * nothing and costs less per call than EVP for these small inputs (it is
 * deprecated in OpenSSL 3 but kept; the warning is silenced here only).
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "merkle/merkle.h"

void
merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
    static const uint8_t prefix = 0x00;
    SHA256_CTX c;

    SHA256_Init(&c);
    SHA256_Update(&c, &prefix, 1);
    if (len > 0) {
        SHA256_Update(&c, data, len);
    }
    SHA256_Final(out, &c);
}

void
merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN],
                 const uint8_t right[MERKLE_HASH_LEN],
                 uint8_t out[MERKLE_HASH_LEN])
{
    uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

    /* Copy first: out may alias left or right. */
    buf[0] = 0x01;
    memcpy(buf + 1, left, MERKLE_HASH_LEN);
    memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    SHA256(buf, sizeof(buf), out);
}

void
merkle_empty_root(uint8_t out[MERKLE_HASH_LEN])
{
    SHA256((const unsigned char *)"", 0, out);
}

int
merkle_hash_equal(const uint8_t a[MERKLE_HASH_LEN],
                  const uint8_t b[MERKLE_HASH_LEN])
{
    return CRYPTO_memcmp(a, b, MERKLE_HASH_LEN) == 0;
}
