#!/bin/bash
# e2e_email.sh: the email sink end to end, with the real binary and the real
# test log, against a real SMTP server on loopback (Debian's
# python3-aiosmtpd, tests/tools/smtp_server.py) holding a certificate from
# a test CA made here with openssl:
#  - test-alert over smtp:// + STARTTLS with AUTH: the server receives one
#    message over TLS, authenticated; the test parses it with Python's
#    email package: Date, From, To, Subject, Message-ID derived from the
#    alert id, Auto-Submitted, multipart/mixed with a text/plain part
#    (the human-readable alert) and an application/json attachment equal
#    to the alert document;
#  - smtps:// (implicit TLS) delivers too;
#  - fails closed, and the durable outbox keeps the alert: a server that
#    offers no STARTTLS (but offers AUTH in clear), one that refuses
#    STARTTLS (454), and one whose certificate is from another CA each get
#    no AUTH, no MAIL, no RCPT, no DATA; the alert stays pending (status);
#    once a proper server is back the same alert arrives exactly once,
#    its attachment byte for byte the document `once` printed;
#  - a retry sends the same message: a server that answers the first DATA
#    451 (as when an answer is lost) gets it again, with the same
#    Message-ID (derived from the alert id) and the same body but Date;
#  - min_severity: warning keeps the signing.recorded (info) alert away;
#  - a wrong password: refused, the password appears nowhere; a recipient
#    answered 550: refused for good, no DATA;
#  - the password never appears in check-config, test-alert, once, run
#    (debug log), status (text and JSON) output or the store's dump.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml
# The python3 with aiosmtpd (Debian's, from scripts/install-deps.sh),
# whichever python3 comes first on PATH.
PY=""
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import aiosmtpd' 2>/dev/null; then
        PY=$p
        break
    fi
done
if [ -z "$PY" ]; then
    echo "FAIL - python3-aiosmtpd not found (scripts/install-deps.sh installs it)"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- a test CA, the server's certificate, and a rogue CA's ------------------
mkcert() { # dir: a CA and a server certificate for 127.0.0.1 / localhost
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
        -subj "/CN=tlogwatch e2e CA $(basename "$d")" 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/srv.key" -out "$d/srv.csr" -subj "/CN=localhost" \
            2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/ext" &&
        openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
            -CAcreateserial -out "$d/srv.pem" -days 2 -extfile "$d/ext" \
            2>/dev/null
}
check "openssl made the test CA and server certificate" mkcert "$T/pki"
check "openssl made a rogue CA and certificate (same names)" mkcert "$T/rogue"

SUSER=tlogwatch
SPASS="pw-$(openssl rand -hex 12)"
export SMTP_PASS="$SPASS"
SPORT=$(free_port)
SMTP_PID=""
smtp_start() { # mode pki-dir out-dir [port]
    local port=${4:-$SPORT} n
    mkdir -p "$3"
    n=$(cat "$3/starts" 2>/dev/null || echo 0)
    "$PY" "$TLOGWATCH_SRC/tests/tools/smtp_server.py" "$port" "$1" "$3" \
        "$2/srv.pem" "$2/srv.key" "$SUSER" "$SPASS" >"$3.$1.$n.out" 2>&1 &
    SMTP_PID=$!
    E2E_PIDS+=($SMTP_PID)
    echo $((n + 1)) >"$3/starts"
    wait_until 60 grep -qs listening "$3.$1.$n.out"
}
smtp_stop() {
    kill "$SMTP_PID" 2>/dev/null
    wait "$SMTP_PID" 2>/dev/null
}
# ev DIR PYTHON: run PYTHON with E = the server's recorded events
ev() {
    "$PY" -c "
import json, sys, os
f = os.path.join('$1', 'events.jsonl')
E = [json.loads(l) for l in open(f)] if os.path.exists(f) else []
$2
"
}
nothing_sent() { # dir: clients connected, nothing past EHLO / STARTTLS
    ev "$1" "
bad = [e for e in E if e['event'] in ('auth', 'mail', 'rcpt', 'data')]
sys.exit(bool(bad) or not any(e['event'] == 'connect' for e in E))"
}

