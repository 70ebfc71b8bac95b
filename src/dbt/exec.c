/* exec.c: running the selected nodes: seeds, models (view, table,
 * incremental; ephemeral ones are inlined), tests; in DAG order over
 * --threads connections, skipping the descendants of failures, with dbt's
 * console lines and its target/ artifacts. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "../core/fs.h"
#include "../csv/csv.h"
#include "../extract/src.h"
#include "dbt_int.h"

typedef struct {
    project *p;
    wh *main;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int *order;           /* run set, in a topological order */
    int norder;
    int started, finished, next_index;
    bool *running, *done;
    int *index_of;        /* "N of M" numbers, by start */
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

/* "12:00:01  3 of 14 START sql view model s.x .......... [RUN]" */
static void line(runner *r, int idx, const char *what, const char *status)
{
    if (r->p->opts.quiet)
        return;
    char ts[16], head[512];
    stamp(ts, sizeof ts);
    int n = snprintf(head, sizeof head, "%d of %d %s ", idx, r->norder, what);
    FILE *f = r->p->opts.out ? r->p->opts.out : stdout;
    fprintf(f, "%s  %s", ts, head);
    for (int k = n; k < 72; k++)
        fputc('.', f);
    fprintf(f, " [%s]\n", status);
    fflush(f);
}

static const char *kind_label(const node *n, char *buf, size_t bn)
{
    if (n->type == NT_SEED)
        snprintf(buf, bn, "seed file %s", n->relation);
    else if (n->type == NT_TEST)
        snprintf(buf, bn, "test %s", n->name);
    else
        snprintf(buf, bn, "sql %s model %s", n->cfg.materialized, n->relation);
    return buf;
}

/* ---- SQL helpers ------------------------------------------------------------------ */

static bp_status exec_sql(wh *w, const char *sql, bp_err *err) { return wh_exec(w, sql, err); }

