/* model.c: methods, training dispatch and the one ranking every method
 * shares (see rec.h). */
#include "rec_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---------------------------------------------------- */

double rec_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

uint64_t rec_rng_next(rec_rng *r) /* splitmix64 */
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int rec_threads(int want)
{
    if (want > 0)
        return want;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

typedef struct {
    rec_range_fn fn;
    void *ctx;
    size_t n, chunk;
    atomic_size_t next;
    int thread;
} par_job;

typedef struct {
    par_job *job;
    int thread;
} par_arg;

static void *par_main(void *p)
{
    par_arg *a = p;
    par_job *j = a->job;
    for (;;) {
        size_t lo = atomic_fetch_add(&j->next, j->chunk);
        if (lo >= j->n)
            break;
        size_t hi = lo + j->chunk < j->n ? lo + j->chunk : j->n;
        j->fn(j->ctx, a->thread, lo, hi);
    }
    return NULL;
}

bp_status rec_parallel(int threads, size_t n, size_t chunk, rec_range_fn fn, void *ctx,
                       bp_err *err)
{
    int t = rec_threads(threads);
    par_job j = {fn, ctx, n, chunk ? chunk : 1, 0, 0};
    pthread_t tid[64];
    par_arg args[64];
    int started = 0;
    for (int i = 1; i < t; i++) {
        args[i] = (par_arg){&j, i};
        if (pthread_create(&tid[i], NULL, par_main, &args[i]) != 0)
            break;
        started = i;
    }
    args[0] = (par_arg){&j, 0};
    par_main(&args[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    (void)err; /* a thread that could not start leaves its share to the others */
    return BP_OK;
}

/* ---- methods ---------------------------------------------------------- */

static const struct {
    const char *name;
    rec_kind kind;
    bool bm25;
} method_names[] = {
    {"random", REC_RANDOM, false}, {"popularity", REC_POP, false}, {"knn", REC_KNN, false},
    {"knn-bm25", REC_KNN, true},   {"ease", REC_EASE, false},      {"als", REC_ALS, false},
};

bool rec_method_parse(const char *name, rec_method *m)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (!strcmp(name, method_names[i].name)) {
            *m = (rec_method){.kind = method_names[i].kind, .k = 20, .bm25 = method_names[i].bm25,
                              .shrink = 100, .min_readers = 2, .ease_lambda = 500, .factors = 32,
                              .alpha = 10, .reg = 0.1, .iterations = 12, .seed = 1};
            return true;
        }
    return false;
}

void rec_method_name(const rec_method *m, char *out, size_t n)
{
    switch (m->kind) {
    case REC_RANDOM: snprintf(out, n, "random"); break;
    case REC_POP: snprintf(out, n, "popularity"); break;
    case REC_KNN:
        snprintf(out, n, "item-knn %s k=%u shrink=%g", m->bm25 ? "bm25" : "cosine", m->k,
                 m->shrink);
        break;
    case REC_EASE:
        snprintf(out, n, "ease n=%u lambda=%g", m->ease_n ? m->ease_n : rec_ease_default_n(),
                 m->ease_lambda);
        break;
    case REC_ALS:
        snprintf(out, n, "ials f=%u alpha=%g reg=%g it=%u", m->factors, m->alpha, m->reg,
                 m->iterations);
        break;
    }
}

uint32_t rec_ease_default_n(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double mem = pages > 0 && size > 0 ? (double)pages * (double)size : 4e9;
    /* two float matrices of N^2 within mem / 8 */
    double n = sqrt(mem / 8 / 8);
    return n > 6000 ? 6000 : n < 500 ? 500 : (uint32_t)n;
}

/* A random order of the items, for the random method. */
static bp_status random_order(rec_model *m, bp_err *err)
{
    uint32_t n = m->d->n_items;
    m->rand_order = malloc((n ? n : 1) * sizeof *m->rand_order);
    m->rand_pos = malloc((n ? n : 1) * sizeof *m->rand_pos);
    if (!m->rand_order || !m->rand_pos)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    rec_rng r = {m->m.seed};
    for (uint32_t i = 0; i < n; i++)
        m->rand_order[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)rec_rng_below(&r, i);
        uint32_t t = m->rand_order[i - 1];
        m->rand_order[i - 1] = m->rand_order[j], m->rand_order[j] = t;
    }
    for (uint32_t i = 0; i < n; i++)
        m->rand_pos[m->rand_order[i]] = i;
    m->fpos = m->rand_pos, m->forder = m->rand_order;
    return BP_OK;
}

bp_status rec_train(const rec_data *d, const rec_method *meth, rec_model **out, bp_err *err)
{
    rec_model *m = calloc(1, sizeof *m);
    if (!m)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    m->m = *meth;
    m->d = d;
    m->fpos = d->popos, m->forder = d->by_pop;
    bp_status st = BP_OK;
    switch (meth->kind) {
    case REC_RANDOM: st = random_order(m, err); break;
    case REC_POP: break;
    case REC_KNN: st = rec_knn_train(m, err); break;
    case REC_EASE: st = rec_ease_train(m, err); break;
    case REC_ALS: st = rec_als_train(m, err); break;
    }
    if (st != BP_OK) {
        rec_model_free(m);
        return st;
    }
    *out = m;
    return BP_OK;
}

void rec_model_free(rec_model *m)
{
    if (!m)
        return;
    free(m->nb), free(m->nnb), free(m->sim), free(m->eitem), free(m->erow), free(m->B);
    free(m->X), free(m->Y), free(m->G);
    free(m->rand_pos), free(m->rand_order);
    free(m);
}

const rec_data *rec_model_data(const rec_model *m) { return m->d; }

void rec_neighbors(const rec_model *m, uint32_t i, const uint32_t **items, const float **scores,
                   uint32_t *n)
{
    uint32_t r = i < m->d->n_items ? m->d->popos[i] : UINT32_MAX;
    if (!m->nb || r >= m->ncand) {
        *n = 0, *items = NULL, *scores = NULL;
        return;
    }
    *items = m->nb + (size_t)r * m->k;
    *scores = m->sim + (size_t)r * m->k;
    *n = m->nnb[r];
}

/* ---- scoring ---------------------------------------------------------- */

bp_status rec_scratch_new(const rec_model *m, rec_scratch **out, bp_err *err)
{
    size_t n = m->d->n_items ? m->d->n_items : 1;
    rec_scratch *s = calloc(1, sizeof *s);
    if (s) {
        s->score = malloc(n * sizeof *s->score);
        s->best = malloc(n * sizeof *s->best);
        s->because = malloc(n * sizeof *s->because);
        s->touched = malloc(n * sizeof *s->touched);
        s->mark = calloc(n, 1);
        /* dense models: the scores of the covered items, then work room */
        s->escore = malloc((rec_dense_n(m) + 4 * (size_t)m->f + 1) * sizeof *s->escore);
    }
    if (!s || !s->score || !s->best || !s->because || !s->touched || !s->mark || !s->escore) {
        rec_scratch_free(s);
        return bp_fail(err, BP_ENOMEM, "out of memory for scoring");
    }
    *out = s;
    return BP_OK;
}

void rec_scratch_free(rec_scratch *s)
{
    if (!s)
        return;
    free(s->score), free(s->best), free(s->because), free(s->touched), free(s->mark);
    free(s->escore);
    free(s);
}

static inline void touch(rec_scratch *s, uint32_t j)
{
    if (!(s->mark[j] & 2)) {
        s->mark[j] |= 2;
        s->touched[s->ntouched++] = j;
        s->score[j] = 0;
        s->best[j] = -1e30f;
        s->because[j] = REC_NONE;
    }
}

/* Score what the model scores for a user who has have[]: the scored items
 * are in s->touched (mark 2), the user's own marked 1. */
static void score_user(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave)
{
    s->ntouched = 0;
    for (size_t h = 0; h < nhave; h++)
        s->mark[have[h]] |= 1;
    if (m->m.kind == REC_KNN) {
        for (size_t h = 0; h < nhave; h++) {
            uint32_t i = have[h];
            uint32_t rank = m->d->popos[i];
            if (rank >= m->ncand)
                continue;
            const uint32_t *nb = m->nb + (size_t)rank * m->k;
            const float *sim = m->sim + (size_t)rank * m->k;
            for (uint32_t r = 0; r < m->nnb[rank]; r++) {
                uint32_t j = nb[r];
                touch(s, j);
                s->score[j] += sim[r];
                if (sim[r] > s->best[j])
                    s->best[j] = sim[r], s->because[j] = i;
            }
        }
    } else if (m->m.kind == REC_EASE) {
        /* the user's covered items add their rows (a dense sum the
         * compiler vectorises), in the covered items' order, which is
         * popularity rank. "because" is found for the few that make a
         * list (ease_because), not for all. */
        float *es = s->escore;
        memset(es, 0, m->en * sizeof *es);
        for (size_t h = 0; h < nhave; h++) {
            int32_t row = m->erow[have[h]];
            if (row < 0)
                continue;
            const float *b = m->B + (size_t)row * m->en;
            for (uint32_t e = 0; e < m->en; e++)
                es[e] += b[e];
        }
    } else if (m->m.kind == REC_ALS) {
        rec_als_score(m, s, have, nhave);
    }
}

/* EASE: the item of have whose row gives j the most (REC_NONE if none
 * gives anything). */
static uint32_t ease_because(const rec_model *m, const uint32_t *have, size_t nhave, uint32_t j)
{
    int32_t col = m->erow[j];
    uint32_t best = REC_NONE;
    float top = 0;
    for (size_t h = 0; col >= 0 && h < nhave; h++) {
        int32_t row = m->erow[have[h]];
        if (row >= 0 && m->B[(size_t)row * m->en + (size_t)col] > top)
            top = m->B[(size_t)row * m->en + (size_t)col], best = have[h];
    }
    return best;
}

static void unscore(rec_scratch *s, const uint32_t *have, size_t nhave)
{
    for (size_t t = 0; t < s->ntouched; t++)
        s->mark[s->touched[t]] = 0;
    for (size_t h = 0; h < nhave; h++)
        s->mark[have[h]] = 0;
    s->ntouched = 0;
}

/* Does scored item a come before scored item b? */
static inline bool before(const rec_model *m, const rec_scratch *s, uint32_t a, uint32_t b)
{
    if (s->score[a] != s->score[b])
        return s->score[a] > s->score[b];
    return m->fpos[a] < m->fpos[b];
}

/* Dense models (EASE, ALS) score the ncov most-read items, whose
 * popularity ranks are 0..ncov-1, into s->escore by rank: ranking and
 * selecting work on that array, with no per-item bookkeeping. */
size_t rec_dense_n(const rec_model *m)
{
    return m->m.kind == REC_EASE ? m->en : m->m.kind == REC_ALS ? m->ncand : 0;
}

static uint32_t dense_rank(const rec_model *m, const rec_scratch *s, const uint32_t *have,
                           size_t nhave, uint32_t target)
{
    const float *sc = s->escore;
    size_t ncov = rec_dense_n(m);
    uint32_t p = m->d->popos[target], rank = 0, had = 0, ahead = 0;
    for (size_t h = 0; h < nhave; h++) {
        uint32_t r = m->d->popos[have[h]];
        had += r < ncov;
        ahead += r >= ncov && r < p;
    }
    if (p >= ncov) /* after every covered item the user lacks, then by popularity */
        return (uint32_t)(ncov - had) + (p - (uint32_t)ncov - ahead);
    float t = sc[p];
    for (uint32_t r = 0; r < ncov; r++)
        rank += sc[r] > t || (sc[r] == t && r < p);
    /* the user's own covered items do not count */
    for (size_t h = 0; h < nhave; h++) {
        uint32_t r = m->d->popos[have[h]];
        if (r < ncov && (sc[r] > t || (sc[r] == t && r < p)))
            rank--;
    }
    return rank;
}

/* The rank of target among what score_user left in s. */
static uint32_t rank_scored(const rec_model *m, rec_scratch *s, const uint32_t *have,
                            size_t nhave, uint32_t target)
{
    if (rec_dense_n(m))
        return dense_rank(m, s, have, nhave, target);
    uint32_t rank = 0;
    if (s->mark[target] & 2) {
        for (size_t t = 0; t < s->ntouched; t++) {
            uint32_t j = s->touched[t];
            if (!(s->mark[j] & 1) && j != target && before(m, s, j, target))
                rank++;
        }
    } else {
        /* after every scored item, then by the fallback order among the rest */
        uint32_t scored = 0, ahead = 0, p = m->fpos[target];
        for (size_t t = 0; t < s->ntouched; t++) {
            uint32_t j = s->touched[t];
            if (!(s->mark[j] & 1))
                scored++;
            if (m->fpos[j] < p)
                ahead++;
        }
        for (size_t h = 0; h < nhave; h++)
            if (!(s->mark[have[h]] & 2) && m->fpos[have[h]] < p)
                ahead++;
        rank = scored + (p - ahead);
    }
    return rank;
}

uint32_t rec_rank(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
                  uint32_t target)
{
    score_user(m, s, have, nhave);
    uint32_t r = rank_scored(m, s, have, nhave, target);
    unscore(s, have, nhave);
    return r;
}

/* ---- top lists: a bounded min-heap on (score, then order) ---------------- */

void rec_heap_sort(rec_hit *h, size_t n, const uint32_t *pos)
{
    for (size_t end = n; end > 1; end--) {
        rec_hit t = h[0];
        h[0] = h[end - 1], h[end - 1] = t;
        rec_heap_sift(pos, h, end - 1, 0);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void rec_sort_u32(uint32_t *v, size_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* short lists: insertion sort */
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* The top n of what score_user left in s. */
static size_t top_scored(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
                         rec_hit *out, size_t n)
{
    size_t k = 0, ncov = rec_dense_n(m), nscored = ncov ? ncov : s->ntouched;
    for (size_t t = 0; t < nscored && n; t++) {
        uint32_t j = ncov ? m->d->by_pop[t] : s->touched[t];
        if (s->mark[j] & 1)
            continue;
        rec_hit hit = {j, ncov ? REC_NONE : s->because[j], ncov ? s->escore[t] : s->score[j]};
        rec_heap_push(out, &k, n, hit, m->fpos);
    }
    rec_heap_sort(out, k, m->fpos);
    for (size_t i = 0; ncov && i < k; i++)
        out[i].because = m->m.kind == REC_EASE ? ease_because(m, have, nhave, out[i].item)
                                               : rec_als_because(m, have, nhave, out[i].item);
    /* the rest of the list in the fallback order (past the covered items) */
    for (uint32_t r = (uint32_t)ncov; k < n && r < m->d->n_items; r++) {
        uint32_t j = m->forder[r];
        if (!(s->mark[j] & 3))
            out[k++] = (rec_hit){j, REC_NONE, 0};
    }
    return k;
}

size_t rec_top(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
               rec_hit *out, size_t n)
{
    score_user(m, s, have, nhave);
    size_t k = top_scored(m, s, have, nhave, out, n);
    unscore(s, have, nhave);
    return k;
}

size_t rec_rank_top(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
                    uint32_t target, uint32_t *rank, rec_hit *out, size_t n)
{
    score_user(m, s, have, nhave);
    *rank = rank_scored(m, s, have, nhave, target);
    size_t k = top_scored(m, s, have, nhave, out, n);
    unscore(s, have, nhave);
    return k;
}
