/*
 * fulcio.c: Fulcio leaf certificate claims, chain verification and the
 * repository prefilter (see fulcio.h for the contracts).
 *
 * Structure:
 *  - input decoding (DER / PEM / base64 of PEM) is done here, not by
 *    OpenSSL's PEM reader, so that the parser and the prefilter see exactly
 *    the same DER bytes: this is what makes "prefilter == 0 implies no
 *    match" hold by construction;
 *  - X.509 framing, SAN and times come from OpenSSL; the Sigstore
 *    extension values are decoded by hand (raw strings for .1-.6, a single
 *    DER UTF8String for .8 and up, long-form lengths included);
 *  - every value is escaped into a NUL-terminated string (fulcio.h), then
 *    the derived fields are computed from the escaped values.
 *
 * Pure: no logging, no global mutable state, no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "monitor/identity/fulcio.h"

/* DER body of the OID arc 1.3.6.1.4.1.57264.1 (57264 = 0x83 0xBF 0x30). */
static const uint8_t fulcio_arc_der[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                         0x83, 0xbf, 0x30, 0x01};
#define FULCIO_ARC_DER_LEN sizeof(fulcio_arc_der)
/* The otherName type of Fulcio's username SAN: arc .7. */
#define FULCIO_OTHERNAME_N 7
#define FULCIO_GITHUB_PREFIX "https://github.com/"
#define FULCIO_B64_MAX (FULCIO_MAX_INPUT / 4 * 3) /* outer base64 output */

struct fulcio_cert {
    X509 *x509;
    uint8_t *der; /* owned copy */
    size_t der_len;
    struct fulcio_claims claims; /* strings below, borrowed by claims */
    char *san;
    char *issuer_cn;
    char *ext[FULCIO_EXT_MAX + 1];
    char *repository;
    char *workflow_path;
    char *workflow_ref;
};

struct fulcio_needle {
    char repo[FULCIO_NEEDLE_MAX_LEN + 1]; /* lower case "owner/repo" */
    size_t owner_len;                     /* bytes before the '/' */
    size_t repo_len;                      /* bytes after the '/' */
    char id[FULCIO_NEEDLE_MAX_LEN + 1];   /* digits, or "" */
    size_t id_len;
    /* The id as the DER UTF8String that .15 holds when it equals the id
     * (tag 0x0C, minimal length, digits): what the prefilter looks for. */
    char id_tlv[FULCIO_NEEDLE_MAX_LEN + 4];
    size_t id_tlv_len;
};

struct fulcio_needles {
    struct fulcio_needle *v;
    size_t n, cap;
    /* Bit (a, b) of pair: some needle's owner ends in (folded) a and its
     * repo starts with (folded) b, i.e. "a/b" may be the middle of a
     * match; one load rejects almost every '/' of a certificate.  8 KiB. */
    uint8_t pair[256][32];
    /* id_len[k]: some id needle has k < 128 digits (DER short form). */
    uint8_t id_len[128];
    size_t nids;      /* needles with an id */
    size_t nlong_ids; /* of those, with 128 digits or more */
};

#define FULCIO_PAIR(n, a, b) ((n)->pair[(a)][(b) >> 3] & (1u << ((b)&7)))

