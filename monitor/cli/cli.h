/*
 * cli.h: the subcommands of tlogwatch.  Each takes its own argv (argv[0]
 * is the subcommand name) and returns an exit code; none of them exits.
 */
#ifndef TLOGWATCH_MONITOR_CLI_H
#define TLOGWATCH_MONITOR_CLI_H

#define CLI_DEFAULT_CONFIG "/etc/tlogwatch/tlogwatch.yaml"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* verification failed; alerts raised (once) */
    CLI_EXIT_USAGE = 2, /* usage, config or input error */
    CLI_EXIT_ERROR = 3, /* could not complete */
};

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
};

/* The command named name, or NULL. */
const struct cli_command *cli_find(const char *name);

/* Subcommands, one per file cli_<name>.c. */
int cli_verify(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_check_config(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_once(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_test_alert(int argc, char **argv);
int cli_attestation(int argc, char **argv);

/*
 * Parse [-c FILE | --config FILE] for the config-driven subcommands.
 * Returns the path (CLI_DEFAULT_CONFIG when absent), or NULL on misuse
 * after printing why.  Resets getopt.
 */
const char *cli_config_arg(int argc, char **argv);

struct config;

/*
 * config_load(path) for a subcommand: on failure every error is printed
 * to stderr, one line each, and NULL is returned (exit CLI_EXIT_USAGE).
 */
struct config *cli_config_load(const char *path);

#endif
