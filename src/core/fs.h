/* fs.h: small file-system helpers shared by the lake and the generator. */
#ifndef BP_FS_H
#define BP_FS_H

#include "err.h"

/* mkdir -p: create path and its parents. Fails with st (and a message
 * naming what) when a part cannot be created or is not a folder. */
bp_status fs_mkdir_p(const char *path, bp_status st, const char *what, bp_err *err);

/* The entries of dir but dot files, sorted (so walks are reproducible);
 * none when dir does not exist. Free with fs_free_list. */
bp_status fs_list_dir(const char *dir, char ***names, size_t *n, bp_err *err);
void fs_free_list(char **names, size_t n);

#endif
