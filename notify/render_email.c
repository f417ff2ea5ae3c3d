/*
 * render_email.c: the email message of an alert (render.h).
 *
 * One RFC 5322 message per alert: Date, From, To, Subject, Message-ID
 * (derived from the alert id, so every retry sends the same one),
 * Auto-Submitted, the X-Tlogwatch-* headers and a MIME multipart/mixed
 * body with a text/plain part (notify_render_text) and the stored alert
 * document as an application/json attachment.
 *
 * Invariants (tests/fuzz/fuzz_email.c checks them on arbitrary alerts):
 *  - the message is 7-bit ASCII with CRLF line ends only: no bare CR or
 *    LF, no NUL, no other control byte but TAB in the header;
 *  - no line is longer than NOTIFY_EMAIL_LINE_MAX (998) octets; To and
 *    Subject are folded at 78;
 *  - nothing from the alert reaches a header but the summary (Subject)
 *    and the type and severity, each cleaned: the summary's control bytes
 *    become blanks and it is RFC 2047 encoded (UTF-8, B) unless it is
 *    short printable ASCII; the type keeps only [a-z0-9._-] and the
 *    severity is one of three words; so the header ends where this module
 *    ends it and holds exactly the fields it writes;
 *  - both parts are base64 (76-column lines), so no body line is long,
 *    none starts with a dot, and the boundary ("=_tlogwatch_" and the id),
 *    which base64 cannot produce, never occurs inside a part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "notify/alert.h"
#include "notify/render.h"

/* A growing string; oom set on failure. */
struct ebuf {
    char *s;
    size_t n, cap;
    int oom;
};

static void
eb_put(struct ebuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *ns;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        ns = realloc(b->s, cap);
        if (ns == NULL) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void
eb_puts(struct ebuf *b, const char *s)
{
    eb_put(b, s, strlen(s));
}

/* n bytes of p as base64 in lines of 76 characters, each ending CRLF. */
static void
eb_base64(struct ebuf *b, const unsigned char *p, size_t n)
{
    unsigned char out[80];
    size_t off = 0;

    while (off < n && !b->oom) {
        size_t k = n - off > 57 ? 57 : n - off; /* 57 bytes: 76 chars */
        int w = EVP_EncodeBlock(out, p + off, (int)k);
        if (w < 0) {
            b->oom = 1;
            return;
        }
        eb_put(b, (const char *)out, (size_t)w);
        eb_puts(b, "\r\n");
        off += k;
    }
}

int
notify_email_addr_ok(const char *s)
{
    static const char atext[] = "!#$%&'*+-/=?^_`{|}~.";
    const char *at;
    size_t i, n;

    if (s == NULL || (n = strlen(s)) == 0 || n > NOTIFY_EMAIL_ADDR_MAX ||
        (at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL ||
        at == s || at[1] == '\0' || at - s > 64) {
        return 0;
    }
    /* local part: a dot-atom (no quoted strings) */
    if (s[0] == '.' || at[-1] == '.') {
        return 0;
    }
    for (i = 0; s + i < at; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr(atext, c) != NULL) ||
            (c == '.' && s[i + 1] == '.')) {
            return 0;
        }
    }
    /* domain: letters, digits, '-' labels of 1 to 63, dot-separated */
    for (i = 1; at[i] != '\0';) {
        size_t len = 0;
        while ((at[i + len] >= 'a' && at[i + len] <= 'z') ||
               (at[i + len] >= 'A' && at[i + len] <= 'Z') ||
               (at[i + len] >= '0' && at[i + len] <= '9') ||
               at[i + len] == '-') {
            len++;
        }
        if (len == 0 || len > 63 || at[i] == '-' || at[i + len - 1] == '-') {
            return 0;
        }
        i += len;
        if (at[i] == '.') {
            if (at[i + 1] == '\0') {
                return 0;
            }
            i++;
        } else if (at[i] != '\0') {
            return 0;
        }
    }
    return 1;
}

/* The Date header value for t (English names, UTC), into out (>= 40). */
static void
email_date(int64_t t, char *out, size_t outcap)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)(t < 0 ? 0 : t);
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11) {
        snprintf(out, outcap, "Thu, 01 Jan 1970 00:00:00 +0000");
        return;
    }
    snprintf(out, outcap, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Length of the well-formed UTF-8 sequence starting at p (RFC 3629: no
 * overlong form, no surrogate, nothing past U+10FFFF), or 1 for a byte
 * that does not start one. */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
    size_t n, i;

    if (p[0] < 0x80) {
        return 1;
    }
    n = p[0] >= 0xc2 && p[0] <= 0xdf   ? 2
        : p[0] >= 0xe0 && p[0] <= 0xef ? 3
        : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                       : 0;
    if (n == 0 || n > left) {
        return 1;
    }
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f)) {
        return 1;
    }
    return n;
}

