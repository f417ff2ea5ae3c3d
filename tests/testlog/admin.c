/*
 * admin.c: the control endpoint of tlogwatch-testlog, /admin/ on the API
 * port (JSON in, JSON out; never throttled).  Every operation:
 *
 *   GET  /admin/stats      requests, 2xx/4xx/429/5xx responses, rate
 *                          limited, injected failures, delayed, entries
 *                          served, dropped, per-endpoint counts, size
 *   GET  /admin/info       url, host, origin, log id, tree ids, shards,
 *                          sizes, seed
 *   POST /admin/grow       {"count":N}  N noise entries (many distinct
 *                          identities) -> {"first_index","size"}
 *   POST /admin/append     one signing with given claims:
 *                          {"repository":"owner/repo" (required),
 *                           "repository_id","repository_owner","owner_id",
 *                           "workflow":".github/workflows/x.yml",
 *                           "ref":"refs/heads/main","trigger":"push",
 *                           "runner_environment":"github-hosted",
 *                           "sha":"<40 hex>","build_signer":URI | path |
 *                           owner/repo/path@ref (default: the workflow; a
 *                           different value = reusable workflow, .9 != .18),
 *                           "build_signer_sha","workflow_name",
 *                           "visibility","issuer","run_id",
 *                           "impostor":false (true: signed by the impostor
 *                           CA, not in trusted_root.json),
 *                           "kind":"hashedrekord"|"intoto"|"dsse",
 *                           "payload_b64": bytes the leaf key signs
 *                           (hashedrekord: data.hash = SHA-256 of them;
 *                           intoto/dsse: the DSSE payload),
 *                           "attestation": intoto/dsse only (400 for
 *                           hashedrekord): what every read endpoint
 *                           serves as the entry's Rekor LogEntry member
 *                           "attestation":{"data":base64}:
 *                             "store" (intoto default) the payload, as
 *                               Rekor with attestation storage (for
 *                               dsse only on request: Rekor's dsse
 *                               type never stores one); not stored
 *                               (as "omit") when its decoded base64
 *                               length exceeds 100 KiB, Rekor's
 *                               max_attestation_size default;
 *                             "omit" (dsse default) no attestation
 *                               member, as Rekor when it did not store
 *                               the payload;
 *                             "corrupt" the payload with one byte changed
 *                               (its last hex digit 0<->1, else its last
 *                               byte's low bit), so its SHA-256 no longer
 *                               equals the body's payloadHash}
 *                          or {"email":"a@b", "issuer":...} for an email
 *                          identity.  -> {"index","uuid","shard_index",
 *                          "tree_id","integrated_time","leaf_hash","kind",
 *                          "certificate_pem","signature_b64",
 *                          "artifact_sha256","payload_b64",
 *                          "envelope" (intoto/dsse),"attestation"
 *                          (intoto/dsse: the mode in effect, "store",
 *                          "omit" or "corrupt"),"san","impostor"}
 *                          Noise intoto/dsse entries (startup, /grow,
 *                          /fork variants) serve their payload as
 *                          "store" does.
 *   POST /admin/append-malformed  an entry whose body is canonical JSON
 *                          with a correct leaf hash that cannot be decoded
 *                          (hashedrekord whose publicKey is not PEM)
 *                          -> {"index","uuid","shard_index"}
 *   POST /admin/append-raw {"body_b64":..} any bytes as an entry body
 *                          (e.g. the RFC 6962 reference leaves)
 *   POST /admin/fork       {"index":V} (default: the newest entry) replace
 *                          one leaf: every checkpoint served before that
 *                          covers V is now inconsistent -> {"index",
 *                          "old_root","new_root","tree_id"}
 *   POST /admin/rollback   {"size":N} or {"count":K}: the active shard
 *                          shrinks to N (or by K) leaves -> {"size"}
 *   POST /admin/wrong-key  {"on":true|false} sign checkpoints with another
 *                          key (same key hint)
 *   POST /admin/tamper     {"index":V,"count":K} serve a modified body for
 *                          V the next K times (default -1: until cleared;
 *                          0 clears); uuid, proof and SET stay the log's
 *   POST /admin/drop       {"index":V,"count":K} withhold V from the next
 *                          K reads of it (-1 = forever, the default; 0
 *                          clears): omitted from retrieve (by index or
 *                          uuid), 404 without a body from
 *                          entries?logIndex= and entries/{uuid}, so no
 *                          v1 read endpoint routes around it; V may lie
 *                          beyond the tree (withheld once it exists)
 *   POST /admin/misdirect  {"index":V,"count":K,"to":J} the next K reads
 *                          of V (retrieve by index or uuid, logIndex=,
 *                          entries/{uuid}) answer 200 with the real entry
 *                          of J (its own uuid, logIndex, proof and SET)
 *                          instead; J < size, J != V; count as for drop
 *                          (0 clears, "to" then optional); drop wins
 *   POST /admin/impossible {"size":N,"tree_size":M,"root":hex} or
 *                          {"off":true}: GET /api/v1/log serves, for the
 *                          active shard, a checkpoint signed by the log
 *                          key (the wrong key under /admin/wrong-key) of
 *                          N leaves and root hex (default SHA-256 of
 *                          "tlogwatch-testlog impossible checkpoint
 *                          size=N"), with rootHash = root and treeSize =
 *                          M (default N) written as a JSON integer even
 *                          beyond int64: production's int64 field cannot
 *                          hold such a size, and a JSON reader without
 *                          big integers refuses the document, whereas
 *                          the signed note is the evidence; tree_size
 *                          lets a test keep the document int64-clean.
 *                          N and M are JSON integers or decimal strings
 *                          up to 18446744073709551615 (integers beyond
 *                          int64 are read exactly: quote_big_ints).  The
 *                          other endpoints (proofs, entries and their
 *                          inclusion-proof checkpoints, inactive shards)
 *                          serve the real tree.  -> {"on","size",
 *                          "tree_size","root","note"} (sizes as strings)
 *   POST /admin/pad        {"bytes":N} (0 = off, at most 2^30): every 200
 *                          answer of a v1 entry endpoint (retrieve,
 *                          logIndex=, entries/{uuid}) is padded to N
 *                          bytes with spaces after the JSON value (still
 *                          the same JSON; never cut when longer)
 *   POST /admin/trickle    {"bytes_per_s":B} (0 = off, at most 1e9): the
 *                          same answers (200 only; Content-Length up
 *                          front) are sent at about B bytes/s each, on
 *                          event timers, so other connections are served
 *                          meanwhile; turning it off (or reset) sends
 *                          the rest of in-flight answers at once
 *   POST /admin/tiles-frozen {"on":B} (--tiles) /checkpoint carries the
 *                          extension line "Log frozen" (a frozen Rekor v2
 *                          log), signed with the rest
 *   POST /admin/rotate     freeze the active shard (its final checkpoint
 *                          goes to inactiveShards), start a new tree id at
 *                          shard index 0; virtual indexes continue
 *   POST /admin/fail       {"status":429|500|503|..,"count":K,
 *                          "retry_after":S} answer the next K API requests
 *                          with status (-1 = all until reset)
 *   POST /admin/delay      {"ms":D,"count":K} answer the next K API
 *                          requests after D ms (-1 = all)
 *   POST /admin/rate       {"rps":R,"burst":B} token bucket of R requests
 *                          per second (burst B, default max(1, R));
 *                          429 + Retry-After beyond it; 0 = off
 *   POST /admin/reset      clear fail, delay, rate, wrong-key, tamper,
 *                          drop, misdirect, impossible, pad and trickle
 *                          (the tree is kept; requests already held by
 *                          delay keep their timers)
 *
 * With --tiles (a Rekor v2 log, tiles.c) the same operations act on the
 * tree the tlog-tiles API serves: grow and append add hashedrekord 0.0.2
 * entries (append: kind hashedrekord, or dsse, logged as Rekor v2 does
 * as a hashedrekord whose digest is SHA-256 of the DSSE PAE and whose
 * signature is the envelope's; intoto and "attestation" are refused
 * with 400; the reply also has "body_b64"); fork / rollback change what
 * /checkpoint signs; wrong-key signs it with another Ed25519 key; tamper
 * changes the entry bundles that hold the index (its data digest); drop
 * makes every entry bundle holding the index (full or .p/W) answer 404,
 * as a bundle that never arrives (each such request uses one count of
 * each index it holds; hash tiles are unaffected); impossible signs
 * /checkpoint with the Ed25519 key for N and the root; pad appends N
 * bytes of junk (0xff) to every entry bundle, so a client downloads them
 * and then finds the bundle malformed; trickle sends entry bundles
 * slowly; fail, delay and rate apply to /checkpoint and /tile/ requests;
 * append-raw refuses bodies over 65535 bytes (an entry bundle's limit);
 * rotate and misdirect are refused (400: no shards, and bundles are
 * addressed by position, not by index).
 *
 * With --ct (an RFC 6962 CT log, ct.c): grow adds noise leaves (pool
 * precertificates and certificates); append issues a certificate for the
 * same claims (github or email; "impostor" refused: a CT log takes only
 * chains to its roots) and logs it WITHOUT any Rekor entry:
 * "ct_entry":"precert" (default: a precert_entry, as Fulcio logs) or
 * "cert" (an x509_entry) -> {"index","leaf_hash","timestamp" (ms),
 * "certificate_pem" (precert: with the entry's SCT embedded, as Fulcio's;
 * ct.c),"precertificate_pem" (precert only),
 * "private_key_pem" (the leaf's P-256 key, PKCS#8),"san",...}.  To give
 * the same certificate a Rekor entry, pass "certificate_pem" and
 * "private_key_pem" to /admin/append of a Rekor-mode (v1 or --tiles) test
 * log: it then signs with that key and logs that certificate instead of
 * issuing one (claims are then neither needed nor used).  fork replaces
 * a leaf with a variant (another timestamp); rollback, wrong-key (STH
 * signature), impossible (STH of N and root), tamper (leaf_input with
 * one byte flipped), drop (get-entries ends its batch before the index)
 * and fail / delay / rate / pad / trickle apply; rotate, misdirect and
 * append-malformed are refused (400).  POST /admin/ct-batch {"batch":N}
 * (1..10000) sets the get-entries cap (--ct-batch) from now on;
 * POST /admin/ct-freeze {"on":true|false}: get-sth keeps answering the
 * STH of that call, byte for byte, while the tree may grow (a stale
 * log); reset clears it.
 *
 * Errors are {"error":"..."} with 400 (bad input), 404 (unknown operation
 * or index) or 500.  Input is parsed with jansson and every field is
 * checked for type, range and length (TL_MAX_STR, printable ASCII) before
 * use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "merkle/merkle.h"
#include "testlog.h"

static void
reply_json(struct tl_server *srv, struct evhttp_request *req, int code,
           json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    if (text == NULL) {
        tl_reply(srv, req, 500, "application/json",
                 "{\"error\":\"out of memory\"}\n", 26);
    } else {
        size_t n = strlen(text);

        text[n] = '\n'; /* json_dumps leaves room: replace NUL, send n+1 */
        tl_reply(srv, req, code, "application/json", text, n + 1);
    }
    free(text);
    json_decref(doc);
}

