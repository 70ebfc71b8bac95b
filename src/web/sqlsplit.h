/* sqlsplit.h: SQL text cut into its statements, at the semicolons that
 * end them (not those inside quotes, identifiers, dollar quotes or
 * comments), for the explorer's several statements at once. */
#ifndef BP_SQLSPLIT_H
#define BP_SQLSPLIT_H

#include <stddef.h>

typedef struct {
    size_t start, end;  /* [start, end) in the text, without the semicolon */
} web_span;

/* The statements of sql into out (at most cap); statements of only
 * blanks and comments are left out. Returns how many there are (which may
 * be more than cap). */
int web_sql_split(const char *sql, web_span *out, int cap);

#endif
