/*
 * metrics.c: the text of GET /metrics and the verdict of GET /readyz
 * (metrics.h), pure functions of the status document and the counters
 * they are given.  Each metric family is written whole (HELP, TYPE, then
 * its samples), as the exposition format requires.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "monitor/server/metrics.h"

#define MET_LABEL_MAX 256 /* bytes of one escaped label value */

/* A growing text buffer; failed sticks once memory runs out. */
struct mbuf {
    char *p;
    size_t len, cap;
    int failed;
};

static void mb_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mb_printf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed) {
        return;
    }
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap - b->len <= (size_t)n) {
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

char *
server_label_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;

    if (cap == 0) {
        return out;
    }
    for (; s != NULL && *s != '\0'; s++) {
        const char *rep = NULL;
        char one[2] = {*s, '\0'};

        if (*s == '\\') {
            rep = "\\\\";
        } else if (*s == '"') {
            rep = "\\\"";
        } else if (*s == '\n') {
            rep = "\\n";
        } else {
            rep = one;
        }
        if (o + strlen(rep) >= cap) {
            break;
        }
        memcpy(out + o, rep, strlen(rep));
        o += strlen(rep);
    }
    out[o] = '\0';
    return out;
}

static void
family(struct mbuf *b, const char *name, const char *type, const char *help)
{
    mb_printf(b, "# HELP tlogwatch_%s %s\n# TYPE tlogwatch_%s %s\n", name, help,
              name, type);
}

/* A non-negative integer member, or -1 (absent, null, other type). */
static int
get_u64(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* "2026-12-04T19:00:00Z" into unix seconds; -1 when it is not that. */
static int
parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    int end = 0;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &end) != 6 ||
        end != 20) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* Sum of a member over a log's shards. */
static uint64_t
shard_sum(const json_t *log, const char *key)
{
    const json_t *shards = json_object_get(log, "shards"), *sh;
    uint64_t sum = 0, v;
    size_t i;

    json_array_foreach(shards, i, sh)
    {
        if (get_u64(sh, key, &v) == 0) {
            sum += v;
        }
    }
    return sum;
}

static const char *
log_label(const json_t *log, char *buf, size_t cap)
{
    return server_label_escape(json_string_value(json_object_get(log, "name")),
                               buf, cap);
}

/* One gauge sample per log that has the member. */
static void
per_log_gauge(struct mbuf *b, const json_t *logs, const char *name,
              const char *key, const char *help)
{
    const json_t *log;
    char lb[MET_LABEL_MAX];
    uint64_t v;
    size_t i;

    family(b, name, "gauge", help);
    json_array_foreach(logs, i, log)
    {
        if (get_u64(log, key, &v) == 0) {
            mb_printf(b, "tlogwatch_%s{log=\"%s\"} %" PRIu64 "\n", name,
                      log_label(log, lb, sizeof(lb)), v);
        }
    }
}

static void
logs_from_status(struct mbuf *b, const json_t *logs)
{
    static const struct {
        const char *kind, *key;
    } proofs[] = {
        {"checkpoint", "checkpoints_verified"},
        {"consistency", "proofs_verified"},
        {"root", "root_checks_passed"},
    };
    const json_t *log;
    char lb[MET_LABEL_MAX];
    int64_t t;
    size_t i, k;

    per_log_gauge(b, logs, "log_verified_size", "verified_size",
                  "Size of the newest verified checkpoint of the log's "
                  "current shard.");
    per_log_gauge(b, logs, "log_cursor", "cursor",
                  "Next virtual log index to read (entries below it are "
                  "read and proven).");
    per_log_gauge(b, logs, "log_lag_entries", "lag",
                  "Entries of the verified checkpoint not yet read.");
    family(b, "log_last_success_timestamp_seconds", "gauge",
           "Unix time of the last successful request to the log.");
    json_array_foreach(logs, i, log)
    {
        if (parse_time(json_string_value(json_object_get(log, "last_success")),
                       &t) == 0) {
            mb_printf(b,
                      "tlogwatch_log_last_success_timestamp_seconds{log=\"%s\"}"
                      " %lld\n",
                      log_label(log, lb, sizeof(lb)), (long long)t);
        }
    }
    family(b, "log_stale", "gauge",
           "1 when the log had no success within its stale_after.");
    json_array_foreach(logs, i, log)
    {
        mb_printf(b, "tlogwatch_log_stale{log=\"%s\"} %d\n",
                  log_label(log, lb, sizeof(lb)),
                  json_is_false(json_object_get(log, "stale")) ? 0 : 1);
    }
    family(b, "entries_scanned_total", "counter",
           "Entries read, leaf-hashed and checked, over all shards.");
    json_array_foreach(logs, i, log)
    {
        mb_printf(
            b, "tlogwatch_entries_scanned_total{log=\"%s\"} %" PRIu64 "\n",
            log_label(log, lb, sizeof(lb)), shard_sum(log, "entries_scanned"));
    }
    family(b, "proofs_verified_total", "counter",
           "Proofs verified: checkpoint (signatures of new checkpoints), "
           "consistency (proofs between checkpoints), root (entries read "
           "hash to a signed root).");
    json_array_foreach(logs, i, log)
    {
        for (k = 0; k < sizeof(proofs) / sizeof(proofs[0]); k++) {
            mb_printf(b,
                      "tlogwatch_proofs_verified_total{log=\"%s\",kind=\"%s\"}"
                      " %" PRIu64 "\n",
                      log_label(log, lb, sizeof(lb)), proofs[k].kind,
                      shard_sum(log, proofs[k].key));
        }
    }
}

