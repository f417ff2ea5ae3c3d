/*
 * oci.h: the OCI registry client of the PCR lookup (issue 7).  From a Rekor
 * entry made by `cosign sign` (its spec.data.hash.value is the SHA-256 of
 * cosign's simple-signing payload) to the enclave PCRs of the signed
 * artifact, over the OCI distribution API, on the event loop.  Or, for an
 * entry that names the signed artifact manifest D itself (an in-toto
 * statement's subject digest), from D straight to its PCRs.
 *
 * The chain a lookup follows, and what it proves at each step:
 *  1. a bearer token: the configured credentials, or an anonymous token
 *     through the registry's WWW-Authenticate challenge (the token realm
 *     must be https://, or http:// on loopback like every URL);
 *  2. the cosign signature manifests (tags "sha256-<hex>.sig", from the
 *     paged tag list; with a commit SHA tag, first the manifest it names)
 *     and in one of them the layer whose digest is sha256:<data_hash>; its
 *     dev.sigstore.cosign/bundle annotation must carry the entry's
 *     logIndex and (when the caller gives it) its signature annotation the
 *     entry's signature;
 *  3. the simple-signing payload blob (its SHA-256 must be data_hash):
 *     critical.identity.docker-reference must be <registry_host>/
 *     <repository>, critical.image.docker-manifest-digest names manifest D;
 *  4. manifest D (its SHA-256 must be D): PCRs from its PCR0/PCR1/PCR2/PCR8
 *     annotations and from the small info layer (describe-eif JSON,
 *     .Measurements.PCRn, digest verified); when both are present they must
 *     agree.  The EIF layer is never downloaded (layers above
 *     OCI_MAX_INFO_BYTES or with an EIF media type are skipped).
 * A lookup by manifest digest (req.manifest_digest set) makes steps 1 and
 * 4 only: no tag list, no .sig manifest, no payload; D comes from the
 * caller instead of a signed payload, and step 4 runs unchanged (D's
 * SHA-256 verified, the same cross-checks, the same OCI_UNTRUSTED cases),
 * except that a 404 for D is OCI_NOT_YET (not pushed yet) where the
 * signature path, whose payload vouches that D exists, reports OCI_ERROR.
 * A lookup by attestation payload hash (req.att_payload_hash set: a dsse
 * entry made by `cosign attest`, whose statement Rekor does not keep) reads
 * cosign's attestation manifests instead: step 1, then the tags
 * "sha256-<hex>.att" (paged as in step 2; with a commit SHA tag, first the
 * .att of the manifest it names), and in each .att manifest the layers of
 * media type application/vnd.dsse.envelope.v1+json, last layer first
 * (cosign appends a new attestation to the manifest: the most recent comes
 * first).  A layer whose dev.sigstore.cosign/bundle logIndex is not the
 * entry's is ruled out without fetching it, and so is one above
 * OCI_MAX_ENVELOPE_BYTES; every other one is fetched (its SHA-256 must be
 * its digest: else OCI_UNTRUSTED), parsed as a DSSE envelope
 * (oci_parse_envelope) and its decoded payload hashed: the one that hashes
 * to att_payload_hash is the entry's statement, handed to the callback
 * (struct oci_pcrs.statement); nothing is read from the statement here
 * (attest_statement() does that).  A layer that is not an envelope or holds
 * another statement is passed over (the registry may hold junk beside the
 * entry's attestation); none found is OCI_NOT_YET.  At most
 * OCI_MAX_ATT_BLOBS envelopes are fetched in one lookup.
 * Every request has a size cap and a timeout; blob redirects are followed
 * by the transport, which never forwards Authorization to another host.
 *
 * A lookup makes one attempt; the caller retries OCI_NOT_YET and OCI_ERROR
 * with backoff until its lookup_timeout.  OCI_UNTRUSTED is never retried
 * into success silently: it reports a registry that lies.
 *
 * The parsers below are pure functions over untrusted bytes with the named
 * limits; each has a fuzz target (tests/fuzz/fuzz_oci_*.c).
 */
#ifndef TLOGWATCH_MONITOR_OCI_H
#define TLOGWATCH_MONITOR_OCI_H

