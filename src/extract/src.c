/* src.c: discovery of the input files in a folder or a zip, and byte
 * streams over plain files, gzip files and zip members (libarchive). */
#include "src.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fp.h"

/* libarchive leaves the message NULL for a plain end of data. */
static const char *ar_msg(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m ? m : "unexpected end of data";
}

struct src_stream {
    int fd;                 /* plain file, or -1 */
    struct archive *ar;     /* zip member or gzip file, or NULL */
    size_t bytes;
    char label[1280];
    char path[4096];        /* the file on disk (the zip, for a member) */
    struct stat at_open;
    fp_state sum;           /* of a plain file's bytes, as read */
};

static const char *const table_names[SRC_NTABLES] = {"books", "users", "ratings"};
/* File names of each table in the Kaggle and the original release. */
static const char *const kaggle_names[SRC_NTABLES] = {"Books.csv", "Users.csv", "Ratings.csv"};
static const char *const bx_names[SRC_NTABLES] = {"BX-Books.csv", "BX-Users.csv",
                                                  "BX-Book-Ratings.csv"};

const char *src_table_name(src_table t) { return table_names[t]; }

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Does base name `name` denote table t? Sets *fmt and *gz on a match. */
static bool name_matches(const char *name, src_table t, src_format *fmt, bool *gz)
{
    const char *cands[2] = {kaggle_names[t], bx_names[t]};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(cands[i]);
        if (strncasecmp(name, cands[i], n) != 0)
            continue;
        if (name[n] == 0 || strcasecmp(name + n, ".gz") == 0) {
            *fmt = i == 0 ? SRC_FMT_KAGGLE : SRC_FMT_BX;
            *gz = name[n] != 0;
            return true;
        }
    }
    return false;
}

/* Offer one candidate file. A second candidate for the same table (Books.csv
 * and BOOKS.csv, Books.csv and Books.csv.gz, or Books.csv and BX-Books.csv)
 * makes the set ambiguous: which one is read would depend on the order the
 * folder lists them in, so neither is (src_discover names both). */
static void offer(src_set *set, const char *name, const char *full)
{
    for (int t = 0; t < SRC_NTABLES; t++) {
        src_format fmt;
        bool gz;
        if (!name_matches(name, (src_table)t, &fmt, &gz))
            continue;
        if (set->file[t].found) {
            if (set->ambiguous < 0) {
                set->ambiguous = t;
                snprintf(set->other, sizeof set->other, "%s", name);
            }
            continue;
        }
        set->file[t].found = true;
        set->file[t].gz = gz;
        set->file[t].fmt_hint = fmt;
        snprintf(set->file[t].name, sizeof set->file[t].name, "%s", full);
        snprintf(set->file[t].label, sizeof set->file[t].label, "%s", name);
    }
}

static bp_status discover_dir(const char *dir, src_set *set, bp_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return bp_fail(err, BP_EINPUT, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    char full[4096];
    while ((e = readdir(d))) {
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        offer(set, e->d_name, full);
    }
    closedir(d);
    return BP_OK;
}

static bp_status discover_zip(const char *zip, src_set *set, bp_err *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return bp_fail(err, BP_ENOMEM, "out of memory opening %s", zip);
    archive_read_support_format_zip(a);
    bp_status st = BP_OK;
    if (archive_read_open_filename(a, zip, 1 << 16) != ARCHIVE_OK) {
        st = bp_fail(err, BP_EINPUT, "%s: not a readable zip file: %s", zip,
                     ar_msg(a));
        goto done;
    }
    struct archive_entry *ent;
    int r;
    while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(ent);
        if (path)
            offer(set, base_name(path), path);
        archive_read_data_skip(a);
    }
    if (r != ARCHIVE_EOF)
        st = bp_fail(err, BP_EINPUT, "%s: damaged or truncated zip file: %s", zip,
                     ar_msg(a));
done:
    archive_read_free(a);
    return st;
}

bp_status src_discover(const char *data, src_set *set, bp_err *err)
{
    memset(set, 0, sizeof *set);
    set->ambiguous = -1;
    snprintf(set->root, sizeof set->root, "%s", data);
    struct stat sb;
    if (stat(data, &sb) != 0)
        return bp_fail(err, BP_EINPUT, "%s: %s (give --data a folder holding Books.csv, "
                       "Users.csv and Ratings.csv, or the Kaggle zip)", data, strerror(errno));
    bp_status st;
    if (S_ISDIR(sb.st_mode)) {
        st = discover_dir(data, set, err);
    } else {
        set->is_zip = true;
        st = discover_zip(data, set, err);
    }
    if (st != BP_OK)
        return st;
    if (set->ambiguous >= 0)
        return bp_fail(err, BP_EINPUT, "%s: both %s and %s look like the %s file; keep one of "
                       "them (or move the other set of files to a folder of its own)", data,
                       set->file[set->ambiguous].label, set->other,
                       table_names[set->ambiguous]);
    for (int t = 0; t < SRC_NTABLES; t++)
        if (!set->file[t].found)
            return bp_fail(err, BP_EINPUT, "%s: no %s file (looked for %s or %s, plain or .gz)",
                           data, table_names[t], kaggle_names[t], bx_names[t]);
    return BP_OK;
}

