/* compile.c: rendering models and tests: the Jinja functions dbt offers
 * (ref, source, config, var, env_var, is_incremental, target, this), the
 * ephemeral CTEs, and the SQL of the generic tests. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../jinja/jinja.h"
#include "dbt_int.h"

typedef struct {
    project *p;
    int node;          /* the node being rendered, or -1 */
    bool parse;        /* parse pass: record edges and config() */
    bool incremental;  /* what is_incremental() answers */
    bp_err *err;
} cctx;

#define RA(rt) jinja_rt_arena(rt)

/* ---- YAML values as Jinja values ------------------------------------------------ */

static jv *from_yml(arena *a, const yml_node *v)
{
    if (!v || yml_is_null(v))
        return jv_none(a);
    if (v->kind == YML_SCALAR) {
        if (!v->quoted) {
            char *end;
            long long i = strtoll(v->str, &end, 10);
            if (*v->str && !*end)
                return jv_int(a, i);
            double d = strtod(v->str, &end);
            if (*v->str && !*end)
                return jv_float(a, d);
            if (!strcmp(v->str, "true") || !strcmp(v->str, "True"))
                return jv_bool(a, true);
            if (!strcmp(v->str, "false") || !strcmp(v->str, "False"))
                return jv_bool(a, false);
        }
        return jv_strz(a, v->str);
    }
    jv *out = v->kind == YML_MAP ? jv_dict_new(a) : jv_list(a, v->n);
    for (size_t i = 0; out && i < v->n; i++) {
        jv *x = from_yml(a, v->items[i]);
        if (!x || !(v->kind == YML_MAP ? jv_dict_set(a, out, v->keys[i], x)
                                       : jv_list_push(a, out, x)))
            return NULL;
    }
    return out;
}

/* ---- the functions ------------------------------------------------------------------ */

static const char *str_arg(const jv_args *a, size_t i, const char *kw)
{
    const jv *v = jinja_arg(a, i, kw);
    return v && v->type == JV_STR ? v->u.s.p : NULL;
}

