/* sqlsplit.c: cutting SQL text into statements (see sqlsplit.h). The
 * lexical rules are those both warehouses share: '...' with '' inside
 * (and E'...' with backslash escapes), "..." with "" inside, $tag$...$tag$,
 * -- to the end of the line and nested block comments. */
#include "sqlsplit.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* The end of a quoted run that starts at s[i] (the opening quote). */
static size_t quoted(const char *s, size_t i, char q, bool backslash)
{
    for (i++; s[i]; i++) {
        if (backslash && s[i] == '\\' && s[i + 1]) {
            i++;
            continue;
        }
        if (s[i] == q) {
            if (s[i + 1] == q) {
                i++;
                continue;
            }
            return i + 1;
        }
    }
    return i;
}

/* $tag$ ... $tag$; 0 when s[i] starts no dollar quote. */
static size_t dollar(const char *s, size_t i)
{
    size_t k = i + 1;
    while (isalnum((unsigned char)s[k]) || s[k] == '_')
        k++;
    if (s[k] != '$' || (k > i + 1 && isdigit((unsigned char)s[i + 1])))
        return 0;
    size_t tag = k + 1 - i;
    for (size_t j = k + 1; s[j]; j++)
        if (s[j] == '$' && !strncmp(s + j, s + i, tag))
            return j + tag;
    return strlen(s);
}

static size_t comment(const char *s, size_t i)
{
    if (s[i] == '-' && s[i + 1] == '-')
        return i + strcspn(s + i, "\n");
    int depth = 0;
    for (; s[i]; i++) {
        if (s[i] == '/' && s[i + 1] == '*') {
            depth++;
            i++;
        } else if (s[i] == '*' && s[i + 1] == '/') {
            i++;
            if (--depth == 0)
                return i + 1;
        }
    }
    return i;
}

/* Has [a, b) anything but blanks and comments? */
static bool has_code(const char *s, size_t a, size_t b)
{
    for (size_t i = a; i < b;) {
        if (isspace((unsigned char)s[i]))
            i++;
        else if ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*'))
            i = comment(s, i);
        else
            return true;
    }
    return false;
}

int web_sql_split(const char *s, web_span *out, int cap)
{
    int n = 0;
    size_t start = 0, i = 0;
    for (;;) {
        char c = s[i];
        size_t next = 0;
        if (c == '\'' )
            next = quoted(s, i, '\'', i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                                          (i < 2 || !isalnum((unsigned char)s[i - 2])));
        else if (c == '"')
            next = quoted(s, i, '"', false);
        else if (c == '$')
            next = dollar(s, i);
        else if ((c == '-' && s[i + 1] == '-') || (c == '/' && s[i + 1] == '*'))
            next = comment(s, i);
        if (next) {
            i = next;
            continue;
        }
        if (c == ';' || c == 0) {
            if (has_code(s, start, i)) {
                if (n < cap)
                    out[n] = (web_span){start, i};
                n++;
            }
            if (!c)
                return n;
            start = i + 1;
        }
        i++;
    }
}
