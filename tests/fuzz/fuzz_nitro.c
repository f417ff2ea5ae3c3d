/*
 * fuzz_nitro.c: libFuzzer target for monitor/identity/nitro.h (AWS Nitro
 * attestation documents: COSE_Sign1 and its payload).
 *
 * The input is what a user hands to `tlogwatch attestation verify`: raw
 * CBOR or base64 text, through nitro_decode_input, then nitro_parse; a
 * document that parses is verified (signature, chain to the shipped AWS
 * root at its timestamp) like the command does.  Seeds: the replay run
 * (tests/CMakeLists.txt) feeds every file of ../shared/testdata, among
 * them the two real documents (nitro/attestation-debug-*.cose.b64, base64
 * text, decoded here); tests/fuzz/corpus/fuzz_nitro holds raw CBOR
 * documents minted by tests/tools/nitro_mint (see its README.md).  For a
 * libFuzzer run, add the real ones as raw CBOR:
 *   base64 -d ../shared/testdata/nitro/attestation-debug-valid.cose.b64 \
 *       > corpus-dir/real-valid.cbor
 * Checked on every input: a parse failure has a printable reason; a
 * parsed document keeps the format's limits (module_id printable ASCII,
 * 1..32 PCRs, 1..NITRO_MAX_CABUNDLE certificates, sizes in range, every
 * pointer inside the input).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "monitor/identity/nitro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable(const char *why)
{
    size_t i, n = strnlen(why, NITRO_WHY_MAX);

    if (n == 0 || n == NITRO_WHY_MAX) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] > 0x7e) {
            abort();
        }
    }
}

static void
inside(const struct nitro_bytes *b, const uint8_t *buf, size_t len, size_t min,
       size_t max)
{
    if (b->len < min || b->len > max ||
        (b->len > 0 && (b->p < buf || b->p + b->len > buf + len))) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static X509 *root;
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX];
    uint8_t *buf;
    long n;
    size_t i;

    if (root == NULL) {
        root = nitro_root_default();
        if (root == NULL) {
            abort();
        }
    }
    buf = malloc(NITRO_MAX_BYTES);
    if (buf == NULL) {
        abort();
    }
    n = nitro_decode_input(data, size, buf, NITRO_MAX_BYTES, why);
    if (n < 0) {
        printable(why);
        free(buf);
        return 0;
    }
    if (nitro_parse(buf, (size_t)n, &doc, why) != 0) {
        printable(why);
        free(buf);
        return 0;
    }
    i = strnlen(doc.module_id, sizeof(doc.module_id));
    if (i == 0 || i > NITRO_MODULE_ID_MAX || doc.pcr_present == 0 ||
        doc.ncabundle == 0 || doc.ncabundle > NITRO_MAX_CABUNDLE ||
        doc.timestamp_ms == 0 || doc.timestamp_ms > NITRO_MAX_TIMESTAMP_MS) {
        abort();
    }
    while (i-- > 0) {
        if (doc.module_id[i] < 0x20 || doc.module_id[i] > 0x7e) {
            abort();
        }
    }
    inside(&doc.protected_hdr, buf, (size_t)n, 1, NITRO_MAX_PROTECTED);
    inside(&doc.payload, buf, (size_t)n, 1, NITRO_MAX_PAYLOAD);
    inside(&doc.signature, buf, (size_t)n, NITRO_SIG_LEN, NITRO_SIG_LEN);
    inside(&doc.certificate, buf, (size_t)n, 1, NITRO_CERT_MAX);
    for (i = 0; i < doc.ncabundle; i++) {
        inside(&doc.cabundle[i], buf, (size_t)n, 1, NITRO_CERT_MAX);
    }
    if (doc.has_public_key) {
        inside(&doc.public_key, buf, (size_t)n, 1, NITRO_PUBLIC_KEY_MAX);
    }
    if (doc.has_user_data) {
        inside(&doc.user_data, buf, (size_t)n, 0, NITRO_USER_DATA_MAX);
    }
    if (doc.has_nonce) {
        inside(&doc.nonce, buf, (size_t)n, 0, NITRO_NONCE_MAX);
    }
    if (nitro_verify_signature(&doc, why) != 0) {
        printable(why);
    }
    if (nitro_verify_chain(&doc, root, why) != 0) {
        printable(why);
    }
    (void)nitro_debug_mode(&doc);
    free(buf);
    return 0;
}
