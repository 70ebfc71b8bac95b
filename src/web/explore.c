/* explore.c: the explorer's API. POST /api/query runs one statement or
 * several (each read-only, as the engine enforces it; each with its own
 * result); an error says where the database stopped. POST /api/export
 * streams every row of a statement as CSV or JSON from a worker thread
 * through a pipe (no row cap, nothing held whole in memory), or as a
 * Parquet file, written whole first (a private in-memory DuckDB types the
 * columns and writes it; none of the user's SQL runs there). GET
 * /api/tables/stats?table=s.t counts nulls and distinct values and finds
 * the least and greatest value of each column. */
#include "web_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlsplit.h"

#define MAX_STATEMENTS 20

/* {error, position}: the position counts from the start of the whole text. */
static enum MHD_Result sql_error(const web_req *r, const char *msg, int pos)
{
    return web_json(r, 400, pos > 0 ? json_pack("{s:s, s:i}", "error", msg, "position", pos)
                                    : json_pack("{s:s}", "error", msg));
}

static char *span_text(const char *sql, web_span sp)
{
    return strndup(sql + sp.start, sp.end - sp.start);
}

enum MHD_Result web_query(web_srv *s, const web_req *r)
{
    json_error_t je;
    json_t *in = json_loadb(r->body, r->n, 0, &je);
    const char *sql = json_string_value(json_object_get(in, "sql"));
    json_int_t off = json_integer_value(json_object_get(in, "offset"));
    json_int_t lim = json_integer_value(json_object_get(in, "limit"));
    web_span sp[MAX_STATEMENTS];
    int n = sql ? web_sql_split(sql, sp, MAX_STATEMENTS) : 0;
    if (n == 0 || n > MAX_STATEMENTS) {
        json_decref(in);
        return web_error(r, 400, n > MAX_STATEMENTS
                                     ? "at most 20 statements at once"
                                     : "send JSON {\"sql\": \"SELECT ...\"} (and optionally "
                                       "offset, limit); several statements are separated by ;");
    }
    long long cap = s->o->max_rows > 0 ? s->o->max_rows : 10000;
    if (lim <= 0 || lim > cap)
        lim = cap;
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w) {
        json_decref(in);
        return res;
    }
    json_t *all = json_array(), *one = NULL;
    bp_err err = {0};
    int failed = -1;
    for (int i = 0; i < n && failed < 0; i++) {
        char *text = span_text(sql, sp[i]);
        one = text ? web_run_query(s, w, text, n == 1 && off > 0 ? off : 0, lim, &err) : NULL;
        if (!text)
            bp_fail(&err, BP_ENOMEM, "out of memory");
        free(text);
        if (!one)
            failed = i;
        else if (n > 1)
            json_array_append_new(all, one);
    }
    web_close_ro(s, w);
    if (failed >= 0) {
        char msg[1200];
        if (n > 1)
            snprintf(msg, sizeof msg, "statement %d of %d: %s", failed + 1, n, err.msg);
        else
            snprintf(msg, sizeof msg, "%s", err.msg);
        int pos = err.pos > 0 ? (int)sp[failed].start + err.pos : 0;
        json_decref(all);
        json_decref(in);
        return sql_error(r, msg, pos);
    }
    json_decref(in);
    if (n == 1) {
        json_decref(all);
        return web_json(r, 200, one);
    }
    return web_json(r, 200, json_pack("{s:o}", "results", all));
}

/* ---- export ------------------------------------------------------------------------------- */

/* Shared by the request and its worker; the last to let go frees it. */
typedef struct {
    web_srv *s;
    wh *w;
    char *sql;
    bool json;
    bool parquet;           /* rows into a Parquet file, sent once it is whole */
    wh_parquet *pq;
    int fd;                 /* the pipe's write end (the worker's) */
    buf line;
    long long rows;
    bool opened;            /* the header (CSV) or "[" (JSON) is written */
    bool broken;            /* the reader went away */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;              /* 0 waiting, 1 streaming, 2 failed before any byte */
    int refs;
    bp_err err;
} exporter;

static void release(exporter *x)
{
    pthread_mutex_lock(&x->mu);
    bool last = --x->refs == 0;
    pthread_mutex_unlock(&x->mu);
    if (!last)
        return;
    buf_free(&x->line);
    free(x->sql);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
}

