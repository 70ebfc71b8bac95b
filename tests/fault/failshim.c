/* failshim.c: fault injection for the tests, as SQLite's tests do it: an
 * LD_PRELOAD library that makes the Nth call of one libc function fail,
 * where a kill cannot reach (a write half done, a rename that does not
 * happen, a sync that reports an error).
 *
 *   BOOKPIPE_FAIL=FUNC:N[:ERRNO]   FUNC one of write, pwrite, fsync, rename,
 *                                  symlink; ERRNO EIO (default) or ENOSPC
 *
 * Every call from the Nth on fails (a full disk stays full), until the
 * process ends. Calls are counted across threads. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char g_func[32];
static long g_at;
static int g_errno = EIO;
static atomic_long g_calls;
static atomic_int g_ready;

static void setup(void)
{
    if (atomic_load(&g_ready))
        return;
    const char *v = getenv("BOOKPIPE_FAIL");
    if (v) {
        const char *c = strchr(v, ':');
        size_t n = c ? (size_t)(c - v) : 0;
        if (c && n < sizeof g_func) {
            memcpy(g_func, v, n);
            g_func[n] = 0;
            g_at = strtol(c + 1, NULL, 10);
            const char *e = strchr(c + 1, ':');
            if (e && !strcmp(e + 1, "ENOSPC"))
                g_errno = ENOSPC;
        }
    }
    atomic_store(&g_ready, 1);
}

/* Should this call of func fail? */
static int hit(const char *func)
{
    setup();
    if (!g_at || strcmp(func, g_func) != 0)
        return 0;
    return atomic_fetch_add(&g_calls, 1) + 1 >= g_at;
}

#define NEXT(type, name, args) type(*real)args = (type(*)args)dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *b, size_t n)
{
    NEXT(ssize_t, "write", (int, const void *, size_t));
    /* stderr stays: the message about the failure has to get out */
    if (fd > 2 && hit("write")) {
        errno = g_errno;
        return -1;
    }
    return real(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
    NEXT(ssize_t, "pwrite", (int, const void *, size_t, off_t));
    if (hit("pwrite")) {
        errno = g_errno;
        return -1;
    }
    return real(fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
    NEXT(ssize_t, "pwrite64", (int, const void *, size_t, off_t));
    if (hit("pwrite")) {
        errno = g_errno;
        return -1;
    }
    return real(fd, b, n, off);
}

int fsync(int fd)
{
    NEXT(int, "fsync", (int));
    if (hit("fsync")) {
        errno = g_errno;
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    NEXT(int, "fdatasync", (int));
    if (hit("fsync")) {
        errno = g_errno;
        return -1;
    }
    return real(fd);
}

int rename(const char *a, const char *b)
{
    NEXT(int, "rename", (const char *, const char *));
    if (hit("rename")) {
        errno = g_errno;
        return -1;
    }
    return real(a, b);
}

int symlink(const char *a, const char *b)
{
    NEXT(int, "symlink", (const char *, const char *));
    if (hit("symlink")) {
        errno = g_errno;
        return -1;
    }
    return real(a, b);
}
