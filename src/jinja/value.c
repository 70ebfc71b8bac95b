/* value.c: Jinja values: construction, dicts, truth, equality and order,
 * and text as Python prints it (str, repr, JSON). */
#include "jinja_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- construction ------------------------------------------------------------------------ */

static jv *mkv(arena *a, jv_type t)
{
    jv *v = arena_alloc(a, sizeof *v);
    if (v)
        v->type = t;
    return v;
}

jv *jv_none(arena *a) { return mkv(a, JV_NONE); }

jv *jv_undef(arena *a, const char *name)
{
    jv *v = mkv(a, JV_UNDEF);
    if (v)
        v->u.undef_name = name ? arena_strndup(a, name, strlen(name)) : NULL;
    return v;
}

jv *jv_bool(arena *a, bool b)
{
    jv *v = mkv(a, JV_BOOL);
    if (v)
        v->u.b = b;
    return v;
}

jv *jv_int(arena *a, int64_t i)
{
    jv *v = mkv(a, JV_INT);
    if (v)
        v->u.i = i;
    return v;
}

jv *jv_float(arena *a, double f)
{
    jv *v = mkv(a, JV_FLOAT);
    if (v)
        v->u.f = f;
    return v;
}

jv *jv_str(arena *a, const char *s, size_t n)
{
    jv *v = mkv(a, JV_STR);
    if (!v)
        return NULL;
    char *c = arena_strndup(a, s ? s : "", s ? n : 0);
    if (!c)
        return NULL;
    v->u.s.p = c;
    v->u.s.n = s ? n : 0;
    return v;
}

jv *jv_strz(arena *a, const char *s) { return jv_str(a, s, s ? strlen(s) : 0); }

jv *jv_strf(arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *c = n >= 0 ? arena_alloc(a, (size_t)n + 1) : NULL;
    jv *v = c ? mkv(a, JV_STR) : NULL;
    if (!v)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(c, (size_t)n + 1, fmt, ap);
    va_end(ap);
    v->u.s.p = c;
    v->u.s.n = (size_t)n;
    return v;
}

jv *jv_from_buf(arena *a, const buf *b) { return jv_str(a, b->p ? b->p : "", b->len); }

jv *jv_list(arena *a, size_t cap)
{
    jv *v = mkv(a, JV_LIST);
    if (!v)
        return NULL;
    if (cap && !(v->u.l.items = arena_alloc(a, cap * sizeof(jv *))))
        return NULL;
    v->u.l.cap = cap;
    return v;
}

bool jv_list_push(arena *a, jv *list, jv *item)
{
    if (!item)
        return false;
    if (list->u.l.n == list->u.l.cap) {
        size_t cap = list->u.l.cap ? list->u.l.cap * 2 : 8;
        jv **n = arena_alloc(a, cap * sizeof *n);
        if (!n)
            return false;
        if (list->u.l.n)
            memcpy(n, list->u.l.items, list->u.l.n * sizeof *n);
        list->u.l.items = n;
        list->u.l.cap = cap;
    }
    list->u.l.items[list->u.l.n++] = item;
    return true;
}

jv *jv_func(arena *a, const char *name, jv_fn fn, void *data)
{
    jv *v = mkv(a, JV_FUNC);
    if (v) {
        v->u.fn.fn = fn;
        v->u.fn.data = data;
        v->u.fn.name = name;
    }
    return v;
}

jv *jv_obj(arena *a, const jv_obj_ops *ops, void *self)
{
    jv *v = mkv(a, JV_OBJ);
    if (v) {
        v->u.obj.ops = ops;
        v->u.obj.self = self;
    }
    return v;
}

/* ---- dicts: keys in insertion order, a hash index once they grow ----------------------- */

struct jv_dict {
    const char **keys;
    jv **vals;
    size_t n, cap;
    int32_t *index;      /* open addressing: slot -> entry + 1 (0 empty) */
    size_t nindex;       /* a power of two, or 0 below INDEX_FROM */
};

