/* ingest.c: the load stages of the pipeline, in one transaction. */
#include <errno.h>
#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../csv/csv.h"
#include "../extract/src.h"
#include "../lake/lake.h"
#include "../core/log.h"

static const char *const table_names[SRC_NTABLES] = {"books", "users", "ratings"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

bp_status ingest_next_run_id(wh *w, const char *schema, const char *lake, int64_t *out,
                             bp_err *err)
{
    bool exists;
    long long max = 0;
    bp_status st = wh_exists(w, schema, "load_audit", &exists, err);
    if (st == BP_OK && exists) {
        buf sql = {0};
        if (buf_adds(&sql, "SELECT max(run_id) FROM ") || buf_add_ident(&sql, schema) ||
            buf_adds(&sql, ".load_audit"))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        else
            st = wh_query_int(w, sql.p, 0, &max, err);
        buf_free(&sql);
    }
    /* past both: a run id the lake has used is never used again */
    int64_t lm = 0;
    if (st == BP_OK && (!lake || (st = lake_max_run(lake, &lm, err)) == BP_OK))
        *out = (max > lm ? max : lm) + 1;
    return st;
}

/* Pick the dialect from the header line: the original release quotes
 * every field and separates them with ';'. */
static bp_status detect_dialect(csv_reader *r, const char *label, csv_dialect *d,
                                src_format *fmt, bp_err *err)
{
    const char *p;
    size_t n;
    if (csv_peek(r, &p, &n, err) != BP_OK)
        return BP_EINPUT;
    if (n == 0)
        return bp_fail(err, BP_EINPUT, "%s: the file is empty (expected a header line)", label);
    size_t semi = 0, comma = 0, nul = 0;
    size_t i = 0;
    for (; i < n && p[i] != '\n' && p[i] != '\r'; i++) {
        semi += p[i] == ';';
        comma += p[i] == ',';
    }
    for (size_t k = 0; k < n && k < 65536; k++)
        nul += p[k] == 0;
    if (nul)
        return bp_fail(err, BP_EINPUT, "%s: holds binary data (NUL bytes), not CSV text", label);
    bool bx = semi > comma;
    *d = (csv_dialect){bx ? ';' : ',', bx};
    *fmt = bx ? SRC_FMT_BX : SRC_FMT_KAGGLE;
    return BP_OK;
}

/* ---- the producer: read and clean on a thread of its own ----------------
 *
 * Reading and cleaning (one core) overlap with the warehouse appends (the
 * other core). Filled batches travel to the loading thread through a small
 * queue; each kind of batch has a fixed pool, which bounds memory: the
 * producer waits when the loader falls behind. */

enum { K_QUARANTINE = SRC_NTABLES, K_NKINDS, POOL = 4 };
enum { IT_BATCH, IT_TABLE_END, IT_DONE, IT_ERROR };

typedef struct {
    int type, kind;
    batch *b;
} item;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item q[K_NKINDS * POOL + 2];
    size_t head, n;
    batch *pool[K_NKINDS][POOL];
    int npool[K_NKINDS];
    bool cancel;
} chan;

typedef struct {
    chan ch;
    const src_set *set;
    const ingest_opts *o;
    ingest_report *rep;
    int64_t run_id;
    bp_err err;      /* the producer's error, handed over with IT_ERROR */
    double t_clean;
    unsigned long long bytes_before; /* of the sources already read */
} producer;

static void chan_push(chan *c, item it)
{
    pthread_mutex_lock(&c->mu);
    c->q[(c->head + c->n) % (sizeof c->q / sizeof c->q[0])] = it;
    c->n++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static item chan_pop(chan *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->n == 0)
        pthread_cond_wait(&c->cv, &c->mu);
    item it = c->q[c->head];
    c->head = (c->head + 1) % (sizeof c->q / sizeof c->q[0]);
    c->n--;
    pthread_mutex_unlock(&c->mu);
    return it;
}

/* An empty batch of this kind, waiting for the loader to return one;
 * NULL when the run was cancelled. */
static batch *chan_take(chan *c, int kind)
{
    pthread_mutex_lock(&c->mu);
    while (c->npool[kind] == 0 && !c->cancel)
        pthread_cond_wait(&c->cv, &c->mu);
    batch *b = c->cancel ? NULL : c->pool[kind][--c->npool[kind]];
    pthread_mutex_unlock(&c->mu);
    return b;
}

