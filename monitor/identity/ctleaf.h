/*
 * ctleaf.h: pure parsers for an RFC 6962 Certificate Transparency log
 * (Fulcio's CT log, ctfe.sigstore.dev/2022): signed tree heads (get-sth)
 * and entries (get-entries), with the Fulcio claims of each logged
 * (pre)certificate.
 *
 * Signed tree head.  The get-sth answer is the JSON object
 *   {"tree_size":N,"timestamp":MS,"sha256_root_hash":"b64",
 *    "tree_head_signature":"b64"}
 * tree_head_signature is a TLS DigitallySigned struct: hash (1 byte, 4 =
 * sha256), signature algorithm (1 byte, 1 = rsa, 3 = ecdsa), opaque
 * signature<0..2^16-1> (ECDSA: a DER Ecdsa-Sig-Value).  It signs the
 * TreeHeadSignature (RFC 6962 3.5), 50 bytes:
 *   version (0 = v1) || signature_type (1 = tree_hash) || timestamp (uint64)
 *   || tree_size (uint64) || sha256_root_hash[32]
 * with SHA-256, under the key of the log (trusted_root.json ctlogs[],
 * config/trusted_root.h).  The signature algorithm byte must match the
 * key's type (ECDSA key: 3, RSA key: 1) and the hash byte must be 4.
 *
 * STH evidence text (ctleaf_sth_evidence), for alerts and for an offline
 * `tlogwatch verify`: one line of JSON, no spaces, keys in this order:
 *   {"ct_sth":1,"log_id":"<64 lower-case hex: SHA-256 of the log's DER
 *    SubjectPublicKeyInfo, RFC 6962 LogID>","tree_size":N,"timestamp":MS,
 *    "sha256_root_hash":"<b64>","tree_head_signature":"<b64>"}
 * The last four members are the get-sth answer unchanged, so
 * ctleaf_sth_evidence_parse reads it with the get-sth parser plus "ct_sth"
 * (must be 1) and "log_id"; a verifier finds the key by log_id in its
 * trusted root and calls ctleaf_sth_verify.  Nothing else is needed.
 *
 * Entry.  A get-entries item is {"leaf_input":"b64","extra_data":"b64"}.
 * leaf_input is a MerkleTreeLeaf:
 *   version (0 = v1) || leaf_type (0 = timestamped_entry) ||
 *   timestamp (uint64, ms) || entry_type (uint16: 0 x509_entry,
 *   1 precert_entry) || signed_entry || extensions opaque<0..2^16-1>
 * where signed_entry is ASN.1Cert opaque<1..2^24-1> (x509_entry) or
 * issuer_key_hash[32] || TBSCertificate opaque<1..2^24-1> (precert_entry;
 * RFC 6962 3.2: the precertificate's TBSCertificate without the poison
 * extension).  No trailing bytes are accepted.  extra_data is, for an
 * x509_entry, certificate_chain ASN.1Cert<0..2^24-1>; for a precert_entry,
 * pre_certificate ASN.1Cert || precertificate_chain ASN.1Cert<0..2^24-1>.
 * The leaf hash is SHA-256(0x00 || leaf_input) (RFC 6962 2.1).
 *
 * TRUST: only leaf_input is covered by the leaf hash and so by the STH.
 * extra_data is NOT committed to by the log: a hostile log may serve any
 * extra_data.  The claims below therefore come from leaf_input only (the
 * certificate, or the TBSCertificate); extra_data's certificates are
 * handed out as served, and ctleaf_precert_consistent tells whether the
 * served precertificate is the one whose TBSCertificate was logged.
 * Chains: an x509_entry's certificate can be checked with
 * fulcio_verify_chain (l->fulcio).  A precertificate cannot: OpenSSL
 * rejects its critical poison extension (X509_V_ERR_UNHANDLED_CRITICAL_
 * EXTENSION; test_ctleaf shows it on the real precertificate in
 * tests/data/ct), and the logged TBSCertificate has no signature.  Trust
 * in a precert entry rests on the verified STH (the log checked the chain
 * when it accepted the entry) and on ctleaf_issuer_in_root (its
 * issuer_key_hash is a Fulcio CA key of the trusted root).
 *
 * Cost: a full claims parse (OpenSSL d2i_X509) dominates an entry;
 * ctleaf_entries_parse_needles skips it for entries the watch rules'
 * prefilter rules out (bench_ctleaf).
 *
 * Claims.  x509_entry: fulcio_cert_parse_der on the certificate.
 * precert_entry: the TBSCertificate is wrapped into a minimal Certificate
 * SEQUENCE { tbs, the tbs's own signature AlgorithmIdentifier, BIT STRING
 * of zero bytes } and parsed by fulcio_cert_parse_der, so the claims
 * (SAN, every 1.3.6.1.4.1.57264.1.N extension, repository, workflow,
 * runner, trigger, NotBefore/NotAfter) come out exactly as for the same
 * certificate in a Rekor entry.  The claims' own sha256 member is the
 * hash of what fulcio parsed (for precerts: of the wrapper: meaningless);
 * use ctleaf's cert_sha256 and link_id instead.
 *
 * Hashes of an entry (struct ctleaf):
 *  - cert_sha256: x509_entry: SHA-256 of the certificate DER (equals
 *    fulcio_claims.sha256 of the same certificate from Rekor);
 *    precert_entry: SHA-256 of the logged TBSCertificate DER (the final
 *    certificate's hash cannot be known from the CT log: the final
 *    certificate adds the SCT list extension and a signature).
 *  - link_id: SHA-256(DER issuer Name || DER serialNumber INTEGER), both
 *    as encoded in the (TBS)certificate.  RFC 6962 3.1 requires a
 *    precertificate and its final certificate to share issuer and serial,
 *    and X.509 makes (issuer, serial) unique per CA, so link_id is the
 *    same for a precert entry, its x509 entry, and the final certificate
 *    found later in a Rekor entry (ctleaf_link_id_der / _x509 compute it
 *    from a certificate).  Derive alert ids from link_id so that the
 *    later Rekor entry with the final certificate is recognised.
 *
 * Invariants: pure (no I/O, no logging, no globals); every length is
 * checked against the limits below before it is used; errors are -1 (or
 * NULL) with a NUL-terminated English message in err when err is not NULL
 * ("entries[3]: leaf_input: 5 trailing bytes"); never a crash on hostile
 * bytes (fuzz target tests/fuzz/fuzz_ctleaf.c).
 */
