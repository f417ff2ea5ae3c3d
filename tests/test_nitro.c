/*
 * test_nitro.c: monitor/identity/nitro (AWS Nitro attestation documents)
 * against the two real documents of $TLOGWATCH_TESTDATA/nitro and against
 * documents minted here by a test CA shaped like AWS's
 * (tests/tools/nitro_mint.h), so that every refusal can be asked for.
 *
 * Expected field values are read at run time from attestation-decoded.json
 * (decoded by an independent decoder, see PROVENANCE.md there); base64 is
 * decoded here with OpenSSL's EVP_DecodeBlock, not the code under test.
 *
 *  - the shipped root's SHA-256 fingerprint is the one AWS publishes;
 *  - the valid real document parses to the decoded fields, its signature
 *    and its chain (to the shipped root, at its timestamp) verify, and it
 *    is debug mode; twins: the chain at a time outside the leaf's
 *    validity, and to a foreign root, fail;
 *  - the invalid real document parses, its chain verifies, its signature
 *    does not, and the reason names the signature;
 *  - every one-byte mutation (two bit flips per byte) and every
 *    truncation of the valid document is refused by the parser or fails
 *    the signature or the chain: none verifies, none crashes (ASan in CI);
 *  - minted documents: a good one verifies under the test root (and not
 *    the AWS root); tag 18 and a null optional field are accepted; each
 *    malformation of nitro_mint.h is refused with a reason naming it.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "monitor/identity/nitro.h"
#include "tests/tools/nitro_mint.h"

/*
 * The SHA-256 fingerprint of the AWS Nitro Enclaves Root G1 certificate as
 * AWS publishes it: "Verifying the root of trust", AWS Nitro Enclaves User
 * Guide, https://docs.aws.amazon.com/enclaves/latest/user/verify-root.html
 * (64:1A:03:21:...:79:BB:5B), also recorded in
 * ../shared/testdata/nitro/PROVENANCE.md, which this test reads too.
 */
static const char aws_root_g1_sha256[] =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

static char *
read_td(const char *rel, size_t *len)
{
    const char *base = getenv("TLOGWATCH_TESTDATA");
    char path[4096];
    FILE *f;
    char *buf;
    long n;

    assert_non_null(base);
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = (size_t)n;
    }
    return buf;
}

/* The real document name (attestation-debug-*.cose.b64) as raw CBOR. */
static uint8_t *
real_doc(const char *name, size_t *len)
{
    char rel[256];
    char *text;
    size_t tlen, pad = 0;
    uint8_t *out;
    int n;

    snprintf(rel, sizeof(rel), "nitro/%s", name);
    text = read_td(rel, &tlen);
    while (tlen > 0 && (text[tlen - 1] == '\n' || text[tlen - 1] == '\r')) {
        text[--tlen] = '\0';
    }
    out = malloc(tlen / 4 * 3 + 1);
    assert_non_null(out);
    n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)tlen);
    assert_true(n > 0);
    pad = (size_t)(tlen > 0 && text[tlen - 1] == '=') +
          (size_t)(tlen > 1 && text[tlen - 2] == '=');
    *len = (size_t)n - pad;
    free(text);
    return out;
}

static json_t *
decoded(const char *name)
{
    char *text = read_td("nitro/attestation-decoded.json", NULL);
    json_error_t jerr;
    json_t *all = json_loads(text, 0, &jerr), *d;

    free(text);
    assert_non_null(all);
    d = json_incref(json_object_get(json_object_get(all, "documents"), name));
    json_decref(all);
    assert_non_null(d);
    return d;
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    }
    out[2 * n] = '\0';
}