#define INDEX_FROM 16

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

jv *jv_dict_new(arena *a)
{
    jv *v = mkv(a, JV_DICT);
    if (v && !(v->u.d = arena_alloc(a, sizeof(jv_dict))))
        return NULL;
    return v;
}

static bool reindex(arena *a, jv_dict *d)
{
    size_t m = 32;
    while (m < d->cap * 2)
        m *= 2;
    int32_t *ix = arena_alloc(a, m * sizeof *ix);
    if (!ix)
        return false;
    for (size_t i = 0; i < d->n; i++) {
        size_t s = (size_t)hash_str(d->keys[i]) & (m - 1);
        while (ix[s])
            s = (s + 1) & (m - 1);
        ix[s] = (int32_t)(i + 1);
    }
    d->index = ix;
    d->nindex = m;
    return true;
}

static long find(const jv_dict *d, const char *key)
{
    if (d->nindex) {
        size_t s = (size_t)hash_str(key) & (d->nindex - 1);
        while (d->index[s]) {
            size_t i = (size_t)d->index[s] - 1;
            if (!strcmp(d->keys[i], key))
                return (long)i;
            s = (s + 1) & (d->nindex - 1);
        }
        return -1;
    }
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->keys[i], key))
            return (long)i;
    return -1;
}

bool jv_dict_set(arena *a, jv *dict, const char *key, jv *v)
{
    jv_dict *d = dict->u.d;
    if (!v || !key)
        return false;
    long i = find(d, key);
    if (i >= 0) {
        d->vals[i] = v;
        return true;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        const char **k = arena_alloc(a, cap * sizeof *k);
        jv **vs = arena_alloc(a, cap * sizeof *vs);
        if (!k || !vs)
            return false;
        if (d->n) {
            memcpy(k, d->keys, d->n * sizeof *k);
            memcpy(vs, d->vals, d->n * sizeof *vs);
        }
        d->keys = k;
        d->vals = vs;
        d->cap = cap;
        if (cap >= INDEX_FROM)
            d->nindex = 0; /* rebuilt below */
    }
    const char *kc = arena_strndup(a, key, strlen(key));
    if (!kc)
        return false;
    d->keys[d->n] = kc;
    d->vals[d->n] = v;
    d->n++;
    if (d->cap >= INDEX_FROM) {
        if (!d->nindex || d->n * 2 > d->nindex)
            return reindex(a, d);
        size_t s = (size_t)hash_str(kc) & (d->nindex - 1);
        while (d->index[s])
            s = (s + 1) & (d->nindex - 1);
        d->index[s] = (int32_t)d->n;
    }
    return true;
}

jv *jv_dict_get(const jv *dict, const char *key)
{
    long i = find(dict->u.d, key);
    return i >= 0 ? dict->u.d->vals[i] : NULL;
}

size_t jv_dict_len(const jv *dict) { return dict->u.d->n; }
const char *jv_dict_key(const jv *dict, size_t i) { return dict->u.d->keys[i]; }
jv *jv_dict_val(const jv *dict, size_t i) { return dict->u.d->vals[i]; }

bool jv_dict_del(jv *dict, const char *key)
{
    jv_dict *d = dict->u.d;
    long i = find(d, key);
    if (i < 0)
        return false;
    memmove(&d->keys[i], &d->keys[i + 1], (d->n - (size_t)i - 1) * sizeof *d->keys);
    memmove(&d->vals[i], &d->vals[i + 1], (d->n - (size_t)i - 1) * sizeof *d->vals);
    d->n--;
    if (d->nindex) { /* positions moved: rebuild in place */
        memset(d->index, 0, d->nindex * sizeof *d->index);
        for (size_t k = 0; k < d->n; k++) {
            size_t s = (size_t)hash_str(d->keys[k]) & (d->nindex - 1);
            while (d->index[s])
                s = (s + 1) & (d->nindex - 1);
            d->index[s] = (int32_t)(k + 1);
        }
    }
    return true;
}

