/*
 * test_store.c: monitor/store/store.c against real sqlite files in a temporary
 * directory, and real data: the Tessera test log in
 * ../shared/testdata/rekor-v2/ (its signed checkpoints, its entries, the
 * consistency proofs between its checkpoints), read at run time.
 *
 * Covered: create, reopen, migration from an empty (version 0) file;
 * refusal of a newer schema, of another application's database, of
 * garbage and of a corrupted file, without touching the file; checkpoint
 * history with proofs, rollback / fork / bad proof refusals; progress
 * commits and the invariants the store enforces (no gap, range size,
 * root at checkpoint sizes, never past the verified size); alert, signing
 * and delivery idempotency; frozen shards; bounded recent errors; reading
 * back everything written; atomicity under SIGKILL at random moments;
 * retention (store_prune): what goes, what always stays, batches.
 * Every positive test has its negative twin next to it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "merkle/merkle.h"
#include "monitor/store/store.h"

#define T0 1700000000 /* test clock, unix seconds */

/* SQLite file header offsets (https://sqlite.org/fileformat.html 1.3). */
#define HDR_USER_VERSION 60
#define HDR_APPLICATION_ID 68

/* ---- fixture ---------------------------------------------------------- */

struct fx {
    char dir[512];
    char path[600];
};

static int
fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/tlw-store-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
    *state = f;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *f = *state;
    struct dirent *de;
    char p[1200];
    DIR *d;

    d = opendir(f->dir);
    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct store *
open_ok(const char *path)
{
    char err[512];
    struct store *s = store_open(path, 0, err, sizeof(err));

    if (s == NULL) {
        fail_msg("store_open(%s): %s", path, err);
    }
    return s;
}

/* ---- files ------------------------------------------------------------- */

static char *
file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        fail_msg("cannot open %s: %s", path, strerror(errno));
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

static void
file_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Overwrite 4 big-endian bytes of the file at off. */
static void
file_patch_u32(const char *path, long off, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    FILE *f = fopen(path, "r+b");

    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
}

static uint32_t
file_get_u32(const char *path, long off)
{
    size_t len;
    uint8_t *b = (uint8_t *)file_read(path, &len);
    uint32_t v;

    assert_true(len >= (size_t)off + 4);
    v = (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 |
        (uint32_t)b[off + 2] << 8 | b[off + 3];
    free(b);
    return v;
}

static char *
td_read(const char *rel, size_t *len)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    char path[4096];

    assert_non_null(td);
    snprintf(path, sizeof(path), "%s/%s", td, rel);
    return file_read(path, len);
}

/* ---- the Tessera test log ----------------------------------------------- */

#define TESSERA "rekor-v2/tessera-testlog"
#define TESSERA_MAX 64

/* A signed checkpoint of the test log, parsed by the test. */
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
    long r;

    memset(c, 0, sizeof(*c));
    snprintf(rel, sizeof(rel), TESSERA "/checkpoint.%u", n);
    c->note = td_read(rel, &c->len);
    p = c->note;
    nl = strchr(p, '\n');
    assert_non_null(nl);
    assert_true((size_t)(nl - p) < sizeof(c->origin));
    memcpy(c->origin, p, (size_t)(nl - p));
    p = nl + 1;
    errno = 0;
    c->size = strtoull(p, &end, 10);
    assert_int_equal(errno, 0);
    assert_true(end != p && *end == '\n');
    p = end + 1;
    nl = strchr(p, '\n');
    assert_non_null(nl);
    r = merkle_b64_decode(p, (size_t)(nl - p), c->root, sizeof(c->root));
    assert_int_equal(r, MERKLE_HASH_LEN);
}

static void
tcp_free(struct tcp *c)
{
    free(c->note);
    memset(c, 0, sizeof(*c));
}

static struct store_checkpoint
tcp_cp(const struct tcp *c, enum store_link link,
       const uint8_t (*proof)[MERKLE_HASH_LEN], size_t nproof)
{
    struct store_checkpoint cp;

    memset(&cp, 0, sizeof(cp));
    cp.note = c->note;
    cp.note_len = c->len;
    cp.size = c->size;
    memcpy(cp.root, c->root, MERKLE_HASH_LEN);
    cp.link = link;
    cp.proof = proof;
    cp.nproof = nproof;
    return cp;
}

/* The consistency proof size1 -> size2 from the testdata JSON. */
static size_t
proof_load(uint64_t size1, uint64_t size2, uint8_t (*out)[MERKLE_HASH_LEN],
           size_t cap)
{
    char *text =
        td_read("rekor-v2/tessera-testlog-consistency-proofs.json", NULL);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr), *proofs, *p, *h;
    size_t i, j, n = 0;
    int found = 0;

    assert_non_null(root);
    proofs = json_object_get(root, "proofs");
    assert_true(json_is_array(proofs));
    json_array_foreach(proofs, i, p)
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
            assert_true(n < cap);
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
leaves_load(uint8_t (*out)[MERKLE_HASH_LEN], size_t cap)
{
    size_t len, off = 0, n = 0;
    uint8_t *b = (uint8_t *)td_read(TESSERA "/tile/entries/000.p/15", &len);

    while (off + 2 <= len) {
        size_t el = (size_t)b[off] << 8 | b[off + 1];

        assert_true(off + 2 + el <= len);
        assert_true(n < cap);
        merkle_leaf_hash(b + off + 2, el, out[n++]);
        off += 2 + el;
    }
    assert_int_equal(off, len);
    free(b);
    return n;
}

/* A log with the test log's checkpoints 0..upto recorded in order. */
static int64_t
log_with_checkpoints(struct store *s, unsigned upto)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct store_checkpoint cp;
    struct tcp c, prev;
    int64_t id;
    unsigned n;
    size_t np;

    tcp_load(0, &prev);
    assert_int_equal(store_log_open(s, "tessera", prev.origin, T0, &id), 0);
    cp = tcp_cp(&prev, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0), 0);
    for (n = 1; n <= upto; n++) {
        tcp_load(n, &c);
        if (prev.size == 0) {
            cp = tcp_cp(&c, STORE_LINK_NONE, NULL, 0);
        } else {
            np = proof_load(prev.size, c.size, proof, MERKLE_MAX_PROOF);
            cp = tcp_cp(&c, STORE_LINK_CONSISTENCY,
                        (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
        }
        if (store_checkpoint_record(s, id, &cp, T0 + n) != 0) {
            fail_msg("checkpoint %u: %s", n, store_errmsg(s));
        }
        tcp_free(&prev);
        prev = c;
    }
    tcp_free(&prev);
    return id;
}

/* ---- open, reopen, migrations, refusals --------------------------------- */

static void
test_create_reopen(void **state)
{
    struct fx *f = *state;
    struct store_log_status st;
    struct store *s;
    int64_t id, id2, again;

    s = open_ok(f->path);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    assert_int_equal(store_log_open(s, "rekor", "origin A", T0, &id), 0);
    assert_true(id > 0);
    assert_int_equal(store_log_open(s, "rekor", "origin B", T0, &id2), 0);
    assert_true(id2 > 0 && id2 != id);
    assert_int_equal(store_log_success(s, id, T0 + 5), 0);
    store_close(s);

    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "rekor", "origin A", T0 + 9, &again), 0);
    assert_int_equal(again, id);
    assert_int_equal(store_log_find(s, "rekor", "origin B", &again), 0);
    assert_int_equal(again, id2);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_string_equal(st.name, "rekor");
    assert_string_equal(st.origin, "origin A");
    assert_int_equal(st.created_at, T0);
    assert_int_equal(st.last_success_at, T0 + 5);
    assert_false(st.has_cursor);
    assert_false(st.has_checkpoint);
    store_close(s);
    /* The identity is in the file header. */
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(file_get_u32(f->path, HDR_APPLICATION_ID),
                     STORE_APPLICATION_ID);
}

static void
test_create_reopen_negative(void **state)
{
    struct fx *f = *state;
    char err[512], bad[700];
    struct store *s;
    int64_t id;

    assert_null(store_open("", 0, err, sizeof(err)));
    assert_true(err[0] != '\0');
    snprintf(bad, sizeof(bad), "%s/no/such/dir/state.db", f->dir);
    assert_null(store_open(bad, 0, err, sizeof(err)));
    assert_true(err[0] != '\0');
    /* Read-only never creates. */
    assert_null(store_open(f->path, STORE_OPEN_READONLY, err, sizeof(err)));
    assert_int_equal(access(f->path, F_OK), -1);
    /* An absent log is not created by find; bad names are refused. */
    s = open_ok(f->path);
    assert_int_equal(store_log_find(s, "rekor", "nope", &id), 0);
    assert_int_equal(id, 0);
    assert_int_equal(store_log_open(s, "", "origin", T0, &id), -1);
    assert_true(strlen(store_errmsg(s)) > 0);
    assert_int_equal(store_log_open(s, "rekor", NULL, T0, &id), -1);
    assert_int_equal(store_log_success(s, 4242, T0), -1);
    assert_int_equal(store_log_status(s, 4242, &(struct store_log_status){0}),
                     -1);
    store_close(s);
    store_close(NULL);
}

/* An empty file is a version-0 database: migrated to the current one. */
static void
test_migrate_from_empty_file(void **state)
{
    struct fx *f = *state;
    struct store *s;
    int64_t id;

    file_write(f->path, "", 0);
    s = open_ok(f->path);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    assert_int_equal(store_log_open(s, "rekor", "o", T0, &id), 0);
    store_close(s);
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(file_get_u32(f->path, HDR_APPLICATION_ID),
                     STORE_APPLICATION_ID);
}

/* Twin: a read-only open does not migrate, so an empty file is refused,
 * and left empty. */
static void
test_migrate_readonly_refused(void **state)
{
    struct fx *f = *state;
    char err[512];
    struct stat sb;

    file_write(f->path, "", 0);
    assert_null(store_open(f->path, STORE_OPEN_READONLY, err, sizeof(err)));
    assert_non_null(strstr(err, "migrat"));
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
}

static void
test_newer_version_refused(void **state)
{
    struct fx *f = *state;
    char err[512];
    struct store *s;

    store_close(open_ok(f->path));
    file_patch_u32(f->path, HDR_USER_VERSION, STORE_SCHEMA_VERSION + 1);
    s = store_open(f->path, 0, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, "newer"));
    /* Refused without writing: the version is still the newer one. */
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION),
                     STORE_SCHEMA_VERSION + 1);
}

/* Twin: the same header patch with the current version opens fine, so
 * the refusal above is about the version, not the patching. */
static void
test_current_version_patch_opens(void **state)
{
    struct fx *f = *state;

    store_close(open_ok(f->path));
    file_patch_u32(f->path, HDR_USER_VERSION, STORE_SCHEMA_VERSION);
    store_close(open_ok(f->path));
}

static void
test_foreign_database_refused(void **state)
{
    struct fx *f = *state;
    char err[512];

    /* Our schema, another application's id. */
    store_close(open_ok(f->path));
    file_patch_u32(f->path, HDR_APPLICATION_ID, 0x12345678);
    assert_null(store_open(f->path, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "not a tlogwatch"));
    /* A database with tables but user_version 0 and no id: not ours to
     * "migrate". */
    file_patch_u32(f->path, HDR_APPLICATION_ID, 0);
    file_patch_u32(f->path, HDR_USER_VERSION, 0);
    assert_null(store_open(f->path, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "not a tlogwatch"));
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION), 0);
}

static void
test_garbage_refused(void **state)
{
    struct fx *f = *state;
    char err[512], *text, *after;
    uint8_t junk[8192];
    size_t i, len, alen;
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    for (i = 0; i < sizeof(junk); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk[i] = (uint8_t)x;
    }
    file_write(f->path, junk, sizeof(junk));
    assert_null(store_open(f->path, 0, err, sizeof(err)));
    assert_true(err[0] != '\0');
    after = file_read(f->path, &alen);
    assert_int_equal(alen, sizeof(junk));
    assert_memory_equal(after, junk, sizeof(junk));
    free(after);

    /* A text file (a real checkpoint) is not a database either. */
    text = td_read(TESSERA "/checkpoint.3", &len);
    file_write(f->path, text, len);
    assert_null(store_open(f->path, 0, err, sizeof(err)));
    after = file_read(f->path, &alen);
    assert_int_equal(alen, len);
    assert_memory_equal(after, text, len);
    free(after);
    free(text);
}

static int
count_fn(void *arg, const struct store_alert_row *row)
{
    (void)row;
    (*(size_t *)arg)++;
    return 0;
}

static int
any_log_fn(void *arg, const struct store_log_status *st)
{
    (void)arg;
    (void)st;
    return 0;
}

/* A state file whose pages after the first are smashed: the open or the
 * reads fail with an error; nothing crashes (ASan/UBSan watch). */
static void
test_corrupt_file_is_an_error(void **state)
{
    struct fx *f = *state;
    struct store_alert_query q = {0, INT64_MAX, NULL, 0, NOTIFY_INFO, 0};
    uint8_t page[4096];
    struct store *s;
    char err[512], *db;
    int64_t id;
    size_t len, off;
    int failures = 0;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 4);
    assert_int_equal(store_log_error(s, id, T0, "boom"), 0);
    store_close(s);
    db = file_read(f->path, &len);
    free(db);
    assert_true(len > sizeof(page));
    memset(page, 0xa5, sizeof(page));
    {
        FILE *fp = fopen(f->path, "r+b");

        assert_non_null(fp);
        for (off = sizeof(page); off < len; off += sizeof(page)) {
            assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
            assert_int_equal(fwrite(page, 1, sizeof(page), fp), sizeof(page));
        }
        assert_int_equal(fclose(fp), 0);
    }
    s = store_open(f->path, 0, err, sizeof(err));
    if (s == NULL) {
        failures++;
    } else {
        struct store_log_status st;
        struct merkle_range r;
        uint64_t next;
        int has;

        size_t n = 0;

        failures += store_logs_each(s, any_log_fn, NULL) != 0;
        failures += store_log_status(s, id, &st) != 0;
        failures += store_cursor_get(s, id, &has, &next, &r) != 0;
        failures += store_alerts_each(s, &q, count_fn, &n) != 0;
        assert_true(strlen(store_errmsg(s)) > 0);
        store_close(s);
    }
    assert_true(failures > 0);
}

/* ---- checkpoints -------------------------------------------------------- */

struct history {
    unsigned n;
    uint64_t sizes[TESSERA_MAX];
    int ok;
};

