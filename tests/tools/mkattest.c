/*
 * mkattest.c: tlogwatch-mkattest, the e2e tests' maker of Nitro
 * attestation documents signed by a test CA (tests/tools/nitro_mint.h).
 *
 *   tlogwatch-mkattest --ca DIR [--pcr N=HEX]... [--age SECONDS]
 *                      [--nonce HEX] [--module-id ID] [--base64]
 *
 * DIR holds the CA (root, three intermediates, leaf; made on first use:
 * CA certificates valid a year back and ten ahead, the leaf a day either
 * side of now) and DIR/root.pem, the root to give `tlogwatch attestation
 * verify --root`.  The document goes to stdout, raw CBOR or (--base64)
 * one line of base64.  PCR0..15 are present and zero unless --pcr sets
 * one (96 hex digits); its timestamp is now minus --age seconds.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "merkle/merkle.h"
#include "tests/tools/nitro_mint.h"

static int
usage(void)
{
    fprintf(stderr, "usage: tlogwatch-mkattest --ca DIR [--pcr N=HEX]... "
                    "[--age SECONDS] [--nonce HEX] [--module-id ID] "
                    "[--base64]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"pcr", required_argument, NULL, 'p'},
        {"age", required_argument, NULL, 'a'},
        {"nonce", required_argument, NULL, 'n'},
        {"module-id", required_argument, NULL, 'm'},
        {"base64", no_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    struct nitro_mint_doc d;
    struct nitro_mint_ca *ca;
    const char *dir = NULL;
    char path[4096];
    uint8_t nonce[512], *doc;
    struct stat st;
    long age = 0, n;
    size_t len;
    int ch, b64 = 0, rc = 0;
    time_t now = time(NULL);

    memset(&d, 0, sizeof(d));
    d.pcr_present = 0xffff;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            dir = optarg;
            break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            long i = eq ? strtol(optarg, NULL, 10) : -1;

            if (i < 0 || i > 31 || strlen(eq + 1) != 96 ||
                merkle_hex_decode(eq + 1, 96, d.pcrs[i], 48) != 48) {
                fprintf(stderr, "mkattest: bad --pcr %s\n", optarg);
                return 2;
            }
            d.pcr_present |= 1u << i;
            break;
        }
        case 'a':
            age = strtol(optarg, NULL, 10);
            break;
        case 'n':
            n = merkle_hex_decode(optarg, strlen(optarg), nonce, sizeof(nonce));
            if (n < 0) {
                fprintf(stderr, "mkattest: bad --nonce\n");
                return 2;
            }
            d.nonce = nonce;
            d.nonce_len = (size_t)n;
            break;
        case 'm':
            d.module_id = optarg;
            break;
        case 'b':
            b64 = 1;
            break;
        default:
            return usage();
        }
    }
    if (dir == NULL || optind != argc) {
        return usage();
    }
    snprintf(path, sizeof(path), "%s/cert0.pem", dir);
    if (stat(path, &st) == 0) {
        ca = nitro_mint_ca_load(dir);
    } else {
        ca = nitro_mint_ca_new((int64_t)now - 86400 * 365,
                               (int64_t)now + 86400 * 3650,
                               (int64_t)now - 86400, (int64_t)now + 86400);
        if (ca != NULL && nitro_mint_ca_save(ca, dir) != 0) {
            fprintf(stderr, "mkattest: cannot write the CA to %s\n", dir);
            nitro_mint_ca_free(ca);
            return 1;
        }
    }
    if (ca == NULL) {
        fprintf(stderr, "mkattest: no CA in %s\n", dir);
        return 1;
    }
    d.timestamp_ms = (uint64_t)((int64_t)now - age) * 1000 + 123;
    doc = nitro_mint(ca, &d, &len);
    if (doc == NULL) {
        fprintf(stderr, "mkattest: minting failed\n");
        rc = 1;
    } else if (b64) {
        char *text = malloc(len / 3 * 4 + 8);

        if (text == NULL ||
            merkle_b64_encode(doc, len, text, len / 3 * 4 + 8) < 0) {
            rc = 1;
        } else {
            printf("%s\n", text);
        }
        free(text);
    } else if (fwrite(doc, 1, len, stdout) != len) {
        rc = 1;
    }
    free(doc);
    nitro_mint_ca_free(ca);
    return rc;
}
