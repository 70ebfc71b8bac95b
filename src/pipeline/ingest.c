/* ingest.c: the load stages of the pipeline, in one transaction. */
#include "ingest.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../csv/csv.h"
#include "../extract/src.h"
#include "../lake/lake.h"

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
    buf sql = {0};
    long long max = 0, exists = 0;
    bp_status st = BP_ENOMEM;
    if (buf_adds(&sql, "SELECT count(*) FROM information_schema.tables WHERE table_schema = ") ||
        buf_add_sqlstr(&sql, schema) || buf_adds(&sql, " AND table_name = 'load_audit'"))
        goto done;
    st = wh_query_int(w, sql.p, 0, &exists, err);
    if (st != BP_OK || !exists)
        goto done;
    buf_reset(&sql);
    st = BP_ENOMEM;
    if (buf_adds(&sql, "SELECT max(run_id) FROM ") || buf_add_ident(&sql, schema) ||
        buf_adds(&sql, ".load_audit"))
        goto done;
    st = wh_query_int(w, sql.p, 0, &max, err);
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    if (st == BP_OK) {
        int64_t lm = lake ? lake_max_run(lake) : 0;
        *out = (max > lm ? max : lm) + 1;
    }
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

typedef struct {
    wh *w;
    const ingest_opts *o;
    ingest_report *rep;
    int64_t run_id;
    batch *q;
    wh_loader *ql;
    double t_load;
} run_ctx;

static bp_status flush(run_ctx *x, wh_loader *l, batch *b, bp_err *err)
{
    double t0 = now_s();
    bp_status st = x->w->ops->load_batch(l, b, err);
    x->t_load += now_s() - t0;
    batch_clear(b);
    return st;
}

static void progress(const ingest_opts *o, const char *label, uint64_t rows, bool done)
{
    if (!o->progress)
        return;
    fprintf(stderr, "\r  %-24s %12llu rows%s", label, (unsigned long long)rows,
            done ? "\n" : "");
    fflush(stderr);
}

/* Read, clean and load one source. */
static bp_status load_table(run_ctx *x, const src_set *set, src_table t, bp_err *err)
{
    src_stream *s = NULL;
    csv_reader *r = NULL;
    cleaner *c = NULL;
    batch *b = NULL;
    wh_loader *l = NULL;
    const char *label = set->file[t].label;
    bp_status st = src_open(set, t, &s, err);
    if (st != BP_OK)
        return st;
    struct stat sb;
    size_t hint = 0; /* file size, to size the key sets once */
    if (!set->is_zip && !set->file[t].gz && stat(set->file[t].name, &sb) == 0)
        hint = (size_t)sb.st_size;
    r = csv_new(s, (csv_dialect){',', false});
    c = clean_new(t, &x->o->clean, label, hint);
    b = batch_new(clean_table_def(t));
    if (!r || !c || !b) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    csv_dialect d;
    src_format fmt;
    if ((st = detect_dialect(r, src_label(s), &d, &fmt, err)) != BP_OK)
        goto done;
    csv_set_dialect(r, d);
    snprintf(x->rep->format[t], sizeof x->rep->format[t], "%s",
             fmt == SRC_FMT_BX ? "bx" : "kaggle");
    int got = csv_next(r, err);
    if (got < 0) {
        st = err ? err->status : BP_EINPUT;
        goto done;
    }
    if (got == 0) {
        st = bp_fail(err, BP_EINPUT, "%s: the file is empty (expected a header line)",
                     src_label(s));
        goto done;
    }
    if ((st = clean_header(c, r, src_label(s), err)) != BP_OK)
        goto done;
    if ((st = x->w->ops->load_begin(x->w, x->o->schema, clean_table_def(t), &l, err)) != BP_OK)
        goto done;
    uint64_t n = 0;
    while ((got = csv_next(r, err)) > 0) {
        if ((st = clean_record(c, r, x->run_id, b, x->q)) != BP_OK) {
            bp_fail(err, st, "%s: line %llu: out of memory", label,
                    (unsigned long long)csv_line(r));
            goto done;
        }
        if (batch_full(b) && (st = flush(x, l, b, err)) != BP_OK)
            goto done;
        if (batch_full(x->q) && (st = flush(x, x->ql, x->q, err)) != BP_OK)
            goto done;
        if ((++n & 0x3FFFF) == 0)
            progress(x->o, label, n, false);
    }
    if (got < 0) {
        st = err ? err->status : BP_EINPUT;
        goto done;
    }
    if ((st = flush(x, l, b, err)) != BP_OK)
        goto done;
    progress(x->o, label, n, true);
    x->rep->st[t] = *clean_get_stats(c);
    x->rep->bytes[t] = src_bytes(s);
done:
    if (l) {
        double t0 = now_s();
        bp_err tmp;
        bp_status e = x->w->ops->load_end(l, st == BP_OK ? err : &tmp);
        x->t_load += now_s() - t0;
        if (st == BP_OK)
            st = e;
    }
    batch_free(b);
    clean_free(c);
    csv_free(r);
    src_close(s);
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

static bp_status write_audit(run_ctx *x, bp_err *err)
{
    batch *a = batch_new(&clean_audit_def);
    wh_loader *l = NULL;
    buf js = {0};
    bp_status st = BP_ENOMEM;
    if (!a)
        goto done;
    int64_t ts = now_us();
    for (int t = 0; t < SRC_NTABLES; t++) {
        const clean_stats *s = &x->rep->st[t];
        const char *lab = x->rep->label[t];
        batch_set_int(a, 0, x->run_id);
        batch_set_int(a, 3, (int64_t)s->read);
        batch_set_int(a, 4, (int64_t)s->loaded);
        batch_set_int(a, 5, (int64_t)s->quarantined);
        batch_set_int(a, 6, (int64_t)s->repaired);
        batch_set_int(a, 11, (int64_t)x->rep->bytes[t]);
        batch_set_int(a, 12, ts);
        if (batch_set_text(a, 1, lab, strlen(lab)) ||
            batch_set_text(a, 2, table_names[t], strlen(table_names[t])) ||
            batch_set_text(a, 10, x->rep->format[t], strlen(x->rep->format[t])) ||
            counts_json(&js, s->nulled, N_NREASONS, nname) ||
            batch_set_text(a, 7, js.p, js.len) ||
            counts_json(&js, s->repairs, R_NKINDS, rname) ||
            batch_set_text(a, 8, js.p, js.len) ||
            counts_json(&js, s->q, Q_NREASONS, qname) ||
            batch_set_text(a, 9, js.p, js.len))
            goto done;
        batch_commit(a);
    }
    if ((st = x->w->ops->load_begin(x->w, x->o->schema, &clean_audit_def, &l, err)) != BP_OK)
        goto done;
    st = x->w->ops->load_batch(l, a, err);
    bp_err tmp;
    bp_status e = x->w->ops->load_end(l, st == BP_OK ? err : &tmp);
    if (st == BP_OK)
        st = e;
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&js);
    batch_free(a);
    return st;
}

