/* fuzz_interp.c: libFuzzer target: what a dashboard file and its URL hand
 * the server: panel SQL through Grafana's macros and variables (interp.c),
 * the text as time range ends and intervals (gtime.c), and the explorer's
 * statement splitter (sqlsplit.c). Every parameter bound must be a string
 * the statement refers to ($1..$n): a macro or variable that leaves a
 * value in the text would show here as a crash of the check below. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/gtime.h"
#include "web/interp.h"
#include "web/sqlsplit.h"

static const char *const one[] = {"'; DROP TABLE t; --"};
static const char *const two[] = {"5m", "a\"b"};

/* The statement with its string literals, quoted identifiers (where an
 * alias may carry a value, quotes doubled) and comments blanked, read as
 * the interpolator reads SQL: what is left is the statement's structure,
 * where no value may ever appear. */
static char *structure(const char *sql)
{
    char *o = strdup(sql);
    size_t n = o ? strlen(o) : 0, i = 0;
    while (o && i < n) {
        size_t e = i;
        if (o[i] == '\'' || o[i] == '"') {
            char q = o[i];
            for (e = i + 1; e < n; e++) {
                if (o[e] == q && e + 1 < n && o[e + 1] == q) {
                    e++;
                    continue;
                }
                if (o[e] == q)
                    break;
            }
            e = e < n ? e + 1 : n;
        } else if (o[i] == '-' && o[i + 1] == '-')
            e = i + strcspn(o + i, "\n");
        else if (o[i] == '/' && o[i + 1] == '*') {
            char *c = strstr(o + i + 2, "*/");
            e = c ? (size_t)(c - o) + 2 : n;
        } else {
            i++;
            continue;
        }
        memset(o + i, ' ', e - i);
        i = e;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, data, n);
    s[n] = 0;
    const gf_var vars[] = {{"q", one, 1}, {"iv", two, 1}, {"multi", two, 2}, {"none", NULL, 0}};
    const gf_time t = {1706695200000LL, 1706716800000LL, 15000, "dash"};
    gf_query q;
    bp_err err;
    if (gf_interpolate(s, vars, 4, &t, &q, &err) == BP_OK) {
        /* the injected text never reaches the statement's structure */
        char *st = structure(q.sql.p);
        if (st && strstr(st, "DROP TABLE t") && !strstr(s, "DROP TABLE t"))
            abort();
        free(st);
        gf_query_free(&q);
    }
    int64_t ms;
    (void)gf_time_parse(s, 1706708730250LL, false, &ms);
    (void)gf_time_parse(s, 1706708730250LL, true, &ms);
    if (gf_interval_parse(s, &ms)) {
        char out[32];
        gf_interval_format(ms, out, sizeof out);
    }
    web_span sp[8];
    int k = web_sql_split(s, sp, 8);
    for (int i = 0; i < k && i < 8; i++)
        if (sp[i].start > sp[i].end || sp[i].end > n)
            abort();
    free(s);
    return 0;
}
