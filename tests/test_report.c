/*
 * test_report.c: the report model and its renderings against a real
 * sqlite store populated here: the real Tessera test log's signed
 * checkpoints and consistency proofs (read from $TLOGWATCH_TESTDATA at
 * run time), entry batches with signings and alerts committed through
 * store_commit_progress, and alerts outside batches.
 *
 * What must hold: the JSON report's counts equal the store's own counts
 * (store_counts, store_alert_counts_each, store_signing_counts_each,
 * store_log_status) over the same period, and nothing outside the period
 * is counted (the twin); untrusted strings are escaped in HTML and
 * Markdown; the HTML page loads nothing from outside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/report/report.h"
#include "monitor/report/report_timer.h"
#include "monitor/store/store.h"
#include "notify/alert.h"

#define T0 1700000000 /* test clock, unix seconds */
#define TESSERA "rekor-v2/tessera-testlog"
#define NCP 8 /* checkpoints 0..NCP of the test log are recorded */
#define LEAVES_MAX 64

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
    int64_t log_id;
};

/* ---- test data ------------------------------------------------------- */

static char *
td_read(const char *rel, size_t *len)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    char path[4096];
    FILE *f;
    char *buf;
    long sz;

    assert_non_null(td);
    snprintf(path, sizeof(path), "%s/%s", td, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    sz = ftell(f);
    assert_true(sz >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)sz + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    buf[sz] = '\0';
    if (len != NULL) {
        *len = (size_t)sz;
    }
    return buf;
}

/* Checkpoint n of the test log: note, origin, size, root. */
struct tcp {
    char *note;
    size_t len;
    char origin[256];
    uint64_t size;
    uint8_t root[MERKLE_HASH_LEN];
};

static void
tcp_load(unsigned n, struct tcp *c)
{
    char rel[256], *p, *nl, *end;

    memset(c, 0, sizeof(*c));
    snprintf(rel, sizeof(rel), TESSERA "/checkpoint.%u", n);
    c->note = td_read(rel, &c->len);
    nl = strchr(c->note, '\n');
    assert_non_null(nl);
    assert_true((size_t)(nl - c->note) < sizeof(c->origin));
    memcpy(c->origin, c->note, (size_t)(nl - c->note));
    p = nl + 1;
    c->size = strtoull(p, &end, 10);
    assert_true(end != p && *end == '\n');
    p = end + 1;
    nl = strchr(p, '\n');
    assert_non_null(nl);
    assert_int_equal(
        merkle_b64_decode(p, (size_t)(nl - p), c->root, sizeof(c->root)),
        MERKLE_HASH_LEN);
}

/* The consistency proof size1 -> size2 from the testdata JSON. */
static size_t
proof_load(uint64_t size1, uint64_t size2, uint8_t (*out)[MERKLE_HASH_LEN])
{
    char *text =
        td_read("rekor-v2/tessera-testlog-consistency-proofs.json", NULL);
    json_t *root = json_loads(text, 0, NULL), *p, *h;
    size_t i, j, n = 0;
    int found = 0;

    assert_non_null(root);
    json_array_foreach(json_object_get(root, "proofs"), i, p)
    {
        if ((uint64_t)json_integer_value(json_object_get(p, "size1")) !=
                size1 ||
            (uint64_t)json_integer_value(json_object_get(p, "size2")) !=
                size2) {
            continue;
        }
        found = 1;
        json_array_foreach(json_object_get(p, "proof"), j, h)
        {
            const char *b = json_string_value(h);

            assert_non_null(b);
            assert_true(n < MERKLE_MAX_PROOF);
            assert_int_equal(
                merkle_b64_decode(b, strlen(b), out[n], MERKLE_HASH_LEN),
                MERKLE_HASH_LEN);
            n++;
        }
    }
    assert_true(found);
    json_decref(root);
    free(text);
    return n;
}

/* Leaf hashes of the test log's entries (2-byte length-prefixed). */
static size_t
leaves_load(uint8_t (*out)[MERKLE_HASH_LEN])
{
    size_t len, off = 0, n = 0;
    uint8_t *b = (uint8_t *)td_read(TESSERA "/tile/entries/000.p/15", &len);

    while (off + 2 <= len) {
        size_t el = (size_t)b[off] << 8 | b[off + 1];

        assert_true(off + 2 + el <= len);
        assert_true(n < LEAVES_MAX);
        merkle_leaf_hash(b + off + 2, el, out[n++]);
        off += 2 + el;
    }
    free(b);
    return n;
}

/* ---- population ------------------------------------------------------ */

static uint64_t cp_sizes[NCP + 1];

