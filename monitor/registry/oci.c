/*
 * oci.c: the OCI registry client of the PCR lookup (see oci.h for the chain
 * it follows and what each step proves).
 *
 * A lookup is a small state machine with at most one request in flight:
 * every step builds its URL from validated parts (repository, tags and
 * digests are checked against the distribution spec's alphabets before
 * they reach a URL), sends it through the transport with a size cap and a
 * timeout, and handles the answer in on_response().  A 401 with a Bearer
 * challenge gets one anonymous token, then the same request is sent again.
 * The lookup ends in finish(), which calls the callback once and frees it.
 *
 * The three starting points share the steps: by data hash (.sig tags, the
 * payload, manifest D, the info layer), by manifest digest (D, the info
 * layer) and by attestation payload hash (.att tags through the same tag
 * list and shortcut code, then one envelope blob per DSSE layer not ruled
 * out, read by next_att_layer() and on_envelope()).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "merkle/merkle.h"
#include "monitor/http.h"
#include "monitor/registry/oci.h"

#define OCI_ACCEPT_MANIFEST                                                    \
    "application/vnd.oci.image.manifest.v1+json, "                             \
    "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_EIF_MEDIA_PREFIX "application/vnd.aws.nitro"
#define OCI_ANN_TITLE "org.opencontainers.image.title"
#define OCI_ANN_BUNDLE "dev.sigstore.cosign/bundle"
#define OCI_ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define OCI_DSSE_MEDIA_TYPE "application/vnd.dsse.envelope.v1+json"
#define OCI_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"

static const char *const pcr_names[4] = {"PCR0", "PCR1", "PCR2", "PCR8"};

const char *
oci_result_str(enum oci_result r)
{
    switch (r) {
    case OCI_OK:
        return "ok";
    case OCI_NOT_YET:
        return "not_yet";
    case OCI_UNTRUSTED:
        return "untrusted";
    case OCI_ERROR:
        return "error";
    }
    return "unknown";
}

/*
 * Pure helpers.
 */

static int
is_hex_n(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[n] == '\0';
}

/* 0 if s is "sha256:" + 64 lowercase hex. */
static int
digest_check(const char *s)
{
    size_t i;

    if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != OCI_DIGEST_LEN) {
        return -1;
    }
    for (i = 7; i < OCI_DIGEST_LEN; i++) {
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) {
            return -1;
        }
    }
    return 0;
}

/* Copies a JSON string value into out (cap bytes); -1 when too long. */
static int
copy_str(json_t *v, char *out, size_t cap)
{
    const char *s;
    size_t n;

    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n >= cap || memchr(s, '\0', n) != NULL) {
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* A PCR value: 96 hex, stored lowercase. */
static int
copy_pcr(json_t *v, char out[OCI_PCR_HEX_LEN + 1])
{
    size_t i;

    if (copy_str(v, out, OCI_PCR_HEX_LEN + 1) != 0 ||
        !is_hex_n(out, OCI_PCR_HEX_LEN)) {
        return -1;
    }
    for (i = 0; i < OCI_PCR_HEX_LEN; i++) {
        out[i] = (char)tolower((unsigned char)out[i]);
    }
    return 0;
}

static json_t *
load_json(const char *buf, size_t len, size_t max)
{
    json_error_t err;

    if (buf == NULL || len > max) {
        return NULL;
    }
    return json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
}

int
oci_parse_challenge(const char *v, size_t len, struct oci_challenge *out)
{
    size_t i = 0;
    char key[32];
    char *dst;
    size_t cap, n, k;

    if (v == NULL || out == NULL || len > OCI_MAX_CHALLENGE) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    while (i < len && (v[i] == ' ' || v[i] == '\t')) {
        i++;
    }
    if (len - i < 7 || strncasecmp(v + i, "bearer", 6) != 0 ||
        (v[i + 6] != ' ' && v[i + 6] != '\t')) {
        return -1;
    }
    i += 7;
    for (;;) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }
        if (i >= len) {
            break;
        }
        k = 0;
        while (i < len && v[i] != '=' && v[i] != ',' && v[i] != ' ') {
            if (k + 1 >= sizeof(key) || !isgraph((unsigned char)v[i])) {
                return -1;
            }
            key[k++] = v[i++];
        }
        key[k] = '\0';
        if (k == 0 || i >= len || v[i] != '=') {
            return -1;
        }
        i++;
        if (strcasecmp(key, "realm") == 0) {
            dst = out->realm;
            cap = sizeof(out->realm);
        } else if (strcasecmp(key, "service") == 0) {
            dst = out->service;
            cap = sizeof(out->service);
        } else if (strcasecmp(key, "scope") == 0) {
            dst = out->scope;
            cap = sizeof(out->scope);
        } else {
            dst = NULL;
            cap = 0;
        }
        if (dst != NULL && dst[0] != '\0') {
            return -1; /* repeated parameter */
        }
        n = 0;
        if (i < len && v[i] == '"') {
            i++;
            while (i < len && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < len) {
                    i++;
                }
                if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
                    return -1;
                }
                if (dst != NULL) {
                    if (n + 1 >= cap) {
                        return -1;
                    }
                    dst[n++] = v[i];
                }
                i++;
            }
            if (i >= len) {
                return -1; /* unterminated */
            }
            i++;
        } else {
            while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t') {
                if (!isgraph((unsigned char)v[i])) {
                    return -1;
                }
                if (dst != NULL) {
                    if (n + 1 >= cap) {
                        return -1;
                    }
                    dst[n++] = v[i];
                }
                i++;
            }
        }
        if (dst != NULL) {
            dst[n] = '\0';
        }
    }
    return out->realm[0] != '\0' ? 0 : -1;
}

