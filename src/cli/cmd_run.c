/* cmd_run.c: `bookpipe run` and `bookpipe ingest`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../dbt/dbt.h"
#include "../pipeline/ingest.h"
#include "cli.h"

typedef struct {
    cli_wh w;
    ingest_opts o;
    bool quiet;
    bool models;              /* build the dbt project after loading (run only) */
    const char *project_dir;  /* NULL: the bundled one */
} run_args;

static int parse(const char *cmd, int argc, char **argv, run_args *ra)
{
    cli_args a;
    cli_args_init(&a, cmd, argc, argv);
    cli_wh_defaults(&ra->w);
    memset(&ra->o, 0, sizeof ra->o);
    clean_config_default(&ra->o.clean);
    ra->o.lake = "lake";
    /* bounded memory during the load; DuckDB spills what does not fit */
    ra->w.memory_limit = "128MB";
    ra->quiet = false;
    ra->models = strcmp(cmd, "run") == 0;
    ra->project_dir = NULL;
    long long v;
    while (a.i < argc && !a.failed) {
        if (cli_wh_flag(&a, &ra->w))
            continue;
        if (cli_flag(&a, "--data", true))
            ra->o.data = a.val;
        else if (cli_flag(&a, "--lake", true))
            ra->o.lake = a.val;
        else if (cli_flag(&a, "--no-lake", false))
            ra->o.lake = NULL;
        else if (cli_flag(&a, "--no-models", false))
            ra->models = false;
        else if (cli_flag(&a, "--project-dir", true))
            ra->project_dir = a.val;
        else if (cli_flag(&a, "--memory-limit", true))
            ra->w.memory_limit = a.val;
        else if (cli_flag(&a, "--quiet", false))
            ra->quiet = true;
        else if (cli_flag(&a, "--min-age", true)) {
            if (cli_int(&a, 0, 1000, &v))
                ra->o.clean.age_min = (int)v;
        } else if (cli_flag(&a, "--max-age", true)) {
            if (cli_int(&a, 0, 1000, &v))
                ra->o.clean.age_max = (int)v;
        } else
            return cli_usage_error(cmd, "unknown argument '%s'", argv[a.i]);
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    if (!ra->o.data)
        return cli_usage_error(cmd, "no input: give --data with a folder or the Kaggle zip "
                                    "(`bookpipe gen --out DIR` makes a dataset)");
    if (ra->o.clean.age_min > ra->o.clean.age_max)
        return cli_usage_error(cmd, "--min-age is above --max-age");
    ra->o.schema = ra->w.schema;
    ra->o.progress = !ra->quiet && isatty(2);
    return 0;
}

static void print_summary(const run_args *ra, const ingest_report *r)
{
    bool duck = !strcmp(ra->w.target, "duckdb");
    printf("run %lld loaded into %s%s (schema %s) in %.2f s\n", (long long)r->run_id,
           duck ? "" : "the postgres target", duck ? ra->w.warehouse : "", ra->w.schema,
           r->t_total);
    printf("  %-22s %-7s %12s %12s %12s %10s\n", "source", "format", "read", "loaded",
           "quarantined", "repaired");
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *s = &r->st[t];
        printf("  %-22s %-7s %12llu %12llu %12llu %10llu\n", r->label[t], r->format[t],
               (unsigned long long)s->read, (unsigned long long)s->loaded,
               (unsigned long long)s->quarantined, (unsigned long long)s->repaired);
    }
    printf("  tables: %s.books, %s.users, %s.ratings, %s.quarantine, %s.load_audit\n",
           ra->w.schema, ra->w.schema, ra->w.schema, ra->w.schema, ra->w.schema);
    if (ra->o.lake)
        printf("  lake:   %s/{books,users,ratings}/run=%lld/ (and latest ->)\n", ra->o.lake,
               (long long)r->run_id);
    uint64_t bytes = r->bytes[0] + r->bytes[1] + r->bytes[2];
    uint64_t rows = r->st[0].read + r->st[1].read + r->st[2].read;
    struct rusage ru;
    long rss_mb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024 : -1;
    printf("  stages: read+clean %.2f s and warehouse load %.2f s (overlapping), lake %.2f s, "
           "commit %.2f s\n", r->t_clean, r->t_load, r->t_lake, r->t_commit);
    printf("  input:  %.1f MB, %llu rows: %.1f MB/s, %.0f rows/s; peak RSS %ld MB\n",
           (double)bytes / 1e6, (unsigned long long)rows,
           r->t_total > 0 ? (double)bytes / 1e6 / r->t_total : 0.0,
           r->t_total > 0 ? (double)rows / r->t_total : 0.0, rss_mb);
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Ctrl-C and SIGTERM stop the run cleanly (rolled back, lake temps removed). */
static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* a blocked read goes on; the flag is polled */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The bundled dbt project: next to the binary, else ./project. */
static const char *bundled_project(char *out, size_t n)
{
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat sb;
    if (k > 0) {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        snprintf(out, n, "%s/project", exe);
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/dbt_project.yml", out);
        if (stat(probe, &sb) == 0)
            return out;
        /* build/bookpipe: the project is one folder up */
        snprintf(out, n, "%s/../project", exe);
        snprintf(probe, sizeof probe, "%s/dbt_project.yml", out);
        if (stat(probe, &sb) == 0)
            return out;
    }
    snprintf(out, n, "project");
    return stat("project/dbt_project.yml", &sb) == 0 ? out : NULL;
}

/* Seeds, models and tests of the project, on the warehouse just loaded. */
static int build_models(const char *cmd, const run_args *ra)
{
    char dir[4200];
    const char *pd = ra->project_dir ? ra->project_dir : bundled_project(dir, sizeof dir);
    if (!pd) {
        fprintf(stderr, "bookpipe %s: no dbt project found (give --project-dir); models "
                "skipped\n", cmd);
        return 0;
    }
    dbt_opts o = {0};
    o.command = "build";
    o.project_dir = pd;
    o.wh_target = ra->w.target;
    o.wh_dsn = ra->w.dsn;
    o.wh_path = ra->w.warehouse;
    o.wh_schema = ra->w.schema;
    o.quiet = true;
    dbt_summary sum;
    bp_err err = {0};
    bp_status st = dbt_main(&o, &sum, &err);
    if (st != BP_OK)
        return cli_fail(cmd, st, err.msg);
    if (!ra->quiet)
        printf("  models: %s: PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d (%s/target/run_results.json)\n",
               pd, sum.ok, sum.warn, sum.error, sum.skip, sum.total, pd);
    if (sum.error) {
        fprintf(stderr, "bookpipe %s: %d model(s) or test(s) failed; see above and "
                "`bookpipe dbt build --project-dir %s`\n", cmd, sum.error, pd);
        return BP_EXIT_FAIL;
    }
    return 0;
}

static int run_common(const char *cmd, int argc, char **argv)
{
    run_args ra;
    int rc = parse(cmd, argc, argv, &ra);
    if (rc)
        return rc;
    bp_err err = {0};
    wh *w = NULL;
    bp_status st = cli_wh_open(&ra.w, false, &w, &err);
    if (st != BP_OK)
        return cli_fail(cmd, st, err.msg);
    ingest_report rep;
    ra.o.stop = &stop_requested;
    catch_signals();
    st = ingest_run(w, &ra.o, &rep, &err);
    wh_close(w);
    if (st != BP_OK)
        return cli_fail(cmd, st, err.msg);
    if (!ra.quiet)
        print_summary(&ra, &rep);
    return ra.models ? build_models(cmd, &ra) : 0;
}

int cmd_run(int argc, char **argv) { return run_common("run", argc, argv); }
int cmd_ingest(int argc, char **argv) { return run_common("ingest", argc, argv); }
