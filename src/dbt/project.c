/* project.c: reading a dbt project (dbt_project.yml, profiles.yml, the
 * packages, models, seeds, snapshots, analyses and singular tests) into
 * nodes, their configs and their DAG. */
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
                                        "analysis", "exposure"};
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

static bool has_jinja(const char *s) { return strstr(s, "{{") || strstr(s, "{%"); }

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
        if (!has_jinja(v->str))
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

/* ---- configs ------------------------------------------------------------------------ */

static const char *const config_keys[] = {
    "materialized", "schema", "enabled", "tags", "unique_key", "severity", "where",
    "column_types", "database", "alias", "docs", "persist_docs", "full_refresh", "meta",
    "pre-hook", "post-hook", "pre_hook", "post_hook", "quote_columns", "incremental_strategy",
    "on_schema_change", "grants", "contract", "delimiter", "store_failures", "store_failures_as",
    "limit", "warn_if", "error_if", "fail_calc", "strategy", "updated_at", "check_cols",
    "target_schema", "target_database", "invalidate_hard_deletes", "hard_deletes",
    "snapshot_meta_column_names", "dbt_valid_to_current", "group", "access", "sql_header",
    "on_configuration_change", "transient", "batch_size", "event_time", "lookback", "begin",
    "quoting", "column_names", "docs", "external_location", "format", "unlogged", "indexes",
    "packages", "submission_method", "file_format", "location_root", "sort", "dist", "sort_type",
    "bind", "backup", "auto_refresh", "merge_exclude_columns", "merge_update_columns",
    "incremental_predicates", "static_analysis", "freshness", "loaded_at_field", "options",
    "plugin", "glue_register", "partition_by", "cluster_by"};

static bool is_config_key(const char *k)
{
    if (k[0] == '+')
        return true;
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
        if (strcmp(k, config_keys[i]) == 0)
            return true;
    return false;
}

static const char *jv_cstr(const jv *v) { return v && v->type == JV_STR ? v->u.s.p : NULL; }

