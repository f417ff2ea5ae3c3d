/*
 * attest.c: PCRs from the in-toto attestation of an intoto/dsse entry (see
 * attest.h for the contract).
 *
 * Invariants kept here:
 *  - the order of the checks is body, then attestation bytes against the
 *    body's payloadHash, then the statement: nothing of the attestation is
 *    parsed before its hash matches what the tree proves (attest_statement
 *    is that last step alone, for bytes whose hash a caller checked: the
 *    statement found in a registry's .att manifest, monitor/registry/oci.c);
 *  - every JSON document is parsed with JSON_REJECT_DUPLICATES, after a
 *    size check, and walked only after a depth check (ATTEST_MAX_DEPTH);
 *  - out->why is built from fixed text, names of places chosen here,
 *    lengths, and hex that was checked to be hex: never other input bytes;
 *  - out->pcrs.hex is lowercase, out->pcrs.present has bits 0..3 only
 *    (indexes as struct oci_pcrs: 0, 1, 2, 3 = PCR8).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "monitor/identity/attest.h"
#include "monitor/identity/entry.h"

#define ATTEST_NPCR 4
#define ATTEST_REQUIRED 0x7u /* PCR0, PCR1, PCR2 */
#define ATTEST_MAX_PLACES 5  /* Measurements, predicate, pcrs, PCRs, Data */
#define ATTEST_WHY_HEX 16    /* hex digits of a hash quoted in why */

static const char *const pcr_names[ATTEST_NPCR] = {"PCR0", "PCR1", "PCR2",
                                                   "PCR8"};

