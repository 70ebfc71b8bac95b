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
        ./bookpipe gen --out "$data" --scale 1 --seed 42 --tastes 0.5
    else
        echo "demo: using the generated dataset in $data"
    fi
fi
echo
./bookpipe run --data "$data" --warehouse bookpipe.duckdb --lake lake
echo
q1="SELECT country, count AS ratings, explicit_count FROM books_schema.dim_country_count ORDER BY count DESC LIMIT 5"
q2="SELECT rank, title, author, explicit_count, avg_rating, bayes_score FROM books_schema.top_books ORDER BY rank LIMIT 5"
echo "Try:"
echo "  ./bookpipe query \"$q1\""
echo
./bookpipe query "$q1"
echo
./bookpipe query "$q2"
echo
./bookpipe query "SELECT source, reason, count(*) AS rows FROM books_schema.quarantine WHERE run_id = (SELECT max(run_id) FROM books_schema.load_audit) GROUP BY ALL ORDER BY 3 DESC"
echo
reader=$(./bookpipe query --csv "SELECT user_id FROM books_schema.rec_user_top WHERE because_isbn IS NOT NULL GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1" | tail -n 1)
echo "Recommendations for reader $reader (./bookpipe recommend --user $reader; the methods compared: ./bookpipe recommend --evaluate):"
./bookpipe recommend --user "$reader" --top 5
echo
./bookpipe runs --limit 3
echo
echo "Run it again: unchanged blocks are skipped. The history: ./bookpipe runs show 1, ./bookpipe logs 1 clean"
echo "The web UI (dashboards, the pipeline and its runs, a SQL explorer): ./bookpipe serve --data $data, then open http://127.0.0.1:8080/d/books (a reader's page: /users/$reader)"
