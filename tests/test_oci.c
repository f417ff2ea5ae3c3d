/*
 * test_oci.c: the OCI registry client (monitor/registry/oci.c) against a real
 * registry: Debian's docker-registry on loopback behind the token proxy of
 * tests/tools/registry.py, holding artifacts pushed by tests/tools/
 * oci_push.py in the layout `oras push` 1.1 and `cosign sign` 2.x produce.
 * Every lookup runs on a real event loop through the real transport; the
 * proxy's request log proves what went over the wire (token fetched,
 * second tag page read).  Expected PCRs are read from the testdata
 * describe-eif file at run time.  Each positive test has a negative twin.
 *
 * Skips (with a message) only when docker-registry or python3 is missing.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "monitor/identity/attest.h"
#include "monitor/http.h"
#include "monitor/registry/oci.h"

#define REGISTRY_BIN "/usr/bin/docker-registry"
#define RUN_LIMIT_S 120 /* bounds a failing lookup; none takes this long */

struct reg {
    int available;
    pid_t pid;
    char dir[256];
    int proxy_port;
    int registry_port;
    char src[1024];
    char info[1024]; /* the describe-eif testdata file */
};

#define STMT_MAX 16384 /* a test statement */

struct outcome {
    int done;
    enum oci_result res;
    struct oci_pcrs pcrs; /* statement: NULL (borrowed during the callback) */
    char why[512];
    int has_stmt;           /* the callback got a statement */
    uint8_t stmt[STMT_MAX]; /* a copy of it */
    size_t stmt_len;
};

struct pushed {
    char data_hash[65];
    char artifact[OCI_DIGEST_LEN + 1];
    char info_digest[OCI_DIGEST_LEN + 1];
    char eif_digest[OCI_DIGEST_LEN + 1];
    char signature[256]; /* base64, as in the layer's annotation */
};

static struct reg *
R(void **state)
{
    return *state;
}