/* Checkpoints 0..NCP, checkpoint n verified at T0 + n. */
static int64_t
record_checkpoints(struct store *s)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct store_checkpoint cp;
    struct tcp c, prev;
    int64_t id;
    unsigned n;

    tcp_load(0, &prev);
    cp_sizes[0] = prev.size;
    assert_int_equal(store_log_open(s, "tessera", prev.origin, T0, &id), 0);
    memset(&cp, 0, sizeof(cp));
    cp.note = prev.note;
    cp.note_len = prev.len;
    cp.size = prev.size;
    memcpy(cp.root, prev.root, MERKLE_HASH_LEN);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0), 0);
    for (n = 1; n <= NCP; n++) {
        tcp_load(n, &c);
        cp_sizes[n] = c.size;
        memset(&cp, 0, sizeof(cp));
        cp.note = c.note;
        cp.note_len = c.len;
        cp.size = c.size;
        memcpy(cp.root, c.root, MERKLE_HASH_LEN);
        if (prev.size == 0) {
            cp.link = STORE_LINK_NONE;
        } else {
            cp.link = STORE_LINK_CONSISTENCY;
            cp.nproof = proof_load(prev.size, c.size, proof);
            cp.proof = (const uint8_t(*)[MERKLE_HASH_LEN])proof;
        }
        if (store_checkpoint_record(s, id, &cp, T0 + n) != 0) {
            fail_msg("checkpoint %u: %s", n, store_errmsg(s));
        }
        free(prev.note);
        prev = c;
    }
    free(prev.note);
    return id;
}

static struct store_signing
signing(uint64_t index, const char *rule, const char *repo, const char *verdict)
{
    struct store_signing g;

    memset(&g, 0, sizeof(g));
    g.log_index = index;
    g.shard_index = index;
    g.uuid = "00aa";
    g.kind = "hashedrekord";
    g.integrated_time = T0;
    g.cert_sha256 = "11bb";
    g.repository = repo;
    g.workflow_path = ".github/workflows/build-eif.yml";
    g.ref = "refs/heads/main";
    g.workflow_sha = "0123456789abcdef0123456789abcdef01234567";
    g.runner_environment = "github-hosted";
    g.trigger = "push";
    g.rule = rule;
    g.verdict = verdict;
    return g;
}

/* The rendering of a new alert; *body new (free()). */
static struct store_alert
alert(const char *type, const char *key, int64_t at, const char *rule,
      char **body)
{
    json_t *a = notify_alert_new(type, key, "a summary <b>bold</b>", at);
    struct store_alert sa;

    assert_non_null(a);
    *body = notify_alert_render(a);
    assert_non_null(*body);
    memset(&sa, 0, sizeof(sa));
    sa.id = strdup(notify_alert_get_id(a)); /* leaked into the body list */
    assert_non_null(sa.id);
    sa.type = notify_alert_type_find(type)->type;
    sa.severity = notify_alert_get_severity(a);
    sa.detected_at = at;
    sa.rule = rule;
    sa.body = *body;
    json_decref(a);
    return sa;
}

/* One batch [from, to) of the test log's leaves, committed at now. */
static void
commit(struct fx *f, const uint8_t (*leaves)[MERKLE_HASH_LEN], uint64_t from,
       uint64_t to, int64_t now, const struct store_signing *g, size_t ng,
       const struct store_alert *a, size_t na)
{
    struct merkle_range r;
    struct store_progress p;
    uint64_t i;

    merkle_range_init(&r);
    for (i = 0; i < to; i++) {
        assert_int_equal(merkle_range_append(&r, leaves[i]), MERKLE_OK);
    }
    memset(&p, 0, sizeof(p));
    p.from_index = from;
    p.to_index = to;
    p.range = &r;
    p.root_checks_passed = 1;
    p.signings = g;
    p.nsignings = ng;
    p.alerts = a;
    p.nalerts = na;
    if (store_commit_progress(f->s, f->log_id, &p, now, NULL) != 0) {
        fail_msg("commit %llu..%llu: %s", (unsigned long long)from,
                 (unsigned long long)to, store_errmsg(f->s));
    }
}

#define RULE_EVIL "evil|`rule"
#define REPO_EVIL "acme/<script>alert(1)</script>"

/*
 * The store of every test:
 *  - checkpoints 0..NCP at T0..T0+NCP;
 *  - batch [0, cp_sizes[4]) at T0+100: signings (enclave-app allowed,
 *    enclave-app unexpected), one critical signing.unexpected alert;
 *  - batch [cp_sizes[4], cp_sizes[NCP]) at T0+300: one allowed signing of
 *    RULE_EVIL / REPO_EVIL, one info signing.recorded alert;
 *  - a log.stale warning at T0+200 about the log, a monitor.test at
 *    T0+500 about no log.
 */
