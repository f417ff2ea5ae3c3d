/*
 * main.c: the tlogwatch command line.  Reads like a checklist: parse the
 * subcommand and its options, load and check inputs, then act.  The only
 * file that exits.  Exit codes (DESIGN.md "CLI"): 0 success or valid;
 * 1 verification failed or alerts raised; 2 usage, config or input error;
 * 3 could not complete.
 *
 * Files: umask 077 for every command, so the state file, its -wal and
 * -shm (SQLite gives them the main file's mode) and anything else created
 * without an explicit mode are 0600; report files are made 0640 where
 * they are written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "monitor/cli/cli.h"
#include "monitor/log.h"

static void
usage(FILE *f)
{
    fputs(
        "usage: tlogwatch COMMAND [options]\n"
        "\n"
        "  run          [-c FILE]   the daemon (foreground, for systemd)\n"
        "  once         [-c FILE]   catch every log up, deliver, exit\n"
        "  check-config [-c FILE]   validate the configuration\n"
        "  status       [-c FILE] [--format text|json|html]\n"
        "               per log shard and watch rule state; json: the\n"
        "               /api/v1/status document, html: the dashboard\n"
        "  report       [-c FILE] [--since DURATION] [--format md|json|html]\n"
        "  test-alert   [-c FILE]   send monitor.test through every sink\n"
        "  inspect      FILE|- [--key PEM | --trusted-root FILE]\n"
        "               decode a Rekor v1 entry or a Sigstore bundle\n"
        "  attestation verify [-c FILE] [--root PEM] [--nonce HEX]\n"
        "                     [--max-age DURATION] DOC|-\n"
        "               which recorded signing built an AWS Nitro enclave's\n"
        "               attestation document (raw CBOR or base64)\n"
        "  verify checkpoint  --key PEM|VKEY [--name NAME] [--origin O] FILE\n"
        "  verify note        --key PEM|VKEY [--name NAME] FILE\n"
        "  verify consistency --old-size M --old-root HEX --new-size N\n"
        "                     --new-root HEX --proof FILE\n"
        "  verify inclusion   --index I --size N --root HEX\n"
        "                     (--leaf-hash HEX | --entry FILE) --proof FILE\n"
        "  verify sth         --trusted-root FILE FILE   a CT signed tree "
        "head\n"
        "  verify evidence    --trusted-root FILE ALERT  a CT log alert's\n"
        "                     evidence (exit 0: it shows what the type says)\n"
        "\n"
        "Exit codes: 0 ok or valid; 1 verification failed, or (once) alerts\n"
        "of severity warning or above; 2 usage, config or input error;\n"
        "3 could not complete.  TLOGWATCH_DEBUG=1 logs debug lines.\n"
        "Default config: " CLI_DEFAULT_CONFIG "\n",
        f);
}

int
main(int argc, char **argv)
{
    const struct cli_command *cmd;

    (void)umask(077);
    log_init(getenv("TLOGWATCH_DEBUG") != NULL);
    if (argc < 2) {
        usage(stderr);
        exit(CLI_EXIT_USAGE);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        exit(CLI_EXIT_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tlogwatch %s\n", TLOGWATCH_VERSION);
        exit(CLI_EXIT_OK);
    }
    cmd = cli_find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "tlogwatch: unknown command '%s'\n", argv[1]);
        usage(stderr);
        exit(CLI_EXIT_USAGE);
    }
    exit(cmd->fn(argc - 1, argv + 1));
}
