/* lake_dir.c: the lake in a local folder: writing, publishing, discarding
 * and collecting runs (lake_dir_ops; an S3 bucket is lake_s3.c's).
 *
 * A run's files are written under hidden temporary names in its own folder
 * run=<id>, renamed when complete (no reader looks in that folder yet), and
 * published by one atomic step: the symlink `latest` at the root is
 * replaced by rename(2). A reader of latest/ sees one whole run, never a
 * mix of two, whatever fails or is killed when. */
#include "lake_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/fs.h"

/* Every path below is the lake root plus a run folder ("run=N", at most
 * 24 bytes) and a table file (our table names, under 64 bytes): a root of
 * at most LAKE_ROOT_MAX bytes makes each fit its 4096-byte array, so the
 * public functions refuse (or find nothing under) a longer root and the
 * helpers cannot truncate. */
#define LAKE_ROOT_MAX 3900

static bool root_fits(const char *root) { return strlen(root) <= LAKE_ROOT_MAX; }

static bp_status root_too_long(const char *root, bp_err *err)
{
    return bp_fail(err, BP_ELAKE, "lake folder %.60s...: a path of %zu bytes is too long (at "
                   "most %d)", root, strlen(root), LAKE_ROOT_MAX);
}

static void run_dir(char *out, size_t n, const char *root, int64_t run)
{
    snprintf(out, n, "%s/run=%lld", root, (long long)run);
}

static void tmp_path(char *out, size_t n, const char *root, const char *table, int64_t run)
{
    snprintf(out, n, "%s/run=%lld/.%s.parquet.tmp", root, (long long)run, table);
}

static void dir_file_path(char *out, size_t n, const char *root, const char *table, int64_t run)
{
    snprintf(out, n, "%s/run=%lld/%s.parquet", root, (long long)run, table);
}

/* Parse "run=<n>" into n. */
static int64_t run_of(const char *name)
{
    if (strncmp(name, "run=", 4) != 0)
        return -1;
    char *end;
    long long v = strtoll(name + 4, &end, 10);
    return *end == 0 && v > 0 ? v : -1;
}

static int64_t dir_latest_run(const char *root)
{
    if (!root_fits(root))
        return 0;
    char link[4200], target[64];
    snprintf(link, sizeof link, "%s/latest", root);
    ssize_t k = readlink(link, target, sizeof target - 1);
    if (k <= 0)
        return 0;
    target[k] = 0;
    int64_t v = run_of(target);
    return v > 0 ? v : 0;
}

/* Each run folder of the root, and of the earlier layout (one folder per
 * table: <table>/run=<n>), so that run ids keep rising across it. */
typedef void (*run_fn)(void *ctx, const char *dir, int64_t run);

/* 0, or the errno of a root that exists and cannot be read */
static int each_run(const char *root, run_fn fn, void *ctx, bool legacy)
{
    DIR *d = opendir(root);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : errno; /* later steps say why */
    struct dirent *e;
    char dir[4200];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "latest"))
            continue;
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        int64_t v = run_of(e->d_name);
        if (v > 0) {
            fn(ctx, dir, v);
            continue;
        }
        DIR *t = legacy ? opendir(dir) : NULL;
        struct dirent *r;
        char sub[4400];
        while (t && (r = readdir(t))) {
            if ((v = run_of(r->d_name)) > 0 && fs_pathf(sub, sizeof sub, "%s/%s", dir, r->d_name))
                fn(ctx, sub, v);
        }
        if (t)
            closedir(t);
    }
    closedir(d);
    return 0;
}

static void take_max(void *ctx, const char *dir, int64_t run)
{
    (void)dir;
    int64_t *max = ctx;
    if (run > *max)
        *max = run;
}

static bp_status dir_max_run(const char *root, int64_t *out, bp_err *err)
{
    *out = 0;
    if (!root_fits(root))
        return root_too_long(root, err);
    int e = each_run(root, take_max, out, true);
    return e ? bp_fail(err, BP_ELAKE, "lake folder %s: cannot list its runs: %s", root, strerror(e))
             : BP_OK;
}

/* Remove hidden temporary files left by interrupted runs, and their
 * folders when nothing else is in them. */
static void sweep_one(void *ctx, const char *dir, int64_t run)
{
    (void)ctx, (void)run;
    DIR *r = opendir(dir);
    if (!r)
        return;
    struct dirent *x;
    char f[4500];
    while ((x = readdir(r))) {
        size_t l = strlen(x->d_name);
        if (x->d_name[0] == '.' && l > 4 && strcmp(x->d_name + l - 4, ".tmp") == 0) {
            snprintf(f, sizeof f, "%s/%s", dir, x->d_name);
            unlink(f);
        }
    }
    closedir(r);
    rmdir(dir); /* fails, harmlessly, unless empty */
}

