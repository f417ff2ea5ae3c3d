/*
 * fulcio.h: Fulcio leaf certificates: claims, chain verification and a
 * cheap prefilter for the follower's hot path.
 *
 * A Fulcio certificate carries the signer's identity in its SAN and in the
 * Sigstore extensions 1.3.6.1.4.1.57264.1.N (sigstore/fulcio
 * docs/oid-info.md): N = 1..6 are deprecated "raw" extensions whose
 * extension value bytes are the string itself; N >= 8 are DER UTF8String.
 * The SAN is a URI (GitHub Actions: the Build Signer URI), an rfc822Name
 * (email), or an otherName of type 1.3.6.1.4.1.57264.1.7 holding a
 * UTF8String (username).
 *
 * Invariants kept by this module:
 *  - parsing is pure and bounded: input at most FULCIO_MAX_INPUT bytes, DER
 *    at most FULCIO_MAX_DER bytes, every value at most FULCIO_MAX_VALUE
 *    bytes (longer: the certificate is rejected, FULCIO_ERR_VALUE_TOO_LONG);
 *    every DER length is checked, long-form lengths included; trailing
 *    bytes after a UTF8String or after the certificate are rejected;
 *  - every string in fulcio_claims is NUL-terminated and ESCAPED, never
 *    rejected for its bytes: a backslash becomes "\\", a control byte
 *    (< 0x20 or 0x7f) or a byte that is not part of valid UTF-8 becomes
 *    "\xNN" (lower-case hex).  Valid UTF-8 is kept as is.  The mapping is
 *    injective, so an attacker cannot make two different values look
 *    equal, and no certificate escapes policy because of its bytes.
 *    Values with an embedded NUL are escaped the same way ("\x00");
 *  - claims count only after fulcio_verify_chain() returned FULCIO_CHAIN_OK
 *    (DESIGN.md point 6).  A certificate that does not chain is a verdict,
 *    not a parse error;
 *  - no logging, no global state; OpenSSL objects are freed with their
 *    owner.  fulcio_cert_parse, fulcio_cert_decode and fulcio_prefilter
 *    decode into stack buffers (up to FULCIO_MAX_DER + FULCIO_MAX_INPUT
 *    * 3/4, about 64 KiB of stack) and do not allocate for that.
 *
 * Input forms accepted by fulcio_cert_parse and fulcio_cert_decode, as they
 * arrive in Rekor entries and bundles: DER; PEM text ("-----BEGIN
 * CERTIFICATE-----", first block used); base64 of PEM text (Rekor v1
 * hashedrekord publicKey.content, once the JSON string is taken as is).
 */
#ifndef TLOGWATCH_MONITOR_FULCIO_H
#define TLOGWATCH_MONITOR_FULCIO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "config/trusted_root.h"

#define FULCIO_MAX_DER (16 * 1024)   /* one DER certificate */
#define FULCIO_MAX_INPUT (64 * 1024) /* PEM / base64-of-PEM input */
#define FULCIO_MAX_VALUE 4096        /* raw bytes of one SAN / ext value */
#define FULCIO_EXT_MAX 24            /* highest .N decoded */
#define FULCIO_SHA256_LEN 32

/* The Sigstore OID arc; extension N is FULCIO_OID_ARC ".N". */
#define FULCIO_OID_ARC "1.3.6.1.4.1.57264.1"

enum fulcio_error {
    FULCIO_OK = 0,
    FULCIO_ERR_ARG,            /* NULL or empty input */
    FULCIO_ERR_TOO_LARGE,      /* input or DER over its limit */
    FULCIO_ERR_ENCODING,       /* not DER, PEM or base64 of PEM */
    FULCIO_ERR_DER,            /* X.509 structure does not parse */
    FULCIO_ERR_EXTENSION,      /* a Sigstore extension is malformed
                                  (bad tag, length, trailing bytes) or
                                  appears twice */
    FULCIO_ERR_SAN,            /* SAN missing, malformed, or not exactly
                                  one supported name */
    FULCIO_ERR_VALUE_TOO_LONG, /* a value over FULCIO_MAX_VALUE */
    FULCIO_ERR_INTERNAL,       /* allocation or crypto library failure */
};

/* Static English text for e; never NULL. */
const char *fulcio_strerror(enum fulcio_error e);

