/* exec_plan.c: what a dbt command runs and in which order: the run set,
 * each node waiting for its parents and, in build, for the tests of its
 * parents (dbt's add_test_edges), and the ready heap in topological
 * order. Linear in nodes + edges. */
#include <stdlib.h>
#include <string.h>

#include "exec_int.h"

bool dbt_ivec_push(ivec *a, int x)
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

/* ---- the run set and its edges ------------------------------------------------------- */

bool dbt_wanted(const project *p, const node *n)
{
    const char *c = p->opts.command;
    if (!n->selected || !n->cfg.enabled)
        return false;
    if (dbt_node_is_ephemeral(n) && strcmp(c, "compile") != 0)
        return false;
    if (!strcmp(c, "build"))
        return n->type == NT_MODEL || n->type == NT_SEED || n->type == NT_SNAPSHOT ||
               n->type == NT_TEST || n->type == NT_UNIT;
    if (!strcmp(c, "run"))
        return n->type == NT_MODEL;
    if (!strcmp(c, "compile") || !strcmp(c, "docs"))
        return n->type == NT_MODEL || n->type == NT_TEST || n->type == NT_SNAPSHOT ||
               n->type == NT_ANALYSIS;
    if (!strcmp(c, "test"))
        return n->type == NT_TEST || n->type == NT_UNIT;
    if (!strcmp(c, "seed"))
        return n->type == NT_SEED;
    if (!strcmp(c, "snapshot"))
        return n->type == NT_SNAPSHOT;
    return false;
}

/* Topological order of the run set (iterative, parents first). */
bp_status dbt_topo(runner *r, bp_err *err)
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
            dbt_ivec_push(out, d);
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
    dbt_ivec_push(stack, x);
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
            dbt_ivec_push(stack, d);
        }
    }
    return found >= tn->ndeps;
}

static bool add_edge(runner *r, int from, int to)
{
    r->count[to]++;
    return dbt_ivec_push(&r->waiters[from], to);
}

bp_status dbt_build_edges(runner *r, bp_err *err)
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
    /* build: a test holds back the children of what it tests; a unit
     * test, the model it tests */
    for (int k = 0; ok && !strcmp(p->opts.command, "build") && k < r->norder; k++) {
        int t = r->order[k];
        if (p->nodes[t].type == NT_UNIT && r->pos[p->nodes[t].attached] >= 0)
            ok = add_edge(r, t, p->nodes[t].attached);
        if (p->nodes[t].type != NT_TEST)
            continue;
        par.n = 0;
        effective_parents(p, t, &par, seen, ++mark, 0);
        int m = ++mark;
        for (int j = 0; ok && j < par.n; j++) {
            /* children of this parent, through ephemeral ones */
            kids.n = 0;
            ok = dbt_ivec_push(&kids, par.v[j]);
            for (int q = 0; ok && q < kids.n; q++) {
                const node *a = &p->nodes[kids.v[q]];
                for (int c = 0; ok && c < a->nkids; c++) {
                    int x = a->kids[c];
                    if (seen[x] == m)
                        continue;
                    seen[x] = m;
                    if (dbt_node_is_ephemeral(&p->nodes[x])) {
                        ok = dbt_ivec_push(&kids, x);
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

void dbt_heap_push(runner *r, int i)
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

int dbt_heap_pop(runner *r)
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

bool dbt_failed(node_status s) { return s == ST_ERROR || s == ST_SKIPPED || s == ST_FAIL; }

/* Node i is done: release what waits for it (with r->mu held). */
void dbt_finish(runner *r, int i)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    r->finished++;
    for (int k = 0; k < r->waiters[i].n; k++) {
        int w = r->waiters[i].v[k];
        if (dbt_failed(n->status))
            r->blocked[w] = true;
        if (--r->count[w] == 0)
            dbt_heap_push(r, w);
    }
    if (p->opts.fail_fast && (n->status == ST_ERROR || n->status == ST_FAIL))
        r->stop = true;
    pthread_cond_broadcast(&r->cv);
}
