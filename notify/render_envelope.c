/*
 * render_envelope.c: the alert in the envelopes other tools read
 * (render.h): CloudEvents 1.0 (structured JSON mode), an OCSF Detection
 * Finding (class 2004), a Prometheus Alertmanager API v2 alert list, and
 * the Standard Webhooks signature.
 *
 * Invariants: pure functions of their arguments (the caller passes the
 * host name, the time and the keys); every result is new; a key is only
 * read, decoded into a buffer that is wiped before return.  Strings taken
 * from the alert are cut to NOTIFY_RENDER_FIELD_MAX bytes where they
 * become labels or names; the alert itself is embedded whole (it is
 * already bounded by its producer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "notify/alert.h"
#include "notify/render.h"

/* ---- shared helpers ------------------------------------------------------ */

int
notify_parse_rfc3339(const char *s, int64_t *out)
{
    struct tm tm;
    int y, mo, d, h, mi, se, n = 0;
    time_t t;

    if (s == NULL ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) !=
            6 ||
        n != 19) {
        return -1;
    }
    s += n;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || se > 60) {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    if (t == (time_t)-1) {
        return -1;
    }
    *out = (int64_t)t;
    return 0;
}

/* A copy of s cut to NOTIFY_RENDER_FIELD_MAX bytes on a UTF-8 boundary,
 * with control bytes as '?', into out (NOTIFY_RENDER_FIELD_MAX + 1). */
