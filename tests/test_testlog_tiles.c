/*
 * test_testlog_tiles.c: tlogwatch-testlog --tiles, the Rekor v2 view (C2SP
 * tlog-tiles read API), tested from outside: every test starts the real
 * binary ($TLOGWATCH_TESTLOG) on a free loopback port with a temporary
 * --dir, reads what it serves over HTTP with libcurl, and checks it with
 * verifiers that share nothing with the log:
 *
 *  - checkpoints with merkle/note.h and the vkey file the log wrote; the
 *    trusted_root.json entry's logId recomputed from origin and key;
 *  - the tree: every hash tile and entry bundle of a ~70,000-entry log is
 *    fetched, and the root is recomputed here (OpenSSL SHA-256, RFC 6962)
 *    from the level-0 tiles and, independently, from the entry bundles'
 *    leaf hashes; level-1 and level-2 nodes are recomputed from leaves;
 *  - the shapes against real data read at run time from
 *    $TLOGWATCH_TESTDATA/rekor-v2: entry bodies against production's
 *    log2025-1 hashedrekord 0.0.2 body, the checkpoint against its signed
 *    note, and this file's own tile readers against a real Tessera log
 *    (tessera-testlog/), so that they cannot agree with a wrong server;
 *  - misbehaviour (fork, rollback, wrong key, tamper, 429 / 503, withheld
 *    bundles, impossible checkpoints, padded and trickled bundles), each
 *    visible in what is served and gone when switched off;
 *  - --prefix: the API under /api/v2, the bare paths 404.
 * The log is stopped with SIGTERM and must exit 0 (ASan: no leak).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
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
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "merkle/merkle.h"
#include "merkle/note.h"

extern char **environ;

#define BIG_LOG "70000" /* 273 full level-0 tiles, a level-1 and -2 tile */

struct tlog {
    pid_t pid;
    char dir[256];
    char url[128];  /* the read API's URL (with --prefix: under it) */
    char base[128]; /* http://HOST:PORT: trusted_root.json, /admin/ */
    char origin[160];
    uint8_t raw_key[32];        /* Ed25519 key from trusted_root.json */
    struct merkle_note_key *vk; /* from tiles-log.vkey */
};

/* Logs started and not yet stopped, so that main can stop those a failed
 * test left behind (cmocka leaves a test by longjmp). */
#define MAX_LIVE 16
static struct {
    pid_t pid;
    char dir[256];
} live[MAX_LIVE];

struct resp {
    long status;
    char *body;
    size_t len;
    char retry_after[32];
};

struct cp {
    uint64_t size;
    uint8_t root[32];
};

/* ------------------------------------------------------------ helpers */

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    p = malloc((size_t)n + 1);
    if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    p[n] = '\0';
    fclose(f);
    if (len != NULL) {
        *len = (size_t)n;
    }
    return p;
}

static const char *
testdata(void)
{
    const char *d = getenv("TLOGWATCH_TESTDATA");

    assert_non_null(d);
    return d;
}

/* Standard base64; new buffer (NUL-terminated), or NULL. */
static uint8_t *
b64dec(const char *s, size_t n, size_t *outlen)
{
    uint8_t *out = malloc(n / 4 * 3 + 4);
    long r;

    *outlen = 0;
    assert_non_null(out);
    r = merkle_b64_decode(s, n, out, n / 4 * 3 + 3);
    if (r < 0) {
        free(out);
        return NULL;
    }
    *outlen = (size_t)r;
    out[r] = 0;
    return out;
}

static void
leaf_hash(const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    static const uint8_t zero = 0;

    assert_non_null(c);
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(c, &zero, 1), 1);
    assert_int_equal(EVP_DigestUpdate(c, p, n), 1);
    assert_int_equal(EVP_DigestFinal_ex(c, out, NULL), 1);
    EVP_MD_CTX_free(c);
}

static void
node_hash(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t buf[65];

    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    SHA256(buf, sizeof(buf), out);
}

/* RFC 6962 MTH(D[0:n]) of leaf hashes, written here from the RFC. */
static void
mth(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    uint8_t l[32], r[32];
    uint64_t k = 1;

    if (n == 0) {
        SHA256((const unsigned char *)"", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    while (k * 2 < n) {
        k *= 2;
    }
    mth(leaves, k, l);
    mth(leaves + k, n - k, r);
    node_hash(l, r, out);
}

static size_t
body_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    char *nb = realloc(r->body, r->len + sz * n + 1);

    assert_non_null(nb);
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t
header_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n;

    if (len > 13 && strncasecmp(p, "Retry-After:", 12) == 0) {
        size_t i = 12, j = 0;

        while (i < len && p[i] == ' ') {
            i++;
        }
        while (i < len && p[i] != '\r' && p[i] != '\n' &&
               j + 1 < sizeof(r->retry_after)) {
            r->retry_after[j++] = p[i++];
        }
        r->retry_after[j] = '\0';
    }
    return len;
}

/* GET (post == NULL) or POST a JSON body to base + path. */
static void
http_at(const char *base, const char *path, const char *post, struct resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512];

    assert_non_null(c);
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (post != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    }
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        assert_non_null(r->body);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* The same under the read API's URL. */
static void
http(const struct tlog *t, const char *path, const char *post, struct resp *r)
{
    http_at(t->url, path, post, r);
}

static long
status_of(const struct tlog *t, const char *path)
{
    struct resp r;

    http(t, path, NULL, &r);
    free(r.body);
    return r.status;
}

static json_t *
parse_json(const char *s, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(s, n, 0, &e);

    if (j == NULL) {
        fail_msg("JSON: %s in %.200s", e.text, s);
    }
    return j;
}

static json_t *
admin(const struct tlog *t, const char *op, const char *json)
{
    char path[128];
    struct resp r;
    json_t *j;

    snprintf(path, sizeof(path), "/admin/%s", op);
    http_at(t->base, path, json, &r); /* NULL: GET */
    if (r.status != 200) {
        fail_msg("%s: HTTP %ld: %.300s", path, r.status, r.body);
    }
    j = parse_json(r.body, r.len);
    free(r.body);
    return j;
}

static long
admin_status(const struct tlog *t, const char *op, const char *json)
{
    char path[128];

    snprintf(path, sizeof(path), "/admin/%s", op);
    {
        struct resp r;

        http_at(t->base, path, json, &r);
        free(r.body);
        return r.status;
    }
}

/* The raw Ed25519 key of a PEM public key file. */
static void
pem_raw_key(const char *path, uint8_t raw[32])
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;
    size_t n = 32;

    assert_non_null(f);
    k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_id(k), EVP_PKEY_ED25519);
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
    assert_int_equal(n, 32);
    EVP_PKEY_free(k);
}

/* SHA-256(name || 0x0A || 0x01 || key): the C2SP key id / Rekor v2 log id,
 * computed here from the spec. */
static void
v2_log_id(const char *name, const uint8_t raw[32], uint8_t out[32])
{
    uint8_t buf[512];
    size_t n = strlen(name);

    assert_true(n + 34 <= sizeof(buf));
    memcpy(buf, name, n);
    buf[n] = 0x0a;
    buf[n + 1] = 0x01;
    memcpy(buf + n + 2, raw, 32);
    SHA256(buf, n + 34, out);
}

/* trusted_root.json: one tlogs[] entry for our URL, PKIX_ED25519, whose
 * logId is the v2 log id of (origin, key). */
static void
check_trusted_root(struct tlog *t)
{
    char path[512], *text;
    json_t *root, *tl, *pk;
    const char *s;
    uint8_t *der, id[32], spki_id[32], *lid;
    const unsigned char *p;
    size_t n = 0, m = 0, rawn = 32;
    EVP_PKEY *k;

    snprintf(path, sizeof(path), "%s/trusted_root.json", t->dir);
    text = read_file(path, NULL);
    assert_non_null(text);
    root = parse_json(text, strlen(text));
    free(text);
    assert_int_equal(json_array_size(json_object_get(root, "tlogs")), 1);
    tl = json_array_get(json_object_get(root, "tlogs"), 0);
    assert_string_equal(json_string_value(json_object_get(tl, "baseUrl")),
                        t->base);
    pk = json_object_get(tl, "publicKey");
    assert_string_equal(json_string_value(json_object_get(pk, "keyDetails")),
                        "PKIX_ED25519");
    s = json_string_value(json_object_get(pk, "rawBytes"));
    assert_non_null(s);
    der = b64dec(s, strlen(s), &n);
    assert_non_null(der);
    assert_int_equal(n, 44); /* Ed25519 SubjectPublicKeyInfo */
    p = der;
    k = d2i_PUBKEY(NULL, &p, (long)n);
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_id(k), EVP_PKEY_ED25519);
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, t->raw_key, &rawn), 1);
    EVP_PKEY_free(k);
    SHA256(der, n, spki_id); /* Rekor v1's log id, for the twin below */
    free(der);
    s = json_string_value(
        json_object_get(json_object_get(tl, "logId"), "keyId"));
    assert_non_null(s);
    lid = b64dec(s, strlen(s), &m);
    assert_non_null(lid);
    assert_int_equal(m, 32);
    v2_log_id(t->origin, t->raw_key, id);
    assert_memory_equal(lid, id, 32);
    /* negative twin: Rekor v1's SHA-256(SPKI) is not it */
    assert_memory_not_equal(lid, spki_id, 32);
    free(lid);
    json_decref(root);
}

