/* block_int.h: what the block types' files share (internal to src/orch).
 *
 * Each block type has its file (block_<type>.c) with what its fingerprint
 * covers beyond its config and upstream (inputs), what it does (exec) and
 * whether its outputs still exist (outputs_ok); blocks.c dispatches on the
 * type and holds the stage helpers below. */
#ifndef BP_BLOCK_INT_H
#define BP_BLOCK_INT_H

#include "orch_int.h"

#include "../core/buf.h"
#include "../core/fp.h"

/* books, users, ratings: the tables a run loads and writes to the lake */
extern const char *const blk_tables[SRC_NTABLES];

BP_MUST bp_status blk_oom(bp_err *err);
/* The target is a file we open (DuckDB): it stages and writes the lake
 * itself; others stage into a local DuckDB copy for the lake. */
bool blk_embedded(const orun *r);
/* The stage stays local and the load comes from the S3 lake (Redshift). */
bool blk_from_lake(const orun *r);
/* The local DuckDB stage file of a run on a server target. */
BP_MUST bp_status blk_open_stage(const orun *r, bool read_only, wh **out, bp_err *err);
/* Where the data is, for a fingerprint (never a password). */
void blk_add_warehouse(fp_state *s, const orun *r);
/* Append the staged (or live) copy of table t to q; false: out of memory. */
bool blk_add_staged(buf *q, const orun *r, const char *t);
bool blk_add_live(buf *q, const orun *r, const char *t);
/* Is there a staged run (its load_audit) waiting? */
BP_MUST bp_status blk_is_staged(blk_ctx *c, bool *ok, bp_err *err);

/* The block types (block_<type>.c) */
BP_MUST bp_status blk_extract_inputs(blk_ctx *c, fp_state *s, bp_err *err);
BP_MUST bp_status blk_clean_exec(blk_ctx *c, bp_err *err);
BP_MUST bp_status blk_load_exec(blk_ctx *c, bp_err *err);
bool blk_load_outputs_ok(blk_ctx *c);
BP_MUST bp_status blk_lake_exec(blk_ctx *c, bp_err *err);
bool blk_lake_outputs_ok(blk_ctx *c);
BP_MUST bp_status blk_dbt_inputs(blk_ctx *c, fp_state *s, bp_err *err);
BP_MUST bp_status blk_dbt_exec(blk_ctx *c, bp_err *err);
BP_MUST bp_status blk_shell_exec(blk_ctx *c, bp_err *err);
BP_MUST bp_status blk_recommend_exec(blk_ctx *c, bp_err *err);
bool blk_recommend_outputs_ok(blk_ctx *c);

#endif
