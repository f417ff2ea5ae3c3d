/*
 * test_testlog.c: tlogwatch-testlog, the loopback Rekor v1 log, tested
 * from outside: every test starts the real binary ($TLOGWATCH_TESTLOG) on
 * a free loopback port with a temporary --dir, talks to it over HTTP
 * with libcurl, and checks what it serves
 *
 *  - against production: every response's keys and value encodings (hex,
 *    base64, base64 of PEM, decimal strings, integers, checkpoint lines)
 *    equal those of the real Rekor responses and bodies read at run time
 *    from $TLOGWATCH_TESTDATA/rekor (api-entries/ and bundles/valid/);
 *  - with independent verifiers: every inclusion and consistency proof
 *    with merkle_verify_*, checkpoints and signed entry timestamps with
 *    OpenSSL and the key from the trusted_root.json it wrote, leaf
 *    certificates with OpenSSL's chain verification, and the tree itself
 *    against the RFC 6962 reference tree and the transparency-dev happy
 *    path vectors (../shared/testdata/merkle);
 *  - misbehaviour by misbehaviour, that each is observable and that the
 *    log is correct again when it is switched off.
 *
 * Every positive check has a negative twin that shows the check can fail
 * (a mutated proof, a mutated response, a wrong key, an impostor chain).
 * The test log is stopped with SIGTERM and must exit 0 (under ASan that
 * includes "no leak").
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
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "merkle/merkle.h"
#include "merkle/note.h"

extern char **environ;

#define N_ENTRIES 600 /* per test log: two noise epochs, all kinds */
#define MAXP 128

/* ------------------------------------------------------------ helpers */

struct tlog {
    pid_t pid;
    char dir[256];
    char url[128];
    char host[64];
    EVP_PKEY *key;     /* log key from trusted_root.json */
    uint8_t spki[256]; /* its DER */
    size_t spki_len;
    uint8_t log_id[32]; /* SHA-256(spki) */
    X509 *ca_root;      /* trusted_root.json certChain, last */
    X509 *ca_inter;     /* certChain, first */
};

struct resp {
    long status;
    char *body;
    size_t len;
    size_t cap; /* allocated for body */
    char retry_after[32];
    double seconds;
};

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
    char *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
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

static const char *
testdata(void)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");

    assert_non_null(td);
    return td;
}

static uint8_t *
b64dec(const char *s, size_t n, size_t *outlen)
{
    uint8_t *out = malloc(n / 4 * 3 + 4);
    long r;

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

static size_t
body_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;

    if (r->len + sz * n + 1 > r->cap) {
        /* Geometric growth: a 16 MiB body arrives in thousands of pieces,
         * and a copy per piece is quadratic (minutes under ASan). */
        size_t cap = r->cap ? r->cap : 4096;
        char *nb;
        while (cap < r->len + sz * n + 1) {
            cap *= 2;
        }
        nb = realloc(r->body, cap);
        assert_non_null(nb);
        r->body = nb;
        r->cap = cap;
    }
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

/* GET (post == NULL) or POST a JSON body to url + path. */
static void
http(const struct tlog *t, const char *path, const char *post, struct resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[512];
    double t0;

    assert_non_null(c);
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", t->url, path);
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
    t0 = mono();
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    r->seconds = mono() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        assert_non_null(r->body);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static json_t *
parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);

    if (j == NULL) {
        fail_msg("JSON: %s in %.200s", e.text, s);
    }
    return j;
}

/* GET/POST expecting 200 and JSON. */
static json_t *
get_json(const struct tlog *t, const char *path, const char *post)
{
    struct resp r;
    json_t *j;

    http(t, path, post, &r);
    if (r.status != 200) {
        fail_msg("%s: HTTP %ld: %.300s", path, r.status, r.body);
    }
    j = parse(r.body);
    free(r.body);
    return j;
}

static json_t *
admin(const struct tlog *t, const char *op, const char *json)
{
    char path[128];

    snprintf(path, sizeof(path), "/admin/%s", op);
    return get_json(t, path, json != NULL ? json : "{}");
}

/* A transfer left running on a multi handle while the test does other
 * requests (a slow download from /admin/trickle). */
struct slow {
    CURLM *m;
    CURL *c;
    struct curl_slist *h;
    struct resp r;
    curl_off_t content_length; /* from the response headers */
    double t0;
    int done;
};

static void
slow_start(const struct tlog *t, const char *path, const char *post,
           struct slow *s)
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
    if (post != NULL) {
        s->h = curl_slist_append(s->h, "Content-Type: application/json");
        curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->h);
        curl_easy_setopt(s->c, CURLOPT_COPYPOSTFIELDS, post);
    }
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
            curl_easy_getinfo(s->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                              &s->content_length);
            s->r.seconds = mono() - s->t0;
            s->done = 1;
        }
    }
    return s->done;
}

/* Run the transfer to its end (or abort it when abort is set), then free
 * the handles; s->r keeps the response (caller frees s->r.body). */
static void
slow_end(struct slow *s, int abort)
{
    while (!abort && !slow_step(s, 200)) {
        assert_true(mono() - s->t0 < 120);
    }
    curl_multi_remove_handle(s->m, s->c);
    curl_easy_cleanup(s->c);
    curl_multi_cleanup(s->m);
    curl_slist_free_all(s->h);
    if (s->r.body == NULL) {
        s->r.body = calloc(1, 1);
        assert_non_null(s->r.body);
    }
}

/* An integer (or boolean, as 0 / 1) of GET /admin/stats. */
static json_int_t
stat_of(const struct tlog *t, const char *key)
{
    json_t *st = get_json(t, "/admin/stats", NULL);
    json_int_t v;

    assert_non_null(json_object_get(st, key));
    v = json_is_boolean(json_object_get(st, key))
            ? json_is_true(json_object_get(st, key))
            : json_integer_value(json_object_get(st, key));
    json_decref(st);
    return v;
}

/* Step the slow transfer until the log reports stats key == want. */
static void
slow_until(const struct tlog *t, struct slow *s, const char *key,
           json_int_t want)
{
    double t0 = mono();

    while (stat_of(t, key) != want) {
        (void)slow_step(s, 50);
        if (mono() - t0 > 30) {
            fail_msg("stats %s never became %lld", key, (long long)want);
        }
    }
}

/* POST /admin/op, expecting status (the body is dropped). */
static void
admin_expect(const struct tlog *t, const char *op, const char *json,
             long status)
{
    char path[128];
    struct resp r;

    snprintf(path, sizeof(path), "/admin/%s", op);
    http(t, path, json, &r);
    if (r.status != status) {
        fail_msg("%s %s: HTTP %ld, expected %ld: %.300s", path, json, r.status,
                 status, r.body);
    }
    free(r.body);
}

/* VmHWM of a process, in KiB. */
static long
vm_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    long kib = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

static void
load_trusted_root(struct tlog *t)
{
    char path[512], *text;
    json_t *root, *tl, *certs;
    const char *s;
    uint8_t *der;
    const unsigned char *p;
    size_t n;

    snprintf(path, sizeof(path), "%s/trusted_root.json", t->dir);
    text = read_file(path, NULL);
    assert_non_null(text);
    root = parse(text);
    free(text);
    tl = json_array_get(json_object_get(root, "tlogs"), 0);
    assert_non_null(tl);
    assert_string_equal(json_string_value(json_object_get(tl, "baseUrl")),
                        t->url);
    s = json_string_value(
        json_object_get(json_object_get(tl, "publicKey"), "rawBytes"));
    assert_non_null(s);
    der = b64dec(s, strlen(s), &n);
    assert_non_null(der);
    assert_true(n <= sizeof(t->spki));
    memcpy(t->spki, der, n);
    t->spki_len = n;
    p = der;
    t->key = d2i_PUBKEY(NULL, &p, (long)n);
    assert_non_null(t->key);
    SHA256(der, n, t->log_id);
    free(der);
    certs = json_object_get(
        json_object_get(
            json_array_get(json_object_get(root, "certificateAuthorities"), 0),
            "certChain"),
        "certificates");
    assert_int_equal(json_array_size(certs), 2);
    s = json_string_value(
        json_object_get(json_array_get(certs, 0), "rawBytes"));
    der = b64dec(s, strlen(s), &n);
    p = der;
    t->ca_inter = d2i_X509(NULL, &p, (long)n);
    free(der);
    s = json_string_value(
        json_object_get(json_array_get(certs, 1), "rawBytes"));
    der = b64dec(s, strlen(s), &n);
    p = der;
    t->ca_root = d2i_X509(NULL, &p, (long)n);
    free(der);
    assert_non_null(t->ca_inter);
    assert_non_null(t->ca_root);
    json_decref(root);
}

/* Start the binary with extra arguments (NULL-terminated); wait for
 * DIR/url.  Returns the process exit status instead when it exits first
 * (then t->pid is 0). */
static int
tlog_start_args(struct tlog *t, const char *const *extra)
{
    const char *bin = getenv("TLOGWATCH_TESTLOG");
    posix_spawn_file_actions_t fa;
    const char *argv[32];
    char path[512], out[512];
    int n = 0, i, st;
    double t0;

    assert_non_null(bin);
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/tlw-testlog-test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    argv[n++] = bin;
    argv[n++] = "--dir";
    argv[n++] = t->dir;
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
    snprintf(path, sizeof(path), "%s/url", t->dir);
    t0 = mono();
    for (;;) {
        char *u;

        if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
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
        if (mono() - t0 > 120) {
            fail_msg("test log did not start within 120 s");
        }
        usleep(10000);
    }
    /* host of the URL: the checkpoint signer name */
    {
        const char *h = t->url + strlen("http://");
        size_t k = strcspn(h, ":/");

        assert_true(k < sizeof(t->host));
        memcpy(t->host, h, k);
        t->host[k] = '\0';
    }
    load_trusted_root(t);
    return -1;
}

static void
tlog_start(struct tlog *t, const char *entries)
{
    const char *extra[] = {"--listen", "127.0.0.1:0", "--entries", entries,
                           "--seed",   "4242",        NULL};

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

/* SIGTERM; the log must exit 0 (clean stop; under ASan: no leak). */
static void
tlog_stop(struct tlog *t)
{
    int st;

    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char out[512], *o;

            snprintf(out, sizeof(out), "%s/stdout", t->dir);
            o = read_file(out, NULL);
            fail_msg("test log exit status %d: %.2000s", st,
                     o != NULL ? o : "");
        }
    }
    EVP_PKEY_free(t->key);
    X509_free(t->ca_root);
    X509_free(t->ca_inter);
    rm_dir(t->dir);
    memset(t, 0, sizeof(*t));
}

static size_t
hex_array(json_t *arr, uint8_t (*out)[32])
{
    size_t i, n = json_array_size(arr);

    assert_true(n <= MAXP);
    for (i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));

        assert_non_null(s);
        assert_int_equal(merkle_hex_decode(s, strlen(s), out[i], 32), 32);
    }
    return n;
}

static void
hex32(const char *s, uint8_t out[32])
{
    assert_non_null(s);
    assert_int_equal(merkle_hex_decode(s, strlen(s), out, 32), 32);
}

/* ------------------------------------------------- checkpoints, SETs */

struct cp {
    char origin[256];
    uint64_t size;
    uint8_t root[32];
    uint8_t hint[4];
};

/* Verify a Rekor v1 signed note with key (OpenSSL directly) and parse
 * it.  0 ok, -1 bad signature, -2 malformed. */
static int
verify_note(EVP_PKEY *key, const char *note, const char *signer, struct cp *cp)
{
    const char *sep = strstr(note, "\n\n"), *line, *nl;
    size_t textlen, n;
    char name[128], *end;
    uint8_t *blob;
    EVP_MD_CTX *md;
    int ok;

    if (sep == NULL) {
        return -2;
    }
    textlen = (size_t)(sep - note) + 1;
    line = sep + 2;
    if (strncmp(line, "\xe2\x80\x94 ", 4) != 0) {
        return -2;
    }
    line += 4;
    nl = strchr(line, ' ');
    if (nl == NULL || (size_t)(nl - line) >= sizeof(name)) {
        return -2;
    }
    memcpy(name, line, (size_t)(nl - line));
    name[nl - line] = '\0';
    if (signer != NULL && strcmp(name, signer) != 0) {
        return -2;
    }
    line = nl + 1;
    nl = strchr(line, '\n');
    if (nl == NULL || nl[1] != '\0') {
        return -2;
    }
    blob = b64dec(line, (size_t)(nl - line), &n);
    if (blob == NULL || n < 8) {
        free(blob);
        return -2;
    }
    memcpy(cp->hint, blob, 4);
    md = EVP_MD_CTX_new();
    ok = md != NULL &&
         EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, blob + 4, n - 4, (const uint8_t *)note,
                          textlen) == 1;
    EVP_MD_CTX_free(md);
    free(blob);
    /* text: origin, size, base64 root */
    nl = strchr(note, '\n');
    if (nl == NULL || (size_t)(nl - note) >= sizeof(cp->origin)) {
        return -2;
    }
    memcpy(cp->origin, note, (size_t)(nl - note));
    cp->origin[nl - note] = '\0';
    cp->size = strtoull(nl + 1, &end, 10);
    if (*end != '\n') {
        return -2;
    }
    nl = strchr(end + 1, '\n');
    if (nl == NULL || merkle_b64_decode(end + 1, (size_t)(nl - end - 1),
                                        cp->root, 32) != 32) {
        return -2;
    }
    return ok ? 0 : -1;
}

/* The project's own note verifier must agree (cross-check). */
static enum merkle_result
merkle_note_check(const struct tlog *t, const char *note)
{
    struct merkle_note_key *k;
    struct merkle_checkpoint cp;
    enum merkle_result err = MERKLE_OK, r;

    k = merkle_note_key_ecdsa(t->host, t->spki, t->spki_len, &err);
    assert_non_null(k);
    r = merkle_checkpoint_verify(note, strlen(note), &k, 1, &cp);
    merkle_note_key_free(k);
    return r;
}

