/*
 * report_timer.h: the daemon's periodic report (config report.every).
 * Every period it builds the report of [since, until) from the store,
 * writes it to report.dir as report-<until>.{md,json,html} (until as
 * UTC YYYYMMDDTHHMMSSZ), raises a report.periodic info alert whose
 * summary holds the key figures, delivered to the report.notify sinks
 * through the outbox (to exactly those sinks, whatever their
 * min_severity: listing a sink there asks for the reports), and records
 * the report in the store.
 *
 * Invariants: periods follow each other without gap or overlap across
 * restarts: the next period starts where the last recorded report ended
 * (store_report_last), or, before the first report, at the time the
 * daemon first ran with reports on (meta key "report.since"); a report
 * that is overdue when the daemon starts is made at once.  A file is
 * written under a temporary name and renamed, so a reader never sees a
 * half-written report.  The counters of each log at the end of a period
 * (meta key "report.counters") give the next report its entries scanned
 * and root checks made in the period.  The alert is recorded before the report,
 * so a crash in between repeats the report rather than losing its alert. The
 * timer reads t->cfg each time it fires (a reload changes the period or the
 * directory from the next report on).
 */
#ifndef TLOGWATCH_MONITOR_REPORT_TIMER_H
#define TLOGWATCH_MONITOR_REPORT_TIMER_H

#include <stddef.h>
#include <stdint.h>

struct tlw;
struct report;

/* Retry delay after a failed report (disk full, store busy). */
#define REPORT_TIMER_RETRY_MS (60ULL * 1000)

struct report_timer;

/*
 * Arm the periodic report of t (t->cfg->report.every_ms > 0; otherwise
 * *out = NULL and nothing is armed).  *out: new (caller frees with
 * report_timer_free, before t->base).  Returns 0 or -1 (store error or
 * no memory; logged).
 */
int report_timer_start(struct tlw *t, struct report_timer **out);
/* Disarm and free; NULL is a no-op. */
void report_timer_free(struct report_timer *rt);

/*
 * Write r (borrowed) in the three formats into dir as
 * report-<until>.{md,json,html}, each through a temporary file renamed
 * into place.  paths (may be NULL) receives the three file names (new,
 * caller frees each with free()).  Returns 0, or -1 with a message in
 * err (and no path returned).
 */
int report_write_files(const struct report *r, const char *dir, char *paths[3],
                       char *err, size_t errlen);

#endif
