/* web.h: `bookpipe serve`: the pages and their JSON API on
 * libmicrohttpd.
 *
 * Requests read the warehouse read-only (DuckDB: one READ_ONLY database
 * shared by the requests, each on its own connection, closed after a second
 * without requests; PostgreSQL: a read-only session per request with a
 * statement timeout), so the SQL explorer cannot write whatever SQL it is
 * given, and a `bookpipe run` from the command line can take the warehouse
 * between requests. A run started from the web holds the warehouse for its
 * duration; requests meanwhile are answered 503. */
#ifndef BP_WEB_H
#define BP_WEB_H

#include <stdbool.h>

#include "../orch/request.h"
#include "../core/err.h"

typedef struct {
    const char *bind;         /* address (default 127.0.0.1) */
    int port;                 /* default 8080; 0 picks a free one */
    const char *token;        /* required on every request when set */
    bool token_made;          /* made here (--token auto): the URL printed carries it */
    const char *allow_host[16]; /* Host names served besides localhost and IP
                                   literals ("*": any); --allow-host */
    int nallow_host;
    int request_timeout_s;    /* a request's headers and body must arrive within */
    int per_ip_connections;   /* connections one client address may hold */
    const char *dashboards;   /* extra Grafana dashboard folder */
    run_request run;              /* warehouse, pipeline and run flags (Run now) */
    long long max_rows;       /* explorer row cap */
    int statement_timeout_ms; /* explorer and panel statements (both engines) */
    bool no_schedule;         /* do not start runs on the pipeline's schedule */
    bool no_snapshot;         /* DuckDB: no snapshot for readers during a run (503 then) */
} web_opts;

/* Serve until SIGINT/SIGTERM. Prints the URL (with the port) on stdout. */
BP_MUST bp_status web_serve(const web_opts *o, bp_err *err);

#endif
