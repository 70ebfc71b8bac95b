/* src.h: finding the three Book-Crossing files and reading their bytes.
 *
 * The data argument is a folder or a zip (the Kaggle download as it is).
 * In either, each table is found by its file name in one of the two release
 * formats (Books.csv or BX-Books.csv, and so on; matched without regard to
 * case, plain or .gz). Two candidates for one table are refused by name. A src_stream hands out the raw bytes of one file,
 * reading a zip member in place: nothing is unpacked to disk. */
#ifndef BP_SRC_H
#define BP_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/err.h"

typedef enum { SRC_BOOKS, SRC_USERS, SRC_RATINGS, SRC_NTABLES } src_table;
typedef enum { SRC_FMT_KAGGLE, SRC_FMT_BX } src_format;

typedef struct {
    char root[4096];          /* the folder or zip given */
    bool is_zip;
    struct {
        bool found;
        bool gz;              /* plain file compressed with gzip */
        char name[1024];      /* file path, or member name in the zip */
        char label[256];      /* short name for messages: "Books.csv" */
        src_format fmt_hint;  /* from the name: BX- means the original release */
    } file[SRC_NTABLES];
    int ambiguous;            /* a table with two candidate files, or -1 */
    char other[256];          /* the second candidate's name */
} src_set;

typedef struct src_stream src_stream;

/* The name of a table ("books", "users", "ratings"). */
const char *src_table_name(src_table t);

/* Locate the three files under data. Fails with BP_EINPUT naming what is
 * missing and what names were looked for. */
BP_MUST bp_status src_discover(const char *data, src_set *set, bp_err *err);

/* Open one table's file for reading. The stream is freed by src_close. */
BP_MUST bp_status src_open(const src_set *set, src_table t, src_stream **out, bp_err *err);

/* Read up to n bytes. Returns the count (0 at the end) or -1 with err set. */
ssize_t src_read(src_stream *s, void *dst, size_t n, bp_err *err);

/* A name for messages: the file path, or "Books.csv in data.zip". */
const char *src_label(const src_stream *s);

/* Total bytes read so far from this stream (uncompressed). */
size_t src_bytes(const src_stream *s);

/* What a stream read: the file's size and mtime when it was opened (for a
 * zip member or a gzip file, the zip's or the .gz file's), and for a plain
 * file read to its end, the checksum of its bytes (fp_file's hash). */
typedef struct {
    char path[4096];
    int64_t size, mtime_ns;
    char sum[17];             /* "" unless a plain file was read whole */
} src_seen;

/* At the end of reading: fails (BP_EINPUT) when the file changed while it
 * was read (its size or mtime moved, or a plain file ended before its
 * size), so that a file still being written is never loaded torn. */
BP_MUST bp_status src_finish(src_stream *s, src_seen *seen, bp_err *err);

void src_close(src_stream *s);

#endif