static void
reply_err(struct tl_server *srv, struct evhttp_request *req, int code,
          const char *msg)
{
    reply_json(srv, req, code, json_pack("{s:s}", "error", msg));
}

/* Field accessors: 0 ok (or absent when optional), -1 bad value. */
static int
get_int(json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(o, k);

    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int
get_bool(json_t *o, const char *k, int *out)
{
    json_t *v = json_object_get(o, k);

    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* A printable-ASCII string of at most TL_MAX_STR bytes. */
static int
get_str(json_t *o, const char *k, const char **out)
{
    json_t *v = json_object_get(o, k);
    const char *s;
    size_t i, n;

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > TL_MAX_STR) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return -1;
        }
    }
    *out = s;
    return 0;
}

static int
is_hex(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* A uint64: a JSON integer >= 0, or a string of 1 to 20 decimal digits
 * up to UINT64_MAX (what quote_big_ints makes of a larger integer).
 * 0 ok (or absent), -1 bad value. */
static int
get_u64(json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);
    const char *s;
    uint64_t x = 0;
    size_t i, n;

    if (v == NULL) {
        return 0;
    }
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            return -1;
        }
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > 20) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/*
 * Copy the JSON text in[0, len) to out with every integer literal that
 * int64 cannot hold turned into a string of its digits: jansson refuses
 * such a document ("too big integer"), yet a log size up to UINT64_MAX
 * is a fair question.  Strings are copied verbatim (escapes included);
 * other numbers too.  At most doubles the length.  0 / -1.
 */
static int
quote_big_ints(const char *in, size_t len, struct tl_buf *out)
{
    size_t i = 0, j;
    int in_str = 0;

    tl_buf_reset(out);
    if (tl_buf_reserve(out, len) != 0) {
        return -1;
    }
    while (i < len) {
        char c = in[i];

        if (in_str || (c != '-' && (c < '0' || c > '9'))) {
            size_t n = in_str && c == '\\' && i + 1 < len ? 2 : 1;

            if (c == '"' && n == 1) {
                in_str = !in_str;
            }
            if (tl_buf_add(out, in + i, n) != 0) {
                return -1;
            }
            i += n;
            continue;
        }
        /* a number token: [-0-9.eE+]* */
        j = i + 1;
        while (j < len && in[j] != '\0' &&
               strchr("0123456789.eE+-", in[j]) != NULL) {
            j++;
        }
        if (j - i <= 32 &&
            strspn(in + i + (c == '-'), "0123456789") == j - i - (c == '-')) {
            char tok[33];
            char *end;

            memcpy(tok, in + i, j - i);
            tok[j - i] = '\0';
            errno = 0;
            (void)strtoll(tok, &end, 10);
            if (errno == ERANGE) {
                if (tl_buf_printf(out, "\"%s\"", tok) != 0) {
                    return -1;
                }
                i = j;
                continue;
            }
        }
        if (tl_buf_add(out, in + i, j - i) != 0) {
            return -1;
        }
        i = j;
    }
    return 0;
}

