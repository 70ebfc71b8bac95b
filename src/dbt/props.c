/* props.c: properties files (schema.yml and friends): sources, the
 * entries of models, seeds, snapshots and analyses (configs, columns,
 * descriptions), YAML-defined snapshots, and generic tests of any package
 * with their arguments, configs and dbt's test names. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbt_int.h"
#include "../core/log.h"

static bp_status set_test_uid(project *p, node *n, bp_err *err);

#define warn(...) bp_log(BP_LOG_WARN, __VA_ARGS__)

/* Jinja in properties is rendered, except descriptions, test arguments
 * (rendered when the test compiles) and hooks (when they run). */
/* unit tests' rows stay as written (dbt renders no Jinja in fixtures) */
static const char *const props_skip[] = {"description", "tests", "data_tests", "pre-hook",
                                         "post-hook", "pre_hook", "post_hook", "given",
                                         "expect", NULL};

const char *dbt_props_rel_path(const dbt_pkg *pkg, const char *file)
{
    size_t n = strlen(pkg->dir);
    return strncmp(file, pkg->dir, n) == 0 && file[n] == '/' ? file + n + 1 : file;
}

void dbt_props_fqn_folders(project *p, node *n)
{
    n->fqn[n->nfqn++] = n->pkg->name;
    for (const char *s = strchr(n->path, '/'), *next; s && n->nfqn < 13; s = next) {
        if (!(next = strchr(s + 1, '/')))
            break;
        n->fqn[n->nfqn++] = dbt_proj_str(p, s + 1, (size_t)(next - s - 1));
    }
}

/* ---- sources ----------------------------------------------------------------------------- */

/* dbt-duckdb's file-backed sources: meta.external_location (or the
 * config's), with {name} and {identifier} filled in; a path is quoted,
 * a reader call (read_csv(...)) kept as written. */
static const char *external_location(project *p, const yml_node *src, const yml_node *tbl,
                                     const char *tname, const char *ident, const char *schema,
                                     bool *oom)
{
    const char *loc = NULL;
    const yml_node *levels[] = {tbl, src};
    for (int i = 0; i < 2 && !loc; i++) {
        loc = yml_get_str(yml_get(levels[i], "meta"), "external_location", NULL);
        if (!loc)
            loc = yml_get_str(yml_get(levels[i], "config"), "external_location", NULL);
        if (!loc)
            loc = yml_get_str(yml_get(levels[i], "external"), "location", NULL);
    }
    if (!loc || !p->wops->file_sources)
        return NULL;
    buf b = {0};
    bool fail = false;
    for (const char *s = loc; *s && !fail; s++) {
        if (!strncmp(s, "{name}", 6)) {
            fail = buf_adds(&b, tname);
            s += 5;
        } else if (!strncmp(s, "{identifier}", 12)) {
            fail = buf_adds(&b, ident);
            s += 11;
        } else if (!strncmp(s, "{schema}", 8)) {
            fail = buf_adds(&b, schema);
            s += 7;
        } else {
            fail = buf_addc(&b, *s);
        }
    }
    const char *out = NULL;
    if (fail) {
        /* out stays NULL, *oom says why */
    } else if (strchr(b.p ? b.p : "", '(')) {
        out = dbt_proj_str(p, b.p, b.len);
    } else {
        buf q = {0};
        if (!buf_add_sqlstr(&q, b.p ? b.p : ""))
            out = dbt_proj_str(p, q.p, q.len);
        buf_free(&q);
    }
    *oom = !out;
    buf_free(&b);
    return out;
}

