/*
 * render.h: what each sink sends for an alert, as pure functions of the
 * alert object (DESIGN.md "Alert"): the Slack Block Kit message and its
 * plain-text fallback, the webhook HMAC signature header, and the
 * environment of an exec hook.  No I/O, no clock, no shared state: the
 * caller passes the time and owns every result.
 *
 * The alert may come from the store, and its strings from a certificate
 * an attacker chose (repository, ref, run URI ...).  Invariants kept:
 *  - every string taken from the alert is cut to NOTIFY_RENDER_FIELD_MAX
 *    bytes (on a UTF-8 boundary) and, in Slack mrkdwn, escaped (&, <, >),
 *    so an alert can neither forge a link nor ping a channel;
 *  - a link is made only from a URL this module builds from checked parts
 *    (GitHub owner/repo and a 40-hex commit; a log index) or from an
 *    https:// URL without blanks, quotes, '<', '>', '|' or control bytes;
 *    anything else is shown as escaped text;
 *  - the Slack message stays within Block Kit's documented limits
 *    (NOTIFY_SLACK_* below): at most NOTIFY_SLACK_MAX_BLOCKS blocks, a
 *    header of plain_text <= 150 characters, section text <= 3000, at most
 *    10 fields of <= 2000 each, context elements <= 10;
 *  - exec environment values hold no control byte (replaced with '?'),
 *    no NUL, and never a secret: only alert fields and the JSON file path.
 */
#ifndef TLOGWATCH_NOTIFY_RENDER_H
#define TLOGWATCH_NOTIFY_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Named limits. */
#define NOTIFY_RENDER_FIELD_MAX 512      /* bytes kept of one alert string */
#define NOTIFY_RENDER_SUMMARY_MAX 1500   /* bytes kept of the summary */
#define NOTIFY_RENDER_REASONS_MAX 8      /* reasons listed; then "and N more" */
#define NOTIFY_SLACK_MAX_BLOCKS 50       /* Block Kit: blocks in a message */
#define NOTIFY_SLACK_HEADER_MAX 150      /* header plain_text characters */
#define NOTIFY_SLACK_SECTION_MAX 3000    /* section text characters */
#define NOTIFY_SLACK_FIELDS_MAX 10       /* fields of a section */
#define NOTIFY_SLACK_FIELD_TEXT_MAX 2000 /* characters of one field */
#define NOTIFY_SLACK_CONTEXT_MAX 10      /* elements of a context block */
#define NOTIFY_SLACK_TEXT_MAX 4000       /* top-level fallback "text" */
#define NOTIFY_SEARCH_URL "https://search.sigstore.dev/?logIndex="
#define NOTIFY_SIGNATURE_MAX 96   /* "t=<20 digits>,v1=<64 hex>" + NUL */
#define NOTIFY_ENV_VALUE_MAX 4096 /* bytes of one exec environment value */

/*
 * The fields a person acts on, taken from an alert (borrowed strings point
 * into the alert; NULL when absent or not a string) or derived into the
 * arrays (cleaned, cut; "" when unknown).
 */
struct notify_alert_fields {
    const char *type, *severity, *summary, *id, *detected_at, *rule;
    const char *log_name, *log_origin, *entry_uuid, *entry_kind;
    const char *repository, *repository_id, *workflow_ref, *build_config_uri;
    const char *workflow_sha, *runner_environment, *trigger;
    const char *run_invocation_uri, *san, *issuer, *cert_sha256;
    const char *pcr[3]; /* PCR0, PCR1, PCR2 */
    int has_log_index;
    uint64_t log_index;
    /* Derived from build_config_uri (or workflow_ref): the workflow path
     * (".github/workflows/x.yml") and the ref ("refs/heads/main"). */
    char workflow[NOTIFY_RENDER_FIELD_MAX + 1];
    char ref[NOTIFY_RENDER_FIELD_MAX + 1];
};

/* Parse "YYYY-MM-DDTHH:MM:SS[.frac]Z" (what notify_rfc3339 writes; s
 * may be NULL) into seconds since the epoch.  Returns 0 or -1. */
int notify_parse_rfc3339(const char *s, int64_t *out);

