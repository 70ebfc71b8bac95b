/* rec.h: book recommendations, trained and evaluated in C.
 *
 * The interactions are (user, item) pairs read from the loaded ratings
 * (every rating, implicit 0s included, or the explicit ones >= 6 only).
 * An item is a work by default: the ISBNs whose books share a normalised
 * title and author are editions of one work, named by its most-read
 * edition (Ekstrand & Kluver 2021 group ISBNs into works the same way);
 * with by_isbn every ISBN is its own item. ISBNs missing from Books are
 * works of one edition.
 *
 * Methods: random and popularity (the floors), item-kNN (cosine, or BM25
 * weighting, top-k neighbours per item) and EASE (Steck 2019) over the N
 * most-read items. Every method ranks the full catalogue: what a model
 * scores first, then everything else by popularity (readers descending,
 * then ISBN), never an item the user already has.
 *
 * Floor 5 (src/rec): reads and writes the warehouse through wh.h. */
#ifndef BP_REC_H
#define BP_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/err.h"
#include "../wh/wh.h"

/* ---- the interaction matrix ------------------------------------------ */

typedef struct {
    uint32_t n_users, n_items;
    size_t nnz;
    int64_t *user_id;   /* [n_users], ascending */
    size_t *uptr;       /* [n_users + 1]: user u's items are uitem[uptr[u] .. uptr[u+1]) */
    uint32_t *uitem;    /* ascending per user */
    const char **isbn;  /* [n_items]: the item's ISBN (a work: its most-read edition); ascending */
    uint32_t *pop;      /* [n_items]: readers in this matrix */
    uint32_t *by_pop;   /* [n_items]: items by readers descending, then id */
    uint32_t *popos;    /* [n_items]: an item's place in by_pop */
    /* every edition seen in the ratings and its item (sorted by ISBN) */
    size_t n_editions;
    const char **ed_isbn;
    uint32_t *ed_item, *ed_readers;
    arena a;            /* the ISBN strings */
    bool owns_isbns;    /* false for a training copy sharing its source's */
} rec_data;

typedef struct {
    const char *schema;     /* of the loaded tables (books, ratings) */
    bool explicit_only;     /* only ratings >= 6 count */
    bool by_isbn;           /* items are ISBNs, not works */
} rec_data_opts;

/* Read the matrix from schema.books and schema.ratings. */
BP_MUST bp_status rec_data_load(wh *w, const rec_data_opts *o, rec_data *d, bp_err *err);

/* Build it from (user id, ISBN) pairs, each ISBN an item of its own
 * (tests). Duplicate pairs count once. */
typedef struct {
    size_t n;
    const int64_t *user;
    const char *const *isbn;
} rec_pairs;
BP_MUST bp_status rec_data_from_pairs(const rec_pairs *p, rec_data *d, bp_err *err);
void rec_data_free(rec_data *d);

/* The item whose ISBN (or one of whose editions) is isbn; -1 if none. */
int64_t rec_item_of(const rec_data *d, const char *isbn);
/* The user's index, -1 if none. */
int64_t rec_user_of(const rec_data *d, int64_t user_id);

/* ---- methods --------------------------------------------------------- */

typedef enum { REC_RANDOM, REC_POP, REC_KNN, REC_EASE, REC_ALS } rec_kind;

typedef struct {
    rec_kind kind;
    uint32_t k;          /* kNN: neighbours kept per item (default 20) */
    bool bm25;           /* kNN: BM25 weighting instead of cosine */
    double shrink;       /* kNN: similarities shrunk by c / (c + shrink) (default 100) */
    uint32_t min_readers; /* kNN: books with fewer readers get no neighbours and are
                             no one's (default 2) */
    uint32_t ease_n;     /* EASE: the most-read items it covers (0: sized to the machine) */
    double ease_lambda;  /* EASE: L2 weight (default 500) */
    uint32_t factors;    /* iALS: latent factors (default 32) */
    double alpha, reg;   /* iALS: confidence 1 + alpha an interaction (10), L2 weight (0.1) */
    uint32_t iterations; /* iALS: alternations (default 12) */
    uint64_t seed;       /* random: the order */
    int threads;         /* 0: one per core */
} rec_method;

/* The method's name as printed and stored ("item-knn cosine k=50"). */
void rec_method_name(const rec_method *m, char *out, size_t n);
/* Parse "random", "popularity", "knn", "knn-bm25", "ease", "als" into m (defaults
 * for the rest); false when name is none of them. */
bool rec_method_parse(const char *name, rec_method *m);
/* EASE's default N for this machine: the Gram matrix and its inverse
 * (4 N^2 bytes each) within an eighth of the memory, at most 6,000. */
uint32_t rec_ease_default_n(void);

typedef struct rec_model rec_model;

