/*
 * config.h: the tlogwatch configuration, loaded from YAML (or the same
 * document written as JSON) into one immutable struct config with full
 * validation.  DESIGN.md "Config" is the contract; this header is its
 * precise reading.
 *
 * Invariants kept by this module:
 *  - config_load() either returns a struct config in which every field is
 *    valid (defaults filled in, names unique, sink references resolved),
 *    or NULL and the complete list of errors, each with the 1-based line
 *    and column of the offending node.  Nothing is half-loaded.
 *  - The struct is never modified after config_load() returns: treat it as
 *    read-only (reload = load a new one, swap it in, free the old one).
 *  - A secret (sink url, webhook secret, registry credentials) never
 *    appears in an error message: messages name the key, never its value.
 *    Secrets are wiped (OPENSSL_cleanse) by config_free().
 *  - Untrusted input is bounded by the CONFIG_MAX_* limits below; the
 *    loader is a pure function of the bytes, the environment (${NAME})
 *    and the secret files it names (file:PATH).  It never prints or exits.
 *
 * YAML subset accepted: one document of mappings, lists and scalars.
 * Anchors, aliases and tags are rejected (an error at their position):
 * they let a small file expand and hide what a value really is.
 * Duplicate mapping keys are errors.  Scalar typing follows the field:
 *  - integers (max_concurrency, start) are plain decimal digits; a quoted
 *    "8" is a string, so max_concurrency: "8" is a type error (start
 *    accepts "latest" or digits written either way);
 *  - booleans (record_expected) are plain true or false;
 *  - strings are any scalar except null (~, null, empty) and plain
 *    true/false, so repository_id: 123456 and repository_id: "123456"
 *    are the same.
 * JSON is read by the same parser (JSON is YAML flow syntax), so a JSON
 * file with the same content loads into an identical struct config.
 *
 * Durations: one or more <decimal><unit> groups, units d (24h), h, m, s,
 * ms, in decreasing order, each at most once ("1h30m", "500ms", "24h",
 * "400d", "1d12h").  No sign,
 * no fraction, no bare number; the total must be > 0 and at most
 * CONFIG_MAX_DURATION_MS.
 *
 * Secrets: the values of notify[].url, notify[].secret,
 * watch[].pcrs.credentials and http.token may be
 *  - "file:PATH": the contents of the regular file PATH (one trailing
 *    newline stripped; at most CONFIG_MAX_STRING bytes; unreadable is an
 *    error naming the path);
 *  - a string with ${NAME} references, each replaced by the environment
 *    variable NAME (unset is an error naming NAME; a lone '$' is kept).
 * Other fields are taken literally (no expansion).
 *
 * Relative paths (state, trusted_root, report.dir, exec command, file:
 * secrets) are resolved against the directory of the config file, made
 * absolute with realpath(3) at load time, so a config is independent of
 * the working directory.  config_load_mem() has no file: its relative
 * paths are kept as written (relative to the working directory).
 *
 * URLs (logs[].url, slack/webhook url, issuer): https://, or http:// only
 * when the host is loopback (127.0.0.0/8, [::1], localhost); never
 * user:password@.  pcrs.registry is host[:port]/repository, optionally
 * prefixed with https:// or http:// (http only for loopback); without a
 * scheme, loopback hosts are reached over plain HTTP (like a local test
 * registry) and every other host over HTTPS.
 */
#ifndef TLOGWATCH_CONFIG_H
#define TLOGWATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Limits on untrusted input. */
#define CONFIG_MAX_FILE (1024 * 1024) /* bytes in a config file */
#define CONFIG_MAX_DEPTH 16           /* nested mappings and lists */
#define CONFIG_MAX_ITEMS 256          /* items in a list, keys in a map */
#define CONFIG_MAX_STRING 4096        /* bytes in one scalar or secret */
#define CONFIG_MAX_NAME 64            /* bytes in a log/rule/sink name */
#define CONFIG_MAX_ERRORS 64          /* then one "too many errors" */
#define CONFIG_MAX_CONCURRENCY 64
#define CONFIG_MAX_DURATION_MS (100ULL * 365 * 24 * 3600 * 1000)
#define CONFIG_PCR_HEX_LEN 96                         /* SHA-384, hex */
#define CONFIG_MIN_RETENTION_MS (24ULL * 3600 * 1000) /* 1d */

