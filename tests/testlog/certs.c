/*
 * certs.c: keys, the Fulcio-like certificate authorities and leaf
 * certificates of tlogwatch-testlog, and the files that describe them.
 *
 * The real CA mirrors Fulcio's public-good hierarchy: a P-384 root and a
 * P-384 intermediate (extKeyUsage codeSigning) that issues P-256 leaves
 * with an empty subject, a critical SAN, keyUsage digitalSignature,
 * extKeyUsage codeSigning, SKI/AKI and the Sigstore extensions
 * 1.3.6.1.4.1.57264.1.N exactly as production encodes them: N = 1..6 hold
 * the raw string as the extension value, N >= 8 a DER UTF8String (see
 * ../shared/testdata/fulcio/leaf/extensions-decoded.json).  The impostor
 * CA is created with the same subject names but its own keys, so its
 * leaves look alike and chain to nothing in trusted_root.json.
 *
 * Invariants: every function returns a complete object or nothing (all
 * partial OpenSSL objects are freed on the error path); private keys are
 * written with mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "testlog.h"

int
tl_key_generate(struct tl_key *k, const char *curve)
{
    unsigned char *p;
    int n;

    memset(k, 0, sizeof(*k));
    k->pkey = EVP_EC_gen(curve);
    if (k->pkey == NULL) {
        return -1;
    }
    n = i2d_PUBKEY(k->pkey, NULL);
    if (n <= 0 || (size_t)n > sizeof(k->spki)) {
        goto err;
    }
    p = k->spki;
    if (i2d_PUBKEY(k->pkey, &p) != n) {
        goto err;
    }
    k->spki_len = (size_t)n;
    SHA256(k->spki, k->spki_len, k->id);
    k->d = tl_private_scalar(k->pkey);
    if (k->d == NULL) {
        goto err;
    }
    return 0;
err:
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
    return -1;
}

int
tl_key_ed25519(struct tl_key *k, const uint8_t priv[32], const char *name)
{
    EVP_MD_CTX *md = NULL;
    unsigned char *p;
    uint8_t raw[32];
    size_t rawlen = sizeof(raw);
    int n, ok;

    memset(k, 0, sizeof(*k));
    k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    if (k->pkey == NULL ||
        EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 ||
        rawlen != sizeof(raw)) {
        goto err;
    }
    n = i2d_PUBKEY(k->pkey, NULL);
    if (n <= 0 || (size_t)n > sizeof(k->spki)) {
        goto err;
    }
    p = k->spki;
    if (i2d_PUBKEY(k->pkey, &p) != n) {
        goto err;
    }
    k->spki_len = (size_t)n;
    /* C2SP signed-note key id: SHA-256(name || "\n" || 0x01 || key) */
    md = EVP_MD_CTX_new();
    ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(md, name, strlen(name)) == 1 &&
         EVP_DigestUpdate(md, "\n\x01", 2) == 1 &&
         EVP_DigestUpdate(md, raw, sizeof(raw)) == 1 &&
         EVP_DigestFinal_ex(md, k->id, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        goto err;
    }
    return 0;
err:
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
    return -1;
}

void
tl_key_clear(struct tl_key *k)
{
    EVP_PKEY_free(k->pkey);
    BN_clear_free(k->d);
    memset(k, 0, sizeof(*k));
}

int
tl_sign_digest(EVP_PKEY *pkey, const uint8_t *digest, size_t dlen, uint8_t *sig,
               size_t *siglen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    size_t cap = *siglen;
    int ok;

    if (c == NULL) {
        return -1;
    }
    ok = EVP_PKEY_sign_init(c) == 1 &&
         EVP_PKEY_sign(c, sig, &cap, digest, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok) {
        return -1;
    }
    *siglen = cap;
    return 0;
}

int
tl_sign_sha256(EVP_PKEY *pkey, const void *msg, size_t len, uint8_t *sig,
               size_t *siglen)
{
    uint8_t dg[SHA256_DIGEST_LENGTH];

    SHA256(msg, len, dg);
    return tl_sign_digest(pkey, dg, sizeof(dg), sig, siglen);
}

/* A random positive 159-bit serial, as Fulcio uses 20-byte serials. */
static int
set_serial(X509 *x)
{
    uint8_t raw[20];
    BIGNUM *bn;
    ASN1_INTEGER *ai;
    int ok;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }
    raw[0] &= 0x7f;
    raw[0] |= 0x10;
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (bn == NULL) {
        return -1;
    }
    ai = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (ai == NULL) {
        return -1;
    }
    ok = X509_set_serialNumber(x, ai);
    ASN1_INTEGER_free(ai);
    return ok == 1 ? 0 : -1;
}

