/* wh.c: target selection and the helpers shared by every warehouse. */
#include "wh.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/buf.h"

static const wh_ops *const targets[] = {&wh_duckdb_ops, &wh_pg_ops, &wh_redshift_ops};

const wh_ops *wh_ops_named(const char *name)
{
    for (size_t i = 0; name && i < sizeof targets / sizeof targets[0]; i++)
        if (strcmp(targets[i]->name, name) == 0)
            return targets[i];
    return NULL;
}

bool wh_stand_in(const wh_ops *t)
{
    const char *e = getenv("BOOKPIPE_REDSHIFT_EMULATE");
    return t == &wh_redshift_ops && e && wh_ops_named(e) == &wh_pg_ops;
}

bp_status wh_open(const wh_config *cfg, wh **out, bp_err *err)
{
    const char *t = cfg->target ? cfg->target : "duckdb";
    const wh_ops *ops = wh_ops_named(t);
    if (!ops)
        return bp_fail(err, BP_EUSAGE, "unknown target '%s' (this build supports: duckdb, "
                       "postgres, redshift)", t);
    return ops->open(cfg, out, err);
}

void wh_memory_default(char *out, size_t n)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    long long mib = pages > 0 && size > 0 ? (long long)pages / 1024 * size / 1024 / 4 : 1024;
    snprintf(out, n, "%lldMiB", mib < 256 ? 256 : mib);
}

void wh_close(wh *w)
{
    if (w)
        w->ops->close(w);
}

bp_status wh_begin(wh *w, bp_err *err) { return wh_exec(w, "BEGIN TRANSACTION", err); }
bp_status wh_commit(wh *w, bp_err *err) { return wh_exec(w, "COMMIT", err); }
void wh_rollback(wh *w)
{
    /* on a failure path: the first error is the one worth reporting, and a
     * connection that cannot roll back is closed by the caller next */
    if (wh_exec(w, "ROLLBACK", NULL) != BP_OK)
        return;
}

struct int_ctx {
    long long v;
    bool set;
};

static int take_int(void *ctx, size_t ncols, const wh_col *cols, const char *const *vals)
{
    struct int_ctx *c = ctx;
    (void)cols;
    if (ncols > 0 && vals[0]) {
        char *end;
        c->v = strtoll(vals[0], &end, 10);
        c->set = *end == 0;
    }
    return 1;
}

bp_status wh_query_int(wh *w, const char *sql, long long dflt, long long *out, bp_err *err)
{
    struct int_ctx c = {0, false};
    bp_status st = wh_query(w, sql, take_int, &c, err);
    if (st != BP_OK)
        return st;
    *out = c.set ? c.v : dflt;
    return BP_OK;
}

static const char *sql_type(col_type t)
{
    switch (t) {
    case COL_INT: return "INTEGER";
    case COL_BIGINT: return "BIGINT";
    case COL_BOOL: return "BOOLEAN";
    case COL_TIMESTAMP: return "TIMESTAMP";
    case COL_DOUBLE: return "FLOAT8";
    default: return "VARCHAR";
    }
}

bp_status wh_create_table(wh *w, const char *schema, const table_def *def, bool replace,
                          bp_err *err)
{
    buf sql = {0};
    bp_status st = BP_ENOMEM;
    if (replace) {
        if (buf_adds(&sql, "DROP TABLE IF EXISTS ") || buf_add_ident(&sql, schema) ||
            buf_addc(&sql, '.') || buf_add_ident(&sql, def->name) || buf_adds(&sql, "; "))
            goto done;
    }
    if (buf_adds(&sql, "CREATE TABLE IF NOT EXISTS ") || buf_add_ident(&sql, schema) ||
        buf_addc(&sql, '.') || buf_add_ident(&sql, def->name) || buf_adds(&sql, " ("))
        goto done;
    for (int c = 0; c < def->ncols; c++) {
        if ((c && buf_adds(&sql, ", ")) || buf_add_ident(&sql, def->cols[c].name) ||
            buf_printf(&sql, " %s%s", sql_type(def->cols[c].type),
                       def->cols[c].not_null ? " NOT NULL" : ""))
            goto done;
    }
    if (buf_adds(&sql, ")"))
        goto done;
    st = wh_exec(w, sql.p, err);
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    return st;
}