/* Fill *f from alert (borrowed: f's pointers live as long as alert). */
void notify_alert_fields(const json_t *alert, struct notify_alert_fields *f);

/*
 * The Slack incoming-webhook payload for alert: {"text": fallback,
 * "blocks": [...]} with a header (severity and type), the summary, a
 * fields section (severity, type, repository, workflow, ref, commit link,
 * runner, trigger, run link, rule, log index linked to search.sigstore.dev,
 * log name: each only when known), reasons, PCRs when known, and a context
 * line with the alert id and detection time.  Returns new (free()), or
 * NULL when alert is not an object or memory runs out.
 */
char *notify_render_slack(const json_t *alert);

/*
 * A plain-text rendering, several lines: "[SEVERITY] type: summary" then
 * one "name: value" line per known field (the same as in Slack, links as
 * bare URLs).  Used as Slack's fallback "text" and by test-alert.
 * Returns new (free()), or NULL.
 */
char *notify_render_text(const json_t *alert);

/*
 * The link to the entry on search.sigstore.dev for a log index, into out
 * (outcap >= 64).  Returns out.
 */
char *notify_render_search_url(uint64_t log_index, char *out, size_t outcap);

/*
 * The webhook signature header value "t=<t>,v1=<hex HMAC-SHA256(key,
 * "<t>.<body>")>" into out (outcap >= NOTIFY_SIGNATURE_MAX).  key is the
 * sink's secret (keylen bytes, borrowed, not kept).  t >= 0.  Returns 0,
 * or -1 (bad arguments, OpenSSL failure) with out emptied.
 */
int notify_render_signature(const void *key, size_t keylen, int64_t t,
                            const void *body, size_t bodylen, char *out,
                            size_t outcap);

/*
 * The environment of an exec hook, a NULL-terminated array of "NAME=value"
 * strings: EVENT (the type), SEVERITY, SUMMARY, ALERT_ID, DETECTED_AT,
 * ALERT_JSON_FILE (json_file, borrowed), then those known of RULE, LOG_NAME,
 * LOG_INDEX, ENTRY_UUID, SEARCH_URL, REPOSITORY, REPOSITORY_ID, WORKFLOW,
 * REF, WORKFLOW_REF, BUILD_CONFIG_URI, WORKFLOW_SHA, RUNNER_ENVIRONMENT,
 * TRIGGER, RUN_INVOCATION_URI, SAN, ISSUER, CERT_SHA256, PCR0, PCR1, PCR2,
 * and each string of base (borrowed, e.g. "PATH=/usr/bin:/bin"; may be
 * NULL).  Returns new (free with notify_render_env_free), or NULL.
 */
char **notify_render_exec_env(const json_t *alert, const char *json_file,
                              const char *const *base);
/* Free an environment; NULL is a no-op. */
void notify_render_env_free(char **env);

/* ---- envelopes (render_envelope.c) ------------------------------------ */

/* A sink's envelope (format:); same values as enum config_sink_format. */
enum notify_format {
    NOTIFY_FORMAT_TLOGWATCH = 0, /* the tlogwatch.alert/v1 document */
    NOTIFY_FORMAT_CLOUDEVENTS,   /* CloudEvents 1.0, structured JSON mode */
    NOTIFY_FORMAT_OCSF,          /* OCSF Detection Finding */
};
#define NOTIFY_CLOUDEVENTS_CONTENT_TYPE "application/cloudevents+json"
#define NOTIFY_OCSF_CLASS_UID 2004  /* Findings (2) * 1000 + 4 */
#define NOTIFY_OCSF_VERSION "1.2.0" /* the OCSF schema version mapped to */
#define NOTIFY_STD_KEY_MAX 96       /* bytes of a decoded whsec_ key */
/* "v1,<44 base64>" per key, blank-separated: enough for 8 keys. */
#define NOTIFY_STD_SIGNATURE_MAX 512

/* "tlogwatch", "cloudevents", "ocsf".  Static. */
const char *notify_format_name(enum notify_format f);
/* The Content-Type of a body in format f.  Static. */
const char *notify_format_content_type(enum notify_format f);

