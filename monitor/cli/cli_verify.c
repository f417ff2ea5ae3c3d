/*
 * cli_verify.c: "tlogwatch verify": check a checkpoint, a signed note, a
 * consistency proof or an inclusion proof from files, offline.
 *
 *   verify checkpoint  --key KEY [--key KEY]... [--name NAME]
 *                      [--origin ORIGIN] FILE
 *   verify note        --key KEY [--key KEY]... [--name NAME] FILE
 *   verify consistency --old-size M --old-root HEX --new-size N
 *                      --new-root HEX --proof FILE
 *   verify inclusion   --index I --size N --root HEX
 *                      (--leaf-hash HEX | --entry FILE) --proof FILE
 *   verify sth         --trusted-root FILE FILE
 *   verify evidence    --trusted-root FILE ALERT
 *
 * sth: FILE is an RFC 6962 signed tree head as tlogwatch records it (STH
 * evidence text, monitor/identity/ctleaf.h: the get-sth answer with the
 * CT log's log id); its TreeHeadSignature must verify with the key of the
 * trusted root's ctlogs entry of that log id.
 *
 * evidence: ALERT is one alert (JSON: a JSONL line, a webhook body, an
 * exec hook's file) raised from a CT log; its evidence's tree heads are
 * checked as for sth, and exit 0 says the evidence shows what the alert
 * type says (so a tampered copy exits 1):
 *   log.inconsistent   both heads signed by the same log and either the
 *                      same size with other roots, or a larger new head
 *                      that the evidence's consistency proof does not
 *                      link (merkle_verify_consistency fails), or (no
 *                      old head needed) a new head of size 2^63 or more;
 *   log.rollback       both signed by the same log, the new head smaller
 *                      and not older (its signed timestamp) than the old
 *                      one;
 *   log.bad_signature  the new head does NOT verify with the key of its
 *                      log id (the old one, when present, does);
 *   log.entries_mismatch  the signed head verifies, the size the entries
 *                      were checked at is at most its size, and at its
 *                      size the computed root is not the signed root (the
 *                      entries themselves are not in the evidence);
 *   log.entries_withheld  the signed head verifies and commits to the
 *                      withheld index (log_index < its size);
 *   signing.unlogged_certificate, signing.unexpected,
 *   signing.self_hosted_runner, signing.impostor (raised from a CT log
 *                      entry: evidence ct_log, log_index, leaf_hash,
 *                      checkpoint)  the signed head verifies and holds the
 *                      certificate's index (log_index < its size); that
 *                      leaf_hash is at that index takes an inclusion proof
 *                      from the log (get-proof-by-hash, verify
 *                      inclusion).
 * Evidence in signed notes (Rekor) is checked with verify checkpoint and
 * verify consistency instead (exit 2 here).
 *
 * KEY is a PEM public key file (ECDSA P-256 or Ed25519; signer name from
 * --name, else the first word of the checkpoint origin), or a signed-note
 * vkey "name+hexid+base64(alg||key)", given directly or in a file.  FILE
 * and --proof/--entry accept "-" for stdin (only one of them).
 *
 * Exit codes (DESIGN.md "CLI"): 0 valid (the verified facts on stdout);
 * 1 verification failed (the reason on stderr); 2 usage or malformed input,
 * exactly one line on stderr naming what is wrong; 3 internal failure.
 * The order is fixed: every input is read and parsed (2) before any
 * signature or proof is checked (1).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/cli/cli.h"
#include "monitor/cli/cli_io.h"
#include "monitor/identity/ctleaf.h"
#include "monitor/identity/entry.h"
#include "monitor/log.h"

#define VERIFY_MAX_KEYS 16
#define VERIFY_MAX_KEYFILE (64 * 1024)
#define VERIFY_MAX_ALERT (1024 * 1024) /* bytes of an alert document */

/* Parsed command line: every value points into argv. */
struct verify_args {
    const char *sub;
    const char *keys[VERIFY_MAX_KEYS];
    size_t nkeys;
    const char *name, *origin;
    const char *old_size, *old_root, *new_size, *new_root;
    const char *index, *size, *root, *leaf_hash, *entry, *proof;
    const char *trusted_root;
    const char *file;
};