static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    uint8_t leaves[LEAVES_MAX][MERKLE_HASH_LEN];
    struct store_signing g1[2], g2[1];
    struct store_alert a1, a2, a3, a4;
    char *b1, *b2, *b3, *b4, err[STORE_ERRMSG_MAX];
    struct merkle_range empty;
    uint64_t mid, end;

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/tlw-report-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    f->s = store_open(f->path, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    if (f->s == NULL) {
        fail_msg("store_open: %s", err);
    }
    f->log_id = record_checkpoints(f->s);
    assert_true(leaves_load(leaves) >= cp_sizes[NCP]);
    mid = cp_sizes[4];
    end = cp_sizes[NCP];
    assert_true(mid >= 2 && end > mid);
    merkle_range_init(&empty);
    assert_int_equal(store_cursor_seed(f->s, f->log_id, 0, &empty, T0), 0);

    g1[0] = signing(0, "enclave-app", "acme/enclave-app", "allowed");
    g1[1] = signing(1, "enclave-app", "acme/enclave-app", "unexpected");
    a1 = alert("signing.unexpected", "k1", T0 + 100, "enclave-app", &b1);
    a1.has_index = 1;
    a1.log_index = 1;
    commit(f, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 0, mid, T0 + 100, g1,
           2, &a1, 1);
    g2[0] = signing(mid, RULE_EVIL, REPO_EVIL, "allowed");
    a2 = alert("signing.recorded", "k2", T0 + 300, RULE_EVIL, &b2);
    a2.has_index = 1;
    a2.log_index = mid;
    commit(f, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, mid, end, T0 + 300, g2,
           1, &a2, 1);
    a3 = alert("log.stale", "k3", T0 + 200, NULL, &b3);
    assert_int_equal(store_alert_record(f->s, f->log_id, &a3, NULL), 0);
    a4 = alert("monitor.test", "k4", T0 + 500, NULL, &b4);
    assert_int_equal(store_alert_record(f->s, 0, &a4, NULL), 0);
    assert_int_equal(store_log_success(f->s, f->log_id, T0 + 300), 0);
    assert_int_equal(store_log_error(f->s, f->log_id, T0 + 150, "boom <x>"), 0);
    free(b1);
    free(b2);
    free(b3);
    free(b4);
    free((char *)a1.id);
    free((char *)a2.id);
    free((char *)a3.id);
    free((char *)a4.id);
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    store_close(f->s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", f->dir);
    }
    free(f);
    return 0;
}

/* ---- helpers --------------------------------------------------------- */

static json_t *
report_doc(struct fx *f, int64_t since, int64_t until)
{
    char err[256];
    struct report *r =
        report_build(f->s, NULL, since, until, T0 + 1000, err, sizeof(err));
    char *text;
    json_t *doc;

    if (r == NULL) {
        fail_msg("report_build: %s", err);
    }
    text = report_render(r, REPORT_JSON);
    assert_non_null(text);
    doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    free(text);
    report_free(r);
    return doc;
}

static uint64_t
jint(json_t *o, const char *path)
{
    char buf[256], *tok, *save = NULL;
    json_t *v = o;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok != NULL;
         tok = strtok_r(NULL, ".", &save)) {
        v = json_object_get(v, tok);
    }
    if (!json_is_integer(v)) {
        fail_msg("%s is not an integer", path);
    }
    return (uint64_t)json_integer_value(v);
}

struct cmp {
    json_t *arr; /* the report's rows */
    const char *k1, *k2;
    size_t rows;
    size_t matched;
};

/* Each (key1, key2, count) of the store is in the report with that
 * count. */
static int
cmp_type_cb(void *arg, const char *type, const char *sev, uint64_t count)
{
    struct cmp *c = arg;
    size_t i;
    json_t *row;

    c->rows++;
    json_array_foreach(c->arr, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "type")), type) ==
                0 &&
            strcmp(json_string_value(json_object_get(row, "severity")), sev) ==
                0) {
            assert_int_equal(json_integer_value(json_object_get(row, "count")),
                             count);
            c->matched++;
        }
    }
    return 0;
}

static int
cmp_verdict_cb(void *arg, const char *rule, const char *verdict, uint64_t count)
{
    struct cmp *c = arg;
    size_t i;
    json_t *row;

    c->rows++;
    json_array_foreach(c->arr, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "name")), rule) ==
            0) {
            json_t *v =
                json_object_get(json_object_get(row, "verdicts"), verdict);

            assert_true(json_is_integer(v));
            assert_int_equal(json_integer_value(v), count);
            c->matched++;
        }
    }
    return 0;
}

