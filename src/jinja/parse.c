/* parse.c: Jinja source -> tokens -> syntax tree.
 *
 * The lexer cuts the source into text and tag tokens, applying whitespace
 * control ({%- -%}, and Jinja's default of dropping one trailing newline of
 * the template) and raw blocks; the parser is recursive descent with
 * Jinja2's own precedence (parser.py): conditional < or < and < not <
 * comparison < + - < ~ < * / // % < ** < unary - + < postfix (. [] ())
 * and filters/tests. */
#include "jinja_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_TEXT, T_VAR_BEGIN, T_VAR_END, T_BLOCK_BEGIN, T_BLOCK_END,
    T_NAME, T_INT, T_FLOAT, T_STR, T_OP, T_EOF
} tok_kind;

typedef struct {
    tok_kind kind;
    const char *p;     /* text (T_TEXT), the name/op/number text, the string's value */
    size_t n;
    int line, col;
    int64_t i;
    double f;
} token;

typedef struct {
    jinja_tpl *t;
    const jinja_env *env;
    bp_err *err;
    bool failed;
    token *toks;
    size_t ntoks, cap, pos;
    int depth;
    jinja_macro *cur_macro;   /* for varargs/kwargs/caller use */
} parser;

static void *palloc(parser *ps, size_t n)
{
    void *p = arena_alloc(&ps->t->mem, n);
    if (!p && !ps->failed) {
        ps->failed = true;
        bp_fail(ps->err, BP_ENOMEM, "out of memory parsing %s", ps->t->file);
    }
    return p;
}

static bool fail_at(parser *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_at(parser *ps, int line, int col, const char *fmt, ...)
{
    if (ps->failed)
        return false;
    ps->failed = true;
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bp_fail(ps->err, BP_EINPUT, "%s:%d:%d: %s", ps->t->file, line, col, msg);
    return false;
}

/* ---- lexing -------------------------------------------------------------------------- */

static void line_col(const jinja_tpl *t, const char *at, int *line, int *col)
{
    int l = 1, c = 1;
    for (const char *p = t->src; p < at && *p; p++) {
        if (*p == '\n') {
            l++;
            c = 1;
        } else
            c++;
    }
    *line = l;
    *col = c;
}

static bool push_tok(parser *ps, token tk)
{
    if (ps->ntoks == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 256;
        token *n = realloc(ps->toks, cap * sizeof *n);
        if (!n) {
            ps->failed = true;
            bp_fail(ps->err, BP_ENOMEM, "out of memory parsing %s", ps->t->file);
            return false;
        }
        ps->toks = n;
        ps->cap = cap;
    }
    ps->toks[ps->ntoks++] = tk;
    return true;
}

static bool is_name_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool is_name_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

/* A string literal starting at *pp (on its quote): Python's escapes; an
 * unknown escape keeps its backslash, as Python does. */
static bool lex_string(parser *ps, const char **pp, const char *end, token *tk)
{
    const char *p = *pp;
    char q = *p++;
    buf b = {0};
    bool ok = true;
    while (p < end && *p != q) {
        char c = *p++;
        if (c != '\\' || p >= end) {
            ok = ok && !buf_addc(&b, c);
            continue;
        }
        char e = *p++;
        unsigned long cp = 0;
        int hex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (hex) {
            int k = 0;
            for (; k < hex && p < end && isxdigit((unsigned char)*p); k++, p++)
                cp = cp * 16 + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0'
                                                  : (tolower((unsigned char)*p) - 'a' + 10));
            if (k < hex) {
                buf_free(&b);
                return fail_at(ps, tk->line, tk->col, "truncated \\%c escape in a string", e);
            }
            /* as UTF-8 */
            if (cp < 0x80)
                ok = ok && !buf_addc(&b, (char)cp);
            else if (cp < 0x800)
                ok = ok && !buf_addc(&b, (char)(0xC0 | (cp >> 6))) &&
                     !buf_addc(&b, (char)(0x80 | (cp & 0x3F)));
            else if (cp < 0x10000)
                ok = ok && !buf_addc(&b, (char)(0xE0 | (cp >> 12))) &&
                     !buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3F))) &&
                     !buf_addc(&b, (char)(0x80 | (cp & 0x3F)));
            else
                ok = ok && !buf_addc(&b, (char)(0xF0 | (cp >> 18))) &&
                     !buf_addc(&b, (char)(0x80 | ((cp >> 12) & 0x3F))) &&
                     !buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3F))) &&
                     !buf_addc(&b, (char)(0x80 | (cp & 0x3F)));
            continue;
        }
        char r;
        switch (e) {
        case 'n': r = '\n'; break;
        case 't': r = '\t'; break;
        case 'r': r = '\r'; break;
        case '0': r = '\0'; break;
        case 'a': r = '\a'; break;
        case 'b': r = '\b'; break;
        case 'f': r = '\f'; break;
        case 'v': r = '\v'; break;
        case '\\': case '\'': case '"': r = e; break;
        case '\n': continue; /* a line continuation */
        default:
            ok = ok && !buf_addc(&b, '\\') && !buf_addc(&b, e);
            continue;
        }
        ok = ok && !buf_addc(&b, r);
    }
    if (p >= end) {
        buf_free(&b);
        return fail_at(ps, tk->line, tk->col, "a string that is never closed");
    }
    *pp = p + 1;
    tk->kind = T_STR;
    tk->n = b.len;
    tk->p = ok ? arena_strndup(&ps->t->mem, b.p ? b.p : "", b.len) : NULL;
    buf_free(&b);
    if (!tk->p) {
        ps->failed = true;
        bp_fail(ps->err, BP_ENOMEM, "out of memory");
        return false;
    }
    return true;
}

static bool lex_number(const char **pp, const char *end, token *tk)
{
    const char *p = *pp;
    char digits[128];
    size_t n = 0;
    bool is_float = false;
    int base = 10;
    if (p + 1 < end && p[0] == '0' && strchr("xXoObB", p[1])) {
        base = (p[1] == 'x' || p[1] == 'X') ? 16 : (p[1] == 'o' || p[1] == 'O') ? 8 : 2;
        p += 2;
    }
    while (p < end && n < sizeof digits - 1) {
        char c = *p;
        if (c == '_') {
            p++;
            continue;
        }
        if (base == 10 && c == '.' && !is_float && p + 1 < end && isdigit((unsigned char)p[1])) {
            is_float = true;
        } else if (base == 10 && (c == 'e' || c == 'E') && p + 1 < end &&
                   (isdigit((unsigned char)p[1]) ||
                    ((p[1] == '+' || p[1] == '-') && p + 2 < end &&
                     isdigit((unsigned char)p[2])))) {
            is_float = true;
            digits[n++] = c;
            p++;
            c = *p;
        } else if (!(base == 16 ? isxdigit((unsigned char)c) : isdigit((unsigned char)c)))
            break;
        digits[n++] = c;
        p++;
    }
    digits[n] = 0;
    *pp = p;
    if (is_float) {
        tk->kind = T_FLOAT;
        tk->f = strtod(digits, NULL);
    } else {
        tk->kind = T_INT;
        unsigned long long v = strtoull(digits, NULL, base);
        tk->i = (int64_t)v;
        if (v > (unsigned long long)INT64_MAX) { /* beyond int64: a float, as a big int would print */
            tk->kind = T_FLOAT;
            tk->f = (double)v;
        }
    }
    return true;
}

static const char *const ops2[] = {"**", "//", "==", "!=", "<=", ">=", NULL};

/* The tokens of one tag's inside, up to its end delimiter. Returns the
 * position after the delimiter, or NULL on failure; *strip_after tells
 * whether the delimiter had a '-' (strip the whitespace that follows). */
