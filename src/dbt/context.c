/* context.c: the names dbt gives a template (dbt's Jinja context).
 *
 * A name resolves as in dbt-core: macros first (the node's package, the
 * root project, dbt's own, then package namespaces: dbt_utils.x), then
 * the context: ref, source, config, var, env_var, is_incremental, target,
 * this, model, execute, adapter, api, exceptions, modules, log, print,
 * return, run_query, statement, load_result, graph, flags, fromjson,
 * tojson, fromyaml, toyaml, zip, set, local_md5, invocation_id,
 * run_started_at, builtins, load_relation, doc and the rest below. In the
 * parse pass (execute is false) an unknown name is let through, as dbt's
 * parser does, so the refs after it are still found; the node's own
 * render fails on it when it runs. */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/version.h"
#include "dbt_int.h"
#include "modules.h"
#include "../core/log.h"

#define RA(rt) jinja_rt_arena(rt)
#define CTX(rt) ((cctx *)jinja_rt_data(rt))

static bp_status ret(jinja_rt *rt, jv **out, jv *v)
{
    *out = v;
    return v ? BP_OK : jinja_fail(rt, "out of memory");
}

static const char *str_arg(const jv_args *a, size_t i, const char *kw)
{
    const jv *v = jinja_arg(a, i, kw);
    return v && v->type == JV_STR ? v->u.s.p : NULL;
}

static bp_status out_str(jinja_rt *rt, jv **out, const char *s, size_t n)
{
    return ret(rt, out, jv_str(RA(rt), s ? s : "", s ? n : 0));
}

static bp_status empty(jinja_rt *rt, jv **out) { return out_str(rt, out, "", 0); }

/* The text of v (NULL: "") in b; NULL when memory ran out (the render
 * has failed then). */
static const char *text_of(jinja_rt *rt, const jv *v, buf *b)
{
    if (v && jv_to_str(v, b) != BP_OK) {
        jinja_fail(rt, "out of memory");
        return NULL;
    }
    return b->p ? b->p : "";
}

static bp_status none(jinja_rt *rt, jv **out) { return ret(rt, out, jv_none(RA(rt))); }

/* ---- relations of nodes ------------------------------------------------------------------- */

static const char *rel_type_of(const node *n)
{
    if (n->type == NT_SOURCE)
        return "table";
    if (n->type == NT_MODEL && n->cfg.materialized) {
        if (!strcmp(n->cfg.materialized, "view"))
            return "view";
        if (!strcmp(n->cfg.materialized, "ephemeral"))
            return "cte";
        if (!strcmp(n->cfg.materialized, "materialized_view"))
            return "materialized_view";
    }
    return "table";
}

jv *dbt_ctx_relation_of(jinja_rt *rt, project *p, int i)
{
    node *n = &p->nodes[i];
    dbt_rel r = {.inc_db = true, .inc_schema = true, .inc_ident = true,
                 .q_db = true, .q_schema = true, .q_ident = true};
    r.database = n->database ? n->database : p->target_db;
    r.schema = n->schema;
    r.identifier = n->identifier ? n->identifier : n->name;
    r.type = rel_type_of(n);
    if (dbt_node_is_ephemeral(n))
        r.cte = n->relation;
    if (n->type == NT_SOURCE && n->relation && strchr(n->relation, '('))
        r.cte = n->relation; /* a file-backed source renders as its reader */
    return dbt_rel_new(RA(rt), p, &r);
}

dbt_pkg *dbt_ctx_local_pkg(jinja_rt *rt)
{
    cctx *c = CTX(rt);
    if (c->node >= 0 && c->p->nodes[c->node].pkg)
        return c->p->nodes[c->node].pkg;
    if (c->pkg)
        return c->pkg;
    return c->p->npkgs ? &c->p->pkgs[0] : NULL;
}

void dbt_ctx_macro_dep(project *p, int i, const jinja_macro *m)
{
    if (i < 0 || !m)
        return;
    const jinja_tpl *t = jinja_macro_tpl(m);
    const dbt_pkg *pkg = t ? jinja_tpl_data(t) : NULL;
    node *n = &p->nodes[i];
    const char *name = jinja_macro_name(m), *tag = jinja_macro_tag(m);
    char uid[600];
    snprintf(uid, sizeof uid, "macro.%s.%s%s", pkg ? pkg->name : "dbt",
             !strcmp(tag, "test") || !strcmp(tag, "data_test") ? "test_" : "", name);
    for (int k = 0; k < n->nmacro_deps; k++)
        if (!strcmp(n->macro_deps[k], uid))
            return;
    pthread_mutex_lock(&p->mu);
    if (n->nmacro_deps == n->capmacro_deps) {
        int cap = n->capmacro_deps ? n->capmacro_deps * 2 : 4;
        const char **d = arena_alloc(&p->mem, (size_t)cap * sizeof *d);
        if (d && n->nmacro_deps)
            memcpy(d, n->macro_deps, (size_t)n->nmacro_deps * sizeof *d);
        if (d) {
            n->macro_deps = d;
            n->capmacro_deps = cap;
        }
    }
    const char *copy = arena_strndup(&p->mem, uid, strlen(uid));
    if (copy && n->nmacro_deps < n->capmacro_deps)
        n->macro_deps[n->nmacro_deps++] = copy;
    pthread_mutex_unlock(&p->mu);
}

static void note_macro(jinja_rt *rt, const jinja_macro *m)
{
    cctx *c = CTX(rt);
    if (c->parse)
        dbt_ctx_macro_dep(c->p, c->node, m);
}

/* ---- ref, source, config, var, env_var, is_incremental ---------------------------------- */

/* In a unit test's render a ref() or source() is one of its given
 * inputs (a CTE of rows); one it does not give is an error, as in dbt. */
/* A ref() or source() as the node reads it: under --empty (not while
 * parsing) its text is a query of none of its rows. */
static bp_status read_rel(jinja_rt *rt, cctx *c, int k, jv **out)
{
    jv *r = dbt_ctx_relation_of(rt, c->p, k);
    dbt_rel d;
    if (r && c->p->opts.empty && !c->parse && dbt_rel_from(r, &d)) {
        d.empty = true;
        r = dbt_rel_new(RA(rt), c->p, &d);
    }
    return ret(rt, out, r);
}

static bp_status unit_input(jinja_rt *rt, cctx *c, int k, const char *what, jv **out)
{
    jv *r = dbt_unit_input_rel(rt, c->unit, k);
    if (!r)
        return jinja_fail(rt, "'%s' is not among the unit test's given inputs (give every ref() "
                          "and source() the model uses an input:)", what);
    return ret(rt, out, r);
}

static bp_status fn_ref(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    project *p = c->p;
    const char *pkg = a->npos >= 2 ? str_arg(a, 0, NULL) : str_arg(a, (size_t)-1, "package");
    const char *name = a->npos >= 2 ? str_arg(a, 1, NULL) : str_arg(a, 0, "name");
    if (!name)
        return jinja_fail(rt, "ref() takes the name of a model, seed or snapshot");
    int k = -1;
    static const node_type kinds[] = {NT_MODEL, NT_SEED, NT_SNAPSHOT};
    for (int t = 0; t < 3 && k < 0; t++) {
        k = dbt_proj_find(p, kinds[t], name);
        if (k >= 0 && pkg && strcmp(p->nodes[k].pkg->name, pkg) != 0)
            k = -1;
    }
    const jv *ver = jinja_arg(a, (size_t)-1, "version");
    if (!ver)
        ver = jinja_arg(a, (size_t)-1, "v");
    if (ver && ver->type != JV_NONE) { /* ref('m', v=1): that version */
        buf vb = {0};
        const char *vs = text_of(rt, ver, &vb);
        if (!vs) {
            buf_free(&vb);
            return BP_ENOMEM;
        }
        k = -1;
        for (int i = 0; i < p->nnodes && k < 0; i++)
            if (p->nodes[i].type == NT_MODEL && p->nodes[i].version &&
                !strcmp(p->nodes[i].name, name) && !strcmp(p->nodes[i].version, vs))
                k = i;
        buf_free(&vb);
    }
    if (k < 0) {
        c->fatal = c->parse; /* dbt refuses the whole project for a ref to nothing */
        return jinja_fail(rt, "ref('%s'): no model, seed or snapshot named '%s'%s%s", name, name,
                          pkg ? " in package " : "", pkg ? pkg : "");
    }
    if (!p->nodes[k].cfg.enabled)
        return jinja_fail(rt, "ref('%s'): '%s' is disabled", name, name);
    if (c->unit)
        return unit_input(rt, c, k, name, out);
    if (c->node >= 0 && c->node != k && c->parse &&
        dbt_proj_add_dep(p, c->node, k, c->err) != BP_OK)
        return jinja_fail(rt, "out of memory");
    return read_rel(rt, c, k, out);
}

static bp_status fn_source(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *s = str_arg(a, 0, "source_name"), *t = str_arg(a, 1, "table_name");
    if (!s || !t)
        return jinja_fail(rt, "source() takes a source name and a table name");
    char key[512];
    snprintf(key, sizeof key, "%s.%s", s, t);
    int k = dbt_proj_find(c->p, NT_SOURCE, key);
    if (k < 0) {
        c->fatal = c->parse;
        return jinja_fail(rt, "source('%s', '%s') is not defined in any properties file", s, t);
    }
    if (c->node >= 0 && c->parse && dbt_proj_add_dep(c->p, c->node, k, c->err) != BP_OK)
        return jinja_fail(rt, "out of memory");
    if (c->unit)
        return unit_input(rt, c, k, key, out);
    return read_rel(rt, c, k, out);
}

/* config(materialized='table', ...) or config({...}): recorded in the
 * parse pass; nothing to print. */
static bp_status config_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    (void)self;
    cctx *c = CTX(rt);
    if (c->parse && c->node >= 0) {
        node *n = &c->p->nodes[c->node];
        const jv *d = a->npos == 1 && a->pos[0]->type == JV_DICT ? a->pos[0] : NULL;
        for (size_t i = 0; d && i < jv_dict_len(d); i++)
            if (dbt_cfg_set(c->p, n, jv_dict_key(d, i), jv_dict_val(d, i)) != BP_OK)
                return jinja_fail(rt, "out of memory");
        for (size_t i = 0; i < a->nkw; i++)
            if (dbt_cfg_set(c->p, n, a->kw_names[i], a->kw[i]) != BP_OK)
                return jinja_fail(rt, "out of memory");
    }
    return empty(rt, out);
}

static jv *config_value(cctx *c, const char *key)
{
    if (c->node < 0)
        return NULL;
    node *n = &c->p->nodes[c->node];
    jv *v = dbt_cfg_get(n, key);
    if (!v && !strcmp(key, "pre_hook"))
        v = dbt_cfg_get(n, "pre-hook");
    if (!v && !strcmp(key, "post_hook"))
        v = dbt_cfg_get(n, "post-hook");
    return v;
}

