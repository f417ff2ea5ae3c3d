/*
 * outbox.h: the delivery worker.  Takes the pending deliveries of the
 * store's outbox (one row per alert and sink, written with the alert) and
 * sends each through its sink on the event loop: slack (Block Kit message,
 * at most one per OUTBOX_SLACK_INTERVAL_MS per sink), webhook (the alert
 * JSON, X-Tlogwatch-Alert-Id, HMAC X-Tlogwatch-Signature with a secret),
 * exec (a command with the alert in its environment and in a JSON file,
 * killed with its process group at its time limit), stdout (JSON
 * lines), alertmanager (POST <url>/api/v2/alerts), pagerduty,
 * github_issue and email (one RFC 5322 message over SMTP, in TLS:
 * implicit or STARTTLS required, unless tls: none to a loopback relay;
 * http_smtp_send).  Webhook, exec and
 * stdout send the sink's envelope (format: tlogwatch, cloudevents, ocsf);
 * a webhook with signing: standard carries the Standard Webhooks
 * headers (webhook-id, webhook-timestamp, webhook-signature) instead of
 * X-Tlogwatch-Signature.  Also the heartbeat (monitor.heartbeat every
 * heartbeat.every to its sinks, through the outbox) and direct sends for
 * `test-alert`.
 *
 * Invariants:
 *  - at-least-once: a row leaves "pending" only when its sink accepted it
 *    (2xx, exit 0, line written, SMTP accepted) or failed permanently
 *    (HTTP 4xx other than 408 and 429, SMTP 550-554, logged; for github_issue a
 * 403 only when it is no rate limit, see outbox_github_verdict); anything else
 * is retried with exponential backoff and jitter, or after Retry-After when the
 *    receiver sends one (GitHub: its rate-limit reset);
 *  - github_issue opens an issue only after reading the issues list to
 *    its end (Link rel="next", at most NOTIFY_GITHUB_MAX_PAGES pages)
 *    without the alert's marker; past the cap it retries, never opens.
 *    A crash or stop in the middle leaves the row pending: it is sent
 *    again on the next start (the receiver dedupes on the alert id);
 *  - sinks are independent: each has its own queue position, at most one
 *    delivery in flight and its own backoff, so a failing sink never
 *    delays another, and nothing here ever blocks the loop (HTTP and SMTP
 *    through the curl-multi transport, exec children reaped by a timer);
 *  - secrets never leave: a sink is shown (logs, status, test-alert, and
 *    whatever else calls outbox_sink_where) as scheme://host/... only;
 *    an error is logged, stored and passed on only as
 *    notify_redact_reply() keeps it (no URL, no token-shaped value, at
 *    most NOTIFY_REPLY_MAX bytes); the transport logs sink requests by
 *    host only; exec children get a fresh environment built from the
 *    alert only (never tlogwatch's own environment), the HMAC key is
 *    used only to sign;
 *  - nothing but monitor.test leaves through outbox_send_direct(); every
 *    other alert is in the store before anything is sent.
 */
#ifndef TLOGWATCH_MONITOR_OUTBOX_H
#define TLOGWATCH_MONITOR_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;
struct store;
struct config;
struct config_sink;
struct http_client;

/*
 * Named limits and defaults: first retry after ~1 s, doubling, at most
 * 10 min apart, +- 20% jitter; Slack gets at most one message per 1.1 s
 * per sink; a webhook request may take 15 s and its reply is cut at
 * 64 KiB; exec children are polled every 50 ms and get SIGKILL 1 s after
 * SIGTERM; errors are cut at 256 bytes.
 */
#define OUTBOX_BACKOFF_BASE_MS 1000ULL
#define OUTBOX_BACKOFF_MAX_MS (600ULL * 1000)
#define OUTBOX_JITTER_PCT 20
#define OUTBOX_SLACK_INTERVAL_MS 1100ULL
#define OUTBOX_HTTP_TIMEOUT_MS 15000ULL
#define OUTBOX_HTTP_RESPONSE_CAP (64u * 1024)
#define OUTBOX_EXEC_POLL_MS 50
#define OUTBOX_KILL_GRACE_MS 1000
#define OUTBOX_ERROR_MAX 256
#define OUTBOX_WHERE_MAX 256 /* bytes of a sink's shown form, with the NUL */
/* PATH of exec hooks (their environment is built, never inherited). */
#define OUTBOX_EXEC_PATH                                                       \
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct outbox_opts {
    struct event_base *base;  /* borrowed, outlives the outbox */
    struct store *store;      /* borrowed; NULL: direct sends only */
    const struct config *cfg; /* read during outbox_new only: sinks and
                                 heartbeat are copied */
    struct http_client *http; /* borrowed, outlives the outbox */
    const char *tmp_dir;      /* exec JSON files [$TMPDIR or /tmp]; copied */
    uint64_t seed;            /* jitter PRNG seed */
    int heartbeat;            /* 1: run cfg->heartbeat (daemon mode) */
    /* Overrides for tests; 0 takes the OUTBOX_* default. */
    uint64_t backoff_base_ms, backoff_max_ms, slack_interval_ms;
};

struct outbox;

/*
 * Returns a new outbox (free with outbox_free) or NULL with a message in
 * err.  Nothing is sent until outbox_kick().
 */