static const char *lex_tag(parser *ps, const char *p, const char *end, const char *close,
                           tok_kind end_kind, bool *strip_after)
{
    jinja_tpl *t = ps->t;
    int depth = 0; /* open brackets: their closing braces are not the tag's end */
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p >= end) {
            int l, c;
            line_col(t, p, &l, &c);
            return fail_at(ps, l, c, "the template ends inside a tag (missing '%s')", close),
                   NULL;
        }
        token tk = {0};
        line_col(t, p, &tk.line, &tk.col);
        /* the end delimiter, with its whitespace control */
        if (depth == 0 && (*p == '-' || *p == '+') && !strncmp(p + 1, close, 2)) {
            *strip_after = *p == '-';
            tk.kind = end_kind;
            push_tok(ps, tk);
            return p + 3;
        }
        if (depth == 0 && !strncmp(p, close, 2)) {
            *strip_after = false;
            tk.kind = end_kind;
            push_tok(ps, tk);
            return p + 2;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '\'' || c == '"') {
            if (!lex_string(ps, &p, end, &tk))
                return NULL;
        } else if (isdigit(c)) {
            lex_number(&p, end, &tk);
        } else if (is_name_start(c)) {
            const char *s = p;
            while (p < end && is_name_char((unsigned char)*p))
                p++;
            tk.kind = T_NAME;
            tk.p = s;
            tk.n = (size_t)(p - s);
        } else {
            size_t k = 1;
            for (int i = 0; ops2[i]; i++)
                if (p + 1 < end && !strncmp(p, ops2[i], 2))
                    k = 2;
            if (k == 1 && !strchr("+-*/%~[](){}<>=.:|,;!", c)) {
                line_col(t, p, &tk.line, &tk.col);
                return fail_at(ps, tk.line, tk.col, "unexpected character '%c'", c), NULL;
            }
            if (k == 1 && c == '!') {
                return fail_at(ps, tk.line, tk.col, "unexpected '!' (use 'not' or '!=')"),
                       NULL;
            }
            tk.kind = T_OP;
            tk.p = p;
            tk.n = k;
            p += k;
            if (k == 1 && strchr("([{", c))
                depth++;
            else if (k == 1 && strchr(")]}", c) && depth > 0)
                depth--;
        }
        if (!push_tok(ps, tk))
            return NULL;
    }
}

/* Strip trailing whitespace of the last text token (a '-' on the tag
 * that follows it). */
static void rstrip_last_text(parser *ps)
{
    if (!ps->ntoks || ps->toks[ps->ntoks - 1].kind != T_TEXT)
        return;
    token *tk = &ps->toks[ps->ntoks - 1];
    while (tk->n && isspace((unsigned char)tk->p[tk->n - 1]))
        tk->n--;
}

/* {% raw %} at p (just after "{%" and an optional '-')? Returns where the
 * raw text starts, or NULL. */
static const char *raw_start(const char *p, const char *end, bool *strip)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (end - p < 3 || strncmp(p, "raw", 3) != 0 || (p + 3 < end && is_name_char((unsigned char)p[3])))
        return NULL;
    p += 3;
    while (p < end && isspace((unsigned char)*p))
        p++;
    *strip = false;
    if (p < end && (*p == '-' || *p == '+')) {
        *strip = *p == '-';
        p++;
    }
    return end - p >= 2 && !strncmp(p, "%}", 2) ? p + 2 : NULL;
}

/* The matching {% endraw %} from p: sets *text_end (where the raw text
 * ends, before any '-' stripping) and returns the position after it. */
static const char *raw_end(const char *p, const char *end, const char **text_end, bool *strip_before,
                           bool *strip_after)
{
    for (const char *q = p; q + 1 < end; q++) {
        if (q[0] != '{' || q[1] != '%')
            continue;
        const char *r = q + 2;
        *strip_before = r < end && *r == '-';
        if (r < end && (*r == '-' || *r == '+'))
            r++;
        while (r < end && isspace((unsigned char)*r))
            r++;
        if (end - r < 6 || strncmp(r, "endraw", 6) != 0)
            continue;
        r += 6;
        while (r < end && isspace((unsigned char)*r))
            r++;
        *strip_after = false;
        if (r < end && (*r == '-' || *r == '+')) {
            *strip_after = *r == '-';
            r++;
        }
        if (end - r >= 2 && !strncmp(r, "%}", 2)) {
            *text_end = q;
            return r + 2;
        }
    }
    return NULL;
}

static bool lex(parser *ps)
{
    jinja_tpl *t = ps->t;
    const char *p = t->src, *end = t->src + t->n;
    bool strip_next = false;
    while (p < end && !ps->failed) {
        const char *o = p;
        while (o + 1 < end && !(o[0] == '{' && (o[1] == '{' || o[1] == '%' || o[1] == '#')))
            o++;
        if (o + 1 >= end)
            o = end;
        /* the text before the tag */
        const char *ts = p;
        if (strip_next)
            while (ts < o && isspace((unsigned char)*ts))
                ts++;
        strip_next = false;
        if (o > ts) {
            token tk = {T_TEXT, ts, (size_t)(o - ts), 0, 0, 0, 0};
            line_col(t, ts, &tk.line, &tk.col);
            if (!push_tok(ps, tk))
                return false;
        }
        if (o >= end)
            break;
        char kind = o[1];
        const char *q = o + 2;
        bool strip_before = q < end && *q == '-';
        if (q < end && (*q == '-' || *q == '+'))
            q++;
        if (strip_before)
            rstrip_last_text(ps);
        int line, col;
        line_col(t, o, &line, &col);
        if (kind == '#') {
            const char *c = q;
            while (c + 1 < end && !(c[0] == '#' && c[1] == '}'))
                c++;
            if (c + 1 >= end)
                return fail_at(ps, line, col, "a comment that is never closed ({# without #})");
            strip_next = c > q && c[-1] == '-';
            p = c + 2;
            continue;
        }
        bool rs;
        const char *raw = kind == '%' ? raw_start(q, end, &rs) : NULL;
        if (raw) {
            const char *text_end, *after;
            bool sb, sa;
            after = raw_end(raw, end, &text_end, &sb, &sa);
            if (!after)
                return fail_at(ps, line, col, "{%% raw %%} without {%% endraw %%}");
            const char *rb = raw;
            if (rs)
                while (rb < text_end && isspace((unsigned char)*rb))
                    rb++;
            const char *re = text_end;
            if (sb)
                while (re > rb && isspace((unsigned char)re[-1]))
                    re--;
            if (re > rb) {
                token tk = {T_TEXT, rb, (size_t)(re - rb), line, col, 0, 0};
                if (!push_tok(ps, tk))
                    return false;
            }
            strip_next = sa;
            p = after;
            continue;
        }
        token tk = {kind == '{' ? T_VAR_BEGIN : T_BLOCK_BEGIN, o, 2, line, col, 0, 0};
        if (!push_tok(ps, tk))
            return false;
        bool sa = false;
        p = lex_tag(ps, q, end, kind == '{' ? "}}" : "%}", kind == '{' ? T_VAR_END : T_BLOCK_END,
                    &sa);
        if (!p)
            return false;
        strip_next = sa;
    }
    /* Jinja drops one newline at the very end of a template */
    if (ps->ntoks && ps->toks[ps->ntoks - 1].kind == T_TEXT) {
        token *last = &ps->toks[ps->ntoks - 1];
        if (last->p + last->n == end && last->n && last->p[last->n - 1] == '\n') {
            last->n--;
            if (last->n && last->p[last->n - 1] == '\r')
                last->n--;
        }
    }
    token eof = {T_EOF, end, 0, 0, 0, 0, 0};
    line_col(t, end, &eof.line, &eof.col);
    return push_tok(ps, eof);
}