/* One line on stderr, then the exit code. */
static int verify_err(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
verify_err(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warnx("verify: %s", msg);
    return code;
}

static void
verify_usage(FILE *f)
{
    fputs("usage: tlogwatch verify checkpoint  --key KEY [--key KEY]... "
          "[--name NAME] [--origin ORIGIN] FILE\n"
          "       tlogwatch verify note        --key KEY [--key KEY]... "
          "[--name NAME] FILE\n"
          "       tlogwatch verify consistency --old-size M --old-root HEX "
          "--new-size N --new-root HEX --proof FILE\n"
          "       tlogwatch verify inclusion   --index I --size N --root HEX "
          "(--leaf-hash HEX | --entry FILE) --proof FILE\n"
          "       tlogwatch verify sth         --trusted-root FILE FILE\n"
          "       tlogwatch verify evidence    --trusted-root FILE ALERT\n",
          f);
}

/* c(heckpoint), n(ote), (c)o(nsistency), i(nclusion), s(th) or
 * e(vidence). */
static char
verify_letter(const struct verify_args *a)
{
    return strcmp(a->sub, "consistency") == 0 ? 'o' : a->sub[0];
}

/* The slot for option name in a, or NULL if sub does not take it. */
static const char **
verify_slot(struct verify_args *a, const char *name)
{
    static const struct {
        const char *name;
        const char *subs; /* first letters of the subcommands taking it */
        size_t off;
    } opts[] = {
        {"name", "cn", offsetof(struct verify_args, name)},
        {"origin", "c", offsetof(struct verify_args, origin)},
        {"old-size", "o", offsetof(struct verify_args, old_size)},
        {"old-root", "o", offsetof(struct verify_args, old_root)},
        {"new-size", "o", offsetof(struct verify_args, new_size)},
        {"new-root", "o", offsetof(struct verify_args, new_root)},
        {"proof", "oi", offsetof(struct verify_args, proof)},
        {"index", "i", offsetof(struct verify_args, index)},
        {"size", "i", offsetof(struct verify_args, size)},
        {"root", "i", offsetof(struct verify_args, root)},
        {"leaf-hash", "i", offsetof(struct verify_args, leaf_hash)},
        {"entry", "i", offsetof(struct verify_args, entry)},
        {"trusted-root", "se", offsetof(struct verify_args, trusted_root)},
    };
    char s = verify_letter(a);
    size_t i;

    for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (strcmp(opts[i].name, name) == 0 && strchr(opts[i].subs, s)) {
            return (const char **)((char *)a + opts[i].off);
        }
    }
    return NULL;
}

/* Returns 0, or an exit code after one line on stderr. */
static int
verify_parse_args(int argc, char **argv, struct verify_args *a)
{
    int i;

    for (i = 2; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        char name[32];
        const char **slot;
        size_t nlen;

        if (strcmp(arg, "-") == 0 || arg[0] != '-') {
            if (a->file != NULL) {
                return verify_err(CLI_EXIT_USAGE,
                                  "%s: more than one FILE argument", a->sub);
            }
            a->file = arg;
            continue;
        }
        if (arg[1] != '-' || arg[2] == '\0') {
            return verify_err(CLI_EXIT_USAGE,
                              "%s: unknown option (see verify --help)", a->sub);
        }
        eq = strchr(arg + 2, '=');
        nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen >= sizeof(name)) {
            return verify_err(CLI_EXIT_USAGE, "%s: unknown option", a->sub);
        }
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return verify_err(CLI_EXIT_USAGE, "%s: --%s needs a value", a->sub,
                              name);
        }
        if (strcmp(name, "key") == 0 && strchr("cn", verify_letter(a))) {
            if (a->nkeys == VERIFY_MAX_KEYS) {
                return verify_err(CLI_EXIT_USAGE, "%s: more than %d --key",
                                  a->sub, VERIFY_MAX_KEYS);
            }
            a->keys[a->nkeys++] = val;
            continue;
        }
        slot = verify_slot(a, name);
        if (slot == NULL) {
            return verify_err(CLI_EXIT_USAGE,
                              "%s: unknown option --%s (see verify --help)",
                              a->sub, name);
        }
        if (*slot != NULL) {
            return verify_err(CLI_EXIT_USAGE, "%s: --%s given twice", a->sub,
                              name);
        }
        *slot = val;
    }
    return 0;
}

/* Required option check. */
static int
verify_need(const struct verify_args *a, const char *v, const char *what)
{
    if (v == NULL) {
        return verify_err(CLI_EXIT_USAGE, "%s: %s is required", a->sub, what);
    }
    return 0;
}

/* Read a --proof file and parse it; returns 0 or an exit code. */
static int
verify_read_proof(const char *path, struct entry_proof *p)
{
    char err[CLI_ERR_LEN], perr[ENTRY_ERR_LEN];
    char *buf;
    size_t len;
    int rc;

    if (cli_read_input(path, ENTRY_MAX_JSON, &buf, &len, err, sizeof(err)) !=
        0) {
        return verify_err(CLI_EXIT_USAGE, "--proof: %s", err);
    }
    rc = entry_proof_file_parse(buf, len, p, perr, sizeof(perr));
    free(buf);
    if (rc != 0) {
        return verify_err(CLI_EXIT_USAGE, "--proof: %s", perr);
    }
    return 0;
}

static void
hex32(const uint8_t h[MERKLE_HASH_LEN], char out[2 * MERKLE_HASH_LEN + 1])
{
    if (merkle_hex_encode(h, MERKLE_HASH_LEN, out, 2 * MERKLE_HASH_LEN + 1) <
        0) {
        out[0] = '\0';
    }
}

/* merkle verdict to exit code: internal 3, everything else a failure. */
static int
verify_merkle_fail(const char *what, enum merkle_result r)
{
    return verify_err(r == MERKLE_ERR_INTERNAL ? CLI_EXIT_ERROR : CLI_EXIT_FAIL,
                      "%s: %s", what, merkle_strerror(r));
}

