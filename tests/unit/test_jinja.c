/* test_jinja.c: the Jinja engine against tests/jinja/cases.txt (template
 * -> expected output, as Jinja2 renders it; the file says its format), and
 * what the host side sees: its names, filters, functions, host objects,
 * return(), macros exported by a template and host block tags. Run from
 * the repository's root (make unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jinja/jinja.h"

/* a buffer append in a test: out of memory fails the test */
#define OK(x) assert_int_equal((x), BP_OK)

#define CASES "tests/jinja/cases.txt"

static const char setup[] =
    "{% set items = [1, 2, 3] %}{% set names = ['b', 'a', 'C'] %}{% set d = {'a': 1, 'b': 2} %}"
    "{% set s = 'Hello World' %}{% set n = none %}{% set t = true %}{% set f = 2.5 %}"
    "{% set empty = [] %}{% set nested = {'x': {'y': [10, 20]}} %}"
    "{% set users = [{'name': 'ann', 'age': 30}, {'name': 'bob', 'age': 25}, "
    "{'name': 'cy', 'age': 30}] %}";

typedef struct {
    char name[200];
    buf tpl, want;
    int line;
} tcase;

/* Read the next case; false at the end of the file. */
static bool next_case(FILE *f, tcase *c, int *lineno)
{
    char line[4096];
    buf_reset(&c->tpl);
    buf_reset(&c->want);
    OK(buf_adds(&c->want, ""));
    c->name[0] = 0;
    int part = 0; /* 0 before the case, 1 template, 2 expected */
    char *lines[512];
    size_t nl = 0;
    for (;;) {
        long pos = ftell(f);
        if (!fgets(line, sizeof line, f))
            break;
        (*lineno)++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = 0;
        if (part == 0) {
            if (!strncmp(line, "== ", 3)) {
                snprintf(c->name, sizeof c->name, "%.199s", line + 3);
                c->line = *lineno;
                part = 1;
            }
            continue;
        }
        if (!strncmp(line, "== ", 3)) { /* the next case: give the line back */
            fseek(f, pos, SEEK_SET);
            (*lineno)--;
            break;
        }
        if (part == 1) {
            if (!strcmp(line, "--"))
                part = 2;
            else {
                OK(buf_add(&c->tpl, line, l));
                OK(buf_addc(&c->tpl, '\n'));
            }
            continue;
        }
        if (nl < 512)
            lines[nl++] = strdup(line);
    }
    while (nl && !lines[nl - 1][0])
        free(lines[--nl]);
    bool dollar = nl && !strcmp(lines[nl - 1], "$");
    if (dollar)
        free(lines[--nl]);
    for (size_t i = 0; i < nl; i++) {
        if (i)
            OK(buf_addc(&c->want, '\n'));
        OK(buf_adds(&c->want, lines[i]));
        free(lines[i]);
    }
    if (dollar && nl)
        OK(buf_addc(&c->want, '\n'));
    return c->name[0] != 0;
}

