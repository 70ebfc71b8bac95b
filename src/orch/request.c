/* request.c: see request.h. */
#include "request.h"
#include "../core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../extract/kaggle.h"

static volatile sig_atomic_t stop_requested;

void orch_request_stop(void) { stop_requested = 1; }
bool orch_stop_requested(void) { return stop_requested != 0; }
volatile sig_atomic_t *orch_stop_flag(void) { return &stop_requested; }

/* The bundled dbt project: next to the binary, else ./project. */
const char *orch_bundled_project(char *out, size_t n)
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

bp_status orch_fetch_kaggle(run_request *r, bp_err *err)
{
    if (!r->kaggle)
        return BP_OK;
    kaggle_opts ko = {r->kaggle, NULL, r->view == VIEW_TTY};
    kaggle_result kr;
    bp_status st = kaggle_fetch(&ko, r->kaggle_zip, sizeof r->kaggle_zip, &kr, err);
    if (st != BP_OK)
        return st;
    if (r->view == VIEW_TTY || r->view == VIEW_PLAIN)
        bp_log(BP_LOG_INFO, "kaggle: %s %s (%.1f MB): %s", r->kaggle,
               kr.resumed ? "downloaded (resumed)"
               : kr.downloaded ? "downloaded" : "unchanged, not downloaded",
               (double)kr.bytes / 1e6, r->kaggle_zip);
    r->data = r->kaggle_zip;
    return BP_OK;
}

const char *orch_pipeline_file(const run_request *r, char *out, size_t n, char *proj, size_t pn)
{
    const char *pd = r->project_dir ? r->project_dir : orch_bundled_project(proj, pn);
    if (pd != proj)
        snprintf(proj, pn, "%s", pd ? pd : "");
    if (r->pipeline)
        snprintf(out, n, "%s", r->pipeline);
    else if (pd)
        snprintf(out, n, "%s/pipeline.yml", pd);
    else
        return NULL;
    return out;
}

bp_status orch_run_request(run_request *r, const char *trigger, orch_result *res, bp_err *err)
{
    char proj[4200], pfile[4400];
    if (!orch_pipeline_file(r, pfile, sizeof pfile, proj, sizeof proj))
        return bp_fail(err, BP_EINPUT, "no pipeline file: give --pipeline FILE (the bundled "
                       "project/pipeline.yml was not found)");
    bp_status kst = orch_fetch_kaggle(r, err);
    if (kst != BP_OK)
        return kst;
    orch_opts o = {0};
    o.pipeline = pfile;
    o.target = r->w.target;
    o.warehouse = r->w.warehouse;
    o.schema = r->w.schema;
    o.dsn = r->w.dsn;
    o.memory_limit = r->w.memory_limit;
    o.data = r->data;
    o.lake = r->lake;
    o.lake_keep = r->lake_keep;
    o.iam_role = r->iam_role ? r->iam_role : getenv("BOOKPIPE_REDSHIFT_IAM_ROLE");
    o.project_dir = proj[0] ? proj : NULL;
    o.state_dir = r->state_dir;
    o.models = r->models;
    o.clean = r->clean;
    o.var_keys = r->var_keys;
    o.var_vals = r->var_vals;
    o.nvars = r->nvars;
    o.select = r->select;
    o.from = r->from;
    o.only = r->only;
    o.full_refresh = r->full_refresh;
    o.jobs = r->jobs;
    o.trigger = trigger;
    o.view = r->view;
    o.stop = r->stop ? r->stop : &stop_requested;
    o.on_event = r->on_event;
    o.event_ctx = r->event_ctx;
    return orch_run(&o, res, err);
}
