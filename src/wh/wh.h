/* wh.h: the warehouse interface.
 *
 * Every warehouse (DuckDB, PostgreSQL, Redshift) implements struct wh_ops;
 * the rest of bookpipe talks to a `wh *` only, never includes a database's
 * own header, and never compares a target's name: what differs between
 * targets (how a run locks, stages and loads, dbt's dialect) is a field
 * of the ops table, found by name with wh_ops_named. SQL text passed to
 * exec/query is the caller's: dialect differences are kept in the wh_*
 * helpers below. */
#ifndef BP_WH_H
#define BP_WH_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/batch.h"
#include "../core/buf.h"
#include "../core/err.h"

typedef struct wh wh;
typedef struct wh_loader wh_loader;

typedef struct {
    const char *target;  /* "duckdb" (default), "postgres" or "redshift" */
    const char *path;    /* DuckDB file, ":memory:" for none */
    bool read_only;
    const char *memory_limit;  /* engine memory cap ("512MB"), NULL for the default */
    const char *dsn;     /* postgres: a libpq conninfo or URI; NULL: the PG* variables */
    /* DuckDB: the name the file is attached as (dbt: the file's stem, as
     * DuckDB itself names it); NULL: bookpipe's fixed name */
    const char *catalog;
    /* For SQL from outside (the explorer, dashboard panels): the engine
     * itself refuses writes, files and the network. DuckDB: the file
     * attached read-only, external access off and the configuration locked
     * before any user SQL runs. PostgreSQL: dsn must name a login that can
     * only read (see wh_reader_dsn). Implies read_only. */
    bool sandbox;
} wh_config;

typedef struct {
    const char *name;
    bool numeric;        /* right-align when printing */
    /* what the text holds: 'i' integer, 'n' decimal, 'f' float, 'b' boolean
     * ("true"/"false"), 'd' date, 't' timestamp, 's' text or other */
    char kind;
} wh_col;

/* How wh_query_user runs a user's statement. */
typedef struct {
    long long max_rows;         /* hand fn at most this many rows (0: all) */
    int timeout_ms;             /* stop the statement after this long (0: never) */
    int nparams;                /* $1..$n bound as text, never spliced */
    const char *const *params;
} wh_user_query;

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

/* How a run keeps a second run away. */
typedef enum {
    WH_LOCK_FILE,   /* a lock file next to the warehouse file (DuckDB) */
    WH_LOCK_SERVER, /* an advisory lock on the server (PostgreSQL) */
    WH_LOCK_STATE   /* a lock file in the local state folder: the server has
                       no advisory locks, so one machine at a time (Redshift) */
} wh_lock_kind;

/* How a run's cleaned tables reach the live ones. */
typedef enum {
    WH_LOAD_RENAME,   /* staged beside them in the warehouse, renamed into place */
    WH_LOAD_REFILL,   /* staged in a schema of the warehouse; the live tables are
                         emptied and refilled, so views on them stay valid */
    WH_LOAD_FROM_LAKE /* staged in a local DuckDB file; the warehouse copies the
                         run's files from the S3 lake (no COPY FROM STDIN) */
} wh_load_kind;

typedef struct {
    const char *name;         /* as --target and dbt's profile type name it */
    const char *title;        /* for messages: "PostgreSQL" */
    /* ---- what callers decide by target ---- */
    bool embedded;            /* a file this process opens (DuckDB): it writes
                                 the lake itself, takes a memory limit, and is
                                 held open between a server's requests */
    wh_lock_kind lock;
    wh_load_kind load;
    bool analyze_after_load;  /* refresh the planner's statistics of loaded
                                 tables (a server without them plans the
                                 marts' joins blind) */
    /* dbt's view of the adapter: adapter.dispatch prefixes (most specific
     * first, then "default"), the Relation class, the seed column types
     * agate's float and datetime become, sources read from files */
    const char *const *dispatch;
    const char *relation_class;
    const char *float_type, *timestamp_type;
    bool file_sources;
    bool subquery_alias;      /* a subquery in FROM needs a name (dbt's require_alias) */
    /* ---- operations ---- */
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
    /* String literals read backslashes as escapes (Redshift): wh_add_literal
     * doubles them. */
    bool backslash_literals;
    /* Optional: append everything src yields to schema.def in parallel
     * (the engine's threads pull). NULL when the target has no such path. */
    bp_status (*load_source)(wh *w, const char *schema, const table_def *def, wh_source *src,
                             bp_err *err);
    /* Run sql with parameters $1..$n bound as text (never spliced). */
    bp_status (*query_params)(wh *w, const char *sql, int nparams, const char *const *params,
                              wh_row_fn fn, void *ctx, bp_err *err);
    /* See wh_query_user. */
    bp_status (*query_user)(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn,
                            void *ctx, bool *truncated, bp_err *err);
    /* Optional: a conninfo for a login that can only read this warehouse,
     * made or refreshed with w's rights (PostgreSQL); see wh_reader_dsn. */
    bp_status (*reader_dsn)(wh *w, const char *const *schemas, int nschemas, buf *out,
                            char *note, size_t note_n, bp_err *err);
} wh_ops;

