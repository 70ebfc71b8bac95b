/* cmd_dbt.c: `bookpipe dbt <command>`, with dbt's flags. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/buf.h"
#include "../dbt/dbt.h"
#include "../orch/meta.h"
#include "cli.h"

static const char *const commands[] = {"build", "run", "test", "seed", "snapshot", "compile",
                                       "ls", "list", "parse", "docs", "run-operation", "deps",
                                       "debug", "clean"};
#define COMMAND_LIST "build, run, test, seed, snapshot, compile, ls, parse, docs generate, " \
                     "run-operation, deps, debug, clean"

/* Collect the words after a selection flag until the next flag, as dbt
 * takes `--select a b`. */
static const char *words(cli_args *a, buf *b)
{
    buf_reset(b);
    bool oom = a->val && buf_adds(b, a->val);
    for (; a->i < a->argc && a->argv[a->i][0] != '-'; a->i++)
        oom |= buf_addc(b, ' ') || buf_adds(b, a->argv[a->i]);
    if (oom) {
        fprintf(stderr, "bookpipe dbt: out of memory reading the selection\n");
        a->failed = true;
    }
    return b->p;
}

int cmd_dbt(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("dbt", "which dbt command? (" COMMAND_LIST ")");
    const char *cmd = argv[1];
    bool known = false;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        known = known || !strcmp(cmd, commands[i]);
    if (!known)
        return cli_usage_error("dbt", "unknown dbt command '%s' (" COMMAND_LIST ")", cmd);
    cli_args a;
    wh_spec wf;
    dbt_opts o = {0};
    int first = 1;
    /* docs generate, run-operation MACRO: a word after the command */
    if (!strcmp(cmd, "docs")) {
        if (argc < 3 || strcmp(argv[2], "generate") != 0)
            return cli_usage_error("dbt", "docs takes generate (docs serve is the web UI: "
                                   "bookpipe serve)");
        o.docs_command = "generate";
        first = 2;
    } else if (!strcmp(cmd, "run-operation")) {
        if (argc < 3 || argv[2][0] == '-')
            return cli_usage_error("dbt", "run-operation takes the name of a macro");
        o.macro = argv[2];
        first = 2;
    }
    cli_args_init(&a, "dbt", argc - first, argv + first);
    wh_spec_defaults(&wf);
    o.command = !strcmp(cmd, "list") ? "ls" : cmd;
    /* as dbt: the project in the current folder; else the bundled one */
    static char bundled[4200];
    struct stat sb;
    o.project_dir = stat("dbt_project.yml", &sb) == 0 ? "."
                    : orch_bundled_project(bundled, sizeof bundled) ? bundled : "project";
    buf sel = {0}, exc = {0};
    long long threads = 0;
    bool target_given = false;
    while (a.i < a.argc && !a.failed) {
        if (cli_flag(&a, "--target", true) || cli_flag(&a, "-t", true)) {
            wf.target = a.val;
            target_given = true;
        } else if (cli_wh_flag(&a, &wf)) {
            continue;
        } else if (cli_flag(&a, "--project-dir", true)) {
            o.project_dir = a.val;
        } else if (cli_flag(&a, "--profiles-dir", true)) {
            o.profiles_dir = a.val;
        } else if (cli_flag(&a, "--select", true) || cli_flag(&a, "-s", true) ||
                   cli_flag(&a, "--models", true) || cli_flag(&a, "-m", true)) {
            o.select = words(&a, &sel);
        } else if (cli_flag(&a, "--exclude", true)) {
            o.exclude = words(&a, &exc);
        } else if (cli_flag(&a, "--vars", true)) {
            o.vars = a.val;
        } else if (cli_flag(&a, "--args", true)) {
            o.macro_args = a.val;
        } else if (cli_flag(&a, "--full-refresh", false)) {
            o.full_refresh = true;
        } else if (cli_flag(&a, "--empty", false)) {
            o.empty = true;
        } else if (cli_flag(&a, "--store-failures", false)) {
            o.store_failures = true;
        } else if (cli_flag(&a, "--fail-fast", false) || cli_flag(&a, "-x", false)) {
            o.fail_fast = true;
        } else if (cli_flag(&a, "--threads", true)) {
            cli_int(&a, 1, 64, &threads);
        } else if (cli_flag(&a, "--quiet", false) || cli_flag(&a, "-q", false)) {
            o.quiet = true;
        } else {
            buf_free(&sel);
            buf_free(&exc);
            return cli_usage_error("dbt", "unknown argument '%s'", a.argv[a.i]);
        }
    }
    int rc = 0;
    if (a.failed) {
        rc = BP_EXIT_USAGE;
        goto done;
    }
    o.threads = (int)threads;
    /* a command that writes makes the pipeline's "up to date" untrue */
    if (strcmp(cmd, "compile") && strcmp(cmd, "ls") && strcmp(cmd, "list") &&
        strcmp(cmd, "test") && strcmp(cmd, "parse") && strcmp(cmd, "docs") &&
        strcmp(cmd, "deps") && strcmp(cmd, "debug") && strcmp(cmd, "clean"))
        o.before = meta_forget_fingerprints_cb;
    o.target = target_given ? wf.target : NULL;
    /* without a profile, --target names bookpipe's warehouse target */
    o.wh_target = target_given && (!strcmp(wf.target, "duckdb") || !strcmp(wf.target, "postgres"))
                      ? wf.target : NULL;
    o.wh_dsn = wf.dsn;
    o.wh_path = wf.warehouse;
    o.wh_schema = wf.schema;
    dbt_summary sum;
    bp_err err = {0};
    bp_status st = dbt_main(&o, &sum, &err);
    if (st != BP_OK)
        rc = cli_fail("dbt", st, err.msg);
    else if (sum.error)
        rc = BP_EXIT_FAIL;
done:
    buf_free(&sel);
    buf_free(&exc);
    return rc;
}
