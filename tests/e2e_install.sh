#!/bin/bash
# e2e_install.sh: `make install DESTDIR=<tmp>` into a temporary root, then
# the install steps of the unit's header comment, followed as written, and
# `check-config` on the installed config as an unprivileged user:
# "configuration OK".  The steps run in a private mount namespace in which
# the temporary root's /usr/local is /usr/local, /etc is the real /etc with
# a throw-away writable layer, and /var/lib an empty tmpfs, so every path
# is the real one and nothing on this machine changes; the service's user
# is nobody:nogroup (useradd would change this machine), and systemctl is
# replaced by `systemd-analyze verify` when it is there.  Twins: the
# config installed 0640 root:root (the old header's way) and a state
# directory the user cannot write are refused.  Also: a second prefix
# rewrites the unit's paths; the man page renders without a warning and
# names every command and option of `tlogwatch --help`.
# Needs root for the namespace and the other user; otherwise that part is
# skipped with a message (the rest still runs).
set -u
bin=${TLOGWATCH_BIN:?}
src=${TLOGWATCH_SRC:?}
build=${TLOGWATCH_BUILD:?}

tmp=$(mktemp -d /tmp/tlw-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # nobody must reach the installed files
root=$tmp/root
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
check() { # DESC CMD...: CMD must succeed
    local d=$1
    shift
    if "$@"; then ok; else bad "$d"; fi
}

# --- make install DESTDIR=... (PREFIX default /usr/local) -----------------
if make -s -C "$src" install BUILD="$build" DESTDIR="$root" >"$tmp/install.log" 2>&1; then
    ok
else
    bad "make install DESTDIR=$root"
    sed 's/^/    /' "$tmp/install.log"
fi
p=$root/usr/local
for f in bin/tlogwatch lib/systemd/system/tlogwatch.service \
    share/man/man8/tlogwatch.8 share/tlogwatch/tlogwatch.yaml \
    share/tlogwatch/trusted_root.json share/tlogwatch/examples/full.yaml \
    share/tlogwatch/examples/full.json share/doc/tlogwatch/README.md \
    share/tlogwatch/aws-nitro-enclaves-root-G1.pem; do
    check "installed: $f" test -s "$p/$f"
done
check "the binary is executable" test -x "$p/bin/tlogwatch"
check "installed trusted_root.json is deploy's" \
    cmp -s "$p/share/tlogwatch/trusted_root.json" "$src/deploy/trusted_root.json"
unit=$p/lib/systemd/system/tlogwatch.service
check "unit: Type=notify" grep -qx "Type=notify" "$unit"
check "unit: WatchdogSec=" grep -qE "^WatchdogSec=[0-9]+s$" "$unit"
check "unit: ExecStart= the installed binary" \
    grep -qx "ExecStart=/usr/local/bin/tlogwatch run -c /etc/tlogwatch/tlogwatch.yaml" "$unit"
check "unit: User=tlogwatch" grep -qx "User=tlogwatch" "$unit"

# --- another prefix: the unit names that prefix's binary -------------------
DESTDIR="$tmp/opt-root" cmake --install "$build" --prefix /opt/tlw >"$tmp/opt.log" 2>&1 ||
    bad "cmake --install --prefix /opt/tlw: $(cat "$tmp/opt.log")"
u2=$tmp/opt-root/opt/tlw/lib/systemd/system/tlogwatch.service
check "prefix /opt/tlw: binary" test -x "$tmp/opt-root/opt/tlw/bin/tlogwatch"
check "prefix /opt/tlw: ExecStart" \
    grep -qx "ExecStart=/opt/tlw/bin/tlogwatch run -c /etc/tlogwatch/tlogwatch.yaml" "$u2"
check "prefix /opt/tlw: ExecStartPre" \
    grep -qx "ExecStartPre=/opt/tlw/bin/tlogwatch check-config -c /etc/tlogwatch/tlogwatch.yaml" "$u2"
if grep -v "^#" "$u2" | grep "/usr/local"; then bad "prefix /opt/tlw: the unit still names /usr/local"; else ok; fi

# --- the man page ----------------------------------------------------------
man8=$p/share/man/man8/tlogwatch.8
if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$man8" >"$tmp/groff.err" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/groff.err" ]; then ok; else
        bad "groff -man -ww: rc=$rc"
        sed 's/^/    /' "$tmp/groff.err"
    fi
    groff -man -Tutf8 "$man8" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g' >"$tmp/man.txt"
    if command -v man >/dev/null; then
        MANWIDTH=100 man -l "$man8" >"$tmp/man-l.txt" 2>"$tmp/man-l.err"
        rc=$?
        [ "$rc" -eq 0 ] && [ ! -s "$tmp/man-l.err" ] && grep -q "^NAME" "$tmp/man-l.txt" &&
            ok || bad "man -l: rc=$rc $(cat "$tmp/man-l.err")"
    fi
    # every command of --help is in the page's SYNOPSIS and COMMANDS
    "$bin" --help >"$tmp/help.txt"
    cmds=$(sed -nE 's/^  ([a-z][a-z-]+( [a-z]+)?) +(\[|-|[A-Z]).*/\1/p' "$tmp/help.txt" |
        sed -E 's/^(run|once|check-config|status|report|test-alert|inspect) .*/\1/' | sort -u)
    n=$(printf '%s\n' "$cmds" | grep -c .)
    [ "$n" -ge 10 ] && ok || bad "found only $n commands in --help: $cmds"
    synopsis=$(sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' "$tmp/man.txt" | tr -s ' \n' '  ')
    commands=$(sed -n '/^COMMANDS/,/^OPTIONS/p' "$tmp/man.txt")
    while IFS= read -r c; do
        [ -n "$c" ] || continue
        case "$synopsis" in
        *"tlogwatch $c "*) ok ;;
        *) bad "man page SYNOPSIS lacks: tlogwatch $c" ;;
        esac
        w=${c%% *}
        printf '%s\n' "$commands" | grep -qE "^ {7}$w( |$)" && ok ||
            bad "man page COMMANDS lacks: $w"
    done <<<"$cmds"
    # ...and every option --help names
    for o in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/help.txt" | sort -u); do
        grep -qF -- "$o" "$tmp/man.txt" && ok || bad "man page lacks option $o"
    done
    # ...and the values of every --format --help lists, per command, are
    # the SYNOPSIS's (status text|json|html, report md|json|html)
    nf=0
    while read -r c f; do
        nf=$((nf + 1))
        seg=${synopsis#*"tlogwatch $c "}
        seg=${seg%%tlogwatch *}
        case "$seg" in
        *"[--format $f]"*) ok ;;
        *) bad "man page SYNOPSIS: tlogwatch $c lacks [--format $f]" ;;
        esac
    done < <(sed -nE 's/^  ([a-z][a-z-]+) +\[.*--format ([a-z|]+)\].*/\1 \2/p' "$tmp/help.txt")
    [ "$nf" -ge 2 ] && ok || bad "found only $nf --format lists in --help"
    # the twin: a command the CLI lacks is not found in the page
    case "$synopsis" in *"tlogwatch frobnicate "*) bad "found a command that is not there" ;; *) ok ;; esac