/* Every count of the report equals the store's over [since, until). */
static void
check_counts(struct fx *f, json_t *doc, int64_t since, int64_t until)
{
    struct store_counts sc;
    struct store_log_status st;
    struct cmp c;
    json_t *log;

    assert_int_equal(store_counts(f->s, since, until, &sc), 0);
    assert_int_equal(jint(doc, "totals.alerts.info"), sc.alerts[NOTIFY_INFO]);
    assert_int_equal(jint(doc, "totals.alerts.warning"),
                     sc.alerts[NOTIFY_WARNING]);
    assert_int_equal(jint(doc, "totals.alerts.critical"),
                     sc.alerts[NOTIFY_CRITICAL]);
    assert_int_equal(jint(doc, "totals.signings"), sc.signings);
    assert_int_equal(jint(doc, "totals.checkpoints_verified"), sc.checkpoints);
    assert_int_equal(jint(doc, "totals.outbox.pending"),
                     sc.deliveries[STORE_DELIVERY_PENDING]);
    assert_int_equal(jint(doc, "totals.outbox.sent"),
                     sc.deliveries[STORE_DELIVERY_SENT]);
    assert_int_equal(jint(doc, "alerts_total"), sc.alerts[NOTIFY_INFO] +
                                                    sc.alerts[NOTIFY_WARNING] +
                                                    sc.alerts[NOTIFY_CRITICAL]);

    memset(&c, 0, sizeof(c));
    c.arr = json_object_get(doc, "alert_types");
    assert_int_equal(
        store_alert_counts_each(f->s, since, until, cmp_type_cb, &c), 0);
    assert_int_equal(c.matched, c.rows);
    assert_int_equal(json_array_size(c.arr), c.rows);

    memset(&c, 0, sizeof(c));
    c.arr = json_object_get(doc, "rules");
    assert_int_equal(
        store_signing_counts_each(f->s, since, until, cmp_verdict_cb, &c), 0);
    assert_int_equal(c.matched, c.rows);

    assert_int_equal(json_array_size(json_object_get(doc, "logs")), 1);
    log = json_array_get(json_object_get(doc, "logs"), 0);
    assert_int_equal(store_log_status(f->s, f->log_id, &st), 0);
    assert_int_equal(jint(log, "verified_size"), st.verified_size);
    assert_int_equal(jint(log, "cursor"), st.next_index);
    assert_int_equal(jint(log, "to_date.entries_scanned"), st.entries_scanned);
    assert_int_equal(jint(log, "to_date.root_checks_passed"),
                     st.root_checks_passed);
    assert_int_equal(jint(log, "to_date.consistency_proofs_verified"),
                     st.proofs_verified);
}

/* ---- tests ------------------------------------------------------------- */

/* The whole history: every count equals the store's, and the figures
 * the test put in. */
static void
test_counts_match_store(void **state)
{
    struct fx *f = *state;
    json_t *doc = report_doc(f, T0, T0 + 400);
    json_t *log = json_array_get(json_object_get(doc, "logs"), 0);

    check_counts(f, doc, T0, T0 + 400);
    /* What the fixture wrote (monitor.test at T0+500 is outside). */
    assert_int_equal(jint(doc, "totals.signings"), 3);
    assert_int_equal(jint(doc, "totals.alerts.critical"), 1);
    assert_int_equal(jint(doc, "totals.alerts.warning"), 1);
    assert_int_equal(jint(doc, "totals.alerts.info"), 1);
    assert_int_equal(jint(log, "period.checkpoints_verified"),
                     jint(doc, "totals.checkpoints_verified"));
    assert_int_equal(jint(log, "period.first_checkpoint.size"), cp_sizes[0]);
    assert_int_equal(jint(log, "period.last_checkpoint.size"), cp_sizes[NCP]);
    assert_int_equal(jint(log, "period.stale_alerts"), 1);
    assert_int_equal(jint(log, "period.alerts.warning"), 1);
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(log, "period"), "errors")),
                     1);
    assert_int_equal(jint(log, "lag"), 0);
    {
        json_t *chain =
                   json_object_get(json_object_get(log, "period"), "chain"),
               *k;
        size_t i, proofs = 0;
        uint64_t prev = 0;

        assert_int_equal(json_array_size(chain),
                         jint(log, "period.checkpoints_verified"));
        json_array_foreach(chain, i, k)
        {
            assert_int_equal(jint(k, "size"), cp_sizes[i]);
            if (json_object_get(k, "proof") != NULL) {
                proofs++;
                assert_int_equal(jint(k, "prev_size"), prev);
            }
            prev = jint(k, "size");
        }
        assert_int_equal(proofs,
                         jint(log, "period.consistency_proofs_verified"));
        assert_true(proofs > 0);
        assert_true(json_is_true(
            json_object_get(json_object_get(log, "period"), "chain_complete")));
    }
    json_decref(doc);
}

/* Twin: a period after everything counts nothing, and a period that
 * holds only the second batch counts only it. */
