/* regex.c: see regex.h. The pattern is parsed into a tree, compiled into
 * a small program (char, class, split, jump, save...), and run by a
 * backtracking machine with its own stack (no recursion per character,
 * so long subjects do not exhaust the C stack). Lookarounds are programs
 * of their own, run at the position in question. */
#include "regex.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define MAX_GROUPS 99
#define MAX_PROG 200000
#define STEP_BUDGET 50000000L

/* ---- the tree ----------------------------------------------------------------------------- */

typedef enum {
    T_EMPTY, T_CHAR, T_ANY, T_CLASS, T_CAT, T_ALT, T_REP, T_GROUP, T_ASSERT, T_BACKREF, T_LOOK
} tkind;

typedef enum { A_BOL, A_EOL, A_SBOL, A_SEOL, A_WORDB, A_NWORDB } akind;

typedef struct tnode tnode;
struct tnode {
    tkind k;
    unsigned char c;
    int cls;              /* T_CLASS: class index */
    int min, max;         /* T_REP: max -1 = unbounded */
    bool greedy;
    int group;            /* T_GROUP, T_BACKREF */
    int op;               /* T_ASSERT: akind; T_LOOK: 1 behind | 2 negative */
    tnode **kids;         /* T_CAT, T_ALT */
    int n;
    tnode *sub;           /* T_REP, T_GROUP, T_LOOK */
};

typedef struct {
    unsigned char bits[32];
} cset;

/* ---- the program ------------------------------------------------------------------------ */

typedef enum {
    I_CHAR, I_ANY, I_ANYNL, I_CLASS, I_SPLIT, I_JMP, I_SAVE, I_MATCH, I_ASSERT, I_BACKREF,
    I_LOOK, I_MARK, I_PROGRESS
} iop;

typedef struct {
    iop op;
    int x, y;
    unsigned char c;
} inst;

typedef struct {
    inst *code;
    int n, cap;
} prog;

struct rx {
    int flags;
    int ngroups;
    const char *names[MAX_GROUPS + 1];
    cset *sets;
    int nsets;
    prog main;
    prog *looks;          /* lookaround programs */
    int *look_kind;
    int nlooks;
    int nregs;            /* progress registers of loops that can match empty */
    arena mem;
};

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct {
    rx *r;
    const char *p, *end, *start;
    int flags;
    char *err;
    size_t errn;
    bool failed;
    int depth;
} parser;

static bool fail(parser *ps, const char *msg)
{
    if (!ps->failed)
        snprintf(ps->err, ps->errn, "%s at position %d", msg, (int)(ps->p - ps->start));
    ps->failed = true;
    return false;
}

static tnode *mk(parser *ps, tkind k)
{
    tnode *t = arena_alloc(&ps->r->mem, sizeof *t);
    if (!t) {
        fail(ps, "out of memory");
        return NULL;
    }
    t->k = k;
    return t;
}

static bool push_kid(parser *ps, tnode *t, tnode *kid)
{
    tnode **k = arena_alloc(&ps->r->mem, (size_t)(t->n + 1) * sizeof *k);
    if (!k)
        return fail(ps, "out of memory");
    if (t->n)
        memcpy(k, t->kids, (size_t)t->n * sizeof *k);
    k[t->n++] = kid;
    t->kids = k;
    return true;
}

static int new_set(parser *ps)
{
    rx *r = ps->r;
    cset *s = realloc(r->sets, (size_t)(r->nsets + 1) * sizeof *s);
    if (!s)
        return -1;
    r->sets = s;
    memset(&s[r->nsets], 0, sizeof *s);
    return r->nsets++;
}

static void set_add(cset *s, unsigned c, bool icase)
{
    s->bits[c >> 3] |= (unsigned char)(1u << (c & 7));
    if (icase && isalpha((int)c)) {
        unsigned o = islower((int)c) ? (unsigned)toupper((int)c) : (unsigned)tolower((int)c);
        s->bits[o >> 3] |= (unsigned char)(1u << (o & 7));
    }
}

static bool set_has(const cset *s, unsigned char c) { return s->bits[c >> 3] & (1u << (c & 7)); }

static bool is_word(unsigned char c) { return isalnum(c) || c == '_'; }

