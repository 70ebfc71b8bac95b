# net.sh: tests of what goes over the network (sourced by run.sh): the
# Kaggle download against a stand-in server on loopback
# (tests/net/kaggle_server.mjs), and the S3 lake against s3rver, an
# S3-compatible server from npm (web/package-lock.json), behind
# tests/net/s3_gate.mjs, which checks every request's SigV4 signature (with
# the aws4 package), payload SHA-256 and Content-MD5, as S3 does and s3rver
# does not.

# start_node_server LOG PATTERN CMD...: run CMD in the background until LOG
# shows PATTERN; sets node_pid and node_line (the matching line)
start_node_server() {
    local log=$1 pat=$2 i
    shift 2
    "$@" > "$log" 2>&1 &
    node_pid=$!
    node_line=
    for i in $(seq 1 100); do
        node_line=$(grep -m1 "$pat" "$log" || true)
        [ -n "$node_line" ] && return 0
        sleep 0.1
    done
    return 1
}

# outcome RC WANT PATTERN...: the command exited WANT (- for any) and its
# output ($res; not $out, which check overwrites) holds every pattern
outcome() {
    local rc=$1 want=$2 p
    shift 2
    if [ "$want" != - ] && [ "$rc" != "$want" ]; then
        echo "exit $rc, wanted $want"; printf '%s\n' "$res"; return 1
    fi
    for p; do
        # a here-string, not a pipe: under pipefail, grep -q leaving early
        # could make the writer's SIGPIPE the pipeline's status
        grep -q -- "$p" <<< "$res" || { echo "no '$p' in:"; printf '%s\n' "$res"; return 1; }
    done
}
# lacks PATTERN: $res does not hold it
lacks() { ! grep -q -- "$1" <<< "$res"; }
stats_have() { curl -s --noproxy '*' "$api/control/stats" | grep -q -- "$1"; }

