/* buf.h: a growable byte buffer with an upper limit.
 *
 * The one buffer type used everywhere. It always keeps a NUL after the
 * data so that b->p can be handed to C string APIs. Growth past b->limit
 * (0 = the default of 1 GiB) fails with BP_ENOMEM instead of eating the
 * machine. buf_free() accepts a zeroed or freed buffer. */
#ifndef BP_BUF_H
#define BP_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    char *p;
    size_t len, cap, limit;
} buf;

void buf_free(buf *b);
static inline void buf_reset(buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
/* Make room for n more bytes (plus the NUL). */
BP_MUST bp_status buf_reserve(buf *b, size_t n);
BP_MUST bp_status buf_add(buf *b, const void *s, size_t n);
BP_MUST bp_status buf_addc(buf *b, char c);
BP_MUST bp_status buf_adds(buf *b, const char *s);
BP_MUST bp_status buf_printf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s with SQL single quotes doubled, surrounded by quotes (the
 * standard literal: DuckDB, PostgreSQL). */
BP_MUST bp_status buf_add_sqlstr(buf *b, const char *s);
/* The same for a dialect that reads backslashes in string literals as
 * escapes (Redshift) when backslash_escapes: backslashes doubled too. */
BP_MUST bp_status buf_add_sqllit(buf *b, const char *s, bool backslash_escapes);
/* Append a SQL identifier, double-quoted when it needs to be. */
BP_MUST bp_status buf_add_ident(buf *b, const char *s);
/* schema.name, each part as buf_add_ident writes it. */
BP_MUST bp_status buf_add_relation(buf *b, const char *schema, const char *name);

#endif
