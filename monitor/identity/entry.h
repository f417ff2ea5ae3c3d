/*
 * entry.h: Rekor log entries (the v1 REST API shape), their bodies, proof
 * files, and the checks that tie an entry to its log.
 *
 * Two stages, so that the follower's hot path pays only for what it uses:
 *
 *  1. entry_from_json / entry_parse: one element of a Rekor v1 response,
 *     {"<uuid>": {body, integratedTime, logID, logIndex, verification}},
 *     into a struct entry: uuid, decoded body bytes, leaf hash
 *     SHA-256(0x00 || body), integrated time, virtual log index, log id,
 *     and (when present) the inclusion proof, its checkpoint, the signed
 *     entry timestamp (SET) and the text of attestation.data (the DSSE
 *     payload Rekor stored for intoto/dsse entries: copied, not decoded;
 *     see attest.h).  No X.509, no body JSON parse.
 *  2. entry_body_decode: the body JSON, lazily, into kind, apiVersion and
 *     the certificates (DER) of its verifiers, for every kind that carries
 *     one: hashedrekord, rekord, intoto 0.0.1/0.0.2, dsse, cose, jar
 *     (certificates inside a PKCS7 signature) and the Rekor v2 kinds
 *     hashedrekord/dsse 0.0.2.  A verifier that is a bare public key is
 *     counted, never reported as an identity.
 *
 * Invariants kept by this module:
 *  - parsers are pure functions of their input bytes with the named limits
 *    below, checked before anything is copied; errors are a short English
 *    message naming the field, with no byte of the input in it (so the
 *    caller may log it as is);
 *  - integers are uint64_t (indexes, sizes) or int64_t (times); a JSON
 *    number or decimal string outside that range, negative, fractional or
 *    with leading zeros is malformed;
 *  - every hash is exactly MERKLE_HASH_LEN bytes, every base64 canonical
 *    (merkle_b64_decode), every hex string of even length;
 *  - checks never allocate on the caller's behalf and never fail silently:
 *    each returns ok, failed (with a reason) or skipped (with why).
 *
 * Ownership: entry_parse/entry_from_json/entry_body_decode return new
 * objects (free with entry_free / entry_body_free; NULL is a no-op).  Every
 * pointer inside a struct is owned by it.
 */
#ifndef TLOGWATCH_MONITOR_ENTRY_H
#define TLOGWATCH_MONITOR_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "merkle/merkle.h"
#include "merkle/note.h"

#define ENTRY_MAX_JSON (1024 * 1024)     /* one entry or bundle, bytes */
#define ENTRY_MAX_BODY (512 * 1024)      /* decoded body, bytes */
#define ENTRY_MAX_CERTS 16               /* certificates / signatures */
#define ENTRY_MAX_CERT_DER (16 * 1024)   /* one DER certificate */
#define ENTRY_MAX_PROOF MERKLE_MAX_PROOF /* hashes in one proof */
#define ENTRY_MAX_CHECKPOINT MERKLE_NOTE_MAX_SIZE /* one signed note */
#define ENTRY_MAX_SET 1024   /* decoded SET signature, bytes */
#define ENTRY_UUID_MAX 80    /* 16 hex tree id + 64 hex leaf */
#define ENTRY_KIND_MAX 32    /* "hashedrekord", ... */
#define ENTRY_VERSION_MAX 16 /* "0.0.1", ... */
#define ENTRY_ERR_LEN 192    /* enough for every message */
#define ENTRY_MAX_ATTESTATION_B64 (512 * 1024) /* attestation.data text */

/*
 * An inclusion proof (or, from a proof file, a consistency proof) with
 * what came along with it.  index/size/root are set only when has_tree is
 * set; checkpoint is NULL when absent.
 */
struct entry_proof {
    int has_tree;   /* index (inclusion only), size, root present */
    int has_index;  /* index present (inclusion proofs) */
    uint64_t index; /* shard-local leaf index: inclusionProof.logIndex */
    uint64_t size;  /* treeSize */
    uint8_t root[MERKLE_HASH_LEN];
    size_t nhashes;
    uint8_t hashes[ENTRY_MAX_PROOF][MERKLE_HASH_LEN];
    char *checkpoint; /* owned, NUL-terminated signed note, or NULL */
    size_t checkpoint_len;
};

