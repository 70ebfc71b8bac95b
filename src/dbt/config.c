/* config.c: a node's configs, merged as dbt merges them: dbt_project.yml's
 * trees along the node's fqn (a package's own first, the root's winning),
 * then properties and config() calls; lists that append (tags, hooks),
 * dicts that merge (meta, column_types, ...), the rest replaced. */
#include <stdlib.h>
#include <string.h>

#include "dbt_int.h"


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

