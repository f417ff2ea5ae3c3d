/*
 * note.c: C2SP signed notes (as golang.org/x/mod/sumdb/note opens them) and
 * tlog checkpoints, with Ed25519 and ECDSA P-256 verifier keys.
 *
 * Parsing is a pure function of the bytes given, bounded by the named
 * limits in note.h: a note is at most MERKLE_NOTE_MAX_SIZE bytes and holds
 * at most MERKLE_NOTE_MAX_SIGS signature lines; names are shorter than
 * MERKLE_NOTE_MAX_NAME bytes; origins shorter than MERKLE_ORIGIN_MAX.
 * Inputs are never assumed to be NUL-terminated.
 *
 * Invariants: no I/O; the verify path allocates nothing itself (OpenSSL
 * allocates its own contexts); a key object owns its EVP_PKEY and EVP_MD.
 *
 * Where this differs from Go's note.Open, on purpose:
 *  - duplicate verifier keys (same name and key id) are refused up front
 *    (MERKLE_ERR_KEY), not only when a line names them;
 *  - base64 must be canonical (the codec refuses non-zero trailing bits);
 *  - more than MERKLE_NOTE_MAX_SIGS lines is MERKLE_ERR_NOTE_TOO_MANY.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "merkle/note.h"

/* Longest vkey string accepted, and longest decoded vkey key material. */
#define NOTE_VKEY_MAX 1024
#define NOTE_VKEY_KEY_MAX 512
/* Key id + the longest signature a supported key can make (ECDSA P-256
 * DER is at most 72 bytes, Ed25519 is 64); longer ones cannot verify. */
#define NOTE_SIG_BUF (4 + 128)

#define ED25519_RAW_LEN 32

struct merkle_note_key {
    char name[MERKLE_NOTE_MAX_NAME]; /* NUL-terminated */
    size_t name_len;
    uint32_t id;
    enum merkle_key_alg alg;
    EVP_PKEY *pkey; /* owned */
    EVP_MD *md;     /* owned; SHA-256 for ECDSA, NULL for Ed25519 */
};

/* The signature line prefix: U+2014 EM DASH, then a space. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN 4

static void
set_err(enum merkle_result *err, enum merkle_result r)
{
    if (err != NULL) {
        *err = r;
    }
}

/*
 * Decode one UTF-8 sequence at s[0..n), n > 0.  Strict: no overlong forms,
 * no surrogates, nothing above U+10FFFF.  Returns the code point and its
 * length in *adv, or -1.
 */
