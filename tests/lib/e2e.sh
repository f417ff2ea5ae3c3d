# e2e.sh: helpers for end-to-end tests that run the real tlogwatch binary
# against the real loopback test log.  Source it; it sets up a temp dir
# that is removed on exit together with every process started here.
#
#   tl_start NAME ENTRIES [flags]   start a test log, sets TL_URL_<NAME>,
#                                   TL_DIR_<NAME>; waits until it answers
#   tl_admin NAME OP [JSON]         POST /admin/OP, prints the response
#   tw_config FILE URL ROOT STATE [extra yaml]   write a tlogwatch config
#   check DESC CMD...               run CMD; count a pass or a failure
#   finish                          print "N passed, M failed"; exit status
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

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

tl_start() { # name entries [extra flags]
    local name=$1 n=$2
    shift 2
    local port dir i
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    for i in $(seq 1 600); do
        if curl -fsS "http://127.0.0.1:$port/api/v1/log" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
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
    local port dir i
    port=$(free_port)
    dir="$E2E_TMP/testlog-$name"
    mkdir -p "$dir"
    "$TLOGWATCH_TESTLOG" --listen "127.0.0.1:$port" --entries "$n" \
        --dir "$dir" --tiles "$@" >"$dir/stdout" 2>"$dir/stderr" &
    E2E_PIDS+=($!)
    eval "TL_PID_$name=$!"
    eval "TL_URL_$name=http://127.0.0.1:$port"
    eval "TL_DIR_$name=$dir"
    for i in $(seq 1 600); do
        if curl -fsS "http://127.0.0.1:$port/checkpoint" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "tiles test log $name did not start:" >&2
    cat "$dir/stderr" >&2
    return 1
}
