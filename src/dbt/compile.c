/* compile.c: rendering with dbt's context: the parse pass (refs, sources
 * and config() calls), each node's SQL when it runs (ephemeral models
 * injected as CTEs, generic tests through their test macros and dbt's
 * test wrapper), hooks, the naming macros and strings in YAML. */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbt_int.h"

#define RA(rt) jinja_rt_arena(rt)

/* ---- rendering ------------------------------------------------------------------------- */

/* A node's template, parsed once (renders share it). */
static bp_status node_tpl(project *p, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    if (n->tpl || n->block)
        return BP_OK;
    bp_status st = jinja_parse(n->file, n->raw, n->raw_n, &dbt_env, &n->tpl, err);
    if (st == BP_OK)
        jinja_tpl_set_data(n->tpl, n->pkg);
    return st;
}

/* Render node i's own SQL in rt (a snapshot: its block's body). */
static bp_status render_node(jinja_rt *rt, project *p, int i, buf *out, bp_err *err)
{
    node *n = &p->nodes[i];
    if (n->block) {
        jv *v, *m = jinja_macro_value(rt, n->block);
        jv_args none = {0};
        if (!m)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        bp_status st = jinja_call(rt, m, &none, &v, err);
        return st == BP_OK ? jv_to_str(v, out) : st;
    }
    return jinja_render(rt, n->tpl, out, err);
}

static bp_status with_rt(project *p, int node, bool parse, wh *w, bp_err *err, jinja_rt **rt,
                         cctx *c)
{
    *rt = dbt_ctx_new(c, p, node, parse, w, err);
    return *rt ? BP_OK : BP_ENOMEM;
}

bp_status dbt_compile_string(project *p, const char *what, const char *text, buf *out, int child,
                         bp_err *err)
{
    jinja_tpl *t;
    bp_status st = jinja_parse(what, text, strlen(text), &dbt_env, &t, err);
    if (st != BP_OK)
        return st;
    cctx c;
    jinja_rt *rt;
    if ((st = with_rt(p, child, !p->parsed, NULL, err, &rt, &c)) == BP_OK) {
        st = jinja_render(rt, t, out, err);
        jinja_rt_free(rt);
    }
    jinja_tpl_free(t);
    return st;
}

/* Render text natively in rt; the value copied into rt's arena (so it
 * outlives the template). */
static bp_status native_in(jinja_rt *rt, const char *what, const char *text, jv **out,
                           bp_err *err)
{
    jinja_tpl *t;
    bp_status st = jinja_parse(what, text, strlen(text), &dbt_env, &t, err);
    if (st != BP_OK)
        return st;
    jv *v;
    st = jinja_render_native(rt, t, &v, err);
    if (st == BP_OK && !(*out = jv_copy(RA(rt), v)))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    jinja_tpl_free(t);
    return st;
}

bp_status dbt_compile_native(project *p, const char *what, const char *text, int child, arena *a,
                         jv **out, bp_err *err)
{
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, child, !p->parsed, NULL, err, &rt, &c);
    if (st != BP_OK)
        return st;
    jv *v;
    if ((st = native_in(rt, what, text, &v, err)) == BP_OK && !(*out = jv_copy(a, v)))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    jinja_rt_free(rt);
    return st;
}

/* ---- the parse pass ----------------------------------------------------------------------- */

static bool renders(const node *n)
{
    return (n->raw || n->block) && !n->python &&
           (n->type == NT_MODEL || n->type == NT_ANALYSIS || n->type == NT_SNAPSHOT ||
            (n->type == NT_TEST && !n->test_kind));
}

/* A failure while rendering is the node's (it fails when it runs, its
 * descendants are skipped); a syntax error, a ref() or source() to
 * nothing are the project's, as in dbt. */
static bp_status keep_failure(project *p, int i, const cctx *c, bp_status st, bp_err *e,
                              bp_err *err)
{
    if (st == BP_OK)
        return BP_OK;
    if (st == BP_ENOMEM || c->fatal)
        return bp_fail(err, st, "%s", e->msg);
    /* kept short: the node's error when it runs */
    snprintf(p->nodes[i].parse_error, sizeof p->nodes[i].parse_error, "%.*s",
             (int)sizeof p->nodes[i].parse_error - 1, e->msg);
    return BP_OK;
}

