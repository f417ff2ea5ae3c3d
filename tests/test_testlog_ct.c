/*
 * test_testlog_ct.c: tlogwatch-testlog --ct, the RFC 6962 Certificate
 * Transparency view, tested from outside: every test starts the real
 * binary ($TLOGWATCH_TESTLOG) on a free loopback port with a temporary
 * --dir, reads what it serves over HTTP with libcurl, and checks it with
 * code that shares nothing with the log:
 *
 *  - trusted_root.json: one ctlogs entry (no tlogs) whose logId is
 *    SHA-256 of its DER key and whose baseUrl is the served URL, shaped
 *    as production's ctfe.sigstore.dev/2022 entry (read at run time from
 *    $TLOGWATCH_TESTDATA/fulcio/trusted_root.json);
 *  - get-sth: the TreeHeadSignature rebuilt here from RFC 6962 3.5 and
 *    its DigitallySigned signature verified with OpenSSL against that key
 *    (and, negative twin, not against the wrong key; under
 *    /admin/wrong-key the other way round);
 *  - get-entries: every leaf fetched in capped batches (--ct-batch), its
 *    MerkleTreeLeaf parsed here from RFC 6962 3.4, its leaf hash folded
 *    into MTH (written here from RFC 6962 2.1) which must equal the STH's
 *    root; precert entries: issuer_key_hash = SHA-256 of the trusted
 *    root's intermediate key, the TBSCertificate has no poison extension
 *    and carries the Fulcio extensions, the extra_data precertificate has
 *    the poison and a signature by the intermediate; x509 entries: the
 *    certificate verifies with the intermediate; chains are the CA's;
 *  - get-sth-consistency and get-proof-by-hash verified with merkle/'s
 *    RFC 6962 verifiers against roots computed here;
 *  - /admin/append: a certificate for given claims logged with no Rekor
 *    entry (the certificate returned embeds a verified SCT for that entry
 *    and, without it, has the logged TBS), then logged in a Rekor v1 test
 *    log with certificate_pem and private_key_pem;
 *  - misbehaviour: fork, rollback, wrong key, tamper, drop, fail, rate.
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
#include <strings.h>
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

extern char **environ;

#define POISON_OID "1.3.6.1.4.1.11129.2.4.3"
#define SCT_LIST_OID "1.3.6.1.4.1.11129.2.4.2"

struct tlog {
    pid_t pid;
    char dir[256];
    char url[128];
    EVP_PKEY *key; /* the ctlogs key of trusted_root.json */
    X509 *inter;   /* the CA chain of trusted_root.json */
    X509 *root;
    uint8_t ikh[32]; /* SHA-256 of the intermediate's SPKI */
};

#define MAX_LIVE 16
static struct {
    pid_t pid;
    char dir[256];
} live[MAX_LIVE];

struct resp {
    long status;
    char *body;
    size_t len;
};

struct sth {
    uint64_t size;
    uint64_t ts;
    uint8_t root[32];
    uint8_t *sig; /* the DigitallySigned bytes */
    size_t siglen;
};

/* A parsed MerkleTreeLeaf: pointers into the leaf bytes. */
struct leaf {
    uint64_t ts;
    unsigned type; /* 0 x509_entry, 1 precert_entry */
    const uint8_t *ikh;
    const uint8_t *der; /* certificate or TBSCertificate */
    size_t der_len;
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
read_file(const char *path)
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
    return p;
}

