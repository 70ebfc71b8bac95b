/* interp.c: Grafana variables and macros as bound parameters. */
#include "interp.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gtime.h"

/* One interpolation: what every step reads and writes. */
typedef struct {
    const gf_var *vars;
    int nvars;
    const gf_time *t;
    gf_query *q;
    bp_err *err;
} ip;

static bp_status oom(bp_err *err) { return bp_fail(err, BP_ENOMEM, "out of memory"); }

/* A parameter for value v; appends its placeholder to the statement. */
static bp_status bind(gf_query *q, const char *v, bp_err *err)
{
    if (q->n == q->cap) {
        int cap = q->cap ? q->cap * 2 : 8;
        char **p = realloc(q->params, sizeof *p * (size_t)cap);
        if (!p)
            return oom(err);
        q->params = p;
        q->cap = cap;
    }
    if (!(q->params[q->n] = strdup(v)))
        return oom(err);
    q->n++;
    return buf_printf(&q->sql, "$%d", q->n) ? oom(err) : BP_OK;
}

typedef struct {
    const gf_var *var;  /* NULL: not a known variable */
    bool global;        /* a global ($__from, $__interval...): its text is val */
    char val[160];
    char fmt[32];
    size_t len;         /* bytes of the reference in the text */
} ref;

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* ${__from:date:iso} and friends: the range's ends in Grafana's formats. */
static void time_global(int64_t ms, const char *fmt, char *out, size_t n)
{
    if (!*fmt)
        snprintf(out, n, "%lld", (long long)ms);
    else if (!strcmp(fmt, "date") || !strcmp(fmt, "date:iso"))
        gf_time_iso(ms, out, n);
    else if (!strcmp(fmt, "date:seconds"))
        snprintf(out, n, "%lld", (long long)(ms / 1000));
    else if (!strncmp(fmt, "date:", 5))
        gf_time_format(ms, fmt + 5, out, n);
    else
        snprintf(out, n, "%lld", (long long)ms);
}

/* The value of a global variable, or false when name is none. */
static bool global(const gf_time *t, const char *name, size_t n, const char *fmt, char *out,
                   size_t cap)
{
#define IS(s) (n == sizeof s - 1 && !memcmp(name, s, n))
    if (IS("__timezone"))
        return snprintf(out, cap, "utc"), true;
    if (IS("__org"))
        return snprintf(out, cap, "1"), true;
    if (IS("__org.name"))
        return snprintf(out, cap, "Main Org."), true;
    if (IS("__user") || IS("__user.id"))
        return snprintf(out, cap, "1"), true;
    if (IS("__user.login") || IS("__user.name"))
        return snprintf(out, cap, "bookpipe"), true;
    if (!t)
        return false;
    int64_t span = t->to_ms - t->from_ms;
    /* Grafana's $__rate_interval with its default 15 s scrape interval */
    int64_t rate = t->interval_ms + 15000 > 60000 ? t->interval_ms + 15000 : 60000;
    if (IS("__dashboard"))
        snprintf(out, cap, "%s", t->dashboard ? t->dashboard : "");
    else if (IS("__from"))
        time_global(t->from_ms, fmt, out, cap);
    else if (IS("__to"))
        time_global(t->to_ms, fmt, out, cap);
    else if (IS("__interval"))
        gf_interval_format(t->interval_ms, out, cap);
    else if (IS("__interval_ms"))
        snprintf(out, cap, "%lld", (long long)t->interval_ms);
    else if (IS("__rate_interval"))
        gf_interval_format(rate, out, cap);
    else if (IS("__rate_interval_ms"))
        snprintf(out, cap, "%lld", (long long)rate);
    else if (IS("__range"))
        gf_interval_format(span, out, cap);
    else if (IS("__range_s"))
        snprintf(out, cap, "%lld", (long long)(span / 1000));
    else if (IS("__range_ms"))
        snprintf(out, cap, "%lld", (long long)span);
    else
        return false;
    return true;
#undef IS
}

