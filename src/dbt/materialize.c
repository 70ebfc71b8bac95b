/* materialize.c: what running a node does on the warehouse: models (view,
 * table, incremental with append or delete+insert and on_schema_change),
 * seeds, snapshots (timestamp and check strategies) and tests, each with
 * its pre- and post-hooks. Tables and views are built aside and swapped in
 * within a transaction, so readers see the old relation or the new one. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbt_int.h"

/* ---- SQL helpers ------------------------------------------------------------------ */

static bp_status execf(wh *w, bp_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bp_status execf(wh *w, bp_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bp_status st = wh_exec(w, s, err);
    free(s);
    return st;
}

/* Run what q holds; unbuilt is true when building it failed (an
 * expression of buf_* calls joined by ||), so that a statement that could
 * not be built in full never runs. */
static bp_status exec_built(wh *w, bool unbuilt, buf *q, bp_err *err)
{
    if (unbuilt || !q->p)
        return bp_fail(err, BP_ENOMEM, "out of memory building a statement");
    return wh_exec(w, q->p, err);
}

struct kind_ctx {
    char type[32];
};

static int take_kind(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct kind_ctx *k = ctx;
    if (vals && nc && vals[0])
        snprintf(k->type, sizeof k->type, "%s", vals[0]);
    return 1;
}

bp_status dbt_mat_relation_kind(wh *w, const char *schema, const char *name, char *out, size_t n,
                            bp_err *err)
{
    buf sql = {0};
    struct kind_ctx k = {""};
    bp_status st = BP_ENOMEM;
    if (!buf_adds(&sql, "SELECT table_type FROM information_schema.tables WHERE table_schema = ") &&
        !wh_add_literal(w, &sql, schema) && !buf_adds(&sql, " AND table_name = ") &&
        !wh_add_literal(w, &sql, name))
        st = wh_query(w, sql.p, take_kind, &k, err);
    else
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    snprintf(out, n, "%s", k.type);
    return st;
}

static bp_status drop_relation(wh *w, const char *schema, const char *name, bp_err *err)
{
    char kind[32];
    if (dbt_mat_relation_kind(w, schema, name, kind, sizeof kind, err) != BP_OK)
        return BP_EWH;
    if (!*kind)
        return BP_OK;
    buf q = {0};
    /* drop_cascade: on PostgreSQL dependent views go too, as in dbt */
    bp_status st = exec_built(w, buf_adds(&q, strcmp(kind, "VIEW") == 0 ? "DROP VIEW " : "DROP TABLE ") ||
                                   buf_add_relation(&q, schema, name) || buf_adds(&q, wh_drop_cascade(w)),
                              &q, err);
    buf_free(&q);
    return st;
}

bp_status dbt_mat_ensure_schema(wh *w, const char *schema, bp_err *err)
{
    buf q = {0};
    bp_status st = exec_built(w, buf_adds(&q, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&q, schema),
                              &q, err);
    buf_free(&q);
    return st;
}

void dbt_mat_work_name(const char *ident, const char *suffix, char *out, size_t sz)
{
    /* PostgreSQL keeps 63 bytes of a name: a long identifier is cut before
     * the suffix (as dbt-postgres does), or its work table would be named
     * as the relation itself; cut at a character's start */
    size_t keep = strlen(ident), room = 63 > strlen(suffix) ? 63 - strlen(suffix) : 0;
    if (keep > room) {
        keep = room;
        while (keep && ((unsigned char)ident[keep] & 0xC0) == 0x80)
            keep--;
    }
    snprintf(out, sz, "%.*s%s", (int)keep, ident, suffix);
}

/* A name for a work relation next to n: <identifier>__dbt_<what> */
static void work_name(const node *n, const char *what, char *out, size_t sz)
{
    char suffix[64];
    snprintf(suffix, sizeof suffix, "__dbt_%s", what);
    dbt_mat_work_name(n->identifier, suffix, out, sz);
}

/* ---- columns ----------------------------------------------------------------------- */

void dbt_mat_colset_free(colset *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->types[i]);
    }
    free(c->names);
    free(c->types);
    memset(c, 0, sizeof *c);
}

