/*
 * bench_pipeline.c: the follower's entry pipeline alone, beside a bare
 * loop over the same bytes (DESIGN.md "Performance targets": the pipeline
 * at >= 90% of the bare loop's speed).  Built, never run by ctest.
 *
 *   bench_pipeline [RESPONSES [ROUNDS [pipeline|jansson]]]
 *
 * Input: RESPONSES (default 400) retrieve responses of 10 entries each,
 * built from the real API entries of ../shared/testdata/rekor/api-entries
 * (6-9 KB each: GitHub Actions dsse and hashedrekord signings, a jar, a
 * staging hashedrekord), mostly unwatched: one entry in
 * BENCH_WATCHED_EVERY carries a certificate a rule names; 10 rules.
 *
 * pipeline, per response (as follow.c does it): scan_retrieve (the strict
 * scanner: entry id, body base64, leaf hash, indexes; jansson and
 * entry_from_json as its fallback); per entry merkle_range_append,
 * policy_eval (entry_body_decode: body JSON and verifier base64;
 * prefilter; on a hit only, X.509 parse, chain and rules), entry_free.
 * bare, per response: json_loadb of the response; per element base64 of
 * the body, SHA-256(0x00 || body), json_loadb of the body, base64 of
 * every string over 64 bytes in it (the verifiers and signatures).
 *
 * Both loops run ROUNDS (default 5) times, interleaved response by
 * response, timed in thread CPU time (the machine is shared); the best
 * round of each is reported in entries/s, with the ratios of the best
 * rounds and of all rounds' CPU time.  "pipeline" as the third argument
 * runs the pipeline alone (for perf record); "jansson" makes the pipeline
 * take the follower's fallback path (jansson + entry_from_json) for
 * every response.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/policy.h"
#include "monitor/identity/scan.h"

#define BENCH_BATCH 10
#define BENCH_WATCHED_EVERY 1000
#define BENCH_MAX_B64 (1024 * 1024)

static const char *const bench_unwatched[] = {
    "rekor/api-entries/derived-gha-dsse-1261105807.json",
    "rekor/api-entries/derived-gha-dsse-155690850.json",
    "rekor/api-entries/staging-hashedrekord-entry.json",
};
#define BENCH_NUNWATCHED 3
/* Rare on the public log; its PKCS7 costs a full d2i_PKCS7 (see main). */
static const char bench_jar[] = "rekor/api-entries/prod-jar-entry.json";
#define BENCH_JAR_EVERY 500
static const char bench_watched[] =
    "rekor/api-entries/derived-gha-hashedrekord-79605083.json";

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID,
                  &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *
load(const char *td, const char *rel)
{
    char path[4096];
    json_error_t e;
    json_t *j;

    snprintf(path, sizeof(path), "%s/%s", td, rel);
    j = json_load_file(path, 0, &e);
    if (j == NULL) {
        fprintf(stderr, "%s: %s\n", path, e.text);
        exit(2);
    }
    return j;
}

struct response {
    char *text;
    size_t len;
};

/* ---- the pipeline ------------------------------------------------------ */

struct pipe_state {
    struct policy *policy;
    struct merkle_range range;
    json_t *alerts;
    struct policy_batch batch;
    uint64_t entries, hits, scanned;
    int no_scanner; /* force the jansson fallback */
};

/* One entry through range and policy, as follow_apply does. */
static void
pipe_entry(struct pipe_state *st, struct entry *e)
{
    struct policy_entry_ctx ctx = {"rekor", "rekor.sigstore.dev - 1",
                                   st->entries, st->entries, 1};
    struct policy_result res;

    if (merkle_range_append(&st->range, e->leaf_hash) != MERKLE_OK) {
        abort();
    }
    if (policy_eval_result(st->policy, &ctx, e, st->alerts, &st->batch, &res) !=
        0) {
        abort();
    }
    st->hits += res.prefilter;
    st->entries++;
    entry_free(e);
}

static void
pipeline(struct pipe_state *st, const struct response *r)
{
    struct entry *scanned[2 * BENCH_BATCH];
    long nscan = st->no_scanner
                     ? -1
                     : scan_retrieve(r->text, r->len, scanned, 2 * BENCH_BATCH);
    json_error_t jerr;
    json_t *root;
    size_t i;

    if (nscan >= 0) {
        for (i = 0; i < (size_t)nscan; i++) {
            pipe_entry(st, scanned[i]);
        }
        st->scanned++;
    } else {
        /* The follower's fallback: jansson and entry_from_json. */
        root = json_loadb(r->text, r->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_array(root)) {
            abort();
        }
        for (i = 0; i < json_array_size(root); i++) {
            char err[ENTRY_ERR_LEN];
            struct entry *e =
                entry_from_json(json_array_get(root, i), err, sizeof(err));
            if (e == NULL) {
                fprintf(stderr, "entry: %s\n", err);
                abort();
            }
            pipe_entry(st, e);
        }
        json_decref(root);
    }
    /* What a commit would do with them. */
    json_array_clear(st->alerts);
    policy_batch_clear(&st->batch);
}

