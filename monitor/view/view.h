/*
 * view.h: the one read model (issue 12).  `status` (text and
 * `--format json`), the status server's /api/v1/status, /readyz and
 * /metrics, the dashboard and the reports read the store through this
 * view only, so they cannot disagree.
 *
 * The status document (schema "tlogwatch.status/v1"), as returned by
 * view_status_json(); times are RFC 3339 UTC strings, absent values are
 * JSON null:
 *
 * {
 *   "schema": "tlogwatch.status/v1",
 *   "generated_at": "2026-12-04T19:00:00Z",
 *   "logs": [{
 *     "name", "kind", "url",          as configured (log URLs hold no secret)
 *     "shards": [{ "origin", "frozen": bool,
 *        "verified_size", "verified_root" (hex), "verified_at",
 *        "cursor" (virtual), "shard_cursor", "lag",
 *        "entries_scanned", "checkpoints_verified", "proofs_verified",
 *        "root_checks_passed" }],     empty when never reached
 *     "verified_size", "cursor", "lag"  of the newest shard (null if none)
 *     "last_success", "last_success_age_s", "stale": bool (no success
 *        within the log's stale_after),
 *     "last_error": {"at", "message"} | null,
 *     "recent_errors": [{"at", "message"}]   newest first, at most 10;
 *        recorded by the daemon even for a log that was never reached
 *   }],
 *   "rules": [{ "name", "repository",
 *     "signings": [{                   newest first, at most VIEW_SIGNINGS
 *       "log", "log_index", "uuid", "integrated_time",
 *       "verdict",        the effective verdict, see view_signing_verdict
 *       "allowed": bool,  true only when verdict is "allowed"
 *       "policy_verdict", the verdict the policy gave when it was seen
 *       "alerts": [{"id", "type", "severity", "at"}]  about this entry
 *       "commit", "commit_url", "workflow", "ref", "trigger", "runner",
 *       "run_url",
 *       "pcrs": {"state", "source", "note", "PCR0", "PCR1", "PCR2",
 *                "PCR8"} }] }],
 *   "alerts": { "window_s", "by_severity": {"info", "warning",
 *               "critical"}, "latest": [{"id", "type", "severity",
 *               "at", "summary", "log", "rule"}] },
 *   "outbox": { "pending", "sent", "failed",
 *               "sinks": [{"name", "type", "where" (scheme://host/...),
 *                          "pending", "failed", "last_error"}] },
 *   "history": [{"log", "at", "verified_size", "entries_scanned"}]
 * }
 */
#ifndef TLOGWATCH_VIEW_H
#define TLOGWATCH_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "monitor/store/store.h"

#define VIEW_SIGNINGS 5 /* latest signings per watch rule */

/* The status document for the store's state at `now` (unix seconds).
 * NULL with err set on a store error.  The caller owns the result. */
json_t *view_status_json(struct store *s, const struct config *cfg, int64_t now,
                         char *err, size_t errcap);

/* A signing's effective verdict: the policy's verdict, unless something
 * learned later says otherwise: its PCR outcome ("unknown_pcrs",
 * "pcrs_unavailable", "pcrs_pending") or a later alert of severity
 * warning or above about the same entry.  Only "allowed" is allowed. */
const char *view_signing_verdict(const struct store_signing *row,
                                 const char *const *alert_types,
                                 size_t n_alerts);

#endif