#ifndef TLOGWATCH_MONITOR_CTLEAF_H
#define TLOGWATCH_MONITOR_CTLEAF_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "config/trusted_root.h"
#include "monitor/identity/fulcio.h"

#define CTLEAF_HASH_LEN 32
#define CTLEAF_MAX_STH_JSON (16 * 1024) /* bytes of a get-sth answer */
#define CTLEAF_MAX_SIG 1024             /* bytes of tree_head_signature */
#define CTLEAF_MAX_LEAF (FULCIO_MAX_DER + 1024) /* decoded leaf_input */
#define CTLEAF_MAX_EXTENSIONS 1024    /* bytes of the leaf's extensions */
#define CTLEAF_MAX_EXTRA (128 * 1024) /* decoded extra_data */
#define CTLEAF_MAX_CHAIN 8            /* certificates in extra_data */
#define CTLEAF_MAX_ENTRIES_JSON (64 * 1024 * 1024) /* a get-entries body */
#define CTLEAF_MAX_ENTRIES 10000 /* items accepted from one get-entries */
#define CTLEAF_EVIDENCE_MAX 2048 /* ctleaf_sth_evidence output with NUL */
#define CTLEAF_ERR_LEN 256       /* a good size for err buffers */

/* A parsed (not yet verified) get-sth answer. */
struct ctleaf_sth {
    uint64_t tree_size;
    uint64_t timestamp; /* ms since the epoch */
    uint8_t root_hash[CTLEAF_HASH_LEN];
    uint8_t hash_alg; /* DigitallySigned.algorithm.hash (4 = sha256) */
    uint8_t sig_alg;  /* .signature (1 = rsa, 3 = ecdsa) */
    uint8_t sig[CTLEAF_MAX_SIG]; /* the signature bytes (DER for ECDSA) */
    size_t sig_len;
    /* tree_head_signature as received (the whole DigitallySigned) */
    uint8_t tls_sig[CTLEAF_MAX_SIG + 4];
    size_t tls_sig_len;
};

/*
 * Parse a get-sth JSON answer (json[0 .. len), need not be NUL-terminated;
 * at most CTLEAF_MAX_STH_JSON bytes; duplicate keys rejected; unknown keys
 * ignored).  tree_size and timestamp are non-negative JSON integers up
 * to 2^64 - 1 (uint64 in the signed struct: a literal beyond int64, which
 * jansson alone refuses, is read exactly, so that such a head's signature
 * can be verified and the head judged);
 * sha256_root_hash decodes to exactly 32 bytes; tree_head_signature is a
 * well-formed DigitallySigned with nothing after it.  Returns 0, or -1
 * with err set.
 */
int ctleaf_sth_parse(const char *json, size_t len, struct ctleaf_sth *out,
                     char *err, size_t errlen);

