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
#include <unistd.h>

#include "../core/fs.h"
#include "dbt_int.h"

static void iso_now(char *out, size_t n) { dbt_proj_iso_now(out, n, "Z"); }

static json_t *metadata(project *p, const char *schema_url)
{
    char ts[64];
    iso_now(ts, sizeof ts);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{}}", "dbt_schema_version", schema_url,
                     "dbt_version", "1.8.0", "generated_at", ts, "invocation_id",
                     p->invocation_id ? p->invocation_id : "", "adapter_type", p->target_type,
                     "project_name", p->name, "env");
}

static bp_status write_text(const char *dir, const char *name, const buf *b, bp_err *err);

/* A small JSON document (run results, catalog), compact as dbt writes them. */
static bp_status write_json(const char *dir, const char *name, json_t *j, bp_err *err)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return bp_fail(err, BP_ENOMEM, "out of memory writing %s", name);
    buf b = {s, strlen(s), strlen(s) + 1, 0};
    bp_status st = write_text(dir, name, &b, err);
    free(s);
    return st;
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

/* ---- manifest.json ------------------------------------------------------------------------
 * Written as text from the nodes' dicts (the ones graph and `model` show),
 * not through a JSON tree: a 2,000-model project's manifest is tens of MB
 * and a tree of it costs more than parsing the project. */

static bp_status add_json_value(buf *b, const jv *v)
{
    if (jv_to_json(v, b, 0, false))
        return BP_OK;
    /* a value JSON has no form of (an object someone put in a config) */
    buf t = {0};
    bp_status st = jv_to_str(v, &t);
    jv s = {.type = JV_STR, .u.s = {t.p ? t.p : "", t.len}};
    if (st == BP_OK && !jv_to_json(&s, b, 0, false))
        st = BP_ENOMEM;
    buf_free(&t);
    return st;
}

static bp_status add_key(buf *b, bool *first, const char *key)
{
    jv k = {.type = JV_STR, .u.s = {key, strlen(key)}};
    if (buf_adds(b, *first ? "" : ", ") || !jv_to_json(&k, b, 0, false) || buf_adds(b, ": "))
        return BP_ENOMEM;
    *first = false;
    return BP_OK;
}

/* A node's entry: its dict, with what compiling added. */
static bp_status add_node(buf *b, project *p, int i, arena *tmp)
{
    node *n = &p->nodes[i];
    jv *d = dbt_ctx_model_dict(p, i);
    if (!d)
        return BP_ENOMEM;
    jv *e = jv_dict_new(tmp);
    for (size_t k = 0; e && k < jv_dict_len(d); k++)
        if (!jv_dict_set(tmp, e, jv_dict_key(d, k), jv_dict_val(d, k)))
            e = NULL;
    if (e && n->compiled &&
        (!jv_dict_set(tmp, e, "compiled_code", jv_strz(tmp, n->compiled)) ||
         !jv_dict_set(tmp, e, "compiled", jv_bool(tmp, true))))
        e = NULL;
    return e ? add_json_value(b, e) : BP_ENOMEM;
}

static bp_status add_map(buf *b, project *p, bool parents)
{
    bool first = true;
    bp_status st = buf_adds(b, "{");
    for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
        node *n = &p->nodes[i];
        if (!n->cfg.enabled)
            continue;
        st = add_key(b, &first, n->unique_id);
        int cnt = parents ? n->ndeps : n->nkids;
        const int *idx = parents ? n->deps : n->kids;
        st = st ? st : buf_adds(b, "[");
        for (int k = 0; k < cnt && st == BP_OK; k++) {
            jv u = {.type = JV_STR, .u.s = {p->nodes[idx[k]].unique_id,
                                             strlen(p->nodes[idx[k]].unique_id)}};
            if (buf_adds(b, k ? ", " : "") || !jv_to_json(&u, b, 0, false))
                st = BP_ENOMEM;
        }
        st = st ? st : buf_adds(b, "]");
    }
    return st ? st : buf_adds(b, "}");
}