/* \d \w \s (upper case: negated) into a set */
static void add_shorthand(cset *s, char k)
{
    cset t;
    memset(&t, 0, sizeof t);
    for (unsigned c = 0; c < 256; c++) {
        bool in = k == 'd' || k == 'D' ? isdigit((int)c) != 0
                  : k == 'w' || k == 'W' ? is_word((unsigned char)c)
                                          : (c == ' ' || (c >= 9 && c <= 13));
        if (isupper((int)k))
            in = !in;
        if (in)
            set_add(&t, c, false);
    }
    for (int i = 0; i < 32; i++)
        s->bits[i] |= t.bits[i];
}

static void skip_verbose(parser *ps)
{
    if (!(ps->flags & RX_X))
        return;
    for (;;) {
        while (ps->p < ps->end && isspace((unsigned char)*ps->p))
            ps->p++;
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
            continue;
        }
        return;
    }
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? (tolower(c) - 'a' + 10) : -1;
}

/* An escaped character's byte (\n, \t, \x41, \.); -1 when it is not one. */
static int escape_char(parser *ps, char e)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return '\a';
    case '0': return 0;
    case 'x':
        if (ps->p + 1 < ps->end && hexval(ps->p[0]) >= 0 && hexval(ps->p[1]) >= 0) {
            int v = hexval(ps->p[0]) * 16 + hexval(ps->p[1]);
            ps->p += 2;
            return v;
        }
        return -1;
    default:
        return isalnum((unsigned char)e) ? -1 : (unsigned char)e;
    }
}

static tnode *parse_class(parser *ps)
{
    int idx = new_set(ps);
    if (idx < 0) {
        fail(ps, "out of memory");
        return NULL;
    }
    bool neg = false, icase = ps->flags & RX_I;
    if (ps->p < ps->end && *ps->p == '^') {
        neg = true;
        ps->p++;
    }
    bool first = true;
    cset *s = &ps->r->sets[idx];
    while (ps->p < ps->end && (*ps->p != ']' || first)) {
        first = false;
        int lo;
        char c = *ps->p++;
        if (c == '\\' && ps->p < ps->end) {
            char e = *ps->p++;
            if (strchr("dDwWsS", e)) {
                add_shorthand(&ps->r->sets[idx], e);
                s = &ps->r->sets[idx];
                continue;
            }
            lo = e == 'b' ? '\b' : escape_char(ps, e);
            if (lo < 0)
                lo = (unsigned char)e;
        } else {
            lo = (unsigned char)c;
        }
        int hi = lo;
        if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
            ps->p++;
            char d = *ps->p++;
            if (d == '\\' && ps->p < ps->end) {
                char e = *ps->p++;
                hi = escape_char(ps, e);
                if (hi < 0)
                    hi = (unsigned char)e;
            } else {
                hi = (unsigned char)d;
            }
            if (hi < lo) {
                fail(ps, "bad character range");
                return NULL;
            }
        }
        for (int x = lo; x <= hi; x++)
            set_add(s, (unsigned)x, icase);
    }
    if (ps->p >= ps->end) {
        fail(ps, "unterminated character set");
        return NULL;
    }
    ps->p++; /* ] */
    if (neg)
        for (int i = 0; i < 32; i++)
            s->bits[i] = (unsigned char)~s->bits[i];
    tnode *t = mk(ps, T_CLASS);
    if (t)
        t->cls = idx;
    return t;
}

static tnode *parse_alt(parser *ps);

static tnode *group_body(parser *ps, tnode *t)
{
    tnode *sub = parse_alt(ps);
    if (!sub)
        return NULL;
    if (ps->p >= ps->end || *ps->p != ')') {
        fail(ps, "missing ), unterminated subpattern");
        return NULL;
    }
    ps->p++;
    t->sub = sub;
    return t;
}

static int find_group(const rx *r, const char *name, size_t n)
{
    for (int g = 1; g <= r->ngroups; g++)
        if (r->names[g] && strlen(r->names[g]) == n && !strncmp(r->names[g], name, n))
            return g;
    return -1;
}

static tnode *capture(parser *ps, const char *name, size_t n)
{
    rx *r = ps->r;
    if (r->ngroups >= MAX_GROUPS) {
        fail(ps, "too many groups");
        return NULL;
    }
    int g = ++r->ngroups;
    if (name) {
        if (find_group(r, name, n) > 0) {
            fail(ps, "redefinition of group name");
            return NULL;
        }
        r->names[g] = arena_strndup(&r->mem, name, n);
    }
    tnode *t = mk(ps, T_GROUP);
    if (!t)
        return NULL;
    t->group = g;
    return group_body(ps, t);
}

