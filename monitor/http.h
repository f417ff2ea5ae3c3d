/*
 * http.h: the HTTP transport of tlogwatch, libcurl's multi interface driven
 * by the libevent loop that main.c owns.  Every outbound request of the
 * service (log followers, OCI registry lookups, webhook and Slack deliveries)
 * goes through one struct http_client.
 *
 * Invariants the transport keeps:
 *   - TLS peer and host verification are always on.  https:// goes anywhere;
 *     plain http:// only to loopback hosts (127.0.0.0/8, ::1, "localhost").
 *     The rule is checked before any name lookup or connection, again for
 *     every redirect (an https request never follows to http://; an http
 *     request follows to http:// only on loopback), and once more on the
 *     address of every socket a plain-HTTP connection opens.
 *   - Redirects are followed only when the request asks for it.  libcurl then
 *     sends the Authorization header only to the first host, port and scheme
 *     (CURLOPT_UNRESTRICTED_AUTH stays off); test_http.c proves it.
 *   - A response body never grows beyond the request's cap (checked on the
 *     announced Content-Length and on the decoded bytes, so a gzip bomb is
 *     cut off too).
 *   - Each accepted request ends in exactly one call of its callback, unless
 *     the caller cancels it first with http_cancel().  The callback is never
 *     called from inside http_request(): always later, from the event loop.
 *   - Time is the event loop's: libcurl's timers run on one evtimer; libcurl
 *     measures deadlines on the monotonic clock.  Nothing sleeps.
 *   - Proxies named in the environment (http_proxy, ...) are ignored, so the
 *     loopback rule means what it says.
 *   - HTTP/1.1 only, with keep-alive: finished requests leave their
 *     connection to the next request to the same host; parallel requests to
 *     one host open up to max_host_connections connections.
 *   - Nothing here logs a URL's query, userinfo or a header value; the debug
 *     log shows URLs through http_redact_url() only.
 *   - Response bodies held by all requests of a client together stay within
 *     its buffer budget plus one response (see "The buffer budget" below),
 *     whatever number of requests is in flight.
 *
 * Only this module includes <curl/curl.h>; callers see plain C types.
 */
#ifndef TLOGWATCH_MONITOR_HTTP_H
#define TLOGWATCH_MONITOR_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Named limits. */
#define HTTP_MAX_URL 8192                          /* bytes of a URL */
#define HTTP_MAX_HEADERS 32                        /* extra request headers */
#define HTTP_MAX_HEADER_LINE 8192                  /* "Name: value" of one */
#define HTTP_MAX_REQUEST_BODY (64u * 1024 * 1024)  /* request body bytes */
#define HTTP_MAX_RESPONSE_CAP (256u * 1024 * 1024) /* largest allowed cap */
#define HTTP_DEFAULT_RESPONSE_CAP (16u * 1024 * 1024)
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_TIMEOUT_MS 60000
#define HTTP_DEFAULT_MAX_REDIRECTS 5
#define HTTP_MAX_REDIRECTS 20
#define HTTP_MAX_CAPTURED_HEADER 4096 /* kept bytes of a captured header */
#define HTTP_RETRY_AFTER_MAX 86400    /* Retry-After is clamped to a day */
#define HTTP_MAX_DATE 64              /* longest HTTP-date we parse */
#define HTTP_DEFAULT_BUFFER_BUDGET (24u * 1024 * 1024) /* see below */
#define HTTP_MAX_BUFFER_BUDGET (4096ull * 1024 * 1024)
#define HTTP_BUDGET_SMALL_BODY (64u * 1024) /* may use the reserve */

/*
 * Process-wide setup: main.c calls these once, around everything.  Init
 * also sets SIGPIPE to ignored (libcurl runs with CURLOPT_NOSIGNAL, and a
 * write to a closed peer must come back as EPIPE, not kill the process).
 */
int http_global_init(void);
void http_global_cleanup(void);

/* Options of a client; a zero field takes the default in brackets. */
struct http_client_opts {
    uint64_t max_total_connections; /* open at once, all hosts [32] */
    uint64_t max_host_connections;  /* open at once to one host [8] */
    const char *ca_file;            /* PEM trust anchors instead of the system's
                                       (tests); copied [NULL: system store] */
    const char *user_agent;         /* copied ["tlogwatch/<version>"] */
    uint64_t buffer_budget;         /* response body bytes all requests hold
                                       together, <= HTTP_MAX_BUFFER_BUDGET
                                       [HTTP_DEFAULT_BUFFER_BUDGET] */
};

/*
 * Returns a new client that runs on base (borrowed: base must outlive the
 * client), or NULL on failure.  opts may be NULL for the defaults.  Free
 * with http_client_free().
 */
struct http_client *http_client_new(struct event_base *base,
                                    const struct http_client_opts *opts);

