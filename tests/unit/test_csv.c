/* test_csv.c: the streaming CSV reader on both dialects and the edge
 * cases of the real files (quoted line breaks, BOM, CRLF and lone CR,
 * missing final newline, \" escapes, stray quotes, long records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "csv/csv.h"
#include "extract/src.h"

static char path[64];

typedef struct {
    src_set set;
    src_stream *s;
    csv_reader *r;
} fixture;

static void open_text(fixture *f, const char *data, size_t n, csv_dialect d)
{
    snprintf(path, sizeof path, "/tmp/bp_csv_test_%d.csv", (int)getpid());
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
    memset(&f->set, 0, sizeof f->set);
    f->set.file[0].found = true;
    snprintf(f->set.file[0].name, sizeof f->set.file[0].name, "%s", path);
    snprintf(f->set.file[0].label, sizeof f->set.file[0].label, "test.csv");
    assert_int_equal(src_open(&f->set, SRC_BOOKS, &f->s, NULL), BP_OK);
    f->r = csv_new(f->s, d);
    assert_non_null(f->r);
}

static void close_text(fixture *f)
{
    csv_free(f->r);
    src_close(f->s);
    unlink(path);
}

static void expect_cells(fixture *f, uint64_t line, int n, ...)
{
    assert_int_equal(csv_next(f->r, NULL), 1);
    assert_int_equal(csv_line(f->r), line);
    assert_int_equal(csv_nfields(f->r), (size_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        csv_cell c = csv_field(f->r, (size_t)i);
        if (c.len != strlen(want) || memcmp(c.p, want, c.len) != 0)
            fail_msg("line %llu cell %d: got '%.*s', want '%s'", (unsigned long long)line, i,
                     (int)c.len, c.p, want);
    }
    va_end(ap);
}

static const csv_dialect KAGGLE = {',', false}, BX = {';', true};

static void kaggle_quoting(void **state)
{
    (void)state;
    fixture f;
    const char *t = "a,b,c\n"
                    "1,\"x, y\",\"say \"\"hi\"\"\"\n"
                    "268,\"århus, \\n/a\\\"\", denmark\"\"\",\n"
                    "3,\"multi\nline\",z\n"
                    "4,,\n";
    open_text(&f, t, strlen(t), KAGGLE);
    expect_cells(&f, 1, 3, "a", "b", "c");
    expect_cells(&f, 2, 3, "1", "x, y", "say \"hi\"");
    expect_cells(&f, 3, 3, "268", "århus, \\n/a\\\", denmark\"", "");
    expect_cells(&f, 4, 3, "3", "multi\nline", "z");
    expect_cells(&f, 6, 3, "4", "", "");
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
}

static void bx_escapes_crlf(void **state)
{
    (void)state;
    fixture f;
    const char *t = "\"User-ID\";\"Location\";\"Age\"\r\n"
                    "\"268\";\"\xe5rhus, \\\"n/a\\\", denmark\";NULL\r\n"
                    "\"7\";\"a\\\\b\";\"18\"\r\n"
                    "\"8\";\"T\\\";\"Auth\";\"2000\"\r\n";
    open_text(&f, t, strlen(t), BX);
    expect_cells(&f, 1, 3, "User-ID", "Location", "Age");
    expect_cells(&f, 2, 3, "268", "\xe5rhus, \"n/a\", denmark", "NULL");
    expect_cells(&f, 3, 3, "7", "a\\b", "18");
    /* a title ending in \" swallows the next field, as in the original */
    expect_cells(&f, 4, 3, "8", "T\";\"Auth", "2000");
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
}

static void bom_lone_cr_no_final_newline(void **state)
{
    (void)state;
    fixture f;
    const char *t = "\xEF\xBB\xBFh1,h2\r1,2\r\n\n\n3,4";
    open_text(&f, t, strlen(t), KAGGLE);
    expect_cells(&f, 1, 2, "h1", "h2");
    expect_cells(&f, 2, 2, "1", "2");
    expect_cells(&f, 5, 2, "3", "4");
    csv_cell raw = csv_raw(f.r);
    assert_int_equal(raw.len, 3);
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
}

static void unterminated_quote_is_malformed(void **state)
{
    (void)state;
    fixture f;
    const char *t = "a,b\n1,\"open\n2,3\n";
    open_text(&f, t, strlen(t), KAGGLE);
    expect_cells(&f, 1, 2, "a", "b");
    assert_int_equal(csv_next(f.r, NULL), 1);
    assert_true(csv_malformed(f.r));
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
}

