/*
 * view.c: the one read model (see view.h for the document).  Every
 * figure is read from the store at call time; nothing is cached, so two
 * surfaces that call it at the same moment show the same thing.
 *
 * Cost: every list is bounded (VIEW_* below), and every query runs on an
 * index: the logs (a few rows), each shard's kept errors (at most
 * STORE_RECENT_ERRORS), the latest VIEW_SIGNINGS signings per rule and
 * the alerts about each (index on (log_id, log_index)), the alerts of
 * the last VIEW_ALERT_WINDOW_S (index on detected_at), the pending and
 * failed deliveries per sink, and at most VIEW_HISTORY_POINTS history
 * samples per shard.  Counting all deliveries by status reads the
 * deliveries index once; counting all alerts by (type, severity) reads
 * the covering index alerts_type_severity once, in group order (at most
 * VIEW_ALERT_KINDS groups kept); the signings pending a PCR lookup are
 * read through the partial index signings_pending (the pending rows
 * only).
 *
 * Untrusted text (certificate claims, error messages, alert summaries)
 * is put into the document as JSON strings; bytes that are not valid
 * UTF-8 become '?'.  Sink URLs are shown as scheme://host/... only, and
 * a delivery's stored error only up to its first ':' (the receiver's
 * reply, which may echo a token, is never shown).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "merkle/merkle.h"
#include "monitor/view/view.h"
#include "notify/alert.h"
#include "notify/redact.h"

#define VIEW_ERRORS 10                     /* recent errors per log */
#define VIEW_ENTRY_ALERTS VIEW_ALERT_TYPES /* alerts listed per signing */
#define VIEW_LATEST_ALERTS 10              /* newest alerts listed */
#define VIEW_ALERT_WINDOW_S 86400          /* alerts counted by severity */
#define VIEW_ALERT_KINDS 128    /* (type, severity) pairs counted, all time */
#define VIEW_MAX_SHARDS 256     /* store rows read (all logs) */
#define VIEW_MAX_SINKS 256      /* sinks with deliveries read */
#define VIEW_HISTORY_POINTS 288 /* samples per shard (a day at 5 min) */
#define VIEW_HISTORY_S 86400    /* how far back the history goes */
#define VIEW_SUMMARY_BODY_MAX (64 * 1024) /* larger bodies: no summary */

struct view_shard {
    struct store_log_status st;
};

struct view_ctx {
    struct store *s;
    const struct config *cfg;
    int64_t now;
    int failed;       /* out of memory */
    int store_failed; /* a store error in a callback (store_errmsg) */
    struct view_shard *shards;
    size_t nshards;
};

/* ---- JSON helpers ---------------------------------------------------- */

/* A JSON string of untrusted text (NULL: null); invalid UTF-8 and control
 * bytes become '?'.  New, or NULL when out of memory. */
