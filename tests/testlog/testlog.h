/*
 * testlog.h: internal interfaces of tlogwatch-testlog, a loopback Rekor v1
 * log that can misbehave on cue (usage: main.c, --help; control: admin.c).
 *
 * The program is split in:
 *   buf.c      growable byte buffer, base64/hex helpers, small utilities
 *   tree.c     RFC 6962 Merkle tree: leaf hashes plus every perfect
 *              subtree node, so roots and proofs are O(log n) lookups
 *   sign.c     fast ECDSA P-256 signing with nonces prepared in batches
 *   certs.c    keys, the Fulcio-like CAs (real and impostor), leaf
 *              certificates with the Fulcio extensions, trusted_root.json
 *   entries.c  entry bodies (hashedrekord, intoto, dsse, key-only), the
 *              deterministic noise generator and its identity pool
 *   log.c      shards, growth (threaded), checkpoints, entry rendering,
 *              fork / rollback / rotate / tamper
 *   http.c     the evhttp server: Rekor v1 read API, throttling, stats
 *   admin.c    the /admin/ control endpoint
 *   tiles.c    --tiles: the Rekor v2 view (C2SP tlog-tiles read API,
 *              Ed25519 checkpoints, hashedrekord 0.0.2 bodies)
 *   tilepath.c --tiles: tile request paths (pure; fuzzed)
 *   ct.c       --ct: the RFC 6962 Certificate Transparency view (get-sth,
 *              get-entries, proofs, get-roots; precertificates)
 *   main.c     options, startup, files written to --dir, event loop
 *
 * Invariants kept across the program:
 *  - one event loop thread owns every object after startup; worker
 *    threads only run inside tl_log_grow_noise() on disjoint index ranges
 *    and read-only shared state;
 *  - a leaf's hash in the tree always equals SHA-256(0x00 || the body the
 *    log would serve for it untampered); tampering is applied only when a
 *    response is rendered;
 *  - log indexes and sizes are uint64_t; virtual index = shard offset +
 *    shard-local index; shards are contiguous and ordered;
 *  - every object has one owner, named at its declaration.
 */
#ifndef TLOGWATCH_TESTLOG_H
#define TLOGWATCH_TESTLOG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define TL_HASH_LEN 32
#define TL_SIG_MAX 72               /* DER ECDSA P-256 signature, at most */
#define TL_MAX_LEVELS 64            /* tree levels for < 2^63 leaves */
#define TL_PROOF_MAX 128            /* hashes in any proof */
#define TL_RETRIEVE_MAX 10          /* production's maxSearchQueries */
#define TL_MAX_SHARDS 64            /* rotations before /admin/rotate refuses */
#define TL_MAX_ENTRIES (1ULL << 30) /* --entries and growth ceiling */
#define TL_NOISE_PER_SEC 40         /* startup noise: integratedTime rate */
#define TL_EPOCH_SECS 480        /* noise identities are re-issued per epoch */
#define TL_EPOCH_IDENTS 32       /* identities (certs / keys) per epoch */
#define TL_CERT_VALIDITY 600     /* Fulcio leaf validity, seconds */
#define TL_CERT_BACKDATE 5       /* appended leaf NotBefore = time - this */
#define TL_MAX_STR 512           /* longest claim string accepted */
#define TL_MAX_PAYLOAD (1 << 20) /* payload_b64 / body_b64 bytes, decoded */
/* Rekor's max_attestation_size default: a payload whose base64 decodes
 * to more (3 * ceil(n / 3) bytes) is not stored, so never served */
#define TL_MAX_ATTESTATION (100 * 1024)
#define TL_CA_ORG "tlogwatch-testlog" /* subject O of both CAs */
#define TL_CA_CN "testlog-fulcio"     /* root CN; intermediate adds a suffix */
#define TL_CA_URI "https://fulcio.testlog.invalid"
#define TL_GITHUB_ISSUER "https://token.actions.githubusercontent.com"

/* ------------------------------------------------------------------ buf */

/* A growable byte buffer; always NUL-terminated when p != NULL.  The
 * buffer owns p; tl_buf_free() releases it and leaves an empty buffer. */
struct tl_buf {
    char *p;
    size_t len;
    size_t cap;
};