enum ctleaf_sth_result {
    CTLEAF_STH_OK = 0,
    CTLEAF_STH_BAD_SIGNATURE, /* the signature does not verify */
    CTLEAF_STH_WRONG_ALG,     /* hash not sha256, or signature algorithm
                                 not the key's type */
    CTLEAF_STH_NO_KEY,        /* key NULL or without an EVP_PKEY
                                 (unsupported algorithm) */
    CTLEAF_STH_INTERNAL,      /* allocation or crypto library failure */
};
/* Static English text; never NULL. */
const char *ctleaf_sth_strerror(enum ctleaf_sth_result r);

/* The 50 signed bytes of sth's TreeHeadSignature (RFC 6962 3.5). */
#define CTLEAF_STH_TBS_LEN 50
void ctleaf_sth_signed_data(const struct ctleaf_sth *sth,
                            uint8_t out[CTLEAF_STH_TBS_LEN]);

/* Verify sth's signature with key (a ctlogs[] entry). */
enum ctleaf_sth_result ctleaf_sth_verify(const struct ctleaf_sth *sth,
                                         const struct config_log_key *key);

/*
 * Write sth as evidence text (format at the top) for the log whose LogID
 * is log_id, NUL-terminated, into out (outcap >= CTLEAF_EVIDENCE_MAX is
 * always enough).  Returns the length, or -1 when it does not fit.
 */
long ctleaf_sth_evidence(const struct ctleaf_sth *sth,
                         const uint8_t log_id[CTLEAF_HASH_LEN], char *out,
                         size_t outcap);
/*
 * Parse evidence text back (the get-sth parser plus "ct_sth" == 1 and a
 * 64-hex "log_id").  Returns 0 with *out and log_id set, or -1 with err.
 * The result still has to be verified (ctleaf_sth_verify).
 */
int ctleaf_sth_evidence_parse(const char *text, size_t len,
                              struct ctleaf_sth *out,
                              uint8_t log_id[CTLEAF_HASH_LEN], char *err,
                              size_t errlen);

/*
 * Offline check of evidence text: parse it, find the ctlogs[] key of root
 * whose log id is the evidence's log_id, verify the signature.  The key's
 * validFor window is not applied (a retired log's heads stay checkable).
 * Returns 0 (out, when not NULL, holds the STH), or -1 with err saying
 * why: malformed, "no CT log with log_id ... in the trusted root", or the
 * ctleaf_sth_strerror text.
 */
int ctleaf_sth_evidence_verify(const char *text, size_t len,
                               const struct config_trusted_root *root,
                               struct ctleaf_sth *out, char *err,
                               size_t errlen);

enum ctleaf_entry_type {
    CTLEAF_X509 = 0,    /* x509_entry */
    CTLEAF_PRECERT = 1, /* precert_entry */
};

/* One parsed get-entries item.  Every pointer is owned by the ctleaf. */
struct ctleaf {
    enum ctleaf_entry_type type;
    uint64_t timestamp;                   /* TimestampedEntry.timestamp, ms */
    uint8_t leaf_hash[CTLEAF_HASH_LEN];   /* SHA-256(0x00 || leaf_input) */
    uint8_t cert_sha256[CTLEAF_HASH_LEN]; /* see top */
    uint8_t link_id[CTLEAF_HASH_LEN];     /* see top */
    uint8_t issuer_key_hash[CTLEAF_HASH_LEN]; /* precert only, else 0 */

    const uint8_t *leaf_input; /* decoded MerkleTreeLeaf */
    size_t leaf_input_len;
    /* x509: the certificate DER; precert: the TBSCertificate DER.  Both
     * point into leaf_input. */
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *extensions; /* CtExtensions, into leaf_input */
    size_t extensions_len;

    /* Serial number as lower-case hex of its DER INTEGER content bytes
     * (e.g. "3c8a..."), NUL-terminated. */
    char serial_hex[2 * 64 + 1];

    /* Claims of the (TBS)certificate; borrowed from fulcio, valid while
     * the ctleaf lives.  NULL when the certificate does not parse as a
     * Fulcio certificate (e.g. no SAN): fulcio_error says why; the entry
     * itself is still valid (its leaf hash counts for the tree). */
    const struct fulcio_claims *claims;
    enum fulcio_error fulcio_error;
    const struct fulcio_cert *fulcio; /* the parsed certificate or NULL */
    /* 1 when parsed with needles (ctleaf_entries_parse_needles) and the
     * prefilter ruled out every watched repository: claims were not read
     * (claims NULL, fulcio_error FULCIO_OK); ctleaf_load_claims reads
     * them on demand. */
    int claims_skipped;

    /* extra_data, decoded (NOT covered by the leaf hash: see top).
     * precert_entry: precert is the pre_certificate (or NULL for an
     * x509_entry); chain[] the certificate chain, leafward first. */
    const uint8_t *precert;
    size_t precert_len;
    size_t nchain;
    const uint8_t *chain[CTLEAF_MAX_CHAIN];
    size_t chain_len[CTLEAF_MAX_CHAIN];
};

