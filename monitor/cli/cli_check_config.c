/*
 * cli_check_config.c: tlogwatch check-config [-c FILE | --config FILE].
 *
 * Loads the configuration with full validation (config/config.h), then
 * loads the trusted_root.json it names (config/trusted_root.h).  Prints
 * "configuration OK" on stdout and returns 0, or prints every error as
 * "file:line:col: message" on stderr and returns 2 (CLI_EXIT_USAGE).  A
 * trusted_root error is reported at the position of the trusted_root key,
 * or without a position when the default path is in use.  Secrets never
 * reach the output: the config module keeps them out of its messages.
 * Nothing is written, nothing is contacted.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/trusted_root.h"
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

/* Load cfg's trusted_root.json; on failure add one positioned error. */
static int
check_trusted_root(const struct config *cfg, struct config_errors **errs)
{
    struct config_trusted_root *root;
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];

    err[0] = '\0';
    root = config_trusted_root_load(cfg->trusted_root, err, sizeof(err));
    if (root != NULL) {
        config_trusted_root_free(root);
        return 0;
    }
    (void)config_errors_add(errs, cfg->path, cfg->trusted_root_pos.line,
                            cfg->trusted_root_pos.col, "trusted_root%s: %s",
                            cfg->trusted_root_pos.line ? "" : " (default)",
                            err[0] ? err : "cannot load");
    return -1;
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

    cfg = config_load(path, &errs);
    if (cfg == NULL && errs == NULL) {
        fprintf(stderr, "tlogwatch: check-config: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    if (cfg != NULL && check_trusted_root(cfg, &errs) != 0 && errs == NULL) {
        fprintf(stderr, "tlogwatch: check-config: out of memory\n");
        config_free(cfg);
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
