/*
 * attestation.h: the answer to "which reviewed build is this enclave
 * running?" (issue 14), for `tlogwatch attestation verify` (and the
 * status server's POST /api/v1/attestation to come).  An AWS Nitro
 * attestation document is parsed and checked (monitor/identity/nitro.h),
 * then its PCR0/1/2 (and PCR8) are looked up among the signings the
 * monitor recorded (store_signings_by_pcrs).
 *
 * The answer (schema "tlogwatch.attestation/v1"), one JSON object:
 *
 * {
 *   "schema": "tlogwatch.attestation/v1",
 *   "verdict": "known_build" | "unknown_build" | "debug_mode" | "invalid",
 *   "summary": one sentence,
 *   "reasons": [ "signature: ...", ... ]   the failed checks (invalid),
 *   "document": { "module_id", "timestamp" (ms), "time" (RFC 3339, ms),
 *     "digest", "pcrs": {"PCR0".."PCR4", "PCR8": hex, when present},
 *     "certificate": {"sha256", "subject", "not_before", "not_after"},
 *     "cabundle_length", "public_key_sha256", "user_data_sha256",
 *     "nonce" (hex; null when absent) },
 *   "checks": { each {"outcome": "pass" | "fail" | "skipped", "detail"}:
 *     "cose"       the COSE_Sign1 structure and the payload's fields,
 *     "signature"  ES384 over the Sig_structure with the leaf's key,
 *     "chain"      leaf -> cabundle -> the root, at the document's time,
 *     "nonce"      equal to --nonce (skipped without one),
 *     "max_age"    the document's age within --max-age (skipped without),
 *     "pcrs"       a recorded signing with the same PCR0/1/2 (and PCR8)
 *                  (skipped for invalid and debug_mode documents) },
 *   "root": {"sha256", "subject"}   the trust anchor used,
 *   "signings": [{ "repository", "rule", "commit", "workflow", "ref",
 *     "trigger", "runner", "run_url", "log": {"name", "origin"},
 *     "log_index", "uuid", "integrated_time", "pcrs_source",
 *     "policy_verdict", "verdict" (effective, as view_signing_verdict),
 *     "alerted": bool (an alert of severity warning or above about it),
 *     "alerts": [types] }]   the matching signings, oldest first, at most
 *                            ATTESTATION_MAX_SIGNINGS (known_build only)
 * }
 *
 * Verdicts, first that applies: "invalid" when the signature, the chain,
 * the nonce or the age check fails; "debug_mode" when PCR0, PCR1 and PCR2
 * are all zero (an enclave started in debug mode: its measurements prove
 * nothing); "known_build" when some recorded signing has the same PCR0,
 * PCR1, PCR2 (and PCR8, when the document's is not zero and the signing
 * recorded one); else "unknown_build".  `clean` is 1 only for a
 * known_build with at least one matching signing whose effective verdict
 * is "allowed" (no alert of warning or above, PCRs found, the policy
 * allowed it).
 */
#ifndef TLOGWATCH_MONITOR_VIEW_ATTESTATION_H
#define TLOGWATCH_MONITOR_VIEW_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "monitor/identity/nitro.h"
#include "monitor/store/store.h"

#define ATTESTATION_SCHEMA "tlogwatch.attestation/v1"
#define ATTESTATION_MAX_SIGNINGS 32
/* A document may be this far ahead of the clock (--max-age only). */
#define ATTESTATION_MAX_SKEW_S 300

enum attestation_verdict {
    ATTESTATION_KNOWN_BUILD = 0,
    ATTESTATION_UNKNOWN_BUILD,
    ATTESTATION_DEBUG_MODE,
    ATTESTATION_INVALID,
};

/* The verdict's name, as in the answer; never NULL. */
const char *attestation_verdict_str(enum attestation_verdict v);

struct attestation_opts {
    X509 *root;           /* the trust anchor, borrowed */
    const uint8_t *nonce; /* NULL: no nonce check; else nonce_len bytes */
    size_t nonce_len;
    int64_t max_age_s; /* 0: no age check */
    int64_t now;       /* unix seconds */
};

/* A checked document, before the lookup.  doc points into the caller's
 * buffer (nitro_parse). */
struct attestation {
    struct nitro_doc doc;
    json_t *answer; /* owned: the answer so far (no "signings" yet) */
    enum attestation_verdict verdict; /* INVALID, DEBUG_MODE, or
                                         UNKNOWN_BUILD pending the lookup */
    int needs_lookup;                 /* 1: valid and not debug mode */
};

/*
 * Parse buf (len bytes of CBOR, borrowed: a->doc points into it) and run
 * every check but the lookup.  Returns 0 with *a filled (release with
 * attestation_release), or -1 when the document does not parse (an input
 * error: why says what) or out of memory.
 */
int attestation_check(const uint8_t *buf, size_t len,
                      const struct attestation_opts *o, struct attestation *a,
                      char why[NITRO_WHY_MAX]);

/*
 * Look a->doc's PCRs up in s (when a->needs_lookup; s may be NULL
 * otherwise) and complete the answer: verdict, summary, checks.pcrs and
 * signings.  Returns the answer (new; a no longer owns it) with *verdict
 * and *clean, or NULL on a store error (err: store_errmsg) or when out of
 * memory.
 */
json_t *attestation_answer(struct attestation *a, struct store *s,
                           enum attestation_verdict *verdict, int *clean,
                           char *err, size_t errcap);

/* Free what a holds; the buffer it points into is the caller's. */
void attestation_release(struct attestation *a);

#endif