static int take_col(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    colset *c = ctx;
    if (!vals || nc < 2 || !vals[0])
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **a = realloc(c->names, cap * sizeof *a), **b;
        if (!a)
            return 1;
        c->names = a;
        if (!(b = realloc(c->types, cap * sizeof *b)))
            return 1;
        c->types = b;
        c->cap = cap;
    }
    c->names[c->n] = strdup(vals[0]);
    c->types[c->n] = strdup(vals[1] ? vals[1] : "text");
    if (c->names[c->n] && c->types[c->n])
        c->n++;
    return 0;
}

bp_status dbt_mat_columns(wh *w, const char *schema, const char *name, colset *out, bp_err *err)
{
    buf q = {0};
    bp_status st = BP_ENOMEM;
    if (buf_adds(&q, "SELECT column_name, data_type FROM information_schema.columns WHERE "
                     "table_schema = ") || wh_add_literal(w, &q, schema) ||
        buf_adds(&q, " AND table_name = ") || wh_add_literal(w, &q, name) ||
        buf_adds(&q, " ORDER BY ordinal_position"))
        bp_fail(err, st, "out of memory");
    else
        st = wh_query(w, q.p, take_col, out, err);
    buf_free(&q);
    return st;
}

static bool has_col(const colset *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcasecmp(c->names[i], name))
            return true;
    return false;
}

static bp_status col_list(buf *b, const colset *c)
{
    for (size_t i = 0; i < c->n; i++)
        if ((i && buf_adds(b, ", ")) || buf_add_ident(b, c->names[i]))
            return BP_ENOMEM;
    return BP_OK;
}

/* ---- models ------------------------------------------------------------------------- */

/* Build into <name>__dbt_tmp and swap it in, in one transaction. */
static bp_status build_swap(project *p, wh *w, node *n, bool view, bp_err *err)
{
    (void)p;
    char tmpname[600];
    work_name(n, "tmp", tmpname, sizeof tmpname);
    bp_status st;
    if ((st = wh_begin(w, err)) != BP_OK)
        return st;
    buf q = {0};
    if ((st = drop_relation(w, n->schema, tmpname, err)) == BP_OK)
        st = exec_built(w, buf_printf(&q, "CREATE %s ", view ? "VIEW" : "TABLE") ||
                               buf_add_relation(&q, n->schema, tmpname) ||
                               buf_printf(&q, " AS (\n%s\n)", n->compiled), &q, err);
    if (st == BP_OK && (st = drop_relation(w, n->schema, n->identifier, err)) == BP_OK) {
        buf_reset(&q);
        st = exec_built(w, buf_printf(&q, "ALTER %s ", view ? "VIEW" : "TABLE") ||
                               buf_add_relation(&q, n->schema, tmpname) || buf_adds(&q, " RENAME TO ") ||
                               buf_add_ident(&q, n->identifier), &q, err);
    }
    buf_free(&q);
    if (st == BP_OK)
        return wh_commit(w, err);
    wh_rollback(w);
    return st;
}

/* on_schema_change for an incremental model whose query's columns differ
 * from the table's: ignore, fail, append_new_columns, sync_all_columns. */
static bp_status schema_change(wh *w, node *n, const colset *target, const colset *src,
                               bp_err *err)
{
    const char *mode = dbt_cfg_str(n, "on_schema_change");
    if (!mode || !strcmp(mode, "ignore"))
        return BP_OK;
    bool differ = target->n != src->n;
    for (size_t i = 0; i < src->n && !differ; i++)
        differ = !has_col(target, src->names[i]);
    if (!differ)
        return BP_OK;
    if (!strcmp(mode, "fail"))
        return bp_fail(err, BP_EINPUT, "The source and target schemas on this incremental model "
                       "are out of sync (on_schema_change: fail); run with --full-refresh or "
                       "change on_schema_change");
    bp_status st = BP_OK;
    for (size_t i = 0; i < src->n && st == BP_OK; i++) {
        if (has_col(target, src->names[i]))
            continue;
        buf q = {0};
        st = exec_built(w, buf_adds(&q, "ALTER TABLE ") || buf_add_relation(&q, n->schema, n->identifier) ||
                               buf_adds(&q, " ADD COLUMN ") || buf_add_ident(&q, src->names[i]) ||
                               buf_printf(&q, " %s", src->types[i]), &q, err);
        buf_free(&q);
    }
    if (!strcmp(mode, "sync_all_columns"))
        for (size_t i = 0; i < target->n && st == BP_OK; i++) {
            if (has_col(src, target->names[i]))
                continue;
            buf q = {0};
            st = exec_built(w, buf_adds(&q, "ALTER TABLE ") || buf_add_relation(&q, n->schema, n->identifier) ||
                                   buf_adds(&q, " DROP COLUMN ") || buf_add_ident(&q, target->names[i]),
                            &q, err);
            buf_free(&q);
        }
    return st;
}

