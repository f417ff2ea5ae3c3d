/*
 * cli_inspect.c: "tlogwatch inspect FILE|- [--key PEM | --trusted-root
 * FILE]": decode a Rekor v1 entry (API JSON) or a Sigstore bundle and print
 * ONE JSON object: what the entry is (kind, apiVersion, indexes, tree id,
 * origin, leaf hash, integrated time), who signed it (the signing
 * certificate's SAN, OIDC issuer and every Fulcio extension .1 to .24
 * present), and the outcome of each check:
 *
 *   entry_id                the uuid's leaf hash (and tree id) match
 *   inclusion               the proof recomputes rootHash; the checkpoint
 *                           names the same size and root
 *   checkpoint_signature    the checkpoint is signed by the log key
 *   signed_entry_timestamp  the SET verifies with the log key
 *   certificate_logged      (bundles) the bundle's certificate is one the
 *                           logged body holds
 *
 * each "ok", "failed: <reason>" or "skipped: <why>".  The log key comes
 * from --key (a PEM public key; the signer name is the first word of the
 * checkpoint origin) or from --trusted-root, chosen by the entry's log id.
 * With a trusted root the certificate's chain to a Fulcio CA is reported
 * too ("chain"), for information: it does not change the exit code.
 *
 * Exit codes: 0 no check that ran failed; 1 a check failed (one line per
 * failed check on stderr, the JSON still printed); 2 usage or malformed
 * input (one line on stderr; a body that does not decode is reported in
 * the JSON too); 3 internal failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "config/trusted_root.h"
#include "merkle/merkle.h"
#include "merkle/note.h"
#include "monitor/identity/bundle.h"
#include "monitor/cli/cli.h"
#include "monitor/cli/cli_io.h"
#include "monitor/identity/entry.h"
#include "monitor/identity/fulcio.h"
#include "monitor/log.h"

#define INSPECT_MAX_KEYFILE (64 * 1024)
#define NCHECKS 5

/* Everything inspect holds; freed in one place. */
struct inspect {
    const char *file, *key_path, *root_path;
    json_t *doc;
    struct entry *entry; /* borrowed from bundle when bundle != NULL */
    struct entry *own_entry;
    struct bundle *bundle;
    struct entry_body *body;
    char body_err[ENTRY_ERR_LEN];
    EVP_PKEY *pkey; /* from --key, owned */
    struct config_trusted_root *root;
    struct entry_log_key key;
    int have_key;
    char key_problem[ENTRY_ERR_LEN]; /* why the log key is unusable */
    struct fulcio_cert *cert;
    char cert_err[ENTRY_ERR_LEN];
};

static int inspect_err(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
inspect_err(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warnx("inspect: %s", msg);
    return code;
}

static void
inspect_free(struct inspect *in)
{
    fulcio_cert_free(in->cert);
    config_trusted_root_free(in->root);
    EVP_PKEY_free(in->pkey);
    entry_body_free(in->body);
    bundle_free(in->bundle);
    entry_free(in->own_entry);
    json_decref(in->doc);
}

static int
inspect_args(int argc, char **argv, struct inspect *in)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = NULL;

        if (strcmp(arg, "--key") == 0) {
            slot = &in->key_path;
        } else if (strcmp(arg, "--trusted-root") == 0) {
            slot = &in->root_path;
        } else if (strcmp(arg, "-") == 0 || arg[0] != '-') {
            if (in->file != NULL) {
                return inspect_err(CLI_EXIT_USAGE,
                                   "more than one FILE argument");
            }
            in->file = arg;
            continue;
        } else {
            return inspect_err(CLI_EXIT_USAGE,
                               "unknown option (usage: tlogwatch inspect "
                               "FILE|- [--key PEM | --trusted-root FILE])");
        }
        if (i + 1 >= argc) {
            return inspect_err(CLI_EXIT_USAGE, "%s needs a value", arg);
        }
        if (*slot != NULL) {
            return inspect_err(CLI_EXIT_USAGE, "%s given twice", arg);
        }
        *slot = argv[++i];
    }
    if (in->file == NULL) {
        return inspect_err(CLI_EXIT_USAGE,
                           "usage: tlogwatch inspect FILE|- [--key PEM | "
                           "--trusted-root FILE]");
    }
    if (in->key_path != NULL && in->root_path != NULL) {
        return inspect_err(CLI_EXIT_USAGE,
                           "give --key or --trusted-root, not both");
    }
    return 0;
}

