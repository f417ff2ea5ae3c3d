/*
 * test_sdnotify.c: monitor/sdnotify.h against real AF_UNIX datagram
 * sockets (a path and an abstract @name), on a real event loop: READY=1
 * arrives when ready is called and not before, WATCHDOG=1 keeps coming at
 * half of WATCHDOG_USEC, STOPPING=1 once and then no more pings.  Without
 * NOTIFY_SOCKET, or with a WATCHDOG_PID of another process, nothing is
 * sent or armed.  The parsers have their negative cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "monitor/sdnotify.h"

#define WAIT_LIMIT_S 60 /* bounds a failing wait only */

static void
test_addr(void **state)
{
    struct sockaddr_un sa;
    socklen_t len;
    char longp[200];

    (void)state;
    assert_int_equal(sdnotify_addr("/run/systemd/notify", &sa, &len), 0);
    assert_int_equal(sa.sun_family, AF_UNIX);
    assert_string_equal(sa.sun_path, "/run/systemd/notify");
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
    assert_int_equal(sdnotify_addr("@tlw/notify", &sa, &len), 0);
    assert_int_equal(sa.sun_path[0], '\0');
    assert_memory_equal(sa.sun_path + 1, "tlw/notify", 10);
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 11);
    /* Negative twins. */
    assert_int_equal(sdnotify_addr(NULL, &sa, &len), -1);
    assert_int_equal(sdnotify_addr("", &sa, &len), -1);
    assert_int_equal(sdnotify_addr("@", &sa, &len), -1);
    assert_int_equal(sdnotify_addr("/", &sa, &len), -1);
    assert_int_equal(sdnotify_addr("relative/sock", &sa, &len), -1);
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(sa.sun_path)] = '\0'; /* 108 bytes: no room for the NUL */
    assert_int_equal(sdnotify_addr(longp, &sa, &len), -1);
    longp[sizeof(sa.sun_path) - 1] = '\0'; /* 107: fits */
    assert_int_equal(sdnotify_addr(longp, &sa, &len), 0);
    longp[0] = '@';
    longp[sizeof(sa.sun_path) - 1] = 'a';
    longp[sizeof(sa.sun_path)] = '\0'; /* abstract: 108 fits */
    assert_int_equal(sdnotify_addr(longp, &sa, &len), 0);
    longp[sizeof(sa.sun_path)] = 'a';
    longp[sizeof(sa.sun_path) + 1] = '\0';
    assert_int_equal(sdnotify_addr(longp, &sa, &len), -1);
}

