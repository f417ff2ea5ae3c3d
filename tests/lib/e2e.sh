# e2e.sh: helpers for end-to-end tests that run the real tlogwatch binary
# against the real loopback test log.  Source it; it sets up a temp dir
# that is removed on exit together with every process started here.
#
#   tl_start NAME ENTRIES [flags]   start a test log, sets TL_URL_<NAME>,
#                                   TL_DIR_<NAME>; waits until it answers
#   tl_start_tiles / tl_start_ct NAME ENTRIES [flags]  the same, --tiles / --ct
#   ct_trusted_root CT_ROOT REKOR_ROOT OUT  a CT test log's trusted root
#                                   with a Rekor test log's tlogs
#   tl_admin NAME OP [JSON]         POST /admin/OP, prints the response
#   tw_config FILE URL ROOT STATE [extra yaml]   write a tlogwatch config
#   check DESC CMD...               run CMD; count a pass or a failure
#   finish                          print "N passed, M failed"; exit status
#   wait_until SECONDS CMD...       poll CMD until it succeeds or time is up
#   tl_pace NAME REQUESTS           let a follower do only that much work
#   kill_at_cursor CONFIG N PID [LOG]  kill -9 PID once its cursor is at N
#
# A test that must interrupt work (kill -9, a deadline) controls the pace
# of that work (tl_pace, /admin/delay, a receiver that never answers); a
# test that waits for something polls for it (wait_until) with a generous
# deadline.  None hopes the machine is fast enough, or slow enough.
set -u
: "${TLOGWATCH_BIN:?}" "${TLOGWATCH_TESTLOG:?}"
E2E_TMP=$(mktemp -d /tmp/tlw-e2e.XXXXXX)
E2E_PIDS=()
E2E_PASS=0
E2E_FAIL=0

e2e_cleanup() {
    local p
    for p in "${E2E_PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${E2E_KEEP:-}" = "" ]; then
        rm -rf "$E2E_TMP"
    else
        echo "kept $E2E_TMP"
    fi
}
trap e2e_cleanup EXIT

# A free port below the ephemeral range: no client connection of the
# suite can take it before the server binds it (tests/tools/free_port.py).
free_port() {
    python3 "$TLOGWATCH_SRC/tests/tools/free_port.py"
}

e2e_up_or_gone() { # url pid: URL answers, or PID ended
    curl -fsS -o /dev/null "$1" 2>/dev/null || ! kill -0 "$2" 2>/dev/null
}

tl_start() { # name entries [extra flags]
    local name=$1 n=$2
    shift 2
    local port dir
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    # Building a large log takes a while on a loaded machine.
    wait_until 300 e2e_up_or_gone "http://127.0.0.1:$port/api/v1/log" $!
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/api/v1/log" 2>/dev/null; then
        return 0
    fi
    echo "test log $name did not start:" >&2
    cat "$dir/stderr" >&2
    return 1
}

tl_admin() { # name op [json]
    local url
    eval "url=\$TL_URL_$1"
    curl -fsS -X POST -H 'Content-Type: application/json' \
        --data "${3:-{\}}" "$url/admin/$2"
}

tl_get() { # name path
    local url
    eval "url=\$TL_URL_$1"
    curl -fsS "$url$2"
}

tw_config() { # file url trusted_root state [extra yaml lines]
    local file=$1 url=$2 root=$3 state=$4
    shift 4
    cat >"$file" <<YAML
state: $state
trusted_root: $root
logs:
  - name: testlog
    url: $url
    poll_interval: ${TW_POLL:-1s}
    start: ${TW_START:-0}
    max_concurrency: ${TW_CONC:-8}
    stale_after: ${TW_STALE:-1h}
    unreachable_after: ${TW_UNREACHABLE:-10m}
notify:
  - {name: console, type: stdout}
YAML
    local line
    for line in "$@"; do
        printf '%s\n' "$line" >>"$file"
    done
}

check() { # desc cmd...
    local desc=$1
    shift
    if "$@"; then
        E2E_PASS=$((E2E_PASS + 1))
        echo "ok   - $desc"
    else
        E2E_FAIL=$((E2E_FAIL + 1))
        echo "FAIL - $desc"
    fi
}

finish() {
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (0), or
# until SECONDS of wall-clock time have passed (1).  The deadline only
# bounds a failing test: the wait ends as soon as CMD holds, so make it
# generous (the machine may be loaded many times over).
# reg_start: Debian's docker-registry behind tests/tools/registry.py, in
# $E2E_TMP/reg; sets PPORT and RPORT (read from its first line) and checks
# it started.  Returns 1, after showing its stderr, when it did not.
reg_start() {
    python3 "$TLOGWATCH_SRC/tests/tools/registry.py" "$E2E_TMP/reg" \
        >"$E2E_TMP/reg.out" 2>"$E2E_TMP/reg.err" &
    E2E_PIDS+=($!)
    wait_until 120 test -s "$E2E_TMP/reg.out"
    read -r PPORT RPORT <"$E2E_TMP/reg.out"
    check "registry: started" test -n "${RPORT:-}"
    [ -n "${RPORT:-}" ] || { cat "$E2E_TMP/reg.err" >&2; return 1; }
}

wait_until() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.1
    done
}

