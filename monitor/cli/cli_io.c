/*
 * cli_io.c: bounded input helpers for the CLI subcommands (cli_io.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "monitor/cli/cli_io.h"
#include "monitor/identity/entry.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int
cli_read_input(const char *path, size_t max, char **buf, size_t *len, char *err,
               size_t errlen)
{
    FILE *f;
    char *b;
    size_t n = 0, got;
    int is_stdin = strcmp(path, "-") == 0;
    struct stat st;

    *buf = NULL;
    *len = 0;
    if (is_stdin) {
        f = stdin;
    } else {
        if (stat(path, &st) != 0) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            seterr(err, errlen, "%s: not a regular file", path);
            return -1;
        }
        if ((uint64_t)st.st_size > (uint64_t)max) {
            seterr(err, errlen, "%s: larger than %zu bytes", path, max);
            return -1;
        }
        f = fopen(path, "rb");
        if (f == NULL) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    b = malloc(max + 2);
    if (b == NULL) {
        seterr(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    /* Read at most max + 1 bytes: one more than allowed means too large. */
    while (n < max + 1 && (got = fread(b + n, 1, max + 1 - n, f)) > 0) {
        n += got;
    }
    if (ferror(f)) {
        seterr(err, errlen, "%s: read error", is_stdin ? "stdin" : path);
        goto fail;
    }
    if (n > max) {
        seterr(err, errlen, "%s: larger than %zu bytes",
               is_stdin ? "stdin" : path, max);
        goto fail;
    }
    if (!is_stdin) {
        fclose(f);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
fail:
    free(b);
    if (!is_stdin) {
        fclose(f);
    }
    return -1;
}

int
cli_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;

    if (entry_parse_u64(s, strlen(s), &v) != 0 || v > CLI_MAX_TREE_SIZE) {
        return -1;
    }
    *out = v;
    return 0;
}

int
cli_parse_hash(const char *s, uint8_t out[MERKLE_HASH_LEN])
{
    return entry_parse_hash_hex(s, strlen(s), out);
}

EVP_PKEY *
cli_pubkey_from_pem(const char *buf, size_t len, char *err, size_t errlen)
{
    BIO *bio;
    EVP_PKEY *k = NULL;
    char group[64];
    size_t glen = 0;

    if (len > INT32_MAX) {
        seterr(err, errlen, "key file too large");
        return NULL;
    }
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (k == NULL) {
        seterr(err, errlen, "not a PEM public key");
        goto fail;
    }
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_ED25519:
        break;
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1 ||
            strcmp(group, "prime256v1") != 0) {
            seterr(err, errlen, "EC key is not on P-256");
            goto fail;
        }
        break;
    default:
        seterr(err, errlen, "key is neither ECDSA P-256 nor Ed25519");
        goto fail;
    }
    ERR_clear_error();
    return k;
fail:
    EVP_PKEY_free(k);
    ERR_clear_error();
    return NULL;
}
