/*
 * policy.h: the policy engine: who signed, and was it allowed?  For every
 * entry the follower applies, in log order, it decides whether a watch
 * rule (config `watch:`) names the signer, and if so records the signing
 * and raises the DESIGN.md alerts signing.recorded, signing.unexpected,
 * signing.self_hosted_runner, signing.impostor and entry.malformed.
 *
 * Pipeline of policy_eval, cheapest first:
 *  1. entry_body_decode: the body JSON into kind and certificates (DER).
 *     A body that does not decode, or whose kind admits only
 *     certificates and keys (hashedrekord, intoto, dsse, cose) but holds
 *     another verifier, is entry.malformed (info): an alert, never an
 *     error, so it never stops the cursor.
 *  2. fulcio_prefilter on each certificate against the needles of every
 *     rule (repository name, case-insensitive, and repository id).  An
 *     entry nobody watches stops here: no X.509 parse.
 *  3. On a hit only: fulcio_cert_parse_der, then the exact rule match:
 *     - rule with repository_id, certificate with .15: the ids decide
 *       (a renamed repository still matches); the same name with another
 *       id is a match with the violation "repository_id";
 *     - otherwise the repository name (ASCII case-insensitive) in any of
 *       .12 Source Repository URI, the SAN or legacy .5
 *       (fulcio_needles_match_claims), so a certificate that mentions the
 *       repository in any identity field is looked at.
 *  4. Chain verification at NotBefore (fulcio_verify_chain, DESIGN.md
 *     point 6).  A matching certificate that does not chain is
 *     signing.impostor (warning) and is never a signing of the rule: no
 *     row, no other alert.
 *  5. Allow lists, each only when set in the rule: issuer (.8, else .1),
 *     workflows (path of .18 Build Config URI; a reusable workflow's .9
 *     is recorded, never matched), refs (.14, else the ref of .18;
 *     fnmatch(3) glob with FNM_PATHNAME, so '*' never crosses a '/'),
 *     triggers (.20, else .2), runners (.11; a value that is not an
 *     allowed runner, or none, is signing.self_hosted_runner).  A claim
 *     that is absent never satisfies a set list.
 *  6. Verdict per (certificate, rule): "allowed" (signing.recorded only
 *     when record_expected), "unexpected" (signing.unexpected, reasons
 *     name each violated list), "self_hosted_runner" (its own alert; with
 *     other violations too, signing.unexpected is raised as well and the
 *     row's verdict stays "self_hosted_runner").  One store_signing row
 *     per watched signing.
 *  7. Certificate-level alerts (signing.unexpected,
 *     signing.self_hosted_runner) take their id from the certificate's
 *     link id (ctleaf.h: SHA-256 of issuer || serial) and the rule, not
 *     from the entry: the same certificate seen again (in Fulcio's CT
 *     log, as precertificate and certificate, in another Rekor entry or
 *     log) gives the same id, so the store keeps one alert.  The
 *     signing rows keep the link id (a CT certificate is then logged).
 *  8. A rule with `pcrs:` stores its rows with pcrs_state "pending", a
 *     deadline (integrated time + lookup_timeout) and the hashedrekord's
 *     signed digest as artifact_digest: monitor/registry/pcrwatch.h looks the
 *     PCRs up later, whatever the verdict.
 *
 * policy_eval_ct does the same for an entry of Fulcio's CT log (ctleaf.h):
 * the claims of its (pre)certificate, the exact rule match, the impostor
 * check (an x509_entry by fulcio_verify_chain, a precert_entry by
 * ctleaf_issuer_in_root: its issuer key is a Fulcio CA of the trusted
 * root at NotBefore), the allow lists with the same alerts and ids as a
 * Rekor signing (entry: the CT index and leaf hash; evidence: the STH
 * that includes it), and one store_ct_cert row per (certificate, rule)
 * that carries the signing.unlogged_certificate alert to raise if no
 * Rekor entry uses the certificate by NotBefore + the rule's
 * unlogged_after.  No signing row and no signing.recorded: a
 * certificate is not a signing.
 *
 * Invariants:
 *  - policy_eval is a pure function of (policy, ctx, entry, detected_at):
 *    the same entry and rule always give the same alerts with the same
 *    ids (stable key: log name, origin, virtual index, rule, type; for
 *    the certificate-level alerts of point 7: link id, rule, type), so a
 *    replay after a crash deduplicates in the store;
 *  - the policy holds no pointer into cfg or tr beyond policy_new's
 *    call except tr itself (borrowed: must outlive the policy);
 *  - no logging, no global state.  Untrusted strings reach alerts and
 *    rows only as fulcio escapes them.
 */
