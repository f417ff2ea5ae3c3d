/*
 * withhold.c: units a log has not returned, with their backoff and the
 * withheld verdict.  See withhold.h for the invariants.
 *
 * A linear array: the follower tracks at most its reorder window of
 * units, and every operation is O(n) over it.
 */
#include <stdlib.h>
#include <string.h>

#include "monitor/follow/withhold.h"

void
withhold_init(struct withhold *w)
{
    memset(w, 0, sizeof(*w));
}

void
withhold_free(struct withhold *w)
{
    if (w == NULL) {
        return;
    }
    free(w->v);
    memset(w, 0, sizeof(*w));
}

void
withhold_clear(struct withhold *w)
{
    w->n = 0;
}

struct withhold_unit *
withhold_find(struct withhold *w, uint64_t unit)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        if (w->v[i].unit == unit) {
            return &w->v[i];
        }
    }
    return NULL;
}

static uint64_t
backoff_ms(unsigned attempts)
{
    uint64_t d = WITHHOLD_BACKOFF_BASE_MS;
    unsigned i;

    for (i = 1; i < attempts && d < WITHHOLD_BACKOFF_MAX_MS; i++) {
        d *= 2;
    }
    return d > WITHHOLD_BACKOFF_MAX_MS ? WITHHOLD_BACKOFF_MAX_MS : d;
}

int
withhold_missed(struct withhold *w, uint64_t unit, int status, uint64_t now_ms,
                int64_t now_wall)
{
    struct withhold_unit *u = withhold_find(w, unit);

    if (u == NULL) {
        if (w->n == WITHHOLD_MAX) {
            return -1;
        }
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 16;
            struct withhold_unit *nv;
            if (cap > WITHHOLD_MAX) {
                cap = WITHHOLD_MAX;
            }
            nv = realloc(w->v, cap * sizeof(*nv));
            if (nv == NULL) {
                return -1;
            }
            w->v = nv;
            w->cap = cap;
        }
        u = &w->v[w->n++];
        memset(u, 0, sizeof(*u));
        u->unit = unit;
        u->first_ms = now_ms;
        u->first_wall = now_wall;
    }
    if (u->attempts < 1000000u) {
        u->attempts++;
    }
    u->last_wall = now_wall;
    u->last_status = status;
    u->due_ms = now_ms + backoff_ms(u->attempts);
    return 0;
}

void
withhold_got(struct withhold *w, uint64_t unit)
{
    struct withhold_unit *u = withhold_find(w, unit);

    if (u != NULL) {
        *u = w->v[--w->n];
    }
}

void
withhold_answered(struct withhold *w, uint64_t now_ms)
{
    w->last_answer_ms = now_ms;
}

int
withhold_due(const struct withhold *w, uint64_t unit, uint64_t now_ms)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        if (w->v[i].unit == unit) {
            return now_ms >= w->v[i].due_ms;
        }
    }
    return 1;
}

static const struct withhold_unit *
oldest(const struct withhold *w)
{
    const struct withhold_unit *o = NULL;
    size_t i;

    for (i = 0; i < w->n; i++) {
        if (o == NULL || w->v[i].first_ms < o->first_ms) {
            o = &w->v[i];
        }
    }
    return o;
}

uint64_t
withhold_oldest_ms(const struct withhold *w)
{
    const struct withhold_unit *o = oldest(w);

    return o != NULL ? o->first_ms : UINT64_MAX;
}

uint64_t
withhold_oldest_unit(const struct withhold *w)
{
    const struct withhold_unit *o = oldest(w);

    return o != NULL ? o->unit : UINT64_MAX;
}

uint64_t
withhold_next_due(const struct withhold *w)
{
    uint64_t min = UINT64_MAX;
    size_t i;

    for (i = 0; i < w->n; i++) {
        if (w->v[i].due_ms < min) {
            min = w->v[i].due_ms;
        }
    }
    return min;
}

struct withhold_unit *
withhold_take_overdue(struct withhold *w, uint64_t after_ms, uint64_t now_ms)
{
    size_t i;

    for (i = 0; i < w->n; i++) {
        struct withhold_unit *u = &w->v[i];
        if (!u->alerted && now_ms >= u->first_ms &&
            now_ms - u->first_ms >= after_ms &&
            w->last_answer_ms >= u->first_ms) {
            u->alerted = 1;
            return u;
        }
    }
    return NULL;
}