tl_start a 64
mkdir -p "$T/srv"
tw_config "$T/a.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/a.db" \
    "  - name: mail" \
    "    type: email" \
    "    url: \"smtp://127.0.0.1:$SPORT\"" \
    "    from: tlogwatch@example.org" \
    "    to: [security@example.org, oncall+tlw@example.net]" \
    "    username: $SUSER" \
    "    password: \"\${SMTP_PASS}\"" \
    "    ca_file: $T/pki/ca.pem" \
    "    min_severity: warning" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "      refs: [\"refs/heads/main\"]" \
    "    record_expected: true"
"$BIN" check-config -c "$T/a.yaml" >"$T/cc.out" 2>&1
check "check-config accepts the email sink" test $? -eq 0

# The message checks, with Python's email package.  msg_ok FILE ID DOC
# [SUBJECT-PART]: headers, parts, the attachment equal to DOC's bytes.
msg_ok() {
    "$PY" - "$@" <<'PY'
import email, email.policy, email.utils, json, sys
path, aid, docf = sys.argv[1], sys.argv[2], sys.argv[3]
want_subj = sys.argv[4] if len(sys.argv) > 4 else None
raw = open(path, "rb").read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def fail(why):
    sys.exit("%s: %s" % (path, why))
# RFC 5322 shape: CRLF lines of at most 998 octets, ASCII only
for line in raw.split(b"\r\n"):
    if b"\n" in line or b"\r" in line or len(line) > 998 or max(line, default=0) > 126:
        fail("bad line %r" % line[:80])
for h in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version"):
    if len(m.get_all(h, [])) != 1:
        fail("header %s %r" % (h, m.get_all(h)))
if m["From"].addresses[0].addr_spec != "tlogwatch@example.org":
    fail("From %r" % m["From"])
if [a.addr_spec for a in m["To"].addresses] != ["security@example.org", "oncall+tlw@example.net"]:
    fail("To %r" % m["To"])
if m["Message-ID"] != "<tlogwatch.%s@example.org>" % aid:
    fail("Message-ID %r, alert id %s" % (m["Message-ID"], aid))
if m["X-Tlogwatch-Alert-Id"] != aid or m["Auto-Submitted"] != "auto-generated":
    fail("X-Tlogwatch-Alert-Id / Auto-Submitted")
if email.utils.parsedate_to_datetime(m["Date"]) is None:
    fail("Date %r" % m["Date"])
doc = open(docf, "rb").read().rstrip(b"\n")
alert = json.loads(doc)
subj = str(m["Subject"])
pre = "[tlogwatch %s] " % alert["severity"]
rest = subj[len(pre):]
if not subj.startswith(pre) or not alert["summary"].startswith(rest) or \
        len(rest) < min(len(alert["summary"]), 150):
    fail("Subject %r, summary %r" % (subj, alert["summary"]))
if want_subj and want_subj not in subj:
    fail("Subject %r lacks %r" % (subj, want_subj))
if m.get_content_type() != "multipart/mixed":
    fail("type %s" % m.get_content_type())
parts = list(m.iter_parts())
if [p.get_content_type() for p in parts] != ["text/plain", "application/json"]:
    fail("parts %r" % [p.get_content_type() for p in parts])
text = parts[0].get_content()
if not text.startswith("[%s] %s: %s" % (alert["severity"], alert["type"], alert["summary"])):
    fail("text part %r" % text[:200])
if "\r\n" not in parts[0].get_payload(decode=True).decode():
    fail("text part lines are not CRLF")
att = parts[1]
if att.get_content_disposition() != "attachment" or \
        not att.get_filename().startswith("tlogwatch-alert-"):
    fail("attachment %r %r" % (att.get_content_disposition(), att.get_filename()))
body = att.get_payload(decode=True)
if body != doc:
    fail("attachment differs from the alert document")
if json.loads(body).get("schema") != "tlogwatch.alert/v1" or json.loads(body)["id"] != aid:
    fail("attachment is not the tlogwatch.alert/v1 document of %s" % aid)
PY
}