static bp_status incremental(project *p, wh *w, node *n, bp_err *err)
{
    (void)p;
    char tmpname[600];
    work_name(n, "tmp", tmpname, sizeof tmpname);
    colset target = {0}, src = {0};
    buf q = {0};
    bp_status st;
    if ((st = wh_begin(w, err)) != BP_OK)
        return st;
    if ((st = exec_built(w, buf_adds(&q, "CREATE TEMPORARY TABLE ") || buf_add_ident(&q, tmpname) ||
                                buf_printf(&q, " AS (\n%s\n)", n->compiled), &q, err)) != BP_OK)
        goto fail;
    /* the temporary table's columns: its schema is the engine's own */
    buf_reset(&q);
    if (buf_adds(&q, "SELECT column_name, data_type FROM information_schema.columns WHERE "
                     "table_name = ") || wh_add_literal(w, &q, tmpname) ||
        buf_adds(&q, " AND table_schema NOT IN (") || wh_add_literal(w, &q, n->schema) ||
        buf_adds(&q, ") ORDER BY ordinal_position")) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto fail;
    }
    if ((st = wh_query(w, q.p, take_col, &src, err)) != BP_OK ||
        (st = dbt_mat_columns(w, n->schema, n->identifier, &target, err)) != BP_OK ||
        (st = schema_change(w, n, &target, &src, err)) != BP_OK)
        goto fail;
    dbt_mat_colset_free(&target);
    if ((st = dbt_mat_columns(w, n->schema, n->identifier, &target, err)) != BP_OK)
        goto fail;
    /* insert the columns both have (on_schema_change: ignore leaves the rest) */
    colset both = {0};
    for (size_t i = 0; i < target.n; i++)
        if (has_col(&src, target.names[i])) {
            const char *v[2] = {target.names[i], target.types[i]};
            take_col(&both, 2, NULL, v);
        }
    const char *strategy = n->cfg.incremental_strategy;
    bool delete_first = n->cfg.unique_key && (!strategy || !strcmp(strategy, "delete+insert") ||
                                              !strcmp(strategy, "merge") ||
                                              !strcmp(strategy, "default"));
    if (strategy && strcmp(strategy, "append") && strcmp(strategy, "delete+insert") &&
        strcmp(strategy, "merge") && strcmp(strategy, "default")) {
        dbt_mat_colset_free(&both);
        st = bp_fail(err, BP_EINPUT, "incremental_strategy '%s' is not supported (append, "
                     "delete+insert, merge)", strategy);
        goto fail;
    }
    if (delete_first) {
        buf_reset(&q);
        if ((st = exec_built(w, buf_adds(&q, "DELETE FROM ") || buf_add_relation(&q, n->schema, n->identifier) ||
                                    buf_printf(&q, " WHERE (%s) IN (SELECT DISTINCT %s FROM ",
                                               n->cfg.unique_key, n->cfg.unique_key) ||
                                    buf_add_ident(&q, tmpname) || buf_addc(&q, ')'), &q, err)) != BP_OK) {
            dbt_mat_colset_free(&both);
            goto fail;
        }
    }
    buf_reset(&q);
    bool unbuilt = buf_adds(&q, "INSERT INTO ") || buf_add_relation(&q, n->schema, n->identifier) ||
                      buf_adds(&q, " (") || col_list(&q, &both) || buf_adds(&q, ") SELECT ") ||
                      col_list(&q, &both) || buf_adds(&q, " FROM ") || buf_add_ident(&q, tmpname);
    dbt_mat_colset_free(&both);
    if ((st = exec_built(w, unbuilt, &q, err)) != BP_OK)
        goto fail;
    buf_reset(&q);
    if ((st = exec_built(w, buf_adds(&q, "DROP TABLE ") || buf_add_ident(&q, tmpname), &q, err)) != BP_OK)
        goto fail;
    buf_free(&q);
    dbt_mat_colset_free(&target);
    dbt_mat_colset_free(&src);
    return wh_commit(w, err);
