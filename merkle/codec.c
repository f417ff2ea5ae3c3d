/*
 * codec.c: base64 (RFC 4648 section 4, padded) and hex codecs for parsers
 * of untrusted log data.  Pure, bounded by the caller's buffer, no
 * allocation.  Decoders reject anything that is not canonical input:
 * whitespace, missing or misplaced padding, non-zero trailing bits.
 */
#include <string.h>

#include "merkle/merkle.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decoding table: 0..63 for the alphabet, 0xff for anything else. */
static const uint8_t b64_table[256] = {
#define X 0xff
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  62, X,  X,  X,  63, 52, 53, 54, 55, 56, 57, 58, 59, 60,
    61, X,  X,  X,  X,  X,  X,  X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,
    X,  X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,
#undef X
};

long
merkle_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t i, n = 0, pad = 0, need, full;
    uint32_t bad = 0, w;

    if (inlen % 4 != 0) {
        return -1;
    }
    if (inlen > 0 && in[inlen - 1] == '=') {
        pad++;
        if (in[inlen - 2] == '=') {
            pad++;
        }
    }
    need = inlen / 4 * 3 - pad;
    if (need > outcap) {
        return -1;
    }
    /* Every quad but a padded last one: no branch per character; an
     * invalid character sets a high bit in bad. */
    full = pad ? inlen - 4 : inlen;
    for (i = 0; i < full; i += 4) {
        uint32_t a = b64_table[u[i]], b = b64_table[u[i + 1]],
                 c = b64_table[u[i + 2]], d = b64_table[u[i + 3]];
        bad |= a | b | c | d;
        w = (a << 18) | (b << 12) | (c << 6) | d;
        out[n] = (uint8_t)(w >> 16);
        out[n + 1] = (uint8_t)(w >> 8);
        out[n + 2] = (uint8_t)w;
        n += 3;
    }
    if (bad & 0x80) {
        return -1;
    }
    if (pad) {
        uint32_t a = b64_table[u[i]], b = b64_table[u[i + 1]];
        uint32_t c = pad == 2 ? 0 : b64_table[u[i + 2]];
        if ((a | b | c) & 0x80) {
            return -1;
        }
        w = (a << 18) | (b << 12) | (c << 6);
        if (pad == 2) {
            if (w & 0xffff) {
                return -1; /* non-zero trailing bits */
            }
            out[n++] = (uint8_t)(w >> 16);
        } else {
            if (w & 0xff) {
                return -1;
            }
            out[n++] = (uint8_t)(w >> 16);
            out[n++] = (uint8_t)(w >> 8);
        }
    }
    return (long)n;
}

long
merkle_b64_encode(const uint8_t *in, size_t inlen, char *out, size_t outcap)
{
    size_t i, n = 0;

    if (inlen > (((size_t)-1) / 4 - 1) / 4 * 3 ||
        (inlen + 2) / 3 * 4 + 1 > outcap) {
        return -1;
    }
    for (i = 0; i + 2 < inlen; i += 3) {
        uint32_t w =
            ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[n++] = b64_alphabet[(w >> 18) & 63];
        out[n++] = b64_alphabet[(w >> 12) & 63];
        out[n++] = b64_alphabet[(w >> 6) & 63];
        out[n++] = b64_alphabet[w & 63];
    }
    if (i < inlen) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < inlen) {
            w |= (uint32_t)in[i + 1] << 8;
        }
        out[n++] = b64_alphabet[(w >> 18) & 63];
        out[n++] = b64_alphabet[(w >> 12) & 63];
        out[n++] = (i + 1 < inlen) ? b64_alphabet[(w >> 6) & 63] : '=';
        out[n++] = '=';
    }
    out[n] = '\0';
    return (long)n;
}

/* Value of each byte as a hex digit (either case), -1 when not one. */
static const signed char hex_digit[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,  7,  8,
    9,  -1, -1, -1, -1, -1, -1, -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int
hex_value(unsigned char c)
{
    return hex_digit[c];
}

long
merkle_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
    size_t i;

    if (inlen % 2 != 0 || inlen / 2 > outcap) {
        return -1;
    }
    for (i = 0; i < inlen; i += 2) {
        int hi = hex_value((unsigned char)in[i]);
        int lo = hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(inlen / 2);
}

long
merkle_hex_encode(const uint8_t *in, size_t inlen, char *out, size_t outcap)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (inlen > ((size_t)-1 - 1) / 2 || inlen * 2 + 1 > outcap) {
        return -1;
    }
    for (i = 0; i < inlen; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * inlen] = '\0';
    return (long)(inlen * 2);
}