/* ---- token helpers ------------------------------------------------------------------- */

static token *cur(parser *ps) { return &ps->toks[ps->pos]; }

static bool is_op(const token *tk, const char *op)
{
    return tk->kind == T_OP && tk->n == strlen(op) && !strncmp(tk->p, op, tk->n);
}

static bool is_name(const token *tk, const char *w)
{
    return tk->kind == T_NAME && tk->n == strlen(w) && !strncmp(tk->p, w, tk->n);
}

static bool accept_op(parser *ps, const char *op)
{
    if (!is_op(cur(ps), op))
        return false;
    ps->pos++;
    return true;
}

static bool accept_name(parser *ps, const char *w)
{
    if (!is_name(cur(ps), w))
        return false;
    ps->pos++;
    return true;
}

static const char *tok_desc(const token *tk, char *b, size_t n)
{
    switch (tk->kind) {
    case T_EOF: return "the end of the template";
    case T_VAR_END: return "'}}'";
    case T_BLOCK_END: return "'%}'";
    case T_STR: return "a string";
    case T_INT: case T_FLOAT: return "a number";
    default:
        snprintf(b, n, "'%.*s'", (int)(tk->n > 40 ? 40 : tk->n), tk->p);
        return b;
    }
}

static bool expect_op(parser *ps, const char *op)
{
    if (accept_op(ps, op))
        return true;
    char d[64];
    return fail_at(ps, cur(ps)->line, cur(ps)->col, "expected '%s', got %s", op,
                   tok_desc(cur(ps), d, sizeof d));
}

static const char *name_str(parser *ps, const token *tk)
{
    char *s = palloc(ps, tk->n + 1);
    if (s && tk->n) /* the end token has no text */
        memcpy(s, tk->p, tk->n);
    return s;
}

static const char *expect_name(parser *ps, const char *what)
{
    token *tk = cur(ps);
    if (tk->kind != T_NAME) {
        char d[64];
        fail_at(ps, tk->line, tk->col, "expected %s, got %s", what, tok_desc(tk, d, sizeof d));
        return NULL;
    }
    ps->pos++;
    return name_str(ps, tk);
}

static jnode *mk(parser *ps, node_kind k, const token *at)
{
    jnode *n = palloc(ps, sizeof *n);
    if (n) {
        n->kind = k;
        n->line = at->line;
        n->col = at->col;
    }
    return n;
}

/* Growable arrays of nodes, in a malloc'd scratch then copied to the arena. */
typedef struct {
    jnode **v;
    size_t n, cap;
} nvec;

static bool nv_push(parser *ps, nvec *v, jnode *x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        jnode **n = realloc(v->v, cap * sizeof *n);
        if (!n) {
            ps->failed = true;
            bp_fail(ps->err, BP_ENOMEM, "out of memory");
            return false;
        }
        v->v = n;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return true;
}

static jnode **nv_done(parser *ps, nvec *v)
{
    jnode **out = v->n ? palloc(ps, v->n * sizeof *out) : NULL;
    if (out)
        memcpy(out, v->v, v->n * sizeof *out);
    free(v->v);
    v->v = NULL;
    return out;
}

/* ---- expressions --------------------------------------------------------------------- */

static jnode *expr(parser *ps);
static jnode *expr_noif(parser *ps);
static jnode *unary(parser *ps, bool with_filter);
static bool parse_args(parser *ps, call_args *a, const char *close);

static bool enter(parser *ps)
{
    if (++ps->depth > JINJA_MAX_DEPTH) {
        fail_at(ps, cur(ps)->line, cur(ps)->col, "nested deeper than %d levels",
                JINJA_MAX_DEPTH);
        return false;
    }
    return true;
}

static jnode *const_node(parser *ps, const token *at, jv *v)
{
    jnode *n = mk(ps, E_CONST, at);
    if (n)
        n->u.cval = v;
    if (!v && !ps->failed) {
        ps->failed = true;
        bp_fail(ps->err, BP_ENOMEM, "out of memory");
    }
    return n;
}

/* ( ... ): a tuple, or a parenthesised expression. */
static jnode *paren(parser *ps, const token *at)
{
    if (accept_op(ps, ")")) {
        jnode *n = mk(ps, E_TUPLE, at);
        return n;
    }
    jnode *first = expr(ps);
    if (!first)
        return NULL;
    if (accept_op(ps, ")"))
        return first;
    nvec v = {0};
    nv_push(ps, &v, first);
    while (accept_op(ps, ",")) {
        if (is_op(cur(ps), ")"))
            break;
        jnode *x = expr(ps);
        if (!x || !nv_push(ps, &v, x)) {
            free(v.v);
            return NULL;
        }
    }
    if (!expect_op(ps, ")")) {
        free(v.v);
        return NULL;
    }
    jnode *n = mk(ps, E_TUPLE, at);
    if (n) {
        n->u.seq.n = v.n;
        n->u.seq.items = nv_done(ps, &v);
    } else
        free(v.v);
    return n;
}

static jnode *list_lit(parser *ps, const token *at)
{
    nvec v = {0};
    while (!is_op(cur(ps), "]")) {
        jnode *x = expr(ps);
        if (!x || !nv_push(ps, &v, x)) {
            free(v.v);
            return NULL;
        }
        if (!accept_op(ps, ","))
            break;
    }
    if (!expect_op(ps, "]")) {
        free(v.v);
        return NULL;
    }
    jnode *n = mk(ps, E_LIST, at);
    if (n) {
        n->u.seq.n = v.n;
        n->u.seq.items = nv_done(ps, &v);
    } else
        free(v.v);
    return n;
}

static jnode *dict_lit(parser *ps, const token *at)
{
    nvec k = {0}, v = {0};
    while (!is_op(cur(ps), "}")) {
        jnode *key = expr(ps);
        if (!key || !expect_op(ps, ":"))
            goto fail;
        jnode *val = expr(ps);
        if (!val || !nv_push(ps, &k, key) || !nv_push(ps, &v, val))
            goto fail;
        if (!accept_op(ps, ","))
            break;
    }
    if (!expect_op(ps, "}"))
        goto fail;
    jnode *n = mk(ps, E_DICT, at);
    if (!n)
        goto fail;
    n->u.dict.n = k.n;
    n->u.dict.keys = nv_done(ps, &k);
    n->u.dict.vals = nv_done(ps, &v);
    return n;
fail:
    free(k.v);
    free(v.v);
    return NULL;
}

static jnode *primary(parser *ps)
{
    token *tk = cur(ps);
    arena *a = &ps->t->mem;
    switch (tk->kind) {
    case T_NAME:
        ps->pos++;
        if (is_name(tk, "true") || is_name(tk, "True"))
            return const_node(ps, tk, jv_bool(a, true));
        if (is_name(tk, "false") || is_name(tk, "False"))
            return const_node(ps, tk, jv_bool(a, false));
        if (is_name(tk, "none") || is_name(tk, "None"))
            return const_node(ps, tk, jv_none(a));
        {
            jnode *n = mk(ps, E_NAME, tk);
            if (n && !(n->u.name = name_str(ps, tk)))
                return NULL;
            if (n && ps->cur_macro) {
                if (!strcmp(n->u.name, "varargs"))
                    ps->cur_macro->uses_varargs = true;
                else if (!strcmp(n->u.name, "kwargs"))
                    ps->cur_macro->uses_kwargs = true;
                else if (!strcmp(n->u.name, "caller"))
                    ps->cur_macro->uses_caller = true;
            }
            return n;
        }
    case T_STR: {
        /* adjacent strings join, as in Python */
        ps->pos++;
        if (cur(ps)->kind != T_STR)
            return const_node(ps, tk, jv_str(a, tk->p, tk->n));
        buf b = {0};
        bool ok = !buf_add(&b, tk->p, tk->n);
        while (cur(ps)->kind == T_STR) {
            ok = ok && !buf_add(&b, cur(ps)->p, cur(ps)->n);
            ps->pos++;
        }
        jnode *n = ok ? const_node(ps, tk, jv_str(a, b.p ? b.p : "", b.len)) : NULL;
        buf_free(&b);
        return n;
    }
    case T_INT:
        ps->pos++;
        return const_node(ps, tk, jv_int(a, tk->i));
    case T_FLOAT:
        ps->pos++;
        return const_node(ps, tk, jv_float(a, tk->f));
    case T_OP:
        ps->pos++;
        if (is_op(tk, "("))
            return paren(ps, tk);
        if (is_op(tk, "["))
            return list_lit(ps, tk);
        if (is_op(tk, "{"))
            return dict_lit(ps, tk);
        ps->pos--;
        break;
    default:
        break;
    }
    char d[64];
    fail_at(ps, tk->line, tk->col, "unexpected %s", tok_desc(tk, d, sizeof d));
    return NULL;
}

