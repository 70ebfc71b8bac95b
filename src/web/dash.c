/* dash.c: Grafana dashboard JSON files: listing, variables and panel
 * queries. Every datasource in a file maps to the served warehouse; every
 * variable value is a bound parameter (interp.c). */
#include "web_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/num.h"
#include "interp.h"
#include "../core/fs.h"

/* ---- finding dashboards --------------------------------------------------------------- */

/* Grafana exports either the dashboard or {"dashboard": {...}, "meta": ...}. */
static json_t *load_dashboard(const char *path, char *uid, size_t n)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    json_t *d = json_object_get(j, "dashboard");
    if (json_is_object(d)) {
        json_incref(d);
        json_decref(j);
        j = d;
    }
    if (!json_is_object(j) || !json_is_array(json_object_get(j, "panels"))) {
        json_decref(j);
        return NULL;
    }
    const char *u = json_string_value(json_object_get(j, "uid"));
    const char *b = strrchr(path, '/');
    /* no uid: the file name, as Grafana's provisioning would not; a uid
     * too long for a URL here is no dashboard of ours */
    if (!fs_pathf(uid, n, "%s", u && *u ? u : b ? b + 1 : path)) {
        json_decref(j);
        return NULL;
    }
    char *dot = u && *u ? NULL : strrchr(uid, '.');
    if (dot)
        *dot = 0;
    return j;
}

typedef bool (*dash_fn)(void *ctx, const char *path, const char *uid, json_t *d);

/* Call fn for each dashboard (the project's, then --dashboards'); stops
 * when fn returns true. fn takes d's reference. */
static void each_dashboard(web_srv *s, dash_fn fn, void *ctx)
{
    char dirs[2][4300];
    int nd = 0;
    if (s->o->dashboards)
        snprintf(dirs[nd++], sizeof dirs[0], "%s", s->o->dashboards);
    if (s->project_dir[0])
        snprintf(dirs[nd++], sizeof dirs[0], "%s/dashboards", s->project_dir);
    for (int i = nd - 1; i >= 0; i--) {
        struct dirent **ents = NULL;
        int n = scandir(dirs[i], &ents, NULL, alphasort);
        bool stop = false;
        for (int k = 0; k < n; k++) {
            const char *name = ents[k]->d_name;
            size_t l = strlen(name);
            if (!stop && l > 5 && !strcmp(name + l - 5, ".json") && name[0] != '.') {
                char path[4600], uid[256];
                json_t *d = fs_pathf(path, sizeof path, "%s/%s", dirs[i], name)
                                ? load_dashboard(path, uid, sizeof uid) : NULL;
                if (d)
                    stop = fn(ctx, path, uid, d);
            }
            free(ents[k]);
        }
        free(ents);
        if (stop)
            return;
    }
}

static bool list_one(void *ctx, const char *path, const char *uid, json_t *d)
{
    const char *file = strrchr(path, '/');
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:O*}", "uid", uid, "title",
                                         json_string_value(json_object_get(d, "title"))
                                             ? json_string_value(json_object_get(d, "title"))
                                             : uid,
                                         "file", file ? file + 1 : path, "tags",
                                         json_object_get(d, "tags")));
    json_decref(d);
    return false;
}

enum MHD_Result web_dashboards(web_srv *s, const web_req *r)
{
    json_t *list = json_array();
    each_dashboard(s, list_one, list);
    return web_json(r, 200, json_pack("{s:o}", "dashboards", list));
}

typedef struct {
    const char *uid;
    json_t *found;
} find_ctx;

static bool find_one(void *ctx, const char *path, const char *uid, json_t *d)
{
    (void)path;
    find_ctx *f = ctx;
    if (strcmp(uid, f->uid) != 0) {
        json_decref(d);
        return false;
    }
    f->found = d;
    return true;
}

/* ---- variables ---------------------------------------------------------------------------- */

typedef struct {
    char name[128];
    json_t *options;   /* array of strings */
    json_t *current;   /* array of strings */
    const char **vals; /* current, as C strings (into current) */
    int n;
} var_state;

typedef struct {
    var_state *v;
    int n;
} vars_t;

static void vars_free(vars_t *vs)
{
    for (int i = 0; i < vs->n; i++) {
        json_decref(vs->v[i].options);
        json_decref(vs->v[i].current);
        free(vs->v[i].vals);
    }
    free(vs->v);
}

/* The URL's var-NAME values (repeatable). */
typedef struct {
    char key[140];
    json_t *vals;
} url_ctx;

static enum MHD_Result url_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    url_ctx *u = cls;
    if (value && !strcmp(key, u->key))
        json_array_append_new(u->vals, json_string(value));
    return MHD_YES;
}

