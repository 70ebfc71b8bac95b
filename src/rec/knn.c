/* knn.c: item-kNN training (see rec.h).
 *
 * The similarity of items i and j sums, over the users who have both, a
 * user weight a_u, scaled by an item weight on each side:
 *   cosine: a_u = 1: |U_i ∩ U_j| / sqrt(|U_i| |U_j|)
 *   bm25:   a_u = idf_u times BM25's length damping of the user's list,
 *           idf_u = log((items + 1) / (items of u + 1)) (a reader of
 *           everything says little), damping (k1 + 1) / (k1 (1 - b + b
 *           len / mean len) + 1), k1 = 1.2, b = 0.75; the similarity is the
 *           cosine of the weighted vectors.
 * Books with fewer than min_readers readers (default 2) get no neighbours
 * and are no one's: a book read once is like everything its reader read,
 * equally, which says nothing (and at scale they are most of the books
 * and most of the work). They still count in the users' own lists.
 * Both shrink toward 0 by c / (c + shrink), c the pair's shared weight in
 * mean-interaction units (default 100): without it a book read once
 * looks perfectly like everything its one reader read, and those flood
 * the lists (on the generated data HR@10 falls below popularity's).
 * For each item, every reader's other items are accumulated in a dense
 * row (the work is the sum over users of their items squared), then the k
 * best kept: score descending, then popularity, then ISBN. Items are split
 * over the cores in chunks. The row is done in blocks of BLOCK items, each
 * small enough to stay in the core's cache: a row of millions of items
 * would miss the cache on every add (scale 10 took 80 s that way). */
#include "rec_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rec_model *m;
    /* items renumbered by popularity (id = place in by_pop): the dense row
     * is hit mostly at its front, which stays in cache */
    const uint32_t *uitem;  /* users' items, renumbered */
    const size_t *iptr;     /* renumbered item -> its readers (CSC) */
    const uint32_t *iuser;
    const float *ua, *iw;   /* user and item weights */
    float shrink;
    size_t max_readers;
    /* items with at least min_readers readers: the first ncand in
     * popularity order; only they get neighbours or are ones */
    uint32_t ncand;
    /* per thread */
    float *acc[64];
    size_t *cur[64], *beg[64];  /* per reader: where the block starts and ends in its list */
    rec_hit *heap[64];
    bool oom;
} knn_job;

#define BLOCK 131072  /* items: 512 KB of sums */

static void knn_rows(void *ctx, int th, size_t lo, size_t hi)
{
    knn_job *j = ctx;
    rec_model *m = j->m;
    const rec_data *d = m->d;
    float *acc = j->acc[th];
    size_t *cur = j->cur[th], *beg = j->beg[th];
    rec_hit *heap = j->heap[th];
    for (size_t i = lo; i < hi; i++) {
        const uint32_t *readers = j->iuser + j->iptr[i];
        size_t np = j->iptr[i + 1] - j->iptr[i];
        for (size_t p = 0; p < np; p++)
            cur[p] = d->uptr[readers[p]];
        size_t n = 0; /* candidates carry renumbered ids: the lower, the more popular */
        float wi = j->iw[i];
        for (uint32_t b0 = 0; b0 < j->ncand; b0 += BLOCK) {
            uint32_t b1 = j->ncand - b0 > BLOCK ? b0 + BLOCK : j->ncand;
            /* two passes over the readers' lists (ascending): adding first,
             * then reading each sum once (the first visit zeroes it) */
            for (size_t p = 0; p < np; p++) {
                uint32_t u = readers[p];
                float a = j->ua[u];
                size_t q = beg[p] = cur[p], end = d->uptr[u + 1];
                for (; q < end && j->uitem[q] < b1; q++)
                    acc[j->uitem[q] - b0] += a;
                cur[p] = q;
            }
            for (size_t p = 0; p < np; p++)
                for (size_t q = beg[p]; q < cur[p]; q++) {
                    uint32_t x = j->uitem[q];
                    float c = acc[x - b0];
                    if (c == 0)
                        continue;
                    acc[x - b0] = 0;
                    /* shrunk toward 0 when few readers share the two (a pair of
                     * one reader each would otherwise look perfectly similar) */
                    float p0 = c * wi * j->iw[x];
                    /* most candidates lose to the k-th best so far: tested
                     * first without the division (a third of the loop's time
                     * when it ran on every candidate), with a margin far past
                     * float rounding, so the exact test below decides alike */
                    if (n == m->k && p0 * c < heap[0].score * (c + j->shrink) * 0.999f)
                        continue;
                    float sc = p0 * (c / (c + j->shrink));
                    if (x != i && sc > 0 && (n < m->k || sc >= heap[0].score))
                        rec_heap_push(heap, &n, m->k, (rec_hit){x, (uint32_t)i, sc}, NULL);
                }
        }
        rec_heap_sort(heap, n, NULL);
        for (uint32_t r = 0; r < n; r++) {
            m->nb[i * m->k + r] = d->by_pop[heap[r].item];
            m->sim[i * m->k + r] = heap[r].score;
        }
        m->nnb[i] = (uint32_t)n;
    }
}