/* a[...] : an index or a slice. */
static jnode *subscript(parser *ps, jnode *obj, const token *at)
{
    jnode *parts[3] = {NULL, NULL, NULL};
    int k = 0;
    bool slice = false;
    for (;;) {
        if (!is_op(cur(ps), ":") && !is_op(cur(ps), "]")) {
            if (!(parts[k] = expr(ps)))
                return NULL;
        }
        if (accept_op(ps, ":") && k < 2) {
            slice = true;
            k++;
            continue;
        }
        break;
    }
    if (!slice && accept_op(ps, ",")) { /* a[1, 2]: a tuple key */
        nvec v = {0};
        nv_push(ps, &v, parts[0]);
        while (!is_op(cur(ps), "]")) {
            jnode *x = expr(ps);
            if (!x || !nv_push(ps, &v, x)) {
                free(v.v);
                return NULL;
            }
            if (!accept_op(ps, ","))
                break;
        }
        jnode *tup = mk(ps, E_TUPLE, at);
        if (!tup) {
            free(v.v);
            return NULL;
        }
        tup->u.seq.n = v.n;
        tup->u.seq.items = nv_done(ps, &v);
        parts[0] = tup;
    }
    if (!expect_op(ps, "]"))
        return NULL;
    jnode *n = mk(ps, slice ? E_SLICE : E_ITEM, at);
    if (!n)
        return NULL;
    if (slice) {
        n->u.slice.obj = obj;
        n->u.slice.start = parts[0];
        n->u.slice.stop = parts[1];
        n->u.slice.step = parts[2];
    } else {
        if (!parts[0])
            return fail_at(ps, at->line, at->col, "an empty subscript"), NULL;
        n->u.item.obj = obj;
        n->u.item.key = parts[0];
    }
    return n;
}

static jnode *postfix(parser *ps, jnode *n)
{
    for (;;) {
        token *tk = cur(ps);
        if (accept_op(ps, ".")) {
            token *at = cur(ps);
            jnode *a = mk(ps, E_ATTR, tk);
            if (!a)
                return NULL;
            a->line = n->line; /* errors point at where the expression starts */
            a->col = n->col;
            a->u.attr.obj = n;
            if (at->kind == T_INT) { /* x.0: an item */
                ps->pos++;
                a->kind = E_ITEM;
                a->u.item.obj = n;
                a->u.item.key = const_node(ps, at, jv_int(&ps->t->mem, at->i));
                n = a;
                continue;
            }
            if (!(a->u.attr.name = expect_name(ps, "an attribute name after '.'")))
                return NULL;
            n = a;
        } else if (accept_op(ps, "[")) {
            int line = n->line, col = n->col;
            if (!(n = subscript(ps, n, tk)))
                return NULL;
            n->line = line;
            n->col = col;
        } else if (accept_op(ps, "(")) {
            jnode *c = mk(ps, E_CALL, tk);
            if (!c)
                return NULL;
            c->line = n->line;
            c->col = n->col;
            c->u.call.fn = n;
            if (!parse_args(ps, &c->u.call.args, ")"))
                return NULL;
            n = c;
        } else
            return n;
    }
}

/* The arguments of a call, after its '(': positional, name=value, *a,
 * **kw, a trailing comma. */
static bool parse_args(parser *ps, call_args *a, const char *close)
{
    nvec pos = {0}, kw = {0};
    const char **names = NULL;
    size_t nnames = 0, capnames = 0;
    while (!is_op(cur(ps), close)) {
        if (accept_op(ps, "**")) {
            if (!(a->starstar = expr(ps)))
                goto fail;
        } else if (accept_op(ps, "*")) {
            if (!(a->star = expr(ps)))
                goto fail;
        } else if (cur(ps)->kind == T_NAME && is_op(&ps->toks[ps->pos + 1], "=")) {
            const char *nm = name_str(ps, cur(ps));
            ps->pos += 2;
            jnode *v = expr(ps);
            if (!nm || !v || !nv_push(ps, &kw, v))
                goto fail;
            if (nnames == capnames) {
                size_t cap = capnames ? capnames * 2 : 8;
                const char **nn = realloc(names, cap * sizeof *nn);
                if (!nn)
                    goto fail;
                names = nn;
                capnames = cap;
            }
            names[nnames++] = nm;
        } else {
            if (kw.n)
                return fail_at(ps, cur(ps)->line, cur(ps)->col,
                               "a positional argument after a keyword argument"),
                       free(pos.v), free(kw.v), free(names), false;
            jnode *v = expr(ps);
            if (!v || !nv_push(ps, &pos, v))
                goto fail;
        }
        if (!accept_op(ps, ","))
            break;
    }
    if (!expect_op(ps, close))
        goto fail;
    a->npos = pos.n;
    a->pos = nv_done(ps, &pos);
    a->nkw = kw.n;
    a->kw = nv_done(ps, &kw);
    if (nnames) {
        a->kw_names = palloc(ps, nnames * sizeof *a->kw_names);
        if (a->kw_names)
            memcpy(a->kw_names, names, nnames * sizeof *names);
    }
    free(names);
    return !ps->failed;
fail:
    free(pos.v);
    free(kw.v);
    free(names);
    return false;
}

/* Can the token start a test's lone argument (x is divisibleby 3)? */
static bool starts_test_arg(const token *tk)
{
    if (tk->kind == T_STR || tk->kind == T_INT || tk->kind == T_FLOAT)
        return true;
    if (tk->kind == T_NAME)
        return !is_name(tk, "else") && !is_name(tk, "or") && !is_name(tk, "and") &&
               !is_name(tk, "is") && !is_name(tk, "in") && !is_name(tk, "not") &&
               !is_name(tk, "if") && !is_name(tk, "recursive");
    return is_op(tk, "[") || is_op(tk, "{") || is_op(tk, "-");
}

/* name[(args)] of a filter applied to n, the cursor on the name. */
static jnode *one_filter(parser *ps, jnode *n, const token *at)
{
    jnode *f = mk(ps, E_FILTER, at);
    if (!f || !(f->u.filter.name = expect_name(ps, "a filter name")))
        return NULL;
    /* dotted filter names (a.b) */
    while (is_op(cur(ps), ".") && ps->toks[ps->pos + 1].kind == T_NAME) {
        const char *more = name_str(ps, &ps->toks[ps->pos + 1]);
        size_t l = strlen(f->u.filter.name) + (more ? strlen(more) : 0) + 2;
        char *nm = more ? palloc(ps, l) : NULL;
        if (!nm)
            return NULL;
        snprintf(nm, l, "%s.%s", f->u.filter.name, more);
        f->u.filter.name = nm;
        ps->pos += 2;
    }
    f->u.filter.obj = n;
    if (accept_op(ps, "(")) {
        f->u.filter.has_args = true;
        if (!parse_args(ps, &f->u.filter.args, ")"))
            return NULL;
    }
    return f;
}

