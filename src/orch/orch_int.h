/* orch_int.h: what the executor, the blocks and the view share. */
#ifndef BP_ORCH_INT_H
#define BP_ORCH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "../extract/src.h"
#include "../wh/wh.h"
#include "../core/fp.h"
#include "orch.h"
#include "pipeline_file.h"

typedef enum { BS_OUT, BS_PENDING, BS_RUNNING, BS_DONE } blk_state;

typedef struct orun orun;

typedef struct {
    orun *run;
    pl_block *b;
    int idx;
    blk_state state;
    bool forced;               /* selected by name: run even when up to date */
    const char *status;        /* queued, running, completed, failed, upstream_failed,
                                * skipped, condition_failed */
    char note[128];            /* "up to date", "timed out", ... */
    int attempt;
    double started, ended, attempt_started;
    char fp[17];
    char *log;                 /* the whole log, once done */
    FILE *live_log;            /* while it runs: its log file (a live view reads the tail) */
    char error[1024];
    bp_status err_status;
    int64_t rows_in, rows_out;
    volatile sig_atomic_t stop;  /* cancel or timeout: the block's work stops */
    bool timed_out;
    _Atomic unsigned long long prog_done;
    unsigned long long prog_total;  /* 0: no progress figure */
    const char *prog_unit;     /* "bytes", "rows" */
    bool dirty, inserted;      /* meta row to write */
    pthread_t th;
    bool has_thread;
} blk;

struct orun {
    const orch_opts *o;
    const wh_ops *wops;        /* the target's traits: how it locks, stages, loads */
    pl_pipeline p;
    blk *blk;
    int64_t run_id;
    wh *main;                  /* meta writes; other connections come from it */
    char stage_schema[200];    /* where clean writes: DuckDB: the schema itself, with */
    const char *stage_prefix;  /* this prefix (load renames); others: <schema>_stage */
    char stage_file[4200];     /* non-DuckDB targets: DuckDB copy of the stage */
    char state_dir[4200];      /* the folder of stage_file: the run's local files */
    char project_dir[4200];
    char model_memory[32];     /* DuckDB's cap for dbt, test and recommend blocks */
    char load_memory[32];      /* and for the loading blocks: at most 128MB */
    char **vkeys, **vvals;     /* the run's variables */
    int nv;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    double t0;
    int running;
    int meta_warned;           /* history writes that failed (warned once) */
    /* The input files as the extract block saw them in this run (size,
     * mtime, checksum), for clean to compare with what it read. */
    src_seen inputs[SRC_NTABLES];
    int ninputs;
};

/* ---- blocks.c ---- */

typedef struct {
    orun *run;
    blk *k;
    wh *conn;                  /* the block's own warehouse connection (or NULL) */
    FILE *log;
} blk_ctx;

/* Add the block's own inputs (files, settings) to its fingerprint. */
BP_MUST bp_status blk_inputs(blk_ctx *c, fp_state *s, bp_err *err);
/* Are the block's outputs still there (so skipping is safe)? */
bool blk_outputs_ok(blk_ctx *c);
/* Do the block's work once. */
BP_MUST bp_status blk_exec(blk_ctx *c, bp_err *err);
/* Does the block type need a warehouse connection? */
bool blk_needs_wh(pl_type t);

/* ---- view.c ---- */

void view_start(orun *r);
void view_event(orun *r, blk *k);        /* a block changed status (lock held) */
void view_tick(orun *r);                 /* redraw a live view (lock held) */
void view_end(orun *r, const orch_result *res);

double orch_now(void);

#endif
