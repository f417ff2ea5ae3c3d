#!/bin/bash
# e2e_follow.sh: `tlogwatch once` and `run` follow the loopback test log
# with proof (DESIGN.md "What must be proven", points 1-5 and 7), and each
# misbehaviour of the log raises exactly its alert, with evidence that an
# independent checker (the verify subcommands, here) can check offline.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN

# ---- clean catch-up from 0, then growth ---------------------------------
tl_start a 2500
ROOT_A="$TL_DIR_a/trusted_root.json"
tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db"
"$BIN" once -c "$T/a.yaml" >"$T/a1.out" 2>"$T/a1.err"
check "once from 0 exits 0" test $? -eq 0
check "status: verified size 2500" test "$(status_field "$T/a.yaml" "verified size")" = 2500
check "status: cursor 2500" test "$(status_field "$T/a.yaml" cursor)" = 2500
check "no alert on a clean catch-up" test "$(alert_types "$T/a1.out")" = ""
tl_admin a grow '{"count":700}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/a2.out" 2>"$T/a2.err"
check "once after growth exits 0" test $? -eq 0
check "cursor follows growth to 3200" test "$(status_field "$T/a.yaml" cursor)" = 3200
check "a consistency proof was verified" \
    grep -q "consistency proofs [1-9]" <("$BIN" status -c "$T/a.yaml")

# ---- run: growth across several polls, SIGTERM stops cleanly ------------
# Each growth is followed before the next one comes (one poll each),
# however slow the machine.
cursor_is() { [ "$(status_field "$1" cursor)" = "$2" ]; }
"$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
want=3200
followed=0
for k in 1 2 3; do
    tl_admin a grow '{"count":150}' >/dev/null
    want=$((want + 150))
    wait_until 120 cursor_is "$T/a.yaml" "$want" && followed=$((followed + 1))
done
check "run follows growth over several polls ($followed of 3)" test "$followed" -eq 3
# SIGHUP: a valid config is swapped in, an invalid one is refused and the
# running one stays.  Each signal is sent once the daemon answered the one
# before (its log line), so that it reads the file it was meant for.
cp "$T/a.yaml" "$T/a.good"
TW_POLL=2s tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db"
kill -HUP $RUN_PID
check "SIGHUP reloads a valid config" \
    wait_until 60 grep -q "configuration reloaded" "$T/run.err"
echo "logs: [ {name: x, url: 'http://192.0.2.1/'} ]" >"$T/a.yaml"
kill -HUP $RUN_PID
wait_until 60 grep -q 'keeping the running configuration' "$T/run.err"
check "SIGHUP refuses an invalid config and keeps running" \
    bash -c "grep -q 'keeping the running configuration' '$T/run.err' && kill -0 $RUN_PID"
cp "$T/a.good" "$T/a.yaml"
tl_admin a grow '{"count":7}' >/dev/null
want=$((want + 7))
check "still following after the refused reload" \
    wait_until 120 cursor_is "$T/a.yaml" "$want"
kill -TERM $RUN_PID
wait $RUN_PID
check "run exits 0 on SIGTERM" test $? -eq 0

# ---- start: latest seeds from an inclusion proof ------------------------
TW_START=latest tw_config "$T/l.yaml" "$TL_URL_a" "$ROOT_A" "$T/l.db"
"$BIN" once -c "$T/l.yaml" >"$T/l1.out" 2>"$T/l1.err"
check "start latest: once exits 0" test $? -eq 0
check "start latest: cursor at the tree size" test "$(status_field "$T/l.yaml" cursor)" = "$want"
check "start latest: nothing scanned" grep -q "entries scanned 0;" <("$BIN" status -c "$T/l.yaml")
tl_admin a grow '{"count":33}' >/dev/null
"$BIN" once -c "$T/l.yaml" >"$T/l2.out" 2>"$T/l2.err"
check "start latest: then reads what follows, root-checked" \
    grep -q "entries scanned 33; .* root checks 1" <("$BIN" status -c "$T/l.yaml")

# ---- start at an index --------------------------------------------------
TW_START=1234 tw_config "$T/i.yaml" "$TL_URL_a" "$ROOT_A" "$T/i.db"
"$BIN" once -c "$T/i.yaml" >/dev/null 2>"$T/i.err"
check "start 1234: once exits 0" test $? -eq 0
check "start 1234: scanned exactly the rest" \
    grep -q "entries scanned $((want + 33 - 1234));" <("$BIN" status -c "$T/i.yaml")

# ---- once gives up when the checkpoint verifies but no proof comes ------
# The log's signed checkpoint (size +5) is served by a stand-in that
# answers nothing else: each poll verifies the checkpoint, and each proof
# request fails. once must end with exit 3 (it used to poll forever: the
# verified checkpoint reset its failure count).
tl_admin a grow '{"count":5}' >/dev/null
tl_get a /api/v1/log >"$T/log.json"
PORT=${TL_URL_a##*:}
kill "$TL_PID_a"
wait "$TL_PID_a" 2>/dev/null
python3 - "$PORT" "$T/log.json" <<'PY' &
import http.server, sys
port, body = int(sys.argv[1]), open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/api/v1/log":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
E2E_PIDS+=($!)
check "no proof: the stand-in serves the signed checkpoint" \
    wait_until 60 curl -fsS -o /dev/null "$TL_URL_a/api/v1/log" 2>/dev/null
before=$(status_field "$T/l.yaml" "verified size")
timeout 120 "$BIN" once -c "$T/l.yaml" >"$T/np.out" 2>"$T/np.err"
RC=$?
check "no proof: once ends with exit 3 [$RC]" test "$RC" -eq 3
check "no proof: the verified size did not move" \
    test "$(status_field "$T/l.yaml" "verified size")" = "$before"

finish