static void
forget(pid_t pid)
{
    int i;

    for (i = 0; i < MAX_LIVE; i++) {
        if (live[i].pid == pid) {
            live[i].pid = 0;
        }
    }
}

static void rm_dir(const char *dir);

/* Stop what failed tests left running. */
static void
stop_leftovers(void)
{
    int i;

    for (i = 0; i < MAX_LIVE; i++) {
        if (live[i].pid > 0) {
            kill(live[i].pid, SIGTERM);
            waitpid(live[i].pid, NULL, 0);
            rm_dir(live[i].dir);
            live[i].pid = 0;
        }
    }
}

static int
tlog_start_args(struct tlog *t, const char *const *extra)
{
    const char *bin = getenv("TLOGWATCH_TESTLOG");
    posix_spawn_file_actions_t fa;
    const char *argv[32];
    char path[512], out[512], *text;
    int n = 0, i, st;
    double t0;
    json_t *info;
    enum merkle_result err;

    assert_non_null(bin);
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/tlw-tiles-test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    argv[n++] = bin;
    argv[n++] = "--dir";
    argv[n++] = t->dir;
    argv[n++] = "--tiles";
    for (i = 0; extra[i] != NULL && n < 30; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    snprintf(out, sizeof(out), "%s/stdout", t->dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    assert_int_equal(
        posix_spawn(&t->pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (i = 0; i < MAX_LIVE; i++) {
        if (live[i].pid == 0) {
            live[i].pid = t->pid;
            snprintf(live[i].dir, sizeof(live[i].dir), "%s", t->dir);
            break;
        }
    }
    snprintf(path, sizeof(path), "%s/url", t->dir);
    t0 = mono();
    for (;;) {
        char *u;

        if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
            forget(t->pid);
            t->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        u = read_file(path, NULL);
        if (u != NULL && strchr(u, '\n') != NULL) {
            *strchr(u, '\n') = '\0';
            snprintf(t->url, sizeof(t->url), "%s", u);
            free(u);
            break;
        }
        free(u);
        if (mono() - t0 > 180) {
            fail_msg("test log did not start within 180 s");
        }
        usleep(10000);
    }
    snprintf(path, sizeof(path), "%s/testlog.json", t->dir);
    text = read_file(path, NULL);
    assert_non_null(text);
    info = parse_json(text, strlen(text));
    free(text);
    assert_string_equal(json_string_value(json_object_get(info, "mode")),
                        "tiles");
    /* url = base_url + prefix, the base being http://HOST:PORT */
    assert_string_equal(json_string_value(json_object_get(info, "url")),
                        t->url);
    snprintf(t->base, sizeof(t->base), "%s",
             json_string_value(json_object_get(info, "base_url")));
    assert_int_equal(strncmp(t->base, "http://", 7), 0);
    assert_null(strchr(t->base + 7, '/'));
    assert_int_equal(strncmp(t->url, t->base, strlen(t->base)), 0);
    assert_string_equal(t->url + strlen(t->base),
                        json_string_value(json_object_get(info, "prefix")));
    snprintf(t->origin, sizeof(t->origin), "%s",
             json_string_value(json_object_get(info, "origin")));
    json_decref(info);
    snprintf(path, sizeof(path), "%s/tiles-log.vkey", t->dir);
    text = read_file(path, NULL);
    assert_non_null(text);
    assert_non_null(strchr(text, '\n'));
    *strchr(text, '\n') = '\0';
    t->vk = merkle_note_key_from_vkey(text, &err);
    free(text);
    assert_non_null(t->vk);
    assert_int_equal(merkle_note_key_alg(t->vk), MERKLE_KEY_ED25519);
    assert_string_equal(merkle_note_key_name(t->vk), t->origin);
    check_trusted_root(t);
    return -1;
}

static void
tlog_start(struct tlog *t, const char *entries, const char *seed)
{
    const char *extra[] = {"--listen", "127.0.0.1:0", "--entries", entries,
                           "--seed",   seed,          NULL};

    assert_int_equal(tlog_start_args(t, extra), -1);
}

static void
rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void
tlog_stop(struct tlog *t)
{
    int st;

    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
        forget(t->pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char out[512], *o;

            snprintf(out, sizeof(out), "%s/stdout", t->dir);
            o = read_file(out, NULL);
            fail_msg("test log exit status %d: %.2000s", st,
                     o != NULL ? o : "");
        }
        t->pid = 0;
    }
    merkle_note_key_free(t->vk);
    t->vk = NULL;
    rm_dir(t->dir);
}

/* Fetch /checkpoint and verify it with the vkey; the result. */
static enum merkle_result
checkpoint(const struct tlog *t, struct cp *cp, char **note)
{
    struct merkle_checkpoint c;
    struct resp r;
    enum merkle_result res;

    http(t, "/checkpoint", NULL, &r);
    assert_int_equal(r.status, 200);
    res = merkle_checkpoint_verify(r.body, r.len, &t->vk, 1, &c);
    if (res == MERKLE_OK) {
        assert_string_equal(c.origin, t->origin);
        assert_int_equal(
            c.next_line,
            strlen(c.origin) + 1 +
                (size_t)snprintf(NULL, 0, "%llu", (unsigned long long)c.size) +
                1 + 45); /* no extension lines */
        cp->size = c.size;
        memcpy(cp->root, c.root, 32);
    }
    if (note != NULL) {
        *note = r.body;
    } else {
        free(r.body);
    }
    return res;
}

/* The C2SP path of tile (level, n) [width w]; level < 0: entries. */
static void
tile_path(int level, uint64_t n, unsigned w, char *out, size_t cap)
{
    char idx[64];
    uint64_t groups[8];
    int k = 0;
    size_t len = 0;

    do {
        groups[k++] = n % 1000;
        n /= 1000;
    } while (n > 0);
    while (k-- > 0) {
        len += (size_t)snprintf(idx + len, sizeof(idx) - len,
                                k > 0 ? "x%03llu/" : "%03llu",
                                (unsigned long long)groups[k]);
    }
    if (level < 0) {
        snprintf(out, cap, "/tile/entries/%s", idx);
    } else {
        snprintf(out, cap, "/tile/%d/%s", level, idx);
    }
    if (w != 0) {
        len = strlen(out);
        snprintf(out + len, cap - len, ".p/%u", w);
    }
}

/* Fetch a tile that must exist; returns its bytes (caller frees). */
static char *
get_tile(const struct tlog *t, int level, uint64_t n, unsigned w, size_t *len)
{
    char path[128];
    struct resp r;

    tile_path(level, n, w, path, sizeof(path));
    http(t, path, NULL, &r);
    if (r.status != 200) {
        fail_msg("%s: HTTP %ld", path, r.status);
    }
    *len = r.len;
    return r.body;
}

/* Split an entry bundle into its entries: pointers into b and lengths;
 * returns the count, or -1 when malformed (a length beyond the end). */
static long
bundle_split(const uint8_t *b, size_t len, const uint8_t **ent, size_t *elen,
             size_t max)
{
    size_t off = 0, n = 0;

    while (off < len) {
        size_t l;

        if (len - off < 2 || n == max) {
            return -1;
        }
        l = ((size_t)b[off] << 8) | b[off + 1];
        off += 2;
        if (l > len - off) {
            return -1;
        }
        ent[n] = b + off;
        elen[n] = l;
        n++;
        off += l;
    }
    return (long)n;
}

/* All leaf hashes of a log of size n, from the level-0 hash tiles
 * (leaves, new) and from the entry bundles (from_entries, new). */
static void
fetch_leaves(const struct tlog *t, uint64_t n, uint8_t (**leaves)[32],
             uint8_t (**from_entries)[32])
{
    uint64_t full = n / 256, tile;
    unsigned part = (unsigned)(n % 256);
    const uint8_t *ent[256];
    size_t elen[256];

    *leaves = malloc((size_t)(n + 1) * 32);
    *from_entries = malloc((size_t)(n + 1) * 32);
    assert_non_null(*leaves);
    assert_non_null(*from_entries);
    for (tile = 0; tile <= full; tile++) {
        unsigned w = tile < full ? 0 : part, want = w != 0 ? w : 256, i;
        size_t len;
        char *b;
        long cnt;

        if (tile == full && part == 0) {
            break;
        }
        b = get_tile(t, 0, tile, w, &len);
        assert_int_equal(len, (size_t)want * 32);
        memcpy((*leaves)[tile * 256], b, len);
        free(b);
        b = get_tile(t, -1, tile, w, &len);
        cnt = bundle_split((const uint8_t *)b, len, ent, elen, 256);
        assert_int_equal(cnt, (long)want);
        for (i = 0; i < want; i++) {
            leaf_hash(ent[i], elen[i], (*from_entries)[tile * 256 + i]);
        }
        free(b);
    }
}

/* The key set of every object in a, recursively, equals b's. */
static int
same_shape(json_t *a, json_t *b)
{
    const char *k;
    json_t *v;

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }
    if (!json_is_object(a)) {
        return 1;
    }
    if (json_object_size(a) != json_object_size(b)) {
        return 0;
    }
    json_object_foreach(a, k, v)
    {
        json_t *w = json_object_get(b, k);

        if (w == NULL || !same_shape(v, w)) {
            return 0;
        }
    }
    return 1;
}

/* Production's log2025-1 canonicalizedBody (parsed, new). */
static json_t *
prod_body(void)
{
    char path[512], *text, *b;
    json_t *doc, *e, *body;
    const char *s;
    size_t n;

    snprintf(path, sizeof(path), "%s/rekor-v2/prod-log2025-1.sigstore.json",
             testdata());
    text = read_file(path, NULL);
    assert_non_null(text);
    doc = parse_json(text, strlen(text));
    free(text);
    e = json_array_get(
        json_object_get(json_object_get(doc, "verificationMaterial"),
                        "tlogEntries"),
        0);
    s = json_string_value(json_object_get(e, "canonicalizedBody"));
    assert_non_null(s);
    b = (char *)b64dec(s, strlen(s), &n);
    assert_non_null(b);
    body = parse_json(b, n);
    free(b);
    json_decref(doc);
    return body;
}

/* An entry body: canonical JSON of production's shape, hashedrekord
 * 0.0.2; returns it parsed (new). */
static json_t *
check_body(const uint8_t *p, size_t n, json_t *prod)
{
    static const char head[] =
        "{\"apiVersion\":\"0.0.2\",\"kind\":\"hashedrekord\",\"spec\":{"
        "\"hashedRekordV002\":{\"data\":{\"algorithm\":\"SHA2_256\","
        "\"digest\":\"";
    json_t *j = parse_json((const char *)p, n), *v;
    char *canon;

    assert_true(n > sizeof(head) && memcmp(p, head, sizeof(head) - 1) == 0);
    canon = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(canon);
    assert_int_equal(strlen(canon), n);
    assert_memory_equal(canon, p, n);
    free(canon);
    /* publicKey (key-only signers) or x509Certificate, as in protobuf */
    v = json_object_get(
        json_object_get(
            json_object_get(
                json_object_get(json_object_get(j, "spec"), "hashedRekordV002"),
                "signature"),
            "verifier"),
        "publicKey");
    if (v == NULL) {
        assert_true(same_shape(j, prod));
    }
    return j;
}

/* The body's nested member by path ("spec", "hashedRekordV002", ...). */
static const char *
body_str(json_t *j, const char *const *path)
{
    for (; *path != NULL; path++) {
        j = json_object_get(j, *path);
    }
    return json_string_value(j);
}

static X509 *ca_intermediate(const struct tlog *t);

/* The signature of a hashedrekord 0.0.2 body verifies over its digest with
 * its verifier (an x509Certificate that chains to inter, or a publicKey);
 * returns 1 for a certificate, 0 for a bare key.  With flip, the digest
 * is changed first and the signature must fail. */
static int
verify_body_sig(json_t *jb, X509 *inter, int flip)
{
    static const char *const dig[] = {"spec", "hashedRekordV002", "data",
                                      "digest", NULL};
    static const char *const sigp[] = {"spec", "hashedRekordV002", "signature",
                                       "content", NULL};
    static const char *const certp[] = {
        "spec",     "hashedRekordV002", "signature",
        "verifier", "x509Certificate",  "rawBytes",
        NULL};
    static const char *const keyp[] = {
        "spec",      "hashedRekordV002", "signature", "verifier",
        "publicKey", "rawBytes",         NULL};
    const char *d = body_str(jb, dig), *sg = body_str(jb, sigp);
    const char *c = body_str(jb, certp), *k = body_str(jb, keyp);
    uint8_t *digest, *sig, *der;
    size_t dn = 0, sn = 0, n = 0;
    const unsigned char *p;
    EVP_PKEY *pub = NULL;
    EVP_PKEY_CTX *vc;
    X509 *cert = NULL;
    int is_cert = c != NULL;

    assert_true(d != NULL && sg != NULL && (c != NULL) != (k != NULL));
    digest = b64dec(d, strlen(d), &dn);
    sig = b64dec(sg, strlen(sg), &sn);
    der = b64dec(is_cert ? c : k, strlen(is_cert ? c : k), &n);
    assert_non_null(digest);
    assert_non_null(sig);
    assert_non_null(der);
    assert_int_equal(dn, 32);
    p = der;
    if (is_cert) {
        cert = d2i_X509(NULL, &p, (long)n);
        assert_non_null(cert);
        assert_int_equal(X509_verify(cert, X509_get0_pubkey(inter)), 1);
        pub = X509_get_pubkey(cert);
    } else {
        pub = d2i_PUBKEY(NULL, &p, (long)n);
    }
    assert_non_null(pub);
    assert_ptr_equal(p, der + n);
    if (flip) {
        digest[0] ^= 1;
    }
    vc = EVP_PKEY_CTX_new(pub, NULL);
    assert_non_null(vc);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(vc, sig, sn, digest, 32) == 1, !flip);
    EVP_PKEY_CTX_free(vc);
    EVP_PKEY_free(pub);
    X509_free(cert);
    free(digest);
    free(sig);
    free(der);
    return is_cert;
}

/* -------------------------------------------------------------- tests */

/* This file's readers against a real Tessera log: the root of the leaf
 * hashes from tile/0/000.p/15 and from tile/entries/000.p/15 equals its
 * checkpoint's, which verifies with its published vkey. */
static void
test_tessera_reference(void **state)
{
    static const char vkey[] = "example.com/log/testdata+33d7b496+"
                               "AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
    char path[512], *note, *tile, *bundle;
    size_t nlen = 0, tlen = 0, blen = 0, elen[256] = {0};
    const uint8_t *ent[256] = {0};
    uint8_t leaves[15][32], root[32];
    struct merkle_note_key *k;
    struct merkle_checkpoint c;
    enum merkle_result err;
    long n, i;

    (void)state;
    k = merkle_note_key_from_vkey(vkey, &err);
    assert_non_null(k);
    snprintf(path, sizeof(path), "%s/rekor-v2/tessera-testlog/checkpoint",
             testdata());
    note = read_file(path, &nlen);
    snprintf(path, sizeof(path), "%s/rekor-v2/tessera-testlog/tile/0/000.p/15",
             testdata());
    tile = read_file(path, &tlen);
    snprintf(path, sizeof(path),
             "%s/rekor-v2/tessera-testlog/tile/entries/000.p/15", testdata());
    bundle = read_file(path, &blen);
    assert_non_null(note);
    assert_non_null(tile);
    assert_non_null(bundle);
    assert_int_equal(merkle_checkpoint_verify(note, nlen, &k, 1, &c),
                     MERKLE_OK);
    assert_int_equal(c.size, 15);
    assert_int_equal(tlen, 15 * 32);
    n = bundle_split((const uint8_t *)bundle, blen, ent, elen, 256);
    assert_int_equal(n, 15);
    assert_int_equal(elen[0], 3);
    assert_memory_equal(ent[0], "one", 3);
    for (i = 0; i < n; i++) {
        leaf_hash(ent[i], elen[i], leaves[i]);
        assert_memory_equal(leaves[i], tile + 32 * i, 32);
    }
    mth((const uint8_t(*)[32])tile, 15, root);
    assert_memory_equal(root, c.root, 32);
    mth((const uint8_t(*)[32])leaves, 15, root);
    assert_memory_equal(root, c.root, 32);
    /* negative twins: one leaf fewer, a truncated bundle */
    mth((const uint8_t(*)[32])leaves, 14, root);
    assert_memory_not_equal(root, c.root, 32);
    assert_int_equal(
        bundle_split((const uint8_t *)bundle, blen - 1, ent, elen, 256), -1);
    free(note);
    free(tile);
    free(bundle);
    merkle_note_key_free(k);
}

/* A ~70,000-entry log: the checkpoint verifies; every tile and bundle is
 * fetched; the root recomputed from level-0 tiles and from entry bundles
 * equals the signed one; level-1 and level-2 nodes equal the roots of
 * their leaves; bodies have production's shape; tiles beyond are 404. */
static void
test_big_tree(void **state)
{
    struct tlog t;
    struct cp cp;
    uint8_t(*leaves)[32], (*from_entries)[32], root[32], node[32];
    uint64_t n, j, l1;
    char *b, *note, path[128];
    size_t len;
    json_t *prod = prod_body(), *jb;
    const uint8_t *ent[256];
    size_t elen[256];
    long cnt;
    X509 *inter;
    unsigned certs = 0, keys = 0;

    (void)state;
    tlog_start(&t, BIG_LOG, "4242");
    assert_int_equal(checkpoint(&t, &cp, &note), MERKLE_OK);
    n = cp.size;
    assert_int_equal(n, 70000);
    /* its shape is production's: origin line with no tree id, one
     * signature line whose blob is 4 + 64 bytes */
    assert_null(strstr(note, " - "));
    {
        const char *sig = strstr(note, "\n\n\xe2\x80\x94 ");
        const char *blob;
        uint8_t *raw, id[32];
        size_t rn;

        assert_non_null(sig);
        blob = strrchr(sig, ' ') + 1;
        raw = b64dec(blob, strcspn(blob, "\n"), &rn);
        assert_non_null(raw);
        assert_int_equal(rn, 68);
        v2_log_id(t.origin, t.raw_key, id);
        assert_memory_equal(raw, id, 4); /* key hint */
        free(raw);
    }
    /* negative twin: one byte of the note changed */
    note[strlen(t.origin) + 2] ^= 1;
    assert_int_not_equal(
        merkle_checkpoint_verify(note, strlen(note), &t.vk, 1, NULL),
        MERKLE_OK);
    free(note);

    fetch_leaves(&t, n, &leaves, &from_entries);
    mth((const uint8_t(*)[32])leaves, n, root);
    assert_memory_equal(root, cp.root, 32);
    mth((const uint8_t(*)[32])from_entries, n, root);
    assert_memory_equal(root, cp.root, 32);
    assert_memory_equal(leaves, from_entries, (size_t)n * 32);
    mth((const uint8_t(*)[32])leaves, n - 1, root); /* negative twin */
    assert_memory_not_equal(root, cp.root, 32);

    /* level 1: 273 nodes = a full tile and a partial of 17 */
    l1 = n >> 8;
    b = get_tile(&t, 1, 0, 0, &len);
    assert_int_equal(len, 256 * 32);
    for (j = 0; j < 256; j++) {
        mth((const uint8_t(*)[32])leaves + j * 256, 256, node);
        assert_memory_equal(b + j * 32, node, 32);
    }
    free(b);
    b = get_tile(&t, 1, 1, (unsigned)(l1 - 256), &len);
    assert_int_equal(len, (l1 - 256) * 32);
    for (j = 256; j < l1; j++) {
        mth((const uint8_t(*)[32])leaves + j * 256, 256, node);
        assert_memory_equal(b + (j - 256) * 32, node, 32);
    }
    free(b);
    /* level 2: one node, the root of the first 65,536 leaves */
    b = get_tile(&t, 2, 0, 1, &len);
    assert_int_equal(len, 32);
    mth((const uint8_t(*)[32])leaves, 65536, node);
    assert_memory_equal(b, node, 32);
    free(b);

    /* every body of the first and the last bundle: production's shape,
     * canonical JSON, signed over its digest by a certificate of the CA
     * (or a bare key); the signature fails over another digest */
    inter = ca_intermediate(&t);
    for (j = 0; j <= n / 256; j += n / 256) {
        unsigned w = j == n / 256 ? (unsigned)(n % 256) : 0;
        long k;

        b = get_tile(&t, -1, j, w, &len);
        cnt = bundle_split((const uint8_t *)b, len, ent, elen, 256);
        assert_true(cnt > 0);
        for (k = 0; k < cnt; k++) {
            jb = check_body(ent[k], elen[k], prod);
            if (verify_body_sig(jb, inter, 0)) {
                certs++;
            } else {
                keys++;
            }
            if (k < 8) {
                verify_body_sig(jb, inter, 1);
            }
            json_decref(jb);
        }
        free(b);
    }
    assert_true(certs > 100 && keys > 5); /* both verifier kinds occur */
    X509_free(inter);

    /* beyond the tree, and paths that are not canonical tiles: 404 */
    tile_path(0, n / 256, 0, path, sizeof(path)); /* partial as full */
    assert_int_equal(status_of(&t, path), 404);
    tile_path(0, n / 256, (unsigned)(n % 256) + 1, path, sizeof(path));
    assert_int_equal(status_of(&t, path), 404);
    tile_path(-1, n / 256, (unsigned)(n % 256) + 1, path, sizeof(path));
    assert_int_equal(status_of(&t, path), 404);
    tile_path(0, n / 256 + 1, 1, path, sizeof(path));
    assert_int_equal(status_of(&t, path), 404);
    tile_path(1, 1, 0, path, sizeof(path));
    assert_int_equal(status_of(&t, path), 404);
    tile_path(1, 1, (unsigned)(l1 - 256), path, sizeof(path));
    assert_int_equal(status_of(&t, path), 200); /* the twin exists */
    assert_int_equal(status_of(&t, "/tile/2/000"), 404);
    assert_int_equal(status_of(&t, "/tile/3/000.p/1"), 404);
    assert_int_equal(status_of(&t, "/tile/0/0"), 404);
    assert_int_equal(status_of(&t, "/tile/00/000"), 404);
    assert_int_equal(status_of(&t, "/tile/0/x000/000"), 404);
    assert_int_equal(status_of(&t, "/tile/0/000.p/0"), 404);
    assert_int_equal(status_of(&t, "/tile/0/000.p/256"), 404);
    assert_int_equal(status_of(&t, "/tile/0/000.p/05"), 404);
    assert_int_equal(status_of(&t, "/tile/0/000/"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/x001"), 404);
    assert_int_equal(status_of(&t, "/tile/0/000.p/5"), 200);
    assert_int_equal(status_of(&t, "/tile/0/x000"), 404);
    /* the Rekor v1 API is not served */
    assert_int_equal(status_of(&t, "/api/v1/log"), 404);
    assert_int_equal(status_of(&t, "/api/v1/log/entries?logIndex=0"), 404);

    free(leaves);
    free(from_entries);
    json_decref(prod);
    tlog_stop(&t);
}

/* Multi-group tile indexes (x001/...): a level-0 tile beyond 1000. */
static void
test_index_groups(void **state)
{
    struct tlog t;
    struct cp cp;
    char *b, *e;
    size_t len, elen2[256];
    const uint8_t *ent[256];
    uint8_t h[32];
    long cnt, i;

    (void)state;
    tlog_start(&t, "256300", "77");
    assert_int_equal(checkpoint(&t, &cp, NULL), MERKLE_OK);
    assert_int_equal(status_of(&t, "/tile/0/x001/000"), 200);
    assert_int_equal(status_of(&t, "/tile/0/1000"), 404);
    b = get_tile(&t, 0, 1001, 44, &len); /* 256300 = 1001 * 256 + 44 */
    assert_int_equal(len, 44 * 32);
    e = get_tile(&t, -1, 1001, 44, &len);
    cnt = bundle_split((const uint8_t *)e, len, ent, elen2, 256);
    assert_int_equal(cnt, 44);
    for (i = 0; i < cnt; i++) {
        leaf_hash(ent[i], elen2[i], h);
        assert_memory_equal(h, b + 32 * i, 32);
    }
    free(b);
    free(e);
    assert_int_equal(status_of(&t, "/tile/0/x001/001.p/45"), 404);
    tlog_stop(&t);
}

/* Partial tiles are prefixes of the later full tile; an old checkpoint's
 * root is the root of the first leaves of the grown tree. */
static void
test_partial_and_grow(void **state)
{
    struct tlog t;
    struct cp c1, c2;
    char *p0, *pe, *f0, *fe, *again;
    size_t l0, le, lf0, lfe, la;
    uint8_t(*leaves)[32], (*from_entries)[32], root[32];
    json_t *j;

    (void)state;
    tlog_start(&t, "1000", "11");
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);
    assert_int_equal(c1.size, 1000);
    p0 = get_tile(&t, 0, 3, 232, &l0);
    pe = get_tile(&t, -1, 3, 232, &le);
    assert_int_equal(status_of(&t, "/tile/0/003"), 404);
    j = admin(&t, "grow", "{\"count\":100}");
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 1100);
    json_decref(j);
    assert_int_equal(checkpoint(&t, &c2, NULL), MERKLE_OK);
    assert_int_equal(c2.size, 1100);
    f0 = get_tile(&t, 0, 3, 0, &lf0);
    fe = get_tile(&t, -1, 3, 0, &lfe);
    assert_int_equal(lf0, 256 * 32);
    assert_true(lfe > le);
    assert_memory_equal(f0, p0, l0);
    assert_memory_equal(fe, pe, le);
    /* the partial path still serves exactly W */
    again = get_tile(&t, 0, 3, 232, &la);
    assert_int_equal(la, l0);
    assert_memory_equal(again, p0, l0);
    free(again);
    fetch_leaves(&t, c2.size, &leaves, &from_entries);
    mth((const uint8_t(*)[32])leaves, c2.size, root);
    assert_memory_equal(root, c2.root, 32);
    mth((const uint8_t(*)[32])from_entries, c1.size, root);
    assert_memory_equal(root, c1.root, 32);
    assert_memory_not_equal(c1.root, c2.root, 32);
    free(leaves);
    free(from_entries);
    free(p0);
    free(pe);
    free(f0);
    free(fe);
    tlog_stop(&t);
}

static const char *
ext_value(X509 *cert, unsigned n, char *buf, size_t cap)
{
    char oid[64];
    ASN1_OBJECT *obj;
    int pos;
    const ASN1_OCTET_STRING *os;
    const unsigned char *p;

    snprintf(oid, sizeof(oid), "1.3.6.1.4.1.57264.1.%u", n);
    obj = OBJ_txt2obj(oid, 1);
    pos = X509_get_ext_by_OBJ(cert, obj, -1);
    ASN1_OBJECT_free(obj);
    if (pos < 0) {
        return NULL;
    }
    os = X509_EXTENSION_get_data(X509_get_ext(cert, pos));
    p = ASN1_STRING_get0_data(os);
    if (n <= 6) { /* raw bytes */
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(os), p);
    } else { /* DER UTF8String */
        ASN1_UTF8STRING *u =
            d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(os));

        assert_non_null(u);
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(u),
                 ASN1_STRING_get0_data(u));
        ASN1_UTF8STRING_free(u);
    }
    return buf;
}

