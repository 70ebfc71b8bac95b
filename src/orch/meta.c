/* meta.c: run history tables and the run lock. */
#include "meta.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/fp.h"
#include "../dbt/dbt.h"

/* Lengths are explicit for Redshift, whose bare VARCHAR is VARCHAR(256);
 * DuckDB and PostgreSQL take them as they are. */
#define TEXT_COL "VARCHAR(65535)"
#define LOG_KEEP 60000 /* bytes of a block's log kept in the history: the end */

static const char *const ddl =
    "CREATE SCHEMA IF NOT EXISTS " META_SCHEMA ";"
    "CREATE TABLE IF NOT EXISTS " META_SCHEMA ".runs (run_id BIGINT NOT NULL, pipeline " TEXT_COL ", "
    "vars " TEXT_COL ", \"trigger\" " TEXT_COL ", status " TEXT_COL ", started_at TIMESTAMP, ended_at TIMESTAMP, "
    "host " TEXT_COL ", pid INTEGER);"
    "CREATE TABLE IF NOT EXISTS " META_SCHEMA ".block_runs (run_id BIGINT NOT NULL, block " TEXT_COL " "
    "NOT NULL, type " TEXT_COL ", status " TEXT_COL ", attempt INTEGER, started_at TIMESTAMP, ended_at "
    "TIMESTAMP, rows_in BIGINT, rows_out BIGINT, fingerprint " TEXT_COL ", log " TEXT_COL ", error " TEXT_COL ");"
    "CREATE TABLE IF NOT EXISTS " META_SCHEMA ".file_checksums (path " TEXT_COL " NOT NULL, size "
    "BIGINT, mtime_ns BIGINT, checksum " TEXT_COL ");"
    "CREATE TABLE IF NOT EXISTS " META_SCHEMA ".node_runs (run_id BIGINT NOT NULL, block " TEXT_COL " "
    "NOT NULL, unique_id " TEXT_COL " NOT NULL, status " TEXT_COL ", started_at TIMESTAMP, ended_at "
    "TIMESTAMP, seconds DOUBLE PRECISION, message " TEXT_COL ")";

static bp_status oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

bp_status meta_init(wh *w, bp_err *err)
{
    bp_status st = wh_exec(w, ddl, err);
    if (st != BP_OK)
        bp_err_prefix(err, "creating the run history (schema " META_SCHEMA ")");
    return st;
}

/* A TIMESTAMP literal in UTC, or NULL. */
static bool add_ts(buf *b, double t)
{
    if (t <= 0)
        return buf_adds(b, "NULL") == 0;
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    char txt[64];
    size_t k = strftime(txt, sizeof txt, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(txt + k, sizeof txt - k, ".%06d", (int)((t - (double)s) * 1e6));
    return buf_adds(b, "TIMESTAMP '") == 0 && buf_adds(b, txt) == 0 && buf_addc(b, '\'') == 0;
}

/* A literal of w's dialect (Redshift doubles backslashes), or NULL. */
static bool add_str(const wh *w, buf *b, const char *s) { return wh_add_literal(w, b, s) == 0; }

/* A log as a literal: its last LOG_KEEP bytes (where the error is), cut at
 * a character boundary. */
static bool add_log(const wh *w, buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n <= LOG_KEEP)
        return add_str(w, b, s);
    const char *t = s + n - LOG_KEEP;
    while ((*t & 0xC0) == 0x80)
        t++;
    buf tmp = {0};
    bool ok = !buf_printf(&tmp, "[... %zu earlier bytes not kept]\n", (size_t)(t - s)) &&
              !buf_adds(&tmp, t) && !buf_addc(&tmp, 0) && add_str(w, b, tmp.p);
    buf_free(&tmp);
    return ok;
}

static bool add_int(buf *b, int64_t v)
{
    return v < 0 ? buf_adds(b, "NULL") == 0 : buf_printf(b, "%lld", (long long)v) == 0;
}

