/* fp.c: a word-at-a-time multiply-xorshift hash. */
#include "fp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL

static inline uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w * K2;
    h = (h << 31 | h >> 33) * K1;
    return h;
}

void fp_init(fp_state *s)
{
    memset(s, 0, sizeof *s);
    s->h = 0x243F6A8885A308D3ULL;
}

void fp_add(fp_state *s, const void *p, size_t n)
{
    const unsigned char *b = p;
    s->len += n;
    while (n && s->ntail) { /* finish a partial word */
        s->tail |= (uint64_t)*b++ << (8 * s->ntail);
        n--;
        if (++s->ntail == 8) {
            s->h = mix(s->h, s->tail);
            s->tail = 0;
            s->ntail = 0;
        }
    }
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        s->h = mix(s->h, w);
    }
    for (; n; n--)
        s->tail |= (uint64_t)*b++ << (8 * s->ntail++);
}

void fp_adds(fp_state *s, const char *str)
{
    fp_add(s, str ? str : "", str ? strlen(str) + 1 : 1);
}

uint64_t fp_final(const fp_state *s)
{
    uint64_t h = mix(s->h, s->tail ^ s->len);
    h ^= h >> 33;
    h *= K2;
    h ^= h >> 29;
    return h;
}

bp_status fp_file(const char *path, uint64_t *out, uint64_t *bytes, bp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bp_fail(err, BP_EINPUT, "cannot read %s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *b = malloc(CHUNK);
    if (!b) {
        close(fd);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    fp_state s;
    fp_init(&s);
    bp_status st = BP_OK;
    for (;;) {
        ssize_t k = read(fd, b, CHUNK);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            st = bp_fail(err, BP_EINPUT, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        fp_add(&s, b, (size_t)k);
    }
    free(b);
    close(fd);
    *out = fp_final(&s);
    *bytes = s.len;
    return st;
}

void fp_hex(uint64_t v, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)v);
}
