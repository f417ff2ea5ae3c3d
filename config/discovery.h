/*
 * discovery.h: the logs a trusted root announces, as config_log entries
 * (logs_from_trusted_root: true).
 *
 * Selection (config_discover), a pure function of the config, the loaded
 * trusted root, the optional monitor config file and two times:
 *  - every tlogs[] entry with an ECDSA key is a Rekor v1 log, one with an
 *    Ed25519 key a Rekor v2 log (its C2SP origin and key name is the host
 *    of its baseUrl: the follower finds the key by checkpoint origin);
 *    any other key is skipped ("unsupported key");
 *  - every ctlogs[] entry (ECDSA or RSA key) is an RFC 6962 CT log (kind
 *    ct: its key is the ctlogs entry whose baseUrl is its url), with the
 *    same validFor and override rules; the monitor config is not read
 *    for it;
 *  - a log whose validFor ended at or before since (when the state began:
 *    the oldest log the store knows, or now for a new state) is skipped;
 *    one that ended after since and at or before now is retired: it is
 *    followed to its final checkpoint;
 *  - entries of one kind with the same URL are one log (Rekor v1 shards:
 *    the v1 follower reads the inactive ones from the log itself; a key
 *    listed again for another validFor period), retired only when every
 *    one is;
 *  - a log whose URL equals an explicit logs: entry's (a trailing
 *    "/api/v2" aside) is overridden: the
 *    explicit entry (its name, poll interval, start, concurrency) is the
 *    one followed;
 *  - monitor_config.json (Sigstore's TransparencyLogMonitorConfig), when
 *    present beside the trusted root: an object whose "logs" (or
 *    "transparencyLogs") array holds objects with read_url, log_origin and
 *    major_api_version (camelCase accepted too).  An item whose log_origin
 *    is a log's origin (its host, or "host - <tree id>" for v1) gives that
 *    log's read URL and, with major_api_version 1 or 2, its kind.
 * A discovered log is named after its trusted root baseUrl without the
 * scheme, ':' and '/' written '-' ("rekor.sigstore.dev",
 * "ctfe.sigstore.dev-2022", "127.0.0.1-8080"): the name stays when the
 * read URL changes.  It starts at discovered_start and has the config's
 * other defaults.
 * State is keyed by (name, checkpoint origin), so the order of the
 * trusted root and of logs: never moves a cursor.
 *
 * Limits: monitor config at most CONFIG_DISCOVERY_MAX_FILE bytes and
 * CONFIG_TRUSTED_ROOT_MAX_ITEMS items.  Pure: no logging, no globals.
 */
#ifndef TLOGWATCH_CONFIG_DISCOVERY_H
#define TLOGWATCH_CONFIG_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/trusted_root.h"

#define CONFIG_DISCOVERY_MAX_FILE (1024 * 1024)
#define CONFIG_MONITOR_CONFIG_NAME "monitor_config.json"

struct config_discovery {
    struct config_log log; /* name, url, kind, defaults; owned */
    char origin[256];      /* the signer name (host) */
    int retired;           /* validFor ended (after since, by now) */
    int overridden;        /* an explicit logs: entry has this URL */
    const char *skip;      /* static reason when not followed, else NULL */
};

/*
 * Select the logs of root (rules above).  monitor_config: a path, or NULL
 * for none (a missing file is not an error; a bad one is).  Returns 0 with
 * *out (caller frees with config_discovery_free) and *n, or -1 with a
 * message in err.  Entries with skip != NULL are kept for the caller to
 * report; they are never applied.
 */
int config_discover(const struct config *cfg,
                    const struct config_trusted_root *root,
                    const char *monitor_config, int64_t now, int64_t since,
                    struct config_discovery **out, size_t *n, char *err,
                    size_t errlen);

/* The path of monitor_config.json beside trusted_root, into buf. */
char *config_discovery_monitor_path(const char *trusted_root, char *buf,
                                    size_t cap);

/*
 * Append the followed entries (not skipped, not overridden) to cfg->logs,
 * moving their strings (d keeps nothing to free for them), marked
 * discovered.  Returns 0, or -1 when memory ran out (cfg unchanged).
 */
int config_discovery_apply(struct config *cfg, struct config_discovery *d,
                           size_t n);

void config_discovery_free(struct config_discovery *d, size_t n);

#endif
