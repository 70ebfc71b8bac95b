/* builtins.c: Jinja2's built-in filters, tests and globals, and the
 * methods of Python's str, list and dict that templates call. */
#include "jinja_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A (&rt->mem)

static bp_status oomf(jinja_rt *rt) { return jinja_fail(rt, "out of memory"); }

static bp_status ret(jinja_rt *rt, jv **out, jv *v)
{
    *out = v;
    return v ? BP_OK : oomf(rt);
}

/* Building a result failed: free what there is, say so */
static bp_status ret_oom(jinja_rt *rt, buf *b)
{
    buf_free(b);
    return jinja_fail(rt, "out of memory");
}

static bp_status ret_buf(jinja_rt *rt, jv **out, buf *b)
{
    jv *v = jv_from_buf(A, b);
    buf_free(b);
    return ret(rt, out, v);
}

static bp_status need_str(jinja_rt *rt, const jv *v, const char *what)
{
    if (v->type == JV_UNDEF)
        return jinja_fail(rt, "'%s' is undefined", v->u.undef_name ? v->u.undef_name : "value");
    return v->type == JV_STR ? BP_OK : jinja_fail(rt, "%s wants a string", what);
}

/* str(v) into a new value (for filters that work on text). */
static bp_status text_of(jinja_rt *rt, const jv *v, buf *b)
{
    return jinja_ev_str(rt, v, b);
}

static int64_t int_arg(const jv *v, int64_t dflt)
{
    if (!v)
        return dflt;
    if (v->type == JV_INT)
        return v->u.i;
    if (v->type == JV_FLOAT)
        return (int64_t)v->u.f;
    if (v->type == JV_BOOL)
        return v->u.b;
    return dflt;
}

static bool bool_arg(const jv *v, bool dflt) { return v ? jv_truthy(v) : dflt; }

static const char *str_arg(const jv *v, const char *dflt)
{
    return v && v->type == JV_STR ? v->u.s.p : dflt;
}

/* An attribute= argument: a name, a dotted path, or an index (map(attribute=0)). */
static const char *attr_arg(jinja_rt *rt, const jv *v)
{
    if (v && v->type == JV_INT) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)v->u.i);
        return arena_strndup(A, b, strlen(b));
    }
    return str_arg(v, NULL);
}

/* Follow an attribute path ("a.b.0") as Jinja's make_attrgetter does. */
static jv *attr_path(jinja_rt *rt, jv *v, const char *path)
{
    char part[256];
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(part, sizeof part, "%.*s", (int)(n < 255 ? n : 255), p);
        char *end;
        long idx = strtol(part, &end, 10);
        if (*part && !*end && v->type == JV_LIST) {
            if (idx < 0)
                idx += (long)v->u.l.n;
            v = idx >= 0 && (size_t)idx < v->u.l.n ? v->u.l.items[idx]
                                                  : jv_undef(A, part);
        } else if (*part && !*end && v->type == JV_OBJ && v->u.obj.ops->getitem) {
            jv key = {.type = JV_INT, .u.i = idx};
            jv *x = v->u.obj.ops->getitem(rt, v->u.obj.self, &key);
            v = x ? x : jv_undef(A, part);
        } else if (v->type == JV_UNDEF)
            return v;
        else
            v = jinja_ev_getattr(rt, v, part);
        p = dot ? dot + 1 : p + n;
    }
    return v;
}

/* ---- comparisons for sort/min/max/unique ------------------------------------------------ */

typedef struct {
    jv *key;
    jv *item;
    size_t pos;
} keyed;

static bool g_case_sensitive;
static bool g_cmp_failed;

static jv *fold(jinja_rt *rt, jv *v)
{
    if (g_case_sensitive || v->type != JV_STR)
        return v;
    jv *c = jv_str(A, v->u.s.p, v->u.s.n);
    if (c)
        for (size_t i = 0; i < c->u.s.n; i++)
            ((char *)c->u.s.p)[i] = (char)tolower((unsigned char)c->u.s.p[i]);
    return c ? c : v;
}

static int keyed_cmp(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    bool ok;
    int c = jv_cmp(a->key, b->key, &ok);
    if (!ok) {
        g_cmp_failed = true;
        return 0;
    }
    return c ? c : (a->pos < b->pos ? -1 : a->pos > b->pos);
}

/* The items of v with their sort keys (attribute, case folding). */
static bp_status keyed_items(jinja_rt *rt, jv *v, const char *attr, bool case_sensitive,
                             keyed **out, size_t *n)
{
    jv **items;
    if (jinja_ev_iter(rt, v, &items, n))
        return BP_EINPUT;
    keyed *k = *n ? arena_alloc(A, *n * sizeof *k) : NULL;
    if (*n && !k)
        return oomf(rt);
    g_case_sensitive = case_sensitive;
    bool several = attr && strchr(attr, ',');
    for (size_t i = 0; i < *n; i++) {
        jv *key;
        if (several) { /* attribute='age,name': a tuple of them, compared in order */
            key = jv_list(A, 2);
            if (!key)
                return oomf(rt);
            key->tuple = true;
            char part[256];
            for (const char *p = attr; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                snprintf(part, sizeof part, "%.*s", (int)(len < 255 ? len : 255), p);
                if (!jv_list_push(A, key, fold(rt, attr_path(rt, items[i], part))))
                    return oomf(rt);
                p = comma ? comma + 1 : p + len;
            }
        } else {
            key = fold(rt, attr ? attr_path(rt, items[i], attr) : items[i]);
        }
        k[i] = (keyed){key, items[i], i};
    }
    *out = k;
    return BP_OK;
}

static bp_status sort_keyed(jinja_rt *rt, keyed *k, size_t n)
{
    g_cmp_failed = false;
    if (n) /* qsort of nothing may not be given NULL */
        qsort(k, n, sizeof *k, keyed_cmp);
    return g_cmp_failed ? jinja_fail(rt, "these values cannot be compared (sort)") : BP_OK;
}

/* ---- tests ---------------------------------------------------------------------------- */

static bool is_int(const jv *v) { return v->type == JV_INT; }

bp_status jinja_bi_test(jinja_rt *rt, const char *name, jv *v, const jv_args *a, bool *out)
{
    jv *arg = jinja_arg(a, 0, NULL);
    if (!strcmp(name, "defined")) {
        *out = v->type != JV_UNDEF;
    } else if (!strcmp(name, "undefined")) {
        *out = v->type == JV_UNDEF;
    } else if (!strcmp(name, "none")) {
        *out = v->type == JV_NONE;
    } else if (!strcmp(name, "boolean")) {
        *out = v->type == JV_BOOL;
    } else if (!strcmp(name, "true")) {
        *out = v->type == JV_BOOL && v->u.b;
    } else if (!strcmp(name, "false")) {
        *out = v->type == JV_BOOL && !v->u.b;
    } else if (!strcmp(name, "integer")) {
        *out = is_int(v);
    } else if (!strcmp(name, "float")) {
        *out = v->type == JV_FLOAT;
    } else if (!strcmp(name, "number")) {
        *out = jv_is_num(v);
    } else if (!strcmp(name, "string")) {
        *out = v->type == JV_STR;
    } else if (!strcmp(name, "mapping")) {
        *out = v->type == JV_DICT ||
               (v->type == JV_OBJ && (v->u.obj.ops->flags & JV_OBJ_MAPPING));
    } else if (!strcmp(name, "sequence")) {
        *out = v->type == JV_LIST || v->type == JV_STR || v->type == JV_DICT;
    } else if (!strcmp(name, "iterable")) {
        *out = jv_is_iterable(v);
    } else if (!strcmp(name, "callable")) {
        *out = v->type == JV_MACRO || v->type == JV_FUNC ||
               (v->type == JV_OBJ && v->u.obj.ops->call);
    } else if (!strcmp(name, "odd") || !strcmp(name, "even")) {
        if (!is_int(v))
            return jinja_fail(rt, "the %s test wants an integer", name);
        *out = (v->u.i % 2 != 0) == (name[0] == 'o');
    } else if (!strcmp(name, "divisibleby")) {
        int64_t d = int_arg(arg, 0);
        if (!d || !jv_is_num(v))
            return jinja_fail(rt, "divisibleby wants a number and a divisor");
        *out = (int64_t)jv_num(v) % d == 0;
    } else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        *out = v->type == JV_STR;
        for (size_t i = 0; *out && i < v->u.s.n; i++)
            *out = name[0] == 'l' ? !isupper((unsigned char)v->u.s.p[i])
                                  : !islower((unsigned char)v->u.s.p[i]);
    } else if (!strcmp(name, "eq") || !strcmp(name, "==") || !strcmp(name, "equalto") ||
               !strcmp(name, "sameas")) {
        if (!arg)
            return jinja_fail(rt, "the %s test wants a value to compare with", name);
        /* sameas is Python's `is`: identity, which for None, booleans, small
         * numbers and strings CPython shares, so equal values count */
        *out = !strcmp(name, "sameas")
                   ? (v == arg || (v->type == arg->type && v->type != JV_LIST &&
                                   v->type != JV_DICT && v->type != JV_OBJ && jv_equal(v, arg)))
                   : jv_equal(v, arg);
    } else if (!strcmp(name, "ne") || !strcmp(name, "!=")) {
        *out = !jv_equal(v, arg);
    } else if (!strcmp(name, "lt") || !strcmp(name, "<") || !strcmp(name, "lessthan") ||
               !strcmp(name, "le") || !strcmp(name, "<=") || !strcmp(name, "gt") ||
               !strcmp(name, ">") || !strcmp(name, "greaterthan") || !strcmp(name, "ge") ||
               !strcmp(name, ">=")) {
        bool ok;
        if (!arg)
            return jinja_fail(rt, "the %s test wants a value to compare with", name);
        int c = jv_cmp(v, arg, &ok);
        if (!ok)
            return jinja_fail(rt, "these values cannot be compared");
        bool less = name[0] == 'l' || name[0] == '<';
        bool or_eq = !strcmp(name, "le") || !strcmp(name, "<=") || !strcmp(name, "ge") ||
                     !strcmp(name, ">=");
        *out = less ? (or_eq ? c <= 0 : c < 0) : (or_eq ? c >= 0 : c > 0);
    } else if (!strcmp(name, "in")) {
        if (!arg || (arg->type != JV_LIST && arg->type != JV_DICT && arg->type != JV_STR &&
                     !(arg->type == JV_OBJ && jv_is_iterable(arg))))
            return jinja_fail(rt, "the in test wants a container");
        if (arg->type == JV_STR && v->type != JV_STR)
            *out = false;
        else
            return jinja_ev_contains(rt, v, arg, out);
    } else if (!strcmp(name, "escaped")) {
        *out = v->safe;
    } else if (!strcmp(name, "filter") || !strcmp(name, "test")) {
        *out = v->type == JV_STR; /* names: whether such a filter/test exists is not checked */
    } else
        return jinja_fail(rt, "no test named '%s'", name);
    return BP_OK;
}

