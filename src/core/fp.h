/* fp.h: fingerprints of a block's inputs, to skip work that would repeat.
 *
 * A 64-bit non-cryptographic hash (collisions only cost a skipped run
 * that should have happened; nothing here is a security boundary),
 * streaming, fast enough to checksum input files at memory speed. */
#ifndef BP_FP_H
#define BP_FP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct {
    uint64_t h;
    uint64_t tail;   /* bytes not yet folded (little-endian) */
    int ntail;
    uint64_t len;
} fp_state;

void fp_init(fp_state *s);
void fp_add(fp_state *s, const void *p, size_t n);
/* A string and its terminating NUL (so "ab"+"c" differs from "a"+"bc"). */
void fp_adds(fp_state *s, const char *str);
uint64_t fp_final(const fp_state *s);

/* The hash of a whole file's bytes; *bytes gets its size. */
BP_MUST bp_status fp_file(const char *path, uint64_t *out, uint64_t *bytes, bp_err *err);

/* 16 lowercase hex digits. */
void fp_hex(uint64_t v, char out[17]);

#endif
