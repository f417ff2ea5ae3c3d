/*
 * fuzz_note.c: libFuzzer target for the signed-note parser and verifier
 * and the vkey parser (merkle/note.h).
 *
 * Each input is used three ways: as a note for merkle_note_parse, as a
 * note for merkle_note_verify / merkle_checkpoint_verify with two fixed
 * test keys (Ed25519 and ECDSA P-256, public halves only; the seeds in
 * corpus/fuzz_note were signed with them, so mutations reach the
 * signature checks), and, NUL-terminated, as a vkey.  The input is not
 * NUL-terminated and must never be read past size.
 *
 * Invariants checked (abort on breach): a verified note also parses, with
 * the same split; a verified note has nverified >= 1 and a matching mask;
 * the signed text ends in '\n' and lies inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test-only keys; their private halves were thrown away. */
static const char *const fuzz_vkeys[] = {
    "fuzz.example/ed25519+ffa896d4+"
    "Af0v/0NeLKhyFhY47ifr1ddra5/IN1rTf+TpLR0MSo7k",
    "fuzz.example/ecdsa+7a6bccab+"
    "AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJKL/aO07JJDaMnMD5YnlDIaAiO2CTAuRNX"
    "IGwhJEGn6q2zX5dAoVfWy+d9SLkKZnJEdTG/WfD5qufGtbNRQn00=",
};
#define NKEYS 2

static struct merkle_note_key *
fuzz_key(size_t i)
{
    /* libFuzzer harness state: created once, never freed. */
    static struct merkle_note_key *keys[NKEYS];

    if (keys[i] == NULL) {
        enum merkle_result err;
        keys[i] = merkle_note_key_from_vkey(fuzz_vkeys[i], &err);
        if (keys[i] == NULL) {
            abort();
        }
    }
    return keys[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *note = (const char *)data;
    struct merkle_note_key *keys[NKEYS];
    struct merkle_note_result pres, vres;
    struct merkle_checkpoint cp;
    enum merkle_result pr, vr;
    size_t i;

    for (i = 0; i < NKEYS; i++) {
        keys[i] = fuzz_key(i);
    }

    pr = merkle_note_parse(note, size, &pres);
    vr = merkle_note_verify(note, size, keys, NKEYS, &vres);
    if (pr == MERKLE_OK) {
        if (pres.text_len == 0 || pres.text_len >= size ||
            note[pres.text_len - 1] != '\n' || note[pres.text_len] != '\n' ||
            pres.nsigs == 0 || pres.nsigs > MERKLE_NOTE_MAX_SIGS ||
            pres.nverified != 0) {
            abort();
        }
    }
    if (vr == MERKLE_OK) {
        if (pr != MERKLE_OK || vres.text_len != pres.text_len ||
            vres.nsigs != pres.nsigs || vres.nverified == 0 ||
            vres.nverified > NKEYS || vres.verified_mask == 0 ||
            (vres.verified_mask >> NKEYS) != 0) {
            abort();
        }
    }
    /* A note that does not parse cannot verify. */
    if (pr != MERKLE_OK && vr == MERKLE_OK) {
        abort();
    }
    if (merkle_checkpoint_verify(note, size, keys, NKEYS, &cp) == MERKLE_OK) {
        if (vr != MERKLE_OK ||
            memchr(cp.origin, '\0', sizeof(cp.origin)) == NULL ||
            cp.next_line > vres.text_len) {
            abort();
        }
    }

    /* The same bytes as a vkey string. */
    if (size < 2048) {
        char *vkey = malloc(size + 1);
        struct merkle_note_key *k;
        enum merkle_result err;
        if (vkey == NULL) {
            abort();
        }
        memcpy(vkey, data, size);
        vkey[size] = '\0';
        k = merkle_note_key_from_vkey(vkey, &err);
        if ((k == NULL) == (err == MERKLE_OK)) {
            abort();
        }
        if (k != NULL && (merkle_note_key_alg(k) != MERKLE_KEY_ED25519 &&
                          merkle_note_key_alg(k) != MERKLE_KEY_ECDSA)) {
            abort();
        }
        merkle_note_key_free(k);
        free(vkey);
    }
    return 0;
}
