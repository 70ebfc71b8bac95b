/* exec.c: running a command over the selected nodes: --threads workers
 * taking ready nodes in the order exec_plan.c gives, skipping the
 * descendants of failures, on-run-start / on-run-end hooks, the commands
 * and the target/ artifacts (console lines: exec_report.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "dbt_int.h"
#include "../core/log.h"
#include "exec_int.h"

/* ---- running one node ---------------------------------------------------------------- */

/* Out of an engine's memory? DuckDB's cap is the database's: nodes built
 * at once share it, so a node can fail beside others and pass alone. */
static bool out_of_memory(const bp_err *err)
{
    /* DuckDB's words; a commit that runs out says "Failed to commit: could
     * not allocate block", without the error's name */
    static const char *const says[] = {"Out of Memory Error", "could not allocate block",
                                       "failed to pin block", "failed to allocate data"};
    for (size_t k = 0; k < sizeof says / sizeof *says; k++)
        if (strstr(err->msg, says[k]))
            return true;
    return false;
}

/* A node starts (lock held): counted as running, from the caller's lock
 * on, so that a node waiting to run alone sees it. */
typedef struct {
    unsigned starts;
    bool beside; /* another node was running when it started */
} node_start;

static node_start begin_node(runner *r)
{
    return (node_start){++r->starts, ++r->running > 1};
}

/* Build node i, begun with begin_node; false when it ran out of memory
 * beside other nodes and may_retry: nothing is reported then, and the
 * caller runs it again alone. */
static bool run_one(runner *r, wh *w, int i, int idx, node_start ns, bool may_retry)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    char label[700], status[128], what[800];
    dbt_kind_label(n, label, sizeof label);
    snprintf(what, sizeof what, "START %s", label);
    pthread_mutex_lock(&r->mu);
    dbt_line(r, idx, what, "RUN");
    pthread_mutex_unlock(&r->mu);
    double t0 = dbt_now_s();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    n->began = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
    bp_err err = {0};
    long long rows = 0;
    bp_status st;
    if (n->type == NT_SEED)
        st = dbt_mat_seed(p, w, i, &rows, &err);
    else if (n->type == NT_TEST)
        st = dbt_mat_test(p, w, i, &err);
    else if (n->type == NT_UNIT)
        st = dbt_mat_unit(p, w, i, &err);
    else if (n->type == NT_SNAPSHOT)
        st = dbt_mat_snapshot(p, w, i, &err);
    else
        st = dbt_mat_model(p, w, i, &err);
    n->secs = dbt_now_s() - t0;
    /* a statement that failed inside a transaction (a hook's, a macro's)
     * leaves PostgreSQL refusing the connection's next ones: the next node
     * on it starts clean, as dbt rolls back on a node's failure */
    if (st != BP_OK)
        wh_rollback(w);
    pthread_mutex_lock(&r->mu);
    bool beside = ns.beside || r->starts != ns.starts;
    r->running--;
    pthread_cond_broadcast(&r->cv);
    if (st != BP_OK && may_retry && beside && out_of_memory(&err)) {
        snprintf(what, sizeof what, "RETRY %s alone (out of memory beside other nodes)", label);
        dbt_line(r, idx, what, "RETRY");
        pthread_mutex_unlock(&r->mu);
        return false;
    }
    pthread_mutex_unlock(&r->mu);
    dbt_art_write_compiled(p, n);
    pthread_mutex_lock(&r->mu);
    if (st != BP_OK) {
        n->status = ST_ERROR;
        snprintf(n->message, sizeof n->message, "%.*s", (int)sizeof n->message - 1, err.msg);
        if (n->type == NT_UNIT)
            snprintf(what, sizeof what, "ERROR %s", label);
        else
            snprintf(what, sizeof what, "ERROR %s %s", n->type == NT_TEST ? "test" : "creating",
                     n->type == NT_TEST ? n->name : label);
        dbt_line(r, idx, what, "ERROR");
    } else if (n->type == NT_TEST || n->type == NT_UNIT) {
        static const char *const names[] = {"", "", "", "", "PASS", "FAIL", "WARN"};
        /* a unit test is named model::test, as dbt prints it */
        snprintf(what, sizeof what, "%s %s", names[n->status],
                 n->type == NT_UNIT ? label + 10 : n->name);
        if (n->status == ST_PASS)
            snprintf(status, sizeof status, "PASS in %.2fs", n->secs);
        else
            snprintf(status, sizeof status, "%s %lld in %.2fs", names[n->status], n->failures,
                     n->secs);
        if (n->status != ST_PASS && n->type == NT_TEST)
            snprintf(n->message, sizeof n->message, "Got %lld result%s, configured to %s if %s",
                     n->failures, n->failures == 1 ? "" : "s",
                     n->status == ST_WARN ? "warn" : "fail",
                     n->status == ST_WARN ? (n->cfg.warn_if ? n->cfg.warn_if : "!= 0")
                                          : (n->cfg.error_if ? n->cfg.error_if : "!= 0"));
        dbt_line(r, idx, what, status);
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
        dbt_line(r, idx, what, status);
    }
    pthread_mutex_unlock(&r->mu);
    return true;
}

