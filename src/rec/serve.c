/* serve.c: reading recommendations back (see serve.h). */
#include "serve.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/num.h"

void rec_list_free(rec_list *l)
{
    free(l->v);
    arena_free(&l->a);
    memset(l, 0, sizeof *l);
}

static const char *dup(rec_list *l, const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = arena_strndup(&l->a, s, strlen(s));
    if (!d)
        *oom = true;
    return d;
}

static bool push(rec_list *l, const rec_book *b)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        rec_book *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return false;
        l->v = nv, l->cap = nc;
    }
    l->v[l->n++] = *b;
    return true;
}

/* Rows of (isbn, title, author, year, image, score, because_isbn,
 * because_title) into the list. */
static int on_book(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    rec_list *l = ctx;
    bool oom = false;
    (void)cols;
    if (nc < 8)
        return 1;
    int64_t year = 0;
    if (v[3] && !num_parse_i64(v[3], strlen(v[3]), &year))
        year = 0;
    rec_book b = {dup(l, v[0], &oom), dup(l, v[1], &oom), dup(l, v[2], &oom),
                  dup(l, v[4], &oom), dup(l, v[6], &oom), dup(l, v[7], &oom),
                  year, v[5] ? strtod(v[5], NULL) : 0, v[5] != NULL};
    return oom || !b.isbn || !push(l, &b);
}

static bp_status run(wh *w, const buf *q, int np, const char *const *params, wh_row_fn fn,
                     void *ctx, bp_err *err)
{
    if (!q->p)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    wh_user_query uq = {0, 30000, np, params};
    bool truncated = false;
    return wh_query_user(w, q->p, &uq, fn, ctx, &truncated, err);
}

/* "SELECT <col>, " and the book's columns (from books joined as b) */
static bool add_book_cols(buf *q, const char *col)
{
    return !buf_printf(q, "SELECT %s, b.title, b.author, b.year, b.image_url_m", col);
}

/* " LEFT JOIN schema.books alias ON alias.isbn = col" */
static bool add_books_join(buf *q, const char *schema, const char *alias, const char *col)
{
    return !buf_printf(q, " LEFT JOIN ") && !buf_add_relation(q, schema, "books") &&
           !buf_printf(q, " %s ON %s.isbn = %s", alias, alias, col);
}

