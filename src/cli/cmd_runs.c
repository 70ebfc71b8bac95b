/* cmd_runs.c: `bookpipe runs`, `bookpipe runs show ID`, `bookpipe logs ID BLOCK`:
 * the run history in bookpipe_meta, read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/num.h"
#include "../orch/meta.h"
#include "cli.h"

/* Open the warehouse read-only; when a DuckDB run holds it, say who. */
static int open_history(const char *cmd, const wh_spec *w, wh **out)
{
    bp_err err = {0};
    bp_status st = wh_spec_open(w, WH_OPEN_READ, out, &err);
    if (st == BP_OK) {
        bool ok = false;
        st = wh_exists(*out, META_SCHEMA, "runs", &ok, &err);
        if (st == BP_OK && !ok) {
            wh_close(*out);
            *out = NULL;
            return cli_fail(cmd, BP_EINPUT, "no run history in this warehouse yet (runs are "
                            "recorded by `bookpipe run`)");
        }
    }
    return st == BP_OK ? 0 : cli_open_fail(cmd, w, st, err.msg);
}

static bool parse_id(const char *s, int64_t *out)
{
    return num_parse_i64(s, strlen(s), out) && *out > 0;
}

/* Block counts of run r, for the runs list. */
#define RUN_COUNTS                                                                          \
    "(SELECT count(*) FROM " META_SCHEMA ".block_runs b WHERE b.run_id = r.run_id AND "     \
    "b.status = 'completed') AS completed, "                                                \
    "(SELECT count(*) FROM " META_SCHEMA ".block_runs b WHERE b.run_id = r.run_id AND "     \
    "b.status = 'skipped') AS skipped, "                                                    \
    "(SELECT count(*) FROM " META_SCHEMA ".block_runs b WHERE b.run_id = r.run_id AND "     \
    "b.status IN ('failed', 'upstream_failed')) AS failed "                                 \
    "FROM " META_SCHEMA ".runs r ORDER BY run_id DESC LIMIT %lld"

static const char runs_sql[] =
    "SELECT run_id, status, \"trigger\", strftime(started_at, '%%Y-%%m-%%d %%H:%%M:%%S') AS started, "
    "round(epoch(ended_at) - epoch(started_at), 2) AS seconds, pipeline, " RUN_COUNTS;

/* PostgreSQL spells the time functions differently. */
static const char runs_sql_pg[] =
    "SELECT run_id, status, \"trigger\", to_char(started_at, 'YYYY-MM-DD HH24:MI:SS') AS started, "
    "round(extract(epoch FROM ended_at - started_at)::numeric, 2) AS seconds, pipeline, "
    RUN_COUNTS;

static const char blocks_sql[] =
    "SELECT block, type, status, attempt, round(epoch(ended_at) - epoch(started_at), 2) AS "
    "seconds, rows_in, rows_out, coalesce(error, '') AS error FROM " META_SCHEMA ".block_runs "
    "WHERE run_id = %lld ORDER BY started_at NULLS LAST, block";

static const char blocks_sql_pg[] =
    "SELECT block, type, status, attempt, round(extract(epoch FROM ended_at - started_at)::"
    "numeric, 2) AS seconds, rows_in, rows_out, coalesce(error, '') AS error FROM " META_SCHEMA
    ".block_runs WHERE run_id = %lld ORDER BY started_at NULLS LAST, block";

int cmd_runs(int argc, char **argv)
{
    cli_args a;
    wh_spec w;
    cli_args_init(&a, "runs", argc, argv);
    wh_spec_defaults(&w);
    long long limit = 20;
    bool csv = false;
    const char *show = NULL;
    while (a.i < argc && !a.failed) {
        if (cli_wh_flag(&a, &w))
            continue;
        if (cli_flag(&a, "--limit", true))
            cli_int(&a, 1, 1000000, &limit);
        else if (cli_flag(&a, "--csv", false))
            csv = true;
        else if (!strcmp(argv[a.i], "show") && a.i + 1 < argc && !show)
            show = argv[a.i + 1], a.i += 2;
        else
            return cli_usage_error("runs", "unknown argument '%s'", argv[a.i]);
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    int64_t id = 0;
    if (show && !parse_id(show, &id))
        return cli_usage_error("runs", "runs show wants a run id, not '%s'", show);
    wh *h = NULL;
    int rc = open_history("runs", &w, &h);
    if (rc)
        return rc;
    bool pg = strcmp(w.target, "duckdb") != 0;
    char sql[2048];
    if (show)
        snprintf(sql, sizeof sql, pg ? blocks_sql_pg : blocks_sql, (long long)id);
    else
        snprintf(sql, sizeof sql, pg ? runs_sql_pg : runs_sql, limit);
    rc = cli_print_query(h, sql, csv, 0, "runs");
    wh_close(h);
    return rc;
}

typedef struct {
    bool found;
} log_ctx;

static int print_log(void *ctx, size_t ncols, const wh_col *cols, const char *const *vals)
{
    if (!vals) /* the column names alone, before any row */
        return 0;
    (void)cols;
    log_ctx *l = ctx;
    l->found = true;
    if (ncols >= 2) {
        if (vals[0])
            fputs(vals[0], stdout);
        if (vals[1] && *vals[1])
            printf("error: %s\n", vals[1]);
    }
    return 1;
}

int cmd_logs(int argc, char **argv)
{
    cli_args a;
    wh_spec w;
    cli_args_init(&a, "logs", argc, argv);
    wh_spec_defaults(&w);
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    while (a.i < argc && !a.failed) {
        if (cli_wh_flag(&a, &w))
            continue;
        if (argv[a.i][0] == '-' || npos == 2)
            return cli_usage_error("logs", "unknown argument '%s'", argv[a.i]);
        pos[npos++] = argv[a.i++];
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    int64_t id;
    if (npos != 2 || !parse_id(pos[0], &id))
        return cli_usage_error("logs", "usage: bookpipe logs RUN_ID BLOCK");
    wh *h = NULL;
    int rc = open_history("logs", &w, &h);
    if (rc)
        return rc;
    buf q = {0};
    bp_err err = {0};
    log_ctx l = {false};
    bp_status st = buf_printf(&q, "SELECT log, error FROM " META_SCHEMA ".block_runs WHERE "
                                  "run_id = %lld AND block = ", (long long)id) ||
                           buf_add_sqlstr(&q, pos[1])
                       ? bp_fail(&err, BP_ENOMEM, "out of memory")
                       : wh_query(h, q.p, print_log, &l, &err);
    buf_free(&q);
    wh_close(h);
    if (st != BP_OK)
        return cli_fail("logs", st, err.msg);
    if (!l.found) {
        char msg[700];
        snprintf(msg, sizeof msg, "run %lld has no block named '%s' (`bookpipe runs show %lld` "
                 "lists them)", (long long)id, pos[1], (long long)id);
        return cli_fail("logs", BP_EINPUT, msg);
    }
    return 0;
}
