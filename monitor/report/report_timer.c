/*
 * report_timer.c: the periodic report of the daemon.  See report_timer.h
 * for what it keeps.  One evtimer on the context's event loop, armed for
 * the end of the current period; each firing makes one report and arms
 * the next (a timer arms its own next deadline).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "config/config.h"
#include "monitor/log.h"
#include "monitor/report/report.h"
#include "monitor/report/report_timer.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "notify/alert.h"

#define REPORT_META_SINCE "report.since"
#define REPORT_META_COUNTERS "report.counters" /* report_counters() */
#define REPORT_MAX_NOTIFY 64 /* sinks a report alert goes to */

struct report_timer {
    struct tlw *t;    /* borrowed: the context that owns this timer */
    struct event *ev; /* owned */
    int64_t since;    /* start of the current period */
};

static const enum report_format report_formats[3] = {REPORT_MD, REPORT_JSON,
                                                     REPORT_HTML};

/* Write len bytes of text to path through path.tmp + rename. */
static int
write_atomic(const char *path, const char *text, size_t len, char *err,
             size_t errlen)
{
    char tmp[4096];
    size_t off = 0;
    int fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    /* 0640 whatever the umask (the daemon's is 077): auditors' group. */
    if (fchmod(fd, 0640) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", tmp,
                     n < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int
report_write_files(const struct report *r, const char *dir, char *paths[3],
                   char *err, size_t errlen)
{
    char stamp[32], path[4096];
    char *made[3] = {NULL, NULL, NULL};
    time_t until = (time_t)r->until;
    struct tm tm;
    size_t i;

    if (gmtime_r(&until, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0) {
        snprintf(err, errlen, "cannot format the report time");
        return -1;
    }
    if (mkdir(dir, 0750) == 0) {
        (void)chmod(dir, 0750); /* whatever the umask, as the files */
    } else if (errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < 3; i++) {
        char *text;
        int rc;

        if ((size_t)snprintf(path, sizeof(path), "%s/report-%s.%s", dir, stamp,
                             report_format_name(report_formats[i])) >=
            sizeof(path)) {
            snprintf(err, errlen, "%s: path too long", dir);
            goto fail;
        }
        text = report_render(r, report_formats[i]);
        if (text == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        rc = write_atomic(path, text, strlen(text), err, errlen);
        free(text);
        if (rc != 0 || (made[i] = strdup(path)) == NULL) {
            if (rc == 0) {
                snprintf(err, errlen, "out of memory");
            }
            goto fail;
        }
    }
    for (i = 0; i < 3; i++) {
        if (paths != NULL) {
            paths[i] = made[i];
        } else {
            free(made[i]);
        }
    }
    return 0;
fail:
    for (i = 0; i < 3; i++) {
        free(made[i]);
    }
    return -1;
}

/* The report.periodic alert of r, with a "report" object: the period,
 * the totals and the files written.  New, or NULL. */
static json_t *
report_alert(const struct report *r, char *const paths[3], int64_t now)
{
    char key[96], summary[1024];
    json_t *a, *doc, *files, *info;
    size_t i;

    snprintf(key, sizeof(key), "report|%lld|%lld", (long long)r->since,
             (long long)r->until);
    report_summary(r, summary, sizeof(summary));
    a = notify_alert_new("report.periodic", key, summary, (time_t)now);
    doc = report_json(r);
    files = json_array();
    if (a == NULL || doc == NULL || files == NULL) {
        goto fail;
    }
    for (i = 0; paths != NULL && i < 3; i++) {
        if (json_array_append_new(files, json_string(paths[i])) != 0) {
            goto fail;
        }
    }
    info = json_pack("{s:O,s:O,s:O}", "period", json_object_get(doc, "period"),
                     "totals", json_object_get(doc, "totals"), "files", files);
    if (info == NULL || notify_alert_set(a, "report", info) != 0) {
        goto fail;
    }
    json_decref(files);
    json_decref(doc);
    return a;
fail:
    json_decref(a);
    json_decref(doc);
    json_decref(files);
    return NULL;
}

/* Record the alert for the report.notify sinks and deliver what is due. */
static int
report_alert_record(struct tlw *t, json_t *alert)
{
    const struct config_report *rc = &t->cfg->report;
    const char *sinks[REPORT_MAX_NOTIFY];
    struct store_alert a;
    char *body = notify_alert_render(alert);
    size_t i;
    int rv;

    if (body == NULL) {
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.id = notify_alert_get_id(alert);
    a.type = notify_alert_get_type(alert);
    a.severity = notify_alert_get_severity(alert);
    a.detected_at = (int64_t)time(NULL);
    a.body = body;
    for (i = 0; i < rc->notify.n && i < REPORT_MAX_NOTIFY; i++) {
        sinks[i] = t->cfg->sinks[rc->notify.v[i]].name;
    }
    a.sinks = sinks;
    a.nsinks = i;
    rv = store_alert_record(t->store, 0, &a, NULL);
    free(body);
    if (rv == 0) {
        tlw_outbox_flush(t);
    }
    return rv;
}

static void report_timer_cb(evutil_socket_t fd, short what, void *arg);

static void
report_timer_arm(struct report_timer *rt, uint64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    if (evtimer_add(rt->ev, &tv) != 0) {
        log_warnx("report: cannot arm the timer");
    }
}

/* Milliseconds until the current period ends (0 when overdue). */
static uint64_t
report_timer_delay(const struct report_timer *rt, int64_t now)
{
    int64_t end = rt->since + (int64_t)(rt->t->cfg->report.every_ms / 1000);

    return end > now ? (uint64_t)(end - now) * 1000 : 0;
}

/* Keep the counters of r for the next report's period figures. */
static int
report_counters_save(struct tlw *t, const struct report *r)
{
    char *text = report_counters(r);
    int rv;

    if (text == NULL) {
        log_warnx("report: out of memory");
        return -1;
    }
    rv = store_meta_set(t->store, REPORT_META_COUNTERS, text);
    free(text);
    if (rv != 0) {
        log_warnx("report: %s", store_errmsg(t->store));
    }
    return rv;
}

/* Make the report of [rt->since, now).  0, or -1 (logged). */
static int
report_timer_make(struct report_timer *rt, int64_t now)
{
    struct tlw *t = rt->t;
    const char *dir = t->cfg->report.dir;
    char err[512], *paths[3] = {NULL, NULL, NULL}, *counters = NULL;
    struct report *r;
    json_t *alert = NULL;
    size_t i;
    int rv = -1;

    r = report_build(t->store, t->cfg, rt->since, now, now, err, sizeof(err));
    if (r == NULL) {
        log_warnx("report: %s", err);
        return -1;
    }
    if (store_meta_get(t->store, REPORT_META_COUNTERS, &counters) != 0) {
        log_warnx("report: %s", store_errmsg(t->store));
        goto out;
    }
    if (counters != NULL && report_set_baseline(r, counters) != 0) {
        log_warnx("report: ignoring malformed %s", REPORT_META_COUNTERS);
    }
    if (dir != NULL &&
        report_write_files(r, dir, paths, err, sizeof(err)) != 0) {
        log_warnx("report: %s", err);
        goto out;
    }
    alert = report_alert(r, dir != NULL ? paths : NULL, now);
    if (alert == NULL || report_alert_record(t, alert) != 0) {
        log_warnx("report: cannot record the report.periodic alert: %s",
                  alert == NULL ? "out of memory" : store_errmsg(t->store));
        goto out;
    }
    for (i = 0; i < 3; i++) {
        if (store_report_record(t->store, now, rt->since, now,
                                report_format_name(report_formats[i]),
                                paths[i]) != 0) {
            log_warnx("report: %s", store_errmsg(t->store));
            goto out;
        }
    }
    if (report_counters_save(t, r) != 0) {
        goto out;
    }
    log_info("report: %s",
             json_string_value(json_object_get(alert, "summary")));
    rt->since = now;
    rv = 0;
out:
    free(counters);
    json_decref(alert);
    for (i = 0; i < 3; i++) {
        free(paths[i]);
    }
    report_free(r);
    return rv;
}

static void
report_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct report_timer *rt = arg;
    int64_t now = (int64_t)time(NULL);
    uint64_t delay;

    (void)fd;
    (void)what;
    if (rt->t->cfg->report.every_ms == 0) {
        return; /* turned off by a reload */
    }
    delay = report_timer_delay(rt, now);
    if (delay == 0 && now > rt->since) {
        delay = report_timer_make(rt, now) == 0 ? report_timer_delay(rt, now)
                                                : REPORT_TIMER_RETRY_MS;
    }
    report_timer_arm(rt, delay > 0 ? delay : 1000);
}

int
report_timer_start(struct tlw *t, struct report_timer **out)
{
    struct report_timer *rt;
    int64_t now = (int64_t)time(NULL), v;
    int found = 0;

    *out = NULL;
    if (t->cfg->report.every_ms == 0) {
        return 0;
    }
    rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        log_warnx("report: out of memory");
        return -1;
    }
    rt->t = t;
    if (store_report_last(t->store, &found, &v) != 0) {
        goto store_err;
    }
    if (!found) {
        if (store_meta_get_int(t->store, REPORT_META_SINCE, &found, &v) != 0) {
            goto store_err;
        }
        if (!found) {
            /* The first period starts now, from today's counters. */
            char err[256];
            struct report *r0;

            v = now;
            r0 = report_build(t->store, t->cfg, now - 1, now, now, err,
                              sizeof(err));
            if (r0 == NULL) {
                log_warnx("report: %s", err);
                free(rt);
                return -1;
            }
            if (report_counters_save(t, r0) != 0 ||
                store_meta_set_int(t->store, REPORT_META_SINCE, v) != 0) {
                report_free(r0);
                goto store_err;
            }
            report_free(r0);
        }
    }
    rt->since = v;
    rt->ev = evtimer_new(t->base, report_timer_cb, rt);
    if (rt->ev == NULL) {
        log_warnx("report: cannot create the timer");
        free(rt);
        return -1;
    }
    report_timer_arm(rt, report_timer_delay(rt, now));
    *out = rt;
    return 0;
store_err:
    log_warnx("report: %s", store_errmsg(t->store));
    free(rt);
    return -1;
}

void
report_timer_free(struct report_timer *rt)
{
    if (rt == NULL) {
        return;
    }
    if (rt->ev != NULL) {
        event_free(rt->ev);
    }
    free(rt);
}
