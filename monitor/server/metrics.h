/*
 * metrics.h: what the status server says about the daemon, as pure
 * functions of the status document (view.h, "tlogwatch.status/v1"), the
 * followers' in-memory counters (follow.h, struct follower_stats): the
 * Prometheus text of GET /metrics and the verdict of GET /readyz.  Every
 * store figure (alerts by type and severity, PCR lookups pending
 * included) comes from the document, so /metrics and `status` agree.  No I/O,
 * no clock, no logging, so tests feed them documents they write.
 *
 * Metrics (Prometheus text exposition format 0.0.4): every name starts
 * with "tlogwatch_", counters end in "_total", times are seconds, and
 * labels are few-valued: a log name and a sink name (both from the
 * config), an alert type and severity, an HTTP status class, a proof
 * kind.  A log without a verified checkpoint (or cursor) has no sample
 * for it; a document member of the wrong type counts as absent.
 *
 * Readiness: ready when the store is writable and every configured log
 * has a verified checkpoint, a success within its stale_after (the
 * document's "stale" is false) and a cursor lag of at most
 * http.ready_lag; otherwise each failed condition is one reason.
 */
#ifndef TLOGWATCH_MONITOR_SERVER_METRICS_H
#define TLOGWATCH_MONITOR_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/follow/follow.h"

struct config;

#define SERVER_TYPE_MAX 64 /* bytes of an alert type or severity kept */

/* The in-memory counters of one follower. */
struct server_log_stats {
    const char *name; /* borrowed: the log's configured name */
    struct follower_stats stats;
};

/*
 * The /metrics page.  status is a status document (borrowed); logs
 * (n_logs of them, may be NULL when 0) are borrowed; version names the
 * build.  Returns new (free()) NUL-terminated
 * text, its length in *len (may be NULL), or NULL when memory ran out or
 * status is not an object.
 */
char *server_metrics_text(const json_t *status,
                          const struct server_log_stats *logs, size_t n_logs,
                          const char *version, size_t *len);

/*
 * The /readyz verdict for cfg (borrowed: its logs, their stale_after and
 * http.ready_lag) from status (borrowed; NULL: the status could not be
 * read, a reason of its own).  store_error is NULL when the store took a
 * write, else why not.  Appends one string per reason to reasons (a JSON
 * array).  Returns 1 when ready, 0 when not, -1 when memory ran out.
 */
int server_readiness(const json_t *status, const struct config *cfg,
                     const char *store_error, json_t *reasons);

/* Prometheus label value escaping (\\, \", \n) of s into out (cap bytes,
 * cut to fit, NUL-terminated).  Returns out. */
char *server_label_escape(const char *s, char *out, size_t cap);

#endif
