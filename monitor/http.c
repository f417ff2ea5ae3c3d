/*
 * http.c: the HTTP transport, libcurl multi on the libevent loop, in the
 * manner of curl's docs/examples/hiperfifo.c: libcurl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION, one struct http_sock each,
 * attached with curl_multi_assign) and when to wake it (TIMERFUNCTION, one
 * evtimer per client); both feed curl_multi_socket_action(), and finished
 * transfers are reaped from curl_multi_info_read() (CURLMSG_DONE), where
 * each request's callback is called and its easy handle torn down.
 *
 * State and ownership:
 *   client -> multi handle, the timer, the list of sockets, the list of
 *             requests in flight (struct http_handle, each owning its easy
 *             handle, header list and captured response).
 *   A request lives in the client's list from http_request() until its
 *   callback starts (then it is unlinked and freed when the callback
 *   returns) or until http_cancel().  A request refused before curl sees it
 *   never gets an easy handle: a zero-delay event calls its callback.
 *
 * Re-entrancy: callbacks run only from process_done() or a deferred event,
 * never with libcurl on the stack, so they may start and cancel requests.
 * The client counts running callbacks (dispatching); http_client_free()
 * inside one marks the client closing and the outermost dispatcher
 * releases it.  After process_done() the event callbacks touch nothing.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "monitor/http.h"
#include "monitor/log.h"

#define HTTP_USER_AGENT "tlogwatch/" TLOGWATCH_VERSION
#define HTTP_DEFAULT_MAX_TOTAL 32
#define HTTP_DEFAULT_MAX_HOST 8
#define HTTP_MAX_CONNECTIONS 1024 /* upper bound for either option */
#define HTTP_MAX_TIMEOUT_MS (24ull * 3600 * 1000)
#define HTTP_BODY_INITIAL (16u * 1024)
#define HTTP_WHY_LEN 128

/* One socket libcurl asked us to watch. */
struct http_sock {
    struct http_client *client; /* borrowed back-pointer */
    struct event *ev;           /* owned */
    curl_socket_t fd;           /* owned by libcurl */
    struct http_sock *prev, *next;
};

/* One request in flight. */
struct http_handle {
    struct http_client *client; /* borrowed back-pointer */
    CURL *easy;                 /* owned; NULL for a refused request */
    struct curl_slist *hdrs;    /* owned */
    struct event *defer;        /* owned; fires a refused request */
    http_done_cb cb;
    void *arg;
    enum http_method method;
    int https_only; /* the first URL is https: no plain HTTP at all */
    int refused;    /* the rules stopped it (why says which) */
    int too_large;  /* the body passed cap */
    int nomem;      /* the body could not grow */
    char why[HTTP_WHY_LEN];
    char errbuf[CURL_ERROR_SIZE];
    size_t cap;      /* max_response_bytes */
    char *body;      /* owned, body_len bytes + NUL */
    size_t body_len; /* bytes received */
    size_t body_alloc;
    /* Captured headers of the latest response, owned, cleaned. */
    char *content_type;
    char *location;
    char *www_authenticate;
    char *retry_after;
    char *date;
    struct http_handle *prev, *next;
};

struct http_client {
    struct event_base *base;  /* borrowed */
    CURLM *multi;             /* owned */
    struct event *timer;      /* owned: libcurl's one timer */
    struct http_handle *reqs; /* owned: requests in flight */
    struct http_sock *socks;  /* owned: watched sockets */
    uint64_t npending;
    char *ca_file;    /* owned */
    char *user_agent; /* owned */
    int dispatching;  /* callbacks running now */
    int closing;      /* http_client_free() was called */
};

static void process_done(struct http_client *c);
static void client_release(struct http_client *c);

