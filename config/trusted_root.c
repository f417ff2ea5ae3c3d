/*
 * trusted_root.c: load a Sigstore trusted_root.json (see trusted_root.h).
 *
 * The file is read whole (at most CONFIG_TRUSTED_ROOT_MAX_FILE bytes),
 * parsed with jansson (duplicate keys rejected), then walked field by
 * field.  Every known field is type-checked; unknown fields are ignored.
 * Errors name the JSON path of the field ("tlogs[1].logId.keyId: ...").
 *
 * Invariants: the returned object is complete or not returned at all;
 * nothing is shared with the JSON tree, which is freed before returning.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "config/trusted_root.h"

struct config_trusted_root {
    struct config_log_key *tlogs; /* ntlogs, owned */
    size_t ntlogs;
    struct config_log_key *ctlogs;
    size_t nctlogs;
    struct config_ca *cas;
    size_t ncas;
    struct config_ca *tsas;
    size_t ntsas;
};

/* Error context: the prefix ("name") and the caller's buffer. */
struct tr_err {
    const char *name;
    char *buf;
    size_t len;
};

/* JSON path of the field being read, e.g. "tlogs[1].publicKey". */
#define TR_PATH_MAX 128

static void tr_fail(struct tr_err *e, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tr_fail(struct tr_err *e, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (e->buf == NULL || e->len == 0) {
        return;
    }
    if (path != NULL && path[0] != '\0') {
        n = snprintf(e->buf, e->len, "%s: %s: ", e->name, path);
    } else {
        n = snprintf(e->buf, e->len, "%s: ", e->name);
    }
    if (n < 0 || (size_t)n >= e->len) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
    va_end(ap);
}

/*
 * Build a JSON path into out; a path that does not fit is cut short (it
 * only decorates error messages).
 */
static void tr_path(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tr_path(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 && cap > 0) {
        out[0] = '\0';
    }
}

/*
 * Base64 as protobuf JSON writes bytes: standard alphabet with padding;
 * the URL-safe alphabet and missing padding are accepted as protobuf's
 * JSON mapping requires.  No whitespace.  Returns the decoded length or -1.
 */
static long
tr_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
    uint32_t acc = 0;
    size_t i, n = 0, pad = 0;
    int bits = 0;

    while (inlen > 0 && in[inlen - 1] == '=' && pad < 2) {
        inlen--;
        pad++;
    }
    if (pad > 0 && (inlen + pad) % 4 != 0) {
        return -1;
    }
    if (inlen % 4 == 1) {
        return -1;
    }
    for (i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        uint32_t v;

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '+' || c == '-') {
            v = 62;
        } else if (c == '/' || c == '_') {
            v = 63;
        } else {
            return -1;
        }
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= outcap) {
                return -1;
            }
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return -1;
    }
    return (long)n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
tr_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
tr_digits(const char *s, size_t n, unsigned *out)
{
    size_t i;
    unsigned v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM).
 * 't' and 'z' are accepted as RFC 3339 allows.  Fractions are truncated.
 */
static int
tr_parse_time(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
    size_t len = strlen(s), i = 19;
    int64_t t;
    int sign = 0;

    if (len < 20 || len > 64) {
        return -1;
    }
    if (tr_digits(s, 4, &y) != 0 || s[4] != '-' ||
        tr_digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
        tr_digits(s + 8, 2, &d) != 0 || (s[10] != 'T' && s[10] != 't') ||
        tr_digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
        tr_digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
        tr_digits(s + 17, 2, &sec) != 0) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        sec > 60) {
        return -1;
    }
    if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) {
        return -1;
    }
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start) {
            return -1;
        }
    }
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        sign = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
               tr_digits(s + i + 1, 2, &oh) == 0 && s[i + 3] == ':' &&
               tr_digits(s + i + 4, 2, &om) == 0 && oh <= 23 && om <= 59) {
        sign = s[i] == '+' ? 1 : -1;
    } else {
        return -1;
    }
    if (sec == 60) {
        sec = 59; /* a leap second maps onto the second before it */
    }
    t = tr_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (int64_t)(oh * 3600 + om * 60);
    *out = t;
    return 0;
}

