# rec.sh: recommendations end to end. Generated data with tastes (users
# favour two of sixteen genres) has something to find: item-kNN and EASE
# beat popularity on HR@10 there, and do not when tastes are off. The
# pipeline's recommend block publishes the tables (never a book the reader
# has), the API and the command line read them back, and PostgreSQL gets
# the same lists as DuckDB from the same rows.

# A few hand-written rows: five books read in two circles, one titled
# with a script, for the book, reader and search pages in Chromium.
rec_small_data() {
    mkdir -p small && cd small || return
    cat > Books.csv <<'EOF2'
ISBN,Book-Title,Book-Author,Year-Of-Publication,Publisher,Image-URL-S,Image-URL-M,Image-URL-L
0439136350,<script>window.__xss=5</script>,J. K. Rowling,1999,Scholastic,http://images.amazon.com/images/P/0439136350.01.THUMBZZZ.jpg,http://images.amazon.com/images/P/0439136350.01.MZZZZZZZ.jpg,http://images.amazon.com/images/P/0439136350.01.LZZZZZZZ.jpg
0590353403,Sorcerer's Stone,J. K. Rowling,1998,Scholastic,,,
0439064872,Chamber of Secrets,J. K. Rowling,2000,Scholastic,,,
0345339681,The Hobbit,J.R.R. Tolkien,1986,Del Rey,,,
0345339703,The Fellowship of the Ring,J.R.R. Tolkien,1986,Del Rey,,,
EOF2
    printf 'User-ID,Location,Age\n' > Users.csv
    printf 'User-ID,ISBN,Book-Rating\n' > Ratings.csv
    local u
    for u in 1 2 3 4 5 6; do
        printf '%s,"oxford, oxfordshire, united kingdom",3%s\n' "$u" "$u" >> Users.csv
    done
    # users 1-3 read the first three (user 3 not the script book); 4-6 the two Tolkiens
    printf '1,0439136350,9\n1,0590353403,8\n1,0439064872,0\n2,0439136350,0\n2,0590353403,10\n3,0590353403,7\n3,0439064872,6\n' >> Ratings.csv
    printf '4,0345339681,8\n4,0345339703,9\n5,0345339681,0\n5,0345339703,7\n6,0345339681,5\n' >> Ratings.csv
    cd ..
}

rec_browser() {
    local line seen=0 nb
    if [ ! -x /usr/bin/chromium ] || [ ! -d "$here/../web/node_modules/playwright-core" ]; then
        not_ok "rec: browser: chromium or playwright-core is missing: run scripts/deps.sh test"
        return
    fi
    rec_small_data
    rm -f s.duckdb
    check "rec: browser: the pipeline on hand-written rows" "$bp" run --quiet --data small --warehouse s.duckdb --no-lake
    nb=$(q s.duckdb "SELECT neighbor_isbn FROM rec_item_neighbors WHERE isbn = '0439136350' AND rank = 1")
    check "rec: browser: the script book's nearest neighbour is the one read with it most (0590353403)" test "$nb" = 0590353403
    if ! serve_start sserve.log --warehouse s.duckdb --no-lake --no-schedule; then
        not_ok "rec: browser: serve did not start" "$(cat sserve.log)"
        return
    fi
    while IFS= read -r line; do
        case $line in
            "ok - "*) seen=$((seen + 1)); ok "rec: ${line#ok - }" ;;
            "not ok - "*) seen=$((seen + 1)); not_ok "rec: ${line#not ok - }" ;;
            *) echo "$line" ;;
        esac
    done < <(node "$here/browser/books.mjs" "$url" 0439136350 "$nb" 3 2>&1)
    check "rec: browser: all seven page checks ran ($seen)" test "$seen" = 7
    serve_stop
}

# rec_metric DB METHOD_PREFIX METRIC: the stored value from rec_eval
rec_metric() {
    q "$1" "SELECT value FROM rec_eval WHERE method LIKE '$2%' AND metric = '$3'"
}