static int
verify_sig(EVP_PKEY *key, const uint8_t *sig, size_t siglen, const void *msg,
           size_t len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok;

    assert_non_null(md);
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* SET over canonical {"body","integratedTime","logID","logIndex"}. */
static int
verify_set(EVP_PKEY *key, json_t *e, json_int_t log_index)
{
    const char *body = json_string_value(json_object_get(e, "body"));
    const char *set = json_string_value(json_object_get(
        json_object_get(e, "verification"), "signedEntryTimestamp"));
    char *canon;
    uint8_t *sig;
    size_t n, siglen;
    int ok;

    assert_non_null(body);
    assert_non_null(set);
    n = strlen(body) + 256;
    canon = malloc(n);
    assert_non_null(canon);
    snprintf(
        canon, n,
        "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\","
        "\"logIndex\":%lld}",
        body,
        (long long)json_integer_value(json_object_get(e, "integratedTime")),
        json_string_value(json_object_get(e, "logID")), (long long)log_index);
    sig = b64dec(set, strlen(set), &siglen);
    assert_non_null(sig);
    ok = verify_sig(key, sig, siglen, canon, strlen(canon));
    free(sig);
    free(canon);
    return ok;
}

/* -------------------------------------------------- shape comparison */

enum sclass {
    SC_HEX64 = 1, /* a SHA-256 in hex */
    SC_HEX,       /* other even-length lower-case hex (entry ids) */
    SC_DEC,       /* decimal digits (tree ids) */
    SC_NOTE,      /* a signed note */
    SC_B64PEM,    /* base64 of PEM text */
    SC_B64B64,    /* base64 of base64 text */
    SC_B64JSON,   /* base64 of a JSON object (entry bodies) */
    SC_B64,       /* base64 of binary */
    SC_TEXT,
};

static int
all_in(const char *s, size_t n, const char *set)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strchr(set, s[i]) == NULL) {
            return 0;
        }
    }
    return n > 0;
}

static int
is_b64(const char *s, size_t n)
{
    return n % 4 == 0 &&
           all_in(s, n,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789+/=");
}

static enum sclass
str_class(const char *s, size_t n)
{
    enum sclass c = SC_TEXT;
    uint8_t *d;
    size_t dn;

    if (memchr(s, '\n', n) != NULL && strstr(s, "\n\n\xe2\x80\x94 ") != NULL) {
        return SC_NOTE;
    }
    if (n <= 20 && all_in(s, n, "0123456789")) {
        return SC_DEC;
    }
    if (n == 64 && all_in(s, n, "0123456789abcdef")) {
        return SC_HEX64;
    }
    if (n % 2 == 0 && all_in(s, n, "0123456789abcdef")) {
        return SC_HEX;
    }
    if (!is_b64(s, n)) {
        return SC_TEXT;
    }
    d = b64dec(s, n, &dn);
    if (d == NULL) {
        return SC_TEXT;
    }
    if (dn > 11 && memcmp(d, "-----BEGIN ", 11) == 0) {
        c = SC_B64PEM;
    } else if (is_b64((const char *)d, dn)) {
        c = SC_B64B64;
    } else if (dn > 0 && d[0] == '{') {
        c = SC_B64JSON;
    } else {
        c = SC_B64;
    }
    free(d);
    return c;
}

/* Line classes of a signed note: "origin - <dec>", <dec>, <b64 32>, "",
 * "— name <b64>". */
static void
note_shape(const char *note, char *out, size_t cap)
{
    const char *p = note;

    out[0] = '\0';
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        const char *k;
        char line[512];

        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        if (n == 0) {
            k = "empty";
        } else if (strncmp(line, "\xe2\x80\x94 ", 4) == 0) {
            const char *sp = strrchr(line, ' ');

            k = sp != NULL && is_b64(sp + 1, strlen(sp + 1)) ? "sig" : "?";
        } else if (strstr(line, " - ") != NULL &&
                   all_in(strstr(line, " - ") + 3,
                          strlen(strstr(line, " - ") + 3), "0123456789")) {
            k = "origin";
        } else if (all_in(line, n, "0123456789")) {
            k = "dec";
        } else if (n == 44 && is_b64(line, n)) {
            k = "root";
        } else {
            k = "text";
        }
        snprintf(out + strlen(out), cap - strlen(out), "%s|", k);
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
}

/* 0 when a and b have the same keys and encodings, else -1 with why. */
static int
shape_cmp(json_t *a, json_t *b, const char *path, char *why, size_t cap)
{
    const char *k;
    json_t *v;
    size_t i;
    char sub[512];

    if (json_typeof(a) != json_typeof(b)) {
        snprintf(why, cap, "%s: JSON type %d vs %d", path, json_typeof(a),
                 json_typeof(b));
        return -1;
    }
    switch (json_typeof(a)) {
    case JSON_OBJECT:
        json_object_foreach(a, k, v)
        {
            if (json_object_get(b, k) == NULL) {
                snprintf(why, cap, "%s: extra key %s", path, k);
                return -1;
            }
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (shape_cmp(v, json_object_get(b, k), sub, why, cap) != 0) {
                return -1;
            }
        }
        json_object_foreach(b, k, v)
        {
            if (json_object_get(a, k) == NULL) {
                snprintf(why, cap, "%s: missing key %s", path, k);
                return -1;
            }
        }
        return 0;
    case JSON_ARRAY:
        if (json_array_size(b) == 0) {
            return 0;
        }
        json_array_foreach(a, i, v)
        {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            if (shape_cmp(v, json_array_get(b, 0), sub, why, cap) != 0) {
                return -1;
            }
        }
        return 0;
    case JSON_STRING: {
        enum sclass ca = str_class(json_string_value(a), json_string_length(a));
        enum sclass cb = str_class(json_string_value(b), json_string_length(b));
        char na[256], nb[256];

        if (ca != cb) {
            snprintf(why, cap, "%s: string class %d vs %d (%.60s)", path, ca,
                     cb, json_string_value(a));
            return -1;
        }
        if (ca == SC_NOTE) {
            note_shape(json_string_value(a), na, sizeof(na));
            note_shape(json_string_value(b), nb, sizeof(nb));
            if (strcmp(na, nb) != 0) {
                snprintf(why, cap, "%.100s: note lines %.100s vs %.100s", path,
                         na, nb);
                return -1;
            }
        }
        if ((ca == SC_HEX || ca == SC_HEX64) &&
            json_string_length(a) != json_string_length(b)) {
            snprintf(why, cap, "%s: hex length %zu vs %zu", path,
                     json_string_length(a), json_string_length(b));
            return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* An entry map {uuid: entry}: same id class and length, same entry shape */
static int
entry_shape_cmp(json_t *a, json_t *b, char *why, size_t cap)
{
    const char *ka, *kb;
    json_t *va, *vb;
    void *ia = json_object_iter(a), *ib = json_object_iter(b);

    if (json_object_size(a) != 1 || json_object_size(b) != 1) {
        snprintf(why, cap, "entry maps must have one member");
        return -1;
    }
    ka = json_object_iter_key(ia);
    kb = json_object_iter_key(ib);
    va = json_object_iter_value(ia);
    vb = json_object_iter_value(ib);
    if (str_class(ka, strlen(ka)) != str_class(kb, strlen(kb)) ||
        strlen(ka) != strlen(kb)) {
        snprintf(why, cap, "entry id %s vs %s", ka, kb);
        return -1;
    }
    return shape_cmp(va, vb, "entry", why, cap);
}

/* Production samples, loaded once per test that needs them. */
struct prod {
    json_t *entries[16]; /* api-entries JSON files of the production log */
    size_t nentries;
    json_t *bodies[32]; /* decoded production bodies (entries, bundles) */
    size_t nbodies;
    char note[1024]; /* a production checkpoint */
};

static json_t *
decode_body(const char *b64)
{
    size_t n;
    uint8_t *d = b64dec(b64, strlen(b64), &n);
    json_t *j;
    json_error_t e;

    assert_non_null(d);
    j = json_loadb((const char *)d, n, 0, &e);
    free(d);
    return j;
}

/* 1 when body_b64 is RFC 8785 canonical (jansson sorted compact output
 * is, for these ASCII-only bodies). */
static int
is_canonical(const char *b64)
{
    size_t n;
    uint8_t *d = b64dec(b64, strlen(b64), &n);
    json_t *j = json_loadb((const char *)d, n, 0, NULL);
    char *again =
        j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int ok = again != NULL && strlen(again) == n && memcmp(again, d, n) == 0;

    free(again);
    json_decref(j);
    free(d);
    return ok;
}

static void
prod_load(struct prod *p)
{
    char dirpath[600], path[1200], *text, *pem;
    uint8_t der[512], prod_id[32];
    char prod_hex[65];
    DIR *d;
    struct dirent *e;
    EVP_PKEY *pk;
    BIO *bio;
    unsigned char *q = der;
    int n;

    memset(p, 0, sizeof(*p));
    /* production log id = SHA-256(DER SPKI) of rekor.sigstore.dev.pub */
    snprintf(path, sizeof(path), "%s/rekor/rekor.sigstore.dev.pub", testdata());
    pem = read_file(path, NULL);
    assert_non_null(pem);
    bio = BIO_new_mem_buf(pem, -1);
    pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(pk);
    n = i2d_PUBKEY(pk, &q);
    assert_true(n > 0);
    SHA256(der, (size_t)n, prod_id);
    merkle_hex_encode(prod_id, 32, prod_hex, sizeof(prod_hex));
    EVP_PKEY_free(pk);
    BIO_free(bio);
    free(pem);

    snprintf(dirpath, sizeof(dirpath), "%s/rekor/api-entries", testdata());
    d = opendir(dirpath);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        json_t *j, *v;
        const char *lid;

        if (strstr(e->d_name, ".json") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        text = read_file(path, NULL);
        j = parse(text);
        free(text);
        v = json_object_iter_value(json_object_iter(j));
        lid = json_string_value(json_object_get(v, "logID"));
        if (lid == NULL || strcmp(lid, prod_hex) != 0 || p->nentries >= 16) {
            json_decref(j); /* staging or another log */
            continue;
        }
        p->entries[p->nentries++] = j;
        p->bodies[p->nbodies++] =
            decode_body(json_string_value(json_object_get(v, "body")));
        snprintf(p->note, sizeof(p->note), "%s",
                 json_string_value(json_object_get(
                     json_object_get(json_object_get(v, "verification"),
                                     "inclusionProof"),
                     "checkpoint")));
    }
    closedir(d);
    snprintf(dirpath, sizeof(dirpath), "%s/rekor/bundles/valid", testdata());
    d = opendir(dirpath);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL && p->nbodies < 32) {
        json_t *j, *tle;
        const char *cb;

        if (strstr(e->d_name, ".json") == NULL) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
        text = read_file(path, NULL);
        j = parse(text);
        free(text);
        tle = json_array_get(
            json_object_get(json_object_get(j, "verificationMaterial"),
                            "tlogEntries"),
            0);
        cb = json_string_value(json_object_get(tle, "canonicalizedBody"));
        if (cb != NULL) {
            p->bodies[p->nbodies++] = decode_body(cb);
        }
        json_decref(j);
    }
    closedir(d);
    assert_true(p->nentries >= 3);
    assert_true(p->nbodies >= 6);
}

static void
prod_free(struct prod *p)
{
    size_t i;

    for (i = 0; i < p->nentries; i++) {
        json_decref(p->entries[i]);
    }
    for (i = 0; i < p->nbodies; i++) {
        json_decref(p->bodies[i]);
    }
}

/* A production body of the same kind and apiVersion, or NULL. */
static json_t *
prod_body(const struct prod *p, json_t *body)
{
    const char *kind = json_string_value(json_object_get(body, "kind"));
    const char *ver = json_string_value(json_object_get(body, "apiVersion"));
    size_t i;

    for (i = 0; i < p->nbodies; i++) {
        json_t *b = p->bodies[i];

        if (b != NULL &&
            strcmp(json_string_value(json_object_get(b, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(b, "apiVersion")), ver) ==
                0) {
            return b;
        }
    }
    return NULL;
}

/* Two renderings of one entry are equal but for their SETs (ECDSA
 * signatures are randomised, as production's are: it signs per request). */
static int
same_entry(json_t *a, json_t *b)
{
    json_t *ca = json_deep_copy(a), *cb = json_deep_copy(b);
    int eq;

    json_object_del(
        json_object_get(json_object_iter_value(json_object_iter(ca)),
                        "verification"),
        "signedEntryTimestamp");
    json_object_del(
        json_object_get(json_object_iter_value(json_object_iter(cb)),
                        "verification"),
        "signedEntryTimestamp");
    eq = json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return eq;
}

/* ------------------------------------------------------- attestations */

/* The payloadHash (hex) an intoto / dsse body records; NULL otherwise. */
static const char *
body_payload_hash(json_t *body)
{
    const char *kind = json_string_value(json_object_get(body, "kind"));
    json_t *spec = json_object_get(body, "spec");

    if (kind == NULL) {
        return NULL;
    }
    if (strcmp(kind, "intoto") == 0) {
        spec = json_object_get(spec, "content");
    } else if (strcmp(kind, "dsse") != 0) {
        return NULL;
    }
    return json_string_value(
        json_object_get(json_object_get(spec, "payloadHash"), "value"));
}

/* The decoded attestation.data of an entry map (new, *n its length), or
 * NULL when the entry has no attestation member.  Asserts Rekor's shape:
 * an object whose only member is "data", standard base64 (format byte). */
static uint8_t *
entry_attestation(json_t *map, size_t *n)
{
    json_t *e = json_object_iter_value(json_object_iter(map));
    json_t *att = json_object_get(e, "attestation"), *data;
    const char *s;
    uint8_t *d;

    if (att == NULL) {
        return NULL;
    }
    assert_true(json_is_object(att));
    assert_int_equal(json_object_size(att), 1);
    data = json_object_get(att, "data");
    assert_true(json_is_string(data));
    s = json_string_value(data);
    assert_true(is_b64(s, strlen(s)));
    d = b64dec(s, strlen(s), n);
    assert_non_null(d);
    return d;
}

/* 1 when SHA-256(attestation) equals the body's payloadHash, 0 when it
 * does not, -1 when the entry has no attestation. */
static int
attestation_matches(json_t *map, json_t *body)
{
    const char *want = body_payload_hash(body);
    uint8_t *att, h[32];
    char hex[65];
    size_t n;

    att = entry_attestation(map, &n);
    if (att == NULL) {
        return -1;
    }
    assert_non_null(want);
    SHA256(att, n, h);
    free(att);
    merkle_hex_encode(h, 32, hex, sizeof(hex));
    return strcmp(hex, want) == 0;
}

/* The production shape check of a served entry map: its members are
 * those of every production api-entries sample, plus "attestation"
 * exactly when the body is intoto or dsse and one was stored (has_att);
 * the rest compares value by value (entry_shape_cmp).  0 / -1 with why. */
static int
prod_entry_shape(json_t *map, const struct prod *p, int has_att, char *why,
                 size_t cap)
{
    json_t *copy = json_deep_copy(map), *e;
    size_t k;
    int rc = 0;

    e = json_object_iter_value(json_object_iter(copy));
    if ((json_object_get(e, "attestation") != NULL) != (has_att != 0)) {
        snprintf(why, cap, "attestation %s", has_att ? "missing" : "extra");
        json_decref(copy);
        return -1;
    }
    json_object_del(e, "attestation");
    for (k = 0; k < p->nentries && rc == 0; k++) {
        rc = entry_shape_cmp(copy, p->entries[k], why, cap);
    }
    json_decref(copy);
    return rc;
}

/* ------------------------------------------- entry-level verification */

/* Everything an entry must satisfy; returns its decoded body (new). */
static json_t *
check_entry(const struct tlog *t, json_t *map, json_int_t want_index,
            const uint8_t *want_root)
{
    uint8_t leaf[32], root[32], proof[MAXP][32];
    const char *uuid, *b64;
    json_t *e, *ip, *body;
    struct cp cp;
    uint8_t *raw;
    size_t n, np;
    char leafhex[65], tidhex[17];

    assert_int_equal(json_object_size(map), 1);
    uuid = json_object_iter_key(json_object_iter(map));
    e = json_object_iter_value(json_object_iter(map));
    assert_int_equal(json_integer_value(json_object_get(e, "logIndex")),
                     want_index);
    b64 = json_string_value(json_object_get(e, "body"));
    raw = b64dec(b64, strlen(b64), &n);
    assert_non_null(raw);
    merkle_leaf_hash(raw, n, leaf);
    merkle_hex_encode(leaf, 32, leafhex, sizeof(leafhex));
    assert_int_equal(strlen(uuid), 80);
    assert_string_equal(uuid + 16, leafhex);
    merkle_hex_encode(t->log_id, 32, leafhex, sizeof(leafhex));
    assert_string_equal(json_string_value(json_object_get(e, "logID")),
                        leafhex);
    ip = json_object_get(json_object_get(e, "verification"), "inclusionProof");
    np = hex_array(json_object_get(ip, "hashes"), proof);
    hex32(json_string_value(json_object_get(ip, "rootHash")), root);
    assert_int_equal(
        merkle_verify_inclusion(
            (uint64_t)json_integer_value(json_object_get(ip, "logIndex")),
            (uint64_t)json_integer_value(json_object_get(ip, "treeSize")), leaf,
            (const uint8_t(*)[32])proof, np, root),
        MERKLE_OK);
    if (want_root != NULL) {
        assert_memory_equal(root, want_root, 32);
    }
    /* negative twin: one flipped bit in the proof (or the leaf) fails */
    if (np > 0) {
        proof[np / 2][7] ^= 0x10;
    } else {
        leaf[0] ^= 1;
    }
    assert_int_not_equal(
        merkle_verify_inclusion(
            (uint64_t)json_integer_value(json_object_get(ip, "logIndex")),
            (uint64_t)json_integer_value(json_object_get(ip, "treeSize")), leaf,
            (const uint8_t(*)[32])proof, np, root),
        MERKLE_OK);
    /* the checkpoint signs this root and size, with the origin's tree id */
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(ip, "checkpoint")),
                    t->host, &cp),
        0);
    assert_memory_equal(cp.root, root, 32);
    assert_memory_equal(cp.hint, t->log_id, 4);
    assert_int_equal(cp.size,
                     json_integer_value(json_object_get(ip, "treeSize")));
    snprintf(tidhex, sizeof(tidhex), "%016llx",
             strtoull(strstr(cp.origin, " - ") + 3, NULL, 10));
    assert_memory_equal(uuid, tidhex, 16);
    assert_int_equal(merkle_note_check(t, json_string_value(json_object_get(
                                              ip, "checkpoint"))),
                     MERKLE_OK);
    /* the SET, and its negative twin (another index) */
    assert_true(verify_set(t->key, e, want_index));
    assert_false(verify_set(t->key, e, want_index + 1));
    body = json_loadb((const char *)raw, n, 0, NULL);
    free(raw);
    return body;
}

/* The signing inside a hashedrekord / dsse / intoto body verifies with
 * the key of its certificate (or bare key); returns that cert or NULL. */
static X509 *
check_body_signature(json_t *body, int64_t integrated_time)
{
    const char *kind = json_string_value(json_object_get(body, "kind"));
    json_t *spec = json_object_get(body, "spec");
    const char *sig_b64, *ver_b64;
    uint8_t *sig, *pem, *der_sig;
    size_t siglen, pemlen, dlen;
    EVP_PKEY *pk = NULL;
    X509 *cert = NULL;
    BIO *bio;
    EVP_PKEY_CTX *pc;
    uint8_t digest[32];

    if (strcmp(kind, "hashedrekord") == 0) {
        sig_b64 = json_string_value(
            json_object_get(json_object_get(spec, "signature"), "content"));
        ver_b64 = json_string_value(json_object_get(
            json_object_get(json_object_get(spec, "signature"), "publicKey"),
            "content"));
        hex32(json_string_value(json_object_get(
                  json_object_get(json_object_get(spec, "data"), "hash"),
                  "value")),
              digest);
    } else if (strcmp(kind, "dsse") == 0) {
        json_t *s0 = json_array_get(json_object_get(spec, "signatures"), 0);

        sig_b64 = json_string_value(json_object_get(s0, "signature"));
        ver_b64 = json_string_value(json_object_get(s0, "verifier"));
    } else {
        json_t *s0 = json_array_get(
            json_object_get(
                json_object_get(json_object_get(spec, "content"), "envelope"),
                "signatures"),
            0);

        sig_b64 = json_string_value(json_object_get(s0, "sig"));
        ver_b64 = json_string_value(json_object_get(s0, "publicKey"));
    }
    assert_non_null(sig_b64);
    assert_non_null(ver_b64);
    sig = b64dec(sig_b64, strlen(sig_b64), &siglen);
    assert_non_null(sig);
    if (strcmp(kind, "intoto") == 0) { /* base64 of base64 */
        der_sig = b64dec((const char *)sig, siglen, &dlen);
        assert_non_null(der_sig);
        free(sig);
        sig = der_sig;
        siglen = dlen;
    }
    pem = b64dec(ver_b64, strlen(ver_b64), &pemlen);
    assert_non_null(pem);
    bio = BIO_new_mem_buf(pem, (int)pemlen);
    if (strstr((const char *)pem, "CERTIFICATE") != NULL) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        assert_non_null(cert);
        pk = X509_get_pubkey(cert);
        /* valid at the entry's integratedTime, 10 minutes long */
        assert_true(X509_cmp_time(X509_get0_notBefore(cert),
                                  &(time_t){(time_t)integrated_time}) <= 0);
        assert_true(X509_cmp_time(X509_get0_notAfter(cert),
                                  &(time_t){(time_t)integrated_time}) >= 0);
    } else {
        pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }
    assert_non_null(pk);
    BIO_free(bio);
    free(pem);
    if (strcmp(kind, "hashedrekord") == 0) {
        pc = EVP_PKEY_CTX_new(pk, NULL);
        assert_int_equal(EVP_PKEY_verify_init(pc), 1);
        assert_int_equal(EVP_PKEY_verify(pc, sig, siglen, digest, 32), 1);
        digest[0] ^= 1; /* negative twin */
        assert_int_not_equal(EVP_PKEY_verify(pc, sig, siglen, digest, 32), 1);
        EVP_PKEY_CTX_free(pc);
    }
    EVP_PKEY_free(pk);
    free(sig);
    return cert;
}

/* 1 when cert chains to the test log's CA at its NotBefore. */
static int
chains(const struct tlog *t, X509 *cert)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int ok;

    assert_non_null(store);
    assert_non_null(ctx);
    X509_STORE_add_cert(store, t->ca_root);
    sk_X509_push(untrusted, t->ca_inter);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, untrusted), 1);
    {
        struct tm tm;

        ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm);
        X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), timegm(&tm));
    }
    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx),
                                  X509_PURPOSE_ANY);
    ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
    return ok;
}