bp_status meta_run_start(wh *w, const char *pipeline, const char *vars_json,
                         const char *trigger, int64_t floor, int64_t *run_id, bp_err *err)
{
    long long last = 0;
    bp_status st = wh_query_int(w, "SELECT max(run_id) FROM " META_SCHEMA ".runs", 0, &last, err);
    if (st != BP_OK)
        return st;
    *run_id = (last > floor ? last : floor) + 1;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    buf q = {0};
    bool ok = buf_printf(&q, "INSERT INTO " META_SCHEMA ".runs VALUES (%lld, ",
                         (long long)*run_id) == 0 &&
              add_str(w, &q, pipeline) && buf_adds(&q, ", ") == 0 && add_str(w, &q, vars_json) &&
              buf_adds(&q, ", ") == 0 && add_str(w, &q, trigger) &&
              buf_adds(&q, ", 'running', ") == 0 &&
              add_ts(&q, (double)ts.tv_sec + ts.tv_nsec / 1e9) &&
              buf_adds(&q, ", NULL, ") == 0 && add_str(w, &q, host) &&
              buf_printf(&q, ", %d)", (int)getpid()) == 0;
    st = ok ? wh_exec(w, q.p, err) : oom(err);
    buf_free(&q);
    return st;
}

bp_status meta_run_end(wh *w, int64_t run_id, const char *status, bp_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    buf q = {0};
    bool ok = buf_adds(&q, "UPDATE " META_SCHEMA ".runs SET status = ") == 0 &&
              add_str(w, &q, status) && buf_adds(&q, ", ended_at = ") == 0 &&
              add_ts(&q, (double)ts.tv_sec + ts.tv_nsec / 1e9) &&
              buf_printf(&q, " WHERE run_id = %lld", (long long)run_id) == 0;
    bp_status st = ok ? wh_exec(w, q.p, err) : oom(err);
    buf_free(&q);
    return st;
}

bool meta_block_sql(const wh *w, buf *q, int64_t run_id, const meta_block *b, bool insert)
{
    if (insert)
        return buf_printf(q, "INSERT INTO " META_SCHEMA ".block_runs VALUES (%lld, ",
                          (long long)run_id) == 0 &&
               add_str(w, q, b->block) && buf_adds(q, ", ") == 0 && add_str(w, q, b->type) &&
               buf_adds(q, ", ") == 0 && add_str(w, q, b->status) &&
               buf_printf(q, ", %d, ", b->attempt) == 0 && add_ts(q, b->started) &&
               buf_adds(q, ", ") == 0 && add_ts(q, b->ended) && buf_adds(q, ", ") == 0 &&
               add_int(q, b->rows_in) && buf_adds(q, ", ") == 0 && add_int(q, b->rows_out) &&
               buf_adds(q, ", ") == 0 && add_str(w, q, b->fingerprint) &&
               buf_adds(q, ", ") == 0 && add_log(w, q, b->log) && buf_adds(q, ", ") == 0 &&
               add_str(w, q, b->error) && buf_adds(q, ");\n") == 0;
    return buf_adds(q, "UPDATE " META_SCHEMA ".block_runs SET status = ") == 0 &&
           add_str(w, q, b->status) &&
           buf_printf(q, ", attempt = %d, started_at = ", b->attempt) == 0 &&
           add_ts(q, b->started) && buf_adds(q, ", ended_at = ") == 0 && add_ts(q, b->ended) &&
           buf_adds(q, ", rows_in = ") == 0 && add_int(q, b->rows_in) &&
           buf_adds(q, ", rows_out = ") == 0 && add_int(q, b->rows_out) &&
           buf_adds(q, ", fingerprint = ") == 0 && add_str(w, q, b->fingerprint) &&
           buf_adds(q, ", log = ") == 0 && add_log(w, q, b->log) &&
           buf_adds(q, ", error = ") == 0 && add_str(w, q, b->error) &&
           buf_printf(q, " WHERE run_id = %lld AND block = ", (long long)run_id) == 0 &&
           add_str(w, q, b->block) && buf_adds(q, ";\n") == 0;
}

typedef struct {
    char *out;
} one_str;

static int take_str(void *ctx, size_t ncols, const wh_col *cols, const char *const *vals)
{
    if (!vals) /* the column names alone, before any row */
        return 0;
    (void)cols;
    one_str *o = ctx;
    if (ncols && vals[0])
        snprintf(o->out, 17, "%s", vals[0]);
    return 1;
}

