/* ease.c: EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for
 * Sparse Data") over the N most-read items.
 *
 * G = X^T X + lambda I over those items, P = G^-1 (float Cholesky and
 * inverse, LAPACK), B = -P / diag(P) column by column with a zero
 * diagonal; a user's score for item j sums row i of B over the items i
 * they have. The cost is the N x N inverse (N^3), which is why N is
 * bounded (rec_ease_default_n); items outside the N are ranked after the
 * scored ones, by popularity. */
#include "rec_int.h"

#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

/* G += x_u^T x_u over the covered items, user by user (rows: scratch of
 * en). The adds are memory-bound and one thread keeps them simple. */
static void gram(rec_model *m, float *G, int32_t *rows)
{
    const rec_data *d = m->d;
    for (size_t u = 0; u < d->n_users; u++) {
        size_t n = 0;
        for (size_t k = d->uptr[u]; k < d->uptr[u + 1]; k++) {
            int32_t r = m->erow[d->uitem[k]];
            if (r >= 0)
                rows[n++] = r;
        }
        for (size_t a = 0; a < n; a++) {
            float *row = G + (size_t)rows[a] * m->en;
            for (size_t b = 0; b < n; b++)
                row[rows[b]] += 1;
        }
    }
}

bp_status rec_ease_train(rec_model *m, bp_err *err)
{
    const rec_data *d = m->d;
    uint32_t n = m->m.ease_n ? m->m.ease_n : rec_ease_default_n();
    if (n > d->n_items)
        n = d->n_items;
    m->en = n;
    size_t cells = (size_t)n * n;
    m->eitem = malloc((n ? n : 1) * sizeof *m->eitem);
    m->erow = malloc((d->n_items ? d->n_items : 1) * sizeof *m->erow);
    m->B = calloc(cells ? cells : 1, sizeof *m->B);
    int32_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!m->eitem || !m->erow || !m->B || !rows) {
        free(rows);
        return bp_fail(err, BP_ENOMEM,
                       "out of memory for EASE over %u items (%.1f GB); give a smaller N", n,
                       (double)cells * 4 / 1e9);
    }
    for (uint32_t i = 0; i < d->n_items; i++)
        m->erow[i] = -1;
    for (uint32_t e = 0; e < n; e++) {
        m->eitem[e] = d->by_pop[e];
        m->erow[d->by_pop[e]] = (int32_t)e;
    }
    gram(m, m->B, rows);
    free(rows);
    float lambda = (float)(m->m.ease_lambda > 0 ? m->m.ease_lambda : 500);
    float *G = m->B;
    for (uint32_t e = 0; e < n; e++)
        G[(size_t)e * n + e] += lambda;
    if (n == 0)
        return BP_OK;
    lapack_int info = LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, G, (lapack_int)n);
    if (info == 0)
        info = LAPACKE_spotri(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, G, (lapack_int)n);
    if (info != 0)
        return bp_fail(err, BP_EINTERNAL,
                       "EASE: the Gram matrix could not be inverted (LAPACK info %d); raise "
                       "lambda", (int)info);
    /* P is in the lower triangle: mirror it, then B = -P / diag(P) */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            G[(size_t)i * n + j] = G[(size_t)j * n + i];
    float *diag = malloc(n * sizeof *diag);
    if (!diag)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (uint32_t j = 0; j < n; j++)
        diag[j] = G[(size_t)j * n + j];
    for (uint32_t i = 0; i < n; i++) {
        float *row = G + (size_t)i * n;
        for (uint32_t j = 0; j < n; j++)
            row[j] = i == j ? 0 : -row[j] / diag[j];
    }
    free(diag);
    return BP_OK;
}