static json_t *
vstr(const char *s)
{
    json_t *v;
    char *copy;
    size_t i, n;

    if (s == NULL) {
        return json_null();
    }
    v = json_string(s);
    if (v != NULL) {
        return v;
    }
    n = strlen(s);
    copy = malloc(n + 1);
    if (copy == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        copy[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    copy[n] = '\0';
    v = json_string(copy);
    free(copy);
    return v;
}

/* An RFC 3339 time, or null for 0 (never). */
static json_t *
vtime(int64_t t)
{
    char buf[32];

    if (t == 0) {
        return json_null();
    }
    notify_rfc3339((time_t)t, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *
vuint(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* Set key of o to v (stolen); failure marks c failed. */
static void
put(struct view_ctx *c, json_t *o, const char *key, json_t *v)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
        if (o == NULL) {
            json_decref(v);
        }
        c->failed = 1;
    }
}

/* Append v (stolen) to array a; failure marks c failed. */
static void
push(struct view_ctx *c, json_t *a, json_t *v)
{
    if (a == NULL || v == NULL || json_array_append_new(a, v) != 0) {
        if (a == NULL) {
            json_decref(v);
        }
        c->failed = 1;
    }
}

static json_t *
vobj(struct view_ctx *c)
{
    json_t *o = json_object();

    if (o == NULL) {
        c->failed = 1;
    }
    return o;
}

static json_t *
varr(struct view_ctx *c)
{
    json_t *a = json_array();

    if (a == NULL) {
        c->failed = 1;
    }
    return a;
}

/* ---- the verdict ---------------------------------------------------- */

const char *
view_signing_verdict(const struct store_signing *row,
                     const char *const *alert_types, size_t n_alerts)
{
    size_t i;

    if (row->verdict == NULL) {
        return "unknown";
    }
    if (strcmp(row->verdict, "allowed") != 0) {
        return row->verdict;
    }
    for (i = 0; i < n_alerts; i++) {
        const char *t = alert_types[i], *dot;

        if (t == NULL || strcmp(t, "signing.recorded") == 0) {
            continue;
        }
        dot = strchr(t, '.');
        return dot != NULL && dot[1] != '\0' ? dot + 1 : t;
    }
    if (row->pcrs_state != NULL) {
        if (strcmp(row->pcrs_state, "pending") == 0) {
            return "pcrs_pending";
        }
        if (strcmp(row->pcrs_state, "unavailable") == 0) {
            return "pcrs_unavailable";
        }
    }
    return "allowed";
}

int
view_verdict_allowed(const char *verdict)
{
    return verdict != NULL && strcmp(verdict, "allowed") == 0;
}

/* ---- logs ----------------------------------------------------------- */

static int
shard_cb(void *arg, const struct store_log_status *st)
{
    struct view_ctx *c = arg;

    if (c->nshards == VIEW_MAX_SHARDS) {
        return 1;
    }
    c->shards[c->nshards++].st = *st;
    return 0;
}

struct view_err {
    int64_t at;
    char *message; /* owned */
};

struct err_list {
    struct view_err v[VIEW_ERRORS + STORE_RECENT_ERRORS];
    size_t n;
    int failed;
};

/* Keep the VIEW_ERRORS newest: collect, then sort and cut. */
static int
err_cb(void *arg, int64_t at, const char *message)
{
    struct err_list *e = arg;
    size_t i, oldest = 0;

    if (e->n < sizeof(e->v) / sizeof(e->v[0])) {
        i = e->n++;
    } else {
        for (i = 1; i < e->n; i++) {
            if (e->v[i].at < e->v[oldest].at) {
                oldest = i;
            }
        }
        if (at <= e->v[oldest].at) {
            return 0;
        }
        i = oldest;
        free(e->v[i].message);
    }
    e->v[i].at = at;
    e->v[i].message = strdup(message);
    if (e->v[i].message == NULL) {
        e->failed = 1; /* the slot stays, empty: err_free copes */
        return 1;
    }
    return 0;
}

static int
err_cmp(const void *a, const void *b)
{
    const struct view_err *x = a, *y = b;

    return x->at < y->at ? 1 : x->at > y->at ? -1 : 0;
}

static void
err_free(struct err_list *e)
{
    size_t i;

    for (i = 0; i < e->n; i++) {
        free(e->v[i].message);
    }
    e->n = 0;
}

static json_t *
shard_json(struct view_ctx *c, const struct store_log_status *st)
{
    char root[2 * MERKLE_HASH_LEN + 1];
    json_t *o = vobj(c);

    put(c, o, "origin", vstr(st->origin));
    put(c, o, "frozen", json_boolean(st->frozen));
    if (st->has_checkpoint) {
        merkle_hex_encode(st->verified_root, MERKLE_HASH_LEN, root,
                          sizeof(root));
        put(c, o, "verified_size", vuint(st->verified_size));
        put(c, o, "verified_root", json_string(root));
        put(c, o, "verified_at", vtime(st->verified_at));
    } else {
        put(c, o, "verified_size", json_null());
        put(c, o, "verified_root", json_null());
        put(c, o, "verified_at", json_null());
    }
    if (st->has_cursor) {
        put(c, o, "cursor", vuint(st->next_index));
        put(c, o, "shard_cursor", vuint(st->next_shard_index));
    } else {
        put(c, o, "cursor", json_null());
        put(c, o, "shard_cursor", json_null());
    }
    if (st->has_cursor && st->has_checkpoint) {
        put(c, o, "lag",
            vuint(st->verified_size > st->next_shard_index
                      ? st->verified_size - st->next_shard_index
                      : 0));
    } else {
        put(c, o, "lag", json_null());
    }
    put(c, o, "entries_scanned", vuint(st->entries_scanned));
    put(c, o, "checkpoints_verified", vuint(st->checkpoints_verified));
    put(c, o, "proofs_verified", vuint(st->proofs_verified));
    put(c, o, "root_checks_passed", vuint(st->root_checks_passed));
    return o;
}

/* One log: the configured cl (or NULL for a name only the store has). */
static json_t *
log_json(struct view_ctx *c, const char *name, const struct config_log *cl)
{
    json_t *o = vobj(c), *shards = varr(c), *errors = varr(c);
    const struct store_log_status *newest = NULL;
    struct err_list e;
    int64_t last_ok = 0, last_cp = 0, fresh, stale_s;
    size_t i;

    memset(&e, 0, sizeof(e));
    put(c, o, "name", vstr(name));
    put(c, o, "kind",
        cl != NULL ? json_string(config_log_kind_name(cl->kind)) : json_null());
    put(c, o, "url", cl != NULL ? vstr(cl->url) : json_null());
    for (i = 0; i < c->nshards; i++) {
        const struct store_log_status *st = &c->shards[i].st;

        if (strcmp(st->name, name) != 0) {
            continue;
        }
        push(c, shards, shard_json(c, st));
        if (newest == NULL || !st->frozen || newest->frozen) {
            newest = st;
        }
        if (st->last_success_at > last_ok) {
            last_ok = st->last_success_at;
        }
        if (st->has_checkpoint && st->verified_at > last_cp) {
            last_cp = st->verified_at;
        }
        if (store_log_errors_each(c->s, st->log_id, err_cb, &e) != 0) {
            err_free(&e);
            json_decref(o);
            json_decref(shards);
            json_decref(errors);
            return NULL;
        }
    }
    if (store_name_errors_each(c->s, name, VIEW_ERRORS, err_cb, &e) != 0) {
        err_free(&e);
        json_decref(o);
        json_decref(shards);
        json_decref(errors);
        return NULL;
    }
    if (e.failed) {
        c->failed = 1;
    }
    qsort(e.v, e.n, sizeof(e.v[0]), err_cmp);
    for (i = 0; i < e.n && i < VIEW_ERRORS; i++) {
        json_t *r = vobj(c);

        put(c, r, "at", vtime(e.v[i].at));
        put(c, r, "message", vstr(e.v[i].message));
        push(c, errors, r);
    }
    put(c, o, "shards", shards);
    if (newest != NULL && newest->has_checkpoint) {
        put(c, o, "verified_size", vuint(newest->verified_size));
    } else {
        put(c, o, "verified_size", json_null());
    }
    if (newest != NULL && newest->has_cursor) {
        put(c, o, "cursor", vuint(newest->next_index));
    } else {
        put(c, o, "cursor", json_null());
    }
    if (newest != NULL && newest->has_cursor && newest->has_checkpoint) {
        put(c, o, "lag",
            vuint(newest->verified_size > newest->next_shard_index
                      ? newest->verified_size - newest->next_shard_index
                      : 0));
    } else {
        put(c, o, "lag", json_null());
    }
    put(c, o, "last_success", vtime(last_ok));
    put(c, o, "last_success_age_s",
        last_ok != 0 ? json_integer((json_int_t)(c->now - last_ok))
                     : json_null());
    /* Fresh: a successful poll, or a new checkpoint verified (`once`
     * records no poll), within stale_after. */
    stale_s = cl != NULL ? (int64_t)(cl->stale_after_ms / 1000) : 0;
    fresh = last_ok > last_cp ? last_ok : last_cp;
    put(c, o, "stale",
        json_boolean(cl != NULL && (fresh == 0 || c->now - fresh > stale_s)));
    if (e.n > 0) {
        json_t *le = vobj(c);

        put(c, le, "at", vtime(e.v[0].at));
        put(c, le, "message", vstr(e.v[0].message));
        put(c, o, "last_error", le);
    } else {
        put(c, o, "last_error", json_null());
    }
    put(c, o, "recent_errors", errors);
    err_free(&e);
    return o;
}

static int
logs_json(struct view_ctx *c, json_t *doc)
{
    json_t *logs = varr(c);
    size_t i, j;

    for (i = 0; i < c->cfg->n_logs; i++) {
        json_t *l = log_json(c, c->cfg->logs[i].name, &c->cfg->logs[i]);

        if (l == NULL) {
            json_decref(logs);
            return -1;
        }
        push(c, logs, l);
    }
    /* Names the store holds that the configuration no longer has. */
    for (i = 0; i < c->nshards; i++) {
        const char *name = c->shards[i].st.name;
        int seen = 0;

        for (j = 0; j < c->cfg->n_logs && !seen; j++) {
            seen = strcmp(c->cfg->logs[j].name, name) == 0;
        }
        for (j = 0; j < i && !seen; j++) {
            seen = strcmp(c->shards[j].st.name, name) == 0;
        }
        if (!seen) {
            json_t *l = log_json(c, name, NULL);

            if (l == NULL) {
                json_decref(logs);
                return -1;
            }
            push(c, logs, l);
        }
    }
    put(c, doc, "logs", logs);
    return 0;
}

/* ---- rules and signings -------------------------------------------- */

static const char *
log_name_of(const struct view_ctx *c, int64_t log_id)
{
    size_t i;

    for (i = 0; i < c->nshards; i++) {
        if (c->shards[i].st.log_id == log_id) {
            return c->shards[i].st.name;
        }
    }
    return NULL;
}

struct entry_alerts {
    struct view_ctx *c;
    json_t *list;
    /* Types of severity warning or above, the most severe first. */
    char *types[VIEW_ENTRY_ALERTS];
    size_t ntypes;
};

static int
entry_alert_cb(void *arg, const struct store_alert_row *row)
{
    struct entry_alerts *ea = arg;
    struct view_ctx *c = ea->c;

    if (ea->list != NULL) {
        json_t *a = vobj(c);

        put(c, a, "id", vstr(row->id));
        put(c, a, "type", vstr(row->type));
        put(c, a, "severity", json_string(notify_severity_name(row->severity)));
        put(c, a, "at", vtime(row->detected_at));
        push(c, ea->list, a);
    }
    if (row->severity >= NOTIFY_WARNING && ea->ntypes < VIEW_ENTRY_ALERTS) {
        ea->types[ea->ntypes] = strdup(row->type);
        if (ea->types[ea->ntypes] == NULL) {
            c->failed = 1;
            return 1;
        }
        ea->ntypes++;
    }
    return 0;
}

int
view_signing_alerts(struct store *s, const struct store_signing *row,
                    char **types, size_t cap, size_t *n)
{
    struct view_ctx c;
    struct entry_alerts ea;
    size_t i;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(&ea, 0, sizeof(ea));
    c.s = s;
    ea.c = &c;
    ea.list = NULL; /* types only */
    rc = store_entry_alerts_each(s, row->log_id, row->log_index, row->rule,
                                 NOTIFY_WARNING, VIEW_ENTRY_ALERTS,
                                 entry_alert_cb, &ea);
    *n = 0;
    for (i = 0; i < ea.ntypes; i++) {
        if (rc == 0 && !c.failed && *n < cap) {
            types[(*n)++] = ea.types[i];
        } else {
            free(ea.types[i]);
        }
    }
    if (rc != 0 || c.failed) {
        for (i = 0; i < *n; i++) {
            free(types[i]);
        }
        *n = 0;
        return -1;
    }
    return 0;
}

/* A GitHub commit URL when repository is owner/name and sha 40 hex. */
static json_t *
commit_url(const char *repository, const char *sha)
{
    char buf[512];
    size_t i, n, slashes = 0;

    if (repository == NULL || sha == NULL || strlen(sha) != 40 ||
        strlen(repository) > 200) {
        return json_null();
    }
    for (i = 0; i < 40; i++) {
        if (!((sha[i] >= '0' && sha[i] <= '9') ||
              (sha[i] >= 'a' && sha[i] <= 'f'))) {
            return json_null();
        }
    }
    n = strlen(repository);
    for (i = 0; i < n; i++) {
        char ch = repository[i];
        if (ch == '/') {
            slashes++;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
                     ch == '.')) {
            return json_null();
        }
    }
    if (slashes != 1 || repository[0] == '/' || repository[n - 1] == '/') {
        return json_null();
    }
    snprintf(buf, sizeof(buf), "https://github.com/%s/commit/%s", repository,
             sha);
    return json_string(buf);
}

/* An https:// URL of printable ASCII, else null. */
static json_t *
https_url(const char *u)
{
    size_t i, n;

    if (u == NULL || strncmp(u, "https://", 8) != 0) {
        return json_null();
    }
    n = strlen(u);
    if (n > 2048) {
        return json_null();
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)u[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '<' || ch == '>') {
            return json_null();
        }
    }
    return json_string(u);
}

struct rule_ctx {
    struct view_ctx *c;
    json_t *signings;
};

static int
rule_signing_cb(void *arg, const struct store_signing *g)
{
    struct rule_ctx *rc = arg;
    struct view_ctx *c = rc->c;
    struct entry_alerts ea;
    json_t *o = vobj(c), *pcrs = vobj(c);
    const char *verdict;
    size_t i;

    memset(&ea, 0, sizeof(ea));
    ea.c = c;
    ea.list = varr(c);
    if (store_entry_alerts_each(c->s, g->log_id, g->log_index, g->rule,
                                NOTIFY_INFO, VIEW_ENTRY_ALERTS, entry_alert_cb,
                                &ea) != 0) {
        for (i = 0; i < ea.ntypes; i++) {
            free(ea.types[i]);
        }
        json_decref(ea.list);
        json_decref(o);
        json_decref(pcrs);
        c->store_failed = 1;
        return 1; /* stops the listing; rules_json reports it */
    }
    verdict = view_signing_verdict(g, (const char *const *)ea.types, ea.ntypes);
    put(c, o, "log", vstr(log_name_of(c, g->log_id)));
    put(c, o, "log_index", vuint(g->log_index));
    put(c, o, "uuid", vstr(g->uuid));
    put(c, o, "integrated_time", vtime(g->integrated_time));
    put(c, o, "verdict", vstr(verdict));
    put(c, o, "allowed", json_boolean(view_verdict_allowed(verdict)));
    put(c, o, "policy_verdict", vstr(g->verdict));
    put(c, o, "alerts", ea.list);
    put(c, o, "commit", vstr(g->workflow_sha));
    put(c, o, "commit_url", commit_url(g->repository, g->workflow_sha));
    put(c, o, "workflow", vstr(g->workflow_path));
    put(c, o, "ref", vstr(g->ref));
    put(c, o, "trigger", vstr(g->trigger));
    put(c, o, "runner", vstr(g->runner_environment));
    put(c, o, "run_url", https_url(g->run_invocation_uri));
    put(c, pcrs, "state", vstr(g->pcrs_state));
    put(c, pcrs, "source", vstr(g->pcrs_source));
    put(c, pcrs, "note", vstr(g->pcrs_note));
    put(c, pcrs, "PCR0", vstr(g->pcr0));
    put(c, pcrs, "PCR1", vstr(g->pcr1));
    put(c, pcrs, "PCR2", vstr(g->pcr2));
    put(c, pcrs, "PCR8", vstr(g->pcr8));
    put(c, o, "pcrs", pcrs);
    push(c, rc->signings, o);
    for (i = 0; i < ea.ntypes; i++) {
        free(ea.types[i]);
    }
    return c->failed ? 1 : 0;
}

/* ---- CT certificates ------------------------------------------------ */

const char *
view_ct_verdict(const struct store_ct_cert *row, const char *const *alert_types,
                size_t n_alerts, const char *signing_verdict)
{
    size_t i;

    if (row->verdict == NULL) {
        return "unknown";
    }
    if (strcmp(row->verdict, "allowed") != 0) {
        return row->verdict;
    }
    for (i = 0; i < n_alerts; i++) {
        const char *t = alert_types[i], *dot;

        if (t == NULL || strcmp(t, "signing.recorded") == 0) {
            continue;
        }
        dot = strchr(t, '.');
        return dot != NULL && dot[1] != '\0' ? dot + 1 : t;
    }
    if (row->state == NULL) {
        return "unknown";
    }
    if (strcmp(row->state, "unlogged") == 0) {
        return "unlogged_certificate";
    }
    if (strcmp(row->state, "pending") == 0) {
        return "rekor_pending";
    }
    return signing_verdict != NULL ? signing_verdict : "allowed";
}

/* The Rekor signing of a logged certificate: its JSON and verdict. */
struct ct_signing {
    struct view_ctx *c;
    json_t *obj;   /* {"log", "log_index", "uuid", "verdict"} or NULL */
    char *verdict; /* its effective verdict, owned */
};

static int
ct_signing_cb(void *arg, const struct store_signing *g)
{
    struct ct_signing *cs = arg;
    struct view_ctx *c = cs->c;
    struct entry_alerts ea;
    size_t i;

    memset(&ea, 0, sizeof(ea));
    ea.c = c;
    ea.list = NULL;
    if (store_entry_alerts_each(c->s, g->log_id, g->log_index, g->rule,
                                NOTIFY_WARNING, VIEW_ENTRY_ALERTS,
                                entry_alert_cb, &ea) != 0) {
        c->store_failed = 1;
    } else {
        cs->verdict = strdup(
            view_signing_verdict(g, (const char *const *)ea.types, ea.ntypes));
        cs->obj = vobj(c);
        if (cs->verdict == NULL) {
            c->failed = 1;
        }
        put(c, cs->obj, "log", vstr(log_name_of(c, g->log_id)));
        put(c, cs->obj, "log_index", vuint(g->log_index));
        put(c, cs->obj, "uuid", vstr(g->uuid));
        put(c, cs->obj, "verdict", vstr(cs->verdict));
    }
    for (i = 0; i < ea.ntypes; i++) {
        free(ea.types[i]);
    }
    return 1; /* the first is the one */
}

/* A string member of o, or NULL. */
static const char *
jget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/*
 * The document's object of CT certificate row (see view.h), or NULL
 * with c->failed or c->store_failed set.  The claims come from the
 * identity of the alert policy_eval_ct prepared (the certificate's own
 * claims); the alerts are those about its CT entry (this rule or none);
 * a logged one names its Rekor signing (first by link id and rule).
 */
static json_t *
ct_row_json(struct view_ctx *c, const struct store_ct_cert *row)
{
    struct entry_alerts ea;
    struct ct_signing cs;
    json_t *o, *alert = NULL;
    const json_t *idn = NULL;
    const char *verdict;
    size_t i;

    memset(&ea, 0, sizeof(ea));
    memset(&cs, 0, sizeof(cs));
    ea.c = c;
    ea.list = varr(c);
    cs.c = c;
    if (store_entry_alerts_each(c->s, row->log_id, row->log_index, row->rule,
                                NOTIFY_INFO, VIEW_ENTRY_ALERTS, entry_alert_cb,
                                &ea) != 0 ||
        (strcmp(row->state, "logged") == 0 &&
         store_signing_by_link(c->s, row->link_id, row->rule, ct_signing_cb,
                               &cs) != 0) ||
        c->store_failed) {
        c->store_failed = 1;
        for (i = 0; i < ea.ntypes; i++) {
            free(ea.types[i]);
        }
        json_decref(ea.list);
        json_decref(cs.obj);
        free(cs.verdict);
        return NULL;
    }
    if (row->alert != NULL && strlen(row->alert) <= VIEW_SUMMARY_BODY_MAX) {
        alert = json_loads(row->alert, 0, NULL);
        idn = json_object_get(alert, "identity");
    }
    verdict = view_ct_verdict(row, (const char *const *)ea.types, ea.ntypes,
                              cs.verdict);
    o = vobj(c);
    put(c, o, "rule", vstr(row->rule));
    put(c, o, "ct_log", vstr(log_name_of(c, row->log_id)));
    put(c, o, "ct_log_index", vuint(row->log_index));
    put(c, o, "entry_type", vstr(row->entry_type));
    put(c, o, "leaf_hash", vstr(row->leaf_hash));
    put(c, o, "cert_sha256", vstr(row->cert_sha256));
    put(c, o, "link_id", vstr(row->link_id));
    put(c, o, "state", vstr(row->state));
    put(c, o, "first_seen", vtime(row->recorded_at));
    put(c, o, "not_before", vtime(row->not_before));
    put(c, o, "deadline", vtime(row->deadline));
    put(c, o, "judged_at", vtime(row->judged_at));
    put(c, o, "verdict", vstr(verdict));
    put(c, o, "allowed", json_boolean(view_verdict_allowed(verdict)));
    put(c, o, "policy_verdict", vstr(row->verdict));
    put(c, o, "alerts", ea.list);
    put(c, o, "commit", vstr(jget(idn, "workflow_sha")));
    put(c, o, "commit_url",
        commit_url(jget(idn, "repository"), jget(idn, "workflow_sha")));
    put(c, o, "workflow", vstr(jget(idn, "workflow_path")));
    put(c, o, "ref", vstr(jget(idn, "workflow_ref")));
    put(c, o, "trigger", vstr(jget(idn, "trigger")));
    put(c, o, "runner", vstr(jget(idn, "runner_environment")));
    put(c, o, "run_url", https_url(jget(idn, "run_invocation_uri")));
    put(c, o, "signing", cs.obj != NULL ? cs.obj : json_null());
    json_decref(alert);
    free(cs.verdict);
    for (i = 0; i < ea.ntypes; i++) {
        free(ea.types[i]);
    }
    return o;
}

struct ct_list {
    struct view_ctx *c;
    json_t *list;
};

static int
ct_list_cb(void *arg, const struct store_ct_cert *row)
{
    struct ct_list *l = arg;
    json_t *o = ct_row_json(l->c, row);

    if (o == NULL) {
        return 1;
    }
    push(l->c, l->list, o);
    return l->c->failed ? 1 : 0;
}

/* The CT certificates counted per (rule, state), for configured rules. */
struct ct_counts {
    const struct config *cfg;
    uint64_t (*n)[3]; /* per configured rule: pending, logged, unlogged */
};

static int
ct_count_cb(void *arg, const char *rule, const char *state, uint64_t count)
{
    struct ct_counts *cc = arg;
    size_t i, k;

    if (strcmp(state, "pending") == 0) {
        k = 0;
    } else if (strcmp(state, "logged") == 0) {
        k = 1;
    } else if (strcmp(state, "unlogged") == 0) {
        k = 2;
    } else {
        return 0;
    }
    for (i = 0; i < cc->cfg->n_watch; i++) {
        if (strcmp(cc->cfg->watch[i].name, rule) == 0) {
            cc->n[i][k] = count;
        }
    }
    return 0;
}

static int
rules_json(struct view_ctx *c, json_t *doc)
{
    json_t *rules = varr(c);
    struct ct_counts cc;
    size_t i;

    cc.cfg = c->cfg;
    cc.n = calloc(c->cfg->n_watch + 1, sizeof(*cc.n));
    if (cc.n == NULL) {
        c->failed = 1;
        json_decref(rules);
        return 0;
    }
    if (store_ct_cert_counts_each(c->s, ct_count_cb, &cc) != 0) {
        free(cc.n);
        json_decref(rules);
        return -1;
    }
    for (i = 0; i < c->cfg->n_watch; i++) {
        const struct config_watch *w = &c->cfg->watch[i];
        struct rule_ctx rc;
        struct ct_list cl;
        json_t *r = vobj(c), *counts = vobj(c);

        rc.c = c;
        rc.signings = varr(c);
        cl.c = c;
        cl.list = varr(c);
        put(c, r, "name", vstr(w->name));
        put(c, r, "repository", vstr(w->repository));
        if (store_signings_latest(c->s, w->name, VIEW_SIGNINGS, rule_signing_cb,
                                  &rc) != 0 ||
            c->store_failed ||
            store_ct_certs_latest(c->s, w->name, VIEW_SIGNINGS, ct_list_cb,
                                  &cl) != 0 ||
            c->store_failed) {
            json_decref(r);
            json_decref(counts);
            json_decref(rc.signings);
            json_decref(cl.list);
            json_decref(rules);
            free(cc.n);
            return -1;
        }
        put(c, r, "signings", rc.signings);
        put(c, counts, "pending", vuint(cc.n[i][0]));
        put(c, counts, "logged", vuint(cc.n[i][1]));
        put(c, counts, "unlogged", vuint(cc.n[i][2]));
        put(c, r, "ct_counts", counts);
        put(c, r, "ct_certificates", cl.list);
        push(c, rules, r);
    }
    free(cc.n);
    put(c, doc, "rules", rules);
    return 0;
}

json_t *
view_ct_unlogged(struct store *s, const struct config *cfg, int64_t since,
                 int64_t until, size_t limit, char *err, size_t errcap)
{
    struct view_ctx c;
    struct ct_list cl;
    const char *what = NULL;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.cfg = cfg;
    c.shards = calloc(VIEW_MAX_SHARDS, sizeof(*c.shards));
    cl.c = &c;
    cl.list = json_array();
    if (c.shards == NULL || cl.list == NULL) {
        free(c.shards);
        json_decref(cl.list);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (store_logs_each(s, shard_cb, &c) != 0 ||
        store_ct_certs_unlogged(s, since, until, limit, ct_list_cb, &cl) != 0 ||
        c.store_failed) {
        what = store_errmsg(s);
    }
    free(c.shards);
    if (what != NULL || c.failed) {
        snprintf(err, errcap, "%s", c.failed ? "out of memory" : what);
        json_decref(cl.list);
        return NULL;
    }
    return cl.list;
}

/* ---- alerts --------------------------------------------------------- */

/* The "summary" of an alert body, new or NULL. */
static char *
body_summary(const char *body)
{
    json_t *doc;
    const char *s;
    char *out = NULL;

    if (body == NULL || strlen(body) > VIEW_SUMMARY_BODY_MAX) {
        return NULL;
    }
    doc = json_loads(body, 0, NULL);
    s = json_string_value(json_object_get(doc, "summary"));
    if (s != NULL) {
        out = strdup(s);
    }
    json_decref(doc);
    return out;
}

struct latest_ctx {
    struct view_ctx *c;
    json_t *list;
};

static int
latest_cb(void *arg, const struct store_alert_row *row)
{
    struct latest_ctx *l = arg;
    struct view_ctx *c = l->c;
    json_t *a = vobj(c);
    char *summary = body_summary(row->body);

    put(c, a, "id", vstr(row->id));
    put(c, a, "type", vstr(row->type));
    put(c, a, "severity", json_string(notify_severity_name(row->severity)));
    put(c, a, "at", vtime(row->detected_at));
    put(c, a, "summary", vstr(summary));
    put(c, a, "log",
        row->log_id != 0 ? vstr(log_name_of(c, row->log_id)) : json_null());
    put(c, a, "rule", vstr(row->rule));
    free(summary);
    push(c, l->list, a);
    return c->failed ? 1 : 0;
}

struct by_type_ctx {
    struct view_ctx *c;
    json_t *list;
    size_t n;
};

static int
by_type_cb(void *arg, const char *type, const char *severity, uint64_t count)
{
    struct by_type_ctx *bt = arg;
    struct view_ctx *c = bt->c;
    json_t *a;

    if (bt->n == VIEW_ALERT_KINDS) {
        return 1;
    }
    bt->n++;
    a = vobj(c);
    put(c, a, "type", vstr(type));
    put(c, a, "severity", vstr(severity));
    put(c, a, "count", vuint(count));
    push(c, bt->list, a);
    return c->failed ? 1 : 0;
}

static int
pending_cb(void *arg, const struct store_signing *row)
{
    (void)row;
    (*(uint64_t *)arg)++;
    return 0;
}

static int
alerts_json(struct view_ctx *c, json_t *doc, const struct store_counts *win)
{
    struct store_alert_query q;
    struct latest_ctx l;
    struct by_type_ctx bt;
    uint64_t pending = 0;
    json_t *o = vobj(c), *sev = vobj(c);

    put(c, o, "window_s", json_integer(VIEW_ALERT_WINDOW_S));
    put(c, sev, "info", vuint(win->alerts[NOTIFY_INFO]));
    put(c, sev, "warning", vuint(win->alerts[NOTIFY_WARNING]));
    put(c, sev, "critical", vuint(win->alerts[NOTIFY_CRITICAL]));
    put(c, o, "by_severity", sev);
    memset(&q, 0, sizeof(q));
    q.since = INT64_MIN;
    q.until = INT64_MAX;
    q.min_severity = NOTIFY_INFO;
    q.limit = VIEW_LATEST_ALERTS;
    l.c = c;
    l.list = varr(c);
    if (store_alerts_each(c->s, &q, latest_cb, &l) != 0) {
        json_decref(l.list);
        json_decref(o);
        return -1;
    }
    put(c, o, "latest", l.list);
    bt.c = c;
    bt.list = varr(c);
    bt.n = 0;
    if (store_alert_counts_each(c->s, INT64_MIN, INT64_MAX, by_type_cb, &bt) !=
        0) {
        json_decref(bt.list);
        json_decref(o);
        return -1;
    }
    put(c, o, "by_type", bt.list);
    put(c, doc, "alerts", o);
    if (store_signings_pending(c->s, INT64_MIN, pending_cb, &pending) != 0) {
        return -1;
    }
    put(c, doc, "pcr_lookups_pending", vuint(pending));
    return 0;
}

/* ---- outbox --------------------------------------------------------- */

char *
view_sink_where(const struct config_sink *cs, char *out, size_t cap)
{
    size_t i;

    if (cap == 0) {
        return out;
    }
    out[0] = '\0'; /* stdout */
    if (cs->url != NULL) {
        notify_redact_url(cs->url, out, cap); /* scheme://host[:port]/... */
    } else if (cs->command != NULL) {
        /* The executable's path (config: no arguments), printable only. */
        snprintf(out, cap, "%s", cs->command);
        for (i = 0; out[i] != '\0'; i++) {
            unsigned char ch = (unsigned char)out[i];
            if (ch < 0x20 || ch >= 0x7f) {
                out[i] = '?';
            }
        }
    }
    return out;
}

char *
view_delivery_error(const char *error, char *out, size_t cap)
{
    size_t i;

    if (cap == 0) {
        return out;
    }
    snprintf(out, cap, "%s", error != NULL ? error : "");
    for (i = 0; out[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)out[i];
        if (ch == ':') {
            out[i] = '\0';
            break;
        }
        if (ch < 0x20 || ch >= 0x7f) {
            out[i] = '?';
        }
    }
    return out;
}

struct sink_row {
    uint64_t pending, failed;
    char error[128];
    int has_error;
};

struct sinks_ctx {
    const struct config *cfg;
    struct sink_row *rows; /* one per configured sink */
};

static int
sinks_cb(void *arg, const char *sink, uint64_t pending, uint64_t failed,
         const char *last_error)
{
    struct sinks_ctx *sc = arg;
    size_t i;

    for (i = 0; i < sc->cfg->n_sinks; i++) {
        if (strcmp(sc->cfg->sinks[i].name, sink) == 0) {
            sc->rows[i].pending = pending;
            sc->rows[i].failed = failed;
            if (last_error != NULL) {
                view_delivery_error(last_error, sc->rows[i].error,
                                    sizeof(sc->rows[i].error));
                sc->rows[i].has_error = 1;
            }
            break;
        }
    }
    return 0;
}

static int
outbox_json(struct view_ctx *c, json_t *doc, const struct store_counts *win)
{
    struct sinks_ctx sc;
    json_t *o = vobj(c), *sinks = varr(c);
    size_t i;

    put(c, o, "pending", vuint(win->deliveries[STORE_DELIVERY_PENDING]));
    put(c, o, "sent", vuint(win->deliveries[STORE_DELIVERY_SENT]));
    put(c, o, "failed", vuint(win->deliveries[STORE_DELIVERY_FAILED]));
    sc.cfg = c->cfg;
    sc.rows = calloc(c->cfg->n_sinks + 1, sizeof(*sc.rows));
    if (sc.rows == NULL) {
        c->failed = 1;
        json_decref(o);
        json_decref(sinks);
        return 0;
    }
    if (store_sinks_each(c->s, VIEW_MAX_SINKS, sinks_cb, &sc) != 0) {
        free(sc.rows);
        json_decref(o);
        json_decref(sinks);
        return -1;
    }
    for (i = 0; i < c->cfg->n_sinks; i++) {
        const struct config_sink *cs = &c->cfg->sinks[i];
        char where[600];
        json_t *k = vobj(c);

        put(c, k, "name", vstr(cs->name));
        put(c, k, "type", json_string(config_sink_type_name(cs->type)));
        view_sink_where(cs, where, sizeof(where));
        put(c, k, "where", where[0] != '\0' ? vstr(where) : json_null());
        put(c, k, "pending", vuint(sc.rows[i].pending));
        put(c, k, "failed", vuint(sc.rows[i].failed));
        put(c, k, "last_error",
            sc.rows[i].has_error ? vstr(sc.rows[i].error) : json_null());
        push(c, sinks, k);
    }
    free(sc.rows);
    put(c, o, "sinks", sinks);
    put(c, doc, "outbox", o);
    return 0;
}

/* ---- history -------------------------------------------------------- */

struct hist_ctx {
    struct view_ctx *c;
    const struct store_log_status *st;
    json_t *points; /* newest first while reading */
};

static int
hist_cb(void *arg, int64_t at, uint64_t size, uint64_t scanned)
{
    struct hist_ctx *h = arg;
    struct view_ctx *c = h->c;
    json_t *p = vobj(c);

    put(c, p, "log", vstr(h->st->name));
    put(c, p, "origin", vstr(h->st->origin));
    put(c, p, "at", vtime(at));
    put(c, p, "verified_size", vuint(size));
    put(c, p, "entries_scanned", vuint(scanned));
    if (p != NULL && json_array_insert_new(h->points, 0, p) != 0) {
        c->failed = 1;
    }
    return c->failed ? 1 : 0;
}

static int
history_json(struct view_ctx *c, json_t *doc)
{
    json_t *all = varr(c);
    size_t i;

    for (i = 0; i < c->nshards; i++) {
        struct hist_ctx h;

        h.c = c;
        h.st = &c->shards[i].st;
        h.points = varr(c);
        if (h.points == NULL) {
            break;
        }
        if (store_history_each(c->s, h.st->log_id, c->now - VIEW_HISTORY_S,
                               VIEW_HISTORY_POINTS, hist_cb, &h) != 0) {
            json_decref(h.points);
            json_decref(all);
            return -1;
        }
        if (all == NULL || json_array_extend(all, h.points) != 0) {
            c->failed = 1;
        }
        json_decref(h.points);
    }
    put(c, doc, "history", all);
    return 0;
}

/* ---- the document --------------------------------------------------- */

json_t *
view_status_json(struct store *s, const struct config *cfg, int64_t now,
                 char *err, size_t errcap)
{
    struct view_ctx c;
    struct store_counts win;
    json_t *doc;
    const char *what = NULL;

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.cfg = cfg;
    c.now = now;
    c.shards = calloc(VIEW_MAX_SHARDS, sizeof(*c.shards));
    doc = json_object();
    if (c.shards == NULL || doc == NULL) {
        free(c.shards);
        json_decref(doc);
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    put(&c, doc, "schema", json_string(VIEW_SCHEMA));
    put(&c, doc, "generated_at", vtime(now));
    if (store_logs_each(s, shard_cb, &c) != 0) {
        what = store_errmsg(s);
    } else if (logs_json(&c, doc) != 0 || rules_json(&c, doc) != 0) {
        what = store_errmsg(s);
    } else if (store_counts(s, now - VIEW_ALERT_WINDOW_S, now + 1, &win) != 0 ||
               alerts_json(&c, doc, &win) != 0 ||
               outbox_json(&c, doc, &win) != 0 || history_json(&c, doc) != 0) {
        what = store_errmsg(s);
    }
    free(c.shards);
    if (what != NULL || c.failed) {
        snprintf(err, errcap, "%s", c.failed ? "out of memory" : what);
        json_decref(doc);
        return NULL;
    }
    return doc;
}
