/*
 * test_codec.c: the base64 and hex codecs of merkle/codec.c.
 *
 * RFC 4648 section 10 test vectors, round trips of random data, an
 * exhaustive check of every final base64 quantum (a decode succeeds
 * exactly when re-encoding gives the input back: canonical input only),
 * and rejections: bad padding, non-zero trailing bits, whitespace,
 * characters from other alphabets, odd hex length, output too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "merkle/merkle.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 section 10 */
static const struct {
    const char *raw, *b64, *hex;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "66"},
    {"fo", "Zm8=", "666f"},
    {"foo", "Zm9v", "666f6f"},
    {"foob", "Zm9vYg==", "666f6f62"},
    {"fooba", "Zm9vYmE=", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "666f6f626172"},
};

static long
dec64(const char *s, uint8_t *out, size_t cap)
{
    return merkle_b64_decode(s, strlen(s), out, cap);
}

static void
test_rfc4648_vectors(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const char *raw = rfc4648[i].raw;
        size_t n = strlen(raw);
        char enc[32];
        uint8_t dec[32];

        assert_int_equal(
            merkle_b64_encode((const uint8_t *)raw, n, enc, sizeof(enc)),
            (long)strlen(rfc4648[i].b64));
        assert_string_equal(enc, rfc4648[i].b64);
        assert_int_equal(dec64(rfc4648[i].b64, dec, sizeof(dec)), (long)n);
        assert_memory_equal(dec, raw, n);

        assert_int_equal(
            merkle_hex_encode((const uint8_t *)raw, n, enc, sizeof(enc)),
            (long)(2 * n));
        assert_string_equal(enc, rfc4648[i].hex);
        assert_int_equal(
            merkle_hex_decode(rfc4648[i].hex, 2 * n, dec, sizeof(dec)),
            (long)n);
        assert_memory_equal(dec, raw, n);
    }
}

static void
test_round_trips(void **state)
{
    uint8_t in[300], out[300];
    char enc[2 * sizeof(in) + 1];
    uint64_t x = 0x243f6a8885a308d3ULL; /* fixed: a codec test need not vary */
    size_t n, i;

    (void)state;
    for (n = 0; n < sizeof(in); n++) {
        long e;
        for (i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (uint8_t)x;
        }
        e = merkle_b64_encode(in, n, enc, sizeof(enc));
        assert_int_equal(e, (long)((n + 2) / 3 * 4));
        assert_int_equal(enc[e], '\0');
        assert_int_equal(merkle_b64_decode(enc, (size_t)e, out, n), (long)n);
        assert_memory_equal(in, out, n);

        e = merkle_hex_encode(in, n, enc, sizeof(enc));
        assert_int_equal(e, (long)(2 * n));
        assert_int_equal(merkle_hex_decode(enc, (size_t)e, out, n), (long)n);
        assert_memory_equal(in, out, n);
        /* negative twin: one changed character changes the bytes */
        if (n > 0) {
            enc[0] = enc[0] == '0' ? '1' : '0';
            assert_int_equal(merkle_hex_decode(enc, (size_t)e, out, n),
                             (long)n);
            assert_memory_not_equal(in, out, n);
        }
    }
}

/* Every "XY==" and "XYZ=" quantum: accepted exactly when canonical. */
static void
test_final_quantum_exhaustive(void **state)
{
    size_t a, b, c, accepted2 = 0, accepted3 = 0;
    char q[5], back[8];
    uint8_t out[3];

    (void)state;
    q[4] = '\0';
    for (a = 0; a < 64; a++) {
        for (b = 0; b < 64; b++) {
            long n;
            q[0] = b64_alphabet[a];
            q[1] = b64_alphabet[b];
            q[2] = '=';
            q[3] = '=';
            n = merkle_b64_decode(q, 4, out, sizeof(out));
            if (n >= 0) {
                assert_int_equal(n, 1);
                merkle_b64_encode(out, 1, back, sizeof(back));
                assert_string_equal(back, q);
                accepted2++;
            } else {
                assert_true((b & 0x0f) != 0); /* trailing bits set */
            }
            for (c = 0; c < 64; c++) {
                q[2] = b64_alphabet[c];
                q[3] = '=';
                n = merkle_b64_decode(q, 4, out, sizeof(out));
                if (n >= 0) {
                    assert_int_equal(n, 2);
                    merkle_b64_encode(out, 2, back, sizeof(back));
                    assert_string_equal(back, q);
                    accepted3++;
                } else {
                    assert_true((c & 0x03) != 0);
                }
            }
        }
    }
    assert_int_equal(accepted2, 256);
    assert_int_equal(accepted3, 65536);
}

