/*
 * outbox.c: the delivery worker, the sinks and the heartbeat (outbox.h).
 *
 * Shape: a scan reads the store's pending rows (oldest due first) and
 * gives each free sink its first due row; a sink is free when it has
 * nothing in flight, is not backing off and (Slack) its rate gate is
 * open.  A job ends in job_done(), which writes the verdict to the store,
 * sets the sink's backoff and schedules the next scan.  The scan timer is
 * armed at the earliest moment anything can move (a row's next attempt,
 * a sink's backoff end, a rate gate), so an idle outbox has no timer.
 *
 * Exec children: posix_spawn into their own process group with a fresh
 * environment, stdin /dev/null, stdout to our stderr (our stdout carries
 * JSON lines), every other descriptor closed; reaped by a short timer
 * while they run; at their time limit the group gets SIGTERM, then
 * SIGKILL after OUTBOX_KILL_GRACE_MS.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "config/config.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/outbox.h"
#include "monitor/store/store.h"
#include "notify/alert.h"
#include "notify/redact.h"
#include "notify/render.h"

struct ob_job;

struct ob_sink {
    char *name;
    enum config_sink_type type;
    char *url;     /* secret; slack, webhook */
    char *secret;  /* secret; webhook HMAC key or NULL */
    char *command; /* exec */
    char **keys;   /* secret; signing standard: every whsec_ key, the
                      first signing (keys[0] == secret), NULL-terminated */
    size_t nkeys;
    enum config_sink_format format;
    enum config_sink_signing signing;
    uint64_t resolve_after_s; /* alertmanager */
    char *repository;         /* github_issue: owner/repo */
    char **labels;            /* github_issue: NULL-terminated */
    size_t nlabels;
    char *from;     /* email: sender */
    char **to;      /* email: recipients, NULL-terminated */
    size_t nto;     /* email */
    char *username; /* secret; email: SMTP AUTH user or NULL (password:
                       secret) */
    char *ca_file;  /* email: PEM CAs, or NULL: the transport's */
    int plain;      /* email: tls: none (smtp:// to loopback) */
    uint64_t timeout_ms;
    char where[OUTBOX_WHERE_MAX]; /* outbox_sink_where: loggable */
    struct ob_job *job;           /* in flight, or NULL */
    uint64_t blocked_until;       /* monotonic ms: backing off until */
    uint64_t gate_until;          /* monotonic ms: rate gate (Slack) */
    uint64_t fails;               /* failed attempts in a row */
    int claimed;                  /* scan-local */
    int gated;                    /* scan-local: waits on its rate gate */
};

struct ob_job {
    struct outbox *o;
    struct ob_sink *sink;
    char *alert_id;
    char *body;
    uint64_t attempts; /* of the row before this one */
    int direct;
    int step;          /* github_issue: 0 look for the issue, 1 open it */
    unsigned page;     /* github_issue, step 0: the page read (1, ...) */
    outbox_send_cb cb; /* direct */
    void *arg;
    struct http_handle *h;
    /* exec */
    pid_t pid;
    struct event *poll;
    uint64_t started, deadline;
    int term_sent, killed;
    char json_path[4096];
    struct ob_job *next; /* list of direct jobs */
};

struct outbox {
    struct event_base *base;
    struct store *store;
    struct http_client *http;
    char *tmp_dir;
    char host[256];      /* this machine's name: CloudEvents source */
    char generator[300]; /* the dashboard URL, or "": Alertmanager */
    struct ob_sink *sinks;
    size_t n_sinks;
    uint64_t rng;
    uint64_t backoff_base, backoff_max, slack_interval;
    struct event *scan_ev; /* timer: next scan */
    uint64_t scan_at;      /* monotonic ms it fires at, when pending */
    int scanning, rescan;
    struct outbox_stats stats;
    struct ob_job *direct; /* direct sends in flight */
    /* heartbeat */
    int hb_on;
    uint64_t hb_every;
    char **hb_sinks;
    size_t hb_n;
    struct event *hb_ev;
    int started;
    /* drain */
    int draining;
    int drain_ready; /* nothing in flight, nothing to send now */
    uint64_t drain_deadline;
    outbox_idle_cb drain_cb;
    void *drain_arg;
    struct event *drain_ev;
};

static void ob_scan(struct outbox *o);
static void ob_job_free(struct ob_job *j);

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
ob_random(struct outbox *o)
{
    /* xorshift64*: jitter only. */
    uint64_t x = o->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    o->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

enum outbox_verdict
outbox_http_verdict(int complete, int status)
{
    if (!complete) {
        return OUTBOX_RETRY;
    }
    if (status >= 200 && status < 300) {
        return OUTBOX_SENT;
    }
    if (status >= 400 && status < 500 && status != 408 && status != 429) {
        return OUTBOX_PERMANENT;
    }
    return OUTBOX_RETRY;
}

/* Digits only, at most 20 of them, saturating: 0 with *v, or -1. */
static int
gh_uint(const char *s, uint64_t *v)
{
    uint64_t n = 0;
    size_t i;

    if (s == NULL || s[0] == '\0' || strlen(s) > 20) {
        return -1;
    }
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        n = n > (UINT64_MAX - 9) / 10 ? UINT64_MAX
                                      : n * 10 + (uint64_t)(s[i] - '0');
    }
    *v = n;
    return 0;
}

enum outbox_verdict
outbox_github_verdict(int status, int has_retry_after, uint64_t retry_after_s,
                      const char *remaining, const char *reset,
                      int says_rate_limit, int64_t now, uint64_t max_wait_s,
                      uint64_t *wait_s)
{
    uint64_t left = 1, at = 0, w;

    *wait_s = 0;
    if (status != 403 && status != 429) {
        return outbox_http_verdict(1, status);
    }
    if (has_retry_after) {
        w = retry_after_s; /* a secondary rate limit says how long */
    } else if (gh_uint(remaining, &left) == 0 && left == 0) {
        /* the primary rate limit: wait for the window's reset */
        if (gh_uint(reset, &at) == 0 && now >= 0) {
            w = at > (uint64_t)now ? at - (uint64_t)now + 1 : 1;
        } else {
            w = OUTBOX_GITHUB_MIN_WAIT_S;
        }
    } else if (status == 429 || says_rate_limit) {
        w = OUTBOX_GITHUB_MIN_WAIT_S; /* "wait at least one minute" */
    } else {
        return OUTBOX_PERMANENT; /* no permission, bad token, ... */
    }
    if (w < 1) {
        w = 1;
    }
    *wait_s = w > max_wait_s ? max_wait_s : w;
    return OUTBOX_RETRY;
}

uint64_t
outbox_backoff_ms(uint64_t attempts, uint64_t base_ms, uint64_t max_ms,
                  unsigned jitter_pct, uint64_t r)
{
    uint64_t d = base_ms, span;

    while (attempts > 1 && d < max_ms) {
        d = d > max_ms / 2 ? max_ms : d * 2;
        attempts--;
    }
    if (d > max_ms) {
        d = max_ms;
    }
    span = d * jitter_pct / 100;
    if (span > 0) {
        d = d - span + r % (2 * span + 1);
    }
    return d;
}

