#!/bin/bash
# e2e_dashboard.sh: the dashboard (issue 12), rendered by headless
# Chromium from what the real tlogwatch made.  Two enclave artifacts are
# pushed to a real registry (Debian's docker-registry behind
# tests/tools/registry.py, as in e2e_pcr) and their signings appended to
# the loopback test log: one with the allowed PCR set, one with PCR2
# changed (signing.unknown_pcrs).  After `once`:
#  - `status --format html` (the dashboard offline) renders in Chromium
#    (screenshot kept in the build dir's tests/artifacts/); its DOM shows,
#    in each signing's row, the commit linked to its commit_url, the
#    workflow-run link, runner, every PCR value and the verdict that
#    `status --format json` gives: the unknown_pcrs one NOT ALLOWED (and
#    not in the ok colour), the other allowed; the stale flag, sizes and
#    alerts by severity; no script, no external resource;
#  - the daemon's status server (http.listen): GET / is that page
#    (text/html), rendered by Chromium from http:// (screenshot
#    tests/artifacts/dashboard.png) and checked the same way against
#    /api/v1/status.
# PCR values come from ../shared/testdata/nitro/nitro-cli-pcrs.json at run
# time.  Needs chromium (scripts/install-deps.sh installs it).
. "$TLOGWATCH_SRC/tests/lib/e2e.sh"
T=$E2E_TMP
BIN=$TLOGWATCH_BIN
REPO=acme/enclave-app
WF=.github/workflows/build-eif.yml
REG_BIN=${TLOGWATCH_REGISTRY_BIN:-/usr/bin/docker-registry}
ART="${TLOGWATCH_BUILD:-$T}/tests/artifacts"
mkdir -p "$ART"

CHROME=""
for c in chromium chromium-browser google-chrome; do
    if command -v "$c" >/dev/null 2>&1; then
        CHROME=$(command -v "$c")
        break
    fi
done
check "chromium is installed (sh scripts/install-deps.sh)" test -n "$CHROME"
check "docker-registry is installed" test -x "$REG_BIN"
if [ -z "$CHROME" ] || [ ! -x "$REG_BIN" ]; then
    finish
    exit 1
fi

# chrome OUT.png OUT.dom URL: a screenshot and the DOM after load.
chrome() {
    local png=$1 dom=$2 url=$3 profile
    profile=$(mktemp -d "$T/chrome.XXXXXX")
    rm -f "$png"
    timeout 600 "$CHROME" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" --window-size=1300,2000 \
        --screenshot="$png" "$url" >"$png.log" 2>&1
    timeout 600 "$CHROME" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync \
        --user-data-dir="$profile" --dump-dom "$url" >"$dom" 2>"$dom.log"
    echo "screenshot: $png"
}

# check_dom DOM DOC.json: the page Chromium built shows what the status
# document says (rows found by commit; the text is the DOM's).
check_dom() {
    python3 - "$1" "$2" <<'PY'
import json, sys
from html.parser import HTMLParser

dom, doc = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))

class Page(HTMLParser):
    """Rows of every table: their text, links and classes."""
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.tags = [], None, []
        self.text = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "tr":
            self.row = {"text": "", "hrefs": [], "links": [],
                        "classes": [a.get("class", "")], "cur": None}
            self.rows.append(self.row)
        elif self.row is not None:
            self.row["classes"].append(a.get("class", ""))
            if tag == "a":
                self.row["hrefs"].append(a.get("href"))
                self.row["cur"] = ""
    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None
        elif tag == "a" and self.row is not None and self.row["cur"] is not None:
            self.row["links"].append((self.row["hrefs"][-1], self.row["cur"]))
            self.row["cur"] = None
    def handle_data(self, data):
        self.text.append(data)
        if self.row is not None:
            self.row["text"] += data
            if self.row["cur"] is not None:
                self.row["cur"] += data

p = Page()
p.feed(dom)
text = " ".join(" ".join(p.text).split())
fails = []
def need(cond, what):
    if not cond:
        fails.append(what)

tags = {t for t, _ in p.tags}
need(not tags & {"script", "img", "iframe", "link", "object", "embed"},
     "no script or external resource: %s" % sorted(tags))
need(all(a.get("href", "https://").startswith(("https://", "http://"))
         for _, a in p.tags), "every href http(s)")
need(any(t == "meta" and a.get("http-equiv") == "refresh" for t, a in p.tags),
     "the page refreshes itself")

