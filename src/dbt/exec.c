/* exec.c: running a command over the selected nodes: the run set, the
 * order (each node waits for its parents and, in build, for the tests of
 * its parents, as dbt's add_test_edges has it), --threads workers,
 * skipping the descendants of failures, on-run-start / on-run-end hooks,
 * dbt's console lines and the target/ artifacts.
 *
 * Scheduling is linear in nodes + edges: every node counts what it waits
 * for, finished nodes release their waiters, ready nodes come off a heap
 * in topological order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "dbt_int.h"
#include "../core/log.h"

typedef struct {
    int *v;
    int n, cap;
} ivec;

static bool ivec_push(ivec *a, int x)
{
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 4;
        int *n = realloc(a->v, (size_t)cap * sizeof *n);
        if (!n)
            return false;
        a->v = n;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

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
    double t0;
    struct timeval started_at;
} runner;

static double now_s(void)
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

static FILE *console(const project *p) { return p->opts.out ? p->opts.out : stdout; }

/* "12:00:01  3 of 14 START sql view model s.x .......... [RUN]" */
static void line(runner *r, int idx, const char *what, const char *status)
{
    if (r->p->opts.quiet)
        return;
    char ts[16], head[768];
    stamp(ts, sizeof ts);
    int n = snprintf(head, sizeof head, "%d of %d %s ", idx, r->norder, what);
    FILE *f = console(r->p);
    fprintf(f, "%s  %s", ts, head);
    for (int k = n; k < 72; k++)
        fputc('.', f);
    fprintf(f, " [%s]\n", status);
    fflush(f);
}

static const char *kind_label(const node *n, char *b, size_t bn)
{
    if (n->type == NT_SEED)
        snprintf(b, bn, "seed file %s", n->relation);
    else if (n->type == NT_TEST)
        snprintf(b, bn, "test %s", n->name);
    else if (n->type == NT_SNAPSHOT)
        snprintf(b, bn, "snapshot %s", n->relation);
    else
        snprintf(b, bn, "sql %s model %s", n->cfg.materialized, n->relation);
    return b;
}

static const char *type_word(const node *n) { return dbt_node_type_name(n->type); }

/* ---- the run set and its edges ------------------------------------------------------- */

static bool wanted(const project *p, const node *n)
{
    const char *c = p->opts.command;
    if (!n->selected || !n->cfg.enabled)
        return false;
    if (dbt_node_is_ephemeral(n) && strcmp(c, "compile") != 0)
        return false;
    if (!strcmp(c, "build"))
        return n->type == NT_MODEL || n->type == NT_SEED || n->type == NT_SNAPSHOT ||
               n->type == NT_TEST;
    if (!strcmp(c, "run"))
        return n->type == NT_MODEL;
    if (!strcmp(c, "compile") || !strcmp(c, "docs"))
        return n->type == NT_MODEL || n->type == NT_TEST || n->type == NT_SNAPSHOT ||
               n->type == NT_ANALYSIS;
    if (!strcmp(c, "test"))
        return n->type == NT_TEST;
    if (!strcmp(c, "seed"))
        return n->type == NT_SEED;
    if (!strcmp(c, "snapshot"))
        return n->type == NT_SNAPSHOT;
    return false;
}