/* Filters, tests and calls that follow an operand. */
static jnode *filter_expr(parser *ps, jnode *n)
{
    for (;;) {
        token *tk = cur(ps);
        if (accept_op(ps, "|")) {
            if (!(n = one_filter(ps, n, tk)))
                return NULL;
        } else if (accept_name(ps, "is")) {
            jnode *t = mk(ps, E_TEST, tk);
            if (!t)
                return NULL;
            t->u.test.negate = accept_name(ps, "not");
            token *nt = cur(ps);
            if (nt->kind == T_NAME) {
                t->u.test.name = name_str(ps, nt);
                ps->pos++;
            } else if (nt->kind == T_OP && (is_op(nt, "==") || is_op(nt, "!=") ||
                                            is_op(nt, "<") || is_op(nt, ">") ||
                                            is_op(nt, "<=") || is_op(nt, ">="))) {
                t->u.test.name = name_str(ps, nt);
                ps->pos++;
            } else {
                char d[64];
                return fail_at(ps, nt->line, nt->col, "expected a test name after 'is', got %s",
                               tok_desc(nt, d, sizeof d)), NULL;
            }
            t->u.test.obj = n;
            if (accept_op(ps, "(")) {
                if (!parse_args(ps, &t->u.test.args, ")"))
                    return NULL;
            } else if (starts_test_arg(cur(ps))) {
                jnode *arg = unary(ps, false);
                if (!arg)
                    return NULL;
                arg = postfix(ps, arg);
                t->u.test.args.pos = palloc(ps, sizeof(jnode *));
                if (!t->u.test.args.pos)
                    return NULL;
                t->u.test.args.pos[0] = arg;
                t->u.test.args.npos = 1;
            }
            n = t;
        } else if (accept_op(ps, "(")) {
            jnode *c = mk(ps, E_CALL, tk);
            if (!c)
                return NULL;
            c->u.call.fn = n;
            if (!parse_args(ps, &c->u.call.args, ")"))
                return NULL;
            n = c;
        } else
            return n;
    }
}

static jnode *unary(parser *ps, bool with_filter)
{
    token *tk = cur(ps);
    jnode *n;
    if (!enter(ps))
        return NULL;
    if (accept_op(ps, "-") || accept_op(ps, "+")) {
        n = mk(ps, is_op(tk, "-") ? E_NEG : E_POS, tk);
        jnode *x = unary(ps, false);
        if (!n || !x) {
            ps->depth--;
            return NULL;
        }
        n->u.operand = x;
    } else {
        n = primary(ps);
    }
    if (n)
        n = postfix(ps, n);
    if (n && with_filter)
        n = filter_expr(ps, n);
    ps->depth--;
    return n;
}

static jnode *binop(parser *ps, const token *at, bin_op op, jnode *l, jnode *r)
{
    if (!l || !r)
        return NULL;
    jnode *n = mk(ps, E_BIN, at);
    if (n) {
        n->u.bin.op = op;
        n->u.bin.l = l;
        n->u.bin.r = r;
    }
    return n;
}

static jnode *power(parser *ps)
{
    jnode *l = unary(ps, true);
    while (l) {
        token *tk = cur(ps);
        if (!accept_op(ps, "**"))
            break;
        l = binop(ps, tk, OP_POW, l, unary(ps, true));
    }
    return l;
}

static jnode *math2(parser *ps)
{
    jnode *l = power(ps);
    while (l) {
        token *tk = cur(ps);
        bin_op op;
        if (accept_op(ps, "*"))
            op = OP_MUL;
        else if (accept_op(ps, "//"))
            op = OP_FLOORDIV;
        else if (accept_op(ps, "/"))
            op = OP_DIV;
        else if (accept_op(ps, "%"))
            op = OP_MOD;
        else
            break;
        l = binop(ps, tk, op, l, power(ps));
    }
    return l;
}

static jnode *concat(parser *ps)
{
    jnode *l = math2(ps);
    while (l) {
        token *tk = cur(ps);
        if (!accept_op(ps, "~"))
            break;
        l = binop(ps, tk, OP_CONCAT, l, math2(ps));
    }
    return l;
}

static jnode *math1(parser *ps)
{
    jnode *l = concat(ps);
    while (l) {
        token *tk = cur(ps);
        bin_op op;
        if (accept_op(ps, "+"))
            op = OP_ADD;
        else if (accept_op(ps, "-"))
            op = OP_SUB;
        else
            break;
        l = binop(ps, tk, op, l, concat(ps));
    }
    return l;
}

static jnode *compare(parser *ps)
{
    token *at = cur(ps);
    jnode *first = math1(ps);
    if (!first)
        return NULL;
    nvec ops_n = {0};
    cmp_op ops[64];
    size_t nops = 0;
    nv_push(ps, &ops_n, first);
    for (;;) {
        cmp_op op;
        if (accept_op(ps, "=="))
            op = CMP_EQ;
        else if (accept_op(ps, "!="))
            op = CMP_NE;
        else if (accept_op(ps, "<="))
            op = CMP_LE;
        else if (accept_op(ps, ">="))
            op = CMP_GE;
        else if (accept_op(ps, "<"))
            op = CMP_LT;
        else if (accept_op(ps, ">"))
            op = CMP_GT;
        else if (accept_name(ps, "in"))
            op = CMP_IN;
        else if (is_name(cur(ps), "not") && is_name(&ps->toks[ps->pos + 1], "in")) {
            ps->pos += 2;
            op = CMP_NOTIN;
        } else
            break;
        jnode *r = math1(ps);
        if (!r || nops >= 64 || !nv_push(ps, &ops_n, r)) {
            free(ops_n.v);
            return r ? (fail_at(ps, at->line, at->col, "too many comparisons in a row"), NULL)
                     : NULL;
        }
        ops[nops++] = op;
    }
    if (!nops) {
        free(ops_n.v);
        return first;
    }
    jnode *n = mk(ps, E_CMP, at);
    if (!n) {
        free(ops_n.v);
        return NULL;
    }
    n->u.cmp.n = nops;
    n->u.cmp.operands = nv_done(ps, &ops_n);
    n->u.cmp.ops = palloc(ps, nops * sizeof *ops);
    if (n->u.cmp.ops)
        memcpy(n->u.cmp.ops, ops, nops * sizeof *ops);
    return n;
}

static jnode *not_expr(parser *ps)
{
    token *tk = cur(ps);
    if (is_name(tk, "not") && !is_name(&ps->toks[ps->pos + 1], "in")) {
        ps->pos++;
        if (!enter(ps))
            return NULL;
        jnode *x = not_expr(ps);
        ps->depth--;
        jnode *n = x ? mk(ps, E_NOT, tk) : NULL;
        if (n)
            n->u.operand = x;
        return n;
    }
    return compare(ps);
}

static jnode *and_expr(parser *ps)
{
    jnode *l = not_expr(ps);
    while (l && is_name(cur(ps), "and")) {
        token *tk = cur(ps);
        ps->pos++;
        jnode *r = not_expr(ps);
        jnode *n = r ? mk(ps, E_AND, tk) : NULL;
        if (!n)
            return NULL;
        n->u.logic.l = l;
        n->u.logic.r = r;
        l = n;
    }
    return l;
}

