#!/bin/bash
# e2e_container.sh: deploy/Containerfile and .dockerignore, tested without
# a container runtime (none is on this machine; when podman, or docker
# with a daemon, is, the image is also built and run for real).
#
# What runs: a scratch copy of the checkout gets the leftovers of a local
# run planted in it (a build/ whose CMakeCache.txt names another source
# directory, build-asan/, state/*.db, .git, an object file, a secrets
# file, an editor swap file, tests/); it is filtered by .dockerignore with
# Docker's matching rules (the last matching pattern wins; a pattern also
# matches everything under a matched directory; ** spans directories);
# none of the leftovers may reach the context, everything the build needs
# must.  Then the build stage's RUN steps run, as written, in that context
# (WORKDIR /src is the context); the apt-get steps of both stages are not
# run but their packages must be installed here, and the runtime stage's
# packages must provide every library the binary needs (objdump NEEDED,
# dpkg -S).  The runtime stage: COPY --from=build sources exist, USER is
# not root, ENTRYPOINT and the CMD's config exist in the installed tree,
# and (as root, in a private mount namespace where the installed tree is
# /usr/local and /etc/tlogwatch, and /var/lib/tlogwatch is an empty
# directory owned by the user) the CMD's config passes check-config as an
# unprivileged user.  What does not run: apt-get, useradd, the image's
# own layers.  Skipped in the sanitizer build (the image does not use it).
set -u
src=${TLOGWATCH_SRC:?}
if [ "${TLOGWATCH_SANITIZED:-0}" = 1 ]; then
    echo "SKIP: sanitizer build: the container build is tested by the plain build"
    exit 0
fi
tmp=$(mktemp -d /tmp/tlw-container.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
cf=$src/deploy/Containerfile
ign=$src/.dockerignore
[ -f "$ign" ] && ok || bad "no .dockerignore at the top of the checkout"

# --- a checkout with leftovers ---------------------------------------------
tree=$tmp/tree
mkdir "$tree"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -co --exclude-standard -z | (cd "$src" && xargs -0 cp --parents -t "$tree" 2>/dev/null)
else
    tar -C "$src" --exclude='./build*' --exclude=./state --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi
plant() { mkdir -p "$(dirname "$tree/$1")" && printf '%s\n' "${2:-junk}" >"$tree/$1"; }
plant build/CMakeCache.txt "CMAKE_HOME_DIRECTORY:INTERNAL=/somewhere/else"
plant build/bin/tlogwatch
plant build-asan/CMakeCache.txt
plant state/tlogwatch.db
plant state/tlogwatch.db-wal
plant .git/config
plant .demo/state.db
plant monitor/store/store.o
plant deploy/secrets.env "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/planted"
plant deploy/.tlogwatch.yaml.swp
plant tests/planted.sh
leftovers="build/CMakeCache.txt build/bin/tlogwatch build-asan/CMakeCache.txt
state/tlogwatch.db state/tlogwatch.db-wal .git/config .demo/state.db
monitor/store/store.o deploy/secrets.env deploy/.tlogwatch.yaml.swp tests/planted.sh"
needed="CMakeLists.txt README.md monitor/main.c monitor/CMakeLists.txt
config/config.c merkle/CMakeLists.txt notify/CMakeLists.txt
deploy/trusted_root.json deploy/system.yaml deploy/tlogwatch.8
deploy/tlogwatch.service deploy/examples/full.yaml scripts/check-deps.sh"

# ctx_filter IGNOREFILE: prints the files of $tree that the context keeps
ctx_filter() {
    python3 - "$tree" "$1" <<'EOF'
import os, re, sys
tree, ign = sys.argv[1], sys.argv[2]

def regex(pat):
    # moby/patternmatcher: * and ? stop at '/', ** spans directories,
    # "**/" may match no directory at all.
    out, i = "^", 0
    while i < len(pat):
        c = pat[i]
        if c == "*":
            if i + 1 < len(pat) and pat[i + 1] == "*":
                i += 1
                if i + 1 == len(pat):
                    out += ".*"
                elif pat[i + 1] == "/":
                    out += "(.*/)?"
                    i += 1
                else:
                    out += ".*"
            else:
                out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "\\" and i + 1 < len(pat):
            i += 1
            out += re.escape(pat[i])
        elif c == "[":
            j = pat.find("]", i)
            out += pat[i:j + 1] if j > 0 else re.escape(c)
            i = j if j > 0 else i
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + "$")

pats = []
for line in open(ign):
    p = line.strip()
    if not p or p.startswith("#"):
        continue
    neg = p.startswith("!")
    p = os.path.normpath(p[1:].strip() if neg else p).lstrip("/")
    pats.append((neg, regex(p)))

def excluded(path):
    parts = path.split("/")
    parents = ["/".join(parts[:k]) for k in range(1, len(parts))]
    ex = False
    for neg, rx in pats:
        if rx.match(path) or any(rx.match(q) for q in parents):
            ex = not neg
    return ex

for d, dirs, files in os.walk(tree):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), tree)
        if not excluded(rel):
            print(rel)
