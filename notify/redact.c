/*
 * redact.c: the shown form of sink URLs and the kept form of receiver
 * replies (redact.h).
 *
 * A reply is read once, left to right, in chunks: maximal runs of bytes
 * that are not blanks, controls or quoting punctuation
 * ("'<>()[]{},;|`).  A chunk that looks like a URL or a path is replaced
 * as a whole; any other chunk is split into words (letters, digits and
 * "+/_-", the base64url alphabet) and separators.  A word is replaced when
 * it is token-shaped (whatever it holds: a random token may contain "sig"
 * or "key") or follows a credential name ("token", "api_key",
 * "Authorization: Bearer" ...), whatever separates them; a value that
 * itself holds a name ("password: passw0rd") is replaced, and the word
 * after it too: only an authentication scheme word (Bearer, Basic, Token,
 * Digest) is shown between a name and its value.  Each chunk is
 * judged whole before anything of it is written, so the cut at the output
 * limit can only shorten what was already judged safe to show.  A marker
 * this module wrote ("[redacted]", "[url]") is kept as it is, so a second
 * pass changes nothing.  Linear in the input; no allocation.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "notify/redact.h"

/* Appends s[0..len) to out at *pos, control, blank and non-ASCII bytes
 * as '?'; keeps room for the NUL. */
static void
url_put(char *out, size_t outcap, size_t *pos, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && *pos + 1 < outcap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[(*pos)++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[*pos] = '\0';
}

/* Both shown forms: scheme://host[:port], then "/..." (keep_path 0) or
 * the path without query and fragment, a hook path cut after
 * "/services/" (keep_path 1). */
static char *
url_shown(const char *url, int keep_path, char *out, size_t outcap)
{
    static const char bad[] = "(unparsable url)";
    static const char hook[] = "/services/";
    const char *sep, *auth, *end, *host, *p, *pend;
    size_t pos = 0, i;

    if (out == NULL || outcap == 0) {
        return out;
    }
    out[0] = '\0';
    sep = url == NULL ? NULL : strstr(url, "://");
    if (sep == NULL || sep == url || sep - url > 16) {
        snprintf(out, outcap, "%s", bad);
        return out;
    }
    for (i = 0; i < (size_t)(sep - url); i++) {
        char ch = url[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ||
                         ch == '.')))) {
            snprintf(out, outcap, "%s", bad);
            return out;
        }
    }
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    host = auth;
    for (p = auth; p < end; p++) {
        if (*p == '@') {
            host = p + 1; /* the last '@' ends the userinfo */
        }
    }
    if (host == end) {
        snprintf(out, outcap, "%s", bad);
        return out;
    }
    url_put(out, outcap, &pos, url, (size_t)(sep - url) + 3);
    url_put(out, outcap, &pos, host, (size_t)(end - host));
    if (!keep_path) {
        url_put(out, outcap, &pos, "/...", 4);
        return out;
    }
    pend = end + (*end == '/' ? strcspn(end, "?#") : 0);
    for (p = end; p + sizeof(hook) - 1 <= pend; p++) {
        if (memcmp(p, hook, sizeof(hook) - 1) == 0) {
            pend = p + sizeof(hook) - 1;
            break;
        }
    }
    url_put(out, outcap, &pos, end, (size_t)(pend - end));
    return out;
}

char *
notify_redact_url(const char *url, char *out, size_t outcap)
{
    return url_shown(url, 0, out, outcap);
}

char *
notify_redact_url_path(const char *url, char *out, size_t outcap)
{
    return url_shown(url, 1, out, outcap);
}

/* ---- replies ---------------------------------------------------------- */

struct rd_out {
    char *buf;
    size_t pos, max; /* max: bytes that may be written, without the NUL */
    int space;       /* a blank is owed before the next byte */
};

static void
rd_put(struct rd_out *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && o->pos < o->max; i++) {
        if (o->space) {
            o->space = 0;
            if (o->pos > 0) {
                o->buf[o->pos++] = ' ';
                if (o->pos >= o->max) {
                    break;
                }
            }
        }
        o->buf[o->pos++] = s[i];
    }
}

static int
rd_delim(unsigned char c)
{
    return c <= 0x20 || c == 0x7f || strchr("\"'<>()[]{},;|`", c) != NULL;
}

static int
rd_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '_' ||
           c == '-';
}

/* n bytes at s contain needle (case-insensitive). */
static int
rd_has(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle), i;

    for (i = 0; i + k <= n; i++) {
        if (strncasecmp(s + i, needle, k) == 0) {
            return 1;
        }
    }
    return 0;
}

/* s (n bytes) starts with the marker m. */
static int
rd_marker(const char *s, size_t n, const char *m)
{
    size_t k = strlen(m);

    return n >= k && memcmp(s, m, k) == 0;
}