/* The Fulcio intermediate from trusted_root.json. */
static X509 *
ca_intermediate(const struct tlog *t)
{
    char path[512], *text;
    json_t *root;
    const char *s;
    uint8_t *der;
    const unsigned char *p;
    size_t n;
    X509 *x;

    snprintf(path, sizeof(path), "%s/trusted_root.json", t->dir);
    text = read_file(path, NULL);
    assert_non_null(text);
    root = parse_json(text, strlen(text));
    free(text);
    s = json_string_value(json_object_get(
        json_array_get(
            json_object_get(
                json_object_get(
                    json_array_get(
                        json_object_get(root, "certificateAuthorities"), 0),
                    "certChain"),
                "certificates"),
            0),
        "rawBytes"));
    assert_non_null(s);
    der = b64dec(s, strlen(s), &n);
    assert_non_null(der);
    p = der;
    x = d2i_X509(NULL, &p, (long)n);
    assert_non_null(x);
    free(der);
    json_decref(root);
    return x;
}

/* An appended signing: in the entry bundle at its index, a Rekor v2
 * hashedrekord whose digest is the artifact's, whose signature verifies
 * with its certificate's key, whose certificate carries the claims asked
 * and chains to the CA; its leaf hash is the tile's. */
static void
test_append(void **state)
{
    static const char *const dig[] = {"spec", "hashedRekordV002", "data",
                                      "digest", NULL};
    static const char *const sigp[] = {"spec", "hashedRekordV002", "signature",
                                       "content", NULL};
    static const char *const certp[] = {
        "spec",     "hashedRekordV002", "signature",
        "verifier", "x509Certificate",  "rawBytes",
        NULL};
    static const char *const kd[] = {"spec",       "hashedRekordV002",
                                     "signature",  "verifier",
                                     "keyDetails", NULL};
    struct tlog t;
    struct cp cp;
    json_t *j, *jb, *prod = prod_body();
    uint64_t idx;
    char *bundle, *tile, buf[512];
    size_t len = 0, tlen = 0, elen[256] = {0}, n = 0, dn = 0, sn = 0;
    const uint8_t *ent[256];
    uint8_t h[32], *der, *digest, *sig, want[32];
    const unsigned char *p;
    X509 *cert, *inter;
    EVP_PKEY *pub;
    EVP_PKEY_CTX *vc;
    long cnt;
    const char *s;
    GENERAL_NAMES *sans;
    int found = 0, i;

    (void)state;
    tlog_start(&t, "300", "5");
    j = admin(&t, "append",
              "{\"repository\":\"acme/rocket\",\"workflow\":\".github/"
              "workflows/release.yml\",\"ref\":\"refs/tags/v1.2.3\","
              "\"runner_environment\":\"self-hosted\",\"payload_b64\":"
              "\"aGVsbG8gdGlsZXMK\"}");
    idx = (uint64_t)json_integer_value(json_object_get(j, "index"));
    assert_int_equal(idx, 300);
    assert_int_equal(checkpoint(&t, &cp, NULL), MERKLE_OK);
    assert_int_equal(cp.size, 301);
    bundle = get_tile(&t, -1, 1, 45, &len);
    tile = get_tile(&t, 0, 1, 45, &tlen);
    cnt = bundle_split((const uint8_t *)bundle, len, ent, elen, 256);
    assert_int_equal(cnt, 45);
    leaf_hash(ent[44], elen[44], h);
    assert_memory_equal(h, tile + 44 * 32, 32);
    s = json_string_value(json_object_get(j, "leaf_hash"));
    assert_non_null(s);
    assert_int_equal(merkle_hex_decode(s, strlen(s), want, 32), 32);
    assert_memory_equal(h, want, 32);
    /* body_b64 of the reply is what the bundle holds */
    s = json_string_value(json_object_get(j, "body_b64"));
    assert_non_null(s);
    der = b64dec(s, strlen(s), &n);
    assert_int_equal(n, elen[44]);
    assert_memory_equal(der, ent[44], n);
    free(der);

    jb = check_body(ent[44], elen[44], prod);
    assert_true(same_shape(jb, prod));
    assert_string_equal(body_str(jb, kd), "PKIX_ECDSA_P256_SHA_256");
    s = body_str(jb, dig);
    digest = b64dec(s, strlen(s), &dn);
    assert_int_equal(dn, 32);
    SHA256((const unsigned char *)"hello tiles\n", 12, want);
    assert_memory_equal(digest, want, 32);
    s = body_str(jb, certp);
    der = b64dec(s, strlen(s), &n);
    assert_non_null(der);
    p = der;
    cert = d2i_X509(NULL, &p, (long)n);
    assert_non_null(cert);
    assert_ptr_equal(p, der + n);
    s = body_str(jb, sigp);
    sig = b64dec(s, strlen(s), &sn);
    assert_non_null(sig);
    pub = X509_get0_pubkey(cert);
    vc = EVP_PKEY_CTX_new(pub, NULL);
    assert_non_null(vc);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(vc, sig, sn, digest, 32), 1);
    digest[0] ^= 1; /* negative twin */
    assert_int_not_equal(EVP_PKEY_verify(vc, sig, sn, digest, 32), 1);
    EVP_PKEY_CTX_free(vc);
    /* the claims asked, in the certificate */
    assert_string_equal(ext_value(cert, 5, buf, sizeof(buf)), "acme/rocket");
    assert_string_equal(ext_value(cert, 6, buf, sizeof(buf)),
                        "refs/tags/v1.2.3");
    assert_string_equal(ext_value(cert, 11, buf, sizeof(buf)), "self-hosted");
    assert_string_equal(ext_value(cert, 8, buf, sizeof(buf)),
                        "https://token.actions.githubusercontent.com");
    sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    assert_non_null(sans);
    for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

        if (g->type == GEN_URI &&
            strcmp((const char *)ASN1_STRING_get0_data(
                       g->d.uniformResourceIdentifier),
                   "https://github.com/acme/rocket/.github/workflows/"
                   "release.yml@refs/tags/v1.2.3") == 0) {
            found = 1;
        }
    }
    GENERAL_NAMES_free(sans);
    assert_true(found);
    inter = ca_intermediate(&t);
    assert_int_equal(X509_verify(cert, X509_get0_pubkey(inter)), 1);
    /* negative twin: the impostor's certificate does not chain */
    json_decref(j);
    j = admin(&t, "append",
              "{\"repository\":\"acme/rocket\",\"impostor\":true}");
    s = json_string_value(json_object_get(j, "certificate_pem"));
    {
        BIO *bio = BIO_new_mem_buf(s, -1);
        X509 *imp = PEM_read_bio_X509(bio, NULL, NULL, NULL);

        BIO_free(bio);
        assert_non_null(imp);
        assert_int_not_equal(X509_verify(imp, X509_get0_pubkey(inter)), 1);
        X509_free(imp);
    }
    /* dsse: logged as Rekor v2 does, a hashedrekord over the DSSE PAE
     * whose signature is the envelope's */
    json_decref(j);
    j = admin(&t, "append",
              "{\"repository\":\"acme/rocket\",\"kind\":\"dsse\","
              "\"payload_b64\":\"eyJfdHlwZSI6ImEifQ==\"}");
    assert_int_equal(json_integer_value(json_object_get(j, "index")), 302);
    assert_null(json_object_get(j, "attestation"));
    {
        static const char pae[] = "DSSEv1 28 application/vnd.in-toto+json "
                                  "13 {\"_type\":\"a\"}";
        static const char *const dsig[] = {"spec", "hashedRekordV002",
                                           "signature", "content", NULL};
        const char *env = json_string_value(json_object_get(j, "envelope"));
        json_t *ej, *dj;
        char *db;
        size_t dl, del[256];
        const uint8_t *de[256];
        uint8_t *got;
        size_t gn = 0;

        assert_non_null(env);
        ej = parse_json(env, strlen(env));
        db = get_tile(&t, -1, 1, 47, &dl);
        assert_int_equal(bundle_split((const uint8_t *)db, dl, de, del, 256),
                         47);
        dj = check_body(de[46], del[46], prod);
        assert_true(same_shape(dj, prod));
        assert_int_equal(verify_body_sig(dj, inter, 0), 1);
        s = body_str(dj, dig);
        got = b64dec(s, strlen(s), &gn);
        SHA256((const unsigned char *)pae, sizeof(pae) - 1, want);
        assert_memory_equal(got, want, 32);
        free(got);
        assert_string_equal(
            body_str(dj, dsig),
            json_string_value(json_object_get(
                json_array_get(json_object_get(ej, "signatures"), 0), "sig")));
        json_decref(dj);
        json_decref(ej);
        free(db);
    }
    /* Rekor v2 stores no attestation and has no intoto type */
    assert_int_equal(admin_status(&t, "append",
                                  "{\"repository\":\"acme/rocket\","
                                  "\"kind\":\"intoto\"}"),
                     400);
    assert_int_equal(admin_status(&t, "append",
                                  "{\"repository\":\"acme/rocket\","
                                  "\"kind\":\"dsse\",\"attestation\":"
                                  "\"store\"}"),
                     400);
    X509_free(inter);
    X509_free(cert);
    free(der);
    free(digest);
    free(sig);
    json_decref(jb);
    json_decref(j);
    json_decref(prod);
    free(bundle);
    free(tile);
    tlog_stop(&t);
}

