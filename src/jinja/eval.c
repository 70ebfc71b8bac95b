/* eval.c: running a template's syntax tree.
 *
 * Scopes are a chain: a loop, a with block, a macro call each push one; a
 * macro's scope is a barrier, above which only the render's root (and the
 * host, through jinja_env.lookup) is seen, as Jinja's macros see the
 * template's globals and not their caller's locals. Values are made in the
 * render's arena. The tree is never written to, so one parsed template can
 * render on several threads at once, each with its own jinja_rt. */
#include "jinja_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CTL_NONE, CTL_BREAK, CTL_CONTINUE, CTL_RETURN };

/* ---- failure -------------------------------------------------------------------------- */

static bp_status vfail(jinja_rt *rt, const char *fmt, va_list ap)
{
    if (rt->failed)
        return BP_EINPUT;
    rt->failed = true;
    char msg[900];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (rt->err)
        bp_fail(rt->err, BP_EINPUT, "%s:%d:%d: %s", rt->file ? rt->file : "<template>", rt->line,
                rt->col, msg);
    return BP_EINPUT;
}

bp_status jinja_fail(jinja_rt *rt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp_status st = vfail(rt, fmt, ap);
    va_end(ap);
    return st;
}

static bp_status oom(jinja_rt *rt)
{
    if (!rt->failed) {
        rt->failed = true;
        if (rt->err)
            bp_fail(rt->err, BP_ENOMEM, "out of memory rendering %s", rt->file ? rt->file : "");
    }
    return BP_ENOMEM;
}

static void at(jinja_rt *rt, const jnode *n)
{
    rt->line = n->line;
    rt->col = n->col;
}

/* ---- the render ----------------------------------------------------------------------- */

jinja_rt *jinja_rt_new(const jinja_env *env)
{
    jinja_rt *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->env = env;
    rt->root = arena_alloc(&rt->mem, sizeof *rt->root);
    if (!rt->root) {
        free(rt);
        return NULL;
    }
    return rt;
}

void jinja_rt_free(jinja_rt *rt)
{
    if (!rt)
        return;
    arena_free(&rt->mem);
    free(rt);
}

arena *jinja_rt_arena(jinja_rt *rt) { return &rt->mem; }
void jinja_rt_set_data(jinja_rt *rt, void *data) { rt->data = data; }
void *jinja_rt_data(jinja_rt *rt) { return rt->data; }

static bool scope_set(jinja_rt *rt, scope *s, const char *name, jv *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            s->vals[i] = v;
            return true;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        const char **nn = arena_alloc(&rt->mem, cap * sizeof *nn);
        jv **vv = arena_alloc(&rt->mem, cap * sizeof *vv);
        if (!nn || !vv)
            return false;
        if (s->n) {
            memcpy(nn, s->names, s->n * sizeof *nn);
            memcpy(vv, s->vals, s->n * sizeof *vv);
        }
        s->names = nn;
        s->vals = vv;
        s->cap = cap;
    }
    s->names[s->n] = name;
    s->vals[s->n] = v;
    s->n++;
    return true;
}

bool jinja_rt_set(jinja_rt *rt, const char *name, jv *v)
{
    const char *c = arena_strndup(&rt->mem, name, strlen(name));
    return c && v && scope_set(rt, rt->root, c, v);
}

static scope *push_scope(jinja_rt *rt, scope *parent, bool barrier)
{
    scope *s = arena_alloc(&rt->mem, sizeof *s);
    if (s) {
        s->parent = parent;
        s->barrier = barrier;
    }
    return s;
}

/* The scope statements run in; a stack of them per render. */
typedef struct {
    jinja_rt *rt;
    scope *sc;
    jv *placeholder;    /* the text a filter block or set block filters */
} ctx;

/* The evaluator keeps its scope in a thread-local pointer: expressions see
 * the statements' scope without it threading through every call. */
static _Thread_local ctx *g_ctx;

static jv *find_in(scope *s, const char *name)
{
    for (; s; s = s->barrier ? NULL : s->parent)
        for (size_t i = s->n; i-- > 0;)
            if (!strcmp(s->names[i], name))
                return s->vals[i];
    return NULL;
}

static jv *lookup_from(jinja_rt *rt, scope *sc, const char *name)
{
    jv *v = find_in(sc, name);
    if (v)
        return v;
    if (sc != rt->root && (v = find_in(rt->root, name)))
        return v;
    if (rt->env && rt->env->lookup && rt->env->lookup(rt->env->ctx, rt, name, &v) && v)
        return v;
    if (rt->failed) /* the host refused the name, with its message */
        return NULL;
    if ((v = jinja_bi_global(rt, name)))
        return v;
    if (rt->env && rt->env->missing && rt->env->missing(rt->env->ctx, rt, name, &v) && v)
        return v;
    return jv_undef(&rt->mem, name);
}

jv *jinja_ev_lookup(jinja_rt *rt, const char *name) { return lookup_from(rt, rt->root, name); }

const jinja_tpl *jinja_rt_current_tpl(jinja_rt *rt)
{
    for (frame *f = rt->fr; f; f = f->up)
        if (f->macro && f->macro->tpl)
            return f->macro->tpl;
    return rt->tpl;
}

const char *jinja_rt_macro_name(jinja_rt *rt)
{
    for (frame *f = rt->fr; f; f = f->up)
        if (f->macro && strcmp(f->macro->name, "caller") != 0)
            return f->macro->name;
    return NULL;
}

static const char *undef_name(const jv *v) { return v->u.undef_name ? v->u.undef_name : "value"; }

bp_status jinja_ev_str(jinja_rt *rt, const jv *v, buf *out)
{
    if (v->type == JV_UNDEF) /* Jinja's Undefined (dbt's at run time) prints nothing */
        return BP_OK;
    if (v->type == JV_OBJ && v->u.obj.ops->str)
        return v->u.obj.ops->str(rt, v->u.obj.self, out) ? (rt->failed ? BP_EINPUT : oom(rt))
                                                          : BP_OK;
    return jv_to_str(v, out) ? oom(rt) : BP_OK;
}

/* ---- attribute and item access ---------------------------------------------------------- */

static jv *undef_attr(jinja_rt *rt, const jv *obj, const char *name)
{
    char nm[300];
    snprintf(nm, sizeof nm, "%s.%s",
             obj->type == JV_UNDEF ? undef_name(obj)
             : obj->type == JV_DICT ? "dict object"
             : obj->type == JV_NONE ? "None"
             : obj->type == JV_OBJ  ? obj->u.obj.ops->type_name
             : obj->type == JV_STR  ? "str object"
             : obj->type == JV_LIST ? "list object"
                                    : "value",
             name);
    return jv_undef(&rt->mem, nm);
}

jv *jinja_ev_getattr(jinja_rt *rt, jv *obj, const char *name)
{
    jv *v = NULL;
    switch (obj->type) {
    case JV_DICT:
        /* a namespace() holds attributes; a dict's methods come before its keys */
        if (obj->safe && (v = jv_dict_get(obj, name)))
            return v;
        if ((v = jinja_bi_method(rt, obj, name)))
            return v;
        if ((v = jv_dict_get(obj, name)))
            return v;
        break;
    case JV_OBJ:
        if (obj->u.obj.ops->getattr && (v = obj->u.obj.ops->getattr(rt, obj->u.obj.self, name)))
            return v;
        if (obj->u.obj.ops->getitem) {
            jv *k = jv_strz(&rt->mem, name);
            if (k && (v = obj->u.obj.ops->getitem(rt, obj->u.obj.self, k)))
                return v;
        }
        break;
    case JV_STR: case JV_LIST:
        if ((v = jinja_bi_method(rt, obj, name)))
            return v;
        break;
    case JV_MACRO:
        if (!strcmp(name, "name"))
            return jv_strz(&rt->mem, obj->u.mac.m->name);
        break;
    default:
        break;
    }
    return undef_attr(rt, obj, name);
}

