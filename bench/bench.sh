#!/usr/bin/env bash
# bench.sh BOOKPIPE: throughput and memory of `bookpipe run` on generated
# data at scale 1 and 10, and on the real Users file when shared/data has
# it (with generated Books and Ratings beside it). Not a test: it prints
# figures for BENCHMARKS.md. Inputs are cached in bench/out.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"
shared=${SHARED_DATA:-$here/../../shared/data}
cores=$(nproc)

echo "bookpipe bench: $($bp version), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"

gen() { # gen NAME SCALE
    [ -f "$out/$1/Ratings.csv" ] || "$bp" gen --out "$out/$1" --scale "$2" --seed 42 >/dev/null
}

# bench_run NAME DATA [run flags]: run twice (the first warms the page
# cache), report the second.
bench_run() {
    local name=$1 data=$2 log
    shift 2
    for i in 1 2; do
        rm -rf "$out/wh.duckdb" "$out/wh.duckdb.wal" "$out/lake"
        log=$("$bp" ingest --data "$data" --warehouse "$out/wh.duckdb" --lake "$out/lake" "$@")
    done
    echo
    echo "== $name ($(du -sh "$data" | cut -f1) of CSV)"
    echo "$log" | sed -n '1,5p;/stages:/p;/input:/p'
}

gen scale1 1
bench_run "generated, scale 1" "$out/scale1"
gen scale10 10
bench_run "generated, scale 10" "$out/scale10"
if [ -f "$shared/Users.csv.gz" ]; then
    mkdir -p "$out/real"
    cp "$out/scale1/Books.csv" "$out/scale1/Ratings.csv" "$out/real/"
    gzip -dc "$shared/Users.csv.gz" > "$out/real/Users.csv"
    bench_run "real Users.csv (278,858 users) + generated Books/Ratings at scale 1" "$out/real"
    "$bp" query --warehouse "$out/wh.duckdb" \
        "SELECT count(*) AS users, count(*) FILTER (WHERE user_id = 268 AND country = 'denmark') AS user_268_in_denmark FROM users"
else
    echo "(no $shared/Users.csv.gz: real-data figures skipped)"
fi
rm -rf "$out/wh.duckdb" "$out/wh.duckdb.wal" "$out/lake"
