/* loc.h: parsing a Book-Crossing location ("city, state, country").
 *
 * Parsed from the right: the last comma-separated part is the country,
 * the one before it the state, everything before that the city. Parts
 * that are empty or placeholders (n/a, na, none, unknown, ...) are NULL.
 * The input must already be cleaned text (valid UTF-8, quotes and
 * backslashes removed). The country is lower-cased. */
#ifndef BP_LOC_H
#define BP_LOC_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/buf.h"

typedef struct {
    const char *city, *state, *country;  /* NULL when missing */
    size_t city_n, state_n, country_n;
    bool city_placeholder, state_placeholder, country_placeholder;
} loc_parts;

/* Split s[0..n) into parts. Text is written into out (reset first); the
 * pointers in *p point into it and live until out changes. */
BP_MUST bp_status loc_parse(const char *s, size_t n, buf *out, loc_parts *p);

/* True for the placeholders that mean "no value". */
bool loc_is_placeholder(const char *s, size_t n);

#endif
