# safety.sh: no input empties or shrinks a table unasked, and every kind of
# failure leaves the warehouse and the lake whole (sourced by run.sh). The
# group makes its own data and warehouse in safety/.

# sf_run [args...]: a run on the group's warehouse and lake; err.txt has stderr
sf_run() { "$bp" run --quiet --warehouse sf.duckdb --lake lake "$@" > /dev/null 2> err.txt; }
sf_q() { q sf.duckdb "$1"; }

# refused_run NAME EXIT PATTERN [run args]: refused_on the group's warehouse.
refused_run() { refused_on sf.duckdb lake safety "$@"; }

# A folder like data/ with one file replaced by stdin.
with_file() {
    local dir=$1 file=$2
    rm -rf "$dir" && mkdir -p "$dir" && cp sd/Books.csv sd/Users.csv sd/Ratings.csv "$dir"/ && cat > "$dir/$file"
}

safety_guards() {
    local n ratings
    ratings=$(sf_q "SELECT count(*) FROM ratings")
    head -1 sd/Ratings.csv | with_file hdr Ratings.csv
    refused_run "a header-only Ratings.csv is refused (exit 3)" 3 "Ratings.csv: a header and no rows: loading it would empty the ratings table" --data hdr
    for f in Books.csv Users.csv; do head -1 "sd/$f" > "hdr/$f"; done
    refused_run "three header-only files are refused" 3 "a header and no rows" --data hdr
    awk 'NR == 101 { sub(/,/, ",\"") } { print }' sd/Ratings.csv | with_file rq Ratings.csv
    sf_run --data rq
    check "safety: an unterminated quote on line 101 does not swallow the file (exit 0)" test $? -eq 0
    check "safety: the line alone is quarantined as unterminated_quote" test "$(sf_q "SELECT string_agg(line || ':' || reason, ' ') FROM quarantine WHERE run_id = (SELECT max(run_id) FROM load_audit) AND reason = 'unterminated_quote'")" = "101:unterminated_quote"
    check "safety: every other line is read ($(($(wc -l < sd/Ratings.csv) - 1)) rows)" test "$(sf_q "SELECT rows_read FROM load_audit WHERE run_id = (SELECT max(run_id) FROM load_audit) AND table_name = 'ratings'")" = $(($(wc -l < sd/Ratings.csv) - 1))
    n=$(sf_q "SELECT count(*) FROM ratings")
    check "safety: and the ratings table keeps its rows ($n of $ratings)" test "$n" -ge $((ratings - 1))
    head -100 sd/Ratings.csv | with_file few Ratings.csv
    refused_run "a table shrinking to under half is refused" 3 "the ratings table would shrink from [0-9]+ to [0-9]+ rows" --data few
    sf_run --data few --allow-shrink
    check "safety: --allow-shrink accepts it" test "$(sf_q "SELECT count(*) < 100 FROM ratings")" = true
    head -1 sd/Ratings.csv | with_file hdr2 Ratings.csv
    sf_run --data hdr2 --allow-empty
    check "safety: --allow-empty empties the table when asked" test "$(sf_q "SELECT count(*) FROM ratings")" = 0
    sf_run --data sd
    check "safety: and a full file fills it again" test "$(sf_q "SELECT count(*) FROM ratings")" = "$ratings"
    # ambiguous names: the folder's order must not decide
    with_file amb Books.csv < sd/Books.csv && head -1 sd/Books.csv > amb/BOOKS.csv
    refused_run "Books.csv and BOOKS.csv in one folder are refused, naming both" 3 "both (Books.csv and BOOKS.csv|BOOKS.csv and Books.csv) look like the books file" --data amb
    with_file mix Books.csv < sd/Books.csv && cp sd/Users.csv mix/BX-Users.csv
    refused_run "Kaggle and BX files in one folder are refused" 3 "both .*Users.csv and .*Users.csv look like the users file" --data mix
    with_file gzboth Users.csv < sd/Users.csv && gzip -c sd/Users.csv > gzboth/Users.csv.gz
    refused_run "Users.csv next to Users.csv.gz is refused" 3 "look like the users file" --data gzboth
}

