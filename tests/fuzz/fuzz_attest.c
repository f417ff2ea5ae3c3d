/*
 * fuzz_attest.c: libFuzzer target for monitor/identity/attest.h.
 *
 * Two modes, by the first byte of the input:
 *  - '!': the rest is a statement (the decoded attestation); the target
 *    builds a dsse 0.0.1 body whose payloadHash is its SHA-256 and its
 *    base64, so the fuzzer reaches the statement and PCR parsers past the
 *    hash check (which must then never be the reason of the verdict);
 *  - otherwise the input is cut at its first newline into the entry body
 *    and the attestation text (a trailing newline is dropped), as a seed
 *    made from a real bundle is laid out.
 * Every verdict must be coherent: a known status, a non-empty printable
 * why, PCRs (PCR0..2 at least, 96 lowercase hex) only with ATTEST_PCRS,
 * an artifact digest ("" or "sha256:" + 64 lowercase hex) only with
 * ATTEST_PCRS or ATTEST_NO_PCRS.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "monitor/identity/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEXL "0123456789abcdef"

static void
coherent(const struct attest_result *r, enum attest_status st)
{
    const char *d = r->pcrs.artifact_digest;
    size_t i, n;

    if (st != r->status || st > ATTEST_MALFORMED) {
        abort();
    }
    n = strnlen(r->why, sizeof(r->why));
    if (n == 0 || n == sizeof(r->why)) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)r->why[i] < 0x20 ||
            (unsigned char)r->why[i] > 0x7e) {
            abort();
        }
    }
    if (st == ATTEST_PCRS) {
        if ((r->pcrs.present & 7u) != 7u || (r->pcrs.present & ~15u) != 0) {
            abort();
        }
        for (i = 0; i < 4; i++) {
            size_t want = (r->pcrs.present & (1u << i)) ? 96 : 0;
            if (strnlen(r->pcrs.hex[i], 97) != want ||
                strspn(r->pcrs.hex[i], HEXL) != want) {
                abort();
            }
        }
    } else if (r->pcrs.present != 0) {
        abort();
    }
    if (d[0] != '\0') {
        if ((st != ATTEST_PCRS && st != ATTEST_NO_PCRS) ||
            strnlen(d, sizeof(r->pcrs.artifact_digest)) != 71 ||
            memcmp(d, "sha256:", 7) != 0 || strspn(d + 7, HEXL) != 64) {
            abort();
        }
    }
}

static void
statement_mode(const uint8_t *stmt, size_t n)
{
    static const char fmt[] =
        "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{\"payloadHash\":"
        "{\"algorithm\":\"sha256\",\"value\":\"%s\"}}}";
    uint8_t d[32];
    char hex[65], body[sizeof(fmt) + 64];
    struct attest_result r;
    enum attest_status st;
    char *b64;
    size_t i;

    if (n > ATTEST_MAX_BYTES) {
        return;
    }
    SHA256(stmt, n, d);
    for (i = 0; i < 32; i++) {
        hex[2 * i] = HEXL[d[i] >> 4];
        hex[2 * i + 1] = HEXL[d[i] & 0xf];
    }
    hex[64] = '\0';
    snprintf(body, sizeof(body), fmt, hex);
    b64 = malloc((n + 2) / 3 * 4 + 1);
    if (b64 == NULL) {
        abort();
    }
    EVP_EncodeBlock((unsigned char *)b64, stmt, (int)n);
    st =
        attest_check((const uint8_t *)body, strlen(body), b64, strlen(b64), &r);
    coherent(&r, st);
    /* The hash matches by construction: never the reason. */
    if (strstr(r.why, "payloadHash") != NULL ||
        strstr(r.why, "entry body") != NULL) {
        abort();
    }
    free(b64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    struct attest_result r;
    enum attest_status st;
    size_t blen, alen;

    if (size > 0 && data[0] == '!') {
        statement_mode(data + 1, size - 1);
        return 0;
    }
    nl = memchr(data, '\n', size);
    blen = nl ? (size_t)(nl - data) : size;
    alen = nl ? size - blen - 1 : 0;
    if (alen > 0 && data[size - 1] == '\n') {
        alen--;
    }
    st = attest_check(data, blen, nl ? (const char *)nl + 1 : NULL, alen, &r);
    coherent(&r, st);
    return 0;
}
