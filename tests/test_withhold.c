/*
 * test_withhold.c: the bookkeeping of units a log does not return
 * (monitor/follow/withhold.h), driven by a clock the test sets: backoff
 * per attempt, the cap, the withheld verdict (once, only when the log
 * answered something else meanwhile), and the bound on tracked units.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "monitor/follow/withhold.h"

#define T0 1000000u /* an arbitrary monotonic start */

static int
setup(void **state)
{
    static struct withhold w;

    withhold_init(&w);
    *state = &w;
    return 0;
}

static int
teardown(void **state)
{
    withhold_free(*state);
    return 0;
}

/* A unit never missed may be asked for; a missed one waits its backoff,
 * which doubles per attempt and stops at the cap. */
static void
test_backoff(void **state)
{
    struct withhold *w = *state;
    uint64_t now = T0, want = WITHHOLD_BACKOFF_BASE_MS;
    unsigned i;

    assert_true(withhold_due(w, 7, now));
    assert_int_equal(withhold_next_due(w), UINT64_MAX);
    for (i = 0; i < 20; i++) {
        assert_int_equal(withhold_missed(w, 7, 200, now, 0), 0);
        assert_int_equal(withhold_next_due(w), now + want);
        assert_false(withhold_due(w, 7, now + want - 1));
        assert_true(withhold_due(w, 7, now + want));
        now += want;
        want = want * 2 > WITHHOLD_BACKOFF_MAX_MS ? WITHHOLD_BACKOFF_MAX_MS
                                                  : want * 2;
    }
    assert_int_equal(withhold_find(w, 7)->attempts, 20);
    /* Other units are not held back by it. */
    assert_true(withhold_due(w, 8, T0));
    withhold_got(w, 7);
    assert_null(withhold_find(w, 7));
    assert_true(withhold_due(w, 7, T0));
}

/* Asked as soon as due, a unit missing for an hour costs few requests:
 * at most one per backoff step, about 60 an hour at the cap. */
static void
test_request_rate(void **state)
{
    struct withhold *w = *state;
    uint64_t now = T0;
    unsigned asks = 0;

    while (now < T0 + 3600u * 1000) {
        if (withhold_due(w, 42, now)) {
            asks++;
            assert_int_equal(withhold_missed(w, 42, 404, now, 0), 0);
        }
        now += 10; /* the pump runs every 10 ms at the most */
    }
    assert_true(asks <= 3600 / (WITHHOLD_BACKOFF_MAX_MS / 1000) + 10);
    assert_true(asks >= 3600 / (WITHHOLD_BACKOFF_MAX_MS / 1000));
}

/* Withheld: missing for after_ms while the log answered meanwhile; once. */
static void
test_verdict(void **state)
{
    struct withhold *w = *state;
    struct withhold_unit *u;
    const uint64_t after = 30000;

    assert_int_equal(withhold_missed(w, 5, 200, T0, 1700000000), 0);
    withhold_answered(w, T0);
    assert_null(withhold_take_overdue(w, after, T0 + after - 1));
    assert_int_equal(withhold_missed(w, 5, 404, T0 + 20000, 1700000020), 0);
    u = withhold_take_overdue(w, after, T0 + after);
    assert_non_null(u);
    assert_int_equal(u->unit, 5);
    assert_int_equal(u->attempts, 2);
    assert_int_equal(u->first_wall, 1700000000);
    assert_int_equal(u->last_wall, 1700000020);
    assert_int_equal(u->last_status, 404);
    /* Reported once. */
    assert_null(withhold_take_overdue(w, after, T0 + 10 * after));
}

/* A log that answers nothing is unreachable, not withholding. */
static void
test_silent_log_is_not_withholding(void **state)
{
    struct withhold *w = *state;

    withhold_answered(w, T0 - 1);
    assert_int_equal(withhold_missed(w, 9, 0, T0, 0), 0);
    assert_null(withhold_take_overdue(w, 1000, T0 + 5000));
    withhold_answered(w, T0 + 6000);
    assert_non_null(withhold_take_overdue(w, 1000, T0 + 6000));
}

/* A unit returned before the deadline is never reported; the oldest
 * miss is the one once gives up on. */
static void
test_got_and_oldest(void **state)
{
    struct withhold *w = *state;

    assert_int_equal(withhold_oldest_ms(w), UINT64_MAX);
    assert_int_equal(withhold_missed(w, 3, 200, T0 + 50, 0), 0);
    assert_int_equal(withhold_missed(w, 1, 200, T0, 0), 0);
    assert_int_equal(withhold_missed(w, 2, 200, T0 + 100, 0), 0);
    assert_int_equal(withhold_oldest_ms(w), T0);
    assert_int_equal(withhold_oldest_unit(w), 1);
    withhold_got(w, 1);
    assert_int_equal(withhold_oldest_unit(w), 3);
    withhold_answered(w, T0 + 200);
    withhold_got(w, 3);
    withhold_got(w, 2);
    assert_null(withhold_take_overdue(w, 10, T0 + 100000));
    withhold_clear(w);
    assert_int_equal(withhold_next_due(w), UINT64_MAX);
}

/* The number of units tracked is bounded. */
static void
test_bound(void **state)
{
    struct withhold *w = *state;
    uint64_t i;

    for (i = 0; i < WITHHOLD_MAX; i++) {
        assert_int_equal(withhold_missed(w, i, 200, T0, 0), 0);
    }
    assert_int_equal(withhold_missed(w, WITHHOLD_MAX, 200, T0, 0), -1);
    /* Known units are still updated. */
    assert_int_equal(withhold_missed(w, 0, 200, T0, 0), 0);
    assert_int_equal(withhold_find(w, 0)->attempts, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_log_is_not_withholding,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_got_and_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
