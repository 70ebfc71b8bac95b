/* dash.c: Grafana dashboard JSON files: listing, variables and panel
 * queries. Every datasource in a file maps to the served warehouse; every
 * variable value is a bound parameter (interp.c). */
#include "web_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/num.h"
#include "gtime.h"
#include "interp.h"
#include "../core/fs.h"

/* ---- finding dashboards --------------------------------------------------------------- */

/* Panels without an id (older exports, hand-written files) get the next
 * free ones, in the order they appear: stable for the same file. */
static void number_panels(json_t *d)
{
    json_int_t top = 0;
    size_t i, k;
    json_t *p, *c;
    json_array_foreach(json_object_get(d, "panels"), i, p) {
        if (json_integer_value(json_object_get(p, "id")) > top)
            top = json_integer_value(json_object_get(p, "id"));
        json_array_foreach(json_object_get(p, "panels"), k, c)
            if (json_integer_value(json_object_get(c, "id")) > top)
                top = json_integer_value(json_object_get(c, "id"));
    }
    json_array_foreach(json_object_get(d, "panels"), i, p) {
        if (!json_is_integer(json_object_get(p, "id")))
            json_object_set_new(p, "id", json_integer(++top));
        json_array_foreach(json_object_get(p, "panels"), k, c)
            if (!json_is_integer(json_object_get(c, "id")))
                json_object_set_new(c, "id", json_integer(++top));
    }
}

/* Why a parsed file is no dashboard this server reads, or NULL. */
static const char *refusal(json_t *j)
{
    const char *api = json_string_value(json_object_get(j, "apiVersion"));
    if ((api && strstr(api, "dashboard.grafana.app/v2")) ||
        json_is_object(json_object_get(json_object_get(j, "spec"), "elements")))
        return "a Grafana 12 dashboard v2 resource (elements and layout): bookpipe reads "
               "Grafana's classic dashboard JSON; in Grafana, Export > Export as JSON with "
               "\"Export the dashboard using the v2 resource\" turned off";
    if (!json_is_object(j))
        return "not a JSON object";
    if (!json_is_array(json_object_get(j, "panels")))
        return json_is_array(json_object_get(j, "rows"))
                   ? "a Grafana 4 dashboard (rows holding panels): open and save it in "
                     "Grafana 5 or later, which writes the panels list"
                   : "no \"panels\" list: not a Grafana dashboard";
    return NULL;
}

/* Grafana exports either the dashboard or {"dashboard": {...}, "meta": ...}.
 * NULL with why (a parse error with its line, or the refusal). */
static json_t *load_dashboard(const char *path, char *uid, size_t n, char *why, size_t wn)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    /* no uid: the file name without .json */
    snprintf(uid, n, "%.*s", (int)(strlen(b) > 5 ? strlen(b) - 5 : strlen(b)), b);
    if (!j) {
        snprintf(why, wn, "line %d, column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    json_t *d = json_object_get(j, "dashboard");
    if (json_is_object(d)) {
        json_incref(d);
        json_decref(j);
        j = d;
    }
    const char *no = refusal(j);
    if (no) {
        snprintf(why, wn, "%s", no);
        json_decref(j);
        return NULL;
    }
    const char *u = json_string_value(json_object_get(j, "uid"));
    /* a uid too long for a URL here is no dashboard of ours */
    if (u && *u && !fs_pathf(uid, n, "%s", u)) {
        snprintf(why, wn, "its uid is longer than %zu bytes", n - 1);
        json_decref(j);
        return NULL;
    }
    number_panels(j);
    return j;
}

/* fn gets each dashboard file: d parsed (fn takes the reference), or NULL
 * and why it is refused. Returns true to stop. */
typedef bool (*dash_fn)(void *ctx, const char *path, const char *uid, json_t *d,
                        const char *why);

/* Call fn for each dashboard (the project's, then --dashboards'); stops
 * when fn returns true. */
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
                char path[4600], uid[256], why[400] = "";
                json_t *d = NULL;
                if (fs_pathf(path, sizeof path, "%s/%s", dirs[i], name))
                    d = load_dashboard(path, uid, sizeof uid, why, sizeof why);
                else
                    snprintf(why, sizeof why, "its path is too long");
                stop = fn(ctx, path, uid, d, why);
            }
            free(ents[k]);
        }
        free(ents);
        if (stop)
            return;
    }
}

static bool list_one(void *ctx, const char *path, const char *uid, json_t *d, const char *why)
{
    const char *file = strrchr(path, '/');
    file = file ? file + 1 : path;
    if (!d) { /* listed with its reason, so that no file is silently left out */
        json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:s}", "uid", uid, "title", file,
                                             "file", file, "error", why));
        return false;
    }
    const char *title = json_string_value(json_object_get(d, "title"));
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:O*}", "uid", uid, "title",
                                         title ? title : uid, "file", file, "tags",
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

