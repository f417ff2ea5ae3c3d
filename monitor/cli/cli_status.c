/*
 * cli_status.c: `tlogwatch status [-c FILE]`: what the store knows, per
 * log shard: verified size and root, cursor, lag, last success, recent
 * errors; per watch rule, its last signings (STATUS_SIGNINGS); the
 * outbox.  Opens the state read-only, so it is safe beside a
 * running daemon (WAL readers never block the writer).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "merkle/merkle.h"
#include "monitor/cli/cli.h"
#include "monitor/outbox.h"
#include "monitor/store/store.h"
#include "notify/alert.h"

#define STATUS_SIGNINGS 5 /* latest signings shown per watch rule */

struct status_ctx {
    struct store *store;
    const struct config *cfg;
    int64_t now;
    size_t nsignings; /* listed for the current rule */
};

static void
status_time(int64_t t, int64_t now, char *out, size_t cap)
{
    char when[32];

    if (t == 0) {
        snprintf(out, cap, "never");
        return;
    }
    notify_rfc3339((time_t)t, when, sizeof(when));
    snprintf(out, cap, "%s (%llds ago)", when, (long long)(now - t));
}

static int
status_error_cb(void *arg, int64_t at, const char *message)
{
    struct status_ctx *c = arg;
    char when[64];

    status_time(at, c->now, when, sizeof(when));
    printf("      %s  %s\n", when, message);
    return 0;
}

struct status_seen {
    const char *name;
    int found;
};

static int
status_seen_cb(void *arg, const struct store_log_status *st)
{
    struct status_seen *seen = arg;

    if (strcmp(st->name, seen->name) == 0) {
        seen->found = 1;
        return 1;
    }
    return 0;
}

static int
status_log_cb(void *arg, const struct store_log_status *st)
{
    struct status_ctx *c = arg;
    char root[2 * MERKLE_HASH_LEN + 1] = "-", ok[64], bad[64];

    if (st->has_checkpoint) {
        merkle_hex_encode(st->verified_root, MERKLE_HASH_LEN, root,
                          sizeof(root));
    }
    status_time(st->last_success_at, c->now, ok, sizeof(ok));
    status_time(st->last_error_at, c->now, bad, sizeof(bad));
    printf("log %s  shard \"%s\"%s\n", st->name, st->origin,
           st->frozen ? "  (frozen)" : "");
    if (st->has_checkpoint) {
        printf("  verified size   %llu\n",
               (unsigned long long)st->verified_size);
        printf("  verified root   %s\n", root);
    } else {
        printf("  verified size   none yet\n");
    }
    if (st->has_cursor) {
        printf("  cursor          %llu (shard-local %llu)\n",
               (unsigned long long)st->next_index,
               (unsigned long long)st->next_shard_index);
        printf(
            "  lag             %llu entries\n",
            (unsigned long long)(st->has_checkpoint && st->verified_size >
                                                           st->next_shard_index
                                     ? st->verified_size - st->next_shard_index
                                     : 0));
    } else {
        printf("  cursor          not seeded\n");
    }
    printf("  last success    %s\n", ok);
    printf("  entries scanned %llu; checkpoints %llu; consistency proofs "
           "%llu; root checks %llu\n",
           (unsigned long long)st->entries_scanned,
           (unsigned long long)st->checkpoints_verified,
           (unsigned long long)st->proofs_verified,
           (unsigned long long)st->root_checks_passed);
    if (st->last_error_at != 0) {
        printf("  last error      %s: %s\n", bad, st->last_error);
        printf("  recent errors:\n");
        if (store_log_errors_each(c->store, st->log_id, status_error_cb, c) !=
            0) {
            return 1;
        }
    }
    return 0;
}

static const char *
status_or(const char *s)
{
    return s != NULL ? s : "-";
}

