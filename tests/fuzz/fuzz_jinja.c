/* fuzz_jinja.c: libFuzzer target: the Jinja renderer, with names that
 * resolve, names that do not and calls that fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "jinja/jinja.h"

static bool lookup(void *ctx, jinja_render *r, const char *name, jinja_val **out)
{
    (void)ctx;
    *out = jinja_str(r, name, strlen(name));
    return name[0] != 'u';
}

static bp_status call(void *ctx, jinja_render *r, const char *name, const jinja_args *a,
                      jinja_val **out)
{
    (void)ctx;
    if (name[0] == 'e')
        return jinja_error(r, "no %s", name);
    *out = a->npos ? (jinja_val *)a->pos[0] : jinja_none(r);
    return BP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const jinja_env env = {lookup, call, NULL, NULL, NULL};
    buf out = {0};
    out.limit = 1 << 20;
    bp_err err;
    jinja_render_text("fuzz.sql", (const char *)data, n, &env, &out, &err);
    buf_free(&out);
    return 0;
}