/* Fork, rollback, wrong key, tamper, 429 / 503: each changes what is
 * served, visibly, and the log is right again afterwards. */
static void
test_misbehaviour(void **state)
{
    struct tlog t;
    struct cp c1, c2, c3;
    char *a, *b, *note;
    size_t la, lb, elen[256], elen2[256];
    const uint8_t *ent[256], *ent2[256];
    uint8_t h[32];
    uint8_t(*leaves)[32], (*from_entries)[32], root[32];
    struct resp r;
    json_t *j, *st;

    (void)state;
    tlog_start(&t, "600", "99");
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);

    /* fork: same size, another root; tile and bundle change at 10 */
    a = get_tile(&t, 0, 0, 0, &la);
    json_decref(admin(&t, "fork", "{\"index\":10}"));
    assert_int_equal(checkpoint(&t, &c2, NULL), MERKLE_OK);
    assert_int_equal(c2.size, c1.size);
    assert_memory_not_equal(c2.root, c1.root, 32);
    b = get_tile(&t, 0, 0, 0, &lb);
    assert_memory_equal(a, b, 10 * 32);
    assert_memory_not_equal(a + 10 * 32, b + 10 * 32, 32);
    assert_memory_equal(a + 11 * 32, b + 11 * 32, 245 * 32);
    free(a);
    free(b);
    fetch_leaves(&t, c2.size, &leaves, &from_entries);
    mth((const uint8_t(*)[32])from_entries, c2.size, root);
    assert_memory_equal(root, c2.root, 32);
    free(leaves);
    free(from_entries);

    /* rollback: smaller signed size; the old partial tile is gone */
    assert_int_equal(status_of(&t, "/tile/0/002.p/88"), 200);
    json_decref(admin(&t, "rollback", "{\"count\":8}"));
    assert_int_equal(checkpoint(&t, &c3, NULL), MERKLE_OK);
    assert_int_equal(c3.size, 592);
    assert_int_equal(status_of(&t, "/tile/0/002.p/88"), 404);
    assert_int_equal(status_of(&t, "/tile/0/002.p/80"), 200);
    fetch_leaves(&t, c3.size, &leaves, &from_entries);
    mth((const uint8_t(*)[32])leaves, c3.size, root);
    assert_memory_equal(root, c3.root, 32);
    free(leaves);
    free(from_entries);

    /* wrong key: same hint, a signature that does not verify */
    json_decref(admin(&t, "wrong-key", "{\"on\":true}"));
    assert_int_equal(checkpoint(&t, &c2, &note), MERKLE_ERR_NOTE_BAD_SIGNATURE);
    {
        const char *blob = strrchr(note, ' ') + 1;
        uint8_t *raw, id[32];
        size_t rn;

        raw = b64dec(blob, strcspn(blob, "\n"), &rn);
        assert_non_null(raw);
        v2_log_id(t.origin, t.raw_key, id);
        assert_memory_equal(raw, id, 4);
        free(raw);
    }
    free(note);
    json_decref(admin(&t, "wrong-key", "{\"on\":false}"));
    assert_int_equal(checkpoint(&t, &c2, NULL), MERKLE_OK);

    /* tamper: bundle entry 3 differs from the tree leaf, once */
    json_decref(admin(&t, "tamper", "{\"index\":3,\"count\":1}"));
    a = get_tile(&t, 0, 0, 0, &la);
    b = get_tile(&t, -1, 0, 0, &lb);
    assert_int_equal(bundle_split((const uint8_t *)b, lb, ent, elen, 256), 256);
    leaf_hash(ent[3], elen[3], h);
    assert_memory_not_equal(h, a + 3 * 32, 32);
    leaf_hash(ent[4], elen[4], h);
    assert_memory_equal(h, a + 4 * 32, 32);
    {
        json_t *tj = parse_json((const char *)ent[3], elen[3]);

        json_decref(tj); /* still JSON: the digest changed, not the form */
    }
    {
        char *c = get_tile(&t, -1, 0, 0, &la);

        assert_int_equal(bundle_split((const uint8_t *)c, la, ent2, elen2, 256),
                         256);
        leaf_hash(ent2[3], elen2[3], h);
        assert_memory_equal(h, a + 3 * 32, 32); /* count 1: right again */
        free(c);
    }
    free(a);
    free(b);

    /* 429 with Retry-After, then 503, then served again */
    json_decref(
        admin(&t, "fail", "{\"status\":429,\"count\":1,\"retry_after\":7}"));
    http(&t, "/checkpoint", NULL, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "7");
    free(r.body);
    json_decref(admin(&t, "fail", "{\"status\":503,\"count\":1}"));
    assert_int_equal(status_of(&t, "/tile/0/000"), 503);
    assert_int_equal(status_of(&t, "/tile/0/000"), 200);
    assert_int_equal(checkpoint(&t, &c2, NULL), MERKLE_OK);

    /* stats count the tiles endpoints; rotate and misdirect are refused */
    st = admin(&t, "stats", NULL);
    j = json_object_get(st, "endpoints");
    assert_true(json_integer_value(json_object_get(j, "checkpoint")) >= 7);
    assert_true(json_integer_value(json_object_get(j, "tile")) >= 6);
    assert_true(json_integer_value(json_object_get(j, "bundle")) >= 4);
    assert_int_equal(json_integer_value(json_object_get(st, "responses_429")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(st, "responses_5xx")),
                     1);
    json_decref(st);
    assert_int_equal(admin_status(&t, "rotate", "{}"), 400);
    assert_int_equal(admin_status(&t, "misdirect", "{\"index\":1,\"to\":2}"),
                     400);
    tlog_stop(&t);
}

