/*
 * bundle.c: Sigstore bundle decoding into struct entry (see bundle.h).
 *
 * Invariants kept here: only tlogEntries[0] is decoded, with the limits of
 * entry.h; a field of the wrong JSON type is an error naming it; numbers
 * are accepted as JSON integers or canonical decimal strings only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"
#include "monitor/identity/bundle.h"
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

static const struct {
    const char *media_type;
    enum bundle_version version;
} bundle_media_types[] = {
    {"application/vnd.dev.sigstore.bundle+json;version=0.1", BUNDLE_V0_1},
    {"application/vnd.dev.sigstore.bundle+json;version=0.2", BUNDLE_V0_2},
    {"application/vnd.dev.sigstore.bundle+json;version=0.3", BUNDLE_V0_3},
    {"application/vnd.dev.sigstore.bundle.v0.3+json", BUNDLE_V0_3},
};

int
bundle_is_bundle(const json_t *doc)
{
    const json_t *mt = json_object_get(doc, "mediaType");

    return json_is_string(mt) &&
           strncmp(json_string_value(mt), BUNDLE_MEDIA_TYPE_PREFIX,
                   strlen(BUNDLE_MEDIA_TYPE_PREFIX)) == 0;
}

void
bundle_free(struct bundle *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < b->ncerts; i++) {
        free(b->certs[i].der);
    }
    entry_free(b->entry);
    free(b);
}

/*
 * A protobuf int64 that must not be negative: a JSON integer >= 0 or a
 * canonical decimal string, at most INT64_MAX.
 */
static int
get_u64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            return -1;
        }
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) &&
        entry_parse_u64(json_string_value(v), json_string_length(v), out) ==
            0 &&
        *out <= (uint64_t)INT64_MAX) {
        return 0;
    }
    return -1;
}

static int
get_str(const json_t *v, const char **s, size_t *len)
{
    if (!json_is_string(v)) {
        return -1;
    }
    *s = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

static int
add_cert(struct bundle *b, const json_t *c, const char *field, char *err,
         size_t errlen)
{
    const char *s;
    size_t len;

    if (b->ncerts == ENTRY_MAX_CERTS) {
        seterr(err, errlen, "%s: more than %d certificates", field,
               ENTRY_MAX_CERTS);
        return -1;
    }
    if (!json_is_object(c) ||
        get_str(json_object_get(c, "rawBytes"), &s, &len) != 0 ||
        entry_b64_alloc(s, len, ENTRY_MAX_CERT_DER, &b->certs[b->ncerts].der,
                        &b->certs[b->ncerts].len) != 0 ||
        b->certs[b->ncerts].len == 0) {
        free(b->certs[b->ncerts].der);
        b->certs[b->ncerts].der = NULL;
        seterr(err, errlen, "%s.rawBytes: not base64 of 1 to %d bytes", field,
               ENTRY_MAX_CERT_DER);
        return -1;
    }
    b->ncerts++;
    return 0;
}

static int
parse_material(struct bundle *b, const json_t *vm, char *err, size_t errlen)
{
    const json_t *chain, *cert, *certs;
    size_t i;

    chain = json_object_get(vm, "x509CertificateChain");
    cert = json_object_get(vm, "certificate");
    if (chain != NULL && !json_is_null(chain)) {
        certs = json_object_get(chain, "certificates");
        if (!json_is_array(certs)) {
            seterr(err, errlen,
                   "verificationMaterial.x509CertificateChain.certificates: "
                   "missing or not an array");
            return -1;
        }
        for (i = 0; i < json_array_size(certs); i++) {
            if (add_cert(b, json_array_get(certs, i),
                         "verificationMaterial.x509CertificateChain."
                         "certificates[]",
                         err, errlen) != 0) {
                return -1;
            }
        }
    }
    if (cert != NULL && !json_is_null(cert) &&
        add_cert(b, cert, "verificationMaterial.certificate", err, errlen) !=
            0) {
        return -1;
    }
    if (json_object_get(vm, "publicKey") != NULL) {
        b->has_public_key = 1;
    }
    return 0;
}

static int
parse_proof(struct entry *e, const json_t *ip, char *err, size_t errlen)
{
    struct entry_proof *p = &e->proof;
    const json_t *hashes, *cp;
    const char *s;
    size_t len, i;

    if (!json_is_object(ip)) {
        seterr(err, errlen, "tlogEntries[0].inclusionProof: not an object");
        return -1;
    }
    if (get_u64(json_object_get(ip, "logIndex"), &p->index) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].inclusionProof.logIndex: missing "
               "or not an integer >= 0");
        return -1;
    }
    if (get_u64(json_object_get(ip, "treeSize"), &p->size) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].inclusionProof.treeSize: missing "
               "or not an integer >= 0");
        return -1;
    }
    if (get_str(json_object_get(ip, "rootHash"), &s, &len) != 0 ||
        entry_parse_hash_b64(s, len, p->root) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].inclusionProof.rootHash: missing "
               "or not a base64 32-byte hash");
        return -1;
    }
    hashes = json_object_get(ip, "hashes");
    if (hashes != NULL && !json_is_null(hashes)) {
        if (!json_is_array(hashes) ||
            json_array_size(hashes) > ENTRY_MAX_PROOF) {
            seterr(err, errlen,
                   "tlogEntries[0].inclusionProof.hashes: not an array of at "
                   "most %d hashes",
                   ENTRY_MAX_PROOF);
            return -1;
        }
        for (i = 0; i < json_array_size(hashes); i++) {
            if (get_str(json_array_get(hashes, i), &s, &len) != 0 ||
                entry_parse_hash_b64(s, len, p->hashes[i]) != 0) {
                seterr(err, errlen,
                       "tlogEntries[0].inclusionProof.hashes[%zu]: not a "
                       "base64 32-byte hash",
                       i);
                return -1;
            }
        }
        p->nhashes = json_array_size(hashes);
    }
    cp = json_object_get(ip, "checkpoint");
    if (cp != NULL && !json_is_null(cp)) {
        const json_t *env = json_object_get(cp, "envelope");
        if (!json_is_object(cp) || get_str(env, &s, &len) != 0 ||
            entry_proof_set_checkpoint(p, s, len) != 0) {
            seterr(err, errlen,
                   "tlogEntries[0].inclusionProof.checkpoint.envelope: not a "
                   "string of at most %d bytes",
                   ENTRY_MAX_CHECKPOINT);
            return -1;
        }
        if (len == 0) {
            /* Some producers write an empty envelope for "none". */
            free(p->checkpoint);
            p->checkpoint = NULL;
            p->checkpoint_len = 0;
        }
    }
    p->has_tree = 1;
    p->has_index = 1;
    e->has_proof = 1;
    return 0;
}

