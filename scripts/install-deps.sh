#!/bin/sh
# install-deps.sh: install the Debian 12 packages tlogwatch needs to build,
# test and run, only those that are missing.  Uses sudo when not root.
# Optional extras as arguments: clang clang-format (CI), chromium (lets
# e2e_report render the HTML report and keep a screenshot; without it
# that part is skipped with a message).  groff-base and man-db: e2e_install
# renders the man page.
set -eu
PKGS="cmake make gcc pkg-config libssl-dev libcurl4-openssl-dev libjansson-dev
libevent-dev libsqlite3-dev libyaml-dev libcmocka-dev libcbor-dev ca-certificates
curl
jq sqlite3 python3 procps bc time docker-registry groff-base man-db $*"
# python3-aiosmtpd: e2e_email's SMTP server (STARTTLS, AUTH) on loopback,
# which the email sink delivers to.
PKGS="$PKGS python3-aiosmtpd"
# chromium: e2e_dashboard (and e2e_report) render pages in headless Chromium.
PKGS="$PKGS chromium"
# npm (and nodejs): e2e_envelopes installs its reference packages with it
# (tests/tools/npm-deps.sh: standardwebhooks, cloudevents) into a cache.
# Debian's npm only when there is no npm at all (a nodejs package of
# another origin bundles its own, and conflicts with Debian's).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    PKGS="$PKGS npm"
fi
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# promtool, for e2e_server's check of /metrics: taken alone out of
# Debian's prometheus package (a 19 MB download) into $PROMTOOL_DIR, since
# installing the package would also enable and start a Prometheus server.
PROMTOOL_DIR=${PROMTOOL_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch}
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$PROMTOOL_DIR/promtool" ]; then
    echo "install-deps: fetching promtool (Debian package prometheus) into $PROMTOOL_DIR"
    s=""
    [ "$(id -u)" -ne 0 ] && s=sudo
    $s apt-get update -qq
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq prometheus && dpkg-deb -x prometheus_*.deb x)
    mkdir -p "$PROMTOOL_DIR"
    cp "$tmp/x/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
    rm -rf "$tmp"
fi
# prometheus-alertmanager, for e2e_alertmanager (a real Alertmanager that
# the alertmanager sink posts to): its binary taken out of the Debian
# package into $PROMTOOL_DIR like promtool, since installing the package
# would enable and start an Alertmanager service; its templates go where
# Debian's build looks for them (/usr/share/prometheus/alertmanager).
AM_SHARE=/usr/share/prometheus/alertmanager
if ! command -v prometheus-alertmanager >/dev/null 2>&1 &&
    { [ ! -x "$PROMTOOL_DIR/prometheus-alertmanager" ] ||
        [ ! -f "$AM_SHARE/default.tmpl" ]; }; then
    echo "install-deps: fetching prometheus-alertmanager into $PROMTOOL_DIR (templates: $AM_SHARE)"
    s=""
    [ "$(id -u)" -ne 0 ] && s=sudo
    $s apt-get update -qq
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq prometheus-alertmanager &&
        dpkg-deb -x prometheus-alertmanager_*.deb x)
    mkdir -p "$PROMTOOL_DIR"
    cp "$tmp/x/usr/bin/prometheus-alertmanager" "$PROMTOOL_DIR/prometheus-alertmanager"
    $s mkdir -p "$AM_SHARE"
    $s cp -R "$tmp/x$AM_SHARE/." "$AM_SHARE/"
    rm -rf "$tmp"
fi
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
