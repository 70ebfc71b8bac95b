/* api.c: the JSON API behind the pages: health, the explorer (tables and
 * read-only SQL), the run history and Run now. */
#include "../core/version.h"
#include "web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/num.h"
#include "../orch/meta.h"
#include "../orch/pipeline_file.h"
#include "../core/log.h"

bp_status web_srv_init(web_srv *s, const web_opts *o, bp_err *err)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    char pfile[4400];
    if (!orch_pipeline_file(&o->run, pfile, sizeof pfile, s->project_dir, sizeof s->project_dir))
        s->project_dir[0] = 0;
    if (pthread_rwlock_init(&s->wh_lock, NULL) != 0)
        return bp_fail(err, BP_EINTERNAL, "cannot set up a lock");
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_rwlock_destroy(&s->wh_lock);
        return bp_fail(err, BP_EINTERNAL, "cannot set up a lock");
    }
    return BP_OK;
}

static void drop_shared(web_srv *s);

void web_srv_free(web_srv *s)
{
    if (s->idle_started)
        pthread_join(s->idle_thread, NULL);
    /* export workers end once their reader is gone (the daemon has stopped):
     * they hold warehouse connections, so wait for them (10 s at most) */
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&s->mu);
        int n = s->exporting;
        pthread_mutex_unlock(&s->mu);
        if (!n)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&s->mu);
    drop_shared(s);
    pthread_mutex_unlock(&s->mu);
    if (s->sched_started)
        pthread_join(s->sched_thread, NULL);
    if (s->has_thread) {
        s->run_stop = 1; /* serve stops: so does the run it started */
        pthread_join(s->run_thread, NULL);
    }
    json_decref(s->live);
    pthread_rwlock_destroy(&s->wh_lock);
    pthread_mutex_destroy(&s->mu);
    if (s->reader.p)
        memset(s->reader.p, 0, s->reader.len); /* holds a password */
    buf_free(&s->reader);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the warehouse, read-only, per request ------------------------------------------ */

/* How long an idle server keeps the DuckDB file open: opening costs ~25 ms a
 * request, and a writer elsewhere waits for the file (wh_duckdb's ATTACH
 * retries for 10 s), so a short hold serves both. */
#define HOLD_S 1.0

/* A warehouse file we open ourselves (DuckDB): held between requests */
static bool is_duckdb(const web_srv *s)
{
    const wh_ops *t = wh_ops_named(s->o->run.w.target);
    return t && t->embedded;
}

/* Close the shared database; with mu held and no users. */
static void drop_shared(web_srv *s)
{
    if (s->ro && s->ro_users == 0) {
        wh_close(s->ro);
        s->ro = NULL;
    }
}

/* Who holds the DuckDB warehouse's run lock ("" when nobody): a run from
 * the command line. The server steps aside for it: DuckDB lets one
 * process write, and a reader holding the file would make it wait. */
static bool run_elsewhere(const web_srv *s, char *who, size_t n)
{
    who[0] = 0;
    if (is_duckdb(s))
        meta_lock_holder(s->o->run.w.warehouse, who, n);
    return who[0] != 0;
}

static void *idle_closer(void *arg)
{
    web_srv *s = arg;
    while (!orch_stop_requested()) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        char who[512];
        bool yield = run_elsewhere(s, who, sizeof who);
        pthread_mutex_lock(&s->mu);
        if (s->ro && s->ro_users == 0 && (yield || now_s() - s->ro_idle_since > HOLD_S))
            drop_shared(s);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* How often the reader login's grants are refreshed (schemas made since
 * the last refresh become readable). */
#define READER_REFRESH_S 10.0

/* PostgreSQL: make or refresh the read-only login, with the run's own
 * login (which owns the warehouse); with mu held. */
