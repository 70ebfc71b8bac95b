/* out.c: the recommendation tables, written beside the live ones and
 * swapped in together in one transaction (see rec.h). A run that fails
 * half way leaves the previous tables as they were. */
#include "rec_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/batch.h"
#include "../core/buf.h"

const char *const rec_tables[] = {"rec_items", "rec_item_neighbors", "rec_user_top", "rec_eval",
                                  NULL};

enum { T_ITEMS, T_NEIGHBORS, T_USER_TOP, T_EVAL, T_N };

static const col_def items_cols[] = {
    {"isbn", COL_TEXT, true}, {"item_isbn", COL_TEXT, true}, {"readers", COL_INT, true},
    {"item_readers", COL_INT, true},
};
static const col_def neighbors_cols[] = {
    {"isbn", COL_TEXT, true}, {"neighbor_isbn", COL_TEXT, true},
    {"score", COL_DOUBLE, true}, {"rank", COL_INT, true},
};
static const col_def user_top_cols[] = {
    {"user_id", COL_BIGINT, true}, {"rank", COL_INT, true},      {"isbn", COL_TEXT, true},
    {"score", COL_DOUBLE, false},  {"because_isbn", COL_TEXT, false},
};
static const col_def eval_cols[] = {
    {"method", COL_TEXT, true},    {"metric", COL_TEXT, true},  {"value", COL_DOUBLE, true},
    {"ci_low", COL_DOUBLE, false}, {"ci_high", COL_DOUBLE, false}, {"users", COL_INT, true},
    {"seeds", COL_INT, true},      {"params", COL_TEXT, false}, {"evaluated_at", COL_TIMESTAMP, true},
};
/* written under these names, renamed to rec_tables[] at the swap */
static const table_def defs[T_N] = {
    {"rec_items__new", items_cols, 4},
    {"rec_item_neighbors__new", neighbors_cols, 4},
    {"rec_user_top__new", user_top_cols, 5},
    {"rec_eval__new", eval_cols, 9},
};

/* What fills a table: a cursor over its rows and a function that adds
 * rows from it to a batch until the batch is full or the rows end. The
 * same producer feeds a target's writer and DuckDB's parallel pull. */
typedef struct prod prod;
typedef bp_status (*fill_fn)(prod *p, batch *b, bool *done);

struct prod {
    const rec_model *m, *lists;
    const rec_publish_opts *o;
    const table_def *def;
    fill_fn fill;
    size_t pos, sub;        /* the row: an edition, item or user, and a rank */
    const rec_hit *hits;    /* rec_user_top: every user's list, n a user */
    const uint32_t *count;
    uint32_t n;
    int64_t now;
    /* the pull: one producer for the engine's threads */
    pthread_mutex_t mu;
    bp_status st;
};

static bp_status set_text(batch *b, int c, const char *s)
{
    return s ? batch_set_text(b, c, s, strlen(s)) : (batch_set_null(b, c), BP_OK);
}

static bp_status fill_items(prod *p, batch *b, bool *done)
{
    const rec_data *d = p->m->d;
    for (; p->pos < d->n_editions && !batch_full(b); p->pos++) {
        uint32_t i = d->ed_item[p->pos];
        if (set_text(b, 0, d->ed_isbn[p->pos]) || set_text(b, 1, d->isbn[i]))
            return BP_ENOMEM;
        batch_set_int(b, 2, d->ed_readers[p->pos]);
        batch_set_int(b, 3, d->pop[i]);
        batch_commit(b);
    }
    *done = p->pos >= d->n_editions;
    return BP_OK;
}

static bp_status fill_neighbors(prod *p, batch *b, bool *done)
{
    const rec_data *d = p->m->d;
    uint32_t keep = p->o->neighbors ? p->o->neighbors : 20;
    while (p->pos < d->n_items && !batch_full(b)) {
        const uint32_t *nb;
        const float *sc;
        uint32_t n;
        rec_neighbors(p->m, (uint32_t)p->pos, &nb, &sc, &n);
        if (p->sub >= n || p->sub >= keep) {
            p->pos++, p->sub = 0;
            continue;
        }
        if (set_text(b, 0, d->isbn[p->pos]) || set_text(b, 1, d->isbn[nb[p->sub]]))
            return BP_ENOMEM;
        batch_set_double(b, 2, sc[p->sub]);
        batch_set_int(b, 3, (int64_t)p->sub + 1);
        batch_commit(b);
        p->sub++;
    }
    *done = p->pos >= d->n_items;
    return BP_OK;
}