static bp_status config_get(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *key = str_arg(a, 0, "name");
    if (!key)
        return jinja_fail(rt, "config.get() takes a config name");
    jv *v = config_value(CTX(rt), key);
    if (v)
        return ret(rt, out, v);
    jv *d = jinja_arg(a, 1, "default");
    return ret(rt, out, d ? d : jv_none(RA(rt)));
}

static bp_status config_require(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *key = str_arg(a, 0, "name");
    jv *v = key ? config_value(c, key) : NULL;
    if (!v && c->parse)
        return none(rt, out);
    if (!v)
        return jinja_fail(rt, "Required config '%s' not found in config for %s", key ? key : "?",
                          c->node >= 0 ? c->p->nodes[c->node].name : "this node");
    return ret(rt, out, v);
}

static jv *config_getattr(jinja_rt *rt, void *self, const char *name)
{
    if (!strcmp(name, "get"))
        return jv_func(RA(rt), "get", config_get, self);
    if (!strcmp(name, "require"))
        return jv_func(RA(rt), "require", config_require, self);
    if (!strcmp(name, "set") || !strcmp(name, "persist_relation_docs") ||
        !strcmp(name, "persist_column_docs"))
        return jv_func(RA(rt), "config", (jv_fn)config_get, self);
    return NULL;
}

static const jv_obj_ops config_ops = {"Config", config_getattr, NULL, config_call, NULL, NULL,
                                      NULL, 0, NULL};

/* A var's value: --vars, the root project's vars (scoped to the node's
 * package first), then the package's own dbt_project.yml vars. */
static const yml_node *find_var(cctx *c, const char *name)
{
    project *p = c->p;
    const yml_node *v = yml_get(p->cli_vars, name);
    if (v)
        return v;
    dbt_pkg *pkg = c->node >= 0 ? p->nodes[c->node].pkg : c->pkg;
    if (pkg && !pkg->root && (v = yml_get(yml_get(p->vars, pkg->name), name)))
        return v;
    if ((v = yml_get(yml_get(p->vars, p->name), name)))
        return v;
    v = yml_get(p->vars, name);
    if (v && !(v->kind == YML_MAP && dbt_pkg_find(p, name)))
        return v;
    /* a package's own dbt_project.yml, global or scoped to its name */
    const yml_node *own = pkg && !pkg->root && pkg->doc
                              ? yml_get(yml_root(pkg->doc), "vars") : NULL;
    if ((v = yml_get(yml_get(own, pkg ? pkg->name : ""), name)) || (v = yml_get(own, name)))
        return v;
    for (int i = 1; i < p->npkgs; i++)
        if (p->pkgs[i].doc && (v = yml_get(yml_get(yml_root(p->pkgs[i].doc), "vars"), name)))
            return v;
    return NULL;
}

static bp_status var_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    (void)self;
    cctx *c = CTX(rt);
    const char *name = str_arg(a, 0, "name");
    if (!name)
        return jinja_fail(rt, "var() takes a variable name");
    const yml_node *v = c->unit ? dbt_unit_override(c->unit, "vars", name) : NULL;
    v = v ? v : find_var(c, name);
    if (v)
        return ret(rt, out, dbt_proj_yml_value(RA(rt), v));
    jv *d = jinja_arg(a, 1, "default");
    if (!d)
        return jinja_fail(rt, "Required var '%s' not found in config: give it in "
                          "dbt_project.yml vars: or with --vars", name);
    return ret(rt, out, d);
}

static bp_status var_has(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *name = str_arg(a, 0, "var_name");
    return ret(rt, out, jv_bool(RA(rt), name && find_var(CTX(rt), name)));
}

static jv *var_getattr(jinja_rt *rt, void *self, const char *name)
{
    return !strcmp(name, "has_var") ? jv_func(RA(rt), "has_var", var_has, self) : NULL;
}

static const jv_obj_ops var_ops = {"Var", var_getattr, NULL, var_call, NULL, NULL, NULL, 0, NULL};

static bp_status fn_env_var(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *name = str_arg(a, 0, "var");
    if (!name)
        return jinja_fail(rt, "env_var() takes a variable name");
    const yml_node *o = CTX(rt)->unit ? dbt_unit_override(CTX(rt)->unit, "env_vars", name) : NULL;
    const char *v = o && o->kind == YML_SCALAR ? o->str : getenv(name);
    if (v)
        return out_str(rt, out, v, strlen(v));
    jv *d = jinja_arg(a, 1, "default");
    if (!d)
        return jinja_fail(rt, "Env var required but not provided: '%s'", name);
    return ret(rt, out, d);
}

static bp_status fn_is_incremental(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    return ret(rt, out, jv_bool(RA(rt), CTX(rt)->incremental));
}

static bool full_refresh_of(cctx *c)
{
    if (c->node >= 0 && c->p->nodes[c->node].cfg.full_refresh >= 0)
        return c->p->nodes[c->node].cfg.full_refresh;
    return c->p->opts.full_refresh;
}

static bp_status fn_should_full_refresh(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    return ret(rt, out, jv_bool(RA(rt), full_refresh_of(CTX(rt))));
}

static bp_status fn_should_store_failures(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    cctx *c = CTX(rt);
    return ret(rt, out, jv_bool(RA(rt), c->node >= 0 && c->p->nodes[c->node].cfg.store_failures));
}

/* ---- target ------------------------------------------------------------------------------ */

static jv *target_dict(jinja_rt *rt, const project *p)
{
    arena *a = RA(rt);
    jv *d = jv_dict_new(a);
    if (!d)
        return NULL;
    /* the output's own keys first (host, user, port, path...), never the
     * password; then dbt's */
    const yml_node *o = p->target_out;
    for (size_t i = 0; o && o->kind == YML_MAP && i < o->n; i++) {
        const char *k = o->keys[i];
        if (!strcmp(k, "password") || !strcmp(k, "pass") || strstr(k, "secret") ||
            strstr(k, "token") || (o->items[i]->kind == YML_SCALAR && strstr(o->items[i]->str, "{{")))
            continue;
        if (!jv_dict_set(a, d, k, dbt_proj_yml_value(a, o->items[i])))
            return NULL;
    }
    const char *keys[] = {"name", "target_name", "type", "schema", "database", "profile_name"};
    const char *vals[] = {p->target_name, p->target_name, p->target_type, p->target_schema,
                          p->target_db, p->profile_name ? p->profile_name : p->name};
    for (int i = 0; i < 6; i++)
        if (!jv_dict_set(a, d, keys[i], jv_strz(a, vals[i] ? vals[i] : "")))
            return NULL;
    if (!jv_dict_set(a, d, "threads", jv_int(a, p->threads)) ||
        !jv_dict_set(a, d, "dbname", jv_strz(a, p->target_db ? p->target_db : "")))
        return NULL;
    return d;
}

/* ---- return, log, print, exceptions --------------------------------------------------- */

static bp_status fn_return(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    jv *v = jinja_arg(a, 0, "data");
    bp_status st = jinja_return(rt, v ? v : jv_none(RA(rt)));
    if (st == BP_OK)
        st = empty(rt, out);
    return st;
}

static FILE *console(cctx *c) { return c->p->opts.out ? c->p->opts.out : stdout; }

static bp_status fn_log(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const jv *msg = jinja_arg(a, 0, "msg"), *info = jinja_arg(a, 1, "info");
    if (msg && info && jv_truthy(info) && !c->parse && !c->p->opts.quiet) {
        buf b = {0};
        const char *s = text_of(rt, msg, &b);
        if (!s) {
            buf_free(&b);
            return BP_ENOMEM;
        }
        flockfile(console(c));
        fprintf(console(c), "%s\n", s);
        funlockfile(console(c));
        buf_free(&b);
    }
    return empty(rt, out);
}

static bp_status fn_print(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const jv *msg = jinja_arg(a, 0, "msg");
    if (msg && !c->parse) {
        buf b = {0};
        const char *s = text_of(rt, msg, &b);
        if (s)
            fprintf(console(c), "%s\n", s);
        buf_free(&b);
        if (!s)
            return BP_ENOMEM;
    }
    return empty(rt, out);
}

static bp_status exc_raise(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)out;
    const jv *msg = jinja_arg(a, 0, "msg");
    buf b = {0};
    const char *s = text_of(rt, msg, &b);
    bp_status st = s ? jinja_fail(rt, "%s%s", (const char *)data, s) : BP_ENOMEM;
    buf_free(&b);
    return st;
}

static bp_status exc_warn(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const jv *msg = jinja_arg(a, 0, "msg");
    if (msg && !c->parse) {
        buf b = {0};
        bp_log(BP_LOG_WARN, "%s", jv_to_str(msg, &b) ? "(out of memory)" : b.p ? b.p : "");
        buf_free(&b);
    }
    return empty(rt, out);
}

static jv *exceptions_dict(arena *a)
{
    static const struct {
        const char *name, *prefix;
    } e[] = {{"raise_compiler_error", ""}, {"raise_not_implemented", "not implemented: "},
             {"raise_database_error", "Database Error: "},
             {"raise_fail_fast_error", "Failing early: "},
             {"raise_dependency_error", "Dependency Error: "},
             {"raise_contract_error", "Contract Error: "},
             {"column_type_missing", "Contract Error: column types missing: "},
             {"relation_wrong_type", "Compilation Error: relation of the wrong type: "},
             {"raise_duplicate_resource_name", "Compilation Error: duplicate resource name: "}};
    jv *d = jv_dict_new(a);
    for (size_t i = 0; d && i < sizeof e / sizeof e[0]; i++)
        if (!jv_dict_set(a, d, e[i].name, jv_func(a, e[i].name, exc_raise, (void *)e[i].prefix)))
            return NULL;
    if (d && !jv_dict_set(a, d, "warn", jv_func(a, "warn", exc_warn, NULL)))
        return NULL;
    return d;
}

/* ---- statements: statement(), load_result(), run_query() -------------------------------- */

static jv *make_result(jinja_rt *rt, jv *table, const char *msg, long long rows)
{
    arena *a = RA(rt);
    jv *res = jv_dict_new(a), *resp = jv_dict_new(a), *data = jv_list(a, 4);
    if (!res || !resp || !data)
        return NULL;
    if (!jv_dict_set(a, resp, "_message", jv_strz(a, msg)) ||
        !jv_dict_set(a, resp, "code", jv_strz(a, msg)) ||
        !jv_dict_set(a, resp, "rows_affected", jv_int(a, rows)))
        return NULL;
    if (table) {
        jv **rows_v;
        size_t n;
        jv *rl = NULL;
        jv *r = dbt_rel_table_rows(rt, table);
        if (!r)
            return NULL;
        rows_v = r->u.l.items;
        n = r->u.l.n;
        for (size_t i = 0; i < n; i++) {
            jv **vals;
            size_t nv;
            if (jinja_iter(rt, rows_v[i], &vals, &nv) != BP_OK)
                return NULL;
            rl = jv_list(a, nv);
            if (!rl)
                return NULL;
            rl->tuple = true;
            for (size_t k = 0; k < nv; k++)
                if (!jv_list_push(a, rl, vals[k]))
                    return NULL;
            if (!jv_list_push(a, data, rl))
                return NULL;
        }
    }
    if (!jv_dict_set(a, res, "response", resp) || !jv_dict_set(a, res, "data", data) ||
        !jv_dict_set(a, res, "table", table ? table : jv_none(a)))
        return NULL;
    return res;
}

