/*
 * main.c: tlogwatch-testlog, a loopback Rekor v1 log (--tiles: a Rekor
 * v2 log, tiles.c; --ct: an RFC 6962 CT log like Fulcio's, ct.c) that can
 * misbehave on cue, for tlogwatch's tests and for people poking at it
 * with curl.
 *
 * main() reads like a checklist: options, loopback check, build the log
 * (keys, CAs, N noise entries on all cores), bind, write the files that
 * describe the log into --dir (trusted_root.json, keys, CA chains,
 * testlog.json, and last the readiness marker "url"), then serve until
 * SIGINT/SIGTERM.  Exit codes: 0 clean stop, 1 runtime failure, 2 usage.
 *
 * Invariants: never binds anything but a loopback address; "url" in
 * --dir exists only while the log is serving (removed on a clean stop);
 * with --prefix, "url" and testlog.json's url carry the prefix and
 * trusted_root.json's baseUrl does not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "testlog.h"

static const char usage_text[] =
    "usage: tlogwatch-testlog --dir DIR [--listen 127.0.0.1:PORT]\n"
    "                         [--entries N] [--seed S] [--hostname NAME]\n"
    "                         [--threads T] [--verbose]\n"
    "                         [--tiles [--origin NAME] [--prefix PATH]]\n"
    "                         [--ct [--ct-batch N] [--prefix PATH]]\n"
    "\n"
    "A loopback Rekor v1 log backed by a real Merkle tree, a real ECDSA\n"
    "P-256 log key and a Fulcio-like CA, that can misbehave on cue; with\n"
    "--tiles a Rekor v2 log instead (tlog-tiles read API, Ed25519 key).\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT  loopback address to serve on (default\n"
    "                      127.0.0.1:0 = any free port; 127.0.0.0/8, ::1\n"
    "                      as [::1]:PORT, or localhost; others refused)\n"
    "  --dir DIR           where to write, before serving:\n"
    "                        trusted_root.json   log key + CA chain, for a\n"
    "                                            tlogwatch config\n"
    "                        log.pub log.key     the log's P-256 key\n"
    "                        wrong-key.pub/.key  the /admin/wrong-key key\n"
    "                        fulcio-chain.pem    intermediate + root\n"
    "                        fulcio-{root,intermediate}.{pem,key,pub}\n"
    "                        impostor-chain.pem  the look-alike CA (not in\n"
    "                                            trusted_root.json), also\n"
    "                        impostor-{root,intermediate}.{pem,key,pub}\n"
    "                        testlog.json        url, origin, log id, ...\n"
    "                        url                 written last: ready\n"
    "  --entries N         noise entries at startup (default 1000; up to\n"
    "                      2^30; 1,000,000 take ~30 s of CPU on all\n"
    "                      cores, ~160 MB)\n"
    "  --seed S            noise seed (default random): names, kinds and\n"
    "                      tree ids; keys are always fresh (but the\n"
    "                      --tiles Ed25519 keys, derived from it)\n"
    "  --hostname NAME     checkpoint origin host and signer name (default:\n"
    "                      the listen host, as trusted_root.json's baseUrl\n"
    "                      host)\n"
    "  --threads T         workers for building entries (default: CPUs)\n"
    "  --verbose           log every admin operation to stderr\n"
    "  --tiles             serve a Rekor v2 log INSTEAD of the v1 API: the\n"
    "                      C2SP tlog-tiles read API below, Ed25519\n"
    "                      checkpoints, hashedrekord 0.0.2 entries; the\n"
    "                      v1 paths answer 404.  trusted_root.json then\n"
    "                      holds the Ed25519 key only (PKIX_ED25519, logId\n"
    "                      SHA-256(origin || 0x0A || 0x01 || key)), and\n"
    "                      --dir also gets tiles-log.{pub,key,vkey} and\n"
    "                      tiles-wrong-key.{pub,key}; the key is derived\n"
    "                      from --seed\n"
    "  --origin NAME       --tiles: checkpoint origin and key name\n"
    "                      (default the HOST of the URL, no port)\n"
    "  --prefix PATH       --tiles: serve the tlog-tiles API under PATH\n"
    "                      (e.g. /api/v2, as Rekor v2 declares it: GET\n"
    "                      /api/v2/checkpoint, /api/v2/tile/...); the bare\n"
    "                      paths then answer 404.  url and testlog.json\n"
    "                      carry http://HOST:PORT/api/v2; trusted_root.json's\n"
    "                      baseUrl stays http://HOST:PORT (as production's);\n"
    "                      /admin/ stays at the root\n"
    "  --ct                serve an RFC 6962 Certificate Transparency log\n"
    "                      INSTEAD (Fulcio's ctfe shape: /ct/v1/get-sth,\n"
    "                      get-sth-consistency, get-proof-by-hash,\n"
    "                      get-entries, get-roots; see tests/testlog/ct.c)\n"
    "                      of precertificates and certificates from the\n"
    "                      Fulcio-like CA, STHs signed by log.key;\n"
    "                      trusted_root.json lists the key under ctlogs\n"
    "                      (tlogs empty), baseUrl = url (prefix included)\n"
    "  --ct-batch N        --ct: get-entries returns at most N entries\n"
    "                      (default 256, 1..10000)\n"
    "  --help              this text\n"
    "\n";
/* split: C11 compilers need not take string literals over 4095 bytes */
static const char usage_text2[] =
    "Rekor v1 read API (production's shapes):\n"
    "  GET  /api/v1/log                       checkpoint, size, shards\n"
    "  GET  /api/v1/log/proof?firstSize=M&lastSize=N[&treeID=T]\n"
    "  GET  /api/v1/log/entries?logIndex=I\n"
    "  GET  /api/v1/log/entries/{uuid}\n"
    "  POST /api/v1/log/entries/retrieve       {\"logIndexes\":[..]} or\n"
    "                                         {\"entryUUIDs\":[..]}, <= 10\n"
    "  GET  /api/v1/log/publicKey\n"
    "tlog-tiles read API (--tiles; under --prefix when given):\n"
    "  GET  /checkpoint                       signed note\n"
    "  GET  /tile/<L>/<N>[.p/<W>]              hash tiles (404 beyond)\n"
    "  GET  /tile/entries/<N>[.p/<W>]          entry bundles\n"
    "\n"
    "Control (JSON in and out, never throttled):\n"
    "  GET  /admin/stats | /admin/info\n"
    "  POST /admin/grow {\"count\":N}            N noise entries\n"
    "  POST /admin/append {\"repository\":\"o/r\",\"repository_id\",\n"
    "       "
    "\"repository_owner\",\"owner_id\",\"workflow\",\"ref\",\"trigger\",\n"
    "       "
    "\"runner_environment\",\"sha\",\"build_signer\",\"impostor\":bool,\n"
    "       \"kind\":\"hashedrekord|intoto|dsse\",\"payload_b64\",\n"
    "       \"attestation\":\"store|omit|corrupt\" (intoto/dsse: what the\n"
    "       entry serves as attestation.data; store = the payload (intoto\n"
    "       default), omit = no member (dsse default: Rekor stores none),\n"
    "       corrupt = one byte changed),...}\n"
    "       -> {\"index\",\"uuid\",\"shard_index\",\"certificate_pem\",\n"
    "           \"signature_b64\",...}\n"
    "  POST /admin/append-malformed            undecodable, well hashed\n"
    "  POST /admin/append-raw {\"body_b64\"}     arbitrary leaf bytes\n"
    "  POST /admin/fork {\"index\":I}            replace one leaf\n"
    "  POST /admin/rollback {\"size\":N}|{\"count\":K}\n"
    "  POST /admin/wrong-key {\"on\":true}       bad checkpoint signatures\n"
    "  POST /admin/tamper {\"index\":I,\"count\":K} modified body served\n"
    "  POST /admin/drop {\"index\":I,\"count\":K}  withheld: the next K\n"
    "       reads of I get nothing: omitted from retrieve (by index or\n"
    "       uuid), 404 from entries?logIndex= and entries/{uuid}; --tiles:\n"
    "       every entry bundle holding I (full or .p/W) answers 404\n";
