#!/bin/bash
# e2e_report.sh: `tlogwatch report` and the daemon's periodic report, real
# binary against the real loopback test log.
#  - after `once` over a log with watched signings, the JSON report's
#    figures equal what `status` says and what was delivered;
#  - Markdown and HTML carry the same evidence; the HTML page is
#    self-contained and renders in headless Chromium (screenshot kept in
#    the build dir's tests/artifacts/; skipped with a message when chromium
#    is not installed: `sh scripts/install-deps.sh chromium`);
#  - bad arguments are usage errors (exit 2);
#  - `run` with report.every writes report-<until>.{md,json,html} into
#    report.dir, sends a report.periodic alert to the report.notify sinks,
#    and periods follow each other without gap, across a restart.
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
ART="${TLOGWATCH_BUILD:-$T}/tests/artifacts"
mkdir -p "$ART"

tl_start a 400
ROOT_A="$TL_DIR_a/trusted_root.json"
WATCH=(
    "watch:"
    "  - name: enclave-app"
    "    repository: acme/enclave-app"
    "    allow: {workflows: [.github/workflows/build-eif.yml], refs: [refs/heads/main]}"
    "    record_expected: true"
)
tw_config "$T/a.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" "${WATCH[@]}"

# ---- a short history: clean catch-up, then signings and growth ---------
"$BIN" once -c "$T/a.yaml" >"$T/o1.out" 2>"$T/o1.err"
check "once from 0 exits 0" test $? -eq 0
tl_admin a append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml"}' >/dev/null
tl_admin a append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","runner_environment":"self-hosted"}' >/dev/null
tl_admin a append '{"repository":"acme/enclave-app","workflow":".github/workflows/build-eif.yml","impostor":true}' >/dev/null
tl_admin a grow '{"count":120}' >/dev/null
"$BIN" once -c "$T/a.yaml" >"$T/o2.out" 2>"$T/o2.err"
check "once with a critical alert exits 1" test $? -eq 1
cat "$T/o1.out" "$T/o2.out" >"$T/alerts.jsonl"

# ---- JSON: the store's figures -----------------------------------------
"$BIN" report -c "$T/a.yaml" --format json >"$T/r.json" 2>"$T/r.err"
check "report --format json exits 0" test $? -eq 0
"$BIN" status -c "$T/a.yaml" >"$T/status.txt"
check "JSON report matches status and the delivered alerts" \
    python3 - "$T/r.json" "$T/status.txt" "$T/alerts.jsonl" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
st = open(sys.argv[2]).read()
alerts = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
ok = True
def want(what, got, exp):
    global ok
    if got != exp:
        print("  %s: report says %r, expected %r" % (what, got, exp))
        ok = False
def num(pat):
    m = re.search(pat, st, re.M)
    if not m:
        print("  status has no %r" % pat)
        sys.exit(1)
    return [int(g) for g in m.groups()]
want("schema", r["schema"], "tlogwatch.report/v1")
log = r["logs"][0]
want("verified size", log["verified_size"], num(r"^  verified size +(\d+)")[0])
want("verified root", log["verified_root"],
     re.search(r"^  verified root +([0-9a-f]{64})", st, re.M).group(1))
want("cursor", log["cursor"], num(r"^  cursor +(\d+)")[0])
scanned, cps, proofs, roots = num(
    r"entries scanned (\d+); checkpoints (\d+); consistency proofs (\d+); root checks (\d+)")