int
http_global_init(void)
{
    struct sigaction sa;

    /*
     * With CURLOPT_NOSIGNAL libcurl leaves SIGPIPE to the application, and
     * a write to a peer that closed (OpenSSL, evhttp) must not kill us.
     */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGPIPE, &sa, NULL) != 0) {
        return -1;
    }
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
http_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *
http_result_str(enum http_result r)
{
    switch (r) {
    case HTTP_COMPLETE:
        return "complete";
    case HTTP_ERR_TRANSPORT:
        return "transport error";
    case HTTP_ERR_TIMEOUT:
        return "timeout";
    case HTTP_ERR_TOO_LARGE:
        return "response too large";
    case HTTP_ERR_REFUSED:
        return "refused";
    case HTTP_ERR_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

static void
set_why(char *why, size_t whycap, const char *msg)
{
    if (why != NULL && whycap > 0) {
        snprintf(why, whycap, "%s", msg);
    }
}

/* ---- pure helpers ---- */

static int
is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9')) {
        return 1;
    }
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int
is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

int
http_parse_header_line(const char *line, size_t len, const char **name,
                       size_t *namelen, const char **value, size_t *valuelen)
{
    const char *colon, *v, *end;
    size_t i;

    if (line == NULL || len == 0 || len > HTTP_MAX_HEADER_LINE) {
        return -1;
    }
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    if (len == 0 || (len >= 5 && memcmp(line, "HTTP/", 5) == 0)) {
        return -1;
    }
    colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) {
        return -1;
    }
    for (i = 0; i < (size_t)(colon - line); i++) {
        if (!is_tchar((unsigned char)line[i])) {
            return -1;
        }
    }
    v = colon + 1;
    end = line + len;
    while (v < end && is_blank(*v)) {
        v++;
    }
    while (end > v && is_blank(end[-1])) {
        end--;
    }
    *name = line;
    *namelen = (size_t)(colon - line);
    *value = v;
    *valuelen = (size_t)(end - v);
    return 0;
}

int
http_parse_retry_after(const char *value, size_t len, int64_t now,
                       uint64_t *seconds)
{
    char buf[HTTP_MAX_DATE + 1];
    uint64_t n = 0;
    time_t t;
    size_t i;

    if (value == NULL) {
        return -1;
    }
    while (len > 0 && is_blank(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && is_blank(value[len - 1])) {
        len--;
    }
    if (len == 0 || len > HTTP_MAX_DATE) {
        return -1;
    }
    if (value[0] >= '0' && value[0] <= '9') {
        /* delta-seconds: digits only, saturating */
        for (i = 0; i < len; i++) {
            if (value[i] < '0' || value[i] > '9') {
                return -1;
            }
            n = n * 10 + (uint64_t)(value[i] - '0');
            if (n > HTTP_RETRY_AFTER_MAX) {
                n = HTTP_RETRY_AFTER_MAX;
            }
        }
        *seconds = n;
        return 0;
    }
    /* HTTP-date: every form starts with a day name. */
    if (!((value[0] >= 'A' && value[0] <= 'Z') ||
          (value[0] >= 'a' && value[0] <= 'z'))) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e) {
            return -1;
        }
    }
    memcpy(buf, value, len);
    buf[len] = '\0';
    t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) {
        return -1;
    }
    if ((int64_t)t <= now) {
        *seconds = 0;
    } else if ((uint64_t)t - (uint64_t)now > HTTP_RETRY_AFTER_MAX) {
        *seconds = HTTP_RETRY_AFTER_MAX;
    } else {
        *seconds = (uint64_t)t - (uint64_t)now;
    }
    return 0;
}

/* host as curl's URL parser returns it: "[::1]" for IPv6 literals. */
static int
host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char tmp[INET6_ADDRSTRLEN + 2];
    size_t n;

    if (strcasecmp(host, "localhost") == 0) {
        return 1;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    n = strlen(host);
    if (n >= 2 && n - 2 < sizeof(tmp) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) == 1) {
            return IN6_IS_ADDR_LOOPBACK(&a6);
        }
    }
    return 0;
}

static int
sockaddr_is_loopback(const struct sockaddr *sa, socklen_t len)
{
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
    return 0;
}