EOF
}
ctx_filter "$ign" | sort >"$tmp/kept.txt"
: >"$tmp/none"
ctx_filter "$tmp/none" | sort >"$tmp/all.txt"
for f in $leftovers; do
    grep -qxF "$f" "$tmp/all.txt" || bad "planting $f failed"
    if grep -qxF "$f" "$tmp/kept.txt"; then bad "the context keeps $f"; else ok; fi
done
for f in $needed; do
    grep -qxF "$f" "$tmp/kept.txt" && ok || bad "the context lacks $f"
done
if grep -E '^(tests|\.git|\.demo|state|build[^/]*)/' "$tmp/kept.txt"; then
    bad "the context keeps the files above"
else ok; fi
# the sources are all there: every .c and .h of the four libraries
for d in merkle config notify monitor; do
    n_src=$(cd "$tree" && find "$d" -name '*.[ch]' | wc -l)
    n_ctx=$(grep -cE "^$d/.*\.[ch]$" "$tmp/kept.txt")
    [ "$n_src" -gt 0 ] && [ "$n_src" -eq "$n_ctx" ] && ok ||
        bad "$d: $n_ctx of $n_src sources in the context"
done
# the context, as the build will see it
ctx=$tmp/ctx
mkdir "$ctx"
(cd "$tree" && xargs -d '\n' cp --parents -t "$ctx") <"$tmp/kept.txt"

# --- the Containerfile, stage by stage ---------------------------------------
# One instruction a line (continuations joined, comments dropped).
sed -e '/^[[:space:]]*#/d' -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' "$cf" |
    grep -v '^[[:space:]]*$' >"$tmp/instr.txt"
n_from=$(grep -c '^FROM ' "$tmp/instr.txt")
[ "$n_from" -eq 2 ] && ok || bad "want a two-stage build, found $n_from FROM lines"
check_pkgs() { # STAGE LINE: the packages of an apt-get install line are
    # installed here; sets pkgs
    pkgs=$(printf '%s\n' "$2" | sed -E 's/.*apt-get install -y --no-install-recommends ([^&]*)&&.*/\1/')
    [ -n "$pkgs" ] && [ "$pkgs" != "$2" ] || {
        bad "$1: cannot read the apt-get packages"
        pkgs=
        return
    }
    for p in $pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" && ok ||
            bad "$1: package $p (apt-get in the Containerfile) is not installed here: cannot test that step"
    done
}
stage=0
workdir=
runtime_pkgs=
user=
entry=
cmdcfg=
while IFS= read -r line; do
    case "$line" in
    FROM*) stage=$((stage + 1)) ;;
    WORKDIR*) workdir=${line#WORKDIR } ;;
    "COPY . .") [ "$stage" -eq 1 ] && [ "$workdir" = /src ] && ok || bad "COPY . . outside the build stage's /src" ;;
    RUN*apt-get*)
        if [ "$stage" -eq 1 ]; then
            check_pkgs build "$line"
        else
            check_pkgs runtime "$line"
            runtime_pkgs=$pkgs
            case "$line" in *"useradd "*tlogwatch*) ok ;; *) bad "the runtime stage creates no tlogwatch user" ;; esac
        fi
        ;;
    RUN*)
        if [ "$stage" -eq 1 ]; then
            echo "+ ${line#RUN }" >>"$tmp/run.log"
            if (cd "$ctx" && sh -c "${line#RUN }") </dev/null >>"$tmp/run.log" 2>&1; then ok; else
                bad "build stage step failed: ${line#RUN }"
                tail -30 "$tmp/run.log" | sed 's/^/    /'
            fi
        else
            bad "untested RUN in the runtime stage: $line"
        fi
        ;;
    "COPY --from=build "*)
        set -- $line
        from=${3#/src/}
        [ -e "$ctx/$from" ] && ok || bad "COPY --from=build: $3 was not built"
        ;;
    USER*) user=${line#USER } ;;
    ENTRYPOINT*) entry=$(printf '%s' "$line" | sed -E 's/^ENTRYPOINT \["([^"]+)".*/\1/') ;;
    CMD*) cmdcfg=$(printf '%s' "$line" | sed -nE 's/.*"-c", "([^"]+)".*/\1/p') ;;
    esac