/* Is there a variable reference at s? */
static bool read_ref(const ip *c, const char *s, ref *r)
{
    memset(r, 0, sizeof *r);
    const char *name, *end;
    size_t n;
    if (s[0] == '$' && s[1] == '{') {
        name = s + 2;
        if (!(end = strchr(name, '}')))
            return false;
        r->len = (size_t)(end - s) + 1;
    } else if (s[0] == '[' && s[1] == '[') {
        name = s + 2;
        if (!(end = strstr(name, "]]")))
            return false;
        r->len = (size_t)(end - s) + 2;
    } else if (s[0] == '$' && (isalpha((unsigned char)s[1]) || s[1] == '_')) {
        name = s + 1;
        for (end = name; name_char(*end); end++)
            ;
        r->len = (size_t)(end - s);
    } else
        return false;
    const char *colon = memchr(name, ':', (size_t)(end - name));
    n = (size_t)((colon ? colon : end) - name);
    if (colon)
        snprintf(r->fmt, sizeof r->fmt, "%.*s", (int)(end - colon - 1), colon + 1);
    for (int i = 0; i < c->nvars; i++)
        if (strlen(c->vars[i].name) == n && !strncmp(c->vars[i].name, name, n))
            r->var = &c->vars[i];
    if (!r->var && n > 2 && name[0] == '_' && name[1] == '_')
        r->global = global(c->t, name, n, r->fmt, r->val, sizeof r->val);
    return r->var != NULL || r->global;
}

/* Formats that make one string of all values; the others make a list. */
static const char *joiner(const char *fmt)
{
    if (!strcmp(fmt, "pipe"))
        return "|";
    if (!strcmp(fmt, "text") || !strcmp(fmt, "json") || !strcmp(fmt, "percentencode"))
        return ",";
    return NULL;
}

static bp_status bind_joined(ip *c, const ref *r, const char *sep)
{
    if (r->global)
        return bind(c->q, r->val, c->err);
    buf j = {0};
    for (int i = 0; i < r->var->n; i++)
        if ((i && buf_adds(&j, sep)) || buf_adds(&j, r->var->values[i])) {
            buf_free(&j);
            return oom(c->err);
        }
    bp_status st = bind(c->q, j.p ? j.p : "", c->err);
    buf_free(&j);
    return st;
}

/* A reference outside a literal: one parameter, or a list for IN (...). */
static bp_status bind_ref(ip *c, const ref *r)
{
    const char *sep = joiner(r->fmt);
    if (sep || r->global)
        return bind_joined(c, r, sep);
    if (r->var->n == 0) /* nothing selected: matches nothing */
        return buf_adds(&c->q->sql, "NULL") ? oom(c->err) : BP_OK;
    bp_status st = BP_OK;
    for (int i = 0; i < r->var->n && st == BP_OK; i++) {
        if (i && buf_adds(&c->q->sql, ", "))
            return oom(c->err);
        st = bind(c->q, r->var->values[i], c->err);
    }
    return st;
}

static bp_status run(ip *c, const char *s);

/* ---- macros ------------------------------------------------------------------------------- */

#define MAX_ARGS 4

typedef struct {
    char name[40];
    char *args[MAX_ARGS]; /* trimmed copies */
    int n;
    size_t len;           /* of the whole call in the text */
} call;

static void call_free(call *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->args[i]);
}

/* $__name(args) at s: arguments split at top-level commas, nested
 * parentheses and quoted text kept whole. 0: no macro call here. */
