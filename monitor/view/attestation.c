/*
 * attestation.c: an attestation document's answer (attestation.h).
 *
 * Invariants: every string put in the answer is either fixed text, hex,
 * a nitro.h reason (printable ASCII), the document's module_id (checked
 * printable ASCII by the parser), an RFC 2253 name with non-ASCII escaped,
 * or a signing field the store holds (written escaped by the decoder);
 * a string that is not valid UTF-8 becomes null.  The document itself is
 * never echoed beyond its hashes and the listed fields.
 */
#define _GNU_SOURCE /* gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "monitor/view/attestation.h"
#include "monitor/view/view.h"

const char *
attestation_verdict_str(enum attestation_verdict v)
{
    switch (v) {
    case ATTESTATION_KNOWN_BUILD:
        return "known_build";
    case ATTESTATION_UNKNOWN_BUILD:
        return "unknown_build";
    case ATTESTATION_DEBUG_MODE:
        return "debug_mode";
    default:
        return "invalid";
    }
}

/* ---- small builders; a failure sets *failed -------------------------- */

struct ab {
    int failed;
};

static json_t *
jstr(struct ab *b, const char *s)
{
    json_t *v;

    (void)b;
    if (s == NULL) {
        return json_null();
    }
    v = json_string(s); /* NULL for invalid UTF-8: shown as null */
    return v != NULL ? v : json_null();
}

static void
put(struct ab *b, json_t *o, const char *k, json_t *v)
{
    if (o == NULL || v == NULL || json_object_set_new(o, k, v) != 0) {
        b->failed = 1;
    }
}

static json_t *
hexstr(const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    json_t *v;
    size_t i;

    if (s == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        s[2 * i] = d[p[i] >> 4];
        s[2 * i + 1] = d[p[i] & 15];
    }
    s[2 * n] = '\0';
    v = json_string(s);
    free(s);
    return v;
}

static json_t *
sha256_hex(const uint8_t *p, size_t n)
{
    uint8_t d[SHA256_DIGEST_LENGTH];

    SHA256(p, n, d);
    return hexstr(d, sizeof(d));
}

/* RFC 3339 UTC of unix seconds, with milliseconds when ms >= 0. */
static json_t *
rfc3339(int64_t s, int ms)
{
    char out[48];
    time_t t = (time_t)s;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        return json_null();
    }
    if (ms >= 0) {
        char base[32];

        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, sizeof(out), "%s.%03dZ", base, ms);
    } else {
        strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return json_string(out);
}

static json_t *
asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return json_null();
    }
    return rfc3339((int64_t)timegm(&tm), -1);
}

/* An RFC 2253 name, non-ASCII escaped; null when it does not print. */
static json_t *
x509_name(const X509_NAME *n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    json_t *v = json_null();
    char *p;
    long len;

    if (bio == NULL) {
        return NULL;
    }
    if (X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) >= 0 &&
        (len = BIO_get_mem_data(bio, &p)) >= 0 && len < 4096) {
        json_decref(v);
        v = json_stringn(p, (size_t)len);
        if (v == NULL) {
            v = json_null();
        }
    }
    BIO_free(bio);
    return v;
}

static json_t *
check(struct ab *b, const char *outcome, const char *detail)
{
    json_t *o = json_object();

    put(b, o, "outcome", json_string(outcome));
    put(b, o, "detail", jstr(b, detail));
    return o;
}

/* An https:// URL of printable ASCII, else null. */
static json_t *
https_url(const char *u)
{
    size_t i, n;

    if (u == NULL || strncmp(u, "https://", 8) != 0 || (n = strlen(u)) > 2048) {
        return json_null();
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)u[i];

        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '<' || ch == '>') {
            return json_null();
        }
    }
    return json_string(u);
}

/* ---- the document ------------------------------------------------------ */

