/* artifacts.c: dbt's files in target/: manifest.json (nodes, sources,
 * macros, docs, parent and child maps), run_results.json, catalog.json
 * (docs generate: every relation's columns and types from the warehouse)
 * and the compiled SQL of each node, in dbt's schemas so that tools that
 * read them work. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../core/fs.h"
#include "dbt_int.h"

static void iso_now(char *out, size_t n)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static json_t *metadata(project *p, const char *schema_url)
{
    char ts[64];
    iso_now(ts, sizeof ts);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}", "dbt_schema_version", schema_url,
                     "dbt_version", "1.8.0", "generated_at", ts, "invocation_id",
                     p->invocation_id ? p->invocation_id : "", "adapter_type", p->target_type,
                     "project_name", p->name, "env");
}

/* A Jinja value as JSON (configs, test kwargs). */
static json_t *to_json(const jv *v)
{
    if (!v)
        return json_null();
    switch (v->type) {
    case JV_BOOL: return json_boolean(v->u.b);
    case JV_INT: return json_integer(v->u.i);
    case JV_FLOAT: return json_real(v->u.f);
    case JV_STR: return json_stringn(v->u.s.p, v->u.s.n);
    case JV_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < v->u.l.n; i++)
            json_array_append_new(a, to_json(v->u.l.items[i]));
        return a;
    }
    case JV_DICT: {
        json_t *o = json_object();
        for (size_t i = 0; o && i < jv_dict_len(v); i++)
            json_object_set_new(o, jv_dict_key(v, i), to_json(jv_dict_val(v, i)));
        return o;
    }
    default: {
        buf b = {0};
        jv_to_str(v, &b);
        json_t *s = json_stringn(b.p ? b.p : "", b.len);
        buf_free(&b);
        return s;
    }
    }
}

static json_t *yml_json(const yml_node *v)
{
    arena a = {0};
    json_t *j = to_json(proj_yml_value(&a, v));
    arena_free(&a);
    return j;
}

static json_t *columns_json(const yml_node *cols)
{
    json_t *o = json_object();
    for (size_t i = 0; cols && cols->kind == YML_SEQ && i < cols->n; i++) {
        const yml_node *c = cols->items[i];
        const char *name = yml_get_str(c, "name", NULL);
        if (!name)
            continue;
        json_t *cj = json_pack("{s:s, s:s, s:o, s:o, s:[]}", "name", name, "description",
                               yml_get_str(c, "description", ""), "meta",
                               yml_get(c, "meta") ? yml_json(yml_get(c, "meta")) : json_object(),
                               "data_type", yml_get_str(c, "data_type", NULL)
                                                ? json_string(yml_get_str(c, "data_type", ""))
                                                : json_null(),
                               "tags");
        json_object_set_new(o, name, cj);
    }
    return o;
}