static X509 *
pem_x509(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x;

    assert_non_null(b);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static void
fingerprint(X509 *x, char out[65])
{
    uint8_t d[32];
    unsigned n = 0;

    assert_int_equal(X509_digest(x, EVP_sha256(), d, &n), 1);
    assert_int_equal(n, 32);
    hex(d, 32, out);
}

/* ---- the shipped root ------------------------------------------------ */

static void
test_root_fingerprint(void **state)
{
    X509 *shipped = nitro_root_default(), *td;
    char fp[65], fp_td[65], colon[96];
    char *prov, *pem;
    size_t i;

    (void)state;
    assert_non_null(shipped);
    fingerprint(shipped, fp);
    assert_string_equal(fp, aws_root_g1_sha256);
    /* The same certificate as the real one in testdata. */
    pem = read_td("nitro/aws-nitro-enclaves-root-G1.pem", NULL);
    td = pem_x509(pem);
    fingerprint(td, fp_td);
    assert_string_equal(fp_td, fp);
    /* And PROVENANCE.md records the same value, colon-separated. */
    prov = read_td("nitro/PROVENANCE.md", NULL);
    for (i = 0; i < 32; i++) {
        colon[3 * i] = (char)toupper((unsigned char)fp[2 * i]);
        colon[3 * i + 1] = (char)toupper((unsigned char)fp[2 * i + 1]);
        colon[3 * i + 2] = i < 31 ? ':' : '\0';
    }
    assert_non_null(strstr(prov, colon));
    /* A test root is not the AWS root. */
    {
        struct nitro_mint_ca *ca =
            nitro_mint_ca_new(0, 4102444800, 0, 4102444800);
        char fp_test[65];

        assert_non_null(ca);
        fingerprint(ca->cert[0], fp_test);
        assert_string_not_equal(fp_test, aws_root_g1_sha256);
        nitro_mint_ca_free(ca);
    }
    free(prov);
    free(pem);
    X509_free(td);
    X509_free(shipped);
}

/* ---- the real documents ---------------------------------------------- */

static void
check_fields(const struct nitro_doc *doc, const json_t *want)
{
    const json_t *pcrs = json_object_get(want, "pcrs_hex");
    const char *k;
    json_t *v;
    char h[2 * NITRO_USER_DATA_MAX + 1];
    uint32_t seen = 0;

    assert_string_equal(doc->module_id,
                        json_string_value(json_object_get(want, "module_id")));
    assert_int_equal(doc->timestamp_ms,
                     json_integer_value(json_object_get(want, "timestamp_ms")));
    json_object_foreach((json_t *)pcrs, k, v)
    {
        int i = atoi(k);

        assert_true(i >= 0 && i < NITRO_PCR_COUNT);
        assert_true(doc->pcr_present & (UINT32_C(1) << i));
        hex(doc->pcrs[i], NITRO_PCR_LEN, h);
        assert_string_equal(h, json_string_value(v));
        seen |= UINT32_C(1) << i;
    }
    assert_int_equal(seen, doc->pcr_present);
    assert_true(doc->has_user_data);
    hex(doc->user_data.p, doc->user_data.len, h);
    assert_string_equal(
        h, json_string_value(json_object_get(want, "user_data_hex")));
    assert_true(doc->has_nonce);
    hex(doc->nonce.p, doc->nonce.len, h);
    assert_string_equal(h,
                        json_string_value(json_object_get(want, "nonce_hex")));
    assert_true(doc->has_public_key);
    assert_memory_equal(
        doc->public_key.p,
        json_string_value(json_object_get(want, "public_key_utf8")),
        doc->public_key.len);
    assert_int_equal(doc->ncabundle,
                     json_integer_value(json_object_get(want, "cabundle_len")));
}

static void
test_real_valid(void **state)
{
    const char *name = "attestation-debug-valid.cose.b64";
    json_t *want = decoded(name);
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX] = "";
    size_t len;
    uint8_t *buf = real_doc(name, &len);
    X509 *root = nitro_root_default(), *other;
    struct nitro_mint_ca *ca;

    (void)state;
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    check_fields(&doc, want);
    assert_int_equal(nitro_verify_signature(&doc, why), 0);
    assert_int_equal(nitro_verify_chain(&doc, root, why), 0);
    assert_true(nitro_debug_mode(&doc));
    assert_true(json_is_true(json_object_get(want, "coseSignatureVerifies")));

    /* Twin: a year later the leaf (valid for hours) has expired. */
    doc.timestamp_ms += 365ULL * 86400 * 1000;
    assert_int_equal(nitro_verify_chain(&doc, root, why), -1);
    assert_non_null(strstr(why, "expired"));
    doc.timestamp_ms -= 365ULL * 86400 * 1000;
    /* Twin: another root (a test CA's) is not the anchor. */
    ca = nitro_mint_ca_new(0, 4102444800, 0, 4102444800);
    assert_non_null(ca);
    other = ca->cert[0];
    assert_int_equal(nitro_verify_chain(&doc, other, why), -1);
    nitro_mint_ca_free(ca);
    /* Twin: one PCR byte changed after parsing is not what was signed,
     * but the signature covers the payload bytes: flip one there. */
    buf[len - NITRO_SIG_LEN - 10] ^= 0x01;
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_int_equal(nitro_verify_signature(&doc, why), -1);
    assert_non_null(strstr(why, "signature"));

    X509_free(root);
    free(buf);
    json_decref(want);
}

