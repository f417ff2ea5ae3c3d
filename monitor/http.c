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
 *
 * The buffer budget (see http.h): client->buffered is the sum of
 * body_alloc over the requests that still hold a body, linked or being
 * delivered; it changes only in body_grow(), body_drop() and
 * budget_release().  Invariant: the requests other than the holder hold
 * at most the budget (budget_fits() is asked before each of them grows;
 * when the holder changes, the new one leaves that sum and the old one's
 * bytes are gone), so everything held is <= budget + the holder's cap + 1.
 * A plain body is paused inside write_cb before it passes, by returning
 * CURL_WRITEFUNC_PAUSE (libcurl keeps that chunk and hands it over again
 * on resume); an encoded one by budget_settle() calling curl_easy_pause()
 * after libcurl's pass over its socket (see http.h for why).  Whenever a
 * request is paused a holder exists and is not paused on the budget, so
 * something always moves; budget_settle() runs where no callback and no libcurl
 * call is on the stack (after each socket action, after a deferred delivery, in
 * http_cancel() and the budget setter) and resumes paused requests oldest
 * first: the holder, then those whose next step fits.
 */
#define _GNU_SOURCE /* mremap(2): a body mapping grows without a copy */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "monitor/http.h"
#include "monitor/log.h"
#include "notify/redact.h"

#define HTTP_USER_AGENT "tlogwatch/" TLOGWATCH_VERSION
#define HTTP_DEFAULT_MAX_TOTAL 32
#define HTTP_DEFAULT_MAX_HOST 8
#define HTTP_MAX_CONNECTIONS 1024 /* upper bound for either option */
#define HTTP_MAX_TIMEOUT_MS (24ull * 3600 * 1000)
#define HTTP_BODY_INITIAL (16u * 1024)
#define HTTP_BODY_MAP_MIN (128u * 1024) /* bodies this big get a mapping */
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
    int url_secret; /* log the URL as scheme://host/... only */
    int refused;    /* the rules stopped it (why says which) */
    int too_large;  /* the body passed cap */
    int nomem;      /* the body could not grow */
    char why[HTTP_WHY_LEN];
    char errbuf[CURL_ERROR_SIZE];
    size_t cap;        /* max_response_bytes */
    char *body;        /* owned, body_len bytes + NUL */
    size_t body_len;   /* bytes received */
    size_t body_alloc; /* counted in client->buffered */
    int body_mapped;   /* body is an mmap(2) of map_len(body_alloc) */
    int encoded;       /* the latest response has a Content-Encoding */
    int paused;        /* receiving paused on the budget */
    int pause_wanted;  /* encoded and over the budget: pause between reads */
    size_t need;       /* while paused: more bytes its next step takes */
    char *upload;      /* owned: an SMTP message (http_smtp_send) */
    size_t upload_len, upload_off;
    /* Captured headers of the latest response, owned, cleaned. */
    char *content_type;
    char *location;
    char *www_authenticate;
    char *retry_after;
    char *date;
    char *link;         /* RFC 8288 Link: GitHub's pagination */
    char *rl_remaining; /* x-ratelimit-remaining: GitHub's rate limit */
    char *rl_reset;     /* x-ratelimit-reset: unix seconds */
    struct http_handle *prev, *next;
};

struct http_client {
    struct event_base *base;       /* borrowed */
    CURLM *multi;                  /* owned */
    struct event *timer;           /* owned: libcurl's one timer */
    struct http_handle *reqs;      /* owned: requests in flight, newest first */
    struct http_handle *reqs_tail; /* the oldest of reqs */
    struct http_sock *socks;       /* owned: watched sockets */
    uint64_t npending;
    /* the buffer budget */
    uint64_t budget;
    uint64_t buffered;          /* sum of body_alloc of requests holding one */
    uint64_t buffered_peak;     /* the most buffered ever was */
    uint64_t npaused;           /* requests with paused set */
    uint64_t pauses;            /* times a request was paused */
    uint64_t npause_wanted;     /* requests with pause_wanted set */
    struct http_handle *holder; /* borrowed: may pass the budget */
    int resume_needed;          /* budget freed since the last settle */
    char *ca_file;              /* owned */
    char *user_agent;           /* owned */
    int dispatching;            /* callbacks running now */
    int closing;                /* http_client_free() was called */
};

