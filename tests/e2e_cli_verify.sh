#!/usr/bin/env bash
# e2e_cli_verify.sh: run the real tlogwatch binary ($TLOGWATCH_BIN) over
# every verification vector in shared/testdata and over malformed input.
#
#   merkle/inclusion/**, merkle/consistency/**   proofs as JSON and as text
#   rekor-v2/tessera-testlog + its consistency proofs (real signed notes)
#   note/note-vectors.json, note/raw/*.note      verify note / checkpoint
#   rekor/checkpoints/*.txt                      with the Rekor PEM key
#   rekor/api-entries/*.json                     verify inclusion --entry
#   malformed input: truncated JSON, bad base64, a 10 MB line, a note with
#   no signature, non-hex hashes, absurd sizes
#
# The expected exit code of every case is derived from the data files by
# tests/tools/cli_vectors.py, whose header explains the 0/1/2 policy.  A
# case passes when the exit code matches; exit 2 must come with exactly one
# line on stderr, exit 1 with at least one; exit >= 128 (a signal, i.e. a
# crash) always fails.  Prints "N passed, M failed"; exits 1 when M > 0.
set -u

BIN=${TLOGWATCH_BIN:?TLOGWATCH_BIN not set}
TD=${TLOGWATCH_TESTDATA:?TLOGWATCH_TESTDATA not set}
SRC=${TLOGWATCH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! python3 "$SRC/tests/tools/cli_vectors.py" verify "$TD" "$tmp"; then
    echo "cli_vectors.py failed"
    echo "0 passed, 1 failed"
    exit 1
fi

pass=0
fail=0
declare -A seen_kind
while IFS=$'\x1f' read -r -a f; do
    expect=${f[0]}
    label=${f[1]}
    input=${f[2]}
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
    elif [ "$rc" = 0 ] && [ ! -s "$tmp/out" ]; then
        why="exit 0 without output"
    fi
    seen_kind[$expect]=1
    if [ -z "$why" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $label: $why"
        echo "  tlogwatch ${args[*]}" | cut -c1-400
        sed 's/^/  stderr: /' "$tmp/err" | head -3
    fi
done <"$tmp/cases"

# The suite must exercise all three verdicts, or it proves little.
for k in 0 1 2; do
    if [ -z "${seen_kind[$k]:-}" ]; then
        echo "FAIL: no case expects exit $k"
        fail=$((fail + 1))
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