static jnode *or_expr(parser *ps)
{
    jnode *l = and_expr(ps);
    while (l && is_name(cur(ps), "or")) {
        token *tk = cur(ps);
        ps->pos++;
        jnode *r = and_expr(ps);
        jnode *n = r ? mk(ps, E_OR, tk) : NULL;
        if (!n)
            return NULL;
        n->u.logic.l = l;
        n->u.logic.r = r;
        l = n;
    }
    return l;
}

static jnode *expr_noif(parser *ps) { return or_expr(ps); }

/* a if cond else b (else optional) */
static jnode *expr(parser *ps)
{
    if (!enter(ps))
        return NULL;
    jnode *n = or_expr(ps);
    while (n && is_name(cur(ps), "if")) {
        token *tk = cur(ps);
        ps->pos++;
        jnode *c = mk(ps, E_COND, tk);
        jnode *cond = or_expr(ps);
        if (!c || !cond) {
            n = NULL;
            break;
        }
        c->u.cond.then = n;
        c->u.cond.cond = cond;
        if (accept_name(ps, "else") && !(c->u.cond.other = expr(ps))) {
            n = NULL;
            break;
        }
        n = c;
    }
    ps->depth--;
    return n;
}

/* a, b (a tuple without parentheses), as after `set =` and `do`, and in
 * {{ a, b }}. */
static jnode *tuple_expr(parser *ps, bool simple)
{
    token *at = cur(ps);
    jnode *first = simple ? primary(ps) : expr(ps);
    if (!first || !is_op(cur(ps), ","))
        return first;
    nvec v = {0};
    nv_push(ps, &v, first);
    while (accept_op(ps, ",")) {
        if (cur(ps)->kind == T_BLOCK_END || cur(ps)->kind == T_VAR_END || is_name(cur(ps), "in") ||
            is_op(cur(ps), "="))
            break;
        jnode *x = simple ? primary(ps) : expr(ps);
        if (!x || !nv_push(ps, &v, x)) {
            free(v.v);
            return NULL;
        }
    }
    jnode *n = mk(ps, E_TUPLE, at);
    if (!n) {
        free(v.v);
        return NULL;
    }
    n->u.seq.n = v.n;
    n->u.seq.items = nv_done(ps, &v);
    return n;
}

/* ---- statements ---------------------------------------------------------------------- */

static jnode *body_until(parser *ps, const char *const *ends, const char **which);

static bool expect_block_end(parser *ps)
{
    if (cur(ps)->kind == T_BLOCK_END) {
        ps->pos++;
        return true;
    }
    char d[64];
    return fail_at(ps, cur(ps)->line, cur(ps)->col, "expected the end of the statement ('%%}'), "
                   "got %s", tok_desc(cur(ps), d, sizeof d));
}

static jnode *stmt_if(parser *ps, const token *at)
{
    nvec conds = {0}, bodies = {0};
    jnode *n = mk(ps, S_IF, at);
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *which = NULL;
    for (;;) {
        jnode *c = expr(ps);
        if (!c || !expect_block_end(ps) || !nv_push(ps, &conds, c))
            goto fail;
        jnode *b = body_until(ps, ends, &which);
        if (!b || !nv_push(ps, &bodies, b))
            goto fail;
        if (!strcmp(which, "elif"))
            continue;
        if (!strcmp(which, "else")) {
            static const char *const ends2[] = {"endif", NULL};
            if (!expect_block_end(ps) || !(n->u.ifs.other = body_until(ps, ends2, &which)))
                goto fail;
        }
        break;
    }
    if (!n || !expect_block_end(ps))
        goto fail;
    n->u.ifs.n = conds.n;
    n->u.ifs.conds = nv_done(ps, &conds);
    n->u.ifs.bodies = nv_done(ps, &bodies);
    return n;
fail:
    free(conds.v);
    free(bodies.v);
    return NULL;
}

static jnode *stmt_for(parser *ps, const token *at)
{
    jnode *n = mk(ps, S_FOR, at);
    if (!n)
        return NULL;
    const char *targets[32];
    size_t nt = 0;
    bool paren = accept_op(ps, "(");
    do {
        if (nt >= 32)
            return fail_at(ps, at->line, at->col, "too many loop variables"), NULL;
        if (!(targets[nt++] = expect_name(ps, "a loop variable")))
            return NULL;
    } while (accept_op(ps, ","));
    if (paren && !expect_op(ps, ")"))
        return NULL;
    if (!accept_name(ps, "in"))
        return fail_at(ps, cur(ps)->line, cur(ps)->col, "expected 'in' in the for loop"), NULL;
    n->u.loop.ntargets = nt;
    n->u.loop.targets = palloc(ps, nt * sizeof(char *));
    if (!n->u.loop.targets)
        return NULL;
    memcpy(n->u.loop.targets, targets, nt * sizeof(char *));
    if (!(n->u.loop.iter = expr_noif(ps)))
        return NULL;
    if (accept_name(ps, "if") && !(n->u.loop.filter = expr_noif(ps)))
        return NULL;
    n->u.loop.recursive = accept_name(ps, "recursive");
    if (!expect_block_end(ps))
        return NULL;
    static const char *const ends[] = {"else", "endfor", NULL};
    const char *which;
    if (!(n->u.loop.body = body_until(ps, ends, &which)))
        return NULL;
    if (!strcmp(which, "else")) {
        static const char *const ends2[] = {"endfor", NULL};
        if (!expect_block_end(ps) || !(n->u.loop.other = body_until(ps, ends2, &which)))
            return NULL;
    }
    return expect_block_end(ps) ? n : NULL;
}

/* A set's target: a name, names (a, b), or ns.attr. */
static jnode *set_target(parser *ps)
{
    token *at = cur(ps);
    const char *nm = expect_name(ps, "a name to set");
    if (!nm)
        return NULL;
    jnode *n = mk(ps, E_NAME, at);
    if (!n)
        return NULL;
    n->u.name = nm;
    if (accept_op(ps, ".")) {
        jnode *a = mk(ps, E_ATTR, at);
        if (!a || !(a->u.attr.name = expect_name(ps, "an attribute")))
            return NULL;
        a->u.attr.obj = n;
        return a;
    }
    if (!is_op(cur(ps), ","))
        return n;
    nvec v = {0};
    nv_push(ps, &v, n);
    while (accept_op(ps, ",")) {
        token *t2 = cur(ps);
        const char *nm2 = expect_name(ps, "a name to set");
        jnode *x = nm2 ? mk(ps, E_NAME, t2) : NULL;
        if (!x || !nv_push(ps, &v, x)) {
            free(v.v);
            return NULL;
        }
        x->u.name = nm2;
    }
    jnode *tup = mk(ps, E_TUPLE, at);
    if (!tup) {
        free(v.v);
        return NULL;
    }
    tup->u.seq.n = v.n;
    tup->u.seq.items = nv_done(ps, &v);
    return tup;
}

static jnode *stmt_set(parser *ps, const token *at)
{
    jnode *target = set_target(ps);
    if (!target)
        return NULL;
    if (accept_op(ps, "=")) {
        jnode *n = mk(ps, S_SET, at);
        jnode *v = tuple_expr(ps, false);
        if (!n || !v || !expect_block_end(ps))
            return NULL;
        n->u.set.target = target;
        n->u.set.value = v;
        return n;
    }
    jnode *n = mk(ps, S_SET_BLOCK, at);
    if (!n)
        return NULL;
    n->u.setblock.target = target;
    if (is_op(cur(ps), "|")) { /* {% set x | upper %}: filters on the block's text */
        jnode *ph = mk(ps, E_CONST, at);
        if (!ph)
            return NULL;
        ph->u.cval = NULL; /* the evaluator puts the text here */
        if (!(n->u.setblock.filter = filter_expr(ps, ph)))
            return NULL;
    }
    if (!expect_block_end(ps))
        return NULL;
    static const char *const ends[] = {"endset", NULL};
    const char *which;
    if (!(n->u.setblock.body = body_until(ps, ends, &which)))
        return NULL;
    return expect_block_end(ps) ? n : NULL;
}