static bp_status execf(wh *w, bp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bp_status execf(wh *w, bp_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bp_status st = exec_sql(w, s, err);
    free(s);
    return st;
}

struct kind_ctx {
    char type[32];
};

static int take_kind(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct kind_ctx *k = ctx;
    if (vals && nc && vals[0])
        snprintf(k->type, sizeof k->type, "%s", vals[0]);
    return 1;
}

/* 'BASE TABLE', 'VIEW' or "" for what schema.name is now. */
static bp_status relation_kind(wh *w, const char *schema, const char *name, char *out,
                               size_t n, bp_err *err)
{
    buf sql = {0};
    struct kind_ctx k = {""};
    bp_status st = BP_ENOMEM;
    if (!buf_adds(&sql, "SELECT table_type FROM information_schema.tables WHERE table_schema = ") &&
        !buf_add_sqlstr(&sql, schema) && !buf_adds(&sql, " AND table_name = ") &&
        !buf_add_sqlstr(&sql, name))
        st = wh_query(w, sql.p, take_kind, &k, err);
    else
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    snprintf(out, n, "%s", k.type);
    return st;
}

static bp_status drop_relation(wh *w, const char *schema, const char *name, bp_err *err)
{
    char kind[32];
    if (relation_kind(w, schema, name, kind, sizeof kind, err) != BP_OK)
        return BP_EWH;
    buf q = {0};
    if (!*kind)
        return BP_OK;
    buf_adds(&q, strcmp(kind, "VIEW") == 0 ? "DROP VIEW " : "DROP TABLE ");
    buf_add_ident(&q, schema);
    buf_addc(&q, '.');
    buf_add_ident(&q, name);
    buf_adds(&q, w->ops->drop_cascade); /* PostgreSQL: dependent views go too, as in dbt */
    bp_status st = exec_sql(w, q.p, err);
    buf_free(&q);
    return st;
}

static const char *ident_of(project *p, const char *schema, const char *name)
{
    buf b = {0};
    buf_add_ident(&b, schema);
    buf_addc(&b, '.');
    buf_add_ident(&b, name);
    const char *s = proj_str(p, b.p ? b.p : "", b.len);
    buf_free(&b);
    return s;
}

static bp_status ensure_schema(wh *w, const char *schema, bp_err *err)
{
    buf q = {0};
    buf_adds(&q, "CREATE SCHEMA IF NOT EXISTS ");
    buf_add_ident(&q, schema);
    bp_status st = exec_sql(w, q.p, err);
    buf_free(&q);
    return st;
}

/* ---- models ------------------------------------------------------------------------- */

/* Build into name__dbt_tmp and swap it in, in one transaction: readers
 * see the old relation or the new one, never none. */
static bp_status build_swap(runner *r, wh *w, node *n, bool view, bp_err *err)
{
    project *p = r->p;
    const char *tmpname = proj_strf(p, "%s__dbt_tmp", n->name);
    const char *tmp = ident_of(p, n->schema, tmpname);
    bp_status st;
    if ((st = wh_begin(w, err)) != BP_OK)
        return st;
    if ((st = drop_relation(w, n->schema, tmpname, err)) == BP_OK &&
        (st = execf(w, err, "CREATE %s %s AS (\n%s\n)", view ? "VIEW" : "TABLE", tmp,
                    n->compiled)) == BP_OK &&
        (st = drop_relation(w, n->schema, n->name, err)) == BP_OK) {
        buf q = {0};
        buf_printf(&q, "ALTER %s %s RENAME TO ", view ? "VIEW" : "TABLE", tmp);
        buf_add_ident(&q, n->name);
        st = exec_sql(w, q.p, err);
        buf_free(&q);
    }
    if (st == BP_OK)
        return wh_commit(w, err);
    wh_rollback(w);
    return st;
}

struct cols_ctx {
    buf *out;
    int n;
};

static int take_col(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct cols_ctx *c = ctx;
    if (!vals || !nc || !vals[0])
        return 0;
    if (c->n++)
        buf_adds(c->out, ", ");
    buf_add_ident(c->out, vals[0]);
    return 0;
}

static bp_status incremental(runner *r, wh *w, node *n, bp_err *err)
{
    project *p = r->p;
    const char *tmpname = proj_strf(p, "%s__dbt_tmp", n->name);
    buf cols = {0}, q = {0};
    bp_status st;
    if ((st = wh_begin(w, err)) != BP_OK)
        return st;
    buf_adds(&q, "SELECT column_name FROM information_schema.columns WHERE table_schema = ");
    buf_add_sqlstr(&q, n->schema);
    buf_adds(&q, " AND table_name = ");
    buf_add_sqlstr(&q, n->name);
    buf_adds(&q, " ORDER BY ordinal_position");
    struct cols_ctx cc = {&cols, 0};
    if ((st = wh_query(w, q.p, take_col, &cc, err)) != BP_OK)
        goto fail;
    buf_reset(&q);
    buf_adds(&q, "CREATE TEMPORARY TABLE ");
    buf_add_ident(&q, tmpname);
    buf_printf(&q, " AS (\n%s\n)", n->compiled);
    if ((st = exec_sql(w, q.p, err)) != BP_OK)
        goto fail;
    if (n->cfg.unique_key) {
        buf_reset(&q);
        buf_printf(&q, "DELETE FROM %s WHERE (%s) IN (SELECT DISTINCT %s FROM ", n->relation,
                   n->cfg.unique_key, n->cfg.unique_key);
        buf_add_ident(&q, tmpname);
        buf_addc(&q, ')');
        if ((st = exec_sql(w, q.p, err)) != BP_OK)
            goto fail;
    }
    buf_reset(&q);
    buf_printf(&q, "INSERT INTO %s (%s) SELECT %s FROM ", n->relation, cols.p, cols.p);
    buf_add_ident(&q, tmpname);
    if ((st = exec_sql(w, q.p, err)) != BP_OK)
        goto fail;
    buf_reset(&q);
    buf_adds(&q, "DROP TABLE ");
    buf_add_ident(&q, tmpname);
    if ((st = exec_sql(w, q.p, err)) != BP_OK)
        goto fail;
    buf_free(&q);
    buf_free(&cols);
    return wh_commit(w, err);
fail:
    wh_rollback(w);
    buf_free(&q);
    buf_free(&cols);
    return st;
}

static bp_status run_model(runner *r, wh *w, int i, bp_err *err)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    bp_status st = ensure_schema(w, n->schema, err);
    if (st != BP_OK)
        return st;
    const char *m = n->cfg.materialized;
    bool inc = false;
    if (!strcmp(m, "incremental") && !p->opts.full_refresh) {
        char kind[32];
        if ((st = relation_kind(w, n->schema, n->name, kind, sizeof kind, err)) != BP_OK)
            return st;
        inc = strcmp(kind, "BASE TABLE") == 0;
    }
    if ((st = compile_node(p, i, inc, err)) != BP_OK)
        return st;
    if (inc)
        return incremental(r, w, n, err);
    return build_swap(r, w, n, !strcmp(m, "view"), err);
}

/* ---- seeds ------------------------------------------------------------------------- */

typedef struct {
    char **cells;   /* rows * ncols, NULL for empty */
    size_t rows, ncols, cap;
    char *names[256];
} seed_data;

static void seed_free(seed_data *s)
{
    for (size_t i = 0; i < s->rows * s->ncols; i++)
        free(s->cells[i]);
    free(s->cells);
    for (size_t c = 0; c < s->ncols; c++)
        free(s->names[c]);
}

