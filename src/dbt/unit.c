/* unit.c: dbt's unit tests (dbt 1.8 and later): a model's SQL run on a few
 * rows given for its inputs, its result compared with the rows expected.
 *
 * Built as dbt builds one: each input (ref(), source() or `this`) becomes
 * a CTE of its fixture (the macro get_fixture_sql: every column of the
 * real relation, the given values cast to its types, the others null),
 * the model is rendered with those CTEs in place of its relations and the
 * test's overrides of macros, vars and env vars in its context, then
 * get_expected_sql and get_unit_test_sql put the actual and the expected
 * rows into one result (src/dbt/macros/unit.sql); an input given as SQL is
 * rendered as Jinja first, as dbt renders its stand-in node. The two sides are
 * compared as bags of rows: order does not matter, repeats do. A unit test
 * runs after the model's parents (it needs their columns) and, in build,
 * before the model, which a failure skips. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/log.h"
#include "dbt_int.h"

/* One given input, or the expected output (input NULL). */
typedef struct {
    const char *input;      /* as written: ref('x'), source('s', 't'), this */
    const char *format;     /* dict (default), csv or sql */
    const yml_node *rows;   /* a list (dict), a string (csv, sql) or NULL */
    const char *fixture;    /* a file of the test paths' fixtures/ folders */
    int line;
} unit_io;

struct unit_def {
    unit_io *given;
    int ngiven;
    unit_io expect;
    const yml_node *overrides;
};

/* A render of the tested model: what its refs, sources and `this` become. */
struct unit_ctx {
    const project *p;
    const struct unit_def *def;
    int *nodes;           /* per given input: the node it stands for */
    const char **ctes;    /* and the CTE holding its rows */
    bool has_this;
};

/* ---- the definitions ------------------------------------------------------------------ */

static bp_status read_io(project *p, const yml_node *m, const char *file, const char *test,
                         bool given, unit_io *io, bp_err *err)
{
    memset(io, 0, sizeof *io);
    if (!m || m->kind != YML_MAP)
        return bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': %s is a mapping (input:, rows:, "
                       "format:, fixture:)", file, m ? m->line : 0, test,
                       given ? "each given entry" : "expect");
    io->line = m->line;
    const char *in = yml_get_str(m, "input", NULL);
    if (given && !in)
        return bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': a given entry needs input: "
                       "(ref('model'), source('src', 'table') or this)", file, m->line, test);
    io->input = in ? dbt_proj_trim(p, in) : NULL;
    io->format = yml_get_str(m, "format", "dict");
    io->rows = yml_get(m, "rows");
    io->fixture = yml_get_str(m, "fixture", NULL);
    if (io->rows && yml_is_null(io->rows))
        io->rows = NULL;
    bool dict = !strcmp(io->format, "dict");
    if (!dict && strcmp(io->format, "csv") && strcmp(io->format, "sql"))
        return bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': format is dict, csv or sql, not "
                       "'%s'", file, m->line, test, io->format);
    /* dbt's checks, in its words */
    if (dict && io->rows && io->rows->kind != YML_SEQ)
        return bp_fail(err, BP_EINPUT, "%s:%d: Unit test %s has %s rows which do not match "
                       "format dict", file, m->line, test, given ? "input" : "expected");
    if (!dict && !(io->rows && io->rows->kind == YML_SCALAR) && !io->fixture)
        return bp_fail(err, BP_EINPUT, "%s:%d: Unit test %s has %s rows or fixtures which do "
                       "not match format %s.  Expected string.", file, m->line, test,
                       given ? "input" : "expected", io->format);
    if (io->fixture && !strmap_get(&p->fixtures, io->fixture))
        return bp_fail(err, BP_EINPUT, "%s:%d: File not found for fixture '%s' in unit tests "
                       "(looked in the fixtures/ folder of the test paths)", file, m->line,
                       io->fixture);
    return BP_OK;
}

static const yml_node *override_of(const yml_node *o, const char *kind, const char *name)
{
    return yml_get(yml_get(o, kind), name);
}

