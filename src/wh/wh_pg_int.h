/* wh_pg_int.h: the PostgreSQL protocol's operations, shared by the
 * targets that speak it (wh_pg.c: PostgreSQL; wh_redshift.c: Redshift).
 * Internal to src/wh. */
#ifndef BP_WH_PG_INT_H
#define BP_WH_PG_INT_H

#include "wh.h"

/* Connect with cfg's DSN (or the PG* variables) after the given default
 * keywords (NULL-terminated), which the DSN and the environment override;
 * the wh answers to ops. */
BP_MUST bp_status pg_connect_as(const wh_config *cfg, const wh_ops *ops, const char *const *dkeys,
                                const char *const *dvals, wh **out, bp_err *err);

void pg_close(wh *w);
BP_MUST bp_status pg_exec(wh *w, const char *sql, bp_err *err);
BP_MUST bp_status pg_query(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err);
BP_MUST bp_status pg_query_params(wh *w, const char *sql, int np, const char *const *params,
                                  wh_row_fn fn, void *ctx, bp_err *err);
BP_MUST bp_status pg_query_user(wh *w, const char *sql, const wh_user_query *q, wh_row_fn fn,
                                void *ctx, bool *truncated, bp_err *err);
BP_MUST bp_status pg_load_begin(wh *w, const char *schema, const table_def *def, wh_loader **out,
                                bp_err *err);
BP_MUST bp_status pg_load_batch(wh_loader *l, const batch *b, bp_err *err);
BP_MUST bp_status pg_load_end(wh_loader *l, bp_err *err);
BP_MUST bp_status pg_connect_more(wh *w, wh **out, bp_err *err);
BP_MUST bp_status pg_replace_table(wh *w, const char *schema, const table_def *def, bp_err *err);
BP_MUST bp_status pg_reader_dsn(wh *w, const char *const *schemas, int n, buf *out, char *note,
                                size_t note_n, bp_err *err);

/* The operations both targets share; each adds its name, traits, open and
 * loading. */
#define PG_FAMILY_OPS                                                                     \
    .close = pg_close, .exec = pg_exec, .query = pg_query, .connect_more = pg_connect_more, \
    .query_params = pg_query_params, .replace_table = pg_replace_table,                   \
    .query_user = pg_query_user, .reader_dsn = pg_reader_dsn, .drop_cascade = " CASCADE"

#endif
