/* wh_pg.c: the PostgreSQL warehouse, over libpq.
 *
 * Connection settings follow libpq's conventions (PG* variables, ~/.pgpass,
 * service files, or a conninfo/URI in --dsn); bookpipe never prints a
 * password: messages name host, port, database and user only.
 * Loading streams each batch into COPY ... FROM STDIN: text format for
 * tables of text and integers (binary measured no faster there), binary
 * for tables with floats (printing and parsing %.17g cost more than the
 * rows: the recommendations' 4.6 M rows 4.6 s -> 2.1-3.4 s);
 * BOOKPIPE_PG_COPY=text|binary sets one for all. One
 * COPY can be open per connection, so the loader switches COPY between
 * tables when batches of another table arrive (quarantine rows are rare).
 * Reloads truncate and refill the tables inside the run's transaction:
 * views that depend on them stay valid, readers see the old rows until the
 * commit (they wait on the lock meanwhile), and a failure leaves the old. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/buf.h"
#include "wh.h"
#include "wh_pg_int.h"

#include <curl/curl.h>
#include <jansson.h>

#include "../aws/aws.h"

typedef struct {
    wh base;
    PGconn *conn;
    wh_loader *active;   /* the loader whose COPY is open */
    char where[512];     /* "host:port/db as user", for messages */
} pg;

struct wh_loader {
    pg *p;
    const table_def *def;
    char *copy_sql;
    bool binary;   /* COPY's binary format instead of text */
    buf row;
};

/* libpq's message, first line, without trailing newline. */
static const char *pg_msg(PGconn *c)
{
    static _Thread_local char m[512];
    snprintf(m, sizeof m, "%s", c ? PQerrorMessage(c) : "no connection");
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = 0;
    char *nl = strchr(m, '\n');
    if (nl)
        *nl = ';';
    return m;
}

/* Server messages span lines ("...\n\tThis probably means..."): one line. */
static bp_status one_line(bp_err *err, bp_status st)
{
    if (!err)
        return st;
    char *w = err->msg;
    bool space = false;
    for (const char *r = err->msg; *r; r++) {
        bool ws = *r == '\n' || *r == '\t' || *r == '\r' || *r == ' ';
        if (ws && space)
            continue;
        *w++ = ws ? ' ' : *r;
        space = ws;
    }
    while (w > err->msg && w[-1] == ' ')
        w--;
    *w = 0;
    return st;
}

static bp_status pg_fail(pg *p, bp_err *err, const char *what)
{
    return one_line(err, bp_fail(err, BP_EWH, "PostgreSQL (%s): %s: %s", p->where, what,
                                 pg_msg(p->conn)));
}

/* Server notices (a shutdown warning, say) would go to stderr beside our
 * own one-line errors; the errors already say what went wrong. */
static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Is this the tests' PostgreSQL stand-in for a target whose literals read
 * backslashes (Redshift, BOOKPIPE_REDSHIFT_EMULATE=postgres)? */
static bool emulating_backslashes(const wh_ops *ops)
{
    return ops->backslash_literals && wh_stand_in(ops);
}

/* Session settings every connection gets: notices neither printed nor
 * sent (CREATE ... IF NOT EXISTS talks); read-only when asked. The
 * Redshift stand-in reads backslashes in literals as escapes, as Redshift
 * does, so that the literals written for Redshift mean the same there. */
static bool setup_session(PGconn *c, const wh_ops *ops, bool read_only)
{
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *r = PQexec(c, read_only ? "SET client_min_messages = warning; "
                                        "SET default_transaction_read_only = on"
                                      : "SET client_min_messages = warning");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok && emulating_backslashes(ops)) {
        r = PQexec(c, "SET standard_conforming_strings = off; SET escape_string_warning = off");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    return ok;
}

/* Connect with cfg's DSN (or the PG* variables) after the given default
 * keywords, which the DSN and the environment override. */
