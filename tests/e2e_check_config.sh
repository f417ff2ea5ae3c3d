#!/bin/bash
# e2e_check_config.sh: `tlogwatch check-config` end to end, with the real
# binary.  The shipped configs (deploy/tlogwatch.yaml, deploy/examples/*)
# print "configuration OK" and exit 0; broken configs print every error as
# "file:line:col: message" on stderr, nothing on stdout, and exit 2;
# secrets never reach the output; the trusted_root file and the state
# directory (exists, writable by the user running the check) are checked
# along with everything else; usage errors exit 2.  deploy/trusted_root.json is the production root byte for
# byte.
set -u
bin=${TLOGWATCH_BIN:?}
src=${TLOGWATCH_SRC:?}
td=${TLOGWATCH_TESTDATA:?}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") # we cd below

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}

# run FILE...: runs check-config with the args, sets rc, $tmp/out, $tmp/err
run() {
    "$bin" check-config "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# expect_line TEXT: stderr holds exactly this line
expect_line() {
    if grep -qxF -- "$1" "$tmp/err"; then ok; else
        bad "missing line: $1"
        sed 's/^/    /' "$tmp/err"
    fi
}

# every stderr line is file:line:col: message (file given as $1)
all_positioned() {
    local n
    n=$(grep -cvE "^$(printf '%s' "$1" | sed 's/[.[\*^$/]/\\&/g'):[0-9]+:[0-9]+: .+$" "$tmp/err")
    if [ "$n" -eq 0 ] && [ -s "$tmp/err" ]; then ok; else
        bad "$1: stderr lines not all file:line:col: message"
        sed 's/^/    /' "$tmp/err"
    fi
}

# --- the production trusted root is shipped unchanged ---------------------
if cmp -s "$src/deploy/trusted_root.json" "$td/fulcio/trusted_root.json"; then
    ok
else
    bad "deploy/trusted_root.json differs from testdata fulcio/trusted_root.json"
fi

# --- shipped configs --------------------------------------------------------
# check-config also wants the state file's directory to exist and be
# writable (`make run` creates state/, an install /var/lib/tlogwatch), so
# the shipped configs are checked in a copy of deploy/ whose state: points
# into a directory that exists; everything else is as shipped.  Checked
# unchanged, a shipped config's only error is its state directory, when
# that is missing on this machine.
export SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/e2e
export HOOK_SECRET=e2e-hook-secret
export GHCR_TOKEN=e2e-ghcr-token
cp -R "$src/deploy" "$tmp/deploy"
mkdir "$tmp/state"
n=0
for f in "$src"/deploy/*.yaml "$src"/deploy/examples/*.yaml \
    "$src"/deploy/examples/*.json; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    copy=$tmp/deploy/${f#"$src/deploy/"}
    sed -i -E -e "s|^state: .*|state: $tmp/state/s.db|" \
        -e "s|^( *\"state\": )\"[^\"]*\"|\\1\"$tmp/state/s.db\"|" "$copy"
    grep -q "$tmp/state/s.db" "$copy" && ok || bad "$f: no state: to point at $tmp/state"
    run -c "$copy"
    if [ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "configuration OK" ] &&
        [ ! -s "$tmp/err" ]; then ok; else
        bad "$copy: rc=$rc stdout=$(cat "$tmp/out") stderr=$(cat "$tmp/err")"
    fi
    run -c "$f"
    if [ "$rc" -eq 0 ]; then
        grep -qx "configuration OK" "$tmp/out" && ok || bad "$f: rc 0 without OK"
    elif [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
        grep -qE "^$f:[0-9]+:[0-9]+: state: directory .*: No such file or directory" "$tmp/err"; then
        ok
    else
        bad "$f unchanged: rc=$rc stderr=$(cat "$tmp/err")"
    fi
done
[ "$n" -ge 4 ] && ok || bad "expected at least 4 shipped configs, found $n"

# long option, and a relative path from another directory
(cd "$tmp/deploy" && "$bin" check-config --config tlogwatch.yaml) \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && grep -qx "configuration OK" "$tmp/out" && ok ||
    bad "--config relative: rc=$rc $(cat "$tmp/err")"

# the twin of the shipped configs: without the secrets' environment the
# full example fails, naming the variables and exiting 2
(unset SLACK_WEBHOOK_URL HOOK_SECRET GHCR_TOKEN
    "$bin" check-config -c "$tmp/deploy/examples/full.yaml") \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && ok || bad "full.yaml without env: rc=$rc"
all_positioned "$tmp/deploy/examples/full.yaml"
for v in SLACK_WEBHOOK_URL HOOK_SECRET GHCR_TOKEN; do
    grep -q "environment variable $v is not set" "$tmp/err" && ok ||
        bad "full.yaml without env: $v not named"
done

# --- a broken config: every error at once ---------------------------------
export TLW_E2E_HOOK="http://hooks.example/E2ESECRETVALUE"
cat >"$tmp/bad.yaml" <<'EOF'
logs:
  - name: rekor
    url: https://rekor.sigstore.dev
    poll_interval: 30x
  - name: rekor
    url: http://rekor.example
    kind: rekor-v3
watch:
  - name: w
    repository: not-a-repo
    pcrs:
      registry: ghcr.io/acme/app
      allow: [{PCR0: "abc"}]
notify:
  - {name: hook, type: webhook, url: "${TLW_E2E_HOOK}"}
heartbeat: {every: 1h, notify: [pager]}
colour: blue
state: state/bad.db
trusted_root: deploy/trusted_root.json
EOF
run -c "$tmp/bad.yaml"
[ "$rc" -eq 2 ] && ok || bad "bad.yaml: exit $rc, want 2"
[ ! -s "$tmp/out" ] && ok || bad "bad.yaml: stdout not empty: $(cat "$tmp/out")"
all_positioned "$tmp/bad.yaml"
f="$tmp/bad.yaml"
expect_line "$f:4:20: logs[0].poll_interval: bad duration '30x': unknown unit (use d, h, m, s or ms)"
expect_line "$f:5:11: logs[1].name: duplicate log name 'rekor' (first at 2:11)"
expect_line "$f:6:10: logs[1].url: http:// is only allowed for loopback hosts (127.0.0.0/8, [::1], localhost); use https://"
expect_line "$f:7:11: logs[1].kind: must be one of rekor-v1, rekor-v2, ct, not 'rekor-v3'"
expect_line "$f:10:17: watch[0].repository: must be a GitHub repository written owner/repo"
expect_line "$f:13:22: watch[0].pcrs.allow[0].PCR0: a PCR value is exactly 96 hex characters (SHA-384)"
expect_line "$f:15:38: notify[0].url: http:// is only allowed for loopback hosts (127.0.0.0/8, [::1], localhost); use https://"
expect_line "$f:16:33: heartbeat.notify[0]: unknown sink 'pager' (not in notify:)"
expect_line "$f:17:1: unknown key 'colour'"
lines=$(wc -l <"$tmp/err")
[ "$lines" -eq 9 ] && ok || bad "bad.yaml: $lines error lines, want 9"
# the lines come in file order
sort -t: -k2,2n -k3,3n -c "$tmp/err" 2>/dev/null && ok || bad "bad.yaml: errors not in file order"
if grep -q E2ESECRETVALUE "$tmp/err" "$tmp/out"; then
    bad "a secret value was printed"
else ok; fi

# --- YAML syntax error: libyaml's position --------------------------------
printf 'logs:\n  - name: a\n    url: [unclosed\n' >"$tmp/syntax.yaml"
run -c "$tmp/syntax.yaml"
[ "$rc" -eq 2 ] && ok || bad "syntax.yaml: exit $rc"
all_positioned "$tmp/syntax.yaml"
grep -q "YAML syntax error" "$tmp/err" && ok || bad "syntax.yaml: no syntax error"

# --- JSON input, with an error at its JSON position ------------------------
printf '{"logs": [{"name": "r", "url": "https://x.example",\n  "start": "soon"}]}\n' >"$tmp/bad.json"
run -c "$tmp/bad.json"
[ "$rc" -eq 2 ] && ok || bad "bad.json: exit $rc"
expect_line "$tmp/bad.json:2:12: logs[0].start: must be 'latest' or a non-negative log index, not 'soon'"

# --- trusted_root is checked ----------------------------------------------
printf 'trusted_root: missing.json\nlogs:\n  - {name: r, url: "https://x.example"}\nstate: state/s.db\n' \
    >"$tmp/noroot.yaml"
run -c "$tmp/noroot.yaml"
[ "$rc" -eq 2 ] && ok || bad "noroot.yaml: exit $rc"
all_positioned "$tmp/noroot.yaml"
grep -q "^$tmp/noroot.yaml:1:15: trusted_root: .*missing.json" "$tmp/err" && ok ||
    bad "noroot.yaml: $(cat "$tmp/err")"
printf '{"not": "a trusted root"}\n' >"$tmp/notroot.json"
printf 'trusted_root: notroot.json\nlogs:\n  - {name: r, url: "https://rekor.sigstore.dev"}\nstate: state/s.db\n' \
    >"$tmp/notroot.yaml"
run -c "$tmp/notroot.yaml"
[ "$rc" -eq 2 ] && ok || bad "notroot.yaml: exit $rc"
grep -q "^$tmp/notroot.yaml:1:15: trusted_root: " "$tmp/err" && ok ||
    bad "notroot.yaml: $(cat "$tmp/err")"
# its twin: the same config with the real root is OK
cp "$src/deploy/trusted_root.json" "$tmp/notroot.json"
run -c "$tmp/notroot.yaml"
[ "$rc" -eq 0 ] && ok || bad "notroot.yaml with the real root: exit $rc $(cat "$tmp/err")"
# a log the trusted root has no key for: the daemon would refuse it
printf 'trusted_root: notroot.json\nlogs:\n  - {name: r, url: "https://rekor.sigstore.dev"}\n  - {name: x, url: "https://x.example"}\nstate: state/s.db\n' \
    >"$tmp/nokey.yaml"
run -c "$tmp/nokey.yaml"
[ "$rc" -eq 2 ] && ok || bad "nokey.yaml: exit $rc"
expect_line "$tmp/nokey.yaml:4:5: logs: x: the trusted root ($tmp/notroot.json) has no usable tlogs key for https://x.example"
[ "$(wc -l <"$tmp/err")" -eq 1 ] && ok || bad "nokey.yaml: want 1 error: $(cat "$tmp/err")"
# a trusted root with CT logs only ("tlogs": []): a CT log is OK, a Rekor
# log is not; with no log at all the root is refused
jq '.tlogs = []' "$src/deploy/trusted_root.json" >"$tmp/ctonly.json"
printf 'trusted_root: ctonly.json\nlogs:\n  - {name: ct, kind: ct, url: "https://ctfe.sigstore.dev/2022"}\nstate: state/s.db\n' \
    >"$tmp/ctonly.yaml"
run -c "$tmp/ctonly.yaml"
[ "$rc" -eq 0 ] && ok || bad "ctonly.yaml: exit $rc $(cat "$tmp/err")"
printf 'trusted_root: ctonly.json\nlogs:\n  - {name: r, url: "https://rekor.sigstore.dev"}\nstate: state/s.db\n' \
    >"$tmp/ctonly-rekor.yaml"
run -c "$tmp/ctonly-rekor.yaml"
[ "$rc" -eq 2 ] && ok || bad "ctonly-rekor.yaml: exit $rc"
expect_line "$tmp/ctonly-rekor.yaml:3:5: logs: r: the trusted root ($tmp/ctonly.json) has no usable tlogs key for https://rekor.sigstore.dev"
jq '.tlogs = [] | .ctlogs = []' "$src/deploy/trusted_root.json" >"$tmp/nologs.json"
sed 's/ctonly.json/nologs.json/' "$tmp/ctonly.yaml" >"$tmp/nologs.yaml"
run -c "$tmp/nologs.yaml"
[ "$rc" -eq 2 ] && grep -q "^$tmp/nologs.yaml:1:15: trusted_root: .*no transparency log" "$tmp/err" &&
    ok || bad "nologs.yaml: rc=$rc $(cat "$tmp/err")"

# --- every kind of error at once: a bad duration hides neither a missing
# trusted root nor a missing state directory -------------------------------
printf 'state: no-such-dir/s.db\ntrusted_root: missing.json\nlogs:\n  - {name: r, url: "https://x.example", poll_interval: 30x}\n' \
    >"$tmp/all.yaml"
run -c "$tmp/all.yaml"
[ "$rc" -eq 2 ] && ok || bad "all.yaml: exit $rc"
all_positioned "$tmp/all.yaml"
grep -q "^$tmp/all.yaml:1:8: state: directory $tmp/no-such-dir: No such file or directory" "$tmp/err" &&
    ok || bad "all.yaml: no state error: $(cat "$tmp/err")"
grep -q "^$tmp/all.yaml:2:15: trusted_root: .*missing.json" "$tmp/err" && ok ||
    bad "all.yaml: no trusted_root error: $(cat "$tmp/err")"
grep -q "^$tmp/all.yaml:4:[0-9]*: logs\[0\].poll_interval: bad duration" "$tmp/err" && ok ||
    bad "all.yaml: no duration error: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/err")" -eq 3 ] && ok || bad "all.yaml: want 3 errors: $(cat "$tmp/err")"
# state: names a directory; its directory is a file
mkdir -p "$tmp/state/isdir.db"
printf 'state: state/isdir.db\ntrusted_root: deploy/trusted_root.json\nlogs:\n  - {name: r, url: "https://x.example"}\n' \
    >"$tmp/isdir.yaml"
run -c "$tmp/isdir.yaml"
[ "$rc" -eq 2 ] && grep -qx "$tmp/isdir.yaml:1:8: state: $tmp/state/isdir.db is not a regular file" "$tmp/err" &&
    ok || bad "isdir.yaml: rc=$rc $(cat "$tmp/err")"
printf 'state: deploy/trusted_root.json/s.db\ntrusted_root: deploy/trusted_root.json\nlogs:\n  - {name: r, url: "https://x.example"}\n' \
    >"$tmp/notdir.yaml"
run -c "$tmp/notdir.yaml"
[ "$rc" -eq 2 ] && grep -qx "$tmp/notdir.yaml:1:8: state: $tmp/deploy/trusted_root.json is not a directory" "$tmp/err" &&
    ok || bad "notdir.yaml: rc=$rc $(cat "$tmp/err")"

# --- the state directory must be writable by the user running the check:
# as root, run it as nobody (root may write anywhere) ----------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    pub=$(mktemp -d /tmp/tlw-e2e-pub-XXXXXX)
    trap 'rm -rf "$tmp" "$pub"' EXIT
    chmod 0755 "$pub"
    cp "$src/deploy/trusted_root.json" "$pub/trusted_root.json"
    install -d -m 0755 "$pub/state"
    printf 'state: state/s.db\ntrusted_root: trusted_root.json\nlogs:\n  - {name: r, url: "https://rekor.sigstore.dev"}\n' \
        >"$pub/c.yaml"
    chmod 0644 "$pub/c.yaml" "$pub/trusted_root.json"
    nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    nobody "$bin" check-config -c "$pub/c.yaml" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] &&
        grep -qx "$pub/c.yaml:1:8: state: directory $pub/state is not writable by this user (uid $(id -u nobody)): Permission denied" "$tmp/err" &&
        ok || bad "root-owned state dir as nobody: rc=$rc $(cat "$tmp/err")"
    # twin: the same as root passes, and as nobody once nobody owns it
    run -c "$pub/c.yaml"
    [ "$rc" -eq 0 ] && ok || bad "as root: rc=$rc $(cat "$tmp/err")"
    chown nobody "$pub/state"
    nobody "$bin" check-config -c "$pub/c.yaml" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "nobody-owned state dir as nobody: rc=$rc $(cat "$tmp/err")"
    # an existing state file nobody cannot write
    touch "$pub/state/s.db"
    nobody "$bin" check-config -c "$pub/c.yaml" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -q "^$pub/c.yaml:1:8: state: $pub/state/s.db is not readable and writable by this user" "$tmp/err" &&
        ok || bad "root-owned state file as nobody: rc=$rc $(cat "$tmp/err")"
else
    echo "SKIP: not root (or no setpriv): the unwritable-state-directory case needs another user"
fi

# --- file problems and usage ----------------------------------------------
run -c "$tmp/nope.yaml"
[ "$rc" -eq 2 ] && ok || bad "missing file: exit $rc"
expect_line "$tmp/nope.yaml: cannot open: No such file or directory"
if [ ! -e /etc/tlogwatch/tlogwatch.yaml ]; then
    run
    [ "$rc" -eq 2 ] && grep -q "^/etc/tlogwatch/tlogwatch.yaml: cannot open" "$tmp/err" &&
        ok || bad "default path: rc=$rc $(cat "$tmp/err")"
fi
run -x
[ "$rc" -eq 2 ] && ok || bad "unknown option: exit $rc"
run -c "$src/deploy/tlogwatch.yaml" extra
[ "$rc" -eq 2 ] && ok || bad "extra argument: exit $rc"
run -c
[ "$rc" -eq 2 ] && ok || bad "-c without a file: exit $rc"
run --help
[ "$rc" -eq 0 ] && grep -q "check-config" "$tmp/out" && ok || bad "--help: exit $rc"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
