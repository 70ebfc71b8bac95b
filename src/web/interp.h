/* interp.h: Grafana's variable interpolation for SQL panels, done safely.
 *
 * Grafana splices variable values into rawSql as text. Here every value
 * becomes a bound parameter ($1, $2, ...), so a value can never change a
 * query's structure: a text box holding `'; DROP TABLE users; --` is one
 * string that matches nothing. The forms Grafana accepts are read: $var,
 * ${var}, ${var:format}, [[var]], [[var:format]]; a reference inside a
 * string literal ('$var', '%$var%') becomes the literal's pieces joined with
 * ||; a multi-value reference becomes a list ($1, $2, ...) for IN (...).
 * Grafana's macros ($__timeFilter, $__timeGroup, $__unixEpochFilter...,
 * as its PostgreSQL data source writes them) expand over the time range:
 * the range's ends are parameters too; only numbers computed here from a
 * parsed interval (the 300 of floor(extract(epoch from t)/300)*300) are
 * written into the text, so that a GROUP BY repeats the SELECT's
 * expression exactly. Global variables ($__from, $__to, $__interval,
 * $__range, $__dashboard...) are parameters. A variable inside a
 * double-quoted identifier is refused: it would name a table or column. */
#ifndef BP_INTERP_H
#define BP_INTERP_H

#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct {
    const char *name;
    const char *const *values;  /* the current values (All: every option) */
    int n;
} gf_var;

/* What the macros and global variables read. */
typedef struct {
    int64_t from_ms, to_ms;  /* the range, UTC */
    int64_t interval_ms;     /* $__interval */
    const char *dashboard;   /* $__dashboard: the title */
} gf_time;

/* $__timeGroup(col, '5m', FILL): the points missing from the result are
 * added over the range by whoever draws it, as Grafana does. */
typedef enum { GF_FILL_NONE, GF_FILL_VALUE, GF_FILL_NULL, GF_FILL_PREVIOUS } gf_fill;

typedef struct {
    buf sql;          /* the statement with $1..$n */
    char **params;    /* n values, owned */
    int n, cap;
    gf_fill fill;
    double fill_value;
    int64_t fill_interval_ms;
} gf_query;

/* t may be NULL where no range applies: a time macro is then an error. */
BP_MUST bp_status gf_interpolate(const char *raw, const gf_var *vars, int nvars,
                                 const gf_time *t, gf_query *out, bp_err *err);
void gf_query_free(gf_query *q);

#endif
