/* fs.h: small file-system helpers shared by the lake and the generator. */
#ifndef BP_FS_H
#define BP_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Format a path into out[n]: false (errno ENAMETOOLONG) when it does not
 * fit, so a long path is an error and never a shorter, other path. */
__attribute__((warn_unused_result, format(printf, 3, 4)))
bool fs_pathf(char *out, size_t n, const char *fmt, ...);

/* The folder of path into out[n]: "." when path names none, "/" for a
 * file at the root. */
void fs_dirname(const char *path, char *out, size_t n);

/* mkdir -p: create path and its parents. Fails with st (and a message
 * naming what) when a part cannot be created or is not a folder. */
BP_MUST bp_status fs_mkdir_p(const char *path, bp_status st, const char *what, bp_err *err);

/* The entries of dir but dot files, sorted (so walks are reproducible);
 * none when dir does not exist. Free with fs_free_list. */
BP_MUST bp_status fs_list_dir(const char *dir, char ***names, size_t *n, bp_err *err);
void fs_free_list(char **names, size_t n);

#endif
