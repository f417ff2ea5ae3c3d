/*
 * server.h: the status server (`http.listen`, issue 12), libevent's
 * evhttp on the daemon's event loop, started by `tlogwatch run`.
 *
 *   GET /livez          200 while the event loop turns
 *   GET /readyz         200 when ready (metrics.h, server_readiness),
 *                       else 503; JSON {"ready", "reasons": [...]}
 *   GET /metrics        Prometheus text (metrics.h)
 *   GET /api/v1/status  the status document (view.h), exactly what
 *                       `tlogwatch status --format json` prints
 *   GET /               the HTML dashboard (view/dashboard.h)
 *   POST /api/v1/attestation  an AWS Nitro attestation document (raw or
 *                       base64) in the body: 200 and the answer of
 *                       `tlogwatch attestation verify` (view/attestation.h;
 *                       trust anchor: attestation.root or the AWS root),
 *                       or 400 {"error"} when it is not a well-formed
 *                       document.  unknown_build and debug_mode also raise
 *                       attestation.unknown_build once per PCR set;
 *                       invalid documents are answered, not alerted, and
 *                       counted in /metrics
 *                       (tlogwatch_attestation_documents_total)
 *
 * HEAD is answered like GET.  Other methods on these paths (GET and HEAD
 * on /api/v1/attestation): 405 (with
 * Allow); other paths: 404.  With http.token (required by the config for
 * a listen address that is not loopback) every path but /livez and
 * /readyz needs "Authorization: Bearer <token>" (compared in constant
 * time), else 401.  Nothing served holds a secret: sink URLs are shown
 * as scheme://host/... by the view, tokens never.
 *
 * Bounds: request line and headers SERVER_MAX_HEADERS bytes, body
 * SERVER_MAX_BODY bytes, SERVER_TIMEOUT_S seconds to read a request and
 * write the answer.  The store is read on the loop (one status document
 * per request); /readyz writes a probe row to prove the store writable
 * at most once per SERVER_PROBE_EVERY_MS, and answers from the last
 * probe between.
 *
 * The address and the token are read at start: a reload (SIGHUP) keeps
 * them (a changed http: section says so in the log).
 */
#ifndef TLOGWATCH_MONITOR_SERVER_H
#define TLOGWATCH_MONITOR_SERVER_H

#include <stddef.h>

struct tlw;
struct server;

#define SERVER_MAX_HEADERS 8192
#define SERVER_MAX_BODY (33 * 1024) /* an attestation document in base64 */
#define SERVER_TIMEOUT_S 10
#define SERVER_PROBE_EVERY_MS 5000

/*
 * Bind t->cfg->http (host:port) and serve on t->base.  t is borrowed
 * and must outlive the server; the server reads t->cfg, t->store and
 * t->followers at each request, so they may be swapped by a reload.
 * Returns new (server_free), or NULL with a message in err (e.g.
 * "http.listen 127.0.0.1:9464: cannot bind: Address already in use").
 */
struct server *server_start(struct tlw *t, char *err, size_t errlen);

/* After a reload: say when the new config's http: section differs from
 * the one in use (it takes effect at the next start). */
void server_reloaded(struct server *s);

/* Close the socket and every connection, wipe the token.  NULL is a
 * no-op. */
void server_free(struct server *s);

#endif
