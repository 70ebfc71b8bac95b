/* models.c: the dbt project's models as the pipeline page shows them,
 * read from what the last dbt block wrote (target/manifest.json and
 * target/run_results.json, dbt's own artifacts): GET /api/models lists the
 * nodes with their parents and last status; GET /api/models/NAME gives one
 * node's SQL, compiled SQL, columns (from the warehouse), tests with their
 * status, and its row count. */
#include "web_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fs.h"
#include "../dbt/dbt.h"

static json_t *artifact(web_srv *s, const char *name, char *why, size_t wn)
{
    char path[4400];
    if (!s->project_dir[0] || !fs_pathf(path, sizeof path, "%s/target/%s", s->project_dir, name)) {
        snprintf(why, wn, "no dbt project is served");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        snprintf(why, wn, "%.300s: %.120s (run the pipeline once: its dbt block writes it)", path,
                 je.text);
    return j;
}

/* run_results by unique_id: {status, execution_time, message} */
static json_t *results_by_id(web_srv *s)
{
    char why[512];
    json_t *rr = artifact(s, "run_results.json", why, sizeof why), *out = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rr, "results"), i, x) {
        const char *id = json_string_value(json_object_get(x, "unique_id"));
        json_t *exec = dbt_result_execute(x); /* when it ran */
        if (id)
            json_object_set_new(out, id, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "status",
                                                   json_object_get(x, "status"), "execution_time",
                                                   json_object_get(x, "execution_time"), "message",
                                                   json_object_get(x, "message"), "started_at",
                                                   json_object_get(exec, "started_at"),
                                                   "completed_at",
                                                   json_object_get(exec, "completed_at")));
    }
    json_decref(rr);
    return out;
}

static bool shown(const char *type)
{
    return type && (!strcmp(type, "model") || !strcmp(type, "seed") ||
                    !strcmp(type, "snapshot") || !strcmp(type, "test"));
}

static json_t *node_summary(json_t *n, json_t *res)
{
    const char *id = json_string_value(json_object_get(n, "unique_id"));
    json_t *r = json_object_get(res, id ? id : "");
    return json_pack("{s:O, s:O, s:O, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "unique_id",
                     json_object_get(n, "unique_id"), "name", json_object_get(n, "name"),
                     "resource_type", json_object_get(n, "resource_type"), "depends_on",
                     json_object_get(json_object_get(n, "depends_on"), "nodes"), "path",
                     json_object_get(n, "original_file_path"), "status",
                     json_object_get(r, "status"), "execution_time",
                     json_object_get(r, "execution_time"), "message",
                     json_object_get(r, "message"), "started_at",
                     json_object_get(r, "started_at"), "completed_at",
                     json_object_get(r, "completed_at"));
}

/* GET /api/models */
static enum MHD_Result list(web_srv *s, const web_req *r)
{
    char why[512];
    json_t *m = artifact(s, "manifest.json", why, sizeof why);
    if (!m)
        return web_error(r, 404, why);
    json_t *res = results_by_id(s), *out = json_array();
    const char *k;
    json_t *n;
    json_object_foreach(json_object_get(m, "nodes"), k, n)
        if (shown(json_string_value(json_object_get(n, "resource_type"))))
            json_array_append_new(out, node_summary(n, res));
    json_object_foreach(json_object_get(m, "sources"), k, n)
        json_array_append_new(out, json_pack("{s:O, s:O, s:s, s:[]}", "unique_id",
                                             json_object_get(n, "unique_id"), "name",
                                             json_object_get(n, "name"), "resource_type",
                                             "source", "depends_on"));
    json_decref(res);
    json_t *meta = json_object_get(m, "metadata");
    json_t *j = json_pack("{s:O?, s:o}", "generated_at", json_object_get(meta, "generated_at"),
                          "nodes", out);
    json_decref(m);
    return web_json(r, 200, j);
}

/* The compiled SQL dbt wrote for the node (target/compiled/...), if any. */
static json_t *compiled_sql(web_srv *s, json_t *n)
{
    const char *pkg = json_string_value(json_object_get(n, "package_name"));
    const char *path = json_string_value(json_object_get(n, "original_file_path"));
    char file[4600];
    if (!pkg || !path || strstr(path, "..") ||
        !fs_pathf(file, sizeof file, "%s/target/compiled/%s/%s", s->project_dir, pkg, path))
        return json_null();
    FILE *f = fopen(file, "rb");
    if (!f)
        return json_null();
    buf b = {0};
    char chunk[8192];
    size_t got;
    bool ok = true;
    while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (4u << 20))
        ok = !buf_add(&b, chunk, got);
    fclose(f);
    json_t *j = ok && b.p ? json_stringn(b.p, b.len) : json_null();
    buf_free(&b);
    return j ? j : json_null();
}

