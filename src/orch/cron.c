/* cron.c: cron expressions. */
#include "cron.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const mon_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

typedef struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[0] is value lo */
    int nnames;
} field_def;

static const field_def fields[5] = {
    {"minute", 0, 59, NULL, 0},     {"hour", 0, 23, NULL, 0},
    {"day of month", 1, 31, NULL, 0}, {"month", 1, 12, mon_names, 12},
    {"day of week", 0, 7, dow_names, 7},
};

/* A number or a name at *s; moves *s past it. */
static bool value(const field_def *f, const char **s, int *out)
{
    const char *p = *s;
    if (*p >= '0' && *p <= '9') {
        long v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000)
            v = v * 10 + (*p++ - '0');
        *out = (int)v;
        *s = p;
        return true;
    }
    for (int i = 0; i < f->nnames; i++)
        if (strncasecmp(p, f->names[i], 3) == 0) {
            *out = i + (f->lo == 1 ? 1 : 0);
            *s = p + 3;
            return true;
        }
    return false;
}

static bp_status bad(bp_err *err, const field_def *f, const char *text, const char *why)
{
    return bp_fail(err, BP_EINPUT, "bad cron expression '%s': %s field: %s", text, f->name, why);
}

/* One field: comma-separated items of *, N, N-M, each with an optional /S. */
static bp_status parse_field(const field_def *f, const char *tok, const char *text,
                             uint64_t *bits, bool *any, bp_err *err)
{
    *bits = 0;
    *any = strcmp(tok, "*") == 0 || strcmp(tok, "?") == 0;
    const char *s = tok;
    for (;;) {
        int lo, hi, step = 1;
        bool star = *s == '*';
        if (star) {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            s++;
        } else {
            if (!value(f, &s, &lo))
                return bad(err, f, text, "expected a number, a name or *");
            hi = lo;
            if (*s == '-') {
                s++;
                if (!value(f, &s, &hi))
                    return bad(err, f, text, "expected the end of a range");
            }
        }
        if (*s == '/') {
            s++;
            const char *d = s;
            if (!value(&fields[0], &s, &step) || step < 1 || s == d)
                return bad(err, f, text, "bad step");
            if (hi == lo && !star)
                hi = f->hi == 7 ? 6 : f->hi;
        }
        if (lo < f->lo || hi > f->hi || lo > hi) {
            char why[96];
            snprintf(why, sizeof why, "out of range (%d-%d)", f->lo, f->hi);
            return bad(err, f, text, why);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
        if (*s == 0)
            return BP_OK;
        if (*s != ',')
            return bad(err, f, text, "unexpected character");
        s++;
    }
}

static const char *macro(const char *t)
{
    static const char *const m[][2] = {
        {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcasecmp(t, m[i][0]) == 0)
            return m[i][1];
    return NULL;
}

bp_status cron_parse(const char *text, cron_spec *out, bp_err *err)
{
    memset(out, 0, sizeof *out);
    const char *src = text;
    while (*src == ' ' || *src == '\t')
        src++;
    if (*src == '@') {
        src = macro(src);
        if (!src)
            return bp_fail(err, BP_EINPUT, "bad cron expression '%s': unknown macro (use "
                           "@hourly, @daily, @weekly, @monthly or @yearly)", text);
    }
    char copy[256];
    if (strlen(src) >= sizeof copy)
        return bp_fail(err, BP_EINPUT, "bad cron expression: too long");
    snprintf(copy, sizeof copy, "%s", src);
    char *save = NULL, *tok[6];
    int n = 0;
    for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n < 6)
            tok[n++] = t;
        else
            n = 7;
    if (n != 5)
        return bp_fail(err, BP_EINPUT, "bad cron expression '%s': expected 5 fields "
                       "(minute hour day-of-month month day-of-week)", text);
    uint64_t bits[5];
    bool any[5];
    for (int i = 0; i < 5; i++) {
        bp_status st = parse_field(&fields[i], tok[i], text, &bits[i], &any[i], err);
        if (st != BP_OK)
            return st;
    }
    out->min = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->mon = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    out->dom_any = any[2];
    out->dow_any = any[4];
    return BP_OK;
}

static bool day_ok(const cron_spec *c, const struct tm *tm)
{
    bool d = c->dom >> tm->tm_mday & 1, w = c->dow >> tm->tm_wday & 1;
    if (c->dom_any || c->dow_any)
        return d && w;
    return d || w;
}

time_t cron_next(const cron_spec *c, time_t after)
{
    struct tm tm;
    time_t t = after - after % 60 + 60;
    localtime_r(&t, &tm);
    tm.tm_sec = 0;
    for (int guard = 0; guard < 8 * 366 * 24 * 60; guard++) {
        if (!(c->mon >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++, tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!day_ok(c, &tm)) {
            tm.tm_mday++, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!(c->hour >> tm.tm_hour & 1)) {
            tm.tm_hour++, tm.tm_min = 0;
        } else if (!(c->min >> tm.tm_min & 1)) {
            tm.tm_min++;
        } else {
            tm.tm_isdst = -1;
            time_t r = mktime(&tm);
            if (r > after)
                return r;
            tm.tm_min++;
        }
        tm.tm_isdst = -1;
        time_t norm = mktime(&tm); /* carries overflowed fields */
        localtime_r(&norm, &tm);
    }
    return -1;
}

static pthread_once_t g_clock_once = PTHREAD_ONCE_INIT;
static time_t g_clock_shift;

static void clock_init(void)
{
    const char *e = getenv("BOOKPIPE_CLOCK");
    char *end;
    long long start = e && *e ? strtoll(e, &end, 10) : 0;
    if (e && *e && *end == 0 && start > 0)
        g_clock_shift = (time_t)start - time(NULL);
}

time_t cron_now(void)
{
    pthread_once(&g_clock_once, clock_init);
    return time(NULL) + g_clock_shift;
}
