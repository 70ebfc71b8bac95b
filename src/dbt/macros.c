/* macros.c: packages and their macros, found the way dbt finds them.
 *
 * The root project, every package installed under dbt_packages/ (each a
 * folder with a dbt_project.yml) and dbt's own macros (built into the
 * binary from src/dbt/macros/) are packages. A macro name resolves as in
 * dbt-core's MacroNamespace: the package of the node being rendered, the
 * root project, then dbt's own; package.name reaches any package.
 * adapter.dispatch follows dbt's _get_search_packages: the project's
 * `dispatch:` search order for a namespace, else the root project then the
 * namespace, trying <adapter>__, its parents' prefixes, then default__. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/embedded.h"
#include "../core/fs.h"
#include "builtin.h"
#include "dbt_int.h"

/* Block tags dbt adds to Jinja; parsed like macros. */
static const char *const macro_tags[] = {"test", "data_test", "materialization", "docs",
                                         "snapshot", NULL};

dbt_pkg *dbt_pkg_find(const project *p, const char *name)
{
    return strmap_get(&p->pkg_by_name, name);
}

const char *dbt_pkg_install_dir(const project *p, char *out, size_t n)
{
    const yml_node *r = yml_root(p->project_doc);
    const char *d = yml_get_str(r, "packages-install-path", NULL);
    if (!d)
        d = yml_get_str(r, "modules-path", "dbt_packages"); /* the pre-1.0 key */
    if (d[0] == '/')
        snprintf(out, n, "%s", d);
    else
        snprintf(out, n, "%s/%s", p->dir, d);
    return out;
}