static int
history_fn(void *arg, const struct store_checkpoint_row *row)
{
    struct history *h = arg;
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct tcp c;
    size_t np;

    /* Each row is the testdata checkpoint of that size, byte for byte,
     * with the testdata proof from the previous one. */
    tcp_load((unsigned)row->size, &c);
    if (row->note_len != c.len || memcmp(row->note, c.note, c.len) != 0 ||
        memcmp(row->root, c.root, MERKLE_HASH_LEN) != 0) {
        h->ok = 0;
    }
    if (row->size >= 2) {
        np = proof_load(row->size - 1, row->size, proof, MERKLE_MAX_PROOF);
        if (row->link != STORE_LINK_CONSISTENCY || !row->has_prev ||
            row->prev_size != row->size - 1 || row->nproof != np ||
            memcmp(row->proof, proof, np * MERKLE_HASH_LEN) != 0) {
            h->ok = 0;
        }
    } else if (row->link != STORE_LINK_NONE || row->nproof != 0) {
        h->ok = 0;
    }
    /* The stored evidence verifies offline. */
    if (row->link == STORE_LINK_CONSISTENCY) {
        struct tcp p;

        tcp_load((unsigned)row->prev_size, &p);
        if (merkle_verify_consistency(
                row->prev_size, row->size, p.root, row->root,
                (const uint8_t(*)[MERKLE_HASH_LEN])row->proof,
                row->nproof) != MERKLE_OK) {
            h->ok = 0;
        }
        tcp_free(&p);
    }
    h->sizes[h->n++] = row->size;
    tcp_free(&c);
    return 0;
}

static void
test_checkpoint_history(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint_row latest;
    struct store_log_status st;
    struct history h = {0, {0}, 1};
    struct store_checkpoint cp;
    struct store_counts counts;
    struct store *s;
    struct tcp c15;
    int64_t id;
    int found;
    unsigned i;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    tcp_load(15, &c15);
    assert_int_equal(store_checkpoint_latest(s, id, &found, &latest), 0);
    assert_true(found);
    assert_int_equal(latest.size, c15.size);
    assert_memory_equal(latest.root, c15.root, MERKLE_HASH_LEN);
    assert_int_equal(latest.note_len, c15.len);
    assert_string_equal(latest.note, c15.note);
    assert_int_equal(latest.verified_at, T0 + 15);
    store_checkpoint_row_free(&latest);
    store_checkpoint_row_free(NULL);

    /* Same size, same root (verified again): nothing new, counted. */
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 100), 0);

    assert_int_equal(
        store_checkpoints_each(s, id, 0, INT64_MAX, history_fn, &h), 0);
    assert_true(h.ok);
    assert_int_equal(h.n, 16);
    for (i = 0; i < h.n; i++) {
        assert_int_equal(h.sizes[i], i);
    }
    /* By time range: verified_at T0 + n for size n. */
    memset(&h, 0, sizeof(h));
    h.ok = 1;
    assert_int_equal(
        store_checkpoints_each(s, id, T0 + 3, T0 + 6, history_fn, &h), 0);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.sizes[0], 3);
    assert_int_equal(h.sizes[2], 5);

    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_true(st.has_checkpoint);
    assert_int_equal(st.verified_size, c15.size);
    assert_memory_equal(st.verified_root, c15.root, MERKLE_HASH_LEN);
    assert_int_equal(st.verified_at, T0 + 15);
    assert_int_equal(st.checkpoints_verified, 17); /* 0..15, then again */
    assert_int_equal(st.proofs_verified, 14);      /* 1->2 .. 14->15 */
    assert_int_equal(store_counts(s, T0, T0 + 10, &counts), 0);
    assert_int_equal(counts.checkpoints, 10);
    tcp_free(&c15);
    store_close(s);
}

/* Twins: every way a checkpoint must not move state forward. */
static void
test_checkpoint_refusals(void **state)
{
    struct fx *f = *state;
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct store_checkpoint_row latest;
    struct store_log_status before, after;
    struct store_checkpoint cp;
    struct tcp c9, c10, c12;
    struct store *s;
    int64_t id, other;
    size_t np;
    int found;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 10);
    tcp_load(9, &c9);
    tcp_load(10, &c10);
    tcp_load(12, &c12);
    assert_int_equal(store_log_status(s, id, &before), 0);

    /* Rollback: smaller than verified. */
    cp = tcp_cp(&c9, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    assert_non_null(strstr(store_errmsg(s), "rollback"));
    /* Same size, another root. */
    cp = tcp_cp(&c10, STORE_LINK_NONE, NULL, 0);
    memcpy(cp.root, c9.root, MERKLE_HASH_LEN);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    assert_non_null(strstr(store_errmsg(s), "inconsistent"));
    /* Larger without proof. */
    cp = tcp_cp(&c12, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    /* Larger with a proof that does not verify (one bit flipped). */
    np = proof_load(10, 12, proof, MERKLE_MAX_PROOF);
    proof[0][7] ^= 0x01;
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    assert_non_null(strstr(store_errmsg(s), "does not verify"));
    /* A proof for another pair of sizes. */
    np = proof_load(9, 12, proof, MERKLE_MAX_PROOF);
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    /* Structural: no proof with a consistency link; too many hashes. */
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, MERKLE_MAX_PROOF + 1);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    cp = tcp_cp(&c12, STORE_LINK_TILES,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, 1);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    cp = tcp_cp(&c12, STORE_LINK_NONE, NULL, 0);
    cp.size = (uint64_t)INT64_MAX + 1;
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    cp = tcp_cp(&c12, STORE_LINK_NONE, NULL, 0);
    cp.note_len = 0;
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 50), -1);
    cp = tcp_cp(&c12, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, 4242, &cp, T0 + 50), -1);
    /* The first checkpoint of a log has no link. */
    assert_int_equal(store_log_open(s, "tessera", "other", T0, &other), 0);
    np = proof_load(10, 12, proof, MERKLE_MAX_PROOF);
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
    assert_int_equal(store_checkpoint_record(s, other, &cp, T0 + 50), -1);

    /* Nothing moved. */
    assert_int_equal(store_log_status(s, id, &after), 0);
    assert_int_equal(after.verified_size, before.verified_size);
    assert_memory_equal(after.verified_root, before.verified_root,
                        MERKLE_HASH_LEN);
    assert_int_equal(after.checkpoints_verified, before.checkpoints_verified);
    assert_int_equal(after.proofs_verified, before.proofs_verified);
    assert_int_equal(store_checkpoint_latest(s, id, &found, &latest), 0);
    assert_string_equal(latest.note, c10.note);
    store_checkpoint_row_free(&latest);
    assert_int_equal(store_checkpoint_latest(s, other, &found, &latest), 0);
    assert_false(found);

    /* And the right proof is accepted: the refusals were about the
     * proof, not the checkpoint.  A tile link is taken as given. */
    np = proof_load(10, 12, proof, MERKLE_MAX_PROOF);
    cp = tcp_cp(&c12, STORE_LINK_CONSISTENCY,
                (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 60), 0);
    tcp_free(&c9);
    tcp_load(13, &c9);
    cp = tcp_cp(&c9, STORE_LINK_TILES, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 61), 0);
    assert_int_equal(store_log_status(s, id, &after), 0);
    assert_int_equal(after.verified_size, c9.size);
    assert_int_equal(after.proofs_verified, before.proofs_verified + 1);
    tcp_free(&c9);
    tcp_free(&c10);
    tcp_free(&c12);
    store_close(s);
}

/* ---- cursor and progress ------------------------------------------------ */

static void
range_upto(struct merkle_range *r, const uint8_t (*leaves)[MERKLE_HASH_LEN],
           uint64_t n)
{
    uint64_t i;

    merkle_range_init(r);
    for (i = 0; i < n; i++) {
        assert_int_equal(merkle_range_append(r, leaves[i]), MERKLE_OK);
    }
}

static struct store_progress
progress(uint64_t from, uint64_t to, const struct merkle_range *r)
{
    struct store_progress p;

    memset(&p, 0, sizeof(p));
    p.from_index = from;
    p.to_index = to;
    p.range = r;
    return p;
}

/* Follow the real test log with a virtual offset, in batches, up to each
 * checkpoint: every commit at a checkpoint size passes the root check. */
static void
test_progress_follows_real_log(void **state)
{
    struct fx *f = *state;
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    const uint64_t offset = 1000; /* a later shard's virtual offset */
    struct store_log_status st;
    struct merkle_range r, back;
    struct store_progress p;
    struct store *s;
    uint64_t next, cur;
    size_t n;
    int64_t id;
    int has;

    n = leaves_load(leaves, TESSERA_MAX);
    assert_int_equal(n, 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    assert_int_equal(store_cursor_get(s, id, &has, &next, &r), 0);
    assert_false(has);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, offset, &r, T0), 0);
    /* Batches of 1, 2, 3 ... entries, ending on checkpoint sizes. */
    for (cur = 0; cur < n;) {
        uint64_t to = cur + 1 + cur / 3;

        if (to > n) {
            to = n;
        }
        range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, to);
        p = progress(offset + cur, offset + to, &r);
        p.root_checks_passed = 1;
        if (store_commit_progress(s, id, &p, T0 + 20, NULL) != 0) {
            fail_msg("commit %" PRIu64 "->%" PRIu64 ": %s", cur, to,
                     store_errmsg(s));
        }
        cur = to;
    }
    store_close(s);

    s = open_ok(f->path);
    assert_int_equal(store_cursor_get(s, id, &has, &next, &back), 0);
    assert_true(has);
    assert_int_equal(next, offset + n);
    assert_int_equal(back.size, n);
    assert_int_equal(back.nhashes, r.nhashes);
    assert_memory_equal(back.hashes, r.hashes,
                        (size_t)r.nhashes * MERKLE_HASH_LEN);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_int_equal(st.next_index, offset + n);
    assert_int_equal(st.next_shard_index, n);
    assert_int_equal(st.entries_scanned, n);
    assert_true(st.root_checks_passed > 0);
    store_close(s);
}

/* Twins: every commit that would break an invariant is refused and
 * changes nothing. */
static void
test_progress_refusals(void **state)
{
    struct fx *f = *state;
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_alert a;
    struct store_signing g;
    struct merkle_range r, back;
    struct store_progress p;
    struct store_log_status st;
    struct store *s;
    uint64_t next;
    int64_t id, bare;
    int has;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 8);
    merkle_range_init(&r);
    /* No cursor yet. */
    p = progress(0, 0, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    /* Seeding twice. */
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), -1);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    p = progress(0, 5, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);

    /* Gap: from is not the cursor. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 7);
    p = progress(6, 7, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    assert_non_null(strstr(store_errmsg(s), "cursor is at 5"));
    /* Overlap / replay of an applied batch. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    p = progress(0, 5, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    /* Backward. */
    p = progress(5, 4, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    /* Range size does not match the number of entries. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 6);
    p = progress(5, 7, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    /* Range with a wrong number of hashes. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 7);
    r.nhashes = 1;
    p = progress(5, 7, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    /* Past the verified size (8). */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 9);
    p = progress(5, 9, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    assert_non_null(strstr(store_errmsg(s), "verified size"));
    /* At a checkpoint size with a corrupted entry: root mismatch. */
    {
        uint8_t bad[TESSERA_MAX][MERKLE_HASH_LEN];

        memcpy(bad, leaves, sizeof(bad));
        bad[6][0] ^= 0x80;
        range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])bad, 8);
        p = progress(5, 8, &r);
        assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
        assert_non_null(strstr(store_errmsg(s), "entries mismatch"));
    }
    /* An alert or signing outside the batch. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 7);
    memset(&a, 0, sizeof(a));
    a.id = "x";
    a.type = "entry.malformed";
    a.body = "{}";
    a.has_index = 1;
    a.log_index = 7;
    p = progress(5, 7, &r);
    p.alerts = &a;
    p.nalerts = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    a.log_index = 4;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    a.log_index = 6;
    a.severity = (enum notify_severity)7;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    memset(&g, 0, sizeof(g));
    g.uuid = "u";
    g.cert_sha256 = "c";
    g.rule = "r";
    g.verdict = "allowed";
    g.log_index = 9;
    p = progress(5, 7, &r);
    p.signings = &g;
    p.nsignings = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    g.log_index = 6;
    g.rule = NULL;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    /* Out of sqlite's range. */
    p = progress(5, (uint64_t)INT64_MAX + 1, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    assert_int_equal(store_log_open(s, "tessera", "bare", T0, &bare), 0);
    merkle_range_init(&r);
    assert_int_equal(
        store_cursor_seed(s, bare, (uint64_t)INT64_MAX + 1, &r, T0), -1);
    /* A seed past the (absent) verified checkpoint. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 3);
    assert_int_equal(store_cursor_seed(s, bare, 3, &r, T0), -1);
    /* A seed whose shard-local index exceeds the virtual one. */
    assert_int_equal(store_cursor_seed(s, id, 2, &r, T0), -1);

    /* Nothing moved: cursor 5, range of 5, no alert. */
    assert_int_equal(store_cursor_get(s, id, &has, &next, &back), 0);
    assert_int_equal(next, 5);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    assert_int_equal(back.size, 5);
    assert_memory_equal(back.hashes, r.hashes,
                        (size_t)r.nhashes * MERKLE_HASH_LEN);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_int_equal(st.entries_scanned, 5);
    assert_int_equal(store_cursor_get(s, bare, &has, &next, &back), 0);
    assert_false(has);

    /* The twin of the last one: the good batch is accepted. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 8);
    p = progress(5, 8, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    store_close(s);
}

/* Seeding from the middle (start: latest): the range at index i is
 * checked against the signed root when i is a checkpoint size. */
static void
test_seed_checked(void **state)
{
    struct fx *f = *state;
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct merkle_range r;
    struct store *s;
    int64_t id;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 11);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 11);
    r.hashes[0][3] ^= 1;
    assert_int_equal(store_cursor_seed(s, id, 11, &r, T0), -1);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 11);
    assert_int_equal(store_cursor_seed(s, id, 11, &r, T0), 0);
    store_close(s);
}

/* ---- alerts ------------------------------------------------------------- */

static struct store_alert
alert(const char *id, const char *type, enum notify_severity sev, int64_t at)
{
    struct store_alert a;

    memset(&a, 0, sizeof(a));
    a.id = id;
    a.type = type;
    a.severity = sev;
    a.detected_at = at;
    a.body = "{\"schema\":\"tlogwatch.alert/v1\"}";
    return a;
}

static size_t
alert_count(struct store *s)
{
    struct store_alert_query q = {0, INT64_MAX, NULL, 0, NOTIFY_INFO, 0};
    size_t n = 0;

    assert_int_equal(store_alerts_each(s, &q, count_fn, &n), 0);
    return n;
}

static int
delivery_count_fn(void *arg, const struct store_delivery *d)
{
    (void)d;
    (*(size_t *)arg)++;
    return 0;
}

