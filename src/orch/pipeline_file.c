/* pipeline_file.c: reading and checking a pipeline file. */
#include "pipeline_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/num.h"
#include "../core/yml.h"
#include "../jinja/jinja.h"

static const char *const type_names[BT_NTYPES] = {
    "extract", "clean", "lake", "load", "dbt", "test", "shell", "noop", "recommend",
};

/* Variables every run has, besides the pipeline's own (see orch.c). */
static const char *const builtin_vars[] = {
    "target", "data", "lake", "schema", "warehouse", "models", "trigger", "full_refresh",
};

const char *pl_type_name(pl_type t) { return t < BT_NTYPES ? type_names[t] : "?"; }

static bp_status oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

static bp_status at(bp_err *err, const pl_pipeline *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bp_status at(bp_err *err, const pl_pipeline *p, int line, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bp_fail(err, BP_EINPUT, "%s:%d: %s", p->file, line, msg);
}

/* A duration in seconds: 90, 1.5, "90s", "10m", "2h". */
static bool seconds(const yml_node *n, double *out)
{
    if (!n || n->kind != YML_SCALAR)
        return false;
    char *end;
    double v = strtod(n->str, &end);
    if (end == n->str || v < 0)
        return false;
    double mul = !strcmp(end, "") || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
               : !strcmp(end, "h") ? 3600 : -1;
    if (mul < 0)
        return false;
    *out = v * mul;
    return true;
}

/* The node as text, for the block's fingerprint. */
static bool flatten(const yml_node *n, buf *b)
{
    if (!n)
        return buf_adds(b, "~") == 0;
    if (n->kind == YML_SCALAR)
        return buf_addc(b, '"') == 0 && buf_adds(b, n->str) == 0 && buf_addc(b, '"') == 0;
    if (buf_addc(b, n->kind == YML_SEQ ? '[' : '{'))
        return false;
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == YML_MAP && (buf_adds(b, n->keys[i]) || buf_addc(b, ':')))
            return false;
        if (!flatten(n->items[i], b) || buf_addc(b, ','))
            return false;
    }
    return buf_addc(b, n->kind == YML_SEQ ? ']' : '}') == 0;
}

static bp_status parse_retries(const pl_pipeline *p, pl_block *b, const yml_node *r, bp_err *err)
{
    int64_t v;
    if (r->kind == YML_SCALAR) {
        if (!num_parse_i64(r->str, strlen(r->str), &v) || v < 0 || v > 100)
            return at(err, p, r->line, "retries: expected a count 0-100 or a mapping "
                      "{count, delay, max_delay, backoff}");
        b->retries = (int)v;
        return BP_OK;
    }
    if (r->kind != YML_MAP)
        return at(err, p, r->line, "retries: expected a count or a mapping");
    for (size_t i = 0; i < r->n; i++) {
        const char *k = r->keys[i];
        const yml_node *x = r->items[i];
        if (!strcmp(k, "count") || !strcmp(k, "retries")) {
            if (x->kind != YML_SCALAR || !num_parse_i64(x->str, strlen(x->str), &v) || v < 0 ||
                v > 100)
                return at(err, p, x->line, "retries.count: expected 0-100");
            b->retries = (int)v;
        } else if (!strcmp(k, "delay")) {
            if (!seconds(x, &b->delay))
                return at(err, p, x->line, "retries.delay: expected seconds (5, 2.5, 1m)");
        } else if (!strcmp(k, "max_delay")) {
            if (!seconds(x, &b->max_delay))
                return at(err, p, x->line, "retries.max_delay: expected seconds");
        } else if (!strcmp(k, "backoff") || !strcmp(k, "exponential_backoff")) {
            if (x->kind != YML_SCALAR)
                return at(err, p, x->line, "retries.backoff: expected exponential or none");
            b->backoff = !strcmp(x->str, "exponential") || yml_bool(x, false);
            if (!b->backoff && strcmp(x->str, "none") && strcmp(x->str, "constant") &&
                yml_bool(x, true))
                return at(err, p, x->line, "retries.backoff: expected exponential or none");
        } else
            return at(err, p, x->line, "retries: unknown key '%s' (count, delay, max_delay, "
                      "backoff)", k);
    }
    return BP_OK;
}

/* Does key i of mapping m repeat an earlier key? YAML keys are unique in a
 * mapping; a repeat would be read twice (PyYAML keeps the last; here it is
 * refused, with its line). */
static bool dup_key(const yml_node *m, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(m->keys[j], m->keys[i]))
            return true;
    return false;
}