bp_status meta_last_fp(wh *w, const char *block, char out[17], bp_err *err)
{
    out[0] = 0;
    buf q = {0};
    bool ok = buf_adds(&q, "SELECT fingerprint FROM " META_SCHEMA ".block_runs WHERE block = ") ==
                  0 && add_str(w, &q, block) &&
              buf_adds(&q, " AND status = 'completed' AND fingerprint IS NOT NULL "
                           "ORDER BY run_id DESC LIMIT 1") == 0;
    one_str o = {out};
    bp_status st = ok ? wh_query(w, q.p, take_str, &o, err) : oom(err);
    buf_free(&q);
    return st;
}

bp_status meta_cached_sum(wh *w, const char *path, int64_t size, int64_t mtime_ns,
                          char out[17], bp_err *err)
{
    out[0] = 0;
    buf q = {0};
    bool ok = buf_adds(&q, "SELECT checksum FROM " META_SCHEMA ".file_checksums WHERE path = ") ==
                  0 && add_str(w, &q, path) &&
              buf_printf(&q, " AND size = %lld AND mtime_ns = %lld LIMIT 1", (long long)size,
                         (long long)mtime_ns) == 0;
    one_str o = {out};
    bp_status st = ok ? wh_query(w, q.p, take_str, &o, err) : oom(err);
    buf_free(&q);
    return st;
}

bp_status meta_cache_sum(wh *w, const char *path, int64_t size, int64_t mtime_ns,
                         const char *sum, bp_err *err)
{
    buf q = {0};
    bool ok = buf_adds(&q, "DELETE FROM " META_SCHEMA ".file_checksums WHERE path = ") == 0 &&
              add_str(w, &q, path) && buf_adds(&q, "; INSERT INTO " META_SCHEMA
                                                 ".file_checksums VALUES (") == 0 &&
              add_str(w, &q, path) &&
              buf_printf(&q, ", %lld, %lld, ", (long long)size, (long long)mtime_ns) == 0 &&
              add_str(w, &q, sum) && buf_adds(&q, ")") == 0;
    bp_status st = ok ? wh_exec(w, q.p, err) : oom(err);
    buf_free(&q);
    return st;
}

/* ---- lock ---------------------------------------------------------------------------- */

static void holder_text(const char *content, char *out, size_t n)
{
    long pid = 0, run = 0;
    char host[256] = "?", since[64] = "?";
    if (sscanf(content, "pid=%ld host=%255s run=%ld since=%63s", &pid, host, &run, since) >= 2)
        snprintf(out, n, "pid %ld on host %s (run %ld, since %s)", pid, host, run, since);
    else
        snprintf(out, n, "an unknown process");
}

static void read_all(int fd, char *out, size_t n)
{
    ssize_t k = pread(fd, out, n - 1, 0);
    out[k > 0 ? k : 0] = 0;
}

void meta_lock_holder(const char *warehouse, char *out, size_t n)
{
    out[0] = 0;
    char path[4200], content[512];
    snprintf(path, sizeof path, "%s.lock", warehouse);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) { /* held: somebody alive */
        read_all(fd, content, sizeof content);
        holder_text(content, out, n);
    } else
        flock(fd, LOCK_UN);
    close(fd);
}

static bp_status lock_file(meta_lock *l, const char *warehouse, int64_t run_hint, char *note,
                           size_t note_n, bp_err *err)
{
    snprintf(l->path, sizeof l->path, "%s.lock", warehouse);
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0)
        return bp_fail(err, BP_EWH, "cannot create the run lock %s: %s", l->path,
                       strerror(errno));
    char content[512];
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        read_all(l->fd, content, sizeof content);
        char who[400];
        holder_text(content, who, sizeof who);
        close(l->fd);
        l->fd = -1;
        return bp_fail(err, BP_EWH, "another run is using warehouse %s: %s; one run at a time "
                       "per warehouse: wait for it to finish (`bookpipe runs` shows it after)",
                       warehouse, who);
    }
    /* the lock is ours; leftover text means its holder died without releasing */
    read_all(l->fd, content, sizeof content);
    if (content[0]) {
        char who[400];
        holder_text(content, who, sizeof who);
        snprintf(note, note_n, "took over a stale run lock left by %s: that process is gone",
                 who);
    }
    char host[256] = "", since[64];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int k = snprintf(content, sizeof content, "pid=%d host=%s run=%lld since=%s\n", (int)getpid(),
                     host[0] ? host : "?", (long long)run_hint, since);
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, content, (size_t)k, 0) != k) {
        bp_status st = bp_fail(err, BP_EWH, "cannot write the run lock %s: %s", l->path,
                               strerror(errno));
        meta_lock_release(l);
        return st;
    }
    return BP_OK;
}