/* The model's versions the test covers (versions: include / exclude). */
static bool covers(const yml_node *versions, const char *v)
{
    const yml_node *inc = yml_get(versions, "include"), *exc = yml_get(versions, "exclude");
    const yml_node *l = inc ? inc : exc;
    bool in = false;
    for (size_t k = 0; l && l->kind == YML_SEQ && k < l->n; k++)
        in = in || (l->items[k]->kind == YML_SCALAR && !strcmp(l->items[k]->str, v));
    return inc ? in : exc ? !in : true;
}

static bp_status add_unit(project *p, dbt_pkg *pkg, const yml_node *e, struct unit_def *def,
                          const char *name, int model, const char *file, bp_err *err)
{
    const node *m0 = &p->nodes[model];
    const char *mname = m0->name, *ver = m0->version;
    const char *full = ver ? dbt_proj_strf(p, "%s_v%s", name, ver) : name;
    int i = full ? dbt_proj_add_node(p, NT_UNIT, full, err) : -1;
    if (i < 0)
        return err->status ? err->status : bp_fail(err, BP_ENOMEM, "out of memory");
    node *n = &p->nodes[i];
    const node *m = &p->nodes[model];
    n->pkg = pkg;
    n->unit = def;
    n->attached = model;
    n->file = file;
    n->path = dbt_props_rel_path(pkg, file);
    n->description = yml_get_str(e, "description", NULL);
    /* fqn: the package, the properties file's folders below its resource
     * path, the model, the test */
    dbt_props_fqn_folders(p, n);
    n->fqn[n->nfqn++] = mname;
    n->fqn[n->nfqn++] = full;
    const char *uid = dbt_proj_strf(p, "unit_test.%s.%s.%s", pkg->name, mname, full);
    if (!uid || dbt_proj_set_uid(p, n, uid, err) != BP_OK)
        return err->status ? err->status : bp_fail(err, BP_ENOMEM, "out of memory");
    jv mat = {.type = JV_STR, .u.s = {"unit", 4}};
    if (dbt_cfg_set(p, n, "materialized", &mat) != BP_OK ||
        dbt_proj_apply_tree(p, n, "unit_tests") != BP_OK ||
        dbt_cfg_set_yml(p, n, yml_get(e, "config")) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    n->identifier = full;
    /* it runs once the model's parents are there (it reads their columns) */
    for (int k = 0; k < m->ndeps; k++)
        if (dbt_proj_add_dep(p, i, p->nodes[model].deps[k], err) != BP_OK)
            return BP_ENOMEM;
    return BP_OK;
}

/* dbt's rules for an incremental model: is_incremental must be overridden
 * to a boolean, and when true, `this` must be given. */
static bp_status check_incremental(const node *m, const struct unit_def *d, const char *name,
                                   const char *file, bp_err *err)
{
    if (!m->raw || !strstr(m->raw, "is_incremental"))
        return BP_OK;
    const yml_node *o = override_of(d->overrides, "macros", "is_incremental");
    const char *v = o && o->kind == YML_SCALAR && !o->quoted ? o->str : "";
    bool t = !strcasecmp(v, "true"), f = !strcasecmp(v, "false");
    if (!t && !f)
        return bp_fail(err, BP_EINPUT, "%s: Boolean override for 'is_incremental' must be "
                       "provided for unit test '%s' in model '%s'", file, name, m->name);
    bool this_given = false;
    for (int k = 0; k < d->ngiven; k++)
        this_given = this_given || !strcmp(d->given[k].input, "this");
    if (t && !this_given)
        return bp_fail(err, BP_EINPUT, "%s: Unit test '%s' for incremental model '%s' must "
                       "have a 'this' input", file, name, m->name);
    return BP_OK;
}

static bp_status load_one(project *p, dbt_pkg *pkg, const yml_node *e, const char *file,
                          bp_err *err)
{
    const char *name = yml_get_str(e, "name", NULL), *model = yml_get_str(e, "model", NULL);
    if (!name || !model)
        return bp_fail(err, BP_EINPUT, "%s:%d: a unit test needs a name: and a model:", file,
                       e->line);
    struct unit_def *d = arena_alloc(&p->mem, sizeof *d);
    const yml_node *given = yml_get(e, "given");
    size_t ng = given && given->kind == YML_SEQ ? given->n : 0;
    if (!d || !(d->given = arena_alloc(&p->mem, (ng ? ng : 1) * sizeof *d->given)))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    d->ngiven = (int)ng;
    d->overrides = yml_get(e, "overrides");
    for (size_t k = 0; k < ng; k++)
        if (read_io(p, given->items[k], file, name, true, &d->given[k], err) != BP_OK)
            return BP_EINPUT;
    if (read_io(p, yml_get(e, "expect"), file, name, false, &d->expect, err) != BP_OK)
        return BP_EINPUT;
    /* "model_name" or "model_name version" */
    char mn[256] = "", mv[64] = "";
    if (sscanf(model, "%255s %63s", mn, mv) < 1)
        return bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': model: names a model", file,
                       e->line, name);
    const yml_node *versions = yml_get(e, "versions");
    int found = 0, named = 0;
    for (int i = 0, nn = p->nnodes; i < nn; i++) {
        const node *m = &p->nodes[i];
        if (m->type != NT_MODEL || strcmp(m->name, mn) || m->pkg != pkg)
            continue;
        named++;
        if (*mv ? !m->version || strcmp(m->version, mv) : m->version && !covers(versions, m->version))
            continue;
        found++;
        if (!m->cfg.enabled)
            continue; /* a test of a disabled model is disabled with it */
        if (!m->version && versions && (yml_get(versions, "include") || yml_get(versions, "exclude")))
            return bp_fail(err, BP_EINPUT, "%s: Unit test '%s' should not have a versions "
                           "include or exclude when referencing non-versioned model '%s'", file,
                           name, mn);
        if (check_incremental(m, d, name, file, err) != BP_OK ||
            add_unit(p, pkg, e, d, name, i, file, err) != BP_OK)
            return err->status ? err->status : BP_EINPUT;
    }
    if (!found && named)
        return bp_fail(err, BP_EINPUT, "%s: Unit test '%s' referenced a version of '%s' which "
                       "was not found.", file, name, mn);
    if (!found)
        return bp_fail(err, BP_EINPUT, "%s: Unable to find model '%s.%s' for unit test '%s'", file,
                       pkg->name, model, name);
    return BP_OK;
}