static void
test_counts_outside_period(void **state)
{
    struct fx *f = *state;
    json_t *doc = report_doc(f, T0 + 1000, T0 + 2000), *log;

    check_counts(f, doc, T0 + 1000, T0 + 2000);
    assert_int_equal(jint(doc, "totals.signings"), 0);
    assert_int_equal(jint(doc, "totals.checkpoints_verified"), 0);
    assert_int_equal(jint(doc, "alerts_total"), 0);
    log = json_array_get(json_object_get(doc, "logs"), 0);
    assert_true(json_is_null(
        json_object_get(json_object_get(log, "period"), "first_checkpoint")));
    json_decref(doc);

    doc = report_doc(f, T0 + 250, T0 + 400);
    check_counts(f, doc, T0 + 250, T0 + 400);
    assert_int_equal(jint(doc, "totals.signings"), 1);
    assert_int_equal(jint(doc, "totals.alerts.critical"), 0);
    assert_int_equal(jint(doc, "totals.alerts.info"), 1);
    json_decref(doc);

    /* Only the monitor.test alert, about no log. */
    doc = report_doc(f, T0 + 500, T0 + 501);
    check_counts(f, doc, T0 + 500, T0 + 501);
    assert_int_equal(jint(doc, "alerts_total"), 1);
    json_decref(doc);
}

/* Render r in format f; new text. */
static char *
render_period(struct fx *f, int64_t since, int64_t until,
              enum report_format fmt, struct report **out)
{
    char err[256];
    struct report *r =
        report_build(f->s, NULL, since, until, T0 + 1000, err, sizeof(err));
    char *text;

    if (r == NULL) {
        fail_msg("report_build: %s", err);
    }
    text = report_render(r, fmt);
    assert_non_null(text);
    if (out != NULL) {
        *out = r;
    } else {
        report_free(r);
    }
    return text;
}

static uint64_t
bins_sum(const uint64_t *v)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < REPORT_CHART_BINS; i++) {
        n += v[i];
    }
    return n;
}

/* The signing enclave-app #0 of the fixture, in the JSON report. */
static json_t *
json_signing0(json_t *doc)
{
    json_t *ru, *g;
    size_t i, j;

    json_array_foreach(json_object_get(doc, "rules"), i, ru)
    {
        if (strcmp(json_string_value(json_object_get(ru, "name")),
                   "enclave-app") != 0) {
            continue;
        }
        json_array_foreach(json_object_get(ru, "recent_signings"), j, g)
        {
            if (jint(g, "log_index") == 0) {
                return g;
            }
        }
    }
    fail_msg("no signing #0");
    return NULL;
}

/*
 * Issue 12: the policy allowed enclave-app #0; a critical
 * signing.unknown_pcrs about that entry, learned later, makes it not
 * allowed in all three formats: the verdict column (not green), the
 * rule's counts, the chart's bins.  The twin: before that alert, it is
 * allowed everywhere.
 */
static void
test_effective_verdict(void **state)
{
    struct fx *f = *state;
    struct store_alert a;
    struct report *r;
    char *body, *md, *html, *js;
    json_t *doc, *g, *ru;

    /* The twin first: allowed. */
    js = render_period(f, T0, T0 + 400, REPORT_JSON, &r);
    assert_int_equal(bins_sum(r->bins_allowed), 2);
    assert_int_equal(bins_sum(r->bins_other), 1);
    report_free(r);
    doc = json_loads(js, 0, NULL);
    assert_non_null(doc);
    g = json_signing0(doc);
    assert_string_equal(json_string_value(json_object_get(g, "verdict")),
                        "allowed");
    assert_true(json_is_true(json_object_get(g, "allowed")));
    json_decref(doc);
    free(js);
    html = render_period(f, T0, T0 + 400, REPORT_HTML, NULL);
    assert_non_null(strstr(html, "<td class=\"v-allowed\">allowed</td>"));
    assert_non_null(strstr(html, "v-allowed\">1 allowed"));
    free(html);

    a = alert("signing.unknown_pcrs", "u0", T0 + 350, "enclave-app", &body);
    a.has_index = 1;
    a.log_index = 0;
    assert_int_equal(store_alert_record(f->s, f->log_id, &a, NULL), 0);
    free(body);
    free((char *)a.id);

    js = render_period(f, T0, T0 + 400, REPORT_JSON, &r);
    assert_int_equal(bins_sum(r->bins_allowed), 1); /* RULE_EVIL's only */
    assert_int_equal(bins_sum(r->bins_other), 2);
    report_free(r);
    doc = json_loads(js, 0, NULL);
    assert_non_null(doc);
    g = json_signing0(doc);
    assert_string_equal(json_string_value(json_object_get(g, "verdict")),
                        "unknown_pcrs");
    assert_string_equal(json_string_value(json_object_get(g, "policy_verdict")),
                        "allowed");
    assert_true(json_is_false(json_object_get(g, "allowed")));
    ru = json_array_get(json_object_get(doc, "rules"), 0);
    assert_string_equal(json_string_value(json_object_get(ru, "name")),
                        "enclave-app");
    assert_null(json_object_get(json_object_get(ru, "verdicts"), "allowed"));
    assert_int_equal(jint(ru, "verdicts.unknown_pcrs"), 1);
    assert_int_equal(jint(ru, "verdicts.unexpected"), 1);
    assert_int_equal(jint(ru, "signings"), 2);
    json_decref(doc);
    free(js);

    md = render_period(f, T0, T0 + 400, REPORT_MD, NULL);
    assert_non_null(strstr(md, "| `unknown_pcrs` (policy `allowed`) |"));
    assert_non_null(
        strstr(md, "2 signings (1 `unexpected`, 1 `unknown_pcrs`)"));
    free(md);

    html = render_period(f, T0, T0 + 400, REPORT_HTML, NULL);
    assert_non_null(strstr(html, "<td class=\"v-other\">unknown_pcrs"));
    /* enclave-app's counts hold no allowed signing any more. */
    assert_null(strstr(html, "v-allowed\">1 allowed</span>, <span "
                             "class=\"v-other\">1 unexpected"));
    assert_non_null(strstr(html, "v-other\">1 unknown_pcrs"));
    free(html);
}