static int
group_setup(void **state)
{
    struct reg *r = calloc(1, sizeof(*r));
    const char *src = getenv("TLOGWATCH_SRC");
    const char *td = getenv("TLOGWATCH_TESTDATA");
    int pfd[2];
    char line[64];
    FILE *f;
    char script[1200];

    if (r == NULL) {
        return -1;
    }
    *state = r;
    if (src == NULL || td == NULL) {
        fprintf(stderr, "test_oci: TLOGWATCH_SRC/TESTDATA unset\n");
        return -1;
    }
    snprintf(r->src, sizeof(r->src), "%s", src);
    snprintf(r->info, sizeof(r->info),
             "%s/nitro/describe-eif-schema-example.json", td);
    if (access(REGISTRY_BIN, X_OK) != 0 || system("python3 -c '' ") != 0) {
        fprintf(stderr,
                "test_oci: SKIP: %s or python3 missing "
                "(apt-get install docker-registry)\n",
                REGISTRY_BIN);
        return 0;
    }
    snprintf(r->dir, sizeof(r->dir), "/tmp/test_oci.XXXXXX");
    if (mkdtemp(r->dir) == NULL || pipe(pfd) != 0) {
        return -1;
    }
    snprintf(script, sizeof(script), "%s/tests/tools/registry.py", src);
    r->pid = fork();
    if (r->pid < 0) {
        return -1;
    }
    if (r->pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execlp("python3", "python3", script, r->dir, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    f = fdopen(pfd[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
        sscanf(line, "%d %d", &r->proxy_port, &r->registry_port) != 2) {
        fprintf(stderr, "test_oci: the test registry did not start\n");
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    r->available = 1;
    return 0;
}

static int
group_teardown(void **state)
{
    struct reg *r = R(state);
    char cmd[400];

    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
    }
    if (getenv("TEST_OCI_KEEP") != NULL) { /* debugging: keep the registry */
        fprintf(stderr, "test_oci: kept %s\n", r->dir);
    } else if (r->dir[0] != '\0' &&
               strncmp(r->dir, "/tmp/test_oci.", 14) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "test_oci: cannot remove %s\n", r->dir);
        }
    }
    free(r);
    return 0;
}

#define NEED_REGISTRY(r)                                                       \
    do {                                                                       \
        if (!(r)->available) {                                                 \
            skip();                                                            \
        }                                                                      \
    } while (0)

/* Runs oci_push.py with extra arguments (va_list); returns its JSON
 * output (new). */
static json_t *
push_json_v(struct reg *r, const char *repo, const char *fmt, va_list ap)
{
    char extra[1024];
    char cmd[4096];
    char out[4096];
    size_t n;
    FILE *f;
    json_t *j;
    json_error_t err;

    vsnprintf(extra, sizeof(extra), fmt, ap);
    snprintf(cmd, sizeof(cmd),
             "python3 '%s/tests/tools/oci_push.py' --registry 127.0.0.1:%d "
             "--ref-host 127.0.0.1:%d --repo %s --info '%s' %s",
             r->src, r->registry_port, r->proxy_port, repo, r->info, extra);
    f = popen(cmd, "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    j = json_loads(out, 0, &err);
    assert_non_null(j);
    return j;
}

static json_t *
push_json(struct reg *r, const char *repo, const char *fmt, ...)
{
    va_list ap;
    json_t *j;

    va_start(ap, fmt);
    j = push_json_v(r, repo, fmt, ap);
    va_end(ap);
    return j;
}

/* Runs oci_push.py with extra arguments; fills p from its JSON output. */
static void
push(struct reg *r, struct pushed *p, const char *repo, const char *fmt, ...)
{
    va_list ap;
    json_t *j;

    va_start(ap, fmt);
    j = push_json_v(r, repo, fmt, ap);
    va_end(ap);
    snprintf(p->data_hash, sizeof(p->data_hash), "%s",
             json_string_value(json_object_get(j, "data_hash")));
    snprintf(p->artifact, sizeof(p->artifact), "%s",
             json_string_value(json_object_get(j, "artifact")));
    snprintf(p->info_digest, sizeof(p->info_digest), "%s",
             json_string_value(json_object_get(j, "info_digest")));
    snprintf(p->eif_digest, sizeof(p->eif_digest), "%s",
             json_string_value(json_object_get(j, "eif_digest")));
    snprintf(p->signature, sizeof(p->signature), "%s",
             json_string_value(json_object_get(j, "signature")));
    json_decref(j);
    assert_int_equal(strlen(p->data_hash), 64);
    assert_int_equal(strlen(p->eif_digest), OCI_DIGEST_LEN);
}

static void
on_done(enum oci_result res, const struct oci_pcrs *pcrs, const char *why,
        void *arg)
{
    struct outcome *o = arg;

    o->done = 1;
    o->res = res;
    if (pcrs != NULL) {
        o->pcrs = *pcrs;
        o->pcrs.statement = NULL; /* borrowed for the call only */
        if (pcrs->statement != NULL) {
            assert_true(pcrs->statement_len <= sizeof(o->stmt));
            memcpy(o->stmt, pcrs->statement, pcrs->statement_len);
            o->stmt_len = pcrs->statement_len;
            o->has_stmt = 1;
        } else {
            assert_int_equal(pcrs->statement_len, 0);
        }
    }
    snprintf(o->why, sizeof(o->why), "%s", why != NULL ? why : "");
}

static void
on_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* One lookup of q on 127.0.0.1:port (plain HTTP), on a fresh loop and
 * client; returns its outcome. */
static struct outcome
run_lookup(int port, struct oci_lookup_req *q)
{
    struct outcome o;
    struct event_base *base = event_base_new();
    struct http_client *c;
    struct oci_lookup *l;
    struct event *limit;
    struct timeval tv = {RUN_LIMIT_S, 0};
    char host[64];

    memset(&o, 0, sizeof(o));
    assert_non_null(base);
    c = http_client_new(base, NULL);
    assert_non_null(c);
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
    q->registry_host = host;
    q->plain_http = 1;
    l = oci_lookup_start(c, q, on_done, &o);
    assert_non_null(l);
    assert_int_equal(o.done, 0); /* never from inside start */
    limit = evtimer_new(base, on_limit, base);
    assert_non_null(limit);
    evtimer_add(limit, &tv);
    while (!o.done) {
        if (event_base_loop(base, EVLOOP_ONCE) != 0 ||
            event_base_got_break(base)) {
            break;
        }
    }
    if (!o.done) {
        oci_lookup_cancel(l);
    }
    event_free(limit);
    http_client_free(c);
    event_base_free(base);
    assert_true(o.done);
    return o;
}

/* A lookup from a cosign signing (the payload's data hash). */
static struct outcome
lookup_at(int port, const char *repo, const char *data_hash, uint64_t log_index,
          const char *commit, const char *credentials, const char *signature)
{
    struct oci_lookup_req q;

    memset(&q, 0, sizeof(q));
    q.repository = repo;
    q.credentials = credentials;
    q.data_hash_hex = data_hash;
    q.commit_sha = commit;
    q.log_index = log_index;
    q.signature_b64 = signature;
    return run_lookup(port, &q);
}

/* A lookup straight from manifest D's digest (no data hash), with a token
 * cache or none (NULL). */
static struct outcome
lookup_cached(int port, const char *repo, const char *digest,
              struct oci_token_cache *tokens)
{
    struct oci_lookup_req q;

    memset(&q, 0, sizeof(q));
    q.repository = repo;
    q.manifest_digest = digest;
    q.tokens = tokens;
    return run_lookup(port, &q);
}

static struct outcome
lookup_manifest_at(int port, const char *repo, const char *digest)
{
    return lookup_cached(port, repo, digest, NULL);
}

/* A lookup through the token proxy. */
static struct outcome
lookup(struct reg *r, const char *repo, const char *data_hash,
       uint64_t log_index, const char *commit, const char *credentials)
{
    return lookup_at(r->proxy_port, repo, data_hash, log_index, commit,
                     credentials, NULL);
}

/* The PCRs of the testdata describe-eif file, read at run time. */
static void
expected_pcrs(struct reg *r, struct oci_pcrs *p)
{
    json_error_t err;
    json_t *root = json_load_file(r->info, 0, &err);
    json_t *m;
    static const char *const names[4] = {"PCR0", "PCR1", "PCR2", "PCR8"};
    size_t i, k;

    assert_non_null(root);
    m = json_object_get(json_object_get(root, "describeEif"), "Measurements");
    assert_non_null(m);
    memset(p, 0, sizeof(*p));
    for (i = 0; i < 4; i++) {
        const char *v = json_string_value(json_object_get(m, names[i]));
        if (v == NULL) {
            continue;
        }
        assert_int_equal(strlen(v), OCI_PCR_HEX_LEN);
        for (k = 0; k <= OCI_PCR_HEX_LEN; k++) {
            p->hex[i][k] =
                (char)((v[k] >= 'A' && v[k] <= 'F') ? v[k] + 32 : v[k]);
        }
        p->present |= 1u << i;
    }
    json_decref(root);
}

/* Lines of DIR/file that contain needle. */
static int
count_lines(struct reg *r, const char *file, const char *needle)
{
    char path[512];
    char line[4096];
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "%s/%s", r->dir, file);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, needle) != NULL) {
            found++;
        }
    }
    fclose(f);
    return found;
}

/* 1 if the proxy's request log has a line containing needle. */
static int
requests_have(struct reg *r, const char *needle)
{
    return count_lines(r, "requests.log", needle) > 0;
}

static void
assert_pcrs_expected(struct reg *r, const struct outcome *o,
                     const struct pushed *p)
{
    struct oci_pcrs want;
    size_t i;

    expected_pcrs(r, &want);
    assert_int_equal(o->pcrs.present, want.present);
    for (i = 0; i < 4; i++) {
        if (want.present & (1u << i)) {
            assert_string_equal(o->pcrs.hex[i], want.hex[i]);
        }
    }
    assert_string_equal(o->pcrs.artifact_digest, p->artifact);
}