bp_status dbt_unit_load(project *p, bp_err *err)
{
    for (int d = 0; d < p->ndocs; d++) {
        const yml_node *list = yml_get(yml_root(p->docs[d]), "unit_tests");
        dbt_pkg *pkg = dbt_pkg_find(p, p->doc_pkg[d]);
        const char *f = yml_file(p->docs[d]);
        /* dbt runs the unit tests of the project at hand, not its packages' */
        if (!list || !pkg || !pkg->root)
            continue;
        if (list->kind != YML_SEQ)
            return bp_fail(err, BP_EINPUT, "%s:%d: unit_tests: is a list", f, list->line);
        for (size_t k = 0; k < list->n; k++)
            if (load_one(p, pkg, list->items[k], f, err) != BP_OK)
                return err->status ? err->status : BP_EINPUT;
    }
    return BP_OK;
}

/* ---- the context of the render ---------------------------------------------------------- */

jv *dbt_unit_input_rel(jinja_rt *rt, const struct unit_ctx *u, int k)
{
    for (int g = 0; g < u->def->ngiven; g++)
        if (u->nodes[g] == k) {
            dbt_rel r = {.cte = u->ctes[g], .type = "cte", .identifier = u->ctes[g]};
            return dbt_rel_new(jinja_rt_arena(rt), u->p, &r);
        }
    return NULL;
}

bool dbt_unit_this(const struct unit_ctx *u) { return u->has_this; }

const yml_node *dbt_unit_override(const struct unit_ctx *u, const char *kind, const char *name)
{
    return override_of(u->def->overrides, kind, name);
}

/* ---- inputs: which node each stands for ------------------------------------------------ */

/* The quoted and key=value arguments of ref(...) or source(...). */
typedef struct {
    const char *pos[3];
    int npos;
    const char *version;
} call_args;