/*
 * The CloudEvents 1.0 structured-mode event for alert: specversion "1.0",
 * id = the alert id, source "tlogwatch://<host>/<log name, else rule,
 * else monitor>" (percent-encoded), type "dev.tlogwatch.<alert type>",
 * time = detected_at, subject = the repository (else the log name; absent
 * when neither), datacontenttype "application/json", data = the alert.
 * host is the machine's name (borrowed).  Returns new (free()), or NULL
 * when alert has no id or type, or memory runs out.
 */
char *notify_render_cloudevent(const json_t *alert, const char *host);

/*
 * The OCSF Detection Finding (class_uid 2004, activity Create) for alert,
 * field by field in README "Alert envelopes"; product_version is
 * tlogwatch's version (borrowed).  The alert itself is kept whole under
 * "unmapped".  Returns new (free()), or NULL (no id/type, a detected_at
 * that is not RFC 3339 UTC, memory).
 */
char *notify_render_ocsf(const json_t *alert, const char *product_version);

/* The body in format: one of the two above, or notify_alert_render(). */
char *notify_render_envelope(const json_t *alert, enum notify_format format,
                             const char *host, const char *product_version);

/*
 * The Prometheus Alertmanager API v2 body (POST /api/v2/alerts) for
 * alert: a list of one alert with labels alertname (the type), severity,
 * log, repository, rule, alert_id (each only when known), annotations
 * summary and description (notify_render_text), startsAt = detected_at,
 * endsAt = startsAt + resolve_after_s (1 .. INT32_MAX), and generatorURL
 * when generator_url is neither NULL nor "".  Returns new (free()), or
 * NULL.
 */
char *notify_render_alertmanager(const json_t *alert, uint64_t resolve_after_s,
                                 const char *generator_url);

/*
 * The PagerDuty Events API v2 body for alert: {routing_key (borrowed,
 * a secret: the result holds it), event_action "trigger", dedup_key = the
 * alert id, payload {summary (<= NOTIFY_PAGERDUTY_SUMMARY_MAX bytes),
 * source (the repository, else the log name, else host), severity
 * (critical, warning, info), timestamp = detected_at, component (log
 * name), group (rule), class (type), custom_details = the alert},
 * client "tlogwatch", client_url (when given), links [the entry on
 * search.sigstore.dev] when the alert has a log index}.  Returns new
 * (free() after wiping: it holds the key), or NULL.
 */
#define NOTIFY_PAGERDUTY_SUMMARY_MAX 1024
char *notify_render_pagerduty(const json_t *alert, const char *routing_key,
                              const char *host, const char *client_url);

/* ---- GitHub issues (render_github.c) --------------------------------- */

#define NOTIFY_GITHUB_TITLE_MAX 256               /* bytes of an issue title */
#define NOTIFY_GITHUB_LIST_MAX (8u * 1024 * 1024) /* issues list bytes read */
#define NOTIFY_GITHUB_PAGE 100      /* issues a page when looking for one */
#define NOTIFY_GITHUB_MAX_PAGES 20  /* pages read when looking for one */
#define NOTIFY_GITHUB_LINK_MAX 8192 /* bytes of a Link header parsed */
/* The search lists issues updated since the alert's detected_at less
 * this (clock skew between tlogwatch and GitHub): its issue cannot have
 * been opened before the alert was. */
#define NOTIFY_GITHUB_SINCE_SLACK_S 86400

/* The hidden marker of alert_id's issue, "<!-- tlogwatch-alert-id: ID
 * -->", into out (outcap >= NOTIFY_ALERT_ID_LEN + 40): ID is the first
 * NOTIFY_ALERT_ID_LEN bytes of alert_id, each but [0-9A-Za-z.-] as '_'
 * (an id is hex: nothing in it may open a fence or close the comment).
 * Returns out. */
char *notify_github_marker(const char *alert_id, char *out, size_t outcap);

/*
 * The body of POST /repos/{owner}/{repo}/issues for alert: {"title": the
 * summary (cut to NOTIFY_GITHUB_TITLE_MAX bytes, control bytes as
 * blanks), "body": Markdown: the marker, the severity, the plain-text
 * rendering and the whole alert as JSON (with its evidence) in fenced
 * code blocks that nothing from the alert can close, "labels": labels
 * (borrowed; omitted when nlabels is 0)}.  Returns new (free()) or NULL.
 */