else
    bad "groff is not installed (scripts/install-deps.sh installs groff-base)"
fi

# --- the unit's install steps, as the service's user ----------------------
# The header's commands, continuation lines joined.
sed -n '/^# Install/,/^#$/p' "$src/deploy/tlogwatch.service" | sed -n 's/^#   //p;s/^#       /    /p' |
    sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' >"$tmp/steps.txt"
check "the unit's header lists its steps" grep -q "^make install$" "$tmp/steps.txt"
check "the header creates the user" grep -q "^useradd .* tlogwatch$" "$tmp/steps.txt"
check "the header checks the config as the user" grep -q "^runuser -u tlogwatch -- .*check-config" "$tmp/steps.txt"
# the man page's INSTALLATION tells the same steps
if [ -s "$tmp/man.txt" ]; then
    sed -n '/^INSTALLATION/,/^SEE ALSO/p' "$tmp/man.txt" | sed -n 's/^           //p' |
        sed -e 's/^ *//' -e ':a' -e '/\\$/N; s/\\\n *//; ta' >"$tmp/man-steps.txt"
    if cmp -s "$tmp/steps.txt" "$tmp/man-steps.txt"; then ok; else
        bad "the man page's INSTALLATION differs from the unit's header:"
        diff "$tmp/steps.txt" "$tmp/man-steps.txt" | sed 's/^/    /'
    fi
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: not root: the install steps as another user need root (CI runs as root)"
elif ! unshare -m true 2>/dev/null; then
    echo "SKIP: cannot create a mount namespace (unshare -m): the install steps were not run"
