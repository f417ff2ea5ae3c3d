/*
 * scan.c: the follower's fast path over POST /api/v1/log/entries/retrieve
 * responses.  See scan.h.
 *
 * Grammar accepted (a strict subset of JSON, whitespace allowed between
 * tokens):
 *
 *   response := '[' [ element { ',' element } ] ']'
 *   element  := '{' string ':' '{' member { ',' member } '}' '}'
 *   member   := string ':' value
 *
 * Members "body", "logID" (strings without escapes), "integratedTime" and
 * "logIndex" (non-negative integers without sign, fraction or exponent)
 * are read, each at most once; so is "attestation", which must be an
 * object whose member "data" (at most once) is a string of printable
 * ASCII without escapes, its other members skipped (its text is copied by
 * entry_set_attestation, not decoded).  Every other member's value is
 * skipped: UTF-8 strings with JSON escapes (\uXXXX neither a surrogate
 * nor \u0000), integers of at most 18 digits, true, false,
 * null, nested objects and arrays up to SCAN_MAX_DEPTH; member names are
 * printable ASCII.  Anything else (an attestation that is null, a data
 * that is null or holds an escape, a fraction, invalid UTF-8) makes the
 * whole scan fail, and the caller parses the response with jansson
 * instead; so this function only has to be right when it succeeds, and
 * cheap.  What it skips is only ever what jansson also accepts, so the
 * two paths accept the same responses (tests/fuzz/fuzz_scan.c).
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/identity/entry.h"
#include "monitor/identity/scan.h"

struct scanner {
    const char *p;
    const char *end;
};

static void
ws(struct scanner *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) {
        s->p++;
    }
}

static int
expect(struct scanner *s, char c)
{
    ws(s);
    if (s->p >= s->end || *s->p != c) {
        return -1;
    }
    s->p++;
    return 0;
}

/* A string without escapes or control bytes: [*start, *start + *len). */
static int
plain_string(struct scanner *s, const char **start, size_t *len)
{
    const char *q;

    if (expect(s, '"') != 0) {
        return -1;
    }
    q = memchr(s->p, '"', (size_t)(s->end - s->p));
    if (q == NULL || memchr(s->p, '\\', (size_t)(q - s->p)) != NULL) {
        return -1;
    }
    *start = s->p;
    *len = (size_t)(q - s->p);
    s->p = q + 1;
    return 0;
}

/* A member name (already read by plain_string): printable ASCII only, so
 * that jansson could not refuse it as invalid UTF-8. */
static int
ascii_name(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e) {
            return -1;
        }
    }
    return 0;
}

static int
is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/*
 * The continuation bytes of a UTF-8 sequence whose lead byte c was just
 * read: strict RFC 3629 (no overlong form, no surrogate, at most
 * U+10FFFF), as jansson checks it.  0, or -1.
 */
static int
utf8_rest(struct scanner *s, unsigned char c)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
    } else {
        return -1;
    }
    if ((size_t)(s->end - s->p) < n) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s->p[i];
        if (b < (i == 0 ? lo : 0x80) || b > (i == 0 ? hi : 0xbf)) {
            return -1;
        }
    }
    s->p += n;
    return 0;
}

/*
 * Skip a string that may hold escapes.  Only what jansson accepts the
 * same way: valid UTF-8 without control bytes, the JSON escapes, \uXXXX
 * outside the surrogates and other than \u0000 (anything else gives up:
 * the fallback decides).
 */
