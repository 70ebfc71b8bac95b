/* lake.h: the Parquet data lake in a local folder or an S3 bucket (a root
 * of s3://bucket/prefix: see lake_s3.h for its layout).
 *
 * Layout: <root>/<table>/run=<run_id>/<table>.parquet, plus a symlink
 * <root>/<table>/latest -> run=<run_id>. A file is written under a hidden
 * temporary name and renamed only once complete, and `latest` moves only
 * after the warehouse committed, so a reader of `latest` never sees a
 * partial file. Parquet is written by DuckDB's COPY from an engine
 * connection that can see the table (the warehouse itself, for DuckDB). */
#ifndef BP_LAKE_H
#define BP_LAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../wh/wh.h"

/* Largest run id present in the lake (0 when none). */
int64_t lake_max_run(const char *root);

/* Create the run's folders, failing early with a clear message when the
 * lake is not writable. Removes leftovers of interrupted runs. */
bp_status lake_prepare(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err);

/* Write schema.source (NULL: schema.table) to table's temporary Parquet
 * file of the run, through engine. */
bp_status lake_export(wh *engine, const char *root, const char *schema, const char *source,
                      const char *table, int64_t run_id, bp_err *err);

/* Rename the temporary files into place and move `latest`. */
bp_status lake_publish(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err);

/* Remove the run's temporary files and folders (after a failure). */
void lake_discard(const char *root, const char *const *tables, int ntables, int64_t run_id);

/* Is a run of table published (its `latest` in place)? */
bool lake_published(const char *root, const char *table);

/* Rows per Parquet part in the S3 lake (default 250,000). */
void lake_set_rows_per_part(long long rows);
long long lake_rows_per_part(void);

/* Path of the published file, for messages and tests. */
void lake_file_path(char *out, size_t n, const char *root, const char *table, int64_t run_id);

#endif
