#!/bin/sh
# install-deps.sh: install the Debian 12 packages tlogwatch needs to build,
# test and run, only those that are missing.  Uses sudo when not root.
# Optional extras as arguments: clang clang-format (CI), chromium (lets
# e2e_report render the HTML report and keep a screenshot; without it
# that part is skipped with a message).
set -eu
PKGS="cmake make gcc pkg-config libssl-dev libcurl4-openssl-dev libjansson-dev
libevent-dev libsqlite3-dev libyaml-dev libcmocka-dev ca-certificates curl
jq sqlite3 python3 procps bc time docker-registry $*"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
