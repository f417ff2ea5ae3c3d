#!/bin/bash
# e2e_envelopes.sh: the alert envelopes (format: cloudevents | ocsf) and
# Standard Webhooks signing (signing: standard), end to end with the real
# binary, judged by independent references:
#  - a loopback receiver in node (tests/tools/envelope_receiver.js) verifies
#    every signed request with the Standard Webhooks reference library
#    (npm standardwebhooks) with each key of a rotation alone, and sees a
#    tampered body, an hour-old timestamp and a wrong key refused by it;
#  - it validates every CloudEvent against the CloudEvents 1.0 JSON schema
#    shipped (compiled) in the npm cloudevents package, and reads it back
#    with that SDK's HTTP binding (structured mode);
#  - OCSF documents (webhook, stdout, exec file) are checked against the
#    Detection Finding class's required attributes, enums and uid rules as
#    extracted from the OCSF schema repository (tests/data/ocsf/, with its
#    provenance);
#  - the same through `test-alert` and through the outbox (a fork alert
#    from `once`), and no key appears in anything tlogwatch prints.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
NPM_DIR=$(sh "$TLOGWATCH_SRC/tests/tools/npm-deps.sh") || {
    echo "FAIL - the npm reference packages could not be installed"
    echo "0 passed, 1 failed"
    exit 1
}
export NODE_PATH="$NPM_DIR/node_modules"
OCSF_SPEC="$TLOGWATCH_SRC/tests/data/ocsf/detection_finding.json"

KEY_NEW="whsec_$(openssl rand -base64 32)"
KEY_OLD="whsec_$(openssl rand -base64 24)"
export KEY_NEW KEY_OLD

tl_start a 16
RPORT=$(free_port)
node "$TLOGWATCH_SRC/tests/tools/envelope_receiver.js" "$RPORT" "$T/recv.jsonl" \
    "$KEY_NEW" "$KEY_OLD" >"$T/recv.out" 2>&1 &
E2E_PIDS+=($!)
wait_until 60 grep -qs listening "$T/recv.out"

cat >"$T/hook.sh" <<EOF
#!/bin/sh
n=\$(ls "$T"/exec.*.json 2>/dev/null | wc -l)
cp "\$ALERT_JSON_FILE" "$T/exec.\$n.json"
echo "\$EVENT" >"$T/exec.\$n.event"
EOF
chmod +x "$T/hook.sh"

cat >"$T/a.yaml" <<EOF
state: $T/a.db
trusted_root: $TL_DIR_a/trusted_root.json
logs:
  - {name: testlog, url: "$TL_URL_a", poll_interval: 1s, start: 0}
notify:
  - {name: ce, type: webhook, url: "http://127.0.0.1:$RPORT/ce", format: cloudevents,
     signing: standard, secret: ["\${KEY_NEW}", "\${KEY_OLD}"]}
  - {name: siem, type: webhook, url: "http://127.0.0.1:$RPORT/ocsf", format: ocsf,
     signing: standard, secret: "\${KEY_NEW}"}
  - {name: plain, type: webhook, url: "http://127.0.0.1:$RPORT/plain"}
  - {name: console, type: stdout, format: ocsf}
  - {name: hook, type: exec, command: $T/hook.sh, format: cloudevents}
EOF
"$BIN" check-config -c "$T/a.yaml" >"$T/cc.out" 2>&1
check "check-config accepts format, signing and a secret list" test $? -eq 0