static const char usage_text3[] =
    "  POST /admin/misdirect {\"index\":I,\"count\":K,\"to\":J}\n"
    "       the next K reads of I (retrieve, logIndex=, uuid) answer 200\n"
    "       with the real entry of index J instead (v1 only)\n"
    "  POST /admin/impossible {\"size\":N|\"N\"[,\"root\":hex]\n"
    "       [,\"tree_size\":M]} (N, M up to 18446744073709551615)\n"
    "       GET /api/v1/log (or --tiles /checkpoint) serves a checkpoint\n"
    "       validly signed by the log key for N leaves and root hex\n"
    "       (default SHA-256 of a label and N); v1 JSON: rootHash = root,\n"
    "       treeSize = M (default N) as a JSON integer even beyond int64\n"
    "       (production's int64 cannot hold it; jansson-style readers\n"
    "       refuse the document).  Other endpoints serve the real tree.\n"
    "       {\"off\":true} stops it -> {\"on\",\"size\",\"root\",\"note\"}\n"
    "  POST /admin/pad {\"bytes\":N}             big bodies (N <= 2^30):\n"
    "       v1 entry responses (retrieve, logIndex=, uuid) padded to N\n"
    "       bytes with JSON whitespace after the value (still valid JSON);\n"
    "       --tiles: N bytes of junk (0xff) after every entry bundle\n"
    "  POST /admin/trickle {\"bytes_per_s\":B}   the same entry responses\n"
    "       (200 only, Content-Length up front) sent at about B bytes/s\n"
    "       each, on timers: other connections are served meanwhile;\n"
    "       0 = off (in-flight ones finish at once)\n"
    "  POST /admin/rotate                      new shard, old one frozen\n"
    "  POST /admin/fail "
    "{\"status\":429|500|503,\"count\":K,\"retry_after\":S}\n"
    "  POST /admin/delay {\"ms\":D,\"count\":K}\n"
    "  POST /admin/rate {\"rps\":R,\"burst\":B}   429 + Retry-After beyond\n"
    "  POST /admin/reset                       clear every misbehaviour\n"
    "       (fail, delay, rate, wrong-key, tamper, drop, misdirect,\n"
    "       impossible, pad, trickle; trickled replies finish at once)\n"
    "Counts: -1 = until reset.  See tests/testlog/admin.c for every field.\n"
    "With --tiles: grow, append (hashedrekord; dsse logged as hashedrekord\n"
    "over the PAE), fork, rollback, wrong-key, tamper and drop (entry\n"
    "bundles), impossible, pad, trickle, fail, delay, rate, stats; rotate\n"
    "and misdirect answer 400.\n"
    "With --ct: append (claims -> a certificate logged as a precert_entry\n"
    "or, \"ct_entry\":\"cert\", an x509_entry, with no Rekor entry; the\n"
    "reply's certificate_pem + private_key_pem, given to /admin/append of a\n"
    "Rekor-mode test log, log the same certificate there), grow, fork,\n"
    "rollback, wrong-key, impossible, tamper, drop (get-entries ends its\n"
    "batch before the index), pad, trickle, fail, delay, rate, stats, and\n"
    "  POST /admin/ct-batch {\"batch\":N}      get-entries cap from now on\n"
    "  POST /admin/ct-freeze {\"on\":B}        get-sth repeats this STH\n"
    "rotate, misdirect and append-malformed answer 400.\n"
    "\n"
    "Example:\n"
    "  tlogwatch-testlog --listen 127.0.0.1:8080 --entries 1000 --dir /tmp/tl\n"
    "  curl -s http://127.0.0.1:8080/api/v1/log\n";

