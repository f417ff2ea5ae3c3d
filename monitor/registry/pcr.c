/*
 * pcr.c: the PCR policy of a watch rule (see pcr.h).  Pure: no I/O, no
 * allocation; cost O(n_allow * CONFIG_PCR_COUNT * CONFIG_PCR_HEX_LEN).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "monitor/registry/pcr.h"

#define PCR_REQUIRED                                                           \
    ((1u << CONFIG_PCR0) | (1u << CONFIG_PCR1) | (1u << CONFIG_PCR2))

static const char *const pcr_names[CONFIG_PCR_COUNT] = {
    [CONFIG_PCR0] = "PCR0",
    [CONFIG_PCR1] = "PCR1",
    [CONFIG_PCR2] = "PCR2",
    [CONFIG_PCR8] = "PCR8",
};

static const char *const pcr_meanings[CONFIG_PCR_COUNT] = {
    [CONFIG_PCR0] = "image",
    [CONFIG_PCR1] = "kernel and bootstrap",
    [CONFIG_PCR2] = "application",
    [CONFIG_PCR8] = "signing certificate",
};

const char *
pcr_name(enum config_pcr which)
{
    if ((unsigned)which >= CONFIG_PCR_COUNT) {
        return NULL;
    }
    return pcr_names[which];
}

const char *
pcr_meaning(enum config_pcr which)
{
    if ((unsigned)which >= CONFIG_PCR_COUNT) {
        return NULL;
    }
    return pcr_meanings[which];
}

static int
pcr_lower_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c;
    }
    if (c >= 'a' && c <= 'f') {
        return c;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 'a';
    }
    return -1;
}

/* Copy one PCR value lowercased into dst; -1 unless exactly 96 hex. */
static int
pcr_copy_hex(char dst[CONFIG_PCR_HEX_LEN + 1], const char *src)
{
    size_t i;

    for (i = 0; i < CONFIG_PCR_HEX_LEN; i++) {
        int c = pcr_lower_hex(src[i]); /* stops at NUL: -1 */

        if (c < 0) {
            return -1;
        }
        dst[i] = (char)c;
    }
    if (src[CONFIG_PCR_HEX_LEN] != '\0') {
        return -1;
    }
    dst[CONFIG_PCR_HEX_LEN] = '\0';
    return 0;
}

int
pcr_set_from_hex(struct config_pcr_set *out, const char *pcr0, const char *pcr1,
                 const char *pcr2, const char *pcr8)
{
    const char *v[CONFIG_PCR_COUNT] = {pcr0, pcr1, pcr2, pcr8};
    size_t i;

    memset(out, 0, sizeof(*out));
    if (pcr0 == NULL || pcr1 == NULL || pcr2 == NULL) {
        return -1;
    }
    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        if (v[i] == NULL) {
            continue;
        }
        if (pcr_copy_hex(out->hex[i], v[i]) != 0) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
        out->present |= 1u << i;
    }
    return 0;
}

/* Equal ignoring ASCII case (both are hex of the same length). */
static int
pcr_hex_equal(const char *a, const char *b)
{
    size_t i;

    for (i = 0; i < CONFIG_PCR_HEX_LEN; i++) {
        int x = pcr_lower_hex(a[i]);
        int y = pcr_lower_hex(b[i]);

        if (x < 0 || y < 0 || x != y) {
            return 0;
        }
    }
    return 1;
}

/* Bits of the PCRs in which found and allowed differ. */
static unsigned
pcr_diff(const struct config_pcr_set *allowed,
         const struct config_pcr_set *found)
{
    unsigned differ = 0;
    size_t i;

    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        unsigned bit = 1u << i;
        int in_a = (allowed->present & bit) != 0;
        int in_f = (found->present & bit) != 0;

        if (i == CONFIG_PCR8 && !in_a && !in_f) {
            continue; /* unsigned EIF, no PCR8 pinned */
        }
        if (in_a != in_f ||
            (in_a && !pcr_hex_equal(allowed->hex[i], found->hex[i]))) {
            differ |= bit;
        }
    }
    return differ;
}

