/* blocks.c: what each block type does, and what its fingerprint covers. */
#include "orch_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/fs.h"
#include "../dbt/dbt.h"
#include "../extract/src.h"
#include "../lake/lake.h"
#include "../lake/s3.h"
#include "redshift.h"
#include "../pipeline/ingest.h"
#include "meta.h"

extern char **environ;

static const char *const tables[SRC_NTABLES] = {"books", "users", "ratings"};

static bp_status oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

/* A warehouse file this process opens (DuckDB): it stages and writes the
 * lake itself; others stage into a local DuckDB copy for the lake */
static bool embedded(const orun *r) { return r->wops->embedded; }
/* The stage stays local and the load comes from the S3 lake (Redshift) */
static bool from_lake(const orun *r) { return r->wops->load == WH_LOAD_FROM_LAKE; }

/* The local DuckDB stage file of a PostgreSQL or Redshift run. */
static bp_status open_stage_file(const orun *r, bool read_only, wh **out, bp_err *err)
{
    wh_config cfg = {.target = "duckdb", .path = r->stage_file, .read_only = read_only,
                     .memory_limit = read_only ? "128MB" : r->o->memory_limit};
    bp_status st = wh_open(&cfg, out, err);
    if (st != BP_OK)
        bp_err_prefix(err, "opening the stage copy %s (run the clean block again)", r->stage_file);
    return st;
}

/* Where the data is: the warehouse's identity (never its password: a DSN
 * only goes into the hash). */
static void add_warehouse(fp_state *s, const orun *r)
{
    fp_adds(s, r->o->target);
    fp_adds(s, embedded(r) ? r->o->warehouse : r->o->dsn);
    fp_adds(s, r->o->schema);
}

/* ---- extract: the input files, checksummed (cached by size and mtime) ------------- */

static bp_status file_sum(blk_ctx *c, const char *path, fp_state *s, bp_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return bp_fail(err, BP_EINPUT, "cannot read %s: %s", path, strerror(errno));
    int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    char sum[17];
    bp_status st = meta_cached_sum(c->conn, path, (int64_t)sb.st_size, mt, sum, err);
    if (st != BP_OK)
        return st;
    const char *how = "unchanged since last checked";
    if (!S_ISREG(sb.st_mode)) {
        /* a pipe or device: reading it here would consume it; it counts as
         * changed on every run */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(sum, sizeof sum, "%08llx%08llx", (unsigned long long)now.tv_sec & 0xFFFFFFFF,
                 (unsigned long long)now.tv_nsec);
        how = "not a regular file: always read";
    } else if (!sum[0]) {
        uint64_t h, n;
        if ((st = fp_file(path, &h, &n, err)) != BP_OK)
            return st;
        fp_hex(h, sum);
        how = "checksummed";
        if ((st = meta_cache_sum(c->conn, path, (int64_t)sb.st_size, mt, sum, err)) != BP_OK)
            return st;
    }
    c->k->prog_done += (unsigned long long)sb.st_size;
    orun *r = c->run;
    if (S_ISREG(sb.st_mode) && r->ninputs < SRC_NTABLES) {
        src_seen *in = &r->inputs[r->ninputs++];
        snprintf(in->path, sizeof in->path, "%s", path);
        in->size = (int64_t)sb.st_size;
        in->mtime_ns = mt;
        snprintf(in->sum, sizeof in->sum, "%s", sum);
    }
    fprintf(c->log, "  %s: %lld bytes, checksum %s (%s)\n", path, (long long)sb.st_size, sum,
            how);
    fp_adds(s, path);
    fp_add(s, &sb.st_size, sizeof sb.st_size);
    fp_adds(s, sum);
    return BP_OK;
}

