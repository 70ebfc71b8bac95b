/* orch.h: running a pipeline: the DAG of blocks, in parallel where it
 * allows, with retries, timeouts, conditions, skipping of unchanged work,
 * one run at a time per warehouse, and run history in bookpipe_meta.
 *
 * A block that changes data does it atomically: `clean` loads the stage
 * tables in one transaction, `load` swaps the stage into the warehouse in
 * another, `lake` publishes a run's files only once all are written. So a
 * failed or cancelled run leaves each of the warehouse and the lake at its
 * last complete state. */
#ifndef BP_ORCH_H
#define BP_ORCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../clean/clean.h"
#include "../core/err.h"

typedef enum { VIEW_TTY, VIEW_PLAIN, VIEW_JSON, VIEW_QUIET } orch_view;

typedef struct {
    const char *pipeline;      /* pipeline file */
    const char *target, *warehouse, *schema, *dsn, *memory_limit;
    const char *data;          /* input folder or zip (extract) */
    const char *lake;          /* lake root; NULL: no lake (var lake = '') */
    int lake_keep;             /* lake runs kept after a publish; 0: all */
    const char *iam_role;      /* redshift: the role its COPY assumes to read the lake */
    const char *project_dir;   /* dbt project (dbt and test blocks) */
    const char *state_dir;     /* local working files (the stage for non-DuckDB targets) */
    bool models;               /* var models */
    clean_config clean;
    char **var_keys, **var_vals; /* --var key=value */
    int nvars;
    const char *select;        /* comma/space list; +name / name+ widen it */
    const char *from;          /* this block and everything downstream */
    const char *only;          /* just this block */
    bool full_refresh;         /* run every block, fingerprints aside */
    int jobs;                  /* blocks at once; 0: the cores */
    const char *trigger;       /* cli, schedule, web */
    orch_view view;
    volatile sig_atomic_t *stop;  /* set to cancel */
    /* A live view for a program that embeds runs (serve): each event as a
     * JSON object's text (run_started with the blocks, block, run_ended),
     * whatever the view; called from the run's threads, one at a time. */
    void (*on_event)(void *ctx, const char *json);
    void *event_ctx;
} orch_opts;

typedef struct {
    int64_t run_id;
    char status[16];           /* completed, failed, cancelled */
    int completed, skipped, failed, not_run;
    bp_status first_error;     /* status of the first failed block */
} orch_result;

/* Run the pipeline. Returns BP_OK when the run was recorded (r->status
 * tells how it went); other statuses when it could not start (bad
 * pipeline file, warehouse unreachable, lock held). */
BP_MUST bp_status orch_run(const orch_opts *o, orch_result *r, bp_err *err);

/* The loading blocks' DuckDB memory cap for --memory-limit cap (NULL: none
 * given): cap itself when under 128MB, else 128MB. */
void orch_load_memory(const char *cap, char *out, size_t n);

#endif
