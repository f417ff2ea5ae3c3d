/*
 * config_value.c: pure checks of single config values, and the duration
 * parser.  No allocation except the out-strings of the two splitters, no
 * I/O.  Reasons are static strings that never contain the value.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/config_value.h"

#define VALUE_MAX_HOST 253 /* DNS name length limit */
#define VALUE_MAX_OWNER 39 /* GitHub login length limit */
#define VALUE_MAX_REPO 100 /* GitHub repository name length limit */

static int
value_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
value_is_alnum(char c)
{
    return value_is_digit(c) || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static int
value_is_hex(char c)
{
    return value_is_digit(c) || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

int
config_parse_duration(const char *s, size_t len, uint64_t *ms, const char **why)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t i = 0;
    int last = -1, u;
    uint64_t total = 0, v, part;

    if (len == 0) {
        *why = "empty duration";
        return -1;
    }
    if (s[0] == '-') {
        *why = "negative durations are not allowed";
        return -1;
    }
    while (i < len) {
        if (!value_is_digit(s[i])) {
            *why = "expected a number followed by a unit (d, h, m, s, ms)";
            return -1;
        }
        v = 0;
        while (i < len && value_is_digit(s[i])) {
            unsigned d = (unsigned)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10) {
                *why = "duration out of range";
                return -1;
            }
            v = v * 10 + d;
            i++;
        }
        if (i == len) {
            *why = "missing unit (d, h, m, s or ms)";
            return -1;
        }
        if (s[i] == '.') {
            *why = "fractions are not allowed; use a smaller unit";
            return -1;
        }
        if (s[i] == 'm' && i + 1 < len && s[i + 1] == 's') {
            u = 4;
            i += 2;
        } else if (s[i] == 'd') {
            u = 0;
            i++;
        } else if (s[i] == 'h') {
            u = 1;
            i++;
        } else if (s[i] == 'm') {
            u = 2;
            i++;
        } else if (s[i] == 's') {
            u = 3;
            i++;
        } else {
            *why = "unknown unit (use d, h, m, s or ms)";
            return -1;
        }
        if (u <= last) {
            *why = "each unit at most once, largest first (e.g. 1h30m)";
            return -1;
        }
        last = u;
        if (v > CONFIG_MAX_DURATION_MS / units[u].ms) {
            *why = "duration out of range";
            return -1;
        }
        part = v * units[u].ms;
        if (total > CONFIG_MAX_DURATION_MS - part) {
            *why = "duration out of range";
            return -1;
        }
        total += part;
    }
    if (total == 0) {
        *why = "duration must be greater than zero";
        return -1;
    }
    *ms = total;
    return 0;
}

int
config_value_is_loopback(const char *host, size_t len)
{
    char buf[INET6_ADDRSTRLEN];
    struct in_addr a4;
    struct in6_addr a6;

    if (len == 9 && strncasecmp(host, "localhost", 9) == 0) {
        return 1;
    }
    if (len == 0 || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return 0;
}

/*
 * Check host[:port] of len bytes at p (an authority without userinfo).
 * On success *host, *hostlen delimit the host without brackets.
 */
static int
value_hostport(const char *p, size_t len, const char **host, size_t *hostlen,
               const char **why)
{
    const char *end = p + len, *hend, *after;
    size_t i;

    if (len == 0) {
        *why = "has no host";
        return -1;
    }
    if (*p == '[') {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;

        hend = memchr(p, ']', len);
        if (hend == NULL || (size_t)(hend - p - 1) >= sizeof(buf)) {
            *why = "has a malformed IPv6 address";
            return -1;
        }
        memcpy(buf, p + 1, (size_t)(hend - p - 1));
        buf[hend - p - 1] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1) {
            *why = "has a malformed IPv6 address";
            return -1;
        }
        *host = p + 1;
        *hostlen = (size_t)(hend - p - 1);
        after = hend + 1;
        if (after < end && *after != ':') {
            *why = "has a malformed host";
            return -1;
        }
    } else {
        hend = memchr(p, ':', len);
        if (hend == NULL) {
            hend = end;
        }
        if (hend == p || (size_t)(hend - p) > VALUE_MAX_HOST) {
            *why = "has no valid host";
            return -1;
        }
        for (i = 0; p + i < hend; i++) {
            char c = p[i];
            if (!value_is_alnum(c) && c != '.' && c != '-' && c != '_') {
                *why = "has a host with characters not allowed in a name";
                return -1;
            }
        }
        *host = p;
        *hostlen = (size_t)(hend - p);
        after = hend;
    }
    if (after < end) {
        uint64_t port = 0;
        size_t digits = 0;

        for (after++; after < end; after++, digits++) {
            if (!value_is_digit(*after) || digits >= 5) {
                *why = "has a malformed port";
                return -1;
            }
            port = port * 10 + (uint64_t)(*after - '0');
        }
        if (digits == 0 || port == 0 || port > 65535) {
            *why = "has a port outside 1..65535";
            return -1;
        }
    }
    return 0;
}