static long
utf8_decode(const uint8_t *s, size_t n, size_t *adv)
{
    uint8_t c0 = s[0];
    uint8_t lo = 0x80, hi = 0xbf;
    size_t need, i;
    long cp;

    if (c0 < 0x80) {
        *adv = 1;
        return c0;
    }
    if (c0 < 0xc2) {
        return -1;
    } else if (c0 < 0xe0) {
        need = 2;
        cp = c0 & 0x1f;
    } else if (c0 < 0xf0) {
        need = 3;
        cp = c0 & 0x0f;
        if (c0 == 0xe0) {
            lo = 0xa0;
        } else if (c0 == 0xed) {
            hi = 0x9f;
        }
    } else if (c0 < 0xf5) {
        need = 4;
        cp = c0 & 0x07;
        if (c0 == 0xf0) {
            lo = 0x90;
        } else if (c0 == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return -1;
    }
    if (n < need) {
        return -1;
    }
    for (i = 1; i < need; i++) {
        uint8_t c = s[i];
        if (c < lo || c > hi) {
            return -1;
        }
        lo = 0x80;
        hi = 0xbf;
        cp = (cp << 6) | (c & 0x3f);
    }
    *adv = need;
    return cp;
}

/* Unicode White_Space, as Go's unicode.IsSpace sees it. */
static int
is_unicode_space(long cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

/*
 * A key or signer name: non-empty, shorter than MERKLE_NOTE_MAX_NAME, valid
 * UTF-8, no white space, no '+', no control characters.
 */
static int
valid_name(const char *name, size_t len)
{
    const uint8_t *s = (const uint8_t *)name;
    size_t i = 0, adv;

    if (len == 0 || len >= MERKLE_NOTE_MAX_NAME) {
        return 0;
    }
    while (i < len) {
        long cp = utf8_decode(s + i, len - i, &adv);
        if (cp < 0 || cp < 0x20 || cp == 0x7f || cp == '+' ||
            is_unicode_space(cp)) {
            return 0;
        }
        i += adv;
    }
    return 1;
}

/* The whole note: valid UTF-8 and no ASCII control character but '\n'. */
static int
valid_note_bytes(const char *note, size_t len)
{
    const uint8_t *s = (const uint8_t *)note;
    size_t i = 0, adv;

    while (i < len) {
        if (s[i] < 0x80) {
            if (s[i] < 0x20 && s[i] != '\n') {
                return 0;
            }
            i++;
            continue;
        }
        if (utf8_decode(s + i, len - i, &adv) < 0) {
            return 0;
        }
        i += adv;
    }
    return 1;
}

/*
 * Decode standard base64 in[0..n), checking all of it, but keep only the
 * first cap bytes in out.  Returns the full decoded length, or -1 when the
 * input is not canonical padded base64.  Works in chunks, so the input
 * may be longer than any buffer here.
 */
static long
b64_decode_prefix(const char *in, size_t n, uint8_t *out, size_t cap)
{
    uint8_t buf[96];
    size_t off = 0, total = 0;

    if (n % 4 != 0) {
        return -1;
    }
    while (off < n) {
        size_t chunk = n - off;
        long got;
        if (chunk > 128) {
            chunk = 128; /* 128 characters decode to at most 96 bytes */
            /* Padding belongs in the last chunk only. */
            if (memchr(in + off, '=', chunk) != NULL) {
                return -1;
            }
        }
        got = merkle_b64_decode(in + off, chunk, buf, sizeof(buf));
        if (got < 0) {
            return -1;
        }
        if (total < cap) {
            size_t keep = cap - total;
            if (keep > (size_t)got) {
                keep = (size_t)got;
            }
            memcpy(out + total, buf, keep);
        }
        total += (size_t)got;
        off += chunk;
    }
    return (long)total;
}

static uint32_t
be32(const uint8_t b[4])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           (uint32_t)b[3];
}

/* ---- keys ---------------------------------------------------------- */

void
merkle_note_key_free(struct merkle_note_key *k)
{
    if (k == NULL) {
        return;
    }
    EVP_PKEY_free(k->pkey);
    EVP_MD_free(k->md);
    free(k);
}

const char *
merkle_note_key_name(const struct merkle_note_key *k)
{
    return k->name;
}

uint32_t
merkle_note_key_id(const struct merkle_note_key *k)
{
    return k->id;
}

enum merkle_key_alg
merkle_note_key_alg(const struct merkle_note_key *k)
{
    return k->alg;
}

/* A new key shell with a checked name, or NULL (*err set). */
static struct merkle_note_key *
key_new(const char *name, enum merkle_key_alg alg, enum merkle_result *err)
{
    struct merkle_note_key *k;
    size_t len;

    if (name == NULL) {
        set_err(err, MERKLE_ERR_ARG);
        return NULL;
    }
    len = strnlen(name, MERKLE_NOTE_MAX_NAME);
    if (!valid_name(name, len)) {
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        set_err(err, MERKLE_ERR_INTERNAL);
        return NULL;
    }
    memcpy(k->name, name, len);
    k->name[len] = '\0';
    k->name_len = len;
    k->alg = alg;
    return k;
}

struct merkle_note_key *
merkle_note_key_ecdsa(const char *name, const uint8_t *spki, size_t spki_len,
                      enum merkle_result *err)
{
    struct merkle_note_key *k;
    const unsigned char *p = spki;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char group[64];
    size_t glen = 0;

    if (spki == NULL || spki_len == 0 || spki_len > NOTE_VKEY_KEY_MAX) {
        set_err(err, spki == NULL ? MERKLE_ERR_ARG : MERKLE_ERR_KEY);
        return NULL;
    }
    k = key_new(name, MERKLE_KEY_ECDSA, err);
    if (k == NULL) {
        return NULL;
    }
    k->pkey = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (k->pkey == NULL || p != spki + spki_len ||
        EVP_PKEY_get_base_id(k->pkey) != EVP_PKEY_EC ||
        EVP_PKEY_get_group_name(k->pkey, group, sizeof(group), &glen) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
        ERR_clear_error();
        set_err(err, MERKLE_ERR_KEY);
        goto fail;
    }
    k->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (k->md == NULL ||
        EVP_Digest(spki, spki_len, digest, &dlen, k->md, NULL) != 1 ||
        dlen < 4) {
        ERR_clear_error();
        set_err(err, MERKLE_ERR_INTERNAL);
        goto fail;
    }
    k->id = be32(digest);
    set_err(err, MERKLE_OK);
    return k;
fail:
    merkle_note_key_free(k);
    return NULL;
}

struct merkle_note_key *
merkle_note_key_ed25519(const char *name, const uint8_t raw[32],
                        enum merkle_result *err)
{
    static const uint8_t sep[2] = {0x0a, MERKLE_KEY_ED25519};
    struct merkle_note_key *k;
    EVP_MD_CTX *ctx = NULL;
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;

    if (raw == NULL) {
        set_err(err, MERKLE_ERR_ARG);
        return NULL;
    }
    k = key_new(name, MERKLE_KEY_ED25519, err);
    if (k == NULL) {
        return NULL;
    }
    k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    if (k->pkey == NULL) {
        ERR_clear_error();
        set_err(err, MERKLE_ERR_KEY);
        goto fail;
    }
    /* key id = SHA-256(name || "\n" || 0x01 || raw)[:4] */
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, k->name, k->name_len) != 1 ||
        EVP_DigestUpdate(ctx, sep, sizeof(sep)) != 1 ||
        EVP_DigestUpdate(ctx, raw, ED25519_RAW_LEN) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 || dlen < 4) {
        ERR_clear_error();
        set_err(err, MERKLE_ERR_INTERNAL);
        goto fail;
    }
    EVP_MD_CTX_free(ctx);
    k->id = be32(digest);
    set_err(err, MERKLE_OK);
    return k;
