/*
 * report.c: build the report model from the store (report_build), then
 * render it as Markdown, JSON or self-contained HTML.  See report.h.
 *
 * The store's listings are not re-entered: each listing copies what it
 * needs into the model, and the next query runs after it returned.
 * Renderers only read the model; every untrusted string goes through the
 * escaper of its output format (rb_html, rb_mdcode, rb_fence, js).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/report/report.h"
#include "monitor/view/view.h"
#include "notify/alert.h"

/* ---- growable text buffer ------------------------------------------- */

struct rbuf {
    char *p; /* owned, NUL-terminated while !failed */
    size_t len, cap;
    int failed; /* out of memory: every later call is a no-op */
};

static void
rb_add(struct rbuf *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;

        while (b->len + n + 1 > cap) {
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
rb_str(struct rbuf *b, const char *s)
{
    rb_add(b, s, strlen(s));
}

static void rb_printf(struct rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rb_printf(struct rbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        rb_add(b, small, (size_t)n);
        return;
    }
    {
        char *big = malloc((size_t)n + 1);

        if (big == NULL) {
            b->failed = 1;
            return;
        }
        va_start(ap, fmt);
        (void)vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rb_add(b, big, (size_t)n);
        free(big);
    }
}

/* Control bytes other than newline and tab become '?'. */
static int
is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

/* HTML text or attribute value; NULL prints "-". */
static void
rb_html(struct rbuf *b, const char *s)
{
    const char *p;

    if (s == NULL) {
        rb_str(b, "-");
        return;
    }
    for (p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        switch (c) {
        case '&':
            rb_str(b, "&amp;");
            break;
        case '<':
            rb_str(b, "&lt;");
            break;
        case '>':
            rb_str(b, "&gt;");
            break;
        case '"':
            rb_str(b, "&quot;");
            break;
        case '\'':
            rb_str(b, "&#39;");
            break;
        default:
            rb_add(b, is_ctl(c) ? "?" : p, 1);
        }
    }
}

/* A Markdown code span that is safe in a table cell; NULL prints "-". */
static void
rb_mdcode(struct rbuf *b, const char *s)
{
    const char *p;

    if (s == NULL || s[0] == '\0') {
        rb_str(b, "-");
        return;
    }
    rb_str(b, "`");
    for (p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '`') {
            rb_str(b, "'");
        } else if (c == '|') {
            rb_str(b, "\\|");
        } else if (c == '\n' || c == '\t' || is_ctl(c)) {
            rb_str(b, " ");
        } else {
            rb_add(b, p, 1);
        }
    }
    rb_str(b, "`");
}

/* The PCRs cell of a signing: its lookup state and every known value
 * ("-" when the rule has no `pcrs:`). */
static void
md_pcrs(struct rbuf *b, const struct report_signing *d)
{
    static const char *const names[4] = {"PCR0", "PCR1", "PCR2", "PCR8"};
    const char *v[4] = {d->pcr0, d->pcr1, d->pcr2, d->pcr8};
    size_t i;

    if (d->pcrs_state == NULL || strcmp(d->pcrs_state, "none") == 0) {
        rb_str(b, "-");
        return;
    }
    rb_mdcode(b, d->pcrs_state);
    for (i = 0; i < 4; i++) {
        if (v[i] != NULL) {
            rb_printf(b, " %s ", names[i]);
            rb_mdcode(b, v[i]);
        }
    }
    if (d->pcrs_source != NULL) {
        rb_str(b, " from ");
        rb_mdcode(b, d->pcrs_source);
    }
}

/* A fenced block's body: no backtick can close the fence. */
static void
rb_fence(struct rbuf *b, const char *s)
{
    const char *p;

    rb_str(b, "```text\n");
    for (p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;

        rb_add(b, c == '`' ? "'" : (is_ctl(c) ? "?" : p), 1);
    }
    if (b->len > 0 && !b->failed && b->p[b->len - 1] != '\n') {
        rb_str(b, "\n");
    }
    rb_str(b, "```\n");
}

/* ---- small helpers ---------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* strdup that counts a failure in *failed (NULL in, NULL out is fine). */
static char *
dupf(const char *s, int *failed)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    d = strdup(s);
    if (d == NULL) {
        *failed = 1;
    }
    return d;
}

static void
fmt_time(int64_t t, char *out, size_t cap)
{
    if (t <= 0) {
        snprintf(out, cap, "never");
        return;
    }
    notify_rfc3339((time_t)t, out, cap);
}

/* A chart label (UTC) precise enough for a period of span seconds:
 * "2026-11-26 15:52", with seconds under an hour. */
static void
fmt_short_time(int64_t t, int64_t span, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    size_t n = 0;

    if (gmtime_r(&tt, &tm) != NULL) {
        n = span < 3600 ? strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm)
                        : strftime(out, cap, "%Y-%m-%d %H:%M", &tm);
    }
    if (n == 0) {
        snprintf(out, cap, "%lld", (long long)t);
    }
}

static void
fmt_root(const uint8_t root[MERKLE_HASH_LEN], char out[2 * MERKLE_HASH_LEN + 1])
{
    if (merkle_hex_encode(root, MERKLE_HASH_LEN, out, 2 * MERKLE_HASH_LEN + 1) <
        0) {
        out[0] = '\0';
    }
}

static uint64_t
log_lag(const struct store_log_status *st)
{
    if (!st->has_cursor || !st->has_checkpoint ||
        st->verified_size <= st->next_shard_index) {
        return 0;
    }
    return st->verified_size - st->next_shard_index;
}

/* ---- building ------------------------------------------------------- */

struct build {
    struct report *r;
    struct store *s;
    int failed;             /* out of memory in a callback */
    int store_failed;       /* a store error in a callback */
    uint64_t scanned;       /* signings of the rule read */
    struct report_log *log; /* the log being filled */
    struct report_rule *rule;
};

static void
count_free(struct report_count *c, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(c[i].key1);
        free(c[i].key2);
    }
    free(c);
}

static int
count_push(struct report_count **v, size_t *n, const char *k1, const char *k2,
           uint64_t count)
{
    struct report_count *nv = realloc(*v, (*n + 1) * sizeof(**v));
    struct report_count *c;

    if (nv == NULL) {
        return -1;
    }
    *v = nv;
    c = &nv[*n];
    memset(c, 0, sizeof(*c));
    c->key1 = strdup(k1 != NULL ? k1 : "");
    c->key2 = dup_or_null(k2);
    c->count = count;
    if (c->key1 == NULL || (k2 != NULL && c->key2 == NULL)) {
        free(c->key1);
        free(c->key2);
        return -1;
    }
    (*n)++;
    return 0;
}

/* Add count to the row keyed k1 (no key2), pushed when missing. */
static int
count_add(struct report_count **v, size_t *n, const char *k1, uint64_t count)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*v)[i].key1, k1) == 0) {
            (*v)[i].count += count;
            return 0;
        }
    }
    return count_push(v, n, k1, NULL, count);
}

static int
count_cmp(const void *a, const void *b)
{
    const struct report_count *x = a, *y = b;

    return strcmp(x->key1, y->key1);
}

static int
build_log_cb(void *arg, const struct store_log_status *st)
{
    struct build *b = arg;
    struct report *r = b->r;
    struct report_log *nv = realloc(r->logs, (r->nlogs + 1) * sizeof(*nv));

    if (nv == NULL) {
        b->failed = 1;
        return 1;
    }
    r->logs = nv;
    memset(&nv[r->nlogs], 0, sizeof(nv[0]));
    nv[r->nlogs].st = *st;
    nv[r->nlogs].stride = 1;
    r->nlogs++;
    return 0;
}

static int
cp_copy(struct report_checkpoint *dst, const struct store_checkpoint_row *row)
{
    char *note = malloc(row->note_len + 1);

    if (note == NULL) {
        return -1;
    }
    memcpy(note, row->note, row->note_len);
    note[row->note_len] = '\0';
    free(dst->note);
    dst->note = note;
    dst->size = row->size;
    memcpy(dst->root, row->root, MERKLE_HASH_LEN);
    dst->verified_at = row->verified_at;
    return 0;
}

/* Keep at most REPORT_MAX_POINTS points: when full, drop every other
 * one and sample half as often from then on. */
static int
point_add(struct report_log *l, int64_t t, uint64_t size)
{
    if (l->seen++ % l->stride != 0) {
        return 0;
    }
    if (l->points == NULL) {
        l->points = calloc(REPORT_MAX_POINTS, sizeof(*l->points));
        if (l->points == NULL) {
            return -1;
        }
    }
    if (l->npoints == REPORT_MAX_POINTS) {
        size_t i;

        for (i = 0; i < REPORT_MAX_POINTS / 2; i++) {
            l->points[i] = l->points[2 * i];
        }
        l->npoints = REPORT_MAX_POINTS / 2;
        l->stride *= 2;
    }
    l->points[l->npoints].t = t;
    l->points[l->npoints].size = size;
    l->npoints++;
    return 0;
}

static int
chain_add(struct report_log *l, const struct store_checkpoint_row *row)
{
    struct report_link *k;

    if (l->chain == NULL) {
        l->chain = calloc(REPORT_MAX_CHAIN, sizeof(*l->chain));
        if (l->chain == NULL) {
            return -1;
        }
    }
    k = &l->chain[l->nchain];
    memset(k, 0, sizeof(*k));
    k->size = row->size;
    memcpy(k->root, row->root, MERKLE_HASH_LEN);
    k->verified_at = row->verified_at;
    k->link = row->link;
    k->has_prev = row->has_prev;
    k->prev_size = row->prev_size;
    if (row->nproof > 0) {
        k->proof = malloc(row->nproof * sizeof(*k->proof));
        if (k->proof == NULL) {
            return -1;
        }
        memcpy(k->proof, row->proof, row->nproof * sizeof(*k->proof));
        k->nproof = row->nproof;
    }
    l->nchain++;
    return 0;
}

static int
build_cp_cb(void *arg, const struct store_checkpoint_row *row)
{
    struct build *b = arg;
    struct report_log *l = b->log;

    if (!l->has_checkpoints) {
        if (cp_copy(&l->first, row) != 0) {
            b->failed = 1;
            return 1;
        }
        l->has_checkpoints = 1;
    }
    if (cp_copy(&l->last, row) != 0 ||
        point_add(l, row->verified_at, row->size) != 0) {
        b->failed = 1;
        return 1;
    }
    if (l->nchain < REPORT_MAX_CHAIN && chain_add(l, row) != 0) {
        b->failed = 1;
        return 1;
    }
    l->checkpoints++;
    if (row->link == STORE_LINK_CONSISTENCY) {
        l->proofs++;
        b->r->proofs++;
    } else if (row->link == STORE_LINK_TILES) {
        l->tile_links++;
    }
    return 0;
}

static int
build_err_cb(void *arg, int64_t at, const char *message)
{
    struct build *b = arg;
    struct report_log *l = b->log;
    struct report_error *nv;

    if (at < b->r->since || at >= b->r->until) {
        return 0;
    }
    nv = realloc(l->errors, (l->nerrors + 1) * sizeof(*nv));
    if (nv == NULL) {
        b->failed = 1;
        return 1;
    }
    l->errors = nv;
    nv[l->nerrors].at = at;
    nv[l->nerrors].message = strdup(message != NULL ? message : "");
    if (nv[l->nerrors].message == NULL) {
        b->failed = 1;
        return 1;
    }
    l->nerrors++;
    return 0;
}