/* Topological order of the run set (iterative, parents first). */
static bp_status topo(runner *r, bp_err *err)
{
    project *p = r->p;
    char *state = calloc((size_t)p->nnodes + 1, 1);
    int *stack = malloc(((size_t)p->nnodes + 1) * sizeof *stack);
    int *next = calloc((size_t)p->nnodes + 1, sizeof *next);
    if (!state || !stack || !next) {
        free(state);
        free(stack);
        free(next);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    for (int s = 0; s < p->nnodes; s++) {
        if (state[s])
            continue;
        int top = 0;
        stack[top++] = s;
        state[s] = 1;
        while (top) {
            int i = stack[top - 1];
            if (next[i] < p->nodes[i].ndeps) {
                int d = p->nodes[i].deps[next[i]++];
                if (!state[d]) {
                    state[d] = 1;
                    stack[top++] = d;
                }
                continue;
            }
            top--;
            if (p->nodes[i].in_run) {
                r->pos[i] = r->norder;
                r->order[r->norder++] = i;
            }
        }
    }
    free(state);
    free(stack);
    free(next);
    return BP_OK;
}

/* The nodes i really waits for: its parents, looking through ephemeral
 * models (they are built into their children). */
static void effective_parents(const project *p, int i, ivec *out, int *seen, int mark, int depth)
{
    const node *n = &p->nodes[i];
    for (int k = 0; k < n->ndeps && depth < 64; k++) {
        int d = n->deps[k];
        if (seen[d] == mark)
            continue;
        seen[d] = mark;
        if (dbt_node_is_ephemeral(&p->nodes[d]))
            effective_parents(p, d, out, seen, mark, depth + 1);
        else
            ivec_push(out, d);
    }
}

/* Is every parent of test t an ancestor of x? (dbt adds a test edge only
 * then, so a relationships test never waits for its own target's child.) */
static bool parents_upstream(const project *p, int t, int x, int *seen, int *mark, ivec *stack)
{
    const node *tn = &p->nodes[t];
    if (tn->ndeps <= 1)
        return true;
    int m = ++*mark;
    stack->n = 0;
    ivec_push(stack, x);
    seen[x] = m;
    int found = 0;
    while (stack->n) {
        int i = stack->v[--stack->n];
        for (int k = 0; k < p->nodes[i].ndeps; k++) {
            int d = p->nodes[i].deps[k];
            if (seen[d] == m)
                continue;
            seen[d] = m;
            for (int j = 0; j < tn->ndeps; j++)
                found += tn->deps[j] == d;
            ivec_push(stack, d);
        }
    }
    return found >= tn->ndeps;
}

static bool add_edge(runner *r, int from, int to)
{
    r->count[to]++;
    return ivec_push(&r->waiters[from], to);
}

static bp_status build_edges(runner *r, bp_err *err)
{
    project *p = r->p;
    int *seen = calloc((size_t)p->nnodes + 1, sizeof *seen), *seen2 = NULL, mark = 0, mark2 = 0;
    ivec par = {0}, kids = {0}, stack = {0};
    bool ok = seen != NULL && (seen2 = calloc((size_t)p->nnodes + 1, sizeof *seen2)) != NULL;
    for (int k = 0; ok && k < r->norder; k++) {
        int i = r->order[k];
        par.n = 0;
        effective_parents(p, i, &par, seen, ++mark, 0);
        for (int j = 0; ok && j < par.n; j++)
            if (r->pos[par.v[j]] >= 0)
                ok = add_edge(r, par.v[j], i);
    }
    /* build: a test holds back the children of what it tests */
    for (int k = 0; ok && !strcmp(p->opts.command, "build") && k < r->norder; k++) {
        int t = r->order[k];
        if (p->nodes[t].type != NT_TEST)
            continue;
        par.n = 0;
        effective_parents(p, t, &par, seen, ++mark, 0);
        int m = ++mark;
        for (int j = 0; ok && j < par.n; j++) {
            /* children of this parent, through ephemeral ones */
            kids.n = 0;
            ok = ivec_push(&kids, par.v[j]);
            for (int q = 0; ok && q < kids.n; q++) {
                const node *a = &p->nodes[kids.v[q]];
                for (int c = 0; ok && c < a->nkids; c++) {
                    int x = a->kids[c];
                    if (seen[x] == m)
                        continue;
                    seen[x] = m;
                    if (dbt_node_is_ephemeral(&p->nodes[x])) {
                        ok = ivec_push(&kids, x);
                        continue;
                    }
                    if (p->nodes[x].type == NT_TEST || r->pos[x] < 0 || x == t)
                        continue;
                    if (parents_upstream(p, t, x, seen2, &mark2, &stack))
                        ok = add_edge(r, t, x);
                }
            }
        }
    }
    free(seen);
    free(seen2);
    free(par.v);
    free(kids.v);
    free(stack.v);
    return ok ? BP_OK : bp_fail(err, BP_ENOMEM, "out of memory");
}

/* ---- the ready heap (by topological position) ------------------------------------------- */

static void heap_push(runner *r, int i)
{
    int k = r->nheap++;
    r->heap[k] = i;
    while (k > 0) {
        int up = (k - 1) / 2;
        if (r->pos[r->heap[up]] <= r->pos[r->heap[k]])
            break;
        int t = r->heap[up];
        r->heap[up] = r->heap[k];
        r->heap[k] = t;
        k = up;
    }
}

static int heap_pop(runner *r)
{
    int top = r->heap[0];
    r->heap[0] = r->heap[--r->nheap];
    int k = 0;
    for (;;) {
        int l = 2 * k + 1, rr = l + 1, m = k;
        if (l < r->nheap && r->pos[r->heap[l]] < r->pos[r->heap[m]])
            m = l;
        if (rr < r->nheap && r->pos[r->heap[rr]] < r->pos[r->heap[m]])
            m = rr;
        if (m == k)
            break;
        int t = r->heap[m];
        r->heap[m] = r->heap[k];
        r->heap[k] = t;
        k = m;
    }
    return top;
}

static bool failed(node_status s) { return s == ST_ERROR || s == ST_SKIPPED || s == ST_FAIL; }

/* Node i is done: release what waits for it (with r->mu held). */
static void finish(runner *r, int i)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    r->finished++;
    for (int k = 0; k < r->waiters[i].n; k++) {
        int w = r->waiters[i].v[k];
        if (failed(n->status))
            r->blocked[w] = true;
        if (--r->count[w] == 0)
            heap_push(r, w);
    }
    if (p->opts.fail_fast && (n->status == ST_ERROR || n->status == ST_FAIL))
        r->stop = true;
    pthread_cond_broadcast(&r->cv);
}

