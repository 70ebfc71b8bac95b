#!/usr/bin/env bash
# deps.sh: install what bookpipe needs to build and test, only what is missing.
#
# Debian packages come from apt; DuckDB comes from the npm registry as two
# pinned packages (the shared library from @duckdb/node-bindings-linux-x64,
# the header from duckdb), verified by sha256 and unpacked into deps/duckdb.
# Set DUCKDB_DIR=/path (with include/duckdb.h and lib/libduckdb.so, or both
# files directly in it) to use an installed DuckDB instead.
#
# The front end's npm packages (the chart library embedded in the binary;
# for tests also playwright-core, which drives Debian's chromium) come from
# web/package-lock.json with `npm ci`, which checks each package's integrity
# hash from the lock file.
#
# Usage: scripts/deps.sh [build|test|bench|fuzz]   (test adds the packages
# tests need; bench adds wrk, time and the peers' Debian python3-pandas and
# python3-psycopg2 to those; fuzz adds clang and libFuzzer)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-build}

DUCKDB_VERSION=1.4.4
DUCKDB_LIB_PKG="@duckdb/node-bindings-linux-x64@${DUCKDB_VERSION}-r.1"
DUCKDB_LIB_SHA256=8ac460b152cd05a95065a414879bb09e40534b1fb7a80a7afe6969b6ce039029
DUCKDB_HDR_PKG="duckdb@${DUCKDB_VERSION}"
DUCKDB_HDR_SHA256=5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed

build_pkgs="gcc make pkg-config libarchive-dev libjansson-dev libyaml-dev libpq-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev liblapacke-dev libopenblas-dev ca-certificates"
# npm fetches DuckDB; a machine with Node.js from elsewhere already has it.
command -v npm >/dev/null 2>&1 || build_pkgs="$build_pkgs npm"
test_pkgs="libcmocka-dev zip unzip postgresql util-linux curl jq chromium"

say() { printf 'deps: %s\n' "$*" >&2; }

missing_pkgs() {
  local p out=""
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      out="$out $p"
    fi
  done
  printf '%s' "$out"
}

install_debian() {
  local need
  need=$(missing_pkgs "$@")
  [ -z "$need" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages:$need"
    say "install them with: sudo apt-get install$need   (or run this script as root)"
    exit 1
  fi
  say "installing Debian packages:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || { say "apt-get update failed; check the network or your apt sources"; exit 1; }
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null ||
    { say "apt-get install failed for:$need"; exit 1; }
}

# fetch_npm PKG SHA256 DIR: npm pack PKG into DIR, verify its checksum,
# print the tarball's path.
fetch_npm() {
  local pkg=$1 sum=$2 dir=$3 tgz
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack --silent "$pkg" 2>"$dir/npm.err" | tail -n 1) && [ -n "$tgz" ] ||
    { sed 's/^/  npm: /' "$dir/npm.err" >&2
      say "could not fetch $pkg from the npm registry (npm's words above)"; exit 1; }
  if ! echo "$sum  $dir/$tgz" | sha256sum -c --status; then
    say "checksum mismatch for $pkg ($dir/$tgz); refusing to use it"
    rm -f "$dir/$tgz"
    exit 1
  fi
  printf '%s\n' "$dir/$tgz"
}

install_duckdb() {
  if [ -n "${DUCKDB_DIR:-}" ]; then
    say "using DuckDB from DUCKDB_DIR=$DUCKDB_DIR"
    return 0
  fi
  local dest=$here/deps/duckdb stamp
  stamp="$dest/.version"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$DUCKDB_VERSION" ] &&
     [ -f "$dest/lib/libduckdb.so" ] && [ -f "$dest/include/duckdb.h" ]; then
    return 0
  fi
  say "fetching DuckDB $DUCKDB_VERSION (library and header) from the npm registry"
  local cache=$here/deps/cache lib hdr tmp
  lib=$(fetch_npm "$DUCKDB_LIB_PKG" "$DUCKDB_LIB_SHA256" "$cache")
  hdr=$(fetch_npm "$DUCKDB_HDR_PKG" "$DUCKDB_HDR_SHA256" "$cache")
  tmp=$(mktemp -d)
  tar -xzf "$lib" -C "$tmp" package/libduckdb.so
  tar -xzf "$hdr" -C "$tmp" package/src/duckdb/src/include/duckdb.h
  rm -rf "$dest"
  mkdir -p "$dest/lib" "$dest/include"
  mv "$tmp/package/libduckdb.so" "$dest/lib/"
  mv "$tmp/package/src/duckdb/src/include/duckdb.h" "$dest/include/"
  rm -rf "$tmp" "$cache"
  echo "$DUCKDB_VERSION" > "$stamp"
  say "DuckDB $DUCKDB_VERSION ready in deps/duckdb"
}

# install_web build|test: web/node_modules from the lock file (test adds
# the dev packages); skipped when the lock file has not changed.
install_web() {
  local mode=$1 dir=$here/web want have=""
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1) $mode"
  [ -f "$dir/node_modules/.bookpipe" ] && have=$(cat "$dir/node_modules/.bookpipe")
  [ "$have" = "$want" ] && return 0
  # a test install serves a build too
  [ "$mode" = build ] && [ "${have% *}" = "${want% *}" ] && return 0
  say "installing the front end's npm packages ($mode) from web/package-lock.json"
  local omit=""
  [ "$mode" = build ] && omit="--omit=dev"
  # shellcheck disable=SC2086
  # --engine-strict: a package that does not support this Node.js is an
  # error here, not a test that cannot start later
  (cd "$dir" && npm ci --engine-strict --ignore-scripts --no-audit --no-fund --loglevel=error $omit) >&2 ||
    { say "npm ci failed in web/ (Node.js $(node --version 2>/dev/null)): see npm's error above;"
      say "a package needing a newer Node.js says 'notsup', otherwise check the npm registry is reachable"
      exit 1; }
  echo "$want" > "$dir/node_modules/.bookpipe"
}

# one deps.sh at a time (make -j, or `make demo` beside a build): the
# second waits for the first, then finds everything in place
mkdir -p "$here/deps"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$here/deps/.lock"
  flock 9
fi

pkgs=$build_pkgs
[ "$what" = test ] || [ "$what" = bench ] && pkgs="$pkgs $test_pkgs"
[ "$what" = bench ] && pkgs="$pkgs wrk time python3-pandas python3-psycopg2"
# libFuzzer: clang and its runtime libraries
[ "$what" = fuzz ] && pkgs="$pkgs clang libclang-rt-14-dev"
# shellcheck disable=SC2086
install_debian $pkgs
install_duckdb
# versions, not only presence: what the tests run must start here
check_test_tools() {
  local v
  v=$(chromium --version 2>/dev/null) || { say "chromium is installed but does not start: chromium --version failed"; exit 1; }
  say "tests will use $v, Node.js $(node --version)"
}

install_web "$([ "$what" = build ] || [ "$what" = fuzz ] && echo build || echo test)"
[ "$what" = test ] && check_test_tools
exit 0