static bool parse_call(project *p, const char *s, call_args *a)
{
    memset(a, 0, sizeof *a);
    while (*s && *s != ')') {
        while (isspace((unsigned char)*s) || *s == ',')
            s++;
        if (*s == ')' || !*s)
            break;
        const char *kw = NULL;
        size_t kn = 0;
        if (isalpha((unsigned char)*s)) { /* v=2, version='2' */
            kw = s;
            while (isalnum((unsigned char)*s) || *s == '_')
                s++;
            kn = (size_t)(s - kw);
            while (isspace((unsigned char)*s))
                s++;
            if (*s++ != '=')
                return false;
            while (isspace((unsigned char)*s))
                s++;
        }
        const char *v;
        size_t vn;
        if (*s == '\'' || *s == '"') {
            char q = *s++;
            v = s;
            while (*s && *s != q)
                s++;
            if (!*s)
                return false;
            vn = (size_t)(s++ - v);
        } else {
            v = s;
            while (*s && *s != ',' && *s != ')' && !isspace((unsigned char)*s))
                s++;
            vn = (size_t)(s - v);
        }
        const char *val = dbt_proj_str(p, v, vn);
        if (!val)
            return false;
        if (kw && ((kn == 1 && *kw == 'v') || (kn == 7 && !strncmp(kw, "version", 7))))
            a->version = val;
        else if (!kw && a->npos < 3)
            a->pos[a->npos++] = val;
    }
    return *s == ')';
}

static int find_ref(const project *p, const call_args *a)
{
    const char *pkg = a->npos == 2 ? a->pos[0] : NULL, *name = a->pos[a->npos - 1];
    static const node_type kinds[] = {NT_MODEL, NT_SEED, NT_SNAPSHOT};
    for (int i = 0; i < p->nnodes; i++) {
        const node *n = &p->nodes[i];
        bool kind = false;
        for (int t = 0; t < 3; t++)
            kind = kind || n->type == kinds[t];
        if (!kind || strcmp(n->name, name) || (pkg && strcmp(n->pkg->name, pkg)))
            continue;
        if (a->version ? n->version && !strcmp(n->version, a->version)
                       : !n->version || dbt_proj_find(p, n->type, name) == i)
            return i;
    }
    return -1;
}

static int input_node(project *p, const node *t, const unit_io *io, bp_err *err)
{
    const char *in = io->input;
    if (!strcmp(in, "this"))
        return t->attached;
    bool ref = !strncmp(in, "ref", 3), src = !strncmp(in, "source", 6);
    const char *open = strchr(in, '(');
    call_args a;
    int k = -1;
    if ((ref || src) && open && parse_call(p, open + 1, &a)) {
        if (ref && a.npos >= 1 && a.npos <= 2)
            k = find_ref(p, &a);
        else if (src && a.npos == 2) {
            char key[512];
            snprintf(key, sizeof key, "%s.%s", a.pos[0], a.pos[1]);
            k = dbt_proj_find(p, NT_SOURCE, key);
        } else {
            ref = src = false;
        }
    } else {
        ref = src = false;
    }
    if (!ref && !src)
        bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': input '%s' is not ref('...'), "
                "source('...', '...') or this", t->file, io->line, t->name, in);
    else if (k < 0)
        bp_fail(err, BP_EINPUT, "%s:%d: Unit test '%s' had an input (%s) which was not found in "
                "the manifest.", t->file, io->line, t->name, in);
    return k;
}

/* ---- rows: YAML, CSV, fixture files and seeds ------------------------------------------ */

/* Python's csv module, default dialect: "" doubles a quote inside quotes. */
static bool csv_record(arena *a, const char **s, jv *cells)
{
    const char *p = *s;
    for (;;) {
        buf cell = {0};
        bool ok = true;
        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"')
                    ok = !buf_addc(&cell, *p++);
                else if (*p == '"')
                    break;
                else
                    ok = !buf_addc(&cell, *p);
                if (!ok)
                    break;
            }
            if (*p == '"')
                p++;
        }
        while (ok && *p && *p != ',' && *p != '\n' && *p != '\r')
            ok = !buf_addc(&cell, *p++);
        ok = ok && jv_list_push(a, cells, jv_str(a, cell.p ? cell.p : "", cell.len));
        buf_free(&cell);
        if (!ok)
            return false;
        if (*p != ',')
            break;
        p++;
    }
    if (*p == '\r')
        p++;
    if (*p == '\n')
        p++;
    *s = p;
    return true;
}

