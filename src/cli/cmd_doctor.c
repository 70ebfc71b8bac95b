/* cmd_doctor.c: `bookpipe doctor`: what the configured run needs, checked
 * one by one, with how to fix what is missing. Never prints a secret. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../extract/src.h"
#include "../orch/meta.h"
#include "../orch/pipeline_file.h"
#include "cli.h"
#include "../extract/kaggle.h"
#include "../lake/s3.h"

typedef struct {
    int fails, warns;
} tally;

static void report(tally *t, const char *level, const char *what, const char *detail,
                   const char *fix)
{
    printf("  %-5s %-22s %s\n", level, what, detail);
    if (fix && *fix)
        printf("        %-22s fix: %s\n", "", fix);
    t->fails += !strcmp(level, "FAIL");
    t->warns += !strcmp(level, "warn");
}

/* The nearest existing folder of path (path itself, or a parent). */
static void existing_dir(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s", path && *path ? path : ".");
    struct stat sb;
    while (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        char *slash = strrchr(out, '/');
        if (!slash || slash == out) {
            snprintf(out, n, "%s", slash == out ? "/" : ".");
            return;
        }
        *slash = 0;
    }
}

static void check_writable(tally *t, const char *what, const char *path, bool is_file)
{
    char dir[4200], detail[4400], fix[4400];
    if (is_file) {
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
        existing_dir(dir, dir, sizeof dir);
    } else
        existing_dir(path, dir, sizeof dir);
    struct stat ps;
    if (is_file && stat(path, &ps) == 0 && S_ISDIR(ps.st_mode)) {
        snprintf(detail, sizeof detail, "%s is a folder, not a file", path);
        report(t, "FAIL", what, detail, "name a file, e.g. --warehouse books.duckdb");
        return;
    }
    struct statvfs vs;
    double gb = statvfs(dir, &vs) == 0 ? (double)vs.f_bavail * (double)vs.f_frsize / 1e9 : -1;
    if (access(dir, W_OK) != 0) {
        snprintf(detail, sizeof detail, "%s: %s is not writable", path, dir);
        snprintf(fix, sizeof fix, "choose a writable place, or `chmod u+w %s`", dir);
        report(t, "FAIL", what, detail, fix);
        return;
    }
    snprintf(detail, sizeof detail, "%s (writable, %.1f GB free)", path, gb);
    /* a full load at scale 1 needs about 0.5 GB (warehouse, stage, lake) */
    report(t, gb >= 0 && gb < 1 ? "warn" : "ok", what, detail,
           gb >= 0 && gb < 1 ? "free some disk space: a run needs about 0.5 GB per 100 MB of "
                               "input" : NULL);
}

static bool has_pg_password(const char *dsn)
{
    if (getenv("PGPASSWORD") || getenv("PGPASSFILE"))
        return true;
    if (dsn && (strstr(dsn, "password=") || strchr(dsn, '@')))
        return true;
    const char *home = getenv("HOME");
    char path[4200];
    snprintf(path, sizeof path, "%s/.pgpass", home ? home : "");
    return home && access(path, R_OK) == 0;
}

static void check_postgres(tally *t, const run_request *cr)
{
    report(t, has_pg_password(cr->w.dsn) ? "ok" : "warn", "postgres credentials",
           has_pg_password(cr->w.dsn) ? "a password is configured (not shown)"
                                      : "no PGPASSWORD, ~/.pgpass or password in --dsn",
           has_pg_password(cr->w.dsn) ? NULL
                                      : "export PGPASSWORD=... or write ~/.pgpass (mode 600)"
                                        ", unless the server trusts this user");
    bp_err err = {0};
    wh *w = NULL;
    if (wh_spec_open(&cr->w, WH_OPEN_WRITE, &w, &err) != BP_OK) {
        report(t, "FAIL", "postgres connection", err.msg,
               "check PGHOST, PGPORT, PGUSER, PGDATABASE or --dsn, and that the server runs");
        return;
    }
    report(t, "ok", "postgres connection", "connected", NULL);
    char sql[1200];
    snprintf(sql, sizeof sql, "BEGIN; CREATE SCHEMA IF NOT EXISTS \"%s\"; CREATE TABLE "
             "\"%s\".bookpipe_doctor_probe (x int); CREATE SCHEMA IF NOT EXISTS "
             META_SCHEMA "; ROLLBACK", cr->w.schema, cr->w.schema);
    if (strchr(cr->w.schema, '"'))
        report(t, "FAIL", "postgres privileges", "the schema name holds a double quote",
               "choose a plain --schema name");
    else if (wh_exec(w, sql, &err) != BP_OK) {
        wh_rollback(w);
        report(t, "FAIL", "postgres privileges", err.msg,
               "GRANT CREATE ON DATABASE <db> TO <user> (schemas), or create the schemas "
               "for it");
    } else
        report(t, "ok", "postgres privileges", "can create the schemas and tables", NULL);
    wh_close(w);
}

