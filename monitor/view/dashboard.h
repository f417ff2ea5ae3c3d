/*
 * dashboard.h: the status server's `GET /` page (issue 12): one
 * self-contained HTML document rendered from the status document
 * (schema "tlogwatch.status/v1", see view.h).  Inline CSS and an inline
 * SVG chart; no JavaScript and no external resource; it refreshes
 * itself with <meta http-equiv="refresh">.
 *
 * Shows, per log: verified size, cursor lag, last success and its age,
 * the stale flag, the last and recent errors; per watch rule: the latest
 * signings with commit (linked to commit_url), workflow run (run_url),
 * workflow, ref, trigger, runner, PCRs and the effective verdict (an
 * entry that is not allowed says so in text and is never drawn green);
 * the alerts by severity and the latest ones; the outbox; a chart of
 * verified size and entries scanned over time from "history".
 *
 * Invariants: a pure function of its input (no I/O, no clock, no
 * logging).  Every string of the document is untrusted (it comes from a
 * log and from certificates): it is HTML-escaped, cut to
 * DASHBOARD_MAX_STRING bytes, and a URL becomes a link only when it is
 * http:// or https:// (anything else is shown as text).  Lists are cut
 * to named limits and the whole page to opts->max_bytes; a cut page
 * says so and is still well-formed.
 */
#ifndef TLOGWATCH_MONITOR_VIEW_DASHBOARD_H
#define TLOGWATCH_MONITOR_VIEW_DASHBOARD_H

#include <stddef.h>

#include <jansson.h>

#define DASHBOARD_REFRESH_S 30         /* default refresh period */
#define DASHBOARD_MAX_BYTES (2u << 20) /* default page bound: 2 MiB */
#define DASHBOARD_MIN_BYTES 16384      /* smallest max_bytes accepted */
#define DASHBOARD_MAX_STRING 512       /* bytes shown of one string */
#define DASHBOARD_MAX_LOGS 64          /* logs shown */
#define DASHBOARD_MAX_RULES 128        /* rules shown */
#define DASHBOARD_MAX_SIGNINGS 20      /* signings shown per rule */
#define DASHBOARD_MAX_ERRORS 10        /* recent errors shown per log */
#define DASHBOARD_MAX_ALERTS 50        /* latest alerts shown */
#define DASHBOARD_MAX_SINKS 32         /* outbox sinks shown */
#define DASHBOARD_MAX_POINTS 512       /* chart points per log */

struct dashboard_opts {
    const char *title;  /* borrowed; NULL: "tlogwatch" (escaped) */
    unsigned refresh_s; /* 0: no refresh; else the meta refresh period */
    size_t max_bytes;   /* page bound; 0: DASHBOARD_MAX_BYTES */
};

/* Default options: title NULL, refresh DASHBOARD_REFRESH_S, max_bytes 0. */
void dashboard_opts_init(struct dashboard_opts *opts);

/* The dashboard page for `status` (borrowed; a status document).  `opts`
 * may be NULL (defaults).  Returns new: a NUL-terminated HTML document
 * of at most max_bytes bytes (caller frees with free()); *len_out, when
 * not NULL, gets its length.  NULL with err set when `status` is not a
 * "tlogwatch.status/v1" object, max_bytes is below DASHBOARD_MIN_BYTES,
 * or memory runs out.  Missing or mistyped members are shown as "-". */
char *dashboard_html(const json_t *status, const struct dashboard_opts *opts,
                     size_t *len_out, char *err, size_t errcap);

#endif
