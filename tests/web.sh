# web.sh: tests of `bookpipe serve` (sourced by run.sh): the JSON API on a
# free loopback port, against a real DuckDB warehouse.

# serve_start LOG [flags]: start the server on a free port; sets srv_pid, url
serve_start() {
    local log=$1 i
    shift
    "$bp" serve --port 0 "$@" > "$log" 2>&1 &
    srv_pid=$!
    url=
    for i in $(seq 1 50); do
        url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    return 1
}
serve_stop() { kill -INT "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; }
# api [curl args]: body on stdout; the status code on the last line
api() { curl -s --noproxy '*' -w '\n%{http_code}' "$@"; }
status_of() { tail -1; }
post_sql() { api -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Content-Type: application/json' --data-binary "$1" "$url/api/query"; }

web_tests() {
    need_e2e
    mkdir -p web && cd web || return
    cp ../e2e.duckdb web.duckdb
    local users out
    users=$(q web.duckdb "SELECT count(*) FROM users")
    if ! serve_start serve.log --warehouse web.duckdb --data ../data --no-lake; then
        not_ok "web: serve starts and prints its URL" "$(cat serve.log)"
        cd .. && return
    fi
    ok "web: serve starts on a free loopback port ($url)"
    check "web: /api/health" bash -c "curl -s --noproxy '*' $url/api/health | grep -q '\"ok\":true'"
    out=$(api "$url/api/tables")
    check "web: /api/tables lists books_schema.users with its row count" bash -c "printf '%s' '$out' | tr -d '\n' | grep -q '\"name\":\"users\",\"type\":\"BASE TABLE\",\"columns\":\[[^]]*\],\"rows\":$users'"
    out=$(post_sql '{"sql": "SELECT count(*) AS n FROM users"}')
    check "web: POST /api/query answers" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"$users\"\]\]'"
    out=$(post_sql '{"sql": "SELECT user_id FROM users ORDER BY user_id", "offset": 1, "limit": 2}')
    check "web: results are paged (offset, limit, truncated)" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"2\"\],\[\"3\"\]\],\"truncated\":true,\"offset\":1'"
    out=$(post_sql '{"sql": "DROP TABLE books_schema.users"}')
    check "web: the explorer cannot write (the database says read-only)" bash -c "printf '%s' '$out' | grep -q 'read-only' && test \"\$(printf '%s' '$out' | tail -1)\" = 400"
    out=$(post_sql '{"sql": "DELETE FROM users; SELECT 1"}')
    check "web: nor with a second statement" bash -c "printf '%s' '$out' | tail -1 | grep -qx 400"
    check "web: the users table is intact" test "$(curl -s --noproxy '*' -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"sql": "SELECT count(*) FROM users"}' "$url/api/query" | grep -o '\[\[\"[0-9]*\"\]\]')" = "[[\"$users\"]]"
    explorer_checks
    out=$(api -X POST --data-binary '{"sql": "SELECT 1"}' "$url/api/query")
    check "web: a POST without the CSRF header is refused (403)" bash -c "printf '%s' '$out' | tail -1 | grep -qx 403"
    local p
    for p in '/api/../etc/passwd' '/api/%2e%2e/%2e%2e/etc/passwd' '/api/..%2f..%2fetc/passwd' '/%2e%2e/x' '/api//tables'; do
        out=$(api --path-as-is "$url$p")
        check "web: path $p is refused" bash -c "printf '%s' '$out' | tail -1 | grep -qx 400"
    done
    # the pages: one embedded page for every room, assets from the binary
    for p in / /d/books /pipeline /explore; do
        check "web: page $p is the embedded app" bash -c "curl -s --noproxy '*' '$url$p' | grep -q '<script type=\"module\" src=\"/assets/app.js\"'"
    done
    check "web: the chart library is embedded (no CDN)" bash -c "curl -s --noproxy '*' '$url/assets/chart.js' | head -c 400 | grep -q 'Chart.js' && ! curl -s --noproxy '*' '$url/' | grep -q 'https\?://'"
    check "web: pages carry a script-src self CSP" bash -c "curl -s --noproxy '*' -D - -o /dev/null '$url/d/books' | grep -qi \"content-security-policy: default-src 'self'\""
    out=$(api "$url/assets/nosuch.js")
    check "web: an unknown asset is a 404" bash -c "printf '%s' '$out' | tail -1 | grep -qx 404"
    out=$(api "$url/api/pipeline")
    check "web: /api/pipeline gives the DAG with last statuses" bash -c "printf '%s' '$out' | grep -q '\"name\":\"clean\",\"type\":\"clean\",\"upstream\":\[\"extract\"\],\"last\":{\"status\":\"completed\"'"
    out=$(api "$url/api/nosuch")
    check "web: an unknown API is a JSON 404" bash -c "printf '%s' '$out' | grep -q '\"error\"' && printf '%s' '$out' | tail -1 | grep -qx 404"
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary "$(head -c 70000 /dev/zero | tr '\0' x)" "$url/api/query")
    check "web: a body over 64 KiB is refused (413)" bash -c "printf '%s' '$out' | tail -1 | grep -qx 413"
    # Run now
    local before after i
    before=$(api "$url/api/runs" | grep -o '"web"' | wc -l)
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs")
    check "web: Run now is accepted (202)" bash -c "printf '%s' '$out' | tail -1 | grep -qx 202"
    for i in $(seq 1 100); do
        after=$(api "$url/api/runs" | head -1)
        grep -q '"web","completed"' <<< "$after" && break
        sleep 0.2
    done
    check "web: the run appears in /api/runs with trigger web, completed" bash -c "printf '%s' '$after' | grep -q '\"web\",\"completed\"'"
    serve_stop
    check "web: runs started from the web are in the history" test "$(q web.duckdb "SELECT count(*) FROM bookpipe_meta.runs WHERE \"trigger\" = 'web'")" = $((before + 1))
    live_checks
    # a failed run started from the web: serve's log says so, naming the run,
    # in serve's words (the library hands its messages to serve)
    printf 'name: failing\nblocks:\n  - name: broken\n    type: shell\n    command: "exit 3"\n' > failing.yml
    serve_start serve1b.log --warehouse web.duckdb --data ../data --no-lake --no-schedule --pipeline failing.yml
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs" > /dev/null
    for i in $(seq 1 100); do grep -q 'block broken failed' serve1b.log && break; sleep 0.1; done
    serve_stop
    check "web: a failed web run is logged by serve with its scope, not as 'bookpipe run'" bash -c "grep -q '^bookpipe serve: \[web run\] block broken failed: command exited with status 3' serve1b.log && ! grep -q 'bookpipe run:' serve1b.log" 
    # binding and the token
    "$bp" serve --bind 0.0.0.0 --port 0 --warehouse web.duckdb > /dev/null 2> err.txt
    check "web: a non-loopback bind without a token is refused at start" bash -c "test $? -eq 2 && grep -q 'needs --token' err.txt"
    serve_start serve2.log --warehouse web.duckdb --token test-token-0123456789
    out=$(api "$url/api/health")
    check "web: with --token, a request without it gets 401" bash -c "printf '%s' '$out' | tail -1 | grep -qx 401"
    out=$(api -H 'Authorization: Bearer test-token-0123456789' "$url/api/health")
    check "web: and with it, 200" bash -c "printf '%s' '$out' | tail -1 | grep -qx 200"
    out=$(api -H 'Authorization: Bearer wrong-token-012345678' "$url/api/health")
    check "web: a wrong token gets 401" bash -c "printf '%s' '$out' | tail -1 | grep -qx 401"
    check "web: ?token= sets an HttpOnly cookie" bash -c "curl -s --noproxy '*' -D - -o /dev/null '$url/?token=test-token-0123456789' | grep -qi 'set-cookie: bookpipe_token=.*HttpOnly'"
    check "web: the token is never printed" bash -c "! grep -q test-token serve2.log"
    serve_stop
    cd ..
}