static bp_status read_seed(node *n, seed_data *s, bp_err *err)
{
    src_set set;
    memset(&set, 0, sizeof set);
    set.file[0].found = true;
    snprintf(set.file[0].name, sizeof set.file[0].name, "%s", n->file);
    snprintf(set.file[0].label, sizeof set.file[0].label, "%s", n->path);
    src_stream *in = NULL;
    csv_reader *r = NULL;
    bp_status st = src_open(&set, SRC_BOOKS, &in, err);
    if (st != BP_OK)
        return st;
    r = csv_new(in, (csv_dialect){',', false});
    if (!r) {
        src_close(in);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    int got;
    bool header = true;
    while ((got = csv_next(r, err)) > 0) {
        size_t nf = csv_nfields(r);
        if (header) {
            if (nf > 256) {
                st = bp_fail(err, BP_EINPUT, "%s: more than 256 columns", n->file);
                break;
            }
            for (size_t c = 0; c < nf; c++) {
                csv_cell cell = csv_field(r, c);
                s->names[c] = strndup(cell.p, cell.len);
            }
            s->ncols = nf;
            header = false;
            continue;
        }
        if (nf != s->ncols) {
            st = bp_fail(err, BP_EINPUT, "%s: line %llu has %zu fields, the header %zu", n->file,
                         (unsigned long long)csv_line(r), nf, s->ncols);
            break;
        }
        if ((s->rows + 1) * s->ncols > s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 1024;
            while (cap < (s->rows + 1) * s->ncols)
                cap *= 2;
            char **c = realloc(s->cells, cap * sizeof *c);
            if (!c) {
                st = bp_fail(err, BP_ENOMEM, "out of memory");
                break;
            }
            s->cells = c;
            s->cap = cap;
        }
        for (size_t c = 0; c < nf; c++) {
            csv_cell cell = csv_field(r, c);
            s->cells[s->rows * s->ncols + c] = cell.len ? strndup(cell.p, cell.len) : NULL;
        }
        s->rows++;
    }
    if (got < 0)
        st = err ? err->status : BP_EINPUT;
    if (st == BP_OK && header)
        st = bp_fail(err, BP_EINPUT, "%s: empty seed (no header)", n->file);
    csv_free(r);
    src_close(in);
    return st;
}

/* Infer a column's type from its values, as dbt's agate does (roughly). */
static const char *infer_type(const seed_data *s, size_t c)
{
    bool ints = true, nums = true, bools = true, any = false;
    for (size_t r = 0; r < s->rows; r++) {
        const char *v = s->cells[r * s->ncols + c];
        if (!v)
            continue;
        any = true;
        char *e;
        errno = 0;
        long long iv = strtoll(v, &e, 10);
        ints = ints && !*e && errno == 0 && iv >= -2147483648LL && iv <= 2147483647LL;
        strtod(v, &e);
        nums = nums && !*e && *v;
        bools = bools && (!strcasecmp(v, "true") || !strcasecmp(v, "false"));
    }
    if (!any)
        return "text";
    return ints ? "integer" : nums ? "double precision" : bools ? "boolean" : "text";
}

static bp_status run_seed(runner *r, wh *w, int i, long long *rows, bp_err *err)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    seed_data s = {0};
    bp_status st = read_seed(n, &s, err);
    buf q = {0};
    const char *tmpname = proj_strf(p, "%s__dbt_tmp", n->name);
    const char *tmp = ident_of(p, n->schema, tmpname);
    if (st != BP_OK)
        goto done;
    if ((st = ensure_schema(w, n->schema, err)) != BP_OK || (st = wh_begin(w, err)) != BP_OK)
        goto done;
    if ((st = drop_relation(w, n->schema, tmpname, err)) != BP_OK)
        goto fail;
    buf_printf(&q, "CREATE TABLE %s (", tmp);
    for (size_t c = 0; c < s.ncols; c++) {
        const char *t = yml_get_str(n->cfg.column_types, s.names[c], NULL);
        buf_adds(&q, c ? ", " : "");
        buf_add_ident(&q, s.names[c]);
        buf_printf(&q, " %s", t ? t : infer_type(&s, c));
    }
    buf_addc(&q, ')');
    if ((st = exec_sql(w, q.p, err)) != BP_OK)
        goto fail;
    /* rows go in as string literals, in batches of 10,000 as dbt does */
    for (size_t r0 = 0; r0 < s.rows; r0 += 10000) {
        buf_reset(&q);
        buf_printf(&q, "INSERT INTO %s VALUES ", tmp);
        for (size_t row = r0; row < s.rows && row < r0 + 10000; row++) {
            buf_adds(&q, row > r0 ? ",(" : "(");
            for (size_t c = 0; c < s.ncols; c++) {
                const char *v = s.cells[row * s.ncols + c];
                buf_adds(&q, c ? "," : "");
                if (v)
                    buf_add_sqlstr(&q, v);
                else
                    buf_adds(&q, "NULL");
            }
            buf_addc(&q, ')');
        }
        if ((st = exec_sql(w, q.p, err)) != BP_OK)
            goto fail;
    }
    if ((st = drop_relation(w, n->schema, n->name, err)) != BP_OK)
        goto fail;
    buf_reset(&q);
    buf_printf(&q, "ALTER TABLE %s RENAME TO ", tmp);
    buf_add_ident(&q, n->name);
    if ((st = exec_sql(w, q.p, err)) != BP_OK)
        goto fail;
    st = wh_commit(w, err);
    *rows = (long long)s.rows;
    goto done;
fail:
    wh_rollback(w);
done:
    if (st != BP_OK && err)
        bp_err_prefix(err, "%s", n->path);
    buf_free(&q);
    seed_free(&s);
    return st;
}

