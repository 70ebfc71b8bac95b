/* jinja.h: a Jinja2 template engine in C, as dbt projects use it.
 *
 * The language of Jinja2's template reference: {{ expressions }},
 * {% statements %} (if/elif/else, for with else, loop.*, tuple unpacking
 * and recursive loops, break/continue, set and set blocks, macro with
 * defaults, varargs, kwargs and caller, call blocks, filter blocks, do,
 * raw, with), {# comments #}, whitespace control (- and +) everywhere;
 * expressions with literals (strings, numbers, lists, tuples, dicts),
 * attribute and item access, slices, calls with keyword, *args and
 * **kwargs arguments (trailing commas allowed), filters, tests, inline
 * if/else, ~, arithmetic (+ - * / // % **), comparisons, in / not in,
 * and/or/not; Python's methods of str, list and dict; the built-in filters,
 * tests and globals (range, dict, namespace, cycler, joiner, lipsum).
 * Errors name file:line:column.
 *
 * The engine knows nothing of dbt: names it does not know are asked of the
 * host (jinja_env.lookup), and host objects (adapter, a relation, modules)
 * are values of type JV_OBJ with an ops table. Block tags the host adds
 * (dbt's test, materialization, docs, snapshot) are parsed like macros and
 * handed to the host when a template is loaded.
 *
 * Memory: a template's syntax tree lives in the template (jinja_tpl_free);
 * values live in the arena of the render that made them (jinja_rt) and
 * die with it; values the host keeps across renders (globals) are made in
 * an arena of its own with the jv_* constructors that take one. */
#ifndef BP_JINJA_H
#define BP_JINJA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/err.h"

typedef enum {
    JV_UNDEF,   /* a name or attribute that is not there */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,    /* also tuples (tuple set) */
    JV_DICT,    /* keys in insertion order */
    JV_MACRO,   /* a {% macro %} (or a caller) */
    JV_FUNC,    /* a function of the engine's or the host's */
    JV_OBJ      /* a host object (attributes, calls, text through its ops) */
} jv_type;

typedef struct jv jv;
typedef struct jinja_rt jinja_rt;
typedef struct jinja_tpl jinja_tpl;

/* Arguments of a call: positional, then keyword. */
typedef struct {
    size_t npos, nkw;
    jv **pos;
    const char **kw_names;
    jv **kw;
} jv_args;

/* A function: fills *out, or fails through jinja_fail (returns BP_EINPUT). */
typedef bp_status (*jv_fn)(jinja_rt *rt, void *data, const jv_args *a, jv **out);

/* The binary operators (jv_obj_ops.binop). */
typedef enum { JV_OP_ADD, JV_OP_SUB, JV_OP_MUL, JV_OP_DIV, JV_OP_FLOORDIV, JV_OP_MOD, JV_OP_POW,
               JV_OP_CONCAT, JV_OP_LT, JV_OP_LE, JV_OP_GT, JV_OP_GE } jv_op;

typedef struct {
    const char *type_name;
    /* attribute; NULL when there is none (the engine makes it undefined) */
    jv *(*getattr)(jinja_rt *rt, void *self, const char *name);
    /* item (obj[key]); NULL: none */
    jv *(*getitem)(jinja_rt *rt, void *self, const jv *key);
    /* calling the object itself; NULL: not callable */
    bp_status (*call)(jinja_rt *rt, void *self, const jv_args *a, jv **out);
    /* its text ({{ obj }}, ~, string filter); NULL: "<type_name>" */
    bp_status (*str)(jinja_rt *rt, void *self, buf *out);
    /* true when self equals other (for ==); NULL: identity */
    bool (*eq)(const void *self, const jv *other);
    /* its items for loops and filters; NULL: not iterable */
    bp_status (*iter)(jinja_rt *rt, void *self, jv ***items, size_t *n);
    /* JV_OBJ_MAPPING: `is mapping` holds (dbt's relations are mappings) */
    unsigned flags;
    /* Optional: a OP b where a or b is this object (dates minus timedeltas):
     * true when handled (*st BP_OK with *out set, or a failure after
     * jinja_fail); false: the operator does not apply. */
    bool (*binop)(jinja_rt *rt, jv_op op, const jv *a, const jv *b, jv **out, bp_status *st);
} jv_obj_ops;

#define JV_OBJ_MAPPING 1u

typedef struct jv_dict jv_dict;