else
    # Run in the namespace: the steps (as root), then the checks.
    {
        echo 'set -u'
        echo "mount --bind '$p' /usr/local || exit 90"
        echo "mkdir -p '$tmp/ovl' && mount -t tmpfs tmpfs '$tmp/ovl' && mkdir '$tmp/ovl/up' '$tmp/ovl/work' || exit 91"
        echo "mount -t overlay overlay -o 'lowerdir=/etc,upperdir=$tmp/ovl/up,workdir=$tmp/ovl/work' /etc || exit 92"
        echo "mount -t tmpfs tmpfs /var/lib || exit 93"
        echo 'step() { echo "+ $*" >&2; "$@"; }'
        while IFS= read -r line; do
            case "$line" in
            "make install") echo "# make install: done above, with DESTDIR" ;;
            useradd*) echo "# not run: $line (the test uses nobody:nogroup)" ;;
            systemctl*) echo "# not run: $line" ;;
            runuser*)
                # the check, with its output kept for the test
                l=${line//-u tlogwatch/-u nobody}
                echo "step $l >'$tmp/ok.out' 2>'$tmp/ok.err'; echo \$? >'$tmp/ok.rc'"
                ;;
            *)
                l=${line//-g tlogwatch/-g nogroup}
                l=${l//-o tlogwatch/-o nobody}
                echo "step $l || exit 94"
                ;;
            esac
        done <"$tmp/steps.txt"
        # After the steps: the installed example, where it was installed.
        cat <<EOF
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "\$@"; }
as_nobody /usr/local/bin/tlogwatch check-config -c /usr/local/share/tlogwatch/tlogwatch.yaml >'$tmp/share.out' 2>&1; echo \$? >'$tmp/share.rc'
SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/e2e HOOK_SECRET=e2e GHCR_TOKEN=e2e \
  as_nobody /usr/local/bin/tlogwatch check-config -c /usr/local/share/tlogwatch/examples/full.yaml >'$tmp/full.out' 2>&1; echo \$? >'$tmp/full.rc'
stat -c '%a %U %G' /etc/tlogwatch /etc/tlogwatch/tlogwatch.yaml /etc/tlogwatch/trusted_root.json /var/lib/tlogwatch >'$tmp/modes.txt'
# twin 1: the config as the old header installed it, 0640 root:root
chgrp root /etc/tlogwatch/tlogwatch.yaml
as_nobody /usr/local/bin/tlogwatch check-config >'$tmp/rootonly.out' 2>&1; echo \$? >'$tmp/rootonly.rc'
chgrp nogroup /etc/tlogwatch/tlogwatch.yaml
# twin 2: a state directory the user cannot write
chown root /var/lib/tlogwatch
as_nobody /usr/local/bin/tlogwatch check-config >'$tmp/nostate.out' 2>&1; echo \$? >'$tmp/nostate.rc'
chown nobody /var/lib/tlogwatch
# and the unit, as systemd would read it
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/local/lib/systemd/system/tlogwatch.service >'$tmp/verify.out' 2>&1
    echo \$? >'$tmp/verify.rc'
fi
EOF
    } >"$tmp/steps.sh"
    unshare -m bash "$tmp/steps.sh" >"$tmp/steps.log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then ok; else
        bad "the install steps failed (rc $rc):"
        sed 's/^/    /' "$tmp/steps.sh" "$tmp/steps.log"
    fi
    if [ "$(cat "$tmp/ok.rc" 2>/dev/null)" = 0 ] && [ "$(cat "$tmp/ok.out")" = "configuration OK" ]; then
        ok
    else
        bad "check-config as nobody after the header's steps: rc=$(cat "$tmp/ok.rc" 2>/dev/null) $(cat "$tmp/ok.out" "$tmp/ok.err" 2>/dev/null)"
        sed 's/^/    /' "$tmp/steps.log"
    fi
    [ "$(cat "$tmp/share.rc" 2>/dev/null)" = 0 ] && grep -qx "configuration OK" "$tmp/share.out" &&
        ok || bad "the example config where it was installed: $(cat "$tmp/share.out" 2>/dev/null)"
    [ "$(cat "$tmp/full.rc" 2>/dev/null)" = 0 ] && grep -qx "configuration OK" "$tmp/full.out" &&
        ok || bad "examples/full.yaml where it was installed: $(cat "$tmp/full.out" 2>/dev/null)"
    printf '750 root nogroup\n640 root nogroup\n640 root nogroup\n700 nobody nogroup\n' >"$tmp/modes.want"
    cmp -s "$tmp/modes.want" "$tmp/modes.txt" && ok ||
        bad "modes after the steps: $(cat "$tmp/modes.txt" 2>/dev/null)"
    [ "$(cat "$tmp/rootonly.rc" 2>/dev/null)" = 2 ] &&
        grep -qx "/etc/tlogwatch/tlogwatch.yaml: cannot open: Permission denied" "$tmp/rootonly.out" &&
        ok || bad "a 0640 root:root config was not refused: $(cat "$tmp/rootonly.out" 2>/dev/null)"
    [ "$(cat "$tmp/nostate.rc" 2>/dev/null)" = 2 ] &&
        grep -q "state: directory /var/lib/tlogwatch is not writable by this user" "$tmp/nostate.out" &&
        ok || bad "a root-owned state directory was not refused: $(cat "$tmp/nostate.out" 2>/dev/null)"
    if [ -f "$tmp/verify.rc" ]; then
        # systemd-analyze reports what it cannot resolve outside a booted
        # system (targets, man pages); a complaint about the unit itself
        # ("Unknown key", "Invalid", "not executable") is a failure.
        if grep -E "Unknown (key|section)|[Ii]nvalid|not executable|Failed to parse|bad-setting" "$tmp/verify.out"; then
            bad "systemd-analyze verify: $(cat "$tmp/verify.out")"
        else ok; fi
    else
        echo "SKIP: systemd-analyze is not installed: the unit was not verified by systemd"
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
