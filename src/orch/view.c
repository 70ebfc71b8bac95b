/* view.c: what a run shows while it goes: a live board on a terminal, one
 * line per event otherwise, JSON events for machines; a summary at the end. */
#include "orch_int.h"
#include "../core/log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static int drawn;          /* lines of the live board on screen */
static double last_draw;

/* One JSON event per line on stdout; takes j. */
static void emit(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
    fflush(stdout);
}

/* The event to whoever embeds the run (o->on_event); keeps j. */
static void tell(const orch_opts *o, json_t *j)
{
    if (!o->on_event || !j)
        return;
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        o->on_event(o->event_ctx, s);
    free(s);
}

static double elapsed(const blk *k)
{
    if (k->started <= 0)
        return 0;
    return (k->state == BS_DONE && k->ended > 0 ? k->ended : orch_now()) - k->started;
}

static void clock_text(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%H:%M:%S", &tm);
}

/* The run and its blocks (name, type, upstream, whether it runs) */
static json_t *run_started(orun *r)
{
    const orch_opts *o = r->o;
    json_t *blocks = json_array();
    for (int i = 0; blocks && i < r->p.n; i++) {
        const pl_block *b = r->blk[i].b;
        json_t *up = json_array();
        for (int k = 0; up && k < b->nup; k++)
            json_array_append_new(up, json_string(b->upstream[k]));
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:o, s:b}", "name", b->name, "type",
                                                pl_type_name(b->type), "upstream",
                                                up ? up : json_array(), "selected",
                                                r->blk[i].state != BS_OUT));
    }
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:o}", "event", "run_started", "run_id",
                     (json_int_t)r->run_id, "pipeline", r->p.name, "target", o->target,
                     "trigger", o->trigger ? o->trigger : "cli", "blocks",
                     blocks ? blocks : json_array());
}

void view_start(orun *r)
{
    drawn = 0;
    last_draw = 0;
    const orch_opts *o = r->o;
    if (o->on_event) {
        json_t *j = run_started(r);
        tell(o, j);
        json_decref(j);
    }
    if (o->view == VIEW_QUIET)
        return;
    if (o->view == VIEW_JSON) {
        emit(json_pack("{s:s, s:I, s:s, s:s, s:s}", "event", "run_started", "run_id",
                       (json_int_t)r->run_id, "pipeline", r->p.name, "target", o->target,
                       "trigger", o->trigger));
        return;
    }
    int n = 0;
    for (int i = 0; i < r->p.n; i++)
        n += r->blk[i].state != BS_OUT;
    printf("run %lld of pipeline %s (%s): %d block%s, target %s\n", (long long)r->run_id,
           r->p.name, r->p.file, n, n == 1 ? "" : "s", o->target);
    fflush(stdout);
}

static json_t *block_event(orun *r, blk *k)
{
    json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:s, s:i, s:f}", "event", "block", "run_id",
                          (json_int_t)r->run_id, "block", k->b->name, "type",
                          pl_type_name(k->b->type), "status", k->status, "attempt", k->attempt,
                          "elapsed", elapsed(k));
    if (!j)
        return NULL;
    if (k->rows_in >= 0)
        json_object_set_new(j, "rows_in", json_integer(k->rows_in));
    if (k->rows_out >= 0)
        json_object_set_new(j, "rows_out", json_integer(k->rows_out));
    if (k->note[0])
        json_object_set_new(j, "note", json_string(k->note));
    if (k->error[0] && strcmp(k->status, "running") != 0)
        json_object_set_new(j, "error", json_string(k->error));
    return j;
}

/* For an embedding view: the last 4 KiB of each running block's log, once
 * a second (lock held; the block's stream is flushed through stdio's own
 * lock, the bytes read with pread). */
static void log_tails(orun *r)
{
    static double last;
    double now = orch_now();
    if (now - last < 1.0)
        return;
    last = now;
    for (int i = 0; i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (k->state != BS_RUNNING || !k->live_log || fflush(k->live_log) != 0)
            continue;
        int fd = fileno(k->live_log);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0)
            continue;
        char tail[4097];
        off_t from = st.st_size > 4096 ? st.st_size - 4096 : 0;
        ssize_t n = pread(fd, tail, (size_t)(st.st_size - from), from);
        if (n < 0)
            continue;
        tail[n] = 0;
        json_t *j = json_pack("{s:s, s:I, s:s, s:s}", "event", "log", "run_id",
                              (json_int_t)r->run_id, "block", k->b->name, "tail", tail);
        if (!j) /* not UTF-8 at the cut: from the next line on */
            j = json_pack("{s:s, s:I, s:s, s:s}", "event", "log", "run_id", (json_int_t)r->run_id,
                          "block", k->b->name, "tail", strchr(tail, '\n') ? strchr(tail, '\n') + 1 : "");
        tell(r->o, j);
        json_decref(j);
    }
}

void view_event(orun *r, blk *k)
{
    const orch_opts *o = r->o;
    if (o->on_event) {
        json_t *j = block_event(r, k);
        /* an embedding view also gets the block's log once it is done */
        if (j && k->state == BS_DONE && k->log) {
            size_t n = strlen(k->log);
            json_object_set_new(j, "log", json_string(n > 16384 ? k->log + n - 16384 : k->log));
        }
        tell(o, j);
        json_decref(j);
    }
    if (o->view == VIEW_JSON) {
        emit(block_event(r, k));
        return;
    }
    if (o->view != VIEW_PLAIN)
        return;
    char ts[16];
    clock_text(ts, sizeof ts);
    printf("%s  %-20s %s", ts, k->b->name, k->status);
    if (!strcmp(k->status, "running"))
        printf(" (attempt %d of %d)", k->attempt, k->b->retries + 1);
    else if (!strcmp(k->status, "completed"))
        printf(" in %.2f s", elapsed(k));
    if (k->note[0])
        printf(": %s", k->note);
    if (!strcmp(k->status, "failed") && k->error[0])
        printf(": %s", k->error);
    putchar('\n');
    fflush(stdout);
}

