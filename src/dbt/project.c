/* project.c: reading a dbt project (dbt_project.yml, profiles.yml, models,
 * properties YAML, seeds, singular tests) into nodes and their DAG. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../jinja/jinja.h"
#include "dbt_int.h"

/* ---- memory: everything lives until proj_free ------------------------------ */

static void *palloc(project *p, size_t n) { return arena_alloc(&p->mem, n); }

const char *proj_str(project *p, const char *s, size_t n) { return arena_strndup(&p->mem, s, n); }

const char *proj_strf(project *p, const char *fmt, ...)
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

void proj_free(project *p)
{
    for (int i = 0; i < p->nnodes; i++) {
        free(p->nodes[i].deps);
        free(p->nodes[i].compiled);
        jinja_tpl_free(p->nodes[i].tpl);
    }
    free(p->nodes);
    yml_free(p->project_doc);
    yml_free(p->profiles_doc);
    yml_free(p->vars_doc);
    for (int i = 0; i < p->ndocs; i++)
        yml_free(p->docs[i]);
    free(p->docs);
    arena_free(&p->mem);
}

static int add_node(project *p, node_type t, const char *name, bp_err *err)
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
    n->cfg.enabled = true;
    return p->nnodes++;
}

int proj_find(const project *p, node_type t, const char *name)
{
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i].type == t && strcmp(p->nodes[i].name, name) == 0)
            return i;
    return -1;
}

bp_status proj_add_dep(project *p, int child, int parent, bp_err *err)
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

/* ---- configs ------------------------------------------------------------------ */

static const char *const config_keys[] = {
    "materialized", "schema", "enabled", "tags", "unique_key", "severity", "where",
    "column_types", "database", "alias", "docs", "persist_docs", "full_refresh", "meta",
    "pre-hook", "post-hook", "quote_columns", "incremental_strategy", "on_schema_change",
    "grants", "contract", "delimiter", "store_failures", "limit", "warn_if", "error_if"};

static bool is_config_key(const char *k)
{
    if (k[0] == '+')
        return true;
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++)
        if (strcmp(k, config_keys[i]) == 0)
            return true;
    return false;
}

static const char *scalar(const yml_node *v)
{
    return v && v->kind == YML_SCALAR && !yml_is_null(v) ? v->str : NULL;
}

/* Apply one config key/value (from YAML) to c. */
static void apply_config(node_config *c, const char *key, const yml_node *v)
{
    if (key[0] == '+')
        key++;
    if (strcmp(key, "materialized") == 0 && scalar(v))
        c->materialized = scalar(v);
    else if (strcmp(key, "schema") == 0)
        c->schema = scalar(v);
    else if (strcmp(key, "enabled") == 0)
        c->enabled = yml_bool(v, true);
    else if (strcmp(key, "unique_key") == 0)
        c->unique_key = scalar(v);
    else if (strcmp(key, "severity") == 0 && scalar(v))
        c->severity = scalar(v);
    else if (strcmp(key, "where") == 0)
        c->where = scalar(v);
    else if (strcmp(key, "column_types") == 0 && v && v->kind == YML_MAP)
        c->column_types = v;
    else if (strcmp(key, "tags") == 0 && v) {
        /* tags add up along the tree, as in dbt */
        if (v->kind == YML_SCALAR && c->ntags < 16)
            c->tags[c->ntags++] = v->str;
        for (size_t i = 0; v->kind == YML_SEQ && i < v->n && c->ntags < 16; i++)
            if (scalar(v->items[i]))
                c->tags[c->ntags++] = v->items[i]->str;
    }
}

static void apply_config_map(node_config *c, const yml_node *m)
{
    for (size_t i = 0; m && m->kind == YML_MAP && i < m->n; i++)
        if (is_config_key(m->keys[i]))
            apply_config(c, m->keys[i], m->items[i]);
}