static int
status_signing_cb(void *arg, const struct store_signing *row)
{
    struct status_ctx *c = arg;
    char when[64];

    c->nsignings++;
    status_time(row->integrated_time, c->now, when, sizeof(when));
    printf("    %s  index %llu  %s\n", when, (unsigned long long)row->log_index,
           row->verdict);
    printf("      commit %s  workflow %s  ref %s\n",
           status_or(row->workflow_sha), status_or(row->workflow_path),
           status_or(row->ref));
    printf("      runner %s  trigger %s  uuid %s\n",
           status_or(row->runner_environment), status_or(row->trigger),
           row->uuid);
    if (row->pcrs_state != NULL && strcmp(row->pcrs_state, "none") != 0) {
        printf("      pcrs %s  PCR0 %s  PCR1 %s  PCR2 %s", row->pcrs_state,
               status_or(row->pcr0), status_or(row->pcr1),
               status_or(row->pcr2));
        if (row->pcr8 != NULL) {
            printf("  PCR8 %s", row->pcr8);
        }
        printf("\n");
        if (row->pcrs_source != NULL || row->pcrs_note != NULL) {
            printf("      pcrs from %s%s%s\n", status_or(row->pcrs_source),
                   row->pcrs_note != NULL ? ": " : "",
                   row->pcrs_note != NULL ? row->pcrs_note : "");
        }
    }
    return 0;
}

/* Per watch rule: its last STATUS_SIGNINGS signings, newest first. */
static int
status_rules(struct status_ctx *c)
{
    size_t i;

    for (i = 0; i < c->cfg->n_watch; i++) {
        const struct config_watch *w = &c->cfg->watch[i];
        printf("rule %s  repository %s\n", w->name, w->repository);
        printf("  last signings (newest first):\n");
        c->nsignings = 0;
        if (store_signings_latest(c->store, w->name, STATUS_SIGNINGS,
                                  status_signing_cb, c) != 0) {
            return -1;
        }
        if (c->nsignings == 0) {
            printf("    none yet\n");
        }
    }
    return 0;
}

int
cli_status(int argc, char **argv)
{
    const char *path = cli_config_arg(argc, argv);
    struct config_errors *errs = NULL;
    struct config *cfg;
    struct store *s;
    struct status_ctx c;
    struct store_counts counts;
    char err[STORE_ERRMSG_MAX];
    int rc = CLI_EXIT_OK;

    if (path == NULL) {
        fprintf(stderr, "usage: tlogwatch status [-c FILE]\n");
        return CLI_EXIT_USAGE;
    }
    cfg = config_load(path, &errs);
    if (cfg == NULL) {
        char line[1024];
        size_t i;
        for (i = 0; errs != NULL && i < errs->n; i++) {
            fprintf(stderr, "%s\n",
                    config_error_format(&errs->v[i], line, sizeof(line)));
        }
        config_errors_free(errs);
        return CLI_EXIT_USAGE;
    }
    s = store_open(cfg->state, STORE_OPEN_READONLY, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "tlogwatch status: %s\n", err);
        config_free(cfg);
        return CLI_EXIT_ERROR;
    }
    c.store = s;
    c.cfg = cfg;
    c.now = time(NULL);
    c.nsignings = 0;
    for (size_t i = 0; i < cfg->n_logs; i++) {
        /* A configured log the store has never verified has no row yet
         * (rows are per shard origin, known from the first checkpoint). */
        struct status_seen seen = {cfg->logs[i].name, 0};
        if (store_logs_each(s, status_seen_cb, &seen) == 0 && !seen.found) {
            printf("log %s  (%s)\n  no verified checkpoint yet: see the "
                   "daemon's log for why\n",
                   cfg->logs[i].name, cfg->logs[i].url);
        }
    }
    if (store_logs_each(s, status_log_cb, &c) != 0) {
        fprintf(stderr, "tlogwatch status: %s\n", store_errmsg(s));
        rc = CLI_EXIT_ERROR;
    } else if (status_rules(&c) != 0) {
        fprintf(stderr, "tlogwatch status: %s\n", store_errmsg(s));
        rc = CLI_EXIT_ERROR;
    } else if (store_counts(s, 0, INT64_MAX, &counts) == 0) {
        printf("outbox: %llu pending, %llu sent, %llu failed\n",
               (unsigned long long)counts.deliveries[STORE_DELIVERY_PENDING],
               (unsigned long long)counts.deliveries[STORE_DELIVERY_SENT],
               (unsigned long long)counts.deliveries[STORE_DELIVERY_FAILED]);
        (void)outbox_status_print(stdout, s, cfg, c.now);
        printf("alerts: %llu info, %llu warning, %llu critical\n",
               (unsigned long long)counts.alerts[NOTIFY_INFO],
               (unsigned long long)counts.alerts[NOTIFY_WARNING],
               (unsigned long long)counts.alerts[NOTIFY_CRITICAL]);
    }
    store_close(s);
    config_free(cfg);
    return rc;
}
