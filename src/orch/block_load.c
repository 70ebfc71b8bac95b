/* block_load.c: the load block: the stage becomes the warehouse's tables, in one transaction (or, for a target that loads from the lake, its plan: redshift.c). */
#include "block_int.h"

#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../lake/s3.h"
#include "meta.h"
#include "redshift.h"

/* Append the staged rows of quarantine or load_audit to the live table,
 * replacing rows of the same run (a load repeated without a new clean). */
static bool add_history(buf *q, const orun *r, const char *t)
{
    return buf_adds(q, "DELETE FROM ") == 0 && blk_add_live(q, r, t) &&
           buf_adds(q, " WHERE run_id IN (SELECT run_id FROM ") == 0 &&
           blk_add_staged(q, r, "load_audit") && buf_adds(q, "); INSERT INTO ") == 0 &&
           blk_add_live(q, r, t) && buf_adds(q, " SELECT * FROM ") == 0 && blk_add_staged(q, r, t) &&
           buf_adds(q, ";\n") == 0;
}

static bp_status count_rows(wh *w, const orun *r, const char *t, int64_t *out, bp_err *err)
{
    buf q = {0};
    long long v = 0;
    bp_status st = buf_adds(&q, "SELECT count(*) FROM ") || !blk_add_staged(&q, r, t)
                       ? blk_oom(err)
                       : wh_query_int(w, q.p, 0, &v, err);
    buf_free(&q);
    *out += v;
    return st;
}

/* Redshift: COPY from the run's folder in the S3 lake (redshift.c). */
static bp_status load_redshift(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    rs_opts o = {r->o->schema, r->stage_schema, r->o->lake, r->o->iam_role, 0, rs_emulating()};
    bp_status cs = rs_check_opts(o.lake, o.iam_role, err);
    if (cs != BP_OK)
        return cs;
    if (o.emulate)
        fprintf(c->log, "  emulating Redshift on PostgreSQL (BOOKPIPE_REDSHIFT_EMULATE): the S3 "
                "COPY is replaced by inserts of the same rows\n");
    wh *stage = NULL;
    bp_status st = blk_open_stage(r, true, &stage, err);
    long long run = 0;
    buf q = {0};
    if (st == BP_OK) {
        if (buf_adds(&q, "SELECT max(run_id) FROM ") || !blk_add_staged(&q, r, "load_audit"))
            st = blk_oom(err);
        else
            st = wh_query_int(stage, q.p, 0, &run, err);
    }
    buf_free(&q);
    if (st == BP_OK) {
        o.run_id = run;
        int64_t rows = 0;
        st = rs_load(c->conn, stage, &o, c->log, &c->k->stop, &rows, err);
        c->k->rows_in = c->k->rows_out = rows;
    }
    if (stage)
        wh_close(stage);
    return st;
}

/* One table: DuckDB renames the staged table into place (the data is not
 * copied); PostgreSQL truncates and refills (views on it stay valid). */
static bool add_swap(buf *q, const orun *r, const char *t, bool rename)
{
    if (rename)
        return buf_adds(q, "DROP TABLE IF EXISTS ") == 0 && blk_add_live(q, r, t) &&
               buf_adds(q, "; ALTER TABLE ") == 0 && blk_add_staged(q, r, t) &&
               buf_printf(q, " RENAME TO \"%s\";\n", t) == 0;
    return buf_adds(q, "INSERT INTO ") == 0 && blk_add_live(q, r, t) &&
           buf_adds(q, " SELECT * FROM ") == 0 && blk_add_staged(q, r, t) && buf_adds(q, ";\n") == 0;
}

/* A refilled table's key gets a unique index, dropped before the refill
 * and built after it (one build is cheaper than 270 k index inserts): the
 * planner then knows that a left join to books or users on its key adds
 * no rows and leaves it out where the marts do not read the columns
 * (PostgreSQL at scale 1: the 15 models 7.5 s -> 5.8 s), and a key the
 * cleaning let through twice fails the load instead of doubling a mart.
 * Ratings get none: the marts aggregate it whole. */
static const char *const blk_keys[SRC_NTABLES] = {"isbn", "user_id", NULL};

static bool add_key_index(buf *q, const orun *r, const char *t, const char *key, bool create)
{
    const char *live = r->o->schema;
    if (!create)
        return buf_adds(q, "DROP INDEX IF EXISTS ") == 0 && buf_add_ident(q, live) == 0 &&
               buf_printf(q, ".\"bookpipe_%s_key\";\n", t) == 0;
    return buf_printf(q, "CREATE UNIQUE INDEX \"bookpipe_%s_key\" ON ", t) == 0 &&
           blk_add_live(q, r, t) && buf_printf(q, " (\"%s\");\n", key) == 0;
}