static json_t *node_json(project *p, const node *n)
{
    json_t *deps = json_array(), *tags = json_array(), *fqn = json_array();
    for (int k = 0; k < n->ndeps; k++)
        json_array_append_new(deps, json_string(p->nodes[n->deps[k]].unique_id));
    for (int k = 0; k < n->cfg.ntags; k++)
        json_array_append_new(tags, json_string(n->cfg.tags[k]));
    for (int k = 0; k < n->nfqn; k++)
        json_array_append_new(fqn, json_string(n->fqn[k]));
    arena tmp = {0};
    json_t *cfg = to_json(cfg_full(&tmp, n));
    arena_free(&tmp);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:o, s:[]}, s:O}", "name",
                          n->name, "unique_id", n->unique_id, "resource_type",
                          node_type_name(n->type), "package_name",
                          n->pkg ? n->pkg->name : p->name, "original_file_path",
                          n->path ? n->path : "", "fqn", fqn, "config", cfg, "depends_on",
                          "nodes", deps, "macros", "tags", tags);
    json_t *md = json_object_get(json_object_get(o, "depends_on"), "macros");
    for (int k = 0; md && k < n->nmacro_deps; k++)
        json_array_append_new(md, json_string(n->macro_deps[k]));
    json_decref(tags);
    json_object_set_new(o, "path", json_string(n->path ? n->path : ""));
    json_object_set_new(o, "schema", json_string(n->schema ? n->schema : ""));
    json_object_set_new(o, "database", json_string(n->database ? n->database : p->target_db));
    json_object_set_new(o, "alias", json_string(n->identifier ? n->identifier : n->name));
    json_object_set_new(o, "description", json_string(n->description ? n->description : ""));
    json_object_set_new(o, "columns", columns_json(n->columns));
    json_object_set_new(o, "meta", n->meta ? yml_json(n->meta) : json_object());
    json_object_set_new(o, "language", json_string(n->python ? "python" : "sql"));
    if (n->relation)
        json_object_set_new(o, "relation_name", json_string(n->relation));
    if (n->raw)
        json_object_set_new(o, "raw_code", json_stringn(n->raw, n->raw_n));
    if (n->compiled) {
        json_object_set_new(o, "compiled_code", json_string(n->compiled));
        json_object_set_new(o, "compiled", json_true());
    }
    if (n->type == NT_SOURCE) {
        json_object_set_new(o, "source_name", json_string(n->src_name));
        json_object_set_new(o, "name", json_string(n->tbl_name));
        json_object_set_new(o, "identifier", json_string(n->identifier ? n->identifier
                                                                       : n->tbl_name));
        json_object_set_new(o, "loaded_at_field",
                            n->loaded_at_field ? json_string(n->loaded_at_field) : json_null());
    }
    if (n->type == NT_TEST) {
        if (n->column)
            json_object_set_new(o, "column_name", json_string(n->column));
        if (n->attached >= 0)
            json_object_set_new(o, "attached_node", json_string(p->nodes[n->attached].unique_id));
        if (n->test_kind) {
            const char *dot = strrchr(n->test_kind, '.');
            json_t *kw = to_json(n->test_kwargs);
            json_object_set_new(o, "test_metadata", json_pack("{s:s, s:o, s:o}", "name",
                                                              dot ? dot + 1 : n->test_kind,
                                                              "kwargs", kw, "namespace",
                                                              dot ? json_stringn(n->test_kind,
                                                                                 (size_t)(dot - n->test_kind))
                                                                  : json_null()));
        }
    }
    return o;
}

static bp_status write_json(const char *dir, const char *name, json_t *j, bp_err *err)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* written aside and renamed: a reader never sees half a file */
    int rc = j ? json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;
    json_decref(j);
    if (rc != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return bp_fail(err, BP_EIO, "cannot write %s", path);
    }
    return BP_OK;
}

static bp_status target_dir(project *p, char *dir, size_t n, bp_err *err)
{
    const char *t = yml_get_str(yml_root(p->project_doc), "target-path", "target");
    if (t[0] == '/')
        snprintf(dir, n, "%s", t);
    else
        snprintf(dir, n, "%s/%s", p->dir, t);
    return fs_mkdir_p(dir, BP_EIO, "target folder", err);
}

static json_t *macros_json(project *p)
{
    json_t *o = json_object();
    for (int k = 0; k < p->npkgs; k++) {
        const dbt_pkg *pkg = &p->pkgs[k];
        for (size_t i = 0; i < pkg->macros.cap; i++) {
            const char *name = strmap_key_at(&pkg->macros, i);
            if (!name)
                continue;
            jinja_macro *m = pkg->macros.vals[i];
            char uid[600];
            snprintf(uid, sizeof uid, "macro.%s.%s", pkg->name, name);
            json_object_set_new(o, uid, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "name", name,
                                                  "unique_id", uid, "package_name", pkg->name,
                                                  "resource_type", "macro", "original_file_path",
                                                  jinja_macro_file(m), "line",
                                                  jinja_macro_line(m)));
        }
    }
    return o;
}

