# attack.sh: the server and the explorer probed as an attacker would
# (sourced by run.sh). Each case asserts what was refused and that nothing
# changed on disk or in the warehouse.

# A started PostgreSQL (the pg group's, or one of our own).
pg_ensure() {
    [ -n "${PG_TMP:-}" ] && return 0
    # shellcheck source=tests/pg_server.sh
    source "$here/pg_server.sh"
    pg_start || return 1
    trap 'pg_stop; rm -rf "$work"' EXIT
}

# refused NAME SQL: the explorer answers 400 with an error
refused() {
    local out
    out=$(post_sql "$(jq_sql "$2")")
    if [ "$(printf '%s' "$out" | tail -1)" = 400 ] && grep -q '"error"' <<< "$out"; then
        ok "attack: $1 is refused"
    else
        not_ok "attack: $1 is refused" "$out"
    fi
}
# {"sql": "..."} with the text JSON-escaped
jq_sql() { node -e 'process.stdout.write(JSON.stringify({sql: process.argv[1], limit: 5}))' "$1"; }

attack_duckdb() {
    local wh=$PWD/attack.duckdb before after out lport
    cp ../e2e.duckdb "$wh"
    before=$(q "$wh" "SELECT (SELECT count(*) FROM quarantine), (SELECT count(*) FROM users), (SELECT count(*) FROM books)")
    node "$here/attack/listener.mjs" outbound.log > listener.out 2>&1 &
    local lpid=$!
    for _ in $(seq 1 50); do grep -q port= listener.out && break; sleep 0.1; done
    lport=$(sed -n 's/port=//p' listener.out)
    if ! serve_start serve.log --warehouse "$wh" --no-schedule --query-timeout 1; then
        not_ok "attack: serve starts" "$(cat serve.log)"
        kill "$lpid"
        return
    fi
    refused "COPY ... TO a file" "COPY (SELECT 42 AS x) TO '$PWD/copied.csv'"
    check "attack: and the file was not written" test ! -e copied.csv
    refused "read_text of a local file" "SELECT * FROM read_text('/etc/hostname')"
    refused "read_csv of a local file" "SELECT * FROM read_csv('/etc/hostname')"
    refused "glob of a folder" "SELECT * FROM glob('/etc/*')"
    refused "the DETACH/ATTACH trick" "USE memory; DETACH bookpipe_wh; ATTACH '$wh' AS w2; DROP TABLE w2.books_schema.quarantine"
    refused "ATTACH alone" "ATTACH '$wh' AS w2"
    refused "DETACH alone" "DETACH bookpipe_wh"
    refused "USE memory" "USE memory"
    refused "turning file access back on" "SET enable_external_access = true"
    refused "a temporary table" "CREATE TEMP TABLE t AS SELECT 1"
    refused "EXPLAIN ANALYZE of a write" "EXPLAIN ANALYZE CREATE TABLE memory.main.t AS SELECT 1"
    refused "INSTALL from a URL" "INSTALL foo FROM 'http://127.0.0.1:$lport/repo'"
    refused "LOAD of an extension" "LOAD httpfs"
    refused "read_parquet of a URL" "SELECT * FROM read_parquet('http://127.0.0.1:$lport/x.parquet')"
    # several statements run one by one, each checked as one alone: a write
    # among them (first or last) is refused, and the answer is its error
    refused "a write after a read" "SELECT 1; CREATE TABLE memory.main.pwn AS SELECT 1"
    refused "a write before a read" "DROP TABLE books_schema.users; SELECT 1"
    refused "a write hidden after a string holding a semicolon" "SELECT ';'; DELETE FROM books_schema.users"
    refused "more than 20 statements" "$(for i in $(seq 21); do printf 'SELECT %d; ' "$i"; done)"
    sleep 0.3
    check "attack: no request left the server (the listener heard nothing)" test ! -s outbound.log
    out=$(post_sql "$(jq_sql "SELECT count(*) FROM range(1000000000000) a")")
    check "attack: a statement past --query-timeout is stopped with a message" bash -c "printf '%s' '$out' | grep -q 'longer than 1.000 s' && test \"\$(printf '%s' '$out' | tail -1)\" = 400"
    out=$(post_sql '{"sql": "SELECT * FROM range(100000000000)", "limit": 5}')
    check "attack: a huge result is cut at the row cap (streamed, not held)" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"0\"\],\[\"1\"\],\[\"2\"\],\[\"3\"\],\[\"4\"\]\],\"truncated\":true'"
    out=$(post_sql '{"sql": "SELECT now()::TIMESTAMPTZ AS t"}')
    check "attack: TIMESTAMPTZ values come back as text, not null" bash -c "printf '%s' '$out' | grep -q '\"rows\":\[\[\"20[0-9-]* [0-9:.]*[+-][0-9]*\"\]\]'"
    # Host and Origin: the DNS-rebinding and CSRF doors
    local port=${url##*:}
    out=$(api -H "Host: evil.example:$port" "$url/api/health")
    check "attack: a foreign Host is refused (421)" bash -c "printf '%s' '$out' | tail -1 | grep -qx 421"
    out=$(api -H "Host: 127.0.0.1:1" "$url/api/health")
    check "attack: our address with another port is refused" bash -c "printf '%s' '$out' | tail -1 | grep -qx 421"
    for h in "localhost:$port" "127.0.0.1:$port" "[::1]:$port"; do
        out=$(api -H "Host: $h" "$url/api/health")
        check "attack: Host $h is served" bash -c "printf '%s' '$out' | tail -1 | grep -qx 200"
    done
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Origin: http://evil.example' --data-binary '{"sql": "SELECT 1"}' "$url/api/query")
    check "attack: a POST from a foreign Origin is refused (403)" bash -c "printf '%s' '$out' | tail -1 | grep -qx 403"
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H "Origin: http://localhost:$port" --data-binary '{"sql": "SELECT 1"}' "$url/api/query")
    check "attack: a POST from our own Origin passes" bash -c "printf '%s' '$out' | tail -1 | grep -qx 200"
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H "Origin: null" --data-binary '{"sql": "SELECT 1"}' "$url/api/query")
    check "attack: a POST from an opaque Origin (null) is refused" bash -c "printf '%s' '$out' | tail -1 | grep -qx 403"
    out=$(api "$url/api/health?x=$(head -c 100000 /dev/zero | tr '\0' a)")
    check "attack: an oversized query string is refused" bash -c "! printf '%s' '$out' | tail -1 | grep -qx 200"
    out=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)" --data-binary '{"sql": "SELECT 1"}' "$url/api/query")
    check "attack: oversized headers are refused" bash -c "! printf '%s' '$out' | tail -1 | grep -qx 200"
    check "attack: and the server still answers" bash -c "curl -s --noproxy '*' $url/api/health | grep -q '\"ok\":true'"
    serve_stop
    # slow clients: 100 connections trickling bytes while health is asked
    if serve_start serve2.log --warehouse "$wh" --no-schedule --request-timeout 2; then
        local slow
        slow=$(node "$here/attack/slowloris.mjs" "${url##*:}" 100 7)
        check "attack: /api/health answers while 100 slow clients hang on ($slow)" bash -c "printf '%s' '$slow' | grep -q '\"ok\":7,'"
        check "attack: and the slow clients are cut at the request deadline" bash -c "printf '%s' '$slow' | grep -q '\"cut_by_server\":100}'"
        serve_stop
    else
        not_ok "attack: serve starts for the slow-client probe" "$(cat serve2.log)"
    fi
    # a token even on loopback, made here and printed in the URL
    "$bp" serve --port 0 --warehouse "$wh" --no-schedule --token auto > serve3.log 2>&1 &
    srv_pid=$!
    local turl=""
    for _ in $(seq 1 50); do turl=$(grep -o 'http://127.0.0.1:[0-9]*/?token=[0-9a-f]*' serve3.log); [ -n "$turl" ] && break; sleep 0.1; done
    check "attack: --token auto prints a URL carrying a random token" test -n "$turl"
    url=${turl%%/?token=*}
    out=$(api "$url/api/health")
    check "attack: --token on loopback: a request without it gets 401" bash -c "printf '%s' '$out' | tail -1 | grep -qx 401"
    out=$(api -H "Authorization: Bearer ${turl##*=}" "$url/api/health")
    check "attack: and with it, 200" bash -c "printf '%s' '$out' | tail -1 | grep -qx 200"
    serve_stop
    kill "$lpid" 2>/dev/null
    # the command line: the same statement check
    "$bp" query --warehouse "$wh" "USE memory; DETACH bookpipe_wh; ATTACH '$wh' AS w2; DROP TABLE w2.books_schema.quarantine" > /dev/null 2> err.txt
    check "attack: bookpipe query refuses the ATTACH trick" bash -c "test $? -eq 2 && grep -q 'several statements' err.txt"
    "$bp" query --warehouse "$wh" "ATTACH '$wh' AS w2" > /dev/null 2> err.txt
    check "attack: bookpipe query refuses ATTACH" bash -c "test $? -eq 2 && grep -q 'refused: ATTACH' err.txt"
    after=$(q "$wh" "SELECT (SELECT count(*) FROM quarantine), (SELECT count(*) FROM users), (SELECT count(*) FROM books)")
    check "attack: the warehouse is unchanged after every probe" test "$before" = "$after"
}

