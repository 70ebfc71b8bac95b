# dbt_features.sh: a dbt project as people write them (tests/dbt/features):
# macros with dispatch, call blocks and run_query, a local package linked
# by `dbt deps` (its macros, tests, model and vars), dbt's cross-database
# macros, generic tests of the project and of the package with severity,
# warn_if/error_if, where and store_failures, a project generate_schema_name,
# alias, hooks and on-run-start/end, seeds typed as dbt types them, short
# rows and "null", snapshots (timestamp with hard deletes, check), model
# versions, an ephemeral model, an incremental model gaining a column,
# graph, modules.re and modules.datetime, exposures, docs blocks, legacy
# data-paths; then run-operation, docs generate, debug, clean and the
# errors a user meets. Results and compiled SQL are compared with files
# checked by hand (tests/dbt/features_expected); the same project runs on
# PostgreSQL with the same results.

# features_table TARGET NAME SQL: the query's CSV against the expected file
features_table() {
    local target=$1 name=$2 sql=$3 exp=$here/dbt/features_expected got d
    got="ft_${target}_$name.csv"
    if [ "$target" = duckdb ]; then
        "$bp" query --csv --warehouse "$FEATURES_DB" "$sql" > "$got" 2>&1
    else
        "$bp" query --csv --target postgres "$sql" > "$got" 2>&1
    fi
    local want=$exp/$name.csv
    [ -f "$exp/${name}_$target.csv" ] && want=$exp/${name}_$target.csv
    if d=$(diff -u "$want" "$got"); then
        ok "dbt features ($target): $name"
    else
        not_ok "dbt features ($target): $name" "$d"
    fi
}

features_results() {
    local t=$1
    features_table "$t" events_clean "SELECT * FROM ft.events_clean ORDER BY id"
    features_table "$t" monthly "SELECT * FROM ft.monthly ORDER BY month_start"
    features_table "$t" events_wide "SELECT * FROM ft.events_wide ORDER BY id"
    features_table "$t" paid_total "SELECT * FROM ft.paid_total"
    features_table "$t" graph_summary "SELECT * FROM ft.graph_summary"
    features_table "$t" regex_dates "SELECT * FROM ft.regex_dates"
    features_table "$t" uses_versions "SELECT * FROM ft.uses_versions ORDER BY version"
    features_table "$t" helper_model "SELECT * FROM ft.helper_model"
    features_table "$t" people_tiers "SELECT * FROM ft.people_tiers ORDER BY tier"
    features_table "$t" seed_people "SELECT * FROM ft_raw_seeds.people ORDER BY person_id"
    features_table "$t" seed_types "SELECT column_name, lower(data_type) AS data_type FROM information_schema.columns WHERE table_schema = 'ft_raw_seeds' AND table_name = 'events' ORDER BY ordinal_position"
    features_table "$t" stored_failures "SELECT * FROM ft_dbt_test__audit.\"accepted_values_stg_events_amount_cents__False__1050__0__725\" ORDER BY 1"
    features_table "$t" audit_runs "SELECT phase, n FROM ft_audit_runs ORDER BY phase"
    # the package's on-run-start hook, with a var its own dbt_project.yml scopes to its name
    features_table "$t" pkg_hook "SELECT word FROM ft_pkg_hook"
}

# What packages reach for beyond the documented context (macros/compat_probe.sql)
features_compat() {
    local t=$1 fx="$here/dbt/features"
    "$bp" dbt run-operation compat_probe --project-dir "$fx" --target "$t" > probe.txt 2>&1
    check "dbt ($t): 'in' an agate column, as operator and as test" bash -c \
        "grep -q '^in column: True False\$' probe.txt && grep -q '^in test: \[1, 2\]\$' probe.txt"
    check "dbt ($t): agate Table.rename" grep -q "^renamed: \['renamed'\]\$" probe.txt
    check "dbt ($t): dbt.run_query" grep -q "^dbt.run_query: 42\$" probe.txt
    check "dbt ($t): builtins.ref.config (the project, its packages)" grep -q "^runtime config: features helpers\$" probe.txt
    check "dbt ($t): a dbt object's to_dict()" grep -q "^to_dict: True\$" probe.txt
    check "dbt ($t): the columns of a temporary table (a relation without a schema)" grep -q "^temp columns: \['a_col'\]\$" probe.txt
    check "dbt ($t): make_temp_relation: the name alone, made unique by the time" grep -Eq "^temp relation: base__dbt_tmp[0-9]{12}\$" probe.txt
    "$bp" dbt ls --project-dir "$fx" --target "$t" -s features.marts > ls_fqn.txt 2>&1
    check "dbt ($t): a bare selector is an fqn prefix (project.folder)" bash -c \
        "grep -q '^features.marts.monthly\$' ls_fqn.txt && ! grep -q 'staging' ls_fqn.txt"
}

