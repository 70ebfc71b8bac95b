/* project.c: reading a dbt project (dbt_project.yml, the packages, models,
 * seeds, snapshots, analyses and singular tests) into nodes and their DAG
 * (configs: config.c; the target from profiles.yml: profile.c). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>

#include "../core/fs.h"
#include "dbt_int.h"
#include "../core/log.h"

/* ---- memory: everything lives until dbt_proj_free -------------------------------------- */

/* Worker threads allocate too (relation names, values built once): the
 * arena is shared, so every allocation takes the lock. */
static void *palloc(project *p, size_t n)
{
    pthread_mutex_lock(&p->mu);
    void *v = arena_alloc(&p->mem, n);
    pthread_mutex_unlock(&p->mu);
    return v;
}

const char *dbt_proj_str(project *p, const char *s, size_t n)
{
    char *c = palloc(p, n + 1);
    if (c)
        memcpy(c, s, n);
    return c;
}

const char *dbt_proj_strf(project *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *c = palloc(p, (size_t)n + 1);
    if (!c)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(c, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return c;
}

void dbt_proj_free(project *p)
{
    for (int i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].deps);
        free(p->nodes[i].kids);
        free(p->nodes[i].compiled);
        free(p->nodes[i].test_sql);
        jinja_tpl_free(p->nodes[i].tpl);
    }
    free(p->nodes);
    for (int t = 0; t < NT_NTYPES; t++)
        strmap_free(&p->by_name[t]);
    strmap_free(&p->by_uid);
    strmap_free(&p->fixtures);
    dbt_macros_free(p);
    yml_free(p->project_doc);
    yml_free(p->profiles_doc);
    yml_free(p->vars_doc);
    for (int i = 0; i < p->ndocs; i++)
        yml_free(p->docs[i]);
    free(p->docs);
    free(p->doc_pkg);
    arena_free(&p->mem);
    pthread_mutex_destroy(&p->mu);
}

const char *dbt_node_type_name(node_type t)
{
    static const char *const names[] = {"model", "seed", "test", "source", "snapshot",
                                        "analysis", "exposure", "unit_test"};
    return names[t];
}

bool dbt_node_is_ephemeral(const node *n)
{
    return n->type == NT_MODEL && n->cfg.materialized &&
           strcmp(n->cfg.materialized, "ephemeral") == 0;
}

int dbt_proj_add_node(project *p, node_type t, const char *name, bp_err *err)
{
    if (p->nnodes == p->capnodes) {
        int cap = p->capnodes ? p->capnodes * 2 : 64;
        node *n = realloc(p->nodes, (size_t)cap * sizeof *n);
        if (!n) {
            bp_fail(err, BP_ENOMEM, "out of memory");
            return -1;
        }
        p->nodes = n;
        p->capnodes = cap;
    }
    node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof *n);
    n->type = t;
    n->name = name;
    n->attached = -1;
    n->pkg = p->pkgs ? &p->pkgs[0] : NULL;
    n->cfg.enabled = true;
    n->cfg.limit = -1;
    n->cfg.full_refresh = -1;
    if (!(n->cfg.all = jv_dict_new(&p->mem))) {
        bp_fail(err, BP_ENOMEM, "out of memory");
        return -1;
    }
    /* the first of a name wins the index (packages may repeat names) */
    if (!strmap_get(&p->by_name[t], name) &&
        !strmap_put(&p->by_name[t], name, (void *)(intptr_t)(p->nnodes + 1))) {
        bp_fail(err, BP_ENOMEM, "out of memory");
        return -1;
    }
    return p->nnodes++;
}

int dbt_proj_find(const project *p, node_type t, const char *name)
{
    return (int)(intptr_t)strmap_get(&p->by_name[t], name) - 1;
}

int dbt_proj_find_uid(const project *p, const char *uid)
{
    return (int)(intptr_t)strmap_get(&p->by_uid, uid) - 1;
}

bp_status dbt_proj_set_uid(project *p, node *n, const char *uid, bp_err *err)
{
    n->unique_id = uid;
    if (!uid || !strmap_put(&p->by_uid, uid, (void *)(intptr_t)(n - p->nodes + 1)))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    return BP_OK;
}