static bp_status out_str(jinja_rt *rt, jv **out, const char *s)
{
    *out = jv_strz(RA(rt), s);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static bp_status fn_ref(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    cctx *c = data;
    const char *name = a->npos == 2 ? str_arg(a, 1, NULL) : str_arg(a, 0, NULL);
    if (!name)
        return jinja_fail(rt, "ref() takes the name of a model or seed");
    project *p = c->p;
    int k = proj_find(p, NT_MODEL, name);
    if (k < 0)
        k = proj_find(p, NT_SEED, name);
    if (k < 0)
        return jinja_fail(rt, "ref('%s'): no model or seed named '%s' in this project", name,
                          name);
    if (c->node >= 0 && c->node != k && proj_add_dep(p, c->node, k, c->err) != BP_OK)
        return jinja_fail(rt, "out of memory");
    return out_str(rt, out, p->nodes[k].relation ? p->nodes[k].relation : name);
}

static bp_status fn_source(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    cctx *c = data;
    const char *s = str_arg(a, 0, "source_name"), *t = str_arg(a, 1, "table_name");
    if (!s || !t)
        return jinja_fail(rt, "source() takes a source name and a table name");
    char key[512];
    snprintf(key, sizeof key, "%s.%s", s, t);
    int k = proj_find(c->p, NT_SOURCE, key);
    if (k < 0)
        return jinja_fail(rt, "source('%s', '%s') is not defined in any properties file", s, t);
    if (c->node >= 0 && proj_add_dep(c->p, c->node, k, c->err) != BP_OK)
        return jinja_fail(rt, "out of memory");
    return out_str(rt, out, c->p->nodes[k].relation);
}

static bp_status fn_config(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    cctx *c = data;
    if (c->parse && c->node >= 0) {
        node_config *cfg = &c->p->nodes[c->node].cfg;
        for (size_t i = 0; i < a->nkw; i++) {
            const char *k = a->kw_names[i];
            const jv *v = a->kw[i];
            const char *s = v->type == JV_STR ? proj_str(c->p, v->u.s.p, v->u.s.n) : NULL;
            if (!strcmp(k, "materialized") && s)
                cfg->materialized = s;
            else if (!strcmp(k, "schema"))
                cfg->schema = s;
            else if (!strcmp(k, "unique_key"))
                cfg->unique_key = s;
            else if (!strcmp(k, "severity") && s)
                cfg->severity = s;
            else if (!strcmp(k, "where"))
                cfg->where = s;
            else if (!strcmp(k, "enabled"))
                cfg->enabled = jv_truthy(v);
            else if (!strcmp(k, "tags")) {
                if (s && cfg->ntags < 16)
                    cfg->tags[cfg->ntags++] = s;
                for (size_t t = 0; v->type == JV_LIST && t < v->u.l.n && cfg->ntags < 16; t++)
                    if (v->u.l.items[t]->type == JV_STR)
                        cfg->tags[cfg->ntags++] = proj_str(c->p, v->u.l.items[t]->u.s.p,
                                                           v->u.l.items[t]->u.s.n);
            }
        }
    }
    return out_str(rt, out, "");
}

static bp_status fn_var(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    cctx *c = data;
    const char *name = str_arg(a, 0, NULL);
    if (!name)
        return jinja_fail(rt, "var() takes a variable name");
    const yml_node *v = yml_get(c->p->cli_vars, name);
    if (!v)
        v = yml_get(c->p->vars, name);
    if (v) {
        *out = from_yml(RA(rt), v);
        return *out ? BP_OK : jinja_fail(rt, "out of memory");
    }
    jv *d = jinja_arg(a, 1, "default");
    if (!d)
        return jinja_fail(rt, "Required var '%s' not found in config (give it in "
                          "dbt_project.yml vars: or with --vars)", name);
    *out = d;
    return BP_OK;
}

static bp_status fn_env_var(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *name = str_arg(a, 0, NULL);
    if (!name)
        return jinja_fail(rt, "env_var() takes a variable name");
    const char *v = getenv(name);
    if (v)
        return out_str(rt, out, v);
    jv *d = jinja_arg(a, 1, "default");
    if (!d)
        return jinja_fail(rt, "Env var required but not provided: '%s'", name);
    *out = d;
    return BP_OK;
}

static bp_status fn_is_incremental(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    *out = jv_bool(RA(rt), ((cctx *)data)->incremental);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static jv *target_dict(jinja_rt *rt, const project *p)
{
    arena *a = RA(rt);
    jv *d = jv_dict_new(a);
    const char *keys[] = {"name", "type", "schema", "database", "profile_name"};
    const char *vals[] = {p->target_name, p->target_type, p->target_schema, p->target_db, p->name};
    for (int i = 0; d && i < 5; i++)
        if (!jv_dict_set(a, d, keys[i], jv_strz(a, vals[i] ? vals[i] : "")))
            return NULL;
    if (d && !jv_dict_set(a, d, "threads", jv_int(a, p->threads)))
        return NULL;
    return d;
}

static bool lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    cctx *c = jinja_rt_data(rt);
    project *p = c->p;
    arena *a = RA(rt);
    static const struct {
        const char *name;
        jv_fn fn;
    } fns[] = {{"ref", fn_ref}, {"source", fn_source}, {"config", fn_config}, {"var", fn_var},
               {"env_var", fn_env_var}, {"is_incremental", fn_is_incremental}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!strcmp(name, fns[i].name))
            return (*out = jv_func(a, fns[i].name, fns[i].fn, c)) != NULL;
    if (!strcmp(name, "target"))
        return (*out = target_dict(rt, p)) != NULL;
    if (!strcmp(name, "this") && c->node >= 0) {
        const char *rel = p->nodes[c->node].relation ? p->nodes[c->node].relation
                                                     : p->nodes[c->node].name;
        return (*out = jv_strz(a, rel)) != NULL;
    }
    if (!strcmp(name, "execute"))
        return (*out = jv_bool(a, !c->parse)) != NULL;
    return false;
}

static const jinja_env dbt_env = {lookup, NULL, NULL, NULL};

/* Render text (or a node's parsed template, when tpl is given). */
static bp_status render_tpl(project *p, int node, const jinja_tpl *tpl, bool parse,
                            bool incremental, buf *out, bp_err *err)
{
    cctx c = {p, node, parse, incremental, err};
    jinja_rt *rt = jinja_rt_new(&dbt_env);
    if (!rt)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    jinja_rt_set_data(rt, &c);
    bp_status st = jinja_render(rt, tpl, out, err);
    jinja_rt_free(rt);
    return st;
}

static bp_status render(project *p, int node, const char *file, const char *text, size_t n,
                        bool parse, bool incremental, buf *out, bp_err *err)
{
    jinja_tpl *t;
    bp_status st = jinja_parse(file, text, n, &dbt_env, &t, err);
    if (st != BP_OK)
        return st;
    st = render_tpl(p, node, t, parse, incremental, out, err);
    jinja_tpl_free(t);
    return st;
}

/* A node's template, parsed once (the parse pass; renders share it). */
static bp_status node_tpl(project *p, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    if (n->tpl)
        return BP_OK;
    return jinja_parse(n->file, n->raw, n->raw_n, &dbt_env, &n->tpl, err);
}

bp_status compile_string(project *p, const char *what, const char *text, buf *out, int child,
                         bp_err *err)
{
    return render(p, child, what, text, strlen(text), false, false, out, err);
}

bp_status compile_parse(project *p, bp_err *err)
{
    buf out = {0};
    bp_status st = BP_OK;
    for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
        node *n = &p->nodes[i];
        if (!n->raw || (n->type != NT_MODEL && n->type != NT_TEST))
            continue;
        buf_reset(&out);
        if ((st = node_tpl(p, i, err)) == BP_OK)
            st = render_tpl(p, i, n->tpl, true, false, &out, err);
    }
    buf_free(&out);
    return st;
}