/* The readers of each item (CSC of d, items as uitem numbers them). */
static bp_status transpose(const rec_data *d, const uint32_t *uitem, size_t **iptr,
                           uint32_t **iuser, bp_err *err)
{
    *iptr = calloc((size_t)d->n_items + 1, sizeof **iptr);
    *iuser = malloc((d->nnz ? d->nnz : 1) * sizeof **iuser);
    if (!*iptr || !*iuser)
        return bp_fail(err, BP_ENOMEM, "out of memory transposing the matrix");
    for (size_t k = 0; k < d->nnz; k++)
        (*iptr)[uitem[k] + 1]++;
    for (uint32_t i = 0; i < d->n_items; i++)
        (*iptr)[i + 1] += (*iptr)[i];
    size_t *fill = malloc(((size_t)d->n_items + 1) * sizeof *fill);
    if (!fill)
        return bp_fail(err, BP_ENOMEM, "out of memory transposing the matrix");
    memcpy(fill, *iptr, ((size_t)d->n_items + 1) * sizeof *fill);
    for (uint32_t u = 0; u < d->n_users; u++)
        for (size_t k = d->uptr[u]; k < d->uptr[u + 1]; k++)
            (*iuser)[fill[uitem[k]]++] = u;
    free(fill);
    return BP_OK;
}

/* The user and item weights of the method (items renumbered); returns
 * the mean user weight of an interaction (the shrinkage's unit). */
static float weights(const rec_model *m, const size_t *iptr, const uint32_t *iuser, float *ua,
                     float *iw)
{
    const rec_data *d = m->d;
    double mean_deg = d->n_users ? (double)d->nnz / d->n_users : 1, total = 0;
    for (uint32_t u = 0; u < d->n_users; u++) {
        double deg = (double)(d->uptr[u + 1] - d->uptr[u]);
        /* a reader of everything says little about any two books */
        double idf = log(((double)d->n_items + 1) / (deg + 1));
        const double k1 = 1.2, b = 0.75;
        double damp = (k1 + 1) / (k1 * (1 - b + b * deg / mean_deg) + 1);
        ua[u] = m->m.bm25 ? (float)(idf > 1e-3 ? idf * damp : 1e-3 * damp) : 1.0f;
        total += ua[u] * deg;
    }
    for (uint32_t i = 0; i < d->n_items; i++) {
        double norm = 0;
        for (size_t p = iptr[i]; p < iptr[i + 1]; p++)
            norm += ua[iuser[p]];
        iw[i] = norm > 0 ? (float)(1 / sqrt(norm)) : 0;
    }
    return d->nnz ? (float)(total / (double)d->nnz) : 1;
}

bp_status rec_knn_train(rec_model *m, bp_err *err)
{
    const rec_data *d = m->d;
    m->k = m->m.k ? m->m.k : 20;
    size_t n = d->n_items ? d->n_items : 1;
    knn_job j = {.m = m};
    size_t *iptr = NULL;
    uint32_t *iuser = NULL;
    float *ua = malloc((d->n_users ? d->n_users : 1) * sizeof *ua);
    float *iw = malloc(n * sizeof *iw);
    uint32_t *ritem = malloc((d->nnz ? d->nnz : 1) * sizeof *ritem);
    uint32_t min = m->m.min_readers ? m->m.min_readers : 1;
    while (j.ncand < d->n_items && d->pop[d->by_pop[j.ncand]] >= min)
        j.ncand++;
    m->ncand = j.ncand;
    /* lists for the candidates only, by popularity rank */
    size_t nc = j.ncand ? j.ncand : 1;
    m->nb = malloc(nc * m->k * sizeof *m->nb);
    m->sim = malloc(nc * m->k * sizeof *m->sim);
    m->nnb = calloc(nc, sizeof *m->nnb);
    bp_status st = !ua || !iw || !ritem || !m->nb || !m->sim || !m->nnb
                       ? bp_fail(err, BP_ENOMEM, "out of memory for %u neighbours of %zu items",
                                 m->k, n)
                       : BP_OK;
    if (st == BP_OK) {
        for (size_t q = 0; q < d->nnz; q++)
            ritem[q] = d->popos[d->uitem[q]];
        for (uint32_t u = 0; u < d->n_users; u++)
            rec_sort_u32(ritem + d->uptr[u], d->uptr[u + 1] - d->uptr[u]);
        st = transpose(d, ritem, &iptr, &iuser, err);
    }
    for (uint32_t i = 0; i < d->n_items; i++)
        if (d->pop[i] > j.max_readers)
            j.max_readers = d->pop[i];
    int threads = rec_threads(m->m.threads);
    for (int t = 0; t < threads && st == BP_OK; t++) {
        j.acc[t] = calloc(n < BLOCK ? n : BLOCK, sizeof *j.acc[t]);
        j.heap[t] = malloc(m->k * sizeof *j.heap[t]);
        j.cur[t] = malloc((j.max_readers + 1) * sizeof *j.cur[t]);
        j.beg[t] = malloc((j.max_readers + 1) * sizeof *j.beg[t]);
        if (!j.acc[t] || !j.heap[t] || !j.cur[t] || !j.beg[t])
            st = bp_fail(err, BP_ENOMEM, "out of memory for the neighbour search");
    }
    if (st == BP_OK) {
        float unit = weights(m, iptr, iuser, ua, iw);
        j.shrink = (float)m->m.shrink * unit;
        j.uitem = ritem, j.iptr = iptr, j.iuser = iuser, j.ua = ua, j.iw = iw;
        st = rec_parallel(threads, j.ncand, 64, knn_rows, &j, err);
    }
    for (int t = 0; t < threads; t++)
        free(j.acc[t]), free(j.heap[t]), free(j.cur[t]), free(j.beg[t]);
    free(iptr), free(iuser), free(ua), free(iw), free(ritem);
    return st;
}