# rows_of JSON: the first frame's rows, one per line, cells joined by |
rows_of() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const r of (j.frames[0].rows || [])) console.log(r.join("|"))'; }
# panel_q ID [query string]: a panel of the time series fixture
panel_q() { curl -s --noproxy '*' "$url/api/dashboards/bp-timeseries/panels/$1/query${2:+?$2}"; }

# The time series fixture (tests/web/timeseries.json, written here in
# Grafana's JSON model) on the served warehouse: Grafana's macros over the
# dashboard's range, the panel's own range, interval variables, the
# numbering of panels without an id. LABEL names the warehouse.
timeseries_checks() {
    local w=$1
    panel_q 4 > ts.json
    check "$w: \$__timeFilter over the dashboard's range shifted 2 h (timeShift): 241 minutes" test "$(rows_of < ts.json)" = 241
    check "$w: the range's ends are bound parameters, not text" grep -q 'WHERE t BETWEEN \$1 AND \$2","params":\["2023-12-31T22:00:00Z","2024-01-01T04:00:00Z"\]' ts.json
    panel_q 9 "from=1704067200000&to=2024-01-01T01:00:00Z" > ts.json
    check "$w: from/to in the URL (epoch ms and ISO) replace the dashboard's range" test "$(rows_of < ts.json | grep -c '^alpha|')" = 21
    panel_q 2 > ts.json
    check "$w: \$__timeGroupAlias(t, '1h', 0): hourly buckets, their counts" test "$(rows_of < ts.json | cut -d'|' -f2 | tr '\n' ' ')" = "60 60 60 1 "
    check "$w: and the fill (0 every hour) for the page to add" grep -q '"fill":{"mode":"value","value":0.0,"interval_ms":3600000}' ts.json
    panel_q 8 > ts.json
    check "$w: \$__unixEpochGroupAlias and \$__unixEpochFilter on an epoch column" test "$(rows_of < ts.json | wc -l)" = 7
    panel_q 11 > ts.json
    check "$w: an interval variable on auto: 6 h in 30 steps is Grafana's 10m" test "$(rows_of < ts.json | wc -l)" = 37
    panel_q 11 "var-bucket=1h" > ts.json
    check "$w: the interval variable set to 1h in the URL" test "$(rows_of < ts.json | wc -l)" = 7
    panel_q 1 "maxDataPoints=360" > ts.json
    check "$w: \$__interval from the range and the panel's width (6 h over 360 px: 1m)" grep -q '"interval_ms":60000,"interval":"1m"' ts.json
    check "$w: and the series grouped by it: 361 minutes of 3 hosts" test "$(rows_of < ts.json | wc -l)" = 1083
    panel_q 5 > ts.json
    local n
    n=$(rows_of < ts.json)
    check "$w: a panel's relative time (timeFrom 1h) counts the last hour ($n)" test "${n:-0}" -ge 59 -a "${n:-0}" -le 61
    curl -s --noproxy '*' "$url/api/dashboards/bp-timeseries" > ts.json
    panel_q 22 > ts2.json
    check "$w: a panel without an id gets the next free one (22)" bash -c "grep -q '\"id\":22,\"type\":\"table\",\"title\":\"Join and calculate\"' ts.json || grep -q '\"title\":\"Join and calculate\".*\"id\":22' ts.json"
    check "$w: and answers its query" grep -q '"rows":\[\["alpha","480"\]' ts2.json
    check "$w: the datasource variable offers the warehouse" grep -q '"name":"ds","options":\["Warehouse"\]' ts.json
    check "$w: the interval variable offers auto and its intervals, auto chosen" grep -q '"name":"bucket","options":\["auto","1m","10m","1h"\],"current":\["auto"\]' ts.json
    api "$url/api/dashboards/bp-timeseries/panels/4/query?from=yesterday" > ts.json
    check "$w: a range Grafana cannot read is a 400 that says so" bash -c "tail -1 ts.json | grep -qx 400 && grep -q 'is not one Grafana reads' ts.json"
}

