/* test_sqllit.c: string literals per SQL dialect, and identifiers. DuckDB and PostgreSQL
 * (standard_conforming_strings) read a backslash as itself; Redshift reads
 * it as an escape, so a literal for Redshift doubles it: a value ending in
 * a backslash must not escape the closing quote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "wh/wh.h"

static void lit(const char *in, bool bs, const char *want)
{
    buf b = {0};
    assert_int_equal(buf_add_sqllit(&b, in, bs), BP_OK);
    assert_string_equal(b.p, want);
    buf_free(&b);
}

static void standard_doubles_quotes_only(void **state)
{
    (void)state;
    lit("plain", false, "'plain'");
    lit("it's", false, "'it''s'");
    lit("ends in \\", false, "'ends in \\'");
    lit("\\'", false, "'\\'''");
    lit("", false, "''");
}

static void redshift_doubles_backslashes_too(void **state)
{
    (void)state;
    lit("plain", true, "'plain'");
    lit("it's", true, "'it''s'");
    lit("ends in \\", true, "'ends in \\\\'");
    lit("\\'", true, "'\\\\'''");
    lit("\"no-id\";\"x \\\";NULL\\", true, "'\"no-id\";\"x \\\\\";NULL\\\\'");
}

/* wh_add_literal follows the target's dialect flag. */
static void literal_follows_the_target(void **state)
{
    (void)state;
    wh duck = {&wh_duckdb_ops}, pg = {&wh_pg_ops}, rs = {&wh_redshift_ops};
    const char *v = "a\\";
    buf b = {0};
    assert_int_equal(wh_add_literal(&duck, &b, v), BP_OK);
    assert_string_equal(b.p, "'a\\'");
    buf_reset(&b);
    assert_int_equal(wh_add_literal(&pg, &b, v), BP_OK);
    assert_string_equal(b.p, "'a\\'");
    buf_reset(&b);
    assert_int_equal(wh_add_literal(&rs, &b, v), BP_OK);
    assert_string_equal(b.p, "'a\\\\'");
    buf_reset(&b);
    assert_int_equal(wh_add_literal(&rs, &b, NULL), BP_OK);
    assert_string_equal(b.p, "NULL");
    buf_free(&b);
}

static void ident(const char *in, const char *want)
{
    buf b = {0};
    assert_int_equal(buf_add_ident(&b, in), BP_OK);
    assert_string_equal(b.p, want);
    buf_free(&b);
}

/* Identifiers: plain lower-case names as they are; others, and the words
 * DuckDB or PostgreSQL reserve (a seed column named end), quoted. */
static void identifiers_quote_when_needed(void **state)
{
    (void)state;
    ident("user_id", "user_id");
    ident("Title", "\"Title\"");
    ident("a\"b", "\"a\"\"b\"");
    ident("end", "\"end\"");
    ident("default", "\"default\"");
    ident("user", "\"user\"");
    ident("all", "\"all\"");
    ident("with", "\"with\"");
    ident("ending", "ending");
    ident("rank", "rank");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_doubles_quotes_only),
        cmocka_unit_test(redshift_doubles_backslashes_too),
        cmocka_unit_test(literal_follows_the_target),
        cmocka_unit_test(identifiers_quote_when_needed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
