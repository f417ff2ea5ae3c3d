/*
 * alert.h: the alert model of DESIGN.md ("Alert"): a jansson object in the
 * schema tlogwatch.alert/v1, its stable id, its type table, and its
 * rendering as one JSON line.
 *
 * An alert is a json_t object so that every sink renders exactly the same
 * fields, in the same order, and fields that do not apply are omitted.
 * The id is the receiver's dedupe key: SHA-256 over the schema, the type
 * and a caller-chosen stable key (e.g. log name, origin and index, rule),
 * so the same event always yields the same id, across restarts.
 */
#ifndef TLOGWATCH_NOTIFY_ALERT_H
#define TLOGWATCH_NOTIFY_ALERT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "notify/severity.h"

#define NOTIFY_ALERT_SCHEMA "tlogwatch.alert/v1"
#define NOTIFY_ALERT_ID_LEN 64 /* hex characters */

struct notify_alert_type {
    const char *type;
    enum notify_severity severity;
    const char *when; /* one line for the README's alert reference */
};

/* The known alert types, NULL-terminated (type == NULL). Static. */
const struct notify_alert_type *notify_alert_types(void);
/* The type's row, or NULL when unknown. Static. */
const struct notify_alert_type *notify_alert_type_find(const char *type);

/*
 * A new alert with schema, id, type, severity (the type's default),
 * summary and detected_at filled in.  stable_key identifies the event
 * (see above).  Returns new (caller releases with json_decref) or NULL
 * when type is unknown or memory runs out.
 */
json_t *notify_alert_new(const char *type, const char *stable_key,
                         const char *summary, time_t detected_at);

/* Compute the id for (type, stable_key) into out (65 bytes, NUL). */
void notify_alert_id(const char *type, const char *stable_key,
                     char out[NOTIFY_ALERT_ID_LEN + 1]);

/*
 * Set a sub-object field ("log", "entry", "identity", "pcrs", "evidence")
 * or a top-level one ("rule", "reasons").  The value is stolen.  Returns
 * 0 or -1.
 */
int notify_alert_set(json_t *alert, const char *key, json_t *value);

/* Borrowed accessors; NULL/NOTIFY_INFO when absent. */
const char *notify_alert_get_id(const json_t *alert);
const char *notify_alert_get_type(const json_t *alert);
enum notify_severity notify_alert_get_severity(const json_t *alert);

/* One compact JSON line without the newline.  Returns new (free()). */
char *notify_alert_render(const json_t *alert);

/* Format t as RFC 3339 UTC ("2026-11-26T15:52:19Z") into out (>= 21). */
void notify_rfc3339(time_t t, char *out, size_t outcap);

#endif