static int
skip_string(struct scanner *s)
{
    if (expect(s, '"') != 0) {
        return -1;
    }
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p++;
        if (c == '"') {
            return 0;
        }
        if (c < 0x20) {
            return -1;
        }
        if (c >= 0x80) {
            if (utf8_rest(s, c) != 0) {
                return -1;
            }
            continue;
        }
        if (c == '\\') {
            if (s->p >= s->end || strchr("\"\\/bfnrtu", *s->p) == NULL ||
                *s->p == '\0') {
                return -1;
            }
            if (*s->p++ == 'u') {
                if (s->end - s->p < 4 || !is_hex(s->p[0]) || !is_hex(s->p[1]) ||
                    !is_hex(s->p[2]) || !is_hex(s->p[3]) ||
                    memcmp(s->p, "0000", 4) == 0 ||
                    ((s->p[0] == 'd' || s->p[0] == 'D') &&
                     strchr("89abcdefABCDEF", s->p[1]) != NULL)) {
                    return -1;
                }
                s->p += 4;
            }
        }
    }
    return -1;
}

/* Skip a literal or a number: true, false, null, or an integer that
 * jansson reads as such (at most 18 digits, no fraction or exponent). */
static int
skip_scalar(struct scanner *s)
{
    static const char *const lits[] = {"true", "false", "null"};
    size_t i, n;
    const char *start;

    for (i = 0; i < 3; i++) {
        n = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
            s->p += n;
            return 0;
        }
    }
    if (s->p < s->end && *s->p == '-') {
        s->p++;
    }
    start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    n = (size_t)(s->p - start);
    if (n == 0 || n > 18 || (n > 1 && *start == '0')) {
        return -1;
    }
    return 0;
}

static int
u64_number(struct scanner *s, uint64_t *out)
{
    const char *start;

    ws(s);
    start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) {
        return -1;
    }
    return entry_parse_u64(start, (size_t)(s->p - start), out);
}

static int skip_value(struct scanner *s, unsigned depth);

/*
 * The value of "attestation": {"data": "<printable ASCII>", ...}.  *data
 * is NULL when the object has no "data".  Bytes outside 0x20..0x7e (which
 * jansson could refuse as invalid UTF-8) make it fail.
 */
static int
attestation(struct scanner *s, const char **data, size_t *len)
{
    const char *name;
    size_t nlen, i;

    *data = NULL;
    *len = 0;
    if (expect(s, '{') != 0) {
        return -1;
    }
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (plain_string(s, &name, &nlen) != 0 || ascii_name(name, nlen) != 0 ||
            expect(s, ':') != 0) {
            return -1;
        }
        if (nlen == 4 && memcmp(name, "data", 4) == 0) {
            if (*data != NULL || plain_string(s, data, len) != 0) {
                return -1;
            }
            for (i = 0; i < *len; i++) {
                if ((unsigned char)(*data)[i] < 0x20 ||
                    (unsigned char)(*data)[i] > 0x7e) {
                    return -1;
                }
            }
        } else if (skip_value(s, 3) != 0) {
            return -1;
        }
        ws(s);
        if (s->p >= s->end) {
            return -1;
        }
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p++ != ',') {
            return -1;
        }
    }
}

static int
skip_container(struct scanner *s, char open, char close, unsigned depth)
{
    if (depth >= SCAN_MAX_DEPTH || expect(s, open) != 0) {
        return -1;
    }
    ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (open == '{' && (skip_string(s) != 0 || expect(s, ':') != 0)) {
            return -1;
        }
        if (skip_value(s, depth + 1) != 0) {
            return -1;
        }
        ws(s);
        if (s->p >= s->end) {
            return -1;
        }
        if (*s->p == close) {
            s->p++;
            return 0;
        }
        if (*s->p != ',') {
            return -1;
        }
        s->p++;
    }
}

static int
skip_value(struct scanner *s, unsigned depth)
{
    ws(s);
    if (s->p >= s->end) {
        return -1;
    }
    switch (*s->p) {
    case '"':
        return skip_string(s);
    case '{':
        return skip_container(s, '{', '}', depth);
    case '[':
        return skip_container(s, '[', ']', depth);
    default:
        return skip_scalar(s);
    }
}