/* ---- the bare loop ----------------------------------------------------- */

static uint8_t bare_buf[BENCH_MAX_B64];

static uint64_t
bare_strings(json_t *j)
{
    uint64_t sum = 0;
    const char *k;
    json_t *v;
    size_t i;

    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
        {
            sum += bare_strings(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            sum += bare_strings(v);
        }
    } else if (json_is_string(j) && json_string_length(j) > 64 &&
               json_string_length(j) < BENCH_MAX_B64) {
        int n = EVP_DecodeBlock(bare_buf,
                                (const unsigned char *)json_string_value(j),
                                (int)json_string_length(j));
        sum += n > 0 ? bare_buf[0] : 0;
    }
    return sum;
}

static uint64_t
bare(const struct response *r, uint64_t *entries)
{
    json_error_t jerr;
    json_t *root = json_loadb(r->text, r->len, JSON_REJECT_DUPLICATES, &jerr);
    uint64_t sum = 0;
    size_t i;

    if (!json_is_array(root)) {
        abort();
    }
    for (i = 0; i < json_array_size(root); i++) {
        json_t *el = json_array_get(root, i), *v, *body;
        const char *k, *b64;
        uint8_t *buf, md[SHA256_DIGEST_LENGTH];
        size_t len;
        int n;

        json_object_foreach(el, k, v)
        {
            b64 = json_string_value(json_object_get(v, "body"));
            len = json_string_length(json_object_get(v, "body"));
            buf = malloc(len + 1);
            if (b64 == NULL || buf == NULL) {
                abort();
            }
            buf[0] = 0x00; /* the leaf prefix */
            n = EVP_DecodeBlock(buf + 1, (const unsigned char *)b64, (int)len);
            if (n <= 0) {
                abort();
            }
            while (n > 0 && len > 0 && b64[len - 1] == '=') {
                n--; /* EVP_DecodeBlock counts padding as zero bytes */
                len--;
            }
            SHA256(buf, (size_t)n + 1, md);
            body = json_loadb((const char *)buf + 1, (size_t)n, 0, &jerr);
            if (body == NULL) {
                abort();
            }
            sum += md[0] + bare_strings(body);
            json_decref(body);
            free(buf);
            (*entries)++;
        }
    }
    json_decref(root);
    return sum;
}

/* ---- setup ------------------------------------------------------------- */

static struct policy *
bench_policy(const char *td, struct config_trusted_root **trp)
{
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    json_t *doc, *watch = json_array();
    struct config_errors *errs = NULL;
    struct config *cfg;
    struct policy *p;
    char *text;
    int i;

    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json", td);
    *trp = config_trusted_root_load(path, err, sizeof(err));
    if (*trp == NULL) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    /* 9 rules nobody in the data signs for, 1 for the watched entry. */
    for (i = 0; i < 9; i++) {
        char name[16], repo[64], id[16];
        snprintf(name, sizeof(name), "r%d", i);
        snprintf(repo, sizeof(repo), "acme-%d/enclave-app-%d", i, i);
        snprintf(id, sizeof(id), "%d", 900000000 + i);
        json_array_append_new(
            watch, json_pack("{s:s, s:s, s:s, s:{s:[s], s:[s]}}", "name", name,
                             "repository", repo, "repository_id", id, "allow",
                             "workflows", ".github/workflows/build-eif.yml",
                             "refs", "refs/heads/main"));
    }
    json_array_append_new(
        watch, json_pack("{s:s, s:s, s:b}", "name", "rfc", "repository",
                         "trailofbits/rfc8785.py", "record_expected", 1));
    doc = json_pack("{s:s, s:[{s:s, s:s}], s:o}", "state", "/nonexistent",
                    "logs", "name", "rekor", "url",
                    "https://rekor.sigstore.dev", "watch", watch);
    text = json_dumps(doc, JSON_COMPACT);
    cfg = text != NULL ? config_load_mem(text, strlen(text), "bench", &errs)
                       : NULL;
    if (cfg == NULL) {
        fprintf(stderr, "bench: config does not load\n");
        exit(2);
    }
    p = policy_new(cfg, *trp, err, sizeof(err));
    if (p == NULL) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    config_free(cfg);
    free(text);
    json_decref(doc);
    return p;
}

