/* cmd_run.c: `bookpipe run` and `bookpipe ingest`. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../orch/orch.h"
#include "../ingest/ingest.h"
#include "cli.h"
#include "../core/fs.h"
#include "../core/num.h"
#include "../extract/kaggle.h"
#include "../lake/lake.h"
#include "../orch/meta.h"
#include "../lake/s3.h"

static void print_summary(const run_request *ra, const ingest_opts *io, const ingest_report *r)
{
    bool duck = !strcmp(ra->w.target, "duckdb");
    printf("run %lld loaded into %s%s (schema %s) in %.2f s\n", (long long)r->run_id,
           duck ? "" : "the postgres target", duck ? ra->w.warehouse : "", ra->w.schema,
           r->t_total);
    ingest_report_print(stdout, r);
    printf("  tables: %s.books, %s.users, %s.ratings, %s.quarantine, %s.load_audit\n",
           ra->w.schema, ra->w.schema, ra->w.schema, ra->w.schema, ra->w.schema);
    if (io->lake)
        printf("  lake:   %s/run=%lld/{books,users,ratings}.parquet (and latest ->)\n", io->lake,
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

static void on_signal(int sig)
{
    (void)sig;
    orch_request_stop(); /* only sets a flag: safe in a handler */
}

/* Ctrl-C and SIGTERM stop the run cleanly (rolled back, lake temps removed). */
void cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* a blocked read goes on; the flag is polled */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int ingest_main(int argc, char **argv)
{
    run_request cr;
    int rc = cli_run_parse("ingest", argc, argv, &cr, NULL, NULL);
    if (rc)
        return rc;
    bp_err kerr = {0};
    bp_status kst = orch_fetch_kaggle(&cr, &kerr);
    if (kst != BP_OK)
        return cli_fail("ingest", kst, kerr.msg);
    if (!cr.data)
        return cli_usage_error("ingest", "no input: give --data with a folder or the Kaggle "
                               "zip (`bookpipe gen --out DIR` makes a dataset)");
    ingest_opts io = {0};
    io.data = cr.data;
    io.schema = cr.w.schema;
    io.lake = cr.lake;
    io.lake_keep = cr.lake_keep;
    io.clean = cr.clean;
    io.progress = cr.view != VIEW_QUIET && isatty(2);
    io.stop = orch_stop_flag();
    /* duplicate keys that do not fit in memory spill beside the warehouse */
    char dir[4096] = ".";
    if (cr.w.warehouse && (!cr.w.target || !strcmp(cr.w.target, "duckdb")))
        fs_dirname(cr.w.warehouse, dir, sizeof dir);
    io.spill_dir = dir;
    bp_err err = {0};
    wh *w = NULL;
    char cap[32];
    orch_load_memory(cr.w.memory_limit, cap, sizeof cap);
    cr.w.memory_limit = cap;
    bp_status st = wh_spec_open(&cr.w, WH_OPEN_WRITE, &w, &err);
    /* before the load: were it after, a crash between would leave the
     * pipeline believing the warehouse holds what its last run loaded */
    if (st == BP_OK)
        st = meta_forget_fingerprints(w, &err);
    if (st != BP_OK) {
        wh_close(w);
        return cli_fail("ingest", st, err.msg);
    }
    ingest_report rep;
    cli_catch_signals();
    st = ingest_run(w, &io, &rep, &err);
    wh_close(w);
    if (st != BP_OK)
        return cli_fail("ingest", st, err.msg);
    if (cr.view != VIEW_QUIET)
        print_summary(&cr, &io, &rep);
    return 0;
}

int cmd_ingest(int argc, char **argv) { return ingest_main(argc, argv); }

/* ---- bookpipe run: the pipeline ---------------------------------------------------- */

static int add_var(run_request *cr, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || cr->nvars >= RUN_MAX_VARS)
        return cli_usage_error("run", "--var wants key=value (at most %d)", RUN_MAX_VARS);
    snprintf(cr->var_store[cr->nvars], sizeof cr->var_store[cr->nvars], "%.*s",
             (int)(eq - kv), kv);
    cr->var_keys[cr->nvars] = cr->var_store[cr->nvars];
    cr->var_vals[cr->nvars] = (char *)(eq + 1);
    cr->nvars++;
    return 0;
}