struct jv {
    jv_type type;
    bool tuple;             /* JV_LIST made as a tuple: prints as (a, b) */
    bool safe;              /* a string marked safe (no effect: no autoescape) */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;  /* NUL-terminated; n excludes the NUL */
            size_t n;
        } s;
        struct {
            jv **items;
            size_t n, cap;
        } l;
        jv_dict *d;
        struct {
            jv_fn fn;
            void *data;
            const char *name;
        } fn;
        struct {
            const jv_obj_ops *ops;
            void *self;
        } obj;
        struct {
            struct jinja_macro *m;
            void *closure;        /* the scope a nested macro or a caller sees */
        } mac;
        const char *undef_name;   /* JV_UNDEF: what was looked up (for messages) */
    } u;
};

/* ---- values ---------------------------------------------------------------------------
 * The constructors allocate in arena a (a render's, jinja_rt_arena(rt), or
 * one of the host's); NULL on allocation failure. */
jv *jv_none(arena *a);
jv *jv_undef(arena *a, const char *name);
jv *jv_bool(arena *a, bool b);
jv *jv_int(arena *a, int64_t i);
jv *jv_float(arena *a, double f);
jv *jv_str(arena *a, const char *s, size_t n);
jv *jv_strz(arena *a, const char *s);
jv *jv_strf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
jv *jv_list(arena *a, size_t cap);
jv *jv_dict_new(arena *a);
jv *jv_func(arena *a, const char *name, jv_fn fn, void *data);
jv *jv_obj(arena *a, const jv_obj_ops *ops, void *self);
bool jv_list_push(arena *a, jv *list, jv *item);
/* Set key (a copy of it is made) to v: replaces, or appends in order. */
bool jv_dict_set(arena *a, jv *dict, const char *key, jv *v);
jv *jv_dict_get(const jv *dict, const char *key);
size_t jv_dict_len(const jv *dict);
/* The i-th key and value, in insertion order. */
const char *jv_dict_key(const jv *dict, size_t i);
jv *jv_dict_val(const jv *dict, size_t i);
bool jv_dict_del(jv *dict, const char *key);

/* A deep copy of lists and dicts into arena a (strings copied; functions,
 * macros and objects shared): for values a host keeps past a render. */
jv *jv_copy(arena *a, const jv *v);
/* A copy of v's lists and dicts, sharing its other values (which nothing
 * changes in place): a private, writable view of a value that lives
 * longer than a (shares its leaves, so they must outlive the copy). */
jv *jv_copy_containers(arena *a, const jv *v);
/* Python's ast.literal_eval of text: numbers, quoted strings, True, False,
 * None, lists, tuples and dicts of them; false (and *out unset) when the
 * text is not such a literal. */
bool jinja_literal_eval(arena *a, const char *s, size_t n, jv **out);

bool jv_truthy(const jv *v);
/* str(v) as Python prints it (None, True, 1.0, ['a', 1], {'k': 'v'}). */
BP_MUST bp_status jv_to_str(const jv *v, buf *out);
/* repr(v): strings quoted. */
BP_MUST bp_status jv_repr(const jv *v, buf *out);
bool jv_equal(const jv *a, const jv *b);
/* JSON text of v as Python's json.dumps writes it (ensure_ascii; indent 0:
 * one line); false for values JSON has no form of. */
bool jv_to_json(const jv *v, buf *out, int indent, bool sort_keys);

/* ---- the environment (the host's side) -------------------------------------------- */

typedef struct {
    /* A name the template's scopes do not define: set *out (may be an
     * undefined value) and return true; false: undefined. */
    bool (*lookup)(void *ctx, jinja_rt *rt, const char *name, jv **out);
    /* Extra filters (the host's first, then the built-ins): return false
     * when the host has no such filter; else set *st (BP_OK with *out set,
     * or a failure after jinja_fail). */
    bool (*filter)(void *ctx, jinja_rt *rt, const char *name, jv *v, const jv_args *a,
                   jv **out, bp_status *st);
    void *ctx;
    /* Block tags the host parses like macros ("test", "materialization",
     * "docs", "snapshot"): NULL-terminated. */
    const char *const *macro_tags;
    /* Optional: a name nobody defines (not the scopes, the host, nor
     * Jinja's globals): set *out and return true to give it a value (dbt's
     * parse pass lets unknown names through); false: undefined. */
    bool (*missing)(void *ctx, jinja_rt *rt, const char *name, jv **out);
} jinja_env;