/* (a, b=1, ...) of a macro or a caller. */
static bool params(parser *ps, jinja_macro *m)
{
    param buf[64];
    size_t n = 0;
    while (!is_op(cur(ps), ")")) {
        if (n >= 64)
            return fail_at(ps, cur(ps)->line, cur(ps)->col, "too many parameters");
        buf[n].dflt = NULL;
        if (!(buf[n].name = expect_name(ps, "a parameter name")))
            return false;
        if (accept_op(ps, "=") && !(buf[n].dflt = expr(ps)))
            return false;
        n++;
        if (!accept_op(ps, ","))
            break;
    }
    if (!expect_op(ps, ")"))
        return false;
    m->nparams = n;
    m->params = n ? palloc(ps, n * sizeof *buf) : NULL;
    if (n && m->params)
        memcpy(m->params, buf, n * sizeof *buf);
    return !ps->failed;
}

static bool add_macro(parser *ps, jinja_macro *m)
{
    jinja_tpl *t = ps->t;
    if (t->nmacros == t->capmacros) {
        size_t cap = t->capmacros ? t->capmacros * 2 : 16;
        jinja_macro **n = realloc(t->macros, cap * sizeof *n);
        if (!n) {
            ps->failed = true;
            bp_fail(ps->err, BP_ENOMEM, "out of memory");
            return false;
        }
        t->macros = n;
        t->capmacros = cap;
    }
    t->macros[t->nmacros++] = m;
    return true;
}

/* The body of a macro (or host tag) up to its end tag; records its raw
 * text. */
static bool macro_body(parser *ps, jinja_macro *m, const char *end_tag)
{
    const char *ends[] = {end_tag, NULL};
    const char *which;
    const token *start = cur(ps);
    jinja_macro *outer = ps->cur_macro;
    ps->cur_macro = m;
    m->body = body_until(ps, ends, &which);
    ps->cur_macro = outer;
    if (!m->body)
        return false;
    /* the raw text: from the first body token to the end tag's '{%' */
    const token *endtok = &ps->toks[ps->pos - 2]; /* T_BLOCK_BEGIN before end_tag */
    m->raw = start->p;
    m->raw_n = endtok->p >= start->p ? (size_t)(endtok->p - start->p) : 0;
    if (start->kind != T_TEXT && start->kind != T_VAR_BEGIN && start->kind != T_BLOCK_BEGIN)
        m->raw_n = 0;
    return expect_block_end(ps);
}

static jnode *stmt_macro(parser *ps, const token *at, const char *tag)
{
    jinja_macro *m = palloc(ps, sizeof *m);
    jnode *n = mk(ps, S_MACRO, at);
    if (!m || !n)
        return NULL;
    m->tag = tag;
    m->file = ps->t->file;
    m->line = at->line;
    m->tpl = ps->t;
    if (!(m->name = expect_name(ps, "a macro name")))
        return NULL;
    if (strcmp(tag, "macro") != 0) {
        /* host tags: name[(params)][, word | key=value ...] */
        if (accept_op(ps, "(") && !params(ps, m))
            return NULL;
        const char *keys[16], *vals[16];
        size_t nk = 0;
        while (accept_op(ps, ",") && nk < 16) {
            const char *k = expect_name(ps, "a tag argument");
            if (!k)
                return NULL;
            keys[nk] = k;
            vals[nk] = "";
            if (accept_op(ps, "=")) {
                token *vt = cur(ps);
                jnode *v = expr(ps);
                if (!v)
                    return NULL;
                vals[nk] = v->kind == E_CONST && v->u.cval && v->u.cval->type == JV_STR
                               ? v->u.cval->u.s.p
                           : v->kind == E_LIST ? "list"
                                               : name_str(ps, vt);
            }
            nk++;
        }
        m->ntag = nk;
        m->tag_keys = palloc(ps, (nk + 1) * sizeof(char *));
        m->tag_vals = palloc(ps, (nk + 1) * sizeof(char *));
        if (!m->tag_keys || !m->tag_vals)
            return NULL;
        memcpy(m->tag_keys, keys, nk * sizeof(char *));
        memcpy(m->tag_vals, vals, nk * sizeof(char *));
    } else {
        if (!expect_op(ps, "(") || !params(ps, m))
            return NULL;
    }
    if (!expect_block_end(ps))
        return NULL;
    char end_tag[64];
    snprintf(end_tag, sizeof end_tag, "end%s", tag);
    if (!macro_body(ps, m, end_tag))
        return NULL;
    n->u.macro = m;
    /* macros outside any macro are the template's exports */
    return ps->cur_macro == NULL ? (add_macro(ps, m) ? n : NULL) : n;
}

static jnode *stmt_call(parser *ps, const token *at)
{
    jinja_macro *m = palloc(ps, sizeof *m);
    jnode *n = mk(ps, S_CALL_BLOCK, at);
    if (!m || !n)
        return NULL;
    m->name = "caller";
    m->tag = "macro";
    m->file = ps->t->file;
    m->line = at->line;
    m->tpl = ps->t;
    if (accept_op(ps, "(") && !params(ps, m))
        return NULL;
    jnode *c = expr(ps);
    if (!c)
        return NULL;
    if (c->kind != E_CALL)
        return fail_at(ps, at->line, at->col, "{%% call %%} wants a macro call"), NULL;
    if (!expect_block_end(ps))
        return NULL;
    if (!macro_body(ps, m, "endcall"))
        return NULL;
    n->u.callblock.call = c;
    n->u.callblock.caller = m;
    return n;
}

static jnode *stmt_filter(parser *ps, const token *at)
{
    jnode *n = mk(ps, S_FILTER_BLOCK, at);
    jnode *ph = mk(ps, E_CONST, at);
    if (!n || !ph)
        return NULL;
    ph->u.cval = NULL; /* the evaluator puts the block's text here */
    /* filter name[(args)] [| more ...] */
    jnode *f = one_filter(ps, ph, at);
    if (f)
        f = filter_expr(ps, f);
    if (!f || !expect_block_end(ps))
        return NULL;
    static const char *const ends[] = {"endfilter", NULL};
    const char *which;
    n->u.filterblock.filter = f;
    if (!(n->u.filterblock.body = body_until(ps, ends, &which)))
        return NULL;
    return expect_block_end(ps) ? n : NULL;
}

static jnode *stmt_with(parser *ps, const token *at)
{
    jnode *n = mk(ps, S_WITH, at);
    if (!n)
        return NULL;
    const char *names[32];
    jnode *vals[32];
    size_t k = 0;
    while (cur(ps)->kind == T_NAME && k < 32) {
        if (!(names[k] = expect_name(ps, "a name")) || !expect_op(ps, "=") ||
            !(vals[k] = expr(ps)))
            return NULL;
        k++;
        if (!accept_op(ps, ","))
            break;
    }
    if (!expect_block_end(ps))
        return NULL;
    n->u.with.n = k;
    n->u.with.names = palloc(ps, (k + 1) * sizeof(char *));
    n->u.with.vals = palloc(ps, (k + 1) * sizeof(jnode *));
    if (!n->u.with.names || !n->u.with.vals)
        return NULL;
    memcpy(n->u.with.names, names, k * sizeof(char *));
    memcpy(n->u.with.vals, vals, k * sizeof(jnode *));
    static const char *const ends[] = {"endwith", NULL};
    const char *which;
    if (!(n->u.with.body = body_until(ps, ends, &which)))
        return NULL;
    return expect_block_end(ps) ? n : NULL;
}