/* Node i again, once nothing else is being built and no other node runs
 * alone; no node starts meanwhile (work() waits on want_alone). Lock held. */
static void run_alone(runner *r, wh *w, int i, int idx)
{
    r->want_alone++;
    while (r->alone || r->running > 0)
        pthread_cond_wait(&r->cv, &r->mu);
    r->alone = true;
    node_start ns = begin_node(r);
    pthread_mutex_unlock(&r->mu);
    run_one(r, w, i, idx, ns, false);
    pthread_mutex_lock(&r->mu);
    r->alone = false;
    r->want_alone--;
    pthread_cond_broadcast(&r->cv);
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
    char label[700];
    if (n->type == NT_TEST)
        snprintf(what, sizeof what, "SKIP test %s", n->name);
    else if (n->type == NT_UNIT)
        snprintf(what, sizeof what, "SKIP %s", dbt_kind_label(n, label, sizeof label));
    else
        snprintf(what, sizeof what, "SKIP relation %s", n->relation);
    dbt_line(r, idx, what, "SKIP");
    dbt_finish(r, i);
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
        if (r->nheap && !r->want_alone) {
            int i = dbt_heap_pop(r);
            if (r->blocked[i] || r->stop || (p->opts.stop && *p->opts.stop)) {
                skip_one(r, i);
                continue;
            }
            int idx = ++r->next_index;
            node_start ns = begin_node(r);
            pthread_mutex_unlock(&r->mu);
            bool done = run_one(r, wk->w, i, idx, ns, true);
            pthread_mutex_lock(&r->mu);
            if (!done)
                run_alone(r, wk->w, i, idx);
            dbt_finish(r, i);
            continue;
        }
        if (r->finished >= r->norder)
            break;
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
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
            !jv_dict_set(a, d, "failures", n->type == NT_TEST || n->type == NT_UNIT
                                               ? jv_int(a, n->failures) : jv_none(a)) ||
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
            snprintf(what, sizeof what, "%s (%s)",
                     yml_file(pkg->root ? p->project_doc : pkg->doc), key);
            if ((st = jinja_parse(what, list[i]->str, strlen(list[i]->str), &dbt_env, &t,
                                  err)) != BP_OK)
                break;
            /* a package's hook sees its own macros and vars */
            jinja_tpl_set_data(t, pkg);
            cctx c;
            jinja_rt *rt = dbt_ctx_new(&c, p, -1, false, w, err);
            if (!rt) {
                jinja_tpl_free(t);
                st = BP_ENOMEM;
                break;
            }
            c.extra = extra;
            c.pkg = pkg;
            st = jinja_render(rt, t, &sql, err);
            /* hooks run with no node beside them: what one keeps in
             * `graph` (elementary's caches, set up in on-run-start and read
             * in on-run-end) becomes the run's graph, copied out of the
             * render's memory */
            if (st == BP_OK && c.graph) {
                pthread_mutex_lock(&p->mu);
                jv *g = jv_copy(&p->mem, c.graph);
                if (g)
                    p->graph = g;
                pthread_mutex_unlock(&p->mu);
                if (!g)
                    st = bp_fail(err, BP_ENOMEM, "out of memory");
            }
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


static bp_status open_main(project *p, wh **out, bp_err *err)
{
    if (p->opts.conn)
        return wh_connect_more(p->opts.conn, out, err);
    return dbt_profile_open(p, out, err);
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
                         dbt_type_word(n), n->name, n->path ? n->path : "", e.msg);
            bp_log(BP_LOG_ERROR, "Compilation Error in %s %s (%s)\n  %s", dbt_type_word(n), n->name,
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
        p->nodes[i].in_run = dbt_wanted(p, &p->nodes[i]);
    if (dbt_topo(r, err) != BP_OK || dbt_build_edges(r, err) != BP_OK)
        return BP_ENOMEM;
    for (int k = 0; k < r->norder; k++)
        if (r->count[r->order[k]] == 0)
            dbt_heap_push(r, r->order[k]);
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
    dbt_banner(r, threads);
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
    double secs = dbt_now_s() - r->t0;
    if (hooks) {
        bp_err he = {0};
        if (run_hooks(r, main, "on-run-end", &he) != BP_OK)
            snprintf(r->hook_error, sizeof r->hook_error, "%.*s", (int)sizeof r->hook_error - 1, he.msg);
    }
    dbt_summary_print(r, secs, sum);
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
        dbt_print_ls(p);
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
    r.t0 = dbt_now_s();
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
            fprintf(dbt_console(p), "%s\n", !strcmp(c, "docs")
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
