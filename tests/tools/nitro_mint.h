/*
 * nitro_mint.h: test-only minting of AWS Nitro attestation documents, so
 * that tests can choose the PCRs (issue 14).  A test CA shaped like AWS's
 * (tests/../shared/testdata/nitro: a self-signed P-384 root, three
 * intermediates, a short-lived leaf; ECDSA with SHA-384; CA certificates
 * with critical basicConstraints and keyUsage keyCertSign, cRLSign; the
 * leaf with digitalSignature) is made at run time, and documents are
 * encoded by hand (CBOR, RFC 8949) as the NSM writes them: an untagged
 * COSE_Sign1 [h'A1013822', {}, payload, r || s], payload fields in the
 * NSM's order, cabundle root first.  A fault can be asked for, to make
 * the malformed twins of the parser tests.
 *
 * Nothing here is used by tlogwatch itself.  Ownership: functions that
 * return pointers return new objects (free() or nitro_mint_ca_free).
 */
#ifndef TLOGWATCH_TESTS_NITRO_MINT_H
#define TLOGWATCH_TESTS_NITRO_MINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define NITRO_MINT_INTERMEDIATES 3

struct nitro_mint_ca {
    EVP_PKEY *key[NITRO_MINT_INTERMEDIATES + 2]; /* root, ints, leaf */
    X509 *cert[NITRO_MINT_INTERMEDIATES + 2];
};

/*
 * A new CA: root and intermediates valid [not_before, not_after], the
 * leaf valid [leaf_from, leaf_until] (unix seconds).  NULL on failure.
 */
struct nitro_mint_ca *nitro_mint_ca_new(int64_t not_before, int64_t not_after,
                                        int64_t leaf_from, int64_t leaf_until);
void nitro_mint_ca_free(struct nitro_mint_ca *ca);
/* Write DIR/cert<i>.pem and DIR/key<i>.pem, and DIR/root.pem (the root
 * certificate alone).  0 or -1. */
int nitro_mint_ca_save(const struct nitro_mint_ca *ca, const char *dir);
/* Read what nitro_mint_ca_save wrote.  NULL when absent or broken. */
struct nitro_mint_ca *nitro_mint_ca_load(const char *dir);
/* The root certificate as PEM text; new (free()). */
char *nitro_mint_root_pem(const struct nitro_mint_ca *ca);

enum nitro_mint_fault {
    MINT_OK = 0,
    MINT_TAG18,         /* tag 18 on the COSE_Sign1: still valid */
    MINT_NULL_OPTIONAL, /* public_key null: still valid (absent) */
    MINT_OTHER_TAG,     /* tag 98 instead */
    MINT_TAGGED_FIELD,  /* tag 24 on the timestamp */
    MINT_DUP_KEY,       /* module_id twice */
    MINT_EXTRA_KEY,     /* an unknown key "extra" */
    MINT_MISSING_DIGEST,
    MINT_DIGEST_SHA256,
    MINT_PCR_32_BYTES, /* PCR0 of 32 bytes */
    MINT_PCR_INDEX_32, /* PCR index 32 */
    MINT_PCR_DUP,      /* PCR1 twice */
    MINT_TIMESTAMP_TEXT,
    MINT_TIMESTAMP_ZERO,
    MINT_INDEFINITE_MAP,   /* the payload map of indefinite length */
    MINT_TRAILING,         /* a byte after the COSE_Sign1 */
    MINT_PAYLOAD_TRAILING, /* a byte after the payload's map */
    MINT_PROTECTED_EXTRA,  /* {1: -35, 4: h'00'} */
    MINT_ALG_ES256,        /* {1: -7} */
    MINT_UNPROTECTED_NONEMPTY,
    MINT_SIG_95,          /* a 95-byte signature */
    MINT_CERT_TOO_LARGE,  /* certificate of 1025 bytes */
    MINT_CABUNDLE_EMPTY,  /* cabundle [] */
    MINT_NONCE_TOO_LARGE, /* 513 bytes */
    MINT_MODULE_ID_EMPTY,
    MINT_MODULE_ID_BYTES, /* module_id as a byte string */
    MINT_ARRAY_5,         /* a fifth COSE_Sign1 item */
    MINT_BAD_SIGNATURE,   /* well-formed, signature of other bytes */
    MINT_FAULT_COUNT_,
};

/* What a document says; pointers borrowed for the call. */
struct nitro_mint_doc {
    const char *module_id; /* NULL: "i-0123456789abcdef0-enc0123456789abcd" */
    uint64_t timestamp_ms;
    uint32_t pcr_present; /* bit i: pcrs[i] is written */
    uint8_t pcrs[32][48];
    const uint8_t *nonce; /* NULL: no nonce field */
    size_t nonce_len;
    const uint8_t *user_data; /* NULL: no user_data field */
    size_t user_data_len;
    const uint8_t *public_key; /* NULL: no public_key field */
    size_t public_key_len;
    enum nitro_mint_fault fault;
};

/* The COSE_Sign1 bytes of doc signed by ca's leaf; new (free()), with its
 * length in *len.  NULL on failure. */
uint8_t *nitro_mint(const struct nitro_mint_ca *ca,
                    const struct nitro_mint_doc *doc, size_t *len);

#endif