/* Found, with PCR annotations and the info layer agreeing; the anonymous
 * token came through the challenge.  Twin: another data hash -> not yet. */
static void
test_found(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;
    char other[65];
    char line[200];

    NEED_REGISTRY(r);
    push(r, &p, "t/found", "--pcr-annotations --log-index 42");
    o = lookup(r, "t/found", p.data_hash, 42, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    assert_true(requests_have(r, "TOKEN repository:t/found:pull"));

    /* the EIF layer is never downloaded; the info layer is */
    snprintf(line, sizeof(line), "GET /v2/t/found/blobs/%s", p.eif_digest);
    assert_false(requests_have(r, line));
    snprintf(line, sizeof(line), "GET /v2/t/found/blobs/%s", p.info_digest);
    assert_true(requests_have(r, line));

    memcpy(other, p.data_hash, sizeof(other));
    other[0] = other[0] == '0' ? '1' : '0';
    o = lookup(r, "t/found", other, 42, NULL, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
}

/* Info layer only (no annotations) is enough.  Twin: a repository name
 * the caller gives in upper case is lower-cased and found too. */
static void
test_info_only(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/infoonly", "--log-index 7");
    o = lookup(r, "t/infoonly", p.data_hash, 7, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    o = lookup(r, "T/InfoOnly", p.data_hash, 7, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
}

/* No signature yet, or no repository yet -> OCI_NOT_YET.  Twin: the
 * signature pushed afterwards is found. */
static void
test_not_yet(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/later", "--no-sig --log-index 5");
    o = lookup(r, "t/later", p.data_hash, 5, NULL, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
    o = lookup(r, "t/nosuchrepo", p.data_hash, 5, NULL, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);

    push(r, &p, "t/later", "--log-index 5");
    o = lookup(r, "t/later", p.data_hash, 5, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
}

/* A PCR annotation that disagrees with the info layer -> untrusted. */
static void
test_annotation_mismatch(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/mismatch",
         "--pcr-annotations --mutate-annotation PCR2 --log-index 3");
    o = lookup(r, "t/mismatch", p.data_hash, 3, NULL, NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "PCR2"));
}

/* An info blob whose bytes do not hash to its digest -> untrusted.  Its
 * twin is test_found (same layout, intact blob). */
static void
test_bad_blob_digest(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/corrupt", "--log-index 9 --corrupt-info '%s/storage'",
         r->dir);
    o = lookup(r, "t/corrupt", p.data_hash, 9, NULL, NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "hash"));
}

/* A payload naming another repository -> untrusted; so is a bundle with
 * another logIndex, and a signature annotation other than the entry's.
 * Twins: the right logIndex and signature on the same push are OK. */
static void
test_other_repository(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/victim", "--ref-repo t/attacker --log-index 11");
    o = lookup(r, "t/victim", p.data_hash, 11, NULL, NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "repository"));

    push(r, &p, "t/logindex", "--log-index 12");
    o = lookup(r, "t/logindex", p.data_hash, 13, NULL, NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "logIndex"));
    o = lookup(r, "t/logindex", p.data_hash, 12, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);

    /* the entry's signature, when given, must be the layer's */
    o = lookup_at(r->proxy_port, "t/logindex", p.data_hash, 12, NULL, NULL,
                  p.signature);
    assert_int_equal(o.res, OCI_OK);
    o = lookup_at(r->proxy_port, "t/logindex", p.data_hash, 12, NULL, NULL,
                  "b3RoZXIgc2lnbmF0dXJl");
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "signature"));
}

/* Configured credentials the registry rejects -> error, and no anonymous
 * token is fetched for them.  (The anonymous path is in test_found.) */
