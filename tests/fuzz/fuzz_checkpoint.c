/*
 * fuzz_checkpoint.c: libFuzzer target for the checkpoint parser
 * (merkle_checkpoint_parse) and, on the same bytes, the signed checkpoint
 * path (merkle_checkpoint_verify with a fixed Ed25519 test key; the seed
 * corpus/fuzz_checkpoint/signed.note is signed with it).
 *
 * The parser accepts canonical text only (decimal size without leading
 * zeros, canonical base64 of exactly 32 bytes), so an accepted checkpoint
 * must serialise back to exactly the bytes it was parsed from, up to
 * next_line.  The input is not NUL-terminated.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merkle/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_vkey[] = "fuzz.example/ed25519+ffa896d4+"
                                "Af0v/0NeLKhyFhY47ifr1ddra5/IN1rTf+TpLR0MSo7k";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer harness state: created once, never freed. */
    static struct merkle_note_key *key;
    const char *text = (const char *)data;
    struct merkle_checkpoint cp;
    char buf[MERKLE_ORIGIN_MAX + 128], root[64];
    int n;

    if (key == NULL) {
        enum merkle_result err;
        key = merkle_note_key_from_vkey(fuzz_vkey, &err);
        if (key == NULL) {
            abort();
        }
    }

    if (merkle_checkpoint_parse(text, size, &cp) == MERKLE_OK) {
        size_t olen = strnlen(cp.origin, sizeof(cp.origin));
        if (olen == 0 || olen >= sizeof(cp.origin) || cp.next_line > size ||
            cp.next_line == 0 || text[cp.next_line - 1] != '\n' ||
            text[size - 1] != '\n') {
            abort();
        }
        if (merkle_b64_encode(cp.root, sizeof(cp.root), root, sizeof(root)) !=
            44) {
            abort();
        }
        n = snprintf(buf, sizeof(buf), "%s\n%" PRIu64 "\n%s\n", cp.origin,
                     cp.size, root);
        if (n < 0 || (size_t)n != cp.next_line ||
            memcmp(buf, text, cp.next_line) != 0) {
            abort();
        }
    }
    (void)merkle_checkpoint_verify(text, size, &key, 1, &cp);
    return 0;
}