static enum attest_status set_why(struct attest_result *out,
                                  enum attest_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum attest_status
set_why(struct attest_result *out, enum attest_status st, const char *fmt, ...)
{
    va_list ap;

    out->status = st;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
    return st;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* s[0 .. len) is hex (either case): 1, else 0. */
static int
all_hex(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (hexval(s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

/* Lowercase copy of checked hex into out (len + 1 bytes). */
static void
lower_hex(const char *s, size_t len, char *out)
{
    size_t i;

    for (i = 0; i < len; i++) {
        out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    out[len] = '\0';
}

static void
to_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* v is the string lit exactly (no embedded NUL, same length). */
static int
str_is(const json_t *v, const char *lit)
{
    size_t n = strlen(lit);

    return json_is_string(v) && json_string_length(v) == n &&
           memcmp(json_string_value(v), lit, n) == 0;
}

/* Nesting of v at most ATTEST_MAX_DEPTH levels below depth: 1, else 0. */
static int
depth_ok(json_t *v, unsigned depth)
{
    size_t i;
    void *it;

    if (depth > ATTEST_MAX_DEPTH) {
        return 0;
    }
    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            if (!depth_ok(json_array_get(v, i), depth + 1)) {
                return 0;
            }
        }
    } else if (json_is_object(v)) {
        for (it = json_object_iter(v); it != NULL;
             it = json_object_iter_next(v, it)) {
            if (!depth_ok(json_object_iter_value(it), depth + 1)) {
                return 0;
            }
        }
    }
    return 1;
}

static json_t *
get_path2(json_t *o, const char *a, const char *b)
{
    o = json_object_get(o, a);
    return json_is_object(o) ? json_object_get(o, b) : NULL;
}

/*
 * The SHA-256 payloadHash of an intoto 0.0.1/0.0.2 or dsse 0.0.1 body
 * into hash.  ATTEST_PCRS when found (a placeholder for "ok"), else
 * ATTEST_MALFORMED with why set.
 */
static enum attest_status
body_payload_hash(const uint8_t *body, size_t len, uint8_t hash[32],
                  struct attest_result *out)
{
    json_error_t jerr;
    json_t *root, *kind, *ver, *spec, *ph = NULL, *v;
    enum attest_status st = ATTEST_MALFORMED;
    const char *hex;
    size_t i;

    if (body == NULL || len == 0 || len > ENTRY_MAX_BODY) {
        return set_why(out, ATTEST_MALFORMED,
                       "the entry body is empty or over %d bytes",
                       ENTRY_MAX_BODY);
    }
    root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        set_why(out, st, "the entry body is not a JSON object");
        goto done;
    }
    kind = json_object_get(root, "kind");
    ver = json_object_get(root, "apiVersion");
    spec = json_object_get(root, "spec");
    if (!json_is_object(spec)) {
        set_why(out, st, "the entry body has no spec object");
        goto done;
    }
    if (str_is(kind, "intoto") &&
        (str_is(ver, "0.0.1") || str_is(ver, "0.0.2"))) {
        ph = get_path2(spec, "content", "payloadHash");
    } else if (str_is(kind, "dsse") && str_is(ver, "0.0.1")) {
        ph = json_object_get(spec, "payloadHash");
    } else {
        set_why(out, st,
                "the entry is not an intoto 0.0.1/0.0.2 or dsse 0.0.1 entry");
        goto done;
    }
    if (!json_is_object(ph) ||
        !str_is(json_object_get(ph, "algorithm"), "sha256")) {
        set_why(out, st, "the entry body has no sha256 payloadHash");
        goto done;
    }
    v = json_object_get(ph, "value");
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        !all_hex(json_string_value(v), 64)) {
        set_why(out, st, "the body's payloadHash value is not 64 hex digits");
        goto done;
    }
    hex = json_string_value(v);
    for (i = 0; i < 32; i++) {
        hash[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    }
    st = ATTEST_PCRS;
done:
    json_decref(root);
    return st;
}

/*
 * PCR0/1/2/8 of the object obj (a place named name) into p.  Returns 0
 * when it has none of them, 1 when it has a complete set, -1 (why set,
 * ATTEST_UNTRUSTED) when one is malformed or PCR0..2 are incomplete.
 */
static int
read_place(json_t *obj, const char *name, struct oci_pcrs *p,
           struct attest_result *out)
{
    char missing[32] = "";
    size_t i, n;
    json_t *v;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < ATTEST_NPCR; i++) {
        v = json_object_get(obj, pcr_names[i]);
        if (v == NULL) {
            continue;
        }
        if (!json_is_string(v)) {
            set_why(out, ATTEST_UNTRUSTED, "%s.%s is not a string", name,
                    pcr_names[i]);
            return -1;
        }
        n = json_string_length(v);
        if (n != OCI_PCR_HEX_LEN || !all_hex(json_string_value(v), n)) {
            set_why(out, ATTEST_UNTRUSTED,
                    "%s.%s is not %d hex digits (%zu characters)", name,
                    pcr_names[i], OCI_PCR_HEX_LEN, n);
            return -1;
        }
        lower_hex(json_string_value(v), n, p->hex[i]);
        p->present |= 1u << i;
    }
    if (p->present == 0) {
        return 0;
    }
    if ((p->present & ATTEST_REQUIRED) != ATTEST_REQUIRED) {
        for (i = 0; i < 3; i++) {
            if ((p->present & (1u << i)) == 0) {
                strcat(missing, missing[0] ? ", " : "");
                strcat(missing, pcr_names[i]);
            }
        }
        set_why(out, ATTEST_UNTRUSTED,
                "%s has PCRs but lacks %s (PCR0, PCR1 and PCR2 are required)",
                name, missing);
        return -1;
    }
    return 1;
}

/*
 * predicate.Data as describe-eif JSON: *root is set to the parsed
 * document (caller frees) and its Measurements object returned, or NULL
 * when Data is absent, not a string, not JSON, too deep or without an
 * object Measurements.  A Data whose JSON has a duplicate key is
 * ambiguous: -1 through *bad (why set).
 */
static json_t *
data_measurements(json_t *pred, json_t **root, int *bad,
                  struct attest_result *out)
{
    json_error_t jerr;
    json_t *d = json_object_get(pred, "Data"), *m;
    const char *s;
    size_t n, i = 0;

    *root = NULL;
    *bad = 0;
    if (!json_is_string(d)) {
        return NULL;
    }
    s = json_string_value(d);
    n = json_string_length(d);
    while (i < n &&
           (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) {
        i++;
    }
    if (i == n || s[i] != '{') {
        return NULL;
    }
    *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL) {
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            set_why(out, ATTEST_UNTRUSTED,
                    "predicate.Data is JSON with a duplicate key");
            *bad = 1;
        }
        return NULL;
    }
    if (!depth_ok(*root, 0)) {
        return NULL;
    }
    m = json_object_get(*root, "Measurements");
    return json_is_object(m) ? m : NULL;
}

/* The first subject's sha256 digest into out->pcrs.artifact_digest. */
static int
subject_digest(json_t *subject, struct attest_result *out)
{
    json_t *s0, *d, *v;

    out->pcrs.artifact_digest[0] = '\0';
    if (json_array_size(subject) == 0) {
        return 0;
    }
    s0 = json_array_get(subject, 0);
    d = json_object_get(s0, "digest");
    if (!json_is_object(s0) || !json_is_object(d)) {
        set_why(out, ATTEST_MALFORMED,
                "the statement's first subject has no digest object");
        return -1;
    }
    v = json_object_get(d, "sha256");
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        !all_hex(json_string_value(v), 64)) {
        set_why(out, ATTEST_MALFORMED,
                "the first subject's sha256 digest is not 64 hex digits");
        return -1;
    }
    memcpy(out->pcrs.artifact_digest, "sha256:", 7);
    lower_hex(json_string_value(v), 64, out->pcrs.artifact_digest + 7);
    return 0;
}

