/*
 * pcrwatch.c: the asynchronous PCR lookup of watched signings (see
 * pcrwatch.h for the contract).  One job per pending signing row, in a
 * singly linked list; each job owns one evtimer and at most one lookup in
 * flight.  A scan costs O(pending rows * jobs): both are small (a few
 * signings a day per watched repository).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "config/config.h"
#include "monitor/identity/attest.h"
#include "monitor/log.h"
#include "monitor/registry/oci.h"
#include "monitor/registry/pcr.h"
#include "monitor/registry/pcrwatch.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "notify/alert.h"

#define PCRWATCH_KEY_LEN 1024
#define PCRWATCH_SUMMARY_LEN 1024
#define PCRWATCH_MAX_SINKS 64
#define PCRWATCH_SCAN_SLACK_S 60 /* seconds reread before the last scan */

/* The string fields of a signing row a job keeps (owned copies). */
enum pcrwatch_field {
    F_UUID = 0,
    F_KIND,
    F_CERT,
    F_RULE,
    F_DIGEST, /* artifact_digest: "sha256:<hex>" or NULL */
    F_SAN,
    F_ISSUER,
    F_REPOSITORY,
    F_REPOSITORY_ID,
    F_WORKFLOW_PATH,
    F_REF,
    F_WORKFLOW_SHA,
    F_RUNNER,
    F_TRIGGER,
    F_RUN_URI,
    F_SIGNER_URI,
    F_PCR0, /* PCRs already known (source "attestation") */
    F_PCR1,
    F_PCR2,
    F_PCR8,
    F_SOURCE, /* pcrs_source: NULL (= "signature"), "attestation", "subject" */
    F_NOTE,   /* pcrs_note: set by policy when no lookup can succeed */
    F_COUNT,
};

static const size_t pcrwatch_offsets[F_COUNT] = {
    [F_UUID] = offsetof(struct store_signing, uuid),
    [F_KIND] = offsetof(struct store_signing, kind),
    [F_CERT] = offsetof(struct store_signing, cert_sha256),
    [F_RULE] = offsetof(struct store_signing, rule),
    [F_DIGEST] = offsetof(struct store_signing, artifact_digest),
    [F_SAN] = offsetof(struct store_signing, san),
    [F_ISSUER] = offsetof(struct store_signing, issuer),
    [F_REPOSITORY] = offsetof(struct store_signing, repository),
    [F_REPOSITORY_ID] = offsetof(struct store_signing, repository_id),
    [F_WORKFLOW_PATH] = offsetof(struct store_signing, workflow_path),
    [F_REF] = offsetof(struct store_signing, ref),
    [F_WORKFLOW_SHA] = offsetof(struct store_signing, workflow_sha),
    [F_RUNNER] = offsetof(struct store_signing, runner_environment),
    [F_TRIGGER] = offsetof(struct store_signing, trigger),
    [F_RUN_URI] = offsetof(struct store_signing, run_invocation_uri),
    [F_SIGNER_URI] = offsetof(struct store_signing, build_signer_uri),
    [F_PCR0] = offsetof(struct store_signing, pcr0),
    [F_PCR1] = offsetof(struct store_signing, pcr1),
    [F_PCR2] = offsetof(struct store_signing, pcr2),
    [F_PCR8] = offsetof(struct store_signing, pcr8),
    [F_SOURCE] = offsetof(struct store_signing, pcrs_source),
    [F_NOTE] = offsetof(struct store_signing, pcrs_note),
};

/* Identity keys of the alert (policy.c alert_identity_obj), in order. */
static const struct {
    const char *key;
    enum pcrwatch_field f;
} pcrwatch_identity[] = {
    {"san", F_SAN},
    {"issuer", F_ISSUER},
    {"repository", F_REPOSITORY},
    {"repository_id", F_REPOSITORY_ID},
    {"workflow_ref", F_REF},
    {"workflow_path", F_WORKFLOW_PATH},
    {"build_signer_uri", F_SIGNER_URI},
    {"workflow_sha", F_WORKFLOW_SHA},
    {"runner_environment", F_RUNNER},
    {"trigger", F_TRIGGER},
    {"run_invocation_uri", F_RUN_URI},
    {"cert_sha256", F_CERT},
};