done <"$tmp/instr.txt"
inst=$ctx/.container-root
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] && ok || bad "the image runs as '$user', not as a non-root user"
[ -x "$inst$entry" ] && ok || bad "ENTRYPOINT $entry is not in the installed tree"
[ -f "$inst$cmdcfg" ] && ok || bad "the CMD's config $cmdcfg is not in the installed tree"
[ -f "$inst/etc/tlogwatch/trusted_root.json" ] && ok || bad "no /etc/tlogwatch/trusted_root.json in the image"
"$inst$entry" --version >/dev/null 2>&1 && ok || bad "the built binary does not run"

# the runtime packages provide every library the binary needs
for lib in $(objdump -p "$inst$entry" | awk '/NEEDED/ {print $2}'); do
    path=$(ldd "$inst$entry" | awk -v l="$lib" '$1 == l {print $3}')
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
    case " libc6 $runtime_pkgs " in
    *" $pkg "*) ok ;;
    *) bad "$lib comes from package '$pkg', which the runtime stage does not install" ;;
    esac
done

# --- the image's command, as its user would run it -------------------------
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: not root: the image's config was not checked as an unprivileged user"
elif ! unshare -m true 2>/dev/null; then
    echo "SKIP: no mount namespace: the image's config was not checked"
else
    cat >"$tmp/img.sh" <<EOF
set -u
mount --bind '$inst/usr/local' /usr/local || exit 90
mount -t overlay overlay -o 'lowerdir=$inst/etc:/etc' /etc || exit 91
mount -t tmpfs tmpfs /var/lib || exit 92
install -d -o nobody -g nogroup -m 0700 /var/lib/tlogwatch || exit 93
setpriv --reuid=nobody --regid=nogroup --clear-groups '$entry' check-config -c '$cmdcfg'
EOF
    unshare -m bash "$tmp/img.sh" >"$tmp/img.out" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] && grep -qx "configuration OK" "$tmp/img.out" && ok ||
        bad "the image's config as nobody: rc=$rc $(cat "$tmp/img.out")"
fi

# --- a real build, when a runtime is here ----------------------------------
rt=
if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
    rt=podman
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    rt=docker
fi
if [ -n "$rt" ]; then
    tag=tlogwatch-e2e-$$
    if "$rt" build -q -f "$tree/deploy/Containerfile" -t "$tag" "$tree" >"$tmp/rt.log" 2>&1; then
        ok
        out=$("$rt" run --rm "$tag" check-config -c /etc/tlogwatch/tlogwatch.yaml 2>&1)
        [ "$out" = "configuration OK" ] && ok || bad "$rt run check-config: $out"
        u=$("$rt" run --rm --entrypoint id "$tag" -u 2>&1)
        [ "$u" != 0 ] && ok || bad "$rt: the image runs as root"
        "$rt" rmi -f "$tag" >/dev/null 2>&1
    else
        bad "$rt build failed: $(tail -20 "$tmp/rt.log")"
    fi
else
    echo "SKIP: no container runtime (podman, or docker with a daemon): the image itself was not built"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