/* ---- scheduling ------------------------------------------------------- */

static void
ob_scan_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ob_scan(arg);
}

/* Scan in ms milliseconds (0: on the next loop turn) unless one is
 * already due sooner. */
static void
ob_schedule(struct outbox *o, uint64_t ms)
{
    uint64_t at = mono_ms() + ms;
    struct timeval tv;

    if (evtimer_pending(o->scan_ev, NULL) && o->scan_at <= at) {
        return;
    }
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    if (evtimer_add(o->scan_ev, &tv) == 0) {
        o->scan_at = at;
    }
}

static int
ob_idle(const struct outbox *o)
{
    size_t i;

    if (o->direct != NULL) {
        return 0;
    }
    for (i = 0; i < o->n_sinks; i++) {
        if (o->sinks[i].job != NULL) {
            return 0;
        }
    }
    return 1;
}

size_t
outbox_in_flight(const struct outbox *o)
{
    size_t i, n = 0;
    const struct ob_job *j;

    for (i = 0; i < o->n_sinks; i++) {
        n += o->sinks[i].job != NULL;
    }
    for (j = o->direct; j != NULL; j = j->next) {
        n++;
    }
    return n;
}

void
outbox_get_stats(const struct outbox *o, struct outbox_stats *out)
{
    *out = o->stats;
}

/* ---- job completion --------------------------------------------------- */

static const char *
sink_type_name(enum config_sink_type t)
{
    return config_sink_type_name(t);
}

static void
job_done(struct ob_job *j, enum outbox_verdict v, int status,
         int has_retry_after, uint64_t retry_after_s, const char *error)
{
    struct outbox *o = j->o;
    struct ob_sink *s = j->sink;
    int64_t now = time(NULL);
    char id[16], kept[OUTBOX_ERROR_MAX];

    snprintf(id, sizeof(id), "%.12s", j->alert_id ? j->alert_id : "-");
    /* What is logged, stored and shown of an error: no URL, no token. */
    error = notify_redact_reply(error, error != NULL ? strlen(error) : 0, kept,
                                sizeof(kept));
    if (j->direct) {
        struct outbox_result r;
        struct ob_job **pp;
        memset(&r, 0, sizeof(r));
        r.sink = s->name;
        r.sink_type = sink_type_name(s->type);
        r.where = s->where;
        r.verdict = v;
        r.status = status;
        r.has_retry_after = has_retry_after;
        r.retry_after_s = retry_after_s;
        r.error = error;
        for (pp = &o->direct; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == j) {
                *pp = j->next;
                break;
            }
        }
        if (j->cb != NULL) {
            j->cb(j->arg, &r);
        }
        ob_job_free(j);
        return;
    }
    s->job = NULL;
    if (s->type == CONFIG_SINK_SLACK) {
        /* The gate runs from the answer too, so the receiver sees two
         * messages at least the interval apart however long this one
         * took to arrive (a request delayed on its way must not let the
         * next one catch up with it). */
        s->gate_until = mono_ms() + o->slack_interval;
    }
    if (v == OUTBOX_SENT) {
        o->stats.sent++;
        s->blocked_until = 0;
        s->fails = 0;
        log_debug("outbox: %s: alert %s delivered", s->name, id);
        if (store_delivery_sent(o->store, j->alert_id, s->name, now) != 0) {
            log_warnx("outbox: %s: %s", s->name, store_errmsg(o->store));
        }
    } else if (v == OUTBOX_PERMANENT) {
        o->stats.failed++;
        log_warnx("outbox: %s (%s %s): alert %s refused for good: %s", s->name,
                  sink_type_name(s->type), s->where, id, error);
        if (store_delivery_failed(o->store, j->alert_id, s->name, now, 0,
                                  error) != 0) {
            log_warnx("outbox: %s: %s", s->name, store_errmsg(o->store));
        }
    } else {
        uint64_t delay, n;
        o->stats.retried++;
        s->fails++;
        /* Backoff grows with the failures in a row of the sink, or of the
         * row across restarts, whichever is larger. */
        n = j->attempts + 1 > s->fails ? j->attempts + 1 : s->fails;
        delay = outbox_backoff_ms(n, o->backoff_base, o->backoff_max,
                                  OUTBOX_JITTER_PCT, ob_random(o));
        if (has_retry_after) {
            /* The receiver said when: exactly that (at least 1 s). */
            delay = retry_after_s < 1 ? 1000 : retry_after_s * 1000;
        }
        s->blocked_until = mono_ms() + delay;
        log_warnx("outbox: %s (%s %s): alert %s not delivered: %s; retry in "
                  "%llu ms",
                  s->name, sink_type_name(s->type), s->where, id, error,
                  (unsigned long long)delay);
        if (store_delivery_failed(o->store, j->alert_id, s->name, now,
                                  now + (int64_t)((delay + 999) / 1000),
                                  error) != 0) {
            log_warnx("outbox: %s: %s", s->name, store_errmsg(o->store));
        }
    }
    ob_job_free(j);
    if (o->scanning) {
        o->rescan = 1;
    } else {
        ob_schedule(o, 0);
    }
}

static void
ob_job_free(struct ob_job *j)
{
    if (j == NULL) {
        return;
    }
    if (j->poll != NULL) {
        event_free(j->poll);
    }
    if (j->json_path[0] != '\0') {
        (void)unlink(j->json_path);
    }
    free(j->alert_id);
    free(j->body);
    free(j);
}

/* ---- HTTP sinks ------------------------------------------------------- */

static int github_found(struct ob_job *j, const struct http_response *resp);

/* Whether a refusal's body names a rate limit ("You have exceeded a
 * secondary rate limit", "API rate limit exceeded for ..."). */