static bp_status open_archive(src_stream *s, const src_set *set, src_table t, bp_err *err)
{
    s->ar = archive_read_new();
    if (!s->ar)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    const char *path = set->is_zip ? set->root : set->file[t].name;
    if (set->is_zip) {
        archive_read_support_format_zip(s->ar);
    } else {
        archive_read_support_filter_gzip(s->ar);
        archive_read_support_format_raw(s->ar);
    }
    if (archive_read_open_filename(s->ar, path, 1 << 16) != ARCHIVE_OK)
        return bp_fail(err, BP_EINPUT, "%s: cannot open: %s", path, ar_msg(s->ar));
    struct archive_entry *ent;
    int r;
    while ((r = archive_read_next_header(s->ar, &ent)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        if (!set->is_zip || (name && strcmp(name, set->file[t].name) == 0))
            return BP_OK;
        archive_read_data_skip(s->ar);
    }
    return bp_fail(err, BP_EINPUT, "%s: cannot find %s again: %s", path, set->file[t].name,
                   r == ARCHIVE_EOF ? "no such member" : ar_msg(s->ar));
}

bp_status src_open(const src_set *set, src_table t, src_stream **out, bp_err *err)
{
    src_stream *s = calloc(1, sizeof *s);
    if (!s)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    s->fd = -1;
    if (set->is_zip)
        /* a label for messages: a long zip path is cut, the file name kept */
        snprintf(s->label, sizeof s->label, "%.255s in %.1000s", set->file[t].label, set->root);
    else
        snprintf(s->label, sizeof s->label, "%s", set->file[t].name);
    bp_status st = BP_OK;
    snprintf(s->path, sizeof s->path, "%s", set->is_zip ? set->root : set->file[t].name);
    fp_init(&s->sum);
    if (set->is_zip || set->file[t].gz) {
        st = open_archive(s, set, t, err);
        if (st == BP_OK && stat(s->path, &s->at_open) != 0)
            st = bp_fail(err, BP_EINPUT, "%s: cannot open: %s", s->label, strerror(errno));
    } else {
        s->fd = open(set->file[t].name, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0 || fstat(s->fd, &s->at_open) != 0)
            st = bp_fail(err, BP_EINPUT, "%s: cannot open: %s", s->label, strerror(errno));
    }
    if (st != BP_OK) {
        src_close(s);
        return st;
    }
    *out = s;
    return BP_OK;
}

ssize_t src_read(src_stream *s, void *dst, size_t n, bp_err *err)
{
    ssize_t got;
    if (s->ar) {
        got = archive_read_data(s->ar, dst, n);
        if (got < 0) {
            bp_fail(err, BP_EINPUT, "%s: damaged or truncated data: %s", s->label,
                    ar_msg(s->ar));
            return -1;
        }
    } else {
        do
            got = read(s->fd, dst, n);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            bp_fail(err, BP_EINPUT, "%s: read failed: %s", s->label, strerror(errno));
            return -1;
        }
    }
    if (!s->ar)
        fp_add(&s->sum, dst, (size_t)got);
    s->bytes += (size_t)got;
    return got;
}

static int64_t mtime_ns(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

bp_status src_finish(src_stream *s, src_seen *seen, bp_err *err)
{
    memset(seen, 0, sizeof *seen);
    snprintf(seen->path, sizeof seen->path, "%s", s->path);
    seen->size = (int64_t)s->at_open.st_size;
    seen->mtime_ns = mtime_ns(&s->at_open);
    if (!S_ISREG(s->at_open.st_mode))
        return BP_OK; /* a pipe is read once, as it comes: nothing to compare */
    struct stat now;
    bool ok = (s->ar ? stat(s->path, &now) : fstat(s->fd, &now)) == 0;
    if (!ok || now.st_size != s->at_open.st_size || mtime_ns(&now) != seen->mtime_ns ||
        now.st_ino != s->at_open.st_ino)
        return bp_fail(err, BP_EINPUT, "%s: the file changed while it was being read (was it "
                       "still being written?); nothing was loaded from this run: run again "
                       "when it is complete", s->label);
    if (!s->ar) {
        if ((int64_t)s->bytes != seen->size)
            return bp_fail(err, BP_EINPUT, "%s: read %zu bytes of %lld; the file changed while "
                           "it was being read: run again when it is complete", s->label,
                           s->bytes, (long long)seen->size);
        fp_hex(fp_final(&s->sum), seen->sum);
    }
    return BP_OK;
}

size_t src_bytes(const src_stream *s) { return s->bytes; }

const char *src_label(const src_stream *s) { return s->label; }

void src_close(src_stream *s)
{
    if (!s)
        return;
    if (s->ar)
        archive_read_free(s->ar);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}