int
config_value_url(const char *s, const char **why)
{
    const char *p, *host;
    size_t i, auth, hostlen;
    int http;

    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) {
            *why = "URL contains a space, control or non-ASCII character";
            return -1;
        }
    }
    if (strncasecmp(s, "https://", 8) == 0) {
        http = 0;
        p = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        http = 1;
        p = s + 7;
    } else {
        *why = "URL must start with https:// (http:// only for loopback)";
        return -1;
    }
    auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth) != NULL) {
        *why = "URL must not contain user information (user:password@)";
        return -1;
    }
    if (value_hostport(p, auth, &host, &hostlen, why) != 0) {
        return -1;
    }
    if (http && !config_value_is_loopback(host, hostlen)) {
        *why = "http:// is only allowed for loopback hosts (127.0.0.0/8, "
               "[::1], localhost); use https://";
        return -1;
    }
    return 0;
}

int
config_value_smtp_url(const char *s, const char **why)
{
    const char *p, *host;
    size_t i, auth, hostlen;

    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) {
            *why = "URL contains a space, control or non-ASCII character";
            return -1;
        }
    }
    if (strncasecmp(s, "smtps://", 8) == 0) {
        p = s + 8;
    } else if (strncasecmp(s, "smtp://", 7) == 0) {
        p = s + 7;
    } else {
        *why = "an SMTP URL starts with smtps:// (implicit TLS) or smtp:// "
               "(STARTTLS, always required)";
        return -1;
    }
    auth = strcspn(p, "/?#");
    if (memchr(p, '@', auth) != NULL) {
        *why = "URL must not contain user information (user:password@); "
               "use username and password";
        return -1;
    }
    if (strpbrk(p, "?#") != NULL) {
        *why = "an SMTP URL has no query or fragment";
        return -1;
    }
    return value_hostport(p, auth, &host, &hostlen, why);
}

int
config_value_smtp_plain_ok(const char *s, const char **why)
{
    const char *p, *host;
    size_t auth, hostlen;

    if (strncasecmp(s, "smtp://", 7) != 0) {
        *why = "tls: none is for smtp:// to a loopback host; an smtps:// "
               "server always speaks TLS";
        return -1;
    }
    p = s + 7;
    auth = strcspn(p, "/?#");
    if (value_hostport(p, auth, &host, &hostlen, why) != 0) {
        return -1;
    }
    if (!config_value_is_loopback(host, hostlen)) {
        *why = "tls: none is only allowed for a loopback host (127.0.0.0/8, "
               "[::1], localhost): anywhere else the message and the alert "
               "would cross the network in clear";
        return -1;
    }
    return 0;
}

int
config_value_email(const char *s, const char **why)
{
    static const char atext[] = "!#$%&'*+-/=?^_`{|}~.";
    const char *at = strchr(s, '@');
    size_t i, n = strlen(s);

    *why = "an address is local@domain (a dot-atom local part, a domain of "
           "letters, digits and '-'), without a display name or <>";
    if (n == 0 || n > 254 || at == NULL || strchr(at + 1, '@') != NULL ||
        at == s || at - s > 64 || at[1] == '\0' || s[0] == '.' ||
        at[-1] == '.') {
        return -1;
    }
    for (i = 0; s + i < at; i++) {
        char c = s[i];
        if (!(value_is_alnum(c) || strchr(atext, c) != NULL) ||
            (c == '.' && s[i + 1] == '.')) {
            return -1;
        }
    }
    for (i = 1; at[i] != '\0';) {
        size_t len = 0;
        while (value_is_alnum(at[i + len]) || at[i + len] == '-') {
            len++;
        }
        if (len == 0 || len > 63 || at[i] == '-' || at[i + len - 1] == '-') {
            return -1;
        }
        i += len;
        if (at[i] == '.' && at[i + 1] != '\0') {
            i++;
        } else if (at[i] != '\0') {
            return -1;
        }
    }
    return 0;
}

int
config_value_name(const char *s, const char **why)
{
    size_t i;

    if (!value_is_alnum(s[0])) {
        *why = "a name starts with a letter or digit";
        return -1;
    }
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (!value_is_alnum(c) && c != '.' && c != '_' && c != '-') {
            *why = "a name may hold only letters, digits, '.', '_' and '-'";
            return -1;
        }
    }
    if (i > CONFIG_MAX_NAME) {
        *why = "a name is at most 64 characters";
        return -1;
    }
    return 0;
}

