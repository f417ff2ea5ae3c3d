#!/bin/bash
# The dependency rules hold on the tree, and the checker does catch a breach.
set -u
src=${TLOGWATCH_SRC:?}
sh "$src/scripts/check-deps.sh" "$src" || { echo "FAIL: tree breaks rules"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check_breach() { # folder file content
    rm -rf "$tmp"/*
    mkdir -p "$tmp"/merkle "$tmp"/config "$tmp"/notify "$tmp"/monitor \
        "$tmp"/monitor/identity "$tmp"/monitor/store "$tmp"/monitor/follow \
        "$tmp"/monitor/registry "$tmp"/monitor/report "$tmp"/monitor/cli \
        "$tmp"/monitor/server
    printf '%s\n' "$3" > "$tmp/$1/$2"
    if sh "$src/scripts/check-deps.sh" "$tmp" 2>/dev/null; then
        echo "FAIL: breach not caught: $1/$2: $3"; exit 1
    fi
}
check_breach merkle x.c '#include "monitor/log.h"'
check_breach merkle x.c '#include <curl/curl.h>'
check_breach merkle x.c '#include <stdio.h>'
check_breach config x.c '#include "merkle/merkle.h"'
check_breach notify x.c '#include "monitor/store/store.h"'
check_breach notify x.c '#include <sqlite3.h>'
check_breach monitor follow.c '#include <curl/curl.h>'
check_breach monitor follow.c '#include <sqlite3.h>'
check_breach notify x.c '    fprintf(stderr, "x");'
check_breach monitor x.c '    exit(1);'
check_breach monitor/cli x.c '    exit(1);'
check_breach monitor/follow x.c '#include <curl/curl.h>'
check_breach monitor/follow x.c '#include <sqlite3.h>'
check_breach monitor/follow x.c '#include "monitor/tlw.h"'
check_breach monitor/follow x.h '#include <event2/event.h>'
check_breach monitor/registry x.c '#include <curl/curl.h>'
check_breach monitor/report x.c '#include <sqlite3.h>'
check_breach monitor/cli x.c '#include <sqlite3.h>'
check_breach monitor/identity x.h '#include <event2/event.h>'
check_breach monitor/identity x.c '#include <curl/curl.h>'
check_breach monitor/identity x.c '#include <sqlite3.h>'
check_breach monitor/identity x.c '#include "monitor/http.h"'
check_breach monitor/identity x.c '#include "monitor/tlw.h"'
check_breach monitor/identity x.c '#include "monitor/log.h"'
check_breach monitor/store x.c '#include <event2/event.h>'
check_breach monitor/store x.c '#include "monitor/tlw.h"'
check_breach monitor/store x.c '#include "monitor/follow/follow.h"'
check_breach monitor/store x.c '#include <sqlite3.h>'
check_breach monitor/server x.c '#include <sqlite3.h>'
check_breach monitor/server x.c '#include <curl/curl.h>'
echo "1 passed, 0 failed"
