/* relation.c: the objects dbt hands templates: Relations (what ref(),
 * source() and this are), Columns (adapter.get_columns_in_relation) and
 * the agate-like result tables of run_query and load_result, with the
 * attributes and methods dbt projects and packages use on them. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbt_int.h"

#define RA(rt) jinja_rt_arena(rt)

static jv *mkstr(arena *a, const char *s) { return s ? jv_strz(a, s) : jv_none(a); }

static bp_status ret(jinja_rt *rt, jv **out, jv *v)
{
    *out = v;
    return v ? BP_OK : jinja_fail(rt, "out of memory");
}

/* ---- Relations ------------------------------------------------------------------------ */

typedef struct {
    dbt_rel r;
    const project *p;
} relobj;

static const jv_obj_ops rel_ops;

bool dbt_rel_from(const jv *v, dbt_rel *out)
{
    if (!v || v->type != JV_OBJ || v->u.obj.ops != &rel_ops)
        return false;
    *out = ((const relobj *)v->u.obj.self)->r;
    return true;
}

static const char *adup(arena *a, const char *s) { return s ? arena_strndup(a, s, strlen(s)) : NULL; }

jv *dbt_rel_new(arena *a, const project *p, const dbt_rel *r)
{
    relobj *o = arena_alloc(a, sizeof *o);
    if (!o)
        return NULL;
    o->p = p;
    o->r = *r;
    o->r.database = adup(a, r->database);
    o->r.schema = adup(a, r->schema);
    o->r.identifier = adup(a, r->identifier);
    o->r.type = adup(a, r->type);
    o->r.cte = adup(a, r->cte);
    return jv_obj(a, &rel_ops, o);
}

static bp_status add_part(buf *out, const char *s, bool quote)
{
    if (out->len && buf_addc(out, '.'))
        return BP_ENOMEM;
    return quote ? buf_add_ident(out, s) : buf_adds(out, s);
}

bp_status dbt_rel_render(const project *p, const dbt_rel *r, buf *out)
{
    if (r->cte)
        return buf_adds(out, r->cte);
    buf b = {0};
    bp_status st = BP_OK;
    /* the target's own database is left out: one name works on every
     * connection, whatever the file or catalog is called */
    bool db = r->inc_db && r->database && *r->database &&
              !(p && p->target_db && strcmp(r->database, p->target_db) == 0);
    if (db)
        st = add_part(&b, r->database, r->q_db);
    if (st == BP_OK && r->inc_schema && r->schema && *r->schema)
        st = add_part(&b, r->schema, r->q_schema);
    if (st == BP_OK && r->inc_ident && r->identifier && *r->identifier)
        st = add_part(&b, r->identifier, r->q_ident);
    if (st == BP_OK)
        st = buf_add(out, b.p ? b.p : "", b.len);
    buf_free(&b);
    return st;
}

/* As text: the name, or under --empty a subquery of none of its rows
 * (dbt's render_limited; .render() keeps the name). PostgreSQL before 16
 * wants the subquery named; DuckDB does not, and without the name
 * `from {{ ref('x') }} x` still reads (dbt-duckdb's require_alias off). */
static bp_status rel_str(jinja_rt *rt, void *self, buf *out)
{
    relobj *o = self;
    bool empty = o->r.empty;
    bool alias = empty && (!o->p || o->p->wops->subquery_alias);
    if ((empty && buf_adds(out, "(select * from ")) || dbt_rel_render(o->p, &o->r, out) != BP_OK ||
        (empty && buf_adds(out, " where false limit 0)")) ||
        (alias && buf_printf(out, " _dbt_limit_subq_%s", o->r.identifier ? o->r.identifier : "")))
        return jinja_fail(rt, "out of memory");
    return BP_OK;
}

static bool rel_eq(const void *self, const jv *other)
{
    dbt_rel b;
    const relobj *o = self;
    buf x = {0}, y = {0};
    bool same = false;
    if (dbt_rel_from(other, &b)) {
        same = dbt_rel_render(o->p, &o->r, &x) == BP_OK && dbt_rel_render(o->p, &b, &y) == BP_OK &&
               strcmp(x.p ? x.p : "", y.p ? y.p : "") == 0;
    } else if (other->type == JV_STR) {
        same = dbt_rel_render(o->p, &o->r, &x) == BP_OK && strcmp(x.p ? x.p : "", other->u.s.p) == 0;
    }
    buf_free(&x);
    buf_free(&y);
    return same;
}

static bool arg_bool(const jv_args *a, const char *kw, bool dflt)
{
    const jv *v = jinja_arg(a, (size_t)-1, kw);
    return v && v->type != JV_UNDEF ? jv_truthy(v) : dflt;
}

static const char *arg_str(const jv_args *a, size_t i, const char *kw)
{
    const jv *v = jinja_arg(a, i, kw);
    return v && v->type == JV_STR ? v->u.s.p : NULL;
}