/* ---- filters -------------------------------------------------------------------------- */

static bp_status f_join(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    jv **items;
    size_t n;
    if (jinja_ev_iter(rt, v, &items, &n))
        return BP_EINPUT;
    const jv *sepv = jinja_arg(a, 0, "d");
    const char *attr = attr_arg(rt, jinja_arg(a, 1, "attribute"));
    buf b = {0};
    buf sep = {0};
    if (sepv && text_of(rt, sepv, &sep)) {
        buf_free(&sep);
        return BP_EINPUT;
    }
    for (size_t i = 0; i < n; i++) {
        jv *x = attr ? attr_path(rt, items[i], attr) : items[i];
        if ((i && sep.len && buf_add(&b, sep.p, sep.len)) || text_of(rt, x, &b)) {
            buf_free(&b);
            buf_free(&sep);
            return rt->failed ? BP_EINPUT : oomf(rt);
        }
    }
    buf_free(&sep);
    return ret_buf(rt, out, &b);
}

static bp_status f_case(jinja_rt *rt, jv *v, int how, jv **out)
{
    buf b = {0};
    if (text_of(rt, v, &b)) {
        buf_free(&b);
        return BP_EINPUT;
    }
    bool start = true;
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.p[i];
        switch (how) {
        case 0: b.p[i] = (char)tolower(c); break;
        case 1: b.p[i] = (char)toupper(c); break;
        case 2: /* title: words begin after white space, '-' and brackets */
            b.p[i] = (char)(start ? toupper(c) : tolower(c));
            start = strchr(" \t\n\r-({[<", c) != NULL && c;
            break;
        case 3: /* capitalize */
            b.p[i] = (char)(i == 0 ? toupper(c) : tolower(c));
            break;
        case 4: /* swapcase */
            b.p[i] = (char)(isupper(c) ? tolower(c) : toupper(c));
            break;
        }
    }
    return ret_buf(rt, out, &b);
}

/* strip chars (default: whitespace) from the start and/or end */
static bp_status f_strip(jinja_rt *rt, jv *v, const jv *chars, bool left, bool right, jv **out)
{
    buf b = {0};
    if (text_of(rt, v, &b)) {
        buf_free(&b);
        return BP_EINPUT;
    }
    const char *set = chars && chars->type == JV_STR ? chars->u.s.p : NULL;
    size_t s = 0, e = b.len;
#define STRIPPABLE(c) (set ? strchr(set, (c)) != NULL && (c) : isspace((unsigned char)(c)))
    while (left && s < e && STRIPPABLE(b.p[s]))
        s++;
    while (right && e > s && STRIPPABLE(b.p[e - 1]))
        e--;
#undef STRIPPABLE
    jv *r = jv_str(A, (b.p ? b.p : "") + s, e - s);
    buf_free(&b);
    return ret(rt, out, r);
}

static bp_status f_replace(jinja_rt *rt, jv *v, const jv *old, const jv *new_, const jv *count,
                           jv **out)
{
    buf s = {0}, o = {0}, n = {0}, r = {0};
    bp_status st = BP_OK;
    if (text_of(rt, v, &s) || !old || text_of(rt, old, &o) || !new_ || text_of(rt, new_, &n)) {
        st = rt->failed ? BP_EINPUT : jinja_fail(rt, "replace wants the old and the new text");
        goto done;
    }
    int64_t max = int_arg(count, -1);
    const char *p = s.p ? s.p : "", *e = p + s.len;
    int64_t done_n = 0;
    if (!o.len) { /* Python: an empty old inserts between characters */
        for (size_t i = 0; i <= s.len && st == BP_OK; i++) {
            if ((max < 0 || done_n < max) && buf_add(&r, n.p ? n.p : "", n.len))
                st = oomf(rt);
            done_n++;
            if (i < s.len && buf_addc(&r, p[i]))
                st = oomf(rt);
        }
    } else {
        while (p < e && st == BP_OK) {
            const char *hit = (max < 0 || done_n < max) ? memmem(p, (size_t)(e - p), o.p, o.len)
                                                        : NULL;
            if (!hit) {
                st = buf_add(&r, p, (size_t)(e - p)) ? oomf(rt) : BP_OK;
                break;
            }
            if (buf_add(&r, p, (size_t)(hit - p)) || buf_add(&r, n.p ? n.p : "", n.len))
                st = oomf(rt);
            p = hit + o.len;
            done_n++;
        }
    }
    if (st == BP_OK) {
        *out = jv_from_buf(A, &r);
        st = *out ? BP_OK : oomf(rt);
    }
done:
    buf_free(&s);
    buf_free(&o);
    buf_free(&n);
    buf_free(&r);
    return st;
}

static bp_status f_length(jinja_rt *rt, jv *v, jv **out)
{
    int64_t n;
    switch (v->type) {
    case JV_STR: {
        n = 0; /* characters, not bytes */
        for (size_t i = 0; i < v->u.s.n; i++)
            n += ((unsigned char)v->u.s.p[i] & 0xC0) != 0x80;
        break;
    }
    case JV_LIST: n = (int64_t)v->u.l.n; break;
    case JV_DICT: n = (int64_t)jv_dict_len(v); break;
    case JV_UNDEF: n = 0; break;
    case JV_OBJ: {
        jv **items;
        size_t k;
        if (jinja_ev_iter(rt, v, &items, &k))
            return BP_EINPUT;
        n = (int64_t)k;
        break;
    }
    default:
        return jinja_fail(rt, "object of this type has no length");
    }
    return ret(rt, out, jv_int(A, n));
}

static bp_status f_list(jinja_rt *rt, jv *v, jv **out)
{
    jv **items;
    size_t n;
    if (jinja_ev_iter(rt, v, &items, &n))
        return BP_EINPUT;
    jv *l = jv_list(A, n);
    for (size_t i = 0; l && i < n; i++)
        jv_list_push(A, l, items[i]);
    return ret(rt, out, l);
}

/* select/reject/selectattr/rejectattr */
/* map and select/reject take a falsy value as nothing to go through (Jinja
 * checks `if value:` before iterating): none|map('lower') is empty. */
static bp_status iter_or_empty(jinja_rt *rt, jv *v, jv ***items, size_t *n)
{
    if (!jv_truthy(v)) {
        *items = NULL;
        *n = 0;
        return BP_OK;
    }
    return jinja_ev_iter(rt, v, items, n);
}

static bp_status f_select(jinja_rt *rt, jv *v, const jv_args *a, bool attr, bool keep, jv **out)
{
    jv **items;
    size_t n;
    if (iter_or_empty(rt, v, &items, &n))
        return BP_EINPUT;
    size_t k = 0;
    const char *path = attr ? str_arg(jinja_arg(a, k++, NULL), NULL) : NULL;
    if (attr && !path)
        return jinja_fail(rt, "%sattr wants an attribute name", keep ? "select" : "reject");
    const char *test = str_arg(jinja_arg(a, k++, NULL), NULL);
    jv_args ta = {a->npos > k ? a->npos - k : 0, 0, a->npos > k ? a->pos + k : NULL, NULL, NULL};
    jv *l = jv_list(A, 0);
    if (!l)
        return oomf(rt);
    for (size_t i = 0; i < n; i++) {
        jv *x = attr ? attr_path(rt, items[i], path) : items[i];
        bool r;
        if (test) {
            if (jinja_bi_test(rt, test, x, &ta, &r))
                return BP_EINPUT;
        } else
            r = jv_truthy(x);
        if (r == keep && !jv_list_push(A, l, items[i]))
            return oomf(rt);
    }
    *out = l;
    return BP_OK;
}

static bp_status f_map(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    jv **items;
    size_t n;
    if (iter_or_empty(rt, v, &items, &n))
        return BP_EINPUT;
    const char *attr = attr_arg(rt, jinja_arg(a, SIZE_MAX, "attribute"));
    const jv *dflt = jinja_arg(a, SIZE_MAX, "default");
    const char *filter = attr ? NULL : str_arg(jinja_arg(a, 0, NULL), NULL);
    if (!attr && !filter)
        return jinja_fail(rt, "map wants a filter name or attribute=");
    jv_args fa = {a->npos > 1 ? a->npos - 1 : 0, a->nkw, a->npos > 1 ? a->pos + 1 : NULL,
                  a->kw_names, a->kw};
    jv *l = jv_list(A, n);
    if (!l)
        return oomf(rt);
    for (size_t i = 0; i < n; i++) {
        jv *x;
        if (attr) {
            x = attr_path(rt, items[i], attr);
            if (x->type == JV_UNDEF && dflt)
                x = (jv *)dflt;
        } else {
            bp_status st;
            if (!(rt->env && rt->env->filter &&
                  rt->env->filter(rt->env->ctx, rt, filter, items[i], &fa, &x, &st)))
                st = jinja_bi_filter(rt, filter, items[i], &fa, &x);
            if (st)
                return st;
        }
        if (!jv_list_push(A, l, x))
            return oomf(rt);
    }
    *out = l;
    return BP_OK;
}

static bp_status f_sort(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    keyed *k;
    size_t n;
    bool rev = bool_arg(jinja_arg(a, 0, "reverse"), false);
    bool cs = bool_arg(jinja_arg(a, 1, "case_sensitive"), false);
    const char *attr = attr_arg(rt, jinja_arg(a, 2, "attribute"));
    if (keyed_items(rt, v, attr, cs, &k, &n) || sort_keyed(rt, k, n))
        return BP_EINPUT;
    jv *l = jv_list(A, n);
    for (size_t i = 0; l && i < n; i++)
        jv_list_push(A, l, k[rev ? n - 1 - i : i].item);
    return ret(rt, out, l);
}

