/* ops.c: the dbt commands that run no graph: deps (local packages linked
 * into dbt_packages/; hub, git and tarball packages checked for, since
 * bookpipe runs offline), run-operation, debug and clean. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fs.h"
#include "dbt_int.h"
#include "../core/log.h"

static FILE *out_of(const dbt_opts *o) { return o->out ? o->out : stdout; }

/* ---- deps ---------------------------------------------------------------------------- */

static const char *installed_name(project *p, const char *dir, char *name, size_t n)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/dbt_project.yml", dir);
    yml_doc *doc;
    bp_err e = {0};
    if (yml_load(path, &doc, &e) != BP_OK)
        return NULL;
    snprintf(name, n, "%s", yml_get_str(yml_root(doc), "name", ""));
    yml_free(doc);
    (void)p;
    return *name ? name : NULL;
}

static bp_status link_local(project *p, const char *pkgdir, const char *local, FILE *f,
                            bp_err *err)
{
    char src[8400], real[PATH_MAX], name[256], dst[8800];
    snprintf(src, sizeof src, "%s/%s", p->dir, local);
    if (local[0] == '/')
        snprintf(src, sizeof src, "%s", local);
    if (!realpath(src, real))
        return bp_fail(err, BP_EINPUT, "packages.yml: local package %s: %s", local,
                       strerror(errno));
    if (!installed_name(p, real, name, sizeof name))
        return bp_fail(err, BP_EINPUT, "packages.yml: local package %s has no dbt_project.yml "
                       "with a name", local);
    snprintf(dst, sizeof dst, "%s/%s", pkgdir, name);
    fprintf(f, "Installing %s\n", local);
    struct stat sb;
    if (lstat(dst, &sb) == 0) {
        if (!S_ISLNK(sb.st_mode)) {
            fprintf(f, "  %s is a folder already (not a link); remove it to link %s again\n",
                    dst, local);
            return BP_OK;
        }
        if (unlink(dst) != 0)
            return bp_fail(err, BP_EIO, "%s: cannot replace: %s", dst, strerror(errno));
    }
    if (symlink(real, dst) != 0)
        return bp_fail(err, BP_EIO, "%s: cannot link to %s: %s", dst, real, strerror(errno));
    fprintf(f, "  Installed from <local @ %s>\n", local);
    return BP_OK;
}

/* A package that needs the network: fine when it is in dbt_packages/ already. */
static bp_status check_remote(const char *pkgdir, const char *what, const char *guess, FILE *f,
                              int *missing)
{
    char dir[8400], alt[256];
    snprintf(alt, sizeof alt, "%s", guess);
    for (char *c = alt; *c; c++)
        if (*c == '-')
            *c = '_';
    const char *names[2] = {guess, alt};
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/%s/dbt_project.yml", pkgdir, names[i]);
        struct stat sb;
        if (stat(dir, &sb) == 0) {
            fprintf(f, "Installing %s\n  Already in %s/%s (bookpipe does not fetch packages; "
                    "this copy is used)\n", what, pkgdir, names[i]);
            return BP_OK;
        }
    }
    bp_log(BP_LOG_ERROR, "%s needs the network (dbt hub, git or a tarball), and bookpipe "
           "installs packages offline only: put a copy of it in %s/%s (for example with git "
           "clone), then run dbt deps again", what, pkgdir, alt);
    (*missing)++;
    return BP_OK;
}

static const char *basename_of(const char *s, char *out, size_t n)
{
    const char *b = strrchr(s, '/');
    snprintf(out, n, "%s", b ? b + 1 : s);
    size_t len = strlen(out);
    if (len > 4 && !strcmp(out + len - 4, ".git"))
        out[len - 4] = 0;
    if (len > 7 && !strcmp(out + strlen(out) - 7, ".tar.gz"))
        out[strlen(out) - 7] = 0;
    return out;
}

