/*
 * nitro.c: AWS Nitro Enclaves attestation documents (nitro.h).
 *
 * The parser reads one CBOR item header at a time with libcbor's
 * streaming decoder: each call fills one struct nitro_tok (type, value or
 * length, and for a byte or text string a pointer into the input, which
 * libcbor hands over only when the whole string is there).  The grammar
 * of nitro.h is then walked by hand, so every place knows the one type it
 * accepts, and nothing is nested deeper than the format allows.
 *
 * Invariants: no allocation while parsing (only the Sig_structure and
 * OpenSSL's objects during verification are allocated); every length is
 * checked against its named limit before it is used; the input is never
 * written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "merkle/merkle.h"
#include "monitor/identity/nitro.h"
#include "nitro_root_pem.h" /* generated: NITRO_ROOT_PEM */

static void nitro_why(char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
nitro_why(char *why, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, NITRO_WHY_MAX, fmt, ap);
    va_end(ap);
}

/* ---- one CBOR item header ------------------------------------------ */

enum nitro_tok_type {
    TOK_NONE = 0, /* no callback ran (cannot happen on FINISHED) */
    TOK_UINT,
    TOK_NEGINT, /* value v means -1 - v */
    TOK_BYTES,
    TOK_TEXT,
    TOK_ARRAY,
    TOK_MAP,
    TOK_TAG,
    TOK_NULL,
    TOK_INDEFINITE, /* an indefinite-length string, array or map */
    TOK_OTHER,      /* float, bool, undefined, break */
};

struct nitro_tok {
    enum nitro_tok_type type;
    uint64_t v;       /* UINT, NEGINT, TAG; ARRAY and MAP: item count */
    const uint8_t *p; /* BYTES, TEXT: borrowed from the input */
    size_t len;
};