static void chan_give(chan *c, int kind, batch *b)
{
    batch_clear(b);
    pthread_mutex_lock(&c->mu);
    c->pool[kind][c->npool[kind]++] = b;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void chan_cancel(chan *c)
{
    pthread_mutex_lock(&c->mu);
    c->cancel = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static const table_def *kind_def(int kind)
{
    return kind == K_QUARANTINE ? &clean_quarantine_def : clean_table_def((src_table)kind);
}

/* The table a kind is written to: its own name, or with o->table_prefix. */
typedef struct {
    table_def d;
    char name[128];
} named_def;

static const table_def *out_def(const ingest_opts *o, const table_def *base, named_def *nd)
{
    if (!o || !o->table_prefix)
        return base;
    nd->d = *base;
    snprintf(nd->name, sizeof nd->name, "%s%s", o->table_prefix, base->name);
    nd->d.name = nd->name;
    return &nd->d;
}

static bp_status chan_init(chan *c)
{
    memset(c, 0, sizeof *c);
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return BP_EINTERNAL;
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        return BP_EINTERNAL;
    }
    for (int k = 0; k < K_NKINDS; k++)
        for (int i = 0; i < POOL; i++) {
            batch *b = batch_new(kind_def(k));
            if (!b)
                return BP_ENOMEM;
            c->pool[k][c->npool[k]++] = b;
        }
    return BP_OK;
}

/* Free the pools; every batch must be back in its pool or in the queue. */
static void chan_free(chan *c)
{
    for (int k = 0; k < K_NKINDS; k++)
        for (int i = 0; i < c->npool[k]; i++)
            batch_free(c->pool[k][i]);
    for (size_t i = 0; i < c->n; i++) {
        item *it = &c->q[(c->head + i) % (sizeof c->q / sizeof c->q[0])];
        if (it->type == IT_BATCH)
            batch_free(it->b);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

static void progress(const ingest_opts *o, const char *label, uint64_t rows, bool done)
{
    if (!o->progress)
        return;
    fprintf(stderr, "\r  %-24s %12llu rows%s", label, (unsigned long long)rows,
            done ? "\n" : "");
    fflush(stderr);
}

/* Hand a full (or final) batch over and get an empty one back. */
static bp_status pass_on(producer *p, int kind, batch **b)
{
    if ((*b)->n)
        chan_push(&p->ch, (item){IT_BATCH, kind, *b});
    else
        chan_give(&p->ch, kind, *b);
    *b = chan_take(&p->ch, kind);
    return *b ? BP_OK : bp_fail(&p->err, BP_EINTERNAL, "cancelled");
}

/* Open source t and read its header: the reader stands on the first row. */
static bp_status open_source(producer *p, src_table t, cleaner *c, src_stream **s,
                             csv_reader **r)
{
    bp_err *err = &p->err;
    bp_status st = src_open(p->set, t, s, err);
    if (st != BP_OK)
        return st;
    if (!(*r = csv_new(*s, (csv_dialect){',', false})))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    csv_dialect d;
    src_format fmt;
    if ((st = detect_dialect(*r, src_label(*s), &d, &fmt, err)) != BP_OK)
        return st;
    csv_set_dialect(*r, d);
    snprintf(p->rep->format[t], sizeof p->rep->format[t], "%s",
             fmt == SRC_FMT_BX ? "bx" : "kaggle");
    int got = csv_next(*r, err);
    if (got == 0)
        bp_fail(err, BP_EINPUT, "%s: the file is empty (expected a header line)", src_label(*s));
    if (got <= 0)
        return err->status;
    if ((st = clean_header(c, *r, src_label(*s), err)) != BP_OK)
        return st;
    csv_expect_fields(*r, csv_nfields(*r)); /* a stray quote is then caught at its line */
    return BP_OK;
}

/* Every 4096 rows: stop when asked, show progress (the bytes of s read,
 * when s is the pass that loads). */
static bp_status tick(producer *p, const char *label, uint64_t n, const src_stream *s)
{
    if ((n & 0xFFF) != 0)
        return BP_OK;
    if (p->o->stop && *p->o->stop)
        return bp_fail(&p->err, BP_EINTR, "interrupted; the warehouse and lake are unchanged");
    if ((n & 0x3FFFF) == 0)
        progress(p->o, label, n, false);
    if (s && p->o->bytes_done)
        *p->o->bytes_done = p->bytes_before + src_bytes(s);
    return BP_OK;
}

/* The first of two passes over a source whose keys would not fit in
 * memory (clean_keys_fit): each row is checked as in the second pass up to
 * its key, which goes to a spill file; rows and quarantine rows go
 * nowhere. Out: the lines that repeat an earlier line's key, and the
 * file as it was read (the second pass must read the same). */
static bp_status find_dups(producer *p, src_table t, keyset_lines *dups, src_seen *seen)
{
    const char *label = p->set->file[t].label;
    bp_err *err = &p->err;
    src_stream *s = NULL;
    csv_reader *r = NULL;
    keyset_spill *sp = NULL;
    cleaner *c = clean_new(t, &p->o->clean, label, 0);
    batch *out = batch_new(kind_def(t)), *q = batch_new(&clean_quarantine_def);
    bp_status st = !c || !out || !q ? bp_fail(err, BP_ENOMEM, "out of memory")
                                    : keyset_spill_new(p->o->spill_dir, &sp, err);
    if (st == BP_OK) {
        clean_keys_to(c, sp);
        bp_log(BP_LOG_INFO, "%s: more keys than memory allows; duplicates found in a first "
               "pass", label);
        st = open_source(p, t, c, &s, &r);
    }
    uint64_t n = 0;
    int got = 0;
    while (st == BP_OK && (got = csv_next(r, err)) > 0) {
        if ((st = clean_record(c, r, p->run_id, out, q)) != BP_OK)
            bp_fail(err, st, "%s: line %llu: %s", label, (unsigned long long)csv_line(r),
                    clean_error(c));
        else if (batch_full(q))
            batch_clear(q);
        if (st == BP_OK)
            st = tick(p, label, ++n, NULL);
    }
    if (st == BP_OK && got < 0)
        st = err->status;
    if (st == BP_OK && (st = src_finish(s, seen, err)) == BP_OK)
        st = keyset_spill_resolve(sp, dups, err);
    keyset_spill_free(sp);
    batch_free(out);
    batch_free(q);
    clean_free(c);
    csv_free(r);
    src_close(s);
    return st;
}

/* Read and clean one source into batches. */
static bp_status clean_table(producer *p, src_table t, batch **q)
{
    src_stream *s = NULL;
    csv_reader *r = NULL;
    cleaner *c = NULL;
    batch *b = NULL;
    const src_set *set = p->set;
    const char *label = set->file[t].label;
    bp_err *err = &p->err;
    bp_status st = BP_OK;
    struct stat sb;
    size_t hint = 0; /* file size, to size the key sets once */
    if (!set->is_zip && !set->file[t].gz && stat(set->file[t].name, &sb) == 0 &&
        S_ISREG(sb.st_mode))
        hint = (size_t)sb.st_size;
    /* a regular file can be read twice: its keys need not fit in memory */
    bool two_pass = hint && !clean_keys_fit(t, hint);
    keyset_lines dups = {0};
    src_seen first = {0};
    if (two_pass && (st = find_dups(p, t, &dups, &first)) != BP_OK)
        return st;
    c = clean_new(t, &p->o->clean, label, two_pass ? 0 : hint);
    b = chan_take(&p->ch, t);
    if (!c || !b) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    if (two_pass)
        clean_dups_from(c, &dups);
    if ((st = open_source(p, t, c, &s, &r)) != BP_OK)
        goto done;
    uint64_t n = 0;
    int got;
    while ((got = csv_next(r, err)) > 0) {
        if ((st = clean_record(c, r, p->run_id, b, *q)) != BP_OK) {
            bp_fail(err, st, "%s: line %llu: %s", label, (unsigned long long)csv_line(r),
                    clean_error(c));
            goto done;
        }
        if (batch_full(b) && (st = pass_on(p, t, &b)) != BP_OK)
            goto done;
        if (batch_full(*q) && (st = pass_on(p, K_QUARANTINE, q)) != BP_OK)
            goto done;
        if ((st = tick(p, label, ++n, s)) != BP_OK)
            goto done;
    }
    if (got < 0) {
        st = err->status;
        goto done;
    }
    if (n == 0 && !p->o->clean.allow_empty) {
        st = bp_fail(err, BP_EINPUT, "%s: a header and no rows: loading it would empty the %s "
                     "table; nothing was changed (give --allow-empty if an empty table is "
                     "what you want)", src_label(s), table_names[t]);
        goto done;
    }
    if ((st = src_finish(s, &p->rep->seen[t], err)) != BP_OK)
        goto done;
    const src_seen *now = &p->rep->seen[t];
    if (two_pass && (now->size != first.size || now->mtime_ns != first.mtime_ns ||
                     strcmp(now->sum, first.sum) != 0)) {
        st = bp_fail(err, BP_EINPUT, "%s changed between the two passes over it (%lld bytes, "
                     "then %lld): a file still being written? Nothing was loaded; run again "
                     "when it is complete", label, (long long)first.size, (long long)now->size);
        goto done;
    }
    if ((st = pass_on(p, t, &b)) != BP_OK)
        goto done;
    progress(p->o, label, n, true);
    p->rep->st[t] = *clean_get_stats(c);
    p->rep->bytes[t] = src_bytes(s);
    p->rep->two_pass[t] = two_pass;
    p->bytes_before += src_bytes(s);
    if (p->o->bytes_done)
        *p->o->bytes_done = p->bytes_before;
done:
    if (b)
        chan_give(&p->ch, t, b);
    keyset_lines_free(&dups);
    clean_free(c);
    csv_free(r);
    src_close(s);
    return st;
}

void ingest_report_print(FILE *f, const ingest_report *rep)
{
    fprintf(f, "  %-22s %-7s %12s %12s %12s %10s\n", "source", "format", "read", "loaded",
            "quarantined", "repaired");
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *x = &rep->st[t];
        fprintf(f, "  %-22s %-7s %12llu %12llu %12llu %10llu%s\n", rep->label[t], rep->format[t],
                (unsigned long long)x->read, (unsigned long long)x->loaded,
                (unsigned long long)x->quarantined, (unsigned long long)x->repaired,
                rep->two_pass[t] ? "  (keys over memory: read twice)" : "");
    }
}

static void *produce(void *arg)
{
    producer *p = arg;
    double t0 = now_s();
    bp_status st = BP_OK;
    batch *q = chan_take(&p->ch, K_QUARANTINE);
    if (!q)
        st = bp_fail(&p->err, BP_EINTERNAL, "cancelled");
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++)
        if ((st = clean_table(p, (src_table)t, &q)) == BP_OK)
            chan_push(&p->ch, (item){IT_TABLE_END, t, NULL});
    if (q && st == BP_OK && q->n) {
        chan_push(&p->ch, (item){IT_BATCH, K_QUARANTINE, q});
        q = NULL;
    }
    if (q)
        chan_give(&p->ch, K_QUARANTINE, q);
    p->t_clean = now_s() - t0;
    chan_push(&p->ch, (item){st == BP_OK ? IT_DONE : IT_ERROR, 0, NULL});
    return NULL;
}

/* Load what the producer sends until it is done; on a load error, cancel
 * it and drain the queue so that it can finish. */
static bp_status consume(wh *w, producer *p, wh_loader *const *loaders, wh *e,
                         wh_loader *const *eloaders, double *t_load, bp_err *err)
{
    bp_status st = BP_OK;
    for (;;) {
        item it = chan_pop(&p->ch);
        if (it.type == IT_TABLE_END)
            continue;
        if (it.type == IT_DONE)
            return st;
        if (it.type == IT_ERROR) {
            if (st == BP_OK && err)
                *err = p->err;
            return st == BP_OK ? p->err.status : st;
        }
        if (st == BP_OK) {
            double t0 = now_s();
            st = wh_load_batch(w, loaders[it.kind], it.b, err);
            /* the lake's DuckDB engine gets the same rows */
            if (st == BP_OK && e && eloaders[it.kind])
                st = wh_load_batch(e, eloaders[it.kind], it.b, err);
            *t_load += now_s() - t0;
            if (st != BP_OK)
                chan_cancel(&p->ch);
        }
        chan_give(&p->ch, it.kind, it.b);
    }
}

/* ---- the pull path: the warehouse's own threads take the batches ---------
 *
 * One INSERT per table pulls that table's batches (wh_ops.load_source).
 * Quarantine batches that arrive meanwhile are parked; when the whole
 * quarantine pool is parked the INSERT is paused (ends early), the parked
 * rows are appended, and a new INSERT goes on where it stopped. */

enum { S_RUN, S_PAUSED, S_TABLE_END, S_DONE, S_ERROR };

typedef struct {
    producer *p;
    int table, state, nparked;
    batch *parked[POOL];
    pthread_mutex_t mu;
} pull_ctx;

static const batch *pull_next(void *ctx)
{
    pull_ctx *x = ctx;
    const batch *out = NULL;
    pthread_mutex_lock(&x->mu);
    while (x->state == S_RUN && !out) {
        item it = chan_pop(&x->p->ch);
        if (it.type == IT_BATCH && it.kind == x->table) {
            out = it.b;
        } else if (it.type == IT_BATCH) {
            x->parked[x->nparked++] = it.b;
            if (x->nparked == POOL)
                x->state = S_PAUSED;
        } else {
            x->state = it.type == IT_TABLE_END ? S_TABLE_END
                       : it.type == IT_DONE    ? S_DONE
                                               : S_ERROR;
        }
    }
    pthread_mutex_unlock(&x->mu);
    return out;
}

static void pull_done_with(void *ctx, const batch *b)
{
    pull_ctx *x = ctx;
    chan_give(&x->p->ch, x->table, (batch *)b);
}

static bp_status append_quarantine(wh *w, wh_loader *ql, producer *p, batch *b, double *t_load,
                                   bp_status st, bp_err *err)
{
    if (st == BP_OK) {
        double t0 = now_s();
        st = wh_load_batch(w, ql, b, err);
        *t_load += now_s() - t0;
    }
    chan_give(&p->ch, K_QUARANTINE, b);
    return st;
}

/* After a failure, let the producer finish: cancel it and take back what
 * it sends. */
static void drain(producer *p)
{
    chan_cancel(&p->ch);
    for (;;) {
        item it = chan_pop(&p->ch);
        if (it.type == IT_DONE || it.type == IT_ERROR)
            return;
        if (it.type == IT_BATCH)
            chan_give(&p->ch, it.kind, it.b);
    }
}

static bp_status consume_pull(wh *w, producer *p, const char *schema, wh_loader *ql,
                              double *t_load, bp_err *err)
{
    pull_ctx x = {.p = p};
    wh_source src = {pull_next, pull_done_with, &x};
    bp_status st = BP_OK;
    if (pthread_mutex_init(&x.mu, NULL) != 0) {
        drain(p);
        return bp_fail(err, BP_EINTERNAL, "cannot set up the loader");
    }
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++) {
        x.table = t;
        do {
            x.state = S_RUN;
            double t0 = now_s();
            named_def nd;
            st = wh_load_source(w, schema, out_def(p->o, clean_table_def((src_table)t), &nd),
                                     &src, err);
            *t_load += now_s() - t0;
            for (int i = 0; i < x.nparked; i++)
                st = append_quarantine(w, ql, p, x.parked[i], t_load, st, err);
            x.nparked = 0;
        } while (st == BP_OK && x.state == S_PAUSED);
        if (st == BP_OK && x.state == S_ERROR) {
            *err = p->err;
            st = p->err.status;
            goto done; /* the producer has stopped */
        }
        if (st == BP_OK && x.state != S_TABLE_END)
            st = bp_fail(err, BP_EINTERNAL, "loader: %s ended early",
                         clean_table_def((src_table)t)->name);
        if (st != BP_OK && x.state != S_DONE) {
            drain(p);
            goto done;
        }
    }
    for (;;) { /* the last quarantine batch, then the end */
        item it = chan_pop(&p->ch);
        if (it.type == IT_DONE)
            break;
        if (it.type == IT_ERROR) {
            *err = p->err;
            st = p->err.status;
            break;
        }
        if (it.type == IT_BATCH)
            st = append_quarantine(w, ql, p, it.b, t_load, st, err);
    }
done:
    pthread_mutex_destroy(&x.mu);
    return st;
}

