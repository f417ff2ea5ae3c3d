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

#include <openssl/evp.h>

#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/cli/cli.h"
#include "monitor/cli/cli_io.h"
#include "monitor/identity/entry.h"
#include "monitor/log.h"

#define VERIFY_MAX_KEYS 16
#define VERIFY_MAX_KEYFILE (64 * 1024)

/* Parsed command line: every value points into argv. */
struct verify_args {
    const char *sub;
    const char *keys[VERIFY_MAX_KEYS];
    size_t nkeys;
    const char *name, *origin;
    const char *old_size, *old_root, *new_size, *new_root;
    const char *index, *size, *root, *leaf_hash, *entry, *proof;
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
          "(--leaf-hash HEX | --entry FILE) --proof FILE\n",
          f);
}

/* c(heckpoint), n(ote), (c)o(nsistency) or i(nclusion). */
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
        if (strcmp(name, "key") == 0 && verify_letter(a) != 'o' &&
            verify_letter(a) != 'i') {
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

int
cli_verify(int argc, char **argv)
{
    struct verify_args a;
    int rc;

    memset(&a, 0, sizeof(a));
    if (argc < 2) {
        return verify_err(CLI_EXIT_USAGE,
                          "usage: tlogwatch verify checkpoint|note|"
                          "consistency|inclusion [options] (see --help)");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        verify_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "checkpoint") != 0 && strcmp(argv[1], "note") != 0 &&
        strcmp(argv[1], "consistency") != 0 &&
        strcmp(argv[1], "inclusion") != 0) {
        return verify_err(CLI_EXIT_USAGE,
                          "unknown subcommand (checkpoint, note, "
                          "consistency or inclusion)");
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
    default:
        return verify_inclusion(&a);
    }
}