static bp_status create_tables(run_ctx *x, bp_err *err)
{
    buf sql = {0};
    bp_status st = BP_ENOMEM;
    if (buf_adds(&sql, "CREATE SCHEMA IF NOT EXISTS ") || buf_add_ident(&sql, x->o->schema))
        goto done;
    if ((st = wh_exec(x->w, sql.p, err)) != BP_OK)
        goto done;
    for (int t = 0; t < SRC_NTABLES; t++)
        if ((st = wh_create_table(x->w, x->o->schema, clean_table_def((src_table)t), true,
                                  err)) != BP_OK)
            goto done;
    if ((st = wh_create_table(x->w, x->o->schema, &clean_quarantine_def, false, err)) != BP_OK)
        goto done;
    st = wh_create_table(x->w, x->o->schema, &clean_audit_def, false, err);
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&sql);
    return st;
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
    run_ctx x = {w, o, rep, 0, NULL, NULL, 0};
    if ((st = ingest_next_run_id(w, o->schema, o->lake, &x.run_id, err)) != BP_OK)
        return st;
    rep->run_id = x.run_id;
    bool lake_prepared = false, in_tx = false;
    if (o->lake) {
        if ((st = lake_prepare(o->lake, table_names, SRC_NTABLES, x.run_id, err)) != BP_OK)
            goto fail;
        lake_prepared = true;
    }
    if ((st = wh_begin(w, err)) != BP_OK)
        goto fail;
    in_tx = true;
    if ((st = create_tables(&x, err)) != BP_OK)
        goto fail;
    x.q = batch_new(&clean_quarantine_def);
    if (!x.q) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto fail;
    }
    if ((st = w->ops->load_begin(w, o->schema, &clean_quarantine_def, &x.ql, err)) != BP_OK)
        goto fail;
    for (int t = 0; t < SRC_NTABLES; t++)
        if ((st = load_table(&x, &set, (src_table)t, err)) != BP_OK)
            goto fail;
    if ((st = flush(&x, x.ql, x.q, err)) != BP_OK)
        goto fail;
    st = w->ops->load_end(x.ql, err);
    x.ql = NULL;
    if (st != BP_OK || (st = write_audit(&x, err)) != BP_OK)
        goto fail;
    double t1 = now_s();
    rep->t_clean = t1 - t0 - x.t_load;
    rep->t_load = x.t_load;
    if (o->lake)
        for (int t = 0; t < SRC_NTABLES; t++)
            if ((st = lake_export(w, o->lake, o->schema, table_names[t], x.run_id, err)) != BP_OK)
                goto fail;
    double t2 = now_s();
    rep->t_lake = t2 - t1;
    if ((st = wh_commit(w, err)) != BP_OK)
        goto fail;
    in_tx = false;
    rep->t_commit = now_s() - t2;
    batch_free(x.q);
    if (o->lake && (st = lake_publish(o->lake, table_names, SRC_NTABLES, x.run_id, err)) != BP_OK)
        return st;
    rep->t_total = now_s() - t0;
    return BP_OK;
fail:
    if (x.ql) {
        bp_err tmp;
        w->ops->load_end(x.ql, &tmp);
    }
    batch_free(x.q);
    if (in_tx)
        wh_rollback(w);
    if (lake_prepared)
        lake_discard(o->lake, table_names, SRC_NTABLES, x.run_id);
    return st;
}