/* Open the loaders, run producer and loader, close the loaders. */
static bp_status load_all(wh *w, wh *engine, const ingest_opts *o, const src_set *set,
                          ingest_report *rep, int64_t run_id, bp_err *err)
{
    producer *p = calloc(1, sizeof *p);
    wh_loader *loaders[K_NKINDS] = {NULL}, *eloaders[K_NKINDS] = {NULL};
    named_def nds[K_NKINDS]; /* outlive the loaders that point at them */
    bp_status st;
    if (!p)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    p->set = set;
    p->o = o;
    p->rep = rep;
    p->run_id = run_id;
    if ((st = chan_init(&p->ch)) != BP_OK) {
        bp_fail(err, st, "cannot set up the loading queue");
        goto done;
    }
    bool pull = wh_can_pull(w) && !engine;
    for (int k = pull ? K_QUARANTINE : 0; k < K_NKINDS; k++)
        if ((st = wh_load_begin(w, o->schema, out_def(o, kind_def(k), &nds[k]), &loaders[k],
                                     err)) != BP_OK)
            goto done;
    for (int k = 0; engine && k < SRC_NTABLES; k++)
        if ((st = wh_load_begin(engine, o->schema, kind_def(k), &eloaders[k], err)) !=
            BP_OK)
            goto done;
    pthread_t th;
    if (pthread_create(&th, NULL, produce, p) != 0) {
        st = bp_fail(err, BP_EINTERNAL, "cannot start the cleaning thread");
        goto done;
    }
    if (pull)
        st = consume_pull(w, p, o->schema, loaders[K_QUARANTINE], &rep->t_load, err);
    else
        st = consume(w, p, loaders, engine, eloaders, &rep->t_load, err);
    pthread_join(th, NULL);
    rep->t_clean = p->t_clean;
done:
    for (int k = 0; k < K_NKINDS; k++) {
        bp_err tmp;
        double t0 = now_s();
        if (loaders[k]) {
            bp_status e = wh_load_end(w, loaders[k], st == BP_OK ? err : &tmp);
            if (st == BP_OK)
                st = e;
        }
        if (eloaders[k]) {
            bp_status e = wh_load_end(engine, eloaders[k], st == BP_OK ? err : &tmp);
            if (st == BP_OK)
                st = e;
        }
        rep->t_load += now_s() - t0;
    }
    chan_free(&p->ch);
    free(p);
    return st;
}