static void
logs_from_engine(struct mbuf *b, const struct server_log_stats *ls, size_t n)
{
    char lb[MET_LABEL_MAX];
    size_t i, k;

    family(b, "proofs_failed_total", "counter",
           "Proofs that failed (each raised its log alert), since the "
           "daemon started.");
    for (i = 0; i < n; i++) {
        server_label_escape(ls[i].name, lb, sizeof(lb));
        for (k = 0; k < FOLLOW_PROOF_KINDS; k++) {
            mb_printf(b,
                      "tlogwatch_proofs_failed_total{log=\"%s\",kind=\"%s\"}"
                      " %" PRIu64 "\n",
                      lb, follow_proof_kind_name((enum follow_proof_kind)k),
                      ls[i].stats.proofs_failed[k]);
        }
    }
    family(b, "http_responses_total", "counter",
           "Answers to requests to the log by HTTP status class (error: "
           "none came), since the daemon started.");
    for (i = 0; i < n; i++) {
        server_label_escape(ls[i].name, lb, sizeof(lb));
        for (k = 0; k < FOLLOW_HTTP_CLASSES; k++) {
            mb_printf(b,
                      "tlogwatch_http_responses_total{log=\"%s\",class=\"%s\"}"
                      " %" PRIu64 "\n",
                      lb, follow_http_class_name((enum follow_http_class)k),
                      ls[i].stats.http[k]);
        }
    }
    family(b, "http_throttled_total", "counter",
           "429 and 5xx answers and transport errors that slowed the "
           "follower down, since the daemon started.");
    for (i = 0; i < n; i++) {
        mb_printf(b, "tlogwatch_http_throttled_total{log=\"%s\"} %" PRIu64 "\n",
                  server_label_escape(ls[i].name, lb, sizeof(lb)),
                  ls[i].stats.throttled);
    }
    family(b, "frozen_checks_total", "counter",
           "Final checkpoints of frozen logs (a Rekor v1 inactive shard, a "
           "frozen Rekor v2 log) fetched again and compared with the one "
           "stored, since the daemon started.");
    for (i = 0; i < n; i++) {
        mb_printf(b, "tlogwatch_frozen_checks_total{log=\"%s\"} %" PRIu64 "\n",
                  server_label_escape(ls[i].name, lb, sizeof(lb)),
                  ls[i].stats.frozen_checks);
    }
    family(b, "request_window", "gauge",
           "Entry requests the follower may have in flight now (halved by "
           "a throttle, up to max_concurrency).");
    for (i = 0; i < n; i++) {
        mb_printf(b, "tlogwatch_request_window{log=\"%s\"} %u\n",
                  server_label_escape(ls[i].name, lb, sizeof(lb)),
                  ls[i].stats.window);
    }
}

