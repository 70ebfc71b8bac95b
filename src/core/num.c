/* num.c: strict integer parsing. */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Parse digits with sign; stops at the first non-digit, reporting where. */
static bool parse_digits(const char *s, size_t n, int64_t *out, size_t *used)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    size_t start = i;
    uint64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_C(9223372036854775807) - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == start)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    *used = i;
    return true;
}

bool num_parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t used;
    trim(&s, &n);
    return parse_digits(s, n, out, &used) && used == n;
}

bool num_parse_intlike(const char *s, size_t n, int64_t *out)
{
    size_t used;
    trim(&s, &n);
    if (!parse_digits(s, n, out, &used))
        return false;
    if (used == n)
        return true;
    if (s[used] != '.' || used + 1 == n)
        return false;
    for (size_t i = used + 1; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

bool num_parse_range(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (!num_parse_i64(s, strlen(s), &v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool num_parse_size(const char *s, uint64_t *out)
{
    static const char scale[] = "kmgt";
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    while (*end == ' ')
        end++;
    const char *k = *end ? strchr(scale, tolower((unsigned char)*end)) : NULL;
    int shift = k ? 10 * (int)(k - scale + 1) : 0;
    end += k != NULL;
    if (*end && strcasecmp(end, "b") && (!k || strcasecmp(end, "ib")))
        return false;
    if (v == 0 || v > UINT64_MAX >> shift)
        return false;
    *out = (uint64_t)v << shift;
    return true;
}