static bp_status refresh_reader(web_srv *s, bp_err *err)
{
    if (s->reader_ready && now_s() - s->reader_at < READER_REFRESH_S)
        return BP_OK;
    const wh_spec *cw = &s->o->run.w;
    char stage[300];
    snprintf(stage, sizeof stage, "%s_stage", cw->schema);
    const char *schemas[] = {cw->schema, META_SCHEMA, stage};
    wh *w = NULL;
    bp_status st = wh_spec_open(cw, WH_OPEN_WRITE, &w, err);
    if (st == BP_OK)
        st = wh_reader_dsn(w, schemas, 3, &s->reader, s->reader_note, sizeof s->reader_note,
                           err);
    wh_close(w);
    if (st == BP_OK) {
        s->reader_ready = true;
        s->reader_at = now_s();
    }
    return st;
}

/* A connection for one request: DuckDB, one more connection to the shared
 * sandboxed database (opened on first use); PostgreSQL, a session of its
 * own as the read-only login. */
static bp_status connect_ro(web_srv *s, wh **out, bp_err *err)
{
    const wh_spec *cw = &s->o->run.w;
    if (!is_duckdb(s)) {
        pthread_mutex_lock(&s->mu);
        bp_status st = refresh_reader(s, err);
        wh_spec rw = *cw;
        char *dsn = st == BP_OK && s->reader.len ? strdup(s->reader.p) : NULL;
        pthread_mutex_unlock(&s->mu);
        if (st != BP_OK)
            return st;
        if (dsn)
            rw.dsn = dsn;
        st = wh_spec_open(&rw, WH_OPEN_SANDBOX, out, err);
        if (dsn) {
            memset(dsn, 0, strlen(dsn));
            free(dsn);
        }
        return st;
    }
    pthread_mutex_lock(&s->mu);
    bp_status st = s->ro ? BP_OK : wh_spec_open(cw, WH_OPEN_SANDBOX, &s->ro, err);
    if (st == BP_OK && (st = wh_connect_more(s->ro, out, err)) == BP_OK)
        s->ro_users++;
    if (!s->idle_started)
        s->idle_started = pthread_create(&s->idle_thread, NULL, idle_closer, s) == 0;
    pthread_mutex_unlock(&s->mu);
    return st;
}

/* During a run started here (DuckDB): a connection to the snapshot taken
 * before it; NULL when there is none. */
static wh *snapshot_ro(web_srv *s, bp_err *err)
{
    wh *w = NULL;
    pthread_mutex_lock(&s->mu);
    if (!s->snap_ready || s->nsnap >= WEB_MAX_SNAP_CONNS) {
        pthread_mutex_unlock(&s->mu);
        return NULL;
    }
    wh_spec sw = s->o->run.w;
    sw.warehouse = s->snap_path;
    bp_status st = s->snap_ro ? BP_OK : wh_spec_open(&sw, WH_OPEN_SANDBOX, &s->snap_ro, err);
    if (st == BP_OK && (st = wh_connect_more(s->snap_ro, &w, err)) == BP_OK) {
        s->snap_users++;
        s->snap_conns[s->nsnap++] = w;
    }
    pthread_mutex_unlock(&s->mu);
    if (st == BP_OK && (st = wh_use_schema(w, s->o->run.w.schema, err)) != BP_OK) {
        web_close_ro(s, w);
        w = NULL;
    }
    return w;
}

/* Open it for this request (with the shared lock held); on failure the
 * response is already queued in *res. */
wh *web_open_ro(web_srv *s, const web_req *r, enum MHD_Result *res)
{
    bp_err serr = {0};
    wh *snap = snapshot_ro(s, &serr);
    if (snap)
        return snap;
    if (pthread_rwlock_tryrdlock(&s->wh_lock) != 0) {
        *res = web_busy(r, "a run started here is using the warehouse; try again when it ends");
        return NULL;
    }
    char who[512], msg[800];
    if (run_elsewhere(s, who, sizeof who)) {
        pthread_rwlock_unlock(&s->wh_lock);
        pthread_mutex_lock(&s->mu);
        drop_shared(s); /* when nobody uses it: the run gets the file */
        pthread_mutex_unlock(&s->mu);
        snprintf(msg, sizeof msg, "a run is using the warehouse (%s); try again when it ends",
                 who);
        *res = web_busy(r, msg);
        return NULL;
    }
    wh *w = NULL;
    bp_err err = {0};
    const wh_spec *cw = &s->o->run.w;
    bp_status st = connect_ro(s, &w, &err);
    if (st == BP_OK && (st = wh_use_schema(w, cw->schema, &err)) == BP_OK)
        return w;
    if (w)
        web_close_ro(s, w);
    else
        pthread_rwlock_unlock(&s->wh_lock);
    if (run_elsewhere(s, who, sizeof who)) {
        snprintf(msg, sizeof msg, "a run is using the warehouse (%s); try again when it ends",
                 who);
        *res = web_busy(r, msg);
    } else
        *res = web_error(r, 503, err.msg);
    return NULL;
}

