/*
 * test_bundle.c: monitor/bundle against every Sigstore bundle described by
 * $TLOGWATCH_TESTDATA/rekor/bundles/INDEX.json (rekor/bundles/valid,
 * rekor/bundles/invalid and the rekor-v2 bundles).
 *
 * Expected values come from INDEX.json at run time: media type, kind and
 * version, log index, proof index, tree size, number of proof hashes, SET
 * and checkpoint presence, integrated time, checkpoint origin, and which
 * check must pass or fail (helperResults).  Log keys come from the
 * trusted roots in the data, chosen by log id.  Negative twins: a body
 * byte, a proof hash, the root, the SET or the checkpoint signature
 * changed in a valid bundle fails the checks that depend on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/identity/bundle.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/fulcio.h"

static const char *const roots[] = {
    "fulcio/trusted_root.json",
    "rekor-v2/staging-trusted_root.json",
    "rekor-v2/staging-trusted_root-alpha3.json",
};
#define NROOTS (sizeof(roots) / sizeof(roots[0]))

enum { C_INCLUSION, C_CHECKPOINT, C_SET, NCHECKS };

static char *
td_path(const char *rel)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char *p;

    assert_non_null(base);
    p = malloc(strlen(base) + strlen(rel) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", base, rel);
    return p;
}

static char *
read_rel(const char *rel, size_t *len)
{
    char *path = td_path(rel), *buf;
    FILE *f = fopen(path, "rb");
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    free(path);
    *len = (size_t)n;
    return buf;
}

static json_t *
load_index(void)
{
    size_t len;
    char *buf = read_rel("rekor/bundles/INDEX.json", &len);
    json_t *idx = json_loadb(buf, len, 0, NULL);

    free(buf);
    assert_non_null(idx);
    assert_true(json_object_size(json_object_get(idx, "bundles")) >= 10);
    return idx;
}

struct fixture {
    json_t *index;
    struct config_trusted_root *roots[NROOTS];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    size_t i;

    if (f == NULL) {
        return -1;
    }
    f->index = load_index();
    for (i = 0; i < NROOTS; i++) {
        char *p = td_path(roots[i]);
        f->roots[i] = config_trusted_root_load(p, err, sizeof(err));
        free(p);
        if (f->roots[i] == NULL) {
            return -1;
        }
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    size_t i;

    for (i = 0; i < NROOTS; i++) {
        config_trusted_root_free(f->roots[i]);
    }
    json_decref(f->index);
    free(f);
    return 0;
}

/* The log key for e from the first trusted root that has its log id. */
static int
key_for(const struct fixture *f, const struct entry *e, struct entry_log_key *k)
{
    size_t i;

    for (i = 0; i < NROOTS; i++) {
        const struct config_log_key *lk =
            config_trusted_root_find_tlog(f->roots[i], e->log_id);
        if (lk != NULL && lk->pkey != NULL) {
            k->pkey = lk->pkey;
            k->name = lk->signer_name;
            return 0;
        }
    }
    return -1;
}

static enum entry_verdict
run_check(const struct entry *e, const struct entry_log_key *k, int which)
{
    struct entry_check c;

    memset(&c, 0x5a, sizeof(c));
    switch (which) {
    case C_INCLUSION:
        entry_check_inclusion(e, &c);
        break;
    case C_CHECKPOINT:
        entry_check_checkpoint(e, k, &c);
        break;
    default:
        entry_check_set(e, k, &c);
        break;
    }
    if (c.verdict != ENTRY_CHECK_OK) {
        assert_true(c.reason[0] != '\0');
    }
    return c.verdict;
}

static struct bundle *
parse_rel(const char *rel)
{
    char err[ENTRY_ERR_LEN] = "", *buf;
    size_t len;
    struct bundle *b;

    buf = read_rel(rel, &len);
    b = bundle_parse(buf, len, err, sizeof(err));
    free(buf);
    if (b == NULL) {
        fail_msg("%s: %s", rel, err);
    }
    return b;
}