features_round2() {
    local t=$1
    features_table "$t" people_snapshot "SELECT person_id, name, tier, updated, dbt_scd_id, dbt_valid_from, dbt_valid_to IS NULL AS is_current FROM ft_snapshots.people_snapshot ORDER BY person_id, dbt_valid_from"
    features_table "$t" tier_snapshot "SELECT person_id, tier, dbt_valid_to IS NULL AS is_current FROM ft_snapshots.tier_snapshot ORDER BY person_id, dbt_valid_from"
    features_table "$t" events_inc "SELECT * FROM ft.events_inc ORDER BY id"
}

dbt_features_tests() {
    need_e2e
    local fx="$here/dbt/features" exp="$here/dbt/features_expected" rc d
    export FEATURES_DB="$work/features.duckdb"
    rm -rf "$fx/target" "$fx/dbt_packages" "$FEATURES_DB"
    "$bp" dbt deps --project-dir "$fx" > deps.txt 2>&1
    check "dbt deps links the local package" test -L "$fx/dbt_packages/helpers"
    "$bp" dbt build --project-dir "$fx" > build.txt 2>err.txt
    rc=$?
    check "dbt features: build exits 0 (a warning is not a failure)" test "$rc" -eq 0
    check "dbt features: every node ran" grep -q "Done. PASS=31 WARN=1 ERROR=0 SKIP=0 TOTAL=32" build.txt
    check "dbt features: data-paths still works, with a deprecation warning" grep -q "'data-paths' is deprecated" err.txt
    check "dbt features: a severity warn test warns (limit 1: one failure counted)" grep -q "WARN accepted_values_stg_events_amount_cents__False__1050__0__725 .* \[WARN 1 in" build.txt
    check "dbt features: warn_if/error_if above the failures pass" grep -q "PASS amounts_known_or_few" build.txt
    check "dbt features: seeds land where generate_schema_name says" grep -q "seed file ft_raw_seeds.events" build.txt
    check "dbt features: a disabled seed (Jinja in dbt_project.yml) is not built" bash -c "! grep -q extra_rows build.txt"
    check "dbt features: a package's properties see the vars its dbt_project.yml scopes to its name" \
        bash -c "test \"\$('$bp' dbt ls --project-dir '$fx' -s tag:scoped_in_package 2>/dev/null)\" = helpers.helper_model"
    features_results duckdb
    for f in monthly regex_dates; do
        if d=$(diff -u "$exp/compiled_$f.sql" "$fx/target/compiled/features/models/marts/$f.sql"); then
            ok "dbt features: compiled $f.sql"
        else
            not_ok "dbt features: compiled $f.sql" "$d"
        fi
    done
    if d=$(diff -u "$exp/compiled_not_null_where.sql" "$fx/target/compiled/features/models/schema.yml/not_null_stg_events_kind_loud.sql"); then
        ok "dbt features: compiled generic test with where"
    else
        not_ok "dbt features: compiled generic test with where" "$d"
    fi
    check "dbt features: snapshot round 2" "$bp" dbt snapshot --project-dir "$fx" --vars '{round: 2}' -q
    check "dbt features: incremental run gaining a column" "$bp" dbt run --project-dir "$fx" -s events_inc --vars '{with_extra_col: true}' -q
    features_round2 duckdb
    features_compat duckdb
    "$bp" dbt run-operation announce --project-dir "$fx" --args '{role: analyst, times: 2}' > op.txt 2>&1
    check "dbt run-operation calls the macro with --args" bash -c "grep -q 'would grant select to analyst (2)' op.txt && grep -q 'the answer is 42' op.txt"
    "$bp" dbt run-operation no_such_macro --project-dir "$fx" > /dev/null 2>err.txt
    check "dbt run-operation of an unknown macro fails clearly" bash -c "test $? -ne 0 && grep -q \"no macro named 'no_such_macro'\" err.txt"
    check "dbt docs generate" "$bp" dbt docs generate --project-dir "$fx" -q
    check "dbt docs generate: catalog.json lists a model's columns" test "$("$bp" query --csv --warehouse "$FEATURES_DB" "SELECT json_extract_string(content, '\$.nodes.\"model.features.stg_events\".columns.kind_loud.name') FROM read_text('$fx/target/catalog.json')" | tail -1)" = kind_loud
    check "dbt docs generate: manifest.json has the docs block and the exposure" bash -c "grep -q 'doc.features.events_doc' '$fx/target/manifest.json' && grep -q 'exposure.features.revenue_dashboard' '$fx/target/manifest.json'"
    "$bp" dbt ls --project-dir "$fx" -s +exposure:revenue_dashboard > ls.txt 2>&1
    check "dbt ls selects an exposure's parents" bash -c "grep -q 'features.marts.monthly' ls.txt && grep -q 'features.revenue_dashboard' ls.txt"
    "$bp" dbt debug --project-dir "$fx" > debug.txt 2>&1
    check "dbt debug checks the connection" grep -q "All checks passed" debug.txt
    check "dbt debug never prints the password" bash -c "! grep -qi 'password' debug.txt"
    "$bp" dbt ls --project-dir "$fx" --profiles-dir "$work/no-such-dir" > /dev/null 2>err.txt
    check "dbt: a --profiles-dir that does not exist is an error" bash -c "test $? -eq 2 && grep -q 'no-such-dir: no such folder' err.txt"
    check "dbt clean removes target/ and the packages" bash -c "'$bp' dbt clean --project-dir '$fx' > /dev/null && test ! -e '$fx/target' && test ! -e '$fx/dbt_packages'"
    dbt_errors_tests
    dbt_hook_failure_tests
    dbt_scale_tests
    dbt_unit_tests duckdb
    # the same project on PostgreSQL
    # shellcheck source=tests/pg_server.sh
    source "$here/pg_server.sh"
    local started=0
    if [ -z "${PG_TMP:-}" ]; then
        if ! pg_start; then
            not_ok "dbt features: could not start PostgreSQL"
            return
        fi
        started=1
    fi
    "$bp" dbt deps --project-dir "$fx" > /dev/null 2>&1
    "$bp" dbt build --project-dir "$fx" --target postgres > build_pg.txt 2>&1
    check "dbt features (postgres): build" grep -q "Done. PASS=31 WARN=1 ERROR=0 SKIP=0 TOTAL=32" build_pg.txt
    features_results postgres
    check "dbt features (postgres): snapshot round 2" "$bp" dbt snapshot --project-dir "$fx" --target postgres --vars '{round: 2}' -q
    check "dbt features (postgres): incremental run gaining a column" "$bp" dbt run --project-dir "$fx" --target postgres -s events_inc --vars '{with_extra_col: true}' -q
    features_round2 postgres
    features_compat postgres
    dbt_unit_tests postgres
    rm -rf "$fx/target" "$fx/dbt_packages"
    [ "$started" = 1 ] && pg_stop
    unset FEATURES_DB
}

