/* pipeline_file.h: a pipeline file (project/pipeline.yml) as a checked DAG.
 *
 * A pipeline is blocks with a type, upstream blocks, retries, a timeout
 * and an optional `when` condition on the run variables, plus pipeline
 * variables with defaults and a cron schedule. pl_load rejects a bad file
 * (unknown type or key, a cycle, a missing upstream, a bad cron or
 * condition) with file:line before anything runs. */
#ifndef BP_PIPELINE_H
#define BP_PIPELINE_H

#include <stdbool.h>

#include "../core/err.h"
#include "cron.h"

typedef enum {
    BT_EXTRACT, /* find the three input files and fingerprint them */
    BT_CLEAN,   /* read + clean into the stage tables (quarantine, audit) */
    BT_LAKE,    /* write the stage tables to the Parquet lake */
    BT_LOAD,    /* swap the stage tables into the warehouse, in one transaction */
    BT_DBT,     /* a dbt command (build, run, seed, test) with a selector */
    BT_TEST,    /* dbt test with a selector */
    BT_SHELL,   /* a shell command (custom work; tests use it too) */
    BT_NOOP,    /* nothing: a join point */
    BT_RECOMMEND, /* train and publish recommendations (src/rec) */
    BT_NTYPES
} pl_type;

const char *pl_type_name(pl_type t);

typedef struct {
    char *name;
    pl_type type;
    int line;
    char **upstream;
    int nup;
    int *up;            /* indexes of upstream blocks */
    int retries;        /* extra attempts after a failure */
    double delay;       /* seconds before the first retry */
    double max_delay;   /* cap of the backoff */
    bool backoff;       /* exponential: delay doubles each retry */
    double timeout;     /* seconds per attempt; 0: none */
    char *when;         /* condition text, NULL: always */
    char *command;      /* dbt: build|run|seed|test; shell: the command */
    char *select;       /* dbt/test: selector */
    char *exclude;
    char *config;       /* all of the block's settings, for its fingerprint */
} pl_block;

typedef struct {
    char *file;
    char *name;
    pl_block *b;
    int n;
    char **var_keys, **var_vals;  /* defaults, in file order */
    int nvars;
    char *schedule;     /* cron text, NULL: none */
    cron_spec cron;
} pl_pipeline;

BP_MUST bp_status pl_load(const char *path, pl_pipeline *out, bp_err *err);
void pl_free(pl_pipeline *p);

/* The index of the named block, or -1. */
int pl_find(const pl_pipeline *p, const char *name);

/* Evaluate a block's `when` with the run variables (keys/vals); a value
 * "true"/"false" reads as a boolean. */
BP_MUST bp_status pl_when(const pl_pipeline *p, const pl_block *b, char *const *keys,
                  char *const *vals, int n, bool *out, bp_err *err);

/* Is block a an ancestor of block d (a path a -> ... -> d)? */
bool pl_reaches(const pl_pipeline *p, int a, int d);

#endif
