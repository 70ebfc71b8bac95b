/* log.h: how the library says something that is not an error result.
 *
 * Warnings (a run history row not written, a lake clean-up put off, a
 * Kaggle token others can read) and notices have no bp_status to travel
 * in, and library code never prints. It hands them to a sink that the
 * program sets: the CLI prints them as "bookpipe CMD: warning: ...",
 * `serve` logs them with the request or run they belong to. With no sink
 * set, messages go nowhere.
 *
 * Not messages: what a caller asked to see as it happens (the run's live
 * view in orch/view.c, the progress lines of a load or a download, dbt's
 * console): those print where the caller's options say.
 *
 * A thread may name what it is doing (bp_log_scope: "GET /api/run",
 * "run 12"); the sink receives that scope with each message. */
#ifndef BP_LOG_H
#define BP_LOG_H

typedef enum { BP_LOG_INFO, BP_LOG_WARN, BP_LOG_ERROR } bp_log_level;

/* scope: the calling thread's bp_log_scope, or NULL */
typedef void (*bp_log_sink)(void *data, bp_log_level level, const char *scope, const char *msg);

/* Set the process's sink (NULL: drop messages). Call before threads start. */
void bp_log_set_sink(bp_log_sink sink, void *data);

/* Name what this thread does until the next call (NULL: nothing); the
 * text is copied. */
void bp_log_scope(const char *scope);

void bp_log(bp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