/*
 * Frees the client.  Every request still in flight ends with its callback
 * called once, with result HTTP_ERR_CANCELLED, before this returns;
 * http_request() called from those callbacks fails (returns NULL).  May be
 * called from inside a request's callback: the client is then released
 * when that callback returns.  http_client_free(NULL) is a no-op.
 */
void http_client_free(struct http_client *c);

enum http_method {
    HTTP_GET = 0,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
};

/* One extra request header.  Both strings are borrowed for the call. */
struct http_header {
    const char *name;  /* a token: letters, digits, !#$%&'*+-.^_`|~ */
    const char *value; /* no CR, LF or NUL */
};

/*
 * What to send.  Every pointer is borrowed for the duration of the
 * http_request() call only: the transport copies what it keeps.  A zero
 * numeric field takes the default named above.
 */
struct http_request_opts {
    enum http_method method;
    const char *url;                   /* https://..., or http:// to loopback */
    const void *body;                  /* POST/PUT body, may be NULL */
    size_t body_len;                   /* <= HTTP_MAX_REQUEST_BODY */
    const char *content_type;          /* of body; NULL: none sent */
    const struct http_header *headers; /* e.g. Authorization */
    size_t nheaders;                   /* <= HTTP_MAX_HEADERS */
    uint64_t connect_timeout_ms;       /* TCP + TLS handshake */
    uint64_t timeout_ms;               /* whole request, redirects included */
    uint64_t
        max_response_bytes; /* decoded body cap; <= HTTP_MAX_RESPONSE_CAP */
    int follow_redirects;   /* 0: a 3xx is returned as the response */
    uint64_t max_redirects; /* when following [5], <= 20 */
    int url_secret;         /* 1: path and query hold a secret (a sink's
                               URL): logged as scheme://host/... only */
};

enum http_result {
    HTTP_COMPLETE = 0,  /* a whole response arrived: see status */
    HTTP_ERR_TRANSPORT, /* DNS, connect, TLS, protocol, decoding error */
    HTTP_ERR_TIMEOUT,   /* connect or total timeout fired */
    HTTP_ERR_TOO_LARGE, /* the body exceeded max_response_bytes */
    HTTP_ERR_REFUSED,   /* the URL (or a redirect) does not parse or breaks
                           the rules: scheme, plain HTTP off loopback,
                           userinfo; nothing was sent */
    HTTP_ERR_CANCELLED, /* the client was freed first */
};

/* A static string naming r ("complete", "timeout", ...). */
const char *http_result_str(enum http_result r);

/*
 * The outcome of a request, passed to its callback.  The struct and every
 * pointer in it are borrowed: valid only until the callback returns.
 * Header values are cleaned of control bytes and cut at
 * HTTP_MAX_CAPTURED_HEADER bytes; they are the final response's (after
 * redirects), and the first one when a header repeats.
 */
struct http_response {
    enum http_result result;
    int status;       /* last HTTP status, 0 when none was received */
    const char *body; /* HTTP_COMPLETE only, else NULL; NUL-terminated for
                         convenience (body[body_len] == 0), may hold NULs */
    size_t body_len;
    const char *content_type;     /* NULL when absent */
    const char *location;         /* raw Location header, NULL when absent */
    const char *redirect_url;     /* Location resolved to an absolute URL
                                     (not followed), NULL when none */
    const char *www_authenticate; /* NULL when absent */
    int has_retry_after;          /* a valid Retry-After header came */
    uint64_t retry_after_s;       /* its delay in seconds, HTTP-dates taken
                                     relative to the response's Date header (local
                                     clock without one), clamped to
                                     [0, HTTP_RETRY_AFTER_MAX] */
    uint64_t total_time_us;       /* from start to the end of the transfer */
    uint64_t redirects;           /* redirects followed */
    const char *error;            /* human-readable cause unless HTTP_COMPLETE;
                                     names no secret (the URL is not in it) */

    /* GitHub's pagination and rate limit: raw header values, NULL when
     * absent, and the server's clock to read x-ratelimit-reset against. */
    const char *link;                /* Link (RFC 8288) */
    const char *ratelimit_remaining; /* X-RateLimit-Remaining */
    const char *ratelimit_reset;     /* X-RateLimit-Reset: unix seconds */
    int64_t date; /* the Date header in unix seconds; 0: absent, bad */
};

typedef void (*http_done_cb)(const struct http_response *resp, void *arg);

struct http_handle;

/*
 * Starts a request.  Returns a handle, borrowed: valid until the callback
 * starts or http_cancel() returns, whichever comes first.  cb(resp, arg) is
 * then called exactly once, later, from the event loop, for every outcome
 * (a response of any status, transport error, timeout, cap exceeded, a URL
 * the rules refuse, client freed).  Returns NULL, and never calls cb, when
 * the options are invalid (missing url or cb, a limit exceeded, a header
 * with CR/LF, an unknown method), on allocation failure, or while the
 * client is being freed.
 */