/* The most-read items (not in skip), after the list's own. */
static bp_status add_popular(wh *w, const char *schema, int n, rec_list *l, bp_err *err)
{
    buf q = {0};
    bool ok = add_book_cols(&q, "i.item_isbn") &&
              !buf_adds(&q, ", NULL, NULL, NULL FROM (SELECT DISTINCT item_isbn, item_readers FROM ") &&
              !buf_add_relation(&q, schema, "rec_items") && !buf_adds(&q, ") i") &&
              add_books_join(&q, schema, "b", "i.item_isbn") &&
              !buf_printf(&q, " ORDER BY i.item_readers DESC, i.item_isbn LIMIT %d",
                          n + (int)l->n + 1);
    rec_list more = {0};
    bp_status st = ok ? run(w, &q, 0, NULL, on_book, &more, err)
                      : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    /* keep the ones not listed yet */
    size_t want = l->n + (size_t)n;
    for (size_t i = 0; st == BP_OK && i < more.n && l->n < want; i++) {
        bool seen = false;
        for (size_t k = 0; k < l->n && !seen; k++)
            seen = !strcmp(l->v[k].isbn, more.v[i].isbn);
        bool oom = false;
        rec_book b = more.v[i];
        b.isbn = dup(l, b.isbn, &oom), b.title = dup(l, b.title, &oom);
        b.author = dup(l, b.author, &oom), b.image = dup(l, b.image, &oom);
        if (!seen && (oom || !push(l, &b)))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    rec_list_free(&more);
    return st;
}

static bool all_digits(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int on_count(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    (void)nc, (void)cols;
    int64_t n = 0;
    *(long long *)ctx = v[0] && num_parse_i64(v[0], strlen(v[0]), &n) ? n : 0;
    return 0;
}

bp_status rec_serve_user(wh *w, const char *schema, const char *user_id, int n, rec_list *out,
                         bp_err *err)
{
    memset(out, 0, sizeof *out);
    if (!all_digits(user_id))
        return bp_fail(err, BP_EUSAGE, "a user id is a number ('%.40s' is not)", user_id);
    buf q = {0};
    bool ok = add_book_cols(&q, "t.isbn") &&
              !buf_adds(&q, ", t.score, t.because_isbn, bb.title FROM ") &&
              !buf_add_relation(&q, schema, "rec_user_top") && !buf_adds(&q, " t") &&
              add_books_join(&q, schema, "b", "t.isbn") &&
              add_books_join(&q, schema, "bb", "t.because_isbn") &&
              !buf_printf(&q, " WHERE t.user_id = CAST($1 AS BIGINT) ORDER BY t.rank LIMIT %d", n);
    const char *p[1] = {user_id};
    bp_status st = ok ? run(w, &q, 1, p, on_book, out, err)
                      : bp_fail(err, BP_ENOMEM, "out of memory");
    out->known = out->n > 0;
    /* no list: a reader without ratings (the most-read books then), or one
     * who has read all there is (nothing then, never a book they have) */
    long long rated = 0;
    q.len = 0;
    if (st == BP_OK && !out->known) {
        ok = !buf_adds(&q, "SELECT count(*) FROM ") && !buf_add_relation(&q, schema, "ratings") &&
             !buf_adds(&q, " WHERE user_id = CAST($1 AS BIGINT)");
        st = ok ? run(w, &q, 1, p, on_count, &rated, err) : bp_fail(err, BP_ENOMEM, "out of memory");
        out->known = rated > 0;
    }
    buf_free(&q);
    if (st == BP_OK && !out->known)
        st = add_popular(w, schema, n, out, err);
    if (st != BP_OK)
        rec_list_free(out);
    return st;
}

bp_status rec_serve_similar(wh *w, const char *schema, const char *isbn, int n, rec_list *out,
                            bp_err *err)
{
    memset(out, 0, sizeof *out);
    buf q = {0};
    const char *p[1] = {isbn};
    long long known = 0;
    bool ok = !buf_adds(&q, "SELECT count(*) FROM ") && !buf_add_relation(&q, schema, "rec_items") &&
              !buf_adds(&q, " WHERE isbn = $1");
    bp_status st = ok ? run(w, &q, 1, p, on_count, &known, err)
                      : bp_fail(err, BP_ENOMEM, "out of memory");
    q.len = 0;
    ok = add_book_cols(&q, "nb.neighbor_isbn") && !buf_adds(&q, ", nb.score, NULL, NULL FROM ") &&
         !buf_add_relation(&q, schema, "rec_item_neighbors") && !buf_adds(&q, " nb") &&
         add_books_join(&q, schema, "b", "nb.neighbor_isbn") &&
         !buf_adds(&q, " WHERE nb.isbn = (SELECT min(item_isbn) FROM ") &&
         !buf_add_relation(&q, schema, "rec_items") &&
         !buf_printf(&q, " WHERE isbn = $1) ORDER BY nb.rank LIMIT %d", n);
    if (st == BP_OK)
        st = ok ? run(w, &q, 1, p, on_book, out, err) : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    out->known = known > 0;
    if (st != BP_OK)
        rec_list_free(out);
    return st;
}

/* ---- someone not in the data ------------------------------------------------ */

typedef struct {
    char *isbn, *because;
    double score, best;
} cand;

typedef struct {
    char **have;       /* the items of the given ISBNs */
    char **given;      /* the ISBN given for each (named in "because") */
    int nhave;
    cand *c;
    size_t n, cap;
    bool oom;
} scorer;

static int on_item(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    scorer *s = ctx;
    (void)nc, (void)cols;
    if (!v[0] || !v[1] || s->nhave >= 100)
        return 0;
    for (int i = 0; i < s->nhave; i++)
        if (!strcmp(s->have[i], v[1]))
            return 0;
    s->have[s->nhave] = strdup(v[1]);
    s->given[s->nhave] = strdup(v[0]);
    if (!s->have[s->nhave] || !s->given[s->nhave])
        return s->oom = true, 1;
    s->nhave++;
    return 0;
}

static int on_neighbor(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    if (!v) /* a result without rows: only its columns */
        return 0;
    scorer *s = ctx;
    (void)nc, (void)cols;
    if (!v[0] || !v[1] || !v[2])
        return 0;
    for (int i = 0; i < s->nhave; i++)
        if (!strcmp(s->have[i], v[1]))
            return 0; /* already read */
    double sc = strtod(v[2], NULL);
    size_t k = 0;
    while (k < s->n && strcmp(s->c[k].isbn, v[1]))
        k++;
    if (k == s->n) {
        if (s->n == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 64;
            cand *nv = realloc(s->c, ncap * sizeof *nv);
            if (!nv)
                return s->oom = true, 1;
            s->c = nv, s->cap = ncap;
        }
        s->c[s->n] = (cand){strdup(v[1]), NULL, 0, -1};
        if (!s->c[s->n].isbn)
            return s->oom = true, 1;
        s->n++;
    }
    s->c[k].score += sc;
    if (sc > s->c[k].best) {
        s->c[k].best = sc;
        for (int i = 0; i < s->nhave; i++)
            if (!strcmp(s->have[i], v[0]))
                s->c[k].because = s->given[i];
    }
    return 0;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->isbn, y->isbn);
}

/* "$first, $first+1, ..." for n parameters */
static bool add_params(buf *q, int first, int n)
{
    bool ok = true;
    for (int i = 0; i < n && ok; i++)
        ok = !buf_printf(q, "%s$%d", i ? ", " : "", first + i);
    return ok;
}

/* The books' details for the chosen candidates, in their order. */
static bp_status fill_books(wh *w, const char *schema, scorer *s, size_t take, rec_list *out,
                            bp_err *err)
{
    buf q = {0};
    const char *p[200];
    int np = 0;
    for (size_t i = 0; i < take; i++) {
        p[np++] = s->c[i].isbn;
        if (s->c[i].because)
            p[np++] = s->c[i].because;
    }
    bool ok = !buf_adds(&q, "SELECT isbn, title, author, year, image_url_m, NULL, NULL, NULL FROM ") &&
              !buf_add_relation(&q, schema, "books") && !buf_adds(&q, " WHERE isbn IN (") &&
              add_params(&q, 1, np) && !buf_addc(&q, ')');
    rec_list books = {0};
    bp_status st = np == 0 ? BP_OK
                   : ok    ? run(w, &q, np, p, on_book, &books, err)
                           : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    for (size_t i = 0; i < take && st == BP_OK; i++) {
        bool oom = false;
        rec_book b = {dup(out, s->c[i].isbn, &oom), NULL, NULL, NULL,
                      dup(out, s->c[i].because, &oom), NULL, 0, s->c[i].score, true};
        for (size_t k = 0; k < books.n; k++) {
            const rec_book *x = &books.v[k];
            if (!strcmp(x->isbn, s->c[i].isbn)) {
                b.title = dup(out, x->title, &oom), b.author = dup(out, x->author, &oom);
                b.image = dup(out, x->image, &oom), b.year = x->year;
            }
            if (s->c[i].because && !strcmp(x->isbn, s->c[i].because))
                b.because_title = dup(out, x->title, &oom);
        }
        if (oom || !push(out, &b))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    rec_list_free(&books);
    return st;
}

static void scorer_free(scorer *s)
{
    for (int i = 0; i < s->nhave; i++)
        free(s->have[i]), free(s->given[i]);
    for (size_t i = 0; i < s->n; i++)
        free(s->c[i].isbn);
    free(s->c);
}

bp_status rec_serve_isbns(wh *w, const char *schema, const char *const *isbns, int nisbns, int n,
                          rec_list *out, bp_err *err)
{
    memset(out, 0, sizeof *out);
    if (nisbns > 100)
        return bp_fail(err, BP_EUSAGE, "at most 100 ISBNs (%d given)", nisbns);
    char *have[100], *given[100];
    scorer s = {have, given, 0, NULL, 0, 0, false};
    buf q = {0};
    bool ok = !buf_adds(&q, "SELECT isbn, item_isbn FROM ") &&
              !buf_add_relation(&q, schema, "rec_items") && !buf_adds(&q, " WHERE isbn IN (") &&
              add_params(&q, 1, nisbns) && !buf_adds(&q, ") ORDER BY isbn");
    bp_status st = nisbns == 0 ? BP_OK
                   : ok        ? run(w, &q, nisbns, isbns, on_item, &s, err)
                               : bp_fail(err, BP_ENOMEM, "out of memory");
    q.len = 0;
    ok = !buf_adds(&q, "SELECT isbn, neighbor_isbn, score FROM ") &&
         !buf_add_relation(&q, schema, "rec_item_neighbors") &&
         !buf_adds(&q, " WHERE isbn IN (") && add_params(&q, 1, s.nhave) && !buf_addc(&q, ')');
    if (st == BP_OK && s.nhave > 0)
        st = ok ? run(w, &q, s.nhave, (const char *const *)s.have, on_neighbor, &s, err)
                : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    if (st == BP_OK && s.oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    qsort(s.c, s.n, sizeof *s.c, cmp_cand);
    out->known = s.nhave > 0;
    size_t take = s.n < (size_t)n ? s.n : (size_t)n;
    if (st == BP_OK)
        st = fill_books(w, schema, &s, take, out, err);
    if (st == BP_OK && out->n < (size_t)n) {
        /* the read items are not recommended back: list them first, drop after */
        size_t mine = out->n;
        for (int i = 0; i < s.nhave && st == BP_OK; i++) {
            bool oom = false;
            rec_book b = {dup(out, s.have[i], &oom), NULL, NULL, NULL, NULL, NULL, 0, 0, false};
            if (oom || !push(out, &b))
                st = bp_fail(err, BP_ENOMEM, "out of memory");
        }
        size_t marker = out->n;
        st = st ? st : add_popular(w, schema, n - (int)mine, out, err);
        if (st == BP_OK) {
            memmove(out->v + mine, out->v + marker, (out->n - marker) * sizeof *out->v);
            out->n -= marker - mine;
        }
    }
    scorer_free(&s);
    if (st != BP_OK)
        rec_list_free(out);
    return st;
}
