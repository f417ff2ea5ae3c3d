/*
 * fuzz_email.c: libFuzzer target for notify_render_email() (render.h),
 * whose Subject carries attacker-influenced text (a summary built from
 * certificate fields and repository names).  The input is used twice: as
 * an alert (JSON), and as the raw bytes of a summary (any bytes: control
 * characters, CR/LF, invalid UTF-8).  Checks the header invariants of
 * render_email.c on every message:
 *  - only printable ASCII and CRLF pairs (no bare CR or LF, no NUL);
 *  - no line longer than 998 octets;
 *  - the header holds exactly the fields the renderer writes, each once
 *    (no injected Bcc:, no second Subject:), continuation lines start
 *    with a blank and are not only white space, encoded words are at
 *    most 75 characters;
 *  - an encoded word decodes to well-formed UTF-8 (RFC 3629) without a
 *    control character, so a reader's decoded Subject is one clean line;
 *  - Message-ID is "<tlogwatch.<id>@<from's domain>>";
 *  - the body holds the boundary exactly three times (two parts, the
 *    close), so nothing from the alert made a part of its own.
 * notify_email_addr_ok() is fed the bytes too: an accepted address has no
 * byte that could end or split a header or an SMTP command.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "notify/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "0442e82aa35c118d3742f3848462e28b4a0f1d7c1d2dd7f98df881276a90883d"

static const char *const fields[] = {"Date",
                                     "From",
                                     "To",
                                     "Subject",
                                     "Message-ID",
                                     "Auto-Submitted",
                                     "X-Tlogwatch-Alert-Id",
                                     "X-Tlogwatch-Event",
                                     "X-Tlogwatch-Severity",
                                     "MIME-Version",
                                     "Content-Type",
                                     NULL};

/* Is p (n bytes) well-formed UTF-8 without C0, DEL or C1 controls? */
static int
clean_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0, k, j;
    uint32_t cp;

    while (i < n) {
        if (p[i] < 0x80) {
            if (p[i] < 0x20 || p[i] == 0x7f) {
                return 0;
            }
            i++;
            continue;
        }
        k = (p[i] & 0xe0) == 0xc0   ? 2
            : (p[i] & 0xf0) == 0xe0 ? 3
            : (p[i] & 0xf8) == 0xf0 ? 4
                                    : 0;
        if (k == 0 || i + k > n) {
            return 0;
        }
        cp = p[i] & (0xff >> (k + 1));
        for (j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
            (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
            return 0;
        }
        i += k;
    }
    return 1;
}

/* The encoded word at w ("=?UTF-8?B?...?=", len bytes) decodes clean. */
static void
check_word(const char *w, size_t len)
{
    static const char pre[] = "=?UTF-8?B?";
    unsigned char out[128];
    size_t b64 = len - (sizeof(pre) - 1) - 2, pad = 0;
    int n;

    if (len < sizeof(pre) + 1 || strncmp(w, pre, sizeof(pre) - 1) != 0 ||
        b64 % 4 != 0 || b64 > 96) {
        abort();
    }
    n = EVP_DecodeBlock(out, (const unsigned char *)w + sizeof(pre) - 1,
                        (int)b64);
    if (n < 0) {
        abort();
    }
    while (pad < 2 && w[sizeof(pre) - 1 + b64 - 1 - pad] == '=') {
        pad++;
    }
    if (!clean_utf8(out, (size_t)n - pad)) {
        abort();
    }
}

static void
check_message(const char *m, const char *id)
{
    size_t i, n = strlen(m), line = 0, seen[16] = {0}, k, bounds = 0;
    const char *end = strstr(m, "\r\n\r\n"), *p, *q;
    char want[160], bound[64];

    if (end == NULL) {
        abort();
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (c == '\r') {
            if (m[i + 1] != '\n') {
                abort();
            }
        } else if (c == '\n') {
            if (i == 0 || m[i - 1] != '\r') {
                abort();
            }
            line = 0;
            continue;
        } else if (c < 0x20 || c > 0x7e) {
            abort();
        }
        if (++line > NOTIFY_EMAIL_LINE_MAX) {
            abort();
        }
    }
    /* The header, line by line. */
    for (p = m; p < end + 2; p = q + 2) {
        size_t len;
        q = strstr(p, "\r\n");
        len = (size_t)(q - p);
        if (p[0] == ' ' || p[0] == '\t') {
            /* a continuation, never only white space (RFC 5322 3.2.2) */
            if (p == m || strspn(p, " \t") >= len) {
                abort();
            }
            continue;
        }
        for (k = 0; fields[k] != NULL; k++) {
            size_t fl = strlen(fields[k]);
            if (len > fl + 1 && strncmp(p, fields[k], fl) == 0 &&
                p[fl] == ':' && p[fl + 1] == ' ') {
                seen[k]++;
                break;
            }
        }
        if (fields[k] == NULL) {
            abort(); /* a field the renderer does not write */
        }
    }
    for (k = 0; fields[k] != NULL; k++) {
        if (seen[k] != 1 &&
            !(seen[k] == 0 && strcmp(fields[k], "X-Tlogwatch-Event") == 0)) {
            abort();
        }
    }
    for (p = strstr(m, "=?"); p != NULL && p < end; p = strstr(p + 2, "=?")) {
        q = strstr(p + 2, "?=");
        if (q == NULL || q > end || (size_t)(q + 2 - p) > 75) {
            abort();
        }
        check_word(p, (size_t)(q + 2 - p));
        p = q;
    }
    snprintf(want, sizeof(want),
             "\r\nMessage-ID: <tlogwatch.%s@example.org>\r\n", id);
    if (strstr(m, want) == NULL || strstr(m, want) > end) {
        abort();
    }
    snprintf(bound, sizeof(bound), "\r\n--=_tlogwatch_%.32s", id);
    for (p = strstr(end, bound); p != NULL; p = strstr(p + 1, bound)) {
        bounds++;
    }
    if (bounds != 3) {
        abort();
    }
}

static void
render(json_t *a, const char *doc)
{
    static const char *const to[] = {"sec@example.org", "b.c+x@mx.example"};
    char *m =
        notify_render_email(a, doc, "tlogwatch@example.org", to, 2, 1733400000);

    if (m != NULL) {
        const char *id = json_string_value(json_object_get(a, "id"));
        if (id == NULL) {
            abort(); /* rendered without an id */
        }
        check_message(m, id);
    }
    free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *a;
    char *addr;

    if (size > 64 * 1024) {
        return 0;
    }
    /* The bytes as an alert. */
    a = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(a)) {
        render(a, "{}");
        json_object_set_new(a, "id", json_string(ID));
        render(a, "{\"x\":1}");
    }
    json_decref(a);
    /* The bytes as a summary, whatever they are. */
    a = json_pack("{s:s,s:s,s:s}", "id", ID, "type", "signing.unexpected",
                  "severity", "critical");
    if (a != NULL) {
        json_object_set_new(a, "summary",
                            json_stringn_nocheck((const char *)data, size));
        json_object_set_new(
            a, "type",
            json_stringn_nocheck((const char *)data, size > 40 ? 40 : size));
        render(a, "{}");
    }
    json_decref(a);
    /* The bytes as an address. */
    addr = malloc(size + 1);
    if (addr != NULL) {
        memcpy(addr, data, size);
        addr[size] = '\0';
        if (notify_email_addr_ok(addr) &&
            strpbrk(addr, "\r\n <>,;:\"()[]\\") != NULL) {
            abort();
        }
    }
    free(addr);
    return 0;
}