/* One log entry.  Built by entry_from_json or by bundle.c. */
struct entry {
    char uuid[ENTRY_UUID_MAX + 1]; /* lower-case hex; "" when unknown */
    int has_tree_id;               /* uuid carried a 16-hex tree id */
    uint64_t tree_id;
    int has_uuid_leaf; /* uuid carried a leaf hash */
    uint8_t uuid_leaf[MERKLE_HASH_LEN];
    uint8_t *body; /* decoded body bytes, owned */
    size_t body_len;
    uint8_t leaf_hash[MERKLE_HASH_LEN]; /* SHA-256(0x00 || body) */
    uint64_t log_index;                 /* virtual (global) log index */
    int has_integrated_time;
    int64_t integrated_time; /* unix seconds */
    int has_log_id;
    uint8_t log_id[MERKLE_HASH_LEN];
    int has_proof;
    struct entry_proof proof;
    uint8_t *set; /* signed entry timestamp (DER), owned, or NULL */
    size_t set_len;
    char *attestation_b64; /* attestation.data as sent (base64 text,
                              NUL-terminated, owned) or NULL */
    size_t attestation_b64_len;
    int attestation_oversize; /* the log sent one over
                                 ENTRY_MAX_ATTESTATION_B64: dropped */
};

/*
 * Parse one response element {"<uuid>": {...}} (borrowed; not modified).
 * Returns new, or NULL with a message in err (errlen > 0).
 *
 * The optional member "attestation" ({"data": "<base64>"}, Rekor's
 * LogEntry.attestation) is absent or null: no attestation; an object whose
 * "data" is absent or null: none either; whose "data" is a string: kept by
 * entry_set_attestation.  Any other shape rejects the entry.
 */
struct entry *entry_from_json(const json_t *element, char *err, size_t errlen);
/* The same from bytes (at most ENTRY_MAX_JSON; need not be NUL-terminated). */
struct entry *entry_parse(const char *json, size_t len, char *err,
                          size_t errlen);
/* NULL is a no-op. */
void entry_free(struct entry *e);

/*
 * A proof file: Rekor JSON ({"hashes": [hex...]}, optionally with
 * "rootHash", "treeSize", "logIndex", "checkpoint", as /api/v1/log/proof
 * and inclusionProof return them) or plain text, one hex hash a line
 * (an empty file is the empty proof).  At most ENTRY_MAX_JSON bytes and
 * ENTRY_MAX_PROOF hashes.  out is filled (out->checkpoint is new: release
 * with entry_proof_clear).  Returns 0, or -1 with a message in err.
 */
int entry_proof_file_parse(const char *buf, size_t len, struct entry_proof *out,
                           char *err, size_t errlen);
/* Free what out owns and zero it. */
void entry_proof_clear(struct entry_proof *p);

/* A certificate or key of a body's verifier. */
struct entry_blob {
    uint8_t *der; /* owned */
    size_t len;
};

/* A decoded body. */
struct entry_body {
    char kind[ENTRY_KIND_MAX];
    char api_version[ENTRY_VERSION_MAX];
    size_t ncerts; /* X.509 certificates (DER), signer first, deduped */
    struct entry_blob certs[ENTRY_MAX_CERTS];
    size_t nkeys;  /* verifiers that are bare public keys (no identity) */
    size_t nother; /* verifiers in another format (PGP, SSH, minisign) */
};

/*
 * Decode body bytes (at most ENTRY_MAX_BODY).  A kind this module does not
 * know decodes with kind/apiVersion and no verifiers.  Returns new, or NULL
 * with a message in err.
 */
struct entry_body *entry_body_decode(const uint8_t *body, size_t len, char *err,
                                     size_t errlen);
/* NULL is a no-op. */
void entry_body_free(struct entry_body *b);

/* The outcome of one check. */
enum entry_verdict {
    ENTRY_CHECK_OK = 0,
    ENTRY_CHECK_FAILED,
    ENTRY_CHECK_SKIPPED,
};

struct entry_check {
    enum entry_verdict verdict;
    char reason[ENTRY_ERR_LEN]; /* why it failed or was skipped; "" if ok */
};

