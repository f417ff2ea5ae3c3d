/*
 * fuzz_http.c: libFuzzer target for the transport's parsers of untrusted
 * bytes (monitor/http.h): response header lines, Retry-After values, and
 * the URL check and redactor that see configured and redirected URLs.
 * Checks their contracts: parsed names and values lie inside the input, a
 * parsed name is a non-empty token, a Retry-After delay stays within
 * HTTP_RETRY_AFTER_MAX, the redactor always terminates its output within
 * the buffer and never lets a query or userinfo through.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *name, *value;
    size_t nlen, vlen;
    uint64_t secs;
    char *s, out[96], why[64];
    const char *p;
    size_t n, i;
    int dirty = 0;

    if (http_parse_header_line(in, size, &name, &nlen, &value, &vlen) == 0) {
        if (nlen == 0 || name < in || name + nlen > in + size || value < in ||
            value + vlen > in + size) {
            abort();
        }
    }
    if (http_parse_retry_after(in, size, 784111777, &secs) == 0 &&
        secs > HTTP_RETRY_AFTER_MAX) {
        abort();
    }
    if (http_parse_retry_after(in, size, INT64_MIN, &secs) == 0 &&
        secs > HTTP_RETRY_AFTER_MAX) {
        abort();
    }

    /* the string functions get a NUL-terminated copy */
    if ((s = malloc(size + 1)) == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    (void)http_url_check(s, why, sizeof(why));
    if (strnlen(why, sizeof(why)) == sizeof(why)) {
        abort();
    }
    memset(out, 'X', sizeof(out));
    http_redact_url(s, out, sizeof(out));
    n = strnlen(out, sizeof(out));
    if (n == sizeof(out)) {
        abort(); /* not terminated inside the buffer */
    }
    for (i = 0; i < size; i++) {
        dirty |= data[i] <= 0x20 || data[i] >= 0x7f;
    }
    /* '?' stands only for a cleaned byte: a query never comes through */
    if (!dirty && (memchr(out, '?', n) != NULL || memchr(out, '#', n))) {
        abort();
    }
    /* no userinfo: no '@' between "://" and the path */
    if ((p = strstr(out, "://")) != NULL) {
        p += 3;
        if (memchr(p, '@', strcspn(p, "/")) != NULL) {
            abort();
        }
    }
    free(s);
    return 0;
}