bp_status dbt_proj_add_dep(project *p, int child, int parent, bp_err *err)
{
    node *n = &p->nodes[child];
    for (int i = 0; i < n->ndeps; i++)
        if (n->deps[i] == parent)
            return BP_OK;
    if (n->ndeps == n->capdeps) {
        int cap = n->capdeps ? n->capdeps * 2 : 4;
        int *d = realloc(n->deps, (size_t)cap * sizeof *d);
        if (!d)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        n->deps = d;
        n->capdeps = cap;
    }
    n->deps[n->ndeps++] = parent;
    return BP_OK;
}

/* ---- YAML values ----------------------------------------------------------------------- */

jv *dbt_proj_yml_value(arena *a, const yml_node *v)
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
            if (*v->str && !*end && strcasecmp(v->str, "nan") && strcasecmp(v->str, "inf"))
                return jv_float(a, d);
            static const char *const t[] = {"true", "True", "TRUE", "yes", "on"};
            static const char *const f[] = {"false", "False", "FALSE", "no", "off"};
            for (int k = 0; k < 5; k++) {
                if (!strcmp(v->str, t[k]))
                    return jv_bool(a, true);
                if (!strcmp(v->str, f[k]))
                    return jv_bool(a, false);
            }
        }
        return jv_strz(a, v->str);
    }
    jv *out = v->kind == YML_MAP ? jv_dict_new(a) : jv_list(a, v->n);
    for (size_t i = 0; out && i < v->n; i++) {
        jv *x = dbt_proj_yml_value(a, v->items[i]);
        if (!x || !(v->kind == YML_MAP ? jv_dict_set(a, out, v->keys[i], x)
                                       : jv_list_push(a, out, x)))
            return NULL;
    }
    return out;
}

const char *dbt_proj_trim(project *p, const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return dbt_proj_str(p, s, n);
}

bool dbt_has_jinja(const char *s) { return strstr(s, "{{") || strstr(s, "{%"); }

static bool skipped(const char *key, const char *const *skip)
{
    const char *k = key[0] == '+' ? key + 1 : key;
    for (; skip && *skip; skip++)
        if (!strcmp(k, *skip))
            return true;
    return false;
}

/* A rendered value back into a YAML scalar: its text, quoted only when
 * it was a string (so "false" from Jinja reads as a boolean). */
