/* test_interp.c: Grafana variables become bound parameters: every form
 * Grafana reads, literals, lists, macros, comments, and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "web/gtime.h"
#include "web/interp.h"

static const char *const germany[] = {"germany"};
static const char *const two[] = {"usa", "canada"};
static const char *const evil[] = {"'; DROP TABLE books_schema.users; --"};
static const char *const five[] = {"5"};

static const gf_var vars[] = {
    {"country", germany, 1}, {"countries", two, 2}, {"q", evil, 1},
    {"min", five, 1},        {"none", NULL, 0},
};

/* 2024-01-31 10:00 to 16:00 UTC, drawn at a 15 s interval */
static const gf_time range = {1706695200000LL, 1706716800000LL, 15000, "Books"};

/* Interpolate raw; check the statement and the parameters (NULL-ended). */
static void expect(const char *raw, const char *sql, const char *const *params)
{
    gf_query q;
    bp_err err = {0};
    if (gf_interpolate(raw, vars, 5, &range, &q, &err) != BP_OK)
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
    expect("SELECT $5", "SELECT $5", NULL);
}

/* The macros as Grafana's PostgreSQL data source expands them, with the
 * range's ends as parameters (Grafana writes them as literals). */
static void macros(void **state)
{
    (void)state;
    const char *const ends[] = {"2024-01-31T10:00:00Z", "2024-01-31T16:00:00Z", NULL};
    const char *const epochs[] = {"1706695200", "1706716800", NULL};
    expect("WHERE $__timeFilter(created_at)", "WHERE created_at BETWEEN $1 AND $2", ends);
    expect("WHERE $__timeFilter(CAST(x AS timestamp)) AND y", /* nested parentheses */
           "WHERE CAST(x AS timestamp) BETWEEN $1 AND $2 AND y", ends);
    expect("SELECT $__timeFrom(), $__timeTo()", "SELECT $1, $2", ends);
    expect("SELECT $__time(t), $__timeEpoch(t)",
           "SELECT t AS \"time\", extract(epoch from t) AS \"time\"", NULL);
    expect("SELECT $__timeGroup(t, '5m') GROUP BY 1", "SELECT floor(extract(epoch from t)/300)*300 GROUP BY 1",
           NULL);
    expect("SELECT $__timeGroupAlias(t, $__interval)",
           "SELECT floor(extract(epoch from t)/15)*15 AS \"time\"", NULL);
    expect("SELECT $__timeGroupAlias(t, '$min')", /* a variable inside the quotes (devenv) */
           "SELECT floor(extract(epoch from t)/5)*5 AS \"time\"", NULL);
    expect("SELECT $__timeGroup(t,'1h'), v", /* before Grafana 5.3: aliased */
           "SELECT floor(extract(epoch from t)/3600)*3600 AS \"time\", v", NULL);
    expect("SELECT $__unixEpochGroupAlias(ts, 500ms)", "SELECT floor((ts)/0.500)*0.500 AS \"time\"", NULL);
    expect("WHERE $__unixEpochFilter(ts)", "WHERE ts >= $1 AND ts <= $2", epochs);
    expect("SELECT $__unixEpochFrom(), $__unixEpochTo()", "SELECT $1, $2", epochs);
    expect("SELECT $__unixEpochNanoFrom()", "SELECT $1", (const char *const[]){"1706695200000000000", NULL});
    expect("SELECT $__interval_ms, '$__interval', $__range_s, ${__from:date:seconds}, '${__to:date:YYYY-MM-DD HH:mm}'",
           "SELECT $1, ($2), $3, $4, ($5)",
           (const char *const[]){"15000", "15s", "21600", "1706695200", "2024-01-31 16:00", NULL});
    expect("SELECT ${__from}, '$__dashboard', INTERVAL '$__interval'", "SELECT $1, ($2), CAST(($3) AS INTERVAL)",
           (const char *const[]){"1706695200000", "Books", "15s", NULL});
    /* a variable inside a macro's column argument is still a parameter */
    expect("WHERE $__timeFilter(coalesce(t, $country))", "WHERE coalesce(t, $1) BETWEEN $2 AND $3",
           (const char *const[]){"germany", "2024-01-31T10:00:00Z", "2024-01-31T16:00:00Z", NULL});
    gf_query q;
    bp_err err = {0};
    assert_int_equal(gf_interpolate("SELECT $__timeGroup(t, '5m', 0)", vars, 5, &range, &q, &err), BP_OK);
    assert_int_equal(q.fill, GF_FILL_VALUE);
    assert_int_equal(q.fill_interval_ms, 300000);
    gf_query_free(&q);
    assert_int_equal(gf_interpolate("SELECT $__timeGroup(t, '5m', previous)", vars, 5, &range, &q, &err), BP_OK);
    assert_int_equal(q.fill, GF_FILL_PREVIOUS);
    gf_query_free(&q);
    const char *bad[][2] = {
        {"SELECT $__timeGroup(t)", "needs a time column and an interval"},
        {"SELECT $__timeGroup(t, 'soon')", "is not an interval"},
        {"SELECT $__timeGroup(t, '5m', maybe)", "fill must be a number, NULL or previous"},
        {"WHERE $__timeFilter()", "missing time column argument"},
        {"WHERE $__timeFilter(t", "no closing parenthesis"},
        {"SELECT $__nosuch(t)", "unknown macro $__nosuch"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gf_interpolate(bad[i][0], vars, 5, &range, &q, &err), BP_EINPUT);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err.msg);
    }
    assert_int_equal(gf_interpolate("WHERE $__timeFilter(t)", vars, 5, NULL, &q, &err), BP_EINPUT);
}