/* relation.include(database=, schema=, identifier=) and quote(...) */
static bp_status m_include(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    dbt_rel r = o->r;
    r.inc_db = arg_bool(a, "database", r.inc_db);
    r.inc_schema = arg_bool(a, "schema", r.inc_schema);
    r.inc_ident = arg_bool(a, "identifier", r.inc_ident);
    return ret(rt, out, dbt_rel_new(RA(rt), o->p, &r));
}

static bp_status m_quote(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    dbt_rel r = o->r;
    r.q_db = arg_bool(a, "database", r.q_db);
    r.q_schema = arg_bool(a, "schema", r.q_schema);
    r.q_ident = arg_bool(a, "identifier", r.q_ident);
    return ret(rt, out, dbt_rel_new(RA(rt), o->p, &r));
}

/* Fields of a path dict ({"database": ..., "schema": ..., "identifier": ...}). */
static void take_path(dbt_rel *r, const jv *path)
{
    if (!path || path->type != JV_DICT)
        return;
    const jv *v;
    if ((v = jv_dict_get(path, "database")) && (v->type == JV_STR || v->type == JV_NONE))
        r->database = v->type == JV_STR ? v->u.s.p : NULL;
    if ((v = jv_dict_get(path, "schema")) && (v->type == JV_STR || v->type == JV_NONE))
        r->schema = v->type == JV_STR ? v->u.s.p : NULL;
    if ((v = jv_dict_get(path, "identifier")) && (v->type == JV_STR || v->type == JV_NONE))
        r->identifier = v->type == JV_STR ? v->u.s.p : NULL;
}

static bp_status m_incorporate(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    dbt_rel r = o->r;
    take_path(&r, jinja_arg(a, (size_t)-1, "path"));
    const char *t = arg_str(a, (size_t)-1, "type");
    if (t)
        r.type = t;
    return ret(rt, out, dbt_rel_new(RA(rt), o->p, &r));
}

static bp_status m_replace_path(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    dbt_rel r = o->r;
    for (size_t i = 0; i < a->nkw; i++) {
        const jv *v = a->kw[i];
        const char *s = v->type == JV_STR ? v->u.s.p : NULL;
        if (!strcmp(a->kw_names[i], "database"))
            r.database = s;
        else if (!strcmp(a->kw_names[i], "schema"))
            r.schema = s;
        else if (!strcmp(a->kw_names[i], "identifier"))
            r.identifier = s;
    }
    return ret(rt, out, dbt_rel_new(RA(rt), o->p, &r));
}

static bp_status m_without_identifier(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    relobj *o = data;
    dbt_rel r = o->r;
    r.inc_ident = false;
    return ret(rt, out, dbt_rel_new(RA(rt), o->p, &r));
}

