# pg_server.sh: start and stop a throwaway PostgreSQL for the tests.
# Source it; pg_start sets PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
# (a cluster in a temp folder, run by an unprivileged user, on a free
# loopback port; password auth over TCP); pg_stop stops it and removes it.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_start() {
    local bin port p
    bin=$(pg_bin)
    [ -n "$bin" ] || { echo "pg_server: no PostgreSQL installed (apt-get install postgresql)" >&2; return 1; }
    PG_TMP=$(mktemp -d /tmp/bookpipe-pg.XXXXXX)
    chmod 755 "$PG_TMP"
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then
        local u=postgres
        id "$u" >/dev/null 2>&1 || u=nobody
        chown "$u" "$PG_TMP"
        PG_AS=(runuser -u "$u" --)
    fi
    echo "bookpipe-test-secret" > "$PG_TMP/pw"
    chmod 644 "$PG_TMP/pw"
    "${PG_AS[@]}" "$bin/initdb" -D "$PG_TMP/data" -U bookpipe --pwfile="$PG_TMP/pw" \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$PG_TMP/initdb.log" 2>&1 ||
        { cat "$PG_TMP/initdb.log" >&2; return 1; }
    # a port that looks free can be taken before the server binds it (two
    # suites starting at once): then the next one
    for p in $(seq 55432 55532); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
        if "${PG_AS[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
            -o "-p $p -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" \
            start >/dev/null; then
            port=$p
            break
        fi
        grep -q "Address already in use" "$PG_TMP/server.log" || { cat "$PG_TMP/server.log" >&2; return 1; }
    done
    [ -n "${port:-}" ] || { cat "$PG_TMP/server.log" >&2; return 1; }
    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=bookpipe PGPASSWORD=bookpipe-test-secret PGDATABASE=books
    "$bin/createdb" books || return 1
    PG_BIN=$bin
}

pg_stop() {
    [ -n "${PG_TMP:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PG_TMP"
    PG_TMP=
}
