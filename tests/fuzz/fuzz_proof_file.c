/*
 * fuzz_proof_file.c: libFuzzer target for the proof-file parser of
 * "tlogwatch verify" (entry_proof_file_parse in monitor/identity/entry.h):
 * Rekor JSON ({"hashes": [...]} and the /api/v1/log/proof shape) or plain text,
 * one hex hash a line.
 *
 * Invariants checked (abort on breach): at most ENTRY_MAX_PROOF hashes; a
 * checkpoint is NUL-terminated, at most ENTRY_MAX_CHECKPOINT bytes; a
 * failed parse leaves nothing allocated and says why.  A parsed proof is
 * then fed to the verifiers, which must not misbehave on any hashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/merkle.h"
#include "monitor/identity/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[ENTRY_ERR_LEN];
    struct entry_proof p;
    uint8_t leaf[MERKLE_HASH_LEN] = {0};

    if (entry_proof_file_parse((const char *)data, size, &p, err,
                               sizeof(err)) != 0) {
        if (p.checkpoint != NULL || p.nhashes != 0 || err[0] == '\0' ||
            memchr(err, '\0', sizeof(err)) == NULL) {
            abort();
        }
        return 0;
    }
    if (p.nhashes > ENTRY_MAX_PROOF) {
        abort();
    }
    if (p.checkpoint != NULL && (p.checkpoint_len > ENTRY_MAX_CHECKPOINT ||
                                 p.checkpoint[p.checkpoint_len] != '\0')) {
        abort();
    }
    if (p.has_tree) {
        (void)merkle_verify_inclusion(
            p.has_index ? p.index : 0, p.size, leaf,
            (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.nhashes, p.root);
        (void)merkle_verify_consistency(
            1, p.size, leaf, p.root,
            (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.nhashes);
    }
    entry_proof_clear(&p);
    return 0;
}
