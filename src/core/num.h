/* num.h: number parsing that reports errors (no atoi in bookpipe). */
#ifndef BP_NUM_H
#define BP_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse an optionally signed decimal integer from s[0..n) with optional
 * surrounding spaces. Returns false on empty input, junk or overflow. */
bool num_parse_i64(const char *s, size_t n, int64_t *out);

/* Like num_parse_i64 but also accepts a fractional part of zeros
 * ("18.0", "18.00"), the way pandas writes integer columns with NULLs. */
bool num_parse_intlike(const char *s, size_t n, int64_t *out);

/* Parse a whole NUL-terminated string as an integer in [lo, hi]. */
bool num_parse_range(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* Parse a size: a positive integer with an optional unit, K/KB/KiB, M/MB/MiB,
 * G/GB/GiB or T/TB/TiB (powers of 1024 all), case-insensitive. False on
 * zero, junk or a size that does not fit. */
bool num_parse_size(const char *s, uint64_t *out);

#endif
