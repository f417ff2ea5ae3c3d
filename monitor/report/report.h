/*
 * report.h: the consistency report an auditor reads (issue 6 "Reports"):
 * one report model built from the store over a period [since, until),
 * rendered as Markdown, JSON (schema tlogwatch.report/v1) or one
 * self-contained HTML page (inline CSS, inline SVG charts of tree growth
 * and signings; no external resource, no JavaScript).
 *
 * What it holds:
 *  - per log shard: the status now (verified size and root, cursor, lag,
 *    last success, last error, counters since monitoring began), and in
 *    the period: the first and last verified checkpoints (signed notes,
 *    sizes, roots: the evidence), how many checkpoints and consistency
 *    proofs were verified, the chain of checkpoints with the proof that
 *    linked each to the one before (the oldest REPORT_MAX_CHAIN, JSON
 *    only: enough to re-check every link with `tlogwatch verify
 *    consistency`), the recent errors (the store keeps the
 *    STORE_RECENT_ERRORS newest only)
 *    and the log alerts raised (log.* only), with the conflicting signed
 *    notes that log.inconsistent and log.rollback carry as evidence;
 *  - per configured log never reached (no shard row: no checkpoint yet),
 *    the errors the daemon recorded for it by name in the period;
 *  - per watch rule (configured, or seen in the store): the signings
 *    recorded in the period by their effective verdict (monitor/view:
 *    what was learned after a signing was seen, its PCR outcome and
 *    later alerts about its entry, counts; the same verdict as
 *    `status`), the newest ones with commit, workflow, ref, runner and
 *    PCRs, and the alerts by severity;
 *  - the alert counts by type and severity, and the newest alerts.
 *
 * Invariants: the model is a copy (it never points into the store), so
 * it outlives the store it was built from; every figure in it is read
 * from the store, and the period totals are exactly store_counts() over
 * [since, until); the renderers are pure functions of the model.  Every
 * string that came from a log or a certificate is escaped for the
 * output format (HTML entities; Markdown table cells; JSON by jansson).
 */
#ifndef TLOGWATCH_MONITOR_REPORT_H
#define TLOGWATCH_MONITOR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "monitor/store/store.h"

#define REPORT_SCHEMA "tlogwatch.report/v1"

/* Named limits on what one report lists (counts are always complete). */
#define REPORT_MAX_POINTS 1024         /* chart points per log (decimated) */
#define REPORT_MAX_SIGNINGS 50         /* signings listed per rule */
#define REPORT_MAX_SIGNING_SCAN 100000 /* signings read per rule for bins */
#define REPORT_MAX_ALERTS 100          /* alerts listed */
#define REPORT_MAX_RULES 256           /* rules in one report */
#define REPORT_MAX_CHAIN 2048          /* links of evidence per log (oldest) */
#define REPORT_CHART_BINS 24           /* signing histogram bins */
#define REPORT_MAX_EVIDENCE 8 /* conflicting checkpoint pairs shown per log */
#define REPORT_UNCHECKED "unchecked" /* verdict of signings past the scan */

enum report_format {
    REPORT_MD = 0,
    REPORT_JSON,
    REPORT_HTML,
};

struct config;

/* A (name, other name, count) row: alert (type, severity), verdicts. */
struct report_count {
    char *key1; /* owned */
    char *key2; /* owned, may be NULL */
    uint64_t count;
};

/* A verified checkpoint, copied. */
struct report_checkpoint {
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
    int64_t verified_at;
    char *note; /* owned, NUL-terminated */
};

struct report_point {
    int64_t t;
    uint64_t size;
};

/* One verified checkpoint of the period and how it was linked to the
 * previous one: with the two roots, what `tlogwatch verify consistency`
 * needs to check it offline. */
struct report_link {
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
    int64_t verified_at;
    enum store_link link;
    int has_prev;
    uint64_t prev_size;
    uint8_t (*proof)[MERKLE_HASH_LEN]; /* owned, nproof */
    size_t nproof;
};

struct report_error {
    int64_t at;
    char *message; /* owned */
};

/* The signed notes a log alert of the period carries as evidence
 * (log.inconsistent, log.rollback: the verified note and the one that
 * conflicts with it), copied from the alert. */
struct report_evidence {
    char *type; /* owned */
    int64_t at;
    char *old_note, *new_note; /* owned, NULL when the alert has none */
};

struct report_log {
    struct store_log_status st; /* now */
    /* In the period: */
    int has_checkpoints;
    struct report_checkpoint first, last; /* oldest and newest */
    uint64_t checkpoints;                 /* verified (new sizes) */
    uint64_t proofs;                      /* consistency proofs */
    uint64_t tile_links;                  /* roots recomputed from tiles */
    struct report_link *chain; /* owned: the oldest REPORT_MAX_CHAIN */
    size_t nchain;
    struct report_point *points; /* owned, npoints, for the chart */
    size_t npoints;
    uint64_t stride, seen;       /* decimation state while building */
    struct report_error *errors; /* owned, newest first */
    size_t nerrors;
    uint64_t alerts[NOTIFY_CRITICAL + 1]; /* log.* alerts, by severity */
    uint64_t unreachable;                 /* log.unreachable alerts */
    uint64_t stale;                       /* log.stale alerts */
    struct report_evidence *evidence;     /* owned, newest first, at most
                                             REPORT_MAX_EVIDENCE */
    size_t nevidence;
    /* Entries read and root checks made in the period: known only when
     * the counters at its start were given (report_set_baseline). */
    int has_period_counts;
    uint64_t scanned_period, root_checks_period;
};