/* {"reason": count, ...} for the non-zero counters. */
static bp_status counts_json(buf *out, const uint64_t *v, int n, const char *(*name)(int))
{
    buf_reset(out);
    if (buf_addc(out, '{'))
        return BP_ENOMEM;
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!v[i])
            continue;
        if (buf_printf(out, "%s\"%s\": %llu", first ? "" : ", ", name(i),
                       (unsigned long long)v[i]))
            return BP_ENOMEM;
        first = false;
    }
    return buf_addc(out, '}');
}

static const char *nname(int i) { return clean_nreason_name((clean_nreason)i); }
static const char *rname(int i) { return clean_repair_name((clean_repair)i); }
static const char *qname(int i) { return clean_qreason_name((clean_qreason)i); }

static bp_status write_audit(wh *w, const ingest_opts *o, const ingest_report *rep,
                             int64_t run_id, bp_err *err)
{
    const char *schema = o->schema;
    named_def nd;
    batch *a = batch_new(&clean_audit_def);
    wh_loader *l = NULL;
    buf js = {0};
    bp_status st = BP_ENOMEM;
    if (!a)
        goto done;
    int64_t ts = now_us();
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *s = &rep->st[t];
        const char *lab = rep->label[t];
        batch_set_int(a, 0, run_id);
        batch_set_int(a, 3, (int64_t)s->read);
        batch_set_int(a, 4, (int64_t)s->loaded);
        batch_set_int(a, 5, (int64_t)s->quarantined);
        batch_set_int(a, 6, (int64_t)s->repaired);
        batch_set_int(a, 11, (int64_t)rep->bytes[t]);
        batch_set_int(a, 12, ts);
        if (batch_set_text(a, 1, lab, strlen(lab)) ||
            batch_set_text(a, 2, table_names[t], strlen(table_names[t])) ||
            batch_set_text(a, 10, rep->format[t], strlen(rep->format[t])) ||
            counts_json(&js, s->nulled, N_NREASONS, nname) ||
            batch_set_text(a, 7, js.p, js.len) ||
            counts_json(&js, s->repairs, R_NKINDS, rname) ||
            batch_set_text(a, 8, js.p, js.len) ||
            counts_json(&js, s->q, Q_NREASONS, qname) ||
            batch_set_text(a, 9, js.p, js.len))
            goto done;
        batch_commit(a);
    }
    if ((st = wh_load_begin(w, schema, out_def(o, &clean_audit_def, &nd), &l, err)) != BP_OK)
        goto done;
    st = wh_load_batch(w, l, a, err);
    bp_err tmp;
    bp_status e = wh_load_end(w, l, st == BP_OK ? err : &tmp);
    if (st == BP_OK)
        st = e;
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&js);
    batch_free(a);
    return st;
}

