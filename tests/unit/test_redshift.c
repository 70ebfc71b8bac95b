/* test_redshift.c: the statements of a Redshift load, against the golden
 * script (tests/golden/redshift/load.sql), and the PostgreSQL stand-in's
 * differences from it. Run from the repository's root (make unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "orch/redshift.h"

#define GOLDEN "tests/golden/redshift/load.sql"

static char *plan_text(bool emulate)
{
    rs_opts o = {"books_schema", "books_schema_stage", "s3://book-lake/books",
                 "arn:aws:iam::123456789012:role/bookpipe-copy", 7, emulate};
    rs_plan p;
    bp_err err = {0};
    if (rs_plan_build(&o, &p, &err) != BP_OK)
        fail_msg("%s", err.msg);
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    rs_plan_print(&p, f);
    fclose(f);
    rs_plan_free(&p);
    return text;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run from the repository's root)", path);
    char *b = calloc(1, 1 << 16);
    assert_non_null(b);
    size_t n = fread(b, 1, (1 << 16) - 1, f);
    fclose(f);
    b[n] = 0;
    return b;
}

static void plan_matches_golden(void **state)
{
    (void)state;
    char *got = plan_text(false), *want = read_file(GOLDEN);
    if (getenv("BOOKPIPE_UPDATE_GOLDEN")) {
        FILE *f = fopen(GOLDEN, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
    }
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void plan_copies_from_the_runs_folder_in_order(void **state)
{
    (void)state;
    char *t = plan_text(false);
    const char *copy = strstr(t, "COPY books_schema_stage.ratings FROM "
                                 "'s3://book-lake/books/run=7/ratings/' IAM_ROLE "
                                 "'arn:aws:iam::123456789012:role/bookpipe-copy' FORMAT AS PARQUET;");
    const char *begin = strstr(t, "BEGIN;"), *commit = strstr(t, "COMMIT;");
    const char *del = strstr(t, "DELETE FROM books_schema.ratings;");
    assert_non_null(copy);
    assert_non_null(begin);
    assert_non_null(del);
    assert_non_null(commit);
    /* every COPY before the transaction; the swap inside it */
    assert_true(copy < begin && begin < del && del < commit);
    assert_null(strstr(t, "TRUNCATE")); /* it would commit on Redshift */
    free(t);
}

static void emulation_drops_only_redshift_clauses(void **state)
{
    (void)state;
    char *t = plan_text(true);
    assert_null(strstr(t, "DISTKEY"));
    assert_null(strstr(t, "SORTKEY"));
    assert_null(strstr(t, "DISTSTYLE"));
    assert_null(strstr(t, "COPY "));
    assert_non_null(strstr(t, "-- INSERT INTO the stage's ratings"));
    assert_non_null(strstr(t, "INSERT INTO books_schema.ratings SELECT * FROM "
                              "books_schema_stage.ratings;"));
    free(t);
}

static void quotes_in_the_role_are_escaped(void **state)
{
    (void)state;
    rs_opts o = {"s", "s_stage", "s3://b/p", "arn:x'; DROP TABLE s.users; --", 1, false};
    rs_plan p;
    bp_err err = {0};
    assert_int_equal(rs_plan_build(&o, &p, &err), BP_OK);
    bool found = false;
    for (int i = 0; i < p.n; i++)
        if (p.s[i].kind == RS_COPY) {
            assert_non_null(strstr(p.s[i].sql, "IAM_ROLE 'arn:x''; DROP TABLE s.users; --'"));
            found = true;
        }
    assert_true(found);
    rs_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_matches_golden),
        cmocka_unit_test(plan_copies_from_the_runs_folder_in_order),
        cmocka_unit_test(emulation_drops_only_redshift_clauses),
        cmocka_unit_test(quotes_in_the_role_are_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
