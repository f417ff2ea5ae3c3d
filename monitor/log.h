/*
 * log.h: the logger, in the manner of OpenBSD's log.c.  Only monitor/ logs.
 * Messages go to stderr as "tlogwatch: level: message".  log_warn appends
 * strerror(errno).  Untrusted strings must pass through log_clean() first.
 */
#ifndef TLOGWATCH_MONITOR_LOG_H
#define TLOGWATCH_MONITOR_LOG_H

#include <stddef.h>

/* verbose: 0 warnings and info, 1 adds debug. */
void log_init(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Copy at most outcap-1 bytes of untrusted s into out, replacing control
 * and non-ASCII bytes with '?', so a hostile log cannot forge log lines.
 * Returns out.
 */
char *log_clean(const char *s, size_t len, char *out, size_t outcap);

#endif
