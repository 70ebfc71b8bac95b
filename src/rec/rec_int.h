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
    /* the order after the scored items: popularity, or a random one */
    const uint32_t *fpos, *forder;
    uint32_t *rand_pos, *rand_order;
};

struct rec_scratch {
    float *score, *best;
    float *escore;   /* EASE: the user's scores in the covered items' order */
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
