/*
 * log.h: the logger, in the manner of OpenBSD's log.c.  Only monitor/ logs.
 * One line a message on stderr, in one of two forms chosen by log_init:
 *
 *   2026-12-05T07:00:00.123Z warning: message     (RFC 3339 UTC, ms)
 *   <4>message                                    (stderr is the journal)
 *
 * The second, sd-daemon(3)'s syslog priority prefix without a time (the
 * journal stamps each line), is used when $JOURNAL_STREAM names the
 * device and inode that fstat(2) gives for stderr, as systemd.exec(5)
 * documents; anything else (unset, malformed, another file: stderr was
 * redirected) gives the first.  log_warn appends strerror(errno).
 * Untrusted strings must pass through log_clean() first.
 */
#ifndef TLOGWATCH_MONITOR_LOG_H
#define TLOGWATCH_MONITOR_LOG_H

#include <stddef.h>

/* syslog(3) priorities of the levels. */
#define LOG_PRIO_ERR 3
#define LOG_PRIO_WARNING 4
#define LOG_PRIO_INFO 6
#define LOG_PRIO_DEBUG 7

/* verbose: 0 warnings and info, 1 adds debug.  Reads $JOURNAL_STREAM and
 * fstat(2)s fd 2; call again after either changes. */
void log_init(int verbose);
/* An error that stops the daemon ("error", priority 3). */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 1 when log_init found stderr to be the journal. */
int log_to_journal(void);
/*
 * 1 when journal_stream ("DEV:INODE", both decimal, as systemd sets
 * $JOURNAL_STREAM; may be NULL) names the file open on fd; 0 otherwise,
 * including for malformed values.
 */
int log_stream_is_journal(const char *journal_stream, int fd);
/* The current time as RFC 3339 UTC with milliseconds
 * ("2026-12-05T07:00:00.123Z", 24 bytes and the NUL) into out.  Returns
 * out ("" if the clock fails). */
char *log_timestamp(char *out, size_t outcap);

/*
 * Copy at most outcap-1 bytes of untrusted s into out, replacing control
 * and non-ASCII bytes with '?', so a hostile log cannot forge log lines.
 * Returns out.
 */
char *log_clean(const char *s, size_t len, char *out, size_t outcap);

#endif
