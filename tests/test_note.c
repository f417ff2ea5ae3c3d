/*
 * test_note.c: signed notes, verifier keys and checkpoints (merkle/note.h)
 * against real and transcribed data read at run time from
 * $TLOGWATCH_TESTDATA:
 *  - note/note-vectors.json: every case (ok | error | vkey-error |
 *    parse-only) and every checkpointBodyCase;
 *  - every .note file in note/raw, keyed by note/raw/VKEYS.tsv;
 *  - every rekor/checkpoints .txt file as its EXPECTED.md says;
 *  - the checkpoints inside Rekor v1 API entries (rekor/api-entries);
 *  - the Rekor v2 bundles' checkpoints (Ed25519 keys from the trusted
 *    roots), and the Tessera test log: its 16 signed checkpoints, their
 *    roots recomputed from the log's entry bundle, and the 120 consistency
 *    proofs between them.
 * Every accepted real note also gets negative twins: one byte changed in
 * the signature, in the text, and (checkpoints) in the root line.
 *
 * checkpointBodyCases: those bodies come from transparency-dev/formats,
 * which does not check the root hash length; their roots are not 32 bytes.
 * Our checkpoint parser requires a 32-byte root (a tlog root is a SHA-256
 * hash), with no lenient mode.  So wantErr cases must fail, and each
 * wantErr=false case must fail with MERKLE_ERR_NOTE_MALFORMED for that one
 * reason: the test checks that its root line is valid base64 of another
 * length, then puts a 32-byte root in its place and requires the parse to
 * succeed with the case's origin and size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "merkle/note.h"
#include "merkle_testutil.h"

#define MAX_KEYS 16

/* ---- helpers -------------------------------------------------------- */

static json_t *
load_json(const char *rel)
{
    char path[MTU_PATH_MAX];
    json_error_t jerr;
    json_t *doc;

    assert_non_null(mtu_testdata());
    assert_int_equal(mtu_join(path, sizeof(path), mtu_testdata(), rel), 0);
    doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fail_msg("%s: %s", rel, jerr.text);
    }
    return doc;
}

static const char *
jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void
free_keys(struct merkle_note_key **keys, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        merkle_note_key_free(keys[i]);
    }
}

