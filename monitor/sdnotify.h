/*
 * sdnotify.h: the systemd notification protocol (sd_notify(3),
 * systemd.service(5) Type=notify, WatchdogSec=), without libsystemd.
 *
 * Messages ("READY=1", "WATCHDOG=1", "STOPPING=1", "RELOADING=1") are
 * datagrams sent to the AF_UNIX socket named by $NOTIFY_SOCKET: a path
 * ("/run/systemd/notify") or an abstract name ("@name", sent with a
 * leading NUL).  Without $NOTIFY_SOCKET every call is a no-op, so the
 * daemon behaves the same outside systemd.
 *
 * The watchdog: when $WATCHDOG_USEC is set (and $WATCHDOG_PID is unset or
 * names this process, as sd_watchdog_enabled(3) requires), once ready a
 * persistent timer on the event loop sends WATCHDOG=1 every half of it,
 * so the pings stop when the loop stops turning and systemd restarts the
 * daemon.
 */
#ifndef TLOGWATCH_MONITOR_SDNOTIFY_H
#define TLOGWATCH_MONITOR_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

struct event_base;
struct sdnotify;

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID.  Returns new
 * (free with sdnotify_free), also when not under systemd; NULL only when
 * memory runs out.  Logs (warning) a $NOTIFY_SOCKET it cannot use.
 */
struct sdnotify *sdnotify_new(struct event_base *base);

/*
 * Send one state string.  Returns 0 sent, 1 nothing to send to (no
 * $NOTIFY_SOCKET), -1 failed (logged once).  n may be NULL (returns 1).
 */
int sdnotify_send(struct sdnotify *n, const char *state);

/* READY=1, then the watchdog timer (when enabled).  Returns as
 * sdnotify_send; -1 also when the timer cannot be armed. */
int sdnotify_ready(struct sdnotify *n);
/* RELOADING=1 (SIGHUP); sdnotify_ready after the reload. */
void sdnotify_reloading(struct sdnotify *n);
/* STOPPING=1, once; stops the watchdog pings. */
void sdnotify_stopping(struct sdnotify *n);
/* The watchdog interval in microseconds, 0 when not enabled. */
uint64_t sdnotify_watchdog_usec(const struct sdnotify *n);
/* Stops the timer and closes the socket.  NULL is a no-op. */
void sdnotify_free(struct sdnotify *n);

/*
 * Pure helpers, exposed for tests.
 * The address for a $NOTIFY_SOCKET value: an absolute path or "@name"
 * (abstract: sun_path[0] = NUL); 0 with *sa and *len set, -1 for
 * anything else (empty, relative, too long for sun_path).
 */
int sdnotify_addr(const char *notify_socket, struct sockaddr_un *sa,
                  socklen_t *len);
/*
 * The watchdog interval from $WATCHDOG_USEC and $WATCHDOG_PID (either may
 * be NULL) for process self: 0 with *usec set when enabled (a positive
 * decimal usec; pid NULL or equal to self), -1 otherwise.
 */
int sdnotify_watchdog_parse(const char *usec, const char *pid, pid_t self,
                            uint64_t *out);

#endif
