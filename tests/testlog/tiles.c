/*
 * tiles.c: the Rekor v2 view of tlogwatch-testlog (--tiles): the C2SP
 * tlog-tiles read API over the active shard's tree, as Rekor v2 (Tessera)
 * serves it:
 *   GET /checkpoint                 signed note "<origin>\n<size>\n<base64
 *                                   root>\n\n\u2014 <origin> base64(key
 *                                   hint || Ed25519 signature)\n"
 *   GET /tile/<L>/<N>[.p/<W>]       W (full: 256) node hashes of tree level
 *                                   8L, nodes [256N, 256N + W)
 *   GET /tile/entries/<N>[.p/<W>]   entries [256N, 256N + W), each as a
 *                                   big-endian uint16 length and its body
 * N is written in 3-digit groups, all but the last prefixed with "x"
 * ("x001/x234/067"); only that canonical spelling is served (the path
 * parser is tilepath.c, apart so that fuzz_testlog_tilepath can link it).
 *
 * Nothing is pre-rendered: the tree (tree.c) already stores every perfect
 * subtree hash, so a hash tile is one contiguous copy out of level[8L],
 * and an entry bundle rebuilds its bodies as the Rekor v1 API does.  A
 * tile is served only when all its W nodes exist (a full tile only once
 * it holds 256); a partial tile path for W serves exactly W, also when
 * the tile has grown beyond W since (it is a prefix of the later tile).
 *
 * The log key is Ed25519, derived from --seed (SHA-256 of a label and the
 * seed), named after the origin; its key id SHA-256(origin || 0x0A ||
 * 0x01 || key) is the Rekor v2 log id, its first 4 bytes the checkpoint
 * key hint.  /admin/wrong-key signs with another Ed25519 key under the
 * same hint.
 *
 * Misbehaviour: tamper rules change an entry's bytes in the bundles that
 * hold it; drop rules withhold those bundles (tl_tiles_withheld, 404);
 * /admin/impossible signs a checkpoint of any size (tl_tiles_note_new).
 *
 * Invariants: served bytes always derive from the tree at its current
 * size (no cache but the checkpoint, keyed by log->gen, size and the
 * wrong-key switch); tamper rules change only served entry bytes, never
 * the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "testlog.h"

#define ED25519_SIG_LEN 64

/* The Ed25519 private seed for key `what` of the log seed. */
static void
derive_priv(uint64_t seed, const char *what, uint8_t out[32])
{
    char text[128];
    int n = snprintf(text, sizeof(text),
                     "tlogwatch-testlog tiles %s ed25519 seed=%llu", what,
                     (unsigned long long)seed);

    SHA256((const unsigned char *)text, (size_t)n, out);
}

int
tl_tiles_init(struct tl_log *log, const char *origin)
{
    uint8_t priv[32];
    size_t n = strlen(origin), i;
    int rc;

    /* a C2SP key name: no white space, no '+' */
    if (n == 0 || n >= sizeof(log->origin) ||
        strpbrk(origin, " \t\n+") != NULL) {
        return -1;
    }
    memcpy(log->origin, origin, n + 1);
    tl_key_clear(&log->tiles_key);
    tl_key_clear(&log->tiles_wrong);
    derive_priv(log->seed, "log", priv);
    rc = tl_key_ed25519(&log->tiles_key, priv, origin);
    derive_priv(log->seed, "wrong-key", priv);
    if (rc == 0) {
        rc = tl_key_ed25519(&log->tiles_wrong, priv, origin);
    }
    OPENSSL_cleanse(priv, sizeof(priv));
    if (rc != 0) {
        return -1;
    }
    for (i = 0; i < TL_HASH_LEN; i++) {
        snprintf(log->tiles_logid_hex + 2 * i, 3, "%02x", log->tiles_key.id[i]);
    }
    free(log->tiles_note);
    log->tiles_note = NULL;
    return 0;
}

char *
tl_tiles_note_new(struct tl_log *log, uint64_t size,
                  const uint8_t root[TL_HASH_LEN])
{
    const struct tl_key *k =
        log->wrong_key_on ? &log->tiles_wrong : &log->tiles_key;
    struct tl_buf text = {0}, blob = {0};
    uint8_t sig[4 + ED25519_SIG_LEN];
    size_t siglen = ED25519_SIG_LEN;
    EVP_MD_CTX *md = NULL;
    char *note = NULL;

    if (k->pkey == NULL ||
        tl_buf_printf(&text, "%s\n%llu\n", log->origin,
                      (unsigned long long)size) != 0 ||
        tl_buf_add_b64(&text, root, TL_HASH_LEN) != 0 ||
        tl_buf_adds(&text, "\n") != 0 ||
        (log->frozen_ext && tl_buf_adds(&text, "Log frozen\n") != 0)) {
        goto done;
    }
    /* the pinned key's hint, also under /admin/wrong-key */
    memcpy(sig, log->tiles_key.id, 4);
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
        EVP_DigestSign(md, sig + 4, &siglen, (const unsigned char *)text.p,
                       text.len) != 1 ||
        siglen != ED25519_SIG_LEN ||
        tl_buf_add_b64(&blob, sig, sizeof(sig)) != 0 ||
        tl_buf_printf(&text, "\n\xe2\x80\x94 %s %s\n", log->origin, blob.p) !=
            0) {
        goto done;
    }
    note = text.p;
    text.p = NULL;