static bp_status m_render(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    buf b = {0};
    relobj *o = data;
    if (dbt_rel_render(o->p, &o->r, &b) != BP_OK) {
        buf_free(&b);
        return jinja_fail(rt, "out of memory");
    }
    *out = jv_str(RA(rt), b.p ? b.p : "", b.len);
    buf_free(&b);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

/* relation.information_schema('columns'): "database".information_schema.columns */
static bp_status m_information_schema(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    const char *view = arg_str(a, 0, "view_name");
    buf b = {0};
    bool oom = o->r.database && o->p && o->p->target_db && strcmp(o->r.database, o->p->target_db) &&
               (buf_add_ident(&b, o->r.database) || buf_addc(&b, '.'));
    oom = oom || buf_adds(&b, "information_schema") || (view && buf_printf(&b, ".%s", view));
    *out = oom ? NULL : jv_str(RA(rt), b.p, b.len);
    buf_free(&b);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static jv *rel_dict(arena *a, const relobj *o, const char *what);

static bp_status m_get(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    relobj *o = data;
    const char *k = arg_str(a, 0, "key");
    jv *v = k ? rel_dict(RA(rt), o, k) : NULL;
    if (v && v->type != JV_UNDEF)
        return ret(rt, out, v);
    jv *d = jinja_arg(a, 1, "default");
    return ret(rt, out, d ? d : jv_none(RA(rt)));
}

static const char *rel_type_name(const project *p)
{
    return (p && p->wops ? p->wops : &wh_duckdb_ops)->relation_class;
}

/* The mapping side of a relation (dbt's are dataclasses read as dicts). */
static jv *rel_dict(arena *a, const relobj *o, const char *what)
{
    const dbt_rel *r = &o->r;
    if (!strcmp(what, "metadata")) {
        jv *d = jv_dict_new(a);
        if (d && !jv_dict_set(a, d, "type", jv_strz(a, rel_type_name(o->p))))
            return NULL;
        return d;
    }
    if (!strcmp(what, "path") || !strcmp(what, "include_policy") ||
        !strcmp(what, "quote_policy")) {
        jv *d = jv_dict_new(a);
        bool ip = !strcmp(what, "include_policy"), qp = !strcmp(what, "quote_policy");
        if (!d ||
            !jv_dict_set(a, d, "database", ip ? jv_bool(a, r->inc_db) : qp ? jv_bool(a, r->q_db)
                                                                           : mkstr(a, r->database)) ||
            !jv_dict_set(a, d, "schema", ip ? jv_bool(a, r->inc_schema)
                                         : qp ? jv_bool(a, r->q_schema) : mkstr(a, r->schema)) ||
            !jv_dict_set(a, d, "identifier", ip ? jv_bool(a, r->inc_ident)
                                             : qp ? jv_bool(a, r->q_ident)
                                                  : mkstr(a, r->identifier)))
            return NULL;
        return d;
    }
    if (!strcmp(what, "type"))
        return mkstr(a, r->type);
    if (!strcmp(what, "database"))
        return mkstr(a, r->database);
    if (!strcmp(what, "schema"))
        return mkstr(a, r->schema);
    if (!strcmp(what, "identifier") || !strcmp(what, "name") || !strcmp(what, "table"))
        return mkstr(a, r->cte ? r->cte : r->identifier);
    return jv_undef(a, what);
}

static jv *rel_getattr(jinja_rt *rt, void *self, const char *name)
{
    relobj *o = self;
    arena *a = RA(rt);
    static const struct {
        const char *name;
        jv_fn fn;
    } methods[] = {{"include", m_include}, {"quote", m_quote}, {"incorporate", m_incorporate},
                   {"replace_path", m_replace_path}, {"without_identifier", m_without_identifier},
                   {"render", m_render}, {"information_schema", m_information_schema},
                   {"get", m_get}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(name, methods[i].name))
            return jv_func(a, methods[i].name, methods[i].fn, o);
    const char *t = o->r.type ? o->r.type : "";
    if (!strcmp(name, "is_table"))
        return jv_bool(a, !strcmp(t, "table"));
    if (!strcmp(name, "is_view"))
        return jv_bool(a, !strcmp(t, "view"));
    if (!strcmp(name, "is_materialized_view"))
        return jv_bool(a, !strcmp(t, "materialized_view"));
    if (!strcmp(name, "is_cte"))
        return jv_bool(a, o->r.cte != NULL || !strcmp(t, "cte"));
    if (!strcmp(name, "can_be_renamed") || !strcmp(name, "can_be_replaced"))
        return jv_bool(a, !strcmp(t, "table") || !strcmp(t, "view"));
    jv *v = rel_dict(a, o, name);
    return v && v->type == JV_UNDEF ? NULL : v;
}

static jv *rel_getitem(jinja_rt *rt, void *self, const jv *key)
{
    return key->type == JV_STR ? rel_dict(RA(rt), self, key->u.s.p) : NULL;
}

static const jv_obj_ops rel_ops = {"Relation", rel_getattr, rel_getitem, NULL, rel_str, rel_eq,
                                   NULL, JV_OBJ_MAPPING, NULL};

/* ---- Columns ------------------------------------------------------------------------- */

typedef struct {
    const char *name, *dtype;
    long long char_size, precision, scale;  /* -1: unknown */
} colobj;

static const jv_obj_ops col_ops;

jv *dbt_col_new(arena *a, const char *name, const char *dtype, long long char_size,
            long long precision, long long scale)
{
    colobj *c = arena_alloc(a, sizeof *c);
    if (!c)
        return NULL;
    c->name = adup(a, name);
    c->dtype = adup(a, dtype ? dtype : "");
    c->char_size = char_size;
    c->precision = precision;
    c->scale = scale;
    return jv_obj(a, &col_ops, c);
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcasecmp(s, *list))
            return true;
    return false;
}

static bool col_is_string(const colobj *c)
{
    static const char *const t[] = {"text", "character varying", "character", "varchar",
                                    "char", "string", "bpchar", NULL};
    return in_list(c->dtype, t) || !strncasecmp(c->dtype, "varchar(", 8) ||
           !strncasecmp(c->dtype, "character varying(", 18);
}

static bool col_is_integer(const colobj *c)
{
    static const char *const t[] = {"smallint", "integer", "bigint", "smallserial", "serial",
                                    "bigserial", "int2", "int4", "int8", "serial2", "serial4",
                                    "serial8", "int", "tinyint", "hugeint", "ubigint",
                                    "uinteger", "usmallint", "utinyint", NULL};
    return in_list(c->dtype, t);
}

static bool col_is_float(const colobj *c)
{
    static const char *const t[] = {"real", "float4", "float", "double precision", "float8",
                                    "double", NULL};
    return in_list(c->dtype, t);
}

static bool col_is_numeric(const colobj *c)
{
    return !strncasecmp(c->dtype, "numeric", 7) || !strncasecmp(c->dtype, "decimal", 7);
}

/* data_type as dbt prints it: character varying(256), numeric(28,6) */
static jv *col_data_type(arena *a, const colobj *c)
{
    char b[256];
    if (col_is_string(c) && c->char_size > 0 && strchr(c->dtype, '(') == NULL)
        snprintf(b, sizeof b, "character varying(%lld)", c->char_size);
    else if (col_is_string(c) && !strcasecmp(c->dtype, "character varying"))
        snprintf(b, sizeof b, "character varying");
    else if (col_is_numeric(c) && c->precision > 0 && strchr(c->dtype, '(') == NULL)
        snprintf(b, sizeof b, "%s(%lld,%lld)", c->dtype, c->precision,
                 c->scale > 0 ? c->scale : 0);
    else
        snprintf(b, sizeof b, "%s", c->dtype);
    return jv_strz(a, b);
}

static bp_status cm_bool(jinja_rt *rt, jv **out, bool b) { return ret(rt, out, jv_bool(RA(rt), b)); }
static bp_status cm_is_string(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return cm_bool(rt, out, col_is_string(d));
}
static bp_status cm_is_integer(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return cm_bool(rt, out, col_is_integer(d));
}
static bp_status cm_is_float(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return cm_bool(rt, out, col_is_float(d));
}
static bp_status cm_is_numeric(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return cm_bool(rt, out, col_is_numeric(d));
}
static bp_status cm_is_number(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return cm_bool(rt, out, col_is_integer(d) || col_is_float(d) || col_is_numeric(d));
}
static bp_status cm_string_size(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    colobj *c = d;
    if (!col_is_string(c))
        return jinja_fail(rt, "Called string_size() on non-string field!");
    return ret(rt, out, jv_int(RA(rt), c->char_size > 0 ? c->char_size : 256));
}
static bp_status cm_literal(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    colobj *c = d;
    const jv *v = jinja_arg(a, 0, "value");
    buf vs = {0};
    *out = v && jv_to_str(v, &vs) ? NULL : jv_strf(RA(rt), "%s::%s", vs.p ? vs.p : "", c->dtype);
    buf_free(&vs);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}
static bp_status cm_can_expand_to(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    colobj *c = d;
    const jv *o = jinja_arg(a, 0, "other_column");
    if (!o || o->type != JV_OBJ || o->u.obj.ops != &col_ops)
        return cm_bool(rt, out, false);
    const colobj *x = o->u.obj.self;
    return cm_bool(rt, out, col_is_string(c) && col_is_string(x) && c->char_size > 0 &&
                                x->char_size > c->char_size);
}

static jv *col_getattr(jinja_rt *rt, void *self, const char *name)
{
    colobj *c = self;
    arena *a = RA(rt);
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"is_string", cm_is_string}, {"is_integer", cm_is_integer},
             {"is_float", cm_is_float}, {"is_numeric", cm_is_numeric},
             {"is_number", cm_is_number}, {"string_size", cm_string_size},
             {"literal", cm_literal}, {"can_expand_to", cm_can_expand_to}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(a, m[i].name, m[i].fn, c);
    if (!strcmp(name, "name") || !strcmp(name, "column"))
        return jv_strz(a, c->name);
    if (!strcmp(name, "quoted"))
        return jv_strf(a, "\"%s\"", c->name);
    if (!strcmp(name, "dtype"))
        return jv_strz(a, c->dtype);
    if (!strcmp(name, "data_type"))
        return col_data_type(a, c);
    if (!strcmp(name, "char_size"))
        return c->char_size >= 0 ? jv_int(a, c->char_size) : jv_none(a);
    if (!strcmp(name, "numeric_precision"))
        return c->precision >= 0 ? jv_int(a, c->precision) : jv_none(a);
    if (!strcmp(name, "numeric_scale"))
        return c->scale >= 0 ? jv_int(a, c->scale) : jv_none(a);
    return NULL;
}

