#!/usr/bin/env bash
# web_bench.sh BOOKPIPE: what `bookpipe serve` costs, on the bundled
# pipeline's DuckDB warehouse at scale 1 (built here if missing):
#  (1) all panel queries of the books dashboard: one after another (the sum)
#      and all at once as the page sends them (wall time);
#  (2) requests per second with wrk on /api/health and on a panel query;
#  (3) the server's resident memory before and after at least 10,000
#      requests.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"
command -v wrk > /dev/null || { echo "web_bench: wrk is missing (scripts/deps.sh bench installs it)" >&2; exit 1; }

[ -f "$out/scale1/Ratings.csv" ] || "$bp" gen --out "$out/scale1" --scale 1 --seed 42 > /dev/null
if [ ! -f "$out/orch.duckdb" ]; then
    "$bp" run --data "$out/scale1" --warehouse "$out/orch.duckdb" --lake "$out/orchlake" --quiet
fi

log=$out/serve.log
"$bp" serve --port 0 --warehouse "$out/orch.duckdb" --no-schedule > "$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
url=
for _ in $(seq 1 50); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
get() { curl -s --noproxy '*' -o /dev/null -w '%{time_total}\n' "$1"; }
rss() { awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status"; }

panels=$(curl -s --noproxy '*' "$url/api/dashboards/books" |
         grep -o '"id":[0-9]*,"type":"[a-z]*"' | grep -v '"row"\|"text"' | grep -o '[0-9]*' | tr '\n' ' ')
get "$url/api/health" > /dev/null
echo "== all panel queries of the books dashboard, DuckDB, scale 1 (panels: $panels)"
echo "  server memory at start: $(rss)"
urls=()
for p in $panels; do urls+=(-o /dev/null "$url/api/dashboards/books/panels/$p/query"); done
ms() { local t0 t1; t0=$(date +%s%N); "$@"; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for i in 1 2 3; do
    # one curl process for all, so that process starts are not counted
    one=$(ms curl -s --no-progress-meter --noproxy '*' "${urls[@]}")
    all=$(ms curl -s --no-progress-meter --noproxy '*' -Z --parallel-max 16 "${urls[@]}")
    echo "  try $i: one after another $one ms; all at once (as the page sends them) $all ms"
done

echo "== requests per second (wrk, 2 threads, 8 connections, 10 s, loopback)"
wrk -t2 -c8 -d10s "$url/api/health" | awk -v m="  /api/health:" '/Requests\/sec/ { r = $2 } /requests in/ { n = $1 } /Latency/ { l = $2 } END { printf "%s %s req/s, %s requests, mean latency %s\n", m, r, n, l }'
echo "  server memory after it: $(rss)"
wrk -t2 -c8 -d10s "$url/api/dashboards/books/panels/1/query" | awk -v m="  panel 1 (count of ratings):" '/Requests\/sec/ { r = $2 } /requests in/ { n = $1 } /Latency/ { l = $2 } END { printf "%s %s req/s, %s requests, mean latency %s\n", m, r, n, l }'
wrk -t2 -c8 -d10s "$url/api/dashboards/books/panels/4/query?var-country=Germany" | awk -v m="  panel 4 (top-10 books of a country):" '/Requests\/sec/ { r = $2 } /requests in/ { n = $1 } /Latency/ { l = $2 } END { printf "%s %s req/s, %s requests, mean latency %s\n", m, r, n, l }'
echo "  server memory after the panel runs: $(rss)"
wrk -t2 -c8 -d10s "$url/api/dashboards/books/panels/1/query" | awk -v m="  panel 1 again:" '/Requests\/sec/ { r = $2 } /requests in/ { n = $1 } END { printf "%s %s req/s, %s requests\n", m, r, n }'
echo "  server memory after that: $(rss)"
sleep 2
echo "  server memory 2 s idle (the shared read-only warehouse closed): $(rss)"
