/*
 * cli_check_config.c: tlogwatch check-config [-c FILE | --config FILE].
 *
 * Loads the configuration with full validation plus the checks that look
 * at the system (config_check, config/config.h): the trusted_root.json it
 * names loads, and the state file's directory exists and is writable by
 * the user running the check (run it as the service's user).  Prints
 * "configuration OK" on stdout and returns 0, or prints every error of
 * every kind at once as "file:line:col: message" on stderr and returns 2
 * (CLI_EXIT_USAGE).  A trusted_root or state error is reported at the
 * position of its key, or without a position when the default path is in
 * use.  Secrets never reach the output: the config module keeps them out
 * of its messages.  Nothing is written, nothing is contacted.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/trusted_root.h"
#include "monitor/cli/cli.h"
#include "monitor/follow/follow.h"

#define CHECK_LINE_MAX 4096 /* one printed error line */

static void
check_usage(FILE *f)
{
    fputs("usage: tlogwatch check-config [-c FILE | --config FILE]\n"
          "Default config: " CLI_DEFAULT_CONFIG "\n",
          f);
}

static void
check_print(const struct config_errors *errs)
{
    char line[CHECK_LINE_MAX];
    size_t i;

    for (i = 0; i < errs->n; i++) {
        fprintf(stderr, "%s\n",
                config_error_format(&errs->v[i], line, sizeof(line)));
    }
}

/*
 * Every log of logs: has a key in the trusted root (else the daemon
 * would refuse to start it); printed as errors.  Returns how many logs
 * have none (a root that does not load is already an error).
 */
static size_t
check_keys(const char *path, const struct config *cfg)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    struct config_trusted_root *tr;
    size_t i, bad = 0;

    tr = config_trusted_root_load(cfg->trusted_root, err, sizeof(err));
    if (tr == NULL) {
        return 0;
    }
    for (i = 0; i < cfg->n_logs; i++) {
        const struct config_log *l = &cfg->logs[i];
        if (follow_root_has_key(tr, l)) {
            continue;
        }
        fprintf(stderr,
                "%s:%lu:%lu: logs: %s: the trusted root (%s) has no usable "
                "%s key for %s\n",
                path, l->pos.line, l->pos.col, l->name, cfg->trusted_root,
                l->kind == CONFIG_LOG_CT ? "ctlogs" : "tlogs", l->url);
        bad++;
    }
    config_trusted_root_free(tr);
    return bad;
}

int
cli_check_config(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG;
    struct config_errors *errs = NULL;
    struct config *cfg;
    int ch, rc;

    optind = 0; /* glibc: restart option scanning on this argv */
    while ((ch = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            check_usage(stdout);
            return CLI_EXIT_OK;
        default:
            check_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tlogwatch: check-config: unexpected argument '%s'\n",
                argv[optind]);
        check_usage(stderr);
        return CLI_EXIT_USAGE;
    }

    cfg = config_check(path, &errs);
    if (cfg == NULL && errs == NULL) {
        fprintf(stderr, "tlogwatch: check-config: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    if (errs != NULL) {
        check_print(errs);
        rc = CLI_EXIT_USAGE;
    } else if (check_keys(path, cfg) > 0) {
        rc = CLI_EXIT_USAGE;
    } else {
        printf("configuration OK\n");
        rc = CLI_EXIT_OK;
    }
    config_errors_free(errs);
    config_free(cfg);
    return rc;
}