/* The statement (verified bytes): subject digest and PCRs into out. */
static enum attest_status
statement(const uint8_t *buf, size_t len, struct attest_result *out)
{
    static const char *const place_names[ATTEST_MAX_PLACES] = {
        "predicate.Measurements", "predicate", "predicate.pcrs",
        "predicate.PCRs", "predicate.Data (Measurements)"};
    json_error_t jerr;
    json_t *root, *subject, *pred, *data_root = NULL;
    json_t *places[ATTEST_MAX_PLACES] = {NULL};
    struct oci_pcrs found, p;
    const char *first = NULL;
    size_t i, j, nfound = 0;
    int r, bad;
    enum attest_status st = ATTEST_MALFORMED;

    root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        set_why(out, st,
                "the attestation is not a JSON object (or has a duplicate "
                "key)");
        goto done;
    }
    if (!depth_ok(root, 0)) {
        set_why(out, st, "the statement nests deeper than %d levels",
                ATTEST_MAX_DEPTH);
        goto done;
    }
    if (!str_is(json_object_get(root, "_type"),
                "https://in-toto.io/Statement/v0.1") &&
        !str_is(json_object_get(root, "_type"),
                "https://in-toto.io/Statement/v1")) {
        set_why(out, st, "the attestation is not an in-toto Statement (_type)");
        goto done;
    }
    subject = json_object_get(root, "subject");
    if (!json_is_array(subject)) {
        set_why(out, st, "the statement's subject is not an array");
        goto done;
    }
    if (subject_digest(subject, out) != 0) {
        goto done;
    }
    pred = json_object_get(root, "predicate");
    if (pred == NULL || json_is_null(pred)) {
        st = set_why(out, ATTEST_NO_PCRS,
                     "a verified statement without a "
                     "predicate");
        goto done;
    }
    if (!json_is_object(pred)) {
        set_why(out, st, "the statement's predicate is not an object");
        goto done;
    }
    places[0] = json_object_get(pred, "Measurements");
    places[1] = pred;
    places[2] = json_object_get(pred, "pcrs");
    places[3] = json_object_get(pred, "PCRs");
    places[4] = data_measurements(pred, &data_root, &bad, out);
    if (bad) {
        st = ATTEST_UNTRUSTED;
        goto done;
    }
    memset(&found, 0, sizeof(found));
    for (i = 0; i < ATTEST_MAX_PLACES; i++) {
        if (!json_is_object(places[i])) {
            continue;
        }
        r = read_place(places[i], place_names[i], &p, out);
        if (r < 0) {
            st = ATTEST_UNTRUSTED;
            goto done;
        }
        if (r == 0) {
            continue;
        }
        if (nfound == 0) {
            found = p;
            first = place_names[i];
        } else {
            for (j = 0; j < ATTEST_NPCR; j++) {
                if (((found.present ^ p.present) & (1u << j)) != 0 ||
                    strcmp(found.hex[j], p.hex[j]) != 0) {
                    st = set_why(out, ATTEST_UNTRUSTED,
                                 "PCRs in %s and %s disagree on %s", first,
                                 place_names[i], pcr_names[j]);
                    goto done;
                }
            }
        }
        nfound++;
    }
    if (nfound == 0) {
        st = set_why(out, ATTEST_NO_PCRS,
                     "a verified statement without PCRs in its predicate");
        goto done;
    }
    out->pcrs.present = found.present;
    memcpy(out->pcrs.hex, found.hex, sizeof(found.hex));
    st = set_why(out, ATTEST_PCRS, "PCRs found in %s (%zu place%s agree)",
                 first, nfound, nfound == 1 ? "" : "s");