/* CSV text as dbt reads it: the header names the keys; empty values are
 * null (a csv fixture); blank lines are skipped. */
static jv *csv_rows(arena *a, const char *text, bool empty_null)
{
    jv *out = jv_list(a, 8), *head = jv_list(a, 8);
    const char *s = text;
    while (out && head && *s) {
        if (*s == '\n' || *s == '\r') {
            s++;
            continue;
        }
        jv *cells = jv_list(a, 8);
        if (!cells || !csv_record(a, &s, cells))
            return NULL;
        if (!head->u.l.n) {
            head = cells;
            continue;
        }
        jv *row = jv_dict_new(a);
        for (size_t c = 0; row && c < head->u.l.n; c++) {
            jv *v = c < cells->u.l.n ? cells->u.l.items[c] : jv_none(a);
            if (empty_null && v && v->type == JV_STR && v->u.s.n == 0)
                v = jv_none(a);
            if (!v || !jv_dict_set(a, row, head->u.l.items[c]->u.s.p, v))
                row = NULL;
        }
        if (!row || !jv_list_push(a, out, row))
            return NULL;
    }
    return out;
}

/* A seed's file as rows of text (a seed input given without rows). */
static jv *seed_rows(arena *a, const node *seed, bp_err *err)
{
    seed_data sd = {0};
    if (dbt_seed_read(seed, ',', &sd, err) != BP_OK) {
        dbt_seed_free(&sd);
        return NULL;
    }
    jv *out = jv_list(a, sd.rows);
    for (size_t r = 0; out && r < sd.rows; r++) {
        jv *row = jv_dict_new(a);
        for (size_t c = 0; row && c < sd.ncols; c++) {
            const char *v = sd.cells[r * sd.ncols + c];
            if (!jv_dict_set(a, row, sd.names[c], v ? jv_strz(a, v) : jv_none(a)))
                row = NULL;
        }
        if (!row || !jv_list_push(a, out, row))
            out = NULL;
    }
    dbt_seed_free(&sd);
    if (!out)
        bp_fail(err, BP_ENOMEM, "out of memory");
    return out;
}

/* dbt puts the first row without nulls first (Redshift types a column by
 * its first value). */
static void promote_full_row(jv *rows)
{
    for (size_t r = 0; rows && r < rows->u.l.n; r++) {
        jv *row = rows->u.l.items[r];
        bool full = row->type == JV_DICT;
        for (size_t c = 0; full && c < jv_dict_len(row); c++)
            full = jv_dict_val(row, c)->type != JV_NONE;
        if (full) {
            rows->u.l.items[r] = rows->u.l.items[0];
            rows->u.l.items[0] = row;
            return;
        }
    }
}

/* An input's or the expectation's rows: a list of dicts, or for format
 * sql the query text (*sql). */
static bp_status io_rows(project *p, const node *t, const unit_io *io, int k, arena *a,
                         jv **rows, const char **sql, bp_err *err)
{
    *rows = NULL;
    *sql = NULL;
    const char *text = NULL;
    size_t tn = 0;
    if (io->fixture &&
        dbt_proj_read_file(p, strmap_get(&p->fixtures, io->fixture), &text, &tn, err) != BP_OK)
        return err->status ? err->status : BP_EIO;
    if (!text && io->rows && io->rows->kind == YML_SCALAR)
        text = io->rows->str;
    if (!strcmp(io->format, "sql")) {
        *sql = text ? text : "";
        return BP_OK;
    }
    if (!strcmp(io->format, "csv"))
        *rows = csv_rows(a, text ? text : "", true);
    else if (io->rows)
        *rows = dbt_proj_yml_value(a, io->rows);
    else if (k >= 0 && p->nodes[k].type == NT_SEED) /* rows: left out for a seed */
        *rows = seed_rows(a, &p->nodes[k], err);
    else
        *rows = jv_list(a, 0);
    if (!*rows)
        return err->status ? err->status : bp_fail(err, BP_ENOMEM, "out of memory");
    for (size_t r = 0; r < (*rows)->u.l.n; r++)
        if ((*rows)->u.l.items[r]->type != JV_DICT)
            return bp_fail(err, BP_EINPUT, "%s:%d: unit test '%s': each row is a mapping of "
                           "column: value", t->file, io->line, t->name);
    promote_full_row(*rows);
    return BP_OK;
}

