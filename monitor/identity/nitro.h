/*
 * nitro.h: AWS Nitro Enclaves attestation documents (issue 14): a strict
 * parser of the COSE_Sign1 structure (RFC 9052 4.2) and of the document
 * it signs, and the checks a relying party makes on it.  Not to be
 * confused with attest.h (in-toto attestations stored in Rekor).
 *
 * The format (aws-nitro-enclaves-nsm-api docs/attestation_process.md,
 * "Attestation Document Specification" and "Syntactical validation"):
 *
 *   COSE_Sign1 = [ protected: bstr .cbor {1: -35},   ; alg ES384, alone
 *                  unprotected: {},                  ; empty
 *                  payload: bstr .size (1..16384),   ; the document
 *                  signature: bstr .size 96 ]        ; ES384 r || s
 *   (untagged, or with its tag 18 and no other tag)
 *
 *   document = { module_id: tstr (1..NITRO_MODULE_ID_MAX, printable ASCII),
 *                digest: "SHA384",
 *                timestamp: uint (ms since the epoch, > 0,
 *                           <= NITRO_MAX_TIMESTAMP_MS),
 *                pcrs: { 1*32 (uint 0..31 => bstr .size 48) },
 *                certificate: bstr .size (1..1024),      ; DER
 *                cabundle: [ 1*NITRO_MAX_CABUNDLE bstr .size (1..1024) ],
 *                ? public_key: bstr .size (1..1024) / null,
 *                ? user_data: bstr .size (0..512) / null,
 *                ? nonce: bstr .size (0..512) / null }
 *
 * Anything else is refused with a sentence naming the field: another
 * type, a tag anywhere but tag 18 on the outer array, an indefinite
 * length, a size out of range, a duplicate or unknown key, a missing
 * field, bytes after the COSE_Sign1 or after the protected header's map.
 * A PCR is 48 bytes because the digest is SHA384 (the NSM spec's 32 and 64
 * go with other digests, which are refused).  Null for an optional field
 * reads as absent (the NSM writes null for a field it was not given).
 *
 * Limits: the document at most NITRO_MAX_BYTES bytes, base64 text at most
 * NITRO_MAX_TEXT; nesting is fixed by the format (at most three levels:
 * array, payload map, pcrs map or cabundle array), so the parser never
 * recurses on input.  CBOR items are read one header at a time with
 * libcbor's streaming decoder (cbor_stream_decode); no tree is built.
 *
 * Pure: no I/O, no logging, no global state.  Verification uses OpenSSL
 * (libcrypto).  Every `why` is fixed text, field names, numbers and
 * OpenSSL's verify error strings: safe to print and log.  Fuzzed by
 * tests/fuzz/fuzz_nitro.c.
 */
#ifndef TLOGWATCH_MONITOR_NITRO_H
#define TLOGWATCH_MONITOR_NITRO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#define NITRO_MAX_PAYLOAD 16384 /* the spec's payload bound */
#define NITRO_MAX_BYTES (NITRO_MAX_PAYLOAD + 1024) /* the whole COSE_Sign1 */
#define NITRO_MAX_TEXT (32 * 1024) /* base64 text, whitespace included */
#define NITRO_MAX_PROTECTED 64     /* the protected header's bytes */
#define NITRO_SIG_LEN 96           /* ES384: r || s, 48 bytes each */
#define NITRO_MODULE_ID_MAX 256
#define NITRO_PCR_COUNT 32
#define NITRO_PCR_LEN 48 /* SHA-384 */
#define NITRO_PCR_HEX (2 * NITRO_PCR_LEN)
#define NITRO_CERT_MAX 1024
#define NITRO_MAX_CABUNDLE 16
#define NITRO_PUBLIC_KEY_MAX 1024
#define NITRO_USER_DATA_MAX 512
#define NITRO_NONCE_MAX 512
/* 9999-12-31T23:59:59.999Z: a time that formats as RFC 3339. */
#define NITRO_MAX_TIMESTAMP_MS 253402300799999ULL
#define NITRO_WHY_MAX 256
#define NITRO_COSE_TAG 18   /* COSE_Sign1 */
#define NITRO_ALG_ES384 -35 /* COSE algorithm identifier */

/* A byte string of the document; p borrowed (points into the input). */
struct nitro_bytes {
    const uint8_t *p;
    size_t len;
};