/* Per-test state: the test log, stopped (killed) by the teardown when a
 * failed assertion left it running. */
static int
tlog_setup(void **state)
{
    struct tlog *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return -1;
    }
    *state = t;
    return 0;
}

static int
tlog_teardown(void **state)
{
    struct tlog *t = *state;
    int st;

    if (t->pid > 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, &st, 0);
    }
    EVP_PKEY_free(t->key);
    X509_free(t->ca_root);
    X509_free(t->ca_inter);
    if (t->dir[0] != '\0') {
        rm_dir(t->dir);
    }
    free(t);
    return 0;
}

/* ---------------------------------------------------------------- tests */

/* --help documents every flag and operation; non-loopback is refused. */
static void
test_cli(void **state)
{
    struct tlog *t = *state;
    const char *help[] = {"--help", NULL};
    const char *bad[] = {"--listen", "0.0.0.0:0", NULL};
    const char *bad6[] = {"--listen", "[::]:0", NULL};
    const char *ops[] = {
        "/admin/grow",   "/admin/append",    "/admin/append-malformed",
        "/admin/fork",   "/admin/rollback",  "/admin/wrong-key",
        "/admin/tamper", "/admin/drop",      "/admin/rotate",
        "/admin/fail",   "/admin/delay",     "/admin/rate",
        "/admin/stats",  "/admin/misdirect", "/admin/impossible",
        "/admin/pad",    "/admin/trickle",   "/admin/reset",
        "--listen",      "--entries",        "--dir",
        "--seed",        "--prefix",         NULL};
    char path[512], *out;
    int i;

    assert_int_equal(tlog_start_args(t, help), 0);
    snprintf(path, sizeof(path), "%s/stdout", t->dir);
    out = read_file(path, NULL);
    assert_non_null(out);
    for (i = 0; ops[i] != NULL; i++) {
        if (strstr(out, ops[i]) == NULL) {
            fail_msg("--help does not mention %s", ops[i]);
        }
    }
    free(out);
    rm_dir(t->dir);
    assert_int_equal(tlog_start_args(t, bad), 2);
    rm_dir(t->dir);
    assert_int_equal(tlog_start_args(t, bad6), 2);
    rm_dir(t->dir);
}

/* GET /api/v1/log: keys, encodings, a checkpoint signed by the key in
 * trusted_root.json, shaped like production's. */
static void
test_log_info(void **state)
{
    struct tlog *t = *state;
    struct prod p;
    json_t *info, *sample;
    struct cp cp;
    uint8_t root[32];
    char *note, a[256], b[256], prod_tid[32];

    prod_load(&p);
    tlog_start(t, "600");
    info = get_json(t, "/api/v1/log", NULL);
    /* production shape, written down in the brief and in rekor's
     * LogInfo model: rootHash hex, signedTreeHead note, treeID decimal
     * string, treeSize integer; the note is shaped like production's */
    /* production's tree id: the origin line of a production checkpoint */
    snprintf(prod_tid, sizeof(prod_tid), "%.*s",
             (int)strcspn(strstr(p.note, " - ") + 3, "\n"),
             strstr(p.note, " - ") + 3);
    sample = json_pack(
        "{s:s, s:s, s:s, s:i}", "rootHash",
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_iter_value(
                                                json_object_iter(p.entries[0])),
                                            "verification"),
                            "inclusionProof"),
            "rootHash")),
        "signedTreeHead", p.note, "treeID", prod_tid, "treeSize", 1);
    {
        char why[512] = "";

        if (shape_cmp(info, sample, "log", why, sizeof(why)) != 0) {
            fail_msg("%s", why);
        }
        /* negative twin: treeID as an integer is not production's shape */
        json_object_set_new(info, "treeID", json_integer(1));
        assert_int_equal(shape_cmp(info, sample, "log", why, sizeof(why)), -1);
        json_decref(info);
    }
    json_decref(sample);
    info = get_json(t, "/api/v1/log", NULL);
    assert_null(json_object_get(info, "inactiveShards"));
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     600);
    note = strdup(json_string_value(json_object_get(info, "signedTreeHead")));
    assert_int_equal(verify_note(t->key, note, t->host, &cp), 0);
    hex32(json_string_value(json_object_get(info, "rootHash")), root);
    assert_memory_equal(cp.root, root, 32);
    assert_int_equal(cp.size, 600);
    snprintf(a, sizeof(a), "%s - %s", t->host,
             json_string_value(json_object_get(info, "treeID")));
    assert_string_equal(cp.origin, a);
    assert_memory_equal(cp.hint, t->log_id, 4);
    assert_int_equal(merkle_note_check(t, note), MERKLE_OK);
    note_shape(note, a, sizeof(a));
    note_shape(p.note, b, sizeof(b));
    assert_string_equal(a, b);
    /* negative twin: one changed character of the text fails */
    note[strlen(t->host) + 4] ^= 1;
    assert_int_equal(verify_note(t->key, note, t->host, &cp), -1);
    assert_int_not_equal(merkle_note_check(t, note), MERKLE_OK);
    free(note);
    json_decref(info);
    /* the public key endpoint serves the same key */
    {
        struct resp r;
        BIO *bio;
        EVP_PKEY *pk;

        http(t, "/api/v1/log/publicKey", NULL, &r);
        assert_int_equal(r.status, 200);
        bio = BIO_new_mem_buf(r.body, (int)r.len);
        pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        assert_non_null(pk);
        assert_int_equal(EVP_PKEY_eq(pk, t->key), 1);
        EVP_PKEY_free(pk);
        BIO_free(bio);
        free(r.body);
    }
    tlog_stop(t);
    prod_free(&p);
}

/* Entries by index, by uuid and by retrieve: production's shapes and
 * bodies, proofs, checkpoints, SETs and in-body signatures verify. */