static size_t read_call(const char *s, call *m, bp_err *err, bp_status *st)
{
    memset(m, 0, sizeof *m);
    if (strncmp(s, "$__", 3) != 0)
        return 0;
    size_t i = 1;
    while (name_char(s[i]))
        i++;
    if (s[i] != '(' || i - 1 >= sizeof m->name)
        return 0;
    memcpy(m->name, s + 1, i - 1);
    int depth = 0;
    size_t start = i + 1;
    for (size_t k = i; s[k]; k++) {
        char ch = s[k];
        if (ch == '\'' || ch == '"') {
            const char *e = strchr(s + k + 1, ch);
            if (!e)
                break;
            k = (size_t)(e - s);
            continue;
        }
        if (ch == '(') {
            depth++;
            continue;
        }
        if ((ch == ',' && depth == 1) || (ch == ')' && depth == 1)) {
            const char *a = s + start, *b = s + k;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (m->n == MAX_ARGS) {
                *st = bp_fail(err, BP_EINPUT, "$%s: too many arguments", m->name);
                return k;
            }
            if (b > a || m->n || ch == ',') {
                if (!(m->args[m->n] = strndup(a, (size_t)(b - a)))) {
                    *st = oom(err);
                    return k;
                }
                m->n++;
            }
            start = k + 1;
        }
        if (ch == ')' && --depth == 0) {
            m->len = k + 1;
            return m->len;
        }
    }
    *st = bp_fail(err, BP_EINPUT, "$%s( has no closing parenthesis", m->name);
    return strlen(s);
}

static bp_status add(ip *c, const char *text)
{
    return buf_adds(&c->q->sql, text) ? oom(c->err) : BP_OK;
}

static bp_status bind_num(ip *c, long long v)
{
    char n[32];
    snprintf(n, sizeof n, "%lld", v);
    return bind(c->q, n, c->err);
}

static bp_status bind_time(ip *c, int64_t ms)
{
    char iso[48];
    gf_time_iso(ms, iso, sizeof iso);
    return bind(c->q, iso, c->err);
}

/* The interval argument: '5m', 5m, $__interval or a variable holding one
 * (Grafana replaces $__interval by its text, "1m", before the macros run,
 * and so does this). */
static bool interval_arg(ip *c, const char *a, int64_t *ms)
{
    ref r;
    char bare[128];
    size_t n = strlen(a);
    if (n >= 2 && n < sizeof bare + 2 && a[0] == '\'' && a[n - 1] == '\'') { /* '$summarize' */
        memcpy(bare, a + 1, n - 2);
        bare[n - 2] = 0;
        a = bare;
    }
    if (read_ref(c, a, &r) && r.len == strlen(a))
        return r.global ? gf_interval_parse(r.val, ms)
                        : r.var->n > 0 && gf_interval_parse(r.var->values[0], ms);
    return gf_interval_parse(a, ms);
}

static bp_status fill_arg(ip *c, const call *m, int64_t interval)
{
    if (m->n < 3)
        return BP_OK;
    const char *f = m->args[2];
    gf_query *q = c->q;
    q->fill_interval_ms = interval;
    if (!strcasecmp(f, "NULL"))
        q->fill = GF_FILL_NULL;
    else if (!strcasecmp(f, "previous"))
        q->fill = GF_FILL_PREVIOUS;
    else {
        char *end;
        q->fill_value = strtod(f, &end);
        if (end == f || *end)
            return bp_fail(c->err, BP_EINPUT, "$%s: fill must be a number, NULL or previous, "
                           "not %s", m->name, f);
        q->fill = GF_FILL_VALUE;
    }
    return BP_OK;
}

/* floor(extract(epoch from col)/300)*300, or floor((col)/300)*300 for an
 * epoch column; alias adds AS "time". */
