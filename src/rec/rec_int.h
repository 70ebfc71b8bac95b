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
    rec_hit *heap;
    size_t heap_cap;
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
