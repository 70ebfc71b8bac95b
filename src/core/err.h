/* err.h: bookpipe's one way to fail.
 *
 * Every function that can fail returns a bp_status and, when given one,
 * fills a bp_err with a human message (and the input position, when the
 * failure is about input). Callers print err->msg prefixed with their
 * command name; nothing below the CLI prints errors itself. */
#ifndef BP_ERR_H
#define BP_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* On every function returning a bp_status: a result dropped on the floor
 * is a compile error (-Werror), not an error that silently goes away. */
#define BP_MUST __attribute__((warn_unused_result))

typedef enum {
    BP_OK = 0,
    BP_EUSAGE,    /* bad command line */
    BP_EINPUT,    /* input files missing, unreadable or malformed */
    BP_EWH,       /* the warehouse refused an operation */
    BP_ELAKE,     /* the lake could not be written */
    BP_ENOMEM,    /* an allocation failed or a limit was hit */
    BP_EIO,       /* other I/O */
    BP_EINTERNAL, /* a bug */
    BP_EINTR      /* interrupted (Ctrl-C) */
} bp_status;

/* Exit codes, documented in `bookpipe --help`. */
enum {
    BP_EXIT_OK = 0,
    BP_EXIT_FAIL = 1,   /* internal or other failure */
    BP_EXIT_USAGE = 2,  /* bad command line */
    BP_EXIT_INPUT = 3,  /* bad or missing input data */
    BP_EXIT_WH = 4,     /* warehouse error */
    BP_EXIT_LAKE = 5,   /* lake error */
    BP_EXIT_INTR = 130, /* interrupted */
};

typedef struct {
    bp_status status;
    char msg[1024];
    int pos;   /* where in the statement the database found the error (1-based character), 0 unknown */
} bp_err;

/* Record a failure: formats into err->msg (when err is not NULL) and
 * returns st so that callers can write `return bp_fail(err, ...)`. */
bp_status bp_fail(bp_err *err, bp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix err->msg with a context ("reading Books.csv: ..."). */
void bp_err_prefix(bp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *bp_strerror(bp_status st);
int bp_exit_code(bp_status st);

#endif
