#!/usr/bin/env bash
# e2e_cli_inspect.sh: run the real tlogwatch binary ($TLOGWATCH_BIN) over
# every real Rekor entry and Sigstore bundle in shared/testdata.
#
#  - every entry and valid bundle verifies (exit 0) with --trusted-root (the
#    root whose tlogs hold its log id) and, when a PEM key for its log is in
#    the data, with --key; the JSON shows the indexes, kind, origin and
#    check results that INDEX.json (bundles) or the entry file states;
#  - every bundle in rekor/bundles/invalid exits 1, failing exactly the
#    check INDEX.json's helperResults name;
#  - one changed byte in a proof hash, the root hash, the checkpoint
#    signature, the entry body or the SET of any of them exits 1 (mutated
#    copies in a temp dir);
#  - the certificate claims (SAN, issuer, issuer CN, every extension .1 to
#    .24) equal fulcio/leaf/extensions-decoded.json for the same
#    certificate (by fromBundle, or by the certificate's SHA-256);
#  - malformed input exits 2 with exactly one line on stderr.
#
# Cases and expectations come from tests/tools/cli_vectors.py (read from
# the data at run time).  Exit >= 128 (a crash) always fails.  Prints
# "N passed, M failed" and exits 1 when M > 0.
set -u

BIN=${TLOGWATCH_BIN:?TLOGWATCH_BIN not set}
TD=${TLOGWATCH_TESTDATA:?TLOGWATCH_TESTDATA not set}
SRC=${TLOGWATCH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
TOOL=$SRC/tests/tools/cli_vectors.py

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! python3 "$TOOL" inspect "$TD" "$tmp"; then
    echo "cli_vectors.py failed"
    echo "0 passed, 1 failed"
    exit 1
fi

pass=0
fail=0
n=0
: >"$tmp/pending"
declare -A seen_kind
while IFS=$'\x1f' read -r -a f; do
    expect=${f[0]}
    label=${f[1]}
    input=${f[2]}
    check=${f[3]}
    args=("${f[@]:4}")
    unset 'args[${#args[@]}-1]' # the END sentinel
    if [ -n "$input" ]; then
        "$BIN" "${args[@]}" <"$input" >"$tmp/out" 2>"$tmp/err"
    else
        "$BIN" "${args[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
    fi
    rc=$?
    nerr=$(wc -l <"$tmp/err")
    why=""
    if [ "$rc" -ge 128 ]; then
        why="crashed (exit $rc)"
    elif [ "$rc" != "$expect" ]; then
        why="exit $rc, expected $expect"
    elif [ "$rc" = 2 ] && [ "$nerr" != 1 ]; then
        why="exit 2 with $nerr lines on stderr, expected exactly 1"
    elif [ "$rc" = 1 ] && [ "$nerr" -lt 1 ]; then
        why="exit 1 without a reason on stderr"
    fi
    seen_kind[$expect]=1
    if [ -z "$why" ] && [ "$rc" != 2 ]; then
        # Output checks run in one batch below (python starts slowly).
        n=$((n + 1))
        cp "$tmp/out" "$tmp/out.$n"
        printf '%s\x1f%s\x1f%s\n' "$label" "$check" "$tmp/out.$n" \
            >>"$tmp/pending"
        continue
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $label: $why"
        echo "  tlogwatch ${args[*]}" | cut -c1-400
        sed 's/^/  stderr: /' "$tmp/err" | head -4
    fi
done <"$tmp/cases"

# Every output that exited as expected: one JSON object, showing the facts
# its case expects.  The checker prints FAIL lines and "checked OK BAD".
python3 "$TOOL" check-all "$tmp/pending" >"$tmp/checked"
grep -v '^checked ' "$tmp/checked"
read -r _ ok bad < <(grep '^checked ' "$tmp/checked" || echo "checked 0 1")
pass=$((pass + ok))
fail=$((fail + bad))
if [ $((ok + bad)) != "$n" ]; then
    echo "FAIL: $n outputs to check, the checker saw $((ok + bad))"
    fail=$((fail + 1))
fi

for k in 0 1 2; do
    if [ -z "${seen_kind[$k]:-}" ]; then
        echo "FAIL: no case expects exit $k"
        fail=$((fail + 1))
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
