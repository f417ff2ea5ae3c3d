#!/bin/sh
# check-deps.sh SRCDIR: enforce DESIGN.md's folder dependency rules.
# Runs as part of every build (target check-deps) and fails it on a breach.
#   merkle/  OpenSSL libcrypto only; no I/O, no logging
#   config/  libyaml, jansson, OpenSSL; no other project folder
#   notify/  jansson, OpenSSL, libevent; never merkle/, monitor/, config/
#   monitor/ everything; <curl/curl.h> only in monitor/http.c,
#            <sqlite3.h> only in monitor/store.c
# Libraries (merkle, config, notify) never print or exit: only monitor logs
# and only monitor/main.c exits.
src=${1:-.}
cd "$src" || exit 2
fail=0

breach() {
    echo "check-deps: $1" >&2
    fail=1
}

forbid() { # folder regex what
    hits=$(grep -nE "$2" "$1"/*.c "$1"/*.h 2>/dev/null)
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

for f in $(grep -lE "$inc<curl/curl\.h>" merkle/* config/* notify/* monitor/* 2>/dev/null); do
    [ "$f" = monitor/http.c ] || breach "$f: only monitor/http.c includes <curl/curl.h>"
done
for f in $(grep -lE "$inc<sqlite3\.h>" merkle/* config/* notify/* monitor/* 2>/dev/null); do
    [ "$f" = monitor/store.c ] || breach "$f: only monitor/store.c includes <sqlite3.h>"
done
for f in $(grep -lE '(^|[^a-z_])(exit|_exit)[[:space:]]*\(' monitor/*.c 2>/dev/null); do
    [ "$f" = monitor/main.c ] || breach "$f: only monitor/main.c exits"
done

exit $fail