# ---- test-alert over smtp:// + STARTTLS, authenticated -------------------------
smtp_start starttls "$T/pki" "$T/srv"
"$BIN" test-alert -c "$T/a.yaml" >"$T/ta.out" 2>"$T/ta.err"
check "test-alert: exit 0" test $? -eq 0
check "test-alert: mail ok, shown as smtp://host:port/..." \
    grep -q "^mail (email smtp://127.0.0.1:$SPORT/...): ok$" "$T/ta.out"
TID=$(sed -n 's/^sending monitor.test //p' "$T/ta.out")
check "server: one message, over TLS, after AUTH as $SUSER, envelope from/to" \
    ev "$T/srv" "
d = [e for e in E if e['event'] == 'data']
a = [e for e in E if e['event'] == 'auth']
ok = (len(d) == 1 and d[0]['tls'] and d[0]['user'] == '$SUSER'
      and d[0]['from'] == 'tlogwatch@example.org'
      and d[0]['to'] == ['security@example.org', 'oncall+tlw@example.net']
      and len(a) == 1 and a[0]['ok'] and a[0]['tls']
      and all(e['tls'] for e in E if e['event'] in ('mail', 'rcpt')))
sys.exit(not ok)"
# test-alert prints no document: rebuild it from the attachment's id and
# check the message against the attachment itself, then its summary.
"$PY" -c "
import email, email.policy, sys
m = email.message_from_bytes(open('$T/srv/msg-1.eml','rb').read(), policy=email.policy.default)
sys.stdout.buffer.write(list(m.iter_parts())[1].get_payload(decode=True))" >"$T/ta.doc"
check "test-alert: the message parses: headers, Message-ID from the id, text and JSON parts" \
    msg_ok "$T/srv/msg-1.eml" "$TID" "$T/ta.doc" "Test alert from tlogwatch"
check "test-alert: the attachment is the monitor.test alert (info)" \
    "$PY" -c "
import json, sys
a = json.load(open('$T/ta.doc'))
sys.exit(a['type'] != 'monitor.test' or a['severity'] != 'info' or a['id'] != '$TID')"

# ---- a wrong password: refused, never shown ---------------------------------
SMTP_PASS="wrong-$SPASS" "$BIN" test-alert -c "$T/a.yaml" >"$T/wp.out" 2>"$T/wp.err"
check "wrong password: test-alert exit 1, mail FAILED" \
    bash -c "[ $? -eq 1 ] && grep -q '^mail (email smtp://127.0.0.1:$SPORT/...): FAILED: ' '$T/wp.out'"
check "wrong password: the server refused the AUTH and took nothing" \
    ev "$T/srv" "
a = [e for e in E if e['event'] == 'auth']
sys.exit(len(a) != 2 or a[1]['ok'] or len([e for e in E if e['event'] == 'data']) != 1)"
smtp_stop

# ---- a recipient the server does not know: 550, refused for good ---------------
mkdir -p "$T/rej"
smtp_start reject "$T/pki" "$T/rej"
"$BIN" test-alert -c "$T/a.yaml" >"$T/rej.out" 2>"$T/rej.err"
check "550 for a recipient: test-alert exit 1, refused for good (not retried)" \
    bash -c "[ $? -eq 1 ] && grep -q '^mail (email smtp://127.0.0.1:$SPORT/...): FAILED: SMTP 550.*(refused)$' '$T/rej.out'"
check "550 for a recipient: no DATA was sent" \
    ev "$T/rej" "sys.exit(not any(e['event'] == 'rcpt' for e in E) or any(e['event'] == 'data' for e in E))"
smtp_stop

