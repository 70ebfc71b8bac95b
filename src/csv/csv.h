/* csv.h: a streaming CSV reader for both Book-Crossing release formats.
 *
 * Zero-copy: a cell is a (pointer, length) slice into the reader's block
 * buffer, valid until the next csv_next(). Only quoted cells holding
 * escapes ("" or \") are unescaped, into a per-record scratch area.
 * Memory stays bounded: the reader holds one block plus the longest record
 * seen, and refuses records longer than CSV_MAX_RECORD.
 *
 * Dialects: Kaggle (`,`, "" escapes) and the original BX release (`;`,
 * \" and \\ escapes inside quotes). Both accept LF, CRLF and lone CR line
 * ends, a UTF-8 byte order mark, quoted line breaks and a missing final
 * newline. A quote inside a quoted cell that is not followed by a
 * delimiter or line end is kept as a literal quote, as pandas does. */
#ifndef BP_CSV_H
#define BP_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../extract/src.h"

#define CSV_MAX_FIELDS 64
#define CSV_MAX_RECORD (16u << 20)
/* A quoted cell may hold line breaks, but a quote left open by mistake
 * would swallow the rest of the file as one cell. Once the reader knows how
 * many fields a record has (csv_expect_fields), a quoted cell that reaches
 * a line break is cut there when the next line reads as a whole record on
 * its own, or when the cell has spanned this many lines: the record is
 * marked malformed and runaway, and reading goes on at the next line. */
#define CSV_QUOTE_MAX_LINES 100

typedef struct {
    const char *p;
    size_t len;
    bool quoted;
} csv_cell;

typedef struct {
    char delim;
    bool backslash_escapes;
} csv_dialect;

typedef struct csv_reader csv_reader;

/* Create a reader over a stream (borrowed; the caller closes it). */
csv_reader *csv_new(src_stream *in, csv_dialect d);
void csv_free(csv_reader *r);

/* Peek at the first bytes of the stream (after a BOM) without consuming
 * them, to detect the dialect. Sets *p and *n to at most the first block. */
BP_MUST bp_status csv_peek(csv_reader *r, const char **p, size_t *n, bp_err *err);
void csv_set_dialect(csv_reader *r, csv_dialect d);

/* Read the next record. Returns 1 for a record, 0 at the end, -1 on a
 * read error or a record that is too long (err says which). Blank lines
 * are skipped. */
int csv_next(csv_reader *r, bp_err *err);

size_t csv_nfields(const csv_reader *r);
csv_cell csv_field(const csv_reader *r, size_t i);
/* 1-based line number where the current record starts. */
uint64_t csv_line(const csv_reader *r);
/* The raw bytes of the current record, without its line end. */
csv_cell csv_raw(const csv_reader *r);
/* True when the record had more than CSV_MAX_FIELDS fields, or ended
 * inside an open quote at the end of the file. */
bool csv_malformed(const csv_reader *r);
/* True when the record was cut at a runaway quote (see above). */
bool csv_runaway(const csv_reader *r);
/* Records have n fields (the header's count): enables the runaway check. */
void csv_expect_fields(csv_reader *r, size_t n);

#endif