/* ---- templates ------------------------------------------------------------------------ */

/* Parse src (named file, for messages). Only syntax errors fail here. */
BP_MUST bp_status jinja_parse(const char *file, const char *src, size_t n, const jinja_env *env,
                      jinja_tpl **out, bp_err *err);
void jinja_tpl_free(jinja_tpl *t);

/* A macro of a template (or of a host macro tag: "test", "docs", ...). */
typedef struct jinja_macro jinja_macro;
size_t jinja_tpl_nmacros(const jinja_tpl *t);
jinja_macro *jinja_tpl_macro(const jinja_tpl *t, size_t i);
const char *jinja_macro_name(const jinja_macro *m);
/* "macro", or the host tag it came from; the tag's extra argument
 * (materialization's adapter='x') when given. */
const char *jinja_macro_tag(const jinja_macro *m);
const char *jinja_macro_tag_arg(const jinja_macro *m, const char *name);
const char *jinja_macro_file(const jinja_macro *m);
int jinja_macro_line(const jinja_macro *m);
/* The raw text of a macro's body (docs blocks). */
const char *jinja_macro_body(const jinja_macro *m, size_t *n);
/* The template a macro was parsed from. */
const jinja_tpl *jinja_macro_tpl(const jinja_macro *m);
/* The host's tag on a template (dbt: the package it belongs to). */
void jinja_tpl_set_data(jinja_tpl *t, void *data);
void *jinja_tpl_data(const jinja_tpl *t);

/* ---- rendering ------------------------------------------------------------------------ */

/* A render: an arena for its values, the environment, limits. */
jinja_rt *jinja_rt_new(const jinja_env *env);
void jinja_rt_free(jinja_rt *rt);
arena *jinja_rt_arena(jinja_rt *rt);
/* The host's per-render data (for its functions). */
void jinja_rt_set_data(jinja_rt *rt, void *data);
void *jinja_rt_data(jinja_rt *rt);
/* Set a name in the render's outermost scope. */
bool jinja_rt_set(jinja_rt *rt, const char *name, jv *v);
/* The template whose code runs now: the innermost macro's, else the one
 * being rendered (NULL outside a render). */
const jinja_tpl *jinja_rt_current_tpl(jinja_rt *rt);
/* Is the innermost macro running (other than call blocks) named name? */
const char *jinja_rt_macro_name(jinja_rt *rt);

/* Render template t into out. */
BP_MUST bp_status jinja_render(jinja_rt *rt, const jinja_tpl *t, buf *out, bp_err *err);
/* Render t as dbt's native renderer does: a template that is one {{ expr }}
 * gives the expression's value itself; other text gives the text, read as
 * a Python literal when it is one ("1" -> 1, "[1, 2]" -> a list). */
BP_MUST bp_status jinja_render_native(jinja_rt *rt, const jinja_tpl *t, jv **out, bp_err *err);
/* Call a macro (or any callable value) with arguments; its result. */
BP_MUST bp_status jinja_call(jinja_rt *rt, jv *fn, const jv_args *a, jv **out, bp_err *err);
/* The macro as a value, callable in this render. */
jv *jinja_macro_value(jinja_rt *rt, jinja_macro *m);

/* obj.name as Jinja reads it (attribute, then item); an undefined value
 * when there is none. */
jv *jinja_getattr(jinja_rt *rt, jv *obj, const char *name);
/* The items a for loop would see (list items, dict keys, characters,
 * an iterable object's items). */
BP_MUST bp_status jinja_iter(jinja_rt *rt, const jv *v, jv ***items, size_t *n);
/* Has the render failed (a function reported an error)? */
bool jinja_rt_failed(const jinja_rt *rt);

/* Record a failure at the place being evaluated; returns BP_EINPUT. */
bp_status jinja_fail(jinja_rt *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A macro's return(value): the macro call returns it instead of its text. */
BP_MUST bp_status jinja_return(jinja_rt *rt, jv *v);

/* Argument helpers: the i-th positional or the keyword `kw`; NULL when
 * absent. */
jv *jinja_arg(const jv_args *a, size_t i, const char *kw);

/* Render a whole template from text at once (parse, render, free): for
 * strings in YAML and the like. */
BP_MUST bp_status jinja_render_string(const char *file, const char *src, size_t n, const jinja_env *env,
                              void *data, buf *out, bp_err *err);

#endif