void web_close_ro(web_srv *s, wh *w)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nsnap; i++)
        if (s->snap_conns[i] == w) { /* a snapshot reader: no lock to let go */
            s->snap_conns[i] = s->snap_conns[--s->nsnap];
            wh_close(w);
            if (--s->snap_users == 0 && !s->snap_ready && s->snap_ro) {
                wh_close(s->snap_ro);
                s->snap_ro = NULL;
            }
            pthread_mutex_unlock(&s->mu);
            return;
        }
    pthread_mutex_unlock(&s->mu);
    wh_close(w);
    if (is_duckdb(s)) {
        pthread_mutex_lock(&s->mu);
        s->ro_users--;
        s->ro_idle_since = now_s();
        pthread_mutex_unlock(&s->mu);
    }
    pthread_rwlock_unlock(&s->wh_lock);
}

/* ---- query results as JSON ------------------------------------------------------------ */

/* A column's type as Grafana's data frames name them. */
static const char *frame_type(char kind)
{
    switch (kind) {
    case 'i': case 'n': case 'f': return "number";
    case 'b': return "boolean";
    case 'd': case 't': return "time";
    default: return "string";
    }
}

int web_rows_add(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    web_rows *q = ctx;
    if (!q->cols) {
        if (!(q->cols = json_array()))
            return q->oom = true, 1;
        for (size_t i = 0; i < nc; i++)
            json_array_append_new(q->cols, json_pack("{s:s, s:b, s:s}", "name", cols[i].name,
                                                     "numeric", cols[i].numeric, "type",
                                                     frame_type(cols[i].kind)));
    }
    if (!vals || q->seen++ < q->skip)
        return 0;
    if ((long long)json_array_size(q->rows) >= q->limit) {
        q->truncated = true;
        return 1;
    }
    json_t *row = json_array();
    if (!row)
        return q->oom = true, 1;
    for (size_t i = 0; i < nc; i++)
        json_array_append_new(row, vals[i] ? json_string(vals[i]) : json_null());
    json_array_append_new(q->rows, row);
    return 0;
}

/* Run sql on w into {columns, rows, truncated, elapsed_ms}; NULL with
 * *msg set when the database refused it. */
json_t *web_run_query(web_srv *s, wh *w, const char *sql, long long skip, long long limit,
                      bp_err *err)
{
    web_rows q = {NULL, json_array(), skip, limit, 0, false, false};
    double t0 = now_s();
    wh_user_query uq = {skip + limit, s->o->statement_timeout_ms, 0, NULL};
    bool more = false;
    bp_status st = q.rows ? wh_query_user(w, sql, &uq, web_rows_add, &q, &more, err)
                          : bp_fail(err, BP_ENOMEM, "oom");
    q.truncated = q.truncated || more;
    if (st == BP_OK && q.oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    if (st != BP_OK) {
        json_decref(q.cols);
        json_decref(q.rows);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:b, s:I, s:f}", "columns", q.cols ? q.cols : json_array(),
                     "rows", q.rows, "truncated", q.truncated, "offset", (json_int_t)skip,
                     "elapsed_ms", (now_s() - t0) * 1000);
}

/* Answer with sql's result, or the database's error as a 400. */
static enum MHD_Result reply_query(web_srv *s, const web_req *r, const char *sql,
                                   long long skip, long long limit)
{
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w)
        return res;
    bp_err err = {0};
    json_t *j = web_run_query(s, w, sql, skip, limit, &err);
    web_close_ro(s, w);
    return j ? web_json(r, 200, j) : web_error(r, 400, err.msg);
}