/* ---- running one node ---------------------------------------------------------------- */

static void run_one(runner *r, wh *w, int i, int idx)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    char label[700], status[128], what[800];
    kind_label(n, label, sizeof label);
    snprintf(what, sizeof what, "START %s", label);
    pthread_mutex_lock(&r->mu);
    line(r, idx, what, "RUN");
    pthread_mutex_unlock(&r->mu);
    double t0 = now_s();
    bp_err err = {0};
    long long rows = 0;
    bp_status st;
    if (n->type == NT_SEED)
        st = dbt_mat_seed(p, w, i, &rows, &err);
    else if (n->type == NT_TEST)
        st = dbt_mat_test(p, w, i, &err);
    else if (n->type == NT_SNAPSHOT)
        st = dbt_mat_snapshot(p, w, i, &err);
    else
        st = dbt_mat_model(p, w, i, &err);
    n->secs = now_s() - t0;
    dbt_art_write_compiled(p, n);
    pthread_mutex_lock(&r->mu);
    if (st != BP_OK) {
        n->status = ST_ERROR;
        snprintf(n->message, sizeof n->message, "%.*s", (int)sizeof n->message - 1, err.msg);
        snprintf(what, sizeof what, "ERROR %s %s", n->type == NT_TEST ? "test" : "creating",
                 n->type == NT_TEST ? n->name : label);
        line(r, idx, what, "ERROR");
    } else if (n->type == NT_TEST) {
        static const char *const names[] = {"", "", "", "", "PASS", "FAIL", "WARN"};
        snprintf(what, sizeof what, "%s %s", names[n->status], n->name);
        if (n->status == ST_PASS)
            snprintf(status, sizeof status, "PASS in %.2fs", n->secs);
        else
            snprintf(status, sizeof status, "%s %lld in %.2fs", names[n->status], n->failures,
                     n->secs);
        if (n->status != ST_PASS)
            snprintf(n->message, sizeof n->message, "Got %lld result%s, configured to %s if %s",
                     n->failures, n->failures == 1 ? "" : "s",
                     n->status == ST_WARN ? "warn" : "fail",
                     n->status == ST_WARN ? (n->cfg.warn_if ? n->cfg.warn_if : "!= 0")
                                          : (n->cfg.error_if ? n->cfg.error_if : "!= 0"));
        line(r, idx, what, status);
    } else {
        n->status = ST_SUCCESS;
        if (n->type == NT_SEED) {
            snprintf(what, sizeof what, "OK loaded %s", label);
            snprintf(status, sizeof status, "INSERT %lld in %.2fs", rows, n->secs);
            snprintf(n->message, sizeof n->message, "INSERT %lld", rows);
        } else {
            snprintf(what, sizeof what, "OK %s %s", n->type == NT_SNAPSHOT ? "snapshotted"
                                                                          : "created", label);
            snprintf(status, sizeof status, "OK in %.2fs", n->secs);
            snprintf(n->message, sizeof n->message, "OK");
        }
        line(r, idx, what, status);
    }
    pthread_mutex_unlock(&r->mu);
}