/* The request's JSON object; an empty body is {}.  New or NULL. */
static json_t *
load_body(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_buf b = {0}, q = {0};
    json_error_t jerr;
    json_t *doc = NULL;

    if (tl_request_body(req, &b) != 0) {
        reply_err(srv, req, 500, "out of memory");
        goto done;
    }
    if (b.len == 0) {
        doc = json_object();
        goto done;
    }
    if (quote_big_ints(b.p, b.len, &q) != 0) {
        reply_err(srv, req, 500, "out of memory");
        goto done;
    }
    doc = json_loadb(q.p, q.len, 0, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
        reply_err(srv, req, 400, "body must be a JSON object");
    }
done:
    tl_buf_free(&b);
    tl_buf_free(&q);
    return doc;
}

static json_t *
hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * TL_HASH_LEN + 1];

    if (n > TL_HASH_LEN || merkle_hex_encode(p, n, hex, sizeof(hex)) < 0) {
        return NULL;
    }
    return json_string(hex);
}

static json_t *
u64_str(uint64_t v)
{
    char s[24];

    snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
    return json_string(s);
}

/* {"index","uuid","shard_index","tree_id","leaf_hash"} for entry v. */
static json_t *
entry_ref(const struct tl_log *log, uint64_t v)
{
    struct tl_shard *s;
    uint64_t local;
    char uuid[81];

    s = tl_log_locate(log, v, &local);
    if (s == NULL) {
        return NULL;
    }
    tl_log_uuid(s, local, uuid);
    return json_pack("{s:I, s:s, s:I, s:o, s:o, s:I}", "index", (json_int_t)v,
                     "uuid", uuid, "shard_index", (json_int_t)local, "tree_id",
                     u64_str(s->tree_id), "leaf_hash",
                     hex_json(s->tree.level[0][local], TL_HASH_LEN),
                     "integrated_time", (json_int_t)s->times[local]);
}

static int64_t
next_time(const struct tl_log *log)
{
    int64_t now = tl_now();

    return now > log->last_time ? now : log->last_time;
}

/* ------------------------------------------------------------- append */

/* A PEM string field (printable ASCII plus newlines, at most 16 KiB). */
static int
get_pem(json_t *o, const char *k, const char **out)
{
    json_t *v = json_object_get(o, k);
    const char *s;
    size_t i, n;

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || n > 16384) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\n' && s[i] != '\r') {
            return -1;
        }
    }
    *out = s;
    return 0;
}

/* Parse a PEM certificate and the private key that matches it.  0 / -1. */
static int
pem_pair(const char *cert_pem, const char *key_pem, X509 **cert, EVP_PKEY **key)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1);
    BIO *kb = BIO_new_mem_buf(key_pem, -1);
    int rc = -1;

    *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    if (*cert != NULL && *key != NULL && X509_check_private_key(*cert, *key)) {
        rc = 0;
    }
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

/* --ct: log cert (as a precertificate when precert) and reply. */
static void
ct_append(struct tl_server *srv, struct evhttp_request *req, X509 *cert,
          EVP_PKEY *key, int precert, int64_t t, const struct tl_buf *pem)
{
    struct tl_log *log = srv->log;
    struct tl_buf prepem = {0}, keypem = {0}, finalpem = {0};
    X509 *pre = NULL, *final = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    struct tl_shard *s;
    uint64_t v, local;
    char *data;
    long n;
    json_t *out;

    if (precert) {
        pre = tl_ct_precert(&log->ca, cert);
        if (pre == NULL || tl_pem_cert(pre, &prepem) != 0) {
            reply_err(srv, req, 500, "precertificate issuance failed");
            goto done;
        }
    }
    if (bio == NULL ||
        PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(bio, &data)) <= 0 ||
        tl_buf_add(&keypem, data, (size_t)n) != 0) {
        reply_err(srv, req, 500, "key export failed");
        goto done;
    }
    if (tl_ct_append(log, cert, pre, t, &v) != 0 ||
        (s = tl_log_locate(log, v, &local)) == NULL) {
        reply_err(srv, req, 500, "append failed");
        goto done;
    }
    if (pre != NULL) {
        /* Fulcio's certificate: the SCT of this entry embedded */
        final =
            tl_ct_final_cert(log, cert, pre, t * 1000 + (int64_t)(v % 1000));
        if (final == NULL || tl_pem_cert(final, &finalpem) != 0) {
            reply_err(srv, req, 500, "final certificate issuance failed");
            goto done;
        }
        pem = &finalpem;
    }
    out = json_pack("{s:I, s:o, s:I, s:s, s:s, s:s}", "index", (json_int_t)v,
                    "leaf_hash", hex_json(s->tree.level[0][local], TL_HASH_LEN),
                    "timestamp", (json_int_t)(t * 1000 + (int64_t)(v % 1000)),
                    "entry_type", precert ? "precert_entry" : "x509_entry",
                    "certificate_pem", pem->p, "private_key_pem", keypem.p);
    if (out != NULL && pre != NULL) {
        json_object_set_new(out, "precertificate_pem", json_string(prepem.p));
    }
    reply_json(srv, req, out != NULL ? 200 : 500, out);
done:
    if (keypem.p != NULL) {
        OPENSSL_cleanse(keypem.p, keypem.len);
    }
    tl_buf_free(&keypem);
    tl_buf_free(&prepem);
    tl_buf_free(&finalpem);
    BIO_free(bio);
    X509_free(pre);
    X509_free(final);
}