enum fulcio_san_type {
    FULCIO_SAN_URI = 1,   /* uniformResourceIdentifier */
    FULCIO_SAN_EMAIL,     /* rfc822Name */
    FULCIO_SAN_OTHERNAME, /* otherName 1.3.6.1.4.1.57264.1.7 UTF8String */
};

/*
 * Claims of one certificate.  All strings are owned by the fulcio_cert and
 * escaped as described above; NULL means absent.
 */
struct fulcio_claims {
    enum fulcio_san_type san_type;
    const char *san;
    const char *issuer;    /* ext .8 (Issuer V2), else .1 (legacy) */
    const char *issuer_cn; /* CN of the certificate's issuer, or NULL */
    int64_t not_before;    /* unix seconds */
    int64_t not_after;
    uint8_t sha256[FULCIO_SHA256_LEN]; /* SHA-256 of the DER */
    /* ext[N]: value of extension FULCIO_OID_ARC.N, 1 <= N <= 24; ext[0]
     * and ext[7] are always NULL (.7 is a SAN otherName, not an
     * extension).  Sigstore extensions above .24 are ignored. */
    const char *ext[FULCIO_EXT_MAX + 1];

    /*
     * Derived, for the policy engine (NULL when not derivable):
     *
     * repository: "owner/repo", case as in the certificate, from .12
     *   Source Repository URI "https://github.com/owner/repo"; without .12,
     *   from legacy .5; without both, from a URI SAN
     *   "https://github.com/owner/repo/...".  .5 comes before the SAN
     *   because a legacy SAN names the reusable workflow's repository and
     *   .5 the calling one.  A present .12 that is not a GitHub repository
     *   URL gives NULL (no fall-through).
     * workflow_path, workflow_ref: PATH and REF of .18 Build Config URI
     *   "https://github.com/owner/repo/PATH@REF" (split at the first '@'
     *   after the repository), e.g. ".github/workflows/x.yml" and
     *   "refs/heads/main"; legacy certificates without .18: the same
     *   split of a GitHub URI SAN.
     * workflow_sha: .13 Source Repository Digest, else .19 Build Config
     *   Digest, else legacy .3.
     * trigger: .20, else legacy .2.
     */
    const char *repository;
    const char *repository_id; /* .15 (the same pointer as ext[15]) */
    const char *workflow_path;
    const char *workflow_ref;
    const char *build_signer_uri; /* .9 */
    const char *workflow_sha;
    const char *runner_environment; /* .11 */
    const char *trigger;
    const char *run_invocation_uri; /* .21 */
};

struct fulcio_cert;

/*
 * Parse a certificate from DER, PEM or base64-of-PEM (see top).  Returns
 * new (caller frees with fulcio_cert_free), or NULL with *err set (err may
 * be NULL).
 */
struct fulcio_cert *fulcio_cert_parse(const uint8_t *in, size_t len,
                                      enum fulcio_error *err);
/* The same, for input known to be DER. */
struct fulcio_cert *fulcio_cert_parse_der(const uint8_t *der, size_t len,
                                          enum fulcio_error *err);
/* NULL is a no-op. */
void fulcio_cert_free(struct fulcio_cert *c);
/* Borrowed, valid while c lives. */
const struct fulcio_claims *fulcio_cert_claims(const struct fulcio_cert *c);
X509 *fulcio_cert_x509(const struct fulcio_cert *c);
const uint8_t *fulcio_cert_der(const struct fulcio_cert *c, size_t *len);

/*
 * Decode DER / PEM / base64-of-PEM input to the DER of its first
 * certificate, without parsing X.509.  out must hold FULCIO_MAX_DER bytes.
 * Returns 0 and sets *outlen, or -1 (input not in one of the three forms,
 * or too large).  No allocation.
 */
int fulcio_cert_decode(const uint8_t *in, size_t len, uint8_t *out,
                       size_t outcap, size_t *outlen);

/* Name of extension .N from docs/oid-info.md ("Build Config URI"), or NULL
 * for an N this module does not know.  Static. */
const char *fulcio_ext_name(unsigned n);