static tnode *parse_group(parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '?')
        return capture(ps, NULL, 0);
    ps->p++;
    char c = ps->p < ps->end ? *ps->p : 0;
    if (c == ':') {
        ps->p++;
        tnode *t = mk(ps, T_CAT);
        if (!t)
            return NULL;
        tnode *g = group_body(ps, t);
        return g ? g->sub : NULL;
    }
    if (c == '#') {
        const char *e = memchr(ps->p, ')', (size_t)(ps->end - ps->p));
        if (!e) {
            fail(ps, "missing ), unterminated comment");
            return NULL;
        }
        ps->p = e + 1;
        return mk(ps, T_EMPTY);
    }
    if (c == '=' || c == '!') {
        ps->p++;
        tnode *t = mk(ps, T_LOOK);
        if (t)
            t->op = c == '!' ? 2 : 0;
        return t ? group_body(ps, t) : NULL;
    }
    if (c == '<' && ps->p + 1 < ps->end && (ps->p[1] == '=' || ps->p[1] == '!')) {
        tnode *t = mk(ps, T_LOOK);
        if (t)
            t->op = 1 | (ps->p[1] == '!' ? 2 : 0);
        ps->p += 2;
        return t ? group_body(ps, t) : NULL;
    }
    if (c == 'P' || c == '<') {
        if (c == 'P')
            ps->p++;
        if (ps->p < ps->end && *ps->p == '=') { /* (?P=name): a back reference */
            const char *e = memchr(ps->p, ')', (size_t)(ps->end - ps->p));
            int g = e ? find_group(ps->r, ps->p + 1, (size_t)(e - ps->p - 1)) : -1;
            if (g < 0) {
                fail(ps, "unknown group name");
                return NULL;
            }
            ps->p = e + 1;
            tnode *t = mk(ps, T_BACKREF);
            if (t)
                t->group = g;
            return t;
        }
        if (ps->p < ps->end && *ps->p == '<') {
            const char *e = memchr(ps->p, '>', (size_t)(ps->end - ps->p));
            if (!e || e == ps->p + 1) {
                fail(ps, "missing group name");
                return NULL;
            }
            const char *name = ps->p + 1;
            ps->p = e + 1;
            return capture(ps, name, (size_t)(e - name));
        }
        fail(ps, "unknown extension ?P");
        return NULL;
    }
    /* flags: (?imsx) for the whole pattern, (?imsx:...) for a group */
    int f = 0;
    while (ps->p < ps->end && strchr("imsxuaL", *ps->p)) {
        char k = *ps->p++;
        f |= k == 'i' ? RX_I : k == 'm' ? RX_M : k == 's' ? RX_S : k == 'x' ? RX_X : 0;
    }
    if (ps->p < ps->end && *ps->p == ')') {
        ps->p++;
        ps->flags |= f;
        return mk(ps, T_EMPTY);
    }
    if (ps->p < ps->end && *ps->p == ':') {
        ps->p++;
        int saved = ps->flags;
        ps->flags |= f;
        tnode *t = mk(ps, T_CAT);
        tnode *g = t ? group_body(ps, t) : NULL;
        ps->flags = saved;
        return g ? g->sub : NULL;
    }
    fail(ps, "unknown extension");
    return NULL;
}

static tnode *lit(parser *ps, unsigned char c)
{
    if ((ps->flags & RX_I) && isalpha(c)) { /* a case-folded letter: a two-member class */
        int idx = new_set(ps);
        if (idx < 0) {
            fail(ps, "out of memory");
            return NULL;
        }
        set_add(&ps->r->sets[idx], c, true);
        tnode *t = mk(ps, T_CLASS);
        if (t)
            t->cls = idx;
        return t;
    }
    tnode *t = mk(ps, T_CHAR);
    if (t)
        t->c = c;
    return t;
}

static tnode *assertion(parser *ps, akind k)
{
    tnode *t = mk(ps, T_ASSERT);
    if (t)
        t->op = k;
    return t;
}

