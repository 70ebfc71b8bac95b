/* keyset.c: open-addressing set with linear probing. */
#include "keyset.h"

#include <stdlib.h>

#define USED 0x8000u

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static bp_status alloc_slots(keyset *s, size_t cap)
{
    s->lo = calloc(cap, sizeof *s->lo);
    s->hi = calloc(cap, sizeof *s->hi);
    if (!s->lo || !s->hi) {
        free(s->lo);
        free(s->hi);
        s->lo = NULL;
        s->hi = NULL;
        return BP_ENOMEM;
    }
    s->cap = cap;
    s->n = 0;
    return BP_OK;
}

static size_t cap_for(size_t expect)
{
    size_t cap = 1024;
    while (cap < expect + expect / 3)
        cap *= 2;
    return cap;
}

size_t keyset_bytes(size_t expect)
{
    return cap_for(expect) * (sizeof(uint64_t) + sizeof(uint16_t));
}

bp_status keyset_init(keyset *s, size_t expect) { return alloc_slots(s, cap_for(expect)); }

void keyset_free(keyset *s)
{
    if (!s)
        return;
    free(s->lo);
    free(s->hi);
    s->lo = NULL;
    s->hi = NULL;
    s->cap = s->n = 0;
}

static bool insert(keyset *s, uint16_t hi, uint64_t lo)
{
    size_t mask = s->cap - 1;
    size_t i = (size_t)mix(lo ^ ((uint64_t)hi << 48)) & mask;
    hi |= USED;
    while (s->hi[i]) {
        if (s->hi[i] == hi && s->lo[i] == lo)
            return false;
        i = (i + 1) & mask;
    }
    s->hi[i] = hi;
    s->lo[i] = lo;
    s->n++;
    return true;
}

static bp_status grow(keyset *s)
{
    keyset old = *s;
    if (alloc_slots(s, old.cap * 2) != BP_OK) {
        *s = old;
        return BP_ENOMEM;
    }
    for (size_t i = 0; i < old.cap; i++)
        if (old.hi[i])
            insert(s, (uint16_t)(old.hi[i] & ~USED), old.lo[i]);
    keyset_free(&old);
    return BP_OK;
}

bp_status keyset_add(keyset *s, uint16_t hi, uint64_t lo, bool *added)
{
    if ((s->n + 1) * 4 > s->cap * 3 && grow(s) != BP_OK)
        return BP_ENOMEM;
    *added = insert(s, hi, lo);
    return BP_OK;
}