static json_t *docs_json(project *p)
{
    json_t *o = json_object();
    for (int k = 0; k < p->npkgs; k++) {
        const dbt_pkg *pkg = &p->pkgs[k];
        for (size_t i = 0; i < pkg->docs.cap; i++) {
            const char *name = strmap_key_at(&pkg->docs, i);
            if (!name)
                continue;
            size_t n;
            const char *body = jinja_macro_body(pkg->docs.vals[i], &n);
            char uid[600];
            snprintf(uid, sizeof uid, "doc.%s.%s", pkg->name, name);
            json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "unique_id", uid,
                                  "package_name", pkg->name, "resource_type", "doc");
            json_object_set_new(d, "block_contents", json_stringn(body, n));
            json_object_set_new(o, uid, d);
        }
    }
    return o;
}

bp_status art_manifest(project *p, bp_err *err)
{
    char dir[4200];
    if (target_dir(p, dir, sizeof dir, err) != BP_OK)
        return BP_EIO;
    json_t *nodes = json_object(), *sources = json_object(), *parents = json_object(),
           *children = json_object(), *disabled = json_object(), *exposures = json_object();
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->cfg.enabled) {
            json_t *l = json_array();
            json_array_append_new(l, node_json(p, n));
            json_object_set_new(disabled, n->unique_id, l);
            continue;
        }
        json_object_set_new(n->type == NT_SOURCE ? sources
                            : n->type == NT_EXPOSURE ? exposures : nodes, n->unique_id,
                            node_json(p, n));
        json_t *pl = json_array(), *cl = json_array();
        for (int k = 0; k < n->ndeps; k++)
            json_array_append_new(pl, json_string(p->nodes[n->deps[k]].unique_id));
        for (int k = 0; k < n->nkids; k++)
            json_array_append_new(cl, json_string(p->nodes[n->kids[k]].unique_id));
        json_object_set_new(parents, n->unique_id, pl);
        json_object_set_new(children, n->unique_id, cl);
    }
    json_t *manifest = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:{}, s:{}, s:{}, s:o, s:o, s:o, s:{}, s:{}}",
        "metadata", metadata(p, "https://schemas.getdbt.com/dbt/manifest/v12.json"), "nodes",
        nodes, "sources", sources, "macros", macros_json(p), "docs", docs_json(p), "exposures",
        exposures, "metrics", "groups", "selectors", "disabled", disabled, "parent_map", parents,
        "child_map", children, "semantic_models", "unit_tests");
    return write_json(dir, "manifest.json", manifest, err);
}

bp_status art_run_results(project *p, const int *order, int n, double elapsed,
                          const char *started_at, bp_err *err)
{
    char dir[4200];
    if (target_dir(p, dir, sizeof dir, err) != BP_OK)
        return BP_EIO;
    static const char *const names[] = {"", "success", "error", "skipped", "pass", "fail",
                                        "warn"};
    json_t *results = json_array();
    for (int k = 0; k < n; k++) {
        node *nd = &p->nodes[order[k]];
        json_t *res = json_pack("{s:s, s:s, s:s, s:f, s:s, s:[{s:s, s:s, s:s}], s:{}}",
                                "unique_id", nd->unique_id, "status", names[nd->status],
                                "thread_id", "Thread-1", "execution_time", nd->secs, "message",
                                nd->message, "timing", "name", "execute", "started_at",
                                started_at, "completed_at", started_at, "adapter_response");
        json_object_set_new(res, "failures",
                            nd->type == NT_TEST ? json_integer(nd->failures) : json_null());
        if (nd->relation && nd->type != NT_TEST)
            json_object_set_new(res, "relation_name", json_string(nd->relation));
        if (nd->compiled)
            json_object_set_new(res, "compiled_code", json_string(nd->compiled));
        json_array_append_new(results, res);
    }
    json_t *rr = json_pack("{s:o, s:o, s:f, s:{s:s}}", "metadata",
                           metadata(p, "https://schemas.getdbt.com/dbt/run-results/v6.json"),
                           "results", results, "elapsed_time", elapsed, "args", "which",
                           p->opts.command);
    return write_json(dir, "run_results.json", rr, err);
}

/* ---- catalog.json ------------------------------------------------------------------------ */

typedef struct {
    json_t *cols;
    int index;
} cat_ctx;