int
oci_parse_token(const char *buf, size_t len, char *tok, size_t cap)
{
    json_t *root;
    json_t *t;
    int rc = -1;
    size_t i, n;

    if (tok == NULL || cap == 0) {
        return -1;
    }
    tok[0] = '\0';
    root = load_json(buf, len, OCI_MAX_TOKEN_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    t = json_object_get(root, "token");
    if (!json_is_string(t) || json_string_length(t) == 0) {
        t = json_object_get(root, "access_token");
    }
    if (copy_str(t, tok, cap) != 0) {
        goto out;
    }
    n = strlen(tok);
    if (n == 0) {
        goto out;
    }
    for (i = 0; i < n; i++) { /* a header value: printable, no blanks */
        if (!isgraph((unsigned char)tok[i])) {
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0) {
        tok[0] = '\0';
    }
    json_decref(root);
    return rc;
}

/* logIndex of a cosign bundle annotation (JSON in a string). */
static int
bundle_log_index(const char *s, size_t len, uint64_t *out)
{
    json_t *root;
    json_t *li;
    int rc = -1;

    root = load_json(s, len, OCI_MAX_ANNOTATION);
    if (!json_is_object(root)) {
        goto out;
    }
    li = json_object_get(json_object_get(root, "Payload"), "logIndex");
    if (!json_is_integer(li) || json_integer_value(li) < 0) {
        goto out;
    }
    *out = (uint64_t)json_integer_value(li);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* SHA-256 of the bytes of a base64 string (a signature); 0 or -1. */
static int
b64_hash(const char *s, size_t n, unsigned char out[32])
{
    uint8_t *raw;
    long got;

    if (n == 0 || n > OCI_MAX_ANNOTATION) {
        return -1;
    }
    raw = malloc(n);
    if (raw == NULL) {
        return -1;
    }
    got = merkle_b64_decode(s, n, raw, n);
    if (got <= 0) {
        free(raw);
        return -1;
    }
    SHA256(raw, (size_t)got, out);
    free(raw);
    return 0;
}

static int
signature_hash(json_t *v, unsigned char out[32])
{
    if (!json_is_string(v)) {
        return -1;
    }
    return b64_hash(json_string_value(v), json_string_length(v), out);
}

static int
parse_layer(json_t *l, struct oci_layer *out)
{
    json_t *ann;
    json_t *v;
    json_t *size;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(l)) {
        return -1;
    }
    v = json_object_get(l, "mediaType");
    if (v != NULL && copy_str(v, out->media_type, sizeof(out->media_type))) {
        return -1;
    }
    if (copy_str(json_object_get(l, "digest"), out->digest,
                 sizeof(out->digest)) != 0 ||
        digest_check(out->digest) != 0) {
        return -1;
    }
    size = json_object_get(l, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        return -1;
    }
    out->size = (uint64_t)json_integer_value(size);
    ann = json_object_get(l, "annotations");
    if (ann == NULL) {
        return 0;
    }
    if (!json_is_object(ann)) {
        return -1;
    }
    v = json_object_get(ann, OCI_ANN_TITLE);
    if (v != NULL && copy_str(v, out->title, sizeof(out->title)) != 0) {
        return -1;
    }
    v = json_object_get(ann, OCI_ANN_BUNDLE);
    if (v != NULL) {
        if (!json_is_string(v) ||
            bundle_log_index(json_string_value(v), json_string_length(v),
                             &out->bundle_log_index) != 0) {
            return -1;
        }
        out->has_log_index = 1;
    }
    v = json_object_get(ann, OCI_ANN_SIGNATURE);
    /* "" on cosign's attestation layers (the signature is in the envelope) */
    if (v != NULL && !(json_is_string(v) && json_string_length(v) == 0)) {
        if (signature_hash(v, out->signature_sha256) != 0) {
            return -1;
        }
        out->has_signature = 1;
    }
    return 0;
}

int
oci_parse_manifest(const char *buf, size_t len, struct oci_manifest *out)
{
    json_t *root;
    json_t *layers;
    json_t *ann;
    json_t *v;
    size_t i;
    int rc = -1;

    if (out == NULL) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    root = load_json(buf, len, OCI_MAX_MANIFEST_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    v = json_object_get(root, "schemaVersion");
    if (!json_is_integer(v) || json_integer_value(v) != 2) {
        goto out;
    }
    v = json_object_get(root, "mediaType");
    if (v != NULL &&
        copy_str(v, out->media_type, sizeof(out->media_type)) != 0) {
        goto out;
    }
    v = json_object_get(root, "artifactType");
    if (v != NULL &&
        copy_str(v, out->artifact_type, sizeof(out->artifact_type)) != 0) {
        goto out;
    }
    layers = json_object_get(root, "layers");
    if (!json_is_array(layers) || json_array_size(layers) > OCI_MAX_LAYERS) {
        goto out;
    }
    for (i = 0; i < json_array_size(layers); i++) {
        if (parse_layer(json_array_get(layers, i), &out->layers[i]) != 0) {
            goto out;
        }
    }
    out->n_layers = json_array_size(layers);
    ann = json_object_get(root, "annotations");
    if (ann != NULL && !json_is_object(ann)) {
        goto out;
    }
    for (i = 0; ann != NULL && i < 4; i++) {
        v = json_object_get(ann, pcr_names[i]);
        if (v == NULL) {
            continue;
        }
        if (copy_pcr(v, out->pcrs.hex[i]) != 0) {
            goto out;
        }
        out->pcrs.present |= 1u << i;
    }
    rc = 0;
out:
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return rc;
}

/* A tag as the distribution spec allows: [A-Za-z0-9_][A-Za-z0-9._-]{0,127} */
static int
tag_check(const char *t, size_t n)
{
    size_t i;

    if (n == 0 || n > OCI_MAX_TAG || t[0] == '.' || t[0] == '-') {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' &&
            t[i] != '-') {
            return -1;
        }
    }
    return 0;
}

int
oci_parse_tag_list(const char *buf, size_t len,
                   void (*tag)(const char *t, void *arg), void *arg,
                   size_t *ntags, char *last)
{
    json_t *root;
    json_t *tags;
    json_t *t;
    size_t i;
    int rc = -1;

    if (ntags == NULL || last == NULL) {
        return -1;
    }
    *ntags = 0;
    last[0] = '\0';
    root = load_json(buf, len, OCI_MAX_TAGLIST_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    tags = json_object_get(root, "tags");
    if (json_is_null(tags) || tags == NULL) {
        rc = 0; /* a repository without tags */
        goto out;
    }
    if (!json_is_array(tags)) {
        goto out;
    }
    /* Check the whole page first: a bad tag fails it before any callback. */
    for (i = 0; i < json_array_size(tags); i++) {
        t = json_array_get(tags, i);
        if (!json_is_string(t) ||
            tag_check(json_string_value(t), json_string_length(t)) != 0) {
            goto out;
        }
    }
    for (i = 0; i < json_array_size(tags); i++) {
        t = json_array_get(tags, i);
        if (tag != NULL) {
            tag(json_string_value(t), arg);
        }
        memcpy(last, json_string_value(t), json_string_length(t) + 1);
    }
    *ntags = json_array_size(tags);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int
oci_parse_simple_signing(const char *buf, size_t len,
                         char digest[OCI_DIGEST_LEN + 1], char ref[OCI_MAX_REF])
{
    json_t *root;
    json_t *crit;
    json_t *v;
    int rc = -1;

    if (digest == NULL || ref == NULL) {
        return -1;
    }
    digest[0] = '\0';
    ref[0] = '\0';
    root = load_json(buf, len, OCI_MAX_PAYLOAD_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    crit = json_object_get(root, "critical");
    if (!json_is_object(crit)) {
        goto out;
    }
    v = json_object_get(crit, "type");
    if (!json_is_string(v) ||
        strcmp(json_string_value(v), "cosign container image signature") != 0) {
        goto out;
    }
    if (copy_str(json_object_get(json_object_get(crit, "image"),
                                 "docker-manifest-digest"),
                 digest, OCI_DIGEST_LEN + 1) != 0 ||
        digest_check(digest) != 0) {
        goto out;
    }
    if (copy_str(json_object_get(json_object_get(crit, "identity"),
                                 "docker-reference"),
                 ref, OCI_MAX_REF) != 0 ||
        ref[0] == '\0') {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        digest[0] = '\0';
        ref[0] = '\0';
    }
    json_decref(root);
    return rc;
}

int
oci_parse_describe_eif(const char *buf, size_t len, struct oci_pcrs *out)
{
    json_t *root;
    json_t *m;
    json_t *v;
    size_t i;
    int rc = -1;

    if (out == NULL) {
        return -1;
    }
    memset(out, 0, sizeof(*out));
    root = load_json(buf, len, OCI_MAX_INFO_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    m = json_object_get(root, "Measurements");
    if (!json_is_object(m)) {
        goto out;
    }
    for (i = 0; i < 4; i++) {
        v = json_object_get(m, pcr_names[i]);
        if (v == NULL) {
            continue;
        }
        if (copy_pcr(v, out->hex[i]) != 0) {
            goto out;
        }
        out->present |= 1u << i;
    }
    if ((out->present & 1u) == 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return rc;
}

int
oci_parse_envelope(const char *buf, size_t len, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    json_t *root;
    json_t *v;
    json_t *sigs;
    size_t i;
    long got;
    int rc = -1;

    if (out == NULL || out_len == NULL) {
        return -1;
    }
    *out_len = 0;
    root = load_json(buf, len, OCI_MAX_ENVELOPE_BYTES);
    if (!json_is_object(root)) {
        goto out;
    }
    v = json_object_get(root, "payloadType");
    if (!json_is_string(v) ||
        json_string_length(v) != strlen(OCI_INTOTO_PAYLOAD_TYPE) ||
        strcmp(json_string_value(v), OCI_INTOTO_PAYLOAD_TYPE) != 0) {
        goto out;
    }
    sigs = json_object_get(root, "signatures");
    if (!json_is_array(sigs) || json_array_size(sigs) == 0) {
        goto out;
    }
    for (i = 0; i < json_array_size(sigs); i++) {
        if (!json_is_string(json_object_get(json_array_get(sigs, i), "sig"))) {
            goto out;
        }
    }
    v = json_object_get(root, "payload");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        goto out;
    }
    got = merkle_b64_decode(json_string_value(v), json_string_length(v), out,
                            cap);
    if (got <= 0) {
        goto out;
    }
    *out_len = (size_t)got;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/*
 * The lookup.
 */

enum step {
    ST_SHORTCUT_ARTIFACT, /* GET manifests/<commit sha> */
    ST_SHORTCUT_SIG,      /* GET manifests/sha256-<hex>.sig of it */
    ST_TAGS,              /* GET tags/list?n=&last= */
    ST_SIG,               /* GET manifests/<.sig tag>, one after another */
    ST_PAYLOAD,           /* GET blobs/sha256:<data hash> */
    ST_ENVELOPE,          /* GET blobs/<DSSE layer> of an .att manifest */
    ST_ARTIFACT,          /* GET manifests/<D> */
    ST_INFO,              /* GET blobs/<info layer> */
    ST_TOKEN,             /* GET <realm>?service=&scope= */
};

#define OCI_BASE_LEN (OCI_MAX_REF + 16) /* scheme://host/v2/<repository> */

/* A cached anonymous token; base "" when the slot is free. */
struct oci_token_entry {
    char base[OCI_BASE_LEN]; /* the key: scheme://host/v2/<repository> */
    char *auth;              /* "Bearer <token>" (owned, wiped) */
    uint64_t stored_ms;      /* monotonic */
};

struct oci_token_cache {
    uint64_t ttl_ms;
    struct oci_token_entry e[OCI_MAX_CACHED_TOKENS];
};

struct oci_lookup {
    struct http_client *http; /* borrowed */
    oci_lookup_cb cb;
    void *arg;
    struct http_handle *h;           /* the request in flight, or NULL */
    char base[OCI_BASE_LEN];         /* scheme://host/v2/<repository> */
    char reference[OCI_MAX_REF * 2]; /* host/repository, for the payload */
    char data_hash[65];              /* lowercase: the data hash, or (att)
                                        the DSSE payload hash */
    char commit_sha[OCI_MAX_TAG + 1];
    uint64_t log_index;
    int check_signature;                /* the caller gave the signature */
    unsigned char signature_sha256[32]; /* of its decoded bytes */
    char *auth; /* "Bearer <token>" (owned, wiped), or NULL */
    int token_fetched;
    struct oci_token_cache *tokens; /* borrowed, or NULL */
    int auth_cached;                /* auth came from tokens */

    enum step step;
    enum step resume; /* the step a token fetch returns to */
    char url[HTTP_MAX_URL];
    char saved_url[HTTP_MAX_URL]; /* the request a token fetch resumes */
    const char *accept;           /* static, or NULL */
    uint64_t cap;
    int follow;
    const char *saved_accept; /* accept, cap, follow of the request a */
    uint64_t saved_cap;       /* token fetch resumes */
    int saved_follow;

    char (*sig_tags)[OCI_MAX_TAG + 1]; /* owned */
    size_t n_sig, cap_sig, sig_next;
    size_t pages;
    char last[OCI_MAX_TAG + 1];
    int logindex_mismatch;         /* a matching layer with another logIndex or
                                      signature */
    char sig_tag[OCI_MAX_TAG + 1]; /* the tag the layer was found under */
    const char *tag_suffix;        /* ".sig", or ".att" (att) */

    int att;           /* by att_payload_hash: the .att manifests */
    int att_shortcut;  /* l->m is the commit SHA's .att manifest */
    size_t layer_next; /* layers of l->m left to look at (from last) */
    size_t att_blobs;  /* envelopes fetched */
    char envelope_digest[OCI_DIGEST_LEN + 1]; /* the one in flight */
    uint8_t *stmt; /* owned: the decoded payload of an envelope */

    int by_manifest;                   /* the caller named D: steps 1, 4 */
    char artifact[OCI_DIGEST_LEN + 1]; /* manifest D */
    char info_digest[OCI_DIGEST_LEN + 1];
    struct oci_manifest *m; /* owned scratch */
    struct oci_pcrs ann;    /* from D's annotations */
};

static void on_response(const struct http_response *r, void *arg);

/*
 * The token cache: a fixed array searched linearly (OCI_MAX_CACHED_TOKENS
 * entries, one per repository watched), keyed by the lookup's base URL.
 */

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void
token_entry_clear(struct oci_token_entry *e)
{
    wipe_free(e->auth);
    memset(e, 0, sizeof(*e));
}

struct oci_token_cache *
oci_token_cache_new(unsigned ttl_s)
{
    struct oci_token_cache *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->ttl_ms = (uint64_t)(ttl_s != 0 ? ttl_s : OCI_TOKEN_TTL_S) * 1000u;
    return c;
}

void
oci_token_cache_free(struct oci_token_cache *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < OCI_MAX_CACHED_TOKENS; i++) {
        token_entry_clear(&c->e[i]);
    }
    free(c);
}

/* The fresh entry for base, or NULL (an expired one is cleared). */
static struct oci_token_entry *
token_find(struct oci_token_cache *c, const char *base)
{
    size_t i;

    for (i = 0; i < OCI_MAX_CACHED_TOKENS; i++) {
        struct oci_token_entry *e = &c->e[i];
        if (e->auth == NULL || strcmp(e->base, base) != 0) {
            continue;
        }
        if (mono_ms() - e->stored_ms >= c->ttl_ms) {
            token_entry_clear(e);
            return NULL;
        }
        return e;
    }
    return NULL;
}

static void
token_drop(struct oci_token_cache *c, const char *base)
{
    size_t i;

    for (i = 0; i < OCI_MAX_CACHED_TOKENS; i++) {
        if (c->e[i].auth != NULL && strcmp(c->e[i].base, base) == 0) {
            token_entry_clear(&c->e[i]);
        }
    }
}

/* Stores a copy of auth for base, in base's slot, a free one or the
 * oldest.  Allocation failure leaves the cache without it. */
static void
token_put(struct oci_token_cache *c, const char *base, const char *auth)
{
    struct oci_token_entry *e = NULL;
    size_t i, n = strlen(auth);

    token_drop(c, base);
    for (i = 0; i < OCI_MAX_CACHED_TOKENS; i++) {
        if (c->e[i].auth == NULL) {
            e = &c->e[i];
            break;
        }
        if (e == NULL || c->e[i].stored_ms < e->stored_ms) {
            e = &c->e[i];
        }
    }
    token_entry_clear(e);
    if (strlen(base) >= sizeof(e->base)) {
        return;
    }
    e->auth = malloc(n + 1);
    if (e->auth == NULL) {
        return;
    }
    memcpy(e->auth, auth, n + 1);
    memcpy(e->base, base, strlen(base) + 1);
    e->stored_ms = mono_ms();
}

static void
lookup_free(struct oci_lookup *l)
{
    if (l == NULL) {
        return;
    }
    wipe_free(l->auth);
    free(l->sig_tags);
    free(l->m);
    free(l->stmt);
    free(l);
}

static void
finish(struct oci_lookup *l, enum oci_result res, const struct oci_pcrs *p,
       const char *what, const char *detail)
{
    char why[512];

    snprintf(why, sizeof(why), "%s%s%s", what, detail != NULL ? ": " : "",
             detail != NULL ? detail : "");
    l->h = NULL;
    l->cb(res, res == OCI_OK ? p : NULL, why, l->arg);
    lookup_free(l);
}

/* Sends l->url for l->step; -1 when the transport refuses synchronously. */
static int
send_req(struct oci_lookup *l)
{
    struct http_request_opts o;
    struct http_header hd[2];
    size_t n = 0;

    if (l->accept != NULL) {
        hd[n].name = "Accept";
        hd[n].value = l->accept;
        n++;
    }
    if (l->auth != NULL && l->step != ST_TOKEN) {
        hd[n].name = "Authorization";
        hd[n].value = l->auth;
        n++;
    }
    memset(&o, 0, sizeof(o));
    o.method = HTTP_GET;
    o.url = l->url;
    o.headers = hd;
    o.nheaders = n;
    o.connect_timeout_ms = OCI_CONNECT_TIMEOUT_MS;
    o.timeout_ms = OCI_REQUEST_TIMEOUT_MS;
    o.max_response_bytes = l->cap;
    o.follow_redirects = l->follow;
    l->h = http_request(l->http, &o, on_response, l);
    return l->h != NULL ? 0 : -1;
}

static int
go(struct oci_lookup *l, enum step st, const char *accept, uint64_t cap,
   int follow, const char *path, const char *a)
{
    int n;

    l->step = st;
    l->accept = accept;
    l->cap = cap;
    l->follow = follow;
    n = snprintf(l->url, sizeof(l->url), "%s/%s%s", l->base, path, a);
    if (n < 0 || (size_t)n >= sizeof(l->url)) {
        return -1;
    }
    return send_req(l);
}

static int
get_manifest(struct oci_lookup *l, enum step st, const char *ref)
{
    return go(l, st, OCI_ACCEPT_MANIFEST, OCI_MAX_MANIFEST_BYTES, 0,
              "manifests/", ref);
}

static int
get_blob(struct oci_lookup *l, enum step st, const char *digest, uint64_t cap)
{
    return go(l, st, NULL, cap, 1, "blobs/", digest);
}

static int
get_tags(struct oci_lookup *l)
{
    char q[OCI_MAX_TAG + 32];

    if (l->last[0] == '\0') {
        snprintf(q, sizeof(q), "n=%d", OCI_TAG_PAGE);
    } else {
        snprintf(q, sizeof(q), "n=%d&last=%s", OCI_TAG_PAGE, l->last);
    }
    return go(l, ST_TAGS, NULL, OCI_MAX_TAGLIST_BYTES, 0, "tags/list?", q);
}

static void
sha256_hex(const char *buf, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t i;
    static const char hx[] = "0123456789abcdef";

    SHA256((const unsigned char *)buf, len, md);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

/* 0 if body hashes to digest ("sha256:<hex>"). */
static int
body_matches(const struct http_response *r, const char *digest)
{
    char hex[65];

    sha256_hex(r->body, r->body_len, hex);
    return strcmp(hex, digest + 7) == 0 ? 0 : -1;
}

/* Percent-encodes s into out for a query value. */
static int
qenc(const char *s, char *out, size_t cap)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            if (o + 1 >= cap) {
                return -1;
            }
            out[o++] = (char)c;
        } else {
            if (o + 3 >= cap) {
                return -1;
            }
            out[o++] = '%';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void
collect_sig_tag(const char *t, void *arg)
{
    struct oci_lookup *l = arg;
    size_t n = strlen(t);
    size_t i;
    void *p;

    /* sha256-<64 hex>.sig (.att) */
    if (n != 7 + 64 + 4 || strncmp(t, "sha256-", 7) != 0 ||
        strcmp(t + 71, l->tag_suffix) != 0 || l->n_sig >= OCI_MAX_SIG_TAGS) {
        return;
    }
    for (i = 0; i < l->n_sig; i++) { /* a page seen twice */
        if (strcmp(l->sig_tags[i], t) == 0) {
            return;
        }
    }
    if (l->n_sig == l->cap_sig) {
        size_t nc = l->cap_sig == 0 ? 16 : l->cap_sig * 2;
        p = realloc(l->sig_tags, nc * sizeof(*l->sig_tags));
        if (p == NULL) {
            return; /* the tag is skipped; the lookup goes on */
        }
        l->sig_tags = p;
        l->cap_sig = nc;
    }
    memcpy(l->sig_tags[l->n_sig++], t, n + 1);
}

/* Looks in l->m for the payload layer; 1 found (logIndex matches). */
static int
find_layer(struct oci_lookup *l)
{
    size_t i;
    char want[OCI_DIGEST_LEN + 1];

    snprintf(want, sizeof(want), "sha256:%s", l->data_hash);
    for (i = 0; i < l->m->n_layers; i++) {
        const struct oci_layer *ly = &l->m->layers[i];
        if (strcmp(ly->digest, want) != 0) {
            continue;
        }
        if (ly->has_log_index && ly->bundle_log_index == l->log_index &&
            ly->has_signature &&
            (!l->check_signature ||
             memcmp(ly->signature_sha256, l->signature_sha256, 32) == 0)) {
            return 1;
        }
        l->logindex_mismatch = 1;
    }
    return 0;
}

static int
next_sig(struct oci_lookup *l)
{
    if (l->sig_next >= l->n_sig) {
        return 1; /* none left */
    }
    return get_manifest(l, ST_SIG, l->sig_tags[l->sig_next++]) != 0 ? -1 : 0;
}

static void
sigs_exhausted(struct oci_lookup *l)
{
    if (l->att) {
        finish(l, OCI_NOT_YET, NULL,
               "no attestation manifest holds a statement with the entry's "
               "payload hash yet",
               NULL);
    } else if (l->logindex_mismatch) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the signature layer's cosign bundle or signature does not "
               "match the entry (logIndex, signature)",
               NULL);
    } else {
        finish(l, OCI_NOT_YET, NULL,
               "no signature manifest holds the payload layer yet", NULL);
    }
}

static void
advance_sig(struct oci_lookup *l)
{
    int rc = next_sig(l);

    if (rc == 1) {
        sigs_exhausted(l);
    } else if (rc != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

/* The layer is found in l->sig_tag's manifest: fetch the payload. */
static void
found_layer(struct oci_lookup *l)
{
    char d[OCI_DIGEST_LEN + 1];

    snprintf(d, sizeof(d), "sha256:%s", l->data_hash);
    if (get_blob(l, ST_PAYLOAD, d, OCI_MAX_PAYLOAD_BYTES) != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

static void
start_tags(struct oci_lookup *l)
{
    if (get_tags(l) != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

/* A 401: fetch a token once, then send the request again. */
static int
handle_401(struct oci_lookup *l, const struct http_response *r)
{
    struct oci_challenge ch;
    char svc[OCI_MAX_REF * 3 + 1];
    char scope[OCI_MAX_REF * 3 + 1];
    int n;

    if (l->auth_cached) { /* the cached token is refused: forget it */
        token_drop(l->tokens, l->base);
        wipe_free(l->auth);
        l->auth = NULL;
        l->auth_cached = 0;
    }
    if (l->token_fetched || r->www_authenticate == NULL ||
        oci_parse_challenge(r->www_authenticate, strlen(r->www_authenticate),
                            &ch) != 0) {
        return -1;
    }
    if (qenc(ch.service, svc, sizeof(svc)) != 0 ||
        qenc(ch.scope, scope, sizeof(scope)) != 0) {
        return -1;
    }
    l->token_fetched = 1;
    l->resume = l->step;
    l->saved_accept = l->accept;
    l->saved_cap = l->cap;
    l->saved_follow = l->follow;
    l->step = ST_TOKEN;
    l->accept = NULL;
    l->cap = OCI_MAX_TOKEN_BYTES;
    l->follow = 0;
    n = snprintf(l->url, sizeof(l->url), "%s%cservice=%s&scope=%s", ch.realm,
                 strchr(ch.realm, '?') != NULL ? '&' : '?', svc, scope);
    if (n < 0 || (size_t)n >= sizeof(l->url)) {
        return -1;
    }
    return 0;
}

static void on_step(struct oci_lookup *l, const struct http_response *r);

static void
on_response(const struct http_response *r, void *arg)
{
    struct oci_lookup *l = arg;

    l->h = NULL;
    if (r->result != HTTP_COMPLETE) {
        finish(l, OCI_ERROR, NULL, "registry request failed",
               r->error != NULL ? r->error : http_result_str(r->result));
        return;
    }
    if (l->step != ST_TOKEN && r->status == 401) {
        memcpy(l->saved_url, l->url, sizeof(l->saved_url));
        if (handle_401(l, r) != 0) {
            finish(l, OCI_ERROR, NULL, "registry refused access (401)", NULL);
            return;
        }
        if (send_req(l) != 0) {
            finish(l, OCI_ERROR, NULL, "cannot send the token request", NULL);
        }
        return;
    }
    on_step(l, r);
}

static void
on_token(struct oci_lookup *l, const struct http_response *r)
{
    char *tok;
    size_t cap = OCI_MAX_TOKEN_BYTES;

    if (r->status != 200) {
        finish(l, OCI_ERROR, NULL, "token endpoint answered",
               r->status == 401 || r->status == 403 ? "denied" : "an error");
        return;
    }
    tok = calloc(1, cap);
    l->auth = calloc(1, cap + 8); /* zeroed: lookup_free wipes strlen() */
    if (tok == NULL || l->auth == NULL ||
        oci_parse_token(r->body, r->body_len, tok, cap) != 0) {
        free(tok);
        finish(l, OCI_ERROR, NULL, "no token in the token response", NULL);
        return;
    }
    snprintf(l->auth, cap + 8, "Bearer %s", tok);
    OPENSSL_cleanse(tok, cap);
    free(tok);
    if (l->tokens != NULL) {
        token_put(l->tokens, l->base, l->auth);
    }
    /* resume the request that got the 401 */
    memcpy(l->url, l->saved_url, sizeof(l->url));
    l->step = l->resume;
    l->accept = l->saved_accept;
    l->cap = l->saved_cap;
    l->follow = l->saved_follow;
    if (send_req(l) != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

static int
ensure_m(struct oci_lookup *l)
{
    if (l->m == NULL) {
        l->m = malloc(sizeof(*l->m));
    }
    return l->m != NULL ? 0 : -1;
}

static const char *
status_why(int status)
{
    return status == 429                    ? "rate limited (429)"
           : status >= 500                  ? "a server error (5xx)"
           : status == 401 || status == 403 ? "access denied"
                                            : "an unexpected status";
}

static void
on_payload(struct oci_lookup *l, const struct http_response *r)
{
    char d[OCI_DIGEST_LEN + 1];
    char ref[OCI_MAX_REF];

    if (r->status != 200) {
        finish(l, OCI_ERROR, NULL, "payload blob", status_why(r->status));
        return;
    }
    snprintf(d, sizeof(d), "sha256:%s", l->data_hash);
    if (body_matches(r, d) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the payload blob does not hash to the entry's data hash", NULL);
        return;
    }
    if (oci_parse_simple_signing(r->body, r->body_len, l->artifact, ref) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the signed payload is not a cosign simple-signing payload",
               NULL);
        return;
    }
    if (strcasecmp(ref, l->reference) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the signed payload names another repository than the "
               "configured one",
               NULL);
        return;
    }
    /* the .sig tag names the artifact it signs: sha256-<hex>.sig */
    if (l->sig_tag[0] != '\0' &&
        strncmp(l->sig_tag + 7, l->artifact + 7, 64) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the signature tag and the signed payload name different "
               "artifacts",
               NULL);
        return;
    }
    if (get_manifest(l, ST_ARTIFACT, l->artifact) != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

static int
is_info_layer(const struct oci_layer *ly)
{
    size_t n = strlen(ly->title);

    if (strncmp(ly->media_type, OCI_EIF_MEDIA_PREFIX,
                strlen(OCI_EIF_MEDIA_PREFIX)) == 0 ||
        ly->size > OCI_MAX_INFO_BYTES) {
        return 0;
    }
    return (n > 5 && strcasecmp(ly->title + n - 5, ".json") == 0) ||
           strstr(ly->media_type, "json") != NULL;
}

static void
on_artifact(struct oci_lookup *l, const struct http_response *r)
{
    size_t i, found = 0;
    const struct oci_layer *info = NULL;

    if (r->status == 404) {
        /* named by the caller, D may not be pushed yet; named by a signed
         * payload, it should have been there before its signature */
        finish(l, l->by_manifest ? OCI_NOT_YET : OCI_ERROR, NULL,
               "the signed artifact manifest is not in the registry", NULL);
        return;
    }
    if (r->status != 200) {
        finish(l, OCI_ERROR, NULL, "artifact manifest", status_why(r->status));
        return;
    }
    if (body_matches(r, l->artifact) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the artifact manifest does not hash to its digest", NULL);
        return;
    }
    if (ensure_m(l) != 0 ||
        oci_parse_manifest(r->body, r->body_len, l->m) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the signed artifact manifest does not parse", NULL);
        return;
    }
    l->ann = l->m->pcrs;
    for (i = 0; i < l->m->n_layers; i++) {
        if (is_info_layer(&l->m->layers[i])) {
            info = &l->m->layers[i];
            found++;
        }
    }
    if (found != 1) {
        finish(l, OCI_UNTRUSTED, NULL,
               found == 0 ? "the artifact has no describe-eif info layer"
                          : "the artifact has several info layers",
               NULL);
        return;
    }
    memcpy(l->info_digest, info->digest, sizeof(l->info_digest));
    if (get_blob(l, ST_INFO, l->info_digest, OCI_MAX_INFO_BYTES) != 0) {
        finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
    }
}

static void
on_info(struct oci_lookup *l, const struct http_response *r)
{
    struct oci_pcrs p;
    size_t i;

    if (r->status != 200) {
        finish(l, OCI_ERROR, NULL, "info layer", status_why(r->status));
        return;
    }
    if (body_matches(r, l->info_digest) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the info layer does not hash to its digest", NULL);
        return;
    }
    if (oci_parse_describe_eif(r->body, r->body_len, &p) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "the info layer is not describe-eif JSON with PCRs", NULL);
        return;
    }
    if (l->ann.present != 0) {
        if (l->ann.present != p.present) {
            finish(l, OCI_UNTRUSTED, NULL,
                   "the manifest's PCR annotations and the info layer name "
                   "different PCRs",
                   NULL);
            return;
        }
        for (i = 0; i < 4; i++) {
            if ((p.present & (1u << i)) != 0 &&
                strcmp(p.hex[i], l->ann.hex[i]) != 0) {
                finish(l, OCI_UNTRUSTED, NULL,
                       "the manifest's PCR annotation disagrees with the "
                       "info layer",
                       pcr_names[i]);
                return;
            }
        }
    }
    memcpy(p.artifact_digest, l->artifact, sizeof(p.artifact_digest));
    finish(l, OCI_OK, &p, "PCRs found", NULL);
}

/*
 * The attestation path (att): the .att manifest in l->m is read layer by
 * layer, last first; each step fetches at most one envelope.
 */

/* l->m is done: the next .att manifest, or after the commit SHA's one the
 * tag list. */
static void
att_manifest_done(struct oci_lookup *l)
{
    if (l->att_shortcut) {
        l->att_shortcut = 0;
        l->sig_tag[0] = '\0';
        start_tags(l);
        return;
    }
    advance_sig(l);
}

/* Fetches the next DSSE layer of l->m (from the last) not ruled out by its
 * media type, its bundle's logIndex or its size. */
static void
next_att_layer(struct oci_lookup *l)
{
    while (l->layer_next > 0) {
        const struct oci_layer *ly = &l->m->layers[--l->layer_next];

        if (strcmp(ly->media_type, OCI_DSSE_MEDIA_TYPE) != 0 ||
            (ly->has_log_index && ly->bundle_log_index != l->log_index) ||
            ly->size > OCI_MAX_ENVELOPE_BYTES) {
            continue; /* not this entry's: never fetched */
        }
        if (l->att_blobs >= OCI_MAX_ATT_BLOBS) {
            finish(l, OCI_NOT_YET, NULL,
                   "no statement with the entry's payload hash among the "
                   "attestation layers read (limit reached)",
                   NULL);
            return;
        }
        l->att_blobs++;
        memcpy(l->envelope_digest, ly->digest, sizeof(l->envelope_digest));
        if (get_blob(l, ST_ENVELOPE, l->envelope_digest,
                     OCI_MAX_ENVELOPE_BYTES) != 0) {
            finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
        }
        return;
    }
    att_manifest_done(l);
}

/* An .att manifest (fetched by tag) answered. */
static void
on_att_manifest(struct oci_lookup *l, const struct http_response *r,
                const char *tag)
{
    if (r->status == 200 && ensure_m(l) == 0 &&
        oci_parse_manifest(r->body, r->body_len, l->m) == 0) {
        memmove(l->sig_tag, tag, strlen(tag) + 1);
        l->layer_next = l->m->n_layers;
        next_att_layer(l);
        return;
    }
    if (!l->att_shortcut && r->status != 200 && r->status != 404) {
        finish(l, OCI_ERROR, NULL, "attestation manifest",
               status_why(r->status));
        return;
    }
    att_manifest_done(l); /* absent or not a manifest: the next one */
}

static void
on_envelope(struct oci_lookup *l, const struct http_response *r)
{
    struct oci_pcrs p;
    char hex[65];
    size_t n = 0;

    if (r->status != 200) {
        finish(l, OCI_ERROR, NULL, "attestation layer", status_why(r->status));
        return;
    }
    if (body_matches(r, l->envelope_digest) != 0) {
        finish(l, OCI_UNTRUSTED, NULL,
               "an attestation layer does not hash to its digest", NULL);
        return;
    }
    free(l->stmt);
    l->stmt = malloc(r->body_len > 0 ? r->body_len : 1);
    if (l->stmt == NULL) {
        finish(l, OCI_ERROR, NULL, "out of memory", NULL);
        return;
    }
    if (oci_parse_envelope(r->body, r->body_len, l->stmt, r->body_len, &n) !=
        0) {
        next_att_layer(l); /* not an in-toto envelope: junk, look on */
        return;
    }
    sha256_hex((const char *)l->stmt, n, hex);
    if (strcmp(hex, l->data_hash) != 0) {
        next_att_layer(l); /* another statement */
        return;
    }
    memset(&p, 0, sizeof(p));
    snprintf(p.artifact_digest, sizeof(p.artifact_digest), "sha256:%.64s",
             l->sig_tag + 7);
    p.statement = l->stmt;
    p.statement_len = n;
    finish(l, OCI_OK, &p,
           "the entry's statement found in an attestation manifest", NULL);
}

static void
on_step(struct oci_lookup *l, const struct http_response *r)
{
    char hex[65];
    char tag[OCI_MAX_TAG + 1];
    char prev_last[OCI_MAX_TAG + 1];
    size_t ntags = 0;

    switch (l->step) {
    case ST_TOKEN:
        on_token(l, r);
        return;
    case ST_SHORTCUT_ARTIFACT:
        if (r->status != 200) {
            start_tags(l); /* no such tag (yet): the long way */
            return;
        }
        sha256_hex(r->body, r->body_len, hex);
        snprintf(tag, sizeof(tag), "sha256-%s%s", hex, l->tag_suffix);
        memcpy(l->sig_tag, tag, sizeof(l->sig_tag));
        if (get_manifest(l, ST_SHORTCUT_SIG, tag) != 0) {
            finish(l, OCI_ERROR, NULL, "cannot send a request", NULL);
        }
        return;
    case ST_SHORTCUT_SIG:
        if (l->att) {
            l->att_shortcut = 1;
            on_att_manifest(l, r, l->sig_tag);
            return;
        }
        if (r->status == 200 && ensure_m(l) == 0 &&
            oci_parse_manifest(r->body, r->body_len, l->m) == 0 &&
            find_layer(l)) {
            found_layer(l);
            return;
        }
        l->sig_tag[0] = '\0';
        start_tags(l);
        return;
    case ST_TAGS:
        if (r->status == 404) {
            finish(l, OCI_NOT_YET, NULL, "the repository has no tags yet",
                   NULL);
            return;
        }
        if (r->status != 200) {
            finish(l, OCI_ERROR, NULL, "tag list", status_why(r->status));
            return;
        }
        memcpy(prev_last, l->last, sizeof(prev_last));
        if (oci_parse_tag_list(r->body, r->body_len, collect_sig_tag, l, &ntags,
                               l->last) != 0) {
            finish(l, OCI_ERROR, NULL, "the tag list does not parse", NULL);
            return;
        }
        l->pages++;
        /* Another page only when this one was full and moved forward: a
         * registry that ignores n= answers more tags than asked (all of
         * them), one that ignores last= answers the same page again. */
        if (ntags == OCI_TAG_PAGE && strcmp(l->last, prev_last) != 0 &&
            l->pages < OCI_MAX_TAG_PAGES) {
            start_tags(l);
            return;
        }
        l->sig_next = 0;
        advance_sig(l);
        return;
    case ST_SIG:
        if (l->att) {
            on_att_manifest(l, r, l->sig_tags[l->sig_next - 1]);
            return;
        }
        if (r->status == 200 && ensure_m(l) == 0 &&
            oci_parse_manifest(r->body, r->body_len, l->m) == 0 &&
            find_layer(l)) {
            memcpy(l->sig_tag, l->sig_tags[l->sig_next - 1],
                   sizeof(l->sig_tag));
            found_layer(l);
            return;
        }
        if (r->status != 200 && r->status != 404) {
            finish(l, OCI_ERROR, NULL, "signature manifest",
                   status_why(r->status));
            return;
        }
        advance_sig(l);
        return;
    case ST_PAYLOAD:
        on_payload(l, r);
        return;
    case ST_ARTIFACT:
        on_artifact(l, r);
        return;
    case ST_INFO:
        on_info(l, r);
        return;
    case ST_ENVELOPE:
        on_envelope(l, r);
        return;
    }
}

/* A repository name: [a-z0-9] components joined by . _ __ - and /. */
static int
repo_check(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= OCI_MAX_REF || s[0] == '/' || s[n - 1] == '/') {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
            strchr("._-/", s[i]) == NULL) {
            return -1;
        }
        if (s[i] == '/' && s[i + 1] == '/') {
            return -1;
        }
    }
    return 0;
}

static int
host_check(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= OCI_MAX_REF) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && strchr(".-:[]", s[i]) == NULL) {
            return -1;
        }
    }
    return 0;
}

struct oci_lookup *
oci_lookup_start(struct http_client *http, const struct oci_lookup_req *req,
                 oci_lookup_cb cb, void *arg)
{
    struct oci_lookup *l = NULL;
    char repo[OCI_MAX_REF];
    char digest[OCI_DIGEST_LEN + 1] = "";
    const char *hash;
    size_t i, n;

    if (http == NULL || req == NULL || cb == NULL ||
        req->registry_host == NULL || req->repository == NULL ||
        host_check(req->registry_host) != 0) {
        return NULL;
    }
    /* exactly one starting point: the payload hash, manifest D or the
     * attestation's payload hash */
    if ((req->data_hash_hex != NULL) + (req->manifest_digest != NULL) +
            (req->att_payload_hash != NULL) !=
        1) {
        return NULL;
    }
    hash =
        req->data_hash_hex != NULL ? req->data_hash_hex : req->att_payload_hash;
    if (hash != NULL && !is_hex_n(hash, 64)) {
        return NULL;
    }
    if (req->manifest_digest != NULL) {
        if (strncmp(req->manifest_digest, "sha256:", 7) != 0 ||
            !is_hex_n(req->manifest_digest + 7, 64)) {
            return NULL;
        }
        for (i = 0; i <= OCI_DIGEST_LEN; i++) {
            digest[i] = (char)tolower((unsigned char)req->manifest_digest[i]);
        }
    }
    n = strlen(req->repository);
    if (n >= sizeof(repo)) {
        return NULL;
    }
    for (i = 0; i <= n; i++) {
        repo[i] = (char)tolower((unsigned char)req->repository[i]);
    }
    if (repo_check(repo) != 0) {
        return NULL;
    }
    if (req->commit_sha != NULL &&
        tag_check(req->commit_sha, strlen(req->commit_sha)) != 0) {
        return NULL;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return NULL;
    }
    l->http = http;
    l->cb = cb;
    l->arg = arg;
    l->log_index = req->log_index;
    if (snprintf(l->base, sizeof(l->base), "%s://%s/v2/%s",
                 req->plain_http ? "http" : "https", req->registry_host,
                 repo) >= (int)sizeof(l->base)) {
        goto fail;
    }
    snprintf(l->reference, sizeof(l->reference), "%s/%s", req->registry_host,
             repo);
    for (i = 0; hash != NULL && i < 64; i++) {
        l->data_hash[i] = (char)tolower((unsigned char)hash[i]);
    }
    l->att = req->att_payload_hash != NULL;
    l->tag_suffix = l->att ? ".att" : ".sig";
    if (req->credentials != NULL && req->credentials[0] != '\0') {
        n = strlen(req->credentials);
        for (i = 0; i < n; i++) {
            if (!isgraph((unsigned char)req->credentials[i])) {
                goto fail;
            }
        }
        l->auth = malloc(n + 8);
        if (l->auth == NULL) {
            goto fail;
        }
        snprintf(l->auth, n + 8, "Bearer %s", req->credentials);
        l->token_fetched = 1; /* configured: no anonymous token */
    } else if (req->tokens != NULL) {
        struct oci_token_entry *e = token_find(req->tokens, l->base);
        l->tokens = req->tokens;
        if (e != NULL) {
            n = strlen(e->auth);
            l->auth = malloc(n + 1); /* NULL: the lookup fetches one */
            if (l->auth != NULL) {
                memcpy(l->auth, e->auth, n + 1);
                l->auth_cached = 1;
            }
        }
    }
    if (req->signature_b64 != NULL) {
        if (b64_hash(req->signature_b64, strlen(req->signature_b64),
                     l->signature_sha256) != 0) {
            goto fail;
        }
        l->check_signature = 1;
    }
    if (req->manifest_digest != NULL) {
        /* steps 1 and 4 only: manifest D, its PCRs (on_artifact) */
        l->by_manifest = 1;
        memcpy(l->artifact, digest, sizeof(l->artifact));
        if (get_manifest(l, ST_ARTIFACT, l->artifact) != 0) {
            goto fail;
        }
    } else if (req->commit_sha != NULL && req->commit_sha[0] != '\0') {
        snprintf(l->commit_sha, sizeof(l->commit_sha), "%s", req->commit_sha);
        if (get_manifest(l, ST_SHORTCUT_ARTIFACT, l->commit_sha) != 0) {
            goto fail;
        }
    } else if (get_tags(l) != 0) {
        goto fail;
    }
    return l;
fail:
    lookup_free(l);
    return NULL;
}

void
oci_lookup_cancel(struct oci_lookup *l)
{
    if (l == NULL) {
        return;
    }
    http_cancel(l->h);
    lookup_free(l);
}