static bp_status parse_upstream(const pl_pipeline *p, pl_block *b, const yml_node *u,
                                bp_err *err)
{
    if (b->upstream)
        return at(err, p, u->line, "upstream given twice in one block");
    if (yml_is_null(u))
        return BP_OK;
    size_t n = u->kind == YML_SEQ ? u->n : 1;
    if (u->kind == YML_MAP)
        return at(err, p, u->line, "upstream: expected a block name or a list of names");
    b->upstream = calloc(n, sizeof *b->upstream);
    b->up = calloc(n, sizeof *b->up);
    if (!b->upstream || !b->up)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        const yml_node *x = u->kind == YML_SEQ ? u->items[i] : u;
        if (x->kind != YML_SCALAR)
            return at(err, p, x->line, "upstream: expected block names");
        if (!(b->upstream[b->nup++] = strdup(x->str)))
            return oom(err);
    }
    return BP_OK;
}

static bp_status scalar(const pl_pipeline *p, const yml_node *x, const char *key, char **out,
                        bp_err *err)
{
    if (x->kind != YML_SCALAR)
        return at(err, p, x->line, "%s: expected text", key);
    free(*out);
    return (*out = strdup(x->str)) ? BP_OK : oom(err);
}

static bp_status parse_block(const pl_pipeline *p, pl_block *b, const yml_node *m, bp_err *err)
{
    b->line = m->line;
    if (m->kind != YML_MAP)
        return at(err, p, m->line, "a block must be a mapping with at least name and type");
    bp_status st = BP_OK;
    const yml_node *type = NULL;
    for (size_t i = 0; i < m->n && st == BP_OK; i++) {
        const char *k = m->keys[i];
        const yml_node *x = m->items[i];
        if (dup_key(m, i))
            return at(err, p, x->line, "key '%s' given twice in one block", k);
        if (!strcmp(k, "name") || !strcmp(k, "uuid"))
            st = scalar(p, x, k, &b->name, err);
        else if (!strcmp(k, "type"))
            type = x;
        else if (!strcmp(k, "upstream") || !strcmp(k, "upstream_blocks"))
            st = parse_upstream(p, b, x, err);
        else if (!strcmp(k, "retries") || !strcmp(k, "retry_config"))
            st = parse_retries(p, b, x, err);
        else if (!strcmp(k, "timeout")) {
            if (!yml_is_null(x) && !seconds(x, &b->timeout))
                st = at(err, p, x->line, "timeout: expected seconds (600, 10m, 1h)");
        } else if (!strcmp(k, "when"))
            st = scalar(p, x, k, &b->when, err);
        else if (!strcmp(k, "command"))
            st = scalar(p, x, k, &b->command, err);
        else if (!strcmp(k, "select"))
            st = scalar(p, x, k, &b->select, err);
        else if (!strcmp(k, "exclude"))
            st = scalar(p, x, k, &b->exclude, err);
        else if (strcmp(k, "description") != 0)
            st = at(err, p, x->line, "unknown key '%s' in a block (name, type, upstream, "
                    "retries, timeout, when, command, select, exclude, description)", k);
    }
    if (st != BP_OK)
        return st;
    if (!b->name || !*b->name)
        return at(err, p, m->line, "a block without a name");
    if (!type || type->kind != YML_SCALAR)
        return at(err, p, m->line, "block '%s' has no type", b->name);
    int t = 0;
    while (t < BT_NTYPES && strcmp(type_names[t], type->str) != 0)
        t++;
    if (t == BT_NTYPES)
        return at(err, p, type->line, "block '%s': unknown type '%s' (extract, clean, lake, "
                  "load, dbt, test, shell, noop, recommend)", b->name, type->str);
    b->type = (pl_type)t;
    if (b->type == BT_DBT) {
        static const char *const ok[] = {"build", "run", "seed", "test"};
        bool good = false;
        for (size_t i = 0; i < 4; i++)
            good |= b->command && !strcmp(b->command, ok[i]);
        if (!good)
            return at(err, p, m->line, "dbt block '%s': command must be build, run, seed or "
                      "test", b->name);
    }
    if (b->type == BT_SHELL && (!b->command || !*b->command))
        return at(err, p, m->line, "shell block '%s' needs a command", b->name);
    if (b->type != BT_DBT && b->type != BT_SHELL && b->type != BT_RECOMMEND && b->command)
        return at(err, p, m->line, "block '%s': command is only for dbt, shell and recommend "
                  "blocks", b->name);
    buf cfg = {0};
    if (!flatten(m, &cfg)) {
        buf_free(&cfg);
        return oom(err);
    }
    b->config = cfg.p ? cfg.p : strdup("");
    return b->config ? BP_OK : oom(err);
}

