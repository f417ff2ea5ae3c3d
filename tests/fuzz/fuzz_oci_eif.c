/*
 * fuzz_oci_eif.c: libFuzzer target for the `nitro-cli describe-eif` JSON
 * parser (monitor/registry/oci.h: oci_parse_describe_eif).
 *
 * Invariants checked (abort on breach): on success PCR0 is present and
 * every present PCR is 96 lowercase hex; on failure nothing is present.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/registry/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_pcrs p;
    size_t i, k;

    if (oci_parse_describe_eif((const char *)data, size, &p) == 0) {
        if ((p.present & 1u) == 0 || p.present > 0xfu) {
            abort();
        }
        for (i = 0; i < 4; i++) {
            if ((p.present & (1u << i)) == 0) {
                continue;
            }
            if (strlen(p.hex[i]) != OCI_PCR_HEX_LEN) {
                abort();
            }
            for (k = 0; k < OCI_PCR_HEX_LEN; k++) {
                char c = p.hex[i][k];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                    abort();
                }
            }
        }
    } else if (p.present != 0) {
        abort();
    }
    return 0;
}
