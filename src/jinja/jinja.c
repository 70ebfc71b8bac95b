/* jinja.c: the Jinja subset (see jinja.h).
 *
 * A template is cut into nodes (text, {{ }} and {% %}) with whitespace
 * control applied; nodes are then executed directly. Expressions are
 * parsed and evaluated in one recursive-descent pass; a pass with
 * evaluation switched off parses without evaluating, which gives `and`,
 * `or` and untaken branches their short-circuit meaning. */
#include "jinja.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/arena.h"

enum { N_TEXT, N_EXPR, N_STMT };

typedef struct {
    int kind;
    size_t off, len;  /* TEXT: the text; EXPR/STMT: the inside of the tag */
} node;

typedef struct {
    const char *name;
    jinja_val *val;
} var;

struct jinja_render {
    const char *file, *src;
    size_t n;
    const jinja_env *env;
    bp_err *err;
    bool failed;
    size_t err_pos;       /* offset for messages */
    arena mem;
    node *nodes;
    size_t nnodes, capnodes;
    var *vars;
    size_t nvars, capvars;
    /* the expression being parsed */
    const char *p, *end;
    int depth;            /* nesting of expressions and blocks (JINJA_MAX_DEPTH) */
};

/* Deeper nesting is refused with a message: the parser recurses, and a
 * template of 50,000 parentheses must not exhaust the stack. */
#define JINJA_MAX_DEPTH 200

static void *jalloc(jinja_render *r, size_t n) { return arena_alloc(&r->mem, n); }

/* ---- errors --------------------------------------------------------------- */