/* Read and decode FILE into in->entry (and in->bundle). */
static int
inspect_load(struct inspect *in)
{
    char err[CLI_ERR_LEN], perr[ENTRY_ERR_LEN];
    json_error_t jerr;
    const json_t *elem;
    char *buf;
    size_t len;

    if (cli_read_input(in->file, ENTRY_MAX_JSON, &buf, &len, err,
                       sizeof(err)) != 0) {
        return inspect_err(CLI_EXIT_USAGE, "%s", err);
    }
    in->doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (in->doc == NULL) {
        return inspect_err(CLI_EXIT_USAGE,
                           "input is not valid JSON (line %d, column %d)",
                           jerr.line, jerr.column);
    }
    if (bundle_is_bundle(in->doc)) {
        in->bundle = bundle_from_json(in->doc, perr, sizeof(perr));
        if (in->bundle == NULL) {
            return inspect_err(CLI_EXIT_USAGE, "bundle: %s", perr);
        }
        in->entry = in->bundle->entry;
        return 0;
    }
    /* A retrieve response with one element is accepted as that element. */
    elem = in->doc;
    if (json_is_array(elem) && json_array_size(elem) == 1) {
        elem = json_array_get(elem, 0);
    }
    if (!json_is_object(elem) || json_object_size(elem) != 1) {
        return inspect_err(CLI_EXIT_USAGE,
                           "input is neither a Rekor entry ({\"<uuid>\": "
                           "{...}}) nor a Sigstore bundle");
    }
    in->own_entry = entry_from_json(elem, perr, sizeof(perr));
    if (in->own_entry == NULL) {
        return inspect_err(CLI_EXIT_USAGE, "entry: %s", perr);
    }
    in->entry = in->own_entry;
    return 0;
}

/* Resolve the log key from --key or --trusted-root. */
static int
inspect_key(struct inspect *in)
{
    char err[CONFIG_TRUSTED_ROOT_ERR_LEN];
    const struct config_log_key *lk;
    char *buf;
    size_t len;

    if (in->key_path != NULL) {
        if (cli_read_input(in->key_path, INSPECT_MAX_KEYFILE, &buf, &len, err,
                           sizeof(err)) != 0) {
            return inspect_err(CLI_EXIT_USAGE, "--key: %s", err);
        }
        in->pkey = cli_pubkey_from_pem(buf, len, err, sizeof(err));
        free(buf);
        if (in->pkey == NULL) {
            return inspect_err(CLI_EXIT_USAGE, "--key: %s", err);
        }
        in->key.pkey = in->pkey;
        in->key.name = NULL;
        in->have_key = 1;
        return 0;
    }
    if (in->root_path == NULL) {
        return 0;
    }
    in->root = config_trusted_root_load(in->root_path, err, sizeof(err));
    if (in->root == NULL) {
        return inspect_err(CLI_EXIT_USAGE, "--trusted-root: %s", err);
    }
    lk = in->entry->has_log_id
             ? config_trusted_root_find_tlog(in->root, in->entry->log_id)
             : NULL;
    if (lk == NULL) {
        snprintf(in->key_problem, sizeof(in->key_problem),
                 "the entry's log id is not a tlog of the trusted root");
        return 0;
    }
    if (lk->pkey == NULL) {
        snprintf(in->key_problem, sizeof(in->key_problem),
                 "the trusted root's key for this log has an unsupported "
                 "algorithm");
        return 0;
    }
    if (in->entry->has_integrated_time &&
        !config_trusted_root_tlog_valid_at(in->root, in->entry->log_id,
                                           in->entry->integrated_time)) {
        snprintf(in->key_problem, sizeof(in->key_problem),
                 "the log key is not valid at the entry's integrated time");
        return 0;
    }
    in->key.pkey = lk->pkey;
    in->key.name = lk->signer_name;
    in->have_key = 1;
    return 0;
}

/* A check that would run but has no usable key fails with the reason. */
static void
inspect_keyed_check(struct inspect *in, struct entry_check *c,
                    void (*fn)(const struct entry *,
                               const struct entry_log_key *,
                               struct entry_check *))
{
    fn(in->entry, in->have_key ? &in->key : NULL, c);
    if (c->verdict == ENTRY_CHECK_SKIPPED && !in->have_key &&
        in->key_problem[0] != '\0' &&
        strcmp(c->reason, "no log key given") == 0) {
        c->verdict = ENTRY_CHECK_FAILED;
        snprintf(c->reason, sizeof(c->reason), "%s", in->key_problem);
    }
}

static json_t *
hex_json(const uint8_t *b, size_t len)
{
    char hex[2 * 64 + 1];

    if (len > 64 || merkle_hex_encode(b, len, hex, sizeof(hex)) < 0) {
        return json_null();
    }
    return json_string(hex);
}

/* A JSON string from an untrusted C string: invalid UTF-8 becomes null. */
static json_t *
str_json(const char *s)
{
    json_t *v;

    if (s == NULL) {
        return json_null();
    }
    v = json_string(s);
    return v != NULL ? v : json_null();
}