/* Field access helpers.  Each returns 0, or -1 after tr_fail. */

static int
tr_get_object(struct tr_err *e, json_t *parent, const char *key,
              const char *path, int required, json_t **out)
{
    json_t *v = json_object_get(parent, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            tr_fail(e, path, "missing field \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_object(v)) {
        tr_fail(e, path, "\"%s\" must be an object", key);
        return -1;
    }
    *out = v;
    return 0;
}

static int
tr_get_string(struct tr_err *e, json_t *parent, const char *key,
              const char *path, int required, size_t maxlen, const char **out)
{
    json_t *v = json_object_get(parent, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required) {
            tr_fail(e, path, "missing field \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        tr_fail(e, path, "\"%s\" must be a string", key);
        return -1;
    }
    if (json_string_length(v) > maxlen ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        tr_fail(e, path, "\"%s\" too long or holds a NUL", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static char *
tr_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

/* Decode a required base64 field into a new buffer. */
static int
tr_get_bytes(struct tr_err *e, json_t *parent, const char *key,
             const char *path, size_t maxlen, uint8_t **out, size_t *outlen)
{
    const char *s;
    uint8_t *buf;
    long n;

    *out = NULL;
    *outlen = 0;
    if (tr_get_string(e, parent, key, path, 1, (maxlen / 3 + 1) * 4 + 4, &s) !=
        0) {
        return -1;
    }
    buf = malloc(maxlen);
    if (buf == NULL) {
        tr_fail(e, path, "out of memory");
        return -1;
    }
    n = tr_b64_decode(s, strlen(s), buf, maxlen);
    if (n <= 0) {
        free(buf);
        tr_fail(e, path, "\"%s\": bad base64", key);
        return -1;
    }
    *out = buf;
    *outlen = (size_t)n;
    return 0;
}

static int
tr_get_validity(struct tr_err *e, json_t *parent, const char *path,
                int required, struct config_validity *v)
{
    json_t *obj;
    const char *s;
    char sub[TR_PATH_MAX];

    v->start = 0;
    v->end = 0;
    v->has_end = 0;
    if (tr_get_object(e, parent, "validFor", path, required, &obj) != 0) {
        return -1;
    }
    if (obj == NULL) {
        return 0;
    }
    tr_path(sub, sizeof(sub), "%s.validFor", path);
    if (tr_get_string(e, obj, "start", sub, 1, 64, &s) != 0) {
        return -1;
    }
    if (tr_parse_time(s, &v->start) != 0) {
        tr_fail(e, sub, "\"start\": not an RFC 3339 time");
        return -1;
    }
    if (tr_get_string(e, obj, "end", sub, 0, 64, &s) != 0) {
        return -1;
    }
    if (s != NULL) {
        if (tr_parse_time(s, &v->end) != 0) {
            tr_fail(e, sub, "\"end\": not an RFC 3339 time");
            return -1;
        }
        if (v->end < v->start) {
            tr_fail(e, sub, "\"end\" is before \"start\"");
            return -1;
        }
        v->has_end = 1;
    }
    return 0;
}

static const struct {
    const char *name;
    enum config_key_alg alg;
} tr_algs[] = {
    {"PKIX_ECDSA_P256_SHA_256", CONFIG_KEY_ECDSA_P256_SHA256},
    {"PKIX_ECDSA_P384_SHA_384", CONFIG_KEY_ECDSA_P384_SHA384},
    {"PKIX_ECDSA_P521_SHA_512", CONFIG_KEY_ECDSA_P521_SHA512},
    {"PKIX_ED25519", CONFIG_KEY_ED25519},
    {"PKIX_RSA_PKCS1V15_2048_SHA256", CONFIG_KEY_RSA_PKCS1V15_SHA256},
    {"PKIX_RSA_PKCS1V15_3072_SHA256", CONFIG_KEY_RSA_PKCS1V15_SHA256},
    {"PKIX_RSA_PKCS1V15_4096_SHA256", CONFIG_KEY_RSA_PKCS1V15_SHA256},
};

const char *
config_key_alg_name(enum config_key_alg alg)
{
    switch (alg) {
    case CONFIG_KEY_ECDSA_P256_SHA256:
        return "ecdsa-p256-sha256";
    case CONFIG_KEY_ECDSA_P384_SHA384:
        return "ecdsa-p384-sha384";
    case CONFIG_KEY_ECDSA_P521_SHA512:
        return "ecdsa-p521-sha512";
    case CONFIG_KEY_ED25519:
        return "ed25519";
    case CONFIG_KEY_RSA_PKCS1V15_SHA256:
        return "rsa-pkcs1v15-sha256";
    case CONFIG_KEY_UNSUPPORTED:
        break;
    }
    return "unsupported";
}

/* 0 when pkey is of the kind alg names (type and curve). */
static int
tr_check_pkey(EVP_PKEY *pkey, enum config_key_alg alg)
{
    char group[64];
    const char *want = NULL;
    size_t glen = 0;

    switch (alg) {
    case CONFIG_KEY_ED25519:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 ? 0 : -1;
    case CONFIG_KEY_RSA_PKCS1V15_SHA256:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
                       EVP_PKEY_get_bits(pkey) >= 2048
                   ? 0
                   : -1;
    case CONFIG_KEY_ECDSA_P256_SHA256:
        want = "prime256v1";
        break;
    case CONFIG_KEY_ECDSA_P384_SHA384:
        want = "secp384r1";
        break;
    case CONFIG_KEY_ECDSA_P521_SHA512:
        want = "secp521r1";
        break;
    case CONFIG_KEY_UNSUPPORTED:
        return -1;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &glen) != 1) {
        return -1;
    }
    return strcmp(group, want) == 0 ? 0 : -1;
}

/*
 * Host of an http(s) URL: between "://" and the first '/', '?', '#' or
 * ':' (port).  userinfo ('@') is refused.  Returns new or NULL.
 */
static char *
tr_url_host(const char *url)
{
    const char *p, *end;
    size_t n;
    char *host;

    if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return NULL;
    }
    if (*p == '[') { /* IPv6 literal: keep the brackets */
        end = strchr(p, ']');
        if (end == NULL) {
            return NULL;
        }
        end++;
    } else {
        end = p + strcspn(p, "/?#:");
    }
    n = (size_t)(end - p);
    if (n == 0 || memchr(p, '@', n) != NULL) {
        return NULL;
    }
    host = malloc(n + 1);
    if (host == NULL) {
        return NULL;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    return host;
}

static void
tr_log_key_clear(struct config_log_key *k)
{
    free((char *)k->base_url);
    free((char *)k->signer_name);
    free((char *)k->key_details);
    free((uint8_t *)k->spki_der);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}

static void
tr_ca_clear(struct config_ca *ca)
{
    free((char *)ca->uri);
    free((char *)ca->subject_org);
    free((char *)ca->subject_cn);
    sk_X509_pop_free(ca->chain, X509_free);
    memset(ca, 0, sizeof(*ca));
}

/* Check the file's log id against the key (see the header's invariants). */
static int
tr_check_log_id(struct config_log_key *k)
{
    uint8_t h[SHA256_DIGEST_LENGTH], raw[32];
    size_t rawlen = sizeof(raw);
    EVP_MD_CTX *ctx;
    int ok;

    SHA256(k->spki_der, k->spki_len, h);
    if (CRYPTO_memcmp(h, k->log_id, sizeof(h)) == 0) {
        return 0;
    }
    if (k->alg != CONFIG_KEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1 ||
        rawlen != sizeof(raw)) {
        return -1;
    }
    /* C2SP signed-note key id: SHA-256(name || '\n' || 0x01 || key). */
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, k->signer_name, strlen(k->signer_name)) == 1 &&
         EVP_DigestUpdate(ctx, "\n\x01", 2) == 1 &&
         EVP_DigestUpdate(ctx, raw, sizeof(raw)) == 1 &&
         EVP_DigestFinal_ex(ctx, h, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        return -1;
    }
    return CRYPTO_memcmp(h, k->log_id, sizeof(h)) == 0 ? 0 : -1;
}

/* One tlogs[] / ctlogs[] item.  On failure k is cleared by the caller. */
static int
tr_load_log_key(struct tr_err *e, json_t *item, const char *path,
                struct config_log_key *k)
{
    json_t *pk, *lid;
    const char *s, *details;
    char sub[TR_PATH_MAX];
    uint8_t *idbuf = NULL;
    uint8_t *der = NULL;
    size_t idlen, derlen, i;
    const unsigned char *p;

    if (!json_is_object(item)) {
        tr_fail(e, path, "must be an object");
        return -1;
    }
    if (tr_get_string(e, item, "baseUrl", path, 1, CONFIG_TRUSTED_ROOT_MAX_URL,
                      &s) != 0) {
        return -1;
    }
    k->base_url = tr_strdup(s);
    k->signer_name = tr_url_host(s);
    if (k->base_url == NULL || k->signer_name == NULL) {
        tr_fail(e, path, "\"baseUrl\": not an http(s) URL with a host");
        return -1;
    }
    if (tr_get_string(e, item, "hashAlgorithm", path, 0, 64, &s) != 0) {
        return -1;
    }
    if (s != NULL && strcmp(s, "SHA2_256") != 0) {
        tr_fail(e, path, "\"hashAlgorithm\": only SHA2_256 is supported");
        return -1;
    }

    if (tr_get_object(e, item, "publicKey", path, 1, &pk) != 0) {
        return -1;
    }
    tr_path(sub, sizeof(sub), "%s.publicKey", path);
    if (tr_get_bytes(e, pk, "rawBytes", sub, CONFIG_TRUSTED_ROOT_MAX_KEY, &der,
                     &derlen) != 0) {
        return -1;
    }
    k->spki_der = der;
    k->spki_len = derlen;
    if (tr_get_string(e, pk, "keyDetails", sub, 1, 128, &details) != 0) {
        return -1;
    }
    k->key_details = tr_strdup(details);
    if (k->key_details == NULL) {
        tr_fail(e, sub, "out of memory");
        return -1;
    }
    k->alg = CONFIG_KEY_UNSUPPORTED;
    for (i = 0; i < sizeof(tr_algs) / sizeof(tr_algs[0]); i++) {
        if (strcmp(details, tr_algs[i].name) == 0) {
            k->alg = tr_algs[i].alg;
        }
    }
    if (tr_get_validity(e, pk, sub, 0, &k->valid_for) != 0) {
        return -1;
    }
    if (k->alg != CONFIG_KEY_UNSUPPORTED) {
        p = der;
        k->pkey = d2i_PUBKEY(NULL, &p, (long)derlen);
        if (k->pkey == NULL || p != der + derlen) {
            tr_fail(e, sub, "\"rawBytes\": not a DER SubjectPublicKeyInfo");
            return -1;
        }
        if (tr_check_pkey(k->pkey, k->alg) != 0) {
            tr_fail(e, sub, "key does not match keyDetails %s", details);
            return -1;
        }
    }

    if (tr_get_object(e, item, "logId", path, 1, &lid) != 0) {
        return -1;
    }
    tr_path(sub, sizeof(sub), "%s.logId", path);
    if (tr_get_bytes(e, lid, "keyId", sub, 64, &idbuf, &idlen) != 0) {
        return -1;
    }
    if (idlen != CONFIG_LOG_ID_LEN) {
        free(idbuf);
        tr_fail(e, sub, "\"keyId\": must be 32 bytes, not %zu", idlen);
        return -1;
    }
    memcpy(k->log_id, idbuf, CONFIG_LOG_ID_LEN);
    free(idbuf);
    k->key_hint = (uint32_t)k->log_id[0] << 24 | (uint32_t)k->log_id[1] << 16 |
                  (uint32_t)k->log_id[2] << 8 | (uint32_t)k->log_id[3];
    if (k->alg != CONFIG_KEY_UNSUPPORTED && tr_check_log_id(k) != 0) {
        tr_fail(e, sub, "\"keyId\" does not match the public key");
        return -1;
    }
    return 0;
}

/* One certificateAuthorities[] / timestampAuthorities[] item. */
static int
tr_load_ca(struct tr_err *e, json_t *item, const char *path,
           struct config_ca *ca)
{
    json_t *subj, *chain, *certs, *c;
    const char *s;
    char sub[TR_PATH_MAX], csub[TR_PATH_MAX + 64];
    size_t i, n;

    if (!json_is_object(item)) {
        tr_fail(e, path, "must be an object");
        return -1;
    }
    if (tr_get_string(e, item, "uri", path, 0, CONFIG_TRUSTED_ROOT_MAX_URL,
                      &s) != 0) {
        return -1;
    }
    ca->uri = tr_strdup(s != NULL ? s : "");
    if (tr_get_object(e, item, "subject", path, 0, &subj) != 0) {
        return -1;
    }
    tr_path(sub, sizeof(sub), "%s.subject", path);
    s = NULL;
    if (subj != NULL &&
        tr_get_string(e, subj, "organization", sub, 0, 1024, &s) != 0) {
        return -1;
    }
    ca->subject_org = tr_strdup(s != NULL ? s : "");
    s = NULL;
    if (subj != NULL &&
        tr_get_string(e, subj, "commonName", sub, 0, 1024, &s) != 0) {
        return -1;
    }
    ca->subject_cn = tr_strdup(s != NULL ? s : "");
    if (ca->uri == NULL || ca->subject_org == NULL || ca->subject_cn == NULL) {
        tr_fail(e, path, "out of memory");
        return -1;
    }

    if (tr_get_object(e, item, "certChain", path, 1, &chain) != 0) {
        return -1;
    }
    tr_path(sub, sizeof(sub), "%s.certChain", path);
    certs = json_object_get(chain, "certificates");
    if (certs == NULL) {
        tr_fail(e, sub, "missing field \"certificates\"");
        return -1;
    }
    if (!json_is_array(certs)) {
        tr_fail(e, sub, "\"certificates\" must be an array");
        return -1;
    }
    n = json_array_size(certs);
    if (n == 0 || n > CONFIG_TRUSTED_ROOT_MAX_CHAIN) {
        tr_fail(e, sub, "\"certificates\": %zu entries (1 to %d allowed)", n,
                CONFIG_TRUSTED_ROOT_MAX_CHAIN);
        return -1;
    }
    ca->chain = sk_X509_new_null();
    if (ca->chain == NULL) {
        tr_fail(e, sub, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        uint8_t *der;
        size_t derlen;
        const unsigned char *p;
        X509 *x;

        tr_path(csub, sizeof(csub), "%s.certificates[%zu]", sub, i);
        c = json_array_get(certs, i);
        if (!json_is_object(c)) {
            tr_fail(e, csub, "must be an object");
            return -1;
        }
        if (tr_get_bytes(e, c, "rawBytes", csub, CONFIG_TRUSTED_ROOT_MAX_KEY,
                         &der, &derlen) != 0) {
            return -1;
        }
        p = der;
        x = d2i_X509(NULL, &p, (long)derlen);
        if (x == NULL || p != der + derlen) {
            X509_free(x);
            free(der);
            tr_fail(e, csub, "\"rawBytes\": not a DER X.509 certificate");
            return -1;
        }
        free(der);
        if (sk_X509_push(ca->chain, x) <= 0) {
            X509_free(x);
            tr_fail(e, csub, "out of memory");
            return -1;
        }
    }
    return tr_get_validity(e, item, path, 1, &ca->valid_for);
}

/* An optional array field: NULL/absent -> 0 items. */
static int
tr_get_array(struct tr_err *e, json_t *root, const char *key, json_t **out,
             size_t *n)
{
    json_t *v = json_object_get(root, key);

    *out = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_array(v)) {
        tr_fail(e, NULL, "\"%s\" must be an array", key);
        return -1;
    }
    *n = json_array_size(v);
    if (*n > CONFIG_TRUSTED_ROOT_MAX_ITEMS) {
        tr_fail(e, NULL, "\"%s\": %zu entries (at most %d)", key, *n,
                CONFIG_TRUSTED_ROOT_MAX_ITEMS);
        return -1;
    }
    *out = v;
    return 0;
}

static int
tr_load_logs(struct tr_err *e, json_t *root, const char *key,
             struct config_log_key **out, size_t *nout)
{
    json_t *arr;
    size_t n, i;
    char path[TR_PATH_MAX];

    if (tr_get_array(e, root, key, &arr, &n) != 0) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    *out = calloc(n, sizeof(**out));
    if (*out == NULL) {
        tr_fail(e, key, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        *nout = i + 1; /* the item is cleared on any failure */
        tr_path(path, sizeof(path), "%s[%zu]", key, i);
        if (tr_load_log_key(e, json_array_get(arr, i), path, &(*out)[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Without the trailing '/'s, "https://a/" and "https://a" are one URL. */
static int
tr_same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    while (la > 0 && a[la - 1] == '/') {
        la--;
    }
    while (lb > 0 && b[lb - 1] == '/') {
        lb--;
    }
    return la == lb && strncmp(a, b, la) == 0;
}

/*
 * Entries of one list with the same log id: the same log listed again
 * (mark the later ones dup), or a conflict (another key or baseUrl).  In
 * tlogs (tlog != 0), a key name and hint shared by two log ids is refused:
 * signed-note signature lines name a key by exactly these.
 */
static int
tr_check_dups(struct tr_err *e, const char *key, struct config_log_key *v,
              size_t n, int tlog)
{
    size_t i, j;
    char path[TR_PATH_MAX];

    for (i = 1; i < n; i++) {
        for (j = 0; j < i; j++) {
            const struct config_log_key *a = &v[j], *b = &v[i];

            tr_path(path, sizeof(path), "%s[%zu]", key, i);
            if (memcmp(a->log_id, b->log_id, CONFIG_LOG_ID_LEN) == 0) {
                if (a->spki_len != b->spki_len ||
                    memcmp(a->spki_der, b->spki_der, a->spki_len) != 0 ||
                    strcmp(a->key_details, b->key_details) != 0) {
                    tr_fail(e, path,
                            "logId is also %s[%zu]'s, with another "
                            "key",
                            key, j);
                    return -1;
                }
                if (!tr_same_url(a->base_url, b->base_url)) {
                    tr_fail(e, path,
                            "logId is also %s[%zu]'s, with another "
                            "baseUrl (%s, not %s)",
                            key, j, b->base_url, a->base_url);
                    return -1;
                }
                v[i].dup = 1;
                break;
            }
            if (tlog && a->key_hint == b->key_hint &&
                strcmp(a->signer_name, b->signer_name) == 0) {
                tr_fail(e, path,
                        "another key of %s[%zu]'s name %s with the "
                        "same key hint %08x: checkpoint signatures would be "
                        "ambiguous",
                        key, j, a->signer_name, (unsigned)a->key_hint);
                return -1;
            }
        }
    }
    return 0;
}

static int
tr_load_cas(struct tr_err *e, json_t *root, const char *key,
            struct config_ca **out, size_t *nout)
{
    json_t *arr;
    size_t n, i;
    char path[TR_PATH_MAX];

    if (tr_get_array(e, root, key, &arr, &n) != 0) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    *out = calloc(n, sizeof(**out));
    if (*out == NULL) {
        tr_fail(e, key, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        *nout = i + 1;
        tr_path(path, sizeof(path), "%s[%zu]", key, i);
        if (tr_load_ca(e, json_array_get(arr, i), path, &(*out)[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

void
config_trusted_root_free(struct config_trusted_root *root)
{
    size_t i;

    if (root == NULL) {
        return;
    }
    for (i = 0; i < root->ntlogs; i++) {
        tr_log_key_clear(&root->tlogs[i]);
    }
    for (i = 0; i < root->nctlogs; i++) {
        tr_log_key_clear(&root->ctlogs[i]);
    }
    for (i = 0; i < root->ncas; i++) {
        tr_ca_clear(&root->cas[i]);
    }
    for (i = 0; i < root->ntsas; i++) {
        tr_ca_clear(&root->tsas[i]);
    }
    free(root->tlogs);
    free(root->ctlogs);
    free(root->cas);
    free(root->tsas);
    free(root);
}

struct config_trusted_root *
config_trusted_root_load_mem(const char *data, size_t len, const char *name,
                             char *err, size_t errlen)
{
    struct tr_err e = {name != NULL ? name : "trusted_root", err, errlen};
    struct config_trusted_root *root = NULL;
    json_error_t jerr;
    json_t *doc = NULL;
    const char *media;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (data == NULL || len == 0) {
        tr_fail(&e, NULL, "empty input");
        return NULL;
    }
    if (len > CONFIG_TRUSTED_ROOT_MAX_FILE) {
        tr_fail(&e, NULL, "larger than %d bytes", CONFIG_TRUSTED_ROOT_MAX_FILE);
        return NULL;
    }
    doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        tr_fail(&e, NULL, "line %d column %d: %s", jerr.line, jerr.column,
                jerr.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        tr_fail(&e, NULL, "top level must be a JSON object");
        goto fail;
    }
    if (tr_get_string(&e, doc, "mediaType", NULL, 1, 256, &media) != 0) {
        goto fail;
    }
    if (strcmp(media, CONFIG_TRUSTED_ROOT_MEDIA_TYPE) != 0) {
        tr_fail(&e, NULL, "unsupported mediaType \"%s\"", media);
        goto fail;
    }
    root = calloc(1, sizeof(*root));
    if (root == NULL) {
        tr_fail(&e, NULL, "out of memory");
        goto fail;
    }
    if (tr_load_logs(&e, doc, "tlogs", &root->tlogs, &root->ntlogs) != 0 ||
        tr_load_logs(&e, doc, "ctlogs", &root->ctlogs, &root->nctlogs) != 0 ||
        tr_load_cas(&e, doc, "certificateAuthorities", &root->cas,
                    &root->ncas) != 0 ||
        tr_load_cas(&e, doc, "timestampAuthorities", &root->tsas,
                    &root->ntsas) != 0) {
        goto fail;
    }
    if (root->ntlogs == 0 && root->nctlogs == 0) {
        tr_fail(&e, NULL,
                "no transparency log (\"tlogs\" and \"ctlogs\" "
                "are both empty)");
        goto fail;
    }
    if (tr_check_dups(&e, "tlogs", root->tlogs, root->ntlogs, 1) != 0 ||
        tr_check_dups(&e, "ctlogs", root->ctlogs, root->nctlogs, 0) != 0) {
        goto fail;
    }
    json_decref(doc);
    return root;

fail:
    config_trusted_root_free(root);
    json_decref(doc);
    return NULL;
}

struct config_trusted_root *
config_trusted_root_load(const char *path, char *err, size_t errlen)
{
    struct tr_err e = {path, err, errlen};
    struct config_trusted_root *root;
    FILE *f;
    char *buf;
    size_t n;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (path == NULL) {
        e.name = "(null)";
        tr_fail(&e, NULL, "no path");
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        tr_fail(&e, NULL, "%s", strerror(errno));
        return NULL;
    }
    /* Read one byte more than allowed to detect an oversized file. */
    buf = malloc(CONFIG_TRUSTED_ROOT_MAX_FILE + 1);
    if (buf == NULL) {
        fclose(f);
        tr_fail(&e, NULL, "out of memory");
        return NULL;
    }
    n = fread(buf, 1, CONFIG_TRUSTED_ROOT_MAX_FILE + 1, f);
    if (ferror(f)) {
        tr_fail(&e, NULL, "read error");
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    if (n > CONFIG_TRUSTED_ROOT_MAX_FILE) {
        free(buf);
        tr_fail(&e, NULL, "larger than %d bytes", CONFIG_TRUSTED_ROOT_MAX_FILE);
        return NULL;
    }
    root = config_trusted_root_load_mem(buf, n, path, err, errlen);
    free(buf);
    return root;
}

size_t
config_trusted_root_ntlogs(const struct config_trusted_root *root)
{
    return root != NULL ? root->ntlogs : 0;
}

const struct config_log_key *
config_trusted_root_tlog(const struct config_trusted_root *root, size_t i)
{
    return root != NULL && i < root->ntlogs ? &root->tlogs[i] : NULL;
}

size_t
config_trusted_root_nctlogs(const struct config_trusted_root *root)
{
    return root != NULL ? root->nctlogs : 0;
}

const struct config_log_key *
config_trusted_root_ctlog(const struct config_trusted_root *root, size_t i)
{
    return root != NULL && i < root->nctlogs ? &root->ctlogs[i] : NULL;
}

size_t
config_trusted_root_ncas(const struct config_trusted_root *root)
{
    return root != NULL ? root->ncas : 0;
}

const struct config_ca *
config_trusted_root_ca(const struct config_trusted_root *root, size_t i)
{
    return root != NULL && i < root->ncas ? &root->cas[i] : NULL;
}

size_t
config_trusted_root_ntsas(const struct config_trusted_root *root)
{
    return root != NULL ? root->ntsas : 0;
}

const struct config_ca *
config_trusted_root_tsa(const struct config_trusted_root *root, size_t i)
{
    return root != NULL && i < root->ntsas ? &root->tsas[i] : NULL;
}

const struct config_log_key *
config_trusted_root_find_tlog(const struct config_trusted_root *root,
                              const uint8_t log_id[CONFIG_LOG_ID_LEN])
{
    size_t i;

    if (root == NULL || log_id == NULL) {
        return NULL;
    }
    for (i = 0; i < root->ntlogs; i++) {
        if (memcmp(root->tlogs[i].log_id, log_id, CONFIG_LOG_ID_LEN) == 0) {
            return &root->tlogs[i];
        }
    }
    return NULL;
}

const struct config_log_key *
config_trusted_root_find_tlog_hint(const struct config_trusted_root *root,
                                   uint32_t hint, const char *name)
{
    size_t i;

    if (root == NULL) {
        return NULL;
    }
    for (i = 0; i < root->ntlogs; i++) {
        if (root->tlogs[i].key_hint == hint &&
            (name == NULL || strcmp(root->tlogs[i].signer_name, name) == 0)) {
            return &root->tlogs[i];
        }
    }
    return NULL;
}

int
config_trusted_root_tlog_valid_at(const struct config_trusted_root *root,
                                  const uint8_t log_id[CONFIG_LOG_ID_LEN],
                                  int64_t t)
{
    size_t i;

    if (root == NULL || log_id == NULL) {
        return 0;
    }
    for (i = 0; i < root->ntlogs; i++) {
        if (memcmp(root->tlogs[i].log_id, log_id, CONFIG_LOG_ID_LEN) == 0 &&
            config_validity_covers(&root->tlogs[i].valid_for, t)) {
            return 1;
        }
    }
    return 0;
}

int
config_validity_covers(const struct config_validity *v, int64_t t)
{
    if (v == NULL || t < v->start) {
        return 0;
    }
    return !v->has_end || t <= v->end;
}