static bp_status to_index(jinja_rt *rt, const jv *k, size_t n, size_t *out, bool *found)
{
    *found = false;
    if (k->type != JV_INT && k->type != JV_BOOL)
        return BP_OK;
    int64_t i = k->type == JV_INT ? k->u.i : k->u.b;
    if (i < 0)
        i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n)
        return BP_OK;
    *out = (size_t)i;
    *found = true;
    (void)rt;
    return BP_OK;
}

/* obj[key], falling back to an attribute for a string key (Jinja's
 * getitem), undefined when neither is there. */
static bp_status getitem(jinja_rt *rt, jv *obj, jv *key, jv **out)
{
    size_t i;
    bool found;
    if (obj->type == JV_UNDEF)
        return jinja_fail(rt, "'%s' is undefined", undef_name(obj));
    switch (obj->type) {
    case JV_DICT: {
        buf k = {0};
        if (key->type == JV_STR) {
            jv *v = jv_dict_get(obj, key->u.s.p);
            if (v) {
                *out = v;
                return BP_OK;
            }
        } else if (!jv_to_str(key, &k)) {
            jv *v = jv_dict_get(obj, k.p ? k.p : "");
            buf_free(&k);
            if (v) {
                *out = v;
                return BP_OK;
            }
        }
        buf_free(&k);
        break;
    }
    case JV_LIST:
        to_index(rt, key, obj->u.l.n, &i, &found);
        if (found) {
            *out = obj->u.l.items[i];
            return BP_OK;
        }
        break;
    case JV_STR:
        to_index(rt, key, obj->u.s.n, &i, &found);
        if (found) {
            *out = jv_str(&rt->mem, obj->u.s.p + i, 1);
            return *out ? BP_OK : oom(rt);
        }
        break;
    case JV_OBJ:
        if (obj->u.obj.ops->getitem && (*out = obj->u.obj.ops->getitem(rt, obj->u.obj.self, key)))
            return BP_OK;
        if (rt->failed)
            return BP_EINPUT;
        break;
    default:
        break;
    }
    if (key->type == JV_STR) {
        *out = jinja_ev_getattr(rt, obj, key->u.s.p);
        return *out ? BP_OK : oom(rt);
    }
    buf k = {0};
    *out = jv_repr(key, &k) ? NULL : undef_attr(rt, obj, k.p ? k.p : "?");
    buf_free(&k);
    return *out ? BP_OK : oom(rt);
}

/* Python's slice of a list or a string. */
static bp_status slice(jinja_rt *rt, jv *obj, jv *start, jv *stop, jv *step, jv **out)
{
    int64_t n;
    if (obj->type == JV_LIST)
        n = (int64_t)obj->u.l.n;
    else if (obj->type == JV_STR)
        n = (int64_t)obj->u.s.n;
    else
        return jinja_fail(rt, "cannot slice a value of this type");
    int64_t st = step && step->type == JV_INT ? step->u.i : 1;
    if (st == 0)
        return jinja_fail(rt, "slice step cannot be zero");
    int64_t lo, hi;
    if (st > 0) {
        lo = start && start->type == JV_INT ? start->u.i : 0;
        hi = stop && stop->type == JV_INT ? stop->u.i : n;
        if (lo < 0)
            lo += n;
        if (hi < 0)
            hi += n;
        lo = lo < 0 ? 0 : lo > n ? n : lo;
        hi = hi < 0 ? 0 : hi > n ? n : hi;
    } else {
        lo = start && start->type == JV_INT ? start->u.i : n - 1;
        hi = stop && stop->type == JV_INT ? stop->u.i : -n - 1;
        if (lo < 0)
            lo += n;
        if (hi < -1 || (stop && stop->type == JV_INT && stop->u.i < 0))
            hi += n;
        lo = lo < -1 ? -1 : lo >= n ? n - 1 : lo;
        hi = hi < -1 ? -1 : hi >= n ? n - 1 : hi;
    }
    if (obj->type == JV_STR) {
        buf b = {0};
        for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st)
            if (buf_addc(&b, obj->u.s.p[i])) {
                buf_free(&b);
                return oom(rt);
            }
        *out = jv_from_buf(&rt->mem, &b);
        buf_free(&b);
        return *out ? BP_OK : oom(rt);
    }
    jv *l = jv_list(&rt->mem, 0);
    if (!l)
        return oom(rt);
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st)
        if (!jv_list_push(&rt->mem, l, obj->u.l.items[i]))
            return oom(rt);
    l->tuple = obj->tuple;
    *out = l;
    return BP_OK;
}

bp_status jinja_ev_iter(jinja_rt *rt, const jv *v, jv ***items, size_t *n)
{
    switch (v->type) {
    case JV_LIST:
        *items = v->u.l.items;
        *n = v->u.l.n;
        return BP_OK;
    case JV_DICT: {
        size_t k = jv_dict_len(v);
        jv **it = k ? arena_alloc(&rt->mem, k * sizeof *it) : NULL;
        if (k && !it)
            return oom(rt);
        for (size_t i = 0; i < k; i++)
            if (!(it[i] = jv_strz(&rt->mem, jv_dict_key(v, i))))
                return oom(rt);
        *items = it;
        *n = k;
        return BP_OK;
    }
    case JV_STR: {
        /* characters: UTF-8 sequences */
        size_t cnt = 0;
        jv **it = arena_alloc(&rt->mem, (v->u.s.n + 1) * sizeof *it);
        if (!it)
            return oom(rt);
        for (size_t i = 0; i < v->u.s.n;) {
            unsigned char c = (unsigned char)v->u.s.p[i];
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (i + len > v->u.s.n)
                len = v->u.s.n - i;
            if (!(it[cnt++] = jv_str(&rt->mem, v->u.s.p + i, len)))
                return oom(rt);
            i += len;
        }
        *items = it;
        *n = cnt;
        return BP_OK;
    }
    case JV_OBJ:
        if (v->u.obj.ops->iter)
            return v->u.obj.ops->iter(rt, v->u.obj.self, items, n);
        return jinja_fail(rt, "'%s' object is not iterable", v->u.obj.ops->type_name);
    case JV_UNDEF: /* iterates as empty, as Jinja's Undefined does */
        *items = NULL;
        *n = 0;
        return BP_OK;
    case JV_NONE:
        return jinja_fail(rt, "'NoneType' object is not iterable");
    default:
        return jinja_fail(rt, "this value is not iterable");
    }
}

/* ---- operators ------------------------------------------------------------------------ */