static bp_status fill_user_top(prod *p, batch *b, bool *done)
{
    const rec_data *d = p->lists->d;
    while (p->pos < d->n_users && !batch_full(b)) {
        if (p->sub >= p->count[p->pos]) {
            p->pos++, p->sub = 0;
            continue;
        }
        const rec_hit *h = &p->hits[p->pos * p->n + p->sub];
        batch_set_int(b, 0, d->user_id[p->pos]);
        batch_set_int(b, 1, (int64_t)p->sub + 1);
        if (set_text(b, 2, d->isbn[h->item]) ||
            set_text(b, 4, h->because == REC_NONE ? NULL : d->isbn[h->because]))
            return BP_ENOMEM;
        if (h->because == REC_NONE)
            batch_set_null(b, 3);
        else
            batch_set_double(b, 3, h->score);
        batch_commit(b);
        p->sub++;
    }
    *done = p->pos >= d->n_users;
    return BP_OK;
}

/* One row per method and measure: the five ranking metrics with their
 * intervals, then coverage, mean popularity and the two timings. */
static bp_status fill_eval(prod *p, batch *b, bool *done)
{
    static const char *const extra[] = {"coverage", "mean_popularity", "train_seconds",
                                        "users_per_second"};
    const int per = REC_NMETRICS + 4;
    for (; p->pos < (size_t)p->o->neval * per && !batch_full(b); p->pos++) {
        const rec_eval_row *r = &p->o->eval[p->pos / per];
        int q = (int)(p->pos % per);
        const double more[] = {r->coverage, r->mean_pop, r->train_s, r->users_per_s};
        bool ranked = q < REC_NMETRICS;
        if (set_text(b, 0, r->method) ||
            set_text(b, 1, ranked ? rec_metric_names[q] : extra[q - REC_NMETRICS]) ||
            set_text(b, 7, p->o->eval_params))
            return BP_ENOMEM;
        batch_set_double(b, 2, ranked ? r->mean[q] : more[q - REC_NMETRICS]);
        if (ranked) {
            batch_set_double(b, 3, r->lo[q]);
            batch_set_double(b, 4, r->hi[q]);
        } else {
            batch_set_null(b, 3), batch_set_null(b, 4);
        }
        batch_set_int(b, 5, r->users);
        batch_set_int(b, 6, r->seeds);
        batch_set_int(b, 8, p->now);
        batch_commit(b);
    }
    *done = p->pos >= (size_t)p->o->neval * per;
    return BP_OK;
}

/* ---- every user's list, scored on all cores before it is written -------- */

typedef struct {
    const rec_model *m;
    uint32_t n;
    rec_hit *hits;        /* [user][n] */
    uint32_t *count;
    rec_scratch *s[64];
} top_job;

static void top_users(void *ctx, int th, size_t lo, size_t hi)
{
    top_job *j = ctx;
    const rec_data *d = j->m->d;
    for (size_t u = lo; u < hi; u++)
        j->count[u] = (uint32_t)rec_top(j->m, j->s[th], d->uitem + d->uptr[u],
                                        d->uptr[u + 1] - d->uptr[u], j->hits + u * j->n, j->n);
}

static bp_status score_users(const rec_model *m, uint32_t n, top_job *j, bp_err *err)
{
    const rec_data *d = m->d;
    int threads = rec_threads(m->m.threads);
    *j = (top_job){m, n, malloc(((size_t)d->n_users * n + 1) * sizeof *j->hits),
                   malloc(((size_t)d->n_users + 1) * sizeof *j->count), {0}};
    bp_status st = !j->hits || !j->count ? bp_fail(err, BP_ENOMEM, "out of memory") : BP_OK;
    for (int t = 0; t < threads && st == BP_OK; t++)
        st = rec_scratch_new(m, &j->s[t], err);
    rec_blas_threads(1);
    st = st ? st : rec_parallel(threads, d->n_users, 256, top_users, j, err);
    rec_blas_threads(rec_threads(0));
    for (int t = 0; t < threads; t++)
        rec_scratch_free(j->s[t]);
    return st;
}

/* ---- the two ways of writing ------------------------------------------------ */

/* The engine pulls batches from its own threads: made under a lock, freed
 * when the engine is done with them. */