static int
verify_consistency(const struct verify_args *a)
{
    struct entry_proof p;
    uint64_t m, n;
    uint8_t r1[MERKLE_HASH_LEN], r2[MERKLE_HASH_LEN];
    enum merkle_result r;
    int rc;

    memset(&p, 0, sizeof(p));
    if (a->file != NULL) {
        return verify_err(CLI_EXIT_USAGE,
                          "consistency: unexpected FILE argument");
    }
    if ((rc = verify_need(a, a->old_size, "--old-size")) != 0 ||
        (rc = verify_need(a, a->old_root, "--old-root")) != 0 ||
        (rc = verify_need(a, a->new_size, "--new-size")) != 0 ||
        (rc = verify_need(a, a->new_root, "--new-root")) != 0 ||
        (rc = verify_need(a, a->proof, "--proof")) != 0) {
        return rc;
    }
    if (cli_parse_size(a->old_size, &m) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "consistency: --old-size: not a decimal integer "
                          "in 0..%llu",
                          (unsigned long long)CLI_MAX_TREE_SIZE);
    }
    if (cli_parse_size(a->new_size, &n) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "consistency: --new-size: not a decimal integer "
                          "in 0..%llu",
                          (unsigned long long)CLI_MAX_TREE_SIZE);
    }
    if (cli_parse_hash(a->old_root, r1) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "consistency: --old-root: not 64 hex digits");
    }
    if (cli_parse_hash(a->new_root, r2) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "consistency: --new-root: not 64 hex digits");
    }
    if ((rc = verify_read_proof(a->proof, &p)) != 0) {
        return rc;
    }
    if (p.has_tree && (p.size != n || !merkle_hash_equal(p.root, r2))) {
        entry_proof_clear(&p);
        return verify_err(CLI_EXIT_FAIL,
                          "consistency: the proof file's treeSize/rootHash "
                          "are not --new-size/--new-root");
    }
    r = merkle_verify_consistency(
        m, n, r1, r2, (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes, p.nhashes);
    entry_proof_clear(&p);
    if (r != MERKLE_OK) {
        return verify_merkle_fail("consistency", r);
    }
    printf("consistent: size %llu -> %llu\n", (unsigned long long)m,
           (unsigned long long)n);
    return CLI_EXIT_OK;
}

/* The leaf hash from --entry FILE; returns 0 or an exit code. */
static int
verify_entry_leaf(const char *path, uint8_t leaf[MERKLE_HASH_LEN])
{
    char err[CLI_ERR_LEN], eerr[ENTRY_ERR_LEN];
    struct entry *e;
    struct entry_check c;
    char *buf;
    size_t len;

    if (cli_read_input(path, ENTRY_MAX_JSON, &buf, &len, err, sizeof(err)) !=
        0) {
        return verify_err(CLI_EXIT_USAGE, "--entry: %s", err);
    }
    e = entry_parse(buf, len, eerr, sizeof(eerr));
    free(buf);
    if (e == NULL) {
        return verify_err(CLI_EXIT_USAGE, "--entry: %s", eerr);
    }
    memcpy(leaf, e->leaf_hash, MERKLE_HASH_LEN);
    entry_check_uuid(e, &c);
    entry_free(e);
    if (c.verdict == ENTRY_CHECK_FAILED) {
        return verify_err(CLI_EXIT_FAIL, "inclusion: --entry: %s", c.reason);
    }
    return 0;
}

static int
verify_inclusion(const struct verify_args *a)
{
    struct entry_proof p;
    uint64_t index, size;
    uint8_t root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
    char hex[2 * MERKLE_HASH_LEN + 1];
    enum merkle_result r;
    int rc;

    memset(&p, 0, sizeof(p));
    if (a->file != NULL) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: unexpected FILE argument");
    }
    if ((rc = verify_need(a, a->index, "--index")) != 0 ||
        (rc = verify_need(a, a->size, "--size")) != 0 ||
        (rc = verify_need(a, a->root, "--root")) != 0 ||
        (rc = verify_need(a, a->proof, "--proof")) != 0) {
        return rc;
    }
    if ((a->leaf_hash == NULL) == (a->entry == NULL)) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: give exactly one of --leaf-hash and "
                          "--entry");
    }
    if (a->entry != NULL && strcmp(a->entry, "-") == 0 &&
        strcmp(a->proof, "-") == 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: --entry and --proof cannot both be "
                          "stdin");
    }
    if (cli_parse_size(a->index, &index) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: --index: not a decimal integer in "
                          "0..%llu",
                          (unsigned long long)CLI_MAX_TREE_SIZE);
    }
    if (cli_parse_size(a->size, &size) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: --size: not a decimal integer in "
                          "0..%llu",
                          (unsigned long long)CLI_MAX_TREE_SIZE);
    }
    if (cli_parse_hash(a->root, root) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: --root: not 64 hex digits");
    }
    if (a->leaf_hash != NULL && cli_parse_hash(a->leaf_hash, leaf) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "inclusion: --leaf-hash: not 64 hex digits");
    }
    if ((rc = verify_read_proof(a->proof, &p)) != 0) {
        return rc;
    }
    if (a->entry != NULL && (rc = verify_entry_leaf(a->entry, leaf)) != 0) {
        entry_proof_clear(&p);
        return rc;
    }
    if ((p.has_tree && (p.size != size || !merkle_hash_equal(p.root, root))) ||
        (p.has_index && p.index != index)) {
        entry_proof_clear(&p);
        return verify_err(CLI_EXIT_FAIL,
                          "inclusion: the proof file's logIndex/treeSize/"
                          "rootHash are not --index/--size/--root");
    }
    r = merkle_verify_inclusion(index, size, leaf,
                                (const uint8_t(*)[MERKLE_HASH_LEN])p.hashes,
                                p.nhashes, root);
    entry_proof_clear(&p);
    if (r != MERKLE_OK) {
        return verify_merkle_fail("inclusion", r);
    }
    hex32(leaf, hex);
    printf("included: leaf %s at index %llu in tree size %llu\n", hex,
           (unsigned long long)index, (unsigned long long)size);
    return CLI_EXIT_OK;
}

