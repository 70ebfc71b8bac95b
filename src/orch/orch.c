/* orch.c: the executor: which blocks run, when, and what is recorded. */
#include "orch_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/fs.h"
#include "../core/num.h"
#include "../core/version.h"
#include "../ingest/ingest.h"
#include "redshift.h"
#include "meta.h"
#include "../core/log.h"

double orch_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bp_status oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

/* ---- run variables ----------------------------------------------------------------- */

static bp_status set_var(orun *r, const char *k, const char *v, bp_err *err)
{
    for (int i = 0; i < r->nv; i++)
        if (!strcmp(r->vkeys[i], k)) {
            char *nv = strdup(v);
            if (!nv)
                return oom(err);
            free(r->vvals[i]);
            r->vvals[i] = nv;
            return BP_OK;
        }
    char **nk = realloc(r->vkeys, sizeof *nk * (size_t)(r->nv + 1));
    if (!nk)
        return oom(err);
    r->vkeys = nk;
    char **nv = realloc(r->vvals, sizeof *nv * (size_t)(r->nv + 1));
    if (!nv)
        return oom(err);
    r->vvals = nv;
    r->vkeys[r->nv] = strdup(k);
    r->vvals[r->nv] = strdup(v);
    if (!r->vkeys[r->nv] || !r->vvals[r->nv]) {
        free(r->vkeys[r->nv]);
        free(r->vvals[r->nv]);
        return oom(err);
    }
    r->nv++;
    return BP_OK;
}

static bp_status make_vars(orun *r, bp_err *err)
{
    const orch_opts *o = r->o;
    bp_status st = BP_OK;
    for (int i = 0; i < r->p.nvars && st == BP_OK; i++)
        st = set_var(r, r->p.var_keys[i], r->p.var_vals[i], err);
    const char *builtin[][2] = {
        {"target", o->target},       {"data", o->data ? o->data : ""},
        {"lake", o->lake ? o->lake : ""}, {"schema", o->schema},
        {"warehouse", o->warehouse}, {"models", o->models ? "true" : "false"},
        {"trigger", o->trigger},     {"full_refresh", o->full_refresh ? "true" : "false"},
    };
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0] && st == BP_OK; i++)
        st = set_var(r, builtin[i][0], builtin[i][1] ? builtin[i][1] : "", err);
    for (int i = 0; i < o->nvars && st == BP_OK; i++) {
        for (size_t b = 0; b < sizeof builtin / sizeof builtin[0]; b++)
            if (!strcmp(o->var_keys[i], builtin[b][0]))
                return bp_fail(err, BP_EUSAGE, "--var %s: set by its own flag (--%s)",
                               o->var_keys[i], builtin[b][0]);
        st = set_var(r, o->var_keys[i], o->var_vals[i], err);
    }
    return st;
}

static bp_status vars_json(const orun *r, buf *out)
{
    if (buf_addc(out, '{'))
        return BP_ENOMEM;
    for (int i = 0; i < r->nv; i++) {
        if (i && buf_adds(out, ", "))
            return BP_ENOMEM;
        if (buf_addc(out, '"'))
            return BP_ENOMEM;
        for (int pass = 0; pass < 2; pass++) {
            const char *s = pass ? r->vvals[i] : r->vkeys[i];
            for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                bp_status st = c == '"' || c == '\\' ? buf_printf(out, "\\%c", c)
                             : c < 0x20            ? buf_printf(out, "\\u%04x", c)
                                                   : buf_addc(out, (char)c);
                if (st)
                    return st;
            }
            if (buf_adds(out, pass ? "\"" : "\": \""))
                return BP_ENOMEM;
        }
    }
    return buf_addc(out, '}');
}

/* ---- which blocks run ------------------------------------------------------------------ */

/* Mark block i and, when down/up, its descendants or ancestors. */
static void mark(orun *r, int i, bool down, bool up, bool force)
{
    r->blk[i].state = BS_PENDING;
    r->blk[i].forced |= force;
    for (int j = 0; j < r->p.n; j++) {
        if (down && r->blk[j].state == BS_OUT && pl_reaches(&r->p, i, j))
            mark(r, j, false, false, false);
        if (up && r->blk[j].state == BS_OUT && pl_reaches(&r->p, j, i))
            mark(r, j, false, false, false);
    }
}