/* The Ed25519 key is a function of --seed: same seed, same key (PEM, vkey
 * and trusted_root.json agree); another seed, another key; --origin names
 * the log. */
static void
test_seed_and_origin(void **state)
{
    struct tlog a, b;
    uint8_t ka[32], kb[32], kb2[32];
    char path[512];
    const char *ea[] = {"--entries", "10", "--seed", "3", NULL};
    const char *eb[] = {"--entries",          "10", "--seed", "3", "--origin",
                        "testlog.example/v2", NULL};
    const char *ec[] = {"--entries", "10", "--seed", "4", NULL};
    struct cp cp;

    (void)state;
    assert_int_equal(tlog_start_args(&a, ea), -1);
    snprintf(path, sizeof(path), "%s/tiles-log.pub", a.dir);
    pem_raw_key(path, ka);
    assert_memory_equal(ka, a.raw_key, 32);
    assert_int_equal(checkpoint(&a, &cp, NULL), MERKLE_OK);
    tlog_stop(&a);
    assert_int_equal(tlog_start_args(&b, eb), -1);
    assert_string_equal(b.origin, "testlog.example/v2");
    snprintf(path, sizeof(path), "%s/tiles-log.pub", b.dir);
    pem_raw_key(path, kb);
    assert_memory_equal(ka, kb, 32);
    assert_int_equal(checkpoint(&b, &cp, NULL), MERKLE_OK);
    snprintf(path, sizeof(path), "%s/tiles-wrong-key.pub", b.dir);
    pem_raw_key(path, kb2);
    assert_memory_not_equal(kb, kb2, 32);
    tlog_stop(&b);
    assert_int_equal(tlog_start_args(&b, ec), -1);
    assert_memory_not_equal(ka, b.raw_key, 32);
    tlog_stop(&b);
    /* --origin needs --tiles: a usage error */
    {
        const char *bad[] = {"--origin", "has space", NULL};

        assert_int_equal(tlog_start_args(&a, bad), 2);
        rm_dir(a.dir);
    }
}

