/* exec_int.h: a dbt command's run, shared by its parts (internal to
 * src/dbt): exec_plan.c (the run set, its edges, the ready heap),
 * exec_report.c (console lines and the summary), exec.c (workers, hooks,
 * the commands). */
#ifndef BP_DBT_EXEC_INT_H
#define BP_DBT_EXEC_INT_H

#include <stdio.h>
#include <sys/time.h>

#include "dbt_int.h"

typedef struct {
    int *v;
    int n, cap;
} ivec;

typedef struct {
    project *p;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int *order;           /* run set, in a topological order */
    int norder;
    int *pos;             /* node -> position in order, -1 when not in the run */
    int *count;           /* what each node still waits for */
    bool *blocked;        /* an upstream failure: skip when its turn comes */
    ivec *waiters;        /* who waits for each node */
    int *heap;            /* ready nodes, by position */
    int nheap;
    int finished, next_index;
    bool stop;            /* --fail-fast saw a failure */
    int running;          /* nodes being built now */
    unsigned starts;      /* nodes started so far (did another start beside one?) */
    int want_alone;       /* nodes waiting to run again with nothing beside them */
    bool alone;           /* one of them runs now */
    double t0;
    struct timeval started_at;
    char hook_error[512];  /* on-run-end's failure: an error of the run (dbt >= 1.3) */
} runner;

bool dbt_ivec_push(ivec *a, int x);
double dbt_now_s(void);
FILE *dbt_console(const project *p);
/* "12:00:01  3 of 14 START sql view model s.x .......... [RUN]" */
void dbt_line(runner *r, int idx, const char *what, const char *status);
const char *dbt_kind_label(const node *n, char *b, size_t bn);
const char *dbt_type_word(const node *n);
bool dbt_failed(node_status s);

/* exec_plan.c */
bool dbt_wanted(const project *p, const node *n);
BP_MUST bp_status dbt_topo(runner *r, bp_err *err);
BP_MUST bp_status dbt_build_edges(runner *r, bp_err *err);
void dbt_heap_push(runner *r, int i);
int dbt_heap_pop(runner *r);
/* i is done: release its waiters (lock held) */
void dbt_finish(runner *r, int i);

/* exec_report.c */
void dbt_summary_print(runner *r, double secs, dbt_summary *sum);
void dbt_banner(runner *r, int threads);
void dbt_print_ls(project *p);

#endif