# A project with the mistakes people make: the node at fault fails with
# file:line:column, what depends on it is skipped, the rest runs.
dbt_errors_tests() {
    local p=$work/mistakes
    mkdir -p "$p/models" "$p/macros"
    printf 'name: mistakes\nprofile: mistakes\nsource-paths: [models]\n' > "$p/dbt_project.yml"
    printf 'mistakes:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: %s/mistakes.duckdb\n' "$work" > "$p/profiles.yml"
    printf 'select 1 as id,\n    {{ no_such_macro(1) }} as x\n' > "$p/models/uses_undefined.sql"
    printf 'select * from {{ ref("uses_undefined") }}\n' > "$p/models/child_of_undefined.sql"
    printf 'def model(dbt, session):\n    return dbt.ref("fine")\n' > "$p/models/py_model.py"
    printf 'select * from {{ ref("py_model") }}\n' > "$p/models/child_of_py.sql"
    printf 'select 1 as id\n' > "$p/models/fine.sql"
    printf '{%% macro m() %%}1{%% endmacro %%}\n{%% macro m() %%}2{%% endmacro %%}\n' > "$p/macros/twice.sql"
    "$bp" dbt run --project-dir "$p" > run.txt 2>&1
    check "dbt: two macros of one name are refused, naming both" bash -c "test $? -eq 3 && grep -q \"twice.sql:2: a second macro named 'm'.*the first is at .*twice.sql:1\" run.txt"
    rm "$p/macros/twice.sql"
    "$bp" dbt run --project-dir "$p" > run.txt 2>&1
    local rc=$?
    check "dbt: a failing node makes the run exit 1" test "$rc" -eq 1
    check "dbt: an undefined name fails its node with file:line:column" grep -q "uses_undefined.sql:2:8: 'no_such_macro' is undefined" run.txt
    check "dbt: the undefined name's descendants are skipped" grep -q "SKIP relation main.child_of_undefined" run.txt
    check "dbt: a Python model is refused, naming the file" grep -q "models/py_model.py: Python models are not supported by bookpipe" run.txt
    check "dbt: the Python model's descendants are skipped" grep -q "SKIP relation main.child_of_py" run.txt
    check "dbt: the rest runs" grep -q "OK created sql view model main.fine" run.txt
    check "dbt: source-paths (before dbt 1.0) still works, with a warning" grep -q "'source-paths' is deprecated" run.txt
    # dbt-duckdb's file-backed sources: meta.external_location
    mkdir -p "$p/ext"
    printf 'color,n\nred,1\nblue,2\n' > "$p/ext/colors.csv"
    cat > "$p/models/files.yml" <<YML
version: 2
sources:
  - name: files
    meta:
      external_location: "read_csv('$p/ext/{name}.csv', header = true)"
    tables:
      - name: colors
YML
    printf '{{ config(materialized="table") }}\nselect sum(n) as total from {{ source("files", "colors") }}\n' > "$p/models/from_file.sql"
    "$bp" dbt run --project-dir "$p" -s from_file > run.txt 2>&1
    check "dbt: a file-backed source (meta.external_location) reads the file" bash -c "test \"\$('$bp' query --csv --warehouse '$work/mistakes.duckdb' 'SELECT total FROM main.from_file' | tail -1)\" = 3 || { cat run.txt; false; }"
    printf 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - git: https://github.com/org/some-package.git\n' > "$p/packages.yml"
    "$bp" dbt deps --project-dir "$p" > deps.txt 2>&1
    check "dbt deps: hub and git packages need the network: where to put them instead" bash -c "test $? -ne 0 && grep -q 'put a copy of it in .*dbt_packages/dbt_utils' deps.txt && grep -q 'dbt_packages/some_package' deps.txt"
    mkdir -p "$p/dbt_packages/dbt_utils"
    printf 'name: dbt_utils\n' > "$p/dbt_packages/dbt_utils/dbt_project.yml"
    "$bp" dbt deps --project-dir "$p" > deps.txt 2>&1
    check "dbt deps: a package already in dbt_packages/ is used" grep -q "Already in .*dbt_packages/dbt_utils" deps.txt
}

