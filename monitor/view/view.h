/*
 * view.h: the one read model (issue 12).  `status` (text and
 * `--format json`), the status server's /api/v1/status, /readyz and
 * /metrics and the dashboard read the store through this document; the
 * reports (a period's figures) take every signing's verdict from
 * view_signing_verdict and view_signing_alerts; so none can disagree.
 * Every list is bounded and every query runs on an index: one read costs
 * a few milliseconds on a store of 100,000 alerts (tests/bench_view.c).
 *
 * The status document (schema "tlogwatch.status/v1"), as returned by
 * view_status_json(); times are RFC 3339 UTC strings, absent values are
 * JSON null; every list is bounded:
 *
 * {
 *   "schema": "tlogwatch.status/v1",
 *   "generated_at": "2026-12-04T19:00:00Z",
 *   "logs": [{                        configured logs in config order,
 *                                     then names only the store has
 *                                     (kind and url null)
 *     "name", "kind", "url",          as configured (log URLs hold no secret)
 *     "shards": [{ "origin", "frozen": bool,
 *        "verified_size", "verified_root" (hex), "verified_at",
 *        "cursor" (virtual), "shard_cursor", "lag",
 *        "entries_scanned", "checkpoints_verified", "proofs_verified",
 *        "root_checks_passed" }],     empty when never reached
 *     "verified_size", "cursor", "lag"  of the newest shard (the last
 *        one not frozen; null if none)
 *     "last_success", "last_success_age_s"  newest of its shards,
 *     "stale": bool (a configured log with neither a successful poll
 *        nor a new verified checkpoint within its stale_after),
 *     "last_error": {"at", "message"} | null   the newest of recent_errors,
 *     "recent_errors": [{"at", "message"}]   newest first, at most 10,
 *        of every shard, and those the daemon recorded by name for a log
 *        never reached (store_name_error)
 *   }],
 *   "rules": [{ "name", "repository",   configured watch rules, in order
 *     "signings": [{                   newest first, at most VIEW_SIGNINGS
 *       "log", "log_index", "uuid", "integrated_time",
 *       "verdict",        the effective verdict, see view_signing_verdict
 *       "allowed": bool,  true only when verdict is "allowed"
 *       "policy_verdict", the verdict the policy gave when it was seen
 *       "alerts": [{"id", "type", "severity", "at"}]  about this entry
 *                         (this rule or none), most severe first, at most
 *                         VIEW_ALERT_TYPES
 *       "commit", "commit_url" (https://github.com/OWNER/REPO/commit/SHA,
 *       null unless both look right), "workflow", "ref", "trigger",
 *       "runner", "run_url" (https:// only, else null),
 *       "pcrs": {"state", "source", "note", "PCR0", "PCR1", "PCR2",
 *                "PCR8"} }],
 *     "ct_counts": {"pending", "logged", "unlogged"}   the rule's
 *                      certificates seen in a CT log, all kept, by state
 *     "ct_certificates": [{            seen in a CT log (Fulcio's), newest
 *                                      first, at most VIEW_SIGNINGS
 *       "rule", "ct_log", "ct_log_index", "entry_type" ("precert" |
 *       "x509"),
 *       "leaf_hash", "cert_sha256", "link_id",
 *       "state",          "pending" (waiting for its Rekor entry until
 *                         deadline), "logged" or "unlogged"
 *       "first_seen", "not_before", "deadline" (NotBefore +
 *       unlogged_after), "judged_at" (logged or unlogged since; null
 *       while pending),
 *       "verdict", "allowed", "policy_verdict"   see view_ct_verdict
 *       "alerts"          about its CT entry, as a signing's
 *       "commit", "commit_url", "workflow", "ref", "trigger", "runner",
 *       "run_url"         its certificate's claims, as a signing's
 *       "signing": {"log", "log_index", "uuid", "verdict"} | null   the
 *                         Rekor signing that logged it (same link id and
 *                         rule), with that signing's effective verdict
 *     }] }],
 *   "alerts": { "window_s" (86400), "by_severity": {"info", "warning",
 *               "critical"} (detected in the last window_s),
 *               "latest": [{"id", "type", "severity", "at", "summary",
 *               "log", "rule"}] (the newest 10, whenever),
 *               "by_type": [{"type", "severity", "count"}] (all alerts in
 *               the store, whenever detected, per (type, severity),
 *               ordered by type, at most 128 pairs) },
 *   "pcr_lookups_pending": signings (all time) whose PCR lookup in the
 *               registry is still pending,
 *   "outbox": { "pending", "sent", "failed"  (all deliveries),
 *               "sinks": [{"name", "type", "where", "pending", "failed",
 *                          "last_error"}] }   configured sinks, in order;
 *               where: "scheme://host[:port]/..." for a URL, the
 *               executable for exec, null for stdout; last_error: the
 *               class of the error of the delivery attempted last (up to
 *               its first ':', e.g. "HTTP 500"), never a receiver's reply
 *   "history": [{"log", "origin", "at", "verified_size",
 *                "entries_scanned"}]   per shard, oldest first: samples
 *               taken on successful polls (at most one per 5 minutes)
 *               in the last day, at most 288 per shard
 * }
 */