/* Run sql on the render's connection; the result (a dict like dbt's). */
static bp_status run_sql(jinja_rt *rt, const char *sql, bool fetch, jv **result)
{
    cctx *c = CTX(rt);
    if (!c->w)
        return jinja_fail(rt, "this needs a warehouse connection, and there is none here");
    bp_err e = {0};
    jv *table = NULL;
    const char *s = wh_sql_skip_space(sql);
    bp_status st;
    if (!*s) { /* nothing to run: dbt's statement does nothing too */
        *result = make_result(rt, NULL, "OK", 0);
        return *result ? BP_OK : jinja_fail(rt, "out of memory");
    }
    if (fetch)
        st = dbt_rel_query_table(rt, c->w, sql, &table, &e);
    else
        st = wh_exec(c->w, sql, &e);
    if (st != BP_OK) {
        /* name the statement: a macro's SQL is nowhere else to be seen */
        char head[121];
        size_t n = 0;
        for (const char *q = s; *q && n < sizeof head - 1; q++)
            if (!(isspace((unsigned char)*q) && n && head[n - 1] == ' '))
                head[n++] = isspace((unsigned char)*q) ? ' ' : *q;
        head[n] = 0;
        return jinja_fail(rt, "Database Error: %s (in the statement: %s%s)", e.msg, head,
                          strlen(s) > n ? "..." : "");
    }
    *result = make_result(rt, table, "OK", 0);
    return *result ? BP_OK : jinja_fail(rt, "out of memory");
}

/* A statement's result under its name, for load_result(). */
static bp_status keep_result(jinja_rt *rt, cctx *c, const char *name, jv *res, jv **out)
{
    if (name) {
        if (!c->results && !(c->results = jv_dict_new(RA(rt))))
            return jinja_fail(rt, "out of memory");
        if (!jv_dict_set(RA(rt), c->results, name, res))
            return jinja_fail(rt, "out of memory");
    }
    return empty(rt, out);
}

static bp_status fn_statement(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *name = str_arg(a, 0, "name");
    const jv *fetch = jinja_arg(a, 1, "fetch_result"), *caller = jinja_arg(a, (size_t)-1, "caller");
    if (c->parse || !caller) /* the body runs only when executing, as in dbt */
        return empty(rt, out);
    jv *body;
    jv_args none_args = {0};
    if (jinja_call(rt, (jv *)caller, &none_args, &body, c->err) != BP_OK)
        return BP_EINPUT;
    buf sql = {0};
    const char *s = text_of(rt, body, &sql);
    jv *res;
    bp_status st = s ? run_sql(rt, s, fetch && jv_truthy(fetch), &res) : BP_ENOMEM;
    buf_free(&sql);
    if (st != BP_OK)
        return st;
    return keep_result(rt, c, name, res, out);
}

static bp_status fn_load_result(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *name = str_arg(a, 0, "name");
    jv *v = name && c->results ? jv_dict_get(c->results, name) : NULL;
    return ret(rt, out, v ? v : jv_none(RA(rt)));
}

static bp_status fn_store_result(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *name = str_arg(a, 0, "name");
    jv *table = jinja_arg(a, 2, "agate_table");
    jv *res = make_result(rt, table && table->type == JV_OBJ ? table : NULL, "OK", 0);
    if (!res)
        return jinja_fail(rt, "out of memory");
    return keep_result(rt, c, name, res, out);
}

static bp_status fn_run_query(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const jv *sql = jinja_arg(a, 0, "sql");
    if (c->parse)
        return none(rt, out);
    buf b = {0};
    const char *s = text_of(rt, sql, &b);
    jv *res;
    bp_status st = s ? run_sql(rt, s, true, &res) : BP_ENOMEM;
    buf_free(&b);
    if (st != BP_OK)
        return st;
    return ret(rt, out, jv_dict_get(res, "table"));
}

/* ---- adapter ------------------------------------------------------------------------------ */

static bp_status need_conn(jinja_rt *rt, cctx *c, const char *what)
{
    return c->w ? BP_OK
                : jinja_fail(rt, "adapter.%s needs a warehouse connection (not available while "
                             "parsing: guard it with {%% if execute %%})", what);
}

static bp_status quoted(jinja_rt *rt, const char *s, jv **out)
{
    buf b = {0};
    bool oom = buf_addc(&b, '"');
    for (; s && *s && !oom; s++)
        oom = (*s == '"' && buf_addc(&b, '"')) || buf_addc(&b, *s);
    oom = oom || buf_addc(&b, '"');
    *out = oom ? NULL : jv_str(RA(rt), b.p, b.len);
    buf_free(&b);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static bp_status ad_quote(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "identifier");
    buf b = {0};
    const char *s = text_of(rt, v, &b);
    bp_status st = s ? quoted(rt, s, out) : BP_ENOMEM;
    buf_free(&b);
    return st;
}

static bp_status ad_quote_seed_column(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const jv *q = jinja_arg(a, 1, "quote_config");
    if (q && q->type == JV_BOOL && !q->u.b) {
        const jv *v = jinja_arg(a, 0, "column");
        return ret(rt, out, v ? (jv *)v : jv_strz(RA(rt), ""));
    }
    return ad_quote(rt, data, a, out);
}

static bp_status ad_type(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    const char *t = CTX(rt)->p->target_type;
    return out_str(rt, out, t, strlen(t));
}

static bp_status ad_dispatch(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *name = str_arg(a, 0, "macro_name");
    const jv *nsv = jinja_arg(a, 1, "macro_namespace");
    const char *ns = nsv && nsv->type == JV_STR ? nsv->u.s.p : NULL;
    if (!name)
        return jinja_fail(rt, "adapter.dispatch() takes a macro name");
    if (strchr(name, '.'))
        return jinja_fail(rt, "In dispatch: the macro name '%s' may not contain a dot; give "
                          "the package as macro_namespace", name);
    buf tried = {0};
    jinja_macro *m = dbt_macro_dispatch(c->p, dbt_ctx_local_pkg(rt), name, ns, &tried);
    if (!m) {
        bp_status st = jinja_fail(rt, "In dispatch: No macro named '%s' found within namespace: "
                                  "'%s'\n    Searched for: %s", name, ns ? ns : "None",
                                  tried.p ? tried.p : "");
        buf_free(&tried);
        return st;
    }
    buf_free(&tried);
    note_macro(rt, m);
    return ret(rt, out, jinja_macro_value(rt, m));
}

/* SELECT text of one relation-level query, with the literals escaped. A
 * relation without a schema (a temporary table: PostgreSQL keeps those in
 * a schema of the session's) is found by its name. */
static bp_status info_query(jinja_rt *rt, cctx *c, buf *q, const char *head, const char *schema,
                            const char *name, const char *tail)
{
    bool by_name = !schema && name;
    if (buf_adds(q, head) || buf_adds(q, " WHERE ") ||
        (!by_name && (buf_adds(q, "table_schema = ") ||
                      wh_add_literal(c->w, q, schema ? schema : "") || (name && buf_adds(q, " AND ")))) ||
        (name && (buf_adds(q, "table_name = ") || wh_add_literal(c->w, q, name))) ||
        buf_adds(q, tail ? tail : ""))
        return jinja_fail(rt, "out of memory");
    return BP_OK;
}

static bp_status table_of(jinja_rt *rt, cctx *c, const char *sql, jv **table)
{
    bp_err e = {0};
    if (dbt_rel_query_table(rt, c->w, sql, table, &e) != BP_OK)
        return jinja_fail(rt, "Database Error: %s", e.msg);
    return BP_OK;
}

static jv *row_cell(jinja_rt *rt, jv *row, size_t i)
{
    jv **vals;
    size_t n;
    if (jinja_iter(rt, row, &vals, &n) != BP_OK || i >= n)
        return NULL;
    return vals[i];
}

static long long cell_int(jinja_rt *rt, jv *row, size_t i)
{
    jv *v = row_cell(rt, row, i);
    return v && v->type == JV_INT ? v->u.i : -1;
}

static const char *cell_str(jinja_rt *rt, jv *row, size_t i)
{
    jv *v = row_cell(rt, row, i);
    return v && v->type == JV_STR ? v->u.s.p : NULL;
}

/* The columns of schema.name, as Column objects. */
static bp_status columns_of(jinja_rt *rt, cctx *c, const char *schema, const char *name,
                            jv **out)
{
    buf q = {0};
    jv *t;
    bp_status st = info_query(rt, c, &q,
                              "SELECT column_name, data_type, character_maximum_length, "
                              "numeric_precision, numeric_scale FROM information_schema.columns",
                              schema, name, " ORDER BY ordinal_position");
    if (st == BP_OK)
        st = table_of(rt, c, q.p, &t);
    buf_free(&q);
    if (st != BP_OK)
        return st;
    jv *rows = dbt_rel_table_rows(rt, t), *l = jv_list(RA(rt), rows ? rows->u.l.n : 0);
    for (size_t i = 0; rows && l && i < rows->u.l.n; i++) {
        jv *r = rows->u.l.items[i];
        const char *cn = cell_str(rt, r, 0), *dt = cell_str(rt, r, 1);
        if (!jv_list_push(RA(rt), l, dbt_col_new(RA(rt), cn ? cn : "", dt ? dt : "",
                                              cell_int(rt, r, 2), cell_int(rt, r, 3),
                                              cell_int(rt, r, 4))))
            l = NULL;
    }
    return ret(rt, out, l);
}

static bool rel_arg(const jv_args *a, size_t i, const char *kw, dbt_rel *r)
{
    return dbt_rel_from(jinja_arg(a, i, kw), r);
}

static bp_status ad_get_columns(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (!rel_arg(a, 0, "relation", &r)) {
        const jv *v = jinja_arg(a, 0, "relation");
        if (v && v->type == JV_NONE)
            return ret(rt, out, jv_list(RA(rt), 0));
        return jinja_fail(rt, "adapter.get_columns_in_relation() takes a Relation");
    }
    if (!c->w || r.cte) /* parsing, or an ephemeral model: nothing to ask */
        return ret(rt, out, jv_list(RA(rt), 0));
    return columns_of(rt, c, r.schema, r.identifier, out);
}

static const char *kind_to_type(const char *k)
{
    if (!k)
        return "table";
    return !strcasecmp(k, "VIEW") ? "view" : "table";
}