/* Standard base64; new buffer, or NULL. */
static uint8_t *
b64dec(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
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

/* RFC 6962 MTH(D[0:n]) of leaf hashes, written here from the RFC. */
static void
mth(const uint8_t (*leaves)[32], uint64_t n, uint8_t out[32])
{
    uint8_t buf[65];
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
    buf[0] = 1;
    mth(leaves, k, buf + 1);
    mth(leaves + k, n - k, buf + 33);
    SHA256(buf, sizeof(buf), out);
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

static void
http(const char *base, const char *path, const char *post, struct resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[1024];

    assert_non_null(c);
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
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

/* GET path (200 expected); its JSON. */
static json_t *
get_json(const struct tlog *t, const char *path)
{
    struct resp r;
    json_t *j;

    http(t->url, path, NULL, &r);
    if (r.status != 200) {
        fail_msg("%s: HTTP %ld: %.300s", path, r.status, r.body);
    }
    j = parse_json(r.body, r.len);
    free(r.body);
    return j;
}

static long
status_of(const struct tlog *t, const char *path)
{
    struct resp r;

    http(t->url, path, NULL, &r);
    free(r.body);
    return r.status;
}

static json_t *
admin_at(const char *url, const char *op, const char *json)
{
    char path[128];
    struct resp r;
    json_t *j;

    snprintf(path, sizeof(path), "/admin/%s", op);
    http(url, path, json, &r);
    if (r.status != 200) {
        fail_msg("%s: HTTP %ld: %.300s", path, r.status, r.body);
    }
    j = parse_json(r.body, r.len);
    free(r.body);
    return j;
}

static void
admin(const struct tlog *t, const char *op, const char *json)
{
    json_decref(admin_at(t->url, op, json));
}

static long
admin_status(const struct tlog *t, const char *op, const char *json)
{
    char path[128];
    struct resp r;

    snprintf(path, sizeof(path), "/admin/%s", op);
    http(t->url, path, json, &r);
    free(r.body);
    return r.status;
}

static X509 *
x509_b64(const char *s)
{
    size_t n;
    uint8_t *der = b64dec(s, &n);
    const unsigned char *p = der;
    X509 *x;

    assert_non_null(der);
    x = d2i_X509(NULL, &p, (long)n);
    assert_non_null(x);
    free(der);
    return x;
}

/* Read trusted_root.json: the ctlogs key (its logId checked) and chain. */
static void
load_trusted_root(struct tlog *t)
{
    char path[512], *text;
    json_t *root, *ct, *certs;
    const char *s;
    uint8_t *der, *lid, id[32];
    const unsigned char *p;
    size_t n, m;
    unsigned char *spki = NULL;
    int spki_len;

    snprintf(path, sizeof(path), "%s/trusted_root.json", t->dir);
    text = read_file(path);
    assert_non_null(text);
    root = parse_json(text, strlen(text));
    free(text);
    assert_int_equal(json_array_size(json_object_get(root, "tlogs")), 0);
    assert_int_equal(json_array_size(json_object_get(root, "ctlogs")), 1);
    ct = json_array_get(json_object_get(root, "ctlogs"), 0);
    assert_string_equal(json_string_value(json_object_get(ct, "baseUrl")),
                        t->url);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(ct, "publicKey"), "keyDetails")),
                        "PKIX_ECDSA_P256_SHA_256");
    assert_non_null(json_object_get(
        json_object_get(json_object_get(ct, "publicKey"), "validFor"),
        "start"));
    s = json_string_value(
        json_object_get(json_object_get(ct, "publicKey"), "rawBytes"));
    assert_non_null(s);
    der = b64dec(s, &n);
    assert_non_null(der);
    p = der;
    t->key = d2i_PUBKEY(NULL, &p, (long)n);
    assert_non_null(t->key);
    assert_int_equal(EVP_PKEY_id(t->key), EVP_PKEY_EC);
    SHA256(der, n, id);
    free(der);
    s = json_string_value(
        json_object_get(json_object_get(ct, "logId"), "keyId"));
    assert_non_null(s);
    lid = b64dec(s, &m);
    assert_non_null(lid);
    assert_int_equal(m, 32);
    assert_memory_equal(lid, id, 32);
    free(lid);
    certs = json_object_get(
        json_object_get(
            json_array_get(json_object_get(root, "certificateAuthorities"), 0),
            "certChain"),
        "certificates");
    t->inter = x509_b64(json_string_value(
        json_object_get(json_array_get(certs, 0), "rawBytes")));
    t->root = x509_b64(json_string_value(
        json_object_get(json_array_get(certs, 1), "rawBytes")));
    spki_len = i2d_PUBKEY(X509_get0_pubkey(t->inter), &spki);
    assert_true(spki_len > 0);
    SHA256(spki, (size_t)spki_len, t->ikh);
    OPENSSL_free(spki);
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

/* Start the test log with extra arguments (mode 1: --ct, 2: --tiles, 0:
 * Rekor v1); wait for url. */
static void
tlog_start(struct tlog *t, int mode, const char *const *extra)
{
    const char *bin = getenv("TLOGWATCH_TESTLOG");
    posix_spawn_file_actions_t fa;
    const char *argv[32];
    char path[512], out[512], *text;
    int n = 0, i, st;
    double t0;
    json_t *info;

    assert_non_null(bin);
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/tlw-ct-test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    argv[n++] = bin;
    argv[n++] = "--dir";
    argv[n++] = t->dir;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    if (mode == 1) {
        argv[n++] = "--ct";
    } else if (mode == 2) {
        argv[n++] = "--tiles";
    }
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
            fail_msg("test log exited at startup (status %d)", st);
        }
        u = read_file(path);
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
    text = read_file(path);
    assert_non_null(text);
    info = parse_json(text, strlen(text));
    free(text);
    assert_string_equal(json_string_value(json_object_get(info, "mode")),
                        mode == 1   ? "ct"
                        : mode == 2 ? "tiles"
                                    : "v1");
    json_decref(info);
    if (mode == 1) {
        load_trusted_root(t);
    }
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
            o = read_file(out);
            fail_msg("test log exit status %d: %.2000s", st,
                     o != NULL ? o : "");
        }
        t->pid = 0;
    }
    EVP_PKEY_free(t->key);
    X509_free(t->inter);
    X509_free(t->root);
    t->key = NULL;
    t->inter = t->root = NULL;
    rm_dir(t->dir);
}

/* ------------------------------------------------------------- RFC 6962 */

static uint64_t
be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* GET get-sth into s (sig owned by s). */
static void
get_sth(const struct tlog *t, struct sth *s)
{
    json_t *j = get_json(t, "/ct/v1/get-sth");
    uint8_t *root;
    size_t n;

    memset(s, 0, sizeof(*s));
    assert_true(json_is_integer(json_object_get(j, "tree_size")));
    assert_true(json_is_integer(json_object_get(j, "timestamp")));
    s->size = (uint64_t)json_integer_value(json_object_get(j, "tree_size"));
    s->ts = (uint64_t)json_integer_value(json_object_get(j, "timestamp"));
    root =
        b64dec(json_string_value(json_object_get(j, "sha256_root_hash")), &n);
    assert_non_null(root);
    assert_int_equal(n, 32);
    memcpy(s->root, root, 32);
    free(root);
    s->sig =
        b64dec(json_string_value(json_object_get(j, "tree_head_signature")),
               &s->siglen);
    assert_non_null(s->sig);
    json_decref(j);
}