/* ---- handlers ------------------------------------------------------------------------- */

static enum MHD_Result health(web_srv *s, const web_req *r)
{
    pthread_mutex_lock(&s->mu);
    bool running = s->running;
    pthread_mutex_unlock(&s->mu);
    return web_json(r, 200, json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "ok", 1, "version",
                                      BOOKPIPE_VERSION, "duckdb", wh_duckdb_version(), "target",
                                      s->o->run.w.target, "schema", s->o->run.w.schema,
                                      "run_in_progress", running));
}

static const char tables_sql[] =
    "SELECT t.table_schema, t.table_name, t.table_type, c.column_name, c.data_type "
    "FROM information_schema.tables t JOIN information_schema.columns c "
    "ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema "
    "AND c.table_name = t.table_name "
    "WHERE t.table_catalog = current_database() "
    "AND t.table_schema NOT IN ('information_schema', 'pg_catalog') "
    "ORDER BY t.table_schema, t.table_name, c.ordinal_position";

typedef struct {
    json_t *schemas;         /* [{name, tables: [{name, type, columns: [...]}]}] */
    json_t *schema, *table;  /* the ones being filled */
} tree;

static int on_column(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    tree *t = ctx;
    if (!vals || nc < 5 || !vals[0] || !vals[1])
        return 0;
    if (!t->schema || strcmp(json_string_value(json_object_get(t->schema, "name")), vals[0])) {
        t->schema = json_pack("{s:s, s:[]}", "name", vals[0], "tables");
        json_array_append_new(t->schemas, t->schema);
        t->table = NULL;
    }
    if (!t->table || strcmp(json_string_value(json_object_get(t->table, "name")), vals[1])) {
        t->table = json_pack("{s:s, s:s, s:[]}", "name", vals[1], "type",
                             vals[2] ? vals[2] : "", "columns");
        json_array_append_new(json_object_get(t->schema, "tables"), t->table);
    }
    json_array_append_new(json_object_get(t->table, "columns"),
                          json_pack("{s:s, s:s}", "name", vals[3] ? vals[3] : "", "type",
                                    vals[4] ? vals[4] : ""));
    return 0;
}

/* Row counts of the base tables (views are left to the user: they may be
 * expensive). */
static void add_counts(wh *w, json_t *schemas)
{
    size_t i, k;
    json_t *sc, *tb;
    json_array_foreach(schemas, i, sc) {
        json_array_foreach(json_object_get(sc, "tables"), k, tb) {
            const char *type = json_string_value(json_object_get(tb, "type"));
            if (!type || strcmp(type, "BASE TABLE") != 0)
                continue;
            buf q = {0};
            long long n = -1;
            bp_err err;
            if (!buf_adds(&q, "SELECT count(*) FROM ") &&
                !buf_add_ident(&q, json_string_value(json_object_get(sc, "name"))) &&
                !buf_addc(&q, '.') &&
                !buf_add_ident(&q, json_string_value(json_object_get(tb, "name"))) &&
                wh_query_int(w, q.p, -1, &n, &err) == BP_OK)
                json_object_set_new(tb, "rows", json_integer(n));
            buf_free(&q);
        }
    }
}

static enum MHD_Result tables(web_srv *s, const web_req *r)
{
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w)
        return res;
    tree t = {json_array(), NULL, NULL};
    bp_err err = {0};
    bp_status st = t.schemas ? wh_query(w, tables_sql, on_column, &t, &err) : BP_ENOMEM;
    if (st == BP_OK)
        add_counts(w, t.schemas);
    web_close_ro(s, w);
    if (st != BP_OK) {
        json_decref(t.schemas);
        return web_error(r, 500, err.msg[0] ? err.msg : "out of memory");
    }
    return web_json(r, 200, json_pack("{s:o}", "schemas", t.schemas));
}

/* POST /api/query {"sql": "...", "offset": 0, "limit": 100} */
/* Per run: its time and the rows its blocks read and wrote, newest first,
 * for the trend charts. */
