/* fuzz_util.h: what the libFuzzer targets share: the input as a file (the
 * readers take paths), through a memfd so that nothing touches the disk. */
#ifndef BP_FUZZ_UTIL_H
#define BP_FUZZ_UTIL_H

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Put data in a fresh in-memory file; its path into path. -1 on failure. */
static int fuzz_file(const uint8_t *data, size_t n, char *path, size_t pn)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, data + off, n - off);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    snprintf(path, pn, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
