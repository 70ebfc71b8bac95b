/* redshift.c: the plan of a Redshift load from the S3 lake, and running it. */
#include "redshift.h"

#include <stdlib.h>
#include <string.h>

#include "../clean/clean.h"
#include "../core/buf.h"
#include "../lake/s3.h"

const char *const rs_tables[RS_NTABLES] = {"books", "users", "ratings", "quarantine",
                                           "load_audit"};

/* Distribution and sort keys: books and ratings on isbn (their join is then
 * local to each slice and can merge), users everywhere (small), history
 * spread evenly. */
static const char *const rs_keys[RS_NTABLES] = {
    " DISTKEY(isbn) SORTKEY(isbn)",
    " DISTSTYLE ALL SORTKEY(user_id)",
    " DISTKEY(isbn) COMPOUND SORTKEY(isbn, user_id)",
    " DISTSTYLE EVEN",
    " DISTSTYLE EVEN",
};

bp_status rs_check_opts(const char *lake, const char *iam_role, bp_err *err)
{
    if (rs_emulating())
        return BP_OK;
    if (!lake || !s3_is_url(lake))
        return bp_fail(err, BP_EUSAGE, "Redshift loads from S3: give --lake s3://BUCKET/PREFIX "
                       "(the lake block writes the run there first)");
    if (!iam_role || !*iam_role)
        return bp_fail(err, BP_EUSAGE, "Redshift's COPY needs an IAM role that can read the "
                       "lake: give --iam-role arn:aws:iam::ACCOUNT:role/NAME (or set "
                       "BOOKPIPE_REDSHIFT_IAM_ROLE)");
    return BP_OK;
}

bool rs_emulating(void) { return wh_stand_in(&wh_redshift_ops); }

static const table_def *def_of(int t)
{
    return t < 3 ? clean_table_def((src_table)t) : t == 3 ? &clean_quarantine_def
                                                           : &clean_audit_def;
}

/* Redshift's types, explicit: its TEXT is VARCHAR(256), too short for titles. */
static const char *rs_type(const col_def *c)
{
    switch (c->type) {
    case COL_INT:
        return "INTEGER";
    case COL_BIGINT:
        return "BIGINT";
    case COL_BOOL:
        return "BOOLEAN";
    case COL_TIMESTAMP:
        return "TIMESTAMP";
    case COL_DOUBLE:
        return "FLOAT8";
    case COL_TEXT:
        break;
    }
    if (!strcmp(c->name, "isbn") || !strcmp(c->name, "isbn13"))
        return "VARCHAR(32)";
    if (!strcmp(c->name, "source") || !strcmp(c->name, "reason") ||
        !strcmp(c->name, "table_name") || !strcmp(c->name, "format"))
        return "VARCHAR(256)";
    return "VARCHAR(65535)"; /* free text: stored compactly, whatever the bound */
}

static bool add_rel(buf *b, const char *schema, const char *table)
{
    return !buf_add_ident(b, schema) && !buf_addc(b, '.') && !buf_add_ident(b, table);
}

