/*
 * bench_ctleaf.c: cost of parsing Fulcio CT log get-entries answers
 * (monitor/identity/ctleaf.c): one JSON answer of BATCH precert entries
 * built from the real Fulcio leaves (fulcio/leaf/, SCT list removed as
 * Fulcio logs them), parsed with every entry's claims read, and with the
 * watch rules' prefilter (10 needles that match none of them: the common
 * case of an unwatched certificate).
 *
 * Usage: bench_ctleaf [TESTDATA [ROUNDS [BATCH]]]  (default
 * $TLOGWATCH_TESTDATA, 20 rounds, 256 entries per answer).  Built, never
 * run by ctest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "monitor/identity/ctleaf.h"

#define BENCH_MAX_CERTS 32

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* base64 of a precert leaf_input for the certificate at path, or NULL. */
static char *
precert_b64(const char *path)
{
    FILE *f = fopen(path, "rb");
    X509 *x;
    ASN1_OBJECT *sct = OBJ_txt2obj("1.3.6.1.4.1.11129.2.4.2", 1);
    unsigned char *tbs = NULL;
    uint8_t *leaf;
    char *out = NULL;
    int idx, n;
    size_t len, cap;

    if (f == NULL || sct == NULL) {
        if (f != NULL) {
            fclose(f);
        }
        ASN1_OBJECT_free(sct);
        return NULL;
    }
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL) {
        ASN1_OBJECT_free(sct);
        return NULL;
    }
    idx = X509_get_ext_by_OBJ(x, sct, -1);
    if (idx >= 0) {
        X509_EXTENSION_free(X509_delete_ext(x, idx));
    }
    ASN1_OBJECT_free(sct);
    n = i2d_re_X509_tbs(x, &tbs);
    X509_free(x);
    if (n <= 0) {
        return NULL;
    }
    len = 12 + 32 + 3 + (size_t)n + 2;
    leaf = calloc(1, len);
    if (leaf == NULL) {
        OPENSSL_free(tbs);
        return NULL;
    }
    leaf[11] = 1; /* precert_entry; version, type, timestamp 0 */
    leaf[44] = (uint8_t)(n >> 16);
    leaf[45] = (uint8_t)(n >> 8);
    leaf[46] = (uint8_t)n;
    memcpy(leaf + 47, tbs, (size_t)n);
    OPENSSL_free(tbs);
    cap = (len + 2) / 3 * 4 + 1;
    out = malloc(cap);
    if (out != NULL && merkle_b64_encode(leaf, len, out, cap) < 0) {
        free(out);
        out = NULL;
    }
    free(leaf);
    return out;
}

int
main(int argc, char **argv)
{
    const char *td = argc > 1 ? argv[1] : getenv("TLOGWATCH_TESTDATA");
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    size_t batch = argc > 3 ? (size_t)atoi(argv[3]) : 256;
    char dir[4096], path[8192], err[CTLEAF_ERR_LEN];
    char *items[BENCH_MAX_CERTS], *json, *p;
    size_t nitems = 0, i, cap, n;
    struct fulcio_needles *nd;
    struct ctleaf **a;
    DIR *d;
    struct dirent *e;
    double t0, t_all, t_pre;
    int r;

    if (td == NULL || rounds <= 0 || batch == 0 || batch > CTLEAF_MAX_ENTRIES) {
        fprintf(stderr, "usage: bench_ctleaf [TESTDATA [ROUNDS [BATCH]]]\n");
        return 2;
    }
    snprintf(dir, sizeof(dir), "%s/fulcio/leaf", td);
    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "bench_ctleaf: cannot open %s\n", dir);
        return 1;
    }
    while ((e = readdir(d)) != NULL && nitems < BENCH_MAX_CERTS) {
        size_t l = strlen(e->d_name);

        if (l > 4 && strcmp(e->d_name + l - 4, ".pem") == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if ((items[nitems] = precert_b64(path)) != NULL) {
                nitems++;
            }
        }
    }
    closedir(d);
    if (nitems == 0) {
        fprintf(stderr, "bench_ctleaf: no leaves\n");
        return 1;
    }
    cap = 64;
    for (i = 0; i < batch; i++) {
        cap += strlen(items[i % nitems]) + 40;
    }
    json = malloc(cap);
    if (json == NULL) {
        return 1;
    }
    p = json + sprintf(json, "{\"entries\":[");
    for (i = 0; i < batch; i++) {
        p += sprintf(p, "%s{\"leaf_input\":\"%s\",\"extra_data\":\"\"}",
                     i > 0 ? "," : "", items[i % nitems]);
    }
    p += sprintf(p, "]}");

    nd = fulcio_needles_new();
    for (i = 0; nd != NULL && i < 10; i++) {
        char repo[64];

        snprintf(repo, sizeof(repo), "unwatched-org-%zu/some-repo", i);
        if (fulcio_needles_add(nd, repo, NULL) != 0) {
            return 1;
        }
    }
    if (nd == NULL) {
        return 1;
    }

    t0 = now();
    for (r = 0; r < rounds; r++) {
        if (ctleaf_entries_parse(json, (size_t)(p - json), batch, &a, &n, err,
                                 sizeof(err)) != 0) {
            fprintf(stderr, "bench_ctleaf: %s\n", err);
            return 1;
        }
        ctleaf_array_free(a, n);
    }
    t_all = now() - t0;
    t0 = now();
    for (r = 0; r < rounds; r++) {
        if (ctleaf_entries_parse_needles(json, (size_t)(p - json), batch, nd,
                                         &a, &n, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_ctleaf: %s\n", err);
            return 1;
        }
        ctleaf_array_free(a, n);
    }
    t_pre = now() - t0;
    printf("get-entries answer: %zu precert entries (%zu real Fulcio "
           "leaves), %zu bytes\n",
           batch, nitems, (size_t)(p - json));
    printf("all claims read:       %8.0f entries/s\n",
           (double)batch * rounds / t_all);
    printf("prefiltered (10 rules): %8.0f entries/s\n",
           (double)batch * rounds / t_pre);
    fulcio_needles_free(nd);
    for (i = 0; i < nitems; i++) {
        free(items[i]);
    }
    free(json);
    return 0;
}
