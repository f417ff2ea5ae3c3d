/*
 * config_value.h: internal to config/.  Pure checks of single config values
 * (URLs, names, repositories, PCR hex, listen addresses, registries).  Each
 * takes a NUL-terminated string, returns 0 when it is valid and -1 with
 * *why set to a static English reason that never quotes the value, so the
 * caller may use the reason for a secret too.
 */
#ifndef TLOGWATCH_CONFIG_VALUE_H
#define TLOGWATCH_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* https://host[:port][/...], or http:// when host is loopback. */
int config_value_url(const char *s, const char **why);

/* smtps://host[:port][/domain] or smtp://host[:port][/domain] (the
 * latter always with STARTTLS, required by the sender): no userinfo
 * (credentials are keys of their own), no query or fragment. */
int config_value_smtp_url(const char *s, const char **why);

/* s (a valid SMTP URL) is smtp:// to a loopback host: the only place an
 * email sink may talk without TLS (tls: none).  0, or -1 with why. */
int config_value_smtp_plain_ok(const char *s, const char **why);

/* An email address: an RFC 5322 addr-spec with a dot-atom local part and
 * a domain of letter, digit and '-' labels, at most 254 bytes; no display
 * name, comment or quoted string. */
int config_value_email(const char *s, const char **why);

/* host (len bytes, IPv6 without brackets) is 127.0.0.0/8, ::1, localhost. */
int config_value_is_loopback(const char *host, size_t len);

/* A log, rule or sink name: [A-Za-z0-9][A-Za-z0-9._-]*, <= CONFIG_MAX_NAME. */
int config_value_name(const char *s, const char **why);

/* GitHub owner/repo. */
int config_value_repository(const char *s, const char **why);

/* One or more decimal digits, value <= max, into *out.  No sign, no
 * space; leading zeros allowed. */
int config_value_uint(const char *s, uint64_t max, uint64_t *out);

/* Exactly CONFIG_PCR_HEX_LEN hex digits (either case). */
int config_value_pcr_hex(const char *s, size_t len, const char **why);

/* "host:port" or "[v6]:port", host an IP literal or localhost.  *host is
 * new (caller frees), without brackets. */
int config_value_listen(const char *s, char **host, unsigned *port,
                        const char **why);

/* [https://|http://]host[:port]/repository.  *host and *repo are new
 * (caller frees); *plain_http as described in config.h. */
int config_value_registry(const char *s, char **host, char **repo,
                          int *plain_http, const char **why);

#endif
