/*
 * fuzz_pcr.c: libFuzzer target for the untrusted inputs of
 * monitor/registry/pcr.h.
 *
 * The whole input goes to pcr_entry_data_hash (a Rekor entry body); when
 * it is accepted, the digest must be 64 lowercase hex digits.  The input
 * is also cut at NUL bytes into up to four strings given to
 * pcr_set_from_hex as PCR0, PCR1, PCR2 and PCR8; when accepted, the set
 * is checked against itself (allowed, no reason) and against a set with
 * PCR2 changed (unknown, PCR2 named).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "monitor/registry/pcr.h"

#define FUZZ_PCR_MAX 4096 /* longer inputs only go to the body parser */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char hash[PCR_DATA_HASH_HEX + 1];
    const char *v[4] = {NULL, NULL, NULL, NULL};
    struct config_pcr_set found, other;
    struct config_pcrs pcrs;
    struct pcr_result r;
    char *buf;
    size_t i, n = 0;

    if (pcr_entry_data_hash(data, size, hash) == 0) {
        if (strlen(hash) != PCR_DATA_HASH_HEX ||
            strspn(hash, "0123456789abcdef") != PCR_DATA_HASH_HEX) {
            abort();
        }
    }
    if (size > FUZZ_PCR_MAX) {
        return 0;
    }
    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    v[n++] = buf;
    for (i = 0; i < size && n < 4; i++) {
        if (buf[i] == '\0') {
            v[n++] = &buf[i + 1];
        }
    }
    if (pcr_set_from_hex(&found, v[0], v[1], v[2], v[3]) == 0) {
        memset(&pcrs, 0, sizeof(pcrs));
        pcrs.enabled = 1;
        pcrs.allow = &found;
        pcrs.n_allow = 1;
        if (pcr_check(&pcrs, &found, &r) != 0 || r.verdict != PCR_ALLOWED ||
            r.nreasons != 0) {
            abort();
        }
        other = found;
        other.hex[CONFIG_PCR2][0] =
            other.hex[CONFIG_PCR2][0] == '0' ? '1' : '0';
        if (pcr_check(&pcrs, &other, &r) != 0 || r.verdict != PCR_UNKNOWN ||
            r.differ != (1u << CONFIG_PCR2) || r.nreasons != 1 ||
            strstr(r.reasons[0], "PCR2 (application)") == NULL) {
            abort();
        }
    }
    free(buf);
    return 0;
}