static void process_done(struct http_client *c);
static void client_release(struct http_client *c);
static void budget_settle(struct http_client *c);

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

char *
http_redact_url(const char *url, char *out, size_t outcap)
{
    return notify_redact_url_path(url, out, outcap);
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
    budget_settle(c);
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
    budget_settle(c);
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
    uint64_t budget = HTTP_DEFAULT_BUFFER_BUDGET;
    const char *ua = HTTP_USER_AGENT;

    if (base == NULL) {
        return NULL;
    }
    if (opts != NULL) {
        if (opts->max_total_connections > HTTP_MAX_CONNECTIONS ||
            opts->max_host_connections > HTTP_MAX_CONNECTIONS ||
            opts->buffer_budget > HTTP_MAX_BUFFER_BUDGET) {
            return NULL;
        }
        if (opts->buffer_budget != 0) {
            budget = opts->buffer_budget;
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
    c->budget = budget;
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

/* n rounded up to whole pages. */
static size_t
map_len(size_t n)
{
    long ps = sysconf(_SC_PAGESIZE);
    size_t p = ps > 0 ? (size_t)ps : 4096;

    return (n + p - 1) / p * p;
}

/* Frees h's body (it is delivered or never will be) and its budget. */
static void
body_drop(struct http_handle *h)
{
    struct http_client *c = h->client;

    if (h->body_alloc > 0) {
        c->resume_needed = 1;
    }
    if (h->body_mapped) {
        munmap(h->body, map_len(h->body_alloc));
    } else {
        free(h->body);
    }
    c->buffered -= h->body_alloc;
    h->body_alloc = 0;
    h->body_mapped = 0;
    h->body = NULL;
    h->body_len = 0;
}

/*
 * Gives back what h holds of the budget: its body, its pause, the
 * holder's place.
 */
static void
budget_release(struct http_handle *h)
{
    struct http_client *c = h->client;

    if (c->holder == h) {
        c->resume_needed = 1;
    }
    body_drop(h);
    if (h->paused) {
        h->paused = 0;
        c->npaused--;
    }
    if (h->pause_wanted) {
        h->pause_wanted = 0;
        c->npause_wanted--;
    }
    if (c->holder == h) {
        c->holder = NULL;
    }
}

static void
handle_free(struct http_handle *h)
{
    if (h == NULL) {
        return;
    }
    budget_release(h);
    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
    }
    curl_slist_free_all(h->hdrs);
    free(h->upload);
    if (h->defer != NULL) {
        event_free(h->defer);
    }
    free(h->content_type);
    free(h->location);
    free(h->www_authenticate);
    free(h->retry_after);
    free(h->date);
    free(h->link);
    free(h->rl_remaining);
    free(h->rl_reset);
    free(h);
}

static void
handle_link(struct http_client *c, struct http_handle *h)
{
    h->prev = NULL;
    h->next = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->prev = h;
    } else {
        c->reqs_tail = h;
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
    } else {
        c->reqs_tail = h->prev;
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

/*
 * Delivers a request that ends without libcurl's word: one the rules
 * refused before it started, or one whose resume failed (its body passed
 * the cap or memory ran out while libcurl handed over what it kept).
 */
static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct http_handle *h = arg;
    struct http_client *c = h->client;
    struct http_response r;
    char err[96];
    long status = 0;

    (void)fd;
    (void)what;
    memset(&r, 0, sizeof(r));
    if (h->easy != NULL &&
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK &&
        status > 0 && status < 1000) {
        r.status = (int)status;
    }
    if (h->refused) {
        r.result = HTTP_ERR_REFUSED;
        r.error = h->why;
    } else if (h->too_large) {
        r.result = HTTP_ERR_TOO_LARGE;
        snprintf(err, sizeof(err), "response body larger than %zu bytes",
                 h->cap);
        r.error = err;
    } else {
        r.result = HTTP_ERR_TRANSPORT;
        r.error = h->nomem ? "out of memory for the response body"
                           : "paused transfer could not be resumed";
    }
    handle_unlink(h);
    handle_deliver(h, &r);
    budget_settle(c);
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
        free(h->link);
        free(h->rl_remaining);
        free(h->rl_reset);
        h->content_type = h->location = h->www_authenticate = NULL;
        h->retry_after = h->date = h->link = NULL;
        h->rl_remaining = h->rl_reset = NULL;
        h->encoded = 0;
        return len;
    }
    if (http_parse_header_line(buf, len, &name, &nlen, &value, &vlen) != 0) {
        return len;
    }
    if (name_is(name, nlen, "Content-Encoding") &&
        !name_is(value, vlen, "identity")) {
        h->encoded = 1; /* libcurl decodes it: see write_cb */
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
    } else if (name_is(name, nlen, "Link")) {
        slot = &h->link;
    } else if (name_is(name, nlen, "X-RateLimit-Remaining")) {
        slot = &h->rl_remaining;
    } else if (name_is(name, nlen, "X-RateLimit-Reset")) {
        slot = &h->rl_reset;
    }
    if (slot != NULL && *slot == NULL) {
        *slot = capture(value, vlen); /* NULL on ENOMEM: header dropped */
    }
    return len;
}

/*
 * Whether h, not the holder, may hold a body buffer of alloc bytes: the
 * requests other than the holder then hold at most the budget, or three
 * quarters of it when alloc is past HTTP_BUDGET_SMALL_BODY (the last
 * quarter is for small bodies).
 */
static int
budget_fits(const struct http_client *c, const struct http_handle *h,
            uint64_t alloc)
{
    uint64_t used = c->buffered - h->body_alloc;
    uint64_t limit = c->budget;

    if (c->holder != NULL) {
        used -= c->holder->body_alloc;
    }
    if (alloc > HTTP_BUDGET_SMALL_BODY) {
        limit -= c->budget / 4;
    }
    return used + alloc <= limit;
}

/*
 * Moves h's body to a buffer of alloc bytes (> body_alloc), keeping its
 * contents; returns it, or NULL with the old one intact.  Small bodies
 * live on the heap; from HTTP_BODY_MAP_MIN on a body gets a mapping of its
 * own that mremap() grows without copying and munmap() gives back at once.
 * With realloc() alone, glibc's sliding mmap threshold puts such buffers
 * on the heap after the first big one is freed, and a slow log's
 * half-filled bodies then fragment it: the daemon's RSS doubled against
 * what it held.
 */
static char *
body_resize(struct http_handle *h, size_t alloc)
{
    void *p;

    if (alloc < HTTP_BODY_MAP_MIN) {
        return realloc(h->body, alloc);
    }
    if (h->body_mapped) {
        p = mremap(h->body, map_len(h->body_alloc), map_len(alloc),
                   MREMAP_MAYMOVE);
        return p == MAP_FAILED ? NULL : p;
    }
    p = mmap(NULL, map_len(alloc), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (h->body != NULL) {
        memcpy(p, h->body, h->body_len);
        free(h->body);
    }
    h->body_mapped = 1;
    return p;
}

/*
 * Grows h's body buffer to at least want bytes (want <= cap + 1) within
 * the budget.  The step is geometric (doubling from HTTP_BODY_INITIAL, so
 * a body costs O(log n) reallocs), never past cap + 1, nor past an
 * announced Content-Length + 1 of a plain body (a server announcing much
 * and sending little costs nothing, as bytes are only given room as they
 * come); when that does not fit the budget, the smallest step (want
 * rounded up to HTTP_BODY_INITIAL).  When that does not fit either, h
 * becomes the holder if there is none; else a plain body waits (returns 1,
 * h->need set), an encoded one grows anyway and asks to be paused after
 * this read.  Returns 0 when grown, 1 to pause, -1 when out of memory.
 */
static int
body_grow(struct http_handle *h, size_t want)
{
    struct http_client *c = h->client;
    size_t full = h->cap + 1, big, step, alloc;
    curl_off_t cl = -1;
    char *p;

    if (!h->encoded &&
        curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
            CURLE_OK &&
        cl >= 0 && (uint64_t)cl < h->cap && (uint64_t)cl + 1 >= want) {
        full = (size_t)cl + 1;
    }
    big = h->body_alloc < HTTP_BODY_INITIAL ? HTTP_BODY_INITIAL : h->body_alloc;
    while (big < want && big < full) {
        big = big > full / 2 ? full : big * 2;
    }
    if (big > full) {
        big = full;
    }
    step = want +
           (HTTP_BODY_INITIAL - want % HTTP_BODY_INITIAL) % HTTP_BODY_INITIAL;
    if (step > full) {
        step = full;
    }
    alloc = big;
    if (h != c->holder && !budget_fits(c, h, big)) {
        alloc = step;
        if (!budget_fits(c, h, step)) {
            if (c->holder == NULL) {
                c->holder = h;
                alloc = big;
            } else if (!h->encoded) {
                h->need = step - h->body_alloc;
                return 1;
            } else if (!h->pause_wanted) {
                h->pause_wanted = 1;
                c->npause_wanted++;
            }
        }
    }
    if ((p = body_resize(h, alloc)) == NULL) {
        return -1;
    }
    h->body = p;
    c->buffered = c->buffered - h->body_alloc + alloc;
    h->body_alloc = alloc;
    if (c->buffered > c->buffered_peak) {
        c->buffered_peak = c->buffered;
    }
    return 0;
}

/*
 * CURLOPT_WRITEFUNCTION: the decoded body, up to the cap and within the
 * budget.  CURL_WRITEFUNC_PAUSE leaves buf with libcurl, which hands it
 * over again when budget_settle() resumes the transfer.
 */
static size_t
write_cb(char *buf, size_t size, size_t n, void *userp)
{
    struct http_handle *h = userp;
    struct http_client *c = h->client;
    size_t len = size * n, want;

    if (h->too_large || h->nomem) {
        return 0; /* never take bytes after a refusal */
    }
    if (h->paused) {
        return CURL_WRITEFUNC_PAUSE; /* still waiting */
    }
    if (len > h->cap - h->body_len) {
        h->too_large = 1;
        body_drop(h);
        return 0; /* any short count aborts the transfer */
    }
    want = h->body_len + len + 1;
    if (want > h->body_alloc) {
        switch (body_grow(h, want)) {
        case 0:
            break;
        case 1:
            h->paused = 1;
            c->npaused++;
            c->pauses++;
            return CURL_WRITEFUNC_PAUSE;
        default:
            h->nomem = 1;
            body_drop(h);
            return 0;
        }
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
                h->upload != NULL
                    ? "plain smtp:// (tls: none) connection off loopback "
                      "refused"
                    : "plain http:// connection off loopback refused");
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
    h->url_secret = opts->url_secret;
    h->cap = opts->max_response_bytes ? (size_t)opts->max_response_bytes
                                      : HTTP_DEFAULT_RESPONSE_CAP;
    if (http_url_check(opts->url, h->why, sizeof(h->why)) != 0) {
        /* Refused before libcurl sees it: no lookup, no connection. */
        h->refused = 1;
        log_debug("http: %s %s refused: %s", method_str(opts->method),
                  opts->url_secret
                      ? notify_redact_url(opts->url, red, sizeof(red))
                      : http_redact_url(opts->url, red, sizeof(red)),
                  h->why);
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

/* ---- SMTP (http_smtp_send) ------------------------------------------- */

/* CURLOPT_READFUNCTION: the message, from upload_off on. */
static size_t
smtp_read_cb(char *buf, size_t size, size_t n, void *userp)
{
    struct http_handle *h = userp;
    size_t want = size * n, left = h->upload_len - h->upload_off;

    if (want > left) {
        want = left;
    }
    memcpy(buf, h->upload + h->upload_off, want);
    h->upload_off += want;
    return want;
}

/* An envelope address curl may put between < and >. */
static int
smtp_addr_ok(const char *a)
{
    return a != NULL && a[0] != '\0' && strlen(a) <= 254 &&
           strpbrk(a, "\r\n<> ") == NULL;
}

static int
smtp_setup(struct http_client *c, struct http_handle *h,
           const struct http_smtp_opts *o)
{
    CURL *e = h->easy;
    uint64_t cto = o->connect_timeout_ms ? o->connect_timeout_ms
                                         : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    uint64_t to = o->timeout_ms ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
    const char *ca = o->ca_file != NULL ? o->ca_file : c->ca_file;
    size_t i;

    /* The recipients ride in the (otherwise unused) header list. */
    for (i = 0; i < o->nrcpt; i++) {
        struct curl_slist *l = curl_slist_append(h->hdrs, o->rcpt[i]);
        if (l == NULL) {
            return -1;
        }
        h->hdrs = l;
    }
    if ((h->upload = malloc(o->message_len + 1)) == NULL) {
        return -1;
    }
    memcpy(h->upload, o->message, o->message_len);
    h->upload_len = o->message_len;
    /* TLS: implicit (smtps) or STARTTLS required (CURLUSESSL_ALL),
     * verified; a server without STARTTLS fails the transfer before MAIL
     * FROM.  Plain (tls: none) uses none, and open_socket_cb keeps it on
     * loopback addresses. */
    if (curl_easy_setopt(e, CURLOPT_URL, o->url) ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf) ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") ||
        curl_easy_setopt(e, CURLOPT_PROXY, "") ||
        curl_easy_setopt(e, CURLOPT_USE_SSL,
                         o->plain ? (long)CURLUSESSL_NONE
                                  : (long)CURLUSESSL_ALL) ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) ||
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) ||
        curl_easy_setopt(e, CURLOPT_SSLVERSION,
                         (long)CURL_SSLVERSION_TLSv1_2) ||
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, o->mail_from) ||
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, h->hdrs) ||
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) ||
        curl_easy_setopt(e, CURLOPT_READFUNCTION, smtp_read_cb) ||
        curl_easy_setopt(e, CURLOPT_READDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)o->message_len) ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cto) ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)to) ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)h) ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb) ||
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, (void *)h)) {
        return -1;
    }
    if (o->username != NULL &&
        (curl_easy_setopt(e, CURLOPT_USERNAME, o->username) ||
         curl_easy_setopt(e, CURLOPT_PASSWORD,
                          o->password != NULL ? o->password : ""))) {
        return -1;
    }
    if (ca != NULL && curl_easy_setopt(e, CURLOPT_CAINFO, ca)) {
        return -1;
    }
    return 0;
}