struct pcrwatch_job {
    struct pcrwatch_job *next;
    struct pcrwatch *w; /* owner */
    int64_t log_id;
    uint64_t log_index, shard_index;
    int64_t integrated_time;
    int64_t deadline;           /* unix seconds */
    char *f[F_COUNT];           /* owned, each may be NULL */
    unsigned attempts;          /* lookups made */
    struct event *timer;        /* owned */
    struct oci_lookup *lookup;  /* in flight, or NULL */
    int done;                   /* finished: freed at the next scan */
    char why[PCRWATCH_WHY_MAX]; /* the last cause */
};

struct pcrwatch {
    struct tlw *t; /* borrowed */
    int once;      /* one attempt per row, then done_cb */
    void (*done_cb)(void *arg);
    void *done_arg;
    struct event *done; /* owned (once): calls done_cb from the loop */
    struct oci_token_cache *tokens; /* owned: anonymous tokens, reused */
    struct event *scan;             /* owned */
    int64_t last_scan;              /* unix s of the last scan, 0: none yet */
    int64_t last_full;              /* unix s of the last full scan */
    struct pcrwatch_job *jobs;
    size_t njobs;
};

static void pcrwatch_job_cb(evutil_socket_t fd, short what, void *arg);

/* The job is over (its row is decided, or left pending for a later run).
 * In once mode, the last job to end schedules done_cb. */
static void
pcrwatch_end(struct pcrwatch_job *j)
{
    struct pcrwatch *w = j->w;
    const struct pcrwatch_job *k;
    struct timeval zero = {0, 0};

    j->done = 1;
    if (!w->once) {
        return;
    }
    for (k = w->jobs; k != NULL; k = k->next) {
        if (!k->done) {
            return;
        }
    }
    if (event_add(w->done, &zero) != 0) {
        log_warnx("pcr lookup: cannot schedule the end of once");
        w->done_cb(w->done_arg);
    }
}

/* ---- jobs ------------------------------------------------------------ */

static void
pcrwatch_job_free(struct pcrwatch_job *j)
{
    size_t i;

    if (j == NULL) {
        return;
    }
    oci_lookup_cancel(j->lookup);
    if (j->timer != NULL) {
        event_free(j->timer);
    }
    for (i = 0; i < F_COUNT; i++) {
        free(j->f[i]);
    }
    free(j);
}

static int
pcrwatch_job_is(const struct pcrwatch_job *j, const struct store_signing *g)
{
    return j->log_id == g->log_id && j->log_index == g->log_index &&
           strcmp(j->f[F_CERT], g->cert_sha256) == 0 &&
           strcmp(j->f[F_RULE], g->rule) == 0;
}

/* Run the job's next step after ms milliseconds. */
static void
pcrwatch_job_arm(struct pcrwatch_job *j, uint64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    if (evtimer_add(j->timer, &tv) != 0) {
        log_warnx("pcr lookup %s: cannot arm its timer", j->f[F_UUID]);
        pcrwatch_end(j); /* stays pending in the store: retried next run */
    }
}

static struct pcrwatch_job *
pcrwatch_job_new(struct pcrwatch *w, const struct store_signing *g)
{
    struct pcrwatch_job *j = calloc(1, sizeof(*j));
    size_t i;

    if (j == NULL) {
        return NULL;
    }
    j->w = w;
    j->log_id = g->log_id;
    j->log_index = g->log_index;
    j->shard_index = g->shard_index;
    j->integrated_time = g->integrated_time;
    j->deadline = g->pcrs_deadline;
    for (i = 0; i < F_COUNT; i++) {
        const char *v =
            *(const char *const *)((const char *)g + pcrwatch_offsets[i]);

        if (v != NULL && (j->f[i] = strdup(v)) == NULL) {
            pcrwatch_job_free(j);
            return NULL;
        }
    }
    j->timer = evtimer_new(w->t->base, pcrwatch_job_cb, j);
    if (j->timer == NULL) {
        pcrwatch_job_free(j);
        return NULL;
    }
    return j;
}