/* ---- truth, numbers, order ------------------------------------------------------------ */

bool jv_truthy(const jv *v)
{
    if (!v)
        return false;
    switch (v->type) {
    case JV_UNDEF: case JV_NONE: return false;
    case JV_BOOL: return v->u.b;
    case JV_INT: return v->u.i != 0;
    case JV_FLOAT: return v->u.f != 0;
    case JV_STR: return v->u.s.n > 0;
    case JV_LIST: return v->u.l.n > 0;
    case JV_DICT: return v->u.d->n > 0;
    default: return true;
    }
}

bool jv_is_str(const jv *v) { return v && v->type == JV_STR; }

bool jv_is_num(const jv *v)
{
    return v && (v->type == JV_INT || v->type == JV_FLOAT || v->type == JV_BOOL);
}

double jv_num(const jv *v)
{
    return v->type == JV_INT ? (double)v->u.i : v->type == JV_FLOAT ? v->u.f
                                                : v->type == JV_BOOL ? (double)v->u.b : 0;
}

bool jv_is_iterable(const jv *v)
{
    return v && (v->type == JV_LIST || v->type == JV_DICT || v->type == JV_STR ||
                 (v->type == JV_OBJ && v->u.obj.ops->iter));
}

bool jv_equal(const jv *a, const jv *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a->type != JV_FLOAT && b->type != JV_FLOAT)
            return (a->type == JV_INT ? a->u.i : a->u.b) == (b->type == JV_INT ? b->u.i : b->u.b);
        return jv_num(a) == jv_num(b);
    }
    if (a->type == JV_OBJ && a->u.obj.ops->eq)
        return a->u.obj.ops->eq(a->u.obj.self, b);
    if (b->type == JV_OBJ && b->u.obj.ops->eq)
        return b->u.obj.ops->eq(b->u.obj.self, a);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case JV_UNDEF: case JV_NONE: return true;
    case JV_STR: return a->u.s.n == b->u.s.n && !memcmp(a->u.s.p, b->u.s.p, a->u.s.n);
    case JV_LIST:
        if (a->u.l.n != b->u.l.n)
            return false;
        for (size_t i = 0; i < a->u.l.n; i++)
            if (!jv_equal(a->u.l.items[i], b->u.l.items[i]))
                return false;
        return true;
    case JV_DICT:
        if (a->u.d->n != b->u.d->n)
            return false;
        for (size_t i = 0; i < a->u.d->n; i++) {
            jv *o = jv_dict_get(b, a->u.d->keys[i]);
            if (!o || !jv_equal(a->u.d->vals[i], o))
                return false;
        }
        return true;
    case JV_FUNC: return a->u.fn.fn == b->u.fn.fn && a->u.fn.data == b->u.fn.data;
    case JV_MACRO: return a->u.mac.m == b->u.mac.m;
    case JV_OBJ: return a->u.obj.self == b->u.obj.self;
    default: return false;
    }
}

int jv_cmp(const jv *a, const jv *b, bool *ok)
{
    *ok = true;
    if (jv_is_num(a) && jv_is_num(b)) {
        if (a->type == JV_INT && b->type == JV_INT)
            return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        double x = jv_num(a), y = jv_num(b);
        return x < y ? -1 : x > y;
    }
    if (a->type == JV_STR && b->type == JV_STR) {
        size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
        int c = memcmp(a->u.s.p, b->u.s.p, n);
        return c ? (c < 0 ? -1 : 1) : (a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n);
    }
    if (a->type == JV_LIST && b->type == JV_LIST) {
        size_t n = a->u.l.n < b->u.l.n ? a->u.l.n : b->u.l.n;
        for (size_t i = 0; i < n; i++) {
            if (jv_equal(a->u.l.items[i], b->u.l.items[i]))
                continue;
            return jv_cmp(a->u.l.items[i], b->u.l.items[i], ok);
        }
        return a->u.l.n < b->u.l.n ? -1 : a->u.l.n > b->u.l.n;
    }
    *ok = false;
    return 0;
}

