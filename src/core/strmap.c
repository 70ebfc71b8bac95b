/* strmap.c: see strmap.h. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    /* FNV's low bits, the ones a slot is taken from, mix only the low
     * bits of each byte: keys of digits (ISBNs, ids) pile into a few runs
     * of slots without this finisher (murmur3's) */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* A key's slot: the slot holding it, or the empty one where it would go.
 * Each slot keeps its key's hash, so a probe reads a key only when the
 * hashes agree (with millions of keys, following every key pointer was
 * most of a lookup's time). */
static size_t slot(const strmap *m, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (m->cap - 1);
    while (m->keys[i] && (m->h[i] != h || strcmp(m->keys[i], key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static bool grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    strmap g = {calloc(cap, sizeof *g.keys), calloc(cap, sizeof *g.vals),
                malloc(cap * sizeof *g.h), cap, m->n};
    if (!g.keys || !g.vals || !g.h) {
        free(g.keys), free(g.vals), free(g.h);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            size_t k = (size_t)m->h[i] & (cap - 1);
            while (g.keys[k])
                k = (k + 1) & (cap - 1);
            g.keys[k] = m->keys[i], g.vals[k] = m->vals[i], g.h[k] = m->h[i];
        }
    free(m->keys), free(m->vals), free(m->h);
    *m = g;
    return true;
}

bool strmap_put(strmap *m, const char *key, void *v)
{
    /* at most half full, so probes stay short */
    if ((m->n + 1) * 2 > m->cap && !grow(m))
        return false;
    uint64_t h = hash(key);
    size_t i = slot(m, key, h);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->h[i] = h;
        m->n++;
    }
    m->vals[i] = v;
    return true;
}

bool strmap_add(strmap *m, const char *key, void *v, void **had)
{
    if ((m->n + 1) * 2 > m->cap && !grow(m))
        return false;
    uint64_t h = hash(key);
    size_t i = slot(m, key, h);
    *had = m->keys[i] ? m->vals[i] : NULL;
    if (!m->keys[i]) {
        m->keys[i] = key, m->h[i] = h, m->vals[i] = v;
        m->n++;
    }
    return true;
}

void *strmap_get(const strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = slot(m, key, hash(key));
    return m->keys[i] ? m->vals[i] : NULL;
}

void strmap_free(strmap *m)
{
    free(m->keys);
    free(m->vals);
    free(m->h);
    memset(m, 0, sizeof *m);
}
