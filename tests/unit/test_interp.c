/* test_interp.c: Grafana variables become bound parameters: every form
 * Grafana reads, literals, lists, macros, comments, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web/interp.h"

static const char *const germany[] = {"germany"};
static const char *const two[] = {"usa", "canada"};
static const char *const evil[] = {"'; DROP TABLE books_schema.users; --"};
static const char *const five[] = {"5"};

static const gf_var vars[] = {
    {"country", germany, 1}, {"countries", two, 2}, {"q", evil, 1},
    {"min", five, 1},        {"none", NULL, 0},
};

/* Interpolate raw; check the statement and the parameters (NULL-ended). */
static void expect(const char *raw, const char *sql, const char *const *params)
{
    gf_query q;
    bp_err err = {0};
    if (gf_interpolate(raw, vars, 5, &q, &err) != BP_OK)
        fail_msg("%s: %s", raw, err.msg);
    assert_string_equal(q.sql.p, sql);
    int n = 0;
    while (params && params[n])
        n++;
    assert_int_equal(q.n, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(q.params[i], params[i]);
    gf_query_free(&q);
}

static void forms(void **state)
{
    (void)state;
    const char *const g[] = {"germany", NULL};
    expect("SELECT * FROM t WHERE c = $country", "SELECT * FROM t WHERE c = $1", g);
    expect("WHERE c = ${country}", "WHERE c = $1", g);
    expect("WHERE c = ${country:raw}", "WHERE c = $1", g);
    expect("WHERE c = [[country]]", "WHERE c = $1", g);
    expect("WHERE c = '$country'", "WHERE c = ($1)", g);
    expect("WHERE c = '${country}' AND d = 'x'", "WHERE c = ($1) AND d = 'x'", g);
    expect("WHERE n >= $min LIMIT 10", "WHERE n >= $1 LIMIT 10", (const char *const[]){"5", NULL});
}

static void lists_and_literals(void **state)
{
    (void)state;
    expect("WHERE c IN ($countries)", "WHERE c IN ($1, $2)",
           (const char *const[]){"usa", "canada", NULL});
    expect("WHERE c IN (${countries:csv})", "WHERE c IN ($1, $2)",
           (const char *const[]){"usa", "canada", NULL});
    expect("WHERE c IN (${countries:sqlstring})", "WHERE c IN ($1, $2)",
           (const char *const[]){"usa", "canada", NULL});
    expect("WHERE c = '${countries:pipe}'", "WHERE c = ($1)",
           (const char *const[]){"usa|canada", NULL});
    expect("WHERE c IN ($none)", "WHERE c IN (NULL)", NULL);
    expect("WHERE t LIKE '%$country%'", "WHERE t LIKE ('%' || $1 || '%')",
           (const char *const[]){"germany", NULL});
    expect("WHERE t = 'it''s $country'", "WHERE t = ('it''s ' || $1)",
           (const char *const[]){"germany", NULL});
    expect("WHERE t = 'it''s'", "WHERE t = 'it''s'", NULL);
}

static void injection_is_a_value(void **state)
{
    (void)state;
    expect("SELECT * FROM books WHERE title = '$q'", "SELECT * FROM books WHERE title = ($1)",
           (const char *const[]){"'; DROP TABLE books_schema.users; --", NULL});
    expect("SELECT * FROM books WHERE title = $q", "SELECT * FROM books WHERE title = $1",
           (const char *const[]){"'; DROP TABLE books_schema.users; --", NULL});
}

static void untouched(void **state)
{
    (void)state;
    expect("SELECT $unknown, '$other' -- $country\n/* $country */ FROM t",
           "SELECT $unknown, '$other' -- $country\n/* $country */ FROM t", NULL);
    expect("SELECT 1 WHERE $__timeFilter(created_at)", "SELECT 1 WHERE TRUE", NULL);
    expect("SELECT $__timeFrom()", "SELECT TIMESTAMP '1970-01-01 00:00:00'", NULL);
    expect("SELECT $5", "SELECT $5", NULL);
}

static void refused(void **state)
{
    (void)state;
    gf_query q;
    bp_err err = {0};
    assert_int_equal(gf_interpolate("SELECT * FROM \"$country\"", vars, 5, &q, &err), BP_EINPUT);
    assert_non_null(strstr(err.msg, "may not name a table or column"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forms),
        cmocka_unit_test(lists_and_literals),
        cmocka_unit_test(injection_is_a_value),
        cmocka_unit_test(untouched),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