#include <stddef.h>
#include <stdint.h>

struct http_client;
struct oci_token_cache;

/* Named limits. */
#define OCI_MAX_MANIFEST_BYTES (4u * 1024 * 1024) /* a manifest document */
#define OCI_MAX_TAGLIST_BYTES (4u * 1024 * 1024)  /* one tag list page */
#define OCI_MAX_TOKEN_BYTES (64u * 1024)          /* a token response */
#define OCI_MAX_PAYLOAD_BYTES (64u * 1024)        /* simple-signing payload */
#define OCI_MAX_INFO_BYTES (1024u * 1024)         /* the describe-eif layer */
#define OCI_MAX_ENVELOPE_BYTES (1024u * 1024)     /* a DSSE envelope layer */
#define OCI_MAX_LAYERS 64                         /* layers of a manifest */
#define OCI_MAX_ANNOTATION 16384 /* bytes of an annotation we keep */
#define OCI_MAX_SIG_TAGS 1000    /* .sig (.att) manifests read in a lookup */
#define OCI_MAX_ATT_BLOBS 128    /* DSSE envelopes fetched in one lookup */
#define OCI_MAX_TAG_PAGES 100    /* tag list pages read in one lookup */
#define OCI_TAG_PAGE 100         /* n= of a tag list request */
#define OCI_MAX_TAG 128          /* bytes of a tag (distribution spec) */
#define OCI_MAX_CHALLENGE 4096   /* a WWW-Authenticate value */
#define OCI_MAX_REF 512          /* a docker reference, a URL part */
#define OCI_DIGEST_LEN 71        /* "sha256:" + 64 hex */
#define OCI_PCR_HEX_LEN 96       /* SHA-384 in hex */
#define OCI_MAX_CACHED_TOKENS 64 /* repositories in a token cache */
#define OCI_TOKEN_TTL_S 50       /* seconds a cached token is reused (< 60) */
#define OCI_CONNECT_TIMEOUT_MS 10000
#define OCI_REQUEST_TIMEOUT_MS 30000

/* One lookup: every string is borrowed for the oci_lookup_start() call. */
struct oci_lookup_req {
    const char *registry_host; /* host[:port] */
    const char *repository;    /* e.g. acme/enclave-app (lower-cased) */
    int plain_http;            /* 1: http:// (loopback only) */
    const char *credentials;   /* bearer token, or NULL: anonymous */
    /* Exactly one of data_hash_hex, manifest_digest and att_payload_hash
     * is non-NULL. */
    const char *data_hash_hex;      /* spec.data.hash.value: 64 hex: the cosign
                                       signature path (steps 1 to 4) */
    const char *manifest_digest;    /* "sha256:<64 hex>": manifest D itself,
                                       steps 1 and 4 only; commit_sha,
                                       log_index and signature_b64 are then
                                       unused (still validated when given) */
    const char *att_payload_hash;   /* a dsse entry's spec.payloadHash.value:
                                       64 hex: the statement among cosign's
                                       .att manifests (log_index rules layers
                                       out; signature_b64 unused) */
    const char *commit_sha;         /* shortcut tag, may be NULL */
    uint64_t log_index;             /* the entry's logIndex */
    const char *signature_b64;      /* the entry's signature (base64), or NULL:
                                       then the layer's signature annotation is
                                       not compared */
    struct oci_token_cache *tokens; /* borrowed, must outlive the lookup;
                                       NULL: no cache.  Unused with
                                       credentials. */
};

/*
 * Found PCRs, indexes as config/config.h enum config_pcr (0,1,2,8).  From a
 * lookup by att_payload_hash: present = 0, no PCRs (the statement holds
 * them: attest_statement), statement/statement_len the verified DSSE
 * payload (its SHA-256 is att_payload_hash), artifact_digest the manifest
 * the .att tag it was found under names ("sha256-<hex>.att").  Otherwise
 * statement is NULL and statement_len 0.
 */