static bp_status set_scalar(project *p, yml_node *v, const jv *x, bp_err *err)
{
    buf b = {0};
    bp_status st = x->type == JV_NONE   ? buf_adds(&b, "null")
                   : x->type == JV_BOOL ? buf_adds(&b, x->u.b ? "true" : "false")
                                        : jv_to_str(x, &b);
    v->str = st ? NULL : dbt_proj_str(p, b.p ? b.p : "", b.len);
    v->quoted = x->type == JV_STR;
    buf_free(&b);
    return v->str ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

bp_status dbt_proj_render_yml(project *p, yml_node *v, const char *file, const char *const *skip,
                          bp_err *err)
{
    if (!v)
        return BP_OK;
    if (v->kind == YML_SCALAR) {
        if (!dbt_has_jinja(v->str))
            return BP_OK;
        arena a = {0};
        jv *x;
        bp_status st = dbt_compile_native(p, file, v->str, -1, &a, &x, err);
        if (st == BP_OK)
            st = set_scalar(p, v, x, err);
        arena_free(&a);
        return st;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (v->kind == YML_MAP && skipped(v->keys[i], skip))
            continue;
        if (dbt_proj_render_yml(p, v->items[i], file, skip, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}

/* ---- files ------------------------------------------------------------------------ */

typedef bp_status (*file_fn)(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                             bp_err *err);

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Call fn for every file under rel in pkg (sorted, so runs are reproducible). */
static bp_status walk(project *p, dbt_pkg *pkg, const char *rel, file_fn fn, bp_err *err)
{
    char full[8200];
    snprintf(full, sizeof full, "%s/%s", pkg->dir, rel);
    char **names;
    size_t n;
    bp_status st = fs_list_dir(full, &names, &n, err);
    if (st != BP_OK)
        return st;
    for (size_t i = 0; i < n && st == BP_OK; i++) {
        char sub[8200], subfull[16500];
        snprintf(sub, sizeof sub, "%s/%s", rel, names[i]);
        snprintf(subfull, sizeof subfull, "%s/%s", pkg->dir, sub);
        struct stat sb;
        if (stat(subfull, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            st = walk(p, pkg, sub, fn, err);
        else
            st = fn(p, pkg, dbt_proj_str(p, subfull, strlen(subfull)), dbt_proj_str(p, sub, strlen(sub)),
                    err);
    }
    fs_free_list(names, n);
    return st;
}

bp_status dbt_proj_read_file(project *p, const char *path, const char **out, size_t *n, bp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bp_fail(err, BP_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    buf b = {0};
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(&b, chunk, k)) {
            fclose(f);
            buf_free(&b);
            return bp_fail(err, BP_ENOMEM, "out of memory reading %s", path);
        }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return bp_fail(err, BP_EIO, "%s: read error", path);
    }
    *out = dbt_proj_str(p, b.p ? b.p : "", b.len);
    *n = b.len;
    buf_free(&b);
    return *out ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

/* fqn: package, the folders below the resource path, the name. */
static void set_fqn(project *p, node *n, const char *rel)
{
    n->fqn[n->nfqn++] = n->pkg->name;
    const char *s = strchr(rel, '/');
    while (s) {
        const char *next = strchr(s + 1, '/');
        if (!next)
            break;
        if (n->nfqn < 15)
            n->fqn[n->nfqn++] = dbt_proj_str(p, s + 1, (size_t)(next - s - 1));
        s = next;
    }
    n->fqn[n->nfqn++] = n->name;
}

static const char *stem(project *p, const char *rel, const char *ext)
{
    const char *b = strrchr(rel, '/');
    b = b ? b + 1 : rel;
    return dbt_proj_str(p, b, strlen(b) - strlen(ext));
}

/* A node for a file: its ids, fqn and the project tree's configs. */
static node *file_node(project *p, dbt_pkg *pkg, node_type t, const char *name,
                       const char *full, const char *rel, const char *materialized,
                       const char *tree, bp_err *err)
{
    int i = dbt_proj_add_node(p, t, name, err);
    if (i < 0)
        return NULL;
    node *n = &p->nodes[i];
    n->pkg = pkg;
    n->path = rel;
    n->file = full;
    if (dbt_proj_set_uid(p, n, dbt_proj_strf(p, "%s.%s.%s", dbt_node_type_name(t), pkg->name, name), err) !=
        BP_OK)
        return NULL;
    set_fqn(p, n, rel);
    jv mat = {.type = JV_STR, .u.s = {materialized, strlen(materialized)}};
    if (dbt_cfg_set(p, n, "materialized", &mat) != BP_OK || dbt_proj_apply_tree(p, n, tree) != BP_OK) {
        bp_fail(err, BP_ENOMEM, "out of memory");
        return NULL;
    }
    return n;
}

static bp_status add_doc(project *p, dbt_pkg *pkg, const char *full, bp_err *err)
{
    if (p->ndocs == p->capdocs) {
        int cap = p->capdocs ? p->capdocs * 2 : 64;
        yml_doc **d = realloc(p->docs, (size_t)cap * sizeof *d);
        const char **dp = realloc(p->doc_pkg, (size_t)cap * sizeof *dp);
        if (d)
            p->docs = d;
        if (dp)
            p->doc_pkg = dp;
        if (!d || !dp)
            return bp_fail(err, BP_ENOMEM, "out of memory reading %s", full);
        p->capdocs = cap;
    }
    if (yml_load(full, &p->docs[p->ndocs], err) != BP_OK)
        return BP_EINPUT;
    p->doc_pkg[p->ndocs++] = pkg->name;
    return BP_OK;
}

/* Refs in Python code: dbt.ref("x"), dbt.source("s", "t"). */
static void python_refs(project *p, node *n)
{
    const char *s = n->raw;
    while ((s = strstr(s, "dbt.ref("))) {
        s += 8;
        while (*s == ' ')
            s++;
        char q = *s;
        if (q != '\'' && q != '"')
            continue;
        const char *e = strchr(s + 1, q);
        if (!e)
            break;
        const char *nm = dbt_proj_str(p, s + 1, (size_t)(e - s - 1));
        int k = nm ? dbt_proj_find(p, NT_MODEL, nm) : -1;
        if (k < 0 && nm)
            k = dbt_proj_find(p, NT_SEED, nm);
        /* out of memory here shows later: the node misses a dependency
         * the parse of its ref() adds again */
        if (k >= 0 && dbt_proj_add_dep(p, (int)(n - p->nodes), k, NULL) != BP_OK)
            break;
        s = e;
    }
}

static bp_status read_file_into(project *p, node *n, bp_err *err)
{
    return dbt_proj_read_file(p, n->file, &n->raw, &n->raw_n, err);
}

static bp_status on_model_file(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                               bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml"))
        return add_doc(p, pkg, full, err);
    bool py = ends_with(rel, ".py");
    if (!ends_with(rel, ".sql") && !py)
        return BP_OK;
    const char *name = stem(p, rel, py ? ".py" : ".sql");
    int dup = dbt_proj_find(p, NT_MODEL, name);
    if (dup >= 0 && p->nodes[dup].pkg == pkg)
        return bp_fail(err, BP_EINPUT, "%s: a second model named '%s' (the first is %s; model "
                       "names are unique)", full, name, p->nodes[dup].file);
    node *n = file_node(p, pkg, NT_MODEL, name, full, rel, "view", "models", err);
    if (!n)
        return BP_ENOMEM;
    n->python = py;
    return read_file_into(p, n, err);
}

static bp_status on_analysis_file(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                                  bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml"))
        return add_doc(p, pkg, full, err);
    if (!ends_with(rel, ".sql"))
        return BP_OK;
    node *n = file_node(p, pkg, NT_ANALYSIS, stem(p, rel, ".sql"), full, rel, "view",
                        "analyses", err);
    return n ? read_file_into(p, n, err) : BP_ENOMEM;
}

static bp_status on_seed_file(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                              bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml"))
        return add_doc(p, pkg, full, err);
    if (!ends_with(rel, ".csv"))
        return BP_OK;
    return file_node(p, pkg, NT_SEED, stem(p, rel, ".csv"), full, rel, "seed", "seeds", err)
               ? BP_OK : BP_ENOMEM;
}

static bp_status on_test_file(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                              bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml"))
        return add_doc(p, pkg, full, err);
    /* tests/fixtures holds unit tests' rows (name -> file; unit.c) */
    if (strstr(rel, "/fixtures/")) {
        const char *ext = ends_with(rel, ".csv") ? ".csv" : ends_with(rel, ".sql") ? ".sql" : NULL;
        const char *copy = ext && pkg->root ? dbt_proj_str(p, full, strlen(full)) : NULL;
        if (ext && pkg->root && (!copy || !strmap_put(&p->fixtures, stem(p, rel, ext), (void *)copy)))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        return BP_OK;
    }
    /* tests/generic holds test macros (macros.c), not tests */
    if (!ends_with(rel, ".sql") || strstr(rel, "/generic/"))
        return BP_OK;
    node *n = file_node(p, pkg, NT_TEST, stem(p, rel, ".sql"), full, rel, "test", "data_tests",
                        err);
    if (!n)
        return BP_ENOMEM;
    if (!n->cfg.severity) /* unless the data_tests: tree set one */
        n->cfg.severity = "error";
    return read_file_into(p, n, err);
}

/* Snapshot files: each {% snapshot name %} block is a node. */
static bp_status on_snapshot_file(project *p, dbt_pkg *pkg, const char *full, const char *rel,
                                  bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml"))
        return add_doc(p, pkg, full, err);
    if (!ends_with(rel, ".sql"))
        return BP_OK;
    const char *src;
    size_t len;
    if (dbt_proj_read_file(p, full, &src, &len, err) != BP_OK)
        return BP_EINPUT;
    static const char *const tags[] = {"snapshot", NULL};
    jinja_env env = dbt_env;
    env.macro_tags = tags;
    jinja_tpl *t;
    if (jinja_parse(full, src, len, &env, &t, err) != BP_OK)
        return BP_EINPUT;
    jinja_tpl_set_data(t, pkg);
    bool first = true;
    for (size_t i = 0; i < jinja_tpl_nmacros(t); i++) {
        jinja_macro *m = jinja_tpl_macro(t, i);
        if (strcmp(jinja_macro_tag(m), "snapshot") != 0)
            continue;
        const char *name = dbt_proj_str(p, jinja_macro_name(m), strlen(jinja_macro_name(m)));
        node *n = name ? file_node(p, pkg, NT_SNAPSHOT, name, full, rel, "snapshot",
                                   "snapshots", err) : NULL;
        if (!n) {
            if (first)
                jinja_tpl_free(t);
            return BP_ENOMEM;
        }
        n->raw = src;
        n->raw_n = len;
        n->block = m;
        if (first) /* the node owns the template (freed once) */
            n->tpl = t;
        first = false;
    }
    if (first)
        jinja_tpl_free(t);
    return BP_OK;
}

/* The folders listed under key (model-paths, ...) in pkg's project file,
 * or the default; legacy names (source-paths, data-paths) still work. */
static bp_status walk_paths(project *p, dbt_pkg *pkg, const char *key, const char *legacy,
                            const char *dflt, file_fn fn, bp_err *err)
{
    const yml_node *root = yml_root(pkg->root ? p->project_doc : pkg->doc);
    const yml_node *v = yml_get(root, key);
    if (!v && legacy && (v = yml_get(root, legacy)) && pkg->root)
        bp_log(BP_LOG_WARN, "%s: '%s' is deprecated (dbt 1.0 renamed it '%s'); it still works",
               yml_file(p->project_doc), legacy, key);
    if (!v)
        return walk(p, pkg, dflt, fn, err);
    for (size_t i = 0; v->kind == YML_SEQ && i < v->n; i++)
        if (v->items[i]->kind == YML_SCALAR && walk(p, pkg, v->items[i]->str, fn, err) != BP_OK)
            return BP_EINPUT;
    return BP_OK;
}

static bp_status load_resources(project *p, dbt_pkg *pkg, bp_err *err)
{
    if (walk_paths(p, pkg, "model-paths", "source-paths", "models", on_model_file, err) ||
        walk_paths(p, pkg, "seed-paths", "data-paths", "seeds", on_seed_file, err) ||
        walk_paths(p, pkg, "snapshot-paths", NULL, "snapshots", on_snapshot_file, err) ||
        walk_paths(p, pkg, "analysis-paths", NULL, "analyses", on_analysis_file, err) ||
        walk_paths(p, pkg, "test-paths", NULL, "tests", on_test_file, err))
        return err ? err->status : BP_EINPUT;
    return BP_OK;
}

/* ---- the whole project ------------------------------------------------------------------ */

static bp_status load_vars(project *p, bp_err *err)
{
    p->vars = yml_get(yml_root(p->project_doc), "vars");
    if (!p->opts.vars)
        return BP_OK;
    if (yml_parse("--vars", p->opts.vars, strlen(p->opts.vars), &p->vars_doc, err) != BP_OK)
        return BP_EUSAGE;
    p->cli_vars = yml_root(p->vars_doc);
    if (p->cli_vars && p->cli_vars->kind != YML_MAP)
        return bp_fail(err, BP_EUSAGE, "--vars takes a YAML mapping, like '{min_reviews: 5}'");
    return BP_OK;
}

/* Disabled nodes stay in the list (indexes are edges) but never run; an
 * enabled node must not depend on one. */
static bp_status check_disabled(project *p, bp_err *err)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        for (int k = 0; n->cfg.enabled && k < n->ndeps; k++)
            if (!p->nodes[n->deps[k]].cfg.enabled) {
                if (n->type == NT_TEST) { /* a test of a disabled node goes quietly */
                    n->cfg.enabled = false;
                    break;
                }
                return bp_fail(err, BP_EINPUT, "%s: '%s' depends on '%s', which is disabled",
                               n->file, n->name, p->nodes[n->deps[k]].name);
            }
    }
    return BP_OK;
}

static bp_status check_materializations(project *p, bp_err *err)
{
    static const char *const ok[] = {"view", "table", "incremental", "ephemeral"};
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (n->type != NT_MODEL || !n->cfg.enabled || n->python)
            continue;
        bool good = false;
        for (int k = 0; k < 4; k++)
            good = good || strcmp(n->cfg.materialized, ok[k]) == 0;
        if (!good && !n->parse_error[0])
            snprintf(n->parse_error, sizeof n->parse_error,
                     "%s: materialized='%s' is not supported by bookpipe (it builds view, table, "
                     "incremental and ephemeral models)", n->file, n->cfg.materialized);
    }
    (void)err;
    return BP_OK;
}

/* Children lists, once every edge is known. */
static bp_status link_children(project *p, bp_err *err)
{
    int *count = calloc((size_t)p->nnodes + 1, sizeof *count);
    if (!count)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (int i = 0; i < p->nnodes; i++)
        for (int k = 0; k < p->nodes[i].ndeps; k++)
            count[p->nodes[i].deps[k]]++;
    for (int i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].kids);
        p->nodes[i].kids = count[i] ? malloc((size_t)count[i] * sizeof(int)) : NULL;
        p->nodes[i].nkids = 0;
        if (count[i] && !p->nodes[i].kids) {
            free(count);
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    }
    for (int i = 0; i < p->nnodes; i++)
        for (int k = 0; k < p->nodes[i].ndeps; k++) {
            node *par = &p->nodes[p->nodes[i].deps[k]];
            par->kids[par->nkids++] = i;
        }
    free(count);
    return BP_OK;
}

/* A cycle is refused with its path, as dbt does. */
static bp_status check_cycles(project *p, bp_err *err)
{
    char *state = calloc((size_t)p->nnodes + 1, 1); /* 0 new, 1 on the path, 2 done */
    int *stack = malloc(((size_t)p->nnodes + 1) * sizeof *stack);
    int *pos = calloc((size_t)p->nnodes + 1, sizeof *pos);
    bp_status st = BP_OK;
    if (!state || !stack || !pos) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (int s = 0; s < p->nnodes && st == BP_OK; s++) {
        if (state[s])
            continue;
        int top = 0;
        stack[top++] = s;
        state[s] = 1;
        while (top && st == BP_OK) {
            int i = stack[top - 1];
            if (pos[i] < p->nodes[i].ndeps) {
                int d = p->nodes[i].deps[pos[i]++];
                if (state[d] == 1) {
                    buf b = {0};
                    bool oom = false;
                    for (int k = 0; k < top && !oom; k++)
                        if (stack[k] == d || b.len)
                            oom = buf_printf(&b, "%s --> ", p->nodes[stack[k]].unique_id);
                    oom = oom || buf_adds(&b, p->nodes[d].unique_id);
                    st = bp_fail(err, BP_EINPUT, "Found a cycle: %s", oom ? "(out of memory)" : b.p);
                    buf_free(&b);
                } else if (!state[d]) {
                    state[d] = 1;
                    stack[top++] = d;
                }
            } else {
                state[i] = 2;
                top--;
            }
        }
    }
done:
    free(state);
    free(stack);
    free(pos);
    return st;
}

static void new_ids(project *p)
{
    unsigned char r[16];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(r, 1, sizeof r, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = got; i < sizeof r; i++)
        r[i] = (unsigned char)(rand() ^ (int)i);
    p->invocation_id = dbt_proj_strf(p, "%02x%02x%02x%02x-%02x%02x-4%x%02x-%x%x%02x-%02x%02x%02x%02x%02x%02x",
                                 r[0], r[1], r[2], r[3], r[4], r[5], r[6] & 15, r[7],
                                 8 | (r[8] & 3), r[9] & 15, r[10], r[11], r[12], r[13], r[14],
                                 r[15], r[0] ^ r[15]);
    char ts[64];
    dbt_proj_iso_now(ts, sizeof ts, "+00:00");
    p->run_started_at = dbt_proj_str(p, ts, strlen(ts));
}

void dbt_proj_iso_now(char *out, size_t n, const char *zone)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%06ld%s", base, (long)tv.tv_usec, zone);
}

static const char *const project_skip[] = {"vars", "on-run-start", "on-run-end",
                                           "query-comment", "pre-hook", "post-hook", NULL};

static bp_status load_project_file(project *p, bp_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/dbt_project.yml", p->dir);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return bp_fail(err, BP_EINPUT, "no dbt_project.yml in %s (give --project-dir the "
                       "folder of a dbt project)", p->dir);
    if (yml_load(path, &p->project_doc, err) != BP_OK)
        return BP_EINPUT;
    p->name = yml_get_str(yml_root(p->project_doc), "name", NULL);
    if (!p->name)
        return bp_fail(err, BP_EINPUT, "%s: the project needs a name", path);
    return BP_OK;
}

bp_status dbt_proj_load_config(project *p, const dbt_opts *o, bp_err *err)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->opts = *o;
    snprintf(p->dir, sizeof p->dir, "%s", o->project_dir ? o->project_dir : ".");
    new_ids(p);
    if (load_project_file(p, err) != BP_OK || load_vars(p, err) != BP_OK ||
        dbt_profile_load(p, err) != BP_OK)
        return err->status ? err->status : BP_EINPUT;
    return BP_OK;
}