static bp_status f_unique(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    keyed *k;
    size_t n;
    bool cs = bool_arg(jinja_arg(a, 0, "case_sensitive"), false);
    const char *attr = attr_arg(rt, jinja_arg(a, 1, "attribute"));
    if (keyed_items(rt, v, attr, cs, &k, &n))
        return BP_EINPUT;
    jv *l = jv_list(A, n);
    if (!l)
        return oomf(rt);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = jv_equal(k[i].key, k[j].key);
        if (!seen)
            jv_list_push(A, l, k[i].item);
    }
    *out = l;
    return BP_OK;
}

static bp_status f_minmax(jinja_rt *rt, jv *v, const jv_args *a, bool max, jv **out)
{
    keyed *k;
    size_t n;
    bool cs = bool_arg(jinja_arg(a, 0, "case_sensitive"), false);
    const char *attr = attr_arg(rt, jinja_arg(a, 1, "attribute"));
    if (keyed_items(rt, v, attr, cs, &k, &n))
        return BP_EINPUT;
    if (!n)
        return ret(rt, out, jv_undef(A, max ? "max of an empty sequence" : "min of an empty sequence"));
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        bool ok;
        int c = jv_cmp(k[i].key, k[best].key, &ok);
        if (!ok)
            return jinja_fail(rt, "these values cannot be compared");
        if (max ? c > 0 : c < 0)
            best = i;
    }
    *out = k[best].item;
    return BP_OK;
}

static bp_status f_sum(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    jv **items;
    size_t n;
    if (jinja_ev_iter(rt, v, &items, &n))
        return BP_EINPUT;
    const char *attr = attr_arg(rt, jinja_arg(a, 0, "attribute"));
    jv *acc = jinja_arg(a, 1, "start");
    if (acc && acc->type == JV_LIST) { /* sum(start=[]): lists added up */
        jv *l = jv_list(A, acc->u.l.n);
        for (size_t i = 0; l && i < acc->u.l.n; i++)
            jv_list_push(A, l, acc->u.l.items[i]);
        for (size_t i = 0; l && i < n; i++) {
            jv *x = attr ? attr_path(rt, items[i], attr) : items[i];
            if (x->type != JV_LIST)
                return jinja_fail(rt, "can only concatenate list (not a %s) to list",
                                  x->type == JV_STR ? "str" : "number");
            for (size_t k = 0; k < x->u.l.n; k++)
                if (!jv_list_push(A, l, x->u.l.items[k]))
                    return oomf(rt);
        }
        return ret(rt, out, l);
    }
    bool is_f = acc && acc->type == JV_FLOAT;
    double f = acc ? jv_num(acc) : 0;
    int64_t i64 = acc && acc->type == JV_INT ? acc->u.i : 0;
    for (size_t i = 0; i < n; i++) {
        jv *x = attr ? attr_path(rt, items[i], attr) : items[i];
        if (!jv_is_num(x))
            return jinja_fail(rt, "sum wants numbers");
        if (x->type == JV_FLOAT)
            is_f = true;
        f += jv_num(x);
        i64 += x->type == JV_INT ? x->u.i : x->type == JV_BOOL ? x->u.b : 0;
    }
    return ret(rt, out, is_f ? jv_float(A, f) : jv_int(A, i64));
}

static bp_status f_round(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    if (!jv_is_num(v))
        return jinja_fail(rt, "round wants a number");
    int64_t prec = int_arg(jinja_arg(a, 0, "precision"), 0);
    const char *method = str_arg(jinja_arg(a, 1, "method"), "common");
    if (!strcmp(method, "common")) {
        /* Python's round(): an int stays one; a float is rounded on its exact
         * value, ties to even, which is what printf does */
        if (v->type != JV_FLOAT)
            return ret(rt, out, v);
        char t[400];
        snprintf(t, sizeof t, "%.*f", (int)(prec < 0 ? 0 : prec > 300 ? 300 : prec), v->u.f);
        return ret(rt, out, jv_float(A, strtod(t, NULL)));
    }
    double m = pow(10, (double)prec), x = jv_num(v) * m;
    double r = !strcmp(method, "ceil") ? ceil(x) : floor(x);
    return ret(rt, out, jv_float(A, r / m));
}

static bp_status f_int(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    int64_t dflt = int_arg(jinja_arg(a, 0, "default"), 0);
    int base = (int)int_arg(jinja_arg(a, 1, "base"), 10);
    if (v->type == JV_INT)
        return ret(rt, out, v);
    if (v->type == JV_FLOAT)
        return ret(rt, out, jv_int(A, (int64_t)v->u.f));
    if (v->type == JV_BOOL)
        return ret(rt, out, jv_int(A, v->u.b));
    if (v->type == JV_STR) {
        char *end;
        const char *s = v->u.s.p;
        while (isspace((unsigned char)*s))
            s++;
        long long i = strtoll(s, &end, base);
        if (end != s) {
            while (isspace((unsigned char)*end))
                end++;
            if (!*end)
                return ret(rt, out, jv_int(A, i));
        }
        double d = strtod(s, &end);
        if (end != s && !*end)
            return ret(rt, out, jv_int(A, (int64_t)d));
    }
    return ret(rt, out, jv_int(A, dflt));
}

static bp_status f_float(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    const jv *d = jinja_arg(a, 0, "default");
    if (jv_is_num(v))
        return ret(rt, out, jv_float(A, jv_num(v)));
    if (v->type == JV_STR) {
        char *end;
        double f = strtod(v->u.s.p, &end);
        if (end != v->u.s.p && !*end)
            return ret(rt, out, jv_float(A, f));
    }
    return ret(rt, out, jv_float(A, d ? jv_num(d) : 0.0));
}

static bp_status f_indent(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    buf s = {0}, pad = {0}, r = {0};
    const jv *w = jinja_arg(a, 0, "width");
    bool first = bool_arg(jinja_arg(a, 1, "first"), false);
    bool blank = bool_arg(jinja_arg(a, 2, "blank"), false);
    bp_status st = text_of(rt, v, &s);
    if (st == BP_OK) {
        if (w && w->type == JV_STR)
            st = buf_add(&pad, w->u.s.p, w->u.s.n) ? oomf(rt) : BP_OK;
        else
            for (int64_t i = 0; i < int_arg(w, 4) && i < 1000000 && st == BP_OK; i++)
                st = buf_addc(&pad, ' ') ? oomf(rt) : BP_OK;
    }
    const char *p = s.p ? s.p : "", *e = p + s.len;
    bool line_start = true, first_line = true;
    for (; st == BP_OK && p < e; p++) {
        if (line_start) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            bool empty = (nl ? nl : e) == p;
            if ((first_line ? first : true) && (blank || !empty) &&
                buf_add(&r, pad.p ? pad.p : "", pad.len))
                st = oomf(rt);
            line_start = false;
            first_line = false;
        }
        if (st == BP_OK && buf_addc(&r, *p))
            st = oomf(rt);
        if (*p == '\n')
            line_start = true;
    }
    if (st == BP_OK && !s.len && first && buf_add(&r, pad.p ? pad.p : "", pad.len))
        st = oomf(rt);
    buf_free(&s);
    buf_free(&pad);
    if (st)
        return st;
    return ret_buf(rt, out, &r);
}

static bp_status f_truncate(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    buf s = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    size_t len = (size_t)int_arg(jinja_arg(a, 0, "length"), 255);
    bool killwords = bool_arg(jinja_arg(a, 1, "killwords"), false);
    const char *end = str_arg(jinja_arg(a, 2, "end"), "...");
    size_t leeway = (size_t)int_arg(jinja_arg(a, 3, "leeway"), 5);
    if (s.len <= len + leeway)
        return ret_buf(rt, out, &s);
    size_t cut = len >= strlen(end) ? len - strlen(end) : 0;
    if (!killwords) { /* s[:cut].rsplit(' ', 1)[0] */
        size_t k = cut;
        while (k > 0 && s.p[k - 1] != ' ')
            k--;
        if (k > 0)
            cut = k - 1;
    }
    buf r = {0};
    bool ok = !buf_add(&r, s.p, cut) && !buf_adds(&r, end);
    buf_free(&s);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    return ret_buf(rt, out, &r);
}

static bp_status f_batch_slice(jinja_rt *rt, jv *v, const jv_args *a, bool batch, jv **out)
{
    jv **items;
    size_t n;
    if (jinja_ev_iter(rt, v, &items, &n))
        return BP_EINPUT;
    int64_t k = int_arg(jinja_arg(a, 0, batch ? "linecount" : "slices"), 1);
    jv *fill = jinja_arg(a, 1, "fill_with");
    if (k <= 0)
        return jinja_fail(rt, "%s wants a positive count", batch ? "batch" : "slice");
    jv *l = jv_list(A, 0);
    if (!l)
        return oomf(rt);
    if (batch) {
        for (size_t i = 0; i < n; i += (size_t)k) {
            jv *row = jv_list(A, (size_t)k);
            if (!row || !jv_list_push(A, l, row))
                return oomf(rt);
            for (size_t j = i; j < i + (size_t)k; j++)
                if (j < n ? !jv_list_push(A, row, items[j])
                          : (fill && !jv_list_push(A, row, fill)))
                    return oomf(rt);
        }
    } else {
        size_t per = n / (size_t)k, extra = n % (size_t)k, off = 0;
        for (size_t s = 0; s < (size_t)k; s++) {
            size_t take = per + (s < extra);
            jv *row = jv_list(A, take + 1);
            if (!row || !jv_list_push(A, l, row))
                return oomf(rt);
            for (size_t j = 0; j < take; j++)
                jv_list_push(A, row, items[off + j]);
            off += take;
            if (fill && s >= extra && extra)
                jv_list_push(A, row, fill);
        }
    }
    *out = l;
    return BP_OK;
}