/* Index of the key named "name+hexid" (prefix of s up to a space), or -1. */
static int
find_key(struct merkle_note_key **keys, size_t n, const char *s)
{
    char want[MERKLE_NOTE_MAX_NAME + 16], have[MERKLE_NOTE_MAX_NAME + 16];
    size_t len = strcspn(s, " ");
    size_t i;

    if (len >= sizeof(want)) {
        return -1;
    }
    memcpy(want, s, len);
    want[len] = '\0';
    for (i = 0; i < n; i++) {
        snprintf(have, sizeof(have), "%s+%08x", merkle_note_key_name(keys[i]),
                 (unsigned)merkle_note_key_id(keys[i]));
        if (strcmp(have, want) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Replace the byte at off with another one of the same class. */
static void
mutate_byte(char *buf, size_t off)
{
    char c = buf[off];

    if (c >= '0' && c <= '8') {
        buf[off] = (char)(c + 1);
    } else if (c == '9') {
        buf[off] = '0';
    } else if (c == 'A') {
        buf[off] = 'B';
    } else if ((c >= 'a' && c <= 'z') || (c >= 'B' && c <= 'Z')) {
        buf[off] = 'A';
    } else {
        buf[off] = 'x';
    }
}

/*
 * Negative twins of an accepted note: a changed byte in the text, in the
 * signature of the line signed by keys[0], and, when root_line is set, in
 * the checkpoint's root line.  Each must be refused.
 */
static void
note_twins(const char *name, const char *note, size_t len,
           struct merkle_note_key *const *keys, size_t nkeys, int root_line)
{
    struct merkle_note_result res;
    char *buf = malloc(len + 1);
    char prefix[MERKLE_NOTE_MAX_NAME + 8];
    const char *line;
    size_t off;
    enum merkle_result r;

    assert_non_null(buf);
    assert_int_equal(merkle_note_parse(note, len, &res), MERKLE_OK);

    /* Text: the first letter or digit of the first line. */
    memcpy(buf, note, len);
    off = strcspn(buf, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                       "TUVWXYZ");
    assert_true(off < res.text_len);
    mutate_byte(buf, off);
    r = merkle_note_verify(buf, len, keys, nkeys, NULL);
    if (r != MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        fail_msg("%s: text twin gave %s", name, merkle_strerror(r));
    }

    /* Root line (third line of a checkpoint): its first character. */
    if (root_line) {
        const char *l2, *l3;
        memcpy(buf, note, len);
        l2 = memchr(buf, '\n', len);
        assert_non_null(l2);
        l3 = memchr(l2 + 1, '\n', len - (size_t)(l2 + 1 - buf));
        assert_non_null(l3);
        mutate_byte(buf, (size_t)(l3 + 1 - buf));
        r = merkle_note_verify(buf, len, keys, nkeys, NULL);
        if (r != MERKLE_ERR_NOTE_BAD_SIGNATURE) {
            fail_msg("%s: root twin gave %s", name, merkle_strerror(r));
        }
        r = merkle_checkpoint_verify(buf, len, keys, nkeys, NULL);
        if (r == MERKLE_OK) {
            fail_msg("%s: root twin accepted as checkpoint", name);
        }
    }

    /* Signature: a character well past the 4-byte key id. */
    memcpy(buf, note, len);
    buf[len] = '\0';
    snprintf(prefix, sizeof(prefix), "\xe2\x80\x94 %s ",
             merkle_note_key_name(keys[0]));
    line = strstr(buf + res.text_len, prefix);
    assert_non_null(line);
    off = (size_t)(line - buf) + strlen(prefix) + 20;
    assert_true(off < len);
    mutate_byte(buf, off);
    r = merkle_note_verify(buf, len, keys, nkeys, NULL);
    if (r != MERKLE_ERR_NOTE_BAD_SIGNATURE) {
        fail_msg("%s: signature twin gave %s", name, merkle_strerror(r));
    }
    free(buf);
}

/* Map an upstream error message to the verdict we give for it. */
static int
expected_code(const char *msg, enum merkle_result *code)
{
    if (msg == NULL) {
        return 0;
    }
    if (strstr(msg, "ambiguous key") != NULL) {
        *code = MERKLE_ERR_KEY;
    } else if (strstr(msg, "more than 100") != NULL) {
        *code = MERKLE_ERR_NOTE_TOO_MANY;
    } else if (strstr(msg, "no verifiable") != NULL) {
        *code = MERKLE_ERR_NOTE_UNVERIFIED;
    } else if (strstr(msg, "invalid signature") != NULL) {
        *code = MERKLE_ERR_NOTE_BAD_SIGNATURE;
    } else if (strstr(msg, "malformed") != NULL) {
        *code = MERKLE_ERR_NOTE_MALFORMED;
    } else {
        return 0;
    }
    return 1;
}

/* ---- note-vectors.json --------------------------------------------- */

static size_t
load_vkeys(json_t *arr, struct merkle_note_key **keys, const char *id)
{
    size_t i, n = json_array_size(arr);

    assert_true(n <= MAX_KEYS);
    for (i = 0; i < n; i++) {
        enum merkle_result err = MERKLE_OK;
        keys[i] = merkle_note_key_from_vkey(
            json_string_value(json_array_get(arr, i)), &err);
        if (keys[i] == NULL) {
            fail_msg("%s: verifier key %zu refused: %s", id, i,
                     merkle_strerror(err));
        }
    }
    return n;
}

static void
case_signed(json_t *c, const char *id)
{
    struct merkle_note_key *keys[MAX_KEYS];
    struct merkle_note_result res;
    const char *note = jstr(c, "note");
    const char *expect = jstr(c, "expect");
    const char *comment = jstr(c, "comment");
    char *raw = NULL;
    size_t nkeys, len, i;
    enum merkle_result r, want;

    assert_non_null(note);
    len = strlen(note);
    nkeys = load_vkeys(json_object_get(c, "verifierKeys"), keys, id);
    /* The file says a raw 0xFF byte is stood in for by U+00FF: test the
     * upstream bytes. */
    if (comment != NULL && strstr(comment, "0xFF") != NULL &&
        (unsigned char)note[0] == 0xc3 && (unsigned char)note[1] == 0xbf) {
        raw = strdup(note + 1);
        assert_non_null(raw);
        raw[0] = (char)0xff;
        note = raw;
        len = strlen(raw);
    }
    r = merkle_note_verify(note, len, keys, nkeys, &res);

    if (strcmp(expect, "ok") == 0) {
        json_t *vs = json_object_get(c, "verifiedSigs");
        json_t *us = json_object_get(c, "unverifiedSigs");
        const char *origin = jstr(c, "expectedOrigin");
        json_t *cp = json_object_get(c, "checkpoint");
        if (r != MERKLE_OK) {
            fail_msg("%s: expected ok, got %s", id, merkle_strerror(r));
        }
        assert_int_equal(res.text_len + 1 + 1 <= len, 1);
        for (i = 0; i < json_array_size(vs); i++) {
            const char *s = json_string_value(json_array_get(vs, i));
            int k = find_key(keys, nkeys, s);
            if (k < 0 || !(res.verified_mask & ((uint64_t)1 << k))) {
                fail_msg("%s: %s not verified", id, s);
            }
        }
        if (json_is_array(vs)) {
            /* duplicates collapse: one verification per key */
            assert_int_equal(res.nverified, json_array_size(vs));
        }
        for (i = 0; i < json_array_size(us); i++) {
            const char *s = json_string_value(json_array_get(us, i));
            int k = find_key(keys, nkeys, s);
            if (k >= 0 && (res.verified_mask & ((uint64_t)1 << k))) {
                fail_msg("%s: %s should be unverified", id, s);
            }
        }
        if (origin != NULL || cp != NULL) {
            struct merkle_checkpoint ck;
            assert_int_equal(
                merkle_checkpoint_verify(note, len, keys, nkeys, &ck),
                MERKLE_OK);
            if (origin != NULL) {
                assert_string_equal(ck.origin, origin);
            }
            if (json_is_object(cp)) {
                assert_string_equal(ck.origin, jstr(cp, "origin"));
                assert_int_equal(ck.size, (uint64_t)json_integer_value(
                                              json_object_get(cp, "size")));
            }
        }
        /* negative twins, keyed on the first verified key */
        if (nkeys > 0) {
            struct merkle_note_key *first = NULL;
            for (i = 0; i < nkeys; i++) {
                if (res.verified_mask & ((uint64_t)1 << i)) {
                    first = keys[i];
                    break;
                }
            }
            assert_non_null(first);
            note_twins(id, note, len, &first, 1, 0);
        }
    } else {
        const char *origin = jstr(c, "expectedOrigin");
        assert_string_equal(expect, "error");
        if (origin != NULL && r == MERKLE_OK) {
            /* signature fine; the caller's origin check must refuse */
            struct merkle_checkpoint ck;
            assert_int_equal(
                merkle_checkpoint_verify(note, len, keys, nkeys, &ck),
                MERKLE_OK);
            assert_string_not_equal(ck.origin, origin);
        } else {
            if (r == MERKLE_OK) {
                fail_msg("%s: expected an error, got ok", id);
            }
            if (expected_code(jstr(c, "error"), &want) && r != want) {
                fail_msg("%s: expected %s, got %s", id, merkle_strerror(want),
                         merkle_strerror(r));
            }
        }
    }
    free_keys(keys, nkeys);
    free(raw);
}

static void
case_vkey_error(json_t *c, const char *id)
{
    enum merkle_result err = MERKLE_OK;
    struct merkle_note_key *k;

    k = merkle_note_key_from_vkey(jstr(c, "vkey"), &err);
    if (k != NULL) {
        merkle_note_key_free(k);
        fail_msg("%s: vkey accepted", id);
    }
    assert_int_equal(err, MERKLE_ERR_KEY);
}

static void
case_parse_only(json_t *c, const char *id)
{
    struct merkle_note_result res;
    const char *note = jstr(c, "note");
    json_t *cp = json_object_get(c, "checkpoint");
    size_t len = strlen(note), lines = 0, i;
    enum merkle_result r;

    r = merkle_note_parse(note, len, &res);
    if (r != MERKLE_OK) {
        fail_msg("%s: parse gave %s", id, merkle_strerror(r));
    }
    for (i = res.text_len + 1; i < len; i++) {
        lines += note[i] == '\n';
    }
    assert_int_equal(res.nsigs, lines);
    assert_int_equal(res.nverified, 0);
    /* No key given: nothing verifies, but nothing is malformed either. */
    assert_int_equal(merkle_note_verify(note, len, NULL, 0, NULL),
                     MERKLE_ERR_NOTE_UNVERIFIED);
    if (json_is_object(cp)) {
        struct merkle_checkpoint ck;
        uint8_t *root;
        size_t rlen = 0;
        assert_int_equal(merkle_checkpoint_parse(note, res.text_len, &ck),
                         MERKLE_OK);
        assert_string_equal(ck.origin, jstr(cp, "origin"));
        assert_int_equal(
            ck.size, (uint64_t)json_integer_value(json_object_get(cp, "size")));
        root = mtu_b64(jstr(cp, "rootHashBase64"), &rlen);
        assert_non_null(root);
        assert_int_equal(rlen, MERKLE_HASH_LEN);
        assert_memory_equal(ck.root, root, MERKLE_HASH_LEN);
        free(root);
        assert_int_equal(ck.next_line, res.text_len);
    }
    /* negative twin: the same note cut before its last newline */
    assert_int_equal(merkle_note_parse(note, len - 1, NULL),
                     MERKLE_ERR_NOTE_MALFORMED);
}

/* Ed25519 is deterministic: signing the text must give the note given. */
static void
case_sign(json_t *c, const char *id)
{
    const char *sk = jstr(c, "signerKey");
    const char *text = jstr(c, "text");
    const char *want = jstr(c, "expectSignedNote");
    const char *name, *plus, *b64;
    char namebuf[MERKLE_NOTE_MAX_NAME], hexid[9], sigb64[128], *note;
    uint8_t *seed, pub[32], sig[4 + 64];
    size_t seed_len = 0, pub_len = sizeof(pub), sig_len = 64, nlen;
    EVP_PKEY *pk;
    EVP_MD_CTX *ctx;
    struct merkle_note_key *key;
    enum merkle_result err;
    uint32_t id32;

    assert_non_null(sk);
    assert_int_equal(strncmp(sk, "PRIVATE+KEY+", 12), 0);
    name = sk + 12;
    plus = strchr(name, '+');
    assert_non_null(plus);
    assert_true((size_t)(plus - name) < sizeof(namebuf));
    memcpy(namebuf, name, (size_t)(plus - name));
    namebuf[plus - name] = '\0';
    memcpy(hexid, plus + 1, 8);
    hexid[8] = '\0';
    b64 = plus + 10;
    seed = mtu_b64(b64, &seed_len);
    assert_non_null(seed);
    assert_int_equal(seed_len, 33);
    assert_int_equal(seed[0], MERKLE_KEY_ED25519);

    pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed + 1, 32);
    assert_non_null(pk);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &pub_len), 1);
    key = merkle_note_key_ed25519(namebuf, pub, &err);
    assert_non_null(key);
    id32 = merkle_note_key_id(key);
    assert_int_equal(id32, (uint32_t)strtoul(hexid, NULL, 16));

    ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
    sig[0] = (uint8_t)(id32 >> 24);
    sig[1] = (uint8_t)(id32 >> 16);
    sig[2] = (uint8_t)(id32 >> 8);
    sig[3] = (uint8_t)id32;
    assert_int_equal(EVP_DigestSign(ctx, sig + 4, &sig_len,
                                    (const unsigned char *)text, strlen(text)),
                     1);
    assert_true(merkle_b64_encode(sig, 4 + sig_len, sigb64, sizeof(sigb64)) >
                0);
    nlen = strlen(text) + strlen(namebuf) + strlen(sigb64) + 16;
    note = malloc(nlen);
    assert_non_null(note);
    snprintf(note, nlen, "%s\n\xe2\x80\x94 %s %s\n", text, namebuf, sigb64);
    if (strcmp(note, want) != 0) {
        fail_msg("%s: signed note differs", id);
    }
    assert_int_equal(merkle_note_verify(note, strlen(note), &key, 1, NULL),
                     MERKLE_OK);
    note_twins(id, note, strlen(note), &key, 1, 0);

    free(note);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    merkle_note_key_free(key);
    free(seed);
}