bp_status dbt_ops_deps(const dbt_opts *o, bp_err *err)
{
    project p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    p.opts = *o;
    snprintf(p.dir, sizeof p.dir, "%s", o->project_dir ? o->project_dir : ".");
    char path[4200], pkgdir[4200];
    snprintf(path, sizeof path, "%s/dbt_project.yml", p.dir);
    bp_status st = yml_load(path, &p.project_doc, err);
    yml_doc *pk = NULL;
    FILE *f = out_of(o);
    int missing = 0;
    if (st != BP_OK)
        goto done;
    dbt_pkg_install_dir(&p, pkgdir, sizeof pkgdir);
    snprintf(path, sizeof path, "%s/packages.yml", p.dir);
    struct stat sb;
    if (stat(path, &sb) != 0)
        snprintf(path, sizeof path, "%s/dependencies.yml", p.dir);
    if (stat(path, &sb) != 0) {
        fprintf(f, "Nothing to install: no packages.yml or dependencies.yml in %s\n", p.dir);
        goto done;
    }
    if ((st = yml_load(path, &pk, err)) != BP_OK)
        goto done;
    const yml_node *list = yml_get(yml_root(pk), "packages");
    if (list && list->kind != YML_SEQ) {
        st = bp_fail(err, BP_EINPUT, "%s: packages: is a list", path);
        goto done;
    }
    if ((st = fs_mkdir_p(pkgdir, BP_EIO, "packages folder", err)) != BP_OK)
        goto done;
    for (size_t i = 0; list && i < list->n && st == BP_OK; i++) {
        const yml_node *e = list->items[i];
        const char *local = yml_get_str(e, "local", NULL), *hub = yml_get_str(e, "package", NULL),
                   *git = yml_get_str(e, "git", NULL), *tar = yml_get_str(e, "tarball", NULL);
        char guess[256];
        if (local)
            st = link_local(&p, pkgdir, local, f, err);
        else if (hub)
            st = check_remote(pkgdir, hub, basename_of(hub, guess, sizeof guess), f, &missing);
        else if (git)
            st = check_remote(pkgdir, git, basename_of(git, guess, sizeof guess), f, &missing);
        else if (tar)
            st = check_remote(pkgdir, tar, yml_get_str(e, "name", basename_of(tar, guess,
                                                                               sizeof guess)),
                              f, &missing);
        else
            st = bp_fail(err, BP_EINPUT, "%s:%d: a package is local:, package:, git: or "
                         "tarball:", path, e->line);
    }
    if (st == BP_OK && missing)
        st = bp_fail(err, BP_EINPUT, "%d package%s could not be installed offline (see above)",
                     missing, missing == 1 ? "" : "s");
done:
    yml_free(pk);
    yml_free(p.project_doc);
    arena_free(&p.mem);
    pthread_mutex_destroy(&p.mu);
    return st;
}

/* ---- run-operation ------------------------------------------------------------------- */

bp_status dbt_ops_run_operation(project *p, bp_err *err)
{
    const dbt_opts *o = &p->opts;
    if (!o->macro)
        return bp_fail(err, BP_EUSAGE, "run-operation takes the name of a macro");
    yml_doc *doc = NULL;
    arena a = {0};
    jv_args args = {0};
    bp_status st = BP_OK;
    if (o->macro_args) {
        if ((st = yml_parse("--args", o->macro_args, strlen(o->macro_args), &doc, err)) != BP_OK)
            return BP_EUSAGE;
        const yml_node *m = yml_root(doc);
        if (m && m->kind != YML_MAP) {
            yml_free(doc);
            return bp_fail(err, BP_EUSAGE, "--args takes a YAML mapping, like '{days: 3}'");
        }
        size_t n = m ? m->n : 0;
        args.nkw = n;
        args.kw_names = arena_alloc(&a, (n ? n : 1) * sizeof(char *));
        args.kw = arena_alloc(&a, (n ? n : 1) * sizeof(jv *));
        for (size_t i = 0; args.kw && args.kw_names && i < n; i++) {
            args.kw_names[i] = m->keys[i];
            args.kw[i] = dbt_proj_yml_value(&a, m->items[i]);
            if (!args.kw[i])
                st = bp_fail(err, BP_ENOMEM, "out of memory");
        }
        if (!args.kw || !args.kw_names)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
    }
    wh *w = NULL;
    if (st == BP_OK)
        st = o->conn ? wh_connect_more(o->conn, &w, err) : dbt_profile_open(p, &w, err);
    if (st == BP_OK) {
        if (!o->quiet)
            fprintf(out_of(o), "Running with bookpipe dbt (dbt-compatible)\n");
        st = wh_begin(w, err);
        if (st == BP_OK) {
            st = dbt_compile_call_macro(p, -1, w, o->macro, &args, NULL, NULL, err);
            if (st == BP_OK)
                st = wh_commit(w, err);
            else
                wh_rollback(w);
        }
        if (st != BP_OK)
            bp_err_prefix(err, "Encountered an error while running operation %s", o->macro);
    }
    if (w)
        wh_close(w);
    yml_free(doc);
    arena_free(&a);
    return st;
}