static bool is_host_tag(const parser *ps, const char *w)
{
    for (const char *const *t = ps->env ? ps->env->macro_tags : NULL; t && *t; t++)
        if (!strcmp(*t, w))
            return true;
    return false;
}

/* One {% statement %}, the cursor after '{%'. */
static jnode *statement(parser *ps)
{
    token *at = cur(ps);
    if (at->kind != T_NAME) {
        char d[64];
        fail_at(ps, at->line, at->col, "expected a statement name, got %s",
                tok_desc(at, d, sizeof d));
        return NULL;
    }
    char w[64];
    snprintf(w, sizeof w, "%.*s", (int)(at->n < 63 ? at->n : 63), at->p);
    ps->pos++;
    if (!strcmp(w, "if"))
        return stmt_if(ps, at);
    if (!strcmp(w, "for"))
        return stmt_for(ps, at);
    if (!strcmp(w, "set"))
        return stmt_set(ps, at);
    if (!strcmp(w, "macro"))
        return stmt_macro(ps, at, "macro");
    if (!strcmp(w, "call"))
        return stmt_call(ps, at);
    if (!strcmp(w, "filter"))
        return stmt_filter(ps, at);
    if (!strcmp(w, "with"))
        return stmt_with(ps, at);
    if (!strcmp(w, "do")) {
        jnode *n = mk(ps, S_DO, at);
        if (!n || !(n->u.expr = tuple_expr(ps, false)) || !expect_block_end(ps))
            return NULL;
        return n;
    }
    if (!strcmp(w, "break") || !strcmp(w, "continue")) {
        jnode *n = mk(ps, w[0] == 'b' ? S_BREAK : S_CONTINUE, at);
        return n && expect_block_end(ps) ? n : NULL;
    }
    if (is_host_tag(ps, w)) {
        const char *tag = name_str(ps, at);
        return tag ? stmt_macro(ps, at, tag) : NULL;
    }
    if (!strcmp(w, "include") || !strcmp(w, "import") || !strcmp(w, "from") ||
        !strcmp(w, "extends") || !strcmp(w, "block"))
        fail_at(ps, at->line, at->col, "{%% %s %%} is not supported (dbt projects do not "
                "load templates by name; call the macro instead)", w);
    else
        fail_at(ps, at->line, at->col, "unknown tag '%s'", w);
    return NULL;
}

/* Statements and text up to one of the end tags (the cursor left on the
 * end tag's name, *which naming it); ends NULL: to the end of the file. */
static jnode *body_until(parser *ps, const char *const *ends, const char **which)
{
    token *at = cur(ps);
    nvec items = {0};
    if (!enter(ps))
        return NULL;
    for (;;) {
        token *tk = cur(ps);
        if (tk->kind == T_EOF) {
            if (ends) {
                int last = 0;
                while (ends[last + 1])
                    last++;
                fail_at(ps, tk->line, tk->col, "missing {%% %s %%} (the template ended first)",
                        ends[last]);
                goto fail;
            }
            break;
        }
        if (tk->kind == T_TEXT) {
            jnode *n = mk(ps, S_TEXT, tk);
            if (!n || !nv_push(ps, &items, n))
                goto fail;
            n->u.text.p = tk->p;
            n->u.text.n = tk->n;
            ps->pos++;
            continue;
        }
        if (tk->kind == T_VAR_BEGIN) {
            ps->pos++;
            jnode *n = mk(ps, S_OUT, tk);
            if (!n || !(n->u.expr = tuple_expr(ps, false)))
                goto fail;
            if (cur(ps)->kind != T_VAR_END) {
                char d[64];
                fail_at(ps, cur(ps)->line, cur(ps)->col, "expected '}}', got %s",
                        tok_desc(cur(ps), d, sizeof d));
                goto fail;
            }
            ps->pos++;
            if (!nv_push(ps, &items, n))
                goto fail;
            continue;
        }
        if (tk->kind != T_BLOCK_BEGIN) {
            char d[64];
            fail_at(ps, tk->line, tk->col, "unexpected %s", tok_desc(tk, d, sizeof d));
            goto fail;
        }
        token *kw = &ps->toks[ps->pos + 1];
        for (int i = 0; ends && ends[i]; i++)
            if (is_name(kw, ends[i])) {
                ps->pos += 2;
                *which = ends[i];
                goto done;
            }
        if (kw->kind == T_NAME && kw->n > 3 && !strncmp(kw->p, "end", 3)) {
            fail_at(ps, kw->line, kw->col, "unexpected {%% %.*s %%}%s%s%s", (int)kw->n, kw->p,
                    ends ? " (expected {% " : "", ends ? ends[0] : "", ends ? " %})" : "");
            goto fail;
        }
        if (kw->kind == T_NAME && (is_name(kw, "elif") || is_name(kw, "else"))) {
            fail_at(ps, kw->line, kw->col, "{%% %.*s %%} outside of an if or for", (int)kw->n,
                    kw->p);
            goto fail;
        }
        ps->pos++;
        jnode *n = statement(ps);
        if (!n || !nv_push(ps, &items, n))
            goto fail;
    }
done:;
    jnode *b = mk(ps, S_BODY, at);
    if (!b)
        goto fail;
    b->u.seq.n = items.n;
    b->u.seq.items = nv_done(ps, &items);
    ps->depth--;
    return b;
fail:
    free(items.v);
    ps->depth--;
    return NULL;
}

bp_status jinja_parse(const char *file, const char *src, size_t n, const jinja_env *env,
                      jinja_tpl **out, bp_err *err)
{
    jinja_tpl *t = calloc(1, sizeof *t);
    if (!t)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    parser ps = {0};
    ps.t = t;
    ps.env = env;
    ps.err = err;
    t->src = arena_strndup(&t->mem, src, n);
    t->file = arena_strndup(&t->mem, file ? file : "<template>", strlen(file ? file : "<template>"));
    t->n = n;
    if (!t->src || !t->file) {
        jinja_tpl_free(t);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (lex(&ps))
        t->body = body_until(&ps, NULL, NULL);
    free(ps.toks);
    if (ps.failed || !t->body) {
        jinja_tpl_free(t);
        return err ? (err->status ? err->status : BP_EINPUT) : BP_EINPUT;
    }
    *out = t;
    return BP_OK;
}

void jinja_tpl_free(jinja_tpl *t)
{
    if (!t)
        return;
    free(t->macros);
    arena_free(&t->mem);
    free(t);
}

size_t jinja_tpl_nmacros(const jinja_tpl *t) { return t->nmacros; }
jinja_macro *jinja_tpl_macro(const jinja_tpl *t, size_t i) { return t->macros[i]; }
const char *jinja_macro_name(const jinja_macro *m) { return m->name; }
const char *jinja_macro_tag(const jinja_macro *m) { return m->tag; }
const char *jinja_macro_file(const jinja_macro *m) { return m->file; }
int jinja_macro_line(const jinja_macro *m) { return m->line; }

const char *jinja_macro_tag_arg(const jinja_macro *m, const char *name)
{
    for (size_t i = 0; i < m->ntag; i++)
        if (!strcmp(m->tag_keys[i], name))
            return m->tag_vals[i];
    return NULL;
}

const char *jinja_macro_body(const jinja_macro *m, size_t *n)
{
    *n = m->raw_n;
    return m->raw ? m->raw : "";
}

const jinja_tpl *jinja_macro_tpl(const jinja_macro *m) { return m->tpl; }
void jinja_tpl_set_data(jinja_tpl *t, void *data) { t->data = data; }
void *jinja_tpl_data(const jinja_tpl *t) { return t->data; }
