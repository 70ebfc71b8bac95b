#!/usr/bin/env bash
# pg_bench.sh BOOKPIPE: the PostgreSQL target at scale 1 on a throwaway
# local server: bookpipe's load (cleaning included) against `psql \copy` of
# the same cleaned rows from CSV files, and `run --target postgres` end to end.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
data=$out/scale1
[ -f "$data/Ratings.csv" ] || "$bp" gen --out "$data" --scale 1 --seed 42 >/dev/null
# shellcheck source=../tests/pg_server.sh
source "$here/../tests/pg_server.sh"
pg_start
trap pg_stop EXIT
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
export PGOPTIONS="-c client_min_messages=warning"
echo "== PostgreSQL target, scale 1 ($(psql -At -c 'show server_version'))"
"$bp" ingest --quiet --no-lake --target postgres --data "$data"   # warm-up, creates tables
t0=$(now)
"$bp" ingest --quiet --no-lake --target postgres --data "$data"
t1=$(now)
bp_s=$(calc "$t1 - $t0")
t0=$(now)
BOOKPIPE_PG_COPY=binary "$bp" ingest --quiet --no-lake --target postgres --data "$data"
t1=$(now)
bin_s=$(calc "$t1 - $t0")
mkdir -p "$out/pgcsv"
for t in books users ratings; do
    psql -q -c "\\copy books_schema.$t TO '$out/pgcsv/$t.csv' CSV"
done
psql -q -c "CREATE SCHEMA IF NOT EXISTS copy_bench"
for t in books users ratings; do
    psql -q -c "DROP TABLE IF EXISTS copy_bench.$t; CREATE TABLE copy_bench.$t (LIKE books_schema.$t)"
done
t0=$(now)
for t in books users ratings; do
    psql -q -c "\\copy copy_bench.$t FROM '$out/pgcsv/$t.csv' CSV"
done
t1=$(now)
copy_s=$(calc "$t1 - $t0")
printf '  bookpipe load (read + clean + COPY, one transaction): %.2f s\n' "$bp_s"
printf '  the same with COPY in binary format:                  %.2f s\n' "$bin_s"
printf '  psql \\copy of the same cleaned rows from CSV:         %.2f s\n' "$copy_s"
printf '  ratio (\\copy time / bookpipe time): %.2fx\n' "$(calc "$copy_s / $bp_s")"
rm -rf "$out/pgcsv"
t0=$(now)
"$bp" run --plain --target postgres --data "$data" --lake "$out/pglake" --state-dir "$out/pgstate" | sed -n '/^run [0-9]* completed/,$p'
t1=$(now)
printf '  run --target postgres end to end (load + lake + models + tests): %.2f s\n' "$(calc "$t1 - $t0")"
rm -rf "$out/pglake"