static bp_status extract_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    const char *data = c->run->o->data;
    if (!data || !*data)
        return bp_fail(err, BP_EINPUT, "no input: give --data with a folder or the Kaggle zip "
                       "(`bookpipe gen --out DIR` makes a dataset)");
    src_set set;
    bp_status st = src_discover(data, &set, err);
    if (st != BP_OK)
        return st;
    fp_adds(s, data);
    c->run->ninputs = 0;
    struct stat sb;
    c->k->prog_unit = "bytes";
    if (set.is_zip) {
        c->k->prog_total = stat(set.root, &sb) == 0 ? (unsigned long long)sb.st_size : 0;
        return file_sum(c, set.root, s, err);
    }
    for (int t = 0; t < SRC_NTABLES; t++)
        if (stat(set.file[t].name, &sb) == 0)
            c->k->prog_total += (unsigned long long)sb.st_size;
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++)
        st = file_sum(c, set.file[t].name, s, err);
    return st;
}

/* ---- clean: read, clean and load the stage tables ------------------------------------ */

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

static bp_status clean_exec(blk_ctx *c, bp_err *err)
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
    if (!embedded(r)) { /* the lake block reads the stage from a local DuckDB copy */
        char dir[4200];
        snprintf(dir, sizeof dir, "%s", r->stage_file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        if (slash && (st = fs_mkdir_p(dir, BP_EIO, "state folder", err)) != BP_OK)
            return st;
        io.engine_path = r->stage_file;
    }
    ingest_report rep;
    wh *into = c->conn;
    if (from_lake(r)) { /* no COPY FROM STDIN there: the stage stays local */
        io.engine_path = NULL;
        if ((st = open_stage_file(r, false, &into, err)) != BP_OK)
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
    fprintf(c->log, "  %-22s %-7s %12s %12s %12s %10s\n", "source", "format", "read", "loaded",
            "quarantined", "repaired");
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *x = &rep.st[t];
        k->rows_in += (int64_t)x->read;
        k->rows_out += (int64_t)x->loaded;
        fprintf(c->log, "  %-22s %-7s %12llu %12llu %12llu %10llu\n", rep.label[t],
                rep.format[t], (unsigned long long)x->read, (unsigned long long)x->loaded,
                (unsigned long long)x->quarantined, (unsigned long long)x->repaired);
    }
    fprintf(c->log, "  staged as %s.%s* (run %lld) in %.2f s\n", r->stage_schema,
            r->stage_prefix, (long long)rep.run_id, rep.t_total);
    return BP_OK;
}

static bool load_outputs_ok(blk_ctx *c);

/* ---- load: the stage becomes the warehouse's tables, in one transaction -------------- */

/* The staged copy of table t: "<schema>_stage"."t" or "<schema>"."_stage_t". */
static bool add_staged(buf *q, const orun *r, const char *t)
{
    return buf_add_ident(q, r->stage_schema) == 0 && buf_addc(q, '.') == 0 &&
           buf_printf(q, "\"%s%s\"", r->stage_prefix, t) == 0;
}

static bool add_live(buf *q, const orun *r, const char *t)
{
    return buf_add_ident(q, r->o->schema) == 0 && buf_printf(q, ".\"%s\"", t) == 0;
}

/* Append the staged rows of quarantine or load_audit to the live table,
 * replacing rows of the same run (a load repeated without a new clean). */
static bool add_history(buf *q, const orun *r, const char *t)
{
    return buf_adds(q, "DELETE FROM ") == 0 && add_live(q, r, t) &&
           buf_adds(q, " WHERE run_id IN (SELECT run_id FROM ") == 0 &&
           add_staged(q, r, "load_audit") && buf_adds(q, "); INSERT INTO ") == 0 &&
           add_live(q, r, t) && buf_adds(q, " SELECT * FROM ") == 0 && add_staged(q, r, t) &&
           buf_adds(q, ";\n") == 0;
}

static bp_status count_rows(wh *w, const orun *r, const char *t, int64_t *out, bp_err *err)
{
    buf q = {0};
    long long v = 0;
    bp_status st = buf_adds(&q, "SELECT count(*) FROM ") || !add_staged(&q, r, t)
                       ? oom(err)
                       : wh_query_int(w, q.p, 0, &v, err);
    buf_free(&q);
    *out += v;
    return st;
}

