/* isbn.h: ISBN normalisation and validation (books and ratings alike).
 *
 * isbn_clean strips spaces, quotes, backslashes, hyphens and dots and
 * upper-cases x. Well-formed means 10 characters [0-9]{9}[0-9X] or 13
 * digits; a well-formed ISBN is kept even when its check digit is wrong
 * (checksum_ok says so). A 9-character ISBN that validates once its lost
 * leading zero is put back is repaired. Anything else is malformed. */
#ifndef BP_ISBN_H
#define BP_ISBN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char norm[14];    /* the normalised ISBN, NUL-terminated */
    char isbn13[14];  /* ISBN-13 when derivable (valid check digit), else "" */
    int len;          /* 10 or 13 */
    bool checksum_ok;
    bool repaired;    /* leading zero restored */
} isbn_info;

/* Returns false when s[0..n) is not a well-formed ISBN. */
bool isbn_clean(const char *s, size_t n, isbn_info *out);

bool isbn10_valid(const char *d);  /* 10 chars, mod-11 check */
bool isbn13_valid(const char *d);  /* 13 digits, mod-10 check */

/* A number unique to each normalised ISBN, below 2^44 (for key sets). */
uint64_t isbn_code(const isbn_info *i);

#endif