static bp_status col_str(jinja_rt *rt, void *self, buf *out)
{
    colobj *c = self;
    (void)rt;
    return buf_printf(out, "<Column %s (%s)>", c->name, c->dtype);
}

static const jv_obj_ops col_ops = {"Column", col_getattr, NULL, NULL, col_str, NULL, NULL, 0, NULL};

/* ---- api.Relation, api.Column ------------------------------------------------------------ */

static bp_status api_rel_create(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    project *p = data;
    dbt_rel r = {.inc_db = true, .inc_schema = true, .inc_ident = true,
                 .q_db = true, .q_schema = true, .q_ident = true};
    r.database = arg_str(a, 0, "database");
    r.schema = arg_str(a, 1, "schema");
    r.identifier = arg_str(a, 2, "identifier");
    r.type = arg_str(a, 3, "type");
    if (!r.database)
        r.database = p->target_db;
    const jv *qp = jinja_arg(a, (size_t)-1, "quote_policy");
    if (qp && qp->type == JV_DICT) {
        const jv *v;
        if ((v = jv_dict_get(qp, "database")))
            r.q_db = jv_truthy(v);
        if ((v = jv_dict_get(qp, "schema")))
            r.q_schema = jv_truthy(v);
        if ((v = jv_dict_get(qp, "identifier")))
            r.q_ident = jv_truthy(v);
    }
    return ret(rt, out, dbt_rel_new(RA(rt), p, &r));
}