static void line_col(const jinja_render *r, size_t pos, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < pos && i < r->n; i++) {
        if (r->src[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static bp_status fail_at(jinja_render *r, size_t pos, const char *fmt, va_list ap)
{
    if (r->failed)
        return BP_EINPUT;
    char msg[700];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int line, col;
    line_col(r, pos, &line, &col);
    bp_fail(r->err, BP_EINPUT, "%s:%d:%d: %s", r->file, line, col, msg);
    r->failed = true;
    return BP_EINPUT;
}

static bp_status fail_here(jinja_render *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static bp_status fail_here(jinja_render *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp_status st = fail_at(r, (size_t)(r->p - r->src), fmt, ap);
    va_end(ap);
    return st;
}

bp_status jinja_error(jinja_render *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp_status st = fail_at(r, r->err_pos, fmt, ap);
    va_end(ap);
    return st;
}

static jinja_val *oom(jinja_render *r)
{
    fail_here(r, "out of memory");
    return NULL;
}

/* ---- values ----------------------------------------------------------------- */

static jinja_val *mk(jinja_render *r, jinja_type t)
{
    jinja_val *v = jalloc(r, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

jinja_val *jinja_none(jinja_render *r) { return mk(r, JV_NONE); }

jinja_val *jinja_bool(jinja_render *r, bool b)
{
    jinja_val *v = mk(r, JV_BOOL);
    if (v)
        v->b = b;
    return v;
}

jinja_val *jinja_num(jinja_render *r, double d)
{
    jinja_val *v = mk(r, JV_NUM);
    if (v)
        v->num = d;
    return v;
}

jinja_val *jinja_str(jinja_render *r, const char *s, size_t n)
{
    jinja_val *v = mk(r, JV_STR);
    char *c = jalloc(r, n + 1);
    if (!v || !c)
        return NULL;
    memcpy(c, s, n);
    c[n] = 0;
    v->str = c;
    v->n = n;
    return v;
}

jinja_val *jinja_dict(jinja_render *r, size_t n, const char *const *keys, jinja_val **vals)
{
    jinja_val *v = mk(r, JV_DICT);
    if (!v)
        return NULL;
    v->n = n;
    v->keys = jalloc(r, (n ? n : 1) * sizeof *v->keys);
    v->items = jalloc(r, (n ? n : 1) * sizeof *v->items);
    if (!v->keys || !v->items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        jinja_val *s = jinja_str(r, keys[i], strlen(keys[i]));
        if (!s)
            return NULL;
        v->keys[i] = s->str;
        v->items[i] = vals[i];
    }
    return v;
}

bool jinja_truthy(const jinja_val *v)
{
    switch (v->type) {
    case JV_NONE: return false;
    case JV_BOOL: return v->b;
    case JV_NUM: return v->num != 0;
    default: return v->n > 0;
    }
}

static bp_status repr(const jinja_val *v, buf *out, bool quote)
{
    char num[64];
    switch (v->type) {
    case JV_NONE: return buf_adds(out, "None");
    case JV_BOOL: return buf_adds(out, v->b ? "True" : "False");
    case JV_NUM:
        if (v->num < 1e15 && v->num > -1e15 && v->num == (double)(long long)v->num)
            snprintf(num, sizeof num, "%lld", (long long)v->num);
        else
            snprintf(num, sizeof num, "%.17g", v->num);
        return buf_adds(out, num);
    case JV_STR:
        if (!quote)
            return buf_add(out, v->str, v->n);
        if (buf_addc(out, '\''))
            return BP_ENOMEM;
        for (size_t i = 0; i < v->n; i++)
            if ((v->str[i] == '\'' && buf_addc(out, '\\')) || buf_addc(out, v->str[i]))
                return BP_ENOMEM;
        return buf_addc(out, '\'');
    case JV_LIST:
    case JV_DICT:
        if (buf_addc(out, v->type == JV_LIST ? '[' : '{'))
            return BP_ENOMEM;
        for (size_t i = 0; i < v->n; i++) {
            if (i && buf_adds(out, ", "))
                return BP_ENOMEM;
            if (v->type == JV_DICT &&
                (buf_addc(out, '\'') || buf_adds(out, v->keys[i]) || buf_adds(out, "': ")))
                return BP_ENOMEM;
            if (repr(v->items[i], out, true))
                return BP_ENOMEM;
        }
        return buf_addc(out, v->type == JV_LIST ? ']' : '}');
    }
    return BP_OK;
}

bp_status jinja_to_text(const jinja_val *v, buf *out) { return repr(v, out, false); }

const jinja_val *jinja_arg(const jinja_args *a, size_t i, const char *name)
{
    for (size_t k = 0; name && k < a->nkw; k++)
        if (strcmp(a->kw_names[k], name) == 0)
            return a->kw[k];
    return i < a->npos ? a->pos[i] : NULL;
}

static bool val_eq(const jinja_val *a, const jinja_val *b)
{
    if (a->type != b->type) {
        /* true == 1 as in Python */
        if ((a->type == JV_BOOL && b->type == JV_NUM) || (a->type == JV_NUM && b->type == JV_BOOL))
            return (a->type == JV_BOOL ? a->b : a->num) == (b->type == JV_BOOL ? b->b : b->num);
        return false;
    }
    switch (a->type) {
    case JV_NONE: return true;
    case JV_BOOL: return a->b == b->b;
    case JV_NUM: return a->num == b->num;
    case JV_STR: return a->n == b->n && memcmp(a->str, b->str, a->n) == 0;
    default:
        if (a->n != b->n)
            return false;
        for (size_t i = 0; i < a->n; i++)
            if (!val_eq(a->items[i], b->items[i]) ||
                (a->type == JV_DICT && strcmp(a->keys[i], b->keys[i]) != 0))
                return false;
        return true;
    }
}

/* ---- the expression scanner ------------------------------------------------ */

static void skip_ws(jinja_render *r)
{
    while (r->p < r->end && isspace((unsigned char)*r->p))
        r->p++;
}

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Is the next token the word w (not a prefix of a longer name)? */
static bool peek_word(jinja_render *r, const char *w)
{
    skip_ws(r);
    size_t n = strlen(w);
    return (size_t)(r->end - r->p) >= n && memcmp(r->p, w, n) == 0 &&
           (r->p + n == r->end || !is_ident(r->p[n]));
}

static bool accept_word(jinja_render *r, const char *w)
{
    if (!peek_word(r, w))
        return false;
    r->p += strlen(w);
    return true;
}

static bool accept(jinja_render *r, const char *op)
{
    skip_ws(r);
    size_t n = strlen(op);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, op, n) != 0)
        return false;
    r->p += n;
    return true;
}

/* Read a name into an arena string. */
static const char *ident(jinja_render *r)
{
    skip_ws(r);
    if (r->p >= r->end || !is_ident_start(*r->p))
        return NULL;
    const char *s = r->p;
    while (r->p < r->end && is_ident(*r->p))
        r->p++;
    jinja_val *v = jinja_str(r, s, (size_t)(r->p - s));
    return v ? v->str : NULL;
}

static jinja_val *expr(jinja_render *r, bool ev);

static jinja_val *string_lit(jinja_render *r)
{
    char q = *r->p++;
    buf b = {0};
    jinja_val *v = NULL;
    while (r->p < r->end && *r->p != q) {
        char c = *r->p++;
        if (c == '\\' && r->p < r->end) {
            c = *r->p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        if (buf_addc(&b, c)) {
            buf_free(&b);
            return oom(r);
        }
    }
    if (r->p >= r->end) {
        buf_free(&b);
        fail_here(r, "unterminated string");
        return NULL;
    }
    r->p++;
    v = jinja_str(r, b.p ? b.p : "", b.len);
    buf_free(&b);
    return v ? v : oom(r);
}

static jinja_val *number_lit(jinja_render *r)
{
    char tmp[64];
    size_t n = 0;
    while (r->p < r->end && (isdigit((unsigned char)*r->p) || *r->p == '.') && n < sizeof tmp - 1)
        tmp[n++] = *r->p++;
    tmp[n] = 0;
    char *e;
    double d = strtod(tmp, &e);
    if (*e) {
        fail_here(r, "bad number '%s'", tmp);
        return NULL;
    }
    jinja_val *v = jinja_num(r, d);
    return v ? v : oom(r);
}

/* [a, b] or {k: v} */
static jinja_val *collection(jinja_render *r, bool ev, bool dict)
{
    const char *close = dict ? "}" : "]";
    jinja_val *items[256];
    const char *keys[256];
    size_t n = 0;
    if (!accept(r, close)) {
        do {
            if (n == 256) {
                fail_here(r, "too many items");
                return NULL;
            }
            if (dict) {
                jinja_val *k = expr(r, true);
                if (!k)
                    return NULL;
                if (k->type != JV_STR) {
                    fail_here(r, "dict keys must be strings");
                    return NULL;
                }
                keys[n] = k->str;
                if (!accept(r, ":")) {
                    fail_here(r, "expected ':' in a dict");
                    return NULL;
                }
            }
            if (!(items[n++] = expr(r, ev)))
                return NULL;
        } while (accept(r, ","));
        if (!accept(r, close)) {
            fail_here(r, "expected '%s'", close);
            return NULL;
        }
    }
    jinja_val *v = dict ? jinja_dict(r, n, keys, items) : mk(r, JV_LIST);
    if (!v)
        return oom(r);
    if (!dict) {
        v->n = n;
        v->items = jalloc(r, (n ? n : 1) * sizeof *v->items);
        if (!v->items)
            return oom(r);
        memcpy(v->items, items, n * sizeof *items);
    }
    return v;
}

static jinja_val *call(jinja_render *r, bool ev, const char *name, size_t pos)
{
    jinja_val *pv[32], *kv[32];
    const char *kn[32];
    jinja_args a = {0, 0, pv, kn, kv};
    if (!accept(r, ")")) {
        do {
            if (a.npos + a.nkw == 32) {
                fail_here(r, "too many arguments");
                return NULL;
            }
            const char *save = r->p;
            const char *kw = ident(r);
            if (kw && accept(r, "=") && !(r->p < r->end && *r->p == '=')) {
                kn[a.nkw] = kw;
                if (!(kv[a.nkw++] = expr(r, ev)))
                    return NULL;
                continue;
            }
            r->p = save;
            if (a.nkw) {
                fail_here(r, "positional argument after a keyword argument");
                return NULL;
            }
            if (!(pv[a.npos++] = expr(r, ev)))
                return NULL;
        } while (accept(r, ","));
        if (!accept(r, ")")) {
            fail_here(r, "expected ')' to close the call to %s()", name);
            return NULL;
        }
    }
    if (!ev)
        return jinja_none(r);
    r->err_pos = pos;
    if (!r->env->call) {
        jinja_error(r, "unknown function %s()", name);
        return NULL;
    }
    jinja_val *out = NULL;
    if (r->env->call(r->env->ctx, r, name, &a, &out) != BP_OK || !out) {
        if (!r->failed)
            jinja_error(r, "%s() failed", name);
        return NULL;
    }
    return out;
}

static jinja_val *lookup(jinja_render *r, const char *name, size_t pos)
{
    for (size_t i = r->nvars; i-- > 0;)
        if (strcmp(r->vars[i].name, name) == 0)
            return r->vars[i].val;
    jinja_val *out = NULL;
    r->err_pos = pos;
    if (r->env->lookup && r->env->lookup(r->env->ctx, r, name, &out) && out)
        return out;
    if (!r->failed && r->env->known)
        jinja_error(r, "'%s' is undefined (known: %s)", name, r->env->known);
    else if (!r->failed)
        jinja_error(r, "'%s' is undefined (supported: ref, source, config, var, env_var, "
                    "target, this, is_incremental and {%% set %%} names)", name);
    return NULL;
}

static jinja_val *primary(jinja_render *r, bool ev)
{
    skip_ws(r);
    if (r->p >= r->end) {
        fail_here(r, "expected an expression");
        return NULL;
    }
    char c = *r->p;
    size_t pos = (size_t)(r->p - r->src);
    jinja_val *v;
    if (c == '\'' || c == '"')
        v = string_lit(r);
    else if (isdigit((unsigned char)c))
        v = number_lit(r);
    else if (accept(r, "(")) {
        v = expr(r, ev);
        if (v && !accept(r, ")")) {
            fail_here(r, "expected ')'");
            v = NULL;
        }
    }
    else if (accept(r, "["))
        v = collection(r, ev, false);
    else if (accept(r, "{"))
        v = collection(r, ev, true);
    else if (accept_word(r, "true") || accept_word(r, "True"))
        v = jinja_bool(r, true);
    else if (accept_word(r, "false") || accept_word(r, "False"))
        v = jinja_bool(r, false);
    else if (accept_word(r, "none") || accept_word(r, "None"))
        v = jinja_none(r);
    else if (is_ident_start(c)) {
        const char *name = ident(r);
        if (!name)
            return oom(r);
        if (accept(r, "("))
            v = call(r, ev, name, pos);
        else
            v = ev ? lookup(r, name, pos) : jinja_none(r);
    } else {
        fail_here(r, "unexpected '%c'", c);
        return NULL;
    }
    /* attribute access and subscripts */
    while (v) {
        skip_ws(r);
        if (accept(r, ".")) {
            size_t apos = (size_t)(r->p - r->src);
            const char *attr = ident(r);
            if (!attr) {
                fail_here(r, "expected a name after '.'");
                return NULL;
            }
            if (!ev)
                continue;
            jinja_val *found = NULL;
            for (size_t i = 0; v->type == JV_DICT && i < v->n && !found; i++)
                if (strcmp(v->keys[i], attr) == 0)
                    found = v->items[i];
            if (!found) {
                r->err_pos = apos;
                jinja_error(r, "no attribute '%s' here", attr);
                return NULL;
            }
            v = found;
        } else if (accept(r, "[")) {
            jinja_val *k = expr(r, ev);
            if (!k || !accept(r, "]")) {
                if (k)
                    fail_here(r, "expected ']'");
                return NULL;
            }
            if (!ev)
                continue;
            jinja_val *found = NULL;
            if (v->type == JV_LIST && k->type == JV_NUM && k->num >= 0 && k->num < (double)v->n)
                found = v->items[(size_t)k->num];
            for (size_t i = 0; v->type == JV_DICT && k->type == JV_STR && i < v->n && !found; i++)
                if (strcmp(v->keys[i], k->str) == 0)
                    found = v->items[i];
            if (!found) {
                fail_here(r, "no such item");
                return NULL;
            }
            v = found;
        } else {
            break;
        }
    }
    skip_ws(r);
    if (v && r->p < r->end && *r->p == '|') {
        fail_here(r, "filters ('|') are not supported");
        return NULL;
    }
    return v;
}

static jinja_val *comparison(jinja_render *r, bool ev)
{
    jinja_val *a = primary(r, ev);
    if (!a)
        return NULL;
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    int op = -1;
    for (int i = 0; i < 6 && op < 0; i++)
        if (accept(r, ops[i]))
            op = i;
    bool in = false, not_in = false;
    if (op < 0) {
        const char *save = r->p;
        if (accept_word(r, "not") && accept_word(r, "in"))
            not_in = true;
        else {
            r->p = save;
            in = accept_word(r, "in");
        }
    }
    if (op < 0 && !in && !not_in)
        return a;
    jinja_val *b = primary(r, ev);
    if (!b)
        return NULL;
    if (!ev)
        return jinja_bool(r, false);
    bool res = false;
    if (in || not_in) {
        if (b->type == JV_STR && a->type == JV_STR)
            res = strstr(b->str, a->str) != NULL;
        else if (b->type == JV_LIST || b->type == JV_DICT)
            for (size_t i = 0; i < b->n && !res; i++)
                res = b->type == JV_LIST ? val_eq(a, b->items[i])
                                         : (a->type == JV_STR && strcmp(a->str, b->keys[i]) == 0);
        res = not_in ? !res : res;
    } else if (op <= 1) {
        res = val_eq(a, b) == (op == 0);
    } else if (a->type == JV_NUM && b->type == JV_NUM) {
        res = op == 2 ? a->num <= b->num : op == 3 ? a->num >= b->num
              : op == 4 ? a->num < b->num : a->num > b->num;
    } else if (a->type == JV_STR && b->type == JV_STR) {
        int c = strcmp(a->str, b->str);
        res = op == 2 ? c <= 0 : op == 3 ? c >= 0 : op == 4 ? c < 0 : c > 0;
    } else {
        fail_here(r, "cannot order these values");
        return NULL;
    }
    jinja_val *v = jinja_bool(r, res);
    return v ? v : oom(r);
}

static jinja_val *not_expr(jinja_render *r, bool ev)
{
    if (accept_word(r, "not")) {
        jinja_val *a = not_expr(r, ev);
        return a ? jinja_bool(r, ev && !jinja_truthy(a)) : NULL;
    }
    return comparison(r, ev);
}

static jinja_val *and_expr(jinja_render *r, bool ev)
{
    jinja_val *a = not_expr(r, ev);
    while (a && accept_word(r, "and")) {
        bool take = ev && jinja_truthy(a);
        jinja_val *b = not_expr(r, take);
        if (!b)
            return NULL;
        if (take)
            a = b;
    }
    return a;
}

static jinja_val *expr_(jinja_render *r, bool ev);

static jinja_val *expr(jinja_render *r, bool ev)
{
    if (r->depth >= JINJA_MAX_DEPTH) {
        fail_here(r, "expression nested deeper than %d levels", JINJA_MAX_DEPTH);
        return NULL;
    }
    r->depth++;
    jinja_val *v = expr_(r, ev);
    r->depth--;
    return v;
}

static jinja_val *expr_(jinja_render *r, bool ev)
{
    jinja_val *a = and_expr(r, ev);
    while (a && accept_word(r, "or")) {
        bool take = ev && !jinja_truthy(a);
        jinja_val *b = and_expr(r, take);
        if (!b)
            return NULL;
        if (take)
            a = b;
    }
    return a;
}

/* Evaluate the whole of [p, end) as one expression. */
static jinja_val *full_expr(jinja_render *r, const char *p, const char *end, bool ev)
{
    r->p = p;
    r->end = end;
    jinja_val *v = expr(r, ev);
    skip_ws(r);
    if (v && r->p < r->end) {
        fail_here(r, "unexpected '%.*s'", (int)(r->end - r->p > 20 ? 20 : r->end - r->p), r->p);
        return NULL;
    }
    return v;
}

/* ---- cutting the template into nodes ---------------------------------------- */

static bool add_node(jinja_render *r, int kind, size_t off, size_t len)
{
    if (r->nnodes == r->capnodes) {
        size_t cap = r->capnodes ? r->capnodes * 2 : 64;
        node *n = realloc(r->nodes, cap * sizeof *n);
        if (!n)
            return false;
        r->nodes = n;
        r->capnodes = cap;
    }
    r->nodes[r->nnodes++] = (node){kind, off, len};
    return true;
}

static size_t find_close(const char *s, size_t n, size_t j, const char *close, bool strings)
{
    char q = 0;
    for (; j + 1 < n; j++) {
        if (q) {
            if (s[j] == '\\')
                j++;
            else if (s[j] == q)
                q = 0;
        } else if (strings && (s[j] == '\'' || s[j] == '"')) {
            q = s[j];
        } else if (s[j] == close[0] && s[j + 1] == close[1]) {
            return j;
        }
    }
    return n;
}

static bp_status tokenize(jinja_render *r)
{
    const char *s = r->src;
    size_t i = 0, text = 0;
    bool trim_next = false;
    while (i < r->n) {
        if (s[i] != '{' || i + 1 >= r->n || (s[i + 1] != '{' && s[i + 1] != '%' && s[i + 1] != '#')) {
            i++;
            continue;
        }
        char kind = s[i + 1];
        const char *close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
        size_t tag = i;
        bool trim_before = i + 2 < r->n && s[i + 2] == '-';
        size_t inner = i + 2 + trim_before;
        /* the closing mark, outside string literals; failing that, the
         * first one (the expression parser then names the open string) */
        size_t j = find_close(s, r->n, inner, close, kind != '#');
        if (j + 1 >= r->n)
            j = find_close(s, r->n, inner, close, false);
        if (j + 1 >= r->n) {
            r->p = s + tag;
            return fail_here(r, "'%.2s' is never closed with '%s'", s + tag, close);
        }
        bool trim_after = j > inner && s[j - 1] == '-';
        size_t inner_end = j - trim_after;
        /* the text before the tag, trimmed as the tags ask */
        size_t tb = text, te = tag;
        if (trim_next)
            while (tb < te && isspace((unsigned char)s[tb]))
                tb++;
        if (trim_before)
            while (te > tb && isspace((unsigned char)s[te - 1]))
                te--;
        if (te > tb && !add_node(r, N_TEXT, tb, te - tb))
            return fail_here(r, "out of memory");
        if (kind != '#' &&
            !add_node(r, kind == '{' ? N_EXPR : N_STMT, inner, inner_end - inner))
            return fail_here(r, "out of memory");
        i = text = j + 2;
        trim_next = trim_after;
    }
    size_t tb = text;
    if (trim_next)
        while (tb < r->n && isspace((unsigned char)s[tb]))
            tb++;
    if (r->n > tb && !add_node(r, N_TEXT, tb, r->n - tb))
        return fail_here(r, "out of memory");
    return BP_OK;
}

/* ---- executing nodes --------------------------------------------------------- */

/* The statement keyword of node k ("if", "endif", ...), into w. */
static void stmt_word(const jinja_render *r, size_t k, char *w, size_t wn)
{
    const node *nd = &r->nodes[k];
    const char *p = r->src + nd->off, *e = p + nd->len;
    while (p < e && isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p < e && is_ident(*p) && n + 1 < wn)
        w[n++] = *p++;
    w[n] = 0;
}

static bp_status exec_range(jinja_render *r, size_t from, size_t to, buf *out, bool ev);

/* Position after the statement keyword of node k. */
static const char *after_word(const jinja_render *r, size_t k)
{
    const char *p = r->src + r->nodes[k].off, *e = p + r->nodes[k].len;
    while (p < e && isspace((unsigned char)*p))
        p++;
    while (p < e && is_ident(*p))
        p++;
    return p;
}

/* An if block starting at node k: find its elif/else/endif and run the
 * branch whose condition holds. Sets *next to the node after endif. */
static bp_status exec_if(jinja_render *r, size_t k, size_t to, buf *out, bool ev, size_t *next)
{
    size_t branch[64], nb = 0, depth = 0, end = 0;
    branch[nb++] = k;
    char w[16];
    for (size_t i = k + 1; i < to && !end; i++) {
        if (r->nodes[i].kind != N_STMT)
            continue;
        stmt_word(r, i, w, sizeof w);
        if (strcmp(w, "if") == 0)
            depth++;
        else if (strcmp(w, "endif") == 0 && depth-- == 0)
            end = i;
        else if (depth == 0 && (strcmp(w, "elif") == 0 || strcmp(w, "else") == 0)) {
            if (nb == 64) {
                r->p = r->src + r->nodes[i].off;
                return fail_here(r, "too many elif branches");
            }
            branch[nb++] = i;
        }
    }
    if (!end) {
        r->p = r->src + r->nodes[k].off;
        return fail_here(r, "{%% if %%} without {%% endif %%}");
    }
    branch[nb] = end;
    bool done = !ev;
    for (size_t b = 0; b < nb; b++) {
        size_t s = branch[b];
        stmt_word(r, s, w, sizeof w);
        const node *nd = &r->nodes[s];
        bool take;
        if (strcmp(w, "else") == 0) {
            r->p = after_word(r, s);
            r->end = r->src + nd->off + nd->len;
            skip_ws(r);
            if (r->p < r->end)
                return fail_here(r, "{%% else %%} takes no condition");
            take = !done;
        } else {
            jinja_val *c = full_expr(r, after_word(r, s), r->src + nd->off + nd->len, !done);
            if (!c)
                return BP_EINPUT;
            take = !done && jinja_truthy(c);
        }
        if (exec_range(r, s + 1, branch[b + 1], out, take) != BP_OK)
            return BP_EINPUT;
        done = done || take;
    }
    *next = end + 1;
    return BP_OK;
}

static bp_status exec_set(jinja_render *r, size_t k, bool ev)
{
    const node *nd = &r->nodes[k];
    r->p = after_word(r, k);
    r->end = r->src + nd->off + nd->len;
    const char *name = ident(r);
    if (!name || !accept(r, "="))
        return fail_here(r, "expected {%% set name = value %%}");
    jinja_val *v = full_expr(r, r->p, r->end, ev);
    if (!v)
        return BP_EINPUT;
    if (!ev)
        return BP_OK;
    if (r->nvars == r->capvars) {
        size_t cap = r->capvars ? r->capvars * 2 : 16;
        var *nv = realloc(r->vars, cap * sizeof *nv);
        if (!nv)
            return fail_here(r, "out of memory");
        r->vars = nv;
        r->capvars = cap;
    }
    r->vars[r->nvars++] = (var){name, v};
    return BP_OK;
}

static bp_status exec_range_(jinja_render *r, size_t from, size_t to, buf *out, bool ev);

static bp_status exec_range(jinja_render *r, size_t from, size_t to, buf *out, bool ev)
{
    if (r->depth >= JINJA_MAX_DEPTH)
        return fail_here(r, "blocks nested deeper than %d levels", JINJA_MAX_DEPTH);
    r->depth++;
    bp_status st = exec_range_(r, from, to, out, ev);
    r->depth--;
    return st;
}

static bp_status exec_range_(jinja_render *r, size_t from, size_t to, buf *out, bool ev)
{
    char w[16];
    for (size_t k = from; k < to;) {
        const node *nd = &r->nodes[k];
        if (nd->kind == N_TEXT) {
            if (ev && buf_add(out, r->src + nd->off, nd->len))
                return fail_here(r, "out of memory");
            k++;
        } else if (nd->kind == N_EXPR) {
            jinja_val *v = full_expr(r, r->src + nd->off, r->src + nd->off + nd->len, ev);
            if (!v)
                return BP_EINPUT;
            if (ev && jinja_to_text(v, out))
                return fail_here(r, "out of memory");
            k++;
        } else {
            stmt_word(r, k, w, sizeof w);
            r->p = r->src + nd->off;
            r->end = r->p + nd->len;
            skip_ws(r); /* errors point at the keyword */
            if (strcmp(w, "if") == 0) {
                if (exec_if(r, k, to, out, ev, &k) != BP_OK)
                    return BP_EINPUT;
            } else if (strcmp(w, "set") == 0) {
                if (exec_set(r, k, ev) != BP_OK)
                    return BP_EINPUT;
                k++;
            } else if (!strcmp(w, "elif") || !strcmp(w, "else") || !strcmp(w, "endif")) {
                return fail_here(r, "{%% %s %%} without {%% if %%}", w);
            } else {
                return fail_here(r, "{%% %s %%} is not supported (supported: if, elif, else, "
                                 "endif, set)", w[0] ? w : "?");
            }
        }
    }
    return BP_OK;
}

bp_status jinja_render_text(const char *file, const char *src, size_t n, const jinja_env *env,
                            buf *out, bp_err *err)
{
    jinja_render r = {0};
    r.file = file;
    r.src = src;
    r.n = n;
    r.env = env;
    r.err = err;
    bp_status st = tokenize(&r);
    if (st == BP_OK)
        st = exec_range(&r, 0, r.nnodes, out, true);
    free(r.nodes);
    free(r.vars);
    arena_free(&r.mem);
    return st;
}