static void
op_append(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    struct tl_log *log = srv->log;
    struct tl_github g;
    struct tl_github_strs *st = NULL;
    struct tl_claims c;
    struct tl_body_in bi;
    struct tl_buf pem = {0}, vb64 = {0}, body = {0}, env = {0}, tmp = {0};
    struct tl_buf der64 = {0};
    unsigned char *der = NULL;
    int der_len;
    const char *kind_s = NULL, *payload_b64 = NULL, *email = NULL;
    const char *att_s = NULL, *ct_entry = NULL;
    const char *cert_pem_in = NULL, *key_pem_in = NULL;
    enum tl_att att = TL_ATT_STORE; /* dsse: TL_ATT_OMIT unless asked */
    uint8_t *att_bytes = NULL;
    char sha[41], repo_id[24], owner_id[24], defpayload[256];
    uint8_t *payload = NULL, artifact[TL_HASH_LEN], digest[TL_HASH_LEN];
    uint8_t sig[TL_SIG_MAX];
    size_t payload_len = 0, siglen = sizeof(sig), i;
    int impostor = 0;
    int64_t t, run_id = -1;
    uint64_t v, h;
    enum tl_kind kind = TL_KIND_HASHEDREKORD;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    json_t *out, *pb;

    memset(&g, 0, sizeof(g));
    if (get_str(in, "repository", &g.repository) != 0 ||
        get_str(in, "repository_id", &g.repository_id) != 0 ||
        get_str(in, "repository_owner", &g.owner) != 0 ||
        get_str(in, "owner_id", &g.owner_id) != 0 ||
        get_str(in, "workflow", &g.workflow) != 0 ||
        get_str(in, "ref", &g.ref) != 0 ||
        get_str(in, "trigger", &g.trigger) != 0 ||
        get_str(in, "runner_environment", &g.runner_environment) != 0 ||
        get_str(in, "sha", &g.sha) != 0 ||
        get_str(in, "build_signer", &g.build_signer) != 0 ||
        get_str(in, "build_signer_sha", &g.build_signer_sha) != 0 ||
        get_str(in, "workflow_name", &g.workflow_name) != 0 ||
        get_str(in, "visibility", &g.visibility) != 0 ||
        get_str(in, "issuer", &g.issuer) != 0 ||
        get_str(in, "email", &email) != 0 ||
        get_str(in, "kind", &kind_s) != 0 ||
        get_str(in, "attestation", &att_s) != 0 ||
        get_str(in, "ct_entry", &ct_entry) != 0 ||
        get_pem(in, "certificate_pem", &cert_pem_in) != 0 ||
        get_pem(in, "private_key_pem", &key_pem_in) != 0 ||
        get_int(in, "run_id", 1, INT64_MAX, &run_id) != 0 ||
        get_bool(in, "impostor", &impostor) != 0) {
        reply_err(srv, req, 400,
                  "bad field: claims are printable ASCII strings of 1 to 512 "
                  "bytes, run_id a positive integer, impostor a boolean");
        goto done;
    }
    pb = json_object_get(in, "payload_b64");
    if (pb != NULL && !json_is_string(pb)) {
        reply_err(srv, req, 400, "payload_b64 must be a base64 string");
        goto done;
    }
    payload_b64 = pb != NULL ? json_string_value(pb) : NULL;
    if (kind_s != NULL && tl_kind_parse(kind_s, &kind) != 0) {
        reply_err(srv, req, 400, "kind must be hashedrekord, intoto or dsse");
        goto done;
    }
    if (log->tiles && (kind == TL_KIND_INTOTO || att_s != NULL)) {
        reply_err(srv, req, 400,
                  "the tiles log (Rekor v2) appends kind hashedrekord or "
                  "dsse, and stores no attestation");
        goto done;
    }
    if (att_s == NULL && kind == TL_KIND_DSSE) {
        att = TL_ATT_OMIT; /* Rekor's dsse type persists no attestation */
    }
    if (att_s != NULL &&
        (kind == TL_KIND_HASHEDREKORD || tl_att_parse(att_s, &att) != 0)) {
        reply_err(srv, req, 400,
                  "attestation (intoto and dsse only) must be store, omit "
                  "or corrupt");
        goto done;
    }
    if ((cert_pem_in == NULL) != (key_pem_in == NULL) ||
        (cert_pem_in != NULL && (log->ct != NULL || impostor))) {
        reply_err(srv, req, 400,
                  "certificate_pem and private_key_pem go together, to a "
                  "Rekor-mode log, without impostor");
        goto done;
    }
    if (log->ct != NULL &&
        (impostor || (ct_entry != NULL && strcmp(ct_entry, "precert") != 0 &&
                      strcmp(ct_entry, "cert") != 0))) {
        reply_err(srv, req, 400,
                  "the CT log takes chains to its own CA only (no "
                  "impostor); ct_entry is precert or cert");
        goto done;
    }
    if (email == NULL && g.repository == NULL && cert_pem_in == NULL) {
        reply_err(srv, req, 400,
                  "repository (owner/repo) or email is required");
        goto done;
    }
    if (g.sha != NULL && !is_hex(g.sha, 40)) {
        reply_err(srv, req, 400, "sha must be 40 lower-case hex digits");
        goto done;
    }
    t = next_time(log);
    v = tl_log_size(log);
    h = tl_mix64(log->seed ^ tl_mix64(v) ^ 0xa99e1dULL);
    if (payload_b64 != NULL) {
        payload = tl_b64_decode_new(payload_b64, json_string_length(pb),
                                    &payload_len);
        if (payload == NULL || payload_len > TL_MAX_PAYLOAD) {
            reply_err(srv, req, 400,
                      "payload_b64 is not valid base64 (or "
                      "longer than 1 MiB)");
            goto done;
        }
    } else {
        int n = snprintf(defpayload, sizeof(defpayload),
                         "tlogwatch-testlog artifact index=%llu\n",
                         (unsigned long long)v);

        payload = malloc((size_t)n + 1);
        if (payload == NULL) {
            reply_err(srv, req, 500, "out of memory");
            goto done;
        }
        memcpy(payload, defpayload, (size_t)n + 1);
        payload_len = (size_t)n;
    }
    /* claims, with deterministic defaults */
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        reply_err(srv, req, 500, "out of memory");
        goto done;
    }
    if (cert_pem_in != NULL) {
        memset(&c, 0, sizeof(c)); /* the given certificate's claims */
    } else if (email != NULL) {
        memset(&c, 0, sizeof(c));
        c.san_type = TL_SAN_EMAIL;
        c.san = email;
        c.issuer = g.issuer != NULL ? g.issuer : "https://accounts.google.com";
    } else {
        if (g.sha == NULL) {
            for (i = 0; i < 20; i++) {
                snprintf(sha + 2 * i, 3, "%02x",
                         (unsigned)(tl_mix64(h + i) & 0xff));
            }
            g.sha = sha;
        }
        if (g.repository_id == NULL) {
            snprintf(repo_id, sizeof(repo_id), "%llu",
                     (unsigned long long)(100000000 + h % 900000000));
            g.repository_id = repo_id;
        }
        if (g.owner_id == NULL) {
            snprintf(owner_id, sizeof(owner_id), "%llu",
                     (unsigned long long)(1000000 + (h >> 20) % 90000000));
            g.owner_id = owner_id;
        }
        if (g.workflow == NULL) {
            g.workflow = ".github/workflows/release.yml";
        }
        if (g.ref == NULL) {
            g.ref = "refs/heads/main";
        }
        if (g.trigger == NULL) {
            g.trigger = "push";
        }
        if (g.runner_environment == NULL) {
            g.runner_environment = "github-hosted";
        }
        g.run_id = run_id > 0 ? (uint64_t)run_id
                              : 10000000000ULL + (h >> 8) % 9000000000ULL;
        if (tl_github_claims(&g, st, &c) != 0) {
            reply_err(srv, req, 400,
                      "repository must be owner/repo, and the "
                      "derived URIs must fit");
            goto done;
        }
    }
    if (cert_pem_in != NULL) {
        if (pem_pair(cert_pem_in, key_pem_in, &cert, &key) != 0) {
            reply_err(srv, req, 400,
                      "certificate_pem / private_key_pem: a PEM "
                      "certificate and its PEM private key expected");
            goto done;
        }
    } else {
        key = EVP_EC_gen("P-256");
        if (key == NULL) {
            reply_err(srv, req, 500, "key generation failed");
            goto done;
        }
        cert = tl_leaf_issue(impostor ? &log->impostor : &log->ca, key, &c,
                             t - TL_CERT_BACKDATE,
                             t - TL_CERT_BACKDATE + TL_CERT_VALIDITY);
    }
    der_len = cert != NULL ? i2d_X509(cert, &der) : -1;
    if (cert == NULL || tl_pem_cert(cert, &pem) != 0 ||
        tl_buf_add_b64(&vb64, (const uint8_t *)pem.p, pem.len) != 0 ||
        der_len <= 0 || tl_buf_add_b64(&der64, der, (size_t)der_len) != 0) {
        reply_err(srv, req, 500, "certificate issuance failed");
        goto done;
    }
    if (log->ct != NULL) {
        ct_append(srv, req, cert, key,
                  ct_entry == NULL || strcmp(ct_entry, "precert") == 0, t,
                  &pem);
        goto done;
    }
    SHA256(payload, payload_len, artifact);
    if (kind == TL_KIND_HASHEDREKORD) {
        memcpy(digest, artifact, sizeof(digest));
    } else {
        tl_dsse_pae_hash(payload, payload_len, digest);
    }
    if (tl_sign_digest(key, digest, sizeof(digest), sig, &siglen) != 0) {
        reply_err(srv, req, 500, "signing failed");
        goto done;
    }
    memset(&bi, 0, sizeof(bi));
    bi.kind = kind;
    bi.artifact_hash = artifact;
    if (log->tiles && kind == TL_KIND_DSSE) {
        /* Rekor v2 logs a DSSE signing as hashedrekord 0.0.2 over the
         * PAE (../shared/testdata/rekor-v2/staging-rekor2-dsse) */
        bi.kind = TL_KIND_HASHEDREKORD;
        bi.artifact_hash = digest;
    }
    bi.payload = payload;
    bi.payload_len = payload_len;
    bi.sig = sig;
    bi.sig_len = siglen;
    bi.verifier_b64 = vb64.p;
    bi.verifier_len = vb64.len;
    bi.v2 = log->tiles;
    bi.der_b64 = der64.p;
    bi.der_len = der64.len;
    if (tl_body_build(&bi, &body) != 0 ||
        (kind != TL_KIND_HASHEDREKORD &&
         tl_dsse_envelope(payload, payload_len, sig, siglen, &env) != 0) ||
        tl_buf_add_b64(&tmp, sig, siglen) != 0) {
        reply_err(srv, req, 500, "body construction failed");
        goto done;
    }
    if (kind != TL_KIND_HASHEDREKORD && !tl_att_fits(payload_len)) {
        att = TL_ATT_OMIT; /* Rekor skips storage above its maximum */
    }
    if (kind != TL_KIND_HASHEDREKORD && att != TL_ATT_OMIT && !log->tiles) {
        att_bytes = malloc(payload_len + 1);
        if (att_bytes == NULL) {
            reply_err(srv, req, 500, "out of memory");
            goto done;
        }
        memcpy(att_bytes, payload, payload_len);
        if (att == TL_ATT_CORRUPT && payload_len > 0) {
            tl_att_corrupt(att_bytes, payload_len);
        }
    }
    if (tl_log_append_body(log, (const uint8_t *)body.p, body.len, att_bytes,
                           payload_len, t, &v) != 0) {
        reply_err(srv, req, 500, "append failed");
        goto done;
    }
    out = entry_ref(log, v);
    if (out != NULL) {
        struct tl_buf pl = {0};

        json_object_set_new(out, "kind", json_string(tl_kind_name(kind)));
        json_object_set_new(out, "certificate_pem", json_string(pem.p));
        json_object_set_new(out, "signature_b64", json_string(tmp.p));
        json_object_set_new(out, "artifact_sha256",
                            hex_json(artifact, TL_HASH_LEN));
        if (tl_buf_add_b64(&pl, payload, payload_len) == 0) {
            json_object_set_new(out, "payload_b64", json_string(pl.p));
        }
        tl_buf_free(&pl);
        if (env.p != NULL) {
            json_object_set_new(out, "envelope", json_string(env.p));
        }
        if (kind != TL_KIND_HASHEDREKORD && !log->tiles) {
            json_object_set_new(out, "attestation",
                                json_string(tl_att_name(att)));
        }
        if (c.san != NULL) {
            json_object_set_new(out, "san", json_string(c.san));
        }
        json_object_set_new(out, "impostor", json_boolean(impostor));
        if (log->tiles) {
            tl_buf_reset(&tmp);
            if (tl_buf_add_b64(&tmp, (const uint8_t *)body.p, body.len) == 0) {
                json_object_set_new(out, "body_b64", json_string(tmp.p));
            }
        }
    }
    reply_json(srv, req, out != NULL ? 200 : 500, out);
