/*
 * test_verify_ct.c: `tlogwatch verify sth` and `verify evidence` (cli_verify,
 * in process) over RFC 6962 tree heads signed here with a fresh P-256
 * key, listed under ctlogs in a copy of the real trusted root
 * (../shared/testdata/fulcio/trusted_root.json) written to a temporary
 * directory.  Each alert type's evidence is checked as the daemon writes
 * it (exit 0), and its tampered or forged twins are refused (exit 1);
 * malformed input is exit 2.  Real trees: the roots and the consistency
 * proof of sizes 2 -> 3 are computed with merkle/ from three leaves; and
 * the real tree heads of Go's CT library (tests/data/ct) under their key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "merkle/merkle.h"
#include "monitor/cli/cli.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/log.h"

struct fx {
    char dir[64];
    char root[128];  /* the trusted root with our ctlog */
    EVP_PKEY *key;   /* the CT log's key */
    EVP_PKEY *other; /* a key the trusted root does not know */
    uint8_t log_id[CTLEAF_HASH_LEN];
    uint8_t leaf[3][MERKLE_HASH_LEN];
    uint8_t r2[MERKLE_HASH_LEN], r3[MERKLE_HASH_LEN]; /* roots of 2, 3 */
    int n;                                            /* files written */
};

/* A file in the fixture's directory with text; its path (static slots). */
static const char *
fx_file(struct fx *x, const char *text)
{
    static char paths[64][160];
    char *p = paths[x->n++ % 64];
    FILE *f;

    snprintf(p, 160, "%s/f%d", x->dir, x->n);
    f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    fclose(f);
    return p;
}

/* STH evidence text of (size, ts, root) signed with k; new. */
static char *
head(struct fx *x, EVP_PKEY *k, uint64_t size, uint64_t ts,
     const uint8_t root[MERKLE_HASH_LEN])
{
    struct ctleaf_sth s;
    uint8_t tbs[CTLEAF_STH_TBS_LEN], sig[256];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    char ev[CTLEAF_EVIDENCE_MAX];

    memset(&s, 0, sizeof(s));
    s.tree_size = size;
    s.timestamp = ts;
    memcpy(s.root_hash, root, MERKLE_HASH_LEN);
    ctleaf_sth_signed_data(&s, tbs);
    assert_true(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1);
    assert_true(EVP_DigestSign(c, sig, &siglen, tbs, sizeof(tbs)) == 1);
    EVP_MD_CTX_free(c);
    s.tls_sig[0] = 4;
    s.tls_sig[1] = 3;
    s.tls_sig[2] = (uint8_t)(siglen >> 8);
    s.tls_sig[3] = (uint8_t)siglen;
    memcpy(s.tls_sig + 4, sig, siglen);
    s.tls_sig_len = siglen + 4;
    assert_true(ctleaf_sth_evidence(&s, x->log_id, ev, sizeof(ev)) > 0);
    return strdup(ev);
}

/* An alert of type with evidence members (NULL values left out); the
 * path of its file. */
static const char *
alert(struct fx *x, const char *type, const char *old, const char *new_,
      json_t *extra)
{
    json_t *a = json_object(), *e = extra != NULL ? extra : json_object();
    char *text;
    const char *p;

    if (old != NULL) {
        json_object_set_new(e, "old_checkpoint", json_string(old));
    }
    if (new_ != NULL) {
        json_object_set_new(e, "new_checkpoint", json_string(new_));
    }
    json_object_set_new(a, "schema", json_string("tlogwatch.alert/v1"));
    json_object_set_new(a, "type", json_string(type));
    json_object_set_new(a, "evidence", e);
    text = json_dumps(a, JSON_COMPACT);
    p = fx_file(x, text);
    free(text);
    json_decref(a);
    return p;
}

static int
run(struct fx *x, const char *sub, const char *file)
{
    char *argv[] = {"verify", (char *)sub,  "--trusted-root",
                    x->root,  (char *)file, NULL};

    fflush(stdout);
    return cli_verify(5, argv);
}