/* "8MB", "16MiB", "1048576" in bytes. */
static bool parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (!num_parse_size(s, &v) || v > SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

/* --kaggle [OWNER/DATASET] (the value is optional: the Book-Crossing
 * dataset when it is left out). */
static bool kaggle_flag(cli_args *a, run_request *cr)
{
    const char *arg = a->argv[a->i];
    if (!strncmp(arg, "--kaggle=", 9)) {
        cr->kaggle = arg + 9;
        a->i++;
        return true;
    }
    if (strcmp(arg, "--kaggle") != 0)
        return false;
    a->i++;
    const char *next = a->i < a->argc ? a->argv[a->i] : NULL;
    if (next && next[0] != '-' && strchr(next, '/')) {
        cr->kaggle = next;
        a->i++;
    } else
        cr->kaggle = KAGGLE_DEFAULT_DATASET;
    return true;
}

int cli_run_parse(const char *cmd, int argc, char **argv, run_request *cr, cli_extra_fn extra,
                  void *ctx)
{
    cli_args args, *a = &args;
    memset(cr, 0, sizeof *cr);
    cli_args_init(a, cmd, argc, argv);
    wh_spec_defaults(&cr->w);
    clean_config_default(&cr->clean);
    cr->lake = "lake";
    cr->lake_keep = 5;
    cr->models = true;
    cr->view = isatty(1) && isatty(2) ? VIEW_TTY : VIEW_PLAIN;
    long long v;
    s3_opts s3o = {NULL, 0, 0};
    while (a->i < argc && !a->failed) {
        if (cli_wh_flag(a, &cr->w))
            continue;
        if (cli_flag(a, "--data", true))
            cr->data = a->val;
        else if (cli_flag(a, "--lake", true))
            cr->lake = a->val;
        else if (cli_flag(a, "--no-lake", false))
            cr->lake = NULL;
        else if (kaggle_flag(a, cr))
            continue;
        else if (cli_flag(a, "--iam-role", true))
            cr->iam_role = a->val;
        else if (cli_flag(a, "--s3-endpoint", true))
            s3o.endpoint = a->val;
        else if (cli_flag(a, "--s3-part-size", true)) {
            if (!parse_size(a->val, &s3o.part_size) || s3o.part_size < 1024)
                return cli_usage_error(cmd, "--s3-part-size %s: give a size such as 8MB "
                                       "(at least 1KB; S3 itself wants 5MB or more)", a->val);
        } else if (cli_flag(a, "--s3-parallel", true)) {
            if (cli_int(a, 1, 64, &v))
                s3o.parallel = (int)v;
        } else if (cli_flag(a, "--lake-rows-per-part", true)) {
            if (cli_int(a, 1000, 1000000000, &v))
                lake_set_rows_per_part(v);
        }
        else if (cli_flag(a, "--no-models", false))
            cr->models = false;
        else if (cli_flag(a, "--project-dir", true))
            cr->project_dir = a->val;
        else if (cli_flag(a, "--pipeline", true))
            cr->pipeline = a->val;
        else if (cli_flag(a, "--state-dir", true))
            cr->state_dir = a->val;
        else if (cli_flag(a, "--memory-limit", true)) {
            uint64_t cap;
            if (!num_parse_size(a->val, &cap) || cap < (16ULL << 20))
                return cli_usage_error(cmd, "--memory-limit %s: give a size such as 512MB or "
                                       "4GB (at least 16MB)", a->val);
            cr->w.memory_limit = a->val;
        }
        else if (cli_flag(a, "--quiet", false))
            cr->view = VIEW_QUIET;
        else if (cli_flag(a, "--json", false))
            cr->view = VIEW_JSON;
        else if (cli_flag(a, "--plain", false))
            cr->view = VIEW_PLAIN;
        else if (cli_flag(a, "--var", true)) {
            if (add_var(cr, a->val))
                return BP_EXIT_USAGE;
        } else if (cli_flag(a, "--select", true))
            cr->select = a->val;
        else if (cli_flag(a, "--from", true))
            cr->from = a->val;
        else if (cli_flag(a, "--only", true))
            cr->only = a->val;
        else if (cli_flag(a, "--full-refresh", false))
            cr->full_refresh = true;
        else if (cli_flag(a, "--jobs", true)) {
            if (cli_int(a, 1, 256, &v))
                cr->jobs = (int)v;
        } else if (cli_flag(a, "--lake-keep", true)) {
            if (cli_int(a, 0, 1000000, &v))
                cr->lake_keep = (int)v;
        } else if (cli_flag(a, "--allow-empty", false))
            cr->clean.allow_empty = true;
        else if (cli_flag(a, "--allow-shrink", false))
            cr->clean.allow_shrink = true;
        else if (cli_flag(a, "--min-age", true)) {
            if (cli_int(a, 0, 1000, &v))
                cr->clean.age_min = (int)v;
        } else if (cli_flag(a, "--max-age", true)) {
            if (cli_int(a, 0, 1000, &v))
                cr->clean.age_max = (int)v;
        } else if (!extra || !extra(a, ctx))
            return cli_usage_error(cmd, "unknown argument '%s'", argv[a->i]);
    }
    if (a->failed)
        return BP_EXIT_USAGE;
    s3_configure(&s3o);
    if (cr->kaggle && cr->data)
        return cli_usage_error(cmd, "give --data or --kaggle, not both");
    if (cr->clean.age_min > cr->clean.age_max)
        return cli_usage_error(cmd, "--min-age is above --max-age");
    return 0;
}

int cli_run_exit(const char *cmd, bp_status st, const bp_err *err, const orch_result *res)
{
    if (st != BP_OK)
        return cli_fail(cmd, st, err->msg);
    if (!strcmp(res->status, "completed"))
        return 0;
    if (!strcmp(res->status, "cancelled"))
        return BP_EXIT_INTR;
    int rc = bp_exit_code(res->first_error);
    return rc ? rc : BP_EXIT_FAIL;
}

int cmd_run(int argc, char **argv)
{
    run_request cr;
    int rc = cli_run_parse("run", argc, argv, &cr, NULL, NULL);
    if (rc)
        return rc;
    cli_catch_signals();
    orch_result res;
    bp_err err = {0};
    bp_status st = orch_run_request(&cr, "cli", &res, &err);
    return cli_run_exit("run", st, &err, &res);
}
