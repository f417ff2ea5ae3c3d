#!/bin/sh
# npm-deps.sh: the npm packages that tests use as independent references,
# installed once into a cache directory (offline once there) and printed:
# the directory whose node_modules holds them.
#   standardwebhooks  the Standard Webhooks reference implementation
#   cloudevents       the CloudEvents SDK; ships the CloudEvents 1.0 JSON
#                     schema compiled into a validator (dist/schema/v1.js)
# Versions are pinned here; TLOGWATCH_NPM_DIR overrides the directory.
# Exit 1 (never a skip) when npm is missing or the install fails:
# scripts/install-deps.sh installs Debian's npm.
set -eu
DIR=${TLOGWATCH_NPM_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tlogwatch/npm}
PKGS="standardwebhooks@1.3.0 cloudevents@10.0.0"
mkdir -p "$DIR"
stamp="$DIR/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PKGS" ] &&
    [ -f "$DIR/node_modules/standardwebhooks/package.json" ] &&
    [ -f "$DIR/node_modules/cloudevents/dist/schema/v1.js" ]; then
    echo "$DIR"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "npm-deps: npm and node are needed (scripts/install-deps.sh installs them)" >&2
    exit 1
fi
[ -f "$DIR/package.json" ] || echo '{"private": true}' >"$DIR/package.json"
# shellcheck disable=SC2086
if ! (cd "$DIR" && npm install --no-audit --no-fund --silent $PKGS >&2); then
    echo "npm-deps: npm install of $PKGS into $DIR failed" >&2
    exit 1
fi
echo "$PKGS" >"$stamp"
echo "$DIR"
