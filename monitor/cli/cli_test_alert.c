/*
 * cli_test_alert.c: `tlogwatch test-alert [-c FILE]`: build one
 * monitor.test alert and send it through every configured sink directly
 * (not through the store's outbox, whatever the sink's min_severity),
 * once, with the same code the daemon uses; print one line per sink,
 * "NAME (TYPE WHERE): ok" or "...: FAILED: why", the sink shown as
 * outbox_sink_where shows it (scheme://host/...) and the receiver's reply
 * as the outbox keeps it (outbox.h), and exit 0 when every sink
 * accepted it, 1 when any failed, 2 for a usage or config error, 3 when
 * it could not run at all.
 *
 * Invariant: the alert id is new on every run (its stable key holds the
 * time and the pid), so a receiver that dedupes still shows each test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "monitor/cli/cli.h"
#include "monitor/http.h"
#include "monitor/outbox.h"
#include "notify/alert.h"

struct ta_ctx {
    struct event_base *base;
    size_t pending;
    size_t failed;
};

static void
ta_done(void *arg, const struct outbox_result *r)
{
    struct ta_ctx *c = arg;

    if (r->verdict == OUTBOX_SENT) {
        printf("%s (%s%s%s): ok\n", r->sink, r->sink_type,
               r->where[0] ? " " : "", r->where);
    } else {
        printf("%s (%s%s%s): FAILED: %s%s\n", r->sink, r->sink_type,
               r->where[0] ? " " : "", r->where, r->error,
               r->verdict == OUTBOX_PERMANENT ? " (refused)" : "");
        c->failed++;
    }
    fflush(stdout);
    if (c->pending > 0 && --c->pending == 0) {
        event_base_loopbreak(c->base);
    }
}

static json_t *
ta_alert(const struct config *cfg)
{
    char key[128], summary[256];
    json_t *a;

    snprintf(key, sizeof(key), "test|%lld|%ld", (long long)time(NULL),
             (long)getpid());
    snprintf(summary, sizeof(summary),
             "Test alert from tlogwatch (%zu sink(s) configured): "
             "delivery works",
             cfg->n_sinks);
    a = notify_alert_new("monitor.test", key, summary, time(NULL));
    if (a != NULL && cfg->n_logs > 0) {
        notify_alert_set(a, "log",
                         json_pack("{s:s}", "name", cfg->logs[0].name));
    }
    return a;
}

int
cli_test_alert(int argc, char **argv)
{
    const char *path = cli_config_arg(argc, argv);
    struct config *cfg = NULL;
    struct event_base *base = NULL;
    struct http_client *http = NULL;
    struct http_client_opts ho;
    struct outbox *ob = NULL;
    struct outbox_opts oo;
    struct ta_ctx c;
    json_t *alert = NULL;
    char *body = NULL, err[512];
    int rc = CLI_EXIT_ERROR, curl_ok = 0;
    size_t i;

    if (path == NULL) {
        fprintf(stderr, "usage: tlogwatch test-alert [-c FILE]\n");
        return CLI_EXIT_USAGE;
    }
    cfg = cli_config_load(path);
    if (cfg == NULL) {
        return CLI_EXIT_USAGE;
    }
    if (cfg->n_sinks == 0) {
        fprintf(stderr, "tlogwatch test-alert: no sink is configured\n");
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (http_global_init() != 0) {
        fprintf(stderr, "tlogwatch test-alert: cannot initialise libcurl\n");
        goto out;
    }
    curl_ok = 1;
    memset(&ho, 0, sizeof(ho));
    ho.ca_file = getenv("TLOGWATCH_CA_FILE");
    base = event_base_new();
    http = base != NULL ? http_client_new(base, &ho) : NULL;
    alert = ta_alert(cfg);
    body = alert != NULL ? notify_alert_render(alert) : NULL;
    if (http == NULL || body == NULL) {
        fprintf(stderr, "tlogwatch test-alert: out of memory\n");
        goto out;
    }
    memset(&oo, 0, sizeof(oo));
    oo.base = base;
    oo.cfg = cfg;
    oo.http = http;
    oo.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    ob = outbox_new(&oo, err, sizeof(err));
    if (ob == NULL) {
        fprintf(stderr, "tlogwatch test-alert: %s\n", err);
        goto out;
    }
    memset(&c, 0, sizeof(c));
    c.base = base;
    c.pending = cfg->n_sinks;
    printf("sending monitor.test %s\n", notify_alert_get_id(alert));
    fflush(stdout);
    for (i = 0; i < cfg->n_sinks; i++) {
        if (outbox_send_direct(ob, cfg->sinks[i].name, body, ta_done, &c) !=
            0) {
            char where[OUTBOX_WHERE_MAX];
            outbox_sink_where(&cfg->sinks[i], where, sizeof(where));
            printf("%s (%s%s%s): FAILED: cannot start\n", cfg->sinks[i].name,
                   config_sink_type_name(cfg->sinks[i].type),
                   where[0] ? " " : "", where);
            c.failed++;
            c.pending--;
        }
    }
    if (c.pending > 0) {
        event_base_dispatch(base);
    }
    rc = c.failed == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
    outbox_free(ob);
    http_client_free(http);
    if (base != NULL) {
        event_base_free(base);
    }
    if (curl_ok) {
        http_global_cleanup();
    }
    free(body);
    json_decref(alert);
    config_free(cfg);
    return rc;
}
