/* lake.h: the Parquet data lake in a local folder or an S3 bucket (a root
 * of s3://bucket/prefix: see lake_s3.c for its layout).
 *
 * Layout: <root>/run=<run_id>/<table>.parquet, one folder per run, and one
 * pointer for the whole lake: the symlink <root>/latest -> run=<run_id>.
 * Readers read <root>/latest/<table>.parquet: one complete run, all tables
 * of the same run. A file is written under a hidden temporary name and
 * renamed once complete; the pointer moves by one rename(2) after every
 * file of the run is in place, so a failure at any point leaves readers on
 * the previous run. Parquet is written by DuckDB's COPY from an engine
 * connection that can see the table (the warehouse itself, for DuckDB).
 * Old runs are removed by lake_gc (the pipeline keeps the last few). */
#ifndef BP_LAKE_H
#define BP_LAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"
#include "../wh/wh.h"

/* Largest run id present in the lake (0 when none). */
BP_MUST bp_status lake_max_run(const char *root, int64_t *out, bp_err *err);

/* Create the run's folders, failing early with a clear message when the
 * lake is not writable. Removes leftovers of interrupted runs. */
BP_MUST bp_status lake_prepare(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err);

/* Write schema.source (NULL: schema.table) to table's temporary Parquet
 * file of the run, through engine. */
BP_MUST bp_status lake_export(wh *engine, const char *root, const char *schema, const char *source,
                      const char *table, int64_t run_id, bp_err *err);

/* Rename the temporary files into place and move `latest` (one step). */
BP_MUST bp_status lake_publish(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err);

/* Remove the run's temporary files and folders (after a failure). */
void lake_discard(const char *root, const char *const *tables, int ntables, int64_t run_id);

/* Is a run of table published (the lake's `latest` has it)? */
bool lake_published(const char *root, const char *table);

/* The run `latest` points at (0 when none). */
int64_t lake_latest_run(const char *root);

/* Remove every run but the `keep` newest (at least 1) and the published
 * one; *removed counts the runs removed. */
BP_MUST bp_status lake_gc(const char *root, int keep, int *removed, bp_err *err);

/* Rows per Parquet part in the S3 lake (default 250,000). */
void lake_set_rows_per_part(long long rows);
long long lake_rows_per_part(void);

/* What the last publish to S3 uploaded, for the block log and the
 * benchmark (zeros after a folder's). */
typedef struct {
    long long bytes, part_size;
    int files, parallel;
    double seconds;
    long rss_before_kb, peak_kb;  /* RSS before, peak RSS during the upload */
} lake_upload;
void lake_last_upload(lake_upload *out);

/* Path of the published file, for messages and tests. */
void lake_file_path(char *out, size_t n, const char *root, const char *table, int64_t run_id);

#endif