static void
test_watchdog_parse(void **state)
{
    uint64_t u = 0;

    (void)state;
    assert_int_equal(sdnotify_watchdog_parse("30000000", NULL, 42, &u), 0);
    assert_int_equal(u, 30000000);
    assert_int_equal(sdnotify_watchdog_parse("1000", "42", 42, &u), 0);
    assert_int_equal(u, 1000);
    assert_int_equal(sdnotify_watchdog_parse("1000", "43", 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("1000", "", 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("1000", "4x", 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse(NULL, NULL, 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("", NULL, 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("0", NULL, 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("-5", NULL, 42, &u), -1);
    assert_int_equal(sdnotify_watchdog_parse("10s", NULL, 42, &u), -1);
    assert_int_equal(
        sdnotify_watchdog_parse("99999999999999999999999", NULL, 42, &u), -1);
}

/* ---- against a real socket ---------------------------------------------- */

struct rx {
    int fd;
    struct event_base *base;
    char msgs[64][64];
    size_t n;
    size_t want_pings; /* break the loop after this many WATCHDOG=1 */
    size_t pings;
    struct timespec first_ping, last_ping;
};

static void
rx_cb(evutil_socket_t fd, short what, void *arg)
{
    struct rx *r = arg;
    char buf[64];
    ssize_t n;

    (void)what;
    while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
        buf[n] = '\0';
        if (r->n < 64) {
            snprintf(r->msgs[r->n++], sizeof(r->msgs[0]), "%s", buf);
        }
        if (strcmp(buf, "WATCHDOG=1") == 0) {
            clock_gettime(CLOCK_MONOTONIC,
                          r->pings++ == 0 ? &r->first_ping : &r->last_ping);
            if (r->want_pings && r->pings >= r->want_pings) {
                event_base_loopbreak(r->base);
            }
        }
    }
}

static void
limit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Run the loop until rx wants no more, or for at most ms. */
static void
run_for(struct event_base *base, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000),
                         (suseconds_t)((ms % 1000) * 1000)};
    struct event *lim = evtimer_new(base, limit_cb, base);

    assert_non_null(lim);
    evtimer_add(lim, &tv);
    event_base_dispatch(base);
    event_free(lim);
}

static int
rx_open(const char *name, int abstract, struct sockaddr_un *sa)
{
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(sdnotify_addr(name, sa, &len), 0);
    if (!abstract) {
        unlink(name);
    }
    assert_int_equal(bind(fd, (struct sockaddr *)sa, len), 0);
    return fd;
}

static void
one_socket(const char *name, int abstract)
{
    struct event_base *base = event_base_new();
    struct sockaddr_un sa;
    struct sdnotify *n;
    struct event *ev;
    struct rx r;
    double gap;
    size_t before;

    assert_non_null(base);
    memset(&r, 0, sizeof(r));
    r.base = base;
    r.fd = rx_open(name, abstract, &sa);
    ev = event_new(base, r.fd, EV_READ | EV_PERSIST, rx_cb, &r);
    assert_non_null(ev);
    event_add(ev, NULL);
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "200000", 1); /* pings every 100 ms */
    unsetenv("WATCHDOG_PID");
    n = sdnotify_new(base);
    assert_non_null(n);
    assert_int_equal(sdnotify_watchdog_usec(n), 200000);
    /* Nothing before ready: not READY=1, no ping. */
    run_for(base, 300);
    assert_int_equal(r.n, 0);
    assert_int_equal(sdnotify_ready(n), 0);
    r.want_pings = 6;
    run_for(base, WAIT_LIMIT_S * 1000);
    assert_true(r.n >= 7);
    assert_string_equal(r.msgs[0], "READY=1");
    assert_true(r.pings >= 6);
    /* Five gaps of about 100 ms (the first ping is sent at once). */
    gap = (double)(r.last_ping.tv_sec - r.first_ping.tv_sec) +
          (double)(r.last_ping.tv_nsec - r.first_ping.tv_nsec) / 1e9;
    assert_true(gap >= 0.45);
    /* Stopping: once, then the pings end. */
    sdnotify_stopping(n);
    sdnotify_stopping(n);
    r.want_pings = 0;
    run_for(base, 400);
    before = r.n;
    assert_string_equal(r.msgs[before - 1], "STOPPING=1");
    assert_string_not_equal(r.msgs[before - 2], "STOPPING=1");
    run_for(base, 300);
    assert_int_equal(r.n, before);
    sdnotify_free(n);
    event_free(ev);
    close(r.fd);
    if (!abstract) {
        unlink(name);
    }
    event_base_free(base);
}

static void
test_path_socket(void **state)
{
    char name[64];

    (void)state;
    snprintf(name, sizeof(name), "/tmp/test_sdnotify.%ld", (long)getpid());
    one_socket(name, 0);
}

static void
test_abstract_socket(void **state)
{
    char name[64];

    (void)state;
    snprintf(name, sizeof(name), "@test_sdnotify/%ld", (long)getpid());
    one_socket(name, 1);
}

static void
test_not_under_systemd(void **state)
{
    struct event_base *base = event_base_new();
    struct sdnotify *n;
    char name[64];

    (void)state;
    assert_non_null(base);
    unsetenv("NOTIFY_SOCKET");
    setenv("WATCHDOG_USEC", "200000", 1);
    n = sdnotify_new(base);
    assert_non_null(n);
    assert_int_equal(sdnotify_watchdog_usec(n), 0);
    assert_int_equal(sdnotify_send(n, "READY=1"), 1);
    assert_int_equal(sdnotify_ready(n), 1);
    sdnotify_stopping(n);
    sdnotify_free(n);
    assert_int_equal(sdnotify_send(NULL, "READY=1"), 1);
    sdnotify_free(NULL);
    /* A relative NOTIFY_SOCKET is refused, not sent to. */
    setenv("NOTIFY_SOCKET", "relative", 1);
    n = sdnotify_new(base);
    assert_int_equal(sdnotify_send(n, "READY=1"), 1);
    sdnotify_free(n);
    /* Another process's watchdog: READY is sent, no ping is armed. */
    snprintf(name, sizeof(name), "@test_sdnotify_pid/%ld", (long)getpid());
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_PID", "1", 1);
    n = sdnotify_new(base);
    assert_int_equal(sdnotify_watchdog_usec(n), 0);
    sdnotify_free(n);
    /* Nobody listening: a failure, not a crash. */
    unsetenv("WATCHDOG_PID");
    n = sdnotify_new(base);
    assert_int_equal(sdnotify_send(n, "READY=1"), -1);
    sdnotify_free(n);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_watchdog_parse),
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_not_under_systemd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
