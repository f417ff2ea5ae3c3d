/*
 * note.h: C2SP signed notes and tlog checkpoints, as Rekor v1 and v2 sign
 * them.
 *
 * A note is: text (ends in '\n'), one blank line, signature lines.  The
 * split is at the LAST blank line ("\n\n"), since the text may hold blank
 * lines.  A signature line is "\xe2\x80\x94 " NAME " " base64(keyid[4] ||
 * signature) "\n".  Signature lines from unknown keys (name and key id not
 * matching a given key) are ignored; a known key whose signature does not
 * verify rejects the whole note.  At least one known key must verify.
 *
 * Key ids: Ed25519: SHA-256(name || 0x0A || 0x01 || raw key)[:4];
 * ECDSA P-256 (Rekor): SHA-256(DER SubjectPublicKeyInfo)[:4].
 *
 * Checkpoint text: origin line (may contain spaces, e.g.
 * "rekor.sigstore.dev - 1193050959916656506"), decimal size, base64 root
 * hash (32 bytes), then optional extension lines (e.g. "Timestamp: ...").
 *
 * Keys allocate when created; verification allocates nothing of its own.
 */
#ifndef TLOGWATCH_MERKLE_NOTE_H
#define TLOGWATCH_MERKLE_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle/merkle.h"

#define MERKLE_NOTE_MAX_SIZE (64 * 1024) /* bytes in a whole note */
#define MERKLE_NOTE_MAX_SIGS 100         /* signature lines */
#define MERKLE_NOTE_MAX_NAME 256         /* key / signer name */
#define MERKLE_ORIGIN_MAX 256            /* checkpoint origin line */

enum merkle_key_alg {
    MERKLE_KEY_ED25519 = 1, /* vkey algorithm byte 0x01 */
    MERKLE_KEY_ECDSA = 2,   /* vkey byte 0x02: DER SPKI, P-256 + SHA-256 */
};

/* A note verifier key.  Opaque; owned by whoever created it. */
struct merkle_note_key;

/*
 * Parse a vkey "name+hexid+base64(alg || key)".  Returns new (caller frees
 * with merkle_note_key_free) or sets *err and returns NULL.
 * MERKLE_ERR_KEY for any malformed part, an unknown algorithm, a key that
 * is not Ed25519 (32 bytes) or a P-256 SPKI, or an id that differs from
 * the computed one.  Key names (here and below): non-empty, at most
 * MERKLE_NOTE_MAX_NAME - 1 bytes of UTF-8, no white space, '+' or control
 * characters.  *err is set on success too (MERKLE_OK); err may be NULL.
 */
struct merkle_note_key *merkle_note_key_from_vkey(const char *vkey,
                                                  enum merkle_result *err);
/* An ECDSA P-256 key from DER SPKI (exactly one SubjectPublicKeyInfo, no
 * trailing bytes); key id = SHA-256(spki)[:4].  New. */
struct merkle_note_key *merkle_note_key_ecdsa(const char *name,
                                              const uint8_t *spki,
                                              size_t spki_len,
                                              enum merkle_result *err);
/* An Ed25519 key from its 32 raw bytes.  New. */
struct merkle_note_key *merkle_note_key_ed25519(const char *name,
                                                const uint8_t raw[32],
                                                enum merkle_result *err);
void merkle_note_key_free(struct merkle_note_key *k);
/* Borrowed accessors. */
const char *merkle_note_key_name(const struct merkle_note_key *k);
uint32_t merkle_note_key_id(const struct merkle_note_key *k); /* big-end */
enum merkle_key_alg merkle_note_key_alg(const struct merkle_note_key *k);

/* What verification found; every pointer points into the note given. */
struct merkle_note_result {
    size_t text_len;  /* the signed text: note[0 .. text_len) */
    size_t nsigs;     /* signature lines seen */
    size_t nverified; /* of those, verified by a given key */
    /* Bit i set when keys[i] verified a line (first 64 keys). */
    uint64_t verified_mask;
};

/*
 * Verify a signed note with the given keys.  MERKLE_OK when at least one
 * known key verified and no known key's signature failed.  The note must
 * be at most MERKLE_NOTE_MAX_SIZE bytes.  res may be NULL.
 * As in Go's note.Open: the whole note must be valid UTF-8 without control
 * characters but '\n'; a known key's repeated lines are checked once (the
 * first); nverified counts keys, not lines.  Two keys with the same name
 * and id are ambiguous: MERKLE_ERR_KEY, whatever the note holds.  The
 * structure is checked in full before any signature.
 */
enum merkle_result merkle_note_verify(const char *note, size_t len,
                                      struct merkle_note_key *const *keys,
                                      size_t nkeys,
                                      struct merkle_note_result *res);

/* Structure-only parse (no keys): split, signature line syntax, limits.
 * res->nverified is 0. */
enum merkle_result merkle_note_parse(const char *note, size_t len,
                                     struct merkle_note_result *res);

struct merkle_checkpoint {
    char origin[MERKLE_ORIGIN_MAX]; /* NUL-terminated copy */
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
    size_t next_line; /* offset of the first extension line in text */
};

/* Parse checkpoint text (the note's signed text, ending in '\n').  The
 * size is decimal without sign or leading zeros; the root is canonical
 * base64 of exactly 32 bytes; the origin has no control characters.  *out
 * is written only on success (out may be NULL). */
enum merkle_result merkle_checkpoint_parse(const char *text, size_t len,
                                           struct merkle_checkpoint *out);

/*
 * Convenience for the follower: verify the note with keys, then parse its
 * text as a checkpoint.
 */
enum merkle_result merkle_checkpoint_verify(const char *note, size_t len,
                                            struct merkle_note_key *const *keys,
                                            size_t nkeys,
                                            struct merkle_checkpoint *out);

#endif
