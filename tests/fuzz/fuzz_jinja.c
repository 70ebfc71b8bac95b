/* fuzz_jinja.c: libFuzzer target: the Jinja engine (parse and render),
 * with host names that resolve (a value, a function, one that fails),
 * names that do not, a host filter and the macro tags dbt adds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "jinja/jinja.h"

static bp_status fn_echo(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    *out = a->npos ? a->pos[0] : jv_none(jinja_rt_arena(rt));
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static bp_status fn_fail(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    (void)out;
    return jinja_fail(rt, "no such thing");
}

static bool lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    arena *a = jinja_rt_arena(rt);
    if (name[0] == 'u')
        return false; /* undefined */
    if (name[0] == 'e')
        return (*out = jv_func(a, name, fn_fail, NULL)) != NULL;
    if (name[0] == 'f')
        return (*out = jv_func(a, name, fn_echo, NULL)) != NULL;
    return (*out = jv_strz(a, name)) != NULL;
}

static bool filter(void *ctx, jinja_rt *rt, const char *name, jv *v, const jv_args *a, jv **out,
                   bp_status *st)
{
    (void)ctx;
    (void)a;
    if (strcmp(name, "host") != 0)
        return false;
    *out = v;
    *st = BP_OK;
    (void)rt;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const char *const tags[] = {"test", "materialization", "docs", NULL};
    const jinja_env env = {lookup, filter, NULL, tags, NULL};
    buf out = {0};
    out.limit = 1 << 20;
    bp_err err;
    jinja_tpl *t = NULL;
    if (jinja_parse("fuzz.sql", (const char *)data, n, &env, &t, &err) == BP_OK) {
        jinja_rt *rt = jinja_rt_new(&env);
        if (rt) {
            bp_status st = jinja_render(rt, t, &out, &err);
            (void)st; /* a failed render is an answer too */
            jinja_rt_free(rt);
        }
        jinja_tpl_free(t);
    }
    buf_free(&out);
    return 0;
}