int
http_url_check(const char *url, char *why, size_t whycap)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL;
    size_t n, i;
    int rc = -1;

    if (url == NULL) {
        set_why(why, whycap, "no URL");
        return -1;
    }
    n = strnlen(url, HTTP_MAX_URL + 1);
    if (n > HTTP_MAX_URL) {
        set_why(why, whycap, "URL too long");
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            set_why(why, whycap, "URL holds blanks, control or non-ASCII");
            return -1;
        }
    }
    if ((u = curl_url()) == NULL) {
        set_why(why, whycap, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        set_why(why, whycap, "URL does not parse");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        set_why(why, whycap, "URL carries userinfo");
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcmp(scheme, "http") != 0) {
        set_why(why, whycap, "scheme is neither https nor http");
    } else if (!host_is_loopback(host)) {
        set_why(why, whycap, "plain http:// is allowed to loopback only");
    } else {
        rc = 0;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

/* Appends s[0..len) to out at *pos, cleaned; keeps room for the NUL. */
static void
put_clean(char *out, size_t outcap, size_t *pos, const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && *pos + 1 < outcap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[(*pos)++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[*pos] = '\0';
}

char *
http_redact_url(const char *url, char *out, size_t outcap)
{
    static const char bad[] = "(unparsable url)";
    static const char hook[] = "/services/";
    const char *sep, *auth, *end, *host, *at, *path, *pend, *svc;
    size_t pos = 0, i;

    if (out == NULL || outcap == 0) {
        return out;
    }
    out[0] = '\0';
    sep = url == NULL ? NULL : strstr(url, "://");
    if (sep == NULL || sep == url || sep - url > 16) {
        snprintf(out, outcap, "%s", bad);
        return out;
    }
    for (i = 0; i < (size_t)(sep - url); i++) {
        char ch = url[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (i > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' ||
                         ch == '.')))) {
            snprintf(out, outcap, "%s", bad);
            return out;
        }
    }
    auth = sep + 3;
    end = auth + strcspn(auth, "/?#");
    host = auth;
    for (at = auth; at < end; at++) {
        if (*at == '@') {
            host = at + 1; /* the last '@' ends the userinfo */
        }
    }
    if (host == end) {
        snprintf(out, outcap, "%s", bad);
        return out;
    }
    path = end;
    pend = path + (*path == '/' ? strcspn(path, "?#") : 0);
    for (svc = path; svc + sizeof(hook) - 1 <= pend; svc++) {
        if (memcmp(svc, hook, sizeof(hook) - 1) == 0) {
            pend = svc + sizeof(hook) - 1;
            break;
        }
    }
    put_clean(out, outcap, &pos, url, (size_t)(sep - url) + 3);
    put_clean(out, outcap, &pos, host, (size_t)(end - host));
    put_clean(out, outcap, &pos, path, (size_t)(pend - path));
    return out;
}

/* ---- the event loop wiring ---- */

static void
sock_unlink_free(struct http_client *c, struct http_sock *s)
{
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        c->socks = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    if (s->ev != NULL) {
        event_free(s->ev);
    }
    free(s);
}

static void
client_maybe_release(struct http_client *c)
{
    if (c->closing && c->dispatching == 0) {
        client_release(c);
    }
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
    struct http_sock *s = arg;
    struct http_client *c = s->client;
    int flags = 0, running;
    CURLMcode mc;

    if (what & EV_READ) {
        flags |= CURL_CSELECT_IN;
    }
    if (what & EV_WRITE) {
        flags |= CURL_CSELECT_OUT;
    }
    /* s may be freed inside (CURL_POLL_REMOVE): use only c from here. */
    mc = curl_multi_socket_action(c->multi, fd, flags, &running);
    if (mc != CURLM_OK) {
        log_warnx("http: curl_multi_socket_action: %s",
                  curl_multi_strerror(mc));
    }
    process_done(c);
    client_maybe_release(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_client *c = arg;
    int running;
    CURLMcode mc;

    (void)fd;
    (void)what;
    mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (mc != CURLM_OK) {
        log_warnx("http: curl_multi_socket_action: %s",
                  curl_multi_strerror(mc));
    }
    process_done(c);
    client_maybe_release(c);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what, or stop watching it. */
static int
socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct http_client *c = userp;
    struct http_sock *s = sockp;
    short kind = EV_PERSIST;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            sock_unlink_free(c, s);
        }
        return 0;
    }
    if (what & CURL_POLL_IN) {
        kind |= EV_READ;
    }
    if (what & CURL_POLL_OUT) {
        kind |= EV_WRITE;
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            return -1;
        }
        s->client = c;
        s->fd = fd;
        s->next = c->socks;
        if (c->socks != NULL) {
            c->socks->prev = s;
        }
        c->socks = s;
        if (curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
            sock_unlink_free(c, s);
            return -1;
        }
    }
    if (s->ev == NULL) {
        s->ev = event_new(c->base, fd, kind, on_socket, s);
        if (s->ev == NULL) {
            return -1;
        }
    } else {
        if (event_del(s->ev) != 0 ||
            event_assign(s->ev, c->base, fd, kind, on_socket, s) != 0) {
            return -1;
        }
    }
    return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: wake libcurl after timeout_ms, or never. */
