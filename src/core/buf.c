/* buf.c: the growable bounded buffer. */
#include "buf.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_DEFAULT_LIMIT ((size_t)1 << 30)

void buf_free(buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

bp_status buf_reserve(buf *b, size_t n)
{
    size_t limit = b->limit ? b->limit : BUF_DEFAULT_LIMIT;
    if (n > limit || b->len > limit - n)
        return BP_ENOMEM;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return BP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return BP_ENOMEM;
    b->p = p;
    b->cap = cap;
    return BP_OK;
}

bp_status buf_add(buf *b, const void *s, size_t n)
{
    if (buf_reserve(b, n) != BP_OK)
        return BP_ENOMEM;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return BP_OK;
}

bp_status buf_addc(buf *b, char c) { return buf_add(b, &c, 1); }

bp_status buf_adds(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

bp_status buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return BP_EINTERNAL;
    if (buf_reserve(b, (size_t)n) != BP_OK)
        return BP_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return BP_OK;
}

bp_status buf_add_sqlstr(buf *b, const char *s) { return buf_add_sqllit(b, s, false); }

bp_status buf_add_sqllit(buf *b, const char *s, bool backslash_escapes)
{
    if (buf_addc(b, '\'') != BP_OK)
        return BP_ENOMEM;
    for (; *s; s++) {
        bool twice = *s == '\'' || (backslash_escapes && *s == '\\');
        if ((twice && buf_addc(b, *s) != BP_OK) || buf_addc(b, *s) != BP_OK)
            return BP_ENOMEM;
    }
    return buf_addc(b, '\'');
}

/* Words DuckDB or PostgreSQL reserve (DuckDB's duckdb_keywords()
 * 'reserved' and 'type_function', PostgreSQL's reserved list): a column
 * named `end` or `default` must be quoted to be a name. Sorted. */
static const char *const reserved[] = {
    "all", "analyse", "analyze", "and", "anti", "any", "array", "as", "asc", "asof",
    "asymmetric", "at", "authorization", "binary", "both", "by", "case", "cast", "check",
    "collate", "collation", "column", "columns", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc",
    "describe", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign",
    "freeze", "from", "full", "generated", "glob", "grant", "group", "having", "ilike", "in",
    "initially", "inner", "intersect", "into", "is", "isnull", "join", "lambda", "lateral",
    "leading", "left", "like", "limit", "localtime", "localtimestamp", "map", "natural", "not",
    "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps", "pivot",
    "pivot_longer", "pivot_wider", "placing", "positional", "primary", "qualify", "references",
    "returning", "right", "select", "semi", "session_user", "show", "similar", "some",
    "struct", "summarize", "symmetric", "table", "tablesample", "then", "to", "trailing",
    "true", "try_cast", "union", "unique", "unpack", "unpivot", "user", "using", "variadic",
    "verbose", "when", "where", "window", "with"};

static int cmp_word(const void *k, const void *e) { return strcmp(k, *(const char *const *)e); }

bp_status buf_add_ident(buf *b, const char *s)
{
    int plain = (*s && (islower((unsigned char)*s) || *s == '_'));
    for (const char *q = s; plain && *q; q++)
        plain = islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_';
    if (plain && bsearch(s, reserved, sizeof reserved / sizeof *reserved, sizeof *reserved,
                         cmp_word))
        plain = 0;
    if (plain)
        return buf_adds(b, s);
    if (buf_addc(b, '"') != BP_OK)
        return BP_ENOMEM;
    for (; *s; s++)
        if ((*s == '"' && buf_addc(b, '"') != BP_OK) || buf_addc(b, *s) != BP_OK)
            return BP_ENOMEM;
    return buf_addc(b, '"');
}

bp_status buf_add_relation(buf *b, const char *schema, const char *name)
{
    if (buf_add_ident(b, schema) || buf_addc(b, '.'))
        return BP_ENOMEM;
    return buf_add_ident(b, name);
}