# Requests of the receiver log whose path starts with $1, as a JSON list.
recv_py() { # python-code: run with R = the list of received requests
    python3 -c "
import json, sys
R = [json.loads(l) for l in open('$T/recv.jsonl')]
$1
"
}
ocsf_valid() { # file with one OCSF document a line (or a JSON document)
    python3 - "$OCSF_SPEC" "$1" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().strip()
docs = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
if not docs:
    sys.exit("no OCSF document")
types = {"integer_t": int, "long_t": int, "timestamp_t": int,
         "string_t": str, "boolean_t": bool}
def at(d, path):
    for p in [x for x in path.split(".") if x]:
        d = d.get(p) if isinstance(d, dict) else None
    return d
for doc in docs:
    for path, names in spec["required"].items():
        obj = at(doc, path)
        if not isinstance(obj, dict):
            sys.exit(f"{path or 'event'}: missing object")
        for n in names:
            if n not in obj:
                sys.exit(f"{path or 'event'}: required {n} missing")
            t = types.get(spec["types"].get(n, ""))
            if t is not None and (not isinstance(obj[n], t) or isinstance(obj[n], bool) != (t is bool)):
                sys.exit(f"{path}.{n}: not {spec['types'][n]}")
    for path, names in spec["at_least_one"].items():
        if not any(n in at(doc, path) for n in names):
            sys.exit(f"{path}: none of {names}")
    for path, values in spec["enums"].items():
        v = at(doc, path)
        if v is not None and v not in values:
            sys.exit(f"{path}: {v} not in {values}")
    c = spec["class"]
    if doc["category_uid"] != c["category_uid"] or \
       doc["class_uid"] != c["category_uid"] * 1000 + c["uid_in_category"] or \
       doc["type_uid"] != doc["class_uid"] * 100 + doc["activity_id"]:
        sys.exit("class/category/type uid rule broken")
    cap = spec["captions"]["severity_id"].get(str(doc["severity_id"]))
    if doc.get("severity") not in (None, cap):
        sys.exit(f"severity {doc.get('severity')} is not the caption {cap}")
    a = doc["unmapped"]
    if a["schema"] != "tlogwatch.alert/v1" or doc["finding_info"]["uid"] != a["id"]:
        sys.exit("the alert is not carried whole, or the uid is not its id")
    want = {"info": 1, "warning": 3, "critical": 5}[a["severity"]]
    if doc["severity_id"] != want or abs(doc["time"] // 1000 - __import__("calendar").timegm(__import__("time").strptime(a["detected_at"], "%Y-%m-%dT%H:%M:%SZ"))) > 0:
        sys.exit("severity or time not mapped from the alert")
PY
}

# ---- test-alert ----------------------------------------------------------
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0, every sink ok" test $? -eq 0
check "test-alert: three webhook requests" \
    test "$(wc -l <"$T/recv.jsonl")" -eq 3
check "cloudevents: content type application/cloudevents+json" \
    recv_py "r=[x for x in R if x['path']=='/ce'][0]; sys.exit(r['headers']['content-type']!='application/cloudevents+json')"
check "cloudevents: valid against the CloudEvents 1.0 JSON schema (npm cloudevents)" \
    recv_py "r=[x for x in R if x['path']=='/ce'][0]; print(r['verdict']); sys.exit(r['verdict']['ce']['schema']!='ok')"
check "cloudevents: read back by the cloudevents SDK HTTP binding" \
    recv_py "r=[x for x in R if x['path']=='/ce'][0]; sys.exit(r['verdict']['ce']['sdk']!='ok')"
check "cloudevents: the attributes the issue lists, data = the alert" \
    recv_py "
import socket
r=[x for x in R if x['path']=='/ce'][0]; e=json.loads(r['body']); a=e['data']
ok = (e['specversion']=='1.0' and e['id']==a['id'] and e['type']=='dev.tlogwatch.monitor.test'
  and e['source']=='tlogwatch://'+socket.gethostname()+'/testlog' and e['time']==a['detected_at']
  and e['subject']=='testlog' and e['datacontenttype']=='application/json'
  and a['schema']=='tlogwatch.alert/v1' and a['type']=='monitor.test')
sys.exit(not ok)"
check "standard webhooks: webhook-id is the alert id" \
    recv_py "r=[x for x in R if x['path']=='/ce'][0]; sys.exit(r['headers']['webhook-id']!=json.loads(r['body'])['id'])"
check "standard webhooks: verified by the reference library with the new key alone and the old key alone" \
    recv_py "r=[x for x in R if x['path']=='/ce'][0]; print(r['verdict']['std']); sys.exit(r['verdict']['std']['keys']!=['ok','ok'] or len(r['headers']['webhook-signature'].split(' '))!=2)"
check "standard webhooks: one key, one signature, verified; the old key alone is refused" \
    recv_py "r=[x for x in R if x['path']=='/ocsf'][0]; s=r['verdict']['std']; print(s); sys.exit(s['keys'][0]!='ok' or s['keys'][1]=='ok' or ' ' in r['headers']['webhook-signature'])"
check "standard webhooks: a tampered body is refused by the reference" \
    recv_py "sys.exit(any(x['verdict']['std']['tampered']!='No matching signature found' for x in R if 'std' in x['verdict']))"
check "standard webhooks: an hour-old timestamp is refused as too old" \
    recv_py "sys.exit(any(x['verdict']['std']['old']!='Message timestamp too old' for x in R if 'std' in x['verdict']))"
check "standard webhooks: a wrong key is refused" \
    recv_py "sys.exit(any(x['verdict']['std']['wrongkey']=='ok' for x in R if 'std' in x['verdict']))"
check "default webhook unchanged: the tlogwatch document, no webhook-* headers" \
    recv_py "r=[x for x in R if x['path']=='/plain'][0]; b=json.loads(r['body']); sys.exit(b.get('schema')!='tlogwatch.alert/v1' or 'webhook-signature' in r['headers'] or r['headers']['content-type']!='application/json')"
recv_py "r=[x for x in R if x['path']=='/ocsf'][0]; print(r['body'])" >"$T/ocsf.hook.json"
check "ocsf (webhook): Detection Finding required attributes, enums, uid rules" \
    ocsf_valid "$T/ocsf.hook.json"
check "ocsf (stdout): one valid Detection Finding line" ocsf_valid "$T/ta.out"
check "exec: the JSON file holds the CloudEvent, EVENT the alert type" \
    bash -c "python3 -c '
import json,sys; e=json.load(open(sys.argv[1])); sys.exit(e[\"specversion\"]!=\"1.0\" or e[\"data\"][\"type\"]!=\"monitor.test\")' '$T/exec.0.json' &&
             grep -qx monitor.test '$T/exec.0.event'"
no_key() { ! grep -q -e "${KEY_NEW#whsec_}" -e "${KEY_OLD#whsec_}" "$@"; }
check "test-alert: no key in what tlogwatch printed" no_key "$T/ta.out" "$T/ta.err"

# ---- through the outbox: a fork alert from once ----------------------------
: >"$T/recv.jsonl"
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "once: caught up with nothing to say" test $? -eq 0
tl_admin a fork '{"index":10}' >/dev/null
tl_admin a grow '{"count":4}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/fork.out" 2>"$T/fork.err"
check "once: fork raises a critical alert (exit 1)" test $? -eq 1
check "outbox: the CloudEvent of log.inconsistent, schema-valid, signed with both keys" \
    recv_py "
r=[x for x in R if x['path']=='/ce' and json.loads(x['body'])['type']=='dev.tlogwatch.log.inconsistent']
sys.exit(len(r)!=1 or r[0]['verdict']['ce']['schema']!='ok' or r[0]['verdict']['std']['keys']!=['ok','ok'])"
grep '^{' "$T/fork.out" >"$T/fork.ocsf" || true
check "outbox: stdout OCSF line of the critical alert is valid, severity_id 5" \
    bash -c "python3 -c '
import json,sys
d=[json.loads(l) for l in open(sys.argv[1])]
sys.exit(not any(x[\"severity_id\"]==5 and x[\"unmapped\"][\"type\"]==\"log.inconsistent\" for x in d))' '$T/fork.ocsf'"
check "outbox: every OCSF line valid" ocsf_valid "$T/fork.ocsf"
check "once: no key in what tlogwatch printed" \
    no_key "$T/sync.out" "$T/sync.err" "$T/fork.out" "$T/fork.err"

# ---- negative twin: a validator that can fail --------------------------------
# The OCSF check refuses the stdout document without one required field.
python3 -c '
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][0])
del d["finding_info"]["uid"]
print(json.dumps(d))' "$T/ta.out" >"$T/bad.ocsf"
ocsf_refused() { ! ocsf_valid "$1" 2>/dev/null; }
check "negative twin: the OCSF check refuses a finding without finding_info.uid" \
    ocsf_refused "$T/bad.ocsf"
finish