struct oci_pcrs {
    unsigned present;                         /* bit (1u << i) per PCR found */
    char hex[4][OCI_PCR_HEX_LEN + 1];         /* lowercase */
    char artifact_digest[OCI_DIGEST_LEN + 1]; /* manifest D */
    const uint8_t *statement; /* borrowed: valid during the callback only
                                 (a copy of the struct must not keep it) */
    size_t statement_len;
};

enum oci_result {
    OCI_OK = 0,    /* PCRs found and cross-checked (or, by att_payload_hash,
                      the entry's statement found) */
    OCI_NOT_YET,   /* the signature manifest (or, by manifest digest,
                      manifest D; by att_payload_hash, an attestation
                      with that payload) is not there yet: retry */
    OCI_UNTRUSTED, /* a digest mismatch, annotations that disagree with the
                      info layer, a payload naming another repository, a
                      bundle with another logIndex: report, never trust */
    OCI_ERROR,     /* transport or registry error: retry */
};

/* A static name of r ("ok", "not_yet", "untrusted", "error"). */
const char *oci_result_str(enum oci_result r);

/*
 * The callback of a lookup: pcrs is non-NULL for OCI_OK only; why is a
 * human-readable cause (never a secret); both borrowed for the call.  The
 * lookup is freed when the callback returns.
 */
typedef void (*oci_lookup_cb)(enum oci_result res, const struct oci_pcrs *pcrs,
                              const char *why, void *arg);

struct oci_lookup;

/*
 * Starts a lookup on http (borrowed: must outlive the lookup).  Returns a
 * handle, borrowed: valid until the callback starts or oci_lookup_cancel()
 * returns.  cb is called exactly once, later, from the event loop (never
 * from inside this call).  Returns NULL, and never calls cb, on invalid
 * input (not exactly one of data_hash_hex, manifest_digest and
 * att_payload_hash set, data_hash_hex or att_payload_hash not 64 hex,
 * manifest_digest not "sha256:" and 64 hex (the hex in either case),
 * missing host or repository, a host or
 * repository outside the distribution spec's alphabet or too long, a
 * commit_sha that is not a valid tag, a signature_b64 that is not base64,
 * credentials with blanks or control bytes) or on allocation failure.
 *
 * Without a token cache each lookup fetches its own anonymous token (a
 * 401 and one extra request); with one, a token fetched for the same
 * scheme, host and repository in the last ttl seconds is sent at once (a
 * 401 to it drops it and fetches a new one).  The
 * .sig manifests are read one after another, at most OCI_MAX_SIG_TAGS.  A
 * lookup by manifest digest makes four requests (D answered 401, the
 * token, D, the info layer; a blob redirect adds one).  A lookup by
 * att_payload_hash reads the tag list and the .att manifests like the
 * signature path, plus one blob per DSSE layer not ruled out by its
 * logIndex (at most OCI_MAX_ATT_BLOBS).
 */
struct oci_lookup *oci_lookup_start(struct http_client *http,
                                    const struct oci_lookup_req *req,
                                    oci_lookup_cb cb, void *arg);

/* Stops a lookup; its callback is never called.  NULL is a no-op. */
void oci_lookup_cancel(struct oci_lookup *l);

/*
 * A cache of anonymous bearer tokens, one per scheme://host/v2/repository
 * (a token never goes to another host or repository), at most
 * OCI_MAX_CACHED_TOKENS (the oldest is dropped), each reused for ttl_s
 * seconds of the monotonic clock (0: OCI_TOKEN_TTL_S).  Returns new (free
 * with oci_token_cache_free), or NULL on allocation failure.  Not thread
 * safe: one event loop.
 */
struct oci_token_cache *oci_token_cache_new(unsigned ttl_s);

/* Wipes and frees every token and the cache.  NULL is a no-op. */
void oci_token_cache_free(struct oci_token_cache *c);

/*
 * Pure parsers (no I/O, no allocation that outlives the call).
 */

/* A Bearer challenge, "Bearer realm="...",service="...",scope="..."". */
struct oci_challenge {
    char realm[OCI_MAX_REF];
    char service[OCI_MAX_REF];
    char scope[OCI_MAX_REF];
};

