/* dbt.h: a dbt-compatible project runner (no Python).
 *
 * Reads dbt_project.yml (its Jinja rendered), profiles.yml, packages in
 * dbt_packages/, macros (the project's, the packages', dbt's own), models
 * (SQL + Jinja), properties YAML (sources, models, seeds, snapshots,
 * columns, generic tests of any package), seeds, snapshots and singular
 * tests; builds the DAG; compiles; and runs seeds, models (view, table,
 * incremental, ephemeral), snapshots and tests on the warehouse with their
 * hooks, the way dbt-core does. Writes target/manifest.json,
 * run_results.json and (docs generate) catalog.json. */
#ifndef BP_DBT_H
#define BP_DBT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "../core/err.h"
#include "../wh/wh.h"

typedef struct {
    const char *command;       /* build, run, test, seed, snapshot, compile, ls, parse,
                                  deps, run-operation, debug, docs */
    const char *project_dir;   /* default "." */
    const char *profiles_dir;  /* NULL: project dir, then ~/.dbt */
    const char *target;        /* profile target name, NULL for the default */
    const char *select;        /* space-separated selectors, NULL = all */
    const char *exclude;
    const char *vars;          /* YAML mapping text from --vars */
    bool full_refresh;
    bool empty;                /* --empty: refs and sources render as zero rows */
    bool store_failures;       /* --store-failures */
    bool fail_fast;            /* --fail-fast: stop at the first failure */
    const char *macro;         /* run-operation: the macro */
    const char *macro_args;    /* run-operation --args: a YAML mapping */
    const char *docs_command;  /* docs: generate */
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
BP_MUST bp_status dbt_main(const dbt_opts *o, dbt_summary *sum, bp_err *err);

/* The "execute" step of one run_results.json result (its "timing"
 * entry with the node's start and end), or NULL. For readers of dbt's
 * artifacts: the run history, the web page. */
struct json_t;
struct json_t *dbt_result_execute(struct json_t *result);

#endif