bp_status pg_connect_as(const wh_config *cfg, const wh_ops *ops, const char *const *dkeys,
                        const char *const *dvals, wh **out, bp_err *err)
{
    pg *p = calloc(1, sizeof *p);
    if (!p)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    p->base.ops = ops;
    const char *timeout = getenv("PGCONNECT_TIMEOUT");
    const char *keys[16], *vals[16];
    int n = 0;
    for (int i = 0; dkeys && dkeys[i] && n < 10; i++, n++) {
        keys[n] = dkeys[i];
        vals[n] = dvals[i];
    }
    if (cfg->dsn && *cfg->dsn) { /* expanded in place: it overrides the defaults */
        keys[n] = "dbname";
        vals[n++] = cfg->dsn;
    }
    keys[n] = "connect_timeout";
    vals[n++] = timeout ? timeout : "10";
    keys[n] = "fallback_application_name";
    vals[n++] = "bookpipe";
    keys[n] = vals[n] = NULL;
    const char *what = ops->title;
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn) {
        free(p);
        return bp_fail(err, BP_ENOMEM, "out of memory connecting to %s", what);
    }
    snprintf(p->where, sizeof p->where, "%s:%s/%s as %s", PQhost(p->conn) ? PQhost(p->conn) : "?",
             PQport(p->conn) ? PQport(p->conn) : "?", PQdb(p->conn) ? PQdb(p->conn) : "?",
             PQuser(p->conn) ? PQuser(p->conn) : "?");
    if (PQstatus(p->conn) != CONNECTION_OK) {
        bp_status st = bp_fail(err, BP_EWH, "cannot connect to %s (%s): %s; check "
                               "PGHOST, PGPORT, PGDATABASE, PGUSER and the password (PGPASSWORD "
                               "or ~/.pgpass), or give --dsn", what, p->where, pg_msg(p->conn));
        PQfinish(p->conn);
        free(p);
        return st;
    }
    if (!setup_session(p->conn, ops, cfg->read_only || cfg->sandbox)) {
        bp_status st = pg_fail(p, err, "cannot set up the session");
        PQfinish(p->conn);
        free(p);
        return st;
    }
    *out = &p->base;
    return BP_OK;
}

static bp_status pg_open(const wh_config *cfg, wh **out, bp_err *err)
{
    return pg_connect_as(cfg, &wh_pg_ops, NULL, NULL, out, err);
}

void pg_close(wh *w)
{
    pg *p = (pg *)w;
    PQfinish(p->conn);
    free(p);
}

static bp_status end_copy(pg *p, bp_err *err);