/* A configured log with no shard in the store (never reached: no
 * checkpoint, so no origin), with the errors the daemon recorded for it
 * by name in the period (store_name_errors_each), newest first. */
struct report_unreached {
    char *name, *url;            /* owned */
    struct report_error *errors; /* owned */
    size_t nerrors;
};

/* A signing, copied; strings owned, NULL when unknown. */
struct report_signing {
    uint64_t log_index;
    int64_t integrated_time;
    int64_t recorded_at;
    char *uuid, *kind, *repository, *workflow_path, *ref, *workflow_sha;
    char *runner_environment, *trigger, *run_invocation_uri;
    char *verdict;        /* the effective verdict (view_signing_verdict) */
    char *policy_verdict; /* the policy's, when it was seen */
    char *pcr0, *pcr1, *pcr2, *pcr8;
    char *pcrs_state, *pcrs_source, *pcrs_note; /* store.h; may be NULL */
};

struct report_rule {
    char *name;        /* owned */
    char *repository;  /* owned; from the config, else from a signing;
                          may be NULL */
    int configured;    /* the rule is in the configuration */
    uint64_t signings; /* recorded in the period */
    /* owned: key1 the effective verdict, count; sorted by verdict.  The
     * newest REPORT_MAX_SIGNING_SCAN signings of the period are read;
     * the rest count as REPORT_UNCHECKED. */
    struct report_count *verdicts;
    size_t nverdicts;
    struct report_signing *list; /* owned: newest first */
    size_t nlist;
    uint64_t alerts[NOTIFY_CRITICAL + 1];
};

struct report_alert {
    char *id, *type, *rule, *summary, *log_name; /* owned; may be NULL */
    enum notify_severity severity;
    int64_t detected_at;
    int has_index;
    uint64_t log_index;
};

#define REPORT_MAX_UNLOGGED 100 /* unlogged certificates listed */

struct report {
    int64_t since, until, generated_at;
    struct store_counts counts; /* store_counts(since, until) */
    uint64_t proofs;            /* consistency proofs, all logs */
    struct report_log *logs;    /* owned */
    size_t nlogs;
    struct report_unreached *unreached; /* owned; configured logs only */
    size_t nunreached;
    struct report_rule *rules; /* owned */
    size_t nrules;
    struct report_count *alert_types; /* owned: type, severity, count */
    size_t nalert_types;
    struct report_alert *alerts; /* owned: newest first */
    size_t nalerts;
    uint64_t alerts_total;
    /* The certificates seen in a CT log that were judged unlogged in
     * [since, until) (no Rekor entry by their deadline), newest first,
     * at most REPORT_MAX_UNLOGGED: a JSON array of the read model's
     * objects (view.h "ct_certificates", with "rule").  Owned. */
    json_t *ct_unlogged;
    /* Signings per bin of [since, until), all rules: allowed / other. */
    uint64_t bins_allowed[REPORT_CHART_BINS];
    uint64_t bins_other[REPORT_CHART_BINS];
};

/*
 * Build the report of [since, until) (since < until) from s.  cfg
 * (borrowed, may be NULL) names the configured watch rules, listed even
 * without signings.  generated_at is the time printed as "generated".
 * Returns new (caller frees with report_free) or NULL with a message in
 * err (errcap bytes).
 */
struct report *report_build(struct store *s, const struct config *cfg,
                            int64_t since, int64_t until, int64_t generated_at,
                            char *err, size_t errcap);
/* report_free(NULL) is a no-op. */
void report_free(struct report *r);

/* Render r.  Returns new NUL-terminated text (free()) or NULL when memory
 * ran out. */
char *report_render(const struct report *r, enum report_format f);
/* The report as a JSON object (what REPORT_JSON prints).  New. */
json_t *report_json(const struct report *r);
/*
 * The cumulative counters of every log in r, as a JSON text to keep (the
 * periodic report stores it in the meta table) and give to the next
 * report's report_set_baseline.  Returns new (free()) or NULL.
 */
char *report_counters(const struct report *r);
/*
 * Fill the per-period entries scanned and root checks of r from the
 * counters text of the report that ended where r begins.  A log absent
 * from it (new since) counts from 0; a text that does not parse is
 * ignored (-1, r unchanged).  Returns 0 or -1.
 */
int report_set_baseline(struct report *r, const char *counters);

/*
 * One sentence with the key figures, for the report.periodic alert.
 * Writes at most cap bytes (NUL-terminated, truncated).  Returns out.
 */
char *report_summary(const struct report *r, char *out, size_t cap);

/* "md", "json", "html"; static. */
const char *report_format_name(enum report_format f);
/* 0, or -1 when name is not one of those. */
int report_format_parse(const char *name, enum report_format *out);

#endif
