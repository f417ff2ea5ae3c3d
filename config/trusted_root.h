/*
 * trusted_root.h: Sigstore trust material (trusted_root.json) for tlogwatch.
 *
 * Loads a Sigstore trusted root (media type
 * "application/vnd.dev.sigstore.trustedroot+json;version=0.1", the TUF
 * target of sigstore/root-signing) into one immutable object:
 *
 *  - tlogs[]:  transparency log keys (Rekor v1 ECDSA, Rekor v2 Ed25519),
 *              with base URL, signer name, log id, checkpoint key hint;
 *  - ctlogs[]: certificate transparency log keys (same shape, for SCTs);
 *  - certificateAuthorities[]: Fulcio CA chains as OpenSSL X509 objects;
 *  - timestampAuthorities[]: loaded with the same shape as the CAs (chains
 *              are parsed and kept, but nothing in tlogwatch uses them yet).
 *
 * Invariants kept by this module:
 *  - a loaded root is never modified; every pointer it hands out is
 *    borrowed and valid until config_trusted_root_free();
 *  - every tlog/ctlog key with a supported algorithm has a log id that was
 *    checked against its key at load time: ECDSA and RSA keys: log id =
 *    SHA-256(DER SubjectPublicKeyInfo) (Rekor v1, RFC 6962 CT);  Ed25519
 *    tlog keys: log id = SHA-256(signer_name || 0x0A || 0x01 || raw key),
 *    the C2SP signed-note key id (Rekor v2).  A mismatch fails the load.
 *    The checkpoint key hint is the first 4 bytes of the log id in both
 *    cases (see merkle/note.h);
 *  - within tlogs[] (and within ctlogs[]) entries with the same log id
 *    are one log listed again (its key in several validFor periods):
 *    they must have the same key and baseUrl, else the load fails
 *    ("tlogs[2]: logId is also tlogs[0]'s, with another baseUrl"); the
 *    later ones are marked dup.  Two tlogs with the same checkpoint key
 *    name and key hint but other log ids are refused too: a signature
 *    line could not say which key made it;
 *  - a root lists at least one log, under tlogs or ctlogs (a root with
 *    only CT logs loads: a config then follows those);
 *  - limits are enforced before anything is allocated for an item:
 *    file size, number of logs / CAs, certificates per chain;
 *  - unknown JSON fields are ignored; a known field of the wrong JSON type,
 *    bad base64, a DER blob that does not decode, a bad RFC 3339 time or a
 *    missing required field is an error naming the field, e.g.
 *    "trusted_root.json: tlogs[1].publicKey.rawBytes: bad base64".
 *
 * A key whose keyDetails is not in the allow-list below is still loaded
 * (alg CONFIG_KEY_UNSUPPORTED, pkey NULL, log id not checked) so that a
 * caller can report "unsupported key algorithm" rather than "unknown log".
 *
 * Pure: no I/O beyond reading the named file, no logging, no globals.
 */
#ifndef TLOGWATCH_CONFIG_TRUSTED_ROOT_H
#define TLOGWATCH_CONFIG_TRUSTED_ROOT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CONFIG_TRUSTED_ROOT_MEDIA_TYPE                                         \
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
#define CONFIG_TRUSTED_ROOT_MAX_FILE (4 * 1024 * 1024) /* bytes */
#define CONFIG_TRUSTED_ROOT_MAX_ITEMS 64 /* per list: tlogs, CAs, ... */
#define CONFIG_TRUSTED_ROOT_MAX_CHAIN 8  /* certificates per chain */
#define CONFIG_TRUSTED_ROOT_MAX_KEY 8192 /* bytes of one DER key / cert */
#define CONFIG_TRUSTED_ROOT_MAX_URL 1024 /* bytes of one baseUrl / uri */
#define CONFIG_LOG_ID_LEN 32
#define CONFIG_KEY_HINT_LEN 4
#define CONFIG_TRUSTED_ROOT_ERR_LEN 512 /* a good size for err buffers */

/* publicKey.keyDetails allow-list (protobuf-specs PublicKeyDetails). */
enum config_key_alg {
    CONFIG_KEY_UNSUPPORTED = 0,    /* any other keyDetails; pkey is NULL */
    CONFIG_KEY_ECDSA_P256_SHA256,  /* PKIX_ECDSA_P256_SHA_256 */
    CONFIG_KEY_ECDSA_P384_SHA384,  /* PKIX_ECDSA_P384_SHA_384 */
    CONFIG_KEY_ECDSA_P521_SHA512,  /* PKIX_ECDSA_P521_SHA_512 */
    CONFIG_KEY_ED25519,            /* PKIX_ED25519 */
    CONFIG_KEY_RSA_PKCS1V15_SHA256 /* PKIX_RSA_PKCS1V15_{2048,3072,4096}_SHA256
                                    */
};

