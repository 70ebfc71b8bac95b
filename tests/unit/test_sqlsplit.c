/* test_sqlsplit.c: SQL text cut into statements at the semicolons that end
 * them, never at one inside a string, an identifier, a dollar quote or a
 * comment; empty statements left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web/sqlsplit.h"

/* Split sql; the statements joined by " | " (each trimmed) must be want. */
static void expect(const char *sql, int n, const char *want)
{
    web_span sp[8];
    int got = web_sql_split(sql, sp, 8);
    char out[512] = "";
    for (int i = 0; i < got && i < 8; i++) {
        size_t a = sp[i].start, b = sp[i].end;
        while (a < b && (sql[a] == ' ' || sql[a] == '\n'))
            a++;
        while (b > a && (sql[b - 1] == ' ' || sql[b - 1] == '\n'))
            b--;
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%.*s", i ? " | " : "", (int)(b - a),
                 sql + a);
    }
    if (got != n || strcmp(out, want))
        fail_msg("%s: %d statements [%s], want %d [%s]", sql, got, out, n, want);
}

static void splits(void **state)
{
    (void)state;
    expect("SELECT 1", 1, "SELECT 1");
    expect("SELECT 1; SELECT 2", 2, "SELECT 1 | SELECT 2");
    expect("SELECT 1;\n\nSELECT 2;\n", 2, "SELECT 1 | SELECT 2");
    expect("SELECT ';' AS a; SELECT 'it''s;'", 2, "SELECT ';' AS a | SELECT 'it''s;'");
    expect("SELECT \"a;b\" FROM t", 1, "SELECT \"a;b\" FROM t");
    expect("SELECT $$a;b$$, $tag$ ; $$ ; $tag$", 1, "SELECT $$a;b$$, $tag$ ; $$ ; $tag$");
    expect("SELECT $1; SELECT 2", 2, "SELECT $1 | SELECT 2");
    expect("SELECT E'a\\';b'; SELECT 2", 2, "SELECT E'a\\';b' | SELECT 2");
    expect("SELECT 1 -- a; comment\n; SELECT 2", 2, "SELECT 1 -- a; comment | SELECT 2");
    expect("SELECT /* a; /* nested; */ still; */ 1", 1, "SELECT /* a; /* nested; */ still; */ 1");
}

static void empties(void **state)
{
    (void)state;
    expect("", 0, "");
    expect(" ;; ; ", 0, "");
    expect("-- only a comment;\n/* and another; */", 0, "");
    expect("SELECT 1;;;", 1, "SELECT 1");
    expect("SELECT 'unterminated; SELECT 2", 1, "SELECT 'unterminated; SELECT 2");
    web_span sp[1];
    assert_int_equal(web_sql_split("SELECT 1; SELECT 2; SELECT 3", sp, 1), 3); /* counted past cap */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits),
        cmocka_unit_test(empties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