static void
test_entries(void **state)
{
    struct tlog *t = *state;
    struct prod p;
    json_t *info, *m, *arr;
    uint8_t root[32];
    char path[256], why[512];
    int seen_kind[3] = {0, 0, 0}, seen_keyonly = 0, seen_email = 0;
    int seen_att = 0;
    ASN1_OBJECT *gh_oid = OBJ_txt2obj("1.3.6.1.4.1.57264.1.9", 1);
    json_int_t i;
    size_t k;

    prod_load(&p);
    /* production samples are canonical, so the comparison is fair */
    for (k = 0; k < p.nentries; k++) {
        assert_true(is_canonical(json_string_value(json_object_get(
            json_object_iter_value(json_object_iter(p.entries[k])), "body"))));
    }
    tlog_start(t, "600");
    info = get_json(t, "/api/v1/log", NULL);
    hex32(json_string_value(json_object_get(info, "rootHash")), root);
    json_decref(info);
    for (i = 0; i < 600; i += 7) {
        json_t *body, *pb, *e;
        const char *kind;
        X509 *cert;

        snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%lld",
                 (long long)i);
        m = get_json(t, path, NULL);
        e = json_object_iter_value(json_object_iter(m));
        assert_true(
            is_canonical(json_string_value(json_object_get(e, "body"))));
        body = check_entry(t, m, i, root);
        kind = json_string_value(json_object_get(body, "kind"));
        /* production's members, plus attestation for intoto noise (its
         * payload, whose SHA-256 the body records; Rekor's dsse type
         * stores none) */
        if (prod_entry_shape(m, &p, strcmp(kind, "intoto") == 0, why,
                             sizeof(why)) != 0) {
            fail_msg("index %lld vs production: %s", (long long)i, why);
        }
        if (strcmp(kind, "intoto") == 0) {
            assert_int_equal(attestation_matches(m, body), 1);
            seen_att++;
        }
        pb = prod_body(&p, body);
        if (pb == NULL) {
            fail_msg("no production body of kind %s", kind);
        }
        if (shape_cmp(body, pb, "body", why, sizeof(why)) != 0) {
            fail_msg("index %lld body: %s", (long long)i, why);
        }
        seen_kind[strcmp(kind, "hashedrekord") == 0 ? 0
                  : strcmp(kind, "dsse") == 0       ? 1
                                                    : 2]++;
        cert = check_body_signature(
            body, json_integer_value(json_object_get(e, "integratedTime")));
        if (cert != NULL) {
            assert_true(chains(t, cert));
            if (X509_get_ext_by_OBJ(cert, gh_oid, -1) < 0) {
                seen_email++; /* no Build Signer URI: an email identity */
            }
            X509_free(cert);
        } else {
            seen_keyonly++;
        }
        json_decref(body);
        json_decref(m);
    }
    ASN1_OBJECT_free(gh_oid);
    /* the noise has every kind and every kind of signer */
    assert_true(seen_kind[0] > 0 && seen_kind[1] > 0 && seen_kind[2] > 0);
    assert_true(seen_keyonly > 0 && seen_email > 0);
    assert_true(seen_att > 0);
    /* negative twin of the shape comparison: a string logIndex */
    m = get_json(t, "/api/v1/log/entries?logIndex=3", NULL);
    json_object_set_new(json_object_iter_value(json_object_iter(m)), "logIndex",
                        json_string("3"));
    assert_int_equal(entry_shape_cmp(m, p.entries[0], why, sizeof(why)), -1);
    json_decref(m);

    /* retrieve: 10 indexes in order, each an entry map; missing dropped */
    arr = get_json(t, "/api/v1/log/entries/retrieve",
                   "{\"logIndexes\":[5,1,599,600,100000,2,3,4,6,7]}");
    assert_int_equal(json_array_size(arr), 8);
    {
        json_int_t want[] = {5, 1, 599, 2, 3, 4, 6, 7};

        for (k = 0; k < 8; k++) {
            json_t *body =
                check_entry(t, json_array_get(arr, k), want[k], root);
            int att = strcmp(json_string_value(json_object_get(body, "kind")),
                             "intoto") == 0;

            if (prod_entry_shape(json_array_get(arr, k), &p, att, why,
                                 sizeof(why)) != 0) {
                fail_msg("retrieve[%zu]: %s", k, why);
            }
            if (att) {
                assert_int_equal(
                    attestation_matches(json_array_get(arr, k), body), 1);
            }
            json_decref(body);
        }
    }
    /* by uuid: the same entry; 64-hex leaf hash works too */
    {
        const char *uuid =
            json_object_iter_key(json_object_iter(json_array_get(arr, 0)));
        char post[256];
        json_t *byid, *r2;

        snprintf(path, sizeof(path), "/api/v1/log/entries/%s", uuid);
        byid = get_json(t, path, NULL);
        json_decref(check_entry(t, byid, 5, root));
        assert_true(same_entry(byid, json_array_get(arr, 0)));
        json_decref(byid);
        snprintf(post, sizeof(post),
                 "{\"entryUUIDs\":[\"%s\",\"%s\"],\"logIndexes\":[9]}",
                 uuid + 16, uuid);
        r2 = get_json(t, "/api/v1/log/entries/retrieve", post);
        assert_int_equal(json_array_size(r2), 3);
        assert_true(same_entry(json_array_get(r2, 0), json_array_get(arr, 0)));
        json_decref(check_entry(t, json_array_get(r2, 2), 9, root));
        json_decref(r2);
    }
    json_decref(arr);
    /* 11 items: 422 with Rekor's error model; an unknown index: 404 */
    {
        struct resp r;
        json_t *err;

        http(t, "/api/v1/log/entries/retrieve",
             "{\"logIndexes\":[0,1,2,3,4,5,6,7,8,9,10]}", &r);
        assert_int_equal(r.status, 422);
        err = parse(r.body);
        assert_true(json_is_integer(json_object_get(err, "code")));
        assert_true(json_is_string(json_object_get(err, "message")));
        json_decref(err);
        free(r.body);
        http(t, "/api/v1/log/entries?logIndex=600", NULL, &r);
        assert_int_equal(r.status, 404);
        free(r.body);
        http(t, "/api/v1/log/entries?logIndex=abc", NULL, &r);
        assert_int_equal(r.status, 422);
        free(r.body);
    }
    tlog_stop(t);
    prod_free(&p);
}

/* Consistency proofs between every pair of sizes the log went through. */
static void
test_consistency(void **state)
{
    struct tlog *t = *state;
    uint64_t sizes[8];
    uint8_t roots[8][32], proof[MAXP][32], cur[32];
    size_t ns = 0, a, b, np;
    char path[256];
    const char *grow[] = {"{\"count\":1}", "{\"count\":37}", "{\"count\":64}",
                          "{\"count\":300}", "{\"count\":3}"};
    json_t *info, *pr, *sample, *pip;
    struct prod p;
    char why[512];

    /* production's ConsistencyProof model (rekor openapi.yaml): hex
     * hashes and a hex rootHash, the encodings of a production inclusion
     * proof's hashes and rootHash */
    prod_load(&p);
    pip = json_object_get(
        json_object_get(json_object_iter_value(json_object_iter(p.entries[0])),
                        "verification"),
        "inclusionProof");
    sample = json_pack("{s:O, s:O}", "hashes", json_object_get(pip, "hashes"),
                       "rootHash", json_object_get(pip, "rootHash"));
    assert_non_null(sample);
    tlog_start(t, "200");
    for (;;) {
        info = get_json(t, "/api/v1/log", NULL);
        sizes[ns] =
            (uint64_t)json_integer_value(json_object_get(info, "treeSize"));
        hex32(json_string_value(json_object_get(info, "rootHash")), roots[ns]);
        json_decref(info);
        if (++ns == 6) {
            break;
        }
        json_decref(admin(t, "grow", grow[ns - 1]));
    }
    memcpy(cur, roots[ns - 1], 32);
    for (a = 0; a < ns; a++) {
        for (b = a; b < ns; b++) {
            snprintf(path, sizeof(path),
                     "/api/v1/log/proof?firstSize=%llu&lastSize=%llu",
                     (unsigned long long)sizes[a],
                     (unsigned long long)sizes[b]);
            pr = get_json(t, path, NULL);
            /* production's ConsistencyProof: hashes + CURRENT root */
            if (shape_cmp(pr, sample, "proof", why, sizeof(why)) != 0) {
                fail_msg("%s", why);
            }
            np = hex_array(json_object_get(pr, "hashes"), proof);
            {
                uint8_t r[32];

                hex32(json_string_value(json_object_get(pr, "rootHash")), r);
                assert_memory_equal(r, cur, 32);
            }
            assert_int_equal(merkle_verify_consistency(
                                 sizes[a], sizes[b], roots[a], roots[b],
                                 (const uint8_t(*)[32])proof, np),
                             MERKLE_OK);
            /* negative twin: against the next size's root it fails */
            if (b + 1 < ns && sizes[b + 1] != sizes[b]) {
                assert_int_not_equal(
                    merkle_verify_consistency(sizes[a], sizes[b], roots[a],
                                              roots[b + 1],
                                              (const uint8_t(*)[32])proof, np),
                    MERKLE_OK);
            }
            json_decref(pr);
        }
    }
    /* errors: Rekor's messages and codes */
    {
        struct resp r;

        snprintf(path, sizeof(path),
                 "/api/v1/log/proof?firstSize=1&lastSize=%llu",
                 (unsigned long long)sizes[ns - 1] + 1);
        http(t, path, NULL, &r);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "greater than what is currently"));
        free(r.body);
        http(t, "/api/v1/log/proof?firstSize=9&lastSize=5", NULL, &r);
        assert_int_equal(r.status, 400);
        free(r.body);
        http(t, "/api/v1/log/proof?firstSize=1", NULL, &r);
        assert_int_equal(r.status, 422);
        free(r.body);
    }
    /* negative twin of the shape check: base64 hashes are not production's */
    {
        char b64[64];

        merkle_b64_encode(cur, 32, b64, sizeof(b64));
        pr = json_pack("{s:[s], s:s}", "hashes", b64, "rootHash",
                       json_string_value(json_object_get(sample, "rootHash")));
        assert_int_equal(shape_cmp(pr, sample, "proof", why, sizeof(why)), -1);
    }
    json_decref(pr);
    json_decref(sample);
    prod_free(&p);
    tlog_stop(t);
}

/* A small non-negative number from a vector, or UINT64_MAX. */
static uint64_t
num(json_t *v)
{
    double d = json_number_value(v);

    return json_is_number(v) && d >= 0 && d < 1e15 ? (uint64_t)d : UINT64_MAX;
}

/* The tree against the RFC 6962 reference tree and the transparency-dev
 * happy-path vectors: leaves appended raw, proofs compared byte for byte. */
static void
test_reference_vectors(void **state)
{
    struct tlog *t = *state;
    char path[1024], *text, post[256];
    json_t *ref, *leaves, *roots;
    size_t size, checked_incl = 0, checked_cons = 0, mismatched = 0;
    const char *kinds[] = {"inclusion", "consistency"};

    snprintf(path, sizeof(path), "%s/merkle/rfc6962-reference-tree.json",
             testdata());
    text = read_file(path, NULL);
    assert_non_null(text);
    ref = parse(text);
    free(text);
    leaves = json_object_get(ref, "leafInputsHex");
    roots = json_object_get(ref, "rootHashesHexByTreeSize");
    tlog_start(t, "0");
    for (size = 0; size <= json_array_size(leaves); size++) {
        json_t *info;
        char key[8];
        int kd;

        if (size > 0) {
            const char *hex =
                json_string_value(json_array_get(leaves, size - 1));
            uint8_t raw[64];
            char b64[128];
            long n = merkle_hex_decode(hex, strlen(hex), raw, sizeof(raw));

            assert_true(n >= 0);
            merkle_b64_encode(raw, (size_t)n, b64, sizeof(b64));
            snprintf(post, sizeof(post), "{\"body_b64\":\"%s\"}", b64);
            json_decref(admin(t, "append-raw", post));
        }
        info = get_json(t, "/api/v1/log", NULL);
        snprintf(key, sizeof(key), "%zu", size);
        assert_string_equal(
            json_string_value(json_object_get(info, "rootHash")),
            json_string_value(json_object_get(roots, key)));
        json_decref(info);
        /* every vector directory: happy paths must match exactly, mutated
         * proofs for the same sizes must not */
        for (kd = 0; kd < 2; kd++) {
            DIR *d;
            struct dirent *e;
            char dpath[700];

            snprintf(dpath, sizeof(dpath), "%s/merkle/%s", testdata(),
                     kinds[kd]);
            d = opendir(dpath);
            assert_non_null(d);
            while ((e = readdir(d)) != NULL) {
                DIR *d2;
                struct dirent *f;
                char sub[1200];

                if (e->d_name[0] == '.') {
                    continue;
                }
                snprintf(sub, sizeof(sub), "%s/%s", dpath, e->d_name);
                d2 = opendir(sub);
                if (d2 == NULL) {
                    continue;
                }
                while ((f = readdir(d2)) != NULL) {
                    char fp[1600], q[256];
                    json_t *v, *served, *want, *got;
                    uint64_t s1, s2;
                    int happy;

                    if (strstr(f->d_name, ".json") == NULL) {
                        continue;
                    }
                    snprintf(fp, sizeof(fp), "%s/%s", sub, f->d_name);
                    text = read_file(fp, NULL);
                    /* some probes hold 2^64 - 1: read numbers as reals */
                    v = json_loads(text, JSON_DECODE_INT_AS_REAL, NULL);
                    free(text);
                    assert_non_null(v);
                    happy = strcmp(f->d_name, "happy-path.json") == 0;
                    want = json_object_get(v, "proof");
                    if (kd == 0) {
                        s2 = num(json_object_get(v, "treeSize"));
                        s1 = num(json_object_get(v, "leafIdx"));
                        if (s2 != size || size == 0 || s1 >= size) {
                            json_decref(v);
                            continue;
                        }
                        snprintf(q, sizeof(q),
                                 "/api/v1/log/entries?logIndex=%llu",
                                 (unsigned long long)s1);
                        served = get_json(t, q, NULL);
                        got = json_object_get(
                            json_object_get(
                                json_object_get(json_object_iter_value(
                                                    json_object_iter(served)),
                                                "verification"),
                                "inclusionProof"),
                            "hashes");
                    } else {
                        s1 = num(json_object_get(v, "size1"));
                        s2 = num(json_object_get(v, "size2"));
                        if (s2 != size || s1 < 1 || s1 > s2) {
                            json_decref(v);
                            continue;
                        }
                        snprintf(q, sizeof(q),
                                 "/api/v1/log/proof?firstSize=%llu&"
                                 "lastSize=%llu",
                                 (unsigned long long)s1,
                                 (unsigned long long)s2);
                        served = get_json(t, q, NULL);
                        got = json_object_get(served, "hashes");
                    }
                    /* vectors are base64, the API hex */
                    {
                        size_t j, n = json_array_size(got);
                        int same = n == json_array_size(want);

                        for (j = 0; same && j < n; j++) {
                            uint8_t a[32], b[32];
                            const char *w =
                                json_string_value(json_array_get(want, j));

                            hex32(json_string_value(json_array_get(got, j)), a);
                            same =
                                w != NULL &&
                                merkle_b64_decode(w, strlen(w), b, 32) == 32 &&
                                memcmp(a, b, 32) == 0;
                        }
                        if (happy) {
                            if (!same) {
                                fail_msg("%s differs from the served proof",
                                         fp);
                            }
                            kd == 0 ? checked_incl++ : checked_cons++;
                        } else if (!same) {
                            mismatched++;
                        }
                    }
                    json_decref(served);
                    json_decref(v);
                }
                closedir(d2);
            }
            closedir(d);
        }
    }
    /* all five happy paths of each kind (size 1..8) were compared, and
     * mutated probes for those sizes differ from what is served */
    print_message("reference vectors: %zu inclusion and %zu consistency "
                  "happy paths served byte for byte; %zu mutated probes "
                  "differ\n",
                  checked_incl, checked_cons, mismatched);
    assert_true(checked_incl >= 5);
    assert_true(checked_cons >= 4);
    assert_true(mismatched > 20);
    json_decref(ref);
    tlog_stop(t);
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
    if (n <= 6) { /* raw */
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(os), p);
    } else { /* DER UTF8String, nothing after it */
        ASN1_UTF8STRING *u =
            d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(os));

        assert_non_null(u);
        assert_ptr_equal(p, ASN1_STRING_get0_data(os) + ASN1_STRING_length(os));
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(u),
                 ASN1_STRING_get0_data(u));
        ASN1_UTF8STRING_free(u);
    }
    return buf;
}

static X509 *
pem_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    BIO_free(bio);
    assert_non_null(x);
    return x;
}

/* An appended signing carries exactly the claims given, chains to the CA
 * in trusted_root.json, and the impostor's does not. */