static void as_gf_vars(const vars_t *vs, gf_var *out)
{
    for (int i = 0; i < vs->n; i++)
        out[i] = (gf_var){vs->v[i].name, vs->v[i].vals, vs->v[i].n};
}

static int first_col(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    if (vals && nc && vals[0] && json_array_size(ctx) < 10000)
        json_array_append_new(ctx, json_string(vals[0]));
    return 0;
}

/* Options of a query variable: its SQL (which may use earlier variables). */
static void query_options(wh *w, json_t *v, const vars_t *vs, json_t *opts)
{
    json_t *q = json_object_get(v, "query");
    const char *sql = json_is_string(q) ? json_string_value(q)
                                        : json_string_value(json_object_get(q, "query"));
    if (!sql)
        sql = json_string_value(json_object_get(q, "rawSql"));
    if (!sql || !*sql)
        return;
    gf_var gv[64];
    as_gf_vars(vs, gv);
    gf_query gq;
    bp_err err;
    if (gf_interpolate(sql, gv, vs->n, &gq, &err) != BP_OK)
        return;
    wh_user_query uq = {10000, 30000, gq.n, (const char *const *)gq.params};
    /* a variable whose query fails offers no options; the panels using it
     * show the database's error */
    if (wh_query_user(w, gq.sql.p, &uq, first_col, opts, NULL, &err) != BP_OK)
        json_array_clear(opts);
    gf_query_free(&gq);
}

static void custom_options(json_t *v, json_t *opts)
{
    const char *q = json_string_value(json_object_get(v, "query"));
    if (!q)
        return;
    char *copy = strdup(q), *save = NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        char *sep = strstr(t, " : "); /* "text : value" */
        char *val = sep ? sep + 3 : t;
        while (*val == ' ')
            val++;
        size_t l = strlen(val);
        while (l && val[l - 1] == ' ')
            val[--l] = 0;
        json_array_append_new(opts, json_string(val));
    }
    free(copy);
}

static json_t *default_current(json_t *v)
{
    json_t *cur = json_object_get(json_object_get(v, "current"), "value");
    json_t *out = json_array();
    if (json_is_string(cur))
        json_array_append_new(out, json_string(json_string_value(cur)));
    else if (json_is_array(cur)) {
        size_t i;
        json_t *x;
        json_array_foreach(cur, i, x) if (json_is_string(x))
            json_array_append_new(out, json_string(json_string_value(x)));
    }
    return out;
}

/* Resolve every templating variable, in order (later ones may use earlier). */
static bool resolve_vars(wh *w, json_t *dash, const web_req *r, vars_t *vs)
{
    json_t *list = json_object_get(json_object_get(dash, "templating"), "list");
    size_t n = json_array_size(list);
    if (n > 64)
        n = 64;
    vs->v = calloc(n ? n : 1, sizeof *vs->v);
    if (!vs->v)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!name || !type)
            continue;
        var_state *s = &vs->v[vs->n];
        snprintf(s->name, sizeof s->name, "%s", name);
        s->options = json_array();
        if (!strcmp(type, "query"))
            query_options(w, v, vs, s->options);
        else if (!strcmp(type, "custom"))
            custom_options(v, s->options);
        else if (!strcmp(type, "constant") || !strcmp(type, "textbox")) {
            const char *q = json_string_value(json_object_get(v, "query"));
            json_array_append_new(s->options, json_string(q ? q : ""));
        }
        url_ctx u;
        snprintf(u.key, sizeof u.key, "var-%s", name);
        u.vals = json_array();
        MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, url_arg, &u);
        if (!strcmp(type, "constant") || !json_array_size(u.vals)) {
            json_decref(u.vals);
            u.vals = strcmp(type, "constant") ? default_current(v) : json_copy(s->options);
        }
        const char *first = json_string_value(json_array_get(u.vals, 0));
        bool all = first && (!strcmp(first, "$__all") || !strcmp(first, "All")) &&
                   json_is_true(json_object_get(v, "includeAll"));
        if (all) {
            json_decref(u.vals);
            const char *allv = json_string_value(json_object_get(v, "allValue"));
            u.vals = allv && *allv ? json_pack("[s]", allv) : json_copy(s->options);
        } else if (!json_array_size(u.vals) && json_array_size(s->options))
            json_array_append_new(u.vals, json_string(json_string_value(
                                              json_array_get(s->options, 0))));
        s->current = u.vals;
        s->n = (int)json_array_size(u.vals);
        s->vals = calloc((size_t)s->n + 1, sizeof *s->vals);
        for (int k = 0; s->vals && k < s->n; k++)
            s->vals[k] = json_string_value(json_array_get(u.vals, (size_t)k));
        if (!s->vals)
            s->n = 0;
        vs->n++;
    }
    return true;
}