const char *
fulcio_strerror(enum fulcio_error e)
{
    switch (e) {
    case FULCIO_OK:
        return "ok";
    case FULCIO_ERR_ARG:
        return "no input";
    case FULCIO_ERR_TOO_LARGE:
        return "certificate input too large";
    case FULCIO_ERR_ENCODING:
        return "not a DER, PEM or base64-of-PEM certificate";
    case FULCIO_ERR_DER:
        return "malformed X.509 certificate";
    case FULCIO_ERR_EXTENSION:
        return "malformed or duplicate Sigstore extension";
    case FULCIO_ERR_SAN:
        return "missing, malformed or ambiguous subjectAltName";
    case FULCIO_ERR_VALUE_TOO_LONG:
        return "certificate value too long";
    case FULCIO_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown error";
}

const char *
fulcio_chain_strerror(enum fulcio_chain_result r)
{
    switch (r) {
    case FULCIO_CHAIN_OK:
        return "chains to a Fulcio CA";
    case FULCIO_CHAIN_NO_CA:
        return "no Fulcio CA valid at the certificate's NotBefore";
    case FULCIO_CHAIN_UNTRUSTED:
        return "does not chain to a Fulcio CA";
    case FULCIO_CHAIN_BAD_SIGNATURE:
        return "signature does not verify with the named Fulcio CA";
    case FULCIO_CHAIN_EXPIRED:
        return "certificate or CA not valid at NotBefore";
    case FULCIO_CHAIN_EKU:
        return "certificate lacks the code-signing extended key usage";
    case FULCIO_CHAIN_INTERNAL:
        return "internal error";
    }
    return "unknown verdict";
}

/* Names from sigstore/fulcio docs/oid-info.md; .24 from
 * pkg/certificate/extensions.go (OIDTokenSubject). */
static const char *const fulcio_ext_names[FULCIO_EXT_MAX + 1] = {
    NULL,
    "Issuer (deprecated)",
    "GitHub Workflow Trigger (deprecated)",
    "GitHub Workflow SHA (deprecated)",
    "GitHub Workflow Name (deprecated)",
    "GitHub Workflow Repository (deprecated)",
    "GitHub Workflow Ref (deprecated)",
    "OtherName SAN",
    "Issuer (V2)",
    "Build Signer URI",
    "Build Signer Digest",
    "Runner Environment",
    "Source Repository URI",
    "Source Repository Digest",
    "Source Repository Ref",
    "Source Repository Identifier",
    "Source Repository Owner URI",
    "Source Repository Owner Identifier",
    "Build Config URI",
    "Build Config Digest",
    "Build Trigger",
    "Run Invocation URI",
    "Source Repository Visibility At Signing",
    "Deployment Environment",
    "Token Subject",
};

const char *
fulcio_ext_name(unsigned n)
{
    return n <= FULCIO_EXT_MAX ? fulcio_ext_names[n] : NULL;
}

/* ---- input decoding ---------------------------------------------------- */

/*
 * Base64 decoding table: alphabet value + 1 (1..64); FULCIO_B64_PAD for
 * '=', FULCIO_B64_WS for PEM whitespace, 0 for anything else.
 */
#define FULCIO_B64_PAD 65
#define FULCIO_B64_WS 66
/* The base64 alphabet as an X-macro: X(character, value). */
/* clang-format off */
#define FULCIO_B64_LIST(X) \
    X('A', 0) X('B', 1) X('C', 2) X('D', 3) X('E', 4) X('F', 5) \
    X('G', 6) X('H', 7) X('I', 8) X('J', 9) X('K', 10) X('L', 11) \
    X('M', 12) X('N', 13) X('O', 14) X('P', 15) X('Q', 16) X('R', 17) \
    X('S', 18) X('T', 19) X('U', 20) X('V', 21) X('W', 22) X('X', 23) \
    X('Y', 24) X('Z', 25) X('a', 26) X('b', 27) X('c', 28) X('d', 29) \
    X('e', 30) X('f', 31) X('g', 32) X('h', 33) X('i', 34) X('j', 35) \
    X('k', 36) X('l', 37) X('m', 38) X('n', 39) X('o', 40) X('p', 41) \
    X('q', 42) X('r', 43) X('s', 44) X('t', 45) X('u', 46) X('v', 47) \
    X('w', 48) X('x', 49) X('y', 50) X('z', 51) X('0', 52) X('1', 53) \
    X('2', 54) X('3', 55) X('4', 56) X('5', 57) X('6', 58) X('7', 59) \
    X('8', 60) X('9', 61) X('+', 62) X('/', 63)
/* clang-format on */

#define FULCIO_B64_ALPHA(c, v) [c] = (v) + 1,
static const uint8_t fulcio_b64_tab[256] = {
    ['='] = FULCIO_B64_PAD, [' '] = FULCIO_B64_WS,
    ['\t'] = FULCIO_B64_WS, ['\r'] = FULCIO_B64_WS,
    ['\n'] = FULCIO_B64_WS, FULCIO_B64_LIST(FULCIO_B64_ALPHA)};

/*
 * Fast-path tables: the value pre-shifted into its place in a 24-bit
 * group, plus FULCIO_B64_VALID; anything not in the alphabet is 0.  The
 * AND of four entries has FULCIO_B64_VALID only when all four are
 * alphabet characters; the OR of the four, masked, is the 24-bit group.
 */
#define FULCIO_B64_VALID 0x01000000u
#define FULCIO_B64_T0(c, v) [c] = ((uint32_t)(v) << 18) | FULCIO_B64_VALID,
#define FULCIO_B64_T1(c, v) [c] = ((uint32_t)(v) << 12) | FULCIO_B64_VALID,
#define FULCIO_B64_T2(c, v) [c] = ((uint32_t)(v) << 6) | FULCIO_B64_VALID,
#define FULCIO_B64_T3(c, v) [c] = (uint32_t)(v) | FULCIO_B64_VALID,
static const uint32_t fulcio_b64_t0[256] = {FULCIO_B64_LIST(FULCIO_B64_T0)};
static const uint32_t fulcio_b64_t1[256] = {FULCIO_B64_LIST(FULCIO_B64_T1)};
static const uint32_t fulcio_b64_t2[256] = {FULCIO_B64_LIST(FULCIO_B64_T2)};
static const uint32_t fulcio_b64_t3[256] = {FULCIO_B64_LIST(FULCIO_B64_T3)};

static int
fulcio_is_space(unsigned char c)
{
    return fulcio_b64_tab[c] == FULCIO_B64_WS;
}

/*
 * Standard base64 with padding; whitespace skipped when skip_ws.  Returns
 * the decoded length or -1 (bad character, bad or missing padding, data
 * after padding, non-zero pad bits, output too small).  Four alphabet
 * characters at a quad boundary take a branch-light fast path, so PEM
 * decodes at about one table load per character.
 */
static long
fulcio_b64_decode(const uint8_t *in, size_t len, int skip_ws, uint8_t *out,
                  size_t cap)
{
    uint32_t acc = 0, v;
    size_t i = 0, n = 0, quad = 0, want;

    while (i < len) {
        while (quad == 0 && len - i >= 4) {
            uint32_t a = fulcio_b64_t0[in[i]], b = fulcio_b64_t1[in[i + 1]];
            uint32_t c = fulcio_b64_t2[in[i + 2]];
            uint32_t d = fulcio_b64_t3[in[i + 3]];

            if ((a & b & c & d & FULCIO_B64_VALID) == 0 || cap - n < 3) {
                break; /* '=', whitespace, invalid or full: slow path */
            }
            v = a | b | c | d;
            out[n] = (uint8_t)(v >> 16);
            out[n + 1] = (uint8_t)(v >> 8);
            out[n + 2] = (uint8_t)v;
            n += 3;
            i += 4;
        }
        if (i >= len) {
            break;
        }
        v = fulcio_b64_tab[in[i]];
        if (v == 0 || (v == FULCIO_B64_WS && !skip_ws)) {
            return -1;
        }
        if (v == FULCIO_B64_PAD) {
            break;
        }
        i++;
        if (v == FULCIO_B64_WS) {
            continue;
        }
        acc = acc << 6 | (v - 1);
        if (++quad == 4) {
            if (cap - n < 3) {
                return -1;
            }
            out[n] = (uint8_t)(acc >> 16);
            out[n + 1] = (uint8_t)(acc >> 8);
            out[n + 2] = (uint8_t)acc;
            n += 3;
            acc = 0;
            quad = 0;
        }
    }
    if (i >= len) {
        return quad == 0 ? (long)n : -1;
    }
    /* in[i] is the first '=': it completes a quad of 2 or 3 characters. */
    if (quad < 2) {
        return -1;
    }
    want = 4 - quad;
    for (; i < len; i++) {
        v = fulcio_b64_tab[in[i]];
        if (v == FULCIO_B64_PAD && want > 0) {
            want--;
        } else if (!(v == FULCIO_B64_WS && skip_ws)) {
            return -1; /* data after the padding */
        }
    }
    if (want != 0) {
        return -1;
    }
    if (quad == 2) {
        if (cap - n < 1 || (acc & 0xf) != 0) {
            return -1;
        }
        out[n++] = (uint8_t)(acc >> 4);
    } else {
        if (cap - n < 2 || (acc & 0x3) != 0) {
            return -1;
        }
        out[n++] = (uint8_t)(acc >> 10);
        out[n++] = (uint8_t)(acc >> 2);
    }
    return (long)n;
}

/* First occurrence of needle in h (memchr on its first byte, then
 * memcmp); NULL if absent.  nlen > 0. */
static const uint8_t *
fulcio_memmem(const uint8_t *h, size_t hlen, const char *needle, size_t nlen)
{
    const uint8_t *p = h, *last;

    if (nlen == 0 || hlen < nlen) {
        return NULL;
    }
    last = h + (hlen - nlen);
    while (p <= last) {
        p = memchr(p, (unsigned char)needle[0], (size_t)(last - p) + 1);
        if (p == NULL) {
            return NULL;
        }
        if (memcmp(p, needle, nlen) == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"
#define B64_PEM_PREFIX "LS0tLS1CRUdJTi" /* base64("-----BEGIN") */

enum fulcio_input {
    FULCIO_IN_DER,
    FULCIO_IN_PEM,
    FULCIO_IN_B64PEM,
    FULCIO_IN_UNKNOWN,
};

static enum fulcio_input
fulcio_classify(const uint8_t *in, size_t len, size_t *skip)
{
    size_t i = 0;

    *skip = 0;
    if (len > 0 && in[0] == 0x30) {
        return FULCIO_IN_DER;
    }
    while (i < len && fulcio_is_space(in[i])) {
        i++;
    }
    if (len - i >= sizeof(B64_PEM_PREFIX) - 1 &&
        memcmp(in + i, B64_PEM_PREFIX, sizeof(B64_PEM_PREFIX) - 1) == 0) {
        *skip = i;
        return FULCIO_IN_B64PEM;
    }
    if (fulcio_memmem(in, len, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != NULL) {
        return FULCIO_IN_PEM;
    }
    return FULCIO_IN_UNKNOWN;
}

/*
 * Decode the next CERTIFICATE block of PEM text at or after *pos.  Returns
 * 1 with the DER in out, 0 when there is no further block, -1 for a
 * malformed block (bad base64, missing END line, too large).  *pos moves
 * past the block either way, so a caller may continue with the next one.
 */
static int
fulcio_pem_next(const uint8_t *in, size_t len, size_t *pos, uint8_t *out,
                size_t cap, size_t *outlen)
{
    const uint8_t *b, *e;
    size_t start;
    long n;

    if (*pos >= len) {
        return 0;
    }
    b = fulcio_memmem(in + *pos, len - *pos, PEM_BEGIN, sizeof(PEM_BEGIN) - 1);
    if (b == NULL) {
        *pos = len;
        return 0;
    }
    start = (size_t)(b - in) + sizeof(PEM_BEGIN) - 1;
    e = fulcio_memmem(in + start, len - start, PEM_END, sizeof(PEM_END) - 1);
    if (e == NULL) {
        *pos = len;
        return -1;
    }
    *pos = (size_t)(e - in) + sizeof(PEM_END) - 1;
    n = fulcio_b64_decode(in + start, (size_t)(e - in) - start, 1, out, cap);
    if (n <= 0) {
        return -1;
    }
    *outlen = (size_t)n;
    return 1;
}

int
fulcio_cert_decode(const uint8_t *in, size_t len, uint8_t *out, size_t outcap,
                   size_t *outlen)
{
    uint8_t pem[FULCIO_B64_MAX];
    size_t skip, pos = 0;
    long n;

    if (in == NULL || out == NULL || outlen == NULL || len == 0 ||
        len > FULCIO_MAX_INPUT) {
        return -1;
    }
    switch (fulcio_classify(in, len, &skip)) {
    case FULCIO_IN_DER:
        if (len > FULCIO_MAX_DER || len > outcap) {
            return -1;
        }
        memcpy(out, in, len);
        *outlen = len;
        return 0;
    case FULCIO_IN_PEM:
        return fulcio_pem_next(in, len, &pos, out, outcap, outlen) == 1 ? 0
                                                                        : -1;
    case FULCIO_IN_B64PEM:
        n = fulcio_b64_decode(in + skip, len - skip, 1, pem, sizeof(pem));
        if (n <= 0) {
            return -1;
        }
        return fulcio_pem_next(pem, (size_t)n, &pos, out, outcap, outlen) == 1
                   ? 0
                   : -1;
    case FULCIO_IN_UNKNOWN:
        break;
    }
    return -1;
}

/* ---- strings ----------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
fulcio_utf8_len(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && c < 0x800) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    *cp = c;
    return len;
}

/* Code points escaped although valid: C1 controls, line/paragraph
 * separators and bidirectional controls (they can disguise a value when a
 * human reads an alert). */
static int
fulcio_cp_unsafe(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x200e && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}

/* Escape bytes into a new NUL-terminated string (see fulcio.h). */
static char *
fulcio_escape(const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *out, *o;
    size_t i = 0, k, len;
    uint32_t cp;

    out = malloc(n * 4 + 1);
    if (out == NULL) {
        return NULL;
    }
    o = out;
    while (i < n) {
        len = fulcio_utf8_len(s + i, n - i, &cp);
        if (len == 1 && cp >= 0x20 && cp != 0x7f && cp != '\\') {
            *o++ = (char)s[i++];
        } else if (len == 1 && cp == '\\') {
            *o++ = '\\';
            *o++ = '\\';
            i++;
        } else if (len > 1 && !fulcio_cp_unsafe(cp)) {
            memcpy(o, s + i, len);
            o += len;
            i += len;
        } else {
            if (len == 0) {
                len = 1;
            }
            for (k = 0; k < len; k++, i++) {
                *o++ = '\\';
                *o++ = 'x';
                *o++ = hex[s[i] >> 4];
                *o++ = hex[s[i] & 0xf];
            }
        }
    }
    *o = '\0';
    return out;
}

static char *
fulcio_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* GitHub owner / repository name characters. */
static int
fulcio_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * "owner/repo" at the start of s: two non-empty name segments, the second
 * ending at the end of s or at one of the bytes in stops.  Returns the
 * length of "owner/repo" (0 if s does not start that way).
 */
static size_t
fulcio_owner_repo(const char *s, const char *stops)
{
    size_t i = 0, owner;

    while (fulcio_name_char((unsigned char)s[i])) {
        i++;
    }
    if (i == 0 || s[i] != '/') {
        return 0;
    }
    owner = i++;
    while (fulcio_name_char((unsigned char)s[i])) {
        i++;
    }
    if (i == owner + 1 || (s[i] != '\0' && strchr(stops, s[i]) == NULL)) {
        return 0;
    }
    return i;
}

/* "owner/repo" of "https://github.com/owner/repo[/...|@...]", or 0. */
static size_t
fulcio_github_repo(const char *uri, const char **start)
{
    const size_t plen = sizeof(FULCIO_GITHUB_PREFIX) - 1;

    if (uri == NULL || strncmp(uri, FULCIO_GITHUB_PREFIX, plen) != 0) {
        return 0;
    }
    *start = uri + plen;
    return fulcio_owner_repo(uri + plen, "/@");
}

/* ---- DER helpers ------------------------------------------------------- */

/*
 * A DER UTF8String that fills buf exactly: tag 0x0C, definite length in
 * short or minimal long form (at most 4 length bytes).  Returns 0 and the
 * content, or -1.
 */
static int
fulcio_der_utf8(const uint8_t *buf, size_t n, const uint8_t **val, size_t *vlen)
{
    size_t len, i, nlen;

    if (n < 2 || buf[0] != 0x0c) {
        return -1;
    }
    if (buf[1] < 0x80) {
        len = buf[1];
        i = 2;
    } else {
        nlen = buf[1] & 0x7f;
        if (nlen == 0 || nlen > 4 || n < 2 + nlen || buf[2] == 0) {
            return -1; /* indefinite, too long, or not minimal */
        }
        len = 0;
        for (i = 0; i < nlen; i++) {
            len = (len << 8) | buf[2 + i];
        }
        if (len < 0x80) {
            return -1; /* long form where short form was due */
        }
        i = 2 + nlen;
    }
    if (len != n - i) {
        return -1; /* truncated, or trailing bytes */
    }
    *val = buf + i;
    *vlen = len;
    return 0;
}

/* Sigstore extension number N of an OID (1..127), or 0 if not in the arc. */
static unsigned
fulcio_arc_number(const ASN1_OBJECT *obj)
{
    const unsigned char *d = OBJ_get0_data(obj);
    size_t n = OBJ_length(obj);

    if (d == NULL || n != FULCIO_ARC_DER_LEN + 1 ||
        memcmp(d, fulcio_arc_der, FULCIO_ARC_DER_LEN) != 0 ||
        d[FULCIO_ARC_DER_LEN] >= 0x80) {
        return 0;
    }
    return d[FULCIO_ARC_DER_LEN];
}

static int64_t
fulcio_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
fulcio_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return -1;
    }
    *out =
        fulcio_days_from_civil((int64_t)tm.tm_year + 1900,
                               (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
            86400 +
        tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 0;
}

/* ---- parsing ----------------------------------------------------------- */

void
fulcio_cert_free(struct fulcio_cert *c)
{
    size_t i;

    if (c == NULL) {
        return;
    }
    X509_free(c->x509);
    free(c->der);
    free(c->san);
    free(c->issuer_cn);
    for (i = 0; i <= FULCIO_EXT_MAX; i++) {
        free(c->ext[i]);
    }
    free(c->repository);
    free(c->workflow_path);
    free(c->workflow_ref);
    free(c);
}

/*
 * 1 when the value bytes occur verbatim in the certificate's DER.  OpenSSL
 * also accepts BER (constructed strings, indefinite lengths), which could
 * split a value across fragments; the prefilter searches the raw DER, so
 * a value that is not contiguous there is refused (FULCIO_ERR_DER), which
 * keeps "prefilter == 0 implies no match" true for hostile encodings.
 */
static int
fulcio_verbatim(const struct fulcio_cert *c, const uint8_t *v, size_t vlen)
{
    return vlen == 0 ||
           fulcio_memmem(c->der, c->der_len, (const char *)v, vlen) != NULL;
}

static enum fulcio_error
fulcio_parse_san(struct fulcio_cert *c)
{
    GENERAL_NAMES *names;
    GENERAL_NAME *gn;
    ASN1_STRING *s = NULL;
    int crit = 0;
    enum fulcio_error ret = FULCIO_ERR_SAN;

    names = X509_get_ext_d2i(c->x509, NID_subject_alt_name, &crit, NULL);
    if (names == NULL) {
        return FULCIO_ERR_SAN; /* absent (crit -1), duplicate (-2), bad */
    }
    if (sk_GENERAL_NAME_num(names) != 1) {
        goto out;
    }
    gn = sk_GENERAL_NAME_value(names, 0);
    switch (gn->type) {
    case GEN_URI:
        c->claims.san_type = FULCIO_SAN_URI;
        s = gn->d.uniformResourceIdentifier;
        break;
    case GEN_EMAIL:
        c->claims.san_type = FULCIO_SAN_EMAIL;
        s = gn->d.rfc822Name;
        break;
    case GEN_OTHERNAME:
        if (fulcio_arc_number(gn->d.otherName->type_id) != FULCIO_OTHERNAME_N ||
            gn->d.otherName->value == NULL ||
            gn->d.otherName->value->type != V_ASN1_UTF8STRING) {
            goto out;
        }
        c->claims.san_type = FULCIO_SAN_OTHERNAME;
        s = gn->d.otherName->value->value.utf8string;
        break;
    default:
        goto out;
    }
    if (s == NULL || ASN1_STRING_length(s) <= 0) {
        goto out;
    }
    if (ASN1_STRING_length(s) > FULCIO_MAX_VALUE) {
        ret = FULCIO_ERR_VALUE_TOO_LONG;
        goto out;
    }
    if (!fulcio_verbatim(c, ASN1_STRING_get0_data(s),
                         (size_t)ASN1_STRING_length(s))) {
        ret = FULCIO_ERR_DER;
        goto out;
    }
    c->san =
        fulcio_escape(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    ret = c->san != NULL ? FULCIO_OK : FULCIO_ERR_INTERNAL;
out:
    GENERAL_NAMES_free(names);
    return ret;
}

static enum fulcio_error
fulcio_parse_exts(struct fulcio_cert *c)
{
    int i, count = X509_get_ext_count(c->x509);

    for (i = 0; i < count; i++) {
        X509_EXTENSION *ext = X509_get_ext(c->x509, i);
        ASN1_OCTET_STRING *data;
        const uint8_t *v;
        size_t vlen;
        unsigned n;

        if (ext == NULL) {
            return FULCIO_ERR_DER;
        }
        n = fulcio_arc_number(X509_EXTENSION_get_object(ext));
        if (n == 0 || n > FULCIO_EXT_MAX || n == FULCIO_OTHERNAME_N) {
            continue; /* not ours, or not one this module knows */
        }
        if (c->ext[n] != NULL) {
            return FULCIO_ERR_EXTENSION;
        }
        data = X509_EXTENSION_get_data(ext);
        if (data == NULL || ASN1_STRING_length(data) < 0) {
            return FULCIO_ERR_EXTENSION;
        }
        v = ASN1_STRING_get0_data(data);
        vlen = (size_t)ASN1_STRING_length(data);
        if (!fulcio_verbatim(c, v, vlen)) {
            return FULCIO_ERR_DER;
        }
        if (n >= 8 && fulcio_der_utf8(v, vlen, &v, &vlen) != 0) {
            return FULCIO_ERR_EXTENSION;
        }
        if (vlen > FULCIO_MAX_VALUE) {
            return FULCIO_ERR_VALUE_TOO_LONG;
        }
        c->ext[n] = fulcio_escape(v, vlen);
        if (c->ext[n] == NULL) {
            return FULCIO_ERR_INTERNAL;
        }
    }
    return FULCIO_OK;
}

static enum fulcio_error
fulcio_issuer_cn(struct fulcio_cert *c)
{
    X509_NAME *name = X509_get_issuer_name(c->x509);
    X509_NAME_ENTRY *e;
    unsigned char *utf8 = NULL;
    int idx, n;

    idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0) {
        return FULCIO_OK; /* optional */
    }
    e = X509_NAME_get_entry(name, idx);
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (n < 0) {
        return FULCIO_ERR_DER;
    }
    if (n > FULCIO_MAX_VALUE) {
        OPENSSL_free(utf8);
        return FULCIO_ERR_VALUE_TOO_LONG;
    }
    c->issuer_cn = fulcio_escape(utf8, (size_t)n);
    OPENSSL_free(utf8);
    return c->issuer_cn != NULL ? FULCIO_OK : FULCIO_ERR_INTERNAL;
}

/* Fill the derived fields of c->claims from the escaped values. */
static enum fulcio_error
fulcio_derive(struct fulcio_cert *c)
{
    struct fulcio_claims *cl = &c->claims;
    const char *start = NULL, *bc, *at;
    size_t n = 0;

    cl->san = c->san;
    cl->issuer_cn = c->issuer_cn;
    for (n = 0; n <= FULCIO_EXT_MAX; n++) {
        cl->ext[n] = c->ext[n];
    }
    cl->issuer = c->ext[8] != NULL ? c->ext[8] : c->ext[1];
    cl->repository_id = c->ext[15];
    cl->build_signer_uri = c->ext[9];
    cl->workflow_sha = c->ext[13] != NULL   ? c->ext[13]
                       : c->ext[19] != NULL ? c->ext[19]
                                            : c->ext[3];
    cl->runner_environment = c->ext[11];
    cl->trigger = c->ext[20] != NULL ? c->ext[20] : c->ext[2];
    cl->run_invocation_uri = c->ext[21];

    /* Repository: .12, else legacy .5 (the token's "repository" claim),
     * else a GitHub SAN.  .5 comes before the SAN because a legacy SAN
     * names the reusable workflow's repository, not the caller's. */
    n = 0;
    if (c->ext[12] != NULL) {
        n = fulcio_github_repo(c->ext[12], &start);
        if (n > 0 && start[n] != '\0') {
            n = 0; /* .12 is exactly the repository URL */
        }
    } else if (c->ext[5] != NULL) {
        start = c->ext[5];
        n = fulcio_owner_repo(start, "");
    } else if (cl->san_type == FULCIO_SAN_URI) {
        n = fulcio_github_repo(c->san, &start);
    }
    if (n > 0) {
        c->repository = fulcio_strndup(start, n);
        if (c->repository == NULL) {
            return FULCIO_ERR_INTERNAL;
        }
    }
    cl->repository = c->repository;

    /* Workflow path and ref from the Build Config URI (.18), or for
     * legacy certificates without it, from a GitHub URI SAN. */
    bc = c->ext[18];
    if (bc == NULL && cl->san_type == FULCIO_SAN_URI) {
        bc = c->san;
    }
    n = fulcio_github_repo(bc, &start);
    if (n > 0 && start[n] == '/') {
        const char *path = start + n + 1;

        at = strchr(path, '@');
        if (at != NULL && at > path && at[1] != '\0') {
            c->workflow_path = fulcio_strndup(path, (size_t)(at - path));
            c->workflow_ref = fulcio_strndup(at + 1, strlen(at + 1));
            if (c->workflow_path == NULL || c->workflow_ref == NULL) {
                return FULCIO_ERR_INTERNAL;
            }
        }
    }
    cl->workflow_path = c->workflow_path;
    cl->workflow_ref = c->workflow_ref;
    return FULCIO_OK;
}

struct fulcio_cert *
fulcio_cert_parse_der(const uint8_t *der, size_t len, enum fulcio_error *err)
{
    struct fulcio_cert *c = NULL;
    const unsigned char *p;
    enum fulcio_error e;

    if (der == NULL || len == 0) {
        e = FULCIO_ERR_ARG;
        goto fail;
    }
    if (len > FULCIO_MAX_DER) {
        e = FULCIO_ERR_TOO_LARGE;
        goto fail;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        e = FULCIO_ERR_INTERNAL;
        goto fail;
    }
    c->der = malloc(len);
    if (c->der == NULL) {
        e = FULCIO_ERR_INTERNAL;
        goto fail;
    }
    memcpy(c->der, der, len);
    c->der_len = len;
    p = c->der;
    c->x509 = d2i_X509(NULL, &p, (long)len);
    if (c->x509 == NULL || p != c->der + len) {
        e = FULCIO_ERR_DER;
        goto fail;
    }
    SHA256(c->der, len, c->claims.sha256);
    if (fulcio_time(X509_get0_notBefore(c->x509), &c->claims.not_before) != 0 ||
        fulcio_time(X509_get0_notAfter(c->x509), &c->claims.not_after) != 0) {
        e = FULCIO_ERR_DER;
        goto fail;
    }
    if ((e = fulcio_parse_exts(c)) != FULCIO_OK ||
        (e = fulcio_parse_san(c)) != FULCIO_OK ||
        (e = fulcio_issuer_cn(c)) != FULCIO_OK ||
        (e = fulcio_derive(c)) != FULCIO_OK) {
        goto fail;
    }
    if (err != NULL) {
        *err = FULCIO_OK;
    }
    return c;

fail:
    fulcio_cert_free(c);
    if (err != NULL) {
        *err = e;
    }
    return NULL;
}

struct fulcio_cert *
fulcio_cert_parse(const uint8_t *in, size_t len, enum fulcio_error *err)
{
    uint8_t der[FULCIO_MAX_DER];
    size_t skip, n;

    if (in == NULL || len == 0) {
        if (err != NULL) {
            *err = FULCIO_ERR_ARG;
        }
        return NULL;
    }
    if (len > FULCIO_MAX_INPUT) {
        if (err != NULL) {
            *err = FULCIO_ERR_TOO_LARGE;
        }
        return NULL;
    }
    if (fulcio_classify(in, len, &skip) == FULCIO_IN_DER) {
        return fulcio_cert_parse_der(in, len, err);
    }
    if (fulcio_cert_decode(in, len, der, sizeof(der), &n) != 0) {
        if (err != NULL) {
            *err = FULCIO_ERR_ENCODING;
        }
        return NULL;
    }
    return fulcio_cert_parse_der(der, n, err);
}

const struct fulcio_claims *
fulcio_cert_claims(const struct fulcio_cert *c)
{
    return c != NULL ? &c->claims : NULL;
}

X509 *
fulcio_cert_x509(const struct fulcio_cert *c)
{
    return c != NULL ? c->x509 : NULL;
}

const uint8_t *
fulcio_cert_der(const struct fulcio_cert *c, size_t *len)
{
    if (c == NULL) {
        return NULL;
    }
    if (len != NULL) {
        *len = c->der_len;
    }
    return c->der;
}

/* ---- chain verification ------------------------------------------------ */

static enum fulcio_chain_result
fulcio_map_x509_err(int code)
{
    switch (code) {
    case X509_V_OK:
        return FULCIO_CHAIN_OK;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        return FULCIO_CHAIN_BAD_SIGNATURE;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return FULCIO_CHAIN_EXPIRED;
    default:
        return FULCIO_CHAIN_UNTRUSTED;
    }
}

/* Higher is more telling when several CAs fail. */
static int
fulcio_chain_rank(enum fulcio_chain_result r)
{
    switch (r) {
    case FULCIO_CHAIN_BAD_SIGNATURE:
        return 3;
    case FULCIO_CHAIN_EXPIRED:
        return 2;
    case FULCIO_CHAIN_UNTRUSTED:
        return 1;
    default:
        return 0;
    }
}

/* Verify against one CA; *code gets the X509_V_ERR_* value. */
static enum fulcio_chain_result
fulcio_verify_one(X509 *leaf, const struct config_ca *ca, int64_t at, int *code)
{
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509_VERIFY_PARAM *param;
    enum fulcio_chain_result r = FULCIO_CHAIN_INTERNAL;
    int i, n = sk_X509_num(ca->chain);

    *code = 0;
    if (n <= 0) {
        return FULCIO_CHAIN_UNTRUSTED;
    }
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (store == NULL || ctx == NULL || untrusted == NULL) {
        goto out;
    }
    /* The last certificate of the chain is the trust anchor. */
    if (X509_STORE_add_cert(store, sk_X509_value(ca->chain, n - 1)) != 1) {
        goto out;
    }
    for (i = 0; i < n - 1; i++) {
        if (sk_X509_push(untrusted, sk_X509_value(ca->chain, i)) <= 0) {
            goto out;
        }
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)at);
    X509_VERIFY_PARAM_set_depth(param, CONFIG_TRUSTED_ROOT_MAX_CHAIN + 1);
    if (X509_verify_cert(ctx) == 1) {
        r = FULCIO_CHAIN_OK;
    } else {
        *code = X509_STORE_CTX_get_error(ctx);
        r = fulcio_map_x509_err(*code);
        if (r == FULCIO_CHAIN_OK) {
            r = FULCIO_CHAIN_UNTRUSTED; /* failed without an error code */
        }
    }
out:
    sk_X509_free(untrusted); /* the certificates belong to the CA */
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return r;
}

enum fulcio_chain_result
fulcio_verify_chain(const struct fulcio_cert *c,
                    const struct config_trusted_root *root, int *x509_err)
{
    enum fulcio_chain_result best = FULCIO_CHAIN_NO_CA, r;
    size_t i, n = config_trusted_root_ncas(root);
    int code = 0, tried = 0;
    uint32_t xku;

    if (x509_err != NULL) {
        *x509_err = 0;
    }
    if (c == NULL || root == NULL) {
        return FULCIO_CHAIN_INTERNAL;
    }
    for (i = 0; i < n; i++) {
        const struct config_ca *ca = config_trusted_root_ca(root, i);

        if (!config_validity_covers(&ca->valid_for, c->claims.not_before)) {
            continue;
        }
        tried = 1;
        r = fulcio_verify_one(c->x509, ca, c->claims.not_before, &code);
        if (x509_err != NULL) {
            *x509_err = code;
        }
        if (r == FULCIO_CHAIN_OK) {
            best = r;
            break;
        }
        if (r == FULCIO_CHAIN_INTERNAL) {
            return r;
        }
        if (best == FULCIO_CHAIN_NO_CA ||
            fulcio_chain_rank(r) > fulcio_chain_rank(best)) {
            best = r;
        }
    }
    if (!tried || best != FULCIO_CHAIN_OK) {
        return best;
    }
    xku = X509_get_extended_key_usage(c->x509);
    if ((X509_get_extension_flags(c->x509) & EXFLAG_XKUSAGE) == 0 ||
        (xku & XKU_CODE_SIGN) == 0) {
        return FULCIO_CHAIN_EKU;
    }
    return FULCIO_CHAIN_OK;
}

/* ---- prefilter --------------------------------------------------------- */

static unsigned char
fulcio_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

struct fulcio_needles *
fulcio_needles_new(void)
{
    return calloc(1, sizeof(struct fulcio_needles));
}

void
fulcio_needles_free(struct fulcio_needles *n)
{
    if (n == NULL) {
        return;
    }
    free(n->v);
    free(n);
}

int
fulcio_needles_add(struct fulcio_needles *n, const char *repository,
                   const char *repository_id)
{
    struct fulcio_needle nd;
    size_t len, i;

    if (n == NULL || repository == NULL || n->n >= FULCIO_NEEDLES_MAX) {
        return -1;
    }
    memset(&nd, 0, sizeof(nd));
    len = strlen(repository);
    if (len == 0 || len > FULCIO_NEEDLE_MAX_LEN ||
        fulcio_owner_repo(repository, "") != len) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        nd.repo[i] = (char)fulcio_fold((unsigned char)repository[i]);
    }
    nd.owner_len = (size_t)(strchr(nd.repo, '/') - nd.repo);
    nd.repo_len = len - nd.owner_len - 1;
    if (repository_id != NULL) {
        nd.id_len = strlen(repository_id);
        if (nd.id_len == 0 || nd.id_len > FULCIO_NEEDLE_MAX_LEN) {
            return -1;
        }
        for (i = 0; i < nd.id_len; i++) {
            if (repository_id[i] < '0' || repository_id[i] > '9') {
                return -1;
            }
        }
        memcpy(nd.id, repository_id, nd.id_len);
        nd.id_tlv[0] = 0x0c;
        if (nd.id_len < 0x80) {
            nd.id_tlv[1] = (char)nd.id_len;
            nd.id_tlv_len = 2;
        } else if (nd.id_len < 0x100) {
            nd.id_tlv[1] = (char)0x81;
            nd.id_tlv[2] = (char)nd.id_len;
            nd.id_tlv_len = 3;
        } else {
            nd.id_tlv[1] = (char)0x82;
            nd.id_tlv[2] = (char)(nd.id_len >> 8);
            nd.id_tlv[3] = (char)(nd.id_len & 0xff);
            nd.id_tlv_len = 4;
        }
        memcpy(nd.id_tlv + nd.id_tlv_len, repository_id, nd.id_len);
        nd.id_tlv_len += nd.id_len;
    }
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        struct fulcio_needle *v = realloc(n->v, cap * sizeof(*v));

        if (v == NULL) {
            return -1;
        }
        n->v = v;
        n->cap = cap;
    }
    n->v[n->n++] = nd;
    {
        unsigned a = (unsigned char)nd.repo[nd.owner_len - 1];
        unsigned b = (unsigned char)nd.repo[nd.owner_len + 1];

        n->pair[a][b >> 3] |= (uint8_t)(1u << (b & 7));
    }
    if (nd.id_len > 0) {
        n->nids++;
        if (nd.id_len < sizeof(n->id_len)) {
            n->id_len[nd.id_len] = 1;
        } else {
            n->nlong_ids++;
        }
    }
    return 0;
}

/* Case-folded compare of len bytes of hay with the lower-case needle. */
static int
fulcio_fold_eq(const uint8_t *hay, const char *needle, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (fulcio_fold(hay[i]) != (unsigned char)needle[i]) {
            return 0;
        }
    }
    return 1;
}

/* Search one DER buffer (see fulcio.h for the cost). */
static int
fulcio_prefilter_der(const struct fulcio_needles *n, const uint8_t *d,
                     size_t len)
{
    const uint8_t *p, *end = d + len;
    size_t i;

    /* Repositories: anchored on each '/', filtered by the pair bitmap. */
    p = len > 0 ? d + 1 : end;
    while (p + 1 < end && (p = memchr(p, '/', (size_t)(end - p) - 1)) != NULL) {
        size_t pos = (size_t)(p - d);

        if (FULCIO_PAIR(n, fulcio_fold(p[-1]), fulcio_fold(p[1]))) {
            for (i = 0; i < n->n; i++) {
                const struct fulcio_needle *nd = &n->v[i];

                if (pos >= nd->owner_len && len - pos - 1 >= nd->repo_len &&
                    fulcio_fold_eq(p - nd->owner_len, nd->repo,
                                   nd->owner_len + 1 + nd->repo_len)) {
                    return 1;
                }
            }
        }
        p++;
    }
    if (n->nids == 0) {
        return 0;
    }
    /*
     * Ids: a .15 equal to the id is, in the DER, exactly id_tlv (the parser
     * accepts minimal lengths only and checks that the extension value is
     * verbatim in the DER, fulcio_verbatim).  One pass over the 0x0C
     * (UTF8String) bytes, filtered by the length byte that follows.
     */
    p = d;
    while (p + 2 < end &&
           (p = memchr(p, 0x0c, (size_t)(end - p) - 2)) != NULL) {
        if (p[1] < sizeof(n->id_len) && n->id_len[p[1]]) {
            for (i = 0; i < n->n; i++) {
                const struct fulcio_needle *nd = &n->v[i];

                if (nd->id_len == p[1] && (size_t)(end - p) >= nd->id_tlv_len &&
                    memcmp(p, nd->id_tlv, nd->id_tlv_len) == 0) {
                    return 1;
                }
            }
        }
        p++;
    }
    for (i = 0; n->nlong_ids > 0 && i < n->n; i++) {
        if (n->v[i].id_len >= sizeof(n->id_len) &&
            fulcio_memmem(d, len, n->v[i].id_tlv, n->v[i].id_tlv_len) != NULL) {
            return 1;
        }
    }
    return 0;
}

static int
fulcio_prefilter_pem(const struct fulcio_needles *n, const uint8_t *in,
                     size_t len)
{
    uint8_t der[FULCIO_MAX_DER];
    size_t pos = 0, dlen = 0;
    int r;

    while ((r = fulcio_pem_next(in, len, &pos, der, sizeof(der), &dlen)) != 0) {
        if (r == 1 && fulcio_prefilter_der(n, der, dlen)) {
            return 1;
        }
    }
    return 0;
}

int
fulcio_prefilter(const struct fulcio_needles *n, const uint8_t *blob,
                 size_t len)
{
    uint8_t pem[FULCIO_B64_MAX];
    size_t skip;
    long m;

    if (n == NULL || n->n == 0 || blob == NULL || len == 0 ||
        len > FULCIO_MAX_INPUT) {
        return 0; /* the parser rejects all of these too */
    }
    switch (fulcio_classify(blob, len, &skip)) {
    case FULCIO_IN_DER:
        return len <= FULCIO_MAX_DER && fulcio_prefilter_der(n, blob, len);
    case FULCIO_IN_PEM:
        return fulcio_prefilter_pem(n, blob, len);
    case FULCIO_IN_B64PEM:
        m = fulcio_b64_decode(blob + skip, len - skip, 1, pem, sizeof(pem));
        return m > 0 && fulcio_prefilter_pem(n, pem, (size_t)m);
    case FULCIO_IN_UNKNOWN:
        break;
    }
    return 0;
}

/* 1 when s (escaped "owner/repo") equals the needle, case-insensitively. */
static int
fulcio_repo_eq(const char *s, size_t slen, const struct fulcio_needle *nd)
{
    return slen == nd->owner_len + 1 + nd->repo_len &&
           fulcio_fold_eq((const uint8_t *)s, nd->repo, slen);
}

int
fulcio_needles_match_claims(const struct fulcio_needles *n,
                            const struct fulcio_claims *cl)
{
    const char *src[3], *start;
    size_t i, k, len;

    if (n == NULL || cl == NULL) {
        return 0;
    }
    /* Every repository source, each read on its own. */
    src[0] = NULL;
    src[1] = NULL;
    src[2] = NULL;
    len = fulcio_github_repo(cl->ext[12], &start);
    if (len > 0 && start[len] == '\0') {
        src[0] = start;
    }
    if (cl->san_type == FULCIO_SAN_URI &&
        fulcio_github_repo(cl->san, &start) > 0) {
        src[1] = start;
    }
    if (cl->ext[5] != NULL && fulcio_owner_repo(cl->ext[5], "") > 0) {
        src[2] = cl->ext[5];
    }
    for (i = 0; i < n->n; i++) {
        const struct fulcio_needle *nd = &n->v[i];

        for (k = 0; k < 3; k++) {
            if (src[k] != NULL &&
                fulcio_repo_eq(src[k], fulcio_owner_repo(src[k], "/@"), nd)) {
                return 1;
            }
        }
        if (nd->id_len > 0 && cl->repository_id != NULL &&
            strcmp(cl->repository_id, nd->id) == 0) {
            return 1;
        }
    }
    return 0;
}
