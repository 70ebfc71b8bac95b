#!/bin/sh
# bootstrap.sh demo|test|sanitize|bench: the entry point on a fresh Debian
# machine. Installs make and a C compiler when they are missing, then hands
# over to `make`, whose targets install the rest (scripts/deps.sh).
set -eu
cd "$(dirname "$0")"
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "bootstrap: make and a C compiler are missing; run: sudo apt-get install make gcc" >&2
        exit 1
    fi
    echo "bootstrap: installing make and gcc" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make gcc libc6-dev >/dev/null
fi
# every core: the Makefile is safe under -j (one deps.sh at a time)
exec make -j"$(nproc 2>/dev/null || echo 1)" "${1:-demo}"
