/*
 * policy.c: the policy engine (see policy.h for the pipeline and its
 * invariants).  The hot path for an entry nobody watches is
 * entry_body_decode plus one fulcio_prefilter per certificate; everything
 * below policy_eval_der runs only on a prefilter hit.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/identity/attest.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/fulcio.h"
#include "monitor/registry/pcr.h"
#include "monitor/identity/policy.h"
#include "notify/alert.h"

#define POLICY_KEY_LEN 1024     /* stable key of an alert */
#define POLICY_SUMMARY_LEN 1024 /* one alert's summary */

/* An allow list copied from config_strings. */
struct policy_list {
    char **v;
    size_t n;
    int set;
};

/* One watch rule, owned copies of what the engine needs. */
struct policy_rule {
    char *name;
    char *repository;    /* lowercased by config */
    char *repository_id; /* or NULL */
    char *issuer;
    struct fulcio_needles *name_needle; /* repository only */
    struct policy_list workflows;
    struct policy_list refs;
    struct policy_list triggers;
    unsigned runners;
    int record_expected;
    int pcrs;                   /* pcrs: set: queue a PCR lookup */
    uint64_t lookup_timeout_ms; /* when pcrs */
    uint64_t unlogged_after_ms;
};

struct policy {
    const struct config_trusted_root *tr; /* borrowed */
    struct fulcio_needles *all;           /* every rule's name and id */
    struct policy_rule *rules;
    size_t nrules;
};

/* Violations of one (certificate, rule). */
struct policy_reasons {
    char v[POLICY_MAX_REASONS][POLICY_MAX_REASON_LEN];
    size_t n;
    int runner; /* index of the runner reason in v, or -1 */
};

/* ---- construction ---------------------------------------------------- */

static void
policy_list_free(struct policy_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int
policy_list_copy(struct policy_list *dst, const struct config_strings *src)
{
    size_t i;

    memset(dst, 0, sizeof(*dst));
    dst->set = src->set;
    if (src->n == 0) {
        return 0;
    }
    dst->v = calloc(src->n, sizeof(*dst->v));
    if (dst->v == NULL) {
        return -1;
    }
    for (i = 0; i < src->n; i++) {
        dst->v[i] = strdup(src->v[i]);
        if (dst->v[i] == NULL) {
            return -1;
        }
        dst->n = i + 1;
    }
    return 0;
}

static void
policy_rule_free(struct policy_rule *r)
{
    free(r->name);
    free(r->repository);
    free(r->repository_id);
    free(r->issuer);
    fulcio_needles_free(r->name_needle);
    policy_list_free(&r->workflows);
    policy_list_free(&r->refs);
    policy_list_free(&r->triggers);
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int
policy_rule_init(struct policy_rule *r, const struct config_watch *w)
{
    memset(r, 0, sizeof(*r));
    r->name = strdup(w->name);
    r->repository = strdup(w->repository);
    r->issuer = strdup(w->issuer != NULL ? w->issuer : CONFIG_DEFAULT_ISSUER);
    r->repository_id = dup_or_null(w->repository_id);
    r->name_needle = fulcio_needles_new();
    if (r->name == NULL || r->repository == NULL || r->issuer == NULL ||
        (w->repository_id != NULL && r->repository_id == NULL) ||
        r->name_needle == NULL) {
        return -1;
    }
    if (fulcio_needles_add(r->name_needle, w->repository, NULL) != 0) {
        return -1;
    }
    if (policy_list_copy(&r->workflows, &w->workflows) != 0 ||
        policy_list_copy(&r->refs, &w->refs) != 0 ||
        policy_list_copy(&r->triggers, &w->triggers) != 0) {
        return -1;
    }
    r->runners = w->runners != 0 ? w->runners : CONFIG_RUNNER_GITHUB_HOSTED;
    r->record_expected = w->record_expected;
    r->pcrs = w->pcrs.enabled;
    r->lookup_timeout_ms = w->pcrs.lookup_timeout_ms;
    r->unlogged_after_ms = w->unlogged_after_ms != 0
                               ? w->unlogged_after_ms
                               : CONFIG_DEFAULT_UNLOGGED_AFTER_MS;
    return 0;
}

struct policy *
policy_new(const struct config *cfg, const struct config_trusted_root *tr,
           char *err, size_t errlen)
{
    struct policy *p;
    size_t i;

    if (cfg == NULL || tr == NULL) {
        snprintf(err, errlen, "policy: no configuration or trusted root");
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        goto oom;
    }
    p->tr = tr;
    p->all = fulcio_needles_new();
    if (p->all == NULL) {
        goto oom;
    }
    if (cfg->n_watch > 0) {
        p->rules = calloc(cfg->n_watch, sizeof(*p->rules));
        if (p->rules == NULL) {
            goto oom;
        }
    }
    for (i = 0; i < cfg->n_watch; i++) {
        const struct config_watch *w = &cfg->watch[i];

        p->nrules = i + 1;
        if (policy_rule_init(&p->rules[i], w) != 0) {
            snprintf(err, errlen,
                     "policy: watch rule '%s': cannot compile (repository "
                     "'%s'; at most %d rules)",
                     w->name, w->repository, FULCIO_NEEDLES_MAX);
            policy_free(p);
            return NULL;
        }
        if (fulcio_needles_add(p->all, w->repository, w->repository_id) != 0) {
            snprintf(err, errlen,
                     "policy: watch rule '%s': cannot add its prefilter "
                     "needle",
                     w->name);
            policy_free(p);
            return NULL;
        }
    }
    return p;
oom:
    snprintf(err, errlen, "policy: out of memory");
    policy_free(p);
    return NULL;
}

void
policy_free(struct policy *p)
{
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < p->nrules; i++) {
        policy_rule_free(&p->rules[i]);
    }
    free(p->rules);
    fulcio_needles_free(p->all);
    free(p);
}

size_t
policy_nrules(const struct policy *p)
{
    return p != NULL ? p->nrules : 0;
}

const struct fulcio_needles *
policy_needles(const struct policy *p)
{
    return p->all;
}

/* ---- batch ------------------------------------------------------------ */

void
policy_batch_clear(struct policy_batch *b)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < b->n; i++) {
        struct store_signing *s = &b->v[i];
        /* Every string of a row was strdup'ed by policy_row_add. */
        free((char *)s->uuid);
        free((char *)s->kind);
        free((char *)s->cert_sha256);
        free((char *)s->san);
        free((char *)s->issuer);
        free((char *)s->repository);
        free((char *)s->repository_id);
        free((char *)s->workflow_path);
        free((char *)s->ref);
        free((char *)s->workflow_sha);
        free((char *)s->runner_environment);
        free((char *)s->trigger);
        free((char *)s->run_invocation_uri);
        free((char *)s->build_signer_uri);
        free((char *)s->rule);
        free((char *)s->verdict);
        free((char *)s->artifact_digest);
        free((char *)s->pcr0);
        free((char *)s->pcr1);
        free((char *)s->pcr2);
        free((char *)s->pcr8);
        free((char *)s->pcrs_note);
        free((char *)s->link_id);
        /* pcrs_state and pcrs_source are static strings. */
    }
    b->n = 0;
    for (i = 0; i < b->nct; i++) {
        struct store_ct_cert *c = &b->ct[i];
        /* Every string of a row was strdup'ed by policy_ct_row_add. */
        free((char *)c->link_id);
        free((char *)c->rule);
        free((char *)c->leaf_hash);
        free((char *)c->cert_sha256);
        free((char *)c->verdict);
        free((char *)c->alert);
        /* entry_type is a static string. */
    }
    b->nct = 0;
}

