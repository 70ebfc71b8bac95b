/* profile.c: the target from profiles.yml (--profiles-dir, the project's
 * folder, ~/.dbt) or, with none, bookpipe's own warehouse: its type, the
 * connection (a DuckDB path or libpq's settings), schema, database and
 * threads. */
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "dbt_int.h"
#include "../core/log.h"


static const char *home_dbt(char *path, size_t n)
{
    const char *h = getenv("HOME");
    snprintf(path, n, "%s/.dbt", h ? h : "");
    return path;
}

/* Render a profile value through Jinja (for env_var()). */
static const char *profile_value(project *p, const yml_node *out, const char *key, bp_err *err,
                                 bool *failed)
{
    const char *raw = yml_get_str(out, key, NULL);
    if (!raw || !dbt_has_jinja(raw))
        return raw;
    buf b = {0};
    const char *what = dbt_proj_strf(p, "%s (%s)", yml_file(p->profiles_doc), key);
    if (dbt_compile_string(p, what ? what : "profiles.yml", raw, &b, -1, err) != BP_OK) {
        *failed = true;
        buf_free(&b);
        return NULL;
    }
    const char *s = dbt_proj_str(p, b.p ? b.p : "", b.len);
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
        if (!strcmp(keys[i][1], "dbname"))
            p->target_db = v;
        /* libpq's conninfo: values quoted, \ and ' escaped */
        bool oom = buf_printf(&d, "%s%s='", d.len ? " " : "", keys[i][1]);
        for (const char *c = v; *c && !oom; c++)
            oom = ((*c == '\\' || *c == '\'') && buf_addc(&d, '\\')) || buf_addc(&d, *c);
        if (oom || buf_addc(&d, '\'')) {
            buf_free(&d);
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    }
    p->dsn = dbt_proj_str(p, d.p ? d.p : "", d.len);
    buf_free(&d);
    return p->dsn ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

/* DuckDB names a database after its file: jaffle_shop.duckdb is jaffle_shop. */
static const char *duck_db_name(project *p, const char *path)
{
    if (!path || !strcmp(path, ":memory:") || !*path)
        return "memory";
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    return dbt_proj_str(p, b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

static bp_status find_profiles(project *p, const char *pname, bp_err *err)
{
    char home[4200];
    const char *env = getenv("DBT_PROFILES_DIR");
    if (p->opts.profiles_dir) {
        struct stat sb;
        char path[4200];
        snprintf(path, sizeof path, "%s/profiles.yml", p->opts.profiles_dir);
        if (stat(p->opts.profiles_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return bp_fail(err, BP_EUSAGE, "--profiles-dir %s: no such folder",
                           p->opts.profiles_dir);
        if (stat(path, &sb) != 0)
            return bp_fail(err, BP_EUSAGE, "--profiles-dir %s has no profiles.yml",
                           p->opts.profiles_dir);
    }
    const char *dirs[4] = {p->opts.profiles_dir, env, p->dir, home_dbt(home, sizeof home)};
    for (int i = 0; i < 4 && pname; i++) {
        if (!dirs[i] || (i > 0 && p->opts.profiles_dir))
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/profiles.yml", dirs[i]);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        p->profiles_path = dbt_proj_str(p, path, strlen(path));
        return yml_load(path, &p->profiles_doc, err) == BP_OK ? BP_OK : BP_EINPUT;
    }
    return BP_OK;
}

bp_status dbt_profile_load(project *p, bp_err *err)
{
    const char *pname = yml_get_str(yml_root(p->project_doc), "profile", NULL);
    p->profile_name = pname;
    if (find_profiles(p, pname, err) != BP_OK)
        return err->status;
    const yml_node *prof = yml_get(yml_root(p->profiles_doc), pname ? pname : "");
    p->threads = 2;
    if (!prof) {
        if (p->opts.profiles_dir)
            return bp_fail(err, BP_EUSAGE, "%s: no profile named '%s' (the project's profile:)",
                           p->profiles_path, pname ? pname : "");
        /* no profile: bookpipe's own warehouse */
        p->target_name = "bookpipe";
        p->target_type = p->opts.wh_target ? p->opts.wh_target : "duckdb";
        if (!(p->wops = wh_ops_named(p->target_type)))
            return bp_fail(err, BP_EUSAGE, "unknown target '%s'", p->target_type);
        p->dsn = p->opts.wh_dsn;
        p->target_schema = p->opts.wh_schema ? p->opts.wh_schema : "books_schema";
        p->wh_path = p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb";
        /* bookpipe's own warehouse file is attached under its fixed name */
        p->target_db = p->wops->embedded ? "bookpipe_wh" : "bookpipe";
        return BP_OK;
    }
    const char *tname = p->opts.target ? p->opts.target : yml_get_str(prof, "target", "dev");
    const yml_node *out = yml_get(yml_get(prof, "outputs"), tname);
    if (!out)
        return bp_fail(err, BP_EUSAGE, "%s: profile '%s' has no output '%s'",
                       yml_file(p->profiles_doc), pname, tname);
    p->target_out = out;
    bool failed = false;
    p->target_name = tname;
    p->target_type = profile_value(p, out, "type", err, &failed);
    p->target_schema = profile_value(p, out, "schema", err, &failed);
    const char *dbpath = profile_value(p, out, "path", err, &failed);
    const char *threads = profile_value(p, out, "threads", err, &failed);
    const char *dbname = profile_value(p, out, "database", err, &failed);
    if (failed)
        return BP_EINPUT;
    if (!p->target_type)
        return bp_fail(err, BP_EUSAGE, "%s: output '%s' has no type", yml_file(p->profiles_doc),
                       tname);
    if (!(p->wops = wh_ops_named(p->target_type)))
        return bp_fail(err, BP_EUSAGE, "%s: target type '%s' is not supported by bookpipe "
                       "(it runs duckdb, postgres and redshift)", yml_file(p->profiles_doc),
                       p->target_type);
    if (!p->wops->embedded) { /* a server: libpq's settings */
        const char *u = getenv("PGDATABASE");
        p->target_db = u ? u : "postgres";
        if (pg_dsn(p, out, err) != BP_OK)
            return BP_EINPUT;
    }
    if (!p->target_schema)
        p->target_schema = "main";
    if (p->wops->embedded) {
        p->wh_path = dbpath ? dbpath : (p->opts.wh_path ? p->opts.wh_path : "bookpipe.duckdb");
        /* a relative path is the project's, as dbt runs from the project */
        if (p->wh_path[0] != '/' && strcmp(p->wh_path, ":memory:") && strcmp(p->dir, "."))
            p->wh_path = dbt_proj_strf(p, "%s/%s", p->dir, p->wh_path);
        p->target_db = dbname ? dbname : duck_db_name(p, p->wh_path);
        p->catalog = p->target_db;
    }
    long tv = threads ? strtol(threads, NULL, 10) : 0;
    if (tv > 0 && tv <= 64)
        p->threads = (int)tv;
    return BP_OK;
}


/* dbt-duckdb's `settings:` mapping: memory_limit at open (DuckDB takes it
 * best there), the others as SET statements. */
bp_status dbt_profile_open(project *p, wh **out, bp_err *err)
{
    const yml_node *set = p->target_out && p->wops->embedded ? yml_get(p->target_out, "settings")
                                                              : NULL;
    if (set && set->kind != YML_MAP)
        return bp_fail(err, BP_EUSAGE, "%s:%d: settings: give a mapping of DuckDB settings "
                       "(memory_limit: 4GB)", yml_file(p->profiles_doc), set->line);
    const char *mem = set ? yml_get_str(set, "memory_limit", NULL) : NULL;
    wh_config cfg = {.target = p->target_type, .path = p->wh_path, .dsn = p->dsn,
                     .catalog = p->catalog, .memory_limit = mem};
    bp_status st = wh_open(&cfg, out, err);
    buf q = {0};
    for (size_t i = 0; st == BP_OK && set && i < set->n; i++) {
        const char *k = set->keys[i];
        const yml_node *v = set->items[i];
        if (!strcmp(k, "memory_limit"))
            continue;
        if (v->kind != YML_SCALAR || strspn(k, "abcdefghijklmnopqrstuvwxyz_0123456789") != strlen(k)) {
            st = bp_fail(err, BP_EUSAGE, "%s:%d: settings: %s: give a DuckDB setting's name and "
                         "a plain value", yml_file(p->profiles_doc), v->line, k);
            break;
        }
        buf_reset(&q);
        if (buf_printf(&q, "SET %s = ", k) || buf_add_sqlstr(&q, v->str)) {
            st = bp_fail(err, BP_ENOMEM, "out of memory");
            break;
        }
        /* one DuckDB does not know (an extension's: s3_region needs httpfs,
         * which bookpipe does not load) is said, not fatal */
        bp_err e = {0};
        if (wh_exec(*out, q.p, &e) != BP_OK)
            bp_log(BP_LOG_WARN, "%s:%d: settings: %s not applied: %s", yml_file(p->profiles_doc),
                   v->line, k, e.msg);
    }
    buf_free(&q);
    if (st != BP_OK && *out) {
        wh_close(*out);
        *out = NULL;
    }
    return st;
}