attack_postgres() {
    if ! pg_ensure; then
        not_ok "attack: postgres: could not start a test server"
        return
    fi
    "$bp" run --quiet --no-lake --target postgres --data ../data > /dev/null 2>&1 ||
        { not_ok "attack: postgres: load the warehouse"; return; }
    local before after out
    before=$(pgq "SELECT count(*) FROM books_schema.users")
    if ! serve_start pgserve.log --target postgres --no-schedule --query-timeout 1; then
        not_ok "attack: postgres: serve starts" "$(cat pgserve.log)"
        return
    fi
    refused "postgres: SET TRANSACTION READ WRITE then a write" "SET TRANSACTION READ WRITE; CREATE TABLE books_schema.pwn(i int); SELECT 1"
    refused "postgres: COMMIT; BEGIN READ WRITE; ..." "COMMIT; BEGIN READ WRITE; CREATE TABLE books_schema.pwn(i int); COMMIT; SELECT 1"
    refused "postgres: a lone COMMIT" "COMMIT"
    refused "postgres: RESET ALL" "RESET ALL"
    refused "postgres: a write in a CTE" "WITH d AS (DELETE FROM books_schema.users RETURNING 1) SELECT count(*) FROM d"
    refused "postgres: turning the transaction read-write from a SELECT" "SELECT set_config('transaction_read_only', 'off', true)"
    refused "postgres: pg_read_file" "SELECT pg_read_file('/etc/hostname')"
    refused "postgres: COPY to a server file" "COPY books_schema.users TO '/tmp/pwn.csv'"
    refused "postgres: a statement past the timeout" "SELECT pg_sleep(5)"
    out=$(post_sql '{"sql": "SELECT current_user, session_user"}')
    check "attack: postgres: requests read as the role bookpipe_reader" bash -c "printf '%s' '$out' | grep -q '\[\"bookpipe_reader\",\"bookpipe_reader\"\]'"
    check "attack: postgres: the reader role cannot log in as a superuser" test "$(pgq "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'bookpipe_reader'")" = false
    serve_stop
    check "attack: postgres: no table was made" test "$(pgq "SELECT count(*) FROM pg_tables WHERE tablename = 'pwn'")" = 0
    after=$(pgq "SELECT count(*) FROM books_schema.users")
    check "attack: postgres: the users table is intact" test "$before" = "$after"
    # BOOKPIPE_READ_DSN naming a superuser is refused
    BOOKPIPE_READ_DSN="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER" "$bp" serve --target postgres --port 0 --no-schedule > pgserve2.log 2>&1 &
    srv_pid=$!
    for _ in $(seq 1 50); do url=$(grep -o 'http://127.0.0.1:[0-9]*' pgserve2.log | head -1); [ -n "$url" ] && break; sleep 0.1; done
    out=$(post_sql '{"sql": "SELECT 1"}')
    check "attack: postgres: a BOOKPIPE_READ_DSN superuser is not used" bash -c "printf '%s' '$out' | grep -q 'superuser' && printf '%s' '$out' | tail -1 | grep -qx 503"
    serve_stop
}

attack_tests() {
    need_e2e
    mkdir -p attack && cd attack || return
    attack_duckdb
    attack_postgres
    cd ..
}