static void
test_append_claims(void **state)
{
    static const char *want[23] = {
        [1] = "https://token.actions.githubusercontent.com",
        [2] = "push",
        [3] = "0123456789abcdef0123456789abcdef01234567",
        [4] = "build-eif",
        [5] = "acme/enclave-app",
        [6] = "refs/heads/main",
        [8] = "https://token.actions.githubusercontent.com",
        [9] = "https://github.com/acme/enclave-app/.github/workflows/"
              "build-eif.yml@refs/heads/main",
        [10] = "0123456789abcdef0123456789abcdef01234567",
        [11] = "self-hosted",
        [12] = "https://github.com/acme/enclave-app",
        [13] = "0123456789abcdef0123456789abcdef01234567",
        [14] = "refs/heads/main",
        [15] = "123456",
        [16] = "https://github.com/acme",
        [17] = "7890",
        [18] = "https://github.com/acme/enclave-app/.github/workflows/"
               "build-eif.yml@refs/heads/main",
        [19] = "0123456789abcdef0123456789abcdef01234567",
        [20] = "push",
        [21] = "https://github.com/acme/enclave-app/actions/runs/4242/"
               "attempts/1",
        [22] = "public",
    };
    struct tlog *t = *state;
    struct prod p;
    json_t *r, *m, *body;
    X509 *cert, *bodycert;
    char buf[512], path[256], why[512];
    unsigned n;
    int crit;
    GENERAL_NAMES *san;
    json_int_t idx, it;

    prod_load(&p);
    tlog_start(t, "100");
    r = admin(t, "append",
              "{\"repository\":\"acme/enclave-app\",\"repository_id\":"
              "\"123456\",\"owner_id\":\"7890\",\"workflow\":\".github/"
              "workflows/build-eif.yml\",\"ref\":\"refs/heads/main\","
              "\"trigger\":\"push\",\"runner_environment\":\"self-hosted\","
              "\"sha\":\"0123456789abcdef0123456789abcdef01234567\","
              "\"run_id\":4242,\"payload_b64\":\"aGVsbG8K\"}");
    idx = json_integer_value(json_object_get(r, "index"));
    assert_int_equal(idx, 100);
    assert_int_equal(json_integer_value(json_object_get(r, "shard_index")),
                     100);
    cert = pem_cert(json_string_value(json_object_get(r, "certificate_pem")));
    for (n = 1; n <= 24; n++) {
        const char *got = ext_value(cert, n, buf, sizeof(buf));

        if (n == 7 || n > 22) {
            assert_null(got);
            continue;
        }
        if (got == NULL || strcmp(got, want[n]) != 0) {
            fail_msg(".%u: %s, want %s", n, got != NULL ? got : "(absent)",
                     want[n]);
        }
    }
    san = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    assert_non_null(san);
    assert_int_equal(crit, 1);
    assert_int_equal(sk_GENERAL_NAME_num(san), 1);
    {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
        int type;
        ASN1_IA5STRING *uri = GENERAL_NAME_get0_value(g, &type);

        assert_int_equal(type, GEN_URI);
        assert_string_equal((const char *)ASN1_STRING_get0_data(uri), want[9]);
    }
    GENERAL_NAMES_free(san);
    assert_true(X509_get_extended_key_usage(cert) & XKU_CODE_SIGN);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(cert)), 0);
    /* 10 minutes, NotBefore a few seconds before integratedTime */
    {
        struct tm nb, na;
        time_t tnb, tna;

        it = json_integer_value(json_object_get(r, "integrated_time"));
        ASN1_TIME_to_tm(X509_get0_notBefore(cert), &nb);
        ASN1_TIME_to_tm(X509_get0_notAfter(cert), &na);
        tnb = timegm(&nb);
        tna = timegm(&na);
        assert_int_equal(tna - tnb, 600);
        assert_true(tnb <= it && it - tnb <= 60);
    }
    assert_true(chains(t, cert));
    /* the served entry carries this certificate and the signature over the
     * payload; data.hash = SHA-256(payload) */
    snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%lld",
             (long long)idx);
    m = get_json(t, path, NULL);
    body = check_entry(t, m, idx, NULL);
    if (shape_cmp(body, prod_body(&p, body), "body", why, sizeof(why)) != 0) {
        fail_msg("%s", why);
    }
    bodycert = check_body_signature(body, it);
    assert_non_null(bodycert);
    assert_int_equal(X509_cmp(bodycert, cert), 0);
    X509_free(bodycert);
    {
        uint8_t h[32];
        char hex[65];

        SHA256((const uint8_t *)"hello\n", 6, h); /* payload_b64 aGVsbG8K */
        merkle_hex_encode(h, 32, hex, sizeof(hex));
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(
                    json_object_get(json_object_get(body, "spec"), "data"),
                    "hash"),
                "value")),
            hex);
        assert_string_equal(
            json_string_value(json_object_get(r, "artifact_sha256")), hex);
    }
    json_decref(body);
    json_decref(m);
    X509_free(cert);
    json_decref(r);

    /* impostor: same claims and issuer name, does not chain */
    r = admin(t, "append",
              "{\"repository\":\"acme/enclave-app\",\"impostor\":true}");
    cert = pem_cert(json_string_value(json_object_get(r, "certificate_pem")));
    assert_string_equal(ext_value(cert, 5, buf, sizeof(buf)),
                        "acme/enclave-app");
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(cert),
                                   X509_get_subject_name(t->ca_inter)),
                     0);
    assert_false(chains(t, cert));
    X509_free(cert);
    json_decref(r);

    /* a reusable workflow: .9 (and the SAN) differ from .18 */
    r = admin(t, "append",
              "{\"repository\":\"acme/enclave-app\",\"build_signer\":"
              "\"acme/shared/.github/workflows/sign.yml@refs/tags/v1\"}");
    cert = pem_cert(json_string_value(json_object_get(r, "certificate_pem")));
    assert_string_equal(ext_value(cert, 9, buf, sizeof(buf)),
                        "https://github.com/acme/shared/.github/workflows/"
                        "sign.yml@refs/tags/v1");
    assert_string_equal(ext_value(cert, 18, buf, sizeof(buf)),
                        "https://github.com/acme/enclave-app/.github/"
                        "workflows/release.yml@refs/heads/main");
    assert_string_equal(json_string_value(json_object_get(r, "san")),
                        "https://github.com/acme/shared/.github/workflows/"
                        "sign.yml@refs/tags/v1");
    X509_free(cert);
    json_decref(r);

    /* dsse and intoto with a payload: the DSSE signature covers the PAE,
     * payloadHash = SHA-256(payload), the envelope hashes to the body's */
    {
        const char *kinds[] = {"dsse", "intoto"};
        int kk;

        for (kk = 0; kk < 2; kk++) {
            char post[256], pae[256];
            uint8_t ph[32], eh[32], *sig;
            size_t siglen;
            const char *env;
            EVP_PKEY *pk;
            json_t *spec;
            char hex[65];

            snprintf(post, sizeof(post),
                     "{\"repository\":\"acme/enclave-app\",\"kind\":\"%s\","
                     "\"payload_b64\":\"eyJhIjoxfQ==\"}",
                     kinds[kk]);
            r = admin(t, "append", post);
            idx = json_integer_value(json_object_get(r, "index"));
            snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%lld",
                     (long long)idx);
            m = get_json(t, path, NULL);
            body = check_entry(t, m, idx, NULL);
            assert_string_equal(
                json_string_value(json_object_get(body, "kind")), kinds[kk]);
            if (shape_cmp(body, prod_body(&p, body), "body", why,
                          sizeof(why)) != 0) {
                fail_msg("%s: %s", kinds[kk], why);
            }
            spec = json_object_get(body, "spec");
            if (kk == 1) {
                spec = json_object_get(spec, "content");
            }
            SHA256((const uint8_t *)"{\"a\":1}", 7, ph);
            merkle_hex_encode(ph, 32, hex, sizeof(hex));
            assert_string_equal(
                json_string_value(json_object_get(
                    json_object_get(spec, "payloadHash"), "value")),
                hex);
            env = json_string_value(json_object_get(r, "envelope"));
            assert_non_null(env);
            SHA256((const uint8_t *)env, strlen(env), eh);
            merkle_hex_encode(eh, 32, hex, sizeof(hex));
            assert_string_equal(
                json_string_value(json_object_get(
                    json_object_get(spec, kk == 0 ? "envelopeHash" : "hash"),
                    "value")),
                hex);
            cert = pem_cert(
                json_string_value(json_object_get(r, "certificate_pem")));
            pk = X509_get_pubkey(cert);
            sig = b64dec(
                json_string_value(json_object_get(r, "signature_b64")),
                strlen(json_string_value(json_object_get(r, "signature_b64"))),
                &siglen);
            snprintf(pae, sizeof(pae),
                     "DSSEv1 28 application/vnd.in-toto+json 7 {\"a\":1}");
            assert_true(verify_sig(pk, sig, siglen, pae, strlen(pae)));
            pae[strlen(pae) - 2] = '2'; /* negative twin */
            assert_false(verify_sig(pk, sig, siglen, pae, strlen(pae)));
            X509_free(check_body_signature(
                body,
                json_integer_value(json_object_get(r, "integrated_time"))));
            free(sig);
            EVP_PKEY_free(pk);
            X509_free(cert);
            json_decref(body);
            json_decref(m);
            json_decref(r);
        }
    }
    tlog_stop(t);
    prod_free(&p);
}

/* The three read endpoints' renderings of entry idx (index, uuid,
 * retrieve), each checked by check_entry; they agree but for the SET.
 * Returns the by-index map (new) and its decoded body in *body (new). */
static json_t *
entry_three_ways(const struct tlog *t, json_int_t idx, json_t **body)
{
    char path[256], post[128];
    json_t *byidx, *byuuid, *arr;
    const char *uuid;

    snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%lld",
             (long long)idx);
    byidx = get_json(t, path, NULL);
    *body = check_entry(t, byidx, idx, NULL);
    uuid = json_object_iter_key(json_object_iter(byidx));
    snprintf(path, sizeof(path), "/api/v1/log/entries/%s", uuid);
    byuuid = get_json(t, path, NULL);
    json_decref(check_entry(t, byuuid, idx, NULL));
    snprintf(post, sizeof(post), "{\"logIndexes\":[%lld]}", (long long)idx);
    arr = get_json(t, "/api/v1/log/entries/retrieve", post);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(check_entry(t, json_array_get(arr, 0), idx, NULL));
    assert_true(same_entry(byidx, byuuid));
    assert_true(same_entry(byidx, json_array_get(arr, 0)));
    json_decref(byuuid);
    json_decref(arr);
    return byidx;
}

/* Append a signing of kind with payload (and an attestation knob, NULL =
 * default); returns the admin reply (new). */
static json_t *
append_payload(const struct tlog *t, const char *kind, const uint8_t *payload,
               size_t n, const char *att)
{
    size_t cap = n / 3 * 4 + 512;
    char *post = malloc(cap), *b64 = malloc(n / 3 * 4 + 8);
    json_t *r;
    int len;

    assert_non_null(post);
    assert_non_null(b64);
    assert_true(merkle_b64_encode(payload, n, b64, n / 3 * 4 + 8) >= 0);
    len = snprintf(post, cap,
                   "{\"repository\":\"acme/enclave-app\",\"kind\":\"%s\","
                   "\"payload_b64\":\"%s\"%s%s%s}",
                   kind, b64, att != NULL ? ",\"attestation\":\"" : "",
                   att != NULL ? att : "", att != NULL ? "\"" : "");
    assert_true(len > 0 && (size_t)len < cap);
    r = admin(t, "append", post);
    free(post);
    free(b64);
    return r;
}

/*
 * Rekor v1 LogEntry.attestation: intoto and dsse entries whose payload
 * the log stored carry "attestation":{"data":base64(payload)} on every
 * read endpoint; hashedrekord never.  sha256(data) equals the body's
 * payloadHash (read from the served body).  The knobs: omit (no member),
 * corrupt (one byte changed: the hash no longer matches); payloads over
 * Rekor's 100 KiB max_attestation_size are not stored.
 */