static void
test_alert_idempotent(void **state)
{
    struct fx *f = *state;
    const char *sinks[] = {"slack", "siem"};
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_alert a, batch[3];
    struct store_progress p;
    struct merkle_range r;
    struct store *s;
    size_t nnew, due = 0;
    int64_t id;
    int ins;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    a = alert("rollback-1", "log.rollback", NOTIFY_CRITICAL, T0);
    a.sinks = sinks;
    a.nsinks = 2;
    assert_int_equal(store_alert_record(s, id, &a, &ins), 0);
    assert_int_equal(ins, 1);
    assert_int_equal(store_alert_record(s, id, &a, &ins), 0);
    assert_int_equal(ins, 0);
    assert_int_equal(alert_count(s), 1);
    assert_int_equal(store_deliveries_due(s, T0, 0, delivery_count_fn, &due),
                     0);
    assert_int_equal(due, 2);

    /* In a batch: the same id again is ignored, a new one is added; the
     * same id twice in one batch is stored once. */
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 3);
    batch[0] = a;
    batch[1] = alert("malformed-2", "entry.malformed", NOTIFY_INFO, T0);
    batch[1].has_index = 1;
    batch[1].log_index = 2;
    batch[1].sinks = sinks;
    batch[1].nsinks = 1;
    batch[2] = batch[1];
    p = progress(0, 3, &r);
    p.alerts = batch;
    p.nalerts = 3;
    assert_int_equal(store_commit_progress(s, id, &p, T0, &nnew), 0);
    assert_int_equal(nnew, 1);
    assert_int_equal(alert_count(s), 2);
    due = 0;
    assert_int_equal(store_deliveries_due(s, T0, 0, delivery_count_fn, &due),
                     0);
    assert_int_equal(due, 3);
    store_close(s);
}

/* Alerts and signings found ahead of the cursor (past a withheld entry)
 * are recorded without moving it, and recognised when it passes them;
 * anything behind the cursor, or an alert without an index, is refused. */
static void
test_record_ahead(void **state)
{
    struct fx *f = *state;
    const char *sinks[] = {"slack"};
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_alert a;
    struct store_signing g;
    struct store_progress p;
    struct merkle_range r, back;
    struct store *s;
    size_t nnew = 9, due = 0;
    uint64_t next;
    int64_t id;
    int has;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    a = alert("ahead-12", "signing.unexpected", NOTIFY_CRITICAL, T0);
    a.has_index = 1;
    a.log_index = 12;
    a.sinks = sinks;
    a.nsinks = 1;
    memset(&g, 0, sizeof(g));
    g.uuid = "u12";
    g.cert_sha256 = "c12";
    g.rule = "r";
    g.verdict = "unexpected";
    g.log_index = 12;
    g.shard_index = 12;
    /* No cursor yet: refused. */
    assert_int_equal(store_record_ahead(s, id, &a, 1, &g, 1, T0, &nnew), -1);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    p = progress(0, 5, &r);
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);

    /* Behind the cursor, or without an index: refused, nothing stored. */
    a.log_index = 4;
    assert_int_equal(store_record_ahead(s, id, &a, 1, NULL, 0, T0, &nnew), -1);
    assert_non_null(strstr(store_errmsg(s), "behind the cursor"));
    g.log_index = 4;
    assert_int_equal(store_record_ahead(s, id, NULL, 0, &g, 1, T0, &nnew), -1);
    a.log_index = 12;
    a.has_index = 0;
    assert_int_equal(store_record_ahead(s, id, &a, 1, NULL, 0, T0, &nnew), -1);
    assert_int_equal(alert_count(s), 0);

    /* Ahead: recorded and due for delivery; the cursor stays at 5. */
    a.has_index = 1;
    g.log_index = 12;
    assert_int_equal(store_record_ahead(s, id, &a, 1, &g, 1, T0, &nnew), 0);
    assert_int_equal(nnew, 1);
    assert_int_equal(alert_count(s), 1);
    assert_int_equal(store_deliveries_due(s, T0, 0, delivery_count_fn, &due),
                     0);
    assert_int_equal(due, 1);
    assert_int_equal(store_cursor_get(s, id, &has, &next, &back), 0);
    assert_int_equal(next, 5);
    assert_int_equal(back.size, 5);

    /* The cursor passes index 12 with the same finds: nothing twice. */
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 15);
    p = progress(5, 15, &r);
    p.alerts = &a;
    p.nalerts = 1;
    p.signings = &g;
    p.nsignings = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0, &nnew), 0);
    assert_int_equal(nnew, 0);
    assert_int_equal(alert_count(s), 1);
    due = 0;
    assert_int_equal(store_deliveries_due(s, T0, 0, delivery_count_fn, &due),
                     0);
    assert_int_equal(due, 1);
    store_close(s);
}

/* Twin: different ids are different alerts, even with equal contents. */
static void
test_alert_distinct_ids(void **state)
{
    struct fx *f = *state;
    struct store_alert a, b;
    struct store *s;
    int ins;

    s = open_ok(f->path);
    a = alert("one", "monitor.test", NOTIFY_INFO, T0);
    b = alert("two", "monitor.test", NOTIFY_INFO, T0);
    assert_int_equal(store_alert_record(s, 0, &a, &ins), 0);
    assert_int_equal(ins, 1);
    assert_int_equal(store_alert_record(s, 0, &b, &ins), 0);
    assert_int_equal(ins, 1);
    assert_int_equal(alert_count(s), 2);
    /* Bad alerts are refused. */
    b = alert("", "monitor.test", NOTIFY_INFO, T0);
    assert_int_equal(store_alert_record(s, 0, &b, &ins), -1);
    b = alert("three", "monitor.test", NOTIFY_INFO, T0);
    b.body = NULL;
    assert_int_equal(store_alert_record(s, 0, &b, &ins), -1);
    b = alert("four", "entry.malformed", NOTIFY_INFO, T0);
    b.has_index = 1; /* an entry alert without its log */
    assert_int_equal(store_alert_record(s, 0, &b, &ins), -1);
    b = alert("five", "log.stale", NOTIFY_WARNING, T0);
    assert_int_equal(store_alert_record(s, 4242, &b, &ins), -1);
    assert_int_equal(alert_count(s), 2);
    store_close(s);
}

/* ---- frozen shards ------------------------------------------------------ */

static void
test_frozen_shard(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint_row stored;
    enum store_frozen_result res;
    struct store_checkpoint cp;
    struct store_log_status st;
    struct tcp c14, c15;
    struct store *s;
    int64_t id;

    tcp_load(14, &c14);
    tcp_load(15, &c15);
    s = open_ok(f->path);
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0, &res, &stored), 0);
    assert_int_equal(res, STORE_FROZEN_RECORDED);
    assert_null(stored.note);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0 + 1, &res, &stored),
        0);
    assert_int_equal(res, STORE_FROZEN_SAME);
    /* Same size and root, other signature lines: still the same. */
    {
        char *note = malloc(c15.len + 1);

        assert_non_null(note);
        memcpy(note, c15.note, c15.len);
        note[c15.len - 3] ^= 0x01;
        cp.note = note;
        assert_int_equal(
            store_frozen_check(s, "rekor", c15.origin, &cp, T0 + 2, &res, NULL),
            0);
        assert_int_equal(res, STORE_FROZEN_SAME);
        free(note);
    }
    /* A log of that shard shows as frozen. */
    assert_int_equal(store_log_open(s, "rekor", c15.origin, T0, &id), 0);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_true(st.frozen);
    store_close(s);
    tcp_free(&c14);
    tcp_free(&c15);
}

/* Twin: a changed frozen checkpoint is reported, with the recorded one as
 * evidence, and never replaces it. */
static void
test_frozen_shard_changed(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint_row stored;
    enum store_frozen_result res;
    struct store_checkpoint cp;
    struct store_log_status st;
    struct tcp c14, c15;
    struct store *s;
    int64_t id;

    tcp_load(14, &c14);
    tcp_load(15, &c15);
    s = open_ok(f->path);
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0, &res, NULL), 0);
    assert_int_equal(res, STORE_FROZEN_RECORDED);
    /* Shrunk. */
    cp = tcp_cp(&c14, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0 + 1, &res, &stored),
        0);
    assert_int_equal(res, STORE_FROZEN_DIFFERENT);
    assert_int_equal(stored.size, c15.size);
    assert_memory_equal(stored.root, c15.root, MERKLE_HASH_LEN);
    assert_int_equal(stored.note_len, c15.len);
    assert_string_equal(stored.note, c15.note);
    store_checkpoint_row_free(&stored);
    /* Same size, another root. */
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    memcpy(cp.root, c14.root, MERKLE_HASH_LEN);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0 + 2, &res, NULL), 0);
    assert_int_equal(res, STORE_FROZEN_DIFFERENT);
    /* Still the original. */
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "rekor", c15.origin, &cp, T0 + 3, &res, NULL), 0);
    assert_int_equal(res, STORE_FROZEN_SAME);

    /* First sight that contradicts what was verified of the shard while
     * it was active (verified 15, final claims 14): different, and not
     * recorded. */
    store_close(s);
    unlink(f->path);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    cp = tcp_cp(&c14, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "tessera", c14.origin, &cp, T0, &res, &stored),
        0);
    assert_int_equal(res, STORE_FROZEN_DIFFERENT);
    assert_int_equal(stored.size, c15.size);
    store_checkpoint_row_free(&stored);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_false(st.frozen);
    store_close(s);
    tcp_free(&c14);
    tcp_free(&c15);
}

/* ---- recent errors ------------------------------------------------------ */

struct errs {
    unsigned n;
    int64_t at[64];
    char msg[64][STORE_ERROR_MAX + 1];
};

static int
errs_fn(void *arg, int64_t at, const char *message)
{
    struct errs *e = arg;

    assert_true(e->n < 64);
    e->at[e->n] = at;
    snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", message);
    e->n++;
    return 0;
}

static void
test_recent_errors_bounded(void **state)
{
    struct fx *f = *state;
    static struct errs e;
    struct store_log_status st;
    char msg[64], big[STORE_ERROR_MAX * 2];
    struct store *s;
    int64_t id;
    unsigned i;

    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "rekor", "o", T0, &id), 0);
    for (i = 0; i < 40; i++) {
        snprintf(msg, sizeof(msg), "error %u", i);
        assert_int_equal(store_log_error(s, id, T0 + i, msg), 0);
    }
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_log_errors_each(s, id, errs_fn, &e), 0);
    assert_int_equal(e.n, STORE_RECENT_ERRORS);
    assert_string_equal(e.msg[0], "error 39");
    assert_int_equal(e.at[0], T0 + 39);
    snprintf(msg, sizeof(msg), "error %u", 40 - STORE_RECENT_ERRORS);
    assert_string_equal(e.msg[STORE_RECENT_ERRORS - 1], msg);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_string_equal(st.last_error, "error 39");
    assert_int_equal(st.last_error_at, T0 + 39);
    /* A long message is truncated, not refused. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(store_log_error(s, id, T0 + 50, big), 0);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_int_equal(strlen(st.last_error), STORE_ERROR_MAX);
    assert_int_equal(store_log_error(s, id, T0 + 50, NULL), -1);
    assert_int_equal(store_log_error(s, 4242, T0 + 50, "x"), -1);
    store_close(s);
}

/* Twin: fewer errors than the bound are all kept, and the bound is per
 * log (another log's errors do not push them out). */
static void
test_recent_errors_per_log(void **state)
{
    struct fx *f = *state;
    static struct errs e;
    struct store *s;
    int64_t a, b;
    unsigned i;

    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "a", "o", T0, &a), 0);
    assert_int_equal(store_log_open(s, "b", "o", T0, &b), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(store_log_error(s, a, T0 + i, "a"), 0);
    }
    for (i = 0; i < 40; i++) {
        assert_int_equal(store_log_error(s, b, T0 + i, "b"), 0);
    }
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_log_errors_each(s, a, errs_fn, &e), 0);
    assert_int_equal(e.n, 3);
    store_close(s);
}

/* Errors of a log that has no row yet (never reached) are kept by name,
 * bounded like a shard's, newest first; another name is apart; limit
 * cuts the listing; a name too long or a missing message is refused. */
static void
test_name_errors(void **state)
{
    struct fx *f = *state;
    static struct errs e;
    char msg[64], longname[STORE_NAME_MAX + 2];
    struct store *s;
    unsigned i;

    s = open_ok(f->path);
    for (i = 0; i < 40; i++) {
        snprintf(msg, sizeof(msg), "connect %u", i);
        assert_int_equal(store_name_error(s, "offline", T0 + i, msg), 0);
    }
    assert_int_equal(store_name_error(s, "other", T0, "x"), 0);
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_name_errors_each(s, "offline", 0, errs_fn, &e), 0);
    assert_int_equal(e.n, STORE_RECENT_ERRORS);
    assert_string_equal(e.msg[0], "connect 39");
    assert_int_equal(e.at[0], T0 + 39);
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_name_errors_each(s, "offline", 3, errs_fn, &e), 0);
    assert_int_equal(e.n, 3);
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_name_errors_each(s, "other", 0, errs_fn, &e), 0);
    assert_int_equal(e.n, 1);
    memset(&e, 0, sizeof(e));
    assert_int_equal(store_name_errors_each(s, "nobody", 0, errs_fn, &e), 0);
    assert_int_equal(e.n, 0);
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(store_name_error(s, longname, T0, "x"), -1);
    assert_int_equal(store_name_error(s, "offline", T0, NULL), -1);
    store_close(s);
}

struct hist {
    unsigned n;
    int64_t newest, oldest;
};

static int
hist_fn(void *arg, int64_t at, uint64_t size, uint64_t scanned)
{
    struct hist *h = arg;

    (void)size;
    (void)scanned;
    if (h->n++ == 0) {
        h->newest = at;
    }
    h->oldest = at;
    return 0;
}

/* One history sample per STORE_HISTORY_EVERY at most, the newest
 * STORE_HISTORY_MAX kept; since and limit cut the listing. */