static int
timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
    struct http_client *c = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        return event_del(c->timer) == 0 ? 0 : -1;
    }
    /* 0 means "now": from the loop, never from inside libcurl. */
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

struct http_client *
http_client_new(struct event_base *base, const struct http_client_opts *opts)
{
    struct http_client *c;
    uint64_t total = HTTP_DEFAULT_MAX_TOTAL, host = HTTP_DEFAULT_MAX_HOST;
    const char *ua = HTTP_USER_AGENT;

    if (base == NULL) {
        return NULL;
    }
    if (opts != NULL) {
        if (opts->max_total_connections > HTTP_MAX_CONNECTIONS ||
            opts->max_host_connections > HTTP_MAX_CONNECTIONS) {
            return NULL;
        }
        if (opts->max_total_connections != 0) {
            total = opts->max_total_connections;
        }
        if (opts->max_host_connections != 0) {
            host = opts->max_host_connections;
        }
        if (opts->user_agent != NULL) {
            ua = opts->user_agent;
            if (strpbrk(ua, "\r\n") != NULL) {
                return NULL; /* header injection */
            }
        }
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        return NULL;
    }
    c->base = base;
    if ((c->user_agent = strdup(ua)) == NULL) {
        goto err;
    }
    if (opts != NULL && opts->ca_file != NULL &&
        (c->ca_file = strdup(opts->ca_file)) == NULL) {
        goto err;
    }
    if ((c->timer = evtimer_new(base, on_timer, c)) == NULL) {
        goto err;
    }
    if ((c->multi = curl_multi_init()) == NULL) {
        goto err;
    }
    if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_fn) ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_fn) ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) ||
        curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                          (long)total) ||
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)host) ||
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)total) ||
        curl_multi_setopt(c->multi, CURLMOPT_PIPELINING,
                          (long)CURLPIPE_NOTHING)) {
        goto err;
    }
    return c;
err:
    client_release(c);
    return NULL;
}

/* ---- requests ---- */

static void
handle_free(struct http_handle *h)
{
    if (h == NULL) {
        return;
    }
    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
    }
    curl_slist_free_all(h->hdrs);
    if (h->defer != NULL) {
        event_free(h->defer);
    }
    free(h->body);
    free(h->content_type);
    free(h->location);
    free(h->www_authenticate);
    free(h->retry_after);
    free(h->date);
    free(h);
}

static void
handle_link(struct http_client *c, struct http_handle *h)
{
    h->prev = NULL;
    h->next = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->prev = h;
    }
    c->reqs = h;
    c->npending++;
}

/* Out of the client's list and out of the multi handle. */
static void
handle_unlink(struct http_handle *h)
{
    struct http_client *c = h->client;
    CURLMcode mc;

    if (h->prev != NULL) {
        h->prev->next = h->next;
    } else {
        c->reqs = h->next;
    }
    if (h->next != NULL) {
        h->next->prev = h->prev;
    }
    h->prev = h->next = NULL;
    c->npending--;
    if (h->easy != NULL) {
        mc = curl_multi_remove_handle(c->multi, h->easy);
        if (mc != CURLM_OK) {
            log_warnx("http: curl_multi_remove_handle: %s",
                      curl_multi_strerror(mc));
        }
    }
}