struct options {
    char host[256];
    unsigned port;
    const char *dir;
    const char *hostname;
    const char *origin;
    const char *prefix;
    int tiles;
    int ct;
    uint64_t ct_batch;
    uint64_t entries;
    uint64_t seed;
    int have_seed;
    unsigned threads;
    int verbose;
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static int
parse_u64_arg(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (*s < '0' || *s > '9') {
        return -1;
    }
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

/* Split HOST:PORT (IPv6 as [::1]:PORT) and require a loopback host. */
static int
parse_listen(const char *arg, struct options *o)
{
    const char *colon;
    struct in_addr a4;
    struct in6_addr a6;
    uint64_t port;
    size_t n;

    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');

        if (close == NULL || close[1] != ':') {
            return -1;
        }
        n = (size_t)(close - arg - 1);
        colon = close + 1;
        if (n >= sizeof(o->host)) {
            return -1;
        }
        memcpy(o->host, arg + 1, n);
        o->host[n] = '\0';
    } else {
        colon = strrchr(arg, ':');
        if (colon == NULL) {
            return -1;
        }
        n = (size_t)(colon - arg);
        if (n >= sizeof(o->host)) {
            return -1;
        }
        memcpy(o->host, arg, n);
        o->host[n] = '\0';
    }
    if (parse_u64_arg(colon + 1, &port) != 0 || port > 65535) {
        return -1;
    }
    o->port = (unsigned)port;
    if (strcmp(o->host, "localhost") == 0) {
        memcpy(o->host, "127.0.0.1", 10);
    }
    if (inet_pton(AF_INET, o->host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127 ? 0 : -1;
    }
    if (inet_pton(AF_INET6, o->host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6) ? 0 : -1;
    }
    return -1;
}

/* A URL path prefix: "/seg[/seg...]", no empty or dot-only segment,
 * shorter than TL_PREFIX_MAX, and not /admin (which stays the root's). */
static int
valid_prefix(const char *p)
{
    size_t n = strlen(p), i, seg = 0;

    if (n < 2 || n >= TL_PREFIX_MAX || p[0] != '/' || p[n - 1] == '/' ||
        strcmp(p, "/admin") == 0 || strncmp(p, "/admin/", 7) == 0) {
        return 0;
    }
    for (i = 1; i <= n; i++) {
        if (i == n || p[i] == '/') {
            if (i - seg - 1 == 0 || strncmp(p + seg, "/.", i - seg) == 0 ||
                strncmp(p + seg, "/..", i - seg) == 0) {
                return 0;
            }
            seg = i;
        } else if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789._~-",
                          p[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"dir", required_argument, NULL, 'd'},
        {"entries", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"hostname", required_argument, NULL, 'H'},
        {"threads", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"tiles", no_argument, NULL, 'T'},
        {"origin", required_argument, NULL, 'O'},
        {"prefix", required_argument, NULL, 'P'},
        {"ct", no_argument, NULL, 'C'},
        {"ct-batch", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = "127.0.0.1:0";
    uint64_t v;
    long ncpu;
    int c;

    memset(o, 0, sizeof(*o));
    o->entries = 1000;
    o->ct_batch = TL_CT_BATCH;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = ncpu < 1                ? 1
                 : ncpu > TL_MAX_THREADS ? TL_MAX_THREADS
                                         : (unsigned)ncpu;
    while ((c = getopt_long(argc, argv, "l:d:n:s:H:t:vh", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'n':
            if (parse_u64_arg(optarg, &o->entries) != 0 ||
                o->entries > TL_MAX_ENTRIES) {
                fprintf(stderr, "tlogwatch-testlog: --entries: a number up "
                                "to 2^30 expected\n");
                return 2;
            }
            break;
        case 's':
            if (parse_u64_arg(optarg, &o->seed) != 0) {
                fprintf(stderr, "tlogwatch-testlog: --seed: a number "
                                "expected\n");
                return 2;
            }
            o->have_seed = 1;
            break;
        case 'H':
            o->hostname = optarg;
            break;
        case 't':
            if (parse_u64_arg(optarg, &v) != 0 || v < 1 || v > TL_MAX_THREADS) {
                fprintf(stderr, "tlogwatch-testlog: --threads: 1..%d\n",
                        TL_MAX_THREADS);
                return 2;
            }
            o->threads = (unsigned)v;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 'T':
            o->tiles = 1;
            break;
        case 'O':
            o->origin = optarg;
            break;
        case 'C':
            o->ct = 1;
            break;
        case 'B':
            if (parse_u64_arg(optarg, &o->ct_batch) != 0 || o->ct_batch < 1 ||
                o->ct_batch > TL_CT_BATCH_MAX) {
                fprintf(stderr, "tlogwatch-testlog: --ct-batch: 1..%d\n",
                        TL_CT_BATCH_MAX);
                return 2;
            }
            break;
        case 'P':
            o->prefix = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            fputs(usage_text2, stdout);
            fputs(usage_text3, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            fputs(usage_text2, stderr);
            fputs(usage_text3, stderr);
            return 2;
        }
    }
    if (optind != argc || o->dir == NULL) {
        fprintf(stderr, "tlogwatch-testlog: --dir is required and no "
                        "operands are taken (see --help)\n");
        return 2;
    }
    if (parse_listen(listen, o) != 0) {
        fprintf(stderr,
                "tlogwatch-testlog: --listen %s: a loopback HOST:PORT is "
                "required (127.0.0.0/8, [::1], localhost)\n",
                listen);
        return 2;
    }
    if (o->hostname != NULL &&
        (strlen(o->hostname) == 0 || strlen(o->hostname) > 200 ||
         strpbrk(o->hostname, " \n\t") != NULL)) {
        fprintf(stderr, "tlogwatch-testlog: --hostname: 1..200 bytes, no "
                        "spaces\n");
        return 2;
    }
    if (o->origin != NULL &&
        (!o->tiles || strlen(o->origin) == 0 || strlen(o->origin) > 200 ||
         strpbrk(o->origin, " \n\t+") != NULL)) {
        fprintf(stderr, "tlogwatch-testlog: --origin: with --tiles only; "
                        "1..200 bytes, no spaces or '+'\n");
        return 2;
    }
    if (o->ct && o->tiles) {
        fprintf(stderr, "tlogwatch-testlog: --ct and --tiles exclude each "
                        "other\n");
        return 2;
    }
    if (o->prefix != NULL &&
        ((!o->tiles && !o->ct) || !valid_prefix(o->prefix))) {
        fprintf(stderr, "tlogwatch-testlog: --prefix: with --tiles or --ct "
                        "only; "
                        "/SEGMENT[/SEGMENT...], segments of [A-Za-z0-9._~-], "
                        "no trailing '/', not /admin, under 64 bytes\n");
        return 2;
    }
    return -1; /* go on */
}

/* Everything the log's users need, written into dir; "url" last. */
static int
write_files(const struct options *o, struct tl_log *log, double startup)
{
    struct tl_buf b = {0};
    json_t *info;
    char *text = NULL, origin[400], url[sizeof(log->base_url) + TL_PREFIX_MAX];
    int rc = -1;

    snprintf(url, sizeof(url), "%s%s", log->base_url,
             o->prefix != NULL ? o->prefix : "");
    if ((o->ct ? tl_ct_trusted_root(log, url, &b)
         : o->tiles
             ? tl_trusted_root_json(&log->tiles_key, "PKIX_ED25519",
                                    log->base_url, &log->ca,
                                    log->genesis - 86400, &b)
             : tl_trusted_root_json(&log->log_key, "PKIX_ECDSA_P256_SHA_256",
                                    log->base_url, &log->ca,
                                    log->genesis - 86400, &b)) != 0 ||
        tl_write_file(o->dir, "trusted_root.json", b.p, b.len, 0644) != 0 ||
        tl_write_key_files(o->dir, "log", &log->log_key) != 0 ||
        tl_write_key_files(o->dir, "wrong-key", &log->wrong_key) != 0 ||
        tl_write_key_files(o->dir, "fulcio-root", &log->ca.root_key) != 0 ||
        tl_write_key_files(o->dir, "fulcio-intermediate", &log->ca.inter_key) !=
            0 ||
        tl_write_key_files(o->dir, "impostor-root", &log->impostor.root_key) !=
            0 ||
        tl_write_key_files(o->dir, "impostor-intermediate",
                           &log->impostor.inter_key) != 0 ||
        tl_write_certs(o->dir, "fulcio-root.pem", log->ca.root, NULL) != 0 ||
        tl_write_certs(o->dir, "fulcio-intermediate.pem", log->ca.inter,
                       NULL) != 0 ||
        tl_write_certs(o->dir, "fulcio-chain.pem", log->ca.inter,
                       log->ca.root) != 0 ||
        tl_write_certs(o->dir, "impostor-chain.pem", log->impostor.inter,
                       log->impostor.root) != 0 ||
        tl_write_certs(o->dir, "impostor-root.pem", log->impostor.root, NULL) !=
            0 ||
        tl_write_certs(o->dir, "impostor-intermediate.pem", log->impostor.inter,
                       NULL) != 0) {
        goto done;
    }
    if (o->tiles) {
        tl_buf_reset(&b);
        if (tl_write_key_files(o->dir, "tiles-log", &log->tiles_key) != 0 ||
            tl_write_key_files(o->dir, "tiles-wrong-key", &log->tiles_wrong) !=
                0 ||
            tl_tiles_vkey(log, &b) != 0 || tl_buf_adds(&b, "\n") != 0 ||
            tl_write_file(o->dir, "tiles-log.vkey", b.p, b.len, 0644) != 0) {
            goto done;
        }
    }
    snprintf(origin, sizeof(origin), "%s - %llu", log->host,
             (unsigned long long)tl_log_active(log)->tree_id);
    if (o->tiles) {
        snprintf(origin, sizeof(origin), "%s", log->origin);
    }
    info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:f}", "url",
                     url, "host", log->host, "origin", origin, "log_id",
                     o->tiles ? log->tiles_logid_hex : log->logid_hex,
                     "trusted_root", "trusted_root.json", "entries",
                     (json_int_t)tl_log_size(log), "public_key",
                     o->tiles ? "tiles-log.pub" : "log.pub", "pid",
                     (json_int_t)getpid(), "startup_seconds", startup);
    if (info == NULL) {
        goto done;
    }
    json_object_set_new(info, "mode",
                        json_string(o->ct      ? "ct"
                                    : o->tiles ? "tiles"
                                               : "v1"));
    if (o->ct) {
        json_object_set_new(info, "get_entries_batch",
                            json_integer((json_int_t)o->ct_batch));
    }
    if (o->tiles) {
        json_object_set_new(info, "vkey", json_string("tiles-log.vkey"));
        json_object_set_new(info, "base_url", json_string(log->base_url));
        json_object_set_new(info, "prefix",
                            json_string(o->prefix != NULL ? o->prefix : ""));
    }
    text = json_dumps(info, JSON_INDENT(2));
    json_decref(info);
    tl_buf_reset(&b);
    if (text == NULL || tl_buf_adds(&b, text) != 0 ||
        tl_buf_adds(&b, "\n") != 0 ||
        tl_write_file(o->dir, "testlog.json", b.p, b.len, 0644) != 0) {
        goto done;
    }
    tl_buf_reset(&b);
    if (tl_buf_printf(&b, "%s\n", url) != 0 ||
        tl_write_file(o->dir, "url", b.p, b.len, 0644) != 0) {
        goto done;
    }
    rc = 0;
done:
    free(text);
    tl_buf_free(&b);
    return rc;
}

int
main(int argc, char **argv)
{
    struct options o;
    struct tl_log *log = NULL;
    struct tl_server srv;
    struct event_base *base = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    char path[4200], hostname[300];
    unsigned bound = 0;
    double t0, startup;
    int rc, status = 1, serving = 0;

    rc = parse_options(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    memset(&srv, 0, sizeof(srv));
    srv.verbose = o.verbose;
    if (o.prefix != NULL) {
        snprintf(srv.prefix, sizeof(srv.prefix), "%s", o.prefix);
    }
    if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tlogwatch-testlog: %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    if (!o.have_seed &&
        RAND_bytes((unsigned char *)&o.seed, sizeof(o.seed)) != 1) {
        fprintf(stderr, "tlogwatch-testlog: no random seed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    /* the signer name defaults to the URL host as trusted_root.json
     * readers derive it: an IPv6 literal keeps its brackets */
    snprintf(hostname, sizeof(hostname),
             strchr(o.host, ':') != NULL ? "[%s]" : "%s", o.host);
    t0 = tl_mono();
    log = tl_log_new(o.seed, o.hostname != NULL ? o.hostname : hostname,
                     o.ct ? 0 : o.entries, o.threads, o.tiles);
    if (log != NULL && o.ct && tl_ct_init(log, o.entries, o.ct_batch) != 0) {
        tl_log_free(log);
        log = NULL;
    }
    if (log == NULL) {
        fprintf(stderr, "tlogwatch-testlog: cannot build the log\n");
        goto done;
    }
    base = event_base_new();
    if (base == NULL ||
        tl_server_start(&srv, base, log, o.host, o.port, &bound) != 0) {
        fprintf(stderr, "tlogwatch-testlog: cannot listen on %s:%u\n", o.host,
                o.port);
        goto done;
    }
    snprintf(log->base_url, sizeof(log->base_url),
             strchr(o.host, ':') != NULL ? "http://[%s]:%u" : "http://%s:%u",
             o.host, bound);
    if (o.tiles) {
        char origin[300];

        /* The host alone, as Rekor v2 names its logs (and as tlogwatch's
         * trusted root derives a key's name from baseUrl's host). */
        snprintf(origin, sizeof(origin), "%s", log->host);
        if (tl_tiles_init(log, o.origin != NULL ? o.origin : origin) != 0) {
            fprintf(stderr, "tlogwatch-testlog: cannot make the tiles key\n");
            goto done;
        }
    }
    startup = tl_mono() - t0;
    if (write_files(&o, log, startup) != 0) {
        fprintf(stderr, "tlogwatch-testlog: cannot write into %s\n", o.dir);
        goto done;
    }
    serving = 1;
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) != 0 ||
        evsignal_add(sigterm, NULL) != 0) {
        fprintf(stderr, "tlogwatch-testlog: cannot install signal handlers\n");
        goto done;
    }
    if (o.ct) {
        printf("tlogwatch-testlog: %llu entries built in %.2f s; serving "
               "CT (RFC 6962) at %s%s (dir %s, seed %llu)\n",
               (unsigned long long)tl_log_size(log), startup, log->base_url,
               srv.prefix, o.dir, (unsigned long long)o.seed);
    } else if (o.tiles) {
        printf("tlogwatch-testlog: %llu entries built in %.2f s; serving "
               "tlog-tiles at %s%s (origin \"%s\", dir %s, seed %llu)\n",
               (unsigned long long)tl_log_size(log), startup, log->base_url,
               srv.prefix, log->origin, o.dir, (unsigned long long)o.seed);
    } else {
        printf("tlogwatch-testlog: %llu entries built in %.2f s; serving %s "
               "(origin \"%s - %llu\", dir %s, seed %llu)\n",
               (unsigned long long)tl_log_size(log), startup, log->base_url,
               log->host, (unsigned long long)tl_log_active(log)->tree_id,
               o.dir, (unsigned long long)o.seed);
    }
    fflush(stdout);
    if (event_base_dispatch(base) != 0) {
        fprintf(stderr, "tlogwatch-testlog: event loop failed\n");
        goto done;
    }
    status = 0;
done:
    if (serving) {
        snprintf(path, sizeof(path), "%s/url", o.dir);
        unlink(path);
    }
    if (sigint != NULL) {
        event_free(sigint);
    }
    if (sigterm != NULL) {
        event_free(sigterm);
    }
    tl_server_stop(&srv);
    if (base != NULL) {
        event_base_free(base);
    }
    tl_log_free(log);
    return status;
}