done:
    EVP_MD_CTX_free(md);
    tl_buf_free(&text);
    tl_buf_free(&blob);
    return note;
}

const char *
tl_tiles_checkpoint(struct tl_log *log)
{
    struct tl_shard *s = tl_log_active(log);

    if (log->tiles_note == NULL || log->tiles_note_size != s->tree.size ||
        log->tiles_note_wrong != log->wrong_key_on ||
        log->tiles_note_gen != log->gen) {
        char *n = tl_tiles_note_new(log, s->tree.size, tl_shard_root(log, s));

        if (n == NULL) {
            return NULL;
        }
        free(log->tiles_note);
        log->tiles_note = n;
        log->tiles_note_size = s->tree.size;
        log->tiles_note_wrong = log->wrong_key_on;
        log->tiles_note_gen = log->gen;
    }
    return log->tiles_note;
}

int
tl_tiles_vkey(const struct tl_log *log, struct tl_buf *out)
{
    uint8_t raw[33];

    if (log->tiles_key.spki_len < 32) {
        return -1;
    }
    raw[0] = 0x01; /* Ed25519 */
    memcpy(raw + 1, log->tiles_key.spki + log->tiles_key.spki_len - 32, 32);
    if (tl_buf_printf(out, "%s+%02x%02x%02x%02x+", log->origin,
                      log->tiles_key.id[0], log->tiles_key.id[1],
                      log->tiles_key.id[2], log->tiles_key.id[3]) != 0 ||
        tl_buf_add_b64(out, raw, sizeof(raw)) != 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- render */

/* The served bytes of a tampered v2 body: the first character of its
 * data digest changed ('A' <-> 'B'), else tl_tamper_body's change. */
static int
tamper_v2(const struct tl_buf *body, struct tl_buf *out)
{
    static const char key[] = "\"digest\":\"";
    const char *at;

    if (body->len > 0 && (at = strstr(body->p, key)) != NULL &&
        at[sizeof(key) - 1] != '\0' && at[sizeof(key) - 1] != '"') {
        size_t off = (size_t)(at - body->p) + sizeof(key) - 1;

        tl_buf_reset(out);
        if (tl_buf_add(out, body->p, body->len) != 0) {
            return -1;
        }
        out->p[off] = out->p[off] == 'A' ? 'B' : 'A';
        return 0;
    }
    return tl_tamper_body((const uint8_t *)body->p, body->len, out);
}

/* The nodes [*first, *first + *count) of tree level 8L (entries: the
 * leaves) that tile r covers.  1 when all exist, 0 when not (404). */
static int
tile_span(const struct tl_shard *s, const struct tl_tile_req *r,
          uint64_t *first, uint64_t *count)
{
    unsigned k = r->entries ? 0 : r->level * TL_TILE_HEIGHT;
    uint64_t avail;

    *count = r->width != 0 ? r->width : TL_TILE_WIDTH;
    if (k >= TL_MAX_LEVELS) {
        return 0;
    }
    avail = s->tree.size >> k; /* complete nodes at level k */
    if (r->index > avail / TL_TILE_WIDTH) {
        return 0;
    }
    *first = r->index * TL_TILE_WIDTH;
    return avail - *first >= *count;
}

int
tl_tiles_withheld(struct tl_log *log, const struct tl_tile_req *r)
{
    const struct tl_shard *s = tl_log_active(log);
    uint64_t first, count, i;
    int hit = 0;

    if (!r->entries || log->ndrop == 0 || !tile_span(s, r, &first, &count)) {
        return 0;
    }
    /* every held index loses one use, as a retrieve asking for each */
    for (i = 0; i < count; i++) {
        if (tl_rule_take(log->drop, &log->ndrop, s->offset + first + i, NULL)) {
            hit = 1;
        }
    }
    return hit;
}

int
tl_tiles_render(struct tl_log *log, const struct tl_tile_req *r,
                struct tl_buf *out)
{
    struct tl_shard *s = tl_log_active(log);
    struct tl_buf *body = &log->scratch_body, *alt = &log->scratch_canon;
    unsigned k = r->entries ? 0 : r->level * TL_TILE_HEIGHT;
    uint64_t first, count, i;

    if (!tile_span(s, r, &first, &count)) {
        return 0;
    }
    if (!r->entries) {
        return tl_buf_add(out, s->tree.level[k][first],
                          (size_t)count * TL_HASH_LEN) == 0
                   ? 1
                   : -1;
    }
    for (i = 0; i < count; i++) {
        const struct tl_buf *b = body;
        uint8_t len[2];

        if (tl_log_body(log, s, first + i, body) != 0) {
            return -1;
        }
        if (tl_rule_take(log->tamper, &log->ntamper, s->offset + first + i,
                         NULL)) {
            if (tamper_v2(body, alt) != 0) {
                return -1;
            }
            b = alt;
        }
        if (b->len > TL_BUNDLE_MAX) {
            return -1;
        }
        len[0] = (uint8_t)(b->len >> 8);
        len[1] = (uint8_t)b->len;
        if (tl_buf_add(out, len, 2) != 0 ||
            tl_buf_add(out, b->p, b->len) != 0) {
            return -1;
        }
    }
    return 1;
}
