/* keyspill.c: duplicate keys found in hash-partitioned spill files. */
#include "keyspill.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyset.h"

#define REC 18 /* hi (2 bytes), lo (8), line (8), little-endian as stored */

struct keyset_spill {
    FILE *part[KEYSPILL_PARTS];
    uint64_t n[KEYSPILL_PARTS];
    uint64_t max_line;
};

static bp_status io_fail(bp_err *err, const char *what)
{
    return bp_fail(err, BP_EIO, "duplicate-key spill file: %s: %s (the disk of the state "
                   "folder full?)", what, strerror(errno));
}

bp_status keyset_spill_new(const char *dir, keyset_spill **out, bp_err *err)
{
    keyset_spill *s = calloc(1, sizeof *s);
    if (!s)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    char path[4200];
    for (int i = 0; i < KEYSPILL_PARTS; i++) {
        snprintf(path, sizeof path, "%s/.bookpipe-keys-XXXXXX", dir && *dir ? dir : ".");
        int fd = mkstemp(path);
        if (fd < 0 || !(s->part[i] = fdopen(fd, "w+b"))) {
            if (fd >= 0) {
                close(fd);
                unlink(path);
            }
            bp_status st = io_fail(err, path);
            keyset_spill_free(s);
            return st;
        }
        unlink(path); /* gone with the process, whatever happens */
        setvbuf(s->part[i], NULL, _IOFBF, 1 << 16);
    }
    *out = s;
    return BP_OK;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= UINT64_C(0x7fb5d329728ea185);
    x ^= x >> 27;
    x *= UINT64_C(0x81dadef4bc2dd44d);
    return x ^ (x >> 33);
}

bp_status keyset_spill_add(keyset_spill *s, uint16_t hi, uint64_t lo, uint64_t line, bp_err *err)
{
    unsigned char rec[REC];
    memcpy(rec, &hi, 2);
    memcpy(rec + 2, &lo, 8);
    memcpy(rec + 10, &line, 8);
    int p = (int)(mix(lo ^ ((uint64_t)hi << 48)) % KEYSPILL_PARTS);
    if (fwrite(rec, REC, 1, s->part[p]) != 1)
        return io_fail(err, "write");
    s->n[p]++;
    if (line > s->max_line)
        s->max_line = line;
    return BP_OK;
}

/* One part: its keys in the order they came, so a key's first line is the
 * first one read back. */
static bp_status resolve_part(keyset_spill *s, int p, keyset_lines *l, bp_err *err)
{
    FILE *f = s->part[p];
    if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
        return io_fail(err, "rewind");
    keyset ks;
    if (keyset_init(&ks, (size_t)s->n[p]) != BP_OK)
        return bp_fail(err, BP_ENOMEM, "out of memory for %llu keys",
                       (unsigned long long)s->n[p]);
    unsigned char rec[REC];
    bp_status st = BP_OK;
    for (uint64_t i = 0; i < s->n[p] && st == BP_OK; i++) {
        uint16_t hi;
        uint64_t lo, line;
        bool added;
        if (fread(rec, REC, 1, f) != 1) {
            st = io_fail(err, "read");
            break;
        }
        memcpy(&hi, rec, 2);
        memcpy(&lo, rec + 2, 8);
        memcpy(&line, rec + 10, 8);
        if (keyset_add(&ks, hi, lo, &added) != BP_OK)
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        else if (!added) {
            l->bits[line >> 6] |= UINT64_C(1) << (line & 63);
            l->ndup++;
        }
    }
    keyset_free(&ks);
    fclose(f); /* its disk space goes now, not at the end */
    s->part[p] = NULL;
    return st;
}

bp_status keyset_spill_resolve(keyset_spill *s, keyset_lines *out, bp_err *err)
{
    memset(out, 0, sizeof *out);
    out->nlines = s->max_line + 1;
    out->bits = calloc((size_t)(out->nlines + 63) / 64, sizeof *out->bits);
    if (!out->bits)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    bp_status st = BP_OK;
    for (int p = 0; p < KEYSPILL_PARTS && st == BP_OK; p++)
        st = resolve_part(s, p, out, err);
    if (st != BP_OK)
        keyset_lines_free(out);
    return st;
}

void keyset_spill_free(keyset_spill *s)
{
    if (!s)
        return;
    for (int i = 0; i < KEYSPILL_PARTS; i++)
        if (s->part[i])
            fclose(s->part[i]);
    free(s);
}

void keyset_lines_free(keyset_lines *l)
{
    free(l->bits);
    memset(l, 0, sizeof *l);
}