static bp_status add_source_table(project *p, dbt_pkg *pkg, const yml_node *s, const yml_node *t,
                                  const char *sname, const char *file, bp_err *err)
{
    const char *tname = yml_get_str(t, "name", NULL);
    if (!tname)
        return bp_fail(err, BP_EINPUT, "%s:%d: a source table needs a name", file, t->line);
    const char *schema = yml_get_str(s, "schema", sname);
    const char *db = yml_get_str(t, "database", yml_get_str(s, "database", NULL));
    const char *ident = yml_get_str(t, "identifier", tname);
    int k = dbt_proj_add_node(p, NT_SOURCE, dbt_proj_strf(p, "%s.%s", sname, tname), err);
    if (k < 0)
        return BP_ENOMEM;
    node *nd = &p->nodes[k];
    nd->pkg = pkg;
    nd->src_name = sname;
    nd->tbl_name = tname;
    nd->src_def = s;
    nd->tbl_def = t;
    nd->path = dbt_props_rel_path(pkg, file);
    nd->file = file;
    nd->schema = schema;
    nd->database = db ? db : p->target_db;
    nd->identifier = ident;
    nd->description = yml_get_str(t, "description", NULL);
    nd->columns = yml_get(t, "columns");
    nd->meta = yml_get(t, "meta");
    nd->loaded_at_field = yml_get_str(t, "loaded_at_field",
                                      yml_get_str(s, "loaded_at_field", NULL));
    nd->fqn[nd->nfqn++] = pkg->name;
    nd->fqn[nd->nfqn++] = sname;
    nd->fqn[nd->nfqn++] = tname;
    if (dbt_proj_set_uid(p, nd, dbt_proj_strf(p, "source.%s.%s.%s", pkg->name, sname, tname), err))
        return BP_ENOMEM;
    if (dbt_cfg_set_yml(p, nd, yml_get(s, "config")) || dbt_cfg_set_yml(p, nd, yml_get(t, "config")))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    const yml_node *tags[] = {yml_get(s, "tags"), yml_get(t, "tags")};
    for (int i = 0; i < 2; i++)
        if (tags[i]) {
            arena tmp = {0};
            jv *v = dbt_proj_yml_value(&tmp, tags[i]);
            bp_status st = v ? dbt_cfg_set(p, nd, "tags", v) : BP_ENOMEM;
            arena_free(&tmp);
            if (st != BP_OK)
                return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    bool oom = false;
    const char *ext = external_location(p, s, t, tname, ident, schema, &oom);
    if (oom)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (ext) {
        nd->relation = ext;
    } else {
        dbt_rel r = {.database = nd->database, .schema = schema, .identifier = ident,
                     .inc_db = true, .inc_schema = true, .inc_ident = true,
                     .q_db = true, .q_schema = true, .q_ident = true};
        const yml_node *q = yml_get(s, "quoting");
        r.q_db = yml_bool(yml_get(q, "database"), true);
        r.q_schema = yml_bool(yml_get(q, "schema"), true);
        r.q_ident = yml_bool(yml_get(q, "identifier"), true);
        buf rel = {0};
        if (dbt_rel_render(p, &r, &rel) != BP_OK)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        nd->relation = dbt_proj_str(p, rel.p ? rel.p : "", rel.len);
        buf_free(&rel);
    }
    nd->status = ST_SUCCESS;
    return BP_OK;
}

static bp_status load_sources(project *p, dbt_pkg *pkg, const yml_node *srcs, const char *file,
                              bp_err *err)
{
    for (size_t i = 0; srcs && srcs->kind == YML_SEQ && i < srcs->n; i++) {
        const yml_node *s = srcs->items[i];
        const char *sname = yml_get_str(s, "name", NULL);
        if (!sname)
            return bp_fail(err, BP_EINPUT, "%s:%d: a source needs a name", file, s->line);
        const yml_node *tables = yml_get(s, "tables");
        for (size_t k = 0; tables && tables->kind == YML_SEQ && k < tables->n; k++)
            if (add_source_table(p, pkg, s, tables->items[k], sname, file, err) != BP_OK)
                return BP_EINPUT;
    }
    return BP_OK;
}

/* ---- models:, seeds:, snapshots:, analyses: entries ------------------------------------- */

static int find_entry(project *p, node_type t, const char *name, const char *pkg)
{
    int k = dbt_proj_find(p, t, name);
    if (k >= 0 && strcmp(p->nodes[k].pkg->name, pkg) != 0) /* another package's namesake */
        for (k = 0; k < p->nnodes; k++)
            if (p->nodes[k].type == t && !strcmp(p->nodes[k].name, name) &&
                !strcmp(p->nodes[k].pkg->name, pkg))
                break;
    return k < p->nnodes ? k : -1;
}

/* A snapshot defined in YAML (dbt 1.9): relation: ref('x') */
static bp_status yaml_snapshot(project *p, dbt_pkg *pkg, const yml_node *m, const char *name,
                               const char *file, bp_err *err)
{
    const char *rel = yml_get_str(m, "relation", NULL);
    int i = dbt_proj_add_node(p, NT_SNAPSHOT, name, err);
    if (i < 0)
        return BP_ENOMEM;
    node *n = &p->nodes[i];
    n->pkg = pkg;
    n->file = file;
    n->path = dbt_props_rel_path(pkg, file);
    n->fqn[n->nfqn++] = pkg->name;
    n->fqn[n->nfqn++] = name;
    if (dbt_proj_set_uid(p, n, dbt_proj_strf(p, "snapshot.%s.%s", pkg->name, name), err))
        return BP_ENOMEM;
    n->raw = dbt_proj_strf(p, "select * from {{ %s }}", rel);
    n->raw_n = n->raw ? strlen(n->raw) : 0;
    jv mat = {.type = JV_STR, .u.s = {"snapshot", 8}};
    if (!n->raw || dbt_cfg_set(p, n, "materialized", &mat) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    return BP_OK;
}

/* What a properties entry says of a node: configs, meta, description, columns. */
static bp_status apply_entry(project *p, node *n, const yml_node *m, bp_err *err)
{
    bool oom = dbt_cfg_set_yml(p, n, yml_get(m, "config"));
    if (!oom && yml_get(m, "meta")) {
        arena tmp = {0};
        jv *v = dbt_proj_yml_value(&tmp, yml_get(m, "meta"));
        oom = !v || dbt_cfg_set(p, n, "meta", v);
        arena_free(&tmp);
    }
    if (oom)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    n->description = yml_get_str(m, "description", n->description);
    if (!n->props || !yml_get(m, "v")) /* a version's entry adds to the model's */
        n->props = m;
    if (yml_get(m, "columns"))
        n->columns = yml_get(m, "columns");
    if (yml_get(m, "meta"))
        n->meta = yml_get(m, "meta");
    return BP_OK;
}

/* Model versions: <name>_v<v>.sql (or defined_in:) are versions of name;
 * ref('name') is the latest_version (the highest when not given). */
static bp_status model_versions(project *p, dbt_pkg *pkg, const yml_node *m, const char *name,
                                const char *file, bp_err *err)
{
    const yml_node *vs = yml_get(m, "versions");
    const char *latest = yml_get_str(m, "latest_version", NULL);
    int latest_k = -1;
    double best = -1e300;
    for (size_t i = 0; vs && vs->kind == YML_SEQ && i < vs->n; i++) {
        const yml_node *v = vs->items[i];
        const char *ver = yml_get_str(v, "v", NULL);
        if (!ver)
            return bp_fail(err, BP_EINPUT, "%s:%d: a model version needs v:", file, v->line);
        const char *def = yml_get_str(v, "defined_in", NULL);
        const char *fname = def ? def : dbt_proj_strf(p, "%s_v%s", name, ver);
        int k = fname ? find_entry(p, NT_MODEL, fname, pkg->name) : -1;
        if (k < 0) {
            warn("%s:%d: no file for version %s of model '%s' (looked for %s.sql)", file, v->line,
                 ver, name, fname ? fname : "?");
            continue;
        }
        node *n = &p->nodes[k];
        n->name = name;
        n->version = ver;
        if (dbt_proj_set_uid(p, n, dbt_proj_strf(p, "model.%s.%s.v%s", pkg->name, name, ver), err))
            return BP_ENOMEM;
        if (n->nfqn < 15) {
            n->fqn[n->nfqn - 1] = name;
            n->fqn[n->nfqn++] = dbt_proj_strf(p, "v%s", ver);
        }
        if (apply_entry(p, n, m, err) != BP_OK || apply_entry(p, n, v, err) != BP_OK)
            return BP_ENOMEM;
        double num = strtod(ver, NULL);
        if (latest ? !strcmp(latest, ver) : num > best) {
            best = num;
            latest_k = k;
        }
    }
    if (latest_k >= 0 && !strmap_put(&p->by_name[NT_MODEL], name, (void *)(intptr_t)(latest_k + 1)))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    return BP_OK;
}

static bp_status load_entries(project *p, dbt_pkg *pkg, const yml_node *list, node_type t,
                              const char *file, bp_err *err)
{
    for (size_t i = 0; list && list->kind == YML_SEQ && i < list->n; i++) {
        const yml_node *m = list->items[i];
        const char *name = yml_get_str(m, "name", NULL);
        if (t == NT_MODEL && name && yml_get(m, "versions")) {
            if (model_versions(p, pkg, m, name, file, err) != BP_OK)
                return BP_EINPUT;
            continue;
        }
        int k = name ? find_entry(p, t, name, pkg->name) : -1;
        if (k < 0 && t == NT_SNAPSHOT && name && yml_get(m, "relation")) {
            if (yaml_snapshot(p, pkg, m, name, file, err) != BP_OK)
                return BP_EINPUT;
            k = p->nnodes - 1;
        }
        if (k < 0) {
            warn("%s:%d: no %s named '%s'; its properties are ignored", file, m->line,
                 dbt_node_type_name(t), name ? name : "?");
            continue;
        }
        if (apply_entry(p, &p->nodes[k], m, err) != BP_OK)
            return BP_ENOMEM;
    }
    return BP_OK;
}

bp_status dbt_props_load(project *p, bp_err *err)
{
    for (int d = 0; d < p->ndocs; d++) {
        yml_node *r = yml_root(p->docs[d]);
        const char *f = yml_file(p->docs[d]);
        dbt_pkg *pkg = dbt_pkg_find(p, p->doc_pkg[d]);
        if (!r)
            continue;
        if (r->kind != YML_MAP)
            return bp_fail(err, BP_EINPUT, "%s: a properties file is a mapping (version:, "
                           "models:, sources: ...)", f);
        /* rendered as the package sees it: its vars, its macros */
        p->yml_pkg = pkg;
        bp_status rst = dbt_proj_render_yml(p, r, f, props_skip, err);
        p->yml_pkg = NULL;
        if (rst != BP_OK)
            return BP_EINPUT;
        if (load_sources(p, pkg, yml_get(r, "sources"), f, err) != BP_OK ||
            load_entries(p, pkg, yml_get(r, "models"), NT_MODEL, f, err) != BP_OK ||
            load_entries(p, pkg, yml_get(r, "seeds"), NT_SEED, f, err) != BP_OK ||
            load_entries(p, pkg, yml_get(r, "snapshots"), NT_SNAPSHOT, f, err) != BP_OK ||
            load_entries(p, pkg, yml_get(r, "analyses"), NT_ANALYSIS, f, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}

/* ---- generic tests ----------------------------------------------------------------------- */

static const char *const test_config_keys[] = {"severity", "tags", "enabled", "where", "limit",
                                               "warn_if", "error_if", "fail_calc",
                                               "store_failures", "store_failures_as", "meta",
                                               "database", "schema", "alias", NULL};

static bool is_test_config(const char *k)
{
    for (int i = 0; test_config_keys[i]; i++)
        if (!strcmp(k, test_config_keys[i]))
            return true;
    return false;
}

typedef struct {
    const char *kind;          /* as written: unique, dbt_utils.equality */
    const char *ns, *name;     /* its namespace (or NULL) and name */
    const char *custom_name;   /* name: */
    const yml_node *args;      /* arguments: or the body */
    bool args_is_body;         /* the body: skip config keys and name */
    const yml_node *body;      /* top-level config keys live here */
    const yml_node *config;    /* config: */
} test_entry;

static bp_status read_entry(project *p, const yml_node *t, const char *file, test_entry *e,
                            bp_err *err)
{
    memset(e, 0, sizeof *e);
    if (t->kind == YML_SCALAR) {
        e->kind = t->str;
    } else if (t->kind == YML_MAP && yml_get(t, "test_name")) {
        e->kind = yml_get_str(t, "test_name", "");
        e->body = t;
    } else if (t->kind == YML_MAP && t->n == 1) {
        e->kind = t->keys[0];
        e->body = t->items[0]->kind == YML_MAP ? t->items[0] : NULL;
    } else {
        return bp_fail(err, BP_EINPUT, "%s:%d: a test is a name or a mapping with one key "
                       "(the test's name)", file, t->line);
    }
    e->custom_name = yml_get_str(e->body, "name", NULL);
    if (e->body && yml_get(e->body, "test_name"))
        e->custom_name = yml_get_str(e->body, "name", NULL);
    e->config = yml_get(e->body, "config");
    e->args = yml_get(e->body, "arguments");
    if (!e->args) {
        e->args = e->body;
        e->args_is_body = true;
    }
    const char *dot = strrchr(e->kind, '.');
    if (dot) {
        e->ns = dbt_proj_str(p, e->kind, (size_t)(dot - e->kind));
        e->name = dot + 1;
    } else {
        e->name = e->kind;
    }
    return BP_OK;
}

static bool arg_key(const test_entry *e, const char *k)
{
    if (!e->args_is_body)
        return true;
    return strcmp(k, "name") && strcmp(k, "config") && strcmp(k, "test_name") &&
           strcmp(k, "arguments") && !is_test_config(k);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bp_status flat_value(const jv *v, buf *b, bool *first)
{
    buf s = {0};
    bool oom = jv_to_str(v, &s) || buf_adds(b, *first ? "" : "__");
    *first = false;
    /* runs of other characters become one '_', as in dbt */
    bool gap = false;
    for (size_t i = 0; i < s.len && !oom; i++) {
        char c = s.p[i];
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
        if (word)
            oom = buf_addc(b, c);
        else if (!gap)
            oom = buf_addc(b, '_');
        gap = !word;
    }
    buf_free(&s);
    return oom ? BP_ENOMEM : BP_OK;
}

/* dbt's synthesize_generic_test_names: the full name, and the short one
 * (under 64 characters, with an md5) used for files and tables. */
static void test_names(project *p, const test_entry *e, const char *target, const jv *kwargs,
                       const char **full, const char **shortn)
{
    buf b = {0}, id = {0};
    bool oom = (e->ns && buf_printf(&id, "%s_", e->ns)) ||
               buf_printf(&id, "%s_%s", e->name, target) || buf_printf(&b, "%s_", id.p);
    size_t n = jv_dict_len(kwargs);
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    size_t nk = 0;
    for (size_t i = 0; keys && i < n; i++)
        if (strcmp(jv_dict_key(kwargs, i), "model") != 0)
            keys[nk++] = jv_dict_key(kwargs, i);
    if (keys)
        qsort(keys, nk, sizeof *keys, cmp_key);
    bool first = true;
    for (size_t i = 0; keys && i < nk && !oom; i++) {
        const jv *v = jv_dict_get(kwargs, keys[i]);
        if (v->type == JV_DICT)
            for (size_t k = 0; k < jv_dict_len(v) && !oom; k++)
                oom = flat_value(jv_dict_val(v, k), &b, &first);
        else if (v->type == JV_LIST)
            for (size_t k = 0; k < v->u.l.n && !oom; k++)
                oom = flat_value(v->u.l.items[k], &b, &first);
        else
            oom = flat_value(v, &b, &first);
    }
    oom = oom || !keys;
    free(keys);
    /* NULL names: the caller reports out of memory */
    *full = oom ? NULL : dbt_proj_str(p, b.p, b.len);
    if (oom) {
        *shortn = NULL;
    } else if (b.len >= 64) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mn = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
        if (EVP_Digest(b.p, b.len, md, &mn, EVP_md5(), NULL))
            for (unsigned int i = 0; i < mn; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        *shortn = dbt_proj_strf(p, "%.30s_%s", id.p, hex);
    } else {
        *shortn = *full;
    }
    buf_free(&b);
    buf_free(&id);
}

/* The test macro: a namespaced one in its package; else the root
 * project's, the test's own package's, any package's, then dbt's. */
static jinja_macro *find_test_macro(project *p, const test_entry *e, dbt_pkg *own)
{
    char mname[512];
    snprintf(mname, sizeof mname, "test_%s", e->name);
    if (e->ns)
        return dbt_macro_in(dbt_pkg_find(p, e->ns), mname);
    jinja_macro *m = dbt_macro_in(&p->pkgs[0], mname);
    if (!m)
        m = dbt_macro_in(own, mname);
    for (int i = 1; !m && i < p->npkgs; i++)
        m = dbt_macro_in(&p->pkgs[i], mname);
    return m;
}

/* The `model` argument as dbt writes it. */
static const char *model_arg(project *p, const node *target)
{
    if (target->type == NT_SOURCE)
        return dbt_proj_strf(p, "{{ get_where_subquery(source('%s', '%s')) }}", target->src_name,
                         target->tbl_name);
    if (target->version)
        return dbt_proj_strf(p, "{{ get_where_subquery(ref('%s', v='%s')) }}", target->name,
                         target->version);
    return dbt_proj_strf(p, "{{ get_where_subquery(ref('%s')) }}", target->name);
}

static bp_status add_generic_test(project *p, dbt_pkg *pkg, int target, const char *col,
                                  const yml_node *t, const char *file, bp_err *err)
{
    test_entry e;
    if (read_entry(p, t, file, &e, err) != BP_OK)
        return BP_EINPUT;
    arena *a = &p->mem;
    pthread_mutex_lock(&p->mu);
    jv *kw = jv_dict_new(a);
    bool ok = kw != NULL;
    if (ok && col)
        ok = jv_dict_set(a, kw, "column_name", jv_strz(a, col));
    for (size_t i = 0; ok && e.args && e.args->kind == YML_MAP && i < e.args->n; i++)
        if (arg_key(&e, e.args->keys[i]))
            ok = jv_dict_set(a, kw, e.args->keys[i], dbt_proj_yml_value(a, e.args->items[i]));
    pthread_mutex_unlock(&p->mu);
    if (!ok)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    const node *tg = &p->nodes[target];
    const char *tname = tg->type == NT_SOURCE
                            ? dbt_proj_strf(p, "source_%s_%s", tg->src_name, tg->tbl_name)
                        : tg->version ? dbt_proj_strf(p, "%s_v%s", tg->name, tg->version)
                                      : tg->name;
    const char *full, *shortn;
    test_names(p, &e, tname, kw, &full, &shortn);
    if (e.custom_name)
        full = shortn = e.custom_name;
    const char *marg = model_arg(p, tg);
    pthread_mutex_lock(&p->mu);
    ok = marg && jv_dict_set(a, kw, "model", jv_strz(a, marg));
    pthread_mutex_unlock(&p->mu);
    if (!ok || !full)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    int i = dbt_proj_add_node(p, NT_TEST, full, err);
    if (i < 0)
        return BP_ENOMEM;
    /* taken after dbt_proj_add_node, which may move the node array */
    node *n = &p->nodes[i];
    const node *m = &p->nodes[target];
    n->pkg = pkg;
    n->test_kind = e.kind;
    n->test_macro = find_test_macro(p, &e, pkg);
    n->attached = target;
    n->column = col;
    n->test_kwargs = kw;
    n->identifier = shortn;
    n->path = dbt_props_rel_path(pkg, file);
    n->file = file;
    /* fqn: the package, the folders of the properties file below its
     * resource path, the name (as dbt makes it) */
    dbt_props_fqn_folders(p, n);
    n->fqn[n->nfqn++] = full;
    if (set_test_uid(p, n, err) != BP_OK)
        return BP_ENOMEM;
    jv mat = {.type = JV_STR, .u.s = {"test", 4}};
    jv sev = {.type = JV_STR, .u.s = {"ERROR", 5}};
    if (dbt_cfg_set(p, n, "materialized", &mat) != BP_OK || dbt_cfg_set(p, n, "severity", &sev) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    bool oom = dbt_proj_apply_tree(p, n, "data_tests");
    for (size_t k = 0; e.args_is_body && e.body && k < e.body->n && !oom; k++)
        oom = is_test_config(e.body->keys[k]) &&
              dbt_cfg_set_yml_key(p, n, e.body->keys[k], e.body->items[k]);
    /* a test carries its model's tags, so tag: selection finds it */
    if (oom || dbt_cfg_set_yml(p, n, e.config) ||
        (m->cfg.all && dbt_cfg_get(m, "tags") && dbt_cfg_set(p, n, "tags", dbt_cfg_get(m, "tags"))))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    /* depends_on.macros, as dbt lists them for a generic test */
    dbt_ctx_macro_dep(p, i, n->test_macro);
    dbt_ctx_macro_dep(p, i, dbt_macro_lookup(p, pkg, "get_where_subquery"));
    if (!n->test_macro)
        snprintf(n->parse_error, sizeof n->parse_error,
                 "%s: no generic test named '%s' (looked for a macro test_%s%s%s; is the "
                 "package in dbt_packages/?)", file, e.kind, e.name, e.ns ? " in package " : "",
                 e.ns ? e.ns : "");
    if (dbt_proj_add_dep(p, i, target, err) != BP_OK)
        return BP_ENOMEM;
    return dbt_compile_test_refs(p, i, err);
}

/* unique_id: test.<package>.<name>.<hash of the name and arguments>, as
 * dbt makes it: two tests may share a name when their arguments differ
 * (a regex of only punctuation names no different from another). */
static bp_status set_test_uid(project *p, node *n, bp_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mn = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    buf b = {0};
    if (buf_adds(&b, n->name) || (n->test_kwargs && jv_repr(n->test_kwargs, &b))) {
        buf_free(&b);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (EVP_Digest(b.p, b.len, md, &mn, EVP_md5(), NULL))
        for (unsigned int i = 0; i < mn; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    buf_free(&b);
    const char *uid = dbt_proj_strf(p, "test.%s.%s.%.10s", n->pkg->name, n->name, hex);
    int dup = uid ? dbt_proj_find_uid(p, uid) : -1;
    if (dup >= 0) /* the same test with the same arguments twice: dbt refuses it too */
        return bp_fail(err, BP_EINPUT, "%s: the test '%s' is declared twice with the same "
                       "arguments", n->file, n->name);
    return dbt_proj_set_uid(p, n, uid, err);
}

static bp_status add_tests(project *p, dbt_pkg *pkg, int target, const char *col,
                           const yml_node *tests, const char *file, bp_err *err)
{
    for (size_t i = 0; tests && tests->kind == YML_SEQ && i < tests->n; i++)
        if (add_generic_test(p, pkg, target, col, tests->items[i], file, err) != BP_OK)
            return err->status ? err->status : BP_EINPUT;
    return BP_OK;
}

static const yml_node *tests_of(const yml_node *m)
{
    const yml_node *t = yml_get(m, "data_tests");
    return t ? t : yml_get(m, "tests");
}

/* The tests of one entry (a model, a seed, a source table) and of its columns. */
static bp_status entry_tests(project *p, dbt_pkg *pkg, int k, const yml_node *m,
                             const char *file, bp_err *err)
{
    if (k < 0 || !p->nodes[k].cfg.enabled)
        return BP_OK;
    if (add_tests(p, pkg, k, NULL, tests_of(m), file, err) != BP_OK)
        return BP_EINPUT;
    const yml_node *cols = yml_get(m, "columns");
    for (size_t c = 0; cols && cols->kind == YML_SEQ && c < cols->n; c++) {
        const yml_node *cn = cols->items[c];
        const char *col = yml_get_str(cn, "name", NULL);
        if (!col)
            continue;
        /* quote: true asks for the name quoted in the test's SQL */
        if (yml_bool(yml_get(cn, "quote"), false))
            col = dbt_proj_strf(p, "\"%s\"", col);
        if (add_tests(p, pkg, k, col, tests_of(cn), file, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}

static bp_status list_tests(project *p, dbt_pkg *pkg, const yml_node *list, node_type t,
                            const char *file, bp_err *err)
{
    for (size_t i = 0; list && list->kind == YML_SEQ && i < list->n; i++) {
        const yml_node *m = list->items[i];
        const char *name = yml_get_str(m, "name", NULL);
        if (t == NT_MODEL && name && yml_get(m, "versions")) {
            /* every version gets the tests */
            for (int k = 0; k < p->nnodes; k++)
                if (p->nodes[k].type == NT_MODEL && p->nodes[k].version &&
                    !strcmp(p->nodes[k].name, name) && p->nodes[k].pkg == pkg &&
                    entry_tests(p, pkg, k, m, file, err) != BP_OK)
                    return BP_EINPUT;
            continue;
        }
        int k = name ? find_entry(p, t, name, pkg->name) : -1;
        if (entry_tests(p, pkg, k, m, file, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}

static bp_status source_tests(project *p, dbt_pkg *pkg, const yml_node *srcs, const char *file,
                              bp_err *err)
{
    for (size_t i = 0; srcs && srcs->kind == YML_SEQ && i < srcs->n; i++) {
        const yml_node *s = srcs->items[i];
        const char *sname = yml_get_str(s, "name", NULL);
        const yml_node *tables = yml_get(s, "tables");
        for (size_t k = 0; sname && tables && tables->kind == YML_SEQ && k < tables->n; k++) {
            const yml_node *t = tables->items[k];
            char key[512];
            snprintf(key, sizeof key, "%s.%s", sname, yml_get_str(t, "name", ""));
            if (entry_tests(p, pkg, dbt_proj_find(p, NT_SOURCE, key), t, file, err) != BP_OK)
                return BP_EINPUT;
        }
    }
    return BP_OK;
}

/* exposures: dashboards and apps downstream of models (never run; in the
 * graph, the manifest and selection) */
static bp_status load_exposures(project *p, dbt_pkg *pkg, const yml_node *list, const char *file,
                                bp_err *err)
{
    for (size_t i = 0; list && list->kind == YML_SEQ && i < list->n; i++) {
        const yml_node *e = list->items[i];
        const char *name = yml_get_str(e, "name", NULL);
        if (!name)
            return bp_fail(err, BP_EINPUT, "%s:%d: an exposure needs a name", file, e->line);
        int k = dbt_proj_add_node(p, NT_EXPOSURE, name, err);
        if (k < 0)
            return BP_ENOMEM;
        node *n = &p->nodes[k];
        n->pkg = pkg;
        n->file = file;
        n->path = dbt_props_rel_path(pkg, file);
        n->props = e;
        n->description = yml_get_str(e, "description", "");
        n->meta = yml_get(e, "meta");
        n->fqn[n->nfqn++] = pkg->name;
        n->fqn[n->nfqn++] = name;
        if (dbt_proj_set_uid(p, n, dbt_proj_strf(p, "exposure.%s.%s", pkg->name, name), err))
            return BP_ENOMEM;
        if (dbt_cfg_set_yml(p, n, yml_get(e, "config")) ||
            (yml_get(e, "tags") && dbt_cfg_set_yml_key(p, n, "tags", yml_get(e, "tags"))))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        const yml_node *deps = yml_get(e, "depends_on");
        for (size_t d = 0; deps && deps->kind == YML_SEQ && d < deps->n; d++)
            if (deps->items[d]->kind == YML_SCALAR &&
                dbt_compile_ref_expr(p, k, deps->items[d]->str, err) != BP_OK)
                return BP_EINPUT;
    }
    return BP_OK;
}

bp_status dbt_props_tests(project *p, bp_err *err)
{
    for (int d = 0; d < p->ndocs; d++) {
        const yml_node *r = yml_root(p->docs[d]);
        const char *f = yml_file(p->docs[d]);
        dbt_pkg *pkg = dbt_pkg_find(p, p->doc_pkg[d]);
        if (!r)
            continue;
        if (source_tests(p, pkg, yml_get(r, "sources"), f, err) != BP_OK ||
            list_tests(p, pkg, yml_get(r, "models"), NT_MODEL, f, err) != BP_OK ||
            list_tests(p, pkg, yml_get(r, "seeds"), NT_SEED, f, err) != BP_OK ||
            list_tests(p, pkg, yml_get(r, "snapshots"), NT_SNAPSHOT, f, err) != BP_OK ||
            load_exposures(p, pkg, yml_get(r, "exposures"), f, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}