/* Grafana's date math and intervals. now: Wednesday 2024-01-31 13:45:30.250 UTC */
static void time_math(void **state)
{
    (void)state;
    const int64_t now = 1706708730250LL;
    static const struct { const char *s; bool to; int64_t want; } cases[] = {
        {"now", false, 1706708730250LL},
        {"now-6h", false, 1706687130250LL},
        {"now-7d", false, 1706103930250LL},
        {"now/d", false, 1706659200000LL},          /* today's start */
        {"now/d", true, 1706745599999LL},           /* today's end */
        {"now-1d/d", false, 1706572800000LL},       /* yesterday */
        {"now/w", false, 1706486400000LL},          /* Monday 2024-01-29 */
        {"now-1M/M", false, 1701388800000LL},       /* 2023-12-01 */
        {"now/y", true, 1735689599999LL},           /* 2024-12-31 23:59:59.999 */
        {"now+30m", false, 1706710530250LL},
        {"1706000000000", false, 1706000000000LL},  /* epoch ms, as Grafana's URL */
        {"2024-01-31T10:00:00Z", false, 1706695200000LL},
        {"2024-01-31T12:00:00+02:00", false, 1706695200000LL},
        {"2024-01-31 10:00:00.5", false, 1706695200500LL},
        {"2024-01-31", false, 1706659200000LL},
        {"20240131T100000", false, 1706695200000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 0;
        if (!gf_time_parse(cases[i].s, now, cases[i].to, &got) || got != cases[i].want)
            fail_msg("%s: %lld, want %lld", cases[i].s, (long long)got, (long long)cases[i].want);
    }
    int64_t x;
    const char *bad[] = {"", "now-", "now-6x", "yesterday", "2024-13-01", "now/q", "2024-01-31T25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (gf_time_parse(bad[i], now, false, &x))
            fail_msg("%s was read as a time", bad[i]);
    assert_true(gf_interval_parse("'5m'", &x) && x == 300000);
    assert_true(gf_interval_parse("100ms", &x) && x == 100);
    assert_true(gf_interval_parse("30", &x) && x == 30000);
    assert_false(gf_interval_parse("5 minutes", &x));
    char out[32];
    gf_interval_format(90000, out, sizeof out); /* as Grafana: the largest whole unit */
    assert_string_equal(out, "1m");
    gf_interval_format(172800000, out, sizeof out);
    assert_string_equal(out, "2d");
    /* 6 hours over 1,000 px: 21.6 s, Grafana's step 20 s; a 1 m floor wins */
    assert_int_equal(gf_interval_calc(0, 21600000, 1000, 1), 20000);
    assert_int_equal(gf_interval_calc(0, 21600000, 1000, 60000), 60000);
    assert_int_equal(gf_interval_calc(0, 30LL * 86400000, 30, 10000), 86400000);
}

/* A variable in an output column's name (AS "TPS-$var") is written in,
 * its quotes doubled: it names a series, never a table. */
static void alias_names(void **state)
{
    (void)state;
    expect("SELECT 1 AS \"TPS-$country\"", "SELECT 1 AS \"TPS-germany\"", NULL);
    expect("SELECT 1 as  \"$countries\" FROM t", "SELECT 1 as  \"usa,canada\" FROM t", NULL);
    static const char *const quote[] = {"a\"b; DROP TABLE x; --"};
    const gf_var v[] = {{"q", quote, 1}};
    gf_query q;
    bp_err err = {0};
    assert_int_equal(gf_interpolate("SELECT 1 AS \"$q\"", v, 1, &range, &q, &err), BP_OK);
    assert_string_equal(q.sql.p, "SELECT 1 AS \"a\"\"b; DROP TABLE x; --\"");
    gf_query_free(&q);
    /* a table named by a variable is still refused, also after a word ending in "as" */
    assert_int_equal(gf_interpolate("SELECT * FROM \"$q\"", v, 1, &range, &q, &err), BP_EINPUT);
    assert_int_equal(gf_interpolate("SELECT alias\"$q\"", v, 1, &range, &q, &err), BP_EINPUT);
}

static void refused(void **state)
{
    (void)state;
    gf_query q;
    bp_err err = {0};
    assert_int_equal(gf_interpolate("SELECT * FROM \"$country\"", vars, 5, &range, &q, &err),
                     BP_EINPUT);
    assert_non_null(strstr(err.msg, "may not name a table or column"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forms),
        cmocka_unit_test(lists_and_literals),
        cmocka_unit_test(injection_is_a_value),
        cmocka_unit_test(untouched),
        cmocka_unit_test(macros),
        cmocka_unit_test(time_math),
        cmocka_unit_test(alias_names),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
