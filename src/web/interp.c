/* interp.c: Grafana variables as bound parameters. */
#include "interp.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char fmt[32];
    size_t len;         /* bytes of the reference in the text */
} ref;

static bool name_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Is there a variable reference at s? */
static bool read_ref(const char *s, const gf_var *vars, int nvars, ref *r)
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
    for (int i = 0; i < nvars; i++)
        if (strlen(vars[i].name) == n && !strncmp(vars[i].name, name, n))
            r->var = &vars[i];
    return r->var != NULL;
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

static bp_status bind_joined(gf_query *q, const ref *r, const char *sep, bp_err *err)
{
    buf j = {0};
    for (int i = 0; i < r->var->n; i++)
        if ((i && buf_adds(&j, sep)) || buf_adds(&j, r->var->values[i])) {
            buf_free(&j);
            return oom(err);
        }
    bp_status st = bind(q, j.p ? j.p : "", err);
    buf_free(&j);
    return st;
}

/* A reference outside a literal: one parameter, or a list for IN (...). */
static bp_status bind_ref(gf_query *q, const ref *r, bp_err *err)
{
    const char *sep = joiner(r->fmt);
    if (sep)
        return bind_joined(q, r, sep, err);
    if (r->var->n == 0) /* nothing selected: matches nothing */
        return buf_adds(&q->sql, "NULL") ? oom(err) : BP_OK;
    bp_status st = BP_OK;
    for (int i = 0; i < r->var->n && st == BP_OK; i++) {
        if (i && buf_adds(&q->sql, ", "))
            return oom(err);
        st = bind(q, r->var->values[i], err);
    }
    return st;
}

/* Grafana's time macros: neutral here (the marts have no time column). */
static size_t macro(const char *s, gf_query *q, bp_err *err, bp_status *st)
{
    static const char *const neutral[][2] = {
        {"$__timeFilter(", "TRUE"},      {"$__unixEpochFilter(", "TRUE"},
        {"$__timeFrom()", "TIMESTAMP '1970-01-01 00:00:00'"},
        {"$__timeTo()", "CURRENT_TIMESTAMP"},
    };
    for (size_t i = 0; i < sizeof neutral / sizeof neutral[0]; i++) {
        size_t n = strlen(neutral[i][0]);
        if (strncmp(s, neutral[i][0], n) != 0)
            continue;
        if (neutral[i][0][n - 1] == '(') { /* skip the argument */
            const char *close = strchr(s + n, ')');
            if (!close)
                return 0;
            n = (size_t)(close - s) + 1;
        }
        *st = buf_adds(&q->sql, neutral[i][1]) ? oom(err) : BP_OK;
        return n;
    }
    return 0;
}

/* A single-quoted literal starting at s (at the quote): copied as is when
 * it holds no reference, else rebuilt as ('text' || $n || 'text').
 * Returns its length. */
static size_t literal(const char *s, const gf_var *vars, int nvars, gf_query *q, bp_err *err,
                      bp_status *st)
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
        if (read_ref(s + i, vars, nvars, &r))
            has_ref = true;
    }
    size_t len = s[i] ? i + 1 : i;
    if (!has_ref) {
        *st = buf_add(&q->sql, s, len) ? oom(err) : BP_OK;
        return len;
    }
    /* pieces: text runs re-quoted, references bound (several values: one
     * string of them, comma-separated, as Grafana would splice them) */
    bool ok = buf_addc(&q->sql, '(') == 0, first = true;
    size_t run = 1;
    for (size_t k = 1; ok && k < i;) {
        bool at_ref = read_ref(s + k, vars, nvars, &r);
        if (!at_ref) {
            k += s[k] == '\'' ? 2 : 1;
            continue;
        }
        if (k > run) {
            ok = (first || buf_adds(&q->sql, " || ") == 0) && buf_addc(&q->sql, '\'') == 0 &&
                 buf_add(&q->sql, s + run, k - run) == 0 && buf_addc(&q->sql, '\'') == 0;
            first = false;
        }
        if (ok && !first)
            ok = buf_adds(&q->sql, " || ") == 0;
        if (ok && (*st = bind_joined(q, &r, joiner(r.fmt) ? joiner(r.fmt) : ",", err)) != BP_OK)
            return len;
        first = false;
        k += r.len;
        run = k;
    }
    if (ok && i > run)
        ok = buf_adds(&q->sql, " || '") == 0 && buf_add(&q->sql, s + run, i - run) == 0 &&
             buf_addc(&q->sql, '\'') == 0;
    ok = ok && buf_addc(&q->sql, ')') == 0;
    *st = ok ? BP_OK : oom(err);
    return len;
}

/* Copy a comment or a double-quoted identifier verbatim (refusing a
 * reference in the identifier); returns its length, 0 when s is neither. */
static size_t passthrough(const char *s, const gf_var *vars, int nvars, gf_query *q,
                          bp_err *err, bp_status *st)
{
    const char *end = NULL;
    if (s[0] == '-' && s[1] == '-')
        end = s + strcspn(s, "\n");
    else if (s[0] == '/' && s[1] == '*') {
        const char *c = strstr(s + 2, "*/");
        end = c ? c + 2 : s + strlen(s);
    } else if (s[0] == '"') {
        const char *c = strchr(s + 1, '"');
        end = c ? c + 1 : s + strlen(s);
        ref r;
        for (const char *p = s + 1; p < end; p++)
            if (read_ref(p, vars, nvars, &r)) {
                *st = bp_fail(err, BP_EINPUT, "variable $%s names an identifier (\"...\"): "
                              "a value may not name a table or column", r.var->name);
                return (size_t)(end - s);
            }
    } else
        return 0;
    *st = buf_add(&q->sql, s, (size_t)(end - s)) ? oom(err) : BP_OK;
    return (size_t)(end - s);
}

bp_status gf_interpolate(const char *raw, const gf_var *vars, int nvars, gf_query *q,
                         bp_err *err)
{
    memset(q, 0, sizeof *q);
    bp_status st = BP_OK;
    for (const char *s = raw; *s && st == BP_OK;) {
        size_t n;
        ref r;
        if ((n = passthrough(s, vars, nvars, q, err, &st)) || st != BP_OK) {
            s += n;
        } else if (*s == '\'') {
            s += literal(s, vars, nvars, q, err, &st);
        } else if ((n = macro(s, q, err, &st))) {
            s += n;
        } else if (read_ref(s, vars, nvars, &r)) {
            st = bind_ref(q, &r, err);
            s += r.len;
        } else {
            st = buf_addc(&q->sql, *s++) ? oom(err) : BP_OK;
        }
    }
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
