/*
 * bench_store.c: how much store_commit_progress costs the follower.
 *
 * Usage: bench_store [DIR]   (a fresh state file in DIR, default $TMPDIR
 * or /tmp, removed afterwards).  For synchronous=FULL (the default) and
 * NORMAL, it times progress commits of 5,000-entry batches carrying 3
 * alerts (2 sinks each) and 1 signing, as in catch-up, and of 1-entry
 * batches, as when idle; each commit's batch ends on a verified checkpoint
 * size only at the very end (one root check).  Only the commit calls are
 * timed: leaf hashing and the compact range are the follower's work.
 * Prints commits/s, entries/s and mean / max milliseconds per commit.
 * A benchmark never fails; it exits 1 only when the store does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "merkle/merkle.h"
#include "monitor/store/store.h"

#define BIG_BATCH 5000
#define BIG_COMMITS 100
#define SMALL_COMMITS 2000
#define ALERTS_PER_BIG 3

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
leaf(uint64_t i, uint8_t out[MERKLE_HASH_LEN])
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "bench-%" PRIu64, i);

    merkle_leaf_hash((const uint8_t *)buf, (size_t)n, out);
}

static void
rm_state(const char *path)
{
    char p[1100];

    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* Run one scenario; returns 0 or -1 (store error printed). */
static int
run(const char *path, unsigned flags, const char *label, uint64_t batch,
    unsigned commits, unsigned alerts_per_commit)
{
    static const char *sinks[] = {"slack", "siem"};
    static const char body[] =
        "{\"schema\":\"tlogwatch.alert/v1\",\"type\":\"signing.recorded\","
        "\"summary\":\"a watched signing that the policy allows\"}";
    struct store_alert al[8];
    struct store_signing sg;
    struct store_checkpoint cp;
    struct store_progress p;
    struct merkle_range r;
    uint8_t h[MERKLE_HASH_LEN];
    char ids[8][48], err[512];
    uint64_t total = batch * commits, i, next = 0;
    double t, spent = 0, worst = 0;
    struct store *s;
    struct stat sb;
    int64_t id;
    unsigned c, k;

    rm_state(path);
    s = store_open(path, flags, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "bench_store: %s\n", err);
        return -1;
    }
    /* The verified checkpoint the run ends on. */
    merkle_range_init(&r);
    for (i = 0; i < total; i++) {
        leaf(i, h);
        merkle_range_append(&r, h);
    }
    memset(&cp, 0, sizeof(cp));
    cp.note = "bench\n";
    cp.note_len = strlen(cp.note);
    cp.size = total;
    merkle_range_root(&r, cp.root);
    merkle_range_init(&r);
    if (store_log_open(s, "bench", "bench origin", 1, &id) != 0 ||
        store_checkpoint_record(s, id, &cp, 1) != 0 ||
        store_cursor_seed(s, id, 0, &r, 1) != 0) {
        goto fail;
    }
    for (c = 0; c < commits; c++) {
        double dt;

        for (i = 0; i < batch; i++) {
            leaf(next + i, h);
            merkle_range_append(&r, h);
        }
        memset(&p, 0, sizeof(p));
        p.from_index = next;
        p.to_index = next + batch;
        p.range = &r;
        memset(al, 0, sizeof(al));
        for (k = 0; k < alerts_per_commit; k++) {
            snprintf(ids[k], sizeof(ids[k]), "%s-%u-%u", label, c, k);
            al[k].id = ids[k];
            al[k].type = "signing.recorded";
            al[k].severity = NOTIFY_INFO;
            al[k].detected_at = 1000 + c;
            al[k].has_index = 1;
            al[k].log_index = next + k;
            al[k].rule = "app";
            al[k].body = body;
            al[k].sinks = sinks;
            al[k].nsinks = 2;
        }
        p.alerts = al;
        p.nalerts = alerts_per_commit;
        memset(&sg, 0, sizeof(sg));
        sg.log_index = next;
        sg.shard_index = next;
        sg.uuid = ids[0];
        sg.cert_sha256 = "00";
        sg.rule = "app";
        sg.verdict = "allowed";
        sg.repository = "acme/app";
        p.signings = &sg;
        p.nsignings = alerts_per_commit > 0 ? 1 : 0;
        t = now_s();
        if (store_commit_progress(s, id, &p, 1000 + c, NULL) != 0) {
            goto fail;
        }
        dt = now_s() - t;
        spent += dt;
        if (dt > worst) {
            worst = dt;
        }
        next += batch;
    }
    store_close(s);
    if (stat(path, &sb) != 0) {
        sb.st_size = 0;
    }
    printf("%-28s %6u commits of %5" PRIu64 ": %9.0f commits/s %11.0f "
           "entries/s, %.3f ms mean, %.3f ms max (db %lld KiB)\n",
           label, commits, batch, commits / spent, (double)total / spent,
           spent * 1e3 / commits, worst * 1e3, (long long)sb.st_size / 1024);
    rm_state(path);
    return 0;
fail:
    fprintf(stderr, "bench_store: %s: %s\n", label, store_errmsg(s));
    store_close(s);
    rm_state(path);
    return -1;
}

int
main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    const char *dir = argc > 1                          ? argv[1]
                      : (tmp != NULL && tmp[0] != '\0') ? tmp
                                                        : "/tmp";
    char path[1024];
    int rc = 0;

    snprintf(path, sizeof(path), "%s/bench_store.%ld.db", dir, (long)getpid());
    printf("bench_store: %s\n", path);
    rc |= run(path, 0, "FULL   5000-entry batches", BIG_BATCH, BIG_COMMITS,
              ALERTS_PER_BIG);
    rc |= run(path, STORE_OPEN_SYNC_NORMAL, "NORMAL 5000-entry batches",
              BIG_BATCH, BIG_COMMITS, ALERTS_PER_BIG);
    rc |= run(path, 0, "FULL   1-entry batches", 1, SMALL_COMMITS, 0);
    rc |= run(path, STORE_OPEN_SYNC_NORMAL, "NORMAL 1-entry batches", 1,
              SMALL_COMMITS, 0);
    rc |= run(path, 0, "FULL   1-entry + 1 alert", 1, SMALL_COMMITS, 1);
    return rc != 0;
}