want("entries scanned", log["to_date"]["entries_scanned"], scanned)
want("checkpoints to date", log["to_date"]["checkpoints_verified"], cps)
want("proofs to date", log["to_date"]["consistency_proofs_verified"], proofs)
want("root checks", log["to_date"]["root_checks_passed"], roots)
info, warn, crit = num(r"^alerts: (\d+) info, (\d+) warning, (\d+) critical")
want("alerts", r["totals"]["alerts"], {"info": info, "warning": warn, "critical": crit})
pend, sent, failed = num(r"^outbox: (\d+) pending, (\d+) sent, (\d+) failed")
want("outbox", r["totals"]["outbox"], {"pending": pend, "sent": sent, "failed": failed})
# Every alert delivered to the stdout sink is in the report, by id.
want("alerts_total", r["alerts_total"], len(alerts))
want("alert ids", sorted(a["id"] for a in r["alerts"]), sorted(a["id"] for a in alerts))
types = {}
for a in alerts:
    k = (a["type"], a["severity"])
    types[k] = types.get(k, 0) + 1
want("alert types", {(t["type"], t["severity"]): t["count"] for t in r["alert_types"]}, types)
# The watch rule: both watched signings by verdict, newest first.
rule = [x for x in r["rules"] if x["name"] == "enclave-app"]
want("rule listed", len(rule), 1)
rule = rule[0]
want("rule configured", rule["configured"], True)
want("rule signings", rule["signings"], sum(rule["verdicts"].values()))
want("recent signings", len(rule["recent_signings"]), rule["signings"])
want("self-hosted signing listed", any(s["runner_environment"] == "self-hosted"
                                      for s in rule["recent_signings"]), True)
want("totals signings", r["totals"]["signings"], rule["signings"])
# Period evidence: the first and last checkpoints of the period.
p = log["period"]
want("last checkpoint = verified", p["last_checkpoint"]["size"], log["verified_size"])
want("last checkpoint root", p["last_checkpoint"]["root"], log["verified_root"])
want("last note names the size", str(log["verified_size"]) in p["last_checkpoint"]["note"].split("\n")[1], True)
want("checkpoints in period", p["checkpoints_verified"], r["totals"]["checkpoints_verified"])
sys.exit(0 if ok else 1)
PY
# The evidence in the JSON report checks offline with the verify
# subcommands: the signed notes with the log key (not with another key),
# each consistency link from the previous checkpoint (not once tampered).
check "JSON evidence verifies offline; tampered twins do not" \
    python3 - "$T/r.json" "$BIN" "$TL_DIR_a" "$T" <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
bin, tl, tmp = sys.argv[2], sys.argv[3], sys.argv[4]
def run(*args):
    return subprocess.run([bin] + list(args), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode
ok = True
p = r["logs"][0]["period"]
for which in ("first_checkpoint", "last_checkpoint"):
    f = "%s/%s.note" % (tmp, which)
    open(f, "w").write(p[which]["note"])
    if run("verify", "checkpoint", "--key", tl + "/log.pub", f) != 0:
        print("  %s does not verify with the log key" % which); ok = False
    if run("verify", "checkpoint", "--key", tl + "/wrong-key.pub", f) != 1:
        print("  %s verifies with another key" % which); ok = False
chain = p["chain"]
if not p["chain_complete"] or len(chain) != p["checkpoints_verified"]:
    print("  chain incomplete"); ok = False
roots = {c["size"]: c["root"] for c in chain}
links = 0
for c in chain:
    if c["link"] != "consistency" or c["prev_size"] not in roots:
        continue
    links += 1
    base = ["verify", "consistency", "--old-size", str(c["prev_size"]),
            "--old-root", roots[c["prev_size"]], "--new-size", str(c["size"]),
            "--new-root", c["root"], "--proof"]
    f = "%s/proof-%d.json" % (tmp, c["size"])
    json.dump({"hashes": c["proof"]}, open(f, "w"))
    if run(*(base + [f])) != 0:
        print("  link %d -> %d does not verify" % (c["prev_size"], c["size"])); ok = False
    bad = list(c["proof"])
    bad[0] = ("0" if bad[0][0] != "0" else "1") + bad[0][1:]
    json.dump({"hashes": bad}, open(f, "w"))
    if run(*(base + [f])) != 1:
        print("  a tampered proof verifies"); ok = False
if links != p["consistency_proofs_verified"] or links == 0:
    print("  %d links checked, %d proofs counted" % (links, p["consistency_proofs_verified"])); ok = False
sys.exit(0 if ok else 1)
PY
check "--since 1s covers one second" \
    python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r["period"]["until_unix"] - r["period"]["since_unix"] == 1 else 1)' \
    < <("$BIN" report -c "$T/a.yaml" --since 1s --format json)