static bp_status parse_vars(pl_pipeline *p, const yml_node *v, bp_err *err)
{
    if (yml_is_null(v))
        return BP_OK;
    if (v->kind != YML_MAP)
        return at(err, p, v->line, "vars: expected a mapping of names to default values");
    p->var_keys = calloc(v->n + 1, sizeof *p->var_keys);
    p->var_vals = calloc(v->n + 1, sizeof *p->var_vals);
    if (!p->var_keys || !p->var_vals)
        return oom(err);
    for (size_t i = 0; i < v->n; i++) {
        const yml_node *x = v->items[i];
        if (x->kind != YML_SCALAR)
            return at(err, p, x->line, "vars.%s: expected a scalar value", v->keys[i]);
        p->var_keys[p->nvars] = strdup(v->keys[i]);
        p->var_vals[p->nvars] = strdup(yml_is_null(x) ? "" : x->str);
        if (!p->var_keys[p->nvars] || !p->var_vals[p->nvars])
            return oom(err);
        p->nvars++;
    }
    return BP_OK;
}

/* Resolve upstream names and refuse cycles (naming one). */
static bp_status link_blocks(pl_pipeline *p, const yml_node *list, bp_err *err)
{
    for (int i = 0; i < p->n; i++) {
        pl_block *b = &p->b[i];
        if (pl_find(p, b->name) != i)
            return at(err, p, b->line, "two blocks are named '%s'", b->name);
        for (int k = 0; k < b->nup; k++) {
            b->up[k] = pl_find(p, b->upstream[k]);
            if (b->up[k] < 0)
                return at(err, p, b->line, "block '%s': upstream block '%s' does not exist",
                          b->name, b->upstream[k]);
            if (b->up[k] == i)
                return at(err, p, b->line, "block '%s' lists itself as upstream", b->name);
        }
    }
    (void)list;
    for (int i = 0; i < p->n; i++)
        for (int k = 0; k < p->b[i].nup; k++)
            if (pl_reaches(p, i, p->b[i].up[k]))
                return at(err, p, p->b[i].line, "cycle: block '%s' is upstream of '%s', which "
                          "is upstream of it", p->b[i].name, p->b[p->b[i].up[k]].name);
    return BP_OK;
}

static bp_status check_conditions(pl_pipeline *p, bp_err *err)
{
    size_t nb = sizeof builtin_vars / sizeof builtin_vars[0];
    int n = p->nvars + (int)nb;
    char **k = calloc((size_t)n, sizeof *k), **v = calloc((size_t)n, sizeof *v);
    bp_status st = BP_OK;
    if (!k || !v)
        st = oom(err);
    for (int i = 0; st == BP_OK && i < p->nvars; i++)
        k[i] = p->var_keys[i], v[i] = p->var_vals[i];
    for (size_t i = 0; st == BP_OK && i < nb; i++)
        k[p->nvars + (int)i] = (char *)builtin_vars[i], v[p->nvars + (int)i] = "";
    for (int i = 0; st == BP_OK && i < p->n; i++) {
        bool r;
        if (p->b[i].when)
            st = pl_when(p, &p->b[i], k, v, n, &r, err);
    }
    free(k);
    free(v);
    return st;
}

bp_status pl_load(const char *path, pl_pipeline *p, bp_err *err)
{
    memset(p, 0, sizeof *p);
    if (!(p->file = strdup(path)))
        return oom(err);
    yml_doc *doc = NULL;
    bp_status st = yml_load(path, &doc, err);
    if (st != BP_OK) {
        pl_free(p);
        return st;
    }
    const yml_node *root = yml_root(doc);
    const yml_node *blocks = yml_get(root, "blocks");
    if (!root || root->kind != YML_MAP) {
        st = at(err, p, 1, "expected a mapping with name, vars, schedule and blocks");
        goto done;
    }
    for (size_t i = 0; i < root->n && st == BP_OK; i++) {
        const char *k = root->keys[i];
        const yml_node *x = root->items[i];
        if (dup_key(root, i)) {
            st = at(err, p, x->line, "key '%s' given twice", k);
            break;
        }
        if (!strcmp(k, "name") || !strcmp(k, "uuid"))
            st = scalar(p, x, k, &p->name, err);
        else if (!strcmp(k, "schedule")) {
            if (yml_is_null(x))
                continue;
            if ((st = scalar(p, x, k, &p->schedule, err)) == BP_OK &&
                (st = cron_parse(p->schedule, &p->cron, err)) != BP_OK)
                bp_err_prefix(err, "%s:%d: schedule", p->file, x->line);
        } else if (!strcmp(k, "vars") || !strcmp(k, "variables"))
            st = parse_vars(p, x, err);
        else if (strcmp(k, "blocks") != 0 && strcmp(k, "description") != 0)
            st = at(err, p, x->line, "unknown key '%s' (name, description, schedule, vars, "
                    "blocks)", k);
    }
    if (st != BP_OK)
        goto done;
    if (!p->name && !(p->name = strdup("pipeline"))) {
        st = oom(err);
        goto done;
    }
    if (!blocks || blocks->kind != YML_SEQ || blocks->n == 0) {
        st = at(err, p, blocks ? blocks->line : root->line, "blocks: expected a list of blocks");
        goto done;
    }
    if (!(p->b = calloc(blocks->n, sizeof *p->b))) {
        st = oom(err);
        goto done;
    }
    for (size_t i = 0; i < blocks->n && st == BP_OK; i++, p->n++)
        st = parse_block(p, &p->b[i], blocks->items[i], err);
    if (st == BP_OK)
        st = link_blocks(p, blocks, err);
    if (st == BP_OK)
        st = check_conditions(p, err);
done:
    yml_free(doc);
    if (st != BP_OK)
        pl_free(p);
    return st;
}

