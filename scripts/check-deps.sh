#!/bin/sh
# check-deps.sh SRCDIR: enforce DESIGN.md's folder dependency rules.
# Runs as part of every build (target check-deps) and fails it on a breach.
#   merkle/  OpenSSL libcrypto only; no I/O, no logging
#   config/  libyaml, jansson, OpenSSL; no other project folder
#   notify/  jansson, OpenSSL, libevent; never merkle/, monitor/, config/
#   monitor/ everything, one subfolder per concern:
#     (root)     the daemon context (tlw), the HTTP transport, the logger,
#                the delivery worker, retention; <curl/curl.h> only in
#                monitor/http.c
#     identity/  pure parsers of untrusted bytes (entry, bundle, scan,
#                fulcio, attest, nitro, policy): no libevent, libcurl, sqlite, no
#                transport, daemon context or logger
#     store/     the only place that includes <sqlite3.h> (store.c); no
#                libevent, transport or daemon context
#     follow/    the log followers: reach the daemon only through
#                follow/env.h (no daemon context, no libevent, libcurl or
#                sqlite), so they run on a test clock and transport
#     server/    the status server (evhttp): no libcurl, no sqlite; reads
#                the store through monitor/view/ and monitor/store/
#     registry/  OCI client and PCR lookup: no libcurl, no sqlite
#     report/    reports: no libcurl, no sqlite
#     cli/       the commands: no libcurl, no sqlite
#     view/      the one read model (status document): no libcurl, no
#                sqlite, no daemon context; reads the store only
# Libraries (merkle, config, notify) never print or exit: only monitor logs
# and only monitor/main.c exits.
src=${1:-.}
cd "$src" || exit 2
fail=0

breach() {
    echo "check-deps: $1" >&2
    fail=1
}

# The C files of a folder, not of its subfolders.
sources() {
    for s in "$1"/*.c "$1"/*.h; do
        [ -f "$s" ] && echo "$s"
    done
}

forbid() { # folder regex what
    files=$(sources "$1")
    [ -n "$files" ] || return 0
    # shellcheck disable=SC2086
    hits=$(grep -nE "$2" $files 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "$hits" | while IFS= read -r h; do
            echo "check-deps: $h: $3" >&2
        done
        fail=1
    fi
}

inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*'
forbid merkle "$inc[<\"](config|notify|monitor)/" "merkle/ may not use other folders"
forbid merkle "$inc<(curl|event2?|jansson|sqlite3|yaml|stdio)[./]" "merkle/ may use OpenSSL only (no I/O)"
forbid config "$inc[<\"](merkle|notify|monitor)/" "config/ may not use other folders"
forbid config "$inc<(curl|event2?|sqlite3)[./]" "config/ may use libyaml, jansson, OpenSSL only"
forbid notify "$inc[<\"](merkle|monitor|config)/" "notify/ may not use merkle/, monitor/ or config/"
forbid notify "$inc<(curl|sqlite3|yaml)[./]" "notify/ reaches HTTP through the transport interface"
for d in merkle config notify; do
    forbid $d '(^|[^a-z_])(printf|fprintf|vfprintf|perror|puts|exit|_exit|syslog)[[:space:]]*\(' \
        "only monitor/ logs and only monitor/main.c exits"
done

forbid monitor/identity "$inc<(curl|event2?|sqlite3)[./]" \
    "monitor/identity/ holds pure parsers: no libevent, libcurl or sqlite"
forbid monitor/identity "$inc\"monitor/(http|tlw|log|outbox|retention)\.h\"" \
    "monitor/identity/ holds pure parsers: no transport, daemon context or logger"
forbid monitor/identity "$inc\"monitor/(follow|cli|report)/" \
    "monitor/identity/ may not use the followers, the commands or reports"
forbid monitor/store "$inc<(curl|event2?)[./]" "monitor/store/ does no network and arms no timers"
forbid monitor/store "$inc\"monitor/(http|tlw|outbox)\.h\"" \
    "monitor/store/ may not use the transport or the daemon context"
forbid monitor/store "$inc\"monitor/(follow|cli|report|registry|identity)/" \
    "monitor/store/ is below every other monitor/ folder"
forbid monitor/follow "$inc<(event2?)[./]" \
    "monitor/follow/ arms timers through follow/env.h, not libevent"
forbid monitor/follow "$inc\"monitor/(tlw|outbox|retention)\.h\"" \
    "monitor/follow/ reaches the daemon only through follow/env.h"
forbid monitor/view "$inc\"monitor/(tlw|outbox|retention)\.h\"" \
    "monitor/view/ reads the store only: no daemon context"
forbid monitor/view "$inc\"monitor/(follow|cli|report|registry)/" \
    "monitor/view/ is read by the commands, reports and the server, not the reverse"
forbid monitor/view "$inc<(event2?)[./]" "monitor/view/ arms no timers"
for d in follow registry report cli view; do
    forbid monitor/$d "$inc<(curl|sqlite3)[./]" \
        "monitor/$d/ reaches HTTP through monitor/http.h and sqlite through monitor/store/"
done
forbid monitor/server "$inc<(curl|sqlite3)[./]" \
    "monitor/server/ serves with evhttp and reads sqlite through monitor/store/ only"

all=$(find merkle config notify monitor -name '*.[ch]' 2>/dev/null)
# shellcheck disable=SC2086
for f in $(grep -lE "$inc<curl/curl\.h>" $all /dev/null 2>/dev/null); do
    [ "$f" = monitor/http.c ] || breach "$f: only monitor/http.c includes <curl/curl.h>"
done
# shellcheck disable=SC2086
for f in $(grep -lE "$inc<sqlite3\.h>" $all /dev/null 2>/dev/null); do
    [ "$f" = monitor/store/store.c ] || breach "$f: only monitor/store/store.c includes <sqlite3.h>"
done
mon=$(find monitor -name '*.c' 2>/dev/null)
# shellcheck disable=SC2086
for f in $(grep -lE '(^|[^a-z_])(exit|_exit)[[:space:]]*\(' $mon /dev/null 2>/dev/null); do
    [ "$f" = monitor/main.c ] || breach "$f: only monitor/main.c exits"
done

exit $fail
