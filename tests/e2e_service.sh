#!/bin/bash
# e2e_service.sh: tlogwatch as a systemd service, with the real binary, the
# real test log and a real AF_UNIX datagram socket bound by python3 in
# place of systemd's NOTIFY_SOCKET:
#  - Type=notify: READY=1 is the first message and comes once the store is
#    open (the receiver checks the state file exists when it arrives);
#    WATCHDOG=1 keeps coming at half of WATCHDOG_USEC; SIGHUP gives
#    RELOADING=1 then READY=1 again; STOPPING=1 on SIGTERM is the last
#    message; an abstract @name and a path both work;
#    a WATCHDOG_PID of another process gets READY and STOPPING but no
#    ping; a config that does not load exits 2 without READY;
#  - logging: with JOURNAL_STREAM naming stderr's device:inode every line
#    is "<N>message" (N a syslog priority, no time); with stderr elsewhere
#    every line starts with an RFC 3339 UTC time (milliseconds) of now and
#    the level;
#  - file modes under a permissive shell umask (022): state.db, its -wal
#    and -shm 0600 (the daemon sets umask 077), report files 0640 in a
#    0750 directory it created.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
umask 022

tl_start a 40
ROOT="$TL_DIR_a/trusted_root.json"
mkdir -p "$T/state"
tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT" "$T/state/a.db" \
    "report: {every: 2s, dir: $T/reports}"

# notify_start NAME ADDR: a datagram socket at ADDR (a path, or @name for
# an abstract one) that appends "TIME MESSAGE" lines to $T/NAME.msgs; a
# READY=1 line also says whether the state file existed then.
notify_start() {
    python3 - "$2" "$T/$1.msgs" "$T/state/a.db" <<'PY' &
import os, socket, sys, time
addr, out, state = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".up", "w").close()
while True:
    m = s.recv(4096).decode("utf-8", "replace")
    extra = ""
    if m == "READY=1":
        extra = " store=%d" % os.path.exists(state)
    with open(out, "a") as f:
        f.write("%.3f %s%s\n" % (time.time(), m, extra))
PY
    E2E_PIDS+=($!)
    wait_until 60 test -e "$T/$1.msgs.up"
}
count_of() { # name message
    [ -f "$T/$1.msgs" ] || { echo 0; return; }
    awk -v m="$2" '$2 == m { n++ } END { print n + 0 }' "$T/$1.msgs"
}
at_least() { [ "$(count_of "$1" "$2")" -ge "$3" ]; } # name message n

# ---- a config that does not load: exit 2, never READY ------------------
notify_start bad "@tlw-e2e-bad-$$"
NOTIFY_SOCKET="@tlw-e2e-bad-$$" "$BIN" run -c "$T/missing.yaml" \
    >/dev/null 2>"$T/bad.err"
check "run with a missing config exits 2" test $? -eq 2
check "... and never says READY=1" test "$(count_of bad READY=1)" -eq 0

# ---- run under a "systemd": abstract socket, watchdog, journal ---------
notify_start sd "@tlw-e2e-$$"
: >"$T/run.err"
JS=$(stat -c '%d:%i' "$T/run.err")
NOTIFY_SOCKET="@tlw-e2e-$$" WATCHDOG_USEC=1000000 JOURNAL_STREAM="$JS" \
    "$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>>"$T/run.err" &
RPID=$!
E2E_PIDS+=($RPID)
check "READY=1 arrives" wait_until 120 at_least sd READY=1 1
check "READY=1 is the first message, sent with the store open" \
    bash -c "head -n 1 '$T/sd.msgs' | grep -q ' READY=1 store=1$'"
check "WATCHDOG=1 keeps coming (8 pings)" wait_until 120 at_least sd WATCHDOG=1 8
check "pings come every half of WATCHDOG_USEC (0.5 s)" \
    python3 - "$T/sd.msgs" <<'PY'
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1] == "WATCHDOG=1"]
# The first ping goes with READY, the timer's on a 0.5 s cadence after it:
# a late one (loaded machine) is followed by a shorter gap, but none comes
# before its time, so the mean from the first is at least 0.5 s; and,
# lateness not adding up on a cadence, well under the 1 s of WATCHDOG_USEC.
mean = (t[-1] - t[0]) / (len(t) - 1)
ok = len(t) >= 8 and 0.45 <= mean <= 0.9
if not ok:
    print("  %d pings, mean gap %.3f s" % (len(t), mean))
sys.exit(0 if ok else 1)
PY