static bp_status keep_tpl(project *p, jinja_tpl *t, bp_err *err)
{
    if (p->ntpls == p->cappls) {
        int cap = p->cappls ? p->cappls * 2 : 64;
        jinja_tpl **n = realloc(p->tpls, (size_t)cap * sizeof *n);
        if (!n) {
            jinja_tpl_free(t);
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
        p->tpls = n;
        p->cappls = cap;
    }
    p->tpls[p->ntpls++] = t;
    return BP_OK;
}

/* The name a block is registered under: test_<name> for tests,
 * materialization_<name>_<adapter> for materializations. */
static const char *reg_name(project *p, jinja_macro *m)
{
    const char *tag = jinja_macro_tag(m), *name = jinja_macro_name(m);
    if (!strcmp(tag, "test") || !strcmp(tag, "data_test"))
        return dbt_proj_strf(p, "test_%s", name);
    if (!strcmp(tag, "materialization")) {
        const char *ad = jinja_macro_tag_arg(m, "adapter");
        return dbt_proj_strf(p, "materialization_%s_%s", name, ad ? ad : "default");
    }
    return name;
}

/* Register the macros of one parsed file in pkg. */
static bp_status add_file_macros(project *p, dbt_pkg *pkg, jinja_tpl *t, bp_err *err)
{
    jinja_tpl_set_data(t, pkg);
    for (size_t i = 0; i < jinja_tpl_nmacros(t); i++) {
        jinja_macro *m = jinja_tpl_macro(t, i);
        const char *tag = jinja_macro_tag(m);
        if (!strcmp(tag, "snapshot"))
            continue; /* snapshots are nodes (snapshot-paths), not macros */
        strmap *map = !strcmp(tag, "docs") ? &pkg->docs : &pkg->macros;
        const char *name = reg_name(p, m);
        if (!name)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        jinja_macro *old = strmap_get(map, name);
        if (old && !pkg->internal)
            return bp_fail(err, BP_EINPUT,
                           "%s:%d: a second macro named '%s' in package '%s' (the first is at "
                           "%s:%d); dbt refuses duplicate macro names, rename one",
                           jinja_macro_file(m), jinja_macro_line(m), jinja_macro_name(m),
                           pkg->name, jinja_macro_file(old), jinja_macro_line(old));
        if (!strmap_put(map, name, m))
            return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    return BP_OK;
}

static bp_status parse_macro_text(project *p, dbt_pkg *pkg, const char *file, const char *src,
                                  size_t n, bp_err *err)
{
    jinja_tpl *t;
    jinja_env env = dbt_env;
    env.macro_tags = macro_tags;
    bp_status st = jinja_parse(file, src, n, &env, &t, err);
    if (st != BP_OK)
        return st;
    if ((st = keep_tpl(p, t, err)) != BP_OK)
        return st;
    return add_file_macros(p, pkg, t, err);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Every .sql (macros) or .md (docs) file under dir, sorted. */
static bp_status walk_macros(project *p, dbt_pkg *pkg, const char *dir, bool docs_only,
                             bp_err *err)
{
    char **names;
    size_t n;
    bp_status st = fs_list_dir(dir, &names, &n, err);
    if (st != BP_OK)
        return st;
    for (size_t i = 0; i < n && st == BP_OK; i++) {
        char path[8200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            st = walk_macros(p, pkg, path, docs_only, err);
            continue;
        }
        bool want = docs_only ? ends_with(path, ".md") : ends_with(path, ".sql");
        if (!want)
            continue;
        const char *full = dbt_proj_str(p, path, strlen(path)), *src;
        size_t len;
        if (!full)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        else if ((st = dbt_proj_read_file(p, full, &src, &len, err)) == BP_OK)
            st = parse_macro_text(p, pkg, full, src, len, err);
    }
    fs_free_list(names, n);
    return st;
}

/* The folders a package lists under key, or the default. */
static bp_status pkg_paths(project *p, dbt_pkg *pkg, const char *key, const char *dflt,
                           bool docs_only, const char *suffix, bp_err *err)
{
    const yml_node *v = yml_get(yml_root(pkg->doc), key);
    char dir[8200];
    if (!v) {
        snprintf(dir, sizeof dir, "%s/%s%s", pkg->dir, dflt, suffix);
        return walk_macros(p, pkg, dir, docs_only, err);
    }
    for (size_t i = 0; v->kind == YML_SEQ && i < v->n; i++) {
        if (v->items[i]->kind != YML_SCALAR)
            continue;
        snprintf(dir, sizeof dir, "%s/%s%s", pkg->dir, v->items[i]->str, suffix);
        if (walk_macros(p, pkg, dir, docs_only, err) != BP_OK)
            return BP_EINPUT;
    }
    return BP_OK;
}

static bp_status load_pkg_macros(project *p, dbt_pkg *pkg, bp_err *err)
{
    /* macros, generic tests (tests/generic) and docs blocks (in .md files
     * under the model paths: dbt's docs-paths default) */
    if (pkg_paths(p, pkg, "macro-paths", "macros", false, "", err) != BP_OK ||
        pkg_paths(p, pkg, "test-paths", "tests", false, "/generic", err) != BP_OK)
        return BP_EINPUT;
    if (yml_get(yml_root(pkg->doc), "docs-paths"))
        return pkg_paths(p, pkg, "docs-paths", "models", true, "", err);
    return pkg_paths(p, pkg, "model-paths", "models", true, "", err);
}

/* The root, the installed packages (MAX_PACKAGES at most) and dbt's own:
 * allocated once, so pointers to packages stay valid. */
#define MAX_PACKAGES 512

static dbt_pkg *new_pkg(project *p, bp_err *err)
{
    if (!p->pkgs && !(p->pkgs = calloc(MAX_PACKAGES + 2, sizeof *p->pkgs))) {
        bp_fail(err, BP_ENOMEM, "out of memory");
        return NULL;
    }
    if (p->npkgs >= MAX_PACKAGES + 2) {
        bp_fail(err, BP_EINPUT, "more than %d packages installed", MAX_PACKAGES);
        return NULL;
    }
    return &p->pkgs[p->npkgs++];
}

/* One folder of the install path: a package when it holds a dbt_project.yml. */
static bp_status install_one(project *p, const char *dir, const char *entry, bp_err *err)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s/dbt_project.yml", dir, entry);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return BP_OK;
    yml_doc *doc;
    if (yml_load(path, &doc, err) != BP_OK)
        return BP_EINPUT;
    const char *pname = yml_get_str(yml_root(doc), "name", entry);
    if (dbt_pkg_find(p, pname)) { /* the root project listed as its own package */
        yml_free(doc);
        return BP_OK;
    }
    dbt_pkg *pkg = new_pkg(p, err);
    if (!pkg) {
        yml_free(doc);
        return BP_ENOMEM;
    }
    pkg->doc = doc;
    pkg->name = dbt_proj_str(p, pname, strlen(pname));
    pkg->dir = dbt_proj_strf(p, "%s/%s", dir, entry);
    if (!pkg->name || !pkg->dir || !strmap_put(&p->pkg_by_name, pkg->name, pkg))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    return BP_OK;
}

/* The installed packages: each folder of the install path with a
 * dbt_project.yml, named by its `name:`. */
static bp_status find_installed(project *p, bp_err *err)
{
    char dir[4200];
    dbt_pkg_install_dir(p, dir, sizeof dir);
    char **names;
    size_t n;
    if (fs_list_dir(dir, &names, &n, err) != BP_OK)
        return BP_EINPUT;
    bp_status st = BP_OK;
    for (size_t i = 0; i < n && st == BP_OK; i++)
        st = install_one(p, dir, names[i], err);
    fs_free_list(names, n);
    return st;
}

static bp_status load_builtin(project *p, dbt_pkg *pkg, bp_err *err)
{
    for (int i = 0; i < dbt_builtin_macros_count; i++) {
        const bp_embedded *f = &dbt_builtin_macros[i];
        const char *file = dbt_proj_strf(p, "<dbt>/%s", f->name);
        if (!file)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        if (parse_macro_text(p, pkg, file, (const char *)f->data, (size_t)f->len, err) != BP_OK)
            return BP_EINTERNAL;
    }
    return BP_OK;
}

bp_status dbt_macros_load(project *p, bp_err *err)
{
    dbt_pkg *root = new_pkg(p, err);
    if (!root)
        return BP_ENOMEM;
    root->name = p->name;
    root->dir = p->dir;
    root->root = true;
    root->doc = NULL; /* p->project_doc, shared: not freed twice */
    if (!strmap_put(&p->pkg_by_name, root->name, root))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (find_installed(p, err) != BP_OK)
        return BP_EINPUT;
    dbt_pkg *dbt = new_pkg(p, err);
    if (!dbt)
        return BP_ENOMEM;
    dbt->name = "dbt";
    dbt->dir = "";
    dbt->internal = true;
    if (!strmap_put(&p->pkg_by_name, "dbt", dbt))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    if (load_builtin(p, dbt, err) != BP_OK)
        return BP_EINTERNAL;
    for (int i = 0; i < p->npkgs - 1; i++) {
        dbt_pkg *pkg = &p->pkgs[i];
        yml_doc *saved = pkg->doc;
        if (pkg->root)
            pkg->doc = p->project_doc;
        bp_status st = load_pkg_macros(p, pkg, err);
        if (pkg->root)
            pkg->doc = saved;
        if (st != BP_OK)
            return st;
    }
    dbt_pkg *r = &p->pkgs[0];
    p->override_schema = strmap_get(&r->macros, "generate_schema_name") != NULL;
    p->override_alias = strmap_get(&r->macros, "generate_alias_name") != NULL;
    p->override_database = strmap_get(&r->macros, "generate_database_name") != NULL;
    p->dispatch = yml_get(yml_root(p->project_doc), "dispatch");
    return BP_OK;
}

void dbt_macros_free(project *p)
{
    for (int i = 0; i < p->npkgs; i++) {
        strmap_free(&p->pkgs[i].macros);
        strmap_free(&p->pkgs[i].docs);
        yml_free(p->pkgs[i].doc);
    }
    free(p->pkgs);
    for (int i = 0; i < p->ntpls; i++)
        jinja_tpl_free(p->tpls[i]);
    free(p->tpls);
    strmap_free(&p->pkg_by_name);
}

jinja_macro *dbt_macro_in(const dbt_pkg *pkg, const char *name)
{
    return pkg ? strmap_get(&pkg->macros, name) : NULL;
}

static const dbt_pkg *builtin_pkg(const project *p)
{
    return p->npkgs && p->pkgs[p->npkgs - 1].internal ? &p->pkgs[p->npkgs - 1] : NULL;
}

jinja_macro *dbt_macro_lookup(const project *p, const dbt_pkg *local, const char *name)
{
    jinja_macro *m;
    if (!p->npkgs) /* profiles and dbt_project.yml render before packages load */
        return NULL;
    if (local && (m = dbt_macro_in(local, name)))
        return m;
    if ((m = dbt_macro_in(&p->pkgs[0], name)))
        return m;
    return dbt_macro_in(builtin_pkg(p), name);
}

const char *const *dbt_adapter_prefixes(const project *p)
{
    return (p->wops ? p->wops : &wh_duckdb_ops)->dispatch;
}

/* The packages to search for namespace ns (NULL entries: the whole
 * context, as a bare name resolves). */
static int search_packages(const project *p, const char *ns, const char **out, int max)
{
    if (!ns) {
        out[0] = NULL;
        return 1;
    }
    for (size_t i = 0; p->dispatch && p->dispatch->kind == YML_SEQ && i < p->dispatch->n; i++) {
        const yml_node *d = p->dispatch->items[i];
        const char *mns = yml_get_str(d, "macro_namespace", NULL);
        const yml_node *order = yml_get(d, "search_order");
        if (!mns || strcmp(mns, ns) != 0 || !order || order->kind != YML_SEQ)
            continue;
        int n = 0;
        for (size_t k = 0; k < order->n && n < max; k++)
            if (order->items[k]->kind == YML_SCALAR)
                out[n++] = order->items[k]->str;
        return n;
    }
    if (dbt_pkg_find(p, ns)) {
        out[0] = p->name;
        out[1] = ns;
        return 2;
    }
    out[0] = NULL;
    return 1;
}

jinja_macro *dbt_macro_dispatch(const project *p, const dbt_pkg *local, const char *name,
                            const char *ns, buf *tried)
{
    const char *pk[32];
    int npk = search_packages(p, ns, pk, 32);
    const char *const *prefixes = dbt_adapter_prefixes(p);
    char full[512];
    for (int i = 0; i < npk; i++) {
        const dbt_pkg *pkg = pk[i] ? dbt_pkg_find(p, pk[i]) : NULL;
        for (int k = 0; prefixes[k]; k++) {
            snprintf(full, sizeof full, "%s__%s", prefixes[k], name);
            jinja_macro *m = pk[i] ? dbt_macro_in(pkg, full) : dbt_macro_lookup(p, local, full);
            /* only for the message when nothing is found: a short list is fine */
            if (tried && buf_printf(tried, "%s'%s%s%s'", tried->len ? ", " : "", pk[i] ? pk[i] : "",
                                    pk[i] ? "." : "", full))
                tried = NULL;
            if (m)
                return m;
        }
    }
    return NULL;
}