static bool find_one(void *ctx, const char *path, const char *uid, json_t *d, const char *why)
{
    (void)path;
    (void)why;
    find_ctx *f = ctx;
    if (!d)
        return false;
    if (strcmp(uid, f->uid) != 0) {
        json_decref(d);
        return false;
    }
    f->found = d;
    return true;
}

/* ---- the time range ------------------------------------------------------------------------ */

static const char *url_value(const web_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, key);
}

/* The dashboard's range: from/to in the URL, else its "time", else the
 * last 6 hours (Grafana's default). false with why when the URL's is bad. */
static bool dash_range(json_t *dash, const web_req *r, int64_t now, gf_time *t, char *why,
                       size_t wn)
{
    json_t *tm = json_object_get(dash, "time");
    const char *from = url_value(r, "from"), *to = url_value(r, "to");
    if (!from)
        from = json_string_value(json_object_get(tm, "from"));
    if (!to)
        to = json_string_value(json_object_get(tm, "to"));
    if (!from)
        from = "now-6h";
    if (!to)
        to = "now";
    memset(t, 0, sizeof *t);
    t->dashboard = json_string_value(json_object_get(dash, "title"));
    if (!gf_time_parse(from, now, false, &t->from_ms) || !gf_time_parse(to, now, true, &t->to_ms)) {
        snprintf(why, wn, "the time range %.60s to %.60s is not one Grafana reads (now-6h, "
                 "now/d, epoch milliseconds, 2024-01-31T10:00:00Z)", from, to);
        return false;
    }
    t->interval_ms = gf_interval_calc(t->from_ms, t->to_ms, 1000, 1);
    return true;
}

/* A panel's own range: relative time (timeFrom), then time shift
 * (timeShift), as Grafana applies them; then its interval for the width
 * it is drawn at (maxDataPoints), never under its min interval. */
static void panel_range(json_t *p, const web_req *r, int64_t now, gf_time *t)
{
    const char *rel = json_string_value(json_object_get(p, "timeFrom"));
    const char *shift = json_string_value(json_object_get(p, "timeShift"));
    int64_t ms;
    if (rel && !strncmp(rel, "now", 3)) {
        int64_t a, b;
        if (gf_time_parse(rel, now, false, &a) && gf_time_parse(rel, now, true, &b))
            t->from_ms = a, t->to_ms = b;
    } else if (rel && gf_interval_parse(rel, &ms)) {
        t->from_ms = now - ms;
        t->to_ms = now;
    }
    if (shift && gf_interval_parse(shift, &ms)) {
        t->from_ms -= ms;
        t->to_ms -= ms;
    }
    int64_t points = json_integer_value(json_object_get(p, "maxDataPoints"));
    const char *w = url_value(r, "maxDataPoints");
    if (points <= 0 && w)
        points = strtoll(w, NULL, 10);
    if (points <= 0 || points > 100000)
        points = 1000;
    const char *min = json_string_value(json_object_get(p, "interval"));
    int64_t low = 1;
    if (min && *min == '>')
        min++;
    if (!min || !gf_interval_parse(min, &low))
        low = 1;
    t->interval_ms = gf_interval_calc(t->from_ms, t->to_ms, points, low);
}

static json_t *range_json(const gf_time *t)
{
    char iv[32];
    gf_interval_format(t->interval_ms, iv, sizeof iv);
    return json_pack("{s:I, s:I, s:I, s:s}", "from", (json_int_t)t->from_ms, "to",
                     (json_int_t)t->to_ms, "interval_ms", (json_int_t)t->interval_ms,
                     "interval", iv);
}

/* ---- variables ---------------------------------------------------------------------------- */

typedef struct {
    char name[128];
    json_t *options;   /* array of strings */
    json_t *current;   /* array of strings */
    const char **vals; /* the values queries see (into current, or auto) */
    int n;
    char auto_val[32]; /* an interval variable on "auto": the interval */
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

/* Options of a query variable: its SQL (which may use earlier variables
 * and the range). */
static void query_options(wh *w, json_t *v, const vars_t *vs, const gf_time *t, json_t *opts)
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
    if (gf_interpolate(sql, gv, vs->n, t, &gq, &err) != BP_OK)
        return;
    wh_user_query uq = {10000, 30000, gq.n, (const char *const *)gq.params};
    /* a variable whose query fails offers no options; the panels using it
     * show the database's error */
    if (wh_query_user(w, gq.sql.p, &uq, first_col, opts, NULL, &err) != BP_OK)
        json_array_clear(opts);
    gf_query_free(&gq);
}