/* A list or a string as SQL text (unique_key: ["a", "b"] -> "a, b"). */
static const char *joined(project *p, const jv *v)
{
    if (!v || v->type == JV_NONE)
        return NULL;
    if (v->type == JV_STR)
        return v->u.s.p;
    if (v->type != JV_LIST)
        return NULL;
    buf b = {0};
    bool oom = false;
    for (size_t i = 0; i < v->u.l.n && !oom; i++)
        oom = (i && buf_adds(&b, ", ")) || jv_to_str(v->u.l.items[i], &b);
    const char *s = oom ? NULL : dbt_proj_str(p, b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

/* The typed fields from the dict (called after each change). */
static void cfg_refresh(project *p, node *n, const char *key)
{
    node_config *c = &n->cfg;
    jv *v = jv_dict_get(c->all, key);
    const char *s = jv_cstr(v);
    if (!strcmp(key, "materialized") && s)
        c->materialized = s;
    else if (!strcmp(key, "schema"))
        c->schema = s;
    else if (!strcmp(key, "database"))
        c->database = s;
    else if (!strcmp(key, "alias"))
        c->alias = s;
    else if (!strcmp(key, "enabled"))
        c->enabled = v && v->type != JV_NONE ? jv_truthy(v) : true;
    else if (!strcmp(key, "unique_key"))
        c->unique_key = joined(p, v);
    else if (!strcmp(key, "severity") && s)
        c->severity = s;
    else if (!strcmp(key, "where"))
        c->where = s;
    else if (!strcmp(key, "warn_if"))
        c->warn_if = s;
    else if (!strcmp(key, "error_if"))
        c->error_if = s;
    else if (!strcmp(key, "fail_calc"))
        c->fail_calc = s;
    else if (!strcmp(key, "limit"))
        c->limit = v && v->type == JV_INT ? v->u.i : -1;
    else if (!strcmp(key, "store_failures"))
        c->store_failures = v && v->type != JV_NONE && jv_truthy(v);
    else if (!strcmp(key, "incremental_strategy"))
        c->incremental_strategy = s;
    else if (!strcmp(key, "full_refresh"))
        c->full_refresh = v && v->type != JV_NONE ? jv_truthy(v) : -1;
    else if (!strcmp(key, "tags")) {
        c->ntags = 0;
        for (size_t i = 0; v && v->type == JV_LIST && i < v->u.l.n && c->ntags < MAX_TAGS; i++)
            if (jv_cstr(v->u.l.items[i]))
                c->tags[c->ntags++] = v->u.l.items[i]->u.s.p;
    }
}

static const char *canonical_key(const char *k)
{
    if (k[0] == '+')
        k++;
    if (!strcmp(k, "pre_hook"))
        return "pre-hook";
    if (!strcmp(k, "post_hook"))
        return "post-hook";
    return k;
}

/* dbt's merge rules: tags and hooks add up, dicts merge, the rest wins. */
bp_status dbt_cfg_set(project *p, node *n, const char *key, const jv *v)
{
    key = canonical_key(key);
    pthread_mutex_lock(&p->mu);
    arena *a = &p->mem;
    jv *x = jv_copy(a, v), *old = jv_dict_get(n->cfg.all, key);
    bool ok = x != NULL;
    bool append = !strcmp(key, "tags") || !strcmp(key, "pre-hook") || !strcmp(key, "post-hook");
    bool merge = !strcmp(key, "meta") || !strcmp(key, "column_types") ||
                 !strcmp(key, "persist_docs") || !strcmp(key, "quoting") ||
                 !strcmp(key, "grants") || !strcmp(key, "docs");
    if (ok && append) {
        jv *l = jv_list(a, 4);
        ok = l != NULL;
        for (int pass = 0; ok && pass < 2; pass++) {
            const jv *src = pass ? x : old;
            if (!src || src->type == JV_NONE)
                continue;
            if (src->type == JV_LIST) {
                for (size_t i = 0; ok && i < src->u.l.n; i++) {
                    bool dup = false;
                    for (size_t k = 0; !strcmp(key, "tags") && k < l->u.l.n && !dup; k++)
                        dup = jv_equal(l->u.l.items[k], src->u.l.items[i]);
                    if (!dup)
                        ok = jv_list_push(a, l, src->u.l.items[i]);
                }
            } else {
                bool dup = false;
                for (size_t k = 0; !strcmp(key, "tags") && k < l->u.l.n && !dup; k++)
                    dup = jv_equal(l->u.l.items[k], src);
                if (!dup)
                    ok = jv_list_push(a, l, (jv *)src);
            }
        }
        x = l;
    } else if (ok && merge && old && old->type == JV_DICT && x->type == JV_DICT) {
        jv *d = jv_copy(a, old);
        for (size_t i = 0; d && i < jv_dict_len(x); i++)
            if (!jv_dict_set(a, d, jv_dict_key(x, i), jv_dict_val(x, i)))
                d = NULL;
        ok = d != NULL;
        x = d;
    }
    ok = ok && jv_dict_set(a, n->cfg.all, key, x);
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        return BP_ENOMEM;
    cfg_refresh(p, n, key);
    return BP_OK;
}

jv *dbt_cfg_get(const node *n, const char *key) { return jv_dict_get(n->cfg.all, key); }

/* The config as dbt shows it (node.config, the manifest): dbt's defaults
 * for the node's type, then what was set. */
jv *dbt_cfg_full(arena *a, const node *n)
{
    jv *d = jv_dict_new(a);
    if (!d)
        return NULL;
    bool ok = jv_dict_set(a, d, "enabled", jv_bool(a, n->cfg.enabled));
    static const char *const nones[] = {"alias", "schema", "database", "group", "unique_key",
                                        "full_refresh", "incremental_strategy", "event_time"};
    for (size_t i = 0; ok && i < sizeof nones / sizeof nones[0]; i++)
        ok = jv_dict_set(a, d, nones[i], jv_none(a));
    static const char *const lists[] = {"tags", "pre-hook", "post-hook", "packages"};
    for (size_t i = 0; ok && i < sizeof lists / sizeof lists[0]; i++)
        ok = jv_dict_set(a, d, lists[i], jv_list(a, 0));
    static const char *const dicts[] = {"meta", "persist_docs", "quoting", "column_types",
                                        "grants"};
    for (size_t i = 0; ok && i < sizeof dicts / sizeof dicts[0]; i++)
        ok = jv_dict_set(a, d, dicts[i], jv_dict_new(a));
    jv *docs = jv_dict_new(a), *contract = jv_dict_new(a);
    ok = ok && docs && contract && jv_dict_set(a, docs, "show", jv_bool(a, true)) &&
         jv_dict_set(a, docs, "node_color", jv_none(a)) &&
         jv_dict_set(a, contract, "enforced", jv_bool(a, false)) &&
         jv_dict_set(a, contract, "alias_types", jv_bool(a, true)) &&
         jv_dict_set(a, d, "docs", docs) && jv_dict_set(a, d, "contract", contract) &&
         jv_dict_set(a, d, "on_schema_change", jv_strz(a, "ignore")) &&
         jv_dict_set(a, d, "on_configuration_change", jv_strz(a, "apply")) &&
         jv_dict_set(a, d, "access", jv_strz(a, "protected"));
    if (ok && n->type == NT_TEST) {
        ok = jv_dict_set(a, d, "severity", jv_strz(a, "ERROR")) &&
             jv_dict_set(a, d, "fail_calc", jv_strz(a, "count(*)")) &&
             jv_dict_set(a, d, "warn_if", jv_strz(a, "!= 0")) &&
             jv_dict_set(a, d, "error_if", jv_strz(a, "!= 0")) &&
             jv_dict_set(a, d, "store_failures", jv_none(a)) &&
             jv_dict_set(a, d, "store_failures_as", jv_none(a)) &&
             jv_dict_set(a, d, "where", jv_none(a)) && jv_dict_set(a, d, "limit", jv_none(a)) &&
             jv_dict_set(a, d, "schema", jv_strz(a, "dbt_test__audit"));
    } else if (ok && n->type == NT_SEED) {
        ok = jv_dict_set(a, d, "delimiter", jv_strz(a, ",")) &&
             jv_dict_set(a, d, "quote_columns", jv_none(a));
    }
    for (size_t i = 0; ok && n->cfg.all && i < jv_dict_len(n->cfg.all); i++)
        ok = jv_dict_set(a, d, jv_dict_key(n->cfg.all, i), jv_dict_val(n->cfg.all, i));
    ok = ok && jv_dict_set(a, d, "enabled", jv_bool(a, n->cfg.enabled));
    return ok ? d : NULL;
}

const char *dbt_cfg_str(const node *n, const char *key) { return jv_cstr(dbt_cfg_get(n, key)); }

bp_status dbt_cfg_set_yml_key(project *p, node *n, const char *key, const yml_node *v)
{
    arena tmp = {0};
    jv *x = dbt_proj_yml_value(&tmp, v);
    bp_status st = x ? dbt_cfg_set(p, n, key, x) : BP_ENOMEM;
    arena_free(&tmp);
    return st;
}

bp_status dbt_cfg_set_yml(project *p, node *n, const yml_node *m)
{
    for (size_t i = 0; m && m->kind == YML_MAP && i < m->n; i++)
        if (is_config_key(m->keys[i]) && dbt_cfg_set_yml_key(p, n, m->keys[i], m->items[i]) != BP_OK)
            return BP_ENOMEM;
    return BP_OK;
}

/* The configs of a dbt_project.yml tree (models:/seeds:/...) along the
 * node's fqn: the tree's top, then the package's key, then folders; deeper
 * levels win. Keys at a level are configs when they start with + or are
 * dbt's config names, else folder names. */
static bp_status apply_tree_of(project *p, node *n, const yml_node *root, const char *tree_key)
{
    const yml_node *t = yml_get(root, tree_key);
    if (!t && !strcmp(tree_key, "data_tests"))
        t = yml_get(root, "tests");
    if (!t)
        return BP_OK;
    if (dbt_cfg_set_yml(p, n, t) != BP_OK)
        return BP_ENOMEM;
    t = yml_get(t, n->fqn[0]);
    for (int level = 1; t; level++) {
        if (dbt_cfg_set_yml(p, n, t) != BP_OK)
            return BP_ENOMEM;
        if (level >= n->nfqn)
            break;
        t = yml_get(t, n->fqn[level]);
    }
    return BP_OK;
}

bp_status dbt_proj_apply_tree(project *p, node *n, const char *tree_key)
{
    /* a package's own dbt_project.yml first; the root project's win */
    if (n->pkg && !n->pkg->root && n->pkg->doc &&
        apply_tree_of(p, n, yml_root(n->pkg->doc), tree_key) != BP_OK)
        return BP_ENOMEM;
    return apply_tree_of(p, n, yml_root(p->project_doc), tree_key);
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

/* ---- profiles ------------------------------------------------------------------------ */

static const char *home_dbt(char *path, size_t n)
{
    const char *h = getenv("HOME");
    snprintf(path, n, "%s/.dbt", h ? h : "");
    return path;
}

/* Render a profile value through Jinja (for env_var()). */
static const char *profile_value(project *p, const yml_node *out, const char *key, bp_err *err,
                                 bool *failed)
{
    const char *raw = yml_get_str(out, key, NULL);
    if (!raw || !has_jinja(raw))
        return raw;
    buf b = {0};
    const char *what = dbt_proj_strf(p, "%s (%s)", yml_file(p->profiles_doc), key);
    if (dbt_compile_string(p, what ? what : "profiles.yml", raw, &b, -1, err) != BP_OK) {
        *failed = true;
        buf_free(&b);
        return NULL;
    }
    const char *s = dbt_proj_str(p, b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

/* A libpq conninfo from a postgres output (host, port, user, password or
 * pass, dbname, sslmode); what is missing falls back to the PG* variables. */
static bp_status pg_dsn(project *p, const yml_node *out, bp_err *err)
{
    static const char *const keys[][2] = {{"host", "host"}, {"port", "port"}, {"user", "user"},
                                          {"password", "password"}, {"pass", "password"},
                                          {"dbname", "dbname"}, {"database", "dbname"},
                                          {"sslmode", "sslmode"}, {"connect_timeout", "connect_timeout"}};
    buf d = {0};
    bool failed = false;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = profile_value(p, out, keys[i][0], err, &failed);
        if (failed) {
            buf_free(&d);
            return BP_EINPUT;
        }
        if (!v)
            continue;
        if (!strcmp(keys[i][1], "dbname"))
            p->target_db = v;
        /* libpq's conninfo: values quoted, \ and ' escaped */
        bool oom = buf_printf(&d, "%s%s='", d.len ? " " : "", keys[i][1]);
        for (const char *c = v; *c && !oom; c++)
            oom = ((*c == '\\' || *c == '\'') && buf_addc(&d, '\\')) || buf_addc(&d, *c);
        if (oom || buf_addc(&d, '\'')) {
            buf_free(&d);
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    }
    p->dsn = dbt_proj_str(p, d.p ? d.p : "", d.len);
    buf_free(&d);
    return p->dsn ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

/* DuckDB names a database after its file: jaffle_shop.duckdb is jaffle_shop. */
static const char *duck_db_name(project *p, const char *path)
{
    if (!path || !strcmp(path, ":memory:") || !*path)
        return "memory";
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    return dbt_proj_str(p, b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

static bp_status find_profiles(project *p, const char *pname, bp_err *err)
{
    char home[4200];
    const char *env = getenv("DBT_PROFILES_DIR");
    if (p->opts.profiles_dir) {
        struct stat sb;
        char path[4200];
        snprintf(path, sizeof path, "%s/profiles.yml", p->opts.profiles_dir);
        if (stat(p->opts.profiles_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return bp_fail(err, BP_EUSAGE, "--profiles-dir %s: no such folder",
                           p->opts.profiles_dir);
        if (stat(path, &sb) != 0)
            return bp_fail(err, BP_EUSAGE, "--profiles-dir %s has no profiles.yml",
                           p->opts.profiles_dir);
    }
    const char *dirs[4] = {p->opts.profiles_dir, env, p->dir, home_dbt(home, sizeof home)};
    for (int i = 0; i < 4 && pname; i++) {
        if (!dirs[i] || (i > 0 && p->opts.profiles_dir))
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/profiles.yml", dirs[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        p->profiles_path = dbt_proj_str(p, path, strlen(path));
        return yml_load(path, &p->profiles_doc, err) == BP_OK ? BP_OK : BP_EINPUT;
    }
    return BP_OK;
}

static bp_status load_profile(project *p, bp_err *err)
{
    const char *pname = yml_get_str(yml_root(p->project_doc), "profile", NULL);
    p->profile_name = pname;
    if (find_profiles(p, pname, err) != BP_OK)
        return err->status;
    const yml_node *prof = yml_get(yml_root(p->profiles_doc), pname ? pname : "");
    p->threads = 2;
    if (!prof) {
        if (p->opts.profiles_dir)
            return bp_fail(err, BP_EUSAGE, "%s: no profile named '%s' (the project's profile:)",
                           p->profiles_path, pname ? pname : "");
        /* no profile: bookpipe's own warehouse */
        p->target_name = "bookpipe";
        p->target_type = p->opts.wh_target ? p->opts.wh_target : "duckdb";
        if (!(p->wops = wh_ops_named(p->target_type)))
            return bp_fail(err, BP_EUSAGE, "unknown target '%s'", p->target_type);
        p->dsn = p->opts.wh_dsn;
        p->target_schema = p->opts.wh_schema ? p->opts.wh_schema : "books_schema";
        p->wh_path = p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb";
        /* bookpipe's own warehouse file is attached under its fixed name */
        p->target_db = p->wops->embedded ? "bookpipe_wh" : "bookpipe";
        return BP_OK;
    }
    const char *tname = p->opts.target ? p->opts.target : yml_get_str(prof, "target", "dev");
    const yml_node *out = yml_get(yml_get(prof, "outputs"), tname);
    if (!out)
        return bp_fail(err, BP_EUSAGE, "%s: profile '%s' has no output '%s'",
                       yml_file(p->profiles_doc), pname, tname);
    p->target_out = out;
    bool failed = false;
    p->target_name = tname;
    p->target_type = profile_value(p, out, "type", err, &failed);
    p->target_schema = profile_value(p, out, "schema", err, &failed);
    const char *dbpath = profile_value(p, out, "path", err, &failed);
    const char *threads = profile_value(p, out, "threads", err, &failed);
    const char *dbname = profile_value(p, out, "database", err, &failed);
    if (failed)
        return BP_EINPUT;
    if (!p->target_type)
        return bp_fail(err, BP_EUSAGE, "%s: output '%s' has no type", yml_file(p->profiles_doc),
                       tname);
    if (!(p->wops = wh_ops_named(p->target_type)))
        return bp_fail(err, BP_EUSAGE, "%s: target type '%s' is not supported by bookpipe "
                       "(it runs duckdb, postgres and redshift)", yml_file(p->profiles_doc),
                       p->target_type);
    if (!p->wops->embedded) { /* a server: libpq's settings */
        const char *u = getenv("PGDATABASE");
        p->target_db = u ? u : "postgres";
        if (pg_dsn(p, out, err) != BP_OK)
            return BP_EINPUT;
    }
    if (!p->target_schema)
        p->target_schema = "main";
    if (p->wops->embedded) {
        p->wh_path = dbpath ? dbpath : (p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb");
        /* a relative path is the project's, as dbt runs from the project */
        if (p->wh_path[0] != '/' && strcmp(p->wh_path, ":memory:") && strcmp(p->dir, "."))
            p->wh_path = dbt_proj_strf(p, "%s/%s", p->dir, p->wh_path);
        p->target_db = dbname ? dbname : duck_db_name(p, p->wh_path);
        p->catalog = p->target_db;
    }
    long tv = threads ? strtol(threads, NULL, 10) : 0;
    if (tv > 0 && tv <= 64)
        p->threads = (int)tv;
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
        load_profile(p, err) != BP_OK)
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
    for (int i = 0; i < p->npkgs; i++) /* the packages' own dbt_project.yml too */
        if (p->pkgs[i].doc && dbt_proj_render_yml(p, yml_root(p->pkgs[i].doc),
                                              yml_file(p->pkgs[i].doc), project_skip, err) != BP_OK)
            return BP_EINPUT;
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
    if (dbt_props_tests(p, err) != BP_OK)
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