static int take_column(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    cat_ctx *c = ctx;
    if (!vals || nc < 2 || !vals[0])
        return 0;
    c->index++;
    json_object_set_new(c->cols, vals[0], json_pack("{s:s, s:i, s:s, s:n}", "type",
                                                    vals[1] ? vals[1] : "", "index", c->index,
                                                    "name", vals[0], "comment"));
    return 0;
}

static bp_status catalog_entry(project *p, wh *w, const node *n, json_t *out, bp_err *err)
{
    char kind[32];
    const char *ident = n->identifier ? n->identifier : n->name;
    if (mat_relation_kind(w, n->schema, ident, kind, sizeof kind, err) != BP_OK)
        return BP_EWH;
    if (!*kind)
        return BP_OK; /* not built yet: not in the catalog, as in dbt */
    cat_ctx c = {json_object(), 0};
    buf q = {0};
    buf_adds(&q, "SELECT column_name, data_type FROM information_schema.columns WHERE "
                 "table_schema = ");
    wh_add_literal(w, &q, n->schema);
    buf_adds(&q, " AND table_name = ");
    wh_add_literal(w, &q, ident);
    buf_adds(&q, " ORDER BY ordinal_position");
    bp_status st = q.p ? wh_query(w, q.p, take_column, &c, err)
                       : bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&q);
    if (st != BP_OK) {
        json_decref(c.cols);
        return st;
    }
    json_t *e = json_pack("{s:{s:s, s:s, s:s, s:s, s:n, s:n}, s:o, s:{s:{s:s, s:s, s:b, s:n, "
                          "s:b}}, s:s}", "metadata", "type", !strcmp(kind, "VIEW") ? "VIEW"
                                                                                   : "BASE TABLE",
                          "schema", n->schema, "name", ident, "database",
                          n->database ? n->database : p->target_db, "comment", "owner", "columns",
                          c.cols, "stats", "has_stats", "id", "has_stats", "label",
                          "Has Stats?", "value", 0, "description", "include", 0, "unique_id",
                          n->unique_id);
    json_object_set_new(out, n->unique_id, e);
    return BP_OK;
}

bp_status art_catalog(project *p, wh *w, bp_err *err)
{
    char dir[4200];
    if (target_dir(p, dir, sizeof dir, err) != BP_OK)
        return BP_EIO;
    json_t *nodes = json_object(), *sources = json_object();
    bp_status st = BP_OK;
    for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
        const node *n = &p->nodes[i];
        if (!n->cfg.enabled || !n->schema || n->python ||
            (n->type != NT_MODEL && n->type != NT_SEED && n->type != NT_SNAPSHOT &&
             n->type != NT_SOURCE) || node_is_ephemeral(n) ||
            (n->type == NT_SOURCE && n->relation && strchr(n->relation, '(')))
            continue;
        st = catalog_entry(p, w, n, n->type == NT_SOURCE ? sources : nodes, err);
    }
    if (st != BP_OK) {
        json_decref(nodes);
        json_decref(sources);
        return st;
    }
    json_t *cat = json_pack("{s:o, s:o, s:o, s:n}", "metadata",
                            metadata(p, "https://schemas.getdbt.com/dbt/catalog/v1.json"), "nodes",
                            nodes, "sources", sources, "errors");
    return write_json(dir, "catalog.json", cat, err);
}

/* target/compiled/<package>/<path>: what compile produced, for people to read. */
void art_write_compiled(project *p, const node *n)
{
    if (!n->compiled || !n->path)
        return;
    char tdir[4200], path[8500], dir[8500];
    if (target_dir(p, tdir, sizeof tdir, NULL) != BP_OK)
        return;
    const char *pkg = n->pkg ? n->pkg->name : p->name;
    if (n->type == NT_TEST && n->test_kind)
        snprintf(path, sizeof path, "%s/compiled/%s/%s/%s.sql", tdir, pkg, n->path,
                 n->identifier ? n->identifier : n->name);
    else
        snprintf(path, sizeof path, "%s/compiled/%s/%s", tdir, pkg, n->path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (fs_mkdir_p(dir, BP_EIO, "folder", NULL) != BP_OK)
        return;
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(n->compiled, f);
        fclose(f);
    }
}