/* Walk a dbt_project.yml tree (models:/seeds:/data_tests:) along the
 * node's fqn, applying configs: deeper levels win. */
static void apply_tree(project *p, node *n, const char *tree_key)
{
    const yml_node *t = yml_get(yml_root(p->project_doc), tree_key);
    if (!t && strcmp(tree_key, "data_tests") == 0)
        t = yml_get(yml_root(p->project_doc), "tests");
    t = yml_get(t, p->name);
    for (int level = 1; t; level++) {
        apply_config_map(&n->cfg, t);
        if (level >= n->nfqn)
            break;
        t = yml_get(t, n->fqn[level]);
    }
}

/* ---- files ------------------------------------------------------------------------ */

typedef bp_status (*file_fn)(project *p, const char *full, const char *rel, bp_err *err);

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Call fn for every file under dir (sorted, so runs are reproducible). */
static bp_status walk(project *p, const char *rel, file_fn fn, bp_err *err)
{
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", p->dir, rel);
    DIR *d = opendir(full);
    if (!d)
        return errno == ENOENT ? BP_OK
                               : bp_fail(err, BP_EINPUT, "%s: cannot read: %s", full,
                                         strerror(errno));
    const char *names[4096];
    int n = 0;
    struct dirent *e;
    bp_status st = BP_OK;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.')
            names[n++] = proj_str(p, e->d_name, strlen(e->d_name));
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && st == BP_OK; i++) {
        char sub[4096], subfull[8200];
        snprintf(sub, sizeof sub, "%s/%s", rel, names[i]);
        snprintf(subfull, sizeof subfull, "%s/%s", p->dir, sub);
        struct stat sb;
        if (stat(subfull, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            st = walk(p, sub, fn, err);
        else
            st = fn(p, proj_str(p, subfull, strlen(subfull)), proj_str(p, sub, strlen(sub)), err);
    }
    return st;
}

static bp_status read_file(project *p, const char *path, const char **out, size_t *n,
                           bp_err *err)
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
    fclose(f);
    *out = proj_str(p, b.p ? b.p : "", b.len);
    *n = b.len;
    buf_free(&b);
    return *out ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

/* fqn: project, the folders below the resource path, the name. */
static void set_fqn(project *p, node *n, const char *rel)
{
    n->fqn[n->nfqn++] = p->name;
    const char *s = strchr(rel, '/');
    while (s) {
        const char *next = strchr(s + 1, '/');
        if (!next)
            break;
        if (n->nfqn < 15)
            n->fqn[n->nfqn++] = proj_str(p, s + 1, (size_t)(next - s - 1));
        s = next;
    }
    n->fqn[n->nfqn++] = n->name;
}

static const char *stem(project *p, const char *rel, const char *ext)
{
    const char *b = strrchr(rel, '/');
    b = b ? b + 1 : rel;
    return proj_str(p, b, strlen(b) - strlen(ext));
}

/* A node for a file: its ids, fqn and the project tree's configs. */
static node *file_node(project *p, node_type t, const char *name, const char *full,
                       const char *rel, const char *materialized, const char *tree, bp_err *err)
{
    static const char *const kinds[] = {"model", "seed", "test", "source"};
    int i = add_node(p, t, name, err);
    if (i < 0)
        return NULL;
    node *n = &p->nodes[i];
    n->path = rel;
    n->file = full;
    n->unique_id = proj_strf(p, "%s.%s.%s", kinds[t], p->name, name);
    set_fqn(p, n, rel);
    n->cfg.materialized = materialized;
    apply_tree(p, n, tree);
    return n;
}

static bp_status on_model_file(project *p, const char *full, const char *rel, bp_err *err)
{
    if (ends_with(rel, ".yml") || ends_with(rel, ".yaml")) {
        if (p->ndocs == p->capdocs) {
            int cap = p->capdocs ? p->capdocs * 2 : 64;
            yml_doc **d = realloc(p->docs, (size_t)cap * sizeof *d);
            if (!d)
                return bp_fail(err, BP_ENOMEM, "out of memory reading %s", full);
            p->docs = d;
            p->capdocs = cap;
        }
        if (yml_load(full, &p->docs[p->ndocs], err) != BP_OK)
            return BP_EINPUT;
        p->ndocs++;
        return BP_OK;
    }
    if (!ends_with(rel, ".sql"))
        return BP_OK;
    const char *name = stem(p, rel, ".sql");
    if (proj_find(p, NT_MODEL, name) >= 0)
        return bp_fail(err, BP_EINPUT, "%s: a second model named '%s' (model names are unique)",
                       full, name);
    node *n = file_node(p, NT_MODEL, name, full, rel, "view", "models", err);
    return n ? read_file(p, full, &n->raw, &n->raw_n, err) : BP_ENOMEM;
}

static bp_status on_seed_file(project *p, const char *full, const char *rel, bp_err *err)
{
    if (!ends_with(rel, ".csv"))
        return BP_OK;
    return file_node(p, NT_SEED, stem(p, rel, ".csv"), full, rel, "seed", "seeds", err)
               ? BP_OK : BP_ENOMEM;
}

static bp_status on_test_file(project *p, const char *full, const char *rel, bp_err *err)
{
    if (!ends_with(rel, ".sql") || strstr(rel, "/generic/"))
        return BP_OK;
    node *n = file_node(p, NT_TEST, stem(p, rel, ".sql"), full, rel, "test", "data_tests", err);
    if (!n)
        return BP_ENOMEM;
    if (!n->cfg.severity) /* unless the data_tests: tree set one */
        n->cfg.severity = "error";
    return read_file(p, full, &n->raw, &n->raw_n, err);
}

static bp_status on_macro_file(project *p, const char *full, const char *rel, bp_err *err)
{
    (void)full;
    (void)err;
    p->macro_files += ends_with(rel, ".sql");
    return BP_OK;
}

/* The folders listed under key (model-paths, ...), or the default. */
static bp_status walk_paths(project *p, const char *key, const char *dflt, file_fn fn,
                            bp_err *err)
{
    const yml_node *v = yml_get(yml_root(p->project_doc), key);
    if (!v)
        return walk(p, dflt, fn, err);
    for (size_t i = 0; v->kind == YML_SEQ && i < v->n; i++)
        if (scalar(v->items[i]) && walk(p, v->items[i]->str, fn, err) != BP_OK)
            return BP_EINPUT;
    return BP_OK;
}

/* ---- properties: sources, models, columns, tests ------------------------------------ */

static const yml_node *tests_of(const yml_node *m)
{
    const yml_node *t = yml_get(m, "data_tests");
    return t ? t : yml_get(m, "tests");
}

/* Name a generic test the way dbt does: not_null_<model>_<column>. */
static const char *test_name(project *p, const char *kind, const char *model, const char *col,
                             const yml_node *args)
{
    buf b = {0};
    buf_printf(&b, "%s_%s%s%s", kind, model, col ? "_" : "", col ? col : "");
    if (strcmp(kind, "accepted_values") == 0) {
        const yml_node *vals = yml_get(args, "values");
        for (size_t i = 0; vals && vals->kind == YML_SEQ && i < vals->n; i++)
            if (scalar(vals->items[i]))
                buf_printf(&b, "__%s", vals->items[i]->str);
    } else if (strcmp(kind, "relationships") == 0) {
        const char *to = yml_get_str(args, "to", ""), *field = yml_get_str(args, "field", "");
        buf_printf(&b, "__%s__", field);
        bool gap = false; /* runs of other characters become one '_', as in dbt */
        for (const char *s = to; *s; s++) {
            bool word = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                        (*s >= '0' && *s <= '9') || *s == '_';
            if (word)
                buf_addc(&b, *s);
            else if (!gap)
                buf_addc(&b, '_');
            gap = !word;
        }
    }
    for (size_t i = 0; i < b.len; i++) /* names are identifiers */
        if (b.p[i] == ' ' || b.p[i] == '\'' || b.p[i] == '"' || b.p[i] == '.')
            b.p[i] = '_';
    const char *s = proj_str(p, b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

static bp_status add_generic_test(project *p, int model, const char *col, const yml_node *t,
                                  const char *file, bp_err *err)
{
    const char *kind;
    const yml_node *args = NULL, *conf = NULL;
    if (t->kind == YML_SCALAR) {
        kind = t->str;
    } else if (t->kind == YML_MAP && t->n == 1) {
        kind = t->keys[0];
        const yml_node *body = t->items[0];
        args = yml_get(body, "arguments");
        if (!args)
            args = body; /* older form: arguments at the top */
        conf = yml_get(body, "config");
        if (!conf)
            conf = body;
    } else {
        return bp_fail(err, BP_EINPUT, "%s:%d: a test is a name or a one-key mapping", file,
                       t->line);
    }
    static const char *const kinds[] = {"not_null", "unique", "accepted_values", "relationships"};
    bool known = false;
    for (int k = 0; k < 4; k++)
        known = known || strcmp(kind, kinds[k]) == 0;
    if (!known)
        return bp_fail(err, BP_EINPUT, "%s:%d: test '%s' is not supported (supported: not_null, "
                       "unique, accepted_values, relationships and singular tests)",
                       file, t->line, kind);
    if (!col)
        return bp_fail(err, BP_EINPUT, "%s:%d: test '%s' needs a column", file, t->line, kind);
    const char *name = test_name(p, kind, p->nodes[model].name, col, args);
    int i = add_node(p, NT_TEST, name, err);
    if (i < 0)
        return BP_ENOMEM;
    /* taken after add_node, which may move the node array */
    const node *m = &p->nodes[model];
    node *n = &p->nodes[i];
    n->test_kind = kind;
    n->attached = model;
    n->column = col;
    n->test_args = args;
    n->path = p->nodes[model].path;
    n->file = file;
    n->unique_id = proj_strf(p, "test.%s.%s", p->name, name);
    n->fqn[n->nfqn++] = p->name;
    n->fqn[n->nfqn++] = name;
    n->cfg.materialized = "test";
    n->cfg.severity = "error";
    apply_tree(p, n, "data_tests");
    apply_config_map(&n->cfg, conf);
    n->cfg.tags[0] = NULL;
    /* a test carries its model's tags, so tag: selection finds it */
    n->cfg.ntags = 0;
    for (int k = 0; k < m->cfg.ntags && n->cfg.ntags < 16; k++)
        n->cfg.tags[n->cfg.ntags++] = m->cfg.tags[k];
    return proj_add_dep(p, i, model, err);
}

static bp_status add_tests(project *p, int model, const char *col, const yml_node *tests,
                           const char *file, bp_err *err)
{
    for (size_t i = 0; tests && tests->kind == YML_SEQ && i < tests->n; i++)
        if (add_generic_test(p, model, col, tests->items[i], file, err) != BP_OK)
            return BP_EINPUT;
    return BP_OK;
}

static bp_status load_sources(project *p, const yml_node *srcs, const char *file, bp_err *err)
{
    for (size_t i = 0; srcs && srcs->kind == YML_SEQ && i < srcs->n; i++) {
        const yml_node *s = srcs->items[i];
        const char *sname = yml_get_str(s, "name", NULL);
        if (!sname)
            return bp_fail(err, BP_EINPUT, "%s:%d: a source needs a name", file, s->line);
        const char *schema = yml_get_str(s, "schema", sname);
        if (strstr(schema, "{{")) { /* dbt renders Jinja in properties */
            buf b = {0};
            if (compile_string(p, file, schema, &b, -1, err) != BP_OK) {
                buf_free(&b);
                return BP_EINPUT;
            }
            schema = proj_str(p, b.p ? b.p : "", b.len);
            buf_free(&b);
        }
        const char *db = yml_get_str(s, "database", NULL);
        const yml_node *tables = yml_get(s, "tables");
        for (size_t k = 0; tables && tables->kind == YML_SEQ && k < tables->n; k++) {
            const yml_node *t = tables->items[k];
            const char *tname = yml_get_str(t, "name", NULL);
            if (!tname)
                return bp_fail(err, BP_EINPUT, "%s:%d: a source table needs a name", file,
                               t->line);
            const char *ident = yml_get_str(t, "identifier", tname);
            int n = add_node(p, NT_SOURCE, proj_strf(p, "%s.%s", sname, tname), err);
            if (n < 0)
                return BP_ENOMEM;
            node *nd = &p->nodes[n];
            nd->src_name = sname;
            nd->tbl_name = tname;
            nd->path = file;
            nd->file = file;
            nd->unique_id = proj_strf(p, "source.%s.%s.%s", p->name, sname, tname);
            nd->schema = schema;
            buf rel = {0};
            if (db && (buf_add_ident(&rel, db) || buf_addc(&rel, '.')))
                return bp_fail(err, BP_ENOMEM, "out of memory");
            if (buf_add_ident(&rel, schema) || buf_addc(&rel, '.') || buf_add_ident(&rel, ident))
                return bp_fail(err, BP_ENOMEM, "out of memory");
            nd->relation = proj_str(p, rel.p, rel.len);
            buf_free(&rel);
            nd->status = ST_SUCCESS;
        }
    }
    return BP_OK;
}

/* models: and seeds: entries of a properties file: config, columns, tests. */
static void load_entries(project *p, const yml_node *list, node_type t, const char *file)
{
    for (size_t i = 0; list && list->kind == YML_SEQ && i < list->n; i++) {
        const yml_node *m = list->items[i];
        const char *name = yml_get_str(m, "name", NULL);
        int k = name ? proj_find(p, t, name) : -1;
        if (k < 0) {
            fprintf(stderr, "bookpipe dbt: warning: %s:%d: no %s named '%s'; its properties are "
                    "ignored\n", file, m->line, t == NT_SEED ? "seed" : "model",
                    name ? name : "?");
            continue;
        }
        apply_config_map(&p->nodes[k].cfg, yml_get(m, "config"));
    }
}

/* Tests after configs: a disabled model gets none. */
static bp_status load_entry_tests(project *p, const yml_node *list, node_type t,
                                  const char *file, bp_err *err)
{
    for (size_t i = 0; list && list->kind == YML_SEQ && i < list->n; i++) {
        const yml_node *m = list->items[i];
        const char *name = yml_get_str(m, "name", NULL);
        int k = name ? proj_find(p, t, name) : -1;
        if (k < 0 || !p->nodes[k].cfg.enabled)
            continue;
        if (add_tests(p, k, NULL, tests_of(m), file, err) != BP_OK)
            return BP_EINPUT;
        const yml_node *cols = yml_get(m, "columns");
        for (size_t c = 0; cols && cols->kind == YML_SEQ && c < cols->n; c++) {
            const char *col = yml_get_str(cols->items[c], "name", NULL);
            if (add_tests(p, k, col, tests_of(cols->items[c]), file, err) != BP_OK)
                return BP_EINPUT;
        }
    }
    return BP_OK;
}

/* ---- profiles ------------------------------------------------------------------------ */

static const char *home_dbt(void)
{
    static char path[4096];
    const char *h = getenv("HOME");
    snprintf(path, sizeof path, "%s/.dbt", h ? h : "");
    return path;
}

/* Render a profile value through Jinja (for env_var()). */
static const char *profile_value(project *p, const yml_node *out, const char *key, bp_err *err,
                                 bool *failed)
{
    const char *raw = yml_get_str(out, key, NULL);
    if (!raw || !strstr(raw, "{{"))
        return raw;
    buf b = {0};
    const char *what = proj_strf(p, "%s (%s)", yml_file(p->profiles_doc), key);
    if (compile_string(p, what ? what : "profiles.yml", raw, &b, -1, err) != BP_OK) {
        *failed = true;
        buf_free(&b);
        return NULL;
    }
    const char *s = proj_str(p, b.p ? b.p : "", b.len);
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
        buf_printf(&d, "%s%s='", d.len ? " " : "", keys[i][1]);
        for (const char *c = v; *c; c++) {
            if (*c == '\\' || *c == '\'')
                buf_addc(&d, '\\');
            buf_addc(&d, *c);
        }
        buf_addc(&d, '\'');
    }
    p->dsn = proj_str(p, d.p ? d.p : "", d.len);
    buf_free(&d);
    return BP_OK;
}

static bp_status load_profile(project *p, bp_err *err)
{
    const char *pname = yml_get_str(yml_root(p->project_doc), "profile", NULL);
    const char *dirs[3] = {p->opts.profiles_dir, p->dir, home_dbt()};
    char path[4200];
    for (int i = 0; i < 3 && pname; i++) {
        if (!dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/profiles.yml", dirs[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (yml_load(path, &p->profiles_doc, err) != BP_OK)
            return BP_EINPUT;
        break;
    }
    const yml_node *prof = yml_get(yml_root(p->profiles_doc), pname ? pname : "");
    p->threads = 2;
    if (!prof) {
        /* no profile: bookpipe's own warehouse */
        p->target_name = "bookpipe";
        p->target_type = p->opts.wh_target ? p->opts.wh_target : "duckdb";
        p->dsn = p->opts.wh_dsn;
        p->target_schema = p->opts.wh_schema ? p->opts.wh_schema : "books_schema";
        p->target_db = "bookpipe";
        p->wh_path = p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb";
        return BP_OK;
    }
    const char *tname = p->opts.target ? p->opts.target : yml_get_str(prof, "target", "dev");
    const yml_node *out = yml_get(yml_get(prof, "outputs"), tname);
    if (!out)
        return bp_fail(err, BP_EUSAGE, "%s: profile '%s' has no output '%s'",
                       yml_file(p->profiles_doc), pname, tname);
    bool failed = false;
    p->target_name = tname;
    p->target_type = profile_value(p, out, "type", err, &failed);
    p->target_schema = profile_value(p, out, "schema", err, &failed);
    const char *dbpath = profile_value(p, out, "path", err, &failed);
    const char *threads = profile_value(p, out, "threads", err, &failed);
    if (failed)
        return BP_EINPUT;
    if (!p->target_type)
        return bp_fail(err, BP_EUSAGE, "%s: output '%s' has no type", yml_file(p->profiles_doc),
                       tname);
    if (!strcmp(p->target_type, "postgres") || !strcmp(p->target_type, "redshift")) {
        if (pg_dsn(p, out, err) != BP_OK)
            return BP_EINPUT;
    } else if (strcmp(p->target_type, "duckdb") != 0) {
        return bp_fail(err, BP_EUSAGE, "%s: target type '%s' is not supported by bookpipe "
                       "(it runs duckdb, postgres and redshift)", yml_file(p->profiles_doc),
                       p->target_type);
    }
    if (!p->target_schema)
        p->target_schema = "main";
    p->wh_path = dbpath ? dbpath : (p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb");
    p->target_db = "main";
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

/* Resolve schemas and relations (dbt's generate_schema_name). */
static bp_status resolve_relations(project *p, bp_err *err)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (n->type != NT_MODEL && n->type != NT_SEED)
            continue;
        n->schema = n->cfg.schema ? proj_strf(p, "%s_%s", p->target_schema, n->cfg.schema)
                                  : p->target_schema;
        if (n->type == NT_MODEL && strcmp(n->cfg.materialized, "ephemeral") == 0) {
            n->relation = proj_strf(p, "__dbt__cte__%s", n->name);
            continue;
        }
        buf rel = {0};
        if (buf_add_ident(&rel, n->schema) || buf_addc(&rel, '.') || buf_add_ident(&rel, n->name))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        n->relation = proj_str(p, rel.p, rel.len);
        buf_free(&rel);
    }
    return BP_OK;
}

static bp_status check_materializations(project *p, bp_err *err)
{
    static const char *const ok[] = {"view", "table", "incremental", "ephemeral"};
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (n->type != NT_MODEL)
            continue;
        bool good = false;
        for (int k = 0; k < 4; k++)
            good = good || strcmp(n->cfg.materialized, ok[k]) == 0;
        if (!good)
            return bp_fail(err, BP_EINPUT, "%s: materialized='%s' is not supported (view, "
                           "table, incremental, ephemeral)", n->file, n->cfg.materialized);
    }
    return BP_OK;
}

/* Disabled nodes stay in the list (indexes are edges) but never run; an
 * enabled node must not depend on one. */
static bp_status check_disabled(project *p, bp_err *err)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        for (int k = 0; n->cfg.enabled && k < n->ndeps; k++)
            if (!p->nodes[n->deps[k]].cfg.enabled)
                return bp_fail(err, BP_EINPUT, "%s: '%s' depends on '%s', which is disabled",
                               n->file, n->name, p->nodes[n->deps[k]].name);
    }
    return BP_OK;
}