static bp_status api_add_ephemeral_prefix(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *s = arg_str(a, 0, "name");
    *out = jv_strf(RA(rt), "__dbt__cte__%s", s ? s : "");
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static jv *api_rel_getattr(jinja_rt *rt, void *self, const char *name)
{
    if (!strcmp(name, "create"))
        return jv_func(RA(rt), "create", api_rel_create, self);
    if (!strcmp(name, "add_ephemeral_prefix"))
        return jv_func(RA(rt), "add_ephemeral_prefix", api_add_ephemeral_prefix, self);
    return NULL;
}

static bp_status api_rel_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    return api_rel_create(rt, self, a, out);
}

static const jv_obj_ops api_rel_ops = {"Relation", api_rel_getattr, NULL, api_rel_call, NULL,
                                       NULL, NULL, 0, NULL};

static bp_status api_col_create(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *name = arg_str(a, 0, "column"), *dtype = arg_str(a, 1, "dtype");
    if (!name)
        name = arg_str(a, (size_t)-1, "name");
    if (!dtype)
        dtype = arg_str(a, (size_t)-1, "data_type");
    const jv *cs = jinja_arg(a, 2, "char_size"), *np = jinja_arg(a, 3, "numeric_precision"),
             *ns = jinja_arg(a, 4, "numeric_scale");
    return ret(rt, out, dbt_col_new(RA(rt), name ? name : "", dtype ? dtype : "",
                                cs && cs->type == JV_INT ? cs->u.i : -1,
                                np && np->type == JV_INT ? np->u.i : -1,
                                ns && ns->type == JV_INT ? ns->u.i : -1));
}

/* Column.string_type(size) / numeric_type(dtype, p, s) / translate_type */
static bp_status api_string_type(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *n = jinja_arg(a, 0, "size");
    char b[64];
    snprintf(b, sizeof b, "character varying(%lld)", n && n->type == JV_INT ? (long long)n->u.i : 256LL);
    return ret(rt, out, jv_strz(RA(rt), b));
}

static bp_status api_numeric_type(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *dt = arg_str(a, 0, "dtype");
    const jv *pr = jinja_arg(a, 1, "precision"), *sc = jinja_arg(a, 2, "scale");
    char b[128];
    if (pr && pr->type == JV_INT && sc && sc->type == JV_INT)
        snprintf(b, sizeof b, "%s(%lld,%lld)", dt ? dt : "numeric", (long long)pr->u.i,
                 (long long)sc->u.i);
    else
        snprintf(b, sizeof b, "%s", dt ? dt : "numeric");
    return ret(rt, out, jv_strz(RA(rt), b));
}

static bp_status api_translate_type(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *t = arg_str(a, 0, "dtype");
    static const char *const map[][2] = {{"STRING", "TEXT"}, {"TIMESTAMP", "TIMESTAMP"},
                                         {"FLOAT", "FLOAT"}, {"INTEGER", "INT"},
                                         {"BOOLEAN", "BOOLEAN"}};
    for (size_t i = 0; t && i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(t, map[i][0]))
            return ret(rt, out, jv_strz(RA(rt), map[i][1]));
    return ret(rt, out, jv_strz(RA(rt), t ? t : ""));
}

static jv *api_col_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"create", api_col_create}, {"string_type", api_string_type},
             {"numeric_type", api_numeric_type}, {"translate_type", api_translate_type}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    return NULL;
}

static bp_status api_col_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    return api_col_create(rt, self, a, out);
}

static const jv_obj_ops api_col_ops = {"Column", api_col_getattr, NULL, api_col_call, NULL, NULL,
                                       NULL, 0, NULL};

jv *dbt_rel_api(arena *a, project *p)
{
    jv *d = jv_dict_new(a);
    if (!d || !jv_dict_set(a, d, "Relation", jv_obj(a, &api_rel_ops, p)) ||
        !jv_dict_set(a, d, "Column", jv_obj(a, &api_col_ops, p)))
        return NULL;
    return d;
}

/* ---- result tables --------------------------------------------------------------------- */

struct rtable {
    size_t ncols, nrows, cap;
    const char **names;
    char *kinds;
    jv ***rows;      /* nrows x ncols values */
};

typedef struct {
    rtable *t;
    size_t i;        /* row or column index */
} rref;

static const jv_obj_ops row_ops, tcol_ops, tcols_ops, table_ops;

rtable *dbt_rtable_new(arena *a) { return arena_alloc(a, sizeof(rtable)); }

bool dbt_rtable_set_cols(rtable *t, arena *a, size_t nc, const wh_col *cols)
{
    t->ncols = nc;
    t->names = arena_alloc(a, (nc ? nc : 1) * sizeof *t->names);
    t->kinds = arena_alloc(a, nc ? nc : 1);
    if (!t->names || !t->kinds)
        return false;
    for (size_t c = 0; c < nc; c++) {
        if (!(t->names[c] = adup(a, cols[c].name ? cols[c].name : "")))
            return false;
        t->kinds[c] = cols[c].kind ? cols[c].kind : 's';
    }
    return true;
}

