#!/bin/bash
# demo.sh BUILD_DIR: the newcomer's demo (`make demo`), offline, in about a
# minute.  Starts three things on 127.0.0.1:
#   - the test log (BUILD_DIR/bin/tlogwatch-testlog): a Rekor v1 log with a
#     real Merkle tree, a real log key and a Fulcio-like CA, that can be
#     told to misbehave through its admin API;
#   - a webhook receiver (python3 http.server) that prints every alert that
#     arrives and checks its HMAC signature;
#   - when installed, a Prometheus Alertmanager that gets the warning and
#     critical alerts through the alertmanager sink (shown at the end);
#   - `tlogwatch run` with a config written to a temporary directory,
#     watching the repository acme/enclave-app;
# then tells a short story through the test log's admin API (an expected
# signing, a self-hosted runner, an impostor certificate, a forked log) and
# shows each alert as it reaches the receiver.  Every process started here
# is stopped on exit or Ctrl-C, and the temporary directory is removed
# (DEMO_KEEP=1 keeps it).  The three run in their own sessions, so that a
# Ctrl-C reaches this script only, which stops them in order.
set -u
BUILD=${1:-build}
TLW="$BUILD/bin/tlogwatch"
TESTLOG="$BUILD/bin/tlogwatch-testlog"
for b in "$TLW" "$TESTLOG"; do
    if [ ! -x "$b" ]; then
        echo "demo: $b not found: build first (make build)" >&2
        exit 2
    fi
done
TLW=$(realpath "$TLW")
TESTLOG=$(realpath "$TESTLOG")
DEMO=$(mktemp -d /tmp/tlogwatch-demo.XXXXXX)
PIDS=()

if [ -t 1 ]; then
    B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GRN=$'\e[32m' YEL=$'\e[33m' CYN=$'\e[36m' R=$'\e[0m'
else
    B="" DIM="" RED="" GRN="" YEL="" CYN="" R=""
fi

cleanup() {
    local p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "${DEMO_KEEP:-}" = "" ]; then
        rm -rf "$DEMO"
    else
        echo "demo: kept $DEMO"
    fi
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping"; exit 130' INT TERM

say() { printf '\n%s==> %s%s\n' "$B" "$*" "$R"; }
note() { printf '    %s%s%s\n' "$DIM" "$*" "$R"; }
die() {
    printf '%sdemo: %s%s\n' "$RED" "$*" "$R" >&2
    exit 1
}

# below the ephemeral range, so no client connection takes it first
free_port() {
    python3 "$(dirname "$0")/../tests/tools/free_port.py"
}

admin() { # op [json]
    curl -fsS -X POST -H 'Content-Type: application/json' \
        --data "${2:-{\}}" "$LOG_URL/admin/$1"
}

