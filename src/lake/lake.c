/* lake.c: the lake's public functions, each handed to the kind of lake
 * its root names: an S3 bucket (s3://bucket/prefix, lake_s3.c) or a local
 * folder (lake_dir.c). lake.h says what each does for both. */
#include "lake_int.h"

#include "../core/buf.h"
#include "s3.h"

static const lake_ops *ops_for(const char *root)
{
    return s3_is_url(root) ? &lake_s3_ops : &lake_dir_ops;
}

static long long g_rows_per_part = 250000;

void lake_set_rows_per_part(long long rows)
{
    if (rows > 0)
        g_rows_per_part = rows;
}

long long lake_rows_per_part(void) { return g_rows_per_part; }

bp_status lake_copy_out(wh *engine, const char *schema, const char *source, const char *table,
                        const char *dest, const char *options, const char *what, bp_err *err)
{
    buf sql = {0};
    bp_status st;
    /* row order in a lake file is no contract; keeping it costs memory */
    if (buf_adds(&sql, "SET preserve_insertion_order = false; COPY (SELECT * FROM ") ||
        buf_add_relation(&sql, schema, source ? source : table) || buf_adds(&sql, ") TO ") ||
        buf_add_sqlstr(&sql, dest) || buf_adds(&sql, " (FORMAT parquet, COMPRESSION snappy") ||
        buf_adds(&sql, options) || buf_adds(&sql, "); RESET preserve_insertion_order"))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else if ((st = wh_exec(engine, sql.p, err)) != BP_OK) {
        bp_err_prefix(err, "%s", what);
        st = BP_ELAKE;
        if (err)
            err->status = st;
    }
    buf_free(&sql);
    return st;
}

bp_status lake_max_run(const char *root, int64_t *out, bp_err *err)
{
    return ops_for(root)->max_run(root, out, err);
}

bp_status lake_prepare(const char *root, const char *const *tables, int ntables, int64_t run_id,
                       bp_err *err)
{
    return ops_for(root)->prepare(root, tables, ntables, run_id, err);
}

bp_status lake_export(wh *engine, const char *root, const char *schema, const char *source,
                      const char *table, int64_t run_id, bp_err *err)
{
    return ops_for(root)->export_table(engine, root, schema, source, table, run_id, err);
}

bp_status lake_publish(const char *root, const char *const *tables, int ntables, int64_t run_id,
                       bp_err *err)
{
    return ops_for(root)->publish(root, tables, ntables, run_id, err);
}

void lake_discard(const char *root, const char *const *tables, int ntables, int64_t run_id)
{
    ops_for(root)->discard(root, tables, ntables, run_id);
}

bool lake_published(const char *root, const char *table)
{
    return ops_for(root)->published(root, table);
}

int64_t lake_latest_run(const char *root) { return ops_for(root)->latest_run(root); }

bp_status lake_gc(const char *root, int keep, int *removed, bp_err *err)
{
    *removed = 0;
    return ops_for(root)->gc(root, keep, removed, err);
}

void lake_file_path(char *out, size_t n, const char *root, const char *table, int64_t run_id)
{
    ops_for(root)->file_path(out, n, root, table, run_id);
}