struct http_handle *http_request(struct http_client *c,
                                 const struct http_request_opts *opts,
                                 http_done_cb cb, void *arg);

/*
 * One email over SMTP, on the same client (connections, timers, budget)
 * as the HTTP requests.  TLS is always on and verified: smtps:// is
 * implicit TLS, smtp:// must upgrade with STARTTLS (CURLUSESSL_ALL: a
 * server that does not offer it, or refuses it, gets nothing, not even
 * the envelope), whatever the host, loopback included.  Every pointer
 * is borrowed for the call: the transport copies what it keeps.
 */
struct http_smtp_opts {
    const char *url;             /* smtps://host[:port][/ehlo-domain] or
                                    smtp://...; no userinfo */
    const char *mail_from;       /* envelope sender, an address */
    const char *const *rcpt;     /* envelope recipients */
    size_t nrcpt;                /* 1 .. HTTP_MAX_HEADERS */
    const char *username;        /* SMTP AUTH, or NULL: none */
    const char *password;        /* with username; a secret */
    const char *ca_file;         /* PEM trust anchors, or NULL: the
                                    client's (http_client_opts.ca_file) */
    const void *message;         /* the RFC 5322 message, CRLF lines */
    size_t message_len;          /* <= HTTP_MAX_REQUEST_BODY */
    uint64_t connect_timeout_ms; /* TCP + TLS handshake */
    uint64_t timeout_ms;         /* the whole conversation */
    int plain; /* no TLS (config tls: none): smtp:// only, no username,
                  and the connection only to a loopback address */
};

/*
 * Sends one message as http_request() sends a request, with the same
 * callback contract.  The response's result is HTTP_COMPLETE when the
 * server accepted the message (status: its last reply code, 250), else
 * HTTP_ERR_TRANSPORT (a refused STARTTLS, a TLS or AUTH failure, a
 * reply code in status such as 550) or HTTP_ERR_TIMEOUT; no body.
 * Returns NULL (cb never called) for invalid options: a URL that is not
 * smtp:// or smtps:// or holds userinfo, no sender or recipient, a
 * sender or recipient with CR, LF, '<' or '>', plain with smtps:// or a
 * username.  Plain or not, TLS is never optional: without plain it is
 * required (a server that does not offer STARTTLS gets nothing), with
 * plain it is not used, and a connection to an address that is not
 * loopback is refused (HTTP_ERR_REFUSED).
 */
struct http_handle *http_smtp_send(struct http_client *c,
                                   const struct http_smtp_opts *opts,
                                   http_done_cb cb, void *arg);

/*
 * Cancels a request in flight: its connection is dropped and its callback
 * is NOT called, then or ever.  h must be a live handle (not one whose
 * callback has started).  Cancelling another request from inside a
 * callback is fine.  http_cancel(NULL) is a no-op.
 */
void http_cancel(struct http_handle *h);

/* Requests in flight (accepted, callback not yet called). */
uint64_t http_client_pending(const struct http_client *c);

