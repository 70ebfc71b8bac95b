/* request.h: a run of the pipeline as its callers ask for it (`bookpipe
 * run`, `bookpipe schedule`, the server's Run now): which warehouse, data,
 * lake and pipeline file, and the run's options; where the bundled project
 * is; and the stop flag that cancels runs (set by a signal handler or the
 * server). The command line only parses flags into a run_request. */
#ifndef BP_ORCH_REQUEST_H
#define BP_ORCH_REQUEST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/err.h"
#include "../wh/wh.h"
#include "orch.h"

#define RUN_MAX_VARS 64

typedef struct {
    wh_spec w;
    const char *data, *lake, *project_dir, *pipeline, *state_dir;
    const char *kaggle;       /* OWNER/DATASET: download into the cache */
    const char *iam_role;     /* redshift: the role COPY assumes */
    char kaggle_zip[4096];    /* where it landed (then data points here) */
    bool models, full_refresh;
    clean_config clean;
    char *var_keys[RUN_MAX_VARS], *var_vals[RUN_MAX_VARS];
    char var_store[RUN_MAX_VARS][128];
    int nvars;
    const char *select, *from, *only;
    int jobs;
    int lake_keep;            /* lake runs kept (0: all) */
    orch_view view;
    volatile sig_atomic_t *stop;  /* this run's own cancel flag; NULL: the process's */
    void (*on_event)(void *ctx, const char *json);  /* a live view (orch_opts) */
    void *event_ctx;
} run_request;

/* The bundled dbt project (next to the binary, or ./project) into out;
 * NULL when there is none. */
const char *orch_bundled_project(char *out, size_t n);
/* The pipeline file a request runs (and its dbt project dir into proj);
 * NULL when there is none. */
const char *orch_pipeline_file(const run_request *r, char *out, size_t n, char *proj,
                               size_t pn);
/* r->kaggle: fetch (or confirm) the zip in the cache; it becomes r->data. */
BP_MUST bp_status orch_fetch_kaggle(run_request *r, bp_err *err);
/* Run the pipeline as r asks. */
BP_MUST bp_status orch_run_request(run_request *r, const char *trigger, orch_result *res, bp_err *err);

/* The stop flag: set (from a signal handler too) to cancel the runs in
 * progress; they roll back and end as cancelled. */
void orch_request_stop(void);
bool orch_stop_requested(void);
volatile sig_atomic_t *orch_stop_flag(void);

#endif
