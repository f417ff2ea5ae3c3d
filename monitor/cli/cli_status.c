/*
 * cli_status.c: `tlogwatch status [-c FILE] [--format text|json|html]`: what
 * the store knows, read through the one read model (monitor/view): per
 * log, each shard's verified size and root, cursor, lag, last success
 * and counters, then the log's recent errors (also those of a log never
 * reached); per watch rule, its last signings with their effective
 * verdict; the outbox; the alerts of the view's window.  `--format
 * json` prints the view's document itself (schema tlogwatch.status/v1,
 * the same as the status server's /api/v1/status); the text, and with
 * `--format html` the dashboard page (view/dashboard.h, the status
 * server's GET /), are rendered from that document, so none can
 * disagree.  Opens the state read-only, so it is safe beside a running
 * daemon (WAL readers never block the writer).
 */
#define _GNU_SOURCE /* timegm */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "monitor/cli/cli.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"
#include "monitor/view/dashboard.h"
#include "monitor/view/view.h"

static int
status_usage(void)
{
    fprintf(stderr,
            "usage: tlogwatch status [-c FILE] [--format text|json|html]\n");
    return CLI_EXIT_USAGE;
}

/* ---- reading the document ------------------------------------------- */

static const char *
jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A string field, or "-" when null or absent. */
static const char *
jstr_or(const json_t *o, const char *key)
{
    const char *s = jstr(o, key);

    return s != NULL ? s : "-";
}

static unsigned long long
juint(const json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));

    return v > 0 ? (unsigned long long)v : 0;
}

/* "RFC 3339 (Ns ago)", or "never" for null. */
static void
status_time(const json_t *o, const char *key, int64_t now, char *out,
            size_t cap)
{
    const char *s = jstr(o, key);
    struct tm tm;
    const char *end;

    if (s == NULL) {
        snprintf(out, cap, "never");
        return;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        snprintf(out, cap, "%s", s);
        return;
    }
    if (now >= timegm(&tm)) {
        snprintf(out, cap, "%s (%llds ago)", s, (long long)(now - timegm(&tm)));
    } else {
        snprintf(out, cap, "%s (in %llds)", s, (long long)(timegm(&tm) - now));
    }
}

/* ---- text ----------------------------------------------------------- */

static void
text_shard(const json_t *log, const json_t *sh, int64_t now)
{
    char ok[96];

    printf("log %s  shard \"%s\"%s\n", jstr_or(log, "name"),
           jstr_or(sh, "origin"),
           json_is_true(json_object_get(sh, "frozen")) ? "  (frozen)" : "");
    if (json_is_integer(json_object_get(sh, "verified_size"))) {
        printf("  verified size   %llu\n", juint(sh, "verified_size"));
        printf("  verified root   %s\n", jstr_or(sh, "verified_root"));
    } else {
        printf("  verified size   none yet\n");
    }
    if (json_is_integer(json_object_get(sh, "cursor"))) {
        printf("  cursor          %llu (shard-local %llu)\n",
               juint(sh, "cursor"), juint(sh, "shard_cursor"));
        printf("  lag             %llu entries\n", juint(sh, "lag"));
    } else {
        printf("  cursor          not seeded\n");
    }
    /* Success is per log: the newest of its shards. */
    status_time(log, "last_success", now, ok, sizeof(ok));
    printf("  last success    %s\n", ok);
    printf("  entries scanned %llu; checkpoints %llu; consistency proofs "
           "%llu; root checks %llu\n",
           juint(sh, "entries_scanned"), juint(sh, "checkpoints_verified"),
           juint(sh, "proofs_verified"), juint(sh, "root_checks_passed"));
}

static void
text_log(const json_t *log, int64_t now)
{
    const json_t *shards = json_object_get(log, "shards");
    const json_t *errs = json_object_get(log, "recent_errors");
    const json_t *le = json_object_get(log, "last_error");
    const json_t *v;
    char when[96];
    size_t i;

    if (json_array_size(shards) == 0) {
        printf("log %s  (%s)\n  no verified checkpoint yet%s\n",
               jstr_or(log, "name"), jstr_or(log, "url"),
               json_array_size(errs) == 0 ? ": see the daemon's log for why"
                                          : "");
    }
    json_array_foreach(shards, i, v)
    {
        text_shard(log, v, now);
    }
    if (json_is_object(le)) {
        status_time(le, "at", now, when, sizeof(when));
        printf("  last error      %s: %s\n", when, jstr_or(le, "message"));
    }
    if (json_array_size(errs) > 0) {
        printf("  recent errors:\n");
        json_array_foreach(errs, i, v)
        {
            status_time(v, "at", now, when, sizeof(when));
            printf("      %s  %s\n", when, jstr_or(v, "message"));
        }
    }
}

