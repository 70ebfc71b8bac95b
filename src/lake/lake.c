/* lake.c: writing, publishing and discarding lake runs on a local disk
 * (s3:// roots go to lake_s3.c). */
#include "lake.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/buf.h"
#include "../core/fs.h"
#include "lake_s3.h"
#include "s3.h"

static long long g_rows_per_part = 250000;

void lake_set_rows_per_part(long long rows)
{
    if (rows > 0)
        g_rows_per_part = rows;
}

long long lake_rows_per_part(void) { return g_rows_per_part; }

static void run_dir(char *out, size_t n, const char *root, const char *table, int64_t run)
{
    snprintf(out, n, "%s/%s/run=%lld", root, table, (long long)run);
}

static void tmp_path(char *out, size_t n, const char *root, const char *table, int64_t run)
{
    snprintf(out, n, "%s/%s/run=%lld/.%s.parquet.tmp", root, table, (long long)run, table);
}

void lake_file_path(char *out, size_t n, const char *root, const char *table, int64_t run)
{
    if (s3_is_url(root)) {
        snprintf(out, n, "%s/%s/run=%lld/", root, table, (long long)run);
        return;
    }
    snprintf(out, n, "%s/%s/run=%lld/%s.parquet", root, table, (long long)run, table);
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

/* Remove hidden temporary files of interrupted runs, and their folders
 * when nothing else is in them. */
static void sweep_table(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char sub[4096], f[4200];
    while ((e = readdir(d))) {
        if (run_of(e->d_name) < 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *r = opendir(sub);
        if (!r)
            continue;
        struct dirent *x;
        while ((x = readdir(r))) {
            size_t l = strlen(x->d_name);
            if (x->d_name[0] == '.' && l > 4 && strcmp(x->d_name + l - 4, ".tmp") == 0) {
                snprintf(f, sizeof f, "%s/%s", sub, x->d_name);
                unlink(f);
            }
        }
        closedir(r);
        rmdir(sub); /* fails, harmlessly, unless empty */
    }
    closedir(d);
}

int64_t lake_max_run(const char *root)
{
    if (s3_is_url(root))
        return lake_s3_max_run(root);
    int64_t max = 0;
    DIR *d = opendir(root);
    if (!d)
        return 0;
    struct dirent *e;
    char dir[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        DIR *t = opendir(dir);
        if (!t)
            continue;
        struct dirent *r;
        while ((r = readdir(t))) {
            int64_t v = run_of(r->d_name);
            if (v > max)
                max = v;
        }
        closedir(t);
    }
    closedir(d);
    return max;
}

bp_status lake_prepare(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err)
{
    if (s3_is_url(root))
        return lake_s3_prepare(root, tables, ntables, run_id, err);
    char dir[4096];
    struct stat sb;
    if (stat(root, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return bp_fail(err, BP_ELAKE, "lake folder %s: exists but is not a folder; give "
                       "--lake a folder", root);
    for (int i = 0; i < ntables; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, tables[i]);
        sweep_table(dir);
        run_dir(dir, sizeof dir, root, tables[i], run_id);
        if (fs_mkdir_p(dir, BP_ELAKE, "lake folder", err) != BP_OK)
            return BP_ELAKE;
        if (access(dir, W_OK) != 0)
            return bp_fail(err, BP_ELAKE, "lake folder %s: not writable: %s", dir,
                           strerror(errno));
    }
    return BP_OK;
}

bp_status lake_export(wh *engine, const char *root, const char *schema, const char *source,
                      const char *table, int64_t run_id, bp_err *err)
{
    if (s3_is_url(root))
        return lake_s3_export(engine, root, schema, source, table, run_id, err);
    char path[4096];
    tmp_path(path, sizeof path, root, table, run_id);
    buf sql = {0};
    bp_status st = BP_ENOMEM;
    /* row order in a lake file is no contract; keeping it costs memory */
    if (buf_adds(&sql, "SET preserve_insertion_order = false; COPY (SELECT * FROM ") || buf_add_ident(&sql, schema) ||
        buf_addc(&sql, '.') || buf_add_ident(&sql, source ? source : table) ||
        buf_adds(&sql, ") TO ") ||
        buf_add_sqlstr(&sql, path) ||
        buf_adds(&sql, " (FORMAT parquet, COMPRESSION snappy); RESET preserve_insertion_order")) {
        bp_fail(err, st, "out of memory");
        goto done;
    }
    st = wh_exec(engine, sql.p, err);
    if (st != BP_OK) {
        bp_err_prefix(err, "writing lake file %s", path);
        st = BP_ELAKE;
        if (err)
            err->status = st;
    }
done:
    buf_free(&sql);
    return st;
}

bp_status lake_publish(const char *root, const char *const *tables, int ntables,
                       int64_t run_id, bp_err *err)
{
    if (s3_is_url(root))
        return lake_s3_publish(root, tables, ntables, run_id, err);
    char tmp[4096], final[4096], link[4096], ltmp[4200], target[64];
    for (int i = 0; i < ntables; i++) {
        tmp_path(tmp, sizeof tmp, root, tables[i], run_id);
        lake_file_path(final, sizeof final, root, tables[i], run_id);
        if (rename(tmp, final) != 0)
            return bp_fail(err, BP_ELAKE, "lake: cannot rename %s to %s: %s", tmp, final,
                           strerror(errno));
        snprintf(link, sizeof link, "%s/%s/latest", root, tables[i]);
        snprintf(ltmp, sizeof ltmp, "%s/%s/.latest.tmp", root, tables[i]);
        snprintf(target, sizeof target, "run=%lld", (long long)run_id);
        unlink(ltmp);
        if (symlink(target, ltmp) != 0 || rename(ltmp, link) != 0)
            return bp_fail(err, BP_ELAKE, "lake: cannot point %s at %s: %s", link, target,
                           strerror(errno));
    }
    return BP_OK;
}

void lake_discard(const char *root, const char *const *tables, int ntables, int64_t run_id)
{
    if (s3_is_url(root)) {
        lake_s3_discard(root, run_id);
        return;
    }
    char path[4096];
    for (int i = 0; i < ntables; i++) {
        tmp_path(path, sizeof path, root, tables[i], run_id);
        unlink(path);
        run_dir(path, sizeof path, root, tables[i], run_id);
        rmdir(path);
    }
}

bool lake_published(const char *root, const char *table)
{
    if (s3_is_url(root))
        return lake_s3_published(root, table);
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s/latest/%s.parquet", root, table, table);
    return stat(path, &sb) == 0;
}
