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
#include "monitor/cli/cli.h"

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
    } else {
        printf("configuration OK\n");
        rc = CLI_EXIT_OK;
    }
    config_errors_free(errs);
    config_free(cfg);
    return rc;
}