static void skip_one(runner *r, int i)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    n->status = ST_SKIPPED;
    snprintf(n->message, sizeof n->message, "%s",
             p->opts.stop && *p->opts.stop ? "skipped: the run was cancelled"
             : r->stop && !r->blocked[i]   ? "skipped: --fail-fast after a failure"
                                           : "skipped: an upstream node failed");
    int idx = ++r->next_index;
    char what[800];
    if (n->type == NT_TEST)
        snprintf(what, sizeof what, "SKIP test %s", n->name);
    else
        snprintf(what, sizeof what, "SKIP relation %s", n->relation);
    line(r, idx, what, "SKIP");
    finish(r, i);
}

typedef struct {
    runner *r;
    wh *w;
} worker;

static void *work(void *arg)
{
    worker *wk = arg;
    runner *r = wk->r;
    project *p = r->p;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        if (r->nheap) {
            int i = heap_pop(r);
            if (r->blocked[i] || r->stop || (p->opts.stop && *p->opts.stop)) {
                skip_one(r, i);
                continue;
            }
            int idx = ++r->next_index;
            pthread_mutex_unlock(&r->mu);
            run_one(r, wk->w, i, idx);
            pthread_mutex_lock(&r->mu);
            finish(r, i);
            continue;
        }
        if (r->finished >= r->norder)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the report ---------------------------------------------------------------------------- */

static void summary(runner *r, double secs, dbt_summary *sum)
{
    project *p = r->p;
    int seeds = 0, views = 0, tables = 0, incs = 0, tests = 0, snaps = 0;
    memset(sum, 0, sizeof *sum);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->type == NT_SEED)
            seeds++;
        else if (n->type == NT_TEST)
            tests++;
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
                         type_word(n), n->name, n->path ? n->path : "", n->message);
            break;
        }
        sum->total++;
    }
    if (p->opts.quiet) { /* still say what failed */
        for (int k = 0; k < r->norder; k++) {
            node *n = &p->nodes[r->order[k]];
            if (n->status == ST_ERROR || n->status == ST_FAIL)
                bp_log(BP_LOG_ERROR, "%s in %s %s (%s): %s",
                       n->status == ST_FAIL ? "Failure" : "Error", type_word(n), n->name,
                       n->path ? n->path : "", n->message);
        }
        return;
    }
    char ts[16];
    stamp(ts, sizeof ts);
    FILE *f = console(p);
    fprintf(f, "%s  \n%s  Finished running", ts, ts);
    const char *sep = " ";
    const struct {
        int n;
        const char *what;
    } parts[] = {{seeds, "seed"}, {tables, "table model"}, {views, "view model"},
                 {incs, "incremental model"}, {snaps, "snapshot"}, {tests, "data test"}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        if (parts[k].n) {
            fprintf(f, "%s%d %s%s", sep, parts[k].n, parts[k].what, parts[k].n == 1 ? "" : "s");
            sep = ", ";
        }
    fprintf(f, " in %.2fs.\n%s  \n", secs, ts);
    if (sum->error)
        fprintf(f, "%s  Completed with %d error%s\n", ts, sum->error, sum->error == 1 ? "" : "s");
    else if (sum->warn)
        fprintf(f, "%s  Completed with %d warning%s\n", ts, sum->warn, sum->warn == 1 ? "" : "s");
    else
        fprintf(f, "%s  Completed successfully\n", ts);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->status == ST_ERROR || n->status == ST_FAIL || n->status == ST_WARN)
            fprintf(f, "%s  \n%s  %s in %s %s (%s)\n%s    %s\n", ts, ts,
                    n->status == ST_FAIL ? "Failure" : n->status == ST_WARN ? "Warning" : "Error",
                    type_word(n), n->name, n->path ? n->path : "", ts, n->message);
    }
    fprintf(f, "%s  \n%s  Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d\n", ts, ts, sum->ok,
            sum->warn, sum->error, sum->skip, sum->total);
}