/* A value as agate would type it: numbers, booleans, None; the rest text. */
static jv *typed(arena *a, char kind, const char *s)
{
    if (!s)
        return jv_none(a);
    char *e;
    switch (kind) {
    case 'i': {
        errno = 0;
        long long v = strtoll(s, &e, 10);
        if (!*e && !errno)
            return jv_int(a, v);
        break;
    }
    case 'n':
        if (!strchr(s, '.') && !strchr(s, 'e')) {
            long long v = strtoll(s, &e, 10);
            if (!*e)
                return jv_int(a, v);
        }
        /* fall through */
    case 'f': {
        double d = strtod(s, &e);
        if (!*e)
            return jv_float(a, d);
        break;
    }
    case 'b':
        return jv_bool(a, !strcmp(s, "true") || !strcmp(s, "t"));
    default:
        break;
    }
    return jv_strz(a, s);
}

bool dbt_rtable_add_row(rtable *t, arena *a, const char *const *vals)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        jv ***r = arena_alloc(a, cap * sizeof *r);
        if (!r)
            return false;
        if (t->nrows)
            memcpy(r, t->rows, t->nrows * sizeof *r);
        t->rows = r;
        t->cap = cap;
    }
    jv **row = arena_alloc(a, (t->ncols ? t->ncols : 1) * sizeof *row);
    if (!row)
        return false;
    for (size_t c = 0; c < t->ncols; c++)
        if (!(row[c] = typed(a, t->kinds[c], vals[c])))
            return false;
    t->rows[t->nrows++] = row;
    return true;
}

typedef struct {
    rtable *t;
    arena *a;
    bool failed;
} take_ctx;

int dbt_rtable_take(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    take_ctx *k = ctx;
    if (!k->t->names && !dbt_rtable_set_cols(k->t, k->a, nc, cols)) {
        k->failed = true;
        return 1;
    }
    if (vals && !dbt_rtable_add_row(k->t, k->a, vals)) {
        k->failed = true;
        return 1;
    }
    return 0;
}

static jv *mkref(arena *a, const jv_obj_ops *ops, rtable *t, size_t i)
{
    rref *r = arena_alloc(a, sizeof *r);
    if (!r)
        return NULL;
    r->t = t;
    r->i = i;
    return jv_obj(a, ops, r);
}

jv *dbt_rtable_value(arena *a, rtable *t) { return mkref(a, &table_ops, t, 0); }

bp_status dbt_rel_query_table(jinja_rt *rt, wh *w, const char *sql, jv **table, bp_err *err)
{
    arena *a = RA(rt);
    rtable *t = dbt_rtable_new(a);
    if (!t)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    take_ctx k = {t, a, false};
    bp_status st = wh_query(w, sql, dbt_rtable_take, &k, err);
    if (st != BP_OK)
        return st;
    if (k.failed)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (!t->names && !dbt_rtable_set_cols(t, a, 0, NULL))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    *table = dbt_rtable_value(a, t);
    return *table ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

static long col_index(const rtable *t, const jv *key)
{
    if (key->type == JV_INT) {
        long long i = key->u.i < 0 ? key->u.i + (long long)t->ncols : key->u.i;
        return i >= 0 && (size_t)i < t->ncols ? (long)i : -1;
    }
    if (key->type == JV_STR)
        for (size_t c = 0; c < t->ncols; c++)
            if (!strcmp(t->names[c], key->u.s.p))
                return (long)c;
    return -1;
}

/* rows: a Row is a mapped sequence (row[0], row['name'], row.name) */
static jv *row_getitem(jinja_rt *rt, void *self, const jv *key)
{
    (void)rt;
    rref *r = self;
    long c = col_index(r->t, key);
    return c < 0 ? NULL : r->t->rows[r->i][c];
}

static bp_status seq_method(jinja_rt *rt, rref *r, const char *which, jv **out);

static bp_status row_keys(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return seq_method(rt, d, "keys", out);
}
static bp_status row_values(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return seq_method(rt, d, "values", out);
}
static bp_status row_items(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return seq_method(rt, d, "items", out);
}
static bp_status row_get(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    const jv *k = jinja_arg(a, 0, "key");
    jv *v = k ? row_getitem(rt, d, k) : NULL;
    jv *dflt = jinja_arg(a, 1, "default");
    return ret(rt, out, v ? v : dflt ? dflt : jv_none(RA(rt)));
}

static bp_status seq_method(jinja_rt *rt, rref *r, const char *which, jv **out)
{
    arena *a = RA(rt);
    jv *l = jv_list(a, r->t->ncols);
    for (size_t c = 0; l && c < r->t->ncols; c++) {
        jv *k = jv_strz(a, r->t->names[c]), *v = r->t->rows[r->i][c];
        jv *item = k;
        if (!strcmp(which, "values"))
            item = v;
        else if (!strcmp(which, "items")) {
            item = jv_list(a, 2);
            if (item) {
                item->tuple = true;
                if (!jv_list_push(a, item, k) || !jv_list_push(a, item, v))
                    item = NULL;
            }
        }
        if (!jv_list_push(a, l, item))
            l = NULL;
    }
    return ret(rt, out, l);
}

static jv *row_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"keys", row_keys}, {"values", row_values}, {"items", row_items}, {"get", row_get}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    jv k = {.type = JV_STR, .u.s = {name, strlen(name)}};
    return row_getitem(rt, self, &k);
}