/* The planner's statistics of the new rows, where the warehouse keeps
 * none by itself (wh_analyze): a server planning the marts without them
 * joins blind (PostgreSQL at scale 1: the models 3.2-3.4 s without, 2.5-2.6 s
 * with). A failure here is a note: the load stands. */
static void analyze(blk_ctx *c, const char *live)
{
    for (int t = 0; t < SRC_NTABLES; t++) {
        bp_err e = {0};
        if (wh_analyze(c->conn, live, blk_tables[t], &e) != BP_OK)
            fprintf(c->log, "  (statistics of %s.%s not refreshed: %s)\n", live, blk_tables[t],
                    e.msg);
    }
}

bp_status blk_load_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    if (blk_from_lake(r))
        return load_redshift(c, err);
    const char *live = r->o->schema;
    bool ok = false, rename = r->wops->load == WH_LOAD_RENAME;
    bp_status st = blk_is_staged(c, &ok, err);
    if (st == BP_OK && !ok && rename && blk_load_outputs_ok(c)) {
        fprintf(c->log, "  nothing staged: the last cleaned run is already in %s\n", live);
        return BP_OK;
    }
    if (st == BP_OK && !ok)
        return bp_fail(err, BP_EINPUT, "nothing staged in schema %s: run the clean block first "
                       "(`bookpipe run --from clean`)", r->stage_schema);
    int64_t rows = 0;
    for (int t = 0; st == BP_OK && t < SRC_NTABLES; t++)
        st = count_rows(c->conn, r, blk_tables[t], &rows, err);
    if (st != BP_OK)
        return st;
    c->k->rows_in = rows;
    buf q = {0};
    if ((st = wh_begin(c->conn, err)) != BP_OK)
        return st;
    if (buf_adds(&q, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&q, live)) {
        st = blk_oom(err);
        goto fail;
    }
    if ((st = wh_exec(c->conn, q.p, err)) != BP_OK)
        goto fail;
    for (int t = 0; t < SRC_NTABLES; t++) {
        buf_reset(&q);
        if (!rename && (st = wh_replace_table(c->conn, live,
                                                         clean_table_def((src_table)t), err)) !=
                           BP_OK)
            goto fail;
        const char *key = rename ? NULL : blk_keys[t];
        if ((key && !add_key_index(&q, r, blk_tables[t], key, false)) ||
            !add_swap(&q, r, blk_tables[t], rename) ||
            (key && !add_key_index(&q, r, blk_tables[t], key, true))) {
            st = blk_oom(err);
            goto fail;
        }
        if (c->k->stop) {
            st = bp_fail(err, BP_EINTR, "interrupted; the warehouse is unchanged");
            goto fail;
        }
        if ((st = wh_exec(c->conn, q.p, err)) != BP_OK)
            goto fail;
        fprintf(c->log, "  %s.%s %s from the stage\n", live, blk_tables[t],
                rename ? "renamed into place" : "refilled");
    }
    buf_reset(&q);
    if ((st = wh_create_table(c->conn, live, &clean_quarantine_def, false, err)) != BP_OK ||
        (st = wh_create_table(c->conn, live, &clean_audit_def, false, err)) != BP_OK)
        goto fail;
    bool built = add_history(&q, r, "quarantine") && add_history(&q, r, "load_audit");
    /* a DuckDB stage is used up by the renames; its history tables go too */
    if (built && rename)
        built = buf_adds(&q, "DROP TABLE ") == 0 && blk_add_staged(&q, r, "quarantine") &&
                buf_adds(&q, "; DROP TABLE ") == 0 && blk_add_staged(&q, r, "load_audit");
    if (!built) {
        st = blk_oom(err);
        goto fail;
    }
    if ((st = wh_exec(c->conn, q.p, err)) != BP_OK || (st = wh_commit(c->conn, err)) != BP_OK)
        goto fail;
    buf_free(&q);
    c->k->rows_out = rows;
    fprintf(c->log, "  committed: %lld rows in %s.books, users, ratings (+ quarantine, "
            "load_audit)\n", (long long)rows, live);
    analyze(c, live);
    return BP_OK;
fail:
    wh_rollback(c->conn);
    buf_free(&q);
    return st;
}

bool blk_load_outputs_ok(blk_ctx *c)
{
    for (int t = 0; t < SRC_NTABLES; t++) {
        bool ok = false;
        bp_err e;
        if (wh_exists(c->conn, c->run->o->schema, blk_tables[t], &ok, &e) != BP_OK || !ok)
            return false;
    }
    return true;
}
