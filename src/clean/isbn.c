/* isbn.c: ISBN-10/13 normalisation, check digits and the 10 -> 13 map. */
#include "isbn.h"

#include <string.h>

bool isbn10_valid(const char *d)
{
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        int v = (i == 9 && d[i] == 'X') ? 10 : d[i] - '0';
        if (v < 0 || v > 10 || (v == 10 && i != 9))
            return false;
        sum += (10 - i) * v;
    }
    return sum % 11 == 0;
}

bool isbn13_valid(const char *d)
{
    int sum = 0;
    for (int i = 0; i < 13; i++) {
        if (d[i] < '0' || d[i] > '9')
            return false;
        sum += (i % 2 ? 3 : 1) * (d[i] - '0');
    }
    return sum % 10 == 0;
}

static void to_isbn13(const char *d10, char *out)
{
    memcpy(out, "978", 3);
    memcpy(out + 3, d10, 9);
    int sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (i % 2 ? 3 : 1) * (out[i] - '0');
    out[12] = (char)('0' + (10 - sum % 10) % 10);
    out[13] = 0;
}

static bool is_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* 9 digits then a digit or X: the shape of an ISBN-10 body. */
static bool isbn10_shape(const char *s)
{
    return is_digits(s, 9) && ((s[9] >= '0' && s[9] <= '9') || s[9] == 'X');
}

bool isbn_clean(const char *s, size_t n, isbn_info *out)
{
    char t[16];
    int k = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '\\' || c == '-' || c == '.')
            continue;
        if (c == 'x')
            c = 'X';
        if (k == 14)
            return false;
        t[k++] = c;
    }
    t[k] = 0;
    if (k == 9) {
        char z[11];
        z[0] = '0';
        memcpy(z + 1, t, 9);
        z[10] = 0;
        if (!isbn10_shape(z) || !isbn10_valid(z))
            return false;
        memcpy(t, z, 11);
        k = 10;
        out->repaired = true;
    }
    if (k == 10 && isbn10_shape(t)) {
        out->checksum_ok = isbn10_valid(t);
        if (out->checksum_ok)
            to_isbn13(t, out->isbn13);
    } else if (k == 13 && is_digits(t, 13)) {
        out->checksum_ok = isbn13_valid(t);
        if (out->checksum_ok)
            memcpy(out->isbn13, t, 14);
    } else {
        return false;
    }
    memcpy(out->norm, t, (size_t)k + 1);
    out->len = k;
    return true;
}

uint64_t isbn_code(const isbn_info *i)
{
    uint64_t v = 0;
    if (i->len == 10) {
        for (int k = 0; k < 9; k++)
            v = v * 10 + (uint64_t)(i->norm[k] - '0');
        return v * 11 + (uint64_t)(i->norm[9] == 'X' ? 10 : i->norm[9] - '0');
    }
    for (int k = 0; k < 13; k++)
        v = v * 10 + (uint64_t)(i->norm[k] - '0');
    return (UINT64_C(1) << 34) + v;
}
