/* keyset.h: an exact set of keys up to 79 bits (user id + ISBN code),
 * for duplicate detection while streaming.
 *
 * Open addressing in two parallel arrays (8 + 2 bytes a slot), so one
 * million rating keys cost about 20 MB. keyset_add reports whether the key
 * was new. */
#ifndef BP_KEYSET_H
#define BP_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    uint64_t *lo;
    uint16_t *hi;   /* bit 15 marks a used slot; bits 0..14 hold key bits 64..78 */
    size_t cap, n;
} keyset;

/* The bytes a set presized for expect keys takes (keyset_init's sizing). */
size_t keyset_bytes(size_t expect);
/* expect: a size hint (0 for none). */
BP_MUST bp_status keyset_init(keyset *s, size_t expect);
void keyset_free(keyset *s);
/* Add (hi:lo); hi must be below 2^15. Sets *added to false when present. */
BP_MUST bp_status keyset_add(keyset *s, uint16_t hi, uint64_t lo, bool *added);

#endif