bp_status pg_exec(wh *w, const char *sql, bp_err *err)
{
    pg *p = (pg *)w;
    if (p->active && end_copy(p, err) != BP_OK)
        return BP_EWH;
    PGresult *r = PQexec(p->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    bp_status st = BP_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        st = one_line(err, bp_fail(err, BP_EWH, "PostgreSQL: %s",
                                   r ? PQresultErrorMessage(r) : pg_msg(p->conn)));
    PQclear(r);
    return st;
}

static bool numeric_oid(Oid t)
{
    return t == 20 || t == 21 || t == 23 || t == 700 || t == 701 || t == 1700 || t == 26;
}

static char oid_kind(Oid t)
{
    switch (t) {
    case 20: case 21: case 23: case 26: return 'i';
    case 1700: return 'n';
    case 700: case 701: return 'f';
    case 16: return 'b';
    case 1082: return 'd';
    case 1114: case 1184: return 't';
    default: return 's';
    }
}

/* Hand every row of a result to fn; takes r. */
static bp_status pg_walk(pg *p, PGresult *r, wh_row_fn fn, void *ctx, bp_err *err)
{
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
        bp_status st = one_line(err, bp_fail(err, BP_EWH, "PostgreSQL: %s",
                                              r ? PQresultErrorMessage(r) : pg_msg(p->conn)));
        PQclear(r);
        return st;
    }
    int nc = PQnfields(r), nr = PQntuples(r);
    wh_col *cols = calloc((size_t)(nc ? nc : 1), sizeof *cols);
    const char **vals = calloc((size_t)(nc ? nc : 1), sizeof *vals);
    bp_status st = BP_OK;
    if (!cols || !vals) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (int c = 0; c < nc; c++) {
        cols[c].name = PQfname(r, c);
        cols[c].numeric = numeric_oid(PQftype(r, c));
        cols[c].kind = oid_kind(PQftype(r, c));
    }
    if (nr == 0 && fn && nc)
        fn(ctx, (size_t)nc, cols, NULL);
    for (int i = 0; i < nr && fn; i++) {
        for (int c = 0; c < nc; c++) {
            vals[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
            if (vals[c] && PQftype(r, c) == 16) /* booleans read as in DuckDB */
                vals[c] = vals[c][0] == 't' ? "true" : "false";
        }
        if (fn(ctx, (size_t)nc, cols, vals))
            break;
    }
done:
    free(cols);
    free(vals);
    PQclear(r);
    return st;
}

bp_status pg_query(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err)
{
    pg *p = (pg *)w;
    if (p->active && end_copy(p, err) != BP_OK)
        return BP_EWH;
    return pg_walk(p, PQexec(p->conn, sql), fn, ctx, err);
}

/* Parameters travel apart from the statement ($1, $2, ... as text; the
 * server infers their types): a value cannot change the statement. */
bp_status pg_query_params(wh *w, const char *sql, int np, const char *const *params,
                                 wh_row_fn fn, void *ctx, bp_err *err)
{
    pg *p = (pg *)w;
    if (p->active && end_copy(p, err) != BP_OK)
        return BP_EWH;
    return pg_walk(p, PQexecParams(p->conn, sql, np, NULL, params, NULL, NULL, 0), fn, ctx,
                   err);
}

/* ---- statements from users --------------------------------------------------------
 *
 * Each runs alone through the extended query protocol (which refuses a
 * second statement) inside BEGIN READ ONLY with a statement timeout, and
 * is rolled back after. A transaction cannot be made read-write once it
 * has run a query, so nothing the statement does can lift the guard; the
 * login itself should also be one that cannot write (wh_reader_dsn). */

/* Statements that may read; everything else is refused before it is sent. */
static bool reading_keyword(const char *kw)
{
    static const char *const ok[] = {"SELECT", "WITH", "VALUES", "TABLE", "SHOW", NULL};
    for (int i = 0; ok[i]; i++)
        if (!strcmp(kw, ok[i]))
            return true;
    return false;
}

static bp_status check_user_sql(const char *sql, bp_err *err)
{
    char kw[32];
    const char *inner = wh_sql_explained(sql);
    if (!wh_sql_keyword(inner ? inner : sql, NULL, kw, sizeof kw))
        return bp_fail(err, BP_EUSAGE, "refused: not a statement that reads (start with "
                       "SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN)");
    if (reading_keyword(kw))
        return BP_OK;
    static const char *const txn[] = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT",
                                      "SAVEPOINT", "RELEASE", "PREPARE", "SET", "RESET",
                                      "DISCARD", NULL};
    for (int i = 0; txn[i]; i++)
        if (!strcmp(kw, txn[i]))
            return bp_fail(err, BP_EUSAGE, "refused: %s; transaction control and session "
                           "settings are not allowed here (each statement runs alone in a "
                           "read-only transaction)", kw);
    return bp_fail(err, BP_EUSAGE, "refused: %s; this connection is read-only: it runs "
                   "SELECT, WITH, VALUES, TABLE, SHOW and EXPLAIN of those", kw);
}

