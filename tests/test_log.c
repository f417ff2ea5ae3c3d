/*
 * test_log.c: monitor/log.h.  stderr is pointed at a real file; the
 * logger must write RFC 3339 UTC lines (milliseconds, the level) unless
 * $JOURNAL_STREAM names that very file (device:inode), then "<N>message"
 * with syslog priorities and no time.  A JOURNAL_STREAM naming another
 * file (stderr redirected away from the journal) or malformed gives the
 * plain form again.
 */
#define _GNU_SOURCE /* timegm */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/log.h"

struct cap {
    char path[64];
    int fd;    /* the capture file */
    int saved; /* the real stderr */
};

static int
setup(void **state)
{
    struct cap *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    snprintf(c->path, sizeof(c->path), "/tmp/test_log.XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(c->fd, 2), 2);
    *state = c;
    return 0;
}

static int
teardown(void **state)
{
    struct cap *c = *state;

    dup2(c->saved, 2);
    close(c->saved);
    close(c->fd);
    unlink(c->path);
    unsetenv("JOURNAL_STREAM");
    log_init(0);
    free(c);
    return 0;
}

/* What was logged since the last call (the file is emptied). */
static char *
captured(struct cap *c)
{
    static char buf[8192];
    ssize_t n;

    n = pread(c->fd, buf, sizeof(buf) - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_int_equal(ftruncate(c->fd, 0), 0);
    assert_int_equal(lseek(2, 0, SEEK_SET), 0);
    return buf;
}

/* "DEV:INODE" of the file on fd, as systemd writes $JOURNAL_STREAM. */
static void
stream_of(int fd, char *out, size_t outcap)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    snprintf(out, outcap, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

static int
matches(const char *s, const char *re)
{
    regex_t r;
    int ok;

    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
    ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

static void
test_plain(void **state)
{
    struct cap *c = *state;
    const char *ts_re = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                        "[0-9]{2}\\.[0-9]{3}Z ";
    char re[256], *out;
    struct tm tm;
    time_t now = time(NULL), t;

    unsetenv("JOURNAL_STREAM");
    log_init(0);
    assert_false(log_to_journal());
    log_warnx("disk %d%% full", 93);
    log_info("started");
    log_debug("hidden");
    log_errx("stopping");
    errno = ENOENT;
    log_warn("cannot open %s", "x");
    out = captured(c);
    snprintf(re, sizeof(re), "%swarning: disk 93%% full\n", ts_re);
    assert_true(matches(out, re));
    snprintf(re, sizeof(re), "%sinfo: started\n", ts_re);
    assert_true(matches(out, re));
    snprintf(re, sizeof(re), "%serror: stopping\n", ts_re);
    assert_true(matches(out, re));
    snprintf(re, sizeof(re), "%swarning: cannot open x: %s\n", ts_re,
             strerror(ENOENT));
    assert_true(matches(out, re));
    assert_null(strstr(out, "hidden"));
    assert_null(strstr(out, "<4>"));
    /* The time is now, in UTC. */
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%S", &tm));
    t = timegm(&tm);
    assert_true(t >= now - 5 && t <= now + 5);
    /* Debug when verbose; a message is one line. */
    log_init(1);
    log_debug("a\nforged: line\r");
    out = captured(c);
    snprintf(re, sizeof(re), "%sdebug: a forged: line \n$", ts_re);
    assert_true(matches(out, re));
}

static void
test_journal(void **state)
{
    struct cap *c = *state;
    char js[64], *out;

    stream_of(2, js, sizeof(js));
    setenv("JOURNAL_STREAM", js, 1);
    log_init(1);
    assert_true(log_to_journal());
    log_warnx("disk %d%% full", 93);
    log_info("started");
    log_debug("details");
    log_errx("fatal: %s", "store");
    errno = EACCES;
    log_warn("cannot open %s", "x");
    out = captured(c);
    assert_string_equal(out, "<4>disk 93% full\n"
                             "<6>started\n"
                             "<7>details\n"
                             "<3>fatal: store\n"
                             "<4>cannot open x: Permission denied\n");
}

static void
test_journal_other_file(void **state)
{
    struct cap *c = *state;
    char js[64], *out;
    int fd = open("/dev/null", O_RDONLY);

    (void)c;
    assert_true(fd >= 0);
    /* The journal is fd's stream, but stderr was redirected to a file. */
    stream_of(fd, js, sizeof(js));
    close(fd);
    setenv("JOURNAL_STREAM", js, 1);
    log_init(0);
    assert_false(log_to_journal());
    log_info("to a file");
    out = captured(c);
    assert_true(matches(out, "^[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z info: to a "
                             "file\n$"));
}

static void
test_stream_parse(void **state)
{
    struct cap *c = *state;
    struct stat st;
    char js[64], bad[96];
    static const char *const malformed[] = {
        "",
        ":",
        "1:",
        ":2",
        "x:1",
        "1:2x",
        " 1:2",
        "1:2 ",
        "1::2",
        "-1:2",
        "99999999999999999999999:1",
        NULL,
    };
    size_t i;

    assert_int_equal(fstat(c->fd, &st), 0);
    stream_of(c->fd, js, sizeof(js));
    assert_true(log_stream_is_journal(js, c->fd));
    assert_false(log_stream_is_journal(NULL, c->fd));
    for (i = 0; malformed[i] != NULL; i++) {
        assert_false(log_stream_is_journal(malformed[i], c->fd));
    }
    /* Right device, wrong inode; right inode, wrong device. */
    snprintf(bad, sizeof(bad), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + 1);
    assert_false(log_stream_is_journal(bad, c->fd));
    snprintf(bad, sizeof(bad), "%llu:%llu", (unsigned long long)st.st_dev + 1,
             (unsigned long long)st.st_ino);
    assert_false(log_stream_is_journal(bad, c->fd));
    /* A closed descriptor is not the journal. */
    assert_false(log_stream_is_journal(js, 987));
}

static void
test_long_message(void **state)
{
    struct cap *c = *state;
    char big[5000], *out;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    unsetenv("JOURNAL_STREAM");
    log_init(0);
    log_info("%s", big);
    log_info("next");
    out = captured(c);
    /* Cut, but still one line, and the next one is whole. */
    assert_true(matches(out, "^[^\n]+ info: x+\n[^\n]+ info: next\n$"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_other_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