static bp_status f_dictsort(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    if (v->type != JV_DICT)
        return jinja_fail(rt, "dictsort wants a dict");
    bool cs = bool_arg(jinja_arg(a, 0, "case_sensitive"), false);
    const char *by = str_arg(jinja_arg(a, 1, "by"), "key");
    bool rev = bool_arg(jinja_arg(a, 2, "reverse"), false);
    size_t n = jv_dict_len(v);
    keyed *k = n ? arena_alloc(A, n * sizeof *k) : NULL;
    if (n && !k)
        return oomf(rt);
    g_case_sensitive = cs;
    for (size_t i = 0; i < n; i++) {
        jv *pair = jv_list(A, 2), *key = jv_strz(A, jv_dict_key(v, i));
        if (!pair || !key)
            return oomf(rt);
        pair->tuple = true;
        jv_list_push(A, pair, key);
        jv_list_push(A, pair, jv_dict_val(v, i));
        k[i] = (keyed){fold(rt, !strcmp(by, "value") ? jv_dict_val(v, i) : key), pair, i};
    }
    if (sort_keyed(rt, k, n))
        return BP_EINPUT;
    jv *l = jv_list(A, n);
    for (size_t i = 0; l && i < n; i++)
        jv_list_push(A, l, k[rev ? n - 1 - i : i].item);
    return ret(rt, out, l);
}

/* groupby's items: (grouper, list) tuples that also answer .grouper and .list */
static jv *group_getattr(jinja_rt *rt, void *self, const char *name)
{
    (void)rt;
    jv *pair = self;
    if (!strcmp(name, "grouper"))
        return pair->u.l.items[0];
    if (!strcmp(name, "list"))
        return pair->u.l.items[1];
    return NULL;
}

static jv *group_getitem(jinja_rt *rt, void *self, const jv *key)
{
    (void)rt;
    jv *pair = self;
    if (key->type != JV_INT || key->u.i < -2 || key->u.i > 1)
        return NULL;
    return pair->u.l.items[key->u.i < 0 ? key->u.i + 2 : key->u.i];
}

static bp_status group_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    return jv_repr(self, out);
}

static bp_status group_iter(jinja_rt *rt, void *self, jv ***items, size_t *n)
{
    (void)rt;
    jv *pair = self;
    *items = pair->u.l.items;
    *n = 2;
    return BP_OK;
}

static bool group_eq(const void *self, const jv *other) { return jv_equal(self, other); }

static const jv_obj_ops group_ops = {"_GroupTuple", group_getattr, group_getitem, NULL,
                                     group_str, group_eq, group_iter, 0, NULL};

static bp_status f_groupby(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    const char *attr = attr_arg(rt, jinja_arg(a, 0, "attribute"));
    if (!attr)
        return jinja_fail(rt, "groupby wants an attribute");
    bool cs = bool_arg(jinja_arg(a, 2, "case_sensitive"), false);
    keyed *k;
    size_t n;
    if (keyed_items(rt, v, attr, cs, &k, &n) || sort_keyed(rt, k, n))
        return BP_EINPUT;
    jv *l = jv_list(A, 0);
    if (!l)
        return oomf(rt);
    for (size_t i = 0; i < n;) {
        jv *group = jv_list(A, 4), *pair = jv_list(A, 2);
        if (!group || !pair)
            return oomf(rt);
        size_t j = i;
        for (; j < n && jv_equal(k[j].key, k[i].key); j++)
            jv_list_push(A, group, k[j].item);
        pair->tuple = true;
        jv_list_push(A, pair, attr_path(rt, k[i].item, attr));
        jv_list_push(A, pair, group);
        jv_list_push(A, l, jv_obj(A, &group_ops, pair));
        i = j;
    }
    *out = l;
    return BP_OK;
}

static bp_status f_wordcount(jinja_rt *rt, jv *v, jv **out)
{
    buf s = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    int64_t n = 0;
    bool in = false;
    for (size_t i = 0; i < s.len; i++) {
        bool w = isalnum((unsigned char)s.p[i]) || s.p[i] == '_' || (unsigned char)s.p[i] >= 0x80;
        n += w && !in;
        in = w;
    }
    buf_free(&s);
    return ret(rt, out, jv_int(A, n));
}

static bp_status f_center(jinja_rt *rt, jv *v, int64_t width, int how, const jv *fillv, jv **out)
{
    buf s = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    char fill = fillv && fillv->type == JV_STR && fillv->u.s.n ? fillv->u.s.p[0] : ' ';
    if (width > (int64_t)JINJA_MAX_TEXT) {
        buf_free(&s);
        return jinja_fail(rt, "a width of %lld is too large", (long long)width);
    }
    int64_t pad = width - (int64_t)s.len;
    if (pad <= 0)
        return ret_buf(rt, out, &s);
    int64_t left = how == 0 ? pad / 2 + (pad & width & 1) : how == 1 ? 0 : pad;
    int64_t right = pad - left;
    buf r = {0};
    bool ok = true;
    for (int64_t i = 0; i < left && ok; i++)
        ok = !buf_addc(&r, fill);
    ok = ok && !buf_add(&r, s.p, s.len);
    for (int64_t i = 0; i < right && ok; i++)
        ok = !buf_addc(&r, fill);
    buf_free(&s);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    return ret_buf(rt, out, &r);
}

static bp_status f_urlencode(jinja_rt *rt, jv *v, jv **out)
{
    buf s = {0}, r = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    bool ok = true;
    for (size_t i = 0; i < s.len && ok; i++) {
        unsigned char c = (unsigned char)s.p[i];
        ok = isalnum(c) || strchr("-_.~/", c) ? !buf_addc(&r, (char)c)
                                              : !buf_printf(&r, "%%%02X", c);
    }
    buf_free(&s);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    return ret_buf(rt, out, &r);
}

static bp_status f_escape(jinja_rt *rt, jv *v, jv **out)
{
    buf s = {0}, r = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    bool ok = true;
    for (size_t i = 0; i < s.len && ok; i++) {
        char c = s.p[i];
        ok = !buf_adds(&r, c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                       : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : (char[]){c, 0});
    }
    buf_free(&s);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    jv *x = jv_from_buf(A, &r);
    buf_free(&r);
    if (x)
        x->safe = true;
    return ret(rt, out, x);
}

static bp_status f_striptags(jinja_rt *rt, jv *v, jv **out)
{
    buf s = {0}, r = {0};
    if (text_of(rt, v, &s)) {
        buf_free(&s);
        return BP_EINPUT;
    }
    bool in = false, space = false, ok = true;
    for (size_t i = 0; i < s.len && ok; i++) {
        char c = s.p[i];
        if (c == '<')
            in = true;
        else if (c == '>' && in)
            in = false;
        else if (!in) {
            if (isspace((unsigned char)c)) {
                space = r.len > 0;
                continue;
            }
            if (space)
                ok = !buf_addc(&r, ' ');
            space = false;
            ok = ok && !buf_addc(&r, c);
        }
    }
    buf_free(&s);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    return ret_buf(rt, out, &r);
}

static bp_status f_tojson(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    buf j = {0}, r = {0};
    if (!jv_to_json(v, &j, (int)int_arg(jinja_arg(a, 0, "indent"), 0), true)) {
        buf_free(&j);
        return jinja_fail(rt, "this value has no JSON form");
    }
    /* Jinja's tojson is safe inside HTML: <, >, & and ' as \u escapes */
    bool ok = true;
    for (size_t i = 0; i < j.len && ok; i++) {
        char c = j.p[i];
        ok = c == '<' ? !buf_adds(&r, "\\u003c") : c == '>' ? !buf_adds(&r, "\\u003e")
             : c == '&' ? !buf_adds(&r, "\\u0026") : c == '\'' ? !buf_adds(&r, "\\u0027")
                        : !buf_addc(&r, c);
    }
    buf_free(&j);
    if (!ok) {
        buf_free(&r);
        return oomf(rt);
    }
    return ret_buf(rt, out, &r);
}

static bp_status f_items(jinja_rt *rt, jv *v, jv **out);
static bp_status py_format(jinja_rt *rt, const jv *fmt, const jv_args *a, jv **out);