static void banner(runner *r, int threads)
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
    fprintf(console(p), "%s  Running with bookpipe dbt (dbt-compatible)\n%s  Found %d models, "
            "%d snapshots, %d seeds, %d data tests, %d sources, %d macros\n%s  \n%s  Concurrency: "
            "%d threads (target='%s')\n%s  \n", ts, ts, count[NT_MODEL], count[NT_SNAPSHOT],
            count[NT_SEED], count[NT_TEST], count[NT_SOURCE], macros, ts, ts, threads,
            p->target_name, ts);
}

/* ---- on-run-start / on-run-end ----------------------------------------------------------- */

static jv *results_value(arena *a, runner *r)
{
    project *p = r->p;
    jv *l = jv_list(a, (size_t)r->norder);
    static const char *const st[] = {"", "success", "error", "skipped", "pass", "fail", "warn"};
    for (int k = 0; l && k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        jv *d = jv_dict_new(a);
        if (!d || !jv_dict_set(a, d, "node", dbt_ctx_model_dict(p, r->order[k])) ||
            !jv_dict_set(a, d, "status", jv_strz(a, st[n->status])) ||
            !jv_dict_set(a, d, "message", jv_strz(a, n->message)) ||
            !jv_dict_set(a, d, "execution_time", jv_float(a, n->secs)) ||
            !jv_dict_set(a, d, "failures", n->type == NT_TEST ? jv_int(a, n->failures) : jv_none(a)) ||
            !jv_dict_set(a, d, "thread_id", jv_strz(a, "Thread-1")) ||
            !jv_dict_set(a, d, "adapter_response", jv_dict_new(a)) || !jv_list_push(a, l, d))
            return NULL;
    }
    return l;
}

static jv *schemas_value(arena *a, runner *r)
{
    project *p = r->p;
    jv *l = jv_list(a, 8), *dl = jv_list(a, 8);
    for (int k = 0; l && dl && k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->type == NT_TEST || !n->schema)
            continue;
        jv *s = jv_strz(a, n->schema);
        bool seen = false;
        for (size_t q = 0; q < l->u.l.n && !seen; q++)
            seen = jv_equal(l->u.l.items[q], s);
        if (seen)
            continue;
        jv *t = jv_list(a, 2);
        if (!t || !jv_list_push(a, l, s))
            return NULL;
        t->tuple = true;
        if (!jv_list_push(a, t, jv_strz(a, n->database ? n->database : p->target_db)) ||
            !jv_list_push(a, t, s) || !jv_list_push(a, dl, t))
            return NULL;
    }
    jv *d = jv_dict_new(a);
    if (!d || !jv_dict_set(a, d, "schemas", l) || !jv_dict_set(a, d, "database_schemas", dl))
        return NULL;
    return d;
}