bp_status wh_exists(wh *w, const char *schema, const char *table, bool *out, bp_err *err)
{
    buf sql = {0};
    long long n = 0;
    bp_status st = BP_ENOMEM;
    *out = false;
    if (table) {
        if (buf_adds(&sql, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ") ||
            buf_add_sqlstr(&sql, schema) || buf_adds(&sql, " AND table_name = ") ||
            buf_add_sqlstr(&sql, table))
            goto done;
    } else if (buf_adds(&sql, "SELECT count(*) FROM information_schema.schemata "
                              "WHERE schema_name = ") ||
               buf_add_sqlstr(&sql, schema)) {
        goto done;
    }
    st = wh_query_int(w, sql.p, 0, &n, err);
    *out = n > 0;
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    return st;
}

bp_status wh_use_schema(wh *w, const char *schema, bp_err *err)
{
    bool exists;
    bp_status st = wh_exists(w, schema, NULL, &exists, err);
    if (st != BP_OK || !exists)
        return st;
    buf sql = {0};
    if (buf_adds(&sql, "SET search_path = ") || buf_add_sqlstr(&sql, schema)) {
        buf_free(&sql);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    st = wh_exec(w, sql.p, err);
    buf_free(&sql);
    return st;
}

bp_status wh_query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn, void *ctx,
                        bool *truncated, bp_err *err)
{
    static const wh_user_query none = {0, 0, 0, NULL};
    bool t = false;
    bp_status st = w->ops->query_user(w, sql, q ? q : &none, fn, ctx, &t, err);
    if (truncated)
        *truncated = t;
    return st;
}

bp_status wh_reader_dsn(wh *w, const char *const *schemas, int nschemas, buf *out, char *note,
                        size_t note_n, bp_err *err)
{
    buf_reset(out);
    if (note_n)
        note[0] = 0;
    if (!w->ops->reader_dsn)
        return buf_adds(out, "") ? bp_fail(err, BP_ENOMEM, "out of memory") : BP_OK;
    return w->ops->reader_dsn(w, schemas, nschemas, out, note, note_n, err);
}

const char *wh_sql_skip_space(const char *p)
{
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            /* PostgreSQL nests block comments; DuckDB does not, and counting
             * them does no harm there: the engine parses again anyway */
            int depth = 0;
            do {
                if (p[0] == '/' && p[1] == '*')
                    depth++, p += 2;
                else if (p[0] == '*' && p[1] == '/')
                    depth--, p += 2;
                else
                    p++;
            } while (*p && depth > 0);
        } else
            return p;
    }
}

size_t wh_sql_keyword(const char *sql, const char **at, char *out, size_t n)
{
    const char *p = wh_sql_skip_space(sql);
    while (*p == '(')
        p = wh_sql_skip_space(p + 1);
    size_t k = 0;
    while (isalpha((unsigned char)p[k]) || p[k] == '_')
        k++;
    if (n) {
        size_t m = k < n - 1 ? k : n - 1;
        for (size_t i = 0; i < m; i++)
            out[i] = (char)toupper((unsigned char)p[i]);
        out[m] = 0;
    }
    if (at)
        *at = p + k;
    return k;
}

const char *wh_sql_explained(const char *sql)
{
    char kw[16];
    const char *p;
    if (!wh_sql_keyword(sql, &p, kw, sizeof kw) || strcmp(kw, "EXPLAIN") != 0)
        return NULL;
    const char *q;
    if (wh_sql_keyword(p, &q, kw, sizeof kw) && (!strcmp(kw, "ANALYZE") || !strcmp(kw, "ANALYSE") ||
                                                  !strcmp(kw, "VERBOSE")))
        p = q;
    p = wh_sql_skip_space(p);
    if (*p == '(') { /* EXPLAIN (FORMAT json, ANALYZE) ... */
        int depth = 0;
        do {
            depth += *p == '(';
            depth -= *p == ')';
            p++;
        } while (*p && depth > 0);
    }
    return wh_sql_skip_space(p);
}

bp_status wh_add_literal(const wh *w, buf *b, const char *s)
{
    if (!s)
        return buf_adds(b, "NULL");
    return buf_add_sqllit(b, s, w && w->ops->backslash_literals);
}

void wh_spec_defaults(wh_spec *w)
{
    w->target = "duckdb";
    w->warehouse = "bookpipe.duckdb";
    w->schema = "books_schema";
    w->memory_limit = NULL;
    w->dsn = NULL;
}

