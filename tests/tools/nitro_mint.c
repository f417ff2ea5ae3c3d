/*
 * nitro_mint.c: test-only Nitro attestation documents (nitro_mint.h).
 * The CBOR is written by hand here, independently of the parser under
 * test (which reads through libcbor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tests/tools/nitro_mint.h"

#define NCERTS (NITRO_MINT_INTERMEDIATES + 2)
#define LEAF (NCERTS - 1)

/* ---- the CA --------------------------------------------------------- */

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *
make_cert(int i, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
          int64_t from, int64_t until)
{
    static const char *const cn[NCERTS] = {
        "tlogwatch-test.nitro-enclaves",
        "a1b2c3.us-east-1.tlogwatch-test.nitro-enclaves",
        "d4e5f6.zonal.us-east-1.tlogwatch-test.nitro-enclaves",
        "i-0123456789abcdef0.us-east-1.tlogwatch-test.nitro-enclaves",
        "i-0123456789abcdef0-enc0123456789abcd.us-east-1.tlogwatch-test",
    };
    X509 *x = X509_new();
    X509_NAME *name;
    char pathlen[48];

    if (x == NULL || X509_set_version(x, 2) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + i) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), (time_t)until) == NULL ||
        X509_set_pubkey(x, key) != 1) {
        goto fail;
    }
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC,
                                   (const unsigned char *)"US", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"Amazon", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
                                   (const unsigned char *)"AWS", -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)cn[i], -1, -1,
                                   0) != 1) {
        goto fail;
    }
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
                                               : name) != 1) {
        goto fail;
    }
    if (i < LEAF) {
        snprintf(pathlen, sizeof(pathlen), "critical,CA:TRUE,pathlen:%d",
                 LEAF - 1 - i);
        if (add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
                    pathlen) != 0 ||
            add_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
                    "critical,digitalSignature,keyCertSign,cRLSign") != 0) {
            goto fail;
        }
    } else if (add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") !=
                   0 ||
               add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") !=
                   0) {
        goto fail;
    }
    if (add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier,
                "hash") != 0 ||
        (issuer != NULL && add_ext(x, issuer, NID_authority_key_identifier,
                                   "keyid:always") != 0)) {
        goto fail;
    }
    if (X509_sign(x, issuer_key, EVP_sha384()) <= 0) {
        goto fail;
    }
    return x;
fail:
    X509_free(x);
    return NULL;
}

struct nitro_mint_ca *
nitro_mint_ca_new(int64_t not_before, int64_t not_after, int64_t leaf_from,
                  int64_t leaf_until)
{
    struct nitro_mint_ca *ca = calloc(1, sizeof(*ca));
    int i;

    if (ca == NULL) {
        return NULL;
    }
    for (i = 0; i < NCERTS; i++) {
        ca->key[i] = EVP_EC_gen("P-384");
        if (ca->key[i] == NULL) {
            goto fail;
        }
        ca->cert[i] = make_cert(i, ca->key[i], i ? ca->cert[i - 1] : NULL,
                                i ? ca->key[i - 1] : ca->key[i],
                                i == LEAF ? leaf_from : not_before,
                                i == LEAF ? leaf_until : not_after);
        if (ca->cert[i] == NULL) {
            goto fail;
        }
    }
    return ca;
fail:
    nitro_mint_ca_free(ca);
    return NULL;
}

void
nitro_mint_ca_free(struct nitro_mint_ca *ca)
{
    int i;

    if (ca == NULL) {
        return;
    }
    for (i = 0; i < NCERTS; i++) {
        EVP_PKEY_free(ca->key[i]);
        X509_free(ca->cert[i]);
    }
    free(ca);
}

int
nitro_mint_ca_save(const struct nitro_mint_ca *ca, const char *dir)
{
    char path[4096];
    FILE *f;
    int i, ok = 1;

    for (i = 0; i < NCERTS && ok; i++) {
        snprintf(path, sizeof(path), "%s/cert%d.pem", dir, i);
        f = fopen(path, "w");
        ok = f != NULL && PEM_write_X509(f, ca->cert[i]) == 1;
        if (f != NULL && fclose(f) != 0) {
            ok = 0;
        }
        snprintf(path, sizeof(path), "%s/key%d.pem", dir, i);
        f = ok ? fopen(path, "w") : NULL;
        ok = f != NULL && PEM_write_PrivateKey(f, ca->key[i], NULL, NULL, 0,
                                               NULL, NULL) == 1;
        if (f != NULL && fclose(f) != 0) {
            ok = 0;
        }
    }
    snprintf(path, sizeof(path), "%s/root.pem", dir);
    f = ok ? fopen(path, "w") : NULL;
    ok = f != NULL && PEM_write_X509(f, ca->cert[0]) == 1;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}