bp_status dbt_compile_parse(project *p, bp_err *err)
{
    buf out = {0};
    bp_status st = BP_OK;
    for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
        node *n = &p->nodes[i];
        if (!renders(n))
            continue;
        if ((st = node_tpl(p, i, err)) != BP_OK)
            break;
        buf_reset(&out);
        cctx c;
        jinja_rt *rt;
        bp_err e = {0};
        if ((st = with_rt(p, i, true, NULL, err, &rt, &c)) != BP_OK)
            break;
        c.err = &e;
        bp_status rs = render_node(rt, p, i, &out, &e);
        jinja_rt_free(rt);
        st = keep_failure(p, i, &c, rs, &e, err);
    }
    buf_free(&out);
    return st;
}

/* ---- generic tests: arguments ------------------------------------------------------------ */

/* dbt wraps an argument that looks like a call in {{ }} (to: ref('x')) */
static bool looks_like_func(const char *s)
{
    static const char *const fns[] = {"env_var", "ref", "var", "source", "doc"};
    while (isspace((unsigned char)*s))
        s++;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        size_t n = strlen(fns[i]);
        if (strncmp(s, fns[i], n) != 0)
            continue;
        const char *q = s + n;
        while (isspace((unsigned char)*q))
            q++;
        if (*q != '(')
            continue;
        const char *e = s + strlen(s);
        while (e > q && isspace((unsigned char)e[-1]))
            e--;
        return e > q + 2 && e[-1] == ')';
    }
    return false;
}

static bp_status render_arg(jinja_rt *rt, const char *what, jv *v, bool is_column, jv **out,
                            bp_err *err)
{
    arena *a = RA(rt);
    if (v->type == JV_STR && !is_column) {
        const char *s = v->u.s.p;
        buf b = {0};
        if (looks_like_func(s) && (s = buf_printf(&b, "{{ %s }}", s) ? NULL : b.p) == NULL)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        bp_status st = BP_OK;
        if (strstr(s, "{{") || strstr(s, "{%"))
            st = native_in(rt, what, s, out, err);
        else
            *out = v;
        buf_free(&b);
        return st;
    }
    if (v->type == JV_LIST) {
        jv *l = jv_list(a, v->u.l.n);
        if (!l)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        l->tuple = v->tuple;
        for (size_t i = 0; i < v->u.l.n; i++) {
            jv *x;
            if (render_arg(rt, what, v->u.l.items[i], false, &x, err) != BP_OK)
                return BP_EINPUT;
            if (!jv_list_push(a, l, x))
                return bp_fail(err, BP_ENOMEM, "out of memory");
        }
        *out = l;
        return BP_OK;
    }
    if (v->type == JV_DICT) {
        jv *d = jv_dict_new(a);
        for (size_t i = 0; d && i < jv_dict_len(v); i++) {
            jv *x;
            if (render_arg(rt, what, jv_dict_val(v, i), false, &x, err) != BP_OK)
                return BP_EINPUT;
            if (!jv_dict_set(a, d, jv_dict_key(v, i), x))
                return bp_fail(err, BP_ENOMEM, "out of memory");
        }
        *out = d;
        return d ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
    }
    *out = v;
    return BP_OK;
}