static void
tok_u8(void *c, uint8_t v)
{
    ((struct nitro_tok *)c)->type = TOK_UINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_u16(void *c, uint16_t v)
{
    ((struct nitro_tok *)c)->type = TOK_UINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_u32(void *c, uint32_t v)
{
    ((struct nitro_tok *)c)->type = TOK_UINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_u64(void *c, uint64_t v)
{
    ((struct nitro_tok *)c)->type = TOK_UINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_n8(void *c, uint8_t v)
{
    ((struct nitro_tok *)c)->type = TOK_NEGINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_n16(void *c, uint16_t v)
{
    ((struct nitro_tok *)c)->type = TOK_NEGINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_n32(void *c, uint32_t v)
{
    ((struct nitro_tok *)c)->type = TOK_NEGINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_n64(void *c, uint64_t v)
{
    ((struct nitro_tok *)c)->type = TOK_NEGINT;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_bytes(void *c, cbor_data p, size_t len)
{
    ((struct nitro_tok *)c)->type = TOK_BYTES;
    ((struct nitro_tok *)c)->p = p;
    ((struct nitro_tok *)c)->len = len;
}

static void
tok_text(void *c, cbor_data p, size_t len)
{
    ((struct nitro_tok *)c)->type = TOK_TEXT;
    ((struct nitro_tok *)c)->p = p;
    ((struct nitro_tok *)c)->len = len;
}

static void
tok_array(void *c, size_t n)
{
    ((struct nitro_tok *)c)->type = TOK_ARRAY;
    ((struct nitro_tok *)c)->v = n;
}

static void
tok_map(void *c, size_t n)
{
    ((struct nitro_tok *)c)->type = TOK_MAP;
    ((struct nitro_tok *)c)->v = n;
}

static void
tok_tag(void *c, uint64_t v)
{
    ((struct nitro_tok *)c)->type = TOK_TAG;
    ((struct nitro_tok *)c)->v = v;
}

static void
tok_null(void *c)
{
    ((struct nitro_tok *)c)->type = TOK_NULL;
}

static void
tok_indef(void *c)
{
    ((struct nitro_tok *)c)->type = TOK_INDEFINITE;
}

static void
tok_other(void *c)
{
    ((struct nitro_tok *)c)->type = TOK_OTHER;
}

static void
tok_float(void *c, float f)
{
    (void)f;
    tok_other(c);
}

static void
tok_double(void *c, double d)
{
    (void)d;
    tok_other(c);
}

static void
tok_bool(void *c, bool b)
{
    (void)b;
    tok_other(c);
}

/* libcbor 0.8 names: byte_string_start and string_start are the
 * indefinite-length starts; byte_string and string the definite ones. */
static const struct cbor_callbacks nitro_cbs = {
    .uint8 = tok_u8,
    .uint16 = tok_u16,
    .uint32 = tok_u32,
    .uint64 = tok_u64,
    .negint8 = tok_n8,
    .negint16 = tok_n16,
    .negint32 = tok_n32,
    .negint64 = tok_n64,
    .byte_string_start = tok_indef,
    .byte_string = tok_bytes,
    .string = tok_text,
    .string_start = tok_indef,
    .indef_array_start = tok_indef,
    .array_start = tok_array,
    .indef_map_start = tok_indef,
    .map_start = tok_map,
    .tag = tok_tag,
    .float2 = tok_float,
    .float4 = tok_float,
    .float8 = tok_double,
    .undefined = tok_other,
    .null = tok_null,
    .boolean = tok_bool,
    .indef_break = tok_other,
};

/* A reader over [p, end). */
struct nitro_rd {
    const uint8_t *p, *end;
    const char *where; /* "the COSE_Sign1", "the payload", ... */
    char *why;
};

static const char *
tok_name(enum nitro_tok_type t)
{
    switch (t) {
    case TOK_UINT:
        return "an unsigned integer";
    case TOK_NEGINT:
        return "a negative integer";
    case TOK_BYTES:
        return "a byte string";
    case TOK_TEXT:
        return "a text string";
    case TOK_ARRAY:
        return "an array";
    case TOK_MAP:
        return "a map";
    case TOK_TAG:
        return "a tag";
    case TOK_NULL:
        return "null";
    case TOK_INDEFINITE:
        return "an indefinite-length item";
    default:
        return "a float, bool or simple value";
    }
}

/* Read the next item header into *t.  0, or -1 with why (truncated or
 * malformed CBOR). */
static int
rd_next(struct nitro_rd *r, struct nitro_tok *t)
{
    struct cbor_decoder_result res;
    size_t left = (size_t)(r->end - r->p);

    memset(t, 0, sizeof(*t));
    if (left == 0) {
        nitro_why(r->why, "%s ends early (truncated)", r->where);
        return -1;
    }
    if ((r->p[0] >> 5) == 6 && (r->p[0] & 0x1f) < 24) {
        /* A tag 0..23 in its one-byte head: libcbor 0.8 (Debian 12)
         * reports tags 6..20 as malformed ("reserved"); read it here. */
        t->type = TOK_TAG;
        t->v = r->p[0] & 0x1f;
        r->p++;
        return 0;
    }
    res = cbor_stream_decode(r->p, left, &nitro_cbs, t);
    if (res.status == CBOR_DECODER_NEDATA) {
        nitro_why(r->why, "%s ends early (truncated)", r->where);
        return -1;
    }
    if (res.status != CBOR_DECODER_FINISHED || res.read == 0 ||
        res.read > left || t->type == TOK_NONE) {
        nitro_why(r->why, "%s is not well-formed CBOR", r->where);
        return -1;
    }
    r->p += res.read;
    return 0;
}

/* The next item must be of type want; a tag or indefinite item is named
 * as such.  0 or -1 with why naming field. */
static int
rd_want(struct nitro_rd *r, struct nitro_tok *t, enum nitro_tok_type want,
        const char *field)
{
    if (rd_next(r, t) != 0) {
        return -1;
    }
    if (t->type != want) {
        nitro_why(r->why, "%s: %s must be %s, not %s", r->where, field,
                  tok_name(want), tok_name(t->type));
        return -1;
    }
    return 0;
}

/* A byte string of min..max bytes. */
static int
rd_bytes(struct nitro_rd *r, const char *field, size_t min, size_t max,
         struct nitro_bytes *out)
{
    struct nitro_tok t;

    if (rd_want(r, &t, TOK_BYTES, field) != 0) {
        return -1;
    }
    if (t.len < min || t.len > max) {
        nitro_why(r->why, "%s: %s is %zu bytes (allowed %zu..%zu)", r->where,
                  field, t.len, min, max);
        return -1;
    }
    out->p = t.p;
    out->len = t.len;
    return 0;
}

/* An optional byte string: null reads as absent. */
static int
rd_opt_bytes(struct nitro_rd *r, const char *field, size_t min, size_t max,
             int *has, struct nitro_bytes *out)
{
    struct nitro_tok t;

    if (rd_next(r, &t) != 0) {
        return -1;
    }
    if (t.type == TOK_NULL) {
        *has = 0;
        return 0;
    }
    if (t.type != TOK_BYTES) {
        nitro_why(r->why, "%s: %s must be a byte string or null, not %s",
                  r->where, field, tok_name(t.type));
        return -1;
    }
    if (t.len < min || t.len > max) {
        nitro_why(r->why, "%s: %s is %zu bytes (allowed %zu..%zu)", r->where,
                  field, t.len, min, max);
        return -1;
    }
    *has = 1;
    out->p = t.p;
    out->len = t.len;
    return 0;
}

/* ---- the protected header and the payload -------------------------- */

/* bstr .cbor {1: -35}, nothing else. */
static int
nitro_parse_protected(const struct nitro_bytes *b, char *why)
{
    struct nitro_rd r = {b->p, b->p + b->len, "the protected header", why};
    struct nitro_tok t;

    if (rd_want(&r, &t, TOK_MAP, "the header") != 0) {
        return -1;
    }
    if (t.v != 1) {
        nitro_why(why,
                  "the protected header has %llu entries (only alg "
                  "allowed)",
                  (unsigned long long)t.v);
        return -1;
    }
    if (rd_want(&r, &t, TOK_UINT, "its key") != 0) {
        return -1;
    }
    if (t.v != 1) {
        nitro_why(why,
                  "the protected header holds label %llu (only 1, alg, "
                  "allowed)",
                  (unsigned long long)t.v);
        return -1;
    }
    if (rd_next(&r, &t) != 0) {
        return -1;
    }
    if (t.type != TOK_NEGINT || t.v != (uint64_t)(-1 - NITRO_ALG_ES384)) {
        nitro_why(why, "the protected header's alg is not ES384 (-35)");
        return -1;
    }
    if (r.p != r.end) {
        nitro_why(why, "the protected header has %zu bytes after its map",
                  (size_t)(r.end - r.p));
        return -1;
    }
    return 0;
}

enum nitro_field {
    F_MODULE_ID = 0,
    F_DIGEST,
    F_TIMESTAMP,
    F_PCRS,
    F_CERTIFICATE,
    F_CABUNDLE,
    F_PUBLIC_KEY,
    F_USER_DATA,
    F_NONCE,
    F_COUNT_,
};

static const char *const nitro_fields[F_COUNT_] = {
    "module_id", "digest",     "timestamp", "pcrs",  "certificate",
    "cabundle",  "public_key", "user_data", "nonce",
};
#define NITRO_REQUIRED_MASK ((1u << F_PUBLIC_KEY) - 1u)

static int
nitro_parse_module_id(struct nitro_rd *r, struct nitro_doc *doc)
{
    struct nitro_tok t;
    size_t i;

    if (rd_want(r, &t, TOK_TEXT, "module_id") != 0) {
        return -1;
    }
    if (t.len < 1 || t.len > NITRO_MODULE_ID_MAX) {
        nitro_why(r->why, "the payload: module_id is %zu bytes (allowed 1..%d)",
                  t.len, NITRO_MODULE_ID_MAX);
        return -1;
    }
    for (i = 0; i < t.len; i++) {
        if (t.p[i] < 0x20 || t.p[i] > 0x7e) {
            nitro_why(r->why,
                      "the payload: module_id has a byte that is not "
                      "printable ASCII at offset %zu",
                      i);
            return -1;
        }
    }
    memcpy(doc->module_id, t.p, t.len);
    doc->module_id[t.len] = '\0';
    return 0;
}

static int
nitro_parse_pcrs(struct nitro_rd *r, struct nitro_doc *doc)
{
    struct nitro_tok t;
    uint64_t i, n;

    if (rd_want(r, &t, TOK_MAP, "pcrs") != 0) {
        return -1;
    }
    n = t.v;
    if (n < 1 || n > NITRO_PCR_COUNT) {
        nitro_why(r->why, "the payload: pcrs has %llu entries (allowed 1..%d)",
                  (unsigned long long)n, NITRO_PCR_COUNT);
        return -1;
    }
    for (i = 0; i < n; i++) {
        uint64_t idx;

        if (rd_want(r, &t, TOK_UINT, "a pcrs key") != 0) {
            return -1;
        }
        idx = t.v;
        if (idx >= NITRO_PCR_COUNT) {
            nitro_why(r->why, "the payload: PCR index %llu (allowed 0..%d)",
                      (unsigned long long)idx, NITRO_PCR_COUNT - 1);
            return -1;
        }
        if (doc->pcr_present & (UINT32_C(1) << idx)) {
            nitro_why(r->why, "the payload: PCR%llu appears twice",
                      (unsigned long long)idx);
            return -1;
        }
        if (rd_want(r, &t, TOK_BYTES, "a PCR value") != 0) {
            return -1;
        }
        if (t.len != NITRO_PCR_LEN) {
            nitro_why(r->why, "the payload: PCR%llu is %zu bytes (SHA384: %d)",
                      (unsigned long long)idx, t.len, NITRO_PCR_LEN);
            return -1;
        }
        memcpy(doc->pcrs[idx], t.p, NITRO_PCR_LEN);
        doc->pcr_present |= UINT32_C(1) << idx;
    }
    return 0;
}

static int
nitro_parse_cabundle(struct nitro_rd *r, struct nitro_doc *doc)
{
    struct nitro_tok t;
    uint64_t i, n;

    if (rd_want(r, &t, TOK_ARRAY, "cabundle") != 0) {
        return -1;
    }
    n = t.v;
    if (n < 1 || n > NITRO_MAX_CABUNDLE) {
        nitro_why(r->why,
                  "the payload: cabundle has %llu certificates (allowed "
                  "1..%d)",
                  (unsigned long long)n, NITRO_MAX_CABUNDLE);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (rd_bytes(r, "a cabundle certificate", 1, NITRO_CERT_MAX,
                     &doc->cabundle[i]) != 0) {
            return -1;
        }
    }
    doc->ncabundle = (size_t)n;
    return 0;
}

static int
nitro_parse_field(struct nitro_rd *r, enum nitro_field f, struct nitro_doc *doc)
{
    struct nitro_tok t;

    switch (f) {
    case F_MODULE_ID:
        return nitro_parse_module_id(r, doc);
    case F_DIGEST:
        if (rd_want(r, &t, TOK_TEXT, "digest") != 0) {
            return -1;
        }
        if (t.len != 6 || memcmp(t.p, "SHA384", 6) != 0) {
            nitro_why(r->why, "the payload: digest is not \"SHA384\"");
            return -1;
        }
        return 0;
    case F_TIMESTAMP:
        if (rd_want(r, &t, TOK_UINT, "timestamp") != 0) {
            return -1;
        }
        if (t.v == 0 || t.v > NITRO_MAX_TIMESTAMP_MS) {
            nitro_why(r->why,
                      "the payload: timestamp %llu is out of range (1.."
                      "%llu ms)",
                      (unsigned long long)t.v,
                      (unsigned long long)NITRO_MAX_TIMESTAMP_MS);
            return -1;
        }
        doc->timestamp_ms = t.v;
        return 0;
    case F_PCRS:
        return nitro_parse_pcrs(r, doc);
    case F_CERTIFICATE:
        return rd_bytes(r, "certificate", 1, NITRO_CERT_MAX, &doc->certificate);
    case F_CABUNDLE:
        return nitro_parse_cabundle(r, doc);
    case F_PUBLIC_KEY:
        return rd_opt_bytes(r, "public_key", 1, NITRO_PUBLIC_KEY_MAX,
                            &doc->has_public_key, &doc->public_key);
    case F_USER_DATA:
        return rd_opt_bytes(r, "user_data", 0, NITRO_USER_DATA_MAX,
                            &doc->has_user_data, &doc->user_data);
    case F_NONCE:
        return rd_opt_bytes(r, "nonce", 0, NITRO_NONCE_MAX, &doc->has_nonce,
                            &doc->nonce);
    default:
        return -1;
    }
}

/* "the payload has an unknown key": quoted when short printable ASCII. */
static void
nitro_unknown_key(const struct nitro_tok *t, char *why)
{
    size_t i;

    for (i = 0; i < t->len && t->len <= 32; i++) {
        if (t->p[i] < 0x20 || t->p[i] > 0x7e || t->p[i] == '"' ||
            t->p[i] == '\\') {
            break;
        }
    }
    if (t->len > 0 && t->len <= 32 && i == t->len) {
        nitro_why(why, "the payload has an unknown key \"%.*s\"", (int)t->len,
                  (const char *)t->p);
    } else {
        nitro_why(why, "the payload has an unknown key (%zu bytes)", t->len);
    }
}

static int
nitro_parse_payload(const struct nitro_bytes *b, struct nitro_doc *doc,
                    char *why)
{
    struct nitro_rd r = {b->p, b->p + b->len, "the payload", why};
    struct nitro_tok t;
    unsigned seen = 0;
    uint64_t i, n;
    int f;

    if (rd_want(&r, &t, TOK_MAP, "the document") != 0) {
        return -1;
    }
    n = t.v;
    if (n < 6 || n > F_COUNT_) {
        nitro_why(why, "the payload has %llu fields (allowed 6..%d)",
                  (unsigned long long)n, F_COUNT_);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (rd_want(&r, &t, TOK_TEXT, "a key") != 0) {
            return -1;
        }
        for (f = 0; f < F_COUNT_; f++) {
            if (strlen(nitro_fields[f]) == t.len &&
                memcmp(nitro_fields[f], t.p, t.len) == 0) {
                break;
            }
        }
        if (f == F_COUNT_) {
            nitro_unknown_key(&t, why);
            return -1;
        }
        if (seen & (1u << f)) {
            nitro_why(why, "the payload: %s appears twice", nitro_fields[f]);
            return -1;
        }
        seen |= 1u << f;
        if (nitro_parse_field(&r, (enum nitro_field)f, doc) != 0) {
            return -1;
        }
    }
    if ((seen & NITRO_REQUIRED_MASK) != NITRO_REQUIRED_MASK) {
        for (f = 0; f < F_PUBLIC_KEY; f++) {
            if (!(seen & (1u << f))) {
                nitro_why(why, "the payload lacks %s", nitro_fields[f]);
                return -1;
            }
        }
    }
    if (r.p != r.end) {
        nitro_why(why, "the payload has %zu bytes after its map",
                  (size_t)(r.end - r.p));
        return -1;
    }
    return 0;
}

/* ---- the COSE_Sign1 -------------------------------------------------- */

static int
nitro_parse_cose(const uint8_t *buf, size_t len, struct nitro_doc *doc,
                 char *why)
{
    struct nitro_rd r = {buf, buf + len, "the COSE_Sign1", why};
    struct nitro_tok t;

    if (rd_next(&r, &t) != 0) {
        return -1;
    }
    if (t.type == TOK_TAG) {
        if (t.v != NITRO_COSE_TAG) {
            nitro_why(why, "the COSE_Sign1 has tag %llu (only 18 allowed)",
                      (unsigned long long)t.v);
            return -1;
        }
        if (rd_next(&r, &t) != 0) {
            return -1;
        }
    }
    if (t.type != TOK_ARRAY) {
        nitro_why(why, "the COSE_Sign1 must be an array, not %s",
                  tok_name(t.type));
        return -1;
    }
    if (t.v != 4) {
        nitro_why(why, "the COSE_Sign1 has %llu items (4 expected)",
                  (unsigned long long)t.v);
        return -1;
    }
    if (rd_bytes(&r, "the protected header", 1, NITRO_MAX_PROTECTED,
                 &doc->protected_hdr) != 0) {
        return -1;
    }
    if (rd_want(&r, &t, TOK_MAP, "the unprotected header") != 0) {
        return -1;
    }
    if (t.v != 0) {
        nitro_why(why, "the unprotected header is not empty (%llu entries)",
                  (unsigned long long)t.v);
        return -1;
    }
    if (rd_bytes(&r, "the payload", 1, NITRO_MAX_PAYLOAD, &doc->payload) != 0 ||
        rd_bytes(&r, "the signature", NITRO_SIG_LEN, NITRO_SIG_LEN,
                 &doc->signature) != 0) {
        return -1;
    }
    if (r.p != r.end) {
        nitro_why(why, "the document has %zu bytes after the COSE_Sign1",
                  (size_t)(r.end - r.p));
        return -1;
    }
    if (nitro_parse_protected(&doc->protected_hdr, why) != 0) {
        return -1;
    }
    return nitro_parse_payload(&doc->payload, doc, why);
}

int
nitro_parse(const uint8_t *buf, size_t len, struct nitro_doc *doc,
            char why[NITRO_WHY_MAX])
{
    memset(doc, 0, sizeof(*doc));
    if (buf == NULL || len == 0) {
        nitro_why(why, "the document is empty");
        return -1;
    }
    if (len > NITRO_MAX_BYTES) {
        nitro_why(why, "the document is %zu bytes (at most %d)", len,
                  NITRO_MAX_BYTES);
        return -1;
    }
    if (nitro_parse_cose(buf, len, doc, why) != 0) {
        memset(doc, 0, sizeof(*doc));
        return -1;
    }
    return 0;
}

long
nitro_decode_input(const uint8_t *in, size_t len, uint8_t *out, size_t outcap,
                   char why[NITRO_WHY_MAX])
{
    char *text;
    size_t i, n = 0;
    long got;

    if (in == NULL || len == 0) {
        nitro_why(why, "the document is empty");
        return -1;
    }
    if (in[0] == 0x84 || in[0] == 0xd2) { /* array(4), tag(18): raw CBOR */
        if (len > NITRO_MAX_BYTES || len > outcap) {
            nitro_why(why, "the document is %zu bytes (at most %d)", len,
                      NITRO_MAX_BYTES);
            return -1;
        }
        memcpy(out, in, len);
        return (long)len;
    }
    if (len > NITRO_MAX_TEXT) {
        nitro_why(why, "the base64 text is %zu bytes (at most %d)", len,
                  NITRO_MAX_TEXT);
        return -1;
    }
    text = malloc(len + 1);
    if (text == NULL) {
        nitro_why(why, "out of memory");
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n') {
            continue;
        }
        text[n++] = (char)in[i];
    }
    if (n / 4 * 3 > NITRO_MAX_BYTES + 2) {
        free(text);
        nitro_why(why, "the document is larger than %d bytes", NITRO_MAX_BYTES);
        return -1;
    }
    got = n == 0 ? -1 : merkle_b64_decode(text, n, out, outcap);
    free(text);
    if (got <= 0) {
        nitro_why(why, "the document is neither CBOR (a COSE_Sign1) nor "
                       "standard base64");
        return -1;
    }
    if (got > NITRO_MAX_BYTES) {
        nitro_why(why, "the document is %ld bytes (at most %d)", got,
                  NITRO_MAX_BYTES);
        return -1;
    }
    return got;
}

/* ---- verification ---------------------------------------------------- */

uint8_t *
nitro_sig_structure(const struct nitro_doc *doc, size_t *len)
{
    static const char ctx[] = "Signature1";
    size_t cap = 32 + doc->protected_hdr.len + doc->payload.len, n = 0, w;
    uint8_t *b = malloc(cap);

    *len = 0;
    if (b == NULL) {
        return NULL;
    }
    w = cbor_encode_array_start(4, b + n, cap - n);
    n += w;
    w = w ? cbor_encode_string_start(sizeof(ctx) - 1, b + n, cap - n) : 0;
    n += w;
    if (w == 0 || cap - n < sizeof(ctx) - 1) {
        goto fail;
    }
    memcpy(b + n, ctx, sizeof(ctx) - 1);
    n += sizeof(ctx) - 1;
    w = cbor_encode_bytestring_start(doc->protected_hdr.len, b + n, cap - n);
    n += w;
    if (w == 0 || cap - n < doc->protected_hdr.len) {
        goto fail;
    }
    memcpy(b + n, doc->protected_hdr.p, doc->protected_hdr.len);
    n += doc->protected_hdr.len;
    w = cbor_encode_bytestring_start(0, b + n, cap - n); /* external_aad */
    n += w;
    w = w ? cbor_encode_bytestring_start(doc->payload.len, b + n, cap - n) : 0;
    n += w;
    if (w == 0 || cap - n < doc->payload.len) {
        goto fail;
    }
    memcpy(b + n, doc->payload.p, doc->payload.len);
    n += doc->payload.len;
    *len = n;
    return b;
fail:
    free(b);
    return NULL;
}

static X509 *
nitro_der_cert(const struct nitro_bytes *b)
{
    const unsigned char *p = b->p;
    X509 *x = d2i_X509(NULL, &p, (long)b->len);

    if (x != NULL && p != b->p + b->len) { /* trailing bytes */
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* r || s (48 bytes each) as a DER ECDSA-Sig-Value; new (OPENSSL_free). */
static unsigned char *
nitro_sig_der(const struct nitro_bytes *sig, int *len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig->p, NITRO_SIG_LEN / 2, NULL);
    BIGNUM *s = BN_bin2bn(sig->p + NITRO_SIG_LEN / 2, NITRO_SIG_LEN / 2, NULL);
    unsigned char *der = NULL;

    *len = 0;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    *len = i2d_ECDSA_SIG(es, &der); /* es owns r and s now */
    ECDSA_SIG_free(es);
    if (*len <= 0) {
        OPENSSL_free(der);
        *len = 0;
        return NULL;
    }
    return der;
}

/* 1 when key is an EC key on P-384. */
static int
nitro_key_is_p384(EVP_PKEY *key)
{
    char group[64];
    size_t glen = 0;

    if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) {
        return 0;
    }
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group),
                                       &glen) != 1) {
        return 0;
    }
    return strcmp(group, SN_secp384r1) == 0;
}

int
nitro_verify_signature(const struct nitro_doc *doc, char why[NITRO_WHY_MAX])
{
    X509 *leaf = NULL;
    EVP_PKEY *key;
    EVP_MD_CTX *md = NULL;
    unsigned char *der = NULL;
    uint8_t *tbs = NULL;
    size_t tbs_len = 0;
    int der_len = 0, rc = -1;

    if (doc->signature.len != NITRO_SIG_LEN) {
        nitro_why(why, "the signature is not %d bytes", NITRO_SIG_LEN);
        return -1;
    }
    leaf = nitro_der_cert(&doc->certificate);
    if (leaf == NULL) {
        nitro_why(why, "the certificate does not parse (DER X.509)");
        goto out;
    }
    key = X509_get0_pubkey(leaf);
    if (key == NULL || !nitro_key_is_p384(key)) {
        nitro_why(why, "the certificate's key is not an EC P-384 key");
        goto out;
    }
    der = nitro_sig_der(&doc->signature, &der_len);
    tbs = nitro_sig_structure(doc, &tbs_len);
    md = EVP_MD_CTX_new();
    if (der == NULL || tbs == NULL || md == NULL) {
        nitro_why(why, "out of memory");
        goto out;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1 ||
        EVP_DigestVerify(md, der, (size_t)der_len, tbs, tbs_len) != 1) {
        nitro_why(why, "the COSE signature does not verify with the "
                       "certificate's key (ES384 over the Sig_structure)");
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(tbs);
    OPENSSL_free(der);
    X509_free(leaf);
    return rc;
}

int
nitro_verify_chain(const struct nitro_doc *doc, X509 *root,
                   char why[NITRO_WHY_MAX])
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509 *leaf = NULL;
    X509_VERIFY_PARAM *param;
    size_t i;
    int rc = -1;

    if (root == NULL) {
        nitro_why(why, "no root certificate");
        return -1;
    }
    leaf = nitro_der_cert(&doc->certificate);
    if (leaf == NULL) {
        nitro_why(why, "the certificate does not parse (DER X.509)");
        return -1;
    }
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (store == NULL || ctx == NULL || untrusted == NULL ||
        X509_STORE_add_cert(store, root) != 1) {
        nitro_why(why, "out of memory");
        goto out;
    }
    for (i = 0; i < doc->ncabundle; i++) {
        X509 *c = nitro_der_cert(&doc->cabundle[i]);

        if (c == NULL) {
            nitro_why(why, "cabundle[%zu] does not parse (DER X.509)", i);
            goto out;
        }
        if (sk_X509_push(untrusted, c) <= 0) {
            X509_free(c);
            nitro_why(why, "out of memory");
            goto out;
        }
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        nitro_why(why, "out of memory");
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)(doc->timestamp_ms / 1000));
    X509_VERIFY_PARAM_set_depth(param, NITRO_MAX_CABUNDLE + 1);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);

        nitro_why(why,
                  "the chain does not verify at the document's time: %s "
                  "(depth %d)",
                  X509_verify_cert_error_string(e),
                  X509_STORE_CTX_get_error_depth(ctx));
        goto out;
    }
    rc = 0;
out:
    ERR_clear_error();
    sk_X509_pop_free(untrusted, X509_free);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    return rc;
}

const char *
nitro_root_default_pem(void)
{
    return NITRO_ROOT_PEM;
}

X509 *
nitro_root_from_pem(const char *pem, size_t len, char why[NITRO_WHY_MAX])
{
    BIO *bio;
    X509 *x;

    if (pem == NULL || len == 0 || len > 64 * 1024) {
        nitro_why(why, "the root PEM is empty or larger than 64 KiB");
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        nitro_why(why, "out of memory");
        return NULL;
    }
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (x == NULL) {
        nitro_why(why, "no PEM CERTIFICATE block that parses");
    }
    return x;
}

X509 *
nitro_root_default(void)
{
    return nitro_root_from_pem(NITRO_ROOT_PEM, strlen(NITRO_ROOT_PEM), NULL);
}

int
nitro_debug_mode(const struct nitro_doc *doc)
{
    static const uint8_t zero[NITRO_PCR_LEN];
    int i;

    for (i = 0; i < 3; i++) {
        if (!(doc->pcr_present & (UINT32_C(1) << i)) ||
            memcmp(doc->pcrs[i], zero, NITRO_PCR_LEN) != 0) {
            return 0;
        }
    }
    return 1;
}