/*
 * Parse one item from its two base64 strings (standard base64 with
 * padding, no whitespace).  extra_b64 may be NULL/0 (not parsed then).
 * The MerkleTreeLeaf structure must be exact (else -1); a certificate
 * that fulcio cannot read is NOT an error (claims NULL, see above).
 * Returns new (caller frees with ctleaf_free), or NULL with err set.
 */
struct ctleaf *ctleaf_parse(const char *leaf_b64, size_t leaf_len,
                            const char *extra_b64, size_t extra_len, char *err,
                            size_t errlen);
/* The same from the decoded leaf_input / extra_data bytes. */
struct ctleaf *ctleaf_parse_raw(const uint8_t *leaf_input, size_t leaf_len,
                                const uint8_t *extra, size_t extra_len,
                                char *err, size_t errlen);
/* NULL is a no-op. */
void ctleaf_free(struct ctleaf *l);

/*
 * Parse a whole get-entries answer {"entries":[{...},...]} (at most
 * CTLEAF_MAX_ENTRIES_JSON bytes, at most max_entries items, max_entries
 * <= CTLEAF_MAX_ENTRIES).  An empty array is valid (n = 0).  On success
 * *out is a new array of *n new ctleaf (caller frees with
 * ctleaf_array_free(*out, *n)) and 0 is returned; any malformed item
 * fails the whole answer: -1 with err naming the item ("entries[3]:
 * leaf_input: bad base64").
 */
int ctleaf_entries_parse(const char *json, size_t len, size_t max_entries,
                         struct ctleaf ***out, size_t *n, char *err,
                         size_t errlen);
void ctleaf_array_free(struct ctleaf **a, size_t n);

/*
 * The same with the watch rules' prefilter (monitor/identity/fulcio.h):
 * an entry's Fulcio claims are read only when fulcio_prefilter(needles,
 * cert) says its (TBS)certificate could name a watched repository or
 * repository id; the others get claims_skipped = 1.  Everything else
 * (structure checks, leaf hash, cert_sha256, link_id, serial, extra_data)
 * is done for every entry.  The prefilter has no false negatives for the
 * TBSCertificate either: the claims are read from the same bytes.  A full
 * claims parse (OpenSSL d2i_X509 of the wrapped TBS) is most of the cost
 * of an entry, so catch-up over a log of unwatched certificates saves
 * that.  needles NULL: as ctleaf_entries_parse.
 */
int ctleaf_entries_parse_needles(const char *json, size_t len,
                                 size_t max_entries,
                                 const struct fulcio_needles *needles,
                                 struct ctleaf ***out, size_t *n, char *err,
                                 size_t errlen);
/*
 * Read the claims of an entry parsed with needles that skipped them (no-op
 * otherwise).  Returns 0 when l->claims is now set, -1 when the
 * certificate does not parse as a Fulcio certificate (l->fulcio_error).
 */
int ctleaf_load_claims(struct ctleaf *l);

/*
 * link_id (see top) of a certificate: from DER (any certificate d2i_X509
 * reads, at most FULCIO_MAX_DER bytes) or from an X509 (e.g.
 * fulcio_cert_x509 of a Rekor entry's certificate).  Returns 0, or -1.
 */
int ctleaf_link_id_der(const uint8_t *der, size_t len,
                       uint8_t out[CTLEAF_HASH_LEN]);
int ctleaf_link_id_x509(X509 *x, uint8_t out[CTLEAF_HASH_LEN]);

/*
 * 1 when l is a precert_entry with a pre_certificate in extra_data whose
 * TBSCertificate, with the CT poison extension (1.3.6.1.4.1.11129.2.4.3)
 * removed, is byte for byte the logged TBSCertificate; else 0.  Only then
 * does a chain check of l->precert (fulcio_verify_chain) speak for the
 * logged entry.  (A precertificate issued by a Precertificate Signing
 * Certificate, RFC 6962 3.1, has another issuer than the logged TBS and
 * gives 0; Fulcio signs precertificates with its CA key directly.)
 */
int ctleaf_precert_consistent(const struct ctleaf *l);

/*
 * 1 when l is a precert_entry whose issuer_key_hash is the SHA-256 of the
 * SubjectPublicKeyInfo of a certificate in one of root's Fulcio
 * certificate authority chains (certificateAuthorities) whose validFor
 * covers at (unix seconds; e.g. the claims' NotBefore), else 0.  The
 * logged TBSCertificate carries no signature: this ties it to a Fulcio CA
 * key the log committed to.  For an x509_entry use fulcio_verify_chain
 * on l->fulcio instead.
 */
int ctleaf_issuer_in_root(const struct ctleaf *l,
                          const struct config_trusted_root *root, int64_t at);

#endif