bp_status dbt_compile_test_kwargs(jinja_rt *rt, project *p, int i, jv **out, bp_err *err)
{
    node *n = &p->nodes[i];
    arena *a = RA(rt);
    jv *d = jv_dict_new(a);
    if (!d)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (size_t k = 0; n->test_kwargs && k < jv_dict_len(n->test_kwargs); k++) {
        const char *key = jv_dict_key(n->test_kwargs, k);
        jv *x;
        if (render_arg(rt, n->file, jv_dict_val(n->test_kwargs, k),
                       !strcmp(key, "column_name"), &x, err) != BP_OK)
            return BP_EINPUT;
        if (!jv_dict_set(a, d, key, x))
            return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    *out = d;
    return BP_OK;
}

/* Call the test's macro with its arguments in rt. */
static bp_status call_test_macro(jinja_rt *rt, project *p, int i, jv **res, bp_err *err)
{
    node *n = &p->nodes[i];
    jv *kw;
    bp_status st = dbt_compile_test_kwargs(rt, p, i, &kw, err);
    if (st != BP_OK)
        return st;
    size_t nk = jv_dict_len(kw);
    arena *a = RA(rt);
    jv_args args = {0, nk, NULL, arena_alloc(a, (nk ? nk : 1) * sizeof(char *)),
                    arena_alloc(a, (nk ? nk : 1) * sizeof(jv *))};
    jv *m = jinja_macro_value(rt, n->test_macro);
    if (!args.kw_names || !args.kw || !m)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (size_t k = 0; k < nk; k++) {
        args.kw_names[k] = jv_dict_key(kw, k);
        args.kw[k] = jv_dict_val(kw, k);
    }
    return jinja_call(rt, m, &args, res, err);
}

bp_status dbt_compile_test_refs(project *p, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    /* a package's test may call config() (dbt_utils sets fail_calc so):
     * dbt renders it while parsing; dbt's own tests do not, so they are
     * left for when they run (a project of thousands of tests parses fast) */
    bool own = n->test_macro && jinja_macro_tpl(n->test_macro) &&
               jinja_tpl_data(jinja_macro_tpl(n->test_macro)) &&
               ((dbt_pkg *)jinja_tpl_data(jinja_macro_tpl(n->test_macro)))->internal;
    bool any = n->test_macro && !own;
    /* arguments that may ref() need a render too (not `model`: its edge is known) */
    for (size_t k = 0; n->test_kwargs && k < jv_dict_len(n->test_kwargs) && !any; k++) {
        const jv *v = jv_dict_val(n->test_kwargs, k);
        const char *key = jv_dict_key(n->test_kwargs, k);
        any = strcmp(key, "model") && strcmp(key, "column_name") &&
              (v->type != JV_STR || looks_like_func(v->u.s.p) || strstr(v->u.s.p, "{{") ||
               strstr(v->u.s.p, "{%"));
    }
    if (!any)
        return BP_OK;
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, i, true, NULL, err, &rt, &c);
    if (st != BP_OK)
        return st;
    bp_err e = {0};
    c.err = &e;
    jv *res;
    if (n->test_macro)
        st = call_test_macro(rt, p, i, &res, &e);
    else
        st = dbt_compile_test_kwargs(rt, p, i, &res, &e);
    jinja_rt_free(rt);
    return keep_failure(p, i, &c, st, &e, err);
}

bp_status dbt_compile_ref_expr(project *p, int i, const char *expr, bp_err *err)
{
    buf b = {0};
    if (buf_printf(&b, "{{ %s }}", expr) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, i, true, NULL, err, &rt, &c);
    if (st == BP_OK) {
        bp_err e = {0};
        c.err = &e;
        jv *v;
        st = native_in(rt, p->nodes[i].file, b.p, &v, &e);
        jinja_rt_free(rt);
        st = keep_failure(p, i, &c, st, &e, err);
    }
    buf_free(&b);
    return st;
}

/* The SQL of a generic test: its macro called with its arguments. */
static bp_status generic_test_sql(jinja_rt *rt, project *p, int i, buf *sql, bp_err *err)
{
    jv *res;
    bp_status st = call_test_macro(rt, p, i, &res, err);
    return st == BP_OK ? jv_to_str(res, sql) : st;
}

/* ---- ephemeral models: CTEs -------------------------------------------------------------- */

