/*
 * entries.c: Rekor entry bodies and the noise generator of
 * tlogwatch-testlog.
 *
 * Bodies are RFC 8785 canonical JSON (keys sorted, no whitespace), the
 * byte form Rekor hashes into its tree, in the shapes production stores
 * (compare ../shared/testdata/rekor/api-entries and the bundles):
 *   hashedrekord 0.0.1  spec.data.hash, spec.signature.{content,
 *                       publicKey.content}; publicKey.content is the
 *                       base64 of a PEM certificate (or PEM public key
 *                       for key-only signers)
 *   dsse 0.0.1          spec.{envelopeHash, payloadHash, signatures[
 *                       {signature, verifier}]}
 *   intoto 0.0.2        spec.content.{envelope{payloadType, signatures[
 *                       {publicKey, sig}]}, hash, payloadHash}, where sig
 *                       is base64 of the base64 signature, as production
 *   hashedrekord 0.0.2  (Rekor v2, --tiles) spec.hashedRekordV002.{data.
 *                       {algorithm, digest}, signature.{content,
 *                       verifier.{keyDetails, x509Certificate.rawBytes |
 *                       publicKey.rawBytes}}}, digest and rawBytes base64
 *                       of raw bytes / DER, as production's log2025-1
 *                       (../shared/testdata/rekor-v2/prod-*.sigstore.json)
 * Every string a body holds is base64, hex or a fixed ASCII literal, so
 * canonical JSON needs no escaping here.
 *
 * Noise: entry v of the log is a pure function of (seed, v, its
 * integratedTime, the identities of its epoch, its stored signature), so
 * only the signature (72 bytes) is kept per leaf and the ~3 KB body is
 * rebuilt when served.  Identities (P-256 key + Fulcio-like certificate,
 * or a bare key) are issued per epoch of TL_EPOCH_SECS so that every
 * certificate is valid at the integratedTime of the entries that use it:
 * GitHub Actions identities (70%, with .1-.6 and .8-.22, a few on
 * self-hosted runners), email identities (15%, .1 and .8) and key-only
 * signers (15%).  Names are drawn from word lists by hash and never
 * collide with the "acme"/"example" names tests use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "testlog.h"

static const char payload_type[] = "application/vnd.in-toto+json";

const char *
tl_kind_name(enum tl_kind k)
{
    switch (k) {
    case TL_KIND_INTOTO:
        return "intoto";
    case TL_KIND_DSSE:
        return "dsse";
    case TL_KIND_HASHEDREKORD:
    default:
        return "hashedrekord";
    }
}

int
tl_kind_parse(const char *s, enum tl_kind *out)
{
    if (strcmp(s, "hashedrekord") == 0) {
        *out = TL_KIND_HASHEDREKORD;
    } else if (strcmp(s, "intoto") == 0) {
        *out = TL_KIND_INTOTO;
    } else if (strcmp(s, "dsse") == 0) {
        *out = TL_KIND_DSSE;
    } else {
        return -1;
    }
    return 0;
}

int
tl_att_parse(const char *s, enum tl_att *out)
{
    if (strcmp(s, "store") == 0) {
        *out = TL_ATT_STORE;
    } else if (strcmp(s, "omit") == 0) {
        *out = TL_ATT_OMIT;
    } else if (strcmp(s, "corrupt") == 0) {
        *out = TL_ATT_CORRUPT;
    } else {
        return -1;
    }
    return 0;
}

const char *
tl_att_name(enum tl_att a)
{
    switch (a) {
    case TL_ATT_OMIT:
        return "omit";
    case TL_ATT_CORRUPT:
        return "corrupt";
    case TL_ATT_STORE:
    default:
        return "store";
    }
}

int
tl_att_fits(size_t len)
{
    /* Rekor: base64.StdEncoding.DecodedLen(len(payload_b64)) <= max */
    return len <= TL_MAX_ATTESTATION && (len + 2) / 3 * 3 <= TL_MAX_ATTESTATION;
}