static bp_status find_relation(jinja_rt *rt, cctx *c, const char *db, const char *schema,
                               const char *ident, jv **out)
{
    if (!c->w)
        return none(rt, out);
    buf q = {0};
    jv *t;
    bp_status st = info_query(rt, c, &q, "SELECT table_type FROM information_schema.tables",
                              schema, ident, NULL);
    if (st == BP_OK)
        st = table_of(rt, c, q.p, &t);
    buf_free(&q);
    if (st != BP_OK)
        return st;
    jv *rows = dbt_rel_table_rows(rt, t);
    if (!rows || rows->u.l.n == 0)
        return none(rt, out);
    dbt_rel r = {.inc_db = true, .inc_schema = true, .inc_ident = true,
                 .q_db = true, .q_schema = true, .q_ident = true};
    r.database = db ? db : c->p->target_db;
    r.schema = schema;
    r.identifier = ident;
    r.type = kind_to_type(cell_str(rt, rows->u.l.items[0], 0));
    return ret(rt, out, dbt_rel_new(RA(rt), c->p, &r));
}

static bp_status ad_get_relation(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *db = str_arg(a, 0, "database"), *schema = str_arg(a, 1, "schema"),
               *ident = str_arg(a, 2, "identifier");
    if (!schema || !ident)
        return jinja_fail(rt, "adapter.get_relation() takes database, schema and identifier");
    return find_relation(rt, c, db, schema, ident, out);
}

static bp_status ad_load_relation(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (!rel_arg(a, 0, "relation", &r))
        return jinja_fail(rt, "load_relation() takes a Relation");
    if (r.cte)
        return ret(rt, out, jinja_arg(a, 0, "relation"));
    return find_relation(rt, c, r.database, r.schema, r.identifier, out);
}

static bp_status ad_missing_columns(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel f, t;
    if (!rel_arg(a, 0, "from_relation", &f) || !rel_arg(a, 1, "to_relation", &t))
        return jinja_fail(rt, "adapter.get_missing_columns() takes two Relations");
    if (!c->w)
        return ret(rt, out, jv_list(RA(rt), 0));
    jv *fc, *tc;
    if (columns_of(rt, c, f.schema, f.identifier, &fc) != BP_OK ||
        columns_of(rt, c, t.schema, t.identifier, &tc) != BP_OK)
        return BP_EINPUT;
    jv *l = jv_list(RA(rt), 4);
    for (size_t i = 0; l && i < fc->u.l.n; i++) {
        jv *n1 = jinja_getattr(rt, fc->u.l.items[i], "name");
        bool found = false;
        for (size_t k = 0; !found && k < tc->u.l.n; k++) {
            jv *n2 = jinja_getattr(rt, tc->u.l.items[k], "name");
            found = n1 && n2 && n1->type == JV_STR && n2->type == JV_STR &&
                    !strcasecmp(n1->u.s.p, n2->u.s.p);
        }
        if (!found && !jv_list_push(RA(rt), l, fc->u.l.items[i]))
            l = NULL;
    }
    return ret(rt, out, l);
}

/* Run q (then free it); unbuilt: building it failed (buf_* calls joined
 * by ||), so nothing runs. */
static bp_status exec_text(jinja_rt *rt, cctx *c, bool unbuilt, buf *q)
{
    bp_err e = {0};
    if (unbuilt || !q->p) {
        buf_free(q);
        return jinja_fail(rt, "out of memory");
    }
    bp_status st = wh_exec(c->w, q->p, &e);
    buf_free(q);
    return st == BP_OK ? BP_OK : jinja_fail(rt, "Database Error: %s", e.msg);
}

/* The Relation argument of an adapter method that changes the warehouse
 * (so it needs the connection). */
static bp_status relation_to_change(jinja_rt *rt, const jv_args *a, const char *what, dbt_rel *r)
{
    if (!rel_arg(a, 0, "relation", r))
        return jinja_fail(rt, "adapter.%s() takes a Relation", what);
    return need_conn(rt, CTX(rt), what);
}

static bp_status ad_create_schema(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (relation_to_change(rt, a, "create_schema", &r) != BP_OK)
        return BP_EINPUT;
    buf q = {0};
    bool unbuilt = buf_adds(&q, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&q, r.schema ? r.schema : "");
    return exec_text(rt, c, unbuilt, &q) == BP_OK ? empty(rt, out) : BP_EINPUT;
}

static bp_status ad_drop_schema(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (relation_to_change(rt, a, "drop_schema", &r) != BP_OK)
        return BP_EINPUT;
    buf q = {0};
    bool unbuilt = buf_adds(&q, "DROP SCHEMA IF EXISTS ") ||
                   buf_add_ident(&q, r.schema ? r.schema : "") || buf_adds(&q, " CASCADE");
    return exec_text(rt, c, unbuilt, &q) == BP_OK ? empty(rt, out) : BP_EINPUT;
}

static bp_status ad_drop_relation(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (relation_to_change(rt, a, "drop_relation", &r) != BP_OK)
        return BP_EINPUT;
    if (r.cte)
        return empty(rt, out);
    char kind[32];
    bp_err e = {0};
    if (dbt_mat_relation_kind(c->w, r.schema, r.identifier, kind, sizeof kind, &e) != BP_OK)
        return jinja_fail(rt, "Database Error: %s", e.msg);
    if (!*kind)
        return empty(rt, out);
    buf q = {0};
    bool unbuilt = buf_adds(&q, !strcasecmp(kind, "VIEW") ? "DROP VIEW IF EXISTS " : "DROP TABLE IF EXISTS ") ||
                   buf_add_relation(&q, r.schema, r.identifier) || buf_adds(&q, wh_drop_cascade(c->w));
    return exec_text(rt, c, unbuilt, &q) == BP_OK ? empty(rt, out) : BP_EINPUT;
}

static bp_status ad_rename_relation(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel f, t;
    if (!rel_arg(a, 0, "from_relation", &f) || !rel_arg(a, 1, "to_relation", &t))
        return jinja_fail(rt, "adapter.rename_relation() takes two Relations");
    if (need_conn(rt, c, "rename_relation") != BP_OK)
        return BP_EINPUT;
    char kind[32];
    bp_err e = {0};
    if (dbt_mat_relation_kind(c->w, f.schema, f.identifier, kind, sizeof kind, &e) != BP_OK)
        return jinja_fail(rt, "Database Error: %s", e.msg);
    buf q = {0};
    bool unbuilt = buf_adds(&q, !strcasecmp(kind, "VIEW") ? "ALTER VIEW " : "ALTER TABLE ") ||
                   buf_add_relation(&q, f.schema, f.identifier) || buf_adds(&q, " RENAME TO ") ||
                   buf_add_ident(&q, t.identifier);
    return exec_text(rt, c, unbuilt, &q) == BP_OK ? empty(rt, out) : BP_EINPUT;
}

static bp_status ad_truncate_relation(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    if (relation_to_change(rt, a, "truncate_relation", &r) != BP_OK)
        return BP_EINPUT;
    buf q = {0};
    bool unbuilt = buf_adds(&q, "DELETE FROM ") || buf_add_relation(&q, r.schema, r.identifier);
    return exec_text(rt, c, unbuilt, &q) == BP_OK ? empty(rt, out) : BP_EINPUT;
}

static bp_status ad_list_relations(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    dbt_rel r;
    const char *schema;
    if (rel_arg(a, 0, "schema_relation", &r))
        schema = r.schema;
    else
        schema = str_arg(a, 1, "schema");
    if (!c->w || !schema)
        return ret(rt, out, jv_list(RA(rt), 0));
    buf q = {0};
    jv *t;
    bp_status st = info_query(rt, c, &q, "SELECT table_name, table_type FROM "
                              "information_schema.tables", schema, NULL, " ORDER BY table_name");
    if (st == BP_OK)
        st = table_of(rt, c, q.p, &t);
    buf_free(&q);
    if (st != BP_OK)
        return st;
    jv *rows = dbt_rel_table_rows(rt, t), *l = jv_list(RA(rt), rows ? rows->u.l.n : 0);
    for (size_t i = 0; rows && l && i < rows->u.l.n; i++) {
        dbt_rel x = {.inc_db = true, .inc_schema = true, .inc_ident = true,
                     .q_db = true, .q_schema = true, .q_ident = true};
        x.database = c->p->target_db;
        x.schema = schema;
        x.identifier = cell_str(rt, rows->u.l.items[i], 0);
        x.type = kind_to_type(cell_str(rt, rows->u.l.items[i], 1));
        if (!jv_list_push(RA(rt), l, dbt_rel_new(RA(rt), c->p, &x)))
            l = NULL;
    }
    return ret(rt, out, l);
}

static bp_status ad_list_schemas(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    cctx *c = CTX(rt);
    if (!c->w)
        return ret(rt, out, jv_list(RA(rt), 0));
    jv *t;
    if (table_of(rt, c, "SELECT DISTINCT schema_name FROM information_schema.schemata "
                 "ORDER BY 1", &t) != BP_OK)
        return BP_EINPUT;
    jv *rows = dbt_rel_table_rows(rt, t), *l = jv_list(RA(rt), rows ? rows->u.l.n : 0);
    for (size_t i = 0; rows && l && i < rows->u.l.n; i++)
        if (!jv_list_push(RA(rt), l, row_cell(rt, rows->u.l.items[i], 0)))
            l = NULL;
    return ret(rt, out, l);
}

static bp_status ad_check_schema_exists(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    jv *l;
    if (ad_list_schemas(rt, data, a, &l) != BP_OK)
        return BP_EINPUT;
    const char *schema = str_arg(a, 1, "schema");
    bool found = false;
    for (size_t i = 0; schema && i < l->u.l.n && !found; i++)
        found = l->u.l.items[i]->type == JV_STR && !strcmp(l->u.l.items[i]->u.s.p, schema);
    return ret(rt, out, jv_bool(RA(rt), found));
}

static bp_status ad_already_exists(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *schema = str_arg(a, 0, "schema"), *name = str_arg(a, 1, "name");
    jv *r;
    if (!schema || !name)
        return jinja_fail(rt, "adapter.already_exists() takes a schema and a name");
    if (find_relation(rt, c, NULL, schema, name, &r) != BP_OK)
        return BP_EINPUT;
    return ret(rt, out, jv_bool(RA(rt), r->type != JV_NONE));
}

static bp_status ad_execute(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const jv *sql = jinja_arg(a, 0, "sql"), *fetch = jinja_arg(a, 2, "fetch");
    if (need_conn(rt, c, "execute") != BP_OK)
        return BP_EINPUT;
    buf b = {0};
    const char *s = text_of(rt, sql, &b);
    jv *res;
    bp_status st = s ? run_sql(rt, s, fetch && jv_truthy(fetch), &res) : BP_ENOMEM;
    buf_free(&b);
    if (st != BP_OK)
        return st;
    jv *t = jv_list(RA(rt), 2);
    if (!t)
        return jinja_fail(rt, "out of memory");
    t->tuple = true;
    jv *table = jv_dict_get(res, "table");
    if (!jv_list_push(RA(rt), t, jv_dict_get(res, "response")) ||
        !jv_list_push(RA(rt), t, table))
        return jinja_fail(rt, "out of memory");
    return ret(rt, out, t);
}