/* The project's (and its packages') on-run-start or on-run-end hooks. */
static bp_status run_hooks(runner *r, wh *w, const char *key, bp_err *err)
{
    project *p = r->p;
    arena a = {0};
    jv *extra = NULL;
    bp_status st = BP_OK;
    if (!strcmp(key, "on-run-end")) {
        extra = schemas_value(&a, r);
        if (!extra || !jv_dict_set(&a, extra, "results", results_value(&a, r))) {
            arena_free(&a);
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    }
    for (int k = 0; k < p->npkgs && st == BP_OK; k++) {
        dbt_pkg *pkg = &p->pkgs[k];
        const yml_node *root = yml_root(pkg->root ? p->project_doc : pkg->doc);
        const yml_node *h = yml_get(root, key);
        const yml_node *one[1] = {h};
        const yml_node *const *list = h && h->kind == YML_SEQ ? (const yml_node *const *)h->items
                                                              : one;
        size_t n = h ? (h->kind == YML_SEQ ? h->n : 1) : 0;
        for (size_t i = 0; i < n && st == BP_OK; i++) {
            if (!list[i] || list[i]->kind != YML_SCALAR)
                continue;
            buf sql = {0};
            jinja_tpl *t;
            char what[600];
            snprintf(what, sizeof what, "%s (%s)", yml_file(p->project_doc), key);
            if ((st = jinja_parse(what, list[i]->str, strlen(list[i]->str), &dbt_env, &t,
                                  err)) != BP_OK)
                break;
            cctx c;
            jinja_rt *rt = dbt_ctx_new(&c, p, -1, false, w, err);
            if (!rt) {
                jinja_tpl_free(t);
                st = BP_ENOMEM;
                break;
            }
            c.extra = extra;
            st = jinja_render(rt, t, &sql, err);
            jinja_rt_free(rt);
            jinja_tpl_free(t);
            const char *s = sql.p ? wh_sql_skip_space(sql.p) : "";
            if (st == BP_OK && *s)
                st = wh_exec(w, sql.p, err);
            buf_free(&sql);
        }
    }
    arena_free(&a);
    if (st != BP_OK)
        bp_err_prefix(err, "%s", key);
    return st;
}

static bool runs_hooks(const char *c)
{
    return !strcmp(c, "run") || !strcmp(c, "build") || !strcmp(c, "seed") ||
           !strcmp(c, "test") || !strcmp(c, "snapshot");
}

/* ---- the commands ------------------------------------------------------------------- */

static void print_ls(project *p)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->selected || !n->cfg.enabled)
            continue;
        for (int k = 0; k < n->nfqn; k++)
            fprintf(console(p), "%s%s", k ? "." : "", n->fqn[k]);
        fputc('\n', console(p));
    }
}

static bp_status open_main(project *p, wh **out, bp_err *err)
{
    wh_config cfg = {.target = p->target_type, .path = p->wh_path, .dsn = p->dsn,
                     .catalog = p->catalog};
    if (p->opts.conn)
        return wh_connect_more(p->opts.conn, out, err);
    return wh_open(&cfg, out, err);
}

/* compile (and docs generate): every node's SQL, on one connection, no
 * building. Errors are counted like a run's. */