/* The file rel under $TLOGWATCH_SRC, NUL-terminated, new. */
static char *
src_file(const char *rel, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", getenv("TLOGWATCH_SRC"), rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Append a ctlogs entry for the PEM key rel (under $TLOGWATCH_SRC). */
static void
add_ctlog(json_t *doc, const char *rel, const char *url)
{
    size_t n;
    char *pem = src_file(rel, &n), r64[512], i64[64];
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    unsigned char *spki = NULL;
    int len;
    uint8_t id[32];

    assert_non_null(k);
    len = i2d_PUBKEY(k, &spki);
    assert_true(len > 0);
    SHA256(spki, (size_t)len, id);
    assert_true(merkle_b64_encode(spki, (size_t)len, r64, sizeof(r64)) > 0);
    assert_true(merkle_b64_encode(id, 32, i64, sizeof(i64)) > 0);
    assert_int_equal(
        json_array_append_new(
            json_object_get(doc, "ctlogs"),
            json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "baseUrl",
                      url, "hashAlgorithm", "SHA2_256", "publicKey", "rawBytes",
                      r64, "keyDetails", "PKIX_ECDSA_P256_SHA_256", "validFor",
                      "start", "2021-01-01T00:00:00Z", "logId", "keyId", i64)),
        0);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    BIO_free(b);
    free(pem);
}

static int
fx_setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    unsigned char *spki = NULL;
    int n;
    char path[4096], *r64, *i64, *text;
    json_t *doc, *log;
    json_error_t jerr;
    struct merkle_range r;
    uint8_t id[32];
    size_t i;

    assert_non_null(x);
    snprintf(x->dir, sizeof(x->dir), "/tmp/tlw-verify-ct.XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    x->key = EVP_EC_gen("P-256");
    x->other = EVP_EC_gen("P-256");
    assert_non_null(x->key);
    assert_non_null(x->other);
    n = i2d_PUBKEY(x->key, &spki);
    assert_true(n > 0);
    SHA256(spki, (size_t)n, x->log_id);
    memcpy(id, x->log_id, 32);
    r64 = NULL;
    {
        size_t cap = ((size_t)n + 2) / 3 * 4 + 1;
        r64 = malloc(cap);
        i64 = malloc(64);
        assert_true(merkle_b64_encode(spki, (size_t)n, r64, cap) > 0);
        assert_true(merkle_b64_encode(id, 32, i64, 64) > 0);
    }
    snprintf(path, sizeof(path), "%s/fulcio/trusted_root.json",
             getenv("TLOGWATCH_TESTDATA"));
    doc = json_load_file(path, 0, &jerr);
    assert_non_null(doc);
    log = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "baseUrl",
                    "https://ct.example", "hashAlgorithm", "SHA2_256",
                    "publicKey", "rawBytes", r64, "keyDetails",
                    "PKIX_ECDSA_P256_SHA_256", "validFor", "start",
                    "2021-01-01T00:00:00Z", "logId", "keyId", i64);
    assert_non_null(log);
    assert_int_equal(json_array_append_new(json_object_get(doc, "ctlogs"), log),
                     0);
    add_ctlog(doc, "tests/data/ct/witness_m.pub", "https://ct-m.example");
    text = json_dumps(doc, JSON_COMPACT);
    snprintf(x->root, sizeof(x->root), "%s", fx_file(x, text));
    free(text);
    json_decref(doc);
    free(r64);
    free(i64);
    OPENSSL_free(spki);

    merkle_range_init(&r);
    for (i = 0; i < 3; i++) {
        uint8_t data[1] = {(uint8_t)i};
        merkle_leaf_hash(data, 1, x->leaf[i]);
        assert_int_equal(merkle_range_append(&r, x->leaf[i]), MERKLE_OK);
        if (i == 1) {
            merkle_range_root(&r, x->r2);
        }
    }
    merkle_range_root(&r, x->r3);
    *state = x;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *x = *state;
    char cmd[128];

    EVP_PKEY_free(x->key);
    EVP_PKEY_free(x->other);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
    (void)system(cmd);
    free(x);
    return 0;
}

/* verify sth: a head signed by the log (0), by another key or altered
 * (1), not a head (2). */
static void
test_sth(void **state)
{
    struct fx *x = *state;
    char *h = head(x, x->key, 3, 1000, x->r3);
    char *o = head(x, x->other, 3, 1000, x->r3);
    char *t = strdup(h), *p;

    assert_int_equal(run(x, "sth", fx_file(x, h)), 0);
    assert_int_equal(run(x, "sth", fx_file(x, o)), 1);
    p = strstr(t, "\"tree_size\":3");
    p[12] = '4';
    assert_int_equal(run(x, "sth", fx_file(x, t)), 1);
    assert_int_equal(run(x, "sth", fx_file(x, "{\"tree_size\":3}")), 2);
    assert_int_equal(run(x, "sth", fx_file(x, "origin\n3\nAAAA\n")), 2);
    free(h);
    free(o);
    free(t);
}