/* The chunk is, or holds, a URL or a path: replaced whole. */
static int
rd_urlish(const char *s, size_t n)
{
    size_t slashes = 0, i;

    if (rd_has(s, n, "://") || rd_has(s, n, ":\\/\\/") ||
        rd_has(s, n, "%3a%2f%2f")) {
        return 1;
    }
    if (n >= 2 && (s[0] == '/' || s[0] == '\\') && s[1] != ' ') {
        return 1; /* a request path: "/hook?token=..." */
    }
    for (i = 0; i < n; i++) {
        slashes += s[i] == '/';
    }
    if (slashes >= 2) {
        return 1; /* host/path/... without a scheme */
    }
    for (i = 0; i < n && s[i] != '?' && (unsigned char)s[i] < 0x80; i++) {
    }
    return i < n && memchr(s + i, '=', n - i) != NULL;
}

/* A word that names a credential: the next word is its value. */
static int
rd_credential_name(const char *w, size_t n)
{
    static const char *const names[] = {
        "token",      "key",    "sig",   "secret",  "pass",
        "auth",       "bearer", "basic", "session", "cookie",
        "credential", "jwt",    "hmac",  "private", NULL,
    };
    size_t i;

    for (i = 0; names[i] != NULL; i++) {
        if (rd_has(w, n, names[i])) {
            return 1;
        }
    }
    return 0;
}

/* An HTTP authentication scheme word ("Authorization: Bearer X"): after
 * a credential name it is shown, and the value is still to come. */
static int
rd_auth_scheme(const char *w, size_t n)
{
    static const char *const schemes[] = {"bearer", "basic", "token", "digest",
                                          NULL};
    size_t i;

    for (i = 0; schemes[i] != NULL; i++) {
        if (strlen(schemes[i]) == n && strncasecmp(w, schemes[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* A word shaped like a token, key, digest or signature. */
static int
rd_token_shaped(const char *w, size_t n)
{
    size_t i, digits = 0, letters = 0, hex = 0;

    if (n >= NOTIFY_REDACT_LONG_MIN) {
        return 1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c >= '0' && c <= '9') {
            digits++;
            hex++;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            letters++;
            hex += (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
    }
    if (n >= NOTIFY_REDACT_HEX_MIN && hex == n) {
        return 1;
    }
    return n >= NOTIFY_REDACT_RUN_MIN && digits > 0 && letters > 0;
}

char *
notify_redact_reply(const char *s, size_t len, char *out, size_t outcap)
{
    struct rd_out o;
    int pending = 0; /* the next word is a credential's value */
    size_t i = 0;

    if (out == NULL || outcap == 0) {
        return out;
    }
    o.buf = out;
    o.pos = 0;
    o.max = outcap - 1 < NOTIFY_REPLY_MAX ? outcap - 1 : NOTIFY_REPLY_MAX;
    o.space = 0;
    while (i < len && o.pos < o.max) {
        unsigned char c = (unsigned char)s[i];
        size_t a, b, j;

        if (c <= 0x20 || c == 0x7f) {
            o.space = 1;
            i++;
            continue;
        }
        if (c == '[' && (rd_marker(s + i, len - i, NOTIFY_REDACTED) ||
                         rd_marker(s + i, len - i, NOTIFY_REDACTED_URL))) {
            /* Already kept (a second pass): the same again. */
            size_t m = s[i + 1] == 'u' ? strlen(NOTIFY_REDACTED_URL)
                                       : strlen(NOTIFY_REDACTED);
            rd_put(&o, s + i, m);
            i += m;
            pending = 0;
            continue;
        }
        if (rd_delim(c)) {
            rd_put(&o, (const char *)&s[i], 1);
            i++;
            continue;
        }
        a = i;
        for (b = a; b < len && !rd_delim((unsigned char)s[b]); b++) {
        }
        i = b;
        if (rd_urlish(s + a, b - a)) {
            rd_put(&o, NOTIFY_REDACTED_URL, strlen(NOTIFY_REDACTED_URL));
            pending = 0;
            continue;
        }
        for (j = a; j < b;) {
            size_t w = j;
            if (!rd_word((unsigned char)s[j])) {
                /* Non-ASCII shows as '?', and counts as one below. */
                rd_put(&o, (unsigned char)s[j] > 0x7f ? "?" : s + j, 1);
                j++;
                continue;
            }
            while (j < b && rd_word((unsigned char)s[j])) {
                j++;
            }
            if (rd_token_shaped(s + w, j - w)) {
                /* Judged first: a random token may hold "sig", "key" or
                 * "jwt" (in about 1 of 300 base64url tokens of 32
                 * characters); it is still replaced.  One that holds a
                 * credential name announces a value all the same. */
                rd_put(&o, NOTIFY_REDACTED, strlen(NOTIFY_REDACTED));
                pending = rd_credential_name(s + w, j - w);
            } else if (rd_credential_name(s + w, j - w) &&
                       (!pending || rd_auth_scheme(s + w, j - w))) {
                rd_put(&o, s + w, j - w);
                pending = 1;
            } else if (pending && rd_credential_name(s + w, j - w)) {
                /* A value holding a name ("password: passw0rd", "token:
                 * mykey") is a value: replaced, and what follows too. */
                rd_put(&o, NOTIFY_REDACTED, strlen(NOTIFY_REDACTED));
            } else if (pending) {
                rd_put(&o, NOTIFY_REDACTED, strlen(NOTIFY_REDACTED));
                pending = 0;
            } else {
                rd_put(&o, s + w, j - w);
            }
        }
    }
    out[o.pos] = '\0';
    return out;
}
