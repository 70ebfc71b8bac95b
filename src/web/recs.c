/* recs.c: recommendations and books over HTTP.
 *
 *   GET  /api/recommend?user=ID[&n=10]    a reader's list, each with its "because"
 *   POST /api/recommend {"isbns": [...], "n": 10}   a list for someone not in
 *        the data, scored from the neighbour table (no retraining)
 *   GET  /api/books/ISBN                  the book, its ratings, its work
 *   GET  /api/books/ISBN/similar[?n=10]   readers of this book also read
 *   GET  /api/users/ID                    a reader: age, place, the books they rated
 *   GET  /api/search?q=TEXT               books by title, author or ISBN; a user by id
 *
 * Reads go through the sandboxed read-only connection like every request;
 * every value from the URL or body is a bound parameter (src/rec/serve.c). */
#include "web_int.h"

#include <stdlib.h>
#include <string.h>

#include "../core/num.h"
#include "../rec/serve.h"

static const char *schema_of(const web_srv *s) { return s->o->run.w.schema; }

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *list_json(const rec_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++) {
        const rec_book *b = &l->v[i];
        json_t *because = b->because_isbn ? json_pack("{s:s, s:o}", "isbn", b->because_isbn,
                                                      "title", str_or_null(b->because_title))
                                          : json_null();
        json_array_append_new(
            a, json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "rank", (int)i + 1, "isbn",
                         b->isbn, "title", str_or_null(b->title), "author", str_or_null(b->author),
                         "year", b->year ? json_integer(b->year) : json_null(), "image",
                         str_or_null(b->image), "score",
                         b->has_score ? json_real(b->score) : json_null(), "because", because));
    }
    return a;
}

/* n from the query string: 1..100, default 10 */
static int count_arg(const web_req *r)
{
    const char *v = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "n");
    int64_t n = 10;
    if (v && !num_parse_range(v, 1, 100, &n))
        n = 10;
    return (int)n;
}

/* A failed read: a missing table means nothing was published yet. */
static enum MHD_Result fail(const web_req *r, bp_status st, const bp_err *err)
{
    if (st == BP_EUSAGE)
        return web_error(r, 400, err->msg);
    if (strstr(err->msg, "rec_") && (strstr(err->msg, "does not exist") || strstr(err->msg, "not exist")))
        return web_error(r, 404, "no recommendations yet: run the pipeline (its recommend block) "
                                 "or `bookpipe recommend`");
    return web_error(r, 500, err->msg);
}

/* A list's answer, {key: what, "known", "items"} (key NULL: without it),
 * or the failure that stopped it; frees the list. */
static enum MHD_Result send_list(const web_req *r, bp_status st, const bp_err *err, rec_list *l,
                                 const char *key, const char *what)
{
    if (st != BP_OK)
        return fail(r, st, err);
    json_t *j = json_pack("{s:b, s:o}", "known", l->known, "items", list_json(l));
    if (j && key)
        json_object_set_new(j, key, json_string(what));
    rec_list_free(l);
    return web_json(r, 200, j);
}

static enum MHD_Result for_user(web_srv *s, const web_req *r, wh *w)
{
    const char *user = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "user");
    if (!user)
        return web_error(r, 400, "name the reader: /api/recommend?user=ID");
    rec_list l;
    bp_err err = {0};
    bp_status st = rec_serve_user(w, schema_of(s), user, count_arg(r), &l, &err);
    return send_list(r, st, &err, &l, "user", user);
}

static enum MHD_Result for_isbns(web_srv *s, const web_req *r, wh *w)
{
    json_error_t je;
    json_t *in = r->n ? json_loadb(r->body, r->n, 0, &je) : NULL;
    json_t *list = in ? json_object_get(in, "isbns") : NULL;
    if (!json_is_array(list) || json_array_size(list) > 100) {
        json_decref(in);
        return web_error(r, 400, "send {\"isbns\": [\"0439136350\", ...]} (at most 100)");
    }
    const char *isbns[100];
    int n = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *v = json_string_value(json_array_get(list, i));
        if (!v || strlen(v) > 20) {
            json_decref(in);
            return web_error(r, 400, "each ISBN is a string of at most 20 characters");
        }
        isbns[n++] = v;
    }
    json_int_t want = json_integer_value(json_object_get(in, "n"));
    rec_list l;
    bp_err err = {0};
    bp_status st = rec_serve_isbns(w, schema_of(s), isbns, n,
                                   want >= 1 && want <= 100 ? (int)want : 10, &l, &err);
    json_decref(in);
    return send_list(r, st, &err, &l, NULL, NULL);
}