/* The bucket answers a listing with the credentials found (never shown). */
static void check_s3(tally *t, const char *lake)
{
    s3_target st;
    bp_err err = {0};
    if (s3_open(lake, &st, &err) != BP_OK)
        report(t, "FAIL", "S3 lake", err.msg, "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
               "AWS_PROFILE");
    else if (s3_probe(&st, &err) != BP_OK)
        report(t, "FAIL", "S3 lake", err.msg, "check the bucket name, the endpoint "
               "(--s3-endpoint, AWS_ENDPOINT_URL) and the credentials' permissions");
    else {
        char detail[4400];
        snprintf(detail, sizeof detail, "%s: listed, region %s", lake, st.region);
        report(t, "ok", "S3 lake", detail, NULL);
    }
    memset(&st, 0, sizeof st);
}

/* Redshift loads from S3 with an IAM role. */
static void check_redshift_load(tally *t, const run_request *cr)
{
    const char *role = cr->iam_role ? cr->iam_role : getenv("BOOKPIPE_REDSHIFT_IAM_ROLE");
    if (!cr->lake || !s3_is_url(cr->lake))
        report(t, "FAIL", "redshift lake", cr->lake ? cr->lake : "no lake",
               "Redshift loads from S3: give --lake s3://BUCKET/PREFIX");
    if (!role || !*role)
        report(t, "FAIL", "redshift COPY role", "no IAM role",
               "give --iam-role arn:aws:iam::ACCOUNT:role/NAME (or BOOKPIPE_REDSHIFT_IAM_ROLE)");
    else
        report(t, "ok", "redshift COPY role", role, NULL);
}

static void check_inputs(tally *t, const run_request *cr)
{
    if (cr->kaggle) {
        char from[4400];
        bp_err err = {0};
        if (kaggle_credentials_from(from, sizeof from, &err) != BP_OK)
            report(t, "FAIL", "Kaggle credentials", err.msg, NULL);
        else {
            char detail[4600];
            snprintf(detail, sizeof detail, "%s from %s (the key is not shown)", cr->kaggle, from);
            report(t, "ok", "Kaggle credentials", detail, NULL);
        }
        return;
    }
    if (!cr->data) {
        report(t, "warn", "input data", "no --data given",
               "pass --data with a folder or the Kaggle zip (`bookpipe gen --out DIR` makes "
               "one)");
        return;
    }
    src_set set;
    bp_err err = {0};
    if (src_discover(cr->data, &set, &err) != BP_OK) {
        report(t, "FAIL", "input data", err.msg,
               "point --data at the folder or zip with Books, Users and Ratings");
        return;
    }
    char detail[4400];
    snprintf(detail, sizeof detail, "%s: %s, %s, %s", cr->data, set.file[0].label,
             set.file[1].label, set.file[2].label);
    report(t, "ok", "input data", detail, NULL);
}

int cmd_doctor(int argc, char **argv)
{
    run_request cr;
    int rc = cli_run_parse("doctor", argc, argv, &cr, NULL, NULL);
    if (rc)
        return rc;
    tally t = {0, 0};
    char detail[4400];
    printf("bookpipe doctor: target %s\n", cr.w.target);
    snprintf(detail, sizeof detail, "bookpipe %s, DuckDB %s", BOOKPIPE_VERSION,
             wh_duckdb_version());
    report(&t, "ok", "libraries", detail, NULL);
    char proj[4200], pfile[4400];
    pl_pipeline p;
    bp_err err = {0};
    if (!orch_pipeline_file(&cr, pfile, sizeof pfile, proj, sizeof proj))
        report(&t, "FAIL", "pipeline", "no pipeline file found",
               "give --pipeline FILE or --project-dir DIR");
    else if (pl_load(pfile, &p, &err) != BP_OK)
        report(&t, "FAIL", "pipeline", err.msg, "fix the pipeline file at the line shown");
    else {
        snprintf(detail, sizeof detail, "%.4000s: %d blocks%s%.300s", pfile, p.n,
                 p.schedule ? ", schedule " : "", p.schedule ? p.schedule : "");
        report(&t, "ok", "pipeline", detail, NULL);
        pl_free(&p);
    }
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/dbt_project.yml", proj);
    if (!proj[0] || access(probe, R_OK) != 0)
        report(&t, "FAIL", "dbt project", proj[0] ? proj : "not found",
               "give --project-dir with a dbt_project.yml");
    else
        report(&t, "ok", "dbt project", proj, NULL);
    check_inputs(&t, &cr);
    if (!strcmp(cr.w.target, "duckdb")) {
        check_writable(&t, "warehouse", cr.w.warehouse, true);
        char who[512];
        meta_lock_holder(cr.w.warehouse, who, sizeof who);
        if (who[0])
            report(&t, "warn", "run lock", who, "a run is going on; wait for it to end");
    } else if (!strcmp(cr.w.target, "postgres") || !strcmp(cr.w.target, "redshift")) {
        check_postgres(&t, &cr);
        check_writable(&t, "state folder", cr.state_dir ? cr.state_dir : ".bookpipe", false);
        if (!strcmp(cr.w.target, "redshift"))
            check_redshift_load(&t, &cr);
    } else
        report(&t, "FAIL", "target", cr.w.target, "use --target duckdb, postgres or redshift");
    if (cr.lake && s3_is_url(cr.lake))
        check_s3(&t, cr.lake);
    else if (cr.lake)
        check_writable(&t, "lake folder", cr.lake, false);
    printf("%d problem%s, %d warning%s\n", t.fails, t.fails == 1 ? "" : "s", t.warns,
           t.warns == 1 ? "" : "s");
    return t.fails ? BP_EXIT_FAIL : 0;
}