static void conformance_cases(void **state)
{
    (void)state;
    FILE *f = fopen(CASES, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repository's root)", CASES);
    tcase c = {0};
    int lineno = 0, n = 0, bad = 0;
    jinja_tpl *st_tpl;
    bp_err err = {0};
    assert_int_equal(jinja_parse("setup", setup, strlen(setup), NULL, &st_tpl, &err), BP_OK);
    while (next_case(f, &c, &lineno)) {
        n++;
        jinja_rt *rt = jinja_rt_new(NULL);
        buf out = {0}, ignore = {0};
        assert_non_null(rt);
        assert_int_equal(jinja_render(rt, st_tpl, &ignore, &err), BP_OK);
        jinja_tpl *t = NULL;
        memset(&err, 0, sizeof err);
        bp_status st = jinja_parse("t.sql", c.tpl.p ? c.tpl.p : "", c.tpl.len, NULL, &t, &err);
        if (st == BP_OK)
            st = jinja_render(rt, t, &out, &err);
        const char *want = c.want.p ? c.want.p : "";
        bool ok;
        if (!strncmp(want, "!error ", 7))
            ok = st != BP_OK && strstr(err.msg, want + 7);
        else
            ok = st == BP_OK && out.len == strlen(want) && !memcmp(out.p ? out.p : "", want, out.len);
        if (!ok) {
            bad++;
            fprintf(stderr, "%s:%d: case '%s'\n  want: [%s]\n  got:  [%s]%s%s\n", CASES, c.line,
                    c.name, want, st == BP_OK ? (out.p ? out.p : "") : "", st ? " error: " : "",
                    st ? err.msg : "");
        }
        jinja_tpl_free(t);
        jinja_rt_free(rt);
        buf_free(&out);
        buf_free(&ignore);
    }
    fclose(f);
    jinja_tpl_free(st_tpl);
    buf_free(&c.tpl);
    buf_free(&c.want);
    fprintf(stderr, "%d cases, %d failed\n", n, bad);
    assert_true(n >= 200);
    assert_int_equal(bad, 0);
}

/* ---- the host's side ------------------------------------------------------------------ */

static bp_status fn_ref(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *m = jinja_arg(a, 0, NULL);
    if (!m || m->type != JV_STR)
        return jinja_fail(rt, "ref() takes a model name");
    char t[256];
    snprintf(t, sizeof t, "books_schema.%s", m->u.s.p);
    *out = jv_strz(jinja_rt_arena(rt), t);
    return BP_OK;
}

static bp_status fn_return(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    jv *v = jinja_arg(a, 0, NULL);
    *out = jv_str(jinja_rt_arena(rt), "", 0);
    return jinja_return(rt, v ? v : jv_none(jinja_rt_arena(rt)));
}

static bp_status rel_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    return buf_printf(out, "\"db\".\"%s\"", (const char *)self);
}

static jv *rel_attr(jinja_rt *rt, void *self, const char *name)
{
    if (!strcmp(name, "identifier"))
        return jv_strz(jinja_rt_arena(rt), self);
    return NULL;
}

static const jv_obj_ops rel_ops = {"Relation", rel_attr, NULL, NULL, rel_str, NULL, NULL, 0, NULL};

static bool host_lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    arena *a = jinja_rt_arena(rt);
    if (!strcmp(name, "ref"))
        return (*out = jv_func(a, "ref", fn_ref, NULL)) != NULL;
    if (!strcmp(name, "return"))
        return (*out = jv_func(a, "return", fn_return, NULL)) != NULL;
    if (!strcmp(name, "this"))
        return (*out = jv_obj(a, &rel_ops, "me")) != NULL;
    return false;
}

static bool host_filter(void *ctx, jinja_rt *rt, const char *name, jv *v, const jv_args *a,
                        jv **out, bp_status *st)
{
    (void)ctx, (void)a;
    if (strcmp(name, "as_bool") != 0)
        return false;
    *out = jv_bool(jinja_rt_arena(rt), jv_truthy(v));
    *st = BP_OK;
    return true;
}

static const char *const tags[] = {"test", "docs", NULL};
static const jinja_env host = {host_lookup, host_filter, NULL, tags, NULL};

static bp_status run(const char *src, buf *out, bp_err *err)
{
    buf_reset(out);
    return jinja_render_string("h.sql", src, strlen(src), &host, NULL, out, err);
}

static void host_names_filters_objects(void **state)
{
    (void)state;
    buf out = {0};
    bp_err err = {0};
    assert_int_equal(run("select * from {{ ref('x') }} where {{ 1|as_bool }}", &out, &err), BP_OK);
    assert_string_equal(out.p, "select * from books_schema.x where True");
    assert_int_equal(run("{{ this }} {{ this.identifier }} {{ this ~ '!' }} {{ this.nope is defined }}",
                         &out, &err), BP_OK);
    assert_string_equal(out.p, "\"db\".\"me\" me \"db\".\"me\"! False");
    assert_int_equal(run("{{ ref(1) }}", &out, &err), BP_EINPUT);
    assert_non_null(strstr(err.msg, "h.sql:1:4: ref() takes a model name"));
    buf_free(&out);
}

