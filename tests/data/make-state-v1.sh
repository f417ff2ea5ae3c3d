#!/bin/bash
# make-state-v1.sh: the state file of tests/data/state-v1.db, written by
# the version-1 release (see tests/data/README.md).  Needs OLD_BUILD (a
# build of c3d9533 with bin/tlogwatch and bin/tlogwatch-testlog) and OUT.
: "${OUT:?set OUT to an empty directory}"
cd "$OUT"
set -euo pipefail
B="${OLD_BUILD:?set OLD_BUILD to a build of c3d9533}/bin"
PORT=18931
$B/tlogwatch-testlog --listen 127.0.0.1:$PORT --entries 20 --dir "$OUT"/tl >tl.out 2>tl.err &
TLP=$!
for i in $(seq 100); do curl -fsS http://127.0.0.1:$PORT/api/v1/log >/dev/null 2>&1 && break; sleep 0.1; done
for r in app other; do
 curl -fsS -X POST -H 'Content-Type: application/json' --data "{\"repository\":\"acme/$r\",\"workflow\":\".github/workflows/build-eif.yml\",\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}" http://127.0.0.1:$PORT/admin/append >/dev/null
done
P=$(printf 'a%.0s' $(seq 96))
cat > c.yaml <<Y
state: "$OUT"/state-v1.db
trusted_root: "$OUT"/tl/trusted_root.json
logs:
  - name: testlog
    url: http://127.0.0.1:$PORT
    poll_interval: 1s
    start: 0
notify:
  - {name: console, type: stdout}
watch:
  - name: app
    repository: acme/app
    allow: {workflows: [".github/workflows/build-eif.yml"]}
    record_expected: true
    pcrs:
      registry: 127.0.0.1:1/acme/app
      allow:
        - {PCR0: "$P", PCR1: "$P", PCR2: "$P"}
      lookup_timeout: 8760h
  - name: other
    repository: acme/other
    allow: {workflows: [".github/workflows/build-eif.yml"]}
    record_expected: true
Y
$B/tlogwatch once -c c.yaml > once.out 2>once.err || echo "once rc=$?"
kill $TLP
sqlite3 state-v1.db 'PRAGMA user_version; select rule, kind, pcrs_state, artifact_digest, log_index from signings; select count(*) from alerts;'