/* Send one statement; false with the message in err. */
static bool pg_simple(pg *p, const char *sql, bp_err *err)
{
    PGresult *r = PQexec(p->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        one_line(err, bp_fail(err, BP_EWH, "PostgreSQL: %s",
                              r ? PQresultErrorMessage(r) : pg_msg(p->conn)));
    PQclear(r);
    return ok;
}

typedef struct {
    int nc;
    wh_col *cols;
    const char **vals;
} pg_row;

/* Column names and kinds of a result (once, from its first piece). */
static bool row_setup(pg_row *o, const PGresult *r)
{
    o->nc = PQnfields(r);
    o->cols = calloc((size_t)(o->nc ? o->nc : 1), sizeof *o->cols);
    o->vals = calloc((size_t)(o->nc ? o->nc : 1), sizeof *o->vals);
    if (!o->cols || !o->vals)
        return false;
    for (int c = 0; c < o->nc; c++) {
        o->cols[c].name = PQfname(r, c);
        o->cols[c].numeric = numeric_oid(PQftype(r, c));
        o->cols[c].kind = oid_kind(PQftype(r, c));
    }
    return true;
}

static void row_values(pg_row *o, const PGresult *r, int i)
{
    for (int c = 0; c < o->nc; c++) {
        o->vals[c] = PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
        if (o->vals[c] && PQftype(r, c) == 16) /* booleans read as in DuckDB */
            o->vals[c] = o->vals[c][0] == 't' ? "true" : "false";
    }
}

/* Stop the statement running on the server (the row cap was reached). */
static void pg_cancel(pg *p)
{
    PGcancel *c = PQgetCancel(p->conn);
    char msg[256];
    if (c) {
        PQcancel(c, msg, sizeof msg); /* best effort: the rows are drained below anyway */
        PQfreeCancel(c);
    }
}

/* Read the results of the statement sent, one row at a time. The first
 * result is kept to the end: the column names live in it. */
static bp_status pg_stream(pg *p, const wh_user_query *q, wh_row_fn fn, void *ctx,
                           bool *truncated, bp_err *err)
{
    pg_row o = {0, NULL, NULL};
    PGresult *first = NULL, *r;
    bool stopped = false;
    long long seen = 0;
    bp_status st = BP_OK;
    while ((r = PQgetResult(p->conn))) {
        ExecStatusType s = PQresultStatus(r);
        bool rows = s == PGRES_SINGLE_TUPLE || s == PGRES_TUPLES_OK;
        if (rows && !first && st == BP_OK) {
            first = r;
            if (!row_setup(&o, r))
                st = bp_fail(err, BP_ENOMEM, "out of memory");
            else if (fn)
                fn(ctx, (size_t)o.nc, o.cols, NULL); /* the columns, before any row */
        }
        if (s == PGRES_SINGLE_TUPLE && !stopped && st == BP_OK) {
            if (q->max_rows && seen >= q->max_rows) {
                *truncated = stopped = true;
                pg_cancel(p);
            } else {
                row_values(&o, r, 0);
                seen++;
                if (fn && fn(ctx, (size_t)o.nc, o.cols, o.vals)) {
                    stopped = true;
                    pg_cancel(p);
                }
            }
        } else if (!rows && s != PGRES_COMMAND_OK && !stopped && st == BP_OK) {
            const char *m = PQresultErrorMessage(r);
            if (m && strstr(m, "statement timeout"))
                st = bp_fail(err, BP_EWH, "the statement ran longer than %d.%03d s and was "
                             "stopped; make it cheaper or raise the limit (--query-timeout)",
                             q->timeout_ms / 1000, q->timeout_ms % 1000);
            else {
                st = one_line(err, bp_fail(err, BP_EWH, "PostgreSQL: %s", m));
                const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
                if (err && pos)
                    err->pos = (int)strtol(pos, NULL, 10);
            }
        }
        if (r != first)
            PQclear(r);
    }
    free(o.cols);
    free(o.vals);
    PQclear(first);
    return st;
}

bp_status pg_query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn,
                               void *ctx, bool *truncated, bp_err *err)
{
    pg *p = (pg *)w;
    bp_status st = check_user_sql(sql, err);
    if (st != BP_OK)
        return st;
    if (p->active && end_copy(p, err) != BP_OK)
        return BP_EWH;
    if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        return bp_fail(err, BP_EINTERNAL, "a user statement inside a running transaction");
    char set[96];
    snprintf(set, sizeof set, "SET LOCAL statement_timeout = %d", q->timeout_ms);
    if (!pg_simple(p, "BEGIN READ ONLY", err) || !pg_simple(p, set, err)) {
        pg_simple(p, "ROLLBACK", NULL);
        return BP_EWH;
    }
    if (!PQsendQueryParams(p->conn, sql, q->nparams, NULL, q->params, NULL, NULL, 0)) {
        st = pg_fail(p, err, "cannot send the statement");
    } else {
        PQsetSingleRowMode(p->conn);
        st = pg_stream(p, q, fn, ctx, truncated, err);
    }
    pg_simple(p, "ROLLBACK", NULL);
    return st;
}

/* ---- COPY ------------------------------------------------------------------- */

/* The binary format's signature, flags and header extension length. */
static const char copy_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static bp_status start_copy(pg *p, wh_loader *l, bp_err *err)
{
    PGresult *r = PQexec(p->conn, l->copy_sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok)
        return pg_fail(p, err, "COPY could not start");
    if (l->binary && PQputCopyData(p->conn, copy_header, sizeof copy_header) != 1)
        return pg_fail(p, err, "sending rows failed");
    p->active = l;
    return BP_OK;
}