/* Calls h's callback with resp, then frees h.  h is already unlinked. */
static void
handle_deliver(struct http_handle *h, const struct http_response *resp)
{
    struct http_client *c = h->client;

    c->dispatching++;
    h->cb(resp, h->arg);
    c->dispatching--;
    handle_free(h);
}

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct http_handle *h = arg;
    struct http_client *c = h->client;
    struct http_response r;

    (void)fd;
    (void)what;
    memset(&r, 0, sizeof(r));
    r.result = HTTP_ERR_REFUSED;
    r.error = h->why;
    handle_unlink(h);
    handle_deliver(h, &r);
    client_maybe_release(c);
}

/* Copies a header value, cleaned of control bytes, cut to the limit. */
static char *
capture(const char *v, size_t len)
{
    char *s;
    size_t i;

    if (len > HTTP_MAX_CAPTURED_HEADER) {
        len = HTTP_MAX_CAPTURED_HEADER;
    }
    if ((s = malloc(len + 1)) == NULL) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        s[i] = (ch >= 0x20 && ch < 0x7f) || ch == '\t' ? (char)ch : '?';
    }
    s[len] = '\0';
    return s;
}

static int
name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* CURLOPT_HEADERFUNCTION: keeps the headers the callers need. */
static size_t
header_cb(char *buf, size_t size, size_t n, void *userp)
{
    struct http_handle *h = userp;
    size_t len = size * n;
    const char *name, *value;
    size_t nlen, vlen;
    char **slot = NULL;

    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* a new response (redirect, 1xx): forget the previous one's */
        free(h->content_type);
        free(h->location);
        free(h->www_authenticate);
        free(h->retry_after);
        free(h->date);
        h->content_type = h->location = h->www_authenticate = NULL;
        h->retry_after = h->date = NULL;
        return len;
    }
    if (http_parse_header_line(buf, len, &name, &nlen, &value, &vlen) != 0) {
        return len;
    }
    if (name_is(name, nlen, "Content-Type")) {
        slot = &h->content_type;
    } else if (name_is(name, nlen, "Location")) {
        slot = &h->location;
    } else if (name_is(name, nlen, "WWW-Authenticate")) {
        slot = &h->www_authenticate;
    } else if (name_is(name, nlen, "Retry-After")) {
        slot = &h->retry_after;
    } else if (name_is(name, nlen, "Date")) {
        slot = &h->date;
    }
    if (slot != NULL && *slot == NULL) {
        *slot = capture(value, vlen); /* NULL on ENOMEM: header dropped */
    }
    return len;
}

/* CURLOPT_WRITEFUNCTION: the decoded body, up to the cap. */
static size_t
write_cb(char *buf, size_t size, size_t n, void *userp)
{
    struct http_handle *h = userp;
    size_t len = size * n, want, alloc;
    char *p;

    if (len > h->cap - h->body_len) {
        h->too_large = 1;
        return 0; /* any short count aborts the transfer */
    }
    want = h->body_len + len + 1;
    if (want > h->body_alloc) {
        alloc = h->body_alloc < HTTP_BODY_INITIAL ? HTTP_BODY_INITIAL
                                                  : h->body_alloc;
        while (alloc < want) {
            alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
        }
        if (alloc > h->cap + 1) {
            alloc = h->cap + 1;
        }
        if ((p = realloc(h->body, alloc)) == NULL) {
            h->nomem = 1;
            return 0;
        }
        h->body = p;
        h->body_alloc = alloc;
    }
    memcpy(h->body + h->body_len, buf, len);
    h->body_len += len;
    h->body[h->body_len] = '\0';
    return len;
}

/* Is the URL libcurl is working on now plain http://? */
static int
current_is_plain(struct http_handle *h, const char **url)
{
    char *u = NULL;

    if (curl_easy_getinfo(h->easy, CURLINFO_EFFECTIVE_URL, &u) != CURLE_OK ||
        u == NULL) {
        *url = NULL;
        return 1; /* unknown: treat as plain, fail closed */
    }
    *url = u;
    return strncasecmp(u, "https://", 8) != 0;
}

/*
 * CURLOPT_RESOLVER_START_FUNCTION: a plain-HTTP redirect to a name other
 * than localhost stops here, before any DNS query.
 */