static void
test_real_invalid(void **state)
{
    const char *name = "attestation-debug-invalid.cose.b64";
    json_t *want = decoded(name);
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX] = "";
    size_t len;
    uint8_t *buf = real_doc(name, &len);
    X509 *root = nitro_root_default();

    (void)state;
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    check_fields(&doc, want);
    assert_int_equal(nitro_verify_signature(&doc, why), -1);
    assert_non_null(strstr(why, "signature does not verify"));
    assert_true(json_is_false(json_object_get(want, "coseSignatureVerifies")));
    /* The chain itself is fine (PROVENANCE.md). */
    assert_int_equal(nitro_verify_chain(&doc, root, why), 0);
    X509_free(root);
    free(buf);
    json_decref(want);
}

/* ---- every mutation, every truncation -------------------------------- */

/* 1 when buf (len bytes) parses and both its signature and its chain
 * verify: the one outcome no damaged document may reach. */
static int
verifies(const uint8_t *buf, size_t len, X509 *root)
{
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX];
    uint8_t *copy = malloc(len ? len : 1); /* exact size for ASan */
    int ok;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    ok = nitro_parse(copy, len, &doc, why) == 0;
    if (ok) {
        /* The chain (the costly part) only when the signature holds. */
        ok = nitro_verify_signature(&doc, why) == 0 &&
             nitro_verify_chain(&doc, root, why) == 0;
    } else {
        assert_true(why[0] != '\0');
    }
    free(copy);
    return ok;
}

static void
test_mutations(void **state)
{
    size_t len, i, parsed = 0;
    uint8_t *buf = real_doc("attestation-debug-valid.cose.b64", &len);
    X509 *root = nitro_root_default();
    static const uint8_t flips[] = {0x01, 0x80};
    size_t f;

    (void)state;
    assert_true(verifies(buf, len, root));
    for (i = 0; i < len; i++) {
        for (f = 0; f < sizeof(flips); f++) {
            struct nitro_doc doc;
            char why[NITRO_WHY_MAX];

            buf[i] ^= flips[f];
            if (verifies(buf, len, root)) {
                fail_msg("byte %zu ^ 0x%02x still verifies", i, flips[f]);
            }
            parsed += nitro_parse(buf, len, &doc, why) == 0;
            buf[i] ^= flips[f];
        }
    }
    /* Most flips land in signed bytes: parsed, then refused by the
     * signature; the rest break the structure. */
    assert_true(parsed > 0 && parsed < 2 * len);
    for (i = 0; i < len; i++) {
        struct nitro_doc doc;
        char why[NITRO_WHY_MAX];

        if (verifies(buf, i, root)) {
            fail_msg("a truncation to %zu bytes verifies", i);
        }
        assert_int_equal(nitro_parse(buf, i, &doc, why), -1);
    }
    printf("nitro: %zu one-byte mutations (%zu parsed, all refused), %zu "
           "truncations refused\n",
           2 * len, parsed, len);
    X509_free(root);
    free(buf);
}

/* ---- the input forms -------------------------------------------------- */

static void
test_decode_input(void **state)
{
    size_t len;
    char *text = read_td("nitro/attestation-debug-valid.cose.b64", NULL);
    uint8_t *raw = real_doc("attestation-debug-valid.cose.b64", &len);
    uint8_t *out = malloc(NITRO_MAX_BYTES);
    char why[NITRO_WHY_MAX];
    char *wrapped;
    size_t tlen = strlen(text), i, w = 0;

    (void)state;
    assert_non_null(out);
    /* base64 as given (with its newline, if any) */
    assert_int_equal(nitro_decode_input((const uint8_t *)text, tlen, out,
                                        NITRO_MAX_BYTES, why),
                     (long)len);
    assert_memory_equal(out, raw, len);
    /* wrapped at 76 columns with CRLF */
    wrapped = malloc(tlen * 2 + 4);
    assert_non_null(wrapped);
    for (i = 0; i < tlen; i++) {
        if (text[i] == '\n') {
            continue;
        }
        wrapped[w++] = text[i];
        if ((i + 1) % 76 == 0) {
            wrapped[w++] = '\r';
            wrapped[w++] = '\n';
        }
    }
    assert_int_equal(nitro_decode_input((const uint8_t *)wrapped, w, out,
                                        NITRO_MAX_BYTES, why),
                     (long)len);
    assert_memory_equal(out, raw, len);
    /* raw CBOR is taken as is */
    assert_int_equal(nitro_decode_input(raw, len, out, NITRO_MAX_BYTES, why),
                     (long)len);
    /* twins: not base64; base64 of too much; empty */
    assert_int_equal(nitro_decode_input((const uint8_t *)"not base64!", 11, out,
                                        NITRO_MAX_BYTES, why),
                     -1);
    assert_non_null(strstr(why, "base64"));
    assert_int_equal(
        nitro_decode_input((const uint8_t *)"", 0, out, NITRO_MAX_BYTES, why),
        -1);
    {
        size_t big = NITRO_MAX_TEXT - 4;
        char *b = malloc(big);

        assert_non_null(b);
        memset(b, 'A', big);
        assert_int_equal(nitro_decode_input((const uint8_t *)b, big, out,
                                            NITRO_MAX_BYTES, why),
                         -1);
        assert_non_null(strstr(why, "larger"));
        free(b);
    }
    /* raw CBOR with a trailing byte: decoded, then refused by the parser */
    {
        struct nitro_doc doc;
        uint8_t *t = malloc(len + 1);

        assert_non_null(t);
        memcpy(t, raw, len);
        t[len] = 0;
        assert_int_equal(nitro_parse(t, len + 1, &doc, why), -1);
        assert_string_equal(why,
                            "the document has 1 bytes after the COSE_Sign1");
        free(t);
    }
    free(wrapped);
    free(out);
    free(raw);
    free(text);
}