struct http_handle *
http_smtp_send(struct http_client *c, const struct http_smtp_opts *opts,
               http_done_cb cb, void *arg)
{
    struct http_handle *h;
    const char *u;
    size_t i, auth;

    if (c == NULL || opts == NULL || cb == NULL || c->closing ||
        opts->url == NULL || strlen(opts->url) > HTTP_MAX_URL ||
        !smtp_addr_ok(opts->mail_from) || opts->nrcpt == 0 ||
        opts->nrcpt > HTTP_MAX_HEADERS || opts->rcpt == NULL ||
        opts->message == NULL || opts->message_len > HTTP_MAX_REQUEST_BODY ||
        opts->connect_timeout_ms > HTTP_MAX_TIMEOUT_MS ||
        opts->timeout_ms > HTTP_MAX_TIMEOUT_MS) {
        return NULL;
    }
    for (i = 0; i < opts->nrcpt; i++) {
        if (!smtp_addr_ok(opts->rcpt[i])) {
            return NULL;
        }
    }
    if (strncasecmp(opts->url, "smtps://", 8) == 0 && !opts->plain) {
        u = opts->url + 8;
    } else if (strncasecmp(opts->url, "smtp://", 7) == 0 &&
               (!opts->plain || opts->username == NULL)) {
        u = opts->url + 7;
    } else {
        return NULL;
    }
    auth = strcspn(u, "/?#");
    if (auth == 0 || memchr(u, '@', auth) != NULL ||
        strpbrk(opts->url, "\r\n ") != NULL) {
        return NULL;
    }
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        return NULL;
    }
    h->client = c;
    h->cb = cb;
    h->arg = arg;
    h->method = HTTP_POST; /* unused: the debug line says SMTP */
    h->url_secret = 1;
    /* TLS: the plain-text checks of open_socket_cb do not apply (the
     * socket is still opened close-on-exec there).  Plain: they do, the
     * effective URL being smtp://: a loopback address or nothing. */
    h->https_only = !opts->plain;
    h->cap = 64 * 1024; /* SMTP has no body: nothing should arrive */
    if ((h->easy = curl_easy_init()) == NULL || smtp_setup(c, h, opts) != 0 ||
        curl_multi_add_handle(c->multi, h->easy) != CURLM_OK) {
        handle_free(h);
        return NULL;
    }
    handle_link(c, h);
    return h;
}