/* log.inconsistent: same size, other roots (0); same root (1); a larger
 * head whose proof fails (0), or holds (1: consistent); 2^64 - 1 (0);
 * a head re-signed by another key (1); heads of two logs (1). */
static void
test_inconsistent(void **state)
{
    struct fx *x = *state;
    uint8_t other[MERKLE_HASH_LEN];
    char *a2 = head(x, x->key, 2, 1000, x->r2);
    char *a3 = head(x, x->key, 3, 2000, x->r3), *b3, *big, *forged;
    json_t *ev;
    char hex[2 * MERKLE_HASH_LEN + 1];

    memset(other, 0x42, sizeof(other));
    b3 = head(x, x->key, 3, 2500, other);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a3, b3, NULL)), 0);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a3, a3, NULL)), 1);
    /* 2 -> 3: the true proof is [leaf 2] (it links: exit 1); a log
     * that sent another hash ([leaf 1]) did not prove it (exit 0) */
    ev = json_object();
    assert_true(merkle_hex_encode(x->leaf[2], 32, hex, sizeof(hex)) > 0);
    json_object_set_new(ev, "proof", json_pack("[s]", hex));
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a2, a3, ev)), 1);
    ev = json_object();
    assert_true(merkle_hex_encode(x->leaf[1], 32, hex, sizeof(hex)) > 0);
    json_object_set_new(ev, "proof", json_pack("[s]", hex));
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a2, a3, ev)), 0);
    /* a head of size 2^64 - 1 needs no old head */
    big = head(x, x->key, UINT64_MAX, 3000, other);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", NULL, big, NULL)), 0);
    /* the same claim signed by a key the trusted root does not have */
    forged = head(x, x->other, UINT64_MAX, 3000, other);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", NULL, forged, NULL)),
        1);
    free(forged);
    forged = head(x, x->other, 3, 2500, other);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a3, forged, NULL)), 1);
    /* malformed: the proof is not hex, or no new head */
    ev = json_pack("{s:[s]}", "proof", "zz");
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a2, a3, ev)), 2);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", a2, NULL, NULL)), 2);
    free(a2);
    free(a3);
    free(b3);
    free(big);
    free(forged);
}

/* log.rollback: smaller and not older (0); swapped (1); the smaller one
 * older by its signed timestamp (1). */
static void
test_rollback(void **state)
{
    struct fx *x = *state;
    char *a3 = head(x, x->key, 3, 2000, x->r3);
    char *a2 = head(x, x->key, 2, 2001, x->r2);
    char *a2old = head(x, x->key, 2, 1000, x->r2);

    assert_int_equal(run(x, "evidence", alert(x, "log.rollback", a3, a2, NULL)),
                     0);
    assert_int_equal(run(x, "evidence", alert(x, "log.rollback", a2, a3, NULL)),
                     1);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.rollback", a3, a2old, NULL)), 1);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.rollback", NULL, a2, NULL)), 2);
    free(a3);
    free(a2);
    free(a2old);
}

/* log.bad_signature: a head the log's key does not verify (0); one it
 * does (1). */
static void
test_bad_signature(void **state)
{
    struct fx *x = *state;
    char *good = head(x, x->key, 3, 2000, x->r3);
    char *bad = head(x, x->other, 3, 2000, x->r3);

    assert_int_equal(
        run(x, "evidence", alert(x, "log.bad_signature", NULL, bad, NULL)), 0);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.bad_signature", good, bad, NULL)), 0);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.bad_signature", NULL, good, NULL)), 1);
    free(good);
    free(bad);
}

/* log.entries_mismatch and log.entries_withheld: the signed head and
 * what it covers. */
