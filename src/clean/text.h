/* text.h: cleaning of free text (titles, authors, publishers, locations).
 *
 * In order: bytes that are not valid UTF-8 are read as Windows-1252 /
 * ISO-8859-1 and transcoded (so the original release's latin-1 and stray
 * latin-1 bytes in the Kaggle files both come out right); double-encoded
 * UTF-8 ("Ã©") is repaired where the bytes decode unambiguously; HTML
 * entities (named and numeric) are decoded; optionally the Kaggle `\"`
 * scars are repaired; control characters become spaces, runs of spaces
 * collapse, ends are trimmed. The result is always valid UTF-8. */
#ifndef BP_TEXT_H
#define BP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/buf.h"

enum {
    TEXT_SCARS = 1,       /* repair `\It\"` into `"It"` (titles and names) */
    TEXT_STRIP_QUOTES = 2 /* drop every `"` and `\` (locations) */
};

/* What a call repaired, for the audit. */
enum { TEXT_R_MOJIBAKE = 1, TEXT_R_SCAR = 2 };

typedef struct {
    buf a, b;   /* working buffers, reused between calls */
} text_ctx;

void text_ctx_free(text_ctx *c);

/* Clean s[0..n). Returns the cleaned text (s itself when nothing needed
 * changing, else a pointer into c valid until the next call) and its
 * length in *outn; returns NULL for an empty result or on allocation
 * failure (*oom set). *repairs gets TEXT_R_* bits. */
const char *text_clean(text_ctx *c, const char *s, size_t n, unsigned flags, size_t *outn,
                       unsigned *repairs, bool *oom);

/* Append s[0..n) to out as valid UTF-8, reading invalid bytes as
 * Windows-1252. Used for raw rows in quarantine. */
BP_MUST bp_status text_to_utf8(buf *out, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
size_t text_utf8_seq(const unsigned char *s, size_t n);

/* Decode the HTML entity at s[0..n) (starting with '&'). Returns the
 * bytes consumed and writes the UTF-8 of the character into out (up to 4
 * bytes, *outn set), or returns 0 when it is not a known entity. */
size_t text_entity(const char *s, size_t n, char *out, size_t *outn);

#endif
