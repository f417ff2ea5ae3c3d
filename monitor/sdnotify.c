/*
 * sdnotify.c: systemd readiness, watchdog and stop notifications over
 * $NOTIFY_SOCKET (sdnotify.h).  One SOCK_DGRAM socket, opened on the
 * first send and kept; sends never block (MSG_DONTWAIT): a full socket
 * drops a ping rather than stalling the loop, and the next ping is half a
 * watchdog interval away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "monitor/log.h"
#include "monitor/sdnotify.h"

struct sdnotify {
    struct event_base *base; /* borrowed */
    struct sockaddr_un addr;
    socklen_t addrlen;   /* 0: not under systemd (or an unusable value) */
    int fd;              /* -1 until the first send */
    uint64_t wd_usec;    /* 0: no watchdog */
    struct event *wd_ev; /* owned: the ping timer, once ready */
    int warned;          /* a send failure was logged */
    int stopping;        /* STOPPING=1 was sent */
};

int
sdnotify_addr(const char *ns, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n;

    if (ns == NULL || (ns[0] != '/' && ns[0] != '@')) {
        return -1;
    }
    n = strlen(ns);
    if (n < 2 || n > sizeof(sa->sun_path) - (ns[0] == '/')) {
        return -1; /* a path needs room for its NUL */
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, ns, n);
    if (ns[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract: the length ends the name */
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int
sdnotify_watchdog_parse(const char *usec, const char *pid, pid_t self,
                        uint64_t *out)
{
    uint64_t v = 0, p = 0;
    const char *s;

    if (usec == NULL || usec[0] == '\0') {
        return -1;
    }
    for (s = usec; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v == 0) {
        return -1;
    }
    if (pid != NULL) {
        if (pid[0] == '\0') {
            return -1;
        }
        for (s = pid; *s != '\0'; s++) {
            if (*s < '0' || *s > '9' || p > (UINT64_MAX - 9) / 10) {
                return -1;
            }
            p = p * 10 + (uint64_t)(*s - '0');
        }
        if (self <= 0 || p != (uint64_t)self) {
            return -1; /* meant for another process of the service */
        }
    }
    *out = v;
    return 0;
}

struct sdnotify *
sdnotify_new(struct event_base *base)
{
    struct sdnotify *n = calloc(1, sizeof(*n));
    const char *ns = getenv("NOTIFY_SOCKET");
    uint64_t usec;

    if (n == NULL) {
        return NULL;
    }
    n->base = base;
    n->fd = -1;
    if (ns != NULL && ns[0] != '\0') {
        if (sdnotify_addr(ns, &n->addr, &n->addrlen) != 0) {
            n->addrlen = 0;
            log_warnx("systemd: NOTIFY_SOCKET is not an absolute path or "
                      "@name; not notifying");
        }
    }
    if (n->addrlen != 0 &&
        sdnotify_watchdog_parse(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
                                getpid(), &usec) == 0) {
        n->wd_usec = usec;
    }
    return n;
}

int
sdnotify_send(struct sdnotify *n, const char *state)
{
    size_t len = strlen(state);
    ssize_t w;

    if (n == NULL || n->addrlen == 0) {
        return 1;
    }
    if (n->fd < 0) {
        n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (n->fd < 0) {
            if (!n->warned) {
                n->warned = 1;
                log_warn("systemd: cannot create the notify socket");
            }
            return -1;
        }
    }
    do {
        w = sendto(n->fd, state, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (const struct sockaddr *)&n->addr, n->addrlen);
    } while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != len) {
        if (!n->warned) {
            n->warned = 1;
            log_warn("systemd: cannot send %s", state);
        }
        return -1;
    }
    return 0;
}

static void
sdnotify_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)sdnotify_send(arg, "WATCHDOG=1");
}

int
sdnotify_ready(struct sdnotify *n)
{
    uint64_t half;
    struct timeval tv;
    int rc;

    if (n == NULL) {
        return 1;
    }
    rc = sdnotify_send(n, "READY=1");
    if (n->wd_usec == 0 || n->wd_ev != NULL || n->stopping) {
        return rc;
    }
    half = n->wd_usec / 2 > 0 ? n->wd_usec / 2 : 1;
    tv.tv_sec = (time_t)(half / 1000000);
    tv.tv_usec = (suseconds_t)(half % 1000000);
    n->wd_ev = event_new(n->base, -1, EV_PERSIST, sdnotify_ping, n);
    if (n->wd_ev == NULL || event_add(n->wd_ev, &tv) != 0) {
        log_warnx("systemd: cannot arm the watchdog timer");
        return -1;
    }
    log_debug("systemd: watchdog every %llu us", (unsigned long long)half);
    (void)sdnotify_send(n, "WATCHDOG=1");
    return rc;
}

void
sdnotify_reloading(struct sdnotify *n)
{
    if (n != NULL && !n->stopping) {
        (void)sdnotify_send(n, "RELOADING=1");
    }
}

void
sdnotify_stopping(struct sdnotify *n)
{
    if (n == NULL || n->stopping) {
        return;
    }
    n->stopping = 1;
    if (n->wd_ev != NULL) {
        event_del(n->wd_ev);
    }
    (void)sdnotify_send(n, "STOPPING=1");
}

uint64_t
sdnotify_watchdog_usec(const struct sdnotify *n)
{
    return n != NULL ? n->wd_usec : 0;
}

void
sdnotify_free(struct sdnotify *n)
{
    if (n == NULL) {
        return;
    }
    if (n->wd_ev != NULL) {
        event_free(n->wd_ev);
    }
    if (n->fd >= 0) {
        close(n->fd);
    }
    free(n);
}