/* A transfer left running on a multi handle while the test does other
 * requests (a slow download from /admin/trickle). */
struct slow {
    CURLM *m;
    CURL *c;
    struct resp r;
    double t0;
    double seconds;
    int done;
};

static void
slow_start(const struct tlog *t, const char *path, struct slow *s)
{
    char url[512];

    memset(s, 0, sizeof(*s));
    s->m = curl_multi_init();
    s->c = curl_easy_init();
    assert_non_null(s->m);
    assert_non_null(s->c);
    snprintf(url, sizeof(url), "%s%s", t->url, path);
    curl_easy_setopt(s->c, CURLOPT_URL, url);
    curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(s->c, CURLOPT_WRITEDATA, &s->r);
    curl_easy_setopt(s->c, CURLOPT_TIMEOUT, 120L);
    assert_int_equal(curl_multi_add_handle(s->m, s->c), CURLM_OK);
    s->t0 = mono();
}

/* Let the transfer run for up to ms; 1 once it has ended. */
static int
slow_step(struct slow *s, int ms)
{
    int running = 0, left;
    CURLMsg *msg;

    if (s->done) {
        return 1;
    }
    assert_int_equal(curl_multi_perform(s->m, &running), CURLM_OK);
    if (running > 0) {
        assert_int_equal(curl_multi_poll(s->m, NULL, 0, ms, NULL), CURLM_OK);
        assert_int_equal(curl_multi_perform(s->m, &running), CURLM_OK);
    }
    while ((msg = curl_multi_info_read(s->m, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            assert_int_equal(msg->data.result, CURLE_OK);
            curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &s->r.status);
            s->seconds = mono() - s->t0;
            s->done = 1;
        }
    }
    return s->done;
}

