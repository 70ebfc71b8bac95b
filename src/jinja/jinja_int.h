/* jinja_int.h: what the parser (parse.c), the evaluator (eval.c), the
 * values (value.c) and the built-ins (builtins.c) share. */
#ifndef BP_JINJA_INT_H
#define BP_JINJA_INT_H

#include "jinja.h"

/* Nesting beyond this is refused with a message (the parser and the
 * evaluator recurse; a template of 50,000 parentheses must not exhaust the
 * stack). Calls deeper than JINJA_MAX_CALLS are refused too (recursion). */
#define JINJA_MAX_DEPTH 200
#define JINJA_MAX_CALLS 400
/* The evaluator's own nesting (expressions within statements within macro
 * calls): deep enough for macros calling macros, bounded for the stack. */
#define JINJA_MAX_EVAL_DEPTH 4000
/* A value a template builds (repetition, padding) may not grow past this:
 * a render that asks for gigabytes fails with a message instead of eating
 * the machine. */
#define JINJA_MAX_TEXT (64u << 20)
#define JINJA_MAX_ITEMS 10000000

/* ---- the syntax tree ------------------------------------------------------------------ */

typedef enum {
    /* expressions */
    E_CONST, E_NAME, E_LIST, E_TUPLE, E_DICT, E_ATTR, E_ITEM, E_SLICE, E_CALL, E_FILTER,
    E_TEST, E_NOT, E_NEG, E_POS, E_BIN, E_AND, E_OR, E_COND, E_CMP,
    /* statements */
    S_TEXT, S_OUT, S_IF, S_FOR, S_SET, S_SET_BLOCK, S_MACRO, S_CALL_BLOCK, S_FILTER_BLOCK,
    S_DO, S_BREAK, S_CONTINUE, S_WITH, S_BODY
} node_kind;

typedef enum {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CONCAT
} bin_op;

typedef enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_IN, CMP_NOTIN } cmp_op;

typedef struct jnode jnode;

/* A call's arguments as written. */
typedef struct {
    jnode **pos;
    size_t npos;
    const char **kw_names;
    jnode **kw;
    size_t nkw;
    jnode *star, *starstar;   /* *args, **kwargs */
} call_args;

/* A parameter of a macro: name and default (NULL: required). */
typedef struct {
    const char *name;
    jnode *dflt;
} param;

struct jinja_macro {
    const char *name;
    const char *tag;          /* "macro" or a host tag */
    const char **tag_keys, **tag_vals;  /* materialization adapter='x', ... */
    size_t ntag;
    param *params;
    size_t nparams;
    jnode *body;              /* S_BODY */
    bool uses_varargs, uses_kwargs, uses_caller;
    const char *file;
    int line;
    const char *raw;          /* the body's source text */
    size_t raw_n;
    const jinja_tpl *tpl;
};

struct jnode {
    node_kind kind;
    int line, col;
    union {
        jv *cval;                                     /* E_CONST */
        const char *name;                             /* E_NAME */
        struct { jnode **items; size_t n; } seq;      /* E_LIST, E_TUPLE, S_BODY */
        struct { jnode **keys, **vals; size_t n; } dict;
        struct { jnode *obj; const char *name; } attr;
        struct { jnode *obj, *key; } item;
        struct { jnode *obj, *start, *stop, *step; } slice;
        struct { jnode *fn; call_args args; } call;
        struct { jnode *obj; const char *name; call_args args; bool has_args; } filter;
        struct { jnode *obj; const char *name; call_args args; bool negate; } test;
        jnode *operand;                               /* E_NOT, E_NEG, E_POS */
        struct { bin_op op; jnode *l, *r; } bin;
        struct { jnode *l, *r; } logic;               /* E_AND, E_OR */
        struct { jnode *cond, *then, *other; } cond;  /* E_COND; other may be NULL */
        struct {                                      /* E_CMP: a < b < c */
            jnode **operands;
            cmp_op *ops;
            size_t n;                                 /* operators */
        } cmp;
        struct { const char *p; size_t n; } text;     /* S_TEXT */
        jnode *expr;                                  /* S_OUT, S_DO */
        struct { jnode **conds, **bodies; size_t n; jnode *other; } ifs;
        struct {
            const char **targets;   /* loop variables (tuple unpacking) */
            size_t ntargets;
            jnode *iter, *filter, *body, *other;
            bool recursive;
        } loop;
        struct {
            jnode *target;          /* E_NAME, E_TUPLE of names, or E_ATTR (ns.x) */
            jnode *value;
        } set;
        struct { jnode *target; jnode *body; jnode *filter; } setblock;  /* filter: E_FILTER chain on a placeholder */
        jinja_macro *macro;                           /* S_MACRO */
        struct { jnode *call; jinja_macro *caller; } callblock;
        struct { jnode *filter; jnode *body; } filterblock;
        struct { const char **names; jnode **vals; size_t n; jnode *body; } with;
    } u;
};