static void set_state(exporter *x, int state)
{
    pthread_mutex_lock(&x->mu);
    if (x->state == 0)
        x->state = state;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

static bool write_all(exporter *x, const char *p, size_t n)
{
    while (n && !x->broken) {
        ssize_t k = write(x->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            x->broken = true;
            break;
        }
        p += k;
        n -= (size_t)k;
    }
    return !x->broken;
}

/* One value into the line: CSV quoted where needed; JSON a string, a
 * number as it is, or null. */
static bool add_value(buf *b, const char *v, bool json, bool numeric)
{
    if (json) {
        if (!v)
            return !buf_adds(b, "null");
        if (numeric)
            return !buf_adds(b, v);
        json_t *s = json_string(v);
        char *t = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        json_decref(s);
        bool ok = t && !buf_adds(b, t);
        free(t);
        return ok;
    }
    if (!v)
        return true;
    if (!strpbrk(v, ",\"\r\n"))
        return !buf_adds(b, v);
    bool ok = !buf_addc(b, '"');
    for (const char *p = v; ok && *p; p++)
        ok = *p == '"' ? !buf_adds(b, "\"\"") : !buf_addc(b, *p);
    return ok && !buf_addc(b, '"');
}

static bool add_row(exporter *x, size_t nc, const wh_col *cols, const char *const *vals)
{
    bool ok = true;
    if (x->json) {
        ok = !buf_adds(&x->line, x->rows ? ",\n{" : "\n{");
        for (size_t i = 0; ok && i < nc; i++)
            ok = (!i || !buf_addc(&x->line, ',')) && add_value(&x->line, cols[i].name, true, false) &&
                 !buf_addc(&x->line, ':') && add_value(&x->line, vals[i], true, cols[i].numeric);
        return ok && !buf_addc(&x->line, '}');
    }
    for (size_t i = 0; ok && i < nc; i++)
        ok = (!i || !buf_addc(&x->line, ',')) && add_value(&x->line, vals[i], false, false);
    return ok && !buf_adds(&x->line, "\r\n");
}

static int parquet_row(exporter *x, size_t nc, const wh_col *cols, const char *const *vals)
{
    if (!x->opened) {
        x->opened = true;
        if (wh_parquet_open(nc, cols, &x->pq, &x->err) != BP_OK)
            return x->broken = true, 1;
    }
    if (vals && wh_parquet_row(x->pq, vals, &x->err) != BP_OK)
        return x->broken = true, 1;
    x->rows += vals != NULL;
    return 0;
}

static int export_row(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    exporter *x = ctx;
    if (x->parquet)
        return parquet_row(x, nc, cols, vals);
    bool ok = true;
    buf_reset(&x->line);
    if (!x->opened) { /* the columns came: the CSV header, or the JSON array opens */
        x->opened = true;
        set_state(x, 1);
        if (x->json)
            ok = !buf_adds(&x->line, "[");
        for (size_t i = 0; ok && !x->json && i < nc; i++)
            ok = (!i || !buf_addc(&x->line, ',')) && add_value(&x->line, cols[i].name, false, false);
        ok = ok && (x->json || !buf_adds(&x->line, "\r\n"));
    }
    if (ok && vals) {
        ok = add_row(x, nc, cols, vals);
        x->rows++;
    }
    if (!ok)
        return x->broken = true, 1;
    return write_all(x, x->line.p ? x->line.p : "", x->line.len) ? 0 : 1;
}

/* Parquet: the file is written whole in a private folder, then sent; a
 * failure before that is the request's error. */
static void parquet_finish(exporter *x, bp_status st)
{
    char dir[] = "/tmp/bookpipe-export.XXXXXX", path[64];
    bool made = mkdtemp(dir) != NULL;
    snprintf(path, sizeof path, "%s/export.parquet", dir);
    if (st == BP_OK && x->broken)
        st = BP_EWH;
    if (st == BP_OK && !x->pq) /* no column came: an empty file cannot be typed */
        st = bp_fail(&x->err, BP_EINPUT, "the statement gave no columns to export");
    if (x->pq) {
        bp_status cs = wh_parquet_close(x->pq, st == BP_OK && made ? path : NULL, &x->err);
        x->pq = NULL;
        if (st == BP_OK)
            st = made ? cs : bp_fail(&x->err, BP_EINTERNAL, "no temporary folder for the export");
    }
    if (st != BP_OK) {
        set_state(x, 2);
    } else {
        set_state(x, 1);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char chunk[65536];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, chunk, sizeof chunk)) > 0 && write_all(x, chunk, (size_t)n))
            ;
        if (fd >= 0)
            close(fd);
    }
    if (made) {
        unlink(path);
        rmdir(dir);
    }
}