/* An operator one of whose operands is a host object that defines it. */
static bool obj_binop(jinja_rt *rt, jv_op op, jv *a, jv *b, jv **out, bp_status *st)
{
    const jv *objs[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (objs[i]->type == JV_OBJ && objs[i]->u.obj.ops->binop &&
            objs[i]->u.obj.ops->binop(rt, op, a, b, out, st))
            return true;
    return false;
}

static bp_status binary(jinja_rt *rt, bin_op op, jv *a, jv *b, jv **out)
{
    arena *m = &rt->mem;
    bp_status ost;
    if ((a->type == JV_OBJ || b->type == JV_OBJ) && obj_binop(rt, (jv_op)op, a, b, out, &ost))
        return ost;
    if (op == OP_CONCAT) {
        buf s = {0};
        bool ok = (a->type == JV_UNDEF || !jinja_ev_str(rt, a, &s)) &&
                  (b->type == JV_UNDEF || !jinja_ev_str(rt, b, &s));
        *out = ok ? jv_from_buf(m, &s) : NULL;
        buf_free(&s);
        return *out ? BP_OK : (rt->failed ? BP_EINPUT : oom(rt));
    }
    if (a->type == JV_UNDEF || b->type == JV_UNDEF)
        return jinja_fail(rt, "'%s' is undefined", undef_name(a->type == JV_UNDEF ? a : b));
    if (op == OP_MOD && a->type == JV_STR)
        return jinja_ev_percent(rt, a, b, out);
    if (jv_is_num(a) && jv_is_num(b)) {
        bool ints = a->type != JV_FLOAT && b->type != JV_FLOAT;
        int64_t x = a->type == JV_INT ? a->u.i : a->type == JV_BOOL ? a->u.b : 0,
                y = b->type == JV_INT ? b->u.i : b->type == JV_BOOL ? b->u.b : 0;
        double fx = jv_num(a), fy = jv_num(b);
        int64_t r;
        switch (op) {
        case OP_ADD:
            if (ints && !__builtin_add_overflow(x, y, &r))
                return (*out = jv_int(m, r)) ? BP_OK : oom(rt);
            return (*out = jv_float(m, fx + fy)) ? BP_OK : oom(rt);
        case OP_SUB:
            if (ints && !__builtin_sub_overflow(x, y, &r))
                return (*out = jv_int(m, r)) ? BP_OK : oom(rt);
            return (*out = jv_float(m, fx - fy)) ? BP_OK : oom(rt);
        case OP_MUL:
            if (ints && !__builtin_mul_overflow(x, y, &r))
                return (*out = jv_int(m, r)) ? BP_OK : oom(rt);
            return (*out = jv_float(m, fx * fy)) ? BP_OK : oom(rt);
        case OP_DIV:
            if (fy == 0)
                return jinja_fail(rt, "division by zero");
            return (*out = jv_float(m, fx / fy)) ? BP_OK : oom(rt);
        case OP_FLOORDIV:
            if (fy == 0)
                return jinja_fail(rt, "integer division or modulo by zero");
            if (ints) {
                int64_t q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0)))
                    q--;
                return (*out = jv_int(m, q)) ? BP_OK : oom(rt);
            }
            return (*out = jv_float(m, floor(fx / fy))) ? BP_OK : oom(rt);
        case OP_MOD:
            if (fy == 0)
                return jinja_fail(rt, "integer division or modulo by zero");
            if (ints) {
                int64_t md = x % y;
                if (md != 0 && ((md < 0) != (y < 0)))
                    md += y;
                return (*out = jv_int(m, md)) ? BP_OK : oom(rt);
            }
            {
                double md = fmod(fx, fy);
                if (md != 0 && ((md < 0) != (fy < 0)))
                    md += fy;
                return (*out = jv_float(m, md)) ? BP_OK : oom(rt);
            }
        case OP_POW:
            if (ints && y >= 0) { /* by squaring: 1 ** 10**18 is 60 steps, not 10**18 */
                int64_t acc = 1, base = x;
                uint64_t e = (uint64_t)y;
                bool over = false;
                while (e && !over) {
                    if (e & 1)
                        over = __builtin_mul_overflow(acc, base, &acc);
                    e >>= 1;
                    if (e && !over)
                        over = __builtin_mul_overflow(base, base, &base);
                }
                if (!over)
                    return (*out = jv_int(m, acc)) ? BP_OK : oom(rt);
            }
            return (*out = jv_float(m, pow(fx, fy))) ? BP_OK : oom(rt);
        default:
            break;
        }
    }
    if (op == OP_ADD && a->type == JV_STR && b->type == JV_STR) {
        buf s = {0};
        bool ok = !buf_add(&s, a->u.s.p, a->u.s.n) && !buf_add(&s, b->u.s.p, b->u.s.n);
        *out = ok ? jv_from_buf(m, &s) : NULL;
        buf_free(&s);
        return *out ? BP_OK : oom(rt);
    }
    if (op == OP_ADD && a->type == JV_LIST && b->type == JV_LIST) {
        jv *l = jv_list(m, a->u.l.n + b->u.l.n);
        if (!l)
            return oom(rt);
        for (size_t i = 0; i < a->u.l.n; i++)
            jv_list_push(m, l, a->u.l.items[i]);
        for (size_t i = 0; i < b->u.l.n; i++)
            jv_list_push(m, l, b->u.l.items[i]);
        l->tuple = a->tuple && b->tuple;
        *out = l;
        return BP_OK;
    }
    if (op == OP_MUL && ((a->type == JV_STR || a->type == JV_LIST) && b->type == JV_INT)) {
        int64_t k = b->u.i < 0 ? 0 : b->u.i;
        size_t unit = a->type == JV_STR ? a->u.s.n : a->u.l.n;
        if (unit && (uint64_t)k > (a->type == JV_STR ? JINJA_MAX_TEXT : JINJA_MAX_ITEMS) / unit)
            return jinja_fail(rt, "repeating this %lld times makes a value too large",
                              (long long)k);
        if (a->type == JV_STR) {
            /* One reservation and doubling copies: a long repeat is a few
             * memcpy calls, not k small appends. */
            size_t total = unit * (size_t)k;
            buf s = {0};
            bool ok = !buf_reserve(&s, total + 1) && !buf_add(&s, a->u.s.p, k ? unit : 0);
            while (ok && s.len < total) {
                size_t n = s.len < total - s.len ? s.len : total - s.len;
                ok = !buf_add(&s, s.p, n);
            }
            *out = ok ? jv_from_buf(m, &s) : NULL;
            buf_free(&s);
            return *out ? BP_OK : oom(rt);
        }
        jv *l = jv_list(m, unit * (size_t)k);
        for (int64_t i = 0; l && i < k; i++)
            for (size_t j = 0; j < a->u.l.n; j++)
                if (!jv_list_push(m, l, a->u.l.items[j]))
                    return oom(rt);
        *out = l;
        return l ? BP_OK : oom(rt);
    }
    if (op == OP_MUL && a->type == JV_INT && (b->type == JV_STR || b->type == JV_LIST))
        return binary(rt, op, b, a, out);
    static const char *const names[] = {"+", "-", "*", "/", "//", "%", "**", "~"};
    return jinja_fail(rt, "unsupported operand types for %s", names[op]);
}

/* "text %s %d" % args: Python's printf-style formatting. */
bp_status jinja_ev_percent(jinja_rt *rt, const jv *fmt, const jv *args, jv **out)
{
    const jv *const *av = &args;
    size_t an = 1, ai = 0;
    if (args->type == JV_LIST && args->tuple) {
        av = (const jv *const *)args->u.l.items;
        an = args->u.l.n;
    }
    buf o = {0};
    const char *p = fmt->u.s.p, *e = p + fmt->u.s.n;
    bp_status st = BP_OK;
    while (p < e && st == BP_OK) {
        if (*p != '%') {
            st = buf_addc(&o, *p++) ? oom(rt) : BP_OK;
            continue;
        }
        p++;
        if (p < e && *p == '%') {
            st = buf_addc(&o, '%') ? oom(rt) : BP_OK;
            p++;
            continue;
        }
        const jv *arg = NULL;
        if (p < e && *p == '(' && args->type == JV_DICT) { /* %(name)s */
            const char *q = memchr(p, ')', (size_t)(e - p));
            if (!q) {
                st = jinja_fail(rt, "incomplete format key");
                break;
            }
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(q - p - 1), p + 1);
            arg = jv_dict_get(args, key);
            p = q + 1;
        }
        char spec[32];
        size_t k = 0;
        spec[k++] = '%';
        while (p < e && strchr("-+ #0123456789.", *p) && k < 20)
            spec[k++] = *p++;
        if (p >= e) {
            st = jinja_fail(rt, "incomplete format");
            break;
        }
        char conv = *p++;
        if (!arg) {
            if (ai >= an) {
                st = jinja_fail(rt, "not enough arguments for format string");
                break;
            }
            arg = av[ai++];
        }
        if (conv == 's' || conv == 'r') {
            buf t = {0};
            st = conv == 's' ? jinja_ev_str(rt, arg, &t) : (jv_repr(arg, &t) ? oom(rt) : BP_OK);
            if (st == BP_OK) {
                spec[k++] = 's';
                spec[k] = 0;
                st = buf_printf(&o, spec, t.p ? t.p : "") ? oom(rt) : BP_OK;
            }
            buf_free(&t);
        } else if (strchr("dixXo", conv) && jv_is_num(arg)) {
            spec[k++] = 'l';
            spec[k++] = 'l';
            spec[k++] = conv == 'i' ? 'd' : conv;
            spec[k] = 0;
            st = buf_printf(&o, spec, (long long)jv_num(arg)) ? oom(rt) : BP_OK;
        } else if (strchr("feEgG", conv) && jv_is_num(arg)) {
            spec[k++] = conv;
            spec[k] = 0;
            st = buf_printf(&o, spec, jv_num(arg)) ? oom(rt) : BP_OK;
        } else
            st = jinja_fail(rt, "unsupported format %%%c for this value", conv);
    }
    if (st == BP_OK && ai < an && args->type == JV_LIST && args->tuple)
        st = jinja_fail(rt, "not all arguments converted during string formatting");
    *out = st == BP_OK ? jv_from_buf(&rt->mem, &o) : NULL;
    buf_free(&o);
    return st == BP_OK && !*out ? oom(rt) : st;
}

