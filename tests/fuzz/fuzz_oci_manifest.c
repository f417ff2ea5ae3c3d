/*
 * fuzz_oci_manifest.c: libFuzzer target for the OCI manifest and tag list
 * parsers (monitor/registry/oci.h: oci_parse_manifest, oci_parse_tag_list).
 *
 * Invariants checked (abort on breach): a parsed manifest has at most
 * OCI_MAX_LAYERS layers, each with a "sha256:" + 64 lowercase hex digest
 * and NUL-terminated strings; PCRs flagged present are 96 lowercase hex; a
 * failed parse leaves the struct zeroed.  A tag list reports as many
 * callbacks as tags, each tag at most OCI_MAX_TAG bytes, and the last tag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/registry/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_hex(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n) {
        abort();
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            abort();
        }
    }
}

struct count {
    size_t n;
    char last[OCI_MAX_TAG + 1];
};

static void
on_tag(const char *t, void *arg)
{
    struct count *c = arg;
    size_t n = strlen(t);

    if (n == 0 || n > OCI_MAX_TAG) {
        abort();
    }
    memcpy(c->last, t, n + 1);
    c->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* big: not on the stack of the fuzzer */
    struct oci_manifest *m = malloc(sizeof(*m));
    struct count c;
    char last[OCI_MAX_TAG + 1];
    size_t i, ntags;

    if (m == NULL) {
        return 0;
    }
    if (oci_parse_manifest((const char *)data, size, m) == 0) {
        if (m->n_layers > OCI_MAX_LAYERS) {
            abort();
        }
        for (i = 0; i < m->n_layers; i++) {
            if (strncmp(m->layers[i].digest, "sha256:", 7) != 0) {
                abort();
            }
            check_hex(m->layers[i].digest + 7, 64);
            (void)strlen(m->layers[i].media_type);
            (void)strlen(m->layers[i].title);
        }
        for (i = 0; i < 4; i++) {
            if (m->pcrs.present & (1u << i)) {
                check_hex(m->pcrs.hex[i], OCI_PCR_HEX_LEN);
            }
        }
    } else if (m->n_layers != 0 || m->pcrs.present != 0) {
        abort();
    }
    free(m);

    memset(&c, 0, sizeof(c));
    if (oci_parse_tag_list((const char *)data, size, on_tag, &c, &ntags,
                           last) == 0) {
        if (ntags != c.n || strcmp(last, c.last) != 0) {
            abort();
        }
    }
    return 0;
}