static bp_status ad_noop(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    return empty(rt, out);
}

static bp_status ad_strategies(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    arena *ar = RA(rt);
    jv *l = jv_list(ar, 4);
    static const char *const s[] = {"append", "delete+insert", "merge"};
    for (int i = 0; l && i < 3; i++)
        if (!jv_list_push(ar, l, jv_strz(ar, s[i])))
            l = NULL;
    return ret(rt, out, l);
}

static bp_status ad_empty_dict(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    return ret(rt, out, jv_dict_new(RA(rt)));
}

static jv *adapter_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"dispatch", ad_dispatch}, {"quote", ad_quote},
             {"quote_as_configured", ad_quote}, {"quote_seed_column", ad_quote_seed_column},
             {"type", ad_type}, {"get_columns_in_relation", ad_get_columns},
             {"get_relation", ad_get_relation}, {"load_relation", ad_load_relation},
             {"get_missing_columns", ad_missing_columns}, {"create_schema", ad_create_schema},
             {"drop_schema", ad_drop_schema}, {"drop_relation", ad_drop_relation},
             {"rename_relation", ad_rename_relation},
             {"truncate_relation", ad_truncate_relation},
             {"list_relations_without_caching", ad_list_relations},
             {"list_relations", ad_list_relations}, {"list_schemas", ad_list_schemas},
             {"check_schema_exists", ad_check_schema_exists},
             {"already_exists", ad_already_exists}, {"execute", ad_execute},
             {"expand_target_column_types", ad_noop}, {"commit", ad_noop}, {"begin", ad_noop},
             {"cache_added", ad_noop}, {"cache_dropped", ad_noop}, {"cache_renamed", ad_noop},
             {"valid_incremental_strategies", ad_strategies},
             {"standardize_grants_dict", ad_empty_dict}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    if (!strcmp(name, "Relation") || !strcmp(name, "Column"))
        return jv_dict_get(dbt_rel_api(RA(rt), CTX(rt)->p), name);
    return NULL;
}

static const jv_obj_ops adapter_ops = {"Adapter", adapter_getattr, NULL, NULL, NULL, NULL, NULL,
                                       0, NULL};

/* ---- package namespaces: dbt_utils.star(...) ------------------------------------------ */

static bool context_name(jinja_rt *rt, cctx *c, const char *name, jv **out);

/* A unit test's override of a macro or a context value: a macro (or a
 * function) answers the value whatever it is called with; anything else
 * is the value itself. */
static bp_status override_call(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    return ret(rt, out, dbt_proj_yml_value(RA(rt), data));
}

static jv *overridden(jinja_rt *rt, const yml_node *o, bool callable)
{
    if (callable)
        return jv_func(RA(rt), "override", override_call, (void *)o);
    return dbt_proj_yml_value(RA(rt), o);
}

static jv *ns_getattr(jinja_rt *rt, void *self, const char *name)
{
    dbt_pkg *pkg = self;
    cctx *c = CTX(rt);
    if (c->unit) { /* overrides: macros: {dbt_utils.star: ..., dbt.x: ...} */
        char key[512];
        snprintf(key, sizeof key, "%s.%s", pkg->name, name);
        const yml_node *o = dbt_unit_override(c->unit, "macros", key);
        if (!o && !strcmp(pkg->name, "dbt"))
            o = dbt_unit_override(c->unit, "macros", name);
        if (o)
            return overridden(rt, o, true);
    }
    jinja_macro *m = dbt_macro_in(pkg, name);
    if (m)
        note_macro(rt, m);
    if (m)
        return jinja_macro_value(rt, m);
    /* dbt's own macros that bookpipe has as functions: dbt.run_query(...) */
    jv *v = NULL;
    if (pkg->internal && context_name(rt, c, name, &v))
        return v;
    return NULL;
}

static bp_status ns_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    return buf_printf(out, "<namespace %s>", ((dbt_pkg *)self)->name);
}

static const jv_obj_ops ns_ops = {"Namespace", ns_getattr, NULL, NULL, ns_str, NULL, NULL, 0, NULL};

/* ---- values built once per project (the graph, flags) ------------------------------- */

static jv *node_list(arena *a, project *p, int *idx, int n)
{
    jv *l = jv_list(a, (size_t)n);
    for (int i = 0; l && i < n; i++)
        if (!jv_list_push(a, l, jv_strz(a, p->nodes[idx[i]].unique_id)))
            return NULL;
    return l;
}

/* A YAML value, or an empty list / dict when it is absent. */
static jv *yml_or(arena *a, const yml_node *v, bool dict)
{
    return v ? dbt_proj_yml_value(a, v) : dict ? jv_dict_new(a) : jv_list(a, 0);
}

static jv *columns_dict(arena *a, const yml_node *cols)
{
    jv *d = jv_dict_new(a);
    for (size_t i = 0; d && cols && cols->kind == YML_SEQ && i < cols->n; i++) {
        const yml_node *c = cols->items[i];
        const char *name = yml_get_str(c, "name", NULL);
        if (!name)
            continue;
        const char *dt = yml_get_str(c, "data_type", NULL);
        const yml_node *q = yml_get(c, "quote");
        jv *cd = jv_dict_new(a);
        if (!cd || !jv_dict_set(a, cd, "name", jv_strz(a, name)) ||
            !jv_dict_set(a, cd, "description", jv_strz(a, yml_get_str(c, "description", ""))) ||
            !jv_dict_set(a, cd, "data_type", dt ? jv_strz(a, dt) : jv_none(a)) ||
            !jv_dict_set(a, cd, "meta", yml_or(a, yml_get(c, "meta"), true)) ||
            !jv_dict_set(a, cd, "tags", yml_or(a, yml_get(c, "tags"), false)) ||
            !jv_dict_set(a, cd, "constraints", yml_or(a, yml_get(c, "constraints"), false)) ||
            !jv_dict_set(a, cd, "quote", q ? dbt_proj_yml_value(a, q) : jv_none(a)) ||
            !jv_dict_set(a, cd, "granularity", jv_none(a)) ||
            !jv_dict_set(a, cd, "doc_blocks", jv_list(a, 0)) || !jv_dict_set(a, d, name, cd))
            return NULL;
    }
    return d;
}

static bool set_s(arena *a, jv *d, const char *k, const char *v)
{
    return jv_dict_set(a, d, k, v ? jv_strz(a, v) : jv_none(a));
}

/* config.<key>.<sub> as a boolean (contract.enforced) */
static bool cfg_flag(const node *n, const char *key, const char *sub)
{
    const jv *v = dbt_cfg_get(n, key);
    v = v && v->type == JV_DICT ? jv_dict_get(v, sub) : NULL;
    return v && jv_truthy(v);
}

/* The rest of a node's fields in dbt's manifest: refs, sources, contract,
 * docs, access... (packages read them off `graph`). */
static bool node_extras(arena *a, project *p, jv *d, const node *n)
{
    jv *refs = jv_list(a, 4), *srcs = jv_list(a, 2), *docs = jv_dict_new(a),
       *contract = jv_dict_new(a), *checksum = jv_dict_new(a);
    if (!refs || !srcs || !docs || !contract || !checksum)
        return false;
    for (int k = 0; k < n->ndeps; k++) {
        const node *par = &p->nodes[n->deps[k]];
        if (par->type == NT_SOURCE) {
            jv *t = jv_list(a, 2);
            if (!t || !jv_list_push(a, t, jv_strz(a, par->src_name)) ||
                !jv_list_push(a, t, jv_strz(a, par->tbl_name)) || !jv_list_push(a, srcs, t))
                return false;
        } else {
            jv *r = jv_dict_new(a);
            if (!r || !set_s(a, r, "name", par->name) || !set_s(a, r, "package", NULL) ||
                !set_s(a, r, "version", par->version) || !jv_list_push(a, refs, r))
                return false;
        }
    }
    return jv_dict_set(a, d, "refs", refs) && jv_dict_set(a, d, "sources", srcs) &&
           jv_dict_set(a, d, "metrics", jv_list(a, 0)) &&
           jv_dict_set(a, docs, "show", jv_bool(a, true)) &&
           jv_dict_set(a, docs, "node_color", jv_none(a)) && jv_dict_set(a, d, "docs", docs) &&
           jv_dict_set(a, contract, "enforced", jv_bool(a, cfg_flag(n, "contract", "enforced"))) &&
           jv_dict_set(a, contract, "alias_types", jv_bool(a, true)) &&
           jv_dict_set(a, contract, "checksum", jv_none(a)) &&
           jv_dict_set(a, d, "contract", contract) &&
           jv_dict_set(a, d, "constraints", yml_or(a, yml_get(n->props, "constraints"), false)) &&
           set_s(a, d, "access", dbt_cfg_str(n, "access") ? dbt_cfg_str(n, "access")
                                 : yml_get_str(n->props, "access",
                                               n->type == NT_MODEL ? "protected" : NULL)) &&
           set_s(a, d, "group", dbt_cfg_str(n, "group") ? dbt_cfg_str(n, "group")
                                                    : yml_get_str(n->props, "group", NULL)) &&
           set_s(a, d, "latest_version", yml_get_str(n->props, "latest_version", NULL)) &&
           set_s(a, d, "deprecation_date", yml_get_str(n->props, "deprecation_date", NULL)) &&
           jv_dict_set(a, checksum, "name", jv_strz(a, "none")) &&
           jv_dict_set(a, checksum, "checksum", jv_strz(a, "")) &&
           jv_dict_set(a, d, "checksum", checksum) &&
           jv_dict_set(a, d, "unrendered_config", jv_dict_new(a)) &&
           jv_dict_set(a, d, "doc_blocks", jv_list(a, 0)) &&
           set_s(a, d, "compiled_path", NULL) && set_s(a, d, "build_path", NULL) &&
           jv_dict_set(a, d, "time_spine", yml_get(n->props, "time_spine")
                                               ? dbt_proj_yml_value(a, yml_get(n->props, "time_spine"))
                                               : jv_none(a)) &&
           jv_dict_set(a, d, "primary_key", jv_list(a, 0)) &&
           jv_dict_set(a, d, "compiled", jv_bool(a, false));
}