void
http_cancel(struct http_handle *h)
{
    struct http_client *c;

    if (h == NULL) {
        return;
    }
    c = h->client;
    handle_unlink(h);
    handle_free(h);
    budget_settle(c);
}

uint64_t
http_client_pending(const struct http_client *c)
{
    return c == NULL ? 0 : c->npending;
}

/* Ends h from the loop soon (see on_defer); -1 when that cannot be set up. */
static int
handle_fail_later(struct http_handle *h)
{
    if (h->defer == NULL &&
        (h->defer = evtimer_new(h->client->base, on_defer, h)) == NULL) {
        return -1;
    }
    event_active(h->defer, EV_TIMEOUT, 1);
    return 0;
}

/*
 * Applies the budget between reads: pauses encoded bodies that passed it,
 * and once budget was freed resumes paused requests, oldest first (the
 * holder, picked here when there is none, always; the others when their
 * next step fits).  Only where no callback and no libcurl call is on the
 * stack: curl_easy_pause() hands libcurl's kept bytes to write_cb at once.
 */
static void
budget_settle(struct http_client *c)
{
    struct http_handle *h, *prev;
    int encoded_resumed = 0;
    CURLcode rc;

    if (c->closing || c->dispatching > 0) {
        return;
    }
    for (h = c->reqs; c->npause_wanted > 0 && h != NULL; h = h->next) {
        if (!h->pause_wanted) {
            continue;
        }
        h->pause_wanted = 0;
        c->npause_wanted--;
        if (h == c->holder ||
            budget_fits(c, h, h->body_alloc + HTTP_BODY_INITIAL)) {
            continue; /* budget came free meanwhile */
        }
        rc = curl_easy_pause(h->easy, CURLPAUSE_RECV);
        if (rc != CURLE_OK) {
            log_warnx("http: curl_easy_pause: %s", curl_easy_strerror(rc));
            continue;
        }
        h->paused = 1;
        h->need = HTTP_BODY_INITIAL;
        c->npaused++;
        c->pauses++;
    }
    if (!c->resume_needed || c->npaused == 0) {
        c->resume_needed = 0;
        return;
    }
    c->resume_needed = 0;
    for (h = c->reqs_tail; c->holder == NULL && h != NULL; h = h->prev) {
        if (h->paused) {
            c->holder = h;
        }
    }
    /* curl_easy_pause() calls only write_cb, header_cb and socket_fn and
       timer_fn back: the list stays as it is */
    for (h = c->reqs_tail; c->npaused > 0 && h != NULL; h = prev) {
        prev = h->prev;
        if (!h->paused ||
            (h != c->holder && !budget_fits(c, h, h->body_alloc + h->need))) {
            continue;
        }
        if (h != c->holder && h->encoded) {
            /* what an encoded body takes before its next pause is only
               known after it ran: one of them a settle */
            if (encoded_resumed) {
                c->resume_needed = 1;
                continue;
            }
            encoded_resumed = 1;
        }
        h->paused = 0;
        c->npaused--;
        rc = curl_easy_pause(h->easy, CURLPAUSE_CONT);
        if (rc != CURLE_OK) {
            /* libcurl does not wake the transfer after a failed hand-over:
               end it from the loop rather than at its timeout */
            log_debug("http: resuming a transfer: %s", curl_easy_strerror(rc));
            if (handle_fail_later(h) != 0) {
                log_warnx("http: cannot end a transfer that failed to "
                          "resume; it ends at its timeout");
            }
        }
    }
}