static void
test_mismatch_withheld(void **state)
{
    struct fx *x = *state;
    char *h = head(x, x->key, 3, 2000, x->r3), *o;
    char hex[2 * MERKLE_HASH_LEN + 1], rhex[2 * MERKLE_HASH_LEN + 1];
    json_t *ev;

    assert_true(merkle_hex_encode(x->r2, 32, hex, sizeof(hex)) > 0);
    assert_true(merkle_hex_encode(x->r3, 32, rhex, sizeof(rhex)) > 0);
    ev = json_pack("{s:s, s:i}", "computed_root", hex, "size", 3);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_mismatch", h, NULL, ev)), 0);
    ev = json_pack("{s:s, s:i}", "computed_root", rhex, "size", 3);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_mismatch", h, NULL, ev)), 1);
    ev = json_pack("{s:s, s:i}", "computed_root", hex, "size", 4);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_mismatch", h, NULL, ev)), 1);
    o = head(x, x->other, 3, 2000, x->r3);
    ev = json_pack("{s:s, s:i}", "computed_root", hex, "size", 3);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_mismatch", o, NULL, ev)), 1);

    ev = json_pack("{s:s, s:i}", "checkpoint", h, "log_index", 2);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_withheld", NULL, NULL, ev)),
        0);
    ev = json_pack("{s:s, s:i}", "checkpoint", h, "log_index", 3);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_withheld", NULL, NULL, ev)),
        1);
    ev = json_pack("{s:s, s:i}", "checkpoint", o, "log_index", 2);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_withheld", NULL, NULL, ev)),
        1);
    ev = json_pack("{s:s}", "checkpoint", h);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.entries_withheld", NULL, NULL, ev)),
        2);
    free(h);
    free(o);
}

/* Tree heads signed by another implementation (Go's CT library,
 * tests/data/ct, PROVENANCE.md) as a tlogwatch alert would carry them:
 * the get-sth answer with the log id of its key (witness_m, listed in the
 * fixture's trusted root). */
static char *
real_head(const char *rel, const char *id_hex)
{
    size_t n;
    char *sth = src_file(rel, &n), *ev;

    assert_int_equal(sth[0], '{');
    ev = malloc(n + 128);
    assert_non_null(ev);
    snprintf(ev, n + 128, "{\"ct_sth\":1,\"log_id\":\"%s\",%s", id_hex,
             sth + 1);
    free(sth);
    return ev;
}

static void
test_real_heads(void **state)
{
    struct fx *x = *state;
    size_t n;
    char *pem = src_file("tests/data/ct/witness_m.pub", &n), hex[65];
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    unsigned char *spki = NULL;
    uint8_t id[32];
    int len = i2d_PUBKEY(k, &spki);
    char *m5, *m8, *b5;
    json_t *ev;

    assert_true(len > 0);
    SHA256(spki, (size_t)len, id);
    assert_true(merkle_hex_encode(id, 32, hex, sizeof(hex)) > 0);
    m5 = real_head("tests/data/ct/sth_m_init.json", hex);
    m8 = real_head("tests/data/ct/sth_m_next.json", hex);
    b5 = real_head("tests/data/ct/sth_b_init.json", hex); /* key b's */

    assert_int_equal(run(x, "sth", fx_file(x, m5)), 0);
    assert_int_equal(run(x, "sth", fx_file(x, m8)), 0);
    assert_int_equal(run(x, "sth", fx_file(x, b5)), 1);
    /* 5 -> 8 with no proof: not proven consistent (exit 0) */
    ev = json_pack("{s:[]}", "proof");
    assert_int_equal(
        run(x, "evidence", alert(x, "log.inconsistent", m5, m8, ev)), 0);
    /* 8 then 5: the smaller head is the older (timestamp 0 < 1) */
    assert_int_equal(run(x, "evidence", alert(x, "log.rollback", m8, m5, NULL)),
                     1);
    /* key b's head under key m's log id does not verify */
    assert_int_equal(
        run(x, "evidence", alert(x, "log.bad_signature", m5, b5, NULL)), 0);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.bad_signature", m5, m8, NULL)), 1);
    free(m5);
    free(m8);
    free(b5);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    BIO_free(b);
    free(pem);
}

/* Not an alert, a type without tree heads, a Rekor note: exit 2. */
static void
test_malformed(void **state)
{
    struct fx *x = *state;

    assert_int_equal(run(x, "evidence", fx_file(x, "not json")), 2);
    assert_int_equal(
        run(x, "evidence", alert(x, "log.stale", NULL, NULL, NULL)), 2);
    assert_int_equal(run(x, "evidence",
                         alert(x, "log.rollback", "origin\n3\nAAAA\n",
                               "origin\n2\nAAAA\n", NULL)),
                     2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sth, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_inconsistent, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_rollback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_withheld, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_real_heads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, fx_setup, fx_teardown),
    };

    log_init(0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
