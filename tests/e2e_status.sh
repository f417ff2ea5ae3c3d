#!/bin/bash
# e2e_status.sh: `tlogwatch status` (text and --format json) reads the one
# read model (issue 12):
#  - a log that was never reached (its URL a closed loopback port, before
#    any checkpoint): the daemon records its errors by name, and status
#    shows them (text: last error and recent errors; json: recent_errors),
#    instead of "see the daemon's log";
#  - its twin, a log followed: shards with verified size and cursor, the
#    same figures in text and json;
#  - the json document has the schema and its top-level keys; an unknown
#    --format is a usage error.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# ---- a log never reached ----------------------------------------------
# The test log gives a trusted root naming its URL; once it is stopped,
# that port is closed: every request fails to connect.
tl_start off 10
ROOT="$TL_DIR_off/trusted_root.json"
kill "$TL_PID_off"
wait "$TL_PID_off" 2>/dev/null
TW_UNREACHABLE=2s tw_config "$T/off.yaml" "$TL_URL_off" "$ROOT" "$T/off.db"
"$BIN" once -c "$T/off.yaml" >"$T/once.out" 2>"$T/once.err"
RC=$?
check "once against a closed port: exit 3 [$RC]" test "$RC" -eq 3
check "the daemon logged the connection error" \
    grep -qi "connect" "$T/once.err"
"$BIN" status -c "$T/off.yaml" >"$T/off.txt" 2>"$T/off.err"
check "status exits 0" test $? -eq 0
check "status text: no verified checkpoint yet" \
    grep -q "^  no verified checkpoint yet$" "$T/off.txt"
check "status text: not sent to the daemon's log" \
    bash -c '! grep -q "see the daemon" "$1"' _ "$T/off.txt"
check "status text: the connection error as last error" \
    grep -Eqi "^  last error      .*connect" "$T/off.txt"
check "status text: recent errors listed" grep -q "^  recent errors:" "$T/off.txt"
"$BIN" status -c "$T/off.yaml" --format json >"$T/off.json" 2>"$T/offj.err"
check "status json exits 0" test $? -eq 0
check "status json: recent_errors hold the connection error" \
    python3 - "$T/off.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "tlogwatch.status/v1", d["schema"]
(log,) = d["logs"]
assert log["name"] == "testlog" and log["shards"] == [], log
errs = log["recent_errors"]
assert 1 <= len(errs) <= 10, errs
assert all("connect" in e["message"].lower() for e in errs), errs
assert log["last_error"]["message"] == errs[0]["message"], log
assert log["verified_size"] is None and log["stale"] is True, log
PY

# ---- its twin: a log followed ------------------------------------------
tl_start a 300
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db"
"$BIN" once -c "$T/a.yaml" >"$T/a.out" 2>"$T/a.err"
check "once against the test log: exit 0" test $? -eq 0
"$BIN" status -c "$T/a.yaml" >"$T/a.txt"
"$BIN" status -c "$T/a.yaml" --format json >"$T/a.json"
check "status text and json agree on size, cursor and counters" \
    python3 - "$T/a.json" "$T/a.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
for k in ("schema", "generated_at", "logs", "rules", "alerts", "outbox",
          "history"):
    assert k in d, k
(log,) = d["logs"]
(sh,) = log["shards"]
assert sh["verified_size"] == 300 and sh["cursor"] == 300, sh
assert log["recent_errors"] == [] and log["last_error"] is None, log
assert log["stale"] is False, log
assert ("  verified size   %d\n" % sh["verified_size"]) in text
assert ("  cursor          %d (shard-local %d)\n"
        % (sh["cursor"], sh["shard_cursor"])) in text
assert ("entries scanned %d; checkpoints %d; consistency proofs %d; "
        "root checks %d\n" % (sh["entries_scanned"],
                              sh["checkpoints_verified"],
                              sh["proofs_verified"],
                              sh["root_checks_passed"])) in text
ob = d["outbox"]
assert ("outbox: %d pending, %d sent, %d failed\n"
        % (ob["pending"], ob["sent"], ob["failed"])) in text
assert isinstance(d["history"], list), d["history"]
PY
check "status text: no error shown for a healthy log" \
    bash -c '! grep -q "last error" "$1"' _ "$T/a.txt"
"$BIN" status -c "$T/a.yaml" --format yaml >/dev/null 2>"$T/bad.err"
check "status --format yaml: usage error (2)" test $? -eq 2
finish