static void
alerts_and_outbox(struct mbuf *b, const json_t *status)
{
    const json_t *sinks, *sk, *a;
    char l1[MET_LABEL_MAX], l2[MET_LABEL_MAX];
    uint64_t v;
    size_t i;

    family(b, "alerts_total", "counter",
           "Alerts in the store by type and severity.");
    json_array_foreach(
        json_object_get(json_object_get(status, "alerts"), "by_type"), i, a)
    {
        if (get_u64(a, "count", &v) == 0 &&
            json_is_string(json_object_get(a, "type")) &&
            json_is_string(json_object_get(a, "severity"))) {
            mb_printf(
                b,
                "tlogwatch_alerts_total{type=\"%s\",severity=\"%s\"} %" PRIu64
                "\n",
                server_label_escape(
                    json_string_value(json_object_get(a, "type")), l1,
                    sizeof(l1)),
                server_label_escape(
                    json_string_value(json_object_get(a, "severity")), l2,
                    sizeof(l2)),
                v);
        }
    }
    sinks = json_object_get(json_object_get(status, "outbox"), "sinks");
    family(b, "deliveries_pending", "gauge",
           "Deliveries waiting to be sent (or retried), per sink.");
    json_array_foreach(sinks, i, sk)
    {
        if (get_u64(sk, "pending", &v) == 0) {
            mb_printf(b,
                      "tlogwatch_deliveries_pending{sink=\"%s\"} %" PRIu64 "\n",
                      server_label_escape(
                          json_string_value(json_object_get(sk, "name")), l1,
                          sizeof(l1)),
                      v);
        }
    }
    family(b, "deliveries_failed_total", "counter",
           "Deliveries that failed for good (no retry left), per sink.");
    json_array_foreach(sinks, i, sk)
    {
        if (get_u64(sk, "failed", &v) == 0) {
            mb_printf(b,
                      "tlogwatch_deliveries_failed_total{sink=\"%s\"} %" PRIu64
                      "\n",
                      server_label_escape(
                          json_string_value(json_object_get(sk, "name")), l1,
                          sizeof(l1)),
                      v);
        }
    }
    family(b, "ct_certificates", "gauge",
           "Certificates of a watched repository seen in a CT log, per "
           "rule and state (pending: no Rekor entry yet, before its "
           "deadline; unlogged: none by its deadline; logged).");
    json_array_foreach(json_object_get(status, "rules"), i, a)
    {
        static const char *const states[] = {"pending", "unlogged", "logged"};
        const json_t *cc = json_object_get(a, "ct_counts");
        size_t k;

        for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
            if (get_u64(cc, states[k], &v) == 0) {
                mb_printf(b,
                          "tlogwatch_ct_certificates{rule=\"%s\","
                          "state=\"%s\"} %" PRIu64 "\n",
                          server_label_escape(
                              json_string_value(json_object_get(a, "name")), l1,
                              sizeof(l1)),
                          states[k], v);
            }
        }
    }
    family(b, "pcr_lookups_pending", "gauge",
           "Watched signings whose PCR lookup in the registry is pending.");
    if (get_u64(status, "pcr_lookups_pending", &v) == 0) {
        mb_printf(b, "tlogwatch_pcr_lookups_pending %" PRIu64 "\n", v);
    }
}

char *
server_metrics_text(const json_t *status, const struct server_log_stats *logs,
                    size_t n_logs, const char *version, size_t *len)
{
    struct mbuf b;
    char vb[MET_LABEL_MAX];

    if (!json_is_object(status)) {
        return NULL;
    }
    memset(&b, 0, sizeof(b));
    family(&b, "build_info", "gauge", "The running build (value 1).");
    mb_printf(&b, "tlogwatch_build_info{version=\"%s\"} 1\n",
              server_label_escape(version, vb, sizeof(vb)));
    logs_from_status(&b, json_object_get(status, "logs"));
    logs_from_engine(&b, logs, n_logs);
    alerts_and_outbox(&b, status);
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len != NULL) {
        *len = b.len;
    }
    return b.p;
}

static int reason(json_t *reasons, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
reason(json_t *reasons, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_array_append_new(reasons, json_string(msg));
}

static const json_t *
status_log(const json_t *status, const char *name)
{
    const json_t *log;
    size_t i;

    json_array_foreach(json_object_get(status, "logs"), i, log)
    {
        const char *n = json_string_value(json_object_get(log, "name"));
        if (n != NULL && strcmp(n, name) == 0) {
            return log;
        }
    }
    return NULL;
}

int
server_readiness(const json_t *status, const struct config *cfg,
                 const char *store_error, json_t *reasons)
{
    size_t before = json_array_size(reasons), i;
    int rc = 0;

    if (store_error != NULL) {
        rc |= reason(reasons, "store: not writable: %s", store_error);
    }
    if (status == NULL) {
        rc |= reason(reasons, "status: the store could not be read");
    }
    for (i = 0; status != NULL && i < cfg->n_logs; i++) {
        const struct config_log *cl = &cfg->logs[i];
        const json_t *log = status_log(status, cl->name);
        const char *last;
        uint64_t size, lag;

        if (log == NULL || get_u64(log, "verified_size", &size) != 0) {
            rc |=
                reason(reasons, "log %s: no verified checkpoint yet", cl->name);
            continue;
        }
        if (!json_is_false(json_object_get(log, "stale"))) {
            last = json_string_value(json_object_get(log, "last_success"));
            rc |= reason(reasons,
                         "log %s: no checkpoint verified within stale_after "
                         "(%llu s); last success %s",
                         cl->name,
                         (unsigned long long)(cl->stale_after_ms / 1000),
                         last != NULL ? last : "never");
        }
        if (get_u64(log, "lag", &lag) != 0) {
            rc |= reason(reasons, "log %s: no cursor yet", cl->name);
        } else if (lag > cfg->http.ready_lag) {
            rc |= reason(reasons,
                         "log %s: cursor lag %llu entries, more than "
                         "http.ready_lag (%llu)",
                         cl->name, (unsigned long long)lag,
                         (unsigned long long)cfg->http.ready_lag);
        }
    }
    if (rc != 0) {
        return -1;
    }
    return json_array_size(reasons) == before ? 1 : 0;
}