static int
resolver_start_cb(void *resolver_state, void *reserved, void *userp)
{
    struct http_handle *h = userp;
    const char *url;

    (void)resolver_state;
    (void)reserved;
    if (h->https_only || !current_is_plain(h, &url)) {
        return 0;
    }
    if (url != NULL && http_url_check(url, NULL, 0) == 0) {
        return 0;
    }
    h->refused = 1;
    set_why(h->why, sizeof(h->why),
            "redirect to plain http:// off loopback refused");
    return 1;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: the last check, on the address itself; a
 * plain-HTTP connection opens only to a loopback address.  Sockets are
 * close-on-exec, so exec hooks inherit none.
 */
static curl_socket_t
open_socket_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct http_handle *h = userp;
    const char *url;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }
    if (!h->https_only &&
        !sockaddr_is_loopback(&a->addr, (socklen_t)a->addrlen) &&
        current_is_plain(h, &url)) {
        h->refused = 1;
        set_why(h->why, sizeof(h->why),
                "plain http:// connection off loopback refused");
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int
header_valid(const struct http_header *hd)
{
    size_t i, nlen, vlen;

    if (hd->name == NULL || hd->value == NULL) {
        return 0;
    }
    nlen = strnlen(hd->name, HTTP_MAX_HEADER_LINE);
    vlen = strnlen(hd->value, HTTP_MAX_HEADER_LINE);
    if (nlen == 0 || nlen + vlen + 2 > HTTP_MAX_HEADER_LINE) {
        return 0;
    }
    for (i = 0; i < nlen; i++) {
        if (!is_tchar((unsigned char)hd->name[i])) {
            return 0;
        }
    }
    for (i = 0; i < vlen; i++) {
        if (hd->value[i] == '\r' || hd->value[i] == '\n') {
            return 0;
        }
    }
    return 1;
}

static int
opts_valid(const struct http_request_opts *o)
{
    size_t i;

    if (o->url == NULL || (unsigned)o->method > HTTP_PUT ||
        o->body_len > HTTP_MAX_REQUEST_BODY ||
        (o->body == NULL && o->body_len > 0) ||
        o->nheaders > HTTP_MAX_HEADERS ||
        (o->headers == NULL && o->nheaders > 0) ||
        o->max_response_bytes > HTTP_MAX_RESPONSE_CAP ||
        o->max_redirects > HTTP_MAX_REDIRECTS ||
        o->connect_timeout_ms > HTTP_MAX_TIMEOUT_MS ||
        o->timeout_ms > HTTP_MAX_TIMEOUT_MS) {
        return 0;
    }
    if (o->content_type != NULL) {
        struct http_header ct = {"Content-Type", o->content_type};
        if (!header_valid(&ct)) {
            return 0;
        }
    }
    for (i = 0; i < o->nheaders; i++) {
        if (!header_valid(&o->headers[i])) {
            return 0;
        }
    }
    return 1;
}

/* Appends "name: value" to h->hdrs. */
static int
add_header(struct http_handle *h, const char *name, const char *value)
{
    char line[HTTP_MAX_HEADER_LINE + 1];
    struct curl_slist *l;
    int n;

    n = snprintf(line, sizeof(line), "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return -1;
    }
    if ((l = curl_slist_append(h->hdrs, line)) == NULL) {
        return -1;
    }
    h->hdrs = l;
    return 0;
}

static int
easy_setup(struct http_client *c, struct http_handle *h,
           const struct http_request_opts *o)
{
    CURL *e = h->easy;
    const char *protos = h->https_only ? "https" : "http,https";
    uint64_t cto = o->connect_timeout_ms ? o->connect_timeout_ms
                                         : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    uint64_t to = o->timeout_ms ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    uint64_t redirs =
        o->max_redirects ? o->max_redirects : HTTP_DEFAULT_MAX_REDIRECTS;
    size_t i;

    for (i = 0; i < o->nheaders; i++) {
        if (add_header(h, o->headers[i].name, o->headers[i].value) != 0) {
            return -1;
        }
    }
    if (o->content_type != NULL &&
        add_header(h, "Content-Type", o->content_type) != 0) {
        return -1;
    }
    /* No "Expect: 100-continue" round trip before a body. */
    if ((h->hdrs = curl_slist_append(h->hdrs, "Expect:")) == NULL) {
        return -1;
    }
    if (curl_easy_setopt(e, CURLOPT_URL, o->url) ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf) ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protos) ||
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protos) ||
        curl_easy_setopt(e, CURLOPT_PROXY, "") ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) ||
        curl_easy_setopt(e, CURLOPT_SSLVERSION,
                         (long)CURL_SSLVERSION_TLSv1_2) ||
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_1_1) ||
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent) ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs) ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cto) ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)to) ||
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->cap) ||
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
                         o->follow_redirects ? 1L : 0L) ||
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)redirs) ||
        curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L) ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb) ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_RESOLVER_START_FUNCTION,
                         resolver_start_cb) ||
        curl_easy_setopt(e, CURLOPT_RESOLVER_START_DATA, (void *)h)) {
        return -1;
    }
    if (c->ca_file != NULL && curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file)) {
        return -1;
    }
    switch (o->method) {
    case HTTP_GET:
        return 0;
    case HTTP_HEAD:
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) ? -1 : 0;
    case HTTP_PUT:
        if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT")) {
            return -1;
        }
        break;
    case HTTP_POST:
        break;
    }
    /* POST and PUT: the body is copied into the easy handle. */
    if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)o->body_len) ||
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
                         o->body_len ? (const char *)o->body : "")) {
        return -1;
    }
    return 0;
}