static const batch *pull_next(void *ctx)
{
    prod *p = ctx;
    pthread_mutex_lock(&p->mu);
    batch *b = NULL;
    bool done = false;
    if (p->st == BP_OK) {
        b = batch_new(p->def);
        p->st = !b ? BP_ENOMEM : p->fill(p, b, &done);
        if (p->st != BP_OK || b->n == 0) {
            batch_free(b);
            b = NULL;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

static void pull_done(void *ctx, const batch *b)
{
    (void)ctx;
    batch_free((batch *)b);
}

static bp_status write_pulled(wh *w, const char *schema, const table_def *def, prod *p,
                              bp_err *err)
{
    bp_status st = wh_create_table(w, schema, def, true, err);
    wh_source src = {pull_next, pull_done, p};
    st = st ? st : wh_load_source(w, schema, def, &src, err);
    if (st == BP_OK && p->st != BP_OK)
        st = bp_fail(err, p->st, "out of memory");
    return st;
}

static bp_status write_batches(wh *w, const char *schema, const table_def *def, prod *p,
                               bp_err *err)
{
    wh_writer *x = NULL;
    batch *b = batch_new(def);
    bp_status st = !b ? bp_fail(err, BP_ENOMEM, "out of memory")
                      : wh_writer_open(w, schema, def, &x, err);
    for (bool done = false; st == BP_OK && !done;) {
        batch_clear(b);
        if ((st = p->fill(p, b, &done)) != BP_OK)
            st = bp_fail(err, st, "out of memory");
        st = st ? st : wh_writer_batch(x, b, err);
    }
    bp_err e2 = {0};
    bp_status st2 = wh_writer_close(x, st == BP_OK ? err : &e2);
    batch_free(b);
    return st != BP_OK ? st : st2;
}

static bp_status write_table(wh *w, int t, const rec_model *m, const rec_model *lists,
                             const rec_publish_opts *o, bp_err *err)
{
    static const fill_fn fills[T_N] = {fill_items, fill_neighbors, fill_user_top, fill_eval};
    prod p = {.m = m, .lists = lists, .o = o, .def = &defs[t], .fill = fills[t],
              .now = (int64_t)time(NULL) * 1000000,
              .mu = PTHREAD_MUTEX_INITIALIZER};
    top_job j = {0};
    bp_status st = BP_OK;
    if (t == T_USER_TOP) {
        st = score_users(lists, o->top_n ? o->top_n : 10, &j, err);
        p.hits = j.hits, p.count = j.count, p.n = j.n;
    }
    if (st == BP_OK)
        st = wh_can_pull(w) ? write_pulled(w, o->schema, &defs[t], &p, err)
                            : write_batches(w, o->schema, &defs[t], &p, err);
    free(j.hits), free(j.count);
    if (st != BP_OK)
        bp_err_prefix(err, "writing %s.%s", o->schema, rec_tables[t]);
    return st;
}

/* ---- the swap ------------------------------------------------------------- */

static bp_status swap_in(wh *w, const char *schema, int first, int end, bp_err *err)
{
    buf q = {0};
    bp_status st = wh_begin(w, err);
    for (int t = first; t < end && st == BP_OK; t++) {
        q.len = 0;
        if (buf_adds(&q, "DROP TABLE IF EXISTS ") || buf_add_relation(&q, schema, rec_tables[t]) ||
            buf_adds(&q, wh_drop_cascade(w)))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        st = st ? st : wh_exec(w, q.p, err);
        q.len = 0;
        if (st == BP_OK && (buf_adds(&q, "ALTER TABLE ") ||
                            buf_add_relation(&q, schema, defs[t].name) ||
                            buf_adds(&q, " RENAME TO ") || buf_add_ident(&q, rec_tables[t])))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        st = st ? st : wh_exec(w, q.p, err);
    }
    st = st ? st : wh_commit(w, err);
    if (st != BP_OK)
        wh_rollback(w);
    buf_free(&q);
    return st;
}

bp_status rec_publish(wh *w, const rec_model *m, const rec_model *lists,
                      const rec_publish_opts *o, bp_err *err)
{
    /* rec_eval comes last in rec_tables: without new rows it stays; without
     * a model only it is written */
    int first = m ? 0 : T_EVAL, end = o->eval ? T_N : T_EVAL;
    bp_status st = BP_OK;
    for (int t = first; t < end && st == BP_OK; t++)
        st = write_table(w, t, m, lists, o, err);
    st = st ? st : swap_in(w, o->schema, first, end, err);
    if (st != BP_OK) { /* the live tables are untouched; the half-written copies go */
        buf q = {0};
        for (int t = first; t < end; t++) {
            q.len = 0;
            bp_err e2 = {0};
            if (!buf_adds(&q, "DROP TABLE IF EXISTS ") && !buf_add_relation(&q, o->schema, defs[t].name))
                if (wh_exec(w, q.p, &e2) != BP_OK) {
                    /* left for the next run's writer to replace */
                }
        }
        buf_free(&q);
    }
    return st;
}

bp_status rec_refresh(wh *w, const rec_data *d, const rec_method *lists,
                      const rec_publish_opts *o, double *train_s, double *write_s, bp_err *err)
{
    rec_method knn;
    if (!rec_method_parse("knn", &knn))
        return bp_fail(err, BP_EINTERNAL, "no knn method");
    knn.k = lists->k, knn.shrink = lists->shrink, knn.min_readers = lists->min_readers;
    rec_model *nb = NULL, *top = NULL;
    double t0 = rec_now();
    bp_status st = rec_train(d, &knn, &nb, err);
    if (st == BP_OK && lists->kind != REC_KNN)
        st = rec_train(d, lists, &top, err);
    double t1 = rec_now();
    st = st ? st : rec_publish(w, nb, top ? top : nb, o, err);
    if (train_s)
        *train_s = t1 - t0;
    if (write_s)
        *write_s = rec_now() - t1;
    rec_model_free(top);
    rec_model_free(nb);
    return st;
}