int
main(int argc, char **argv)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    size_t nresp = argc > 1 ? strtoul(argv[1], NULL, 10) : 400;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    json_t *un[BENCH_NUNWATCHED], *wa, *jar;
    struct response *resp;
    struct pipe_state st;
    struct config_trusted_root *tr;
    double best_pipe = 0, best_bare = 0, all_p = 0, all_b = 0;
    int only_pipeline = argc > 3 && strcmp(argv[3], "pipeline") == 0;
    int no_scanner = argc > 3 && strcmp(argv[3], "jansson") == 0;
    uint64_t sum = 0, total = 0, bytes = 0;
    size_t i, k, n = 0;
    int round;

    if (td == NULL) {
        td = "../shared/testdata";
    }
    if (nresp == 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_pipeline [RESPONSES [ROUNDS]]\n");
        return 2;
    }
    for (i = 0; i < BENCH_NUNWATCHED; i++) {
        un[i] = load(td, bench_unwatched[i]);
    }
    wa = load(td, bench_watched);
    jar = load(td, bench_jar);
    resp = calloc(nresp, sizeof(*resp));
    if (resp == NULL) {
        return 3;
    }
    for (i = 0; i < nresp; i++) {
        json_t *arr = json_array();
        for (k = 0; k < BENCH_BATCH; k++, n++) {
            json_array_append(arr, n % BENCH_WATCHED_EVERY == 0 ? wa
                                   : n % BENCH_JAR_EVERY == 1
                                       ? jar
                                       : un[n % BENCH_NUNWATCHED]);
        }
        resp[i].text = json_dumps(arr, JSON_COMPACT);
        resp[i].len = strlen(resp[i].text);
        bytes += resp[i].len;
        json_decref(arr);
    }
    memset(&st, 0, sizeof(st));
    st.no_scanner = no_scanner;
    st.policy = bench_policy(td, &tr);
    st.alerts = json_array();
    printf("bench_pipeline: %zu responses x %d entries, %.0f bytes/entry, "
           "10 rules, 1 watched entry in %d, 1 jar in %d\n",
           nresp, BENCH_BATCH, (double)bytes / (double)n, BENCH_WATCHED_EVERY,
           BENCH_JAR_EVERY);
    for (round = 0; round < rounds; round++) {
        uint64_t be = 0;
        double tp = 0, tb = 0, t0, t1, t2, pr, br;

        merkle_range_init(&st.range);
        st.entries = 0;
        /* Interleaved per response, so that both loops see the same
         * machine (caches, a busy neighbour) as far as possible. */
        for (i = 0; i < nresp; i++) {
            t0 = now_s();
            pipeline(&st, &resp[i]);
            t1 = now_s();
            if (!only_pipeline) {
                sum += bare(&resp[i], &be);
            }
            t2 = now_s();
            tp += t1 - t0;
            tb += t2 - t1;
        }
        pr = (double)st.entries / tp;
        br = only_pipeline ? 1 : (double)be / tb;
        printf("  round %d: pipeline %.0f entries/s, bare %.0f entries/s, "
               "ratio %.3f\n",
               round + 1, pr, br, pr / br);
        best_pipe = pr > best_pipe ? pr : best_pipe;
        best_bare = br > best_bare ? br : best_bare;
        all_p += tp;
        all_b += tb;
        total += st.entries;
    }
    printf("pipeline %.0f entries/s (best round)\n"
           "bare     %.0f entries/s (best round)\n"
           "ratio    %.3f of the best rounds, %.3f of all rounds' CPU time "
           "(target >= 0.90)\n",
           best_pipe, best_bare, best_pipe / best_bare, all_b / all_p);
    printf("(prefilter hits %llu in %llu entries; %llu of %zu responses "
           "by the scanner; checksum %llu)\n",
           (unsigned long long)st.hits, (unsigned long long)total,
           (unsigned long long)st.scanned, nresp * (size_t)rounds,
           (unsigned long long)sum);
    for (i = 0; i < nresp; i++) {
        free(resp[i].text);
    }
    free(resp);
    for (i = 0; i < BENCH_NUNWATCHED; i++) {
        json_decref(un[i]);
    }
    json_decref(wa);
    json_decref(jar);
    json_decref(st.alerts);
    policy_batch_free(&st.batch);
    policy_free(st.policy);
    config_trusted_root_free(tr);
    return 0;
}
