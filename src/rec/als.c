/* als.c: implicit ALS (Hu, Koren & Volinsky 2008), each least-squares
 * solve done by a few conjugate-gradient steps from the last solution
 * (Takács, Pilászy & Tikk 2011), as the implicit library does.
 *
 * Preference 1 for an interaction, 0 otherwise; confidence 1 + alpha for
 * an interaction, 1 otherwise. With Y fixed, user u's factors solve
 *   (Y'Y + alpha sum_{i in u} y_i y_i' + lambda I) x_u = (1 + alpha) sum_{i in u} y_i
 * and the same with the roles swapped. Y'Y comes from BLAS (ssyrk); the
 * rest is matrix-free. Like the kNN, it covers the books read at least
 * min_readers times (the rest rank after, by popularity). */
#include "rec_int.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t f;             /* factors */
    float alpha, lambda;
    /* one side's rows and, per row, the other side's ids */
    const size_t *ptr;
    const uint32_t *idx;
    const float *other;     /* the fixed side's factors */
    const float *G;         /* other' other (f x f) */
    float *mine;            /* the side being solved */
    float *tmp[64];         /* per thread: 4 vectors of f */
} als_half;

static float dot(const float *a, const float *b, uint32_t f)
{
    float s = 0;
    for (uint32_t k = 0; k < f; k++)
        s += a[k] * b[k];
    return s;
}

/* out = A v for row r: G v + lambda v + alpha sum_j y_j (y_j . v) */
static void apply(const als_half *h, size_t r, const float *v, float *out)
{
    uint32_t f = h->f;
    for (uint32_t a = 0; a < f; a++)
        out[a] = dot(h->G + (size_t)a * f, v, f) + h->lambda * v[a];
    for (size_t q = h->ptr[r]; q < h->ptr[r + 1]; q++) {
        const float *y = h->other + (size_t)h->idx[q] * f;
        float c = h->alpha * dot(y, v, f);
        for (uint32_t a = 0; a < f; a++)
            out[a] += c * y[a];
    }
}

/* Conjugate-gradient steps on row r's system A x = b, b = (1 + alpha)
 * sum y_j: from x as it is (warm) or from zero, at most steps of them,
 * stopping when the residual's square falls to tol. work: 3 f floats. */
static void cg(const als_half *h, size_t r, float *x, float *work, bool warm, uint32_t steps,
               float tol)
{
    uint32_t f = h->f;
    float *res = work, *p = res + f, *ap = p + f;
    if (warm) {
        apply(h, r, x, ap);
        for (uint32_t a = 0; a < f; a++)
            res[a] = -ap[a];
    } else {
        memset(x, 0, f * sizeof *x);
        memset(res, 0, f * sizeof *res);
    }
    for (size_t q = h->ptr[r]; q < h->ptr[r + 1]; q++) {
        const float *y = h->other + (size_t)h->idx[q] * f;
        for (uint32_t a = 0; a < f; a++)
            res[a] += (1 + h->alpha) * y[a];
    }
    memcpy(p, res, f * sizeof *p);
    float rs = dot(res, res, f);
    for (uint32_t step = 0; step < steps && rs > tol; step++) {
        apply(h, r, p, ap);
        float pap = dot(p, ap, f);
        if (!(pap > 0))
            break;
        float al = rs / pap;
        for (uint32_t a = 0; a < f; a++)
            x[a] += al * p[a], res[a] -= al * ap[a];
        float rs2 = dot(res, res, f);
        for (uint32_t a = 0; a < f; a++)
            p[a] = res[a] + rs2 / rs * p[a];
        rs = rs2;
    }
}

/* Three CG steps on each row's system, from its current factors. */
static void solve_rows(void *ctx, int th, size_t lo, size_t hi)
{
    als_half *h = ctx;
    for (size_t r = lo; r < hi; r++)
        cg(h, r, h->mine + r * h->f, h->tmp[th], true, 3, 1e-20f);
}

/* The interactions among the covered items: users -> item ranks, and the
 * transpose. */
static bp_status covered(const rec_data *d, uint32_t ncand, size_t **uptr, uint32_t **uix,
                         size_t **iptr, uint32_t **iux, bp_err *err)
{
    *uptr = calloc((size_t)d->n_users + 1, sizeof **uptr);
    *iptr = calloc((size_t)ncand + 1, sizeof **iptr);
    *uix = malloc((d->nnz ? d->nnz : 1) * sizeof **uix);
    *iux = malloc((d->nnz ? d->nnz : 1) * sizeof **iux);
    size_t *fill = malloc(((size_t)ncand + 1) * sizeof *fill);
    if (!*uptr || !*iptr || !*uix || !*iux || !fill) {
        free(fill);
        return bp_fail(err, BP_ENOMEM, "out of memory for ALS");
    }
    size_t m = 0;
    for (uint32_t u = 0; u < d->n_users; u++) {
        for (size_t k = d->uptr[u]; k < d->uptr[u + 1]; k++) {
            uint32_t r = d->popos[d->uitem[k]];
            if (r < ncand)
                (*uix)[m++] = r, (*iptr)[r + 1]++;
        }
        (*uptr)[u + 1] = m;
    }
    for (uint32_t r = 0; r < ncand; r++)
        (*iptr)[r + 1] += (*iptr)[r];
    memcpy(fill, *iptr, ((size_t)ncand + 1) * sizeof *fill);
    for (uint32_t u = 0; u < d->n_users; u++)
        for (size_t k = (*uptr)[u]; k < (*uptr)[u + 1]; k++)
            (*iux)[fill[(*uix)[k]]++] = u;
    free(fill);
    return BP_OK;
}