/* ---- tests ------------------------------------------------------------------------- */

struct test_ctx {
    long long failures;
    bool got;
};

static int take_failures(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    struct test_ctx *t = ctx;
    if (vals && nc && vals[0]) {
        t->failures = strtoll(vals[0], NULL, 10);
        t->got = true;
    }
    return 1;
}

static bp_status run_test(runner *r, wh *w, int i, bp_err *err)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    bp_status st = compile_node(p, i, false, err);
    if (st != BP_OK)
        return st;
    struct test_ctx t = {0, false};
    if ((st = wh_query(w, n->compiled, take_failures, &t, err)) != BP_OK)
        return st;
    n->failures = t.failures;
    if (t.failures == 0)
        n->status = ST_PASS;
    else
        n->status = n->cfg.severity && !strcasecmp(n->cfg.severity, "warn") ? ST_WARN : ST_FAIL;
    return BP_OK;
}

/* ---- scheduling ------------------------------------------------------------------ */

static bool failed(node_status s) { return s == ST_ERROR || s == ST_SKIPPED || s == ST_FAIL; }

/* Nodes node i waits for: its parents in the run, and (for build) the
 * tests of those parents, so a failing test stops what comes after. */
/* Parents of i that must finish first, looking through ephemeral models
 * (they are built into their children). 0 waiting, 1 ready, 2 blocked. */
static int parents_state(runner *r, int i, int depth)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    int state = 1;
    for (int k = 0; k < n->ndeps && depth < 64; k++) {
        int d = n->deps[k];
        const node *pn = &p->nodes[d];
        if (pn->type == NT_MODEL && !strcmp(pn->cfg.materialized, "ephemeral")) {
            int s = parents_state(r, d, depth + 1);
            if (s == 0)
                return 0;
            if (s == 2)
                state = 2;
            continue;
        }
        if (!pn->in_run)
            continue;
        if (!r->done[d])
            return 0;
        if (failed(pn->status))
            state = 2;
    }
    return state;
}

/* Is m a parent of i, directly or through ephemeral models? */
static bool effective_parent(const project *p, int i, int m, int depth)
{
    const node *n = &p->nodes[i];
    for (int k = 0; k < n->ndeps && depth < 64; k++) {
        int d = n->deps[k];
        if (d == m)
            return true;
        const node *pn = &p->nodes[d];
        if (pn->type == NT_MODEL && !strcmp(pn->cfg.materialized, "ephemeral") &&
            effective_parent(p, d, m, depth + 1))
            return true;
    }
    return false;
}

static int ready_state(runner *r, int i)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    int ps = parents_state(r, i, 0);
    if (ps == 0)
        return 0;
    if (p->opts.stop && *p->opts.stop)
        return 2;
    bool blocked = ps == 2;
    if (n->type != NT_TEST)
        for (int t = 0; t < p->nnodes; t++) {
            node *tn = &p->nodes[t];
            if (tn->type != NT_TEST || !tn->in_run || tn->attached < 0)
                continue;
            if (!effective_parent(p, i, tn->attached, 0))
                continue;
            if (!r->done[t])
                return 0;
            if (tn->status == ST_FAIL)
                blocked = true;
        }
    return blocked ? 2 : 1;
}

static void write_compiled(project *p, const node *n);

