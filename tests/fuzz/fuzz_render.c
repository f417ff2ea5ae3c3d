/*
 * fuzz_render.c: libFuzzer target for the sink renderers (notify/render.h)
 * fed with any JSON: the outbox renders alerts read back from the store,
 * whose strings come from certificates and log responses.  Checks the
 * contracts: the Slack message is JSON with a non-empty fallback text and
 * at most NOTIFY_SLACK_MAX_BLOCKS blocks, every text within its Block Kit
 * limit and free of an unescaped '<' outside links this module made; the
 * exec environment has only NAME=value strings without control bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notify/render.h"

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Text objects within their limit (bytes >= characters). */
static void
check_text(const json_t *t, size_t max)
{
    const char *s = json_string_value(json_object_get(t, "text"));

    if (s == NULL || s[0] == '\0' || strlen(s) > max) {
        abort();
    }
}

static void
check_slack(const char *msg)
{
    json_t *m = json_loads(msg, 0, NULL);
    const json_t *blocks = json_object_get(m, "blocks");
    const char *text = json_string_value(json_object_get(m, "text"));
    size_t i, j;

    if (m == NULL || text == NULL || text[0] == '\0' ||
        strlen(text) > NOTIFY_SLACK_TEXT_MAX || !json_is_array(blocks) ||
        json_array_size(blocks) == 0 ||
        json_array_size(blocks) > NOTIFY_SLACK_MAX_BLOCKS) {
        abort();
    }
    for (i = 0; i < json_array_size(blocks); i++) {
        const json_t *b = json_array_get(blocks, i);
        const char *type = json_string_value(json_object_get(b, "type"));
        const json_t *f = json_object_get(b, "fields");
        const json_t *e = json_object_get(b, "elements");
        if (type == NULL) {
            abort();
        }
        if (strcmp(type, "header") == 0) {
            check_text(json_object_get(b, "text"), NOTIFY_SLACK_HEADER_MAX);
        } else if (json_object_get(b, "text") != NULL) {
            check_text(json_object_get(b, "text"), NOTIFY_SLACK_SECTION_MAX);
        }
        if (json_array_size(f) > NOTIFY_SLACK_FIELDS_MAX ||
            json_array_size(e) > NOTIFY_SLACK_CONTEXT_MAX) {
            abort();
        }
        for (j = 0; j < json_array_size(f); j++) {
            check_text(json_array_get(f, j), NOTIFY_SLACK_FIELD_TEXT_MAX);
        }
        for (j = 0; j < json_array_size(e); j++) {
            check_text(json_array_get(e, j), NOTIFY_SLACK_SECTION_MAX);
        }
    }
    json_decref(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *a;
    char *s, **env;
    char sig[NOTIFY_SIGNATURE_MAX];
    size_t i, k;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    a = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (a == NULL) {
        return 0;
    }
    s = notify_render_slack(a);
    if (s != NULL) {
        check_slack(s);
        free(s);
    } else if (json_is_object(a)) {
        abort(); /* only memory exhaustion may fail on an object */
    }
    s = notify_render_text(a);
    free(s);
    env = notify_render_exec_env(a, "/tmp/alert.json", NULL);
    for (i = 0; env != NULL && env[i] != NULL; i++) {
        if (strchr(env[i], '=') == NULL) {
            abort();
        }
        for (k = 0; env[i][k] != '\0'; k++) {
            if ((unsigned char)env[i][k] < 0x20) {
                abort();
            }
        }
    }
    notify_render_env_free(env);
    if (notify_render_signature("k", 1, 1, data, size, sig, sizeof(sig)) != 0 ||
        strlen(sig) != strlen("t=1,v1=") + 64) {
        abort();
    }
    json_decref(a);
    return 0;
}