struct nitro_mint_ca *
nitro_mint_ca_load(const char *dir)
{
    struct nitro_mint_ca *ca = calloc(1, sizeof(*ca));
    char path[4096];
    FILE *f;
    int i;

    if (ca == NULL) {
        return NULL;
    }
    for (i = 0; i < NCERTS; i++) {
        snprintf(path, sizeof(path), "%s/cert%d.pem", dir, i);
        if ((f = fopen(path, "r")) == NULL) {
            goto fail;
        }
        ca->cert[i] = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        snprintf(path, sizeof(path), "%s/key%d.pem", dir, i);
        if ((f = fopen(path, "r")) == NULL) {
            goto fail;
        }
        ca->key[i] = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (ca->cert[i] == NULL || ca->key[i] == NULL) {
            goto fail;
        }
    }
    return ca;
fail:
    nitro_mint_ca_free(ca);
    return NULL;
}

char *
nitro_mint_root_pem(const struct nitro_mint_ca *ca)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p, *out = NULL;
    long n;

    if (b != NULL && PEM_write_bio_X509(b, ca->cert[0]) == 1) {
        n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out != NULL) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

/* ---- CBOR by hand ----------------------------------------------------- */

struct buf {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

static void
put(struct buf *b, const void *p, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* The shortest head of major type m with argument v (RFC 8949 3). */
static void
head(struct buf *b, unsigned m, uint64_t v)
{
    uint8_t h[9];
    size_t n;

    if (v < 24) {
        h[0] = (uint8_t)(m << 5 | v);
        n = 1;
    } else if (v <= 0xff) {
        h[0] = (uint8_t)(m << 5 | 24);
        h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        h[0] = (uint8_t)(m << 5 | 25);
        h[1] = (uint8_t)(v >> 8);
        h[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xffffffffu) {
        h[0] = (uint8_t)(m << 5 | 26);
        for (n = 0; n < 4; n++) {
            h[1 + n] = (uint8_t)(v >> (8 * (3 - n)));
        }
        n = 5;
    } else {
        h[0] = (uint8_t)(m << 5 | 27);
        for (n = 0; n < 8; n++) {
            h[1 + n] = (uint8_t)(v >> (8 * (7 - n)));
        }
        n = 9;
    }
    put(b, h, n);
}

static void
bstr(struct buf *b, const void *p, size_t n)
{
    head(b, 2, n);
    put(b, p, n);
}

static void
tstr(struct buf *b, const char *s)
{
    head(b, 3, strlen(s));
    put(b, s, strlen(s));
}

static void
cert_der(struct buf *b, X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);

    if (n <= 0) {
        b->failed = 1;
        return;
    }
    bstr(b, der, (size_t)n);
    OPENSSL_free(der);
}

static void
payload(struct buf *b, const struct nitro_mint_ca *ca,
        const struct nitro_mint_doc *d)
{
    static const uint8_t big[1025];
    enum nitro_mint_fault f = d->fault;
    unsigned n = 6, i, npcrs = 0;

    n += d->public_key != NULL || f == MINT_NULL_OPTIONAL;
    n += d->user_data != NULL;
    n += d->nonce != NULL || f == MINT_NONCE_TOO_LARGE;
    n += f == MINT_DUP_KEY || f == MINT_EXTRA_KEY;
    n -= f == MINT_MISSING_DIGEST;
    if (f == MINT_INDEFINITE_MAP) {
        put(b, "\xbf", 1);
    } else {
        head(b, 5, n);
    }
    tstr(b, "module_id");
    if (f == MINT_MODULE_ID_EMPTY) {
        tstr(b, "");
    } else if (f == MINT_MODULE_ID_BYTES) {
        bstr(b, "i-0", 3);
    } else {
        tstr(b, d->module_id ? d->module_id
                             : "i-0123456789abcdef0-enc0123456789abcd");
    }
    if (f != MINT_MISSING_DIGEST) {
        tstr(b, "digest");
        tstr(b, f == MINT_DIGEST_SHA256 ? "SHA256" : "SHA384");
    }
    tstr(b, "timestamp");
    if (f == MINT_TIMESTAMP_TEXT) {
        tstr(b, "1725911352400");
    } else {
        if (f == MINT_TAGGED_FIELD) {
            head(b, 6, 24);
        }
        head(b, 0, f == MINT_TIMESTAMP_ZERO ? 0 : d->timestamp_ms);
    }
    tstr(b, "pcrs");
    for (i = 0; i < 32; i++) {
        npcrs += (d->pcr_present >> i) & 1u;
    }
    head(b, 5, npcrs + (f == MINT_PCR_DUP));
    for (i = 0; i < 32; i++) {
        if ((d->pcr_present >> i) & 1u) {
            head(b, 0, f == MINT_PCR_INDEX_32 && i == 0 ? 32 : i);
            bstr(b, d->pcrs[i], f == MINT_PCR_32_BYTES && i == 0 ? 32 : 48);
            if (f == MINT_PCR_DUP && i == 1) {
                head(b, 0, 1);
                bstr(b, d->pcrs[i], 48);
            }
        }
    }
    tstr(b, "certificate");
    if (f == MINT_CERT_TOO_LARGE) {
        bstr(b, big, sizeof(big));
    } else {
        cert_der(b, ca->cert[LEAF]);
    }
    tstr(b, "cabundle");
    if (f == MINT_CABUNDLE_EMPTY) {
        head(b, 4, 0);
    } else {
        head(b, 4, NCERTS - 1);
        for (i = 0; i < NCERTS - 1; i++) {
            cert_der(b, ca->cert[i]);
        }
    }
    if (f == MINT_NULL_OPTIONAL) {
        tstr(b, "public_key");
        put(b, "\xf6", 1);
    } else if (d->public_key != NULL) {
        tstr(b, "public_key");
        bstr(b, d->public_key, d->public_key_len);
    }
    if (d->user_data != NULL) {
        tstr(b, "user_data");
        bstr(b, d->user_data, d->user_data_len);
    }
    if (f == MINT_NONCE_TOO_LARGE) {
        tstr(b, "nonce");
        bstr(b, big, 513);
    } else if (d->nonce != NULL) {
        tstr(b, "nonce");
        bstr(b, d->nonce, d->nonce_len);
    }
    if (f == MINT_DUP_KEY) {
        tstr(b, "module_id");
        tstr(b, "i-dup");
    } else if (f == MINT_EXTRA_KEY) {
        tstr(b, "extra");
        head(b, 0, 1);
    }
    if (f == MINT_INDEFINITE_MAP) {
        put(b, "\xff", 1);
    }
    if (f == MINT_PAYLOAD_TRAILING) {
        put(b, "\x00", 1);
    }
}

/* ES384 over data with key: r || s, 96 bytes into sig.  0 or -1. */
static int
es384(EVP_PKEY *key, const uint8_t *data, size_t n, uint8_t sig[96])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[160];
    const unsigned char *p = der;
    size_t dlen = sizeof(der);
    ECDSA_SIG *es = NULL;
    int rc = -1;

    if (md == NULL ||
        EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &dlen, data, n) != 1 ||
        (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL ||
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 48) != 48 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 48, 48) != 48) {
        goto out;
    }
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