fail:
    wh_rollback(w);
    buf_free(&q);
    dbt_mat_colset_free(&target);
    dbt_mat_colset_free(&src);
    return st;
}

bp_status dbt_mat_model(project *p, wh *w, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    bp_status st = dbt_mat_ensure_schema(w, n->schema, err);
    if (st != BP_OK)
        return st;
    const char *m = n->cfg.materialized;
    bool inc = false;
    bool full = n->cfg.full_refresh >= 0 ? n->cfg.full_refresh : p->opts.full_refresh;
    if (!strcmp(m, "incremental") && !full) {
        char kind[32];
        if ((st = dbt_mat_relation_kind(w, n->schema, n->identifier, kind, sizeof kind, err)) != BP_OK)
            return st;
        inc = strcmp(kind, "BASE TABLE") == 0;
    }
    if ((st = dbt_compile_node(p, i, w, inc, err)) != BP_OK)
        return st;
    if ((st = dbt_compile_run_hooks(p, i, w, "pre-hook", err)) != BP_OK)
        return st;
    st = inc ? incremental(p, w, n, err) : build_swap(p, w, n, !strcmp(m, "view"), err);
    if (st == BP_OK)
        st = dbt_compile_run_hooks(p, i, w, "post-hook", err);
    return st;
}

/* ---- seeds ------------------------------------------------------------------------- */

static char seed_delimiter(const node *n)
{
    const char *d = dbt_cfg_str(n, "delimiter");
    if (!d || !*d)
        return ',';
    if (!strcmp(d, "\\t"))
        return '\t';
    return d[0];
}

/* CREATE TABLE for a seed: column_types where given, else agate's guess */
static bp_status seed_create_sql(project *p, const node *n, const seed_data *s, const char *tmpname,
                                 buf *q)
{
    jv *qc = dbt_cfg_get(n, "quote_columns");
    bool quote = !qc || qc->type == JV_NONE || jv_truthy(qc);
    jv *types = dbt_cfg_get(n, "column_types");
    if (buf_adds(q, "CREATE TABLE ") || buf_add_relation(q, n->schema, tmpname) || buf_adds(q, " ("))
        return BP_ENOMEM;
    for (size_t c = 0; c < s->ncols; c++) {
        const jv *t = types && types->type == JV_DICT ? jv_dict_get(types, s->names[c]) : NULL;
        if (buf_adds(q, c ? ", " : "") ||
            (quote ? buf_add_ident(q, s->names[c]) : buf_adds(q, s->names[c])) ||
            buf_printf(q, " %s", t && t->type == JV_STR ? t->u.s.p
                                                        : dbt_seed_infer_type(s, c, p->wops)))
            return BP_ENOMEM;
    }
    return buf_addc(q, ')');
}

/* INSERT of rows [r0, r1) as string literals */
static bp_status seed_insert_sql(wh *w, const node *n, const seed_data *s, const char *tmpname,
                                 size_t r0, size_t r1, buf *q)
{
    if (buf_adds(q, "INSERT INTO ") || buf_add_relation(q, n->schema, tmpname) || buf_adds(q, " VALUES "))
        return BP_ENOMEM;
    for (size_t row = r0; row < r1; row++) {
        if (buf_adds(q, row > r0 ? ",(" : "("))
            return BP_ENOMEM;
        for (size_t c = 0; c < s->ncols; c++) {
            const char *v = s->cells[row * s->ncols + c];
            if (buf_adds(q, c ? "," : "") || (v ? wh_add_literal(w, q, v) : buf_adds(q, "NULL")))
                return BP_ENOMEM;
        }
        if (buf_addc(q, ')'))
            return BP_ENOMEM;
    }
    return BP_OK;
}