# ---- smtps:// (implicit TLS) -------------------------------------------------
S2PORT=$(free_port)
sed "s|smtp://127.0.0.1:$SPORT|smtps://127.0.0.1:$S2PORT|" "$T/a.yaml" >"$T/s.yaml"
mkdir -p "$T/srv2"
smtp_start smtps "$T/pki" "$T/srv2" "$S2PORT"
"$BIN" test-alert -c "$T/s.yaml" >"$T/ta2.out" 2>"$T/ta2.err"
check "smtps: test-alert ok" \
    grep -q "^mail (email smtps://127.0.0.1:$S2PORT/...): ok$" "$T/ta2.out"
check "smtps: one message over TLS, authenticated" \
    ev "$T/srv2" "
d = [e for e in E if e['event'] == 'data']
sys.exit(len(d) != 1 or not d[0]['tls'] or d[0]['user'] != '$SUSER')"
smtp_stop

# ---- tls: none: plain SMTP to a relay on this machine --------------------------
# A local MTA without a certificate (mode relay: no STARTTLS, no AUTH):
# delivered in clear with tls: none (config allows it only for a loopback
# host, without credentials: test_config); the same relay with the
# default (TLS required) gets nothing.
RPORT=$(free_port)
for t in none required; do
    tw_config "$T/r-$t.yaml" "$TL_URL_a" "$TL_DIR_a/trusted_root.json" "$T/r.db" \
        "  - name: relay" \
        "    type: email" \
        "    url: \"smtp://127.0.0.1:$RPORT\"" \
        "    from: tlogwatch@example.org" \
        "    to: [security@example.org, oncall+tlw@example.net]" \
        "    tls: $t"
done
mkdir -p "$T/relay"
smtp_start relay "$T/pki" "$T/relay" "$RPORT"
"$BIN" test-alert -c "$T/r-required.yaml" >"$T/rr.out" 2>"$T/rr.err"
check "relay, tls: required (the default): test-alert exit 1, FAILED" \
    bash -c "[ $? -eq 1 ] && grep -q '^relay (email smtp://127.0.0.1:$RPORT/...): FAILED: ' '$T/rr.out'"
check "relay, tls: required: the relay got EHLO only (no MAIL, RCPT, DATA)" \
    nothing_sent "$T/relay"
"$BIN" test-alert -c "$T/r-none.yaml" >"$T/rn.out" 2>"$T/rn.err"
check "relay, tls: none: test-alert ok" \
    grep -q "^relay (email smtp://127.0.0.1:$RPORT/...): ok$" "$T/rn.out"
RID=$(sed -n 's/^sending monitor.test //p' "$T/rn.out")
check "relay, tls: none: one message, in clear, no AUTH, envelope from/to" \
    ev "$T/relay" "
d = [e for e in E if e['event'] == 'data']
ok = (len(d) == 1 and not d[0]['tls'] and d[0]['user'] is None
      and d[0]['from'] == 'tlogwatch@example.org'
      and d[0]['to'] == ['security@example.org', 'oncall+tlw@example.net']
      and not any(e['event'] == 'auth' for e in E))
sys.exit(not ok)"
"$PY" -c "
import email, email.policy, sys
m = email.message_from_bytes(open('$T/relay/msg-1.eml','rb').read(), policy=email.policy.default)
sys.stdout.buffer.write(list(m.iter_parts())[1].get_payload(decode=True))" >"$T/rn.doc"
check "relay, tls: none: the message parses (headers, Message-ID from the id, parts)" \
    msg_ok "$T/relay/msg-1.eml" "$RID" "$T/rn.doc" "Test alert from tlogwatch"
smtp_stop

