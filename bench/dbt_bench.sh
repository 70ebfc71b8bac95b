#!/usr/bin/env bash
# dbt_bench.sh BOOKPIPE: parse, and parse + compile + plan, of a generated
# dbt project of 2,000 models (each refs up to three earlier ones, with
# Jinja: config, for, if, var) and 6,000 generic tests (unique, not_null,
# accepted_values), and `bookpipe dbt build` of the bundled project on
# scale-1 data. dbt-core's own recorded `dbt parse` of a project of this
# size: 44 s.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
proj=$out/dbt2000
rm -rf "$proj"
mkdir -p "$proj/models"
cat > "$proj/dbt_project.yml" <<'YML'
name: big
version: '1.0'
config-version: 2
models:
  big:
    +materialized: view
YML
{
    echo "version: 2"
    echo "models:"
    for i in $(seq 1 2000); do
        printf '  - name: m%d\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n' "$i"
        printf '      - name: name\n        data_tests:\n          - accepted_values:\n              arguments: {values: [a, b, c]}\n'
    done
} > "$proj/models/schema.yml"
for i in $(seq 1 2000); do
    {
        echo "{{ config(tags=['t$((i % 7))']) }}"
        if [ "$i" -le 3 ]; then
            echo "select $i as id, 'm$i' as name"
        else
            a=$(( (i * 7) % (i - 1) + 1 )); b=$(( (i * 13) % (i - 1) + 1 )); c=$(( i - 1 ))
            echo "{% set cols = ['id', 'name'] %}"
            echo "select {% for c in cols %}a.{{ c }}{{ ', ' if not loop.last }}{% endfor %} from {{ ref('m$a') }} a"
            echo "join {{ ref('m$b') }} b on a.id = b.id"
            echo "{% if var('wide', false) %}join {{ ref('m$c') }} c on c.id = a.id{% endif %}"
            echo "where a.id > {{ var('min_id', 0) }}"
        fi
    } > "$proj/models/m$i.sql"
done
echo "== parse, 2,000 models + 6,000 tests (bookpipe dbt parse: the graph and target/manifest.json)"
for i in 1 2 3; do
    /usr/bin/env time -f "  %e s wall, %M KB peak RSS" "$bp" dbt parse --project-dir "$proj" --warehouse "$out/unused.duckdb"
done
echo "== parse + compile + plan, 2,000 models + 6,000 tests (bookpipe dbt compile)"
for i in 1 2 3; do
    /usr/bin/env time -f "  %e s wall, %M KB peak RSS" "$bp" dbt compile -q --project-dir "$proj" --warehouse "$out/unused.duckdb"
done
echo "== bookpipe dbt ls -s +m2000 (selection over the graph)"
/usr/bin/env time -f "  %e s wall" "$bp" dbt ls --project-dir "$proj" -s +m2000 --warehouse "$out/unused.duckdb" | wc -l
if [ -f "$out/scale1/Ratings.csv" ]; then
    echo "== bookpipe dbt build of the bundled project on scale-1 data"
    rm -f "$out/dbt.duckdb" "$out/dbt.duckdb.wal"
    "$bp" ingest --quiet --no-lake --data "$out/scale1" --warehouse "$out/dbt.duckdb"
    "$bp" dbt build --warehouse "$out/dbt.duckdb" --project-dir "$here/../project" | grep -E "Finished running|Done\."
    "$bp" query --warehouse "$out/dbt.duckdb" \
        "SELECT r.unique_id, round(r.execution_time, 3) AS seconds FROM (SELECT unnest(results, recursive := true) FROM read_json('$here/../project/target/run_results.json')) r WHERE r.unique_id LIKE 'model.%' ORDER BY 2 DESC" --max-rows 20
    rm -f "$out/dbt.duckdb" "$out/dbt.duckdb.wal"
fi