# Files while the daemon runs: the WAL and SHM exist now.
wait_until 120 test -e "$T/reports"
report_files() { [ "$(find "$T/reports" -name 'report-*' ! -name '*.tmp' | wc -l)" -ge 3 ]; }
wait_until 120 report_files
check "state.db, -wal and -shm are 0600 (shell umask 022)" \
    bash -c "[ \"\$(stat -c '%a' '$T/state/a.db' '$T/state/a.db-wal' '$T/state/a.db-shm' | sort -u)\" = 600 ]"
check "report files are 0640" \
    bash -c "[ \"\$(find '$T/reports' -name 'report-*' ! -name '*.tmp' -exec stat -c '%a' {} + | sort -u)\" = 640 ]"
check "the report directory it created is 0750" \
    test "$(stat -c '%a' "$T/reports")" = 750

kill -HUP $RPID
check "SIGHUP: READY=1 again after the reload" wait_until 120 at_least sd READY=1 2
check "... after RELOADING=1 (once); the reload is logged" \
    bash -c "[ \"\$(grep -E ' (RELOADING|READY)=1' '$T/sd.msgs' | cut -d' ' -f2 | tr '\n' ' ')\" = 'READY=1 RELOADING=1 READY=1 ' ] &&
             grep -q 'configuration reloaded' '$T/run.err'"
pings_after_reload() {
    [ "$(awk '$2 == "READY=1" { r++ } r == 2 && $2 == "WATCHDOG=1" { n++ } END { print n + 0 }' "$T/sd.msgs")" -ge 2 ]
}
check "... two pings after it" wait_until 120 pings_after_reload
kill -TERM $RPID
wait $RPID
check "run exits 0 on SIGTERM" test $? -eq 0
wait_until 60 at_least sd STOPPING=1 1
check "STOPPING=1 is the last message, sent once" \
    bash -c "[ \"\$(tail -n 1 '$T/sd.msgs' | cut -d' ' -f2)\" = STOPPING=1 ] &&
             [ \"\$(grep -c STOPPING=1 '$T/sd.msgs')\" = 1 ]"
check "journal mode: every stderr line is <N>message" \
    bash -c "[ -s '$T/run.err' ] && ! grep -Ev '^<[0-7]>[^<]' '$T/run.err'"
check "journal mode: info lines are <6>, no timestamps" \
    bash -c "grep -q '^<6>run: following 1 log' '$T/run.err' &&
             ! grep -Eq '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (info|warning)' '$T/run.err'"

# ---- a path socket, another process's watchdog, stderr not the journal --
notify_start p "$T/notify.sock"
: >"$T/journal.other"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
    JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.other") \
    TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/a.yaml" >"$T/run2.out" 2>"$T/run2.err" &
RPID=$!
E2E_PIDS+=($RPID)
check "path socket: READY=1 arrives" wait_until 120 at_least p READY=1 1
# Absence takes a window: two more periodic reports (2 s apart) go by,
# at least 20 would-be ping intervals.
reports_now() { find "$T/reports" -name 'report-*.json' | wc -l; }
R0=$(reports_now)
more_reports() { [ "$(reports_now)" -ge $((R0 + 2)) ]; }
check "the daemon runs on (two more reports)" wait_until 120 more_reports
kill -TERM $RPID
wait $RPID
check "WATCHDOG_PID of another process: READY, STOPPING, no ping" \
    bash -c "[ \"\$(cut -d' ' -f2 '$T/p.msgs' | tr '\n' ' ')\" = 'READY=1 STOPPING=1 ' ]"
check "plain mode: every stderr line starts with an RFC 3339 UTC time and a level" \
    bash -c "[ -s '$T/run2.err' ] &&
             ! grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (debug|info|warning|error): ' '$T/run2.err'"
check "plain mode: the times are now (UTC, within 10 minutes)" \
    python3 - "$T/run2.err" <<'PY'
import datetime, sys
now = datetime.datetime.now(datetime.timezone.utc)
ok = True
for line in open(sys.argv[1]):
    t = datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f")
    if abs((now - t.replace(tzinfo=datetime.timezone.utc)).total_seconds()) > 600:
        print("  off:", line.strip())
        ok = False
sys.exit(0 if ok else 1)
PY
check "plain mode: no <N> prefixes" bash -c "! grep -q '^<[0-7]>' '$T/run2.err'"

# ---- once: journal prefixes too, no notify without NOTIFY_SOCKET -------
: >"$T/once.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/once.err") "$BIN" once -c "$T/a.yaml" \
    >/dev/null 2>>"$T/once.err"
check "once exits 0" test $? -eq 0
check "once in journal mode: <N> lines only" \
    bash -c "[ -s '$T/once.err' ] && ! grep -Ev '^<[0-7]>' '$T/once.err'"

finish