/*
 * The buffer budget.  Every request's body is held in memory until its
 * callback has returned, so a log that serves full-size bodies slowly to
 * many parallel requests would otherwise make the daemon hold
 * max_concurrency times max_response_bytes.  The client counts the bytes
 * allocated for the bodies of all its requests (from the first body byte
 * until the callback returns, the request is cancelled or its body is
 * refused) against one budget:
 *
 *   - One request at a time, the holder, may grow past the budget up to
 *     its own max_response_bytes: the first request that needs to pass the
 *     budget becomes the holder; when the holder is released, the oldest
 *     paused request becomes the next one.  So something always moves.
 *   - The others together stay within the budget: one whose body buffer
 *     would take them past it is paused (libcurl stops reading its socket,
 *     the server's TCP window closes) and resumed, oldest first, as others
 *     release theirs.  Plain bodies held stay <= budget + the largest
 *     max_response_bytes + 1, whatever the number of requests in flight
 *     (encoded ones: see below).
 *   - Buffers past HTTP_BUDGET_SMALL_BODY may fill only three quarters of
 *     the budget; the last quarter is for small bodies (checkpoints,
 *     tokens, webhook answers), so big bodies from one log do not stall
 *     another log's small ones.  A big body passes through the small sizes
 *     first, so this holds while max_total_connections times
 *     HTTP_BUDGET_SMALL_BODY stays under a quarter of the budget (32 x
 *     64 KiB = 2 MiB against 6 MiB by default).
 *   - Bodies grow geometrically up to max_response_bytes + 1 (or an
 *     announced Content-Length + 1), never past it: a 16 MiB cap never
 *     reserves 32 MiB.  Near the budget they grow in 16 KiB steps.  From
 *     128 KiB on a body is a mapping of its own (mremap() grows it without
 *     a copy, munmap() gives it back at once), so what the count says is
 *     what the process holds: on glibc's heap, freed big buffers stay and
 *     a slow log's half-filled ones fragment it (bench_http: 105 MiB peak
 *     RSS instead of 63 for the same 34 MiB held).
 *   - Timeouts: a paused request keeps its deadline.  timeout_ms (libcurl's
 *     CURLOPT_TIMEOUT_MS, armed when the transfer starts) counts the time
 *     spent paused, so a request stuck behind the budget ends with
 *     HTTP_ERR_TIMEOUT at its deadline like a stalled one, and its budget
 *     is released; a caller that starts many large requests at once must
 *     allow for the wait.  The transport sets no low-speed limit (libcurl
 *     would not count paused time against one anyway).
 *   - Not in the count: what libcurl holds for a paused request, at most
 *     the rest of one 16 KiB socket read for a plain body.  A body with a
 *     Content-Encoding is not paused in the middle of libcurl's pass over
 *     its socket (libcurl would keep all that the pass decodes to, up to
 *     64 MiB, outside any cap) but right after it, and such bodies are
 *     resumed one at a time: each may pass the budget by what one pass
 *     decoded (within its max_response_bytes).
 *
 * The default, 24 MiB, lets a 16 MiB follower response through next to
 * over a hundred ordinary ones (a Rekor v1 batch is about 64 KiB), so it
 * binds only against a hostile or very slow log; the transport then holds
 * at most 24 + 16 MiB of plain bodies whatever max_concurrency says, which
 * keeps the daemon under its 64 MiB target.
 */

/*
 * Sets c's buffer budget (0: HTTP_DEFAULT_BUFFER_BUDGET), effective at
 * once: a larger budget resumes paused requests that now fit; a smaller one
 * pauses requests as they next grow and never takes memory back.  Returns
 * -1, changing nothing, when c is NULL or bytes > HTTP_MAX_BUFFER_BUDGET.
 */
int http_client_set_buffer_budget(struct http_client *c, uint64_t bytes);

/* What the transport holds now and held at most; see the buffer budget. */
struct http_client_stats {
    uint64_t buffer_budget;  /* in force */
    uint64_t buffered_bytes; /* allocated for response bodies now */
    uint64_t buffered_peak;  /* the most allocated at once, ever */
    uint64_t paused;         /* requests paused on the budget now */
    uint64_t pauses;         /* times a request was paused, ever */
    uint64_t pending;        /* requests in flight (http_client_pending) */
};

/* Fills *st for c; all zero when c is NULL. */
void http_client_get_stats(const struct http_client *c,
                           struct http_client_stats *st);

/*
 * Helpers without I/O or shared state, for the transport itself, for its
 * fuzz target and for other modules.
 */

/*
 * 0 if the transport would send a request to url: https:// to any host,
 * or http:// to 127.0.0.0/8, [::1] or localhost; no userinfo; at most
 * HTTP_MAX_URL bytes.  -1 otherwise, with a reason in why (NUL-terminated,
 * cut to whycap; why may be NULL) that never quotes the URL.
 */
int http_url_check(const char *url, char *why, size_t whycap);

/*
 * Writes a loggable form of url into out (always NUL-terminated when
 * outcap > 0, cut to outcap - 1 bytes) and returns out: scheme://host[:port]
 * and the path, without userinfo, query or fragment; for hook URLs (a path
 * containing "/services/", as Slack's) everything after "/services/" is
 * dropped too.  Control and non-ASCII bytes become '?'.  Something that does
 * not look like scheme://authority gives "(unparsable url)".  This is
 * notify_redact_url_path(): one parser for both shown forms of a URL.
 */
char *http_redact_url(const char *url, char *out, size_t outcap);

/*
 * Splits one response header line (without or with its CRLF) into name and
 * value, both pointing into line (borrowed), the value trimmed of blanks.
 * Returns -1 for a status line, an empty or overlong (> HTTP_MAX_HEADER_LINE)
 * line, a missing colon, or a name that is not a token.
 */
int http_parse_header_line(const char *line, size_t len, const char **name,
                           size_t *namelen, const char **value,
                           size_t *valuelen);

/*
 * Parses a Retry-After value: delta-seconds, or an HTTP-date (IMF-fixdate,
 * RFC 850 or asctime form) taken relative to now (unix seconds).  The delay
 * is clamped to [0, HTTP_RETRY_AFTER_MAX].  Returns 0 with *seconds set, or
 * -1 for anything else (empty, signs, garbage, more than HTTP_MAX_DATE
 * bytes).
 */
int http_parse_retry_after(const char *value, size_t len, int64_t now,
                           uint64_t *seconds);

#endif
