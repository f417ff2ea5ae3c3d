/*
 * severity.c: names of alert severities.
 */
#include <string.h>

#include "notify/severity.h"

static const char *const severity_names[] = {"info", "warning", "critical"};

const char *
notify_severity_name(enum notify_severity s)
{
    if ((unsigned)s >= sizeof(severity_names) / sizeof(severity_names[0])) {
        return "unknown";
    }
    return severity_names[s];
}

int
notify_severity_parse(const char *name, enum notify_severity *out)
{
    size_t i;

    for (i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
        if (strcmp(name, severity_names[i]) == 0) {
            *out = (enum notify_severity)i;
            return 0;
        }
    }
    return -1;
}