static bp_status row_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    (void)rt;
    rref *r = self;
    *items = r->t->rows[r->i];
    *n = r->t->ncols;
    return BP_OK;
}

static bp_status row_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    rref *r = self;
    if (buf_adds(out, "<agate.Row: ("))
        return BP_ENOMEM;
    for (size_t c = 0; c < r->t->ncols; c++)
        if ((c && buf_adds(out, ", ")) || jv_repr(r->t->rows[r->i][c], out))
            return BP_ENOMEM;
    return buf_adds(out, ")>");
}

static bool row_eq(const void *self, const jv *other)
{
    const rref *r = self;
    if (other->type != JV_LIST || other->u.l.n != r->t->ncols)
        return false;
    for (size_t c = 0; c < r->t->ncols; c++)
        if (!jv_equal(r->t->rows[r->i][c], other->u.l.items[c]))
            return false;
    return true;
}

static const jv_obj_ops row_ops = {"Row", row_getattr, row_getitem, NULL, row_str, row_eq,
                                   row_iter, 0, NULL};

/* a table column: its values */
static bp_status tcol_list(jinja_rt *rt, rref *r, jv **out)
{
    arena *a = RA(rt);
    jv *l = jv_list(a, r->t->nrows);
    if (l)
        l->tuple = true;
    for (size_t i = 0; l && i < r->t->nrows; i++)
        if (!jv_list_push(a, l, r->t->rows[i][r->i]))
            l = NULL;
    return ret(rt, out, l);
}

static bp_status tcol_values(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return tcol_list(rt, d, out);
}

static jv *tcol_getattr(jinja_rt *rt, void *self, const char *name)
{
    rref *r = self;
    if (!strcmp(name, "values") || !strcmp(name, "values_distinct"))
        return jv_func(RA(rt), "values", tcol_values, r);
    if (!strcmp(name, "name"))
        return jv_strz(RA(rt), r->t->names[r->i]);
    if (!strcmp(name, "data_type")) {
        char k = r->t->kinds[r->i];
        return jv_strz(RA(rt), k == 'i' || k == 'n' || k == 'f' ? "Number"
                               : k == 'b' ? "Boolean" : k == 'd' ? "Date"
                               : k == 't' ? "DateTime" : "Text");
    }
    return NULL;
}

static jv *tcol_getitem(jinja_rt *rt, void *self, const jv *key)
{
    (void)rt;
    rref *r = self;
    if (key->type != JV_INT)
        return NULL;
    long long i = key->u.i < 0 ? key->u.i + (long long)r->t->nrows : key->u.i;
    return i >= 0 && (size_t)i < r->t->nrows ? r->t->rows[i][r->i] : NULL;
}

static bp_status tcol_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    jv *l;
    if (tcol_list(rt, self, &l) != BP_OK)
        return BP_EINPUT;
    *items = l->u.l.items;
    *n = l->u.l.n;
    return BP_OK;
}

static const jv_obj_ops tcol_ops = {"Column", tcol_getattr, tcol_getitem, NULL, NULL, NULL,
                                    tcol_iter, 0, NULL};

/* table.columns: columns by index or name */
static jv *tcols_getitem(jinja_rt *rt, void *self, const jv *key)
{
    rref *r = self;
    long c = col_index(r->t, key);
    return c < 0 ? NULL : mkref(RA(rt), &tcol_ops, r->t, (size_t)c);
}

static bp_status tcols_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    rref *r = self;
    arena *a = RA(rt);
    jv **l = arena_alloc(a, (r->t->ncols ? r->t->ncols : 1) * sizeof *l);
    if (!l)
        return jinja_fail(rt, "out of memory");
    for (size_t c = 0; c < r->t->ncols; c++)
        if (!(l[c] = mkref(a, &tcol_ops, r->t, c)))
            return jinja_fail(rt, "out of memory");
    *items = l;
    *n = r->t->ncols;
    return BP_OK;
}

static bp_status tcols_list(jinja_rt *rt, rref *r, const char *which, jv **out)
{
    arena *a = RA(rt);
    jv **cols;
    size_t n;
    if (tcols_iter(rt, r, &cols, &n) != BP_OK)
        return BP_EINPUT;
    jv *l = jv_list(a, n);
    for (size_t c = 0; l && c < n; c++) {
        jv *k = jv_strz(a, r->t->names[c]), *item = cols[c];
        if (!strcmp(which, "keys"))
            item = k;
        else if (!strcmp(which, "items")) {
            item = jv_list(a, 2);
            if (item) {
                item->tuple = true;
                if (!jv_list_push(a, item, k) || !jv_list_push(a, item, cols[c]))
                    item = NULL;
            }
        }
        if (!jv_list_push(a, l, item))
            l = NULL;
    }
    return ret(rt, out, l);
}

