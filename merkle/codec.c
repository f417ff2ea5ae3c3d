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

/* Value of each byte as a base64 digit, -1 when it is not one. */
static const signed char b64_digit[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, 62, -1, -1, -1, 63, 52, 53, 54, 55, 56, 57, 58, 59, 60,
    61, -1, -1, -1, -1, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1,
    -1, -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42,
    43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int
b64_value(unsigned char c)
{
    return b64_digit[c];
}

long
merkle_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
    size_t i, n = 0, pad = 0, need;

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
    /* Fast path: every quad but the last has no padding. */
    for (i = 0; i + 4 < inlen; i += 4) {
        int a = b64_digit[(unsigned char)in[i]];
        int b = b64_digit[(unsigned char)in[i + 1]];
        int c = b64_digit[(unsigned char)in[i + 2]];
        int d = b64_digit[(unsigned char)in[i + 3]];
        uint32_t w;

        if ((a | b | c | d) < 0) {
            return -1;
        }
        w = ((uint32_t)a << 18) | ((uint32_t)b << 12) | ((uint32_t)c << 6) |
            (uint32_t)d;
        out[n++] = (uint8_t)(w >> 16);
        out[n++] = (uint8_t)(w >> 8);
        out[n++] = (uint8_t)w;
    }
    for (; i < inlen; i += 4) {
        int v[4], k;
        int last = (i + 4 == inlen);
        for (k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && last && k >= 4 - (int)pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0) {
                return -1;
            }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
                     ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        if (last && pad == 2) {
            if (w & 0xffff) {
                return -1; /* non-zero trailing bits */
            }
            out[n++] = (uint8_t)(w >> 16);
        } else if (last && pad == 1) {
            if (w & 0xff) {
                return -1;
            }
            out[n++] = (uint8_t)(w >> 16);
            out[n++] = (uint8_t)(w >> 8);
        } else {
            out[n++] = (uint8_t)(w >> 16);
            out[n++] = (uint8_t)(w >> 8);
            out[n++] = (uint8_t)w;
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
