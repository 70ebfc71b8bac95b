/* lake_s3.h: the lake in an S3 bucket (lake.c hands s3:// roots here).
 *
 * Layout: s3://bucket/prefix/run=<run_id>/<table>/part-<n>.parquet (a table
 * in parts of --lake-rows-per-part rows, so that a Redshift COPY of the
 * table's folder loads them in parallel across slices), plus one object
 * `latest` holding "run=<run_id>" for the whole lake: readers read it, then
 * run=<id>/<table>/. Parquet is written to a local staging folder first;
 * publishing uploads every part of every table and only then writes
 * `latest` (one PUT, atomic in S3), so a failed upload leaves it where it
 * was. */
#ifndef BP_LAKE_S3_H
#define BP_LAKE_S3_H

#include <stdint.h>

#include "../core/err.h"
#include "../wh/wh.h"

BP_MUST bp_status lake_s3_max_run(const char *root, int64_t *out, bp_err *err);
BP_MUST bp_status lake_s3_prepare(const char *root, const char *const *tables, int ntables,
                          int64_t run_id, bp_err *err);
BP_MUST bp_status lake_s3_export(wh *engine, const char *root, const char *schema, const char *source,
                         const char *table, int64_t run_id, bp_err *err);
BP_MUST bp_status lake_s3_publish(const char *root, const char *const *tables, int ntables,
                          int64_t run_id, bp_err *err);
void lake_s3_discard(const char *root, int64_t run_id);
bool lake_s3_published(const char *root, const char *table);
int64_t lake_s3_latest_run(const char *root);
BP_MUST bp_status lake_s3_gc(const char *root, int keep, int *removed, bp_err *err);

/* What the last publish uploaded, for the block log and the benchmark. */
typedef struct {
    long long bytes, part_size;
    int files, parallel;
    double seconds;
    long rss_before_kb, peak_kb;  /* RSS before, peak RSS during the upload */
} lake_upload;
void lake_s3_last_upload(lake_upload *out);

#endif