/* 1 when the STH's DigitallySigned TreeHeadSignature verifies with key. */
static int
sth_verifies(const struct sth *s, EVP_PKEY *key)
{
    uint8_t m[50];
    EVP_MD_CTX *c;
    size_t n;
    int ok;

    /* DigitallySigned: hash sha256 (4), ecdsa (3), uint16 length */
    if (s->siglen < 4 || s->sig[0] != 4 || s->sig[1] != 3) {
        return 0;
    }
    n = (size_t)be(s->sig + 2, 2);
    if (n + 4 != s->siglen) {
        return 0;
    }
    m[0] = 0; /* v1 */
    m[1] = 1; /* tree_hash */
    for (int i = 0; i < 8; i++) {
        m[2 + i] = (uint8_t)(s->ts >> (56 - 8 * i));
        m[10 + i] = (uint8_t)(s->size >> (56 - 8 * i));
    }
    memcpy(m + 18, s->root, 32);
    c = EVP_MD_CTX_new();
    assert_non_null(c);
    ok = EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(c, s->sig + 4, n, m, sizeof(m)) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

/* Parse a MerkleTreeLeaf (RFC 6962 3.4); 0 / -1. */
static int
parse_leaf(const uint8_t *p, size_t n, struct leaf *l)
{
    size_t off = 12, len;

    if (n < 12 || p[0] != 0 || p[1] != 0) {
        return -1;
    }
    l->ts = be(p + 2, 8);
    l->type = (unsigned)be(p + 10, 2);
    l->ikh = NULL;
    if (l->type == 1) {
        if (n < off + 32) {
            return -1;
        }
        l->ikh = p + off;
        off += 32;
    } else if (l->type != 0) {
        return -1;
    }
    if (n < off + 3) {
        return -1;
    }
    len = (size_t)be(p + off, 3);
    off += 3;
    if (n < off + len + 2) {
        return -1;
    }
    l->der = p + off;
    l->der_len = len;
    off += len;
    /* CtExtensions: uint16 length, then that many bytes, then the end */
    return off + 2 + be(p + off, 2) == n ? 0 : -1;
}

/* A certificate around a TBSCertificate (dummy signature) so that OpenSSL
 * can read its extensions.  New. */
static X509 *
wrap_tbs(const uint8_t *tbs, size_t n)
{
    static const uint8_t tail[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                   0xce, 0x3d, 0x04, 0x03, 0x03, /* algid */
                                   0x03, 0x01, 0x00}; /* empty BIT STRING */
    size_t body = n + sizeof(tail), off = 0;
    uint8_t *buf = malloc(body + 8);
    const unsigned char *p;
    X509 *x;

    assert_non_null(buf);
    assert_true(body < 0x10000);
    buf[off++] = 0x30;
    buf[off++] = 0x82;
    buf[off++] = (uint8_t)(body >> 8);
    buf[off++] = (uint8_t)body;
    memcpy(buf + off, tbs, n);
    memcpy(buf + off + n, tail, sizeof(tail));
    p = buf;
    x = d2i_X509(NULL, &p, (long)(off + body));
    free(buf);
    return x;
}

static int
has_ext(X509 *x, const char *oid)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int pos;

    assert_non_null(obj);
    pos = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    return pos >= 0;
}

/* A Fulcio extension's value (.1 - .6 raw, later ones DER UTF8String). */
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
    if (n <= 6) {
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(os), p);
    } else {
        ASN1_UTF8STRING *u =
            d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(os));

        assert_non_null(u);
        snprintf(buf, cap, "%.*s", ASN1_STRING_length(u),
                 ASN1_STRING_get0_data(u));
        ASN1_UTF8STRING_free(u);
    }
    return buf;
}

/* Read one uint24-length certificate at *p (advanced).  New X509. */
static X509 *
take_cert(const uint8_t **p, const uint8_t *end)
{
    size_t n;
    const unsigned char *q;
    X509 *x;

    assert_true(end - *p >= 3);
    n = (size_t)be(*p, 3);
    *p += 3;
    assert_true((size_t)(end - *p) >= n);
    q = *p;
    x = d2i_X509(NULL, &q, (long)n);
    assert_non_null(x);
    assert_ptr_equal(q, *p + n);
    *p += n;
    return x;
}

/* The chain of extra_data at p (uint24 list): intermediate, root. */
static void
check_chain(const struct tlog *t, const uint8_t *p, const uint8_t *end)
{
    X509 *a, *b;

    assert_true(end - p >= 3);
    assert_int_equal(be(p, 3), (uint64_t)(end - p - 3));
    p += 3;
    a = take_cert(&p, end);
    b = take_cert(&p, end);
    assert_ptr_equal(p, end);
    assert_int_equal(X509_cmp(a, t->inter), 0);
    assert_int_equal(X509_cmp(b, t->root), 0);
    X509_free(a);
    X509_free(b);
}

/*
 * Check one entry as RFC 6962 and Fulcio shape it; *tbs_out (when not
 * NULL) gets the X509 read from the logged TBS or certificate (caller
 * frees).
 */
static void
check_entry(const struct tlog *t, const uint8_t *li, size_t lin,
            const uint8_t *ed, size_t edn, X509 **out)
{
    struct leaf l;
    X509 *x;
    char buf[256];

    assert_int_equal(parse_leaf(li, lin, &l), 0);
    assert_true(l.ts > 1000000000000ULL); /* milliseconds */
    if (l.type == 1) {
        const uint8_t *p = ed;
        X509 *pre;
        unsigned char *tbs = NULL;
        int n;

        assert_memory_equal(l.ikh, t->ikh, 32);
        x = wrap_tbs(l.der, l.der_len);
        assert_non_null(x);
        assert_false(has_ext(x, POISON_OID));
        /* extra_data: the precertificate, poisoned, signed by the CA */
        pre = take_cert(&p, ed + edn);
        assert_true(has_ext(pre, POISON_OID));
        assert_int_equal(X509_verify(pre, X509_get0_pubkey(t->inter)), 1);
        check_chain(t, p, ed + edn);
        /* its TBS without the poison is the logged one */
        {
            X509 *d = X509_dup(pre);
            ASN1_OBJECT *obj = OBJ_txt2obj(POISON_OID, 1);

            X509_EXTENSION_free(
                X509_delete_ext(d, X509_get_ext_by_OBJ(d, obj, -1)));
            n = i2d_re_X509_tbs(d, &tbs);
            assert_int_equal((size_t)n, l.der_len);
            assert_memory_equal(tbs, l.der, l.der_len);
            OPENSSL_free(tbs);
            ASN1_OBJECT_free(obj);
            X509_free(d);
        }
        X509_free(pre);
    } else {
        const unsigned char *q = l.der;

        x = d2i_X509(NULL, &q, (long)l.der_len);
        assert_non_null(x);
        assert_false(has_ext(x, POISON_OID));
        assert_int_equal(X509_verify(x, X509_get0_pubkey(t->inter)), 1);
        check_chain(t, ed, ed + edn);
    }
    /* logged while valid: NotBefore <= timestamp <= NotAfter */
    {
        struct tm nb, na;

        assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &nb), 1);
        assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &na), 1);
        assert_true((uint64_t)timegm(&nb) * 1000 <= l.ts);
        assert_true(l.ts <= (uint64_t)timegm(&na) * 1000);
    }
    /* the Fulcio extensions: issuer (.1 and .8), repository (.5) */
    assert_non_null(ext_value(x, 1, buf, sizeof(buf)));
    assert_string_equal(buf, "https://token.actions.githubusercontent.com");
    assert_non_null(ext_value(x, 8, buf, sizeof(buf)));
    assert_non_null(ext_value(x, 5, buf, sizeof(buf)));
    assert_non_null(ext_value(x, 12, buf, sizeof(buf)));
    if (out != NULL) {
        *out = x;
    } else {
        X509_free(x);
    }
}