static void run_one(runner *r, wh *w, int i, int idx)
{
    project *p = r->p;
    node *n = &p->nodes[i];
    char label[600], status[128];
    kind_label(n, label, sizeof label);
    char what[700];
    snprintf(what, sizeof what, "START %s", label);
    pthread_mutex_lock(&r->mu);
    line(r, idx, what, "RUN");
    pthread_mutex_unlock(&r->mu);
    double t0 = now_s();
    bp_err err = {0};
    long long rows = 0;
    bp_status st;
    if (n->type == NT_SEED)
        st = run_seed(r, w, i, &rows, &err);
    else if (n->type == NT_TEST)
        st = run_test(r, w, i, &err);
    else
        st = run_model(r, w, i, &err);
    n->secs = now_s() - t0;
    write_compiled(p, n);
    pthread_mutex_lock(&r->mu);
    if (st != BP_OK) {
        n->status = ST_ERROR;
        snprintf(n->message, sizeof n->message, "%s", err.msg);
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
            snprintf(n->message, sizeof n->message, "Got %lld result%s, configured to %s if != 0",
                     n->failures, n->failures == 1 ? "" : "s", names[n->status][0] == 'W' ? "warn" : "fail");
        line(r, idx, what, status);
    } else {
        n->status = ST_SUCCESS;
        if (n->type == NT_SEED) {
            snprintf(what, sizeof what, "OK loaded %s", label);
            snprintf(status, sizeof status, "INSERT %lld in %.2fs", rows, n->secs);
            snprintf(n->message, sizeof n->message, "INSERT %lld", rows);
        } else {
            snprintf(what, sizeof what, "OK created %s", label);
            snprintf(status, sizeof status, "OK in %.2fs", n->secs);
            snprintf(n->message, sizeof n->message, "OK");
        }
        line(r, idx, what, status);
    }
    pthread_mutex_unlock(&r->mu);
}

typedef struct {
    runner *r;
    wh *w;
} worker;

static void *work(void *arg)
{
    worker *wk = arg;
    runner *r = wk->r;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        int pick = -1, skip = -1;
        for (int k = 0; k < r->norder && pick < 0 && skip < 0; k++) {
            int i = r->order[k];
            if (r->running[i] || r->done[i])
                continue;
            int s = ready_state(r, i);
            if (s == 1)
                pick = i;
            else if (s == 2)
                skip = i;
        }
        if (skip >= 0) {
            node *n = &r->p->nodes[skip];
            n->status = ST_SKIPPED;
            snprintf(n->message, sizeof n->message, "%s",
                     r->p->opts.stop && *r->p->opts.stop ? "skipped: the run was cancelled"
                                                         : "skipped: an upstream node failed");
            r->done[skip] = true;
            r->finished++;
            int idx = ++r->next_index;
            char what[700];
            if (n->type == NT_TEST)
                snprintf(what, sizeof what, "SKIP test %s", n->name);
            else
                snprintf(what, sizeof what, "SKIP relation %s", n->relation);
            line(r, idx, what, "SKIP");
            pthread_cond_broadcast(&r->cv);
            continue;
        }
        if (pick < 0) {
            if (r->finished == r->norder)
                break;
            pthread_cond_wait(&r->cv, &r->mu);
            continue;
        }
        r->running[pick] = true;
        int idx = ++r->next_index;
        pthread_mutex_unlock(&r->mu);
        run_one(r, wk->w, pick, idx);
        pthread_mutex_lock(&r->mu);
        r->running[pick] = false;
        r->done[pick] = true;
        r->finished++;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Depth-first topological order of the run set. */
static void topo(project *p, int i, bool *seen, int *order, int *n)
{
    if (seen[i])
        return;
    seen[i] = true;
    for (int k = 0; k < p->nodes[i].ndeps; k++)
        topo(p, p->nodes[i].deps[k], seen, order, n);
    if (p->nodes[i].in_run)
        order[(*n)++] = i;
}

static bool wanted(const project *p, const node *n)
{
    const char *c = p->opts.command;
    if (!n->selected)
        return false;
    if (n->type == NT_MODEL && !strcmp(n->cfg.materialized, "ephemeral"))
        return false;
    if (!strcmp(c, "build"))
        return n->type != NT_SOURCE;
    if (!strcmp(c, "run") || !strcmp(c, "compile"))
        return n->type == NT_MODEL || (!strcmp(c, "compile") && n->type == NT_TEST);
    if (!strcmp(c, "test"))
        return n->type == NT_TEST;
    if (!strcmp(c, "seed"))
        return n->type == NT_SEED;
    return false;
}

/* ---- artifacts ------------------------------------------------------------------- */

static const char *status_name(node_status s)
{
    static const char *const names[] = {"", "success", "error", "skipped", "pass", "fail", "warn"};
    return names[s];
}

static void iso_time(char *out, size_t n, const struct timeval *tv)
{
    struct tm tm;
    gmtime_r(&tv->tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%06ldZ", base, (long)tv->tv_usec);
}

static json_t *metadata(runner *r, const char *schema_url)
{
    char ts[64];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    iso_time(ts, sizeof ts, &tv);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "dbt_schema_version", schema_url,
                     "dbt_version", "1.8.0 (bookpipe " "0.1.0" ")", "generated_at", ts,
                     "invocation_id", "bookpipe", "adapter_type", r->p->target_type);
}

static json_t *node_json(project *p, const node *n)
{
    json_t *deps = json_array(), *tags = json_array(), *fqn = json_array();
    for (int k = 0; k < n->ndeps; k++)
        json_array_append_new(deps, json_string(p->nodes[n->deps[k]].unique_id));
    for (int k = 0; k < n->cfg.ntags; k++)
        json_array_append_new(tags, json_string(n->cfg.tags[k]));
    for (int k = 0; k < n->nfqn; k++)
        json_array_append_new(fqn, json_string(n->fqn[k]));
    static const char *const types[] = {"model", "seed", "test", "source"};
    json_t *cfg = json_pack("{s:s, s:b, s:O}", "materialized",
                            n->cfg.materialized ? n->cfg.materialized : "", "enabled",
                            n->cfg.enabled, "tags", tags);
    if (n->cfg.schema)
        json_object_set_new(cfg, "schema", json_string(n->cfg.schema));
    if (n->cfg.unique_key)
        json_object_set_new(cfg, "unique_key", json_string(n->cfg.unique_key));
    if (n->type == NT_TEST)
        json_object_set_new(cfg, "severity", json_string(n->cfg.severity ? n->cfg.severity
                                                                         : "error"));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:o, s:[]}, s:o}", "name",
                          n->name, "unique_id", n->unique_id, "resource_type", types[n->type],
                          "package_name", p->name, "original_file_path", n->path ? n->path : "",
                          "fqn", fqn, "config", cfg, "depends_on", "nodes", deps, "macros",
                          "tags", tags);
    json_object_set_new(o, "path", json_string(n->path ? n->path : ""));
    json_object_set_new(o, "schema", json_string(n->schema ? n->schema : ""));
    json_object_set_new(o, "database", json_string(p->target_db));
    json_object_set_new(o, "alias", json_string(n->type == NT_SOURCE ? n->tbl_name : n->name));
    if (n->relation)
        json_object_set_new(o, "relation_name", json_string(n->relation));
    if (n->raw)
        json_object_set_new(o, "raw_code", json_stringn(n->raw, n->raw_n));
    if (n->compiled)
        json_object_set_new(o, "compiled_code", json_string(n->compiled));
    if (n->type == NT_SOURCE) {
        json_object_set_new(o, "source_name", json_string(n->src_name));
        json_object_set_new(o, "identifier", json_string(n->tbl_name));
    }
    if (n->column)
        json_object_set_new(o, "column_name", json_string(n->column));
    return o;
}