static bp_status is_staged(blk_ctx *c, bool *ok, bp_err *err)
{
    char name[128];
    snprintf(name, sizeof name, "%sload_audit", c->run->stage_prefix);
    if (!from_lake(c->run))
        return wh_exists(c->conn, c->run->stage_schema, name, ok, err);
    struct stat sb;
    *ok = false;
    if (stat(c->run->stage_file, &sb) != 0)
        return BP_OK;
    wh *w;
    bp_status st = open_stage_file(c->run, true, &w, err);
    if (st == BP_OK) {
        st = wh_exists(w, c->run->stage_schema, name, ok, err);
        wh_close(w);
    }
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
    bp_status st = open_stage_file(r, true, &stage, err);
    long long run = 0;
    buf q = {0};
    if (st == BP_OK) {
        if (buf_adds(&q, "SELECT max(run_id) FROM ") || !add_staged(&q, r, "load_audit"))
            st = oom(err);
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
        return buf_adds(q, "DROP TABLE IF EXISTS ") == 0 && add_live(q, r, t) &&
               buf_adds(q, "; ALTER TABLE ") == 0 && add_staged(q, r, t) &&
               buf_printf(q, " RENAME TO \"%s\";\n", t) == 0;
    return buf_adds(q, "INSERT INTO ") == 0 && add_live(q, r, t) &&
           buf_adds(q, " SELECT * FROM ") == 0 && add_staged(q, r, t) && buf_adds(q, ";\n") == 0;
}

static bp_status load_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    if (from_lake(r))
        return load_redshift(c, err);
    const char *live = r->o->schema;
    bool ok = false, rename = r->wops->load == WH_LOAD_RENAME;
    bp_status st = is_staged(c, &ok, err);
    if (st == BP_OK && !ok && rename && load_outputs_ok(c)) {
        fprintf(c->log, "  nothing staged: the last cleaned run is already in %s\n", live);
        return BP_OK;
    }
    if (st == BP_OK && !ok)
        return bp_fail(err, BP_EINPUT, "nothing staged in schema %s: run the clean block first "
                       "(`bookpipe run --from clean`)", r->stage_schema);
    int64_t rows = 0;
    for (int t = 0; st == BP_OK && t < SRC_NTABLES; t++)
        st = count_rows(c->conn, r, tables[t], &rows, err);
    if (st != BP_OK)
        return st;
    c->k->rows_in = rows;
    buf q = {0};
    if ((st = wh_begin(c->conn, err)) != BP_OK)
        return st;
    if (buf_adds(&q, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&q, live)) {
        st = oom(err);
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
        if (!add_swap(&q, r, tables[t], rename)) {
            st = oom(err);
            goto fail;
        }
        if (c->k->stop) {
            st = bp_fail(err, BP_EINTR, "interrupted; the warehouse is unchanged");
            goto fail;
        }
        if ((st = wh_exec(c->conn, q.p, err)) != BP_OK)
            goto fail;
        fprintf(c->log, "  %s.%s %s from the stage\n", live, tables[t],
                rename ? "renamed into place" : "refilled");
    }
    buf_reset(&q);
    if ((st = wh_create_table(c->conn, live, &clean_quarantine_def, false, err)) != BP_OK ||
        (st = wh_create_table(c->conn, live, &clean_audit_def, false, err)) != BP_OK)
        goto fail;
    bool built = add_history(&q, r, "quarantine") && add_history(&q, r, "load_audit");
    /* a DuckDB stage is used up by the renames; its history tables go too */
    if (built && rename)
        built = buf_adds(&q, "DROP TABLE ") == 0 && add_staged(&q, r, "quarantine") &&
                buf_adds(&q, "; DROP TABLE ") == 0 && add_staged(&q, r, "load_audit");
    if (!built) {
        st = oom(err);
        goto fail;
    }
    if ((st = wh_exec(c->conn, q.p, err)) != BP_OK || (st = wh_commit(c->conn, err)) != BP_OK)
        goto fail;
    buf_free(&q);
    c->k->rows_out = rows;
    fprintf(c->log, "  committed: %lld rows in %s.books, users, ratings (+ quarantine, "
            "load_audit)\n", (long long)rows, live);
    return BP_OK;
fail:
    wh_rollback(c->conn);
    buf_free(&q);
    return st;
}