/*
 * An embedded SCT list extension (RFC 6962 3.3): one v1 SCT whose log id
 * is SHA-256 of the log's DER key, whose timestamp is the leaf's and whose
 * signature verifies with the log key over the precert entry (3.2).
 */
static void
check_sct(const struct tlog *t, X509_EXTENSION *ext, const struct leaf *l)
{
    const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
    const unsigned char *p = ASN1_STRING_get0_data(os);
    ASN1_OCTET_STRING *inner =
        d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(os));
    const uint8_t *q, *sig;
    size_t n, sctlen, siglen, off = 0;
    uint8_t id[32], *m;
    unsigned char *spki = NULL;
    int spki_len;
    EVP_MD_CTX *c;

    assert_non_null(inner);
    assert_int_equal(X509_EXTENSION_get_critical(ext), 0);
    q = ASN1_STRING_get0_data(inner);
    n = (size_t)ASN1_STRING_length(inner);
    assert_true(n > 4);
    assert_int_equal(be(q, 2), n - 2);
    sctlen = (size_t)be(q + 2, 2);
    assert_int_equal(sctlen, n - 4);
    q += 4;
    assert_true(sctlen > 1 + 32 + 8 + 2 + 4);
    assert_int_equal(q[0], 0); /* v1 */
    spki_len = i2d_PUBKEY(t->key, &spki);
    assert_true(spki_len > 0);
    SHA256(spki, (size_t)spki_len, id);
    OPENSSL_free(spki);
    assert_memory_equal(q + 1, id, 32);
    assert_int_equal(be(q + 33, 8), l->ts);
    assert_int_equal(be(q + 41, 2), 0); /* no extensions */
    assert_int_equal(q[43], 4);
    assert_int_equal(q[44], 3);
    siglen = (size_t)be(q + 45, 2);
    assert_int_equal(47 + siglen, sctlen);
    sig = q + 47;
    /* the signed data, rebuilt here */
    m = malloc(1 + 1 + 8 + 2 + 32 + 3 + l->der_len + 2);
    assert_non_null(m);
    m[off++] = 0;
    m[off++] = 0; /* certificate_timestamp */
    for (int i = 0; i < 8; i++) {
        m[off++] = (uint8_t)(l->ts >> (56 - 8 * i));
    }
    m[off++] = 0;
    m[off++] = 1; /* precert_entry */
    memcpy(m + off, l->ikh, 32);
    off += 32;
    m[off++] = (uint8_t)(l->der_len >> 16);
    m[off++] = (uint8_t)(l->der_len >> 8);
    m[off++] = (uint8_t)l->der_len;
    memcpy(m + off, l->der, l->der_len);
    off += l->der_len;
    m[off++] = 0;
    m[off++] = 0;
    c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, t->key),
                     1);
    assert_int_equal(EVP_DigestVerify(c, sig, siglen, m, off), 1);
    /* negative twin: another timestamp does not verify */
    m[9] ^= 1;
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, t->key),
                     1);
    assert_int_not_equal(EVP_DigestVerify(c, sig, siglen, m, off), 1);
    EVP_MD_CTX_free(c);
    free(m);
    ASN1_OCTET_STRING_free(inner);
}

/*
 * Fetch entries [0, n) in batches asking for up to ask each; leaf hashes
 * into *leaves (new); every batch must hold exactly min(cap, ask, left)
 * entries.  Each entry is checked with check_entry.
 */
static void
fetch_all(const struct tlog *t, uint64_t n, uint64_t ask, uint64_t cap,
          uint8_t (**leaves)[32])
{
    uint64_t got = 0;

    *leaves = malloc((size_t)(n + 1) * 32);
    assert_non_null(*leaves);
    while (got < n) {
        char path[128];
        json_t *j, *ents;
        uint64_t want = ask, k;
        size_t i;

        snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
                 (unsigned long long)got, (unsigned long long)(got + ask - 1));
        j = get_json(t, path);
        ents = json_object_get(j, "entries");
        assert_true(json_is_array(ents));
        if (want > cap) {
            want = cap;
        }
        if (want > n - got) {
            want = n - got;
        }
        assert_int_equal(json_array_size(ents), want);
        for (i = 0; i < json_array_size(ents); i++) {
            json_t *e = json_array_get(ents, i);
            size_t lin, edn;
            uint8_t *li = b64dec(
                json_string_value(json_object_get(e, "leaf_input")), &lin);
            uint8_t *ed = b64dec(
                json_string_value(json_object_get(e, "extra_data")), &edn);

            assert_non_null(li);
            assert_non_null(ed);
            check_entry(t, li, lin, ed, edn, NULL);
            k = got + i;
            leaf_hash(li, lin, (*leaves)[k]);
            free(li);
            free(ed);
        }
        got += json_array_size(ents);
        json_decref(j);
    }
}

static void
check_consistency(const struct tlog *t, uint64_t m, uint64_t n,
                  const uint8_t r1[32], const uint8_t r2[32], int expect_ok)
{
    char path[128];
    json_t *j, *c;
    uint8_t(*proof)[32];
    size_t i, k;
    enum merkle_result res;

    snprintf(path, sizeof(path),
             "/ct/v1/get-sth-consistency?first=%llu&second=%llu",
             (unsigned long long)m, (unsigned long long)n);
    j = get_json(t, path);
    c = json_object_get(j, "consistency");
    assert_true(json_is_array(c));
    k = json_array_size(c);
    proof = malloc((k + 1) * 32);
    assert_non_null(proof);
    for (i = 0; i < k; i++) {
        size_t len;
        uint8_t *h = b64dec(json_string_value(json_array_get(c, i)), &len);

        assert_non_null(h);
        assert_int_equal(len, 32);
        memcpy(proof[i], h, 32);
        free(h);
    }
    res =
        merkle_verify_consistency(m, n, r1, r2, (const uint8_t(*)[32])proof, k);
    if (expect_ok) {
        assert_int_equal(res, MERKLE_OK);
    } else {
        assert_int_not_equal(res, MERKLE_OK);
    }
    free(proof);
    json_decref(j);
}