static int
gh_says_rate_limit(const struct http_response *resp)
{
    static const char want[] = "rate limit";
    size_t i, n = sizeof(want) - 1;

    for (i = 0; resp->body != NULL && i + n <= resp->body_len; i++) {
        if (strncasecmp(resp->body + i, want, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
http_done(const struct http_response *resp, void *arg)
{
    struct ob_job *j = arg;
    enum outbox_verdict v;
    char err[OUTBOX_ERROR_MAX];
    const char *what = "";
    char rl[64];
    uint64_t wait_s = 0;
    int has_wait = 0;

    j->h = NULL;
    if (j->sink->type == CONFIG_SINK_GITHUB_ISSUE && j->step == 0 &&
        resp->result == HTTP_COMPLETE && resp->status == 200) {
        (void)github_found(j, resp);
        return;
    }
    v = outbox_http_verdict(resp->result == HTTP_COMPLETE, resp->status);
    if (j->sink->type == CONFIG_SINK_GITHUB_ISSUE &&
        resp->result == HTTP_COMPLETE &&
        (resp->status == 403 || resp->status == 429)) {
        uint64_t max_s = j->o->backoff_max / 1000;
        v = outbox_github_verdict(
            resp->status, resp->has_retry_after, resp->retry_after_s,
            resp->ratelimit_remaining, resp->ratelimit_reset,
            gh_says_rate_limit(resp),
            resp->date != 0 ? resp->date : (int64_t)time(NULL),
            max_s > 0 ? max_s : 1, &wait_s);
        has_wait = v == OUTBOX_RETRY;
        /* Said as a fact of GitHub's, not as what the caller does: the
         * daemon waits that long, test-alert reports it and stops. */
        snprintf(rl, sizeof(rl), " (GitHub's rate limit: lifts in %llu s)",
                 (unsigned long long)wait_s);
        what = v == OUTBOX_RETRY ? rl
                                 : " (not a rate limit: GitHub refuses the "
                                   "sink access to the repository)";
    }
    if (resp->result != HTTP_COMPLETE) {
        snprintf(err, sizeof(err), "%s: %s", http_result_str(resp->result),
                 resp->error != NULL ? resp->error : "");
    } else if (v == OUTBOX_SENT) {
        err[0] = '\0';
    } else {
        /* The receiver's reply may quote the URL or a token back. */
        char kept[NOTIFY_REPLY_MAX + 1] = "";
        if (resp->body != NULL && resp->body_len > 0) {
            notify_redact_reply(resp->body, resp->body_len, kept, sizeof(kept));
        }
        /* cut to OUTBOX_ERROR_MAX: the reply's end may go */
        if (snprintf(err, sizeof(err), "HTTP %d%s%s%s", resp->status, what,
                     kept[0] ? ": " : "", kept) < 0) {
            err[0] = '\0';
        }
    }
    if (has_wait) {
        job_done(j, v, resp->status, 1, wait_s, err);
        return;
    }
    job_done(j, v, resp->status, resp->has_retry_after, resp->retry_after_s,
             err);
}

/* The body a sink sends for the stored alert: its envelope (format:),
 * the Slack message or the Alertmanager list.  Returns new, or NULL with
 * a message in err. */
static char *
ob_render(struct ob_sink *s, const struct outbox *o, const char *stored,
          const json_t *alert, char *err, size_t errlen)
{
    char *body = NULL;

    switch (s->type) {
    case CONFIG_SINK_WEBHOOK:
    case CONFIG_SINK_EXEC:
    case CONFIG_SINK_STDOUT:
        /* The tlogwatch document is sent as stored, byte for byte. */
        body =
            s->format == CONFIG_FORMAT_TLOGWATCH
                ? strdup(stored)
                : notify_render_envelope(alert, (enum notify_format)s->format,
                                         o->host, TLOGWATCH_VERSION);
        break;
    case CONFIG_SINK_SLACK:
        body = notify_render_slack(alert);
        break;
    case CONFIG_SINK_ALERTMANAGER:
        body =
            notify_render_alertmanager(alert, s->resolve_after_s, o->generator);
        break;
    case CONFIG_SINK_PAGERDUTY:
        body = notify_render_pagerduty(alert, s->secret, o->host, o->generator);
        break;
    case CONFIG_SINK_GITHUB_ISSUE:
        body = notify_render_github_issue(alert, (const char *const *)s->labels,
                                          s->nlabels);
        break;
    default:
        break;
    }
    if (body == NULL) {
        snprintf(err, errlen, "cannot render the %s body",
                 s->type == CONFIG_SINK_SLACK          ? "Slack"
                 : s->type == CONFIG_SINK_ALERTMANAGER ? "Alertmanager"
                 : s->type == CONFIG_SINK_PAGERDUTY    ? "PagerDuty"
                 : s->type == CONFIG_SINK_GITHUB_ISSUE
                     ? "GitHub issue"
                     : notify_format_name((enum notify_format)s->format));
    }
    return body;
}

static int job_start_http(struct ob_job *j, char *err, size_t errlen);

/* github_issue, step 0 answered 200: the issue exists (sent), or open it
 * now (step 1).  Returns 1 when the job goes on, 0 when it is done. */
static int
github_found(struct ob_job *j, const struct http_response *resp)
{
    char err[OUTBOX_ERROR_MAX] = "";
    uint64_t number = 0;
    size_t count = 0;
    int r = notify_github_find(resp->body, resp->body_len, j->alert_id, &number,
                               &count);

    if (r == 1) {
        log_debug("outbox: %s: alert %.12s already has issue #%llu",
                  j->sink->name, j->alert_id, (unsigned long long)number);
        job_done(j, OUTBOX_SENT, resp->status, 0, 0, "");
        return 0;
    }
    if (r < 0) {
        job_done(j, OUTBOX_RETRY, resp->status, 0, 0,
                 "the issues list is not a JSON list of issues");
        return 0;
    }
    if (notify_github_more(count, resp->link)) {
        if (j->page >= NOTIFY_GITHUB_MAX_PAGES) {
            /* Opening one now could open a second: wait and look again
             * (an operator narrows the search with labels). */
            snprintf(err, sizeof(err),
                     "looked for the alert's issue in %u pages of %u issues "
                     "and the list goes on: not opening one, it could be "
                     "a second (narrow the search with labels)",
                     j->page, (unsigned)NOTIFY_GITHUB_PAGE);
            job_done(j, OUTBOX_RETRY, resp->status, 0, 0, err);
            return 0;
        }
        j->page++;
    } else {
        j->step = 1;
    }
    if (job_start_http(j, err, sizeof(err)) != 0) {
        job_done(j, OUTBOX_RETRY, 0, 0, 0, err);
        return 0;
    }
    return 1;
}

/* Append s percent-encoded (all but RFC 3986 unreserved) to out. */
static void
pct_cat(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);

    for (; *s != '\0' && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}

/* The GitHub API URL of j's step into out: a page of the newest issues
 * (labelled with the sink's labels, updated since since when it is not
 * ""), or the issues collection to POST to. */
static int
github_url(const struct ob_job *j, const char *since, char *out, size_t cap)
{
    const struct ob_sink *s = j->sink;
    size_t i;
    int n;

    n = snprintf(out, cap, "%s/repos/%s/issues", s->url, s->repository);
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    if (j->step == 0) {
        n = snprintf(out + n, cap - (size_t)n,
                     "?state=all&sort=created&direction=desc&per_page=%d"
                     "&page=%u",
                     NOTIFY_GITHUB_PAGE, j->page);
        if (s->nlabels > 0) {
            strncat(out, "&labels=", cap - strlen(out) - 1);
            for (i = 0; i < s->nlabels; i++) {
                if (i > 0) {
                    strncat(out, ",", cap - strlen(out) - 1);
                }
                pct_cat(out, cap, s->labels[i]);
            }
        }
        if (since[0] != '\0') {
            strncat(out, "&since=", cap - strlen(out) - 1);
            pct_cat(out, cap, since);
        }
        if (strlen(out) + 8 >= cap) {
            return -1;
        }
    }
    return 0;
}

static int
job_start_http(struct ob_job *j, char *err, size_t errlen)
{
    struct ob_sink *s = j->sink;
    struct http_request_opts ro;
    struct http_header hdr[5];
    char sig[NOTIFY_STD_SIGNATURE_MAX], ts[24];
    char auth[CONFIG_MAX_STRING + 16], gurl[4096], since[32];
    char *payload = NULL;
    json_t *alert = NULL;
    size_t nh = 0;
    int64_t now = (int64_t)time(NULL);
    int rc = -1, gh = s->type == CONFIG_SINK_GITHUB_ISSUE;

    sig[0] = '\0';
    auth[0] = '\0';
    alert = json_loads(j->body, 0, NULL);
    if (alert == NULL || notify_alert_get_id(alert) == NULL) {
        snprintf(err, errlen, "the stored alert is not an alert object");
        goto out;
    }
    if (gh) {
        /* Step 0 lists the newest issues (is it open already?), step 1
         * opens it. */
        /* Its issue cannot be older than the alert (less the skew). */
        int64_t at = 0;
        since[0] = '\0';
        if (notify_parse_rfc3339(
                json_string_value(json_object_get(alert, "detected_at")),
                &at) == 0 &&
            at > NOTIFY_GITHUB_SINCE_SLACK_S) {
            notify_rfc3339((time_t)(at - NOTIFY_GITHUB_SINCE_SLACK_S), since,
                           sizeof(since));
        }
        if (github_url(j, since, gurl, sizeof(gurl)) != 0) {
            snprintf(err, errlen, "the GitHub API URL is too long");
            goto out;
        }
        if (j->step == 1 && (payload = ob_render(s, j->o, j->body, alert, err,
                                                 errlen)) == NULL) {
            goto out;
        }
        snprintf(auth, sizeof(auth), "Bearer %s", s->secret);
        hdr[nh].name = "Authorization";
        hdr[nh++].value = auth;
        hdr[nh].name = "Accept";
        hdr[nh++].value = "application/vnd.github+json";
        hdr[nh].name = "X-GitHub-Api-Version";
        hdr[nh++].value = "2022-11-28";
        goto send;
    }
    payload = ob_render(s, j->o, j->body, alert, err, errlen);
    if (payload == NULL) {
        goto out;
    }
    hdr[nh].name = "X-Tlogwatch-Alert-Id";
    hdr[nh++].value = notify_alert_get_id(alert);
    hdr[nh].name = "X-Tlogwatch-Event";
    hdr[nh++].value = notify_alert_get_type(alert) != NULL
                          ? notify_alert_get_type(alert)
                          : "";
    if (s->type == CONFIG_SINK_WEBHOOK && s->secret != NULL &&
        s->signing == CONFIG_SIGNING_STANDARD) {
        /* Standard Webhooks: webhook-id, webhook-timestamp and one
         * signature per key, over "<id>.<timestamp>.<body>". */
        if (notify_render_std_signature((const char *const *)s->keys, s->nkeys,
                                        notify_alert_get_id(alert), now,
                                        payload, strlen(payload), sig,
                                        sizeof(sig)) != 0) {
            snprintf(err, errlen, "cannot sign the body");
            goto out;
        }
        snprintf(ts, sizeof(ts), "%lld", (long long)now);
        hdr[nh].name = "webhook-id";
        hdr[nh++].value = notify_alert_get_id(alert);
        hdr[nh].name = "webhook-timestamp";
        hdr[nh++].value = ts;
        hdr[nh].name = "webhook-signature";
        hdr[nh++].value = sig;
    } else if (s->type == CONFIG_SINK_WEBHOOK && s->secret != NULL) {
        if (notify_render_signature(s->secret, strlen(s->secret), now, payload,
                                    strlen(payload), sig, sizeof(sig)) != 0) {
            snprintf(err, errlen, "cannot sign the body");
            goto out;
        }
        hdr[nh].name = "X-Tlogwatch-Signature";
        hdr[nh++].value = sig;
    }
send:
    memset(&ro, 0, sizeof(ro));
    ro.method = payload != NULL ? HTTP_POST : HTTP_GET;
    ro.url = gh ? gurl : s->url;
    ro.body = payload;
    ro.body_len = payload != NULL ? strlen(payload) : 0;
    ro.content_type =
        payload == NULL ? NULL
        : s->type == CONFIG_SINK_WEBHOOK
            ? notify_format_content_type((enum notify_format)s->format)
            : "application/json";
    ro.headers = hdr;
    ro.nheaders = nh;
    ro.timeout_ms = s->timeout_ms ? s->timeout_ms : OUTBOX_HTTP_TIMEOUT_MS;
    ro.max_response_bytes =
        gh && j->step == 0 ? NOTIFY_GITHUB_LIST_MAX : OUTBOX_HTTP_RESPONSE_CAP;
    ro.follow_redirects = 0;
    ro.url_secret = 1;
    j->h = http_request(j->o->http, &ro, http_done, j);
    if (j->h == NULL) {
        snprintf(err, errlen, "the HTTP transport refused the request");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(sig, sizeof(sig));
    OPENSSL_cleanse(auth, sizeof(auth));
    if (payload != NULL) {
        /* A PagerDuty body holds its routing key. */
        OPENSSL_cleanse(payload, strlen(payload));
    }
    free(payload);
    json_decref(alert);
    return rc;
}

/* ---- email sink --------------------------------------------------------- */

/*
 * The verdict of an SMTP conversation: accepted is sent; a reply of 550
 * to 554 (mailbox unavailable, not allowed, exceeded storage, bad name,
 * transaction failed) is a refusal for good; everything else (no
 * STARTTLS, TLS or AUTH failure, 4xx, timeout) is retried, so an
 * operator who fixes a certificate or a password loses nothing.
 */
enum outbox_verdict
outbox_smtp_verdict(int complete, int status)
{
    if (complete) {
        return OUTBOX_SENT;
    }
    if (status >= 550 && status <= 554) {
        return OUTBOX_PERMANENT;
    }
    return OUTBOX_RETRY;
}

static void
smtp_done(const struct http_response *resp, void *arg)
{
    struct ob_job *j = arg;
    enum outbox_verdict v;
    char err[OUTBOX_ERROR_MAX];

    j->h = NULL;
    v = outbox_smtp_verdict(resp->result == HTTP_COMPLETE, resp->status);
    if (v == OUTBOX_SENT) {
        err[0] = '\0';
    } else if (resp->status > 0) {
        snprintf(err, sizeof(err), "SMTP %d: %s: %s", resp->status,
                 http_result_str(resp->result),
                 resp->error != NULL ? resp->error : "");
    } else {
        snprintf(err, sizeof(err), "SMTP: %s: %s",
                 http_result_str(resp->result),
                 resp->error != NULL ? resp->error : "");
    }
    job_done(j, v, resp->status, 0, 0, err);
}

static int
job_start_smtp(struct ob_job *j, char *err, size_t errlen)
{
    struct ob_sink *s = j->sink;
    struct http_smtp_opts so;
    json_t *alert = NULL;
    char *msg = NULL;
    int rc = -1;

    alert = json_loads(j->body, 0, NULL);
    if (alert == NULL || notify_alert_get_id(alert) == NULL) {
        snprintf(err, errlen, "the stored alert is not an alert object");
        goto out;
    }
    /* The attachment is the stored document, byte for byte. */
    msg =
        notify_render_email(alert, j->body, s->from, (const char *const *)s->to,
                            s->nto, (int64_t)time(NULL));
    if (msg == NULL) {
        snprintf(err, errlen, "cannot render the email message");
        goto out;
    }
    memset(&so, 0, sizeof(so));
    so.url = s->url;
    so.mail_from = s->from;
    so.rcpt = (const char *const *)s->to;
    so.nrcpt = s->nto;
    so.username = s->username;
    so.password = s->secret;
    so.ca_file = s->ca_file;
    so.plain = s->plain;
    so.message = msg;
    so.message_len = strlen(msg);
    so.timeout_ms = s->timeout_ms ? s->timeout_ms : OUTBOX_HTTP_TIMEOUT_MS;
    j->h = http_smtp_send(j->o->http, &so, smtp_done, j);
    if (j->h == NULL) {
        snprintf(err, errlen, "the SMTP transport refused the message");
        goto out;
    }
    rc = 0;
out:
    free(msg);
    json_decref(alert);
    return rc;
}

/* ---- exec sink ---------------------------------------------------------- */

static void
exec_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ob_job *j = arg;
    uint64_t now = mono_ms();
    struct timeval tv = {0, OUTBOX_EXEC_POLL_MS * 1000};
    char err[OUTBOX_ERROR_MAX];
    int st = 0;
    pid_t r;

    (void)fd;
    (void)what;
    r = waitpid(j->pid, &st, WNOHANG);
    if (r == j->pid || (r < 0 && errno != EINTR)) {
        j->pid = 0;
        if (j->killed) {
            snprintf(err, sizeof(err), "timed out after %llu ms, killed",
                     (unsigned long long)j->sink->timeout_ms);
            job_done(j, OUTBOX_RETRY, 0, 0, 0, err);
        } else if (r < 0) {
            job_done(j, OUTBOX_RETRY, 0, 0, 0, "the child was lost");
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            job_done(j, OUTBOX_SENT, 0, 0, 0, "");
        } else if (WIFEXITED(st)) {
            snprintf(err, sizeof(err), "exit status %d", WEXITSTATUS(st));
            job_done(j, OUTBOX_RETRY, WEXITSTATUS(st), 0, 0, err);
        } else {
            snprintf(err, sizeof(err), "killed by signal %d",
                     WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            job_done(j, OUTBOX_RETRY, 0, 0, 0, err);
        }
        return;
    }
    if (now >= j->deadline && !j->term_sent) {
        (void)kill(-j->pid, SIGTERM);
        j->term_sent = 1;
        j->killed = 1;
    } else if (now >= j->deadline + OUTBOX_KILL_GRACE_MS && j->term_sent) {
        (void)kill(-j->pid, SIGKILL);
    }
    evtimer_add(j->poll, &tv);
}

static int
job_start_exec(struct ob_job *j, char *err, size_t errlen)
{
    struct ob_sink *s = j->sink;
    const char *base[3];
    char sinkvar[CONFIG_MAX_NAME + 16];
    char **env = NULL;
    char *argv[2];
    json_t *alert = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t sa;
    sigset_t all, none;
    struct timeval tv = {0, OUTBOX_EXEC_POLL_MS * 1000};
    int fd = -1, rc = -1, fa_ok = 0, sa_ok = 0, e;
    size_t len, off = 0;
    char *doc = NULL;

    alert = json_loads(j->body, 0, NULL);
    if (alert == NULL) {
        snprintf(err, errlen, "the stored alert is not JSON");
        goto out;
    }
    /* The file holds the sink's envelope (format:); the environment is
     * the alert's fields whatever the format. */
    if ((doc = ob_render(s, j->o, j->body, alert, err, errlen)) == NULL) {
        goto out;
    }
    len = strlen(doc);
    snprintf(j->json_path, sizeof(j->json_path), "%s/tlogwatch-alert-XXXXXX",
             j->o->tmp_dir);
    fd = mkstemp(j->json_path);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create the alert file: %s",
                 strerror(errno));
        j->json_path[0] = '\0';
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, doc + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(err, errlen, "cannot write the alert file: %s",
                     strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot write the alert file");
        goto out;
    }
    fd = -1;
    snprintf(sinkvar, sizeof(sinkvar), "TLOGWATCH_SINK=%s", s->name);
    base[0] = "PATH=" OUTBOX_EXEC_PATH;
    base[1] = sinkvar;
    base[2] = NULL;
    env = notify_render_exec_env(alert, j->json_path, base);
    if (env == NULL) {
        snprintf(err, errlen, "cannot build the environment");
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    fa_ok = 1;
    if (posix_spawnattr_init(&sa) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    sa_ok = 1;
    sigfillset(&all);
    sigemptyset(&none);
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) !=
            0 ||
        posix_spawn_file_actions_adddup2(&fa, 2, 1) != 0 ||
        posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
        posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
                                          POSIX_SPAWN_SETSIGMASK |
                                          POSIX_SPAWN_SETSIGDEF) != 0 ||
        posix_spawnattr_setpgroup(&sa, 0) != 0 ||
        posix_spawnattr_setsigmask(&sa, &none) != 0 ||
        posix_spawnattr_setsigdefault(&sa, &all) != 0) {
        snprintf(err, errlen, "cannot set up the child");
        goto out;
    }
    argv[0] = s->command;
    argv[1] = NULL;
    e = posix_spawn(&j->pid, s->command, &fa, &sa, argv, env);
    if (e != 0) {
        j->pid = 0;
        snprintf(err, errlen, "cannot run the command: %s", strerror(e));
        goto out;
    }
    j->started = mono_ms();
    j->deadline = j->started + s->timeout_ms;
    j->poll = evtimer_new(j->o->base, exec_poll_cb, j);
    if (j->poll == NULL || evtimer_add(j->poll, &tv) != 0) {
        /* Without a timer it cannot be reaped: stop it now. */
        (void)kill(-j->pid, SIGKILL);
        (void)waitpid(j->pid, NULL, 0);
        j->pid = 0;
        snprintf(err, errlen, "cannot arm the child timer");
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    if (fa_ok) {
        posix_spawn_file_actions_destroy(&fa);
    }
    if (sa_ok) {
        posix_spawnattr_destroy(&sa);
    }
    notify_render_env_free(env);
    json_decref(alert);
    free(doc);
    return rc;
}

/* ---- stdout sink --------------------------------------------------------- */

static int
job_stdout(struct ob_job *j, char *err, size_t errlen)
{
    char *line = NULL;
    int rc = 0;

    if (j->sink->format != CONFIG_FORMAT_TLOGWATCH) {
        json_t *alert = json_loads(j->body, 0, NULL);
        if (alert == NULL) {
            snprintf(err, errlen, "the stored alert is not JSON");
            return -1;
        }
        line = ob_render(j->sink, j->o, j->body, alert, err, errlen);
        json_decref(alert);
        if (line == NULL) {
            return -1;
        }
    }
    if (printf("%s\n", line != NULL ? line : j->body) < 0 ||
        fflush(stdout) != 0) {
        snprintf(err, errlen, "cannot write to stdout: %s", strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

/* ---- starting a job ------------------------------------------------------ */

/* Start j on its sink; on a synchronous outcome, job_done() is called. */
static void
job_start(struct ob_job *j)
{
    struct ob_sink *s = j->sink;
    char err[OUTBOX_ERROR_MAX] = "";
    int rc;

    if (!j->direct) {
        s->job = j;
    }
    if (s->type == CONFIG_SINK_SLACK) {
        s->gate_until = mono_ms() + j->o->slack_interval;
    }
    switch (s->type) {
    case CONFIG_SINK_STDOUT:
        rc = job_stdout(j, err, sizeof(err));
        job_done(j, rc == 0 ? OUTBOX_SENT : OUTBOX_RETRY, 0, 0, 0, err);
        return;
    case CONFIG_SINK_EXEC:
        rc = job_start_exec(j, err, sizeof(err));
        break;
    case CONFIG_SINK_EMAIL:
        rc = job_start_smtp(j, err, sizeof(err));
        break;
    case CONFIG_SINK_SLACK:
    case CONFIG_SINK_WEBHOOK:
    case CONFIG_SINK_ALERTMANAGER:
    case CONFIG_SINK_PAGERDUTY:
    case CONFIG_SINK_GITHUB_ISSUE:
    default:
        rc = job_start_http(j, err, sizeof(err));
        break;
    }
    if (rc != 0) {
        job_done(j, OUTBOX_RETRY, 0, 0, 0, err);
    }
}

static struct ob_job *
job_new(struct outbox *o, struct ob_sink *s, const char *alert_id,
        const char *body)
{
    struct ob_job *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        return NULL;
    }
    j->o = o;
    j->sink = s;
    j->page = 1;
    j->alert_id = strdup(alert_id != NULL ? alert_id : "");
    j->body = strdup(body);
    if (j->alert_id == NULL || j->body == NULL) {
        ob_job_free(j);
        return NULL;
    }
    return j;
}

static struct ob_sink *
sink_find(struct outbox *o, const char *name)
{
    size_t i;

    for (i = 0; i < o->n_sinks; i++) {
        if (strcmp(o->sinks[i].name, name) == 0) {
            return &o->sinks[i];
        }
    }
    return NULL;
}

/* ---- the scan -------------------------------------------------------------
 */

struct scan_ctx {
    struct outbox *o;
    uint64_t now_ms;
    int64_t now_s;
    uint64_t wake; /* ms until the next scan, UINT64_MAX: none */
    struct ob_job **jobs;
    size_t njobs, cap;
    size_t free_left; /* sinks that may still take a row */
    int waiting;      /* a due row waits on a rate gate */
    int oom;
};

static void
scan_wake(struct scan_ctx *c, uint64_t ms)
{
    if (ms < c->wake) {
        c->wake = ms;
    }
}

/* A sink is out of a drain once it failed: its rows wait for next time. */
static int
drain_skips(const struct outbox *o, const struct ob_sink *s)
{
    return o->draining && s->fails > 0;
}

static int
scan_row(void *arg, const struct store_delivery *d)
{
    struct scan_ctx *c = arg;
    struct outbox *o = c->o;
    struct ob_sink *s = sink_find(o, d->sink);
    struct ob_job *j;

    if (s == NULL || s->claimed) {
        return 0; /* not configured (any more), or has its row */
    }
    if (d->next_attempt_at > c->now_s) {
        if (!o->draining) {
            scan_wake(c, (uint64_t)(d->next_attempt_at - c->now_s) * 1000);
        }
        return 0;
    }
    if (s->gated) {
        scan_wake(c, s->gate_until - c->now_ms);
        c->waiting = 1;
        s->claimed = 1;
        return --c->free_left == 0;
    }
    if (c->njobs == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct ob_job **nj = realloc(c->jobs, cap * sizeof(*nj));
        if (nj == NULL) {
            c->oom = 1;
            return 1;
        }
        c->jobs = nj;
        c->cap = cap;
    }
    j = job_new(o, s, d->alert_id, d->body);
    if (j == NULL) {
        c->oom = 1;
        return 1;
    }
    j->attempts = d->attempts;
    c->jobs[c->njobs++] = j;
    if (s->type == CONFIG_SINK_STDOUT) {
        return 0; /* written at once: takes every due row */
    }
    s->claimed = 1;
    return --c->free_left == 0;
}

static void
ob_scan(struct outbox *o)
{
    struct scan_ctx c;
    size_t i;

    if (o->store == NULL) {
        return;
    }
    if (o->scanning) {
        o->rescan = 1;
        return;
    }
    o->scanning = 1;
    o->drain_ready = 0;
    do {
        o->rescan = 0;
        memset(&c, 0, sizeof(c));
        c.o = o;
        c.now_ms = mono_ms();
        c.now_s = time(NULL);
        c.wake = UINT64_MAX;
        for (i = 0; i < o->n_sinks; i++) {
            struct ob_sink *s = &o->sinks[i];
            s->claimed = 1;
            s->gated = 0;
            if (s->job != NULL || drain_skips(o, s)) {
                continue;
            }
            if (s->blocked_until > c.now_ms) {
                scan_wake(&c, s->blocked_until - c.now_ms);
                continue;
            }
            s->gated = s->gate_until > c.now_ms;
            s->claimed = 0;
            c.free_left++;
        }
        if (c.free_left > 0 &&
            store_deliveries_due(o->store, INT64_MAX, 0, scan_row, &c) != 0) {
            log_warnx("outbox: %s", store_errmsg(o->store));
            scan_wake(&c, 5000);
        }
        if (c.oom) {
            log_warnx("outbox: out of memory");
            scan_wake(&c, 1000);
        }
        for (i = 0; i < o->n_sinks; i++) {
            o->sinks[i].claimed = 0;
            o->sinks[i].gated = 0;
        }
        for (i = 0; i < c.njobs; i++) {
            job_start(c.jobs[i]);
        }
        free(c.jobs);
    } while (o->rescan);
    o->scanning = 0;
    if (c.wake != UINT64_MAX) {
        ob_schedule(o, c.wake);
    }
    if (o->draining && o->drain_cb != NULL && ob_idle(o) && !c.waiting &&
        !c.oom) {
        struct timeval tv = {0, 0};
        o->drain_ready = 1;
        evtimer_add(o->drain_ev, &tv);
    }
}

void
outbox_kick(struct outbox *o)
{
    if (o == NULL) {
        return;
    }
    if (!o->started) {
        o->started = 1;
        if (o->hb_on) {
            struct timeval tv = {0, 0};
            evtimer_add(o->hb_ev, &tv);
        }
    }
    ob_scan(o);
}

/* ---- drain ------------------------------------------------------------------
 */

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct outbox *o = arg;
    outbox_idle_cb cb = o->drain_cb;

    (void)fd;
    (void)what;
    if (cb == NULL) {
        return;
    }
    if (!o->drain_ready && mono_ms() < o->drain_deadline) {
        return; /* a job ends later and scans again */
    }
    o->drain_cb = NULL;
    cb(o->drain_arg);
}

void
outbox_drain(struct outbox *o, uint64_t deadline_ms, outbox_idle_cb cb,
             void *arg)
{
    struct timeval tv;

    o->draining = 1;
    o->drain_deadline = mono_ms() + deadline_ms;
    o->drain_cb = cb;
    o->drain_arg = arg;
    /* The deadline, and a first scan now. */
    tv.tv_sec = (time_t)(deadline_ms / 1000);
    tv.tv_usec = (suseconds_t)((deadline_ms % 1000) * 1000);
    evtimer_add(o->drain_ev, &tv);
    ob_schedule(o, 0);
}

/* ---- direct sends -------------------------------------------------------- */

int
outbox_send_direct(struct outbox *o, const char *sink, const char *body,
                   outbox_send_cb cb, void *arg)
{
    struct ob_sink *s = sink_find(o, sink);
    json_t *a;
    struct ob_job *j;

    if (s == NULL || body == NULL) {
        return -1;
    }
    a = json_loads(body, 0, NULL);
    j = job_new(o, s, notify_alert_get_id(a), body);
    json_decref(a);
    if (j == NULL) {
        return -1;
    }
    j->direct = 1;
    j->cb = cb;
    j->arg = arg;
    j->next = o->direct;
    o->direct = j;
    job_start(j);
    return 0;
}

/* ---- heartbeat --------------------------------------------------------------
 */

struct hb_ctx {
    json_t *logs;
    uint64_t max_lag;
};

static int
hb_log(void *arg, const struct store_log_status *st)
{
    struct hb_ctx *c = arg;
    uint64_t cursor = st->has_cursor ? st->next_shard_index : 0;
    uint64_t size = st->has_checkpoint ? st->verified_size : 0;
    uint64_t lag = size > cursor ? size - cursor : 0;
    char when[32] = "";
    json_t *l;

    if (st->frozen) {
        return 0;
    }
    if (st->last_success_at > 0) {
        notify_rfc3339((time_t)st->last_success_at, when, sizeof(when));
    }
    l = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s}", "name", st->name, "origin",
                  st->origin, "verified_size", (json_int_t)size, "cursor",
                  (json_int_t)cursor, "next_index",
                  (json_int_t)(st->has_cursor ? st->next_index : 0), "lag",
                  (json_int_t)lag, "last_success_at", when);
    if (l != NULL) {
        json_array_append_new(c->logs, l);
    }
    if (lag > c->max_lag) {
        c->max_lag = lag;
    }
    return 0;
}

static void
hb_cb(evutil_socket_t fd, short what, void *arg)
{
    struct outbox *o = arg;
    struct hb_ctx c = {NULL, 0};
    struct timespec ts;
    uint64_t now_ms, slot, next;
    struct timeval tv;
    char key[64], summary[160];
    json_t *a = NULL, *hb;
    char *body = NULL;
    struct store_alert sa;
    int inserted = 0;

    (void)fd;
    (void)what;
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    slot = now_ms / o->hb_every;
    /* Next beat at the start of the next slot. */
    next = (slot + 1) * o->hb_every - now_ms;
    tv.tv_sec = (time_t)(next / 1000);
    tv.tv_usec = (suseconds_t)((next % 1000) * 1000);
    evtimer_add(o->hb_ev, &tv);

    c.logs = json_array();
    if (c.logs == NULL || store_logs_each(o->store, hb_log, &c) != 0) {
        log_warnx("heartbeat: %s", store_errmsg(o->store));
        goto out;
    }
    /* One id per period: a restart within it does not beat twice. */
    snprintf(key, sizeof(key), "heartbeat|%llu|%llu",
             (unsigned long long)o->hb_every, (unsigned long long)slot);
    snprintf(summary, sizeof(summary),
             "tlogwatch is running: %zu log(s), largest lag %llu entries",
             json_array_size(c.logs), (unsigned long long)c.max_lag);
    a = notify_alert_new("monitor.heartbeat", key, summary,
                         (time_t)(now_ms / 1000));
    hb = json_pack("{s:I,s:O}", "every_ms", (json_int_t)o->hb_every, "logs",
                   c.logs);
    if (a == NULL || hb == NULL || notify_alert_set(a, "heartbeat", hb) != 0 ||
        (body = notify_alert_render(a)) == NULL) {
        log_warnx("heartbeat: out of memory");
        goto out;
    }
    memset(&sa, 0, sizeof(sa));
    sa.id = notify_alert_get_id(a);
    sa.type = notify_alert_get_type(a);
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = (int64_t)(now_ms / 1000);
    sa.body = body;
    sa.sinks = (const char *const *)o->hb_sinks;
    sa.nsinks = o->hb_n;
    if (store_alert_record(o->store, 0, &sa, &inserted) != 0) {
        log_warnx("heartbeat: %s", store_errmsg(o->store));
        goto out;
    }
    if (inserted) {
        log_debug("heartbeat: recorded for %zu sink(s)", o->hb_n);
        ob_scan(o);
    }
out:
    free(body);
    json_decref(a);
    json_decref(c.logs);
}

/* ---- life cycle -------------------------------------------------------- */

static char *
dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    d = strdup(s);
    if (d == NULL) {
        *oom = 1;
    }
    return d;
}

static void
wipe_free(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

struct outbox *
outbox_new(const struct outbox_opts *opts, char *err, size_t errlen)
{
    struct outbox *o = calloc(1, sizeof(*o));
    const struct config *cfg = opts->cfg;
    const char *tmp = opts->tmp_dir;
    int oom = 0;
    size_t i;

    if (o == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    o->base = opts->base;
    o->store = opts->store;
    o->http = opts->http;
    o->rng = opts->seed | 1;
    o->backoff_base =
        opts->backoff_base_ms ? opts->backoff_base_ms : OUTBOX_BACKOFF_BASE_MS;
    o->backoff_max =
        opts->backoff_max_ms ? opts->backoff_max_ms : OUTBOX_BACKOFF_MAX_MS;
    o->slack_interval = opts->slack_interval_ms ? opts->slack_interval_ms
                                                : OUTBOX_SLACK_INTERVAL_MS;
    if (tmp == NULL) {
        tmp = getenv("TMPDIR");
    }
    o->tmp_dir = strdup(tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (gethostname(o->host, sizeof(o->host)) != 0) {
        o->host[0] = '\0';
    }
    o->host[sizeof(o->host) - 1] = '\0';
    if (cfg->http.listen != NULL) {
        snprintf(o->generator, sizeof(o->generator), "http://%s/#alerts",
                 cfg->http.listen);
    }
    o->scan_ev = evtimer_new(o->base, ob_scan_cb, o);
    o->drain_ev = evtimer_new(o->base, drain_cb, o);
    o->hb_ev = evtimer_new(o->base, hb_cb, o);
    o->sinks = calloc(cfg->n_sinks + 1, sizeof(*o->sinks));
    if (o->tmp_dir == NULL || o->scan_ev == NULL || o->drain_ev == NULL ||
        o->hb_ev == NULL || o->sinks == NULL) {
        goto oom;
    }
    for (i = 0; i < cfg->n_sinks; i++) {
        const struct config_sink *cs = &cfg->sinks[i];
        struct ob_sink *s = &o->sinks[i];
        o->n_sinks = i + 1;
        s->type = cs->type;
        s->name = dup_or_null(cs->name, &oom);
        s->url = dup_or_null(cs->url, &oom);
        if (s->url != NULL && s->type == CONFIG_SINK_ALERTMANAGER) {
            /* The configured base URL; alerts go to its API v2. */
            static const char api[] = "/api/v2/alerts";
            size_t n = strlen(s->url);
            char *u;
            while (n > 0 && s->url[n - 1] == '/') {
                n--;
            }
            u = malloc(n + sizeof(api));
            if (u == NULL) {
                goto oom;
            }
            memcpy(u, s->url, n);
            memcpy(u + n, api, sizeof(api));
            wipe_free(s->url);
            s->url = u;
        }
        s->secret = dup_or_null(cs->secret, &oom);
        s->command = dup_or_null(cs->command, &oom);
        s->format = cs->format;
        s->repository = dup_or_null(cs->repository, &oom);
        if (cs->labels.n > 0) {
            size_t k;
            s->labels = calloc(cs->labels.n + 1, sizeof(char *));
            if (s->labels == NULL) {
                goto oom;
            }
            for (k = 0; k < cs->labels.n; k++) {
                s->labels[k] = dup_or_null(cs->labels.v[k], &oom);
                s->nlabels += s->labels[k] != NULL;
            }
        }
        s->from = dup_or_null(cs->from, &oom);
        s->username = dup_or_null(cs->username, &oom);
        s->ca_file = dup_or_null(cs->ca_file, &oom);
        s->plain = cs->plain;
        if (cs->to.n > 0) {
            size_t k;
            s->to = calloc(cs->to.n + 1, sizeof(char *));
            if (s->to == NULL) {
                goto oom;
            }
            for (k = 0; k < cs->to.n; k++) {
                s->to[k] = dup_or_null(cs->to.v[k], &oom);
                s->nto += s->to[k] != NULL;
            }
        }
        s->signing = cs->signing;
        s->resolve_after_s = cs->resolve_after_ms / 1000;
        if (cs->secret != NULL && cs->signing == CONFIG_SIGNING_STANDARD) {
            size_t k;
            s->keys = calloc(cs->n_secrets_more + 2, sizeof(char *));
            if (s->keys == NULL) {
                goto oom;
            }
            s->keys[s->nkeys++] = s->secret;
            for (k = 0; k < cs->n_secrets_more; k++) {
                if (cs->secrets_more[k] != NULL) {
                    s->keys[s->nkeys] = dup_or_null(cs->secrets_more[k], &oom);
                    if (s->keys[s->nkeys] != NULL) {
                        s->nkeys++;
                    }
                }
            }
        }
        s->timeout_ms = cs->timeout_ms;
        if (s->type == CONFIG_SINK_EXEC && s->timeout_ms == 0) {
            s->timeout_ms = CONFIG_DEFAULT_EXEC_TIMEOUT_MS;
        }
        outbox_sink_where(cs, s->where, sizeof(s->where));
        if (oom || s->name == NULL) {
            goto oom;
        }
    }
    if (opts->heartbeat && cfg->heartbeat.enabled && o->store != NULL) {
        o->hb_on = 1;
        o->hb_every = cfg->heartbeat.every_ms ? cfg->heartbeat.every_ms : 1;
        o->hb_sinks = calloc(cfg->heartbeat.notify.n + 1, sizeof(char *));
        if (o->hb_sinks == NULL) {
            goto oom;
        }
        for (i = 0; i < cfg->heartbeat.notify.n; i++) {
            o->hb_sinks[i] =
                strdup(cfg->sinks[cfg->heartbeat.notify.v[i]].name);
            if (o->hb_sinks[i] == NULL) {
                goto oom;
            }
            o->hb_n = i + 1;
        }
    }
    return o;
oom:
    snprintf(err, errlen, "out of memory");
    outbox_free(o);
    return NULL;
}

/* Stop a job in flight without a verdict (its row stays pending). */
static void
job_abort(struct ob_job *j)
{
    if (j->h != NULL) {
        http_cancel(j->h);
        j->h = NULL;
    }
    if (j->pid > 0) {
        (void)kill(-j->pid, SIGKILL);
        (void)waitpid(j->pid, NULL, 0);
        j->pid = 0;
    }
}

void
outbox_free(struct outbox *o)
{
    size_t i;

    if (o == NULL) {
        return;
    }
    while (o->direct != NULL) {
        struct ob_job *j = o->direct;
        job_abort(j);
        job_done(j, OUTBOX_RETRY, 0, 0, 0, "cancelled");
    }
    for (i = 0; i < o->n_sinks; i++) {
        struct ob_sink *s = &o->sinks[i];
        if (s->job != NULL) {
            job_abort(s->job);
            ob_job_free(s->job);
            s->job = NULL;
        }
        free(s->name);
        free(s->repository);
        if (s->labels != NULL) {
            size_t k;
            for (k = 0; k < s->nlabels; k++) {
                free(s->labels[k]);
            }
            free(s->labels);
        }
        if (s->to != NULL) {
            size_t k;
            for (k = 0; k < s->nto; k++) {
                free(s->to[k]);
            }
            free(s->to);
        }
        free(s->from);
        wipe_free(s->username);
        free(s->ca_file);
        wipe_free(s->url);
        if (s->keys != NULL) {
            size_t k;
            for (k = 1; k < s->nkeys; k++) {
                wipe_free(s->keys[k]);
            }
            free(s->keys);
        }
        wipe_free(s->secret);
        free(s->command);
    }
    for (i = 0; i < o->hb_n; i++) {
        free(o->hb_sinks[i]);
    }
    free(o->hb_sinks);
    free(o->sinks);
    if (o->scan_ev != NULL) {
        event_free(o->scan_ev);
    }
    if (o->drain_ev != NULL) {
        event_free(o->drain_ev);
    }
    if (o->hb_ev != NULL) {
        event_free(o->hb_ev);
    }
    free(o->tmp_dir);
    free(o);
}

/* ---- status ------------------------------------------------------------- */

char *
outbox_sink_where(const struct config_sink *cs, char *out, size_t outcap)
{
    if (outcap == 0) {
        return out;
    }
    out[0] = '\0'; /* stdout */
    if (cs->url != NULL) {
        notify_redact_url(cs->url, out, outcap);
    } else if (cs->command != NULL) {
        log_clean(cs->command, strlen(cs->command), out, outcap);
    }
    return out;
}

char *
outbox_error_kept(const char *error, char *out, size_t outcap)
{
    return notify_redact_reply(error, error != NULL ? strlen(error) : 0, out,
                               outcap);
}