static bp_status compile_all(runner *r, wh *w, dbt_summary *sum, bp_err *err)
{
    project *p = r->p;
    memset(sum, 0, sizeof *sum);
    for (int k = 0; k < r->norder; k++) {
        int i = r->order[k];
        node *n = &p->nodes[i];
        bp_err e = {0};
        if (dbt_compile_node(p, i, w, false, &e) != BP_OK) {
            n->status = ST_ERROR;
            snprintf(n->message, sizeof n->message, "%.*s", (int)sizeof n->message - 1, e.msg);
            if (!sum->error++)
                snprintf(sum->first_error, sizeof sum->first_error, "%.100s %.150s (%.150s): %.180s",
                         type_word(n), n->name, n->path ? n->path : "", e.msg);
            bp_log(BP_LOG_ERROR, "Compilation Error in %s %s (%s)\n  %s", type_word(n), n->name,
                   n->path ? n->path : "", e.msg);
        } else {
            n->status = ST_SUCCESS;
            sum->ok++;
        }
        sum->total++;
        dbt_art_write_compiled(p, n);
    }
    (void)err;
    return BP_OK;
}

static void runner_free(runner *r)
{
    if (r->waiters)
        for (int i = 0; i < r->p->nnodes; i++)
            free(r->waiters[i].v);
    free(r->waiters);
    free(r->order);
    free(r->pos);
    free(r->count);
    free(r->blocked);
    free(r->heap);
}

static bp_status runner_init(runner *r, project *p, bp_err *err)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    size_t n = (size_t)p->nnodes + 1;
    r->order = calloc(n, sizeof *r->order);
    r->pos = malloc(n * sizeof *r->pos);
    r->count = calloc(n, sizeof *r->count);
    r->blocked = calloc(n, sizeof *r->blocked);
    r->waiters = calloc(n, sizeof *r->waiters);
    r->heap = calloc(n, sizeof *r->heap);
    if (!r->order || !r->pos || !r->count || !r->blocked || !r->waiters || !r->heap)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        r->pos[i] = -1;
    for (int i = 0; i < p->nnodes; i++)
        p->nodes[i].in_run = wanted(p, &p->nodes[i]);
    if (topo(r, err) != BP_OK || build_edges(r, err) != BP_OK)
        return BP_ENOMEM;
    for (int k = 0; k < r->norder; k++)
        if (r->count[r->order[k]] == 0)
            heap_push(r, r->order[k]);
    return BP_OK;
}

/* Every schema the run builds in, made first and one at a time (as dbt
 * does): PostgreSQL fails two CREATE SCHEMA IF NOT EXISTS of one name
 * racing from two connections. */
static bp_status create_schemas(runner *r, wh *w, bp_err *err)
{
    project *p = r->p;
    strmap done = {0};
    bp_status st = BP_OK;
    for (int k = 0; k < r->norder && st == BP_OK; k++) {
        node *n = &p->nodes[r->order[k]];
        if (!n->schema || (n->type == NT_TEST && !n->cfg.store_failures &&
                           !p->opts.store_failures) || strmap_get(&done, n->schema))
            continue;
        if (!strmap_put(&done, n->schema, n))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        else
            st = dbt_mat_ensure_schema(w, n->schema, err);
    }
    strmap_free(&done);
    return st;
}

static bp_status run_graph(runner *r, wh *main, dbt_summary *sum, bp_err *err)
{
    project *p = r->p;
    int threads = p->opts.threads > 0 ? p->opts.threads : p->threads;
    threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    banner(r, threads);
    wh *conns[64] = {NULL};
    pthread_t th[64];
    worker wk[64];
    int nth = 0;
    bp_status st = BP_OK;
    bool hooks = runs_hooks(p->opts.command);
    if (hooks && (st = run_hooks(r, main, "on-run-start", err)) != BP_OK)
        return st;
    if ((st = create_schemas(r, main, err)) != BP_OK)
        return st;
    for (nth = 0; nth < threads; nth++) {
        if (nth == 0)
            conns[0] = main;
        else if ((st = wh_connect_more(main, &conns[nth], err)) != BP_OK)
            break;
        wk[nth] = (worker){r, conns[nth]};
    }
    if (st != BP_OK)
        goto close;
    int started = 0;
    for (int t = 0; t < nth; t++) {
        if (pthread_create(&th[t], NULL, work, &wk[t]) != 0)
            break; /* fewer workers then; the ones started finish the work */
        started++;
    }
    if (started == 0)
        work(&wk[0]);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    double secs = now_s() - r->t0;
    if (hooks) {
        bp_err he = {0};
        if (run_hooks(r, main, "on-run-end", &he) != BP_OK)
            bp_log(BP_LOG_ERROR, "%s", he.msg);
    }
    summary(r, secs, sum);
    char started_at[64];
    struct tm tm;
    gmtime_r(&r->started_at.tv_sec, &tm);
    strftime(started_at, sizeof started_at, "%Y-%m-%dT%H:%M:%S", &tm);
    /* the run happened; artifacts that cannot be written (a read-only
     * project folder) are worth a warning, not a failure */
    bp_err aerr = {0};
    if (dbt_art_manifest(p, &aerr) != BP_OK ||
        dbt_art_run_results(p, r->order, r->norder, secs, started_at, &aerr) != BP_OK)
        bp_log(BP_LOG_WARN, "%s (run results not saved)", aerr.msg);
close:
    for (int t = 1; t < nth; t++)
        if (conns[t])
            wh_close(conns[t]);
    return st;
}

