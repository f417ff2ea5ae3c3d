/*
 * log.c: stderr logger.  The only global state in tlogwatch besides the
 * logger's verbosity (STYLE.md rule 6).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "monitor/log.h"

static int log_verbose;

void
log_init(int verbose)
{
    log_verbose = verbose;
}

static void
log_vemit(const char *level, int with_errno, const char *fmt, va_list ap)
{
    int saved = errno;
    char msg[2048];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (with_errno) {
        fprintf(stderr, "tlogwatch: %s: %s: %s\n", level, msg, strerror(saved));
    } else {
        fprintf(stderr, "tlogwatch: %s: %s\n", level, msg);
    }
    errno = saved;
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit("warning", 1, fmt, ap);
    va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit("warning", 0, fmt, ap);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit("info", 0, fmt, ap);
    va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!log_verbose) {
        return;
    }
    va_start(ap, fmt);
    log_vemit("debug", 0, fmt, ap);
    va_end(ap);
}

char *
log_clean(const char *s, size_t len, char *out, size_t outcap)
{
    size_t i, n = 0;

    if (outcap == 0) {
        return out;
    }
    for (i = 0; i < len && n + 1 < outcap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
    return out;
}