/* "Log alerts" count log.* alerts only; log.inconsistent's conflicting
 * notes are shown in every format. */
static void
test_log_alerts_and_evidence(void **state)
{
    struct fx *f = *state;
    struct store_alert a;
    json_t *al, *ev, *doc, *log;
    struct tcp c1, c2;
    char *body, *html, *md, *js;

    /* The fixture's critical signing.unexpected is about the log's entry
     * #1 but is not a log alert. */
    doc = report_doc(f, T0, T0 + 400);
    log = json_array_get(json_object_get(doc, "logs"), 0);
    assert_int_equal(jint(log, "period.alerts.critical"), 0);
    assert_int_equal(jint(log, "period.alerts.warning"), 1);
    json_decref(doc);

    tcp_load(1, &c1);
    tcp_load(2, &c2);
    al = notify_alert_new("log.inconsistent", "fork", "two roots", T0 + 390);
    assert_non_null(al);
    ev = json_pack("{s:s,s:s}", "old_checkpoint", c1.note, "new_checkpoint",
                   c2.note);
    assert_int_equal(notify_alert_set(al, "evidence", ev), 0);
    body = notify_alert_render(al);
    assert_non_null(body);
    memset(&a, 0, sizeof(a));
    a.id = notify_alert_get_id(al);
    a.type = "log.inconsistent";
    a.severity = notify_alert_get_severity(al);
    a.detected_at = T0 + 390;
    a.body = body;
    assert_int_equal(store_alert_record(f->s, f->log_id, &a, NULL), 0);
    free(body);
    json_decref(al);

    doc = report_doc(f, T0, T0 + 400);
    log = json_array_get(json_object_get(doc, "logs"), 0);
    assert_int_equal(jint(log, "period.alerts.critical"), 1);
    ev = json_object_get(json_object_get(log, "period"), "evidence");
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0),
                                                          "new_checkpoint")),
                        c2.note);
    json_decref(doc);

    html = render_period(f, T0, T0 + 400, REPORT_HTML, NULL);
    assert_non_null(strstr(html, "Conflicting checkpoints"));
    {
        /* Both notes' root lines are in the page. */
        char *l1 = strchr(c1.note, '\n') + 1, *l2 = strchr(c2.note, '\n') + 1;
        char r1[128], r2[128];

        l1 = strchr(l1, '\n') + 1;
        l2 = strchr(l2, '\n') + 1;
        snprintf(r1, sizeof(r1), "%.*s", (int)(strchr(l1, '\n') - l1), l1);
        snprintf(r2, sizeof(r2), "%.*s", (int)(strchr(l2, '\n') - l2), l2);
        assert_string_not_equal(r1, r2);
        assert_non_null(strstr(html, r2));
        md = render_period(f, T0, T0 + 400, REPORT_MD, NULL);
        assert_non_null(strstr(md, "Conflicting checkpoints"));
        assert_non_null(strstr(md, r2));
        free(md);
    }
    free(html);
    js = render_period(f, T0, T0 + 400, REPORT_JSON, NULL);
    free(js);
    free(c1.note);
    free(c2.note);
}

/*
 * A configured log never reached (no shard row): every format names it
 * with the errors the daemon recorded by name in the period; the twin,
 * the followed log "tessera", is not listed as unreached.
 */
