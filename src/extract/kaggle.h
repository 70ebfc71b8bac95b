/* kaggle.h: the dataset's zip from Kaggle's public API, into a cache.
 *
 * GET {BOOKPIPE_KAGGLE_URL or https://www.kaggle.com/api/v1}/datasets/
 * download/OWNER/DATASET with HTTP basic auth (the user's API token), which
 * Kaggle answers with a redirect to the file. Credentials: KAGGLE_USERNAME
 * and KAGGLE_KEY, else kaggle.json in $KAGGLE_CONFIG_DIR, ~/.kaggle or
 * ~/.config/kaggle (a file others can read gets Kaggle's own warning).
 * The zip lands in ${XDG_CACHE_HOME:-~/.cache}/bookpipe/kaggle/OWNER/DATASET/;
 * a repeated fetch asks with the ETag / Last-Modified it has, and an
 * unchanged file is not downloaded again. A download goes to a .part file
 * that is renamed only when complete (size checked, zip signature
 * checked); an interrupted one resumes with a Range request when the server
 * still has the same file (If-Range), else starts over. */
#ifndef BP_KAGGLE_H
#define BP_KAGGLE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/err.h"

#define KAGGLE_DEFAULT_DATASET "arashnic/book-recommendation-dataset"

typedef struct {
    const char *dataset;   /* OWNER/DATASET */
    const char *cache_dir; /* NULL: the XDG cache */
    bool progress;         /* a progress line on stderr */
} kaggle_opts;

typedef struct {
    bool downloaded;       /* false: the cached zip was still current */
    bool resumed;          /* a partial download was continued */
    long long bytes;       /* size of the zip */
} kaggle_result;

/* Where the credentials would come from (for `bookpipe doctor`). */
BP_MUST bp_status kaggle_credentials_from(char *from, size_t n, bp_err *err);

/* Fetch (or confirm) the zip; its path into zip (n bytes). */
BP_MUST bp_status kaggle_fetch(const kaggle_opts *o, char *zip, size_t n, kaggle_result *res,
                       bp_err *err);

#endif