done:
    OPENSSL_free(der);
    tl_buf_free(&der64);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(payload);
    free(att_bytes);
    free(st);
    tl_buf_free(&pem);
    tl_buf_free(&vb64);
    tl_buf_free(&body);
    tl_buf_free(&env);
    tl_buf_free(&tmp);
}

static void
op_append_malformed(struct tl_server *srv, struct evhttp_request *req)
{
    static const char not_pem[] = "this is not a PEM certificate or key\n";
    struct tl_log *log = srv->log;
    struct tl_buf vb64 = {0}, body = {0};
    struct tl_body_in bi;
    uint8_t artifact[TL_HASH_LEN], sig[TL_SIG_MAX];
    uint64_t v;

    if (log->ct != NULL) {
        reply_err(srv, req, 400,
                  "the CT log has no Rekor bodies (append-raw adds any "
                  "leaf_input)");
        return;
    }
    if (RAND_bytes(artifact, sizeof(artifact)) != 1 ||
        RAND_bytes(sig, sizeof(sig)) != 1) {
        reply_err(srv, req, 500, "random bytes unavailable");
        return;
    }
    memset(&bi, 0, sizeof(bi));
    bi.kind = TL_KIND_HASHEDREKORD;
    bi.artifact_hash = artifact;
    bi.sig = sig;
    bi.sig_len = sizeof(sig);
    if (tl_buf_add_b64(&vb64, (const uint8_t *)not_pem, sizeof(not_pem) - 1) !=
        0) {
        reply_err(srv, req, 500, "out of memory");
        goto done;
    }
    bi.verifier_b64 = vb64.p;
    bi.verifier_len = vb64.len;
    /* Rekor v2: rawBytes that are no DER certificate */
    bi.v2 = log->tiles;
    bi.der_b64 = vb64.p;
    bi.der_len = vb64.len;
    if (tl_body_build(&bi, &body) != 0 ||
        tl_log_append_body(log, (const uint8_t *)body.p, body.len, NULL, 0,
                           next_time(log), &v) != 0) {
        reply_err(srv, req, 500, "append failed");
        goto done;
    }
    reply_json(srv, req, 200, entry_ref(log, v));
done:
    tl_buf_free(&vb64);
    tl_buf_free(&body);
}

static void
op_append_raw(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    json_t *b = json_object_get(in, "body_b64");
    uint8_t *body;
    size_t len;
    uint64_t v;

    if (!json_is_string(b)) {
        reply_err(srv, req, 400, "body_b64 (base64 string) is required");
        return;
    }
    body = tl_b64_decode_new(json_string_value(b), json_string_length(b), &len);
    if (body == NULL || len > TL_MAX_PAYLOAD ||
        (srv->log->tiles && len > TL_BUNDLE_MAX)) {
        free(body);
        reply_err(srv, req, 400,
                  "body_b64 is not valid base64 (or too long: 1 MiB, 65535 "
                  "bytes in the tiles log)");
        return;
    }
    if (tl_log_append_body(srv->log, body, len, NULL, 0, next_time(srv->log),
                           &v) != 0) {
        free(body);
        reply_err(srv, req, 500, "append failed");
        return;
    }
    free(body);
    reply_json(srv, req, 200, entry_ref(srv->log, v));
}

/* ------------------------------------------------- tree misbehaviour */

static void
op_grow(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int64_t count = -1;
    uint64_t first = tl_log_size(srv->log);

    if (get_int(in, "count", 0, 10000000, &count) != 0 || count < 0) {
        reply_err(srv, req, 400, "count (0..10000000) is required");
        return;
    }
    if (tl_log_grow_noise(srv->log, (uint64_t)count, next_time(srv->log)) !=
        0) {
        reply_err(srv, req, 500, "grow failed");
        return;
    }
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I, s:I}", "first_index", (json_int_t)first,
                         "count", (json_int_t)count, "size",
                         (json_int_t)tl_log_size(srv->log)));
}

