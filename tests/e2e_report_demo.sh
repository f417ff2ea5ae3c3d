#!/bin/bash
# e2e_report_demo.sh: `make demo` (scripts/demo.sh) tells its whole story:
# each of its alerts (four, five with the PCR story) reaches the loopback receiver with a valid HMAC,
# the report is made, and every process and the temporary directory are
# gone afterwards.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BUILD=$(dirname "$(dirname "$TLOGWATCH_BIN")")
DEMO_PAUSE=0 bash "$TLOGWATCH_SRC/scripts/demo.sh" "$BUILD" </dev/null >"$T/demo.out" 2>&1
rc=$?
check "demo exits 0" test $rc -eq 0
TYPES="signing.recorded signing.self_hosted_runner signing.impostor log.inconsistent"
NALERTS=4
if [ -x /usr/bin/docker-registry ]; then
    # The PCR story runs only where Debian's docker-registry is installed.
    TYPES="$TYPES signing.unknown_pcrs"
    NALERTS=6 # story 4 is also a recorded signing
fi
for type in $TYPES; do
    check "demo: $type reached the receiver, HMAC ok" \
        grep -Eq "\[receiver\] [a-z]+ +$type .*\(HMAC ok\)" "$T/demo.out"
done
# Story 1's signing (#2000) is what the demo's text says: allowed (with
# the PCR story, once its lookup found the reviewed PCRs in the registry).
check "demo: status shows signing #2000 allowed" grep -Eq '^ +[^ ]+ \([0-9]+s ago\)  index 2000  allowed$' "$T/demo.out"
if [ -x /usr/bin/docker-registry ]; then
    check "demo: #2000's PCR lookup found its image" grep -q '^    PCR lookup: found$' "$T/demo.out"
fi
AM_BIN=$(command -v prometheus-alertmanager ||
    echo "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch/prometheus-alertmanager")
if [ -x "$AM_BIN" ]; then
    # The Alertmanager part runs where install-deps fetched it.
    check "demo: the Alertmanager holds log.inconsistent" \
        grep -Eq '^    \[alertmanager\] critical +log.inconsistent ' "$T/demo.out"
    check "demo: ... and the self-hosted signing, with repository and rule" \
        grep -Eq '^    \[alertmanager\] critical +signing.self_hosted_runner +repository=acme/enclave-app rule=enclave-app log=testlog' "$T/demo.out"
    check "demo: ... and nothing below warning (min_severity)" \
        bash -c '! grep -Eq "^    \[alertmanager\] info " "$1"' _ "$T/demo.out"
fi
check "demo: $NALERTS alerts reached the receiver" grep -q "Done: $NALERTS alerts reached the receiver" "$T/demo.out"
check "demo: no HMAC failure" bash -c '! grep -q "HMAC MISSING" "$1"' _ "$T/demo.out"
dir=$(sed -n 's/.*HTML: \(\/tmp\/tlogwatch-demo\.[A-Za-z0-9]*\)\/report.html.*/\1/p' "$T/demo.out")
check "demo: made the report in its temporary directory" test -n "$dir"
check "demo: temporary directory removed" test ! -e "${dir:-/nonexistent}"
# A bracket in the pattern keeps pgrep from matching its own command line.
dir=${dir:-/nonexistent}
check "demo: no process left behind" \
    bash -c '! pgrep -f "$1" >/dev/null' _ "${dir:0:3}[${dir:3:1}]${dir:4}/"
[ "$E2E_FAIL" -eq 0 ] || cat "$T/demo.out"
finish