/* Run the transfer to its end, free the handles (s->r.body stays). */
static void
slow_end(struct slow *s)
{
    while (!slow_step(s, 200)) {
        assert_true(mono() - s->t0 < 120);
    }
    curl_multi_remove_handle(s->m, s->c);
    curl_easy_cleanup(s->c);
    curl_multi_cleanup(s->m);
}

/* An integer of GET /admin/stats. */
static json_int_t
stat_of(const struct tlog *t, const char *key)
{
    json_t *st = admin(t, "stats", NULL);
    json_int_t v;

    assert_non_null(json_object_get(st, key));
    v = json_integer_value(json_object_get(st, key));
    json_decref(st);
    return v;
}

/* Drop: every entry bundle holding the index, full or partial, answers
 * 404 as a bundle that never arrives; bundles without it and hash tiles
 * are served; counted; cleared by count 0 and reset. */
static void
test_drop_bundles(void **state)
{
    struct tlog t;
    const uint8_t *ent[256];
    size_t elen[256], lt, lb;
    uint8_t h[32];
    char *tile, *b;
    long i;

    (void)state;
    tlog_start(&t, "600", "77");
    json_decref(admin(&t, "drop", "{\"index\":300,\"count\":-1}"));
    assert_int_equal(status_of(&t, "/tile/entries/001"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/001.p/45"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/001"), 404);
    /* negative twins: a partial bundle ending before 300, the bundle
     * before, and the hash tile over the same leaves */
    assert_int_equal(status_of(&t, "/tile/entries/001.p/44"), 200);
    assert_int_equal(status_of(&t, "/tile/entries/000"), 200);
    assert_int_equal(status_of(&t, "/tile/0/001"), 200);
    assert_int_equal(status_of(&t, "/tile/0/001.p/45"), 200);
    assert_int_equal(stat_of(&t, "dropped"), 3);
    json_decref(admin(&t, "drop", "{\"index\":300,\"count\":0}"));
    assert_int_equal(status_of(&t, "/tile/entries/001"), 200);

    /* count 2 on the partial last tile: two 404s, then the real bundle */
    json_decref(admin(&t, "drop", "{\"index\":520,\"count\":2}"));
    assert_int_equal(status_of(&t, "/tile/entries/002.p/88"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/002.p/88"), 404);
    tile = get_tile(&t, 0, 2, 88, &lt);
    b = get_tile(&t, -1, 2, 88, &lb);
    assert_int_equal(bundle_split((const uint8_t *)b, lb, ent, elen, 256), 88);
    for (i = 0; i < 88; i++) {
        leaf_hash(ent[i], elen[i], h);
        assert_memory_equal(h, tile + 32 * i, 32);
    }
    free(tile);
    free(b);
    /* two indexes in one bundle: one request uses one count of each */
    json_decref(admin(&t, "drop", "{\"index\":10,\"count\":1}"));
    json_decref(admin(&t, "drop", "{\"index\":20,\"count\":1}"));
    assert_int_equal(status_of(&t, "/tile/entries/000"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/000"), 200);
    /* an index beyond the tree: its bundle once it exists */
    json_decref(admin(&t, "drop", "{\"index\":700,\"count\":-1}"));
    assert_int_equal(status_of(&t, "/tile/entries/002.p/88"), 200);
    json_decref(admin(&t, "grow", "{\"count\":200}"));
    assert_int_equal(status_of(&t, "/tile/entries/002"), 404);
    assert_int_equal(status_of(&t, "/tile/entries/002.p/88"), 200);
    /* reset clears */
    json_decref(admin(&t, "reset", "{}"));
    assert_int_equal(status_of(&t, "/tile/entries/002"), 200);
    assert_int_equal(admin_status(&t, "drop", "{\"index\":-1}"), 400);
    tlog_stop(&t);
}

/* Impossible checkpoints: /checkpoint is a note validly signed by the
 * Ed25519 key for any size up to 2^64 - 1; the tiles stay the tree's;
 * wrong-key, off and reset act on it. */
static void
test_impossible_tiles(void **state)
{
    struct tlog t;
    struct cp c0, c1;
    char *a, *b, *note;
    size_t la, lb;
    json_t *rep;
    uint8_t root[32];

    (void)state;
    tlog_start(&t, "600", "78");
    assert_int_equal(checkpoint(&t, &c0, NULL), MERKLE_OK);
    a = get_tile(&t, 0, 0, 0, &la);
    rep = admin(&t, "impossible", "{\"size\":18446744073709551615}");
    assert_string_equal(json_string_value(json_object_get(rep, "size")),
                        "18446744073709551615");
    assert_int_equal(checkpoint(&t, &c1, &note), MERKLE_OK);
    assert_true(c1.size == UINT64_MAX);
    assert_string_equal(note, json_string_value(json_object_get(rep, "note")));
    assert_int_equal(
        merkle_hex_decode(json_string_value(json_object_get(rep, "root")), 64,
                          root, 32),
        32);
    assert_memory_equal(c1.root, root, 32);
    assert_memory_not_equal(c1.root, c0.root, 32);
    /* negative twin: the size line one less does not verify */
    {
        char *p = strstr(note, "18446744073709551615");
        struct merkle_checkpoint c;

        assert_non_null(p);
        p[19] = '4';
        assert_int_equal(
            merkle_checkpoint_verify(note, strlen(note), &t.vk, 1, &c),
            MERKLE_ERR_NOTE_BAD_SIGNATURE);
    }
    free(note);
    json_decref(rep);
    /* the tree is served as before */
    b = get_tile(&t, 0, 0, 0, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(b);
    assert_int_equal(status_of(&t, "/tile/0/003"), 404);
    /* signed like the real ones: wrong-key breaks it */
    json_decref(admin(&t, "wrong-key", "{\"on\":true}"));
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_ERR_NOTE_BAD_SIGNATURE);
    json_decref(admin(&t, "wrong-key", "{\"on\":false}"));
    /* a decimal string, and a root given */
    json_decref(
        admin(&t, "impossible",
              "{\"size\":\"9223372036854775808\",\"root\":\"00112233445"
              "566778899aabbccddeeff00112233445566778899aabbccddeeff\"}"));
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);
    assert_true(c1.size == 9223372036854775808ULL);
    assert_int_equal(c1.root[1], 0x11);
    json_decref(admin(&t, "impossible", "{\"off\":true}"));
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);
    assert_int_equal(c1.size, 600);
    assert_memory_equal(c1.root, c0.root, 32);
    json_decref(admin(&t, "impossible", "{\"size\":601}"));
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);
    assert_int_equal(c1.size, 601);
    json_decref(admin(&t, "reset", "{}"));
    assert_int_equal(checkpoint(&t, &c1, NULL), MERKLE_OK);
    assert_int_equal(c1.size, 600);
    assert_int_equal(
        admin_status(&t, "impossible", "{\"size\":18446744073709551616}"), 400);
    assert_int_equal(admin_status(&t, "impossible", "{\"size\":\"x\"}"), 400);
    assert_int_equal(admin_status(&t, "impossible", "{}"), 400);
    free(a);
    tlog_stop(&t);
}

/* Pad: junk after every entry bundle (malformed as a bundle), hash
 * tiles untouched; trickle: bundles arrive slowly while a hash tile on
 * another connection comes at once; off is fast again. */
static void
test_pad_trickle_tiles(void **state)
{
    struct tlog t;
    const uint8_t *ent[256];
    size_t elen[256], l0, l1, lt;
    char *b0, *b1, *tile;
    struct slow s;
    struct resp r;
    double t0;

    (void)state;
    tlog_start(&t, "600", "79");
    b0 = get_tile(&t, -1, 0, 0, &l0);
    assert_int_equal(bundle_split((const uint8_t *)b0, l0, ent, elen, 256),
                     256);
    json_decref(admin(&t, "pad", "{\"bytes\":5000}"));
    b1 = get_tile(&t, -1, 0, 0, &l1);
    assert_int_equal(l1, l0 + 5000);
    assert_memory_equal(b1, b0, l0);
    assert_int_equal((unsigned char)b1[l0], 0xff);
    assert_int_equal(bundle_split((const uint8_t *)b1, l1, ent, elen, 256), -1);
    free(b1);
    tile = get_tile(&t, 0, 0, 0, &lt);
    assert_int_equal(lt, 256 * 32);
    free(tile);
    assert_int_equal(stat_of(&t, "padded"), 1);

    json_decref(admin(&t, "pad", "{\"bytes\":60000}"));
    json_decref(admin(&t, "trickle", "{\"bytes_per_s\":20000}"));
    slow_start(&t, "/tile/entries/001.p/8", &s); /* 8 entries, ~17 KB */
    t0 = mono();
    while (stat_of(&t, "trickling") != 1) {
        (void)slow_step(&s, 50);
        assert_true(mono() - t0 < 30);
    }
    t0 = mono();
    tile = get_tile(&t, 0, 1, 0, &lt); /* another connection: at once */
    assert_true(mono() - t0 < 1.0);
    free(tile);
    assert_false(slow_step(&s, 10));
    slow_end(&s);
    assert_int_equal(s.r.status, 200);
    assert_true(s.r.len > 60000 && s.r.len < 100000);
    if (s.seconds < 2.4 || s.seconds > 30) {
        fail_msg("a %zu-byte bundle at 20000 B/s took %.2f s", s.r.len,
                 s.seconds);
    }
    free(s.r.body);
    /* a withheld bundle is a 404 at once, not trickled */
    json_decref(admin(&t, "drop", "{\"index\":5,\"count\":1}"));
    t0 = mono();
    assert_int_equal(status_of(&t, "/tile/entries/000"), 404);
    assert_true(mono() - t0 < 1.0);
    /* negative twin: off, the same bundle is fast */
    json_decref(admin(&t, "trickle", "{\"bytes_per_s\":0}"));
    t0 = mono();
    http(&t, "/tile/entries/001", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.len > 60000);
    assert_true(mono() - t0 < 1.0);
    free(r.body);
    json_decref(admin(&t, "reset", "{}"));
    b1 = get_tile(&t, -1, 0, 0, &l1);
    assert_int_equal(l1, l0);
    free(b1);
    free(b0);
    tlog_stop(&t);
}

/* --prefix /api/v2: the tlog-tiles API lives under it (bare paths 404),
 * url and testlog.json carry it, trusted_root.json's baseUrl does not,
 * /admin/ stays at the root; bad prefixes are usage errors. */
static void
test_prefix(void **state)
{
    static const char *const bad[] = {"api/v2",  "/api/v2/", "/admin", "/a//b",
                                      "/a/../b", "/a b",     "/",      NULL};
    const char *ea[] = {"--entries", "300",     "--seed", "80",
                        "--prefix",  "/api/v2", NULL};
    struct tlog t;
    struct cp cp;
    struct resp r;
    char *tile;
    size_t lt;
    int i;

    (void)state;
    assert_int_equal(tlog_start_args(&t, ea), -1);
    assert_int_equal(strlen(t.url), strlen(t.base) + strlen("/api/v2"));
    assert_string_equal(t.url + strlen(t.base), "/api/v2");
    assert_int_equal(checkpoint(&t, &cp, NULL), MERKLE_OK); /* url/checkpoint */
    assert_int_equal(cp.size, 300);
    tile = get_tile(&t, 0, 0, 0, &lt);
    assert_int_equal(lt, 256 * 32);
    free(tile);
    tile = get_tile(&t, -1, 0, 44, &lt);
    free(tile);
    /* negative twins: the bare paths */
    http_at(t.base, "/checkpoint", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    http_at(t.base, "/tile/0/000", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    http_at(t.base, "/api/v2tile/0/000", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    assert_int_equal(stat_of(&t, "size"), 300);
    tlog_stop(&t);
    for (i = 0; bad[i] != NULL; i++) {
        const char *eb[] = {"--prefix", bad[i], NULL};

        if (tlog_start_args(&t, eb) != 2) {
            fail_msg("--prefix '%s' was not refused", bad[i]);
        }
        rm_dir(t.dir);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tessera_reference),
        cmocka_unit_test(test_big_tree),
        cmocka_unit_test(test_index_groups),
        cmocka_unit_test(test_partial_and_grow),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_misbehaviour),
        cmocka_unit_test(test_seed_and_origin),
        cmocka_unit_test(test_drop_bundles),
        cmocka_unit_test(test_impossible_tiles),
        cmocka_unit_test(test_pad_trickle_tiles),
        cmocka_unit_test(test_prefix),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    stop_leftovers();
    curl_global_cleanup();
    return rc;
}