/* Once the field count is known, a quote left open is cut at its line
 * when the next line reads as a record of its own; reading goes on there.
 * A quoted line break whose next line is no record stays one cell. */
static void runaway_quote_cut_at_its_line(void **state)
{
    (void)state;
    fixture f;
    const char *t = "u,i,r\n1,\"0451,5\n2,0452,7\n3,\"two\nlines\",8\n4,0453,9\n";
    open_text(&f, t, strlen(t), KAGGLE);
    expect_cells(&f, 1, 3, "u", "i", "r");
    csv_expect_fields(f.r, 3);
    assert_int_equal(csv_next(f.r, NULL), 1);
    assert_int_equal(csv_line(f.r), 2);
    assert_true(csv_runaway(f.r));
    assert_true(csv_malformed(f.r));
    csv_cell raw = csv_raw(f.r);
    assert_int_equal(raw.len, strlen("1,\"0451,5"));
    expect_cells(&f, 3, 3, "2", "0452", "7");
    assert_false(csv_runaway(f.r));
    expect_cells(&f, 4, 3, "3", "two\nlines", "8");
    assert_false(csv_malformed(f.r));
    expect_cells(&f, 6, 3, "4", "0453", "9");
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
}

/* Without a known field count nothing is cut (the header itself). */
static void no_cut_before_the_header(void **state)
{
    (void)state;
    fixture f;
    const char *t = "a,\"b\nc,d\n";
    open_text(&f, t, strlen(t), KAGGLE);
    assert_int_equal(csv_next(f.r, NULL), 1);
    assert_false(csv_runaway(f.r));
    close_text(&f);
}

static void stray_quote_kept(void **state)
{
    (void)state;
    fixture f;
    const char *t = "1,\"a \"b\" c\",x\n";
    open_text(&f, t, strlen(t), KAGGLE);
    expect_cells(&f, 1, 3, "1", "a \"b\" c", "x");
    close_text(&f);
}

/* Records that straddle block boundaries and one longer than a block. */
static void long_records_and_blocks(void **state)
{
    (void)state;
    fixture f;
    size_t big = 3u << 20, rows = 200000;
    char *t = malloc(big + rows * 32 + 64);
    assert_non_null(t);
    size_t n = 0;
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(t + n, 32, "%zu,\"q,%zu\"\n", i, i);
    t[n++] = '9';
    t[n++] = ',';
    memset(t + n, 'x', big);
    n += big;
    t[n++] = '\n';
    open_text(&f, t, n, KAGGLE);
    char want[32];
    for (size_t i = 0; i < rows; i++) {
        assert_int_equal(csv_next(f.r, NULL), 1);
        csv_cell c = csv_field(f.r, 1);
        int l = snprintf(want, sizeof want, "q,%zu", i);
        assert_int_equal(c.len, (size_t)l);
        assert_memory_equal(c.p, want, c.len);
        assert_int_equal(csv_line(f.r), i + 1);
    }
    assert_int_equal(csv_next(f.r, NULL), 1);
    assert_int_equal(csv_field(f.r, 1).len, big);
    assert_int_equal(csv_next(f.r, NULL), 0);
    close_text(&f);
    free(t);
}

static void too_long_record_fails(void **state)
{
    (void)state;
    fixture f;
    size_t n = CSV_MAX_RECORD + 1024;
    char *t = malloc(n);
    assert_non_null(t);
    memset(t, 'y', n);
    open_text(&f, t, n, KAGGLE);
    bp_err err = {0};
    assert_int_equal(csv_next(f.r, &err), -1);
    assert_non_null(strstr(err.msg, "longer than"));
    close_text(&f);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kaggle_quoting),
        cmocka_unit_test(bx_escapes_crlf),
        cmocka_unit_test(bom_lone_cr_no_final_newline),
        cmocka_unit_test(unterminated_quote_is_malformed),
        cmocka_unit_test(stray_quote_kept),
        cmocka_unit_test(runaway_quote_cut_at_its_line),
        cmocka_unit_test(no_cut_before_the_header),
        cmocka_unit_test(long_records_and_blocks),
        cmocka_unit_test(too_long_record_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