seen_bad = seen_ok = 0
for rule in doc["rules"]:
    for s in rule["signings"]:
        rows = [r for r in p.rows if r["classes"][0] in ("allowed", "notallowed")
                and s["commit"] and s["commit"] in r["text"]]
        need(len(rows) == 1, "one row for commit %s" % s["commit"])
        if not rows:
            continue
        r = rows[0]
        rt = " ".join(r["text"].split())
        need((s["commit_url"], s["commit"]) in r["links"],
             "commit %s links to %s" % (s["commit"], s["commit_url"]))
        need(s["run_url"] in r["hrefs"], "run link %s" % s["run_url"])
        need(s["runner"] in rt, "runner %s" % s["runner"])
        need(s["workflow"] in rt, "workflow %s" % s["workflow"])
        pcrs = s["pcrs"]
        need(pcrs["state"] in rt, "PCR state %s" % pcrs["state"])
        n = 0
        for k in ("PCR0", "PCR1", "PCR2", "PCR8"):
            if pcrs.get(k):
                n += 1
                need("%s %s" % (k, pcrs[k]) in rt, "%s %s" % (k, pcrs[k]))
        need(n >= 3, "PCR values shown for %s" % s["commit"])
        if s["allowed"]:
            seen_ok += 1
            need("allowed" in rt and "NOT ALLOWED" not in rt,
                 "%s shown allowed" % s["commit"])
        else:
            seen_bad += 1
            need("NOT ALLOWED: %s" % s["verdict"] in rt,
                 "%s shown NOT ALLOWED: %s" % (s["commit"], s["verdict"]))
            need("ok" not in " ".join(r["classes"]).split(),
                 "%s never in the ok colour" % s["commit"])
need(seen_bad >= 1 and seen_ok >= 1,
     "an allowed and a not-allowed signing (%d, %d)" % (seen_ok, seen_bad))
for log in doc["logs"]:
    rows = [r for r in p.rows if log["name"] in r["text"]
            and str(log["verified_size"]) in r["text"]]
    need(len(rows) >= 1, "log %s with its verified size" % log["name"])
    want = "STALE" if log["stale"] else "fresh"
    need(rows and want in rows[0]["text"], "log %s %s" % (log["name"], want))
for sev in ("critical", "warning", "info"):
    c = doc["alerts"]["by_severity"][sev]
    need("%s: %d" % (sev, c) in text, "alerts %s: %d" % (sev, c))
need(doc["alerts"]["by_severity"]["critical"] >= 1, "a critical alert counted")
for f in fails:
    print("dashboard DOM: missing:", f)
sys.exit(1 if fails else 0)
PY
}

# ---- the registry and two signings (as e2e_pcr) --------------------------
reg_start || { finish; exit 1; }

python3 - "$TLOGWATCH_TESTDATA/nitro/nitro-cli-pcrs.json" "$T" <<'PY'
import json, sys
src, d = sys.argv[1:3]
m = json.load(open(src))["expectedPcrsForSampleImage"]["x86_64"]
def info(pcrs):
    return {"Measurements": dict({"HashAlgorithm": "Sha384 { ... }"}, **pcrs),
            "IsSigned": False}
json.dump(info(m), open(d + "/info-ok.json", "w"))
bad = dict(m)
bad["PCR2"] = bad["PCR2"][:-1] + ("0" if bad["PCR2"][-1] != "0" else "1")
json.dump(info(bad), open(d + "/info-pcr2.json", "w"))
for k in ("PCR0", "PCR1", "PCR2"):
    open(d + "/" + k, "w").write(m[k])
PY
PCR0=$(cat "$T/PCR0")
PCR1=$(cat "$T/PCR1")
PCR2=$(cat "$T/PCR2")

tl_start w 20
PORT=$(free_port)
tw_config "$T/d.yaml" "$TL_URL_w" "$TL_DIR_w/trusted_root.json" "$T/d.db" \
    "http: {listen: 127.0.0.1:$PORT}" \
    "watch:" \
    "  - name: app" \
    "    repository: $REPO" \
    "    allow:" \
    "      workflows: [\"$WF\"]" \
    "    record_expected: true" \
    "    pcrs:" \
    "      registry: 127.0.0.1:$PPORT/$REPO" \
    "      allow:" \
    "        - {PCR0: \"$PCR0\", PCR1: \"$PCR1\", PCR2: \"$PCR2\"}" \
    "      lookup_timeout: 60s"

next_index() {
    tl_get w /api/v1/log | python3 -c 'import json,sys; print(json.load(sys.stdin)["treeSize"])'
}

payload_of() { # SIGTAG: base64 of the simple-signing payload
    python3 - "$RPORT" "$REPO" "$1" <<'PY'
import base64, json, sys, urllib.request
port, repo, tag = sys.argv[1:4]
base = "http://127.0.0.1:%s/v2/%s" % (port, repo)
rq = urllib.request.Request(base + "/manifests/" + tag, headers={
    "Accept": "application/vnd.oci.image.manifest.v1+json"})
man = json.load(urllib.request.urlopen(rq, timeout=10))
d = man["layers"][0]["digest"]
print(base64.b64encode(urllib.request.urlopen(base + "/blobs/" + d,
                                              timeout=10).read()).decode())
PY
}

