/* test_regex.c: the regular expression engine (core/regex.c, dbt's
 * modules.re) against tests/regex/cases.txt: what Python's re.finditer
 * gives for each pattern and subject (the file says its format), and the
 * step budget that stops a pattern that backtracks for ever. Run from the
 * repository's root (make unit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/regex.h"

/* a buffer append in a test: out of memory fails the test */
#define OK(x) assert_int_equal((x), BP_OK)

#define CASES "tests/regex/cases.txt"

/* \n and \t in a subject stand for newline and tab */
static void unescape(const char *s, buf *out)
{
    for (; *s; s++) {
        if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't')) {
            OK(buf_addc(out, s[1] == 'n' ? '\n' : '\t'));
            s++;
        } else {
            OK(buf_addc(out, *s));
        }
    }
}

/* Matches as Python's finditer walks them, written as the file writes them. */
static void finditer(const rx *r, const char *s, size_t len, buf *out)
{
    size_t so[100], eo[100], pos = 0;
    bool advance = false, any = false;
    int ng = rx_ngroups(r);
    while (pos <= len && rx_exec(r, s, len, pos, RX_SEARCH, advance, so, eo) == 1) {
        if (any)
            OK(buf_addc(out, '|'));
        any = true;
        for (size_t i = so[0]; i < eo[0]; i++)
            if (s[i] == '\n')
                OK(buf_adds(out, "\\n"));
            else if (s[i] == '\t')
                OK(buf_adds(out, "\\t"));
            else
                OK(buf_addc(out, s[i]));
        if (ng) {
            OK(buf_addc(out, '{'));
            for (int g = 1; g <= ng; g++) {
                if (g > 1)
                    OK(buf_addc(out, ','));
                if (so[g] == (size_t)-1)
                    OK(buf_addc(out, '~'));
                else
                    OK(buf_add(out, s + so[g], eo[g] - so[g]));
            }
            OK(buf_addc(out, '}'));
        }
        advance = eo[0] == so[0];
        pos = eo[0];
    }
    if (!any)
        OK(buf_adds(out, "-"));
}

static int flags_of(const char *f)
{
    int x = 0;
    for (; *f; f++)
        x |= *f == 'i' ? RX_I : *f == 'm' ? RX_M : *f == 's' ? RX_S : *f == 'x' ? RX_X : 0;
    return x;
}

static void python_cases(void **state)
{
    (void)state;
    FILE *f = fopen(CASES, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0, failed = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n')
            line[--l] = 0;
        if (!l || line[0] == '#')
            continue;
        char *fields[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            char *tab = strchr(fields[k - 1], '\t');
            assert_non_null(tab);
            *tab = 0;
            fields[k] = tab + 1;
        }
        n++;
        buf subj = {0}, got = {0};
        char err[256];
        unescape(fields[2], &subj);
        rx *r = rx_compile(fields[0], flags_of(fields[1]), err, sizeof err);
        if (!r)
            OK(buf_adds(&got, "!"));
        else
            finditer(r, subj.p ? subj.p : "", subj.len, &got);
        if (strcmp(got.p ? got.p : "", fields[3]) != 0) {
            failed++;
            printf("%s:%d: /%s/ on '%s'\n  want: [%s]\n  got:  [%s]%s%s\n", CASES, lineno,
                   fields[0], fields[2], fields[3], got.p ? got.p : "", r ? "" : " ",
                   r ? "" : err);
        }
        rx_free(r);
        buf_free(&subj);
        buf_free(&got);
    }
    fclose(f);
    printf("%d cases, %d failed\n", n, failed);
    assert_true(n >= 50);
    assert_int_equal(failed, 0);
}

/* (a|aa)*b on a long run of a's backtracks exponentially: the budget stops
 * it with -1 instead of hanging the render. */
static void runaway_backtracking_stops(void **state)
{
    (void)state;
    char err[128];
    rx *r = rx_compile("(a|aa)*b", 0, err, sizeof err);
    assert_non_null(r);
    char s[64];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = 0;
    size_t so[4], eo[4];
    assert_int_equal(rx_exec(r, s, strlen(s), 0, RX_MATCH, false, so, eo), -1);
    rx_free(r);
}

/* Deep nesting and huge repeats are refused, not recursed into. */
static void limits(void **state)
{
    (void)state;
    char err[128];
    buf deep = {0};
    for (int i = 0; i < 1000; i++)
        OK(buf_addc(&deep, '('));
    assert_null(rx_compile(deep.p, 0, err, sizeof err));
    buf_free(&deep);
    assert_null(rx_compile("(a{1000}){1000}", 0, err, sizeof err));
    assert_non_null(strstr(err, "too large"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(python_cases),
        cmocka_unit_test(runaway_backtracking_stops),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