# failing_project DIR: a dbt project (and its pipeline) whose model
# "broken" fails on a table that is not there; "fine" builds
failing_project() {
    rm -rf "$1" && mkdir -p "$1/models"
    printf "name: failproj\nversion: '1.0'\nconfig-version: 2\nprofile: failproj\nmodel-paths: [\"models\"]\n" > "$1/dbt_project.yml"
    printf 'select 1 as x\n' > "$1/models/fine.sql"
    printf 'select * from {{ ref("fine") }} join nosuch_table using (x)\n' > "$1/models/broken.sql"
    printf 'name: failing_dbt\nblocks:\n  - name: models\n    type: dbt\n    command: run\n' > "$1/pipeline.yml"
}

# A run started from the page seen while it goes (/api/live), cancelled;
# the pages read a snapshot meanwhile; the models, trends, the schedule's
# pause.
live_checks() {
    local i out
    serve_start serve_live.log --warehouse web.duckdb --data ../data --no-lake --no-schedule --pipeline "$here/orch/slow.yml"
    rm -f wait.started
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs" > /dev/null
    wait_for wait.started
    api "$url/api/live" > live.json
    check "web: a run started here is seen while it goes: its block running" bash -c "grep -q '\"running\":true' live.json && grep -q '\"wait\":{\"type\":\"shell\",\"upstream\":\[\],\"status\":\"running\"' live.json"
    for i in $(seq 1 30); do api "$url/api/live" | grep -q 'log_tail' && break; sleep 0.1; done
    api "$url/api/live" > live.json
    check "web: and the running block's log as it is written (its last lines)" grep -q '"log_tail":"[^"]*waiting, at the start of the wait block' live.json
    post_sql '{"sql": "SELECT count(*) FROM users"}' > during.json
    check "web: during it the explorer answers from the snapshot (200, not 503)" bash -c "tail -1 during.json | grep -qx 200 && grep -q '\"rows\":\[\[\"[0-9]' during.json"
    api "$url/api/runs" > during.json
    check "web: and the run history too" bash -c "tail -1 during.json | grep -qx 200"
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs/cancel" > cancel.json
    check "web: Cancel is accepted (202)" bash -c "tail -1 cancel.json | grep -qx 202"
    for i in $(seq 1 100); do
        api "$url/api/live" > live.json
        grep -q '"running":false' live.json && break
        sleep 0.1
    done
    check "web: the cancelled run ends as cancelled, its block too" bash -c "grep -q '\"running\":false' live.json && grep -q '\"status\":\"cancelled\"' live.json"
    check "web: the snapshot is gone after the run" bash -c "! ls web.duckdb.serve-snapshot* 2>/dev/null | grep -q ."
    serve_stop
    # --no-snapshot: the pages wait for the run instead (503, with the reason)
    serve_start serve_nosnap.log --warehouse web.duckdb --data ../data --no-lake --no-schedule --no-snapshot --pipeline "$here/orch/slow.yml"
    rm -f wait.started
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs" > /dev/null
    wait_for wait.started
    post_sql '{"sql": "SELECT 1"}' > during.json
    check "web: with --no-snapshot the explorer answers 503 during the run, saying why" bash -c "tail -1 during.json | grep -qx 503 && grep -q 'a run started here is using the warehouse' during.json && ! ls web.duckdb.serve-snapshot* 2>/dev/null | grep -q ."
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs/cancel" > /dev/null
    for i in $(seq 1 100); do api "$url/api/live" | grep -q '"running":false' && break; sleep 0.1; done
    serve_stop
    serve_start serve_live2.log --warehouse web.duckdb --data ../data --no-lake --no-schedule --pipeline "$here/orch/slow.yml"
    api -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"select": "wait; rm"}' "$url/api/runs" > sel.json
    check "web: a selection that is not block names is refused (400)" bash -c "tail -1 sel.json | grep -qx 400"
    api -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"from": "nosuch"}' "$url/api/runs" > /dev/null
    for i in $(seq 1 100); do api "$url/api/live" | grep -q '"running":false' && break; sleep 0.1; done
    api "$url/api/live" > live.json
    check "web: a run from a block that is not there says why it did not start" bash -c "grep -q '\"status\":\"not started\"' live.json && grep -q 'nosuch' live.json"
    api "$url/api/runs/trends" > trends.json
    check "web: trends: each run's seconds and rows" bash -c "grep -q '\"name\":\"seconds\"' trends.json && grep -q '\"name\":\"rows_out\"' trends.json && grep -q 'cancelled' trends.json"
    serve_stop
    serve_start serve_models.log --warehouse web.duckdb --data ../data --no-lake
    api "$url/api/models" > models.json
    check "web: the dbt models with their parents and last status (from the project's artifacts)" bash -c "grep -q '\"name\":\"top_books\",\"resource_type\":\"model\",\"depends_on\":\[' models.json && tail -1 models.json | grep -qx 200"
    api "$url/api/models/top_books" > model.json
    check "web: a model: its SQL, compiled SQL, warehouse columns, tests and rows" bash -c "grep -qi '\"raw_code\":\"[^\"]*select' model.json && grep -q '\"compiled_code\":\"' model.json && grep -q '\"warehouse_columns\":\[{\"name\"' model.json && grep -q '\"rows\":[1-9]' model.json && grep -q '\"tests\":\[{' model.json"
    api "$url/api/models/nosuch" > model.json
    check "web: a model that is not there: 404" bash -c "tail -1 model.json | grep -qx 404"
    api -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"paused": true}' "$url/api/schedule" > sched.json
    check "web: the schedule pauses (and says so)" bash -c "tail -1 sched.json | grep -qx 200 && grep -q '\"paused\":true' sched.json"
    api -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"paused": false}' "$url/api/schedule" > sched.json
    check "web: and resumes" grep -q '"paused":false' sched.json
    serve_stop
    # a dbt model that fails: the run's failing node and dbt's message
    failing_project failproj
    serve_start serve_fail.log --warehouse web.duckdb --data ../data --no-lake --no-schedule --pipeline failproj/pipeline.yml --project-dir failproj
    api -X POST -H 'X-Bookpipe-CSRF: 1' "$url/api/runs" > /dev/null
    for i in $(seq 1 150); do api "$url/api/live" | grep -q '"running":false' && break; sleep 0.1; done
    api "$url/api/live" > live.json
    api "$url/api/models" > models.json
    check "web: a failed dbt block: the run says so live, and the models name the failing node with dbt's message" bash -c "grep -q '\"status\":\"failed\"' live.json && grep -q '\"name\":\"broken\",\"resource_type\":\"model\".*\"status\":\"error\",[^}]*\"message\":\"[^\"]*nosuch_table' models.json"
    local rid
    rid=$(grep -o '"run_id":[0-9]*' live.json | head -1 | cut -d: -f2)
    api "$url/api/runs/$rid/nodes" > nodes.json
    check "web: the run keeps its dbt nodes (status, times, message) in its history" bash -c "grep -q '\"models\",\"model.failproj.broken\",\"error\",\"20' nodes.json && grep -q '\"models\",\"model.failproj.fine\",\"success\"' nodes.json"
    serve_stop
}

