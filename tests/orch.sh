# orch.sh: tests of the orchestrator (sourced by run.sh; uses its helpers).
# Pipelines of shell blocks make timing, failures and retries observable.

# mq WAREHOUSE SQL: one value from the run history
mq() { q "$1" "$2"; }
last_run() { mq "$1" "SELECT status FROM bookpipe_meta.runs ORDER BY run_id DESC LIMIT 1"; }
block_status() { mq "$1" "SELECT status || '/' || attempt FROM bookpipe_meta.block_runs WHERE run_id = (SELECT max(run_id) FROM bookpipe_meta.runs) AND block = '$2'"; }

orch_tests() {
    need_e2e
    local o="$here/orch" rc before
    mkdir -p orch && cd orch || return
    # DAG order and parallelism
    check "orch: a DAG of shell blocks runs" "$bp" run --pipeline "$o/dag.yml" --warehouse o.duckdb --jobs 2 --plain
    check "orch: two independent blocks overlap in time" awk -v as="$(cat a.start)" -v ae="$(cat a.end)" -v bs="$(cat b.start)" -v be="$(cat b.end)" 'BEGIN { exit !(as < be && bs < ae) }'
    check "orch: the joining block starts after both" awk -v c="$(cat c.start)" -v ae="$(cat a.end)" -v be="$(cat b.end)" 'BEGIN { exit !(c >= ae && c >= be) }'
    check "orch: run recorded as completed with trigger cli" test "$(mq o.duckdb "SELECT status || ':' || \"trigger\" FROM bookpipe_meta.runs")" = "completed:cli"
    check "orch: four block runs recorded" test "$(mq o.duckdb "SELECT count(*) FROM bookpipe_meta.block_runs WHERE status = 'completed'")" = 4
    check "orch: logs prints a block's output" bash -c "'$bp' logs 1 c --warehouse o.duckdb | grep -q 'c ran with run 1'"
    check "orch: runs lists the run" bash -c "'$bp' runs --warehouse o.duckdb | grep -q 'completed'"
    check "orch: runs show lists the blocks" bash -c "'$bp' runs show 1 --warehouse o.duckdb | grep -c completed | grep -qx 4"
    # one at a time: --jobs 1 serializes the independent blocks
    check "orch: --jobs 1" "$bp" run --pipeline "$o/dag.yml" --warehouse o1.duckdb --jobs 1 --quiet
    check "orch: with --jobs 1 they do not overlap" awk -v as="$(cat a.start)" -v ae="$(cat a.end)" -v bs="$(cat b.start)" -v be="$(cat b.end)" 'BEGIN { exit !(as >= be || bs >= ae) }'
    # skip what has not changed
    "$bp" run --pipeline "$o/dag.yml" --warehouse o.duckdb --plain > out.txt
    check "orch: an unchanged second run skips every block" bash -c "test \$(grep -c 'skipped: up to date' out.txt) = 4 && test \$(cat c.start) = '$(cat c.start)'"
    check "orch: its blocks are recorded as skipped" test "$(block_status o.duckdb c)" = "skipped/0"
    sed 's/c ran with/c now ran with/' "$o/dag.yml" > dag2.yml
    "$bp" run --pipeline dag2.yml --warehouse o.duckdb --plain > out.txt
    check "orch: a changed block (and what is downstream) runs again, the rest is skipped" bash -c "grep -q '^.*  c  *completed' out.txt && grep -q '^.*  d  *completed' out.txt && grep -q '^.*  a  *skipped' out.txt"
    check "orch: --full-refresh runs everything" bash -c "'$bp' run --pipeline dag2.yml --warehouse o.duckdb --full-refresh --plain | grep -q 'run 4 completed.*4 completed, 0 skipped'"
    # partial runs
    "$bp" run --pipeline dag2.yml --warehouse o.duckdb --only b --plain > out.txt
    check "orch: --only runs that block alone, even if up to date" bash -c "grep -q 'run 5 completed.*1 completed' out.txt && test '$(q o.duckdb 'SELECT count(*) FROM bookpipe_meta.block_runs WHERE run_id = 5')' = 1"
    "$bp" run --pipeline dag2.yml --warehouse o.duckdb --from c --plain > out.txt
    check "orch: --from runs it and what is downstream" test "$(q o.duckdb "SELECT string_agg(block || ':' || status, '|' ORDER BY block) FROM bookpipe_meta.block_runs WHERE run_id = 6")" = "c:completed|d:skipped"
    "$bp" run --pipeline dag2.yml --warehouse o.duckdb --select +c --plain > out.txt
    check "orch: --select +c adds its upstream" test "$(q o.duckdb "SELECT string_agg(block, '|' ORDER BY block) FROM bookpipe_meta.block_runs WHERE run_id = 7")" = "a|b|c"
    "$bp" run --pipeline dag2.yml --warehouse o.duckdb --only nosuch > /dev/null 2>err.txt
    check "orch: an unknown block name is a usage error naming the blocks" bash -c "test $? -eq 2 && grep -q 'blocks: a, b, c, d' err.txt"
    # retries
    "$bp" run --pipeline "$o/retry.yml" --warehouse r.duckdb --plain > out.txt 2> err.txt
    rc=$?
    check "orch: a failing block fails the run (exit 1)" test "$rc" = 1 -a "$(last_run r.duckdb)" = failed
    check "orch: retry then success (2 attempts)" test "$(block_status r.duckdb flaky)" = "completed/2"
    check "orch: retries exhausted: failed after 3 attempts" bash -c "test '$(block_status r.duckdb broken)' = failed/3 && test \$(wc -l < broken.log) = 3"
    check "orch: its descendants are upstream_failed and did not run" bash -c "test '$(block_status r.duckdb after_broken)' = upstream_failed/0 && test '$(block_status r.duckdb after_that)' = upstream_failed/0 && test ! -e after_broken.ran"
    check "orch: an independent branch finishes" bash -c "test '$(block_status r.duckdb independent)' = completed/1 && test -e independent.ran"
    check "orch: the failure is one line naming the block, the cause and the log" grep -q "block broken failed: command exited with status 3 (log: bookpipe logs 1 broken)" err.txt
    check "orch: the error is in the history" test "$(mq r.duckdb "SELECT error FROM bookpipe_meta.block_runs WHERE block = 'broken'")" = "command exited with status 3"
    check "orch: the log holds every attempt" bash -c "'$bp' logs 1 broken --warehouse r.duckdb | grep -c 'no luck' | grep -qx 3"
    # when
    check "orch: when conditions (default vars)" "$bp" run --pipeline "$o/when.yml" --warehouse w.duckdb --quiet
    check "orch: a false condition gives condition_failed, downstream too" bash -c "test '$(block_status w.duckdb only_spicy)' = condition_failed/0 && test '$(block_status w.duckdb after_spicy)' = condition_failed/0 && test ! -e spicy.ran"
    check "orch: a true condition runs" test "$(block_status w.duckdb not_redshift)" = completed/1
    check "orch: --var makes it true" "$bp" run --pipeline "$o/when.yml" --warehouse w.duckdb --quiet --var flavor=spicy
    check "orch: and the block ran, with its downstream" bash -c "test -e spicy.ran && test -e after_spicy.ran"
    "$bp" run --pipeline "$o/when.yml" --warehouse w2.duckdb --only not_redshift --var flavor=none --quiet
    check "orch: a condition with and/not/in is false for --var flavor=none" test "$(q w2.duckdb "SELECT status FROM bookpipe_meta.block_runs")" = condition_failed
    # timeout
    "$bp" run --pipeline "$o/slow.yml" --warehouse s.duckdb --only hang --quiet 2> err.txt
    check "orch: a block over its timeout is stopped and failed" bash -c "test $? -ne 0 && grep -q 'timed out after' err.txt && test '$(block_status s.duckdb hang)' = failed/1"
    # one run at a time
    rm -f wait.started
    "$bp" run --pipeline "$o/slow.yml" --warehouse lock.duckdb --only wait --quiet &
    local holder=$!
    wait_for wait.started
    "$bp" run --pipeline "$o/slow.yml" --warehouse lock.duckdb --only wait --quiet 2> err.txt
    rc=$?
    check "orch: a second concurrent run is refused with the holder named" bash -c "test $rc -eq 4 && grep -q 'another run is using warehouse lock.duckdb: pid $holder on host' err.txt"
    wait "$holder"
    check "orch: the first run completed" test "$(last_run lock.duckdb)" = completed
    rm -f wait.started
    "$bp" run --pipeline "$o/slow.yml" --warehouse lock.duckdb --only wait --quiet &
    holder=$!
    wait_for wait.started
    kill -KILL "$holder"
    wait "$holder" 2>/dev/null
    "$bp" run --pipeline "$o/dag.yml" --warehouse lock.duckdb --only d --plain > out.txt 2> err.txt
    check "orch: a stale lock from a killed process is taken over" bash -c "test $? -eq 0 && grep -q 'took over a stale run lock left by pid $holder' err.txt"
    # Ctrl-C: cancelled
    rm -f wait.started
    "$bp" run --pipeline "$o/slow.yml" --warehouse c.duckdb --only wait --quiet &
    holder=$!
    wait_for wait.started
    kill -INT "$holder"
    wait "$holder"
    rc=$?
    check "orch: Ctrl-C cancels: exit 130, run and block recorded as cancelled" bash -c "test $rc -eq 130 && test '$(last_run c.duckdb)' = cancelled && test '$(block_status c.duckdb wait)' = cancelled/1"
    # bad pipeline files: refused before anything runs, with file:line
    local f want
    for f in unknown_type:4:unknown.type.*transmogrify cycle:3:cycle missing_upstream:5:"upstream block .nothere. does not exist" \
             bad_cron:2:"minute field: out of range" unknown_key:5:"unknown key .retires." bad_when:3:nosuchvar duplicate:5:"two blocks are named .a."; do
        want=${f#*:}
        "$bp" run --pipeline "$o/bad/${f%%:*}.yml" --warehouse bad.duckdb --quiet > /dev/null 2> err.txt
        rc=$?
        check "orch: bad pipeline file: ${f%%:*} (exit 3, file:line)" bash -c "test $rc -eq 3 && grep -qE '${f%%:*}.yml:${want%%:*}.*${want#*:}' err.txt && test ! -e bad.duckdb"
    done
    # schedules
    check "orch: schedule --next 5" bash -c "TZ=UTC '$bp' schedule --pipeline '$o/quarter.yml' --next 5 > next.txt && test \$(wc -l < next.txt) = 5 && ! grep -qvE ':(00|15|30|45) UTC' next.txt && test \$(sort -u next.txt | wc -l) = 5 && sort -c next.txt"
    "$bp" schedule --pipeline "$o/dag.yml" --next 1 > /dev/null 2> err.txt
    check "orch: schedule without a schedule says how to add one" bash -c "test $? -ne 0 && grep -q 'has no schedule' err.txt"
    # the scheduler's clock starts 2 s before a minute: the run is due then,
    # not at the next real minute (cron_now, BOOKPIPE_CLOCK)
    check "orch: schedule starts a run" env BOOKPIPE_CLOCK="$(clock_near_minute)" timeout 30 "$bp" schedule --pipeline "$o/sched.yml" --warehouse sch.duckdb --max-runs 1 --quiet
    check "orch: recorded with trigger schedule" test "$(q sch.duckdb "SELECT \"trigger\" || ':' || status FROM bookpipe_meta.runs")" = schedule:completed
    # machine-readable events
    "$bp" run --pipeline "$o/dag.yml" --warehouse j.duckdb --json > events.txt
    check "orch: --json prints one event per line" bash -c "grep -q '^{\"event\":\"run_started\"' events.txt && grep -q '\"block\":\"c\".*\"status\":\"completed\"' events.txt && tail -1 events.txt | grep -q '\"event\":\"run_ended\".*\"status\":\"completed\"'"
    # doctor
    check "orch: doctor passes on a good setup" "$bp" doctor --data ../data --warehouse d.duckdb --lake dlake
    mkdir -p adir
    "$bp" doctor --data /nonexistent --warehouse adir > out.txt
    check "orch: doctor reports problems with fixes" bash -c "test $? -eq 1 && grep -q 'FAIL  input data' out.txt && grep -q 'FAIL  warehouse' out.txt && grep -q 'fix:' out.txt"
    # the memory cap the models run under: --memory-limit, else a quarter of the machine
    local mem=(run --pipeline "$o/memory.yml" --project-dir "$o/memproj" --warehouse mem.duckdb --quiet --full-refresh)
    check "orch: the models run under --memory-limit" bash -c "'$bp' ${mem[*]} --memory-limit 300MB && test \"\$('$bp' query --csv --warehouse mem.duckdb 'SELECT cap FROM cap' | tail -1)\" = '286.1 MiB'"
    "$bp" "${mem[@]}"
    check "orch: by default under a quarter of the machine's memory" awk -v cap="$(q mem.duckdb "SELECT cap FROM cap")" '
        /^MemTotal:/ { want = $2 / 1024 / 4 } # DuckDB prints 1 decimal: 5% at 1 GiB
        END { split(cap, p, " "); got = p[1] * (p[2] == "GiB" ? 1024 : 1); exit !(got > want * 0.94 && got < want * 1.06) }' /proc/meminfo
    "$bp" "${mem[@]}" --memory-limit 12XB 2> err.txt
    check "orch: a bad --memory-limit is refused with the form it wants" bash -c "test $? -eq 2 && grep -q 'give a size such as 512MB' err.txt"
    # two models that do not fit side by side under the cap: the one that ran out of memory runs again alone
    "$bp" run --pipeline "$o/memory.yml" --project-dir "$o/oomproj" --warehouse oom.duckdb --plain --memory-limit 150MB > oom.txt 2>&1
    check "orch: a model out of memory beside another is built again alone" bash -c "grep -q 'models  *completed' oom.txt && test \"\$('$bp' query --csv --warehouse oom.duckdb 'SELECT (SELECT count(*) FROM big_a) + (SELECT count(*) FROM big_b)' | tail -1)\" = 3000000 || { cut -c1-300 oom.txt; false; }"
    check "orch: its retry is in the log, then its success" bash -c "'$bp' logs 1 models --warehouse oom.duckdb > oomlog.txt; ! grep -q RETRY oomlog.txt || grep -A5 RETRY oomlog.txt | grep -q 'OK created sql table model books_schema.big_'"
    # bookpipe dbt with dbt-duckdb's settings: in the profile
    MEMPROF_DB=$PWD/prof.duckdb "$bp" dbt run --project-dir "$o/memproj" --profiles-dir "$o/memprofile" -q
    check "orch: bookpipe dbt applies the profile's settings (memory_limit)" test "$(q prof.duckdb "SELECT cap FROM cap")" = "286.1 MiB"
    mkdir -p prof2 && sed 's/preserve_insertion_order: false/s3_region: eu-west-1/' "$o/memprofile/profiles.yml" > prof2/profiles.yml
    MEMPROF_DB=$PWD/prof2.duckdb "$bp" dbt run --project-dir "$o/memproj" --profiles-dir prof2 -q 2> prof2/err.txt
    check "orch: a setting DuckDB cannot take is a warning naming it, not a failure" bash -c "test $? -eq 0 && grep -q 'profiles.yml:11: settings: s3_region not applied' prof2/err.txt"
    rm -rf "$o/memproj/target" "$o/oomproj/target"
    cd ..
}