static void
test_token_rejected(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/creds", "--log-index 1");
    o = lookup(r, "t/creds", p.data_hash, 1, NULL, "not-a-valid-token");
    assert_int_equal(o.res, OCI_ERROR);
    assert_false(requests_have(r, "TOKEN repository:t/creds:pull"));
    o = lookup(r, "t/creds", p.data_hash, 1, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_true(requests_have(r, "TOKEN repository:t/creds:pull"));
}

/* A token service that gives no token, and a realm the transport may not
 * reach (plain HTTP off loopback): errors, retried by the caller; nothing
 * is sent to the refused realm.  Their twin is test_found's token. */
static void
test_token_faults(void **state)
{
    struct reg *r = R(state);
    struct outcome o;
    char hash[65];

    NEED_REGISTRY(r);
    memset(hash, 'a', 64);
    hash[64] = '\0';
    o = lookup(r, "badtoken/app", hash, 1, NULL, NULL);
    assert_int_equal(o.res, OCI_ERROR);
    assert_non_null(strstr(o.why, "token"));
    assert_true(requests_have(r, "TOKEN repository:badtoken/app:pull"));
    o = lookup(r, "badrealm/app", hash, 1, NULL, NULL);
    assert_int_equal(o.res, OCI_ERROR);
    assert_false(requests_have(r, "TOKEN repository:badrealm/app:pull"));
}

/* Blobs that redirect to another host name are fetched there, verified,
 * and the bearer token does not follow them.  Twin: test_found, whose
 * blobs come straight from the registry with the token. */
static void
test_blob_redirect(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "redirect/app", "--pcr-annotations --log-index 50");
    o = lookup(r, "redirect/app", p.data_hash, 50, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    assert_int_equal(count_lines(r, "requests.log", "BLOBDATA "), 2);
    assert_int_equal(count_lines(r, "requests.log", "auth=yes"), 0);
}

/* The .sig tag sorts after 120 other tags: found on the second page.
 * Twin: the commit SHA shortcut finds it without any tag list. */
static void
test_pagination(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "t/paged", "--extra-tags 120 --log-index 20");
    o = lookup(r, "t/paged", p.data_hash, 20, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_true(requests_have(r, "/v2/t/paged/tags/list?n=100&last="));

    push(r, &p, "t/shortcut", "--tag 0123abcd --log-index 21");
    o = lookup(r, "t/shortcut", p.data_hash, 21, "0123abcd", NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    assert_false(requests_have(r, "/v2/t/shortcut/tags/list"));
}

/* Straight to docker-registry (no token, no paging front): it ignores
 * n= and answers all 130 tags unsorted in one page; the lookup reads that
 * page once (not again and again) and finds the signature.  Twin: the wrong
 * logIndex there is still untrusted. */
static void
test_registry_ignores_paging(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;
    char extra[128];

    NEED_REGISTRY(r);
    snprintf(extra, sizeof(extra),
             "--extra-tags 130 --log-index 30 "
             "--ref-host 127.0.0.1:%d",
             r->registry_port);
    push(r, &p, "t/direct", "%s", extra);
    o = lookup_at(r->registry_port, "t/direct", p.data_hash, 30, NULL, NULL,
                  NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    o = lookup_at(r->registry_port, "t/direct", p.data_hash, 31, NULL, NULL,
                  NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    /* one tag list request per lookup (the registry's access log) */
    assert_int_equal(
        count_lines(r, "registry.log", "\"GET /v2/t/direct/tags/list"), 2);
}

/* By manifest digest (an in-toto subject): an artifact pushed as `oras
 * push` does, with no .sig at all, gives its PCRs from manifest D alone
 * (token, D, info layer; no tag list, no signature manifest, no EIF), hex
 * in either case.  Twin: the cosign path on the same push finds nothing. */
static void
test_manifest_found(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;
    char upper[OCI_DIGEST_LEN + 1];
    char line[200];
    size_t i;

    NEED_REGISTRY(r);
    push(r, &p, "m/found", "--no-sig --log-index 60");
    o = lookup_manifest_at(r->proxy_port, "m/found", p.artifact);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    assert_true(requests_have(r, "TOKEN repository:m/found:pull"));
    snprintf(line, sizeof(line), "GET /v2/m/found/manifests/%s", p.artifact);
    assert_true(requests_have(r, line));
    snprintf(line, sizeof(line), "GET /v2/m/found/blobs/%s", p.info_digest);
    assert_true(requests_have(r, line));
    snprintf(line, sizeof(line), "GET /v2/m/found/blobs/%s", p.eif_digest);
    assert_false(requests_have(r, line));
    assert_false(requests_have(r, "/v2/m/found/tags/list"));
    assert_false(requests_have(r, "/v2/m/found/manifests/sha256-"));

    /* the digest's hex in upper case names the same manifest */
    for (i = 0; i <= OCI_DIGEST_LEN; i++) {
        upper[i] = (char)(i >= 7 && p.artifact[i] >= 'a' && p.artifact[i] <= 'f'
                              ? p.artifact[i] - 32
                              : p.artifact[i]);
    }
    assert_string_not_equal(upper, p.artifact);
    o = lookup_manifest_at(r->proxy_port, "m/found", upper);
    assert_int_equal(o.res, OCI_OK);
    assert_string_equal(o.pcrs.artifact_digest, p.artifact);

    /* with PCR annotations that agree with the info layer */
    push(r, &p, "m/annotated", "--no-sig --pcr-annotations --log-index 61");
    o = lookup_manifest_at(r->proxy_port, "m/annotated", p.artifact);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);

    /* the cosign path needs the .sig this push does not have */
    o = lookup(r, "m/annotated", p.data_hash, 61, NULL, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
}

/* Manifest D not in the repository (another digest, another repository,
 * no repository yet) -> not yet; nothing listening -> error.  Twin: the
 * same digest in its own repository is found (test_manifest_found). */
static void
test_manifest_not_yet(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;
    char other[OCI_DIGEST_LEN + 1];

    NEED_REGISTRY(r);
    push(r, &p, "m/later", "--no-sig --log-index 62");
    memcpy(other, p.artifact, sizeof(other));
    other[7] = other[7] == '0' ? '1' : '0';
    o = lookup_manifest_at(r->proxy_port, "m/later", other);
    assert_int_equal(o.res, OCI_NOT_YET);
    o = lookup_manifest_at(r->proxy_port, "m/elsewhere", p.artifact);
    assert_int_equal(o.res, OCI_NOT_YET);
    push(r, &p, "m/elsewhere", "--no-sig --log-index 63");
    o = lookup_manifest_at(r->proxy_port, "m/elsewhere", other);
    assert_int_equal(o.res, OCI_NOT_YET);
    o = lookup_manifest_at(r->proxy_port, "m/elsewhere", p.artifact);
    assert_int_equal(o.res, OCI_OK);

    /* a transport error is an error (retried), not "not yet" */
    o = lookup_manifest_at(1, "m/later", p.artifact);
    assert_int_equal(o.res, OCI_ERROR);
}

/* By manifest digest, step 4's untrusted cases stay untrusted: PCR
 * annotations that disagree with the info layer, a manifest whose bytes do
 * not hash to the digest asked for, an info blob that does not hash to its
 * digest.  Twin: test_manifest_found (same layouts, intact). */
static void
test_manifest_untrusted(void **state)
{
    struct reg *r = R(state);
    struct pushed p;
    struct outcome o;

    NEED_REGISTRY(r);
    push(r, &p, "m/mismatch",
         "--no-sig --pcr-annotations --mutate-annotation PCR2 --log-index 64");
    o = lookup_manifest_at(r->proxy_port, "m/mismatch", p.artifact);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "PCR2"));

    push(r, &p, "m/tampered",
         "--no-sig --pcr-annotations --log-index 65 "
         "--corrupt-manifest '%s/storage'",
         r->dir);
    o = lookup_manifest_at(r->proxy_port, "m/tampered", p.artifact);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "manifest does not hash"));

    push(r, &p, "m/corrupt",
         "--no-sig --log-index 66 --corrupt-info '%s/storage'", r->dir);
    o = lookup_manifest_at(r->proxy_port, "m/corrupt", p.artifact);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "info layer does not hash"));
}

