/*
 * fuzz_report.c: libFuzzer target for the report renderers
 * (report_render in monitor/report/report.h) with hostile strings: the strings
 * a report prints come from the log (signed notes, errors) and from
 * certificates (repository, workflow, ref ...), so each renderer must
 * escape them for its format.
 *
 * The input is split at NUL bytes into the strings of a one-log, one-rule,
 * one-alert report.  Invariants checked (abort on breach):
 *  - every format renders;
 *  - the JSON parses back;
 *  - the HTML has exactly as many '<' as the same report with every
 *    non-empty string replaced by "x": no string can open a tag;
 *  - the Markdown has exactly as many fence lines ("```") as that report:
 *    no string can close or open a code block.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "monitor/report/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FR_NSTR 12
/* Longer inputs are cut: a report's strings are bounded by the store
 * (STORE_FIELD_MAX, STORE_NOTE_MAX), and the replay covers big files. */
#define FR_MAX_INPUT 8192

static size_t
count_char(const char *s, char c)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == c;
    }
    return n;
}

static size_t
count_fences(const char *s)
{
    size_t n = 0;
    const char *p = s;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, "```", 3) == 0) {
            n++;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return n;
}

/* Render the report made of the strings s[]; outputs are new. */
static void
render_all(char *s[FR_NSTR], char **md, char **js, char **html)
{
    struct report r;
    struct report_log log;
    struct report_rule rule;
    struct report_signing sig;
    struct report_alert alert;
    struct report_count verdict, type;
    struct report_error error;
    struct report_point pts[2] = {{1000, 5}, {2000, 9}};

    memset(&r, 0, sizeof(r));
    memset(&log, 0, sizeof(log));
    memset(&rule, 0, sizeof(rule));
    memset(&sig, 0, sizeof(sig));
    memset(&alert, 0, sizeof(alert));
    r.since = 500;
    r.until = 3000;
    r.generated_at = 3000;
    r.counts.signings = 1;
    r.counts.checkpoints = 2;
    r.counts.alerts[NOTIFY_CRITICAL] = 1;
    r.bins_other[3] = 1;

    snprintf(log.st.name, sizeof(log.st.name), "%s", s[0]);
    snprintf(log.st.origin, sizeof(log.st.origin), "%s", s[1]);
    snprintf(log.st.last_error, sizeof(log.st.last_error), "%s", s[2]);
    log.st.has_checkpoint = 1;
    log.st.verified_size = 9;
    log.st.last_error_at = 1500;
    log.has_checkpoints = 1;
    log.first.size = 5;
    log.first.note = s[3];
    log.first.verified_at = 1000;
    log.last.size = 9;
    log.last.note = s[4];
    log.last.verified_at = 2000;
    log.checkpoints = 2;
    log.points = pts;
    log.npoints = 2;
    error.at = 1500;
    error.message = s[2];
    log.errors = &error;
    log.nerrors = 1;
    r.logs = &log;
    r.nlogs = 1;

    sig.log_index = 7;
    sig.integrated_time = 1200;
    sig.recorded_at = 1200;
    sig.repository = s[6];
    sig.workflow_path = s[7];
    sig.ref = s[8];
    sig.workflow_sha = s[9];
    sig.runner_environment = s[10];
    sig.trigger = s[10];
    sig.verdict = s[11];
    sig.pcr0 = s[9];
    verdict.key1 = s[11];
    verdict.key2 = NULL;
    verdict.count = 1;
    rule.name = s[5];
    rule.repository = s[6];
    rule.signings = 1;
    rule.verdicts = &verdict;
    rule.nverdicts = 1;
    rule.list = &sig;
    rule.nlist = 1;
    r.rules = &rule;
    r.nrules = 1;

    type.key1 = s[7];
    type.key2 = s[8];
    type.count = 1;
    r.alert_types = &type;
    r.nalert_types = 1;
    alert.id = s[9];
    alert.type = s[7];
    alert.rule = s[5];
    alert.summary = s[3];
    alert.log_name = s[0];
    alert.severity = NOTIFY_CRITICAL;
    alert.detected_at = 1300;
    r.alerts = &alert;
    r.nalerts = 1;
    r.alerts_total = 1;

    *md = report_render(&r, REPORT_MD);
    *js = report_render(&r, REPORT_JSON);
    *html = report_render(&r, REPORT_HTML);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *s[FR_NSTR], *x[FR_NSTR];
    char *md, *js, *html, *md0, *js0, *html0;
    size_t i, off = 0;
    json_t *doc;

    if (size > FR_MAX_INPUT) {
        size = FR_MAX_INPUT;
    }
    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (i = 0; i < FR_NSTR; i++) {
        s[i] = off <= size ? buf + off : buf + size;
        off += strlen(s[i]) + 1;
        x[i] = s[i][0] != '\0' ? "x" : "";
    }
    render_all(s, &md, &js, &html);
    render_all(x, &md0, &js0, &html0);
    if (md == NULL || js == NULL || html == NULL || md0 == NULL ||
        js0 == NULL || html0 == NULL) {
        abort();
    }
    doc = json_loads(js, 0, NULL);
    if (doc == NULL) {
        abort();
    }
    json_decref(doc);
    if (count_char(html, '<') != count_char(html0, '<')) {
        abort();
    }
    if (count_fences(md) != count_fences(md0)) {
        abort();
    }
    free(md);
    free(js);
    free(html);
    free(md0);
    free(js0);
    free(html0);
    free(buf);
    return 0;
}
