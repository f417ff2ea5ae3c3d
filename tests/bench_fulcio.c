/*
 * bench_fulcio.c: cost of the Fulcio prefilter on the follower's hot path,
 * beside the full parse it avoids and a plain base64 decode of the same
 * bytes (work the entry pipeline does anyway).
 *
 * Usage: bench_fulcio [TESTDATA [ROUNDS]]  (default $TLOGWATCH_TESTDATA,
 * 20000 rounds).  Uses
 * every leaf in fulcio/leaf/ in the three input forms, with 10 needles
 * that match none of them (the common case: an unwatched entry).
 * Built, never run by ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "monitor/identity/fulcio.h"

#define BENCH_MAX_CERTS 32

struct blob {
    uint8_t *p;
    size_t len;
};

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
load(const char *path, struct blob *pem, struct blob *der, struct blob *b64)
{
    FILE *f = fopen(path, "rb");
    X509 *x;
    unsigned char *d = NULL;
    int n;

    if (f == NULL) {
        return -1;
    }
    pem->p = malloc(FULCIO_MAX_INPUT);
    if (pem->p == NULL) {
        fclose(f);
        return -1;
    }
    pem->len = fread(pem->p, 1, FULCIO_MAX_INPUT, f);
    rewind(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL || (n = i2d_X509(x, &d)) <= 0) {
        X509_free(x);
        return -1;
    }
    X509_free(x);
    der->p = d;
    der->len = (size_t)n;
    b64->p = malloc(pem->len / 3 * 4 + 8);
    if (b64->p == NULL) {
        return -1;
    }
    b64->len = (size_t)EVP_EncodeBlock(b64->p, pem->p, (int)pem->len);
    return 0;
}

static int
parse_once(const uint8_t *p, size_t len)
{
    struct fulcio_cert *c = fulcio_cert_parse(p, len, NULL);
    int ok = c != NULL;

    fulcio_cert_free(c);
    return ok;
}

int
main(int argc, char **argv)
{
    static const char *const repos[] = {
        "acme/enclave-app", "acme/tools",    "example/one", "example/two",
        "octo/cat",         "foo/bar",       "hello/world", "sig/store",
        "rekor/monitor",    "owner/project",
    };
    const char *base = argc > 1 ? argv[1] : getenv("TLOGWATCH_TESTDATA");
    struct blob pem[BENCH_MAX_CERTS], der[BENCH_MAX_CERTS],
        b64[BENCH_MAX_CERTS];
    struct fulcio_needles *nd = fulcio_needles_new();
    char dirpath[4096], path[8192];
    size_t ncert = 0, i, k, iters = 20000, hits = 0;
    uint8_t scratch[FULCIO_MAX_INPUT];
    DIR *d;
    struct dirent *de;
    double t0, t;

    if (argc > 2) {
        iters = (size_t)strtoul(argv[2], NULL, 10);
    }
    if (base == NULL || nd == NULL || iters < 20) {
        fprintf(stderr, "usage: bench_fulcio TESTDATA [ROUNDS >= 20]\n");
        return 2;
    }
    for (i = 0; i < 10; i++) {
        if (fulcio_needles_add(nd, repos[i], i < 3 ? "987654321" : NULL) != 0) {
            return 2;
        }
    }
    snprintf(dirpath, sizeof(dirpath), "%s/fulcio/leaf", base);
    d = opendir(dirpath);
    if (d == NULL) {
        perror(dirpath);
        return 2;
    }
    while ((de = readdir(d)) != NULL && ncert < BENCH_MAX_CERTS) {
        size_t l = strlen(de->d_name);

        if (l < 5 || strcmp(de->d_name + l - 4, ".pem") != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
        if (load(path, &pem[ncert], &der[ncert], &b64[ncert]) == 0) {
            ncert++;
        }
    }
    closedir(d);
    if (ncert == 0) {
        return 2;
    }
    printf("%zu certificates, 10 needles (3 with an id), %zu rounds\n", ncert,
           iters);

#define BENCH(label, expr, bytes)                                              \
    do {                                                                       \
        size_t total = 0;                                                      \
        t0 = now();                                                            \
        for (k = 0; k < iters; k++) {                                          \
            for (i = 0; i < ncert; i++) {                                      \
                hits += (size_t)(expr);                                        \
                total += (bytes);                                              \
            }                                                                  \
        }                                                                      \
        t = now() - t0;                                                        \
        printf("%-34s %8.0f ns/cert %8.0f MB/s\n", label,                      \
               t * 1e9 / (double)(iters * ncert), (double)total / t / 1e6);    \
    } while (0)

    BENCH("prefilter DER", fulcio_prefilter(nd, der[i].p, der[i].len),
          der[i].len);
    BENCH("prefilter PEM", fulcio_prefilter(nd, pem[i].p, pem[i].len),
          pem[i].len);
    BENCH("prefilter base64(PEM)", fulcio_prefilter(nd, b64[i].p, b64[i].len),
          b64[i].len);
    BENCH("baseline: EVP_DecodeBlock b64(PEM)",
          EVP_DecodeBlock(scratch, b64[i].p, (int)b64[i].len) > 0, b64[i].len);
    iters /= 20;
    BENCH("full parse (fulcio_cert_parse) PEM",
          parse_once(pem[i].p, pem[i].len), pem[i].len);
    printf("(checksum %zu)\n", hits);
    for (i = 0; i < ncert; i++) {
        free(pem[i].p);
        OPENSSL_free(der[i].p);
        free(b64[i].p);
    }
    fulcio_needles_free(nd);
    return 0;
}
