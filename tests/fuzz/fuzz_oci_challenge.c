/*
 * fuzz_oci_challenge.c: libFuzzer target for the WWW-Authenticate Bearer
 * challenge parser and the token response parser (monitor/registry/oci.h).
 *
 * Invariants checked (abort on breach): a parsed challenge has a non-empty
 * realm and NUL-terminated fields without control bytes; a parsed token is
 * non-empty printable ASCII without blanks (it goes into a header); a
 * failed token parse leaves an empty string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/registry/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_clean(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_challenge ch;
    char tok[256];
    size_t i, n;

    if (oci_parse_challenge((const char *)data, size, &ch) == 0) {
        if (ch.realm[0] == '\0') {
            abort();
        }
        check_clean(ch.realm);
        check_clean(ch.service);
        check_clean(ch.scope);
    }
    if (oci_parse_token((const char *)data, size, tok, sizeof(tok)) == 0) {
        n = strlen(tok);
        if (n == 0 || n >= sizeof(tok)) {
            abort();
        }
        for (i = 0; i < n; i++) {
            if ((unsigned char)tok[i] <= 0x20 ||
                (unsigned char)tok[i] >= 0x7f) {
                abort();
            }
        }
    } else if (tok[0] != '\0') {
        abort();
    }
    return 0;
}