static void
test_b64_rejections(void **state)
{
    static const char *bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg",       /* unpadded */
        "Zg===",    /* too much padding */
        "Z===",     /* three pad characters */
        "====",     /* only padding */
        "=Zg=",     /* padding first */
        "Zm=v",     /* padding inside */
        "Zg==Zm9v", /* padding before the last quantum */
        "Zh==",     /* non-zero trailing bits */
        "Zm9=",     /* non-zero trailing bits */
        "Zm9v\n",   /* whitespace */
        " Zm9v",    /* */
        "Zm 9v",    /* */
        "Zm9v\r\n", /* */
        "Zm9-",     /* base64url alphabet */
        "Zm9_",     /* */
        "Zm9\x80",  /* high byte */
        "Zm9\x00",  /* NUL, with the length given */
    };
    uint8_t out[16];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = strlen(bad[i]);
        if (i == sizeof(bad) / sizeof(bad[0]) - 1) {
            n = 4;
        }
        if (merkle_b64_decode(bad[i], n, out, sizeof(out)) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
    /* twins: the canonical forms */
    assert_int_equal(dec64("Zg==", out, sizeof(out)), 1);
    assert_int_equal(dec64("Zm8=", out, sizeof(out)), 2);
    assert_int_equal(dec64("Zm9v", out, sizeof(out)), 3);
    assert_int_equal(dec64("", out, sizeof(out)), 0);
}

static void
test_output_too_small(void **state)
{
    uint8_t out[8];
    char enc[16];
    const uint8_t raw[6] = {'f', 'o', 'o', 'b', 'a', 'r'};

    (void)state;
    /* decode: exactly the decoded length fits, one less does not */
    assert_int_equal(merkle_b64_decode("Zm9vYmFy", 8, out, 6), 6);
    assert_int_equal(merkle_b64_decode("Zm9vYmFy", 8, out, 5), -1);
    assert_int_equal(merkle_b64_decode("Zm9vYg==", 8, out, 4), 4);
    assert_int_equal(merkle_b64_decode("Zm9vYg==", 8, out, 3), -1);
    assert_int_equal(merkle_hex_decode("666f6f", 6, out, 3), 3);
    assert_int_equal(merkle_hex_decode("666f6f", 6, out, 2), -1);
    /* encode: room for the NUL is needed */
    assert_int_equal(merkle_b64_encode(raw, 6, enc, 9), 8);
    assert_int_equal(merkle_b64_encode(raw, 6, enc, 8), -1);
    assert_int_equal(merkle_b64_encode(raw, 4, enc, 9), 8);
    assert_int_equal(merkle_b64_encode(raw, 4, enc, 8), -1);
    assert_int_equal(merkle_hex_encode(raw, 6, enc, 13), 12);
    assert_int_equal(merkle_hex_encode(raw, 6, enc, 12), -1);
    assert_int_equal(merkle_b64_encode(raw, 0, enc, 1), 0);
    assert_int_equal(merkle_b64_encode(raw, 0, enc, 0), -1);
    /* absurd lengths do not overflow the size arithmetic */
    assert_int_equal(merkle_b64_encode(raw, (size_t)-1, enc, sizeof(enc)), -1);
    assert_int_equal(merkle_hex_encode(raw, (size_t)-1, enc, sizeof(enc)), -1);
}

static void
test_hex_rejections(void **state)
{
    uint8_t out[8];

    (void)state;
    assert_int_equal(merkle_hex_decode("abc", 3, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode("a", 1, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode("0g", 2, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode("0 ", 2, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode(" 0", 2, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode("0x", 2, out, sizeof(out)), -1);
    assert_int_equal(merkle_hex_decode("+1", 2, out, sizeof(out)), -1);
    /* twins: both cases are accepted and mean the same */
    assert_int_equal(merkle_hex_decode("AbCd", 4, out, sizeof(out)), 2);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xcd);
    assert_int_equal(merkle_hex_decode("", 0, out, sizeof(out)), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_final_quantum_exhaustive),
        cmocka_unit_test(test_b64_rejections),
        cmocka_unit_test(test_output_too_small),
        cmocka_unit_test(test_hex_rejections),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