/* The errors by name of a log never reached, in the period. */
static int
build_name_err_cb(void *arg, int64_t at, const char *message)
{
    struct build *b = arg;
    struct report_unreached *u = &b->r->unreached[b->r->nunreached - 1];
    struct report_error *nv;

    if (at < b->r->since || at >= b->r->until) {
        return 0;
    }
    nv = realloc(u->errors, (u->nerrors + 1) * sizeof(*nv));
    if (nv == NULL) {
        b->failed = 1;
        return 1;
    }
    u->errors = nv;
    nv[u->nerrors].at = at;
    nv[u->nerrors].message = strdup(message != NULL ? message : "");
    if (nv[u->nerrors].message == NULL) {
        b->failed = 1;
        return 1;
    }
    u->nerrors++;
    return 0;
}

/* Configured logs without any shard row, with their errors by name. */
static int
build_unreached(struct build *b, const struct config *cfg)
{
    struct report *r = b->r;
    size_t i, j;

    if (cfg == NULL || cfg->n_logs == 0) {
        return 0;
    }
    r->unreached = calloc(cfg->n_logs, sizeof(*r->unreached));
    if (r->unreached == NULL) {
        b->failed = 1;
        return 0;
    }
    for (i = 0; i < cfg->n_logs; i++) {
        const struct config_log *cl = &cfg->logs[i];
        struct report_unreached *u;
        int seen = 0;

        for (j = 0; j < r->nlogs && !seen; j++) {
            seen = strcmp(r->logs[j].st.name, cl->name) == 0;
        }
        if (seen) {
            continue;
        }
        u = &r->unreached[r->nunreached++];
        u->name = dupf(cl->name, &b->failed);
        u->url = dupf(cl->url, &b->failed);
        if (b->failed) {
            return 0;
        }
        if (store_name_errors_each(b->s, cl->name, 0, build_name_err_cb, b) !=
            0) {
            return -1;
        }
        if (b->failed) {
            return 0;
        }
    }
    return 0;
}

/* The rule named name, added (unconfigured) when missing; NULL on OOM or
 * past REPORT_MAX_RULES (then *full is set). */
static struct report_rule *
rule_get(struct report *r, const char *name, int *full)
{
    struct report_rule *nv;
    size_t i;

    for (i = 0; i < r->nrules; i++) {
        if (strcmp(r->rules[i].name, name) == 0) {
            return &r->rules[i];
        }
    }
    if (r->nrules == REPORT_MAX_RULES) {
        *full = 1;
        return NULL;
    }
    nv = realloc(r->rules, (r->nrules + 1) * sizeof(*nv));
    if (nv == NULL) {
        return NULL;
    }
    r->rules = nv;
    memset(&nv[r->nrules], 0, sizeof(nv[0]));
    nv[r->nrules].name = strdup(name);
    if (nv[r->nrules].name == NULL) {
        return NULL;
    }
    return &nv[r->nrules++];
}

static int
build_verdict_cb(void *arg, const char *rule, const char *verdict,
                 uint64_t count)
{
    struct build *b = arg;
    int full = 0;
    struct report_rule *ru = rule_get(b->r, rule != NULL ? rule : "", &full);

    if (ru == NULL) {
        if (full) {
            return 0; /* counted in the totals, not listed */
        }
        b->failed = 1;
        return 1;
    }
    /* The verdicts are counted from the signings themselves, as the
     * view sees them (build_signing_cb); this is the total. */
    (void)verdict;
    ru->signings += count;
    return 0;
}

static int
build_type_cb(void *arg, const char *type, const char *sev, uint64_t count)
{
    struct build *b = arg;

    if (count_push(&b->r->alert_types, &b->r->nalert_types, type, sev, count) !=
        0) {
        b->failed = 1;
        return 1;
    }
    return 0;
}

static struct report_log *
log_by_id(struct report *r, int64_t id)
{
    size_t i;

    for (i = 0; i < r->nlogs; i++) {
        if (r->logs[i].st.log_id == id) {
            return &r->logs[i];
        }
    }
    return NULL;
}

/* The "summary" of an alert body; new, or NULL. */
static char *
alert_summary(const char *body)
{
    json_t *doc = json_loads(body, 0, NULL);
    char *s = NULL;

    if (doc != NULL) {
        s = dup_or_null(json_string_value(json_object_get(doc, "summary")));
        json_decref(doc);
    }
    return s;
}

/* Keep the signed notes of a log alert's evidence, if it has any. */
static int
evidence_add(struct report_log *l, const struct store_alert_row *row,
             int *failed)
{
    json_t *doc, *ev;
    const char *o, *n;
    struct report_evidence *e;

    doc = json_loads(row->body, 0, NULL);
    ev = json_object_get(doc, "evidence");
    o = json_string_value(json_object_get(ev, "old_checkpoint"));
    n = json_string_value(json_object_get(ev, "new_checkpoint"));
    if (o == NULL && n == NULL) {
        json_decref(doc);
        return 0;
    }
    if (l->evidence == NULL) {
        l->evidence = calloc(REPORT_MAX_EVIDENCE, sizeof(*l->evidence));
        if (l->evidence == NULL) {
            json_decref(doc);
            *failed = 1;
            return -1;
        }
    }
    e = &l->evidence[l->nevidence++];
    e->at = row->detected_at;
    e->type = dupf(row->type, failed);
    e->old_note = dupf(o, failed);
    e->new_note = dupf(n, failed);
    json_decref(doc);
    return *failed ? -1 : 0;
}

static int
build_alert_cb(void *arg, const struct store_alert_row *row)
{
    struct build *b = arg;
    struct report *r = b->r;
    struct report_log *l = row->log_id != 0 ? log_by_id(r, row->log_id) : NULL;
    unsigned sev = (unsigned)row->severity <= NOTIFY_CRITICAL
                       ? (unsigned)row->severity
                       : NOTIFY_CRITICAL;

    r->alerts_total++;
    if (l != NULL && strncmp(row->type, "log.", 4) == 0) {
        l->alerts[sev]++;
        if (strcmp(row->type, "log.unreachable") == 0) {
            l->unreachable++;
        } else if (strcmp(row->type, "log.stale") == 0) {
            l->stale++;
        }
        if (l->nevidence < REPORT_MAX_EVIDENCE &&
            evidence_add(l, row, &b->failed) != 0) {
            return 1;
        }
    }
    if (row->rule != NULL) {
        int full = 0;
        struct report_rule *ru = rule_get(r, row->rule, &full);

        if (ru == NULL && !full) {
            b->failed = 1;
            return 1;
        }
        if (ru != NULL) {
            ru->alerts[sev]++;
        }
    }
    if (r->nalerts < REPORT_MAX_ALERTS) {
        struct report_alert *a = &r->alerts[r->nalerts++];

        memset(a, 0, sizeof(*a));
        a->id = dupf(row->id, &b->failed);
        a->type = dupf(row->type, &b->failed);
        a->rule = dupf(row->rule, &b->failed);
        a->log_name = dupf(l != NULL ? l->st.name : NULL, &b->failed);
        a->summary = alert_summary(row->body);
        a->severity = (enum notify_severity)sev;
        a->detected_at = row->detected_at;
        a->has_index = row->has_index;
        a->log_index = row->log_index;
        if (b->failed) {
            return 1;
        }
    }
    return 0;
}

static int
build_signing_cb(void *arg, const struct store_signing *g)
{
    struct build *b = arg;
    struct report *r = b->r;
    struct report_rule *ru = b->rule;
    char *types[VIEW_ALERT_TYPES], *verdict;
    size_t bin, ntypes, i;
    int allowed;

    if (g->recorded_at < r->since || g->recorded_at >= r->until) {
        return 0;
    }
    /* The verdict `status` shows: what was learned later counts. */
    if (view_signing_alerts(b->s, g, types, VIEW_ALERT_TYPES, &ntypes) != 0) {
        b->store_failed = 1;
        return 1;
    }
    verdict = dupf(view_signing_verdict(g, (const char *const *)types, ntypes),
                   &b->failed);
    for (i = 0; i < ntypes; i++) {
        free(types[i]);
    }
    if (b->failed ||
        count_add(&ru->verdicts, &ru->nverdicts, verdict, 1) != 0) {
        free(verdict);
        b->failed = 1;
        return 1;
    }
    b->scanned++;
    allowed = view_verdict_allowed(verdict);
    bin = (size_t)((double)(g->recorded_at - r->since) * REPORT_CHART_BINS /
                   (double)(r->until - r->since));
    if (bin >= REPORT_CHART_BINS) {
        bin = REPORT_CHART_BINS - 1;
    }
    if (allowed) {
        r->bins_allowed[bin]++;
    } else {
        r->bins_other[bin]++;
    }
    if (ru->repository == NULL && g->repository != NULL) {
        ru->repository = dupf(g->repository, &b->failed);
        if (b->failed) {
            return 1;
        }
    }
    if (ru->nlist < REPORT_MAX_SIGNINGS) {
        struct report_signing *d = &ru->list[ru->nlist++];

        memset(d, 0, sizeof(*d));
        d->log_index = g->log_index;
        d->integrated_time = g->integrated_time;
        d->recorded_at = g->recorded_at;
        d->uuid = dupf(g->uuid, &b->failed);
        d->kind = dupf(g->kind, &b->failed);
        d->repository = dupf(g->repository, &b->failed);
        d->workflow_path = dupf(g->workflow_path, &b->failed);
        d->ref = dupf(g->ref, &b->failed);
        d->workflow_sha = dupf(g->workflow_sha, &b->failed);
        d->runner_environment = dupf(g->runner_environment, &b->failed);
        d->trigger = dupf(g->trigger, &b->failed);
        d->run_invocation_uri = dupf(g->run_invocation_uri, &b->failed);
        d->verdict = verdict;
        verdict = NULL;
        d->policy_verdict = dupf(g->verdict, &b->failed);
        d->pcr0 = dupf(g->pcr0, &b->failed);
        d->pcr1 = dupf(g->pcr1, &b->failed);
        d->pcr2 = dupf(g->pcr2, &b->failed);
        d->pcr8 = dupf(g->pcr8, &b->failed);
        d->pcrs_state = dupf(g->pcrs_state, &b->failed);
        d->pcrs_source = dupf(g->pcrs_source, &b->failed);
        d->pcrs_note = dupf(g->pcrs_note, &b->failed);
        if (b->failed) {
            return 1;
        }
    }
    free(verdict);
    return 0;
}

static void
signing_free(struct report_signing *d)
{
    free(d->uuid);
    free(d->kind);
    free(d->repository);
    free(d->workflow_path);
    free(d->ref);
    free(d->workflow_sha);
    free(d->runner_environment);
    free(d->trigger);
    free(d->run_invocation_uri);
    free(d->verdict);
    free(d->policy_verdict);
    free(d->pcr0);
    free(d->pcr1);
    free(d->pcr2);
    free(d->pcr8);
    free(d->pcrs_state);
    free(d->pcrs_source);
    free(d->pcrs_note);
}

