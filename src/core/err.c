/* err.c: status strings, exit codes and error formatting. */
#include "err.h"

#include <stdio.h>
#include <string.h>

bp_status bp_fail(bp_err *err, bp_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = st;
        err->pos = 0;
    }
    return st;
}

void bp_err_prefix(bp_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* truncation is fine: messages are for people */
    size_t n = strlen(pre);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, pre, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t ol = strnlen(old, sizeof old);
    if (ol > rest)
        ol = rest;
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = 0;
}

const char *bp_strerror(bp_status st)
{
    switch (st) {
    case BP_OK: return "ok";
    case BP_EUSAGE: return "usage error";
    case BP_EINPUT: return "input error";
    case BP_EWH: return "warehouse error";
    case BP_ELAKE: return "lake error";
    case BP_ENOMEM: return "out of memory";
    case BP_EIO: return "I/O error";
    case BP_EINTERNAL: return "internal error";
    case BP_EINTR: return "interrupted";
    }
    return "unknown error";
}

int bp_exit_code(bp_status st)
{
    switch (st) {
    case BP_OK: return BP_EXIT_OK;
    case BP_EUSAGE: return BP_EXIT_USAGE;
    case BP_EINPUT: return BP_EXIT_INPUT;
    case BP_EWH: return BP_EXIT_WH;
    case BP_ELAKE: return BP_EXIT_LAKE;
    case BP_EINTR: return BP_EXIT_INTR;
    default: return BP_EXIT_FAIL;
    }
}