static bp_status add_json(buf *b, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    bp_status st = s ? buf_adds(b, s) : BP_ENOMEM;
    free(s);
    return st;
}

static bp_status write_text(const char *dir, const char *name, const buf *b, bp_err *err)
{
    char path[4200], tmp[4300];
    if (!fs_pathf(path, sizeof path, "%s/%s", dir, name) ||
        !fs_pathf(tmp, sizeof tmp, "%s.tmp", path))
        return bp_fail(err, BP_EIO, "%s/%s: path too long", dir, name);
    FILE *f = fopen(tmp, "wb");
    int rc = f ? (fwrite(b->p ? b->p : "", 1, b->len, f) == b->len ? 0 : -1) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0 || rename(tmp, path) != 0) {
        remove(tmp);
        return bp_fail(err, BP_EIO, "cannot write %s", path);
    }
    return BP_OK;
}

bp_status dbt_art_manifest(project *p, bp_err *err)
{
    char dir[4200];
    if (target_dir(p, dir, sizeof dir, err) != BP_OK)
        return BP_EIO;
    buf b = {0};
    arena tmp = {0};
    bp_status st = buf_adds(&b, "{\"metadata\": ");
    if (st == BP_OK)
        st = add_json(&b, metadata(p, "https://schemas.getdbt.com/dbt/manifest/v12.json"));
    static const char *const parts[] = {"nodes", "sources", "exposures", "disabled",
                                        "unit_tests"};
    for (int part = 0; part < 5 && st == BP_OK; part++) {
        bool first = true;
        st = buf_printf(&b, ", \"%s\": {", parts[part]);
        for (int i = 0; i < p->nnodes && st == BP_OK; i++) {
            node *n = &p->nodes[i];
            bool want = part == 3 ? !n->cfg.enabled
                        : n->cfg.enabled && (part == 1   ? n->type == NT_SOURCE
                                             : part == 2 ? n->type == NT_EXPOSURE
                                             : part == 4 ? n->type == NT_UNIT
                                                         : n->type != NT_SOURCE &&
                                                               n->type != NT_EXPOSURE &&
                                                               n->type != NT_UNIT);
            if (!want)
                continue;
            st = add_key(&b, &first, n->unique_id);
            if (st == BP_OK && part == 3)
                st = buf_adds(&b, "[");
            if (st == BP_OK)
                st = add_node(&b, p, i, &tmp);
            if (st == BP_OK && part == 3)
                st = buf_adds(&b, "]");
        }
        if (st == BP_OK)
            st = buf_adds(&b, "}");
    }
    if (st == BP_OK && !(st = buf_adds(&b, ", \"macros\": ")))
        st = add_json(&b, macros_json(p));
    if (st == BP_OK && !(st = buf_adds(&b, ", \"docs\": ")))
        st = add_json(&b, docs_json(p));
    if (st == BP_OK && !(st = buf_adds(&b, ", \"parent_map\": ")))
        st = add_map(&b, p, true);
    if (st == BP_OK && !(st = buf_adds(&b, ", \"child_map\": ")))
        st = add_map(&b, p, false);
    if (st == BP_OK)
        st = buf_adds(&b, ", \"metrics\": {}, \"groups\": {}, \"selectors\": {}, "
                          "\"group_map\": {}, \"saved_queries\": {}, \"semantic_models\": {}}");
    if (st != BP_OK)
        st = bp_fail(err, BP_ENOMEM, "out of memory writing the manifest");
    else
        st = write_text(dir, "manifest.json", &b, err);
    buf_free(&b);
    arena_free(&tmp);
    return st;
}

/* "2024-01-31T10:00:00.123456Z" */
static void iso_us(double t, char *out, size_t n)
{
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%06dZ", base, (int)((t - (double)secs) * 1e6));
}