bp_status jinja_ev_contains(jinja_rt *rt, jv *needle, jv *hay, bool *out)
{
    switch (hay->type) {
    case JV_LIST:
        *out = false;
        for (size_t i = 0; i < hay->u.l.n && !*out; i++)
            *out = jv_equal(needle, hay->u.l.items[i]);
        return BP_OK;
    case JV_DICT:
        if (needle->type != JV_STR) {
            *out = false;
            return BP_OK;
        }
        *out = jv_dict_get(hay, needle->u.s.p) != NULL;
        return BP_OK;
    case JV_STR:
        if (needle->type != JV_STR)
            return jinja_fail(rt, "'in <string>' requires a string on the left");
        *out = needle->u.s.n == 0 ||
               memmem(hay->u.s.p, hay->u.s.n, needle->u.s.p, needle->u.s.n) != NULL;
        return BP_OK;
    case JV_UNDEF:
        *out = false;
        return BP_OK;
    case JV_OBJ: /* a host object one can loop over (an agate column): its items */
        if (jv_is_iterable(hay)) {
            jv **items;
            size_t n;
            if (jinja_iter(rt, hay, &items, &n) != BP_OK)
                return BP_EINPUT;
            *out = false;
            for (size_t i = 0; i < n && !*out; i++)
                *out = jv_equal(needle, items[i]);
            return BP_OK;
        }
        return jinja_fail(rt, "the right side of 'in' is not a container");
    default:
        return jinja_fail(rt, "the right side of 'in' is not a container");
    }
}

static bp_status compare(jinja_rt *rt, cmp_op op, jv *a, jv *b, bool *out)
{
    if (op == CMP_IN || op == CMP_NOTIN) {
        bp_status st = jinja_ev_contains(rt, a, b, out);
        if (op == CMP_NOTIN)
            *out = !*out;
        return st;
    }
    if (op == CMP_EQ || op == CMP_NE) {
        *out = jv_equal(a, b) == (op == CMP_EQ);
        return BP_OK;
    }
    if (a->type == JV_OBJ || b->type == JV_OBJ) { /* dates compare through their object */
        static const jv_op ops[] = {[CMP_LT] = JV_OP_LT, [CMP_LE] = JV_OP_LE, [CMP_GT] = JV_OP_GT,
                                    [CMP_GE] = JV_OP_GE};
        jv *r;
        bp_status st;
        if (obj_binop(rt, ops[op], a, b, &r, &st)) {
            if (st == BP_OK)
                *out = jv_truthy(r);
            return st;
        }
    }
    bool ok;
    int c = jv_cmp(a, b, &ok);
    if (!ok)
        return jinja_fail(rt, "'%s' is not supported between these values",
                          op == CMP_LT ? "<" : op == CMP_LE ? "<=" : op == CMP_GT ? ">" : ">=");
    *out = op == CMP_LT ? c < 0 : op == CMP_LE ? c <= 0 : op == CMP_GT ? c > 0 : c >= 0;
    return BP_OK;
}

/* ---- calls ---------------------------------------------------------------------------- */

jv *jinja_arg(const jv_args *a, size_t i, const char *kw)
{
    if (kw)
        for (size_t k = 0; k < a->nkw; k++)
            if (!strcmp(a->kw_names[k], kw))
                return a->kw[k];
    return i < a->npos ? a->pos[i] : NULL;
}

static bp_status eval_args(ctx *c, const call_args *ca, jv_args *out)
{
    jinja_rt *rt = c->rt;
    size_t npos = ca->npos, nkw = ca->nkw;
    jv *star = NULL, *starstar = NULL;
    if (ca->star && jinja_ev_expr(rt, ca->star, &star))
        return BP_EINPUT;
    if (ca->starstar && jinja_ev_expr(rt, ca->starstar, &starstar))
        return BP_EINPUT;
    if (star && star->type != JV_LIST)
        return jinja_fail(rt, "*args wants a list");
    if (starstar && starstar->type != JV_DICT)
        return jinja_fail(rt, "**kwargs wants a dict");
    size_t tp = npos + (star ? star->u.l.n : 0), tk = nkw + (starstar ? jv_dict_len(starstar) : 0);
    out->pos = tp ? arena_alloc(&rt->mem, tp * sizeof *out->pos) : NULL;
    out->kw = tk ? arena_alloc(&rt->mem, tk * sizeof *out->kw) : NULL;
    out->kw_names = tk ? arena_alloc(&rt->mem, tk * sizeof *out->kw_names) : NULL;
    if ((tp && !out->pos) || (tk && (!out->kw || !out->kw_names)))
        return oom(rt);
    out->npos = out->nkw = 0;
    for (size_t i = 0; i < npos; i++)
        if (jinja_ev_expr(rt, ca->pos[i], &out->pos[out->npos++]))
            return BP_EINPUT;
    for (size_t i = 0; star && i < star->u.l.n; i++)
        out->pos[out->npos++] = star->u.l.items[i];
    for (size_t i = 0; i < nkw; i++) {
        out->kw_names[out->nkw] = ca->kw_names[i];
        if (jinja_ev_expr(rt, ca->kw[i], &out->kw[out->nkw++]))
            return BP_EINPUT;
    }
    for (size_t i = 0; starstar && i < jv_dict_len(starstar); i++) {
        out->kw_names[out->nkw] = jv_dict_key(starstar, i);
        out->kw[out->nkw++] = jv_dict_val(starstar, i);
    }
    return BP_OK;
}

static bp_status render_body(ctx *c, const jnode *body, buf *out);

/* Call a macro: its parameters bound in a scope of its own (a barrier),
 * varargs/kwargs/caller when it uses them; the value is its text, or
 * what return() gave. */