/* "a,b , c" or "text : value, ..." (custom); "1m,10m,1h" (interval). */
static void list_options(json_t *v, json_t *opts)
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
        if (l)
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

/* The options of one variable, by its type. */
static void var_options(wh *w, json_t *v, const char *type, const vars_t *vs, const gf_time *t,
                        json_t *opts)
{
    if (!strcmp(type, "query"))
        query_options(w, v, vs, t, opts);
    else if (!strcmp(type, "custom"))
        list_options(v, opts);
    else if (!strcmp(type, "interval")) {
        if (json_is_true(json_object_get(v, "auto")))
            json_array_append_new(opts, json_string("auto"));
        list_options(v, opts);
    } else if (!strcmp(type, "datasource")) {
        /* every data source is the served warehouse: one option, named as
         * the file names it so that the panels' references still read */
        const char *cur = json_string_value(
            json_object_get(json_object_get(v, "current"), "text"));
        json_array_append_new(opts, json_string(cur && *cur ? cur : "bookpipe"));
    } else if (!strcmp(type, "constant") || !strcmp(type, "textbox")) {
        const char *q = json_string_value(json_object_get(v, "query"));
        json_array_append_new(opts, json_string(q ? q : ""));
    }
    /* adhoc: SQL data sources do not apply ad hoc filters in Grafana
     * either; it is listed with no options */
}

/* Are all of vals among opts ($__all and All count as present)? */
static bool all_in(json_t *vals, json_t *opts)
{
    size_t i, k;
    json_t *v, *o;
    json_array_foreach(vals, i, v) {
        const char *s = json_string_value(v);
        bool found = s && (!strcmp(s, "$__all") || !strcmp(s, "All"));
        json_array_foreach(opts, k, o) if (!found && s && json_string_value(o) &&
                                           !strcmp(s, json_string_value(o))) found = true;
        if (!found)
            return false;
    }
    return true;
}

/* The selected values: the URL's, else the file's current, else the first
 * option; All expands to allValue or every option. */
static json_t *var_current(json_t *v, const char *type, const web_req *r, json_t *opts)
{
    url_ctx u;
    snprintf(u.key, sizeof u.key, "var-%s", json_string_value(json_object_get(v, "name")));
    u.vals = json_array();
    MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, url_arg, &u);
    if (!strcmp(type, "constant") || !json_array_size(u.vals)) {
        json_decref(u.vals);
        u.vals = strcmp(type, "constant") ? default_current(v) : json_copy(opts);
        /* a saved value the options no longer hold (the file was saved
         * against other data) gives way to the first option, as Grafana
         * does when it refreshes a variable */
        if (!strcmp(type, "query") && json_array_size(opts) && !all_in(u.vals, opts))
            json_array_clear(u.vals);
    }
    const char *first = json_string_value(json_array_get(u.vals, 0));
    bool all = first && (!strcmp(first, "$__all") || !strcmp(first, "All")) &&
               json_is_true(json_object_get(v, "includeAll"));
    if (all) {
        json_decref(u.vals);
        const char *allv = json_string_value(json_object_get(v, "allValue"));
        u.vals = allv && *allv ? json_pack("[s]", allv) : json_copy(opts);
    } else if (!strcmp(type, "datasource") || (!json_array_size(u.vals) && json_array_size(opts))) {
        json_array_clear(u.vals);
        json_array_append_new(u.vals, json_string(json_string_value(json_array_get(opts, 0))));
    }
    return u.vals;
}

/* Resolve every templating variable, in order (later ones may use earlier). */
static bool resolve_vars(wh *w, json_t *dash, const web_req *r, const gf_time *t, vars_t *vs)
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
        var_options(w, v, type, vs, t, s->options);
        s->current = var_current(v, type, r, s->options);
        const char *c0 = json_string_value(json_array_get(s->current, 0));
        if (c0 && !strcmp(type, "interval") && !strncmp(c0, "$__auto_interval", 16))
            json_array_set_new(s->current, 0, json_string("auto"));
        s->n = (int)json_array_size(s->current);
        s->vals = calloc((size_t)s->n + 1, sizeof *s->vals);
        for (int k = 0; s->vals && k < s->n; k++)
            s->vals[k] = json_string_value(json_array_get(s->current, (size_t)k));
        if (!s->vals)
            s->n = 0;
        /* Grafana saves an interval variable left on auto as $__auto_interval_NAME */
        if (s->n && !strcmp(type, "interval") && !strcmp(s->vals[0], "auto")) {
            /* Grafana's auto: the range in auto_count steps, never under auto_min */
            json_int_t count = json_integer_value(json_object_get(v, "auto_count"));
            const char *amin = json_string_value(json_object_get(v, "auto_min"));
            int64_t low;
            if (!amin || !gf_interval_parse(amin, &low))
                low = 10000;
            gf_interval_format(gf_interval_calc(t->from_ms, t->to_ms, count > 0 ? count : 30, low),
                               s->auto_val, sizeof s->auto_val);
            s->vals[0] = s->auto_val;
        }
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

