/* wh_duckdb.c: the embedded DuckDB warehouse (the default target).
 *
 * Loading goes through the appender, one data chunk per batch: the columns
 * of a batch are copied into DuckDB vectors directly, which is several
 * times faster than appending value by value. */
#include <duckdb.h>
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/buf.h"
#include "wh.h"

#define WH_CATALOG "bookpipe_wh"

typedef struct {
    wh base;
    duckdb_database db;
    duckdb_connection con;
    char path[4096];
    char use[300];         /* "USE <catalog>": the name the file is attached as */
    bool child;            /* a second connection: the database is its parent's */
    bool attached;         /* the file is attached as WH_CATALOG */
    bool scan_registered;
    char scan_name[64];    /* this connection's loader function (see register_scan) */
    /* the load_source call in progress (one query at a time) */
    const table_def *src_def;
    wh_source *src;
} duck;

struct wh_loader {
    duck *d;
    const table_def *def;
    duckdb_appender app;
    duckdb_data_chunk chunk;
    char name[256];
};

/* The catalog the file is attached as: the caller's name (dbt projects
 * expect DuckDB's own, the file's stem: target.database) when it is a
 * usable one, else WH_CATALOG. */
static void set_catalog(duck *d, const char *name)
{
    static const char *const reserved[] = {"memory", "system", "temp", "main", ""};
    bool ok = name && strlen(name) < 200;
    for (size_t i = 0; ok && i < sizeof reserved / sizeof reserved[0]; i++)
        ok = strcasecmp(name, reserved[i]) != 0;
    buf b = {0};
    if (!buf_adds(&b, "USE ") && !buf_add_ident(&b, ok ? name : WH_CATALOG) && b.len < sizeof d->use)
        snprintf(d->use, sizeof d->use, "%s", b.p);
    else
        snprintf(d->use, sizeof d->use, "USE %s", WH_CATALOG);
    buf_free(&b);
}

static bp_status duck_fail(bp_err *err, const char *what, const char *detail)
{
    return bp_fail(err, BP_EWH, "%s: %s", what, detail ? detail : "unknown DuckDB error");
}

/* Run the ATTACH; a writer whose file is held by a reader in another
 * process (`bookpipe serve` steps aside when it sees a run's lock, once
 * its requests in flight end; `bookpipe query` holds it for one query)
 * tries again for up to LOCK_WAIT_S. */