static void
check_audit(const struct tlog *t, const uint8_t leaf[32], uint64_t index,
            uint64_t size, const uint8_t root[32])
{
    char b64[64], path[256], *esc;
    json_t *j, *a;
    uint8_t(*proof)[32];
    size_t i, k;
    CURL *c = curl_easy_init();

    assert_true(merkle_b64_encode(leaf, 32, b64, sizeof(b64)) > 0);
    esc = curl_easy_escape(c, b64, 0);
    snprintf(path, sizeof(path),
             "/ct/v1/get-proof-by-hash?hash=%s&tree_size=%llu", esc,
             (unsigned long long)size);
    curl_free(esc);
    curl_easy_cleanup(c);
    j = get_json(t, path);
    assert_int_equal(json_integer_value(json_object_get(j, "leaf_index")),
                     index);
    a = json_object_get(j, "audit_path");
    k = json_array_size(a);
    proof = malloc((k + 1) * 32);
    assert_non_null(proof);
    for (i = 0; i < k; i++) {
        size_t len;
        uint8_t *h = b64dec(json_string_value(json_array_get(a, i)), &len);

        assert_non_null(h);
        assert_int_equal(len, 32);
        memcpy(proof[i], h, 32);
        free(h);
    }
    assert_int_equal(merkle_verify_inclusion(index, size, leaf,
                                             (const uint8_t(*)[32])proof, k,
                                             root),
                     MERKLE_OK);
    free(proof);
    json_decref(j);
}

/* -------------------------------------------------------------- tests */

