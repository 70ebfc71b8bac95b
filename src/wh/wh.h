/* wh.h: the warehouse interface.
 *
 * Every warehouse (DuckDB now; PostgreSQL and Redshift later) implements
 * struct wh_ops; the rest of bookpipe talks to a `wh *` only and never
 * includes a database's own header. SQL text passed to exec/query is the
 * caller's: dialect differences are kept in the wh_* helpers below. */
#ifndef BP_WH_H
#define BP_WH_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/batch.h"
#include "../core/err.h"

typedef struct wh wh;
typedef struct wh_loader wh_loader;

typedef struct {
    const char *target;  /* "duckdb" (default), "postgres" or "redshift" */
    const char *path;    /* DuckDB file, ":memory:" for none */
    bool read_only;
    const char *memory_limit;  /* engine memory cap ("512MB"), NULL for the default */
    const char *dsn;     /* postgres: a libpq conninfo or URI; NULL: the PG* variables */
} wh_config;

typedef struct {
    const char *name;
    bool numeric;        /* right-align when printing */
} wh_col;

/* Called once per result row; vals[i] is NULL for SQL NULL. Returning
 * non-zero stops the query early (not an error). */
typedef int (*wh_row_fn)(void *ctx, size_t ncols, const wh_col *cols, const char *const *vals);

/* A pull source for wh_ops.load_source: the warehouse asks for batches,
 * possibly from several of its own threads at once (next and done_with
 * must be thread-safe). next returns NULL to end this load. */
typedef struct {
    const batch *(*next)(void *ctx);
    void (*done_with)(void *ctx, const batch *b);
    void *ctx;
} wh_source;

typedef struct {
    const char *name;
    bp_status (*open)(const wh_config *cfg, wh **out, bp_err *err);
    void (*close)(wh *w);
    bp_status (*exec)(wh *w, const char *sql, bp_err *err);
    bp_status (*query)(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err);
    bp_status (*load_begin)(wh *w, const char *schema, const table_def *def, wh_loader **out,
                            bp_err *err);
    bp_status (*load_batch)(wh_loader *l, const batch *b, bp_err *err);
    /* Flush and free the loader; load_end always frees it. */
    bp_status (*load_end)(wh_loader *l, bp_err *err);
    /* Another connection to the same warehouse, for parallel work; close
     * it (wh_close) before the one it came from. */
    bp_status (*connect_more)(wh *w, wh **out, bp_err *err);
    /* Replace a loaded table's contents inside the running transaction.
     * DuckDB drops and creates it; PostgreSQL keeps the table (views that
     * depend on it stay valid) and truncates it. */
    bp_status (*replace_table)(wh *w, const char *schema, const table_def *def, bp_err *err);
    /* Words of this dialect: "CASCADE" where DROP needs it for dependents. */
    const char *drop_cascade;
    /* Optional: append everything src yields to schema.def in parallel
     * (the engine's threads pull). NULL when the target has no such path. */
    bp_status (*load_source)(wh *w, const char *schema, const table_def *def, wh_source *src,
                             bp_err *err);
    /* Run sql with parameters $1..$n bound as text (never spliced). */
    bp_status (*query_params)(wh *w, const char *sql, int nparams, const char *const *params,
                              wh_row_fn fn, void *ctx, bp_err *err);
} wh_ops;

struct wh {
    const wh_ops *ops;
};

extern const wh_ops wh_duckdb_ops, wh_pg_ops, wh_redshift_ops;

/* The DuckDB library's version ("v1.4.4"). */
const char *wh_duckdb_version(void);

/* Open the warehouse named by cfg->target. */
bp_status wh_open(const wh_config *cfg, wh **out, bp_err *err);
void wh_close(wh *w);

static inline bp_status wh_exec(wh *w, const char *sql, bp_err *err)
{
    return w->ops->exec(w, sql, err);
}
static inline bp_status wh_query(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err)
{
    return w->ops->query(w, sql, fn, ctx, err);
}
bp_status wh_begin(wh *w, bp_err *err);
bp_status wh_commit(wh *w, bp_err *err);
/* Roll back, ignoring errors (used on failure paths). */
void wh_rollback(wh *w);

/* Run a query that returns one integer (NULL reads as dflt). */
bp_status wh_query_int(wh *w, const char *sql, long long dflt, long long *out, bp_err *err);

/* Does the schema (or schema.table, when table is not NULL) exist? */
bp_status wh_exists(wh *w, const char *schema, const char *table, bool *out, bp_err *err);

/* Resolve unqualified names in schema first (when it exists). */
bp_status wh_use_schema(wh *w, const char *schema, bp_err *err);

/* CREATE TABLE for def in schema; replace drops an existing one first. */
bp_status wh_create_table(wh *w, const char *schema, const table_def *def, bool replace,
                          bp_err *err);

#endif
