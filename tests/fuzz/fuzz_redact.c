/*
 * fuzz_redact.c: libFuzzer target for notify/redact.h, fed with any bytes
 * (a receiver's reply is untrusted).  Checks the contracts: the kept reply
 * is at most NOTIFY_REPLY_MAX bytes of printable ASCII and holds no "://"
 * and no token-shaped word (NOTIFY_REDACT_LONG_MIN base64url bytes, or
 * NOTIFY_REDACT_RUN_MIN with a digit and a letter), nor after a second
 * pass, as the outbox makes;
 * a URL made of the input shows nothing after "scheme://host/" but "...".
 * The input is not NUL-terminated and must never be read past size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s holds a base64url word that the reply rules call a token. */
static int
has_token(const char *s)
{
    size_t n = 0, digits = 0, letters = 0;

    for (;; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            letters++;
        } else if (c >= '0' && c <= '9') {
            digits++;
        } else if (c != '+' && c != '/' && c != '_' && c != '-') {
            if (n >= NOTIFY_REDACT_LONG_MIN ||
                (n >= NOTIFY_REDACT_RUN_MIN && digits > 0 && letters > 0)) {
                return 1;
            }
            if (c == '\0') {
                return 0;
            }
            n = digits = letters = 0;
            continue;
        }
        n++;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[NOTIFY_REPLY_MAX + 64], again[NOTIFY_REPLY_MAX + 64];
    char shown[256], *u, *p;
    const char *pass[2] = {out, again};
    size_t i, n, k;

    notify_redact_reply((const char *)data, size, out, sizeof(out));
    notify_redact_reply(out, strlen(out), again, sizeof(again));
    for (k = 0; k < 2; k++) {
        n = strlen(pass[k]);
        if (n > NOTIFY_REPLY_MAX || strstr(pass[k], "://") != NULL ||
            has_token(pass[k])) {
            abort();
        }
        for (i = 0; i < n; i++) {
            if (pass[k][i] < 0x20 || pass[k][i] > 0x7e) {
                abort();
            }
        }
    }
    u = malloc(size + 1);
    if (u == NULL) {
        return 0;
    }
    memcpy(u, data, size);
    u[size] = '\0';
    notify_redact_url(u, shown, sizeof(shown));
    free(u);
    if (strcmp(shown, "(unparsable url)") != 0) {
        p = strstr(shown, "://");
        if (p == NULL) {
            abort();
        }
        p = strchr(p + 3, '/');
        if (p != NULL && strncmp(p, "/...", strlen(p)) != 0) {
            abort();
        }
    }
    return 0;
}