/* ---- text ---------------------------------------------------------------------------- */

/* Python's repr of a float: the shortest digits that read back the same,
 * fixed notation between 1e-4 and 1e16, else exponent notation. */
bp_status jv_format_float(double f, buf *out)
{
    if (isnan(f))
        return buf_adds(out, "nan");
    if (isinf(f))
        return buf_adds(out, f < 0 ? "-inf" : "inf");
    char e[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f)
            break;
    }
    /* e: [-]d[.ddd]e[+-]XX */
    char *ep = strchr(e, 'e');
    int exp = (int)strtol(ep + 1, NULL, 10);
    *ep = 0;
    char digits[32];
    size_t nd = 0;
    bool neg = e[0] == '-';
    for (const char *p = e + neg; *p; p++)
        if (*p != '.')
            digits[nd++] = *p;
    digits[nd] = 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = 0;
    if (neg && buf_addc(out, '-'))
        return BP_ENOMEM;
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            if (buf_adds(out, "0."))
                return BP_ENOMEM;
            for (int i = 0; i < -exp - 1; i++)
                if (buf_addc(out, '0'))
                    return BP_ENOMEM;
            return buf_adds(out, digits);
        }
        for (int i = 0; i <= exp; i++)
            if (buf_addc(out, i < (int)nd ? digits[i] : '0'))
                return BP_ENOMEM;
        if (buf_addc(out, '.'))
            return BP_ENOMEM;
        if ((int)nd <= exp + 1)
            return buf_addc(out, '0');
        return buf_adds(out, digits + exp + 1);
    }
    if (buf_addc(out, digits[0]))
        return BP_ENOMEM;
    if (nd > 1 && (buf_addc(out, '.') || buf_adds(out, digits + 1)))
        return BP_ENOMEM;
    return buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static bp_status repr_str(const char *s, size_t n, buf *out)
{
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    if (buf_addc(out, q))
        return BP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bp_status st;
        if (c == '\\' || c == (unsigned char)q)
            st = buf_addc(out, '\\') || buf_addc(out, (char)c);
        else if (c == '\n')
            st = buf_adds(out, "\\n");
        else if (c == '\r')
            st = buf_adds(out, "\\r");
        else if (c == '\t')
            st = buf_adds(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            st = buf_printf(out, "\\x%02x", c);
        else
            st = buf_addc(out, (char)c);
        if (st)
            return BP_ENOMEM;
    }
    return buf_addc(out, q);
}

static bp_status text(const jv *v, buf *out, bool quote)
{
    switch (v ? v->type : JV_NONE) {
    case JV_UNDEF: return BP_OK;
    case JV_NONE: return buf_adds(out, "None");
    case JV_BOOL: return buf_adds(out, v->u.b ? "True" : "False");
    case JV_INT: return buf_printf(out, "%lld", (long long)v->u.i);
    case JV_FLOAT: return jv_format_float(v->u.f, out);
    case JV_STR:
        return quote ? repr_str(v->u.s.p, v->u.s.n, out) : buf_add(out, v->u.s.p, v->u.s.n);
    case JV_LIST: {
        if (buf_addc(out, v->tuple ? '(' : '['))
            return BP_ENOMEM;
        for (size_t i = 0; i < v->u.l.n; i++)
            if ((i && buf_adds(out, ", ")) || text(v->u.l.items[i], out, true))
                return BP_ENOMEM;
        if (v->tuple && v->u.l.n == 1 && buf_addc(out, ','))
            return BP_ENOMEM;
        return buf_addc(out, v->tuple ? ')' : ']');
    }
    case JV_DICT: {
        if (buf_addc(out, '{'))
            return BP_ENOMEM;
        for (size_t i = 0; i < v->u.d->n; i++)
            if ((i && buf_adds(out, ", ")) ||
                repr_str(v->u.d->keys[i], strlen(v->u.d->keys[i]), out) ||
                buf_adds(out, ": ") || text(v->u.d->vals[i], out, true))
                return BP_ENOMEM;
        return buf_addc(out, '}');
    }
    case JV_MACRO: return buf_printf(out, "<Macro '%s'>", v->u.mac.m->name);
    case JV_FUNC: return buf_printf(out, "<function %s>", v->u.fn.name ? v->u.fn.name : "?");
    case JV_OBJ:
        if (v->u.obj.ops->str)
            return v->u.obj.ops->str(NULL, v->u.obj.self, out);
        return buf_printf(out, "<%s>", v->u.obj.ops->type_name);
    }
    return BP_OK;
}