static tnode *parse_escape(parser *ps)
{
    if (ps->p >= ps->end) {
        fail(ps, "bad escape (end of pattern)");
        return NULL;
    }
    char e = *ps->p++;
    switch (e) {
    case 'A': return assertion(ps, A_SBOL);
    case 'Z': case 'z': return assertion(ps, A_SEOL);
    case 'b': return assertion(ps, A_WORDB);
    case 'B': return assertion(ps, A_NWORDB);
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S': {
        int idx = new_set(ps);
        if (idx < 0) {
            fail(ps, "out of memory");
            return NULL;
        }
        add_shorthand(&ps->r->sets[idx], e);
        tnode *t = mk(ps, T_CLASS);
        if (t)
            t->cls = idx;
        return t;
    }
    default:
        break;
    }
    if (e >= '1' && e <= '9') {
        int g = e - '0';
        if (ps->p < ps->end && isdigit((unsigned char)*ps->p) && g * 10 + (*ps->p - '0') <= ps->r->ngroups)
            g = g * 10 + (*ps->p++ - '0');
        if (g > ps->r->ngroups) {
            fail(ps, "invalid group reference");
            return NULL;
        }
        tnode *t = mk(ps, T_BACKREF);
        if (t)
            t->group = g;
        return t;
    }
    int c = escape_char(ps, e);
    if (c < 0) {
        fail(ps, "bad escape");
        return NULL;
    }
    return lit(ps, (unsigned char)c);
}

static tnode *parse_atom(parser *ps)
{
    char c = *ps->p++;
    switch (c) {
    case '(':
        if (++ps->depth > 200) {
            fail(ps, "nested too deeply");
            return NULL;
        }
        {
            tnode *t = parse_group(ps);
            ps->depth--;
            return t;
        }
    case '[': return parse_class(ps);
    case '.': {
        tnode *t = mk(ps, T_ANY);
        if (t)
            t->op = ps->flags & RX_S;
        return t;
    }
    case '^': return assertion(ps, (ps->flags & RX_M) ? A_BOL : A_SBOL);
    case '$': {
        tnode *t = assertion(ps, A_EOL);
        if (t)
            t->group = ps->flags & RX_M; /* multiline: before any newline */
        return t;
    }
    case '\\': return parse_escape(ps);
    case '*': case '+': case '?':
        fail(ps, "nothing to repeat");
        return NULL;
    default:
        return lit(ps, (unsigned char)c);
    }
}

/* {m}, {m,}, {m,n}, {,n}: false when the { is a literal */
static bool parse_braces(parser *ps, int *min, int *max)
{
    const char *q = ps->p + 1;
    int a = -1, b = -1;
    if (isdigit((unsigned char)*q)) {
        a = 0;
        while (isdigit((unsigned char)*q) && a < 100000)
            a = a * 10 + (*q++ - '0');
    }
    if (*q == '}') {
        if (a < 0)
            return false;
        b = a;
    } else if (*q == ',') {
        q++;
        if (isdigit((unsigned char)*q)) {
            b = 0;
            while (isdigit((unsigned char)*q) && b < 100000)
                b = b * 10 + (*q++ - '0');
        }
        if (*q != '}')
            return false;
    } else {
        return false;
    }
    *min = a < 0 ? 0 : a;
    *max = b;
    ps->p = q + 1;
    return true;
}

static tnode *parse_repeat(parser *ps)
{
    tnode *a = parse_atom(ps);
    for (;;) {
        if (!a)
            return NULL;
        skip_verbose(ps);
        if (ps->p >= ps->end)
            return a;
        int min, max;
        char c = *ps->p;
        if (c == '*') {
            min = 0, max = -1;
            ps->p++;
        } else if (c == '+') {
            min = 1, max = -1;
            ps->p++;
        } else if (c == '?') {
            min = 0, max = 1;
            ps->p++;
        } else if (c == '{' && parse_braces(ps, &min, &max)) {
            if (max >= 0 && max < min) {
                fail(ps, "min repeat greater than max repeat");
                return NULL;
            }
        } else {
            return a;
        }
        if (a->k == T_ASSERT || a->k == T_LOOK || a->k == T_EMPTY) {
            fail(ps, "nothing to repeat");
            return NULL;
        }
        if (a->k == T_REP) {
            fail(ps, "multiple repeat");
            return NULL;
        }
        tnode *r = mk(ps, T_REP);
        if (!r)
            return NULL;
        r->min = min;
        r->max = max;
        r->greedy = true;
        r->sub = a;
        if (ps->p < ps->end && *ps->p == '?') {
            r->greedy = false;
            ps->p++;
        } else if (ps->p < ps->end && *ps->p == '+') {
            ps->p++; /* possessive: taken as greedy */
        }
        a = r;
    }
}