# ---- the outbox: no STARTTLS, a refused STARTTLS, a rogue CA, then delivery ----
"$BIN" once -c "$T/a.yaml" >"$T/sync.out" 2>"$T/sync.err"
check "sync: once exits 0" test $? -eq 0
mkdir -p "$T/notls"
smtp_start notls "$T/pki" "$T/notls"
sha() { printf '%040x' "$1"; }
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(sha 1)\"}" >"$T/ap1.json"
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"self-hosted\",\"sha\":\"$(sha 2)\"}" >"$T/ap2.json"
"$BIN" once -c "$T/a.yaml" >"$T/down.out" 2>"$T/down.err"
check "no STARTTLS: once still ends (exit 1: a critical alert)" test $? -eq 1
grep '"type":"signing.self_hosted_runner"' "$T/down.out" >"$T/crit.doc"
grep '"type":"signing.recorded"' "$T/down.out" >"$T/info.doc"
CID=$("$PY" -c "import json; print(json.load(open('$T/crit.doc'))['id'])")
IID=$("$PY" -c "import json; print(json.load(open('$T/info.doc'))['id'])")
check "no STARTTLS: both signings were alerted (stdout sink)" \
    test -n "$CID" -a -n "$IID"
check "no STARTTLS: said why (STARTTLS not supported)" \
    grep -qi "outbox: mail (email smtp://127.0.0.1:$SPORT/...): alert .* not delivered: .*STARTTLS" "$T/down.err"
check "no STARTTLS: the server got EHLO only: no AUTH in clear, no MAIL, RCPT, DATA" \
    nothing_sent "$T/notls"
"$BIN" status -c "$T/a.yaml" >"$T/status1.out" 2>&1
check "no STARTTLS: the alert is kept pending (status)" \
    grep -q "^  mail (email smtp://127.0.0.1:$SPORT/...): 1 pending, 0 failed" "$T/status1.out"
smtp_stop

# A server that offers STARTTLS and refuses it (454).  `once` tries only
# rows that are due (after the backoff), so run it until it has tried.
mkdir -p "$T/refuse"
smtp_start refuse "$T/pki" "$T/refuse"
tried() { # dir event: once, until the server recorded the event
    "$BIN" once -c "$T/a.yaml" >>"$T/retry.out" 2>>"$T/retry.err"
    ev "$1" "sys.exit(not any(e['event'] == '$2' for e in E))"
}
check "refused STARTTLS: a later once tried it" wait_until 120 tried "$T/refuse" starttls_refused
check "refused STARTTLS: nothing sent (no AUTH, MAIL, RCPT, DATA)" nothing_sent "$T/refuse"
check "refused STARTTLS: said so (454)" grep -q "not delivered: .*454" "$T/retry.err"
smtp_stop

# A server whose certificate the configured CA did not issue.
mkdir -p "$T/rogue-srv"
smtp_start starttls "$T/rogue" "$T/rogue-srv"
: >"$T/retry.err"
rogue_tried() {
    "$BIN" once -c "$T/a.yaml" >>"$T/retry.out" 2>>"$T/retry.err"
    grep -q "not delivered: .*certificate" "$T/retry.err"
}
check "rogue CA: a later once refused its certificate" wait_until 120 rogue_tried
check "rogue CA: nothing sent (no AUTH, MAIL, RCPT, DATA)" nothing_sent "$T/rogue-srv"
"$BIN" status -c "$T/a.yaml" >"$T/status2.out" 2>&1
check "rogue CA: still 1 pending, nothing failed for good" \
    grep -q "^  mail (email smtp://127.0.0.1:$SPORT/...): 1 pending, 0 failed" "$T/status2.out"
smtp_stop

# A proper server is back: the alert kept in the outbox arrives.
mkdir -p "$T/srv3"
smtp_start starttls "$T/pki" "$T/srv3"
delivered() {
    "$BIN" once -c "$T/a.yaml" >>"$T/up.out" 2>>"$T/up.err"
    ev "$T/srv3" "sys.exit(not any(e['event'] == 'data' for e in E))"
}
check "back: a later once delivers the kept alert" wait_until 120 delivered
check "back: exactly one message: the critical alert; the info one filtered (min_severity)" \
    "$PY" - "$T/srv3" "$CID" "$IID" <<'PY'
import email, email.policy, glob, sys
ids = []
for f in sorted(glob.glob(sys.argv[1] + "/msg-*.eml")):
    m = email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
    ids.append(m["X-Tlogwatch-Alert-Id"])
