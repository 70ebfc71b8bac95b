/* csv.c: the streaming CSV reader (see csv.h for the dialect rules).
 *
 * The reader parses one record at a time out of a block buffer. When a
 * record runs past the end of the buffered bytes, the partial record is
 * moved to the front, more bytes are read, and the record is parsed again
 * from its start: simple, and cheap because it happens once per block. */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"

#define CSV_BLOCK (1u << 20)

typedef struct {
    size_t off, len;
    bool scratch, quoted;
} field;

struct csv_reader {
    src_stream *in;
    csv_dialect d;
    char *data;
    size_t cap, beg, end;
    bool eof, started, at_end;
    uint64_t line;        /* line number of the next unread byte */
    unsigned char special[256];
    /* the current record */
    size_t nf;
    field f[CSV_MAX_FIELDS];
    bool malformed, runaway;
    size_t expect;        /* fields a record has (0: not known yet) */
    size_t rec_off, rec_len;
    uint64_t rec_line;
    buf scratch;
};

enum { NEED_MORE = 0, GOT_RECORD = 1 };

static void set_special(csv_reader *r)
{
    memset(r->special, 0, sizeof r->special);
    r->special[(unsigned char)r->d.delim] = 1;
    r->special['\r'] = 1;
    r->special['\n'] = 1;
}

csv_reader *csv_new(src_stream *in, csv_dialect d)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->data = malloc(CSV_BLOCK);
    if (!r->data) {
        free(r);
        return NULL;
    }
    r->cap = CSV_BLOCK;
    r->in = in;
    r->d = d;
    r->line = 1;
    r->scratch.limit = CSV_MAX_RECORD;
    set_special(r);
    return r;
}

void csv_free(csv_reader *r)
{
    if (!r)
        return;
    buf_free(&r->scratch);
    free(r->data);
    free(r);
}

void csv_set_dialect(csv_reader *r, csv_dialect d)
{
    r->d = d;
    set_special(r);
}

/* Read more bytes, first moving unconsumed ones to the front and growing
 * the buffer when a single record fills it. */
static bp_status fill(csv_reader *r, bp_err *err)
{
    if (r->beg > 0) {
        memmove(r->data, r->data + r->beg, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= CSV_MAX_RECORD)
            return bp_fail(err, BP_EINPUT, "%s: line %llu: a record longer than %u MiB; "
                           "is this really a CSV file?", src_label(r->in),
                           (unsigned long long)r->line, CSV_MAX_RECORD >> 20);
        char *p = realloc(r->data, r->cap * 2);
        if (!p)
            return bp_fail(err, BP_ENOMEM, "out of memory reading %s", src_label(r->in));
        r->data = p;
        r->cap *= 2;
    }
    ssize_t n = src_read(r->in, r->data + r->end, r->cap - r->end, err);
    if (n < 0)
        return err ? err->status : BP_EINPUT;
    if (n == 0)
        r->eof = true;
    r->end += (size_t)n;
    return BP_OK;
}

static bp_status start(csv_reader *r, bp_err *err)
{
    r->started = true;
    while (!r->eof && r->end < 3)
        if (fill(r, err) != BP_OK)
            return err ? err->status : BP_EINPUT;
    if (r->end >= 3 && memcmp(r->data, "\xEF\xBB\xBF", 3) == 0)
        r->beg = 3;
    return BP_OK;
}

bp_status csv_peek(csv_reader *r, const char **p, size_t *n, bp_err *err)
{
    if (!r->started && start(r, err) != BP_OK)
        return err ? err->status : BP_EINPUT;
    while (!r->eof && r->end - r->beg < 4096)
        if (fill(r, err) != BP_OK)
            return err ? err->status : BP_EINPUT;
    *p = r->data + r->beg;
    *n = r->end - r->beg;
    return BP_OK;
}

/* Append data[from, to) to the scratch area (the unescaped cell so far). */
static bool to_scratch(csv_reader *r, size_t from, size_t to)
{
    return buf_add(&r->scratch, r->data + from, to - from) == BP_OK;
}

