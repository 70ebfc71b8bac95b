/* cmd_schedule.c: `bookpipe schedule`: start runs when the pipeline's cron
 * expression says, in the foreground (for hosts without cron). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../orch/pipeline_file.h"
#include "cli.h"

static void when_text(time_t t, char *out, size_t n)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M %Z", &tm);
}

typedef struct {
    long long next, max_runs;
} sched_flags;

static bool own_flag(cli_args *a, void *ctx)
{
    sched_flags *f = ctx;
    if (cli_flag(a, "--next", true))
        return cli_int(a, 1, 1000, &f->next) || true;
    if (cli_flag(a, "--max-runs", true))
        return cli_int(a, 1, 1000000, &f->max_runs) || true;
    return false;
}

int cmd_schedule(int argc, char **argv)
{
    run_request cr;
    sched_flags f = {0, 0};
    int rc = cli_run_parse("schedule", argc, argv, &cr, own_flag, &f);
    if (rc)
        return rc;
    long long next = f.next, max_runs = f.max_runs;
    char proj[4200], pfile[4400];
    if (!orch_pipeline_file(&cr, pfile, sizeof pfile, proj, sizeof proj))
        return cli_usage_error("schedule", "no pipeline file: give --pipeline FILE");
    pl_pipeline p;
    bp_err err = {0};
    bp_status st = pl_load(pfile, &p, &err);
    if (st != BP_OK)
        return cli_fail("schedule", st, err.msg);
    if (!p.schedule) {
        pl_free(&p);
        return cli_fail("schedule", BP_EINPUT, "the pipeline has no schedule: add `schedule: "
                        "\"0 3 * * *\"` (a cron expression) to it");
    }
    cron_spec cron = p.cron;
    char expr[256];
    snprintf(expr, sizeof expr, "%s", p.schedule);
    pl_free(&p);
    time_t t = cron_now();
    char txt[64];
    if (next) {
        for (long long i = 0; i < next; i++) {
            t = cron_next(&cron, t);
            if (t < 0)
                return cli_fail("schedule", BP_EINPUT, "the schedule never fires");
            when_text(t, txt, sizeof txt);
            printf("%s\n", txt);
        }
        return 0;
    }
    cli_catch_signals();
    int last = 0;
    for (long long n = 0; !max_runs || n < max_runs; n++) {
        t = cron_next(&cron, cron_now());
        if (t < 0)
            return cli_fail("schedule", BP_EINPUT, "the schedule never fires");
        when_text(t, txt, sizeof txt);
        printf("schedule %s: next run at %s\n", expr, txt);
        fflush(stdout);
        while (cron_now() < t && !orch_stop_requested())
            usleep(200 * 1000);
        if (orch_stop_requested())
            return BP_EXIT_INTR;
        orch_result res;
        bp_err e = {0};
        st = orch_run_request(&cr, "schedule", &res, &e);
        last = cli_run_exit("schedule", st, &e, &res);
        if (last == BP_EXIT_INTR)
            return last;
        /* a failed run is in the history; the schedule goes on */
    }
    return last;
}
