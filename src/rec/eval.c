/* eval.c: leave-one-out evaluation over the full ranking (see rec.h).
 *
 * Per seed: a seeded sample of up to max_users users with at least
 * min_items interactions; one of each one's interactions, at random, held
 * out; every method trained on the rest; each test user's held-out item
 * ranked against every item they do not have (no sampled candidates:
 * Krichene & Rendle 2020 show those overstate and reorder methods). The
 * per-user values of all seeds are pooled: the mean, and a percentile
 * bootstrap over users for the 95% interval. */
#include "rec_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rec_metric_names[REC_NMETRICS] = {"hr@10", "ndcg@10", "mrr", "hr@100",
                                                    "ndcg@100"};

void rec_metrics_of_rank(uint32_t r, double m[REC_NMETRICS])
{
    double gain = 1 / log2((double)r + 2);
    m[REC_HR10] = r < 10;
    m[REC_NDCG10] = r < 10 ? gain : 0;
    m[REC_MRR] = r < 100 ? 1.0 / (r + 1) : 0;
    m[REC_HR100] = r < 100;
    m[REC_NDCG100] = r < 100 ? gain : 0;
}

void rec_eval_defaults(rec_eval_opts *o)
{
    *o = (rec_eval_opts){5000, 5, 3, 1, 1000};
}

typedef struct {
    const rec_model *m;
    const rec_data *train;
    const uint32_t *users, *hold;
    double *vals;          /* [user][metric] */
    rec_scratch *s[64];
    uint8_t *covered[64];  /* per thread: items in some top-10 */
    double pop_sum[64];
} score_job;

static void score_users(void *ctx, int th, size_t lo, size_t hi)
{
    score_job *j = ctx;
    const rec_data *t = j->train;
    rec_hit top[10];
    for (size_t k = lo; k < hi; k++) {
        uint32_t u = j->users[k];
        const uint32_t *have = t->uitem + t->uptr[u];
        size_t nhave = t->uptr[u + 1] - t->uptr[u];
        uint32_t r;
        size_t n = rec_rank_top(j->m, j->s[th], have, nhave, j->hold[u], &r, top, 10);
        rec_metrics_of_rank(r, j->vals + k * REC_NMETRICS);
        for (size_t i = 0; i < n; i++) {
            j->covered[th][top[i].item] = 1;
            j->pop_sum[th] += t->pop[top[i].item];
        }
    }
}

