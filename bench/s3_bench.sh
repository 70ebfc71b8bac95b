#!/usr/bin/env bash
# s3_bench.sh BOOKPIPE: the S3 lake's upload, against s3rver (npm) on
# loopback: the bundled pipeline's lake block at scale 1 and 10 with 1, 4 and
# 8 parts in flight (8 MB parts), and the peak memory during the upload
# (it should stay near part size x parts in flight above where it started).
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
rver=$here/../web/node_modules/.bin/s3rver
mkdir -p "$out"
[ -x "$rver" ] || { echo "s3_bench: s3rver is missing (scripts/deps.sh test installs it)" >&2; exit 1; }

rm -rf "$out/s3store"
"$rver" -d "$out/s3store" -a 127.0.0.1 -p 0 --configure-bucket lake > "$out/s3rver.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 50); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$out/s3rver.log" | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "s3_bench: s3rver did not start" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1

for scale in 1 10; do
    data=$out/scale$scale
    [ -f "$data/Ratings.csv" ] || "$bp" gen --out "$data" --scale "$scale" --seed 42 > /dev/null
    wh=$out/s3bench$scale.duckdb
    rm -f "$wh" "$wh.wal" "$wh.lock"
    echo "== S3 lake upload, scale $scale"
    for par in 1 4 8; do
        "$bp" run --data "$data" --warehouse "$wh" --lake "s3://lake/s$scale-p$par" --s3-endpoint "http://127.0.0.1:$port" \
            --s3-parallel "$par" --no-models --full-refresh --quiet
        run=$("$bp" query --csv --warehouse "$wh" "SELECT max(run_id) FROM bookpipe_meta.runs" | tail -1)
        printf '  %d at once: ' "$par"
        "$bp" logs "$run" export_parquet --warehouse "$wh" | grep -o 'uploaded .*'
    done
done