char *notify_render_github_issue(const json_t *alert, const char *const *labels,
                                 size_t nlabels);

/*
 * Look for alert_id's issue in len bytes of a GET /repos/{o}/{r}/issues
 * answer (untrusted: a JSON array of issues, at most
 * NOTIFY_GITHUB_LIST_MAX bytes): an issue whose body holds the marker.
 * Returns 1 with its number in *number, 0 when none does, -1 when the
 * bytes are not such a list.  *count (may be NULL) gets the number of
 * elements of the list (0 on -1).
 */
int notify_github_find(const char *body, size_t len, const char *alert_id,
                       uint64_t *number, size_t *count);

/*
 * Whether len bytes of a Link header (RFC 8288, untrusted, at most
 * NOTIFY_GITHUB_LINK_MAX) name a link with the relation "next": 1 yes,
 * 0 it parses and names none (the last page), -1 it does not parse.
 */
int notify_github_link_next(const char *link, size_t len);

/*
 * Whether the page after one that listed count issues without the marker
 * may hold it, given the answer's Link header (NULL when absent): not
 * when the page was short (count < NOTIFY_GITHUB_PAGE) or its Link header
 * parses and has no "next" link; yes otherwise (no Link header, an
 * unparsable one), so a doubt costs a request, never a duplicate issue.
 * Returns 1 or 0.
 */
int notify_github_more(size_t count, const char *link);

/* ---- email (render_email.c) ------------------------------------------ */

#define NOTIFY_EMAIL_ADDR_MAX 254    /* bytes of an address (RFC 5321) */
#define NOTIFY_EMAIL_SUBJECT_MAX 200 /* bytes of the Subject text */
#define NOTIFY_EMAIL_LINE_MAX 998    /* RFC 5322: octets of a line */
#define NOTIFY_EMAIL_FOLD 78         /* RFC 5322: should-fold width */

/*
 * 1 when s is an address tlogwatch sends to or from: an RFC 5322
 * addr-spec with a dot-atom local part (no quoted string, no comment, no
 * display name) and a domain of letters, digits and '-' labels, at most
 * NOTIFY_EMAIL_ADDR_MAX bytes; 0 otherwise.
 */
int notify_email_addr_ok(const char *s);

/*
 * The RFC 5322 message for alert, CRLF line ends: Date (now, unix
 * seconds), From "tlogwatch <from>", To (the nto addresses of to), Subject
 * "[tlogwatch <severity>] <summary>" (RFC 2047 when needed), Message-ID
 * "<tlogwatch.<alert id>@<from's domain>>", Auto-Submitted,
 * X-Tlogwatch-Alert-Id / -Event / -Severity, and a multipart/mixed body:
 * text/plain (notify_render_text) and doc (borrowed: the stored alert
 * document, sent byte for byte) as the attachment
 * "tlogwatch-alert-<id>.json" (application/json), both base64.  Header
 * invariants: see render_email.c.  Returns new (free()), or NULL (an
 * address notify_email_addr_ok refuses, no recipient, an id that is not
 * letters and digits, memory).
 */
char *notify_render_email(const json_t *alert, const char *doc,
                          const char *from, const char *const *to, size_t nto,
                          int64_t now);

/*
 * A Standard Webhooks key: "whsec_" + base64, decoded into out (outcap
 * bytes, wiped on failure), its length in *outlen.  Returns 0 or -1.
 */
int notify_std_secret_decode(const char *secret, unsigned char *out,
                             size_t outcap, size_t *outlen);

/*
 * The Standard Webhooks webhook-signature header value: for each of the
 * nsecrets keys (whsec_..., borrowed, the first is the current one)
 * "v1,<base64 HMAC-SHA256(key, "<msg_id>.<t>.<body>")>", blank-separated,
 * into out (outcap >= NOTIFY_STD_SIGNATURE_MAX for up to 8 keys).
 * Returns 0, or -1 (bad key or arguments, too small) with out emptied.
 */
int notify_render_std_signature(const char *const *secrets, size_t nsecrets,
                                const char *msg_id, int64_t t, const void *body,
                                size_t bodylen, char *out, size_t outcap);

#endif