static bool load_outputs_ok(blk_ctx *c)
{
    for (int t = 0; t < SRC_NTABLES; t++) {
        bool ok = false;
        bp_err e;
        if (wh_exists(c->conn, c->run->o->schema, tables[t], &ok, &e) != BP_OK || !ok)
            return false;
    }
    return true;
}

/* ---- lake: Parquet files of the staged tables ----------------------------------------- */

static bp_status lake_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    const char *root = r->o->lake;
    if (!root || !*root) {
        fprintf(c->log, "  no lake folder (--no-lake): nothing to write\n");
        return BP_OK;
    }
    /* the staged tables; on DuckDB, once the load renamed them, the live
     * ones (the same rows) */
    bool staged = false;
    bp_status st = is_staged(c, &staged, err);
    if (st == BP_OK && !staged && !(embedded(r) && load_outputs_ok(c)))
        return bp_fail(err, BP_EINPUT, "nothing staged in schema %s: run the clean block first "
                       "(`bookpipe run --from clean`)", r->stage_schema);
    if (st != BP_OK)
        return st;
    if (from_lake(r) && !s3_is_url(root) && !rs_emulating())
        return bp_fail(err, BP_EUSAGE, "Redshift loads from S3: give --lake s3://BUCKET/PREFIX");
    const char *schema = staged ? r->stage_schema : r->o->schema;
    const char *prefix = staged && embedded(r) ? r->stage_prefix : "";
    wh *engine = c->conn;
    if (!embedded(r) && (st = open_stage_file(r, true, &engine, err)) != BP_OK)
        return st;
    /* the run whose rows these are: the local stage knows it for Redshift */
    long long run = 0;
    buf q = {0};
    if (buf_adds(&q, "SELECT max(run_id) FROM ") ||
        !(staged ? add_staged(&q, r, "load_audit") : add_live(&q, r, "load_audit")))
        st = oom(err);
    else
        st = wh_query_int(from_lake(r) ? engine : c->conn, q.p, 0, &run, err);
    buf_free(&q);
    if (st != BP_OK) {
        if (engine != c->conn)
            wh_close(engine);
        return st;
    }
    bool prepared = false;
    if ((st = lake_prepare(root, tables, SRC_NTABLES, run, err)) != BP_OK)
        goto done;
    prepared = true;
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++) {
        if (c->k->stop)
            st = bp_fail(err, BP_EINTR, "interrupted; the lake is unchanged");
        else {
            char source[128];
            snprintf(source, sizeof source, "%s%s", prefix, tables[t]);
            st = lake_export(engine, root, schema, source, tables[t], run, err);
        }
    }
    if (st == BP_OK)
        st = lake_publish(root, tables, SRC_NTABLES, run, err);
    if (st == BP_OK)
        for (int t = 0; t < SRC_NTABLES; t++) {
            char path[4200];
            lake_file_path(path, sizeof path, root, tables[t], run);
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
        lake_discard(root, tables, SRC_NTABLES, run);
    if (engine != c->conn)
        wh_close(engine);
    return st;
}

static bool lake_outputs_ok(blk_ctx *c)
{
    const char *root = c->run->o->lake;
    if (!root || !*root)
        return true;
    for (int t = 0; t < SRC_NTABLES; t++)
        if (!lake_published(root, tables[t]))
            return false;
    return true;
}

/* ---- dbt and test: the project's commands ---------------------------------------------- */