static int
set_validity(X509 *x, int64_t not_before, int64_t not_after)
{
    if (ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL) {
        return -1;
    }
    return 0;
}

/* Add an extension from its OpenSSL config text (issuer / subject set). */
static int
add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL) {
        return -1;
    }
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509_NAME *
make_name(const char *org, const char *cn)
{
    X509_NAME *n = X509_NAME_new();

    if (n == NULL) {
        return NULL;
    }
    if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                   (const unsigned char *)org, -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1, 0) != 1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* A CA certificate for key k named name; issuer NULL = self-signed. */
static X509 *
make_ca_cert(const struct tl_key *k, X509_NAME *name, X509 *issuer,
             EVP_PKEY *issuer_key, int intermediate, int64_t not_before,
             int64_t not_after)
{
    X509 *x = X509_new();

    if (x == NULL) {
        return NULL;
    }
    if (X509_set_version(x, 2) != 1 || set_serial(x) != 0 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
                                               : name) != 1 ||
        set_validity(x, not_before, not_after) != 0 ||
        X509_set_pubkey(x, k->pkey) != 1) {
        goto err;
    }
    if (add_conf_ext(x, issuer != NULL ? issuer : x, NID_key_usage,
                     "critical,keyCertSign,cRLSign") != 0 ||
        add_conf_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
                     intermediate ? "critical,CA:TRUE,pathlen:0"
                                  : "critical,CA:TRUE,pathlen:1") != 0 ||
        (intermediate &&
         add_conf_ext(x, issuer, NID_ext_key_usage, "codeSigning") != 0) ||
        add_conf_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier,
                     "hash") != 0 ||
        (issuer != NULL && add_conf_ext(x, issuer, NID_authority_key_identifier,
                                        "keyid:always") != 0)) {
        goto err;
    }
    if (X509_sign(x, issuer_key, EVP_sha384()) <= 0) {
        goto err;
    }
    return x;
err:
    X509_free(x);
    return NULL;
}

int
tl_ca_create(struct tl_ca *ca, const char *org, const char *cn_prefix,
             int64_t not_before, int64_t not_after)
{
    X509_NAME *rn = NULL, *in = NULL;
    char icn[256];

    memset(ca, 0, sizeof(*ca));
    ca->not_before = not_before;
    ca->not_after = not_after;
    snprintf(icn, sizeof(icn), "%s-intermediate", cn_prefix);
    rn = make_name(org, cn_prefix);
    in = make_name(org, icn);
    if (rn == NULL || in == NULL ||
        tl_key_generate(&ca->root_key, "P-384") != 0 ||
        tl_key_generate(&ca->inter_key, "P-384") != 0) {
        goto err;
    }
    ca->root = make_ca_cert(&ca->root_key, rn, NULL, ca->root_key.pkey, 0,
                            not_before, not_after);
    if (ca->root == NULL) {
        goto err;
    }
    ca->inter = make_ca_cert(&ca->inter_key, in, ca->root, ca->root_key.pkey, 1,
                             not_before, not_after);
    if (ca->inter == NULL) {
        goto err;
    }
    X509_NAME_free(rn);
    X509_NAME_free(in);
    return 0;
err:
    X509_NAME_free(rn);
    X509_NAME_free(in);
    tl_ca_clear(ca);
    return -1;
}

void
tl_ca_clear(struct tl_ca *ca)
{
    X509_free(ca->root);
    X509_free(ca->inter);
    tl_key_clear(&ca->root_key);
    tl_key_clear(&ca->inter_key);
    memset(ca, 0, sizeof(*ca));
}

/* Sigstore extension FULCIO arc .n: value as raw bytes (n <= 6) or as a
 * DER UTF8String (n >= 8), like production. */
static int
add_sigstore_ext(X509 *x, unsigned n, const char *value)
{
    char oid[64];
    ASN1_OBJECT *obj = NULL;
    ASN1_OCTET_STRING *os = NULL;
    ASN1_STRING *utf8 = NULL;
    X509_EXTENSION *ext = NULL;
    unsigned char *der = NULL;
    int len, rc = -1;

    if (value == NULL) {
        return 0;
    }
    snprintf(oid, sizeof(oid), "1.3.6.1.4.1.57264.1.%u", n);
    obj = OBJ_txt2obj(oid, 1);
    os = ASN1_OCTET_STRING_new();
    if (obj == NULL || os == NULL) {
        goto done;
    }
    if (n <= 6) {
        if (ASN1_OCTET_STRING_set(os, (const unsigned char *)value,
                                  (int)strlen(value)) != 1) {
            goto done;
        }
    } else {
        utf8 = ASN1_STRING_type_new(V_ASN1_UTF8STRING);
        if (utf8 == NULL ||
            ASN1_STRING_set(utf8, value, (int)strlen(value)) != 1) {
            goto done;
        }
        len = i2d_ASN1_UTF8STRING(utf8, &der);
        if (len <= 0 || ASN1_OCTET_STRING_set(os, der, len) != 1) {
            goto done;
        }
    }
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        goto done;
    }
    rc = 0;