bp_status dbt_mat_seed(project *p, wh *w, int i, long long *rows, bp_err *err)
{
    node *n = &p->nodes[i];
    seed_data s = {0};
    bp_status st = dbt_seed_read(n, seed_delimiter(n), &s, err);
    buf q = {0};
    char tmpname[600];
    work_name(n, "tmp", tmpname, sizeof tmpname);
    if (st != BP_OK)
        goto done;
    if ((st = dbt_mat_ensure_schema(w, n->schema, err)) != BP_OK || (st = wh_begin(w, err)) != BP_OK)
        goto done;
    if ((st = drop_relation(w, n->schema, tmpname, err)) != BP_OK)
        goto fail;
    if ((st = exec_built(w, seed_create_sql(p, n, &s, tmpname, &q), &q, err)) != BP_OK)
        goto fail;
    /* rows go in as string literals, in batches of 10,000 as dbt does */
    for (size_t r0 = 0; r0 < s.rows; r0 += 10000) {
        size_t r1 = s.rows - r0 > 10000 ? r0 + 10000 : s.rows;
        buf_reset(&q);
        if ((st = exec_built(w, seed_insert_sql(w, n, &s, tmpname, r0, r1, &q), &q, err)) != BP_OK)
            goto fail;
    }
    if ((st = drop_relation(w, n->schema, n->identifier, err)) != BP_OK)
        goto fail;
    buf_reset(&q);
    if ((st = exec_built(w, buf_adds(&q, "ALTER TABLE ") || buf_add_relation(&q, n->schema, tmpname) ||
                                buf_adds(&q, " RENAME TO ") || buf_add_ident(&q, n->identifier),
                         &q, err)) != BP_OK)
        goto fail;
    if ((st = wh_commit(w, err)) == BP_OK)
        st = dbt_compile_run_hooks(p, i, w, "post-hook", err);
    *rows = (long long)s.rows;
    goto done;
fail:
    wh_rollback(w);
done:
    if (st != BP_OK && err)
        bp_err_prefix(err, "%s", n->path);
    buf_free(&q);
    dbt_seed_free(&s);
    return st;
}

/* ---- snapshots -------------------------------------------------------------------------- */

typedef struct {
    const char *scd_id, *updated_at, *valid_from, *valid_to;
} snap_cols;

