/*
 * fuzz_codec.c: libFuzzer target for the base64 and hex codecs.
 *
 * Input: byte 0 selects the operation, byte 1 the output capacity, the
 * rest is the payload.  Output buffers are allocated at exactly that
 * capacity so any write past it is caught by ASan.
 *   0  base64 decode; if accepted, encoding gives the payload back
 *   1  hex decode; if accepted, encoding gives the payload back (lower case)
 *   2  base64 encode; -1 exactly when the capacity is too small, and the
 *      result decodes back to the payload
 *   3  hex encode; the same
 * The payload is not NUL-terminated.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void
check_decode(int hex, const char *in, size_t inlen, size_t cap)
{
    uint8_t *out = xmalloc(cap);
    long n = hex ? merkle_hex_decode(in, inlen, out, cap)
                 : merkle_b64_decode(in, inlen, out, cap);

    if (n >= 0) {
        size_t ecap = hex ? 2 * (size_t)n + 1 : ((size_t)n + 2) / 3 * 4 + 1;
        char *back = xmalloc(ecap);
        size_t i;
        long e;
        if ((size_t)n > cap) {
            abort();
        }
        e = hex ? merkle_hex_encode(out, (size_t)n, back, ecap)
                : merkle_b64_encode(out, (size_t)n, back, ecap);
        if (e < 0 || (size_t)e != inlen) {
            abort();
        }
        for (i = 0; i < inlen; i++) {
            char c = hex ? (char)tolower((unsigned char)in[i]) : in[i];
            if (back[i] != c) {
                abort();
            }
        }
        free(back);
    }
    free(out);
}

static void
check_encode(int hex, const uint8_t *in, size_t inlen, size_t cap)
{
    size_t need = hex ? 2 * inlen + 1 : (inlen + 2) / 3 * 4 + 1;
    char *out = xmalloc(cap);
    long n = hex ? merkle_hex_encode(in, inlen, out, cap)
                 : merkle_b64_encode(in, inlen, out, cap);

    if (cap < need) {
        if (n != -1) {
            abort();
        }
    } else {
        uint8_t *back = xmalloc(inlen);
        long d;
        if (n < 0 || (size_t)n != need - 1 || out[n] != '\0') {
            abort();
        }
        d = hex ? merkle_hex_decode(out, (size_t)n, back, inlen)
                : merkle_b64_decode(out, (size_t)n, back, inlen);
        if (d < 0 || (size_t)d != inlen ||
            (inlen > 0 && memcmp(back, in, inlen) != 0)) {
            abort();
        }
        free(back);
    }
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap;
    const uint8_t *p;
    size_t n;

    if (size < 2) {
        return 0;
    }
    cap = data[1];
    p = data + 2;
    n = size - 2;
    switch (data[0] % 4) {
    case 0:
        check_decode(0, (const char *)p, n, cap);
        /* and with all the room it could need */
        check_decode(0, (const char *)p, n, n);
        break;
    case 1:
        check_decode(1, (const char *)p, n, cap);
        check_decode(1, (const char *)p, n, n);
        break;
    case 2:
        check_encode(0, p, n, cap);
        check_encode(0, p, n, (n + 2) / 3 * 4 + 1);
        break;
    default:
        check_encode(1, p, n, cap);
        check_encode(1, p, n, 2 * n + 1);
        break;
    }
    return 0;
}
