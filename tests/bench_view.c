/*
 * bench_view.c: what one read of the status document costs on a store
 * that has run for a long time (the status server builds it for every
 * /api/v1/status, /readyz and /metrics request).
 *
 * Usage: bench_view [ALERTS] [DIR]   (default 100,000 alerts; a fresh
 * state file in DIR, default $TMPDIR or /tmp, removed afterwards).  The
 * store gets one log with a verified cursor, ALERTS alerts spread over 30
 * days with one delivery each (all sent but the last 100: pending): an
 * info signing.recorded with a watched signing for every tenth entry, a
 * warning for the others; recent errors and history samples.  Then it times
 * view_status_json() (mean and max over 50 reads; the document includes
 * the all-time alert counts by type and severity and the pending PCR
 * lookups that /metrics reads from it) and prints the document's size
 * (BENCH_KEEP=1 keeps the state file).  A CT log holds ALERTS / 10
 * certificates of the rule (the document counts them by state and lists
 * the newest): half logged by a signing's link id, a tenth fired
 * unlogged (one alert each), the rest pending.  A benchmark never fails; it
 * exits 1 only when the store does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/store/store.h"
#include "monitor/view/view.h"
#include "notify/alert.h"

#define T0 1700000000
#define READS 50
#define BATCH 1000

static const char cfg_text[] = "state: /nonexistent/state.db\n"
                               "logs:\n"
                               "  - name: rekor\n"
                               "    url: https://rekor.example\n"
                               "watch:\n"
                               "  - name: app\n"
                               "    repository: acme/enclave-app\n"
                               "notify:\n"
                               "  - {name: hook, type: webhook, url: "
                               "\"https://hooks.example/in\"}\n";

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fail(struct store *s, const char *what)
{
    fprintf(stderr, "bench_view: %s: %s\n", what, store_errmsg(s));
    return -1;
}

/* Record alerts [from, to) ahead of the cursor, every tenth with a
 * signing; alert i at T0 + i * span / n. */
static int
fill(struct store *s, int64_t log_id, uint64_t from, uint64_t to, uint64_t n)
{
    static struct store_alert a[BATCH];
    static struct store_signing g[BATCH];
    static char ids[BATCH][NOTIFY_ALERT_ID_LEN + 1];
    static char links[BATCH][32];
    static const char body[] = "{\"summary\":\"bench\"}";
    const char *sinks[] = {"hook"};
    size_t na = 0, ng = 0;
    uint64_t i;

    for (i = from; i < to; i++) {
        int signing = i % 10 == 0;
        char key[32];

        snprintf(key, sizeof(key), "%" PRIu64, i);
        notify_alert_id(signing ? "signing.recorded" : "signing.impostor", key,
                        ids[na]);
        memset(&a[na], 0, sizeof(a[na]));
        a[na].id = ids[na];
        a[na].type = signing ? "signing.recorded" : "signing.impostor";
        a[na].severity = signing ? NOTIFY_INFO : NOTIFY_WARNING;
        a[na].detected_at = T0 + (int64_t)(i * 30 * 86400 / n);
        a[na].has_index = 1;
        a[na].log_index = i;
        a[na].rule = "app";
        a[na].body = body;
        a[na].sinks = sinks;
        a[na].nsinks = 1;
        na++;
        if (signing) {
            memset(&g[ng], 0, sizeof(g[ng]));
            g[ng].log_index = i;
            g[ng].shard_index = i;
            g[ng].uuid = "00aa";
            g[ng].cert_sha256 = "11bb";
            g[ng].repository = "acme/enclave-app";
            g[ng].workflow_sha = "0123456789abcdef0123456789abcdef01234567";
            g[ng].rule = "app";
            g[ng].verdict = "allowed";
            snprintf(links[ng], sizeof(links[ng]), "L%" PRIu64, i);
            g[ng].link_id = links[ng];
            ng++;
        }
    }
    if (store_record_ahead(s, log_id, a, na, g, ng, T0, NULL) != 0) {
        return fail(s, "record");
    }
    return 0;
}

/* The CT leaf of certificate j (any distinct bytes). */
static void
ct_leaf(uint64_t j, uint8_t leaf[MERKLE_HASH_LEN])
{
    memset(leaf, 0, MERKLE_HASH_LEN);
    memcpy(leaf, &j, sizeof(j));
}