static const char trends_sql[] =
    "SELECT r.run_id, r.status, r.\"trigger\", CAST(r.started_at AS VARCHAR) AS started_at, "
    "extract(epoch FROM r.ended_at - r.started_at) AS seconds, b.rows_in, b.rows_out, b.blocks "
    "FROM " META_SCHEMA ".runs r LEFT JOIN (SELECT run_id, sum(rows_in) AS rows_in, "
    "sum(rows_out) AS rows_out, count(*) AS blocks FROM " META_SCHEMA ".block_runs "
    "GROUP BY run_id) b ON b.run_id = r.run_id ORDER BY r.run_id DESC LIMIT 100";

static enum MHD_Result trends(web_srv *s, const web_req *r)
{
    return reply_query(s, r, trends_sql, 0, 100);
}

static const char runs_sql[] =
    "SELECT run_id, pipeline, \"trigger\", status, CAST(started_at AS VARCHAR) AS started_at, "
    "CAST(ended_at AS VARCHAR) AS ended_at, vars FROM " META_SCHEMA ".runs "
    "ORDER BY run_id DESC";

static enum MHD_Result runs(web_srv *s, const web_req *r)
{
    return reply_query(s, r, runs_sql, 0, 200);
}

static enum MHD_Result run_one(web_srv *s, const web_req *r, const char *id_text)
{
    int64_t id;
    const char *slash = strchr(id_text, '/');
    size_t n = slash ? (size_t)(slash - id_text) : strlen(id_text);
    if (!num_parse_i64(id_text, n, &id) || id <= 0 || (slash && strcmp(slash, "/nodes")))
        return web_error(r, 404, "no such run");
    char sql[600];
    if (slash) { /* its dbt blocks' nodes */
        snprintf(sql, sizeof sql,
                 "SELECT block, unique_id, status, CAST(started_at AS VARCHAR) AS started_at, "
                 "CAST(ended_at AS VARCHAR) AS ended_at, seconds, message FROM " META_SCHEMA
                 ".node_runs WHERE run_id = %lld ORDER BY started_at NULLS LAST, unique_id",
                 (long long)id);
        return reply_query(s, r, sql, 0, 10000);
    }
    snprintf(sql, sizeof sql,
             "SELECT block, type, status, attempt, CAST(started_at AS VARCHAR) AS started_at, "
             "CAST(ended_at AS VARCHAR) AS ended_at, rows_in, rows_out, error, log FROM "
             META_SCHEMA ".block_runs WHERE run_id = %lld ORDER BY started_at NULLS LAST, block",
             (long long)id);
    return reply_query(s, r, sql, 0, 1000);
}