static tnode *parse_cat(parser *ps)
{
    tnode *t = mk(ps, T_CAT);
    if (!t)
        return NULL;
    for (;;) {
        skip_verbose(ps);
        if (ps->p >= ps->end || *ps->p == '|' || *ps->p == ')')
            return t;
        tnode *k = parse_repeat(ps);
        if (!k || !push_kid(ps, t, k))
            return NULL;
    }
}

static tnode *parse_alt(parser *ps)
{
    tnode *first = parse_cat(ps);
    if (!first || ps->p >= ps->end || *ps->p != '|')
        return first;
    tnode *t = mk(ps, T_ALT);
    if (!t || !push_kid(ps, t, first))
        return NULL;
    while (ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        tnode *k = parse_cat(ps);
        if (!k || !push_kid(ps, t, k))
            return NULL;
    }
    return t;
}

/* ---- code generation --------------------------------------------------------------------- */

typedef struct {
    rx *r;
    bool failed;
    char *err;
    size_t errn;
} gen;

static int emit(gen *g, prog *pg, iop op, int x, int y, unsigned char c)
{
    if (pg->n >= MAX_PROG) {
        if (!g->failed)
            snprintf(g->err, g->errn, "pattern too large (repeat counts too high)");
        g->failed = true;
        return -1;
    }
    if (pg->n == pg->cap) {
        int cap = pg->cap ? pg->cap * 2 : 64;
        inst *n = realloc(pg->code, (size_t)cap * sizeof *n);
        if (!n) {
            if (!g->failed)
                snprintf(g->err, g->errn, "out of memory");
            g->failed = true;
            return -1;
        }
        pg->code = n;
        pg->cap = cap;
    }
    pg->code[pg->n] = (inst){op, x, y, c};
    return pg->n++;
}

/* Can t match the empty string? (loops of such bodies check progress) */
static bool nullable(const tnode *t)
{
    switch (t->k) {
    case T_EMPTY: case T_ASSERT: case T_LOOK: case T_BACKREF: return true;
    case T_CHAR: case T_ANY: case T_CLASS: return false;
    case T_CAT:
        for (int i = 0; i < t->n; i++)
            if (!nullable(t->kids[i]))
                return false;
        return true;
    case T_ALT:
        for (int i = 0; i < t->n; i++)
            if (nullable(t->kids[i]))
                return true;
        return false;
    case T_REP: return t->min == 0 || nullable(t->sub);
    case T_GROUP: return nullable(t->sub);
    }
    return true;
}

static void compile_node(gen *g, prog *pg, const tnode *t);

static void compile_rep(gen *g, prog *pg, const tnode *t)
{
    for (int i = 0; i < t->min && !g->failed; i++)
        compile_node(g, pg, t->sub);
    if (t->max < 0) {
        int reg = nullable(t->sub) ? g->r->nregs++ : -1;
        int split = emit(g, pg, I_SPLIT, 0, 0, 0);
        int body = pg->n;
        if (reg >= 0)
            emit(g, pg, I_MARK, reg, 0, 0);
        compile_node(g, pg, t->sub);
        int prog_check = reg >= 0 ? emit(g, pg, I_PROGRESS, reg, 0, 0) : -1;
        emit(g, pg, I_JMP, split, 0, 0);
        if (g->failed)
            return;
        int out = pg->n;
        pg->code[split].x = t->greedy ? body : out;
        pg->code[split].y = t->greedy ? out : body;
        if (prog_check >= 0)
            pg->code[prog_check].y = out;
        return;
    }
    int *splits = calloc((size_t)(t->max - t->min + 1), sizeof *splits);
    if (!splits) {
        g->failed = true;
        snprintf(g->err, g->errn, "out of memory");
        return;
    }
    int ns = 0;
    for (int i = t->min; i < t->max && !g->failed; i++) {
        splits[ns++] = emit(g, pg, I_SPLIT, 0, 0, 0);
        compile_node(g, pg, t->sub);
    }
    int out = pg->n;
    for (int i = 0; i < ns && !g->failed; i++) {
        int s = splits[i];
        pg->code[s].x = t->greedy ? s + 1 : out;
        pg->code[s].y = t->greedy ? out : s + 1;
    }
    free(splits);
}