done:
    X509_EXTENSION_free(ext);
    OPENSSL_free(der);
    ASN1_STRING_free(utf8);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return rc;
}

static int
add_san(X509 *x, enum tl_san type, const char *value)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int rc = -1;

    if (gens == NULL || gen == NULL || ia5 == NULL ||
        ASN1_STRING_set(ia5, value, (int)strlen(value)) != 1) {
        goto done;
    }
    GENERAL_NAME_set0_value(gen, type == TL_SAN_URI ? GEN_URI : GEN_EMAIL, ia5);
    ia5 = NULL;
    if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
        goto done;
    }
    gen = NULL;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 1,
                          X509V3_ADD_DEFAULT) != 1) {
        goto done;
    }
    rc = 0;
done:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(gens);
    return rc;
}

X509 *
tl_leaf_issue(const struct tl_ca *ca, EVP_PKEY *pub, const struct tl_claims *c,
              int64_t not_before, int64_t not_after)
{
    X509 *x = X509_new();
    X509_NAME *empty = X509_NAME_new();

    if (x == NULL || empty == NULL || c->san == NULL) {
        goto err;
    }
    if (X509_set_version(x, 2) != 1 || set_serial(x) != 0 ||
        X509_set_subject_name(x, empty) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca->inter)) != 1 ||
        set_validity(x, not_before, not_after) != 0 ||
        X509_set_pubkey(x, pub) != 1) {
        goto err;
    }
    if (add_conf_ext(x, ca->inter, NID_key_usage,
                     "critical,digitalSignature") != 0 ||
        add_conf_ext(x, ca->inter, NID_ext_key_usage, "codeSigning") != 0 ||
        add_conf_ext(x, ca->inter, NID_subject_key_identifier, "hash") != 0 ||
        add_conf_ext(x, ca->inter, NID_authority_key_identifier, "keyid") !=
            0 ||
        add_san(x, c->san_type, c->san) != 0) {
        goto err;
    }
    if (add_sigstore_ext(x, 1, c->issuer) != 0) {
        goto err;
    }
    if (c->github) {
        if (add_sigstore_ext(x, 2, c->trigger) != 0 ||
            add_sigstore_ext(x, 3, c->sha) != 0 ||
            add_sigstore_ext(x, 4, c->workflow_name) != 0 ||
            add_sigstore_ext(x, 5, c->repository) != 0 ||
            add_sigstore_ext(x, 6, c->ref) != 0) {
            goto err;
        }
    }
    if (add_sigstore_ext(x, 8, c->issuer) != 0) {
        goto err;
    }
    if (c->github) {
        if (add_sigstore_ext(x, 9, c->build_signer_uri) != 0 ||
            add_sigstore_ext(x, 10, c->build_signer_sha) != 0 ||
            add_sigstore_ext(x, 11, c->runner_environment) != 0 ||
            add_sigstore_ext(x, 12, c->repository_uri) != 0 ||
            add_sigstore_ext(x, 13, c->sha) != 0 ||
            add_sigstore_ext(x, 14, c->ref) != 0 ||
            add_sigstore_ext(x, 15, c->repository_id) != 0 ||
            add_sigstore_ext(x, 16, c->owner_uri) != 0 ||
            add_sigstore_ext(x, 17, c->owner_id) != 0 ||
            add_sigstore_ext(x, 18, c->build_config_uri) != 0 ||
            add_sigstore_ext(x, 19, c->sha) != 0 ||
            add_sigstore_ext(x, 20, c->trigger) != 0 ||
            add_sigstore_ext(x, 21, c->run_invocation_uri) != 0 ||
            add_sigstore_ext(x, 22, c->visibility) != 0) {
            goto err;
        }
    }
    if (X509_sign(x, ca->inter_key.pkey, EVP_sha384()) <= 0) {
        goto err;
    }
    X509_NAME_free(empty);
    return x;
err:
    X509_NAME_free(empty);
    X509_free(x);
    return NULL;
}

/* Copy a memory BIO's contents to out. */
static int
bio_to_buf(BIO *bio, struct tl_buf *out)
{
    char *data;
    long n = BIO_get_mem_data(bio, &data);

    if (n < 0) {
        return -1;
    }
    return tl_buf_add(out, data, (size_t)n);
}