/* Ephemeral ancestors reachable through ephemeral nodes, parents first. */
static void collect_ephemeral(const project *p, int i, int *list, int *n, int max)
{
    const node *nd = &p->nodes[i];
    for (int k = 0; k < nd->ndeps; k++) {
        int d = nd->deps[k];
        if (!dbt_node_is_ephemeral(&p->nodes[d]))
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
static bp_status inject_ctes(project *p, int i, wh *w, buf *sql, bp_err *err)
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
        if (e->parse_error[0]) {
            st = bp_fail(err, BP_EINPUT, "%s", e->parse_error);
            break;
        }
        cctx c;
        jinja_rt *rt;
        if ((st = node_tpl(p, list[k], err)) == BP_OK &&
            (st = with_rt(p, list[k], false, w, err, &rt, &c)) == BP_OK) {
            st = render_node(rt, p, list[k], &body, err);
            jinja_rt_free(rt);
        }
        if (st == BP_OK && buf_printf(&ctes, "%s__dbt__cte__%s as (\n%s\n)", k ? ", " : "",
                                      e->name, body.p ? body.p : ""))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (st == BP_OK)
        st = dbt_compile_splice_ctes(sql, &ctes, err);
    buf_free(&ctes);
    buf_free(&body);
    return st;
}

bp_status dbt_compile_splice_ctes(buf *sql, const buf *ctes, bp_err *err)
{
    const char *s = skip_sql_space(sql->p ? sql->p : "");
    buf out = {0};
    bool with = strncasecmp(s, "with", 4) == 0 && isspace((unsigned char)s[4]);
    bp_status st;
    if (with)
        st = buf_add(&out, sql->p, (size_t)(s - sql->p)) || buf_adds(&out, "with ") ||
                     buf_add(&out, ctes->p, ctes->len) || buf_adds(&out, ",\n") ||
                     buf_adds(&out, s + 5)
                 ? BP_ENOMEM : BP_OK;
    else
        st = buf_adds(&out, "with ") || buf_add(&out, ctes->p, ctes->len) ||
                     buf_adds(&out, "\n") || buf_add(&out, sql->p ? sql->p : "", sql->len)
                 ? BP_ENOMEM : BP_OK;
    if (st != BP_OK) {
        buf_free(&out);
        return bp_fail(err, st, "out of memory");
    }
    buf_free(sql);
    *sql = out;
    return BP_OK;
}

bp_status dbt_compile_unit_model(project *p, int i, wh *w, const struct unit_ctx *u, buf *out,
                                 bp_err *err)
{
    cctx c;
    jinja_rt *rt;
    bp_status st = node_tpl(p, i, err);
    if (st == BP_OK && (st = with_rt(p, i, false, w, err, &rt, &c)) == BP_OK) {
        c.unit = u;
        st = render_node(rt, p, i, out, err);
        jinja_rt_free(rt);
    }
    return st;
}

/* ---- a node's SQL ------------------------------------------------------------------------ */

/* dbt's test wrapper: failures, should_warn, should_error */
static bp_status wrap_test(const node *n, const char *main_sql, buf *out)
{
    const char *calc = n->cfg.fail_calc ? n->cfg.fail_calc : "count(*)";
    const char *w = n->cfg.warn_if ? n->cfg.warn_if : "!= 0";
    const char *e = n->cfg.error_if ? n->cfg.error_if : "!= 0";
    bp_status st = buf_printf(out, "select\n      %s as failures,\n      %s %s as should_warn,\n"
                              "      %s %s as should_error\n    from (\n      %s\n", calc, calc,
                              w, calc, e, main_sql);
    if (st == BP_OK && n->cfg.limit >= 0)
        st = buf_printf(out, "      limit %lld\n", n->cfg.limit);
    return st == BP_OK ? buf_adds(out, "    ) dbt_internal_test") : st;
}

static bp_status set_text(char **dst, buf *b, bp_err *err)
{
    free(*dst);
    *dst = b->p ? b->p : calloc(1, 1);
    b->p = NULL;
    b->len = b->cap = 0;
    return *dst ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

bp_status dbt_compile_node(project *p, int i, wh *w, bool incremental_ready, bp_err *err)
{
    node *n = &p->nodes[i];
    if (n->parse_error[0])
        return bp_fail(err, BP_EINPUT, "%s", n->parse_error);
    if (n->python)
        return bp_fail(err, BP_EINPUT, "%s: Python models are not supported by bookpipe (it "
                       "runs SQL models); rewrite it in SQL, or disable it with "
                       "config: {enabled: false}", n->file);
    if (n->type != NT_MODEL && n->type != NT_TEST && n->type != NT_SNAPSHOT &&
        n->type != NT_ANALYSIS)
        return BP_OK;
    buf sql = {0};
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, i, false, w, err, &rt, &c);
    if (st != BP_OK)
        return st;
    c.incremental = incremental_ready && n->cfg.materialized &&
                    !strcmp(n->cfg.materialized, "incremental") &&
                    !(n->cfg.full_refresh >= 0 ? n->cfg.full_refresh : p->opts.full_refresh);
    if (n->type == NT_TEST && n->test_kind)
        st = generic_test_sql(rt, p, i, &sql, err);
    else if ((st = node_tpl(p, i, err)) == BP_OK)
        st = render_node(rt, p, i, &sql, err);
    jinja_rt_free(rt);
    if (st == BP_OK)
        st = inject_ctes(p, i, w, &sql, err);
    if (st == BP_OK && n->type == NT_TEST) {
        buf wrapped = {0};
        if (wrap_test(n, sql.p ? sql.p : "", &wrapped) != BP_OK)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        else
            st = set_text(&n->test_sql, &sql, err);
        buf_free(&sql);
        sql = wrapped;
    }
    if (st == BP_OK)
        st = set_text(&n->compiled, &sql, err);
    buf_free(&sql);
    return st;
}

/* ---- hooks ------------------------------------------------------------------------------- */

static bool blank(const char *s)
{
    s = skip_sql_space(s);
    while (*s == ';')
        s = skip_sql_space(s + 1);
    return *s == 0;
}

bp_status dbt_compile_run_hooks(project *p, int i, wh *w, const char *kind, bp_err *err)
{
    node *n = &p->nodes[i];
    jv *hooks = dbt_cfg_get(n, kind);
    if (!hooks || hooks->type == JV_NONE)
        return BP_OK;
    jv one = *hooks;
    jv *items[1] = {&one};
    jv **list = hooks->type == JV_LIST ? hooks->u.l.items : items;
    size_t count = hooks->type == JV_LIST ? hooks->u.l.n : 1;
    bp_status st = BP_OK;
    for (size_t k = 0; k < count && st == BP_OK; k++) {
        const jv *h = list[k];
        if (h->type == JV_DICT) /* {sql: ..., transaction: ...} */
            h = jv_dict_get(h, "sql");
        if (!h || h->type != JV_STR)
            continue;
        buf sql = {0};
        cctx c;
        jinja_rt *rt;
        jinja_tpl *t;
        char what[600];
        snprintf(what, sizeof what, "%s (%s)", n->file, kind);
        if ((st = jinja_parse(what, h->u.s.p, h->u.s.n, &dbt_env, &t, err)) != BP_OK)
            break;
        if ((st = with_rt(p, i, false, w, err, &rt, &c)) == BP_OK) {
            st = jinja_render(rt, t, &sql, err);
            jinja_rt_free(rt);
        }
        jinja_tpl_free(t);
        if (st == BP_OK && !blank(sql.p ? sql.p : ""))
            st = wh_exec(w, sql.p, err);
        if (st != BP_OK)
            bp_err_prefix(err, "%s", kind);
        buf_free(&sql);
    }
    return st;
}

bp_status dbt_compile_call_macro(project *p, int node, wh *w, const char *name, const jv_args *a,
                             buf *out, jv *extra, bp_err *err)
{
    jinja_macro *m = dbt_macro_lookup(p, node >= 0 ? p->nodes[node].pkg : &p->pkgs[0], name);
    if (!m) {
        const char *dot = strchr(name, '.');
        if (dot) {
            char pkg[256];
            snprintf(pkg, sizeof pkg, "%.*s", (int)(dot - name), name);
            m = dbt_macro_in(dbt_pkg_find(p, pkg), dot + 1);
        }
    }
    if (!m)
        return bp_fail(err, BP_EUSAGE, "no macro named '%s' in the project, its packages or "
                       "dbt's own", name);
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, node, false, w, err, &rt, &c);
    if (st != BP_OK)
        return st;
    c.extra = extra;
    jv *fn = jinja_macro_value(rt, m), *res;
    jv_args none = {0};
    st = fn ? jinja_call(rt, fn, a ? a : &none, &res, err) : bp_fail(err, BP_ENOMEM, "out of memory");
    if (st == BP_OK && out)
        st = jv_to_str(res, out);
    jinja_rt_free(rt);
    return st;
}

