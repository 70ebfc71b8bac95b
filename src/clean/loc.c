/* loc.c: location parsing from the right. */
#include "loc.h"

#include <string.h>
#include <strings.h>
#include <sys/types.h>

static const char *const placeholders[] = {
    "n/a", "na", "n.a.", "n.a", "n/a.", "none", "unknown", "null", "nil", "-", "--", "?", ".",
    "x", "xxx", "no", "not applicable", "_", "*", "0",
};

bool loc_is_placeholder(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (strlen(placeholders[i]) == n && strncasecmp(placeholders[i], s, n) == 0)
            return true;
    return false;
}

/* Trim spaces around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
    while (*n && s[0] == ' ') {
        s++;
        (*n)--;
    }
    while (*n && s[*n - 1] == ' ')
        (*n)--;
    return s;
}

/* Lower-case ASCII and the Latin-1 capitals (U+00C0..U+00DE) in place. */
static void lower_utf8(char *s, size_t n)
{
    unsigned char *u = (unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if (u[i] >= 'A' && u[i] <= 'Z')
            u[i] = (unsigned char)(u[i] + 32);
        else if (u[i] == 0xC3 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9E &&
                 u[i + 1] != 0x97)
            u[++i] += 0x20;
    }
}

bp_status loc_parse(const char *s, size_t n, buf *out, loc_parts *p)
{
    memset(p, 0, sizeof *p);
    buf_reset(out);
    /* Copy first, so that the pointers stay valid for the caller; reserve
     * once so that they do not move. */
    if (buf_reserve(out, n + 1) != BP_OK)
        return BP_ENOMEM;
    memcpy(out->p, s, n);
    out->len = n;
    out->p[n] = 0;
    char *t = out->p;
    /* Find the last two commas. */
    ssize_t c2 = -1, c1 = -1;
    for (ssize_t i = (ssize_t)n - 1; i >= 0; i--) {
        if (t[i] != ',')
            continue;
        if (c2 < 0) {
            c2 = i;
        } else {
            c1 = i;
            break;
        }
    }
    const char *part[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    if (c2 < 0) {
        part[2] = t;
        len[2] = n;
    } else if (c1 < 0) {
        part[1] = t;
        len[1] = (size_t)c2;
        part[2] = t + c2 + 1;
        len[2] = n - (size_t)c2 - 1;
    } else {
        part[0] = t;
        len[0] = (size_t)c1;
        part[1] = t + c1 + 1;
        len[1] = (size_t)(c2 - c1 - 1);
        part[2] = t + c2 + 1;
        len[2] = n - (size_t)c2 - 1;
    }
    bool ph[3] = {false, false, false};
    for (int k = 0; k < 3; k++) {
        if (!part[k])
            continue;
        part[k] = trim(part[k], &len[k]);
        if (loc_is_placeholder(part[k], len[k])) {
            ph[k] = len[k] > 0;
            part[k] = NULL;
            len[k] = 0;
        }
    }
    if (part[2])
        lower_utf8((char *)part[2], len[2]);
    p->city = part[0];
    p->city_n = len[0];
    p->state = part[1];
    p->state_n = len[1];
    p->country = part[2];
    p->country_n = len[2];
    p->city_placeholder = ph[0];
    p->state_placeholder = ph[1];
    p->country_placeholder = ph[2];
    return BP_OK;
}