bp_status dbt_art_run_results(project *p, const int *order, int n, double elapsed,
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
        /* each node's own execute step, as dbt times it (microseconds, UTC);
         * a node that did not run has the invocation's start */
        char from[64], to[64];
        if (nd->began > 0) {
            iso_us(nd->began, from, sizeof from);
            iso_us(nd->began + nd->secs, to, sizeof to);
        } else {
            snprintf(from, sizeof from, "%s", started_at);
            snprintf(to, sizeof to, "%s", started_at);
        }
        json_t *res = json_pack("{s:s, s:s, s:s, s:f, s:s, s:[{s:s, s:s, s:s}], s:{}}",
                                "unique_id", nd->unique_id, "status", names[nd->status],
                                "thread_id", "Thread-1", "execution_time", nd->secs, "message",
                                nd->message, "timing", "name", "execute", "started_at",
                                from, "completed_at", to, "adapter_response");
        json_object_set_new(res, "failures",
                            nd->type == NT_TEST || nd->type == NT_UNIT ? json_integer(nd->failures)
                                                                    : json_null());
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
    if (dbt_mat_relation_kind(w, n->schema, ident, kind, sizeof kind, err) != BP_OK)
        return BP_EWH;
    if (!*kind)
        return BP_OK; /* not built yet: not in the catalog, as in dbt */
    cat_ctx c = {json_object(), 0};
    buf q = {0};
    bool unbuilt = buf_adds(&q, "SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = ") ||
                   wh_add_literal(w, &q, n->schema) || buf_adds(&q, " AND table_name = ") ||
                   wh_add_literal(w, &q, ident) || buf_adds(&q, " ORDER BY ordinal_position");
    bp_status st = unbuilt ? bp_fail(err, BP_ENOMEM, "out of memory")
                           : wh_query(w, q.p, take_column, &c, err);
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

bp_status dbt_art_catalog(project *p, wh *w, bp_err *err)
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
             n->type != NT_SOURCE) || dbt_node_is_ephemeral(n) ||
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
void dbt_art_write_compiled(project *p, const node *n)
{
    if (!n->compiled || !n->path)
        return;
    char tdir[4200], path[8500], dir[8500];
    if (target_dir(p, tdir, sizeof tdir, NULL) != BP_OK)
        return;
    const char *pkg = n->pkg ? n->pkg->name : p->name;
    /* a compiled file is a copy for people to read: one whose path is too
     * long is not written */
    if (n->type == NT_TEST && n->test_kind
            ? !fs_pathf(path, sizeof path, "%s/compiled/%s/%s/%s.sql", tdir, pkg, n->path,
                        n->identifier ? n->identifier : n->name)
            : !fs_pathf(path, sizeof path, "%s/compiled/%s/%s", tdir, pkg, n->path))
        return;
    memcpy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (fs_mkdir_p(dir, BP_EIO, "folder", NULL) != BP_OK)
        return;
    /* unchanged files are left alone; changed ones are replaced by a new
     * file (truncating makes ext4 flush each one on close: seconds for a
     * large project) */
    /* a test's file is its query; the wrapper counting failures is not */
    const char *text = n->type == NT_TEST && n->test_sql ? n->test_sql : n->compiled;
    size_t len = strlen(text);
    FILE *f = fopen(path, "rb");
    if (f) {
        char *old = malloc(len + 2);
        size_t got = old ? fread(old, 1, len + 1, f) : 0;
        bool same = old && got == len && memcmp(old, text, len) == 0;
        free(old);
        fclose(f);
        if (same)
            return;
        unlink(path);
    }
    if ((f = fopen(path, "w"))) {
        fwrite(text, 1, len, f);
        fclose(f);
    }
}

json_t *dbt_result_execute(json_t *result)
{
    json_t *t, *exec = NULL;
    size_t k;
    json_array_foreach(json_object_get(result, "timing"), k, t)
        if (json_string_value(json_object_get(t, "name")) &&
            !strcmp(json_string_value(json_object_get(t, "name")), "execute"))
            exec = t;
    return exec;
}