/* ---- names: generate_schema_name, generate_alias_name, generate_database_name ------------ */

static void trim(buf *b)
{
    size_t s = 0;
    while (s < b->len && isspace((unsigned char)b->p[s]))
        s++;
    while (b->len > s && isspace((unsigned char)b->p[b->len - 1]))
        b->len--;
    memmove(b->p, b->p + s, b->len - s);
    b->len -= s;
    b->p[b->len] = 0;
}

/* Call a naming macro of the root project: name(custom, node). */
static bp_status naming_macro(project *p, int i, const char *macro, const char *custom,
                              const char **out, bp_err *err)
{
    cctx c;
    jinja_rt *rt;
    bp_status st = with_rt(p, i, false, NULL, err, &rt, &c);
    if (st != BP_OK)
        return st;
    arena *a = RA(rt);
    jv *args[2] = {custom ? jv_strz(a, custom) : jv_none(a), dbt_ctx_model_dict(p, i)};
    jv *fn = jinja_macro_value(rt, dbt_macro_lookup(p, &p->pkgs[0], macro)), *res;
    jv_args ja = {2, 0, args, NULL, NULL};
    buf b = {0};
    if (!fn || !args[0] || !args[1])
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else if ((st = jinja_call(rt, fn, &ja, &res, err)) == BP_OK)
        st = jv_to_str(res, &b);
    jinja_rt_free(rt);
    if (st == BP_OK) {
        if (b.p)
            trim(&b);
        *out = dbt_proj_str(p, b.p ? b.p : "", b.len);
        if (!*out)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    } else {
        bp_err_prefix(err, "%s (for %s)", macro, p->nodes[i].name);
    }
    buf_free(&b);
    return st;
}