/* Defaults (DESIGN.md "Config"). */
#define CONFIG_DEFAULT_STATE "/var/lib/tlogwatch/state.db"
#define CONFIG_DEFAULT_TRUSTED_ROOT "/etc/tlogwatch/trusted_root.json"
#define CONFIG_DEFAULT_ISSUER "https://token.actions.githubusercontent.com"
#define CONFIG_DEFAULT_POLL_INTERVAL_MS (30ULL * 1000)
#define CONFIG_DEFAULT_MAX_CONCURRENCY 8
#define CONFIG_DEFAULT_STALE_AFTER_MS (3600ULL * 1000)
#define CONFIG_DEFAULT_UNREACHABLE_AFTER_MS (600ULL * 1000)
#define CONFIG_DEFAULT_WITHHOLD_AFTER_MS (600ULL * 1000)
#define CONFIG_MIN_WITHHOLD_AFTER_MS (10ULL * 1000)
#define CONFIG_DEFAULT_LOOKUP_TIMEOUT_MS (900ULL * 1000)
#define CONFIG_DEFAULT_UNLOGGED_AFTER_MS (1800ULL * 1000)  /* 30m */
#define CONFIG_MIN_UNLOGGED_AFTER_MS (5ULL * 1000)         /* 5s */
#define CONFIG_MAX_UNLOGGED_AFTER_MS (7ULL * 86400 * 1000) /* 7d */
/* retention.signings (when not 0) is at least the largest watch rule's
 * unlogged_after plus this: the time a CT log may lag behind Rekor. */
#define CONFIG_RETENTION_CT_MARGIN_MS (86400ULL * 1000) /* 1d */
#define CONFIG_DEFAULT_EXEC_TIMEOUT_MS (30ULL * 1000)
#define CONFIG_DEFAULT_RESOLVE_AFTER_MS (24ULL * 3600 * 1000)
#define CONFIG_DEFAULT_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"
#define CONFIG_DEFAULT_GITHUB_API_URL "https://api.github.com"
#define CONFIG_MAX_LABELS 10
#define CONFIG_MAX_RECIPIENTS 32           /* email: addresses in to: */
#define CONFIG_MAX_SECRETS 8               /* keys in a webhook secret: list */
#define CONFIG_DEFAULT_READY_LAG 100000ULL /* http.ready_lag */
#define CONFIG_MIN_TOKEN 16                /* bytes in http.token */

enum config_log_kind {
    CONFIG_LOG_REKOR_V1 = 0, /* "rekor-v1": the REST API */
    CONFIG_LOG_REKOR_V2,     /* "rekor-v2": tlog-tiles */
    CONFIG_LOG_CT,           /* "ct": an RFC 6962 Certificate Transparency
                                log (Fulcio's), key from ctlogs */
};

enum config_sink_type {
    CONFIG_SINK_SLACK = 0,
    CONFIG_SINK_WEBHOOK,
    CONFIG_SINK_EXEC,
    CONFIG_SINK_STDOUT,
    CONFIG_SINK_ALERTMANAGER, /* Prometheus Alertmanager, API v2 */
    CONFIG_SINK_PAGERDUTY,    /* PagerDuty Events API v2 */
    CONFIG_SINK_GITHUB_ISSUE, /* one GitHub issue per alert */
    CONFIG_SINK_EMAIL,        /* one email per alert, over SMTP + TLS */
};

/* The envelope of a webhook, exec or stdout sink (format:); same order
 * and values as enum notify_format. */
enum config_sink_format {
    CONFIG_FORMAT_TLOGWATCH = 0, /* the tlogwatch.alert/v1 document */
    CONFIG_FORMAT_CLOUDEVENTS,   /* CloudEvents 1.0, structured JSON */
    CONFIG_FORMAT_OCSF,          /* OCSF Detection Finding (2004) */
};