/* Train m on d (d must outlive the model). */
BP_MUST bp_status rec_train(const rec_data *d, const rec_method *m, rec_model **out, bp_err *err);
void rec_model_free(rec_model *m);
const rec_data *rec_model_data(const rec_model *m);

/* kNN: item i's neighbours, best first (at most k; n set to how many). */
void rec_neighbors(const rec_model *m, uint32_t i, const uint32_t **items, const float **scores,
                   uint32_t *n);

/* Per-thread working memory for scoring. */
typedef struct rec_scratch rec_scratch;
BP_MUST bp_status rec_scratch_new(const rec_model *m, rec_scratch **out, bp_err *err);
void rec_scratch_free(rec_scratch *s);

/* One user's list: the top n items not in have[0..nhave), best first,
 * with their scores and the item of have that contributed most (UINT32_MAX
 * when none did: the popularity fallback). Returns how many (< n only when
 * the catalogue runs out). */
typedef struct {
    uint32_t item, because;
    float score;
} rec_hit;
size_t rec_top(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
               rec_hit *out, size_t n);
/* Where target (not in have) comes in that full ranking, 0-based. */
uint32_t rec_rank(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
                  uint32_t target);
/* Both from one scoring (the evaluation's way). */
size_t rec_rank_top(const rec_model *m, rec_scratch *s, const uint32_t *have, size_t nhave,
                    uint32_t target, uint32_t *rank, rec_hit *out, size_t n);

/* ---- evaluation ------------------------------------------------------- */

enum { REC_HR10, REC_NDCG10, REC_MRR, REC_HR100, REC_NDCG100, REC_NMETRICS };
extern const char *const rec_metric_names[REC_NMETRICS];

/* The metrics of one held-out item at 0-based rank r: hit and NDCG at 10
 * and 100, reciprocal rank within the 100-item list. */
void rec_metrics_of_rank(uint32_t r, double m[REC_NMETRICS]);

typedef struct {
    uint32_t max_users;   /* test users per seed (default 5,000) */
    uint32_t min_items;   /* a test user's interactions at least (default 5) */
    int seeds;            /* default 3 */
    uint64_t seed;        /* the first seed (default 1) */
    int boot;             /* bootstrap resamples (default 1,000) */
} rec_eval_opts;

typedef struct {
    char method[96];
    uint32_t users;       /* test users per seed */
    int seeds;
    double mean[REC_NMETRICS], lo[REC_NMETRICS], hi[REC_NMETRICS];
    double coverage;      /* share of the catalogue in some top-10 list */
    double mean_pop;      /* mean readers of the recommended top-10 items */
    double train_s;       /* training, seconds per seed */
    double users_per_s;   /* scoring speed (rank + top-10) */
} rec_eval_row;

void rec_eval_defaults(rec_eval_opts *o);
/* Leave-one-out over the full ranking for each method (see README); rows
 * must hold nmethods. progress (may be NULL) hears each step. */
BP_MUST bp_status rec_evaluate(const rec_data *d, const rec_method *methods, int nmethods,
                               const rec_eval_opts *o, rec_eval_row *rows,
                               void (*progress)(void *ctx, const char *msg), void *ctx,
                               bp_err *err);

/* ---- the warehouse tables --------------------------------------------- */

/* What a run publishes, swapped in together (rec_publish): the items and
 * their editions (rec_items), neighbours (rec_item_neighbors), every
 * user's top list (rec_user_top), and evaluation rows when given
 * (rec_eval; kept from the last evaluation otherwise). */
typedef struct {
    const char *schema;
    uint32_t top_n;        /* per user (default 10) */
    uint32_t neighbors;    /* per item (default 20) */
    const rec_eval_row *eval;
    int neval;
    const char *eval_params;   /* how the rows were made, stored with them */
} rec_publish_opts;

/* neighbors: the kNN model whose neighbours and items are written; lists:
 * the model of the users' lists (the same one, or another method trained
 * on the same matrix). Both NULL: only the evaluation rows. */
BP_MUST bp_status rec_publish(wh *w, const rec_model *neighbors, const rec_model *lists,
                              const rec_publish_opts *o, bp_err *err);

/* What `bookpipe recommend` and the recommend block do: item-kNN (with
 * lists' k, shrink and min_readers) for the neighbours, the lists by
 * lists' method (the same model when it is kNN), then rec_publish. The
 * seconds spent training and writing into *train_s and *write_s (NULL:
 * not wanted). */
BP_MUST bp_status rec_refresh(wh *w, const rec_data *d, const rec_method *lists,
                              const rec_publish_opts *o, double *train_s, double *write_s,
                              bp_err *err);

/* Seconds on a monotonic clock. */
double rec_now(void);

/* The names of the tables rec_publish writes, NULL-terminated. */
extern const char *const rec_tables[];

#endif