void
policy_batch_free(struct policy_batch *b)
{
    if (b == NULL) {
        return;
    }
    policy_batch_clear(b);
    free(b->v);
    b->v = NULL;
    b->cap = 0;
    free(b->ct);
    b->ct = NULL;
    b->ctcap = 0;
}

/* ---- matching --------------------------------------------------------- */

/* The ref a rule's refs list is matched against: .14, else .18's ref. */
static const char *
claims_ref(const struct fulcio_claims *cl)
{
    return cl->ext[14] != NULL ? cl->ext[14] : cl->workflow_ref;
}

/*
 * Does rule r name the certificate?  0: no; 1: yes.  *id_differs is set
 * when the match is by name while the rule's id and the certificate's
 * .15 disagree (a repository of that name that is not ours any more).
 */
static int
policy_rule_match(const struct policy_rule *r, const struct fulcio_claims *cl,
                  int *id_differs)
{
    int by_name = fulcio_needles_match_claims(r->name_needle, cl);

    *id_differs = 0;
    if (r->repository_id != NULL && cl->repository_id != NULL) {
        if (strcmp(r->repository_id, cl->repository_id) == 0) {
            return 1;
        }
        *id_differs = by_name;
        return by_name;
    }
    return by_name;
}

/* Append a formatted reason (truncated to POLICY_MAX_REASON_LEN). */
static void policy_reason(struct policy_reasons *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
policy_reason(struct policy_reasons *rs, const char *fmt, ...)
{
    va_list ap;

    if (rs->n >= POLICY_MAX_REASONS) {
        return;
    }
    va_start(ap, fmt);
    if (vsnprintf(rs->v[rs->n], POLICY_MAX_REASON_LEN, fmt, ap) < 0) {
        rs->v[rs->n][0] = '\0';
    }
    va_end(ap);
    rs->n++;
}

/* "[a, b, c]" of a list into buf (truncated with "..."). */
static const char *
list_text(const struct policy_list *l, char *buf, size_t cap)
{
    size_t i, used = 0;
    int n;

    n = snprintf(buf, cap, "[");
    used = n > 0 ? (size_t)n : 0;
    for (i = 0; i < l->n && used < cap; i++) {
        n = snprintf(buf + used, cap - used, "%s%s", i > 0 ? ", " : "",
                     l->v[i]);
        if (n < 0 || (size_t)n >= cap - used) {
            used = cap;
            break;
        }
        used += (size_t)n;
    }
    if (used >= cap - 1) {
        if (cap >= 5) {
            memcpy(buf + cap - 5, "...]", 5);
        }
        return buf;
    }
    snprintf(buf + used, cap - used, "]");
    return buf;
}

static int
list_has(const struct policy_list *l, const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
list_glob(const struct policy_list *l, const char *s)
{
    size_t i;

    for (i = 0; s != NULL && i < l->n; i++) {
        if (fnmatch(l->v[i], s, FNM_PATHNAME) == 0) {
            return 1;
        }
    }
    return 0;
}

static unsigned
runner_bit(const char *runner)
{
    if (runner == NULL) {
        return 0;
    }
    if (strcmp(runner, "github-hosted") == 0) {
        return CONFIG_RUNNER_GITHUB_HOSTED;
    }
    if (strcmp(runner, "self-hosted") == 0) {
        return CONFIG_RUNNER_SELF_HOSTED;
    }
    return 0;
}

static const char *
runners_text(unsigned bits)
{
    switch (bits & (CONFIG_RUNNER_GITHUB_HOSTED | CONFIG_RUNNER_SELF_HOSTED)) {
    case CONFIG_RUNNER_GITHUB_HOSTED:
        return "[github-hosted]";
    case CONFIG_RUNNER_SELF_HOSTED:
        return "[self-hosted]";
    case CONFIG_RUNNER_GITHUB_HOSTED | CONFIG_RUNNER_SELF_HOSTED:
        return "[github-hosted, self-hosted]";
    default:
        return "[]";
    }
}

#define Q(s)                                                                   \
    ((s) != NULL ? "'" : ""), ((s) != NULL ? (s) : "(none)"),                  \
        ((s) != NULL ? "'" : "")

/* Every allow list of r the claims violate, into rs. */
static void
policy_check(const struct policy_rule *r, const struct fulcio_claims *cl,
             int id_differs, struct policy_reasons *rs)
{
    char lt[POLICY_MAX_REASON_LEN / 2];
    const char *ref = claims_ref(cl);

    rs->n = 0;
    rs->runner = -1;
    if (id_differs) {
        policy_reason(rs, "repository_id %s%s%s is not '%s'",
                      Q(cl->repository_id), r->repository_id);
    }
    if (cl->issuer == NULL || strcmp(cl->issuer, r->issuer) != 0) {
        policy_reason(rs, "issuer %s%s%s is not '%s'", Q(cl->issuer),
                      r->issuer);
    }
    if (r->workflows.set && !list_has(&r->workflows, cl->workflow_path)) {
        policy_reason(rs, "workflow %s%s%s not in %s", Q(cl->workflow_path),
                      list_text(&r->workflows, lt, sizeof(lt)));
    }
    if (r->refs.set && !list_glob(&r->refs, ref)) {
        policy_reason(rs, "ref %s%s%s not in %s", Q(ref),
                      list_text(&r->refs, lt, sizeof(lt)));
    }
    if (r->triggers.set && !list_has(&r->triggers, cl->trigger)) {
        policy_reason(rs, "trigger %s%s%s not in %s", Q(cl->trigger),
                      list_text(&r->triggers, lt, sizeof(lt)));
    }
    if ((runner_bit(cl->runner_environment) & r->runners) == 0) {
        rs->runner = (int)rs->n;
        policy_reason(rs, "runner_environment %s%s%s not in %s",
                      Q(cl->runner_environment), runners_text(r->runners));
    }
}

/* ---- alerts ----------------------------------------------------------- */

static int
set_str(json_t *o, const char *k, const char *v)
{
    if (v == NULL) {
        return 0;
    }
    return json_object_set_new(o, k, json_string(v));
}

static json_t *
alert_entry_obj(const struct policy_entry_ctx *ctx, const struct entry *e,
                const char *kind)
{
    char lh[2 * MERKLE_HASH_LEN + 1];
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    merkle_hex_encode(e->leaf_hash, MERKLE_HASH_LEN, lh, sizeof(lh));
    if (json_object_set_new(o, "log_index",
                            json_integer((json_int_t)ctx->log_index)) != 0 ||
        json_object_set_new(o, "shard_index",
                            json_integer((json_int_t)ctx->shard_index)) != 0 ||
        (e->uuid[0] != '\0' && set_str(o, "uuid", e->uuid) != 0) ||
        set_str(o, "leaf_hash", lh) != 0 ||
        (e->has_integrated_time &&
         json_object_set_new(o, "integrated_time",
                             json_integer((json_int_t)e->integrated_time)) !=
             0) ||
        set_str(o, "kind", kind) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
alert_identity_obj(const struct fulcio_claims *cl, const char *cert_hex)
{
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if (set_str(o, "san", cl->san) != 0 ||
        set_str(o, "issuer", cl->issuer) != 0 ||
        set_str(o, "repository", cl->repository) != 0 ||
        set_str(o, "repository_id", cl->repository_id) != 0 ||
        set_str(o, "workflow_ref", claims_ref(cl)) != 0 ||
        set_str(o, "workflow_path", cl->workflow_path) != 0 ||
        set_str(o, "build_config_uri", cl->ext[18]) != 0 ||
        set_str(o, "build_signer_uri", cl->build_signer_uri) != 0 ||
        set_str(o, "workflow_sha", cl->workflow_sha) != 0 ||
        set_str(o, "runner_environment", cl->runner_environment) != 0 ||
        set_str(o, "trigger", cl->trigger) != 0 ||
        set_str(o, "run_invocation_uri", cl->run_invocation_uri) != 0 ||
        set_str(o, "cert_sha256", cert_hex) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
reasons_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/*
 * The stable key of a certificate-level alert (policy.h point 7): the
 * link id, the rule and the type, whatever log or entry the certificate
 * is seen in.
 */
static int
policy_cert_key(char *key, size_t cap, const uint8_t link[CTLEAF_HASH_LEN],
                const char *rule, const char *type)
{
    char hex[2 * CTLEAF_HASH_LEN + 1];
    int n;

    merkle_hex_encode(link, CTLEAF_HASH_LEN, hex, sizeof(hex));
    n = snprintf(key, cap, "cert|%s|%s|%s", hex, rule, type);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/*
 * One alert of type for the entry (rule may be NULL) with its sub-objects
 * (stolen, may be NULL), appended to alerts.  With link (a certificate's
 * link id) the id is the certificate's (policy_cert_key), else the
 * entry's.  0 or -1.
 */
static int
policy_alert(const struct policy_entry_ctx *ctx, const char *type,
             const char *rule, const uint8_t *link, const char *summary,
             json_t *entry_obj, json_t *identity, json_t *reasons,
             json_t *evidence, json_t *alerts)
{
    char key[POLICY_KEY_LEN];
    json_t *a = NULL, *log = NULL;
    int n;

    if (link != NULL && rule != NULL) {
        n = policy_cert_key(key, sizeof(key), link, rule, type) == 0 ? 0 : -1;
    } else {
        n = snprintf(key, sizeof(key), "%s|%s|%llu|%s|%s", ctx->log_name,
                     ctx->origin != NULL ? ctx->origin : "",
                     (unsigned long long)ctx->log_index,
                     rule != NULL ? rule : "", type);
    }
    if (n < 0 || (size_t)n >= sizeof(key) || entry_obj == NULL) {
        goto err;
    }
    a = notify_alert_new(type, key, summary, ctx->now);
    log = json_pack("{s:s, s:s}", "name", ctx->log_name, "origin",
                    ctx->origin != NULL ? ctx->origin : "");
    if (a == NULL || log == NULL) {
        goto err;
    }
    if (notify_alert_set(a, "log", log) != 0) {
        log = NULL;
        goto err;
    }
    log = NULL;
    if (notify_alert_set(a, "entry", entry_obj) != 0) {
        entry_obj = NULL;
        goto err;
    }
    entry_obj = NULL;
    if (identity != NULL) {
        int rc = notify_alert_set(a, "identity", identity);
        identity = NULL;
        if (rc != 0) {
            goto err;
        }
    }
    if (rule != NULL && notify_alert_set(a, "rule", json_string(rule)) != 0) {
        goto err;
    }
    if (reasons != NULL) {
        int rc = notify_alert_set(a, "reasons", reasons);
        reasons = NULL;
        if (rc != 0) {
            goto err;
        }
    }
    if (evidence != NULL) {
        int rc = notify_alert_set(a, "evidence", evidence);
        evidence = NULL;
        if (rc != 0) {
            goto err;
        }
    }
    if (json_array_append_new(alerts, a) != 0) {
        return -1;
    }
    return 0;
err:
    json_decref(a);
    json_decref(log);
    json_decref(entry_obj);
    json_decref(identity);
    json_decref(reasons);
    json_decref(evidence);
    return -1;
}

/* ---- signings --------------------------------------------------------- */

static int
policy_row_add(struct policy_batch *b, const struct policy_entry_ctx *ctx,
               const struct entry *e, const char *kind,
               const struct fulcio_claims *cl, const char *cert_hex,
               const char *rule, const char *verdict)
{
    struct store_signing *s;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct store_signing *v = realloc(b->v, cap * sizeof(*v));
        if (v == NULL) {
            return -1;
        }
        b->v = v;
        b->cap = cap;
    }
    s = &b->v[b->n];
    memset(s, 0, sizeof(*s));
    b->n++; /* counted now, so that a failure below is cleared too */
    s->log_index = ctx->log_index;
    s->shard_index = ctx->shard_index;
    s->integrated_time = e->has_integrated_time ? e->integrated_time : 0;
    s->uuid = strdup(e->uuid);
    s->kind = strdup(kind);
    s->cert_sha256 = strdup(cert_hex);
    s->san = dup_or_null(cl->san);
    s->issuer = dup_or_null(cl->issuer);
    s->repository = dup_or_null(cl->repository);
    s->repository_id = dup_or_null(cl->repository_id);
    s->workflow_path = dup_or_null(cl->workflow_path);
    s->ref = dup_or_null(claims_ref(cl));
    s->workflow_sha = dup_or_null(cl->workflow_sha);
    s->runner_environment = dup_or_null(cl->runner_environment);
    s->trigger = dup_or_null(cl->trigger);
    s->run_invocation_uri = dup_or_null(cl->run_invocation_uri);
    s->build_signer_uri = dup_or_null(cl->build_signer_uri);
    s->rule = strdup(rule);
    s->verdict = strdup(verdict);
    if (s->uuid == NULL || s->kind == NULL || s->cert_sha256 == NULL ||
        s->rule == NULL || s->verdict == NULL ||
        (cl->san != NULL && s->san == NULL) ||
        (cl->issuer != NULL && s->issuer == NULL) ||
        (cl->repository != NULL && s->repository == NULL) ||
        (cl->repository_id != NULL && s->repository_id == NULL) ||
        (cl->workflow_path != NULL && s->workflow_path == NULL) ||
        (claims_ref(cl) != NULL && s->ref == NULL) ||
        (cl->workflow_sha != NULL && s->workflow_sha == NULL) ||
        (cl->runner_environment != NULL && s->runner_environment == NULL) ||
        (cl->trigger != NULL && s->trigger == NULL) ||
        (cl->run_invocation_uri != NULL && s->run_invocation_uri == NULL) ||
        (cl->build_signer_uri != NULL && s->build_signer_uri == NULL)) {
        return -1;
    }
    return 0;
}

/*
 * The PCRs an intoto/dsse entry brings itself (monitor/identity/attest.h): its
 * attestation, once it hashes to the body's payloadHash, either carries
 * the PCRs (source "attestation": stored now, compared by pcrwatch at
 * once) or names the signed image in its subject (source "subject": the
 * registry lookup starts from that manifest).  When the log returned no
 * attestation (Rekor keeps none for dsse entries, and none over its
 * storage limit), the statement is looked for among cosign's .att
 * manifests by the payloadHash (source "att", artifact_digest
 * "sha256:<payloadHash>").  Anything else leaves the row without a digest
 * and with a note: pcrwatch reports signing.pcrs_unavailable with it,
 * never trusting what could not be checked.
 */
static int
policy_row_attestation(struct store_signing *s, const struct entry *e)
{
    struct attest_result ar;
    char note[ATTEST_WHY_MAX + 96];
    const char **pcr[4] = {&s->pcr0, &s->pcr1, &s->pcr2, &s->pcr8};
    size_t i;

    note[0] = '\0';
    if (e->attestation_b64 == NULL) {
        /* Not returned (never for dsse; over Rekor's storage limit; too
         * large for us): cosign keeps the statement in the registry too,
         * under an .att tag, found by the payloadHash the body commits to. */
        char hex[65], digest[sizeof("sha256:") + 64];

        if (attest_payload_hash(e->body, e->body_len, hex, &ar) !=
            ATTEST_PCRS) {
            snprintf(note, sizeof(note),
                     "the log returned no attestation and the entry names no "
                     "payload to look for: %s",
                     ar.why);
        } else {
            snprintf(digest, sizeof(digest), "sha256:%s", hex);
            s->pcrs_source = "att";
            if ((s->artifact_digest = strdup(digest)) == NULL) {
                return -1;
            }
        }
    } else {
        switch (attest_check(e->body, e->body_len, e->attestation_b64,
                             e->attestation_b64_len, &ar)) {
        case ATTEST_PCRS:
            s->pcrs_source = "attestation";
            for (i = 0; i < 4; i++) {
                if ((ar.pcrs.present & (1u << i)) != 0 &&
                    (*pcr[i] = strdup(ar.pcrs.hex[i])) == NULL) {
                    return -1;
                }
            }
            break;
        case ATTEST_NO_PCRS:
            if (ar.pcrs.artifact_digest[0] == '\0') {
                snprintf(note, sizeof(note),
                         "the attestation carries no PCRs and its subject "
                         "names no sha256 image digest");
                break;
            }
            s->pcrs_source = "subject";
            break;
        case ATTEST_UNTRUSTED:
            snprintf(note, sizeof(note), "untrusted: attestation: %s", ar.why);
            break;
        case ATTEST_MALFORMED:
        default:
            snprintf(note, sizeof(note),
                     "the attestation could not be read: %s", ar.why);
            break;
        }
        if (note[0] == '\0' && ar.pcrs.artifact_digest[0] != '\0' &&
            (s->artifact_digest = strdup(ar.pcrs.artifact_digest)) == NULL) {
            return -1;
        }
    }
    if (note[0] != '\0' && (s->pcrs_note = strdup(note)) == NULL) {
        return -1;
    }
    return 0;
}

/*
 * A rule with pcrs: the row is stored "pending" (monitor/registry/pcrwatch.c
 * looks the PCRs up or, for an attestation, compares them) until integrated
 * time + lookup_timeout (detected_at when the entry has no time).  A
 * hashedrekord's artifact_digest is the digest the entry signs
 * ("sha256:<hex>": cosign's payload, the key of the .sig search); an
 * intoto/dsse entry is read by policy_row_attestation; any other kind
 * has no digest, and the lookup reports the PCRs unavailable.
 */
static int
policy_row_pcrs(struct store_signing *s, const struct policy_entry_ctx *ctx,
                const struct entry *e, const struct policy_rule *r)
{
    char hex[PCR_DATA_HASH_HEX + 1];
    char digest[sizeof("sha256:") + PCR_DATA_HASH_HEX];
    int64_t from = e->has_integrated_time ? (int64_t)e->integrated_time
                                          : (int64_t)ctx->now;
    uint64_t secs = r->lookup_timeout_ms / 1000;

    if (from < 0) {
        from = 0; /* an untrusted time before 1970 */
    }
    s->pcrs_state = "pending";
    s->pcrs_deadline =
        secs > (uint64_t)(INT64_MAX - from) ? INT64_MAX : from + (int64_t)secs;
    if (attest_kind_applies(s->kind)) {
        return policy_row_attestation(s, e);
    }
    if (pcr_entry_data_hash(e->body, e->body_len, hex) == 0) {
        snprintf(digest, sizeof(digest), "sha256:%s", hex);
        s->artifact_digest = strdup(digest);
        if (s->artifact_digest == NULL) {
            return -1;
        }
    }
    return 0;
}

/* ---- evaluation ------------------------------------------------------- */

static const char *
or_none(const char *s)
{
    return s != NULL ? s : "(none)";
}

/* The verdict of reasons rs, with the violations other than the
 * runner's into others[0..*nothers). */
static const char *
policy_verdict(const struct policy_reasons *rs,
               const char *others[POLICY_MAX_REASONS], size_t *nothers)
{
    size_t i;

    *nothers = 0;
    for (i = 0; i < rs->n; i++) {
        if ((int)i != rs->runner) {
            others[(*nothers)++] = rs->v[i];
        }
    }
    return rs->runner >= 0 ? "self_hosted_runner"
           : *nothers > 0  ? "unexpected"
                           : "allowed";
}

/* A deep copy of o (NULL stays NULL; a failed copy is NULL too, which
 * policy_alert refuses for the entry and ignores otherwise). */
static json_t *
copy_or_null(json_t *o)
{
    return o != NULL ? json_deep_copy(o) : NULL;
}

/*
 * The certificate-level alerts of one (certificate, rule) with reasons
 * rs: signing.self_hosted_runner for the runner's, signing.unexpected
 * for the others, with the certificate's id when link is not NULL.  The
 * sub-objects are borrowed templates (copied per alert; evidence may be
 * NULL).  0 or -1.
 */
static int
policy_cert_alerts(const struct policy_rule *r,
                   const struct policy_entry_ctx *ctx,
                   const struct fulcio_claims *cl, const uint8_t *link,
                   const struct policy_reasons *rs, json_t *entry_obj,
                   json_t *identity, json_t *evidence, json_t *alerts,
                   struct policy_result *res)
{
    const char *others[POLICY_MAX_REASONS];
    char summary[POLICY_SUMMARY_LEN];
    size_t nothers;
    int n;

    (void)policy_verdict(rs, others, &nothers);
    if (rs->runner >= 0) {
        const char *rv = rs->v[rs->runner];
        n = snprintf(summary, sizeof(summary),
                     "%s (rule %s) was signed on a %s runner by workflow %s "
                     "at %s",
                     or_none(cl->repository), r->name,
                     or_none(cl->runner_environment),
                     or_none(cl->workflow_path), or_none(claims_ref(cl)));
        if (n < 0 || policy_alert(ctx, "signing.self_hosted_runner", r->name,
                                  link, summary, copy_or_null(entry_obj),
                                  copy_or_null(identity), reasons_array(&rv, 1),
                                  copy_or_null(evidence), alerts) != 0) {
            return -1;
        }
        res->alerts++;
    }
    if (nothers > 0) {
        n = snprintf(summary, sizeof(summary),
                     "Unexpected signing for %s (rule %s): %s",
                     or_none(cl->repository), r->name, others[0]);
        if (n < 0 ||
            policy_alert(ctx, "signing.unexpected", r->name, link, summary,
                         copy_or_null(entry_obj), copy_or_null(identity),
                         reasons_array(others, nothers), copy_or_null(evidence),
                         alerts) != 0) {
            return -1;
        }
        res->alerts++;
    }
    return 0;
}

/* One (certificate, rule) of a Rekor entry that matched and chains. */
static int
policy_eval_rule(const struct policy_rule *r,
                 const struct policy_entry_ctx *ctx, const struct entry *e,
                 const char *kind, const struct fulcio_claims *cl,
                 const char *cert_hex, const uint8_t *link, int id_differs,
                 json_t *alerts, struct policy_batch *batch,
                 struct policy_result *res)
{
    struct policy_reasons rs;
    const char *others[POLICY_MAX_REASONS];
    const char *verdict;
    char summary[POLICY_SUMMARY_LEN], link_hex[2 * CTLEAF_HASH_LEN + 1];
    json_t *eo, *io;
    size_t nothers;
    int n, rc;

    policy_check(r, cl, id_differs, &rs);
    verdict = policy_verdict(&rs, others, &nothers);
    if (policy_row_add(batch, ctx, e, kind, cl, cert_hex, r->name, verdict) !=
            0 ||
        (r->pcrs && policy_row_pcrs(&batch->v[batch->n - 1], ctx, e, r) != 0)) {
        return -1;
    }
    if (link != NULL) {
        merkle_hex_encode(link, CTLEAF_HASH_LEN, link_hex, sizeof(link_hex));
        batch->v[batch->n - 1].link_id = strdup(link_hex);
        if (batch->v[batch->n - 1].link_id == NULL) {
            return -1;
        }
    }
    res->signings++;
    eo = alert_entry_obj(ctx, e, kind);
    io = alert_identity_obj(cl, cert_hex);
    rc = eo == NULL || io == NULL
             ? -1
             : policy_cert_alerts(r, ctx, cl, link, &rs, eo, io, NULL, alerts,
                                  res);
    json_decref(eo);
    json_decref(io);
    if (rc != 0) {
        return -1;
    }
    if (rs.n == 0 && r->record_expected) {
        n = snprintf(summary, sizeof(summary),
                     "%s (rule %s) signed by %s at %s, commit %s",
                     or_none(cl->repository), r->name,
                     or_none(cl->workflow_path), or_none(claims_ref(cl)),
                     or_none(cl->workflow_sha));
        if (n < 0 || policy_alert(ctx, "signing.recorded", r->name, NULL,
                                  summary, alert_entry_obj(ctx, e, kind),
                                  alert_identity_obj(cl, cert_hex), NULL, NULL,
                                  alerts) != 0) {
            return -1;
        }
        res->alerts++;
    }
    return 0;
}

/* One certificate of a Rekor entry that passed the prefilter. */
static int
policy_eval_der(struct policy *p, const struct policy_entry_ctx *ctx,
                const struct entry *e, const char *kind, const uint8_t *der,
                size_t len, json_t *alerts, struct policy_batch *batch,
                struct policy_result *res)
{
    struct fulcio_cert *c = fulcio_cert_parse_der(der, len, NULL);
    const struct fulcio_claims *cl;
    enum fulcio_chain_result chain = FULCIO_CHAIN_OK;
    char cert_hex[2 * FULCIO_SHA256_LEN + 1];
    char summary[POLICY_SUMMARY_LEN];
    uint8_t link[CTLEAF_HASH_LEN];
    int checked = 0, has_link = 0, rc = -1;
    size_t i;

    if (c == NULL) {
        /* Not a certificate we can read: it names no identity. */
        return 0;
    }
    cl = fulcio_cert_claims(c);
    merkle_hex_encode(cl->sha256, FULCIO_SHA256_LEN, cert_hex,
                      sizeof(cert_hex));
    for (i = 0; i < p->nrules; i++) {
        const struct policy_rule *r = &p->rules[i];
        int id_differs;

        if (!policy_rule_match(r, cl, &id_differs)) {
            continue;
        }
        res->matched++;
        if (!checked) {
            chain = fulcio_verify_chain(c, p->tr, NULL);
            has_link = ctleaf_link_id_x509(fulcio_cert_x509(c), link) == 0;
            checked = 1;
        }
        if (chain != FULCIO_CHAIN_OK) {
            const char *why = fulcio_chain_strerror(chain);
            int n = snprintf(summary, sizeof(summary),
                             "A certificate naming %s (rule %s) is not "
                             "from a trusted Fulcio CA: %s",
                             r->repository, r->name, why);
            res->impostors++;
            if (n < 0 ||
                policy_alert(ctx, "signing.impostor", r->name, NULL, summary,
                             alert_entry_obj(ctx, e, kind),
                             alert_identity_obj(cl, cert_hex),
                             reasons_array(&why, 1), NULL, alerts) != 0) {
                goto out;
            }
            res->alerts++;
            continue;
        }
        if (policy_eval_rule(r, ctx, e, kind, cl, cert_hex,
                             has_link ? link : NULL, id_differs, alerts, batch,
                             res) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    fulcio_cert_free(c);
    return rc;
}

/* ---- Fulcio's CT log ---------------------------------------------------- */

/* ms as the shortest of "Nh", "Nm", "Ns". */
static void
duration_text(uint64_t ms, char *out, size_t cap)
{
    uint64_t s = ms / 1000;

    if (s % 3600 == 0) {
        snprintf(out, cap, "%lluh", (unsigned long long)(s / 3600));
    } else if (s % 60 == 0) {
        snprintf(out, cap, "%llum", (unsigned long long)(s / 60));
    } else {
        snprintf(out, cap, "%llus", (unsigned long long)s);
    }
}

/* The "entry" of an alert about CT entry l: index, leaf hash, kind
 * (precert_entry / x509_entry) and the SCT timestamp in seconds. */
static json_t *
ct_entry_obj(const struct policy_ct_ctx *ctx, const struct ctleaf *l)
{
    char lh[2 * CTLEAF_HASH_LEN + 1];

    merkle_hex_encode(l->leaf_hash, CTLEAF_HASH_LEN, lh, sizeof(lh));
    return json_pack(
        "{s:I, s:s, s:I, s:s}", "log_index", (json_int_t)ctx->log_index,
        "leaf_hash", lh, "integrated_time", (json_int_t)(l->timestamp / 1000),
        "kind", l->type == CTLEAF_PRECERT ? "precert_entry" : "x509_entry");
}

/* The identity of CT entry l: the claims, cert_sha256 (precert: of the
 * logged TBSCertificate), link_id and not_before (RFC 3339). */
static json_t *
ct_identity_obj(const struct ctleaf *l, const char *cert_hex,
                const char *link_hex)
{
    json_t *o = alert_identity_obj(l->claims, cert_hex);
    char nb[32];

    notify_rfc3339((time_t)l->claims->not_before, nb, sizeof(nb));
    if (o == NULL || set_str(o, "cert_link_id", link_hex) != 0 ||
        set_str(o, "not_before", nb) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The evidence of an alert about CT entry l: the log, its index and leaf
 * hash, and the STH whose tree holds it. */
static json_t *
ct_evidence_obj(const struct policy_ct_ctx *ctx, const struct ctleaf *l)
{
    char lh[2 * CTLEAF_HASH_LEN + 1];
    json_t *o;

    merkle_hex_encode(l->leaf_hash, CTLEAF_HASH_LEN, lh, sizeof(lh));
    o = json_pack("{s:s, s:I, s:s}", "ct_log", ctx->origin, "log_index",
                  (json_int_t)ctx->log_index, "leaf_hash", lh);
    if (o != NULL && ctx->sth != NULL &&
        set_str(o, "checkpoint", ctx->sth) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/*
 * The CT certificate row of (l, r), carrying the rendered
 * signing.unlogged_certificate alert (id: the certificate's) that the
 * daemon raises if no Rekor entry uses it by the row's deadline.
 */
static int
policy_ct_row_add(struct policy_batch *b, const struct policy_ct_ctx *ctx,
                  const struct policy_entry_ctx *ec, const struct ctleaf *l,
                  const struct policy_rule *r, const char *verdict,
                  const char *cert_hex, const char *link_hex, json_t *eo,
                  json_t *io, json_t *ev)
{
    const struct fulcio_claims *cl = l->claims;
    struct store_ct_cert *c;
    char summary[POLICY_SUMMARY_LEN], lh[2 * CTLEAF_HASH_LEN + 1], nb[32];
    char d[32];
    json_t *alerts = json_array();
    int64_t nbt = cl->not_before, secs;
    int n;

    if (alerts == NULL) {
        return -1;
    }
    if (b->nct == b->ctcap) {
        size_t cap = b->ctcap ? b->ctcap * 2 : 8;
        struct store_ct_cert *v = realloc(b->ct, cap * sizeof(*v));
        if (v == NULL) {
            json_decref(alerts);
            return -1;
        }
        b->ct = v;
        b->ctcap = cap;
    }
    c = &b->ct[b->nct];
    memset(c, 0, sizeof(*c));
    b->nct++; /* counted now, so that a failure below is cleared too */
    duration_text(r->unlogged_after_ms, d, sizeof(d));
    notify_rfc3339((time_t)nbt, nb, sizeof(nb));
    n = snprintf(summary, sizeof(summary),
                 "A Fulcio certificate for %s (rule %s, workflow %s at %s) "
                 "valid from %s is in CT log %s at index %llu, but no "
                 "followed Rekor log has an entry using it %s later",
                 or_none(cl->repository), r->name, or_none(cl->workflow_path),
                 or_none(claims_ref(cl)), nb, ctx->log_name,
                 (unsigned long long)ctx->log_index, d);
    if (n < 0 ||
        policy_alert(ec, "signing.unlogged_certificate", r->name, l->link_id,
                     summary, copy_or_null(eo), copy_or_null(io), NULL,
                     copy_or_null(ev), alerts) != 0) {
        json_decref(alerts);
        return -1;
    }
    c->alert = notify_alert_render(json_array_get(alerts, 0));
    json_decref(alerts);
    secs = (int64_t)(r->unlogged_after_ms / 1000);
    merkle_hex_encode(l->leaf_hash, CTLEAF_HASH_LEN, lh, sizeof(lh));
    c->link_id = strdup(link_hex);
    c->rule = strdup(r->name);
    c->log_index = ctx->log_index;
    c->leaf_hash = strdup(lh);
    c->entry_type = l->type == CTLEAF_PRECERT ? "precert" : "x509";
    c->cert_sha256 = strdup(cert_hex);
    c->not_before = nbt;
    c->deadline = nbt > INT64_MAX - secs ? INT64_MAX : nbt + secs;
    c->verdict = strdup(verdict);
    if (c->alert == NULL || c->link_id == NULL || c->rule == NULL ||
        c->leaf_hash == NULL || c->cert_sha256 == NULL || c->verdict == NULL) {
        return -1;
    }
    return 0;
}

int
policy_eval_ct(struct policy *p, const struct policy_ct_ctx *ctx,
               const struct ctleaf *l, json_t *alerts,
               struct policy_batch *batch, struct policy_result *res)
{
    struct policy_result local;
    struct policy_entry_ctx ec;
    const struct fulcio_claims *cl;
    char cert_hex[2 * CTLEAF_HASH_LEN + 1], link_hex[2 * CTLEAF_HASH_LEN + 1];
    char summary[POLICY_SUMMARY_LEN];
    const char *why = NULL;
    int checked = 0;
    size_t i;

    if (res == NULL) {
        res = &local;
    }
    memset(res, 0, sizeof(*res));
    if (p->nrules == 0 || l->claims_skipped || l->claims == NULL) {
        /* no rule, ruled out by the prefilter, or not a Fulcio
         * certificate */
        return 0;
    }
    cl = l->claims;
    res->prefilter++;
    memset(&ec, 0, sizeof(ec));
    ec.log_name = ctx->log_name;
    ec.origin = ctx->origin;
    ec.log_index = ctx->log_index;
    ec.shard_index = ctx->log_index;
    ec.now = ctx->now;
    merkle_hex_encode(l->cert_sha256, CTLEAF_HASH_LEN, cert_hex,
                      sizeof(cert_hex));
    merkle_hex_encode(l->link_id, CTLEAF_HASH_LEN, link_hex, sizeof(link_hex));
    for (i = 0; i < p->nrules; i++) {
        const struct policy_rule *r = &p->rules[i];
        struct policy_reasons rs;
        const char *others[POLICY_MAX_REASONS];
        const char *verdict;
        size_t nothers;
        json_t *eo, *io, *ev;
        int id_differs, rc;

        if (!policy_rule_match(r, cl, &id_differs)) {
            continue;
        }
        res->matched++;
        if (!checked) {
            checked = 1;
            if (l->type == CTLEAF_PRECERT) {
                if (!ctleaf_issuer_in_root(l, p->tr, cl->not_before)) {
                    why = "the precertificate's issuer key is not a Fulcio "
                          "CA of the trusted root at its NotBefore";
                }
            } else {
                enum fulcio_chain_result chain =
                    l->fulcio != NULL
                        ? fulcio_verify_chain(l->fulcio, p->tr, NULL)
                        : FULCIO_CHAIN_NO_CA;
                if (chain != FULCIO_CHAIN_OK) {
                    why = fulcio_chain_strerror(chain);
                }
            }
        }
        if (why != NULL) {
            int n = snprintf(summary, sizeof(summary),
                             "A certificate naming %s (rule %s) in CT log %s "
                             "is not from a trusted Fulcio CA: %s",
                             r->repository, r->name, ctx->log_name, why);
            res->impostors++;
            if (n < 0 || policy_alert(&ec, "signing.impostor", r->name, NULL,
                                      summary, ct_entry_obj(ctx, l),
                                      ct_identity_obj(l, cert_hex, link_hex),
                                      reasons_array(&why, 1),
                                      ct_evidence_obj(ctx, l), alerts) != 0) {
                return -1;
            }
            res->alerts++;
            continue;
        }
        policy_check(r, cl, id_differs, &rs);
        verdict = policy_verdict(&rs, others, &nothers);
        eo = ct_entry_obj(ctx, l);
        io = ct_identity_obj(l, cert_hex, link_hex);
        ev = ct_evidence_obj(ctx, l);
        rc = eo == NULL || io == NULL || ev == NULL
                 ? -1
                 : policy_cert_alerts(r, &ec, cl, l->link_id, &rs, eo, io, ev,
                                      alerts, res);
        if (rc == 0) {
            rc = policy_ct_row_add(batch, ctx, &ec, l, r, verdict, cert_hex,
                                   link_hex, eo, io, ev);
        }
        json_decref(eo);
        json_decref(io);
        json_decref(ev);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * A body entry.c decodes may still be unusable as a signing: the kinds
 * whose verifier can only be an X.509 certificate or a PKIX public key
 * (hashedrekord, intoto, dsse, cose; Rekor v2's x509Certificate or
 * publicKey) with a verifier that is neither.  Static reason, or NULL.
 * rekord (PGP, SSH, minisign allowed) and jar are taken as decoded.
 */
static const char *
policy_body_problem(const struct entry_body *b)
{
    static const char *const strict[] = {"hashedrekord", "intoto", "dsse",
                                         "cose"};
    size_t i;

    if (b->nother == 0) {
        return NULL;
    }
    for (i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
        if (strcmp(b->kind, strict[i]) == 0) {
            return "a verifier is neither an X.509 certificate nor a "
                   "public key";
        }
    }
    return NULL;
}

/* entry.malformed for e, with why (no byte of the input in it). */
static int
policy_malformed(const struct policy_entry_ctx *ctx, const struct entry *e,
                 const char *kind, const char *why, json_t *alerts,
                 struct policy_result *res)
{
    char summary[POLICY_SUMMARY_LEN];
    int n = snprintf(summary, sizeof(summary),
                     "Entry %llu of log %s could not be decoded: %s",
                     (unsigned long long)ctx->log_index, ctx->log_name, why);

    res->malformed = 1;
    if (n < 0 || policy_alert(ctx, "entry.malformed", NULL, NULL, summary,
                              alert_entry_obj(ctx, e, kind), NULL,
                              reasons_array(&why, 1), NULL, alerts) != 0) {
        return -1;
    }
    res->alerts++;
    return 0;
}

int
policy_eval_result(struct policy *p, const struct policy_entry_ctx *ctx,
                   const struct entry *e, json_t *alerts,
                   struct policy_batch *batch, struct policy_result *res)
{
    struct policy_result local;
    struct entry_body *body;
    char err[ENTRY_ERR_LEN];
    size_t i;
    int rc = 0;

    if (res == NULL) {
        res = &local;
    }
    memset(res, 0, sizeof(*res));
    body = entry_body_decode(e->body, e->body_len, err, sizeof(err));
    if (body == NULL) {
        return policy_malformed(ctx, e, NULL, err, alerts, res);
    }
    if (policy_body_problem(body) != NULL) {
        rc = policy_malformed(ctx, e, body->kind, policy_body_problem(body),
                              alerts, res);
        entry_body_free(body);
        return rc;
    }
    for (i = 0; p->nrules > 0 && i < body->ncerts; i++) {
        const struct entry_blob *b = &body->certs[i];

        if (!fulcio_prefilter(p->all, b->der, b->len)) {
            continue;
        }
        res->prefilter++;
        if (policy_eval_der(p, ctx, e, body->kind, b->der, b->len, alerts,
                            batch, res) != 0) {
            rc = -1;
            break;
        }
    }
    entry_body_free(body);
    return rc;
}

int
policy_eval(struct policy *p, const struct policy_entry_ctx *ctx,
            const struct entry *e, json_t *alerts, struct policy_batch *batch)
{
    return policy_eval_result(p, ctx, e, alerts, batch, NULL);
}
