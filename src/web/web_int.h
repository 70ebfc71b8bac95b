/* web_int.h: what server.c and api.c share. */
#ifndef BP_WEB_INT_H
#define BP_WEB_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "../core/buf.h"
#include "../orch/cron.h"
#include "web.h"

/* One open connection, for the request deadline: a request must arrive
 * whole within web_opts.request_timeout_s of the connection opening or the
 * last answer (an idle timeout alone lets a client trickle bytes forever). */
typedef struct web_conn {
    struct web_conn *next;
    int fd;                  /* our own dup of the socket, to shut it down */
    double since;            /* when the current request's clock started */
    bool busy;               /* a request is being answered: no deadline */
    size_t uri_len;          /* of the current request (path and query) */
    bool cut;
} web_conn;

#define WEB_MAX_SNAP_CONNS 512

typedef struct {
    const web_opts *o;
    int port;                /* the port bound */
    pthread_mutex_t conns_mu;
    web_conn *conns;
    pthread_t reaper;
    bool reaper_started;
    /* Requests hold it shared; a run started here holds it alone: DuckDB
     * lets one process at a time open the file for writing. */
    pthread_rwlock_t wh_lock;
    pthread_mutex_t mu;
    bool running;            /* a web run is going */
    long long last_run;      /* its id, when known */
    pthread_t run_thread;
    bool has_thread;
    char project_dir[4200];  /* its dashboards/ folder is served */
    const char *trigger;     /* of the run being started: web or schedule */
    char schedule[256];      /* the pipeline's cron text ("" when none) */
    cron_spec cron;
    time_t next_run;
    pthread_t sched_thread;
    bool sched_started;
    /* DuckDB: one read-only database shared by the requests (each gets its
     * own connection to it), closed after HOLD_S idle so that a run from the
     * command line can take the file; guarded by mu */
    wh *ro;
    int ro_users;
    double ro_idle_since;
    pthread_t idle_thread;
    bool idle_started;
    /* PostgreSQL: the conninfo of the login requests read with (see
     * wh_reader_dsn; "" reads with the run's login), refreshed now and then
     * so that schemas made since are granted; guarded by mu */
    buf reader;
    bool reader_ready;
    double reader_at;
    char reader_note[300];
    int exporting;           /* export workers still streaming; guarded by mu */
    /* the run started here: its live view (live.c) and its own stop flag */
    json_t *live;
    volatile sig_atomic_t run_stop;
    char run_select[512];    /* what Run asked for: a selection, or a block to start from */
    char run_from[256];
    bool run_full;           /* full refresh: every block, unchanged or not */
    bool sched_paused;       /* the schedule's runs are skipped (POST /api/schedule) */
    /* DuckDB, during that run: the snapshot readers use (live.c) */
    char snap_path[4300];
    bool snap_ready;
    wh *snap_ro;
    int snap_users;
    wh *snap_conns[WEB_MAX_SNAP_CONNS];
    int nsnap;
} web_srv;

typedef struct {
    struct MHD_Connection *c;
    const char *url;
    bool post;
    const char *body;
    size_t n;
    const char *cookie;      /* Set-Cookie for the reply, or NULL */
} web_req;

BP_MUST bp_status web_srv_init(web_srv *s, const web_opts *o, bp_err *err);
/* Start runs on the pipeline's schedule (when it has one and --data). */
void web_schedule_start(web_srv *s);
void web_srv_free(web_srv *s);

/* Route a request to its handler; queues the response. */
enum MHD_Result web_route(web_srv *s, const web_req *r);

/* The warehouse, read-only, for one request (holding the shared lock); on
 * failure the answer is queued in *res. */
wh *web_open_ro(web_srv *s, const web_req *r, enum MHD_Result *res);
void web_close_ro(web_srv *s, wh *w);

/* A query's result as JSON: columns [{name, numeric}] and rows of text
 * (null for NULL), skipping `skip` rows and keeping at most `limit`. */
typedef struct {
    json_t *cols, *rows;
    long long skip, limit, seen;
    bool truncated, oom;
} web_rows;

/* A wh_row_fn filling a web_rows. */
int web_rows_add(void *ctx, size_t nc, const wh_col *cols, const char *const *vals);

enum MHD_Result web_dashboards(web_srv *s, const web_req *r);
enum MHD_Result web_dashboard(web_srv *s, const web_req *r, const char *rest);

enum MHD_Result web_send(const web_req *r, unsigned status, const char *type,
                         const char *body, size_t n);
/* Send bytes that live as long as the program (the embedded assets). */
enum MHD_Result web_send_static(const web_req *r, unsigned status, const char *type,
                                const void *body, size_t n);
/* The page or an embedded asset for a GET of r->url: true with the answer
 * queued in *res; false when r->url is neither. */
bool web_page(const web_req *r, enum MHD_Result *res);
/* Send j (taking its reference). */
enum MHD_Result web_json(const web_req *r, unsigned status, json_t *j);
enum MHD_Result web_error(const web_req *r, unsigned status, const char *msg);
/* Queue a response made elsewhere (a pipe, a file) with the usual headers. */
enum MHD_Result web_send_response(const web_req *r, unsigned status, const char *type,
                                  struct MHD_Response *resp);

/* A statement's {columns, rows, truncated, offset, elapsed_ms}; NULL with
 * err when the database refused it (explore.c, api.c). */
json_t *web_run_query(web_srv *s, wh *w, const char *sql, long long skip, long long limit,
                      bp_err *err);
/* a run started here, seen live; cancel; the snapshot readers use (live.c) */
void web_live_event(void *ctx, const char *json);
enum MHD_Result web_live(web_srv *s, const web_req *r);
enum MHD_Result web_cancel(web_srv *s, const web_req *r);
void web_snapshot_take(web_srv *s);
void web_snapshot_drop(web_srv *s);
/* the dbt project's models from its artifacts (models.c): rest is "" or "/NAME" */
enum MHD_Result web_models(web_srv *s, const web_req *r, const char *rest);
/* the explorer's API (explore.c) */
enum MHD_Result web_query(web_srv *s, const web_req *r);
enum MHD_Result web_export(web_srv *s, const web_req *r);
enum MHD_Result web_table_stats(web_srv *s, const web_req *r);
/* A table's columns from the catalogue, as {name, type} objects appended to
 * out; names are bound as parameters, never spliced into the SQL. */
bp_status web_table_columns(web_srv *s, wh *w, const char *schema, const char *table, long long max,
                            json_t *out, bp_err *err);
/* 503 with Retry-After: the warehouse is taken by a run for now. */
enum MHD_Result web_busy(const web_req *r, const char *msg);
/* recs.c: /api/recommend, /api/books/ISBN[/similar], /api/users/ID, /api/search */
enum MHD_Result web_recs(web_srv *s, const web_req *r);

#endif