static bp_status dir_prepare(const char *root, const char *const *tables, int ntables,
                             int64_t run_id, bp_err *err)
{
    (void)tables, (void)ntables; /* a folder per run; files come with the export */
    if (!root_fits(root))
        return root_too_long(root, err);
    char dir[4096];
    struct stat sb;
    if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return bp_fail(err, BP_ELAKE, "lake folder %s: exists but is not a folder; give "
                       "--lake a folder", root);
    (void)each_run(root, sweep_one, NULL, false); /* best effort: mkdir below says why */
    run_dir(dir, sizeof dir, root, run_id);
    if (fs_mkdir_p(dir, BP_ELAKE, "lake folder", err) != BP_OK)
        return BP_ELAKE;
    if (access(dir, W_OK) != 0)
        return bp_fail(err, BP_ELAKE, "lake folder %s: not writable: %s", dir, strerror(errno));
    return BP_OK;
}

static bp_status dir_export(wh *engine, const char *root, const char *schema, const char *source,
                      const char *table, int64_t run_id, bp_err *err)
{
    if (!root_fits(root))
        return root_too_long(root, err);
    char path[4096];
    tmp_path(path, sizeof path, root, table, run_id);
    char what[4200];
    snprintf(what, sizeof what, "writing lake file %.4000s", path);
    return lake_copy_out(engine, schema, source, table, path, "", what, err);
}

/* Make the renames inside dir durable before the pointer moves. */
static bool sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

static bp_status dir_publish(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err)
{
    if (!root_fits(root))
        return root_too_long(root, err);
    char tmp[4096], final[4096], dir[4096], link[4200], ltmp[4200], target[64];
    for (int i = 0; i < ntables; i++) {
        tmp_path(tmp, sizeof tmp, root, tables[i], run_id);
        dir_file_path(final, sizeof final, root, tables[i], run_id);
        if (rename(tmp, final) != 0)
            return bp_fail(err, BP_ELAKE, "lake: cannot rename %s to %s: %s", tmp, final,
                           strerror(errno));
    }
    run_dir(dir, sizeof dir, root, run_id);
    if (!sync_dir(dir))
        return bp_fail(err, BP_ELAKE, "lake: cannot sync %s: %s", dir, strerror(errno));
    /* the one step that publishes every table at once */
    snprintf(link, sizeof link, "%s/latest", root);
    snprintf(ltmp, sizeof ltmp, "%s/.latest.tmp", root);
    snprintf(target, sizeof target, "run=%lld", (long long)run_id);
    unlink(ltmp);
    if (symlink(target, ltmp) != 0 || rename(ltmp, link) != 0) {
        bp_status st = bp_fail(err, BP_ELAKE, "lake: cannot point %s at %s: %s", link, target,
                               strerror(errno));
        unlink(ltmp);
        return st;
    }
    sync_dir(root); /* the pointer is in place; a lost sync only loses it to a crash */
    return BP_OK;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void dir_discard(const char *root, const char *const *tables, int ntables, int64_t run_id)
{
    (void)tables, (void)ntables;
    if (!root_fits(root) || dir_latest_run(root) == run_id)
        return; /* published: it is the lake now */
    char dir[4096];
    run_dir(dir, sizeof dir, root, run_id);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool dir_published(const char *root, const char *table)
{
    if (!root_fits(root))
        return false;
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/latest/%s.parquet", root, table);
    return stat(path, &sb) == 0;
}

/* ---- retention ------------------------------------------------------------------------ */

typedef struct {
    int64_t *runs;
    int n, cap;
    bool oom;
} run_list;

static void collect_run(void *ctx, const char *dir, int64_t run)
{
    (void)dir;
    run_list *l = ctx;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 32;
        int64_t *r = realloc(l->runs, (size_t)cap * sizeof *r);
        if (!r) {
            l->oom = true;
            return;
        }
        l->runs = r;
        l->cap = cap;
    }
    l->runs[l->n++] = run;
}

static int by_run_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static bp_status dir_gc(const char *root, int keep, int *removed, bp_err *err)
{
    *removed = 0;
    if (!root_fits(root))
        return root_too_long(root, err);
    int64_t latest = dir_latest_run(root);
    run_list l = {NULL, 0, 0, false};
    int e = each_run(root, collect_run, &l, false);
    if (e) {
        free(l.runs);
        return bp_fail(err, BP_ELAKE, "lake folder %s: cannot list its runs: %s", root, strerror(e));
    }
    if (l.oom) {
        free(l.runs);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    if (l.n)
        qsort(l.runs, (size_t)l.n, sizeof *l.runs, by_run_desc);
    char dir[4096];
    bp_status st = BP_OK;
    for (int i = keep > 0 ? keep : 1; i < l.n && st == BP_OK; i++) {
        if (l.runs[i] == latest || (latest && l.runs[i] > latest))
            continue; /* the published run, and any newer one being written */
        run_dir(dir, sizeof dir, root, l.runs[i]);
        if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 || access(dir, F_OK) == 0)
            st = bp_fail(err, BP_ELAKE, "lake: cannot remove %s: %s", dir, strerror(errno));
        else
            (*removed)++;
    }
    free(l.runs);
    return st;
}

const lake_ops lake_dir_ops = {
    .max_run = dir_max_run,
    .prepare = dir_prepare,
    .export_table = dir_export,
    .publish = dir_publish,
    .discard = dir_discard,
    .published = dir_published,
    .latest_run = dir_latest_run,
    .gc = dir_gc,
    .file_path = dir_file_path,
};
