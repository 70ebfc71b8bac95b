#!/usr/bin/env bash
# rec_bench.sh BOOKPIPE: the recommenders' speed and memory (BENCHMARKS.md):
# reading the ratings, item-kNN training, publishing the tables, scoring
# and evaluating users, EASE by N; at scale 1 and 10 of generated data
# with tastes (gen --tastes 0.5). Not a test: figures only.
set -euo pipefail
bp=$(realpath "${1:-./bookpipe}")
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
mkdir -p "$out"

# prepare NAME SCALE: the data and a warehouse loaded from it (no models)
prepare() {
    [ -f "$out/$1/Ratings.csv" ] || "$bp" gen --out "$out/$1" --scale "$2" --seed 42 --tastes 0.5 > /dev/null
    [ -f "$out/$1.duckdb" ] ||
        "$bp" run --quiet --data "$out/$1" --warehouse "$out/$1.duckdb" --no-lake --no-models \
            --state-dir "$out/$1.state"
}

# timed CMD...: the command's output, then "wall S s, peak N MB"
timed() {
    /usr/bin/time -f 'wall %e s, peak %M KB' -o "$out/rec.time" "$@" 2>&1
    awk '{ printf "wall %s s, peak %d MB\n", $2, $5 / 1024 }' "$out/rec.time"
}

for s in 1 10; do
    name=rec$s
    prepare "$name" "$s"
    echo
    echo "== scale $s (tastes 0.5): train item-kNN and publish the tables"
    timed "$bp" recommend --warehouse "$out/$name.duckdb" | grep -E 'read in|trained|wall'
    echo "== scale $s: evaluate 5,000 users, 1 seed (scoring is rank + top-10 per user)"
    timed "$bp" recommend --evaluate --warehouse "$out/$name.duckdb" --methods popularity,knn,ease \
        --seeds 1 --users 5000 | grep -E 'trained|^(popularity|item-knn|ease) |wall'
done

echo
echo "== EASE by N (scale 1): training, scoring 5,000 users, peak RSS"
for n in 1000 2000 4000 6000 10000; do
    printf 'N=%-6s ' "$n"
    timed "$bp" recommend --evaluate --warehouse "$out/rec1.duckdb" --methods ease --ease-n "$n" \
        --seeds 1 --users 5000 | grep -E 'trained|wall' | sed 's/^ *seed 1: //' | paste -sd ' '
done