static bp_status create_tables(wh *w, const char *schema, const ingest_opts *o, bp_err *err)
{
    bool fresh = o && o->fresh;
    named_def nd;
    buf sql = {0};
    bp_status st = BP_ENOMEM;
    if (buf_adds(&sql, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&sql, schema))
        goto done;
    if ((st = wh_exec(w, sql.p, err)) != BP_OK)
        goto done;
    for (int t = 0; t < SRC_NTABLES; t++)
        if ((st = wh_replace_table(w, schema, out_def(o, clean_table_def((src_table)t), &nd),
                                        err)) != BP_OK)
            goto done;
    if ((st = wh_create_table(w, schema, out_def(o, &clean_quarantine_def, &nd), fresh, err)) !=
        BP_OK)
        goto done;
    st = wh_create_table(w, schema, out_def(o, &clean_audit_def, &nd), fresh, err);
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    return st;
}

/* A scratch DuckDB file for the lake's Parquet when the warehouse is
 * another database: it gets the same cleaned rows and writes the files. */
static bp_status open_engine(wh **out, char *path, size_t n, const char *keep,
                             const char *schema, bp_err *err)
{
    const char *tmp = getenv("TMPDIR");
    if (keep)
        snprintf(path, n, "%s.tmp", keep);
    else
        snprintf(path, n, "%s/bookpipe-lake-%d.duckdb", tmp && *tmp ? tmp : "/tmp",
                 (int)getpid());
    char wal[4200];
    snprintf(wal, sizeof wal, "%s.wal", path);
    unlink(path);
    unlink(wal);
    wh_config cfg = {.target = "duckdb", .path = path, .memory_limit = "128MB"};
    bp_status st = wh_open(&cfg, out, err);
    if (st != BP_OK)
        return st;
    if ((st = create_tables(*out, schema, NULL, err)) != BP_OK) {
        wh_close(*out);
        *out = NULL;
    }
    return st;
}