/* Every file of the project that can change what dbt does. */
static bp_status hash_tree(const char *dir, fp_state *s, int depth, bp_err *err)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return depth ? BP_OK : bp_fail(err, BP_EINPUT, "dbt project %s: %s", dir,
                                       strerror(errno));
    bp_status st = BP_OK;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat sb;
        bool skip = name[0] == '.' || !strcmp(name, "target") || !strcmp(name, "logs") ||
                    !strcmp(name, "dbt_packages") || !strcmp(name, "dashboards");
        if (st == BP_OK && !skip && stat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode) && depth < 16)
                st = hash_tree(path, s, depth + 1, err);
            else if (S_ISREG(sb.st_mode)) {
                uint64_t h, len;
                if ((st = fp_file(path, &h, &len, err)) == BP_OK) {
                    fp_adds(s, name);
                    fp_add(s, &h, sizeof h);
                }
            }
        }
        free(ents[i]);
    }
    free(ents);
    return st;
}

static bp_status dbt_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    if (!c->run->project_dir[0])
        return bp_fail(err, BP_EINPUT, "no dbt project (give --project-dir)");
    add_warehouse(s, c->run);
    fp_adds(s, c->run->o->full_refresh ? "full" : "");
    return hash_tree(c->run->project_dir, s, 0, err);
}

static bp_status dbt_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    const pl_block *b = c->k->b;
    dbt_opts o = {0};
    o.command = b->type == BT_TEST ? "test" : b->command;
    o.project_dir = r->project_dir;
    o.select = b->select;
    o.exclude = b->exclude;
    o.full_refresh = r->o->full_refresh;
    o.wh_target = r->o->target;
    o.wh_dsn = r->o->dsn;
    o.wh_path = r->o->warehouse;
    o.wh_schema = r->o->schema;
    o.out = c->log;
    o.conn = c->conn;
    o.stop = &c->k->stop;
    dbt_summary sum;
    bp_status st = dbt_main(&o, &sum, err);
    if (st != BP_OK)
        return st;
    c->k->rows_in = sum.total;
    c->k->rows_out = sum.ok + sum.warn;
    if (c->k->stop)
        return bp_fail(err, BP_EINTR, "interrupted after %d of %d nodes", sum.ok + sum.warn,
                       sum.total);
    if (sum.error)
        return bp_fail(err, BP_EWH, "dbt %s: %s%s(%d of %d node(s) failed: PASS=%d WARN=%d "
                       "ERROR=%d SKIP=%d)", o.command, sum.first_error,
                       sum.first_error[0] ? " " : "", sum.error, sum.total, sum.ok, sum.warn,
                       sum.error, sum.skip);
    return BP_OK;
}

/* ---- shell: a command, its output in the log, cancelled as a process group ------------ */

static char **shell_env(blk_ctx *c)
{
    orun *r = c->run;
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + (size_t)r->nv + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        env[k++] = environ[i];
    char **own = env + k;
    own[0] = NULL;
    if (asprintf(&own[0], "BOOKPIPE_RUN_ID=%lld", (long long)r->run_id) < 0 ||
        asprintf(&own[1], "BOOKPIPE_BLOCK=%s", c->k->b->name) < 0 ||
        asprintf(&own[2], "BOOKPIPE_ATTEMPT=%d", c->k->attempt) < 0)
        return env; /* fewer variables; the command still runs */
    int m = 3;
    for (int i = 0; i < r->nv; i++)
        if (asprintf(&own[m], "BOOKPIPE_VAR_%s=%s", r->vkeys[i], r->vvals[i]) >= 0)
            m++;
    return env;
}

static void free_env(char **env)
{
    size_t n = 0;
    while (environ[n])
        n++;
    for (char **p = env + n; *p; p++)
        free(*p);
    free(env);
}