/*
 * The Subject text: s cleaned (C0 and C1 controls, DEL and stray bytes
 * become blanks or '?') and cut to NOTIFY_EMAIL_SUBJECT_MAX bytes on a
 * character boundary, into out.  Returns its length.
 */
static size_t
subject_clean(const char *s, char *out, size_t outcap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0, k;

    while (i < n) {
        k = utf8_len(p + i, n - i);
        if (o + k + 1 > outcap || o + k > NOTIFY_EMAIL_SUBJECT_MAX) {
            break;
        }
        if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            out[o++] = ' ';
        } else if (k == 1 && p[i] >= 0x80) {
            out[o++] = '?'; /* not UTF-8 */
        } else if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
            out[o++] = ' '; /* C1 control */
        } else {
            memcpy(out + o, p + i, k);
            o += k;
        }
        i += k;
    }
    out[o] = '\0';
    return o;
}

/* "Subject: " and s (cleaned): printable ASCII folded at blanks (runs of
 * blanks become one, so no folded line is only white space), anything
 * else as RFC 2047 encoded words. */
static void
eb_subject(struct ebuf *b, const char *s, size_t n)
{
    static const char name[] = "Subject: ";
    size_t i, plain = 1, line, words = 0;

    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x7f || (unsigned char)s[i] < 0x20) {
            plain = 0;
        }
    }
    if (strstr(s, "=?") != NULL) {
        plain = 0; /* would read as an encoded word */
    }
    eb_puts(b, name);
    if (plain) {
        line = sizeof(name) - 1;
        for (i = 0; i < n;) {
            size_t w;
            while (i < n && s[i] == ' ') {
                i++;
            }
            w = strcspn(s + i, " ");
            if (w > n - i) {
                w = n - i;
            }
            if (w == 0) {
                break;
            }
            if (words++ > 0) {
                if (line + 1 + w > NOTIFY_EMAIL_FOLD) {
                    eb_puts(b, "\r\n");
                    line = 0;
                }
                eb_puts(b, " ");
                line++;
            }
            eb_put(b, s + i, w);
            line += w;
            i += w;
        }
        eb_puts(b, "\r\n");
        return;
    }
    /* Encoded words of at most 42 bytes (56 base64 characters, 68 with
     * the delimiters), split on character boundaries, one a line. */
    for (i = 0; i < n;) {
        unsigned char out[64];
        size_t len = 0, k;
        int w;
        while (i + len < n) {
            k = utf8_len((const unsigned char *)s + i + len, n - i - len);
            if (len + k > 42) {
                break;
            }
            len += k;
        }
        w = EVP_EncodeBlock(out, (const unsigned char *)s + i, (int)len);
        if (w < 0) {
            b->oom = 1;
            return;
        }
        if (i > 0) {
            eb_puts(b, "\r\n ");
        }
        eb_puts(b, "=?UTF-8?B?");
        eb_put(b, (const char *)out, (size_t)w);
        eb_puts(b, "?=");
        i += len;
    }
    eb_puts(b, "\r\n");
}

/* The text part: t with CRLF line ends, other control bytes but TAB
 * dropped. */
static char *
text_crlf(const char *t, size_t *outlen)
{
    struct ebuf b = {NULL, 0, 0, 0};
    const char *p;

    for (p = t; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            eb_puts(&b, "\r\n");
        } else if (c >= 0x20 || c == '\t') {
            eb_put(&b, p, 1);
        }
    }
    if (b.oom || b.s == NULL) {
        free(b.s);
        return NULL;
    }
    *outlen = b.n;
    return b.s;
}

/* Does s hold only characters of the given set (and at most max)? */
static int
only(const char *s, const char *set, size_t max)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (i >= max ||
            !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              strchr(set, s[i]) != NULL)) {
            return 0;
        }
    }
    return i > 0;
}