/* Close the engine; keep its file at `keep` (renamed from the temporary
 * path) or remove it. */
static bp_status close_engine(wh *e, const char *path, const char *keep, bp_err *err)
{
    if (!e)
        return BP_OK;
    wh_close(e);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s.wal", path);
    unlink(wal);
    if (!keep) {
        unlink(path);
        return BP_OK;
    }
    if (rename(path, keep) == 0)
        return BP_OK;
    bp_status st = bp_fail(err, BP_EIO, "cannot move the stage file %s into place: %s", path,
                           strerror(errno));
    unlink(path);
    return st;
}

/* ---- the load guards ------------------------------------------------------------------ */

/* Rows in each live table this load replaces (-1: no such table). */
static bp_status live_counts(const ingest_opts *o, wh *w, int64_t prev[SRC_NTABLES], bp_err *err)
{
    wh *live = o->live ? o->live : w;
    const char *schema = o->live_schema ? o->live_schema : o->schema;
    for (int t = 0; t < SRC_NTABLES; t++) {
        prev[t] = -1;
        bool exists = false;
        bp_status st = wh_exists(live, schema, table_names[t], &exists, err);
        buf q = {0};
        long long n = 0;
        if (st == BP_OK && exists) {
            if (buf_adds(&q, "SELECT count(*) FROM ") || buf_add_ident(&q, schema) ||
                buf_addc(&q, '.') || buf_add_ident(&q, table_names[t]))
                st = bp_fail(err, BP_ENOMEM, "out of memory");
            else if ((st = wh_query_int(live, q.p, 0, &n, err)) == BP_OK)
                prev[t] = n;
        }
        buf_free(&q);
        if (st != BP_OK)
            return st;
    }
    return BP_OK;
}

