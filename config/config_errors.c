/*
 * config_errors.c: the list of positioned config errors.  Bounded by
 * CONFIG_MAX_ERRORS so that hostile input cannot grow it without limit;
 * past the bound one "too many errors" entry closes the list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static int
errors_push(struct config_errors *e, const char *file, unsigned long line,
            unsigned long col, char *msg)
{
    struct config_error *v;

    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;

        v = realloc(e->v, cap * sizeof(*v));
        if (v == NULL) {
            free(msg);
            return -1;
        }
        e->v = v;
        e->cap = cap;
    }
    v = &e->v[e->n];
    v->file = strdup(file ? file : "(config)");
    if (v->file == NULL) {
        free(msg);
        return -1;
    }
    v->line = line;
    v->col = col;
    v->message = msg;
    e->n++;
    return 0;
}

int
config_errors_add(struct config_errors **errs, const char *file,
                  unsigned long line, unsigned long col, const char *fmt, ...)
{
    struct config_errors *e = *errs;
    va_list ap, ap2;
    char *msg;
    int n;

    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            return -1;
        }
        *errs = e;
    }
    if (e->truncated) {
        return 0;
    }
    if (e->n >= CONFIG_MAX_ERRORS) {
        msg = strdup("too many errors; the rest are not shown");
        if (msg == NULL) {
            return -1;
        }
        e->truncated = 1;
        return errors_push(e, file, line, col, msg);
    }
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return -1;
    }
    msg = malloc((size_t)n + 1);
    if (msg == NULL) {
        va_end(ap2);
        return -1;
    }
    (void)vsnprintf(msg, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return errors_push(e, file, line, col, msg);
}

void
config_errors_free(struct config_errors *errs)
{
    size_t i;

    if (errs == NULL) {
        return;
    }
    for (i = 0; i < errs->n; i++) {
        free(errs->v[i].file);
        free(errs->v[i].message);
    }
    free(errs->v);
    free(errs);
}

char *
config_error_format(const struct config_error *e, char *buf, size_t cap)
{
    if (cap == 0) {
        return buf;
    }
    if (e->line == 0) {
        (void)snprintf(buf, cap, "%s: %s", e->file, e->message);
    } else {
        (void)snprintf(buf, cap, "%s:%lu:%lu: %s", e->file, e->line, e->col,
                       e->message);
    }
    return buf;
}
