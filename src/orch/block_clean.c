/* block_clean.c: the clean block: read, clean and stage the tables. */
#include "block_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/fs.h"
#include "../ingest/ingest.h"

/* Did clean read the files extract checksummed? A file that changed in
 * between (a download still being written, say) is refused: its rows
 * would not be the ones the fingerprint speaks for. */
static bp_status same_as_extracted(const orun *r, const ingest_report *rep, bp_err *err)
{
    for (int t = 0; t < SRC_NTABLES; t++) {
        const src_seen *got = &rep->seen[t];
        for (int i = 0; i < r->ninputs; i++) {
            const src_seen *in = &r->inputs[i];
            if (strcmp(in->path, got->path) != 0)
                continue;
            bool same = in->size == got->size && in->mtime_ns == got->mtime_ns &&
                        (!got->sum[0] || !strcmp(in->sum, got->sum));
            if (!same)
                return bp_fail(err, BP_EINPUT, "%s changed after the extract block checksummed "
                               "it (%lld bytes then, %lld now): a file still being written? "
                               "Nothing was loaded; run again when it is complete", got->path,
                               (long long)in->size, (long long)got->size);
        }
    }
    return BP_OK;
}

bp_status blk_clean_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    blk *k = c->k;
    src_set set;
    bp_status st = src_discover(r->o->data, &set, err);
    if (st != BP_OK)
        return st;
    struct stat sb;
    k->prog_total = 0;
    k->prog_done = 0;
    k->prog_unit = "bytes";
    for (int t = 0; !set.is_zip && t < SRC_NTABLES; t++)
        if (!set.file[t].gz && stat(set.file[t].name, &sb) == 0)
            k->prog_total += (unsigned long long)sb.st_size;
    ingest_opts io = {0};
    io.data = r->o->data;
    io.schema = r->stage_schema;
    io.table_prefix = r->stage_prefix[0] ? r->stage_prefix : NULL;
    io.clean = r->o->clean;
    io.stop = &k->stop;
    io.run_id = r->run_id;
    io.fresh = true;
    io.bytes_done = &k->prog_done;
    io.live = c->conn; /* the load guards compare with the live tables */
    io.live_schema = r->o->schema;
    /* the state folder: the stage's local DuckDB copy (the lake block
     * reads it) for servers, duplicate keys that do not fit in memory */
    if ((st = fs_mkdir_p(r->state_dir, BP_EIO, "state folder", err)) != BP_OK)
        return st;
    io.spill_dir = r->state_dir;
    if (!blk_embedded(r))
        io.engine_path = r->stage_file;
    ingest_report rep;
    wh *into = c->conn;
    if (blk_from_lake(r)) { /* no COPY FROM STDIN there: the stage stays local */
        io.engine_path = NULL;
        if ((st = blk_open_stage(r, false, &into, err)) != BP_OK)
            return st;
    }
    st = ingest_run(into, &io, &rep, err);
    if (into != c->conn)
        wh_close(into);
    if (st == BP_OK)
        st = same_as_extracted(r, &rep, err);
    if (st != BP_OK)
        return st;
    k->rows_in = k->rows_out = 0;
    for (int t = 0; t < SRC_NTABLES; t++) {
        k->rows_in += (int64_t)rep.st[t].read;
        k->rows_out += (int64_t)rep.st[t].loaded;
    }
    ingest_report_print(c->log, &rep);
    fprintf(c->log, "  staged as %s.%s* (run %lld) in %.2f s\n", r->stage_schema,
            r->stage_prefix, (long long)rep.run_id, rep.t_total);
    return BP_OK;
}