bp_status proj_load(project *p, const dbt_opts *o, bp_err *err)
{
    memset(p, 0, sizeof *p);
    p->opts = *o;
    snprintf(p->dir, sizeof p->dir, "%s", o->project_dir ? o->project_dir : ".");
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
    p->macro_files = 0;
    if (walk_paths(p, "macro-paths", "macros", on_macro_file, err) != BP_OK)
        return BP_EINPUT;
    if (p->macro_files)
        fprintf(stderr, "bookpipe dbt: warning: %d macro file(s) found; macros are not "
                "supported and are ignored, so models that call them fail to compile\n",
                p->macro_files);
    if (load_vars(p, err) != BP_OK || load_profile(p, err) != BP_OK)
        return err ? err->status : BP_EINPUT;
    if (walk_paths(p, "model-paths", "models", on_model_file, err) != BP_OK ||
        walk_paths(p, "seed-paths", "seeds", on_seed_file, err) != BP_OK ||
        walk_paths(p, "test-paths", "tests", on_test_file, err) != BP_OK)
        return err ? err->status : BP_EINPUT;
    for (int d = 0; d < p->ndocs; d++) {
        const yml_node *r = yml_root(p->docs[d]);
        const char *f = yml_file(p->docs[d]);
        if (load_sources(p, yml_get(r, "sources"), f, err) != BP_OK)
            return BP_EINPUT;
        load_entries(p, yml_get(r, "models"), NT_MODEL, f);
        load_entries(p, yml_get(r, "seeds"), NT_SEED, f);
    }
    /* config() calls in the SQL come last: they win */
    if (compile_parse(p, err) != BP_OK)
        return BP_EINPUT;
    for (int d = 0; d < p->ndocs; d++) {
        const yml_node *r = yml_root(p->docs[d]);
        const char *f = yml_file(p->docs[d]);
        if (load_entry_tests(p, yml_get(r, "models"), NT_MODEL, f, err) != BP_OK ||
            load_entry_tests(p, yml_get(r, "seeds"), NT_SEED, f, err) != BP_OK)
            return BP_EINPUT;
    }
    if (compile_test_edges(p, err) != BP_OK)
        return BP_EINPUT;
    if (check_disabled(p, err) != BP_OK || check_materializations(p, err) != BP_OK ||
        resolve_relations(p, err) != BP_OK)
        return BP_EINPUT;
    return BP_OK;
}
