/* cmd_serve.c: `bookpipe serve`: the web UI and its API on localhost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

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
    else if (cli_flag(a, "--allow-host", true)) {
        if (o->nallow_host >= 16)
            return cli_usage_error("serve", "at most 16 --allow-host names"), a->failed = true;
        o->allow_host[o->nallow_host++] = a->val;
    } else if (cli_flag(a, "--request-timeout", true)) {
        if (cli_int(a, 1, 3600, &v))
            o->request_timeout_s = (int)v;
    } else if (cli_flag(a, "--per-ip-connections", true)) {
        if (cli_int(a, 1, 512, &v))
            o->per_ip_connections = (int)v;
    }
    else if (cli_flag(a, "--no-schedule", false))
        o->no_schedule = true;
    else if (cli_flag(a, "--no-snapshot", false))
        o->no_snapshot = true;
    else if (cli_flag(a, "--dashboards", true))
        o->dashboards = a->val;
    else if (cli_flag(a, "--max-rows", true)) {
        if (cli_int(a, 1, 10000000, &v))
            o->max_rows = v;
    } else if (cli_flag(a, "--statement-timeout", true) || cli_flag(a, "--query-timeout", true)) {
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
    o.request_timeout_s = 10;
    o.per_ip_connections = 128;
    int rc = cli_run_parse("serve", argc, argv, &o.run, own_flag, &o);
    if (rc)
        return rc;
    if (!o.token) {
        const char *t = getenv("BOOKPIPE_TOKEN");
        o.token = t && *t ? t : NULL;
    }
    static char made[33];
    if (o.token && !strcmp(o.token, "auto")) { /* a fresh random token */
        unsigned char raw[16];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            return cli_fail("serve", BP_EIO, "cannot get random bytes for --token auto");
        for (size_t i = 0; i < sizeof raw; i++)
            snprintf(made + 2 * i, 3, "%02x", raw[i]);
        o.token = made;
        o.token_made = true;
    }
    cli_catch_signals();
    bp_err err = {0};
    bp_status st = web_serve(&o, &err);
    return st == BP_OK ? 0 : cli_fail("serve", st, err.msg);
}