bp_status dbt_proj_load(project *p, const dbt_opts *o, bp_err *err)
{
    if (dbt_proj_load_config(p, o, err) != BP_OK)
        return err->status ? err->status : BP_EINPUT;
    /* Jinja in dbt_project.yml (hooks and vars wait until they run) */
    if (dbt_proj_render_yml(p, yml_root(p->project_doc), yml_file(p->project_doc), project_skip,
                        err) != BP_OK)
        return BP_EINPUT;
    if (dbt_macros_load(p, err) != BP_OK)
        return err->status ? err->status : BP_EINPUT;
    for (int i = 0; i < p->npkgs; i++) { /* the packages' own dbt_project.yml too */
        p->yml_pkg = &p->pkgs[i];
        if (p->pkgs[i].doc && dbt_proj_render_yml(p, yml_root(p->pkgs[i].doc),
                                              yml_file(p->pkgs[i].doc), project_skip, err) != BP_OK)
            return BP_EINPUT;
    }
    p->yml_pkg = NULL;
    for (int i = 0; i < p->npkgs; i++)
        if (!p->pkgs[i].internal && load_resources(p, &p->pkgs[i], err) != BP_OK)
            return BP_EINPUT;
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i].python)
            python_refs(p, &p->nodes[i]);
    if (dbt_props_load(p, err) != BP_OK)
        return BP_EINPUT;
    /* config() calls in the SQL come last: they win */
    if (dbt_compile_parse(p, err) != BP_OK)
        return BP_EINPUT;
    if (dbt_props_tests(p, err) != BP_OK || dbt_unit_load(p, err) != BP_OK)
        return BP_EINPUT;
    if (check_disabled(p, err) != BP_OK || check_materializations(p, err) != BP_OK)
        return BP_EINPUT;
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if ((n->type == NT_MODEL || n->type == NT_SEED || n->type == NT_SNAPSHOT ||
             n->type == NT_ANALYSIS || n->type == NT_TEST) && n->cfg.enabled &&
            dbt_compile_names(p, i, err) != BP_OK)
            return BP_EINPUT;
    }
    if (check_cycles(p, err) != BP_OK || link_children(p, err) != BP_OK)
        return BP_EINPUT;
    p->parsed = true;
    return BP_OK;
}
