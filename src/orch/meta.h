/* meta.h: run history and the run lock, kept in the target warehouse.
 *
 * Schema bookpipe_meta holds runs (one row per pipeline run), block_runs
 * (one row per block of a run, with its log) and file_checksums (the
 * input files' checksums keyed by path, size and mtime, so an unchanged
 * file is not read again to fingerprint it). Everything is plain SQL that
 * DuckDB and PostgreSQL both accept, so the web UI and users query it. */
#ifndef BP_META_H
#define BP_META_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "../wh/wh.h"

#define META_SCHEMA "bookpipe_meta"

BP_MUST bp_status meta_init(wh *w, bp_err *err);

/* A new run row (status running); its id is above every earlier run's
 * and above floor (the data's own run ids). */
BP_MUST bp_status meta_run_start(wh *w, const char *pipeline, const char *vars_json,
                         const char *trigger, int64_t floor, int64_t *run_id, bp_err *err);
BP_MUST bp_status meta_run_end(wh *w, int64_t run_id, const char *status, bp_err *err);

typedef struct {
    const char *block, *type, *status;
    int attempt;
    double started, ended;   /* unix seconds; 0: not yet */
    int64_t rows_in, rows_out;  /* -1: not known */
    const char *fingerprint;    /* NULL: none */
    const char *log, *error;
} meta_block;

/* Append the statement (literals in w's dialect) that inserts (first time for the block in this run)
 * or updates its row, ending in ";"; false when out of memory. Callers
 * batch them in one transaction: each commit of the history costs a sync. */
bool meta_block_sql(const wh *w, buf *q, int64_t run_id, const meta_block *b, bool insert);

/* The fingerprint of the block's last completed run ("" when none). */
BP_MUST bp_status meta_last_fp(wh *w, const char *block, char out[17], bp_err *err);

/* A checksum cached for path with this size and mtime ("" when none). */
BP_MUST bp_status meta_cached_sum(wh *w, const char *path, int64_t size, int64_t mtime_ns,
                          char out[17], bp_err *err);
BP_MUST bp_status meta_cache_sum(wh *w, const char *path, int64_t size, int64_t mtime_ns,
                         const char *sum, bp_err *err);

/* With the run lock held, no other run is alive: runs (and their blocks)
 * still marked running were killed; mark them so. */
BP_MUST bp_status meta_mark_dead(wh *w, bp_err *err);
/* A dbt block's nodes as its command left them (dbt's run_results.json):
 * status, execute start and end, time, message; kept per run. */
BP_MUST bp_status meta_node_runs(wh *w, int64_t run_id, const char *block, const char *run_results,
                                 bp_err *err);

/* The warehouse was written outside the pipeline (`bookpipe ingest`,
 * `bookpipe dbt run`): every block that reads the warehouse must run again
 * next time, so their fingerprints are dropped (the input files' stay).
 * Nothing to do when there is no history. The _cb form fits dbt_opts.before. */
BP_MUST bp_status meta_forget_fingerprints(wh *w, bp_err *err);
BP_MUST bp_status meta_forget_fingerprints_cb(wh *w, void *ctx, bp_err *err);

/* ---- the one-run-at-a-time lock ---- */

typedef struct {
    int fd;               /* DuckDB: the lock file, held with flock */
    char path[4200];
    wh *pg;               /* PostgreSQL: the session holding the advisory lock */
} meta_lock;

/* Take the lock of the kind the target asks for: a file (next to the
 * DuckDB warehouse, or the state folder's for Redshift: path), or the
 * server's advisory lock on schema through conn. A lock whose holder died
 * is taken over and *note says so; a live holder is refused with its pid,
 * host and start. */
BP_MUST bp_status meta_lock_take(meta_lock *l, wh_lock_kind kind, const char *path,
                         const char *schema, wh *conn, int64_t run_hint, char *note,
                         size_t note_n, bp_err *err);
void meta_lock_release(meta_lock *l);

/* Who holds the DuckDB warehouse's lock ("" when nobody alive). */
void meta_lock_holder(const char *warehouse, char *out, size_t n);

#endif