/*
 * One --key into a note verifier.  pem_name is the signer name for a PEM
 * key (NULL: a PEM key is refused).  Returns new, or NULL after one line
 * on stderr (*rc set).
 */
static struct merkle_note_key *
verify_load_key(const char *arg, const char *pem_name, int *rc)
{
    char err[CLI_ERR_LEN];
    struct merkle_note_key *k = NULL;
    enum merkle_result r;
    struct stat st;
    char *buf = NULL, *vkey;
    size_t len = 0, i;
    EVP_PKEY *pkey;

    *rc = CLI_EXIT_USAGE;
    if (stat(arg, &st) == 0) {
        if (cli_read_input(arg, VERIFY_MAX_KEYFILE, &buf, &len, err,
                           sizeof(err)) != 0) {
            verify_err(CLI_EXIT_USAGE, "--key: %s", err);
            return NULL;
        }
        if (strstr(buf, "-----BEGIN") != NULL) {
            pkey = cli_pubkey_from_pem(buf, len, err, sizeof(err));
            free(buf);
            if (pkey == NULL) {
                verify_err(CLI_EXIT_USAGE, "--key %s: %s", arg, err);
                return NULL;
            }
            if (pem_name == NULL) {
                EVP_PKEY_free(pkey);
                verify_err(CLI_EXIT_USAGE,
                           "--key %s: a PEM key needs --name here", arg);
                return NULL;
            }
            k = entry_note_key(pkey, pem_name, &r);
            EVP_PKEY_free(pkey);
            if (k == NULL) {
                verify_err(CLI_EXIT_USAGE, "--key %s: %s", arg,
                           merkle_strerror(r));
            }
            return k;
        }
        /* A vkey in a file: one line, surrounding whitespace ignored. */
        vkey = buf;
        while (*vkey == ' ' || *vkey == '\t' || *vkey == '\n' ||
               *vkey == '\r') {
            vkey++;
        }
        i = strlen(vkey);
        while (i > 0 && (vkey[i - 1] == ' ' || vkey[i - 1] == '\t' ||
                         vkey[i - 1] == '\n' || vkey[i - 1] == '\r')) {
            vkey[--i] = '\0';
        }
    } else if (strchr(arg, '+') != NULL) {
        vkey = (char *)arg;
    } else {
        verify_err(CLI_EXIT_USAGE,
                   "--key: neither a readable file nor a vkey string");
        return NULL;
    }
    if (strchr(vkey, '\n') != NULL) {
        free(buf);
        verify_err(CLI_EXIT_USAGE, "--key %s: more than one line", arg);
        return NULL;
    }
    k = merkle_note_key_from_vkey(vkey, &r);
    if (k == NULL) {
        verify_err(CLI_EXIT_USAGE, "--key: not a usable vkey: %s",
                   merkle_strerror(r));
    }
    free(buf);
    return k;
}