static void
test_attestation(void **state)
{
    static const char *const kinds[] = {"intoto", "dsse"};
    static const char *const modes[] = {NULL, "store", "omit", "corrupt"};
    struct tlog *t = *state;
    struct prod p;
    char payload[1024], pcr[97], why[512], post[256];
    uint8_t h[48];
    json_t *r, *m, *body, *arr;
    json_int_t idx, fork_idx = -1;
    size_t k, j, n, i;
    int plen, seen[2] = {0, 0}, seen_none = 0;
    uint8_t *att;

    prod_load(&p);
    tlog_start(t, "600");
    /* an in-toto statement with enclave measurements, made here */
    SHA384((const uint8_t *)"enclave image", 13, h);
    merkle_hex_encode(h, 48, pcr, sizeof(pcr));
    plen = snprintf(payload, sizeof(payload),
                    "{\"_type\":\"https://in-toto.io/Statement/v1\","
                    "\"subject\":[{\"name\":\"enclave.eif\",\"digest\":{"
                    "\"sha384\":\"%s\"}}],\"predicateType\":"
                    "\"https://tlogwatch.test/nitro/v1\",\"predicate\":{"
                    "\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\","
                    "\"PCR0\":\"%s\"}}}",
                    pcr, pcr);
    assert_true(plen > 0 && (size_t)plen < sizeof(payload));

    for (k = 0; k < 2; k++) {
        for (j = 0; j < 4; j++) {
            /* the default: Rekor stores intoto payloads, never dsse's */
            const char *mode = modes[j] != NULL                ? modes[j]
                               : strcmp(kinds[k], "dsse") == 0 ? "omit"
                                                               : "store";
            int rc;

            r = append_payload(t, kinds[k], (const uint8_t *)payload,
                               (size_t)plen, modes[j]);
            assert_string_equal(
                json_string_value(json_object_get(r, "attestation")), mode);
            idx = json_integer_value(json_object_get(r, "index"));
            m = entry_three_ways(t, idx, &body);
            assert_string_equal(
                json_string_value(json_object_get(body, "kind")), kinds[k]);
            if (prod_entry_shape(m, &p, strcmp(mode, "omit") != 0, why,
                                 sizeof(why)) != 0) {
                fail_msg("%s %s: %s", kinds[k], mode, why);
            }
            att = entry_attestation(m, &n);
            rc = attestation_matches(m, body);
            if (strcmp(mode, "omit") == 0) {
                assert_null(att);
                assert_int_equal(rc, -1);
            } else if (strcmp(mode, "store") == 0) {
                assert_non_null(att);
                assert_int_equal(n, (size_t)plen);
                assert_memory_equal(att, payload, n);
                assert_int_equal(rc, 1);
            } else {
                size_t diff = 0;
                json_t *st;

                assert_non_null(att);
                assert_int_equal(n, (size_t)plen);
                for (i = 0; i < n; i++) {
                    diff += att[i] != (uint8_t)payload[i];
                }
                assert_int_equal(diff, 1);
                assert_int_equal(rc, 0); /* the hash no longer matches */
                /* still JSON: a consumer fails on the hash, not the parse */
                st = json_loadb((const char *)att, n, 0, NULL);
                assert_non_null(st);
                json_decref(st);
            }
            if (k == 0 && j == 0) {
                fork_idx = idx;
            }
            free(att);
            json_decref(body);
            json_decref(m);
            json_decref(r);
        }
    }
    /* negative twins: a wrong payload, an extra member, a missing one */
    r = append_payload(t, "intoto", (const uint8_t *)payload, (size_t)plen,
                       NULL);
    m = entry_three_ways(t, json_integer_value(json_object_get(r, "index")),
                         &body);
    {
        json_t *e = json_object_iter_value(json_object_iter(m));
        json_t *a = json_object_get(e, "attestation");
        size_t cap = 4 * sizeof(payload) / 3 + 8;
        char *b64 = malloc(cap);

        assert_non_null(b64);
        payload[plen - 3] ^= 1;
        assert_true(merkle_b64_encode((const uint8_t *)payload, (size_t)plen,
                                      b64, cap) > 0);
        payload[plen - 3] ^= 1;
        json_object_set_new(a, "data", json_string(b64));
        free(b64);
        assert_int_equal(attestation_matches(m, body), 0);
        assert_int_equal(prod_entry_shape(m, &p, 0, why, sizeof(why)), -1);
        json_object_set_new(e, "attestations", json_object());
        assert_int_equal(prod_entry_shape(m, &p, 1, why, sizeof(why)), -1);
        json_object_del(e, "attestations");
        json_object_del(e, "attestation");
        assert_int_equal(prod_entry_shape(m, &p, 1, why, sizeof(why)), -1);
        assert_int_equal(attestation_matches(m, body), -1);
    }
    json_decref(body);
    json_decref(m);
    json_decref(r);

    /* hashedrekord: never an attestation; the knob is refused for it */
    r = append_payload(t, "hashedrekord", (const uint8_t *)payload,
                       (size_t)plen, NULL);
    assert_null(json_object_get(r, "attestation"));
    m = entry_three_ways(t, json_integer_value(json_object_get(r, "index")),
                         &body);
    assert_int_equal(prod_entry_shape(m, &p, 0, why, sizeof(why)), 0);
    assert_int_equal(attestation_matches(m, body), -1);
    json_decref(body);
    json_decref(m);
    json_decref(r);
    {
        static const char *const bad[] = {
            "{\"repository\":\"acme/x\",\"attestation\":\"omit\"}",
            "{\"repository\":\"acme/x\",\"kind\":\"hashedrekord\","
            "\"attestation\":\"store\"}",
            "{\"repository\":\"acme/x\",\"kind\":\"intoto\","
            "\"attestation\":\"sometimes\"}",
            "{\"repository\":\"acme/x\",\"kind\":\"dsse\","
            "\"attestation\":true}",
            "{\"repository\":\"acme/x\",\"kind\":\"dsse\","
            "\"attestation\":\"\"}",
        };
        struct resp rr;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            http(t, "/admin/append", bad[i], &rr);
            if (rr.status != 400) {
                fail_msg("%s: HTTP %ld", bad[i], rr.status);
            }
            free(rr.body);
        }
    }

    /* Rekor's max_attestation_size: base64 decoding to <= 100 KiB is
     * stored, one more block is not */
    for (k = 0; k < 2; k++) {
        size_t big = k == 0 ? 102399 : 102400;
        uint8_t *pl = malloc(big);

        assert_non_null(pl);
        memset(pl, 'a', big);
        r = append_payload(t, "intoto", pl, big, NULL);
        assert_string_equal(
            json_string_value(json_object_get(r, "attestation")),
            k == 0 ? "store" : "omit");
        snprintf(post, sizeof(post), "/api/v1/log/entries?logIndex=%lld",
                 (long long)json_integer_value(json_object_get(r, "index")));
        m = get_json(t, post, NULL);
        att = entry_attestation(m, &n);
        if (k == 0) {
            assert_non_null(att);
            assert_int_equal(n, big);
            assert_memory_equal(att, pl, big);
        } else {
            assert_null(att);
        }
        free(att);
        free(pl);
        json_decref(m);
        json_decref(r);
    }

    /* noise: every intoto / dsse entry serves its payload (retrieve, ten
     * at a time); hashedrekord none */
    for (idx = 0; idx < 600; idx += 10) {
        snprintf(post, sizeof(post),
                 "{\"logIndexes\":[%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,"
                 "%lld,%lld]}",
                 (long long)idx, (long long)idx + 1, (long long)idx + 2,
                 (long long)idx + 3, (long long)idx + 4, (long long)idx + 5,
                 (long long)idx + 6, (long long)idx + 7, (long long)idx + 8,
                 (long long)idx + 9);
        arr = get_json(t, "/api/v1/log/entries/retrieve", post);
        assert_int_equal(json_array_size(arr), 10);
        for (i = 0; i < 10; i++) {
            json_t *e = json_array_get(arr, i);
            const char *kind;
            int att_kind;

            body = check_entry(t, e, idx + (json_int_t)i, NULL);
            kind = json_string_value(json_object_get(body, "kind"));
            att_kind = strcmp(kind, "intoto") == 0;
            if (prod_entry_shape(e, &p, att_kind, why, sizeof(why)) != 0) {
                fail_msg("noise %lld: %s", (long long)idx + (long long)i, why);
            }
            if (att_kind) {
                assert_int_equal(attestation_matches(e, body), 1);
                seen[0]++;
            } else if (strcmp(kind, "dsse") == 0) {
                assert_int_equal(attestation_matches(e, body), -1);
                seen[1]++;
            } else {
                seen_none++;
            }
            json_decref(body);
        }
        json_decref(arr);
    }
    assert_true(seen[0] > 0 && seen[1] > 0 && seen_none > 0);

    /* a fork variant (noise of another salt) serves its own payload */
    snprintf(post, sizeof(post), "{\"index\":%lld}", (long long)fork_idx);
    json_decref(admin(t, "fork", post));
    m = entry_three_ways(t, fork_idx, &body);
    assert_int_equal(
        attestation_matches(m, body),
        strcmp(json_string_value(json_object_get(body, "kind")), "intoto") == 0
            ? 1
            : -1);
    json_decref(body);
    json_decref(m);
    /* a rollback frees stored attestations (ASan: no leak, no reuse) */
    json_decref(admin(t, "rollback", "{\"count\":3}"));
    tlog_stop(t);
    prod_free(&p);
}

/* A malformed entry: canonical JSON, correct leaf hash, no certificate
 * or key inside. */
static void
test_append_malformed(void **state)
{
    struct tlog *t = *state;
    json_t *r, *m, *body;
    const char *pk;
    uint8_t *pem;
    size_t n;
    BIO *bio;
    X509 *x;
    EVP_PKEY *k;
    char path[128];

    tlog_start(t, "50");
    r = admin(t, "append-malformed", NULL);
    snprintf(path, sizeof(path), "/api/v1/log/entries?logIndex=%lld",
             (long long)json_integer_value(json_object_get(r, "index")));
    m = get_json(t, path, NULL);
    assert_string_equal(json_object_iter_key(json_object_iter(m)),
                        json_string_value(json_object_get(r, "uuid")));
    assert_true(is_canonical(json_string_value(
        json_object_get(json_object_iter_value(json_object_iter(m)), "body"))));
    body = check_entry(t, m, 50, NULL);
    pk = json_string_value(json_object_get(
        json_object_get(
            json_object_get(json_object_get(body, "spec"), "signature"),
            "publicKey"),
        "content"));
    pem = b64dec(pk, strlen(pk), &n);
    assert_non_null(pem);
    bio = BIO_new_mem_buf(pem, (int)n);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_null(x);
    BIO_free(bio);
    bio = BIO_new_mem_buf(pem, (int)n);
    k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_null(k);
    BIO_free(bio);
    free(pem);
    json_decref(body);
    json_decref(m);
    json_decref(r);
    /* its positive twin: a noise entry's key does decode */
    m = get_json(t, "/api/v1/log/entries?logIndex=0", NULL);
    body = check_entry(t, m, 0, NULL);
    x = check_body_signature(
        body,
        json_integer_value(json_object_get(
            json_object_iter_value(json_object_iter(m)), "integratedTime")));
    X509_free(x);
    json_decref(body);
    json_decref(m);
    tlog_stop(t);
}

/* Fork: a consistency proof from the earlier checkpoint no longer
 * verifies; same size, another root. */