static bp_status time_group(ip *c, const call *m, bool unix_col, bool alias)
{
    int64_t ms;
    if (m->n < 2)
        return bp_fail(c->err, BP_EINPUT, "$%s needs a time column and an interval", m->name);
    if (!interval_arg(c, m->args[1], &ms) || ms <= 0)
        return bp_fail(c->err, BP_EINPUT, "$%s: %s is not an interval (like '5m' or "
                       "$__interval)", m->name, m->args[1]);
    bp_status st = fill_arg(c, m, ms);
    char secs[40];
    if (ms % 1000)
        snprintf(secs, sizeof secs, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
    else
        snprintf(secs, sizeof secs, "%lld", (long long)(ms / 1000));
    if (st == BP_OK)
        st = add(c, unix_col ? "floor((" : "floor(extract(epoch from ");
    if (st == BP_OK)
        st = run(c, m->args[0]);
    if (st == BP_OK && (st = add(c, ")/")) == BP_OK && (st = add(c, secs)) == BP_OK &&
        (st = add(c, ")*")) == BP_OK)
        st = add(c, secs);
    return st == BP_OK && alias ? add(c, " AS \"time\"") : st;
}

/* An end of the range in epoch seconds, or nanoseconds. */
static long long epoch(int64_t ms, bool nano)
{
    return nano ? (long long)ms * 1000000LL : (long long)(ms / 1000);
}

/* col >= $a AND col <= $b */
static bp_status epoch_filter(ip *c, const call *m, bool nano)
{
    bp_status st = run(c, m->args[0]);
    if (st == BP_OK && (st = add(c, " >= ")) == BP_OK &&
        (st = bind_num(c, epoch(c->t->from_ms, nano))) == BP_OK &&
        (st = add(c, " AND ")) == BP_OK && (st = run(c, m->args[0])) == BP_OK &&
        (st = add(c, " <= ")) == BP_OK)
        st = bind_num(c, epoch(c->t->to_ms, nano));
    return st;
}

static bp_status expand(ip *c, const call *m, bool comma_after)
{
    const char *n = m->name;
    bool needs_col = strcmp(n, "__timeFrom") && strcmp(n, "__timeTo") &&
                     strcmp(n, "__unixEpochFrom") && strcmp(n, "__unixEpochTo") &&
                     strcmp(n, "__unixEpochNanoFrom") && strcmp(n, "__unixEpochNanoTo");
    if (!c->t)
        return bp_fail(c->err, BP_EINPUT, "$%s: no time range here", n);
    if (needs_col && (m->n < 1 || !*m->args[0]))
        return bp_fail(c->err, BP_EINPUT, "missing time column argument for macro $%s", n);
    bp_status st = BP_OK;
    if (!strcmp(n, "__time") || !strcmp(n, "__timeEpoch")) {
        bool ep = n[6] == 'E';
        if ((st = add(c, ep ? "extract(epoch from " : "")) == BP_OK &&
            (st = run(c, m->args[0])) == BP_OK)
            st = add(c, ep ? ") AS \"time\"" : " AS \"time\"");
    } else if (!strcmp(n, "__timeFilter")) {
        if ((st = run(c, m->args[0])) == BP_OK && (st = add(c, " BETWEEN ")) == BP_OK &&
            (st = bind_time(c, c->t->from_ms)) == BP_OK && (st = add(c, " AND ")) == BP_OK)
            st = bind_time(c, c->t->to_ms);
    } else if (!strcmp(n, "__timeFrom") || !strcmp(n, "__timeTo")) {
        st = bind_time(c, n[6] == 'F' ? c->t->from_ms : c->t->to_ms);
    } else if (!strcmp(n, "__timeGroup") || !strcmp(n, "__timeGroupAlias")) {
        /* before Grafana 5.3 $__timeGroup(...), meant the aliased form */
        st = time_group(c, m, false, n[11] == 'A' || comma_after);
    } else if (!strcmp(n, "__unixEpochGroup") || !strcmp(n, "__unixEpochGroupAlias")) {
        st = time_group(c, m, true, n[16] == 'A');
    } else if (!strcmp(n, "__unixEpochFilter")) {
        st = epoch_filter(c, m, false);
    } else if (!strcmp(n, "__unixEpochNanoFilter")) {
        st = epoch_filter(c, m, true);
    } else if (!strcmp(n, "__unixEpochFrom") || !strcmp(n, "__unixEpochTo")) {
        st = bind_num(c, epoch(n[11] == 'F' ? c->t->from_ms : c->t->to_ms, false));
    } else if (!strcmp(n, "__unixEpochNanoFrom") || !strcmp(n, "__unixEpochNanoTo")) {
        st = bind_num(c, epoch(n[15] == 'F' ? c->t->from_ms : c->t->to_ms, true));
    } else
        st = bp_fail(c->err, BP_EINPUT, "unknown macro $%s", n);
    return st;
}

/* A macro call at s: its expansion appended; 0 when there is none. */
static size_t macro(ip *c, const char *s, bp_status *st)
{
    call m;
    size_t n = read_call(s, &m, c->err, st);
    if (n && *st == BP_OK)
        *st = expand(c, &m, s[n] == ',');
    call_free(&m);
    return n;
}

/* ---- literals, comments, identifiers -------------------------------------------------------- */

/* Is the statement so far ending in a type keyword (INTERVAL '...')? Its
 * length, to be moved into a CAST: INTERVAL ($1) would not parse. */
static size_t typed_literal(const buf *sql, const char **type)
{
    static const char *const kw[] = {"INTERVAL", "TIMESTAMPTZ", "TIMESTAMP", "DATE", "TIME"};
    size_t n = sql->len;
    while (n && isspace((unsigned char)sql->p[n - 1]))
        n--;
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        size_t l = strlen(kw[i]);
        if (n >= l && !strncasecmp(sql->p + n - l, kw[i], l) &&
            (n == l || !name_char(sql->p[n - l - 1]))) {
            *type = kw[i];
            return sql->len - (n - l);
        }
    }
    return 0;
}