/* The whole tree read back in capped batches; STH, proofs, entries. */
static void
test_tree(void **state)
{
    const char *extra[] = {"--entries", "700", "--ct-batch", "64", NULL};
    struct tlog t;
    struct sth s, s2;
    uint8_t(*leaves)[32], (*leaves2)[32], r[32], r1[32];
    EVP_PKEY *wrong;
    char path[512];
    FILE *f;
    json_t *roots;
    uint64_t m;

    (void)state;
    tlog_start(&t, 1, extra);
    get_sth(&t, &s);
    assert_int_equal(s.size, 700);
    assert_true(sth_verifies(&s, t.key));
    /* negative twin: not by the wrong key the log also wrote */
    snprintf(path, sizeof(path), "%s/wrong-key.pub", t.dir);
    f = fopen(path, "r");
    assert_non_null(f);
    wrong = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(wrong);
    assert_false(sth_verifies(&s, wrong));
    /* ... nor with one bit of the root changed */
    s.root[5] ^= 1;
    assert_false(sth_verifies(&s, t.key));
    s.root[5] ^= 1;

    /* asking for 100 at a time gets the cap, 64; the last batch less */
    fetch_all(&t, s.size, 100, 64, &leaves);
    mth((const uint8_t(*)[32])leaves, s.size, r);
    assert_memory_equal(r, s.root, 32);

    /* end beyond the tree is clamped; start beyond it is 400 */
    assert_int_equal(status_of(&t, "/ct/v1/get-entries?start=700&end=701"),
                     400);
    assert_int_equal(status_of(&t, "/ct/v1/get-entries?start=5&end=4"), 400);
    assert_int_equal(status_of(&t, "/ct/v1/get-entries?start=x&end=4"), 400);
    assert_int_equal(status_of(&t, "/api/v1/log"), 404);

    /* consistency proofs against roots computed here */
    for (m = 1; m < s.size; m += 97) {
        mth((const uint8_t(*)[32])leaves, m, r1);
        check_consistency(&t, m, s.size, r1, s.root, 1);
    }
    mth((const uint8_t(*)[32])leaves, 64, r1);
    r1[0] ^= 1;
    check_consistency(&t, 64, s.size, r1, s.root, 0); /* negative twin */
    assert_int_equal(
        status_of(&t, "/ct/v1/get-sth-consistency?first=0&second=5"), 400);
    assert_int_equal(
        status_of(&t, "/ct/v1/get-sth-consistency?first=6&second=701"), 400);

    /* audit paths by hash, in the whole tree and in an older one */
    check_audit(&t, leaves[0], 0, s.size, s.root);
    check_audit(&t, leaves[333], 333, s.size, s.root);
    check_audit(&t, leaves[699], 699, s.size, s.root);
    mth((const uint8_t(*)[32])leaves, 400, r1);
    check_audit(&t, leaves[399], 399, 400, r1);
    {
        char p2[256];

        snprintf(p2, sizeof(p2),
                 "/ct/v1/get-proof-by-hash?hash=%s&"
                 "tree_size=700",
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");
        assert_int_equal(status_of(&t, p2), 404);
    }

    /* growth: a newer STH, consistent with the first one */
    admin(&t, "grow", "{\"count\":45}");
    get_sth(&t, &s2);
    assert_int_equal(s2.size, 745);
    assert_true(sth_verifies(&s2, t.key));
    assert_true(s2.ts >= s.ts);
    check_consistency(&t, s.size, s2.size, s.root, s2.root, 1);
    fetch_all(&t, s2.size, 745, 64, &leaves2);
    assert_memory_equal(leaves2, leaves, 700 * 32);
    free(leaves2);
    /* /admin/ct-batch changes the cap at run time */
    admin(&t, "ct-batch", "{\"batch\":300}");
    assert_int_equal(admin_status(&t, "ct-batch", "{\"batch\":0}"), 400);
    fetch_all(&t, s2.size, 1000, 300, &leaves2);
    assert_memory_equal(leaves2, leaves, 700 * 32);
    mth((const uint8_t(*)[32])leaves2, s2.size, r);
    assert_memory_equal(r, s2.root, 32);

    /* get-roots: the CA's root and intermediate */
    roots = get_json(&t, "/ct/v1/get-roots");
    assert_int_equal(json_array_size(json_object_get(roots, "certificates")),
                     2);
    {
        X509 *a = x509_b64(json_string_value(
            json_array_get(json_object_get(roots, "certificates"), 0)));

        assert_int_equal(X509_cmp(a, t.root), 0);
        X509_free(a);
    }
    json_decref(roots);
    EVP_PKEY_free(wrong);
    free(s.sig);
    free(s2.sig);
    free(leaves);
    free(leaves2);
    tlog_stop(&t);
}

/* A certificate for given claims, in the CT log only, then in Rekor. */
static void
test_append(void **state)
{
    const char *extra[] = {"--entries", "10", NULL};
    const char *none[] = {"--entries", "3", NULL};
    struct tlog t, rk;
    json_t *a, *b, *j, *e;
    struct sth s;
    char path[256], buf[256];
    uint64_t idx;
    size_t lin, edn;
    uint8_t *li, *ed, h[32], want[32];
    X509 *x, *given;
    BIO *bio;
    char *req;

    (void)state;
    tlog_start(&t, 1, extra);
    a = admin_at(t.url, "append",
                 "{\"repository\":\"acme/widget\",\"ref\":\"refs/tags/v1\","
                 "\"runner_environment\":\"self-hosted\","
                 "\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}");
    assert_string_equal(json_string_value(json_object_get(a, "entry_type")),
                        "precert_entry");
    idx = (uint64_t)json_integer_value(json_object_get(a, "index"));
    assert_int_equal(idx, 10);
    snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
             (unsigned long long)idx, (unsigned long long)idx);
    j = get_json(&t, path);
    e = json_array_get(json_object_get(j, "entries"), 0);
    li = b64dec(json_string_value(json_object_get(e, "leaf_input")), &lin);
    ed = b64dec(json_string_value(json_object_get(e, "extra_data")), &edn);
    assert_non_null(li);
    assert_non_null(ed);
    check_entry(&t, li, lin, ed, edn, &x);
    leaf_hash(li, lin, h);
    assert_int_equal(
        merkle_hex_decode(json_string_value(json_object_get(a, "leaf_hash")),
                          64, want, sizeof(want)),
        32);
    assert_memory_equal(h, want, 32);
    /* the claims asked for, in the logged TBS */
    assert_string_equal(ext_value(x, 5, buf, sizeof(buf)), "acme/widget");
    assert_string_equal(ext_value(x, 11, buf, sizeof(buf)), "self-hosted");
    assert_string_equal(ext_value(x, 14, buf, sizeof(buf)), "refs/tags/v1");
    assert_string_equal(ext_value(x, 13, buf, sizeof(buf)),
                        "0123456789abcdef0123456789abcdef01234567");
    /* the certificate returned is the logged TBS, signed */
    bio = BIO_new_mem_buf(
        json_string_value(json_object_get(a, "certificate_pem")), -1);
    given = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(given);
    {
        unsigned char *tbs = NULL;
        struct leaf l;
        X509 *bare = X509_dup(given);
        ASN1_OBJECT *obj = OBJ_txt2obj(SCT_LIST_OID, 1);
        int n, pos;

        assert_int_equal(parse_leaf(li, lin, &l), 0);
        assert_int_equal(l.type, 1);
        assert_int_equal(X509_verify(given, X509_get0_pubkey(t.inter)), 1);
        /* as Fulcio's: an embedded SCT for this very entry ... */
        pos = X509_get_ext_by_OBJ(given, obj, -1);
        assert_true(pos >= 0);
        check_sct(&t, X509_get_ext(given, pos), &l);
        /* ... and without it, the TBS is the logged one */
        n = i2d_re_X509_tbs(bare, &tbs);
        assert_int_not_equal((size_t)n, l.der_len); /* twin: SCT inside */
        OPENSSL_free(tbs);
        tbs = NULL;
        X509_EXTENSION_free(
            X509_delete_ext(bare, X509_get_ext_by_OBJ(bare, obj, -1)));
        n = i2d_re_X509_tbs(bare, &tbs);
        assert_int_equal((size_t)n, l.der_len);
        assert_memory_equal(tbs, l.der, l.der_len);
        OPENSSL_free(tbs);
        ASN1_OBJECT_free(obj);
        X509_free(bare);
    }
    X509_free(x);
    free(li);
    free(ed);
    json_decref(j);
    get_sth(&t, &s);
    assert_int_equal(s.size, 11);
    check_audit(&t, h, idx, s.size, s.root);
    free(s.sig);

    /* an x509_entry on request */
    b = admin_at(t.url, "append",
                 "{\"repository\":\"acme/widget\",\"ct_entry\":\"cert\"}");
    assert_string_equal(json_string_value(json_object_get(b, "entry_type")),
                        "x509_entry");
    assert_null(json_object_get(b, "precertificate_pem"));
    json_decref(b);
    assert_int_equal(admin_status(&t, "append",
                                  "{\"repository\":\"acme/widget\","
                                  "\"impostor\":true}"),
                     400);
    assert_int_equal(admin_status(&t, "rotate", "{}"), 400);
    assert_int_equal(admin_status(&t, "misdirect", "{\"index\":1,\"to\":2}"),
                     400);
    assert_int_equal(admin_status(&t, "append-malformed", "{}"), 400);

    /* append-raw: any leaf_input bytes, served as given, no extra_data */
    b = admin_at(t.url, "append-raw", "{\"body_b64\":\"bm90IGEgbGVhZg==\"}");
    idx = (uint64_t)json_integer_value(json_object_get(b, "index"));
    json_decref(b);
    snprintf(path, sizeof(path), "/ct/v1/get-entries?start=%llu&end=%llu",
             (unsigned long long)idx, (unsigned long long)idx);
    j = get_json(&t, path);
    e = json_array_get(json_object_get(j, "entries"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "leaf_input")),
                        "bm90IGEgbGVhZg==");
    assert_string_equal(json_string_value(json_object_get(e, "extra_data")),
                        "");
    json_decref(j);
    leaf_hash((const uint8_t *)"not a leaf", 10, h);
    get_sth(&t, &s);
    check_audit(&t, h, idx, s.size, s.root);
    free(s.sig);

    /* the same certificate logged in a Rekor v1 test log */
    tlog_start(&rk, 0, none);
    b = json_pack("{s:O, s:O}", "certificate_pem",
                  json_object_get(a, "certificate_pem"), "private_key_pem",
                  json_object_get(a, "private_key_pem"));
    req = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    b = admin_at(rk.url, "append", req);
    free(req);
    assert_string_equal(
        json_string_value(json_object_get(b, "certificate_pem")),
        json_string_value(json_object_get(a, "certificate_pem")));
    assert_int_equal(json_integer_value(json_object_get(b, "index")), 3);
    json_decref(b);
    /* negative twin: a valid key that is not the certificate's (the CT
     * log's own) is refused */
    {
        char kpath[512];

        snprintf(kpath, sizeof(kpath), "%s/log.key", t.dir);
        req = read_file(kpath);
    }
    assert_non_null(req);
    b = json_pack("{s:O, s:s}", "certificate_pem",
                  json_object_get(a, "certificate_pem"), "private_key_pem",
                  req);
    free(req);
    req = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    {
        struct resp r;

        http(rk.url, "/admin/append", req, &r);
        assert_int_equal(r.status, 400);
        free(r.body);
    }
    free(req);
    tlog_stop(&rk);

    /* ... and in a Rekor v2 (--tiles) test log: its body carries the
     * certificate's DER */
    tlog_start(&rk, 2, none);
    b = json_pack("{s:O, s:O}", "certificate_pem",
                  json_object_get(a, "certificate_pem"), "private_key_pem",
                  json_object_get(a, "private_key_pem"));
    req = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    b = admin_at(rk.url, "append", req);
    free(req);
    {
        size_t bl;
        unsigned char *der = NULL;
        int dn = i2d_X509(given, &der);
        char *d64 = malloc((size_t)dn * 2 + 8);
        uint8_t *body =
            b64dec(json_string_value(json_object_get(b, "body_b64")), &bl);
        char *bs;

        assert_non_null(body);
        assert_non_null(d64);
        assert_true(
            merkle_b64_encode(der, (size_t)dn, d64, (size_t)dn * 2 + 8) > 0);
        bs = calloc(1, bl + 1);
        assert_non_null(bs);
        memcpy(bs, body, bl);
        assert_non_null(strstr(bs, d64));
        free(bs);
        free(body);
        free(d64);
        OPENSSL_free(der);
    }
    json_decref(b);
    X509_free(given);
    json_decref(a);
    tlog_stop(&rk);
    tlog_stop(&t);
}