void
report_free(struct report *r)
{
    size_t i, j;

    if (r == NULL) {
        return;
    }
    json_decref(r->ct_unlogged);
    for (i = 0; i < r->nlogs; i++) {
        struct report_log *l = &r->logs[i];

        free(l->first.note);
        free(l->last.note);
        free(l->points);
        for (j = 0; j < l->nchain; j++) {
            free(l->chain[j].proof);
        }
        free(l->chain);
        for (j = 0; j < l->nerrors; j++) {
            free(l->errors[j].message);
        }
        free(l->errors);
        for (j = 0; j < l->nevidence; j++) {
            free(l->evidence[j].type);
            free(l->evidence[j].old_note);
            free(l->evidence[j].new_note);
        }
        free(l->evidence);
    }
    free(r->logs);
    for (i = 0; i < r->nunreached; i++) {
        free(r->unreached[i].name);
        free(r->unreached[i].url);
        for (j = 0; j < r->unreached[i].nerrors; j++) {
            free(r->unreached[i].errors[j].message);
        }
        free(r->unreached[i].errors);
    }
    free(r->unreached);
    for (i = 0; i < r->nrules; i++) {
        struct report_rule *ru = &r->rules[i];

        free(ru->name);
        free(ru->repository);
        count_free(ru->verdicts, ru->nverdicts);
        for (j = 0; j < ru->nlist; j++) {
            signing_free(&ru->list[j]);
        }
        free(ru->list);
    }
    free(r->rules);
    count_free(r->alert_types, r->nalert_types);
    for (i = 0; i < r->nalerts; i++) {
        free(r->alerts[i].id);
        free(r->alerts[i].type);
        free(r->alerts[i].rule);
        free(r->alerts[i].summary);
        free(r->alerts[i].log_name);
    }
    free(r->alerts);
    free(r);
}

struct report *
report_build(struct store *s, const struct config *cfg, int64_t since,
             int64_t until, int64_t generated_at, char *err, size_t errcap)
{
    struct report *r;
    struct build b;
    struct store_alert_query q;
    size_t i;
    int full = 0;

    if (since >= until) {
        snprintf(err, errcap, "empty report period");
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        goto oom;
    }
    r->since = since;
    r->until = until;
    r->generated_at = generated_at;
    memset(&b, 0, sizeof(b));
    b.r = r;
    b.s = s;
    r->alerts = calloc(REPORT_MAX_ALERTS, sizeof(*r->alerts));
    if (r->alerts == NULL) {
        goto oom;
    }
    if (store_counts(s, since, until, &r->counts) != 0 ||
        store_logs_each(s, build_log_cb, &b) != 0) {
        goto store_err;
    }
    if (b.failed) {
        goto oom;
    }
    for (i = 0; i < r->nlogs; i++) {
        b.log = &r->logs[i];
        if (store_checkpoints_each(s, b.log->st.log_id, since, until,
                                   build_cp_cb, &b) != 0 ||
            store_log_errors_each(s, b.log->st.log_id, build_err_cb, &b) != 0) {
            goto store_err;
        }
        if (b.failed) {
            goto oom;
        }
    }
    if (build_unreached(&b, cfg) != 0) {
        goto store_err;
    }
    if (b.failed) {
        goto oom;
    }
    /* Configured rules first, in config order, even without signings. */
    for (i = 0; cfg != NULL && i < cfg->n_watch; i++) {
        struct report_rule *ru = rule_get(r, cfg->watch[i].name, &full);

        if (ru == NULL && !full) {
            goto oom;
        }
        if (ru != NULL && !ru->configured) {
            ru->configured = 1;
            ru->repository = strdup(cfg->watch[i].repository);
            if (ru->repository == NULL) {
                goto oom;
            }
        }
    }
    if (store_signing_counts_each(s, since, until, build_verdict_cb, &b) != 0 ||
        store_alert_counts_each(s, since, until, build_type_cb, &b) != 0) {
        goto store_err;
    }
    if (b.failed) {
        goto oom;
    }
    memset(&q, 0, sizeof(q));
    q.since = since;
    q.until = until;
    q.min_severity = NOTIFY_INFO;
    if (store_alerts_each(s, &q, build_alert_cb, &b) != 0) {
        goto store_err;
    }
    if (b.failed) {
        goto oom;
    }
    /* Through the read model, as status and the dashboard show them. */
    r->ct_unlogged = view_ct_unlogged(s, cfg, since, until, REPORT_MAX_UNLOGGED,
                                      err, errcap);
    if (r->ct_unlogged == NULL) {
        report_free(r);
        return NULL;
    }
    for (i = 0; i < r->nrules; i++) {
        b.rule = &r->rules[i];
        if (b.rule->signings == 0) {
            continue;
        }
        b.rule->list = calloc(REPORT_MAX_SIGNINGS, sizeof(*b.rule->list));
        if (b.rule->list == NULL) {
            goto oom;
        }
        b.scanned = 0;
        if (store_signings_between(s, b.rule->name, since, until,
                                   REPORT_MAX_SIGNING_SCAN, build_signing_cb,
                                   &b) != 0 ||
            b.store_failed) {
            goto store_err;
        }
        if (b.failed) {
            goto oom;
        }
        /* Past the scan: not checked against later alerts, so never
         * counted as allowed. */
        if (b.rule->signings > b.scanned &&
            count_add(&b.rule->verdicts, &b.rule->nverdicts, REPORT_UNCHECKED,
                      b.rule->signings - b.scanned) != 0) {
            goto oom;
        }
        qsort(b.rule->verdicts, b.rule->nverdicts, sizeof(*b.rule->verdicts),
              count_cmp);
    }
    return r;
store_err:
    snprintf(err, errcap, "%s", store_errmsg(s));
    report_free(r);
    return NULL;
oom:
    snprintf(err, errcap, "out of memory");
    report_free(r);
    return NULL;
}

/* ---- names and summary ------------------------------------------------ */

const char *
report_format_name(enum report_format f)
{
    switch (f) {
    case REPORT_JSON:
        return "json";
    case REPORT_HTML:
        return "html";
    case REPORT_MD:
    default:
        return "md";
    }
}

int
report_format_parse(const char *name, enum report_format *out)
{
    if (strcmp(name, "md") == 0) {
        *out = REPORT_MD;
    } else if (strcmp(name, "json") == 0) {
        *out = REPORT_JSON;
    } else if (strcmp(name, "html") == 0) {
        *out = REPORT_HTML;
    } else {
        return -1;
    }
    return 0;
}

char *
report_summary(const struct report *r, char *out, size_t cap)
{
    char since[32], until[32];
    size_t i, off;
    int n;

    fmt_time(r->since, since, sizeof(since));
    fmt_time(r->until, until, sizeof(until));
    n = snprintf(out, cap,
                 "tlogwatch report %s to %s: %llu critical, %llu warning, "
                 "%llu info alerts; %llu signings; %llu checkpoints and "
                 "%llu consistency proofs verified",
                 since, until,
                 (unsigned long long)r->counts.alerts[NOTIFY_CRITICAL],
                 (unsigned long long)r->counts.alerts[NOTIFY_WARNING],
                 (unsigned long long)r->counts.alerts[NOTIFY_INFO],
                 (unsigned long long)r->counts.signings,
                 (unsigned long long)r->counts.checkpoints,
                 (unsigned long long)r->proofs);
    off = n < 0 ? 0 : (size_t)n;
    for (i = 0; i < r->nlogs && off < cap; i++) {
        const struct report_log *l = &r->logs[i];

        if (!l->has_checkpoints) {
            continue;
        }
        n = snprintf(out + off, cap - off, "; %s %llu -> %llu", l->st.name,
                     (unsigned long long)l->first.size,
                     (unsigned long long)l->last.size);
        off += n < 0 ? 0 : (size_t)n;
    }
    if (off < cap) {
        snprintf(out + off, cap - off, ".");
    }
    return out;
}

/* ---- period counters ---------------------------------------------------- */