char *
notify_render_email(const json_t *alert, const char *doc, const char *from,
                    const char *const *to, size_t nto, int64_t now)
{
    struct notify_alert_fields f;
    struct ebuf b = {NULL, 0, 0, 0};
    char date[48], subj[NOTIFY_EMAIL_SUBJECT_MAX + 64], bound[64];
    char fname[64], line[NOTIFY_EMAIL_ADDR_MAX + 64];
    const char *sev, *domain;
    char *text = NULL, *crlf = NULL;
    size_t i, n, tlen = 0;
    int ok = 0;

    if (!json_is_object(alert) || doc == NULL || !notify_email_addr_ok(from) ||
        to == NULL || nto == 0) {
        return NULL;
    }
    for (i = 0; i < nto; i++) {
        if (!notify_email_addr_ok(to[i])) {
            return NULL;
        }
    }
    notify_alert_fields(alert, &f);
    if (f.id == NULL ||
        !only(f.id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", NOTIFY_ALERT_ID_LEN)) {
        return NULL;
    }
    sev = f.severity != NULL && strcmp(f.severity, "critical") == 0 ? "critical"
          : f.severity != NULL && strcmp(f.severity, "warning") == 0 ? "warning"
                                                                     : "info";
    domain = strchr(from, '@') + 1;
    text = notify_render_text(alert);
    if (text == NULL) {
        goto out;
    }
    {
        char *more = malloc(strlen(text) + 256);
        if (more == NULL) {
            goto out;
        }
        snprintf(more, strlen(text) + 256,
                 "%s\n\nThe alert document (tlogwatch.alert/v1) is "
                 "attached as JSON.\n-- \ntlogwatch\n",
                 text);
        crlf = text_crlf(more, &tlen);
        free(more);
        if (crlf == NULL) {
            goto out;
        }
    }
    email_date(now, date, sizeof(date));
    snprintf(bound, sizeof(bound), "=_tlogwatch_%.32s", f.id);
    snprintf(fname, sizeof(fname), "tlogwatch-alert-%.12s.json", f.id);

    eb_puts(&b, "Date: ");
    eb_puts(&b, date);
    snprintf(line, sizeof(line), "\r\nFrom: tlogwatch <%s>\r\nTo: ", from);
    eb_puts(&b, line);
    for (i = 0; i < nto; i++) {
        if (i > 0) {
            eb_puts(&b, ",\r\n ");
        }
        eb_puts(&b, to[i]);
    }
    eb_puts(&b, "\r\n");
    snprintf(subj, sizeof(subj), "[tlogwatch %s] ", sev);
    n = strlen(subj);
    n += subject_clean(f.summary != NULL && f.summary[0] != '\0'
                           ? f.summary
                           : (f.type != NULL ? f.type : "alert"),
                       subj + n, sizeof(subj) - n);
    eb_subject(&b, subj, n);
    /* Message-ID: the id, so a retry repeats it and receivers dedupe. */
    eb_puts(&b, "Message-ID: <tlogwatch.");
    eb_puts(&b, f.id);
    eb_puts(&b, "@");
    eb_puts(&b, domain);
    eb_puts(&b, ">\r\nAuto-Submitted: auto-generated\r\n"
                "X-Tlogwatch-Alert-Id: ");
    eb_puts(&b, f.id);
    if (f.type != NULL && only(f.type, "._-", 48)) {
        eb_puts(&b, "\r\nX-Tlogwatch-Event: ");
        eb_puts(&b, f.type);
    }
    eb_puts(&b, "\r\nX-Tlogwatch-Severity: ");
    eb_puts(&b, sev);
    eb_puts(&b, "\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed;\r\n boundary=\"");
    eb_puts(&b, bound);
    eb_puts(&b, "\"\r\n\r\nThis is a MIME message: a text part and the "
                "alert as JSON.\r\n\r\n--");
    eb_puts(&b, bound);
    eb_puts(&b, "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n");
    eb_base64(&b, (const unsigned char *)crlf, tlen);
    eb_puts(&b, "--");
    eb_puts(&b, bound);
    eb_puts(&b, "\r\nContent-Type: application/json; name=\"");
    eb_puts(&b, fname);
    eb_puts(&b, "\"\r\nContent-Disposition: attachment; filename=\"");
    eb_puts(&b, fname);
    eb_puts(&b, "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    eb_base64(&b, (const unsigned char *)doc, strlen(doc));
    eb_puts(&b, "--");
    eb_puts(&b, bound);
    eb_puts(&b, "--\r\n");
    ok = !b.oom;
out:
    free(text);
    free(crlf);
    if (!ok) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
