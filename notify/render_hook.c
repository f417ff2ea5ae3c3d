/*
 * render_hook.c: the webhook signature and the exec hook environment
 * (render.h).
 *
 * Invariants: the HMAC key is only read, never copied or kept; an
 * environment value never holds a control byte or more than
 * NOTIFY_ENV_VALUE_MAX bytes, and names come from a fixed table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "notify/render.h"

int
notify_render_signature(const void *key, size_t keylen, int64_t t,
                        const void *body, size_t bodylen, char *out,
                        size_t outcap)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    char prefix[32];
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t mdlen = 0, i;
    int n, rc = -1;

    if (out == NULL || outcap < NOTIFY_SIGNATURE_MAX) {
        return -1;
    }
    out[0] = '\0';
    if (key == NULL || keylen == 0 || t < 0 || (body == NULL && bodylen > 0)) {
        return -1;
    }
    n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
    if (n < 0 || (size_t)n >= sizeof(prefix)) {
        return -1;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    if (ctx == NULL || EVP_MAC_init(ctx, key, keylen, params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) != 1 ||
        (bodylen > 0 && EVP_MAC_update(ctx, body, bodylen) != 1) ||
        EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen != 32) {
        goto out;
    }
    n = snprintf(out, outcap, "t=%lld,v1=", (long long)t);
    if (n < 0 || (size_t)n + 2 * mdlen + 1 > outcap) {
        goto out;
    }
    for (i = 0; i < mdlen; i++) {
        out[n + 2 * i] = digits[md[i] >> 4];
        out[n + 2 * i + 1] = digits[md[i] & 15];
    }
    out[n + 2 * mdlen] = '\0';
    rc = 0;
out:
    if (rc != 0) {
        out[0] = '\0';
    }
    OPENSSL_cleanse(md, sizeof(md));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

/* A growing NULL-terminated array of "NAME=value" strings. */
struct env {
    char **v;
    size_t n, cap;
    int oom;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
    size_t nl, vl, i;
    char *s;

    if (e->oom || value == NULL || value[0] == '\0') {
        return;
    }
    if (e->n + 2 > e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 48;
        char **nv = realloc(e->v, cap * sizeof(*nv));
        if (nv == NULL) {
            e->oom = 1;
            return;
        }
        e->v = nv;
        e->cap = cap;
    }
    nl = strlen(name);
    vl = strlen(value);
    if (vl > NOTIFY_ENV_VALUE_MAX) {
        vl = NOTIFY_ENV_VALUE_MAX;
        /* Do not cut a UTF-8 character in two. */
        while (vl > 0 && ((unsigned char)value[vl] & 0xc0) == 0x80) {
            vl--;
        }
    }
    s = malloc(nl + 1 + vl + 1);
    if (s == NULL) {
        e->oom = 1;
        return;
    }
    memcpy(s, name, nl);
    s[nl] = '=';
    for (i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)value[i];
        s[nl + 1 + i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    s[nl + 1 + vl] = '\0';
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
}

char **
notify_render_exec_env(const json_t *alert, const char *json_file,
                       const char *const *base)
{
    struct notify_alert_fields f;
    struct env e = {NULL, 0, 0, 0};
    char idx[32], url[96];
    size_t i;

    if (!json_is_object(alert) || json_file == NULL) {
        return NULL;
    }
    notify_alert_fields(alert, &f);
    env_add(&e, "EVENT", f.type);
    env_add(&e, "SEVERITY", f.severity);
    env_add(&e, "SUMMARY", f.summary);
    env_add(&e, "ALERT_ID", f.id);
    env_add(&e, "DETECTED_AT", f.detected_at);
    env_add(&e, "ALERT_JSON_FILE", json_file);
    env_add(&e, "RULE", f.rule);
    env_add(&e, "LOG_NAME", f.log_name);
    if (f.has_log_index) {
        snprintf(idx, sizeof(idx), "%llu", (unsigned long long)f.log_index);
        env_add(&e, "LOG_INDEX", idx);
        env_add(&e, "SEARCH_URL",
                notify_render_search_url(f.log_index, url, sizeof(url)));
    }
    env_add(&e, "ENTRY_UUID", f.entry_uuid);
    env_add(&e, "REPOSITORY", f.repository);
    env_add(&e, "REPOSITORY_ID", f.repository_id);
    env_add(&e, "WORKFLOW", f.workflow);
    env_add(&e, "REF", f.ref);
    env_add(&e, "WORKFLOW_REF", f.workflow_ref);
    env_add(&e, "BUILD_CONFIG_URI", f.build_config_uri);
    env_add(&e, "WORKFLOW_SHA", f.workflow_sha);
    env_add(&e, "RUNNER_ENVIRONMENT", f.runner_environment);
    env_add(&e, "TRIGGER", f.trigger);
    env_add(&e, "RUN_INVOCATION_URI", f.run_invocation_uri);
    env_add(&e, "SAN", f.san);
    env_add(&e, "ISSUER", f.issuer);
    env_add(&e, "CERT_SHA256", f.cert_sha256);
    env_add(&e, "PCR0", f.pcr[0]);
    env_add(&e, "PCR1", f.pcr[1]);
    env_add(&e, "PCR2", f.pcr[2]);
    for (i = 0; base != NULL && base[i] != NULL; i++) {
        const char *eq = strchr(base[i], '=');
        char name[64];
        if (eq == NULL || eq == base[i] ||
            (size_t)(eq - base[i]) >= sizeof(name)) {
            continue;
        }
        memcpy(name, base[i], (size_t)(eq - base[i]));
        name[eq - base[i]] = '\0';
        env_add(&e, name, eq + 1);
    }
    if (e.oom || e.v == NULL) {
        notify_render_env_free(e.v);
        return NULL;
    }
    return e.v;
}

void
notify_render_env_free(char **env)
{
    size_t i;

    for (i = 0; env != NULL && env[i] != NULL; i++) {
        free(env[i]);
    }
    free(env);
}