static void
test_history_bounded(void **state)
{
    struct fx *f = *state;
    struct hist h;
    struct store *s;
    int64_t id, t = T0;
    unsigned i;

    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "rekor", "o", T0, &id), 0);
    for (i = 0; i < STORE_HISTORY_MAX + 10; i++) {
        assert_int_equal(store_log_success(s, id, t), 0);
        /* Polls in between are not sampled. */
        assert_int_equal(store_log_success(s, id, t + 30), 0);
        t += STORE_HISTORY_EVERY;
    }
    memset(&h, 0, sizeof(h));
    assert_int_equal(store_history_each(s, id, INT64_MIN, 0, hist_fn, &h), 0);
    assert_int_equal(h.n, STORE_HISTORY_MAX);
    assert_int_equal(h.newest, t - STORE_HISTORY_EVERY);
    assert_int_equal(h.oldest, T0 + 10 * (int64_t)STORE_HISTORY_EVERY);
    memset(&h, 0, sizeof(h));
    assert_int_equal(
        store_history_each(s, id, t - 3 * STORE_HISTORY_EVERY, 0, hist_fn, &h),
        0);
    assert_int_equal(h.n, 3);
    memset(&h, 0, sizeof(h));
    assert_int_equal(store_history_each(s, id, INT64_MIN, 5, hist_fn, &h), 0);
    assert_int_equal(h.n, 5);
    store_close(s);
}

/* ---- reading back ------------------------------------------------------- */

struct sigs {
    unsigned n;
    uint64_t idx[16];
    int ok;
};

static int
sigs_fn(void *arg, const struct store_signing *g)
{
    struct sigs *x = arg;

    x->idx[x->n++] = g->log_index;
    if (g->log_index == 10) {
        x->ok =
            strcmp(g->uuid, "uuid-10") == 0 &&
            strcmp(g->kind, "hashedrekord") == 0 &&
            g->integrated_time == T0 - 3 &&
            strcmp(g->cert_sha256, "cafe") == 0 &&
            strcmp(g->san, "https://github.com/acme/app/.github/"
                           "workflows/build-eif.yml@refs/heads/main") == 0 &&
            strcmp(g->issuer, "https://token.actions.githubusercontent.com") ==
                0 &&
            strcmp(g->repository, "acme/app") == 0 &&
            strcmp(g->repository_id, "123456") == 0 &&
            strcmp(g->workflow_path, ".github/workflows/build-eif.yml") == 0 &&
            strcmp(g->ref, "refs/heads/main") == 0 &&
            strcmp(g->workflow_sha, "abc123") == 0 &&
            strcmp(g->runner_environment, "github-hosted") == 0 &&
            strcmp(g->trigger, "push") == 0 &&
            strcmp(g->run_invocation_uri, "https://run/1") == 0 &&
            strcmp(g->build_signer_uri, "https://signer") == 0 &&
            strcmp(g->rule, "app") == 0 && strcmp(g->verdict, "allowed") == 0 &&
            strcmp(g->artifact_digest, "sha256:00") == 0 &&
            strcmp(g->pcr0, "p0") == 0 && strcmp(g->pcr1, "p1") == 0 &&
            strcmp(g->pcr2, "p2") == 0 && g->shard_index == 10 &&
            g->recorded_at == T0 + 7 && g->log_id > 0;
    }
    return 0;
}

struct ids {
    unsigned n;
    char id[16][STORE_NAME_MAX + 1];
};

static int
ids_fn(void *arg, const struct store_alert_row *row)
{
    struct ids *x = arg;

    assert_true(x->n < 16);
    snprintf(x->id[x->n++], sizeof(x->id[0]), "%s", row->id);
    return 0;
}

static int
stop_fn(void *arg, const struct store_alert_row *row)
{
    (void)row;
    (*(unsigned *)arg)++;
    return 1;
}

struct kv {
    unsigned n;
    char line[16][128];
};

static int
kv_fn(void *arg, const char *k1, const char *k2, uint64_t count)
{
    struct kv *x = arg;

    assert_true(x->n < 16);
    snprintf(x->line[x->n++], sizeof(x->line[0]), "%s %s %" PRIu64, k1, k2,
             count);
    return 0;
}

struct dues {
    unsigned n;
    char what[16][96];
};

static int
dues_fn(void *arg, const struct store_delivery *d)
{
    struct dues *x = arg;

    assert_true(x->n < 16);
    snprintf(x->what[x->n++], sizeof(x->what[0]), "%s %s %" PRIu64 " %s",
             d->alert_id, d->sink, d->attempts,
             d->last_error ? d->last_error : "-");
    assert_int_equal(d->status, STORE_DELIVERY_PENDING);
    assert_non_null(strstr(d->body, "tlogwatch.alert/v1"));
    return 0;
}

static int
logs_fn(void *arg, const struct store_log_status *st)
{
    struct ids *x = arg;

    snprintf(x->id[x->n++], sizeof(x->id[0]), "%s", st->name);
    return 0;
}

static void
test_read_back_everything(void **state)
{
    struct fx *f = *state;
    const char *sinks[] = {"console", "pager"};
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_alert_query q;
    struct store_alert al[3];
    struct store_signing g[2];
    struct store_progress p;
    struct store_counts c;
    struct merkle_range r;
    struct sigs sg = {0, {0}, 0};
    struct ids ids;
    struct kv kv;
    struct dues du;
    struct store *s;
    int64_t id, v;
    char *val;
    unsigned stops = 0;
    int found;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 15);

    memset(g, 0, sizeof(g));
    g[0].log_index = 10;
    g[0].shard_index = 10;
    g[0].uuid = "uuid-10";
    g[0].kind = "hashedrekord";
    g[0].integrated_time = T0 - 3;
    g[0].cert_sha256 = "cafe";
    g[0].san = "https://github.com/acme/app/.github/workflows/"
               "build-eif.yml@refs/heads/main";
    g[0].issuer = "https://token.actions.githubusercontent.com";
    g[0].repository = "acme/app";
    g[0].repository_id = "123456";
    g[0].workflow_path = ".github/workflows/build-eif.yml";
    g[0].ref = "refs/heads/main";
    g[0].workflow_sha = "abc123";
    g[0].runner_environment = "github-hosted";
    g[0].trigger = "push";
    g[0].run_invocation_uri = "https://run/1";
    g[0].build_signer_uri = "https://signer";
    g[0].rule = "app";
    g[0].verdict = "allowed";
    g[0].artifact_digest = "sha256:00";
    g[0].pcr0 = "p0";
    g[0].pcr1 = "p1";
    g[0].pcr2 = "p2";
    g[1].log_index = 12;
    g[1].shard_index = 12;
    g[1].uuid = "uuid-12";
    g[1].cert_sha256 = "beef";
    g[1].rule = "app";
    g[1].verdict = "self_hosted_runner";

    al[0] = alert("a-rec", "signing.recorded", NOTIFY_INFO, T0 + 1);
    al[0].has_index = 1;
    al[0].log_index = 10;
    al[0].rule = "app";
    al[0].sinks = sinks;
    al[0].nsinks = 1;
    al[1] =
        alert("a-shr", "signing.self_hosted_runner", NOTIFY_CRITICAL, T0 + 2);
    al[1].has_index = 1;
    al[1].log_index = 12;
    al[1].rule = "app";
    al[1].sinks = sinks;
    al[1].nsinks = 2;
    al[2] = alert("a-mal", "entry.malformed", NOTIFY_INFO, T0 + 3);
    al[2].has_index = 1;
    al[2].log_index = 13;
    p = progress(0, 15, &r);
    p.alerts = al;
    p.nalerts = 3;
    p.signings = g;
    p.nsignings = 2;
    assert_int_equal(store_commit_progress(s, id, &p, T0 + 7, NULL), 0);
    {
        struct store_alert t =
            alert("a-stale", "log.stale", NOTIFY_WARNING, T0 + 100);

        assert_int_equal(store_alert_record(s, id, &t, NULL), 0);
    }

    /* Signings: latest first, every field back. */
    assert_int_equal(store_signings_latest(s, "app", 0, sigs_fn, &sg), 0);
    assert_int_equal(sg.n, 2);
    assert_int_equal(sg.idx[0], 12);
    assert_int_equal(sg.idx[1], 10);
    assert_true(sg.ok);
    memset(&sg, 0, sizeof(sg));
    assert_int_equal(store_signings_latest(s, "app", 1, sigs_fn, &sg), 0);
    assert_int_equal(sg.n, 1);
    memset(&sg, 0, sizeof(sg));
    assert_int_equal(store_signings_latest(s, "other", 5, sigs_fn, &sg), 0);
    assert_int_equal(sg.n, 0);

    /* Alerts: newest first, by type, time range, severity, limit, log. */
    q = (struct store_alert_query){0, INT64_MAX, NULL, 0, NOTIFY_INFO, 0};
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 4);
    assert_string_equal(ids.id[0], "a-stale");
    assert_string_equal(ids.id[3], "a-rec");
    q.type = "entry.malformed";
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.id[0], "a-mal");
    q = (struct store_alert_query){T0 + 2, T0 + 4, NULL, 0, NOTIFY_INFO, 0};
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 2);
    q = (struct store_alert_query){0, INT64_MAX, NULL, 0, NOTIFY_WARNING, 0};
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 2);
    q = (struct store_alert_query){0, INT64_MAX, NULL, id + 1, NOTIFY_INFO, 0};
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 0);
    q = (struct store_alert_query){0, INT64_MAX, NULL, id, NOTIFY_INFO, 2};
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_alerts_each(s, &q, ids_fn, &ids), 0);
    assert_int_equal(ids.n, 2);
    assert_int_equal(store_alerts_each(s, &q, stop_fn, &stops), 0);
    assert_int_equal(stops, 1);

    /* Counts for a report. */
    assert_int_equal(store_counts(s, T0, T0 + 50, &c), 0);
    assert_int_equal(c.alerts[NOTIFY_INFO], 2);
    assert_int_equal(c.alerts[NOTIFY_WARNING], 0);
    assert_int_equal(c.alerts[NOTIFY_CRITICAL], 1);
    assert_int_equal(c.signings, 2);
    assert_int_equal(c.deliveries[STORE_DELIVERY_PENDING], 3);
    memset(&kv, 0, sizeof(kv));
    assert_int_equal(store_alert_counts_each(s, 0, INT64_MAX, kv_fn, &kv), 0);
    assert_int_equal(kv.n, 4);
    assert_string_equal(kv.line[0], "entry.malformed info 1");
    assert_string_equal(kv.line[1], "log.stale warning 1");
    {
        /* All time (the index-only statement) gives the same rows. */
        static struct kv all;

        memset(&all, 0, sizeof(all));
        assert_int_equal(
            store_alert_counts_each(s, INT64_MIN, INT64_MAX, kv_fn, &all), 0);
        assert_int_equal(all.n, kv.n);
        for (unsigned k = 0; k < kv.n; k++) {
            assert_string_equal(all.line[k], kv.line[k]);
        }
    }
    memset(&kv, 0, sizeof(kv));
    assert_int_equal(store_signing_counts_each(s, 0, INT64_MAX, kv_fn, &kv), 0);
    assert_int_equal(kv.n, 2);
    assert_string_equal(kv.line[0], "app allowed 1");
    assert_string_equal(kv.line[1], "app self_hosted_runner 1");
    memset(&kv, 0, sizeof(kv));
    assert_int_equal(store_signing_counts_each(s, 0, T0, kv_fn, &kv), 0);
    assert_int_equal(kv.n, 0);

    /* Outbox: due, sent, retried, failed for good. */
    memset(&du, 0, sizeof(du));
    assert_int_equal(store_deliveries_due(s, T0 + 1, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 1);
    assert_string_equal(du.what[0], "a-rec console 0 -");
    memset(&du, 0, sizeof(du));
    assert_int_equal(store_deliveries_due(s, T0 + 10, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 3);
    assert_int_equal(store_delivery_sent(s, "a-rec", "console", T0 + 11), 0);
    assert_int_equal(store_delivery_sent(s, "a-rec", "console", T0 + 11),
                     -1); /* not pending any more */
    assert_int_equal(store_delivery_failed(s, "a-shr", "pager", T0 + 11,
                                           T0 + 70, "HTTP 503"),
                     0);
    assert_int_equal(
        store_delivery_failed(s, "a-shr", "console", T0 + 11, 0, "bad URL"), 0);
    assert_int_equal(
        store_delivery_failed(s, "nope", "console", T0 + 11, 0, "x"), -1);
    memset(&du, 0, sizeof(du));
    assert_int_equal(store_deliveries_due(s, T0 + 69, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 0);
    assert_int_equal(store_deliveries_due(s, T0 + 70, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 1);
    assert_string_equal(du.what[0], "a-shr pager 1 HTTP 503");
    assert_int_equal(store_counts(s, 0, 0, &c), 0);
    assert_int_equal(c.deliveries[STORE_DELIVERY_PENDING], 1);
    assert_int_equal(c.deliveries[STORE_DELIVERY_SENT], 1);
    assert_int_equal(c.deliveries[STORE_DELIVERY_FAILED], 1);

    /* Meta and reports. */
    assert_int_equal(store_meta_get(s, "last_heartbeat", &val), 0);
    assert_null(val);
    assert_int_equal(store_meta_set_int(s, "last_heartbeat", T0 + 5), 0);
    assert_int_equal(store_meta_set_int(s, "last_heartbeat", T0 + 6), 0);
    assert_int_equal(store_meta_get_int(s, "last_heartbeat", &found, &v), 0);
    assert_true(found);
    assert_int_equal(v, T0 + 6);
    assert_int_equal(store_meta_set(s, "note", "hello"), 0);
    assert_int_equal(store_meta_get(s, "note", &val), 0);
    assert_string_equal(val, "hello");
    free(val);
    assert_int_equal(store_meta_get_int(s, "note", &found, &v), -1);
    assert_int_equal(store_meta_get_int(s, "absent", &found, &v), 0);
    assert_false(found);
    assert_int_equal(store_meta_set(s, "", "x"), -1);
    assert_int_equal(store_report_last(s, &found, &v), 0);
    assert_false(found);
    assert_int_equal(store_report_record(s, T0 + 9, T0, T0 + 8, "md",
                                         "/var/lib/tlogwatch/reports/1.md"),
                     0);
    assert_int_equal(store_report_record(s, T0 + 9, T0 + 8, T0, "md", NULL),
                     -1);
    assert_int_equal(store_report_last(s, &found, &v), 0);
    assert_true(found);
    assert_int_equal(v, T0 + 8);

    /* Logs list. */
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_logs_each(s, logs_fn, &ids), 0);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.id[0], "tessera");
    store_close(s);

    /* A read-only connection (the status command beside the daemon)
     * reads everything and writes nothing. */
    {
        char err[512];

        s = store_open(f->path, STORE_OPEN_READONLY, err, sizeof(err));
        assert_non_null(s);
        assert_int_equal(alert_count(s), 4);
        assert_int_equal(store_meta_set(s, "k", "v"), -1);
        assert_non_null(strstr(store_errmsg(s), "read-only"));
        store_close(s);
    }
}

/* ---- callbacks ------------------------------------------------------------
 */

struct reenter {
    struct store *s;
    unsigned calls;
    int again_rc, status_rc, write_rc;
    char msg[STORE_ERRMSG_MAX];
};

static int
reenter_fn(void *arg, const struct store_log_status *st)
{
    struct reenter *x = arg;
    struct store_log_status one;

    x->calls++;
    /* The listing it runs in: a reset would restart it forever. */
    x->again_rc = store_logs_each(x->s, reenter_fn, x);
    snprintf(x->msg, sizeof(x->msg), "%s", store_errmsg(x->s));
    /* Anything else works, writes included. */
    x->status_rc = store_log_status(x->s, st->log_id, &one);
    x->write_rc = store_log_success(x->s, st->log_id, T0 + 1);
    return 0;
}

/* Calling a listing again from its own callback fails cleanly and the
 * outer listing still visits every row once; its twin: other calls from
 * the callback work, and the store works normally afterwards. */
/* ---- PCR lookup state ---------------------------------------------------- */

struct pend {
    unsigned n;
    uint64_t idx[8];
    int64_t deadline[8];
    char state[8][16];
    char pcr2[8][16];
    char pcr8[8][16];
    char source[8][16];
    char note[8][64];
    char digest[8][80];
    int64_t log_id[8];
    char cert[8][80];
};

static int
pend_fn(void *arg, const struct store_signing *g)
{
    struct pend *x = arg;

    assert_true(x->n < 8);
    x->idx[x->n] = g->log_index;
    x->deadline[x->n] = g->pcrs_deadline;
    snprintf(x->state[x->n], sizeof(x->state[0]), "%s", g->pcrs_state);
    snprintf(x->pcr2[x->n], sizeof(x->pcr2[0]), "%s",
             g->pcr2 != NULL ? g->pcr2 : "-");
    snprintf(x->pcr8[x->n], sizeof(x->pcr8[0]), "%s",
             g->pcr8 != NULL ? g->pcr8 : "-");
    snprintf(x->source[x->n], sizeof(x->source[0]), "%s",
             g->pcrs_source != NULL ? g->pcrs_source : "-");
    snprintf(x->note[x->n], sizeof(x->note[0]), "%s",
             g->pcrs_note != NULL ? g->pcrs_note : "-");
    snprintf(x->digest[x->n], sizeof(x->digest[0]), "%s",
             g->artifact_digest != NULL ? g->artifact_digest : "-");
    x->log_id[x->n] = g->log_id;
    snprintf(x->cert[x->n], sizeof(x->cert[0]), "%s", g->cert_sha256);
    x->n++;
    return 0;
}

/* A pending lookup survives a reopen; its result and its alert land
 * together; a signing that is not there changes nothing. */
static void
test_signing_pcrs(void **state)
{
    struct fx *f = *state;
    const char *sinks[] = {"console"};
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_pcrs_update u;
    struct store_signing g[3];
    struct store_progress p;
    struct store_alert a;
    struct merkle_range r;
    struct pend pd;
    struct dues du;
    struct store *s;
    int64_t id;
    int fresh = -1;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 15);
    memset(g, 0, sizeof(g));
    g[0].log_index = g[0].shard_index = 3;
    g[0].uuid = "uuid-3";
    g[0].cert_sha256 = "c3";
    g[0].rule = "app";
    g[0].verdict = "allowed";
    g[0].pcrs_state = "pending";
    g[0].pcrs_deadline = T0 + 900;
    g[1] = g[0];
    g[1].log_index = g[1].shard_index = 5;
    g[1].uuid = "uuid-5";
    g[1].cert_sha256 = "c5";
    g[2] = g[0]; /* no lookup: no state given */
    g[2].log_index = g[2].shard_index = 7;
    g[2].uuid = "uuid-7";
    g[2].pcrs_state = NULL;
    g[2].pcrs_deadline = 0;
    p = progress(0, 15, &r);
    p.signings = g;
    p.nsignings = 3;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    store_close(s);

    s = open_ok(f->path);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 2);
    assert_int_equal(pd.idx[0], 3);
    assert_int_equal(pd.idx[1], 5);
    assert_int_equal(pd.deadline[0], T0 + 900);
    assert_string_equal(pd.state[0], "pending");
    /* Recorded at T0: listed from T0, not from T0 + 1. */
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, T0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 2);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, T0 + 1, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 0);

    /* Found, with an alert in the same transaction. */
    memset(&u, 0, sizeof(u));
    u.state = "found";
    u.pcr0 = "aa";
    u.pcr1 = "bb";
    u.pcr2 = "cc";
    a = alert("a-pcr", "signing.unknown_pcrs", NOTIFY_CRITICAL, T0 + 5);
    a.has_index = 1;
    a.log_index = 3;
    a.rule = "app";
    a.sinks = sinks;
    a.nsinks = 1;
    assert_int_equal(
        store_signing_set_pcrs(s, id, 3, "c3", "app", &u, &a, T0 + 5, &fresh),
        0);
    assert_int_equal(fresh, 1);
    assert_int_equal(
        store_signing_set_pcrs(s, id, 3, "c3", "app", &u, &a, T0 + 5, &fresh),
        0);
    assert_int_equal(fresh, 0); /* replay: no second alert */
    memset(&du, 0, sizeof(du));
    assert_int_equal(store_deliveries_due(s, INT64_MAX, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 1);

    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_int_equal(pd.idx[0], 5);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "app", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 3);
    assert_string_equal(pd.state[0], "none");  /* index 7 */
    assert_string_equal(pd.state[2], "found"); /* index 3 */
    assert_string_equal(pd.pcr2[2], "cc");
    assert_int_equal(pd.deadline[2], 0);

    /* Negative twins: another rule, certificate or index is no signing,
     * and the alert is not recorded either. */
    a = alert("a-pcr-2", "signing.pcrs_unavailable", NOTIFY_WARNING, T0 + 6);
    u.state = "unavailable";
    u.pcr0 = u.pcr1 = u.pcr2 = NULL;
    assert_int_equal(
        store_signing_set_pcrs(s, id, 5, "c5", "other", &u, &a, T0 + 6, NULL),
        -1);
    assert_int_equal(
        store_signing_set_pcrs(s, id, 5, "c3", "app", &u, &a, T0 + 6, NULL),
        -1);
    assert_int_equal(
        store_signing_set_pcrs(s, id, 6, "c5", "app", &u, &a, T0 + 6, NULL),
        -1);
    u.state = "bogus"; /* the schema's CHECK */
    assert_int_equal(
        store_signing_set_pcrs(s, id, 5, "c5", "app", &u, &a, T0 + 6, NULL),
        -1);
    memset(&du, 0, sizeof(du));
    assert_int_equal(store_deliveries_due(s, INT64_MAX, 0, dues_fn, &du), 0);
    assert_int_equal(du.n, 1);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);

    u.state = "unavailable";
    assert_int_equal(
        store_signing_set_pcrs(s, id, 5, "c5", "app", &u, NULL, T0 + 6, NULL),
        0);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 0);
    store_close(s);
}