/* How a webhook is signed (signing:). */
enum config_sink_signing {
    CONFIG_SIGNING_TLOGWATCH = 0, /* X-Tlogwatch-Signature, hex HMAC */
    CONFIG_SIGNING_STANDARD,      /* Standard Webhooks: webhook-* headers */
};

/* Same order and values as enum notify_severity (config/ may not include
 * notify/): a cast converts one into the other. */
enum config_severity {
    CONFIG_SEVERITY_INFO = 0,
    CONFIG_SEVERITY_WARNING = 1,
    CONFIG_SEVERITY_CRITICAL = 2,
};

/* The PCRs a watch rule can pin, index into config_pcr_set.hex. */
enum config_pcr {
    CONFIG_PCR0 = 0,
    CONFIG_PCR1,
    CONFIG_PCR2,
    CONFIG_PCR8,
    CONFIG_PCR_COUNT,
};

/* Bits of config_watch.runners. */
#define CONFIG_RUNNER_GITHUB_HOSTED 0x1u
#define CONFIG_RUNNER_SELF_HOSTED 0x2u

/* Where a value came from: 1-based line and column; 0, 0 for a default. */
struct config_pos {
    unsigned long line;
    unsigned long col;
};

/* A list of strings.  set == 0: the key was absent (no restriction);
 * set == 1 and n == 0: an explicit empty list (nothing allowed). */
struct config_strings {
    char **v;
    size_t n;
    int set;
};

/* Sinks referenced by heartbeat.notify or report.notify: indexes into
 * config.sinks, in the order written, each at most once. */
struct config_sink_refs {
    size_t *v;
    size_t n;
};

struct config_log {
    struct config_pos pos; /* the log's mapping */
    char *name;
    enum config_log_kind kind;     /* default rekor-v1 */
    char *url;                     /* trailing '/' removed */
    uint64_t poll_interval_ms;     /* default 30s */
    int start_latest;              /* default 1 */
    uint64_t start_index;          /* when !start_latest */
    unsigned max_concurrency;      /* 1..64, default 8 */
    uint64_t stale_after_ms;       /* default 1h */
    uint64_t unreachable_after_ms; /* default 10m */
    uint64_t withhold_after_ms;    /* default 10m, at least 10s */
    int discovered; /* 1: found in the trusted root (config/discovery.h),
                       not written under logs: */
};

struct config_pcr_set {
    unsigned present; /* bit (1u << enum config_pcr) per PCR given */
    char hex[CONFIG_PCR_COUNT][CONFIG_PCR_HEX_LEN + 1]; /* lowercase */
};

struct config_pcrs {
    int enabled;                  /* 0: no pcrs: key, the rest is unset */
    char *registry_host;          /* host[:port] */
    char *registry_repository;    /* e.g. acme/enclave-app */
    int registry_plain_http;      /* 1: http://, 0: https:// */
    char *credentials;            /* secret, or NULL (anonymous) */
    struct config_pcr_set *allow; /* at least one set */
    size_t n_allow;
    uint64_t lookup_timeout_ms; /* default 15m */
};

struct config_watch {
    struct config_pos pos;
    char *name;
    char *repository;                /* owner/repo, lowercased */
    char *repository_id;             /* decimal digits, or NULL */
    char *issuer;                    /* default CONFIG_DEFAULT_ISSUER */
    struct config_strings workflows; /* .github/workflows/... paths */
    struct config_strings refs;      /* globs, each starting refs/ */
    struct config_strings triggers;  /* event names */
    unsigned runners; /* CONFIG_RUNNER_* bits; default github-hosted */
    struct config_pcrs pcrs;
    int record_expected; /* default 0 */
    /* A certificate for the repository seen in a CT log with no Rekor
     * entry using it this long after its NotBefore raises
     * signing.unlogged_certificate; default 30m, at least
     * CONFIG_MIN_UNLOGGED_AFTER_MS, at most CONFIG_MAX_UNLOGGED_AFTER_MS */
    uint64_t unlogged_after_ms;
};