static void *export_thread(void *arg)
{
    exporter *x = arg;
    sigset_t pipe_sig;
    sigemptyset(&pipe_sig);
    sigaddset(&pipe_sig, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL); /* a reader gone is EPIPE here, not a signal */
    int timeout = x->s->o->statement_timeout_ms;
    wh_user_query uq = {0, timeout > 300000 ? timeout : 300000, 0, NULL};
    bool more = false;
    bp_status st = wh_query_user(x->w, x->sql, &uq, export_row, x, &more, &x->err);
    if (x->parquet) {
        parquet_finish(x, st);
        goto done;
    }
    if (st != BP_OK && !x->opened)
        set_state(x, 2);
    else if (st != BP_OK && !x->broken) { /* failed half way: the file ends saying so */
        char tail[1300];
        snprintf(tail, sizeof tail, x->json ? "\n]\n" : "# export stopped: %s\r\n", x->err.msg);
        write_all(x, tail, strlen(tail));
    } else if (x->json && !x->broken)
        write_all(x, x->opened ? "\n]\n" : "[]\n", 3);
    set_state(x, 1);
done:
    web_close_ro(x->s, x->w);
    close(x->fd);
    pthread_mutex_lock(&x->s->mu);
    x->s->exporting--;
    pthread_mutex_unlock(&x->s->mu);
    release(x);
    return NULL;
}

static exporter *exporter_new(web_srv *s, const char *sql, web_span sp, bool json, int fd)
{
    exporter *x = calloc(1, sizeof *x);
    if (!x || !(x->sql = span_text(sql, sp))) {
        free(x);
        return NULL;
    }
    x->s = s;
    x->json = json;
    x->fd = fd;
    x->refs = 2;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    return x;
}

enum MHD_Result web_export(web_srv *s, const web_req *r)
{
    json_error_t je;
    json_t *in = json_loadb(r->body, r->n, 0, &je);
    const char *sql = json_string_value(json_object_get(in, "sql"));
    const char *format = json_string_value(json_object_get(in, "format"));
    web_span sp[2];
    int n = sql ? web_sql_split(sql, sp, 2) : 0;
    bool json = format && !strcmp(format, "json");
    bool parquet = format && !strcmp(format, "parquet");
    if (n != 1 || !format || (!json && !parquet && strcmp(format, "csv"))) {
        json_decref(in);
        return web_error(r, 400, n > 1 ? "export runs one statement: keep the one to export"
                                       : "send JSON {\"sql\": \"SELECT ...\", \"format\": "
                                         "\"csv\", \"json\" or \"parquet\"}");
    }
    int p[2];
    if (pipe(p) != 0) {
        json_decref(in);
        return web_error(r, 503, "no file descriptor for the export; try again");
    }
    exporter *x = exporter_new(s, sql, sp[0], json, p[1]);
    if (x)
        x->parquet = parquet;
    json_decref(in);
    enum MHD_Result res = MHD_NO;
    if (!x || !(x->w = web_open_ro(s, r, &res))) {
        close(p[0]);
        close(p[1]);
        if (x)
            x->refs = 1, release(x);
        return x ? res : web_error(r, 500, "out of memory");
    }
    pthread_mutex_lock(&s->mu);
    s->exporting++;
    pthread_mutex_unlock(&s->mu);
    pthread_t t;
    if (pthread_create(&t, NULL, export_thread, x) != 0) {
        pthread_mutex_lock(&s->mu);
        s->exporting--;
        pthread_mutex_unlock(&s->mu);
        web_close_ro(s, x->w);
        close(p[0]);
        close(p[1]);
        x->refs = 1;
        release(x);
        return web_error(r, 503, "cannot start the export; try again");
    }
    pthread_detach(t);
    pthread_mutex_lock(&x->mu);
    while (x->state == 0)
        pthread_cond_wait(&x->cv, &x->mu);
    bool failed = x->state == 2;
    pthread_mutex_unlock(&x->mu);
    if (failed) { /* the statement failed before a byte: the database's error */
        char msg[1100];
        snprintf(msg, sizeof msg, "%s", x->err.msg);
        int pos = x->err.pos > 0 ? (int)sp[0].start + x->err.pos : 0;
        close(p[0]);
        release(x);
        return sql_error(r, msg, pos);
    }
    release(x);
    struct MHD_Response *resp = MHD_create_response_from_pipe(p[0]);
    if (!resp) {
        close(p[0]);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Disposition",
                            json      ? "attachment; filename=\"query.json\""
                            : parquet ? "attachment; filename=\"query.parquet\""
                                      : "attachment; filename=\"query.csv\"");
    return web_send_response(r, 200,
                             json ? "application/json"
                                  : parquet ? "application/vnd.apache.parquet" : "text/csv; charset=utf-8",
                             resp);
}

/* ---- a table's statistics ------------------------------------------------------------------- */

static int on_col(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    if (vals && nc >= 2 && vals[0])
        json_array_append_new(ctx, json_pack("{s:s, s:s}", "name", vals[0], "type",
                                             vals[1] ? vals[1] : ""));
    return 0;
}

