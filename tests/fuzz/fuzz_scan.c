/*
 * fuzz_scan.c: the follower's fast retrieve-response scanner against the
 * full parser.  Whenever scan_retrieve() accepts an input, jansson plus
 * entry_from_json() must accept it too and read exactly the same entries
 * (uuid, body, leaf hash, indexes, time, log id, attestation text and
 * oversize flag); a difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "monitor/identity/entry.h"
#include "monitor/identity/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX 20

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct entry *fast[FUZZ_MAX];
    long n = scan_retrieve((const char *)data, size, fast, FUZZ_MAX);
    json_error_t jerr;
    json_t *root;
    long i;

    if (n < 0) {
        return 0;
    }
    root = json_loadb((const char *)data, size, 0, &jerr);
    if (!json_is_array(root) || (long)json_array_size(root) != n) {
        abort();
    }
    for (i = 0; i < n; i++) {
        char err[ENTRY_ERR_LEN];
        struct entry *e =
            entry_from_json(json_array_get(root, (size_t)i), err, sizeof(err));
        /* The full parser may refuse what the scanner skipped (e.g. a
         * malformed inclusion proof); it must never read differently. */
        if (e != NULL) {
            if (strcmp(e->uuid, fast[i]->uuid) != 0 ||
                e->body_len != fast[i]->body_len ||
                memcmp(e->body, fast[i]->body, e->body_len) != 0 ||
                memcmp(e->leaf_hash, fast[i]->leaf_hash, 32) != 0 ||
                e->log_index != fast[i]->log_index ||
                e->integrated_time != fast[i]->integrated_time ||
                memcmp(e->log_id, fast[i]->log_id, 32) != 0 ||
                e->attestation_oversize != fast[i]->attestation_oversize ||
                e->attestation_b64_len != fast[i]->attestation_b64_len ||
                (e->attestation_b64 == NULL) !=
                    (fast[i]->attestation_b64 == NULL) ||
                (e->attestation_b64 != NULL &&
                 memcmp(e->attestation_b64, fast[i]->attestation_b64,
                        e->attestation_b64_len + 1) != 0)) {
                abort();
            }
        }
        entry_free(e);
        entry_free(fast[i]);
    }
    json_decref(root);
    return 0;
}