bp_status wh_spec_open(const wh_spec *w, wh_open_mode mode, wh **out, bp_err *err)
{
    bool read_only = mode != WH_OPEN_WRITE;
    const wh_ops *ops = wh_ops_named(w->target);
    if (read_only && ops && ops->embedded) {
        struct stat sb;
        if (stat(w->warehouse, &sb) != 0)
            return bp_fail(err, BP_EWH, "no warehouse at %s (%s); load one with "
                           "`bookpipe run --data DIR` or name it with --warehouse",
                           w->warehouse, strerror(errno));
    }
    wh_config cfg = {.target = w->target, .path = w->warehouse, .read_only = read_only,
                     .memory_limit = w->memory_limit, .dsn = w->dsn,
                     .sandbox = mode == WH_OPEN_SANDBOX};
    return wh_open(&cfg, out, err);
}

bp_status wh_analyze(wh *w, const char *schema, const char *table, bp_err *err)
{
    if (!w->ops->analyze_after_load)
        return BP_OK;
    buf q = {0};
    bp_status st = buf_adds(&q, "ANALYZE ");
    if (st == BP_OK)
        st = buf_add_relation(&q, schema, table);
    if (st == BP_OK)
        st = wh_exec(w, q.p, err);
    else
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    return st;
}

/* ---- a table written row batch by row batch ------------------------------ */

struct wh_writer {
    wh *w;
    const char *schema;
    const table_def *def;
    wh_loader *l;      /* NULL: INSERT statements */
};

bp_status wh_writer_open(wh *w, const char *schema, const table_def *def, wh_writer **out,
                         bp_err *err)
{
    wh_writer *x = calloc(1, sizeof *x);
    if (!x)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    *x = (wh_writer){w, schema, def, NULL};
    bp_status st = wh_create_table(w, schema, def, true, err);
    if (st == BP_OK && w->ops->load != WH_LOAD_FROM_LAKE)
        st = wh_load_begin(w, schema, def, &x->l, err);
    if (st != BP_OK) {
        free(x);
        return st;
    }
    *out = x;
    return BP_OK;
}

/* One value of b as SQL text. */
static bp_status add_value_sql(const wh *w, buf *q, const batch *b, int c, size_t r)
{
    if (b->col[c].null[r])
        return buf_adds(q, "NULL");
    switch (b->def->cols[c].type) {
    case COL_BOOL: return buf_adds(q, b->col[c].i[r] ? "TRUE" : "FALSE");
    case COL_DOUBLE: return buf_printf(q, "%.17g", batch_double(b, c, r));
    case COL_TEXT: {
        size_t n;
        const char *s = batch_text(b, c, r, &n);
        char *z = strndup(s, n);
        bp_status st = z ? wh_add_literal(w, q, z) : BP_ENOMEM;
        free(z);
        return st;
    }
    case COL_TIMESTAMP: {
        time_t t = (time_t)(b->col[c].i[r] / 1000000);
        struct tm tm;
        char ts[40];
        gmtime_r(&t, &tm);
        strftime(ts, sizeof ts, "'%Y-%m-%d %H:%M:%S'::TIMESTAMP", &tm);
        return buf_adds(q, ts);
    }
    default: return buf_printf(q, "%lld", (long long)b->col[c].i[r]);
    }
}

/* The target takes no rows from a client (Redshift): multi-row INSERTs. */
static bp_status insert_rows(wh_writer *x, const batch *b, bp_err *err)
{
    buf q = {0};
    bp_status st = BP_OK;
    for (size_t r0 = 0; r0 < b->n && st == BP_OK; r0 += 500) {
        q.len = 0;
        bool ok = !buf_adds(&q, "INSERT INTO ") && !buf_add_relation(&q, x->schema, x->def->name) &&
                  !buf_adds(&q, " VALUES ");
        for (size_t r = r0; ok && r < b->n && r < r0 + 500; r++) {
            ok = !buf_adds(&q, r > r0 ? ", (" : "(");
            for (int c = 0; ok && c < x->def->ncols; c++)
                ok = !(c && buf_adds(&q, ", ")) && !add_value_sql(x->w, &q, b, c, r);
            ok = ok && !buf_addc(&q, ')');
        }
        st = ok ? wh_exec(x->w, q.p, err) : bp_fail(err, BP_ENOMEM, "out of memory");
    }
    buf_free(&q);
    return st;
}

bp_status wh_writer_batch(wh_writer *x, const batch *b, bp_err *err)
{
    if (b->n == 0)
        return BP_OK;
    return x->l ? wh_load_batch(x->w, x->l, b, err) : insert_rows(x, b, err);
}

bp_status wh_writer_close(wh_writer *x, bp_err *err)
{
    if (!x)
        return BP_OK;
    bp_status st = x->l ? wh_load_end(x->w, x->l, err) : BP_OK;
    free(x);
    return st;
}