/* ---- minted documents --------------------------------------------------- */

struct minted {
    struct nitro_mint_ca *ca;
    X509 *aws;
    int64_t now;
};

static int
setup_ca(void **state)
{
    struct minted *m = calloc(1, sizeof(*m));

    assert_non_null(m);
    m->now = (int64_t)time(NULL);
    m->ca = nitro_mint_ca_new(m->now - 86400 * 365, m->now + 86400 * 365,
                              m->now - 3600, m->now + 3 * 3600);
    m->aws = nitro_root_default();
    assert_non_null(m->ca);
    assert_non_null(m->aws);
    *state = m;
    return 0;
}

static int
teardown_ca(void **state)
{
    struct minted *m = *state;

    nitro_mint_ca_free(m->ca);
    X509_free(m->aws);
    free(m);
    return 0;
}

static void
base_doc(const struct minted *m, struct nitro_mint_doc *d)
{
    static const uint8_t nonce[20] = {1, 2, 3};
    int i;

    memset(d, 0, sizeof(*d));
    d->timestamp_ms = (uint64_t)m->now * 1000;
    d->pcr_present = 0xffff;
    for (i = 0; i < 16; i++) {
        memset(d->pcrs[i], i < 3 || i == 8 ? 0x10 + i : 0, 48);
    }
    d->nonce = nonce;
    d->nonce_len = sizeof(nonce);
    d->user_data = (const uint8_t *)"user";
    d->user_data_len = 4;
    d->public_key = (const uint8_t *)"key";
    d->public_key_len = 3;
}

static void
test_minted_good(void **state)
{
    struct minted *m = *state;
    struct nitro_mint_doc d;
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX];
    size_t len;
    uint8_t *buf;
    int f;

    base_doc(m, &d);
    buf = nitro_mint(m->ca, &d, &len);
    assert_non_null(buf);
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_int_equal(nitro_verify_signature(&doc, why), 0);
    assert_int_equal(nitro_verify_chain(&doc, m->ca->cert[0], why), 0);
    assert_false(nitro_debug_mode(&doc));
    assert_int_equal(doc.pcrs[2][0], 0x12);
    assert_int_equal(doc.pcr_present, 0xffff);
    assert_int_equal(doc.ncabundle, NITRO_MINT_INTERMEDIATES + 1);
    /* twin: the AWS root is not this document's anchor */
    assert_int_equal(nitro_verify_chain(&doc, m->aws, why), -1);
    free(buf);
    /* accepted variants */
    for (f = MINT_TAG18; f <= MINT_NULL_OPTIONAL; f++) {
        d.fault = (enum nitro_mint_fault)f;
        buf = nitro_mint(m->ca, &d, &len);
        assert_non_null(buf);
        if (nitro_parse(buf, len, &doc, why) != 0) {
            fail_msg("variant %d refused: %s", f, why);
        }
        assert_int_equal(nitro_verify_signature(&doc, why), 0);
        if (f == MINT_NULL_OPTIONAL) {
            assert_false(doc.has_public_key);
        }
        free(buf);
    }
    /* a well-formed document signed over other bytes */
    d.fault = MINT_BAD_SIGNATURE;
    buf = nitro_mint(m->ca, &d, &len);
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_int_equal(nitro_verify_signature(&doc, why), -1);
    assert_int_equal(nitro_verify_chain(&doc, m->ca->cert[0], why), 0);
    free(buf);
}