/* ---- ephemeral models: CTEs -------------------------------------------------------------- */

static bool is_ephemeral(const node *n)
{
    return n->type == NT_MODEL && strcmp(n->cfg.materialized, "ephemeral") == 0;
}

/* Ephemeral ancestors reachable through ephemeral nodes, parents first. */
static void collect_ephemeral(const project *p, int i, int *list, int *n, int max)
{
    const node *nd = &p->nodes[i];
    for (int k = 0; k < nd->ndeps; k++) {
        int d = nd->deps[k];
        if (!is_ephemeral(&p->nodes[d]))
            continue;
        bool seen = false;
        for (int j = 0; j < *n && !seen; j++)
            seen = list[j] == d;
        if (seen)
            continue;
        collect_ephemeral(p, d, list, n, max);
        if (*n < max)
            list[(*n)++] = d;
    }
}

/* Position after leading spaces and SQL comments. */
static const char *skip_sql_space(const char *s)
{
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e ? e + 2 : s + strlen(s);
        } else {
            return s;
        }
    }
}

/* Put the CTEs of the ephemeral ancestors of node i in front of sql. */
static bp_status inject_ctes(project *p, int i, buf *sql, bp_err *err)
{
    int list[256], n = 0;
    collect_ephemeral(p, i, list, &n, 256);
    if (n == 0)
        return BP_OK;
    buf ctes = {0}, body = {0};
    bp_status st = BP_OK;
    for (int k = 0; k < n && st == BP_OK; k++) {
        node *e = &p->nodes[list[k]];
        buf_reset(&body);
        st = node_tpl(p, list[k], err);
        if (st == BP_OK)
            st = render_tpl(p, list[k], e->tpl, false, false, &body, err);
        if (st == BP_OK && buf_printf(&ctes, "%s__dbt__cte__%s as (\n%s\n)", k ? ", " : "",
                                      e->name, body.p ? body.p : ""))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (st == BP_OK) {
        const char *s = skip_sql_space(sql->p ? sql->p : "");
        buf out = {0};
        bool with = strncasecmp(s, "with", 4) == 0 && isspace((unsigned char)s[4]);
        if (with)
            st = buf_add(&out, sql->p, (size_t)(s - sql->p)) || buf_adds(&out, "with ") ||
                         buf_add(&out, ctes.p, ctes.len) || buf_adds(&out, ",\n") ||
                         buf_adds(&out, s + 5)
                     ? BP_ENOMEM : BP_OK;
        else
            st = buf_adds(&out, "with ") || buf_add(&out, ctes.p, ctes.len) ||
                         buf_adds(&out, "\n") || buf_add(&out, sql->p ? sql->p : "", sql->len)
                     ? BP_ENOMEM : BP_OK;
        if (st != BP_OK)
            bp_fail(err, st, "out of memory");
        buf_free(sql);
        *sql = out;
    }
    buf_free(&ctes);
    buf_free(&body);
    return st;
}

/* ---- generic tests -------------------------------------------------------------------- */

static bp_status generic_test_sql(project *p, node *t, buf *sql, bp_err *err)
{
    node *m = &p->nodes[t->attached];
    buf rel = {0};
    bp_status st = BP_OK;
    if (t->cfg.where)
        buf_printf(&rel, "(select * from %s where %s) dbt_subquery", m->relation, t->cfg.where);
    else
        buf_adds(&rel, m->relation);
    const char *R = rel.p, *C = t->column;
    if (!strcmp(t->test_kind, "not_null")) {
        buf_printf(sql, "select *\nfrom %s\nwhere %s is null", R, C);
    } else if (!strcmp(t->test_kind, "unique")) {
        buf_printf(sql, "select %s as unique_field, count(*) as n_records\nfrom %s\n"
                   "where %s is not null\ngroup by %s\nhaving count(*) > 1", C, R, C, C);
    } else if (!strcmp(t->test_kind, "accepted_values")) {
        const yml_node *vals = yml_get(t->test_args, "values");
        bool quote = yml_bool(yml_get(t->test_args, "quote"), true);
        if (!vals || vals->kind != YML_SEQ || vals->n == 0) {
            st = bp_fail(err, BP_EINPUT, "%s: accepted_values on %s.%s needs a list of values",
                         t->file, m->name, C);
            goto done;
        }
        buf_printf(sql, "with all_values as (\n  select %s as value_field, count(*) as n_records\n"
                   "  from %s\n  group by %s\n)\nselect *\nfrom all_values\n"
                   "where value_field not in (", C, R, C);
        for (size_t i = 0; i < vals->n; i++) {
            const char *v = vals->items[i]->kind == YML_SCALAR ? vals->items[i]->str : "";
            if (i)
                buf_adds(sql, ", ");
            if (quote)
                buf_add_sqlstr(sql, v);
            else
                buf_adds(sql, v);
        }
        buf_adds(sql, ")");
    } else { /* relationships */
        const char *to = yml_get_str(t->test_args, "to", NULL);
        const char *field = yml_get_str(t->test_args, "field", NULL);
        if (!to || !field) {
            st = bp_fail(err, BP_EINPUT, "%s: relationships on %s.%s needs to: and field:",
                         t->file, m->name, C);
            goto done;
        }
        buf target = {0}, expr = {0};
        int self = (int)(t - p->nodes);
        buf_printf(&expr, "{{ %s }}", to); /* `to:` is an expression, as dbt reads it */
        st = render(p, self, t->file, expr.p, expr.len, false, false, &target, err);
        buf_free(&expr);
        if (st != BP_OK)
            goto done;
        buf_printf(sql, "with child as (\n  select %s as from_field\n  from %s\n"
                   "  where %s is not null\n),\nparent as (\n  select %s as to_field\n  from %s\n)\n"
                   "select from_field\nfrom child\nleft join parent\n"
                   "  on child.from_field = parent.to_field\nwhere parent.to_field is null",
                   C, R, C, field, target.p ? target.p : "");
        buf_free(&target);
    }
done:
    buf_free(&rel);
    return st;
}

/* Record the edges of relationships tests (their `to:` is Jinja). */
bp_status compile_test_edges(project *p, bp_err *err)
{
    buf out = {0};
    bp_status st = BP_OK;
    for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
        node *t = &p->nodes[i];
        const char *to = t->test_kind && !strcmp(t->test_kind, "relationships")
                             ? yml_get_str(t->test_args, "to", NULL) : NULL;
        if (!to)
            continue;
        buf expr = {0};
        buf_reset(&out);
        buf_printf(&expr, "{{ %s }}", to);
        st = render(p, i, t->file, expr.p, expr.len, true, false, &out, err);
        buf_free(&expr);
    }
    buf_free(&out);
    return st;
}