static void
text_signing(const json_t *g, int64_t now)
{
    const json_t *pcrs = json_object_get(g, "pcrs");
    const char *state = jstr(pcrs, "state");
    char when[96];

    status_time(g, "integrated_time", now, when, sizeof(when));
    printf("    %s  index %llu  %s", when, juint(g, "log_index"),
           jstr_or(g, "verdict"));
    if (jstr(g, "policy_verdict") != NULL &&
        strcmp(jstr(g, "policy_verdict"), jstr_or(g, "verdict")) != 0) {
        printf("  (policy: %s)", jstr(g, "policy_verdict"));
    }
    printf("\n");
    printf("      commit %s  workflow %s  ref %s\n", jstr_or(g, "commit"),
           jstr_or(g, "workflow"), jstr_or(g, "ref"));
    printf("      runner %s  trigger %s  uuid %s\n", jstr_or(g, "runner"),
           jstr_or(g, "trigger"), jstr_or(g, "uuid"));
    if (state != NULL && strcmp(state, "none") != 0) {
        printf("      pcrs %s  PCR0 %s  PCR1 %s  PCR2 %s", state,
               jstr_or(pcrs, "PCR0"), jstr_or(pcrs, "PCR1"),
               jstr_or(pcrs, "PCR2"));
        if (jstr(pcrs, "PCR8") != NULL) {
            printf("  PCR8 %s", jstr(pcrs, "PCR8"));
        }
        printf("\n");
        if (jstr(pcrs, "source") != NULL || jstr(pcrs, "note") != NULL) {
            printf("      pcrs from %s%s%s\n", jstr_or(pcrs, "source"),
                   jstr(pcrs, "note") != NULL ? ": " : "",
                   jstr(pcrs, "note") != NULL ? jstr(pcrs, "note") : "");
        }
    }
}

/* A CT certificate of a rule (view.h "ct_certificates"). */
static void
text_ct_cert(const json_t *g, int64_t now)
{
    const json_t *sg = json_object_get(g, "signing");
    char seen[96], deadline[96];

    status_time(g, "first_seen", now, seen, sizeof(seen));
    status_time(g, "deadline", now, deadline, sizeof(deadline));
    printf("    %s  %s index %llu  %s  %s", seen, jstr_or(g, "ct_log"),
           juint(g, "ct_log_index"), jstr_or(g, "state"),
           jstr_or(g, "verdict"));
    if (jstr(g, "policy_verdict") != NULL &&
        strcmp(jstr(g, "policy_verdict"), jstr_or(g, "verdict")) != 0) {
        printf("  (policy: %s)", jstr(g, "policy_verdict"));
    }
    printf("\n");
    printf("      commit %s  workflow %s  ref %s\n", jstr_or(g, "commit"),
           jstr_or(g, "workflow"), jstr_or(g, "ref"));
    printf("      runner %s  deadline %s\n", jstr_or(g, "runner"), deadline);
    if (json_is_object(sg)) {
        printf("      logged in %s index %llu  uuid %s  %s\n",
               jstr_or(sg, "log"), juint(sg, "log_index"), jstr_or(sg, "uuid"),
               jstr_or(sg, "verdict"));
    }
}

/* Whether rule r's CT line is shown: a CT log is followed, or r has
 * certificates from one (a CT log since removed from the config). */
static int
ct_shown(const json_t *doc, const json_t *r)
{
    const json_t *cc = json_object_get(r, "ct_counts"), *l;
    size_t i;

    json_array_foreach(json_object_get(doc, "logs"), i, l)
    {
        if (strcmp(jstr_or(l, "kind"), "ct") == 0) {
            return 1;
        }
    }
    return juint(cc, "pending") + juint(cc, "unlogged") + juint(cc, "logged") >
               0 ||
           json_array_size(json_object_get(r, "ct_certificates")) > 0;
}