static void
test_callback_reentry(void **state)
{
    struct fx *f = *state;
    struct store_log_status st;
    struct reenter x;
    int64_t a, b;

    memset(&x, 0, sizeof(x));
    x.s = open_ok(f->path);
    assert_int_equal(store_log_open(x.s, "a", "o", T0, &a), 0);
    assert_int_equal(store_log_open(x.s, "b", "o", T0, &b), 0);
    assert_int_equal(store_logs_each(x.s, reenter_fn, &x), 0);
    assert_int_equal(x.calls, 2);
    assert_int_equal(x.again_rc, -1);
    assert_non_null(strstr(x.msg, "callback"));
    assert_int_equal(x.status_rc, 0);
    assert_int_equal(x.write_rc, 0);
    assert_int_equal(store_log_status(x.s, a, &st), 0);
    assert_int_equal(st.last_success_at, T0 + 1);
    assert_int_equal(store_log_status(x.s, b, &st), 0);
    assert_int_equal(st.last_success_at, T0 + 1);
    x.calls = 0;
    assert_int_equal(store_logs_each(x.s, any_log_fn, NULL), 0);
    store_close(x.s);
}

/* ---- atomicity under SIGKILL -------------------------------------------- */

#define CRASH_N 100000 /* entries in the crash test's log */
#define CRASH_ROUNDS 40
#define CRASH_ALERT_EVERY 7
#define CRASH_SIGNING_EVERY 11
#define CRASH_BATCH_MAX 300

static void
crash_leaf(uint64_t i, uint8_t out[MERKLE_HASH_LEN])
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "entry-%" PRIu64, i);

    merkle_leaf_hash((const uint8_t *)buf, (size_t)n, out);
}

/* The child: resume from the stored cursor and commit batches until
 * killed; after its first commit returns, it writes the new cursor to
 * report_fd.  Never returns; exit code 0 done, 2 error. */
static void
crash_child(const char *path, int64_t log_id, uint64_t seed, int report_fd)
{
    static struct store_alert al[CRASH_BATCH_MAX];
    static struct store_signing sg[CRASH_BATCH_MAX];
    static char ids[CRASH_BATCH_MAX][32], uuids[CRASH_BATCH_MAX][32];
    static const char *sinks[] = {"console", "siem"};
    struct merkle_range r;
    struct store_progress p;
    struct store *s;
    uint64_t next, to, i;
    uint8_t leaf[MERKLE_HASH_LEN];
    int has;

    s = store_open(path, 0, NULL, 0);
    if (s == NULL || store_cursor_get(s, log_id, &has, &next, &r) != 0 ||
        !has) {
        _exit(2);
    }
    for (;;) {
        size_t na = 0, ns = 0;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        to = next + 1 + (seed >> 33) % CRASH_BATCH_MAX;
        if (to > CRASH_N) {
            to = CRASH_N;
        }
        for (i = next; i < to; i++) {
            crash_leaf(i, leaf);
            if (merkle_range_append(&r, leaf) != MERKLE_OK) {
                _exit(2);
            }
            if (i % CRASH_ALERT_EVERY == 0) {
                snprintf(ids[na], sizeof(ids[0]), "alert-%" PRIu64, i);
                memset(&al[na], 0, sizeof(al[0]));
                al[na].id = ids[na];
                al[na].type = "signing.unexpected";
                al[na].severity = NOTIFY_CRITICAL;
                al[na].detected_at = T0;
                al[na].has_index = 1;
                al[na].log_index = i;
                al[na].rule = "app";
                al[na].body = "{\"schema\":\"tlogwatch.alert/v1\"}";
                al[na].sinks = sinks;
                al[na].nsinks = 2;
                na++;
            }
            if (i % CRASH_SIGNING_EVERY == 0) {
                snprintf(uuids[ns], sizeof(uuids[0]), "uuid-%" PRIu64, i);
                memset(&sg[ns], 0, sizeof(sg[0]));
                sg[ns].log_index = i;
                sg[ns].shard_index = i;
                sg[ns].uuid = uuids[ns];
                sg[ns].cert_sha256 = "00";
                sg[ns].rule = "app";
                sg[ns].verdict = "unexpected";
                ns++;
            }
        }
        p = progress(next, to, &r);
        p.alerts = al;
        p.nalerts = na;
        p.signings = sg;
        p.nsignings = ns;
        if (store_commit_progress(s, log_id, &p, T0, NULL) != 0) {
            _exit(2);
        }
        if (report_fd >= 0) {
            if (write(report_fd, &to, sizeof(to)) != (ssize_t)sizeof(to)) {
                _exit(2);
            }
            close(report_fd);
            report_fd = -1;
        }
        next = to;
        if (next == CRASH_N) {
            store_close(s);
            _exit(0);
        }
    }
}

struct crash_seen {
    uint64_t cursor;
    uint64_t n;
    int bad;
};

static int
crash_alert_fn(void *arg, const struct store_alert_row *row)
{
    struct crash_seen *c = arg;
    char want[32];

    snprintf(want, sizeof(want), "alert-%" PRIu64, row->log_index);
    if (!row->has_index || row->log_index >= c->cursor ||
        row->log_index % CRASH_ALERT_EVERY != 0 || strcmp(row->id, want) != 0) {
        c->bad = 1;
    }
    c->n++;
    return 0;
}

static int
crash_signing_fn(void *arg, const struct store_signing *g)
{
    struct crash_seen *c = arg;

    if (g->log_index >= c->cursor || g->log_index % CRASH_SIGNING_EVERY) {
        c->bad = 1;
    }
    c->n++;
    return 0;
}

/*
 * Reopen after a crash and check that cursor, compact range, counters,
 * alerts, signings and deliveries are mutually consistent: the range is
 * exactly the reference range at the cursor, and the alerts and signings
 * are exactly those of the indexes below it.  ref is advanced to the
 * cursor.  0 consistent; -1 with the reason in why.
 */
static int
crash_check(const char *path, int64_t log_id, struct merkle_range *ref,
            char *why, size_t whycap)
{
    struct store_alert_query q = {0, INT64_MAX, NULL, 0, NOTIFY_INFO, 0};
    struct crash_seen ca, cs;
    struct store_log_status st;
    struct store_counts counts;
    struct merkle_range r;
    uint8_t leaf[MERKLE_HASH_LEN];
    struct store *s;
    uint64_t next, want;
    int has, rc = -1;

    s = store_open(path, 0, why, whycap);
    if (s == NULL) {
        return -1;
    }
    if (store_cursor_get(s, log_id, &has, &next, &r) != 0 ||
        store_log_status(s, log_id, &st) != 0) {
        snprintf(why, whycap, "%s", store_errmsg(s));
        goto out;
    }
    if (!has || next < ref->size || r.size != next ||
        st.next_shard_index != next || st.entries_scanned != next) {
        snprintf(why, whycap,
                 "cursor %" PRIu64 " range %" PRIu64 " scanned %" PRIu64
                 " (was %" PRIu64 ")",
                 next, r.size, st.entries_scanned, ref->size);
        goto out;
    }
    while (ref->size < next) {
        crash_leaf(ref->size, leaf);
        assert_int_equal(merkle_range_append(ref, leaf), MERKLE_OK);
    }
    if (r.nhashes != ref->nhashes ||
        memcmp(r.hashes, ref->hashes, (size_t)r.nhashes * MERKLE_HASH_LEN) !=
            0) {
        snprintf(why, whycap, "compact range differs at %" PRIu64, next);
        goto out;
    }
    memset(&ca, 0, sizeof(ca));
    ca.cursor = next;
    memset(&cs, 0, sizeof(cs));
    cs.cursor = next;
    if (store_alerts_each(s, &q, crash_alert_fn, &ca) != 0 ||
        store_signings_latest(s, "app", 0, crash_signing_fn, &cs) != 0 ||
        store_counts(s, 0, INT64_MAX, &counts) != 0) {
        snprintf(why, whycap, "%s", store_errmsg(s));
        goto out;
    }
    want = (next + CRASH_ALERT_EVERY - 1) / CRASH_ALERT_EVERY;
    if (ca.bad || ca.n != want) {
        snprintf(why, whycap,
                 "%" PRIu64 " alerts below cursor %" PRIu64 ", want %" PRIu64,
                 ca.n, next, want);
        goto out;
    }
    want = (next + CRASH_SIGNING_EVERY - 1) / CRASH_SIGNING_EVERY;
    if (cs.bad || cs.n != want) {
        snprintf(why, whycap,
                 "%" PRIu64 " signings below cursor %" PRIu64 ", want %" PRIu64,
                 cs.n, next, want);
        goto out;
    }
    if (counts.deliveries[STORE_DELIVERY_PENDING] != 2 * ca.n) {
        snprintf(why, whycap, "%" PRIu64 " deliveries for %" PRIu64 " alerts",
                 counts.deliveries[STORE_DELIVERY_PENDING], ca.n);
        goto out;
    }
    rc = 0;
out:
    store_close(s);
    return rc;
}

