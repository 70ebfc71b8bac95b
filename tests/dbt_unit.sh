# dbt_unit.sh: dbt's unit tests (tests/dbt/unit): rows given as dict, csv
# and sql, inline and from tests/fixtures, a seed given without rows,
# `this`, overrides of macros, vars and env vars, an ephemeral parent;
# ones that fail (a wrong expectation, an input left out) and what a
# failure does to the model in build; the errors dbt raises when parsing.

# dbt_unit_tests TARGET (duckdb or postgres; PostgreSQL already started)
dbt_unit_tests() {
    local t=$1 fx="$here/dbt/unit" rc
    local tgt=(--project-dir "$fx" --target "$t")
    export UNIT_DB="$work/unitfx.duckdb"
    rm -rf "$fx/target" "$UNIT_DB"
    "$bp" dbt build "${tgt[@]}" --exclude tag:fail_demo > unit_build.txt 2>&1
    rc=$?
    check "dbt unit tests ($t): build with 8 unit tests passes" bash -c "test $rc -eq 0 && grep -q 'Done. PASS=16 WARN=0 ERROR=0 SKIP=0 TOTAL=16' unit_build.txt || { cat unit_build.txt; false; }"
    check "dbt unit tests ($t): counted as unit tests" grep -q "Finished running 4 seeds, 2 table models, 1 view model, 1 incremental model, 8 unit tests" unit_build.txt
    local name
    for name in dim_customers::test_is_valid_email_address dim_customers::test_valid_with_fixture_files \
        dim_customers::test_seed_given_without_rows customer_totals::test_totals_with_overrides \
        customer_totals::test_no_matching_orders orders_inc::test_inc_full_refresh \
        orders_inc::test_inc_incremental dim_customers::test_empty_inputs; do
        check "dbt unit tests ($t): PASS $name" grep -q "PASS $name " unit_build.txt
    done
    check "dbt ($t): a seed whose name with __dbt_tmp passes 63 bytes loads (the work name is cut first)" \
        grep -q "OK loaded seed file ut.long_named_seed_to_check_that_postgres_keeps_63_bytes_of_a_name" unit_build.txt
    # in build a model waits for its unit tests
    check "dbt unit tests ($t): the model is built after its unit tests" bash -c \
        "test \$(grep -n 'OK created sql incremental model ut.orders_inc' unit_build.txt | cut -d: -f1) -gt \$(grep -n 'PASS orders_inc::test_inc_incremental' unit_build.txt | cut -d: -f1)"
    # failures: a wrong expectation shows the rows that differ; an input
    # left out names the ref
    "$bp" dbt test "${tgt[@]}" -s tag:fail_demo > unit_fail.txt 2>&1
    rc=$?
    check "dbt unit tests ($t): a failing unit test makes dbt test exit 1" test "$rc" -eq 1
    check "dbt unit tests ($t): FAIL 1 with the model's name" grep -q "FAIL dim_customers::test_fails_on_purpose .* \[FAIL 1 in" unit_fail.txt
    check "dbt unit tests ($t): the diff shows the expected and the actual row" bash -c \
        "grep -q '^@@,customer_id,is_valid_email_address' unit_fail.txt && grep -q '^---,1,false' unit_fail.txt && grep -q '^+++,1,true' unit_fail.txt"
    check "dbt unit tests ($t): an input left out is an error naming it" grep -q "dim_customers.sql:5:22: 'tlds' is not among the unit test's given inputs" unit_fail.txt
    [ "$t" = duckdb ] && check "dbt unit tests: run_results.json: fail, 1 failure" test "$("$bp" query --csv --warehouse "$UNIT_DB" \
        "SELECT x.status || ':' || x.failures FROM (SELECT unnest(results) AS x FROM read_json_auto('$fx/target/run_results.json')) WHERE x.unique_id = 'unit_test.unitfx.dim_customers.test_fails_on_purpose'" | tail -1)" = "fail:1"
    "$bp" dbt build "${tgt[@]}" -s dim_customers > unit_skip.txt 2>&1
    check "dbt unit tests ($t): in build a failed unit test skips its model" bash -c \
        "grep -q 'SKIP relation ut.dim_customers' unit_skip.txt && grep -q 'PASS=4 WARN=0 ERROR=2 SKIP=1' unit_skip.txt"
    # selection
    "$bp" dbt ls "${tgt[@]}" -s test_type:unit > unit_ls.txt 2>&1
    check "dbt unit tests ($t): test_type:unit selects the 10 (not the disabled one)" test "$(grep -c '' unit_ls.txt)" = 10
    "$bp" dbt ls "${tgt[@]}" -s "dim_customers,test_type:unit" > unit_ls.txt 2>&1
    check "dbt unit tests ($t): 'dim_customers,test_type:unit' is that model's unit tests" bash -c \
        "test \$(grep -c '' unit_ls.txt) = 6 && test \$(grep -c '^unitfx.marts.dim_customers.test_' unit_ls.txt) = 6"
    "$bp" dbt ls "${tgt[@]}" -s tag:unit > unit_ls.txt 2>&1
    check "dbt unit tests ($t): dbt_project.yml's unit_tests: configs apply (+tags)" test "$(grep -c '' unit_ls.txt)" = 10
    "$bp" dbt ls "${tgt[@]}" -s customer_totals > unit_ls.txt 2>&1
    check "dbt unit tests ($t): selecting a model selects its unit tests (and no other)" bash -c \
        "test \$(grep -c '' unit_ls.txt) = 3 && grep -q 'unitfx.marts.customer_totals.test_no_matching_orders' unit_ls.txt"
    "$bp" dbt compile "${tgt[@]}" -s dim_customers --empty -q > /dev/null 2>&1
    if [ "$t" = postgres ]; then # PostgreSQL 15 wants a subquery named, DuckDB does not
        check "dbt --empty ($t): a ref reads as a named subquery of no rows" grep -q "(select \* from ut.stg_customers where false limit 0) _dbt_limit_subq_stg_customers" "$fx/target/compiled/unitfx/models/marts/dim_customers.sql"
    else
        check "dbt --empty ($t): a ref reads as a subquery of no rows" grep -q "(select \* from ut.stg_customers where false limit 0)$" "$fx/target/compiled/unitfx/models/marts/dim_customers.sql"
    fi
    "$bp" dbt run "${tgt[@]}" -s dim_customers > unit_run.txt 2>&1
    check "dbt unit tests ($t): dbt run runs no unit test" bash -c "grep -q 'TOTAL=1$' unit_run.txt && ! grep -q unit_test unit_run.txt"
    if [ "$t" = duckdb ]; then
        # dbt's advice: build the parents with --empty, then run the unit tests
        rm -f "$UNIT_DB"
        "$bp" dbt seed "${tgt[@]}" -q > /dev/null 2>&1
        "$bp" dbt run "${tgt[@]}" --empty > unit_empty.txt 2>&1
        check "dbt --empty: every model builds (refs and sources as zero rows)" grep -q "PASS=4 WARN=0 ERROR=0 SKIP=0 TOTAL=4" unit_empty.txt
        check "dbt --empty: the models are there and empty, the seeds are not" test "$("$bp" query --csv --warehouse "$UNIT_DB" \
            "SELECT (SELECT count(*) FROM ut.dim_customers) || '-' || (SELECT count(*) FROM ut.customer_totals) || '-' || (SELECT count(*) FROM ut.raw_customers)" | tail -1)" = "0-0-3"
        "$bp" dbt test "${tgt[@]}" -s test_type:unit --exclude tag:fail_demo > unit_after_empty.txt 2>&1
        check "dbt --empty: then the unit tests run on the empty parents" grep -q "PASS=8 WARN=0 ERROR=0 SKIP=0 TOTAL=8" unit_after_empty.txt
        "$bp" dbt docs generate "${tgt[@]}" -q > /dev/null 2>&1
        check "dbt unit tests: manifest.json lists them under unit_tests" bash -c \
            "grep -q '\"unit_tests\": {\"unit_test.unitfx.dim_customers.test_is_valid_email_address\"' '$fx/target/manifest.json'"
        dbt_unit_parse_errors
    fi
    rm -rf "$fx/target"
}