static void compile_node(gen *g, prog *pg, const tnode *t)
{
    if (g->failed)
        return;
    switch (t->k) {
    case T_EMPTY:
        break;
    case T_CHAR:
        emit(g, pg, I_CHAR, 0, 0, t->c);
        break;
    case T_ANY:
        emit(g, pg, t->op ? I_ANYNL : I_ANY, 0, 0, 0);
        break;
    case T_CLASS:
        emit(g, pg, I_CLASS, t->cls, 0, 0);
        break;
    case T_CAT:
        for (int i = 0; i < t->n; i++)
            compile_node(g, pg, t->kids[i]);
        break;
    case T_ALT: {
        int *jumps = calloc((size_t)t->n, sizeof *jumps);
        if (!jumps) {
            g->failed = true;
            snprintf(g->err, g->errn, "out of memory");
            return;
        }
        for (int i = 0; i < t->n && !g->failed; i++) {
            int split = i + 1 < t->n ? emit(g, pg, I_SPLIT, 0, 0, 0) : -1;
            if (split >= 0)
                pg->code[split].x = pg->n;
            compile_node(g, pg, t->kids[i]);
            jumps[i] = i + 1 < t->n ? emit(g, pg, I_JMP, 0, 0, 0) : -1;
            if (split >= 0 && !g->failed)
                pg->code[split].y = pg->n;
        }
        for (int i = 0; i < t->n && !g->failed; i++)
            if (jumps[i] >= 0)
                pg->code[jumps[i]].x = pg->n;
        free(jumps);
        break;
    }
    case T_REP:
        compile_rep(g, pg, t);
        break;
    case T_GROUP:
        emit(g, pg, I_SAVE, 2 * t->group, 0, 0);
        compile_node(g, pg, t->sub);
        emit(g, pg, I_SAVE, 2 * t->group + 1, 0, 0);
        break;
    case T_ASSERT:
        emit(g, pg, I_ASSERT, t->op, t->group, 0);
        break;
    case T_BACKREF:
        emit(g, pg, I_BACKREF, t->group, 0, 0);
        break;
    case T_LOOK: {
        rx *r = g->r;
        prog *l = realloc(r->looks, (size_t)(r->nlooks + 1) * sizeof *l);
        int *k = l ? realloc(r->look_kind, (size_t)(r->nlooks + 1) * sizeof *k) : NULL;
        if (l)
            r->looks = l;
        if (k)
            r->look_kind = k;
        if (!l || !k) {
            g->failed = true;
            snprintf(g->err, g->errn, "out of memory");
            return;
        }
        int idx = r->nlooks++;
        memset(&r->looks[idx], 0, sizeof(prog));
        r->look_kind[idx] = t->op;
        prog sub = {0};
        compile_node(g, &sub, t->sub);
        emit(g, &sub, I_MATCH, 0, 0, 0);
        r->looks[idx] = sub;
        emit(g, pg, I_LOOK, idx, t->op, 0);
        break;
    }
    }
}

rx *rx_compile(const char *pat, int flags, char *err, size_t errn)
{
    rx *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errn, "out of memory");
        return NULL;
    }
    r->flags = flags;
    size_t n = strlen(pat);
    parser ps = {r, pat, pat + n, pat, flags, err, errn, false, 0};
    /* inline flags at the very start apply before anything is parsed */
    tnode *t = parse_alt(&ps);
    if (t && ps.p < ps.end && *ps.p == ')')
        fail(&ps, "unbalanced parenthesis");
    gen g = {r, false, err, errn};
    if (t && !ps.failed) {
        compile_node(&g, &r->main, t);
        emit(&g, &r->main, I_MATCH, 0, 0, 0);
    }
    if (!t || ps.failed || g.failed) {
        rx_free(r);
        return NULL;
    }
    return r;
}

void rx_free(rx *r)
{
    if (!r)
        return;
    free(r->main.code);
    for (int i = 0; i < r->nlooks; i++)
        free(r->looks[i].code);
    free(r->looks);
    free(r->look_kind);
    free(r->sets);
    arena_free(&r->mem);
    free(r);
}