typedef struct {
    char *out;
    size_t n;
} holder_ctx;

static int take_holder(void *ctx, size_t ncols, const wh_col *cols, const char *const *vals)
{
    if (!vals) /* the column names alone, before any row */
        return 0;
    (void)cols;
    holder_ctx *h = ctx;
    if (ncols >= 2)
        snprintf(h->out, h->n, "%s (connected since %s)", vals[0] ? vals[0] : "?",
                 vals[1] ? vals[1] : "?");
    return 1;
}

/* PostgreSQL: a session-level advisory lock dies with its session, so a
 * crashed run never leaves it behind; application_name names the holder. */
static bp_status lock_pg(meta_lock *l, const char *schema, wh *conn, bp_err *err)
{
    fp_state s;
    fp_init(&s);
    fp_adds(&s, "bookpipe run lock");
    fp_adds(&s, schema);
    long long key = (long long)(fp_final(&s) & 0x7FFFFFFFFFFFFFFFULL);
    char host[200] = "";
    gethostname(host, sizeof host - 1);
    char sql[600];
    snprintf(sql, sizeof sql, "SET application_name = 'bookpipe pid %d on host %.100s'",
             (int)getpid(), host);
    for (char *c = sql + 27; *c; c++) /* keep the host name from closing the literal */
        if (*c == '\'' && c[1])
            *c = '_';
    bp_status st = wh_exec(conn, sql, err);
    if (st != BP_OK)
        return st;
    snprintf(sql, sizeof sql, "SELECT CASE WHEN pg_try_advisory_lock(%lld) THEN 1 ELSE 0 END",
             key);
    long long got = 0;
    if ((st = wh_query_int(conn, sql, 0, &got, err)) != BP_OK)
        return st;
    if (got == 1) {
        l->pg = conn;
        return BP_OK;
    }
    char who[400] = "another session";
    holder_ctx h = {who, sizeof who};
    snprintf(sql, sizeof sql,
             "SELECT a.application_name, a.backend_start::text FROM pg_locks l JOIN "
             "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
             "AND ((l.classid::bigint << 32) | l.objid::bigint) = %lld LIMIT 1", key);
    bp_err ignore;
    if (wh_query(conn, sql, take_holder, &h, &ignore) != BP_OK)
        snprintf(who, sizeof who, "another session (its name could not be read)");
    return bp_fail(err, BP_EWH, "another run is using schema %s on this PostgreSQL server: %s; "
                   "one run at a time per warehouse: wait for it to finish", schema, who);
}

bp_status meta_lock_take(meta_lock *l, wh_lock_kind kind, const char *path,
                         const char *schema, wh *conn, int64_t run_hint, char *note,
                         size_t note_n, bp_err *err)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    note[0] = 0;
    if (kind != WH_LOCK_SERVER)
        return lock_file(l, path, run_hint, note, note_n, err);
    return lock_pg(l, schema, conn, err);
}

void meta_lock_release(meta_lock *l)
{
    if (l->fd >= 0) {
        /* empty means released cleanly; text left behind marks a crash */
        if (ftruncate(l->fd, 0) != 0) {
            /* nothing better to do: the flock still goes with the close */
        }
        close(l->fd);
        l->fd = -1;
    }
    if (l->pg) {
        bp_err ignore;
        if (wh_exec(l->pg, "SELECT pg_advisory_unlock_all()", &ignore) != BP_OK) {
            /* the lock goes with the session too, which the caller closes */
        }
        l->pg = NULL;
    }
}