/* ---- running one ------------------------------------------------------------------------- */

/* Call a macro of the unit test machinery in node ctx's context. */
static bp_status call(project *p, int ctx, wh *w, const char *macro, jv **args, size_t n,
                      buf *out, bp_err *err)
{
    jv_args a = {.npos = n, .pos = args};
    out->len = 0;
    return dbt_compile_call_macro(p, ctx, w, macro, &a, out, NULL, err);
}

/* The CTEs of the inputs, and the model's SQL rendered over them. */
static bp_status model_sql(project *p, wh *w, int i, struct unit_ctx *u, arena *a, buf *sql,
                           bp_err *err)
{
    node *t = &p->nodes[i];
    buf ctes = {0}, body = {0};
    bp_status st = BP_OK;
    for (int g = 0; g < u->def->ngiven && st == BP_OK; g++) {
        const unit_io *io = &u->def->given[g];
        int k = u->nodes[g];
        const node *x = &p->nodes[k];
        jv *cte = x->type == NT_SOURCE
                      ? jv_strf(a, "__dbt__cte__%s__%s", x->src_name, x->tbl_name)
                      : jv_strf(a, "__dbt__cte__%s", x->name);
        if (!cte) {
            st = bp_fail(err, BP_ENOMEM, "out of memory");
            break;
        }
        u->ctes[g] = cte->u.s.p;
        jv *rows;
        const char *text;
        if ((st = io_rows(p, t, io, k, a, &rows, &text, err)) != BP_OK)
            break;
        if (text) {
            /* an input's SQL is its stand-in node's code: dbt renders it
             * (fixtures branch on target.name, call project macros) */
            buf_reset(&body);
            st = dbt_compile_string(p, t->file, text, &body, k, err);
        } else {
            /* rendered as the input itself: `this` is its relation there */
            jv *args[2] = {rows, jv_none(a)};
            st = call(p, k, w, "get_fixture_sql", args, 2, &body, err);
        }
        if (st == BP_OK && buf_printf(&ctes, "%s%s as (\n%s\n)", g ? ", " : "", u->ctes[g],
                                      body.p ? body.p : ""))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (st == BP_OK)
        st = dbt_compile_unit_model(p, t->attached, w, u, sql, err);
    if (st == BP_OK && ctes.len)
        st = dbt_compile_splice_ctes(sql, &ctes, err);
    buf_free(&ctes);
    buf_free(&body);
    return st;
}

typedef struct {
    int side;            /* the column actual_or_expected, -1 until seen */
    char **names;
    size_t ncols;
    char **actual, **expected;
    size_t na, ne, cap_a, cap_e;
    bool oom;
} result;

static bool push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **x = realloc(*v, c * sizeof *x);
        if (!x)
            return false;
        *v = x;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    return true;
}

/* A row as one string: cells joined by \x1f, a null as \x1e. */
static int take_row(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    result *r = ctx;
    if (r->side < 0) {
        r->names = calloc(nc ? nc : 1, sizeof *r->names);
        if (!r->names)
            return r->oom = true;
        for (size_t c = 0; c < nc; c++) {
            if (!strcasecmp(cols[c].name, "actual_or_expected"))
                r->side = (int)c;
            else if (!(r->names[r->ncols++] = strdup(cols[c].name)))
                return r->oom = true;
        }
        if (r->side < 0)
            return r->oom = true;
    }
    if (!vals) /* no rows: the columns only */
        return 0;
    buf b = {0};
    bool ok = true, first = true;
    for (size_t c = 0; c < nc && ok; c++)
        if ((int)c != r->side) {
            ok = !(!first && buf_addc(&b, '\x1f')) && !(vals[c] ? buf_adds(&b, vals[c])
                                                              : buf_addc(&b, '\x1e'));
            first = false;
        }
    ok = ok && !buf_addc(&b, 0);
    bool actual = vals[r->side] && !strcmp(vals[r->side], "actual");
    if (ok)
        ok = actual ? push(&r->actual, &r->na, &r->cap_a, b.p)
                    : push(&r->expected, &r->ne, &r->cap_e, b.p);
    if (!ok) {
        buf_free(&b);
        return r->oom = true;
    }
    return 0;
}