static void
test_fork(void **state)
{
    struct tlog *t = *state;
    json_t *info, *pr;
    uint8_t r1[32], r2[32], r3[32], proof[MAXP][32];
    uint64_t s1;
    size_t np;
    char path[128];

    tlog_start(t, "300");
    info = get_json(t, "/api/v1/log", NULL);
    s1 = (uint64_t)json_integer_value(json_object_get(info, "treeSize"));
    hex32(json_string_value(json_object_get(info, "rootHash")), r1);
    json_decref(info);
    json_decref(admin(t, "fork", "{\"index\":120}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     (json_int_t)s1);
    hex32(json_string_value(json_object_get(info, "rootHash")), r2);
    assert_memory_not_equal(r1, r2, 32);
    json_decref(info);
    json_decref(admin(t, "grow", "{\"count\":50}"));
    info = get_json(t, "/api/v1/log", NULL);
    hex32(json_string_value(json_object_get(info, "rootHash")), r3);
    json_decref(info);
    snprintf(path, sizeof(path),
             "/api/v1/log/proof?firstSize=%llu&lastSize=%llu",
             (unsigned long long)s1, (unsigned long long)s1 + 50);
    pr = get_json(t, path, NULL);
    np = hex_array(json_object_get(pr, "hashes"), proof);
    assert_int_not_equal(merkle_verify_consistency(s1, s1 + 50, r1, r3,
                                                   (const uint8_t(*)[32])proof,
                                                   np),
                         MERKLE_OK);
    /* positive twin: the forked tree is consistent with itself */
    assert_int_equal(merkle_verify_consistency(s1, s1 + 50, r2, r3,
                                               (const uint8_t(*)[32])proof, np),
                     MERKLE_OK);
    json_decref(pr);
    /* the forked entry is served and proven in the new tree */
    info = get_json(t, "/api/v1/log/entries?logIndex=120", NULL);
    json_decref(check_entry(t, info, 120, r3));
    json_decref(info);
    tlog_stop(t);
}

/* Rollback: a smaller, validly signed checkpoint. */
static void
test_rollback(void **state)
{
    struct tlog *t = *state;
    json_t *info;
    struct cp cp;
    struct resp r;

    tlog_start(t, "300");
    json_decref(admin(t, "rollback", "{\"count\":20}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     280);
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        0);
    assert_int_equal(cp.size, 280);
    json_decref(info);
    http(t, "/api/v1/log/proof?firstSize=1&lastSize=300", NULL, &r);
    assert_int_equal(r.status, 400);
    free(r.body);
    http(t, "/api/v1/log/entries?logIndex=290", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    /* negative twin: a size that is not smaller is refused */
    http(t, "/admin/rollback", "{\"size\":280}", &r);
    assert_int_equal(r.status, 400);
    free(r.body);
    tlog_stop(t);
}

/* Wrong key: checkpoints (with the pinned key's hint) fail to verify;
 * they verify with wrong-key.pub; back to normal when switched off. */
static void
test_wrong_key(void **state)
{
    struct tlog *t = *state;
    json_t *info, *m;
    struct cp cp;
    char path[512], *pem;
    EVP_PKEY *wk;
    BIO *bio;

    tlog_start(t, "100");
    json_decref(admin(t, "wrong-key", "{\"on\":true}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        -1);
    assert_memory_equal(cp.hint, t->log_id, 4);
    assert_int_equal(merkle_note_check(t, json_string_value(json_object_get(
                                              info, "signedTreeHead"))),
                     MERKLE_ERR_NOTE_BAD_SIGNATURE);
    snprintf(path, sizeof(path), "%s/wrong-key.pub", t->dir);
    pem = read_file(path, NULL);
    bio = BIO_new_mem_buf(pem, -1);
    wk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(wk);
    assert_int_equal(
        verify_note(wk,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        0);
    json_decref(info);
    /* entries' checkpoints too, while their SETs stay valid */
    m = get_json(t, "/api/v1/log/entries?logIndex=4", NULL);
    assert_int_equal(
        verify_note(
            t->key,
            json_string_value(json_object_get(
                json_object_get(
                    json_object_get(json_object_iter_value(json_object_iter(m)),
                                    "verification"),
                    "inclusionProof"),
                "checkpoint")),
            t->host, &cp),
        -1);
    assert_true(
        verify_set(t->key, json_object_iter_value(json_object_iter(m)), 4));
    json_decref(m);
    json_decref(admin(t, "wrong-key", "{\"on\":false}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        0);
    json_decref(info);
    EVP_PKEY_free(wk);
    BIO_free(bio);
    free(pem);
    tlog_stop(t);
}

/* Tamper: the served body no longer hashes to the uuid; once only. */
static void
test_tamper(void **state)
{
    struct tlog *t = *state;
    json_t *m, *e;
    const char *uuid, *b64;
    uint8_t leaf[32], *raw;
    char hex[65];
    size_t n;
    int round;

    tlog_start(t, "100");
    json_decref(admin(t, "tamper", "{\"index\":42,\"count\":1}"));
    for (round = 0; round < 2; round++) {
        m = get_json(t, "/api/v1/log/entries?logIndex=42", NULL);
        uuid = json_object_iter_key(json_object_iter(m));
        e = json_object_iter_value(json_object_iter(m));
        b64 = json_string_value(json_object_get(e, "body"));
        raw = b64dec(b64, strlen(b64), &n);
        assert_non_null(raw);
        merkle_leaf_hash(raw, n, leaf);
        merkle_hex_encode(leaf, 32, hex, sizeof(hex));
        if (round == 0) {
            /* still valid JSON, but not the logged body */
            json_t *j = json_loadb((const char *)raw, n, 0, NULL);

            assert_non_null(j);
            json_decref(j);
            assert_string_not_equal(uuid + 16, hex);
            assert_false(verify_set(t->key, e, 42));
        } else {
            assert_string_equal(uuid + 16, hex);
            assert_true(verify_set(t->key, e, 42));
        }
        free(raw);
        json_decref(m);
    }
    tlog_stop(t);
}

/* Drop: an index withheld from every read endpoint (omitted from
 * retrieve by index and by uuid, 404 from the single-entry endpoints),
 * each read using one count; forever until cleared or reset. */
static void
test_drop(void **state)
{
    struct tlog *t = *state;
    json_t *arr, *m;
    struct resp r;
    char uuid12[81], path[256], body[256];

    tlog_start(t, "100");
    json_decref(admin(t, "drop", "{\"index\":11,\"count\":1}"));
    arr = get_json(t, "/api/v1/log/entries/retrieve",
                   "{\"logIndexes\":[10,11,12]}");
    assert_int_equal(json_array_size(arr), 2);
    json_decref(check_entry(t, json_array_get(arr, 0), 10, NULL));
    json_decref(check_entry(t, json_array_get(arr, 1), 12, NULL));
    json_decref(arr);
    arr = get_json(t, "/api/v1/log/entries/retrieve",
                   "{\"logIndexes\":[10,11,12]}");
    assert_int_equal(json_array_size(arr), 3);
    json_decref(arr);
    m = get_json(t, "/api/v1/log/entries?logIndex=12", NULL);
    snprintf(uuid12, sizeof(uuid12), "%s",
             json_object_iter_key(json_object_iter(m)));
    json_decref(m);
    /* forever until cleared, on every read endpoint */
    json_decref(admin(t, "drop", "{\"index\":12,\"count\":-1}"));
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[12]}");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    snprintf(body, sizeof(body), "{\"entryUUIDs\":[\"%s\"]}", uuid12);
    arr = get_json(t, "/api/v1/log/entries/retrieve", body);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    http(t, "/api/v1/log/entries?logIndex=12", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.len, 0); /* production's 404: no body */
    free(r.body);
    snprintf(path, sizeof(path), "/api/v1/log/entries/%s", uuid12);
    http(t, path, NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    /* negative twin: the neighbour is served */
    m = get_json(t, "/api/v1/log/entries?logIndex=13", NULL);
    json_decref(check_entry(t, m, 13, NULL));
    json_decref(m);
    json_decref(admin(t, "drop", "{\"index\":12,\"count\":0}"));
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[12]}");
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    m = get_json(t, path, NULL);
    json_decref(check_entry(t, m, 12, NULL));
    json_decref(m);
    /* a count spans the endpoints: 2 reads, then served */
    json_decref(admin(t, "drop", "{\"index\":14,\"count\":2}"));
    http(t, "/api/v1/log/entries?logIndex=14", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[14]}");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    m = get_json(t, "/api/v1/log/entries?logIndex=14", NULL);
    json_decref(check_entry(t, m, 14, NULL));
    json_decref(m);
    assert_int_equal(stat_of(t, "dropped"), 7);
    /* reset clears */
    json_decref(admin(t, "drop", "{\"index\":15,\"count\":-1}"));
    assert_int_equal(stat_of(t, "dropped_rules"), 1);
    json_decref(admin(t, "reset", NULL));
    assert_int_equal(stat_of(t, "dropped_rules"), 0);
    m = get_json(t, "/api/v1/log/entries?logIndex=15", NULL);
    json_decref(check_entry(t, m, 15, NULL));
    json_decref(m);
    admin_expect(t, "drop", "{\"index\":-1}", 400);
    tlog_stop(t);
}

/* Misdirect: a read of I answers 200 with the real, validly proven
 * entry of J (retrieve, logIndex=, uuid); counted; cleared. */
static void
test_misdirect(void **state)
{
    struct tlog *t = *state;
    json_t *arr, *m;
    char uuid20[81], uuid30[81], path[256], body[256];

    tlog_start(t, "100");
    m = get_json(t, "/api/v1/log/entries?logIndex=20", NULL);
    snprintf(uuid20, sizeof(uuid20), "%s",
             json_object_iter_key(json_object_iter(m)));
    json_decref(m);
    m = get_json(t, "/api/v1/log/entries?logIndex=30", NULL);
    snprintf(uuid30, sizeof(uuid30), "%s",
             json_object_iter_key(json_object_iter(m)));
    json_decref(m);
    assert_string_not_equal(uuid20, uuid30);

    json_decref(admin(t, "misdirect", "{\"index\":20,\"count\":2,\"to\":30}"));
    arr = get_json(t, "/api/v1/log/entries/retrieve",
                   "{\"logIndexes\":[19,20,21]}");
    assert_int_equal(json_array_size(arr), 3);
    json_decref(check_entry(t, json_array_get(arr, 0), 19, NULL));
    /* asked for 20: the entry of 30, real and proven (its own index,
     * uuid, inclusion proof and SET) */
    json_decref(check_entry(t, json_array_get(arr, 1), 30, NULL));
    assert_string_equal(
        json_object_iter_key(json_object_iter(json_array_get(arr, 1))), uuid30);
    json_decref(check_entry(t, json_array_get(arr, 2), 21, NULL));
    json_decref(arr);
    m = get_json(t, "/api/v1/log/entries?logIndex=20", NULL);
    assert_string_equal(json_object_iter_key(json_object_iter(m)), uuid30);
    json_decref(m);
    /* count used up: 20 is 20 again (the negative twin) */
    m = get_json(t, "/api/v1/log/entries?logIndex=20", NULL);
    json_decref(check_entry(t, m, 20, NULL));
    assert_string_equal(json_object_iter_key(json_object_iter(m)), uuid20);
    json_decref(m);
    assert_int_equal(stat_of(t, "misdirected"), 2);

    /* forever, by uuid too, until cleared */
    json_decref(admin(t, "misdirect", "{\"index\":20,\"count\":-1,\"to\":30}"));
    snprintf(path, sizeof(path), "/api/v1/log/entries/%s", uuid20);
    m = get_json(t, path, NULL);
    json_decref(check_entry(t, m, 30, NULL));
    json_decref(m);
    snprintf(body, sizeof(body), "{\"entryUUIDs\":[\"%s\"]}", uuid20);
    arr = get_json(t, "/api/v1/log/entries/retrieve", body);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(check_entry(t, json_array_get(arr, 0), 30, NULL));
    json_decref(arr);
    json_decref(admin(t, "misdirect", "{\"index\":20,\"count\":0}"));
    m = get_json(t, path, NULL);
    json_decref(check_entry(t, m, 20, NULL));
    json_decref(m);
    /* drop wins over misdirect; reset clears both */
    json_decref(admin(t, "misdirect", "{\"index\":40,\"count\":-1,\"to\":41}"));
    json_decref(admin(t, "drop", "{\"index\":40,\"count\":1}"));
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[40]}");
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[40]}");
    json_decref(check_entry(t, json_array_get(arr, 0), 41, NULL));
    json_decref(arr);
    json_decref(admin(t, "reset", NULL));
    arr = get_json(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[40]}");
    json_decref(check_entry(t, json_array_get(arr, 0), 40, NULL));
    json_decref(arr);
    /* refused: itself, beyond the log, no target */
    admin_expect(t, "misdirect", "{\"index\":5,\"to\":5}", 400);
    admin_expect(t, "misdirect", "{\"index\":5,\"to\":100}", 404);
    admin_expect(t, "misdirect", "{\"index\":5}", 400);
    admin_expect(t, "misdirect", "{\"index\":5,\"to\":\"6\"}", 400);
    tlog_stop(t);
}

/* GET /api/v1/log as JSON whose big integers decode as reals, and the
 * raw text. */
static json_t *
log_info_raw(const struct tlog *t, char **raw)
{
    struct resp r;
    json_error_t e;
    json_t *j;

    http(t, "/api/v1/log", NULL, &r);
    assert_int_equal(r.status, 200);
    j = json_loadb(r.body, r.len, JSON_DECODE_INT_AS_REAL, &e);
    if (j == NULL) {
        fail_msg("JSON: %s in %.200s", e.text, r.body);
    }
    *raw = r.body;
    return j;
}

/* Impossible checkpoints: GET /api/v1/log serves a note validly signed
 * by the log key for sizes up to 2^64 - 1 (treeSize the same integer,
 * rootHash its root), the other endpoints the real tree; off and reset
 * end it; bad sizes are refused. */
static void
test_impossible(void **state)
{
    static const char *const bad[] = {
        "{\"size\":\"18446744073709551616\"}",
        "{\"size\":18446744073709551616}",
        "{\"size\":-1}",
        "{\"size\":\"12a\"}",
        "{\"size\":\"\"}",
        "{\"size\":\"-5\"}",
        "{\"size\":1.5}",
        "{\"size\":true}",
        "{}",
        "{\"size\":5,\"root\":\"abc\"}",
        "{\"size\":5,\"tree_size\":-2}",
        NULL,
    };
    struct tlog *t = *state;
    json_t *info, *rep, *m;
    uint8_t real_root[32], root[32];
    char *raw, *note, tid[32], origin[128];
    struct cp cp;
    struct resp r;
    int i;

    tlog_start(t, "100");
    info = get_json(t, "/api/v1/log", NULL);
    hex32(json_string_value(json_object_get(info, "rootHash")), real_root);
    snprintf(tid, sizeof(tid), "%s",
             json_string_value(json_object_get(info, "treeID")));
    json_decref(info);
    snprintf(origin, sizeof(origin), "%s - %s", t->host, tid);

    /* 2^64 - 1 as a decimal string */
    rep = admin(t, "impossible", "{\"size\":\"18446744073709551615\"}");
    assert_string_equal(json_string_value(json_object_get(rep, "size")),
                        "18446744073709551615");
    info = log_info_raw(t, &raw);
    /* treeSize is the same JSON integer, beyond int64: plain jansson
     * refuses the document, as the help says */
    assert_non_null(strstr(raw, "\"treeSize\":18446744073709551615}"));
    assert_null(json_loads(raw, 0, NULL));
    note = strdup(json_string_value(json_object_get(info, "signedTreeHead")));
    assert_string_equal(note, json_string_value(json_object_get(rep, "note")));
    assert_int_equal(verify_note(t->key, note, t->host, &cp), 0);
    assert_int_equal(merkle_note_check(t, note), MERKLE_OK);
    assert_true(cp.size == UINT64_MAX);
    assert_string_equal(cp.origin, origin);
    hex32(json_string_value(json_object_get(info, "rootHash")), root);
    assert_memory_equal(cp.root, root, 32);
    assert_memory_not_equal(root, real_root, 32);
    assert_string_equal(json_string_value(json_object_get(info, "treeID")),
                        tid);
    /* negative twin: one character of the size line changed fails */
    assert_int_equal(note[strlen(origin) + 20], '5');
    note[strlen(origin) + 20] = '4';
    assert_int_equal(verify_note(t->key, note, t->host, &cp), -1);
    free(note);
    free(raw);
    json_decref(info);
    json_decref(rep);
    /* the other endpoints serve the real tree */
    m = get_json(t, "/api/v1/log/entries?logIndex=3", NULL);
    json_decref(check_entry(t, m, 3, real_root));
    json_decref(m);
    json_decref(
        get_json(t, "/api/v1/log/proof?firstSize=50&lastSize=100", NULL));
    http(t, "/api/v1/log/proof?firstSize=50&lastSize=18446744073709551615",
         NULL, &r);
    assert_int_equal(r.status, 422); /* production: not an int64 */
    free(r.body);

    /* 2^63 as a JSON number, a given root and an int64 treeSize: the
     * JSON then parses as production's would */
    rep = admin(t, "impossible",
                "{\"size\":9223372036854775808,\"tree_size\":100,\"root\":"
                "\"00112233445566778899aabbccddeeff00112233445566778899aabbccd"
                "deeff\"}");
    json_decref(rep);
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     100);
    assert_string_equal(
        json_string_value(json_object_get(info, "rootHash")),
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        0);
    assert_true(cp.size == 9223372036854775808ULL);
    json_decref(info);
    /* signed like the real ones: under wrong-key it does not verify */
    json_decref(admin(t, "wrong-key", "{\"on\":true}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        -1);
    assert_true(cp.size == 9223372036854775808ULL);
    json_decref(info);
    json_decref(admin(t, "wrong-key", "{\"on\":false}"));

    /* off: the real checkpoint again */
    json_decref(admin(t, "impossible", "{\"off\":true}"));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     100);
    assert_int_equal(
        verify_note(t->key,
                    json_string_value(json_object_get(info, "signedTreeHead")),
                    t->host, &cp),
        0);
    assert_int_equal(cp.size, 100);
    assert_memory_equal(cp.root, real_root, 32);
    json_decref(info);
    /* reset ends it too */
    json_decref(admin(t, "impossible", "{\"size\":5000}"));
    assert_int_equal(stat_of(t, "impossible"), 1);
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     5000);
    json_decref(info);
    json_decref(admin(t, "reset", NULL));
    info = get_json(t, "/api/v1/log", NULL);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")),
                     100);
    json_decref(info);
    for (i = 0; bad[i] != NULL; i++) {
        admin_expect(t, "impossible", bad[i], 400);
    }
    tlog_stop(t);
}

/* A retrieve answer as it comes unpadded: "...]\n", and about natural
 * bytes long (signatures vary by a few bytes). */
static void
assert_unpadded(const struct resp *r, size_t natural)
{
    assert_int_equal(r->status, 200);
    assert_true(r->len > 2 && r->body[r->len - 2] == ']' &&
                r->body[r->len - 1] == '\n');
    assert_true(r->len + 16 > natural && r->len < natural + 16);
}

/* Pad: v1 entry responses grow to the asked size with whitespace after
 * the JSON value, still valid JSON with the same entries; by reference
 * (16 MiB bodies do not grow the test log); off and reset end it. */
static void
test_pad(void **state)
{
    struct tlog *t = *state;
    json_t *arr, *m;
    struct resp r;
    size_t natural, i;
    long hwm0, hwm1;

    tlog_start(t, "100");
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    natural = r.len;
    free(r.body);
    json_decref(admin(t, "pad", "{\"bytes\":100000}"));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 100000);
    assert_int_equal(r.body[r.len - 1], '\n');
    i = (size_t)(strrchr(r.body, ']') - r.body);
    assert_true(i < natural);
    assert_int_equal(strspn(r.body + i + 1, " "), 100000 - i - 2);
    arr = parse(r.body);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(check_entry(t, json_array_get(arr, 0), 1, NULL));
    json_decref(check_entry(t, json_array_get(arr, 1), 2, NULL));
    json_decref(arr);
    free(r.body);
    http(t, "/api/v1/log/entries?logIndex=3", NULL, &r);
    assert_int_equal(r.len, 100000);
    m = parse(r.body);
    json_decref(check_entry(t, m, 3, NULL));
    json_decref(m);
    free(r.body);
    /* errors and other endpoints are not padded */
    http(t, "/api/v1/log/entries?logIndex=100", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.len, 0);
    free(r.body);
    http(t, "/api/v1/log", NULL, &r);
    assert_true(r.len < 2000);
    free(r.body);
    /* a size below the body's: nothing added (never cut) */
    json_decref(admin(t, "pad", "{\"bytes\":10}"));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    assert_unpadded(&r, natural);
    free(r.body);
    /* 16 MiB bodies cost the test log no copy of the padding */
    json_decref(admin(t, "pad", "{\"bytes\":16777216}"));
    hwm0 = vm_hwm_kib(t->pid);
    for (i = 0; i < 3; i++) {
        http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1]}", &r);
        assert_int_equal(r.len, 16777216);
        arr = parse(r.body);
        assert_int_equal(json_array_size(arr), 1);
        json_decref(arr);
        free(r.body);
    }
    hwm1 = vm_hwm_kib(t->pid);
    if (hwm1 - hwm0 > 12 * 1024) {
        fail_msg("test log peak RSS grew by %ld KiB for 16 MiB bodies",
                 hwm1 - hwm0);
    }
    assert_int_equal(stat_of(t, "padded"), 5);
    /* off, and reset */
    json_decref(admin(t, "pad", "{\"bytes\":0}"));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    assert_unpadded(&r, natural);
    free(r.body);
    json_decref(admin(t, "pad", "{\"bytes\":50000}"));
    json_decref(admin(t, "reset", NULL));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    assert_unpadded(&r, natural);
    free(r.body);
    admin_expect(t, "pad", "{\"bytes\":-1}", 400);
    admin_expect(t, "pad", "{\"bytes\":1073741825}", 400);
    admin_expect(t, "pad", "{\"bytes\":\"5\"}", 400);
    admin_expect(t, "pad", "{}", 400);
    tlog_stop(t);
}

/* Trickle: entry responses arrive at about the asked rate, with their
 * Content-Length, while other connections are served at once; a client
 * that leaves ends its trickle; off / reset finish in-flight ones. */
static void
test_trickle(void **state)
{
    struct tlog *t = *state;
    struct slow s;
    struct resp r;
    json_t *arr;

    tlog_start(t, "100");
    json_decref(admin(t, "pad", "{\"bytes\":60000}"));
    json_decref(admin(t, "trickle", "{\"bytes_per_s\":20000}"));
    slow_start(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &s);
    slow_until(t, &s, "trickling", 1);
    /* meanwhile another connection gets its answer at once */
    http(t, "/api/v1/log", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.seconds < 1.0);
    free(r.body);
    assert_false(slow_step(&s, 10));
    slow_end(&s, 0);
    assert_int_equal(s.r.status, 200);
    assert_int_equal(s.r.len, 60000);
    assert_int_equal(s.content_length, 60000);
    if (s.r.seconds < 2.4 || s.r.seconds > 30) {
        fail_msg("60000 bytes at 20000 B/s took %.2f s", s.r.seconds);
    }
    arr = parse(s.r.body);
    assert_int_equal(json_array_size(arr), 2);
    json_decref(check_entry(t, json_array_get(arr, 1), 2, NULL));
    json_decref(arr);
    free(s.r.body);
    assert_int_equal(stat_of(t, "trickling"), 0);
    assert_int_equal(stat_of(t, "trickled"), 1);
    /* not entry endpoints, and errors: at once */
    http(t, "/api/v1/log/entries?logIndex=1000", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_true(r.seconds < 1.0);
    free(r.body);
    assert_int_equal(stat_of(t, "trickled"), 1);

    /* a client that leaves: its trickle ends */
    json_decref(admin(t, "trickle", "{\"bytes_per_s\":1000}"));
    slow_start(t, "/api/v1/log/entries?logIndex=5", NULL, &s);
    slow_until(t, &s, "trickling", 1);
    slow_end(&s, 1);
    free(s.r.body);
    {
        double t0 = mono();

        while (stat_of(t, "trickling") != 0) {
            assert_true(mono() - t0 < 10);
            usleep(50000);
        }
    }
    /* reset finishes an in-flight one at once (60 s at 1000 B/s) */
    slow_start(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1]}", &s);
    slow_until(t, &s, "trickling", 1);
    json_decref(admin(t, "reset", NULL));
    slow_end(&s, 0);
    assert_int_equal(s.r.status, 200);
    assert_int_equal(s.r.len, 60000);
    assert_true(s.r.seconds < 20);
    free(s.r.body);
    /* negative twin: off, the same body is fast */
    json_decref(admin(t, "pad", "{\"bytes\":60000}"));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1,2]}", &r);
    assert_int_equal(r.len, 60000);
    assert_true(r.seconds < 1.0);
    free(r.body);
    admin_expect(t, "trickle", "{\"bytes_per_s\":-1}", 400);
    admin_expect(t, "trickle", "{\"bytes_per_s\":2e9}", 400);
    admin_expect(t, "trickle", "{\"bytes_per_s\":\"5\"}", 400);
    admin_expect(t, "trickle", "{}", 400);
    tlog_stop(t);
}