bp_status compile_node(project *p, int i, bool incremental_ready, bp_err *err)
{
    node *n = &p->nodes[i];
    buf sql = {0};
    bp_status st = BP_OK;
    if (n->type == NT_MODEL || (n->type == NT_TEST && !n->test_kind)) {
        bool inc = incremental_ready && !strcmp(n->cfg.materialized, "incremental") &&
                   !p->opts.full_refresh;
        st = node_tpl(p, i, err);
        if (st == BP_OK)
            st = render_tpl(p, i, n->tpl, false, inc, &sql, err);
    } else if (n->type == NT_TEST) {
        st = generic_test_sql(p, n, &sql, err);
    } else {
        return BP_OK;
    }
    if (st == BP_OK)
        st = inject_ctes(p, i, &sql, err);
    if (st == BP_OK && n->type == NT_TEST) {
        buf w = {0};
        if (buf_printf(&w, "select count(*) as failures, count(*) != 0 as should_warn, "
                       "count(*) != 0 as should_error\nfrom (\n%s\n) dbt_internal_test",
                       sql.p ? sql.p : ""))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        buf_free(&sql);
        sql = w;
    }
    if (st == BP_OK) {
        free(n->compiled);
        n->compiled = sql.p ? sql.p : calloc(1, 1);
        sql.p = NULL;
        if (!n->compiled)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    buf_free(&sql);
    return st;
}