/* One element {"<uuid>": {...}} into a new entry, or NULL. */
static struct entry *
element(struct scanner *s)
{
    const char *k, *body = NULL, *logid = NULL, *att = NULL;
    size_t klen, body_len = 0, logid_len = 0, att_len = 0;
    uint64_t itime = 0, index = 0;
    int have_time = 0, have_index = 0, have_att = 0;
    char uuid[ENTRY_UUID_MAX + 1], err[ENTRY_ERR_LEN];
    struct entry *e;

    if (expect(s, '{') != 0 || plain_string(s, &k, &klen) != 0 ||
        klen > ENTRY_UUID_MAX || expect(s, ':') != 0 || expect(s, '{') != 0) {
        return NULL;
    }
    memcpy(uuid, k, klen);
    uuid[klen] = '\0';
    for (;;) {
        const char *name;
        size_t nlen;

        if (plain_string(s, &name, &nlen) != 0 || ascii_name(name, nlen) != 0 ||
            expect(s, ':') != 0) {
            return NULL;
        }
        if (nlen == 4 && memcmp(name, "body", 4) == 0) {
            if (body != NULL || plain_string(s, &body, &body_len) != 0) {
                return NULL;
            }
        } else if (nlen == 5 && memcmp(name, "logID", 5) == 0) {
            if (logid != NULL || plain_string(s, &logid, &logid_len) != 0) {
                return NULL;
            }
        } else if (nlen == 14 && memcmp(name, "integratedTime", 14) == 0) {
            if (have_time || u64_number(s, &itime) != 0 ||
                itime > (uint64_t)INT64_MAX) {
                return NULL;
            }
            have_time = 1;
        } else if (nlen == 8 && memcmp(name, "logIndex", 8) == 0) {
            if (have_index || u64_number(s, &index) != 0 ||
                index > (uint64_t)INT64_MAX) {
                return NULL;
            }
            have_index = 1;
        } else if (nlen == 11 && memcmp(name, "attestation", 11) == 0) {
            if (have_att || attestation(s, &att, &att_len) != 0) {
                return NULL;
            }
            have_att = 1;
        } else if (skip_value(s, 2) != 0) {
            return NULL;
        }
        ws(s);
        if (s->p >= s->end) {
            return NULL;
        }
        if (*s->p == '}') {
            s->p++;
            break;
        }
        if (*s->p++ != ',') {
            return NULL;
        }
    }
    if (expect(s, '}') != 0 || body == NULL || logid == NULL || !have_time ||
        !have_index) {
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    if (entry_parse_uuid(e, uuid, err, sizeof(err)) != 0 ||
        entry_b64_alloc(body, body_len, ENTRY_MAX_BODY, &e->body,
                        &e->body_len) != 0 ||
        entry_parse_hash_hex(logid, logid_len, e->log_id) != 0 ||
        (att != NULL && entry_set_attestation(e, att, att_len) != 0)) {
        entry_free(e);
        return NULL;
    }
    entry_compute_leaf(e);
    e->has_log_id = 1;
    e->integrated_time = (int64_t)itime;
    e->has_integrated_time = 1;
    e->log_index = index;
    return e;
}

long
scan_retrieve(const char *buf, size_t len, struct entry **out, size_t max)
{
    struct scanner s = {buf, buf + len};
    size_t n = 0, i;

    if (expect(&s, '[') != 0) {
        return -1;
    }
    ws(&s);
    if (s.p < s.end && *s.p == ']') {
        s.p++;
        goto done;
    }
    for (;;) {
        if (n == max || (out[n] = element(&s)) == NULL) {
            goto fail;
        }
        n++;
        ws(&s);
        if (s.p >= s.end) {
            goto fail;
        }
        if (*s.p == ']') {
            s.p++;
            break;
        }
        if (*s.p++ != ',') {
            goto fail;
        }
    }
done:
    ws(&s);
    if (s.p != s.end) {
        goto fail;
    }
    return (long)n;
fail:
    for (i = 0; i < n; i++) {
        entry_free(out[i]);
        out[i] = NULL;
    }
    return -1;
}