static int
copy_short(const json_t *v, char *out, size_t outcap)
{
    const char *s;
    size_t len, i;

    if (get_str(v, &s, &len) != 0 || len == 0 || len >= outcap) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f) {
            return -1;
        }
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

static int
parse_tlog_entry(struct bundle *b, const json_t *te, char *err, size_t errlen)
{
    struct entry *e;
    const json_t *v, *kv;
    const char *s;
    size_t len;
    uint64_t t;

    if (!json_is_object(te)) {
        seterr(err, errlen, "tlogEntries[0]: not an object");
        return -1;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    b->entry = e;
    if (get_u64(json_object_get(te, "logIndex"), &e->log_index) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].logIndex: missing or not an integer >= 0");
        return -1;
    }
    v = json_object_get(te, "logId");
    if (!json_is_object(v) ||
        get_str(json_object_get(v, "keyId"), &s, &len) != 0 ||
        entry_parse_hash_b64(s, len, e->log_id) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].logId.keyId: missing or not a "
               "base64 32-byte id");
        return -1;
    }
    e->has_log_id = 1;
    kv = json_object_get(te, "kindVersion");
    if (!json_is_object(kv) ||
        copy_short(json_object_get(kv, "kind"), b->kind, sizeof(b->kind)) !=
            0 ||
        copy_short(json_object_get(kv, "version"), b->kind_version,
                   sizeof(b->kind_version)) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].kindVersion: missing kind or version");
        return -1;
    }
    v = json_object_get(te, "integratedTime");
    if (v != NULL && !json_is_null(v)) {
        if (get_u64(v, &t) != 0) {
            seterr(err, errlen,
                   "tlogEntries[0].integratedTime: not an integer >= 0");
            return -1;
        }
        e->integrated_time = (int64_t)t;
        e->has_integrated_time = 1;
    }
    v = json_object_get(te, "inclusionPromise");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v) ||
            get_str(json_object_get(v, "signedEntryTimestamp"), &s, &len) !=
                0 ||
            entry_b64_alloc(s, len, ENTRY_MAX_SET, &e->set, &e->set_len) != 0 ||
            e->set_len == 0) {
            seterr(err, errlen,
                   "tlogEntries[0].inclusionPromise.signedEntryTimestamp: "
                   "not base64 of 1 to %d bytes",
                   ENTRY_MAX_SET);
            return -1;
        }
    }
    v = json_object_get(te, "inclusionProof");
    if (v != NULL && !json_is_null(v) && parse_proof(e, v, err, errlen) != 0) {
        return -1;
    }
    if (get_str(json_object_get(te, "canonicalizedBody"), &s, &len) != 0 ||
        entry_b64_alloc(s, len, ENTRY_MAX_BODY, &e->body, &e->body_len) != 0) {
        seterr(err, errlen,
               "tlogEntries[0].canonicalizedBody: missing or not base64 of "
               "at most %d bytes",
               ENTRY_MAX_BODY);
        return -1;
    }
    entry_compute_leaf(e);
    return 0;
}