bp_status web_table_columns(web_srv *s, wh *w, const char *schema, const char *table, long long max,
                            json_t *out, bp_err *err)
{
    /* from the catalogue: the names are bound, never spliced */
    static const char cols_sql[] =
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position";
    const char *params[] = {schema, table};
    wh_user_query uq = {max, s->o->statement_timeout_ms, 2, params};
    bool more = false;
    return wh_query_user(w, cols_sql, &uq, on_col, out, &more, err);
}

/* min/max make sense for numbers, times and text; not for booleans, JSON
 * or nested values */
static bool orderable(const char *type)
{
    static const char *const no[] = {"BOOLEAN", "JSON", "STRUCT", "MAP", "LIST", "[]", "ARRAY",
                                     "UNION", "BLOB", "BYTEA", "INTERVAL", "boolean", "json",
                                     "jsonb", "ARRAY", "USER-DEFINED", "bytea", "interval", NULL};
    for (int i = 0; no[i]; i++)
        if (strstr(type, no[i]))
            return false;
    return true;
}

static bp_status stats_sql(buf *q, const char *schema, const char *table, json_t *cols)
{
    bp_status st = buf_adds(q, "SELECT count(*)");
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        bool ord = orderable(json_string_value(json_object_get(c, "type")));
        if (st == BP_OK)
            st = buf_adds(q, ", count(");
        if (st == BP_OK)
            st = buf_add_ident(q, name);
        if (st == BP_OK)
            st = buf_adds(q, "), count(DISTINCT ");
        if (st == BP_OK)
            st = buf_add_ident(q, name);
        for (int k = 0; k < 2 && st == BP_OK; k++) {
            st = buf_adds(q, ord ? (k ? "), CAST(max(" : "), CAST(min(") : (k ? "), CAST(NULL" : "), CAST(NULL"));
            if (st == BP_OK && ord)
                st = buf_add_ident(q, name);
            if (st == BP_OK)
                st = buf_adds(q, ord ? ") AS VARCHAR" : " AS VARCHAR");
        }
        if (st == BP_OK)
            st = buf_adds(q, ")");
    }
    if (st == BP_OK)
        st = buf_adds(q, " FROM ");
    return st == BP_OK ? buf_add_relation(q, schema, table) : st;
}

typedef struct {
    json_t *cols;
    long long rows;
} stats_out;

static int on_stats(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    stats_out *o = ctx;
    if (!vals || !nc || !vals[0])
        return 0;
    o->rows = strtoll(vals[0], NULL, 10);
    for (size_t i = 0; 4 + i * 4 < nc && i < json_array_size(o->cols); i++) {
        json_t *c = json_array_get(o->cols, i);
        const char *const *v = vals + 1 + i * 4;
        json_object_set_new(c, "nulls", json_integer(o->rows - (v[0] ? strtoll(v[0], NULL, 10) : 0)));
        json_object_set_new(c, "distinct", json_integer(v[1] ? strtoll(v[1], NULL, 10) : 0));
        json_object_set_new(c, "min", v[2] ? json_string(v[2]) : json_null());
        json_object_set_new(c, "max", v[3] ? json_string(v[3]) : json_null());
    }
    return 0;
}

/* GET /api/tables/stats?table=SCHEMA.TABLE */
enum MHD_Result web_table_stats(web_srv *s, const web_req *r)
{
    const char *t = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, "table");
    const char *dot = t ? strchr(t, '.') : NULL;
    if (!dot || dot == t || !dot[1] || strlen(t) > 400)
        return web_error(r, 400, "name the table: /api/tables/stats?table=schema.table");
    char schema[256], table[256];
    snprintf(schema, sizeof schema, "%.*s", (int)(dot - t), t);
    snprintf(table, sizeof table, "%s", dot + 1);
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w)
        return res;
    json_t *cols = json_array();
    bp_err err = {0};
    bool more = false;
    bp_status st = web_table_columns(s, w, schema, table, 200, cols, &err);
    if (st == BP_OK && !json_array_size(cols))
        st = bp_fail(&err, BP_EINPUT, "no table %s.%s", schema, table);
    buf q = {0};
    stats_out o = {cols, 0};
    if (st == BP_OK)
        st = stats_sql(&q, schema, table, cols);
    wh_user_query sq = {1, s->o->statement_timeout_ms, 0, NULL};
    if (st == BP_OK)
        st = wh_query_user(w, q.p, &sq, on_stats, &o, &more, &err);
    web_close_ro(s, w);
    buf_free(&q);
    if (st != BP_OK) {
        json_decref(cols);
        return web_error(r, st == BP_EINPUT ? 404 : 400, err.msg);
    }
    return web_json(r, 200, json_pack("{s:s, s:s, s:I, s:o}", "schema", schema, "table", table,
                                       "rows", (json_int_t)o.rows, "columns", cols));
}
