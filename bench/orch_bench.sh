#!/usr/bin/env bash
# orch_bench.sh BOOKPIPE: what the orchestrator costs. (1) a pipeline of
# 100 no-op blocks (a chain of 50 and 50 fanned out from its middle), run
# and re-run (all skipped); (2) the bundled pipeline at scale 1: the full
# run, then an unchanged second run that skips every block.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }

p=$out/noop100.yml
{
    echo "name: noop100"
    echo "blocks:"
    for i in $(seq 1 50); do
        echo "  - {name: c$i, type: noop$([ "$i" -gt 1 ] && echo ", upstream: [c$((i - 1))]")}"
    done
    for i in $(seq 1 50); do
        echo "  - {name: f$i, type: noop, upstream: [c25]}"
    done
} > "$p"
echo "== orchestrator overhead: 100 no-op blocks (DuckDB run history)"
for i in 1 2 3; do
    rm -f "$out/noop.duckdb" "$out/noop.duckdb.wal"
    first=$(secs "$bp" run --pipeline "$p" --warehouse "$out/noop.duckdb" --quiet)
    second=$(secs "$bp" run --pipeline "$p" --warehouse "$out/noop.duckdb" --quiet)
    echo "  try $i: all run $first s, all skipped $second s"
done

[ -f "$out/scale1/Ratings.csv" ] || "$bp" gen --out "$out/scale1" --scale 1 --seed 42 > /dev/null
echo "== bundled pipeline, scale 1 (extract, clean, lake | load, seed, models, tests)"
for i in 1 2; do
    rm -rf "$out/orch.duckdb" "$out/orch.duckdb.wal" "$out/orch.duckdb.lock" "$out/orchlake"
    full=$(secs "$bp" run --data "$out/scale1" --warehouse "$out/orch.duckdb" --lake "$out/orchlake" --quiet)
    again=$(secs "$bp" run --data "$out/scale1" --warehouse "$out/orch.duckdb" --lake "$out/orchlake" --quiet)
    touch "$out/scale1/Users.csv"
    touched=$(secs "$bp" run --data "$out/scale1" --warehouse "$out/orch.duckdb" --lake "$out/orchlake" --quiet)
    echo "  try $i: full run $full s; unchanged second run $again s; after touching Users.csv (re-checksummed, same content) $touched s"
done
"$bp" runs --warehouse "$out/orch.duckdb" --limit 3
"$bp" runs show 1 --warehouse "$out/orch.duckdb"