/*
 * A parsed document.  Every pointer is borrowed: it points into the
 * buffer given to nitro_parse and is valid while that buffer lives.
 */
struct nitro_doc {
    struct nitro_bytes protected_hdr; /* the bstr's contents, as signed */
    struct nitro_bytes payload;       /* the bstr's contents, as signed */
    struct nitro_bytes signature;     /* NITRO_SIG_LEN bytes */
    char module_id[NITRO_MODULE_ID_MAX + 1];
    uint64_t timestamp_ms;
    uint32_t pcr_present; /* bit i: PCR i is in the document */
    uint8_t pcrs[NITRO_PCR_COUNT][NITRO_PCR_LEN];
    struct nitro_bytes certificate;                  /* DER, the signing leaf */
    struct nitro_bytes cabundle[NITRO_MAX_CABUNDLE]; /* DER, root first */
    size_t ncabundle;
    int has_public_key, has_user_data, has_nonce;
    struct nitro_bytes public_key, user_data, nonce;
};

/*
 * Decode what a user hands over into the document's bytes: raw CBOR (its
 * first byte opens an array of 4 or tag 18) is copied as is; anything else
 * must be standard base64 with padding, ASCII whitespace ignored.  in is
 * borrowed (len bytes, at most NITRO_MAX_TEXT); out receives at most
 * NITRO_MAX_BYTES bytes (outcap at least that).  Returns the number of
 * bytes written, or -1 with a sentence in why.
 */
long nitro_decode_input(const uint8_t *in, size_t len, uint8_t *out,
                        size_t outcap, char why[NITRO_WHY_MAX]);

/*
 * Parse buf (len bytes, borrowed; the result points into it) into *doc,
 * overwritten whole.  Returns 0, or -1 with a sentence in why (doc is then
 * zeroed).
 */
int nitro_parse(const uint8_t *buf, size_t len, struct nitro_doc *doc,
                char why[NITRO_WHY_MAX]);

/*
 * The COSE Sig_structure ["Signature1", protected, h'', payload] of doc,
 * CBOR-encoded: the bytes the ES384 signature covers.  Returns new
 * (free()) with its length in *len, or NULL (allocation failure).
 */
uint8_t *nitro_sig_structure(const struct nitro_doc *doc, size_t *len);

/*
 * Verify the ES384 signature (SHA-384, P-384, r || s) of doc over its
 * Sig_structure with the public key of doc->certificate.  Returns 0, or
 * -1 with why ("the certificate does not parse", "the certificate's key
 * is not P-384", "the signature does not verify ...").
 */
int nitro_verify_signature(const struct nitro_doc *doc,
                           char why[NITRO_WHY_MAX]);

/*
 * Verify the chain doc->certificate -> doc->cabundle -> root (the only
 * trust anchor; root is borrowed) at the document's timestamp (seconds,
 * rounded down): every signature, validity period and CA constraint, as
 * OpenSSL's X509_verify_cert checks them, with no partial chain.  The
 * cabundle certificates are untrusted intermediates (its first, the
 * root's copy, is used only if it is the root itself).  Returns 0, or -1
 * with why (OpenSSL's reason and the depth).
 */
int nitro_verify_chain(const struct nitro_doc *doc, X509 *root,
                       char why[NITRO_WHY_MAX]);

/*
 * The AWS Nitro Enclaves Root G1 shipped with tlogwatch (the PEM in
 * deploy/aws-nitro-enclaves-root-G1.pem, compiled in; its SHA-256
 * fingerprint is checked by tests/test_nitro.c against the value AWS
 * publishes).  Returns new (X509_free), or NULL (allocation failure).
 */
X509 *nitro_root_default(void);
/* The PEM text of that root, borrowed (static). */
const char *nitro_root_default_pem(void);

/*
 * A root certificate from PEM text (the first CERTIFICATE block; pem
 * borrowed, len bytes).  Returns new (X509_free), or NULL with why.
 */
X509 *nitro_root_from_pem(const char *pem, size_t len, char why[NITRO_WHY_MAX]);

/* 1 when PCR0, PCR1 and PCR2 are present and all zero: an enclave started
 * in debug mode, whose measurements prove nothing. */
int nitro_debug_mode(const struct nitro_doc *doc);

#endif /* TLOGWATCH_MONITOR_NITRO_H */
