/* test_rec.c: the recommenders on a matrix small enough to work by hand,
 * the metrics on hand-made ranks, and the evaluation's determinism.
 *
 *   user 1: A B        readers: A 2, B 3, C 2, D 1
 *   user 2: A B C      shared:  A-B 2, A-C 1, B-C 2
 *   user 3: B C        popularity order: B, A, C, D (A before C: ties by ISBN)
 *   user 4: D
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rec/rec.h"

enum { A, B, C, D };

static void tiny(rec_data *d)
{
    static const int64_t users[] = {1, 1, 2, 2, 2, 3, 3, 4, 1};
    static const char *const isbns[] = {"A", "B", "A", "B", "C", "B", "C", "D", "A"};
    rec_pairs p = {9, users, isbns}; /* the last pair repeats the first: counted once */
    bp_err err = {0};
    assert_int_equal(rec_data_from_pairs(&p, d, &err), BP_OK);
    assert_int_equal(d->n_users, 4);
    assert_int_equal(d->n_items, 4);
    assert_int_equal(d->nnz, 8);
}

static rec_model *train(const rec_data *d, const char *name, double shrink)
{
    rec_method m;
    assert_true(rec_method_parse(name, &m));
    m.shrink = shrink, m.threads = 2, m.ease_n = 2, m.ease_lambda = 1;
    rec_model *out = NULL;
    bp_err err = {0};
    assert_int_equal(rec_train(d, &m, &out, &err), BP_OK);
    return out;
}

static void data_from_pairs(void **state)
{
    (void)state;
    rec_data d;
    tiny(&d);
    assert_string_equal(d.isbn[A], "A");
    assert_int_equal(d.pop[A], 2), assert_int_equal(d.pop[B], 3);
    assert_int_equal(d.pop[C], 2), assert_int_equal(d.pop[D], 1);
    const uint32_t order[] = {B, A, C, D};
    for (int i = 0; i < 4; i++)
        assert_int_equal(d.by_pop[i], order[i]);
    assert_int_equal(rec_item_of(&d, "C"), C);
    assert_int_equal(rec_item_of(&d, "E"), -1);
    assert_int_equal(rec_user_of(&d, 3), 2);
    assert_int_equal(rec_user_of(&d, 5), -1);
    rec_data_free(&d);
}

/* cosine: A-B 2/sqrt(6), A-C 1/2, B-C 2/sqrt(6); shrink s scales by c/(c+s) */
static void knn_neighbors(void **state)
{
    (void)state;
    rec_data d;
    tiny(&d);
    rec_model *m = train(&d, "knn", 0);
    const uint32_t *nb;
    const float *sc;
    uint32_t n;
    rec_neighbors(m, A, &nb, &sc, &n);
    assert_int_equal(n, 2);
    assert_int_equal(nb[0], B), assert_float_equal(sc[0], 2 / sqrt(6), 1e-6);
    assert_int_equal(nb[1], C), assert_float_equal(sc[1], 0.5, 1e-6);
    rec_neighbors(m, B, &nb, &sc, &n); /* A and C tie: the more popular, then the ISBN */
    assert_int_equal(n, 2);
    assert_int_equal(nb[0], A), assert_int_equal(nb[1], C);
    rec_neighbors(m, D, &nb, &sc, &n);
    assert_int_equal(n, 0);
    rec_model_free(m);
    m = train(&d, "knn", 1);
    rec_neighbors(m, A, &nb, &sc, &n);
    assert_float_equal(sc[0], 2 / sqrt(6) * 2 / 3, 1e-6);
    assert_float_equal(sc[1], 0.5 * 1 / 2, 1e-6);
    rec_model_free(m);
    rec_data_free(&d);
}

/* user 1 (A, B): C scores 1/2 + 2/sqrt(6), because of B (the larger part);
 * D comes after, by popularity; A and B never come back. */