static void
test_crash_atomicity(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint cp;
    struct merkle_range ref, full;
    uint8_t leaf[MERKLE_HASH_LEN];
    struct store *s;
    char why[512];
    uint64_t i, seed = (uint64_t)time(NULL), last = 0;
    unsigned round, moved = 0, waited = 0;
    int64_t id;

    print_message("crash seed %" PRIu64 "\n", seed);
    /* A log whose verified checkpoint is CRASH_N leaves. */
    merkle_range_init(&full);
    for (i = 0; i < CRASH_N; i++) {
        crash_leaf(i, leaf);
        assert_int_equal(merkle_range_append(&full, leaf), MERKLE_OK);
    }
    memset(&cp, 0, sizeof(cp));
    cp.note = "crash test\n";
    cp.note_len = strlen(cp.note);
    cp.size = CRASH_N;
    merkle_range_root(&full, cp.root);
    cp.link = STORE_LINK_NONE;
    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "crash", "crash origin", T0, &id), 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0), 0);
    merkle_range_init(&ref);
    assert_int_equal(store_cursor_seed(s, id, 0, &ref, T0), 0);
    store_close(s);

    for (round = 0; round < CRASH_ROUNDS; round++) {
        struct timespec ts;
        uint64_t reported = 0;
        int fds[2], status, blind = round % 4 == 3;
        pid_t pid;

        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(f->path, id, seed, fds[1]);
        }
        close(fds[1]);
        /* Mostly: wait until a commit has returned, then kill at a random
         * moment of the commit loop.  One round in four: kill blindly,
         * maybe while the child opens the file or recovers the WAL. */
        if (!blind && read(fds[0], &reported, sizeof(reported)) !=
                          (ssize_t)sizeof(reported)) {
            reported = 0; /* the child died first: its status says why */
        }
        close(fds[0]);
        ts.tv_sec = 0;
        ts.tv_nsec = (long)((seed >> 40) % (blind ? 5000 : 10000)) * 1000L;
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
            fail_msg("round %u: child failed (%d)", round, WEXITSTATUS(status));
        }
        if (crash_check(f->path, id, &ref, why, sizeof(why)) != 0) {
            fail_msg("round %u (seed %" PRIu64 "): %s", round, seed, why);
        }
        /* A commit that returned survives the kill. */
        if (ref.size < reported) {
            fail_msg("round %u: commit to %" PRIu64 " returned, cursor at "
                     "%" PRIu64 " after the kill",
                     round, reported, ref.size);
        }
        moved += ref.size > last;
        waited += !blind;
        last = ref.size;
        if (ref.size == CRASH_N) {
            break;
        }
    }
    print_message("crash: %u rounds moved the cursor, now at %" PRIu64 "\n",
                  moved, ref.size);
    /* Every round that waited for a commit moved the cursor. */
    assert_true(moved >= waited);
    assert_true(waited > 0);
    assert_true(ref.size > 0);
}

/* Twin: the checker does catch an inconsistent state: an alert for an
 * index at or past the cursor. */
static void
test_crash_check_catches(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint cp;
    struct merkle_range ref, r;
    uint8_t leaf[MERKLE_HASH_LEN];
    struct store_alert a;
    struct store_progress p;
    struct store *s;
    char why[512];
    uint64_t i;
    int64_t id;

    merkle_range_init(&r);
    for (i = 0; i < 14; i++) {
        crash_leaf(i, leaf);
        assert_int_equal(merkle_range_append(&r, leaf), MERKLE_OK);
    }
    memset(&cp, 0, sizeof(cp));
    cp.note = "crash test\n";
    cp.note_len = strlen(cp.note);
    cp.size = 14;
    merkle_range_root(&r, cp.root);
    s = open_ok(f->path);
    assert_int_equal(store_log_open(s, "crash", "crash origin", T0, &id), 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0), 0);
    merkle_range_init(&ref);
    assert_int_equal(store_cursor_seed(s, id, 0, &ref, T0), 0);
    p = progress(0, 14, &r);
    {
        static const char *sinks[] = {"console", "siem"};
        struct store_alert al[2];
        struct store_signing sg[2];

        memset(al, 0, sizeof(al));
        memset(sg, 0, sizeof(sg));
        for (i = 0; i < 2; i++) {
            al[i].id = i ? "alert-7" : "alert-0";
            al[i].type = "signing.unexpected";
            al[i].has_index = 1;
            al[i].log_index = i * 7;
            al[i].body = "{}";
            al[i].sinks = sinks;
            al[i].nsinks = 2;
            sg[i].log_index = i * 11;
            sg[i].uuid = i ? "u11" : "u0";
            sg[i].cert_sha256 = "00";
            sg[i].rule = "app";
            sg[i].verdict = "unexpected";
        }
        p.alerts = al;
        p.nalerts = 2;
        p.signings = sg;
        p.nsignings = 2;
        assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    }
    store_close(s);
    /* Consistent so far. */
    if (crash_check(f->path, id, &ref, why, sizeof(why)) != 0) {
        fail_msg("%s", why);
    }
    /* An alert beyond the cursor (only possible outside progress). */
    s = open_ok(f->path);
    a = alert("alert-14", "signing.unexpected", NOTIFY_CRITICAL, T0);
    a.has_index = 1;
    a.log_index = 14;
    assert_int_equal(store_alert_record(s, id, &a, NULL), 0);
    store_close(s);
    assert_int_equal(crash_check(f->path, id, &ref, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "alerts below cursor"));
}

/* Copy the file at src to dst (both paths); 0 or -1. */
static int
file_copy(const char *src, const char *dst)
{
    char buf[8192];
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    size_t n;
    int rc = (in != NULL && out != NULL) ? 0 : -1;

    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (fwrite(buf, 1, n, out) != n) {
            rc = -1;
        }
    }
    if (in != NULL && ferror(in)) {
        rc = -1;
    }
    if (in != NULL) {
        fclose(in);
    }
    if (out != NULL && fclose(out) != 0) {
        rc = -1;
    }
    return rc;
}

/* ---- retention ---------------------------------------------------------- */

#define DAY 86400

struct cps {
    size_t n;
    uint64_t size[TESSERA_MAX];
};

static int
cp_sizes_fn(void *arg, const struct store_checkpoint_row *row)
{
    struct cps *c = arg;

    assert_true(c->n < TESSERA_MAX);
    c->size[c->n++] = row->size;
    return 0;
}

/* The sizes of the checkpoints a log keeps, oldest first. */
static void
cps_of(struct store *s, int64_t id, struct cps *c)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(
        store_checkpoints_each(s, id, INT64_MIN, INT64_MAX, cp_sizes_fn, c), 0);
}

/* Record the test log's checkpoints from + 1 .. upto (verified at T0 +
 * their number) after checkpoint from. */
static void
checkpoints_more(struct store *s, int64_t id, unsigned from, unsigned upto)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    struct store_checkpoint cp;
    struct tcp c, prev;
    unsigned n;
    size_t np;

    tcp_load(from, &prev);
    for (n = from + 1; n <= upto; n++) {
        tcp_load(n, &c);
        np = proof_load(prev.size, c.size, proof, MERKLE_MAX_PROOF);
        cp = tcp_cp(&c, STORE_LINK_CONSISTENCY,
                    (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
        if (store_checkpoint_record(s, id, &cp, T0 + n) != 0) {
            fail_msg("checkpoint %u: %s", n, store_errmsg(s));
        }
        tcp_free(&prev);
        prev = c;
    }
    tcp_free(&prev);
}

/* Move the cursor of log id (shard offset 0) from `from` to `to`. */
static void
follow_to(struct store *s, int64_t id, uint64_t from, uint64_t to)
{
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_progress p;
    struct merkle_range r;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, to);
    p = progress(from, to, &r);
    if (store_commit_progress(s, id, &p, T0, NULL) != 0) {
        fail_msg("commit %" PRIu64 "->%" PRIu64 ": %s", from, to,
                 store_errmsg(s));
    }
}

static struct store_prune_stats
prune_ok(struct store *s, int64_t cps, int64_t alerts, int64_t signings,
         size_t batch, int64_t now)
{
    struct store_retention r;
    struct store_prune_stats st;

    memset(&r, 0, sizeof(r));
    r.checkpoints = cps;
    r.alerts = alerts;
    r.signings = signings;
    r.batch = batch;
    memset(&st, 0xff, sizeof(st));
    if (store_prune(s, &r, now, &st) != 0) {
        fail_msg("store_prune: %s", store_errmsg(s));
    }
    return st;
}

/*
 * Checkpoints (the real test log, sizes 0..15 verified at T0 + size):
 * nothing goes without a cursor; older than the limit and below the
 * cursor goes; the cursor's own size and above, the frozen final and the
 * verified (largest) one stay however old; the log goes on afterwards.
 */
static void
test_prune_checkpoints(void **state)
{
    struct fx *f = *state;
    struct store_checkpoint_row latest;
    struct store_prune_stats st;
    enum store_frozen_result fr;
    struct store_log_status ls;
    struct store_checkpoint cp;
    struct merkle_range r;
    struct store *s;
    struct tcp c3, c15, c10;
    struct cps k;
    int64_t id;
    int found;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 3);
    /* Checkpoint 3 was the final checkpoint of the shard when it was
     * frozen (a larger one seen later is a log.inconsistent case: the
     * frozen final stays as evidence). */
    tcp_load(3, &c3);
    cp = tcp_cp(&c3, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(
        store_frozen_check(s, "tessera", c3.origin, &cp, T0, &fr, NULL), 0);
    assert_int_equal(fr, STORE_FROZEN_RECORDED);
    checkpoints_more(s, id, 3, 15);
    /* No cursor yet: the follower still has every root to check. */
    st = prune_ok(s, DAY, 0, 0, 0, T0 + 100 * DAY);
    assert_int_equal(st.checkpoints, 0);
    assert_int_equal(st.transactions, 1);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 16);

    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    follow_to(s, id, 0, 8);

    /* Retention 0 (keep forever): nothing, not even a transaction. */
    st = prune_ok(s, 0, 0, 0, 0, T0 + 100 * DAY);
    assert_int_equal(st.checkpoints, 0);
    assert_int_equal(st.transactions, 0);
    /* Cutoff T0 + 5: sizes 0..4 are older; 3 is frozen; 5 is exactly at
     * the limit and stays. */
    st = prune_ok(s, DAY, 0, 0, 0, T0 + 5 + DAY);
    assert_int_equal(st.checkpoints, 4);
    assert_int_equal(st.alerts + st.deliveries + st.signings, 0);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 12);
    assert_int_equal(k.size[0], 3);
    assert_int_equal(k.size[1], 5);
    /* Everything old: below the cursor (8) goes, 8..15 stay. */
    st = prune_ok(s, DAY, 0, 0, 0, T0 + 100 * DAY);
    assert_int_equal(st.checkpoints, 3);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 9);
    assert_int_equal(k.size[0], 3);
    assert_int_equal(k.size[1], 8);
    assert_int_equal(k.size[8], 15);
    /* The follower checks the root at 8 .. 15 on its way. */
    follow_to(s, id, 8, 15);
    st = prune_ok(s, DAY, 0, 0, 0, T0 + 100 * DAY);
    assert_int_equal(st.checkpoints, 7);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.size[0], 3);
    assert_int_equal(k.size[1], 15);
    /* Nothing more to prune: a second run deletes nothing. */
    st = prune_ok(s, DAY, 0, 0, 0, T0 + 100 * DAY);
    assert_int_equal(st.checkpoints, 0);
    store_close(s);

    /* After a reopen the log is whole: the anchor, the frozen shard, and
     * the refusals that rely on the anchor. */
    s = open_ok(f->path);
    assert_int_equal(store_checkpoint_latest(s, id, &found, &latest), 0);
    assert_true(found);
    assert_int_equal(latest.size, 15);
    store_checkpoint_row_free(&latest);
    assert_int_equal(store_log_status(s, id, &ls), 0);
    assert_true(ls.has_checkpoint && ls.frozen);
    assert_int_equal(ls.verified_size, 15);
    assert_int_equal(ls.next_shard_index, 15);
    assert_int_equal(
        store_frozen_check(s, "tessera", c3.origin, &cp, T0 + 1, &fr, NULL), 0);
    assert_int_equal(fr, STORE_FROZEN_SAME);
    tcp_load(15, &c15);
    cp = tcp_cp(&c15, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 200 * DAY), 0);
    tcp_load(10, &c10);
    cp = tcp_cp(&c10, STORE_LINK_NONE, NULL, 0);
    assert_int_equal(store_checkpoint_record(s, id, &cp, T0 + 200 * DAY), -1);
    assert_int_equal(store_log_status(s, id, &ls), 0);
    assert_int_equal(ls.verified_size, 15);
    store_close(s);
    tcp_free(&c3);
    tcp_free(&c10);
    tcp_free(&c15);
}

/* Small batches: one transaction per batch, a full batch asks for one
 * more; the result is the same as one big batch. */
static void
test_prune_batches(void **state)
{
    struct fx *f = *state;
    struct store_prune_stats st;
    struct store_alert a;
    struct merkle_range r;
    struct store *s;
    char ids[7][16];
    struct cps k;
    int64_t id;
    int i;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    follow_to(s, id, 0, 15);
    for (i = 0; i < 7; i++) {
        snprintf(ids[i], sizeof(ids[i]), "old-%d", i);
        a = alert(ids[i], "log.stale", NOTIFY_WARNING, T0 + i);
        assert_int_equal(store_alert_record(s, id, &a, NULL), 0);
    }
    /* 15 checkpoints in 4 + 4 + 4 + 3; 7 alerts in 2 + 2 + 2 + 1. */
    st = prune_ok(s, DAY, 0, 0, 4, T0 + 10 * DAY);
    assert_int_equal(st.checkpoints, 15);
    assert_int_equal(st.transactions, 4 + 0);
    st = prune_ok(s, DAY, DAY, 0, 2, T0 + 10 * DAY);
    assert_int_equal(st.checkpoints, 0);
    assert_int_equal(st.alerts, 7);
    assert_int_equal(st.transactions, 1 + 4);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.size[0], 15);
    assert_int_equal(alert_count(s), 0);
    store_close(s);
}

