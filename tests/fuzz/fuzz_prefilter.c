/*
 * fuzz_prefilter.c: libFuzzer target for fulcio_prefilter.  Checks its
 * one promise on every input: when the full parser accepts the blob and a
 * needle matches the parsed claims, the prefilter said "could match".
 * Needles come from a fixed list (real repositories of the test data and
 * made-up ones) and from the parsed certificate itself (its repository in
 * upper case, its repository id), so mutated certificates keep hitting
 * the interesting path.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/identity/fulcio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_repos[] = {
    "sigstore/sigstore-js", "trailofbits/rfc8785.py",
    "acme/enclave-app",     "kubewarden/kubewarden-controller",
    "loosebazooka/aa-test", "a/b",
};

static void
fuzz_check(const struct fulcio_needles *n, const uint8_t *data, size_t size,
           const struct fulcio_cert *c)
{
    int pf = fulcio_prefilter(n, data, size);

    if (c != NULL && !pf &&
        fulcio_needles_match_claims(n, fulcio_cert_claims(c))) {
        abort(); /* the prefilter missed a real match */
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fulcio_needles *fixed = fulcio_needles_new();
    struct fulcio_needles *own = NULL;
    struct fulcio_cert *c;
    size_t i;

    if (fixed == NULL) {
        abort();
    }
    for (i = 0; i < sizeof(fuzz_repos) / sizeof(fuzz_repos[0]); i++) {
        if (fulcio_needles_add(fixed, fuzz_repos[i],
                               i == 0 ? "495574555" : NULL) != 0) {
            abort();
        }
    }
    c = fulcio_cert_parse(data, size, NULL);
    fuzz_check(fixed, data, size, c);

    if (c != NULL) {
        const struct fulcio_claims *cl = fulcio_cert_claims(c);
        char up[FULCIO_NEEDLE_MAX_LEN + 1];

        own = fulcio_needles_new();
        if (own == NULL) {
            abort();
        }
        if (cl->repository != NULL &&
            strlen(cl->repository) <= FULCIO_NEEDLE_MAX_LEN) {
            for (i = 0; cl->repository[i] != '\0'; i++) {
                up[i] = (char)toupper((unsigned char)cl->repository[i]);
            }
            up[i] = '\0';
            if (fulcio_needles_add(own, up, NULL) == 0) {
                /* Its own repository must both match and pass. */
                if (!fulcio_needles_match_claims(own, cl) ||
                    !fulcio_prefilter(own, data, size)) {
                    abort();
                }
            }
        }
        if (cl->repository_id != NULL &&
            fulcio_needles_add(own, "x/y", cl->repository_id) == 0) {
            fuzz_check(own, data, size, c);
        }
    }
    fulcio_cert_free(c);
    fulcio_needles_free(own);
    fulcio_needles_free(fixed);
    return 0;
}