/* The signing certificate: the bundle's, else the body's first. */
static void
inspect_cert(struct inspect *in)
{
    const struct entry_blob *blob = NULL;
    enum fulcio_error ferr = FULCIO_OK;

    if (in->bundle != NULL && in->bundle->ncerts > 0) {
        blob = &in->bundle->certs[0];
    } else if (in->body != NULL && in->body->ncerts > 0) {
        blob = &in->body->certs[0];
    }
    if (blob == NULL) {
        return;
    }
    in->cert = fulcio_cert_parse_der(blob->der, blob->len, &ferr);
    if (in->cert == NULL) {
        snprintf(in->cert_err, sizeof(in->cert_err), "%s",
                 fulcio_strerror(ferr));
    }
}

static json_t *
cert_json(struct inspect *in)
{
    static const char *san_types[] = {"", "uri", "email", "othername"};
    const struct fulcio_claims *cl;
    json_t *o, *ext;
    char oid[64];
    unsigned n;

    o = json_object();
    if (in->cert == NULL) {
        json_object_set_new(o, "error", json_string(in->cert_err));
        return o;
    }
    cl = fulcio_cert_claims(in->cert);
    json_object_set_new(o, "san_type",
                        json_string(cl->san_type >= FULCIO_SAN_URI &&
                                            cl->san_type <= FULCIO_SAN_OTHERNAME
                                        ? san_types[cl->san_type]
                                        : "unknown"));
    json_object_set_new(o, "san", str_json(cl->san));
    json_object_set_new(o, "issuer", str_json(cl->issuer));
    json_object_set_new(o, "issuer_cn", str_json(cl->issuer_cn));
    json_object_set_new(o, "not_before", json_integer(cl->not_before));
    json_object_set_new(o, "not_after", json_integer(cl->not_after));
    json_object_set_new(o, "sha256", hex_json(cl->sha256, sizeof(cl->sha256)));
    ext = json_object();
    for (n = 1; n <= FULCIO_EXT_MAX; n++) {
        json_t *e;
        const char *name;
        if (cl->ext[n] == NULL) {
            continue;
        }
        snprintf(oid, sizeof(oid), "%s.%u", FULCIO_OID_ARC, n);
        e = json_object();
        name = fulcio_ext_name(n);
        json_object_set_new(e, "name", name ? json_string(name) : json_null());
        json_object_set_new(e, "value", str_json(cl->ext[n]));
        json_object_set_new(ext, oid, e);
    }
    json_object_set_new(o, "extensions", ext);
    if (in->root != NULL) {
        int xerr = 0;
        enum fulcio_chain_result cr;
        char buf[ENTRY_ERR_LEN];

        cr = fulcio_verify_chain(in->cert, in->root, &xerr);
        if (cr == FULCIO_CHAIN_OK) {
            json_object_set_new(o, "chain", json_string("ok"));
        } else {
            snprintf(buf, sizeof(buf), "failed: %s", fulcio_chain_strerror(cr));
            json_object_set_new(o, "chain", json_string(buf));
        }
    } else {
        json_object_set_new(o, "chain",
                            json_string("skipped: no trusted root given"));
    }
    return o;
}