/* Lines of the proxy's request log that contain needle. */
static int
requests_count(struct reg *r, const char *needle)
{
    return count_lines(r, "requests.log", needle);
}

/* The proxy forgets every token it handed out. */
static void
revoke_tokens(struct reg *r)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd),
             "python3 -c 'import sys, urllib.request; "
             "urllib.request.urlopen(sys.argv[1]).read()' "
             "http://127.0.0.1:%d/admin/revoke",
             r->proxy_port);
    assert_int_equal(system(cmd), 0);
}

/* A token cache: the second lookup of a repository sends the cached token
 * at once (no 401, no token request); another repository gets its own; a
 * cached token the registry refuses is dropped and a new one fetched, in
 * the same lookup; an expired one is not sent.  Twin: without a cache
 * every lookup fetches a token. */
static void
test_token_cache(void **state)
{
    struct reg *r = R(state);
    struct pushed p, q;
    struct outcome o;
    struct oci_token_cache *tc = oci_token_cache_new(0);
    struct oci_token_cache *short_tc = oci_token_cache_new(1);
    const char *tok = "TOKEN repository:c/cached:pull";
    const char *denied = "401 GET /v2/c/cached/";
    struct timespec nap = {1, 200000000};
    struct oci_lookup_req req;

    NEED_REGISTRY(r);
    assert_non_null(tc);
    assert_non_null(short_tc);
    push(r, &p, "c/cached", "--no-sig --log-index 70");
    push(r, &q, "c/other", "--no-sig --log-index 71");

    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 1);
    assert_int_equal(requests_count(r, denied), 1);
    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, tc);
    assert_int_equal(o.res, OCI_OK);
    assert_pcrs_expected(r, &o, &p);
    assert_int_equal(requests_count(r, tok), 1);
    assert_int_equal(requests_count(r, denied), 1);

    /* a token is for its repository only */
    o = lookup_cached(r->proxy_port, "c/other", q.artifact, tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, "TOKEN repository:c/other:pull"), 1);

    /* refused (revoked, expired early): dropped, a new one, still found */
    revoke_tokens(r);
    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 2);
    assert_int_equal(requests_count(r, denied), 2);
    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 2);

    /* the cosign path uses the cache too (tag list: no .sig yet) */
    memset(&req, 0, sizeof(req));
    req.repository = "c/cached";
    req.data_hash_hex = p.data_hash;
    req.log_index = 70;
    req.tokens = tc;
    o = run_lookup(r->proxy_port, &req);
    assert_int_equal(o.res, OCI_NOT_YET);
    assert_true(requests_have(r, "GET /v2/c/cached/tags/list"));
    assert_int_equal(requests_count(r, tok), 2);
    assert_int_equal(requests_count(r, denied), 2);

    /* the twin: no cache, a token per lookup */
    o = lookup_manifest_at(r->proxy_port, "c/cached", p.artifact);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 3);

    /* after its ttl a token is not sent again */
    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, short_tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 4);
    nanosleep(&nap, NULL);
    o = lookup_cached(r->proxy_port, "c/cached", p.artifact, short_tc);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(requests_count(r, tok), 5);
    assert_int_equal(requests_count(r, denied), 5);

    oci_token_cache_free(tc);
    oci_token_cache_free(short_tc);
    oci_token_cache_free(NULL);
}

/*
 * The attestation path (cosign attest, dsse entries): statements built here
 * from the testdata describe-eif output, pushed as cosign's .att layers.
 */

/* A statement around the testdata describe-eif output, tagged with note so
 * that each is different; written to DIR/<note>.json, whose path goes to
 * path.  Returns the statement (new, NUL-terminated), its bytes in the
 * file. */
static char *
write_statement(struct reg *r, const char *note, char *path, size_t cap)
{
    json_error_t err;
    json_t *root = json_load_file(r->info, 0, &err);
    json_t *pred, *st;
    char *text;
    FILE *f;

    assert_non_null(root);
    pred = json_deep_copy(json_object_get(root, "describeEif"));
    assert_non_null(pred);
    assert_int_equal(json_object_set_new(pred, "Note", json_string(note)), 0);
    st = json_pack(
        "{s:s,s:[{s:s,s:{s:s}}],s:s,s:o}", "_type",
        "https://in-toto.io/Statement/v1", "subject", "name", "enclave.eif",
        "digest", "sha256",
        "6be47f8386175bc4853c3b821f9e6fa6f65f8bd73492d1df99ba9dd0d734"
        "e11c",
        "predicateType", "https://example.com/enclave/v1", "predicate", pred);
    assert_non_null(st);
    text = json_dumps(st, JSON_COMPACT);
    assert_non_null(text);
    snprintf(path, cap, "%s/%s.json", r->dir, note);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    json_decref(st);
    json_decref(root);
    return text;
}

/* A lookup by attestation payload hash (log_index rules layers out). */
static struct outcome
lookup_att(struct reg *r, const char *repo, const char *hash,
           uint64_t log_index, const char *commit)
{
    struct oci_lookup_req q;

    memset(&q, 0, sizeof(q));
    q.repository = repo;
    q.att_payload_hash = hash;
    q.log_index = log_index;
    q.commit_sha = commit;
    return run_lookup(r->proxy_port, &q);
}

static const char *
jstr(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));

    assert_non_null(v);
    return v;
}

/* Found: the statement bytes are the pushed statement, the artifact the
 * one its .att tag names, no PCRs from the lookup itself; attest_statement
 * reads the testdata PCRs from it.  The envelope was fetched, the EIF not.
 * Twins: another hash -> not yet; the .sig path on the same push finds its
 * PCRs; the hash in upper case is found too. */
