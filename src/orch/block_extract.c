/* block_extract.c: the extract block: the input files, checksummed (cached by size and mtime). */
#include "block_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/buf.h"
#include "../extract/src.h"
#include "meta.h"

static bp_status file_sum(blk_ctx *c, const char *path, fp_state *s, bp_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return bp_fail(err, BP_EINPUT, "cannot read %s: %s", path, strerror(errno));
    int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    char sum[17];
    bp_status st = meta_cached_sum(c->conn, path, (int64_t)sb.st_size, mt, sum, err);
    if (st != BP_OK)
        return st;
    const char *how = "unchanged since last checked";
    if (!S_ISREG(sb.st_mode)) {
        /* a pipe or device: reading it here would consume it; it counts as
         * changed on every run */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(sum, sizeof sum, "%08llx%08llx", (unsigned long long)now.tv_sec & 0xFFFFFFFF,
                 (unsigned long long)now.tv_nsec);
        how = "not a regular file: always read";
    } else if (!sum[0]) {
        uint64_t h, n;
        if ((st = fp_file(path, &h, &n, err)) != BP_OK)
            return st;
        fp_hex(h, sum);
        how = "checksummed";
        if ((st = meta_cache_sum(c->conn, path, (int64_t)sb.st_size, mt, sum, err)) != BP_OK)
            return st;
    }
    c->k->prog_done += (unsigned long long)sb.st_size;
    orun *r = c->run;
    if (S_ISREG(sb.st_mode) && r->ninputs < SRC_NTABLES) {
        src_seen *in = &r->inputs[r->ninputs++];
        snprintf(in->path, sizeof in->path, "%s", path);
        in->size = (int64_t)sb.st_size;
        in->mtime_ns = mt;
        snprintf(in->sum, sizeof in->sum, "%s", sum);
    }
    fprintf(c->log, "  %s: %lld bytes, checksum %s (%s)\n", path, (long long)sb.st_size, sum,
            how);
    fp_adds(s, path);
    fp_add(s, &sb.st_size, sizeof sb.st_size);
    fp_adds(s, sum);
    return BP_OK;
}

bp_status blk_extract_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    const char *data = c->run->o->data;
    if (!data || !*data)
        return bp_fail(err, BP_EINPUT, "no input: give --data with a folder or the Kaggle zip "
                       "(`bookpipe gen --out DIR` makes a dataset)");
    src_set set;
    bp_status st = src_discover(data, &set, err);
    if (st != BP_OK)
        return st;
    fp_adds(s, data);
    c->run->ninputs = 0;
    struct stat sb;
    c->k->prog_unit = "bytes";
    if (set.is_zip) {
        c->k->prog_total = stat(set.root, &sb) == 0 ? (unsigned long long)sb.st_size : 0;
        return file_sum(c, set.root, s, err);
    }
    for (int t = 0; t < SRC_NTABLES; t++)
        if (stat(set.file[t].name, &sb) == 0)
            c->k->prog_total += (unsigned long long)sb.st_size;
    for (int t = 0; t < SRC_NTABLES && st == BP_OK; t++)
        st = file_sum(c, set.file[t].name, s, err);
    return st;
}