static json_t *vars_json(const vars_t *vs)
{
    json_t *a = json_array();
    for (int i = 0; i < vs->n; i++)
        json_array_append_new(a, json_pack("{s:s, s:O, s:O}", "name", vs->v[i].name, "options",
                                           vs->v[i].options, "current", vs->v[i].current));
    return a;
}

/* ---- panels ------------------------------------------------------------------------------- */

/* The panel with this id, also inside collapsed rows. */
static json_t *find_panel(json_t *dash, long long id)
{
    size_t i, k;
    json_t *p, *c;
    json_array_foreach(json_object_get(dash, "panels"), i, p) {
        if (json_integer_value(json_object_get(p, "id")) == id)
            return p;
        json_array_foreach(json_object_get(p, "panels"), k, c)
            if (json_integer_value(json_object_get(c, "id")) == id)
                return c;
    }
    return NULL;
}

/* Run one target; the frame, or {refId, error}. */
static json_t *run_target(wh *w, json_t *t, const vars_t *vs, int timeout_ms)
{
    const char *ref = json_string_value(json_object_get(t, "refId"));
    const char *sql = json_string_value(json_object_get(t, "rawSql"));
    if (!sql)
        sql = json_string_value(json_object_get(t, "rawSQL")); /* the Redshift plugin */
    if (!sql)
        return json_pack("{s:s, s:s}", "refId", ref ? ref : "", "error",
                         "no rawSql in this target (only SQL targets are served)");
    gf_var gv[64];
    as_gf_vars(vs, gv);
    gf_query q;
    bp_err err = {0};
    if (gf_interpolate(sql, gv, vs->n, &q, &err) != BP_OK)
        return json_pack("{s:s, s:s}", "refId", ref ? ref : "", "error", err.msg);
    web_rows f = {NULL, json_array(), 0, 5000, 0, false, false};
    wh_user_query uq = {5000, timeout_ms, q.n, (const char *const *)q.params};
    bool more = false;
    bp_status st = wh_query_user(w, q.sql.p, &uq, web_rows_add, &f, &more, &err);
    f.truncated = f.truncated || more;
    gf_query_free(&q);
    if (st != BP_OK) {
        json_decref(f.cols);
        json_decref(f.rows);
        return json_pack("{s:s, s:s}", "refId", ref ? ref : "", "error", err.msg);
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "refId", ref ? ref : "", "columns",
                     f.cols ? f.cols : json_array(), "rows", f.rows, "truncated", f.truncated);
}

/* GET /api/dashboards/UID and /api/dashboards/UID/panels/ID/query */
enum MHD_Result web_dashboard(web_srv *s, const web_req *r, const char *rest)
{
    char uid[256];
    const char *slash = strchr(rest, '/');
    snprintf(uid, sizeof uid, "%.*s", (int)(slash ? slash - rest : (long)strlen(rest)), rest);
    long long panel = -1;
    if (slash) {
        int64_t id;
        const char *p = slash + 1, *q = strstr(p, "/query");
        if (strncmp(p, "panels/", 7) != 0 || !q || strcmp(q, "/query") != 0 ||
            !num_parse_i64(p + 7, (size_t)(q - p - 7), &id))
            return web_error(r, 404, "no such page or API");
        panel = id;
    }
    find_ctx f = {uid, NULL};
    each_dashboard(s, find_one, &f);
    if (!f.found)
        return web_error(r, 404, "no such dashboard");
    json_t *p = panel >= 0 ? find_panel(f.found, panel) : NULL;
    if (panel >= 0 && !p) {
        json_decref(f.found);
        return web_error(r, 404, "no such panel");
    }
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w) {
        json_decref(f.found);
        return res;
    }
    vars_t vs = {NULL, 0};
    resolve_vars(w, f.found, r, &vs);
    json_t *out;
    if (panel < 0)
        out = json_pack("{s:O, s:o}", "dashboard", f.found, "variables", vars_json(&vs));
    else {
        json_t *frames = json_array();
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(p, "targets"), i, t)
            if (!json_is_true(json_object_get(t, "hide")))
                json_array_append_new(frames, run_target(w, t, &vs, s->o->statement_timeout_ms));
        out = json_pack("{s:I, s:s?, s:o}", "panel", (json_int_t)panel, "type",
                        json_string_value(json_object_get(p, "type")), "frames", frames);
    }
    web_close_ro(s, w);
    vars_free(&vs);
    json_decref(f.found);
    return web_json(r, 200, out);
}