/*
 * Parses a WWW-Authenticate value (len bytes, at most OCI_MAX_CHALLENGE)
 * with scheme Bearer (case-insensitive) and quoted or token parameters.
 * realm is required; service and scope may be empty.  0 or -1.
 */
int oci_parse_challenge(const char *v, size_t len, struct oci_challenge *out);

/* Parses a token response {"token": ...} or {"access_token": ...} into
 * tok (NUL-terminated, at most cap - 1 bytes).  0 or -1. */
int oci_parse_token(const char *buf, size_t len, char *tok, size_t cap);

/* One layer of a parsed manifest. */
struct oci_layer {
    char media_type[OCI_MAX_REF];
    char digest[OCI_DIGEST_LEN + 1]; /* "sha256:<64 lowercase hex>" */
    uint64_t size;
    char title[OCI_MAX_REF];            /* org.opencontainers.image.title */
    int has_log_index;                  /* the cosign bundle gave a logIndex */
    uint64_t bundle_log_index;          /* dev.sigstore.cosign/bundle */
    int has_signature;                  /* dev.cosignproject.cosign/signature,
                                           decoded (standard base64) */
    unsigned char signature_sha256[32]; /* SHA-256 of the decoded bytes */
};

/* The fields of an OCI image manifest this module uses. */
struct oci_manifest {
    char media_type[OCI_MAX_REF];
    char artifact_type[OCI_MAX_REF];
    struct oci_layer layers[OCI_MAX_LAYERS];
    size_t n_layers;
    struct oci_pcrs pcrs; /* from the PCRn annotations (digest unset) */
};

/*
 * Parses a manifest (at most OCI_MAX_MANIFEST_BYTES).  Layers need a
 * sha256 digest and a size; more than OCI_MAX_LAYERS layers, a PCR
 * annotation that is not 96 hex, a bundle annotation whose logIndex
 * does not parse, or a signature annotation that is not base64 (at most
 * OCI_MAX_ANNOTATION bytes) is -1.  An empty signature annotation (what
 * cosign writes on attestation layers, whose signature is in the
 * envelope) is no signature (has_signature 0).  0 on success.
 */
int oci_parse_manifest(const char *buf, size_t len, struct oci_manifest *out);

/*
 * Parses one tag list page {"name": ..., "tags": [...]}, calling
 * tag(tag, arg) for each tag (NUL-terminated, at most OCI_MAX_TAG bytes,
 * borrowed for the call), and sets *ntags to their count and last (cap
 * OCI_MAX_TAG + 1) to the last tag ("" when none).  0 or -1.
 */
int oci_parse_tag_list(const char *buf, size_t len,
                       void (*tag)(const char *t, void *arg), void *arg,
                       size_t *ntags, char *last);

/*
 * Parses cosign's simple-signing payload (at most OCI_MAX_PAYLOAD_BYTES):
 * critical.image.docker-manifest-digest into digest (a sha256 digest) and
 * critical.identity.docker-reference into ref (cap OCI_MAX_REF).  0 or -1.
 */
int oci_parse_simple_signing(const char *buf, size_t len,
                             char digest[OCI_DIGEST_LEN + 1],
                             char ref[OCI_MAX_REF]);

/*
 * Parses `nitro-cli describe-eif` JSON (at most OCI_MAX_INFO_BYTES):
 * .Measurements.PCR0/1/2/8, each 96 hex (stored lowercase).  At least
 * PCR0 is required.  0 or -1.
 */
int oci_parse_describe_eif(const char *buf, size_t len, struct oci_pcrs *out);

/*
 * Parses a DSSE envelope (at most OCI_MAX_ENVELOPE_BYTES) as cosign stores
 * it in an .att layer: {"payloadType": "application/vnd.in-toto+json",
 * "payload": "<standard base64>", "signatures": [{"keyid": ..., "sig":
 * "<base64>"}, ...]} (at least one signature with a string sig; the
 * signatures are not verified: the caller compares the payload's hash with
 * the log).  The decoded payload (not empty) goes to out (cap bytes; len
 * bytes are always enough), its length to *out_len.  0 or -1.
 */
int oci_parse_envelope(const char *buf, size_t len, uint8_t *out, size_t cap,
                       size_t *out_len);

#endif