static void
text_doc(const json_t *doc, int64_t now)
{
    const json_t *v, *g, *outbox = json_object_get(doc, "outbox");
    const json_t *alerts = json_object_get(doc, "alerts");
    const json_t *sev = json_object_get(alerts, "by_severity");
    size_t i, j;

    json_array_foreach(json_object_get(doc, "logs"), i, v)
    {
        text_log(v, now);
    }
    json_array_foreach(json_object_get(doc, "rules"), i, v)
    {
        const json_t *list = json_object_get(v, "signings");

        printf("rule %s  repository %s\n", jstr_or(v, "name"),
               jstr_or(v, "repository"));
        printf("  last signings (newest first):\n");
        json_array_foreach(list, j, g)
        {
            text_signing(g, now);
        }
        if (json_array_size(list) == 0) {
            printf("    none yet\n");
        }
        if (ct_shown(doc, v)) {
            const json_t *cc = json_object_get(v, "ct_counts");

            list = json_object_get(v, "ct_certificates");
            printf("  certificates seen in CT: %llu pending, %llu unlogged, "
                   "%llu logged%s\n",
                   juint(cc, "pending"), juint(cc, "unlogged"),
                   juint(cc, "logged"),
                   json_array_size(list) > 0 ? " (newest first):" : "");
            json_array_foreach(list, j, g)
            {
                text_ct_cert(g, now);
            }
        }
    }
    printf("outbox: %llu pending, %llu sent, %llu failed\n",
           juint(outbox, "pending"), juint(outbox, "sent"),
           juint(outbox, "failed"));
    json_array_foreach(json_object_get(outbox, "sinks"), i, v)
    {
        const char *where = jstr(v, "where");

        printf("  %s (%s%s%s): %llu pending, %llu failed", jstr_or(v, "name"),
               jstr_or(v, "type"), where != NULL ? " " : "",
               where != NULL ? where : "", juint(v, "pending"),
               juint(v, "failed"));
        if (jstr(v, "last_error") != NULL) {
            printf(", last error: %s", jstr(v, "last_error"));
        }
        printf("\n");
    }
    {
        unsigned long long w = juint(alerts, "window_s");

        printf("alerts: %llu info, %llu warning, %llu critical (last %llu%s)\n",
               juint(sev, "info"), juint(sev, "warning"),
               juint(sev, "critical"), w % 3600 == 0 ? w / 3600 : w,
               w % 3600 == 0 ? "h" : "s");
    }
}

int
cli_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG;
    struct config *cfg;
    struct store *s;
    json_t *doc;
    char err[STORE_ERRMSG_MAX];
    int64_t now;
    int ch, json = 0, html = 0, rc = CLI_EXIT_OK;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0) {
                json = 1;
                html = 0;
            } else if (strcmp(optarg, "html") == 0) {
                html = 1;
                json = 0;
            } else if (strcmp(optarg, "text") == 0) {
                json = 0;
                html = 0;
            } else {
                fprintf(stderr,
                        "tlogwatch status: unknown format '%s' (text, json "
                        "or html)\n",
                        optarg);
                return status_usage();
            }
            break;
        default:
            return status_usage();
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tlogwatch status: unexpected argument '%s'\n",
                argv[optind]);
        return status_usage();
    }
    cfg = cli_config_load(path);
    if (cfg == NULL) {
        return CLI_EXIT_USAGE;
    }
    s = store_open(cfg->state, STORE_OPEN_READONLY, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "tlogwatch status: %s\n", err);
        config_free(cfg);
        return CLI_EXIT_ERROR;
    }
    /* The logs the daemon follows from the trusted root, as it would. */
    if (tlw_discover_view(cfg, s, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlogwatch status: %s\n", err);
        store_close(s);
        config_free(cfg);
        return CLI_EXIT_ERROR;
    }
    if (err[0] != '\0') {
        fprintf(stderr, "tlogwatch status: warning: %s\n", err);
    }
    now = (int64_t)time(NULL);
    doc = view_status_json(s, cfg, now, err, sizeof(err));
    if (doc == NULL) {
        fprintf(stderr, "tlogwatch status: %s\n", err);
        rc = CLI_EXIT_ERROR;
    } else if (html) {
        char *page = dashboard_html(doc, NULL, NULL, err, sizeof(err));

        if (page == NULL) {
            fprintf(stderr, "tlogwatch status: %s\n", err);
            rc = CLI_EXIT_ERROR;
        } else {
            if (fputs(page, stdout) == EOF) {
                rc = CLI_EXIT_ERROR;
            }
            free(page);
        }
    } else if (json) {
        if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 ||
            fputc('\n', stdout) == EOF) {
            rc = CLI_EXIT_ERROR;
        }
    } else {
        text_doc(doc, now);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tlogwatch status: cannot write the status\n");
        rc = CLI_EXIT_ERROR;
    }
    json_decref(doc);
    store_close(s);
    config_free(cfg);
    return rc;
}
