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

/* A table being written: its writer and the batch being filled. */
typedef struct {
    wh *w;
    wh_writer *x;
    batch *b;
} sink;

static bp_status sink_open(sink *s, wh *w, const char *schema, const table_def *def, bp_err *err)
{
    *s = (sink){w, NULL, batch_new(def)};
    if (!s->b)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    return wh_writer_open(w, schema, def, &s->x, err);
}

/* The row just set is complete; send the batch when it is full. */
static bp_status sink_commit(sink *s, bp_err *err)
{
    batch_commit(s->b);
    if (!batch_full(s->b))
        return BP_OK;
    bp_status st = wh_writer_batch(s->x, s->b, err);
    batch_clear(s->b);
    return st;
}

static bp_status sink_close(sink *s, bp_status st, bp_err *err)
{
    if (st == BP_OK && s->x)
        st = wh_writer_batch(s->x, s->b, err);
    bp_err e2 = {0};
    bp_status st2 = wh_writer_close(s->x, st == BP_OK ? err : &e2);
    batch_free(s->b);
    return st != BP_OK ? st : st2;
}

static bp_status set_text(batch *b, int c, const char *s)
{
    return s ? batch_set_text(b, c, s, strlen(s)) : (batch_set_null(b, c), BP_OK);
}

/* ---- the tables --------------------------------------------------------- */

static bp_status write_items(sink *s, const rec_data *d, bp_err *err)
{
    bp_status st = BP_OK;
    for (size_t e = 0; e < d->n_editions && st == BP_OK; e++) {
        uint32_t i = d->ed_item[e];
        if (set_text(s->b, 0, d->ed_isbn[e]) || set_text(s->b, 1, d->isbn[i]))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        batch_set_int(s->b, 2, d->ed_readers[e]);
        batch_set_int(s->b, 3, d->pop[i]);
        st = sink_commit(s, err);
    }
    return st;
}

static bp_status write_neighbors(sink *s, const rec_model *m, uint32_t keep, bp_err *err)
{
    const rec_data *d = m->d;
    bp_status st = BP_OK;
    for (uint32_t i = 0; i < d->n_items && st == BP_OK; i++) {
        const uint32_t *nb;
        const float *sc;
        uint32_t n;
        rec_neighbors(m, i, &nb, &sc, &n);
        for (uint32_t r = 0; r < n && r < keep && st == BP_OK; r++) {
            if (set_text(s->b, 0, d->isbn[i]) || set_text(s->b, 1, d->isbn[nb[r]]))
                return bp_fail(err, BP_ENOMEM, "out of memory");
            batch_set_double(s->b, 2, sc[r]);
            batch_set_int(s->b, 3, r + 1);
            st = sink_commit(s, err);
        }
    }
    return st;
}

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

/* Every user's list, scored on all cores, then written in user order. */
static bp_status write_user_top(sink *s, const rec_model *m, uint32_t n, bp_err *err)
{
    const rec_data *d = m->d;
    int threads = rec_threads(m->m.threads);
    top_job j = {m, n, malloc(((size_t)d->n_users * n + 1) * sizeof *j.hits),
                 malloc(((size_t)d->n_users + 1) * sizeof *j.count), {0}};
    bp_status st = !j.hits || !j.count ? bp_fail(err, BP_ENOMEM, "out of memory") : BP_OK;
    for (int t = 0; t < threads && st == BP_OK; t++)
        st = rec_scratch_new(m, &j.s[t], err);
    st = st ? st : rec_parallel(threads, d->n_users, 256, top_users, &j, err);
    for (uint32_t u = 0; u < d->n_users && st == BP_OK; u++)
        for (uint32_t r = 0; r < j.count[u] && st == BP_OK; r++) {
            const rec_hit *h = &j.hits[(size_t)u * n + r];
            batch_set_int(s->b, 0, d->user_id[u]);
            batch_set_int(s->b, 1, r + 1);
            if (set_text(s->b, 2, d->isbn[h->item]) ||
                set_text(s->b, 4, h->because == REC_NONE ? NULL : d->isbn[h->because]))
                st = bp_fail(err, BP_ENOMEM, "out of memory");
            if (h->because == REC_NONE)
                batch_set_null(s->b, 3);
            else
                batch_set_double(s->b, 3, h->score);
            st = st ? st : sink_commit(s, err);
        }
    for (int t = 0; t < threads; t++)
        rec_scratch_free(j.s[t]);
    free(j.hits), free(j.count);
    return st;
}

/* One row per method and measure: the five ranking metrics with their
 * intervals, then coverage, mean popularity and the two timings. */
static bp_status write_eval(sink *s, const rec_publish_opts *o, bp_err *err)
{
    static const char *const extra[] = {"coverage", "mean_popularity", "train_seconds",
                                        "users_per_second"};
    int64_t now = (int64_t)time(NULL) * 1000000;
    bp_status st = BP_OK;
    for (int k = 0; k < o->neval && st == BP_OK; k++) {
        const rec_eval_row *r = &o->eval[k];
        const double more[] = {r->coverage, r->mean_pop, r->train_s, r->users_per_s};
        for (int q = 0; q < REC_NMETRICS + 4 && st == BP_OK; q++) {
            bool ranked = q < REC_NMETRICS;
            if (set_text(s->b, 0, r->method) ||
                set_text(s->b, 1, ranked ? rec_metric_names[q] : extra[q - REC_NMETRICS]) ||
                set_text(s->b, 7, o->eval_params))
                return bp_fail(err, BP_ENOMEM, "out of memory");
            batch_set_double(s->b, 2, ranked ? r->mean[q] : more[q - REC_NMETRICS]);
            if (ranked) {
                batch_set_double(s->b, 3, r->lo[q]);
                batch_set_double(s->b, 4, r->hi[q]);
            } else {
                batch_set_null(s->b, 3), batch_set_null(s->b, 4);
            }
            batch_set_int(s->b, 5, r->users);
            batch_set_int(s->b, 6, r->seeds);
            batch_set_int(s->b, 8, now);
            st = sink_commit(s, err);
        }
    }
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

static bp_status write_table(wh *w, int t, const rec_model *m, const rec_model *lists,
                             const rec_publish_opts *o, bp_err *err)
{
    sink s;
    bp_status st = sink_open(&s, w, o->schema, &defs[t], err);
    if (st == BP_OK) {
        switch (t) {
        case T_ITEMS: st = write_items(&s, m->d, err); break;
        case T_NEIGHBORS: st = write_neighbors(&s, m, o->neighbors ? o->neighbors : 20, err); break;
        case T_USER_TOP: st = write_user_top(&s, lists, o->top_n ? o->top_n : 10, err); break;
        default: st = write_eval(&s, o, err); break;
        }
    }
    st = sink_close(&s, st, err);
    if (st != BP_OK)
        bp_err_prefix(err, "writing %s.%s", o->schema, rec_tables[t]);
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
