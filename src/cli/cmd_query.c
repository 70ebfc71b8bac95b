/* cmd_query.c: `bookpipe query`: SQL in, a table or CSV out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "cli.h"

typedef struct {
    bool csv;
    long long max_rows;
    size_t ncols;
    wh_col *cols;       /* names copied into names */
    buf names;
    size_t *width;
    bool *numeric;
    /* buffered cells for the table output: NUL-separated, with a flag byte */
    buf cells;
    size_t nrows, shown;
    bool header_done, oom;
} out_ctx;

/* Display width of UTF-8 text: one column per code point. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void csv_cell_out(const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static bool setup_cols(out_ctx *o, size_t nc, const wh_col *cols)
{
    o->ncols = nc;
    o->width = calloc(nc ? nc : 1, sizeof *o->width);
    o->numeric = calloc(nc ? nc : 1, sizeof *o->numeric);
    if (!o->width || !o->numeric)
        return false;
    for (size_t c = 0; c < nc; c++) {
        o->width[c] = text_width(cols[c].name);
        o->numeric[c] = cols[c].numeric;
        if (buf_add(&o->names, cols[c].name, strlen(cols[c].name) + 1) != BP_OK)
            return false;
    }
    return true;
}

static int on_row(void *ctx, size_t nc, const wh_col *cols, const char *const *vals)
{
    out_ctx *o = ctx;
    if (!o->header_done) {
        o->header_done = true;
        if (!setup_cols(o, nc, cols)) {
            o->oom = true;
            return 1;
        }
        if (o->csv) {
            for (size_t c = 0; c < nc; c++) {
                if (c)
                    putchar(',');
                csv_cell_out(cols[c].name);
            }
            putchar('\n');
        }
    }
    if (!vals)
        return 0;
    o->nrows++;
    if (o->csv) {
        for (size_t c = 0; c < nc; c++) {
            if (c)
                putchar(',');
            csv_cell_out(vals[c]);
        }
        putchar('\n');
        return 0;
    }
    if (o->max_rows && (long long)o->shown >= o->max_rows)
        return 0; /* keep counting */
    o->shown++;
    for (size_t c = 0; c < nc; c++) {
        const char *v = vals[c] ? vals[c] : "NULL";
        size_t w = text_width(v);
        if (w > o->width[c])
            o->width[c] = w;
        if (buf_add(&o->cells, v, strlen(v) + 1) != BP_OK) {
            o->oom = true;
            return 1;
        }
    }
    return 0;
}

static void pad(size_t n)
{
    while (n--)
        putchar(' ');
}

static void print_cell(const out_ctx *o, size_t c, const char *v)
{
    size_t w = text_width(v);
    if (c)
        fputs(" | ", stdout);
    if (o->numeric[c]) {
        pad(o->width[c] - w);
        fputs(v, stdout);
    } else {
        fputs(v, stdout);
        if (c + 1 < o->ncols)
            pad(o->width[c] - w);
    }
}

static void print_table(const out_ctx *o)
{
    const char *name = o->names.p;
    for (size_t c = 0; c < o->ncols; c++, name += strlen(name) + 1)
        print_cell(o, c, name);
    putchar('\n');
    for (size_t c = 0; c < o->ncols; c++) {
        if (c)
            fputs("-+-", stdout);
        for (size_t k = 0; k < o->width[c]; k++)
            putchar('-');
    }
    putchar('\n');
    const char *v = o->cells.p;
    for (size_t r = 0; r < o->shown; r++) {
        for (size_t c = 0; c < o->ncols; c++, v += strlen(v) + 1)
            print_cell(o, c, v);
        putchar('\n');
    }
    if (o->shown < o->nrows)
        printf("(%zu rows, first %zu shown; --max-rows 0 shows all)\n", o->nrows, o->shown);
    else
        printf("(%zu row%s)\n", o->nrows, o->nrows == 1 ? "" : "s");
}

int cmd_query(int argc, char **argv)
{
    cli_args a;
    wh_spec wf;
    struct {
        bool csv;
        long long max_rows;
    } o = {false, 1000};
    const char *sql = NULL;
    cli_args_init(&a, "query", argc, argv);
    wh_spec_defaults(&wf);
    while (a.i < argc && !a.failed) {
        if (cli_wh_flag(&a, &wf))
            continue;
        if (cli_flag(&a, "--csv", false))
            o.csv = true;
        else if (cli_flag(&a, "--max-rows", true))
            cli_int(&a, 0, 1000000000, &o.max_rows);
        else if (argv[a.i][0] == '-' && argv[a.i][1] == '-')
            return cli_usage_error("query", "unknown option '%s'", argv[a.i]);
        else if (sql)
            return cli_usage_error("query", "give the SQL as one argument (quote it)");
        else
            sql = argv[a.i++];
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    if (!sql)
        return cli_usage_error("query", "no SQL given");
    bp_err err = {0};
    wh *w = NULL;
    bp_status st = wh_spec_open(&wf, WH_OPEN_READ, &w, &err);
    if (st != BP_OK)
        return cli_open_fail("query", &wf, st, err.msg);
    st = wh_use_schema(w, wf.schema, &err);
    int rc = st == BP_OK ? cli_print_query(w, sql, o.csv, o.max_rows, "query")
                         : cli_fail("query", st, err.msg);
    wh_close(w);
    return rc;
}

int cli_print_query(wh *w, const char *sql, bool csv, long long max_rows, const char *cmd)
{
    out_ctx o = {0};
    o.csv = csv;
    o.max_rows = max_rows;
    bp_err err = {0};
    bp_status st = wh_query_user(w, sql, NULL, on_row, &o, NULL, &err);
    int rc = 0;
    if (st != BP_OK)
        rc = cli_fail(cmd, st, err.msg);
    else if (o.oom)
        rc = cli_fail(cmd, BP_ENOMEM, "out of memory holding the result; use --csv");
    else if (!o.csv && o.header_done)
        print_table(&o);
    buf_free(&o.names);
    buf_free(&o.cells);
    free(o.width);
    free(o.numeric);
    return rc;
}