/* max_batches: each call stops after that many batches that deleted
 * rows, saying there is more; calls until it says no add up to the same
 * result as one call. */
static void
test_prune_max_batches(void **state)
{
    struct fx *f = *state;
    struct store_retention r;
    struct store_prune_stats st;
    struct store_alert a;
    struct merkle_range r0;
    struct store *s;
    char ids[7][16];
    uint64_t cps = 0, alerts = 0;
    unsigned calls = 0;
    struct cps k;
    int64_t id;
    int i;

    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r0);
    assert_int_equal(store_cursor_seed(s, id, 0, &r0, T0), 0);
    follow_to(s, id, 0, 15);
    for (i = 0; i < 7; i++) {
        snprintf(ids[i], sizeof(ids[i]), "old-%d", i);
        a = alert(ids[i], "log.stale", NOTIFY_WARNING, T0 + i);
        assert_int_equal(store_alert_record(s, id, &a, NULL), 0);
    }
    memset(&r, 0, sizeof(r));
    r.checkpoints = r.alerts = r.signings = DAY;
    r.batch = 4;
    r.max_batches = 1;
    do {
        assert_true(calls < 20);
        assert_int_equal(store_prune(s, &r, T0 + 10 * DAY, &st), 0);
        /* a call that asks for another has made progress */
        assert_true(!st.more || st.checkpoints + st.alerts > 0);
        cps += st.checkpoints;
        alerts += st.alerts;
        calls++;
    } while (st.more);
    /* checkpoints 4 + 4 + 4 + 3, alerts 4 + 3: one batch per call; then
     * one call finds that signings have nothing */
    assert_int_equal(calls, 7);
    assert_int_equal(cps, 15);
    assert_int_equal(alerts, 7);
    cps_of(s, id, &k);
    assert_int_equal(k.n, 1);
    assert_int_equal(alert_count(s), 0);
    /* Nothing left: one call, nothing more. */
    assert_int_equal(store_prune(s, &r, T0 + 10 * DAY, &st), 0);
    assert_false(st.more);
    assert_int_equal(st.checkpoints + st.alerts + st.signings, 0);
    store_close(s);
}

/*
 * Alerts: old ones whose deliveries are all sent or failed go with them;
 * an old one with a pending delivery (even one being retried) stays with
 * all its deliveries until it is delivered; recent ones stay.
 */
static void
test_prune_alerts(void **state)
{
    struct fx *f = *state;
    const char *two[] = {"a", "b"};
    struct store_prune_stats st;
    struct store_counts cnt;
    struct store_alert a;
    struct store *s;
    size_t due;
    const int64_t now = T0 + 2 * DAY;

    s = open_ok(f->path);
    a = alert("old-sent", "log.stale", NOTIFY_WARNING, T0);
    a.sinks = two;
    a.nsinks = 2;
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a.id = "old-sent-failed";
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a.id = "old-pending";
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a.id = "old-retrying";
    a.nsinks = 1;
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a.id = "old-nosink";
    a.nsinks = 0;
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a = alert("at-limit", "log.stale", NOTIFY_WARNING, now - DAY);
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    a = alert("recent-sent", "log.stale", NOTIFY_WARNING, now - 10);
    a.sinks = two;
    a.nsinks = 1;
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);

    assert_int_equal(store_delivery_sent(s, "old-sent", "a", T0 + 1), 0);
    assert_int_equal(store_delivery_sent(s, "old-sent", "b", T0 + 1), 0);
    assert_int_equal(store_delivery_sent(s, "old-sent-failed", "a", T0 + 1), 0);
    assert_int_equal(
        store_delivery_failed(s, "old-sent-failed", "b", T0 + 1, 0, "gone"), 0);
    assert_int_equal(store_delivery_sent(s, "old-pending", "a", T0 + 1), 0);
    assert_int_equal(store_delivery_failed(s, "old-retrying", "a", T0 + 1,
                                           now + 60, "timeout"),
                     0);
    assert_int_equal(store_delivery_sent(s, "recent-sent", "a", now - 5), 0);
    assert_int_equal(alert_count(s), 7);

    /* Retention 0 for alerts: nothing. */
    st = prune_ok(s, 0, 0, DAY, 0, now);
    assert_int_equal(st.alerts, 0);
    assert_int_equal(alert_count(s), 7);

    st = prune_ok(s, 0, DAY, 0, 0, now);
    assert_int_equal(st.alerts, 3);     /* sent, sent+failed, no sink */
    assert_int_equal(st.deliveries, 4); /* their four */
    assert_int_equal(alert_count(s), 4);
    assert_int_equal(store_counts(s, 0, INT64_MAX, &cnt), 0);
    assert_int_equal(cnt.deliveries[STORE_DELIVERY_PENDING], 2);
    assert_int_equal(cnt.deliveries[STORE_DELIVERY_SENT], 2);
    assert_int_equal(cnt.deliveries[STORE_DELIVERY_FAILED], 0);
    /* The pending ones are still due (the retried one at its time). */
    due = 0;
    assert_int_equal(store_deliveries_due(s, now, 0, delivery_count_fn, &due),
                     0);
    assert_int_equal(due, 1);
    due = 0;
    assert_int_equal(
        store_deliveries_due(s, now + 60, 0, delivery_count_fn, &due), 0);
    assert_int_equal(due, 2);

    /* Once delivered (or failed for good), they go too. */
    assert_int_equal(store_delivery_sent(s, "old-pending", "b", now), 0);
    assert_int_equal(
        store_delivery_failed(s, "old-retrying", "a", now + 60, 0, "gone"), 0);
    st = prune_ok(s, 0, DAY, 0, 0, now);
    assert_int_equal(st.alerts, 2);
    assert_int_equal(st.deliveries, 3);
    assert_int_equal(alert_count(s), 2);
    /* "at-limit" is now older than the limit. */
    st = prune_ok(s, 0, DAY, 0, 0, now + 1);
    assert_int_equal(st.alerts, 1);
    assert_int_equal(alert_count(s), 1);
    /* The same id again is a new alert (the old one is gone): a replay
     * after the retention period re-notifies, it never loses one. */
    a = alert("old-sent", "log.stale", NOTIFY_WARNING, T0);
    a.sinks = two;
    a.nsinks = 1;
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    assert_int_equal(alert_count(s), 2);
    store_close(s);
}

/*
 * Signings: old ones go unless a PCR lookup is pending; a lookup that
 * ends lets its signing go at the next prune.
 */
static void
test_prune_signings(void **state)
{
    struct fx *f = *state;
    struct store_pcrs_update u;
    struct store_prune_stats st;
    struct store_signing g[4];
    struct store_progress p;
    struct merkle_range r;
    struct store *s;
    struct pend pd;
    int64_t id;
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    memset(g, 0, sizeof(g));
    g[0].log_index = g[0].shard_index = 3;
    g[0].uuid = "uuid-3";
    g[0].cert_sha256 = "c3";
    g[0].rule = "app";
    g[0].verdict = "allowed";
    g[0].pcrs_state = "pending";
    g[1] = g[0];
    g[1].log_index = g[1].shard_index = 5;
    g[1].uuid = "uuid-5";
    g[2] = g[0];
    g[2].log_index = g[2].shard_index = 7;
    g[2].uuid = "uuid-7";
    g[2].pcrs_state = NULL; /* none */
    g[3] = g[2];
    g[3].log_index = g[3].shard_index = 9;
    g[3].uuid = "uuid-9";
    g[3].pcrs_state = "unavailable";
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 15);
    p = progress(0, 15, &r);
    p.signings = g;
    p.nsignings = 4;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);

    /* Recorded exactly at the limit: kept. */
    st = prune_ok(s, 0, 0, DAY, 0, T0 + DAY);
    assert_int_equal(st.signings, 0);
    /* Older: "none" and "unavailable" go, the two pending stay. */
    st = prune_ok(s, 0, 0, DAY, 0, T0 + DAY + 1);
    assert_int_equal(st.signings, 2);
    assert_int_equal(st.checkpoints + st.alerts, 0);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "app", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 2);
    /* One lookup ends: that signing goes next time, the other stays. */
    memset(&u, 0, sizeof(u));
    u.state = "found";
    u.pcr0 = "aa";
    u.pcr1 = "bb";
    u.pcr2 = "cc";
    assert_int_equal(store_signing_set_pcrs(s, id, 3, "c3", "app", &u, NULL,
                                            T0 + 2 * DAY, NULL),
                     0);
    st = prune_ok(s, 0, 0, DAY, 0, T0 + 2 * DAY);
    assert_int_equal(st.signings, 1);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_int_equal(pd.idx[0], 5);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "app", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    store_close(s);
}

/* Twins of the above: what store_prune refuses, deleting nothing. */
static void
test_prune_refusals(void **state)
{
    struct fx *f = *state;
    struct store_retention r;
    struct store_prune_stats st;
    struct store_alert a;
    struct store *s;
    char err[512];

    s = open_ok(f->path);
    a = alert("old", "log.stale", NOTIFY_WARNING, T0);
    assert_int_equal(store_alert_record(s, 0, &a, NULL), 0);
    memset(&r, 0, sizeof(r));
    r.alerts = DAY;
    assert_int_equal(store_prune(s, NULL, T0 + 9 * DAY, &st), -1);
    r.batch = STORE_PRUNE_BATCH + 1;
    assert_int_equal(store_prune(s, &r, T0 + 9 * DAY, &st), -1);
    assert_non_null(strstr(store_errmsg(s), "batch"));
    r.batch = 0;
    r.signings = -1;
    assert_int_equal(store_prune(s, &r, T0 + 9 * DAY, &st), -1);
    assert_non_null(strstr(store_errmsg(s), "negative"));
    assert_int_equal(st.alerts, 0);
    r.signings = 0;
    r.alerts = INT64_MAX;
    assert_int_equal(store_prune(s, &r, -2, &st), -1);
    assert_int_equal(alert_count(s), 1);
    store_close(s);

    /* Read-only: refused, the file is left as is. */
    s = store_open(f->path, STORE_OPEN_READONLY, err, sizeof(err));
    assert_non_null(s);
    r.alerts = DAY;
    assert_int_equal(store_prune(s, &r, T0 + 9 * DAY, &st), -1);
    assert_int_equal(st.alerts, 0);
    assert_int_equal(alert_count(s), 1);
    store_close(s);
    /* The twin: read-write, it goes. */
    s = open_ok(f->path);
    assert_int_equal(store_prune(s, &r, T0 + 9 * DAY, NULL), 0);
    assert_int_equal(alert_count(s), 0);
    store_close(s);
}

/*
 * A state file written by the version-1 release (tests/data/state-v1.db,
 * made by tests/data/make-state-v1.sh with the build of c3d9533: one
 * signing pending a PCR lookup under rule "app", one recorded under
 * "other", and their alerts) migrates to the current schema in place:
 * nothing is lost, the pending lookup is still pending, and the new
 * columns (PCR8, source, note) start empty and can be written; the
 * schema 3 retention rules apply to it (store_prune).
 */
static void
test_migrate_from_v1_release(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("TLOGWATCH_SRC");
    char v1[1024], err[512], cert[80];
    struct store_pcrs_update u;
    struct store_prune_stats ps;
    struct store_retention rt;
    struct store_log_status st;
    struct store *s;
    struct pend pd;
    int64_t id;

    assert_non_null(src);
    snprintf(v1, sizeof(v1), "%s/tests/data/state-v1.db", src);
    assert_int_equal(file_copy(v1, f->path), 0);
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION), 1);
    /* Read-only: refused until a writer migrates it, and left as is. */
    assert_null(store_open(f->path, STORE_OPEN_READONLY, err, sizeof(err)));
    assert_non_null(strstr(err, "migrat"));
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION), 1);

    s = open_ok(f->path);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_int_equal(pd.idx[0], 20);
    assert_string_equal(pd.state[0], "pending");
    assert_string_equal(pd.pcr8[0], "-");
    assert_string_equal(pd.source[0], "-");
    assert_true(strncmp(pd.digest[0], "sha256:", 7) == 0);
    id = pd.log_id[0];
    snprintf(cert, sizeof(cert), "%s", pd.cert[0]);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "other", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_string_equal(pd.state[0], "none");
    store_close(s);
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION),
                     STORE_SCHEMA_VERSION);

    /* The migrated file is an ordinary current one: PCR8, source and
     * note are written with the PCRs; a source outside the CHECK is not. */
    s = open_ok(f->path);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_true(st.has_cursor);
    /* Retention on a migrated file: the signing pending its lookup and
     * the verified checkpoint stay, the other signing goes. */
    memset(&rt, 0, sizeof(rt));
    rt.checkpoints = rt.alerts = rt.signings = 86400;
    /* long after the release wrote it */
    assert_int_equal(store_prune(s, &rt, INT64_C(4000000000), &ps), 0);
    assert_int_equal(ps.signings, 1);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "other", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 0);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_pending(s, INT64_MIN, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_int_equal(store_log_status(s, id, &st), 0);
    assert_true(st.has_checkpoint);
    memset(&u, 0, sizeof(u));
    u.state = "found";
    u.pcr0 = "p0";
    u.pcr1 = "p1";
    u.pcr2 = "p2";
    u.pcr8 = "p8";
    u.source = "bogus";
    assert_int_equal(
        store_signing_set_pcrs(s, id, 20, cert, "app", &u, NULL, T0, NULL), -1);
    u.source = "signature";
    u.note = "found on the second attempt";
    assert_int_equal(
        store_signing_set_pcrs(s, id, 20, cert, "app", &u, NULL, T0, NULL), 0);
    memset(&pd, 0, sizeof(pd));
    assert_int_equal(store_signings_latest(s, "app", 0, pend_fn, &pd), 0);
    assert_int_equal(pd.n, 1);
    assert_string_equal(pd.state[0], "found");
    assert_string_equal(pd.pcr8[0], "p8");
    assert_string_equal(pd.source[0], "signature");
    assert_string_equal(pd.note[0], "found on the second attempt");
    assert_true(strncmp(pd.digest[0], "sha256:", 7) == 0); /* kept */
    store_close(s);
}