static void result_free(result *r)
{
    for (size_t k = 0; k < r->na; k++)
        free(r->actual[k]);
    for (size_t k = 0; k < r->ne; k++)
        free(r->expected[k]);
    for (size_t k = 0; k < r->ncols; k++)
        free(r->names[k]);
    free(r->actual);
    free(r->expected);
    free(r->names);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bp_status add_row(buf *d, const char *mark, const char *row)
{
    if (buf_adds(d, mark))
        return BP_ENOMEM;
    for (const char *s = row; *s; s++)
        if (*s == '\x1f' ? buf_addc(d, ',') : *s == '\x1e' ? buf_adds(d, "NULL") : buf_addc(d, *s))
            return BP_ENOMEM;
    return buf_addc(d, '\n') ? BP_ENOMEM : BP_OK;
}

/* The rows only one side has, daff's way: --- expected only, +++ actual
 * only. Empty when the two bags are equal. */
static bp_status diff(result *r, buf *d)
{
    if (r->na)
        qsort(r->actual, r->na, sizeof *r->actual, cmp_str);
    if (r->ne)
        qsort(r->expected, r->ne, sizeof *r->expected, cmp_str);
    size_t a = 0, e = 0;
    bool any = false;
    bp_status st = BP_OK;
    while ((a < r->na || e < r->ne) && st == BP_OK) {
        int c = a == r->na ? 1 : e == r->ne ? -1 : strcmp(r->actual[a], r->expected[e]);
        if (c == 0) {
            a++, e++;
            continue;
        }
        if (!any) {
            any = true;
            st = buf_adds(d, "@@");
            for (size_t k = 0; k < r->ncols && st == BP_OK; k++)
                st = buf_printf(d, ",%s", r->names[k]);
            st = st ? st : buf_addc(d, '\n') ? BP_ENOMEM : BP_OK;
        }
        st = st ? st : c < 0 ? add_row(d, "+++,", r->actual[a++]) : add_row(d, "---,", r->expected[e++]);
    }
    return st;
}

/* The columns of a query and their types: dbt builds an empty table from
 * it and reads the table's columns. */
static bp_status query_columns(project *p, wh *w, const node *t, const char *sql, colset *cols,
                               bp_err *err)
{
    char name[300], suffix[48];
    snprintf(suffix, sizeof suffix, "__dbt_unit_%ld", (long)getpid());
    dbt_mat_work_name(t->identifier, suffix, name, sizeof name);
    /* beside the model (its schema's names are known once the project is) */
    const char *schema = p->nodes[t->attached].schema;
    buf q = {0};
    bp_status st = dbt_mat_ensure_schema(w, schema, err);
    if (st == BP_OK && (buf_adds(&q, "create table ") || buf_add_relation(&q, schema, name) ||
                        buf_printf(&q, " as select * from (\n%s\n) as __dbt_sbq limit 0", sql)))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    st = st ? st : wh_exec(w, q.p, err);
    if (st == BP_OK) {
        st = dbt_mat_columns(w, schema, name, cols, err);
        q.len = 0;
        bp_err e2 = {0};
        if (buf_adds(&q, "drop table if exists ") || buf_add_relation(&q, schema, name) ||
            wh_exec(w, q.p, &e2) != BP_OK)
            bp_log(BP_LOG_WARN, "unit test %s: could not drop its work table %s.%s", t->name,
                   schema, name);
    }
    buf_free(&q);
    return st;
}

/* The expected side: its SQL and the column names compared. */
static bp_status expected_sql(project *p, wh *w, int i, const colset *cols, arena *a, buf *out,
                              jv **names, bp_err *err)
{
    node *t = &p->nodes[i];
    jv *rows;
    const char *text;
    bp_status st = io_rows(p, t, &t->unit->expect, -1, a, &rows, &text, err);
    if (st != BP_OK)
        return st;
    jv *types = jv_dict_new(a);
    *names = jv_list(a, cols->n);
    for (size_t c = 0; types && *names && c < cols->n; c++) {
        char *low = strdup(cols->names[c]);
        for (char *s = low; s && *s; s++)
            *s = (char)tolower((unsigned char)*s);
        if (!low || !jv_dict_set(a, types, low, jv_strz(a, cols->types[c])))
            types = NULL;
        free(low);
    }
    if (!types || !*names)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    bool ok = true;
    if (rows && rows->u.l.n) /* the columns of the first row, as written */
        for (size_t c = 0; ok && c < jv_dict_len(rows->u.l.items[0]); c++)
            ok = jv_list_push(a, *names, jv_strz(a, jv_dict_key(rows->u.l.items[0], c)));
    else
        for (size_t c = 0; ok && c < cols->n; c++)
            ok = jv_list_push(a, *names, jv_strz(a, cols->names[c]));
    if (!ok)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (text) {
        out->len = 0;
        return buf_adds(out, text) ? bp_fail(err, BP_ENOMEM, "out of memory") : BP_OK;
    }
    jv *args[2] = {rows, types};
    return call(p, i, w, "get_expected_sql", args, 2, out, err);
}

static bp_status judge(project *p, wh *w, node *t, const char *sql, bp_err *err)
{
    result r = {.side = -1};
    bp_status st = wh_query(w, sql, take_row, &r, err);
    if (st == BP_OK && r.oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory reading the unit test's rows");
    buf d = {0};
    if (st == BP_OK && diff(&r, &d) != BP_OK)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    if (st == BP_OK) {
        t->status = d.len ? ST_FAIL : ST_PASS;
        t->failures = d.len ? 1 : 0;
        if (d.len) {
            snprintf(t->message, sizeof t->message, "actual differs from expected:\n\n%s",
                     d.p);
            t->detail = dbt_proj_strf(p, "actual differs from expected:\n\n%s", d.p);
        }
    }
    buf_free(&d);
    result_free(&r);
    return st;
}

bp_status dbt_mat_unit(project *p, wh *w, int i, bp_err *err)
{
    node *t = &p->nodes[i];
    const node *m = &p->nodes[t->attached];
    if (m->python)
        return bp_fail(err, BP_EUSAGE, "unit test '%s': %s is a Python model; dbt unit tests "
                       "test SQL models only", t->name, m->name);
    if (m->parse_error[0])
        return bp_fail(err, BP_EINPUT, "%s", m->parse_error);
    const struct unit_def *d = t->unit;
    arena a = {0};
    struct unit_ctx u = {.p = p, .def = d};
    u.nodes = arena_alloc(&a, (size_t)(d->ngiven + 1) * sizeof *u.nodes);
    u.ctes = arena_alloc(&a, (size_t)(d->ngiven + 1) * sizeof *u.ctes);
    bp_status st = u.nodes && u.ctes ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
    for (int g = 0; g < d->ngiven && st == BP_OK; g++) {
        if ((u.nodes[g] = input_node(p, t, &d->given[g], err)) < 0)
            st = BP_EINPUT;
        u.has_this = u.has_this || !strcmp(d->given[g].input, "this");
    }
    buf sql = {0}, exp = {0}, full = {0};
    colset cols = {0};
    jv *names = NULL;
    st = st ? st : model_sql(p, w, i, &u, &a, &sql, err);
    free(t->compiled);
    t->compiled = sql.p ? strdup(sql.p) : NULL;
    /* from here on the warehouse runs what the test's rows made */
    bool ran = st == BP_OK;
    st = st ? st : query_columns(p, w, t, sql.p, &cols, err);
    st = st ? st : expected_sql(p, w, i, &cols, &a, &exp, &names, err);
    if (st == BP_OK) {
        jv *args[3] = {jv_str(&a, sql.p, sql.len), jv_str(&a, exp.p ? exp.p : "", exp.len), names};
        st = call(p, i, w, "get_unit_test_sql", args, 3, &full, err);
    }
    st = st ? st : judge(p, w, t, full.p, err);
    if (ran && st != BP_OK && st != BP_ENOMEM)
        bp_err_prefix(err, "An error occurred during execution of unit test '%s'. There may be "
                      "an error in the unit test definition: check the data types", t->name);
    buf_free(&sql);
    buf_free(&exp);
    buf_free(&full);
    dbt_mat_colset_free(&cols);
    arena_free(&a);
    return st;
}