static void
test_att_found(void **state)
{
    struct reg *r = R(state);
    struct outcome o;
    struct attest_result ar;
    struct oci_pcrs want;
    char path[512], line[300], other[65], upper[65];
    char *stmt;
    json_t *j;
    size_t i;
    int n;

    NEED_REGISTRY(r);
    stmt = write_statement(r, "att-found", path, sizeof(path));
    j = push_json(r, "att/found", "--log-index 80 --att '%s'", path);
    assert_int_equal(json_integer_value(json_object_get(j, "att_layers")), 1);
    o = lookup_att(r, "att/found", jstr(j, "att_payload_hash"), 80, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_true(o.has_stmt);
    assert_int_equal(o.stmt_len, strlen(stmt));
    assert_memory_equal(o.stmt, stmt, strlen(stmt));
    assert_int_equal(o.pcrs.present, 0);
    assert_string_equal(o.pcrs.artifact_digest, jstr(j, "artifact"));
    assert_true(requests_have(r, "TOKEN repository:att/found:pull"));
    snprintf(line, sizeof(line), "GET /v2/att/found/manifests/%s",
             jstr(j, "att_tag"));
    assert_true(requests_have(r, line));
    snprintf(line, sizeof(line), "GET /v2/att/found/blobs/%s",
             jstr(j, "att_digest"));
    assert_true(requests_have(r, line));
    snprintf(line, sizeof(line), "GET /v2/att/found/blobs/%s",
             jstr(j, "eif_digest"));
    assert_false(requests_have(r, line));

    /* the statement as the caller reads it */
    assert_int_equal(attest_statement(o.stmt, o.stmt_len, &ar), ATTEST_PCRS);
    expected_pcrs(r, &want);
    assert_int_equal(ar.pcrs.present, want.present);
    for (i = 0; i < 4; i++) {
        if (want.present & (1u << i)) {
            assert_string_equal(ar.pcrs.hex[i], want.hex[i]);
        }
    }

    for (i = 0; i <= 64; i++) {
        char c = jstr(j, "att_payload_hash")[i];
        upper[i] = (char)(c >= 'a' && c <= 'f' ? c - 32 : c);
    }
    o = lookup_att(r, "att/found", upper, 80, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(o.stmt_len, strlen(stmt));

    memcpy(other, jstr(j, "att_payload_hash"), sizeof(other));
    other[5] = other[5] == '0' ? '1' : '0';
    o = lookup_att(r, "att/found", other, 80, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
    assert_false(o.has_stmt);

    o = lookup(r, "att/found", jstr(j, "data_hash"), 80, NULL, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_false(o.has_stmt);
    assert_int_equal(o.pcrs.present, want.present);
    json_decref(j);

    /* an envelope blob behind a redirect: fetched there, without the
     * token, verified, found */
    j = push_json(r, "redirect/att", "--log-index 82 --att '%s'", path);
    n = count_lines(r, "requests.log", "BLOBDATA ");
    o = lookup_att(r, "redirect/att", jstr(j, "att_payload_hash"), 82, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_memory_equal(o.stmt, stmt, strlen(stmt));
    assert_int_equal(count_lines(r, "requests.log", "BLOBDATA "), n + 1);
    assert_int_equal(count_lines(r, "requests.log", "auth=yes"), 0);
    json_decref(j);
    free(stmt);
}

/* Not yet: no .att tag (only the artifact and its .sig), no repository,
 * an .att manifest with other statements only (and junk).  Twin: the
 * statement appended later is found, past a junk layer pushed after it. */
static void
test_att_not_yet(void **state)
{
    struct reg *r = R(state);
    struct outcome o;
    char path_a[512], path_b[512], junk[512], line[300], hash_a[65];
    unsigned char md[32];
    size_t i;
    char *a, *b;
    json_t *j, *ja, *jb, *jj;
    FILE *f;

    NEED_REGISTRY(r);
    a = write_statement(r, "att-later-a", path_a, sizeof(path_a));
    b = write_statement(r, "att-later-b", path_b, sizeof(path_b));
    snprintf(junk, sizeof(junk), "%s/att-junk.txt", r->dir);
    f = fopen(junk, "w");
    assert_non_null(f);
    fputs("{\"payloadType\":\"text/plain\",\"payload\":\"eA==\","
          "\"signatures\":[{\"sig\":\"\"}]}",
          f);
    assert_int_equal(fclose(f), 0);

    /* the artifact and its .sig, no attestation */
    j = push_json(r, "att/later", "--log-index 81");
    o = lookup_att(r, "att/later", jstr(j, "data_hash"), 81, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
    assert_false(requests_have(r, "/v2/att/later/manifests/sha256-"));
    o = lookup_att(r, "att/nosuchrepo", jstr(j, "data_hash"), 81, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);

    /* b attested for another artifact (another .att tag) */
    jj = push_json(r, "att/later",
                   "--log-index 81 --att '%s' --att-only "
                   "sha256:0000000000000000000000000000000000000000000000000000"
                   "000000000000",
                   path_b);
    json_decref(jj);

    /* another statement of the same log index: fetched, passed over */
    jb = push_json(r, "att/later", "--log-index 81 --att '%s' --att-only %s",
                   path_b, jstr(j, "artifact"));
    SHA256((const unsigned char *)a, strlen(a), md);
    for (i = 0; i < 32; i++) {
        snprintf(hash_a + 2 * i, 3, "%02x", md[i]);
    }
    o = lookup_att(r, "att/later", hash_a, 81, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
    snprintf(line, sizeof(line), "GET /v2/att/later/blobs/%s",
             jstr(jb, "att_digest"));
    assert_true(requests_have(r, line));

    /* the twin: a appended to the artifact's .att, then junk after it */
    ja = push_json(r, "att/later", "--log-index 81 --att '%s' --att-only %s",
                   path_a, jstr(j, "artifact"));
    assert_int_equal(json_integer_value(json_object_get(ja, "att_layers")), 2);
    assert_string_equal(jstr(ja, "att_payload_hash"), hash_a);
    jj = push_json(r, "att/later",
                   "--log-index 81 --att-blob '%s' "
                   "--att-only %s",
                   junk, jstr(j, "artifact"));
    assert_int_equal(json_integer_value(json_object_get(jj, "att_layers")), 3);
    o = lookup_att(r, "att/later", jstr(ja, "att_payload_hash"), 81, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(o.stmt_len, strlen(a));
    assert_memory_equal(o.stmt, a, strlen(a));
    assert_string_equal(o.pcrs.artifact_digest, jstr(j, "artifact"));
    snprintf(line, sizeof(line), "GET /v2/att/later/blobs/%s",
             jstr(jj, "att_digest"));
    assert_true(requests_have(r, line)); /* the junk, read first */
    o = lookup_att(r, "att/later", jstr(jb, "att_payload_hash"), 81, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_int_equal(o.stmt_len, strlen(b));
    assert_memory_equal(o.stmt, b, strlen(b));
    json_decref(jj);
    json_decref(ja);
    json_decref(jb);
    json_decref(j);
    free(a);
    free(b);
}

/* A layer whose bundle names another logIndex is ruled out unfetched: not
 * yet, and no request for its blob.  Twin: the right logIndex fetches and
 * finds it; so does the commit SHA shortcut (no tag list). */
static void
test_att_logindex(void **state)
{
    struct reg *r = R(state);
    struct outcome o;
    char path[512], line[300];
    char *stmt;
    json_t *j;
    int n;

    NEED_REGISTRY(r);
    stmt = write_statement(r, "att-logindex", path, sizeof(path));
    j = push_json(r, "att/logindex", "--log-index 90 --tag feed1234 --att '%s'",
                  path);
    snprintf(line, sizeof(line), "GET /v2/att/logindex/blobs/%s",
             jstr(j, "att_digest"));
    o = lookup_att(r, "att/logindex", jstr(j, "att_payload_hash"), 91, NULL);
    assert_int_equal(o.res, OCI_NOT_YET);
    assert_true(requests_have(r, "GET /v2/att/logindex/manifests/sha256-"));
    assert_false(requests_have(r, line));

    o = lookup_att(r, "att/logindex", jstr(j, "att_payload_hash"), 90, NULL);
    assert_int_equal(o.res, OCI_OK);
    assert_memory_equal(o.stmt, stmt, strlen(stmt));
    assert_true(requests_have(r, line));
    n = requests_count(r, "GET /v2/att/logindex/tags/list");
    assert_true(n >= 2);

    o = lookup_att(r, "att/logindex", jstr(j, "att_payload_hash"), 90,
                   "feed1234");
    assert_int_equal(o.res, OCI_OK);
    assert_memory_equal(o.stmt, stmt, strlen(stmt));
    assert_string_equal(o.pcrs.artifact_digest, jstr(j, "artifact"));
    assert_int_equal(requests_count(r, "GET /v2/att/logindex/tags/list"), n);
    json_decref(j);
    free(stmt);
}

/* An envelope blob whose bytes do not hash to its digest -> untrusted.
 * Twin: test_att_found (same layout, intact). */
static void
test_att_corrupt(void **state)
{
    struct reg *r = R(state);
    struct outcome o;
    char path[512];
    char *stmt;
    json_t *j;

    NEED_REGISTRY(r);
    stmt = write_statement(r, "att-corrupt", path, sizeof(path));
    j = push_json(r, "att/corrupt",
                  "--log-index 95 --att '%s' --corrupt-att '%s/storage'", path,
                  r->dir);
    o = lookup_att(r, "att/corrupt", jstr(j, "att_payload_hash"), 95, NULL);
    assert_int_equal(o.res, OCI_UNTRUSTED);
    assert_non_null(strstr(o.why, "does not hash"));
    assert_false(o.has_stmt);
    json_decref(j);
    free(stmt);
}

/* Invalid requests are refused synchronously, without a callback. */
static void
test_invalid_start(void **state)
{
    struct event_base *base = event_base_new();
    struct http_client *c;
    struct oci_lookup_req q;
    struct outcome o;
    char hash[65];
    char digest[OCI_DIGEST_LEN + 1];
    char longer[OCI_DIGEST_LEN + 2];
    char shorter[OCI_DIGEST_LEN];
    char nonhex[OCI_DIGEST_LEN + 1];
    const char *bad[7];
    size_t i;

    (void)state;
    assert_non_null(base);
    c = http_client_new(base, NULL);
    assert_non_null(c);
    memset(hash, 'a', 64);
    hash[64] = '\0';
    snprintf(digest, sizeof(digest), "sha256:%s", hash);
    snprintf(longer, sizeof(longer), "%sa", digest);
    memcpy(shorter, digest, sizeof(shorter) - 1);
    shorter[sizeof(shorter) - 1] = '\0';
    snprintf(nonhex, sizeof(nonhex), "%s", digest);
    nonhex[40] = 'g';
    bad[0] = hash;    /* no algorithm */
    bad[1] = longer;  /* 65 hex */
    bad[2] = shorter; /* 63 hex */
    bad[3] = nonhex;
    bad[4] = "SHA256:"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bad[5] = "sha512:"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bad[6] = "";
    memset(&q, 0, sizeof(q));
    memset(&o, 0, sizeof(o));
    q.registry_host = "127.0.0.1:1";
    q.repository = "a/b";
    q.plain_http = 1;
    q.data_hash_hex = "abc";
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.data_hash_hex = hash;
    q.repository = "a/../b?x";
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.repository = "a/b";
    q.commit_sha = "x/y";
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.commit_sha = NULL;
    oci_lookup_cancel(oci_lookup_start(c, &q, on_done, &o));

    /* exactly one of data_hash_hex and manifest_digest */
    q.manifest_digest = digest;
    assert_null(oci_lookup_start(c, &q, on_done, &o)); /* both */
    q.data_hash_hex = NULL;
    q.manifest_digest = NULL;
    assert_null(oci_lookup_start(c, &q, on_done, &o)); /* neither */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q.manifest_digest = bad[i];
        assert_null(oci_lookup_start(c, &q, on_done, &o));
    }
    q.manifest_digest = digest; /* the twin: well formed, started */
    oci_lookup_cancel(oci_lookup_start(c, &q, on_done, &o));

    /* att_payload_hash: alone, and 64 hex */
    q.att_payload_hash = hash;
    assert_null(oci_lookup_start(c, &q, on_done, &o)); /* with D */
    q.data_hash_hex = hash;
    assert_null(oci_lookup_start(c, &q, on_done, &o)); /* all three */
    q.manifest_digest = NULL;
    assert_null(oci_lookup_start(c, &q, on_done, &o)); /* with data hash */
    q.data_hash_hex = NULL;
    q.att_payload_hash = "abc";
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.att_payload_hash = digest; /* "sha256:" + hex */
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.att_payload_hash = nonhex + 7;
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.att_payload_hash = longer + 7; /* 65 hex */
    assert_null(oci_lookup_start(c, &q, on_done, &o));
    q.att_payload_hash = hash; /* the twin */
    oci_lookup_cancel(oci_lookup_start(c, &q, on_done, &o));
    oci_lookup_cancel(NULL);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(o.done, 0);
    http_client_free(c);
    event_base_free(base);
}

/* The pure parsers on a few shapes; the fuzz targets do the rest. */
static void
test_parsers(void **state)
{
    struct oci_challenge ch;
    char tok[64];
    const char *v =
        "Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
        "scope=\"repository:acme/app:pull\"";
    char d[OCI_DIGEST_LEN + 1];
    char ref[OCI_MAX_REF];
    const char *pay =
        "{\"critical\":{\"identity\":{\"docker-reference\":\"ghcr.io/a/b\"},"
        "\"image\":{\"docker-manifest-digest\":\"sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000\"},"
        "\"type\":\"cosign container image signature\"},\"optional\":null}";

    (void)state;
    assert_int_equal(oci_parse_challenge(v, strlen(v), &ch), 0);
    assert_string_equal(ch.realm, "https://ghcr.io/token");
    assert_string_equal(ch.service, "ghcr.io");
    assert_string_equal(ch.scope, "repository:acme/app:pull");
    assert_int_equal(oci_parse_challenge("Basic realm=\"x\"", 15, &ch), -1);
    assert_int_equal(oci_parse_challenge("Bearer service=\"x\"", 18, &ch), -1);
    assert_int_equal(oci_parse_challenge("Bearer realm=\"x", 15, &ch), -1);

    assert_int_equal(
        oci_parse_token("{\"token\":\"abc\"}", 15, tok, sizeof(tok)), 0);
    assert_string_equal(tok, "abc");
    assert_int_equal(
        oci_parse_token("{\"token\":\"a b\"}", 15, tok, sizeof(tok)), -1);

    assert_int_equal(oci_parse_simple_signing(pay, strlen(pay), d, ref), 0);
    assert_string_equal(ref, "ghcr.io/a/b");
    assert_int_equal(oci_parse_simple_signing(pay, strlen(pay) - 2, d, ref),
                     -1);
}

/* The DSSE envelope parser: cosign's shape, and each field wrong. */
static void
test_parse_envelope(void **state)
{
    static const char *const bad[] = {
        /* payloadType */
        "{\"payloadType\":\"text/plain\",\"payload\":\"eyJ4IjoxfQ==\","
        "\"signatures\":[{\"keyid\":\"\",\"sig\":\"AA==\"}]}",
        "{\"payload\":\"eyJ4IjoxfQ==\",\"signatures\":[{\"sig\":\"\"}]}",
        /* payload: not base64, unpadded, empty, absent, a number */
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4I!oxfQ==\",\"signatures\":[{\"sig\":\"\"}]}",
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ\",\"signatures\":[{\"sig\":\"\"}]}",
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"\",\"signatures\":[{\"sig\":\"\"}]}",
        "{\"payloadType\":\"application/vnd.in-toto+json\","
        "\"signatures\":[{\"sig\":\"\"}]}",
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":1,"
        "\"signatures\":[{\"sig\":\"\"}]}",
        /* signatures: none, empty, no sig */
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ==\"}",
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ==\",\"signatures\":[]}",
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ==\",\"signatures\":[{\"keyid\":\"\"}]}",
        /* a duplicate key, not an object */
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ==\",\"payload\":\"eyJ4IjoxfQ==\",\"signatures\":"
        "[{\"sig\":\"\"}]}",
        "[]",
    };
    static const char good[] =
        "{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":"
        "\"eyJ4IjoxfQ==\",\"signatures\":[{\"keyid\":\"\",\"sig\":"
        "\"MEUCIQ==\"}]}";
    uint8_t out[64];
    size_t n = 99, i;

    (void)state;
    assert_int_equal(
        oci_parse_envelope(good, strlen(good), out, sizeof(out), &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "{\"x\":1}", 7);
    /* the decoded payload must fit */
    assert_int_equal(oci_parse_envelope(good, strlen(good), out, 6, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(
        oci_parse_envelope(good, strlen(good) - 1, out, sizeof(out), &n), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = 99;
        if (oci_parse_envelope(bad[i], strlen(bad[i]), out, sizeof(out), &n) !=
            -1) {
            fail_msg("envelope %zu accepted", i);
        }
        assert_int_equal(n, 0);
    }
    assert_int_equal(oci_parse_envelope(NULL, 0, out, sizeof(out), &n), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_parse_envelope),
        cmocka_unit_test(test_invalid_start),
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_info_only),
        cmocka_unit_test(test_not_yet),
        cmocka_unit_test(test_annotation_mismatch),
        cmocka_unit_test(test_bad_blob_digest),
        cmocka_unit_test(test_other_repository),
        cmocka_unit_test(test_token_rejected),
        cmocka_unit_test(test_token_faults),
        cmocka_unit_test(test_blob_redirect),
        cmocka_unit_test(test_pagination),
        cmocka_unit_test(test_registry_ignores_paging),
        cmocka_unit_test(test_manifest_found),
        cmocka_unit_test(test_manifest_not_yet),
        cmocka_unit_test(test_manifest_untrusted),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_att_found),
        cmocka_unit_test(test_att_not_yet),
        cmocka_unit_test(test_att_logindex),
        cmocka_unit_test(test_att_corrupt),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