/* ---- CT certificates ------------------------------------------------- */

static struct store_ct_cert
ct_cert(const char *link, uint64_t index, int64_t deadline)
{
    struct store_ct_cert c;

    memset(&c, 0, sizeof(c));
    c.link_id = link;
    c.rule = "app";
    c.log_index = index;
    c.leaf_hash = "1eaf";
    c.entry_type = "precert";
    c.cert_sha256 = "ce27";
    c.not_before = deadline - 60;
    c.deadline = deadline;
    c.verdict = "allowed";
    c.alert = "{\"schema\":\"tlogwatch.alert/v1\",\"id\":\"u\"}";
    return c;
}

struct ct_due {
    size_t n;
    char link[4][8];
};

static int
ct_due_fn(void *arg, const struct store_ct_cert *c)
{
    struct ct_due *d = arg;

    assert_string_equal(c->state, "pending");
    assert_true(d->n < 4);
    snprintf(d->link[d->n++], sizeof(d->link[0]), "%s", c->link_id);
    return 0;
}

static size_t
ct_due(struct store *s, int64_t until, struct ct_due *d)
{
    memset(d, 0, sizeof(*d));
    assert_int_equal(store_ct_certs_due(s, INT64_MIN, until, 0, ct_due_fn, d),
                     0);
    return d->n;
}

static const char *
ct_state(struct store *s, const char *link, char *buf, size_t cap)
{
    struct store_ct_cert c;
    int found;

    assert_int_equal(store_ct_cert_get(s, link, "app", &found, &c, buf, cap),
                     0);
    return found ? c.state : "absent";
}

/*
 * CT certificates wait for a signing with their link id: "aa" never gets
 * one and fires once at its deadline (an alert with its deliveries; never
 * again, also after a reopen); "bb" is logged by a later signing and
 * never fires; "cc" was logged before it was seen (the signing is in the
 * same batch, as when the Rekor follower is ahead of the CT one).  A row
 * outside its batch, or without its alert, is refused.
 */
static void
test_ct_certs(void **state)
{
    struct fx *f = *state;
    const char *sinks[] = {"slack"};
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_ct_cert cts[3], bad, more[2];
    struct store_retention rt;
    struct store_prune_stats ps;
    struct store_signing g;
    struct store_progress p;
    struct store_alert a;
    struct merkle_range r;
    struct ct_due d;
    struct store *s;
    char buf[4096];
    size_t due = 0;
    int64_t id;
    int fired;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    cts[0] = ct_cert("aa", 2, T0 + 100);
    cts[1] = ct_cert("bb", 3, T0 + 100);
    cts[2] = ct_cert("cc", 3, T0 + 100);
    memset(&g, 0, sizeof(g));
    g.uuid = "u4";
    g.cert_sha256 = "c4";
    g.rule = "app";
    g.verdict = "allowed";
    g.log_index = 4;
    g.shard_index = 4;
    g.link_id = "cc";
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    p = progress(0, 5, &r);
    p.ct_certs = cts;
    p.nct_certs = 3;
    p.signings = &g;
    p.nsignings = 1;
    /* refusals first: nothing is written */
    bad = ct_cert("dd", 7, T0);
    p.ct_certs = &bad;
    p.nct_certs = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    assert_non_null(strstr(store_errmsg(s), "outside the batch"));
    bad.log_index = 1;
    bad.alert = NULL;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), -1);
    p.ct_certs = cts;
    p.nct_certs = 3;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    assert_string_equal(ct_state(s, "aa", buf, sizeof(buf)), "pending");
    assert_string_equal(ct_state(s, "cc", buf, sizeof(buf)), "logged");
    assert_string_equal(ct_state(s, "dd", buf, sizeof(buf)), "absent");

    /* not due before the deadline; then aa and bb */
    assert_int_equal(ct_due(s, T0 + 99, &d), 0);
    assert_int_equal(ct_due(s, T0 + 100, &d), 2);
    /* issued before since: never judged */
    memset(&d, 0, sizeof(d));
    assert_int_equal(
        store_ct_certs_due(s, T0 + 41, INT64_MAX, 0, ct_due_fn, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(
        store_ct_certs_due(s, T0 + 40, INT64_MAX, 1, ct_due_fn, &d), 0);
    assert_int_equal(d.n, 1);

    /* a later signing logs bb (any log, any rule); seen again, bb keeps
     * its state */
    g.uuid = "u7";
    g.log_index = 7;
    g.shard_index = 7;
    g.link_id = "bb";
    g.rule = "another";
    more[0] = cts[1];
    more[0].log_index = 8;
    more[1] = ct_cert("ee", 9, T0 + 1000000);
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 10);
    p = progress(5, 10, &r);
    p.signings = &g;
    p.nsignings = 1;
    p.ct_certs = more;
    p.nct_certs = 2;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    assert_string_equal(ct_state(s, "bb", buf, sizeof(buf)), "logged");
    assert_int_equal(ct_due(s, T0 + 100, &d), 1);
    assert_string_equal(d.link[0], "aa");

    /* aa fires once, with its delivery */
    a = alert("unlogged-aa", "signing.unlogged_certificate", NOTIFY_WARNING,
              T0 + 101);
    a.sinks = sinks;
    a.nsinks = 1;
    assert_int_equal(store_ct_cert_fire(s, "aa", "app", id, &a, &fired), 0);
    assert_int_equal(fired, 1);
    assert_int_equal(store_ct_cert_fire(s, "aa", "app", id, &a, &fired), 0);
    assert_int_equal(fired, 0);
    assert_int_equal(alert_count(s), 1);
    assert_int_equal(
        store_deliveries_due(s, T0 + 200, 0, delivery_count_fn, &due), 0);
    assert_int_equal(due, 1);
    assert_int_equal(ct_due(s, T0 + 999999, &d), 0); /* ee: later */
    /* bb is logged: firing it records nothing */
    a.id = "unlogged-bb";
    assert_int_equal(store_ct_cert_fire(s, "bb", "app", id, &a, &fired), 0);
    assert_int_equal(fired, 0);
    assert_int_equal(alert_count(s), 1);
    store_close(s);

    /* a restart: the same states, nothing due, nothing fires twice */
    s = open_ok(f->path);
    assert_string_equal(ct_state(s, "aa", buf, sizeof(buf)), "unlogged");
    assert_string_equal(ct_state(s, "bb", buf, sizeof(buf)), "logged");
    assert_int_equal(ct_due(s, T0 + 999999, &d), 0); /* ee: later */
    a.id = "unlogged-aa";
    assert_int_equal(store_ct_cert_fire(s, "aa", "app", id, &a, &fired), 0);
    assert_int_equal(fired, 0);
    assert_int_equal(alert_count(s), 1);

    /* retention (the signings'): the judged rows go, the pending stays */
    memset(&rt, 0, sizeof(rt));
    rt.signings = 86400;
    assert_int_equal(store_prune(s, &rt, T0 + 86400, &ps), 0);
    assert_int_equal(ps.ct_certs, 0); /* not older than a day yet */
    assert_int_equal(store_prune(s, &rt, T0 + 86401, &ps), 0);
    assert_int_equal(ps.ct_certs, 3);
    assert_string_equal(ct_state(s, "aa", buf, sizeof(buf)), "absent");
    assert_string_equal(ct_state(s, "cc", buf, sizeof(buf)), "absent");
    assert_string_equal(ct_state(s, "ee", buf, sizeof(buf)), "pending");
    store_close(s);
}

struct ct_seen {
    size_t n;
    char link[8][8];
    char state[8][12];
    int64_t judged[8];
    uint64_t count[3]; /* app: pending, logged, unlogged */
};

static int
ct_seen_fn(void *arg, const struct store_ct_cert *c)
{
    struct ct_seen *d = arg;

    assert_true(d->n < 8);
    snprintf(d->link[d->n], sizeof(d->link[0]), "%s", c->link_id);
    snprintf(d->state[d->n], sizeof(d->state[0]), "%s", c->state);
    d->judged[d->n++] = c->judged_at;
    return 0;
}

static int
ct_count_fn(void *arg, const char *rule, const char *state, uint64_t count)
{
    struct ct_seen *d = arg;

    assert_string_equal(rule, "app");
    if (strcmp(state, "pending") == 0) {
        d->count[0] = count;
    } else if (strcmp(state, "logged") == 0) {
        d->count[1] = count;
    } else if (strcmp(state, "unlogged") == 0) {
        d->count[2] = count;
    } else {
        fail_msg("state %s", state);
    }
    return 0;
}

/*
 * Schema 7 keeps when a CT certificate was judged (judged_at) and indexes
 * what the read model lists.  A file of schema 6 with a pending, a logged
 * and an unlogged certificate (made here by taking schema 7's additions
 * off a current file with the sqlite3 shell: the v6 shape exactly)
 * migrates: the unlogged one takes its alert's detected_at, the others
 * none; then new judgements record their time.  Listings: the latest of a
 * rule (newest first, bounded), the counts per state, the unlogged ones
 * of a period.
 */
static void
test_migrate_v6_ct_judged(void **state)
{
    struct fx *f = *state;
    uint8_t leaves[TESSERA_MAX][MERKLE_HASH_LEN];
    struct store_ct_cert cts[3];
    struct store_signing g;
    struct store_progress p;
    struct store_alert a;
    struct merkle_range r;
    struct ct_seen d;
    struct store *s;
    char cmd[1024];
    int64_t id;
    int fired;

    assert_int_equal(leaves_load(leaves, TESSERA_MAX), 15);
    s = open_ok(f->path);
    id = log_with_checkpoints(s, 15);
    merkle_range_init(&r);
    assert_int_equal(store_cursor_seed(s, id, 0, &r, T0), 0);
    cts[0] = ct_cert("aa", 2, T0 + 100);
    cts[0].alert = "{\"schema\":\"tlogwatch.alert/v1\",\"id\":\"unlogged-aa\"}";
    cts[1] = ct_cert("bb", 3, T0 + 100);
    cts[2] = ct_cert("cc", 3, T0 + 100);
    memset(&g, 0, sizeof(g));
    g.uuid = "u4";
    g.cert_sha256 = "c4";
    g.rule = "app";
    g.verdict = "allowed";
    g.log_index = 4;
    g.shard_index = 4;
    g.link_id = "cc";
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 5);
    p = progress(0, 5, &r);
    p.ct_certs = cts;
    p.nct_certs = 3;
    p.signings = &g;
    p.nsignings = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0, NULL), 0);
    a = alert("unlogged-aa", "signing.unlogged_certificate", NOTIFY_WARNING,
              T0 + 101);
    assert_int_equal(store_ct_cert_fire(s, "aa", "app", id, &a, &fired), 0);
    assert_int_equal(fired, 1);
    store_close(s);

    /* back to the shape of schema 6 */
    snprintf(cmd, sizeof(cmd),
             "sqlite3 '%s' 'DROP INDEX ct_certs_rule; DROP INDEX "
             "ct_certs_state; DROP INDEX ct_certs_unlogged; ALTER TABLE "
             "ct_certs DROP COLUMN judged_at; PRAGMA user_version = 6;'",
             f->path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(file_get_u32(f->path, HDR_USER_VERSION), 6);

    s = open_ok(f->path);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    assert_int_equal(STORE_SCHEMA_VERSION, 7);
    memset(&d, 0, sizeof(d));
    assert_int_equal(store_ct_certs_latest(s, "app", 0, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 3);
    /* same recorded_at: the higher CT index first; aa judged at its
     * alert, cc (logged before schema 7) and bb (pending) not */
    assert_string_equal(d.link[2], "aa");
    assert_string_equal(d.state[2], "unlogged");
    assert_int_equal(d.judged[2], T0 + 101);
    assert_int_equal(d.judged[0], 0);
    assert_int_equal(d.judged[1], 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(store_ct_certs_latest(s, "app", 2, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 2);
    memset(&d, 0, sizeof(d));
    assert_int_equal(store_ct_certs_latest(s, "other", 0, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(store_ct_cert_counts_each(s, ct_count_fn, &d), 0);
    assert_int_equal(d.count[0], 1);
    assert_int_equal(d.count[1], 1);
    assert_int_equal(d.count[2], 1);
    /* the unlogged ones of a period: [since, until) of judged_at */
    memset(&d, 0, sizeof(d));
    assert_int_equal(
        store_ct_certs_unlogged(s, T0 + 101, T0 + 102, 0, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 1);
    memset(&d, 0, sizeof(d));
    assert_int_equal(
        store_ct_certs_unlogged(s, T0, T0 + 101, 0, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 0);

    /* after the migration, bb's signing arrives: judged now */
    g.uuid = "u7";
    g.log_index = 7;
    g.shard_index = 7;
    g.link_id = "bb";
    range_upto(&r, (const uint8_t(*)[MERKLE_HASH_LEN])leaves, 8);
    p = progress(5, 8, &r);
    p.signings = &g;
    p.nsignings = 1;
    assert_int_equal(store_commit_progress(s, id, &p, T0 + 500, NULL), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(store_ct_certs_latest(s, "app", 0, ct_seen_fn, &d), 0);
    assert_int_equal(d.n, 3);
    {
        size_t k = strcmp(d.link[0], "bb") == 0 ? 0 : 1;

        assert_string_equal(d.link[k], "bb");
        assert_string_equal(d.state[k], "logged");
        assert_int_equal(d.judged[k], T0 + 500);
    }
    store_close(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_ct_certs),
        T(test_migrate_v6_ct_judged),
        T(test_create_reopen),
        T(test_create_reopen_negative),
        T(test_migrate_from_empty_file),
        T(test_migrate_readonly_refused),
        T(test_migrate_from_v1_release),
        T(test_newer_version_refused),
        T(test_current_version_patch_opens),
        T(test_foreign_database_refused),
        T(test_garbage_refused),
        T(test_corrupt_file_is_an_error),
        T(test_checkpoint_history),
        T(test_checkpoint_refusals),
        T(test_progress_follows_real_log),
        T(test_progress_refusals),
        T(test_seed_checked),
        T(test_alert_idempotent),
        T(test_record_ahead),
        T(test_alert_distinct_ids),
        T(test_frozen_shard),
        T(test_frozen_shard_changed),
        T(test_recent_errors_bounded),
        T(test_recent_errors_per_log),
        T(test_name_errors),
        T(test_history_bounded),
        T(test_read_back_everything),
        T(test_signing_pcrs),
        T(test_callback_reentry),
        T(test_crash_atomicity),
        T(test_crash_check_catches),
        T(test_prune_checkpoints),
        T(test_prune_batches),
        T(test_prune_max_batches),
        T(test_prune_alerts),
        T(test_prune_signings),
        T(test_prune_refusals),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