/*
 * A validFor range in unix seconds (fractions of a second truncated).
 * has_end == 0: open ended.  A time t is covered when start <= t and
 * (no end or t <= end).
 */
struct config_validity {
    int64_t start;
    int64_t end;
    int has_end;
};

/* One tlogs[] or ctlogs[] entry.  Every field is owned by the root. */
struct config_log_key {
    const char *base_url;    /* "https://rekor.sigstore.dev" */
    const char *signer_name; /* host of base_url: "rekor.sigstore.dev",
                                "log2025-1.rekor.sigstore.dev" */
    const char *key_details; /* keyDetails as written in the file */
    enum config_key_alg alg;
    EVP_PKEY *pkey;          /* NULL when alg == CONFIG_KEY_UNSUPPORTED */
    const uint8_t *spki_der; /* publicKey.rawBytes, DER SPKI */
    size_t spki_len;
    uint8_t log_id[CONFIG_LOG_ID_LEN]; /* logId.keyId, checked (see top) */
    uint32_t key_hint; /* log_id[0..3] big-endian: checkpoint key hint */
    struct config_validity valid_for; /* publicKey.validFor */
    /* 1 when an earlier entry of the same list has this log id: the same
     * key and baseUrl listed again (another validFor period, e.g. of one
     * Rekor v1 shard).  A list of verifier keys takes the first only. */
    int dup;
};

/* One certificateAuthorities[] or timestampAuthorities[] entry. */
struct config_ca {
    const char *uri;         /* "https://fulcio.sigstore.dev" */
    const char *subject_org; /* subject.organization, or "" */
    const char *subject_cn;  /* subject.commonName, or "" */
    STACK_OF(X509) * chain;  /* as in the file: leafward first
                                (intermediate), root last; >= 1 */
    struct config_validity valid_for;
};

struct config_trusted_root;

/*
 * Load path.  Returns new (caller frees with config_trusted_root_free), or
 * NULL with a NUL-terminated "path: message" in err (errlen > 0 bytes;
 * CONFIG_TRUSTED_ROOT_ERR_LEN is enough for any message).
 */
struct config_trusted_root *config_trusted_root_load(const char *path,
                                                     char *err, size_t errlen);
/*
 * The same from memory: data[0 .. len) need not be NUL-terminated.  name
 * prefixes error messages ("name: message").  Returns new, or NULL.
 */
struct config_trusted_root *
config_trusted_root_load_mem(const char *data, size_t len, const char *name,
                             char *err, size_t errlen);
/* NULL is a no-op. */
void config_trusted_root_free(struct config_trusted_root *root);

/* Iteration.  Indexes follow file order; out of range returns NULL.
 * Every returned pointer is borrowed (valid while root lives). */
size_t config_trusted_root_ntlogs(const struct config_trusted_root *root);
const struct config_log_key *
config_trusted_root_tlog(const struct config_trusted_root *root, size_t i);
size_t config_trusted_root_nctlogs(const struct config_trusted_root *root);
const struct config_log_key *
config_trusted_root_ctlog(const struct config_trusted_root *root, size_t i);
size_t config_trusted_root_ncas(const struct config_trusted_root *root);
const struct config_ca *
config_trusted_root_ca(const struct config_trusted_root *root, size_t i);
size_t config_trusted_root_ntsas(const struct config_trusted_root *root);
const struct config_ca *
config_trusted_root_tsa(const struct config_trusted_root *root, size_t i);

/* The tlog whose log id is log_id (32 bytes), or NULL.  Borrowed. */
const struct config_log_key *
config_trusted_root_find_tlog(const struct config_trusted_root *root,
                              const uint8_t log_id[CONFIG_LOG_ID_LEN]);
/*
 * The first tlog (file order) whose checkpoint key hint is hint (big-endian,
 * as merkle_note_key_id returns it) and, when name is not NULL, whose
 * signer_name equals name.  Hints are 4 bytes and may collide: verify the
 * signature with the returned key, never trust the hint alone.  Borrowed
 * or NULL.
 */
const struct config_log_key *
config_trusted_root_find_tlog_hint(const struct config_trusted_root *root,
                                   uint32_t hint, const char *name);

/* 1 when some tlog whose log id is log_id (32 bytes) is valid at t (unix
 * seconds): any of its validFor periods covers t.  Else 0. */
int config_trusted_root_tlog_valid_at(const struct config_trusted_root *root,
                                      const uint8_t log_id[CONFIG_LOG_ID_LEN],
                                      int64_t t);

/* 1 when t (unix seconds) is inside v, else 0. */
int config_validity_covers(const struct config_validity *v, int64_t t);

/* Static name of alg ("ecdsa-p256-sha256", ...); never NULL. */
const char *config_key_alg_name(enum config_key_alg alg);

#endif
