/* lake_int.h: one lake kind's operations (internal to src/lake).
 *
 * lake.c picks the table for a root (s3://... : lake_s3_ops; a folder:
 * lake_dir_ops) and every public function in lake.h calls through it, so
 * the two kinds differ only here. */
#ifndef BP_LAKE_INT_H
#define BP_LAKE_INT_H

#include "lake.h"

typedef struct {
    bp_status (*max_run)(const char *root, int64_t *out, bp_err *err);
    bp_status (*prepare)(const char *root, const char *const *tables, int ntables, int64_t run_id,
                         bp_err *err);
    bp_status (*export_table)(wh *engine, const char *root, const char *schema,
                              const char *source, const char *table, int64_t run_id, bp_err *err);
    bp_status (*publish)(const char *root, const char *const *tables, int ntables,
                         int64_t run_id, bp_err *err);
    void (*discard)(const char *root, const char *const *tables, int ntables, int64_t run_id);
    bool (*published)(const char *root, const char *table);
    int64_t (*latest_run)(const char *root);
    bp_status (*gc)(const char *root, int keep, int *removed, bp_err *err);
    void (*file_path)(char *out, size_t n, const char *root, const char *table, int64_t run_id);
} lake_ops;

extern const lake_ops lake_dir_ops, lake_s3_ops;

/* Write schema.source (NULL: schema.table) as Parquet to dest through
 * engine, with more COPY options (", KEY value" ...) after the format's;
 * a failure is BP_ELAKE, its message prefixed with what (the file, the
 * parts). */
BP_MUST bp_status lake_copy_out(wh *engine, const char *schema, const char *source,
                                const char *table, const char *dest, const char *options,
                                const char *what, bp_err *err);

#endif
