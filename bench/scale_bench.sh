#!/usr/bin/env bash
# scale_bench.sh BOOKPIPE: the bundled pipeline block by block at scales 1
# and 10 (and 100 with SCALE100=1: 10 GB of CSV, about 15 minutes, 30 GB of
# disk in bench/out), each block in a process of its own (`run --only`), so
# that each has its own wall time and peak RSS. The recommend block is left
# out (bench/rec_bench.sh measures it).
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"
scales=(1 10)
[ "${SCALE100:-0}" = 1 ] && scales+=(100)
blocks=(extract clean export_parquet load_warehouse dbt_seed dbt_models dbt_tests)

echo "scale bench: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) of memory; DuckDB's cap for the models: a quarter of it"
printf '%-6s %-16s %10s %10s\n' scale block seconds "peak RSS"
for s in "${scales[@]}"; do
    data=$out/scale$s
    [ -f "$data/Ratings.csv" ] || "$bp" gen --out "$data" --scale "$s" --seed 42 > /dev/null
    w=$out/sb$s
    rm -rf "$w" && mkdir -p "$w"
    for b in "${blocks[@]}"; do
        /usr/bin/time -f '%e %M' -o "$w/t" "$bp" run --plain --data "$data" --warehouse "$w/w.duckdb" \
            --lake "$w/lake" --state-dir "$w/st" --var recommend=false --only "$b" > "$w/log.$b" 2>&1 ||
            { echo "scale $s, block $b failed:"; tail -5 "$w/log.$b"; exit 1; }
        read -r secs kb < "$w/t"
        printf '%-6s %-16s %10s %7d MB\n' "$s" "$b" "$secs" $((kb / 1024))
    done
    grep -h 'more keys than memory' "$w/log.clean" | sed 's/^/       /' || true
    rm -rf "$w"
done
