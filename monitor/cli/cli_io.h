/*
 * cli_io.h: input helpers shared by the cli_verify and cli_inspect
 * subcommands: bounded reads of a file or stdin, decimal tree sizes with
 * the CLI's sanity limit, hex hashes, and PEM public keys.
 *
 * Invariants: every read is bounded (the caller names the limit; one byte
 * more is read only to detect "too large"); error messages name the input
 * (option or path) but quote none of its bytes, so they fit one line.
 */
#ifndef TLOGWATCH_MONITOR_CLI_IO_H
#define TLOGWATCH_MONITOR_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "merkle/merkle.h"

/* Largest tree size or index the CLI accepts: Rekor and Trillian sizes are
 * int64, so anything above is an absurdity, not a log. */
#define CLI_MAX_TREE_SIZE ((uint64_t)INT64_MAX)
#define CLI_ERR_LEN 256

/*
 * Read path ("-" is stdin) into a new NUL-terminated buffer (*buf; free())
 * of at most max bytes.  Returns 0, or -1 with a message in err.
 */
int cli_read_input(const char *path, size_t max, char **buf, size_t *len,
                   char *err, size_t errlen);

/* Decimal 0..CLI_MAX_TREE_SIZE, digits only.  0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);

/* Exactly 64 hex digits.  0 or -1. */
int cli_parse_hash(const char *s, uint8_t out[MERKLE_HASH_LEN]);

/*
 * A PEM public key (SubjectPublicKeyInfo): ECDSA P-256 or Ed25519 only.
 * Returns new (EVP_PKEY_free), or NULL with a message in err.
 */
EVP_PKEY *cli_pubkey_from_pem(const char *buf, size_t len, char *err,
                              size_t errlen);

#endif