static bp_status find_block(orun *r, const char *name, const char *flag, int *out, bp_err *err)
{
    *out = pl_find(&r->p, name);
    if (*out >= 0)
        return BP_OK;
    buf names = {0};
    for (int i = 0; i < r->p.n; i++)
        if (buf_adds(&names, i ? ", " : "") || buf_adds(&names, r->p.b[i].name))
            break;
    bp_fail(err, BP_EUSAGE, "%s %s: no such block in %s (blocks: %s)", flag, name, r->p.file,
            names.p ? names.p : "");
    buf_free(&names);
    return BP_EUSAGE;
}

static bp_status choose(orun *r, bp_err *err)
{
    const orch_opts *o = r->o;
    int i;
    bp_status st;
    if (!o->select && !o->from && !o->only) {
        for (int k = 0; k < r->p.n; k++)
            r->blk[k].state = BS_PENDING;
        return BP_OK;
    }
    if (o->only) {
        if ((st = find_block(r, o->only, "--only", &i, err)) != BP_OK)
            return st;
        mark(r, i, false, false, true);
    }
    if (o->from) {
        if ((st = find_block(r, o->from, "--from", &i, err)) != BP_OK)
            return st;
        mark(r, i, true, false, true);
    }
    if (o->select) {
        char *copy = strdup(o->select), *save = NULL;
        if (!copy)
            return oom(err);
        st = BP_OK;
        for (char *t = strtok_r(copy, ", ", &save); t && st == BP_OK;
             t = strtok_r(NULL, ", ", &save)) {
            bool up = *t == '+', down = false;
            t += up;
            size_t n = strlen(t);
            if (n && t[n - 1] == '+')
                down = true, t[n - 1] = 0;
            if ((st = find_block(r, t, "--select", &i, err)) == BP_OK)
                mark(r, i, down, up, true);
        }
        free(copy);
        return st;
    }
    return BP_OK;
}

/* ---- the blocks' threads ---------------------------------------------------------------- */

static void set_status(blk *k, const char *status)
{
    k->status = status;
    if (strcmp(status, "running") != 0)
        k->ended = orch_now();
    k->dirty = true;
    view_event(k->run, k);
    pthread_cond_broadcast(&k->run->cv);
}

static bp_status fingerprint(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    blk *k = c->k;
    fp_state s;
    fp_init(&s);
    fp_adds(&s, BOOKPIPE_VERSION);
    fp_adds(&s, pl_type_name(k->b->type));
    fp_adds(&s, k->b->config);
    for (int u = 0; u < k->b->nup; u++) {
        blk *up = &r->blk[k->b->up[u]];
        char last[17];
        if (up->state == BS_OUT) { /* not in this run: its last good output */
            bp_status st = meta_last_fp(c->conn, up->b->name, last, err);
            if (st != BP_OK)
                return st;
            fp_adds(&s, last);
        } else
            fp_adds(&s, up->fp);
    }
    bp_status st = blk_inputs(c, &s, err);
    if (st == BP_OK)
        fp_hex(fp_final(&s), k->fp);
    return st;
}

static bool up_to_date(blk_ctx *c)
{
    blk *k = c->k;
    if (k->forced || c->run->o->full_refresh)
        return false;
    char last[17];
    bp_err ignore;
    if (meta_last_fp(c->conn, k->b->name, last, &ignore) != BP_OK || strcmp(last, k->fp) != 0)
        return false;
    return blk_outputs_ok(c);
}