static bp_status tcols_keys(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return tcols_list(rt, d, "keys", out);
}
static bp_status tcols_values(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return tcols_list(rt, d, "values", out);
}
static bp_status tcols_items(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    return tcols_list(rt, d, "items", out);
}

static jv *tcols_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"keys", tcols_keys}, {"values", tcols_values}, {"items", tcols_items}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    return NULL;
}

static const jv_obj_ops tcols_ops = {"MappedSequence", tcols_getattr, tcols_getitem, NULL, NULL,
                                     NULL, tcols_iter, 0, NULL};

static bp_status table_rows(jinja_rt *rt, rref *r, jv **out)
{
    arena *a = RA(rt);
    jv *l = jv_list(a, r->t->nrows);
    for (size_t i = 0; l && i < r->t->nrows; i++)
        if (!jv_list_push(a, l, mkref(a, &row_ops, r->t, i)))
            l = NULL;
    return ret(rt, out, l);
}

static bp_status table_print(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)a;
    rref *r = d;
    buf b = {0};
    bool oom = false;
    for (size_t c = 0; c < r->t->ncols && !oom; c++)
        oom = buf_printf(&b, "| %s ", r->t->names[c]);
    oom = oom || buf_adds(&b, "|\n");
    for (size_t i = 0; i < r->t->nrows && !oom; i++) {
        for (size_t c = 0; c < r->t->ncols && !oom; c++)
            oom = buf_adds(&b, "| ") || jv_to_str(r->t->rows[i][c], &b) || buf_addc(&b, ' ');
        oom = oom || buf_adds(&b, "|\n");
    }
    if (oom) {
        buf_free(&b);
        return jinja_fail(rt, "out of memory");
    }
    fputs(b.p ? b.p : "", stdout);
    buf_free(&b);
    return ret(rt, out, jv_none(RA(rt)));
}

/* agate's Table.rename(column_names): a dict old -> new, or the new names
 * in order; the rows are shared. */
static bp_status table_rename(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    rref *r = d;
    arena *ar = RA(rt);
    const jv *names = jinja_arg(a, 0, "column_names");
    rtable *t = arena_alloc(ar, sizeof *t);
    const char **nn = arena_alloc(ar, (r->t->ncols ? r->t->ncols : 1) * sizeof *nn);
    if (!t || !nn)
        return jinja_fail(rt, "out of memory");
    *t = *r->t;
    for (size_t c = 0; c < t->ncols; c++) {
        const jv *v = NULL;
        if (names && names->type == JV_DICT)
            v = jv_dict_get(names, r->t->names[c]);
        else if (names && names->type == JV_LIST && c < names->u.l.n)
            v = names->u.l.items[c];
        nn[c] = v && v->type == JV_STR ? v->u.s.p : r->t->names[c];
    }
    t->names = nn;
    t->cap = t->nrows; /* a view: nothing is added to it */
    *out = mkref(ar, &table_ops, t, 0);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static jv *table_getattr(jinja_rt *rt, void *self, const char *name)
{
    rref *r = self;
    arena *a = RA(rt);
    if (!strcmp(name, "rows")) {
        jv *l;
        return table_rows(rt, r, &l) == BP_OK ? l : NULL;
    }
    if (!strcmp(name, "columns"))
        return mkref(a, &tcols_ops, r->t, 0);
    if (!strcmp(name, "column_names")) {
        jv *l = jv_list(a, r->t->ncols);
        if (l)
            l->tuple = true;
        for (size_t c = 0; l && c < r->t->ncols; c++)
            if (!jv_list_push(a, l, jv_strz(a, r->t->names[c])))
                return NULL;
        return l;
    }
    if (!strcmp(name, "print_table"))
        return jv_func(a, "print_table", table_print, r);
    if (!strcmp(name, "rename"))
        return jv_func(a, "rename", table_rename, r);
    return NULL;
}

static jv *table_getitem(jinja_rt *rt, void *self, const jv *key)
{
    rref *r = self;
    if (key->type != JV_INT)
        return NULL;
    long long i = key->u.i < 0 ? key->u.i + (long long)r->t->nrows : key->u.i;
    return i >= 0 && (size_t)i < r->t->nrows ? mkref(RA(rt), &row_ops, r->t, (size_t)i) : NULL;
}

static bp_status table_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    jv *l;
    if (table_rows(rt, self, &l) != BP_OK)
        return BP_EINPUT;
    *items = l->u.l.items;
    *n = l->u.l.n;
    return BP_OK;
}

static bp_status table_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    rref *r = self;
    return buf_printf(out, "<agate.Table: %zu rows, %zu columns>", r->t->nrows, r->t->ncols);
}

static const jv_obj_ops table_ops = {"Table", table_getattr, table_getitem, NULL, table_str,
                                     NULL, table_iter, 0, NULL};

jv *dbt_rel_table_rows(jinja_rt *rt, jv *table)
{
    if (!table || table->type != JV_OBJ || table->u.obj.ops != &table_ops)
        return NULL;
    jv *l;
    return table_rows(rt, table->u.obj.self, &l) == BP_OK ? l : NULL;
}
