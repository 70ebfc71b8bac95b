/* batch.h: tables as column batches, the unit that flows from cleaning
 * into the sinks (warehouse appender, COPY).
 *
 * A table_def names a table and its typed columns; every sink builds its
 * DDL from it. A batch holds up to BATCH_ROWS rows column by column; text
 * values live in one arena owned by the batch. */
#ifndef BP_BATCH_H
#define BP_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

#define BATCH_ROWS 2048
#define BATCH_MAX_COLS 16

typedef enum { COL_INT, COL_BIGINT, COL_BOOL, COL_TEXT, COL_TIMESTAMP, COL_DOUBLE } col_type;

typedef struct {
    const char *name;
    col_type type;
    bool not_null;
} col_def;

typedef struct {
    const char *name;
    const col_def *cols;
    int ncols;
} table_def;

typedef struct {
    int64_t *i;     /* COL_INT, COL_BIGINT, COL_TIMESTAMP (microseconds), COL_BOOL,
                       COL_DOUBLE (its bits: batch_set_double, batch_double) */
    uint32_t *off;  /* COL_TEXT: offset and length in the arena */
    uint32_t *len;
    uint8_t *null;
} batch_col;

typedef struct {
    const table_def *def;
    size_t n;
    batch_col col[BATCH_MAX_COLS];
    buf arena;
} batch;

/* Allocate a batch for def. Free with batch_free (NULL-safe). */
batch *batch_new(const table_def *def);
void batch_free(batch *b);
void batch_clear(batch *b);
static inline bool batch_full(const batch *b) { return b->n == BATCH_ROWS; }

/* Setters for row b->n (the row being built); batch_commit makes it count.
 * Every column of a committed row must have been set. */
static inline void batch_set_int(batch *b, int c, int64_t v)
{
    b->col[c].i[b->n] = v;
    b->col[c].null[b->n] = 0;
}
static inline void batch_set_null(batch *b, int c) { b->col[c].null[b->n] = 1; }
static inline void batch_set_double(batch *b, int c, double v)
{
    int64_t bits;
    memcpy(&bits, &v, sizeof bits);
    batch_set_int(b, c, bits);
}
static inline double batch_double(const batch *b, int c, size_t row)
{
    double v;
    memcpy(&v, &b->col[c].i[row], sizeof v);
    return v;
}
BP_MUST bp_status batch_set_text(batch *b, int c, const char *s, size_t n);
/* Text, or NULL when s is NULL. */
BP_MUST bp_status batch_set_text_or_null(batch *b, int c, const char *s, size_t n);
static inline void batch_commit(batch *b) { b->n++; }

/* Read back (for sinks and tests). */
static inline const char *batch_text(const batch *b, int c, size_t row, size_t *n)
{
    *n = b->col[c].len[row];
    return b->arena.p + b->col[c].off[row];
}

#endif