static const char *
method_str(enum http_method m)
{
    switch (m) {
    case HTTP_GET:
        return "GET";
    case HTTP_HEAD:
        return "HEAD";
    case HTTP_POST:
        return "POST";
    case HTTP_PUT:
        return "PUT";
    }
    return "?";
}

struct http_handle *
http_request(struct http_client *c, const struct http_request_opts *opts,
             http_done_cb cb, void *arg)
{
    struct http_handle *h;
    char red[256];

    if (c == NULL || opts == NULL || cb == NULL || c->closing ||
        !opts_valid(opts)) {
        return NULL;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        return NULL;
    }
    h->client = c;
    h->cb = cb;
    h->arg = arg;
    h->method = opts->method;
    h->cap = opts->max_response_bytes ? (size_t)opts->max_response_bytes
                                      : HTTP_DEFAULT_RESPONSE_CAP;
    if (http_url_check(opts->url, h->why, sizeof(h->why)) != 0) {
        /* Refused before libcurl sees it: no lookup, no connection. */
        log_debug("http: %s %s refused: %s", method_str(opts->method),
                  http_redact_url(opts->url, red, sizeof(red)), h->why);
        if ((h->defer = evtimer_new(c->base, on_defer, h)) == NULL) {
            goto err;
        }
        event_active(h->defer, EV_TIMEOUT, 1);
        handle_link(c, h);
        return h;
    }
    h->https_only = strncasecmp(opts->url, "https://", 8) == 0;
    if ((h->easy = curl_easy_init()) == NULL || easy_setup(c, h, opts) != 0) {
        goto err;
    }
    if (curl_multi_add_handle(c->multi, h->easy) != CURLM_OK) {
        goto err;
    }
    handle_link(c, h);
    return h;
err:
    handle_free(h);
    return NULL;
}

void
http_cancel(struct http_handle *h)
{
    if (h == NULL) {
        return;
    }
    handle_unlink(h);
    handle_free(h);
}

uint64_t
http_client_pending(const struct http_client *c)
{
    return c == NULL ? 0 : c->npending;
}

