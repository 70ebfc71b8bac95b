/* keyspill.h: exact duplicate detection for inputs whose keys do not fit
 * in memory, in two passes over the input.
 *
 * The first pass writes each key with its line to one of KEYSPILL_PARTS
 * files chosen by the key's hash; keyset_spill_resolve then reads the
 * files one at a time into a key set of that part's size (1/64 of the
 * keys) and marks every line whose key an earlier line had. The second
 * pass asks keyset_lines_dup for each line. Memory: the largest part's key
 * set plus one bit a line; disk: 18 bytes a key, in files unlinked as soon
 * as they are opened. */
#ifndef BP_KEYSPILL_H
#define BP_KEYSPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KEYSPILL_PARTS 64

typedef struct keyset_spill keyset_spill;

/* The lines of an input whose key was seen on an earlier line. */
typedef struct {
    uint64_t *bits;
    uint64_t nlines; /* lines 0..nlines-1 have a bit */
    uint64_t ndup;
} keyset_lines;

/* Spill files in dir (created there, unlinked at once). */
BP_MUST bp_status keyset_spill_new(const char *dir, keyset_spill **out, bp_err *err);
/* Add (hi:lo) seen at line; hi below 2^15 as for keyset_add. */
BP_MUST bp_status keyset_spill_add(keyset_spill *s, uint16_t hi, uint64_t lo, uint64_t line,
                                   bp_err *err);
/* Every key added: the lines that repeat an earlier line's key. */
BP_MUST bp_status keyset_spill_resolve(keyset_spill *s, keyset_lines *out, bp_err *err);
void keyset_spill_free(keyset_spill *s);

static inline bool keyset_lines_dup(const keyset_lines *l, uint64_t line)
{
    return line < l->nlines && (l->bits[line >> 6] >> (line & 63) & 1);
}
void keyset_lines_free(keyset_lines *l);

#endif
