/* strmap.h: a map from strings to pointers (open addressing, FNV-1a).
 *
 * Keys are not copied: they must live as long as the map (they come from
 * an arena or a parsed document). Lookups are O(1) on average, so a
 * project of thousands of models finds a name without a scan. */
#ifndef BP_STRMAP_H
#define BP_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char **keys;
    void **vals;
    uint64_t *h;        /* each slot's key's hash */
    size_t cap, n;
} strmap;

/* Set key to v (replacing); false when memory runs out. */
bool strmap_put(strmap *m, const char *key, void *v);
/* Set key to v unless it is there: *had gets the value there (nothing
 * changes), or NULL when key was added; one lookup for both. false when
 * memory runs out. */
bool strmap_add(strmap *m, const char *key, void *v, void **had);
/* The value, or NULL. */
void *strmap_get(const strmap *m, const char *key);
/* The i-th slot (0 <= i < m->cap): its key, NULL for an empty slot. */
static inline const char *strmap_key_at(const strmap *m, size_t i) { return m->keys[i]; }
void strmap_free(strmap *m);

#endif