sign() { # NAME INFO SHA RUN_ID
    local idx b64
    idx=$(next_index)
    python3 "$TLOGWATCH_SRC/tests/tools/oci_push.py" \
        --registry "127.0.0.1:$RPORT" --ref-host "127.0.0.1:$PPORT" \
        --repo "$REPO" --info "$2" --tag "$1" --log-index "$idx" \
        --pcr-annotations >"$T/$1.push"
    b64=$(payload_of "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sig_tag"])' "$T/$1.push")")
    tl_admin w append "{\"repository\":\"$REPO\",\"workflow\":\"$WF\",\"ref\":\"refs/heads/main\",\"trigger\":\"push\",\"runner_environment\":\"github-hosted\",\"sha\":\"$3\",\"run_id\":$4,\"payload_b64\":\"$b64\"}" >"$T/$1.ap"
    check "$1: pushed and appended" test -s "$T/$1.ap"
}

SHA_OK=3f786850e387550fdab836ed7e6dc881de23001b
SHA_BAD=89e6c98d92887913cadf06b2adb97f26cde4849b
sign ok "$T/info-ok.json" $SHA_OK 7001
sign pcr2 "$T/info-pcr2.json" $SHA_BAD 7002

# `once` reads both and looks their PCRs up (one attempt each): the
# changed PCR2 raises signing.unknown_pcrs (critical: exit 1).
"$BIN" once -c "$T/d.yaml" >"$T/once.out" 2>"$T/once.err"
check "once: exit 1 (a critical signing.unknown_pcrs)" test $? -eq 1
check "once: signing.unknown_pcrs delivered" grep -q signing.unknown_pcrs "$T/once.out"

# ---- offline: status --format html -----------------------------------------
"$BIN" status -c "$T/d.yaml" --format json >"$T/doc.json" 2>"$T/doc.err"
check "status --format json: exit 0" test $? -eq 0
"$BIN" status -c "$T/d.yaml" --format html >"$T/page.html" 2>"$T/page.err"
check "status --format html: exit 0" test $? -eq 0
check "status --format html: one self-contained page" bash -c '
    head -c 15 "$1" | grep -q "<!DOCTYPE html>" && tail -c 8 "$1" | grep -q "</html>" &&
    ! grep -Eiq "<script|<link|<img|<iframe| src=|url\(|@import" "$1"' _ "$T/page.html"
check "status --format html: both commits" bash -c \
    'grep -q "$1" "$3" && grep -q "$2" "$3"' _ $SHA_OK $SHA_BAD "$T/page.html"
chrome "$ART/dashboard-offline.png" "$T/offline.dom" "file://$T/page.html"
check "chromium renders the offline dashboard" test -s "$ART/dashboard-offline.png"
check "offline dashboard: Chromium's DOM shows each signing's commit, run link, PCRs and verdict" \
    check_dom "$T/offline.dom" "$T/doc.json"
"$BIN" status -c "$T/d.yaml" --format pdf >/dev/null 2>"$T/fmt.err"
check "status --format pdf: usage error (exit 2) naming html" \
    bash -c '[ $1 -eq 2 ] && grep -q html "$2"' _ $? "$T/fmt.err"

# ---- the daemon's status server: GET / -----------------------------------
S="http://127.0.0.1:$PORT"
"$BIN" run -c "$T/d.yaml" >"$T/run.out" 2>"$T/run.err" &
E2E_PIDS+=($!)
check "run: the status server answers /livez" \
    wait_until 120 curl -sf -o /dev/null "$S/livez"
curl -s -D "$T/root.hdr" -o "$T/root.html" "$S/"
check "GET /: 200, text/html" bash -c \
    'head -1 "$1" | grep -q " 200" && grep -iq "^content-type: text/html" "$1"' \
    _ "$T/root.hdr"
check "GET /: the page, both commits" bash -c \
    'head -c 15 "$3" | grep -q "<!DOCTYPE html>" && grep -q "$1" "$3" && grep -q "$2" "$3"' \
    _ $SHA_OK $SHA_BAD "$T/root.html"
chrome "$ART/dashboard.png" "$T/served.dom" "$S/"
check "chromium renders the served dashboard" test -s "$ART/dashboard.png"
curl -sf -o "$T/api.json" "$S/api/v1/status"
check "GET /api/v1/status: the document" test -s "$T/api.json"
check "served dashboard: Chromium's DOM shows each signing's commit, run link, PCRs and verdict as /api/v1/status says" \
    check_dom "$T/served.dom" "$T/api.json"

finish