# The explorer's API beyond one statement: several statements, where an
# error is, every row streamed as CSV or JSON, a table's statistics.
export_sql() { curl -s --noproxy '*' -w '\n%{http_code}' -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Content-Type: application/json' --data-binary "$1" "$url/api/export"; }
explorer_checks() {
    post_sql '{"sql": "SELECT 1 AS a; SELECT 2 AS b, 3 AS c;"}' > ex.json
    check "web: two statements give two results" bash -c "grep -q '\"results\":\[{\"columns\":\[{\"name\":\"a\"' ex.json && grep -q '\"rows\":\[\[\"2\",\"3\"\]\]' ex.json && tail -1 ex.json | grep -qx 200"
    post_sql '{"sql": "SELECT 1; DROP TABLE books_schema.users"}' > ex.json
    check "web: a write among them refuses them all, naming it (statement 2 of 2)" bash -c "tail -1 ex.json | grep -qx 400 && grep -q 'statement 2 of 2: ' ex.json"
    post_sql '{"sql": "SELECT 1;\nSELECT nosuch FROM users"}' > ex.json
    check "web: an error says where in the text the database stopped (position 18)" bash -c "tail -1 ex.json | grep -qx 400 && grep -q '\"position\":18' ex.json"
    export_sql '{"sql": "SELECT i, '"'"'a,\"b'"'"' AS t FROM range(25000) r(i) ORDER BY i", "format": "csv"}' > ex.csv
    check "web: export streams every row past the row cap as CSV (25,000 rows, quoted)" bash -c "tail -1 ex.csv | grep -qx 200 && test \$(sed '\$d' ex.csv | grep -c ,) = 25001 && sed -n 2p ex.csv | tr -d '\\r' | grep -qx '0,\"a,\"\"b\"'"
    export_sql '{"sql": "SELECT user_id, location FROM users ORDER BY user_id", "format": "json"}' | sed '$d' > ex.json
    check "web: export as JSON is an array of every row" test "$(node -e 'const a = JSON.parse(require("fs").readFileSync("ex.json", "utf8")); console.log(a.length, typeof a[0].user_id, typeof a[0].location)')" = "$users number string"
    curl -s --noproxy '*' -o ex.parquet -X POST -H 'X-Bookpipe-CSRF: 1' --data-binary '{"sql": "SELECT user_id, location, age FROM users", "format": "parquet"}' "$url/api/export"
    check "web: export as Parquet: the same rows, typed (read back with read_parquet)" test "$("$bp" query --csv --warehouse web.duckdb "SELECT count(*) || ':' || typeof(any_value(user_id)) || ':' || typeof(any_value(location)) FROM read_parquet('ex.parquet')" 2>&1 | tail -1)" = "$users:BIGINT:VARCHAR"
    export_sql '{"sql": "SELECT nosuch FROM users", "format": "csv"}' > ex.json
    check "web: an export that cannot run is the database's error (400), not an empty file" bash -c "tail -1 ex.json | grep -qx 400 && grep -q 'nosuch' ex.json"
    api "$url/api/tables/stats?table=books_schema.users" > ex.json
    check "web: a table's statistics: rows, and per column nulls, distinct, min, max" bash -c "grep -q '\"rows\":$users' ex.json && grep -q '\"name\":\"user_id\",\"type\":\"[A-Z]*\",\"nulls\":0,\"distinct\":$users,\"min\":\"1\"' ex.json"
    api "$url/api/tables/stats?table=books_schema.nosuch%22%3B" > ex.json
    check "web: statistics of a table that is not there: 404" bash -c "tail -1 ex.json | grep -qx 404"
}

# Dashboards: the bundled one, and a Grafana 11 export as a user would drop it in.
dashboard_tests() {
    need_web
    cd web || return
    local out p a b
    if ! serve_start serve3.log --warehouse web.duckdb --dashboards "$here/web"; then
        not_ok "web: serve with --dashboards starts" "$(cat serve3.log)"
        cd .. && return
    fi
    out=$(api "$url/api/dashboards")
    check "web: /api/dashboards lists the bundled and the dropped-in dashboards" bash -c "printf '%s' '$out' | grep -q '\"uid\":\"books\"' && printf '%s' '$out' | grep -q '\"uid\":\"fe3k2b9x0qvb4e\"'"
    api "$url/api/dashboards/books" > books.json
    check "web: a dashboard comes with its resolved variables" bash -c "grep -q '\"name\":\"country\",\"options\":\[\"United States\"' books.json && grep -q '\"name\":\"min_reviews\",\"options\":\[\"1\",\"3\",\"5\",\"10\",\"20\"\],\"current\":\[\"3\"\]' books.json"
    for p in 1 2 3 4 5 6 7 8 9 10 11 13 14 15; do
        out=$(api "$url/api/dashboards/books/panels/$p/query?var-min_reviews=1")
        if [ "$(tail -1 <<< "$out")" = 200 ] && ! grep -q '"error"' <<< "$out" &&
           { [ "$p" = 14 ] || grep -q '"rows":\[\[' <<< "$out"; }; then
            ok "web: bundled panel $p returns data"
        else
            not_ok "web: bundled panel $p" "$(printf '%s' "$out" | head -c 600)"
        fi
    done
    check "web: the stat panels count what the warehouse has" bash -c "curl -s --noproxy '*' '$url/api/dashboards/books/panels/3/query' | grep -q '\"rows\":\[\[\"$(q web.duckdb "SELECT count(*) FROM users")\"\]\]'"
    a=$(api "$url/api/dashboards/books/panels/4/query?var-country=United%20States&var-min_reviews=1")
    b=$(api "$url/api/dashboards/books/panels/4/query?var-country=Germany&var-min_reviews=1")
    check "web: the country variable changes the top-10 table" bash -c "test '$(printf '%s' "$a" | md5sum)' != '$(printf '%s' "$b" | md5sum)' && printf '%s' '$b' | grep -q '\"rows\":\[\['"
    curl -s --noproxy '*' -G "$url/api/dashboards/books/panels/14/query" --data-urlencode "var-title_search='; DROP TABLE books_schema.users; --" > inj.json
    check "web: an injection in a text box is just a string that matches nothing" bash -c "grep -q '\"rows\":\[\]' inj.json && ! grep -q '\"error\"' inj.json"
    check "web: and the users table is intact" test "$(q web.duckdb "SELECT count(*) FROM users")" = "$(q ../e2e.duckdb "SELECT count(*) FROM users")"
    out=$(api "$url/api/dashboards/fe3k2b9x0qvb4e/panels/2/query")
    check "web: Grafana 11 export: All of a multi-value variable gives an IN list" bash -c "printf '%s' '$out' | grep -o '\],\[' | wc -l | grep -qx 4"
    out=$(api "$url/api/dashboards/fe3k2b9x0qvb4e/panels/2/query?var-countries=Germany&var-countries=Canada")
    check "web: Grafana 11 export: two chosen values give two rows" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"Canada\",\"[0-9]*\"\],\[\"Germany\",\"[0-9]*\"\]\]'"
    out=$(api "$url/api/dashboards/fe3k2b9x0qvb4e/panels/4/query?var-min=10")
    check "web: Grafana 11 export: a panel inside a collapsed row, a custom variable and \$__timeFilter" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"$(q web.duckdb "SELECT count(*) FROM ratings WHERE rating >= 10")\"\]\]'"
    out=$(api "$url/api/dashboards/nosuch")
    check "web: an unknown dashboard is a 404" bash -c "printf '%s' '$out' | tail -1 | grep -qx 404"
    timeseries_checks "web: duckdb"
    post_sql "{\"sql\": \"SELECT TIMESTAMPTZ '2024-01-01 10:00:00+02' AS t, now() - INTERVAL '1 hour' AS u\"}" > tz.json
    check "web: TIMESTAMPTZ values come back as times, not null" bash -c "grep -q '\"type\":\"time\"' tz.json && grep -q '\"rows\":\[\[\"2024-01-01 08:00:00+00\",\"20[0-9-]* [0-9:.]*+00\"\]\]' tz.json"
    serve_stop
    # every file in a dashboards folder is listed, or refused with its reason
    mkdir -p dashes
    cp "$here/web/timeseries.json" dashes/
    printf '{"title": "broken",\n  "panels": [}\n' > dashes/broken.json
    printf '{"apiVersion": "dashboard.grafana.app/v2beta1", "kind": "Dashboard", "spec": {"title": "new", "elements": {}}}' > dashes/v2.json
    printf '{"title": "old", "rows": [{"panels": []}]}' > dashes/g4.json
    if serve_start serve3b.log --warehouse web.duckdb --dashboards dashes; then
        api "$url/api/dashboards" > list.json
        check "web: a file that is not JSON is listed with its parse error and line" grep -q '"file":"broken.json","error":"line 2, column 1[0-9]: ' list.json
        check "web: a Grafana 12 v2 resource is listed, refused by name with the way out" grep -q '"file":"v2.json","error":"a Grafana 12 dashboard v2 resource.*v2 resource.* turned off' list.json
        check "web: a Grafana 4 dashboard (rows) is refused with its reason" grep -q '"file":"g4.json","error":"a Grafana 4 dashboard' list.json
        check "web: and the good one is listed beside them" grep -q '"uid":"bp-timeseries","title":"Time series fixture"' list.json
        serve_stop
    else
        not_ok "web: serve with a folder of refused dashboards starts" "$(cat serve3b.log)"
    fi
    cd ..
}

# The schedule: serve starts runs when the pipeline's cron says.
schedule_web_tests() {
    need_web
    cd web || return
    local out i
    serve_start serve4.log --warehouse web.duckdb --data ../data
    out=$(api "$url/api/schedule")
    check "web: /api/schedule shows the bundled pipeline's schedule and next run" bash -c "printf '%s' '$out' | grep -q '\"schedule\":\"0 3 \* \* \*\",\"enabled\":true,\"next_run\":\"20[0-9-]*T[0-9:]*Z\"'"
    serve_stop
    BOOKPIPE_CLOCK=$(clock_near_minute) serve_start serve5.log --warehouse sched.duckdb --data ../data --pipeline "$here/orch/sched.yml"
    for i in $(seq 1 150); do
        out=$(api "$url/api/runs")
        grep -q '"schedule","completed"' <<< "$out" && break
        sleep 0.2
    done
    check "web: a run starts on the schedule (trigger schedule, its clock 2 s before a minute)" bash -c "printf '%s' '$out' | grep -q '\"scheduled\",\"schedule\",\"completed\"'"
    serve_stop
    serve_start serve6.log --warehouse web.duckdb --no-schedule
    check "web: --no-schedule (and no --data) says why nothing is scheduled" bash -c "curl -s --noproxy '*' $url/api/schedule | grep -q '\"enabled\":false'"
    serve_stop
    cd ..
}

# The pages in a real browser: playwright-core (web/node_modules, from
# web/package-lock.json) drives Debian's chromium headless with a fresh
# profile. tests/browser/ui.mjs prints one ok/not ok line per check;
# screenshots go to tests/artifacts/ (ignored by git).
# The script's checks are counted from its source, so that a script that
# cannot start (an old Node.js, no chromium) or stops half way counts every
# check it did not make as failed, never as one.
browser_plan=$(grep -c "await check(" "$here/browser/ui.mjs")
browser_missed() {  # SEEN WHY: fail the checks the script did not report
    local i
    for ((i = $1 + 1; i <= browser_plan; i++)); do
        not_ok "browser: check $i of $browser_plan did not run ($2)"
    done
}

browser_tests() {
    need_e2e
    local art line users seen=0 why
    art="$here/artifacts/browser$(case $bp in *build-san*) echo -sanitized ;; esac)"
    mkdir -p "$art" web-ui && cd web-ui || return
    rm -f "$art"/*.png
    if [ ! -x /usr/bin/chromium ] || [ ! -d "$here/../web/node_modules/playwright-core" ]; then
        browser_missed 0 "chromium or playwright-core is missing: run scripts/deps.sh test"
        cd .. && return
    fi
    cp ../e2e.duckdb ui.duckdb
    users=$(q ui.duckdb "SELECT count(*) FROM users")
    # a failed run whose log and error carry markup: the pages must show it as text
    cat > xss.yml <<'EOF'
name: xss
blocks:
  - name: markup
    type: shell
    command: "echo '<img src=x onerror=window.__xss=1><script>window.__xss=2</script>'; echo '<b>bold</b>' >&2; exit 3"
EOF
    "$bp" run --quiet --pipeline xss.yml --warehouse ui.duckdb --no-lake > /dev/null 2>&1
    # a second server whose pipeline is slow enough to cancel from the page
    local slow_url slow_pid
    cp ui.duckdb slow.duckdb
    if serve_start slow.log --warehouse slow.duckdb --data ../data --no-lake --no-schedule \
            --pipeline "$here/orch/slow.yml"; then
        slow_url=$url slow_pid=$srv_pid
    fi
    # a third whose dbt model fails
    local fail_url fail_pid
    failing_project failproj
    cp ui.duckdb fail.duckdb
    if serve_start fail.log --warehouse fail.duckdb --data ../data --no-lake --no-schedule \
            --pipeline failproj/pipeline.yml --project-dir failproj; then
        fail_url=$url fail_pid=$srv_pid
    fi
    if ! serve_start serve.log --warehouse ui.duckdb --data ../data --no-lake \
            --dashboards "$here/web"; then
        not_ok "browser: serve starts" "$(cat serve.log)"
        browser_missed 0 "serve did not start"
        cd .. && return
    fi
    why="the script stopped"
    while IFS= read -r line; do
        case $line in
            "not ok - browser tests ran to the end") not_ok "browser: ${line#not ok - }" ;;
            "ok - "*) seen=$((seen + 1)); ok "browser: ${line#ok - }" ;;
            "not ok - "*) seen=$((seen + 1)); not_ok "browser: ${line#not ok - }" ;;
            *"requires Node.js"*|*"SyntaxError"*) why=$line; echo "$line" ;;
            *) echo "$line" ;;
        esac
    done < <(node "$here/browser/ui.mjs" "$url" "$art" "$users" "$slow_url" "$fail_url" 2>&1)
    browser_missed "$seen" "$why"
    check "browser: the script saved its screenshots" test -s "$art/dashboard.png" -a -s "$art/pipeline.png"
    serve_stop
    local p
    for p in $slow_pid $fail_pid; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    cd ..
}
