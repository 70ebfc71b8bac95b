/* cmd_serve.c: `bookpipe serve`: the web UI and its API on localhost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../web/web.h"
#include "cli.h"

static bool own_flag(cli_args *a, void *ctx)
{
    web_opts *o = ctx;
    long long v;
    if (cli_flag(a, "--bind", true))
        o->bind = a->val;
    else if (cli_flag(a, "--port", true)) {
        if (cli_int(a, 0, 65535, &v))
            o->port = (int)v;
    } else if (cli_flag(a, "--token", true))
        o->token = a->val;
    else if (cli_flag(a, "--no-schedule", false))
        o->no_schedule = true;
    else if (cli_flag(a, "--dashboards", true))
        o->dashboards = a->val;
    else if (cli_flag(a, "--max-rows", true)) {
        if (cli_int(a, 1, 10000000, &v))
            o->max_rows = v;
    } else if (cli_flag(a, "--statement-timeout", true)) {
        if (cli_int(a, 1, 3600, &v))
            o->statement_timeout_ms = (int)v * 1000;
    } else
        return false;
    return true;
}

int cmd_serve(int argc, char **argv)
{
    static web_opts o; /* large (the run flags); lives for the server's life */
    memset(&o, 0, sizeof o);
    o.bind = "127.0.0.1";
    o.port = 8080;
    o.max_rows = 10000;
    o.statement_timeout_ms = 30000;
    int rc = cli_run_parse("serve", argc, argv, &o.run, own_flag, &o);
    if (rc)
        return rc;
    if (!o.token) {
        const char *t = getenv("BOOKPIPE_TOKEN");
        o.token = t && *t ? t : NULL;
    }
    cli_catch_signals();
    bp_err err = {0};
    bp_status st = web_serve(&o, &err);
    return st == BP_OK ? 0 : cli_fail("serve", st, err.msg);
}