/* A source's own fields: freshness, loader, source_description... */
static bool source_fields(arena *a, jv *d, const node *n)
{
    const yml_node *src = n->src_def, *tbl = n->tbl_def;
    const yml_node *fr = yml_get(tbl, "freshness");
    if (!fr)
        fr = yml_get(src, "freshness");
    jv *fresh = fr ? dbt_proj_yml_value(a, fr) : jv_none(a);
    if (fresh && fresh->type == JV_DICT) { /* warn_after and error_after always there */
        static const char *const k[] = {"warn_after", "error_after"};
        for (int i = 0; i < 2; i++)
            if (!jv_dict_get(fresh, k[i])) {
                jv *x = jv_dict_new(a);
                if (!x || !jv_dict_set(a, x, "count", jv_none(a)) ||
                    !jv_dict_set(a, x, "period", jv_none(a)) || !jv_dict_set(a, fresh, k[i], x))
                    return false;
            }
        if (!jv_dict_get(fresh, "filter") && !jv_dict_set(a, fresh, "filter", jv_none(a)))
            return false;
    }
    jv *cfg = jv_dict_get(d, "config");
    return set_s(a, d, "source_name", n->src_name) &&
           set_s(a, d, "loaded_at_field", n->loaded_at_field) &&
           set_s(a, d, "identifier", n->identifier) && set_s(a, d, "name", n->tbl_name) &&
           set_s(a, d, "loader", yml_get_str(src, "loader", "")) &&
           set_s(a, d, "source_description", yml_get_str(src, "description", "")) &&
           jv_dict_set(a, d, "source_meta", yml_get(src, "meta") ? dbt_proj_yml_value(a, yml_get(src, "meta"))
                                                                 : jv_dict_new(a)) &&
           jv_dict_set(a, d, "freshness", fresh) &&
           (!cfg || jv_dict_get(cfg, "freshness") || jv_dict_set(a, cfg, "freshness", fresh)) &&
           jv_dict_set(a, d, "external", jv_none(a)) && jv_dict_set(a, d, "quoting", jv_dict_new(a));
}

/* The node as dbt's graph and `model` show it (in the project arena;
 * called with p->mu held). */
static jv *build_node_dict(project *p, int i)
{
    node *n = &p->nodes[i];
    arena *a = &p->mem;
    jv *d = jv_dict_new(a);
    if (!d)
        return NULL;
    jv *fqn = jv_list(a, (size_t)n->nfqn), *tags = jv_list(a, (size_t)n->cfg.ntags);
    for (int k = 0; fqn && k < n->nfqn; k++)
        if (!jv_list_push(a, fqn, jv_strz(a, n->fqn[k])))
            return NULL;
    for (int k = 0; tags && k < n->cfg.ntags; k++)
        if (!jv_list_push(a, tags, jv_strz(a, n->cfg.tags[k])))
            return NULL;
    jv *deps = jv_dict_new(a);
    jv *mdeps = jv_list(a, (size_t)n->nmacro_deps);
    for (int k = 0; mdeps && k < n->nmacro_deps; k++)
        if (!jv_list_push(a, mdeps, jv_strz(a, n->macro_deps[k])))
            mdeps = NULL;
    if (!fqn || !tags || !deps || !mdeps ||
        !jv_dict_set(a, deps, "nodes", node_list(a, p, n->deps, n->ndeps)) ||
        !jv_dict_set(a, deps, "macros", mdeps))
        return NULL;
    if (!set_s(a, d, "unique_id", n->unique_id) || !set_s(a, d, "name", n->name) ||
        !set_s(a, d, "resource_type", dbt_node_type_name(n->type)) ||
        !set_s(a, d, "package_name", n->pkg ? n->pkg->name : p->name) ||
        !set_s(a, d, "path", n->path) || !set_s(a, d, "original_file_path", n->path) ||
        !jv_dict_set(a, d, "fqn", fqn) || !jv_dict_set(a, d, "tags", tags) ||
        !set_s(a, d, "database", n->database ? n->database : p->target_db) ||
        !set_s(a, d, "schema", n->schema) ||
        !set_s(a, d, "alias", n->identifier ? n->identifier : n->name) ||
        !set_s(a, d, "identifier", n->identifier ? n->identifier : n->name) ||
        !set_s(a, d, "relation_name", n->relation) ||
        !set_s(a, d, "description", n->description ? n->description : "") ||
        !jv_dict_set(a, d, "config", dbt_cfg_full(a, n)) ||
        !jv_dict_set(a, d, "depends_on", deps) ||
        !jv_dict_set(a, d, "columns", columns_dict(a, n->columns)) ||
        !jv_dict_set(a, d, "meta", n->meta ? dbt_proj_yml_value(a, n->meta) : jv_dict_new(a)) ||
        !set_s(a, d, "language", n->python ? "python" : "sql") ||
        !jv_dict_set(a, d, "raw_code", jv_str(a, n->raw ? n->raw : "", n->raw ? n->raw_n : 0)) ||
        !jv_dict_set(a, d, "raw_sql", jv_str(a, n->raw ? n->raw : "", n->raw ? n->raw_n : 0)) ||
        !jv_dict_set(a, d, "version", n->version ? jv_strz(a, n->version) : jv_none(a)) ||
        !jv_dict_set(a, d, "patch_path", jv_none(a)) || !node_extras(a, p, d, n))
        return NULL;
    if (n->type == NT_SOURCE && !source_fields(a, d, n))
        return NULL;
    if (n->type == NT_EXPOSURE) {
        static const char *const keys[] = {"type", "maturity", "url", "label"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (!set_s(a, d, keys[k], yml_get_str(n->props, keys[k], NULL)))
                return NULL;
        if (!jv_dict_set(a, d, "owner", yml_or(a, yml_get(n->props, "owner"), true)))
            return NULL;
    }
    if (n->type == NT_TEST) {
        jv *tm = jv_dict_new(a);
        const char *dot = n->test_kind ? strchr(n->test_kind, '.') : NULL;
        if (!tm || !set_s(a, d, "column_name", n->column) ||
            !jv_dict_set(a, tm, "name", jv_strz(a, dot ? dot + 1 : n->test_kind ? n->test_kind : "")) ||
            !jv_dict_set(a, tm, "kwargs", n->test_kwargs ? n->test_kwargs : jv_dict_new(a)) ||
            !jv_dict_set(a, tm, "namespace", dot ? jv_str(a, n->test_kind, (size_t)(dot - n->test_kind))
                                                 : jv_none(a)) ||
            !jv_dict_set(a, d, "test_metadata", n->test_kind ? tm : jv_none(a)) ||
            !set_s(a, d, "attached_node", n->attached >= 0 ? p->nodes[n->attached].unique_id : NULL))
            return NULL;
    }
    return d;
}

jv *dbt_ctx_model_dict(project *p, int i)
{
    pthread_mutex_lock(&p->mu);
    node *n = &p->nodes[i];
    if (!n->model_dict || !p->parsed)
        n->model_dict = build_node_dict(p, i);
    jv *d = n->model_dict;
    pthread_mutex_unlock(&p->mu);
    return d;
}

static jv *build_graph(project *p)
{
    arena *a = &p->mem;
    jv *g = jv_dict_new(a), *nodes = jv_dict_new(a), *sources = jv_dict_new(a),
       *exposures = jv_dict_new(a);
    if (!g || !nodes || !sources || !exposures)
        return NULL;
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->cfg.enabled)
            continue;
        if (!n->model_dict && !(n->model_dict = build_node_dict(p, i)))
            return NULL;
        jv *into = n->type == NT_SOURCE ? sources : n->type == NT_EXPOSURE ? exposures : nodes;
        if (!jv_dict_set(a, into, n->unique_id, n->model_dict))
            return NULL;
    }
    static const char *const other[] = {"metrics", "groups", "semantic_models",
                                        "saved_queries", "unit_tests"};
    if (!jv_dict_set(a, g, "nodes", nodes) || !jv_dict_set(a, g, "sources", sources) ||
        !jv_dict_set(a, g, "exposures", exposures))
        return NULL;
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (!jv_dict_set(a, g, other[i], jv_dict_new(a)))
            return NULL;
    return g;
}

/* `graph`, the render's own copy: packages write to it (elementary keeps
 * its caches there, from every thread), and what one render writes must
 * neither reach another thread's nor outlive the render's memory. What
 * the run's hooks write is kept (exec.c: run_hooks). */
static jv *graph_value(jinja_rt *rt, cctx *c)
{
    project *p = c->p;
    arena *a = RA(rt);
    if (c->graph)
        return c->graph;
    if (!p->parsed) { /* the parse pass sees an empty graph, as dbt's does */
        jv *g = jv_dict_new(a);
        if (g && (!jv_dict_set(a, g, "nodes", jv_dict_new(a)) ||
                  !jv_dict_set(a, g, "sources", jv_dict_new(a))))
            return NULL;
        return c->graph = g;
    }
    pthread_mutex_lock(&p->mu);
    if (!p->graph)
        p->graph = build_graph(p);
    jv *g = p->graph;
    pthread_mutex_unlock(&p->mu);
    return c->graph = g ? jv_copy_containers(a, g) : NULL;
}

static jv *flags_value(project *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->flags) {
        arena *a = &p->mem;
        jv *d = jv_dict_new(a);
        char upper[64];
        snprintf(upper, sizeof upper, "%s", p->opts.command ? p->opts.command : "");
        if (d && jv_dict_set(a, d, "WHICH", jv_strz(a, upper)) &&
            jv_dict_set(a, d, "FULL_REFRESH", jv_bool(a, p->opts.full_refresh)) &&
            jv_dict_set(a, d, "STORE_FAILURES", jv_bool(a, p->opts.store_failures)) &&
            jv_dict_set(a, d, "WARN_ERROR", jv_bool(a, false)) &&
            jv_dict_set(a, d, "FAIL_FAST", jv_bool(a, false)) &&
            jv_dict_set(a, d, "EMPTY", jv_bool(a, p->opts.empty)) &&
            jv_dict_set(a, d, "USE_COLORS", jv_bool(a, false)) &&
            jv_dict_set(a, d, "INTROSPECT", jv_bool(a, true)) &&
            jv_dict_set(a, d, "PARTIAL_PARSE", jv_bool(a, false)) &&
            jv_dict_set(a, d, "STATIC_PARSER", jv_bool(a, false)) &&
            jv_dict_set(a, d, "SEND_ANONYMOUS_USAGE_STATS", jv_bool(a, false)))
            p->flags = d;
    }
    jv *f = p->flags;
    pthread_mutex_unlock(&p->mu);
    return f;
}

/* ---- small helpers: json, yaml, zip, set, md5, doc ------------------------------------ */

static jv *from_json(arena *a, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        jv *d = jv_dict_new(a);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) if (!d || !jv_dict_set(a, d, k, from_json(a, v))) return NULL;
        return d;
    }
    case JSON_ARRAY: {
        jv *l = jv_list(a, json_array_size(j));
        for (size_t i = 0; l && i < json_array_size(j); i++)
            if (!jv_list_push(a, l, from_json(a, json_array_get(j, i))))
                return NULL;
        return l;
    }
    case JSON_STRING: return jv_str(a, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return jv_int(a, json_integer_value(j));
    case JSON_REAL: return jv_float(a, json_real_value(j));
    case JSON_TRUE: return jv_bool(a, true);
    case JSON_FALSE: return jv_bool(a, false);
    default: return jv_none(a);
    }
}

static bp_status fn_fromjson(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *s = str_arg(a, 0, "string");
    json_error_t je;
    json_t *j = s ? json_loads(s, JSON_DECODE_ANY, &je) : NULL;
    if (!j) {
        jv *d = jinja_arg(a, 1, "default");
        return ret(rt, out, d ? d : jv_none(RA(rt)));
    }
    jv *v = from_json(RA(rt), j);
    json_decref(j);
    return ret(rt, out, v);
}