static void knn_scores(void **state)
{
    (void)state;
    rec_data d;
    tiny(&d);
    rec_model *m = train(&d, "knn", 0);
    rec_scratch *s;
    bp_err err = {0};
    assert_int_equal(rec_scratch_new(m, &s, &err), BP_OK);
    const uint32_t have[] = {A, B};
    rec_hit top[4];
    size_t n = rec_top(m, s, have, 2, top, 4);
    assert_int_equal(n, 2);
    assert_int_equal(top[0].item, C);
    assert_float_equal(top[0].score, 0.5 + 2 / sqrt(6), 1e-6);
    assert_int_equal(top[0].because, B);
    assert_int_equal(top[1].item, D);
    assert_int_equal(top[1].because, UINT32_MAX);
    assert_int_equal(rec_rank(m, s, have, 2, C), 0);
    assert_int_equal(rec_rank(m, s, have, 2, D), 1);
    /* the scratch is clean again: the same question, the same answer */
    assert_int_equal(rec_rank(m, s, have, 2, D), 1);
    rec_scratch_free(s);
    rec_model_free(m);
    rec_data_free(&d);
}

static void popularity_and_random(void **state)
{
    (void)state;
    rec_data d;
    tiny(&d);
    rec_model *m = train(&d, "popularity", 0);
    rec_scratch *s;
    bp_err err = {0};
    assert_int_equal(rec_scratch_new(m, &s, &err), BP_OK);
    const uint32_t have[] = {D};
    rec_hit top[4];
    assert_int_equal(rec_top(m, s, have, 1, top, 4), 3);
    assert_int_equal(top[0].item, B), assert_int_equal(top[1].item, A);
    assert_int_equal(top[2].item, C);
    assert_int_equal(rec_rank(m, s, have, 1, C), 2);
    const uint32_t have2[] = {B};
    assert_int_equal(rec_rank(m, s, have2, 1, C), 1);
    rec_scratch_free(s);
    rec_model_free(m);
    /* random: every item but the user's, each once */
    m = train(&d, "random", 0);
    assert_int_equal(rec_scratch_new(m, &s, &err), BP_OK);
    size_t n = rec_top(m, s, have, 1, top, 4);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(top[i].item, D);
        seen |= 1 << top[i].item;
    }
    assert_int_equal(seen, 1 << A | 1 << B | 1 << C);
    assert_int_equal(rec_rank(m, s, have, 1, top[2].item), 2);
    rec_scratch_free(s);
    rec_model_free(m);
    rec_data_free(&d);
}

/* EASE over the two most-read items (B, A), lambda 1: G = [[4, 2], [2, 3]]
 * (B, A order), so B's row gives A c / (n_B + lambda) = 2 / 4 and A's
 * row gives B 2 / 3. */
static void ease_weights(void **state)
{
    (void)state;
    rec_data d;
    tiny(&d);
    rec_model *m = train(&d, "ease", 0);
    rec_scratch *s;
    bp_err err = {0};
    assert_int_equal(rec_scratch_new(m, &s, &err), BP_OK);
    rec_hit top[4];
    const uint32_t hb[] = {B};
    assert_int_equal(rec_top(m, s, hb, 1, top, 4), 3);
    assert_int_equal(top[0].item, A);
    assert_float_equal(top[0].score, 0.5, 1e-5);
    assert_int_equal(top[0].because, B);
    assert_int_equal(top[1].item, C), assert_int_equal(top[2].item, D); /* not covered */
    const uint32_t ha[] = {A};
    assert_int_equal(rec_top(m, s, ha, 1, top, 1), 1);
    assert_int_equal(top[0].item, B);
    assert_float_equal(top[0].score, 2.0 / 3, 1e-5);
    rec_scratch_free(s);
    rec_model_free(m);
    rec_data_free(&d);
}