void pl_free(pl_pipeline *p)
{
    for (int i = 0; i < p->n; i++) {
        pl_block *b = &p->b[i];
        for (int k = 0; k < b->nup; k++)
            free(b->upstream[k]);
        free(b->upstream);
        free(b->up);
        free(b->name);
        free(b->when);
        free(b->command);
        free(b->select);
        free(b->exclude);
        free(b->config);
    }
    for (int i = 0; i < p->nvars; i++) {
        free(p->var_keys[i]);
        free(p->var_vals[i]);
    }
    free(p->var_keys);
    free(p->var_vals);
    free(p->b);
    free(p->file);
    free(p->name);
    free(p->schedule);
    memset(p, 0, sizeof *p);
}

int pl_find(const pl_pipeline *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (p->b[i].name && !strcmp(p->b[i].name, name))
            return i;
    return -1;
}

bool pl_reaches(const pl_pipeline *p, int a, int d)
{
    char *seen = calloc((size_t)p->n, 1);
    int *stack = malloc(sizeof *stack * (size_t)p->n);
    bool found = false;
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return false;
    }
    int top = 0;
    stack[top++] = d;
    seen[d] = 1;
    while (top && !found) {
        int x = stack[--top];
        for (int k = 0; k < p->b[x].nup && !found; k++) {
            int u = p->b[x].up[k];
            if (u < 0 || seen[u])
                continue;
            found = u == a;
            seen[u] = 1;
            stack[top++] = u;
        }
    }
    free(seen);
    free(stack);
    return found;
}

/* ---- when: a Jinja expression over the run variables ---------------------------- */

typedef struct {
    char *const *keys, *const *vals;
    int n;
    const char *known;
} when_ctx;

/* The run variables; any other name is an error that names the known ones
 * (a typo in a condition must not read as false). */
static bool when_lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    when_ctx *c = jinja_rt_data(rt);
    arena *a = jinja_rt_arena(rt);
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->keys[i], name)) {
            const char *v = c->vals[i];
            *out = !strcmp(v, "true") || !strcmp(v, "false") ? jv_bool(a, v[0] == 't')
                                                             : jv_strz(a, v);
            return *out != NULL;
        }
    if (strcmp(name, "true") && strcmp(name, "false") && strcmp(name, "none"))
        jinja_fail(rt, "unknown name '%s' in a when condition (the run variables: %s)", name,
                   c->known);
    return false;
}

bp_status pl_when(const pl_pipeline *p, const pl_block *b, char *const *keys,
                  char *const *vals, int n, bool *out, bp_err *err)
{
    buf t = {0}, res = {0}, known = {0};
    bp_status st = BP_ENOMEM;
    if (buf_adds(&t, "{% if ") || buf_adds(&t, b->when) || buf_adds(&t, " %}1{% endif %}"))
        goto done;
    for (int i = 0; i < n; i++)
        if ((i && buf_adds(&known, ", ")) || buf_adds(&known, keys[i]))
            goto done;
    when_ctx c = {keys, vals, n, known.p ? known.p : ""};
    static const jinja_env env = {when_lookup, NULL, NULL, NULL, NULL};
    char name[600];
    snprintf(name, sizeof name, "%s:%d: when of block '%s'", p->file, b->line, b->name);
    st = jinja_render_string(name, t.p, t.len, &env, &c, &res, err);
    *out = res.len > 0;
done:
    if (st == BP_ENOMEM)
        oom(err);
    buf_free(&known);
    buf_free(&t);
    buf_free(&res);
    return st;
}