# gt A B MARGIN: A > B + MARGIN (decimals)
gt() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(a > b + m) }'; }

rec_tests() {
    mkdir -p rec && cd rec || return
    [ -f tastes/Ratings.csv ] || "$bp" gen --out tastes --scale 0.1 --seed 5 --tastes 1 > /dev/null
    [ -f plain/Ratings.csv ] || "$bp" gen --out plain --scale 0.1 --seed 5 > /dev/null
    rm -f t.duckdb p.duckdb
    check "rec: the pipeline runs its recommend block" "$bp" run --quiet --data tastes --warehouse t.duckdb --no-lake
    check "rec: the recommend block completed" test "$(q t.duckdb "SELECT status FROM bookpipe_meta.block_runs WHERE block = 'recommend' ORDER BY run_id DESC LIMIT 1")" = completed
    local users items n
    users=$(q t.duckdb "SELECT count(DISTINCT user_id) FROM ratings")
    check "rec: every reader has a list of 10" test "$(q t.duckdb "SELECT count(DISTINCT user_id) || ' ' || min(rank) || ' ' || max(rank) FROM rec_user_top")" = "$users 1 10"
    check "rec: every rated ISBN is in rec_items" test "$(q t.duckdb "SELECT count(DISTINCT isbn) FROM ratings")" = "$(q t.duckdb "SELECT count(*) FROM rec_items")"
    check "rec: no list holds a book its reader has (any edition)" test "$(q t.duckdb "SELECT count(*) FROM rec_user_top t JOIN rec_items i ON i.item_isbn = t.isbn JOIN ratings r ON r.isbn = i.isbn AND r.user_id = t.user_id")" = 0
    check "rec: neighbours are ranked by score" test "$(q t.duckdb "SELECT count(*) FROM rec_item_neighbors a JOIN rec_item_neighbors b ON a.isbn = b.isbn AND b.rank = a.rank + 1 WHERE b.score > a.score")" = 0
    check "rec: a book is never its own neighbour" test "$(q t.duckdb "SELECT count(*) FROM rec_item_neighbors WHERE isbn = neighbor_isbn")" = 0
    check "rec: each 'because' is a book the reader has" test "$(q t.duckdb "SELECT count(*) FROM rec_user_top t WHERE because_isbn IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rec_items i JOIN ratings r ON r.isbn = i.isbn WHERE i.item_isbn = t.because_isbn AND r.user_id = t.user_id)")" = 0
    out=$("$bp" run --data tastes --warehouse t.duckdb --no-lake 2>&1)
    check "rec: unchanged inputs skip the block" grep -Eq 'recommend +skipped' <<< "$out"

    # the evaluation: tastes on, the item methods win; off, popularity does
    check "rec: evaluate (tastes on)" "$bp" recommend --evaluate --warehouse t.duckdb --seeds 1 --users 2000 --methods popularity,knn,ease,random,als
    local pop knn ease rnd als
    pop=$(rec_metric t.duckdb popularity hr@10); knn=$(rec_metric t.duckdb item-knn hr@10)
    ease=$(rec_metric t.duckdb ease hr@10); rnd=$(rec_metric t.duckdb random hr@10)
    als=$(rec_metric t.duckdb ials hr@10)
    check "rec: with tastes item-kNN beats popularity on HR@10 by 0.005 ($knn vs $pop)" gt "$knn" "$pop" 0.005
    check "rec: with tastes EASE beats popularity on HR@10 by 0.02 ($ease vs $pop)" gt "$ease" "$pop" 0.02
    check "rec: with tastes iALS beats popularity on HR@10 by 0.02 ($als vs $pop)" gt "$als" "$pop" 0.02
    check "rec: popularity beats random ($pop vs $rnd)" gt "$pop" "$rnd" 0.01
    check "rec: rec_eval holds intervals around the means" test "$(q t.duckdb "SELECT count(*) FROM rec_eval WHERE metric = 'hr@10' AND NOT (ci_low <= value AND value <= ci_high)")" = 0
    local first
    first=$(q t.duckdb "SELECT string_agg(method || metric || value, ',' ORDER BY method, metric) FROM rec_eval WHERE metric NOT IN ('train_seconds', 'users_per_second')")
    "$bp" recommend --evaluate --warehouse t.duckdb --seeds 1 --users 2000 --methods popularity,knn,ease,random,als > /dev/null 2>&1
    check "rec: the same seed gives the same numbers" test "$(q t.duckdb "SELECT string_agg(method || metric || value, ',' ORDER BY method, metric) FROM rec_eval WHERE metric NOT IN ('train_seconds', 'users_per_second')")" = "$first"
    # the evaluation as a pipeline block
    cat > eval.yml <<'EOF2'
