/*
 * fuzz_policy.c: libFuzzer target for policy_eval, the engine that reads
 * every untrusted entry body the follower applies.  Each input is tried
 * five ways: as an entry body, as a Rekor API entry element (entry_parse),
 * as a verifier (certificate bytes) wrapped into a hashedrekord body, so
 * the real leaves of the test data reach the claims, chain and rule
 * paths, and for policy_eval_ct as a CT MerkleTreeLeaf and as a
 * certificate wrapped into an x509_entry leaf (the CT rows must carry
 * their alert and a deadline not before NotBefore, the ids stay stable).
 * Checked on every input:
 *  - policy_eval never fails (only out of memory may) and never crashes;
 *  - every alert is a known type with a 64-hex id, an "entry" whose
 *    log_index is the one given, and a rule unless entry.malformed;
 *  - nothing passes the prefilter -> no signing and no signing.* alert;
 *  - a second evaluation at another time gives the same alert ids
 *    (stable ids) and the same number of signings.
 * The trusted root is the real one from TLOGWATCH_TESTDATA (ctest sets
 * it; set it for a libFuzzer run too).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/policy.h"
#include "notify/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256 * 1024)

/* Rules over the repositories of the test data, some allow lists set. */
static const char fuzz_config[] =
    "{\"state\":\"/nonexistent/s.db\","
    "\"logs\":[{\"name\":\"rekor\",\"url\":\"https://rekor.sigstore.dev\"}],"
    "\"watch\":["
    "{\"name\":\"a\",\"repository\":\"trailofbits/rfc8785.py\","
    "\"allow\":{\"workflows\":[\".github/workflows/release.yml\"],"
    "\"refs\":[\"refs/tags/v*\"],\"triggers\":[\"release\"]},"
    "\"record_expected\":true},"
    "{\"name\":\"b\",\"repository\":\"Sigstore/Sigstore-JS\","
    "\"repository_id\":\"495574555\",\"allow\":{\"runners\":[\"self-hosted\"]}}"
    ","
    "{\"name\":\"c\",\"repository\":\"kubewarden/kubewarden-controller\","
    "\"record_expected\":true},"
    "{\"name\":\"d\",\"repository\":\"sigstore-conformance/"
    "extremely-dangerous-public-oidc-beacon\",\"issuer\":"
    "\"https://issuer.example.com\"},"
    "{\"name\":\"e\",\"repository\":\"loosebazooka/aa-test\","
    "\"allow\":{\"refs\":[]}},"
    "{\"name\":\"f\",\"repository\":\"acme/enclave-app\"}]}";

static struct config_trusted_root *
fuzz_root(void)
{
    const char *td = getenv("TLOGWATCH_TESTDATA");
    char path[4096], err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *r = NULL;

    if (td != NULL &&
        (size_t)snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json",
                         td) < sizeof(path)) {
        r = config_trusted_root_load(path, err, sizeof(err));
    }
    if (r == NULL) {
        fprintf(stderr, "fuzz_policy: set TLOGWATCH_TESTDATA to the "
                        "shared testdata (fulcio/trusted_root.json)\n");
    }
    return r;
}