static void
test_unreached_log(void **state)
{
    static const char text[] = "state: /nonexistent/state.db\n"
                               "logs:\n"
                               "  - name: tessera\n"
                               "    url: https://tessera.example\n"
                               "  - name: offline\n"
                               "    url: https://offline.example\n";
    struct fx *f = *state;
    struct config_errors *errs = NULL;
    struct config *cfg = config_load_mem(text, strlen(text), "t.yaml", &errs);
    struct report *r;
    char err[256], *md, *html, *js;
    json_t *doc, *u;

    assert_non_null(cfg);
    assert_int_equal(
        store_name_error(f->s, "offline", T0 + 10, "Could not connect <x>"), 0);
    assert_int_equal(store_name_error(f->s, "offline", T0 + 900, "later"), 0);
    r = report_build(f->s, cfg, T0, T0 + 400, T0 + 1000, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(r->nunreached, 1);
    md = report_render(r, REPORT_MD);
    html = report_render(r, REPORT_HTML);
    js = report_render(r, REPORT_JSON);
    assert_non_null(md);
    assert_non_null(html);
    assert_non_null(js);
    assert_non_null(strstr(md, "### Log `offline` (`https://offline.example`): "
                               "never reached, no verified checkpoint; 1 "
                               "error in the period"));
    assert_non_null(strstr(md, "`Could not connect <x>`"));
    assert_null(strstr(md, "later")); /* outside the period */
    assert_non_null(strstr(html, "Never reached"));
    assert_non_null(strstr(html, "Could not connect &lt;x&gt;"));
    doc = json_loads(js, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "unreached_logs")),
                     1);
    u = json_array_get(json_object_get(doc, "unreached_logs"), 0);
    assert_string_equal(json_string_value(json_object_get(u, "name")),
                        "offline");
    assert_int_equal(json_array_size(json_object_get(u, "errors")), 1);
    json_decref(doc);
    free(md);
    free(html);
    free(js);
    report_free(r);
    config_free(cfg);
}

/* An empty or inverted period is refused. */
static void
test_bad_period(void **state)
{
    struct fx *f = *state;
    char err[256] = "";

    assert_null(report_build(f->s, NULL, T0, T0, T0, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_null(report_build(f->s, NULL, T0 + 1, T0, T0, err, sizeof(err)));
}

static char *
render(struct fx *f, enum report_format fmt)
{
    char err[256];
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));
    char *text;

    assert_non_null(r);
    text = report_render(r, fmt);
    assert_non_null(text);
    report_free(r);
    return text;
}

/* Untrusted strings are escaped; the page loads nothing. */
static void
test_html_escaped_self_contained(void **state)
{
    struct fx *f = *state;
    char *html = render(f, REPORT_HTML);

    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>bold</b>"));
    assert_non_null(strstr(html, "a summary &lt;b&gt;bold&lt;/b&gt;"));
    assert_non_null(strstr(html, "boom &lt;x&gt;"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url("));
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "class=\"tree\""));
    assert_non_null(strstr(html, "</html>"));
    free(html);
}

/* Twin of the above: the same rendering without the hostile rule does
 * not contain the escaped text (the check above can fail). */
static void
test_html_escape_twin(void **state)
{
    struct fx *f = *state;
    char err[256], *html;
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 200, T0 + 1000, err, sizeof(err));

    assert_non_null(r);
    html = report_render(r, REPORT_HTML);
    assert_non_null(html);
    assert_null(strstr(html, "&lt;script&gt;"));
    assert_non_null(strstr(html, "enclave-app"));
    free(html);
    report_free(r);
}

static void
test_markdown(void **state)
{
    struct fx *f = *state;
    char *md = render(f, REPORT_MD);
    char *p;

    assert_non_null(strstr(md, "# tlogwatch consistency report"));
    /* The rule name's '|' cannot split a table cell, '`' cannot end the
     * code span. */
    assert_non_null(strstr(md, "`evil\\|'rule`"));
    assert_null(strstr(md, "evil|"));
    /* Every note sits in a fence; a fence is closed. */
    p = strstr(md, "```text\n");
    assert_non_null(p);
    assert_non_null(strstr(p + 8, "```\n"));
    free(md);
}

static void
test_summary_and_formats(void **state)
{
    struct fx *f = *state;
    char err[256], sum[1024];
    enum report_format fmt;
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));

    assert_non_null(r);
    report_summary(r, sum, sizeof(sum));
    assert_non_null(strstr(sum, "1 critical, 1 warning, 1 info alerts"));
    assert_non_null(strstr(sum, "3 signings"));
    report_summary(r, sum, 16); /* truncated, still terminated */
    assert_int_equal(strlen(sum), 15);
    report_free(r);

    assert_int_equal(report_format_parse("html", &fmt), 0);
    assert_int_equal(fmt, REPORT_HTML);
    assert_string_equal(report_format_name(fmt), "html");
    assert_int_equal(report_format_parse("json", &fmt), 0);
    assert_int_equal(report_format_parse("md", &fmt), 0);
    assert_int_equal(report_format_parse("pdf", &fmt), -1);
    assert_int_equal(report_format_parse("", &fmt), -1);
    assert_int_equal(report_format_parse("HTML", &fmt), -1);
    report_free(NULL);
}

/* The periodic report's files: three formats, named by the period's end,
 * written whole (no temporary left), the JSON equal to the rendering. */