static void
op_fork(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    struct tl_log *log = srv->log;
    uint8_t before[TL_HASH_LEN];
    struct tl_shard *s;
    uint64_t local;
    int64_t v = (int64_t)tl_log_size(log) - 1;

    if (get_int(in, "index", 0, INT64_MAX, &v) != 0) {
        reply_err(srv, req, 400, "index must be a log index");
        return;
    }
    s = v >= 0 ? tl_log_locate(log, (uint64_t)v, &local) : NULL;
    if (s == NULL) {
        reply_err(srv, req, 404, "no such index");
        return;
    }
    memcpy(before, tl_shard_root(log, s), TL_HASH_LEN);
    if (tl_log_fork(log, s, local) != 0) {
        reply_err(srv, req, 500, "fork failed");
        return;
    }
    reply_json(srv, req, 200,
               json_pack("{s:I, s:o, s:o, s:o, s:I}", "index", (json_int_t)v,
                         "old_root", hex_json(before, TL_HASH_LEN), "new_root",
                         hex_json(tl_shard_root(log, s), TL_HASH_LEN),
                         "tree_id", u64_str(s->tree_id), "size",
                         (json_int_t)s->tree.size));
}

static void
op_rollback(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    struct tl_shard *s = tl_log_active(srv->log);
    int64_t size = -1, count = -1;

    if (get_int(in, "size", 0, INT64_MAX, &size) != 0 ||
        get_int(in, "count", 1, INT64_MAX, &count) != 0 ||
        (size < 0) == (count < 0)) {
        reply_err(srv, req, 400, "exactly one of size, count is required");
        return;
    }
    if (count > 0) {
        size = (uint64_t)count > s->tree.size
                   ? -1
                   : (int64_t)(s->tree.size - (uint64_t)count);
    }
    if (size < 0 || (uint64_t)size >= s->tree.size ||
        tl_log_rollback(srv->log, (uint64_t)size) != 0) {
        reply_err(srv, req, 400,
                  "the new size must be smaller than the active shard's");
        return;
    }
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I}", "size", (json_int_t)s->tree.size,
                         "log_size", (json_int_t)tl_log_size(srv->log)));
}

static void
op_rotate(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_log *log = srv->log;
    struct tl_shard *s;

    if (log->ct != NULL) {
        reply_err(srv, req, 400, "the CT log has no shards to rotate");
        return;
    }
    if (log->tiles) {
        reply_err(srv, req, 400, "the tiles log has no shards to rotate");
        return;
    }
    if (tl_log_rotate(log) != 0) {
        reply_err(srv, req, 500, "rotate failed (too many shards?)");
        return;
    }
    s = tl_log_active(log);
    reply_json(srv, req, 200,
               json_pack("{s:o, s:I, s:I}", "tree_id", u64_str(s->tree_id),
                         "offset", (json_int_t)s->offset, "shards",
                         (json_int_t)log->nshards));
}

static void
op_rule(struct tl_server *srv, struct evhttp_request *req, json_t *in, int drop)
{
    struct tl_log *log = srv->log;
    int64_t v = -1, count = -1;

    if (get_int(in, "index", 0, INT64_MAX, &v) != 0 || v < 0 ||
        get_int(in, "count", -1, INT64_MAX, &count) != 0) {
        reply_err(srv, req, 400,
                  "index (required) and count (-1 = forever, "
                  "0 = clear) must be integers");
        return;
    }
    if (!drop && (uint64_t)v >= tl_log_size(log)) {
        reply_err(srv, req, 404, "no such index");
        return;
    }
    if ((drop ? tl_rule_set(log->drop, &log->ndrop, (uint64_t)v, count, 0)
              : tl_rule_set(log->tamper, &log->ntamper, (uint64_t)v, count,
                            0)) != 0) {
        reply_err(srv, req, 400, "too many rules");
        return;
    }
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I}", "index", (json_int_t)v, "count",
                         (json_int_t)count));
}

static void
op_misdirect(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    struct tl_log *log = srv->log;
    int64_t v = -1, count = -1, to = -1;

    if (get_int(in, "index", 0, INT64_MAX, &v) != 0 || v < 0 ||
        get_int(in, "count", -1, INT64_MAX, &count) != 0 ||
        get_int(in, "to", 0, INT64_MAX, &to) != 0 || (to < 0 && count != 0)) {
        reply_err(srv, req, 400,
                  "index and to (log indexes) are required; count (-1 = "
                  "forever, 0 = clear) an integer");
        return;
    }
    if (log->ct != NULL) {
        reply_err(srv, req, 400, "the CT log serves entries by position");
        return;
    }
    if (log->tiles) {
        reply_err(srv, req, 400,
                  "the tiles log serves entries by position (entry "
                  "bundles), not by index");
        return;
    }
    if (count != 0 && to == v) {
        reply_err(srv, req, 400, "to must be another index");
        return;
    }
    if (count != 0 && (uint64_t)to >= tl_log_size(log)) {
        reply_err(srv, req, 404, "no such index (to)");
        return;
    }
    if (tl_rule_set(log->misdirect, &log->nmisdirect, (uint64_t)v, count,
                    to < 0 ? 0 : (uint64_t)to) != 0) {
        reply_err(srv, req, 400, "too many rules");
        return;
    }
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I, s:I}", "index", (json_int_t)v, "count",
                         (json_int_t)count, "to", (json_int_t)to));
}

/* The root an impossible checkpoint claims unless told: SHA-256 of a
 * label and the size, no root of this log's tree. */
static void
impossible_root(uint64_t size, uint8_t out[TL_HASH_LEN])
{
    char text[96];
    int n = snprintf(text, sizeof(text),
                     "tlogwatch-testlog impossible checkpoint size=%llu",
                     (unsigned long long)size);

    SHA256((const unsigned char *)text, (size_t)n, out);
}

static void
imp_clear(struct tl_log *log)
{
    log->imp_on = 0;
    free(log->imp_note);
    log->imp_note = NULL;
}

static void
op_impossible(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    struct tl_log *log = srv->log;
    const char *root_hex = NULL, *note;
    uint64_t size = 0, tree_size;
    char dec[24], tdec[24];
    int off = 0;

    if (get_bool(in, "off", &off) != 0 || get_str(in, "root", &root_hex) != 0) {
        reply_err(srv, req, 400, "off must be a boolean, root 64 hex digits");
        return;
    }
    if (off) {
        imp_clear(log);
        reply_json(srv, req, 200, json_pack("{s:b}", "on", 0));
        return;
    }
    if (json_object_get(in, "size") == NULL ||
        get_u64(in, "size", &size) != 0) {
        reply_err(srv, req, 400,
                  "size (an integer or decimal string, 0 to "
                  "18446744073709551615) is required");
        return;
    }
    tree_size = size;
    if (get_u64(in, "tree_size", &tree_size) != 0 ||
        (root_hex != NULL && !is_hex(root_hex, 2 * TL_HASH_LEN))) {
        reply_err(srv, req, 400,
                  "tree_size must be like size, root 64 lower-case hex "
                  "digits");
        return;
    }
    imp_clear(log);
    if (root_hex != NULL) {
        (void)merkle_hex_decode(root_hex, 2 * TL_HASH_LEN, log->imp_root,
                                TL_HASH_LEN);
    } else {
        impossible_root(size, log->imp_root);
    }
    log->imp_size = size;
    log->imp_tree_size = tree_size;
    log->imp_on = 1;
    note = tl_log_impossible(log);
    if (note == NULL) {
        imp_clear(log);
        reply_err(srv, req, 500, "signing failed");
        return;
    }
    snprintf(dec, sizeof(dec), "%llu", (unsigned long long)size);
    snprintf(tdec, sizeof(tdec), "%llu", (unsigned long long)tree_size);
    reply_json(srv, req, 200,
               json_pack("{s:b, s:s, s:s, s:o, s:s}", "on", 1, "size", dec,
                         "tree_size", tdec, "root",
                         hex_json(log->imp_root, TL_HASH_LEN), "note", note));
}