# How many alerts of TYPE the receiver got so far.
received() {
    python3 - "$DEMO/received.jsonl" "$1" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        if json.loads(line).get("type") == sys.argv[2]:
            n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# Wait (at most 30 s) until the receiver has one more alert of TYPE.
await_alert() { # type before
    local i
    for i in $(seq 1 300); do
        if [ "$(received "$1")" -gt "$2" ]; then
            return 0
        fi
        if ! kill -0 "$TLW_PID" 2>/dev/null; then
            die "tlogwatch stopped; its log: $DEMO/tlogwatch.err"
        fi
        sleep 0.1
    done
    printf '    %s(no %s at the receiver after 30 s: see %s/tlogwatch.out and .err)%s\n' \
        "$YEL" "$1" "$DEMO" "$R"
    return 1
}

pause() { sleep "${DEMO_PAUSE:-2}"; }

# ---- 1. the test log ------------------------------------------------------
say "Starting a test log on 127.0.0.1 with 2,000 entries of other people's signings"
setsid "$TESTLOG" --dir "$DEMO/testlog" --entries 2000 >"$DEMO/testlog.out" 2>"$DEMO/testlog.err" &
PIDS+=($!)
for i in $(seq 1 300); do
    [ -s "$DEMO/testlog/url" ] && break
    sleep 0.1
done
[ -s "$DEMO/testlog/url" ] || die "the test log did not start: $(cat "$DEMO/testlog.err")"
LOG_URL=$(cat "$DEMO/testlog/url")
note "Rekor v1 API at $LOG_URL (log key and CA in $DEMO/testlog/trusted_root.json)"

# ---- 2. the receiver --------------------------------------------------------
HOOK_PORT=$(free_port)
export DEMO_HOOK_SECRET
DEMO_HOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
say "Starting a webhook receiver on 127.0.0.1:$HOOK_PORT (it checks the HMAC of each alert)"
setsid python3 -u - "$HOOK_PORT" "$DEMO/received.jsonl" <<'PY' &
import hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
secret = os.environ["DEMO_HOOK_SECRET"].encode()
tty = sys.stdout.isatty()
colour = {"critical": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;32m"}

class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig = self.headers.get("X-Tlogwatch-Signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        want = hmac.new(secret, parts.get("t", "").encode() + b"." + body,
                        hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(want, parts.get("v1", ""))
        self.send_response(200)
        self.end_headers()
        try:
            a = json.loads(body)
        except ValueError:
            print("    [receiver] not JSON: %r" % body[:80])
            return
        sev = a.get("severity", "?")
        c, r = (colour.get(sev, ""), "\033[0m") if tty else ("", "")
        print("    [receiver] %s%-8s %s%s  %s  (HMAC %s)" % (
            c, sev, a.get("type"), r, a.get("summary", ""),
            "ok" if signed else "MISSING OR WRONG"), flush=True)
        with open(out, "a") as f:
            f.write(json.dumps(a) + "\n")

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
PIDS+=($!)

# ---- 2b. an OCI registry, for the PCR story (optional) ---------------------
# Debian's docker-registry behind the test token proxy; without it the PCR
# story is skipped.  The demo's reviewed build has these PCRs:
PCR0=$(python3 -c 'import hashlib; print(hashlib.sha384(b"demo image").hexdigest())')
PCR1=$(python3 -c 'import hashlib; print(hashlib.sha384(b"demo kernel").hexdigest())')
PCR2=$(python3 -c 'import hashlib; print(hashlib.sha384(b"demo application").hexdigest())')
SRC=$(cd "$(dirname "$0")/.." && pwd)
PCR_STORY=""
PCRS_YAML=""
if [ -x /usr/bin/docker-registry ]; then
    say "Starting an OCI registry on 127.0.0.1 (Debian's docker-registry behind a token endpoint)"
    setsid python3 "$SRC/tests/tools/registry.py" "$DEMO/registry" >"$DEMO/registry.out" 2>"$DEMO/registry.err" &
    PIDS+=($!)
    for i in $(seq 1 300); do
        [ -s "$DEMO/registry.out" ] && break
        sleep 0.1
    done
    read -r REG_PROXY REG_PORT <"$DEMO/registry.out" 2>/dev/null
    if [ -n "${REG_PORT:-}" ]; then
        PCR_STORY=1
        note "enclave images and their cosign signatures go to 127.0.0.1:$REG_PROXY/acme/enclave-app"
        PCRS_YAML="    pcrs:
      registry: 127.0.0.1:$REG_PROXY/acme/enclave-app
      allow:
        - {PCR0: \"$PCR0\", PCR1: \"$PCR1\", PCR2: \"$PCR2\"}"
    else
        note "the registry did not start ($DEMO/registry.err): the PCR story is skipped"
    fi
else
    note "(docker-registry is not installed: the PCR story is skipped; apt-get install docker-registry)"
fi

# ---- 2c. a Prometheus Alertmanager (optional) --------------------------------
# Debian's prometheus-alertmanager (scripts/install-deps.sh fetches its
# binary into ~/.cache/tlogwatch without starting a service): the
# alertmanager sink posts warning and critical alerts to it.
AM_BIN=$(command -v prometheus-alertmanager ||
    echo "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch/prometheus-alertmanager")
AM_YAML=""
AM_URL=""
if [ -x "$AM_BIN" ]; then
    AM_PORT=$(free_port)
    mkdir -p "$DEMO/alertmanager"
    printf 'route: {receiver: "null", group_wait: 1h}\nreceivers: [{name: "null"}]\n' \
        >"$DEMO/alertmanager/am.yml"
    say "Starting a Prometheus Alertmanager on 127.0.0.1:$AM_PORT (it gets the warning and critical alerts)"
    setsid "$AM_BIN" --config.file="$DEMO/alertmanager/am.yml" \
        --storage.path="$DEMO/alertmanager/data" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
        >"$DEMO/alertmanager/out" 2>&1 &
    PIDS+=($!)
    for i in $(seq 1 300); do
        curl -fsS -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready" 2>/dev/null && break
        sleep 0.1
    done
    if curl -fsS -o /dev/null "http://127.0.0.1:$AM_PORT/-/ready" 2>/dev/null; then
        AM_URL="http://127.0.0.1:$AM_PORT"
        AM_YAML="  - {name: alertmanager, type: alertmanager, url: \"$AM_URL\", min_severity: warning}"
    else
        note "the Alertmanager did not start ($DEMO/alertmanager/out): skipped"
    fi
else
    note "(prometheus-alertmanager not found: that part is skipped; scripts/install-deps.sh fetches it)"
fi

# ---- 3. tlogwatch -----------------------------------------------------------
cat >"$DEMO/tlogwatch.yaml" <<YAML
# The demo's configuration (DESIGN.md "Config").
state: $DEMO/state.db
trusted_root: $DEMO/testlog/trusted_root.json
logs:
  - name: testlog
    url: $LOG_URL
    poll_interval: 1s
    start: 0
watch:
  - name: enclave-app
    repository: acme/enclave-app
    allow:
      workflows: [".github/workflows/build-eif.yml"]
      refs: ["refs/heads/main", "refs/tags/v*"]
      runners: [github-hosted]
    record_expected: true
$PCRS_YAML
notify:
  - {name: receiver, type: webhook, url: "http://127.0.0.1:$HOOK_PORT/hook", secret: "\${DEMO_HOOK_SECRET}"}
  - {name: console, type: stdout}
$AM_YAML
report:
  every: 24h
  notify: [receiver]
  dir: $DEMO/reports
YAML
say "Starting tlogwatch run, watching acme/enclave-app (config: $DEMO/tlogwatch.yaml)"
note "allowed: workflow .github/workflows/build-eif.yml, refs/heads/main or a v* tag, GitHub-hosted runners"
"$TLW" check-config -c "$DEMO/tlogwatch.yaml" >/dev/null || die "the demo config does not validate"
setsid "$TLW" run -c "$DEMO/tlogwatch.yaml" >"$DEMO/tlogwatch.out" 2>"$DEMO/tlogwatch.err" &
TLW_PID=$!
PIDS+=($TLW_PID)
SIZE=$(curl -fsS "$LOG_URL/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])')
for i in $(seq 1 600); do
    CUR=$("$TLW" status -c "$DEMO/tlogwatch.yaml" 2>/dev/null | awk '$1 == "cursor" { print $2; exit }')
    [ "${CUR:-0}" -ge "$SIZE" ] 2>/dev/null && break
    kill -0 "$TLW_PID" 2>/dev/null || die "tlogwatch stopped: $(tail -3 "$DEMO/tlogwatch.err")"
    sleep 0.1
done
note "caught up: $SIZE entries read, each leaf hashed into the tree and the root checked against the signed checkpoint"
pause

# ---- 4. the story -----------------------------------------------------------
# push_image INFO TAG: pushes an enclave image with the describe-eif info
# file INFO and its cosign signature (for the log's next entry) to the
# registry; prints the signature's payload (base64) for `admin append`.
push_image() {
    local idx
    idx=$(curl -fsS "$LOG_URL/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])')
    python3 "$SRC/tests/tools/oci_push.py" --registry "127.0.0.1:$REG_PORT" \
        --ref-host "127.0.0.1:$REG_PROXY" --repo acme/enclave-app \
        --info "$1" --tag "$2" --log-index "$idx" >"$DEMO/push.json" 2>"$DEMO/push.err" ||
        die "pushing to the registry failed: $(tail -2 "$DEMO/push.err")"
    python3 - "$REG_PORT" "$DEMO/push.json" <<'PY'
import base64, json, sys, urllib.request
port, push = sys.argv[1], json.load(open(sys.argv[2]))
base = "http://127.0.0.1:%s/v2/acme/enclave-app" % port
rq = urllib.request.Request(base + "/manifests/" + push["sig_tag"], headers={
    "Accept": "application/vnd.oci.image.manifest.v1+json"})
layer = json.load(urllib.request.urlopen(rq, timeout=10))["layers"][0]["digest"]
print(base64.b64encode(urllib.request.urlopen(base + "/blobs/" + layer, timeout=10).read()).decode())
PY
}
# pcrs_state INDEX: the PCR lookup state of the watched signing at INDEX
# ("" until it is recorded).
pcrs_state() {
    "$TLW" status -c "$DEMO/tlogwatch.yaml" --format json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for r in d["rules"]:
    for g in r["signings"]:
        if g["log_index"] == int(sys.argv[1]):
            print((g.get("pcrs") or {}).get("state") or "")
            sys.exit(0)
' "$1"
}

NSTORIES=$([ -n "$PCR_STORY" ] && echo 5 || echo 4)
say "1/$NSTORIES  The release workflow signs an enclave image, as expected"
n=$(received signing.recorded)
if [ -n "$PCR_STORY" ]; then
    note "build-eif.yml on refs/heads/main, GitHub-hosted runner, and the registry's image has the reviewed PCRs: allowed, recorded as info"
    python3 - "$DEMO/info-good.json" "$PCR0" "$PCR1" "$PCR2" <<'PY'
import json, sys
m = {"HashAlgorithm": "Sha384 { ... }", "PCR0": sys.argv[2], "PCR1": sys.argv[3],
     "PCR2": sys.argv[4]}
json.dump({"Measurements": m, "IsSigned": False}, open(sys.argv[1], "w"))
PY
    IDX=$(curl -fsS "$LOG_URL/api/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])')
    PAYLOAD=$(push_image "$DEMO/info-good.json" v1.2.2)
    [ -n "$PAYLOAD" ] || die "pushing to the registry failed: $(tail -2 "$DEMO/push.err")"
    admin append "{\"repository\":\"acme/enclave-app\",\"workflow\":\".github/workflows/build-eif.yml\",\"ref\":\"refs/heads/main\",\"payload_b64\":\"$PAYLOAD\"}" >/dev/null
    await_alert signing.recorded "$n"
    note "tlogwatch follows the signing to the image in the registry and reads its PCRs"
    for i in $(seq 1 300); do
        st=$(pcrs_state "$IDX")
        [ -n "$st" ] && [ "$st" != pending ] && break
        kill -0 "$TLW_PID" 2>/dev/null || die "tlogwatch stopped; its log: $DEMO/tlogwatch.err"
        sleep 0.1
    done
    note "PCR lookup: ${st:-not recorded}"
else
    note "build-eif.yml on refs/heads/main, GitHub-hosted runner: allowed, recorded as info"
    admin append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main"}' >/dev/null
    await_alert signing.recorded "$n"
fi
pause

say "2/$NSTORIES  The same workflow runs on a self-hosted runner"
note "a machine outside GitHub's control held the signing identity: critical"
n=$(received signing.self_hosted_runner)
admin append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","ref":"refs/heads/main","runner_environment":"self-hosted"}' >/dev/null
await_alert signing.self_hosted_runner "$n"
pause

say "3/$NSTORIES  An impostor: a certificate that names acme/enclave-app but was not issued by Fulcio"
note "its chain does not verify to a CA in trusted_root.json, so its claims count for nothing: warning"
n=$(received signing.impostor)
admin append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","impostor":true}' >/dev/null
await_alert signing.impostor "$n"
pause

if [ -n "$PCR_STORY" ]; then
    say "4/$NSTORIES  The release workflow signs an enclave image whose PCRs no reviewed build produced"
    note "the registry holds the image's describe-eif info file: PCR2 (the application) differs from the allowed set"
    python3 - "$DEMO/info-bad.json" "$PCR0" "$PCR1" <<'PY'
import hashlib, json, sys
m = {"HashAlgorithm": "Sha384 { ... }", "PCR0": sys.argv[2], "PCR1": sys.argv[3],
     "PCR2": hashlib.sha384(b"an application nobody reviewed").hexdigest()}
json.dump({"Measurements": m, "IsSigned": False}, open(sys.argv[1], "w"))
PY
    PAYLOAD=$(push_image "$DEMO/info-bad.json" v1.2.3)
    [ -n "$PAYLOAD" ] || die "pushing to the registry failed: $(tail -2 "$DEMO/push.err")"
    n=$(received signing.unknown_pcrs)
    admin append "{\"repository\":\"acme/enclave-app\",\"workflow\":\".github/workflows/build-eif.yml\",\"ref\":\"refs/tags/v1.2.3\",\"payload_b64\":\"$PAYLOAD\"}" >/dev/null
    note "tlogwatch follows the signing to its cosign signature, the signed manifest and the info layer"
    await_alert signing.unknown_pcrs "$n"
    pause
fi

say "$NSTORIES/$NSTORIES  The log forks: it rewrites an entry it already published"
note "the next signed checkpoint has the same size and another root: the log is no longer append-only"
n=$(received log.inconsistent)
admin fork '{}' >/dev/null
await_alert log.inconsistent "$n"
note "the alert carries both signed checkpoints as evidence a third party can check offline"

# ---- 4b. what the Alertmanager holds ------------------------------------------
if [ -n "$AM_URL" ]; then
    say "What the Alertmanager holds (GET $AM_URL/api/v2/alerts)"
    for i in $(seq 1 300); do
        curl -fsS "$AM_URL/api/v2/alerts" 2>/dev/null | grep -q log.inconsistent && break
        sleep 0.1
    done
    curl -fsS "$AM_URL/api/v2/alerts" | python3 -c '
import json, sys
for a in sorted(json.load(sys.stdin), key=lambda a: a["startsAt"]):
    l = a["labels"]
    print("    [alertmanager] %-8s %s  repository=%s rule=%s log=%s  until %s" % (
        l.get("severity"), l.get("alertname"), l.get("repository", "-"),
        l.get("rule", "-"), l.get("log", "-"), a["endsAt"]))'
    note "routed, grouped and silenced there like any other alert; each resolves by itself after resolve_after (24h)"
fi

# ---- 5. the auditor's view --------------------------------------------------
say "What tlogwatch status says"
"$TLW" status -c "$DEMO/tlogwatch.yaml" | sed 's/^/    /'
say "The consistency report an auditor reads"
"$TLW" report -c "$DEMO/tlogwatch.yaml" --since 1h --format html >"$DEMO/report.html" &&
    note "HTML: $DEMO/report.html (self-contained; open it in a browser$([ -t 0 ] || [ -n "${DEMO_KEEP:-}" ] || echo '; removed at exit unless DEMO_KEEP=1'))"
"$TLW" report -c "$DEMO/tlogwatch.yaml" --since 1h | awk '/^## Logs/ { exit } { print "    " $0 }'
note "also: tlogwatch report --format json | md | html, and every 24h into $DEMO/reports"

say "Done: $(wc -l <"$DEMO/received.jsonl" 2>/dev/null || echo 0) alerts reached the receiver"
if [ -t 0 ] && [ -t 1 ]; then
    DEMO_KEEP=${DEMO_KEEP:-}
    printf '\nPress Enter to stop everything and remove %s (or Ctrl-C). ' "$DEMO"
    read -r _ || true
fi
