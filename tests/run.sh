#!/usr/bin/env bash
# run.sh BOOKPIPE: the integration tests (golden files, end to end, bad
# input, CLI). Each check prints "ok - name" or "not ok - name"; the last
# line is "N passed, N failed". Exit status is non-zero on any failure.
set -uo pipefail

bp=$(realpath "${1:-./bookpipe}")
# the fault-injection library (make builds it next to the test binaries)
bp_shim=$(realpath "${BOOKPIPE_SHIM:-$(dirname "$0")/../build/tests/failshim.so}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/bookpipe-test.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /'; }
# check NAME COMMAND...: passes when the command succeeds
# pg_wait_locked TABLE: until a session holds a TABLE exclusively (a load
# has emptied the staged one inside its transaction and waits for rows).
# Readiness, not a fixed sleep; at most 10 s.
pg_wait_locked() {
    local i
    for i in $(seq 1 200); do
        [ "$(pgq "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                  WHERE c.relname = '$1' AND l.mode = 'AccessExclusiveLock' AND l.granted")" -ge 1 ] && return 0
        sleep 0.05
    done
    return 1
}
# wait_for FILE: until FILE exists (a readiness sign), at most 10 s;
# wait_for_content FILE: until it holds something (a run lock, taken)
wait_for() { local i; for i in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_for_content() { local i; for i in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

# Epoch seconds 2 s before the next minute: a BOOKPIPE_CLOCK that makes a
# "* * * * *" schedule fire in about 2 s instead of up to a minute.
clock_near_minute() { local now; now=$(date +%s); echo $(( (now / 60 + 1) * 60 - 2 )); }
check() { local name=$1; shift; if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi; }

q() { "$bp" query --csv --warehouse "$1" "$2" | tail -n +2; }

# ---- CLI -------------------------------------------------------------------
cli_tests() {
    check "help lists the commands" bash -c "'$bp' --help | grep -q 'run ' && '$bp' --help | grep -q 'query'"
    for c in run ingest query gen version runs logs schedule doctor; do
        check "$c --help" bash -c "'$bp' $c --help | grep -q 'usage: bookpipe $c'"
    done
    "$bp" nosuch >/dev/null 2>&1
    check "unknown command exits 2" test $? -eq 2
    "$bp" run >/dev/null 2>err.txt
    check "run without --data exits 2 and says why" bash -c "test $? -eq 2 && grep -q -- '--data' err.txt"
    check "version names DuckDB" bash -c "'$bp' version | grep -q 'DuckDB v'"
}

# ---- golden files ------------------------------------------------------------
golden_tests() {
    local c f d flags
    # whole files (kaggle, bx), then one folder per cleaning rule (rules/*:
    # a few rows that show the rule, and only the tables it is about)
    for c in kaggle bx $(cd "$here/golden" && echo rules/*); do
        [ -d "$here/golden/$c/input" ] || continue
        flags=
        case $c in rules/*) flags="--allow-shrink --no-models" ;; esac
        rm -f "g.duckdb" "g.duckdb.wal"
        # shellcheck disable=SC2086
        if ! "$bp" run --quiet --no-lake $flags --data "$here/golden/$c/input" --warehouse g.duckdb; then
            not_ok "golden $c: run"
            continue
        fi
        rm -rf got && "$here/golden/dump.sh" "$bp" g.duckdb got
        for f in "$here/golden/$c/expected/"*.csv; do
            f=$(basename "$f" .csv)
            if d=$(diff -u "$here/golden/$c/expected/$f.csv" "got/$f.csv"); then
                ok "golden $c: $f"
            else
                not_ok "golden $c: $f" "$d"
            fi
        done
    done
}

# rows_read = rows_loaded + rows_quarantined for every source of the last
# run, and the tables and quarantine hold exactly those rows.
reconciles() {
    local wh=$1 bad
    bad=$(q "$wh" "
      WITH a AS (SELECT * FROM load_audit WHERE run_id = (SELECT max(run_id) FROM load_audit)),
      t AS (SELECT 'books' AS table_name, count(*) AS n FROM books
            UNION ALL SELECT 'users', count(*) FROM users
            UNION ALL SELECT 'ratings', count(*) FROM ratings),
      qq AS (SELECT source, count(*) AS n FROM quarantine
             WHERE run_id = (SELECT max(run_id) FROM load_audit) GROUP BY source)
      SELECT a.source FROM a JOIN t USING (table_name) LEFT JOIN qq USING (source)
      WHERE a.rows_read <> a.rows_loaded + a.rows_quarantined
         OR a.rows_loaded <> t.n OR a.rows_quarantined <> coalesce(qq.n, 0)
         OR a.rows_read = 0")
    local n
    n=$(q "$wh" "SELECT count(*) FROM load_audit WHERE run_id = (SELECT max(run_id) FROM load_audit)")
    [ -z "$bad" ] && [ "$n" = 3 ]
}

# A snapshot of what a failed run must not change: table contents (counts
# and checksums), run history, and the lake's files and pointers.
snapshot() {
    local wh=$1 lake=$2
    q "$wh" "SELECT (SELECT count(*) FROM books), (SELECT count(*) FROM users),
               (SELECT count(*) FROM ratings), (SELECT count(*) FROM quarantine),
               (SELECT max(run_id) FROM load_audit), (SELECT count(*) FROM load_audit),
               (SELECT sum(hash(isbn, title)) FROM books), (SELECT sum(hash(user_id, country)) FROM users)"
    (cd "$lake" && find . | sort && readlink latest && md5sum latest/*.parquet)
}

# ---- fixtures: each group makes what it needs, so any group runs alone -------
# (tests/run.sh BOOKPIPE GROUP...); made once, shared by the groups after.
need_data() {
    [ -f data/Books.csv ] && [ -f data/book-recommendation-dataset.zip ] && return 0
    "$bp" gen --out data --scale 0.02 --seed 7 --zip > /dev/null ||
        not_ok "fixture: gen --out data"
}
need_e2e() {
    need_data
    [ -f e2e.duckdb ] && [ -L lake/latest ] && return 0
    "$bp" run --quiet --data data --warehouse e2e.duckdb --lake lake ||
        not_ok "fixture: the e2e warehouse (run --data data)"
}
need_bxdata() {
    [ -f bxdata/BX-Users.csv ] || "$bp" gen --out bxdata --scale 0.02 --seed 7 --format bx > /dev/null ||
        not_ok "fixture: gen --format bx"
}
need_web() {
    need_e2e
    mkdir -p web
    [ -f web/web.duckdb ] || cp e2e.duckdb web/web.duckdb
}

# ---- end to end ------------------------------------------------------------
e2e_tests() {
    rm -rf e2e.duckdb e2e.duckdb.wal lake # its checks count runs from the first
    check "gen kaggle" "$bp" gen --out data --scale 0.02 --seed 7 --zip
    check "gen is deterministic" bash -c "'$bp' gen --out data2 --scale 0.02 --seed 7 >/dev/null && cmp data/Ratings.csv data2/Ratings.csv && cmp data/Users.csv data2/Users.csv && cmp data/Books.csv data2/Books.csv"
    check "run on generated data" "$bp" run --quiet --data data --warehouse e2e.duckdb --lake lake
    check "every source reconciles" reconciles e2e.duckdb
    local n b u r
    for t in books users ratings; do
        n=$(q e2e.duckdb "SELECT count(*) FROM $t")
        r=$(q e2e.duckdb "SELECT count(*) FROM read_parquet('lake/latest/$t.parquet')")
        check "lake $t reads back with the same count ($n)" test "$n" = "$r" -a "$n" -gt 0
    done
    check "latest points at run=1" test "$(readlink lake/latest)" = "run=1"
    # keys over the memory budget: found in a first pass over each file, the
    # same rows loaded and the same rows quarantined, each at its line
    local sum d
    mkdir -p twopass
    "$bp" ingest --data data --warehouse twopass/one.duckdb --no-lake --quiet
    BOOKPIPE_KEYS_MEMORY=1KB "$bp" ingest --data data --warehouse twopass/two.duckdb --no-lake > twopass/out.txt
    check "keys over the budget: each file read twice" test "$(grep -c 'keys over memory: read twice' twopass/out.txt)" = 3
    sum="SELECT (SELECT md5(string_agg(b::varchar, '|' ORDER BY b::varchar)) FROM books b) || (SELECT md5(string_agg(u::varchar, '|' ORDER BY u::varchar)) FROM users u) ||
         (SELECT md5(string_agg(r::varchar, '|' ORDER BY r::varchar)) FROM ratings r) || (SELECT md5(string_agg(source || line || reason || raw, '|' ORDER BY source, line)) FROM quarantine)"
    d=$(q twopass/one.duckdb "SELECT count(*) FROM quarantine WHERE reason = 'duplicate_key'")
    check "keys over the budget: the same tables and quarantine ($d duplicates)" test "$(q twopass/two.duckdb "$sum")" = "$(q twopass/one.duckdb "$sum")" -a "$d" -gt 0
    check "keys over the budget: no spill file left" test -z "$(find . -name '.bookpipe-keys-*')"
    check "quarantine raw text is kept" test "$(q e2e.duckdb "SELECT count(*) FROM quarantine WHERE raw IS NULL OR line < 2")" = 0
    check "implicit ratings are flagged" test "$(q e2e.duckdb "SELECT count(*) FROM ratings WHERE is_implicit <> (rating = 0)")" = 0
    b=$(q e2e.duckdb "SELECT count(*) FROM books")
    "$bp" run --plain --data data --warehouse e2e.duckdb --lake lake > out.txt
    check "an unchanged second run skips every block" test "$(grep -c 'skipped: up to date' out.txt)" = 8
    check "and records nothing new in the load audit" test "$(q e2e.duckdb "SELECT max(run_id) FROM load_audit")" = 1
    check "second run (--full-refresh)" "$bp" run --quiet --full-refresh --data data --warehouse e2e.duckdb --lake lake
    check "the refreshed data carries its run's id (3; run 2 skipped) and latest moves" test "$(q e2e.duckdb "SELECT max(run_id) FROM load_audit")" = 3 -a "$(readlink lake/latest)" = "run=3" -a "$(q e2e.duckdb "SELECT max(run_id) FROM bookpipe_meta.runs")" = 3
    check "second run replaces, not appends" test "$(q e2e.duckdb "SELECT count(*) FROM books")" = "$b"
    check "first run's lake files stay" test -f lake/run=1/books.parquet
    check "run from the zip" "$bp" run --quiet --data data/book-recommendation-dataset.zip --warehouse zip.duckdb --no-lake
    check "zip gives the same rows" test "$(q zip.duckdb "SELECT count(*), sum(rating) FROM ratings")" = "$(q e2e.duckdb "SELECT count(*), sum(rating) FROM ratings")"
    mkdir -p gz && cp data/Books.csv data/Ratings.csv gz/ && gzip -c data/Users.csv > gz/Users.csv.gz
    check "run with a .csv.gz member" "$bp" run --quiet --data gz --warehouse gz.duckdb --no-lake
    check "gz gives the same users" test "$(q gz.duckdb "SELECT count(*), count(country) FROM users")" = "$(q e2e.duckdb "SELECT count(*), count(country) FROM users")"
    # more quarantined rows than the loader keeps in flight: it pauses and resumes
    mkdir -p junk && cp data/Books.csv data/Users.csv junk/
    awk -F, 'NR > 1 && NR % 2 == 0 { $2 = "JUNK" NR } { print }' OFS=, data/Ratings.csv > junk/Ratings.csv
    "$bp" run --quiet --data junk --warehouse junk.duckdb --no-lake > /dev/null 2> err.txt
    check "half the ratings quarantined: refused without --allow-shrink (exit 3)" bash -c "test $? -eq 3 && grep -q 'would go to quarantine (more than half' err.txt"
    check "half the ratings quarantined" "$bp" run --quiet --data junk --warehouse junk.duckdb --no-lake --allow-shrink
    check "and it still reconciles" reconciles junk.duckdb
    check "with over 8192 quarantined" test "$(q junk.duckdb "SELECT count(*) > 8192 FROM quarantine WHERE reason = 'isbn_malformed'")" = true
    check "a warehouse file named like the schema works" "$bp" run --quiet --no-lake --no-models --data data --warehouse books_schema.duckdb
    check "and answers queries" test "$(q books_schema.duckdb "SELECT count(*) FROM books_schema.users")" = "$(q e2e.duckdb "SELECT count(*) FROM users")"
    check "gen bx" "$bp" gen --out bxdata --scale 0.02 --seed 7 --format bx
    check "run on the bx format" "$bp" run --quiet --data bxdata --warehouse bx.duckdb --lake bxlake
    check "bx reconciles" reconciles bx.duckdb
    check "bx detected as bx" test "$(q bx.duckdb "SELECT DISTINCT format FROM load_audit")" = bx
    check "bx and kaggle agree on users" test "$(q bx.duckdb "SELECT count(*), count(age), count(country) FROM users")" = "$(q e2e.duckdb "SELECT count(*), count(age), count(country) FROM users")"
    check "all text is valid UTF-8 (DuckDB checks on load)" test "$(q e2e.duckdb "SELECT count(*) FROM users WHERE country LIKE '%\"%' OR country LIKE '%\\\\%'")" = 0
    check "query --csv prints a header" bash -c "'$bp' query --csv --warehouse e2e.duckdb 'SELECT 1 AS a, 2 AS b' | head -1 | grep -qx 'a,b'"
    check "query renders lists and structs" bash -c "'$bp' query --csv --warehouse e2e.duckdb \"SELECT [1,2] AS l, {'a': 1} AS s\" | tail -1 | grep -q '1, 2'"
    check "query prints an aligned table" bash -c "'$bp' query --warehouse e2e.duckdb 'SELECT 42 AS answer' | grep -q '(1 row)'"
    "$bp" query --warehouse e2e.duckdb "SELEC nonsense" >/dev/null 2>err.txt
    check "bad SQL exits 4 with DuckDB's message" bash -c "test $? -eq 4 && grep -q 'bookpipe query:.*syntax' err.txt"
    "$bp" query --warehouse missing.duckdb "SELECT 1" >/dev/null 2>err.txt
    check "query on a missing warehouse says so" bash -c "test $? -eq 4 && grep -q 'no warehouse at missing.duckdb' err.txt"
    check "query is read-only" bash -c "! '$bp' query --warehouse e2e.duckdb 'DELETE FROM books' 2>/dev/null && test \$('$bp' query --csv --warehouse e2e.duckdb 'SELECT count(*) FROM books' | tail -1) = $b"
}

# ---- bad input -------------------------------------------------------------
# refused_on WH LAKE LABEL NAME EXIT PATTERN [run args]: a run on WH and LAKE
# fails with EXIT, one line on stderr matching PATTERN, and leaves the
# warehouse and the lake untouched.
refused_on() {
    local wh=$1 lake=$2 label=$3 name=$4 want=$5 pat=$6
    shift 6
    local before after rc
    before=$(snapshot "$wh" "$lake")
    "$bp" run --quiet --warehouse "$wh" --lake "$lake" "$@" >/dev/null 2>err.txt
    rc=$?
    after=$(snapshot "$wh" "$lake")
    if [ "$rc" -ne "$want" ]; then
        not_ok "$label: $name: exit $rc, want $want" "$(cat err.txt)"
    elif [ "$(wc -l < err.txt)" -ne 1 ] || ! grep -qE "$pat" err.txt; then
        not_ok "$label: $name: message" "$(cat err.txt)"
    elif [ "$before" != "$after" ]; then
        not_ok "$label: $name: warehouse or lake changed" "$(diff <(echo "$before") <(echo "$after"))"
    else
        ok "$label: $name ($(head -c 200 err.txt))"
    fi
}

# bad_case NAME EXIT PATTERN DATA [extra args]: refused_on the e2e warehouse.
bad_case() {
    local name=$1 want=$2 pat=$3 data=$4
    shift 4
    refused_on e2e.duckdb lake "bad input" "$name" "$want" "$pat" --data "$data" "$@"
}

bad_input_tests() {
    need_e2e
    bad_case "missing folder" 3 "/nonexistent/folder: No such file" /nonexistent/folder
    mkdir -p empty && cp data/Books.csv data/Ratings.csv empty/ && : > empty/Users.csv
    bad_case "empty file" 3 "Users.csv: the file is empty" empty
    mkdir -p header && cp data/Books.csv data/Users.csv header/ && { echo "a,b,c"; tail -n +2 data/Ratings.csv; } > header/Ratings.csv
    bad_case "wrong header" 3 "Ratings.csv: line 1: unexpected header \"a,b,c\"" header
    local zsize
    zsize=$(stat -c %s data/book-recommendation-dataset.zip)
    head -c $((zsize * 9 / 10)) data/book-recommendation-dataset.zip > truncated.zip
    bad_case "truncated zip" 3 "truncated.zip.*(damaged|truncated)" truncated.zip
    mkdir -p binary && cp data/Users.csv data/Ratings.csv binary/ && head -c 100000 /dev/urandom > binary/Books.csv && printf '\0\0\0' >> binary/Books.csv
    bad_case "binary file" 3 "Books.csv: (holds binary data|line)" binary
    mkdir -p longrec && cp data/Books.csv data/Users.csv longrec/ && { cat data/Ratings.csv; head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; } > longrec/Ratings.csv
    bad_case "a failure in the last file rolls back the first two" 3 "Ratings.csv: line [0-9]+: a record longer than 16 MiB" longrec
    : > notadir
    bad_case "lake path is a file" 5 "lake folder notadir.*not a folder" data --lake notadir
    # a read-only lake: root ignores permissions, so run as nobody, from a
    # folder of its own under /tmp with the binary, its DuckDB library and
    # the data (the checkout may sit where nobody cannot reach: /root is 0700)
    if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
        local ro before after rc duck
        ro=$(mktemp -d /tmp/bookpipe-nobody.XXXXXX) && chmod 755 "$ro"
        duck=$(ldd "$bp" | awk '/libduckdb/ { print $3 }')
        mkdir -p "$ro/bin" && cp "$bp" "$duck" "$ro/bin/" && cp -r data "$ro/data"
        cp -r "$here/../project" "$ro/project" && rm -rf "$ro/project/target"
        cp e2e.duckdb "$ro/" && cp -a lake "$ro/lake" && chown -R nobody "$ro" && chmod -R a+rX "$ro"
        chown -R root "$ro/lake" && chmod -R a-w "$ro/lake"
        before=$(snapshot "$ro/e2e.duckdb" "$ro/lake")
        (cd "$ro" && setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_LIBRARY_PATH="$ro/bin" \
            "$ro/bin/${bp##*/}" run --quiet --full-refresh --data data --warehouse e2e.duckdb --lake lake) >/dev/null 2>err.txt
        rc=$?
        after=$(snapshot "$ro/e2e.duckdb" "$ro/lake")
        rm -rf "$ro"
        if [ "$rc" -eq 5 ] && grep -q "Permission denied" err.txt && [ "$before" = "$after" ]; then
            ok "bad input: read-only lake folder ($(cat err.txt))"
        else
            not_ok "bad input: read-only lake folder: exit $rc" "$(cat err.txt)"
        fi
    elif [ "$(id -u)" != 0 ]; then
        mkdir -p rolake && chmod 555 rolake
        bad_case "read-only lake folder" 5 "Permission denied" data --lake rolake
    else
        not_ok "bad input: read-only lake folder: needs setpriv (util-linux) when run as root"
    fi
}

# ---- PostgreSQL --------------------------------------------------------------
pgq() { "$bp" query --csv --target postgres "$1" | tail -n +2; }

pg_tests() {
    need_e2e
    # shellcheck source=tests/pg_server.sh
    source "$here/pg_server.sh"
    if ! pg_start; then
        not_ok "postgres: could not start a test server"
        return
    fi
    trap 'pg_stop; rm -rf "$work"' EXIT
    check "postgres: run (load, lake, models, tests)" "$bp" run --quiet --target postgres --data data --lake pglake
    local bad t n d m
    bad=$(pgq "WITH a AS (SELECT * FROM books_schema.load_audit WHERE run_id = (SELECT max(run_id) FROM books_schema.load_audit))
               SELECT source FROM a WHERE rows_read <> rows_loaded + rows_quarantined
               OR rows_loaded <> CASE table_name WHEN 'books' THEN (SELECT count(*) FROM books_schema.books)
                  WHEN 'users' THEN (SELECT count(*) FROM books_schema.users) ELSE (SELECT count(*) FROM books_schema.ratings) END")
    check "postgres: every source reconciles" test -z "$bad"
    check "postgres: the load refreshed the planner's statistics of the three tables" test "$(pgq "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'books_schema' AND relname IN ('books', 'users', 'ratings') AND last_analyze IS NOT NULL")" = 3
    for t in books users ratings quarantine; do
        n=$(q e2e.duckdb "SELECT count(*) FROM $t WHERE $( [ $t = quarantine ] && echo "run_id = (SELECT max(run_id) FROM load_audit)" || echo true)")
        check "postgres: $t has the DuckDB target's rows ($n)" test "$(pgq "SELECT count(*) FROM books_schema.$t")" = "$n"
    done
    local counts
    counts=$(pgq "SELECT count(*), sum(rating), count(isbn13), sum(user_id) FROM books_schema.ratings")
    check "postgres: COPY in binary format loads the same rows" env BOOKPIPE_PG_COPY=binary "$bp" run --quiet --no-models --no-lake --target postgres --data data
    check "postgres: binary and text agree" test "$(pgq "SELECT count(*), sum(rating), count(isbn13), sum(user_id) FROM books_schema.ratings")" = "$counts"
    check "postgres: timestamps survive the binary format" test "$(pgq "SELECT max(loaded_at) > now() - interval '1 hour' AND max(loaded_at) < now() + interval '1 minute' FROM books_schema.load_audit")" = true
    check "postgres: the lake reads back" test "$(q e2e.duckdb "SELECT count(*) FROM read_parquet('pglake/latest/ratings.parquet')")" = "$(pgq "SELECT count(*) FROM books_schema.ratings")"
    check_by_definition pgq books_schema. postgres
    check "postgres: the load gave books and users a unique index on their keys" test "$(pgq "SELECT string_agg(indexdef, ' | ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'books_schema' AND indexname LIKE 'bookpipe_%_key'")" = "CREATE UNIQUE INDEX bookpipe_books_key ON books_schema.books USING btree (isbn) | CREATE UNIQUE INDEX bookpipe_users_key ON books_schema.users USING btree (user_id)"
    for m in dim_age_ratings dim_country_count dim_country_book_ratings top_books top_authors top_publishers books_by_year rating_distribution user_activity stg_users facts_all int_user_ratings int_book_ratings; do
        "$bp" query --csv --max-rows 0 --warehouse e2e.duckdb "SELECT * FROM $m" | tail -n +2 | sort > duck_$m.csv
        "$bp" query --csv --max-rows 0 --target postgres "SELECT * FROM books_schema.$m" | tail -n +2 | sort > pg_$m.csv
        if d=$(awk -f "$here/csv_close.awk" duck_$m.csv pg_$m.csv); then
            ok "postgres: $m equals DuckDB's ($(wc -l < pg_$m.csv) rows; numbers within 0.01)"
        else
            not_ok "postgres: $m differs from DuckDB's" "$d"
        fi
    done
    # atomic refresh: readers during a reload see the old rows or the new, never 0 or a part
    local old new pids=() k
    old=$(pgq "SELECT count(*) FROM books_schema.ratings")
    mkdir -p pgfifo && cp data/Books.csv data/Users.csv pgfifo/ && rm -f pgfifo/Ratings.csv && mkfifo pgfifo/Ratings.csv
    "$bp" run --quiet --no-models --no-lake --target postgres --data pgfifo --allow-shrink > /dev/null 2>pgerr.txt &
    local loader=$!
    pg_wait_locked ratings # the load has begun and waits on the pipe, inside its transaction
    for k in 1 2 3 4 5; do
        pgq "SELECT count(*) FROM books_schema.ratings" > "reader_$k.txt" 2>&1 &
        pids+=($!)
    done
    head -n $(( $(wc -l < data/Ratings.csv) / 2 )) data/Ratings.csv > half.csv
    timeout 60 bash -c 'cat half.csv > pgfifo/Ratings.csv'
    wait "$loader"
    wait "${pids[@]}"
    new=$(pgq "SELECT count(*) FROM books_schema.ratings")
    local seen
    seen=$(cat reader_*.txt | sort -u | tr '\n' ' ')
    if [ "$new" != "$old" ] && [ -n "$seen" ] && ! grep -qvx -e "$old" -e "$new" reader_*.txt; then
        ok "postgres: readers during a reload saw only $old (old) or $new (new): $seen"
    else
        not_ok "postgres: readers during a reload saw: $seen (old $old, new $new)" "$(cat pgerr.txt)"
    fi
    check "postgres: dbt views still work after the reload" test "$(pgq "SELECT count(*) FROM books_schema.stg_ratings")" = "$new"
    # a load killed halfway leaves the previous rows
    "$bp" run --quiet --no-models --no-lake --target postgres --data pgfifo > /dev/null 2>&1 &
    loader=$!
    pg_wait_locked ratings
    kill -KILL "$loader"
    wait "$loader" 2>/dev/null
    check "postgres: a load killed halfway leaves the previous counts" test "$(pgq "SELECT count(*) FROM books_schema.ratings")" = "$new"
    # errors: one clear line, no password
    PGPORT=1 "$bp" query --target postgres "SELECT 1" > /dev/null 2>err.txt
    check "postgres: unreachable server" bash -c "test $? -eq 4 && grep -q 'cannot connect to PostgreSQL (127.0.0.1:1/books as bookpipe)' err.txt"
    PGPASSWORD=wrong-pass-XYZ "$bp" run --quiet --target postgres --data data --no-lake > /dev/null 2>err.txt
    check "postgres: wrong password (and the password is not printed)" bash -c "test $? -eq 4 && grep -q 'password authentication failed' err.txt && ! grep -q 'wrong-pass-XYZ' err.txt"
    PGDATABASE=nope "$bp" query --target postgres "SELECT 1" > /dev/null 2>err.txt
    check "postgres: missing database" bash -c "test $? -eq 4 && grep -q 'database \"nope\" does not exist' err.txt"
    psql -q -c "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'" > /dev/null
    PGUSER=reader PGPASSWORD=reader-pw "$bp" run --quiet --target postgres --data data --no-lake > /dev/null 2>err.txt
    check "postgres: missing privileges" bash -c "test $? -eq 4 && grep -q 'permission denied' err.txt"
    check "postgres: counts unchanged after the failures" test "$(pgq "SELECT count(*) FROM books_schema.ratings")" = "$new"
    "$bp" query --target postgres "DELETE FROM books_schema.ratings" > /dev/null 2>err.txt
    check "postgres: query is read-only" bash -c "test $? -eq 2 && grep -q 'refused: DELETE; this connection is read-only' err.txt"
    # the server dies mid-load: a clear error; after recovery, the old rows
    "$bp" run --quiet --no-models --no-lake --target postgres --data pgfifo > /dev/null 2>err.txt &
    loader=$!
    pg_wait_locked ratings
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop > /dev/null 2>&1
    timeout 60 bash -c 'cat half.csv > pgfifo/Ratings.csv' 2>/dev/null
    wait "$loader"
    rc=$?
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
        -o "-p $PGPORT -k $PG_TMP -c listen_addresses=127.0.0.1" start > /dev/null
    if [ "$rc" -eq 4 ] && grep -q "block clean failed: " err.txt && ! grep -q "bookpipe-test-secret" err.txt &&
       [ "$(pgq "SELECT count(*) FROM books_schema.ratings")" = "$new" ]; then
        ok "postgres: server killed mid-load: exit 4, old rows after recovery ($(head -c 160 err.txt))"
    else
        not_ok "postgres: server killed mid-load: exit $rc" "$(cat err.txt)"
    fi
    # the orchestrator on PostgreSQL: history there, one run at a time by advisory lock
    check "postgres: runs lists the history kept in the server" bash -c "'$bp' runs --target postgres | grep -q completed"
    check "postgres: runs show lists a run's blocks" bash -c "'$bp' runs show 1 --target postgres | grep -q 'load_warehouse.*completed'"
    rm -f wait.started
    "$bp" run --pipeline "$here/orch/slow.yml" --target postgres --only wait --quiet &
    local holder=$!
    wait_for wait.started
    "$bp" run --pipeline "$here/orch/slow.yml" --target postgres --only wait --quiet 2> err.txt
    rc=$?
    wait "$holder"
    check "postgres: a second concurrent run is refused, naming the holder" bash -c "test $rc -eq 4 && grep -q 'another run is using schema books_schema on this PostgreSQL server: bookpipe pid $holder on host' err.txt"
    rm -f wait.started
    "$bp" run --pipeline "$here/orch/slow.yml" --target postgres --only wait --quiet &
    holder=$!
    wait_for wait.started
    kill -KILL "$holder"
    wait "$holder" 2>/dev/null
    check "postgres: the lock of a killed run is free again" "$bp" run --pipeline "$here/orch/dag.yml" --target postgres --only d --quiet
    # the time series fixture drawn from PostgreSQL, as from DuckDB
    if serve_start pgdash.log --target postgres --no-schedule --dashboards "$here/web"; then
        timeseries_checks "postgres"
        post_sql '{"sql": "SELECT 1 AS a; SELECT 2 AS b"}' > ex.json
        check "postgres: the explorer runs two statements, a result each" bash -c "grep -q '\"results\":\[' ex.json && grep -q '\"rows\":\[\[\"2\"\]\]' ex.json"
        post_sql '{"sql": "SELECT 1;\nSELECT nosuch FROM books_schema.users"}' > ex.json
        check "postgres: an error says where the server stopped (position 18)" bash -c "tail -1 ex.json | grep -qx 400 && grep -q '\"position\":18' ex.json"
        curl -s --noproxy '*' -w '\n%{http_code}' -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"sql": "SELECT g FROM generate_series(1, 25000) AS s(g)", "format": "csv"}' "$url/api/export" > ex.csv
        check "postgres: export streams every row past the cap" bash -c "tail -1 ex.csv | grep -qx 200 && test \$(sed '\$d' ex.csv | grep -c '^[0-9g]') = 25001"
        serve_stop
    else
        not_ok "postgres: serve for the dashboards starts" "$(cat pgdash.log)"
    fi
    redshift_emulated_tests
    pg_stop
    trap 'rm -rf "$work"' EXIT
}

# Redshift, emulated on the test PostgreSQL (BOOKPIPE_REDSHIFT_EMULATE): the
# whole run with the Redshift load plan, its S3 COPY replaced by inserts of
# the same rows. This checks the plan's order, its transaction and its error
# handling, not Redshift itself (tests/unit/test_redshift.c checks the SQL
# Redshift gets against tests/golden/redshift/load.sql).
redshift_emulated_tests() {
    need_e2e
    local rs=(env PGSSLMODE=disable BOOKPIPE_REDSHIFT_EMULATE=postgres)
    local out rc users small
    mkdir -p rs && cd rs || return
    out=$("${rs[@]}" "$bp" run --target redshift --schema rs_books --data ../data --lake lake --plain 2>&1)
    rc=$?
    users=$(q ../e2e.duckdb "SELECT count(*) FROM users")
    check "redshift (emulated on PostgreSQL: order, transaction, errors; not Redshift): a full run" bash -c "test $rc -eq 0"
    local run
    run=$("$bp" query --csv --target postgres "SELECT max(run_id) FROM bookpipe_meta.runs" | tail -1)
    check "redshift (emulated): the load ran the Redshift plan" bash -c "PGSSLMODE=disable '$bp' logs $run load_warehouse --target redshift | grep -q 'users: $users rows inserted into the stage'"
    check "redshift (emulated): the tables hold the cleaned rows" test "$("$bp" query --csv --target postgres "SELECT count(*) FROM rs_books.users" | tail -1)" = "$users"
    check "redshift (emulated): the stage tables are dropped" test "$("$bp" query --csv --target postgres "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'rs_books_stage'" | tail -1)" = 0
    check "redshift (emulated): the models ran with target.type redshift" bash -c "'$bp' query --csv --target postgres \"SELECT data_type FROM information_schema.columns WHERE table_schema = 'rs_books' AND table_name = 'stg_ratings' AND column_name = 'score'\" | grep -q 'double precision'"
    check "redshift (emulated): the recommend block wrote its lists with INSERTs (no COPY from a client)" test "$("$bp" query --csv --target postgres "SELECT count(DISTINCT user_id) FROM rs_books.rec_user_top" | tail -1)" = "$("$bp" query --csv --target postgres "SELECT count(DISTINCT user_id) FROM rs_books.ratings" | tail -1)"
    check "redshift (emulated): the run lock is a local file" test -e .bookpipe/stage-rs_books.duckdb.lock
    # a load that fails inside the transaction leaves the previous tables
    "$bp" gen --out small --scale 0.002 --seed 5 > /dev/null
    psql -q -c "ALTER TABLE rs_books.ratings ADD COLUMN must_have INTEGER NOT NULL DEFAULT 0; ALTER TABLE rs_books.ratings ALTER COLUMN must_have DROP DEFAULT" > /dev/null
    out=$("${rs[@]}" "$bp" run --target redshift --schema rs_books --data small --lake lake --plain --no-models --allow-shrink 2>&1)
    rc=$?
    check "redshift (emulated): a failing statement fails the run (exit 4) with the server's error" bash -c "test $rc -eq 4 && printf '%s' \"\$1\" | grep -q 'must_have'" _ "$out"
    check "redshift (emulated): and the transaction is rolled back: users unchanged" test "$("$bp" query --csv --target postgres "SELECT count(*) FROM rs_books.users" | tail -1)" = "$users"
    out=$(env PGSSLMODE=disable "$bp" run --target redshift --schema rs_books --data ../data --lake lake --plain --only load_warehouse 2>&1)
    check "redshift: a local lake is refused (Redshift loads from S3)" bash -c "printf '%s' \"\$1\" | grep -q 'Redshift loads from S3'" _ "$out"
    out=$(env PGSSLMODE=disable "$bp" run --target redshift --schema rs_books --data ../data --lake s3://b/p --plain --only load_warehouse 2>&1)
    check "redshift: no IAM role is refused with what to give" bash -c "printf '%s' \"\$1\" | grep -q 'needs an IAM role.*--iam-role'" _ "$out"
    # temporary credentials from Redshift's API (a stand-in that checks the
    # SigV4 signature and answers with the test server's login)
    local iam_pid iam
    if start_node_server iam.log '^port=' node "$here/net/redshift_iam.mjs" AKIDTEST secret-test-1 "$PGUSER" "$PGPASSWORD"; then
        iam_pid=$node_pid
        iam=(env -u PGPASSWORD PGSSLMODE=disable AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret-test-1 AWS_REGION=eu-west-1 HOME="$PWD")
        out=$("${iam[@]}" REDSHIFT_CLUSTER_ID=books AWS_ENDPOINT_URL_REDSHIFT="http://127.0.0.1:${node_line#port=}" "$bp" query --csv --target redshift "SELECT count(*) FROM rs_books.users" 2>&1)
        check "redshift: no password: temporary credentials from GetClusterCredentials (signed) log in" test "$(printf '%s' "$out" | tail -1)" = "$users"
        out=$("${iam[@]}" REDSHIFT_WORKGROUP=wg AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS="http://127.0.0.1:${node_line#port=}" "$bp" query --csv --target redshift "SELECT 1" 2>&1)
        check "redshift: and from serverless GetCredentials" test "$(printf '%s' "$out" | tail -1)" = 1
        out=$("${iam[@]}" AWS_SECRET_ACCESS_KEY=wrong-secret-77 REDSHIFT_CLUSTER_ID=books AWS_ENDPOINT_URL_REDSHIFT="http://127.0.0.1:${node_line#port=}" "$bp" query --target redshift "SELECT 1" 2>&1)
        check "redshift: a refused credentials request says why, no secret printed" bash -c "printf '%s' \"\$1\" | grep -q 'Redshift temporary credentials: .*SignatureDoesNotMatch' && ! printf '%s' \"\$1\" | grep -q 'wrong-secret-77'" _ "$out"
        kill "$iam_pid" 2>/dev/null
        wait "$iam_pid" 2>/dev/null
    else
        not_ok "redshift: the credentials stand-in starts" "$(cat iam.log)"
    fi
    # Redshift reads backslashes in literals as escapes: a quarantined BX line
    # ending in one must land as it was (the stand-in reads literals the same way)
    (cd .. && need_bxdata)
    rm -rf bsl && cp -r ../bxdata bsl && printf '"no-id";"lost, \\";NULL\\\n"999998";"ok, place, usa";NULL\n' >> bsl/BX-Users.csv
    out=$("${rs[@]}" "$bp" run --target redshift --schema rs_bx --data bsl --lake lake --plain --no-models 2>&1)
    check "redshift (emulated): a quarantined line ending in a backslash loads (exit 0)" bash -c "test $? -eq 0" || printf '%s\n' "$out" | tail -3
    check "redshift (emulated): and its raw text is kept byte for byte (backslashes as B)" test "$("$bp" query --csv --target postgres "SELECT replace(raw, chr(92), 'B') FROM rs_bx.quarantine WHERE raw LIKE '%no-id%'" | tail -1)" = '"""no-id"";""lost, B"";NULLB"'
    out=$("$bp" dbt compile --project-dir "$here/../project" --profiles-dir "$here/dbt/redshift" 2>&1)
    check "redshift: the bundled models compile for a redshift profile (AVG over a float cast)" bash -c "grep -q 'cast(r.rating as float8) as score' '$here/../project/target/compiled/book_ratings/models/staging/stg_ratings.sql'"
    cd ..
}

# The published lake: what readers of `latest` see.
published() { (cd "$1" && readlink latest && md5sum latest/*.parquet); }

# ---- interrupted runs --------------------------------------------------------
# Ratings.csv is a named pipe, so the run is surely mid-load (books and users
# appended, uncommitted) when the signal comes.
interrupt_tests() {
    need_e2e
    mkdir -p fifo && cp data/Books.csv data/Users.csv fifo/ && rm -f fifo/Ratings.csv && mkfifo fifo/Ratings.csv
    local before pub pid rc
    before=$(snapshot e2e.duckdb lake)
    pub=$(published lake)
    "$bp" run --quiet --data fifo --warehouse e2e.duckdb --lake lake >/dev/null 2>err.txt &
    pid=$!
    wait_for_content e2e.duckdb.lock # the run has begun
    kill -INT "$pid"
    # feed the pipe in case the run waits on it; if the run stopped before
    # it reached Ratings.csv nobody reads it, and the writer is ended below
    timeout 60 bash -c 'cat data/Ratings.csv > fifo/Ratings.csv' 2>/dev/null &
    local writer=$!
    wait "$pid"
    rc=$?
    kill "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
    if [ "$rc" -eq 130 ] && grep -q "interrupted" err.txt && [ "$before" = "$(snapshot e2e.duckdb lake)" ]; then
        ok "Ctrl-C mid-load: exit 130, warehouse and lake unchanged ($(tail -1 err.txt | head -c 120))"
    else
        not_ok "Ctrl-C mid-load: exit $rc" "$(cat err.txt)"
    fi
    check "the interrupted run is recorded as cancelled" test "$(q e2e.duckdb "SELECT status FROM bookpipe_meta.runs ORDER BY run_id DESC LIMIT 1")" = cancelled
    "$bp" run --quiet --data fifo --warehouse e2e.duckdb --lake lake >/dev/null 2>&1 &
    pid=$!
    wait_for_content e2e.duckdb.lock
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    if [ "$(snapshot e2e.duckdb lake | head -1)" = "$(echo "$before" | head -1)" ] && [ "$pub" = "$(published lake)" ]; then
        ok "SIGKILL mid-load: warehouse and published lake unchanged"
    else
        not_ok "SIGKILL mid-load: something changed"
    fi
    check "the run after a kill succeeds" "$bp" run --quiet --data data --warehouse e2e.duckdb --lake lake
    check "and sweeps the killed run's leftovers" test -z "$(find lake -name '.*.tmp' -o -type d -empty)"
}

# shellcheck source=tests/orch.sh
. "$here/orch.sh"
# shellcheck source=tests/web.sh
. "$here/web.sh"
# shellcheck source=tests/net.sh
. "$here/net.sh"
# shellcheck source=tests/attack.sh
. "$here/attack.sh"
# shellcheck source=tests/safety.sh
. "$here/safety.sh"
# shellcheck source=tests/dbt_features.sh
. "$here/dbt_features.sh"
# shellcheck source=tests/dbt_unit.sh
. "$here/dbt_unit.sh"
# shellcheck source=tests/rec.sh
. "$here/rec.sh"

# ---- the dbt runner ------------------------------------------------------------
# The fixture project exercises every feature; expected files were checked
# by hand (tests/dbt/expected).
dbt_tests() {
    need_e2e
    local fx="$here/dbt/fixture" exp="$here/dbt/expected" rc
    export FIXTURE_DB="$work/fixture_db.duckdb"
    rm -rf "$fx/target"
    "$bp" dbt build --project-dir "$fx" > build.txt 2>&1
    rc=$?
    check "dbt build: exit 1 when a test fails with severity error" test "$rc" -eq 1
    check "dbt build: pass, warn, fail and skip counted" grep -q "Done. PASS=12 WARN=1 ERROR=1 SKIP=1 TOTAL=15" build.txt
    check "dbt build: the child of a failing test is skipped" grep -q 'SKIP relation fx_marts.after_bad' build.txt
    check "dbt build: severity warn warns" grep -q 'WARN not_null_stg_people_score' build.txt
    local fdb="$FIXTURE_DB"
    for t in fx.people fx.stg_people fx.from_source fx_marts.active_people fx_marts.inc_scores; do
        "$bp" query --csv --warehouse "$fdb" "SELECT * FROM $t ORDER BY 1, 2" > "got_$t.csv"
        if d=$(diff -u "$exp/$t.csv" "got_$t.csv"); then ok "dbt result set $t"; else not_ok "dbt result set $t" "$d"; fi
    done
    if d=$(diff -u "$exp/active_people.sql" "$fx/target/compiled/fixture/models/marts/active_people.sql"); then
        ok "dbt compiled SQL (ephemeral CTE, if/elif/else, set, var, env_var, target, whitespace control)"
    else
        not_ok "dbt compiled SQL" "$d"
    fi
    check "dbt column_types and empty seed fields" test "$("$bp" query --csv --warehouse "$fdb" "SELECT data_type FROM information_schema.columns WHERE table_name = 'people' AND column_name = 'joined'" | tail -1)" = DATE
    check "dbt run_results.json statuses" test "$("$bp" query --csv --warehouse "$fdb" "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM (SELECT unnest(results, recursive := true) FROM read_json('$fx/target/run_results.json')) GROUP BY ALL)" | tail -1)" = "fail=1 pass=6 skipped=1 success=6 warn=1"
    check "dbt manifest.json has nodes and parent_map" test "$("$bp" query --csv --warehouse "$fdb" "SELECT json_array_length(parent_map->'\$.\"model.fixture.active_people\"') FROM read_json('$fx/target/manifest.json', maximum_object_size := 100000000)" | tail -1)" = 1
    check "dbt incremental run (delete+insert on unique_key)" "$bp" dbt run --project-dir "$fx" -s inc_scores --vars '{bump: 10}' --quiet
    "$bp" query --csv --warehouse "$fdb" "SELECT * FROM fx_marts.inc_scores ORDER BY 1" > got_inc2.csv
    if d=$(diff -u "$exp/inc_scores_2.csv" got_inc2.csv); then ok "dbt incremental result"; else not_ok "dbt incremental result" "$d"; fi
    check "dbt --full-refresh rebuilds the incremental" "$bp" dbt run --project-dir "$fx" -s inc_scores --full-refresh --quiet
    check "dbt full refresh result" test "$("$bp" query --csv --warehouse "$fdb" "SELECT sum(score) FROM fx_marts.inc_scores" | tail -1)" = 9
    # selection
    local sel
    for sel in "+active_people" "stg_people+" "tag:staging" "path:models/marts,tag:mart" "stg_people+ --exclude tag:mart" "1+inc_scores" "@eph_active" "resource_type:seed people" "test_type:singular" "source:raw+"; do
        # shellcheck disable=SC2086
        "$bp" dbt ls --project-dir "$fx" -s $sel > got_ls.txt 2>&1
        local key=${sel//[^a-zA-Z0-9]/_}
        if d=$(diff -u "$exp/ls_$key.txt" got_ls.txt); then ok "dbt ls -s $sel"; else not_ok "dbt ls -s $sel" "$d"; fi
    done
    # errors
    "$bp" dbt compile --project-dir "$here/dbt/broken" > /dev/null 2>err.txt
    check "dbt: an unknown tag is a compile error with file:line:column" bash -c "test $? -eq 3 && grep -q \"broken/models/worse.sql:2:4: unknown tag 'frobnicate'\" err.txt"
    "$bp" dbt compile --project-dir "$here/dbt/broken_ref" > /dev/null 2>err.txt
    check "dbt: a missing ref is a compile error with file:line:column" bash -c "test $? -eq 3 && grep -q 'bad.sql:2:9: ref(.nowhere.): no model, seed or snapshot named' err.txt"
    "$bp" dbt build --project-dir "$fx" --target sf > /dev/null 2>err.txt
    check "dbt: a target type bookpipe does not run fails clearly" bash -c "test $? -eq 2 && grep -q \"target type 'snowflake' is not supported by bookpipe (it runs duckdb, postgres and redshift)\" err.txt"
    unset FIXTURE_DB
    "$bp" dbt ls --project-dir "$fx" > /dev/null 2>err.txt
    check "dbt: a missing env var names the profile key" bash -c "test $? -ne 0 && grep -q \"profiles.yml (path).*Env var required but not provided: 'FIXTURE_DB'\" err.txt"
    rm -rf "$fx/target"
    # the bundled project ran inside `bookpipe run`
    check "the bundled project's marts exist after run" test "$(q e2e.duckdb "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('facts_all', 'dim_age_ratings', 'dim_country_count', 'dim_country_book_ratings', 'top_books', 'data_quality')")" = 6
    check "age brackets come in age order" test "$(q e2e.duckdb "SELECT string_agg(age_bracket, '|' ORDER BY bracket_order) FROM dim_age_ratings")" = "Under 18|18-24|25-34|35-44|45-54|55-64|65+|Unknown"
    check_by_definition "q e2e.duckdb" "" "dbt"
    check "data_quality reconciles with load_audit" test "$(q e2e.duckdb "SELECT sum(row_count) FROM data_quality")" = "$(q e2e.duckdb "SELECT sum(rows_read) FROM load_audit WHERE run_id = (SELECT max(run_id) FROM load_audit)")"
}

# The marts built from per-key sums (project/models/intermediate) equal
# their definition over facts_all, row for row: check_by_definition QUERY
# PREFIX LABEL, with QUERY q-like (q FILE SQL, or pgq SQL) and PREFIX the
# schema ("" or "books_schema.").
check_by_definition() {
    local query=$1 p=$2 label=$3 m def avg
    avg="round(cast(avg(case when is_explicit then score end) as numeric), 2)"
    for m in top_authors top_publishers dim_country_count user_activity; do
        case $m in
        top_authors | top_publishers)
            def="SELECT ${m:4:-1}, count(DISTINCT isbn), count(*), count(CASE WHEN is_explicit THEN 1 END), $avg
                 FROM ${p}facts_all WHERE ${m:4:-1} IS NOT NULL GROUP BY ${m:4:-1}" ;;
        dim_country_count)
            def="SELECT country, count(*), count(CASE WHEN is_explicit THEN 1 END) FROM ${p}facts_all GROUP BY country" ;;
        user_activity)
            def="SELECT r.user_id, coalesce(u.country, 'Unknown'), count(*), count(CASE WHEN r.is_explicit THEN 1 END),
                 round(cast(avg(CASE WHEN r.is_explicit THEN r.score END) AS numeric), 2)
                 FROM ${p}stg_ratings r LEFT JOIN ${p}stg_users u ON u.user_id = r.user_id GROUP BY 1, 2" ;;
        esac
        check "$label: $m equals its definition over the ratings" test "$($query "SELECT (SELECT count(*) FROM ${p}$m) > 0 AND
            (SELECT count(*) FROM ((SELECT * FROM ${p}$m EXCEPT $def) UNION ALL ($def EXCEPT SELECT * FROM ${p}$m)) d) = 0")" = true
    done
    check "$label: dim_age_ratings counts every rating of a known reader once" test "$($query "SELECT sum(rating_count) || '/' || sum(explicit_count) FROM ${p}dim_age_ratings")" = "$($query "SELECT count(*) || '/' || count(CASE WHEN is_explicit THEN 1 END) FROM ${p}facts_all")"
}

# tests/run.sh BOOKPIPE [GROUP...]: every group, or the ones named (e2e
# first where a group reads its warehouse: web, dashboard, dbt, bad_input).
groups=(cli golden e2e orch web dashboard schedule_web browser kaggle s3 pg dbt dbt_features
        rec bad_input interrupt attack safety)
[ $# -gt 1 ] && groups=("${@:2}")
# each group's time, as a TAP comment: where the suite's minutes go
for g in "${groups[@]}"; do
    t0=$SECONDS
    "${g}_tests"
    echo "# group $g: $((SECONDS - t0)) s"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
