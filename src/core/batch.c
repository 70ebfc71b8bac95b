/* batch.c: column batch allocation and text storage. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

batch *batch_new(const table_def *def)
{
    batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->def = def;
    for (int c = 0; c < def->ncols; c++) {
        batch_col *col = &b->col[c];
        col->null = calloc(BATCH_ROWS, 1);
        if (def->cols[c].type == COL_TEXT) {
            col->off = calloc(BATCH_ROWS, sizeof *col->off);
            col->len = calloc(BATCH_ROWS, sizeof *col->len);
            if (!col->off || !col->len || !col->null)
                goto oom;
        } else {
            col->i = calloc(BATCH_ROWS, sizeof *col->i);
            if (!col->i || !col->null)
                goto oom;
        }
    }
    b->arena.limit = (size_t)1 << 31;
    return b;
oom:
    batch_free(b);
    return NULL;
}

void batch_free(batch *b)
{
    if (!b)
        return;
    for (int c = 0; c < BATCH_MAX_COLS; c++) {
        free(b->col[c].i);
        free(b->col[c].off);
        free(b->col[c].len);
        free(b->col[c].null);
    }
    buf_free(&b->arena);
    free(b);
}

void batch_clear(batch *b)
{
    b->n = 0;
    buf_reset(&b->arena);
}

bp_status batch_set_text(batch *b, int c, const char *s, size_t n)
{
    size_t off = b->arena.len;
    if (buf_add(&b->arena, s, n) != BP_OK)
        return BP_ENOMEM;
    b->col[c].off[b->n] = (uint32_t)off;
    b->col[c].len[b->n] = (uint32_t)n;
    b->col[c].null[b->n] = 0;
    return BP_OK;
}

bp_status batch_set_text_or_null(batch *b, int c, const char *s, size_t n)
{
    if (!s) {
        batch_set_null(b, c);
        return BP_OK;
    }
    return batch_set_text(b, c, s, n);
}
