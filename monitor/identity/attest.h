/*
 * attest.h: enclave PCRs from the in-toto attestation that Rekor stored
 * with an intoto or dsse entry (issue 7: "an intoto entry whose
 * attestation.data carries a statement with Measurements/PCRs in its
 * predicate").
 *
 * What is proven and what is not: the entry body is in the Merkle tree
 * (checked by the caller) and holds the SHA-256 of the DSSE payload
 * (intoto 0.0.1/0.0.2 spec.content.payloadHash, dsse 0.0.1
 * spec.payloadHash).  The attestation (Rekor's LogEntry.attestation.data,
 * entry->attestation_b64) is outside the tree: it is trusted only once its
 * decoded bytes hash to that payloadHash.  Then it is parsed as an in-toto
 * Statement (v0.1 or v1) and the PCRs are looked for, in this order, in
 *   1. predicate.Measurements.PCRn (describe-eif JSON as the predicate),
 *   2. predicate.PCRn,
 *   3. predicate.pcrs.PCRn, 4. predicate.PCRs.PCRn,
 *   5. predicate.Data, a string holding describe-eif JSON (cosign attest
 *      --type custom), its .Measurements.PCRn.
 * Only PCR0, PCR1, PCR2 and PCR8 are read (other keys are ignored, and so
 * is a place that is not an object or a Data that is not JSON).  A place
 * with any of them must hold PCR0, PCR1 and PCR2, each exactly
 * OCI_PCR_HEX_LEN hex digits; every place with PCRs must name the same
 * PCRs with the same values.
 *
 * Pure (no I/O, no logging), bounded by the limits below; nothing the
 * result holds points into the input.  Fuzzed by tests/fuzz/fuzz_attest.c.
 */
#ifndef TLOGWATCH_MONITOR_ATTEST_H
#define TLOGWATCH_MONITOR_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "monitor/registry/oci.h" /* struct oci_pcrs */

#define ATTEST_MAX_BYTES (384u * 1024) /* decoded attestation */
#define ATTEST_WHY_MAX 256
#define ATTEST_MAX_DEPTH 64 /* nesting of the statement and of Data */

enum attest_status {
    ATTEST_PCRS = 0,  /* verified and PCRs found: out->pcrs */
    ATTEST_NO_PCRS,   /* verified statement, no PCRs in its predicate;
                         out->pcrs.artifact_digest = the first subject's
                         sha256 digest ("sha256:<64 lowercase hex>") or "" */
    ATTEST_UNTRUSTED, /* the attestation does not hash to the body's
                         payloadHash, or PCRs malformed/contradictory */
    ATTEST_MALFORMED, /* not base64, too big, not a JSON in-toto statement,
                         body not an intoto/dsse entry with a sha256
                         payloadHash */
};

struct attest_result {
    enum attest_status status;
    struct oci_pcrs pcrs;     /* present/hex: ATTEST_PCRS only; artifact_digest:
                                 ATTEST_PCRS and ATTEST_NO_PCRS ("" when the
                                 first subject has no sha256 digest) */
    char why[ATTEST_WHY_MAX]; /* a sentence safe to log: fixed text, field
                                 names, lengths and checked hex only */
};

/*
 * body: the canonical entry body (untrusted, proven in the tree; at most
 * ENTRY_MAX_BODY bytes); att_b64: entry->attestation_b64 (standard base64
 * with padding, att_b64_len bytes, need not be NUL-terminated; NULL or
 * empty is ATTEST_MALFORMED).  Both borrowed for the call.  out is
 * overwritten whole.  Returns out->status.
 */
enum attest_status attest_check(const uint8_t *body, size_t body_len,
                                const char *att_b64, size_t att_b64_len,
                                struct attest_result *out);

/*
 * The statement part of attest_check alone: stmt (len bytes, borrowed for
 * the call) is the in-toto statement whose SHA-256 the caller has already
 * compared with the body's payloadHash (the DSSE payload that
 * oci_lookup_start's att_payload_hash mode found in the registry).  It is
 * parsed and its PCRs read exactly as attest_check does after that
 * comparison (_type, subject, the five places); NULL, empty or more than
 * ATTEST_MAX_BYTES is ATTEST_MALFORMED.  attest_check calls it, so both
 * give the same verdict, PCRs, subject digest and why on the same bytes.
 * out is overwritten whole.  Returns out->status.
 */
enum attest_status attest_statement(const uint8_t *stmt, size_t len,
                                    struct attest_result *out);

/*
 * The body's payloadHash (intoto 0.0.1/0.0.2 spec.content.payloadHash,
 * dsse 0.0.1 spec.payloadHash; sha256) as 64 lowercase hex digits into
 * hex: the key of a registry lookup of the statement (oci.h
 * att_payload_hash) when the log did not return it.  ATTEST_PCRS when
 * found (a placeholder for "ok"), else ATTEST_MALFORMED with out->why set.
 */
enum attest_status attest_payload_hash(const uint8_t *body, size_t body_len,
                                       char hex[65], struct attest_result *out);

/* "intoto"/"dsse": 1 when attest_check applies to this entry kind; else 0
 * (NULL too). */
int attest_kind_applies(const char *kind);

/* A static name of s ("pcrs", "no_pcrs", "untrusted", "malformed"). */
const char *attest_status_str(enum attest_status s);

#endif