static bp_status call_macro(jinja_rt *rt, jv *mv, const jv_args *a, jv *caller, jv **out)
{
    jinja_macro *m = mv->u.mac.m;
    if (caller && !m->uses_caller)
        return jinja_fail(rt, "macro '%s' takes no keyword argument 'caller'", m->name);
    if (rt->calls >= JINJA_MAX_CALLS)
        return jinja_fail(rt, "macro calls nested deeper than %d (endless recursion in '%s'?)",
                          JINJA_MAX_CALLS, m->name);
    scope *parent = mv->u.mac.closure;
    scope *s = push_scope(rt, parent ? parent : rt->root, parent == NULL);
    if (!s)
        return oom(rt);
    size_t np = m->nparams;
    jv *varargs = NULL, *kwargs = NULL;
    if (a->npos > np) {
        if (!m->uses_varargs)
            return jinja_fail(rt, "macro '%s' takes not more than %zu argument(s)", m->name, np);
        if (!(varargs = jv_list(&rt->mem, a->npos - np)))
            return oom(rt);
        varargs->tuple = true;
        for (size_t i = np; i < a->npos; i++)
            jv_list_push(&rt->mem, varargs, a->pos[i]);
    }
    for (size_t i = 0; i < np; i++) {
        jv *v = i < a->npos ? a->pos[i] : NULL;
        for (size_t k = 0; k < a->nkw; k++)
            if (!strcmp(a->kw_names[k], m->params[i].name)) {
                if (v && i < a->npos)
                    return jinja_fail(rt, "macro '%s' got multiple values for argument '%s'",
                                      m->name, m->params[i].name);
                v = a->kw[k];
            }
        if (!v && m->params[i].dflt) {
            /* defaults are evaluated in the macro's scope, as it starts */
            ctx dc = {rt, s, NULL};
            ctx *saved = g_ctx;
            const char *f = rt->file;
            g_ctx = &dc;
            rt->file = m->file;
            bp_status st = jinja_ev_expr(rt, m->params[i].dflt, &v);
            rt->file = f;
            g_ctx = saved;
            if (st)
                return st;
        }
        if (!v && !(v = jv_undef(&rt->mem, m->params[i].name)))
            return oom(rt);
        if (!scope_set(rt, s, m->params[i].name, v))
            return oom(rt);
    }
    for (size_t k = 0; k < a->nkw; k++) {
        bool known = false;
        for (size_t i = 0; i < np && !known; i++)
            known = !strcmp(a->kw_names[k], m->params[i].name);
        if (known)
            continue;
        if (!strcmp(a->kw_names[k], "caller") && !caller) {
            caller = a->kw[k];
            continue;
        }
        if (!m->uses_kwargs)
            return jinja_fail(rt, "macro '%s' takes no keyword argument '%s'", m->name,
                              a->kw_names[k]);
        if (!kwargs && !(kwargs = jv_dict_new(&rt->mem)))
            return oom(rt);
        if (!jv_dict_set(&rt->mem, kwargs, a->kw_names[k], a->kw[k]))
            return oom(rt);
    }
    if (!varargs && !(varargs = jv_list(&rt->mem, 0)))
        return oom(rt);
    varargs->tuple = true;
    if (!kwargs && !(kwargs = jv_dict_new(&rt->mem)))
        return oom(rt);
    if (!scope_set(rt, s, "varargs", varargs) || !scope_set(rt, s, "kwargs", kwargs) ||
        (caller && !scope_set(rt, s, "caller", caller)))
        return oom(rt);
    frame fr = {rt->fr, m, caller, NULL};
    rt->fr = &fr;
    rt->calls++;
    const char *f = rt->file;
    int line = rt->line, col = rt->col;
    rt->file = m->file;
    buf body = {0};
    ctx c = {rt, s, NULL};
    bp_status st = render_body(&c, m->body, &body);
    if (rt->loop_ctl == CTL_RETURN)
        rt->loop_ctl = CTL_NONE;
    rt->file = f;
    rt->line = line;
    rt->col = col;
    rt->calls--;
    rt->fr = fr.up;
    if (st == BP_OK) {
        *out = fr.ret ? fr.ret : jv_from_buf(&rt->mem, &body);
        if (!*out)
            st = oom(rt);
        else if (!fr.ret)
            (*out)->safe = true;
    }
    buf_free(&body);
    return st;
}

bp_status jinja_ev_call_value(jinja_rt *rt, jv *fn, const jv_args *a, jv **out)
{
    switch (fn->type) {
    case JV_MACRO:
        return call_macro(rt, fn, a, NULL, out);
    case JV_FUNC: {
        bp_status st = fn->u.fn.fn(rt, fn->u.fn.data, a, out);
        if (st == BP_OK && !*out)
            return oom(rt);
        if (st != BP_OK && !rt->failed)
            return jinja_fail(rt, "%s() failed", fn->u.fn.name ? fn->u.fn.name : "function");
        return st;
    }
    case JV_OBJ:
        if (fn->u.obj.ops->call) {
            bp_status st = fn->u.obj.ops->call(rt, fn->u.obj.self, a, out);
            if (st != BP_OK && !rt->failed)
                return jinja_fail(rt, "calling %s failed", fn->u.obj.ops->type_name);
            return st;
        }
        return jinja_fail(rt, "'%s' object is not callable", fn->u.obj.ops->type_name);
    case JV_UNDEF:
        return jinja_fail(rt, "'%s' is undefined", undef_name(fn));
    default:
        return jinja_fail(rt, "this value is not callable");
    }
}

bp_status jinja_call(jinja_rt *rt, jv *fn, const jv_args *a, jv **out, bp_err *err)
{
    bp_err *saved = rt->err;
    if (err)
        rt->err = err;
    rt->failed = false;
    static const jv_args none = {0, 0, NULL, NULL, NULL};
    bp_status st = jinja_ev_call_value(rt, fn, a ? a : &none, out);
    rt->err = saved;
    return st;
}

bp_status jinja_return(jinja_rt *rt, jv *v)
{
    if (!rt->fr)
        return jinja_fail(rt, "return() outside of a macro");
    rt->fr->ret = v;
    rt->loop_ctl = CTL_RETURN;
    return BP_OK;
}

jv *jinja_macro_value(jinja_rt *rt, jinja_macro *m)
{
    jv *v = arena_alloc(&rt->mem, sizeof *v);
    if (v) {
        v->type = JV_MACRO;
        v->u.mac.m = m;
    }
    return v;
}

/* ---- expressions ---------------------------------------------------------------------- */


static bp_status filter_apply(jinja_rt *rt, const jnode *n, jv *v, jv **out)
{
    jv_args a = {0, 0, NULL, NULL, NULL};
    if (n->u.filter.has_args && eval_args(g_ctx, &n->u.filter.args, &a))
        return BP_EINPUT;
    at(rt, n);
    const char *name = n->u.filter.name;
    bp_status st;
    if (rt->env && rt->env->filter && rt->env->filter(rt->env->ctx, rt, name, v, &a, out, &st))
        return st;
    return jinja_bi_filter(rt, name, v, &a, out);
}

static bp_status expr_(jinja_rt *rt, const jnode *n, jv **out);

bp_status jinja_ev_expr(jinja_rt *rt, const jnode *n, jv **out)
{
    if (rt->depth >= JINJA_MAX_EVAL_DEPTH)
        return jinja_fail(rt, "nested deeper than %d levels", JINJA_MAX_EVAL_DEPTH);
    rt->depth++;
    bp_status st = expr_(rt, n, out);
    rt->depth--;
    return st;
}

static bp_status build_seq(jinja_rt *rt, const jnode *n, bool tuple, jv **out)
{
    jv *l = jv_list(&rt->mem, n->u.seq.n);
    if (!l)
        return oom(rt);
    l->tuple = tuple;
    for (size_t i = 0; i < n->u.seq.n; i++) {
        jv *x;
        if (jinja_ev_expr(rt, n->u.seq.items[i], &x))
            return BP_EINPUT;
        if (!jv_list_push(&rt->mem, l, x))
            return oom(rt);
    }
    *out = l;
    return BP_OK;
}

static bp_status build_dict(jinja_rt *rt, const jnode *n, jv **out)
{
    jv *d = jv_dict_new(&rt->mem);
    if (!d)
        return oom(rt);
    for (size_t i = 0; i < n->u.dict.n; i++) {
        jv *k, *v;
        if (jinja_ev_expr(rt, n->u.dict.keys[i], &k) || jinja_ev_expr(rt, n->u.dict.vals[i], &v))
            return BP_EINPUT;
        buf kb = {0};
        if (k->type == JV_UNDEF)
            return jinja_fail(rt, "'%s' is undefined", undef_name(k));
        if (jv_to_str(k, &kb) || !jv_dict_set(&rt->mem, d, kb.p ? kb.p : "", v)) {
            buf_free(&kb);
            return oom(rt);
        }
        buf_free(&kb);
    }
    *out = d;
    return BP_OK;
}

