/*
 * fuzz_entry.c: libFuzzer target for the Rekor v1 entry parser and the
 * body decoder (monitor/identity/entry.h).
 *
 * Each input is used two ways: as a whole API entry for entry_parse, and
 * as body bytes for entry_body_decode.  A parsed entry's body is decoded
 * too, and every check runs on it: without a key, and with the production
 * Rekor key when $TLOGWATCH_TESTDATA names the test data (under ctest), so
 * that mutated SETs and checkpoints reach the signature code.
 *
 * Invariants checked (abort on breach): limits hold (body, proof hashes,
 * certificates); the leaf hash is SHA-256(0x00 || body); a uuid with a
 * leaf hash that differs never passes the uuid check; each check's verdict
 * is one of the three and says why unless ok.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "merkle/merkle.h"
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

static void
check_verdict(const struct entry_check *c)
{
    if (c->verdict != ENTRY_CHECK_OK && c->verdict != ENTRY_CHECK_FAILED &&
        c->verdict != ENTRY_CHECK_SKIPPED) {
        abort();
    }
    if (memchr(c->reason, '\0', sizeof(c->reason)) == NULL) {
        abort();
    }
    if (c->verdict != ENTRY_CHECK_OK && c->reason[0] == '\0') {
        abort();
    }
}

static void
fuzz_body(const uint8_t *body, size_t len)
{
    char err[ENTRY_ERR_LEN];
    struct entry_body *b = entry_body_decode(body, len, err, sizeof(err));
    size_t i;

    if (b == NULL) {
        if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
            abort();
        }
        return;
    }
    if (b->ncerts > ENTRY_MAX_CERTS) {
        abort();
    }
    for (i = 0; i < b->ncerts; i++) {
        if (b->certs[i].der == NULL || b->certs[i].len == 0 ||
            b->certs[i].len > ENTRY_MAX_CERT_DER) {
            abort();
        }
    }
    entry_body_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ENTRY_ERR_LEN];
    struct entry *e;
    struct entry_check c;
    struct entry_log_key k;
    uint8_t leaf[MERKLE_HASH_LEN];

    fuzz_body(data, size);
    e = entry_parse((const char *)data, size, err, sizeof(err));
    if (e == NULL) {
        if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    if (e->body_len > ENTRY_MAX_BODY || e->proof.nhashes > ENTRY_MAX_PROOF ||
        e->set_len > ENTRY_MAX_SET ||
        (e->proof.checkpoint != NULL &&
         e->proof.checkpoint_len > ENTRY_MAX_CHECKPOINT)) {
        abort();
    }
    merkle_leaf_hash(e->body, e->body_len, leaf);
    if (!merkle_hash_equal(leaf, e->leaf_hash)) {
        abort();
    }
    entry_check_uuid(e, &c);
    check_verdict(&c);
    if (c.verdict == ENTRY_CHECK_OK &&
        !merkle_hash_equal(e->uuid_leaf, e->leaf_hash)) {
        abort();
    }
    entry_check_inclusion(e, &c);
    check_verdict(&c);
    entry_check_checkpoint(e, NULL, &c);
    check_verdict(&c);
    entry_check_set(e, NULL, &c);
    check_verdict(&c);
    k.pkey = fuzz_key();
    k.name = NULL;
    if (k.pkey != NULL) {
        entry_check_checkpoint(e, &k, &c);
        check_verdict(&c);
        entry_check_set(e, &k, &c);
        check_verdict(&c);
    }
    fuzz_body(e->body, e->body_len);
    entry_free(e);
    return 0;
}