/* Chain verification verdicts. */
enum fulcio_chain_result {
    FULCIO_CHAIN_OK = 0,
    FULCIO_CHAIN_NO_CA,         /* no CA in the root is valid at NotBefore */
    FULCIO_CHAIN_UNTRUSTED,     /* no valid path to a CA valid then */
    FULCIO_CHAIN_BAD_SIGNATURE, /* a path exists by name, signature bad */
    FULCIO_CHAIN_EXPIRED,       /* leaf or CA not valid at NotBefore */
    FULCIO_CHAIN_EKU,           /* leaf lacks the code-signing EKU */
    FULCIO_CHAIN_INTERNAL,      /* allocation or library failure */
};
const char *fulcio_chain_strerror(enum fulcio_chain_result r);

/*
 * Verify c to the Fulcio CAs (certificateAuthorities) of root, at c's
 * NotBefore, using only the CAs whose validFor covers NotBefore; each CA's
 * last certificate is the trust anchor, the others are untrusted
 * intermediates.  The leaf must carry extKeyUsage codeSigning.  When
 * x509_err is not NULL it receives OpenSSL's X509_V_ERR_* code of the last
 * CA tried (0 on success).
 */
enum fulcio_chain_result
fulcio_verify_chain(const struct fulcio_cert *c,
                    const struct config_trusted_root *root, int *x509_err);

/*
 * Prefilter.  A needle set is compiled once from the watch rules and then
 * asked, for every entry of the log, whether a certificate blob could
 * mention one of the rules, without an X.509 parse.
 *
 * Guarantee (no false negatives): if fulcio_cert_parse(blob) succeeds and
 * its claims' repository, ext[12]-derived, SAN-derived or ext[5]
 * repository equals a needle's repository (ASCII case-insensitive) or
 * ext[15] equals a needle's repository id, fulcio_prefilter returns 1.
 * It may return 1 for blobs that do not match (false positives: the
 * repository text anywhere in the certificate, or the id digits anywhere).
 *
 * Cost: DER is searched in place; PEM and base64-of-PEM are base64-decoded
 * into stack buffers first (four table loads per 3 output bytes; the two
 * decodes of base64-of-PEM dominate).  The repository search visits each
 * '/' of the DER once (memchr), rejects it with one bitmap load unless the
 * bytes on either side end/start some needle, and only then compares the
 * needles (case-folded).  Id needles are found in one memchr pass over
 * 0x0C bytes (the UTF8String tag .15 uses), filtered by the length byte.
 * O(len + candidates * needles).  Measured (bench_fulcio under callgrind,
 * 10 needles, the real leaves): ~4k instructions per DER certificate,
 * about 1.6x one EVP_DecodeBlock of the same blob for base64-of-PEM; a
 * full fulcio_cert_parse costs ~1.4M instructions (mostly OpenSSL 3.0
 * d2i_X509), which is what the prefilter saves on unwatched entries.  No
 * allocation.  All PEM blocks of a blob are searched (chains).
 */
#define FULCIO_NEEDLES_MAX 256
#define FULCIO_NEEDLE_MAX_LEN 256 /* "owner/repo" or the id digits */

struct fulcio_needles;

/* Returns new (free with fulcio_needles_free), or NULL. */
struct fulcio_needles *fulcio_needles_new(void);
/* NULL is a no-op. */
void fulcio_needles_free(struct fulcio_needles *n);
/*
 * Add one rule's needles: repository "owner/repo" (GitHub name rules:
 * [A-Za-z0-9._-]+ on each side of exactly one '/') and, optionally (NULL),
 * a decimal repository id.  Strings are copied.  Returns 0, or -1 for a
 * malformed value or when FULCIO_NEEDLES_MAX is reached.
 */
int fulcio_needles_add(struct fulcio_needles *n, const char *repository,
                       const char *repository_id);
/* 1 if blob (DER, PEM or base64 of PEM) could match a needle, else 0. */
int fulcio_prefilter(const struct fulcio_needles *n, const uint8_t *blob,
                     size_t len);

/*
 * The exact test the prefilter approximates: 1 when the claims' repository
 * sources (.12, SAN, .5) or .15 match one needle as described above.
 * Useful to the policy engine and as the prefilter's reference.
 */
int fulcio_needles_match_claims(const struct fulcio_needles *n,
                                const struct fulcio_claims *cl);

#endif
