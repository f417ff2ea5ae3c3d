/*
 * cli_run.c: `tlogwatch run` (the daemon, foreground) and `tlogwatch once`
 * (catch every log up to its current checkpoint, deliver, exit).
 *
 * Exit codes: 0 done (once: no alert of severity warning or above);
 * 1 (once) alerts of severity warning or above were raised; 2 usage or
 * config error; 3 could not complete (log unreachable, store failure).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "config/config.h"
#include "monitor/cli/cli.h"
#include "monitor/http.h"
#include "monitor/log.h"
#include "monitor/tlw.h"

/* Parse [-c FILE | --config FILE]; returns the path or NULL on misuse. */
const char *
cli_config_arg(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG;
    int ch;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (ch == 'c') {
            path = optarg;
        } else {
            return NULL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "tlogwatch %s: unexpected argument '%s'\n", argv[0],
                argv[optind]);
        return NULL;
    }
    return path;
}

struct config *
cli_config_load(const char *path)
{
    struct config_errors *errs = NULL;
    struct config *cfg = config_load(path, &errs);
    char line[1024];
    size_t i;

    if (cfg == NULL) {
        for (i = 0; errs != NULL && i < errs->n; i++) {
            fprintf(stderr, "%s\n",
                    config_error_format(&errs->v[i], line, sizeof(line)));
        }
        config_errors_free(errs);
    }
    return cfg;
}

static int
run_mode(int argc, char **argv, enum tlw_mode mode)
{
    const char *path = cli_config_arg(argc, argv);
    struct event_base *base;
    struct tlw t;
    char err[1024];
    int rc;

    if (path == NULL) {
        fprintf(stderr, "usage: tlogwatch %s [-c FILE]\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    if (http_global_init() != 0) {
        fprintf(stderr, "tlogwatch: cannot initialise libcurl\n");
        return CLI_EXIT_ERROR;
    }
    base = event_base_new();
    if (base == NULL) {
        http_global_cleanup();
        fprintf(stderr, "tlogwatch: cannot create the event loop\n");
        return CLI_EXIT_ERROR;
    }
    if (tlw_init(&t, base, path, mode, err, sizeof(err)) != 0) {
        fprintf(stderr, "tlogwatch: %s\n", err);
        rc = strstr(err, "invalid configuration") != NULL ||
                     strstr(err, "trusted") != NULL ||
                     strstr(err, "key") != NULL
                 ? CLI_EXIT_USAGE
                 : CLI_EXIT_ERROR;
        tlw_free(&t);
        event_base_free(base);
        http_global_cleanup();
        return rc;
    }
    if (tlw_start(&t) != 0) {
        fprintf(stderr, "tlogwatch: cannot start\n");
        tlw_free(&t);
        event_base_free(base);
        http_global_cleanup();
        return CLI_EXIT_ERROR;
    }
    log_info("%s: following %zu log(s)", mode == TLW_MODE_ONCE ? "once" : "run",
             t.n_followers);
    event_base_dispatch(base);
    if (t.fatal || (mode == TLW_MODE_ONCE && t.once_failed)) {
        rc = CLI_EXIT_ERROR;
    } else if (mode == TLW_MODE_ONCE && t.alerts_warning) {
        rc = CLI_EXIT_FAIL;
    } else {
        rc = CLI_EXIT_OK;
    }
    tlw_free(&t);
    event_base_free(base);
    http_global_cleanup();
    return rc;
}

int
cli_run(int argc, char **argv)
{
    return run_mode(argc, argv, TLW_MODE_RUN);
}

int
cli_once(int argc, char **argv)
{
    return run_mode(argc, argv, TLW_MODE_ONCE);
}