static void return_gives_a_value(void **state)
{
    (void)state;
    buf out = {0};
    bp_err err = {0};
    assert_int_equal(run("{% macro m(x) %}ignored{{ return({'k': x * 2}) }}never{% endmacro %}"
                         "{{ m(21).k }} {{ m(1) is mapping }}", &out, &err), BP_OK);
    assert_string_equal(out.p, "42 True");
    assert_int_equal(run("{% macro m() %}{% for i in [1, 2, 3] %}{% if i == 2 %}{{ return(i) }}"
                         "{% endif %}{% endfor %}{% endmacro %}{{ m() }}", &out, &err), BP_OK);
    assert_string_equal(out.p, "2");
    buf_free(&out);
}

static void macros_and_host_tags_are_exported(void **state)
{
    (void)state;
    const char *src = "{% macro a(x) %}A{{ x }}{% endmacro %}\n"
                      "{% test positive(model, column_name) %}select 1{% endtest %}\n"
                      "{% docs intro %}Some *docs*.{% enddocs %}";
    jinja_tpl *t;
    bp_err err = {0};
    assert_int_equal(jinja_parse("m.sql", src, strlen(src), &host, &t, &err), BP_OK);
    assert_int_equal(jinja_tpl_nmacros(t), 3);
    assert_string_equal(jinja_macro_name(jinja_tpl_macro(t, 0)), "a");
    assert_string_equal(jinja_macro_tag(jinja_tpl_macro(t, 1)), "test");
    assert_string_equal(jinja_macro_name(jinja_tpl_macro(t, 1)), "positive");
    size_t n;
    const char *body = jinja_macro_body(jinja_tpl_macro(t, 2), &n);
    assert_int_equal(n, strlen("Some *docs*."));
    assert_memory_equal(body, "Some *docs*.", n);
    /* call an exported macro from the host */
    jinja_rt *rt = jinja_rt_new(&host);
    jv *m = jinja_macro_value(rt, jinja_tpl_macro(t, 0));
    jv *arg = jv_int(jinja_rt_arena(rt), 7);
    jv_args a = {1, 0, &arg, NULL, NULL};
    jv *res;
    assert_int_equal(jinja_call(rt, m, &a, &res, &err), BP_OK);
    assert_int_equal(res->type, JV_STR);
    assert_string_equal(res->u.s.p, "A7");
    jinja_rt_free(rt);
    jinja_tpl_free(t);
}

static void depth_limits(void **state)
{
    (void)state;
    buf src = {0}, out = {0};
    bp_err err = {0};
    for (int i = 0; i < 5000; i++)
        OK(buf_adds(&src, "{% if true %}"));
    assert_int_equal(jinja_render_string("d.sql", src.p, src.len, NULL, NULL, &out, &err), BP_EINPUT);
    if (!strstr(err.msg, "nested deeper than"))
        fail_msg("%s", err.msg);
    buf_reset(&src);
    OK(buf_adds(&src, "{{ "));
    for (int i = 0; i < 50000; i++)
        OK(buf_addc(&src, '('));
    OK(buf_addc(&src, '1'));
    for (int i = 0; i < 50000; i++)
        OK(buf_addc(&src, ')'));
    OK(buf_adds(&src, " }}"));
    assert_int_equal(jinja_render_string("d.sql", src.p, src.len, NULL, NULL, &out, &err), BP_EINPUT);
    assert_non_null(strstr(err.msg, "nested deeper than"));
    assert_int_equal(run("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", &out, &err),
                     BP_EINPUT);
    assert_non_null(strstr(err.msg, "endless recursion"));
    buf_free(&src);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conformance_cases),
        cmocka_unit_test(host_names_filters_objects),
        cmocka_unit_test(return_gives_a_value),
        cmocka_unit_test(macros_and_host_tags_are_exported),
        cmocka_unit_test(depth_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
