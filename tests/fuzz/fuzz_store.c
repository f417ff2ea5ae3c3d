/*
 * fuzz_store.c: a state file of arbitrary bytes, opened and read through
 * every reader of monitor/store/store.h, then written once.  Each call either
 * works or returns an error; nothing may crash, leak or read out of
 * bounds (store.h: "a corrupt or tampered file is an error, never a
 * crash").
 *
 * The bytes are written to a private temporary file (sqlite reads files),
 * removed with its -wal and -shm between inputs.  Inputs that do not
 * start with the SQLite header are skipped: store_open refuses them at
 * the first read (test_store covers that), and the replay over the whole
 * testdata directory stays fast.  The seed corpus is a small real state
 * file (corpus/fuzz_store/), whose mutations reach the schema check and
 * every row reader.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/store/store.h"

#define FUZZ_STORE_MAX (1024 * 1024) /* larger inputs are skipped */

static const char fuzz_magic[16] = "SQLite format 3";

/* The temporary directory: created on first use, removed at exit.  The
 * only state of the harness. */
static char fuzz_dir[256];
static char fuzz_path[300];

static void
fuzz_clean(void)
{
    char p[320];

    snprintf(p, sizeof(p), "%s-wal", fuzz_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", fuzz_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-journal", fuzz_path);
    unlink(p);
    unlink(fuzz_path);
}

static void
fuzz_atexit(void)
{
    fuzz_clean();
    rmdir(fuzz_dir);
}

static int
fuzz_init(void)
{
    const char *tmp = getenv("TMPDIR");

    if (fuzz_path[0] != '\0') {
        return 0;
    }
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/fuzz_store-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(fuzz_dir) == NULL) {
        return -1;
    }
    snprintf(fuzz_path, sizeof(fuzz_path), "%s/state.db", fuzz_dir);
    atexit(fuzz_atexit);
    return 0;
}

struct fuzz_ctx {
    struct store *s;
    uint64_t rows;
};

static int
fuzz_alert(void *arg, const struct store_alert_row *row)
{
    struct fuzz_ctx *c = arg;

    /* Touch every byte handed out. */
    c->rows += strlen(row->id) + strlen(row->type) + strlen(row->body) +
               (row->rule ? strlen(row->rule) : 0);
    return 0;
}

static int
fuzz_signing(void *arg, const struct store_signing *g)
{
    struct fuzz_ctx *c = arg;

    c->rows += strlen(g->uuid) + strlen(g->rule) + (g->san ? 1 : 0);
    return 0;
}

static int
fuzz_checkpoint(void *arg, const struct store_checkpoint_row *row)
{
    struct fuzz_ctx *c = arg;
    size_t i;

    for (i = 0; i < row->note_len; i++) {
        c->rows += (unsigned char)row->note[i];
    }
    for (i = 0; i < row->nproof; i++) {
        c->rows += row->proof[i][MERKLE_HASH_LEN - 1];
    }
    return 0;
}

static int
fuzz_error(void *arg, int64_t at, const char *message)
{
    struct fuzz_ctx *c = arg;

    (void)at;
    c->rows += strlen(message);
    return 0;
}

static int
fuzz_delivery(void *arg, const struct store_delivery *d)
{
    struct fuzz_ctx *c = arg;

    c->rows += strlen(d->alert_id) + strlen(d->sink) + strlen(d->body);
    return 0;
}

static int
fuzz_count(void *arg, const char *k1, const char *k2, uint64_t n)
{
    struct fuzz_ctx *c = arg;

    c->rows += strlen(k1) + strlen(k2) + n;
    return 0;
}

#define FUZZ_LOGS 8 /* logs examined per input */

struct fuzz_ids {
    size_t n;
    int64_t id[FUZZ_LOGS];
};

/* Collect log ids: a callback must not call into the store. */
static int
fuzz_log_id(void *arg, const struct store_log_status *st)
{
    struct fuzz_ids *x = arg;

    x->id[x->n++] = st->log_id;
    return x->n == FUZZ_LOGS;
}

/* Per log: every reader, then one write through the key operation. */
static void
fuzz_log(struct fuzz_ctx *c, int64_t log_id)
{
    struct store_checkpoint_row row;
    struct store_log_status st;
    struct merkle_range r;
    struct store_progress p;
    uint64_t next;
    int has, found;

    (void)store_log_status(c->s, log_id, &st);
    if (store_checkpoint_latest(c->s, log_id, &found, &row) == 0 && found) {
        c->rows += row.note_len;
        store_checkpoint_row_free(&row);
    }
    (void)store_checkpoints_each(c->s, log_id, 0, INT64_MAX, fuzz_checkpoint,
                                 c);
    (void)store_log_errors_each(c->s, log_id, fuzz_error, c);
    if (store_cursor_get(c->s, log_id, &has, &next, &r) == 0 && has) {
        memset(&p, 0, sizeof(p));
        p.from_index = next;
        p.to_index = next;
        p.range = &r;
        (void)store_commit_progress(c->s, log_id, &p, 1, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_alert_query q = {0, INT64_MAX, NULL, 0, NOTIFY_INFO, 0};
    struct fuzz_ctx c;
    struct fuzz_ids ids;
    struct store_counts counts;
    char err[512], *v = NULL;
    int64_t n;
    size_t i;
    int found;
    FILE *f;

    if (size < sizeof(fuzz_magic) || size > FUZZ_STORE_MAX ||
        memcmp(data, fuzz_magic, sizeof(fuzz_magic)) != 0) {
        return 0;
    }
    if (fuzz_init() != 0) {
        return 0;
    }
    fuzz_clean();
    f = fopen(fuzz_path, "wb");
    if (f == NULL) {
        return 0;
    }
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);

    memset(&c, 0, sizeof(c));
    c.s = store_open(fuzz_path, 0, err, sizeof(err));
    if (c.s == NULL) {
        return 0;
    }
    memset(&ids, 0, sizeof(ids));
    (void)store_logs_each(c.s, fuzz_log_id, &ids);
    for (i = 0; i < ids.n; i++) {
        fuzz_log(&c, ids.id[i]);
    }
    (void)store_alerts_each(c.s, &q, fuzz_alert, &c);
    (void)store_signings_latest(c.s, "app", 0, fuzz_signing, &c);
    (void)store_deliveries_due(c.s, INT64_MAX, 0, fuzz_delivery, &c);
    (void)store_counts(c.s, 0, INT64_MAX, &counts);
    (void)store_alert_counts_each(c.s, 0, INT64_MAX, fuzz_count, &c);
    (void)store_signing_counts_each(c.s, 0, INT64_MAX, fuzz_count, &c);
    (void)store_report_last(c.s, &found, &n);
    if (store_meta_get(c.s, "last_heartbeat", &v) == 0) {
        free(v);
    }
    (void)store_meta_get_int(c.s, "last_heartbeat", &found, &n);
    (void)store_meta_set(c.s, "fuzz", "x");
    store_close(c.s);
    return 0;
}
