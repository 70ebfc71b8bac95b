#!/usr/bin/env bash
# fresh-check.sh: the two README commands on a truly fresh Debian 12, as a
# new user would run them. For maintainers, not CI (it needs root and a few
# minutes of package downloads).
#
# Builds a minimal bookworm root with debootstrap (only Debian's package
# sources: this machine's apt sources are copied in), clones this checkout
# into /root/bookpipe inside it (mode 0700, as on Debian), then runs
# `./bootstrap.sh demo` and `./bootstrap.sh test` inside a chroot and prints
# the last lines of each.
#
# Usage: sudo scripts/fresh-check.sh [ROOT_DIR]   (default /var/tmp/bookpipe-fresh;
#        the root is made anew each time; FRESH_KEEP=1 keeps it afterwards;
#        FRESH_STEPS="demo" runs only the first command)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-/var/tmp/bookpipe-fresh}
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}

say() { printf 'fresh-check: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap and chroot): run it with sudo"; exit 1; }
command -v debootstrap >/dev/null 2>&1 || {
    say "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

mounts=()
cleanup() {
    local m i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        m=${mounts[$i]}
        umount -l "$m" 2>/dev/null || true
    done
    [ "${FRESH_KEEP:-}" = 1 ] || rm -rf "$root"
}
trap cleanup EXIT

bind() {  # bind SRC: mount SRC at the same path inside the root
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    mounts+=("$root$1")
}

rm -rf "$root"
mkdir -p "$root"
say "debootstrap --variant=minbase bookworm into $root (from $mirror)"
start=$(date +%s)
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
    { tail -n 20 "$root.debootstrap.log" >&2; say "debootstrap failed (log: $root.debootstrap.log)"; exit 1; }
say "minimal root ready in $(($(date +%s) - start)) s"

# the package sources a fresh install has: this machine's Debian ones
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -q "debian" "$f" || continue
    mkdir -p "$root$(dirname "$f")"
    cp "$f" "$root$f"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A network that intercepts TLS (a company proxy) needs its CA inside too;
# a fresh machine on that network would have it. Node reads it from
# NODE_EXTRA_CA_CERTS before Debian's ca-certificates is installed.
extra_ca=
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    cat /usr/local/share/ca-certificates/*.crt > "$root/usr/local/share/ca-certificates/.bundle.pem"
    extra_ca=NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/.bundle.pem
fi

mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount -t sysfs sys "$root/sys" && mounts+=("$root/sys")
bind /dev
bind /dev/pts
mkdir -p "$root/dev/shm" && mount -t tmpfs -o mode=1777 shm "$root/dev/shm" && mounts+=("$root/dev/shm")

# a clean clone of what is committed, where a new user would put it
say "cloning $(git -C "$here" rev-parse --short HEAD) into /root/bookpipe"
git clone -q --no-local "$here" "$root/root/bookpipe"
chmod 700 "$root/root"

inside() {  # inside NAME COMMAND: run in the fresh root, print its tail
    local name=$1 cmd=$2 rc t0
    t0=$(date +%s)
    set +e
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        TERM=dumb LANG=C.UTF-8 $extra_ca /bin/sh -c "cd /root/bookpipe && $cmd" >"$root.$name.log" 2>&1
    rc=$?
    set -e
    printf '\n== %s: exit %d in %d s (log: %s)\n' "$cmd" "$rc" "$(($(date +%s) - t0))" "$root.$name.log"
    tail -n "${FRESH_TAIL:-12}" "$root.$name.log"
    return "$rc"
}

rc=0
for step in ${FRESH_STEPS:-demo test}; do
    inside "$step" "./bootstrap.sh $step" || rc=1
done
printf '\n== versions inside: %s; node %s; %s\n' "$(cat "$root/etc/debian_version")" \
    "$(chroot "$root" node --version 2>/dev/null || echo none)" \
    "$(chroot "$root" chromium --version 2>/dev/null || echo 'no chromium')"
exit "$rc"
