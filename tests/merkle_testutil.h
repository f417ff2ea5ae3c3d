/*
 * merkle_testutil.h: small helpers shared by the merkle/ test binaries
 * (test_merkle, test_note, test_range_property, bench_merkle): reading
 * test data under $TLOGWATCH_TESTDATA, walking directories, base64/hex
 * decoding of JSON fields into fresh buffers.
 *
 * Test code only: helpers abort the test (via cmocka's fail_msg where it
 * is available, else abort()) rather than return errors, and every buffer
 * they return is new (caller frees with free()).
 */
#ifndef TLOGWATCH_TESTS_MERKLE_TESTUTIL_H
#define TLOGWATCH_TESTS_MERKLE_TESTUTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "merkle/merkle.h"

#define MTU_PATH_MAX 4096

/* The test data root; NULL when the variable is unset. Borrowed. */
static inline const char *
mtu_testdata(void)
{
    const char *d = getenv("TLOGWATCH_TESTDATA");
    return (d != NULL && d[0] != '\0') ? d : NULL;
}

/* Join root and rel into out; returns 0 or -1 when it does not fit. */
static inline int
mtu_join(char *out, size_t cap, const char *root, const char *rel)
{
    int n = snprintf(out, cap, "%s/%s", root, rel);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* Read a whole file; returns new NUL-terminated bytes, length in *len. */
static inline char *
mtu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long sz;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)sz + 1);
    if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[sz] = '\0';
    if (len != NULL) {
        *len = (size_t)sz;
    }
    return buf;
}

/* Read testdata-relative rel; NULL when missing. New. */
static inline char *
mtu_read_testdata(const char *rel, size_t *len)
{
    char path[MTU_PATH_MAX];
    const char *root = mtu_testdata();

    if (root == NULL || mtu_join(path, sizeof(path), root, rel) != 0) {
        return NULL;
    }
    return mtu_read_file(path, len);
}

/* Calls fn(path, arg) for every regular file under dir whose name ends in
 * suffix (NULL: all), recursively, skipping dot files. Returns the number
 * of files visited. */
static inline size_t
mtu_walk(const char *dir, const char *suffix,
         void (*fn)(const char *path, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (d == NULL) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[MTU_PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.') {
            continue;
        }
        if (mtu_join(sub, sizeof(sub), dir, de->d_name) != 0 ||
            stat(sub, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            n += mtu_walk(sub, suffix, fn, arg);
        } else if (S_ISREG(st.st_mode)) {
            size_t l = strlen(sub), sl = suffix ? strlen(suffix) : 0;
            if (suffix != NULL && (l < sl || strcmp(sub + l - sl, suffix))) {
                continue;
            }
            fn(sub, arg);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Decode base64 into a new buffer (len in *out_len); NULL on bad input. */
static inline uint8_t *
mtu_b64(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    long got;

    if (buf == NULL) {
        return NULL;
    }
    got = merkle_b64_decode(s, n, buf, n / 4 * 3 + 1);
    if (got < 0) {
        free(buf);
        return NULL;
    }
    *out_len = (size_t)got;
    return buf;
}

/* Decode hex into a new buffer; NULL on bad input. */
static inline uint8_t *
mtu_hex(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    uint8_t *buf = malloc(n / 2 + 1);
    long got;

    if (buf == NULL) {
        return NULL;
    }
    got = merkle_hex_decode(s, n, buf, n / 2 + 1);
    if (got < 0) {
        free(buf);
        return NULL;
    }
    *out_len = (size_t)got;
    return buf;
}

/* Decode exactly one 32-byte hash from hex; 0 or -1. */
static inline int
mtu_hex32(const char *s, uint8_t out[MERKLE_HASH_LEN])
{
    size_t n = strlen(s);
    return (n == 2 * MERKLE_HASH_LEN &&
            merkle_hex_decode(s, n, out, MERKLE_HASH_LEN) == MERKLE_HASH_LEN)
               ? 0
               : -1;
}

/*
 * Decode a PEM "PUBLIC KEY" block to DER without OpenSSL's PEM reader (the
 * body is base64 in lines). Returns new DER bytes or NULL.
 */
static inline uint8_t *
mtu_pem_spki(const char *pem, size_t *der_len)
{
    const char *begin = strstr(pem, "-----BEGIN PUBLIC KEY-----");
    const char *end = strstr(pem, "-----END PUBLIC KEY-----");
    char *b64;
    size_t n = 0;
    const char *p;
    uint8_t *der;

    if (begin == NULL || end == NULL || end < begin) {
        return NULL;
    }
    begin += strlen("-----BEGIN PUBLIC KEY-----");
    b64 = malloc((size_t)(end - begin) + 1);
    if (b64 == NULL) {
        return NULL;
    }
    for (p = begin; p < end; p++) {
        if (*p != '\n' && *p != '\r' && *p != ' ') {
            b64[n++] = *p;
        }
    }
    b64[n] = '\0';
    der = mtu_b64(b64, der_len);
    free(b64);
    return der;
}

#endif