int tl_buf_reserve(struct tl_buf *b, size_t extra);
int tl_buf_add(struct tl_buf *b, const void *data, size_t n);
int tl_buf_adds(struct tl_buf *b, const char *s);
int tl_buf_printf(struct tl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tl_buf_add_b64(struct tl_buf *b, const uint8_t *data, size_t n);
int tl_buf_add_hex(struct tl_buf *b, const uint8_t *data, size_t n);
/* Append s as a JSON string literal (quotes included, RFC 8259 escapes). */
int tl_buf_add_json_str(struct tl_buf *b, const char *s, size_t n);
void tl_buf_reset(struct tl_buf *b); /* len = 0, keeps the memory */
void tl_buf_free(struct tl_buf *b);

/* Decode standard base64 (whitespace not allowed).  Returns new bytes
 * (caller frees) and sets *outlen, or NULL. */
uint8_t *tl_b64_decode_new(const char *in, size_t inlen, size_t *outlen);
/* SplitMix64: the program's only pseudo-random function of a seed. */
uint64_t tl_mix64(uint64_t x);
/* Run fn(jobs + k * size) for k < n, in n - 1 new threads plus the caller
 * (a thread that cannot start runs in the caller afterwards). */
#define TL_MAX_THREADS 16
void tl_parallel(void *(*fn)(void *), void *jobs, size_t size, unsigned n);
/* CLOCK_MONOTONIC seconds, and wall-clock unix seconds. */
double tl_mono(void);
int64_t tl_now(void);

/* ----------------------------------------------------------------- tree */

/*
 * level[0] holds leaf hashes; level[k][j] is the root of the perfect
 * subtree over leaves [j * 2^k, (j + 1) * 2^k), present once those leaves
 * are.  About 2 * 32 bytes per leaf.  The tree owns its levels.
 */
struct tl_tree {
    uint64_t size;
    uint64_t cap; /* leaves that level[0] can hold */
    uint8_t (*level[TL_MAX_LEVELS])[TL_HASH_LEN];
};

void tl_tree_init(struct tl_tree *t);
void tl_tree_free(struct tl_tree *t);
/* Make room for cap leaves.  0 / -1. */
int tl_tree_reserve(struct tl_tree *t, uint64_t cap);
/* Leaves [size, size + n) were written to level[0] by the caller: hash
 * their parents and grow size by n.  Needs cap >= size + n. */
void tl_tree_commit(struct tl_tree *t, uint64_t n);
int tl_tree_append(struct tl_tree *t, const uint8_t leaf[TL_HASH_LEN]);
/* Replace leaf i < size and rehash its ancestors. */
void tl_tree_set_leaf(struct tl_tree *t, uint64_t i,
                      const uint8_t leaf[TL_HASH_LEN]);
/* Forget leaves >= size (size <= t->size). */
void tl_tree_truncate(struct tl_tree *t, uint64_t size);
/* Root of the first size leaves (size <= t->size); empty root for 0. */
void tl_tree_root(const struct tl_tree *t, uint64_t size,
                  uint8_t out[TL_HASH_LEN]);
/* RFC 6962 PATH(index, D[0:size]) into out (room for TL_PROOF_MAX);
 * returns the number of hashes.  Needs index < size <= t->size. */
size_t tl_tree_inclusion(const struct tl_tree *t, uint64_t index, uint64_t size,
                         uint8_t (*out)[TL_HASH_LEN]);
/* RFC 6962 PROOF(m, D[0:n]), 0 < m <= n <= t->size; returns the count. */
size_t tl_tree_consistency(const struct tl_tree *t, uint64_t m, uint64_t n,
                           uint8_t (*out)[TL_HASH_LEN]);

/* ---------------------------------------------------------------- certs */

/* An EC key and its public identity.  Owns pkey and d. */
struct tl_key {
    EVP_PKEY *pkey;
    BIGNUM *d;         /* private scalar, for tl_signer_sign */
    uint8_t spki[160]; /* DER SubjectPublicKeyInfo */
    size_t spki_len;
    uint8_t id[TL_HASH_LEN]; /* SHA-256(spki): Rekor log id */
};

/* curve: "P-256" or "P-384".  0 / -1. */
int tl_key_generate(struct tl_key *k, const char *curve);
/* An Ed25519 key from a 32-byte private seed, as a Rekor v2 log key: spki
 * = DER SPKI (44 bytes, the raw key is its last 32), id = SHA-256(name ||
 * 0x0A || 0x01 || raw key), the C2SP note key id and Rekor v2 log id
 * (checkpoint key hint: id[0:4]).  d stays NULL.  0 / -1. */
int tl_key_ed25519(struct tl_key *k, const uint8_t priv[32], const char *name);
void tl_key_clear(struct tl_key *k);
/* ECDSA over a precomputed digest; sig must hold TL_SIG_MAX (P-256) or
 * 104 (P-384) bytes.  0 / -1. */
int tl_sign_digest(EVP_PKEY *pkey, const uint8_t *digest, size_t dlen,
                   uint8_t *sig, size_t *siglen);
/* ECDSA P-256 with SHA-256 over msg.  0 / -1. */
int tl_sign_sha256(EVP_PKEY *pkey, const void *msg, size_t len, uint8_t *sig,
                   size_t *siglen);

/* Fast ECDSA P-256 signing (sign.c): one per thread.  New / free. */
struct tl_signer;
struct tl_signer *tl_signer_new(void);
void tl_signer_free(struct tl_signer *s);
/* Sign a SHA-256 digest with private scalar d; DER into sig (TL_SIG_MAX
 * bytes).  0 / -1. */
int tl_signer_sign(struct tl_signer *s, const BIGNUM *d,
                   const uint8_t digest[TL_HASH_LEN], uint8_t *sig,
                   size_t *siglen);
/* The private scalar of an EC key.  New (BN_clear_free), or NULL. */
BIGNUM *tl_private_scalar(EVP_PKEY *pkey);

/* A Fulcio-like CA: P-384 root and intermediate.  Owns everything. */
struct tl_ca {
    struct tl_key root_key;
    struct tl_key inter_key;
    X509 *root;
    X509 *inter;
    int64_t not_before;
    int64_t not_after;
};

/* Create a CA whose subjects are O=org, CN=<cn_prefix> and
 * CN=<cn_prefix>-intermediate, valid [not_before, not_after].  0 / -1. */
int tl_ca_create(struct tl_ca *ca, const char *org, const char *cn_prefix,
                 int64_t not_before, int64_t not_after);
void tl_ca_clear(struct tl_ca *ca);

enum tl_san {
    TL_SAN_URI = 0, /* GitHub Actions workload identity */
    TL_SAN_EMAIL,   /* a person's email */
};

/* Claims of a leaf certificate.  Strings are borrowed; NULL = omitted. */
struct tl_claims {
    enum tl_san san_type;
    const char *san;    /* URI or email */
    const char *issuer; /* .1 and .8 */
    /* GitHub Actions (.2 - .6, .9 - .22); only with TL_SAN_URI */
    int github;
    const char *trigger;            /* .2, .20 */
    const char *sha;                /* .3, .13, .19 */
    const char *workflow_name;      /* .4 */
    const char *repository;         /* .5 */
    const char *ref;                /* .6, .14 */
    const char *build_signer_uri;   /* .9 (also the SAN) */
    const char *build_signer_sha;   /* .10 */
    const char *runner_environment; /* .11 */
    const char *repository_uri;     /* .12 */
    const char *repository_id;      /* .15 */
    const char *owner_uri;          /* .16 */
    const char *owner_id;           /* .17 */
    const char *build_config_uri;   /* .18 */
    const char *run_invocation_uri; /* .21 */
    const char *visibility;         /* .22 */
};

/* Issue a leaf for pub, signed by ca's intermediate.  Returns new. */
X509 *tl_leaf_issue(const struct tl_ca *ca, EVP_PKEY *pub,
                    const struct tl_claims *c, int64_t not_before,
                    int64_t not_after);
/* PEM of a certificate / public key appended to out.  0 / -1. */
int tl_pem_cert(X509 *x, struct tl_buf *out);
int tl_pem_pubkey(EVP_PKEY *pkey, struct tl_buf *out);
/* Write a private key as PKCS#8 PEM (mode 0600) / a PEM public key /
 * a certificate chain.  0 / -1. */
int tl_write_key_files(const char *dir, const char *name,
                       const struct tl_key *k);
int tl_write_certs(const char *dir, const char *name, X509 *a, X509 *b);
/* Render trusted_root.json for the log key (key_details: its
 * PublicKeyDetails, "PKIX_ECDSA_P256_SHA_256" or "PKIX_ED25519") and the
 * real CA. */
int tl_trusted_root_json(const struct tl_key *log_key, const char *key_details,
                         const char *base_url, const struct tl_ca *ca,
                         int64_t log_start, struct tl_buf *out);
/* Write data to dir/name through a temporary file and rename(2). */
int tl_write_file(const char *dir, const char *name, const void *data,
                  size_t len, int mode);

/* -------------------------------------------------------------- entries */

enum tl_kind {
    TL_KIND_HASHEDREKORD = 0,
    TL_KIND_INTOTO,
    TL_KIND_DSSE,
};

/* A signer in the noise pool: a key and what bodies carry for it (the
 * base64 of its PEM certificate, or of its PEM public key when key-only).
 * Owned by its epoch. */
struct tl_ident {
    EVP_PKEY *key;
    BIGNUM *d;          /* its private scalar */
    char *verifier_b64; /* base64 of PEM text, NUL-terminated */
    size_t verifier_len;
    char *der_b64; /* base64 of the DER certificate (key-only: DER SPKI),
                      what Rekor v2 bodies carry as rawBytes */
    size_t der_len;
    int key_only;
};

/* The identities of one epoch of TL_EPOCH_SECS seconds.  Owned by the
 * log's epoch table. */
struct tl_epoch {
    struct tl_ident id[TL_EPOCH_IDENTS];
};

/* Inputs that define one signed entry body, as built by tl_body_build. */
struct tl_body_in {
    enum tl_kind kind;
    const uint8_t *artifact_hash; /* hashedrekord: SHA-256 of the data */
    const uint8_t *payload;       /* intoto/dsse: the in-toto statement */
    size_t payload_len;
    const uint8_t *sig; /* DER ECDSA: over artifact_hash, or over the
                           DSSE PAE of payload */
    size_t sig_len;
    const char *verifier_b64; /* base64 of PEM certificate / public key */
    size_t verifier_len;
    /* Rekor v2 (v2 != 0, hashedrekord only): hashedrekord 0.0.2 with
     * verifier.{keyDetails, x509Certificate|publicKey .rawBytes} */
    int v2;
    const char *der_b64; /* base64 of DER certificate / SPKI */
    size_t der_len;
    int key_only; /* der_b64 is a public key, not a certificate */
};

/* Append the canonical (RFC 8785) JSON body for in to out (v2: the
 * Rekor v2 hashedrekord 0.0.2 shape; -1 for other kinds).  0 / -1. */
int tl_body_build(const struct tl_body_in *in, struct tl_buf *out);
/* Append the DSSE envelope JSON {"payload","payloadType","signatures"}
 * whose SHA-256 intoto/dsse bodies record.  0 / -1. */
int tl_dsse_envelope(const uint8_t *payload, size_t len, const uint8_t *sig,
                     size_t sig_len, struct tl_buf *out);

/* GitHub Actions claims as /admin/append takes them; strings borrowed,
 * NULL = default (see admin.c). */
struct tl_github {
    const char *repository; /* owner/repo, required */
    const char *repository_id;
    const char *owner;
    const char *owner_id;
    const char *workflow; /* .github/workflows/x.yml */
    const char *ref;
    const char *trigger;
    const char *runner_environment;
    const char *sha;
    const char *build_signer; /* URI, owner/repo/path@ref, or a path */
    const char *build_signer_sha;
    const char *workflow_name;
    const char *visibility;
    const char *issuer;
    uint64_t run_id;
};

/* Strings derived from struct tl_github, owned by the caller. */
struct tl_github_strs {
    char san[2048];
    char repo_uri[1024];
    char owner_uri[1024];
    char config_uri[2048];
    char run_uri[1200];
    char owner[TL_MAX_STR + 1];
    char workflow_name[TL_MAX_STR + 1];
};

/* Fill c from g (c's strings point into g and st).  0 / -1 (too long). */
int tl_github_claims(const struct tl_github *g, struct tl_github_strs *st,
                     struct tl_claims *c);
/* SHA-256 of the DSSE PAE of an in-toto payload (what is signed). */
void tl_dsse_pae_hash(const uint8_t *payload, size_t len,
                      uint8_t out[TL_HASH_LEN]);
/* The kind string used in bodies ("hashedrekord", ...). */
const char *tl_kind_name(enum tl_kind k);
/* Parse a kind name; -1 when unknown. */
int tl_kind_parse(const char *s, enum tl_kind *out);

/*
 * What an intoto / dsse entry serves as LogEntry.attestation, the member
 * Rekor v1 adds next to "body" when its attestation storage holds the
 * entry's DSSE payload: {"attestation":{"data":"<base64 of payload>"}}
 * on every read endpoint (by index, by uuid, retrieve).  Never for
 * hashedrekord.
 */
enum tl_att {
    TL_ATT_STORE = 0, /* the payload (when <= TL_MAX_ATTESTATION) */
    TL_ATT_OMIT,      /* no attestation member, as when Rekor did not store */
    TL_ATT_CORRUPT,   /* the payload with one byte changed (tl_att_corrupt) */
};
/* "store" / "omit" / "corrupt"; -1 when unknown. */
int tl_att_parse(const char *s, enum tl_att *out);
const char *tl_att_name(enum tl_att a);
/* 1 when Rekor stores a payload of len bytes as the attestation. */
int tl_att_fits(size_t len);
/* Change one byte of p (len > 0): the last hex digit [0-9a-f] becomes
 * another one ('0' <-> '1', so JSON text stays JSON), else the last byte
 * has its low bit flipped. */
void tl_att_corrupt(uint8_t *p, size_t len);

struct tl_log;

/*
 * Noise: a pure function of (seed, virtual index, integratedTime, the
 * epoch's identities, the stored signature).  tl_noise_prepare computes
 * what the identity signs (digest) and which identity; tl_noise_body
 * rebuilds the exact body bytes from the stored signature.
 */
struct tl_noise {
    enum tl_kind kind;
    int v2;                       /* Rekor v2 body (tiles mode) */
    const struct tl_ident *ident; /* borrowed from the log */
    uint8_t artifact_hash[TL_HASH_LEN];
    uint8_t digest[TL_HASH_LEN]; /* what is signed */
    char payload[768];           /* intoto/dsse statement */
    size_t payload_len;
};
int tl_noise_prepare(const struct tl_log *log, uint64_t vindex, int64_t t,
                     uint64_t salt, struct tl_noise *n);
int tl_noise_body(const struct tl_noise *n, const uint8_t *sig, size_t sig_len,
                  struct tl_buf *out);
/* Make sure identities exist for every epoch up to and including the
 * epoch of time t (threads: parallelism for a large backlog).  0 / -1. */
int tl_epochs_ensure(struct tl_log *log, int64_t t, unsigned threads);
/* Free the epoch table. */
void tl_epochs_free(struct tl_log *log);

/* ------------------------------------------------------------------ log */

/* A body stored verbatim (appended signings, raw leaves, fork variants),
 * keyed by shard-local index, with the attestation served for it (att
 * NULL: none).  Owns body and att. */
struct tl_stored {
    uint64_t local;
    uint8_t *body;
    size_t len;
    uint8_t *att;
    size_t att_len;
};

/* One Trillian-like tree.  Owned by the log. */
struct tl_shard {
    uint64_t tree_id;
    uint64_t offset; /* virtual index of local index 0 */
    int active;
    struct tl_tree tree;
    uint64_t cap;                /* leaves allocated in the arrays below */
    int64_t *times;              /* integratedTime per leaf */
    uint8_t (*sigs)[TL_SIG_MAX]; /* noise signature per leaf */
    uint8_t *siglens;            /* 0 for stored leaves */
    struct tl_stored *stored;    /* sorted by local */
    size_t nstored;
    size_t capstored;
    /* cached signed checkpoint for (note_size, note_wrong, note_gen) */
    char *note;
    uint64_t note_size;
    int note_wrong;
    uint64_t note_gen;
    char *final_note;          /* inactive shards: frozen final checkpoint */
    uint8_t root[TL_HASH_LEN]; /* cached root at tree.size ... */
    uint64_t root_gen;         /* ... valid while log->gen equals this */
    int root_ok;
};

/* Tamper / drop / misdirect rules: index and how many more times (-1 =
 * forever); misdirect rules also name the index served instead. */
struct tl_rule {
    uint64_t vindex;
    int64_t remaining;
    uint64_t to; /* misdirect only */
};

#define TL_MAX_RULES 256

/* The whole log.  Created by main, owned by it; everything hangs off it. */
struct tl_log {
    uint64_t seed;
    char host[256];     /* checkpoint origin host and signer name */
    char base_url[300]; /* http://host:port */
    unsigned threads;
    struct tl_key log_key;
    struct tl_key wrong_key;
    struct tl_signer *signer; /* the event loop thread's */
    struct tl_ca ca;
    struct tl_ca impostor;
    char logid_hex[2 * TL_HASH_LEN + 1];
    int64_t genesis;   /* integratedTime of virtual index 0 */
    int64_t last_time; /* integratedTime of the newest entry */
    struct tl_epoch **epochs;
    size_t nepochs;
    struct tl_shard *shards[TL_MAX_SHARDS];
    size_t nshards; /* shards[nshards - 1] is active */
    int wrong_key_on;
    int frozen_ext; /* --tiles: /admin/tiles-frozen: "Log frozen" line */
    /* --tiles (tiles.c): a Rekor v2 log; the active shard is its tree */
    int tiles;
    char origin[300];          /* checkpoint origin and key name */
    struct tl_key tiles_key;   /* Ed25519, from the seed */
    struct tl_key tiles_wrong; /* Ed25519, /admin/wrong-key */
    char tiles_logid_hex[2 * TL_HASH_LEN + 1];
    char *tiles_note; /* cached checkpoint for (size, wrong, gen) */
    uint64_t tiles_note_size;
    int tiles_note_wrong;
    uint64_t tiles_note_gen;
    uint64_t gen; /* bumped on every change that alters a checkpoint */
    uint64_t fork_count;
    struct tl_rule tamper[TL_MAX_RULES];
    size_t ntamper;
    struct tl_rule drop[TL_MAX_RULES];
    size_t ndrop;
    struct tl_rule misdirect[TL_MAX_RULES];
    size_t nmisdirect;
    /* /admin/impossible: GET /api/v1/log (the active shard's head) and
     * --tiles GET /checkpoint serve a checkpoint signed by the log key
     * for imp_size leaves and root imp_root instead of the tree's */
    int imp_on;
    uint64_t imp_size;
    uint64_t imp_tree_size; /* v1: the JSON treeSize next to it */
    uint8_t imp_root[TL_HASH_LEN];
    char *imp_note; /* cached note, valid while log->gen == imp_note_gen */
    uint64_t imp_note_gen;
    /* --ct (ct.c): an RFC 6962 CT log; NULL otherwise */
    struct tl_ct *ct;
    /* scratch for the event loop thread (entry rendering) */
    struct tl_buf scratch_body;
    struct tl_buf scratch_canon;
    struct tl_buf scratch_b64;
    struct tl_buf scratch_att;
};

/* Create the log: keys, CAs, the first shard and n noise entries whose
 * integratedTime ends now; tiles: Rekor v2 bodies (then tl_tiles_init
 * before serving).  Returns new (free with tl_log_free). */
struct tl_log *tl_log_new(uint64_t seed, const char *host, uint64_t n,
                          unsigned threads, int tiles);
void tl_log_free(struct tl_log *log);

struct tl_shard *tl_log_active(const struct tl_log *log);
/* Total entries over all shards (= next virtual index). */
uint64_t tl_log_size(const struct tl_log *log);
/* Find the shard holding virtual index v; NULL when out of range. */
struct tl_shard *tl_log_locate(const struct tl_log *log, uint64_t v,
                               uint64_t *local);
struct tl_shard *tl_log_shard_by_id(const struct tl_log *log, uint64_t tree_id);
/* Locate by leaf hash (linear scan; tests only).  0 / -1 (not found). */
int tl_log_find_leaf(const struct tl_log *log, int have_tree, uint64_t tree_id,
                     const uint8_t leaf[TL_HASH_LEN], uint64_t *vindex);

/* Grow the active shard by n noise entries at integratedTime t (t <= 0:
 * spread from log->genesis at TL_NOISE_PER_SEC, the startup layout).
 * Uses log->threads workers.  0 / -1. */
int tl_log_grow_noise(struct tl_log *log, uint64_t n, int64_t t);
/* Append a stored body with integratedTime t and the attestation it
 * serves (att NULL: none; both copied).  0 / -1. */
int tl_log_append_body(struct tl_log *log, const uint8_t *body, size_t len,
                       const uint8_t *att, size_t att_len, int64_t t,
                       uint64_t *vindex);
/* Body of a leaf into body and its attestation (--ct: extra_data) into
 * att when not NULL (both reset); *has_att: 1 when it has one.  0 / -1. */
int tl_log_leaf(const struct tl_log *log, const struct tl_shard *s,
                uint64_t local, struct tl_buf *body, struct tl_buf *att,
                int *has_att);
/* Body bytes for a leaf, untampered (into out, reset first).  0 / -1. */
int tl_log_body(const struct tl_log *log, const struct tl_shard *s,
                uint64_t local, struct tl_buf *out);
/* Root of a shard at its current size (cached); borrowed. */
const uint8_t *tl_shard_root(struct tl_log *log, struct tl_shard *s);
/* Signed checkpoint of a shard at its current size; borrowed (valid until
 * the next change of the log).  NULL on failure. */
const char *tl_log_checkpoint(struct tl_log *log, struct tl_shard *s);
/* Render `"uuid":{...entry...}` for virtual index v (Rekor v1 LogEntry
 * member), with "attestation" first when the leaf has one (noise intoto /
 * dsse leaves: their payload, rebuilt; stored leaves: what was stored).
 * 1 rendered, 0 no such index, -1 failure. */
int tl_log_render_entry(struct tl_log *log, uint64_t v, struct tl_buf *out);
/* The uuid ("<16 hex tree id><64 hex leaf hash>", 81 bytes with NUL). */
void tl_log_uuid(const struct tl_shard *s, uint64_t local, char out[81]);

/* Misbehaviour. */
/* Replace leaf `local` of shard s with a different entry.  0 / -1. */
int tl_log_fork(struct tl_log *log, struct tl_shard *s, uint64_t local);
/* Truncate the active shard to size (< its size).  0 / -1. */
int tl_log_rollback(struct tl_log *log, uint64_t size);
/* Freeze the active shard and start a new one.  0 / -1. */
int tl_log_rotate(struct tl_log *log);
/* Rule lists (tamper, drop, misdirect): set / consume; to is the
 * misdirect target (0 for the others).  0 / -1 (list full). */
int tl_rule_set(struct tl_rule *rules, size_t *n, uint64_t v, int64_t remaining,
                uint64_t to);
/* 1 when v matches a live rule (consumes one use; *to, when to is not
 * NULL, gets the rule's target), else 0. */
int tl_rule_take(struct tl_rule *rules, size_t *n, uint64_t v, uint64_t *to);
/* The /admin/impossible checkpoint (v1: of the active shard's tree id;
 * tiles: of the origin), signed like the real ones (wrong-key included).
 * Borrowed, valid until the next change; NULL when off or on failure. */
const char *tl_log_impossible(struct tl_log *log);
/* Body tampering as served: a copy of body with one hex digit of its
 * first "value" changed (or its last byte flipped).  0 / -1. */
int tl_tamper_body(const uint8_t *body, size_t len, struct tl_buf *out);

/* ---------------------------------------------------------------- tiles */

#define TL_TILE_WIDTH 256    /* C2SP tlog-tiles: hashes / entries per tile */
#define TL_TILE_HEIGHT 8     /* levels per tile level */
#define TL_TILE_MAX_GROUPS 7 /* 3-digit groups in a tile index (< 10^21) */
#define TL_BUNDLE_MAX 0xffff /* an entry bundle's uint16 length limit */

/* A parsed tile request path. */
struct tl_tile_req {
    int entries;    /* 1: /tile/entries/..., 0: /tile/<L>/... */
    unsigned level; /* L (hash tiles) */
    uint64_t index; /* N */
    unsigned width; /* W of .p/<W> (1..255); 0: the full tile */
};

/* Keys (Ed25519 from the seed, and a wrong one) and origin for the tiles
 * view; origin is also the key name.  0 / -1. */
int tl_tiles_init(struct tl_log *log, const char *origin);
/* The signed checkpoint of the tiles view (C2SP signed note: origin,
 * size, base64 root, blank line, "\u2014 <origin> base64(hint || Ed25519
 * signature)"); under /admin/wrong-key signed by tiles_wrong with the log
 * key's hint.  Borrowed, valid until the next change; NULL on failure. */
const char *tl_tiles_checkpoint(struct tl_log *log);
/* The same note for any size and root.  New (caller frees), or NULL. */
char *tl_tiles_note_new(struct tl_log *log, uint64_t size,
                        const uint8_t root[TL_HASH_LEN]);
/* Parse a request path "/tile/<L>/<N>[.p/<W>]" or
 * "/tile/entries/<N>[.p/<W>]" (N in 3-digit groups, all but the last
 * prefixed with "x"; only the canonical spelling).  0 / -1. */
int tl_tiles_parse_path(const char *path, struct tl_tile_req *out);
/* Append the tile's bytes to out: W (or 256) hashes of tree level 8L, or
 * the entry bundle (uint16 big-endian length || body per entry; tamper
 * rules apply).  1 rendered, 0 beyond the tree (404), -1 failure. */
int tl_tiles_render(struct tl_log *log, const struct tl_tile_req *r,
                    struct tl_buf *out);
/* 1 when r is an entry bundle within the tree that holds an index with
 * a live drop rule (each such rule loses one use), else 0. */
int tl_tiles_withheld(struct tl_log *log, const struct tl_tile_req *r);
/* The C2SP verifier key "<origin>+<hex hint>+<base64(0x01 || key)>". */
int tl_tiles_vkey(const struct tl_log *log, struct tl_buf *out);

/* ------------------------------------------------------------------- ct */

#define TL_CT_POOL 8          /* noise identities of the CT log */
#define TL_CT_BATCH 256       /* get-entries batch cap, default */
#define TL_CT_BATCH_MAX 10000 /* --ct-batch, at most (~56 MB answers) */

/* A pool identity: DER certificate, precertificate and the
 * precertificate's TBSCertificate without poison (OPENSSL_free). */
struct tl_ct_cert {
    uint8_t *cert;
    size_t cert_len;
    uint8_t *pre;
    size_t pre_len;
    uint8_t *tbs;
    size_t tbs_len;
};

/* The CT view.  Owned by the log (log->ct). */
struct tl_ct {
    uint8_t issuer_key_hash[TL_HASH_LEN]; /* SHA-256(intermediate SPKI) */
    struct tl_buf chain; /* certificate_chain: intermediate, root */
    struct tl_ct_cert pool[TL_CT_POOL];
    uint64_t batch; /* get-entries cap */
    char *frozen;   /* /admin/ct-freeze: the get-sth answer served */
    struct tl_buf scratch;
    struct tl_buf scratch2;
};

/* Make log (created by tl_log_new with 0 entries) a CT log: the noise
 * pool, then n noise leaves ending now; batch = get-entries cap.
 * 0 / -1. */
int tl_ct_init(struct tl_log *log, uint64_t n, uint64_t batch);
void tl_ct_free(struct tl_ct *ct);
/* MerkleTreeLeaf bytes (der: the certificate, or the TBSCertificate when
 * precert) into out (reset first).  0 / -1. */
int tl_ct_leaf_build(int64_t ts_ms, int precert, const uint8_t ikh[TL_HASH_LEN],
                     const uint8_t *der, size_t len, struct tl_buf *out);
/* The precertificate of cert: cert plus the critical poison extension,
 * signed by ca's intermediate.  New, or NULL. */
X509 *tl_ct_precert(const struct tl_ca *ca, X509 *cert);
/* The final certificate of a logged precertificate: cert plus an embedded
 * SCT list (one SCT by the log key for the precert entry at ms), signed
 * by the CA's intermediate.  New, or NULL. */
X509 *tl_ct_final_cert(struct tl_log *log, X509 *cert, X509 *pre, int64_t ms);
/* DER TBSCertificate of pre without its poison extension (OPENSSL_free).
 * 0 / -1 (no poison). */
int tl_ct_tbs_unpoisoned(X509 *pre, uint8_t **tbs, size_t *len);
/* Noise leaf v at integratedTime t (salt != 0: a fork variant): its
 * leaf_input into body, its extra_data into att when not NULL. */
int tl_ct_noise_leaf(const struct tl_log *log, uint64_t v, int64_t t,
                     uint64_t salt, struct tl_buf *body, struct tl_buf *att);
/* Append a precert_entry for pre (when not NULL) or an x509_entry for
 * cert, timestamped t * 1000 + index % 1000 ms.  0 / -1. */
int tl_ct_append(struct tl_log *log, X509 *cert, X509 *pre, int64_t t,
                 uint64_t *vindex);
/* The DigitallySigned TreeHeadSignature into out (reset).  0 / -1. */
int tl_ct_sth_sign(EVP_PKEY *key, uint64_t ts, uint64_t size,
                   const uint8_t root[TL_HASH_LEN], struct tl_buf *out);
/* on: get-sth serves the STH signed now, unchanged, until called with
 * on = 0.  0 / -1. */
int tl_ct_freeze(struct tl_log *log, int on);
/* trusted_root.json with the log key under ctlogs (tlogs empty). */
int tl_ct_trusted_root(const struct tl_log *log, const char *base_url,
                       struct tl_buf *out);

/* --------------------------------------------------------------- server */

struct event_base;
struct evhttp;
struct evhttp_request;

enum tl_endpoint {
    TL_EP_LOG = 0,        /* GET /api/v1/log */
    TL_EP_PROOF,          /* GET /api/v1/log/proof */
    TL_EP_ENTRY,          /* GET /api/v1/log/entries?logIndex= */
    TL_EP_UUID,           /* GET /api/v1/log/entries/{uuid} */
    TL_EP_RETRIEVE,       /* POST /api/v1/log/entries/retrieve */
    TL_EP_PUBKEY,         /* GET /api/v1/log/publicKey */
    TL_EP_OTHER,          /* anything else under the API */
    TL_EP_CHECKPOINT,     /* --tiles: GET /checkpoint */
    TL_EP_TILE,           /* --tiles: GET /tile/<L>/<N>[.p/<W>] */
    TL_EP_BUNDLE,         /* --tiles: GET /tile/entries/<N>[.p/<W>] */
    TL_EP_CT_STH,         /* --ct: GET /ct/v1/get-sth */
    TL_EP_CT_CONSISTENCY, /* --ct: GET /ct/v1/get-sth-consistency */
    TL_EP_CT_PROOF,       /* --ct: GET /ct/v1/get-proof-by-hash */
    TL_EP_CT_ENTRIES,     /* --ct: GET /ct/v1/get-entries */
    TL_EP_CT_ROOTS,       /* --ct: GET /ct/v1/get-roots */
    TL_EP_COUNT
};

/* A request held back by /admin/delay.  Owned by the server's list. */
struct tl_pending;
/* An entry response being sent slowly (/admin/trickle).  Owned by the
 * server's list. */
struct tl_trickle;

#define TL_PAD_MAX (1ULL << 30) /* /admin/pad bytes, at most */
#define TL_TRICKLE_MAX 1e9      /* /admin/trickle bytes_per_s, at most */
#define TL_PREFIX_MAX 64        /* --prefix bytes, NUL included */

/* The HTTP side: created by main, owns its evhttp and pending requests,
 * borrows the log and the event base. */
struct tl_server {
    struct event_base *base;
    struct evhttp *http;
    struct tl_log *log;
    int verbose;
    /* /admin/fail: the next fail_count API requests get fail_status */
    int fail_status;
    int64_t fail_count;
    int fail_retry_after; /* seconds; -1 = no header */
    /* /admin/delay */
    int delay_ms;
    int64_t delay_count;
    /* /admin/rate: token bucket, 0 rps = off */
    double rate_rps;
    double rate_burst;
    double rate_tokens;
    double rate_last;
    /* /admin/pad: v1 entry responses padded to, tiles entry bundles
     * grown by, pad_bytes (0 = off); the padding is served by reference
     * from pad_space / pad_junk (TL_PAD_BLOCK bytes each, made on first
     * use, owned here) */
    uint64_t pad_bytes;
    char *pad_space;
    char *pad_junk;
    /* /admin/trickle: entry responses sent at trickle_bps (0 = off) */
    double trickle_bps;
    struct tl_trickle *trickles;
    size_t ntrickles;
    /* --prefix (tiles): the read API lives under it ("" = at the root) */
    char prefix[TL_PREFIX_MAX];
    /* statistics (GET /admin/stats) */
    uint64_t requests; /* API requests received */
    uint64_t admin_requests;
    uint64_t responses_2xx; /* API replies only, never /admin/ */
    uint64_t responses_4xx;
    uint64_t responses_429;
    uint64_t responses_5xx;
    uint64_t rate_limited;
    uint64_t injected_failures;
    uint64_t delayed;
    uint64_t entries_served;
    uint64_t dropped;
    uint64_t misdirected;
    uint64_t padded;   /* responses that got padding */
    uint64_t trickled; /* responses sent slowly (started) */
    uint64_t endpoint[TL_EP_COUNT];
    double started; /* tl_mono() at start */
    struct tl_pending *pending;
    struct tl_buf out; /* response scratch */
};

/* Bind host:port (port 0: any free port; *bound gets the port) and start
 * serving on base.  0 / -1. */
int tl_server_start(struct tl_server *srv, struct event_base *base,
                    struct tl_log *log, const char *host, unsigned port,
                    unsigned *bound);
/* Drop pending requests, finish trickles and free the evhttp. */
void tl_server_stop(struct tl_server *srv);
/* Send the rest of every response being trickled at once. */
void tl_trickle_flush_all(struct tl_server *srv);
/* Send a response with a body (copied); counts it in the statistics. */
void tl_reply(struct tl_server *srv, struct evhttp_request *req, int code,
              const char *ctype, const char *body, size_t len);
/* {"code":code,"message":msg}, Rekor's error model. */
void tl_reply_error(struct tl_server *srv, struct evhttp_request *req, int code,
                    long api_code, const char *msg);
/* The body of a request (NUL-terminated copy in out).  0 / -1. */
int tl_request_body(struct evhttp_request *req, struct tl_buf *out);
/* ct.c: answer a --ct read endpoint into out (JSON, or a text message
 * on error); returns the HTTP status. */
struct evkeyvalq;
int tl_ct_respond(struct tl_server *srv, enum tl_endpoint ep,
                  const struct evkeyvalq *q, struct tl_buf *out);
/* admin.c: handle any request under /admin/. */
void tl_admin_handle(struct tl_server *srv, struct evhttp_request *req,
                     const char *path);

/* Unix time as "YYYY-MM-DDTHH:MM:SSZ". */
void tl_rfc3339(int64_t t, char out[32]);

#endif