struct wh {
    const wh_ops *ops;
};

extern const wh_ops wh_duckdb_ops, wh_pg_ops, wh_redshift_ops;

/* The target called name (duckdb, postgres, redshift), or NULL. */
const wh_ops *wh_ops_named(const char *name);

/* Is a PostgreSQL server standing in for target t (the tests' Redshift:
 * BOOKPIPE_REDSHIFT_EMULATE=postgres)? */
bool wh_stand_in(const wh_ops *t);

/* The DuckDB library's version ("v1.4.4"). */
const char *wh_duckdb_version(void);

/* Rows of text into a Parquet file, through a private in-memory DuckDB
 * (nothing of the user's SQL runs there; the columns are typed by their
 * kind): open, add rows, then close, which writes the file (write) or
 * drops it. */
typedef struct wh_parquet wh_parquet;
BP_MUST bp_status wh_parquet_open(size_t nc, const wh_col *cols, wh_parquet **out, bp_err *err);
BP_MUST bp_status wh_parquet_row(wh_parquet *p, const char *const *vals, bp_err *err);
BP_MUST bp_status wh_parquet_close(wh_parquet *p, const char *path, bp_err *err);

/* Open the warehouse named by cfg->target. */
BP_MUST bp_status wh_open(const wh_config *cfg, wh **out, bp_err *err);
/* An embedded engine's memory cap when none is given: a quarter of the
 * machine's memory ("5967MiB"), at least 256MiB; what does not fit spills
 * to disk. */
void wh_memory_default(char *out, size_t n);

/* Which warehouse, as the commands and the server name it (their
 * --target, --warehouse, --schema, --dsn flags). */
typedef struct {
    const char *target;     /* duckdb (default), postgres or redshift */
    const char *warehouse;  /* the DuckDB file */
    const char *schema;     /* of the loaded tables */
    const char *memory_limit; /* engine memory cap, or NULL */
    const char *dsn;        /* postgres: conninfo or URI, or NULL for the PG* variables */
} wh_spec;

void wh_spec_defaults(wh_spec *w);

/* How a caller opens it: to write, to read, or sandboxed for SQL from
 * outside (the server: see wh_config.sandbox). */
typedef enum { WH_OPEN_WRITE, WH_OPEN_READ, WH_OPEN_SANDBOX } wh_open_mode;

/* Open the warehouse w names; a DuckDB file that is not there is an error
 * when reading (no empty warehouse is made). */
BP_MUST bp_status wh_spec_open(const wh_spec *w, wh_open_mode mode, wh **out, bp_err *err);
void wh_close(wh *w);

/* The operations, for callers (never w->ops->... outside src/wh). */
BP_MUST static inline bp_status wh_exec(wh *w, const char *sql, bp_err *err)
{
    return w->ops->exec(w, sql, err);
}
BP_MUST static inline bp_status wh_query(wh *w, const char *sql, wh_row_fn fn, void *ctx,
                                         bp_err *err)
{
    return w->ops->query(w, sql, fn, ctx, err);
}
BP_MUST static inline bp_status wh_load_begin(wh *w, const char *schema, const table_def *def,
                                              wh_loader **out, bp_err *err)
{
    return w->ops->load_begin(w, schema, def, out, err);
}
/* The loader's own warehouse's operation: l was made by w. */
BP_MUST static inline bp_status wh_load_batch(const wh *w, wh_loader *l, const batch *b,
                                              bp_err *err)
{
    return w->ops->load_batch(l, b, err);
}
BP_MUST static inline bp_status wh_load_end(const wh *w, wh_loader *l, bp_err *err)
{
    return w->ops->load_end(l, err);
}
/* Can w pull batches in parallel itself (wh_load_source)? */
static inline bool wh_can_pull(const wh *w) { return w->ops->load_source != NULL; }
BP_MUST static inline bp_status wh_load_source(wh *w, const char *schema, const table_def *def,
                                               wh_source *src, bp_err *err)
{
    return w->ops->load_source(w, schema, def, src, err);
}
BP_MUST static inline bp_status wh_replace_table(wh *w, const char *schema, const table_def *def,
                                                 bp_err *err)
{
    return w->ops->replace_table(w, schema, def, err);
}
BP_MUST static inline bp_status wh_connect_more(wh *w, wh **out, bp_err *err)
{
    return w->ops->connect_more(w, out, err);
}
/* Is w a file this process opens (wh_ops.embedded)? */
static inline bool wh_embedded(const wh *w) { return w->ops->embedded; }
/* The dialect's word for dropping dependents too ("" or " CASCADE"). */
static inline const char *wh_drop_cascade(const wh *w) { return w->ops->drop_cascade; }
/* After a load: the planner's statistics of schema.table refreshed where
 * the warehouse wants it (wh_ops.analyze_after_load; DuckDB keeps its own). */
