/* block_lake.c: the lake block: Parquet files of the staged tables. */
#include "block_int.h"

#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../lake/lake.h"
#include "../lake/s3.h"
#include "redshift.h"

bp_status blk_lake_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    const char *root = r->o->lake;
    if (!root || !*root) {
        fprintf(c->log, "  no lake folder (--no-lake): nothing to write\n");
        return BP_OK;
    }
    /* the staged blk_tables; on DuckDB, once the load renamed them, the live
     * ones (the same rows) */
    bool staged = false;
    bp_status st = blk_is_staged(c, &staged, err);
    if (st == BP_OK && !staged && !(blk_embedded(r) && blk_load_outputs_ok(c)))
        return bp_fail(err, BP_EINPUT, "nothing staged in schema %s: run the clean block first "
                       "(`bookpipe run --from clean`)", r->stage_schema);
    if (st != BP_OK)
        return st;
    if (blk_from_lake(r) && !s3_is_url(root) && !rs_emulating())
        return bp_fail(err, BP_EUSAGE, "Redshift loads from S3: give --lake s3://BUCKET/PREFIX");
    const char *schema = staged ? r->stage_schema : r->o->schema;
    const char *prefix = staged && blk_embedded(r) ? r->stage_prefix : "";
    wh *engine = c->conn;
    if (!blk_embedded(r) && (st = blk_open_stage(r, true, &engine, err)) != BP_OK)
        return st;
    /* the run whose rows these are: the local stage knows it for Redshift */
    long long run = 0;
    buf q = {0};
    if (buf_adds(&q, "SELECT max(run_id) FROM ") ||
        !(staged ? blk_add_staged(&q, r, "load_audit") : blk_add_live(&q, r, "load_audit")))
        st = blk_oom(err);
    else
        st = wh_query_int(blk_from_lake(r) ? engine : c->conn, q.p, 0, &run, err);
    buf_free(&q);
    if (st != BP_OK) {
        if (engine != c->conn)
            wh_close(engine);
        return st;
    }
    bool prepared = false;
    if ((st = lake_prepare(root, blk_tables, SRC_NTABLES, run, err)) != BP_OK)
        goto done;
    prepared = true;
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++) {
        if (c->k->stop)
            st = bp_fail(err, BP_EINTR, "interrupted; the lake is unchanged");
        else {
            char source[128];
            snprintf(source, sizeof source, "%s%s", prefix, blk_tables[t]);
            st = lake_export(engine, root, schema, source, blk_tables[t], run, err);
        }
    }
    if (st == BP_OK)
        st = lake_publish(root, blk_tables, SRC_NTABLES, run, err);
    if (st == BP_OK)
        for (int t = 0; t < SRC_NTABLES; t++) {
            char path[4200];
            lake_file_path(path, sizeof path, root, blk_tables[t], run);
            fprintf(c->log, "  wrote %s\n", path);
        }
    if (st == BP_OK && r->o->lake_keep > 0) {
        int gone = 0;
        bp_err gerr = {0};
        /* the run is published; a run left now is removed next time */
        if (lake_gc(root, r->o->lake_keep, &gone, &gerr) != BP_OK)
            fprintf(c->log, "  could not remove old lake runs: %s\n", gerr.msg);
        else if (gone)
            fprintf(c->log, "  removed %d old lake run(s), keeping the last %d (--lake-keep)\n",
                    gone, r->o->lake_keep);
    }
    if (st == BP_OK && s3_is_url(root)) {
        lake_upload u;
        lake_last_upload(&u);
        fprintf(c->log, "  uploaded %d files, %.1f MB in %.2f s (%.1f MB/s; parts of %.0f MB, "
                "%d at once); peak RSS during the upload %.1f MB (%.1f MB before)\n", u.files,
                (double)u.bytes / 1e6, u.seconds,
                u.seconds > 0 ? (double)u.bytes / 1e6 / u.seconds : 0.0,
                (double)u.part_size / (1 << 20), u.parallel, (double)u.peak_kb / 1024,
                (double)u.rss_before_kb / 1024);
    }
done:
    if (st != BP_OK && prepared)
        lake_discard(root, blk_tables, SRC_NTABLES, run);
    if (engine != c->conn)
        wh_close(engine);
    return st;
}

bool blk_lake_outputs_ok(blk_ctx *c)
{
    const char *root = c->run->o->lake;
    if (!root || !*root)
        return true;
    for (int t = 0; t < SRC_NTABLES; t++)
        if (!lake_published(root, blk_tables[t]))
            return false;
    return true;
}
