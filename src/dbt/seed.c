/* seed.c: reading a seed CSV, and the column types dbt gives it.
 *
 * dbt reads seeds with agate and its type tester: a column is the first
 * of Integer, Number, Date (%Y-%m-%d), DateTime (%Y-%m-%d %H:%M:%S), ISO
 * datetime, Boolean (true/false) and Text that all its values parse as;
 * "" and "null" are NULL. Rows shorter than the header end in NULLs. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../csv/csv.h"
#include "../extract/src.h"
#include "dbt_int.h"

void dbt_seed_free(seed_data *s)
{
    for (size_t i = 0; i < s->rows * s->ncols; i++)
        free(s->cells[i]);
    free(s->cells);
    for (size_t c = 0; c < s->ncols; c++)
        free(s->names[c]);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static bool is_null_text(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    return n == 0 || (n == 4 && !strncasecmp(p, "null", 4));
}

static bp_status grow(seed_data *s, bp_err *err)
{
    if ((s->rows + 1) * s->ncols <= s->cap)
        return BP_OK;
    size_t cap = s->cap ? s->cap * 2 : 1024;
    while (cap < (s->rows + 1) * s->ncols)
        cap *= 2;
    char **c = realloc(s->cells, cap * sizeof *c);
    if (!c)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    s->cells = c;
    s->cap = cap;
    return BP_OK;
}

static bp_status take_header(csv_reader *r, const node *n, seed_data *s, bp_err *err)
{
    size_t nf = csv_nfields(r);
    if (!(s->names = calloc(nf ? nf : 1, sizeof *s->names)))
        return bp_fail(err, BP_ENOMEM, "out of memory");
    s->ncols = nf;
    for (size_t c = 0; c < nf; c++) {
        csv_cell cell = csv_field(r, c);
        if (!(s->names[c] = strndup(cell.p, cell.len)))
            return bp_fail(err, BP_ENOMEM, "out of memory");
        if (!*s->names[c])
            return bp_fail(err, BP_EINPUT, "%s: column %zu of the header has no name", n->file,
                           c + 1);
    }
    return BP_OK;
}

static bp_status take_row(csv_reader *r, const node *n, seed_data *s, bp_err *err)
{
    size_t nf = csv_nfields(r);
    if (nf > s->ncols)
        return bp_fail(err, BP_EINPUT, "%s: line %llu has %zu fields, the header %zu", n->file,
                       (unsigned long long)csv_line(r), nf, s->ncols);
    if (grow(s, err) != BP_OK)
        return BP_ENOMEM;
    for (size_t c = 0; c < s->ncols; c++) {
        char **cell = &s->cells[s->rows * s->ncols + c];
        *cell = NULL;
        if (c >= nf)
            continue; /* a short row: the rest are NULL */
        csv_cell v = csv_field(r, c);
        if (is_null_text(v.p, v.len))
            continue;
        if (!(*cell = strndup(v.p, v.len))) {
            s->rows++; /* so dbt_seed_free frees this row's cells */
            return bp_fail(err, BP_ENOMEM, "out of memory");
        }
    }
    s->rows++;
    return BP_OK;
}

