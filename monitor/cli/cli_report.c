/*
 * cli_report.c: `tlogwatch report [-c FILE] [--since DURATION]
 * [--format md|json|html]`: the consistency report of the last DURATION
 * (default 24h) up to now, printed to stdout (Markdown by default).
 * Opens the state read-only like `status`, so it is safe beside a
 * running daemon; it records nothing.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "monitor/cli/cli.h"
#include "monitor/report/report.h"
#include "monitor/store/store.h"
#include "monitor/tlw.h"

#define REPORT_DEFAULT_SINCE "24h"

static int
report_usage(void)
{
    fprintf(stderr, "usage: tlogwatch report [-c FILE] [--since DURATION] "
                    "[--format md|json|html]\n");
    return CLI_EXIT_USAGE;
}

int
cli_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"since", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG, *since_arg = REPORT_DEFAULT_SINCE;
    const char *why = NULL;
    enum report_format fmt = REPORT_MD;
    struct config *cfg = NULL;
    struct store *s = NULL;
    struct report *r = NULL;
    char err[STORE_ERRMSG_MAX], *text = NULL;
    uint64_t ms;
    int64_t now;
    int ch, rc = CLI_EXIT_ERROR;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 's':
            since_arg = optarg;
            break;
        case 'f':
            if (report_format_parse(optarg, &fmt) != 0) {
                fprintf(stderr,
                        "tlogwatch report: unknown format '%s' (md, json or "
                        "html)\n",
                        optarg);
                return report_usage();
            }
            break;
        default:
            return report_usage();
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tlogwatch report: unexpected argument '%s'\n",
                argv[optind]);
        return report_usage();
    }
    if (config_parse_duration(since_arg, strlen(since_arg), &ms, &why) != 0) {
        fprintf(stderr, "tlogwatch report: --since '%s': %s\n", since_arg, why);
        return report_usage();
    }
    cfg = cli_config_load(path);
    if (cfg == NULL) {
        return CLI_EXIT_USAGE;
    }
    s = store_open(cfg->state, STORE_OPEN_READONLY, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "tlogwatch report: %s\n", err);
        goto out;
    }
    /* The logs the daemon follows from the trusted root, as it would. */
    if (tlw_discover_view(cfg, s, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlogwatch report: %s\n", err);
        goto out;
    }
    if (err[0] != '\0') {
        fprintf(stderr, "tlogwatch report: warning: %s\n", err);
    }
    now = (int64_t)time(NULL);
    /* until = now + 1: what was recorded in this very second counts. */
    r = report_build(s, cfg, now + 1 - (int64_t)((ms + 999) / 1000), now + 1,
                     now, err, sizeof(err));
    if (r == NULL) {
        fprintf(stderr, "tlogwatch report: %s\n", err);
        goto out;
    }
    text = report_render(r, fmt);
    if (text == NULL) {
        fprintf(stderr, "tlogwatch report: out of memory\n");
        goto out;
    }
    if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "tlogwatch report: cannot write the report\n");
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(text);
    report_free(r);
    store_close(s);
    config_free(cfg);
    return rc;
}