static bp_status shell_exec(blk_ctx *c, bp_err *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return bp_fail(err, BP_EIO, "cannot create a pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_setpgroup(&at, 0); /* its own group: cancel kills all of it */
    sigset_t dflt;
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"/bin/sh", "-c", c->k->b->command, NULL};
    char **env = shell_env(c);
    pid_t pid;
    int rc = env ? posix_spawn(&pid, "/bin/sh", &fa, &at, argv, env) : ENOMEM;
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (env)
        free_env(env);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return bp_fail(err, BP_EIO, "cannot start /bin/sh: %s", strerror(rc));
    }
    char b[4096];
    bool killed = false;
    double kill_at = 0;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int k = poll(&p, 1, 100);
        if (k > 0) {
            ssize_t got = read(fds[0], b, sizeof b);
            if (got > 0) {
                fwrite(b, 1, (size_t)got, c->log);
                continue;
            }
            if (got == 0 || errno != EINTR)
                break;
        }
        if (c->k->stop && !killed) {
            kill(-pid, SIGTERM);
            killed = true;
            kill_at = orch_now() + 3;
        } else if (killed && orch_now() > kill_at) {
            kill(-pid, SIGKILL);
            kill_at = orch_now() + 3600;
        }
    }
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (killed)
        return bp_fail(err, BP_EINTR, "command stopped");
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return BP_OK;
    if (WIFEXITED(ws))
        return bp_fail(err, BP_EIO, "command exited with status %d", WEXITSTATUS(ws));
    return bp_fail(err, BP_EIO, "command killed by signal %d", WTERMSIG(ws));
}

/* ---- dispatch ----------------------------------------------------------------------------- */

bp_status blk_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    orun *r = c->run;
    switch (c->k->b->type) {
    case BT_EXTRACT:
        return extract_inputs(c, s, err);
    case BT_CLEAN:
        add_warehouse(s, r);
        fp_add(s, &r->o->clean, sizeof r->o->clean);
        return BP_OK;
    case BT_LOAD:
        add_warehouse(s, r);
        return BP_OK;
    case BT_LAKE:
        add_warehouse(s, r);
        fp_adds(s, r->o->lake ? r->o->lake : "");
        return BP_OK;
    case BT_DBT:
    case BT_TEST:
        return dbt_inputs(c, s, err);
    default:
        return BP_OK;
    }
}

bool blk_outputs_ok(blk_ctx *c)
{
    switch (c->k->b->type) {
    case BT_LOAD:
        return load_outputs_ok(c);
    case BT_LAKE:
        return lake_outputs_ok(c);
    default:
        return true;
    }
}

/* DuckDB's memory cap is the database's, not a connection's: the loading
 * blocks (bounded by design) run under --memory-limit; dbt models (joins
 * that may not spill) get DuckDB's default back. Blocks of the two kinds
 * running at once share whichever was set last. */
static bp_status set_memory(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    pl_type t = c->k->b->type;
    if (!embedded(r) || !r->o->memory_limit)
        return BP_OK;
    buf q = {0};
    bp_status st = BP_OK;
    if (t == BT_CLEAN || t == BT_LAKE || t == BT_LOAD) {
        if (buf_adds(&q, "SET memory_limit = ") || buf_add_sqlstr(&q, r->o->memory_limit))
            st = oom(err);
    } else if (t == BT_DBT || t == BT_TEST) {
        /* RESET would go back to the cap the database was opened with */
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
        long long mb = pages > 0 && size > 0 ? (long long)pages / 1024 * size / 1024 * 8 / 10
                                             : 1024;
        if (buf_printf(&q, "SET memory_limit = '%lldMB'", mb))
            st = oom(err);
    }
    if (st == BP_OK && q.p)
        st = wh_exec(c->conn, q.p, err);
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
        return clean_exec(c, err);
    case BT_LOAD:
        return load_exec(c, err);
    case BT_LAKE:
        return lake_exec(c, err);
    case BT_DBT:
    case BT_TEST:
        return dbt_exec(c, err);
    case BT_SHELL:
        return shell_exec(c, err);
    default:
        return BP_OK;
    }
}
