/* cli.c: flag parsing shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/num.h"
#include "../orch/meta.h"

void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
}

bool cli_flag(cli_args *a, const char *name, bool with_value)
{
    if (a->i >= a->argc)
        return false;
    const char *arg = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == '=' && with_value) {
        a->val = arg + n + 1;
        a->i++;
        return true;
    }
    if (arg[n] != 0)
        return false;
    a->i++;
    if (!with_value)
        return true;
    if (a->i >= a->argc) {
        fprintf(stderr, "bookpipe %s: %s needs a value (see bookpipe %s --help)\n", a->cmd,
                name, a->cmd);
        a->failed = true;
        a->val = NULL;
        return true;
    }
    a->val = a->argv[a->i++];
    return true;
}

bool cli_wh_flag(cli_args *a, wh_spec *w)
{
    if (cli_flag(a, "--warehouse", true))
        w->warehouse = a->val;
    else if (cli_flag(a, "--schema", true))
        w->schema = a->val;
    else if (cli_flag(a, "--target", true))
        w->target = a->val;
    else if (cli_flag(a, "--dsn", true))
        w->dsn = a->val;
    else
        return false;
    return true;
}

bool cli_int(cli_args *a, long long lo, long long hi, long long *out)
{
    int64_t v;
    if (!a->val || !num_parse_range(a->val, lo, hi, &v)) {
        fprintf(stderr, "bookpipe %s: '%s' is not a whole number from %lld to %lld\n", a->cmd,
                a->val ? a->val : "", lo, hi);
        a->failed = true;
        return false;
    }
    *out = v;
    return true;
}

int cli_fail(const char *cmd, bp_status st, const char *msg)
{
    fprintf(stderr, "bookpipe %s: %s\n", cmd, msg && *msg ? msg : bp_strerror(st));
    return bp_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bookpipe %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see bookpipe %s --help)\n", cmd);
    return BP_EXIT_USAGE;
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    }
    return false;
}

int cli_open_fail(const char *cmd, const wh_spec *w, bp_status st, const char *msg)
{
    char who[512], m[1024];
    if (!strcmp(w->target, "duckdb")) {
        meta_lock_holder(w->warehouse, who, sizeof who);
        if (who[0]) {
            snprintf(m, sizeof m, "a run holds the warehouse %s (DuckDB allows one process "
                     "at a time): %s; try again when it ends", w->warehouse, who);
            return cli_fail(cmd, st, m);
        }
    }
    return cli_fail(cmd, st, msg);
}
