/*
 * bundle.h: Sigstore bundles (JSON, media types v0.1, v0.2 and v0.3),
 * decoded into the same struct entry as a Rekor v1 API entry, plus the
 * certificates of the bundle's verification material.
 *
 * Accepted media types:
 *   application/vnd.dev.sigstore.bundle+json;version=0.1
 *   application/vnd.dev.sigstore.bundle+json;version=0.2
 *   application/vnd.dev.sigstore.bundle+json;version=0.3
 *   application/vnd.dev.sigstore.bundle.v0.3+json
 *
 * What is read: verificationMaterial.{x509CertificateChain.certificates[]
 * (v0.1, v0.2), certificate (v0.3), publicKey (a hint: no identity)}, and
 * tlogEntries[0]: logIndex, logId.keyId, kindVersion, integratedTime,
 * inclusionPromise.signedEntryTimestamp, inclusionProof (base64 hashes,
 * checkpoint.envelope) and canonicalizedBody.  Rekor v2 entries (no
 * integratedTime, no SET, Ed25519 checkpoints) decode the same way.
 * Integers may be JSON numbers or decimal strings (protobuf JSON int64:
 * 0 to INT64_MAX; anything else is malformed).  The
 * artifact signature (messageSignature, dsseEnvelope) is not read.
 *
 * Invariants: the same as entry.h (pure parse, named limits checked before
 * copies, error messages without input bytes).  The entry has no uuid; its
 * leaf hash is SHA-256(0x00 || canonicalizedBody).
 *
 * Ownership: bundle_parse / bundle_from_json return new (free with
 * bundle_free; NULL is a no-op); everything inside is owned by the bundle.
 */
#ifndef TLOGWATCH_MONITOR_BUNDLE_H
#define TLOGWATCH_MONITOR_BUNDLE_H

#include <stddef.h>

#include <jansson.h>

#include "monitor/identity/entry.h"

#define BUNDLE_MEDIA_TYPE_PREFIX "application/vnd.dev.sigstore.bundle"
#define BUNDLE_MEDIA_TYPE_MAX 96

enum bundle_version {
    BUNDLE_V0_1 = 1,
    BUNDLE_V0_2,
    BUNDLE_V0_3,
};

struct bundle {
    enum bundle_version version;
    char media_type[BUNDLE_MEDIA_TYPE_MAX];
    /* verificationMaterial certificates (DER), leaf first; at most
     * ENTRY_MAX_CERTS. */
    size_t ncerts;
    struct entry_blob certs[ENTRY_MAX_CERTS];
    int has_public_key;        /* verificationMaterial.publicKey instead */
    size_t ntlog_entries;      /* tlogEntries present; [0] is decoded */
    char kind[ENTRY_KIND_MAX]; /* tlogEntries[0].kindVersion.kind */
    char kind_version[ENTRY_VERSION_MAX]; /* kindVersion.version */
    struct entry *entry;                  /* tlogEntries[0], owned */
};

/*
 * Decode a parsed bundle document (borrowed).  Returns new, or NULL with a
 * message naming the field in err (errlen > 0).
 */
struct bundle *bundle_from_json(const json_t *doc, char *err, size_t errlen);
/* The same from bytes (at most ENTRY_MAX_JSON). */
struct bundle *bundle_parse(const char *json, size_t len, char *err,
                            size_t errlen);
/* NULL is a no-op. */
void bundle_free(struct bundle *b);

/*
 * The bundle's signing certificate (certs[0]) is one the log committed to:
 * it is among the certificates of the decoded body (entry_body_decode of
 * b->entry->body).  Without this, a bundle could carry any certificate
 * next to a logged entry signed by another.  Skipped when the bundle has
 * no certificate or body is NULL or holds none.
 */
void bundle_check_certificate(const struct bundle *b,
                              const struct entry_body *body,
                              struct entry_check *out);

/* 1 when doc looks like a bundle (a mediaType string with the prefix). */
int bundle_is_bundle(const json_t *doc);

#endif
