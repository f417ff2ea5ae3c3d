/*
 * pcrwatch.h: the asynchronous PCR lookup of watched signings (issue 7,
 * DESIGN.md "Data flow": policy -> PCR lookup in the OCI registry).
 *
 * The queue is the store: policy_eval marks the signing row of every rule
 * with `pcrs:` as pcrs_state "pending", with a deadline of integrated time
 * + lookup_timeout, in the same transaction as the entry batch.  pcrwatch
 * scans the pending rows (all at start, so pending lookups survive a
 * restart, and every PCRWATCH_FULL_SCAN_MS; every PCRWATCH_SCAN_MS those
 * recorded since the last scan, through the index on recorded_at), and for each
 * one runs oci_lookup_start (monitor/registry/oci.h), retried with exponential
 * backoff (PCRWATCH_BACKOFF_*) while the registry answers OCI_NOT_YET or
 * OCI_ERROR, until the deadline. Outcomes, each stored with
 * store_signing_set_pcrs together with its alert in one transaction (so a crash
 * never loses or repeats one):
 *  - OCI_OK, a set pcr_check allows: state "found", PCRs stored, no alert;
 *  - OCI_OK, any other set: "found" and signing.unknown_pcrs (critical),
 *    reasons naming each PCR that differs from the closest allowed set;
 *  - the deadline passes (or the entry names nothing to look up):
 *    "unavailable" and signing.pcrs_unavailable (warning) with the last
 *    cause, kept as the row's pcrs_note;
 *  - OCI_UNTRUSTED (a registry that lies: digest mismatch, annotations
 *    that disagree with the info layer, a payload naming another
 *    repository): "unavailable" at once, never retried, and
 *    signing.pcrs_unavailable with the reason "untrusted: <cause>".  The
 *    PCRs are not known, so it is not signing.unknown_pcrs; the alert says
 *    the registry could not be trusted.
 * Where the PCRs come from is the row's pcrs_source (store.h):
 *  - NULL or "signature" (a `cosign sign` hashedrekord): the lookup above
 *    by the payload digest artifact_digest;
 *  - "attestation" (an intoto/dsse entry whose in-toto statement, checked
 *    against the entry's payloadHash by policy, carried the PCRs): they
 *    are in the row already and are compared at once, no lookup;
 *  - "subject" (a statement without PCRs): the lookup goes straight to
 *    manifest artifact_digest, the statement's subject (oci.h
 *    manifest_digest);
 *  - "att" (an intoto/dsse entry whose statement the log did not return):
 *    the statement is looked for among cosign's .att manifests by the
 *    body's payloadHash (artifact_digest "sha256:<payloadHash>"; oci.h
 *    att_payload_hash), then read as above: its PCRs compared, or the row
 *    turned to "subject" (stored, still pending) and looked up at once;
 *  - a row with a pcrs_note and no digest (policy found no usable
 *    attestation): signing.pcrs_unavailable with that note at once.
 * Alerts carry the entry, identity and rule fields of the signing's own
 * alerts (from the stored row: no leaf_hash) and a "pcrs" object, with the
 * stable key of policy.c (log name, origin, index, rule, type).
 *
 * Invariants: the deadline is wall-clock unix time (it is stored and must
 * survive a restart); waits between attempts are libevent timers.  At most
 * PCRWATCH_MAX_JOBS lookups are tracked at once (more wait for a later
 * scan).  Nothing points into the config: the rule is found by name in
 * t->cfg at each attempt, so a reload is seen; a rule that no longer has
 * `pcrs:` ends its lookups with state "none" and no alert.
 */
#ifndef TLOGWATCH_MONITOR_PCRWATCH_H
#define TLOGWATCH_MONITOR_PCRWATCH_H

struct tlw;
struct pcrwatch;

#define PCRWATCH_FULL_SCAN_MS 600000  /* every row read again */
#define PCRWATCH_SCAN_MS 1000         /* pending rows rescanned */
#define PCRWATCH_BACKOFF_MIN_MS 1000  /* first retry */
#define PCRWATCH_BACKOFF_MAX_MS 60000 /* retries at most this far apart */
#define PCRWATCH_MAX_JOBS 1024        /* lookups tracked at once */
#define PCRWATCH_WHY_MAX 512          /* bytes of a cause kept */

/*
 * Start the lookups on t's loop, store, HTTP client and config (t is
 * borrowed: must outlive the watcher).  Returns new (pcrwatch_free), or
 * NULL on allocation failure.
 */
struct pcrwatch *pcrwatch_new(struct tlw *t);

/*
 * `once`: one attempt for every pending row (all of them, at most
 * PCRWATCH_MAX_JOBS), no retries: a row the registry cannot answer yet
 * stays pending for a later `once` or `run`, unless its deadline has
 * passed (then signing.pcrs_unavailable as in run).  done(arg) is called
 * once, from the loop, when every attempt has ended (at once when there
 * is none).  Returns new (pcrwatch_free), or NULL on allocation failure.
 */
struct pcrwatch *pcrwatch_once(struct tlw *t, void (*done)(void *arg),
                               void *arg);

/* Cancel every lookup (their rows stay pending for the next run) and
 * free.  NULL is a no-op. */
void pcrwatch_free(struct pcrwatch *w);

#endif /* TLOGWATCH_MONITOR_PCRWATCH_H */