# ---- Markdown ------------------------------------------------------------
"$BIN" report -c "$T/a.yaml" >"$T/r.md" 2>>"$T/r.err"
check "report (md by default) exits 0" test $? -eq 0
VSIZE=$(status_field "$T/a.yaml" "verified size")
check "md: title, rule, verified size, notes fenced" \
    bash -c 'grep -q "^# tlogwatch consistency report" "$1" &&
             grep -q "### Rule \`enclave-app\`" "$1" &&
             grep -q "| verified size (now) | $2 |" "$1" &&
             grep -q "^\`\`\`text" "$1" &&
             grep -q "self-hosted" "$1"' _ "$T/r.md" "$VSIZE"

# ---- HTML ----------------------------------------------------------------
"$BIN" report -c "$T/a.yaml" --since 2h --format html >"$T/r.html" 2>>"$T/r.err"
check "report --format html exits 0" test $? -eq 0
cp "$T/r.html" "$ART/report.html"
check "html: complete, charts inline, nothing loaded from outside" \
    bash -c 'grep -q "</html>" "$1" && grep -q "<svg" "$1" &&
             ! grep -Eq "<script|<link|<img|<iframe| src=|href=|url\(|@import" "$1"' _ "$T/r.html"

CHROME=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
        CHROME=$(command -v "$c")
        break
    fi
done
if [ -z "$CHROME" ]; then
    echo "SKIP - html screenshot: chromium is not installed (sh scripts/install-deps.sh chromium)"
else
    PROFILE=$(mktemp -d "$T/chrome.XXXXXX")
    rm -f "$ART/report.png"
    timeout 600 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$PROFILE" \
        --screenshot="$ART/report.png" --window-size=1200,1600 \
        "file://$T/r.html" >"$T/chrome.out" 2>&1
    check "chromium renders the html report" test -s "$ART/report.png"
    # A PNG of 1200x1600 whose pixels are not all alike: once unfiltered
    # by the PNG row filters, a blank page is one colour.
    check "the screenshot is a non-blank 1200x1600 PNG" \
        python3 - "$ART/report.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype = ihdr[:4]
if (w, h) != (1200, 1600) or depth != 8 or ctype not in (2, 6):
    sys.exit("unexpected geometry %r" % (ihdr,))
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
for y in range(0, h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + ((a + b) >> 1)) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 8 == 0:
        for x in range(0, stride, bpp * 4):
            colours.add(bytes(line[x:x + 3]))
if len(colours) < 16:
    sys.exit("blank: %d colours" % len(colours))
PY
fi

# ---- usage errors --------------------------------------------------------
"$BIN" report -c "$T/a.yaml" --format pdf >/dev/null 2>"$T/u1.err"
check "unknown format: exit 2" test $? -eq 2
"$BIN" report -c "$T/a.yaml" --since 3x >/dev/null 2>"$T/u2.err"
check "bad duration: exit 2, names it" bash -c '[ $1 -eq 2 ] && grep -q -- "--since" "$2"' _ $? "$T/u2.err"
"$BIN" report -c "$T/a.yaml" extra >/dev/null 2>"$T/u3.err"
check "extra argument: exit 2" test $? -eq 2
"$BIN" report -c "$T/missing.yaml" >/dev/null 2>"$T/u4.err"
check "missing config: exit 2" test $? -eq 2

# ---- the periodic report in the daemon ----------------------------------
REPORTS="$T/reports"
tw_config "$T/p.yaml" "$TL_URL_a" "$ROOT_A" "$T/a.db" "${WATCH[@]}" \
    "report: {every: 2s, notify: [console], dir: $REPORTS}"