bp_status meta_forget_fingerprints(wh *w, bp_err *err)
{
    bool exists;
    bp_status st = wh_exists(w, META_SCHEMA, "block_runs", &exists, err);
    if (st != BP_OK || !exists)
        return st;
    st = wh_exec(w, "UPDATE " META_SCHEMA ".block_runs SET fingerprint = NULL WHERE "
                    "fingerprint IS NOT NULL AND type <> 'extract'", err);
    if (st != BP_OK)
        bp_err_prefix(err, "marking the pipeline's blocks out of date");
    return st;
}

bp_status meta_forget_fingerprints_cb(wh *w, void *ctx, bp_err *err)
{
    (void)ctx;
    return meta_forget_fingerprints(w, err);
}

bp_status meta_mark_dead(wh *w, bp_err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    buf q = {0};
    bool ok = !buf_adds(&q, "UPDATE " META_SCHEMA ".block_runs SET status = 'killed', "
                            "error = coalesce(error, 'the run was killed or its machine "
                            "stopped') WHERE status IN ('running', 'queued') AND run_id IN "
                            "(SELECT run_id FROM " META_SCHEMA ".runs WHERE status = "
                            "'running'); UPDATE " META_SCHEMA ".runs SET status = 'killed', "
                            "ended_at = ") &&
              add_ts(&q, (double)ts.tv_sec + ts.tv_nsec / 1e9) &&
              !buf_adds(&q, " WHERE status = 'running'");
    bp_status st = ok ? wh_exec(w, q.p, err) : oom(err);
    buf_free(&q);
    if (st != BP_OK)
        bp_err_prefix(err, "marking runs that died");
    return st;
}

/* One dbt node's result as a VALUES row. */
static bool node_row(const wh *w, buf *q, int64_t run_id, const char *block, json_t *x)
{
    json_t *exec = dbt_result_execute(x);
    const char *from = json_string_value(json_object_get(exec, "started_at"));
    const char *to = json_string_value(json_object_get(exec, "completed_at"));
    const char *msg = json_string_value(json_object_get(x, "message"));
    char cut[2001];
    snprintf(cut, sizeof cut, "%s", msg ? msg : "");
    bool ok = buf_printf(q, "(%lld, ", (long long)run_id) == 0 && add_str(w, q, block) &&
              buf_adds(q, ", ") == 0 &&
              add_str(w, q, json_string_value(json_object_get(x, "unique_id"))) &&
              buf_adds(q, ", ") == 0 &&
              add_str(w, q, json_string_value(json_object_get(x, "status"))) &&
              buf_adds(q, ", CAST(") == 0 && (from ? add_str(w, q, from) : !buf_adds(q, "NULL")) &&
              buf_adds(q, " AS TIMESTAMP), CAST(") == 0 &&
              (to ? add_str(w, q, to) : !buf_adds(q, "NULL")) &&
              buf_printf(q, " AS TIMESTAMP), %.6f, ",
                         json_real_value(json_object_get(x, "execution_time"))) == 0 &&
              add_str(w, q, cut) && buf_addc(q, ')') == 0;
    return ok;
}

bp_status meta_node_runs(wh *w, int64_t run_id, const char *block, const char *run_results,
                         bp_err *err)
{
    json_error_t je;
    json_t *rr = json_load_file(run_results, 0, &je);
    if (!rr)
        return bp_fail(err, BP_EIO, "%s: %s", run_results, je.text);
    buf q = {0};
    bool ok = buf_adds(&q, "INSERT INTO " META_SCHEMA ".node_runs VALUES ") == 0;
    size_t i, n = 0;
    json_t *x;
    json_array_foreach(json_object_get(rr, "results"), i, x)
        if (ok && json_string_value(json_object_get(x, "unique_id")))
            ok = (n++ == 0 || buf_adds(&q, ", ") == 0) && node_row(w, &q, run_id, block, x);
    json_decref(rr);
    bp_status st = !ok ? oom(err) : n ? wh_exec(w, q.p, err) : BP_OK;
    buf_free(&q);
    return st;
}