# The errors dbt raises when it reads the unit tests: the whole project
# is refused, naming the file.
dbt_unit_parse_errors() {
    local p=$work/unit_errors
    mkdir -p "$p/models"
    printf 'name: ue\nprofile: ue\n' > "$p/dbt_project.yml"
    printf 'ue:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: %s/ue.duckdb\n' "$work" > "$p/profiles.yml"
    printf 'select 1 as id\n' > "$p/models/m.sql"
    printf '{{ config(materialized="incremental") }}\nselect 1 as id\n{%% if is_incremental() %%}where id > (select max(id) from {{ this }}){%% endif %%}\n' > "$p/models/inc.sql"
    printf 'unit_tests:\n  - name: t1\n    model: no_such_model\n    given: []\n    expect: {rows: []}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: a unit test of a model that is not there refuses the project" bash -c \
        "test $? -eq 3 && grep -q \"Unable to find model 'ue.no_such_model' for unit test 't1'\" ue.txt"
    printf 'unit_tests:\n  - name: t2\n    model: inc\n    given: []\n    expect: {rows: []}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: an incremental model's test must override is_incremental" \
        grep -q "Boolean override for 'is_incremental' must be provided for unit test 't2' in model 'inc'" ue.txt
    printf 'unit_tests:\n  - name: t3\n    model: inc\n    overrides: {macros: {is_incremental: true}}\n    given: []\n    expect: {rows: []}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: is_incremental true needs a 'this' input" \
        grep -q "Unit test 't3' for incremental model 'inc' must have a 'this' input" ue.txt
    printf 'select 1 as id\n' > "$p/models/vm_v1.sql"
    printf 'models:\n  - name: vm\n    latest_version: 1\n    versions: [{v: 1}]\nunit_tests:\n  - name: t6\n    model: vm\n    versions: {include: [9]}\n    given: []\n    expect: {rows: []}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: versions that the model does not have are refused" grep -q "Unit test 't6' referenced a version of 'vm' which was not found" ue.txt
    printf 'unit_tests:\n  - name: t4\n    model: m\n    given: []\n    expect: {format: csv, fixture: nowhere}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: a fixture that is not there is named" grep -q "File not found for fixture 'nowhere'" ue.txt
    printf 'unit_tests:\n  - name: t5\n    model: m\n    given: []\n    expect: {format: csv, rows: [{id: 1}]}\n' > "$p/models/u.yml"
    "$bp" dbt ls --project-dir "$p" > ue.txt 2>&1
    check "dbt unit tests: csv rows that are not a string are refused" grep -q "Unit test t5 has expected rows or fixtures which do not match format csv" ue.txt
    rm -rf "$p"
}
