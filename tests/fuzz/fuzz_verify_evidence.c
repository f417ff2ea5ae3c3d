/*
 * fuzz_verify_evidence.c: libFuzzer target for `tlogwatch verify evidence`
 * and `verify sth` (monitor/cli/cli_verify.c): the input, written to a
 * temporary file, is read as an alert (evidence) and as a tree head
 * (sth), against a trusted root made once: the ctlogs of
 * $TLOGWATCH_TESTDATA's fulcio/trusted_root.json plus an entry for the Go CT
 * library's test key m ($TLOGWATCH_SRC/tests/data/ct/witness_m.pub), so that
 * seeds carrying its real tree heads (tests/data/ct) reach the signature, proof
 * and per-type checks.  Without those variables the target only exercises the
 * input checks (the root cannot load: exit 2).
 *
 * Invariant (abort on breach): the exit code is 0..3; never a crash or a
 * leak (ASan in CI).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "monitor/cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[64];
static char fz_root[128];
static char fz_in[128];

static void
fz_cleanup(void)
{
    unlink(fz_in);
    unlink(fz_root);
    rmdir(fz_dir);
}

/* The trusted root file, once; "" paths leave verify to refuse. */
static void
fz_setup(void)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    const char *src = getenv("TLOGWATCH_SRC");
    char path[4096], r64[512], i64[64];
    json_t *doc = NULL;
    json_error_t jerr;
    EVP_PKEY *k = NULL;
    unsigned char *spki = NULL;
    uint8_t id[32];
    FILE *f;
    int n;

    snprintf(fz_dir, sizeof(fz_dir), "/tmp/tlw-fuzz-verify.XXXXXX");
    if (mkdtemp(fz_dir) == NULL) {
        abort();
    }
    atexit(fz_cleanup);
    snprintf(fz_root, sizeof(fz_root), "%s/root.json", fz_dir);
    snprintf(fz_in, sizeof(fz_in), "%s/input", fz_dir);
    if (freopen("/dev/null", "w", stdout) == NULL) {
        abort();
    }
    if (td == NULL || src == NULL) {
        return;
    }
    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json", td);
    doc = json_load_file(path, 0, &jerr);
    /* Only its CT logs: loading the CA chains every run would be most of
     * the cost, and verify does not read them. */
    if (doc != NULL) {
        json_object_del(doc, "tlogs");
        json_object_del(doc, "certificateAuthorities");
        json_object_del(doc, "timestampAuthorities");
    }
    snprintf(path, sizeof(path), "%s/tests/data/ct/witness_m.pub", src);
    f = fopen(path, "r");
    if (f != NULL) {
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (doc != NULL && k != NULL && (n = i2d_PUBKEY(k, &spki)) > 0) {
        SHA256(spki, (size_t)n, id);
        if (merkle_b64_encode(spki, (size_t)n, r64, sizeof(r64)) > 0 &&
            merkle_b64_encode(id, 32, i64, sizeof(i64)) > 0) {
            json_array_append_new(
                json_object_get(doc, "ctlogs"),
                json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}",
                          "baseUrl", "https://ct-m.example", "hashAlgorithm",
                          "SHA2_256", "publicKey", "rawBytes", r64,
                          "keyDetails", "PKIX_ECDSA_P256_SHA_256", "validFor",
                          "start", "2021-01-01T00:00:00Z", "logId", "keyId",
                          i64));
        }
        (void)json_dump_file(doc, fz_root, JSON_COMPACT);
    }
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    json_decref(doc);
}

static void
fz_run(const char *sub)
{
    char *argv[] = {"verify", (char *)sub, "--trusted-root",
                    fz_root,  fz_in,       NULL};
    int rc = cli_verify(5, argv);

    if (rc < 0 || rc > 3) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f;

    if (fz_dir[0] == '\0') {
        fz_setup();
    }
    f = fopen(fz_in, "wb");
    if (f == NULL) {
        abort();
    }
    if (size > 0 && fwrite(data, 1, size, f) != size) {
        abort();
    }
    fclose(f);
    fz_run("evidence");
    fz_run("sth");
    return 0;
}