/* The seed's test users (ascending) and the item each holds out. */
static uint32_t pick_users(const rec_data *d, const rec_eval_opts *o, uint64_t seed,
                           uint32_t *users, uint32_t *hold)
{
    rec_rng r = {seed * UINT64_C(0x9E3779B97F4A7C15) + 7};
    uint32_t n = 0;
    for (uint32_t u = 0; u < d->n_users; u++) {
        hold[u] = REC_NONE;
        if (d->uptr[u + 1] - d->uptr[u] >= o->min_items)
            users[n++] = u;
    }
    uint32_t want = n < o->max_users ? n : o->max_users;
    for (uint32_t i = 0; i < want; i++) { /* partial Fisher-Yates */
        uint32_t j = i + (uint32_t)rec_rng_below(&r, n - i);
        uint32_t t = users[i];
        users[i] = users[j], users[j] = t;
    }
    for (uint32_t i = 0; i < want; i++) {
        uint32_t u = users[i];
        size_t deg = d->uptr[u + 1] - d->uptr[u];
        hold[u] = d->uitem[d->uptr[u] + rec_rng_below(&r, deg)];
    }
    return want;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Mean and percentile-bootstrap 95% interval of each metric over n users. */
static bp_status summarise(const double *vals, size_t n, int boot, uint64_t seed,
                           rec_eval_row *row, bp_err *err)
{
    double *means = malloc((size_t)(boot > 0 ? boot : 1) * sizeof *means);
    if (!means)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (int k = 0; k < REC_NMETRICS; k++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += vals[i * REC_NMETRICS + k];
        row->mean[k] = n ? s / (double)n : 0;
        rec_rng r = {seed + (uint64_t)k};
        for (int b = 0; b < boot; b++) {
            double bs = 0;
            for (size_t i = 0; i < n; i++)
                bs += vals[rec_rng_below(&r, n) * REC_NMETRICS + k];
            means[b] = n ? bs / (double)n : 0;
        }
        qsort(means, (size_t)boot, sizeof *means, cmp_double);
        row->lo[k] = boot > 0 ? means[(size_t)(0.025 * boot)] : row->mean[k];
        row->hi[k] = boot > 0 ? means[(size_t)(0.975 * (boot - 1))] : row->mean[k];
    }
    free(means);
    return BP_OK;
}

typedef struct {
    const rec_data *d;
    const rec_method *methods;
    int nmethods;
    const rec_eval_opts *o;
    rec_eval_row *rows;
    void (*progress)(void *, const char *);
    void *pctx;
    double **vals;         /* per method: [seed * users + k][metric] */
    uint32_t *users, *hold;
} eval_run;

static void say(eval_run *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(eval_run *e, const char *fmt, ...)
{
    if (!e->progress)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->progress(e->pctx, msg);
}

/* One method on one seed's training matrix. */
static bp_status eval_method(eval_run *e, const rec_data *train, int mi, int s, uint32_t nu,
                             bp_err *err)
{
    rec_method meth = e->methods[mi];
    meth.seed = e->o->seed + (uint64_t)s;
    rec_eval_row *row = &e->rows[mi];
    double t0 = rec_now();
    rec_model *m = NULL;
    bp_status st = rec_train(train, &meth, &m, err);
    if (st != BP_OK)
        return st;
    double t1 = rec_now();
    int threads = rec_threads(meth.threads);
    score_job j = {.m = m, .train = train, .users = e->users, .hold = e->hold,
                   .vals = e->vals[mi] + (size_t)s * e->o->max_users * REC_NMETRICS};
    for (int t = 0; t < threads && st == BP_OK; t++) {
        st = rec_scratch_new(m, &j.s[t], err);
        if (st == BP_OK && !(j.covered[t] = calloc((size_t)train->n_items + 1, 1)))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    rec_blas_threads(1);
    st = st ? st : rec_parallel(threads, nu, 16, score_users, &j, err);
    rec_blas_threads(rec_threads(0));
    double t2 = rec_now();
    if (st == BP_OK) {
        size_t cov = 0;
        double pops = 0;
        for (uint32_t i = 0; i < train->n_items; i++) {
            bool any = false;
            for (int t = 0; t < threads; t++)
                any |= j.covered[t][i];
            cov += any;
        }
        for (int t = 0; t < threads; t++)
            pops += j.pop_sum[t];
        int ns = e->o->seeds;
        row->coverage += (train->n_items ? (double)cov / train->n_items : 0) / ns;
        row->mean_pop += (nu ? pops / (10.0 * nu) : 0) / ns;
        row->train_s += (t1 - t0) / ns;
        row->users_per_s += (t2 > t1 ? nu / (t2 - t1) : 0) / ns;
        say(e, "seed %d: %s trained in %.2f s, %u users scored in %.2f s", s + 1, row->method,
            t1 - t0, nu, t2 - t1);
    }
    for (int t = 0; t < threads; t++)
        rec_scratch_free(j.s[t]), free(j.covered[t]);
    rec_model_free(m);
    return st;
}

static bp_status eval_seed(eval_run *e, int s, uint32_t *nu_out, bp_err *err)
{
    uint32_t nu = pick_users(e->d, e->o, e->o->seed + (uint64_t)s, e->users, e->hold);
    *nu_out = nu;
    if (nu == 0)
        return bp_fail(err, BP_EINPUT, "no user has %u interactions or more: nothing to "
                       "evaluate on", e->o->min_items);
    rec_data train;
    bp_status st = rec_data_without(e->d, e->hold, &train, err);
    for (int mi = 0; mi < e->nmethods && st == BP_OK; mi++)
        st = eval_method(e, &train, mi, s, nu, err);
    rec_data_free(&train);
    return st;
}

bp_status rec_evaluate(const rec_data *d, const rec_method *methods, int nmethods,
                       const rec_eval_opts *o, rec_eval_row *rows,
                       void (*progress)(void *ctx, const char *msg), void *ctx, bp_err *err)
{
    eval_run e = {d, methods, nmethods, o, rows, progress, ctx, NULL, NULL, NULL};
    size_t per = (size_t)o->seeds * o->max_users * REC_NMETRICS;
    e.vals = calloc((size_t)nmethods, sizeof *e.vals);
    e.users = malloc(((size_t)d->n_users + 1) * sizeof *e.users);
    e.hold = malloc(((size_t)d->n_users + 1) * sizeof *e.hold);
    bp_status st = BP_OK;
    if (!e.vals || !e.users || !e.hold)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    for (int mi = 0; mi < nmethods && st == BP_OK; mi++) {
        memset(&rows[mi], 0, sizeof rows[mi]);
        rec_method_name(&methods[mi], rows[mi].method, sizeof rows[mi].method);
        rows[mi].seeds = o->seeds;
        if (!(e.vals[mi] = malloc(per * sizeof *e.vals[mi])))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    uint32_t nu = 0;
    for (int s = 0; s < o->seeds && st == BP_OK; s++)
        st = eval_seed(&e, s, &nu, err);
    for (int mi = 0; mi < nmethods && st == BP_OK; mi++) {
        /* every seed had the same number of test users (the same eligible set) */
        size_t n = (size_t)nu;
        double *pooled = e.vals[mi];
        if (nu < o->max_users) /* close the gaps between seeds' blocks */
            for (int s = 1; s < o->seeds; s++)
                memmove(pooled + (size_t)s * n * REC_NMETRICS,
                        pooled + (size_t)s * o->max_users * REC_NMETRICS,
                        n * REC_NMETRICS * sizeof *pooled);
        rows[mi].users = nu;
        st = summarise(pooled, n * (size_t)o->seeds, o->boot, o->seed, &rows[mi], err);
    }
    for (int mi = 0; e.vals && mi < nmethods; mi++)
        free(e.vals[mi]);
    free(e.vals), free(e.users), free(e.hold);
    return st;
}