/* Built once per process (the fuzzer's state, not the library's). */
static struct policy *
fuzz_policy(void)
{
    static struct policy *p;
    static struct config_trusted_root *tr;
    struct config_errors *errs = NULL;
    struct config *cfg;
    char err[POLICY_ERR_LEN];

    if (p != NULL) {
        return p;
    }
    tr = fuzz_root();
    cfg = config_load_mem(fuzz_config, sizeof(fuzz_config) - 1, "fuzz", &errs);
    if (tr == NULL || cfg == NULL) {
        abort();
    }
    p = policy_new(cfg, tr, err, sizeof(err));
    config_free(cfg);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void
fuzz_check_alerts(json_t *alerts, uint64_t index,
                  const struct policy_result *res)
{
    size_t i;

    for (i = 0; i < json_array_size(alerts); i++) {
        json_t *a = json_array_get(alerts, i);
        const char *type = notify_alert_get_type(a);
        const char *id = notify_alert_get_id(a);
        json_t *ent = json_object_get(a, "entry");

        if (type == NULL || notify_alert_type_find(type) == NULL ||
            id == NULL || strlen(id) != NOTIFY_ALERT_ID_LEN ||
            (uint64_t)json_integer_value(json_object_get(ent, "log_index")) !=
                index) {
            abort();
        }
        if (strcmp(type, "entry.malformed") == 0) {
            if (json_object_get(a, "rule") != NULL || !res->malformed) {
                abort();
            }
        } else if (json_object_get(a, "rule") == NULL || res->prefilter == 0) {
            abort();
        }
    }
}

static void
fuzz_eval(struct policy *p, const struct entry *e, uint64_t index)
{
    struct policy_entry_ctx c1 = {"rekor", "o - 1", index, index, 1};
    struct policy_entry_ctx c2 = {"rekor", "o - 1", index, index, 99999};
    json_t *a1 = json_array(), *a2 = json_array();
    struct policy_batch b1, b2;
    struct policy_result r1, r2;
    size_t i;

    memset(&b1, 0, sizeof(b1));
    memset(&b2, 0, sizeof(b2));
    if (a1 == NULL || a2 == NULL ||
        policy_eval_result(p, &c1, e, a1, &b1, &r1) != 0 ||
        policy_eval_result(p, &c2, e, a2, &b2, &r2) != 0) {
        abort();
    }
    fuzz_check_alerts(a1, index, &r1);
    if (r1.prefilter == 0 && b1.n != 0) {
        abort();
    }
    if (json_array_size(a1) != json_array_size(a2) || b1.n != b2.n) {
        abort();
    }
    for (i = 0; i < json_array_size(a1); i++) {
        if (strcmp(notify_alert_get_id(json_array_get(a1, i)),
                   notify_alert_get_id(json_array_get(a2, i))) != 0) {
            abort();
        }
    }
    for (i = 0; i < b1.n; i++) {
        if (b1.v[i].uuid == NULL || b1.v[i].cert_sha256 == NULL ||
            b1.v[i].rule == NULL || b1.v[i].verdict == NULL ||
            b1.v[i].log_index != index) {
            abort();
        }
    }
    policy_batch_free(&b1);
    policy_batch_free(&b2);
    json_decref(a1);
    json_decref(a2);
}

static void
fuzz_eval_ct(struct policy *p, const uint8_t *leaf, size_t len)
{
    struct policy_ct_ctx c1 = {"ct", "ct.example/2022", 5, "{}", 1};
    struct policy_ct_ctx c2 = {"ct", "ct.example/2022", 5, NULL, 99999};
    struct ctleaf *l = ctleaf_parse_raw(leaf, len, NULL, 0, NULL, 0);
    json_t *a1 = json_array(), *a2 = json_array();
    struct policy_batch b1, b2;
    struct policy_result r1, r2;
    size_t i;

    if (l == NULL || a1 == NULL || a2 == NULL) {
        ctleaf_free(l);
        json_decref(a1);
        json_decref(a2);
        return;
    }
    memset(&b1, 0, sizeof(b1));
    memset(&b2, 0, sizeof(b2));
    if (policy_eval_ct(p, &c1, l, a1, &b1, &r1) != 0 ||
        policy_eval_ct(p, &c2, l, a2, &b2, &r2) != 0) {
        abort();
    }
    fuzz_check_alerts(a1, 5, &r1);
    if (b1.n != 0 || (r1.prefilter == 0 && b1.nct != 0) ||
        json_array_size(a1) != json_array_size(a2) || b1.nct != b2.nct) {
        abort();
    }
    for (i = 0; i < json_array_size(a1); i++) {
        if (strcmp(notify_alert_get_id(json_array_get(a1, i)),
                   notify_alert_get_id(json_array_get(a2, i))) != 0) {
            abort();
        }
    }
    for (i = 0; i < b1.nct; i++) {
        if (b1.ct[i].alert == NULL || b1.ct[i].link_id == NULL ||
            b1.ct[i].deadline < b1.ct[i].not_before ||
            b1.ct[i].log_index != 5) {
            abort();
        }
    }
    policy_batch_free(&b1);
    policy_batch_free(&b2);
    json_decref(a1);
    json_decref(a2);
    ctleaf_free(l);
}

/* An entry whose body is a copy of body[0 .. len). */
static struct entry *
fuzz_entry(const uint8_t *body, size_t len)
{
    struct entry *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        abort();
    }
    e->body = malloc(len > 0 ? len : 1);
    if (e->body == NULL) {
        abort();
    }
    memcpy(e->body, body, len);
    e->body_len = len;
    entry_compute_leaf(e);
    merkle_hex_encode(e->leaf_hash, MERKLE_HASH_LEN, e->uuid, sizeof(e->uuid));
    return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char pre[] =
        "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\",\"spec\":{"
        "\"data\":{\"hash\":{\"algorithm\":\"sha256\",\"value\":\"00\"}},"
        "\"signature\":{\"content\":\"AA==\",\"publicKey\":{\"content\":\"";
    static const char post[] = "\"}}}}";
    struct policy *p = fuzz_policy();
    struct entry *e;
    char err[ENTRY_ERR_LEN];
    char *wrapped;
    size_t b64cap, n;
    long b64len;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    /* 1. The input as a body. */
    e = fuzz_entry(data, size);
    fuzz_eval(p, e, 3);
    entry_free(e);
    /* 2. The input as an API entry element. */
    e = entry_parse((const char *)data, size, err, sizeof(err));
    if (e != NULL) {
        fuzz_eval(p, e, e->log_index);
        entry_free(e);
    }
    /* 3. The input as a verifier of a hashedrekord body. */
    b64cap = (size + 2) / 3 * 4 + 1;
    wrapped = malloc(sizeof(pre) + b64cap + sizeof(post));
    if (wrapped == NULL) {
        abort();
    }
    memcpy(wrapped, pre, sizeof(pre) - 1);
    b64len = merkle_b64_encode(data, size, wrapped + sizeof(pre) - 1, b64cap);
    if (b64len >= 0) {
        n = sizeof(pre) - 1 + (size_t)b64len;
        memcpy(wrapped + n, post, sizeof(post) - 1);
        n += sizeof(post) - 1;
        e = fuzz_entry((const uint8_t *)wrapped, n);
        fuzz_eval(p, e, 4);
        entry_free(e);
    }
    free(wrapped);
    /* 4. The input as a CT MerkleTreeLeaf. */
    fuzz_eval_ct(p, data, size);
    /* 5. The input as the certificate of an x509_entry leaf. */
    if (size < (1u << 24)) {
        uint8_t *leaf = malloc(size + 17);
        if (leaf == NULL) {
            abort();
        }
        memset(leaf, 0, 12); /* v1, timestamped_entry, ts 0, x509_entry */
        leaf[12] = (uint8_t)(size >> 16);
        leaf[13] = (uint8_t)(size >> 8);
        leaf[14] = (uint8_t)size;
        memcpy(leaf + 15, data, size);
        leaf[15 + size] = 0; /* no extensions */
        leaf[16 + size] = 0;
        fuzz_eval_ct(p, leaf, size + 17);
        free(leaf);
    }
    return 0;
}
