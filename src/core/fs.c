/* fs.c: file-system helpers. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdarg.h>

void fs_dirname(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, n, ".");
    else
        snprintf(out, n, "%.*s", (int)(slash - path) + (slash == path), path);
}

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

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bp_status fs_list_dir(const char *dir, char ***out, size_t *n, bp_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? BP_OK : bp_fail(err, BP_EINPUT, "%s: cannot read: %s", dir, strerror(errno));
    char **names = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    bp_status st = BP_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = bp_fail(err, BP_ENOMEM, "out of memory reading %s", dir);
                break;
            }
            names = nn;
        }
        if (!(names[cnt] = strdup(e->d_name))) {
            st = bp_fail(err, BP_ENOMEM, "out of memory reading %s", dir);
            break;
        }
        cnt++;
    }
    closedir(d);
    if (st != BP_OK) {
        fs_free_list(names, cnt);
        return st;
    }
    if (cnt)
        qsort(names, cnt, sizeof *names, cmp_name);
    *out = names;
    *n = cnt;
    return BP_OK;
}

void fs_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

bool fs_pathf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < n)
        return true;
    if (n)
        out[0] = 0;
    errno = ENAMETOOLONG;
    return false;
}