/* m certificates of rule app in CT log "ct" (see the top), committed in
 * batches up to one verified checkpoint of size m. */
static int
fill_ct(struct store *s, uint64_t m)
{
    static struct store_ct_cert c[BATCH];
    static char links[BATCH][32];
    static const char alert[] =
        "{\"schema\":\"tlogwatch.alert/v1\",\"id\":\"x\",\"identity\":{"
        "\"repository\":\"acme/enclave-app\",\"workflow_sha\":"
        "\"0123456789abcdef0123456789abcdef01234567\"}}";
    static const char body[] = "{\"summary\":\"unlogged\"}";
    uint8_t leaf[MERKLE_HASH_LEN];
    struct store_checkpoint cp;
    struct store_progress p;
    struct merkle_range r;
    int64_t ct_id;
    uint64_t j, from;
    size_t nc;

    merkle_range_init(&r);
    if (store_log_open(s, "ct", "ct.example/2026", T0, &ct_id) != 0 ||
        store_cursor_seed(s, ct_id, 0, &r, T0) != 0) {
        return fail(s, "ct log");
    }
    for (j = 0; j < m; j++) {
        ct_leaf(j, leaf);
        if (merkle_range_append(&r, leaf) != MERKLE_OK) {
            return fail(s, "range");
        }
    }
    memset(&cp, 0, sizeof(cp));
    cp.note = "ct.example/2026\n";
    cp.note_len = strlen(cp.note);
    cp.size = m;
    merkle_range_root(&r, cp.root);
    cp.link = STORE_LINK_NONE;
    if (store_checkpoint_record(s, ct_id, &cp, T0) != 0) {
        return fail(s, "ct checkpoint");
    }
    merkle_range_init(&r);
    for (from = 0; from < m; from += BATCH) {
        nc = 0;
        for (j = from; j < m && j < from + BATCH; j++, nc++) {
            ct_leaf(j, leaf);
            (void)merkle_range_append(&r, leaf);
            snprintf(links[nc], sizeof(links[nc]), "%s%" PRIu64,
                     j % 2 == 0 ? "L" : "C", j % 2 == 0 ? 10 * j : j);
            memset(&c[nc], 0, sizeof(c[nc]));
            c[nc].link_id = links[nc];
            c[nc].rule = "app";
            c[nc].log_index = j;
            c[nc].leaf_hash = "1eaf";
            c[nc].entry_type = "precert";
            c[nc].cert_sha256 = "ce27";
            c[nc].not_before = T0 + (int64_t)j;
            c[nc].deadline = T0 + (int64_t)j + 1800;
            c[nc].verdict = "allowed";
            c[nc].alert = alert;
        }
        memset(&p, 0, sizeof(p));
        p.from_index = from;
        p.to_index = j;
        p.range = &r;
        p.ct_certs = c;
        p.nct_certs = nc;
        if (store_commit_progress(s, ct_id, &p, T0 + 10 + (int64_t)from,
                                  NULL) != 0) {
            return fail(s, "ct commit");
        }
    }
    for (j = 1; j < m; j += 10) {
        struct store_alert a;
        char id[32], link[32];
        int fired;

        snprintf(id, sizeof(id), "unlogged-%" PRIu64, j);
        snprintf(link, sizeof(link), "C%" PRIu64, j);
        memset(&a, 0, sizeof(a));
        a.id = id;
        a.type = "signing.unlogged_certificate";
        a.severity = NOTIFY_WARNING;
        a.detected_at = T0 + (int64_t)j + 1800;
        a.has_index = 1;
        a.log_index = j;
        a.rule = "app";
        a.body = body;
        if (store_ct_cert_fire(s, link, "app", ct_id, &a, &fired) != 0) {
            return fail(s, "fire");
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000;
    const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
    struct config_errors *errs = NULL;
    struct config *cfg;
    struct merkle_range empty;
    struct store *s;
    char path[1024], err[STORE_ERRMSG_MAX], *text;
    double t, sum = 0, max = 0;
    int64_t log_id;
    uint64_t i;
    json_t *doc = NULL;
    int k, rc = 1;

    if (n < 1000) {
        n = 1000;
    }
    snprintf(path, sizeof(path), "%s/bench-view-%d.db", dir ? dir : "/tmp",
             (int)getpid());
    cfg = config_load_mem(cfg_text, strlen(cfg_text), "bench", &errs);
    s = store_open(path, STORE_OPEN_SYNC_NORMAL, err, sizeof(err));
    if (cfg == NULL || s == NULL) {
        fprintf(stderr, "bench_view: cannot set up: %s\n", err);
        return 1;
    }
    merkle_range_init(&empty);
    if (store_log_open(s, "rekor", "rekor.example - 1", T0, &log_id) != 0 ||
        store_cursor_seed(s, log_id, 0, &empty, T0) != 0) {
        fail(s, "log");
        goto out;
    }
    t = now_s();
    for (i = 0; i < n; i += BATCH) {
        if (fill(s, log_id, i, i + BATCH < n ? i + BATCH : n, n) != 0) {
            goto out;
        }
    }
    /* Sent, all but the newest 100 (one transaction per delivery, as
     * the outbox does). */
    for (i = 0; i + 100 < n; i++) {
        char id[NOTIFY_ALERT_ID_LEN + 1], key[32];

        snprintf(key, sizeof(key), "%" PRIu64, i);
        notify_alert_id(i % 10 == 0 ? "signing.recorded" : "signing.impostor",
                        key, id);
        if (store_delivery_sent(s, id, "hook", T0 + 1) != 0) {
            fail(s, "sent");
            goto out;
        }
    }
    for (i = 0; i < 40; i++) {
        if (store_log_error(s, log_id, T0 + (int64_t)i, "boom") != 0 ||
            store_log_success(s, log_id,
                              T0 + (int64_t)i * STORE_HISTORY_EVERY) != 0) {
            fail(s, "errors");
            goto out;
        }
    }
    if (fill_ct(s, n / 10) != 0) {
        goto out;
    }
    printf("filled %" PRIu64 " alerts, %" PRIu64 " signings, %" PRIu64
           " deliveries, %" PRIu64 " CT certificates in %.1f s\n",
           n, n / 10, n, n / 10, now_s() - t);
    for (k = 0; k < READS; k++) {
        double d;

        json_decref(doc);
        t = now_s();
        doc = view_status_json(s, cfg, T0 + 30 * 86400, err, sizeof(err));
        d = now_s() - t;
        if (doc == NULL) {
            fprintf(stderr, "bench_view: %s\n", err);
            goto out;
        }
        sum += d;
        if (d > max) {
            max = d;
        }
    }
    /* The document holds what /metrics reads of the store (every alert
     * counted by type and severity, the pending lookups): it must count
     * them all. */
    {
        const json_t *row;
        uint64_t total = 0;
        size_t j;

        json_array_foreach(
            json_object_get(json_object_get(doc, "alerts"), "by_type"), j, row)
        {
            total +=
                (uint64_t)json_integer_value(json_object_get(row, "count"));
        }
        const json_t *rule = json_array_get(json_object_get(doc, "rules"), 0);
        const json_t *cc = json_object_get(rule, "ct_counts");

        printf("document: alerts.by_type counts %" PRIu64
               " alerts, pcr_lookups_pending %" PRIu64 "\n",
               total,
               (uint64_t)json_integer_value(
                   json_object_get(doc, "pcr_lookups_pending")));
        printf("document: CT certificates %" PRIu64 " pending, %" PRIu64
               " logged, %" PRIu64 " unlogged; %zu listed\n",
               (uint64_t)json_integer_value(json_object_get(cc, "pending")),
               (uint64_t)json_integer_value(json_object_get(cc, "logged")),
               (uint64_t)json_integer_value(json_object_get(cc, "unlogged")),
               json_array_size(json_object_get(rule, "ct_certificates")));
    }
    text = json_dumps(doc, 0);
    printf("view_status_json: mean %.2f ms, max %.2f ms over %d reads; "
           "document %zu bytes\n",
           sum * 1000 / READS, max * 1000, READS,
           text != NULL ? strlen(text) : 0);
    free(text);
    rc = 0;
out:
    json_decref(doc);
    store_close(s);
    config_free(cfg);
    if (getenv("BENCH_KEEP") != NULL) {
        printf("kept %s\n", path);
        return rc;
    }
    unlink(path);
    {
        char p[1100];

        snprintf(p, sizeof(p), "%s-wal", path);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", path);
        unlink(p);
    }
    return rc;
}