sys.exit(ids != [sys.argv[2]] and "ids %r" % ids)
PY
check "back: the message parses; its attachment is the document once printed, byte for byte" \
    msg_ok "$T/srv3/msg-1.eml" "$CID" "$T/crit.doc" "self-hosted"
"$BIN" status -c "$T/a.yaml" >"$T/status3.out" 2>&1
check "back: nothing pending, nothing failed (status)" \
    grep -q "^  mail (email smtp://127.0.0.1:$SPORT/...): 0 pending, 0 failed" "$T/status3.out"

# ---- run: a new alert reaches the server through the daemon ---------------------
TLOGWATCH_DEBUG=1 "$BIN" run -c "$T/a.yaml" >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\".github/workflows/evil.yml\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(sha 3)\"}" >"$T/ap3.json"
two() { ev "$T/srv3" "sys.exit(len([e for e in E if e['event'] == 'data']) < 2)"; }
check "run: the unexpected signing arrives by email" wait_until 120 two
kill "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
grep '"type":"signing.unexpected"' "$T/run.out" >"$T/unexp.doc"
UID_=$("$PY" -c "import json; print(json.load(open('$T/unexp.doc'))['id'])" 2>/dev/null)
check "run: that message parses, attachment = the alert the daemon printed" \
    msg_ok "$T/srv3/msg-2.eml" "$UID_" "$T/unexp.doc"

# ---- a retry sends the same message: the first DATA answered 451 ------------
smtp_stop
mkdir -p "$T/srv4"
smtp_start tempfail "$T/pki" "$T/srv4"
tl_admin a append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/dev\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$(sha 4)\"}" >"$T/ap4.json"
: >"$T/tf.out"
resent() {
    "$BIN" once -c "$T/a.yaml" >>"$T/tf.out" 2>>"$T/tf.err"
    ev "$T/srv4" "sys.exit(not any(e['event'] == 'data' and e['accepted'] for e in E))"
}
check "451: a later once sends it again and it is accepted" wait_until 120 resent
grep '"type":"signing.unexpected"' "$T/tf.out" | head -1 >"$T/tf.doc"
check "451: two copies, the same Message-ID (from the alert id), the same body but Date" \
    "$PY" - "$T/srv4" "$T/tf.doc" <<'PY'
import email, email.policy, json, sys
d, doc = sys.argv[1], json.load(open(sys.argv[2]))
a = [open("%s/msg-%d.eml" % (d, i), "rb").read() for i in (1, 2)]
m = [email.message_from_bytes(x, policy=email.policy.default) for x in a]
want = "<tlogwatch.%s@example.org>" % doc["id"]
if [x["Message-ID"] for x in m] != [want, want]:
    sys.exit("Message-IDs %r, want %s" % ([x["Message-ID"] for x in m], want))
strip = lambda b: b"\r\n".join(l for l in b.split(b"\r\n") if not l.startswith(b"Date: "))
if strip(a[0]) != strip(a[1]):
    sys.exit("the retry differs beyond Date")
PY
check "451: said so, then delivered: nothing pending" \
    bash -c "grep -q 'not delivered: SMTP 451' '$T/tf.err' && '$BIN' status -c '$T/a.yaml' | grep -q '^  mail (email smtp://127.0.0.1:$SPORT/...): 0 pending, 0 failed'"

# ---- the password is never shown ---------------------------------------------------
"$BIN" status -c "$T/a.yaml" >"$T/status4.out" 2>&1
"$BIN" status -c "$T/a.yaml" --format json >"$T/status5.out" 2>&1
sqlite3 "$T/a.db" .dump >"$T/dump.out"
check "positive control: the server saw the password (AUTH succeeded)" \
    ev "$T/srv3" "sys.exit(not any(e['event'] == 'auth' and e['ok'] for e in E))"
check "the password appears in no output of tlogwatch (check-config, test-alert, once, run with debug, status, status --format json, the store)" \
    bash -c "! grep -l -- '$SPASS' '$T'/*.out '$T'/*.err"
finish
