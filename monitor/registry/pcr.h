/*
 * pcr.h: the PCR policy of a watch rule (config `watch[].pcrs.allow`).
 * Given the PCR set found for a signed enclave image, decide whether it is
 * one of the sets a person approved and, when it is not, name the PCRs
 * that differ from the closest approved set and what each one measures
 * (PCR0 image, PCR1 kernel and bootstrap, PCR2 application, PCR8 signing
 * certificate), as the `reasons` of a signing.unknown_pcrs alert.
 *
 * Rules:
 *  - a PCR value is CONFIG_PCR_HEX_LEN (96) hex digits (SHA-384); values
 *    are compared ASCII case-insensitively;
 *  - PCR0, PCR1 and PCR2 are always compared: a found set must hold all
 *    three (pcr_set_from_hex refuses one that does not);
 *  - PCR8 is compared only when the allowed set or the found set has it;
 *    then it must be in both, with the same value;
 *  - the closest allowed set is the one with the fewest differing PCRs,
 *    the first one written on a tie.
 *
 * Invariants: pure functions (no I/O, no allocation, no logging, no global
 * state); every output string is built from hex digits checked here and
 * constant text, so it is safe to log and to put in an alert.
 */
#ifndef TLOGWATCH_MONITOR_PCR_H
#define TLOGWATCH_MONITOR_PCR_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* One reason: name, meaning and two 96-digit values fit with room. */
#define PCR_REASON_MAX 320

enum pcr_verdict {
    PCR_ALLOWED = 0, /* equal to one allowed set */
    PCR_UNKNOWN,     /* outside every allowed set: reasons say why */
};

struct pcr_result {
    enum pcr_verdict verdict;
    size_t closest;  /* index into pcrs->allow of the closest set */
    unsigned differ; /* bit (1u << enum config_pcr) per differing PCR */
    size_t nreasons; /* one per differing PCR, in PCR order */
    char reasons[CONFIG_PCR_COUNT][PCR_REASON_MAX];
};

/* "PCR0", "PCR1", "PCR2", "PCR8"; NULL for an out-of-range value. */
const char *pcr_name(enum config_pcr which);

/* "image", "kernel and bootstrap", "application", "signing certificate";
 * NULL for an out-of-range value. */
const char *pcr_meaning(enum config_pcr which);

/*
 * Fill *out (overwritten whole) from hex strings, stored lowercase.
 * pcr0, pcr1 and pcr2 are required; pcr8 may be NULL (unsigned EIF).
 * Each must be exactly CONFIG_PCR_HEX_LEN hex digits.  Strings are
 * borrowed.  Returns 0, or -1 (out zeroed) on a missing or malformed
 * value.
 */
int pcr_set_from_hex(struct config_pcr_set *out, const char *pcr0,
                     const char *pcr1, const char *pcr2, const char *pcr8);

/*
 * Compare the found set with every set of pcrs->allow (pcrs and found are
 * borrowed; *out is overwritten whole).  Returns 0 with out->verdict, or
 * -1 when pcrs is not enabled, has no allowed set, found lacks one of
 * PCR0..PCR2, or a value present in found is not 96 hex digits.
 */
int pcr_check(const struct config_pcrs *pcrs,
              const struct config_pcr_set *found, struct pcr_result *out);

/* A Rekor entry body this module reads at most (untrusted). */
#define PCR_MAX_BODY (1024 * 1024)
#define PCR_DATA_HASH_HEX 64 /* SHA-256 of cosign's payload, hex */

/*
 * The artifact digest a Rekor entry body signs: spec.data.hash of a
 * hashedrekord entry (algorithm "sha256", value 64 hex digits), written
 * lowercase into out.  For a `cosign sign` entry it is the SHA-256 of the
 * simple-signing payload, the key of the PCR lookup.  body (len bytes, at
 * most PCR_MAX_BODY) is untrusted and borrowed.  Returns 0, or -1 when the
 * body is not such an entry (another kind, another algorithm, malformed).
 * Pure; fuzz target tests/fuzz/fuzz_pcr.c.
 */
int pcr_entry_data_hash(const uint8_t *body, size_t len,
                        char out[PCR_DATA_HASH_HEX + 1]);

#endif /* TLOGWATCH_MONITOR_PCR_H */