static bp_status write_json(const char *dir, const char *name, json_t *j, bp_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = j ? json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;
    json_decref(j);
    return rc == 0 ? BP_OK : bp_fail(err, BP_EIO, "cannot write %s", path);
}

static bp_status write_artifacts(runner *r, double elapsed, bp_err *err)
{
    project *p = r->p;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/target", p->dir);
    if (fs_mkdir_p(dir, BP_EIO, "target folder", err) != BP_OK)
        return BP_EIO;
    json_t *nodes = json_object(), *sources = json_object(), *parents = json_object(),
           *children = json_object();
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->cfg.enabled)
            continue;
        json_object_set_new(n->type == NT_SOURCE ? sources : nodes, n->unique_id,
                            node_json(p, n));
        json_t *pl = json_array();
        for (int k = 0; k < n->ndeps; k++)
            json_array_append_new(pl, json_string(p->nodes[n->deps[k]].unique_id));
        json_object_set_new(parents, n->unique_id, pl);
        json_t *cl = json_array();
        for (int c = 0; c < p->nnodes; c++)
            for (int k = 0; k < p->nodes[c].ndeps; k++)
                if (p->nodes[c].deps[k] == i)
                    json_array_append_new(cl, json_string(p->nodes[c].unique_id));
        json_object_set_new(children, n->unique_id, cl);
    }
    json_t *manifest = json_pack(
        "{s:o, s:o, s:o, s:{}, s:{}, s:{}, s:{}, s:{}, s:{}, s:{}, s:o, s:o}", "metadata",
        metadata(r, "https://schemas.getdbt.com/dbt/manifest/v12.json"), "nodes", nodes,
        "sources", sources, "macros", "docs", "exposures", "metrics", "groups", "selectors",
        "disabled", "parent_map", parents, "child_map", children);
    if (write_json(dir, "manifest.json", manifest, err) != BP_OK)
        return BP_EIO;
    if (!strcmp(p->opts.command, "compile") || !strcmp(p->opts.command, "ls"))
        return BP_OK;
    json_t *results = json_array();
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        char ts[64];
        iso_time(ts, sizeof ts, &r->started_at);
        json_t *res = json_pack("{s:s, s:s, s:s, s:f, s:s, s:[{s:s, s:s, s:s}], s:{}}",
                                "unique_id", n->unique_id, "status", status_name(n->status),
                                "thread_id", "Thread-1", "execution_time", n->secs, "message",
                                n->message, "timing", "name", "execute", "started_at", ts,
                                "completed_at", ts, "adapter_response");
        if (n->type == NT_TEST)
            json_object_set_new(res, "failures", json_integer(n->failures));
        if (n->relation && n->type != NT_TEST)
            json_object_set_new(res, "relation_name", json_string(n->relation));
        if (n->compiled)
            json_object_set_new(res, "compiled_code", json_string(n->compiled));
        json_array_append_new(results, res);
    }
    json_t *rr = json_pack("{s:o, s:o, s:f, s:{s:s}}", "metadata",
                           metadata(r, "https://schemas.getdbt.com/dbt/run-results/v6.json"),
                           "results", results, "elapsed_time", elapsed, "args", "which",
                           p->opts.command);
    return write_json(dir, "run_results.json", rr, err);
}