static void
test_write_files(void **state)
{
    struct fx *f = *state;
    char err[256], dir[256], want[64], *paths[3] = {NULL, NULL, NULL};
    char *js, *text;
    time_t until = T0 + 400;
    struct tm tm;
    struct stat sb;
    size_t i;
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));

    assert_non_null(r);
    assert_non_null(gmtime_r(&until, &tm));
    assert_true(strftime(want, sizeof(want), "report-%Y%m%dT%H%M%SZ", &tm) > 0);
    snprintf(dir, sizeof(dir), "%s/reports", f->dir);
    if (report_write_files(r, dir, paths, err, sizeof(err)) != 0) {
        fail_msg("report_write_files: %s", err);
    }
    for (i = 0; i < 3; i++) {
        char tmp[512];

        assert_non_null(paths[i]);
        assert_non_null(strstr(paths[i], want));
        assert_int_equal(stat(paths[i], &sb), 0);
        assert_true(sb.st_size > 0);
        snprintf(tmp, sizeof(tmp), "%s.tmp", paths[i]);
        assert_int_not_equal(stat(tmp, &sb), 0);
    }
    assert_non_null(strstr(paths[1], ".json"));
    js = report_render(r, REPORT_JSON);
    text = NULL;
    {
        FILE *fp = fopen(paths[1], "rb");
        long n;

        assert_non_null(fp);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        n = ftell(fp);
        assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
        text = calloc(1, (size_t)n + 1);
        assert_non_null(text);
        assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
    }
    assert_string_equal(text, js);
    free(text);
    free(js);
    for (i = 0; i < 3; i++) {
        free(paths[i]);
    }
    report_free(r);
}

/* Twin: a directory that cannot be made or written to is an error with a
 * message, and no path is returned. */
static void
test_write_files_refused(void **state)
{
    struct fx *f = *state;
    char err[256], dir[256], *paths[3] = {NULL, NULL, NULL};
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));
    FILE *fp;

    assert_non_null(r);
    snprintf(dir, sizeof(dir), "%s/no/such/parent", f->dir);
    err[0] = '\0';
    assert_int_equal(report_write_files(r, dir, paths, err, sizeof(err)), -1);
    assert_non_null(strstr(err, dir));
    assert_null(paths[0]);
    /* A regular file where the directory should be. */
    snprintf(dir, sizeof(dir), "%s/afile", f->dir);
    fp = fopen(dir, "w");
    assert_non_null(fp);
    fclose(fp);
    err[0] = '\0';
    assert_int_equal(report_write_files(r, dir, paths, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assert_null(paths[0]);
    assert_null(paths[2]);
    report_free(r);
}

/* Period counters: from the counters of the report before, the entries
 * scanned and root checks made since; twins: no baseline, a malformed
 * one, one larger than the counters now (another state file). */
static void
test_baseline(void **state)
{
    struct fx *f = *state;
    char err[256], big[128], *counters;
    struct store_log_status st;
    struct report *r =
        report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));

    assert_non_null(r);
    assert_int_equal(store_log_status(f->s, f->log_id, &st), 0);
    assert_true(st.entries_scanned > 0);
    assert_false(r->logs[0].has_period_counts);
    counters = report_counters(r);
    assert_non_null(counters);
    /* Nothing happened since: 0 and 0. */
    assert_int_equal(report_set_baseline(r, counters), 0);
    assert_true(r->logs[0].has_period_counts);
    assert_int_equal(r->logs[0].scanned_period, 0);
    assert_int_equal(r->logs[0].root_checks_period, 0);
    /* A log absent from the baseline counts from 0. */
    assert_int_equal(report_set_baseline(r, "{}"), 0);
    assert_int_equal(r->logs[0].scanned_period, st.entries_scanned);
    assert_int_equal(r->logs[0].root_checks_period, st.root_checks_passed);
    free(counters);
    report_free(r);

    r = report_build(f->s, NULL, T0, T0 + 400, T0 + 1000, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(report_set_baseline(r, "[1,2"), -1);
    assert_false(r->logs[0].has_period_counts);
    snprintf(big, sizeof(big), "{\"%lld\": [%llu, 0]}", (long long)f->log_id,
             (unsigned long long)st.entries_scanned + 1);
    assert_int_equal(report_set_baseline(r, big), 0);
    assert_false(r->logs[0].has_period_counts);
    snprintf(big, sizeof(big), "{\"%lld\": \"x\"}", (long long)f->log_id);
    assert_int_equal(report_set_baseline(r, big), 0);
    assert_false(r->logs[0].has_period_counts);
    report_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_match_store, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_counts_outside_period, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_period, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_effective_verdict, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_alerts_and_evidence, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_unreached_log, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_html_escaped_self_contained,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_html_escape_twin, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_markdown, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_summary_and_formats, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_files, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_baseline, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_write_files_refused, fx_setup,
                                        fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