static void add_field(csv_reader *r, field f)
{
    if (r->nf < CSV_MAX_FIELDS)
        r->f[r->nf++] = f;
    else
        r->malformed = true;
}

/* Does the line [s, e) hold, on its own, a whole record of r->expect
 * fields (each quoted field closing on the line)? */
static bool line_is_record(const csv_reader *r, size_t s, size_t e)
{
    const char *b = r->data;
    size_t nf = 0, p = s;
    for (;;) {
        nf++;
        if (p < e && b[p] == '"') {
            for (p++;; p++) {
                if (p >= e)
                    return false; /* the quote does not close on this line */
                if (r->d.backslash_escapes && b[p] == '\\' && p + 1 < e) {
                    p++;
                    continue;
                }
                if (b[p] == '"') {
                    if (p + 1 < e && b[p + 1] == '"' && !r->d.backslash_escapes) {
                        p++;
                        continue;
                    }
                    if (p + 1 == e || b[p + 1] == r->d.delim)
                        break;
                }
            }
            p++;
        } else {
            while (p < e && b[p] != r->d.delim)
                p++;
        }
        if (p >= e)
            return nf == r->expect;
        p++; /* the delimiter */
    }
}

/* At a line break inside a quoted cell: is the quote a runaway (a stray
 * quote that would swallow the lines after it)? It is when the next line
 * reads as a whole record on its own, or the cell already spans
 * CSV_QUOTE_MAX_LINES lines. NEED_MORE when the next line is not buffered
 * yet. */
static int quote_runs_away(const csv_reader *r, size_t brk, uint64_t lines, bool *yes)
{
    *yes = false;
    if (!r->expect)
        return GOT_RECORD;
    if (lines >= CSV_QUOTE_MAX_LINES) {
        *yes = true;
        return GOT_RECORD;
    }
    const char *b = r->data;
    size_t s = brk + (b[brk] == '\r' && brk + 1 < r->end && b[brk + 1] == '\n' ? 2 : 1), e = s;
    while (e < r->end && b[e] != '\n' && b[e] != '\r')
        e++;
    if (e == r->end && !r->eof)
        return NEED_MORE;
    *yes = e > s && line_is_record(r, s, e);
    return GOT_RECORD;
}

/* Parse a quoted cell starting at *pp (on the opening quote). Returns
 * NEED_MORE when the buffer ends first, else GOT_RECORD with *pp after the
 * closing quote; or, for a runaway quote (quote_runs_away), with the cell
 * cut at the line break, *pp on it and r->runaway set. *lines counts the
 * line breaks inside. Sets *oom on an allocation failure. */
