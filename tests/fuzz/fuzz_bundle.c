/*
 * fuzz_bundle.c: libFuzzer target for the Sigstore bundle parser
 * (monitor/identity/bundle.h) and, through it, the body decoder and the checks.
 *
 * A parsed bundle's tlog entry runs every check without a key and, when
 * $TLOGWATCH_TESTDATA is set (ctest), with the production Rekor key, so
 * that mutated proofs, checkpoints and SETs reach the verification code.
 *
 * Invariants checked (abort on breach): limits hold (certificates, body,
 * proof hashes, checkpoint); the entry has no uuid; the leaf hash is
 * SHA-256(0x00 || body); the media type is one of the supported ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "merkle/merkle.h"
#include "monitor/identity/bundle.h"
#include "monitor/identity/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *
fuzz_key(void)
{
    /* libFuzzer harness state: loaded once, never freed. */
    static EVP_PKEY *key;
    static int tried;
    const char *td;
    char path[4096];
    FILE *f;

    if (tried) {
        return key;
    }
    tried = 1;
    td = getenv("TLOGWATCH_TESTDATA");
    if (td == NULL ||
        snprintf(path, sizeof(path), "%s/rekor/rekor.sigstore.dev.pub", td) >=
            (int)sizeof(path)) {
        return NULL;
    }
    f = fopen(path, "r");
    if (f != NULL) {
        key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    return key;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ENTRY_ERR_LEN];
    struct bundle *b;
    struct entry *e;
    struct entry_body *body;
    struct entry_check c;
    struct entry_log_key k;
    uint8_t leaf[MERKLE_HASH_LEN];
    size_t i;

    b = bundle_parse((const char *)data, size, err, sizeof(err));
    if (b == NULL) {
        if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    e = b->entry;
    if (e == NULL || b->ncerts > ENTRY_MAX_CERTS ||
        strncmp(b->media_type, BUNDLE_MEDIA_TYPE_PREFIX,
                strlen(BUNDLE_MEDIA_TYPE_PREFIX)) != 0 ||
        b->version < BUNDLE_V0_1 || b->version > BUNDLE_V0_3 ||
        e->uuid[0] != '\0' || e->has_uuid_leaf ||
        e->body_len > ENTRY_MAX_BODY || e->proof.nhashes > ENTRY_MAX_PROOF ||
        e->set_len > ENTRY_MAX_SET) {
        abort();
    }
    for (i = 0; i < b->ncerts; i++) {
        if (b->certs[i].len == 0 || b->certs[i].len > ENTRY_MAX_CERT_DER) {
            abort();
        }
    }
    merkle_leaf_hash(e->body, e->body_len, leaf);
    if (!merkle_hash_equal(leaf, e->leaf_hash)) {
        abort();
    }
    entry_check_uuid(e, &c);
    if (c.verdict != ENTRY_CHECK_SKIPPED) {
        abort();
    }
    entry_check_inclusion(e, &c);
    k.pkey = fuzz_key();
    k.name = NULL;
    entry_check_checkpoint(e, k.pkey ? &k : NULL, &c);
    entry_check_set(e, k.pkey ? &k : NULL, &c);
    body = entry_body_decode(e->body, e->body_len, err, sizeof(err));
    if (body != NULL && body->ncerts > ENTRY_MAX_CERTS) {
        abort();
    }
    entry_body_free(body);
    bundle_free(b);
    return 0;
}