static bp_status f_filesizeformat(jinja_rt *rt, jv *v, const jv_args *a, jv **out)
{
    double bytes = jv_num(v);
    bool binary = bool_arg(jinja_arg(a, 0, "binary"), false);
    double base = binary ? 1024 : 1000;
    static const char *const dec[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    static const char *const bin[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    buf r = {0};
    bp_status st;
    if (bytes == 1)
        st = buf_adds(&r, "1 Byte");
    else if (bytes < base)
        st = buf_printf(&r, "%d Bytes", (int)bytes);
    else {
        int i = 0;
        double unit = base * base;
        while (i < 7 && bytes >= unit) {
            unit *= base;
            i++;
        }
        st = buf_printf(&r, "%.1f %s", base * bytes / unit, binary ? bin[i] : dec[i]);
    }
    return st ? ret_oom(rt, &r) : ret_buf(rt, out, &r);
}

bp_status jinja_bi_filter(jinja_rt *rt, const char *name, jv *v, const jv_args *a, jv **out)
{
    jv *a0 = jinja_arg(a, 0, NULL);
    if (!strcmp(name, "default") || !strcmp(name, "d")) {
        jv *dflt = jinja_arg(a, 0, "default_value");
        bool boolean = bool_arg(jinja_arg(a, 1, "boolean"), false);
        if (v->type == JV_UNDEF || (boolean && !jv_truthy(v)))
            return ret(rt, out, dflt ? dflt : jv_str(A, "", 0));
        *out = v;
        return BP_OK;
    }
    if (v->type == JV_UNDEF && strcmp(name, "string") && strcmp(name, "list") &&
        strcmp(name, "length") && strcmp(name, "count"))
        return jinja_fail(rt, "'%s' is undefined", v->u.undef_name ? v->u.undef_name : "value");
    if (!strcmp(name, "lower"))
        return f_case(rt, v, 0, out);
    if (!strcmp(name, "upper"))
        return f_case(rt, v, 1, out);
    if (!strcmp(name, "title"))
        return f_case(rt, v, 2, out);
    if (!strcmp(name, "capitalize"))
        return f_case(rt, v, 3, out);
    if (!strcmp(name, "trim"))
        return f_strip(rt, v, jinja_arg(a, 0, "chars"), true, true, out);
    if (!strcmp(name, "replace"))
        return f_replace(rt, v, a0, jinja_arg(a, 1, "new"), jinja_arg(a, 2, "count"), out);
    if (!strcmp(name, "join"))
        return f_join(rt, v, a, out);
    if (!strcmp(name, "length") || !strcmp(name, "count"))
        return f_length(rt, v, out);
    if (!strcmp(name, "string")) {
        buf b = {0};
        if (v->type != JV_UNDEF && text_of(rt, v, &b)) {
            buf_free(&b);
            return BP_EINPUT;
        }
        return ret_buf(rt, out, &b);
    }
    if (!strcmp(name, "list"))
        return v->type == JV_UNDEF ? ret(rt, out, jv_list(A, 0)) : f_list(rt, v, out);
    if (!strcmp(name, "first") || !strcmp(name, "last")) {
        jv **items;
        size_t n;
        if (jinja_ev_iter(rt, v, &items, &n))
            return BP_EINPUT;
        if (!n)
            return ret(rt, out, jv_undef(A, name[0] == 'f' ? "first of an empty sequence"
                                                             : "last of an empty sequence"));
        *out = items[name[0] == 'f' ? 0 : n - 1];
        return BP_OK;
    }
    if (!strcmp(name, "unique"))
        return f_unique(rt, v, a, out);
    if (!strcmp(name, "sort"))
        return f_sort(rt, v, a, out);
    if (!strcmp(name, "reverse")) {
        if (v->type == JV_STR) {
            buf b = {0};
            for (size_t i = v->u.s.n; i-- > 0;)
                if (buf_addc(&b, v->u.s.p[i])) {
                    buf_free(&b);
                    return oomf(rt);
                }
            return ret_buf(rt, out, &b);
        }
        jv **items;
        size_t n;
        if (jinja_ev_iter(rt, v, &items, &n))
            return BP_EINPUT;
        jv *l = jv_list(A, n);
        for (size_t i = n; l && i-- > 0;)
            jv_list_push(A, l, items[i]);
        return ret(rt, out, l);
    }
    if (!strcmp(name, "map"))
        return f_map(rt, v, a, out);
    if (!strcmp(name, "select") || !strcmp(name, "reject"))
        return f_select(rt, v, a, false, name[0] == 's', out);
    if (!strcmp(name, "selectattr") || !strcmp(name, "rejectattr"))
        return f_select(rt, v, a, true, name[0] == 's', out);
    if (!strcmp(name, "tojson"))
        return f_tojson(rt, v, a, out);
    if (!strcmp(name, "int"))
        return f_int(rt, v, a, out);
    if (!strcmp(name, "float"))
        return f_float(rt, v, a, out);
    if (!strcmp(name, "abs")) {
        if (!jv_is_num(v))
            return jinja_fail(rt, "abs wants a number");
        if (v->type == JV_INT && v->u.i == INT64_MIN) /* no int64 holds its absolute value */
            return ret(rt, out, jv_float(A, -(double)INT64_MIN));
        return ret(rt, out, v->type == JV_FLOAT ? jv_float(A, fabs(v->u.f))
                                                : jv_int(A, llabs((long long)(v->type == JV_INT ? v->u.i : v->u.b))));
    }
    if (!strcmp(name, "round"))
        return f_round(rt, v, a, out);
    if (!strcmp(name, "indent"))
        return f_indent(rt, v, a, out);
    if (!strcmp(name, "format")) {
        if (need_str(rt, v, "format"))
            return BP_EINPUT;
        if (a->npos == 1 && !a->nkw)
            return jinja_ev_percent(rt, v, a0, out);
        jv *t = jv_list(A, a->npos);
        for (size_t i = 0; t && i < a->npos; i++)
            jv_list_push(A, t, a->pos[i]);
        if (!t)
            return oomf(rt);
        t->tuple = true;
        return jinja_ev_percent(rt, v, t, out);
    }
    if (!strcmp(name, "batch"))
        return f_batch_slice(rt, v, a, true, out);
    if (!strcmp(name, "slice"))
        return f_batch_slice(rt, v, a, false, out);
    if (!strcmp(name, "sum"))
        return f_sum(rt, v, a, out);
    if (!strcmp(name, "min") || !strcmp(name, "max"))
        return f_minmax(rt, v, a, name[1] == 'a', out);
    if (!strcmp(name, "attr")) { /* an attribute only, never an item */
        const char *an = str_arg(a0, NULL);
        if (!an)
            return jinja_fail(rt, "attr wants an attribute name");
        jv *m = v->type == JV_DICT ? jinja_bi_method(rt, v, an) : NULL;
        if (m)
            return ret(rt, out, m);
        return ret(rt, out, v->type == JV_DICT ? jv_undef(A, an) : jinja_ev_getattr(rt, v, an));
    }
    if (!strcmp(name, "dictsort"))
        return f_dictsort(rt, v, a, out);
    if (!strcmp(name, "items"))
        return f_items(rt, v, out);
    if (!strcmp(name, "wordcount"))
        return f_wordcount(rt, v, out);
    if (!strcmp(name, "truncate"))
        return f_truncate(rt, v, a, out);
    if (!strcmp(name, "groupby"))
        return f_groupby(rt, v, a, out);
    if (!strcmp(name, "center"))
        return f_center(rt, v, int_arg(jinja_arg(a, 0, "width"), 80), 0, NULL, out);
    if (!strcmp(name, "safe") || !strcmp(name, "forceescape") || !strcmp(name, "e") ||
        !strcmp(name, "escape")) {
        if (name[0] == 's') {
            buf b = {0};
            if (text_of(rt, v, &b)) {
                buf_free(&b);
                return BP_EINPUT;
            }
            jv *x = jv_from_buf(A, &b);
            buf_free(&b);
            if (x)
                x->safe = true;
            return ret(rt, out, x);
        }
        return f_escape(rt, v, out);
    }
    if (!strcmp(name, "striptags"))
        return f_striptags(rt, v, out);
    if (!strcmp(name, "urlencode"))
        return f_urlencode(rt, v, out);
    if (!strcmp(name, "filesizeformat"))
        return f_filesizeformat(rt, v, a, out);
    if (!strcmp(name, "pprint")) {
        buf b = {0};
        if (jv_repr(v, &b)) {
            buf_free(&b);
            return oomf(rt);
        }
        return ret_buf(rt, out, &b);
    }
    if (!strcmp(name, "random")) {
        jv **items;
        size_t n;
        if (jinja_ev_iter(rt, v, &items, &n))
            return BP_EINPUT;
        return n ? (*out = items[(size_t)rand() % n], BP_OK) : ret(rt, out, jv_undef(A, "random"));
    }
    if (!strcmp(name, "wordwrap") || !strcmp(name, "urlize") || !strcmp(name, "xmlattr")) {
        buf b = {0};
        if (text_of(rt, v, &b)) { /* text unchanged: no HTML output in SQL projects */
            buf_free(&b);
            return BP_EINPUT;
        }
        return ret_buf(rt, out, &b);
    }
    return jinja_fail(rt, "no filter named '%s'", name);
}

/* ---- methods of str, list and dict ------------------------------------------------------ */

typedef struct {
    jv *self;
    const char *name;
} bound;

static bp_status f_items(jinja_rt *rt, jv *v, jv **out)
{
    if (v->type != JV_DICT)
        return jinja_fail(rt, "items wants a dict");
    size_t n = jv_dict_len(v);
    jv *l = jv_list(A, n);
    if (!l)
        return oomf(rt);
    for (size_t i = 0; i < n; i++) {
        jv *pair = jv_list(A, 2), *key = jv_strz(A, jv_dict_key(v, i));
        if (!pair || !key)
            return oomf(rt);
        pair->tuple = true;
        jv_list_push(A, pair, key);
        jv_list_push(A, pair, jv_dict_val(v, i));
        jv_list_push(A, l, pair);
    }
    *out = l;
    return BP_OK;
}

static bp_status str_split(jinja_rt *rt, const jv *s, const jv *sepv, int64_t max, bool right,
                           jv **out)
{
    jv *l = jv_list(A, 8);
    if (!l)
        return oomf(rt);
    const char *p = s->u.s.p, *e = p + s->u.s.n;
    if (!sepv || sepv->type == JV_NONE) { /* runs of whitespace */
        jv **parts = NULL;
        size_t np = 0, cap = 0;
        const char *q = p;
        while (q < e) {
            while (q < e && isspace((unsigned char)*q))
                q++;
            if (q >= e)
                break;
            const char *w = q;
            while (q < e && !isspace((unsigned char)*q))
                q++;
            if (np == cap) {
                cap = cap ? cap * 2 : 16;
                jv **n2 = arena_alloc(A, cap * sizeof *n2);
                if (!n2)
                    return oomf(rt);
                if (np)
                    memcpy(n2, parts, np * sizeof *n2);
                parts = n2;
            }
            parts[np++] = jv_str(A, w, (size_t)(q - w));
        }
        if (max >= 0 && (size_t)max < np && np) { /* join what is past the limit */
            if (!right) {
                for (size_t i = 0; i < (size_t)max; i++)
                    jv_list_push(A, l, parts[i]);
                const char *rest = parts[max]->u.s.p;
                (void)rest;
                /* the rest of the string from the max-th word, as Python keeps it */
                size_t off = 0;
                const char *r = p;
                for (size_t i = 0; i <= (size_t)max; i++) {
                    while (r < e && isspace((unsigned char)*r))
                        r++;
                    if (i == (size_t)max)
                        break;
                    while (r < e && !isspace((unsigned char)*r))
                        r++;
                }
                off = (size_t)(r - p);
                const char *re = e;
                while (re > r && isspace((unsigned char)re[-1]))
                    re--;
                jv_list_push(A, l, jv_str(A, p + off, (size_t)(re - (p + off))));
                *out = l;
                return BP_OK;
            }
        }
        for (size_t i = 0; i < np; i++)
            jv_list_push(A, l, parts[i]);
        *out = l;
        return BP_OK;
    }
    if (sepv->type != JV_STR || !sepv->u.s.n)
        return jinja_fail(rt, "split wants a non-empty separator");
    const char *sep = sepv->u.s.p;
    size_t sl = sepv->u.s.n;
    if (right && max >= 0) {
        /* rsplit with a limit: split from the right */
        jv *rev = jv_list(A, 8);
        const char *q = e;
        int64_t done_n = 0;
        while (done_n < max) {
            const char *hit = NULL;
            for (const char *c = q - sl; c >= p; c--)
                if (!memcmp(c, sep, sl)) {
                    hit = c;
                    break;
                }
            if (!hit)
                break;
            jv_list_push(A, rev, jv_str(A, hit + sl, (size_t)(q - hit - sl)));
            q = hit;
            done_n++;
        }
        jv_list_push(A, l, jv_str(A, p, (size_t)(q - p)));
        for (size_t i = rev->u.l.n; i-- > 0;)
            jv_list_push(A, l, rev->u.l.items[i]);
        *out = l;
        return BP_OK;
    }
    int64_t done_n = 0;
    for (;;) {
        const char *hit = (max < 0 || done_n < max) ? memmem(p, (size_t)(e - p), sep, sl) : NULL;
        if (!hit) {
            jv_list_push(A, l, jv_str(A, p, (size_t)(e - p)));
            break;
        }
        jv_list_push(A, l, jv_str(A, p, (size_t)(hit - p)));
        p = hit + sl;
        done_n++;
    }
    *out = l;
    return BP_OK;
}

static bp_status str_find(jinja_rt *rt, const jv *s, const jv *sub, bool rev, int64_t *pos)
{
    if (!sub || sub->type != JV_STR)
        return jinja_fail(rt, "find wants a string");
    *pos = -1;
    if (!rev) {
        const char *h = memmem(s->u.s.p, s->u.s.n, sub->u.s.p, sub->u.s.n);
        if (h)
            *pos = h - s->u.s.p;
    } else if (sub->u.s.n <= s->u.s.n) {
        for (size_t i = s->u.s.n - sub->u.s.n + 1; i-- > 0;)
            if (!memcmp(s->u.s.p + i, sub->u.s.p, sub->u.s.n)) {
                *pos = (int64_t)i;
                break;
            }
    }
    return BP_OK;
}

static bool all_chars(const jv *s, int (*pred)(int))
{
    if (!s->u.s.n)
        return false;
    for (size_t i = 0; i < s->u.s.n; i++)
        if (!pred((unsigned char)s->u.s.p[i]))
            return false;
    return true;
}

static bp_status str_method(jinja_rt *rt, jv *s, const char *m, const jv_args *a, jv **out)
{
    jv *a0 = jinja_arg(a, 0, NULL), *a1 = jinja_arg(a, 1, NULL);
    if (!strcmp(m, "upper"))
        return f_case(rt, s, 1, out);
    if (!strcmp(m, "lower") || !strcmp(m, "casefold"))
        return f_case(rt, s, 0, out);
    if (!strcmp(m, "title"))
        return f_case(rt, s, 2, out);
    if (!strcmp(m, "capitalize"))
        return f_case(rt, s, 3, out);
    if (!strcmp(m, "swapcase"))
        return f_case(rt, s, 4, out);
    if (!strcmp(m, "strip"))
        return f_strip(rt, s, a0, true, true, out);
    if (!strcmp(m, "lstrip"))
        return f_strip(rt, s, a0, true, false, out);
    if (!strcmp(m, "rstrip"))
        return f_strip(rt, s, a0, false, true, out);
    if (!strcmp(m, "split"))
        return str_split(rt, s, jinja_arg(a, 0, "sep"), int_arg(jinja_arg(a, 1, "maxsplit"), -1),
                         false, out);
    if (!strcmp(m, "rsplit"))
        return str_split(rt, s, jinja_arg(a, 0, "sep"), int_arg(jinja_arg(a, 1, "maxsplit"), -1),
                         true, out);
    if (!strcmp(m, "splitlines")) {
        jv *nl = jv_strz(A, "\n");
        if (!nl)
            return oomf(rt);
        bp_status st = str_split(rt, s, nl, -1, false, out);
        if (st == BP_OK && (*out)->u.l.n && !(*out)->u.l.items[(*out)->u.l.n - 1]->u.s.n)
            (*out)->u.l.n--;
        return st;
    }
    if (!strcmp(m, "replace"))
        return f_replace(rt, s, a0, a1, jinja_arg(a, 2, "count"), out);
    if (!strcmp(m, "startswith") || !strcmp(m, "endswith")) {
        bool r = false;
        jv **cands = &a0;
        size_t nc = 1;
        if (a0 && a0->type == JV_LIST) {
            cands = a0->u.l.items;
            nc = a0->u.l.n;
        }
        for (size_t i = 0; i < nc && !r; i++) {
            const jv *x = cands[i];
            if (!x || x->type != JV_STR)
                return jinja_fail(rt, "%s wants a string", m);
            r = x->u.s.n <= s->u.s.n &&
                !memcmp(m[0] == 's' ? s->u.s.p : s->u.s.p + s->u.s.n - x->u.s.n, x->u.s.p,
                        x->u.s.n);
        }
        return ret(rt, out, jv_bool(A, r));
    }
    if (!strcmp(m, "find") || !strcmp(m, "rfind") || !strcmp(m, "index") || !strcmp(m, "rindex")) {
        int64_t pos;
        if (str_find(rt, s, a0, m[0] == 'r', &pos))
            return BP_EINPUT;
        if (pos < 0 && strstr(m, "index"))
            return jinja_fail(rt, "substring not found");
        return ret(rt, out, jv_int(A, pos));
    }
    if (!strcmp(m, "count")) {
        if (!a0 || a0->type != JV_STR)
            return jinja_fail(rt, "count wants a string");
        int64_t n = 0;
        if (!a0->u.s.n)
            n = (int64_t)s->u.s.n + 1;
        else
            for (const char *p = s->u.s.p; (p = memmem(p, (size_t)(s->u.s.p + s->u.s.n - p),
                                                      a0->u.s.p, a0->u.s.n));
                 p += a0->u.s.n)
                n++;
        return ret(rt, out, jv_int(A, n));
    }
    if (!strcmp(m, "join")) {
        jv_args ja = {1, 0, (jv *[]){s}, NULL, NULL};
        if (!a0)
            return jinja_fail(rt, "join wants a sequence");
        return f_join(rt, a0, &ja, out);
    }
    if (!strcmp(m, "format"))
        return py_format(rt, s, a, out);
    if (!strcmp(m, "isdigit") || !strcmp(m, "isnumeric") || !strcmp(m, "isdecimal"))
        return ret(rt, out, jv_bool(A, all_chars(s, isdigit)));
    if (!strcmp(m, "isalpha"))
        return ret(rt, out, jv_bool(A, all_chars(s, isalpha)));
    if (!strcmp(m, "isalnum"))
        return ret(rt, out, jv_bool(A, all_chars(s, isalnum)));
    if (!strcmp(m, "isspace"))
        return ret(rt, out, jv_bool(A, all_chars(s, isspace)));
    if (!strcmp(m, "isupper") || !strcmp(m, "islower")) {
        bool any = false, bad = false;
        for (size_t i = 0; i < s->u.s.n; i++) {
            unsigned char c = (unsigned char)s->u.s.p[i];
            any = any || isalpha(c);
            bad = bad || (m[2] == 'u' ? islower(c) : isupper(c));
        }
        return ret(rt, out, jv_bool(A, any && !bad));
    }
    if (!strcmp(m, "zfill")) {
        int64_t w = int_arg(a0, 0);
        if (w > (int64_t)JINJA_MAX_TEXT)
            return jinja_fail(rt, "a width of %lld is too large", (long long)w);
        buf b = {0};
        bool sign = s->u.s.n && (s->u.s.p[0] == '-' || s->u.s.p[0] == '+');
        bool ok = !sign || !buf_addc(&b, s->u.s.p[0]);
        for (int64_t i = (int64_t)s->u.s.n; i < w && ok; i++)
            ok = !buf_addc(&b, '0');
        ok = ok && !buf_add(&b, s->u.s.p + sign, s->u.s.n - sign);
        if (!ok) {
            buf_free(&b);
            return oomf(rt);
        }
        return ret_buf(rt, out, &b);
    }
    if (!strcmp(m, "center") || !strcmp(m, "ljust") || !strcmp(m, "rjust"))
        return f_center(rt, s, int_arg(a0, 0), m[0] == 'c' ? 0 : m[0] == 'l' ? 1 : 2, a1, out);
    if (!strcmp(m, "partition") || !strcmp(m, "rpartition")) {
        int64_t pos;
        if (str_find(rt, s, a0, m[0] == 'r', &pos))
            return BP_EINPUT;
        jv *t = jv_list(A, 3);
        if (!t)
            return oomf(rt);
        t->tuple = true;
        if (pos < 0) {
            jv *e = jv_str(A, "", 0);
            jv_list_push(A, t, m[0] == 'r' ? e : s);
            jv_list_push(A, t, e);
            jv_list_push(A, t, m[0] == 'r' ? s : e);
        } else {
            jv_list_push(A, t, jv_str(A, s->u.s.p, (size_t)pos));
            jv_list_push(A, t, a0);
            jv_list_push(A, t, jv_str(A, s->u.s.p + pos + a0->u.s.n,
                                      s->u.s.n - (size_t)pos - a0->u.s.n));
        }
        *out = t;
        return BP_OK;
    }
    if (!strcmp(m, "removeprefix") || !strcmp(m, "removesuffix")) {
        if (!a0 || a0->type != JV_STR)
            return jinja_fail(rt, "%s wants a string", m);
        size_t n = a0->u.s.n;
        bool pre = m[6] == 'p';
        if (n <= s->u.s.n &&
            !memcmp(pre ? s->u.s.p : s->u.s.p + s->u.s.n - n, a0->u.s.p, n))
            return ret(rt, out, jv_str(A, pre ? s->u.s.p + n : s->u.s.p, s->u.s.n - n));
        *out = s;
        return BP_OK;
    }
    if (!strcmp(m, "encode") || !strcmp(m, "decode")) {
        *out = s;
        return BP_OK;
    }
    return jinja_fail(rt, "str has no method '%s'", m);
}

static bp_status list_method(jinja_rt *rt, jv *l, const char *m, const jv_args *a, jv **out)
{
    jv *a0 = jinja_arg(a, 0, NULL);
    jv *none = jv_none(A);
    if (!none)
        return oomf(rt);
    if (!strcmp(m, "append")) {
        if (!a0)
            return jinja_fail(rt, "append wants a value");
        return jv_list_push(A, l, a0) ? ret(rt, out, none) : oomf(rt);
    }
    if (!strcmp(m, "extend")) {
        jv **items;
        size_t n;
        if (!a0 || jinja_ev_iter(rt, a0, &items, &n))
            return rt->failed ? BP_EINPUT : jinja_fail(rt, "extend wants a sequence");
        for (size_t i = 0; i < n; i++)
            if (!jv_list_push(A, l, items[i]))
                return oomf(rt);
        return ret(rt, out, none);
    }
    if (!strcmp(m, "insert")) {
        jv *x = jinja_arg(a, 1, NULL);
        if (!x || !jv_list_push(A, l, x))
            return rt->failed ? BP_EINPUT : jinja_fail(rt, "insert wants an index and a value");
        int64_t i = int_arg(a0, 0), n = (int64_t)l->u.l.n - 1;
        if (i < 0)
            i += n;
        i = i < 0 ? 0 : i > n ? n : i;
        memmove(&l->u.l.items[i + 1], &l->u.l.items[i], (size_t)(n - i) * sizeof(jv *));
        l->u.l.items[i] = x;
        return ret(rt, out, none);
    }
    if (!strcmp(m, "pop")) {
        if (!l->u.l.n)
            return jinja_fail(rt, "pop from an empty list");
        int64_t i = int_arg(a0, -1), n = (int64_t)l->u.l.n;
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return jinja_fail(rt, "pop index out of range");
        *out = l->u.l.items[i];
        memmove(&l->u.l.items[i], &l->u.l.items[i + 1], (size_t)(n - i - 1) * sizeof(jv *));
        l->u.l.n--;
        return BP_OK;
    }
    if (!strcmp(m, "remove") || !strcmp(m, "index") || !strcmp(m, "count")) {
        int64_t found = -1, cnt = 0;
        for (size_t i = 0; i < l->u.l.n; i++)
            if (a0 && jv_equal(l->u.l.items[i], a0)) {
                if (found < 0)
                    found = (int64_t)i;
                cnt++;
            }
        if (m[0] == 'c')
            return ret(rt, out, jv_int(A, cnt));
        if (found < 0)
            return jinja_fail(rt, "list.%s(x): x not in list", m);
        if (m[0] == 'i')
            return ret(rt, out, jv_int(A, found));
        memmove(&l->u.l.items[found], &l->u.l.items[found + 1],
                (l->u.l.n - (size_t)found - 1) * sizeof(jv *));
        l->u.l.n--;
        return ret(rt, out, none);
    }
    if (!strcmp(m, "reverse")) {
        for (size_t i = 0; i < l->u.l.n / 2; i++) {
            jv *t = l->u.l.items[i];
            l->u.l.items[i] = l->u.l.items[l->u.l.n - 1 - i];
            l->u.l.items[l->u.l.n - 1 - i] = t;
        }
        return ret(rt, out, none);
    }
    if (!strcmp(m, "sort")) {
        jv_args sa = {0, a->nkw, NULL, a->kw_names, a->kw};
        jv *sorted;
        if (f_sort(rt, l, &sa, &sorted))
            return BP_EINPUT;
        if (l->u.l.n)
            memcpy(l->u.l.items, sorted->u.l.items, l->u.l.n * sizeof(jv *));
        return ret(rt, out, none);
    }
    if (!strcmp(m, "copy"))
        return f_list(rt, l, out);
    if (!strcmp(m, "clear")) {
        l->u.l.n = 0;
        return ret(rt, out, none);
    }
    return jinja_fail(rt, "list has no method '%s'", m);
}

static bp_status dict_method(jinja_rt *rt, jv *d, const char *m, const jv_args *a, jv **out)
{
    jv *a0 = jinja_arg(a, 0, NULL), *a1 = jinja_arg(a, 1, NULL);
    buf k = {0};
    if (a0 && a0->type != JV_STR && a0->type != JV_DICT && jv_to_str(a0, &k)) {
        buf_free(&k);
        return oomf(rt);
    }
    const char *key = a0 && a0->type == JV_STR ? a0->u.s.p : k.p;
    bp_status st = BP_OK;
    if (!strcmp(m, "items"))
        st = f_items(rt, d, out);
    else if (!strcmp(m, "keys") || !strcmp(m, "values")) {
        size_t n = jv_dict_len(d);
        jv *l = jv_list(A, n);
        for (size_t i = 0; l && i < n; i++)
            jv_list_push(A, l, m[0] == 'k' ? jv_strz(A, jv_dict_key(d, i)) : jv_dict_val(d, i));
        st = ret(rt, out, l);
    } else if (!strcmp(m, "get")) {
        jv *v = key ? jv_dict_get(d, key) : NULL;
        st = ret(rt, out, v ? v : a1 ? a1 : jv_none(A));
    } else if (!strcmp(m, "update")) {
        for (size_t i = 0; a0 && a0->type == JV_DICT && i < jv_dict_len(a0); i++)
            if (!jv_dict_set(A, d, jv_dict_key(a0, i), jv_dict_val(a0, i)))
                st = oomf(rt);
        for (size_t i = 0; i < a->nkw && st == BP_OK; i++)
            if (!jv_dict_set(A, d, a->kw_names[i], a->kw[i]))
                st = oomf(rt);
        if (st == BP_OK)
            st = ret(rt, out, jv_none(A));
    } else if (!strcmp(m, "pop")) {
        jv *v = key ? jv_dict_get(d, key) : NULL;
        if (v) {
            jv_dict_del(d, key);
            *out = v;
        } else if (a1)
            *out = a1;
        else
            st = jinja_fail(rt, "pop: no key '%s'", key ? key : "");
    } else if (!strcmp(m, "setdefault")) {
        jv *v = key ? jv_dict_get(d, key) : NULL;
        if (!v) {
            v = a1 ? a1 : jv_none(A);
            if (!key || !jv_dict_set(A, d, key, v))
                st = oomf(rt);
        }
        if (st == BP_OK)
            *out = v;
    } else if (!strcmp(m, "copy")) {
        jv *c = jv_dict_new(A);
        for (size_t i = 0; c && i < jv_dict_len(d); i++)
            jv_dict_set(A, c, jv_dict_key(d, i), jv_dict_val(d, i));
        st = ret(rt, out, c);
    } else if (!strcmp(m, "clear")) {
        while (jv_dict_len(d))
            jv_dict_del(d, jv_dict_key(d, 0));
        st = ret(rt, out, jv_none(A));
    } else if (!strcmp(m, "to_dict")) {
        /* not Python's: a host's objects given to templates as dicts (dbt's
         * nodes and run results) answer to_dict() with themselves */
        st = ret(rt, out, d);
    } else
        st = jinja_fail(rt, "dict has no method '%s'", m);
    buf_free(&k);
    return st;
}

static bp_status call_method(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    bound *b = data;
    switch (b->self->type) {
    case JV_STR: return str_method(rt, b->self, b->name, a, out);
    case JV_LIST: return list_method(rt, b->self, b->name, a, out);
    case JV_DICT: return dict_method(rt, b->self, b->name, a, out);
    default: return jinja_fail(rt, "no method '%s'", b->name);
    }
}

jv *jinja_bi_method(jinja_rt *rt, jv *obj, const char *name)
{
    static const char *const str_m[] = {
        "upper", "lower", "casefold", "title", "capitalize", "swapcase", "strip", "lstrip",
        "rstrip", "split", "rsplit", "splitlines", "replace", "startswith", "endswith", "find",
        "rfind", "index", "rindex", "count", "join", "format", "isdigit", "isnumeric",
        "isdecimal", "isalpha", "isalnum", "isspace", "isupper", "islower", "zfill", "center",
        "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix", "encode",
        "decode", NULL};
    static const char *const list_m[] = {"append", "extend", "insert", "pop", "remove", "index",
                                         "count", "reverse", "sort", "copy", "clear", NULL};
    static const char *const dict_m[] = {"items", "keys", "values", "get", "update", "pop",
                                         "setdefault", "copy", "clear", "to_dict", NULL};
    const char *const *set = obj->type == JV_STR ? str_m : obj->type == JV_LIST ? list_m
                             : obj->type == JV_DICT ? dict_m : NULL;
    for (int i = 0; set && set[i]; i++)
        if (!strcmp(set[i], name)) {
            bound *b = arena_alloc(A, sizeof *b);
            if (!b)
                return NULL;
            b->self = obj;
            b->name = set[i];
            return jv_func(A, set[i], call_method, b);
        }
    return NULL;
}

/* ---- str.format ---------------------------------------------------------------------- */

/* A replacement field's spec: [[fill]align][sign][,][width][.precision][type] */
static bp_status format_field(jinja_rt *rt, const jv *v, const char *spec, size_t sn, buf *o)
{
    char fill = ' ', align = 0, type = 0;
    int width = 0, prec = -1;
    bool comma = false, plus = false;
    size_t i = 0;
    if (sn >= 2 && strchr("<>^=", spec[1])) {
        fill = spec[0];
        align = spec[1];
        i = 2;
    } else if (sn >= 1 && strchr("<>^=", spec[0])) {
        align = spec[0];
        i = 1;
    }
    if (i < sn && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' '))
        plus = spec[i++] == '+';
    if (i < sn && spec[i] == '0' && !align) {
        fill = '0';
        align = '=';
        i++;
    }
    while (i < sn && isdigit((unsigned char)spec[i]) && width < 10000000)
        width = width * 10 + (spec[i++] - '0');
    if (i < sn && spec[i] == ',') {
        comma = true;
        i++;
    }
    if (i < sn && spec[i] == '.') {
        prec = 0;
        i++;
        while (i < sn && isdigit((unsigned char)spec[i]))
            prec = prec < 1000000 ? prec * 10 + (spec[i++] - '0') : (i++, prec);
    }
    if (i < sn)
        type = spec[i];
    buf t = {0};
    bp_status st = BP_OK;
    if (type && strchr("fFeEgG%", type) && jv_is_num(v)) {
        double x = jv_num(v) * (type == '%' ? 100 : 1);
        char f[16];
        snprintf(f, sizeof f, "%%%s.%d%c", plus ? "+" : "", prec < 0 ? 6 : prec,
                 type == '%' ? 'f' : type);
        st = buf_printf(&t, f, x) ? oomf(rt) : BP_OK;
        if (type == '%' && st == BP_OK)
            st = buf_addc(&t, '%') ? oomf(rt) : BP_OK;
    } else if ((type == 'd' || (!type && v->type == JV_INT)) && jv_is_num(v)) {
        st = buf_printf(&t, plus ? "%+lld" : "%lld", (long long)jv_num(v)) ? oomf(rt) : BP_OK;
    } else if (!type && v->type == JV_FLOAT && prec >= 0) {
        st = buf_printf(&t, "%.*g", prec, v->u.f) ? oomf(rt) : BP_OK;
    } else {
        st = jinja_ev_str(rt, v, &t);
        if (st == BP_OK && prec >= 0 && (size_t)prec < t.len) {
            t.len = (size_t)prec;
            t.p[t.len] = 0;
        }
    }
    if (st == BP_OK && comma) { /* thousands separators in the integer part */
        buf c = {0};
        size_t start = t.len && (t.p[0] == '-' || t.p[0] == '+');
        size_t end = start;
        while (end < t.len && isdigit((unsigned char)t.p[end]))
            end++;
        bool ok = !buf_add(&c, t.p, start);
        for (size_t k = start; k < end && ok; k++) {
            ok = !buf_addc(&c, t.p[k]);
            size_t left = end - k - 1;
            if (ok && left && left % 3 == 0)
                ok = !buf_addc(&c, ',');
        }
        ok = ok && !buf_add(&c, t.p + end, t.len - end);
        buf_free(&t);
        t = c;
        if (!ok)
            st = oomf(rt);
    }
    if (st == BP_OK) {
        if (!align)
            align = jv_is_num(v) && v->type != JV_BOOL ? '>' : '<';
        int pad = width - (int)t.len;
        int left = pad <= 0 ? 0 : align == '<' ? 0 : align == '^' ? pad / 2 : pad;
        int right = pad <= 0 ? 0 : pad - left;
        bool ok = true;
        size_t sign = align == '=' && t.len && (t.p[0] == '-' || t.p[0] == '+');
        ok = !sign || !buf_addc(o, t.p[0]);
        for (int k = 0; k < left && ok; k++)
            ok = !buf_addc(o, fill);
        ok = ok && !buf_add(o, t.p + sign, t.len - sign);
        for (int k = 0; k < right && ok; k++)
            ok = !buf_addc(o, fill);
        if (!ok)
            st = oomf(rt);
    }
    buf_free(&t);
    return st;
}

static bp_status py_format(jinja_rt *rt, const jv *fmt, const jv_args *a, jv **out)
{
    buf o = {0};
    const char *p = fmt->u.s.p, *e = p + fmt->u.s.n;
    size_t auto_i = 0;
    bp_status st = BP_OK;
    while (p < e && st == BP_OK) {
        if (*p == '{' && p + 1 < e && p[1] == '{') {
            st = buf_addc(&o, '{') ? oomf(rt) : BP_OK;
            p += 2;
            continue;
        }
        if (*p == '}' && p + 1 < e && p[1] == '}') {
            st = buf_addc(&o, '}') ? oomf(rt) : BP_OK;
            p += 2;
            continue;
        }
        if (*p != '{') {
            st = buf_addc(&o, *p++) ? oomf(rt) : BP_OK;
            continue;
        }
        const char *close = memchr(p, '}', (size_t)(e - p));
        if (!close) {
            st = jinja_fail(rt, "format: a '{' without '}'");
            break;
        }
        const char *f = p + 1, *colon = memchr(f, ':', (size_t)(close - f));
        const char *bang = memchr(f, '!', (size_t)((colon ? colon : close) - f));
        const char *name_end = bang ? bang : colon ? colon : close;
        char nm[128];
        snprintf(nm, sizeof nm, "%.*s", (int)(name_end - f), f);
        jv *v = NULL;
        char *dot = strchr(nm, '.');
        if (dot)
            *dot = 0;
        if (!nm[0])
            v = jinja_arg(a, auto_i++, NULL);
        else if (isdigit((unsigned char)nm[0]))
            v = jinja_arg(a, (size_t)strtoul(nm, NULL, 10), NULL);
        else
            v = jinja_arg(a, SIZE_MAX, nm);
        if (!v) {
            st = jinja_fail(rt, "format: no argument for {%s}", nm);
            break;
        }
        if (dot)
            v = attr_path(rt, v, dot + 1);
        if (bang && bang + 1 < close && bang[1] == 'r') {
            buf r = {0};
            if (jv_repr(v, &r) || !(v = jv_from_buf(A, &r)))
                st = oomf(rt);
            buf_free(&r);
        }
        if (st == BP_OK)
            st = format_field(rt, v, colon ? colon + 1 : close,
                              colon ? (size_t)(close - colon - 1) : 0, &o);
        p = close + 1;
    }
    if (st) {
        buf_free(&o);
        return st;
    }
    return ret_buf(rt, out, &o);
}

/* ---- globals --------------------------------------------------------------------------- */

static bp_status g_range(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    int64_t start = 0, stop, step = 1;
    if (a->npos == 1)
        stop = int_arg(a->pos[0], 0);
    else if (a->npos >= 2) {
        start = int_arg(a->pos[0], 0);
        stop = int_arg(a->pos[1], 0);
        if (a->npos >= 3)
            step = int_arg(a->pos[2], 1);
    } else
        return jinja_fail(rt, "range wants 1 to 3 integers");
    if (!step)
        return jinja_fail(rt, "range() step must not be zero");
    int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                         : (start > stop ? (start - stop - step - 1) / -step : 0);
    if (n > 10000000)
        return jinja_fail(rt, "range() of %lld items is too long", (long long)n);
    jv *l = jv_list(A, (size_t)n);
    for (int64_t i = 0; l && i < n; i++)
        if (!jv_list_push(A, l, jv_int(A, start + i * step)))
            return oomf(rt);
    return ret(rt, out, l);
}

static bp_status g_dict(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    jv *d = jv_dict_new(A);
    if (!d)
        return oomf(rt);
    jv *src = jinja_arg(a, 0, NULL);
    for (size_t i = 0; src && src->type == JV_DICT && i < jv_dict_len(src); i++)
        jv_dict_set(A, d, jv_dict_key(src, i), jv_dict_val(src, i));
    for (size_t i = 0; src && src->type == JV_LIST && i < src->u.l.n; i++) {
        jv *pair = src->u.l.items[i];
        if (pair->type == JV_LIST && pair->u.l.n == 2 && pair->u.l.items[0]->type == JV_STR)
            jv_dict_set(A, d, pair->u.l.items[0]->u.s.p, pair->u.l.items[1]);
    }
    for (size_t i = 0; i < a->nkw; i++)
        if (!jv_dict_set(A, d, a->kw_names[i], a->kw[i]))
            return oomf(rt);
    *out = d;
    return BP_OK;
}

static bp_status g_namespace(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    bp_status st = g_dict(rt, data, a, out);
    if (st == BP_OK)
        (*out)->safe = true; /* marks a namespace: {% set ns.x = ... %} may write it */
    return st;
}

typedef struct {
    jv **items;
    size_t n, pos;
    const jv *sep;
    bool used;
} gen_state;

static jv *cycler_getattr(jinja_rt *rt, void *self, const char *name);
static const jv_obj_ops cycler_ops = {"Cycler", cycler_getattr, NULL, NULL, NULL, NULL, NULL, 0, NULL};

static bp_status cycler_next(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    gen_state *g = data;
    if (!g->n)
        return jinja_fail(rt, "an empty cycler");
    *out = g->items[g->pos];
    g->pos = (g->pos + 1) % g->n;
    return BP_OK;
}

static bp_status cycler_reset(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    ((gen_state *)data)->pos = 0;
    return ret(rt, out, jv_none(A));
}

static jv *cycler_getattr(jinja_rt *rt, void *self, const char *name)
{
    gen_state *g = self;
    if (!strcmp(name, "next"))
        return jv_func(A, "next", cycler_next, g);
    if (!strcmp(name, "reset"))
        return jv_func(A, "reset", cycler_reset, g);
    if (!strcmp(name, "current"))
        return g->n ? g->items[g->pos] : jv_none(A);
    return NULL;
}

static bp_status g_cycler(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    gen_state *g = arena_alloc(A, sizeof *g);
    if (!g)
        return oomf(rt);
    g->items = a->pos;
    g->n = a->npos;
    return ret(rt, out, jv_obj(A, &cycler_ops, g));
}

static bp_status joiner_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    (void)a;
    gen_state *g = self;
    if (!g->used) {
        g->used = true;
        return ret(rt, out, jv_str(A, "", 0));
    }
    *out = (jv *)g->sep;
    return BP_OK;
}