name: receval
blocks:
  - name: evaluate
    type: recommend
    command: evaluate
EOF2
    check "rec: an evaluate block in a pipeline" "$bp" run --quiet --pipeline eval.yml --data tastes --warehouse t.duckdb --no-lake
    check "rec: it stored five methods' nine measures, saying where they came from" test "$(q t.duckdb "SELECT count(*) || ' ' || count(DISTINCT method) || ' ' || min(params LIKE '%pipeline block evaluate%') FROM rec_eval")" = "45 5 true"
    check "rec: its log has the table" bash -c "'$bp' logs --warehouse t.duckdb \$('$bp' runs --warehouse t.duckdb --limit 1 --csv | awk -F, 'NR == 2 { print \$1 }') evaluate | grep -q 'ials f=32'"
    sed -i 's/command: evaluate/command: nonsense/' eval.yml
    out=$("$bp" run --pipeline eval.yml --data tastes --warehouse t.duckdb --no-lake 2>&1)
    check "rec: a recommend block with an unknown command fails saying what it takes" grep -q "command is popularity, knn, knn-bm25, ease, als or evaluate, not 'nonsense'" <<< "$out"
    check "rec: run on the plain data" "$bp" run --quiet --data plain --warehouse p.duckdb --no-lake --no-models
    check "rec: evaluate (tastes off)" "$bp" recommend --evaluate --warehouse p.duckdb --seeds 1 --users 2000 --methods popularity,knn,ease,als
    pop=$(rec_metric p.duckdb popularity hr@10); knn=$(rec_metric p.duckdb item-knn hr@10)
    ease=$(rec_metric p.duckdb ease hr@10); als=$(rec_metric p.duckdb ials hr@10)
    check "rec: without tastes popularity beats item-kNN ($pop vs $knn)" gt "$pop" "$knn" 0
    check "rec: without tastes popularity beats EASE ($pop vs $ease)" gt "$pop" "$ease" 0
    check "rec: without tastes popularity beats iALS ($pop vs $als)" gt "$pop" "$als" 0

    # a reader who has read every book there is: an empty list, never a book they have
    mkdir -p one
    printf 'ISBN,Book-Title,Book-Author,Year-Of-Publication,Publisher,Image-URL-S,Image-URL-M,Image-URL-L\n0439136350,T,A,1999,P,,,\n' > one/Books.csv
    printf 'User-ID,Location,Age\n1,"a, b, c",30\n' > one/Users.csv
    printf 'User-ID,ISBN,Book-Rating\n1,0439136350,5\n' > one/Ratings.csv
    rm -f one.duckdb
    "$bp" run --quiet --data one --warehouse one.duckdb --no-lake > /dev/null 2>&1
    out=$("$bp" recommend --warehouse one.duckdb --user 1 2>&1)
    check "rec: a reader who has read the whole catalogue is told so, and offered none of it" bash -c "grep -q 'has read every book' <<< \"\$0\" && ! grep -q 0439136350 <<< \"\$0\"" "$out"
    out=$("$bp" recommend --warehouse one.duckdb --evaluate 2>&1); rc=$?
    check "rec: evaluating with no reader of 5 books is an input error that says so" test "$rc" = 3 -a -n "$(grep 'no user has 5 interactions or more' <<< "$out")"

    # the command line and the API read the published tables
    local user isbn sim
    user=$(q t.duckdb "SELECT user_id FROM rec_user_top WHERE because_isbn IS NOT NULL ORDER BY user_id LIMIT 1")
    isbn=$(q t.duckdb "SELECT n.isbn FROM rec_item_neighbors n JOIN books b ON b.isbn = n.isbn GROUP BY n.isbn HAVING count(*) >= 5 ORDER BY n.isbn LIMIT 1")
    out=$("$bp" recommend --user "$user" --warehouse t.duckdb 2>&1)
    check "rec: recommend --user lists ten with a reason" test "$(grep -c '^ *[0-9]* ' <<< "$out")" -ge 10
    out=$("$bp" recommend --isbn "$isbn" --warehouse t.duckdb 2>&1)
    sim=$(q t.duckdb "SELECT neighbor_isbn FROM rec_item_neighbors WHERE isbn = '$isbn' AND rank = 1")
    check "rec: recommend --isbn starts with the nearest neighbour" grep -q "^ *1  $sim" <<< "$out"
    out=$("$bp" recommend --isbn 9999999999 --warehouse t.duckdb 2>&1); rc=$?
    check "rec: an ISBN no one read is an error saying so" test "$rc" = 3 -a -n "$(grep 'no one in the data has read' <<< "$out")"
    # what the answers must hold, read before the server opens the file
    local want_list want_because want_ratings want_top read2 title
    want_list=$(q t.duckdb "SELECT string_agg(isbn, '|' ORDER BY rank) FROM rec_user_top WHERE user_id = $user")
    want_because=$(q t.duckdb "SELECT because_isbn FROM rec_user_top WHERE user_id = $user AND rank = 1")
    want_ratings=$(q t.duckdb "SELECT count(*) FROM ratings WHERE isbn = '$isbn'")
    want_top=$(q t.duckdb "SELECT item_isbn FROM rec_items ORDER BY item_readers DESC, item_isbn LIMIT 1")
    read2=$(q t.duckdb "SELECT isbn FROM rec_item_neighbors GROUP BY isbn ORDER BY count(*) DESC, isbn LIMIT 2" | jq -R . | paste -sd ,)
    title=$(q t.duckdb "SELECT title FROM books WHERE isbn = '$isbn'" | jq -rR @uri)
    if ! serve_start serve.log --warehouse t.duckdb --no-lake --no-schedule; then
        not_ok "rec: serve did not start" "$(cat serve.log)"
        cd .. && return
    fi
    resp=$(api "$url/api/recommend?user=$user")
    check "rec: GET /api/recommend answers" test "$(status_of <<< "$resp")" = 200
    check "rec: its list is the published one, each with its reason" test "$(sed '$d' <<< "$resp" | jq -r '[.items[] | .isbn] | join("|")')" = "$want_list"
    check "rec: the first has a 'because you read' title" test "$(sed '$d' <<< "$resp" | jq -r '.items[0].because.isbn')" = "$want_because"
    resp=$(api "$url/api/recommend?user=987654321")
    check "rec: an unknown reader gets the most-read books" test "$(sed '$d' <<< "$resp" | jq -r '.known, .items[0].isbn' | paste -sd ' ')" = "false $want_top"
    resp=$(api "$url/api/recommend?user=1%20OR%201=1")
    check "rec: a user id that is no number is refused" test "$(status_of <<< "$resp")" = 400
    resp=$(api "$url/api/books/$isbn/similar")
    check "rec: GET /api/books/ISBN/similar lists its neighbours" test "$(sed '$d' <<< "$resp" | jq -r '.items[0].isbn')" = "$sim"
    resp=$(api "$url/api/books/$isbn")
    check "rec: GET /api/books/ISBN has the book and its ratings" test "$(sed '$d' <<< "$resp" | jq -r '.isbn, .ratings' | paste -sd ' ')" = "$isbn $want_ratings"
    local body resp  # not out: check() sets that one
    body="{\"isbns\": [$read2], \"n\": 10}"
    resp=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Content-Type: application/json' --data-binary "$body" "$url/api/recommend")
    check "rec: POST /api/recommend for a new reader answers ten" test "$(sed '$d' <<< "$resp" | jq '.items | length')" = 10
    check "rec: ... none of them a book they listed" test "$(sed '$d' <<< "$resp" | jq -r --argjson read "[$read2]" '[.items[] | select(.isbn as $i | $read | index($i))] | length')" = 0
    check "rec: ... the first named by a book they listed" test "$(sed '$d' <<< "$resp" | jq -r --argjson read "[$read2]" '.items[0].because.isbn as $b | $read | index($b) != null')" = true
    resp=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Content-Type: application/json' --data-binary '{"isbns": "x"}' "$url/api/recommend")
    check "rec: a POST without a list of ISBNs is refused" test "$(status_of <<< "$resp")" = 400
    resp=$(api "$url/api/search?q=$title")
    check "rec: search finds the book by its title" test "$(sed '$d' <<< "$resp" | jq -r --arg i "$isbn" '[.books[] | .isbn] | index($i) != null')" = true
    serve_stop

    rec_browser

    # PostgreSQL: the same rows give the same lists
    # shellcheck source=tests/pg_server.sh
    source "$here/pg_server.sh"
    if ! pg_start; then
        not_ok "rec: could not start a test server"
        cd .. && return
    fi
    check "rec: postgres: the pipeline with its recommend block" "$bp" run --quiet --target postgres --data tastes --no-lake
    check "rec: postgres: the lists equal DuckDB's" test "$(pgq "SELECT md5(string_agg(user_id || ':' || rank || ':' || isbn || ':' || coalesce(because_isbn, ''), ',' ORDER BY user_id, rank)) FROM books_schema.rec_user_top")" = "$(q t.duckdb "SELECT md5(string_agg(user_id || ':' || rank || ':' || isbn || ':' || coalesce(because_isbn, ''), ',' ORDER BY user_id, rank)) FROM rec_user_top")"
    check "rec: postgres: the scores arrive whole (floats go in COPY's binary format)" test "$(pgq "SELECT round(CAST(sum(score) AS numeric), 4) || ' ' || count(*) FROM books_schema.rec_item_neighbors")" = "$(q t.duckdb "SELECT round(CAST(sum(score) AS DECIMAL(18,6)), 4) || ' ' || count(*) FROM rec_item_neighbors")"
    check "rec: postgres: recommend --isbn" bash -c "'$bp' recommend --target postgres --isbn '$isbn' | grep -q '^ *1  $sim'"
    # the server reads them through its read-only login, granted the new tables
    if serve_start pgserve.log --target postgres --no-lake --no-schedule; then
        resp=$(api "$url/api/recommend?user=$user")
        check "rec: postgres: GET /api/recommend through the reader login" test "$(sed '$d' <<< "$resp" | jq -r '[.items[] | .isbn] | join("|")')" = "$want_list"
        resp=$(api "$url/api/books/$isbn/similar")
        check "rec: postgres: GET /api/books/ISBN/similar" test "$(sed '$d' <<< "$resp" | jq -r '.items[0].isbn')" = "$sim"
        resp=$(api -X POST -H 'X-Bookpipe-CSRF: 1' -H 'Content-Type: application/json' --data-binary "$body" "$url/api/recommend")
        check "rec: postgres: POST /api/recommend" test "$(sed '$d' <<< "$resp" | jq '.items | length')" = 10
        serve_stop
    else
        not_ok "rec: postgres: serve did not start" "$(cat pgserve.log)"
    fi
    pg_stop
    cd .. || return
}
