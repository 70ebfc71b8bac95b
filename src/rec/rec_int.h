/* rec_int.h: what the files of src/rec share. */
#ifndef BP_REC_INT_H
#define BP_REC_INT_H

#include "rec.h"

#include <pthread.h>

#define REC_NONE UINT32_MAX

struct rec_model {
    rec_method m;
    const rec_data *d;
    /* kNN: k slots for each of the ncand most-read items (by popularity
     * rank), nnb of them filled; items further down have none */
    uint32_t k, ncand, *nb, *nnb;
    float *sim;
    /* EASE: the covered items (most-read first), an item's row (-1: not
     * covered), the weights (en x en, row i: what item i adds to each) */
    uint32_t en, *eitem;
    int32_t *erow;
    float *B;
    /* iALS: f factors a user (X) and a covered item (Y, by popularity
     * rank, ncand of them), and Y'Y (G) for solving a user's list */
    uint32_t f;
    float *X, *Y, *G;
    /* the order after the scored items: popularity, or a random one */
    const uint32_t *fpos, *forder;
    uint32_t *rand_pos, *rand_order;
};

struct rec_scratch {
    float *score, *best;
    float *escore;   /* dense models: the covered items' scores by popularity
                        rank (rec_dense_n), then work room (iALS) */
    uint32_t *because, *touched;
    uint8_t *mark;   /* 1: the user has it, 2: scored (in touched) */
    size_t ntouched;
};

/* Readers and the popularity order of d, from its CSR. */
BP_MUST bp_status rec_data_index(rec_data *d, bp_err *err);
/* d without hold[u] for each user u (REC_NONE: keep all); shares ISBNs. */
BP_MUST bp_status rec_data_without(const rec_data *d, const uint32_t *hold, rec_data *t,
                                   bp_err *err);

BP_MUST bp_status rec_knn_train(rec_model *m, bp_err *err);
BP_MUST bp_status rec_ease_train(rec_model *m, bp_err *err);
BP_MUST bp_status rec_als_train(rec_model *m, bp_err *err);
/* iALS: the covered items' scores for a user who has have[], into
 * s->escore by popularity rank; the item of have most like j. */
void rec_als_score(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave);
uint32_t rec_als_because(const rec_model *m, const uint32_t *have, size_t nhave, uint32_t j);
/* How many items a dense model (EASE, iALS) scores: the most read, by
 * rank; 0 for the others. */
size_t rec_dense_n(const rec_model *m);
/* OpenBLAS's own threads: 1 while our threads score users (each BLAS call
 * small; its threads would only wait on each other), all cores for the
 * big factorisations. */
void rec_blas_threads(int n);

/* A bounded min-heap of the k best hits (the worst at h[0]): ties go to
 * the earlier in pos (NULL: the lower item id); rec_heap_sort turns it
 * into best-first order. Inline: kNN training pushes in its inner loop. */
static inline bool rec_hit_worse(const uint32_t *pos, const rec_hit *a, const rec_hit *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    return pos ? pos[a->item] > pos[b->item] : a->item > b->item;
}

static inline void rec_heap_sift(const uint32_t *pos, rec_hit *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && rec_hit_worse(pos, &h[l], &h[w]))
            w = l;
        if (r < n && rec_hit_worse(pos, &h[r], &h[w]))
            w = r;
        if (w == i)
            return;
        rec_hit t = h[i];
        h[i] = h[w], h[w] = t;
        i = w;
    }
}

static inline void rec_heap_push(rec_hit *h, size_t *n, size_t k, rec_hit x, const uint32_t *pos)
{
    if (*n < k) {
        size_t i = (*n)++;
        h[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!rec_hit_worse(pos, &h[i], &h[p]))
                return;
            rec_hit t = h[i];
            h[i] = h[p], h[p] = t;
            i = p;
        }
    } else if (k && rec_hit_worse(pos, &h[0], &x)) {
        h[0] = x;
        rec_heap_sift(pos, h, k, 0);
    }
}

void rec_heap_sort(rec_hit *h, size_t n, const uint32_t *pos);
/* A list of ids in ascending order, in place. */
void rec_sort_u32(uint32_t *v, size_t n);

/* Run fn over [0, n) in chunks on m threads (0: one per core). */
typedef void (*rec_range_fn)(void *ctx, int thread, size_t lo, size_t hi);
BP_MUST bp_status rec_parallel(int threads, size_t n, size_t chunk, rec_range_fn fn, void *ctx,
                               bp_err *err);
int rec_threads(int want);

/* xoshiro-style generator for sampling (seeded, portable) */
typedef struct {
    uint64_t s;
} rec_rng;
uint64_t rec_rng_next(rec_rng *r);
static inline uint64_t rec_rng_below(rec_rng *r, uint64_t n) { return n ? rec_rng_next(r) % n : 0; }


#endif