BP_MUST bp_status wh_analyze(wh *w, const char *schema, const char *table, bp_err *err);
BP_MUST bp_status wh_begin(wh *w, bp_err *err);
BP_MUST bp_status wh_commit(wh *w, bp_err *err);
/* Roll back, ignoring errors (used on failure paths). */
void wh_rollback(wh *w);

/* Run one statement that came from a user (the SQL explorer, `bookpipe
 * query`, a dashboard panel). Only statements that read pass: SELECT (and
 * what the engine reads as one: WITH, VALUES, TABLE, SHOW, DESCRIBE) and
 * EXPLAIN of such a statement. Several statements, transaction control and
 * anything that writes are refused with BP_EUSAGE before they run, saying
 * what was refused; the engine's own read-only guards (wh_config.sandbox)
 * stand behind this check, not on it. Rows stream: at q->max_rows the
 * statement stops (*truncated set when more were there) without the rest
 * being computed or held. Past q->timeout_ms it is cancelled (BP_EWH). */
BP_MUST bp_status wh_query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn, void *ctx,
                        bool *truncated, bp_err *err);

/* A conninfo (into out) for a login that can only read schemas of this
 * warehouse, for `bookpipe serve`'s sandboxed connections. PostgreSQL:
 * BOOKPIPE_READ_DSN when set (checked to be neither a superuser nor allowed
 * server files); else a role bookpipe_reader made or refreshed with w's
 * rights (a fresh random password each time, sent hashed). "" in out with
 * *note explaining, when no such login can be had and w's own login is
 * safe enough to read with (read-only transactions still apply). DuckDB:
 * "" (the sandbox is the engine's own). */
BP_MUST bp_status wh_reader_dsn(wh *w, const char *const *schemas, int nschemas, buf *out, char *note,
                        size_t note_n, bp_err *err);

/* SQL text helpers for the user-statement checks: skip blanks and
 * comments; the first keyword (upper-cased into out, its length returned,
 * *at after it; leading parentheses skipped); the statement an EXPLAIN
 * [ANALYZE] [(options)] explains (NULL when sql is no EXPLAIN). */
const char *wh_sql_skip_space(const char *p);
size_t wh_sql_keyword(const char *sql, const char **at, char *out, size_t n);
const char *wh_sql_explained(const char *sql);

/* Append s as a string literal of w's dialect (NULL: the word NULL). */
BP_MUST bp_status wh_add_literal(const wh *w, buf *b, const char *s);

/* Run a query that returns one integer (NULL reads as dflt). */
BP_MUST bp_status wh_query_int(wh *w, const char *sql, long long dflt, long long *out, bp_err *err);

/* Does the schema (or schema.table, when table is not NULL) exist? */
BP_MUST bp_status wh_exists(wh *w, const char *schema, const char *table, bool *out, bp_err *err);

/* Resolve unqualified names in schema first (when it exists). */
BP_MUST bp_status wh_use_schema(wh *w, const char *schema, bp_err *err);

/* CREATE TABLE for def in schema; replace drops an existing one first. */
BP_MUST bp_status wh_create_table(wh *w, const char *schema, const table_def *def, bool replace,
                          bp_err *err);

/* A table written batch by batch: created (replacing one of that name),
 * then filled through the target's loader, or with INSERT statements on a
 * target that takes no rows from a client (Redshift). Close frees the
 * writer, also after a failure. */
typedef struct wh_writer wh_writer;
BP_MUST bp_status wh_writer_open(wh *w, const char *schema, const table_def *def, wh_writer **out,
                                 bp_err *err);
BP_MUST bp_status wh_writer_batch(wh_writer *x, const batch *b, bp_err *err);
BP_MUST bp_status wh_writer_close(wh_writer *x, bp_err *err);

#endif