struct outbox *outbox_new(const struct outbox_opts *opts, char *err,
                          size_t errlen);

/*
 * Stops everything: HTTP requests in flight are cancelled and exec
 * children killed; their rows stay pending (sent again next time).
 * Direct sends in flight end with their callback (verdict RETRY,
 * "cancelled").  Wipes the copied secrets.  outbox_free(NULL) is a no-op.
 */
void outbox_free(struct outbox *o);

/*
 * New rows may be due: scan the store now.  stdout rows are written
 * before this returns; the others start and finish later on the loop.
 * Starts the heartbeat on its first call.
 */
void outbox_kick(struct outbox *o);

typedef void (*outbox_idle_cb)(void *arg);
/*
 * Drain for `once`: from now on each sink gets one attempt per due row
 * (no waiting on backoff), and cb(arg) is called once, from the loop,
 * when nothing is in flight or due, or when deadline_ms has passed (in
 * flight requests are then cancelled and stay pending).
 */
void outbox_drain(struct outbox *o, uint64_t deadline_ms, outbox_idle_cb cb,
                  void *arg);

enum outbox_verdict {
    OUTBOX_SENT = 0,      /* accepted */
    OUTBOX_RETRY = 1,     /* try again later */
    OUTBOX_PERMANENT = 2, /* never again: the receiver refused it */
};

/* The outcome of one attempt.  Strings borrowed for the callback. */
struct outbox_result {
    const char *sink;      /* its name */
    const char *sink_type; /* "slack", ... */
    const char *where;     /* redacted URL or command; never a secret */
    enum outbox_verdict verdict;
    int status;          /* HTTP status, exit status, or 0 */
    int has_retry_after; /* the receiver named a delay */
    uint64_t retry_after_s;
    const char *error; /* "" when sent */
};
typedef void (*outbox_send_cb)(void *arg, const struct outbox_result *r);

/*
 * Send the alert body (JSON, borrowed for the call) once through the sink
 * named sink, bypassing the store: `test-alert`.  cb is called exactly
 * once, later, from the loop.  Returns 0, or -1 (unknown sink, memory)
 * without calling cb.
 */
int outbox_send_direct(struct outbox *o, const char *sink, const char *body,
                       outbox_send_cb cb, void *arg);

/* Deliveries and direct sends in flight. */
size_t outbox_in_flight(const struct outbox *o);

/* Counters since outbox_new. */
struct outbox_stats {
    uint64_t sent, retried, failed;
};
void outbox_get_stats(const struct outbox *o, struct outbox_stats *out);

/*
 * How a sink is shown, everywhere (logs, status, test-alert, the
 * dashboard): "scheme://host[:port]/..." for a URL sink (path, query and
 * userinfo hold its secret), the cleaned command for exec, "" for stdout.
 * Writes at most outcap - 1 bytes (OUTBOX_WHERE_MAX is enough) and the
 * NUL; returns out.
 */
char *outbox_sink_where(const struct config_sink *cs, char *out, size_t outcap);

/*
 * How a delivery error (as stored in the outbox, maybe by an older
 * version) may be shown: notify_redact_reply's form, at most
 * NOTIFY_REPLY_MAX bytes.  error may be NULL.  Returns out.
 */
char *outbox_error_kept(const char *error, char *out, size_t outcap);

/*
 * Pure helpers, exposed for tests.
 * The verdict for an HTTP attempt: complete (1 when a response arrived)
 * and its status.
 */
enum outbox_verdict outbox_http_verdict(int complete, int status);

/*
 * The verdict of an email delivery: complete (the server accepted the
 * message) is SENT; a final reply of 550 to 554 is PERMANENT; anything
 * else (no STARTTLS, a TLS or AUTH failure, a 4xx reply, a timeout) is
 * RETRY.
 */
enum outbox_verdict outbox_smtp_verdict(int complete, int status);
/* The backoff before attempt number attempts + 1 (attempts >= 1 already
 * failed): base * 2^(attempts-1), capped at max, then +- jitter_pct
 * percent using r (any 64-bit random value). */
/*
 * The verdict for a github_issue answer of status (403, 429: else as
 * outbox_http_verdict) after GitHub's documented rate limits: Retry-After
 * (a secondary limit) says how long; x-ratelimit-remaining "0" (the
 * primary limit) means wait until x-ratelimit-reset (unix seconds, taken
 * against now, the server's Date) and one second more; a 429 or a body
 * that says_rate_limit without either waits OUTBOX_GITHUB_MIN_WAIT_S.
 * Each is RETRY with the wait in *wait_s, at most max_wait_s (>= 1).  A
 * 403 that is none of these (bad token, no permission) is PERMANENT.
 * remaining and reset are the raw header values (untrusted, NULL when
 * absent): digits only, anything else counts as absent.
 */
#define OUTBOX_GITHUB_MIN_WAIT_S 60
enum outbox_verdict
outbox_github_verdict(int status, int has_retry_after, uint64_t retry_after_s,
                      const char *remaining, const char *reset,
                      int says_rate_limit, int64_t now, uint64_t max_wait_s,
                      uint64_t *wait_s);
uint64_t outbox_backoff_ms(uint64_t attempts, uint64_t base_ms, uint64_t max_ms,
                           unsigned jitter_pct, uint64_t r);

#endif