#ifndef TLOGWATCH_MONITOR_POLICY_H
#define TLOGWATCH_MONITOR_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "monitor/store/store.h"

struct config;
struct config_trusted_root;
struct ctleaf;
struct entry;
struct fulcio_needles;

#define POLICY_ERR_LEN 256
#define POLICY_MAX_REASONS 8       /* violations named per alert */
#define POLICY_MAX_REASON_LEN 1024 /* bytes of one reason */

struct policy;

/* What names the log an entry belongs to.  Strings borrowed. */
struct policy_entry_ctx {
    const char *log_name; /* config name of the log */
    const char *origin;   /* checkpoint origin of the shard */
    uint64_t log_index;   /* virtual */
    uint64_t shard_index; /* shard-local */
    time_t now;           /* detected_at of new alerts */
};

/* What names the CT log entry policy_eval_ct reads.  Strings borrowed. */
struct policy_ct_ctx {
    const char *log_name; /* config name of the CT log */
    const char *origin;   /* its origin (url without scheme) */
    uint64_t log_index;
    const char *sth; /* evidence text of a verified STH whose tree holds
                        the entry (ctleaf_sth_evidence), or NULL */
    time_t now;      /* detected_at of new alerts */
};

/*
 * The signings (and CT certificates) found since the last clear.  Each
 * row's strings are owned by the batch (policy_batch_clear frees them);
 * v[0..n) and ct[0..nct) can be given to store_commit_progress as is.
 */
struct policy_batch {
    struct store_signing *v;
    size_t n;
    size_t cap;
    struct store_ct_cert *ct;
    size_t nct;
    size_t ctcap;
};

/* What policy_eval did with one entry (for tests and benchmarks). */
struct policy_result {
    int malformed;      /* body did not decode */
    unsigned prefilter; /* certificates that passed the prefilter */
    unsigned matched;   /* (certificate, rule) matches, impostors too */
    unsigned impostors; /* of those, not chaining */
    unsigned alerts;    /* appended to alerts */
    unsigned signings;  /* appended to batch */
};

/*
 * Build the engine for cfg's watch rules (copied: cfg may be freed after)
 * with tr's Fulcio CAs (borrowed: must outlive the policy).  A config with
 * no rules gives a policy that only reports malformed entries.  Returns
 * new (policy_free), or NULL with a message in err.
 */
struct policy *policy_new(const struct config *cfg,
                          const struct config_trusted_root *tr, char *err,
                          size_t errlen);
/* NULL is a no-op. */
void policy_free(struct policy *p);
/* Number of watch rules. */
size_t policy_nrules(const struct policy *p);

/*
 * Evaluate entry e (borrowed) of the log ctx names.  New alerts (json
 * objects in the DESIGN schema, each with "entry"."log_index") are
 * appended to the array alerts; new signing rows to batch.  Returns 0, or -1
 * only when memory ran out (alerts and batch may then hold part of the entry's
 * results: the caller drops the whole uncommitted batch).  An undecodable body
 * is not an error.
 */
int policy_eval(struct policy *p, const struct policy_entry_ctx *ctx,
                const struct entry *e, json_t *alerts,
                struct policy_batch *batch);
/* The same, saying what happened in *res (may be NULL). */
int policy_eval_result(struct policy *p, const struct policy_entry_ctx *ctx,
                       const struct entry *e, json_t *alerts,
                       struct policy_batch *batch, struct policy_result *res);

/*
 * Evaluate the CT log entry l (borrowed; parsed without needles or with
 * policy_needles(p): an entry whose claims the prefilter skipped names no
 * watched repository and is passed over) as the top of this file says.  Alerts
 * are appended to alerts, CT certificate rows to batch->ct.  Returns 0, or -1
 * only when memory ran out.
 */
int policy_eval_ct(struct policy *p, const struct policy_ct_ctx *ctx,
                   const struct ctleaf *l, json_t *alerts,
                   struct policy_batch *batch, struct policy_result *res);

/* The prefilter needles of every rule (borrowed, valid while p lives):
 * for ctleaf_entries_parse_needles. */
const struct fulcio_needles *policy_needles(const struct policy *p);

/* Free the rows' strings; keeps the array for reuse.  NULL is a no-op. */
void policy_batch_clear(struct policy_batch *b);
/* Clear and free the array.  NULL is a no-op. */
void policy_batch_free(struct policy_batch *b);

#endif