/* Sleep before a retry; false when the run was cancelled meanwhile. */
static bool backoff_sleep(blk *k)
{
    const pl_block *b = k->b;
    double d = b->delay;
    for (int a = 1; b->backoff && a < k->attempt && d < 1e6; a++)
        d *= 2;
    if (b->max_delay > 0 && d > b->max_delay)
        d = b->max_delay;
    double until = orch_now() + d;
    while (orch_now() < until) {
        if (k->run->o->stop && *k->run->o->stop)
            return false;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

static void attempts(blk_ctx *c)
{
    orun *r = c->run;
    blk *k = c->k;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        k->attempt++;
        k->attempt_started = orch_now();
        k->stop = 0;
        k->timed_out = false;
        set_status(k, "running");
        pthread_mutex_unlock(&r->mu);
        fprintf(c->log, "[%s] attempt %d of %d\n", k->b->name, k->attempt, k->b->retries + 1);
        bp_err e = {0};
        bp_status st = blk_exec(c, &e);
        if (st == BP_OK) {
            fprintf(c->log, "[%s] completed\n", k->b->name);
            pthread_mutex_lock(&r->mu);
            set_status(k, "completed");
            pthread_mutex_unlock(&r->mu);
            return;
        }
        bool cancelled = r->o->stop && *r->o->stop;
        char msg[1024];
        if (k->timed_out)
            snprintf(msg, sizeof msg, "timed out after %.0f s (timeout: %.0f s)",
                     orch_now() - k->attempt_started, k->b->timeout);
        else
            snprintf(msg, sizeof msg, "%s", e.msg);
        pthread_mutex_lock(&r->mu);
        snprintf(k->error, sizeof k->error, "%s", msg);
        k->err_status = k->timed_out ? BP_EINTR : st;
        pthread_mutex_unlock(&r->mu);
        fprintf(c->log, "[%s] attempt %d failed: %s\n", k->b->name, k->attempt, msg);
        /* bad input or a bad command fails the same way every time */
        bool final = st == BP_EINPUT || st == BP_EUSAGE || st == BP_EINTERNAL;
        if (final && k->attempt <= k->b->retries)
            fprintf(c->log, "[%s] not retried: the error is in the input, not transient\n",
                    k->b->name);
        if (cancelled || final || k->attempt > k->b->retries || !backoff_sleep(k)) {
            pthread_mutex_lock(&r->mu);
            cancelled = r->o->stop && *r->o->stop;
            if (cancelled)
                snprintf(k->note, sizeof k->note, "cancelled");
            set_status(k, cancelled ? "cancelled" : "failed");
            pthread_mutex_unlock(&r->mu);
            return;
        }
        fprintf(c->log, "[%s] retrying\n", k->b->name);
        /* a fresh connection: the failure may have been the old one's */
        bp_err ce = {0};
        wh *fresh = NULL;
        if (wh_connect_more(r->main, &fresh, &ce) == BP_OK) {
            wh_close(c->conn);
            c->conn = fresh;
        }
    }
}

/* The whole of a temporary file, as a string (NULL when it cannot). */
static char *read_all(FILE *f)
{
    if (fflush(f) != 0 || fseek(f, 0, SEEK_END) != 0)
        return NULL;
    long n = ftell(f);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && (fseek(f, 0, SEEK_SET) != 0 || fread(s, 1, (size_t)n, f) != (size_t)n)) {
        free(s);
        return NULL;
    }
    if (s)
        s[n] = 0;
    return s;
}