/* ---- alerts ---------------------------------------------------------- */

static int
pcrwatch_set_str(json_t *o, const char *k, const char *v)
{
    if (v == NULL) {
        return 0;
    }
    return json_object_set_new(o, k, json_string(v));
}

/* Keep printable ASCII of an untrusted cause. */
static void
pcrwatch_clean(char *dst, size_t cap, const char *src)
{
    size_t i, n = 0;

    for (i = 0; src != NULL && src[i] != '\0' && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];

        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* The alert of type for job j, or NULL.  pcrs (stolen) may be NULL. */
static json_t *
pcrwatch_alert(struct pcrwatch_job *j, const char *type, const char *summary,
               const char *const *reasons, size_t nreasons, json_t *pcrs)
{
    struct store_log_status ls;
    char key[PCRWATCH_KEY_LEN];
    json_t *a = NULL, *o = NULL;
    size_t i;
    int n;

    if (store_log_status(j->w->t->store, j->log_id, &ls) != 0) {
        goto err;
    }
    n = snprintf(key, sizeof(key), "%s|%s|%" PRIu64 "|%s|%s", ls.name,
                 ls.origin, j->log_index, j->f[F_RULE], type);
    if (n < 0 || (size_t)n >= sizeof(key)) {
        goto err;
    }
    a = notify_alert_new(type, key, summary, time(NULL));
    if (a == NULL) {
        goto err;
    }
    o = json_pack("{s:s, s:s}", "name", ls.name, "origin", ls.origin);
    if (o == NULL || notify_alert_set(a, "log", o) != 0) {
        o = NULL;
        goto err;
    }
    o = json_object();
    if (o == NULL ||
        json_object_set_new(o, "log_index",
                            json_integer((json_int_t)j->log_index)) != 0 ||
        json_object_set_new(o, "shard_index",
                            json_integer((json_int_t)j->shard_index)) != 0 ||
        pcrwatch_set_str(o, "uuid", j->f[F_UUID]) != 0 ||
        (j->integrated_time != 0 &&
         json_object_set_new(o, "integrated_time",
                             json_integer((json_int_t)j->integrated_time)) !=
             0) ||
        pcrwatch_set_str(o, "kind", j->f[F_KIND]) != 0 ||
        pcrwatch_set_str(o, "artifact_digest", j->f[F_DIGEST]) != 0) {
        goto err;
    }
    if (notify_alert_set(a, "entry", o) != 0) {
        o = NULL;
        goto err;
    }
    o = json_object();
    for (i = 0; o != NULL &&
                i < sizeof(pcrwatch_identity) / sizeof(pcrwatch_identity[0]);
         i++) {
        if (pcrwatch_set_str(o, pcrwatch_identity[i].key,
                             j->f[pcrwatch_identity[i].f]) != 0) {
            goto err;
        }
    }
    if (o == NULL || notify_alert_set(a, "identity", o) != 0) {
        o = NULL;
        goto err;
    }
    o = NULL;
    if (notify_alert_set(a, "rule", json_string(j->f[F_RULE])) != 0) {
        goto err;
    }
    o = json_array();
    for (i = 0; o != NULL && i < nreasons; i++) {
        if (json_array_append_new(o, json_string(reasons[i])) != 0) {
            goto err;
        }
    }
    if (o == NULL || notify_alert_set(a, "reasons", o) != 0) {
        o = NULL;
        goto err;
    }
    o = NULL;
    if (pcrs != NULL) {
        int rc = notify_alert_set(a, "pcrs", pcrs);

        pcrs = NULL;
        if (rc != 0) {
            goto err;
        }
    }
    return a;
err:
    json_decref(a);
    json_decref(o);
    json_decref(pcrs);
    return NULL;
}

/*
 * Store the job's outcome (state, PCRs of found or NULL) with alert (may
 * be NULL, borrowed) in one transaction, and end the job.  A store error
 * stops the daemon.
 */
static void
pcrwatch_finish(struct pcrwatch_job *j, const char *state,
                const struct config_pcr_set *found, json_t *alert)
{
    struct tlw *t = j->w->t;
    struct store_pcrs_update u;
    struct store_alert sa;
    const char *sinks[PCRWATCH_MAX_SINKS];
    char *body = NULL;
    int fresh = 0;

    memset(&u, 0, sizeof(u));
    u.state = state;
    if (found != NULL) {
        u.pcr0 = found->hex[CONFIG_PCR0];
        u.pcr1 = found->hex[CONFIG_PCR1];
        u.pcr2 = found->hex[CONFIG_PCR2];
        if ((found->present & (1u << CONFIG_PCR8)) != 0) {
            u.pcr8 = found->hex[CONFIG_PCR8];
        }
    }
    u.source = j->f[F_SOURCE] != NULL ? j->f[F_SOURCE] : "signature";
    u.note =
        strcmp(state, "unavailable") == 0 && j->why[0] != '\0' ? j->why : NULL;
    memset(&sa, 0, sizeof(sa));
    if (alert != NULL) {
        body = notify_alert_render(alert);
        if (body == NULL) {
            tlw_fatal(t, "out of memory rendering a PCR alert");
            goto out;
        }
        sa.id = notify_alert_get_id(alert);
        sa.type = notify_alert_get_type(alert);
        sa.severity = notify_alert_get_severity(alert);
        sa.detected_at = time(NULL);
        sa.has_index = 1;
        sa.log_index = j->log_index;
        sa.rule = j->f[F_RULE];
        sa.body = body;
        sa.sinks = sinks;
        sa.nsinks = tlw_sinks_for(t, sa.severity, sinks, PCRWATCH_MAX_SINKS);
    }
    if (store_signing_set_pcrs(t->store, j->log_id, j->log_index, j->f[F_CERT],
                               j->f[F_RULE], &u, alert != NULL ? &sa : NULL,
                               time(NULL), &fresh) != 0) {
        tlw_fatal(t, store_errmsg(t->store));
        goto out;
    }
    log_info("pcr lookup of %s index %" PRIu64 " (rule %s): %s%s%s",
             j->f[F_UUID], j->log_index, j->f[F_RULE], state,
             alert != NULL ? ", " : "",
             alert != NULL ? notify_alert_get_type(alert) : "");
    if (alert != NULL) {
        tlw_alert_raised(t, sa.severity);
        if (fresh) {
            tlw_outbox_flush(t);
        }
    }
out:
    free(body);
    pcrwatch_end(j);
}

/* The job ends without PCRs: signing.pcrs_unavailable with reason. */
static void
pcrwatch_unavailable(struct pcrwatch_job *j, const char *reason)
{
    char summary[PCRWATCH_SUMMARY_LEN];
    const char *rs[1] = {reason};
    json_t *a;

    snprintf(summary, sizeof(summary),
             "the PCRs of %s's signed enclave image (rule %s, log index "
             "%" PRIu64 ") could not be established: %s",
             j->f[F_REPOSITORY] != NULL ? j->f[F_REPOSITORY] : "(none)",
             j->f[F_RULE], j->log_index, reason);
    pcrwatch_clean(j->why, sizeof(j->why), reason);
    a = pcrwatch_alert(j, "signing.pcrs_unavailable", summary, rs, 1, NULL);
    if (a == NULL) {
        tlw_fatal(j->w->t, "cannot build a PCR alert");
        pcrwatch_end(j);
        return;
    }
    pcrwatch_finish(j, "unavailable", NULL, a);
    json_decref(a);
}

static json_t *
pcrwatch_pcrs_obj(const struct config_pcr_set *s)
{
    json_t *o = json_object();
    size_t i;

    for (i = 0; o != NULL && i < CONFIG_PCR_COUNT; i++) {
        if ((s->present & (1u << i)) != 0 &&
            json_object_set_new(o, pcr_name((enum config_pcr)i),
                                json_string(s->hex[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* PCRs found: compare with the rule's allowed sets. */
static void
pcrwatch_found(struct pcrwatch_job *j, const struct config_pcrs *rule,
               const struct oci_pcrs *p)
{
    char summary[PCRWATCH_SUMMARY_LEN];
    const char *rs[CONFIG_PCR_COUNT];
    struct config_pcr_set found;
    struct pcr_result r;
    const char *sep = "";
    size_t i, off = 0;
    json_t *a;

    if (pcr_set_from_hex(&found, (p->present & 1u) ? p->hex[0] : NULL,
                         (p->present & 2u) ? p->hex[1] : NULL,
                         (p->present & 4u) ? p->hex[2] : NULL,
                         (p->present & 8u) ? p->hex[3] : NULL) != 0 ||
        pcr_check(rule, &found, &r) != 0) {
        pcrwatch_unavailable(j, "untrusted: the artifact does not carry "
                                "PCR0, PCR1 and PCR2 as 96 hex digits");
        return;
    }
    if (r.verdict == PCR_ALLOWED) {
        pcrwatch_finish(j, "found", &found, NULL);
        return;
    }
    for (i = 0; i < r.nreasons; i++) {
        rs[i] = r.reasons[i];
    }
    off = (size_t)snprintf(
        summary, sizeof(summary),
        "%s (rule %s) signed an enclave image whose PCRs are not an allowed "
        "set: ",
        j->f[F_REPOSITORY] != NULL ? j->f[F_REPOSITORY] : "(none)",
        j->f[F_RULE]);
    for (i = 0; i < CONFIG_PCR_COUNT && off < sizeof(summary); i++) {
        if ((r.differ & (1u << i)) != 0) {
            off += (size_t)snprintf(
                summary + off, sizeof(summary) - off, "%s%s (%s)", sep,
                pcr_name((enum config_pcr)i), pcr_meaning((enum config_pcr)i));
            sep = ", ";
        }
    }
    a = pcrwatch_alert(j, "signing.unknown_pcrs", summary, rs, r.nreasons,
                       pcrwatch_pcrs_obj(&found));
    if (a == NULL) {
        tlw_fatal(j->w->t, "cannot build a PCR alert");
        pcrwatch_end(j);
        return;
    }
    pcrwatch_finish(j, "found", &found, a);
    json_decref(a);
}

/* PCRs the entry's own attestation carried (policy stored them with the
 * row, source "attestation"): compare them now, no lookup. */
static void
pcrwatch_from_row(struct pcrwatch_job *j, const struct config_pcrs *rule)
{
    static const enum pcrwatch_field fields[4] = {F_PCR0, F_PCR1, F_PCR2,
                                                  F_PCR8};
    struct oci_pcrs p;
    size_t i;

    memset(&p, 0, sizeof(p));
    for (i = 0; i < 4; i++) {
        const char *v = j->f[fields[i]];

        if (v != NULL) {
            if (strlen(v) != OCI_PCR_HEX_LEN) {
                pcrwatch_unavailable(j, "the stored PCRs are malformed");
                return;
            }
            memcpy(p.hex[i], v, OCI_PCR_HEX_LEN + 1);
            p.present |= 1u << i;
        }
    }
    pcrwatch_found(j, rule, &p);
}

/*
 * The entry's statement, found among cosign's .att manifests (its SHA-256
 * is the body's payloadHash: oci.c checked it): its PCRs are compared now;
 * without PCRs, the row turns to the manifest its subject names (source
 * "subject", stored pending so a restart resumes there) and the job looks
 * that up at once.
 */
static void
pcrwatch_statement(struct pcrwatch_job *j, const struct config_pcrs *rule,
                   const uint8_t *stmt, size_t len)
{
    struct attest_result ar;
    struct store_pcrs_update u;
    char reason[ATTEST_WHY_MAX + 64];
    char *src, *digest;

    switch (attest_statement(stmt, len, &ar)) {
    case ATTEST_PCRS:
        pcrwatch_found(j, rule, &ar.pcrs);
        return;
    case ATTEST_NO_PCRS:
        if (ar.pcrs.artifact_digest[0] == '\0') {
            pcrwatch_unavailable(j, "the attestation found in the registry "
                                    "carries no PCRs and its subject names "
                                    "no sha256 image digest");
            return;
        }
        break;
    case ATTEST_UNTRUSTED:
    case ATTEST_MALFORMED:
    default:
        snprintf(reason, sizeof(reason),
                 "untrusted: the attestation found in the registry: %s",
                 ar.why);
        pcrwatch_unavailable(j, reason);
        return;
    }
    src = strdup("subject");
    digest = strdup(ar.pcrs.artifact_digest);
    if (src == NULL || digest == NULL) {
        free(src);
        free(digest);
        tlw_fatal(j->w->t, "out of memory in a PCR lookup");
        pcrwatch_end(j);
        return;
    }
    memset(&u, 0, sizeof(u));
    u.state = "pending";
    u.deadline = j->deadline;
    u.source = src;
    u.artifact_digest = digest;
    if (store_signing_set_pcrs(j->w->t->store, j->log_id, j->log_index,
                               j->f[F_CERT], j->f[F_RULE], &u, NULL, time(NULL),
                               NULL) != 0) {
        free(src);
        free(digest);
        tlw_fatal(j->w->t, store_errmsg(j->w->t->store));
        pcrwatch_end(j);
        return;
    }
    free(j->f[F_SOURCE]);
    free(j->f[F_DIGEST]);
    j->f[F_SOURCE] = src;
    j->f[F_DIGEST] = digest;
    log_info("pcr lookup of %s index %" PRIu64 " (rule %s): the attestation "
             "names %s; looking up its PCRs",
             j->f[F_UUID], j->log_index, j->f[F_RULE], digest);
    pcrwatch_job_arm(j, 0);
}

/* ---- the lookup ------------------------------------------------------ */

static const struct config_pcrs *
pcrwatch_rule(struct pcrwatch *w, const char *name)
{
    const struct config *cfg = w->t->cfg;
    size_t i;

    for (i = 0; i < cfg->n_watch; i++) {
        if (strcmp(cfg->watch[i].name, name) == 0) {
            return cfg->watch[i].pcrs.enabled ? &cfg->watch[i].pcrs : NULL;
        }
    }
    return NULL;
}

static uint64_t
pcrwatch_backoff_ms(unsigned attempts)
{
    uint64_t ms = PCRWATCH_BACKOFF_MIN_MS;

    while (attempts > 1 && ms < PCRWATCH_BACKOFF_MAX_MS) {
        ms *= 2;
        attempts--;
    }
    return ms < PCRWATCH_BACKOFF_MAX_MS ? ms : PCRWATCH_BACKOFF_MAX_MS;
}

static void
pcrwatch_lookup_cb(enum oci_result res, const struct oci_pcrs *pcrs,
                   const char *why, void *arg)
{
    struct pcrwatch_job *j = arg;
    const struct config_pcrs *rule;
    char reason[PCRWATCH_WHY_MAX + 64];
    int64_t now = time(NULL);
    uint64_t ms;

    j->lookup = NULL;
    pcrwatch_clean(j->why, sizeof(j->why), why);
    rule = pcrwatch_rule(j->w, j->f[F_RULE]);
    if (rule == NULL) {
        pcrwatch_finish(j, "none", NULL, NULL);
        return;
    }
    switch (res) {
    case OCI_OK:
        if (pcrs == NULL) {
            pcrwatch_unavailable(j, "the registry client gave no PCRs");
            return;
        }
        if (pcrs->statement != NULL) {
            pcrwatch_statement(j, rule, pcrs->statement, pcrs->statement_len);
            return;
        }
        pcrwatch_found(j, rule, pcrs);
        return;
    case OCI_UNTRUSTED:
        snprintf(reason, sizeof(reason), "untrusted: %s", j->why);
        pcrwatch_unavailable(j, reason);
        return;
    case OCI_NOT_YET:
    case OCI_ERROR:
    default:
        break;
    }
    log_debug("pcr lookup of %s: %s (%s), attempt %u", j->f[F_UUID],
              oci_result_str(res), j->why, j->attempts);
    if (now >= j->deadline) {
        snprintf(reason, sizeof(reason), "lookup_timeout reached: %s", j->why);
        pcrwatch_unavailable(j, reason);
        return;
    }
    if (j->w->once) {
        log_info("pcr lookup of %s index %" PRIu64 " (rule %s): %s (%s); "
                 "still pending, the next run retries",
                 j->f[F_UUID], j->log_index, j->f[F_RULE], oci_result_str(res),
                 j->why);
        pcrwatch_end(j);
        return;
    }
    ms = pcrwatch_backoff_ms(j->attempts);
    if ((uint64_t)(j->deadline - now) < ms / 1000) {
        ms = (uint64_t)(j->deadline - now) * 1000; /* < ms: no overflow */
    }
    pcrwatch_job_arm(j, ms);
}

static void
pcrwatch_job_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pcrwatch_job *j = arg;
    const struct config_pcrs *rule;
    struct oci_lookup_req req;
    char reason[PCRWATCH_WHY_MAX + 64];

    (void)fd;
    (void)what;
    if (j->done || j->lookup != NULL) {
        return;
    }
    rule = pcrwatch_rule(j->w, j->f[F_RULE]);
    if (rule == NULL) {
        pcrwatch_finish(j, "none", NULL, NULL);
        return;
    }
    if (j->attempts > 0 && time(NULL) >= j->deadline) {
        snprintf(reason, sizeof(reason), "lookup_timeout reached: %s",
                 j->why[0] != '\0' ? j->why : "no answer");
        pcrwatch_unavailable(j, reason);
        return;
    }
    if (j->f[F_SOURCE] != NULL && strcmp(j->f[F_SOURCE], "attestation") == 0) {
        pcrwatch_from_row(j, rule);
        return;
    }
    if (j->f[F_NOTE] != NULL && j->f[F_DIGEST] == NULL) {
        pcrwatch_unavailable(j, j->f[F_NOTE]); /* policy's verdict */
        return;
    }
    if (j->f[F_DIGEST] == NULL || strncmp(j->f[F_DIGEST], "sha256:", 7) != 0) {
        snprintf(reason, sizeof(reason),
                 "the entry (kind %s) names no sha256 artifact digest to "
                 "look up",
                 j->f[F_KIND] != NULL ? j->f[F_KIND] : "(unknown kind)");
        pcrwatch_unavailable(j, reason);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.registry_host = rule->registry_host;
    req.repository = rule->registry_repository;
    req.plain_http = rule->registry_plain_http;
    req.credentials = rule->credentials;
    req.tokens = j->w->tokens;
    if (j->f[F_SOURCE] != NULL && strcmp(j->f[F_SOURCE], "subject") == 0) {
        req.manifest_digest = j->f[F_DIGEST]; /* the statement's subject */
    } else if (j->f[F_SOURCE] != NULL && strcmp(j->f[F_SOURCE], "att") == 0) {
        req.att_payload_hash = j->f[F_DIGEST] + 7; /* the body's payloadHash */
        req.commit_sha = j->f[F_WORKFLOW_SHA];
    } else {
        req.data_hash_hex = j->f[F_DIGEST] + 7;
        req.commit_sha = j->f[F_WORKFLOW_SHA];
    }
    req.log_index = j->log_index;
    j->attempts++;
    j->lookup = oci_lookup_start(j->w->t->http, &req, pcrwatch_lookup_cb, j);
    if (j->lookup == NULL) {
        pcrwatch_unavailable(j, "the lookup could not start (invalid "
                                "registry, repository or digest)");
    }
}

/* ---- scanning -------------------------------------------------------- */

static int
pcrwatch_scan_row(void *arg, const struct store_signing *g)
{
    struct pcrwatch *w = arg;
    struct pcrwatch_job *j;

    for (j = w->jobs; j != NULL; j = j->next) {
        if (pcrwatch_job_is(j, g)) {
            return 0; /* in hand (or finished a moment ago) */
        }
    }
    if (w->njobs >= PCRWATCH_MAX_JOBS) {
        return 1; /* the rest waits for a later scan */
    }
    j = pcrwatch_job_new(w, g);
    if (j == NULL) {
        log_warnx("pcr lookup: out of memory");
        return 1;
    }
    j->next = w->jobs;
    w->jobs = j;
    w->njobs++;
    pcrwatch_job_arm(j, 0);
    return 0;
}

static void
pcrwatch_scan_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pcrwatch *w = arg;
    struct pcrwatch_job **pp = &w->jobs;
    int64_t now, since;
    struct timeval tv = {PCRWATCH_SCAN_MS / 1000,
                         (PCRWATCH_SCAN_MS % 1000) * 1000};

    (void)fd;
    (void)what;
    /* Drop finished jobs: their rows are no longer pending. */
    while (*pp != NULL) {
        struct pcrwatch_job *j = *pp;

        if (j->done) {
            *pp = j->next;
            pcrwatch_job_free(j);
            w->njobs--;
        } else {
            pp = &j->next;
        }
    }
    /* Rows recorded since the last scan (with slack for the clock), and
     * every PCRWATCH_FULL_SCAN_MS all of them: a restart's, and any the
     * window missed. */
    now = time(NULL);
    since = now - PCRWATCH_SCAN_SLACK_S;
    if (w->last_scan == 0 || now < w->last_full ||
        (uint64_t)(now - w->last_full) * 1000 >= PCRWATCH_FULL_SCAN_MS) {
        since = INT64_MIN;
        w->last_full = now;
    } else if (w->last_scan - PCRWATCH_SCAN_SLACK_S < since) {
        since = w->last_scan - PCRWATCH_SCAN_SLACK_S;
    }
    w->last_scan = now;
    if (store_signings_pending(w->t->store, since, pcrwatch_scan_row, w) != 0) {
        log_warnx("pcr lookup: %s", store_errmsg(w->t->store));
    }
    if (evtimer_add(w->scan, &tv) != 0) {
        log_warnx("pcr lookup: cannot arm the scan timer");
    }
}

struct pcrwatch *
pcrwatch_new(struct tlw *t)
{
    struct pcrwatch *w = calloc(1, sizeof(*w));
    struct timeval now = {0, 0};

    if (w == NULL) {
        return NULL;
    }
    w->t = t;
    w->tokens = oci_token_cache_new(0);
    w->scan = evtimer_new(t->base, pcrwatch_scan_cb, w);
    if (w->tokens == NULL || w->scan == NULL ||
        evtimer_add(w->scan, &now) != 0) {
        pcrwatch_free(w);
        return NULL;
    }
    return w;
}

static void
pcrwatch_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pcrwatch *w = arg;

    (void)fd;
    (void)what;
    w->done_cb(w->done_arg);
}

struct pcrwatch *
pcrwatch_once(struct tlw *t, void (*done)(void *arg), void *arg)
{
    struct pcrwatch *w = calloc(1, sizeof(*w));
    struct timeval zero = {0, 0};
    const struct pcrwatch_job *j;

    if (w == NULL) {
        return NULL;
    }
    w->t = t;
    w->once = 1;
    w->done_cb = done;
    w->done_arg = arg;
    w->done = evtimer_new(t->base, pcrwatch_done_cb, w);
    w->tokens = oci_token_cache_new(0);
    if (w->done == NULL || w->tokens == NULL) {
        pcrwatch_free(w);
        return NULL;
    }
    if (store_signings_pending(t->store, INT64_MIN, pcrwatch_scan_row, w) !=
        0) {
        log_warnx("pcr lookup: %s", store_errmsg(t->store));
    }
    for (j = w->jobs; j != NULL && j->done; j = j->next) {
    }
    if (j == NULL && event_add(w->done, &zero) != 0) {
        pcrwatch_free(w);
        return NULL;
    }
    if (w->njobs > 0) {
        log_info("once: %zu pending PCR lookup(s)", w->njobs);
    }
    return w;
}

void
pcrwatch_free(struct pcrwatch *w)
{
    struct pcrwatch_job *j, *next;

    if (w == NULL) {
        return;
    }
    for (j = w->jobs; j != NULL; j = next) {
        next = j->next;
        pcrwatch_job_free(j);
    }
    if (w->scan != NULL) {
        event_free(w->scan);
    }
    if (w->done != NULL) {
        event_free(w->done);
    }
    oci_token_cache_free(w->tokens); /* after every lookup is cancelled */
    free(w);
}
