/* dbt.h: a dbt-compatible project runner (no Python).
 *
 * Reads dbt_project.yml, profiles.yml, models (.sql + Jinja subset),
 * properties YAML (sources, models, columns, tests), seeds and singular
 * tests; builds the DAG; compiles; and runs seeds, models (view, table,
 * incremental, ephemeral) and tests on the warehouse, the way `dbt build`
 * does. Writes target/manifest.json and target/run_results.json. */
#ifndef BP_DBT_H
#define BP_DBT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "../core/err.h"
#include "../wh/wh.h"

typedef struct {
    const char *command;       /* build, run, test, seed, compile, ls */
    const char *project_dir;   /* default "." */
    const char *profiles_dir;  /* NULL: project dir, then ~/.dbt */
    const char *target;        /* profile target name, NULL for the default */
    const char *select;        /* space-separated selectors, NULL = all */
    const char *exclude;
    const char *vars;          /* YAML mapping text from --vars */
    bool full_refresh;
    int threads;               /* 0: the profile's, else 2 */
    /* Used when the project has no profile: bookpipe's own warehouse. */
    const char *wh_target;     /* duckdb (default) or postgres */
    const char *wh_path;
    const char *wh_schema;
    const char *wh_dsn;
    bool quiet;                /* no per-node lines */
    FILE *out;                 /* console lines go here; NULL: stdout */
    /* An open warehouse to run on (its connect_more gives the threads'
     * connections); NULL: open the profile's. Left open. */
    wh *conn;
    /* When set non-zero, no further node starts; the rest are skipped. */
    volatile sig_atomic_t *stop;
    /* Optional: run on the main connection before any node (the command
     * line uses it to mark the pipeline's fingerprints stale). */
    bp_status (*before)(wh *w, void *ctx, bp_err *err);
    void *before_ctx;
} dbt_opts;

typedef struct {
    int ok, warn, error, skip, total;
    char first_error[600];     /* "model facts_all (models/...sql): <message>" */
} dbt_summary;

/* Run a dbt command. Returns BP_OK when everything ran (sum->error may
 * still be non-zero: failed models or tests); other statuses for a project
 * that cannot be read or compiled, with err set. */
bp_status dbt_main(const dbt_opts *o, dbt_summary *sum, bp_err *err);

#endif
