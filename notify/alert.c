/*
 * alert.c: alert construction, stable ids, rendering.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "notify/alert.h"

static const struct notify_alert_type alert_types[] = {
    {"signing.recorded", NOTIFY_INFO,
     "a watched signing that the policy allows (with record_expected)"},
    {"signing.unexpected", NOTIFY_CRITICAL,
     "watched repository, but workflow/ref/trigger/issuer not allowed"},
    {"signing.self_hosted_runner", NOTIFY_CRITICAL,
     "runner environment is not github-hosted"},
    {"signing.unknown_pcrs", NOTIFY_CRITICAL,
     "PCRs found for the signed artifact are not an allowed set"},
    {"signing.pcrs_unavailable", NOTIFY_WARNING,
     "PCRs could not be fetched before lookup_timeout"},
    {"signing.impostor", NOTIFY_WARNING,
     "certificate names the repository but does not chain to Fulcio"},
    {"log.inconsistent", NOTIFY_CRITICAL,
     "consistency proof fails, same size with another root, or a frozen "
     "shard changed"},
    {"log.rollback", NOTIFY_CRITICAL,
     "signed size smaller than the verified size"},
    {"log.bad_signature", NOTIFY_CRITICAL,
     "checkpoint signed by the pinned key does not verify"},
    {"log.entries_mismatch", NOTIFY_CRITICAL,
     "downloaded entries do not hash to the signed root"},
    {"log.stale", NOTIFY_WARNING,
     "no newer checkpoint for longer than allowed"},
    {"log.unreachable", NOTIFY_WARNING,
     "requests failing for longer than allowed"},
    {"log.entries_withheld", NOTIFY_CRITICAL,
     "a committed entry the log does not return for withhold_after (the "
     "cursor waits; entries after it are still read)"},
    {"log.added", NOTIFY_INFO,
     "the trusted root gained a log (logs_from_trusted_root): now followed"},
    {"log.retired", NOTIFY_INFO,
     "a trusted root log's validFor ended: followed to its final checkpoint"},
    {"signing.unlogged_certificate", NOTIFY_WARNING,
     "a Fulcio certificate for a watched repository (seen in Fulcio's CT "
     "log) with no Rekor entry within unlogged_after"},
    {"attestation.unknown_build", NOTIFY_CRITICAL,
     "an attestation document checked through the status server whose PCRs "
     "no recorded signing explains (or a debug-mode enclave)"},
    {"entry.malformed", NOTIFY_INFO,
     "an entry could not be decoded (recorded, never blocks the cursor)"},
    {"monitor.test", NOTIFY_INFO, "test alert (tlogwatch test-alert)"},
    {"monitor.heartbeat", NOTIFY_INFO, "heartbeat with position and lag"},
    {"report.periodic", NOTIFY_INFO, "periodic consistency report"},
    {NULL, NOTIFY_INFO, NULL},
};

const struct notify_alert_type *
notify_alert_types(void)
{
    return alert_types;
}

const struct notify_alert_type *
notify_alert_type_find(const char *type)
{
    const struct notify_alert_type *t;

    for (t = alert_types; t->type != NULL; t++) {
        if (strcmp(t->type, type) == 0) {
            return t;
        }
    }
    return NULL;
}

void
notify_alert_id(const char *type, const char *stable_key,
                char out[NOTIFY_ALERT_ID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t i;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, NOTIFY_ALERT_SCHEMA "\n",
                         strlen(NOTIFY_ALERT_SCHEMA) + 1) != 1 ||
        EVP_DigestUpdate(ctx, type, strlen(type) + 1) != 1 ||
        EVP_DigestUpdate(ctx, stable_key, strlen(stable_key)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        /* Out of memory in OpenSSL: an all-zero id is still stable. */
        memset(md, 0, sizeof(md));
    }
    EVP_MD_CTX_free(ctx);
    for (i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[NOTIFY_ALERT_ID_LEN] = '\0';
}

void
notify_rfc3339(time_t t, char *out, size_t outcap)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(out, outcap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (outcap > 0) {
            out[0] = '\0';
        }
    }
}

json_t *
notify_alert_new(const char *type, const char *stable_key, const char *summary,
                 time_t detected_at)
{
    const struct notify_alert_type *t = notify_alert_type_find(type);
    char id[NOTIFY_ALERT_ID_LEN + 1], when[32];
    json_t *a;

    if (t == NULL) {
        return NULL;
    }
    notify_alert_id(type, stable_key, id);
    notify_rfc3339(detected_at, when, sizeof(when));
    a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema",
                  NOTIFY_ALERT_SCHEMA, "id", id, "type", type, "severity",
                  notify_severity_name(t->severity), "summary", summary,
                  "detected_at", when);
    return a;
}

int
notify_alert_set(json_t *alert, const char *key, json_t *value)
{
    if (alert == NULL || value == NULL) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(alert, key, value) == 0 ? 0 : -1;
}

const char *
notify_alert_get_id(const json_t *alert)
{
    return json_string_value(json_object_get(alert, "id"));
}

const char *
notify_alert_get_type(const json_t *alert)
{
    return json_string_value(json_object_get(alert, "type"));
}

enum notify_severity
notify_alert_get_severity(const json_t *alert)
{
    const char *s = json_string_value(json_object_get(alert, "severity"));
    enum notify_severity sev = NOTIFY_INFO;

    if (s != NULL) {
        (void)notify_severity_parse(s, &sev);
    }
    return sev;
}

char *
notify_alert_render(const json_t *alert)
{
    return json_dumps(alert, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
