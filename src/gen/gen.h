/* gen.h: a generator of Book-Crossing-shaped datasets.
 *
 * At scale 1 it writes the real row counts with the shape measured in
 * shared/data/PROFILE.md: heavy-tailed book popularity and user activity,
 * 61.5% implicit ratings, the raw ISBN forms, year and age anomalies, HTML
 * entities, mojibake, the Kaggle `\"` scars, shifted Books rows and the
 * location variants. Same seed, same bytes. With tastes (gen_opts.tastes)
 * users also prefer genres, so that recommenders have something to find. */
#ifndef BP_GEN_H
#define BP_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct {
    const char *out;   /* folder, created if missing */
    double scale;      /* 1 = the real row counts */
    uint64_t seed;
    bool bx;           /* original release format instead of Kaggle */
    /* 0..1: the share of ratings a user gives to books of their two
     * favourite genres (of 16; a book's genre is its index mod 16) rather
     * than by popularity alone. 0 (the default) keeps the files exactly as
     * before tastes existed: no method can beat popularity on them; above
     * about 0.3 item-to-item methods can, as on the real data. */
    double tastes;
} gen_opts;

typedef struct {
    uint64_t books, users, ratings;
    char files[3][4096];
} gen_report;

BP_MUST bp_status gen_run(const gen_opts *o, gen_report *rep, bp_err *err);

#endif