static void snap_names(const node *n, snap_cols *c)
{
    jv *m = dbt_cfg_get(n, "snapshot_meta_column_names");
    const char *names[4] = {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"};
    const char *keys[4] = {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"};
    for (int i = 0; m && m->type == JV_DICT && i < 4; i++) {
        jv *v = jv_dict_get(m, keys[i]);
        if (v && v->type == JV_STR)
            names[i] = v->u.s.p;
    }
    *c = (snap_cols){names[0], names[1], names[2], names[3]};
}

/* The text of a config value that may be a list (check_cols, unique_key). */
static bp_status cfg_list(const node *n, const char *key, buf *out, const char *prefix)
{
    jv *v = dbt_cfg_get(n, key);
    if (!v || v->type == JV_NONE)
        return BP_EINPUT;
    if (v->type == JV_STR)
        return buf_printf(out, "%s%s", prefix, v->u.s.p);
    for (size_t i = 0; v->type == JV_LIST && i < v->u.l.n; i++)
        if (buf_printf(out, "%s%s", i ? ", " : "", prefix) || jv_to_str(v->u.l.items[i], out))
            return BP_ENOMEM;
    return BP_OK;
}

/* md5 of the unique key and the change marker: dbt's scd id */
static bp_status scd_expr(buf *q, const char *key, const char *updated)
{
    return buf_printf(q, "md5(coalesce(cast(%s as varchar), '') || '|' || coalesce(cast(%s as varchar), ''))",
               key, updated);
}

/* The first run: everything, valid from now on */
static bp_status snap_first_sql(const node *n, const snap_cols *sc, const char *key, const char *upd,
                                buf *q)
{
    if (buf_adds(q, "CREATE TABLE ") || buf_add_relation(q, n->schema, n->identifier) ||
        buf_adds(q, " AS (\nselect *, ") || scd_expr(q, key, upd))
        return BP_ENOMEM;
    return buf_printf(q, " as %s, cast(%s as timestamp) as %s, cast(%s as timestamp) as %s, "
                      "cast(null as timestamp) as %s\nfrom (\n%s\n) sbq\n)", sc->scd_id, upd,
                      sc->updated_at, upd, sc->valid_from, sc->valid_to, n->compiled);
}

/* check_cols: all: every column of the query, read from a temporary table of it */
static bp_status snap_all_cols(wh *w, const node *n, buf *cols, bp_err *err)
{
    colset all = {0};
    bp_status st = execf(w, err, "CREATE TEMPORARY TABLE dbt_snapshot_cols AS SELECT * FROM "
                         "(\n%s\n) q LIMIT 0", n->compiled);
    if (st == BP_OK)
        st = wh_query(w, "SELECT column_name, data_type FROM information_schema.columns WHERE "
                         "table_name = 'dbt_snapshot_cols' ORDER BY ordinal_position",
                      take_col, &all, err);
    if (st == BP_OK)
        st = wh_exec(w, "DROP TABLE dbt_snapshot_cols", err);
    for (size_t k = 0; st == BP_OK && k < all.n; k++)
        if (buf_adds(cols, k ? ", " : "") || buf_add_ident(cols, all.names[k]))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    dbt_mat_colset_free(&all);
    return st;
}

/* What changed: a newer updated_at, or any of check_cols differs (null-safe) */
static bp_status snap_changed(wh *w, const node *n, const snap_cols *sc, bool ts, buf *changed,
                              bp_err *err)
{
    if (ts)
        return buf_printf(changed, "snapshotted_data.%s < source_data.dbt_new_updated_at",
                          sc->valid_from) ? bp_fail(err, BP_ENOMEM, "out of memory") : BP_OK;
    buf cols = {0};
    jv *cc = dbt_cfg_get(n, "check_cols");
    bp_status st = BP_OK;
    if (cc && cc->type == JV_STR && !strcmp(cc->u.s.p, "all"))
        st = snap_all_cols(w, n, &cols, err);
    else if (cfg_list(n, "check_cols", &cols, "") != BP_OK)
        st = bp_fail(err, BP_EINPUT, "%s: a check snapshot needs check_cols", n->file);
    char *save = NULL, *list = st == BP_OK ? strdup(cols.p ? cols.p : "") : NULL;
    bool first = true;
    if (st == BP_OK && !list)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    for (char *c = list ? strtok_r(list, ",", &save) : NULL; c && st == BP_OK;
         c = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*c))
            c++;
        if (buf_printf(changed, "%s(snapshotted_data.%s is distinct from source_data.%s)",
                       first ? "" : " or ", c, c))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        first = false;
    }
    if (st == BP_OK && first && buf_adds(changed, "false"))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    free(list);
    buf_free(&cols);
    return st;
}

/* The staging table: each key's change (insert, update, delete) */
static bp_status snap_staging_sql(const node *n, const snap_cols *sc, const char *key,
                                  const char *upd, const char *changed, const char *tmp, buf *q)
{
    jv *hd = dbt_cfg_get(n, "invalidate_hard_deletes");
    const char *hard = dbt_cfg_str(n, "hard_deletes");
    bool deletes = (hd && jv_truthy(hd)) || (hard && !strcmp(hard, "invalidate"));
    if (buf_printf(q, "CREATE TEMPORARY TABLE %s AS (\nwith snapshot_query as (\n%s\n),\n"
                   "snapshotted_data as (\n  select *, %s as dbt_unique_key from ", tmp,
                   n->compiled, key) ||
        buf_add_relation(q, n->schema, n->identifier) ||
        buf_printf(q, " where %s is null\n),\nsource_data as (\n  select *, %s as dbt_unique_key, "
                   "cast(%s as timestamp) as dbt_new_updated_at from snapshot_query\n),\n",
                   sc->valid_to, key, upd) ||
        buf_printf(q, "insertions as (\n  select 'insert' as dbt_change_type, source_data.* from "
                   "source_data left join snapshotted_data on snapshotted_data.dbt_unique_key = "
                   "source_data.dbt_unique_key\n  where snapshotted_data.dbt_unique_key is null or "
                   "(%s)\n),\n", changed) ||
        buf_printf(q, "updates as (\n  select 'update' as dbt_change_type, source_data.*, "
                   "snapshotted_data.%s as dbt_old_scd_id from source_data join snapshotted_data on "
                   "snapshotted_data.dbt_unique_key = source_data.dbt_unique_key\n  where %s\n)\n",
                   sc->scd_id, changed) ||
        buf_adds(q, "select dbt_change_type, dbt_unique_key, dbt_new_updated_at, null as "
                 "dbt_old_scd_id from insertions union all select dbt_change_type, dbt_unique_key, "
                 "dbt_new_updated_at, dbt_old_scd_id from updates"))
        return BP_ENOMEM;
    if (deletes &&
        buf_printf(q, " union all select 'delete', snapshotted_data.dbt_unique_key, "
                   "current_timestamp, snapshotted_data.%s from snapshotted_data left join "
                   "source_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key "
                   "where source_data.dbt_unique_key is null", sc->scd_id))
        return BP_ENOMEM;
    return buf_addc(q, ')');
}