static void *block_thread(void *arg)
{
    blk *k = arg;
    orun *r = k->run;
    char *logtext = NULL;
    size_t loglen = 0;
    /* a temporary file, so that a live view can read its tail while the
     * block writes (a memory stream where no file can be made) */
    FILE *tmp = tmpfile();
    FILE *log = tmp ? tmp : open_memstream(&logtext, &loglen);
    blk_ctx c = {r, k, NULL, log ? log : stderr};
    pthread_mutex_lock(&r->mu);
    k->live_log = tmp;
    pthread_mutex_unlock(&r->mu);
    bp_err e = {0};
    bp_status st = wh_connect_more(r->main, &c.conn, &e);
    if (st == BP_OK)
        st = fingerprint(&c, &e);
    if (st != BP_OK) {
        fprintf(c.log, "[%s] %s\n", k->b->name, e.msg);
        pthread_mutex_lock(&r->mu);
        snprintf(k->error, sizeof k->error, "%s", e.msg);
        k->err_status = st;
        set_status(k, "failed");
        pthread_mutex_unlock(&r->mu);
    } else if (up_to_date(&c)) {
        fprintf(c.log, "[%s] skipped: up to date (fingerprint %s)\n", k->b->name, k->fp);
        pthread_mutex_lock(&r->mu);
        snprintf(k->note, sizeof k->note, "up to date");
        set_status(k, "skipped");
        pthread_mutex_unlock(&r->mu);
    } else
        attempts(&c);
    if (c.conn)
        wh_close(c.conn);
    pthread_mutex_lock(&r->mu);
    k->live_log = NULL;
    pthread_mutex_unlock(&r->mu);
    if (tmp)
        logtext = read_all(tmp);
    if (log)
        fclose(log);
    pthread_mutex_lock(&r->mu);
    k->log = log ? logtext : NULL;
    if (!log)
        free(logtext);
    k->state = BS_DONE;
    k->dirty = true;
    r->running--;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the scheduler loop (main thread, lock held) -------------------------------------- */

static bool bad_status(const char *s)
{
    return !strcmp(s, "failed") || !strcmp(s, "upstream_failed") || !strcmp(s, "cancelled");
}

static void finish_without_running(blk *k, const char *status, const char *note)
{
    k->state = BS_DONE;
    snprintf(k->note, sizeof k->note, "%s", note);
    set_status(k, status);
}

static void start_block(orun *r, blk *k)
{
    k->state = BS_RUNNING;
    k->started = orch_now();
    r->running++;
    if (pthread_create(&k->th, NULL, block_thread, k) != 0) {
        r->running--;
        snprintf(k->error, sizeof k->error, "cannot start a thread: %s", strerror(errno));
        k->err_status = BP_EINTERNAL;
        finish_without_running(k, "failed", "");
        return;
    }
    k->has_thread = true;
}

/* Move pending blocks on: start the ready ones, settle the blocked ones.
 * Returns whether anything is left to wait for. */
static bool schedule(orun *r, int jobs, bool cancelled)
{
    bool left = false;
    for (int i = 0; i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (k->state == BS_RUNNING) {
            left = true;
            if (cancelled)
                k->stop = 1;
            else if (k->b->timeout > 0 && k->attempt_started > 0 &&
                     orch_now() - k->attempt_started > k->b->timeout && !k->timed_out) {
                k->timed_out = true;
                k->stop = 1;
            }
            continue;
        }
        if (k->state != BS_PENDING)
            continue;
        if (cancelled) {
            finish_without_running(k, "cancelled", "the run was cancelled");
            continue;
        }
        bool ready = true, failed = false, cond = false;
        for (int u = 0; u < k->b->nup; u++) {
            blk *up = &r->blk[k->b->up[u]];
            if (up->state == BS_OUT)
                continue;
            if (up->state != BS_DONE)
                ready = false;
            else if (bad_status(up->status))
                failed = true;
            else if (!strcmp(up->status, "condition_failed"))
                cond = true;
        }
        if (failed) {
            finish_without_running(k, "upstream_failed", "an upstream block failed");
            continue;
        }
        if (cond && ready) {
            finish_without_running(k, "condition_failed", "an upstream block's condition is false");
            continue;
        }
        left = true;
        if (!ready || r->running >= jobs)
            continue;
        if (k->b->when) {
            bool yes = false;
            bp_err e = {0};
            if (pl_when(&r->p, k->b, r->vkeys, r->vvals, r->nv, &yes, &e) != BP_OK) {
                snprintf(k->error, sizeof k->error, "%s", e.msg);
                k->err_status = BP_EINPUT;
                finish_without_running(k, "failed", "");
                continue;
            }
            if (!yes) {
                char why[sizeof k->note];
                snprintf(why, sizeof why, "when: %s", k->b->when);
                finish_without_running(k, "condition_failed", why);
                continue;
            }
        }
        start_block(r, k);
    }
    return left || r->running > 0;
}

/* Write the changed block rows, all in one transaction. */
static void write_meta(orun *r)
{
    buf q = {0};
    bool ok = buf_adds(&q, "BEGIN;\n") == 0;
    int n = 0;
    for (int i = 0; ok && i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (!k->dirty || k->state == BS_OUT)
            continue;
        meta_block m = {k->b->name, pl_type_name(k->b->type), k->status, k->attempt,
                        k->started, k->state == BS_DONE ? k->ended : 0, k->rows_in, k->rows_out,
                        k->fp[0] ? k->fp : NULL, k->log, k->error[0] ? k->error : NULL};
        ok = meta_block_sql(r->main, &q, r->run_id, &m, !k->inserted);
        n++;
    }
    bp_err e = {0};
    bp_status st = BP_ENOMEM;
    if (ok && n && buf_adds(&q, "COMMIT") == 0 && (st = wh_exec(r->main, q.p, &e)) != BP_OK)
        wh_rollback(r->main);
    if (ok && n && st == BP_OK)
        for (int i = 0; i < r->p.n; i++)
            if (r->blk[i].dirty && r->blk[i].state != BS_OUT)
                r->blk[i].dirty = false, r->blk[i].inserted = true;
    if (n && st != BP_OK && !r->meta_warned++)
        bp_log(BP_LOG_WARN, "run history not updated: %s", ok ? e.msg : "out of memory");
    buf_free(&q);
}

static void loop(orun *r)
{
    int jobs = r->o->jobs;
    if (jobs <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (int)n : 2;
    }
    pthread_mutex_lock(&r->mu);
    for (;;) {
        bool cancelled = r->o->stop && *r->o->stop;
        bool left = schedule(r, jobs, cancelled);
        write_meta(r);
        view_tick(r);
        if (!left)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->p.n; i++)
        if (r->blk[i].has_thread)
            pthread_join(r->blk[i].th, NULL);
    write_meta(r);
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static bp_status open_warehouse(orun *r, bp_err *err)
{
    const orch_opts *o = r->o;
    wh_config cfg = {.target = o->target, .path = o->warehouse, .memory_limit = r->model_memory,
                     .dsn = o->dsn};
    return wh_open(&cfg, &r->main, err);
}

/* --memory-limit caps the model blocks (default: a quarter of the
 * machine); the loading blocks are bounded by design and take at most
 * 128MB of it (more measured slower at scale 10: 27-31 s with 128MB,
 * 33-38 s with 256MB). */
void orch_load_memory(const char *cap, char *out, size_t n)
{
    uint64_t bytes = 0;
    bool small = cap && num_parse_size(cap, &bytes) && bytes < (128ULL << 20);
    snprintf(out, n, "%s", small ? cap : "128MB");
}

static void size_memory(orun *r)
{
    if (r->o->memory_limit)
        snprintf(r->model_memory, sizeof r->model_memory, "%s", r->o->memory_limit);
    else
        wh_memory_default(r->model_memory, sizeof r->model_memory);
    orch_load_memory(r->o->memory_limit, r->load_memory, sizeof r->load_memory);
}

static void locate_stage(orun *r)
{
    const orch_opts *o = r->o;
    /* DuckDB renames the staged tables into place (no copy); PostgreSQL
     * refills its tables from a stage schema so views on them stay valid */
    bool rename = r->wops->load == WH_LOAD_RENAME;
    snprintf(r->stage_schema, sizeof r->stage_schema, rename ? "%s" : "%s_stage", o->schema);
    r->stage_prefix = rename ? "_stage_" : "";
    snprintf(r->stage_file, sizeof r->stage_file, "%s/stage-%s.duckdb",
             o->state_dir ? o->state_dir : ".bookpipe", o->schema);
    fs_dirname(r->stage_file, r->state_dir, sizeof r->state_dir);
    snprintf(r->project_dir, sizeof r->project_dir, "%s", o->project_dir ? o->project_dir : "");
}

/* The folder of the local stage file (and of Redshift's run lock). */
static bp_status state_dir_ready(const orun *r, bp_err *err)
{
    return fs_mkdir_p(r->state_dir, BP_EIO, "state folder", err);
}

static void summarize(orun *r, orch_result *res)
{
    bool cancelled = r->o->stop && *r->o->stop;
    for (int i = 0; i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (k->state == BS_OUT)
            continue;
        if (!strcmp(k->status, "completed"))
            res->completed++;
        else if (!strcmp(k->status, "skipped") || !strcmp(k->status, "condition_failed"))
            res->skipped++;
        else if (!strcmp(k->status, "failed")) {
            if (!res->failed++)
                res->first_error = k->err_status;
        } else
            res->not_run++;
    }
    snprintf(res->status, sizeof res->status, "%s",
             cancelled ? "cancelled" : res->failed || res->not_run ? "failed" : "completed");
}

static void free_run(orun *r)
{
    for (int i = 0; r->blk && i < r->p.n; i++)
        free(r->blk[i].log);
    free(r->blk);
    for (int i = 0; i < r->nv; i++) {
        free(r->vkeys[i]);
        free(r->vvals[i]);
    }
    free(r->vkeys);
    free(r->vvals);
    pl_free(&r->p);
}

bp_status orch_run(const orch_opts *o, orch_result *res, bp_err *err)
{
    memset(res, 0, sizeof *res);
    orun r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.t0 = orch_now();
    bp_status st = pl_load(o->pipeline, &r.p, err);
    if (st != BP_OK)
        return st;
    meta_lock lk = {.fd = -1};
    bool locked = false, mu = false;
    if (!(r.blk = calloc((size_t)r.p.n, sizeof *r.blk))) {
        st = oom(err);
        goto out;
    }
    for (int i = 0; i < r.p.n; i++) {
        r.blk[i] = (blk){.run = &r, .b = &r.p.b[i], .idx = i, .status = "queued",
                         .rows_in = -1, .rows_out = -1};
    }
    if (!(r.wops = wh_ops_named(o->target))) {
        st = bp_fail(err, BP_EUSAGE, "unknown target '%s' (duckdb, postgres, redshift)", o->target);
        goto out;
    }
    locate_stage(&r);
    size_memory(&r);
    if ((st = make_vars(&r, err)) != BP_OK || (st = choose(&r, err)) != BP_OK)
        goto out;
    for (int i = 0; i < r.p.n && !(o->data && *o->data); i++)
        if (r.blk[i].state == BS_PENDING && r.p.b[i].type == BT_EXTRACT) {
            st = bp_fail(err, BP_EUSAGE, "no input: give --data with a folder or the Kaggle "
                         "zip (`bookpipe gen --out DIR` makes a dataset)");
            goto out;
        }
    for (int i = 0; i < r.p.n && r.wops->load == WH_LOAD_FROM_LAKE; i++)
        if (r.blk[i].state == BS_PENDING && r.p.b[i].type == BT_LOAD &&
            (st = rs_check_opts(o->lake, o->iam_role, err)) != BP_OK)
            goto out;
    char note[600] = "";
    /* a lock file for DuckDB (next to it) and Redshift (which has no
     * advisory locks: in the state folder, so one machine at a time);
     * PostgreSQL takes an advisory lock on the server */
    bool duck = r.wops->lock == WH_LOCK_FILE, rs = r.wops->lock == WH_LOCK_STATE;
    if (rs && (st = state_dir_ready(&r, err)) != BP_OK)
        goto out;
    if ((duck || rs) &&
        (st = meta_lock_take(&lk, r.wops->lock, duck ? o->warehouse : r.stage_file, o->schema, NULL,
                             0, note, sizeof note, err)) != BP_OK)
        goto out;
    locked = duck || rs;
    if ((st = open_warehouse(&r, err)) != BP_OK)
        goto out;
    if (!duck && !rs && (st = meta_lock_take(&lk, r.wops->lock, o->warehouse, o->schema, r.main, 0,
                                             note, sizeof note, err)) != BP_OK)
        goto out;
    locked = true;
    if (note[0] && o->view != VIEW_JSON)
        bp_log(BP_LOG_ERROR, "%s", note);
    int64_t next = 1;
    if ((st = meta_init(r.main, err)) != BP_OK || (st = meta_mark_dead(r.main, err)) != BP_OK ||
        (st = ingest_next_run_id(r.main, o->schema, o->lake, &next, err)) != BP_OK)
        goto out;
    buf vj = {0};
    if (vars_json(&r, &vj) != BP_OK) {
        buf_free(&vj);
        st = oom(err);
        goto out;
    }
    st = meta_run_start(r.main, r.p.name, vj.p, o->trigger, next - 1, &r.run_id, err);
    buf_free(&vj);
    if (st != BP_OK)
        goto out;
    res->run_id = r.run_id;
    if (pthread_mutex_init(&r.mu, NULL) != 0 || pthread_cond_init(&r.cv, NULL) != 0) {
        st = bp_fail(err, BP_EINTERNAL, "cannot set up the scheduler");
        goto out;
    }
    mu = true;
    for (int i = 0; i < r.p.n; i++)
        r.blk[i].dirty = r.blk[i].state != BS_OUT;
    write_meta(&r);
    view_start(&r);
    loop(&r);
    summarize(&r, res);
    bp_err e = {0};
    if (meta_run_end(r.main, r.run_id, res->status, &e) != BP_OK && !r.meta_warned)
        bp_log(BP_LOG_WARN, "run %lld not marked %s: %s", (long long)r.run_id, res->status, e.msg);
    view_end(&r, res);
out:
    if (locked)
        meta_lock_release(&lk);
    if (r.main)
        wh_close(r.main);
    if (mu) {
        pthread_mutex_destroy(&r.mu);
        pthread_cond_destroy(&r.cv);
    }
    free_run(&r);
    return st;
}
