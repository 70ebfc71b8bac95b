/* redshift.h: loading Amazon Redshift from the S3 lake.
 *
 * Redshift takes bulk data only through COPY from S3 (no COPY FROM STDIN),
 * so a Redshift run cleans into a local DuckDB stage, the lake block writes
 * the stage to S3 as Parquet parts, and the load block runs this plan:
 *
 *   1. the live and stage schemas; each stage table created with explicit
 *      Redshift types and distribution/sort keys;
 *   2. COPY stage.t FROM 's3://.../run=N/t/' IAM_ROLE '...' FORMAT AS PARQUET
 *      for books, users and ratings (every part of the run's folder, loaded
 *      in parallel across slices), each checked: the stage must hold as many
 *      rows as were cleaned;
 *   3. the run's quarantine and load_audit rows, inserted from the local
 *      stage (they are small);
 *   4. one transaction: DELETE + INSERT ... SELECT from the stage into the
 *      live tables (TRUNCATE would commit on Redshift), history appended;
 *   5. the stage tables dropped.
 *
 * Every statement is sent alone and its result checked (the seed fired them
 * and never looked). With BOOKPIPE_REDSHIFT_EMULATE=postgres the plan runs on
 * a PostgreSQL server instead, for tests: step 2's COPY becomes an INSERT of
 * the same rows from the local stage, and the tables lose their Redshift-only
 * clauses (DISTKEY, SORTKEY, DISTSTYLE). That checks order, transactions and
 * error handling, not Redshift itself. */
#ifndef BP_REDSHIFT_H
#define BP_REDSHIFT_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/err.h"
#include "../wh/wh.h"

typedef struct {
    const char *schema;        /* live tables */
    const char *stage_schema;  /* on Redshift and in the local stage file */
    const char *lake;          /* s3://bucket/prefix */
    const char *iam_role;      /* the role Redshift assumes to read the lake */
    int64_t run_id;            /* the lake run to load */
    bool emulate;              /* PostgreSQL stand-in (see above) */
} rs_opts;

typedef enum { RS_SQL, RS_COPY, RS_LOCAL_ROWS } rs_kind;

typedef struct {
    rs_kind kind;
    char *sql;     /* RS_SQL, RS_COPY: the statement */
    int table;     /* RS_COPY, RS_LOCAL_ROWS: index into rs_tables */
    bool check;    /* RS_COPY, RS_LOCAL_ROWS: compare the stage's count after */
} rs_step;

typedef struct {
    rs_step *s;
    int n, cap;
} rs_plan;

/* books, users, ratings, quarantine, load_audit */
#define RS_NTABLES 5
extern const char *const rs_tables[RS_NTABLES];

/* Whether this environment asks for the PostgreSQL stand-in. */
bool rs_emulating(void);

/* What a Redshift load needs before anything runs: an S3 lake and an IAM
 * role (unless emulating). Checked when a run starts, so a usage mistake
 * is reported before the lake or the cluster are touched. */
BP_MUST bp_status rs_check_opts(const char *lake, const char *iam_role, bp_err *err);

BP_MUST bp_status rs_plan_build(const rs_opts *o, rs_plan *p, bp_err *err);
/* The plan as one SQL script (the golden form; local-rows steps as comments). */
void rs_plan_print(const rs_plan *p, FILE *f);
void rs_plan_free(rs_plan *p);

/* Run the plan on conn (Redshift, or PostgreSQL when emulating), reading
 * local rows from stage (the local DuckDB stage). *rows gets the rows
 * loaded into books, users and ratings. */
BP_MUST bp_status rs_load(wh *conn, wh *stage, const rs_opts *o, FILE *log, volatile sig_atomic_t *stop,
                  int64_t *rows, bp_err *err);

#endif