/* target/compiled/<project>/<path>: what compile produced, for people to read. */
static void write_compiled(project *p, const node *n)
{
    if (!n->compiled || !n->path)
        return;
    char path[8500], dir[8500];
    if (n->type == NT_TEST && n->test_kind)
        snprintf(path, sizeof path, "%s/target/compiled/%s/%s/%s.sql", p->dir, p->name, n->path,
                 n->name);
    else
        snprintf(path, sizeof path, "%s/target/compiled/%s/%s", p->dir, p->name, n->path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (fs_mkdir_p(dir, BP_EIO, "folder", NULL) != BP_OK)
        return;
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(n->compiled, f);
        fclose(f);
    }
}

/* ---- the commands ------------------------------------------------------------------- */

static void print_ls(project *p)
{
    for (int i = 0; i < p->nnodes; i++) {
        node *n = &p->nodes[i];
        if (!n->selected)
            continue;
        for (int k = 0; k < n->nfqn; k++)
            printf("%s%s", k ? "." : "", n->fqn[k]);
        putchar('\n');
    }
}

static const char *type_word(const node *n)
{
    return n->type == NT_TEST ? "test" : n->type == NT_SEED ? "seed" : "model";
}

static void summary(runner *r, double secs, dbt_summary *sum)
{
    project *p = r->p;
    int seeds = 0, views = 0, tables = 0, incs = 0, tests = 0;
    memset(sum, 0, sizeof *sum);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->type == NT_SEED)
            seeds++;
        else if (n->type == NT_TEST)
            tests++;
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
                         type_word(n), n->name, n->path ? n->path : "",
                         n->message);
            break;
        }
        sum->total++;
    }
    char ts[16];
    if (p->opts.quiet) { /* still say what failed */
        for (int k = 0; k < r->norder; k++) {
            node *n = &p->nodes[r->order[k]];
            if (n->status == ST_ERROR || n->status == ST_FAIL)
                fprintf(stderr, "%s in %s %s (%s): %s\n",
                        n->status == ST_FAIL ? "Failure" : "Error", type_word(n), n->name,
                        n->path ? n->path : "", n->message);
        }
        return;
    }
    stamp(ts, sizeof ts);
    FILE *f = p->opts.out ? p->opts.out : stdout;
    fprintf(f, "%s  \n%s  Finished running", ts, ts);
    const char *sep = " ";
    if (seeds) { fprintf(f, "%s%d seed%s", sep, seeds, seeds == 1 ? "" : "s"); sep = ", "; }
    if (tables) { fprintf(f, "%s%d table model%s", sep, tables, tables == 1 ? "" : "s"); sep = ", "; }
    if (views) { fprintf(f, "%s%d view model%s", sep, views, views == 1 ? "" : "s"); sep = ", "; }
    if (incs) { fprintf(f, "%s%d incremental model%s", sep, incs, incs == 1 ? "" : "s"); sep = ", "; }
    if (tests) { fprintf(f, "%s%d data test%s", sep, tests, tests == 1 ? "" : "s"); }
    fprintf(f, " in %.2fs.\n%s  \n", secs, ts);
    if (sum->error)
        fprintf(f, "%s  Completed with %d error%s\n", ts, sum->error, sum->error == 1 ? "" : "s");
    else
        fprintf(f, "%s  Completed successfully\n", ts);
    for (int k = 0; k < r->norder; k++) {
        node *n = &p->nodes[r->order[k]];
        if (n->status == ST_ERROR || n->status == ST_FAIL)
            fprintf(f, "%s  \n%s  %s in %s %s (%s)\n%s    %s\n", ts, ts,
                   n->status == ST_FAIL ? "Failure" : "Error", type_word(n), n->name,
                   n->path ? n->path : "", ts, n->message);
    }
    fprintf(f, "%s  \n%s  Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d\n", ts, ts, sum->ok,
           sum->warn, sum->error, sum->skip, sum->total);
}