static bp_status expr_(jinja_rt *rt, const jnode *n, jv **out)
{
    at(rt, n);
    jv *a, *b;
    switch (n->kind) {
    case E_CONST:
        *out = n->u.cval ? n->u.cval : g_ctx->placeholder;
        return *out ? BP_OK : jinja_fail(rt, "internal: no value for a filter block");
    case E_NAME:
        *out = lookup_from(rt, g_ctx->sc, n->u.name);
        return *out ? BP_OK : rt->failed ? BP_EINPUT : oom(rt);
    case E_LIST:
        return build_seq(rt, n, false, out);
    case E_TUPLE:
        return build_seq(rt, n, true, out);
    case E_DICT:
        return build_dict(rt, n, out);
    case E_ATTR:
        if (jinja_ev_expr(rt, n->u.attr.obj, &a))
            return BP_EINPUT;
        at(rt, n);
        if (a->type == JV_UNDEF)
            return jinja_fail(rt, "'%s' is undefined", undef_name(a));
        *out = jinja_ev_getattr(rt, a, n->u.attr.name);
        return *out ? BP_OK : (rt->failed ? BP_EINPUT : oom(rt));
    case E_ITEM:
        if (jinja_ev_expr(rt, n->u.item.obj, &a) || jinja_ev_expr(rt, n->u.item.key, &b))
            return BP_EINPUT;
        at(rt, n);
        return getitem(rt, a, b, out);
    case E_SLICE: {
        jv *s1 = NULL, *s2 = NULL, *s3 = NULL;
        if (jinja_ev_expr(rt, n->u.slice.obj, &a) ||
            (n->u.slice.start && jinja_ev_expr(rt, n->u.slice.start, &s1)) ||
            (n->u.slice.stop && jinja_ev_expr(rt, n->u.slice.stop, &s2)) ||
            (n->u.slice.step && jinja_ev_expr(rt, n->u.slice.step, &s3)))
            return BP_EINPUT;
        at(rt, n);
        if (a->type == JV_UNDEF)
            return jinja_fail(rt, "'%s' is undefined", undef_name(a));
        return slice(rt, a, s1, s2, s3, out);
    }
    case E_CALL: {
        jv_args args;
        if (jinja_ev_expr(rt, n->u.call.fn, &a) || eval_args(g_ctx, &n->u.call.args, &args))
            return BP_EINPUT;
        at(rt, n);
        return jinja_ev_call_value(rt, a, &args, out);
    }
    case E_FILTER:
        if (jinja_ev_expr(rt, n->u.filter.obj, &a))
            return BP_EINPUT;
        return filter_apply(rt, n, a, out);
    case E_TEST: {
        jv_args args = {0, 0, NULL, NULL, NULL};
        if (jinja_ev_expr(rt, n->u.test.obj, &a) || eval_args(g_ctx, &n->u.test.args, &args))
            return BP_EINPUT;
        at(rt, n);
        bool r;
        if (jinja_bi_test(rt, n->u.test.name, a, &args, &r))
            return BP_EINPUT;
        *out = jv_bool(&rt->mem, n->u.test.negate ? !r : r);
        return *out ? BP_OK : oom(rt);
    }
    case E_NOT:
        if (jinja_ev_expr(rt, n->u.operand, &a))
            return BP_EINPUT;
        *out = jv_bool(&rt->mem, !jv_truthy(a));
        return *out ? BP_OK : oom(rt);
    case E_NEG: case E_POS:
        if (jinja_ev_expr(rt, n->u.operand, &a))
            return BP_EINPUT;
        at(rt, n);
        if (!jv_is_num(a))
            return jinja_fail(rt, "bad operand type for unary %c", n->kind == E_NEG ? '-' : '+');
        if (n->kind == E_POS)
            *out = a;
        else
            *out = a->type == JV_FLOAT ? jv_float(&rt->mem, -a->u.f)
                   : a->type == JV_INT && a->u.i == INT64_MIN ? jv_float(&rt->mem, -(double)INT64_MIN)
                   : jv_int(&rt->mem, -(a->type == JV_INT ? a->u.i : a->u.b));
        return *out ? BP_OK : oom(rt);
    case E_BIN:
        if (jinja_ev_expr(rt, n->u.bin.l, &a) || jinja_ev_expr(rt, n->u.bin.r, &b))
            return BP_EINPUT;
        at(rt, n);
        return binary(rt, n->u.bin.op, a, b, out);
    case E_AND:
        if (jinja_ev_expr(rt, n->u.logic.l, &a))
            return BP_EINPUT;
        if (!jv_truthy(a)) {
            *out = a;
            return BP_OK;
        }
        return jinja_ev_expr(rt, n->u.logic.r, out);
    case E_OR:
        if (jinja_ev_expr(rt, n->u.logic.l, &a))
            return BP_EINPUT;
        if (jv_truthy(a)) {
            *out = a;
            return BP_OK;
        }
        return jinja_ev_expr(rt, n->u.logic.r, out);
    case E_COND:
        if (jinja_ev_expr(rt, n->u.cond.cond, &a))
            return BP_EINPUT;
        if (jv_truthy(a))
            return jinja_ev_expr(rt, n->u.cond.then, out);
        if (n->u.cond.other)
            return jinja_ev_expr(rt, n->u.cond.other, out);
        *out = jv_undef(&rt->mem, "the else of an inline if");
        return *out ? BP_OK : oom(rt);
    case E_CMP: {
        if (jinja_ev_expr(rt, n->u.cmp.operands[0], &a))
            return BP_EINPUT;
        bool r = true;
        for (size_t i = 0; i < n->u.cmp.n && r; i++) {
            if (jinja_ev_expr(rt, n->u.cmp.operands[i + 1], &b))
                return BP_EINPUT;
            at(rt, n);
            if (compare(rt, n->u.cmp.ops[i], a, b, &r))
                return BP_EINPUT;
            a = b;
        }
        *out = jv_bool(&rt->mem, r);
        return *out ? BP_OK : oom(rt);
    }
    default:
        return jinja_fail(rt, "internal: not an expression");
    }
}

/* ---- statements ----------------------------------------------------------------------- */

/* The loop variable: index, index0, revindex, revindex0, first, last,
 * length, previtem, nextitem, depth, depth0, cycle(), changed(), and
 * loop(items) for a recursive loop. */
typedef struct {
    jv **items;
    size_t i, n;
    int depth;
    const jnode *node;   /* S_FOR, for loop(...) */
    ctx *c;
    buf *out;
    jv *last_changed;
} loop_state;

static jv *loop_getattr(jinja_rt *rt, void *self, const char *name);
static bp_status loop_call(jinja_rt *rt, void *self, const jv_args *a, jv **out);
static const jv_obj_ops loop_ops = {"LoopContext", loop_getattr, NULL, loop_call, NULL, NULL, NULL, 0, NULL};

static bp_status loop_cycle(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    loop_state *ls = data;
    if (!a->npos)
        return jinja_fail(rt, "loop.cycle() wants at least one value");
    *out = a->pos[ls->i % a->npos];
    return BP_OK;
}

static bp_status loop_changed(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    loop_state *ls = data;
    jv *now = jv_list(&rt->mem, a->npos);
    if (!now)
        return oom(rt);
    for (size_t i = 0; i < a->npos; i++)
        jv_list_push(&rt->mem, now, a->pos[i]);
    bool changed = !ls->last_changed || !jv_equal(ls->last_changed, now);
    ls->last_changed = now;
    *out = jv_bool(&rt->mem, changed);
    return *out ? BP_OK : oom(rt);
}