/* A single-quoted literal starting at s (at the quote): copied as is when
 * it holds no reference, else rebuilt as ('text' || $n || 'text').
 * Returns its length. */
static size_t literal(ip *c, const char *s, bp_status *st)
{
    size_t i = 1;
    bool has_ref = false;
    ref r;
    for (; s[i]; i++) {
        if (s[i] == '\'' && s[i + 1] == '\'') {
            i++;
            continue;
        }
        if (s[i] == '\'')
            break;
        if (read_ref(c, s + i, &r))
            has_ref = true;
    }
    size_t len = s[i] ? i + 1 : i;
    buf *out = &c->q->sql;
    if (!has_ref) {
        *st = buf_add(out, s, len) ? oom(c->err) : BP_OK;
        return len;
    }
    const char *type = NULL;
    size_t kw = typed_literal(out, &type);
    if (kw)
        out->p[out->len -= kw] = 0;
    /* pieces: text runs re-quoted, references bound (several values: one
     * string of them, comma-separated, as Grafana would splice them) */
    bool ok = (!kw || buf_adds(out, "CAST(") == 0) && buf_addc(out, '(') == 0, first = true;
    size_t run_at = 1;
    for (size_t k = 1; ok && k < i;) {
        bool at_ref = read_ref(c, s + k, &r);
        if (!at_ref) {
            k += s[k] == '\'' ? 2 : 1;
            continue;
        }
        if (k > run_at) {
            ok = (first || buf_adds(out, " || ") == 0) && buf_addc(out, '\'') == 0 &&
                 buf_add(out, s + run_at, k - run_at) == 0 && buf_addc(out, '\'') == 0;
            first = false;
        }
        if (ok && !first)
            ok = buf_adds(out, " || ") == 0;
        if (ok && (*st = bind_joined(c, &r, joiner(r.fmt) ? joiner(r.fmt) : ",")) != BP_OK)
            return len;
        first = false;
        k += r.len;
        run_at = k;
    }
    if (ok && i > run_at)
        ok = buf_adds(out, " || '") == 0 && buf_add(out, s + run_at, i - run_at) == 0 &&
             buf_addc(out, '\'') == 0;
    ok = ok && buf_addc(out, ')') == 0;
    if (ok && kw)
        ok = buf_printf(out, " AS %s)", type) == 0;
    *st = ok ? BP_OK : oom(c->err);
    return len;
}

/* Does the statement so far end in AS (an output column's name comes)? */
static bool after_as(const buf *sql)
{
    size_t n = sql->len;
    while (n && isspace((unsigned char)sql->p[n - 1]))
        n--;
    return n >= 2 && !strncasecmp(sql->p + n - 2, "AS", 2) &&
           (n == 2 || !name_char(sql->p[n - 3])) && n < sql->len;
}

/* "name $var" after AS: a series' name (Grafana dashboards name series so).
 * It names no table or column, so the values are written in, with every "
 * doubled: the text cannot leave the identifier. */