# tl_pace NAME REQUESTS: the test log answers the next REQUESTS API
# requests at once, then one request per 1,000 s (/admin/rate: 429 with
# Retry-After beyond it), so a follower stops after that much work,
# however fast or slow the machine.  tl_pace NAME 0 lifts the limit.
tl_pace() {
    eval "TL_HELD_$1=$(tl_refused "$1")"
    if [ "$2" -eq 0 ]; then
        tl_admin "$1" rate '{"rps":0}' >/dev/null
    else
        tl_admin "$1" rate "{\"rps\":0.001,\"burst\":$2}" >/dev/null
    fi
}

# tl_refused NAME: how many requests the test log refused with a 429 of
# its rate limit so far.
tl_refused() {
    tl_get "$1" /admin/stats | sed -n 's/.*"rate_limited":\([0-9]*\).*/\1/p'
}

# tl_held NAME: the log refused a request since the last tl_pace: the
# paced follower has used up what it was given and waits.
tl_held() {
    local held
    eval "held=\$TL_HELD_$1"
    [ "$(tl_refused "$1")" -gt "$held" ]
}

# cursor_of CONFIG: the committed cursor of the first shard, 0 before
# there is one.
cursor_of() {
    local c
    c=$(status_field "$1" cursor 2>/dev/null)
    echo "${c:-0}"
}

e2e_reached_or_gone() { # config n pid [log]
    ! kill -0 "$3" 2>/dev/null && return 0
    [ "$(cursor_of "$1")" -ge "$2" ] && { [ -z "${4:-}" ] || tl_held "$4"; }
}

# kill_at_cursor CONFIG N PID [LOG]: wait (at most 300 s) until the
# committed cursor of CONFIG reached N and, with LOG, the test log LOG
# holds the follower (tl_held), or until PID (a child of this shell)
# ended; then kill -9 PID and reap it.  0 when PID was still running at
# the kill and its cursor had reached N.  Pace the follower (tl_pace) so
# that it cannot finish first.
kill_at_cursor() {
    local alive=1
    wait_until 300 e2e_reached_or_gone "$@"
    kill -9 "$3" 2>/dev/null && alive=0
    wait "$3" 2>/dev/null
    [ "$alive" -eq 0 ] && [ "$(cursor_of "$1")" -ge "$2" ]
}

# status_field CONFIG KEY: a number from `tlogwatch status` for the first
# (or only) shard, e.g. "verified size", "cursor".
status_field() {
    "$TLOGWATCH_BIN" status -c "$1" | awk -v k="$2" '
        index($0, "  " k " ") == 1 { sub("^  " k " +", ""); split($0, a, " "); print a[1]; exit }'
}

# alerts_of FILE TYPE: how many JSON lines of that alert type in FILE.
alerts_of() {
    python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    if json.loads(line).get("type") == sys.argv[2]:
        n += 1
print(n)
PY
}

# alert_types FILE: the sorted alert types in FILE, space separated.
alert_types() {
    python3 - "$1" <<'PY'
import json, sys
t = sorted(json.loads(l)["type"] for l in open(sys.argv[1]) if l.strip().startswith("{"))
print(" ".join(t))
PY
}

# tl_start_tiles NAME ENTRIES [flags]: tl_start for a Rekor v2 test log
# (--tiles: the tlog-tiles read API instead of the v1 API; origin
# "127.0.0.1:PORT" unless --origin is given).  Sets TL_URL_<NAME>,
# TL_DIR_<NAME> (trusted_root.json with the Ed25519 key, tiles-log.pub,
# tiles-log.vkey) and TL_PID_<NAME>; waits until /checkpoint answers.
tl_start_tiles() { # name entries [extra flags]
    local name=$1 n=$2
    shift 2
    local port dir
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" --tiles "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    wait_until 300 e2e_up_or_gone "http://127.0.0.1:$port/checkpoint" $!
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/checkpoint" 2>/dev/null; then
        return 0
    fi
    echo "tiles test log $name did not start:" >&2
    cat "$dir/stderr" >&2
    return 1
}

# tl_start_ct NAME ENTRIES [flags]: tl_start for an RFC 6962 CT test log
# (--ct: /ct/v1/get-sth, get-entries, ...; e.g. --ct-batch N, --prefix
# /2022).  Sets TL_URL_<NAME> (http://127.0.0.1:PORT; the CT API is at
# $(cat $TL_DIR_<NAME>/url), the prefix included), TL_DIR_<NAME>
# (trusted_root.json with the key under ctlogs, log.pub) and
# TL_PID_<NAME>; waits until the log has written its url file.
tl_start_ct() { # name entries [extra flags]
    local name=$1 n=$2
    shift 2
    local port dir
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" --ct "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    wait_until 300 e2e_ct_up_or_gone "$dir/url" $!
    if [ -s "$dir/url" ] &&
        curl -fsS -o /dev/null "$(cat "$dir/url")/ct/v1/get-sth" 2>/dev/null; then
        return 0
    fi
    echo "CT test log $name did not start:" >&2
    cat "$dir/stderr" >&2
    return 1
}

# ct_trusted_root CT_ROOT REKOR_ROOT OUT: the CT test log's trusted root
# (its key under ctlogs, its CA issuing the watched certificates) with
# the Rekor test log's tlogs, written to OUT.
ct_trusted_root() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
ct, rk = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ct["tlogs"] = rk["tlogs"]
json.dump(ct, open(sys.argv[3], "w"), indent=2)
PY
}

e2e_ct_up_or_gone() { # url-file pid: the file is written, or PID ended
    [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null
}
