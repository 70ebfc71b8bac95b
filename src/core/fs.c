/* fs.c: file-system helpers. */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bp_status fs_mkdir_p(const char *path, bp_status st, const char *what, bp_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return bp_fail(err, st, "%s %s: cannot create: %s", what, tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return bp_fail(err, st, "%s %s: cannot create: %s", what, tmp, strerror(errno));
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return bp_fail(err, st, "%s %s: exists but is not a folder", what, tmp);
    return BP_OK;
}
