/*
 * cli.c: the table of subcommands.  A subcommand lives in its own file and
 * is added here.
 */
#include <string.h>

#include "monitor/cli/cli.h"

static const struct cli_command cli_commands[] = {
    {"verify", cli_verify},
    {"inspect", cli_inspect},
    {"check-config", cli_check_config},
    {"run", cli_run},
    {"once", cli_once},
    {"status", cli_status},
    {"report", cli_report},
    {"test-alert", cli_test_alert},
    {"attestation", cli_attestation},
};

const struct cli_command *
cli_find(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++) {
        if (strcmp(cli_commands[i].name, name) == 0) {
            return &cli_commands[i];
        }
    }
    return NULL;
}