static void
test_note_vectors(void **state)
{
    json_t *doc = load_json("note/note-vectors.json");
    json_t *cases = json_object_get(doc, "cases");
    size_t i, n[4] = {0, 0, 0, 0};

    (void)state;
    assert_true(json_is_array(cases));
    for (i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *id = jstr(c, "id");
        const char *expect = jstr(c, "expect");
        assert_non_null(id);
        assert_non_null(expect);
        if (json_object_get(c, "signerKey") != NULL) {
            case_sign(c, id);
            n[3]++;
        } else if (strcmp(expect, "vkey-error") == 0) {
            case_vkey_error(c, id);
            n[1]++;
        } else if (strcmp(expect, "parse-only") == 0) {
            case_parse_only(c, id);
            n[2]++;
        } else {
            case_signed(c, id);
            n[0]++;
        }
    }
    printf("note-vectors: %zu signed, %zu vkey-error, %zu parse-only, "
           "%zu sign\n",
           n[0], n[1], n[2], n[3]);
    assert_true(n[0] > 0 && n[1] > 0 && n[2] > 0 && n[3] > 0);
    json_decref(doc);
}

/* Parse "NNN" at the start of s (decimal); -1 when not a number. */
static int
parse_dec(const char *s, size_t len, uint64_t *out)
{
    char buf[32];
    char *end;

    if (len == 0 || len >= sizeof(buf) || s[0] < '0' || s[0] > '9') {
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtoull(buf, &end, 10);
    return *end == '\0' ? 0 : -1;
}

static void
test_checkpoint_bodies(void **state)
{
    json_t *doc = load_json("note/note-vectors.json");
    json_t *bc = json_object_get(doc, "checkpointBodyCases");
    json_t *cases = json_object_get(bc, "cases");
    size_t i, n_err = 0, n_len = 0;

    (void)state;
    assert_true(json_is_array(cases));
    for (i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *desc = jstr(c, "desc");
        const char *body = jstr(c, "body");
        size_t len = strlen(body);
        enum merkle_result r;
        struct merkle_checkpoint ck;

        r = merkle_checkpoint_parse(body, len, &ck);
        if (json_is_true(json_object_get(c, "wantErr"))) {
            if (r == MERKLE_OK) {
                fail_msg("%s: accepted", desc);
            }
            assert_int_equal(r, MERKLE_ERR_NOTE_MALFORMED);
            n_err++;
            continue;
        }
        /* wantErr=false, but the root is not 32 bytes (see the header). */
        {
            const char *l1 = strchr(body, '\n');
            const char *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;
            const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
            uint8_t rootbuf[256], h[MERKLE_HASH_LEN];
            char b64[64], *fixed, origin[MERKLE_ORIGIN_MAX];
            uint64_t size;
            long rl;
            size_t flen;

            assert_non_null(l3);
            rl = merkle_b64_decode(l2 + 1, (size_t)(l3 - l2 - 1), rootbuf,
                                   sizeof(rootbuf));
            if (rl < 0 || rl == MERKLE_HASH_LEN) {
                fail_msg("%s: root line is not base64 of another length", desc);
            }
            if (r != MERKLE_ERR_NOTE_MALFORMED) {
                fail_msg("%s: non-32-byte root gave %s", desc,
                         merkle_strerror(r));
            }
            /* Twin: the same body with a 32-byte root parses. */
            merkle_leaf_hash(rootbuf, (size_t)rl, h);
            assert_int_equal(merkle_b64_encode(h, sizeof(h), b64, sizeof(b64)),
                             44);
            flen = len + 64;
            fixed = malloc(flen);
            assert_non_null(fixed);
            snprintf(fixed, flen, "%.*s%s%s", (int)(l2 + 1 - body), body, b64,
                     l3);
            r = merkle_checkpoint_parse(fixed, strlen(fixed), &ck);
            if (r != MERKLE_OK) {
                fail_msg("%s: with a 32-byte root: %s", desc,
                         merkle_strerror(r));
            }
            assert_true((size_t)(l1 - body) < sizeof(origin));
            memcpy(origin, body, (size_t)(l1 - body));
            origin[l1 - body] = '\0';
            assert_string_equal(ck.origin, origin);
            assert_int_equal(parse_dec(l1 + 1, (size_t)(l2 - l1 - 1), &size),
                             0);
            assert_int_equal(ck.size, size);
            assert_memory_equal(ck.root, h, MERKLE_HASH_LEN);
            assert_int_equal(ck.next_line, (size_t)(l2 + 1 - body) + 44 + 1);
            free(fixed);
            n_len++;
        }
    }
    printf("checkpoint bodies: %zu errors, %zu refused for root length only\n",
           n_err, n_len);
    assert_true(n_err > 0 && n_len > 0);
    json_decref(doc);
}

/* ---- note/raw ------------------------------------------------------- */

static void
test_raw_notes(void **state)
{
    char *tsv = mtu_read_testdata("note/raw/VKEYS.tsv", NULL);
    char *line, *save = NULL;
    size_t rows = 0, ok = 0;

    (void)state;
    assert_non_null(tsv);
    for (line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *file, *vkey, *expect, *s2 = NULL, rel[512];
        char *note;
        size_t len = 0;
        struct merkle_note_key *key;
        enum merkle_result err, r;

        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        file = strtok_r(line, "\t", &s2);
        vkey = strtok_r(NULL, "\t", &s2);
        expect = strtok_r(NULL, "\t", &s2);
        assert_non_null(file);
        assert_non_null(vkey);
        assert_non_null(expect);
        snprintf(rel, sizeof(rel), "note/raw/%s", file);
        note = mtu_read_testdata(rel, &len);
        if (note == NULL) {
            fail_msg("%s: missing", rel);
        }
        key = merkle_note_key_from_vkey(vkey, &err);
        assert_non_null(key);
        r = merkle_note_verify(note, len, &key, 1, NULL);
        if (strncmp(expect, "ok", 2) == 0) {
            if (r != MERKLE_OK) {
                fail_msg("%s: %s", rel, merkle_strerror(r));
            }
            note_twins(rel, note, len, &key, 1, 0);
            ok++;
        } else {
            assert_string_equal(expect, "error");
            if (r == MERKLE_OK) {
                fail_msg("%s: accepted", rel);
            }
        }
        rows++;
        merkle_note_key_free(key);
        free(note);
    }
    printf("raw notes: %zu rows, %zu ok\n", rows, ok);
    assert_true(rows > 0 && ok > 0 && ok < rows);
    free(tsv);
}

/* ---- rekor/checkpoints --------------------------------------------- */

static struct merkle_note_key *
ecdsa_key_from_pem(const char *rel, const char *name)
{
    char *pem = mtu_read_testdata(rel, NULL);
    uint8_t *der;
    size_t der_len = 0;
    struct merkle_note_key *k;
    enum merkle_result err;

    assert_non_null(pem);
    der = mtu_pem_spki(pem, &der_len);
    assert_non_null(der);
    k = merkle_note_key_ecdsa(name, der, der_len, &err);
    if (k == NULL) {
        fail_msg("%s: %s", rel, merkle_strerror(err));
    }
    free(der);
    free(pem);
    return k;
}

/* Text between "<tag> `" and the next backquote, copied into out. */
static int
md_quoted(const char *cell, const char *tag, char *out, size_t cap)
{
    char pat[64];
    const char *p, *e;

    snprintf(pat, sizeof(pat), "%s `", tag);
    p = strstr(cell, pat);
    if (p == NULL) {
        return -1;
    }
    p += strlen(pat);
    e = strchr(p, '`');
    if (e == NULL || (size_t)(e - p) >= cap) {
        return -1;
    }
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

/* The number before " signature" in s, if any. */
static int
md_sig_count(const char *s, uint64_t *n)
{
    const char *p = strstr(s, " signature");
    const char *b;

    if (p == NULL) {
        return -1;
    }
    for (b = p; b > s && b[-1] >= '0' && b[-1] <= '9'; b--) {
    }
    return parse_dec(b, (size_t)(p - b), n);
}

static void
checkpoint_file_case(const char *file, const char *expect, const char *detail,
                     struct merkle_note_key *key, size_t *nvalid)
{
    char rel[512], buf[512];
    char *note;
    size_t len = 0;
    struct merkle_checkpoint ck;
    struct merkle_note_result res;
    enum merkle_result r;
    uint64_t n;

    snprintf(rel, sizeof(rel), "rekor/checkpoints/%s", file);
    note = mtu_read_testdata(rel, &len);
    if (note == NULL) {
        fail_msg("%s: missing", rel);
    }
    r = merkle_checkpoint_verify(note, len, &key, 1, &ck);
    if (strstr(expect, "parse error") != NULL) {
        /* The structure itself must be refused, before any signature. */
        enum merkle_result rp = merkle_note_parse(note, len, &res);
        if (rp == MERKLE_OK) {
            rp = merkle_checkpoint_parse(note, res.text_len, NULL);
        }
        if (rp != MERKLE_ERR_NOTE_MALFORMED || r == MERKLE_OK) {
            fail_msg("%s: parse gave %s, verify %s", rel, merkle_strerror(rp),
                     merkle_strerror(r));
        }
        free(note);
        return;
    }
    assert_non_null(strstr(expect, "parse OK"));
    if (r != MERKLE_OK) {
        fail_msg("%s: %s", rel, merkle_strerror(r));
    }
    assert_int_equal(merkle_note_verify(note, len, &key, 1, &res), MERKLE_OK);
    assert_int_equal(res.nverified, 1);
    if (md_sig_count(expect, &n) == 0 || md_sig_count(detail, &n) == 0) {
        assert_int_equal(res.nsigs, n);
    }
    if (md_quoted(detail, "origin", buf, sizeof(buf)) == 0) {
        assert_string_equal(ck.origin, buf);
    }
    if (md_quoted(detail, "root", buf, sizeof(buf)) == 0) {
        uint8_t *root;
        size_t rl = 0;
        root = mtu_b64(buf, &rl);
        assert_non_null(root);
        assert_int_equal(rl, MERKLE_HASH_LEN);
        assert_memory_equal(ck.root, root, MERKLE_HASH_LEN);
        free(root);
    }
    {
        const char *p = strstr(detail, "size ");
        if (p != NULL) {
            size_t dl = strspn(p + 5, "0123456789");
            assert_int_equal(parse_dec(p + 5, dl, &n), 0);
            assert_int_equal(ck.size, n);
        }
    }
    /* Extension lines stay in the signed text, after the root line. */
    assert_true(ck.next_line <= res.text_len);
    note_twins(rel, note, len, &key, 1, 1);
    (*nvalid)++;
    free(note);
}

static void
count_file(const char *path, void *arg)
{
    (void)path;
    (*(size_t *)arg)++;
}

static void
test_rekor_checkpoints(void **state)
{
    char *md = mtu_read_testdata("rekor/checkpoints/EXPECTED.md", NULL);
    struct merkle_note_key *key = ecdsa_key_from_pem(
        "rekor/rekor.sigstore.dev.pub", "rekor.sigstore.dev");
    char *line, *save = NULL, dir[MTU_PATH_MAX];
    size_t rows = 0, nvalid = 0, nfiles = 0;

    (void)state;
    assert_non_null(md);
    for (line = strtok_r(md, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *cells[4], *s2 = NULL, *c;
        int nc = 0;
        if (line[0] != '|' || strstr(line, ".txt") == NULL) {
            continue;
        }
        for (c = strtok_r(line, "|", &s2); c != NULL && nc < 4;
             c = strtok_r(NULL, "|", &s2)) {
            while (*c == ' ') {
                c++;
            }
            cells[nc++] = c;
        }
        assert_true(nc >= 3);
        cells[0][strcspn(cells[0], " ")] = '\0';
        checkpoint_file_case(cells[0], cells[1], cells[2], key, &nvalid);
        rows++;
    }
    assert_int_equal(
        mtu_join(dir, sizeof(dir), mtu_testdata(), "rekor/checkpoints"), 0);
    mtu_walk(dir, ".txt", count_file, &nfiles);
    printf("rekor checkpoints: %zu rows (%zu valid), %zu files\n", rows, nvalid,
           nfiles);
    assert_int_equal(rows, nfiles);
    assert_true(nvalid > 0 && nvalid < rows);
    merkle_note_key_free(key);
    free(md);
}

/* ---- Rekor v1 API entries ------------------------------------------ */

static int
spki_matches_logid(const char *pem_rel, const char *logid_hex)
{
    char *pem = mtu_read_testdata(pem_rel, NULL);
    uint8_t *der, digest[32], want[32];
    size_t der_len = 0;
    unsigned int dl = 0;
    int match;

    assert_non_null(pem);
    der = mtu_pem_spki(pem, &der_len);
    assert_non_null(der);
    assert_int_equal(EVP_Digest(der, der_len, digest, &dl, EVP_sha256(), NULL),
                     1);
    match = mtu_hex32(logid_hex, want) == 0 &&
            memcmp(digest, want, sizeof(want)) == 0;
    free(der);
    free(pem);
    return match;
}

struct entry_stats {
    size_t n;
};

static void
api_entry_case(const char *path, void *arg)
{
    struct entry_stats *st = arg;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr), *entry, *ip;
    const char *uuid, *logid, *cp, *roothex;
    const char *pub, *name;
    struct merkle_note_key *key;
    struct merkle_checkpoint ck;
    uint8_t root[MERKLE_HASH_LEN];
    enum merkle_result r;

    if (doc == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    assert_int_equal(json_object_size(doc), 1);
    json_object_foreach(doc, uuid, entry)
    {
        (void)uuid;
        logid = jstr(entry, "logID");
        ip = json_object_get(json_object_get(entry, "verification"),
                             "inclusionProof");
        cp = jstr(ip, "checkpoint");
        roothex = jstr(ip, "rootHash");
        assert_non_null(logid);
        assert_non_null(cp);
        assert_non_null(roothex);
        /* The key is the one whose SPKI hash is the entry's log ID. */
        if (spki_matches_logid("rekor/rekor.sigstore.dev.pub", logid)) {
            pub = "rekor/rekor.sigstore.dev.pub";
            name = "rekor.sigstore.dev";
        } else if (spki_matches_logid("rekor/api-entries/rekor-staging.pub",
                                      logid)) {
            pub = "rekor/api-entries/rekor-staging.pub";
            name = "rekor.sigstage.dev";
        } else {
            fail_msg("%s: no key for log ID %s", path, logid);
            return;
        }
        key = ecdsa_key_from_pem(pub, name);
        r = merkle_checkpoint_verify(cp, strlen(cp), &key, 1, &ck);
        if (r != MERKLE_OK) {
            fail_msg("%s: %s", path, merkle_strerror(r));
        }
        assert_int_equal(ck.size, (uint64_t)json_integer_value(
                                      json_object_get(ip, "treeSize")));
        assert_int_equal(mtu_hex32(roothex, root), 0);
        assert_memory_equal(ck.root, root, MERKLE_HASH_LEN);
        note_twins(path, cp, strlen(cp), &key, 1, 1);
        merkle_note_key_free(key);
        st->n++;
    }
    json_decref(doc);
}

static void
test_rekor_api_entries(void **state)
{
    struct entry_stats st = {0};
    char dir[MTU_PATH_MAX];

    (void)state;
    assert_int_equal(
        mtu_join(dir, sizeof(dir), mtu_testdata(), "rekor/api-entries"), 0);
    mtu_walk(dir, ".json", api_entry_case, &st);
    printf("rekor v1 API entries: %zu checkpoints verified\n", st.n);
    assert_true(st.n > 0);
}

/* ---- Rekor v2 bundles ---------------------------------------------- */

/* The Ed25519 SPKI prefix (RFC 8410): SEQUENCE, AlgorithmIdentifier
 * 1.3.101.112, BIT STRING of 32 bytes. */
static const uint8_t ed25519_spki_prefix[12] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* Find the tlog whose logId.keyId is key_id_b64 in any trusted root;
 * returns a new Ed25519 key named after its baseUrl host, or NULL. */
static struct merkle_note_key *
v2_key_for(const char *key_id_b64)
{
    static const char *roots[] = {"fulcio/trusted_root.json",
                                  "rekor-v2/staging-trusted_root.json",
                                  "rekor-v2/staging-trusted_root-alpha3.json"};
    size_t i, j;

    for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        json_t *doc = load_json(roots[i]);
        json_t *tlogs = json_object_get(doc, "tlogs");
        for (j = 0; j < json_array_size(tlogs); j++) {
            json_t *t = json_array_get(tlogs, j);
            const char *kid = jstr(json_object_get(t, "logId"), "keyId");
            const char *url = jstr(t, "baseUrl");
            const char *raw = jstr(json_object_get(t, "publicKey"), "rawBytes");
            struct merkle_note_key *k;
            enum merkle_result err;
            uint8_t *der;
            size_t der_len = 0;
            if (kid == NULL || strcmp(kid, key_id_b64) != 0) {
                continue;
            }
            assert_non_null(url);
            assert_non_null(raw);
            der = mtu_b64(raw, &der_len);
            assert_non_null(der);
            assert_int_equal(der_len, sizeof(ed25519_spki_prefix) + 32);
            assert_memory_equal(der, ed25519_spki_prefix,
                                sizeof(ed25519_spki_prefix));
            if (strncmp(url, "https://", 8) == 0) {
                url += 8;
            }
            k = merkle_note_key_ed25519(url, der + sizeof(ed25519_spki_prefix),
                                        &err);
            assert_non_null(k);
            free(der);
            json_decref(doc);
            return k;
        }
        json_decref(doc);
    }
    return NULL;
}

static void
v2_bundle_case(const char *path, void *arg)
{
    size_t *n = arg, i;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    json_t *entries;

    if (doc == NULL) {
        fail_msg("%s: %s", path, jerr.text);
    }
    entries = json_object_get(json_object_get(doc, "verificationMaterial"),
                              "tlogEntries");
    for (i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        json_t *ip = json_object_get(e, "inclusionProof");
        const char *kid = jstr(json_object_get(e, "logId"), "keyId");
        const char *cp = jstr(json_object_get(ip, "checkpoint"), "envelope");
        struct merkle_note_key *key;
        struct merkle_note_result res;
        struct merkle_checkpoint ck;
        uint8_t *kid_raw, *root;
        size_t kl = 0, rl = 0, lines = 0, k;
        enum merkle_result r;

        assert_non_null(kid);
        assert_non_null(cp);
        key = v2_key_for(kid);
        if (key == NULL) {
            fail_msg("%s: no trusted key for %s", path, kid);
            return;
        }
        /* Rekor v2 log ID = full SHA-256 whose first 4 bytes are the
         * note key id. */
        kid_raw = mtu_b64(kid, &kl);
        assert_non_null(kid_raw);
        assert_true(kl >= 4);
        assert_int_equal(merkle_note_key_id(key),
                         (uint32_t)kid_raw[0] << 24 |
                             (uint32_t)kid_raw[1] << 16 |
                             (uint32_t)kid_raw[2] << 8 | kid_raw[3]);
        r = merkle_note_verify(cp, strlen(cp), &key, 1, &res);
        if (r != MERKLE_OK) {
            fail_msg("%s: %s", path, merkle_strerror(r));
        }
        for (k = res.text_len + 1; cp[k] != '\0'; k++) {
            lines += cp[k] == '\n';
        }
        assert_int_equal(res.nsigs, lines); /* witness lines seen ... */
        assert_int_equal(res.nverified, 1); /* ... and ignored */
        assert_int_equal(merkle_checkpoint_verify(cp, strlen(cp), &key, 1, &ck),
                         MERKLE_OK);
        assert_string_equal(ck.origin, merkle_note_key_name(key));
        assert_int_equal(ck.size, strtoull(jstr(ip, "treeSize"), NULL, 10));
        root = mtu_b64(jstr(ip, "rootHash"), &rl);
        assert_non_null(root);
        assert_int_equal(rl, MERKLE_HASH_LEN);
        assert_memory_equal(ck.root, root, MERKLE_HASH_LEN);
        note_twins(path, cp, strlen(cp), &key, 1, 1);
        free(root);
        free(kid_raw);
        merkle_note_key_free(key);
        (*n)++;
    }
    json_decref(doc);
}

static void
test_rekor_v2_bundles(void **state)
{
    char dir[MTU_PATH_MAX];
    size_t n = 0;

    (void)state;
    assert_int_equal(mtu_join(dir, sizeof(dir), mtu_testdata(), "rekor-v2"), 0);
    mtu_walk(dir, ".sigstore.json", v2_bundle_case, &n);
    printf("rekor v2 bundles: %zu checkpoints verified\n", n);
    assert_true(n > 0);

    /* The production v2 key also ships as PEM: same key, same verdict. */
    {
        char *pem = mtu_read_testdata(
            "rekor-v2/log2025-1.rekor.sigstore.dev.pub", NULL);
        json_t *doc = load_json("rekor-v2/prod-log2025-1.sigstore.json");
        json_t *e = json_array_get(
            json_object_get(json_object_get(doc, "verificationMaterial"),
                            "tlogEntries"),
            0);
        const char *cp = jstr(
            json_object_get(json_object_get(e, "inclusionProof"), "checkpoint"),
            "envelope");
        uint8_t *der;
        size_t dl = 0;
        struct merkle_note_key *k;
        enum merkle_result err;

        assert_non_null(pem);
        assert_non_null(cp);
        der = mtu_pem_spki(pem, &dl);
        assert_non_null(der);
        assert_int_equal(dl, sizeof(ed25519_spki_prefix) + 32);
        k = merkle_note_key_ed25519("log2025-1.rekor.sigstore.dev",
                                    der + sizeof(ed25519_spki_prefix), &err);
        assert_non_null(k);
        assert_int_equal(merkle_checkpoint_verify(cp, strlen(cp), &k, 1, NULL),
                         MERKLE_OK);
        merkle_note_key_free(k);
        /* An ECDSA key cannot be made from an Ed25519 SPKI. */
        assert_null(merkle_note_key_ecdsa("x", der, dl, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        free(der);
        free(pem);
        json_decref(doc);
    }
}

/* ---- the Tessera test log ------------------------------------------ */

static void
test_tessera_log(void **state)
{
    json_t *doc = load_json("rekor-v2/tessera-testlog-consistency-proofs.json");
    json_t *proofs = json_object_get(doc, "proofs");
    const char *vkey = jstr(doc, "logVerifierKey");
    struct merkle_note_key *key;
    struct merkle_checkpoint cps[64];
    struct merkle_range rg;
    enum merkle_result err;
    char *entries, *latest;
    size_t elen = 0, off = 0, latest_len = 0, n, i, nproofs = 0;

    (void)state;
    assert_non_null(vkey);
    key = merkle_note_key_from_vkey(vkey, &err);
    assert_non_null(key);
    entries = mtu_read_testdata(
        "rekor-v2/tessera-testlog/tile/entries/000.p/15", &elen);
    assert_non_null(entries);

    /* checkpoint.N for N = 0, 1, ... until one is missing. */
    merkle_range_init(&rg);
    for (n = 0; n < 64; n++) {
        char rel[128];
        char *note;
        size_t len = 0;
        uint8_t root[MERKLE_HASH_LEN];

        snprintf(rel, sizeof(rel), "rekor-v2/tessera-testlog/checkpoint.%zu",
                 n);
        note = mtu_read_testdata(rel, &len);
        if (note == NULL) {
            break;
        }
        err = merkle_checkpoint_verify(note, len, &key, 1, &cps[n]);
        if (err != MERKLE_OK) {
            fail_msg("%s: %s", rel, merkle_strerror(err));
        }
        assert_int_equal(cps[n].size, n);
        /* The signed root is the root of the first n entries. */
        while (rg.size < n) {
            size_t l;
            uint8_t leaf[MERKLE_HASH_LEN];
            assert_true(off + 2 <= elen);
            l = (size_t)(uint8_t)entries[off] << 8 | (uint8_t)entries[off + 1];
            assert_true(off + 2 + l <= elen);
            merkle_leaf_hash((const uint8_t *)entries + off + 2, l, leaf);
            assert_int_equal(merkle_range_append(&rg, leaf), MERKLE_OK);
            off += 2 + l;
        }
        merkle_range_root(&rg, root);
        assert_memory_equal(cps[n].root, root, MERKLE_HASH_LEN);
        if (n > 0) {
            note_twins(rel, note, len, &key, 1, 1);
        }
        free(note);
    }
    printf("tessera: %zu signed checkpoints, roots recomputed\n", n);
    assert_true(n > 1);
    assert_int_equal(off, elen); /* every entry used */

    latest =
        mtu_read_testdata("rekor-v2/tessera-testlog/checkpoint", &latest_len);
    assert_non_null(latest);
    {
        struct merkle_checkpoint ck;
        assert_int_equal(
            merkle_checkpoint_verify(latest, latest_len, &key, 1, &ck),
            MERKLE_OK);
        assert_int_equal(ck.size, n - 1);
        assert_memory_equal(ck.root, cps[n - 1].root, MERKLE_HASH_LEN);
    }

    /* Consistency proofs between the signed roots. */
    for (i = 0; i < json_array_size(proofs); i++) {
        json_t *p = json_array_get(proofs, i);
        uint64_t s1 = (uint64_t)json_integer_value(json_object_get(p, "size1"));
        uint64_t s2 = (uint64_t)json_integer_value(json_object_get(p, "size2"));
        json_t *arr = json_object_get(p, "proof");
        uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
        size_t np = json_array_size(arr), k;

        assert_true(s1 < n && s2 < n && np <= MERKLE_MAX_PROOF);
        for (k = 0; k < np; k++) {
            size_t hl = 0;
            uint8_t *h =
                mtu_b64(json_string_value(json_array_get(arr, k)), &hl);
            assert_non_null(h);
            assert_int_equal(hl, MERKLE_HASH_LEN);
            memcpy(hashes[k], h, MERKLE_HASH_LEN);
            free(h);
        }
        err = merkle_verify_consistency(s1, s2, cps[s1].root, cps[s2].root,
                                        (const uint8_t(*)[32])hashes, np);
        if (err != MERKLE_OK) {
            fail_msg("proof %llu -> %llu: %s", (unsigned long long)s1,
                     (unsigned long long)s2, merkle_strerror(err));
        }
        if (s1 < s2 && s2 > 1) {
            /* twin: the other checkpoint's root */
            err = merkle_verify_consistency(s1, s2, cps[s1].root,
                                            cps[s2 - 1].root,
                                            (const uint8_t(*)[32])hashes, np);
            assert_int_not_equal(err, MERKLE_OK);
        }
        nproofs++;
    }
    printf("tessera: %zu consistency proofs verified\n", nproofs);
    assert_true(nproofs > 0);
    free(latest);
    free(entries);
    merkle_note_key_free(key);
    json_decref(doc);
}

/* ---- API rules ------------------------------------------------------ */

static void
test_key_rules(void **state)
{
    struct merkle_note_key *k, *k2;
    enum merkle_result err;
    uint8_t raw[32];
    char buf[600];

    (void)state;
    memset(raw, 7, sizeof(raw));
    /* Names: non-empty, no space, no '+', no control bytes. */
    assert_null(merkle_note_key_ed25519("", raw, &err));
    assert_int_equal(err, MERKLE_ERR_KEY);
    assert_null(merkle_note_key_ed25519("a b", raw, &err));
    assert_null(merkle_note_key_ed25519("a+b", raw, &err));
    assert_null(merkle_note_key_ed25519("a\tb", raw, &err));
    assert_null(merkle_note_key_ed25519("a\xc2\xa0"
                                        "b",
                                        raw, &err)); /* NBSP */
    assert_null(merkle_note_key_ed25519("\xff", raw, &err));
    memset(buf, 'n', MERKLE_NOTE_MAX_NAME);
    buf[MERKLE_NOTE_MAX_NAME] = '\0';
    assert_null(merkle_note_key_ed25519(buf, raw, &err));
    buf[MERKLE_NOTE_MAX_NAME - 1] = '\0';
    k = merkle_note_key_ed25519(buf, raw, &err);
    assert_non_null(k);
    merkle_note_key_free(k);
    k = merkle_note_key_ed25519("example.com/log", raw, &err);
    assert_non_null(k);
    assert_int_equal(err, MERKLE_OK);
    assert_int_equal(merkle_note_key_alg(k), MERKLE_KEY_ED25519);
    assert_string_equal(merkle_note_key_name(k), "example.com/log");
    merkle_note_key_free(k);
    merkle_note_key_free(NULL);

    /* vkeys: a good Ed25519 one from the vectors, then one change at a
     * time. */
    {
        json_t *doc = load_json("note/note-vectors.json");
        json_t *cases = json_object_get(doc, "cases");
        const char *good = NULL;
        char *p1, *p2;
        uint8_t kb[64];
        long kl;
        size_t ci;

        for (ci = 0; ci < json_array_size(cases) && good == NULL; ci++) {
            json_t *vk =
                json_object_get(json_array_get(cases, ci), "verifierKeys");
            if (json_array_size(vk) > 0) {
                const char *v = json_string_value(json_array_get(vk, 0));
                const char *b = strrchr(v, '+');
                if (b != NULL && b[1] == 'A') { /* 0x01: Ed25519 */
                    good = v;
                }
            }
        }
        assert_non_null(good);
        assert_true(strlen(good) < sizeof(buf));
        k = merkle_note_key_from_vkey(good, &err);
        assert_non_null(k);
        assert_int_equal(err, MERKLE_OK);
        p1 = strchr(good, '+');
        assert_int_equal(merkle_note_key_id(k),
                         (uint32_t)strtoul(p1 + 1, NULL, 16));
        merkle_note_key_free(k);

        /* upper-case hex id: the same key */
        strcpy(buf, good);
        p1 = strchr(buf, '+');
        for (ci = 1; ci <= 8; ci++) {
            p1[ci] = (char)(p1[ci] >= 'a' ? p1[ci] - 32 : p1[ci]);
        }
        k = merkle_note_key_from_vkey(buf, &err);
        assert_non_null(k);
        merkle_note_key_free(k);
        /* another id */
        strcpy(buf, good);
        p1 = strchr(buf, '+');
        p1[8] = p1[8] == '0' ? '1' : '0';
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        /* another name (the id no longer matches) */
        strcpy(buf, good);
        buf[0] = buf[0] == 'x' ? 'y' : 'x';
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        /* id of 7 digits, no name, no key, nothing */
        strcpy(buf, good);
        p1 = strchr(buf, '+');
        memmove(p1 + 1, p1 + 2, strlen(p1 + 2) + 1);
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_null(merkle_note_key_from_vkey(strchr(good, '+'), &err));
        strcpy(buf, good);
        *strrchr(buf, '+') = '\0';
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_null(merkle_note_key_from_vkey("", &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        assert_null(merkle_note_key_from_vkey(NULL, &err));
        assert_int_equal(err, MERKLE_ERR_ARG);
        /* unknown algorithm byte; truncated key */
        strcpy(buf, good);
        p2 = strrchr(buf, '+') + 1;
        kl = merkle_b64_decode(p2, strlen(p2), kb, sizeof(kb));
        assert_int_equal(kl, 33);
        kb[0] = 0x03;
        assert_true(merkle_b64_encode(kb, 33, p2,
                                      sizeof(buf) - (size_t)(p2 - buf)) > 0);
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        kb[0] = 0x01;
        assert_true(merkle_b64_encode(kb, 30, p2,
                                      sizeof(buf) - (size_t)(p2 - buf)) > 0);
        assert_null(merkle_note_key_from_vkey(buf, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        json_decref(doc);
    }

    /* ECDSA: bad DER, trailing bytes. */
    assert_null(merkle_note_key_ecdsa("x", raw, sizeof(raw), &err));
    assert_int_equal(err, MERKLE_ERR_KEY);
    {
        char *pem = mtu_read_testdata("rekor/rekor.sigstore.dev.pub", NULL);
        uint8_t *der, *longer;
        size_t dl = 0;
        assert_non_null(pem);
        der = mtu_pem_spki(pem, &dl);
        assert_non_null(der);
        k = merkle_note_key_ecdsa("rekor.sigstore.dev", der, dl, &err);
        assert_non_null(k);
        assert_int_equal(merkle_note_key_alg(k), MERKLE_KEY_ECDSA);
        longer = malloc(dl + 1);
        assert_non_null(longer);
        memcpy(longer, der, dl);
        longer[dl] = 0;
        assert_null(
            merkle_note_key_ecdsa("rekor.sigstore.dev", longer, dl + 1, &err));
        assert_int_equal(err, MERKLE_ERR_KEY);
        /* Same name and id twice: ambiguous. */
        k2 = merkle_note_key_ecdsa("rekor.sigstore.dev", der, dl, &err);
        assert_non_null(k2);
        {
            struct merkle_note_key *two[2] = {k, k2};
            const char *note = "x\n\n\xe2\x80\x94 other AAAAAAAA\n";
            assert_int_equal(
                merkle_note_verify(note, strlen(note), two, 2, NULL),
                MERKLE_ERR_KEY);
            assert_int_equal(
                merkle_note_verify(note, strlen(note), two, 1, NULL),
                MERKLE_ERR_NOTE_UNVERIFIED);
        }
        merkle_note_key_free(k2);
        merkle_note_key_free(k);
        free(longer);
        free(der);
        free(pem);
    }
}

static void
test_note_rules(void **state)
{
    const char *ok = "text\n\n\xe2\x80\x94 a AAAAAAA=\n";
    struct merkle_note_result res;
    char *big;
    size_t i, len;

    (void)state;
    assert_int_equal(merkle_note_parse(ok, strlen(ok), &res), MERKLE_OK);
    assert_int_equal(res.text_len, 5);
    assert_int_equal(res.nsigs, 1);
    /* key id + at least one signature byte */
    {
        const char *s = "text\n\n\xe2\x80\x94 a AAAAAA==\n";
        assert_int_equal(merkle_note_parse(s, strlen(s), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
    }
    /* hyphen instead of em dash, missing space, empty name */
    assert_int_equal(merkle_note_parse("text\n\n- a AAAAAAA=\n", 19, NULL),
                     MERKLE_ERR_NOTE_MALFORMED);
    {
        const char *s1 = "text\n\n\xe2\x80\x94"
                         "a AAAAAAA=\n";
        const char *s2 = "text\n\n\xe2\x80\x94  AAAAAAA=\n";
        const char *s3 = "text\n\n\xe2\x80\x94 a+b AAAAAAA=\n";
        const char *s4 = "text\n\n\xe2\x80\x94 a AAAAAAA\n";
        const char *s5 = "te\rxt\n\n\xe2\x80\x94 a AAAAAAA=\n";
        const char *s6 = "text\n\n\xe2\x80\x94 a AAAAAAA=\n\n";
        const char *s7 = "te\xed\xa0\x80xt\n\n\xe2\x80\x94 a AAAAAAA=\n";
        /* Text with blank lines: the split is at the last one. */
        const char *s8 = "a\n\nb\n\n\xe2\x80\x94 a AAAAAAA=\n";
        assert_int_equal(merkle_note_parse(s1, strlen(s1), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s2, strlen(s2), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s3, strlen(s3), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s4, strlen(s4), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s5, strlen(s5), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s6, strlen(s6), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s7, strlen(s7), NULL),
                         MERKLE_ERR_NOTE_MALFORMED);
        assert_int_equal(merkle_note_parse(s8, strlen(s8), &res), MERKLE_OK);
        assert_int_equal(res.text_len, 5);
    }

    /* 100 signature lines are fine, 101 are too many. */
    len = 6 + 101 * 15;
    big = malloc(len + 1);
    assert_non_null(big);
    memcpy(big, "text\n\n", 6);
    for (i = 0; i < 101; i++) {
        memcpy(big + 6 + i * 15, "\xe2\x80\x94 a AAAAAAA=\n", 15);
    }
    big[len] = '\0';
    assert_int_equal(merkle_note_parse(big, len - 15, &res), MERKLE_OK);
    assert_int_equal(res.nsigs, MERKLE_NOTE_MAX_SIGS);
    assert_int_equal(merkle_note_parse(big, len, NULL),
                     MERKLE_ERR_NOTE_TOO_MANY);
    free(big);

    /* Size limit. */
    {
        static const char tail[] = "\n\n\xe2\x80\x94 a AAAAAAA=\n";
        len = MERKLE_NOTE_MAX_SIZE + 1;
        big = malloc(len);
        assert_non_null(big);
        memset(big, 'x', len);
        memcpy(big + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
    }
    assert_int_equal(merkle_note_parse(big, len, NULL),
                     MERKLE_ERR_NOTE_MALFORMED);
    assert_int_equal(merkle_note_parse(big + 1, len - 1, NULL), MERKLE_OK);
    free(big);
}

static void
test_checkpoint_rules(void **state)
{
    struct merkle_checkpoint ck;
    const char *root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    char buf[512];

    (void)state;
#define CP(origin, size, tail)                                                 \
    snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s", origin, size, root, tail)
    CP("rekor.sigstore.dev - 1193050959916656506", "0", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck), MERKLE_OK);
    assert_string_equal(ck.origin, "rekor.sigstore.dev - 1193050959916656506");
    assert_int_equal(ck.size, 0);
    assert_int_equal(ck.next_line, strlen(buf));
    CP("o", "18446744073709551615", "Timestamp: 1\n");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck), MERKLE_OK);
    assert_int_equal(ck.size, UINT64_MAX);
    assert_int_equal(ck.next_line, strlen(buf) - strlen("Timestamp: 1\n"));
    CP("o", "18446744073709551616", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    CP("o", "007", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    CP("o", "+7", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    CP("o", "", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    CP("", "7", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    /* no final newline */
    CP("o", "7", "");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf) - 1, &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    /* origin length limit */
    {
        char origin[MERKLE_ORIGIN_MAX + 1];
        memset(origin, 'o', sizeof(origin));
        origin[MERKLE_ORIGIN_MAX] = '\0';
        CP(origin, "7", "");
        assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                         MERKLE_ERR_NOTE_MALFORMED);
        origin[MERKLE_ORIGIN_MAX - 1] = '\0';
        CP(origin, "7", "");
        assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                         MERKLE_OK);
    }
    /* a 31-byte root and a 33-byte root */
    snprintf(buf, sizeof(buf), "o\n7\n%s\n",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
    snprintf(buf, sizeof(buf), "o\n7\n%s\n",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(merkle_checkpoint_parse(buf, strlen(buf), &ck),
                     MERKLE_ERR_NOTE_MALFORMED);
#undef CP
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_note_vectors),
        cmocka_unit_test(test_checkpoint_bodies),
        cmocka_unit_test(test_raw_notes),
        cmocka_unit_test(test_rekor_checkpoints),
        cmocka_unit_test(test_rekor_api_entries),
        cmocka_unit_test(test_rekor_v2_bundles),
        cmocka_unit_test(test_tessera_log),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_note_rules),
        cmocka_unit_test(test_checkpoint_rules),
    };

    if (mtu_testdata() == NULL) {
        fprintf(stderr, "TLOGWATCH_TESTDATA is not set\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
