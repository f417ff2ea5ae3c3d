/*
 * fuzz_oci_payload.c: libFuzzer target for cosign's simple-signing payload
 * parser (monitor/registry/oci.h: oci_parse_simple_signing).
 *
 * Invariants checked (abort on breach): on success the digest is "sha256:"
 * + 64 lowercase hex and the reference a non-empty NUL-terminated string
 * shorter than OCI_MAX_REF; on failure both are empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/registry/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char d[OCI_DIGEST_LEN + 1];
    char ref[OCI_MAX_REF];
    size_t i;

    if (oci_parse_simple_signing((const char *)data, size, d, ref) == 0) {
        if (strlen(d) != OCI_DIGEST_LEN || strncmp(d, "sha256:", 7) != 0) {
            abort();
        }
        for (i = 7; i < OCI_DIGEST_LEN; i++) {
            if (!((d[i] >= '0' && d[i] <= '9') ||
                  (d[i] >= 'a' && d[i] <= 'f'))) {
                abort();
            }
        }
        if (ref[0] == '\0' || strlen(ref) >= OCI_MAX_REF) {
            abort();
        }
    } else if (d[0] != '\0' || ref[0] != '\0') {
        abort();
    }
    return 0;
}