bp_status jv_to_str(const jv *v, buf *out) { return text(v, out, false); }
bp_status jv_repr(const jv *v, buf *out) { return text(v, out, true); }

static bool json_str(const char *s, size_t n, buf *out)
{
    if (buf_addc(out, '"'))
        return false;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) { /* ensure_ascii: \uXXXX (surrogate pairs above the BMP) */
            unsigned long cp;
            int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (len == 1 || i + (size_t)len > n) {
                cp = 0xFFFD;
                len = 1;
            } else {
                cp = c & (0xFF >> (len + 1));
                for (int k = 1; k < len; k++)
                    cp = (cp << 6) | ((unsigned char)s[i + (size_t)k] & 0x3F);
            }
            i += (size_t)len;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                if (buf_printf(out, "\\u%04lx\\u%04lx", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
                    return false;
            } else if (buf_printf(out, "\\u%04lx", cp))
                return false;
            continue;
        }
        i++;
        bp_status st;
        switch (c) {
        case '"': st = buf_adds(out, "\\\""); break;
        case '\\': st = buf_adds(out, "\\\\"); break;
        case '\n': st = buf_adds(out, "\\n"); break;
        case '\r': st = buf_adds(out, "\\r"); break;
        case '\t': st = buf_adds(out, "\\t"); break;
        case '\b': st = buf_adds(out, "\\b"); break;
        case '\f': st = buf_adds(out, "\\f"); break;
        default:
            st = c < 0x20 ? buf_printf(out, "\\u%04x", c) : buf_addc(out, (char)c);
        }
        if (st)
            return false;
    }
    return !buf_addc(out, '"');
}

static bool json_nl(buf *out, int indent, int level)
{
    if (indent <= 0)
        return true;
    if (buf_addc(out, '\n'))
        return false;
    for (int i = 0; i < indent * level; i++)
        if (buf_addc(out, ' '))
            return false;
    return true;
}