int
cli_inspect(int argc, char **argv)
{
    struct inspect in;
    struct entry_check c_id, c_inc, c_cp, c_set, c_cert;
    const struct entry_check *checks[NCHECKS];
    static const char *names[NCHECKS] = {
        "entry_id", "inclusion", "checkpoint_signature",
        "signed_entry_timestamp", "certificate_logged"};
    struct merkle_checkpoint cp;
    struct merkle_note_result nres;
    struct entry *e;
    json_t *out = NULL, *jc;
    char buf[2 * ENTRY_ERR_LEN], clean[MERKLE_ORIGIN_MAX];
    char *text;
    int rc, failed = 0, skipped = 0, i;

    memset(&in, 0, sizeof(in));
    if ((rc = inspect_args(argc, argv, &in)) != 0 ||
        (rc = inspect_load(&in)) != 0 || (rc = inspect_key(&in)) != 0) {
        goto done;
    }
    e = in.entry;
    in.body = entry_body_decode(e->body, e->body_len, in.body_err,
                                sizeof(in.body_err));
    inspect_cert(&in);

    entry_check_uuid(e, &c_id);
    entry_check_inclusion(e, &c_inc);
    inspect_keyed_check(&in, &c_cp, entry_check_checkpoint);
    inspect_keyed_check(&in, &c_set, entry_check_set);
    if (in.bundle != NULL) {
        bundle_check_certificate(in.bundle, in.body, &c_cert);
    } else {
        c_cert.verdict = ENTRY_CHECK_SKIPPED;
        snprintf(c_cert.reason, sizeof(c_cert.reason),
                 "the certificate is read from the logged body itself");
    }
    checks[0] = &c_id;
    checks[1] = &c_inc;
    checks[2] = &c_cp;
    checks[3] = &c_set;
    checks[4] = &c_cert;

    out = json_object();
    if (out == NULL) {
        rc = inspect_err(CLI_EXIT_ERROR, "out of memory");
        goto done;
    }
    if (in.bundle != NULL) {
        json_object_set_new(out, "type", json_string("bundle"));
        json_object_set_new(out, "media_type",
                            json_string(in.bundle->media_type));
    } else {
        json_object_set_new(out, "type", json_string("rekor-v1-entry"));
        json_object_set_new(out, "uuid", json_string(e->uuid));
    }
    if (in.body != NULL) {
        json_object_set_new(out, "kind", json_string(in.body->kind));
        json_object_set_new(out, "api_version",
                            json_string(in.body->api_version));
    } else {
        json_object_set_new(out, "body_error", json_string(in.body_err));
        if (in.bundle != NULL) {
            json_object_set_new(out, "kind", str_json(in.bundle->kind));
            json_object_set_new(out, "api_version",
                                str_json(in.bundle->kind_version));
        }
    }
    json_object_set_new(out, "log_index",
                        json_integer((json_int_t)e->log_index));
    if (e->has_proof) {
        json_object_set_new(out, "shard_index",
                            json_integer((json_int_t)e->proof.index));
        json_object_set_new(out, "tree_size",
                            json_integer((json_int_t)e->proof.size));
        json_object_set_new(out, "root_hash",
                            hex_json(e->proof.root, MERKLE_HASH_LEN));
    }
    if (e->has_tree_id) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)e->tree_id);
        json_object_set_new(out, "tree_id", json_string(buf));
    }
    text = e->has_proof ? e->proof.checkpoint : NULL;
    if (text != NULL &&
        merkle_note_parse(text, e->proof.checkpoint_len, &nres) == MERKLE_OK &&
        merkle_checkpoint_parse(text, nres.text_len, &cp) == MERKLE_OK) {
        json_object_set_new(out, "origin",
                            str_json(log_clean(cp.origin, strlen(cp.origin),
                                               clean, sizeof(clean))));
    }
    if (e->has_log_id) {
        json_object_set_new(out, "log_id",
                            hex_json(e->log_id, MERKLE_HASH_LEN));
    }
    json_object_set_new(out, "leaf_hash",
                        hex_json(e->leaf_hash, MERKLE_HASH_LEN));
    if (e->has_integrated_time) {
        json_object_set_new(out, "integrated_time",
                            json_integer((json_int_t)e->integrated_time));
    }
    if (in.cert != NULL || in.cert_err[0] != '\0') {
        json_object_set_new(out, "certificate", cert_json(&in));
    } else {
        json_object_set_new(out, "certificate", json_null());
    }
    if (in.body != NULL) {
        json_t *v = json_object();
        json_object_set_new(v, "certificates",
                            json_integer((json_int_t)in.body->ncerts));
        json_object_set_new(v, "public_keys",
                            json_integer((json_int_t)in.body->nkeys));
        json_object_set_new(v, "other",
                            json_integer((json_int_t)in.body->nother));
        json_object_set_new(out, "body_verifiers", v);
    }
    json_object_set_new(
        out, "identity",
        json_string(in.cert != NULL ? "certificate"
                    : (in.body != NULL && in.body->nkeys > 0) ||
                            (in.bundle != NULL && in.bundle->has_public_key)
                        ? "public key (no identity)"
                        : "none"));
    jc = json_object();
    for (i = 0; i < NCHECKS; i++) {
        json_object_set_new(
            jc, names[i],
            json_string(entry_check_string(checks[i], buf, sizeof(buf))));
        if (checks[i]->verdict == ENTRY_CHECK_FAILED) {
            failed++;
        } else if (checks[i]->verdict == ENTRY_CHECK_SKIPPED) {
            skipped++;
        }
    }
    json_object_set_new(out, "checks", jc);
    json_object_set_new(out, "verdict",
                        json_string(failed    ? "failed"
                                    : skipped ? "ok, some checks skipped"
                                              : "ok"));
    if (json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        rc = inspect_err(CLI_EXIT_ERROR, "cannot write the output");
        goto done;
    }
    fputc('\n', stdout);
    if (failed) {
        for (i = 0; i < NCHECKS; i++) {
            if (checks[i]->verdict == ENTRY_CHECK_FAILED) {
                log_warnx("inspect: %s failed: %s", names[i],
                          checks[i]->reason);
            }
        }
        rc = CLI_EXIT_FAIL;
    } else if (in.body == NULL) {
        rc = inspect_err(CLI_EXIT_USAGE, "body: %s", in.body_err);
    } else {
        rc = CLI_EXIT_OK;
    }
done:
    json_decref(out);
    inspect_free(&in);
    return rc;
}