static bool add_create(buf *b, const rs_opts *o, const char *schema, int t, bool if_not_exists)
{
    const table_def *d = def_of(t);
    if (buf_adds(b, if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ") ||
        !add_rel(b, schema, rs_tables[t]) || buf_adds(b, " ("))
        return false;
    for (int i = 0; i < d->ncols; i++)
        if ((i && buf_adds(b, ", ")) || buf_add_ident(b, d->cols[i].name) || buf_addc(b, ' ') ||
            buf_adds(b, rs_type(&d->cols[i])) || (d->cols[i].not_null && buf_adds(b, " NOT NULL")))
            return false;
    return !buf_addc(b, ')') && (o->emulate || !buf_adds(b, rs_keys[t]));
}

static bp_status push(rs_plan *p, rs_kind kind, buf *sql, int table, bool check, bp_err *err)
{
    if (p->n == p->cap) {
        int nc = p->cap ? p->cap * 2 : 32;
        rs_step *ns = realloc(p->s, (size_t)nc * sizeof *ns);
        if (!ns)
            return bp_fail(err, BP_ENOMEM, "out of memory");
        p->s = ns;
        p->cap = nc;
    }
    char *text = NULL;
    if (sql) {
        if (buf_addc(sql, 0) != BP_OK || !(text = strdup(sql->p)))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        buf_reset(sql);
    }
    p->s[p->n++] = (rs_step){kind, text, table, check};
    return BP_OK;
}

bp_status rs_plan_build(const rs_opts *o, rs_plan *p, bp_err *err)
{
    memset(p, 0, sizeof *p);
    buf b = {0};
    bp_status st = BP_OK;
#define SQL(cond) \
    do { if (st == BP_OK && !(cond)) st = bp_fail(err, BP_ENOMEM, "out of memory"); \
         if (st == BP_OK) st = push(p, RS_SQL, &b, -1, false, err); } while (0)
    SQL(!buf_adds(&b, "CREATE SCHEMA IF NOT EXISTS ") && !buf_add_ident(&b, o->schema));
    SQL(!buf_adds(&b, "CREATE SCHEMA IF NOT EXISTS ") && !buf_add_ident(&b, o->stage_schema));
    for (int t = 0; t < RS_NTABLES && st == BP_OK; t++) {
        SQL(!buf_adds(&b, "DROP TABLE IF EXISTS ") && add_rel(&b, o->stage_schema, rs_tables[t]));
        SQL(add_create(&b, o, o->stage_schema, t, false));
        if (st != BP_OK)
            break;
        if (t >= 3 || o->emulate) { /* the history is small; emulation has no S3 */
            st = push(p, RS_LOCAL_ROWS, NULL, t, t < 3, err);
            continue;
        }
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/run=%lld/%s/", o->lake, (long long)o->run_id, rs_tables[t]);
        if (buf_adds(&b, "COPY ") || !add_rel(&b, o->stage_schema, rs_tables[t]) ||
            buf_adds(&b, " FROM ") || buf_add_sqllit(&b, dir, true) ||
            buf_adds(&b, " IAM_ROLE ") || buf_add_sqllit(&b, o->iam_role, true) ||
            buf_adds(&b, " FORMAT AS PARQUET"))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        if (st == BP_OK)
            st = push(p, RS_COPY, &b, t, true, err);
    }
    SQL(!buf_adds(&b, "BEGIN"));
    for (int t = 0; t < RS_NTABLES && st == BP_OK; t++) {
        SQL(add_create(&b, o, o->schema, t, true));
        if (t < 3)
            SQL(!buf_adds(&b, "DELETE FROM ") && add_rel(&b, o->schema, rs_tables[t]));
        else /* a load repeated for the same run replaces its history rows */
            SQL(!buf_adds(&b, "DELETE FROM ") && add_rel(&b, o->schema, rs_tables[t]) &&
                !buf_adds(&b, " WHERE run_id IN (SELECT run_id FROM ") &&
                add_rel(&b, o->stage_schema, "load_audit") && !buf_addc(&b, ')'));
        SQL(!buf_adds(&b, "INSERT INTO ") && add_rel(&b, o->schema, rs_tables[t]) &&
            !buf_adds(&b, " SELECT * FROM ") && add_rel(&b, o->stage_schema, rs_tables[t]));
    }
    SQL(!buf_adds(&b, "COMMIT"));
    for (int t = 0; t < RS_NTABLES && st == BP_OK; t++)
        SQL(!buf_adds(&b, "DROP TABLE ") && add_rel(&b, o->stage_schema, rs_tables[t]));
#undef SQL
    buf_free(&b);
    if (st != BP_OK)
        rs_plan_free(p);
    return st;
}

void rs_plan_print(const rs_plan *p, FILE *f)
{
    for (int i = 0; i < p->n; i++) {
        const rs_step *s = &p->s[i];
        if (s->kind == RS_LOCAL_ROWS)
            fprintf(f, "-- INSERT INTO the stage's %s: its rows from the local stage, in "
                    "batches\n", rs_tables[s->table]);
        else
            fprintf(f, "%s;\n", s->sql);
        if (s->check)
            fprintf(f, "-- check: the stage's %s holds as many rows as were cleaned\n",
                    rs_tables[s->table]);
    }
}

void rs_plan_free(rs_plan *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->s[i].sql);
    free(p->s);
    memset(p, 0, sizeof *p);
}

/* ---- running it ------------------------------------------------------------------------ */

#define RS_BATCH_ROWS 500
#define RS_BATCH_BYTES (4 << 20) /* Redshift takes statements up to 16 MB */

typedef struct {
    wh *conn;
    const char *head;          /* INSERT INTO stage.t VALUES */
    buf sql;
    int rows;
    bp_status st;
    bp_err *err;
} inserter;

static bp_status flush(inserter *in)
{
    if (!in->rows || in->st != BP_OK)
        return in->st;
    if (buf_addc(&in->sql, 0) != BP_OK)
        return in->st = bp_fail(in->err, BP_ENOMEM, "out of memory");
    in->st = wh_exec(in->conn, in->sql.p, in->err);
    buf_reset(&in->sql);
    in->rows = 0;
    return in->st;
}

/* A row of the local stage as one more VALUES tuple; every value a string
 * literal (the server casts it to the column's type) or NULL. */