static int
idx_true(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

/* What INDEX.json says each check must give: 0 ok, 1 failed, 2 skipped. */
static void
index_expect(const json_t *fact, int want[NCHECKS])
{
    const json_t *hr = json_object_get(fact, "helperResults");
    const json_t *sigs = json_object_get(hr, "checkpointSignatures");
    const char *origin =
        json_string_value(json_object_get(fact, "checkpointOrigin"));
    size_t i, nlen = origin ? strcspn(origin, " ") : 0;

    want[C_INCLUSION] =
        json_is_null(json_object_get(fact, "proofLogIndex")) ? 2 : 0;
    want[C_CHECKPOINT] = idx_true(fact, "hasCheckpoint") ? 0 : 2;
    want[C_SET] = idx_true(fact, "hasSET") ? 0 : 2;
    if (json_is_false(json_object_get(hr, "leafHashToRoot")) ||
        json_is_false(json_object_get(hr, "checkpointSizeAndRootMatchProof"))) {
        want[C_INCLUSION] = 1;
    }
    for (i = 0; i < json_array_size(sigs); i++) {
        const json_t *s = json_array_get(sigs, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        /* the log's own line; witness lines are ignored by design */
        if (name == NULL || strlen(name) != nlen ||
            strncmp(name, origin, nlen) != 0) {
            continue;
        }
        if (json_is_false(json_object_get(s, "sigValid")) ||
            json_is_false(json_object_get(s, "hintMatchesLogId"))) {
            want[C_CHECKPOINT] = 1;
        }
    }
    if (json_is_false(json_object_get(hr, "SET"))) {
        want[C_SET] = 1;
    }
}

/* Every INDEX.json bundle decodes to the facts INDEX.json states. */
static void
test_bundles_decode(void **state)
{
    struct fixture *f = *state;
    const json_t *bundles = json_object_get(f->index, "bundles");
    const char *rel;
    json_t *fact;

    json_object_foreach((json_t *)bundles, rel, fact)
    {
        struct bundle *b = parse_rel(rel);
        struct entry *e = b->entry;
        struct entry_body *body;
        char err[ENTRY_ERR_LEN], kv[64];
        const json_t *v;

        /* media type, and its version */
        assert_string_equal(b->media_type, json_string_value(json_object_get(
                                               fact, "mediaType")));
        assert_int_equal(b->version, strstr(b->media_type, "0.1") ? BUNDLE_V0_1
                                     : strstr(b->media_type, "0.2")
                                         ? BUNDLE_V0_2
                                         : BUNDLE_V0_3);
        /* kind/version: both the bundle's kindVersion and the body's */
        snprintf(kv, sizeof(kv), "%s/%s", b->kind, b->kind_version);
        assert_string_equal(kv,
                            json_string_value(json_object_get(fact, "kind")));
        body = entry_body_decode(e->body, e->body_len, err, sizeof(err));
        if (body == NULL) {
            fail_msg("%s: body: %s", rel, err);
        }
        snprintf(kv, sizeof(kv), "%s/%s", body->kind, body->api_version);
        assert_string_equal(kv,
                            json_string_value(json_object_get(fact, "kind")));
        entry_body_free(body);
        /* the leaf hash, computed independently from the JSON string */
        {
            json_t *doc;
            const char *cb;
            size_t blen, dlen, pad = 0;
            unsigned char *raw, md[32];
            char *buf = read_rel(rel, &blen);

            doc = json_loadb(buf, blen, 0, NULL);
            assert_non_null(doc);
            cb = json_string_value(json_object_get(
                json_array_get(json_object_get(
                                   json_object_get(doc, "verificationMaterial"),
                                   "tlogEntries"),
                               0),
                "canonicalizedBody"));
            assert_non_null(cb);
            dlen = strlen(cb);
            pad = (dlen > 0 && cb[dlen - 1] == '=') +
                  (dlen > 1 && cb[dlen - 2] == '=');
            raw = malloc(dlen / 4 * 3 + 2);
            assert_non_null(raw);
            raw[0] = 0x00;
            assert_int_equal(
                EVP_DecodeBlock(raw + 1, (const unsigned char *)cb, (int)dlen),
                (int)(dlen / 4 * 3));
            SHA256(raw, dlen / 4 * 3 - pad + 1, md);
            assert_memory_equal(md, e->leaf_hash, 32);
            free(raw);
            json_decref(doc);
            free(buf);
        }
        /* indexes, sizes, presence */
        assert_int_equal(e->log_index,
                         json_integer_value(json_object_get(fact, "logIndex")));
        v = json_object_get(fact, "proofLogIndex");
        assert_int_equal(e->has_proof, !json_is_null(v));
        if (e->has_proof) {
            assert_int_equal(e->proof.index, json_integer_value(v));
            assert_int_equal(e->proof.size, json_integer_value(json_object_get(
                                                fact, "treeSize")));
        }
        assert_int_equal(e->proof.nhashes, json_integer_value(json_object_get(
                                               fact, "proofHashes")));
        assert_int_equal(e->set != NULL, idx_true(fact, "hasSET"));
        assert_int_equal(e->has_proof && e->proof.checkpoint != NULL,
                         idx_true(fact, "hasCheckpoint"));
        v = json_object_get(fact, "integratedTime");
        assert_int_equal(e->has_integrated_time, !json_is_null(v));
        if (e->has_integrated_time) {
            assert_int_equal(e->integrated_time, json_integer_value(v));
        }
        /* the checkpoint origin */
        v = json_object_get(fact, "checkpointOrigin");
        if (!json_is_null(v)) {
            struct merkle_note_result nr;
            struct merkle_checkpoint cp;
            assert_int_equal(merkle_note_parse(e->proof.checkpoint,
                                               e->proof.checkpoint_len, &nr),
                             MERKLE_OK);
            assert_int_equal(
                merkle_checkpoint_parse(e->proof.checkpoint, nr.text_len, &cp),
                MERKLE_OK);
            assert_string_equal(cp.origin, json_string_value(v));
        }
        /* a bundle has no uuid: that check is skipped */
        {
            struct entry_check c;
            entry_check_uuid(e, &c);
            assert_int_equal(c.verdict, ENTRY_CHECK_SKIPPED);
        }
        /* every bundle here carries its signing certificate */
        assert_true(b->ncerts >= 1);
        assert_false(b->has_public_key);
        bundle_free(b);
    }
}

/* Each check gives what INDEX.json says, with the log's trusted key. */
static void
test_bundles_verify(void **state)
{
    struct fixture *f = *state;
    const json_t *bundles = json_object_get(f->index, "bundles");
    const char *rel;
    json_t *fact;
    size_t nfail = 0, npass = 0;

    json_object_foreach((json_t *)bundles, rel, fact)
    {
        struct bundle *b = parse_rel(rel);
        struct entry_log_key k;
        int want[NCHECKS], c, failed = 0;

        if (key_for(f, b->entry, &k) != 0) {
            fail_msg("%s: no trusted root has its log id", rel);
        }
        index_expect(fact, want);
        for (c = 0; c < NCHECKS; c++) {
            enum entry_verdict got = run_check(b->entry, &k, c);
            int g = got == ENTRY_CHECK_OK       ? 0
                    : got == ENTRY_CHECK_FAILED ? 1
                                                : 2;
            if (g != want[c]) {
                fail_msg("%s: check %d gave %d, INDEX.json says %d", rel, c, g,
                         want[c]);
            }
            failed |= g == 1;
        }
        /* exactly the INDEX verdict: FAIL bundles fail, PASS ones do not */
        assert_int_equal(
            failed, strcmp(json_string_value(json_object_get(fact, "expected")),
                           "FAIL") == 0);
        nfail += (size_t)failed;
        npass += (size_t)!failed;
        /* twin: without a key the signature checks are skipped */
        assert_int_equal(run_check(b->entry, NULL, C_CHECKPOINT),
                         ENTRY_CHECK_SKIPPED);
        assert_int_equal(run_check(b->entry, NULL, C_SET), ENTRY_CHECK_SKIPPED);
        bundle_free(b);
    }
    assert_true(nfail >= 6);
    assert_true(npass >= 10);
}

/* One changed byte in a valid bundle fails the dependent checks. */
static void
test_bundles_tampered(void **state)
{
    struct fixture *f = *state;
    const json_t *bundles = json_object_get(f->index, "bundles");
    const char *rel;
    json_t *fact;

    json_object_foreach((json_t *)bundles, rel, fact)
    {
        struct bundle *b;
        struct entry *e;
        struct entry_log_key k;
        char *sig, saved;

        if (strcmp(json_string_value(json_object_get(fact, "expected")),
                   "PASS") != 0) {
            continue;
        }
        b = parse_rel(rel);
        e = b->entry;
        assert_int_equal(key_for(f, e, &k), 0);
        /* a body byte: the proof (if any) and the SET (if any) fail */
        e->body[e->body_len / 3] ^= 0x04;
        entry_compute_leaf(e);
        if (e->has_proof) {
            assert_int_equal(run_check(e, &k, C_INCLUSION), ENTRY_CHECK_FAILED);
        }
        if (e->set != NULL) {
            assert_int_equal(run_check(e, &k, C_SET), ENTRY_CHECK_FAILED);
        }
        e->body[e->body_len / 3] ^= 0x04;
        entry_compute_leaf(e);
        if (e->has_proof) {
            /* a proof hash, the root */
            if (e->proof.nhashes > 0) {
                e->proof.hashes[0][0] ^= 0x01;
                assert_int_equal(run_check(e, &k, C_INCLUSION),
                                 ENTRY_CHECK_FAILED);
                e->proof.hashes[0][0] ^= 0x01;
            }
            e->proof.root[5] ^= 0x10;
            assert_int_equal(run_check(e, &k, C_INCLUSION), ENTRY_CHECK_FAILED);
            e->proof.root[5] ^= 0x10;
            assert_int_equal(run_check(e, &k, C_INCLUSION), ENTRY_CHECK_OK);
        }
        if (e->set != NULL) {
            e->set[e->set_len / 2] ^= 0x01;
            assert_int_equal(run_check(e, &k, C_SET), ENTRY_CHECK_FAILED);
            e->set[e->set_len / 2] ^= 0x01;
            assert_int_equal(run_check(e, &k, C_SET), ENTRY_CHECK_OK);
        }
        if (e->has_proof && e->proof.checkpoint != NULL) {
            /* the log's signature line is the first one */
            sig = strstr(e->proof.checkpoint, "\n\n\xe2\x80\x94 ");
            assert_non_null(sig);
            sig = strchr(sig + 6, ' ');
            assert_non_null(sig);
            saved = sig[12];
            sig[12] = saved == 'A' ? 'B' : 'A';
            assert_int_equal(run_check(e, &k, C_CHECKPOINT),
                             ENTRY_CHECK_FAILED);
            sig[12] = saved;
            assert_int_equal(run_check(e, &k, C_CHECKPOINT), ENTRY_CHECK_OK);
        }
        bundle_free(b);
    }
}

/* The verification material's leaf certificate is the one INDEX'd in
 * fulcio/leaf/extensions-decoded.json for this bundle. */
static void
test_bundle_certificates(void **state)
{
    size_t len;
    char *buf = read_rel("fulcio/leaf/extensions-decoded.json", &len);
    json_t *doc = json_loadb(buf, len, 0, NULL);
    const char *pem;
    json_t *c;
    size_t n = 0;

    (void)state;
    assert_non_null(doc);
    json_object_foreach(json_object_get(doc, "certs"), pem, c)
    {
        const char *from = json_string_value(json_object_get(c, "fromBundle"));
        char rel[256], *pbuf;
        size_t plen;
        BIO *bio;
        X509 *x;
        unsigned char *der = NULL;
        int dlen;
        struct bundle *b;

        snprintf(rel, sizeof(rel), "fulcio/leaf/%s", pem);
        pbuf = read_rel(rel, &plen);
        bio = BIO_new_mem_buf(pbuf, (int)plen);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        assert_non_null(x);
        dlen = i2d_X509(x, &der);
        assert_true(dlen > 0);
        b = parse_rel(from);
        assert_int_equal(b->certs[0].len, (size_t)dlen);
        assert_memory_equal(b->certs[0].der, der, (size_t)dlen);
        /* twin: the chain's other certificates are not the leaf */
        if (b->ncerts > 1) {
            assert_false(b->certs[1].len == (size_t)dlen &&
                         memcmp(b->certs[1].der, der, (size_t)dlen) == 0);
        }
        bundle_free(b);
        OPENSSL_free(der);
        X509_free(x);
        free(pbuf);
        n++;
    }
    assert_true(n >= 9);
    json_decref(doc);
    free(buf);
}

/* The bundle's certificate is the logged one; another one is not. */
static void
test_bundle_certificate_logged(void **state)
{
    struct fixture *f = *state;
    const json_t *bundles = json_object_get(f->index, "bundles");
    const char *rel;
    json_t *fact;
    struct bundle *prev = NULL;
    char err[ENTRY_ERR_LEN];
    size_t n = 0;

    json_object_foreach((json_t *)bundles, rel, fact)
    {
        struct bundle *b = parse_rel(rel);
        struct entry_body *body;
        struct entry_check c;
        struct entry_blob saved;

        body = entry_body_decode(b->entry->body, b->entry->body_len, err,
                                 sizeof(err));
        assert_non_null(body);
        bundle_check_certificate(b, body, &c);
        assert_int_equal(c.verdict, ENTRY_CHECK_OK);
        /* twin: the previous bundle's certificate in its place */
        if (prev != NULL && (prev->certs[0].len != b->certs[0].len ||
                             memcmp(prev->certs[0].der, b->certs[0].der,
                                    b->certs[0].len) != 0)) {
            saved = b->certs[0];
            b->certs[0] = prev->certs[0];
            bundle_check_certificate(b, body, &c);
            assert_int_equal(c.verdict, ENTRY_CHECK_FAILED);
            assert_true(c.reason[0] != '\0');
            b->certs[0] = saved;
            n++;
        }
        /* nothing to compare with: skipped, with a reason */
        bundle_check_certificate(b, NULL, &c);
        assert_int_equal(c.verdict, ENTRY_CHECK_SKIPPED);
        assert_true(c.reason[0] != '\0');
        entry_body_free(body);
        bundle_free(prev);
        prev = b;
    }
    bundle_free(prev);
    assert_true(n >= 5);
}

/* A valid bundle with one field replaced must be refused. */
static void
test_bundle_malformed(void **state)
{
    static const struct {
        const char *path; /* '/'-separated, numbers index arrays */
        const char *value;
    } bad[] = {
        {"mediaType", "\"application/vnd.dev.sigstore.bundle+json;version=9\""},
        {"mediaType", "3"},
        {"verificationMaterial", "null"},
        {"verificationMaterial/tlogEntries", "[]"},
        {"verificationMaterial/tlogEntries/0/logIndex", "\"abc\""},
        {"verificationMaterial/tlogEntries/0/logIndex",
         "\"18446744073709551616\""},
        {"verificationMaterial/tlogEntries/0/logIndex", "\"0012\""},
        {"verificationMaterial/tlogEntries/0/logIndex",
         "\"9223372036854775808\""},
        {"verificationMaterial/tlogEntries/0/logIndex", "-4"},
        {"verificationMaterial/tlogEntries/0/logId/keyId", "\"AAAA\""},
        {"verificationMaterial/tlogEntries/0/kindVersion", "{}"},
        {"verificationMaterial/tlogEntries/0/integratedTime", "\"x\""},
        {"verificationMaterial/tlogEntries/0/inclusionPromise", "{}"},
        {"verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
         "\"%%%%\""},
        {"verificationMaterial/tlogEntries/0/inclusionProof/rootHash",
         "\"AAAA\""},
        {"verificationMaterial/tlogEntries/0/inclusionProof/treeSize",
         "\"1e9\""},
        {"verificationMaterial/tlogEntries/0/inclusionProof/checkpoint",
         "{\"envelope\": 5}"},
        {"verificationMaterial/tlogEntries/0/canonicalizedBody", "\"!\""},
        {"verificationMaterial/tlogEntries/0/canonicalizedBody", "null"},
        {"verificationMaterial/x509CertificateChain/certificates/0/rawBytes",
         "\"!!\""},
        {"verificationMaterial/x509CertificateChain/certificates", "{}"},
    };
    const char *rel = "rekor/bundles/valid/gha-hashedrekord-rfc8785py."
                      "sigstore.json";
    size_t len, i;
    char *buf = read_rel(rel, &len), err[ENTRY_ERR_LEN];
    struct bundle *b;

    (void)state;
    /* the unmodified bundle parses, also from a parsed document */
    b = bundle_parse(buf, len, err, sizeof(err));
    assert_non_null(b);
    bundle_free(b);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *doc = json_loadb(buf, len, 0, NULL), *o = doc, *nv;
        char path[256], *tok, *save = NULL, *last = NULL;

        assert_non_null(doc);
        snprintf(path, sizeof(path), "%s", bad[i].path);
        for (tok = strtok_r(path, "/", &save); tok != NULL;
             tok = strtok_r(NULL, "/", &save)) {
            if (last != NULL) {
                o = json_is_array(o) ? json_array_get(o, (size_t)atoi(last))
                                     : json_object_get(o, last);
                assert_non_null(o);
            }
            last = tok;
        }
        nv = json_loads(bad[i].value, JSON_DECODE_ANY, NULL);
        assert_non_null(nv);
        if (json_is_array(o)) {
            assert_int_equal(json_array_set_new(o, (size_t)atoi(last), nv), 0);
        } else {
            assert_int_equal(json_object_set_new(o, last, nv), 0);
        }
        err[0] = '\0';
        b = bundle_from_json(doc, err, sizeof(err));
        if (b != NULL) {
            bundle_free(b);
            fail_msg("accepted: %s = %s", bad[i].path, bad[i].value);
        }
        assert_true(err[0] != '\0');
        json_decref(doc);
    }
    /* not JSON, truncated, too large, not a bundle */
    assert_null(bundle_parse(buf, len / 2, err, sizeof(err)));
    assert_null(bundle_parse("[]", 2, err, sizeof(err)));
    assert_null(bundle_parse(buf, ENTRY_MAX_JSON + 1, err, sizeof(err)));
    {
        json_t *d = json_loads("{\"mediaType\": \"x\"}", 0, NULL);
        assert_false(bundle_is_bundle(d));
        json_decref(d);
        d = json_loadb(buf, len, 0, NULL);
        assert_true(bundle_is_bundle(d));
        json_decref(d);
    }
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundles_decode),
        cmocka_unit_test(test_bundles_verify),
        cmocka_unit_test(test_bundles_tampered),
        cmocka_unit_test(test_bundle_certificates),
        cmocka_unit_test(test_bundle_certificate_logged),
        cmocka_unit_test(test_bundle_malformed),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