/* The response for a finished transfer; pointers borrow from h. */
static void
make_response(struct http_handle *h, CURLcode rc, struct http_response *r,
              char *err, size_t errcap)
{
    long status = 0, nredir = 0;
    curl_off_t tt = 0;
    char *redir = NULL;
    int64_t now;

    memset(r, 0, sizeof(*r));
    if (curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK &&
        status > 0 && status < 1000) {
        r->status = (int)status;
    }
    if (curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &tt) == CURLE_OK &&
        tt > 0) {
        r->total_time_us = (uint64_t)tt;
    }
    if (curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_COUNT, &nredir) ==
            CURLE_OK &&
        nredir > 0) {
        r->redirects = (uint64_t)nredir;
    }
    if (curl_easy_getinfo(h->easy, CURLINFO_REDIRECT_URL, &redir) == CURLE_OK) {
        r->redirect_url = redir;
    }
    r->content_type = h->content_type;
    r->location = h->location;
    r->www_authenticate = h->www_authenticate;
    if (h->retry_after != NULL) {
        /* HTTP-dates against the server's clock, so skew does not count */
        time_t d = h->date != NULL ? curl_getdate(h->date, NULL) : -1;
        now = d != (time_t)-1 ? (int64_t)d : (int64_t)time(NULL);
        r->has_retry_after =
            http_parse_retry_after(h->retry_after, strlen(h->retry_after), now,
                                   &r->retry_after_s) == 0;
    }

    if (h->refused) {
        r->result = HTTP_ERR_REFUSED;
        r->error = h->why;
    } else if (rc == CURLE_OK) {
        r->result = HTTP_COMPLETE;
        r->body = h->body != NULL ? h->body : "";
        r->body_len = h->body_len;
    } else if (rc == CURLE_FILESIZE_EXCEEDED ||
               (rc == CURLE_WRITE_ERROR && h->too_large)) {
        r->result = HTTP_ERR_TOO_LARGE;
        snprintf(err, errcap, "response body larger than %zu bytes", h->cap);
        r->error = err;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->result = HTTP_ERR_TIMEOUT;
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
        /* the first URL passed the check: a redirect broke the rules */
        r->result = HTTP_ERR_REFUSED;
        snprintf(err, errcap, "redirect to a forbidden scheme refused");
        r->error = err;
    } else if (rc == CURLE_WRITE_ERROR && h->nomem) {
        r->result = HTTP_ERR_TRANSPORT;
        snprintf(err, errcap, "out of memory for the response body");
        r->error = err;
    } else {
        r->result = HTTP_ERR_TRANSPORT;
    }
    if (r->result != HTTP_COMPLETE && r->error == NULL) {
        const char *m = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
        log_clean(m, strlen(m), err, errcap);
        r->error = err;
    }
}

/* Reaps finished transfers and calls their callbacks. */
static void
process_done(struct http_client *c)
{
    struct http_response r;
    struct http_handle *h;
    CURLMsg *m;
    char *priv;
    char err[CURL_ERROR_SIZE + 64], red[256];
    char *url;
    int left;

    while (!c->closing && (m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        priv = NULL;
        if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv) !=
                CURLE_OK ||
            priv == NULL) {
            continue;
        }
        h = (struct http_handle *)(void *)priv;
        make_response(h, m->data.result, &r, err, sizeof(err));
        url = NULL;
        if (curl_easy_getinfo(h->easy, CURLINFO_EFFECTIVE_URL, &url) !=
            CURLE_OK) {
            url = NULL;
        }
        log_debug("http: %s %s: %s, status %d, %zu bytes, %llu us",
                  method_str(h->method), http_redact_url(url, red, sizeof(red)),
                  r.error != NULL ? r.error : http_result_str(r.result),
                  r.status, r.body_len, (unsigned long long)r.total_time_us);
        /* m is dead after this */
        handle_unlink(h);
        handle_deliver(h, &r);
    }
}

/* Cancels what is in flight, calling each callback once. */
static void
cancel_all(struct http_client *c)
{
    struct http_response r;
    struct http_handle *h;

    memset(&r, 0, sizeof(r));
    r.result = HTTP_ERR_CANCELLED;
    r.error = "client freed";
    while ((h = c->reqs) != NULL) {
        handle_unlink(h);
        handle_deliver(h, &r);
    }
}

static void
client_release(struct http_client *c)
{
    CURLMcode mc;

    if (c->multi != NULL) {
        mc = curl_multi_cleanup(c->multi);
        if (mc != CURLM_OK) {
            log_warnx("http: curl_multi_cleanup: %s", curl_multi_strerror(mc));
        }
    }
    while (c->socks != NULL) {
        sock_unlink_free(c, c->socks);
    }
    if (c->timer != NULL) {
        event_free(c->timer);
    }
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL || c->closing) {
        return;
    }
    c->closing = 1;
    cancel_all(c);
    client_maybe_release(c);
}