int rx_ngroups(const rx *r) { return r->ngroups; }

const char *rx_group_name(const rx *r, int g)
{
    return g >= 1 && g <= r->ngroups ? r->names[g] : NULL;
}

/* ---- matching ------------------------------------------------------------------------- */

typedef enum { U_BRANCH, U_CAP, U_REG } ukind;

typedef struct {
    ukind k;
    int a;
    size_t b;
} undo;

typedef struct {
    const rx *r;
    const char *s;
    size_t len;
    size_t *caps;      /* 2 * (ngroups + 1) */
    size_t *regs;
    undo *stack;
    size_t nstack, capstack;
    long steps;
    bool out_of_steps, oom;
} vm;

static bool push(vm *m, ukind k, int a, size_t b)
{
    if (m->nstack == m->capstack) {
        size_t cap = m->capstack ? m->capstack * 2 : 256;
        undo *n = realloc(m->stack, cap * sizeof *n);
        if (!n) {
            m->oom = true;
            return false;
        }
        m->stack = n;
        m->capstack = cap;
    }
    m->stack[m->nstack++] = (undo){k, a, b};
    return true;
}

static bool check_assert(const vm *m, int kind, int multiline, size_t sp)
{
    const char *s = m->s;
    size_t len = m->len;
    switch ((akind)kind) {
    case A_SBOL: return sp == 0;
    case A_BOL: return sp == 0 || s[sp - 1] == '\n';
    case A_SEOL: return sp == len;
    case A_EOL:
        if (multiline)
            return sp == len || s[sp] == '\n';
        return sp == len || (sp == len - 1 && s[sp] == '\n');
    case A_WORDB:
    case A_NWORDB: {
        bool a = sp > 0 && is_word((unsigned char)s[sp - 1]);
        bool b = sp < len && is_word((unsigned char)s[sp]);
        return (a != b) == (kind == A_WORDB);
    }
    }
    return false;
}

static int run(vm *m, const prog *pg, size_t start, bool anchored_end, size_t reject_empty_at,
               size_t *end_out);

/* A lookaround at sp. */
static bool look(vm *m, int idx, int kind, size_t sp)
{
    const rx *r = m->r;
    bool behind = kind & 1, neg = kind & 2;
    bool hit = false;
    size_t saved_len = m->len;
    size_t end;
    if (!behind) {
        vm sub = *m;
        sub.stack = NULL;
        sub.nstack = sub.capstack = 0;
        int rc = run(&sub, &r->looks[idx], sp, false, (size_t)-1, &end);
        free(sub.stack);
        m->steps = sub.steps;
        m->out_of_steps |= sub.out_of_steps;
        hit = rc == 1;
    } else {
        /* the sub-pattern must end exactly at sp: try each start before it */
        for (size_t k = sp + 1; k-- > 0 && !hit && !m->out_of_steps;) {
            vm sub = *m;
            sub.stack = NULL;
            sub.nstack = sub.capstack = 0;
            sub.len = sp;
            int rc = run(&sub, &r->looks[idx], k, true, (size_t)-1, &end);
            free(sub.stack);
            m->steps = sub.steps;
            m->out_of_steps |= sub.out_of_steps;
            hit = rc == 1;
        }
    }
    m->len = saved_len;
    return hit != neg;
}

