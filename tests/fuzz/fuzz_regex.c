/* fuzz_regex.c: libFuzzer target: the regular expression engine (dbt's
 * modules.re). The input's first line is the pattern (its first byte picks
 * the flags), the rest the subject; every match of a finditer-style walk is
 * taken. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 2)
        return 0;
    int flags = data[0] & (RX_I | RX_M | RX_S | RX_X);
    const char *p = (const char *)data + 1;
    const char *nl = memchr(p, '\n', n - 1);
    size_t plen = nl ? (size_t)(nl - p) : n - 1;
    char *pat = malloc(plen + 1);
    if (!pat)
        return 0;
    memcpy(pat, p, plen);
    pat[plen] = 0;
    const char *s = nl ? nl + 1 : "";
    size_t slen = nl ? n - 1 - plen - 1 : 0;
    char err[128];
    rx *r = rx_compile(pat, flags, err, sizeof err);
    if (r) {
        size_t so[100], eo[100], pos = 0;
        bool advance = false;
        int k = 0;
        while (pos <= slen && k++ < 100 &&
               rx_exec(r, s, slen, pos, RX_SEARCH, advance, so, eo) == 1) {
            advance = eo[0] == so[0];
            pos = eo[0];
        }
        rx_free(r);
    }
    free(pat);
    return 0;
}