# A file that changes after extract checksummed it is not loaded.
safety_torn() {
    rm -rf torn && mkdir torn && cp sd/*.csv torn/
    cat > torn.yml <<EOF
name: torn
blocks:
  - {name: extract, type: extract}
  - {name: change_it, type: shell, upstream: [extract], command: "printf '99999,0451526341,1' >> $PWD/torn/Ratings.csv"}
  - {name: clean, type: clean, upstream: [change_it]}
  - {name: load, type: load, upstream: [clean]}
EOF
    refused_run "a file changed between extract and clean is refused" 3 "torn/Ratings.csv changed after the extract block checksummed it" --data torn --pipeline torn.yml --no-lake
}

# `ingest` writes the warehouse: the pipeline's "up to date" must not hold after.
safety_fingerprints() {
    local a b log
    sf_run --data sd
    a=$(sf_q "SELECT count(*) FROM ratings")
    "$bp" ingest --quiet --data few --warehouse sf.duckdb --no-lake --allow-shrink > /dev/null 2>&1
    b=$(sf_q "SELECT count(*) FROM ratings")
    log=$("$bp" run --plain --data sd --warehouse sf.duckdb --lake lake 2>&1)
    check "safety: after ingest of other data, run on the first data loads again" bash -c "test '$b' != '$a' && test \"\$('$bp' query --csv --warehouse sf.duckdb 'SELECT count(*) FROM ratings' | tail -1)\" = '$a'"
    check "safety: (its blocks were not skipped as up to date)" bash -c "printf '%s' \"\$1\" | grep -q 'load_warehouse *completed'" _ "$log"
}

safety_lake() {
    local i dirs
    for i in 1 2 3 4 5 6; do sf_run --data sd --full-refresh --lake-keep 3; done
    dirs=$(cd lake && ls -d run=* | wc -l)
    check "safety: --lake-keep 3 keeps three runs ($dirs)" test "$dirs" = 3
    check "safety: one latest pointer for the whole lake, at the newest run" test "$(readlink lake/latest)" = "run=$(sf_q "SELECT max(run_id) FROM load_audit")"
    check "safety: no table has a pointer of its own" test -z "$(find lake -mindepth 2 -name latest)"
    "$bp" lake gc --lake lake --keep 1 > gc.txt 2>&1
    check "safety: bookpipe lake gc --keep 1 leaves the published run" bash -c "test \"\$(cd lake && ls -d run=*)\" = \"\$(readlink lake/latest)\" && grep -q 'removed 2 run' gc.txt"
    # a publish that fails half way (a rename refused at each point): latest stays whole
    local pub n rc
    for n in 1 2 3 4; do
        pub=$(published lake)
        BOOKPIPE_FAIL=rename:$n LD_PRELOAD=$shim ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
            sf_run --data sd --full-refresh
        rc=$?
        if [ "$rc" -eq 5 ] && [ "$pub" = "$(published lake)" ] && lake_whole; then
            ok "safety: a rename failing at call $n of the publish: exit 5, latest still the last whole run"
        else
            not_ok "safety: a rename failing at call $n of the publish: exit $rc" "$(cat err.txt)"
        fi
    done
    sf_run --data sd --full-refresh
    check "safety: and the next run publishes" test "$(readlink lake/latest)" = "run=$(sf_q "SELECT max(run_id) FROM load_audit")"
}

# Faults where a kill cannot reach: a write, a sync, a rename failing at
# the Nth call. The warehouse and the lake stay whole; the next run works.
safety_faults() {
    local f n rc bad=""
    for f in write:40 write:400 write:4000 pwrite:20 pwrite:200 fsync:1 fsync:3 rename:2 symlink:1 write:100:ENOSPC; do
        BOOKPIPE_FAIL=$f LD_PRELOAD=$shim ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
            "$bp" run --quiet --full-refresh --data sd --warehouse sf.duckdb --lake lake > /dev/null 2> fault.txt
        rc=$?
        if ! reconciles sf.duckdb || ! lake_whole; then
            bad="$bad $f(exit $rc: $(head -c 200 fault.txt))"
        fi
    done
    check "safety: failing write/pwrite/fsync/rename/symlink calls leave the warehouse reconciled and the lake whole" test -z "$bad"
    [ -n "$bad" ] && echo "    $bad"
    check "safety: and the next run succeeds" sf_run --data sd --full-refresh
}

# latest points at a run folder holding all three tables.
lake_whole() {
    local r
    r=$(readlink lake/latest) || return 1
    [ -f "lake/$r/books.parquet" ] && [ -f "lake/$r/users.parquet" ] && [ -f "lake/$r/ratings.parquet" ]
}

# SIGKILL at random points of several runs; after each: a warehouse that
# opens and reconciles, a whole lake, no run left `running` by the next run.
safety_kill_loop() {
    local i pid bad="" delay
    for i in 1 2 3 4 5 6 7 8; do
        "$bp" run --quiet --full-refresh --data sd --warehouse sf.duckdb --lake lake > /dev/null 2>&1 &
        pid=$!
        delay=$(awk -v s="$i" 'BEGIN { srand(s * 7919); printf "%.2f", rand() * 0.8 }')
        sleep "$delay"
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        reconciles sf.duckdb && lake_whole || bad="$bad kill-after-${delay}s"
    done
    check "safety: 8 runs killed at random points: warehouse reconciled, lake whole each time" test -z "$bad"
    [ -n "$bad" ] && echo "    $bad"
    check "safety: the run after the kills succeeds" sf_run --data sd --full-refresh
    check "safety: no killed run is left marked running" test "$(sf_q "SELECT count(*) FROM bookpipe_meta.runs WHERE status = 'running'")" = 0
    check "safety: killed runs are marked killed" test "$(sf_q "SELECT count(*) > 0 FROM bookpipe_meta.runs WHERE status = 'killed'")" = true
}

# A run holding the warehouse (blocked on a pipe): readers are told who.
safety_locked() {
    rm -rf lk && mkdir lk && cp sd/Books.csv sd/Users.csv lk/ && mkfifo lk/Ratings.csv
    "$bp" run --quiet --data lk --warehouse sf.duckdb --lake lake > /dev/null 2>&1 &
    local pid=$!
    wait_for_content sf.duckdb.lock
    "$bp" query --warehouse sf.duckdb "SELECT 1" > /dev/null 2> err.txt
    check "safety: bookpipe query during a run names the run that holds the warehouse" bash -c "test $? -eq 4 && grep -q 'a run holds the warehouse sf.duckdb.*pid $pid' err.txt"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# `bookpipe serve` answering steady traffic must let a run take the file.
safety_serve_yields() {
    if ! serve_start serve.log --warehouse sf.duckdb --no-schedule; then
        not_ok "safety: serve starts" "$(cat serve.log)"
        return
    fi
    rm -f polled
    ( for _ in $(seq 1 200); do post_sql '{"sql": "SELECT count(*) FROM ratings"}' > /dev/null; touch polled; sleep 0.3; done ) &
    local poller=$!
    wait_for polled # serve is answering
    sf_run --data sd --full-refresh
    check "safety: a run gets the warehouse while serve answers a query every 0.3 s" test $? -eq 0
    kill "$poller" 2>/dev/null
    wait "$poller" 2>/dev/null
    local out
    out=$(post_sql '{"sql": "SELECT count(*) FROM ratings"}')
    check "safety: and serve answers again after it" bash -c "printf '%s' '$out' | tail -1 | grep -qx 200"
    serve_stop
}

# Running out of room: a file size limit (SIGXFSZ) is a message, not a death.
safety_limits() {
    rm -rf fz && mkdir fz
    (ulimit -f 1000; "$bp" run --quiet --data sd --warehouse fz/w.duckdb --lake fz/lake > /dev/null 2> err.txt)
    local rc=$?
    check "safety: a file over ulimit -f fails with a message, not SIGXFSZ (exit $rc)" bash -c "test $rc -ne 0 && test $rc -lt 128 && grep -qi 'file too large' err.txt"
    # a full disk: the error is the disk's, also after the block's retry
    rm -rf fz && mkdir fz
    BOOKPIPE_FAIL=write:20:ENOSPC LD_PRELOAD=$shim ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        "$bp" run --quiet --data sd --warehouse fz/w.duckdb --lake fz/lake > /dev/null 2> err.txt
    rc=$?
    check "safety: a full disk says 'No space left on device' (exit $rc), not a retry's side effect" bash -c "test $rc -eq 4 && grep -q 'block clean failed: .*No space left on device' err.txt && ! grep -q 'cannot register' err.txt"
}

# Inputs that crashed or leaked before (run under ASan by make sanitize).
safety_parsers() {
    mkdir -p pl
    printf 'name: x\nblocks:\n  - {name: a, type: noop}\n  - name: b\n    type: noop\n    upstream: [a]\n    upstream: [a, a, a, a]\n' > pl/dup.yml
    "$bp" run --pipeline pl/dup.yml --warehouse pl.duckdb --no-lake > /dev/null 2> err.txt
    check "safety: a repeated key in a block is refused with file:line" bash -c "test $? -eq 3 && grep -q 'dup.yml:7: key .upstream. given twice' err.txt"
    printf 'name: x\nblocks: [\n' > pl/bad.yml
    "$bp" run --pipeline pl/bad.yml --warehouse pl.duckdb --no-lake > /dev/null 2> err.txt
    check "safety: a YAML syntax error is refused with file:line" bash -c "test $? -eq 3 && grep -q 'bad.yml:' err.txt"
    mkdir -p deep/models && printf 'name: deep\n' > deep/dbt_project.yml
    awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{%% if true %%}"; printf "x"; for (i = 0; i < 20000; i++) printf "{%% endif %%}"; print "" }' > deep/models/ifs.sql
    "$bp" dbt compile --project-dir deep --warehouse deep.duckdb > /dev/null 2> err.txt
    check "safety: 20,000 nested ifs are a depth error, not a crash" bash -c "test $? -eq 3 && grep -q 'nested deeper than 200 levels' err.txt"
    rm deep/models/ifs.sql
    awk 'BEGIN { printf "select {{ "; for (i = 0; i < 50000; i++) printf "("; printf "1"; for (i = 0; i < 50000; i++) printf ")"; print " }}" }' > deep/models/parens.sql
    "$bp" dbt compile --project-dir deep --warehouse deep.duckdb > /dev/null 2> err.txt
    check "safety: 50,000 parentheses are a depth error, not a crash" bash -c "test $? -eq 3 && grep -q 'nested deeper than 200 levels' err.txt"
    # many models and tests: the node array grows under the test loader
    local big=bigproj i
    rm -rf $big && mkdir -p $big/models && printf 'name: big\n' > $big/dbt_project.yml
    {
        echo "version: 2"; echo "models:"
        for i in $(seq 1 120); do
            echo "select $i as id" > $big/models/m$i.sql
            printf '  - name: m%d\n    columns:\n      - name: id\n        tests: [not_null, unique]\n' "$i"
        done
    } > $big/models/schema.yml
    "$bp" dbt ls --project-dir $big --warehouse big.duckdb > ls.txt 2> err.txt
    check "safety: a project of 120 models and 240 tests loads ($(wc -l < ls.txt) nodes)" test "$(wc -l < ls.txt)" = 360
    for i in $(seq 1 600); do printf 'version: 2\n' > $big/models/p$i.yml; done
    "$bp" dbt ls --project-dir $big --warehouse big.duckdb > ls.txt 2> err.txt
    check "safety: 600 properties files are read, not refused" test "$(wc -l < ls.txt)" = 360
}

safety_tests() {
    need_e2e
    mkdir -p safety && cd safety || return
    shim=$bp_shim
    "$bp" gen --out sd --scale 0.01 --seed 11 > /dev/null
    if ! sf_run --data sd; then
        not_ok "safety: the first run" "$(cat err.txt)"
        cd .. && return
    fi
    safety_guards
    safety_torn
    safety_fingerprints
    safety_lake
    safety_faults
    safety_kill_loop
    safety_locked
    safety_serve_yields
    safety_limits
    safety_parsers
    cd ..
}