/* Close the old versions of changed and deleted rows */
static bp_status snap_close_sql(const node *n, const snap_cols *sc, const char *tmp, buf *q)
{
    if (buf_adds(q, "UPDATE ") || buf_add_relation(q, n->schema, n->identifier) ||
        buf_printf(q, " SET %s = s.dbt_new_updated_at FROM %s s WHERE s.dbt_old_scd_id = ",
                   sc->valid_to, tmp) ||
        buf_add_relation(q, n->schema, n->identifier) ||
        buf_printf(q, ".%s AND s.dbt_change_type IN ('update', 'delete') AND ", sc->scd_id) ||
        buf_add_relation(q, n->schema, n->identifier))
        return BP_ENOMEM;
    return buf_printf(q, ".%s IS NULL", sc->valid_to);
}

/* New versions: the query's rows for the inserted and updated keys */
static bp_status snap_insert_sql(const node *n, const snap_cols *sc, const colset *target,
                                 const char *key, const char *upd, const char *tmp, buf *q)
{
    if (buf_adds(q, "INSERT INTO ") || buf_add_relation(q, n->schema, n->identifier) || buf_adds(q, " (") ||
        col_list(q, target) || buf_adds(q, ")\nselect "))
        return BP_ENOMEM;
    for (size_t k = 0; k < target->n; k++) {
        const char *c = target->names[k];
        bp_status st = buf_adds(q, k ? ", " : "");
        if (st != BP_OK)
            return st;
        if (!strcmp(c, sc->scd_id))
            st = scd_expr(q, "sq.dbt_unique_key", "sq.dbt_new_updated_at");
        else if (!strcmp(c, sc->updated_at) || !strcmp(c, sc->valid_from))
            st = buf_adds(q, "sq.dbt_new_updated_at");
        else if (!strcmp(c, sc->valid_to))
            st = buf_adds(q, "cast(null as timestamp)");
        else if ((st = buf_adds(q, "sq.")) == BP_OK)
            st = buf_add_ident(q, c);
        if (st != BP_OK)
            return st;
    }
    return buf_printf(q, "\nfrom (select *, %s as dbt_unique_key, cast(%s as timestamp) as "
                      "dbt_new_updated_at from (\n%s\n) q) sq\nwhere sq.dbt_unique_key in (select "
                      "dbt_unique_key from %s where dbt_change_type in ('insert', 'update'))",
                      key, upd, n->compiled, tmp);
}

/* A later run: stage the changes, close the old versions, add the new */
static bp_status snap_update(wh *w, const node *n, const snap_cols *sc, const char *key,
                             const char *upd, bool ts, bp_err *err)
{
    const char *tmp = "dbt_snapshot_staging";
    buf q = {0}, changed = {0};
    colset target = {0};
    bp_status st = snap_changed(w, n, sc, ts, &changed, err);
    if (st == BP_OK)
        st = exec_built(w, snap_staging_sql(n, sc, key, upd, changed.p, tmp, &q), &q, err);
    if (st == BP_OK) {
        buf_reset(&q);
        st = exec_built(w, snap_close_sql(n, sc, tmp, &q), &q, err);
    }
    if (st == BP_OK)
        st = dbt_mat_columns(w, n->schema, n->identifier, &target, err);
    if (st == BP_OK) {
        buf_reset(&q);
        st = exec_built(w, snap_insert_sql(n, sc, &target, key, upd, tmp, &q), &q, err);
    }
    if (st == BP_OK)
        st = execf(w, err, "DROP TABLE %s", tmp);
    dbt_mat_colset_free(&target);
    buf_free(&q);
    buf_free(&changed);
    return st;
}

