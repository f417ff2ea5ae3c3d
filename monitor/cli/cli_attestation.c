/*
 * cli_attestation.c: `tlogwatch attestation verify [-c FILE] [--root PEM]
 * [--nonce HEX] [--max-age DURATION] DOC|-` (issue 14): which recorded
 * signing produced an enclave's measurements.
 *
 * DOC is an AWS Nitro attestation document, raw CBOR or base64 (as an
 * enclave hands it out; whitespace ignored), from a file or stdin.  It is
 * parsed and checked (monitor/view/attestation.h: signature, chain to the
 * AWS Nitro Enclaves Root G1 compiled in, or to --root, at the document's
 * time; --nonce; --max-age), then, only when it is valid and not from a
 * debug-mode enclave, its PCRs are looked up in the state of the
 * configuration (-c), opened read-only (safe beside a running daemon).
 * Prints the answer, one JSON object (schema tlogwatch.attestation/v1).
 *
 * Exit: 0 known_build with a matching signing that raised no alert; 1
 * any other verdict (unknown_build, debug_mode, invalid, or a known build
 * whose every matching signing raised an alert); 2 usage, configuration
 * or input error (a document that does not parse, with the reason); 3 the
 * state could not be read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/cli/cli.h"
#include "monitor/cli/cli_io.h"
#include "monitor/store/store.h"
#include "monitor/view/attestation.h"

#define ATT_ROOT_MAX (64 * 1024) /* a --root PEM file */

static int
att_usage(void)
{
    fprintf(stderr, "usage: tlogwatch attestation verify [-c FILE] [--root "
                    "PEM] [--nonce HEX]\n"
                    "                                    [--max-age DURATION] "
                    "DOC|-\n");
    return CLI_EXIT_USAGE;
}

/* The configuration's state, read-only; NULL after printing why (*rc set). */
static struct store *
att_store(const char *path, struct config **cfg, int *rc)
{
    char err[STORE_ERRMSG_MAX];
    struct store *s;

    *cfg = cli_config_load(path);
    if (*cfg == NULL) {
        *rc = CLI_EXIT_USAGE;
        return NULL;
    }
    s = store_open((*cfg)->state, STORE_OPEN_READONLY, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "tlogwatch attestation verify: state %s: %s\n",
                (*cfg)->state, err);
        *rc = CLI_EXIT_ERROR;
    }
    return s;
}

static int
att_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"root", required_argument, NULL, 'r'},
        {"nonce", required_argument, NULL, 'n'},
        {"max-age", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    const char *path = CLI_DEFAULT_CONFIG, *root_path = NULL, *doc_path;
    const char *nonce_hex = NULL, *max_age = NULL;
    struct attestation_opts o;
    struct attestation a;
    struct config *cfg = NULL;
    struct store *s = NULL;
    enum attestation_verdict verdict;
    uint8_t nonce[NITRO_NONCE_MAX], *doc = NULL;
    char err[CLI_ERR_LEN], why[NITRO_WHY_MAX], *text = NULL;
    size_t tlen = 0;
    json_t *answer = NULL;
    long n;
    int ch, clean = 0, rc = CLI_EXIT_USAGE;

    memset(&o, 0, sizeof(o));
    memset(&a, 0, sizeof(a));
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'r':
            root_path = optarg;
            break;
        case 'n':
            nonce_hex = optarg;
            break;
        case 'a':
            max_age = optarg;
            break;
        default:
            return att_usage();
        }
    }
    if (optind != argc - 1) {
        return att_usage();
    }
    doc_path = argv[optind];
    if (nonce_hex != NULL) {
        n = strlen(nonce_hex) % 2 == 0
                ? merkle_hex_decode(nonce_hex, strlen(nonce_hex), nonce,
                                    sizeof(nonce))
                : -1;
        if (n < 0) {
            fprintf(stderr,
                    "tlogwatch attestation verify: --nonce: not hex of at "
                    "most %d bytes\n",
                    NITRO_NONCE_MAX);
            return CLI_EXIT_USAGE;
        }
        o.nonce = nonce;
        o.nonce_len = (size_t)n;
    }
    if (max_age != NULL) {
        uint64_t ms = 0;
        const char *bad = NULL;

        if (config_parse_duration(max_age, strlen(max_age), &ms, &bad) != 0 ||
            ms == 0) {
            fprintf(stderr,
                    "tlogwatch attestation verify: --max-age '%s': %s\n",
                    max_age, bad != NULL ? bad : "must be more than 0");
            return CLI_EXIT_USAGE;
        }
        o.max_age_s = (int64_t)((ms + 999) / 1000);
    }
    if (root_path != NULL) {
        if (cli_read_input(root_path, ATT_ROOT_MAX, &text, &tlen, err,
                           sizeof(err)) != 0) {
            fprintf(stderr, "tlogwatch attestation verify: --root: %s\n", err);
            return CLI_EXIT_USAGE;
        }
        o.root = nitro_root_from_pem(text, tlen, why);
        free(text);
        text = NULL;
        if (o.root == NULL) {
            fprintf(stderr, "tlogwatch attestation verify: --root %s: %s\n",
                    root_path, why);
            return CLI_EXIT_USAGE;
        }
    } else if ((o.root = nitro_root_default()) == NULL) {
        fprintf(stderr, "tlogwatch attestation verify: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    o.now = (int64_t)time(NULL);

    if (cli_read_input(doc_path, NITRO_MAX_TEXT, &text, &tlen, err,
                       sizeof(err)) != 0) {
        fprintf(stderr, "tlogwatch attestation verify: %s\n", err);
        goto out;
    }
    doc = malloc(NITRO_MAX_BYTES);
    if (doc == NULL) {
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    n = nitro_decode_input((const uint8_t *)text, tlen, doc, NITRO_MAX_BYTES,
                           why);
    if (n < 0 || attestation_check(doc, (size_t)n, &o, &a, why) != 0) {
        fprintf(stderr, "tlogwatch attestation verify: %s: %s\n",
                strcmp(doc_path, "-") == 0 ? "stdin" : doc_path, why);
        goto out;
    }
    if (a.needs_lookup && (s = att_store(path, &cfg, &rc)) == NULL) {
        goto out;
    }
    answer = attestation_answer(&a, s, &verdict, &clean, err, sizeof(err));
    if (answer == NULL) {
        fprintf(stderr, "tlogwatch attestation verify: %s\n", err);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if (json_dumpf(answer, stdout, JSON_INDENT(2)) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "tlogwatch attestation verify: cannot write\n");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    rc = verdict == ATTESTATION_KNOWN_BUILD && clean ? CLI_EXIT_OK
                                                     : CLI_EXIT_FAIL;
out:
    json_decref(answer);
    attestation_release(&a);
    store_close(s);
    config_free(cfg);
    X509_free(o.root);
    free(doc);
    free(text);
    return rc;
}

int
cli_attestation(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        return att_usage();
    }
    return att_verify(argc - 1, argv + 1);
}