static int on_count(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    if (vals && nc && vals[0])
        *(long long *)ctx = strtoll(vals[0], NULL, 10);
    return 0;
}

/* The relation's columns and rows in the warehouse (both null when it is
 * not there, or an ephemeral model). */
static void from_warehouse(web_srv *s, const web_req *r, json_t *n, json_t *out)
{
    const char *schema = json_string_value(json_object_get(n, "schema"));
    const char *name = json_string_value(json_object_get(n, "alias"));
    if (!name)
        name = json_string_value(json_object_get(n, "name"));
    enum MHD_Result ignored;
    wh *w = schema && name ? web_open_ro(s, r, &ignored) : NULL;
    if (!w)
        return;
    json_t *cols = json_array();
    bp_err err = {0};
    bool more = false;
    long long rows = -1;
    buf q = {0};
    if (web_table_columns(s, w, schema, name, 500, cols, &err) == BP_OK &&
        json_array_size(cols) && !buf_adds(&q, "SELECT count(*) FROM ") &&
        !buf_add_relation(&q, schema, name)) {
        wh_user_query cq = {1, s->o->statement_timeout_ms, 0, NULL};
        if (wh_query_user(w, q.p, &cq, on_count, &rows, &more, &err) != BP_OK)
            rows = -1;
    }
    buf_free(&q);
    web_close_ro(s, w);
    json_object_set_new(out, "warehouse_columns", cols);
    json_object_set_new(out, "rows", rows >= 0 ? json_integer(rows) : json_null());
}

/* GET /api/models/NAME */
static enum MHD_Result one(web_srv *s, const web_req *r, const char *name)
{
    char why[512];
    json_t *m = artifact(s, "manifest.json", why, sizeof why);
    if (!m)
        return web_error(r, 404, why);
    json_t *nodes = json_object_get(m, "nodes"), *hit = NULL, *n;
    const char *k;
    json_object_foreach(nodes, k, n) {
        const char *nm = json_string_value(json_object_get(n, "name"));
        if (nm && !strcmp(nm, name) && shown(json_string_value(json_object_get(n, "resource_type"))) &&
            (!hit || !strcmp(json_string_value(json_object_get(n, "resource_type")), "model")))
            hit = n;
    }
    if (!hit) {
        json_decref(m);
        return web_error(r, 404, "no model, seed, snapshot or test of that name in the manifest");
    }
    json_t *res = results_by_id(s);
    json_t *out = node_summary(hit, res);
    const char *id = json_string_value(json_object_get(hit, "unique_id"));
    json_t *tests = json_array(), *children = json_array();
    json_object_foreach(nodes, k, n) {
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(json_object_get(n, "depends_on"), "nodes"), i, d) {
            if (!json_string_value(d) || strcmp(json_string_value(d), id))
                continue;
            const char *type = json_string_value(json_object_get(n, "resource_type"));
            json_array_append_new(type && !strcmp(type, "test") ? tests : children,
                                  node_summary(n, res));
        }
    }
    json_object_set_new(out, "tests", tests);
    json_object_set_new(out, "children", children);
    json_object_set(out, "description", json_object_get(hit, "description"));
    json_object_set(out, "raw_code", json_object_get(hit, "raw_code"));
    json_object_set_new(out, "compiled_code", compiled_sql(s, hit));
    json_object_set(out, "columns", json_object_get(hit, "columns"));
    json_object_set(out, "materialized", json_object_get(json_object_get(hit, "config"),
                                                        "materialized"));
    json_object_set(out, "relation_name", json_object_get(hit, "relation_name"));
    from_warehouse(s, r, hit, out);
    json_decref(res);
    json_decref(m);
    return web_json(r, 200, out);
}

enum MHD_Result web_models(web_srv *s, const web_req *r, const char *rest)
{
    if (!*rest)
        return list(s, r);
    if (*rest != '/' || !rest[1] || strlen(rest) > 300)
        return web_error(r, 404, "no such page or API");
    return one(s, r, rest + 1);
}
