/*
 * buf.c: growable byte buffers and small helpers for tlogwatch-testlog.
 *
 * Invariants: a struct tl_buf with p != NULL is NUL-terminated at p[len]
 * and cap > len; every append either succeeds completely or leaves the
 * buffer as it was (and returns -1).
 */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle/merkle.h"
#include "testlog.h"

int
tl_buf_reserve(struct tl_buf *b, size_t extra)
{
    size_t need, ncap;
    char *np;

    if (extra > SIZE_MAX - b->len - 1) {
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    np = realloc(b->p, ncap);
    if (np == NULL) {
        return -1;
    }
    b->p = np;
    b->cap = ncap;
    b->p[b->len] = '\0';
    return 0;
}

int
tl_buf_add(struct tl_buf *b, const void *data, size_t n)
{
    if (tl_buf_reserve(b, n) != 0) {
        return -1;
    }
    if (n > 0) {
        memcpy(b->p + b->len, data, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int
tl_buf_adds(struct tl_buf *b, const char *s)
{
    return tl_buf_add(b, s, strlen(s));
}

int
tl_buf_printf(struct tl_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (tl_buf_reserve(b, 64) != 0) {
        return -1;
    }
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->p[b->len] = '\0';
        return -1;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (tl_buf_reserve(b, (size_t)n) != 0) {
            b->p[b->len] = '\0';
            return -1;
        }
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->p[b->len] = '\0';
            return -1;
        }
    }
    b->len += (size_t)n;
    return 0;
}

int
tl_buf_add_b64(struct tl_buf *b, const uint8_t *data, size_t n)
{
    size_t need = (n + 2) / 3 * 4;
    long w;

    if (tl_buf_reserve(b, need) != 0) {
        return -1;
    }
    w = merkle_b64_encode(data, n, b->p + b->len, b->cap - b->len);
    if (w < 0) {
        b->p[b->len] = '\0';
        return -1;
    }
    b->len += (size_t)w;
    return 0;
}

int
tl_buf_add_hex(struct tl_buf *b, const uint8_t *data, size_t n)
{
    long w;

    if (n > SIZE_MAX / 2 || tl_buf_reserve(b, 2 * n) != 0) {
        return -1;
    }
    w = merkle_hex_encode(data, n, b->p + b->len, b->cap - b->len);
    if (w < 0) {
        b->p[b->len] = '\0';
        return -1;
    }
    b->len += (size_t)w;
    return 0;
}

int
tl_buf_add_json_str(struct tl_buf *b, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    size_t i, start = b->len;
    char esc[7];

    if (tl_buf_add(b, "\"", 1) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            rc = tl_buf_add(b, esc, 2);
        } else if (c == '\n') {
            rc = tl_buf_add(b, "\\n", 2);
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hexd[c >> 4];
            esc[5] = hexd[c & 15];
            rc = tl_buf_add(b, esc, 6);
        } else {
            rc = tl_buf_add(b, &s[i], 1);
        }
        if (rc != 0) {
            b->len = start;
            b->p[start] = '\0';
            return -1;
        }
    }
    if (tl_buf_add(b, "\"", 1) != 0) {
        b->len = start;
        b->p[start] = '\0';
        return -1;
    }
    return 0;
}

void
tl_buf_reset(struct tl_buf *b)
{
    b->len = 0;
    if (b->p != NULL) {
        b->p[0] = '\0';
    }
}

void
tl_buf_free(struct tl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

uint8_t *
tl_b64_decode_new(const char *in, size_t inlen, size_t *outlen)
{
    size_t cap = inlen / 4 * 3 + 3;
    uint8_t *out = malloc(cap + 1);
    long n;

    if (out == NULL) {
        return NULL;
    }
    n = merkle_b64_decode(in, inlen, out, cap);
    if (n < 0) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)n;
    return out;
}

uint64_t
tl_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void
tl_parallel(void *(*fn)(void *), void *jobs, size_t size, unsigned n)
{
    pthread_t tids[TL_MAX_THREADS];
    int started[TL_MAX_THREADS];
    unsigned k;

    if (n > TL_MAX_THREADS) {
        n = TL_MAX_THREADS;
    }
    for (k = 1; k < n; k++) {
        started[k] = pthread_create(&tids[k], NULL, fn,
                                    (char *)jobs + (size_t)k * size) == 0;
    }
    fn(jobs);
    for (k = 1; k < n; k++) {
        if (started[k]) {
            pthread_join(tids[k], NULL);
        } else {
            fn((char *)jobs + (size_t)k * size);
        }
    }
}

double
tl_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t
tl_now(void)
{
    return (int64_t)time(NULL);
}

void
tl_rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 32, "1970-01-01T00:00:00Z");
    }
}