static bp_status fn_tojson(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "value"), *sk = jinja_arg(a, 1, "sort_keys");
    buf b = {0};
    if (!v || !jv_to_json(v, &b, 0, sk && jv_truthy(sk))) {
        buf_free(&b);
        jv *d = jinja_arg(a, 2, "default");
        return ret(rt, out, d ? d : jv_none(RA(rt)));
    }
    bp_status st = out_str(rt, out, b.p, b.len);
    buf_free(&b);
    return st;
}

static bp_status fn_fromyaml(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *s = str_arg(a, 0, "value");
    yml_doc *doc = NULL;
    bp_err e = {0};
    if (!s || yml_parse("fromyaml", s, strlen(s), &doc, &e) != BP_OK) {
        jv *d = jinja_arg(a, 1, "default");
        return ret(rt, out, d ? d : jv_none(RA(rt)));
    }
    jv *v = dbt_proj_yml_value(RA(rt), yml_root(doc));
    yml_free(doc);
    return ret(rt, out, v);
}

static bp_status yaml_scalar(const jv *v, buf *b)
{
    if (v->type == JV_STR) {
        bool plain = v->u.s.n > 0 && !strpbrk(v->u.s.p, ":#{}[],&*!|>'\"%@`\n") &&
                     !isspace((unsigned char)v->u.s.p[0]) &&
                     !isspace((unsigned char)v->u.s.p[v->u.s.n - 1]);
        return plain ? buf_adds(b, v->u.s.p) : jv_to_json(v, b, 0, false);
    }
    if (v->type == JV_NONE || v->type == JV_UNDEF)
        return buf_adds(b, "null");
    if (v->type == JV_BOOL)
        return buf_adds(b, v->u.b ? "true" : "false");
    return jv_to_str(v, b);
}

static bp_status yaml_emit(const jv *v, buf *b, int indent);

/* One entry of a mapping or list: nested collections on the next lines */
static bp_status yaml_item(const jv *x, buf *b, int indent)
{
    if ((x->type == JV_DICT && jv_dict_len(x)) || (x->type == JV_LIST && x->u.l.n))
        return buf_addc(b, '\n') || yaml_emit(x, b, indent) ? BP_ENOMEM : BP_OK;
    return buf_addc(b, ' ') || yaml_emit(x, b, 0) || buf_addc(b, '\n') ? BP_ENOMEM : BP_OK;
}

static bp_status yaml_emit(const jv *v, buf *b, int indent)
{
    if (v->type == JV_DICT && jv_dict_len(v)) {
        for (size_t i = 0; i < jv_dict_len(v); i++) {
            const jv *x = jv_dict_val(v, i);
            if (buf_printf(b, "%*s%s:", indent, "", jv_dict_key(v, i)) ||
                yaml_item(x, b, indent + (x->type == JV_DICT ? 2 : 0)))
                return BP_ENOMEM;
        }
        return BP_OK;
    }
    if (v->type == JV_LIST && v->u.l.n) {
        for (size_t i = 0; i < v->u.l.n; i++)
            if (buf_printf(b, "%*s-", indent, "") || yaml_item(v->u.l.items[i], b, indent + 2))
                return BP_ENOMEM;
        return BP_OK;
    }
    if (v->type == JV_DICT)
        return buf_adds(b, "{}");
    if (v->type == JV_LIST)
        return buf_adds(b, "[]");
    return yaml_scalar(v, b);
}

static bp_status fn_toyaml(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "value"), *sk = jinja_arg(a, 1, "sort_keys");
    buf b = {0};
    (void)sk; /* keys keep their order: dicts here are ordered as written */
    bp_status st = v && (yaml_emit(v, &b, 0) ||
                         (v->type != JV_DICT && v->type != JV_LIST && buf_adds(&b, "\n")))
                       ? jinja_fail(rt, "out of memory")
                       : out_str(rt, out, b.p, b.len);
    buf_free(&b);
    return st;
}

static bp_status fn_zip(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    arena *ar = RA(rt);
    jv ***items = arena_alloc(ar, (a->npos ? a->npos : 1) * sizeof *items);
    size_t *ns = arena_alloc(ar, (a->npos ? a->npos : 1) * sizeof *ns), n = (size_t)-1;
    if (!items || !ns)
        return jinja_fail(rt, "out of memory");
    for (size_t i = 0; i < a->npos; i++) {
        if (jinja_iter(rt, a->pos[i], &items[i], &ns[i]) != BP_OK)
            return BP_EINPUT;
        if (ns[i] < n)
            n = ns[i];
    }
    if (!a->npos)
        n = 0;
    jv *l = jv_list(ar, n);
    for (size_t k = 0; l && k < n; k++) {
        jv *t = jv_list(ar, a->npos);
        if (!t)
            return jinja_fail(rt, "out of memory");
        t->tuple = true;
        for (size_t i = 0; i < a->npos; i++)
            if (!jv_list_push(ar, t, items[i][k]))
                return jinja_fail(rt, "out of memory");
        if (!jv_list_push(ar, l, t))
            l = NULL;
    }
    return ret(rt, out, l);
}

static int cmp_repr(const void *x, const void *y)
{
    buf a = {0}, b = {0};
    /* out of memory: the order is unspecified, never wrong memory */
    int c = jv_repr(*(jv *const *)x, &a) || jv_repr(*(jv *const *)y, &b)
                ? 0 : strcmp(a.p ? a.p : "", b.p ? b.p : "");
    buf_free(&a);
    buf_free(&b);
    return c;
}

static bp_status fn_set(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "value");
    jv **items;
    size_t n;
    if (!v || v->type == JV_NONE) {
        if (data) /* set_strict */
            return jinja_fail(rt, "set_strict() takes an iterable");
        return none(rt, out);
    }
    if (jinja_iter(rt, v, &items, &n) != BP_OK)
        return BP_EINPUT;
    jv *l = jv_list(RA(rt), n);
    for (size_t i = 0; l && i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < l->u.l.n && !seen; k++)
            seen = jv_equal(l->u.l.items[k], items[i]);
        if (!seen && !jv_list_push(RA(rt), l, items[i]))
            l = NULL;
    }
    /* a list stands in for Python's set: sorted, so two sets of the same
     * items compare equal whatever order they were made in */
    if (l && l->u.l.n > 1)
        qsort(l->u.l.items, l->u.l.n, sizeof *l->u.l.items, cmp_repr);
    return ret(rt, out, l);
}

static bp_status fn_local_md5(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "value");
    buf b = {0};
    if (!text_of(rt, v, &b)) {
        buf_free(&b);
        return BP_ENOMEM;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (!EVP_Digest(b.p ? b.p : "", b.len, md, &n, EVP_md5(), NULL)) {
        buf_free(&b);
        return jinja_fail(rt, "local_md5: the digest failed");
    }
    buf_free(&b);
    for (unsigned int i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return out_str(rt, out, hex, 2 * n);
}

static bp_status fn_doc(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    cctx *c = CTX(rt);
    const char *pkg = a->npos >= 2 ? str_arg(a, 0, NULL) : NULL;
    const char *name = a->npos >= 2 ? str_arg(a, 1, NULL) : str_arg(a, 0, "name");
    if (!name)
        return jinja_fail(rt, "doc() takes the name of a docs block");
    for (int i = 0; i < c->p->npkgs; i++) {
        if (pkg && strcmp(c->p->pkgs[i].name, pkg))
            continue;
        jinja_macro *m = strmap_get(&c->p->pkgs[i].docs, name);
        if (m) {
            size_t n;
            const char *body = jinja_macro_body(m, &n);
            return out_str(rt, out, body, n);
        }
    }
    return jinja_fail(rt, "Documentation for '%s' not found", name);
}

static bp_status fn_try_or_error(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *msg = jinja_arg(a, 0, "message_if_exception"), *fn = jinja_arg(a, 1, "func");
    if (!fn)
        return jinja_fail(rt, "try_or_compiler_error() takes a message and a function");
    jv_args rest = {a->npos > 2 ? a->npos - 2 : 0, a->nkw, a->npos > 2 ? a->pos + 2 : NULL,
                    a->kw_names, a->kw};
    bp_err e = {0};
    if (jinja_call(rt, (jv *)fn, &rest, out, &e) == BP_OK)
        return BP_OK;
    buf b = {0};
    const char *s = msg ? text_of(rt, msg, &b) : e.msg;
    bp_status st = s ? jinja_fail(rt, "%s", s) : BP_ENOMEM;
    buf_free(&b);
    return st;
}

static bp_status fn_selected_resources(jinja_rt *rt, cctx *c, jv **out)
{
    arena *a = RA(rt);
    jv *l = jv_list(a, 16);
    for (int i = 0; l && i < c->p->nnodes; i++)
        if (c->p->nodes[i].selected && !jv_list_push(a, l, jv_strz(a, c->p->nodes[i].unique_id)))
            l = NULL;
    return ret(rt, out, l);
}

/* ---- the lookup -------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    jv_fn fn;
} named_fn;

/* builtins.ref: ref() itself, and `.config`, the run's configuration as
 * dbt's RuntimeConfig shows it to packages that reach for it
 * (elementary): the project's name, its packages and their versions, the
 * command's selection and vars. */
static jv *runtime_config(jinja_rt *rt, cctx *c)
{
    arena *a = RA(rt);
    project *p = c->p;
    jv *d = jv_dict_new(a), *deps = jv_dict_new(a), *args = jv_dict_new(a), *sel = jv_list(a, 4);
    bool ok = d && deps && args && sel;
    for (int i = 0; ok && i < p->npkgs; i++) {
        const dbt_pkg *k = &p->pkgs[i];
        const yml_node *doc = yml_root(k->root ? p->project_doc : k->doc);
        jv *dep = jv_dict_new(a);
        ok = dep && jv_dict_set(a, dep, "project_name", jv_strz(a, k->name)) &&
             jv_dict_set(a, dep, "version", dbt_proj_yml_value(a, yml_get(doc, "version"))) &&
             jv_dict_set(a, deps, k->name, dep);
    }
    char *copy = p->opts.select ? strdup(p->opts.select) : NULL, *save = NULL;
    for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; ok && w; w = strtok_r(NULL, " \t", &save))
        ok = jv_list_push(a, sel, jv_strz(a, w));
    free(copy);
    ok = ok && jv_dict_set(a, args, "select", sel) &&
         jv_dict_set(a, args, "selector_name", jv_none(a)) &&
         jv_dict_set(a, args, "which", jv_strz(a, p->opts.command ? p->opts.command : "")) &&
         jv_dict_set(a, d, "project_name", jv_strz(a, p->name)) &&
         jv_dict_set(a, d, "dependencies", deps) && jv_dict_set(a, d, "args", args) &&
         jv_dict_set(a, d, "cli_vars", p->cli_vars ? dbt_proj_yml_value(a, p->cli_vars)
                                                   : jv_dict_new(a)) &&
         jv_dict_set(a, d, "vars", p->vars ? dbt_proj_yml_value(a, p->vars) : jv_dict_new(a)) &&
         jv_dict_set(a, d, "target_name", jv_strz(a, p->target_name));
    return ok ? d : NULL;
}