void
tl_att_corrupt(uint8_t *p, size_t len)
{
    size_t i;

    for (i = len; i-- > 0;) {
        if ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')) {
            p[i] = p[i] == '0' ? '1' : '0';
            return;
        }
    }
    if (len > 0) {
        p[len - 1] ^= 1;
    }
}

void
tl_dsse_pae_hash(const uint8_t *payload, size_t len, uint8_t out[TL_HASH_LEN])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    char head[128];
    int n, ok;

    /* "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body */
    n = snprintf(head, sizeof(head), "DSSEv1 %zu %s %zu ",
                 sizeof(payload_type) - 1, payload_type, len);
    ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(c, head, (size_t)n) == 1 &&
         EVP_DigestUpdate(c, payload, len) == 1 &&
         EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    if (!ok) {
        /* allocation failure: an unusable digest that verifies nothing */
        memset(out, 0, TL_HASH_LEN);
    }
}

int
tl_dsse_envelope(const uint8_t *payload, size_t len, const uint8_t *sig,
                 size_t sig_len, struct tl_buf *out)
{
    if (tl_buf_adds(out, "{\"payload\":\"") != 0 ||
        tl_buf_add_b64(out, payload, len) != 0 ||
        tl_buf_adds(out, "\",\"payloadType\":\"") != 0 ||
        tl_buf_adds(out, payload_type) != 0 ||
        tl_buf_adds(out, "\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"") !=
            0 ||
        tl_buf_add_b64(out, sig, sig_len) != 0 || tl_buf_adds(out, "\"}]}")) {
        return -1;
    }
    return 0;
}

static int
add_hash_obj(struct tl_buf *b, const uint8_t h[TL_HASH_LEN])
{
    if (tl_buf_adds(b, "{\"algorithm\":\"sha256\",\"value\":\"") != 0 ||
        tl_buf_add_hex(b, h, TL_HASH_LEN) != 0 || tl_buf_adds(b, "\"}") != 0) {
        return -1;
    }
    return 0;
}

int
tl_body_build(const struct tl_body_in *in, struct tl_buf *b)
{
    struct tl_buf env = {0}, sigb64 = {0};
    uint8_t env_hash[TL_HASH_LEN], payload_hash[TL_HASH_LEN];
    int rc = -1;

    if (in->v2) {
        if (in->kind != TL_KIND_HASHEDREKORD || in->der_b64 == NULL) {
            return -1;
        }
        /* members in RFC 8785 order, as Rekor v2 stores them */
        if (tl_buf_adds(b, "{\"apiVersion\":\"0.0.2\",\"kind\":"
                           "\"hashedrekord\",\"spec\":{\"hashedRekordV002\":"
                           "{\"data\":{\"algorithm\":\"SHA2_256\","
                           "\"digest\":\"") != 0 ||
            tl_buf_add_b64(b, in->artifact_hash, TL_HASH_LEN) != 0 ||
            tl_buf_adds(b, "\"},\"signature\":{\"content\":\"") != 0 ||
            tl_buf_add_b64(b, in->sig, in->sig_len) != 0 ||
            tl_buf_adds(b, "\",\"verifier\":{\"keyDetails\":"
                           "\"PKIX_ECDSA_P256_SHA_256\",\"") != 0 ||
            tl_buf_adds(b, in->key_only ? "publicKey" : "x509Certificate") !=
                0 ||
            tl_buf_adds(b, "\":{\"rawBytes\":\"") != 0 ||
            tl_buf_add(b, in->der_b64, in->der_len) != 0 ||
            tl_buf_adds(b, "\"}}}}}}") != 0) {
            return -1;
        }
        return 0;
    }
    if (in->kind == TL_KIND_HASHEDREKORD) {
        if (tl_buf_adds(b,
                        "{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\","
                        "\"spec\":{\"data\":{\"hash\":") != 0 ||
            add_hash_obj(b, in->artifact_hash) != 0 ||
            tl_buf_adds(b, "},\"signature\":{\"content\":\"") != 0 ||
            tl_buf_add_b64(b, in->sig, in->sig_len) != 0 ||
            tl_buf_adds(b, "\",\"publicKey\":{\"content\":\"") != 0 ||
            tl_buf_add(b, in->verifier_b64, in->verifier_len) != 0 ||
            tl_buf_adds(b, "\"}}}}") != 0) {
            return -1;
        }
        return 0;
    }
    if (tl_dsse_envelope(in->payload, in->payload_len, in->sig, in->sig_len,
                         &env) != 0) {
        goto done;
    }
    SHA256((const unsigned char *)env.p, env.len, env_hash);
    SHA256(in->payload, in->payload_len, payload_hash);
    if (in->kind == TL_KIND_DSSE) {
        if (tl_buf_adds(b, "{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\","
                           "\"spec\":{\"envelopeHash\":") != 0 ||
            add_hash_obj(b, env_hash) != 0 ||
            tl_buf_adds(b, ",\"payloadHash\":") != 0 ||
            add_hash_obj(b, payload_hash) != 0 ||
            tl_buf_adds(b, ",\"signatures\":[{\"signature\":\"") != 0 ||
            tl_buf_add_b64(b, in->sig, in->sig_len) != 0 ||
            tl_buf_adds(b, "\",\"verifier\":\"") != 0 ||
            tl_buf_add(b, in->verifier_b64, in->verifier_len) != 0 ||
            tl_buf_adds(b, "\"}]}}") != 0) {
            goto done;
        }
    } else {
        if (tl_buf_add_b64(&sigb64, in->sig, in->sig_len) != 0 ||
            tl_buf_adds(b, "{\"apiVersion\":\"0.0.2\",\"kind\":\"intoto\","
                           "\"spec\":{\"content\":{\"envelope\":{"
                           "\"payloadType\":\"") != 0 ||
            tl_buf_adds(b, payload_type) != 0 ||
            tl_buf_adds(b, "\",\"signatures\":[{\"publicKey\":\"") != 0 ||
            tl_buf_add(b, in->verifier_b64, in->verifier_len) != 0 ||
            tl_buf_adds(b, "\",\"sig\":\"") != 0 ||
            tl_buf_add_b64(b, (const uint8_t *)sigb64.p, sigb64.len) != 0 ||
            tl_buf_adds(b, "\"}]},\"hash\":") != 0 ||
            add_hash_obj(b, env_hash) != 0 ||
            tl_buf_adds(b, ",\"payloadHash\":") != 0 ||
            add_hash_obj(b, payload_hash) != 0 || tl_buf_adds(b, "}}}") != 0) {
            goto done;
        }
    }
    rc = 0;
done:
    tl_buf_free(&env);
    tl_buf_free(&sigb64);
    return rc;
}

/* Copy at most cap - 1 bytes; -1 when s does not fit. */
static int
copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);

    if (n >= cap) {
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

int
tl_github_claims(const struct tl_github *g, struct tl_github_strs *st,
                 struct tl_claims *c)
{
    const char *slash, *base, *dot;
    size_t n;

    memset(c, 0, sizeof(*c));
    if (g->repository == NULL || g->workflow == NULL || g->ref == NULL) {
        return -1;
    }
    slash = strchr(g->repository, '/');
    if (slash == NULL || slash == g->repository || slash[1] == '\0') {
        return -1;
    }
    if (g->owner != NULL) {
        if (copy_str(st->owner, sizeof(st->owner), g->owner) != 0) {
            return -1;
        }
    } else {
        n = (size_t)(slash - g->repository);
        if (n >= sizeof(st->owner)) {
            return -1;
        }
        memcpy(st->owner, g->repository, n);
        st->owner[n] = '\0';
    }
    if (g->workflow_name != NULL) {
        if (copy_str(st->workflow_name, sizeof(st->workflow_name),
                     g->workflow_name) != 0) {
            return -1;
        }
    } else {
        base = strrchr(g->workflow, '/');
        base = base != NULL ? base + 1 : g->workflow;
        dot = strrchr(base, '.');
        n = dot != NULL ? (size_t)(dot - base) : strlen(base);
        if (n >= sizeof(st->workflow_name)) {
            return -1;
        }
        memcpy(st->workflow_name, base, n);
        st->workflow_name[n] = '\0';
    }
    if ((size_t)snprintf(st->repo_uri, sizeof(st->repo_uri),
                         "https://github.com/%s",
                         g->repository) >= sizeof(st->repo_uri) ||
        (size_t)snprintf(st->owner_uri, sizeof(st->owner_uri),
                         "https://github.com/%s",
                         st->owner) >= sizeof(st->owner_uri) ||
        (size_t)snprintf(st->config_uri, sizeof(st->config_uri),
                         "https://github.com/%s/%s@%s", g->repository,
                         g->workflow, g->ref) >= sizeof(st->config_uri) ||
        (size_t)snprintf(st->run_uri, sizeof(st->run_uri),
                         "https://github.com/%s/actions/runs/%llu/attempts/1",
                         g->repository, (unsigned long long)g->run_id) >=
            sizeof(st->run_uri)) {
        return -1;
    }
    if (g->build_signer == NULL) {
        memcpy(st->san, st->config_uri, strlen(st->config_uri) + 1);
    } else if (strncmp(g->build_signer, "https://", 8) == 0) {
        if (copy_str(st->san, sizeof(st->san), g->build_signer) != 0) {
            return -1;
        }
    } else if (strchr(g->build_signer, '@') != NULL) {
        if ((size_t)snprintf(st->san, sizeof(st->san), "https://github.com/%s",
                             g->build_signer) >= sizeof(st->san)) {
            return -1;
        }
    } else if ((size_t)snprintf(st->san, sizeof(st->san),
                                "https://github.com/%s/%s@%s", g->repository,
                                g->build_signer, g->ref) >= sizeof(st->san)) {
        return -1;
    }
    c->san_type = TL_SAN_URI;
    c->san = st->san;
    c->issuer = g->issuer != NULL ? g->issuer : TL_GITHUB_ISSUER;
    c->github = 1;
    c->trigger = g->trigger;
    c->sha = g->sha;
    c->workflow_name = st->workflow_name;
    c->repository = g->repository;
    c->ref = g->ref;
    c->build_signer_uri = st->san;
    c->build_signer_sha =
        g->build_signer_sha != NULL ? g->build_signer_sha : g->sha;
    c->runner_environment = g->runner_environment;
    c->repository_uri = st->repo_uri;
    c->repository_id = g->repository_id;
    c->owner_uri = st->owner_uri;
    c->owner_id = g->owner_id;
    c->build_config_uri = st->config_uri;
    c->run_invocation_uri = st->run_uri;
    c->visibility = g->visibility != NULL ? g->visibility : "public";
    return 0;
}

/* ---------------------------------------------------------------- noise */

static const char *const adjectives[] = {
    "amber",  "brisk",  "cobalt", "dusty",  "eager",  "fuzzy", "gentle",
    "hollow", "ivory",  "jolly",  "keen",   "lunar",  "misty", "nimble",
    "olive",  "polar",  "quiet",  "rapid",  "silent", "tidal", "umber",
    "vivid",  "woven",  "young",  "zesty",  "bright", "crisp", "deep",
    "early",  "fabled", "grand",  "humble", "inky",   "jade",  "kind",
    "lofty",  "mellow", "noble",  "opal",   "proud",
};
static const char *const nouns[] = {
    "otter",   "falcon", "maple",   "harbor",  "comet",   "badger", "cedar",
    "delta",   "ember",  "fjord",   "glacier", "heron",   "iris",   "juniper",
    "kestrel", "lagoon", "meadow",  "nebula",  "orchid",  "pine",   "quarry",
    "raven",   "summit", "thistle", "upland",  "valley",  "willow", "yarrow",
    "zephyr",  "basalt", "canyon",  "dune",    "estuary", "forge",  "grove",
};
static const char *const projects[] = {
    "toolkit",  "server",   "cli",     "sdk",      "operator", "agent",
    "parser",   "gateway",  "runtime", "scanner",  "proxy",    "exporter",
    "builder",  "registry", "bridge",  "compiler", "plugin",   "dashboard",
    "notifier", "cache",    "indexer", "router",   "vault",    "watcher",
};
static const char *const workflows[] = {
    ".github/workflows/release.yml", ".github/workflows/build.yml",
    ".github/workflows/ci.yml",      ".github/workflows/publish.yml",
    ".github/workflows/docker.yml",  ".github/workflows/slsa.yml",
    ".github/workflows/sign.yml",    ".github/workflows/deploy.yaml",
};
static const char *const refs[] = {
    "refs/heads/main",    "refs/heads/main",    "refs/heads/master",
    "refs/tags/v1.0.0",   "refs/tags/v2.3.1",   "refs/tags/v0.9.12",
    "refs/heads/develop", "refs/heads/release", "refs/tags/2025.11.4",
};
static const char *const triggers[] = {
    "push", "push", "release", "workflow_dispatch", "schedule", "push",
};
static const char *const email_issuers[] = {
    "https://accounts.google.com",
    "https://github.com/login/oauth",
    "https://login.microsoftonline.com",
    "https://oauth2.sigstore.dev/auth",
};
static const char *const email_domains[] = {
    "mail.test",
    "users.noreply.test",
    "corp.test",
    "dev.test",
};

#define PICK(arr, h) (arr[(h) % (sizeof(arr) / sizeof(arr[0]))])

/* Build the identity of (epoch e, slot j). */
static int
ident_make(const struct tl_log *log, size_t e, unsigned j, struct tl_ident *id)
{
    uint64_t h = tl_mix64(log->seed ^ tl_mix64(((uint64_t)e << 8) | j));
    uint64_t h2 = tl_mix64(h), h3 = tl_mix64(h2), h4 = tl_mix64(h3);
    int64_t nb = log->genesis + (int64_t)e * TL_EPOCH_SECS - 60;
    struct tl_buf pem = {0}, b64 = {0};
    unsigned char *der = NULL;
    int der_len;
    char repo[256], sha[41], repo_id[24], owner_id[24], email[160];
    struct tl_github g;
    struct tl_github_strs st;
    struct tl_claims c;
    X509 *cert = NULL;
    unsigned r = (unsigned)(h % 100), i;
    int rc = -1;

    memset(id, 0, sizeof(*id));
    id->key = EVP_EC_gen("P-256");
    if (id->key == NULL) {
        return -1;
    }
    id->d = tl_private_scalar(id->key);
    if (id->d == NULL) {
        EVP_PKEY_free(id->key);
        id->key = NULL;
        return -1;
    }
    if (r < 70) {
        snprintf(repo, sizeof(repo), "%s-%s/%s-%s", PICK(adjectives, h2),
                 PICK(nouns, h2 >> 16), PICK(nouns, h3),
                 PICK(projects, h3 >> 16));
        for (i = 0; i < 20; i++) {
            snprintf(sha + 2 * i, 3, "%02x",
                     (unsigned)(tl_mix64(h4 + i) & 0xff));
        }
        snprintf(repo_id, sizeof(repo_id), "%llu",
                 (unsigned long long)(100000000 + (h3 % 900000000)));
        snprintf(owner_id, sizeof(owner_id), "%llu",
                 (unsigned long long)(1000000 + (h2 % 90000000)));
        memset(&g, 0, sizeof(g));
        g.repository = repo;
        g.repository_id = repo_id;
        g.owner_id = owner_id;
        g.workflow = PICK(workflows, h4);
        g.ref = PICK(refs, h4 >> 8);
        g.trigger = PICK(triggers, h4 >> 16);
        g.runner_environment =
            (h4 >> 24) % 20 == 0 ? "self-hosted" : "github-hosted";
        g.sha = sha;
        g.run_id = 10000000000ULL + (h4 % 9000000000ULL);
        if (tl_github_claims(&g, &st, &c) != 0) {
            goto done;
        }
    } else if (r < 85) {
        snprintf(email, sizeof(email), "%s.%s@%s", PICK(adjectives, h2),
                 PICK(nouns, h3), PICK(email_domains, h4));
        memset(&c, 0, sizeof(c));
        c.san_type = TL_SAN_EMAIL;
        c.san = email;
        c.issuer = PICK(email_issuers, h4 >> 8);
    } else {
        id->key_only = 1;
    }
    if (id->key_only) {
        if (tl_pem_pubkey(id->key, &pem) != 0) {
            goto done;
        }
        der_len = i2d_PUBKEY(id->key, &der);
    } else {
        cert = tl_leaf_issue(&log->ca, id->key, &c, nb, nb + TL_CERT_VALIDITY);
        if (cert == NULL || tl_pem_cert(cert, &pem) != 0) {
            goto done;
        }
        der_len = i2d_X509(cert, &der);
    }
    if (der_len <= 0 ||
        tl_buf_add_b64(&b64, (const uint8_t *)pem.p, pem.len) != 0) {
        goto done;
    }
    id->verifier_b64 = b64.p;
    id->verifier_len = b64.len;
    b64 = (struct tl_buf){0}; /* id owns the text now */
    if (tl_buf_add_b64(&b64, der, (size_t)der_len) != 0) {
        goto done;
    }
    id->der_b64 = b64.p;
    id->der_len = b64.len;
    b64.p = NULL;
    rc = 0;
done:
    OPENSSL_free(der);
    X509_free(cert);
    tl_buf_free(&pem);
    tl_buf_free(&b64);
    if (rc != 0) {
        EVP_PKEY_free(id->key);
        BN_clear_free(id->d);
        free(id->verifier_b64);
        memset(id, 0, sizeof(*id));
    }
    return rc;
}

static void
ident_clear(struct tl_ident *id)
{
    EVP_PKEY_free(id->key);
    BN_clear_free(id->d);
    free(id->verifier_b64);
    free(id->der_b64);
    memset(id, 0, sizeof(*id));
}

struct epoch_job {
    const struct tl_log *log;
    struct tl_epoch **epochs; /* the new epochs, first = epoch `first` */
    size_t first;
    size_t count;
    unsigned tid;
    unsigned nthreads;
    int rc;
};

static void *
epoch_worker(void *arg)
{
    struct epoch_job *job = arg;
    size_t total = job->count * TL_EPOCH_IDENTS, i;

    job->rc = 0;
    for (i = job->tid; i < total; i += job->nthreads) {
        size_t e = i / TL_EPOCH_IDENTS;
        unsigned j = (unsigned)(i % TL_EPOCH_IDENTS);

        if (ident_make(job->log, job->first + e, j, &job->epochs[e]->id[j]) !=
            0) {
            job->rc = -1;
            break;
        }
    }
    return NULL;
}

int
tl_epochs_ensure(struct tl_log *log, int64_t t, unsigned threads)
{
    struct epoch_job jobs[TL_MAX_THREADS];
    struct tl_epoch **tab;
    size_t need, count, i;
    unsigned n, k, j;
    int rc = 0;

    if (t < log->genesis) {
        return -1;
    }
    need = (size_t)((t - log->genesis) / TL_EPOCH_SECS) + 1;
    if (need <= log->nepochs) {
        return 0;
    }
    count = need - log->nepochs;
    tab = realloc(log->epochs, need * sizeof(*tab));
    if (tab == NULL) {
        return -1;
    }
    log->epochs = tab;
    for (i = log->nepochs; i < need; i++) {
        tab[i] = calloc(1, sizeof(**tab));
        if (tab[i] == NULL) {
            while (i-- > log->nepochs) {
                free(tab[i]);
            }
            return -1;
        }
    }
    n = threads < 1 ? 1 : threads > TL_MAX_THREADS ? TL_MAX_THREADS : threads;
    if (count * TL_EPOCH_IDENTS < 64) {
        n = 1;
    }
    for (k = 0; k < n; k++) {
        jobs[k] = (struct epoch_job){
            log, tab + log->nepochs, log->nepochs, count, k, n, 0};
    }
    tl_parallel(epoch_worker, jobs, sizeof(jobs[0]), n);
    for (k = 0; k < n; k++) {
        if (jobs[k].rc != 0) {
            rc = -1;
        }
    }
    if (rc != 0) {
        for (i = log->nepochs; i < need; i++) {
            for (j = 0; j < TL_EPOCH_IDENTS; j++) {
                ident_clear(&tab[i]->id[j]);
            }
            free(tab[i]);
        }
        return -1;
    }
    log->nepochs = need;
    return 0;
}

void
tl_epochs_free(struct tl_log *log)
{
    size_t i;
    unsigned j;

    for (i = 0; i < log->nepochs; i++) {
        for (j = 0; j < TL_EPOCH_IDENTS; j++) {
            ident_clear(&log->epochs[i]->id[j]);
        }
        free(log->epochs[i]);
    }
    free(log->epochs);
    log->epochs = NULL;
    log->nepochs = 0;
}

int
tl_noise_prepare(const struct tl_log *log, uint64_t v, int64_t t, uint64_t salt,
                 struct tl_noise *n)
{
    uint64_t h = tl_mix64(log->seed ^ tl_mix64(v ^ tl_mix64(salt)));
    char artifact[160], hex[2 * TL_HASH_LEN + 1];
    size_t e;
    int len, i;

    if (t < log->genesis) {
        return -1;
    }
    e = (size_t)((t - log->genesis) / TL_EPOCH_SECS);
    if (e >= log->nepochs) {
        return -1;
    }
    n->ident = &log->epochs[e]->id[(h >> 20) % TL_EPOCH_IDENTS];
    n->kind = (h % 100) < 82   ? TL_KIND_HASHEDREKORD
              : (h % 100) < 91 ? TL_KIND_DSSE
                               : TL_KIND_INTOTO;
    n->v2 = log->tiles;
    if (log->tiles) {
        n->kind = TL_KIND_HASHEDREKORD; /* the only Rekor v2 noise kind */
    }
    len = snprintf(artifact, sizeof(artifact),
                   "tlogwatch-testlog noise artifact seed=%llu index=%llu "
                   "salt=%llu\n",
                   (unsigned long long)log->seed, (unsigned long long)v,
                   (unsigned long long)salt);
    SHA256((const unsigned char *)artifact, (size_t)len, n->artifact_hash);
    n->payload_len = 0;
    if (n->kind == TL_KIND_HASHEDREKORD) {
        memcpy(n->digest, n->artifact_hash, TL_HASH_LEN);
        return 0;
    }
    for (i = 0; i < TL_HASH_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", n->artifact_hash[i]);
    }
    len = snprintf(
        n->payload, sizeof(n->payload),
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{"
        "\"name\":\"artifact-%llu.tar.gz\",\"digest\":{\"sha256\":\"%s\"}}],"
        "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{"
        "\"buildDefinition\":{\"buildType\":\"https://actions.github.io/"
        "buildtypes/workflow/v1\",\"externalParameters\":{\"workflow\":{"
        "\"ref\":\"refs/heads/main\",\"path\":\".github/workflows/"
        "release.yml\"}}},\"runDetails\":{\"builder\":{\"id\":\"https://"
        "github.com/actions/runner/github-hosted\"}}}}",
        (unsigned long long)v, hex);
    if (len < 0 || (size_t)len >= sizeof(n->payload)) {
        return -1;
    }
    n->payload_len = (size_t)len;
    tl_dsse_pae_hash((const uint8_t *)n->payload, n->payload_len, n->digest);
    return 0;
}

int
tl_noise_body(const struct tl_noise *n, const uint8_t *sig, size_t sig_len,
              struct tl_buf *out)
{
    struct tl_body_in in;

    memset(&in, 0, sizeof(in));
    in.kind = n->kind;
    in.artifact_hash = n->artifact_hash;
    in.payload = (const uint8_t *)n->payload;
    in.payload_len = n->payload_len;
    in.sig = sig;
    in.sig_len = sig_len;
    in.verifier_b64 = n->ident->verifier_b64;
    in.verifier_len = n->ident->verifier_len;
    in.v2 = n->v2;
    in.der_b64 = n->ident->der_b64;
    in.der_len = n->ident->der_len;
    in.key_only = n->ident->key_only;
    return tl_body_build(&in, out);
}