struct config_sink {
    struct config_pos pos;
    char *name;
    enum config_sink_type type;
    enum config_severity min_severity; /* default info */
    char *url;           /* slack, webhook, alertmanager (required), pagerduty
                            (default CONFIG_DEFAULT_PAGERDUTY_URL), email
                            (required, smtps:// or smtp://); secret */
    char *secret;        /* webhook HMAC key, or NULL; pagerduty: the
                            routing_key (required); email: the password
                            or NULL; secret */
    char **secrets_more; /* webhook, signing standard: the keys after
                            the first of a secret: list (rotation); each
                            a secret; n_secrets_more of them */
    size_t n_secrets_more;
    char *command;       /* exec (required): executable path, no args */
    uint64_t timeout_ms; /* exec; default 30s; 0 for other types */
    enum config_sink_format format;   /* webhook, exec, stdout */
    enum config_sink_signing signing; /* webhook, with a secret */
    uint64_t resolve_after_ms;        /* alertmanager: endsAt - startsAt, 24h */
    char *repository;                 /* github_issue: owner/repo (required) */
    struct config_strings labels;     /* github_issue: labels of new issues */
    /* email: url is the smtps:// or smtp:// (STARTTLS required unless
     * plain) server,
     * secret the password (or NULL) */
    char *from;               /* email: the sender address (required) */
    struct config_strings to; /* email: 1 to CONFIG_MAX_RECIPIENTS */
    char *username;           /* email: SMTP AUTH user, or NULL; secret */
    char *ca_file;            /* email: PEM CAs trusted instead of the
                                 system's, or NULL */
    int plain; /* email: tls: none (default 0, TLS required): plain SMTP,
                  only smtp:// to a loopback host, no credentials */
};

struct config_heartbeat {
    int enabled; /* 0: no heartbeat: key */
    uint64_t every_ms;
    struct config_sink_refs notify; /* at least one */
};

struct config_report {
    uint64_t every_ms; /* 0: no periodic report */
    struct config_sink_refs notify;
    char *dir; /* where reports are written, or NULL */
};

/* retention: how long the store keeps each kind of row; 0 (the default
 * for each, and a plain 0 in the file) keeps it forever.  Otherwise at
 * least CONFIG_MIN_RETENTION_MS.  What is never deleted is the store's
 * business (store.h, store_prune). */
struct config_retention {
    struct config_pos pos;   /* the retention: mapping; 0, 0 when absent */
    uint64_t checkpoints_ms; /* verified checkpoints */
    uint64_t alerts_ms;      /* alerts, with their deliveries */
    uint64_t signings_ms;    /* watched signings */
};

/* http: the status server (monitor/server/).  A listen address that is
 * not loopback requires a token (a secret: ${NAME} or file:PATH, at
 * least CONFIG_MIN_TOKEN bytes), sent as "Authorization: Bearer <token>"
 * for everything but /livez and /readyz. */
struct config_http {
    char *listen; /* "host:port" as written, or NULL: no HTTP server */
    char *host;   /* IP literal or localhost, without brackets */
    unsigned port;
    char *token;        /* secret, or NULL (loopback only) */
    uint64_t ready_lag; /* /readyz: most entries behind; default 100,000 */
};