static const jv_obj_ops joiner_ops = {"Joiner", NULL, NULL, joiner_call, NULL, NULL, NULL, 0, NULL};

static bp_status g_joiner(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    gen_state *g = arena_alloc(A, sizeof *g);
    if (!g)
        return oomf(rt);
    g->sep = jinja_arg(a, 0, "sep");
    if (!g->sep && !(g->sep = jv_strz(A, ", ")))
        return oomf(rt);
    return ret(rt, out, jv_obj(A, &joiner_ops, g));
}

static bp_status g_lipsum(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    static const char *const words[] = {"lorem", "ipsum", "dolor", "sit", "amet",
                                        "consectetur", "adipiscing", "elit", "sed", "do"};
    int64_t n = int_arg(jinja_arg(a, 0, "n"), 5);
    buf b = {0};
    for (int64_t p = 0; p < n; p++)
        for (int i = 0; i < 20; i++)
            if (buf_printf(&b, "%s%s", (p || i) ? (i ? " " : "\n\n") : "", words[(p + i) % 10]))
                return ret_oom(rt, &b);
    return ret_buf(rt, out, &b);
}

jv *jinja_bi_global(jinja_rt *rt, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } g[] = {{"range", g_range},     {"dict", g_dict},     {"namespace", g_namespace},
             {"cycler", g_cycler},   {"joiner", g_joiner}, {"lipsum", g_lipsum}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (!strcmp(g[i].name, name))
            return jv_func(A, g[i].name, g[i].fn, NULL);
    return NULL;
}
