#!/usr/bin/env bash
# demo.sh [DATA]: run the pipeline once and show where things are.
# Without DATA (or $DATA), a scale-1 dataset is generated into demo/data.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-${DATA:-}}
if [ -z "$data" ]; then
    data=demo/data
    if [ ! -f "$data/Ratings.csv" ]; then
        echo "demo: no data given; generating a Book-Crossing-shaped dataset (scale 1) into $data"
        echo "      (to use the real Kaggle files: make demo DATA=~/Downloads/book-recommendation-dataset)"
        ./bookpipe gen --out "$data" --scale 1 --seed 42
    else
        echo "demo: using the generated dataset in $data"
    fi
fi
echo
./bookpipe run --data "$data" --warehouse bookpipe.duckdb --lake lake
echo
echo "Try:"
echo "  ./bookpipe query \"SELECT country, count(*) AS users FROM books_schema.users GROUP BY 1 ORDER BY 2 DESC LIMIT 5\""
echo
./bookpipe query "SELECT country, count(*) AS users FROM books_schema.users GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
echo
./bookpipe query "SELECT source, reason, count(*) AS rows FROM books_schema.quarantine WHERE run_id = (SELECT max(run_id) FROM books_schema.load_audit) GROUP BY ALL ORDER BY 3 DESC"