/* Refuse a load that would lose most of a table, unless told to. */
static bp_status check_guards(const ingest_opts *o, const ingest_report *rep,
                              const int64_t prev[SRC_NTABLES], bp_err *err)
{
    if (o->clean.allow_shrink)
        return BP_OK;
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *x = &rep->st[t];
        if (!x->read && o->clean.allow_empty)
            continue; /* emptying it was asked for */
        if (x->read && x->quarantined * 2 > x->read)
            return bp_fail(err, BP_EINPUT, "%s: %llu of %llu rows would go to quarantine (more "
                           "than half: a broken file?); nothing was changed (give "
                           "--allow-shrink to load it anyway; the quarantine table then says "
                           "why each row was refused)", rep->label[t], (unsigned long long)x->quarantined,
                           (unsigned long long)x->read);
        if (prev[t] > 0 && (int64_t)x->loaded * 2 < prev[t])
            return bp_fail(err, BP_EINPUT, "%s: the %s table would shrink from %lld to %llu "
                           "rows (more than half gone against the last load); nothing was "
                           "changed (give --allow-shrink if the new file is right)",
                           rep->label[t], table_names[t], (long long)prev[t],
                           (unsigned long long)x->loaded);
    }
    return BP_OK;
}

bp_status ingest_run(wh *w, const ingest_opts *o, ingest_report *rep, bp_err *err)
{
    double t0 = now_s();
    memset(rep, 0, sizeof *rep);
    src_set set;
    bp_status st = src_discover(o->data, &set, err);
    if (st != BP_OK)
        return st;
    for (int t = 0; t < SRC_NTABLES; t++)
        snprintf(rep->label[t], sizeof rep->label[t], "%s", set.file[t].label);
    int64_t run_id = o->run_id;
    if (!run_id && (st = ingest_next_run_id(w, o->schema, o->lake, &run_id, err)) != BP_OK)
        return st;
    rep->run_id = run_id;
    bool lake_prepared = false, in_tx = false;
    wh *engine = NULL; /* DuckDB that writes the lake when the warehouse is not DuckDB */
    char engine_path[4096] = "";
    if (o->lake) {
        if ((st = lake_prepare(o->lake, table_names, SRC_NTABLES, run_id, err)) != BP_OK)
            goto fail;
        lake_prepared = true;
    }
    if ((o->lake || o->engine_path) && !wh_embedded(w) &&
        (st = open_engine(&engine, engine_path, sizeof engine_path, o->engine_path, o->schema,
                          err)) != BP_OK)
        goto fail;
    int64_t prev[SRC_NTABLES];
    if ((st = live_counts(o, w, prev, err)) != BP_OK)
        goto fail;
    if ((st = wh_begin(w, err)) != BP_OK)
        goto fail;
    in_tx = true;
    if ((st = create_tables(w, o->schema, o, err)) != BP_OK ||
        (st = load_all(w, engine, o, &set, rep, run_id, err)) != BP_OK ||
        (st = check_guards(o, rep, prev, err)) != BP_OK ||
        (st = write_audit(w, o, rep, run_id, err)) != BP_OK)
        goto fail;
    double t1 = now_s();
    for (int t = 0; o->lake && t < SRC_NTABLES; t++) {
        if ((st = lake_export(engine ? engine : w, o->lake, o->schema, NULL, table_names[t], run_id,
                              err)) != BP_OK)
            goto fail;
        if (o->stop && *o->stop) {
            st = bp_fail(err, BP_EINTR, "interrupted; the warehouse and lake are unchanged");
            goto fail;
        }
    }
    double t2 = now_s();
    rep->t_lake = t2 - t1;
    if ((st = wh_commit(w, err)) != BP_OK)
        goto fail;
    in_tx = false;
    rep->t_commit = now_s() - t2;
    wh *e = engine;
    engine = NULL;
    if ((st = close_engine(e, engine_path, o->engine_path, err)) != BP_OK)
        return st;
    if (o->lake && (st = lake_publish(o->lake, table_names, SRC_NTABLES, run_id, err)) != BP_OK)
        return st;
    int gone;
    bp_err gerr;
    /* the run is in; a run not removed now goes next time */
    if (o->lake && o->lake_keep > 0 && lake_gc(o->lake, o->lake_keep, &gone, &gerr) != BP_OK)
        bp_log(BP_LOG_WARN, "old lake runs not removed (the next run tries again): %s", gerr.msg);
    rep->t_total = now_s() - t0;
    return BP_OK;
fail:
    if (in_tx)
        wh_rollback(w);
    close_engine(engine, engine_path, NULL, NULL);
    if (lake_prepared)
        lake_discard(o->lake, table_names, SRC_NTABLES, run_id);
    return st;
}