/* 1 when every PCR present in set is 96 hex digits. */
static int
pcr_set_valid(const struct config_pcr_set *set)
{
    size_t i, j;

    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        if ((set->present & (1u << i)) == 0) {
            continue;
        }
        for (j = 0; j < CONFIG_PCR_HEX_LEN; j++) {
            if (pcr_lower_hex(set->hex[i][j]) < 0) {
                return 0;
            }
        }
        if (set->hex[i][CONFIG_PCR_HEX_LEN] != '\0') {
            return 0;
        }
    }
    return 1;
}

static unsigned
pcr_popcount(unsigned v)
{
    unsigned n = 0;

    while (v != 0) {
        n += v & 1u;
        v >>= 1;
    }
    return n;
}

int
pcr_check(const struct config_pcrs *pcrs, const struct config_pcr_set *found,
          struct pcr_result *out)
{
    unsigned best_n = CONFIG_PCR_COUNT + 1;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (pcrs == NULL || found == NULL || !pcrs->enabled ||
        pcrs->allow == NULL || pcrs->n_allow == 0 ||
        (found->present & PCR_REQUIRED) != PCR_REQUIRED ||
        !pcr_set_valid(found)) {
        return -1;
    }
    for (i = 0; i < pcrs->n_allow; i++) {
        unsigned d = pcr_diff(&pcrs->allow[i], found);
        unsigned n = pcr_popcount(d);

        if (n < best_n) {
            best_n = n;
            out->closest = i;
            out->differ = d;
        }
        if (n == 0) {
            break;
        }
    }
    if (out->differ == 0) {
        out->verdict = PCR_ALLOWED;
        return 0;
    }
    out->verdict = PCR_UNKNOWN;
    for (i = 0; i < CONFIG_PCR_COUNT; i++) {
        const struct config_pcr_set *a = &pcrs->allow[out->closest];
        unsigned bit = 1u << i;
        const char *fv, *av;

        if ((out->differ & bit) == 0) {
            continue;
        }
        fv = (found->present & bit) ? found->hex[i] : "absent";
        av = (a->present & bit) ? a->hex[i] : "absent";
        (void)snprintf(out->reasons[out->nreasons], PCR_REASON_MAX,
                       "%s (%s) is %s; closest allowed set #%zu has %s",
                       pcr_names[i], pcr_meanings[i], fv, out->closest + 1, av);
        out->nreasons++;
    }
    return 0;
}

int
pcr_entry_data_hash(const uint8_t *body, size_t len,
                    char out[PCR_DATA_HASH_HEX + 1])
{
    json_error_t jerr;
    json_t *root = NULL, *hash;
    const char *kind, *alg, *value;
    size_t i;
    int rc = -1;

    memset(out, 0, PCR_DATA_HASH_HEX + 1);
    if (body == NULL || len == 0 || len > PCR_MAX_BODY) {
        return -1;
    }
    root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return -1;
    }
    kind = json_string_value(json_object_get(root, "kind"));
    hash = json_object_get(
        json_object_get(json_object_get(root, "spec"), "data"), "hash");
    alg = json_string_value(json_object_get(hash, "algorithm"));
    value = json_string_value(json_object_get(hash, "value"));
    if (kind == NULL || strcmp(kind, "hashedrekord") != 0 || alg == NULL ||
        strcmp(alg, "sha256") != 0 || value == NULL ||
        strlen(value) != PCR_DATA_HASH_HEX) {
        goto out;
    }
    for (i = 0; i < PCR_DATA_HASH_HEX; i++) {
        int c = pcr_lower_hex(value[i]);

        if (c < 0) {
            memset(out, 0, PCR_DATA_HASH_HEX + 1);
            goto out;
        }
        out[i] = (char)c;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