struct jinja_tpl {
    arena mem;
    void *data;               /* the host's */
    const char *file;
    char *src;                /* a copy of the source */
    size_t n;
    jnode *body;
    jinja_macro **macros;     /* top-level macros and host tags, in order */
    size_t nmacros, capmacros;
};

/* ---- rendering state ------------------------------------------------------------------ */

typedef struct scope scope;
struct scope {
    scope *parent;            /* NULL at the render's root */
    const char **names;
    jv **vals;
    size_t n, cap;
    bool barrier;             /* a macro's scope: names above come from the root only */
};

typedef struct frame frame;
struct frame {
    frame *up;
    const jinja_macro *macro; /* the macro running, or NULL */
    jv *caller;               /* its caller() */
    jv *ret;                  /* set by return() */
};

struct jinja_rt {
    const jinja_env *env;
    arena mem;
    scope *root;
    void *data;
    bp_err *err;
    bool failed;
    /* where the evaluator is, for messages */
    const char *file;
    int line, col;
    int depth, calls;
    frame *fr;
    /* loop control: set by break/continue, cleared by the loop */
    int loop_ctl;             /* 0, 1 break, 2 continue */
    const jv *macro_value_cache;
    const jinja_tpl *tpl;     /* the template being rendered */
};

/* value.c */
bool jv_is_str(const jv *v);
bool jv_is_num(const jv *v);
double jv_num(const jv *v);
int jv_cmp(const jv *a, const jv *b, bool *ok);   /* <0, 0, >0 */
BP_MUST bp_status jv_format_float(double f, buf *out);
bool jv_is_iterable(const jv *v);
/* A string from buffer contents (copied into the render's arena). */
jv *jv_from_buf(arena *a, const buf *b);

/* eval.c */
BP_MUST bp_status jinja_ev_render(jinja_rt *rt, const jnode *n, buf *out);
BP_MUST bp_status jinja_ev_expr(jinja_rt *rt, const jnode *n, jv **out);
BP_MUST bp_status jinja_ev_call_value(jinja_rt *rt, jv *fn, const jv_args *a, jv **out);
/* needle in hay, as Python answers it (lists, dicts, strings, iterable host
 * objects such as an agate column) */
BP_MUST bp_status jinja_ev_contains(jinja_rt *rt, jv *needle, jv *hay, bool *out);
/* Iterate any iterable: list items, dict keys, string characters. */
BP_MUST bp_status jinja_ev_iter(jinja_rt *rt, const jv *v, jv ***items, size_t *n);
/* Attribute / item access, as getattr falling back to getitem. */
jv *jinja_ev_getattr(jinja_rt *rt, jv *obj, const char *name);
/* Resolve a name through the scopes, then the host. */
jv *jinja_ev_lookup(jinja_rt *rt, const char *name);
/* "fmt" % args (Python's printf-style formatting). */
BP_MUST bp_status jinja_ev_percent(jinja_rt *rt, const jv *fmt, const jv *args, jv **out);
/* Text of a value for output: fails on undefined. */
BP_MUST bp_status jinja_ev_str(jinja_rt *rt, const jv *v, buf *out);

/* builtins.c */
BP_MUST bp_status jinja_bi_filter(jinja_rt *rt, const char *name, jv *v, const jv_args *a, jv **out);
BP_MUST bp_status jinja_bi_test(jinja_rt *rt, const char *name, jv *v, const jv_args *a, bool *out);
/* A method of a str, list or dict value; NULL when there is none. */
jv *jinja_bi_method(jinja_rt *rt, jv *obj, const char *name);
/* A global of Jinja's (range, dict, namespace, cycler, joiner, lipsum). */
jv *jinja_bi_global(jinja_rt *rt, const char *name);

#endif