kaggle_tests() {
    need_e2e
    mkdir -p kaggle && cd kaggle || return
    (cd ../data && zip -q ../kaggle/dataset-src.zip Books.csv Users.csv Ratings.csv)
    if ! start_node_server server.log '^api=' node "$here/net/kaggle_server.mjs" dataset-src.zip \
            tester secret-key-0123; then
        not_ok "kaggle: the stand-in server starts" "$(cat server.log)"
        cd .. && return
    fi
    local api=${node_line#api=} res rc users
    users=$(q ../e2e.duckdb "SELECT count(*) FROM users")
    kg() { # kg [env...] -- run args: bookpipe run --kaggle in a clean HOME
        env -i PATH="$PATH" HOME="$PWD/home" XDG_CACHE_HOME="$PWD/cache" \
            BOOKPIPE_KAGGLE_URL="$api/api/v1" no_proxy='*' NO_PROXY='*' "$@"
    }
    mkdir -p home
    res=$(kg "$bp" run --kaggle --warehouse k.duckdb --no-lake --no-models --plain 2>&1)
    rc=$?
    check "kaggle: no credentials: exit 3 and where they were looked for" outcome $rc 3 'KAGGLE_USERNAME and KAGGLE_KEY' "$PWD/home/.kaggle/kaggle.json"
    mkdir -p home/.kaggle
    printf '{"username": "tester", "key": "secret-key-0123"}\n' > home/.kaggle/kaggle.json
    chmod 644 home/.kaggle/kaggle.json
    res=$(kg "$bp" run --kaggle --warehouse k.duckdb --no-lake --no-models --plain 2>&1)
    rc=$?
    check "kaggle: downloads the default dataset through the redirect and runs (exit 0)" outcome $rc 0 'arashnic/book-recommendation-dataset downloaded' 
    check "kaggle: a kaggle.json others can read gets Kaggle's warning" outcome $rc 0 'readable by other users' 
    check "kaggle: the zip is cached in the XDG cache and equals the served one" cmp dataset-src.zip cache/bookpipe/kaggle/arashnic/book-recommendation-dataset/dataset.zip
    check "kaggle: the data read from inside the zip is loaded" test "$(q k.duckdb "SELECT count(*) FROM users")" = "$users"
    check "kaggle: the storage host never saw the credentials" stats_have '"auth_seen_on_storage":0' 
    chmod 600 home/.kaggle/kaggle.json
    res=$(kg "$bp" run --kaggle arashnic/book-recommendation-dataset --warehouse k.duckdb --no-lake --no-models --plain 2>&1)
    rc=$?
    check "kaggle: an unchanged remote file is not downloaded again (304)" outcome $rc 0 'unchanged, not downloaded'
    check "kaggle: the server answered 304, one full download in all" stats_have '"full":1,"partial":0,"not_modified":1'
    check "kaggle: and the run skips the unchanged blocks" outcome $rc 0 'clean .*skipped' 
    # an interrupted download, resumed
    rm -rf cache
    curl -s --noproxy '*' -X POST "$api/control/cut" > /dev/null
    res=$(kg "$bp" run --kaggle --warehouse k2.duckdb --no-lake --no-models --plain 2>&1)
    rc=$?
    local dir=cache/bookpipe/kaggle/arashnic/book-recommendation-dataset
    check "kaggle: a dropped download fails clearly (exit 3)" outcome $rc 3 'a later run resumes'
    check "kaggle: and leaves a partial file, no zip" test ! -e $dir/dataset.zip -a -s $dir/dataset.zip.part
    res=$(kg "$bp" run --kaggle --warehouse k2.duckdb --no-lake --no-models --plain 2>&1)
    rc=$?
    check "kaggle: the next run resumes it and completes" outcome $rc 0 'downloaded (resumed)'
    check "kaggle: with a Range request (206)" stats_have '"partial":1' 
    check "kaggle: the resumed zip equals the served one" cmp dataset-src.zip $dir/dataset.zip
    check "kaggle: no partial file is left" test ! -e $dir/dataset.zip.part
    # errors
    res=$(kg KAGGLE_USERNAME=tester KAGGLE_KEY=wrong-key-987 "$bp" run --kaggle --warehouse k3.duckdb --no-lake --plain 2>&1)
    rc=$?
    check "kaggle: a wrong key: exit 3, 401 explained" outcome $rc 3 'refused the credentials'
    check "kaggle: and the key is not printed" lacks 'wrong-key-987' 
    res=$(kg "$bp" run --kaggle nobody/missing --warehouse k3.duckdb --no-lake --plain 2>&1)
    check "kaggle: an unknown dataset: 404 explained" outcome $? 3 'no dataset nobody/missing on Kaggle'
    res=$(kg "$bp" run --kaggle owner/forbidden --warehouse k3.duckdb --no-lake --plain 2>&1)
    check "kaggle: a forbidden dataset: 403 explained" outcome $? 3 '403 Forbidden.*accept the dataset' 
    res=$(kg BOOKPIPE_KAGGLE_URL=http://127.0.0.1:1/api/v1 "$bp" run --kaggle --warehouse k3.duckdb --no-lake --plain 2>&1)
    rc=$?
    check "kaggle: the network down: exit 3, says so" outcome $rc 3 'check the network' 
    res=$(kg "$bp" doctor --kaggle --warehouse k3.duckdb --no-lake 2>&1)
    check "kaggle: doctor says where the credentials come from" outcome $? - "ok *Kaggle credentials *arashnic/book-recommendation-dataset from $PWD/home/.kaggle/kaggle.json"
    check "kaggle: and not the key" lacks 'secret-key-0123'
    res=$(kg "$bp" run --kaggle --data ../data --warehouse k3.duckdb 2>&1)
    check "kaggle: --kaggle with --data is refused (exit 2)" outcome $? 2 'not both' 
    kill "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    cd ..
}

# s3get KEY: an object of the test bucket on stdout, fetched with curl's own
# SigV4 (independent of bookpipe's client)
s3get() {
    curl -s --noproxy '*' --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER \
        -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
        "$s3url/lake/$1"
}
# s3keys PREFIX: the keys under PREFIX, one per line
s3keys() { s3get "?list-type=2&prefix=$(printf '%s' "$1" | sed 's|/|%2F|g')" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }
# s3rows TABLE_PREFIX: rows in all the Parquet parts under it, read by DuckDB
s3rows() {
    local k n=0 i=0
    rm -rf parts && mkdir parts
    for k in $(s3keys "$1"); do
        s3get "$(printf '%s' "$k" | sed 's/=/%3D/g')" > "parts/p$i.parquet"
        i=$((i + 1))
    done
    [ "$i" -gt 0 ] && n=$("$bp" query --csv --warehouse s3.duckdb "SELECT count(*) FROM read_parquet('parts/*.parquet')" | tail -1)
    echo "$n"
}

s3_tests() {
    need_e2e
    mkdir -p s3 && cd s3 || return
    local rver="$here/../web/node_modules/.bin/s3rver" res rc ratings n
    if [ ! -x "$rver" ]; then
        not_ok "s3: s3rver is installed (scripts/deps.sh test)"
        cd .. && return
    fi
    if ! start_node_server s3rver.log 'listening on' "$rver" -d store -a 127.0.0.1 -p 0 \
            --configure-bucket lake; then
        not_ok "s3: s3rver starts" "$(cat s3rver.log)"
        cd .. && return
    fi
    local s3pid=$node_pid gatepid rverport
    rverport=$(printf '%s' "$node_line" | grep -o '127.0.0.1:[0-9]*' | cut -d: -f2)
    if ! start_node_server gate.log '^port=' node "$here/net/s3_gate.mjs" "$rverport" S3RVER S3RVER; then
        not_ok "s3: the signature gate starts" "$(cat gate.log)"
        kill "$s3pid"; cd .. && return
    fi
    gatepid=$node_pid
    s3url="http://127.0.0.1:${node_line#port=}"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
    ratings=$(q ../e2e.duckdb "SELECT count(*) FROM ratings")
    res=$(AWS_ENDPOINT_URL=$s3url "$bp" run --data ../data --warehouse s3.duckdb --lake s3://lake/books \
          --lake-rows-per-part 5000 --no-models --plain 2>&1)
    check "s3: a run writes the lake to the bucket (AWS_ENDPOINT_URL)" outcome $? 0 'export_parquet *completed'
    check "s3: the lake's one latest object names run 1" test "$(s3get books/latest)" = "run=1"
    n=$(s3keys "books/run%3D1/ratings/" | wc -l)
    check "s3: ratings are written in parts ($n of about 5,000 rows)" test "$n" -ge 3
    check "s3: the parts read back through DuckDB hold every rating" test "$(s3rows "books/run%3D1/ratings/")" = "$ratings"
    # multipart: parts of 16 KB, 3 at once
    res=$("$bp" run --data ../data --warehouse s3.duckdb --lake s3://lake/mp --s3-endpoint "$s3url" \
          --s3-part-size 16KB --s3-parallel 3 --no-models --full-refresh --plain 2>&1)
    check "s3: a multipart upload (16 KB parts, 3 in flight; --s3-endpoint)" outcome $? 0 'export_parquet *completed'
    n=$(grep -c 'mp/run%3D2/ratings/part-0.parquet?partNumber=' s3rver.log)
    check "s3: the object went up in parts ($n part uploads seen by the server)" test "$n" -gt 3
    check "s3: and reads back whole" test "$(s3rows "mp/run%3D2/ratings/")" = "$ratings"
    res=$("$bp" doctor --data ../data --warehouse s3.duckdb --lake s3://lake/books --s3-endpoint "$s3url" 2>&1)
    check "s3: doctor lists the bucket with the credentials found" outcome $? 0 'ok *S3 lake *s3://lake/books: listed'
    # a profile from ~/.aws instead of the variables
    mkdir -p home/.aws
    printf '[lake]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' > home/.aws/credentials
    printf '[profile lake]\nregion = eu-west-1\n' > home/.aws/config
    res=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_REGION HOME="$PWD/home" AWS_PROFILE=lake \
          "$bp" run --data ../data --warehouse s3.duckdb --lake s3://lake/prof --s3-endpoint "$s3url" \
          --no-models --plain 2>&1)
    check "s3: credentials and region from AWS_PROFILE in ~/.aws" outcome $? 0 'export_parquet *completed'
    res=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$PWD/nohome" \
          "$bp" run --data ../data --warehouse s3n.duckdb --lake s3://lake/none --s3-endpoint "$s3url" --no-models --plain 2>&1)
    check "s3: no credentials: exit 5, where to put them" outcome $? 5 'no AWS credentials: set AWS_ACCESS_KEY_ID'
    res=$(AWS_SECRET_ACCESS_KEY=wrong-secret-42x "$bp" run --data ../data --warehouse s3n.duckdb \
          --lake s3://lake/bad --s3-endpoint "$s3url" --no-models --plain 2>&1)
    check "s3: a wrong secret: the refused signature, exit 5" outcome $? 5 'SignatureDoesNotMatch'
    check "s3: and the secret is not printed" lacks 'wrong-secret-42x'
    check "s3: a lake that cannot be written stops the run before the warehouse changes" test -z "$(q s3n.duckdb "SELECT 1 FROM information_schema.tables WHERE table_name = 'users'" 2>/dev/null)"
    # the server goes away mid-upload: the old run stays `latest`
    local before
    before=$(q s3.duckdb "SELECT count(*) FROM bookpipe_meta.runs")
    if start_node_server cut.log '^port=' node "$here/net/s3_gate.mjs" "$rverport" S3RVER S3RVER 12; then
        res=$("$bp" run --data ../data --warehouse s3.duckdb --lake s3://lake/books \
              --s3-endpoint "http://127.0.0.1:${node_line#port=}" --s3-part-size 16KB --s3-parallel 1 \
              --no-models --full-refresh --plain 2>&1)
        check "s3: the server stopping mid-upload fails the run clearly (exit 5)" outcome $? 5 'export_parquet *failed: .*S3 .*s3://lake/'
        check "s3: the latest pointer did not move" test "$(s3get books/latest)" = "run=1"
        check "s3: the warehouse kept its previous load" test "$(q s3.duckdb "SELECT count(*) FROM ratings")" = "$ratings"
        check "s3: no staging files are left" bash -c "! ls -d \${TMPDIR:-/tmp}/bookpipe-lake-$(id -u)-*-run$((before + 1)) 2>/dev/null"
        kill "$node_pid" 2>/dev/null
        wait "$node_pid" 2>/dev/null
    else
        not_ok "s3: the stopping gate starts" "$(cat cut.log)"
    fi
    res=$("$bp" run --data ../data --warehouse s3.duckdb --lake s3://lake/books --s3-endpoint "$s3url" \
          --no-models --full-refresh --plain 2>&1)
    check "s3: the next run publishes and moves latest" test "$(s3get books/latest)" != run=1
    check "s3: the gate checked every request's signature and body" bash -c "curl -s --noproxy '*' $s3url/_gate/stats | grep -q '\"checked\":[1-9]'"
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
    kill "$s3pid" "$gatepid" 2>/dev/null
    wait "$s3pid" "$gatepid" 2>/dev/null
    cd ..
}
