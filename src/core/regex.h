/* regex.h: regular expressions in Python's syntax (the `re` module that
 * dbt projects reach through modules.re), matched by backtracking.
 *
 * Supported: literals and escapes (\n \t \xhh, escaped metacharacters),
 * . ^ $ \A \Z \b \B, classes [..] with ranges and \d \w \s (and their
 * negations), groups ( ), (?:...), (?P<name>...), (?<name>...), back
 * references \1 and (?P=name), lookarounds (?=...) (?!...) (?<=...)
 * (?<!...), comments (?#...), alternation, quantifiers * + ? {m} {m,}
 * {m,n} {,n} greedy or lazy, and the flags i, m, s, x (inline (?imsx) or
 * given). Bytes, not Unicode code points: \w is [A-Za-z0-9_].
 *
 * Matching is bounded: a pattern that backtracks more than a budget of
 * steps stops with an error instead of running for ever. */
#ifndef BP_REGEX_H
#define BP_REGEX_H

#include <stdbool.h>
#include <stddef.h>

enum { RX_I = 2, RX_M = 8, RX_S = 16, RX_X = 64 }; /* Python's values of re.I, M, S, X */

typedef enum { RX_SEARCH, RX_MATCH, RX_FULLMATCH } rx_mode;

typedef struct rx rx;

/* Compile pat; NULL with a message in err on a bad pattern. */
rx *rx_compile(const char *pat, int flags, char *err, size_t errn);
void rx_free(rx *r);
int rx_ngroups(const rx *r);
/* The name of group g (1-based), or NULL. */
const char *rx_group_name(const rx *r, int g);

/* Match s[0..len) from pos. so/eo: ngroups + 1 entries each, filled with
 * the group spans ((size_t)-1 for a group that did not take part).
 * must_advance: an empty match at pos does not count (how Python's sub
 * and findall move on after an empty match). Returns 1 on a match, 0 on
 * none, -1 when the step budget ran out. */
int rx_exec(const rx *r, const char *s, size_t len, size_t pos, rx_mode mode, bool must_advance,
            size_t *so, size_t *eo);

#endif