fail:
    EVP_MD_CTX_free(ctx);
    merkle_note_key_free(k);
    return NULL;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

struct merkle_note_key *
merkle_note_key_from_vkey(const char *vkey, enum merkle_result *err)
{
    char name[MERKLE_NOTE_MAX_NAME];
    uint8_t key[NOTE_VKEY_KEY_MAX];
    const char *plus1, *plus2, *b64;
    struct merkle_note_key *k;
    size_t len, name_len, b64_len, i;
    uint32_t id = 0;
    long klen;

    if (vkey == NULL) {
        set_err(err, MERKLE_ERR_ARG);
        return NULL;
    }
    len = strnlen(vkey, NOTE_VKEY_MAX + 1);
    if (len > NOTE_VKEY_MAX) {
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    /* name '+' 8 hex digits '+' base64(alg || key); the base64 may hold
     * '+' itself, so split at the first two only. */
    plus1 = memchr(vkey, '+', len);
    if (plus1 == NULL) {
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    name_len = (size_t)(plus1 - vkey);
    plus2 = memchr(plus1 + 1, '+', len - name_len - 1);
    if (plus2 == NULL || plus2 - plus1 - 1 != 8 ||
        name_len >= MERKLE_NOTE_MAX_NAME) {
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    for (i = 0; i < 8; i++) {
        int d = hex_digit(plus1[1 + i]);
        if (d < 0) {
            set_err(err, MERKLE_ERR_KEY);
            return NULL;
        }
        id = id << 4 | (uint32_t)d;
    }
    b64 = plus2 + 1;
    b64_len = len - (size_t)(b64 - vkey);
    klen = merkle_b64_decode(b64, b64_len, key, sizeof(key));
    if (klen < 1) {
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    memcpy(name, vkey, name_len);
    name[name_len] = '\0';

    switch (key[0]) {
    case MERKLE_KEY_ED25519:
        if (klen != 1 + ED25519_RAW_LEN) {
            set_err(err, MERKLE_ERR_KEY);
            return NULL;
        }
        k = merkle_note_key_ed25519(name, key + 1, err);
        break;
    case MERKLE_KEY_ECDSA:
        k = merkle_note_key_ecdsa(name, key + 1, (size_t)klen - 1, err);
        break;
    default:
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    if (k == NULL) {
        return NULL;
    }
    if (k->id != id) {
        merkle_note_key_free(k);
        set_err(err, MERKLE_ERR_KEY);
        return NULL;
    }
    return k;
}

/* ---- notes --------------------------------------------------------- */

/* One signature line, pointing into the note. */
struct sig_line {
    const char *name;
    size_t name_len;
    const char *b64;
    size_t b64_len;
    uint32_t id;
};

/*
 * Check the note as a whole and find the split at the last blank line.
 * On success *text_len is the length of the signed text (ending in '\n')
 * and the signature block is note[*text_len + 1 .. len), non-empty and
 * ending in '\n'.
 */
static enum merkle_result
note_split(const char *note, size_t len, size_t *text_len)
{
    size_t i;

    if (note == NULL || len < 2 || len > MERKLE_NOTE_MAX_SIZE) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    if (!valid_note_bytes(note, len)) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    if (note[len - 1] != '\n') {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    /* Last "\n\n" that leaves a non-empty signature block after it. */
    for (i = len - 1; i > 0; i--) {
        if (note[i - 1] == '\n' && note[i] == '\n') {
            break;
        }
    }
    if (i == 0 || i + 1 >= len) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    *text_len = i; /* text is note[0 .. i), its last byte is note[i-1] */
    return MERKLE_OK;
}

/* Parse one signature line (without its '\n'). */
static enum merkle_result
sig_line_parse(const char *line, size_t len, struct sig_line *out)
{
    const char *sp;
    uint8_t id[4];
    long n;

    if (len < SIG_PREFIX_LEN || memcmp(line, sig_prefix, SIG_PREFIX_LEN)) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    line += SIG_PREFIX_LEN;
    len -= SIG_PREFIX_LEN;
    sp = memchr(line, ' ', len);
    if (sp == NULL) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    out->name = line;
    out->name_len = (size_t)(sp - line);
    out->b64 = sp + 1;
    out->b64_len = len - out->name_len - 1;
    if (!valid_name(out->name, out->name_len) || out->b64_len == 0) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    n = b64_decode_prefix(out->b64, out->b64_len, id, sizeof(id));
    if (n < 5) {
        return MERKLE_ERR_NOTE_MALFORMED; /* key id and >= 1 byte */
    }
    out->id = be32(id);
    return MERKLE_OK;
}

/*
 * Walk the signature block note[start .. len).  Calls fn for each line in
 * order, with its index; stops at the first error.  fn may be NULL.
 */
typedef enum merkle_result (*sig_line_fn)(const struct sig_line *sl, size_t idx,
                                          void *arg);

static enum merkle_result
sig_block_walk(const char *note, size_t start, size_t len, sig_line_fn fn,
               void *arg, size_t *nsigs)
{
    size_t off = start, idx = 0;
    enum merkle_result r;

    while (off < len) {
        const char *nl = memchr(note + off, '\n', len - off);
        struct sig_line sl;
        /* note_split checked that the block ends in '\n' */
        if (nl == NULL) {
            return MERKLE_ERR_NOTE_MALFORMED;
        }
        if (idx >= MERKLE_NOTE_MAX_SIGS) {
            return MERKLE_ERR_NOTE_TOO_MANY;
        }
        r = sig_line_parse(note + off, (size_t)(nl - (note + off)), &sl);
        if (r != MERKLE_OK) {
            return r;
        }
        if (fn != NULL) {
            r = fn(&sl, idx, arg);
            if (r != MERKLE_OK) {
                return r;
            }
        }
        idx++;
        *nsigs = idx;
        off = (size_t)(nl - note) + 1;
    }
    return MERKLE_OK;
}

enum merkle_result
merkle_note_parse(const char *note, size_t len, struct merkle_note_result *res)
{
    struct merkle_note_result tmp;
    enum merkle_result r;

    memset(&tmp, 0, sizeof(tmp));
    r = note_split(note, len, &tmp.text_len);
    if (r == MERKLE_OK) {
        r = sig_block_walk(note, tmp.text_len + 1, len, NULL, NULL, &tmp.nsigs);
    }
    if (res != NULL) {
        *res = tmp;
    }
    return r;
}

/* State of one verification pass. */
struct verify_ctx {
    const char *note;
    size_t len;
    size_t text_len;
    struct merkle_note_key *const *keys;
    size_t nkeys;
    size_t nverified;
    uint64_t mask;
};

static int
sig_line_names(const struct sig_line *sl, const char *name, size_t name_len,
               uint32_t id)
{
    return sl->id == id && sl->name_len == name_len &&
           memcmp(sl->name, name, name_len) == 0;
}

static enum merkle_result
key_verify(const struct merkle_note_key *k, const uint8_t *sig, size_t siglen,
           const char *text, size_t text_len)
{
    EVP_MD_CTX *ctx;
    int rc;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return MERKLE_ERR_INTERNAL;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, k->md, NULL, k->pkey) != 1) {
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        return MERKLE_ERR_INTERNAL;
    }
    rc = EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)text,
                          text_len);
    EVP_MD_CTX_free(ctx);
    if (rc != 1) {
        ERR_clear_error();
        return MERKLE_ERR_NOTE_BAD_SIGNATURE;
    }
    return MERKLE_OK;
}

/* A second walk over the lines before idx, to find a repeat of sl. */
struct repeat_ctx {
    const struct sig_line *sl;
    size_t before;
    int found;
};

static enum merkle_result
repeat_fn(const struct sig_line *sl, size_t idx, void *arg)
{
    struct repeat_ctx *rc = arg;

    if (idx >= rc->before) {
        return MERKLE_ERR_ARG; /* stop the walk early */
    }
    if (sig_line_names(sl, rc->sl->name, rc->sl->name_len, rc->sl->id)) {
        rc->found = 1;
        return MERKLE_ERR_ARG;
    }
    return MERKLE_OK;
}

static enum merkle_result
verify_fn(const struct sig_line *sl, size_t idx, void *arg)
{
    struct verify_ctx *vc = arg;
    const struct merkle_note_key *k = NULL;
    struct repeat_ctx rc;
    uint8_t sig[NOTE_SIG_BUF];
    size_t i, nsigs = 0;
    long n;
    enum merkle_result r;

    for (i = 0; i < vc->nkeys; i++) {
        if (sig_line_names(sl, vc->keys[i]->name, vc->keys[i]->name_len,
                           vc->keys[i]->id)) {
            k = vc->keys[i];
            break;
        }
    }
    if (k == NULL) {
        return MERKLE_OK; /* unknown signer: ignored */
    }
    /* As in Go: a known signer's repeated lines are dropped unchecked. */
    rc.sl = sl;
    rc.before = idx;
    rc.found = 0;
    if (idx > 0) {
        (void)sig_block_walk(vc->note, vc->text_len + 1, vc->len, repeat_fn,
                             &rc, &nsigs);
    }
    if (rc.found) {
        return MERKLE_OK;
    }
    n = b64_decode_prefix(sl->b64, sl->b64_len, sig, sizeof(sig));
    if (n < 5 || (size_t)n > sizeof(sig)) {
        return MERKLE_ERR_NOTE_BAD_SIGNATURE;
    }
    r = key_verify(k, sig + 4, (size_t)n - 4, vc->note, vc->text_len);
    if (r != MERKLE_OK) {
        return r;
    }
    vc->nverified++;
    if (i < 64) {
        vc->mask |= (uint64_t)1 << i;
    }
    return MERKLE_OK;
}

enum merkle_result
merkle_note_verify(const char *note, size_t len,
                   struct merkle_note_key *const *keys, size_t nkeys,
                   struct merkle_note_result *res)
{
    struct merkle_note_result tmp;
    struct verify_ctx vc;
    size_t i, j;
    enum merkle_result r;

    memset(&tmp, 0, sizeof(tmp));
    if (nkeys > 0 && keys == NULL) {
        r = MERKLE_ERR_ARG;
        goto done;
    }
    for (i = 0; i < nkeys; i++) {
        if (keys[i] == NULL) {
            r = MERKLE_ERR_ARG;
            goto done;
        }
        for (j = 0; j < i; j++) {
            if (keys[i]->id == keys[j]->id &&
                strcmp(keys[i]->name, keys[j]->name) == 0) {
                r = MERKLE_ERR_KEY; /* ambiguous key */
                goto done;
            }
        }
    }
    /* Structure first: nothing is verified in a note that is malformed
     * anywhere. */
    r = merkle_note_parse(note, len, &tmp);
    if (r != MERKLE_OK) {
        goto done;
    }
    vc.note = note;
    vc.len = len;
    vc.text_len = tmp.text_len;
    vc.keys = keys;
    vc.nkeys = nkeys;
    vc.nverified = 0;
    vc.mask = 0;
    r = sig_block_walk(note, tmp.text_len + 1, len, verify_fn, &vc, &tmp.nsigs);
    tmp.nverified = vc.nverified;
    tmp.verified_mask = vc.mask;
    if (r == MERKLE_OK && vc.nverified == 0) {
        r = MERKLE_ERR_NOTE_UNVERIFIED;
    }
done:
    if (res != NULL) {
        *res = tmp;
    }
    return r;
}

/* ---- checkpoints --------------------------------------------------- */

/* Decimal without sign or leading zeros (but "0"), fitting uint64_t. */
static int
parse_size(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || len > 20 || (len > 1 && s[0] == '0')) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* An origin: non-empty, valid UTF-8, no control characters. */
static int
valid_origin(const char *s, size_t len)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, adv;

    if (len == 0 || len >= MERKLE_ORIGIN_MAX) {
        return 0;
    }
    while (i < len) {
        long cp = utf8_decode(u + i, len - i, &adv);
        if (cp < 0x20 || cp == 0x7f) {
            return 0; /* also cp < 0: invalid UTF-8 */
        }
        i += adv;
    }
    return 1;
}

enum merkle_result
merkle_checkpoint_parse(const char *text, size_t len,
                        struct merkle_checkpoint *out)
{
    struct merkle_checkpoint cp;
    const char *nl1, *nl2, *nl3;
    size_t off2, off3;
    uint8_t root[48];

    if (text == NULL || len == 0 || len > MERKLE_NOTE_MAX_SIZE ||
        text[len - 1] != '\n') {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    memset(&cp, 0, sizeof(cp));
    nl1 = memchr(text, '\n', len);
    if (nl1 == NULL || !valid_origin(text, (size_t)(nl1 - text))) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    memcpy(cp.origin, text, (size_t)(nl1 - text));
    cp.origin[nl1 - text] = '\0';

    off2 = (size_t)(nl1 - text) + 1;
    nl2 = memchr(text + off2, '\n', len - off2);
    if (nl2 == NULL ||
        parse_size(text + off2, (size_t)(nl2 - text) - off2, &cp.size) != 0) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }

    off3 = (size_t)(nl2 - text) + 1;
    nl3 = memchr(text + off3, '\n', len - off3);
    /* The root is exactly 32 bytes: 44 base64 characters. */
    if (nl3 == NULL || (size_t)(nl3 - text) - off3 != 44 ||
        merkle_b64_decode(text + off3, 44, root, sizeof(root)) !=
            MERKLE_HASH_LEN) {
        return MERKLE_ERR_NOTE_MALFORMED;
    }
    memcpy(cp.root, root, MERKLE_HASH_LEN);
    cp.next_line = (size_t)(nl3 - text) + 1;
    if (out != NULL) {
        *out = cp;
    }
    return MERKLE_OK;
}

enum merkle_result
merkle_checkpoint_verify(const char *note, size_t len,
                         struct merkle_note_key *const *keys, size_t nkeys,
                         struct merkle_checkpoint *out)
{
    struct merkle_note_result res;
    enum merkle_result r;

    r = merkle_note_verify(note, len, keys, nkeys, &res);
    if (r != MERKLE_OK) {
        return r;
    }
    return merkle_checkpoint_parse(note, res.text_len, out);
}