static void metrics(void **state)
{
    (void)state;
    double m[REC_NMETRICS];
    rec_metrics_of_rank(0, m);
    assert_float_equal(m[REC_HR10], 1, 1e-12), assert_float_equal(m[REC_NDCG10], 1, 1e-12);
    assert_float_equal(m[REC_MRR], 1, 1e-12), assert_float_equal(m[REC_NDCG100], 1, 1e-12);
    rec_metrics_of_rank(1, m);
    assert_float_equal(m[REC_NDCG10], 1 / log2(3), 1e-12);
    assert_float_equal(m[REC_MRR], 0.5, 1e-12);
    rec_metrics_of_rank(10, m);
    assert_float_equal(m[REC_HR10], 0, 1e-12), assert_float_equal(m[REC_NDCG10], 0, 1e-12);
    assert_float_equal(m[REC_HR100], 1, 1e-12);
    assert_float_equal(m[REC_NDCG100], 1 / log2(12), 1e-12);
    assert_float_equal(m[REC_MRR], 1.0 / 11, 1e-12);
    rec_metrics_of_rank(100, m);
    for (int k = 0; k < REC_NMETRICS; k++)
        assert_float_equal(m[k], 0, 1e-12);
}

/* A matrix with structure: users of two camps read their camp's books. */
static void camps(rec_data *d, int64_t *users, const char **isbns, char (*names)[16])
{
    size_t n = 0;
    for (int b = 0; b < 40; b++)
        snprintf(names[b], 16, "B%02d", b);
    uint64_t x = 12345;
    for (int u = 0; u < 300; u++)
        for (int k = 0; k < 8; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            int book = (int)((x >> 33) % 20) + (u % 2 ? 20 : 0);
            users[n] = u + 1, isbns[n++] = names[book];
        }
    rec_pairs p = {n, users, isbns};
    bp_err err = {0};
    assert_int_equal(rec_data_from_pairs(&p, d, &err), BP_OK);
}

static void evaluation(void **state)
{
    (void)state;
    static int64_t users[2400];
    static const char *isbns[2400];
    static char names[40][16];
    rec_data d;
    camps(&d, users, isbns, names);
    rec_method ms[4];
    assert_true(rec_method_parse("popularity", &ms[0]));
    assert_true(rec_method_parse("knn", &ms[1]));
    assert_true(rec_method_parse("random", &ms[2]));
    assert_true(rec_method_parse("als", &ms[3]));
    rec_eval_opts o;
    rec_eval_defaults(&o);
    o.boot = 200;
    rec_eval_row r1[4], r2[4];
    bp_err err = {0};
    assert_int_equal(rec_evaluate(&d, ms, 4, &o, r1, NULL, NULL, &err), BP_OK);
    assert_int_equal(rec_evaluate(&d, ms, 4, &o, r2, NULL, NULL, &err), BP_OK);
    uint32_t eligible = 0; /* users with 5 distinct books or more */
    for (uint32_t u = 0; u < d.n_users; u++)
        eligible += d.uptr[u + 1] - d.uptr[u] >= 5;
    assert_true(eligible > 250);
    for (int i = 0; i < 4; i++) { /* the same seed: the same numbers */
        assert_int_equal(r1[i].users, eligible);
        for (int k = 0; k < REC_NMETRICS; k++) {
            assert_true(r1[i].mean[k] == r2[i].mean[k]);
            assert_true(r1[i].lo[k] <= r1[i].mean[k] && r1[i].mean[k] <= r1[i].hi[k]);
        }
    }
    /* the camps: kNN and iALS find them, popularity cannot */
    assert_true(r1[1].mean[REC_HR10] > r1[0].mean[REC_HR10] + 0.1);
    assert_true(r1[3].mean[REC_HR10] > r1[0].mean[REC_HR10] + 0.1);
    o.seed = 2; /* another seed, other held-out items */
    assert_int_equal(rec_evaluate(&d, ms, 1, &o, r2, NULL, NULL, &err), BP_OK);
    assert_true(r2[0].mean[REC_MRR] != r1[0].mean[REC_MRR]);
    rec_data_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(data_from_pairs), cmocka_unit_test(knn_neighbors),
        cmocka_unit_test(knn_scores),      cmocka_unit_test(popularity_and_random),
        cmocka_unit_test(ease_weights),    cmocka_unit_test(metrics),
        cmocka_unit_test(evaluation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