static const char *mark(const blk *k)
{
    const char *s = k->status;
    return !strcmp(s, "completed") ? "\033[32m✓\033[0m"
         : !strcmp(s, "failed") || !strcmp(s, "upstream_failed") ? "\033[31m✗\033[0m"
         : !strcmp(s, "running") ? "\033[33m▶\033[0m"
         : !strcmp(s, "skipped") || !strcmp(s, "condition_failed") ? "\033[36m–\033[0m"
         : !strcmp(s, "cancelled") ? "\033[31m■\033[0m" : " ";
}

static void bar(const blk *k, char *out, size_t n)
{
    out[0] = 0;
    if (k->state != BS_RUNNING || !k->prog_total)
        return;
    unsigned long long d = k->prog_done;
    double f = (double)d / (double)k->prog_total;
    f = f > 1 ? 1 : f;
    char b[32];
    int w = 20, full = (int)(f * w);
    for (int i = 0; i < w; i++)
        b[i] = i < full ? '#' : '.';
    b[w] = 0;
    snprintf(out, n, " [%s] %3.0f%% of %.1f MB", b, f * 100, (double)k->prog_total / 1e6);
}

void view_tick(orun *r)
{
    if (r->o->on_event)
        log_tails(r);
    if (r->o->view != VIEW_TTY)
        return;
    double now = orch_now();
    bool done = true;
    for (int i = 0; i < r->p.n; i++)
        done &= r->blk[i].state == BS_OUT || r->blk[i].state == BS_DONE;
    if (!done && now - last_draw < 0.1)
        return;
    last_draw = now;
    if (drawn)
        fprintf(stderr, "\033[%dA", drawn);
    drawn = 0;
    for (int i = 0; i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (k->state == BS_OUT)
            continue;
        char b[96];
        bar(k, b, sizeof b);
        char t[32] = "";
        if (k->started > 0)
            snprintf(t, sizeof t, "%6.1f s", elapsed(k));
        fprintf(stderr, "\033[2K  %s %-20s %-16s %8s%s%s%s\n", mark(k), k->b->name, k->status,
                t, b, k->note[0] ? "  " : "", k->note);
        drawn++;
    }
    fflush(stderr);
}

static void rows_text(int64_t v, char *out, size_t n)
{
    if (v < 0)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%lld", (long long)v);
}

void view_end(orun *r, const orch_result *res)
{
    const orch_opts *o = r->o;
    double total = orch_now() - r->t0;
    if (o->on_event) {
        json_t *j = json_pack("{s:s, s:I, s:s, s:f}", "event", "run_ended", "run_id",
                              (json_int_t)r->run_id, "status", res->status, "elapsed", total);
        tell(o, j);
        json_decref(j);
    }
    if (o->view == VIEW_JSON) {
        emit(json_pack("{s:s, s:I, s:s, s:f, s:i, s:i, s:i, s:i}", "event", "run_ended",
                       "run_id", (json_int_t)r->run_id, "status", res->status, "elapsed", total,
                       "completed", res->completed, "skipped", res->skipped, "failed",
                       res->failed, "not_run", res->not_run));
        return;
    }
    if (o->view != VIEW_QUIET) {
        printf("run %lld %s in %.2f s: %d completed, %d skipped, %d failed, %d not run\n",
               (long long)r->run_id, res->status, total, res->completed, res->skipped,
               res->failed, res->not_run);
        printf("  %-20s %-17s %10s %12s %12s\n", "block", "status", "duration", "rows in",
               "rows out");
        for (int i = 0; i < r->p.n; i++) {
            blk *k = &r->blk[i];
            if (k->state == BS_OUT)
                continue;
            char in[32], out[32], d[32] = "-";
            rows_text(k->rows_in, in, sizeof in);
            rows_text(k->rows_out, out, sizeof out);
            if (k->started > 0)
                snprintf(d, sizeof d, "%.2f s", elapsed(k));
            printf("  %-20s %-17s %10s %12s %12s\n", k->b->name, k->status, d, in, out);
        }
    }
    fflush(stdout); /* the summary above, before the errors below */
    if (!strcmp(res->status, "cancelled"))
        bp_log(BP_LOG_ERROR, "run %lld cancelled (interrupted): blocks that did not finish "
               "changed nothing; the warehouse and lake keep their last complete state",
               (long long)r->run_id);
    for (int i = 0; i < r->p.n; i++) {
        blk *k = &r->blk[i];
        if (k->state == BS_OUT || !k->error[0])
            continue;
        if (!strcmp(k->status, "failed"))
            bp_log(BP_LOG_ERROR, "block %s failed: %s (log: bookpipe logs %lld %s)", k->b->name,
                   k->error, (long long)r->run_id, k->b->name);
        else if (!strcmp(k->status, "cancelled"))
            bp_log(BP_LOG_ERROR, "block %s cancelled: %s", k->b->name, k->error);
    }
    fflush(stdout);
}
