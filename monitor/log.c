/*
 * log.c: stderr logger.  The only global state in tlogwatch besides the
 * logger's setup (STYLE.md rule 6): the verbosity and whether stderr is
 * the systemd journal, both fixed by log_init.
 *
 * Each message is formatted into one buffer and written with one write(2),
 * so lines from exec hooks (whose stdout is our stderr) never land inside
 * one of ours.  A message is always one line: CR and LF become blanks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "monitor/log.h"

#define LOG_LINE_MAX 2048

static int log_verbose;
static int log_journal; /* stderr is the journal: <N> prefixes, no time */

/* A decimal uint64 at *s that ends at the byte stop ('\0': the end of
 * the string); *s is left on stop.  -1 for no digit, overflow or another
 * byte. */
static int
log_parse_u64(const char **s, char stop, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;

    if (*p < '0' || *p > '9') {
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p != stop) {
        return -1;
    }
    *s = p;
    *out = v;
    return 0;
}

int
log_stream_is_journal(const char *journal_stream, int fd)
{
    const char *p = journal_stream;
    uint64_t dev, ino;
    struct stat st;

    if (p == NULL || log_parse_u64(&p, ':', &dev) != 0) {
        return 0;
    }
    p++;
    if (log_parse_u64(&p, '\0', &ino) != 0 || fstat(fd, &st) != 0) {
        return 0;
    }
    return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void
log_init(int verbose)
{
    log_verbose = verbose;
    log_journal = log_stream_is_journal(getenv("JOURNAL_STREAM"), 2);
}

int
log_to_journal(void)
{
    return log_journal;
}

char *
log_timestamp(char *out, size_t outcap)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    if (outcap == 0) {
        return out;
    }
    out[0] = '\0';
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
        gmtime_r(&ts.tv_sec, &tm) == NULL) {
        return out;
    }
    n = strftime(out, outcap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n > 0 && n < outcap) {
        snprintf(out + n, outcap - n, ".%03ldZ", ts.tv_nsec / 1000000);
    }
    return out;
}

static void
log_vemit(int prio, const char *level, int with_errno, const char *fmt,
          va_list ap)
{
    int saved = errno;
    char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128], ts[40];
    size_t len, off = 0, i;
    int n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (with_errno) {
        len = strlen(msg);
        snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(saved));
    }
    for (i = 0; msg[i] != '\0'; i++) {
        if (msg[i] == '\n' || msg[i] == '\r') {
            msg[i] = ' ';
        }
    }
    if (log_journal) {
        n = snprintf(line, sizeof(line), "<%d>%s\n", prio, msg);
    } else {
        n = snprintf(line, sizeof(line), "%s %s: %s\n",
                     log_timestamp(ts, sizeof(ts)), level, msg);
    }
    if (n < 0) {
        errno = saved;
        return;
    }
    len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    line[len - 1] = '\n';
    while (off < len) {
        ssize_t w = write(STDERR_FILENO, line + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    errno = saved;
}

void
log_errx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_PRIO_ERR, "error", 0, fmt, ap);
    va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_PRIO_WARNING, "warning", 1, fmt, ap);
    va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_PRIO_WARNING, "warning", 0, fmt, ap);
    va_end(ap);
}

void
log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vemit(LOG_PRIO_INFO, "info", 0, fmt, ap);
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
    log_vemit(LOG_PRIO_DEBUG, "debug", 0, fmt, ap);
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