static int add_row(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    (void)cols;
    inserter *in = ctx;
    if (!vals || in->st != BP_OK)
        return in->st != BP_OK;
    bool ok = in->rows ? !buf_adds(&in->sql, ",(")
                       : !buf_adds(&in->sql, in->head) && !buf_addc(&in->sql, '(');
    for (size_t i = 0; ok && i < nc; i++)
        ok = (!i || !buf_addc(&in->sql, ',')) &&
             !wh_add_literal(in->conn, &in->sql, vals[i]);
    ok = ok && !buf_addc(&in->sql, ')');
    if (!ok) {
        in->st = bp_fail(in->err, BP_ENOMEM, "out of memory");
        return 1;
    }
    if (++in->rows >= RS_BATCH_ROWS || in->sql.len >= RS_BATCH_BYTES)
        flush(in);
    return in->st != BP_OK;
}

static bp_status copy_local(wh *conn, wh *stage, const rs_opts *o, int t, bp_err *err)
{
    buf q = {0}, head = {0};
    bp_status st = BP_OK;
    if (buf_adds(&head, "INSERT INTO ") || !add_rel(&head, o->stage_schema, rs_tables[t]) ||
        buf_adds(&head, " VALUES ") || buf_addc(&head, 0) || buf_adds(&q, "SELECT * FROM ") ||
        !add_rel(&q, o->stage_schema, rs_tables[t]))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    inserter in = {conn, head.p, {0}, 0, BP_OK, err};
    if (st == BP_OK)
        st = wh_query(stage, q.p, add_row, &in, err);
    if (st == BP_OK)
        st = in.st != BP_OK ? in.st : flush(&in);
    buf_free(&in.sql);
    buf_free(&q);
    buf_free(&head);
    return st;
}

static bp_status count_of(wh *w, const char *schema, const char *table, long long *n,
                          bp_err *err)
{
    buf q = {0};
    bp_status st = buf_adds(&q, "SELECT count(*) FROM ") || !add_rel(&q, schema, table)
                       ? bp_fail(err, BP_ENOMEM, "out of memory")
                       : wh_query_int(w, q.p, 0, n, err);
    buf_free(&q);
    return st;
}

static bp_status run_step(wh *conn, wh *stage, const rs_opts *o, const rs_step *s, FILE *log,
                          int64_t *rows, bp_err *err)
{
    bp_status st;
    if (s->kind == RS_LOCAL_ROWS)
        st = copy_local(conn, stage, o, s->table, err);
    else
        st = wh_exec(conn, s->sql, err);
    if (st != BP_OK) {
        if (s->kind == RS_COPY)
            bp_err_prefix(err, "COPY of %s from %s/%s/run=%lld/ (Redshift's stl_load_errors "
                          "has the details; the role must be able to read the bucket)",
                          rs_tables[s->table], o->lake, rs_tables[s->table],
                          (long long)o->run_id);
        return st;
    }
    if (!s->check)
        return BP_OK;
    long long want = 0, got = 0;
    if ((st = count_of(stage, o->stage_schema, rs_tables[s->table], &want, err)) != BP_OK ||
        (st = count_of(conn, o->stage_schema, rs_tables[s->table], &got, err)) != BP_OK)
        return st;
    if (got != want)
        return bp_fail(err, BP_EWH, "the stage's %s holds %lld rows after the COPY, %lld were "
                       "cleaned: the lake run %lld is not this run's (run the lake block "
                       "again)", rs_tables[s->table], got, want, (long long)o->run_id);
    if (log)
        fprintf(log, "  %s: %lld rows %s\n", rs_tables[s->table], got,
                s->kind == RS_COPY ? "copied from S3 into the stage" : "inserted into the stage");
    *rows += got;
    return BP_OK;
}

bp_status rs_load(wh *conn, wh *stage, const rs_opts *o, FILE *log, volatile sig_atomic_t *stop,
                  int64_t *rows, bp_err *err)
{
    rs_plan p;
    bp_status st = rs_plan_build(o, &p, err);
    if (st != BP_OK)
        return st;
    *rows = 0;
    bool in_tx = false;
    for (int i = 0; i < p.n && st == BP_OK; i++) {
        if (stop && *stop) {
            st = bp_fail(err, BP_EINTR, "interrupted; the warehouse is unchanged");
            break;
        }
        const rs_step *s = &p.s[i];
        if (s->sql && !strcmp(s->sql, "BEGIN"))
            in_tx = true;
        st = run_step(conn, stage, o, s, log, rows, err);
        if (s->sql && !strcmp(s->sql, "COMMIT") && st == BP_OK) {
            in_tx = false;
            if (log)
                fprintf(log, "  committed: %s.books, users, ratings replaced, history "
                        "appended\n", o->schema);
        }
    }
    if (st != BP_OK && in_tx)
        wh_rollback(conn);
    rs_plan_free(&p);
    return st;
}