done:
    json_decref(data_root);
    json_decref(root);
    return st;
}

enum attest_status
attest_check(const uint8_t *body, size_t body_len, const char *att_b64,
             size_t att_b64_len, struct attest_result *out)
{
    uint8_t want[32], got[32];
    char want_hex[65], got_hex[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    enum attest_status st;

    memset(out, 0, sizeof(*out));
    st = body_payload_hash(body, body_len, want, out);
    if (st != ATTEST_PCRS) {
        return st;
    }
    if (att_b64 == NULL || att_b64_len == 0) {
        return set_why(out, ATTEST_MALFORMED, "the entry has no attestation");
    }
    if (att_b64_len > (ATTEST_MAX_BYTES + 2) / 3 * 4) {
        return set_why(out, ATTEST_MALFORMED,
                       "the attestation is %zu base64 characters, over the "
                       "%u-byte limit",
                       att_b64_len, ATTEST_MAX_BYTES);
    }
    if (entry_b64_alloc(att_b64, att_b64_len, ATTEST_MAX_BYTES, &buf, &len) !=
        0) {
        return set_why(out, ATTEST_MALFORMED,
                       "the attestation is not canonical base64 of at most "
                       "%u bytes",
                       ATTEST_MAX_BYTES);
    }
    SHA256(buf, len, got);
    if (memcmp(got, want, sizeof(got)) != 0) {
        to_hex(want, sizeof(want), want_hex);
        to_hex(got, sizeof(got), got_hex);
        want_hex[ATTEST_WHY_HEX] = '\0';
        got_hex[ATTEST_WHY_HEX] = '\0';
        st = set_why(out, ATTEST_UNTRUSTED,
                     "the attestation's SHA-256 (%s...) is not the body's "
                     "payloadHash (%s...)",
                     got_hex, want_hex);
    } else {
        st = attest_statement(buf, len, out);
    }
    free(buf);
    return st;
}

enum attest_status
attest_statement(const uint8_t *stmt, size_t len, struct attest_result *out)
{
    enum attest_status st;

    memset(out, 0, sizeof(*out));
    if (stmt == NULL || len == 0) {
        return set_why(out, ATTEST_MALFORMED, "the statement is empty");
    }
    if (len > ATTEST_MAX_BYTES) {
        return set_why(out, ATTEST_MALFORMED,
                       "the statement is %zu bytes, over the %u-byte limit",
                       len, ATTEST_MAX_BYTES);
    }
    st = statement(stmt, len, out);
    if (st != ATTEST_PCRS) {
        out->pcrs.present = 0;
        memset(out->pcrs.hex, 0, sizeof(out->pcrs.hex));
    }
    if (st != ATTEST_PCRS && st != ATTEST_NO_PCRS) {
        out->pcrs.artifact_digest[0] = '\0';
    }
    return st;
}

enum attest_status
attest_payload_hash(const uint8_t *body, size_t body_len, char hex[65],
                    struct attest_result *out)
{
    uint8_t hash[32];

    memset(out, 0, sizeof(*out));
    hex[0] = '\0';
    if (body_payload_hash(body, body_len, hash, out) != ATTEST_PCRS) {
        return out->status;
    }
    to_hex(hash, sizeof(hash), hex);
    out->status = ATTEST_PCRS;
    return ATTEST_PCRS;
}

int
attest_kind_applies(const char *kind)
{
    return kind != NULL &&
           (strcmp(kind, "intoto") == 0 || strcmp(kind, "dsse") == 0);
}

const char *
attest_status_str(enum attest_status s)
{
    switch (s) {
    case ATTEST_PCRS:
        return "pcrs";
    case ATTEST_NO_PCRS:
        return "no_pcrs";
    case ATTEST_UNTRUSTED:
        return "untrusted";
    case ATTEST_MALFORMED:
        return "malformed";
    }
    return "unknown";
}
