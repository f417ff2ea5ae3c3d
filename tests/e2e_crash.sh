#!/bin/bash
# e2e_crash.sh: kill -9 in the middle of a 200,000-entry catch-up, then
# restart: it finishes with the same verified state as an uninterrupted
# run, no gap (every entry counted exactly once, root checked) and no
# duplicated alert.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
# Under ASan everything is ~5x slower: a smaller log keeps CI in budget.
if [ "${TLOGWATCH_SANITIZED:-0}" = 1 ]; then
    N=${E2E_CRASH_ENTRIES:-30000}
else
    N=${E2E_CRASH_ENTRIES:-200000}
fi

# Half the log, 20 watched signings, the other half, 20 more: the crashes
# fall among entries that raise alerts.
N0=$N
tl_start c $((N / 2))
append_signings() {
    local k
    for k in $(seq 1 10); do
        tl_admin c append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main"}' >/dev/null
        tl_admin c append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main","runner_environment":"self-hosted"}' >/dev/null
    done
}
append_signings
tl_admin c grow "{\"count\":$((N / 2))}" >/dev/null
append_signings
N=$((N + 40))
ROOT="$TL_DIR_c/trusted_root.json"
RULE=(
    "watch:"
    "  - name: enclave"
    "    repository: acme/enclave-app"
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}"
    "    record_expected: true"
)
tw_config "$T/c.yaml" "$TL_URL_c" "$ROOT" "$T/c.db" "${RULE[@]}"
tw_config "$T/ref.yaml" "$TL_URL_c" "$ROOT" "$T/ref.db" "${RULE[@]}"
# The signings' indexes, and the store check after each kill: one alert
# and one signing for each signing below the cursor, in order (none lost,
# none doubled, none committed ahead of the cursor).
SIGNED="$(seq $((N0 / 2)) $((N0 / 2 + 19))) $(seq $((N0 + 20)) $((N0 + 39)))"
stored_below() { # db cursor
    local want="" i
    for i in $SIGNED; do
        [ "$i" -lt "$2" ] && want="$want${want:+ }$i"
    done
    [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from alerts order by log_index)")" = "$want" ] &&
        [ "$(sqlite3 "$1" "select group_concat(log_index, ' ') from (select log_index from signings order by log_index)")" = "$want" ]
}

# Three runs killed with kill -9, each after a commit and before the end.
# The test paces each run (tl_pace): it gets the requests that read up to
# about entry STOP (10 entries a retrieve, an inclusion proof at each
# commit point, a few checkpoint requests), then the log holds it there,
# and the kill comes once the log holds it and the commit below STOP is
# made: where the test chose, on any machine.  Commits come every 4096
# entries (FOLLOW_COMMIT_EVERY):
#   1. past the first 20 signings, halfway to the next commit: their
#      alerts were raised but not committed when the process died;
#   2. halfway between two commits, three quarters in;
#   3. halfway between the last commit and the end.
C=4096
after=$(((N0 / 2 + 20) / C * C + C))
STOPS="$(((N0 / 2 + 20 + after) / 2)) $((3 * N / 4 / C * C + C / 2)) $((((N - 1) / C * C + N) / 2))"
kills=0
prev=0
for stop in $STOPS; do
    tl_pace c $(((stop - prev) / 10 + (stop - prev) / C + 4))
    "$BIN" once -c "$T/c.yaml" >>"$T/c.out" 2>>"$T/c.err" &
    if kill_at_cursor "$T/c.yaml" $((stop / C * C)) $! c; then
        kills=$((kills + 1))
    fi
    prev=$(cursor_of "$T/c.yaml")
    check "after kill $kills (read to about $stop): the store holds the alerts and signings below the cursor ($prev), once each" \
        stored_below "$T/c.db" "$prev"
done
tl_pace c 0
c=$(status_field "$T/c.yaml" cursor)
check "killed $kills times mid-catch-up (cursor $c of $N)" test "$kills" -eq 3 -a "${c:-0}" -lt "$N"
# once exits 1 when it raised alerts of severity warning or above (here:
# the self-hosted signings), 0 when the killed runs already did.
"$BIN" once -c "$T/c.yaml" >>"$T/c.out" 2>>"$T/c.err"
rc=$?
check "restart completes (exit 0 or 1, got $rc)" test $rc -le 1
"$BIN" once -c "$T/ref.yaml" >"$T/ref.out" 2>"$T/ref.err"
check "reference run completes with the critical alerts (exit 1)" test $? -eq 1

s1=$("$BIN" status -c "$T/c.yaml" | grep -E "verified size|verified root|cursor|entries scanned")
s2=$("$BIN" status -c "$T/ref.yaml" | grep -E "verified size|verified root|cursor|entries scanned")
check "same verified size, root, cursor and counters as an uninterrupted run" test "$s1" = "$s2"
check "every entry scanned exactly once" grep -q "entries scanned $N;" <<<"$s1"
count_alerts() { sqlite3 "$1" "select count(*) from alerts"; }
check "40 alerts stored, as in the uninterrupted run (no duplicate, none lost)" \
    test "$(count_alerts "$T/c.db")" = 40 -a "$(count_alerts "$T/ref.db")" = 40
check "the same alert ids as the uninterrupted run" \
    test "$(sqlite3 "$T/c.db" "select id from alerts order by id" | md5sum)" = \
         "$(sqlite3 "$T/ref.db" "select id from alerts order by id" | md5sum)"
check "every alert reached stdout (at least once)" test "$(python3 -c '
import json,sys
ids={json.loads(l)["id"] for l in open(sys.argv[1]) if l.startswith("{")}
print(len(ids))' "$T/c.out")" = 40
finish