/* Fork, rollback, wrong key, tamper, drop, fail, rate. */
static void
test_misbehaviour(void **state)
{
    const char *extra[] = {"--entries", "300", "--ct-batch", "50", NULL};
    struct tlog t;
    struct sth s0, s;
    uint8_t(*leaves)[32], r[32];
    json_t *j, *e;
    size_t lin;
    uint8_t *li, h[32];
    EVP_PKEY *wrong;
    char path[512];
    FILE *f;

    (void)state;
    tlog_start(&t, 1, extra);
    get_sth(&t, &s0);
    fetch_all(&t, s0.size, 50, 50, &leaves);

    /* tamper: index 7 served with another leaf_input than the tree's */
    admin(&t, "tamper", "{\"index\":7,\"count\":1}");
    j = get_json(&t, "/ct/v1/get-entries?start=7&end=7");
    e = json_array_get(json_object_get(j, "entries"), 0);
    li = b64dec(json_string_value(json_object_get(e, "leaf_input")), &lin);
    leaf_hash(li, lin, h);
    assert_memory_not_equal(h, leaves[7], 32);
    free(li);
    json_decref(j);
    j = get_json(&t, "/ct/v1/get-entries?start=7&end=7"); /* used up */
    e = json_array_get(json_object_get(j, "entries"), 0);
    li = b64dec(json_string_value(json_object_get(e, "leaf_input")), &lin);
    leaf_hash(li, lin, h);
    assert_memory_equal(h, leaves[7], 32);
    free(li);
    json_decref(j);

    /* drop: a batch ends before the withheld index */
    admin(&t, "drop", "{\"index\":20,\"count\":2}");
    j = get_json(&t, "/ct/v1/get-entries?start=10&end=40");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 10);
    json_decref(j);
    j = get_json(&t, "/ct/v1/get-entries?start=20&end=40");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
    json_decref(j);
    j = get_json(&t, "/ct/v1/get-entries?start=20&end=40");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 21);
    json_decref(j);

    /* wrong key: the STH verifies with wrong-key.pub, not the log key */
    snprintf(path, sizeof(path), "%s/wrong-key.pub", t.dir);
    f = fopen(path, "r");
    assert_non_null(f);
    wrong = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    admin(&t, "wrong-key", "{\"on\":true}");
    get_sth(&t, &s);
    assert_false(sth_verifies(&s, t.key));
    assert_true(sth_verifies(&s, wrong));
    free(s.sig);
    admin(&t, "wrong-key", "{\"on\":false}");

    /* fork: same size, another root, no longer consistent with s0 */
    admin(&t, "fork", "{\"index\":100}");
    get_sth(&t, &s);
    assert_int_equal(s.size, s0.size);
    assert_true(sth_verifies(&s, t.key));
    assert_memory_not_equal(s.root, s0.root, 32);
    /* the old tree's first 150 leaves hold index 100: no proof links
     * that head to the forked one */
    mth((const uint8_t(*)[32])leaves, 150, r);
    check_consistency(&t, 150, s.size, r, s.root, 0);
    free(s.sig);
    {
        uint8_t(*l2)[32];

        fetch_all(&t, s0.size, 50, 50, &l2);
        assert_memory_not_equal(l2[100], leaves[100], 32);
        mth((const uint8_t(*)[32])l2, s0.size, r);
        free(l2);
    }
    get_sth(&t, &s);
    assert_memory_equal(r, s.root, 32);
    free(s.sig);

    /* rollback: a smaller tree, validly signed */
    admin(&t, "rollback", "{\"count\":30}");
    get_sth(&t, &s);
    assert_int_equal(s.size, s0.size - 30);
    assert_true(sth_verifies(&s, t.key));
    free(s.sig);

    /* injected failures and the rate limit apply to the CT paths */
    admin(&t, "fail", "{\"status\":503,\"count\":1}");
    assert_int_equal(status_of(&t, "/ct/v1/get-sth"), 503);
    assert_int_equal(status_of(&t, "/ct/v1/get-sth"), 200);
    admin(&t, "rate", "{\"rps\":0.01,\"burst\":1}");
    assert_int_equal(status_of(&t, "/ct/v1/get-sth"), 200);
    assert_int_equal(status_of(&t, "/ct/v1/get-entries?start=0&end=0"), 429);
    admin(&t, "reset", "{}");
    assert_int_equal(status_of(&t, "/ct/v1/get-sth"), 200);

    /* ct-freeze: the same STH, byte for byte, while the tree grows */
    {
        struct resp f1, f2;

        admin(&t, "ct-freeze", "{\"on\":true}");
        http(t.url, "/ct/v1/get-sth", NULL, &f1);
        admin(&t, "grow", "{\"count\":5}");
        http(t.url, "/ct/v1/get-sth", NULL, &f2);
        assert_int_equal(f1.status, 200);
        assert_string_equal(f1.body, f2.body);
        get_sth(&t, &s);
        assert_int_equal(s.size, s0.size - 30);
        assert_true(sth_verifies(&s, t.key));
        free(s.sig);
        free(f1.body);
        free(f2.body);
        admin(&t, "ct-freeze", "{\"on\":false}");
        get_sth(&t, &s);
        assert_int_equal(s.size, s0.size - 25);
        free(s.sig);
        admin(&t, "rollback", "{\"count\":5}");
    }

    /* delay holds an answer at least that long */
    admin(&t, "delay", "{\"ms\":300,\"count\":1}");
    {
        double t0 = mono();

        assert_int_equal(status_of(&t, "/ct/v1/get-sth"), 200);
        assert_true(mono() - t0 >= 0.29);
    }

    /* pad: get-entries grows to the size asked, the same JSON inside */
    admin(&t, "pad", "{\"bytes\":200000}");
    {
        struct resp pr;
        json_t *pj;

        http(t.url, "/ct/v1/get-entries?start=0&end=3", NULL, &pr);
        assert_int_equal(pr.status, 200);
        assert_true(pr.len >= 200000);
        pj = parse_json(pr.body, pr.len);
        assert_int_equal(json_array_size(json_object_get(pj, "entries")), 4);
        json_decref(pj);
        free(pr.body);
    }
    admin(&t, "pad", "{\"bytes\":0}");

    /* impossible: a validly signed STH for a size the tree never had */
    admin(&t, "impossible", "{\"size\":1000000}");
    get_sth(&t, &s);
    assert_int_equal(s.size, 1000000);
    assert_true(sth_verifies(&s, t.key));
    free(s.sig);
    admin(&t, "impossible", "{\"off\":true}");
    get_sth(&t, &s);
    assert_int_equal(s.size, s0.size - 30);
    free(s.sig);

    EVP_PKEY_free(wrong);
    free(s0.sig);
    free(leaves);
    tlog_stop(&t);
}