uint8_t *
nitro_mint(const struct nitro_mint_ca *ca, const struct nitro_mint_doc *d,
           size_t *len)
{
    struct buf pl = {0}, prot = {0}, tbs = {0}, out = {0};
    enum nitro_mint_fault f = d->fault;
    uint8_t sig[96];

    *len = 0;
    payload(&pl, ca, d);
    if (f == MINT_PROTECTED_EXTRA) {
        put(&prot, "\xa2\x01\x38\x22\x04\x41\x00", 7);
    } else if (f == MINT_ALG_ES256) {
        put(&prot, "\xa1\x01\x26", 3);
    } else {
        put(&prot, "\xa1\x01\x38\x22", 4);
    }
    /* Sig_structure = ["Signature1", protected, h'', payload] */
    head(&tbs, 4, 4);
    tstr(&tbs, "Signature1");
    bstr(&tbs, prot.p, prot.len);
    bstr(&tbs, "", 0);
    if (f == MINT_BAD_SIGNATURE) {
        bstr(&tbs, "other bytes", 11);
    } else {
        bstr(&tbs, pl.p, pl.len);
    }
    if (pl.failed || prot.failed || tbs.failed ||
        es384(ca->key[LEAF], tbs.p, tbs.len, sig) != 0) {
        goto fail;
    }
    if (f == MINT_TAG18) {
        head(&out, 6, 18);
    } else if (f == MINT_OTHER_TAG) {
        head(&out, 6, 98);
    }
    head(&out, 4, f == MINT_ARRAY_5 ? 5 : 4);
    bstr(&out, prot.p, prot.len);
    if (f == MINT_UNPROTECTED_NONEMPTY) {
        put(&out, "\xa1\x04\x41\x00", 4);
    } else {
        head(&out, 5, 0);
    }
    bstr(&out, pl.p, pl.len);
    bstr(&out, sig, f == MINT_SIG_95 ? 95 : 96);
    if (f == MINT_ARRAY_5) {
        put(&out, "\xf6", 1);
    }
    if (f == MINT_TRAILING) {
        put(&out, "\x00", 1);
    }
    if (out.failed) {
        goto fail;
    }
    free(pl.p);
    free(prot.p);
    free(tbs.p);
    *len = out.len;
    return out.p;
fail:
    free(pl.p);
    free(prot.p);
    free(tbs.p);
    free(out.p);
    return NULL;
}