char *
report_counters(const struct report *r)
{
    json_t *o = json_object();
    char key[32], *text;
    size_t i;

    if (o == NULL) {
        return NULL;
    }
    for (i = 0; i < r->nlogs; i++) {
        const struct store_log_status *st = &r->logs[i].st;

        snprintf(key, sizeof(key), "%lld", (long long)st->log_id);
        if (json_object_set_new(
                o, key,
                json_pack("[I,I]", (json_int_t)st->entries_scanned,
                          (json_int_t)st->root_checks_passed)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

int
report_set_baseline(struct report *r, const char *counters)
{
    json_t *o = json_loads(counters, 0, NULL);
    char key[32];
    size_t i;

    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    for (i = 0; i < r->nlogs; i++) {
        struct report_log *l = &r->logs[i];
        json_t *v;
        json_int_t scanned = 0, roots = 0;

        snprintf(key, sizeof(key), "%lld", (long long)l->st.log_id);
        v = json_object_get(o, key);
        if (v != NULL && json_unpack(v, "[II]", &scanned, &roots) != 0) {
            continue; /* malformed: leave this log without period counts */
        }
        if (scanned < 0 || roots < 0 ||
            (uint64_t)scanned > l->st.entries_scanned ||
            (uint64_t)roots > l->st.root_checks_passed) {
            continue;
        }
        l->has_period_counts = 1;
        l->scanned_period = l->st.entries_scanned - (uint64_t)scanned;
        l->root_checks_period = l->st.root_checks_passed - (uint64_t)roots;
    }
    json_decref(o);
    return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string of untrusted text: invalid UTF-8 is replaced bytewise. */
static json_t *
js(const char *s)
{
    json_t *v;
    char *c;
    size_t i;

    if (s == NULL) {
        return json_null();
    }
    v = json_string(s);
    if (v != NULL) {
        return v;
    }
    c = strdup(s);
    if (c == NULL) {
        return NULL;
    }
    for (i = 0; c[i] != '\0'; i++) {
        if ((unsigned char)c[i] >= 0x80) {
            c[i] = '?';
        }
    }
    v = json_string(c);
    free(c);
    return v;
}

static json_t *
jtime(int64_t t)
{
    char buf[32];

    if (t <= 0) {
        return json_null();
    }
    fmt_time(t, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *
jsev(const uint64_t a[NOTIFY_CRITICAL + 1])
{
    return json_pack("{s:I,s:I,s:I}", "info", (json_int_t)a[NOTIFY_INFO],
                     "warning", (json_int_t)a[NOTIFY_WARNING], "critical",
                     (json_int_t)a[NOTIFY_CRITICAL]);
}

static json_t *
jcheckpoint(const struct report_checkpoint *c)
{
    char root[2 * MERKLE_HASH_LEN + 1];

    fmt_root(c->root, root);
    return json_pack("{s:I,s:s,s:o,s:o}", "size", (json_int_t)c->size, "root",
                     root, "verified_at", jtime(c->verified_at), "note",
                     js(c->note));
}

static const char *
link_name(enum store_link k)
{
    switch (k) {
    case STORE_LINK_CONSISTENCY:
        return "consistency";
    case STORE_LINK_TILES:
        return "tiles";
    case STORE_LINK_NONE:
    default:
        return "none";
    }
}

/* The period's checkpoints with their links: portable evidence. */
static json_t *
jchain(const struct report_log *l)
{
    json_t *arr = json_array();
    char hex[2 * MERKLE_HASH_LEN + 1];
    size_t i, j;

    for (i = 0; arr != NULL && i < l->nchain; i++) {
        const struct report_link *k = &l->chain[i];
        json_t *proof = json_array(), *o;

        for (j = 0; proof != NULL && j < k->nproof; j++) {
            fmt_root(k->proof[j], hex);
            json_array_append_new(proof, json_string(hex));
        }
        fmt_root(k->root, hex);
        o = json_pack("{s:I,s:s,s:o,s:s}", "size", (json_int_t)k->size, "root",
                      hex, "verified_at", jtime(k->verified_at), "link",
                      link_name(k->link));
        if (o != NULL && k->has_prev) {
            json_object_set_new(o, "prev_size",
                                json_integer((json_int_t)k->prev_size));
        }
        if (o != NULL && k->link == STORE_LINK_CONSISTENCY && proof != NULL) {
            json_object_set(o, "proof", proof);
        }
        json_decref(proof);
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The conflicting notes of the period's log alerts. */
static json_t *
jevidence(const struct report_log *l)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < l->nevidence; i++) {
        const struct report_evidence *e = &l->evidence[i];

        if (json_array_append_new(
                arr, json_pack("{s:o,s:o,s:o,s:o}", "type", js(e->type),
                               "detected_at", jtime(e->at), "old_checkpoint",
                               js(e->old_note), "new_checkpoint",
                               js(e->new_note))) != 0) {
            json_decref(arr);
            return json_null();
        }
    }
    return arr != NULL ? arr : json_null();
}

static json_t *
jlog(const struct report_log *l)
{
    const struct store_log_status *st = &l->st;
    char root[2 * MERKLE_HASH_LEN + 1] = "";
    json_t *o, *errors, *period;
    size_t i;

    if (st->has_checkpoint) {
        fmt_root(st->verified_root, root);
    }
    errors = json_array();
    for (i = 0; errors != NULL && i < l->nerrors; i++) {
        json_array_append_new(
            errors, json_pack("{s:o,s:o}", "at", jtime(l->errors[i].at),
                              "message", js(l->errors[i].message)));
    }
    period = json_pack(
        "{s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I,s:o}", "checkpoints_verified",
        (json_int_t)l->checkpoints, "consistency_proofs_verified",
        (json_int_t)l->proofs, "tile_roots_verified", (json_int_t)l->tile_links,
        "first_checkpoint",
        l->has_checkpoints ? jcheckpoint(&l->first) : json_null(),
        "last_checkpoint",
        l->has_checkpoints ? jcheckpoint(&l->last) : json_null(), "alerts",
        jsev(l->alerts), "unreachable_alerts", (json_int_t)l->unreachable,
        "stale_alerts", (json_int_t)l->stale, "errors",
        errors != NULL ? errors : json_null());
    if (period != NULL) {
        json_t *chain = jchain(l);

        json_object_set_new(period, "chain",
                            chain != NULL ? chain : json_null());
        json_object_set_new(period, "chain_complete",
                            json_boolean(l->nchain == l->checkpoints));
        json_object_set_new(period, "evidence", jevidence(l));
        json_object_set_new(period, "entries_scanned",
                            l->has_period_counts
                                ? json_integer((json_int_t)l->scanned_period)
                                : json_null());
        json_object_set_new(
            period, "root_checks_passed",
            l->has_period_counts
                ? json_integer((json_int_t)l->root_checks_period)
                : json_null());
    }
    o = json_pack(
        "{s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o}",
        "name", js(st->name), "origin", js(st->origin), "frozen", st->frozen,
        "verified_size",
        st->has_checkpoint ? json_integer((json_int_t)st->verified_size)
                           : json_null(),
        "verified_root", st->has_checkpoint ? json_string(root) : json_null(),
        "cursor",
        st->has_cursor ? json_integer((json_int_t)st->next_index) : json_null(),
        "shard_cursor",
        st->has_cursor ? json_integer((json_int_t)st->next_shard_index)
                       : json_null(),
        "lag", (json_int_t)log_lag(st), "last_success",
        jtime(st->last_success_at), "last_error_at", jtime(st->last_error_at),
        "last_error", st->last_error_at != 0 ? js(st->last_error) : json_null(),
        "to_date", "entries_scanned", (json_int_t)st->entries_scanned,
        "checkpoints_verified", (json_int_t)st->checkpoints_verified,
        "consistency_proofs_verified", (json_int_t)st->proofs_verified,
        "root_checks_passed", (json_int_t)st->root_checks_passed, "period",
        period);
    return o;
}

static json_t *
jsigning(const struct report_signing *d)
{
    json_t *o = json_pack(
        "{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "log_index",
        (json_int_t)d->log_index, "integrated_time", jtime(d->integrated_time),
        "recorded_at", jtime(d->recorded_at), "uuid", js(d->uuid), "kind",
        js(d->kind), "repository", js(d->repository), "workflow",
        js(d->workflow_path), "ref", js(d->ref), "commit", js(d->workflow_sha),
        "runner_environment", js(d->runner_environment), "trigger",
        js(d->trigger), "run", js(d->run_invocation_uri), "verdict",
        js(d->verdict));

    if (o != NULL) {
        json_object_set_new(o, "policy_verdict", js(d->policy_verdict));
        json_object_set_new(o, "allowed",
                            json_boolean(view_verdict_allowed(d->verdict)));
    }
    if (o != NULL && (d->pcr0 != NULL || d->pcr1 != NULL || d->pcr2 != NULL)) {
        json_t *p = json_pack("{s:o,s:o,s:o}", "PCR0", js(d->pcr0), "PCR1",
                              js(d->pcr1), "PCR2", js(d->pcr2));

        if (p != NULL && d->pcr8 != NULL) {
            json_object_set_new(p, "PCR8", js(d->pcr8));
        }
        json_object_set_new(o, "pcrs", p);
    }
    if (o != NULL && d->pcrs_state != NULL &&
        strcmp(d->pcrs_state, "none") != 0) {
        json_object_set_new(o, "pcrs_state", js(d->pcrs_state));
        if (d->pcrs_source != NULL) {
            json_object_set_new(o, "pcrs_source", js(d->pcrs_source));
        }
        if (d->pcrs_note != NULL) {
            json_object_set_new(o, "pcrs_note", js(d->pcrs_note));
        }
    }
    return o;
}

static json_t *
jrule(const struct report_rule *ru)
{
    json_t *verdicts = json_object(), *list = json_array();
    size_t i;

    for (i = 0; verdicts != NULL && i < ru->nverdicts; i++) {
        json_object_set_new(verdicts, ru->verdicts[i].key1,
                            json_integer((json_int_t)ru->verdicts[i].count));
    }
    for (i = 0; list != NULL && i < ru->nlist; i++) {
        json_array_append_new(list, jsigning(&ru->list[i]));
    }
    return json_pack("{s:o,s:o,s:b,s:I,s:o,s:o,s:o}", "name", js(ru->name),
                     "repository", js(ru->repository), "configured",
                     ru->configured, "signings", (json_int_t)ru->signings,
                     "verdicts", verdicts != NULL ? verdicts : json_null(),
                     "alerts", jsev(ru->alerts), "recent_signings",
                     list != NULL ? list : json_null());
}

json_t *
report_json(const struct report *r)
{
    json_t *o, *logs = json_array(), *rules = json_array(),
               *types = json_array(), *alerts = json_array(), *unreached;
    size_t i;

    if (logs == NULL || rules == NULL || types == NULL || alerts == NULL) {
        json_decref(logs);
        json_decref(rules);
        json_decref(types);
        json_decref(alerts);
        return NULL;
    }
    for (i = 0; i < r->nlogs; i++) {
        json_array_append_new(logs, jlog(&r->logs[i]));
    }
    unreached = json_array();
    for (i = 0; unreached != NULL && i < r->nunreached; i++) {
        const struct report_unreached *u = &r->unreached[i];
        json_t *errs = json_array();
        size_t j;

        for (j = 0; errs != NULL && j < u->nerrors; j++) {
            json_array_append_new(
                errs, json_pack("{s:o,s:o}", "at", jtime(u->errors[j].at),
                                "message", js(u->errors[j].message)));
        }
        json_array_append_new(unreached,
                              json_pack("{s:o,s:o,s:o}", "name", js(u->name),
                                        "url", js(u->url), "errors",
                                        errs != NULL ? errs : json_null()));
    }
    for (i = 0; i < r->nrules; i++) {
        json_array_append_new(rules, jrule(&r->rules[i]));
    }
    for (i = 0; i < r->nalert_types; i++) {
        json_array_append_new(types,
                              json_pack("{s:o,s:o,s:I}", "type",
                                        js(r->alert_types[i].key1), "severity",
                                        js(r->alert_types[i].key2), "count",
                                        (json_int_t)r->alert_types[i].count));
    }
    for (i = 0; i < r->nalerts; i++) {
        const struct report_alert *a = &r->alerts[i];
        json_t *ao = json_pack(
            "{s:o,s:o,s:s,s:o,s:o,s:o,s:o}", "id", js(a->id), "type",
            js(a->type), "severity", notify_severity_name(a->severity),
            "detected_at", jtime(a->detected_at), "rule", js(a->rule), "log",
            js(a->log_name), "summary", js(a->summary));

        if (ao != NULL && a->has_index) {
            json_object_set_new(ao, "log_index",
                                json_integer((json_int_t)a->log_index));
        }
        json_array_append_new(alerts, ao);
    }
    o = json_pack(
        "{s:s,s:{s:o,s:o,s:I,s:I},s:o,s:{s:o,s:I,s:I,s:I,s:{s:I,s:I,s:I}},"
        "s:o,s:o,s:o,s:I,s:o}",
        "schema", REPORT_SCHEMA, "period", "since", jtime(r->since), "until",
        jtime(r->until), "since_unix", (json_int_t)r->since, "until_unix",
        (json_int_t)r->until, "generated_at", jtime(r->generated_at), "totals",
        "alerts", jsev(r->counts.alerts), "signings",
        (json_int_t)r->counts.signings, "checkpoints_verified",
        (json_int_t)r->counts.checkpoints, "consistency_proofs_verified",
        (json_int_t)r->proofs, "outbox", "pending",
        (json_int_t)r->counts.deliveries[STORE_DELIVERY_PENDING], "sent",
        (json_int_t)r->counts.deliveries[STORE_DELIVERY_SENT], "failed",
        (json_int_t)r->counts.deliveries[STORE_DELIVERY_FAILED], "logs", logs,
        "rules", rules, "alert_types", types, "alerts_total",
        (json_int_t)r->alerts_total, "alerts", alerts);
    if (o != NULL) {
        json_object_set_new(o, "unreached_logs",
                            unreached != NULL ? unreached : json_null());
        json_object_set_new(o, "unlogged_certificates",
                            r->ct_unlogged != NULL
                                ? json_deep_copy(r->ct_unlogged)
                                : json_array());
    } else {
        json_decref(unreached);
    }
    return o;
}

/* ---- Markdown --------------------------------------------------------- */

/* A string member of o or "-". */
static const char *
jstr_or_dash(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v != NULL ? v : "-";
}

/* The certificates judged unlogged in the period (read model rows). */
static void
md_unlogged(struct rbuf *b, const struct report *r)
{
    size_t i, n = json_array_size(r->ct_unlogged);
    const json_t *c;

    rb_str(b, "## Certificates never logged in Rekor\n\n");
    if (n == 0) {
        rb_str(b, "No certificate seen in a CT log was judged unlogged in "
                  "this period.\n\n");
        return;
    }
    rb_str(b, "| rule | CT entry | first seen | deadline | commit | "
              "workflow | ref | runner | verdict |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
    json_array_foreach(r->ct_unlogged, i, c)
    {
        rb_str(b, "| ");
        rb_mdcode(b, jstr_or_dash(c, "rule"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "ct_log"));
        rb_printf(
            b, " #%lld | ",
            (long long)json_integer_value(json_object_get(c, "ct_log_index")));
        rb_mdcode(b, jstr_or_dash(c, "first_seen"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "deadline"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "commit"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "workflow"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "ref"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "runner"));
        rb_str(b, " | ");
        rb_mdcode(b, jstr_or_dash(c, "verdict"));
        rb_str(b, " |\n");
    }
    if (n == REPORT_MAX_UNLOGGED) {
        rb_printf(b, "\n(the newest %d are listed)\n", REPORT_MAX_UNLOGGED);
    }
    rb_str(b, "\n");
}

static void
md_checkpoint(struct rbuf *b, const char *what,
              const struct report_checkpoint *c)
{
    char root[2 * MERKLE_HASH_LEN + 1], when[32];

    fmt_root(c->root, root);
    fmt_time(c->verified_at, when, sizeof(when));
    rb_printf(b, "%s checkpoint: size %llu, root `%s`, verified %s\n\n", what,
              (unsigned long long)c->size, root, when);
    rb_fence(b, c->note);
    rb_str(b, "\n");
}

static void
md_log(struct rbuf *b, const struct report_log *l)
{
    const struct store_log_status *st = &l->st;
    char root[2 * MERKLE_HASH_LEN + 1] = "-", ok[32], bad[32];
    size_t i;

    if (st->has_checkpoint) {
        fmt_root(st->verified_root, root);
    }
    fmt_time(st->last_success_at, ok, sizeof(ok));
    fmt_time(st->last_error_at, bad, sizeof(bad));
    rb_str(b, "### Log ");
    rb_mdcode(b, st->name);
    rb_str(b, ", shard ");
    rb_mdcode(b, st->origin);
    rb_str(b, st->frozen ? " (frozen)\n\n" : "\n\n");
    rb_str(b, "| | |\n|---|---|\n");
    if (st->has_checkpoint) {
        rb_printf(b, "| verified size (now) | %llu |\n",
                  (unsigned long long)st->verified_size);
        rb_printf(b, "| verified root (now) | `%s` |\n", root);
    } else {
        rb_str(b, "| verified size (now) | none yet |\n");
    }
    if (st->has_cursor) {
        rb_printf(b, "| entry cursor | %llu (shard-local %llu), lag %llu |\n",
                  (unsigned long long)st->next_index,
                  (unsigned long long)st->next_shard_index,
                  (unsigned long long)log_lag(st));
    } else {
        rb_str(b, "| entry cursor | not seeded |\n");
    }
    rb_printf(b, "| checkpoints verified in period | %llu |\n",
              (unsigned long long)l->checkpoints);
    rb_printf(b, "| consistency proofs verified in period | %llu |\n",
              (unsigned long long)l->proofs);
    if (l->tile_links > 0) {
        rb_printf(b, "| roots recomputed from tiles in period | %llu |\n",
                  (unsigned long long)l->tile_links);
    }
    rb_printf(b,
              "| log alerts in period | %llu critical, %llu warning, %llu "
              "info (%llu unreachable, %llu stale) |\n",
              (unsigned long long)l->alerts[NOTIFY_CRITICAL],
              (unsigned long long)l->alerts[NOTIFY_WARNING],
              (unsigned long long)l->alerts[NOTIFY_INFO],
              (unsigned long long)l->unreachable, (unsigned long long)l->stale);
    if (l->has_period_counts) {
        rb_printf(b,
                  "| entries scanned / root checks in period | %llu / %llu "
                  "|\n",
                  (unsigned long long)l->scanned_period,
                  (unsigned long long)l->root_checks_period);
    }
    rb_printf(b, "| entries scanned (to date) | %llu |\n",
              (unsigned long long)st->entries_scanned);
    rb_printf(b, "| root checks passed (to date) | %llu |\n",
              (unsigned long long)st->root_checks_passed);
    rb_printf(b, "| checkpoints / proofs (to date) | %llu / %llu |\n",
              (unsigned long long)st->checkpoints_verified,
              (unsigned long long)st->proofs_verified);
    rb_printf(b, "| last success | %s |\n", ok);
    rb_printf(b, "| last error | %s", bad);
    if (st->last_error_at != 0) {
        rb_str(b, " ");
        rb_mdcode(b, st->last_error);
    }
    rb_str(b, " |\n\n");
    if (l->has_checkpoints) {
        md_checkpoint(b, "First", &l->first);
        if (l->checkpoints > 1) {
            md_checkpoint(b, "Last", &l->last);
        }
    } else {
        rb_str(b, "No new checkpoint was verified in this period.\n\n");
    }
    for (i = 0; i < l->nevidence; i++) {
        const struct report_evidence *e = &l->evidence[i];
        char when[32];

        fmt_time(e->at, when, sizeof(when));
        rb_str(b, "Conflicting checkpoints (");
        rb_mdcode(b, e->type);
        rb_printf(b, ", %s):\n\n", when);
        if (e->old_note != NULL) {
            rb_str(b, "Verified before:\n\n");
            rb_fence(b, e->old_note);
            rb_str(b, "\n");
        }
        if (e->new_note != NULL) {
            rb_str(b, "Signed by the log in conflict with it:\n\n");
            rb_fence(b, e->new_note);
            rb_str(b, "\n");
        }
    }
    if (l->nerrors > 0) {
        rb_str(b, "Errors in the period (newest first):\n\n");
        for (i = 0; i < l->nerrors; i++) {
            char when[32];

            fmt_time(l->errors[i].at, when, sizeof(when));
            rb_printf(b, "- %s ", when);
            rb_mdcode(b, l->errors[i].message);
            rb_str(b, "\n");
        }
        rb_str(b, "\n");
    }
}

static void
md_rule(struct rbuf *b, const struct report_rule *ru)
{
    size_t i;

    rb_str(b, "### Rule ");
    rb_mdcode(b, ru->name);
    if (ru->repository != NULL) {
        rb_str(b, ", repository ");
        rb_mdcode(b, ru->repository);
    }
    if (!ru->configured) {
        rb_str(b, " (not in the configuration)");
    }
    rb_printf(b, "\n\n%llu signings", (unsigned long long)ru->signings);
    for (i = 0; i < ru->nverdicts; i++) {
        rb_str(b, i == 0 ? " (" : ", ");
        rb_printf(b, "%llu ", (unsigned long long)ru->verdicts[i].count);
        rb_mdcode(b, ru->verdicts[i].key1);
    }
    rb_printf(b, "%s; alerts: %llu critical, %llu warning, %llu info.\n\n",
              ru->nverdicts > 0 ? ")" : "",
              (unsigned long long)ru->alerts[NOTIFY_CRITICAL],
              (unsigned long long)ru->alerts[NOTIFY_WARNING],
              (unsigned long long)ru->alerts[NOTIFY_INFO]);
    if (ru->nlist == 0) {
        return;
    }
    rb_str(b, "| log index | time | verdict | workflow | ref | commit | "
              "runner | trigger | PCRs |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < ru->nlist; i++) {
        const struct report_signing *d = &ru->list[i];
        char when[32];

        fmt_time(d->integrated_time, when, sizeof(when));
        rb_printf(b, "| %llu | %s | ", (unsigned long long)d->log_index, when);
        rb_mdcode(b, d->verdict);
        if (d->policy_verdict != NULL && d->verdict != NULL &&
            strcmp(d->policy_verdict, d->verdict) != 0) {
            rb_str(b, " (policy ");
            rb_mdcode(b, d->policy_verdict);
            rb_str(b, ")");
        }
        rb_str(b, " | ");
        rb_mdcode(b, d->workflow_path);
        rb_str(b, " | ");
        rb_mdcode(b, d->ref);
        rb_str(b, " | ");
        rb_mdcode(b, d->workflow_sha);
        rb_str(b, " | ");
        rb_mdcode(b, d->runner_environment);
        rb_str(b, " | ");
        rb_mdcode(b, d->trigger);
        rb_str(b, " | ");
        md_pcrs(b, d);
        rb_str(b, " |\n");
    }
    if (ru->nlist < ru->signings) {
        rb_printf(b, "\n(the newest %zu of %llu are listed)\n", ru->nlist,
                  (unsigned long long)ru->signings);
    }
    rb_str(b, "\n");
}

static char *
render_md(const struct report *r)
{
    struct rbuf b = {NULL, 0, 0, 0};
    char since[32], until[32], gen[32];
    size_t i;

    fmt_time(r->since, since, sizeof(since));
    fmt_time(r->until, until, sizeof(until));
    fmt_time(r->generated_at, gen, sizeof(gen));
    rb_printf(&b,
              "# tlogwatch consistency report\n\n"
              "Period: %s to %s (generated %s)\n\n",
              since, until, gen);
    rb_str(&b, "## Summary\n\n| | |\n|---|---|\n");
    rb_printf(&b, "| alerts | %llu critical, %llu warning, %llu info |\n",
              (unsigned long long)r->counts.alerts[NOTIFY_CRITICAL],
              (unsigned long long)r->counts.alerts[NOTIFY_WARNING],
              (unsigned long long)r->counts.alerts[NOTIFY_INFO]);
    rb_printf(&b, "| watched signings recorded | %llu |\n",
              (unsigned long long)r->counts.signings);
    rb_printf(&b, "| checkpoints verified | %llu |\n",
              (unsigned long long)r->counts.checkpoints);
    rb_printf(&b, "| consistency proofs verified | %llu |\n",
              (unsigned long long)r->proofs);
    rb_printf(&b, "| outbox (now) | %llu pending, %llu sent, %llu failed |\n\n",
              (unsigned long long)r->counts.deliveries[STORE_DELIVERY_PENDING],
              (unsigned long long)r->counts.deliveries[STORE_DELIVERY_SENT],
              (unsigned long long)r->counts.deliveries[STORE_DELIVERY_FAILED]);
    rb_str(&b, "Every checkpoint counted here was accepted only after its "
               "signature verified with the pinned log key and a consistency "
               "proof from the previous verified checkpoint verified.\n\n");
    rb_str(&b, "## Logs\n\n");
    if (r->nlogs == 0) {
        rb_str(&b, "No log has been followed yet.\n\n");
    }
    for (i = 0; i < r->nlogs; i++) {
        md_log(&b, &r->logs[i]);
    }
    for (i = 0; i < r->nunreached; i++) {
        const struct report_unreached *u = &r->unreached[i];
        size_t j;

        rb_str(&b, "### Log ");
        rb_mdcode(&b, u->name);
        rb_str(&b, " (");
        rb_mdcode(&b, u->url);
        rb_printf(&b,
                  "): never reached, no verified checkpoint; %zu "
                  "error%s in the period\n\n",
                  u->nerrors, u->nerrors == 1 ? "" : "s");
        for (j = 0; j < u->nerrors; j++) {
            char when[32];

            fmt_time(u->errors[j].at, when, sizeof(when));
            rb_printf(&b, "- %s ", when);
            rb_mdcode(&b, u->errors[j].message);
            rb_str(&b, "\n");
        }
        if (u->nerrors > 0) {
            rb_str(&b, "\n");
        }
    }
    rb_str(&b, "## Watch rules\n\n");
    if (r->nrules == 0) {
        rb_str(&b, "No watch rule.\n\n");
    }
    for (i = 0; i < r->nrules; i++) {
        md_rule(&b, &r->rules[i]);
    }
    md_unlogged(&b, r);
    rb_str(&b, "## Alerts\n\n");
    if (r->nalert_types > 0) {
        rb_str(&b, "| type | severity | count |\n|---|---|---|\n");
        for (i = 0; i < r->nalert_types; i++) {
            rb_str(&b, "| ");
            rb_mdcode(&b, r->alert_types[i].key1);
            rb_str(&b, " | ");
            rb_mdcode(&b, r->alert_types[i].key2);
            rb_printf(&b, " | %llu |\n",
                      (unsigned long long)r->alert_types[i].count);
        }
        rb_str(&b, "\n");
    } else {
        rb_str(&b, "No alert in this period.\n\n");
    }
    for (i = 0; i < r->nalerts; i++) {
        const struct report_alert *a = &r->alerts[i];
        char when[32];

        fmt_time(a->detected_at, when, sizeof(when));
        rb_printf(&b, "- %s **%s** ", when, notify_severity_name(a->severity));
        rb_mdcode(&b, a->type);
        rb_str(&b, ": ");
        rb_mdcode(&b, a->summary);
        rb_str(&b, "\n");
    }
    if (r->nalerts < r->alerts_total) {
        rb_printf(&b, "\n(the newest %zu of %llu alerts are listed)\n",
                  r->nalerts, (unsigned long long)r->alerts_total);
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- HTML --------------------------------------------------------------- */

#define CH_W 760.0 /* chart geometry (SVG user units) */
#define CH_H 220.0
#define CH_L 96.0
#define CH_R 16.0
#define CH_T 14.0
#define CH_B 34.0

static double
ch_x(const struct report *r, int64_t t)
{
    double f = (double)(t - r->since) / (double)(r->until - r->since);

    if (f < 0) {
        f = 0;
    } else if (f > 1) {
        f = 1;
    }
    return CH_L + f * (CH_W - CH_L - CH_R);
}

static void
ch_frame(struct rbuf *b, const struct report *r, const char *label)
{
    char t0[32], t1[32], tm[32];

    fmt_short_time(r->since, r->until - r->since, t0, sizeof(t0));
    fmt_short_time(r->until, r->until - r->since, t1, sizeof(t1));
    fmt_short_time(r->since + (r->until - r->since) / 2, r->until - r->since,
                   tm, sizeof(tm));
    rb_printf(b,
              "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
              "aria-label=\"",
              CH_W, CH_H);
    rb_html(b, label);
    rb_printf(b,
              "\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
              "class=\"plot\"/>",
              CH_L, CH_T, CH_W - CH_L - CH_R, CH_H - CH_T - CH_B);
    rb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\">%s</text>"
              "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
              "text-anchor=\"middle\">%s</text>"
              "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
              "text-anchor=\"end\">%s</text>",
              CH_L, CH_H - 12, t0, (CH_L + CH_W - CH_R) / 2, CH_H - 12, tm,
              CH_W - CH_R, CH_H - 12, t1);
}

static void
html_tree_chart(struct rbuf *b, const struct report *r,
                const struct report_log *l)
{
    double ph = CH_H - CH_T - CH_B;
    uint64_t lo, hi;
    size_t i, k;
    double x, y, px = 0;

    ch_frame(b, r, "tree size over the period");
    if (!l->has_checkpoints) {
        rb_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" class=\"empty\" "
                  "text-anchor=\"middle\">no new checkpoint in this "
                  "period</text></svg>\n",
                  (CH_L + CH_W - CH_R) / 2, CH_T + ph / 2);
        return;
    }
    lo = l->first.size;
    hi = l->last.size;
    for (i = 0; i < l->npoints; i++) {
        lo = l->points[i].size < lo ? l->points[i].size : lo;
        hi = l->points[i].size > hi ? l->points[i].size : hi;
    }
    if (hi == lo) {
        hi = lo + 1;
    }
    for (k = 0; k <= 4; k++) {
        uint64_t v = lo + (hi - lo) * k / 4;

        y = CH_T + ph - (double)(v - lo) * ph / (double)(hi - lo);
        rb_printf(b,
                  "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                  "class=\"grid\"/><text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
                  "text-anchor=\"end\">%llu</text>",
                  CH_L, CH_W - CH_R, y, y, CH_L - 6, y + 4,
                  (unsigned long long)v);
    }
    rb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" class=\"note\">+%llu entries, "
              "%llu checkpoint%s verified</text>",
              CH_L + 10, CH_T + 20,
              (unsigned long long)(l->last.size - l->first.size),
              (unsigned long long)l->checkpoints,
              l->checkpoints == 1 ? "" : "s");
    rb_str(b, "<path class=\"tree\" d=\"");
    for (i = 0; i <= l->npoints; i++) {
        /* The decimated points, then always the last checkpoint. */
        const struct report_point *p = i < l->npoints ? &l->points[i] : NULL;
        int64_t t = p != NULL ? p->t : l->last.verified_at;
        uint64_t sz = p != NULL ? p->size : l->last.size;

        x = ch_x(r, t);
        y = CH_T + ph - (double)(sz - lo) * ph / (double)(hi - lo);
        if (i == 0) {
            rb_printf(b, "M%.1f %.1f", x, y);
        } else {
            rb_printf(b, "H%.1f V%.1f", x, y);
        }
        px = x;
    }
    rb_str(b, "\"/>");
    rb_printf(b, "<path class=\"tree-after\" d=\"M%.1f %.1f H%.1f\"/>", px,
              CH_T + ph - (double)(l->last.size - lo) * ph / (double)(hi - lo),
              CH_W - CH_R);
    if (l->npoints <= 80) {
        for (i = 0; i < l->npoints; i++) {
            x = ch_x(r, l->points[i].t);
            y = CH_T + ph -
                (double)(l->points[i].size - lo) * ph / (double)(hi - lo);
            rb_printf(b,
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                      "class=\"pt\"><title>size %llu</title></circle>",
                      x, y, (unsigned long long)l->points[i].size);
        }
    }
    rb_str(b, "</svg>\n");
}

static void
html_signing_chart(struct rbuf *b, const struct report *r)
{
    double ph = CH_H - CH_T - CH_B, pw = CH_W - CH_L - CH_R;
    double bw = pw / REPORT_CHART_BINS;
    uint64_t max = 1;
    size_t i;

    for (i = 0; i < REPORT_CHART_BINS; i++) {
        uint64_t v = r->bins_allowed[i] + r->bins_other[i];

        max = v > max ? v : max;
    }
    ch_frame(b, r, "watched signings over the period");
    rb_printf(b,
              "<text x=\"%.1f\" y=\"%.1f\" class=\"ax\" "
              "text-anchor=\"end\">%llu</text><text x=\"%.1f\" y=\"%.1f\" "
              "class=\"ax\" text-anchor=\"end\">0</text>",
              CH_L - 6, CH_T + 10, (unsigned long long)max, CH_L - 6,
              CH_T + ph);
    for (i = 0; i < REPORT_CHART_BINS; i++) {
        double ha = (double)r->bins_allowed[i] * ph / (double)max;
        double ho = (double)r->bins_other[i] * ph / (double)max;
        double x = CH_L + (double)i * bw + 2;

        if (ha > 0) {
            rb_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" class=\"ok\"><title>%llu "
                      "allowed</title></rect>",
                      x, CH_T + ph - ha, bw - 4, ha,
                      (unsigned long long)r->bins_allowed[i]);
        }
        if (ho > 0) {
            rb_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" class=\"bad\"><title>%llu not "
                      "allowed</title></rect>",
                      x, CH_T + ph - ha - ho, bw - 4, ho,
                      (unsigned long long)r->bins_other[i]);
        }
    }
    if (r->counts.signings == 0) {
        rb_printf(b,
                  "<text x=\"%.1f\" y=\"%.1f\" class=\"empty\" "
                  "text-anchor=\"middle\">no watched signing in this "
                  "period</text>",
                  CH_L + pw / 2, CH_T + ph / 2);
    }
    rb_str(b, "</svg>\n<p class=\"legend\"><span class=\"sw ok\"></span> "
              "allowed by the rule <span class=\"sw bad\"></span> anything "
              "else (unexpected, self-hosted, impostor...)</p>\n");
}

static const char html_css[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "sans-serif;color:#1d2330;background:#f4f6f9;margin:0}"
    "main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;"
    "border-bottom:2px solid #d8dde6;padding-bottom:4px}"
    "h3{font-size:16px;margin:20px 0 8px}h3 code{font-size:15px}"
    ".sub{color:#5b6475;margin:0 0 18px}"
    ".banner{padding:12px 16px;border-radius:8px;font-weight:600;"
    "margin:14px 0}"
    ".banner.good{background:#e3f4e6;color:#1e5b2a;border:1px solid #a9d8b2}"
    ".banner.warn{background:#fff4dc;color:#7a4b00;border:1px solid #f0cf86}"
    ".banner.crit{background:#fde4e4;color:#8a1414;border:1px solid #f0a5a5}"
    ".cards{display:grid;grid-template-columns:repeat(6,1fr);gap:10px}"
    ".card{background:#fff;border:1px solid #d8dde6;border-radius:8px;"
    "padding:10px 14px}.card b{display:block;font-size:24px}"
    ".card span{color:#5b6475;font-size:13px}"
    "section.box{background:#fff;border:1px solid #d8dde6;border-radius:8px;"
    "padding:6px 18px 14px;margin:14px 0}"
    "table{border-collapse:collapse;width:100%;font-size:13.5px;"
    "margin:8px 0}"
    "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ef;"
    "vertical-align:top}th{background:#f0f2f6;font-weight:600}"
    "table.kv th{width:38%;background:none;font-weight:500;color:#3c4557}"
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "monospace;font-size:12.5px}"
    "code{overflow-wrap:anywhere}"
    "pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:6px;"
    "padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere;margin:4px "
    "0 10px}"
    ".sev{display:inline-block;padding:1px 7px;border-radius:10px;"
    "font-size:12px;font-weight:600}"
    ".sev.critical{background:#c62828;color:#fff}"
    ".sev.warning{background:#f0a500;color:#2b1d00}"
    ".sev.info{background:#dfe6f1;color:#26344d}"
    ".v-allowed{color:#1e6b2f;font-weight:600}"
    ".v-other{color:#b71c1c;font-weight:600}"
    ".chart{width:100%;height:auto;display:block;margin:6px 0}"
    ".chart .plot{fill:#fafbfd;stroke:#d8dde6}"
    ".chart .grid{stroke:#e6e9ef}"
    ".chart .ax{font-size:11px;fill:#5b6475}"
    ".chart .empty{font-size:14px;fill:#8a93a5}"
    "td.mono,td.nw code{white-space:nowrap}"
    ".chart .note{font-size:13px;fill:#3c4557;font-weight:600}"
    ".chart .tree{fill:none;stroke:#1f6fd1;stroke-width:2.2}"
    ".chart .tree-after{fill:none;stroke:#1f6fd1;stroke-width:1.5;"
    "stroke-dasharray:4 4}"
    ".chart .pt{fill:#1f6fd1}.chart .ok,.sw.ok{fill:#2e7d32;"
    "background:#2e7d32}.chart .bad,.sw.bad{fill:#c62828;"
    "background:#c62828}"
    ".legend{font-size:12.5px;color:#5b6475;margin:0 0 6px}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:2px;"
    "vertical-align:-1px;margin-left:8px}"
    ".muted{color:#5b6475}footer{margin-top:36px;color:#5b6475;"
    "font-size:13px}";

static void
html_card(struct rbuf *b, uint64_t v, const char *label)
{
    rb_printf(b, "<div class=\"card\"><b>%llu</b><span>%s</span></div>",
              (unsigned long long)v, label);
}

static void
html_cp(struct rbuf *b, const char *what, const struct report_checkpoint *c)
{
    char root[2 * MERKLE_HASH_LEN + 1], when[32];

    fmt_root(c->root, root);
    fmt_time(c->verified_at, when, sizeof(when));
    rb_printf(b,
              "<h3>%s checkpoint: size %llu</h3><p class=\"muted\">root "
              "<code>%s</code>, verified %s</p><pre>",
              what, (unsigned long long)c->size, root, when);
    rb_html(b, c->note);
    rb_str(b, "</pre>\n");
}

static void
html_kv_u64(struct rbuf *b, const char *k, uint64_t v)
{
    rb_printf(b, "<tr><th>%s</th><td>%llu</td></tr>", k, (unsigned long long)v);
}

static void
html_log(struct rbuf *b, const struct report *r, const struct report_log *l)
{
    const struct store_log_status *st = &l->st;
    char root[2 * MERKLE_HASH_LEN + 1] = "-", ok[32], bad[32];
    size_t i;

    if (st->has_checkpoint) {
        fmt_root(st->verified_root, root);
    }
    fmt_time(st->last_success_at, ok, sizeof(ok));
    fmt_time(st->last_error_at, bad, sizeof(bad));
    rb_str(b, "<section class=\"box\"><h3>Log <code>");
    rb_html(b, st->name);
    rb_str(b, "</code> &middot; shard <code>");
    rb_html(b, st->origin);
    rb_str(b, "</code>");
    rb_str(b, st->frozen ? " <span class=\"sev info\">frozen</span>" : "");
    rb_str(b, "</h3>\n");
    html_tree_chart(b, r, l);
    rb_str(b, "<table class=\"kv\">");
    if (l->has_checkpoints) {
        rb_printf(b,
                  "<tr><th>Tree growth in period</th><td>%llu &rarr; %llu "
                  "(+%llu entries)</td></tr>",
                  (unsigned long long)l->first.size,
                  (unsigned long long)l->last.size,
                  (unsigned long long)(l->last.size - l->first.size));
    }
    html_kv_u64(b, "Checkpoints verified in period", l->checkpoints);
    html_kv_u64(b, "Consistency proofs verified in period", l->proofs);
    if (l->tile_links > 0) {
        html_kv_u64(b, "Roots recomputed from tiles in period", l->tile_links);
    }
    rb_printf(b,
              "<tr><th>Log alerts in period</th><td>%llu critical, %llu "
              "warning, %llu info (%llu unreachable, %llu stale)</td></tr>",
              (unsigned long long)l->alerts[NOTIFY_CRITICAL],
              (unsigned long long)l->alerts[NOTIFY_WARNING],
              (unsigned long long)l->alerts[NOTIFY_INFO],
              (unsigned long long)l->unreachable, (unsigned long long)l->stale);
    if (st->has_checkpoint) {
        rb_printf(b,
                  "<tr><th>Verified size (now)</th><td>%llu</td></tr>"
                  "<tr><th>Verified root (now)</th><td><code>%s</code></td>"
                  "</tr>",
                  (unsigned long long)st->verified_size, root);
    } else {
        rb_str(b, "<tr><th>Verified size (now)</th><td>none yet</td></tr>");
    }
    if (st->has_cursor) {
        rb_printf(b,
                  "<tr><th>Entry cursor (now)</th><td>%llu (shard-local "
                  "%llu), lag %llu</td></tr>",
                  (unsigned long long)st->next_index,
                  (unsigned long long)st->next_shard_index,
                  (unsigned long long)log_lag(st));
    } else {
        rb_str(b, "<tr><th>Entry cursor (now)</th><td>not seeded</td></tr>");
    }
    if (l->has_period_counts) {
        html_kv_u64(b, "Entries scanned in period", l->scanned_period);
        html_kv_u64(b, "Root checks passed in period", l->root_checks_period);
    }
    html_kv_u64(b, "Entries scanned (to date)", st->entries_scanned);
    html_kv_u64(b, "Root checks passed (to date)", st->root_checks_passed);
    rb_printf(b,
              "<tr><th>Checkpoints / proofs (to date)</th><td>%llu / "
              "%llu</td></tr>",
              (unsigned long long)st->checkpoints_verified,
              (unsigned long long)st->proofs_verified);
    rb_printf(b, "<tr><th>Last success</th><td>%s</td></tr>", ok);
    rb_printf(b, "<tr><th>Last error</th><td>%s", bad);
    if (st->last_error_at != 0) {
        rb_str(b, " <code>");
        rb_html(b, st->last_error);
        rb_str(b, "</code>");
    }
    rb_str(b, "</td></tr></table>\n");
    if (l->nerrors > 0) {
        rb_str(b, "<h3>Errors in the period</h3><table><tr><th>when</th>"
                  "<th>error</th></tr>");
        for (i = 0; i < l->nerrors; i++) {
            char when[32];

            fmt_time(l->errors[i].at, when, sizeof(when));
            rb_printf(b, "<tr><td class=\"mono\">%s</td><td><code>", when);
            rb_html(b, l->errors[i].message);
            rb_str(b, "</code></td></tr>");
        }
        rb_str(b, "</table>\n");
    }
    if (l->has_checkpoints) {
        html_cp(b, "First", &l->first);
        if (l->checkpoints > 1) {
            html_cp(b, "Last", &l->last);
        }
    }
    for (i = 0; i < l->nevidence; i++) {
        const struct report_evidence *e = &l->evidence[i];
        char when[32];

        fmt_time(e->at, when, sizeof(when));
        rb_str(b, "<h3>Conflicting checkpoints: <code>");
        rb_html(b, e->type);
        rb_printf(b, "</code></h3><p class=\"muted\">detected %s</p>", when);
        if (e->old_note != NULL) {
            rb_str(b, "<p>Verified before:</p><pre>");
            rb_html(b, e->old_note);
            rb_str(b, "</pre>");
        }
        if (e->new_note != NULL) {
            rb_str(b, "<p>Signed by the log in conflict with it:</p><pre "
                      "class=\"conflict\">");
            rb_html(b, e->new_note);
            rb_str(b, "</pre>");
        }
        rb_str(b, "\n");
    }
    rb_str(b, "</section>\n");
}

static void
html_short(struct rbuf *b, const char *s, size_t n)
{
    char buf[64];

    if (s == NULL || s[0] == '\0') {
        rb_str(b, "-");
        return;
    }
    if (strlen(s) <= n || n + 1 > sizeof(buf)) {
        rb_str(b, "<code>");
        rb_html(b, s);
        rb_str(b, "</code>");
        return;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    rb_str(b, "<code title=\"");
    rb_html(b, s);
    rb_str(b, "\">");
    rb_html(b, buf);
    rb_str(b, "&hellip;</code>");
}

static void
html_rule(struct rbuf *b, const struct report_rule *ru)
{
    size_t i;

    rb_str(b, "<section class=\"box\"><h3>Rule <code>");
    rb_html(b, ru->name);
    rb_str(b, "</code>");
    if (ru->repository != NULL) {
        rb_str(b, " &middot; repository <code>");
        rb_html(b, ru->repository);
        rb_str(b, "</code>");
    }
    if (!ru->configured) {
        rb_str(b, " <span class=\"muted\">(not in the configuration)</span>");
    }
    rb_printf(b, "</h3><p>%llu watched signing%s",
              (unsigned long long)ru->signings, ru->signings == 1 ? "" : "s");
    for (i = 0; i < ru->nverdicts; i++) {
        int allowed = view_verdict_allowed(ru->verdicts[i].key1);

        rb_printf(b, "%s<span class=\"%s\">%llu ", i == 0 ? " (" : ", ",
                  allowed ? "v-allowed" : "v-other",
                  (unsigned long long)ru->verdicts[i].count);
        rb_html(b, ru->verdicts[i].key1);
        rb_str(b, "</span>");
    }
    rb_printf(b, "%s; alerts: %llu critical, %llu warning, %llu info.</p>\n",
              ru->nverdicts > 0 ? ")" : "",
              (unsigned long long)ru->alerts[NOTIFY_CRITICAL],
              (unsigned long long)ru->alerts[NOTIFY_WARNING],
              (unsigned long long)ru->alerts[NOTIFY_INFO]);
    if (ru->nlist == 0) {
        rb_str(b, "</section>\n");
        return;
    }
    rb_str(b, "<table><tr><th>log index</th><th>integrated</th>"
              "<th>verdict</th><th>workflow</th><th>ref</th><th>commit</th>"
              "<th>runner</th><th>trigger</th><th>PCR0 / PCR1 / PCR2</th>"
              "</tr>");
    for (i = 0; i < ru->nlist; i++) {
        const struct report_signing *d = &ru->list[i];
        char when[32];
        int allowed = view_verdict_allowed(d->verdict);

        fmt_time(d->integrated_time, when, sizeof(when));
        rb_printf(b,
                  "<tr><td class=\"mono\">%llu</td><td class=\"mono\">%s</td>"
                  "<td class=\"%s\">",
                  (unsigned long long)d->log_index, when,
                  allowed ? "v-allowed" : "v-other");
        rb_html(b, d->verdict);
        if (d->policy_verdict != NULL && d->verdict != NULL &&
            strcmp(d->policy_verdict, d->verdict) != 0) {
            rb_str(b, " <span class=\"muted\">(policy: ");
            rb_html(b, d->policy_verdict);
            rb_str(b, ")</span>");
        }
        rb_str(b, "</td><td>");
        html_short(b, d->workflow_path, 48);
        rb_str(b, "</td><td>");
        html_short(b, d->ref, 32);
        rb_str(b, "</td><td>");
        html_short(b, d->workflow_sha, 12);
        rb_str(b, "</td><td>");
        rb_html(b, d->runner_environment);
        rb_str(b, "</td><td>");
        rb_html(b, d->trigger);
        rb_str(b, "</td><td>");
        if (d->pcr0 == NULL && d->pcr1 == NULL && d->pcr2 == NULL) {
            rb_str(b, "<span class=\"muted\">not known</span>");
        } else {
            html_short(b, d->pcr0, 12);
            rb_str(b, " ");
            html_short(b, d->pcr1, 12);
            rb_str(b, " ");
            html_short(b, d->pcr2, 12);
            if (d->pcr8 != NULL) {
                rb_str(b, " PCR8 ");
                html_short(b, d->pcr8, 12);
            }
        }
        if (d->pcrs_state != NULL && strcmp(d->pcrs_state, "none") != 0 &&
            strcmp(d->pcrs_state, "found") != 0) {
            rb_str(b, " <span class=\"muted\">");
            rb_html(b, d->pcrs_state);
            rb_str(b, "</span>");
        }
        rb_str(b, "</td></tr>");
    }
    rb_str(b, "</table>\n");
    if (ru->nlist < ru->signings) {
        rb_printf(b,
                  "<p class=\"muted\">The newest %zu of %llu are listed.</p>",
                  ru->nlist, (unsigned long long)ru->signings);
    }
    rb_str(b, "</section>\n");
}

/* The certificates judged unlogged in the period (read model rows). */
static void
html_unlogged(struct rbuf *b, const struct report *r)
{
    static const char *const cols[] = {"first_seen", "deadline", "commit",
                                       "workflow",   "ref",      "runner",
                                       "verdict"};
    size_t i, k, n = json_array_size(r->ct_unlogged);
    const json_t *c;

    rb_str(b, "<h2>Certificates never logged in Rekor</h2>\n"
              "<section class=\"box\" id=\"unlogged\">");
    if (n == 0) {
        rb_str(b, "<p>No certificate seen in a CT log was judged unlogged in "
                  "this period.</p></section>\n");
        return;
    }
    rb_str(b, "<table><thead><tr><th>Rule</th><th>CT entry</th>"
              "<th>First seen</th><th>Deadline</th><th>Commit</th>"
              "<th>Workflow</th><th>Ref</th><th>Runner</th>"
              "<th>Verdict</th></tr></thead><tbody>\n");
    json_array_foreach(r->ct_unlogged, i, c)
    {
        rb_str(b, "<tr class=\"unlogged\"><td>");
        rb_html(b, jstr_or_dash(c, "rule"));
        rb_str(b, "</td><td class=\"mono\">");
        rb_html(b, jstr_or_dash(c, "ct_log"));
        rb_printf(
            b, " #%lld",
            (long long)json_integer_value(json_object_get(c, "ct_log_index")));
        for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
            rb_str(b, "</td><td class=\"mono\">");
            rb_html(b, jstr_or_dash(c, cols[k]));
        }
        rb_str(b, "</td></tr>\n");
    }
    rb_str(b, "</tbody></table>");
    if (n == REPORT_MAX_UNLOGGED) {
        rb_printf(b, "<p>The newest %d are listed.</p>", REPORT_MAX_UNLOGGED);
    }
    rb_str(b, "</section>\n");
}

static void
html_alerts(struct rbuf *b, const struct report *r)
{
    size_t i;

    if (r->nalert_types == 0) {
        rb_str(b, "<p>No alert in this period.</p>\n");
        return;
    }
    rb_str(b, "<section class=\"box\"><table><tr><th>type</th>"
              "<th>severity</th><th>count</th></tr>");
    for (i = 0; i < r->nalert_types; i++) {
        rb_str(b, "<tr><td><code>");
        rb_html(b, r->alert_types[i].key1);
        rb_str(b, "</code></td><td><span class=\"sev ");
        rb_html(b, r->alert_types[i].key2);
        rb_str(b, "\">");
        rb_html(b, r->alert_types[i].key2);
        rb_printf(b, "</span></td><td>%llu</td></tr>",
                  (unsigned long long)r->alert_types[i].count);
    }
    rb_str(b, "</table></section>\n<section class=\"box\"><table><tr>"
              "<th>detected</th><th>severity</th><th>type</th><th>rule</th>"
              "<th>log / index</th><th>summary</th></tr>");
    for (i = 0; i < r->nalerts; i++) {
        const struct report_alert *a = &r->alerts[i];
        const char *sev = notify_severity_name(a->severity);
        char when[32];

        fmt_time(a->detected_at, when, sizeof(when));
        rb_printf(b,
                  "<tr><td class=\"mono\">%s</td><td><span class=\"sev "
                  "%s\">%s</span></td><td class=\"nw\"><code>",
                  when, sev, sev);
        rb_html(b, a->type);
        rb_str(b, "</code></td><td>");
        rb_html(b, a->rule);
        rb_str(b, "</td><td>");
        rb_html(b, a->log_name);
        if (a->has_index) {
            rb_printf(b, " #%llu", (unsigned long long)a->log_index);
        }
        rb_str(b, "</td><td>");
        rb_html(b, a->summary);
        rb_str(b, "</td></tr>");
    }
    rb_str(b, "</table>");
    if (r->nalerts < r->alerts_total) {
        rb_printf(b,
                  "<p class=\"muted\">The newest %zu of %llu alerts are "
                  "listed.</p>",
                  r->nalerts, (unsigned long long)r->alerts_total);
    }
    rb_str(b, "</section>\n");
}

/* One row per log shard: the figures an auditor checks first. */
static void
html_overview(struct rbuf *b, const struct report *r)
{
    size_t i;

    rb_str(b, "<section class=\"box\"><table><tr><th>log &middot; shard</th>"
              "<th>tree in period</th><th>checkpoints</th><th>consistency "
              "proofs</th><th>verified size (now)</th><th>lag</th>"
              "<th>last success</th><th>errors</th><th>log alerts</th></tr>");
    for (i = 0; i < r->nlogs; i++) {
        const struct report_log *l = &r->logs[i];
        char ok[32];

        fmt_time(l->st.last_success_at, ok, sizeof(ok));
        rb_str(b, "<tr><td><code>");
        rb_html(b, l->st.name);
        rb_str(b, "</code><br><span class=\"muted mono\">");
        rb_html(b, l->st.origin);
        rb_str(b, "</span></td><td>");
        if (l->has_checkpoints) {
            rb_printf(b, "%llu &rarr; %llu", (unsigned long long)l->first.size,
                      (unsigned long long)l->last.size);
        } else {
            rb_str(b, "<span class=\"muted\">no new checkpoint</span>");
        }
        rb_printf(b,
                  "</td><td>%llu</td><td>%llu</td><td>%s%llu</td>"
                  "<td>%llu</td><td class=\"mono\">%s</td><td>%zu</td>"
                  "<td>%llu critical, %llu warning</td></tr>",
                  (unsigned long long)l->checkpoints,
                  (unsigned long long)l->proofs, l->st.frozen ? "frozen " : "",
                  (unsigned long long)l->st.verified_size,
                  (unsigned long long)log_lag(&l->st), ok, l->nerrors,
                  (unsigned long long)l->alerts[NOTIFY_CRITICAL],
                  (unsigned long long)l->alerts[NOTIFY_WARNING]);
    }
    rb_str(b, "</table></section>\n");
}

/* A configured log never reached: why, from its errors by name. */
static void
html_unreached(struct rbuf *b, const struct report_unreached *u)
{
    size_t i;

    rb_str(b, "<section class=\"box\"><h3>Log <code>");
    rb_html(b, u->name);
    rb_str(b, "</code> &middot; <code>");
    rb_html(b, u->url);
    rb_printf(b,
              "</code></h3><p>Never reached: no verified checkpoint. "
              "%zu error%s in the period.</p>",
              u->nerrors, u->nerrors == 1 ? "" : "s");
    if (u->nerrors > 0) {
        rb_str(b, "<table><tr><th>when</th><th>error</th></tr>");
        for (i = 0; i < u->nerrors; i++) {
            char when[32];

            fmt_time(u->errors[i].at, when, sizeof(when));
            rb_printf(b, "<tr><td class=\"mono\">%s</td><td><code>", when);
            rb_html(b, u->errors[i].message);
            rb_str(b, "</code></td></tr>");
        }
        rb_str(b, "</table>");
    }
    rb_str(b, "</section>\n");
}

static char *
render_html(const struct report *r)
{
    struct rbuf b = {NULL, 0, 0, 0};
    char since[32], until[32], gen[32];
    const uint64_t *al = r->counts.alerts;
    size_t i;

    fmt_time(r->since, since, sizeof(since));
    fmt_time(r->until, until, sizeof(until));
    fmt_time(r->generated_at, gen, sizeof(gen));
    rb_str(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><meta name=\"viewport\" "
               "content=\"width=device-width,initial-scale=1\">"
               "<title>tlogwatch report ");
    rb_printf(&b, "%s to %s</title><style>", since, until);
    rb_str(&b, html_css);
    rb_str(&b, "</style></head><body><main>\n");
    rb_printf(&b,
              "<h1>tlogwatch consistency report</h1><p class=\"sub\">Period "
              "<b>%s</b> to <b>%s</b> &middot; generated %s</p>\n",
              since, until, gen);
    if (al[NOTIFY_CRITICAL] > 0) {
        rb_printf(&b,
                  "<div class=\"banner crit\">%llu critical alert%s in this "
                  "period: read the alerts below.</div>\n",
                  (unsigned long long)al[NOTIFY_CRITICAL],
                  al[NOTIFY_CRITICAL] == 1 ? "" : "s");
    } else if (al[NOTIFY_WARNING] > 0) {
        rb_printf(&b,
                  "<div class=\"banner warn\">No critical alert; %llu "
                  "warning%s in this period.</div>\n",
                  (unsigned long long)al[NOTIFY_WARNING],
                  al[NOTIFY_WARNING] == 1 ? "" : "s");
    } else {
        rb_str(&b, "<div class=\"banner good\">No warning or critical alert "
                   "in this period.</div>\n");
    }
    rb_str(&b, "<div class=\"cards\">");
    html_card(&b, r->counts.checkpoints, "checkpoints verified");
    html_card(&b, r->proofs, "consistency proofs verified");
    html_card(&b, r->counts.signings, "watched signings");
    html_card(&b, al[NOTIFY_CRITICAL], "critical alerts");
    html_card(&b, al[NOTIFY_WARNING], "warning alerts");
    html_card(&b,
              r->counts.deliveries[STORE_DELIVERY_PENDING] +
                  r->counts.deliveries[STORE_DELIVERY_FAILED],
              "deliveries pending or failed (now)");
    rb_str(&b, "</div>\n<p class=\"muted\">A checkpoint is counted only "
               "after its signature verified with the pinned log key and a "
               "consistency proof from the previous verified checkpoint "
               "verified; the entry cursor passes a checkpoint size only when "
               "the entries read hash to its signed root.</p>\n");
    rb_str(&b, "<h2>Logs</h2>\n");
    if (r->nlogs == 0) {
        rb_str(&b, "<p>No log has been followed yet.</p>\n");
    } else {
        html_overview(&b, r);
    }
    for (i = 0; i < r->nunreached; i++) {
        html_unreached(&b, &r->unreached[i]);
    }
    rb_str(&b, "<h2>Alerts</h2>\n");
    html_alerts(&b, r);
    rb_str(&b, "<h2>Watched signings</h2>\n<section class=\"box\">");
    html_signing_chart(&b, r);
    rb_str(&b, "</section>\n");
    if (r->nrules == 0) {
        rb_str(&b, "<p>No watch rule.</p>\n");
    }
    for (i = 0; i < r->nrules; i++) {
        html_rule(&b, &r->rules[i]);
    }
    html_unlogged(&b, r);
    if (r->nlogs > 0) {
        rb_str(&b, "<h2>Evidence per log</h2>\n");
    }
    for (i = 0; i < r->nlogs; i++) {
        html_log(&b, r, &r->logs[i]);
    }
    rb_str(&b, "<footer>To check a checkpoint offline: <code>tlogwatch "
               "verify checkpoint --key LOG_KEY.pem NOTE_FILE</code>; to check "
               "that the last checkpoint extends the first: <code>tlogwatch "
               "verify consistency --old-size M --old-root HEX --new-size N "
               "--new-root HEX --proof FILE</code> for each link of the "
               "chain (sizes, roots and proofs are in the JSON report, "
               "<code>period.chain</code>). Machine-readable: <code>tlogwatch "
               "report --format json</code> (schema " REPORT_SCHEMA
               ").</footer>\n</main></body></html>\n");
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *
report_render(const struct report *r, enum report_format f)
{
    json_t *doc;
    char *text;

    switch (f) {
    case REPORT_JSON:
        doc = report_json(r);
        if (doc == NULL) {
            return NULL;
        }
        text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(doc);
        if (text != NULL) {
            size_t n = strlen(text);
            char *t2 = realloc(text, n + 2);

            if (t2 == NULL) {
                free(text);
                return NULL;
            }
            t2[n] = '\n';
            t2[n + 1] = '\0';
            text = t2;
        }
        return text;
    case REPORT_HTML:
        return render_html(r);
    case REPORT_MD:
    default:
        return render_md(r);
    }
}