#define LOCK_WAIT_S 60
static bool attach(duckdb_connection con, const char *sql, bool read_only, duckdb_result *res)
{
    for (int i = 0;; i++) {
        if (duckdb_query(con, sql, res) == DuckDBSuccess)
            return true;
        if (read_only || i >= LOCK_WAIT_S * 10 ||
            !strstr(duckdb_result_error(res), "Could not set lock"))
            return false;
        duckdb_destroy_result(res);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The sandbox for SQL from outside: no files, no network, no extensions,
 * and no way to set that back: the configuration is locked before any
 * user statement runs. The warehouse itself is attached READ_ONLY. */
static bp_status lock_down(duck *d, bp_err *err)
{
    duckdb_result res;
    if (duckdb_query(d->con, "SET enable_external_access = false; "
                             "SET lock_configuration = true", &res) != DuckDBSuccess) {
        bp_status st = duck_fail(err, "DuckDB: cannot lock the read-only sandbox",
                                 duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        return st;
    }
    duckdb_destroy_result(&res);
    return BP_OK;
}

static bp_status duck_open(const wh_config *cfg, wh **out, bp_err *err)
{
    duck *d = calloc(1, sizeof *d);
    if (!d)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    d->base.ops = &wh_duckdb_ops;
    snprintf(d->path, sizeof d->path, "%s", cfg->path ? cfg->path : ":memory:");
    duckdb_config conf = NULL;
    char *oerr = NULL;
    bp_status st = BP_OK;
    if (duckdb_create_config(&conf) != DuckDBSuccess) {
        st = bp_fail(err, BP_ENOMEM, "cannot create a DuckDB configuration");
        goto fail;
    }
    /* read-only comes with the ATTACH below; without a cap DuckDB would
     * take 80% of the machine (19 GB for the models at scale 100) */
    char quarter[32];
    wh_memory_default(quarter, sizeof quarter);
    const char *cap = cfg->memory_limit ? cfg->memory_limit : quarter;
    if (duckdb_set_config(conf, "memory_limit", cap) != DuckDBSuccess) {
        st = bp_fail(err, BP_EUSAGE, "bad memory limit '%s' (try 512MB or 2GB)", cap);
        goto fail;
    }
    /* no network: never try to download extensions */
    duckdb_set_config(conf, "autoinstall_known_extensions", "false");
    /* The file is attached under a fixed name: DuckDB names a database after
     * its file, so a warehouse called books_schema.duckdb would make every
     * books_schema.x ambiguous between catalog and schema. */
    bool file = strcmp(d->path, ":memory:") != 0;
    set_catalog(d, cfg->catalog);
    if (duckdb_open_ext(NULL, &d->db, conf, &oerr) != DuckDBSuccess) {
        st = bp_fail(err, BP_EWH, "cannot open the DuckDB warehouse %s: %s", d->path,
                     oerr ? oerr : "unknown error");
        duckdb_free(oerr);
        goto fail;
    }
    if (duckdb_connect(d->db, &d->con) != DuckDBSuccess) {
        st = bp_fail(err, BP_EWH, "cannot connect to the DuckDB warehouse %s", d->path);
        duckdb_close(&d->db);
        goto fail;
    }
    if (file) {
        buf q = {0};
        bool ro = cfg->read_only || cfg->sandbox;
        bool built = !buf_adds(&q, "ATTACH ") && !buf_add_sqlstr(&q, d->path) &&
                     !buf_printf(&q, " AS %s%s; %s", d->use + 4, ro ? " (READ_ONLY)" : "", d->use);
        duckdb_result res;
        if (!built || !attach(d->con, q.p, ro, &res)) {
            st = bp_fail(err, BP_EWH, "cannot open the DuckDB warehouse %s: %s", d->path,
                         built ? duckdb_result_error(&res) : "out of memory");
            if (q.p)
                duckdb_destroy_result(&res);
            buf_free(&q);
            duckdb_disconnect(&d->con);
            duckdb_close(&d->db);
            goto fail;
        }
        duckdb_destroy_result(&res);
        buf_free(&q);
        d->attached = true;
    }
    if (cfg->sandbox && (st = lock_down(d, err)) != BP_OK) {
        duckdb_disconnect(&d->con);
        duckdb_close(&d->db);
        goto fail;
    }
    duckdb_destroy_config(&conf);
    *out = &d->base;
    return BP_OK;
fail:
    if (conf)
        duckdb_destroy_config(&conf);
    free(d);
    return st;
}

static void duck_close(wh *w)
{
    duck *d = (duck *)w;
    duckdb_disconnect(&d->con);
    if (!d->child)
        duckdb_close(&d->db);
    free(d);
}

static bp_status duck_connect_more(wh *w, wh **out, bp_err *err)
{
    duck *d = (duck *)w, *c = calloc(1, sizeof *c);
    if (!c)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    *c = *d;
    c->child = true;
    c->scan_registered = false;
    c->src = NULL;
    c->src_def = NULL;
    if (duckdb_connect(d->db, &c->con) != DuckDBSuccess) {
        free(c);
        return bp_fail(err, BP_EWH, "cannot open another connection to %s", d->path);
    }
    if (d->attached) {
        duckdb_result res;
        bool ok = duckdb_query(c->con, c->use, &res) == DuckDBSuccess;
        duckdb_destroy_result(&res);
        if (!ok) {
            duckdb_disconnect(&c->con);
            free(c);
            return bp_fail(err, BP_EWH, "cannot use the warehouse on a second connection");
        }
    }
    *out = &c->base;
    return BP_OK;
}

static bp_status duck_exec(wh *w, const char *sql, bp_err *err)
{
    duck *d = (duck *)w;
    duckdb_result res;
    bp_status st = BP_OK;
    if (duckdb_query(d->con, sql, &res) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return st;
}

static bool is_numeric(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL: case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
        return true;
    default:
        return false;
    }
}

static char kind_of(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
        return 'i';
    case DUCKDB_TYPE_DECIMAL: return 'n';
    case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: return 'f';
    case DUCKDB_TYPE_BOOLEAN: return 'b';
    case DUCKDB_TYPE_DATE: return 'd';
    case DUCKDB_TYPE_TIMESTAMP: case DUCKDB_TYPE_TIMESTAMP_TZ: case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS: case DUCKDB_TYPE_TIMESTAMP_NS:
        return 't';
    default:
        return 's';
    }
}

static bool is_nested(duckdb_type t)
{
    return t == DUCKDB_TYPE_LIST || t == DUCKDB_TYPE_STRUCT || t == DUCKDB_TYPE_MAP ||
           t == DUCKDB_TYPE_ARRAY || t == DUCKDB_TYPE_UNION;
}

/* The value API renders nested values (lists, structs) as NULL; when a
 * result has them, run the query again with every column cast to text. */
static bp_status query_rendered(duck *d, const char *sql, duckdb_result *res, bp_err *err)
{
    if (duckdb_query(d->con, sql, res) != DuckDBSuccess)
        return duck_fail(err, "DuckDB", duckdb_result_error(res));
    bool nested = false;
    for (idx_t c = 0; c < duckdb_column_count(res) && !nested; c++)
        nested = is_nested(duckdb_column_type(res, c));
    if (!nested)
        return BP_OK;
    buf wrapped = {0};
    if (buf_adds(&wrapped, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (") ||
        buf_adds(&wrapped, sql) || buf_adds(&wrapped, "\n)")) {
        buf_free(&wrapped);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    duckdb_destroy_result(res);
    bp_status st = BP_OK;
    if (duckdb_query(d->con, wrapped.p, res) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB", duckdb_result_error(res));
    buf_free(&wrapped);
    return st;
}

/* Hand every row of a result to fn (values as text, NULL for SQL NULL). */
static bp_status walk(duckdb_result *res, wh_row_fn fn, void *ctx, bp_err *err)
{
    bp_status st = BP_OK;
    size_t nc = (size_t)duckdb_column_count(res);
    idx_t nr = duckdb_row_count(res);
    wh_col *cols = calloc(nc ? nc : 1, sizeof *cols);
    char **vals = calloc(nc ? nc : 1, sizeof *vals);
    if (!cols || !vals) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        cols[c].name = duckdb_column_name(res, (idx_t)c);
        cols[c].numeric = is_numeric(duckdb_column_type(res, (idx_t)c));
        cols[c].kind = kind_of(duckdb_column_type(res, (idx_t)c));
    }
    if (nr == 0 && fn)
        fn(ctx, nc, cols, NULL); /* tells the printer the columns */
    for (idx_t r = 0; r < nr && fn; r++) {
        for (size_t c = 0; c < nc; c++)
            vals[c] = duckdb_value_is_null(res, (idx_t)c, r)
                          ? NULL
                          : duckdb_value_varchar(res, (idx_t)c, r);
        int stop = fn(ctx, nc, cols, (const char *const *)vals);
        for (size_t c = 0; c < nc; c++) {
            duckdb_free(vals[c]);
            vals[c] = NULL;
        }
        if (stop)
            break;
    }
done:
    free(cols);
    free(vals);
    return st;
}

static bp_status duck_query(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err)
{
    duck *d = (duck *)w;
    duckdb_result res;
    bp_status st = query_rendered(d, sql, &res, err);
    if (st == BP_OK)
        st = walk(&res, fn, ctx, err);
    duckdb_destroy_result(&res);
    return st;
}

/* Parameters are bound, never spliced into the text: a value cannot change
 * the statement. */
static bp_status duck_query_params(wh *w, const char *sql, int np, const char *const *params,
                                   wh_row_fn fn, void *ctx, bp_err *err)
{
    duck *d = (duck *)w;
    duckdb_prepared_statement ps = NULL;
    if (duckdb_prepare(d->con, sql, &ps) != DuckDBSuccess) {
        bp_status st = duck_fail(err, "DuckDB", duckdb_prepare_error(ps));
        duckdb_destroy_prepare(&ps);
        return st;
    }
    for (int i = 0; i < np; i++)
        if (duckdb_bind_varchar(ps, (idx_t)i + 1, params[i]) != DuckDBSuccess) {
            duckdb_destroy_prepare(&ps);
            return bp_fail(err, BP_EWH, "DuckDB: cannot bind parameter %d (the query has %llu)",
                           i + 1, (unsigned long long)duckdb_nparams(ps));
        }
    duckdb_result res;
    bp_status st = BP_OK;
    if (duckdb_execute_prepared(ps, &res) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB", duckdb_result_error(&res));
    else
        st = walk(&res, fn, ctx, err);
    duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&ps);
    return st;
}

/* ---- statements from users -----------------------------------------------------------
 *
 * The engine guards (READ_ONLY attach, external access off, locked
 * configuration) are what make the explorer safe; the statement check
 * below gives a clear refusal before anything runs, and keeps what the
 * in-memory default catalog could hold (temporary tables) out of reach. */

static const char *stmt_kind(duckdb_statement_type t)
{
    switch (t) {
    case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
    case DUCKDB_STATEMENT_TYPE_CREATE: case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE";
    case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
    case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction control";
    case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
    case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
    case DUCKDB_STATEMENT_TYPE_LOAD: return "INSTALL/LOAD";
    case DUCKDB_STATEMENT_TYPE_SET: case DUCKDB_STATEMENT_TYPE_VARIABLE_SET: return "SET/USE";
    case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
    case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_VACUUM: case DUCKDB_STATEMENT_TYPE_ANALYZE: return "VACUUM/ANALYZE";
    case DUCKDB_STATEMENT_TYPE_PREPARE: case DUCKDB_STATEMENT_TYPE_EXECUTE: return "PREPARE/EXECUTE";
    default: return "this kind of statement";
    }
}

static bp_status refuse_kind(bp_err *err, const char *kind)
{
    return bp_fail(err, BP_EUSAGE, "refused: %s; this connection is read-only: it runs "
                   "SELECT, WITH, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PRAGMA table_info "
                   "and EXPLAIN of those", kind);
}

static bp_status prepare_user(duck *d, const char *sql, duckdb_prepared_statement *ps,
                              bp_err *err)
{
    if (duckdb_prepare(d->con, sql, ps) == DuckDBSuccess)
        return BP_OK;
    const char *m = duckdb_prepare_error(*ps);
    bp_status st = m && strstr(m, "multiple statements")
                       ? bp_fail(err, BP_EUSAGE, "refused: several statements at once; run one "
                                 "statement at a time")
                       : duck_fail(err, "DuckDB", m);
    duckdb_destroy_prepare(ps);
    return st;
}

/* Is the prepared statement one that only reads? EXPLAIN passes when what
 * it explains does (EXPLAIN ANALYZE runs it). */
static bp_status check_reads(duck *d, const char *sql, duckdb_prepared_statement ps,
                             int depth, bp_err *err)
{
    duckdb_statement_type t = duckdb_prepared_statement_type(ps);
    if (t == DUCKDB_STATEMENT_TYPE_SELECT)
        return BP_OK;
    if (t != DUCKDB_STATEMENT_TYPE_EXPLAIN || depth > 0)
        return refuse_kind(err, stmt_kind(t));
    const char *inner = wh_sql_explained(sql);
    duckdb_prepared_statement ips = NULL;
    if (!inner || !*inner)
        return refuse_kind(err, "EXPLAIN");
    bp_status st = prepare_user(d, inner, &ips, err);
    if (st == BP_OK) {
        st = check_reads(d, inner, ips, depth + 1, err);
        duckdb_destroy_prepare(&ips);
    }
    return st;
}

/* A timer that interrupts the connection's statement at its deadline. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    duckdb_connection con;
    struct timespec until;
    bool done, fired;
    pthread_t th;
} watchdog;

static void *watch(void *arg)
{
    watchdog *g = arg;
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (!g->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &g->until);
    if (!g->done) {
        g->fired = true;
        duckdb_interrupt(g->con);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static bool watch_start(watchdog *g, duckdb_connection con, int ms)
{
    memset(g, 0, sizeof *g);
    g->con = con;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return false;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    bool ok = pthread_mutex_init(&g->mu, NULL) == 0;
    if (ok && pthread_cond_init(&g->cv, &ca) != 0) {
        pthread_mutex_destroy(&g->mu);
        ok = false;
    }
    pthread_condattr_destroy(&ca);
    if (!ok)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &g->until);
    g->until.tv_sec += ms / 1000;
    g->until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (g->until.tv_nsec >= 1000000000L) {
        g->until.tv_sec++;
        g->until.tv_nsec -= 1000000000L;
    }
    if (pthread_create(&g->th, NULL, watch, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        return false;
    }
    return true;
}

/* Stop the timer; true when it fired. */
static bool watch_stop(watchdog *g)
{
    pthread_mutex_lock(&g->mu);
    g->done = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->th, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    return g->fired;
}

static bp_status bind_all(duckdb_prepared_statement ps, const wh_user_query *q, bp_err *err)
{
    for (int i = 0; i < q->nparams; i++)
        if (duckdb_bind_varchar(ps, (idx_t)i + 1, q->params[i]) != DuckDBSuccess)
            return bp_fail(err, BP_EWH, "DuckDB: cannot bind parameter %d (the query has %llu)",
                           i + 1, (unsigned long long)duckdb_nparams(ps));
    return BP_OK;
}

/* The statement wrapped so that every column comes back as text, ready to
 * stream: SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (sql). NULL when sql
 * cannot be a subquery (a trailing semicolon is dropped). */
static char *as_text_query(const char *sql)
{
    size_t n = strlen(sql);
    while (n && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\n' ||
                 sql[n - 1] == '\t' || sql[n - 1] == '\r'))
        n--;
    buf b = {0};
    if (buf_adds(&b, "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (\n") || buf_add(&b, sql, n) ||
        buf_adds(&b, "\n)")) {
        buf_free(&b);
        return NULL;
    }
    return b.p;
}

typedef struct {
    size_t nc;
    wh_col *cols;
    char **vals;
    size_t *offs;   /* each value's offset in cell, (size_t)-1 for NULL */
    buf cell;
} row_out;

/* Hand the rows of one all-VARCHAR chunk to fn; true when fn or the cap
 * stops the statement. */
static bool stream_chunk(duckdb_data_chunk ch, row_out *o, const wh_user_query *q,
                         long long *seen, bool *truncated, wh_row_fn fn, void *ctx, bool *oom)
{
    idx_t n = duckdb_data_chunk_get_size(ch);
    for (idx_t r = 0; r < n; r++) {
        if (q->max_rows && *seen >= q->max_rows) {
            *truncated = true;
            return true;
        }
        buf_reset(&o->cell);
        size_t *offs = o->offs;
        for (size_t c = 0; c < o->nc; c++) {
            duckdb_vector v = duckdb_data_chunk_get_vector(ch, (idx_t)c);
            uint64_t *valid = duckdb_vector_get_validity(v);
            if (valid && !duckdb_validity_row_is_valid(valid, r)) {
                offs[c] = (size_t)-1;
                continue;
            }
            duckdb_string_t *s = (duckdb_string_t *)duckdb_vector_get_data(v) + r;
            offs[c] = o->cell.len;
            if (buf_add(&o->cell, duckdb_string_t_data(s), duckdb_string_t_length(*s)) ||
                buf_addc(&o->cell, 0)) {
                *oom = true;
                return true;
            }
        }
        for (size_t c = 0; c < o->nc; c++)
            o->vals[c] = offs[c] == (size_t)-1 ? NULL : o->cell.p + offs[c];
        (*seen)++;
        if (fn && fn(ctx, o->nc, o->cols, (const char *const *)o->vals))
            return true;
    }
    return false;
}

/* Stream the text-wrapped statement; *fallback when it cannot be wrapped
 * (the caller then runs it as it is). Column names and kinds come from
 * the user's own statement, ps. */
static bp_status stream_user(duck *d, const char *sql, duckdb_prepared_statement ps,
                             const wh_user_query *q, wh_row_fn fn, void *ctx, bool *truncated,
                             bool *fallback, bp_err *err)
{
    *fallback = true;
    size_t nc = (size_t)duckdb_prepared_statement_column_count(ps);
    char *wsql = nc ? as_text_query(sql) : NULL;
    duckdb_prepared_statement wps = NULL;
    if (!wsql)
        return BP_OK;
    bool ok = duckdb_prepare(d->con, wsql, &wps) == DuckDBSuccess &&
              duckdb_prepared_statement_column_count(wps) == nc;
    free(wsql);
    for (size_t c = 0; ok && c < nc; c++)
        ok = duckdb_prepared_statement_column_type(wps, (idx_t)c) == DUCKDB_TYPE_VARCHAR;
    if (!ok || bind_all(wps, q, err) != BP_OK) {
        duckdb_destroy_prepare(&wps);
        return BP_OK;
    }
    *fallback = false;
    row_out o = {nc, calloc(nc, sizeof(wh_col)), calloc(nc, sizeof(char *)),
                 calloc(nc, sizeof(size_t)), {0}};
    duckdb_result res;
    bool have_res = false;
    bp_status st = BP_OK;
    if (!o.cols || !o.vals || !o.offs) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        o.cols[c].name = duckdb_prepared_statement_column_name(ps, (idx_t)c);
        o.cols[c].numeric = is_numeric(duckdb_prepared_statement_column_type(ps, (idx_t)c));
        o.cols[c].kind = kind_of(duckdb_prepared_statement_column_type(ps, (idx_t)c));
    }
    if (duckdb_execute_prepared_streaming(wps, &res) != DuckDBSuccess) {
        have_res = true;
        st = duck_fail(err, "DuckDB", duckdb_result_error(&res));
        goto done;
    }
    have_res = true;
    if (fn)
        fn(ctx, nc, o.cols, NULL); /* the columns, before any row */
    long long seen = 0;
    bool oom = false, stop = false;
    duckdb_data_chunk ch;
    while (!stop && (ch = duckdb_fetch_chunk(res))) {
        stop = stream_chunk(ch, &o, q, &seen, truncated, fn, ctx, &oom);
        duckdb_destroy_data_chunk(&ch);
    }
    if (oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else if (!stop && duckdb_result_error(&res))
        st = duck_fail(err, "DuckDB", duckdb_result_error(&res));
done:
    if (have_res)
        duckdb_destroy_result(&res);
    duckdb_destroy_prepare(&wps);
    for (size_t c = 0; o.cols && c < nc; c++) /* the names are DuckDB's copies */
        duckdb_free((void *)o.cols[c].name);
    free(o.cols);
    free(o.vals);
    free(o.offs);
    buf_free(&o.cell);
    return st;
}

typedef struct {
    wh_row_fn fn;
    void *ctx;
    long long max, seen;
    bool truncated;
} capped;

static int capped_row(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    capped *c = ctx;
    if (vals && c->max && c->seen >= c->max) {
        c->truncated = true;
        return 1;
    }
    if (vals)
        c->seen++;
    return c->fn ? c->fn(c->ctx, nc, cols, vals) : 0;
}

/* DuckDB marks where it stopped with "LINE n: <the line>" and a caret
 * under it: the 1-based character in sql, 0 when there is none (or DuckDB
 * shortened the line with "..."). */
static int error_pos(const char *sql, const char *msg)
{
    const char *l = strstr(msg, "LINE ");
    char *end;
    long line = l ? strtol(l + 5, &end, 10) : 0;
    if (line < 1 || end[0] != ':' || end[1] != ' ' || !strncmp(end + 2, "...", 3))
        return 0;
    const char *text = end + 2, *nl = strchr(text, '\n');
    const char *caret = nl ? strchr(nl + 1, '^') : NULL;
    if (!caret || memchr(nl + 1, '\n', (size_t)(caret - nl - 1)))
        return 0;
    long col = (long)(caret - (nl + 1)) - (long)(text - l);
    const char *p = sql;
    for (long i = 1; i < line && p; i++)
        if ((p = strchr(p, '\n')))
            p++;
    if (!p || col < 0 || col > (long)strcspn(p, "\n"))
        return 0;
    return (int)(p - sql + col + 1);
}

static bp_status query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn,
                            void *ctx, bool *truncated, bp_err *err)
{
    duck *d = (duck *)w;
    duckdb_prepared_statement ps = NULL;
    bp_status st = prepare_user(d, sql, &ps, err);
    if (st != BP_OK)
        return st;
    if ((st = check_reads(d, sql, ps, 0, err)) != BP_OK ||
        (st = bind_all(ps, q, err)) != BP_OK) {
        duckdb_destroy_prepare(&ps);
        return st;
    }
    watchdog g;
    bool timed = q->timeout_ms > 0 && watch_start(&g, d->con, q->timeout_ms);
    if (q->timeout_ms > 0 && !timed) {
        duckdb_destroy_prepare(&ps);
        return bp_fail(err, BP_EINTERNAL, "cannot start the query timer");
    }
    bool fallback = true;
    if (duckdb_prepared_statement_type(ps) == DUCKDB_STATEMENT_TYPE_SELECT)
        st = stream_user(d, sql, ps, q, fn, ctx, truncated, &fallback, err);
    if (st == BP_OK && fallback) { /* EXPLAIN, or a statement that is no subquery */
        capped c = {fn, ctx, q->max_rows, 0, false};
        duckdb_result res;
        if (duckdb_execute_prepared(ps, &res) != DuckDBSuccess)
            st = duck_fail(err, "DuckDB", duckdb_result_error(&res));
        else
            st = walk(&res, capped_row, &c, err);
        duckdb_destroy_result(&res);
        *truncated = c.truncated;
    }
    if (timed && watch_stop(&g))
        st = bp_fail(err, BP_EWH, "the statement ran longer than %d.%03d s and was stopped; "
                     "make it cheaper or raise the limit (--query-timeout)",
                     q->timeout_ms / 1000, q->timeout_ms % 1000);
    duckdb_destroy_prepare(&ps);
    return st;
}

/* A user's statement; a failure says where DuckDB stopped (err->pos). */
static bp_status duck_query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn,
                                 void *ctx, bool *truncated, bp_err *err)
{
    bp_status st = query_user(w, sql, q, fn, ctx, truncated, err);
    if (st != BP_OK && err)
        err->pos = error_pos(sql, err->msg);
    return st;
}

static duckdb_type duck_type(col_type t)
{
    switch (t) {
    case COL_INT: return DUCKDB_TYPE_INTEGER;
    case COL_BIGINT: return DUCKDB_TYPE_BIGINT;
    case COL_BOOL: return DUCKDB_TYPE_BOOLEAN;
    case COL_TIMESTAMP: return DUCKDB_TYPE_TIMESTAMP;
    case COL_DOUBLE: return DUCKDB_TYPE_DOUBLE;
    default: return DUCKDB_TYPE_VARCHAR;
    }
}

static bp_status duck_load_begin(wh *w, const char *schema, const table_def *def,
                                 wh_loader **out, bp_err *err)
{
    duck *d = (duck *)w;
    wh_loader *l = calloc(1, sizeof *l);
    if (!l)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    l->d = d;
    l->def = def;
    snprintf(l->name, sizeof l->name, "%s.%s", schema, def->name);
    if (duckdb_appender_create(d->con, schema, def->name, &l->app) != DuckDBSuccess) {
        bp_status st = duck_fail(err, l->name, duckdb_appender_error(l->app));
        duckdb_appender_destroy(&l->app);
        free(l);
        return st;
    }
    duckdb_logical_type types[BATCH_MAX_COLS];
    for (int c = 0; c < def->ncols; c++)
        types[c] = duckdb_create_logical_type(duck_type(def->cols[c].type));
    l->chunk = duckdb_create_data_chunk(types, (idx_t)def->ncols);
    for (int c = 0; c < def->ncols; c++)
        duckdb_destroy_logical_type(&types[c]);
    if (!l->chunk) {
        duckdb_appender_destroy(&l->app);
        free(l);
        return bp_fail(err, BP_ENOMEM, "out of memory creating a DuckDB data chunk");
    }
    *out = l;
    return BP_OK;
}

/* Copy one batch column into a DuckDB vector. */
static void fill_vector(duckdb_vector v, const batch *b, int c, col_type t)
{
    const batch_col *col = &b->col[c];
    bool any_null = false;
    for (size_t r = 0; r < b->n && !any_null; r++)
        any_null = col->null[r];
    uint64_t *valid = NULL;
    if (any_null) {
        duckdb_vector_ensure_validity_writable(v);
        valid = duckdb_vector_get_validity(v);
    }
    void *data = duckdb_vector_get_data(v);
    for (size_t r = 0; r < b->n; r++) {
        if (col->null[r]) {
            duckdb_validity_set_row_invalid(valid, r);
            continue;
        }
        switch (t) {
        case COL_INT: ((int32_t *)data)[r] = (int32_t)col->i[r]; break;
        case COL_BIGINT: ((int64_t *)data)[r] = col->i[r]; break;
        case COL_BOOL: ((bool *)data)[r] = col->i[r] != 0; break;
        case COL_TIMESTAMP: ((duckdb_timestamp *)data)[r].micros = col->i[r]; break;
        case COL_DOUBLE: ((double *)data)[r] = batch_double(b, c, r); break;
        default:
            duckdb_vector_assign_string_element_len(v, r, b->arena.p + col->off[r], col->len[r]);
            break;
        }
    }
}

static bp_status duck_load_batch(wh_loader *l, const batch *b, bp_err *err)
{
    if (b->n == 0)
        return BP_OK;
    duckdb_data_chunk_reset(l->chunk);
    for (int c = 0; c < l->def->ncols; c++)
        fill_vector(duckdb_data_chunk_get_vector(l->chunk, (idx_t)c), b, c,
                    l->def->cols[c].type);
    duckdb_data_chunk_set_size(l->chunk, (idx_t)b->n);
    if (duckdb_append_data_chunk(l->app, l->chunk) != DuckDBSuccess)
        return duck_fail(err, l->name, duckdb_appender_error(l->app));
    return BP_OK;
}

static bp_status duck_load_end(wh_loader *l, bp_err *err)
{
    bp_status st = BP_OK;
    if (duckdb_appender_close(l->app) != DuckDBSuccess)
        st = duck_fail(err, l->name, duckdb_appender_error(l->app));
    duckdb_appender_destroy(&l->app);
    duckdb_destroy_data_chunk(&l->chunk);
    free(l);
    return st;
}

/* ---- parallel load through a table function ------------------------------
 *
 * INSERT INTO t SELECT * FROM bookpipe_batches() runs DuckDB's insert on
 * all its threads; each thread pulls cleaned batches through the scan
 * callback below. Faster than the appender, which compresses on the one
 * appending thread. */

static void scan_bind(duckdb_bind_info info)
{
    duck *d = duckdb_bind_get_extra_info(info);
    const table_def *def = d->src_def;
    if (!def) {
        duckdb_bind_set_error(info, "bookpipe_batches_N() is internal to bookpipe's loader");
        return;
    }
    for (int c = 0; c < def->ncols; c++) {
        duckdb_logical_type t = duckdb_create_logical_type(duck_type(def->cols[c].type));
        duckdb_bind_add_result_column(info, def->cols[c].name, t);
        duckdb_destroy_logical_type(&t);
    }
}

static void scan_init(duckdb_init_info info) { duckdb_init_set_max_threads(info, 8); }

static void scan_fn(duckdb_function_info info, duckdb_data_chunk out)
{
    duck *d = duckdb_function_get_extra_info(info);
    const batch *b = d->src->next(d->src->ctx);
    if (!b) {
        duckdb_data_chunk_set_size(out, 0);
        return;
    }
    for (int c = 0; c < d->src_def->ncols; c++)
        fill_vector(duckdb_data_chunk_get_vector(out, (idx_t)c), b, c, d->src_def->cols[c].type);
    duckdb_data_chunk_set_size(out, (idx_t)b->n);
    d->src->done_with(d->src->ctx, b);
}

/* Each connection registers a function of its own name: the function
 * lives in the database's catalog, and its extra info is this connection
 * (a second registration under one name fails, e.g. on a retried load). */
static bp_status register_scan(duck *d, bp_err *err)
{
    static _Atomic unsigned long seq;
    snprintf(d->scan_name, sizeof d->scan_name, "bookpipe_batches_%lu", ++seq);
    duckdb_table_function f = duckdb_create_table_function();
    if (!f)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    duckdb_table_function_set_name(f, d->scan_name);
    duckdb_table_function_set_extra_info(f, d, NULL);
    duckdb_table_function_set_bind(f, scan_bind);
    duckdb_table_function_set_init(f, scan_init);
    duckdb_table_function_set_function(f, scan_fn);
    duckdb_state rc = duckdb_register_table_function(d->con, f);
    duckdb_destroy_table_function(&f);
    if (rc != DuckDBSuccess)
        return bp_fail(err, BP_EWH, "DuckDB: cannot register the loader's table function");
    d->scan_registered = true;
    return BP_OK;
}

static bp_status duck_load_source(wh *w, const char *schema, const table_def *def,
                                  wh_source *src, bp_err *err)
{
    duck *d = (duck *)w;
    if (!d->scan_registered && register_scan(d, err) != BP_OK)
        return BP_EWH;
    buf sql = {0};
    /* row order within a table is no contract; keeping it would serialise the insert */
    if (buf_adds(&sql, "SET preserve_insertion_order = false; INSERT INTO ") ||
        buf_add_ident(&sql, schema) || buf_addc(&sql, '.') || buf_add_ident(&sql, def->name) ||
        buf_adds(&sql, " SELECT * FROM ") || buf_adds(&sql, d->scan_name) ||
        buf_adds(&sql, "(); RESET preserve_insertion_order")) {
        buf_free(&sql);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    d->src_def = def;
    d->src = src;
    bp_status st = duck_exec(w, sql.p, err);
    d->src_def = NULL;
    d->src = NULL;
    buf_free(&sql);
    return st;
}

static bp_status duck_replace_table(wh *w, const char *schema, const table_def *def,
                                   bp_err *err)
{
    return wh_create_table(w, schema, def, true, err);
}

const char *wh_duckdb_version(void) { return duckdb_library_version(); }

const wh_ops wh_duckdb_ops = {
    .name = "duckdb",
    .title = "DuckDB",
    .embedded = true,
    .lock = WH_LOCK_FILE,
    .load = WH_LOAD_RENAME,
    .dispatch = (const char *const[]){"duckdb", "default", NULL},
    .relation_class = "DuckDBRelation",
    .float_type = "double",
    .timestamp_type = "timestamp",
    .file_sources = true,
    .open = duck_open,
    .close = duck_close,
    .exec = duck_exec,
    .query = duck_query,
    .load_begin = duck_load_begin,
    .load_batch = duck_load_batch,
    .load_end = duck_load_end,
    .load_source = duck_load_source,
    .connect_more = duck_connect_more,
    .query_params = duck_query_params,
    .query_user = duck_query_user,
    .replace_table = duck_replace_table,
    .drop_cascade = "",
};

/* ---- Parquet from rows of text (the explorer's export) --------------------------------- */

struct wh_parquet {
    duckdb_database db;
    duckdb_connection con;
    duckdb_appender app;
    size_t nc;
};

static const char *parquet_type(char kind)
{
    switch (kind) {
    case 'i': return "BIGINT"; /* Parquet has no 128-bit integer: HUGEINT would become DOUBLE */
    case 'n': return "DECIMAL(38, 10)";
    case 'f': return "DOUBLE";
    case 'b': return "BOOLEAN";
    case 'd': return "DATE";
    case 't': return "TIMESTAMPTZ";
    default: return "VARCHAR";
    }
}

/* Run SQL bookpipe wrote in the private database (when st is still OK). */
static bp_status parquet_exec(wh_parquet *p, bp_status st, const buf *q, bp_err *err)
{
    if (st != BP_OK)
        return st;
    duckdb_result res;
    if (duckdb_query(p->con, q->p, &res) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB (export)", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    return st;
}

static void parquet_free(wh_parquet *p)
{
    duckdb_appender_destroy(&p->app);
    duckdb_disconnect(&p->con);
    duckdb_close(&p->db);
    free(p);
}

bp_status wh_parquet_open(size_t nc, const wh_col *cols, wh_parquet **out, bp_err *err)
{
    wh_parquet *p = calloc(1, sizeof *p);
    buf q = {0};
    bp_status st = p ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
    if (st == BP_OK && duckdb_open(NULL, &p->db) != DuckDBSuccess)
        st = bp_fail(err, BP_EWH, "cannot open an in-memory DuckDB for the Parquet file");
    if (st == BP_OK && duckdb_connect(p->db, &p->con) != DuckDBSuccess)
        st = bp_fail(err, BP_EWH, "cannot connect to the in-memory DuckDB");
    if (st == BP_OK)
        st = buf_adds(&q, "CREATE TABLE export (");
    for (size_t i = 0; st == BP_OK && i < nc; i++) {
        if (i)
            st = buf_adds(&q, ", ");
        if (st == BP_OK)
            st = buf_add_ident(&q, cols[i].name && *cols[i].name ? cols[i].name : "column");
        if (st == BP_OK)
            st = buf_printf(&q, " %s", parquet_type(cols[i].kind));
    }
    if (st == BP_OK)
        st = buf_adds(&q, ")");
    if (p)
        st = parquet_exec(p, st, &q, err);
    buf_free(&q);
    if (st == BP_OK && duckdb_appender_create(p->con, NULL, "export", &p->app) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB (export)", duckdb_appender_error(p->app));
    if (st != BP_OK) {
        if (p)
            parquet_free(p);
        return st;
    }
    p->nc = nc;
    *out = p;
    return BP_OK;
}

bp_status wh_parquet_row(wh_parquet *p, const char *const *vals, bp_err *err)
{
    for (size_t i = 0; i < p->nc; i++) {
        duckdb_state s = vals[i] ? duckdb_append_varchar(p->app, vals[i]) : duckdb_append_null(p->app);
        if (s != DuckDBSuccess)
            return duck_fail(err, "DuckDB (export)", duckdb_appender_error(p->app));
    }
    if (duckdb_appender_end_row(p->app) != DuckDBSuccess)
        return duck_fail(err, "DuckDB (export)", duckdb_appender_error(p->app));
    return BP_OK;
}

bp_status wh_parquet_close(wh_parquet *p, const char *path, bp_err *err)
{
    bp_status st = BP_OK;
    if (duckdb_appender_close(p->app) != DuckDBSuccess)
        st = duck_fail(err, "DuckDB (export)", duckdb_appender_error(p->app));
    buf q = {0};
    if (st == BP_OK && path) {
        st = buf_adds(&q, "COPY export TO ");
        if (st == BP_OK)
            st = buf_add_sqlstr(&q, path);
        if (st == BP_OK)
            st = buf_adds(&q, " (FORMAT parquet)");
        st = parquet_exec(p, st, &q, err);
    }
    buf_free(&q);
    parquet_free(p);
    return st;
}
