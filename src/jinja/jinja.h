/* jinja.h: the Jinja subset that dbt models use, rendered in C.
 *
 * Supported: {{ expr }}, {% if %}/{% elif %}/{% else %}/{% endif %},
 * {% set name = expr %}, {# comments #}, whitespace control with '-' on
 * either side of a tag. Expressions: string, number, true/false/none,
 * lists and dicts, names with attribute access (target.schema), calls with
 * positional and keyword arguments, == != < > <= >= in, and, or, not,
 * parentheses. Anything else is a compile error naming the file, line and
 * column. Names and calls are resolved by the caller (ref, source, config,
 * var, env_var, is_incremental, target, this, ...).
 *
 * Ownership: every jinja_val lives in the render's arena and dies with it;
 * callbacks create values with the jinja_* constructors. */
#ifndef BP_JINJA_H
#define BP_JINJA_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef enum { JV_NONE, JV_BOOL, JV_NUM, JV_STR, JV_LIST, JV_DICT } jinja_type;

typedef struct jinja_val jinja_val;
struct jinja_val {
    jinja_type type;
    bool b;
    double num;
    const char *str;        /* JV_STR: NUL-terminated */
    size_t n;               /* JV_LIST / JV_DICT: item count */
    jinja_val **items;      /* JV_LIST: values; JV_DICT: values */
    const char **keys;      /* JV_DICT: keys */
};

typedef struct jinja_render jinja_render;

/* Arguments of a call: positional first, then keyword. */
typedef struct {
    size_t npos, nkw;
    jinja_val **pos;
    const char **kw_names;
    jinja_val **kw;
} jinja_args;

typedef struct {
    /* Resolve a bare name; return false when unknown (a compile error). */
    bool (*lookup)(void *ctx, jinja_render *r, const char *name, jinja_val **out);
    /* Call a function; return BP_OK with *out set, or fail with a message
     * through jinja_error (then return BP_EINPUT). */
    bp_status (*call)(void *ctx, jinja_render *r, const char *name, const jinja_args *a,
                      jinja_val **out);
    void *ctx;
    /* The names lookup knows, for the message about an unknown one; NULL:
     * dbt's (ref, source, config, ...). */
    const char *known;
} jinja_env;

/* Render template src (named file, for errors) into out. */
bp_status jinja_render_text(const char *file, const char *src, size_t n, const jinja_env *env,
                            buf *out, bp_err *err);

/* Constructors, for callbacks. NULL on allocation failure. */
jinja_val *jinja_none(jinja_render *r);
jinja_val *jinja_bool(jinja_render *r, bool b);
jinja_val *jinja_num(jinja_render *r, double v);
jinja_val *jinja_str(jinja_render *r, const char *s, size_t n);
jinja_val *jinja_dict(jinja_render *r, size_t n, const char *const *keys, jinja_val **vals);

/* Report a failure at the position of the call being evaluated. */
bp_status jinja_error(jinja_render *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Truthiness and text form, as Jinja defines them. */
bool jinja_truthy(const jinja_val *v);
bp_status jinja_to_text(const jinja_val *v, buf *out);

/* A keyword argument by name, or positional argument i, or NULL. */
const jinja_val *jinja_arg(const jinja_args *a, size_t i, const char *name);

#endif