/* 1 when a and b have the same members, recursively, and the same JSON
 * types at the leaves (arrays: their first elements). */
static int
same_shape(json_t *a, json_t *b)
{
    const char *k;
    json_t *v;

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }
    if (json_is_array(a)) {
        return json_array_size(a) == 0 || json_array_size(b) == 0 ||
               same_shape(json_array_get(a, 0), json_array_get(b, 0));
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

/*
 * The ctlogs entry written has the shape of production's ctfe 2022 entry
 * (read at run time from $TLOGWATCH_TESTDATA/fulcio/trusted_root.json),
 * whose logId is SHA-256 of its DER key as this log's is.
 */
static void
test_real_ctlogs_shape(void **state)
{
    const char *extra[] = {"--entries", "1", NULL};
    const char *td = getenv("TLOGWATCH_TESTDATA");
    struct tlog t;
    char path[1024], *text;
    json_t *real, *ours, *re = NULL, *e;
    size_t i, n, m;
    uint8_t *der, *lid, id[32];

    (void)state;
    assert_non_null(td);
    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json", td);
    text = read_file(path);
    assert_non_null(text);
    real = parse_json(text, strlen(text));
    free(text);
    json_array_foreach(json_object_get(real, "ctlogs"), i, e)
    {
        const char *u = json_string_value(json_object_get(e, "baseUrl"));

        if (u != NULL && strcmp(u, "https://ctfe.sigstore.dev/2022") == 0) {
            re = e;
        }
    }
    assert_non_null(re);
    der = b64dec(json_string_value(json_object_get(
                     json_object_get(re, "publicKey"), "rawBytes")),
                 &n);
    assert_non_null(der);
    SHA256(der, n, id);
    free(der);
    lid = b64dec(json_string_value(
                     json_object_get(json_object_get(re, "logId"), "keyId")),
                 &m);
    assert_non_null(lid);
    assert_int_equal(m, 32);
    assert_memory_equal(lid, id, 32);
    free(lid);

    tlog_start(&t, 1, extra);
    snprintf(path, sizeof(path), "%s/trusted_root.json", t.dir);
    text = read_file(path);
    assert_non_null(text);
    ours = parse_json(text, strlen(text));
    free(text);
    assert_true(
        same_shape(json_array_get(json_object_get(ours, "ctlogs"), 0), re));
    /* negative twin: without its logId it is not that shape */
    e = json_deep_copy(json_array_get(json_object_get(ours, "ctlogs"), 0));
    json_object_del(e, "logId");
    assert_false(same_shape(e, re));
    json_decref(e);
    json_decref(ours);
    json_decref(real);
    tlog_stop(&t);
}

/* --prefix: the API (and trusted_root.json's baseUrl) under it only. */
static void
test_prefix(void **state)
{
    const char *extra[] = {"--entries", "5", "--prefix", "/2022", NULL};
    struct tlog t;
    struct sth s;
    char base[128];
    struct resp r;
    size_t n;

    (void)state;
    tlog_start(&t, 1, extra); /* checks baseUrl == url */
    n = strlen(t.url);
    assert_true(n > 5);
    assert_string_equal(t.url + n - 5, "/2022");
    get_sth(&t, &s);
    assert_int_equal(s.size, 5);
    assert_true(sth_verifies(&s, t.key));
    free(s.sig);
    snprintf(base, sizeof(base), "%.*s", (int)(n - 5), t.url);
    http(base, "/ct/v1/get-sth", NULL, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    tlog_stop(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_misbehaviour),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_real_ctlogs_shape),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    stop_leftovers();
    curl_global_cleanup();
    return rc;
}