static void *web_run(void *arg)
{
    web_srv *s = arg;
    bool duck = is_duckdb(s);
    /* DuckDB: readers move to a snapshot, then the run takes the file;
     * PostgreSQL readers go on reading committed data meanwhile */
    if (duck) {
        if (!s->o->no_snapshot)
            web_snapshot_take(s);
        pthread_rwlock_wrlock(&s->wh_lock);
        pthread_mutex_lock(&s->mu);
        drop_shared(s); /* no users: every request holds wh_lock shared */
        pthread_mutex_unlock(&s->mu);
    }
    run_request cr = s->o->run;
    cr.view = VIEW_QUIET;
    cr.stop = &s->run_stop;
    cr.on_event = web_live_event;
    cr.event_ctx = s;
    if (s->run_select[0])
        cr.select = s->run_select;
    if (s->run_from[0])
        cr.from = s->run_from;
    if (s->run_full)
        cr.full_refresh = true;
    /* the run's messages (a failed block, a lock note) say which run */
    char scope[64];
    snprintf(scope, sizeof scope, "%s run", s->trigger);
    bp_log_scope(scope);
    orch_result res;
    bp_err err = {0};
    bp_status st = orch_run_request(&cr, s->trigger, &res, &err);
    if (duck) {
        pthread_rwlock_unlock(&s->wh_lock);
        web_snapshot_drop(s);
    }
    pthread_mutex_lock(&s->mu);
    s->running = false;
    s->reader_ready = false; /* the run may have made schemas: grant them */
    s->last_run = st == BP_OK ? res.run_id : -1;
    pthread_mutex_unlock(&s->mu);
    if (st != BP_OK) {
        bp_log(BP_LOG_ERROR, "run failed to start: %s", err.msg);
        pthread_mutex_lock(&s->mu);
        json_decref(s->live);
        s->live = json_pack("{s:s, s:s, s:s}", "status", "not started", "error", err.msg,
                            "trigger", s->trigger);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* Start a run in the background; 0, or 409 when one is going, 500. */
static unsigned launch(web_srv *s, const char *trigger, const char *select, const char *from,
                       bool full_refresh)
{
    pthread_mutex_lock(&s->mu);
    if (s->running) {
        pthread_mutex_unlock(&s->mu);
        return 409;
    }
    if (s->has_thread)
        pthread_join(s->run_thread, NULL);
    s->running = true;
    s->run_stop = 0;
    s->trigger = trigger;
    snprintf(s->run_select, sizeof s->run_select, "%s", select ? select : "");
    snprintf(s->run_from, sizeof s->run_from, "%s", from ? from : "");
    s->run_full = full_refresh;
    s->has_thread = pthread_create(&s->run_thread, NULL, web_run, s) == 0;
    if (!s->has_thread)
        s->running = false;
    bool ok = s->has_thread;
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : 500;
}

/* POST /api/runs {"target": "duckdb"}: Run now. */
static enum MHD_Result start_run(web_srv *s, const web_req *r)
{
    json_error_t je;
    json_t *in = r->n ? json_loadb(r->body, r->n, 0, &je) : NULL;
    const char *target = json_string_value(json_object_get(in, "target"));
    bool other = target && strcmp(target, s->o->run.w.target) != 0;
    /* what to run: blocks (name, name+ with what follows it) or from a block */
    char select[512] = "", from[256] = "";
    const char *sel = json_string_value(json_object_get(in, "select"));
    const char *fr = json_string_value(json_object_get(in, "from"));
    bool full = json_is_true(json_object_get(in, "full_refresh"));
    bool bad = (sel && (strlen(sel) >= sizeof select ||
                        strspn(sel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789_-+, ") != strlen(sel))) ||
               (fr && (strlen(fr) >= sizeof from ||
                       strspn(fr, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_-") != strlen(fr)));
    if (!bad) {
        snprintf(select, sizeof select, "%s", sel ? sel : "");
        snprintf(from, sizeof from, "%s", fr ? fr : "");
    }
    json_decref(in);
    if (bad)
        return web_error(r, 400, "select is block names (name+ adds what follows it), from is "
                                 "one block name");
    if (other)
        return web_error(r, 400, "this server runs the pipeline on its own target only "
                                 "(start `bookpipe serve --target ...` for another)");
    if (!s->o->run.data && !s->o->run.kaggle)
        return web_error(r, 400, "no input data: start `bookpipe serve --data DIR` to run the "
                                 "pipeline from here");
    unsigned rc = launch(s, "web", select, from, full);
    if (rc == 409)
        return web_error(r, 409, "a run started here is still going");
    if (rc)
        return web_error(r, 500, "cannot start a thread for the run");
    return web_json(r, 202, json_pack("{s:b, s:s, s:s, s:s}", "started", 1, "trigger", "web",
                                       "select", select, "from", from));
}

/* ---- the pipeline: its DAG and each block's last status ----------------------------- */

static const char last_sql[] =
    "SELECT block, status, run_id, CAST(started_at AS VARCHAR), CAST(ended_at AS VARCHAR) "
    "FROM (SELECT *, row_number() OVER (PARTITION BY block ORDER BY run_id DESC, attempt "
    "DESC) AS rn FROM " META_SCHEMA ".block_runs) AS b WHERE rn = 1";

static int on_last(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    json_t *last = ctx;
    if (vals && nc >= 5 && vals[0])
        json_object_set_new(last, vals[0],
                            json_pack("{s:s?, s:s?, s:s?, s:s?}", "status", vals[1], "run_id",
                                      vals[2], "started_at", vals[3], "ended_at", vals[4]));
    return 0;
}

/* Each block's last run, {} when there is no history yet or the warehouse
 * is busy: the DAG is drawn all the same. */
static json_t *last_status(web_srv *s)
{
    json_t *last = json_object();
    if (!last || pthread_rwlock_tryrdlock(&s->wh_lock) != 0)
        return last;
    wh *w = NULL;
    bp_err err = {0};
    /* no history yet (or no warehouse): {} */
    if (wh_spec_open(&s->o->run.w, WH_OPEN_READ, &w, &err) == BP_OK &&
        wh_query(w, last_sql, on_last, last, &err) != BP_OK)
        json_object_clear(last);
    if (w)
        wh_close(w);
    pthread_rwlock_unlock(&s->wh_lock);
    return last;
}

/* GET /api/pipeline: {name, file, schedule, blocks: [{name, type,
 * upstream, last}]} */
static enum MHD_Result pipeline(web_srv *s, const web_req *r)
{
    char proj[4200], pfile[4400];
    pl_pipeline p;
    bp_err err = {0};
    if (!orch_pipeline_file(&s->o->run, pfile, sizeof pfile, proj, sizeof proj))
        return web_error(r, 404, "no pipeline file (give --pipeline FILE or --project DIR)");
    if (pl_load(pfile, &p, &err) != BP_OK)
        return web_error(r, 500, err.msg);
    json_t *last = last_status(s), *blocks = json_array();
    for (int i = 0; blocks && i < p.n; i++) {
        json_t *up = json_array();
        for (int k = 0; k < p.b[i].nup; k++)
            json_array_append_new(up, json_string(p.b[i].upstream[k]));
        json_array_append_new(blocks,
                              json_pack("{s:s, s:s, s:o, s:O?}", "name", p.b[i].name, "type",
                                        pl_type_name(p.b[i].type), "upstream", up, "last",
                                        json_object_get(last, p.b[i].name)));
    }
    json_t *out = json_pack("{s:s?, s:s, s:s?, s:s, s:o}", "name", p.name, "file", pfile,
                            "schedule", p.schedule, "target", s->o->run.w.target, "blocks",
                            blocks);
    json_decref(last);
    pl_free(&p);
    return web_json(r, 200, out);
}

/* ---- the schedule: runs when the pipeline's cron says ------------------------------------ */

static void *scheduler(void *arg)
{
    web_srv *s = arg;
    while (!orch_stop_requested()) {
        time_t next = cron_next(&s->cron, cron_now());
        pthread_mutex_lock(&s->mu);
        s->next_run = next;
        pthread_mutex_unlock(&s->mu);
        if (next < 0)
            return NULL;
        while (cron_now() < next && !orch_stop_requested())
            usleep(200 * 1000);
        if (orch_stop_requested())
            break;
        pthread_mutex_lock(&s->mu);
        bool paused = s->sched_paused;
        pthread_mutex_unlock(&s->mu);
        if (paused) {
            bp_log(BP_LOG_INFO, "scheduled run skipped: the schedule is paused");
            continue;
        }
        /* a run still going (from here or the schedule) makes this one wait
         * for the next time: runs missed are not replayed */
        if (launch(s, "schedule", NULL, NULL, false) == 409)
            bp_log(BP_LOG_WARN, "scheduled run skipped: a run is still going");
    }
    return NULL;
}

void web_schedule_start(web_srv *s)
{
    char proj[4200], pfile[4400];
    pl_pipeline p;
    bp_err err = {0};
    if (!orch_pipeline_file(&s->o->run, pfile, sizeof pfile, proj, sizeof proj) ||
        pl_load(pfile, &p, &err) != BP_OK)
        return;
    if (p.schedule) {
        s->cron = p.cron;
        snprintf(s->schedule, sizeof s->schedule, "%s", p.schedule);
    }
    pl_free(&p);
    if (!s->schedule[0] || (!s->o->run.data && !s->o->run.kaggle) || s->o->no_schedule)
        return;
    s->sched_started = pthread_create(&s->sched_thread, NULL, scheduler, s) == 0;
}

static enum MHD_Result schedule_state(web_srv *s, const web_req *r);

/* POST /api/schedule {"paused": true|false}: the schedule pauses (runs it
 * would start are skipped) until resumed or serve restarts. */
static enum MHD_Result pause_schedule(web_srv *s, const web_req *r)
{
    json_error_t je;
    json_t *in = json_loadb(r->body, r->n, 0, &je);
    json_t *p = json_object_get(in, "paused");
    bool ok = json_is_boolean(p);
    if (ok) {
        pthread_mutex_lock(&s->mu);
        s->sched_paused = json_is_true(p);
        pthread_mutex_unlock(&s->mu);
    }
    json_decref(in);
    if (!ok)
        return web_error(r, 400, "send JSON {\"paused\": true} or {\"paused\": false}");
    if (!s->sched_started)
        return web_error(r, 409, "nothing is scheduled here (see GET /api/schedule)");
    return schedule_state(s, r);
}

static enum MHD_Result schedule(web_srv *s, const web_req *r)
{
    return r->post ? pause_schedule(s, r) : schedule_state(s, r);
}

static enum MHD_Result schedule_state(web_srv *s, const web_req *r)
{
    pthread_mutex_lock(&s->mu);
    time_t next = s->sched_started ? s->next_run : -1;
    bool paused = s->sched_paused;
    pthread_mutex_unlock(&s->mu);
    char when[64] = "";
    if (next > 0) {
        struct tm tm;
        gmtime_r(&next, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    const char *why = s->sched_started ? "" : !s->schedule[0] ? "the pipeline has no schedule"
                    : s->o->no_schedule ? "--no-schedule" : "no --data to run on";
    return web_json(r, 200, json_pack("{s:s?, s:b, s:s?, s:s, s:b}", "schedule",
                                      s->schedule[0] ? s->schedule : NULL, "enabled",
                                      s->sched_started, "next_run", next > 0 ? when : NULL,
                                      "disabled_because", why, "paused", paused));
}

enum MHD_Result web_route(web_srv *s, const web_req *r)
{
    const char *u = r->url;
    enum MHD_Result res;
    if (web_page(r, &res))
        return res;
    if (!r->post && !strcmp(u, "/api/health"))
        return health(s, r);
    if (!r->post && !strcmp(u, "/api/tables"))
        return tables(s, r);
    if (r->post && !strcmp(u, "/api/query"))
        return web_query(s, r);
    if (r->post && !strcmp(u, "/api/export"))
        return web_export(s, r);
    if (!r->post && !strcmp(u, "/api/tables/stats"))
        return web_table_stats(s, r);
    if (!r->post && !strcmp(u, "/api/live"))
        return web_live(s, r);
    if (!r->post && !strncmp(u, "/api/models", 11))
        return web_models(s, r, u + 11);
    if (!r->post && !strcmp(u, "/api/runs/trends"))
        return trends(s, r);
    if (r->post && !strcmp(u, "/api/runs/cancel"))
        return web_cancel(s, r);
    if (!strcmp(u, "/api/runs"))
        return r->post ? start_run(s, r) : runs(s, r);
    if (!r->post && !strncmp(u, "/api/runs/", 10))
        return run_one(s, r, u + 10);
    if (!r->post && !strcmp(u, "/api/pipeline"))
        return pipeline(s, r);
    if (!strcmp(u, "/api/schedule"))
        return schedule(s, r);
    if (!r->post && !strcmp(u, "/api/dashboards"))
        return web_dashboards(s, r);
    if (!r->post && !strncmp(u, "/api/dashboards/", 16))
        return web_dashboard(s, r, u + 16);
    if (!strcmp(u, "/api/recommend") || !strncmp(u, "/api/books/", 11) ||
        !strncmp(u, "/api/users/", 11) || (!r->post && !strcmp(u, "/api/search")))
        return web_recs(s, r);
    return web_error(r, 404, "no such page or API");
}
