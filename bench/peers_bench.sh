#!/usr/bin/env bash
# peers_bench.sh BOOKPIPE: bookpipe against what a user would run instead
# (the scripts in ../shared/peers, kept outside the repo), on the same data,
# interleaved round by round so that a noisy machine slows both alike.
# Prints each side's median wall time and peak RSS and the ratio
# peer / bookpipe (above 1: bookpipe is faster). Skipped when the peers'
# folder is not there. ROUNDS (default 3) rounds.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
peers=${PEERS:-$here/../../shared/peers}
shared=${SHARED_DATA:-$here/../../shared/data}
out=$here/out
rounds=${ROUNDS:-3}
mkdir -p "$out"

if [ ! -f "$peers/duckdb_pipeline.sql" ]; then
    echo "(no peers in $peers: the side-by-side figures are skipped)"
    exit 0
fi

# the data: the real Users file beside generated Books and Ratings (scale 1)
[ -f "$out/scale1/Ratings.csv" ] || "$bp" gen --out "$out/scale1" --scale 1 --seed 42 > /dev/null
data=$out/peerdata
mkdir -p "$data"
cp "$out/scale1/Books.csv" "$out/scale1/Ratings.csv" "$data/"
if [ -f "$shared/Users.csv.gz" ]; then
    gzip -dc "$shared/Users.csv.gz" > "$data/Users.csv"
else
    cp "$out/scale1/Users.csv" "$data/"
fi
echo "peers bench: $(du -sh "$data" | cut -f1) of CSV in $data; $rounds interleaved rounds; $(nproc) cores"

# the peers' DuckDB runner, built against the same DuckDB bookpipe uses
duck_dir=$here/../deps/duckdb
cc -O2 "$peers/duckdb_run.c" -I"$duck_dir/include" -L"$duck_dir/lib" -lduckdb \
    -Wl,-rpath,"$duck_dir/lib" -o "$out/duckdb_run"
for s in duckdb_ingest duckdb_pipeline; do
    sed -e "s|@DIR@|$data|g" -e "s|@LAKE@|$out/peerlake|g" "$peers/$s.sql" > "$out/$s.sql"
done

# timed NAME CMD...: one run; appends "seconds peak_kb" to $out/t.NAME
timed() {
    local name=$1
    shift
    /usr/bin/time -f '%e %M' -o "$out/t.one" "$@" > "$out/last.log" 2>&1 ||
        { echo "$name failed:"; tail -5 "$out/last.log"; exit 1; }
    cat "$out/t.one" >> "$out/t.$name"
}
fresh() { rm -rf "$out/bw.duckdb" "$out/bw.duckdb.wal" "$out/blake" "$out/pw.duckdb" \
    "$out/pw.duckdb.wal" "$out/peerlake" "$out/bstate"; mkdir -p "$out/peerlake"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# report LABEL BOOKPIPE_NAME PEER_NAME
report() {
    local b p bm pm
    b=$(cut -d' ' -f1 "$out/t.$2" | median); p=$(cut -d' ' -f1 "$out/t.$3" | median)
    bm=$(cut -d' ' -f2 "$out/t.$2" | median); pm=$(cut -d' ' -f2 "$out/t.$3" | median)
    printf '%-58s %7.2f s %6d MB | %7.2f s %6d MB | %5.2fx   (bookpipe runs %s; peer %s)\n' "$1" "$b" \
        $((${bm%.*} / 1024)) "$p" $((${pm%.*} / 1024)) "$(awk -v a="$p" -v b="$b" 'BEGIN { print a / b }')" \
        "$(cut -d' ' -f1 "$out/t.$2" | paste -sd/)" "$(cut -d' ' -f1 "$out/t.$3" | paste -sd/)"
}

rm -f "$out"/t.*
bprun=("$bp" run --plain --data "$data" --warehouse "$out/bw.duckdb" --lake "$out/blake" --state-dir "$out/bstate")
for r in $(seq 1 "$rounds"); do
    fresh; timed b_ingest "${bprun[@]}" --no-models
    fresh; timed p_ingest "$out/duckdb_run" "$out/pw.duckdb" "$out/duckdb_ingest.sql"
    fresh; timed b_all "${bprun[@]}"
    fresh; timed p_all "$out/duckdb_run" "$out/pw.duckdb" "$out/duckdb_pipeline.sql"
    fresh; timed b_norec "${bprun[@]}" --var recommend=false
done
echo
printf '%-58s %-20s | %-20s | %s\n' "DuckDB target (median wall, peak RSS)" "bookpipe" "peer" "peer/bookpipe"
report "ingest: run --no-models vs duckdb_ingest.sql" b_ingest p_ingest
report "pipeline: run (17 models, 34 tests, recommend) vs 5 marts" b_all p_all
report "pipeline without the recommend block vs 5 marts" b_norec p_all

# PostgreSQL: the seed's pandas + COPY + SQL marts against `run --target postgres`
if ! /usr/bin/python3 -c 'import pandas, psycopg2' 2>/dev/null; then
    echo "(Debian's python3-pandas and python3-psycopg2 are missing: scripts/deps.sh bench; PostgreSQL figures skipped)"
    exit 0
fi
# shellcheck source=tests/pg_server.sh
source "$here/../tests/pg_server.sh"
pg_start || { echo "(no PostgreSQL server could start: PostgreSQL figures skipped)"; exit 0; }
trap pg_stop EXIT
# the peer in a database of its own (it makes books_schema.books its way)
"$PG_BIN/createdb" peer
dsn="host=$PGHOST port=$PGPORT user=$PGUSER password=$PGPASSWORD dbname=peer"
for r in $(seq 1 "$rounds"); do
    fresh; timed b_pg "${bprun[@]}" --target postgres --full-refresh
    timed p_pg /usr/bin/python3 "$peers/pandas_pg_pipeline.py" "$data" "$dsn"
    fresh; timed b_pg_norec "${bprun[@]}" --target postgres --full-refresh --var recommend=false
done
echo
report "PostgreSQL: run --target postgres vs pandas_pg_pipeline.py" b_pg p_pg
report "PostgreSQL, without the recommend block" b_pg_norec p_pg
