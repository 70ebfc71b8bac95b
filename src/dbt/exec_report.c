/* exec_report.c: what a dbt command prints: one line per node as it
 * starts and ends, the banner, the summary (dbt's words), `ls`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "exec_int.h"

double dbt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stamp(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%H:%M:%S", &tm);
}

FILE *dbt_console(const project *p) { return p->opts.out ? p->opts.out : stdout; }

/* "12:00:01  3 of 14 START sql view model s.x .......... [RUN]" */
void dbt_line(runner *r, int idx, const char *what, const char *status)
{
    if (r->p->opts.quiet)
        return;
    char ts[16], head[768];
    stamp(ts, sizeof ts);
    int n = snprintf(head, sizeof head, "%d of %d %s ", idx, r->norder, what);
    FILE *f = dbt_console(r->p);
    fprintf(f, "%s  %s", ts, head);
    for (int k = n; k < 72; k++)
        fputc('.', f);
    fprintf(f, " [%s]\n", status);
    fflush(f);
}

const char *dbt_kind_label(const node *n, char *b, size_t bn)
{
    if (n->type == NT_SEED)
        snprintf(b, bn, "seed file %s", n->relation);
    else if (n->type == NT_TEST)
        snprintf(b, bn, "test %s", n->name);
    else if (n->type == NT_UNIT) /* "unit_test " is 10 characters: run_one prints past it */
        snprintf(b, bn, "unit_test %s::%s", n->attached >= 0 ? n->fqn[n->nfqn - 2] : "?",
                 n->name);
    else if (n->type == NT_SNAPSHOT)
        snprintf(b, bn, "snapshot %s", n->relation);
    else
        snprintf(b, bn, "sql %s model %s", n->cfg.materialized, n->relation);
    return b;
}

const char *dbt_type_word(const node *n) { return dbt_node_type_name(n->type); }

/* ---- the report ---------------------------------------------------------------------------- */

void dbt_summary_print(runner *r, double secs, dbt_summary *sum)
{
    project *p = r->p;
    int seeds = 0, views = 0, tables = 0, incs = 0, tests = 0, snaps = 0, units = 0;
    memset(sum, 0, sizeof *sum);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->type == NT_SEED)
            seeds++;
        else if (n->type == NT_TEST)
            tests++;
        else if (n->type == NT_UNIT)
            units++;
        else if (n->type == NT_SNAPSHOT)
            snaps++;
        else if (!strcmp(n->cfg.materialized, "view"))
            views++;
        else if (!strcmp(n->cfg.materialized, "table"))
            tables++;
        else
            incs++;
        switch (n->status) {
        case ST_SUCCESS: case ST_PASS: sum->ok++; break;
        case ST_WARN: sum->warn++; break;
        case ST_SKIPPED: sum->skip++; break;
        default:
            if (!sum->error++) /* the first failure, for whoever reports the run */
                snprintf(sum->first_error, sizeof sum->first_error, "%s %s (%s): %s",
                         dbt_type_word(n), n->name, n->path ? n->path : "", n->message);
            break;
        }
        sum->total++;
    }
    /* a failed on-run-end is an error of the run (its exit code), as in
     * dbt since 1.3; the nodes' counts stay the nodes' */
    int hook = r->hook_error[0] != 0;
    if (hook && !sum->error)
        snprintf(sum->first_error, sizeof sum->first_error, "%s", r->hook_error);
    if (p->opts.quiet) { /* still say what failed */
        if (hook)
            bp_log(BP_LOG_ERROR, "%s", r->hook_error);
        sum->error += hook;
        for (int k = 0; k < r->norder; k++) {
            node *n = &p->nodes[r->order[k]];
            if (n->status == ST_ERROR || n->status == ST_FAIL)
                bp_log(BP_LOG_ERROR, "%s in %s %s (%s): %s",
                       n->status == ST_FAIL ? "Failure" : "Error", dbt_type_word(n), n->name,
                       n->path ? n->path : "", n->message);
        }
        return;
    }
    char ts[16];
    stamp(ts, sizeof ts);
    FILE *f = dbt_console(p);
    fprintf(f, "%s  \n%s  Finished running", ts, ts);
    const char *sep = " ";
    const struct {
        int n;
        const char *what;
    } parts[] = {{seeds, "seed"}, {tables, "table model"}, {views, "view model"},
                 {incs, "incremental model"}, {snaps, "snapshot"}, {tests, "data test"},
                 {units, "unit test"}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        if (parts[k].n) {
            fprintf(f, "%s%d %s%s", sep, parts[k].n, parts[k].what, parts[k].n == 1 ? "" : "s");
            sep = ", ";
        }
    fprintf(f, " in %.2fs.\n%s  \n", secs, ts);
    if (sum->error + hook)
        fprintf(f, "%s  Completed with %d error%s\n", ts, sum->error + hook,
                sum->error + hook == 1 ? "" : "s");
    else if (sum->warn)
        fprintf(f, "%s  Completed with %d warning%s\n", ts, sum->warn, sum->warn == 1 ? "" : "s");
    else
        fprintf(f, "%s  Completed successfully\n", ts);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->status == ST_ERROR || n->status == ST_FAIL || n->status == ST_WARN)
            fprintf(f, "%s  \n%s  %s in %s %s (%s)\n%s    %s\n", ts, ts,
                    n->status == ST_FAIL ? "Failure" : n->status == ST_WARN ? "Warning" : "Error",
                    dbt_type_word(n), n->name, n->path ? n->path : "", ts,
                    n->detail ? n->detail : n->message);
    }
    if (hook)
        fprintf(f, "%s  \n%s  on-run-end failed, error:\n%s    %s\n", ts, ts, ts, r->hook_error);
    fprintf(f, "%s  \n%s  Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d\n", ts, ts, sum->ok,
            sum->warn, sum->error, sum->skip, sum->total);
    sum->error += hook;
}

void dbt_banner(runner *r, int threads)
{
    project *p = r->p;
    if (p->opts.quiet)
        return;
    char ts[16];
    stamp(ts, sizeof ts);
    int count[NT_NTYPES] = {0}, macros = 0;
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i].cfg.enabled)
            count[p->nodes[i].type]++;
    for (int i = 0; i < p->npkgs; i++)
        macros += (int)p->pkgs[i].macros.n;
    fprintf(dbt_console(p), "%s  Running with bookpipe dbt (dbt-compatible)\n%s  Found %d models, "
            "%d snapshots, %d seeds, %d data tests, %d sources, %d macros, %d unit tests\n%s  \n%s  "
            "Concurrency: %d threads (target='%s')\n%s  \n", ts, ts, count[NT_MODEL],
            count[NT_SNAPSHOT], count[NT_SEED], count[NT_TEST], count[NT_SOURCE], macros,
            count[NT_UNIT], ts, ts, threads,
            p->target_name, ts);
}

void dbt_print_ls(project *p)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->selected || !n->cfg.enabled)
            continue;
        for (int k = 0; k < n->nfqn; k++)
            fprintf(dbt_console(p), "%s%s", k ? "." : "", n->fqn[k]);
        fputc('\n', dbt_console(p));
    }
}