static jv *loop_getattr(jinja_rt *rt, void *self, const char *name)
{
    loop_state *ls = self;
    arena *m = &rt->mem;
    int64_t i = (int64_t)ls->i, n = (int64_t)ls->n;
    if (!strcmp(name, "index"))
        return jv_int(m, i + 1);
    if (!strcmp(name, "index0"))
        return jv_int(m, i);
    if (!strcmp(name, "revindex"))
        return jv_int(m, n - i);
    if (!strcmp(name, "revindex0"))
        return jv_int(m, n - i - 1);
    if (!strcmp(name, "first"))
        return jv_bool(m, i == 0);
    if (!strcmp(name, "last"))
        return jv_bool(m, i == n - 1);
    if (!strcmp(name, "length"))
        return jv_int(m, n);
    if (!strcmp(name, "depth"))
        return jv_int(m, ls->depth);
    if (!strcmp(name, "depth0"))
        return jv_int(m, ls->depth - 1);
    if (!strcmp(name, "previtem"))
        return i > 0 ? ls->items[i - 1] : jv_undef(m, "loop.previtem");
    if (!strcmp(name, "nextitem"))
        return i + 1 < n ? ls->items[i + 1] : jv_undef(m, "loop.nextitem");
    if (!strcmp(name, "cycle"))
        return jv_func(m, "loop.cycle", loop_cycle, ls);
    if (!strcmp(name, "changed"))
        return jv_func(m, "loop.changed", loop_changed, ls);
    return NULL;
}

static bp_status run_loop(ctx *c, const jnode *n, jv *iterable, int depth, buf *out);

static bp_status loop_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    loop_state *ls = self;
    if (!ls->node->u.loop.recursive)
        return jinja_fail(rt, "loop() is only for loops marked recursive");
    if (a->npos != 1)
        return jinja_fail(rt, "loop() takes the items of the next level");
    buf b = {0};
    bp_status st = run_loop(ls->c, ls->node, a->pos[0], ls->depth + 1, &b);
    if (st == BP_OK) {
        *out = jv_from_buf(&rt->mem, &b);
        st = *out ? BP_OK : oom(rt);
    }
    buf_free(&b);
    return st;
}

/* Assign a loop item to the loop's targets (unpacking tuples). */
/* The parts of a value being unpacked: any iterable, as in Python
 * (a, b = 'xy'; for k, v in pairs_of_objects). */
static bp_status unpack(jinja_rt *rt, jv *v, jv ***parts, size_t *n)
{
    if (v->type == JV_LIST) {
        *parts = v->u.l.items;
        *n = v->u.l.n;
        return BP_OK;
    }
    if (!jv_is_iterable(v))
        return BP_EINPUT;
    return jinja_ev_iter(rt, v, parts, n);
}

static bp_status bind_targets(ctx *c, scope *s, const jnode *n, jv *item)
{
    jinja_rt *rt = c->rt;
    size_t nt = n->u.loop.ntargets;
    if (nt == 1)
        return scope_set(rt, s, n->u.loop.targets[0], item) ? BP_OK : oom(rt);
    jv **parts;
    size_t np;
    if (unpack(rt, item, &parts, &np) != BP_OK || np != nt)
        return jinja_fail(rt, "cannot unpack this item into %zu loop variables", nt);
    for (size_t k = 0; k < nt; k++)
        if (!scope_set(rt, s, n->u.loop.targets[k], parts[k]))
            return oom(rt);
    return BP_OK;
}

static bp_status run_loop(ctx *c, const jnode *n, jv *iterable, int depth, buf *out)
{
    jinja_rt *rt = c->rt;
    jv **items;
    size_t cnt;
    at(rt, n);
    if (jinja_ev_iter(rt, iterable, &items, &cnt))
        return BP_EINPUT;
    scope *s = push_scope(rt, c->sc, false);
    if (!s)
        return oom(rt);
    ctx lc = {rt, s, c->placeholder};
    /* a filter (for x in y if cond) decides before loop.length is known */
    if (n->u.loop.filter) {
        jv **kept = cnt ? arena_alloc(&rt->mem, cnt * sizeof *kept) : NULL;
        size_t nk = 0;
        if (cnt && !kept)
            return oom(rt);
        ctx *saved = g_ctx;
        g_ctx = &lc;
        for (size_t i = 0; i < cnt; i++) {
            jv *ok;
            if (bind_targets(&lc, s, n, items[i]) || jinja_ev_expr(rt, n->u.loop.filter, &ok)) {
                g_ctx = saved;
                return BP_EINPUT;
            }
            if (jv_truthy(ok))
                kept[nk++] = items[i];
        }
        g_ctx = saved;
        items = kept;
        cnt = nk;
    }
    if (!cnt)
        return n->u.loop.other ? render_body(c, n->u.loop.other, out) : BP_OK;
    loop_state *ls = arena_alloc(&rt->mem, sizeof *ls);
    jv *lv = ls ? jv_obj(&rt->mem, &loop_ops, ls) : NULL;
    if (!lv)
        return oom(rt);
    *ls = (loop_state){items, 0, cnt, depth, n, c, out, NULL};
    for (size_t i = 0; i < cnt; i++) {
        ls->i = i;
        if (bind_targets(&lc, s, n, items[i]) || !scope_set(rt, s, "loop", lv))
            return rt->failed ? BP_EINPUT : oom(rt);
        bp_status st = render_body(&lc, n->u.loop.body, out);
        if (st)
            return st;
        if (rt->loop_ctl == CTL_BREAK) {
            rt->loop_ctl = CTL_NONE;
            break;
        }
        if (rt->loop_ctl == CTL_CONTINUE)
            rt->loop_ctl = CTL_NONE;
        if (rt->loop_ctl == CTL_RETURN)
            break;
    }
    return BP_OK;
}

/* Assign to a set's target in the current scope: a name, names (tuple
 * unpacking) or a namespace's attribute. */
static bp_status assign(ctx *c, const jnode *target, jv *v)
{
    jinja_rt *rt = c->rt;
    at(rt, target);
    if (target->kind == E_NAME)
        return scope_set(rt, c->sc, target->u.name, v) ? BP_OK : oom(rt);
    if (target->kind == E_ATTR) {
        jv *ns = lookup_from(rt, c->sc, target->u.attr.obj->u.name);
        if (!ns || ns->type != JV_DICT || !ns->safe)
            return jinja_fail(rt, "cannot assign to an attribute of '%s' (only of a "
                              "namespace())", target->u.attr.obj->u.name);
        return jv_dict_set(&rt->mem, ns, target->u.attr.name, v) ? BP_OK : oom(rt);
    }
    size_t nt = target->u.seq.n;
    jv **parts;
    size_t np;
    if (unpack(rt, v, &parts, &np) != BP_OK || np != nt)
        return jinja_fail(rt, "cannot unpack this value into %zu names", nt);
    for (size_t k = 0; k < nt; k++)
        if (!scope_set(rt, c->sc, target->u.seq.items[k]->u.name, parts[k]))
            return oom(rt);
    return BP_OK;
}