static bp_status alias_with_refs(ip *c, const char *s, const char *end)
{
    buf *out = &c->q->sql;
    if (buf_addc(out, '"'))
        return oom(c->err);
    for (const char *p = s + 1; p < end - 1;) {
        ref r;
        const char *text = p;
        size_t n = 1;
        buf j = {0};
        if (read_ref(c, p, &r)) {
            for (int i = 0; !r.global && i < r.var->n; i++)
                if ((i && buf_addc(&j, ',')) || buf_adds(&j, r.var->values[i])) {
                    buf_free(&j);
                    return oom(c->err);
                }
            if (r.global && buf_adds(&j, r.val)) {
                buf_free(&j);
                return oom(c->err);
            }
            text = j.p ? j.p : "";
            n = j.len;
            p += r.len;
        } else
            p++;
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++)
            ok = text[k] == '"' ? !buf_adds(out, "\"\"") : !buf_addc(out, text[k]);
        buf_free(&j);
        if (!ok)
            return oom(c->err);
    }
    return buf_addc(out, '"') ? oom(c->err) : BP_OK;
}

/* Copy a comment or a double-quoted identifier verbatim; a reference in
 * an identifier is refused (it would name a table or column), except in an
 * output column's name after AS. Returns the length, 0 when s is neither. */
static size_t passthrough(ip *c, const char *s, bp_status *st)
{
    const char *end = NULL;
    if (s[0] == '-' && s[1] == '-')
        end = s + strcspn(s, "\n");
    else if (s[0] == '/' && s[1] == '*') {
        const char *e = strstr(s + 2, "*/");
        end = e ? e + 2 : s + strlen(s);
    } else if (s[0] == '"') {
        const char *e = strchr(s + 1, '"');
        end = e ? e + 1 : s + strlen(s);
        ref r;
        for (const char *p = s + 1; p < end; p++)
            if (read_ref(c, p, &r)) {
                if (e && after_as(&c->q->sql)) {
                    *st = alias_with_refs(c, s, end);
                    return (size_t)(end - s);
                }
                *st = bp_fail(c->err, BP_EINPUT, "variable $%s names an identifier (\"...\"): "
                              "a value may not name a table or column (it may name an "
                              "output column: AS \"...$%s\")",
                              r.var ? r.var->name : "__global", r.var ? r.var->name : "__global");
                return (size_t)(end - s);
            }
    } else
        return 0;
    *st = buf_add(&c->q->sql, s, (size_t)(end - s)) ? oom(c->err) : BP_OK;
    return (size_t)(end - s);
}

/* Interpolate s onto the statement (also each macro's column argument). */
static bp_status run(ip *c, const char *s)
{
    bp_status st = BP_OK;
    while (*s && st == BP_OK) {
        size_t n;
        ref r;
        if ((n = passthrough(c, s, &st)) || st != BP_OK) {
            s += n;
        } else if (*s == '\'') {
            s += literal(c, s, &st);
        } else if ((n = macro(c, s, &st)) || st != BP_OK) {
            s += n;
        } else if (read_ref(c, s, &r)) {
            st = bind_ref(c, &r);
            s += r.len;
        } else {
            st = buf_addc(&c->q->sql, *s++) ? oom(c->err) : BP_OK;
        }
    }
    return st;
}

bp_status gf_interpolate(const char *raw, const gf_var *vars, int nvars, const gf_time *t,
                         gf_query *q, bp_err *err)
{
    memset(q, 0, sizeof *q);
    ip c = {vars, nvars, t, q, err};
    bp_status st = run(&c, raw);
    if (st == BP_OK && !q->sql.p)
        st = buf_adds(&q->sql, "") ? oom(err) : BP_OK;
    if (st != BP_OK)
        gf_query_free(q);
    return st;
}

void gf_query_free(gf_query *q)
{
    for (int i = 0; i < q->n; i++)
        free(q->params[i]);
    free(q->params);
    buf_free(&q->sql);
    memset(q, 0, sizeof *q);
}
