/* log.c: the library's messages, handed to the program's sink. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static bp_log_sink g_sink;
static void *g_data;
static _Thread_local char t_scope[160];

void bp_log_set_sink(bp_log_sink sink, void *data)
{
    g_sink = sink;
    g_data = data;
}

void bp_log_scope(const char *scope)
{
    snprintf(t_scope, sizeof t_scope, "%s", scope ? scope : "");
}

void bp_log(bp_log_level level, const char *fmt, ...)
{
    if (!g_sink)
        return;
    /* a message is a line or two: longer ones are cut, not lost entirely */
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_sink(g_data, level, t_scope[0] ? t_scope : NULL, msg);
}