static jv *builtin_ref_getattr(jinja_rt *rt, void *self, const char *name)
{
    return !strcmp(name, "config") ? runtime_config(rt, self) : NULL;
}

static bp_status builtin_ref_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    return fn_ref(rt, self, a, out);
}

static const jv_obj_ops builtin_ref_ops = {"RuntimeRefResolver", builtin_ref_getattr, NULL,
                                           builtin_ref_call, NULL, NULL, NULL, 0, NULL};

static const named_fn functions[] = {
    {"ref", fn_ref}, {"source", fn_source}, {"env_var", fn_env_var},
    {"is_incremental", fn_is_incremental}, {"should_full_refresh", fn_should_full_refresh},
    {"should_store_failures", fn_should_store_failures}, {"return", fn_return}, {"log", fn_log},
    {"print", fn_print}, {"statement", fn_statement}, {"load_result", fn_load_result},
    {"store_result", fn_store_result}, {"run_query", fn_run_query}, {"fromjson", fn_fromjson},
    {"tojson", fn_tojson}, {"fromyaml", fn_fromyaml}, {"toyaml", fn_toyaml}, {"zip", fn_zip},
    {"local_md5", fn_local_md5}, {"doc", fn_doc}, {"load_relation", ad_load_relation},
    {"try_or_compiler_error", fn_try_or_error}};

static bool context_name(jinja_rt *rt, cctx *c, const char *name, jv **out)
{
    project *p = c->p;
    arena *a = RA(rt);
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (!strcmp(name, functions[i].name))
            return (*out = jv_func(a, functions[i].name, functions[i].fn, c)) != NULL;
    if (!strcmp(name, "config"))
        return (*out = jv_obj(a, &config_ops, c)) != NULL;
    if (!strcmp(name, "var"))
        return (*out = jv_obj(a, &var_ops, c)) != NULL;
    if (!strcmp(name, "set"))
        return (*out = jv_func(a, "set", fn_set, NULL)) != NULL;
    if (!strcmp(name, "set_strict"))
        return (*out = jv_func(a, "set_strict", fn_set, c)) != NULL;
    if (!strcmp(name, "target"))
        return (*out = target_dict(rt, p)) != NULL;
    if (!strcmp(name, "this")) {
        if (c->unit && dbt_unit_this(c->unit))
            return (*out = dbt_unit_input_rel(rt, c->unit, c->node)) != NULL;
        return (*out = c->node >= 0 ? dbt_ctx_relation_of(rt, p, c->node) : jv_none(a)) != NULL;
    }
    if (!strcmp(name, "model"))
        return (*out = c->node >= 0 ? dbt_ctx_model_dict(p, c->node) : jv_none(a)) != NULL;
    if (!strcmp(name, "execute"))
        return (*out = jv_bool(a, !c->parse)) != NULL;
    if (!strcmp(name, "adapter"))
        return (*out = jv_obj(a, &adapter_ops, c)) != NULL;
    if (!strcmp(name, "api"))
        return (*out = dbt_rel_api(a, p)) != NULL;
    if (!strcmp(name, "exceptions"))
        return (*out = exceptions_dict(a)) != NULL;
    if (!strcmp(name, "modules"))
        return (*out = dbt_mod_modules(a)) != NULL;
    if (!strcmp(name, "graph"))
        return (*out = graph_value(rt, c)) != NULL;
    if (!strcmp(name, "flags"))
        return (*out = flags_value(p)) != NULL;
    if (!strcmp(name, "invocation_id"))
        return (*out = jv_strz(a, p->invocation_id)) != NULL;
    if (!strcmp(name, "run_started_at")) {
        jv *v;
        jv_args none_args = {0};
        jv *iso = jv_strz(a, p->run_started_at);
        none_args.npos = 1;
        none_args.pos = &iso;
        jv *mods = dbt_mod_modules(a);
        jv *dtm = mods ? jv_dict_get(jv_dict_get(mods, "datetime"), "datetime") : NULL;
        jv *f = dtm ? jinja_getattr(rt, dtm, "fromisoformat") : NULL;
        if (f && jinja_call(rt, f, &none_args, &v, c->err) == BP_OK)
            return (*out = v) != NULL;
        return (*out = jv_strz(a, p->run_started_at)) != NULL;
    }
    if (!strcmp(name, "builtins")) {
        jv *d = jv_dict_new(a);
        if (d && jv_dict_set(a, d, "ref", jv_obj(a, &builtin_ref_ops, c)) &&
            jv_dict_set(a, d, "source", jv_func(a, "source", fn_source, c)) &&
            jv_dict_set(a, d, "config", jv_obj(a, &config_ops, c)))
            return (*out = d) != NULL;
        return false;
    }
    if (!strcmp(name, "project_name"))
        return (*out = jv_strz(a, p->name)) != NULL;
    if (!strcmp(name, "dbt_version"))
        return (*out = jv_strz(a, "1.8.0")) != NULL;
    if (!strcmp(name, "database"))
        return (*out = jv_strz(a, p->target_db)) != NULL;
    if (!strcmp(name, "schema"))
        return (*out = jv_strz(a, p->target_schema)) != NULL;
    if (!strcmp(name, "selected_resources"))
        return fn_selected_resources(rt, c, out) == BP_OK;
    if (!strcmp(name, "thread_id"))
        return (*out = jv_strz(a, "Thread-1")) != NULL;
    if (!strcmp(name, "invocation_args_dict") || !strcmp(name, "dbt_metadata_envs"))
        return (*out = jv_dict_new(a)) != NULL;
    return false;
}

static bool lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    cctx *c = CTX(rt);
    project *p = c->p;
    if (c->extra) {
        jv *v = jv_dict_get(c->extra, name);
        if (v)
            return (*out = v) != NULL;
    }
    if (c->unit) {
        char key[512];
        snprintf(key, sizeof key, "dbt.%s", name);
        const yml_node *o = dbt_unit_override(c->unit, "macros", name);
        o = o ? o : dbt_unit_override(c->unit, "macros", key);
        if (o) { /* what the name was decides how the override answers */
            const struct unit_ctx *u = c->unit;
            c->unit = NULL;
            jv *orig = NULL;
            bool had = lookup(ctx, rt, name, &orig);
            c->unit = u;
            bool callable = had && orig && (orig->type == JV_MACRO || orig->type == JV_FUNC);
            return (*out = overridden(rt, o, callable)) != NULL;
        }
    }
    /* macros: the node's package, the root project, dbt's own */
    jinja_macro *m = dbt_macro_lookup(p, dbt_ctx_local_pkg(rt), name);
    if (m) {
        note_macro(rt, m);
        return (*out = jinja_macro_value(rt, m)) != NULL;
    }
    if (context_name(rt, c, name, out))
        return true;
    if (jinja_rt_failed(rt))
        return false;
    dbt_pkg *pkg = dbt_pkg_find(p, name);
    if (pkg)
        return (*out = jv_obj(RA(rt), &ns_ops, pkg)) != NULL;
    /* the package of the macro running: a package calling its own macros
     * without its prefix (dbt would fail; nothing is lost by finding them) */
    const jinja_tpl *t = jinja_rt_current_tpl(rt);
    dbt_pkg *own = t ? jinja_tpl_data(t) : NULL;
    if (own && (m = dbt_macro_in(own, name)))
        return (*out = jinja_macro_value(rt, m)) != NULL;
    return false;
}

/* In the parse pass an unknown name is let through: calls, attributes and
 * text of it are empty (dbt's parser does the same). */
static jv *capture_getattr(jinja_rt *rt, void *self, const char *name);
static bp_status capture_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    (void)a;
    return ret(rt, out, jv_obj(RA(rt), ((const jv_obj_ops *)self), self));
}
static bp_status capture_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    (void)self;
    (void)out;
    return BP_OK;
}
static bp_status capture_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    (void)rt;
    (void)self;
    *items = NULL;
    *n = 0;
    return BP_OK;
}
static const jv_obj_ops capture_ops = {"Undefined", capture_getattr, NULL, capture_call,
                                       capture_str, NULL, capture_iter, 0, NULL};
static jv *capture_getattr(jinja_rt *rt, void *self, const char *name)
{
    (void)name;
    return jv_obj(RA(rt), &capture_ops, self);
}

static bool missing(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    (void)name;
    cctx *c = CTX(rt);
    if (!c->parse)
        return false;
    return (*out = jv_obj(RA(rt), &capture_ops, (void *)&capture_ops)) != NULL;
}

/* dbt's filters: as_bool, as_native, as_number, as_text */
static bool filter(void *ctx, jinja_rt *rt, const char *name, jv *v, const jv_args *a, jv **out,
                   bp_status *st)
{
    (void)ctx;
    (void)a;
    arena *ar = RA(rt);
    bool native = !strcmp(name, "as_native"), number = !strcmp(name, "as_number"),
         boolean = !strcmp(name, "as_bool");
    if (!strcmp(name, "as_text")) {
        buf b = {0};
        *st = text_of(rt, v, &b) ? out_str(rt, out, b.p, b.len) : BP_ENOMEM;
        buf_free(&b);
        return true;
    }
    if (!native && !number && !boolean)
        return false;
    jv *x = v;
    if (v->type == JV_STR && !jinja_literal_eval(ar, v->u.s.p, v->u.s.n, &x)) {
        if (boolean && (!strcasecmp(v->u.s.p, "true") || !strcasecmp(v->u.s.p, "false")))
            x = jv_bool(ar, !strcasecmp(v->u.s.p, "true"));
        else
            x = v;
    }
    if (number && x->type != JV_INT && x->type != JV_FLOAT) {
        *st = jinja_fail(rt, "as_number: '%s' is not a number", v->type == JV_STR ? v->u.s.p : "?");
        return true;
    }
    if (boolean && x->type != JV_BOOL) {
        *st = jinja_fail(rt, "as_bool: '%s' is not a boolean", v->type == JV_STR ? v->u.s.p : "?");
        return true;
    }
    *st = ret(rt, out, x);
    return true;
}

const jinja_env dbt_env = {lookup, filter, NULL, NULL, missing};

jinja_rt *dbt_ctx_new(cctx *c, project *p, int node, bool parse, wh *w, bp_err *err)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    c->node = node;
    c->parse = parse;
    c->w = w;
    c->err = err;
    c->pkg = node < 0 ? p->yml_pkg : NULL;
    jinja_rt *rt = jinja_rt_new(&dbt_env);
    if (!rt) {
        bp_fail(err, BP_ENOMEM, "out of memory");
        return NULL;
    }
    jinja_rt_set_data(rt, c);
    return rt;
}