bp_status dbt_mat_snapshot(project *p, wh *w, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    const char *strategy = dbt_cfg_str(n, "strategy");
    const char *key = n->cfg.unique_key;
    if (!strategy || (strcmp(strategy, "timestamp") && strcmp(strategy, "check")))
        return bp_fail(err, BP_EINPUT, "%s: snapshot '%s' needs strategy: timestamp or check",
                       n->file, n->name);
    if (!key)
        return bp_fail(err, BP_EINPUT, "%s: snapshot '%s' needs a unique_key", n->file, n->name);
    bool ts = !strcmp(strategy, "timestamp");
    const char *updated_at = dbt_cfg_str(n, "updated_at");
    if (ts && !updated_at)
        return bp_fail(err, BP_EINPUT, "%s: a timestamp snapshot needs updated_at", n->file);
    snap_cols sc;
    snap_names(n, &sc);
    bp_status st = dbt_mat_ensure_schema(w, n->schema, err);
    if (st != BP_OK || (st = dbt_compile_node(p, i, w, false, err)) != BP_OK ||
        (st = dbt_compile_run_hooks(p, i, w, "pre-hook", err)) != BP_OK)
        return st;
    char kind[32];
    if ((st = dbt_mat_relation_kind(w, n->schema, n->identifier, kind, sizeof kind, err)) != BP_OK)
        return st;
    /* the change marker: updated_at, or now for check */
    const char *upd = ts ? updated_at : "current_timestamp";
    if ((st = wh_begin(w, err)) != BP_OK)
        return st;
    if (!*kind) {
        buf q = {0};
        st = exec_built(w, snap_first_sql(n, &sc, key, upd, &q), &q, err);
        buf_free(&q);
    } else
        st = snap_update(w, n, &sc, key, upd, ts, err);
    if (st == BP_OK && (st = wh_commit(w, err)) == BP_OK)
        return dbt_compile_run_hooks(p, i, w, "post-hook", err);
    wh_rollback(w);
    return st;
}

/* ---- tests ------------------------------------------------------------------------- */

struct test_ctx {
    long long failures;
    bool warn, error, got;
};

static bool truth(const char *v) { return v && (!strcmp(v, "true") || !strcmp(v, "t") || !strcmp(v, "1")); }

static int take_result(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct test_ctx *t = ctx;
    if (vals && nc >= 3) {
        t->failures = vals[0] ? strtoll(vals[0], NULL, 10) : 0;
        t->warn = truth(vals[1]);
        t->error = truth(vals[2]);
        t->got = true;
    }
    return 1;
}

/* store_failures: the failing rows kept in <schema>.<test name> */
static bp_status store_failures(project *p, wh *w, node *n, bp_err *err)
{
    (void)p;
    bp_status st = dbt_mat_ensure_schema(w, n->schema, err);
    if (st == BP_OK && (st = drop_relation(w, n->schema, n->identifier, err)) == BP_OK) {
        buf q = {0};
        st = exec_built(w, buf_adds(&q, "CREATE TABLE ") || buf_add_relation(&q, n->schema, n->identifier) ||
                               buf_printf(&q, " AS (\n%s\n)", n->test_sql ? n->test_sql
                                                                          : "select 1 where false"),
                        &q, err);
        buf_free(&q);
    }
    return st;
}

bp_status dbt_mat_test(project *p, wh *w, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    bp_status st = dbt_compile_node(p, i, w, false, err);
    if (st != BP_OK)
        return st;
    if ((n->cfg.store_failures || p->opts.store_failures) &&
        (st = store_failures(p, w, n, err)) != BP_OK)
        return st;
    struct test_ctx t = {0, false, false, false};
    if ((st = wh_query(w, n->compiled, take_result, &t, err)) != BP_OK)
        return st;
    n->failures = t.failures;
    bool warn_sev = n->cfg.severity && !strcasecmp(n->cfg.severity, "warn");
    if (!warn_sev && t.error)
        n->status = ST_FAIL;
    else if (t.warn)
        n->status = ST_WARN;
    else
        n->status = ST_PASS;
    return BP_OK;
}