struct config {
    char *path;     /* the name given to config_load / config_load_mem */
    char *base_dir; /* absolute dir relative paths were resolved against,
                       or NULL (config_load_mem) */
    char *state;    /* sqlite file; default CONFIG_DEFAULT_STATE */
    struct config_pos state_pos;
    char *trusted_root; /* default CONFIG_DEFAULT_TRUSTED_ROOT */
    struct config_pos trusted_root_pos;
    /* logs_from_trusted_root: follow the trusted root's logs too
     * (config/discovery.h); default 0.  discovered_start: where a log
     * found there starts ("latest", the default, or an index). */
    int logs_from_trusted_root;
    int discovered_start_latest; /* default 1 */
    uint64_t discovered_start_index;
    struct config_log *logs; /* at least one, unless logs_from_trusted_root */
    size_t n_logs;
    struct config_watch *watch;
    size_t n_watch;
    struct config_sink *sinks; /* the notify: list */
    size_t n_sinks;
    struct config_heartbeat heartbeat;
    struct config_report report;
    struct config_http http;
    struct config_retention retention;
    /* attestation.root: the status server's trust anchor for attestation
     * documents (a PEM file, checked at load), or NULL: the AWS Nitro
     * Enclaves Root G1 compiled in. */
    char *attestation_root;
};

/* One error.  line and col are 1-based; line == 0 for an error about the
 * file as a whole (cannot open, too large). */
struct config_error {
    char *file;
    unsigned long line;
    unsigned long col;
    char *message;
};

/* Errors in the order of their position in the file.  When truncated,
 * the last entry says so and the errors after it were dropped. */
struct config_errors {
    struct config_error *v;
    size_t n;
    size_t cap;
    int truncated;
};

/*
 * Load and validate the config file at path.  Returns new (caller frees
 * with config_free) with *errs = NULL, or NULL with *errs = new list of
 * every error found (caller frees with config_errors_free).  NULL with
 * *errs == NULL only when memory ran out.  Error messages name the file
 * as path was given.
 */
struct config *config_load(const char *path, struct config_errors **errs);

/*
 * config_load plus the checks that look at the system, for `tlogwatch
 * check-config`: the trusted root (trusted_root, or its default) loads,
 * and the directory of state (or of its default) exists and is writable
 * by this process's real user (access(2)); the state file itself may be
 * absent, and when present must be a regular file that user can read and
 * write.  Their errors come at the key's position (line 0 for a default)
 * in the same sorted list as every other error, whatever else is wrong;
 * a key whose value is itself invalid is not checked further.  Same
 * ownership and results as config_load.
 */
struct config *config_check(const char *path, struct config_errors **errs);

/*
 * The same from len bytes at buf (need not be NUL-terminated); name is
 * used in error messages.  Relative paths are kept relative.
 */
struct config *config_load_mem(const void *buf, size_t len, const char *name,
                               struct config_errors **errs);

/* Frees cfg and wipes its secrets.  config_free(NULL) is a no-op. */
void config_free(struct config *cfg);

/* Borrowed (valid while cfg lives), or NULL when there is no such name. */
const struct config_log *config_log_find(const struct config *cfg,
                                         const char *name);
const struct config_watch *config_watch_find(const struct config *cfg,
                                             const char *name);
const struct config_sink *config_sink_find(const struct config *cfg,
                                           const char *name);

/* Static names ("rekor-v1", "slack", "warning", "PCR8"); never NULL. */
const char *config_log_kind_name(enum config_log_kind k);
const char *config_sink_type_name(enum config_sink_type t);
const char *config_severity_name(enum config_severity s);
const char *config_pcr_name(enum config_pcr p);

/*
 * Parse a duration (grammar above) of len bytes at s into *ms.  Returns 0,
 * or -1 with *why set to a static reason.  Also used for command-line
 * durations (report --since).
 */
int config_parse_duration(const char *s, size_t len, uint64_t *ms,
                          const char **why);

/*
 * Append an error (message from fmt) to *errs, creating the list when
 * *errs is NULL.  Returns 0, or -1 when memory ran out.  Past
 * CONFIG_MAX_ERRORS errors, one "too many errors" entry is kept instead.
 */
int config_errors_add(struct config_errors **errs, const char *file,
                      unsigned long line, unsigned long col, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

/* Frees errs.  config_errors_free(NULL) is a no-op. */
void config_errors_free(struct config_errors *errs);

/*
 * Format e as "file:line:col: message" ("file: message" when line is 0)
 * into buf of cap bytes (truncated, always NUL-terminated).  Returns buf.
 */
char *config_error_format(const struct config_error *e, char *buf, size_t cap);

#endif