/* Shared by checkpoint and note: parse, load keys, verify. */
static int
verify_note(const struct verify_args *a, int checkpoint)
{
    char err[CLI_ERR_LEN], hex[2 * MERKLE_HASH_LEN + 1];
    char clean[MERKLE_ORIGIN_MAX], signer[MERKLE_NOTE_MAX_NAME];
    struct merkle_note_key *keys[VERIFY_MAX_KEYS];
    struct merkle_note_result res;
    struct merkle_checkpoint cp;
    enum merkle_result r;
    const char *pem_name = a->name;
    size_t nkeys = 0, i, j;
    char *buf = NULL;
    size_t len;
    int rc;

    if (a->file == NULL) {
        return verify_err(CLI_EXIT_USAGE, "%s: FILE is required", a->sub);
    }
    if (a->nkeys == 0) {
        return verify_err(CLI_EXIT_USAGE, "%s: --key is required", a->sub);
    }
    if (cli_read_input(a->file, MERKLE_NOTE_MAX_SIZE, &buf, &len, err,
                       sizeof(err)) != 0) {
        return verify_err(CLI_EXIT_USAGE, "%s: %s", a->sub, err);
    }
    r = merkle_note_parse(buf, len, &res);
    if (r != MERKLE_OK) {
        rc = verify_err(
            r == MERKLE_ERR_INTERNAL ? CLI_EXIT_ERROR : CLI_EXIT_USAGE,
            "%s: not a signed note: %s", a->sub, merkle_strerror(r));
        goto out;
    }
    if (checkpoint) {
        r = merkle_checkpoint_parse(buf, res.text_len, &cp);
        if (r != MERKLE_OK) {
            rc = verify_err(CLI_EXIT_USAGE, "checkpoint: not a checkpoint: %s",
                            merkle_strerror(r));
            goto out;
        }
        if (pem_name == NULL) {
            size_t n = strcspn(cp.origin, " ");
            if (n == 0 || n >= sizeof(signer)) {
                rc = verify_err(CLI_EXIT_USAGE,
                                "checkpoint: no signer name in the origin "
                                "line (use --name)");
                goto out;
            }
            memcpy(signer, cp.origin, n);
            signer[n] = '\0';
            pem_name = signer;
        }
    }
    for (i = 0; i < a->nkeys; i++) {
        keys[nkeys] = verify_load_key(a->keys[i], pem_name, &rc);
        if (keys[nkeys] == NULL) {
            goto out;
        }
        nkeys++;
    }
    for (i = 0; i < nkeys; i++) {
        for (j = i + 1; j < nkeys; j++) {
            if (merkle_note_key_id(keys[i]) == merkle_note_key_id(keys[j]) &&
                strcmp(merkle_note_key_name(keys[i]),
                       merkle_note_key_name(keys[j])) == 0) {
                rc = verify_err(CLI_EXIT_USAGE,
                                "%s: --key %zu and --key %zu are the same "
                                "name and key id (ambiguous)",
                                a->sub, i + 1, j + 1);
                goto out;
            }
        }
    }
    r = merkle_note_verify(buf, len, keys, nkeys, &res);
    switch (r) {
    case MERKLE_OK:
        break;
    case MERKLE_ERR_NOTE_UNVERIFIED:
        rc = verify_err(CLI_EXIT_FAIL,
                        "%s: no signature line from a given key (name and "
                        "key id) verifies",
                        a->sub);
        goto out;
    case MERKLE_ERR_NOTE_BAD_SIGNATURE:
        rc = verify_err(CLI_EXIT_FAIL,
                        "%s: a given key's signature is "
                        "invalid",
                        a->sub);
        goto out;
    case MERKLE_ERR_INTERNAL:
        rc = verify_err(CLI_EXIT_ERROR, "%s: %s", a->sub, merkle_strerror(r));
        goto out;
    default:
        rc = verify_err(CLI_EXIT_USAGE, "%s: %s", a->sub, merkle_strerror(r));
        goto out;
    }
    if (checkpoint && a->origin != NULL && strcmp(a->origin, cp.origin) != 0) {
        rc = verify_err(CLI_EXIT_FAIL,
                        "checkpoint: signed, but the origin is not --origin");
        goto out;
    }
    if (checkpoint) {
        hex32(cp.root, hex);
        printf("origin: %s\nsize: %llu\nroot: %s\n",
               log_clean(cp.origin, strlen(cp.origin), clean, sizeof(clean)),
               (unsigned long long)cp.size, hex);
    } else {
        printf("text: %zu bytes\n", res.text_len);
    }
    for (i = 0; i < nkeys && i < 64; i++) {
        if (res.verified_mask & ((uint64_t)1 << i)) {
            const char *nm = merkle_note_key_name(keys[i]);
            printf("signer: %s+%08lx\n",
                   log_clean(nm, strlen(nm), signer, sizeof(signer)),
                   (unsigned long)merkle_note_key_id(keys[i]));
        }
    }
    rc = CLI_EXIT_OK;
out:
    for (i = 0; i < nkeys; i++) {
        merkle_note_key_free(keys[i]);
    }
    free(buf);
    return rc;
}

/* ---- RFC 6962 signed tree heads (CT) --------------------------------- */

/* A tree head of the evidence, parsed, and what checking it found. */
struct verify_head {
    const char *what; /* "old_checkpoint", ... */
    struct ctleaf_sth sth;
    uint8_t log_id[CTLEAF_HASH_LEN];
    const struct config_log_key *key; /* the trusted root's, or NULL */
    enum ctleaf_sth_result res;
};

/* Parse text as STH evidence; 0 or an exit code (2). */
static int
verify_head_parse(const char *what, const char *text, size_t len,
                  struct verify_head *h)
{
    char err[CTLEAF_ERR_LEN];

    memset(h, 0, sizeof(*h));
    h->what = what;
    if (ctleaf_sth_evidence_parse(text, len, &h->sth, h->log_id, err,
                                  sizeof(err)) != 0) {
        return verify_err(CLI_EXIT_USAGE, "%s: not a CT tree head: %s", what,
                          err);
    }
    return 0;
}

/* Find the key of h's log id in root and check the signature (h->res,
 * CTLEAF_STH_NO_KEY without such a log). */
static void
verify_head_check(const struct config_trusted_root *root, struct verify_head *h)
{
    size_t i, n = config_trusted_root_nctlogs(root);

    h->key = NULL;
    for (i = 0; i < n && h->key == NULL; i++) {
        const struct config_log_key *k = config_trusted_root_ctlog(root, i);
        if (k != NULL && memcmp(k->log_id, h->log_id, CTLEAF_HASH_LEN) == 0) {
            h->key = k;
        }
    }
    h->res =
        h->key != NULL ? ctleaf_sth_verify(&h->sth, h->key) : CTLEAF_STH_NO_KEY;
}