bp_status dbt_exec_command(project *p, dbt_summary *sum, bp_err *err)
{
    memset(sum, 0, sizeof *sum);
    const char *c = p->opts.command;
    if (!strcmp(c, "ls") || !strcmp(c, "list")) {
        print_ls(p);
        return BP_OK;
    }
    if (!strcmp(c, "parse"))
        return dbt_art_manifest(p, err);
    if (!strcmp(c, "run-operation"))
        return dbt_ops_run_operation(p, err);
    runner r;
    bp_status st = runner_init(&r, p, err);
    if (st != BP_OK) {
        runner_free(&r);
        return st;
    }
    gettimeofday(&r.started_at, NULL);
    r.t0 = now_s();
    wh *main = NULL;
    bool mu_ok = false, cv_ok = false;
    if ((st = open_main(p, &main, err)) != BP_OK)
        goto done;
    mu_ok = pthread_mutex_init(&r.mu, NULL) == 0;
    cv_ok = mu_ok && pthread_cond_init(&r.cv, NULL) == 0;
    if (!cv_ok) {
        st = bp_fail(err, BP_EINTERNAL, "cannot set up the scheduler");
        goto done;
    }
    if (!strcmp(c, "compile") || !strcmp(c, "docs")) {
        st = compile_all(&r, main, sum, err);
        if (st == BP_OK)
            st = dbt_art_manifest(p, err);
        if (st == BP_OK && !strcmp(c, "docs"))
            st = dbt_art_catalog(p, main, err);
        if (st == BP_OK && !p->opts.quiet)
            fprintf(console(p), "%s\n", !strcmp(c, "docs")
                                            ? "Catalog written to target/catalog.json"
                                            : "Compiled node SQL written to target/compiled/");
        goto done;
    }
    if (p->opts.before && (st = p->opts.before(main, p->opts.before_ctx, err)) != BP_OK)
        goto done;
    st = run_graph(&r, main, sum, err);
done:
    if (main)
        wh_close(main);
    if (cv_ok)
        pthread_cond_destroy(&r.cv);
    if (mu_ok)
        pthread_mutex_destroy(&r.mu);
    runner_free(&r);
    return st;
}

bp_status dbt_main(const dbt_opts *o, dbt_summary *sum, bp_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (!strcmp(o->command, "deps"))
        return dbt_ops_deps(o, err);
    if (!strcmp(o->command, "debug"))
        return dbt_ops_debug(o, err);
    if (!strcmp(o->command, "clean"))
        return dbt_ops_clean(o, err);
    project p;
    bp_status st = dbt_proj_load(&p, o, err);
    if (st == BP_OK)
        st = dbt_select_nodes(&p, o->select, o->exclude, err);
    if (st == BP_OK)
        st = dbt_exec_command(&p, sum, err);
    dbt_proj_free(&p);
    return st;
}
