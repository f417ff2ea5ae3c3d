/*
 * fuzz_cert.c: libFuzzer target for the Fulcio certificate parser
 * (monitor/identity/fulcio.c): the auto-detecting entry point (DER, PEM, base64
 * of PEM), the DER entry point on the same bytes, fulcio_cert_decode, and chain
 * verification of whatever parses (against the production trusted root when
 * $TLOGWATCH_TESTDATA is set).
 *
 * Invariants checked beyond "no crash": every claim string is
 * NUL-terminated and free of raw control bytes (they must be escaped),
 * and a certificate parsed from decoded input has the decoded DER.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/trusted_root.h"
#include "monitor/identity/fulcio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once; the harness, not the library, holds this state. */
static struct config_trusted_root *fuzz_root;
static int fuzz_root_tried;

static const struct config_trusted_root *
fuzz_get_root(void)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];

    if (!fuzz_root_tried && base != NULL) {
        fuzz_root_tried = 1;
        if (snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json", base) <
            (int)sizeof(path)) {
            fuzz_root = config_trusted_root_load(path, err, sizeof(err));
        }
    }
    return fuzz_root;
}

static void
fuzz_check_string(const char *s)
{
    if (s == NULL) {
        return;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f) {
            abort(); /* a control byte escaped the escaping */
        }
    }
}

static void
fuzz_use(const struct fulcio_cert *c)
{
    const struct fulcio_claims *cl = fulcio_cert_claims(c);
    const struct config_trusted_root *root = fuzz_get_root();
    unsigned n;

    fuzz_check_string(cl->san);
    fuzz_check_string(cl->issuer);
    fuzz_check_string(cl->issuer_cn);
    fuzz_check_string(cl->repository);
    fuzz_check_string(cl->workflow_path);
    fuzz_check_string(cl->workflow_ref);
    for (n = 0; n <= FULCIO_EXT_MAX; n++) {
        fuzz_check_string(cl->ext[n]);
    }
    if (cl->san == NULL) {
        abort(); /* a parsed certificate always has a SAN */
    }
    if (root != NULL) {
        int xerr;

        (void)fulcio_verify_chain(c, root, &xerr);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t der[FULCIO_MAX_DER];
    struct fulcio_cert *c;
    enum fulcio_error e;
    size_t n;

    c = fulcio_cert_parse(data, size, &e);
    if (c != NULL) {
        fuzz_use(c);
    }
    fulcio_cert_free(c);

    c = fulcio_cert_parse_der(data, size, &e);
    if (c != NULL) {
        fuzz_use(c);
    }
    fulcio_cert_free(c);

    if (fulcio_cert_decode(data, size, der, sizeof(der), &n) == 0) {
        c = fulcio_cert_parse_der(der, n, &e);
        if (c != NULL) {
            size_t l;
            const uint8_t *d = fulcio_cert_der(c, &l);

            if (l != n || memcmp(d, der, n) != 0) {
                abort();
            }
            fuzz_use(c);
        }
        fulcio_cert_free(c);
    }
    return 0;
}
