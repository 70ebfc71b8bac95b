/* test_jinja.c: the Jinja subset: every construct, whitespace control,
 * short-circuit evaluation, and errors with file:line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "jinja/jinja.h"

static char last_config[256];

static bool lookup(void *ctx, jinja_render *r, const char *name, jinja_val **out)
{
    (void)ctx;
    if (strcmp(name, "target") == 0) {
        const char *keys[] = {"name", "type", "schema"};
        jinja_val *vals[] = {jinja_str(r, "dev", 3), jinja_str(r, "duckdb", 6),
                             jinja_str(r, "books_schema", 12)};
        *out = jinja_dict(r, 3, keys, vals);
        return true;
    }
    if (strcmp(name, "this") == 0) {
        *out = jinja_str(r, "books_schema.me", 15);
        return true;
    }
    return false;
}

static bp_status call(void *ctx, jinja_render *r, const char *name, const jinja_args *a,
                      jinja_val **out)
{
    (void)ctx;
    char tmp[256];
    if (strcmp(name, "ref") == 0) {
        const jinja_val *m = jinja_arg(a, 0, NULL);
        if (!m || m->type != JV_STR)
            return jinja_error(r, "ref() takes a model name");
        int n = snprintf(tmp, sizeof tmp, "books_schema.%s", m->str);
        *out = jinja_str(r, tmp, (size_t)n);
    } else if (strcmp(name, "var") == 0) {
        const jinja_val *k = jinja_arg(a, 0, NULL), *d = jinja_arg(a, 1, "default");
        if (k && k->type == JV_STR && strcmp(k->str, "min_reviews") == 0)
            *out = jinja_num(r, 10);
        else if (d)
            *out = (jinja_val *)d;
        else
            return jinja_error(r, "Required var '%s' not found", k ? k->str : "?");
    } else if (strcmp(name, "is_incremental") == 0) {
        *out = jinja_bool(r, false);
    } else if (strcmp(name, "config") == 0) {
        const jinja_val *m = jinja_arg(a, 99, "materialized");
        snprintf(last_config, sizeof last_config, "%s", m && m->type == JV_STR ? m->str : "");
        *out = jinja_str(r, "", 0);
    } else {
        return jinja_error(r, "unknown function %s()", name);
    }
    return BP_OK;
}

static const jinja_env env = {lookup, call, NULL, NULL};

static void expect(const char *tpl, const char *want)
{
    buf out = {0};
    bp_err err = {0};
    bp_status st = jinja_render_text("t.sql", tpl, strlen(tpl), &env, &out, &err);
    if (st != BP_OK)
        fail_msg("render of '%s' failed: %s", tpl, err.msg);
    assert_string_equal(out.p ? out.p : "", want);
    buf_free(&out);
}

static void expect_error(const char *tpl, const char *want)
{
    buf out = {0};
    bp_err err = {0};
    assert_int_equal(jinja_render_text("m.sql", tpl, strlen(tpl), &env, &out, &err), BP_EINPUT);
    if (!strstr(err.msg, want))
        fail_msg("error for '%s' was '%s', expected '%s'", tpl, err.msg, want);
    buf_free(&out);
}

static void plain_and_expressions(void **state)
{
    (void)state;
    expect("select 1", "select 1");
    expect("select * from {{ ref('stg_books') }}", "select * from books_schema.stg_books");
    expect("{{ target.schema }}.{{ target['name'] }}", "books_schema.dev");
    expect("{{ this }}", "books_schema.me");
    expect("{{ var('min_reviews') }} {{ var('x', 'fallback') }} {{ var('y', default=3) }}",
           "10 fallback 3");
    expect("{{ 'it\\'s' }}", "it's");
    expect("{{ [1, 'a'] }} {{ {'k': true} }} {{ none }} {{ 2.5 }}", "[1, 'a'] {'k': True} None 2.5");
}

static void conditions(void **state)
{
    (void)state;
    expect("{% if target.type == 'duckdb' %}D{% elif target.type == 'postgres' %}P{% else %}X{% endif %}",
           "D");
    expect("{% if target.type != 'duckdb' %}D{% elif target.type == 'duckdb' and not false %}E{% endif %}",
           "E");
    expect("{% if false %}a{% elif false %}b{% else %}c{% endif %}", "c");
    expect("{% if is_incremental() %}where x > 1{% endif %}", "");
    expect("{% if 'a' in ['a', 'b'] and 3 >= 2 and 'duck' in target.type %}yes{% endif %}", "yes");
    expect("{% if (false or true) and not (1 == 2) %}ok{% endif %}", "ok");
    expect("{% if true %}{% if false %}no{% else %}nested{% endif %}{% endif %}", "nested");
}

static void short_circuit(void **state)
{
    (void)state;
    /* the missing var would be an error if evaluated */
    expect("{% if false and var('missing') %}x{% endif %}done", "done");
    expect("{% if true or var('missing') %}x{% endif %}", "x");
    expect("{% if false %}{{ var('missing') }}{% endif %}ok", "ok");
}

static void set_config_comments(void **state)
{
    (void)state;
    expect("{% set n = var('min_reviews') %}having count(*) >= {{ n }}", "having count(*) >= 10");
    expect("{{ config(materialized='table', tags=['a']) }}select 1", "select 1");
    assert_string_equal(last_config, "table");
    expect("a{# a comment {{ ref('x') }} #}b", "ab");
}

static void whitespace_control(void **state)
{
    (void)state;
    expect("a  {%- if true -%}  b  {%- endif -%}  c", "abc");
    expect("a\n{{- ' x ' -}}\nb", "a x b");
    expect("line\n  {#- gone -#}\nnext", "linenext");
    expect("keep \n{% if true %} spaces {% endif %}\n", "keep \n spaces \n");
}

static void errors(void **state)
{
    (void)state;
    expect_error("select\n  {% for x in y %}{% endfor %}", "m.sql:2:6: {% for %} is not supported");
    expect_error("select {{ ref('a') ", "m.sql:1:8: '{{' is never closed");
    expect_error("{{ nope }}", "m.sql:1:4: 'nope' is undefined");
    expect_error("{{ x | int }}", "is undefined");
    expect_error("{% set x = 1 %}{{ x | int }}", "filters ('|') are not supported");
    expect_error("{% if true %}never closed", "{% if %} without {% endif %}");
    expect_error("{% endif %}", "{% endif %} without {% if %}");
    expect_error("\n\n  {{ var('missing') }}", "m.sql:3:6: Required var 'missing' not found");
    expect_error("{{ ref('a' }}", "expected ')' to close the call to ref()");
    expect_error("{{ target.nothing }}", "no attribute 'nothing'");
    expect_error("{{ 'open }}", "unterminated string");
    expect_error("{{ unknown_fn() }}", "unknown function unknown_fn()");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_expressions),
        cmocka_unit_test(conditions),
        cmocka_unit_test(short_circuit),
        cmocka_unit_test(set_config_comments),
        cmocka_unit_test(whitespace_control),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