#ifndef TLOGWATCH_VIEW_H
#define TLOGWATCH_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "monitor/store/store.h"

#define VIEW_SCHEMA "tlogwatch.status/v1"
#define VIEW_SIGNINGS 5    /* latest signings per watch rule */
#define VIEW_ALERT_TYPES 8 /* alert types a verdict looks at, per signing */

/* The status document for the store's state at `now` (unix seconds).
 * NULL with err set on a store error.  The caller owns the result. */
json_t *view_status_json(struct store *s, const struct config *cfg, int64_t now,
                         char *err, size_t errcap);

/*
 * A signing's effective verdict: the policy's verdict when it is not
 * "allowed"; else, when an alert of severity warning or above is about
 * the same entry (and the same rule, or no rule), the first of
 * alert_types (the caller lists them most severe first, as
 * view_signing_alerts does) without its "signing." / "log." prefix,
 * e.g. "unknown_pcrs", "pcrs_unavailable"; else the PCR lookup's
 * state: "pcrs_pending" or "pcrs_unavailable"; else "allowed".  Only
 * "allowed" is allowed.  Returns a string borrowed from row,
 * alert_types or static storage.
 */
const char *view_signing_verdict(const struct store_signing *row,
                                 const char *const *alert_types,
                                 size_t n_alerts);
/*
 * A CT certificate's effective verdict, told as its alerts tell it: the
 * policy's verdict when not "allowed" (e.g. "self_hosted_runner",
 * raised from the CT log); else the first of alert_types (severity
 * warning or above, about its CT entry, most severe first) without its
 * prefix, e.g. "unlogged_certificate"; else by state: "unlogged" ->
 * "unlogged_certificate", "pending" -> "rekor_pending", "logged" ->
 * signing_verdict (the effective verdict of the Rekor signing that
 * logged it) or "allowed" when NULL.  Only "allowed" is allowed.
 * Returns a string borrowed from its arguments or static storage.
 */
const char *view_ct_verdict(const struct store_ct_cert *row,
                            const char *const *alert_types, size_t n_alerts,
                            const char *signing_verdict);
/*
 * The CT certificates judged unlogged in [since, until) (judged_at),
 * newest first, at most limit (0: all): a new JSON array of the objects
 * "ct_certificates" holds in the status document.  NULL with err set on
 * a store error.  For the reports.
 */
json_t *view_ct_unlogged(struct store *s, const struct config *cfg,
                         int64_t since, int64_t until, size_t limit, char *err,
                         size_t errcap);
/* 1 when verdict is "allowed", else 0 (NULL included). */
int view_verdict_allowed(const char *verdict);
/*
 * The types of the alerts of severity warning or above about row's
 * entry (row->log_id, log_index, rule), most severe first, at most cap
 * (VIEW_ALERT_TYPES is enough): new strings in types[0..*n) that the
 * caller frees with free().  0, or -1 on a store error (store_errmsg)
 * or when out of memory, with nothing to free.
 */
int view_signing_alerts(struct store *s, const struct store_signing *row,
                        char **types, size_t cap, size_t *n);

struct config_sink;
/* Where a sink delivers, safe to show: scheme://host[:port]/... for a
 * URL (no path, query or userinfo), the executable for exec, "" for
 * stdout.  Writes at most cap bytes (NUL-terminated); returns out. */
char *view_sink_where(const struct config_sink *cs, char *out, size_t cap);
/* A delivery's stored error, safe to show: up to its first ':' (the
 * class, e.g. "HTTP 500"; never the receiver's reply), printable ASCII.
 * Returns out. */
char *view_delivery_error(const char *error, char *out, size_t cap);

#endif