static void gram(const float *Y, size_t n, uint32_t f, float *G)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)f, (int)n, 1.0f, Y, (int)f, 0.0f, G,
                (int)f);
    for (uint32_t a = 0; a < f; a++) /* mirror the upper triangle */
        for (uint32_t b = 0; b < a; b++)
            G[(size_t)a * f + b] = G[(size_t)b * f + a];
}

bp_status rec_als_train(rec_model *m, bp_err *err)
{
    const rec_data *d = m->d;
    uint32_t f = m->m.factors ? m->m.factors : 32, min = m->m.min_readers ? m->m.min_readers : 1;
    uint32_t ncand = 0;
    while (ncand < d->n_items && d->pop[d->by_pop[ncand]] >= min)
        ncand++;
    m->ncand = ncand, m->f = f;
    size_t *uptr = NULL, *iptr = NULL;
    uint32_t *uix = NULL, *iux = NULL;
    m->X = malloc(((size_t)d->n_users + 1) * f * sizeof *m->X);
    m->Y = malloc(((size_t)ncand + 1) * f * sizeof *m->Y);
    float *G = malloc((size_t)f * f * sizeof *G);
    int threads = rec_threads(m->m.threads);
    als_half h = {.f = f, .alpha = (float)m->m.alpha, .lambda = (float)m->m.reg, .G = G};
    bp_status st = !m->X || !m->Y || !G ? bp_fail(err, BP_ENOMEM, "out of memory for ALS factors")
                                        : covered(d, ncand, &uptr, &uix, &iptr, &iux, err);
    for (int t = 0; t < threads && st == BP_OK; t++)
        if (!(h.tmp[t] = malloc(4 * f * sizeof *h.tmp[t])))
            st = bp_fail(err, BP_ENOMEM, "out of memory for ALS");
    if (st == BP_OK) { /* small random starts, from the seed */
        rec_rng r = {m->m.seed * 31 + 17};
        float scale = 0.01f;
        for (size_t k = 0; k < (size_t)d->n_users * f; k++)
            m->X[k] = scale * ((float)(rec_rng_next(&r) >> 40) / (float)(1 << 24) - 0.5f);
        for (size_t k = 0; k < (size_t)ncand * f; k++)
            m->Y[k] = scale * ((float)(rec_rng_next(&r) >> 40) / (float)(1 << 24) - 0.5f);
    }
    int iters = m->m.iterations ? m->m.iterations : 12;
    for (int it = 0; it < iters && st == BP_OK; it++) {
        gram(m->Y, ncand, f, G); /* users, with the items fixed */
        h.ptr = uptr, h.idx = uix, h.other = m->Y, h.mine = m->X;
        st = rec_parallel(threads, d->n_users, 256, solve_rows, &h, err);
        gram(m->X, d->n_users, f, G); /* then the items */
        h.ptr = iptr, h.idx = iux, h.other = m->X, h.mine = m->Y;
        st = st ? st : rec_parallel(threads, ncand, 256, solve_rows, &h, err);
    }
    if (st == BP_OK) /* Y'Y of the final items, for folding users in */
        gram(m->Y, ncand, f, G);
    for (int t = 0; t < threads; t++)
        free(h.tmp[t]);
    m->G = G;
    free(uptr), free(iptr), free(uix), free(iux);
    return st;
}

/* A user's factors from their list alone (a fold-in: the same least
 * squares with the items fixed, by CG from zero), so that any list scores
 * alike, from the matrix or not; then every covered item's score. */
void rec_als_score(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave)
{
    const rec_data *d = m->d;
    uint32_t f = m->f;
    float *sc = s->escore, *x = sc + m->ncand; /* then 3 f floats of work */
    uint32_t *ranks = s->touched; /* free room: dense models touch nothing */
    size_t n = 0;
    for (size_t h = 0; h < nhave; h++) {
        uint32_t r = d->popos[have[h]];
        if (r < m->ncand)
            ranks[n++] = r;
    }
    als_half hf = {.f = f, .alpha = (float)m->m.alpha, .lambda = (float)m->m.reg,
                   .ptr = (size_t[2]){0, n}, .idx = ranks, .other = m->Y, .G = m->G};
    cg(&hf, 0, x, x + f, false, f, 1e-12f); /* to convergence: f steps at most */
    if (m->ncand)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m->ncand, (int)f, 1.0f, m->Y, (int)f, x, 1,
                    0.0f, sc, 1);
}

void rec_blas_threads(int n) { openblas_set_num_threads(n); }

uint32_t rec_als_because(const rec_model *m, const uint32_t *have, size_t nhave, uint32_t j)
{
    uint32_t rj = m->d->popos[j], best = REC_NONE;
    float top = 0;
    for (size_t h = 0; rj < m->ncand && h < nhave; h++) {
        uint32_t r = m->d->popos[have[h]];
        if (r >= m->ncand)
            continue;
        float c = dot(m->Y + (size_t)r * m->f, m->Y + (size_t)rj * m->f, m->f);
        if (c > top)
            top = c, best = have[h];
    }
    return best;
}
