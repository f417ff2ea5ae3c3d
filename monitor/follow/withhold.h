/*
 * withhold.h: the units of a log (v1: an entry index; v2: an entry
 * bundle) that a verified checkpoint commits to and that the log has not
 * returned when asked.
 *
 * Pure bookkeeping, no I/O: the caller passes the time (monotonic
 * milliseconds for pacing and deadlines, wall seconds for evidence).
 *
 * Invariants:
 *  - a unit asked for and not returned is re-asked no sooner than its
 *    backoff: WITHHOLD_BACKOFF_BASE_MS doubled per attempt, capped at
 *    WITHHOLD_BACKOFF_MAX_MS, so a log that keeps leaving it out costs at
 *    most one request per backoff step, never a loop without delay;
 *  - a unit is reported withheld (once) when it has been missing for
 *    withhold_after and the log answered something else in the meantime
 *    (a log that answers nothing is unreachable, not withholding);
 *  - at most WITHHOLD_MAX units are tracked: the caller never has more in
 *    flight or pending than its reorder window, far below it.
 */
#ifndef TLOGWATCH_MONITOR_FOLLOW_WITHHOLD_H
#define TLOGWATCH_MONITOR_FOLLOW_WITHHOLD_H

#include <stddef.h>
#include <stdint.h>

#define WITHHOLD_BACKOFF_BASE_MS 500
#define WITHHOLD_BACKOFF_MAX_MS 60000
#define WITHHOLD_MAX 4096

/* One unit not returned yet. */
struct withhold_unit {
    uint64_t unit;      /* v1: index; v2: bundle number */
    uint64_t first_ms;  /* monotonic: first miss */
    uint64_t due_ms;    /* monotonic: not to be asked before */
    int64_t first_wall; /* wall seconds: first and last attempt */
    int64_t last_wall;
    unsigned attempts; /* answers that lacked it */
    int last_status;   /* HTTP status of the last answer, 0: none */
    int alerted;       /* reported withheld */
};

struct withhold {
    struct withhold_unit *v; /* owned, n of cap */
    size_t n, cap;
    uint64_t last_answer_ms; /* monotonic: the log last answered usefully */
};

/* Empty; withhold_free releases.  withhold_free(NULL) is a no-op. */
void withhold_init(struct withhold *w);
void withhold_free(struct withhold *w);
/* Forget every unit (the follower went back to its committed state). */
void withhold_clear(struct withhold *w);

/*
 * The log was asked for unit and did not return it; status is the HTTP
 * status of its answer (200 when the answer left it out, 0 when no
 * answer came).  Schedules the next attempt.  0, or -1 when WITHHOLD_MAX
 * units are tracked already (the unit is then not tracked).
 */
int withhold_missed(struct withhold *w, uint64_t unit, int status,
                    uint64_t now_ms, int64_t now_wall);
/* The log returned unit: it is no longer missing. */
void withhold_got(struct withhold *w, uint64_t unit);
/* The log answered something usefully (another unit, a checkpoint). */
void withhold_answered(struct withhold *w, uint64_t now_ms);

/* The tracked unit, or NULL (borrowed: valid until the next call). */
struct withhold_unit *withhold_find(struct withhold *w, uint64_t unit);
/* May unit be asked for now?  Untracked units may. */
int withhold_due(const struct withhold *w, uint64_t unit, uint64_t now_ms);
/* The earliest first miss of a tracked unit (monotonic), and that unit;
 * UINT64_MAX when none. */
uint64_t withhold_oldest_ms(const struct withhold *w);
uint64_t withhold_oldest_unit(const struct withhold *w);
/* The earliest due time of a tracked unit; UINT64_MAX when none. */
uint64_t withhold_next_due(const struct withhold *w);

/*
 * A unit to report now: missing for at least after_ms while the log
 * answered since it went missing, and not reported yet.  Marks it
 * reported and returns it (borrowed), or NULL.
 */
struct withhold_unit *withhold_take_overdue(struct withhold *w,
                                            uint64_t after_ms, uint64_t now_ms);

#endif