bp_status exec_command(project *p, dbt_summary *sum, bp_err *err)
{
    memset(sum, 0, sizeof *sum);
    if (!strcmp(p->opts.command, "ls")) {
        print_ls(p);
        return BP_OK;
    }
    runner r = {0};
    r.p = p;
    gettimeofday(&r.started_at, NULL);
    r.t0 = now_s();
    bool *seen = calloc((size_t)p->nnodes + 1, 1);
    r.order = calloc((size_t)p->nnodes + 1, sizeof *r.order);
    r.running = calloc((size_t)p->nnodes + 1, 1);
    r.done = calloc((size_t)p->nnodes + 1, 1);
    bp_status st = BP_OK;
    wh *conns[64] = {NULL};
    pthread_t th[64];
    worker wk[64];
    int nth = 0;
    bool mu_ok = false, cv_ok = false;
    if (!seen || !r.order || !r.running || !r.done) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < p->nnodes; i++)
        p->nodes[i].in_run = wanted(p, &p->nodes[i]);
    for (int i = 0; i < p->nnodes; i++)
        topo(p, i, seen, r.order, &r.norder);
    if (!strcmp(p->opts.command, "compile")) {
        for (int k = 0; k < r.norder && st == BP_OK; k++) {
            st = compile_node(p, r.order[k], false, err);
            write_compiled(p, &p->nodes[r.order[k]]);
        }
        if (st == BP_OK)
            st = write_artifacts(&r, now_s() - r.t0, err);
        goto done;
    }
    int threads = p->opts.threads > 0 ? p->opts.threads : p->threads;
    threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (!p->opts.quiet) {
        char ts[16];
        stamp(ts, sizeof ts);
        int models = 0, tests = 0, seeds = 0, sources = 0;
        for (int i = 0; i < p->nnodes; i++) {
            if (!p->nodes[i].cfg.enabled)
                continue;
            models += p->nodes[i].type == NT_MODEL;
            tests += p->nodes[i].type == NT_TEST;
            seeds += p->nodes[i].type == NT_SEED;
            sources += p->nodes[i].type == NT_SOURCE;
        }
        fprintf(p->opts.out ? p->opts.out : stdout, "%s  Running with bookpipe dbt (dbt-compatible)\n%s  Found %d models, %d seeds, "
               "%d data tests, %d sources\n%s  \n%s  Concurrency: %d threads (target='%s')\n%s  \n",
               ts, ts, models, seeds, tests, sources, ts, ts, threads, p->target_name, ts);
    }
    wh_config cfg = {.target = p->target_type, .path = p->wh_path, .dsn = p->dsn};
    if (p->opts.conn) {
        if ((st = p->opts.conn->ops->connect_more(p->opts.conn, &r.main, err)) != BP_OK)
            goto done;
    } else if ((st = wh_open(&cfg, &r.main, err)) != BP_OK)
        goto done;
    mu_ok = pthread_mutex_init(&r.mu, NULL) == 0;
    cv_ok = mu_ok && pthread_cond_init(&r.cv, NULL) == 0;
    if (!cv_ok) {
        st = bp_fail(err, BP_EINTERNAL, "cannot set up the scheduler");
        goto close;
    }
    if (p->opts.before && (st = p->opts.before(r.main, p->opts.before_ctx, err)) != BP_OK)
        goto close;
    for (nth = 0; nth < threads; nth++) {
        if (nth == 0)
            conns[0] = r.main;
        else if ((st = r.main->ops->connect_more(r.main, &conns[nth], err)) != BP_OK)
            break;
        wk[nth] = (worker){&r, conns[nth]};
    }
    if (st != BP_OK)
        goto close;
    for (int t = 0; t < nth; t++)
        if (pthread_create(&th[t], NULL, work, &wk[t]) != 0) {
            /* fewer workers then; the ones started finish the work */
            nth = t;
            break;
        }
    if (nth == 0)
        work(&wk[0]), nth = 0;
    for (int t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    double secs = now_s() - r.t0;
    summary(&r, secs, sum);
    /* the run happened; artifacts that cannot be written (a read-only
     * project folder) are worth a warning, not a failure */
    bp_err aerr = {0};
    if (write_artifacts(&r, secs, &aerr) != BP_OK)
        fprintf(stderr, "bookpipe dbt: warning: %s (run results not saved)\n", aerr.msg);
    st = BP_OK;
close:
    for (int t = 1; t < threads; t++)
        if (conns[t])
            wh_close(conns[t]);
    wh_close(r.main);
    r.main = NULL;
    if (cv_ok)
        pthread_cond_destroy(&r.cv);
    if (mu_ok)
        pthread_mutex_destroy(&r.mu);
done:
    free(seen);
    free(r.order);
    free(r.running);
    free(r.done);
    return st;
}

bp_status dbt_main(const dbt_opts *o, dbt_summary *sum, bp_err *err)
{
    project p;
    bp_status st = proj_load(&p, o, err);
    if (st == BP_OK)
        st = select_nodes(&p, o->select, o->exclude, err);
    if (st == BP_OK)
        st = exec_command(&p, sum, err);
    proj_free(&p);
    return st;
}
