/* blocks.c: what the block types share (the stage, the warehouse's
 * identity in fingerprints) and the dispatch to each type's file:
 * block_extract.c, block_clean.c, block_load.c, block_lake.c, block_dbt.c,
 * block_shell.c. */
#include "block_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/buf.h"


const char *const blk_tables[SRC_NTABLES] = {"books", "users", "ratings"};

bp_status blk_oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

/* A warehouse file this process opens (DuckDB): it stages and writes the
 * lake itself; others stage into a local DuckDB copy for the lake */
bool blk_embedded(const orun *r) { return r->wops->embedded; }
/* The stage stays local and the load comes from the S3 lake (Redshift) */
bool blk_from_lake(const orun *r) { return r->wops->load == WH_LOAD_FROM_LAKE; }

/* The local DuckDB stage file of a PostgreSQL or Redshift run. */
bp_status blk_open_stage(const orun *r, bool read_only, wh **out, bp_err *err)
{
    wh_config cfg = {.target = "duckdb", .path = r->stage_file, .read_only = read_only,
                     .memory_limit = r->load_memory};
    bp_status st = wh_open(&cfg, out, err);
    if (st != BP_OK)
        bp_err_prefix(err, "opening the stage copy %s (run the clean block again)", r->stage_file);
    return st;
}

/* Where the data is: the warehouse's identity (never its password: a DSN
 * only goes into the hash). */
void blk_add_warehouse(fp_state *s, const orun *r)
{
    fp_adds(s, r->o->target);
    fp_adds(s, blk_embedded(r) ? r->o->warehouse : r->o->dsn);
    fp_adds(s, r->o->schema);
}

/* ---- load: the stage becomes the warehouse's blk_tables, in one transaction -------------- */

/* The staged copy of table t: "<schema>_stage"."t" or "<schema>"."_stage_t". */
bool blk_add_staged(buf *q, const orun *r, const char *t)
{
    return buf_add_ident(q, r->stage_schema) == 0 && buf_addc(q, '.') == 0 &&
           buf_printf(q, "\"%s%s\"", r->stage_prefix, t) == 0;
}

bool blk_add_live(buf *q, const orun *r, const char *t)
{
    return buf_add_ident(q, r->o->schema) == 0 && buf_printf(q, ".\"%s\"", t) == 0;
}

bp_status blk_is_staged(blk_ctx *c, bool *ok, bp_err *err)
{
    char name[128];
    snprintf(name, sizeof name, "%sload_audit", c->run->stage_prefix);
    if (!blk_from_lake(c->run))
        return wh_exists(c->conn, c->run->stage_schema, name, ok, err);
    struct stat sb;
    *ok = false;
    if (stat(c->run->stage_file, &sb) != 0)
        return BP_OK;
    wh *w;
    bp_status st = blk_open_stage(c->run, true, &w, err);
    if (st == BP_OK) {
        st = wh_exists(w, c->run->stage_schema, name, ok, err);
        wh_close(w);
    }
    return st;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

bp_status blk_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    orun *r = c->run;
    switch (c->k->b->type) {
    case BT_EXTRACT:
        return blk_extract_inputs(c, s, err);
    case BT_CLEAN:
        blk_add_warehouse(s, r);
        fp_add(s, &r->o->clean, sizeof r->o->clean);
        return BP_OK;
    case BT_LOAD:
    case BT_RECOMMEND:
        blk_add_warehouse(s, r);
        return BP_OK;
    case BT_LAKE:
        blk_add_warehouse(s, r);
        fp_adds(s, r->o->lake ? r->o->lake : "");
        return BP_OK;
    case BT_DBT:
    case BT_TEST:
        return blk_dbt_inputs(c, s, err);
    default:
        return BP_OK;
    }
}

bool blk_outputs_ok(blk_ctx *c)
{
    switch (c->k->b->type) {
    case BT_LOAD:
        return blk_load_outputs_ok(c);
    case BT_LAKE:
        return blk_lake_outputs_ok(c);
    case BT_RECOMMEND:
        return blk_recommend_outputs_ok(c);
    default:
        return true;
    }
}

/* DuckDB's memory cap is the database's, not a connection's: the loading
 * blocks (bounded by design) run under the load cap, the blocks that query
 * (models, tests, recommendations: joins and sorts that spill) under the
 * model cap (orch.c size_memory). Blocks of the two kinds running at once
 * share whichever was set last. */
static bp_status set_memory(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    pl_type t = c->k->b->type;
    if (!blk_embedded(r))
        return BP_OK;
    const char *cap = t == BT_CLEAN || t == BT_LAKE || t == BT_LOAD ? r->load_memory
                      : t == BT_DBT || t == BT_TEST || t == BT_RECOMMEND ? r->model_memory
                                                                        : NULL;
    if (!cap)
        return BP_OK;
    buf q = {0};
    bp_status st = buf_adds(&q, "SET memory_limit = ") || buf_add_sqlstr(&q, cap)
                       ? blk_oom(err) : wh_exec(c->conn, q.p, err);
    buf_free(&q);
    return st;
}

bp_status blk_exec(blk_ctx *c, bp_err *err)
{
    bp_status st = set_memory(c, err);
    if (st != BP_OK)
        return st;
    switch (c->k->b->type) {
    case BT_EXTRACT:
        return BP_OK; /* its work, finding and checksumming the files, was its fingerprint */
    case BT_CLEAN:
        return blk_clean_exec(c, err);
    case BT_LOAD:
        return blk_load_exec(c, err);
    case BT_LAKE:
        return blk_lake_exec(c, err);
    case BT_DBT:
    case BT_TEST:
        return blk_dbt_exec(c, err);
    case BT_SHELL:
        return blk_shell_exec(c, err);
    case BT_RECOMMEND:
        return blk_recommend_exec(c, err);
    default:
        return BP_OK;
    }
}