/* Rotate: inactiveShards with the frozen checkpoint, a new tree id,
 * virtual indexes continue, shard-local proofs, treeID= proofs. */
static void
test_rotate(void **state)
{
    struct tlog *t = *state;
    json_t *info, *sh, *m, *e, *pr, *again;
    uint8_t r_old[32], proof[MAXP][32], r_mid[32];
    char path[256], why[512], old_id[32], tidhex[17], *frozen;
    const char *uuid;
    struct cp cp;
    size_t np;

    tlog_start(t, "250");
    /* the root at 125: roll back to it, record it, grow again */
    json_decref(admin(t, "rollback", "{\"size\":125}"));
    info = get_json(t, "/api/v1/log", NULL);
    hex32(json_string_value(json_object_get(info, "rootHash")), r_mid);
    json_decref(info);
    json_decref(admin(t, "grow", "{\"count\":125}"));
    info = get_json(t, "/api/v1/log", NULL);
    snprintf(old_id, sizeof(old_id), "%s",
             json_string_value(json_object_get(info, "treeID")));
    hex32(json_string_value(json_object_get(info, "rootHash")), r_old);
    json_decref(info);

    json_decref(admin(t, "rotate", NULL));
    json_decref(admin(t, "grow", "{\"count\":20}"));
    info = get_json(t, "/api/v1/log", NULL);
    sh = json_object_get(info, "inactiveShards");
    assert_int_equal(json_array_size(sh), 1);
    sh = json_array_get(sh, 0);
    /* an inactive shard has the active one's keys and encodings, minus
     * inactiveShards */
    again = json_deep_copy(info);
    json_object_del(again, "inactiveShards");
    if (shape_cmp(sh, again, "inactiveShards[0]", why, sizeof(why)) != 0) {
        fail_msg("%s", why);
    }
    json_decref(again);
    assert_string_equal(json_string_value(json_object_get(sh, "treeID")),
                        old_id);
    assert_int_equal(json_integer_value(json_object_get(sh, "treeSize")), 250);
    {
        uint8_t r[32];

        hex32(json_string_value(json_object_get(sh, "rootHash")), r);
        assert_memory_equal(r, r_old, 32);
    }
    frozen = strdup(json_string_value(json_object_get(sh, "signedTreeHead")));
    assert_int_equal(verify_note(t->key, frozen, t->host, &cp), 0);
    assert_int_equal(cp.size, 250);
    assert_memory_equal(cp.root, r_old, 32);
    assert_int_equal(json_integer_value(json_object_get(info, "treeSize")), 20);
    assert_string_not_equal(json_string_value(json_object_get(info, "treeID")),
                            old_id);
    /* virtual index 253 is shard-local 3 in the new tree */
    m = get_json(t, "/api/v1/log/entries?logIndex=253", NULL);
    json_decref(check_entry(t, m, 253, NULL));
    e = json_object_iter_value(json_object_iter(m));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(e, "verification"),
                                         "inclusionProof"),
                         "logIndex")),
                     3);
    uuid = json_object_iter_key(json_object_iter(m));
    snprintf(
        tidhex, sizeof(tidhex), "%016llx",
        strtoull(json_string_value(json_object_get(info, "treeID")), NULL, 10));
    assert_memory_equal(uuid, tidhex, 16);
    json_decref(m);
    /* an old entry: proven against the frozen checkpoint */
    m = get_json(t, "/api/v1/log/entries?logIndex=5", NULL);
    json_decref(check_entry(t, m, 5, r_old));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(
                json_object_get(json_object_iter_value(json_object_iter(m)),
                                "verification"),
                "inclusionProof"),
            "checkpoint")),
        frozen);
    json_decref(m);
    /* proofs in the old tree by treeID */
    snprintf(path, sizeof(path),
             "/api/v1/log/proof?firstSize=125&lastSize=250&treeID=%s", old_id);
    pr = get_json(t, path, NULL);
    np = hex_array(json_object_get(pr, "hashes"), proof);
    assert_int_equal(merkle_verify_consistency(125, 250, r_mid, r_old,
                                               (const uint8_t(*)[32])proof, np),
                     MERKLE_OK);
    json_decref(pr);
    /* negative twin: without treeID the proof is asked of the new tree */
    {
        struct resp r;

        http(t, "/api/v1/log/proof?firstSize=125&lastSize=250", NULL, &r);
        assert_int_equal(r.status, 400);
        free(r.body);
    }
    free(frozen);
    json_decref(info);
    tlog_stop(t);
}

/* Injected 429 + Retry-After and 5xx, then normal again. */
static void
test_fail(void **state)
{
    struct tlog *t = *state;
    struct resp r;
    json_t *st;
    int i;

    tlog_start(t, "50");
    json_decref(
        admin(t, "fail", "{\"status\":429,\"count\":2,\"retry_after\":3}"));
    for (i = 0; i < 2; i++) {
        http(t, "/api/v1/log", NULL, &r);
        assert_int_equal(r.status, 429);
        assert_string_equal(r.retry_after, "3");
        free(r.body);
    }
    http(t, "/api/v1/log", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.retry_after, "");
    free(r.body);
    json_decref(admin(t, "fail", "{\"status\":503,\"count\":1}"));
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1]}", &r);
    assert_int_equal(r.status, 503);
    free(r.body);
    http(t, "/api/v1/log/entries/retrieve", "{\"logIndexes\":[1]}", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* admin is never throttled */
    json_decref(admin(t, "fail", "{\"status\":500,\"count\":-1}"));
    st = get_json(t, "/admin/stats", NULL);
    http(t, "/api/v1/log", NULL, &r);
    assert_int_equal(r.status, 500);
    free(r.body);
    json_decref(st);
    json_decref(admin(t, "reset", NULL));
    st = get_json(t, "/admin/stats", NULL);
    assert_int_equal(json_integer_value(json_object_get(st, "responses_429")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(st, "responses_5xx")),
                     2);
    assert_int_equal(
        json_integer_value(json_object_get(st, "injected_failures")), 4);
    assert_int_equal(json_integer_value(json_object_get(st, "entries_served")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(st, "endpoints"), "retrieve")),
                     2);
    json_decref(st);
    tlog_stop(t);
}

/* Delay: the next request is late by the asked time, then fast again. */
static void
test_delay(void **state)
{
    struct tlog *t = *state;
    struct resp r;

    tlog_start(t, "50");
    json_decref(admin(t, "delay", "{\"ms\":800,\"count\":1}"));
    http(t, "/api/v1/log/entries?logIndex=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.seconds >= 0.79);
    free(r.body);
    http(t, "/api/v1/log/entries?logIndex=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.seconds < 0.7);
    free(r.body);
    tlog_stop(t);
}

/* Rate limit: a token bucket; beyond it 429 + Retry-After. */
static void
test_rate(void **state)
{
    struct tlog *t = *state;
    struct resp r;
    int ok = 0, limited = 0, i;
    double t0, el;

    tlog_start(t, "50");
    json_decref(admin(t, "rate", "{\"rps\":5,\"burst\":2}"));
    t0 = mono();
    for (i = 0; i < 60; i++) {
        http(t, "/api/v1/log", NULL, &r);
        if (r.status == 200) {
            ok++;
        } else {
            assert_int_equal(r.status, 429);
            assert_true(atoi(r.retry_after) >= 1);
            limited++;
        }
        free(r.body);
    }
    el = mono() - t0;
    assert_true(limited > 0);
    assert_true(ok >= 2);
    assert_true((double)ok <= 2 + 5 * el + 1);
    /* off again: everything passes */
    json_decref(admin(t, "rate", "{\"rps\":0}"));
    for (i = 0; i < 30; i++) {
        http(t, "/api/v1/log", NULL, &r);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    tlog_stop(t);
}

/* The files in --dir: trusted_root.json matches the served key and the
 * CA; the impostor chain is not in it. */
static void
test_dir_files(void **state)
{
    struct tlog *t = *state;
    char path[512], *text;
    json_t *root, *tl, *ti;
    uint8_t id[32];
    size_t n;
    uint8_t *kid;
    const char *s;

    tlog_start(t, "10");
    snprintf(path, sizeof(path), "%s/trusted_root.json", t->dir);
    text = read_file(path, NULL);
    root = parse(text);
    free(text);
    tl = json_array_get(json_object_get(root, "tlogs"), 0);
    s = json_string_value(
        json_object_get(json_object_get(tl, "logId"), "keyId"));
    kid = b64dec(s, strlen(s), &n);
    assert_int_equal(n, 32);
    SHA256(t->spki, t->spki_len, id);
    assert_memory_equal(kid, id, 32);
    free(kid);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(tl, "publicKey"), "keyDetails")),
                        "PKIX_ECDSA_P256_SHA_256");
    assert_non_null(json_object_get(
        json_object_get(
            json_array_get(json_object_get(root, "certificateAuthorities"), 0),
            "validFor"),
        "start"));
    json_decref(root);
    /* the root is self-signed P-384 and issued the intermediate */
    assert_int_equal(X509_check_issued(t->ca_root, t->ca_inter), X509_V_OK);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(t->ca_root)), 384);
    /* the impostor's chain does not include our CA */
    {
        X509 *imp;
        BIO *bio;

        snprintf(path, sizeof(path), "%s/impostor-chain.pem", t->dir);
        text = read_file(path, NULL);
        bio = BIO_new_mem_buf(text, -1);
        imp = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        assert_non_null(imp);
        assert_int_equal(X509_NAME_cmp(X509_get_subject_name(imp),
                                       X509_get_subject_name(t->ca_inter)),
                         0);
        assert_int_not_equal(X509_cmp(imp, t->ca_inter), 0);
        assert_int_not_equal(X509_check_issued(t->ca_root, imp), X509_V_OK);
        X509_free(imp);
        BIO_free(bio);
        free(text);
    }
    snprintf(path, sizeof(path), "%s/testlog.json", t->dir);
    text = read_file(path, NULL);
    ti = parse(text);
    free(text);
    assert_string_equal(json_string_value(json_object_get(ti, "url")), t->url);
    json_decref(ti);
    tlog_stop(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_dir_files, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_log_info, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_entries, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_consistency, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_reference_vectors, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_append_claims, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_attestation, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_append_malformed, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_fork, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_rollback, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_tamper, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_drop, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_misdirect, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_impossible, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_pad, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_trickle, tlog_setup,
                                        tlog_teardown),
        cmocka_unit_test_setup_teardown(test_rotate, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_fail, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_delay, tlog_setup, tlog_teardown),
        cmocka_unit_test_setup_teardown(test_rate, tlog_setup, tlog_teardown),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
