/* test_yml.c: the YAML tree: mappings, sequences, scalars, anchors,
 * nulls and booleans, line numbers, and errors with positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/yml.h"

static yml_doc *parse(const char *text)
{
    yml_doc *d = NULL;
    bp_err err = {0};
    if (yml_parse("t.yml", text, strlen(text), &d, &err) != BP_OK)
        fail_msg("parse failed: %s", err.msg);
    return d;
}

static void project_file(void **state)
{
    (void)state;
    yml_doc *d = parse("name: 'books'\nversion: '1.0'\nprofile: books\n"
                       "model-paths: [\"models\"]\n"
                       "models:\n  books:\n    +materialized: view\n    marts:\n"
                       "      +materialized: table\n      +tags: [daily, core]\n"
                       "vars:\n  min_reviews: 10\n  empty:\n  flag: yes\n  quoted: 'null'\n");
    yml_node *r = yml_root(d);
    assert_string_equal(yml_get_str(r, "name", NULL), "books");
    yml_node *mp = yml_get(r, "model-paths");
    assert_int_equal(mp->kind, YML_SEQ);
    assert_int_equal(mp->n, 1);
    assert_string_equal(mp->items[0]->str, "models");
    yml_node *marts = yml_get(yml_get(yml_get(r, "models"), "books"), "marts");
    assert_string_equal(yml_get_str(marts, "+materialized", NULL), "table");
    assert_int_equal(yml_get(marts, "+tags")->n, 2);
    assert_int_equal(marts->line, 9); /* where the mapping starts */
    yml_node *vars = yml_get(r, "vars");
    assert_true(yml_is_null(yml_get(vars, "empty")));
    assert_false(yml_is_null(yml_get(vars, "quoted")));
    assert_true(yml_bool(yml_get(vars, "flag"), false));
    assert_null(yml_get(r, "missing"));
    assert_string_equal(yml_get_str(r, "missing", "dflt"), "dflt");
    yml_free(d);
}

static void anchors_and_empty(void **state)
{
    (void)state;
    yml_doc *d = parse("base: &b {a: 1}\nuse: *b\n");
    yml_node *r = yml_root(d);
    assert_string_equal(yml_get_str(yml_get(r, "use"), "a", NULL), "1");
    yml_free(d);
    d = parse("");
    assert_null(yml_root(d));
    yml_free(d);
    yml_free(NULL);
}

static void errors(void **state)
{
    (void)state;
    yml_doc *d = NULL;
    bp_err err = {0};
    const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
    assert_int_equal(yml_parse("bad.yml", bad, strlen(bad), &d, &err), BP_EINPUT);
    assert_non_null(strstr(err.msg, "bad.yml:"));
    assert_non_null(strstr(err.msg, "YAML error"));
    assert_int_equal(yml_load("/nonexistent.yml", &d, &err), BP_EINPUT);
    assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(project_file),
        cmocka_unit_test(anchors_and_empty),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