static int parse_quoted(csv_reader *r, size_t *pp, uint64_t *lines, field *f, bool *oom)
{
    const char *b = r->data;
    size_t p = *pp + 1, e = r->end, seg = p;
    bool esc = false;
    size_t soff = r->scratch.len;
    for (;;) {
        if (p == e) {
            if (!r->eof)
                return NEED_MORE;
            r->malformed = true; /* the file ends inside a quote */
            break;
        }
        char c = b[p];
        if (c == '"') {
            if (p + 1 == e && !r->eof)
                return NEED_MORE;
            int nx = p + 1 < e ? (unsigned char)b[p + 1] : -1;
            if (nx < 0 || nx == (unsigned char)r->d.delim || nx == '\r' || nx == '\n')
                break;
            if (nx == '"' && !r->d.backslash_escapes) {
                if (!to_scratch(r, seg, p + 1))
                    goto oom;
                esc = true;
                p += 2;
                seg = p;
                continue;
            }
            p++; /* a stray quote is kept as it is */
            continue;
        }
        if (c == '\\' && r->d.backslash_escapes) {
            if (p + 1 == e && !r->eof)
                return NEED_MORE;
            if (p + 1 < e && (b[p + 1] == '"' || b[p + 1] == '\\')) {
                if (!to_scratch(r, seg, p) || buf_addc(&r->scratch, b[p + 1]) != BP_OK)
                    goto oom;
                esc = true;
                p += 2;
                seg = p;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            bool away;
            if (quote_runs_away(r, p, *lines, &away) == NEED_MORE)
                return NEED_MORE;
            if (away) { /* the record ends at this line; the next line is read anew */
                r->malformed = r->runaway = true;
                *f = (field){*pp + 1, p - (*pp + 1), false, true};
                *pp = p;
                return GOT_RECORD;
            }
        }
        if (c == '\n' || (c == '\r' && !(p + 1 < e && b[p + 1] == '\n')))
            (*lines)++;
        p++;
    }
    if (esc) {
        if (!to_scratch(r, seg, p))
            goto oom;
        *f = (field){soff, r->scratch.len - soff, true, true};
    } else {
        *f = (field){*pp + 1, p - (*pp + 1), false, true};
    }
    *pp = p < e ? p + 1 : p;
    return GOT_RECORD;
oom:
    *oom = true;
    return GOT_RECORD;
}

/* Try to parse one record from the buffered bytes. */
static int parse(csv_reader *r, bool *oom)
{
    const char *b = r->data;
    size_t p = r->beg, e = r->end;
    uint64_t lines = 0;
    buf_reset(&r->scratch);
    r->nf = 0;
    r->malformed = r->runaway = false;
    for (;;) { /* skip blank lines */
        if (p == e) {
            if (r->eof)
                r->at_end = true;
            return NEED_MORE;
        }
        if (b[p] == '\n') {
            p++;
        } else if (b[p] == '\r') {
            if (p + 1 == e && !r->eof)
                return NEED_MORE;
            p += (p + 1 < e && b[p + 1] == '\n') ? 2 : 1;
        } else {
            break;
        }
        lines++;
    }
    size_t rec_start = p, rec_end;
    uint64_t rec_line = r->line + lines;
    for (;;) {
        field f;
        if (p < e && b[p] == '"') {
            if (parse_quoted(r, &p, &lines, &f, oom) == NEED_MORE)
                return NEED_MORE;
            if (*oom)
                return GOT_RECORD;
        } else {
            size_t s = p;
            while (p < e && !r->special[(unsigned char)b[p]])
                p++;
            if (p == e && !r->eof)
                return NEED_MORE;
            f = (field){s, p - s, false, false};
        }
        add_field(r, f);
        if (p == e) {
            rec_end = p;
            break;
        }
        char c = b[p];
        if (c == r->d.delim) {
            p++;
            continue;
        }
        /* c is a line end: cells end only at a delimiter or a line end */
        rec_end = p;
        if (c == '\r') {
            if (p + 1 == e && !r->eof)
                return NEED_MORE;
            p += (p + 1 < e && b[p + 1] == '\n') ? 2 : 1;
        } else {
            p++;
        }
        lines++;
        break;
    }
    r->rec_off = rec_start;
    r->rec_len = rec_end - rec_start;
    r->rec_line = rec_line;
    r->line += lines;
    r->beg = p;
    return GOT_RECORD;
}

int csv_next(csv_reader *r, bp_err *err)
{
    if (!r->started && start(r, err) != BP_OK)
        return -1;
    for (;;) {
        bool oom = false;
        if (parse(r, &oom) == GOT_RECORD) {
            if (oom) {
                bp_fail(err, BP_ENOMEM, "%s: line %llu: out of memory", src_label(r->in),
                        (unsigned long long)r->rec_line);
                return -1;
            }
            return 1;
        }
        if (r->at_end)
            return 0;
        if (fill(r, err) != BP_OK)
            return -1;
    }
}

size_t csv_nfields(const csv_reader *r) { return r->nf; }

csv_cell csv_field(const csv_reader *r, size_t i)
{
    const field *f = &r->f[i];
    const char *base = f->scratch ? r->scratch.p : r->data;
    return (csv_cell){base + f->off, f->len, f->quoted};
}

uint64_t csv_line(const csv_reader *r) { return r->rec_line; }

csv_cell csv_raw(const csv_reader *r)
{
    return (csv_cell){r->data + r->rec_off, r->rec_len, false};
}

bool csv_malformed(const csv_reader *r) { return r->malformed; }

bool csv_runaway(const csv_reader *r) { return r->runaway; }

void csv_expect_fields(csv_reader *r, size_t n) { r->expect = n; }