static const char *
cut(const char *s, char *out)
{
    size_t n = strlen(s), i;

    if (n > NOTIFY_RENDER_FIELD_MAX) {
        n = NOTIFY_RENDER_FIELD_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

/* Append s to out (cap bytes, NUL kept) percent-encoding everything but
 * RFC 3986 unreserved characters. */
static void
pct_append(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~';
        if (n + (plain ? 1 : 3) >= cap) {
            break;
        }
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}

/* json_object_set_new that ignores a NULL value (out of memory is seen
 * at the end by the caller's dump). */
static void
set_str(json_t *o, const char *k, const char *v)
{
    if (v != NULL && v[0] != '\0') {
        char buf[NOTIFY_RENDER_FIELD_MAX + 1];
        json_object_set_new(o, k, json_string(cut(v, buf)));
    }
}

static char *
dump(json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    return s;
}

const char *
notify_format_name(enum notify_format f)
{
    switch (f) {
    case NOTIFY_FORMAT_CLOUDEVENTS:
        return "cloudevents";
    case NOTIFY_FORMAT_OCSF:
        return "ocsf";
    case NOTIFY_FORMAT_TLOGWATCH:
    default:
        return "tlogwatch";
    }
}

const char *
notify_format_content_type(enum notify_format f)
{
    return f == NOTIFY_FORMAT_CLOUDEVENTS ? NOTIFY_CLOUDEVENTS_CONTENT_TYPE
                                          : "application/json";
}

/* ---- CloudEvents ----------------------------------------------------------
 */

char *
notify_render_cloudevent(const json_t *alert, const char *host)
{
    struct notify_alert_fields f;
    char source[2 * NOTIFY_RENDER_FIELD_MAX + 64];
    char type[NOTIFY_RENDER_FIELD_MAX + 32];
    const char *where, *subject;
    json_t *ce;

    if (!json_is_object(alert) || host == NULL) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    if (f.id == NULL || f.type == NULL) {
        return NULL;
    }
    where = f.log_name != NULL ? f.log_name
            : f.rule != NULL   ? f.rule
                               : "monitor";
    snprintf(source, sizeof(source), "tlogwatch://");
    pct_append(source, sizeof(source), host[0] != '\0' ? host : "localhost");
    if (strlen(source) + 1 < sizeof(source)) {
        strcat(source, "/");
    }
    pct_append(source, sizeof(source), where);
    snprintf(type, sizeof(type), "dev.tlogwatch.%.*s", NOTIFY_RENDER_FIELD_MAX,
             f.type);
    subject = f.repository != NULL ? f.repository : f.log_name;
    ce = json_object();
    if (ce == NULL) {
        return NULL;
    }
    json_object_set_new(ce, "specversion", json_string("1.0"));
    json_object_set_new(ce, "id", json_string(f.id));
    json_object_set_new(ce, "source", json_string(source));
    set_str(ce, "type", type);
    set_str(ce, "time", f.detected_at);
    set_str(ce, "subject", subject);
    json_object_set_new(ce, "datacontenttype", json_string("application/json"));
    json_object_set_new(ce, "data", json_deep_copy(alert));
    return dump(ce);
}

/* ---- OCSF Detection Finding ---------------------------------------------- */

/* OCSF severity_id for a tlogwatch severity: info 1 Informational,
 * warning 3 Medium, critical 5 Critical. */
static int
ocsf_severity(const char *sev, const char **name)
{
    if (sev != NULL && strcmp(sev, "critical") == 0) {
        *name = "Critical";
        return 5;
    }
    if (sev != NULL && strcmp(sev, "warning") == 0) {
        *name = "Medium";
        return 3;
    }
    *name = "Informational";
    return 1;
}

char *
notify_render_ocsf(const json_t *alert, const char *product_version)
{
    struct notify_alert_fields f;
    const char *sev_name;
    const json_t *reasons;
    int64_t t;
    int sev;
    json_t *doc, *meta, *product, *fi, *analytic, *types;
    char url[96];

    if (!json_is_object(alert) || product_version == NULL) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    if (f.id == NULL || f.type == NULL ||
        notify_parse_rfc3339(f.detected_at, &t) != 0) {
        return NULL;
    }
    sev = ocsf_severity(f.severity, &sev_name);
    doc = json_object();
    meta = json_object();
    product = json_object();
    fi = json_object();
    analytic = json_object();
    types = json_array();
    if (doc == NULL || meta == NULL || product == NULL || fi == NULL ||
        analytic == NULL || types == NULL) {
        json_decref(doc);
        json_decref(meta);
        json_decref(product);
        json_decref(fi);
        json_decref(analytic);
        json_decref(types);
        return NULL;
    }
    json_object_set_new(doc, "activity_id", json_integer(1));
    json_object_set_new(doc, "activity_name", json_string("Create"));
    json_object_set_new(doc, "category_uid", json_integer(2));
    json_object_set_new(doc, "category_name", json_string("Findings"));
    json_object_set_new(doc, "class_uid", json_integer(NOTIFY_OCSF_CLASS_UID));
    json_object_set_new(doc, "class_name", json_string("Detection Finding"));
    json_object_set_new(doc, "type_uid",
                        json_integer(NOTIFY_OCSF_CLASS_UID * 100 + 1));
    json_object_set_new(doc, "type_name",
                        json_string("Detection Finding: Create"));
    json_object_set_new(doc, "severity_id", json_integer(sev));
    json_object_set_new(doc, "severity", json_string(sev_name));
    json_object_set_new(doc, "status_id", json_integer(1));
    json_object_set_new(doc, "status", json_string("New"));
    json_object_set_new(doc, "time", json_integer((json_int_t)t * 1000));
    set_str(doc, "message", f.summary);
    json_object_set_new(doc, "is_alert", json_boolean(sev > 1 ? 1 : 0));

    json_object_set_new(product, "name", json_string("tlogwatch"));
    json_object_set_new(product, "vendor_name", json_string("tlogwatch"));
    json_object_set_new(product, "version", json_string(product_version));
    json_object_set_new(meta, "version", json_string(NOTIFY_OCSF_VERSION));
    json_object_set_new(meta, "product", product);
    set_str(meta, "uid", f.id);
    set_str(meta, "log_name", f.log_name);
    set_str(meta, "original_time", f.detected_at);
    json_object_set_new(doc, "metadata", meta);

    set_str(fi, "uid", f.id);
    set_str(fi, "title", f.summary != NULL ? f.summary : f.type);
    reasons = json_object_get(alert, "reasons");
    if (json_is_array(reasons) && json_array_size(reasons) > 0) {
        size_t i;
        json_t *r;
        char *desc = NULL;
        size_t len = 0;
        json_array_foreach(reasons, i, r)
        {
            const char *s = json_string_value(r);
            size_t sl;
            char *nd;
            if (s == NULL || i >= NOTIFY_RENDER_REASONS_MAX) {
                continue;
            }
            sl = strlen(s);
            if (sl > NOTIFY_RENDER_FIELD_MAX) {
                sl = NOTIFY_RENDER_FIELD_MAX;
                while (sl > 0 && ((unsigned char)s[sl] & 0xc0) == 0x80) {
                    sl--;
                }
            }
            nd = realloc(desc, len + sl + 3);
            if (nd == NULL) {
                break;
            }
            desc = nd;
            if (len > 0) {
                desc[len++] = ';';
                desc[len++] = ' ';
            }
            memcpy(desc + len, s, sl);
            len += sl;
            desc[len] = '\0';
        }
        if (desc != NULL) {
            json_t *js = json_stringn(desc, len);
            if (js != NULL) {
                json_object_set_new(fi, "desc", js);
            }
        }
        free(desc);
    }
    json_array_append_new(types, json_string(f.type));
    json_object_set_new(fi, "types", types);
    json_object_set_new(fi, "created_time", json_integer((json_int_t)t * 1000));
    if (f.has_log_index) {
        json_object_set_new(fi, "src_url",
                            json_string(notify_render_search_url(
                                f.log_index, url, sizeof(url))));
    }
    json_object_set_new(analytic, "type_id", json_integer(1));
    json_object_set_new(analytic, "type", json_string("Rule"));
    set_str(analytic, "name", f.rule != NULL ? f.rule : f.type);
    set_str(analytic, "uid", f.type);
    json_object_set_new(fi, "analytic", analytic);
    json_object_set_new(doc, "finding_info", fi);

    if (f.repository != NULL) {
        json_t *res = json_object(), *list = json_array();
        if (res != NULL && list != NULL) {
            set_str(res, "name", f.repository);
            set_str(res, "uid", f.repository_id);
            json_object_set_new(res, "type", json_string("GitHub repository"));
            json_array_append_new(list, res);
            json_object_set_new(doc, "resources", list);
        } else {
            json_decref(res);
            json_decref(list);
        }
    }
    json_object_set_new(doc, "unmapped", json_deep_copy(alert));
    return dump(doc);
}

char *
notify_render_envelope(const json_t *alert, enum notify_format format,
                       const char *host, const char *product_version)
{
    switch (format) {
    case NOTIFY_FORMAT_CLOUDEVENTS:
        return notify_render_cloudevent(alert, host);
    case NOTIFY_FORMAT_OCSF:
        return notify_render_ocsf(alert, product_version);
    case NOTIFY_FORMAT_TLOGWATCH:
    default:
        return json_is_object(alert) ? notify_alert_render(alert) : NULL;
    }
}

/* ---- Alertmanager ----------------------------------------------------------
 */

char *
notify_render_alertmanager(const json_t *alert, uint64_t resolve_after_s,
                           const char *generator_url)
{
    struct notify_alert_fields f;
    json_t *list, *a, *labels, *ann;
    char starts[32], ends[32];
    char *text;
    int64_t t;

    if (!json_is_object(alert)) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    if (f.type == NULL || notify_parse_rfc3339(f.detected_at, &t) != 0 ||
        resolve_after_s == 0 || resolve_after_s > (uint64_t)INT32_MAX) {
        return NULL;
    }
    notify_rfc3339((time_t)t, starts, sizeof(starts));
    notify_rfc3339((time_t)(t + (int64_t)resolve_after_s), ends, sizeof(ends));
    list = json_array();
    a = json_object();
    labels = json_object();
    ann = json_object();
    text = notify_render_text(alert);
    if (list == NULL || a == NULL || labels == NULL || ann == NULL ||
        text == NULL) {
        json_decref(list);
        json_decref(a);
        json_decref(labels);
        json_decref(ann);
        free(text);
        return NULL;
    }
    set_str(labels, "alertname", f.type);
    set_str(labels, "severity", f.severity);
    set_str(labels, "log", f.log_name);
    set_str(labels, "repository", f.repository);
    set_str(labels, "rule", f.rule);
    set_str(labels, "alert_id", f.id);
    set_str(ann, "summary", f.summary);
    json_object_set_new(ann, "description", json_string(text));
    if (json_object_get(ann, "description") == NULL) {
        json_object_set_new(ann, "description", json_string(""));
    }
    free(text);
    json_object_set_new(a, "labels", labels);
    json_object_set_new(a, "annotations", ann);
    json_object_set_new(a, "startsAt", json_string(starts));
    json_object_set_new(a, "endsAt", json_string(ends));
    if (generator_url != NULL && generator_url[0] != '\0') {
        json_object_set_new(a, "generatorURL", json_string(generator_url));
    }
    json_array_append_new(list, a);
    return dump(list);
}

/* ---- PagerDuty -------------------------------------------------------------
 */

char *
notify_render_pagerduty(const json_t *alert, const char *routing_key,
                        const char *host, const char *client_url)
{
    struct notify_alert_fields f;
    json_t *ev, *payload;
    char summary[NOTIFY_PAGERDUTY_SUMMARY_MAX + 1], url[96];
    const char *source, *sev;
    size_t n;

    if (!json_is_object(alert) || routing_key == NULL || host == NULL) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    if (f.id == NULL || f.type == NULL) {
        return NULL;
    }
    /* summary: at most 1024 characters (cut on a UTF-8 boundary). */
    snprintf(summary, sizeof(summary), "%s",
             f.summary != NULL ? f.summary : f.type);
    n = strlen(summary);
    if (n == NOTIFY_PAGERDUTY_SUMMARY_MAX) {
        while (n > 0 && ((unsigned char)summary[n] & 0xc0) == 0x80) {
            n--;
        }
        summary[n] = '\0';
    }
    source = f.repository != NULL ? f.repository
             : f.log_name != NULL ? f.log_name
             : host[0] != '\0'    ? host
                                  : "tlogwatch";
    sev = f.severity != NULL && (strcmp(f.severity, "critical") == 0 ||
                                 strcmp(f.severity, "warning") == 0)
              ? f.severity
              : "info";
    ev = json_object();
    payload = json_object();
    if (ev == NULL || payload == NULL) {
        json_decref(ev);
        json_decref(payload);
        return NULL;
    }
    json_object_set_new(ev, "routing_key", json_string(routing_key));
    json_object_set_new(ev, "event_action", json_string("trigger"));
    json_object_set_new(ev, "dedup_key", json_string(f.id));
    json_object_set_new(payload, "summary", json_string(summary));
    set_str(payload, "source", source);
    json_object_set_new(payload, "severity", json_string(sev));
    set_str(payload, "timestamp", f.detected_at);
    set_str(payload, "component", f.log_name);
    set_str(payload, "group", f.rule);
    set_str(payload, "class", f.type);
    json_object_set_new(payload, "custom_details", json_deep_copy(alert));
    json_object_set_new(ev, "payload", payload);
    json_object_set_new(ev, "client", json_string("tlogwatch"));
    if (client_url != NULL && client_url[0] != '\0') {
        json_object_set_new(ev, "client_url", json_string(client_url));
    }
    if (f.has_log_index) {
        json_object_set_new(
            ev, "links",
            json_pack("[{s:s,s:s}]", "href",
                      notify_render_search_url(f.log_index, url, sizeof(url)),
                      "text", "The entry on search.sigstore.dev"));
    }
    return dump(ev);
}

/* ---- Standard Webhooks ----------------------------------------------------
 */

int
notify_std_secret_decode(const char *secret, unsigned char *out, size_t outcap,
                         size_t *outlen)
{
    size_t n, pad = 0;
    int len;

    if (secret == NULL || strncmp(secret, "whsec_", 6) != 0) {
        return -1;
    }
    secret += 6;
    n = strlen(secret);
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > outcap) {
        return -1;
    }
    while (pad < 2 && secret[n - 1 - pad] == '=') {
        pad++;
    }
    len = EVP_DecodeBlock(out, (const unsigned char *)secret, (int)n);
    if (len < 0 || (size_t)len < pad) {
        OPENSSL_cleanse(out, outcap);
        return -1;
    }
    *outlen = (size_t)len - pad;
    return 0;
}

/* HMAC-SHA256 of prefix then body under key into md (32 bytes). */
static int
hmac_sha256(const unsigned char *key, size_t keylen, const char *prefix,
            size_t plen, const void *body, size_t bodylen, unsigned char *md)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mc = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    size_t ml = 0;
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = mc != NULL && EVP_MAC_init(mc, key, keylen, params) == 1 &&
         EVP_MAC_update(mc, (const unsigned char *)prefix, plen) == 1 &&
         (bodylen == 0 || EVP_MAC_update(mc, body, bodylen) == 1) &&
         EVP_MAC_final(mc, md, &ml, EVP_MAX_MD_SIZE) == 1 && ml == 32;
    EVP_MAC_CTX_free(mc);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

int
notify_render_std_signature(const char *const *secrets, size_t nsecrets,
                            const char *msg_id, int64_t t, const void *body,
                            size_t bodylen, char *out, size_t outcap)
{
    unsigned char key[NOTIFY_STD_KEY_MAX], md[EVP_MAX_MD_SIZE];
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    char prefix[NOTIFY_RENDER_FIELD_MAX + 40];
    size_t keylen = 0, i, used = 0, plen;
    int n, rc = -1;

    if (out == NULL || outcap == 0) {
        return -1;
    }
    out[0] = '\0';
    if (secrets == NULL || nsecrets == 0 || msg_id == NULL || t < 0 ||
        (body == NULL && bodylen > 0) ||
        strlen(msg_id) > NOTIFY_RENDER_FIELD_MAX) {
        return -1;
    }
    n = snprintf(prefix, sizeof(prefix), "%s.%lld.", msg_id, (long long)t);
    if (n < 0 || (size_t)n >= sizeof(prefix)) {
        return -1;
    }
    plen = (size_t)n;
    for (i = 0; i < nsecrets; i++) {
        int bl;
        if (notify_std_secret_decode(secrets[i], key, sizeof(key), &keylen) !=
                0 ||
            hmac_sha256(key, keylen, prefix, plen, body, bodylen, md) != 0) {
            goto out;
        }
        OPENSSL_cleanse(key, sizeof(key));
        bl = EVP_EncodeBlock(b64, md, 32);
        if (bl <= 0) {
            goto out;
        }
        n = snprintf(out + used, outcap - used, "%sv1,%s", i ? " " : "",
                     (const char *)b64);
        if (n < 0 || (size_t)n >= outcap - used) {
            goto out;
        }
        used += (size_t)n;
    }
    rc = 0;
out:
    if (rc != 0) {
        out[0] = '\0';
    }
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(md, sizeof(md));
    OPENSSL_cleanse(b64, sizeof(b64));
    return rc;
}