/* h must verify: 0, or an exit code with the reason. */
static int
verify_head_must(const struct verify_head *h)
{
    char hex[2 * CTLEAF_HASH_LEN + 1];

    if (h->res == CTLEAF_STH_OK) {
        return 0;
    }
    if (h->key == NULL) {
        hex32(h->log_id, hex);
        return verify_err(CLI_EXIT_FAIL,
                          "%s: no CT log with log_id %s in the trusted root",
                          h->what, hex);
    }
    return verify_err(h->res == CTLEAF_STH_INTERNAL ? CLI_EXIT_ERROR
                                                    : CLI_EXIT_FAIL,
                      "%s: %s", h->what, ctleaf_sth_strerror(h->res));
}

static void
verify_head_print(const char *label, const struct verify_head *h)
{
    char id[2 * CTLEAF_HASH_LEN + 1], root[2 * CTLEAF_HASH_LEN + 1];

    hex32(h->log_id, id);
    hex32(h->sth.root_hash, root);
    printf("%s: log_id %s size %llu timestamp %llu root %s\n", label, id,
           (unsigned long long)h->sth.tree_size,
           (unsigned long long)h->sth.timestamp, root);
}

static struct config_trusted_root *
verify_load_root(const struct verify_args *a, int *rc)
{
    char err[512];
    struct config_trusted_root *root;

    *rc = verify_need(a, a->trusted_root, "--trusted-root");
    if (*rc != 0) {
        return NULL;
    }
    root = config_trusted_root_load(a->trusted_root, err, sizeof(err));
    if (root == NULL) {
        *rc = verify_err(CLI_EXIT_USAGE, "--trusted-root: %s", err);
    }
    return root;
}

static int
verify_sth(const struct verify_args *a)
{
    char err[CLI_ERR_LEN];
    struct config_trusted_root *root = NULL;
    struct verify_head h;
    char *buf = NULL;
    size_t len;
    int rc;

    if (a->file == NULL) {
        return verify_err(CLI_EXIT_USAGE, "sth: FILE is required");
    }
    if ((root = verify_load_root(a, &rc)) == NULL) {
        return rc;
    }
    if (cli_read_input(a->file, CTLEAF_EVIDENCE_MAX, &buf, &len, err,
                       sizeof(err)) != 0) {
        rc = verify_err(CLI_EXIT_USAGE, "sth: %s", err);
        goto out;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
        buf[--len] = '\0';
    }
    if ((rc = verify_head_parse("sth", buf, len, &h)) != 0) {
        goto out;
    }
    verify_head_check(root, &h);
    if ((rc = verify_head_must(&h)) != 0) {
        goto out;
    }
    verify_head_print("sth", &h);
    printf("signed by: %s\n", h.key->base_url != NULL ? h.key->base_url : "");
    rc = CLI_EXIT_OK;
out:
    free(buf);
    config_trusted_root_free(root);
    return rc;
}

/* The evidence member name as a tree head (*present: it is there).
 * Returns 0, or an exit code: missing when required, not a string, a
 * signed note (Rekor), or not STH evidence text. */
static int
verify_ev_head(json_t *ev, const char *name, int required,
               struct verify_head *h, int *present)
{
    json_t *v = json_object_get(ev, name);
    const char *s = json_string_value(v);

    *present = 0;
    if (v == NULL) {
        return required
                   ? verify_err(CLI_EXIT_USAGE, "evidence: %s is missing", name)
                   : 0;
    }
    if (s == NULL) {
        return verify_err(CLI_EXIT_USAGE, "evidence: %s: not a string", name);
    }
    if (s[0] != '{') {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: %s is a signed note (Rekor): check it "
                          "with verify checkpoint / verify consistency",
                          name);
    }
    *present = 1;
    return verify_head_parse(name, s, json_string_length(v), h);
}

static int
verify_same_log(const struct verify_head *o, const struct verify_head *n)
{
    if (memcmp(o->log_id, n->log_id, CTLEAF_HASH_LEN) != 0) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the two heads are of different logs");
    }
    return 0;
}

/* log.inconsistent: see the top. */
static int
verify_ev_inconsistent(json_t *ev, struct verify_head *o, int has_old,
                       struct verify_head *n)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    json_t *p = json_object_get(ev, "proof");
    size_t np = 0, i;
    enum merkle_result r;
    int rc;

    if (p != NULL &&
        (!json_is_array(p) || json_array_size(p) > MERKLE_MAX_PROOF)) {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: proof: not an array of at most %d "
                          "hashes",
                          MERKLE_MAX_PROOF);
    }
    for (i = 0; p != NULL && i < json_array_size(p); i++) {
        const char *h = json_string_value(json_array_get(p, i));
        if (h == NULL || cli_parse_hash(h, proof[i]) != 0) {
            return verify_err(CLI_EXIT_USAGE,
                              "evidence: proof[%zu]: not 64 hex digits", i);
        }
        np++;
    }
    if ((rc = verify_head_must(n)) != 0) {
        return rc;
    }
    if (n->sth.tree_size >= ((uint64_t)1 << 63)) {
        verify_head_print("new", n);
        printf("verdict: the log signed a tree head of size 2^63 or more, "
               "which no log can have grown to\n");
        return CLI_EXIT_OK;
    }
    if (!has_old) {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: old_checkpoint is missing");
    }
    if ((rc = verify_head_must(o)) != 0 || (rc = verify_same_log(o, n)) != 0) {
        return rc;
    }
    verify_head_print("old", o);
    verify_head_print("new", n);
    if (o->sth.tree_size == n->sth.tree_size) {
        if (merkle_hash_equal(o->sth.root_hash, n->sth.root_hash)) {
            return verify_err(CLI_EXIT_FAIL,
                              "evidence: the same size and the same root: "
                              "no conflict");
        }
        printf("verdict: the log signed two different roots for size %llu\n",
               (unsigned long long)n->sth.tree_size);
        return CLI_EXIT_OK;
    }
    if (o->sth.tree_size > n->sth.tree_size) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the new head is smaller than the old "
                          "one (that is log.rollback's evidence)");
    }
    r = merkle_verify_consistency(o->sth.tree_size, n->sth.tree_size,
                                  o->sth.root_hash, n->sth.root_hash,
                                  (const uint8_t(*)[MERKLE_HASH_LEN])proof, np);
    if (r == MERKLE_OK) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the proof links the two heads: they are "
                          "consistent");
    }
    if (r == MERKLE_ERR_INTERNAL) {
        return verify_merkle_fail("consistency", r);
    }
    printf("verdict: the log's consistency proof from size %llu to %llu "
           "does not verify (%s)\n",
           (unsigned long long)o->sth.tree_size,
           (unsigned long long)n->sth.tree_size, merkle_strerror(r));
    return CLI_EXIT_OK;
}