# A failing on-run-end is an error of the run (dbt since 1.3): exit 1, named
dbt_hook_failure_tests() {
    local p=$work/hookfail
    mkdir -p "$p/models"
    printf 'name: hookfail\nprofile: hookfail\non-run-end:\n  - "select * from no_such_table_at_the_end"\n' > "$p/dbt_project.yml"
    printf 'hookfail:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: %s/hookfail.duckdb\n' "$work" > "$p/profiles.yml"
    printf 'select 1 as id\n' > "$p/models/fine.sql"
    "$bp" dbt run --project-dir "$p" > hook.txt 2>&1
    local rc=$?
    check "dbt: a failing on-run-end makes the run exit 1, the models built" bash -c \
        "test $rc -eq 1 && grep -q 'OK created sql view model main.fine' hook.txt && grep -q 'Completed with 1 error' hook.txt"
    check "dbt: the failing on-run-end is named with its error" bash -c \
        "grep -q 'on-run-end failed, error:' hook.txt && grep -q 'no_such_table_at_the_end' hook.txt"
    rm -rf "$p"
}

# 2,000 models and 6,000 tests load and compile (dbt-core parses such a
# project in 44 s; bench/dbt_bench.sh times bookpipe's)
dbt_scale_tests() {
    local p=$work/scale i
    mkdir -p "$p/models"
    printf 'name: scale\n' > "$p/dbt_project.yml"
    {
        echo "version: 2"
        echo "models:"
        for i in $(seq 1 2000); do
            printf '  - name: m%d\n    columns:\n      - name: id\n        data_tests: [unique, not_null, {accepted_values: {arguments: {values: [1, 2]}, config: {severity: warn}}}]\n' "$i"
        done
    } > "$p/models/schema.yml"
    echo "select 1 as id" > "$p/models/m1.sql"
    for i in $(seq 2 2000); do
        echo "select a.id from {{ ref('m$(( (i * 7) % (i - 1) + 1 ))') }} a join {{ ref('m$(( i - 1 ))') }} b on a.id = b.id" > "$p/models/m$i.sql"
    done
    "$bp" dbt ls --project-dir "$p" --warehouse "$work/scale.duckdb" > ls.txt 2>&1
    check "dbt: 2,000 models and 6,000 tests load" test "$(wc -l < ls.txt)" = 8000
    check "dbt: 2,000 models and 6,000 tests compile" "$bp" dbt compile -q --project-dir "$p" --warehouse "$work/scale.duckdb"
    check "dbt: the manifest of 8,000 nodes has its parent map" grep -q '"parent_map": {' "$p/target/manifest.json"
    rm -rf "$p"
}
