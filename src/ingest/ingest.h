/* ingest.h: extract -> clean -> warehouse -> lake, as one atomic run.
 *
 * ingest_run reads the three sources, cleans them row by row, loads the
 * tables and their quarantine and audit rows into the warehouse inside one
 * transaction, writes the lake files, and commits. Any failure rolls the
 * warehouse back and removes the run's lake files: the previous good
 * warehouse and lake stay exactly as they were. */
#ifndef BP_INGEST_H
#define BP_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>

#include "../clean/clean.h"
#include "../core/err.h"
#include "../wh/wh.h"

typedef struct {
    const char *data;     /* folder or zip */
    const char *schema;   /* books_schema */
    const char *lake;     /* lake root folder, or NULL for none */
    clean_config clean;
    bool progress;        /* live progress on stderr */
    /* Set (from a signal handler) to stop the run; it then fails with
     * BP_EINTR and rolls back like any other failure. */
    volatile sig_atomic_t *stop;
    int64_t run_id;       /* 0: the next free one */
    /* When the warehouse is not DuckDB: keep a DuckDB copy of the loaded
     * tables at this path (the orchestrator's stage for the lake block).
     * Replaced only after the warehouse committed. NULL: none kept. */
    const char *engine_path;
    /* where a source too big for its duplicate keys in memory spills
     * them (files unlinked at once; NULL: the current folder) */
    const char *spill_dir;
    /* Write every table as <prefix><name> (the orchestrator's stage next to
     * the tables it replaces); NULL: the tables themselves. */
    const char *table_prefix;
    /* Replace the quarantine and audit tables too (a stage holds one run). */
    bool fresh;
    /* When set: bytes read so far, summed over the sources (for a
     * progress bar; the total is their sizes). */
    _Atomic unsigned long long *bytes_done;
    /* The tables this load will replace, for the load guards (see
     * clean_config): live_schema on live (NULL: o->schema on w). */
    wh *live;
    const char *live_schema;
    /* Lake runs to keep (older ones are removed after a publish); 0: all. */
    int lake_keep;
} ingest_opts;

typedef struct {
    int64_t run_id;
    char label[SRC_NTABLES][256];
    char format[SRC_NTABLES][8];
    clean_stats st[SRC_NTABLES];
    uint64_t bytes[SRC_NTABLES];
    bool two_pass[SRC_NTABLES];   /* its duplicate keys found in a first pass */
    src_seen seen[SRC_NTABLES];   /* each file as it was read (see src_finish) */
    double t_clean, t_load, t_lake, t_commit, t_total;  /* seconds */
} ingest_report;

BP_MUST bp_status ingest_run(wh *w, const ingest_opts *o, ingest_report *rep, bp_err *err);

/* The next run id: one more than any in the warehouse or the lake. */
BP_MUST bp_status ingest_next_run_id(wh *w, const char *schema, const char *lake, int64_t *out,
                             bp_err *err);

/* The per-source table of a load (read, loaded, quarantined, repaired). */
void ingest_report_print(FILE *f, const ingest_report *rep);

#endif