int
config_value_repository(const char *s, const char **why)
{
    const char *slash = strchr(s, '/');
    size_t i, owner, repo;

    *why = "must be a GitHub repository written owner/repo";
    if (slash == NULL || strchr(slash + 1, '/') != NULL) {
        return -1;
    }
    owner = (size_t)(slash - s);
    repo = strlen(slash + 1);
    if (owner == 0 || owner > VALUE_MAX_OWNER || repo == 0 ||
        repo > VALUE_MAX_REPO || s[0] == '-') {
        return -1;
    }
    for (i = 0; i < owner; i++) {
        if (!value_is_alnum(s[i]) && s[i] != '-') {
            return -1;
        }
    }
    for (i = 0; i < repo; i++) {
        char c = slash[1 + i];
        if (!value_is_alnum(c) && c != '.' && c != '_' && c != '-') {
            return -1;
        }
    }
    if (strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0) {
        return -1;
    }
    return 0;
}

int
config_value_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (s[0] == '\0') {
        return -1;
    }
    for (i = 0; s[i] != '\0'; i++) {
        unsigned d;

        if (!value_is_digit(s[i])) {
            return -1;
        }
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10 || v * 10 + d > max) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
config_value_pcr_hex(const char *s, size_t len, const char **why)
{
    size_t i;

    if (len != CONFIG_PCR_HEX_LEN) {
        *why = "a PCR value is exactly 96 hex characters (SHA-384)";
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (!value_is_hex(s[i])) {
            *why = "a PCR value holds only hex characters 0-9 a-f";
            return -1;
        }
    }
    return 0;
}

int
config_value_listen(const char *s, char **host, unsigned *port,
                    const char **why)
{
    const char *colon, *h;
    size_t hlen;
    uint64_t p;
    char buf[INET6_ADDRSTRLEN];
    unsigned char addr[sizeof(struct in6_addr)];

    colon = strrchr(s, ':');
    *why = "must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464";
    if (colon == NULL) {
        return -1;
    }
    if (s[0] == '[') {
        if (colon == s || colon[-1] != ']') {
            return -1;
        }
        h = s + 1;
        hlen = (size_t)(colon - 1 - h);
    } else {
        h = s;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, h, hlen);
    buf[hlen] = '\0';
    if (strcasecmp(buf, "localhost") != 0 &&
        inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, buf, addr) != 1) {
        *why = "the host must be an IP address or localhost";
        return -1;
    }
    if (config_value_uint(colon + 1, 65535, &p) != 0 || p == 0 ||
        strlen(colon + 1) > 5) {
        *why = "the port must be 1..65535";
        return -1;
    }
    *host = strdup(buf);
    if (*host == NULL) {
        *why = "out of memory";
        return -1;
    }
    *port = (unsigned)p;
    return 0;
}

/* One OCI repository path component: [a-z0-9]+([._-][a-z0-9]+)*. */
static int
value_oci_component(const char *p, size_t len)
{
    size_t i;

    if (len == 0 || !value_is_alnum(p[0]) || !value_is_alnum(p[len - 1])) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') {
            return -1;
        }
        if (!value_is_alnum(c) && c != '.' && c != '_' && c != '-') {
            return -1;
        }
    }
    return 0;
}

int
config_value_registry(const char *s, char **host, char **repo, int *plain_http,
                      const char **why)
{
    const char *p = s, *slash, *c, *h;
    size_t hl;
    int scheme = 0; /* 0 none, 1 https, 2 http */
    int loop;

    if (strncasecmp(p, "https://", 8) == 0) {
        scheme = 1;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
        scheme = 2;
        p += 7;
    }
    slash = strchr(p, '/');
    if (slash == NULL) {
        *why = "must be host[:port]/repository, e.g. ghcr.io/acme/app";
        return -1;
    }
    if (memchr(p, '@', (size_t)(slash - p)) != NULL) {
        *why = "must not contain user information (user@); use credentials";
        return -1;
    }
    if (value_hostport(p, (size_t)(slash - p), &h, &hl, why) != 0) {
        return -1;
    }
    for (c = slash + 1;;) {
        const char *next = strchr(c, '/');
        size_t n = next ? (size_t)(next - c) : strlen(c);

        if (value_oci_component(c, n) != 0) {
            *why = "the repository must be lowercase path components "
                   "[a-z0-9._-] separated by '/'";
            return -1;
        }
        if (next == NULL) {
            break;
        }
        c = next + 1;
    }
    loop = config_value_is_loopback(h, hl);
    if (scheme == 2 && !loop) {
        *why = "http:// is only allowed for loopback registries";
        return -1;
    }
    *host = strndup(p, (size_t)(slash - p));
    *repo = strdup(slash + 1);
    if (*host == NULL || *repo == NULL) {
        free(*host);
        free(*repo);
        *host = *repo = NULL;
        *why = "out of memory";
        return -1;
    }
    *plain_http = scheme == 2 || (scheme == 0 && loop);
    return 0;
}