/* ---- books ------------------------------------------------------------------ */

static int on_book_row(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    json_t *o = ctx;
    for (size_t c = 0; c < nc; c++) {
        int64_t i;
        json_t *x = !v[c]                                                   ? json_null()
                    : cols[c].kind == 'i' && num_parse_i64(v[c], strlen(v[c]), &i) ? json_integer(i)
                    : cols[c].kind == 'n' || cols[c].kind == 'f' ? json_real(strtod(v[c], NULL))
                                                                 : json_string(v[c]);
        json_object_set_new(o, cols[c].name, x);
    }
    return 1;
}

/* The book's row, its ratings and its work, by ISBN. */
static enum MHD_Result book(web_srv *s, const web_req *r, wh *w, const char *isbn)
{
    const char *sch = schema_of(s);
    buf q = {0};
    /* the book's ratings in one pass over them */
    bool ok = !buf_adds(&q, "SELECT b.isbn, b.title, b.author, b.year, b.publisher, b.image_url_s, "
                            "b.image_url_m, b.image_url_l, coalesce(r.ratings, 0) AS ratings, "
                            "coalesce(r.explicit_ratings, 0) AS explicit_ratings, r.avg_rating FROM ") &&
              !buf_add_relation(&q, sch, "books") &&
              !buf_adds(&q, " b LEFT JOIN (SELECT isbn, count(*) AS ratings, "
                            "count(CASE WHEN rating > 0 THEN 1 END) AS explicit_ratings, "
                            "avg(CASE WHEN rating > 0 THEN rating END) AS avg_rating FROM ") &&
              !buf_add_relation(&q, sch, "ratings") &&
              !buf_adds(&q, " WHERE isbn = $1 GROUP BY isbn) r ON r.isbn = b.isbn WHERE b.isbn = $1");
    json_t *o = json_object();
    bp_err err = {0};
    const char *p[1] = {isbn};
    wh_user_query uq = {1, s->o->statement_timeout_ms, 1, p};
    bool more = false;
    bp_status st = ok && o ? wh_query_user(w, q.p, &uq, on_book_row, o, &more, &err)
                           : bp_fail(&err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    if (st != BP_OK) {
        json_decref(o);
        return web_error(r, 500, err.msg);
    }
    if (!json_object_size(o)) {
        json_decref(o);
        return web_error(r, 404, "no book with that ISBN in the books table");
    }
    return web_json(r, 200, o);
}

static enum MHD_Result similar(web_srv *s, const web_req *r, wh *w, const char *isbn)
{
    rec_list l;
    bp_err err = {0};
    bp_status st = rec_serve_similar(w, schema_of(s), isbn, count_arg(r), &l, &err);
    return send_list(r, st, &err, &l, "isbn", isbn);
}

/* ---- readers ---------------------------------------------------------------- */

static int on_rated(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    json_t *o = json_object();
    for (size_t c = 0; o && c < nc; c++) {
        int64_t i;
        json_object_set_new(o, cols[c].name,
                            !v[c] ? json_null()
                            : cols[c].kind == 'i' && num_parse_i64(v[c], strlen(v[c]), &i)
                                ? json_integer(i)
                                : json_string(v[c]));
    }
    return json_array_append_new(ctx, o) != 0;
}

/* The reader's row and the books they rated (explicit first, best first). */
static enum MHD_Result reader(web_srv *s, const web_req *r, wh *w, const char *id)
{
    int64_t uid;
    if (!num_parse_i64(id, strlen(id), &uid) || uid <= 0)
        return web_error(r, 400, "a user id is a number");
    const char *sch = schema_of(s);
    buf q = {0};
    json_t *who = json_object(), *rated = json_array();
    bp_err err = {0};
    const char *p[1] = {id};
    wh_user_query uq = {1, s->o->statement_timeout_ms, 1, p};
    bool more = false, ok = who && rated &&
        !buf_adds(&q, "SELECT user_id, age, city, state, country FROM ") &&
        !buf_add_relation(&q, sch, "users") && !buf_adds(&q, " WHERE user_id = CAST($1 AS BIGINT)");
    bp_status st = ok ? wh_query_user(w, q.p, &uq, on_book_row, who, &more, &err)
                      : bp_fail(&err, BP_ENOMEM, "out of memory");
    q.len = 0;
    ok = !buf_adds(&q, "SELECT r.isbn, b.title, b.author, r.rating FROM ") &&
         !buf_add_relation(&q, sch, "ratings") && !buf_adds(&q, " r LEFT JOIN ") &&
         !buf_add_relation(&q, sch, "books") &&
         !buf_adds(&q, " b ON b.isbn = r.isbn WHERE r.user_id = CAST($1 AS BIGINT) "
                       "ORDER BY r.rating DESC, r.isbn LIMIT 200");
    uq.max_rows = 200;
    if (st == BP_OK)
        st = ok ? wh_query_user(w, q.p, &uq, on_rated, rated, &more, &err)
                : bp_fail(&err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    if (st != BP_OK || !json_object_size(who)) {
        json_decref(who), json_decref(rated);
        return st != BP_OK ? web_error(r, 500, err.msg) : web_error(r, 404, "no such user");
    }
    json_object_set_new(who, "rated", rated);
    json_object_set_new(who, "more", json_boolean(more));
    return web_json(r, 200, who);
}

/* ---- search ----------------------------------------------------------------- */

static int on_hit(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    (void)cols;
    if (nc < 4)
        return 1;
    json_array_append_new(ctx, json_pack("{s:o, s:o, s:o, s:o}", "isbn", str_or_null(v[0]), "title",
                                         str_or_null(v[1]), "author", str_or_null(v[2]),
                                         "image", str_or_null(v[3])));
    return 0;
}

static enum MHD_Result search(web_srv *s, const web_req *r, wh *w)
{
    const char *text = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "q");
    if (!text || !*text || strlen(text) > 200)
        return web_error(r, 400, "search with ?q=TEXT (a title, an author, an ISBN or a user id)");
    const char *sch = schema_of(s);
    buf q = {0}, like = {0};
    /* the pattern's own % and _ are matched as written */
    bool ok = !buf_addc(&like, '%');
    for (const char *c = text; ok && *c; c++)
        ok = !((*c == '%' || *c == '_' || *c == '\\') && buf_addc(&like, '\\')) &&
             !buf_addc(&like, (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c));
    ok = ok && !buf_addc(&like, '%');
    ok = ok && !buf_adds(&q, "SELECT isbn, title, author, image_url_s FROM ") &&
         !buf_add_relation(&q, sch, "books") &&
         !buf_adds(&q, " WHERE isbn = upper($1) OR lower(title) LIKE $2 ESCAPE '\\' "
                       "OR lower(author) LIKE $2 ESCAPE '\\' ORDER BY (isbn = upper($1)) DESC, "
                       "length(title), isbn LIMIT 20");
    json_t *books = json_array();
    bp_err err = {0};
    const char *p[2] = {text, like.p};
    wh_user_query uq = {20, s->o->statement_timeout_ms, 2, p};
    bool more = false;
    bp_status st = ok ? wh_query_user(w, q.p, &uq, on_hit, books, &more, &err)
                      : bp_fail(&err, BP_ENOMEM, "out of memory");
    buf_free(&q), buf_free(&like);
    if (st != BP_OK) {
        json_decref(books);
        return web_error(r, 500, err.msg);
    }
    int64_t uid;
    json_t *user = num_parse_i64(text, strlen(text), &uid) && uid > 0 ? json_integer(uid) : json_null();
    return web_json(r, 200, json_pack("{s:o, s:o}", "books", books, "user", user));
}

enum MHD_Result web_recs(web_srv *s, const web_req *r)
{
    const char *u = r->url;
    enum MHD_Result res;
    char isbn[32] = "", user[32] = "";
    bool sim = false;
    if (!strncmp(u, "/api/users/", 11)) {
        size_t n = strlen(u + 11);
        if (n == 0 || n >= sizeof user || r->post)
            return web_error(r, 404, "GET /api/users/ID");
        memcpy(user, u + 11, n + 1);
    }
    if (!strncmp(u, "/api/books/", 11)) {
        const char *rest = u + 11, *slash = strchr(rest, '/');
        size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
        sim = slash && !strcmp(slash, "/similar");
        if (n == 0 || n >= sizeof isbn || (slash && !sim) || r->post)
            return web_error(r, 404, "GET /api/books/ISBN or /api/books/ISBN/similar");
        memcpy(isbn, rest, n);
        isbn[n] = 0;
    }
    wh *w = web_open_ro(s, r, &res);
    if (!w)
        return res;
    if (isbn[0])
        res = sim ? similar(s, r, w, isbn) : book(s, r, w, isbn);
    else if (user[0])
        res = reader(s, r, w, user);
    else if (!strcmp(u, "/api/search"))
        res = search(s, r, w);
    else
        res = r->post ? for_isbns(s, r, w) : for_user(s, r, w);
    web_close_ro(s, w);
    return res;
}
