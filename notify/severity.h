/*
 * severity.h: alert severities, ordered, with their stable names.
 */
#ifndef TLOGWATCH_NOTIFY_SEVERITY_H
#define TLOGWATCH_NOTIFY_SEVERITY_H

enum notify_severity {
    NOTIFY_INFO = 0,
    NOTIFY_WARNING = 1,
    NOTIFY_CRITICAL = 2,
};

/* "info", "warning", "critical"; static, never NULL. */
const char *notify_severity_name(enum notify_severity s);
/* Parse a name; 0 on success, -1 when unknown. */
int notify_severity_parse(const char *name, enum notify_severity *out);

#endif