/* ---- debug ------------------------------------------------------------------------- */

bp_status dbt_ops_debug(const dbt_opts *o, bp_err *err)
{
    FILE *f = out_of(o);
    project p;
    dbt_opts ol = *o;
    ol.command = "debug";
    fprintf(f, "bookpipe dbt debug (dbt-compatible, no Python)\n");
    bp_status st = dbt_proj_load_config(&p, &ol, err);
    fprintf(f, "  project dir: %s\n", p.dir);
    fprintf(f, "  dbt_project.yml file [%s]\n", p.project_doc ? "OK found and valid" : "ERROR");
    fprintf(f, "  profiles.yml file [%s]\n", p.profiles_path ? p.profiles_path
                                             : "none: bookpipe's own warehouse is used");
    if (st != BP_OK) {
        dbt_proj_free(&p);
        return st;
    }
    fprintf(f, "Connection:\n  type: %s\n  target: %s\n  schema: %s\n  database: %s\n",
            p.target_type, p.target_name, p.target_schema, p.target_db ? p.target_db : "");
    if (p.wops->embedded)
        fprintf(f, "  path: %s\n", p.wh_path);
    wh *w = NULL;
    st = dbt_profile_open(&p, &w, err);
    long long one = 0;
    if (st == BP_OK)
        st = wh_query_int(w, "select 1", 0, &one, err);
    if (w)
        wh_close(w);
    fprintf(f, "  Connection test: [%s]\n", st == BP_OK && one == 1 ? "OK connection ok"
                                                                    : "ERROR");
    if (st == BP_OK)
        fprintf(f, "All checks passed!\n");
    dbt_proj_free(&p);
    return st;
}

/* ---- clean ------------------------------------------------------------------------- */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

bp_status dbt_ops_clean(const dbt_opts *o, bp_err *err)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", o->project_dir ? o->project_dir : ".");
    snprintf(path, sizeof path, "%s/dbt_project.yml", dir);
    yml_doc *doc;
    if (yml_load(path, &doc, err) != BP_OK)
        return BP_EINPUT;
    const yml_node *t = yml_get(yml_root(doc), "clean-targets");
    const char *dflt[1] = {yml_get_str(yml_root(doc), "target-path", "target")};
    size_t n = t && t->kind == YML_SEQ ? t->n : 1;
    bp_status st = BP_OK;
    for (size_t i = 0; i < n && st == BP_OK; i++) {
        const char *rel = t && t->kind == YML_SEQ ? (t->items[i]->kind == YML_SCALAR
                                                         ? t->items[i]->str : NULL)
                                                  : dflt[0];
        if (!rel)
            continue;
        /* only inside the project: never an absolute path or a way out */
        if (rel[0] == '/' || strstr(rel, "..")) {
            st = bp_fail(err, BP_EINPUT, "clean-targets: '%s' is outside the project; refused",
                         rel);
            break;
        }
        char target[8400];
        if (!fs_pathf(target, sizeof target, "%s/%s", dir, rel)) {
            st = bp_fail(err, BP_EINPUT, "clean-targets: '%s': path too long", rel);
            break;
        }
        struct stat sb;
        if (lstat(target, &sb) != 0)
            continue;
        int rc = S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)
                     ? unlink(target) : nftw(target, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        if (rc != 0)
            st = bp_fail(err, BP_EIO, "%s: cannot remove: %s", target, strerror(errno));
        else
            fprintf(out_of(o), "Cleaned %s\n", rel);
    }
    yml_free(doc);
    return st;
}
