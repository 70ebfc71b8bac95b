/* interp.h: Grafana's variable interpolation for SQL panels, done safely.
 *
 * Grafana splices variable values into rawSql as text. Here every value
 * becomes a bound parameter ($1, $2, ...), so a value can never change a
 * query's structure: a text box holding `'; DROP TABLE users; --` is one
 * string that matches nothing. The forms Grafana accepts are read: $var,
 * ${var}, ${var:format}, [[var]], [[var:format]]; a reference inside a
 * string literal ('$var', '%$var%') becomes the literal's pieces joined with
 * ||; a multi-value reference becomes a list ($1, $2, ...) for IN (...).
 * Grafana's time macros, which need a time column and range this data does
 * not have, turn neutral ($__timeFilter(x) is TRUE). A variable inside a
 * double-quoted identifier is refused: it would name a table or column. */
#ifndef BP_INTERP_H
#define BP_INTERP_H

#include "../core/buf.h"
#include "../core/err.h"

typedef struct {
    const char *name;
    const char *const *values;  /* the current values (All: every option) */
    int n;
} gf_var;

typedef struct {
    buf sql;          /* the statement with $1..$n */
    char **params;    /* n values, owned */
    int n, cap;
} gf_query;

BP_MUST bp_status gf_interpolate(const char *raw, const gf_var *vars, int nvars, gf_query *out,
                         bp_err *err);
void gf_query_free(gf_query *q);

#endif