static bp_status stmt(ctx *c, const jnode *n, buf *out)
{
    jinja_rt *rt = c->rt;
    jv *v;
    at(rt, n);
    switch (n->kind) {
    case S_TEXT:
        return buf_add(out, n->u.text.p, n->u.text.n) ? oom(rt) : BP_OK;
    case S_OUT:
        if (jinja_ev_expr(rt, n->u.expr, &v))
            return BP_EINPUT;
        at(rt, n->u.expr);
        return jinja_ev_str(rt, v, out);
    case S_IF:
        for (size_t i = 0; i < n->u.ifs.n; i++) {
            if (jinja_ev_expr(rt, n->u.ifs.conds[i], &v))
                return BP_EINPUT;
            if (jv_truthy(v))
                return render_body(c, n->u.ifs.bodies[i], out);
        }
        return n->u.ifs.other ? render_body(c, n->u.ifs.other, out) : BP_OK;
    case S_FOR:
        if (jinja_ev_expr(rt, n->u.loop.iter, &v))
            return BP_EINPUT;
        return run_loop(c, n, v, 1, out);
    case S_SET:
        if (jinja_ev_expr(rt, n->u.set.value, &v))
            return BP_EINPUT;
        return assign(c, n->u.set.target, v);
    case S_SET_BLOCK: {
        buf b = {0};
        bp_status st = render_body(c, n->u.setblock.body, &b);
        jv *s = st == BP_OK ? jv_from_buf(&rt->mem, &b) : NULL;
        buf_free(&b);
        if (st)
            return st;
        if (!s)
            return oom(rt);
        s->safe = true;
        if (n->u.setblock.filter) {
            jv *saved = c->placeholder;
            c->placeholder = s;
            st = jinja_ev_expr(rt, n->u.setblock.filter, &s);
            c->placeholder = saved;
            if (st)
                return st;
        }
        return assign(c, n->u.setblock.target, s);
    }
    case S_MACRO: {
        jv *m = jinja_macro_value(rt, n->u.macro);
        if (!m)
            return oom(rt);
        m->u.mac.closure = c->sc == rt->root ? NULL : c->sc;
        return scope_set(rt, c->sc, n->u.macro->name, m) ? BP_OK : oom(rt);
    }
    case S_CALL_BLOCK: {
        const jnode *call = n->u.callblock.call;
        jv *fn, *caller = jinja_macro_value(rt, n->u.callblock.caller);
        jv_args a;
        if (!caller)
            return oom(rt);
        caller->u.mac.closure = c->sc;
        if (jinja_ev_expr(rt, call->u.call.fn, &fn) || eval_args(c, &call->u.call.args, &a))
            return BP_EINPUT;
        at(rt, call);
        if (fn->type == JV_MACRO) {
            if (call_macro(rt, fn, &a, caller, &v))
                return BP_EINPUT;
        } else {
            /* a function gets the block as its `caller` keyword */
            jv_args b = a;
            b.kw_names = arena_alloc(&rt->mem, (a.nkw + 1) * sizeof *b.kw_names);
            b.kw = arena_alloc(&rt->mem, (a.nkw + 1) * sizeof *b.kw);
            if (!b.kw_names || !b.kw)
                return oom(rt);
            if (a.nkw) {
                memcpy(b.kw_names, a.kw_names, a.nkw * sizeof *b.kw_names);
                memcpy(b.kw, a.kw, a.nkw * sizeof *b.kw);
            }
            b.kw_names[b.nkw] = "caller";
            b.kw[b.nkw++] = caller;
            if (jinja_ev_call_value(rt, fn, &b, &v))
                return BP_EINPUT;
        }
        return v->type == JV_NONE ? BP_OK : jinja_ev_str(rt, v, out);
    }
    case S_FILTER_BLOCK: {
        buf b = {0};
        bp_status st = render_body(c, n->u.filterblock.body, &b);
        jv *s = st == BP_OK ? jv_from_buf(&rt->mem, &b) : NULL;
        buf_free(&b);
        if (st)
            return st;
        if (!s)
            return oom(rt);
        jv *saved = c->placeholder;
        c->placeholder = s;
        st = jinja_ev_expr(rt, n->u.filterblock.filter, &v);
        c->placeholder = saved;
        return st ? st : jinja_ev_str(rt, v, out);
    }
    case S_DO:
        return jinja_ev_expr(rt, n->u.expr, &v);
    case S_BREAK:
        rt->loop_ctl = CTL_BREAK;
        return BP_OK;
    case S_CONTINUE:
        rt->loop_ctl = CTL_CONTINUE;
        return BP_OK;
    case S_WITH: {
        scope *s = push_scope(rt, c->sc, false);
        if (!s)
            return oom(rt);
        for (size_t i = 0; i < n->u.with.n; i++) {
            if (jinja_ev_expr(rt, n->u.with.vals[i], &v))
                return BP_EINPUT;
            if (!scope_set(rt, s, n->u.with.names[i], v))
                return oom(rt);
        }
        ctx wc = {rt, s, c->placeholder};
        return render_body(&wc, n->u.with.body, out);
    }
    case S_BODY:
        return render_body(c, n, out);
    default:
        return jinja_fail(rt, "internal: not a statement");
    }
}

static bp_status render_body(ctx *c, const jnode *body, buf *out)
{
    jinja_rt *rt = c->rt;
    if (rt->depth >= JINJA_MAX_EVAL_DEPTH)
        return jinja_fail(rt, "nested deeper than %d levels", JINJA_MAX_EVAL_DEPTH);
    rt->depth++;
    ctx *saved = g_ctx;
    g_ctx = c;
    bp_status st = BP_OK;
    for (size_t i = 0; i < body->u.seq.n && st == BP_OK; i++) {
        st = stmt(c, body->u.seq.items[i], out);
        if (rt->loop_ctl != CTL_NONE)
            break; /* break, continue or return: up to whoever handles it */
    }
    g_ctx = saved;
    rt->depth--;
    return st;
}

bp_status jinja_ev_render(jinja_rt *rt, const jnode *n, buf *out)
{
    ctx c = {rt, rt->root, NULL};
    return render_body(&c, n, out);
}

/* What a render of a template changes in rt, kept to be given back (a
 * render may happen inside another: a macro rendering a string). */
typedef struct {
    bp_err *err;
    const char *file;
    const jinja_tpl *tpl;
} rt_state;

static rt_state enter(jinja_rt *rt, const jinja_tpl *t, bp_err *err)
{
    rt_state s = {rt->err, rt->file, rt->tpl};
    rt->err = err;
    rt->failed = false;
    rt->file = t->file;
    rt->tpl = t;
    return s;
}

static bp_status leave(jinja_rt *rt, rt_state s, const jinja_tpl *t, bp_status st, bp_err *err)
{
    rt->err = s.err;
    rt->file = s.file;
    rt->tpl = s.tpl;
    if (st != BP_OK && err && !err->msg[0])
        bp_fail(err, st, "%s: rendering failed", t->file);
    return st;
}

bp_status jinja_render(jinja_rt *rt, const jinja_tpl *t, buf *out, bp_err *err)
{
    rt_state saved = enter(rt, t, err);
    rt->loop_ctl = CTL_NONE;
    bp_status st = jinja_ev_render(rt, t->body, out);
    if (rt->loop_ctl == CTL_RETURN) /* return() at the top: the text so far stands */
        rt->loop_ctl = CTL_NONE;
    return leave(rt, saved, t, st, err);
}

bp_status jinja_render_string(const char *file, const char *src, size_t n, const jinja_env *env,
                              void *data, buf *out, bp_err *err)
{
    jinja_tpl *t;
    bp_status st = jinja_parse(file, src, n, env, &t, err);
    if (st != BP_OK)
        return st;
    jinja_rt *rt = jinja_rt_new(env);
    if (!rt) {
        jinja_tpl_free(t);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    jinja_rt_set_data(rt, data);
    st = jinja_render(rt, t, out, err);
    jinja_rt_free(rt);
    jinja_tpl_free(t);
    return st;
}

bp_status jinja_render_native(jinja_rt *rt, const jinja_tpl *t, jv **out, bp_err *err)
{
    const jnode *body = t->body;
    if (body->u.seq.n == 1 && body->u.seq.items[0]->kind == S_OUT) {
        /* one expression: its value, not its text */
        rt_state saved = enter(rt, t, err);
        ctx c = {rt, rt->root, NULL};
        ctx *sc = g_ctx;
        g_ctx = &c;
        bp_status st = jinja_ev_expr(rt, body->u.seq.items[0]->u.expr, out);
        g_ctx = sc;
        return leave(rt, saved, t, st, err);
    }
    buf b = {0};
    bp_status st = jinja_render(rt, t, &b, err);
    if (st == BP_OK && !jinja_literal_eval(&rt->mem, b.p ? b.p : "", b.len, out) &&
        !(*out = jv_from_buf(&rt->mem, &b)))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    buf_free(&b);
    return st;
}

jv *jinja_getattr(jinja_rt *rt, jv *obj, const char *name) { return jinja_ev_getattr(rt, obj, name); }

bp_status jinja_iter(jinja_rt *rt, const jv *v, jv ***items, size_t *n)
{
    return jinja_ev_iter(rt, v, items, n);
}

bool jinja_rt_failed(const jinja_rt *rt) { return rt->failed; }