static json_t *target_error(const char *ref, const char *msg, const char *sql)
{
    return json_pack("{s:s, s:s, s:{s:s*}}", "refId", ref ? ref : "", "error", msg, "meta",
                     "executedQueryString", sql);
}

/* What the frame needs besides its rows: its format, the fill, the query
 * as run (with its parameters) for Inspect. */
static json_t *frame_meta(json_t *t, const gf_query *q)
{
    static const char *const fills[] = {"none", "value", "null", "previous"};
    const char *format = json_string_value(json_object_get(t, "format"));
    json_t *params = json_array();
    for (int i = 0; i < q->n; i++)
        json_array_append_new(params, json_string(q->params[i]));
    json_t *m = json_pack("{s:s*, s:s, s:o}", "format", format, "executedQueryString", q->sql.p,
                          "params", params);
    if (q->fill != GF_FILL_NONE)
        json_object_set_new(m, "fill", json_pack("{s:s, s:f, s:I}", "mode", fills[q->fill],
                                                 "value", q->fill_value, "interval_ms",
                                                 (json_int_t)q->fill_interval_ms));
    return m;
}

/* Run one target; the frame, or {refId, error}. */
static json_t *run_target(wh *w, json_t *t, const vars_t *vs, const gf_time *tm, int timeout_ms)
{
    const char *ref = json_string_value(json_object_get(t, "refId"));
    const char *sql = json_string_value(json_object_get(t, "rawSql"));
    if (!sql)
        sql = json_string_value(json_object_get(t, "rawSQL")); /* the Redshift plugin */
    if (!sql)
        return target_error(ref, "no rawSql in this target (only SQL targets are served)", NULL);
    gf_var gv[64];
    as_gf_vars(vs, gv);
    gf_query q;
    bp_err err = {0};
    if (gf_interpolate(sql, gv, vs->n, tm, &q, &err) != BP_OK)
        return target_error(ref, err.msg, NULL);
    web_rows f = {NULL, json_array(), 0, 5000, 0, false, false};
    wh_user_query uq = {5000, timeout_ms, q.n, (const char *const *)q.params};
    bool more = false;
    bp_status st = wh_query_user(w, q.sql.p, &uq, web_rows_add, &f, &more, &err);
    f.truncated = f.truncated || more;
    json_t *out;
    if (st != BP_OK) {
        json_decref(f.cols);
        json_decref(f.rows);
        out = target_error(ref, err.msg, q.sql.p);
    } else
        out = json_pack("{s:s, s:o, s:o, s:b, s:o}", "refId", ref ? ref : "", "columns",
                        f.cols ? f.cols : json_array(), "rows", f.rows, "truncated", f.truncated,
                        "meta", frame_meta(t, &q));
    gf_query_free(&q);
    return out;
}

static json_t *panel_frames(web_srv *s, wh *w, json_t *p, const web_req *r, const vars_t *vs,
                            const gf_time *dash_t, int64_t now)
{
    gf_time t = *dash_t;
    panel_range(p, r, now, &t);
    json_t *frames = json_array();
    size_t i;
    json_t *tg;
    json_array_foreach(json_object_get(p, "targets"), i, tg)
        if (!json_is_true(json_object_get(tg, "hide")))
            json_array_append_new(frames, run_target(w, tg, vs, &t, s->o->statement_timeout_ms));
    return json_pack("{s:O, s:s?, s:o, s:o}", "panel", json_object_get(p, "id"), "type",
                     json_string_value(json_object_get(p, "type")), "frames", frames, "range",
                     range_json(&t));
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
    int64_t now = (int64_t)cron_now() * 1000;
    gf_time t;
    char why[512];
    if (!dash_range(f.found, r, now, &t, why, sizeof why)) {
        json_decref(f.found);
        return web_error(r, 400, why);
    }
    enum MHD_Result res;
    wh *w = web_open_ro(s, r, &res);
    if (!w) {
        json_decref(f.found);
        return res;
    }
    vars_t vs = {NULL, 0};
    resolve_vars(w, f.found, r, &t, &vs);
    json_t *out;
    if (panel < 0)
        out = json_pack("{s:O, s:o, s:o}", "dashboard", f.found, "variables", vars_json(&vs),
                        "range", range_json(&t));
    else
        out = panel_frames(s, w, p, r, &vs, &t, now);
    web_close_ro(s, w);
    vars_free(&vs);
    json_decref(f.found);
    return web_json(r, 200, out);
}