static int
verify_ev_rollback(struct verify_head *o, int has_old, struct verify_head *n)
{
    int rc;

    if (!has_old) {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: old_checkpoint is missing");
    }
    if ((rc = verify_head_must(o)) != 0 || (rc = verify_head_must(n)) != 0 ||
        (rc = verify_same_log(o, n)) != 0) {
        return rc;
    }
    verify_head_print("old", o);
    verify_head_print("new", n);
    if (n->sth.tree_size >= o->sth.tree_size) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the new head is not smaller than the "
                          "old one");
    }
    if (n->sth.timestamp < o->sth.timestamp) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the smaller head is the older one "
                          "(signed timestamps): an old head, not a "
                          "rollback");
    }
    printf("verdict: the log signed size %llu after size %llu (timestamps "
           "%llu >= %llu)\n",
           (unsigned long long)n->sth.tree_size,
           (unsigned long long)o->sth.tree_size,
           (unsigned long long)n->sth.timestamp,
           (unsigned long long)o->sth.timestamp);
    return CLI_EXIT_OK;
}

static int
verify_ev_bad_signature(struct verify_head *o, int has_old,
                        struct verify_head *n)
{
    int rc;

    if (has_old && (rc = verify_head_must(o)) != 0) {
        return rc;
    }
    if (n->key == NULL) {
        return verify_head_must(n); /* no such log: nothing to fail with */
    }
    if (n->res == CTLEAF_STH_OK) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: new_checkpoint verifies with the log's "
                          "key: no bad signature");
    }
    if (n->res == CTLEAF_STH_INTERNAL) {
        return verify_head_must(n);
    }
    if (has_old) {
        verify_head_print("old", o);
    }
    verify_head_print("new", n);
    printf("verdict: the new head does not verify with the log's key (%s)\n",
           ctleaf_sth_strerror(n->res));
    return CLI_EXIT_OK;
}

/* A non-negative integer member of the evidence; 0 or an exit code. */
static int
verify_ev_u64(json_t *ev, const char *name, uint64_t *v)
{
    json_t *j = json_object_get(ev, name);

    if (!json_is_integer(j) || json_integer_value(j) < 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: %s: not a non-negative integer", name);
    }
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

static int
verify_ev_mismatch(json_t *ev, struct verify_head *h)
{
    const char *cr = json_string_value(json_object_get(ev, "computed_root"));
    uint8_t computed[MERKLE_HASH_LEN];
    uint64_t size;
    int rc;

    if ((rc = verify_ev_u64(ev, "size", &size)) != 0) {
        return rc;
    }
    if (cr == NULL || cli_parse_hash(cr, computed) != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "evidence: computed_root: not 64 hex digits");
    }
    if ((rc = verify_head_must(h)) != 0) {
        return rc;
    }
    verify_head_print("signed", h);
    if (size > h->sth.tree_size) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: size %llu is beyond the signed head",
                          (unsigned long long)size);
    }
    if (size == h->sth.tree_size &&
        merkle_hash_equal(computed, h->sth.root_hash)) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the computed root is the signed root: "
                          "no mismatch");
    }
    printf("verdict: the signed head verifies; the entries up to size %llu "
           "were computed to %s, %s (recheck with the log's entries)\n",
           (unsigned long long)size, cr,
           size == h->sth.tree_size
               ? "not its root"
               : "which its consistency proof did not link to it");
    return CLI_EXIT_OK;
}

static int
verify_ev_withheld(json_t *ev, struct verify_head *h)
{
    uint64_t index, last;
    int rc;

    if ((rc = verify_ev_u64(ev, "log_index", &index)) != 0) {
        return rc;
    }
    last = index;
    if (json_object_get(ev, "last_log_index") != NULL &&
        (rc = verify_ev_u64(ev, "last_log_index", &last)) != 0) {
        return rc;
    }
    if ((rc = verify_head_must(h)) != 0) {
        return rc;
    }
    verify_head_print("signed", h);
    if (index >= h->sth.tree_size || last < index) {
        return verify_err(CLI_EXIT_FAIL,
                          "evidence: the signed head (size %llu) does not "
                          "commit to index %llu",
                          (unsigned long long)h->sth.tree_size,
                          (unsigned long long)index);
    }
    printf("verdict: the signed head commits to index %llu (size %llu)\n",
           (unsigned long long)index, (unsigned long long)h->sth.tree_size);
    return CLI_EXIT_OK;
}

