#!/bin/bash
# The dependency rules hold on the tree, and the checker does catch a breach.
set -u
src=${TLOGWATCH_SRC:?}
sh "$src/scripts/check-deps.sh" "$src" || { echo "FAIL: tree breaks rules"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check_breach() { # folder file content
    rm -rf "$tmp"/*
    mkdir -p "$tmp"/merkle "$tmp"/config "$tmp"/notify "$tmp"/monitor
    printf '%s\n' "$3" > "$tmp/$1/$2"
    if sh "$src/scripts/check-deps.sh" "$tmp" 2>/dev/null; then
        echo "FAIL: breach not caught: $1/$2: $3"; exit 1
    fi
}
check_breach merkle x.c '#include "monitor/log.h"'
check_breach merkle x.c '#include <curl/curl.h>'
check_breach merkle x.c '#include <stdio.h>'
check_breach config x.c '#include "merkle/merkle.h"'
check_breach notify x.c '#include "monitor/store.h"'
check_breach notify x.c '#include <sqlite3.h>'
check_breach monitor follow.c '#include <curl/curl.h>'
check_breach monitor follow.c '#include <sqlite3.h>'
check_breach notify x.c '    fprintf(stderr, "x");'
check_breach monitor x.c '    exit(1);'
echo "1 passed, 0 failed"