/* ---------------------------------------------- server misbehaviour */

static void
op_wrong_key(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int on = 1;

    if (get_bool(in, "on", &on) != 0) {
        reply_err(srv, req, 400, "on must be a boolean");
        return;
    }
    srv->log->wrong_key_on = on;
    srv->log->gen++;
    reply_json(srv, req, 200, json_pack("{s:b}", "on", on));
}

/* --tiles: the checkpoint carries the extension line "Log frozen". */
static void
op_tiles_frozen(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int on = 1;

    if (get_bool(in, "on", &on) != 0) {
        reply_err(srv, req, 400, "on must be a boolean");
        return;
    }
    srv->log->frozen_ext = on;
    srv->log->gen++;
    reply_json(srv, req, 200, json_pack("{s:b}", "on", on));
}

static void
op_fail(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int64_t status = -1, count = 1, retry = -1;

    if (get_int(in, "status", 400, 599, &status) != 0 || status < 0 ||
        get_int(in, "count", -1, INT64_MAX, &count) != 0 ||
        get_int(in, "retry_after", 0, 86400, &retry) != 0) {
        reply_err(srv, req, 400,
                  "status (400..599) is required; count "
                  "(-1 = until reset), retry_after seconds");
        return;
    }
    if (status == 429 && retry < 0) {
        retry = 1;
    }
    srv->fail_status = (int)status;
    srv->fail_count = count;
    srv->fail_retry_after = (int)retry;
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I, s:I}", "status", (json_int_t)status,
                         "count", (json_int_t)count, "retry_after",
                         (json_int_t)retry));
}

static void
op_delay(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int64_t ms = -1, count = 1;

    if (get_int(in, "ms", 0, 600000, &ms) != 0 || ms < 0 ||
        get_int(in, "count", -1, INT64_MAX, &count) != 0) {
        reply_err(srv, req, 400,
                  "ms (0..600000) is required; count (-1 = "
                  "until reset)");
        return;
    }
    srv->delay_ms = (int)ms;
    srv->delay_count = count;
    reply_json(srv, req, 200,
               json_pack("{s:I, s:I}", "ms", (json_int_t)ms, "count",
                         (json_int_t)count));
}

static void
op_rate(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    json_t *r = json_object_get(in, "rps"), *b = json_object_get(in, "burst");
    double rps, burst;

    if (!json_is_number(r) || json_number_value(r) < 0 ||
        json_number_value(r) > 1e6 ||
        (b != NULL && (!json_is_number(b) || json_number_value(b) < 1 ||
                       json_number_value(b) > 1e6))) {
        reply_err(srv, req, 400, "rps (>= 0, 0 = off) is required; burst >= 1");
        return;
    }
    rps = json_number_value(r);
    burst = b != NULL ? json_number_value(b) : (rps > 1 ? rps : 1);
    srv->rate_rps = rps;
    srv->rate_burst = burst;
    srv->rate_tokens = burst;
    srv->rate_last = tl_mono();
    reply_json(srv, req, 200,
               json_pack("{s:f, s:f}", "rps", rps, "burst", burst));
}

static void
op_pad(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int64_t bytes = -1;

    if (get_int(in, "bytes", 0, (int64_t)TL_PAD_MAX, &bytes) != 0 ||
        bytes < 0) {
        reply_err(srv, req, 400, "bytes (0 = off .. 2^30) is required");
        return;
    }
    srv->pad_bytes = (uint64_t)bytes;
    reply_json(srv, req, 200, json_pack("{s:I}", "bytes", (json_int_t)bytes));
}

static void
op_trickle(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    json_t *b = json_object_get(in, "bytes_per_s");
    double bps;

    if (!json_is_number(b) || json_number_value(b) < 0 ||
        json_number_value(b) > TL_TRICKLE_MAX) {
        reply_err(srv, req, 400, "bytes_per_s (0 = off .. 1e9) is required");
        return;
    }
    bps = json_number_value(b);
    srv->trickle_bps = bps;
    if (bps <= 0) {
        tl_trickle_flush_all(srv);
    }
    reply_json(srv, req, 200,
               json_pack("{s:f, s:I}", "bytes_per_s", bps, "in_flight",
                         (json_int_t)srv->ntrickles));
}

static void
op_reset(struct tl_server *srv, struct evhttp_request *req)
{
    srv->fail_count = 0;
    srv->delay_count = 0;
    srv->rate_rps = 0;
    srv->pad_bytes = 0;
    srv->trickle_bps = 0;
    tl_trickle_flush_all(srv);
    srv->log->wrong_key_on = 0;
    srv->log->ntamper = 0;
    srv->log->ndrop = 0;
    srv->log->nmisdirect = 0;
    imp_clear(srv->log);
    if (srv->log->ct != NULL) {
        (void)tl_ct_freeze(srv->log, 0);
    }
    srv->log->gen++;
    reply_json(srv, req, 200, json_pack("{s:b}", "reset", 1));
}

/* --ct: serve the current STH unchanged (or live again). */
static void
op_ct_freeze(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int on = -1;

    if (srv->log->ct == NULL) {
        reply_err(srv, req, 400, "ct-freeze needs --ct");
        return;
    }
    if (get_bool(in, "on", &on) != 0 || on < 0) {
        reply_err(srv, req, 400, "on (a boolean) is required");
        return;
    }
    if (tl_ct_freeze(srv->log, on) != 0) {
        reply_err(srv, req, 500, "cannot sign the STH");
        return;
    }
    reply_json(srv, req, 200, json_pack("{s:b}", "on", on));
}

/* --ct: the get-entries cap from now on. */
static void
op_ct_batch(struct tl_server *srv, struct evhttp_request *req, json_t *in)
{
    int64_t batch = -1;

    if (srv->log->ct == NULL) {
        reply_err(srv, req, 400, "ct-batch needs --ct");
        return;
    }
    if (get_int(in, "batch", 1, TL_CT_BATCH_MAX, &batch) != 0 || batch < 1) {
        reply_err(srv, req, 400, "batch (1..10000) is required");
        return;
    }
    srv->log->ct->batch = (uint64_t)batch;
    reply_json(srv, req, 200, json_pack("{s:I}", "batch", (json_int_t)batch));
}

/* ------------------------------------------------------------- reports */

