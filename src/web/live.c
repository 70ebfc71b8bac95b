/* live.c: a run started by serve (Run now, the schedule) seen while it
 * goes. The orchestrator reports each event (orch_opts.on_event); they are
 * kept here in memory, so the pipeline page shows the blocks changing
 * state, their rows, errors and logs without touching the warehouse the
 * run is writing. Cancel sets the run's own stop flag. On DuckDB, where
 * one process writes the file and nobody else may open it meanwhile,
 * requests read a snapshot of the warehouse taken just before the run
 * (a reflink where the file system has them, else a copy), so the pages
 * keep working during the run; PostgreSQL readers need nothing: the
 * server's MVCC shows them the last committed state. */
#include "web_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fs.h"
#include "../core/log.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- events --------------------------------------------------------------------------------- */

static void on_run_started(web_srv *s, json_t *e)
{
    json_t *blocks = json_object(), *order = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(e, "blocks"), i, b) {
        const char *name = json_string_value(json_object_get(b, "name"));
        if (!name)
            continue;
        bool sel = json_is_true(json_object_get(b, "selected"));
        json_object_set_new(blocks, name, json_pack("{s:O, s:O, s:s}", "type",
                                                    json_object_get(b, "type"), "upstream",
                                                    json_object_get(b, "upstream"), "status",
                                                    sel ? "queued" : "not selected"));
        json_array_append_new(order, json_string(name));
    }
    json_decref(s->live);
    s->live = json_pack("{s:O, s:O, s:O, s:O, s:s, s:f, s:o, s:o}", "run_id",
                        json_object_get(e, "run_id"), "pipeline", json_object_get(e, "pipeline"),
                        "target", json_object_get(e, "target"), "trigger",
                        json_object_get(e, "trigger"), "status", "running", "started_ms",
                        now_ms(), "blocks", blocks, "order", order);
}

static void on_block(web_srv *s, json_t *e)
{
    const char *name = json_string_value(json_object_get(e, "block"));
    json_t *b = json_object_get(json_object_get(s->live, "blocks"), name ? name : "");
    if (!b)
        return;
    const char *st = json_string_value(json_object_get(e, "status"));
    const char *keys[] = {"status", "attempt", "elapsed", "rows_in", "rows_out", "note",
                          "error", "log"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (json_object_get(e, keys[k]))
            json_object_set(b, keys[k], json_object_get(e, keys[k]));
    if (st && !strcmp(st, "running") && !json_object_get(b, "started_ms"))
        json_object_set_new(b, "started_ms", json_real(now_ms()));
    if (st && strcmp(st, "running") && strcmp(st, "queued") && json_object_get(b, "started_ms"))
        json_object_set_new(b, "ended_ms", json_real(now_ms()));
}

void web_live_event(void *ctx, const char *text)
{
    web_srv *s = ctx;
    json_error_t je;
    json_t *e = json_loads(text, 0, &je);
    const char *kind = json_string_value(json_object_get(e, "event"));
    pthread_mutex_lock(&s->mu);
    if (kind && !strcmp(kind, "run_started"))
        on_run_started(s, e);
    else if (kind && !strcmp(kind, "block") && s->live)
        on_block(s, e);
    else if (kind && !strcmp(kind, "log") && s->live) {
        const char *name = json_string_value(json_object_get(e, "block"));
        json_t *b = json_object_get(json_object_get(s->live, "blocks"), name ? name : "");
        if (b)
            json_object_set(b, "log_tail", json_object_get(e, "tail"));
    }
    else if (kind && !strcmp(kind, "run_ended") && s->live) {
        json_object_set(s->live, "status", json_object_get(e, "status"));
        json_object_set(s->live, "elapsed", json_object_get(e, "elapsed"));
        json_object_set_new(s->live, "ended_ms", json_real(now_ms()));
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(e);
}

/* GET /api/live: {running, cancelling, run: the live view of the run
 * started here (the last one once it ends), or null} */
enum MHD_Result web_live(web_srv *s, const web_req *r)
{
    pthread_mutex_lock(&s->mu);
    json_t *j = json_pack("{s:b, s:b, s:O?}", "running", s->running, "cancelling",
                          s->running && s->run_stop, "run", s->live);
    pthread_mutex_unlock(&s->mu);
    return web_json(r, 200, j);
}

/* POST /api/runs/cancel: the run started here stops (its blocks that did
 * not finish change nothing, as with Ctrl-C). */
enum MHD_Result web_cancel(web_srv *s, const web_req *r)
{
    pthread_mutex_lock(&s->mu);
    bool running = s->running;
    if (running)
        s->run_stop = 1;
    pthread_mutex_unlock(&s->mu);
    if (!running)
        return web_error(r, 409, "no run started here is going (a run from the command line "
                                 "stops with Ctrl-C where it runs)");
    return web_json(r, 202, json_pack("{s:b}", "cancelling", 1));
}

/* ---- the snapshot readers use during a run (DuckDB) --------------------------------------- */

/* Copy a file: a reflink (instant, no space) where the file system can,
 * else copy_file_range. false with errno set. */
static bool copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return false;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = out >= 0;
    if (ok && ioctl(out, FICLONE, in) != 0) {
        struct stat st;
        ok = fstat(in, &st) == 0;
        off_t left = ok ? st.st_size : 0;
        while (ok && left > 0) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
            if (n < 0 && errno == EINTR)
                continue;
            ok = n > 0;
            left -= ok ? n : 0;
        }
    }
    int saved = errno;
    if (out >= 0 && close(out) != 0)
        ok = false;
    close(in);
    if (!ok) {
        unlink(to);
        errno = saved;
    }
    return ok;
}

/* Take the snapshot next to the warehouse; readers move to it. */
void web_snapshot_take(web_srv *s)
{
    const char *wh = s->o->run.w.warehouse;
    char snap[4300], wal[4400], snap_wal[4400];
    if (!wh || !fs_pathf(snap, sizeof snap, "%s.serve-snapshot", wh) ||
        !fs_pathf(wal, sizeof wal, "%s.wal", wh) ||
        !fs_pathf(snap_wal, sizeof snap_wal, "%s.wal", snap))
        return;
    unlink(snap_wal);
    if (!copy_file(wh, snap) || (access(wal, F_OK) == 0 && !copy_file(wal, snap_wal))) {
        bp_log(BP_LOG_WARN, "no snapshot of the warehouse for readers during the run (%s): "
                            "the pages answer 503 until it ends", strerror(errno));
        unlink(snap);
        return;
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->snap_path, sizeof s->snap_path, "%s", snap);
    s->snap_ready = true;
    pthread_mutex_unlock(&s->mu);
}

/* Readers back to the warehouse; the snapshot goes once nobody reads it. */
void web_snapshot_drop(web_srv *s)
{
    pthread_mutex_lock(&s->mu);
    bool had = s->snap_ready;
    s->snap_ready = false;
    pthread_mutex_unlock(&s->mu);
    if (!had)
        return;
    for (int i = 0; i < 600; i++) { /* the requests in flight end (30 s at most) */
        pthread_mutex_lock(&s->mu);
        int users = s->snap_users;
        if (!users && s->snap_ro) {
            wh_close(s->snap_ro);
            s->snap_ro = NULL;
        }
        pthread_mutex_unlock(&s->mu);
        if (!users)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char wal[4400];
    pthread_mutex_lock(&s->mu);
    if (fs_pathf(wal, sizeof wal, "%s.wal", s->snap_path))
        unlink(wal);
    unlink(s->snap_path);
    s->snap_path[0] = 0;
    pthread_mutex_unlock(&s->mu);
}