static void
test_minted_refused(void **state)
{
    static const struct {
        enum nitro_mint_fault f;
        const char *why; /* a part of the reason */
    } cases[] = {
        {MINT_OTHER_TAG, "tag 98"},
        {MINT_TAGGED_FIELD, "timestamp must be an unsigned integer, not a tag"},
        {MINT_DUP_KEY, "module_id appears twice"},
        {MINT_EXTRA_KEY, "unknown key \"extra\""},
        {MINT_MISSING_DIGEST, "lacks digest"},
        {MINT_DIGEST_SHA256, "digest is not \"SHA384\""},
        {MINT_PCR_32_BYTES, "PCR0 is 32 bytes"},
        {MINT_PCR_INDEX_32, "PCR index 32"},
        {MINT_PCR_DUP, "PCR1 appears twice"},
        {MINT_TIMESTAMP_TEXT, "timestamp must be an unsigned integer"},
        {MINT_TIMESTAMP_ZERO, "timestamp 0 is out of range"},
        {MINT_INDEFINITE_MAP, "indefinite-length"},
        {MINT_TRAILING, "1 bytes after the COSE_Sign1"},
        {MINT_PAYLOAD_TRAILING, "the payload has 1 bytes after its map"},
        {MINT_PROTECTED_EXTRA, "protected header has 2 entries"},
        {MINT_ALG_ES256, "not ES384"},
        {MINT_UNPROTECTED_NONEMPTY, "unprotected header is not empty"},
        {MINT_SIG_95, "the signature is 95 bytes"},
        {MINT_CERT_TOO_LARGE, "certificate is 1025 bytes"},
        {MINT_CABUNDLE_EMPTY, "cabundle has 0 certificates"},
        {MINT_NONCE_TOO_LARGE, "nonce is 513 bytes"},
        {MINT_MODULE_ID_EMPTY, "module_id is 0 bytes"},
        {MINT_MODULE_ID_BYTES, "module_id must be a text string"},
        {MINT_ARRAY_5, "has 5 items"},
    };
    struct minted *m = *state;
    struct nitro_mint_doc d;
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX];
    size_t i, len;
    uint8_t *buf;

    base_doc(m, &d);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d.fault = cases[i].f;
        /* one optional field fewer, so that a key more stays within 9 */
        d.public_key =
            cases[i].f == MINT_DUP_KEY || cases[i].f == MINT_EXTRA_KEY
                ? NULL
                : (const uint8_t *)"key";
        buf = nitro_mint(m->ca, &d, &len);
        assert_non_null(buf);
        if (nitro_parse(buf, len, &doc, why) != -1) {
            fail_msg("fault %d accepted", (int)cases[i].f);
        }
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("fault %d: \"%s\" does not say \"%s\"", (int)cases[i].f,
                     why, cases[i].why);
        }
        /* the document is zeroed on failure */
        assert_int_equal(doc.pcr_present, 0);
        free(buf);
    }
    /* Too large as a whole. */
    {
        uint8_t *big = calloc(1, NITRO_MAX_BYTES + 1);

        assert_non_null(big);
        big[0] = 0x84;
        assert_int_equal(nitro_parse(big, NITRO_MAX_BYTES + 1, &doc, why), -1);
        assert_non_null(strstr(why, "at most"));
        free(big);
    }
}

/* Debug mode is PCR0..2 present and zero, nothing else. */
static void
test_debug_mode(void **state)
{
    struct minted *m = *state;
    struct nitro_mint_doc d;
    struct nitro_doc doc;
    char why[NITRO_WHY_MAX];
    size_t len;
    uint8_t *buf;

    base_doc(m, &d);
    memset(d.pcrs[0], 0, 48);
    memset(d.pcrs[1], 0, 48);
    memset(d.pcrs[2], 0, 48);
    buf = nitro_mint(m->ca, &d, &len);
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_true(nitro_debug_mode(&doc));
    free(buf);
    d.pcrs[2][47] = 1; /* twin */
    buf = nitro_mint(m->ca, &d, &len);
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_false(nitro_debug_mode(&doc));
    free(buf);
    d.pcrs[2][47] = 0;
    d.pcr_present = 0x3; /* PCR2 absent: not debug mode */
    buf = nitro_mint(m->ca, &d, &len);
    assert_int_equal(nitro_parse(buf, len, &doc, why), 0);
    assert_false(nitro_debug_mode(&doc));
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_fingerprint),
        cmocka_unit_test(test_real_valid),
        cmocka_unit_test(test_real_invalid),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_decode_input),
        cmocka_unit_test_setup_teardown(test_minted_good, setup_ca,
                                        teardown_ca),
        cmocka_unit_test_setup_teardown(test_minted_refused, setup_ca,
                                        teardown_ca),
        cmocka_unit_test_setup_teardown(test_debug_mode, setup_ca, teardown_ca),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