int
tl_pem_cert(X509 *x, struct tl_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;

    if (bio != NULL && PEM_write_bio_X509(bio, x) == 1) {
        rc = bio_to_buf(bio, out);
    }
    BIO_free(bio);
    return rc;
}

int
tl_pem_pubkey(EVP_PKEY *pkey, struct tl_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;

    if (bio != NULL && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
        rc = bio_to_buf(bio, out);
    }
    BIO_free(bio);
    return rc;
}

int
tl_write_file(const char *dir, const char *name, const void *data, size_t len,
              int mode)
{
    char path[4096], tmp[4200];
    const char *p = data;
    int fd;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
            sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
                         (long)getpid()) >= sizeof(tmp)) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) {
        return -1;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
tl_write_key_files(const char *dir, const char *name, const struct tl_key *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    struct tl_buf b = {0};
    char fname[256];
    int rc = -1;

    if (bio == NULL ||
        PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) !=
            1 ||
        bio_to_buf(bio, &b) != 0) {
        goto done;
    }
    snprintf(fname, sizeof(fname), "%s.key", name);
    if (tl_write_file(dir, fname, b.p, b.len, 0600) != 0) {
        goto done;
    }
    tl_buf_reset(&b);
    if (tl_pem_pubkey(k->pkey, &b) != 0) {
        goto done;
    }
    snprintf(fname, sizeof(fname), "%s.pub", name);
    if (tl_write_file(dir, fname, b.p, b.len, 0644) != 0) {
        goto done;
    }
    rc = 0;
done:
    BIO_free(bio);
    tl_buf_free(&b);
    return rc;
}

int
tl_write_certs(const char *dir, const char *name, X509 *a, X509 *b)
{
    struct tl_buf buf = {0};
    int rc = -1;

    if (tl_pem_cert(a, &buf) == 0 && (b == NULL || tl_pem_cert(b, &buf) == 0)) {
        rc = tl_write_file(dir, name, buf.p, buf.len, 0644);
    }
    tl_buf_free(&buf);
    return rc;
}

/* base64 of a certificate's DER as a new jansson string. */
static json_t *
cert_b64(X509 *x)
{
    unsigned char *der = NULL;
    struct tl_buf b = {0};
    json_t *s = NULL;
    int n = i2d_X509(x, &der);

    if (n > 0 && tl_buf_add_b64(&b, der, (size_t)n) == 0) {
        s = json_stringn(b.p, b.len);
    }
    OPENSSL_free(der);
    tl_buf_free(&b);
    return s;
}

int
tl_trusted_root_json(const struct tl_key *log_key, const char *key_details,
                     const char *base_url, const struct tl_ca *ca,
                     int64_t log_start, struct tl_buf *out)
{
    struct tl_buf spki = {0}, id = {0};
    char start[32], ca_start[32], ca_end[32];
    json_t *root = NULL, *inter_b64 = NULL, *root_b64 = NULL;
    char *text = NULL;
    int rc = -1;

    tl_rfc3339(log_start, start);
    tl_rfc3339(ca->not_before, ca_start);
    tl_rfc3339(ca->not_after, ca_end);
    if (tl_buf_add_b64(&spki, log_key->spki, log_key->spki_len) != 0 ||
        tl_buf_add_b64(&id, log_key->id, sizeof(log_key->id)) != 0) {
        goto done;
    }
    inter_b64 = cert_b64(ca->inter);
    root_b64 = cert_b64(ca->root);
    if (inter_b64 == NULL || root_b64 == NULL) {
        goto done;
    }
    root = json_pack(
        "{s:s, s:[{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}],"
        " s:[{s:{s:s, s:s}, s:s, s:{s:[{s:O}, {s:O}]}, s:{s:s, s:s}}],"
        " s:[], s:[]}",
        "mediaType",
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs",
        "baseUrl", base_url, "hashAlgorithm", "SHA2_256", "publicKey",
        "rawBytes", spki.p, "keyDetails", key_details, "validFor", "start",
        start, "logId", "keyId", id.p, "certificateAuthorities", "subject",
        "organization", TL_CA_ORG, "commonName", TL_CA_CN, "uri", TL_CA_URI,
        "certChain", "certificates", "rawBytes", inter_b64, "rawBytes",
        root_b64, "validFor", "start", ca_start, "end", ca_end, "ctlogs",
        "timestampAuthorities");
    if (root == NULL) {
        goto done;
    }
    text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL || tl_buf_adds(out, text) != 0 ||
        tl_buf_adds(out, "\n") != 0) {
        goto done;
    }
    rc = 0;
done:
    free(text);
    json_decref(root);
    json_decref(inter_b64);
    json_decref(root_b64);
    tl_buf_free(&spki);
    tl_buf_free(&id);
    return rc;
}