static bp_status end_copy(pg *p, bp_err *err)
{
    static const char trailer[2] = {'\xff', '\xff'};
    bool binary = p->active && p->active->binary;
    p->active = NULL;
    if (binary && PQputCopyData(p->conn, trailer, 2) != 1)
        return pg_fail(p, err, "COPY could not finish");
    if (PQputCopyEnd(p->conn, NULL) != 1)
        return pg_fail(p, err, "COPY could not finish");
    bp_status st = BP_OK;
    PGresult *r;
    while ((r = PQgetResult(p->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && st == BP_OK)
            st = one_line(err, bp_fail(err, BP_EWH, "PostgreSQL (%s): COPY failed: %s",
                                       p->where, PQresultErrorMessage(r)));
        PQclear(r);
    }
    return st;
}

bp_status pg_load_begin(wh *w, const char *schema, const table_def *def, wh_loader **out,
                               bp_err *err)
{
    wh_loader *l = calloc(1, sizeof *l);
    buf sql = {0};
    if (!l)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    l->p = (pg *)w;
    l->def = def;
    bool bad = buf_adds(&sql, "COPY ") || buf_add_ident(&sql, schema) || buf_addc(&sql, '.') ||
               buf_add_ident(&sql, def->name) || buf_adds(&sql, " (");
    for (int c = 0; c < def->ncols && !bad; c++)
        bad = (c && buf_adds(&sql, ", ")) || buf_add_ident(&sql, def->cols[c].name);
    /* binary for floats, else text, unless BOOKPIPE_PG_COPY says (see above) */
    const char *fmt = getenv("BOOKPIPE_PG_COPY");
    bool floats = false;
    for (int c = 0; c < def->ncols; c++)
        floats |= def->cols[c].type == COL_DOUBLE;
    l->binary = fmt && *fmt ? !strcmp(fmt, "binary") : floats;
    bad = bad || buf_adds(&sql, l->binary ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN");
    if (bad) {
        buf_free(&sql);
        free(l);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    l->copy_sql = sql.p;
    *out = l;
    return BP_OK;
}

/* Text COPY escapes: backslash, tab, newline and carriage return. */
static bool add_escaped(buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n * 2))
        return false;
    char *o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            *o++ = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        *o++ = c;
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = 0;
    return true;
}

static bool add_value(buf *b, const batch *bt, int c, size_t r, col_type t)
{
    const batch_col *col = &bt->col[c];
    if (col->null[r])
        return buf_adds(b, "\\N") == BP_OK;
    switch (t) {
    case COL_BOOL:
        return buf_addc(b, col->i[r] ? 't' : 'f') == BP_OK;
    case COL_TIMESTAMP: {
        time_t s = (time_t)(col->i[r] / 1000000);
        struct tm tm;
        gmtime_r(&s, &tm);
        char ts[64];
        strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
        return buf_printf(b, "%s.%06lld", ts, (long long)(col->i[r] % 1000000)) == BP_OK;
    }
    case COL_TEXT: {
        size_t n;
        const char *s = batch_text(bt, c, r, &n);
        return add_escaped(b, s, n);
    }
    case COL_DOUBLE:
        return buf_printf(b, "%.17g", batch_double(bt, c, r)) == BP_OK;
    default:
        return buf_printf(b, "%lld", (long long)col->i[r]) == BP_OK;
    }
}

static bool put_be(buf *b, uint64_t v, int bytes)
{
    char t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (char)(v >> (8 * (bytes - 1 - i)));
    return buf_add(b, t, (size_t)bytes) == BP_OK;
}

/* One row in COPY's binary format: field count, then length + bytes each. */
static bool add_binary_row(buf *o, const batch *b, const table_def *def, size_t r)
{
    if (!put_be(o, (uint64_t)def->ncols, 2))
        return false;
    for (int c = 0; c < def->ncols; c++) {
        const batch_col *col = &b->col[c];
        int64_t v = col->i ? col->i[r] : 0;
        bool ok;
        if (col->null[r])
            ok = put_be(o, 0xFFFFFFFFu, 4);
        else
            switch (def->cols[c].type) {
            case COL_INT: ok = put_be(o, 4, 4) && put_be(o, (uint64_t)v, 4); break;
            case COL_BIGINT:
            case COL_DOUBLE: /* float8: the IEEE bits, big-endian */
                ok = put_be(o, 8, 4) && put_be(o, (uint64_t)v, 8);
                break;
            case COL_BOOL: ok = put_be(o, 1, 4) && buf_addc(o, v ? 1 : 0) == BP_OK; break;
            case COL_TIMESTAMP: /* microseconds since 2000-01-01 */
                ok = put_be(o, 8, 4) && put_be(o, (uint64_t)(v - INT64_C(946684800000000)), 8);
                break;
            default: {
                size_t n;
                const char *s = batch_text(b, c, r, &n);
                ok = put_be(o, n, 4) && buf_add(o, s, n) == BP_OK;
            }
            }
        if (!ok)
            return false;
    }
    return true;
}

bp_status pg_load_batch(wh_loader *l, const batch *b, bp_err *err)
{
    pg *p = l->p;
    if (b->n == 0)
        return BP_OK;
    if (p->active != l) {
        if (p->active && end_copy(p, err) != BP_OK)
            return BP_EWH;
        if (start_copy(p, l, err) != BP_OK)
            return BP_EWH;
    }
    buf_reset(&l->row);
    for (size_t r = 0; r < b->n && l->binary; r++)
        if (!add_binary_row(&l->row, b, l->def, r))
            return bp_fail(err, BP_ENOMEM, "out of memory");
    for (size_t r = 0; r < b->n && !l->binary; r++) {
        for (int c = 0; c < l->def->ncols; c++) {
            if ((c && buf_addc(&l->row, '\t')) || !add_value(&l->row, b, c, r, l->def->cols[c].type))
                return bp_fail(err, BP_ENOMEM, "out of memory");
        }
        if (buf_addc(&l->row, '\n'))
            return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (PQputCopyData(p->conn, l->row.p, (int)l->row.len) != 1)
        return pg_fail(p, err, "sending rows failed");
    return BP_OK;
}

bp_status pg_load_end(wh_loader *l, bp_err *err)
{
    bp_status st = BP_OK;
    if (l->p->active == l)
        st = end_copy(l->p, err);
    buf_free(&l->row);
    free(l->copy_sql);
    free(l);
    return st;
}

bp_status pg_connect_more(wh *w, wh **out, bp_err *err)
{
    pg *p = (pg *)w;
    /* the same settings as the first connection: reuse its parameters */
    PQconninfoOption *opts = PQconninfo(p->conn);
    if (!opts)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    const char *keys[64], *vals[64];
    int n = 0;
    for (PQconninfoOption *o = opts; o->keyword && n < 63; o++)
        if (o->val && *o->val) {
            keys[n] = o->keyword;
            vals[n++] = o->val;
        }
    keys[n] = vals[n] = NULL;
    pg *c = calloc(1, sizeof *c);
    bp_status st = BP_OK;
    if (!c) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    c->base.ops = p->base.ops;
    snprintf(c->where, sizeof c->where, "%s", p->where);
    c->conn = PQconnectdbParams(keys, vals, 0);
    if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
        st = bp_fail(err, BP_EWH, "cannot open another connection to PostgreSQL (%s): %s",
                     p->where, pg_msg(c->conn));
        PQfinish(c->conn);
        free(c);
        goto done;
    }
    if (!setup_session(c->conn, c->base.ops, false)) {
        st = pg_fail(c, err, "cannot set up the session");
        PQfinish(c->conn);
        free(c);
        goto done;
    }
    *out = &c->base;
done:
    PQconninfoFree(opts);
    return st;
}

struct ncols_ctx {
    long long n;
};

static int take_n(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct ncols_ctx *c = ctx;
    if (vals && nc && vals[0])
        c->n = strtoll(vals[0], NULL, 10);
    return 1;
}

/* Keep the table (dependent views stay valid) and empty it; create it the
 * first time. A table whose columns differ from def is an error. */
bp_status pg_replace_table(wh *w, const char *schema, const table_def *def, bp_err *err)
{
    bp_status st = wh_create_table(w, schema, def, false, err);
    if (st != BP_OK)
        return st;
    buf q = {0};
    bool oom = buf_adds(&q, "SELECT count(*) FROM information_schema.columns WHERE table_schema = ") ||
               buf_add_sqlstr(&q, schema) || buf_adds(&q, " AND table_name = ") ||
               buf_add_sqlstr(&q, def->name) || buf_adds(&q, " AND column_name IN (");
    for (int c = 0; c < def->ncols && !oom; c++)
        oom = buf_adds(&q, c ? ", " : "") || buf_add_sqlstr(&q, def->cols[c].name);
    oom = oom || buf_adds(&q, ")");
    struct ncols_ctx n = {0};
    if (oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else if ((st = pg_query(w, q.p, take_n, &n, err)) == BP_OK && n.n != def->ncols)
        st = bp_fail(err, BP_EWH, "table %s.%s exists with other columns than bookpipe loads; "
                     "drop it or load into another --schema", schema, def->name);
    buf_reset(&q);
    if (st == BP_OK)
        st = buf_adds(&q, "TRUNCATE ") || buf_add_relation(&q, schema, def->name)
                 ? bp_fail(err, BP_ENOMEM, "out of memory") : pg_exec(w, q.p, err);
    buf_free(&q);
    return st;
}

/* ---- a login that can only read ----------------------------------------------------- */

#define READER_ROLE "bookpipe_reader"

/* The reader's password: random, one per process, so that refreshing the
 * role's grants does not lock out sessions being opened meanwhile. */
static char g_reader_pw[33];
static pthread_once_t g_reader_once = PTHREAD_ONCE_INIT;

static void reader_pw_init(void)
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(g_reader_pw + 2 * i, 3, "%02x", raw[i]);
}

static const char *reader_password(void)
{
    pthread_once(&g_reader_once, reader_pw_init);
    return g_reader_pw[0] ? g_reader_pw : NULL;
}

/* A conninfo value, quoted as libpq reads it. */
static bool add_conn_value(buf *b, const char *v)
{
    if (buf_addc(b, '\''))
        return false;
    for (; *v; v++)
        if ((*v == '\'' || *v == '\\') ? buf_addc(b, '\\') || buf_addc(b, *v) : buf_addc(b, *v))
            return false;
    return buf_addc(b, '\'') == BP_OK;
}

/* Can the session's login write files, read them or run programs on the
 * server (a superuser, or a member of the roles that grant it)? */
static bp_status login_unsafe(pg *p, bool *unsafe, bool *can_create_roles, bp_err *err)
{
    long long su = 0, files = 0, cr = 0;
    bp_status st = wh_query_int(&p->base, "SELECT CASE WHEN rolsuper THEN 1 ELSE 0 END FROM "
                                "pg_roles WHERE rolname = current_user", 0, &su, err);
    if (st == BP_OK)
        st = wh_query_int(&p->base, "SELECT count(*) FROM pg_roles g WHERE g.rolname IN "
                          "('pg_read_server_files', 'pg_write_server_files', "
                          "'pg_execute_server_program') AND pg_has_role(current_user, g.oid, "
                          "'USAGE')", 0, &files, err);
    if (st == BP_OK)
        st = wh_query_int(&p->base, "SELECT CASE WHEN rolsuper OR rolcreaterole THEN 1 ELSE 0 "
                          "END FROM pg_roles WHERE rolname = current_user", 0, &cr, err);
    *unsafe = su || files;
    *can_create_roles = cr;
    return st;
}

/* BOOKPIPE_READ_DSN: the user's own read-only login, checked. */
static bp_status given_reader(const char *dsn, buf *out, bp_err *err)
{
    wh_config cfg = {.target = "postgres", .dsn = dsn, .read_only = true};
    wh *r = NULL;
    bp_status st = pg_connect_as(&cfg, &wh_pg_ops, NULL, NULL, &r, err);
    if (st != BP_OK) {
        bp_err_prefix(err, "BOOKPIPE_READ_DSN");
        return st;
    }
    bool unsafe, cr;
    st = login_unsafe((pg *)r, &unsafe, &cr, err);
    if (st == BP_OK && unsafe)
        st = bp_fail(err, BP_EUSAGE, "BOOKPIPE_READ_DSN logs in as %s, a superuser or a member "
                     "of pg_read_server_files / pg_write_server_files / "
                     "pg_execute_server_program: give a login that can only read",
                     PQuser(((pg *)r)->conn));
    pg_close(r);
    if (st == BP_OK && buf_adds(out, dsn))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    return st;
}

/* Create or refresh the reader role: a fresh password (sent hashed, so it
 * shows in no server log), SELECT on the schemas given and on those the
 * login owns, and the same on tables made later. */
static bp_status make_reader(pg *p, const char *const *schemas, int n, const char *pw,
                             bp_err *err)
{
    char *enc = PQencryptPasswordConn(p->conn, pw, READER_ROLE, NULL);
    if (!enc)
        return pg_fail(p, err, "cannot hash the reader's password");
    buf q = {0};
    bool ok = !buf_adds(&q, "DO $bp$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '"
                        READER_ROLE "') THEN CREATE ROLE " READER_ROLE "; END IF; END $bp$;"
                        "ALTER ROLE " READER_ROLE " WITH LOGIN NOSUPERUSER NOCREATEDB "
                        "NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ") &&
              !buf_add_sqlstr(&q, enc) &&
              !buf_adds(&q, ";DO $bp$ DECLARE s text; BEGIN EXECUTE format('GRANT CONNECT ON "
                        "DATABASE %I TO " READER_ROLE "', current_database()); FOR s IN SELECT "
                        "nspname FROM pg_namespace WHERE (nspowner = (SELECT oid FROM pg_roles "
                        "WHERE rolname = current_user) AND nspname NOT LIKE 'pg\\_%' AND nspname "
                        "<> 'information_schema') OR nspname IN (''");
    PQfreemem(enc);
    for (int i = 0; ok && i < n; i++) /* and the schemas given */
        ok = !buf_adds(&q, ", ") && !buf_add_sqlstr(&q, schemas[i]);
    if (ok) {
        ok = !buf_adds(&q, ") LOOP EXECUTE format('GRANT USAGE ON SCHEMA %I TO " READER_ROLE
                             "', s); EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO "
                             READER_ROLE "', s); EXECUTE format('ALTER DEFAULT PRIVILEGES IN "
                             "SCHEMA %I GRANT SELECT ON TABLES TO " READER_ROLE "', s); END LOOP;"
                             " END $bp$");
    }
    bp_status st = ok ? pg_exec(&p->base, q.p, err) : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    if (st != BP_OK)
        bp_err_prefix(err, "making the read-only role " READER_ROLE);
    return st;
}

/* The session's own connection settings, with the reader's login. */
static bool reader_conninfo(pg *p, const char *pw, buf *out)
{
    PQconninfoOption *opts = PQconninfo(p->conn);
    if (!opts)
        return false;
    bool ok = true;
    for (PQconninfoOption *o = opts; o->keyword && ok; o++) {
        if (!o->val || !*o->val || !strcmp(o->keyword, "user") ||
            !strcmp(o->keyword, "password") || !strcmp(o->keyword, "passfile"))
            continue;
        ok = !buf_printf(out, "%s=", o->keyword) && add_conn_value(out, o->val) &&
             !buf_addc(out, ' ');
    }
    PQconninfoFree(opts);
    return ok && !buf_adds(out, "user=" READER_ROLE " password=") && add_conn_value(out, pw);
}

bp_status pg_reader_dsn(wh *w, const char *const *schemas, int n, buf *out, char *note,
                               size_t note_n, bp_err *err)
{
    pg *p = (pg *)w;
    const char *given = getenv("BOOKPIPE_READ_DSN");
    if (given && *given)
        return given_reader(given, out, err);
    bool unsafe, can_create;
    bp_status st = login_unsafe(p, &unsafe, &can_create, err);
    if (st != BP_OK)
        return st;
    /* a server whose reader role we do not make (Redshift): the caller's
     * login, inside read-only transactions */
    if (!can_create || p->base.ops != &wh_pg_ops) {
        if (unsafe)
            return bp_fail(err, BP_EUSAGE, "the login %s may read or write server files, so "
                           "the explorer will not run on it: set BOOKPIPE_READ_DSN to a login "
                           "that can only read (README: Security)", PQuser(p->conn));
        snprintf(note, note_n, "reading as %s in read-only transactions; set BOOKPIPE_READ_DSN "
                 "to a login that can only read (README: Security)", PQuser(p->conn));
        return BP_OK;
    }
    const char *pw = reader_password();
    if (!pw)
        return bp_fail(err, BP_EIO, "cannot get random bytes for the reader's password");
    st = make_reader(p, schemas, n, pw, err);
    if (st == BP_OK && !reader_conninfo(p, pw, out))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    if (st == BP_OK)
        snprintf(note, note_n, "reading as role " READER_ROLE " (SELECT only)");
    return st;
}

const wh_ops wh_pg_ops = {
    .name = "postgres", .title = "PostgreSQL", .lock = WH_LOCK_SERVER, .load = WH_LOAD_REFILL,
    .analyze_after_load = true,
    .dispatch = (const char *const[]){"postgres", "default", NULL},
    .relation_class = "PostgresRelation", .float_type = "float8",
    .timestamp_type = "timestamp without time zone", .subquery_alias = true,
    .open = pg_open, .load_begin = pg_load_begin, .load_batch = pg_load_batch,
    .load_end = pg_load_end, PG_FAMILY_OPS,
};