static void
op_stats(struct tl_server *srv, struct evhttp_request *req)
{
    static const char *const names[TL_EP_COUNT] = {
        "log",
        "proof",
        "entries",
        "entries_uuid",
        "retrieve",
        "publicKey",
        "other",
        "checkpoint",
        "tile",
        "bundle",
        "ct_get_sth",
        "ct_get_sth_consistency",
        "ct_get_proof_by_hash",
        "ct_get_entries",
        "ct_get_roots",
    };
    json_t *ep = json_object(), *doc;
    int i;

    for (i = 0; i < TL_EP_COUNT && ep != NULL; i++) {
        json_object_set_new(ep, names[i],
                            json_integer((json_int_t)srv->endpoint[i]));
    }
    doc = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o,"
        " s:I, s:I, s:f}",
        "requests", (json_int_t)srv->requests, "admin_requests",
        (json_int_t)srv->admin_requests, "responses_2xx",
        (json_int_t)srv->responses_2xx, "responses_4xx",
        (json_int_t)srv->responses_4xx, "responses_429",
        (json_int_t)srv->responses_429, "responses_5xx",
        (json_int_t)srv->responses_5xx, "rate_limited",
        (json_int_t)srv->rate_limited, "injected_failures",
        (json_int_t)srv->injected_failures, "delayed", (json_int_t)srv->delayed,
        "entries_served", (json_int_t)srv->entries_served, "dropped",
        (json_int_t)srv->dropped, "tampered_rules",
        (json_int_t)srv->log->ntamper, "endpoints", ep, "size",
        (json_int_t)tl_log_size(srv->log), "shards",
        (json_int_t)srv->log->nshards, "uptime_s", tl_mono() - srv->started);
    if (doc != NULL) {
        json_object_set_new(doc, "misdirected",
                            json_integer((json_int_t)srv->misdirected));
        json_object_set_new(doc, "padded",
                            json_integer((json_int_t)srv->padded));
        json_object_set_new(doc, "trickled",
                            json_integer((json_int_t)srv->trickled));
        json_object_set_new(doc, "trickling",
                            json_integer((json_int_t)srv->ntrickles));
        json_object_set_new(doc, "dropped_rules",
                            json_integer((json_int_t)srv->log->ndrop));
        json_object_set_new(doc, "misdirect_rules",
                            json_integer((json_int_t)srv->log->nmisdirect));
        json_object_set_new(doc, "impossible", json_boolean(srv->log->imp_on));
    }
    reply_json(srv, req, doc != NULL ? 200 : 500, doc);
}

static void
op_info(struct tl_server *srv, struct evhttp_request *req)
{
    struct tl_log *log = srv->log;
    json_t *shards = json_array(), *doc;
    char url[sizeof(log->base_url) + TL_PREFIX_MAX];
    size_t i;

    for (i = 0; i < log->nshards && shards != NULL; i++) {
        struct tl_shard *s = log->shards[i];
        char origin[400];

        snprintf(origin, sizeof(origin), "%s - %llu", log->host,
                 (unsigned long long)s->tree_id);
        json_array_append_new(
            shards, json_pack("{s:o, s:s, s:I, s:I, s:b}", "tree_id",
                              u64_str(s->tree_id), "origin", origin, "offset",
                              (json_int_t)s->offset, "size",
                              (json_int_t)s->tree.size, "active", s->active));
    }
    snprintf(url, sizeof(url), "%s%s", log->base_url, srv->prefix);
    doc = json_pack("{s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:b}", "url", url,
                    "host", log->host, "log_id", log->logid_hex, "seed",
                    u64_str(log->seed), "size", (json_int_t)tl_log_size(log),
                    "genesis", (json_int_t)log->genesis, "shards", shards,
                    "wrong_key", log->wrong_key_on);
    if (doc != NULL && log->ct != NULL) {
        json_object_set_new(doc, "mode", json_string("ct"));
        json_object_set_new(doc, "get_entries_batch",
                            json_integer((json_int_t)log->ct->batch));
    }
    if (doc != NULL && log->tiles) {
        json_object_set_new(doc, "mode", json_string("tiles"));
        json_object_set_new(doc, "origin", json_string(log->origin));
        json_object_set_new(doc, "log_id", json_string(log->tiles_logid_hex));
        json_object_set_new(doc, "base_url", json_string(log->base_url));
        json_object_set_new(doc, "prefix", json_string(srv->prefix));
    }
    reply_json(srv, req, doc != NULL ? 200 : 500, doc);
}

void
tl_admin_handle(struct tl_server *srv, struct evhttp_request *req,
                const char *path)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const char *op = path + 7;
    json_t *in;

    if (m == EVHTTP_REQ_GET) {
        if (strcmp(op, "stats") == 0) {
            op_stats(srv, req);
        } else if (strcmp(op, "info") == 0) {
            op_info(srv, req);
        } else {
            reply_err(srv, req, 404, "unknown admin operation (GET)");
        }
        return;
    }
    if (m != EVHTTP_REQ_POST) {
        reply_err(srv, req, 405, "admin operations are GET or POST");
        return;
    }
    in = load_body(srv, req);
    if (in == NULL) {
        return;
    }
    if (srv->verbose) {
        char *text = json_dumps(in, JSON_COMPACT);

        fprintf(stderr, "tlogwatch-testlog: admin %s %.300s\n", op,
                text != NULL ? text : "");
        free(text);
    }
    if (strcmp(op, "grow") == 0) {
        op_grow(srv, req, in);
    } else if (strcmp(op, "append") == 0) {
        op_append(srv, req, in);
    } else if (strcmp(op, "append-malformed") == 0) {
        op_append_malformed(srv, req);
    } else if (strcmp(op, "append-raw") == 0) {
        op_append_raw(srv, req, in);
    } else if (strcmp(op, "fork") == 0) {
        op_fork(srv, req, in);
    } else if (strcmp(op, "rollback") == 0) {
        op_rollback(srv, req, in);
    } else if (strcmp(op, "rotate") == 0) {
        op_rotate(srv, req);
    } else if (strcmp(op, "tamper") == 0) {
        op_rule(srv, req, in, 0);
    } else if (strcmp(op, "drop") == 0) {
        op_rule(srv, req, in, 1);
    } else if (strcmp(op, "misdirect") == 0) {
        op_misdirect(srv, req, in);
    } else if (strcmp(op, "impossible") == 0) {
        op_impossible(srv, req, in);
    } else if (strcmp(op, "pad") == 0) {
        op_pad(srv, req, in);
    } else if (strcmp(op, "trickle") == 0) {
        op_trickle(srv, req, in);
    } else if (strcmp(op, "wrong-key") == 0) {
        op_wrong_key(srv, req, in);
    } else if (strcmp(op, "tiles-frozen") == 0) {
        op_tiles_frozen(srv, req, in);
    } else if (strcmp(op, "fail") == 0) {
        op_fail(srv, req, in);
    } else if (strcmp(op, "delay") == 0) {
        op_delay(srv, req, in);
    } else if (strcmp(op, "rate") == 0) {
        op_rate(srv, req, in);
    } else if (strcmp(op, "ct-freeze") == 0) {
        op_ct_freeze(srv, req, in);
    } else if (strcmp(op, "ct-batch") == 0) {
        op_ct_batch(srv, req, in);
    } else if (strcmp(op, "reset") == 0) {
        op_reset(srv, req);
    } else {
        reply_err(srv, req, 404, "unknown admin operation");
    }
    json_decref(in);
}
