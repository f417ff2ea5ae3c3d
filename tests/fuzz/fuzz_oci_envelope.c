/*
 * fuzz_oci_envelope.c: libFuzzer target for the DSSE envelope parser of
 * cosign's attestation layers (monitor/registry/oci.h: oci_parse_envelope), and
 * for the statement step that reads what it decodes (monitor/identity/attest.h:
 * attest_statement), as a lookup by att_payload_hash hands it on.
 *
 * Invariants checked (abort on breach): on success the payload is not
 * empty, fits the output buffer and is at most 3/4 of the input; on
 * failure its length is 0; the parser never writes past cap (ASan: the
 * buffer is exactly cap bytes).  attest_statement on a decoded payload
 * gives a known verdict with a non-empty why, PCR0..2 present with
 * ATTEST_PCRS only, and never a statement pointer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/identity/attest.h"
#include "monitor/registry/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct attest_result r;
    uint8_t *out;
    size_t cap = size > 0 ? size : 1;
    size_t n = 1;
    size_t w;
    enum attest_status st;

    out = malloc(cap);
    if (out == NULL) {
        return 0;
    }
    if (oci_parse_envelope((const char *)data, size, out, cap, &n) != 0) {
        if (n != 0) {
            abort();
        }
        free(out);
        return 0;
    }
    if (n == 0 || n > cap || n > size / 4 * 3) {
        abort();
    }
    st = attest_statement(out, n, &r);
    w = strnlen(r.why, sizeof(r.why));
    if (st != r.status || st > ATTEST_MALFORMED || w == 0 ||
        w == sizeof(r.why) || r.pcrs.statement != NULL ||
        r.pcrs.statement_len != 0) {
        abort();
    }
    if ((st == ATTEST_PCRS) != ((r.pcrs.present & 7u) == 7u)) {
        abort();
    }
    free(out);
    return 0;
}