struct bundle *
bundle_from_json(const json_t *doc, char *err, size_t errlen)
{
    struct bundle *b;
    const json_t *mt, *vm, *tl;
    size_t i;

    if (!json_is_object(doc)) {
        seterr(err, errlen, "bundle: not a JSON object");
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    mt = json_object_get(doc, "mediaType");
    if (!json_is_string(mt)) {
        seterr(err, errlen, "mediaType: missing or not a string");
        goto fail;
    }
    for (i = 0; i < sizeof(bundle_media_types) / sizeof(bundle_media_types[0]);
         i++) {
        if (strcmp(json_string_value(mt), bundle_media_types[i].media_type) ==
            0) {
            b->version = bundle_media_types[i].version;
            snprintf(b->media_type, sizeof(b->media_type), "%s",
                     bundle_media_types[i].media_type);
            break;
        }
    }
    if (b->version == 0) {
        seterr(err, errlen, "mediaType: not a supported bundle version");
        goto fail;
    }
    vm = json_object_get(doc, "verificationMaterial");
    if (!json_is_object(vm)) {
        seterr(err, errlen, "verificationMaterial: missing or not an object");
        goto fail;
    }
    if (parse_material(b, vm, err, errlen) != 0) {
        goto fail;
    }
    tl = json_object_get(vm, "tlogEntries");
    if (!json_is_array(tl) || json_array_size(tl) == 0) {
        seterr(err, errlen,
               "verificationMaterial.tlogEntries: missing or "
               "empty");
        goto fail;
    }
    b->ntlog_entries = json_array_size(tl);
    if (parse_tlog_entry(b, json_array_get(tl, 0), err, errlen) != 0) {
        goto fail;
    }
    return b;
fail:
    bundle_free(b);
    return NULL;
}

void
bundle_check_certificate(const struct bundle *b, const struct entry_body *body,
                         struct entry_check *out)
{
    size_t i;

    out->reason[0] = '\0';
    if (b->ncerts == 0) {
        out->verdict = ENTRY_CHECK_SKIPPED;
        snprintf(out->reason, sizeof(out->reason),
                 "the bundle carries no certificate");
        return;
    }
    if (body == NULL || body->ncerts == 0) {
        out->verdict = ENTRY_CHECK_SKIPPED;
        snprintf(out->reason, sizeof(out->reason),
                 "the logged body holds no certificate to compare");
        return;
    }
    for (i = 0; i < body->ncerts; i++) {
        if (body->certs[i].len == b->certs[0].len &&
            memcmp(body->certs[i].der, b->certs[0].der, b->certs[0].len) == 0) {
            out->verdict = ENTRY_CHECK_OK;
            return;
        }
    }
    out->verdict = ENTRY_CHECK_FAILED;
    snprintf(out->reason, sizeof(out->reason),
             "the bundle's certificate is not the one in the logged body");
}

struct bundle *
bundle_parse(const char *json, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc;
    struct bundle *b;

    if (len > ENTRY_MAX_JSON) {
        seterr(err, errlen, "bundle larger than %d bytes", ENTRY_MAX_JSON);
        return NULL;
    }
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        seterr(err, errlen, "not valid JSON (line %d, column %d)", jerr.line,
               jerr.column);
        return NULL;
    }
    b = bundle_from_json(doc, err, errlen);
    json_decref(doc);
    return b;
}
