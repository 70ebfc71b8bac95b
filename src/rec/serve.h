/* serve.h: recommendations as the API and the command line ask for them,
 * read from the published tables (rec_publish): one user's list, a book's
 * neighbours, and a list for someone not in the data, scored on the fly
 * from the neighbour table (no retraining). Every value the caller gives
 * is a bound parameter. */
#ifndef BP_REC_SERVE_H
#define BP_REC_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/arena.h"
#include "../core/err.h"
#include "../wh/wh.h"

typedef struct {
    const char *isbn, *title, *author, *image, *because_isbn, *because_title;
    long long year;       /* 0: unknown */
    double score;
    bool has_score;       /* false: from the popularity fallback */
} rec_book;

typedef struct {
    rec_book *v;
    size_t n, cap;
    bool known;           /* the user or ISBN is in the data */
    arena a;
} rec_list;

void rec_list_free(rec_list *l);

/* user_id's top list (at most n); a user without ratings gets the
 * most-read books (known false); one who has read every book there is to
 * recommend, an empty list (known true). */
BP_MUST bp_status rec_serve_user(wh *w, const char *schema, const char *user_id, int n,
                                 rec_list *out, bp_err *err);
/* The books most like isbn (any edition of its work); known false when no
 * one read it. */
BP_MUST bp_status rec_serve_similar(wh *w, const char *schema, const char *isbn, int n,
                                    rec_list *out, bp_err *err);
/* A list for someone who has read isbns[0..nisbns) (at most 100): each
 * candidate scores the sum of its similarities to those books, and names
 * the one it is most like; the most-read books fill the rest. */
BP_MUST bp_status rec_serve_isbns(wh *w, const char *schema, const char *const *isbns,
                                  int nisbns, int n, rec_list *out, bp_err *err);

#endif