bp_status dbt_compile_names(project *p, int i, bp_err *err)
{
    node *n = &p->nodes[i];
    const char *custom_schema = n->cfg.schema;
    if (n->type == NT_TEST && !custom_schema)
        custom_schema = "dbt_test__audit";
    /* a snapshot's target_schema is used as written (dbt's legacy rule) */
    const char *tschema = n->type == NT_SNAPSHOT ? dbt_cfg_str(n, "target_schema") : NULL;
    const char *tdb = n->type == NT_SNAPSHOT ? dbt_cfg_str(n, "target_database") : NULL;
    if (tschema)
        n->schema = tschema;
    else if (p->override_schema) {
        if (naming_macro(p, i, "generate_schema_name", custom_schema, &n->schema, err) != BP_OK)
            return BP_EINPUT;
    } else {
        n->schema = custom_schema ? dbt_proj_strf(p, "%s_%s", p->target_schema,
                                              dbt_proj_trim(p, custom_schema))
                                  : p->target_schema;
    }
    if (tdb)
        n->database = tdb;
    else if (p->override_database) {
        if (naming_macro(p, i, "generate_database_name", n->cfg.database, &n->database, err) !=
            BP_OK)
            return BP_EINPUT;
    } else {
        n->database = n->cfg.database ? dbt_proj_trim(p, n->cfg.database) : p->target_db;
    }
    if (p->override_alias && n->type != NT_TEST) {
        if (naming_macro(p, i, "generate_alias_name", n->cfg.alias, &n->identifier, err) != BP_OK)
            return BP_EINPUT;
    } else if (n->cfg.alias) {
        n->identifier = dbt_proj_trim(p, n->cfg.alias);
    } else if (!n->identifier && n->version) { /* dbt's alias for versions: name_v2 */
        char *a = (char *)dbt_proj_strf(p, "%s_v%s", n->name, n->version);
        for (char *c = a; c && *c; c++)
            if (*c == '.')
                *c = '_';
        n->identifier = a;
    } else if (!n->identifier) {
        n->identifier = n->name;
    }
    if (!n->schema || !n->database || !n->identifier)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (dbt_node_is_ephemeral(n)) {
        n->relation = dbt_proj_strf(p, "__dbt__cte__%s", n->name);
        return n->relation ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
    }
    dbt_rel r = {.database = n->database, .schema = n->schema, .identifier = n->identifier,
                 .inc_db = true, .inc_schema = true, .inc_ident = true,
                 .q_db = true, .q_schema = true, .q_ident = true};
    buf rel = {0};
    if (dbt_rel_render(p, &r, &rel) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    n->relation = dbt_proj_str(p, rel.p ? rel.p : "", rel.len);
    buf_free(&rel);
    pthread_mutex_lock(&p->mu);
    n->model_dict = NULL; /* its names changed: built again when asked */
    pthread_mutex_unlock(&p->mu);
    return n->relation ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}
