/*
 * redact.h: what of a sink may be shown.  A sink's URL holds its secret
 * in the path or the query (Slack's /services/T/B/X, Discord's
 * /api/webhooks/ID/TOKEN, ?token=...), and a receiver's reply may quote
 * that URL, a token or a signature back.  These pure functions give the
 * forms that logs, `status`, `test-alert`, the dashboard and the store
 * hold instead.  No I/O, no allocation.
 *
 * Invariants kept:
 *  - a shown URL is "scheme://host[:port]/..." whatever the input: no
 *    userinfo, no path, no query, no fragment;
 *  - a kept reply holds no URL (anything with "://", or a path of two or
 *    more segments), no value of a name=value pair whose name looks like a
 *    credential (token, key, sig, secret, pass, auth, code, session ...)
 *    or whose value is long, and no long base64 or hex run; it is cut to
 *    NOTIFY_REPLY_MAX bytes after redaction, so a cut never leaves the
 *    start of a secret; only printable ASCII remains;
 *  - the markers it writes are kept as they are by a second pass.
 */
#ifndef TLOGWATCH_NOTIFY_REDACT_H
#define TLOGWATCH_NOTIFY_REDACT_H

#include <stddef.h>

#define NOTIFY_REPLY_MAX 200      /* bytes of a receiver's reply kept */
#define NOTIFY_REDACT_RUN_MIN 20  /* base64url run with a digit: a token */
#define NOTIFY_REDACT_LONG_MIN 32 /* any base64url run this long */
#define NOTIFY_REDACT_HEX_MIN 16  /* hex run: a digest, signature or key */
#define NOTIFY_REDACTED "[redacted]"
#define NOTIFY_REDACTED_URL "[url]"

/*
 * The shown form of a sink URL into out (NUL-terminated when outcap > 0,
 * cut to outcap - 1 bytes): "scheme://host[:port]/...".  Control and
 * non-ASCII bytes become '?'.  Something that is not scheme://authority
 * gives "(unparsable url)".  Returns out.
 */
char *notify_redact_url(const char *url, char *out, size_t outcap);

/*
 * The form of a URL that holds no secret in its path (a log's, a
 * registry's) for debug logs, as notify_redact_url but with the path:
 * "scheme://host[:port]/path", without userinfo, query or fragment; for
 * hook URLs (a path containing "/services/", as Slack's) everything after
 * "/services/" is dropped too.  Returns out.
 */
char *notify_redact_url_path(const char *url, char *out, size_t outcap);

/*
 * The kept form of len bytes of untrusted text (a receiver's reply, an
 * error naming one) into out: URLs, credential values and token-shaped
 * runs replaced (see above), control bytes and non-ASCII as '?', runs of
 * blanks as one space, at most min(outcap - 1, NOTIFY_REPLY_MAX) bytes.
 * s may be NULL when len is 0.  Returns out.
 */
char *notify_redact_reply(const char *s, size_t len, char *out, size_t outcap);

#endif