static int
verify_evidence(const struct verify_args *a)
{
    char err[CLI_ERR_LEN];
    struct config_trusted_root *root = NULL;
    struct verify_head o, n;
    json_t *doc = NULL, *ev;
    json_error_t jerr;
    const char *type;
    char *buf = NULL;
    size_t len;
    int rc, has_old = 0, has_new = 0;

    if (a->file == NULL) {
        return verify_err(CLI_EXIT_USAGE, "evidence: ALERT is required");
    }
    if ((root = verify_load_root(a, &rc)) == NULL) {
        return rc;
    }
    if (cli_read_input(a->file, VERIFY_MAX_ALERT, &buf, &len, err,
                       sizeof(err)) != 0) {
        rc = verify_err(CLI_EXIT_USAGE, "evidence: %s", err);
        goto out;
    }
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    type = json_string_value(json_object_get(doc, "type"));
    ev = json_object_get(doc, "evidence");
    if (doc == NULL || type == NULL || !json_is_object(ev)) {
        rc = verify_err(CLI_EXIT_USAGE,
                        "evidence: not an alert with a type and an evidence "
                        "object");
        goto out;
    }
    memset(&o, 0, sizeof(o));
    memset(&n, 0, sizeof(n));
    if (strcmp(type, "log.inconsistent") == 0 ||
        strcmp(type, "log.rollback") == 0 ||
        strcmp(type, "log.bad_signature") == 0) {
        if ((rc = verify_ev_head(ev, "old_checkpoint", 0, &o, &has_old)) != 0 ||
            (rc = verify_ev_head(ev, "new_checkpoint", 1, &n, &has_new)) != 0) {
            goto out;
        }
    } else if (strcmp(type, "log.entries_mismatch") == 0) {
        if ((rc = verify_ev_head(ev, "old_checkpoint", 1, &n, &has_new)) != 0) {
            goto out;
        }
    } else if (strcmp(type, "log.entries_withheld") == 0 ||
               strcmp(type, "signing.unlogged_certificate") == 0 ||
               strcmp(type, "signing.unexpected") == 0 ||
               strcmp(type, "signing.self_hosted_runner") == 0 ||
               strcmp(type, "signing.impostor") == 0) {
        if ((rc = verify_ev_head(ev, "checkpoint", 1, &n, &has_new)) != 0) {
            goto out;
        }
    } else {
        rc = verify_err(CLI_EXIT_USAGE,
                        "evidence: alert type %.64s carries no tree head "
                        "evidence to check",
                        type);
        goto out;
    }
    if (has_old) {
        verify_head_check(root, &o);
    }
    verify_head_check(root, &n);
    printf("alert: %s\n", type);
    if (strcmp(type, "log.inconsistent") == 0) {
        rc = verify_ev_inconsistent(ev, &o, has_old, &n);
    } else if (strcmp(type, "log.rollback") == 0) {
        rc = verify_ev_rollback(&o, has_old, &n);
    } else if (strcmp(type, "log.bad_signature") == 0) {
        rc = verify_ev_bad_signature(&o, has_old, &n);
    } else if (strcmp(type, "log.entries_mismatch") == 0) {
        rc = verify_ev_mismatch(ev, &n);
    } else {
        rc = verify_ev_withheld(ev, &n);
    }
out:
    json_decref(doc);
    free(buf);
    config_trusted_root_free(root);
    return rc;
}

int
cli_verify(int argc, char **argv)
{
    struct verify_args a;
    int rc;

    memset(&a, 0, sizeof(a));
    if (argc < 2) {
        return verify_err(CLI_EXIT_USAGE,
                          "usage: tlogwatch verify checkpoint|note|"
                          "consistency|inclusion|sth|evidence [options] "
                          "(see --help)");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        verify_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "checkpoint") != 0 && strcmp(argv[1], "note") != 0 &&
        strcmp(argv[1], "consistency") != 0 &&
        strcmp(argv[1], "inclusion") != 0 && strcmp(argv[1], "sth") != 0 &&
        strcmp(argv[1], "evidence") != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "unknown subcommand (checkpoint, note, "
                          "consistency, inclusion, sth or evidence)");
    }
    a.sub = argv[1];
    if ((rc = verify_parse_args(argc, argv, &a)) != 0) {
        return rc;
    }
    if (a.file != NULL && a.proof != NULL && strcmp(a.file, "-") == 0 &&
        strcmp(a.proof, "-") == 0) {
        return verify_err(CLI_EXIT_USAGE, "only one input may be stdin");
    }
    switch (verify_letter(&a)) {
    case 'c':
        return verify_note(&a, 1);
    case 'o':
        return verify_consistency(&a);
    case 'n':
        return verify_note(&a, 0);
    case 's':
        return verify_sth(&a);
    case 'e':
        return verify_evidence(&a);
    default:
        return verify_inclusion(&a);
    }
}