/* Run pg from start; 1 on a match (its end in *end_out). */
static int run(vm *m, const prog *pg, size_t start, bool anchored_end, size_t reject_empty_at,
               size_t *end_out)
{
    const rx *r = m->r;
    const char *s = m->s;
    bool icase = r->flags & RX_I;
    size_t base = m->nstack;
    int pc = 0;
    size_t sp = start;
    for (;;) {
        if (++m->steps > STEP_BUDGET) {
            m->out_of_steps = true;
            goto failed_all;
        }
        const inst *in = &pg->code[pc];
        switch (in->op) {
        case I_CHAR:
            if (sp < m->len && (s[sp] == (char)in->c ||
                                (icase && tolower((unsigned char)s[sp]) == tolower(in->c)))) {
                sp++;
                pc++;
                continue;
            }
            goto backtrack;
        case I_ANY:
            if (sp < m->len && s[sp] != '\n') {
                sp++;
                pc++;
                continue;
            }
            goto backtrack;
        case I_ANYNL:
            if (sp < m->len) {
                sp++;
                pc++;
                continue;
            }
            goto backtrack;
        case I_CLASS:
            if (sp < m->len && set_has(&r->sets[in->x], (unsigned char)s[sp])) {
                sp++;
                pc++;
                continue;
            }
            goto backtrack;
        case I_SPLIT:
            if (!push(m, U_BRANCH, in->y, sp))
                goto failed_all;
            pc = in->x;
            continue;
        case I_JMP:
            pc = in->x;
            continue;
        case I_SAVE:
            if (!push(m, U_CAP, in->x, m->caps[in->x]))
                goto failed_all;
            m->caps[in->x] = sp;
            pc++;
            continue;
        case I_MARK:
            if (!push(m, U_REG, in->x, m->regs[in->x]))
                goto failed_all;
            m->regs[in->x] = sp;
            pc++;
            continue;
        case I_PROGRESS:
            /* a loop body that matched nothing: leave the loop */
            pc = m->regs[in->x] == sp ? in->y : pc + 1;
            continue;
        case I_ASSERT:
            if (check_assert(m, in->x, in->y, sp)) {
                pc++;
                continue;
            }
            goto backtrack;
        case I_BACKREF: {
            size_t a = m->caps[2 * in->x], b = m->caps[2 * in->x + 1];
            if (a == (size_t)-1 || b == (size_t)-1)
                goto backtrack;
            size_t n = b - a;
            bool same = sp + n <= m->len;
            for (size_t i = 0; same && i < n; i++)
                same = icase ? tolower((unsigned char)s[a + i]) == tolower((unsigned char)s[sp + i])
                             : s[a + i] == s[sp + i];
            if (same) {
                sp += n;
                pc++;
                continue;
            }
            goto backtrack;
        }
        case I_LOOK:
            if (look(m, in->x, in->y, sp)) {
                pc++;
                continue;
            }
            if (m->out_of_steps)
                goto failed_all;
            goto backtrack;
        case I_MATCH:
            if ((anchored_end && sp != m->len) || (sp == start && start == reject_empty_at))
                goto backtrack;
            *end_out = sp;
            /* keep the captures; drop the branches */
            m->nstack = base;
            return 1;
        }
    backtrack:
        for (;;) {
            if (m->nstack == base)
                return 0;
            undo u = m->stack[--m->nstack];
            if (u.k == U_CAP) {
                m->caps[u.a] = u.b;
            } else if (u.k == U_REG) {
                m->regs[u.a] = u.b;
            } else {
                pc = u.a;
                sp = u.b;
                break;
            }
        }
    }
failed_all:
    while (m->nstack > base) { /* undo what was set */
        undo u = m->stack[--m->nstack];
        if (u.k == U_CAP)
            m->caps[u.a] = u.b;
        else if (u.k == U_REG)
            m->regs[u.a] = u.b;
    }
    return m->out_of_steps || m->oom ? -1 : 0;
}

int rx_exec(const rx *r, const char *s, size_t len, size_t pos, rx_mode mode, bool must_advance,
            size_t *so, size_t *eo)
{
    size_t ncap = 2 * ((size_t)r->ngroups + 1);
    size_t *caps = malloc(ncap * sizeof *caps);
    size_t *regs = calloc((size_t)r->nregs + 1, sizeof *regs);
    if (!caps || !regs) {
        free(caps);
        free(regs);
        return -1;
    }
    vm m = {r, s, len, caps, regs, NULL, 0, 0, 0, false, false};
    int rc = 0;
    size_t last = mode == RX_SEARCH ? len : pos;
    for (size_t start = pos; start <= last && rc == 0; start++) {
        for (size_t i = 0; i < ncap; i++)
            caps[i] = (size_t)-1;
        size_t end;
        rc = run(&m, &r->main, start, mode == RX_FULLMATCH, must_advance ? pos : (size_t)-1, &end);
        if (rc == 1) {
            caps[0] = start;
            caps[1] = end;
        }
    }
    if (rc == 1)
        for (int g = 0; g <= r->ngroups; g++) {
            so[g] = caps[2 * g];
            eo[g] = caps[2 * g + 1];
            if (so[g] == (size_t)-1 || eo[g] == (size_t)-1)
                so[g] = eo[g] = (size_t)-1;
        }
    free(caps);
    free(regs);
    free(m.stack);
    return rc;
}