int
http_client_set_buffer_budget(struct http_client *c, uint64_t bytes)
{
    if (c == NULL || bytes > HTTP_MAX_BUFFER_BUDGET) {
        return -1;
    }
    c->budget = bytes != 0 ? bytes : HTTP_DEFAULT_BUFFER_BUDGET;
    c->resume_needed = 1;
    budget_settle(c);
    return 0;
}

void
http_client_get_stats(const struct http_client *c, struct http_client_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (c == NULL) {
        return;
    }
    st->buffer_budget = c->budget;
    st->buffered_bytes = c->buffered;
    st->buffered_peak = c->buffered_peak;
    st->paused = c->npaused;
    st->pauses = c->pauses;
    st->pending = c->npending;
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
    r->link = h->link;
    r->ratelimit_remaining = h->rl_remaining;
    r->ratelimit_reset = h->rl_reset;
    if (h->date != NULL) {
        time_t d = curl_getdate(h->date, NULL);
        r->date = d != (time_t)-1 && d > 0 ? (int64_t)d : 0;
    }
    if (h->retry_after != NULL) {
        /* HTTP-dates against the server's clock, so skew does not count */
        now = r->date != 0 ? r->date : (int64_t)time(NULL);
        r->has_retry_after =
            http_parse_retry_after(h->retry_after, strlen(h->retry_after), now,
                                   &r->retry_after_s) == 0;
    }

    if (h->refused) {
        r->result = HTTP_ERR_REFUSED;
        r->error = h->why;
    } else if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        /* before CURLE_OK: a refused write must never read as complete */
        r->result = HTTP_ERR_TOO_LARGE;
        snprintf(err, errcap, "response body larger than %zu bytes", h->cap);
        r->error = err;
    } else if (h->nomem) {
        r->result = HTTP_ERR_TRANSPORT;
        snprintf(err, errcap, "out of memory for the response body");
        r->error = err;
    } else if (rc == CURLE_OK) {
        r->result = HTTP_COMPLETE;
        r->body = h->body != NULL ? h->body : "";
        r->body_len = h->body_len;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        r->result = HTTP_ERR_TIMEOUT;
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
        /* the first URL passed the check: a redirect broke the rules */
        r->result = HTTP_ERR_REFUSED;
        snprintf(err, errcap, "redirect to a forbidden scheme refused");
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
                  h->upload != NULL ? "SMTP" : method_str(h->method),
                  h->url_secret ? notify_redact_url(url, red, sizeof(red))
                                : http_redact_url(url, red, sizeof(red)),
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