static json_t *
doc_json(struct ab *b, const struct nitro_doc *d)
{
    static const int shown[] = {0, 1, 2, 3, 4, 8};
    json_t *o = json_object(), *pcrs = json_object(), *cert = json_object();
    const unsigned char *p = d->certificate.p;
    X509 *leaf = d2i_X509(NULL, &p, (long)d->certificate.len);
    char name[8];
    size_t i;

    put(b, o, "module_id", jstr(b, d->module_id));
    put(b, o, "timestamp", json_integer((json_int_t)d->timestamp_ms));
    put(b, o, "time",
        rfc3339((int64_t)(d->timestamp_ms / 1000),
                (int)(d->timestamp_ms % 1000)));
    put(b, o, "digest", json_string("SHA384"));
    for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        if (d->pcr_present & (UINT32_C(1) << shown[i])) {
            snprintf(name, sizeof(name), "PCR%d", shown[i]);
            put(b, pcrs, name, hexstr(d->pcrs[shown[i]], NITRO_PCR_LEN));
        }
    }
    put(b, o, "pcrs", pcrs);
    put(b, cert, "sha256", sha256_hex(d->certificate.p, d->certificate.len));
    put(b, cert, "subject",
        leaf != NULL ? x509_name(X509_get_subject_name(leaf)) : json_null());
    put(b, cert, "not_before",
        leaf != NULL ? asn1_time(X509_get0_notBefore(leaf)) : json_null());
    put(b, cert, "not_after",
        leaf != NULL ? asn1_time(X509_get0_notAfter(leaf)) : json_null());
    put(b, o, "certificate", cert);
    put(b, o, "cabundle_length", json_integer((json_int_t)d->ncabundle));
    put(b, o, "public_key_sha256",
        d->has_public_key ? sha256_hex(d->public_key.p, d->public_key.len)
                          : json_null());
    put(b, o, "user_data_sha256",
        d->has_user_data ? sha256_hex(d->user_data.p, d->user_data.len)
                         : json_null());
    put(b, o, "nonce",
        d->has_nonce ? hexstr(d->nonce.p, d->nonce.len) : json_null());
    X509_free(leaf);
    return o;
}

static json_t *
root_json(struct ab *b, X509 *root)
{
    json_t *o = json_object();
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (root != NULL && X509_digest(root, EVP_sha256(), md, &n) == 1) {
        put(b, o, "sha256", hexstr(md, n));
    } else {
        put(b, o, "sha256", json_null());
    }
    put(b, o, "subject",
        root != NULL ? x509_name(X509_get_subject_name(root)) : json_null());
    return o;
}

/* Record a failed check: checks.name and a line in reasons. */
static void
failed(struct ab *b, json_t *checks, json_t *reasons, const char *name,
       const char *detail)
{
    char line[NITRO_WHY_MAX + 32];

    put(b, checks, name, check(b, "fail", detail));
    snprintf(line, sizeof(line), "%s: %s", name, detail);
    if (json_array_append_new(reasons, json_string(line)) != 0) {
        b->failed = 1;
    }
}