static int key_order(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

static bool json(const jv *v, buf *out, int indent, int level, bool sort)
{
    switch (v ? v->type : JV_NONE) {
    case JV_NONE: case JV_UNDEF: return !buf_adds(out, "null");
    case JV_BOOL: return !buf_adds(out, v->u.b ? "true" : "false");
    case JV_INT: return !buf_printf(out, "%lld", (long long)v->u.i);
    case JV_FLOAT:
        if (isnan(v->u.f))
            return !buf_adds(out, "NaN");
        if (isinf(v->u.f))
            return !buf_adds(out, v->u.f < 0 ? "-Infinity" : "Infinity");
        return !jv_format_float(v->u.f, out);
    case JV_STR: return json_str(v->u.s.p, v->u.s.n, out);
    case JV_LIST:
        if (buf_addc(out, '['))
            return false;
        for (size_t i = 0; i < v->u.l.n; i++)
            if ((i && buf_adds(out, indent > 0 ? "," : ", ")) || !json_nl(out, indent, level + 1) ||
                !json(v->u.l.items[i], out, indent, level + 1, sort))
                return false;
        return (!v->u.l.n || json_nl(out, indent, level)) && !buf_addc(out, ']');
    case JV_DICT: {
        size_t n = v->u.d->n;
        /* positions, sorted by key when asked */
        const char ***order = n ? malloc(n * sizeof *order) : NULL;
        if (n && !order)
            return false;
        for (size_t i = 0; i < n; i++)
            order[i] = &v->u.d->keys[i];
        if (sort && n)
            qsort(order, n, sizeof *order, key_order);
        bool ok = !buf_addc(out, '{');
        for (size_t k = 0; k < n && ok; k++) {
            size_t i = (size_t)(order[k] - v->u.d->keys);
            ok = !(k && buf_adds(out, indent > 0 ? "," : ", ")) && json_nl(out, indent, level + 1) &&
                 json_str(v->u.d->keys[i], strlen(v->u.d->keys[i]), out) &&
                 !buf_adds(out, ": ") && json(v->u.d->vals[i], out, indent, level + 1, sort);
        }
        free(order);
        return ok && (!n || json_nl(out, indent, level)) && !buf_addc(out, '}');
    }
    case JV_OBJ: {
        buf t = {0};
        bool ok = !text(v, &t, false) && json_str(t.p ? t.p : "", t.len, out);
        buf_free(&t);
        return ok;
    }
    default:
        return false;
    }
}

bool jv_to_json(const jv *v, buf *out, int indent, bool sort_keys)
{
    return json(v, out, indent, 0, sort_keys);
}

/* ---- copies ------------------------------------------------------------------------------ */

/* A deep copy of v into a; with leaves false, lists and dicts only (their
 * other values shared: nothing changes them in place). */
static jv *copy(arena *a, const jv *v, bool leaves)
{
    if (!v)
        return NULL;
    jv *c;
    switch (v->type) {
    case JV_LIST:
        c = jv_list(a, v->u.l.n);
        if (!c)
            return NULL;
        c->tuple = v->tuple;
        for (size_t i = 0; i < v->u.l.n; i++)
            if (!jv_list_push(a, c, copy(a, v->u.l.items[i], leaves)))
                return NULL;
        return c;
    case JV_DICT:
        c = jv_dict_new(a);
        for (size_t i = 0; c && i < jv_dict_len(v); i++)
            if (!jv_dict_set(a, c, jv_dict_key(v, i), copy(a, jv_dict_val(v, i), leaves)))
                return NULL;
        return c;
    default:
        break;
    }
    if (!leaves)
        return (jv *)v;
    switch (v->type) {
    case JV_STR:
        c = jv_str(a, v->u.s.p, v->u.s.n);
        if (c)
            c->safe = v->safe;
        return c;
    case JV_UNDEF:
        return jv_undef(a, v->u.undef_name);
    default:
        c = arena_alloc(a, sizeof *c);
        if (c)
            *c = *v;
        return c;
    }
}

jv *jv_copy(arena *a, const jv *v) { return copy(a, v, true); }

jv *jv_copy_containers(arena *a, const jv *v) { return copy(a, v, false); }

/* ---- Python literals ------------------------------------------------------------------- */

typedef struct {
    arena *a;
    const char *p, *end;
    int depth;
} lit;

static void lit_space(lit *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static jv *lit_value(lit *l);

static jv *lit_string(lit *l)
{
    char q = *l->p++;
    buf b = {0};
    jv *v = NULL;
    while (l->p < l->end && *l->p != q) {
        char c = *l->p++;
        if (c == '\n')
            goto done;
        if (c == '\\' && l->p < l->end) {
            c = *l->p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '0': c = '\0'; break;
            case '\\': case '\'': case '"': break;
            default:
                if (buf_addc(&b, '\\'))
                    goto done;
            }
        }
        if (buf_addc(&b, c))
            goto done;
    }
    if (l->p < l->end) {
        l->p++;
        v = jv_from_buf(l->a, &b);
    }
done:
    buf_free(&b);
    return v;
}

static jv *lit_number(lit *l)
{
    const char *s = l->p;
    if (l->p < l->end && (*l->p == '-' || *l->p == '+'))
        l->p++;
    bool flt = false, digits = false;
    while (l->p < l->end) {
        char c = *l->p;
        if (c >= '0' && c <= '9')
            digits = true;
        else if (c == '.' || c == 'e' || c == 'E')
            flt = true;
        else if (!((c == '-' || c == '+') && (l->p[-1] == 'e' || l->p[-1] == 'E')) && c != '_')
            break;
        l->p++;
    }
    if (!digits)
        return NULL;
    char tmp[64];
    size_t n = 0;
    for (const char *q = s; q < l->p && n < sizeof tmp - 1; q++)
        if (*q != '_')
            tmp[n++] = *q;
    tmp[n] = 0;
    char *e;
    if (!flt) {
        long long i = strtoll(tmp, &e, 10);
        return *e ? NULL : jv_int(l->a, i);
    }
    double d = strtod(tmp, &e);
    return *e ? NULL : jv_float(l->a, d);
}

/* Items up to close: [a, b], (a, b), {k: v}. */
static jv *lit_seq(lit *l, char close, bool dict)
{
    l->p++;
    jv *out = dict ? jv_dict_new(l->a) : jv_list(l->a, 4);
    if (!out)
        return NULL;
    out->tuple = close == ')';
    bool comma = false;
    for (;;) {
        lit_space(l);
        if (l->p < l->end && *l->p == close) {
            l->p++;
            break;
        }
        jv *k = lit_value(l), *v = k;
        if (!k)
            return NULL;
        lit_space(l);
        if (dict) {
            if (k->type != JV_STR || l->p >= l->end || *l->p != ':')
                return NULL;
            l->p++;
            if (!(v = lit_value(l)) || !jv_dict_set(l->a, out, k->u.s.p, v))
                return NULL;
        } else if (!jv_list_push(l->a, out, v)) {
            return NULL;
        }
        lit_space(l);
        comma = l->p < l->end && *l->p == ',';
        if (comma)
            l->p++;
        else if (l->p >= l->end || *l->p != close)
            return NULL;
    }
    /* (1) is the number 1, (1,) a tuple */
    if (close == ')' && out->u.l.n == 1 && !comma)
        return out->u.l.items[0];
    return out;
}

static jv *lit_value(lit *l)
{
    lit_space(l);
    if (l->p >= l->end || ++l->depth > 100)
        return NULL;
    jv *v;
    char c = *l->p;
    if (c == '\'' || c == '"')
        v = lit_string(l);
    else if (c == '[')
        v = lit_seq(l, ']', false);
    else if (c == '(')
        v = lit_seq(l, ')', false);
    else if (c == '{')
        v = lit_seq(l, '}', true);
    else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')
        v = lit_number(l);
    else {
        static const char *const words[] = {"True", "False", "None"};
        v = NULL;
        for (int i = 0; i < 3 && !v; i++) {
            size_t n = strlen(words[i]);
            if ((size_t)(l->end - l->p) >= n && !memcmp(l->p, words[i], n) &&
                (l->p + n == l->end || !(isalnum((unsigned char)l->p[n]) || l->p[n] == '_'))) {
                l->p += n;
                v = i == 2 ? jv_none(l->a) : jv_bool(l->a, i == 0);
            }
        }
    }
    l->depth--;
    return v;
}

bool jinja_literal_eval(arena *a, const char *s, size_t n, jv **out)
{
    lit l = {a, s, s + n, 0};
    jv *v = lit_value(&l);
    lit_space(&l);
    if (!v || l.p != l.end)
        return false;
    *out = v;
    return true;
}
