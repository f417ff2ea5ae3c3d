#!/bin/bash
# e2e_status.sh: `tlogwatch status` (text and --format json) reads the one
# read model (issue 12):
#  - a log that was never reached (its URL a closed loopback port, before
#    any checkpoint): the daemon records its errors by name, and status
#    shows them (text: last error and recent errors; json: recent_errors),
#    instead of "see the daemon's log", and so do the reports;
#  - its twin, a log followed: shards with verified size and cursor, the
#    same figures in text and json;
#  - the log forks: status shows the log.inconsistent as the log's last
#    error, and the reports (md, json, html) count it among the log's
#    errors and alerts and show the conflicting signed note;
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
for f in md json html; do
    "$BIN" report -c "$T/off.yaml" --since 1h --format $f >"$T/off-report.$f" 2>>"$T/offj.err"
done
check "report: the log never reached is named with its connection error (md, json, html)" \
    python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
md = open(t + "/off-report.md").read()
assert "### Log `testlog`" in md and "never reached" in md, md
r = json.load(open(t + "/off-report.json"))
(u,) = r["unreached_logs"]
assert u["name"] == "testlog" and u["errors"], u
assert all("connect" in e["message"].lower() for e in u["errors"]), u
html = open(t + "/off-report.html").read()
assert "Never reached" in html and "Failed to connect" in html
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
# a watch rule and no CT log: the rule is shown, no CT certificate line
# (nothing can be seen in CT); e2e_ct_surfaces has its twin with one
tw_config "$T/r.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "watch:" "  - {name: app, repository: example/app}"
"$BIN" status -c "$T/r.yaml" >"$T/r.txt" 2>"$T/r.err"
check "status text: a rule, no CT line without a CT log" \
    bash -c 'grep -q "^rule app  repository example/app" "$1" &&
        ! grep -q "seen in CT" "$1"' _ "$T/r.txt"

# ---- the log forks: status and the reports show its error and evidence --
tl_admin a fork '{"index":123}' >/dev/null
tl_admin a grow '{"count":10}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/fork.out" 2>"$T/fork.err"
check "fork: once exits 1" test $? -eq 1
"$BIN" status -c "$T/a.yaml" --format json >"$T/fork.json"
"$BIN" status -c "$T/a.yaml" >"$T/fork.txt"
for f in md json html; do
    "$BIN" report -c "$T/a.yaml" --since 1h --format $f >"$T/fork-report.$f"
done
check "fork: status (json, text) and the reports show the log's error and the conflicting note" \
    python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
alerts = [json.loads(l) for l in open(t + "/fork.out") if l.startswith("{")]
(a,) = [x for x in alerts if x["type"] == "log.inconsistent"]
new_note = a["evidence"]["new_checkpoint"]
new_root = new_note.split("\n")[2]
st = json.load(open(t + "/fork.json"))
(log,) = st["logs"]
assert log["last_error"]["message"].startswith("log.inconsistent: "), log
assert "  last error      " in open(t + "/fork.txt").read()
r = json.load(open(t + "/fork-report.json"))
(rl,) = r["logs"]
assert rl["last_error"].startswith("log.inconsistent: "), rl["last_error"]
assert len(rl["period"]["errors"]) >= 1, rl["period"]
assert rl["period"]["alerts"]["critical"] == 1, rl["period"]["alerts"]
(ev,) = rl["period"]["evidence"]
assert ev["new_checkpoint"] == new_note, ev
md = open(t + "/fork-report.md").read()
assert "| last error | never |" not in md and "| last error | " in md
assert "Conflicting checkpoints" in md and new_root in md
html = open(t + "/fork-report.html").read()
assert "<th>Last error</th><td>never" not in html
assert "Conflicting checkpoints" in html and new_root in html
PY

"$BIN" status -c "$T/a.yaml" --format yaml >/dev/null 2>"$T/bad.err"
check "status --format yaml: usage error (2)" test $? -eq 2
finish