reports_at_least() { [ "$(alerts_of "$1" report.periodic)" -ge "$2" ]; } # out n
cursor_is() { [ "$(status_field "$1" cursor)" = "$2" ]; }
grown=$(($(status_field "$T/p.yaml" "verified size") + 50))
"$BIN" run -c "$T/p.yaml" >"$T/p1.out" 2>"$T/p1.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
wait_until 120 reports_at_least "$T/p1.out" 1
tl_admin a grow '{"count":50}' >/dev/null
# The daemon reads the 50 entries, then two more reports come (three in
# all at least), so a period of this run holds them, however slow the
# machine.
wait_until 120 cursor_is "$T/p.yaml" "$grown"
n=$(($(alerts_of "$T/p1.out" report.periodic) + 2))
wait_until 120 reports_at_least "$T/p1.out" $((n > 3 ? n : 3))
kill -TERM $RUN_PID
wait $RUN_PID
check "run: exits 0 on SIGTERM with reports on" test $? -eq 0
check "run: three report.periodic alerts in about 6 s" \
    test "$(alerts_of "$T/p1.out" report.periodic)" -ge 3
"$BIN" run -c "$T/p.yaml" >"$T/p2.out" 2>"$T/p2.err" &
RUN_PID=$!
E2E_PIDS+=($RUN_PID)
wait_until 120 reports_at_least "$T/p2.out" 1
kill -TERM $RUN_PID
wait $RUN_PID
check "restart: the next report.periodic alert" \
    test "$(alerts_of "$T/p2.out" report.periodic)" -ge 1
check "periodic: files, alert fields, periods without gap across a restart" \
    python3 - "$REPORTS" "$T/p1.out" "$T/p2.out" <<'PY'
import json, os, sys
d = sys.argv[1]
alerts = [json.loads(l) for f in sys.argv[2:] for l in open(f)
          if l.startswith("{") and json.loads(l)["type"] == "report.periodic"]
ok = True
prev = None
for a in alerts:
    rep = a["report"]
    if a["severity"] != "info" or "critical" not in a["summary"]:
        print("  bad alert", a["summary"]); ok = False
    if prev is not None and rep["period"]["since_unix"] != prev:
        print("  gap or overlap: since %d, previous until %d" % (rep["period"]["since_unix"], prev)); ok = False
    prev = rep["period"]["until_unix"]
    exts = sorted(os.path.splitext(f)[1] for f in rep["files"])
    if exts != [".html", ".json", ".md"]:
        print("  files", rep["files"]); ok = False
    for f in rep["files"]:
        if not os.path.isfile(f) or os.path.dirname(f) != d or not os.path.basename(f).startswith("report-"):
            print("  missing or misplaced", f); ok = False
    j = [f for f in rep["files"] if f.endswith(".json")][0]
    r = json.load(open(j))
    if r["period"] != rep["period"] or r["totals"] != rep["totals"]:
        print("  the alert's figures differ from", j); ok = False
# Entries scanned in each period = growth of the counter since the
# previous report; the 50 entries appended during the run are counted.
scanned, prev_total = 0, None
for a in alerts:
    j = [f for f in a["report"]["files"] if f.endswith(".json")][0]
    log = json.load(open(j))["logs"][0]
    n = log["period"]["entries_scanned"]
    if not isinstance(n, int):
        print("  no entries_scanned in", j); ok = False
        continue
    if prev_total is not None and n != log["to_date"]["entries_scanned"] - prev_total:
        print("  %s: %d scanned in period, counter moved by %d" % (j, n, log["to_date"]["entries_scanned"] - prev_total)); ok = False
    prev_total = log["to_date"]["entries_scanned"]
    scanned += n
if scanned != 50:
    print("  %d entries scanned over the periods, 50 appended" % scanned); ok = False
left = [f for f in os.listdir(d) if f.endswith(".tmp")]
if left:
    print("  temporary files left", left); ok = False
sys.exit(0 if ok and len(alerts) >= 3 else 1)
PY

finish