bp_status dbt_seed_read(const node *n, char delimiter, seed_data *s, bp_err *err)
{
    src_set set;
    memset(&set, 0, sizeof set);
    set.file[0].found = true;
    snprintf(set.file[0].name, sizeof set.file[0].name, "%s", n->file);
    snprintf(set.file[0].label, sizeof set.file[0].label, "%s", n->path);
    src_stream *in = NULL;
    bp_status st = src_open(&set, SRC_BOOKS, &in, err);
    if (st != BP_OK)
        return st;
    csv_reader *r = csv_new(in, (csv_dialect){delimiter ? delimiter : ',', false});
    if (!r) {
        src_close(in);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    int got;
    bool header = true;
    while (st == BP_OK && (got = csv_next(r, err)) > 0) {
        st = header ? take_header(r, n, s, err) : take_row(r, n, s, err);
        header = false;
    }
    if (st == BP_OK && got < 0)
        st = err && err->status ? err->status : BP_EINPUT;
    if (st == BP_OK && header)
        st = bp_fail(err, BP_EINPUT, "%s: empty seed (no header)", n->file);
    csv_free(r);
    src_close(in);
    return st;
}

/* ---- types -------------------------------------------------------------------------------- */

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* %Y-%m-%d, as Python's strptime reads it (one or two digit month/day) */
static const char *parse_date(const char *s)
{
    if (!digits(s, 4) || s[4] != '-')
        return NULL;
    s += 5;
    for (int part = 0; part < 2; part++) {
        int n = isdigit((unsigned char)s[1]) ? 2 : 1;
        if (!digits(s, n))
            return NULL;
        int v = (int)strtol(s, NULL, 10); /* one or two digits, checked above */
        if (v < 1 || v > (part ? 31 : 12))
            return NULL;
        s += n;
        if (part == 0 && *s++ != '-')
            return NULL;
    }
    return s;
}

static const char *parse_time(const char *s)
{
    for (int part = 0; part < 3; part++) {
        int n = isdigit((unsigned char)s[1]) ? 2 : 1;
        if (!digits(s, n))
            return NULL;
        s += n;
        if (part < 2 && *s++ != ':')
            return NULL;
    }
    return s;
}

static bool is_date(const char *v)
{
    const char *e = parse_date(v);
    return e && !*e;
}

static bool is_datetime(const char *v)
{
    const char *e = parse_date(v);
    if (!e || *e != ' ')
        return false;
    e = parse_time(e + 1);
    return e && !*e;
}

/* ISO 8601: 2020-01-01T10:00:00[.123][Z|+hh:mm] */
static bool is_iso_datetime(const char *v)
{
    const char *e = parse_date(v);
    if (!e || (*e != 'T' && *e != ' '))
        return false;
    if (!(e = parse_time(e + 1)))
        return false;
    if (*e == '.') {
        e++;
        if (!isdigit((unsigned char)*e))
            return false;
        while (isdigit((unsigned char)*e))
            e++;
    }
    if (*e == 'Z')
        e++;
    else if (*e == '+' || *e == '-') {
        e++;
        if (!digits(e, 2))
            return false;
        e += 2;
        if (*e == ':')
            e++;
        if (digits(e, 2))
            e += 2;
    }
    return !*e;
}

/* dbt's Integer: Python's int() of the text */
static bool is_integer(const char *v, bool *big)
{
    char *e;
    errno = 0;
    long long x = strtoll(v, &e, 10);
    while (isspace((unsigned char)*e))
        e++;
    if (*e || e == v || errno)
        return false;
    if (x < -2147483648LL || x > 2147483647LL)
        *big = true;
    return true;
}

static bool is_number(const char *v, bool *decimals)
{
    char *e;
    strtod(v, &e);
    while (isspace((unsigned char)*e))
        e++;
    if (*e || e == v || !strpbrk(v, "0123456789"))
        return false;
    /* "inf" and "nan" are text to agate */
    if (strpbrk(v, "iInN"))
        return false;
    const char *dot = strchr(v, '.');
    if (dot) { /* 1.0 has a precision of 1: float */
        *decimals = true;
    } else if (strpbrk(v, "eE")) {
        *decimals = true;
    }
    return true;
}

static bool is_bool(const char *v)
{
    return !strcasecmp(v, "true") || !strcasecmp(v, "false");
}

const char *dbt_seed_infer_type(const seed_data *s, size_t c, const wh_ops *t)
{
    bool ints = true, big = false, nums = true, decimals = false, dates = true, dts = true,
         isos = true, bools = true;
    for (size_t r = 0; r < s->rows; r++) {
        const char *v = s->cells[r * s->ncols + c];
        if (!v)
            continue;
        ints = ints && is_integer(v, &big);
        nums = nums && is_number(v, &decimals);
        dates = dates && is_date(v);
        dts = dts && is_datetime(v);
        isos = isos && is_iso_datetime(v);
        bools = bools && is_bool(v);
    }
    if (ints)
        return big ? "bigint" : "integer";
    if (nums)
        return decimals ? t->float_type : (big ? "bigint" : "integer");
    if (dates)
        return "date";
    if (dts || isos)
        return t->timestamp_type;
    if (bools)
        return "boolean";
    return "text";
}