/* "ok", "failed: <reason>" or "skipped: <why>" into buf; returns buf. */
const char *entry_check_string(const struct entry_check *c, char *buf,
                               size_t buflen);

/*
 * A log's public key, as the checks need it.  pkey is borrowed: ECDSA
 * P-256 (Rekor v1) or Ed25519 (Rekor v2).  name is the checkpoint signer
 * name; NULL means the first word of the checkpoint's origin line.
 */
struct entry_log_key {
    EVP_PKEY *pkey;
    const char *name;
};

/*
 * The log id a key implies: ECDSA: SHA-256(DER SPKI); Ed25519:
 * SHA-256(name || 0x0A || 0x01 || raw key) (name required).  0 or -1.
 */
int entry_key_log_id(EVP_PKEY *pkey, const char *name,
                     uint8_t out[MERKLE_HASH_LEN]);

/*
 * A signed-note verifier for pkey (ECDSA P-256: key id SHA-256(SPKI)[:4];
 * Ed25519: the C2SP key id) under signer name.  Returns new (free with
 * merkle_note_key_free), or NULL with *r set.
 */
struct merkle_note_key *entry_note_key(EVP_PKEY *pkey, const char *name,
                                       enum merkle_result *r);

/*
 * The uuid names this entry: its leaf hash part equals e->leaf_hash and,
 * when both a tree id and a checkpoint origin "<name> - <tree id>" are
 * present, the two agree.  Skipped without a uuid.
 */
void entry_check_uuid(const struct entry *e, struct entry_check *out);
/*
 * The inclusion proof recomputes inclusionProof.rootHash from the leaf
 * hash, and the checkpoint (when present) names the same size and root.
 * Skipped without a proof.
 */
void entry_check_inclusion(const struct entry *e, struct entry_check *out);
/*
 * The checkpoint is a signed note verified by key (key id and name must
 * match a signature line; other lines are ignored).  Skipped without a
 * checkpoint or with key NULL.
 */
void entry_check_checkpoint(const struct entry *e,
                            const struct entry_log_key *key,
                            struct entry_check *out);
/*
 * The SET is key's ECDSA signature over the canonical JSON
 * {"body":"<base64>","integratedTime":N,"logID":"<hex>","logIndex":N}.
 * Skipped without a SET or with key NULL.
 */
void entry_check_set(const struct entry *e, const struct entry_log_key *key,
                     struct entry_check *out);

/*
 * Helpers shared with bundle.c; pure, bounded.  All return 0 or -1.
 */
/* Strict decimal: digits only, no sign, no leading zero, fits uint64. */
int entry_parse_u64(const char *s, size_t len, uint64_t *out);
/* Exactly 2 * MERKLE_HASH_LEN hex digits. */
int entry_parse_hash_hex(const char *s, size_t len,
                         uint8_t out[MERKLE_HASH_LEN]);
/* Canonical base64 of exactly MERKLE_HASH_LEN bytes. */
int entry_parse_hash_b64(const char *s, size_t len,
                         uint8_t out[MERKLE_HASH_LEN]);
/* Canonical base64 of at most max bytes into a new buffer (*out; free). */
int entry_b64_alloc(const char *s, size_t len, size_t max, uint8_t **out,
                    size_t *outlen);
/* Copy a checkpoint string (at most ENTRY_MAX_CHECKPOINT) into p. */
int entry_proof_set_checkpoint(struct entry_proof *p, const char *s,
                               size_t len);
/* Set e's uuid fields from an entry id (64 hex, or 16 + 64), NUL-ended. */
int entry_parse_uuid(struct entry *e, const char *key, char *err,
                     size_t errlen);
/* Fill e->leaf_hash from e->body. */
void entry_compute_leaf(struct entry *e);
/*
 * Keep the text of attestation.data (len bytes, not decoded, not checked)
 * in e: empty leaves e->attestation_b64 NULL; more than
 * ENTRY_MAX_ATTESTATION_B64 bytes leaves it NULL and sets
 * e->attestation_oversize; otherwise a NUL-terminated copy.  Replaces what
 * e held.  0, or -1 when out of memory.
 */
int entry_set_attestation(struct entry *e, const char *s, size_t len);

#endif