int
attestation_check(const uint8_t *buf, size_t len,
                  const struct attestation_opts *o, struct attestation *a,
                  char why[NITRO_WHY_MAX])
{
    struct ab b = {0};
    json_t *checks, *reasons;
    char w[NITRO_WHY_MAX];

    memset(a, 0, sizeof(*a));
    if (nitro_parse(buf, len, &a->doc, why) != 0) {
        return -1;
    }
    a->answer = json_object();
    checks = json_object();
    reasons = json_array();
    if (a->answer == NULL || checks == NULL || reasons == NULL) {
        json_decref(checks);
        json_decref(reasons);
        json_decref(a->answer);
        a->answer = NULL;
        snprintf(why, NITRO_WHY_MAX, "out of memory");
        return -1;
    }
    put(&b, a->answer, "schema", json_string(ATTESTATION_SCHEMA));
    /* Placeholders, so that the verdict comes first when printed. */
    put(&b, a->answer, "verdict", json_null());
    put(&b, a->answer, "summary", json_null());
    put(&b, a->answer, "document", doc_json(&b, &a->doc));
    put(&b, checks, "cose",
        check(&b, "pass",
              "COSE_Sign1 with ES384; payload fields of the expected "
              "types and sizes"));
    if (nitro_verify_signature(&a->doc, w) == 0) {
        put(&b, checks, "signature",
            check(&b, "pass",
                  "ES384 over the Sig_structure verifies with the "
                  "certificate's key"));
    } else {
        failed(&b, checks, reasons, "signature", w);
    }
    if (nitro_verify_chain(&a->doc, o->root, w) == 0) {
        put(&b, checks, "chain",
            check(&b, "pass",
                  "certificate -> cabundle -> root verifies at the "
                  "document's time"));
    } else {
        failed(&b, checks, reasons, "chain", w);
    }
    if (o->nonce == NULL) {
        put(&b, checks, "nonce", check(&b, "skipped", "no --nonce given"));
    } else if (!a->doc.has_nonce) {
        failed(&b, checks, reasons, "nonce", "the document has no nonce");
    } else if (a->doc.nonce.len != o->nonce_len ||
               CRYPTO_memcmp(a->doc.nonce.p, o->nonce, o->nonce_len) != 0) {
        failed(&b, checks, reasons, "nonce",
               "the document's nonce is not the one expected");
    } else {
        put(&b, checks, "nonce",
            check(&b, "pass", "the document's nonce is the one expected"));
    }
    if (o->max_age_s <= 0) {
        put(&b, checks, "max_age", check(&b, "skipped", "no --max-age given"));
    } else {
        int64_t ts = (int64_t)(a->doc.timestamp_ms / 1000);

        if (ts > o->now + ATTESTATION_MAX_SKEW_S) {
            snprintf(w, sizeof(w),
                     "the document's time is %lld s ahead of the clock",
                     (long long)(ts - o->now));
            failed(&b, checks, reasons, "max_age", w);
        } else if (o->now - ts > o->max_age_s) {
            snprintf(w, sizeof(w),
                     "the document is %lld s old, more than %lld s",
                     (long long)(o->now - ts), (long long)o->max_age_s);
            failed(&b, checks, reasons, "max_age", w);
        } else {
            snprintf(w, sizeof(w), "the document is %lld s old (at most %lld)",
                     (long long)(o->now - ts), (long long)o->max_age_s);
            put(&b, checks, "max_age", check(&b, "pass", w));
        }
    }
    put(&b, a->answer, "checks", checks);
    put(&b, a->answer, "reasons", reasons);
    put(&b, a->answer, "root", root_json(&b, o->root));
    if (json_array_size(reasons) > 0) {
        a->verdict = ATTESTATION_INVALID;
    } else if (nitro_debug_mode(&a->doc)) {
        a->verdict = ATTESTATION_DEBUG_MODE;
    } else {
        a->verdict = ATTESTATION_UNKNOWN_BUILD;
        a->needs_lookup = 1;
    }
    if (b.failed) {
        attestation_release(a);
        snprintf(why, NITRO_WHY_MAX, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- the lookup ------------------------------------------------------- */

struct lookup {
    struct store *s;
    struct ab *b;
    json_t *signings;
    size_t clean;
    int store_failed;
};

static int
lookup_cb(void *arg, const struct store_signing *g)
{
    struct lookup *l = arg;
    struct ab *b = l->b;
    struct store_log_status ls;
    json_t *o = json_object(), *log = json_object(), *types = json_array();
    char *alerts[VIEW_ALERT_TYPES];
    const char *verdict;
    size_t i, n = 0;

    if (view_signing_alerts(l->s, g, alerts, VIEW_ALERT_TYPES, &n) != 0 ||
        store_log_status(l->s, g->log_id, &ls) != 0) {
        for (i = 0; i < n; i++) {
            free(alerts[i]);
        }
        json_decref(o);
        json_decref(log);
        json_decref(types);
        l->store_failed = 1;
        return 1;
    }
    verdict = view_signing_verdict(g, (const char *const *)alerts, n);
    put(b, o, "repository", jstr(b, g->repository));
    put(b, o, "rule", jstr(b, g->rule));
    put(b, o, "commit", jstr(b, g->workflow_sha));
    put(b, o, "workflow", jstr(b, g->workflow_path));
    put(b, o, "ref", jstr(b, g->ref));
    put(b, o, "trigger", jstr(b, g->trigger));
    put(b, o, "runner", jstr(b, g->runner_environment));
    put(b, o, "run_url", https_url(g->run_invocation_uri));
    put(b, log, "name", jstr(b, ls.name));
    put(b, log, "origin", jstr(b, ls.origin));
    put(b, o, "log", log);
    put(b, o, "log_index", json_integer((json_int_t)g->log_index));
    put(b, o, "uuid", jstr(b, g->uuid));
    put(b, o, "integrated_time", rfc3339(g->integrated_time, -1));
    put(b, o, "pcrs_source",
        jstr(b, g->pcrs_source ? g->pcrs_source : "signature"));
    put(b, o, "policy_verdict", jstr(b, g->verdict));
    put(b, o, "verdict", jstr(b, verdict));
    for (i = 0; i < n; i++) {
        if (json_array_append_new(types, jstr(b, alerts[i])) != 0) {
            b->failed = 1;
        }
    }
    put(b, o, "alerted", json_boolean(n > 0));
    put(b, o, "alerts", types);
    if (json_array_append_new(l->signings, o) != 0) {
        b->failed = 1;
    }
    l->clean += view_verdict_allowed(verdict);
    for (i = 0; i < n; i++) {
        free(alerts[i]);
    }
    return b->failed ? 1 : 0;
}

static void
pcr_hex(const struct nitro_doc *d, int i, char out[NITRO_PCR_HEX + 1])
{
    static const char x[] = "0123456789abcdef";
    int k;

    for (k = 0; k < NITRO_PCR_LEN; k++) {
        out[2 * k] = x[d->pcrs[i][k] >> 4];
        out[2 * k + 1] = x[d->pcrs[i][k] & 15];
    }
    out[NITRO_PCR_HEX] = '\0';
}

json_t *
attestation_answer(struct attestation *a, struct store *s,
                   enum attestation_verdict *verdict, int *clean, char *err,
                   size_t errcap)
{
    static const uint8_t zero[NITRO_PCR_LEN];
    struct ab b = {0};
    struct lookup l;
    json_t *answer = a->answer, *checks = json_object_get(answer, "checks");
    char pcr[4][NITRO_PCR_HEX + 1], sum[512], why[160];
    const char *pcr8 = NULL;

    memset(&l, 0, sizeof(l));
    l.s = s;
    l.b = &b;
    l.signings = json_array();
    a->answer = NULL;
    *clean = 0;
    *verdict = a->verdict;
    if (l.signings == NULL || answer == NULL) {
        goto oom;
    }
    if (!a->needs_lookup) {
        put(&b, checks, "pcrs",
            check(&b, "skipped",
                  a->verdict == ATTESTATION_DEBUG_MODE
                      ? "a debug-mode enclave's PCRs prove nothing"
                      : "the document is invalid"));
    } else if ((a->doc.pcr_present & 7u) != 7u) {
        put(&b, checks, "pcrs",
            check(&b, "fail", "the document lacks PCR0, PCR1 or PCR2"));
    } else {
        pcr_hex(&a->doc, 0, pcr[0]);
        pcr_hex(&a->doc, 1, pcr[1]);
        pcr_hex(&a->doc, 2, pcr[2]);
        if ((a->doc.pcr_present & (1u << 8)) &&
            memcmp(a->doc.pcrs[8], zero, NITRO_PCR_LEN) != 0) {
            pcr_hex(&a->doc, 8, pcr[3]);
            pcr8 = pcr[3];
        }
        if (s == NULL ||
            store_signings_by_pcrs(s, pcr[0], pcr[1], pcr[2], pcr8,
                                   ATTESTATION_MAX_SIGNINGS, lookup_cb,
                                   &l) != 0 ||
            l.store_failed) {
            snprintf(err, errcap, "%s",
                     s != NULL ? store_errmsg(s) : "no state to look in");
            json_decref(l.signings);
            json_decref(answer);
            return NULL;
        }
        if (json_array_size(l.signings) > 0) {
            *verdict = ATTESTATION_KNOWN_BUILD;
            snprintf(why, sizeof(why),
                     "%zu recorded signing(s) with these PCR0, PCR1, PCR2%s",
                     json_array_size(l.signings),
                     pcr8 != NULL ? " (and PCR8 where recorded)" : "");
            put(&b, checks, "pcrs", check(&b, "pass", why));
        } else {
            *verdict = ATTESTATION_UNKNOWN_BUILD;
            put(&b, checks, "pcrs",
                check(&b, "fail",
                      pcr8 != NULL ? "no recorded signing has these PCR0, "
                                     "PCR1, PCR2 and PCR8"
                                   : "no recorded signing has these PCR0, "
                                     "PCR1 and PCR2"));
        }
    }
    switch (*verdict) {
    case ATTESTATION_INVALID: {
        const char *first = json_string_value(
            json_array_get(json_object_get(answer, "reasons"), 0));
        snprintf(sum, sizeof(sum), "The attestation document is invalid: %s.",
                 first != NULL ? first : "a check failed");
        break;
    }
    case ATTESTATION_DEBUG_MODE:
        snprintf(sum, sizeof(sum),
                 "The enclave runs in debug mode (PCR0, PCR1 and PCR2 are "
                 "zero): its measurements prove nothing.");
        break;
    case ATTESTATION_KNOWN_BUILD: {
        json_t *g = json_array_get(l.signings, 0);

        *clean = l.clean > 0;
        snprintf(sum, sizeof(sum),
                 "The enclave's measurements come from a recorded signing: "
                 "%s commit %s (rule %s, %s)%s.",
                 json_string_value(json_object_get(g, "repository"))
                     ? json_string_value(json_object_get(g, "repository"))
                     : "?",
                 json_string_value(json_object_get(g, "commit"))
                     ? json_string_value(json_object_get(g, "commit"))
                     : "?",
                 json_string_value(json_object_get(g, "rule"))
                     ? json_string_value(json_object_get(g, "rule"))
                     : "?",
                 json_string_value(json_object_get(g, "verdict"))
                     ? json_string_value(json_object_get(g, "verdict"))
                     : "?",
                 *clean ? "" : "; every matching signing raised an alert");
        break;
    }
    default:
        snprintf(sum, sizeof(sum),
                 "No recorded signing has the enclave's PCRs: no reviewed "
                 "build explains it.");
        break;
    }
    put(&b, answer, "verdict", json_string(attestation_verdict_str(*verdict)));
    put(&b, answer, "summary", jstr(&b, sum));
    put(&b, answer, "signings", l.signings);
    l.signings = NULL;
    if (b.failed) {
        goto oom;
    }
    return answer;
oom:
    snprintf(err, errcap, "out of memory");
    json_decref(l.signings);
    json_decref(answer);
    return NULL;
}

void
attestation_release(struct attestation *a)
{
    if (a == NULL) {
        return;
    }
    json_decref(a->answer);
    a->answer = NULL;
}
