/* modules.c: dbt's `modules`: the parts of Python's datetime and re that
 * dbt projects call (modules.datetime.datetime.now(), .strftime(),
 * modules.re.match/search/sub/findall/split/compile), and run_started_at.
 *
 * Regular expressions are Python's syntax, run by core/regex.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../core/regex.h"
#include "dbt_int.h"
#include "modules.h"

#define RA(rt) jinja_rt_arena(rt)

static bp_status ret(jinja_rt *rt, jv **out, jv *v)
{
    *out = v;
    return v ? BP_OK : jinja_fail(rt, "out of memory");
}

static long long arg_int(const jv_args *a, size_t i, const char *kw, long long dflt)
{
    const jv *v = jinja_arg(a, i, kw);
    if (!v)
        return dflt;
    if (v->type == JV_INT)
        return v->u.i;
    if (v->type == JV_FLOAT)
        return (long long)v->u.f;
    if (v->type == JV_BOOL)
        return v->u.b;
    return dflt;
}

static const char *arg_str(const jv_args *a, size_t i, const char *kw)
{
    const jv *v = jinja_arg(a, i, kw);
    return v && v->type == JV_STR ? v->u.s.p : NULL;
}

/* ---- datetime ------------------------------------------------------------------------- */

typedef struct {
    long long secs;   /* since 1970-01-01 00:00:00 (UTC or naive) */
    int us;
    bool date_only;   /* a date, not a datetime */
    bool utc;         /* tzinfo is UTC */
} dtobj;

typedef struct {
    long long us;     /* the whole delta in microseconds */
} tdobj;

static const jv_obj_ops dt_ops, td_ops;

static jv *dt_new(arena *a, long long secs, int us, bool date_only, bool utc)
{
    dtobj *d = arena_alloc(a, sizeof *d);
    if (!d)
        return NULL;
    d->secs = date_only ? secs - (((secs % 86400) + 86400) % 86400) : secs;
    d->us = date_only ? 0 : us;
    d->date_only = date_only;
    d->utc = utc;
    return jv_obj(a, &dt_ops, d);
}

static jv *td_new(arena *a, long long us)
{
    tdobj *t = arena_alloc(a, sizeof *t);
    if (!t)
        return NULL;
    t->us = us;
    return jv_obj(a, &td_ops, t);
}

static void to_tm(const dtobj *d, struct tm *tm)
{
    time_t t = (time_t)d->secs;
    gmtime_r(&t, tm);
}

static long long from_parts(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (long long)timegm(&tm);
}

jv *dbt_mod_now(arena *a, bool utc)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long secs = tv.tv_sec;
    if (!utc) {
        struct tm lt;
        time_t t = tv.tv_sec;
        localtime_r(&t, &lt);
        secs = from_parts(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min,
                          lt.tm_sec);
    }
    return dt_new(a, secs, (int)tv.tv_usec, false, utc);
}

/* str(): 2024-01-31 10:00:00[.000123][+00:00], or 2024-01-31 */
static bp_status dt_text(const dtobj *d, char sep, buf *out)
{
    struct tm tm;
    to_tm(d, &tm);
    if (d->date_only)
        return buf_printf(out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    bp_status st = buf_printf(out, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, sep, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (st == BP_OK && d->us)
        st = buf_printf(out, ".%06d", d->us);
    if (st == BP_OK && d->utc)
        st = buf_adds(out, "+00:00");
    return st;
}

static bp_status dt_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    return dt_text(self, ' ', out);
}

static bool dt_eq(const void *self, const jv *other)
{
    const dtobj *a = self;
    if (other->type != JV_OBJ || other->u.obj.ops != &dt_ops)
        return false;
    const dtobj *b = other->u.obj.self;
    return a->secs == b->secs && a->us == b->us && a->date_only == b->date_only;
}

static bp_status m_strftime(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const dtobj *d = data;
    const char *fmt = arg_str(a, 0, "format");
    if (!fmt)
        return jinja_fail(rt, "strftime() takes a format string");
    struct tm tm;
    to_tm(d, &tm);
    buf f = {0};
    bool oom = false;
    /* %f (microseconds) and %z/%Z are Python's; the C library has no %f */
    for (const char *p = fmt; *p && !oom; p++) {
        if (p[0] == '%' && p[1] == 'f') {
            oom = buf_printf(&f, "%06d", d->us);
            p++;
        } else if (p[0] == '%' && (p[1] == 'z' || p[1] == 'Z')) {
            oom = buf_adds(&f, d->utc ? (p[1] == 'z' ? "+0000" : "UTC") : "");
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            oom = buf_adds(&f, "%%");
            p++;
        } else {
            oom = buf_addc(&f, *p);
        }
    }
    char tmp[1024];
    size_t n = !oom && f.p ? strftime(tmp, sizeof tmp, f.p, &tm) : 0;
    *out = oom ? NULL : jv_str(RA(rt), tmp, n);
    buf_free(&f);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static bp_status m_isoformat(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const char *sep = arg_str(a, 0, "sep");
    buf b = {0};
    dt_text(data, sep && *sep ? *sep : 'T', &b);
    *out = jv_str(RA(rt), b.p ? b.p : "", b.len);
    buf_free(&b);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

static bp_status m_date(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    const dtobj *d = data;
    return ret(rt, out, dt_new(RA(rt), d->secs, 0, true, false));
}

static bp_status m_replace(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const dtobj *d = data;
    struct tm tm;
    to_tm(d, &tm);
    int y = (int)arg_int(a, (size_t)-1, "year", tm.tm_year + 1900);
    int mo = (int)arg_int(a, (size_t)-1, "month", tm.tm_mon + 1);
    int dd = (int)arg_int(a, (size_t)-1, "day", tm.tm_mday);
    int h = (int)arg_int(a, (size_t)-1, "hour", tm.tm_hour);
    int mi = (int)arg_int(a, (size_t)-1, "minute", tm.tm_min);
    int s = (int)arg_int(a, (size_t)-1, "second", tm.tm_sec);
    int us = (int)arg_int(a, (size_t)-1, "microsecond", d->us);
    const jv *tz = jinja_arg(a, (size_t)-1, "tzinfo");
    bool utc = tz ? tz->type != JV_NONE : d->utc;
    return ret(rt, out, dt_new(RA(rt), from_parts(y, mo, dd, h, mi, s), us, d->date_only, utc));
}

static bp_status m_weekday(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    struct tm tm;
    to_tm(data, &tm);
    return ret(rt, out, jv_int(RA(rt), (tm.tm_wday + 6) % 7));
}

static bp_status m_isoweekday(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    struct tm tm;
    to_tm(data, &tm);
    return ret(rt, out, jv_int(RA(rt), tm.tm_wday ? tm.tm_wday : 7));
}

static bp_status m_timestamp(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    const dtobj *d = data;
    return ret(rt, out, jv_float(RA(rt), (double)d->secs + d->us / 1e6));
}

static bp_status m_astimezone(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    const dtobj *d = data;
    return ret(rt, out, dt_new(RA(rt), d->secs, d->us, d->date_only, true));
}

static jv *dt_getattr(jinja_rt *rt, void *self, const char *name)
{
    dtobj *d = self;
    arena *a = RA(rt);
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"strftime", m_strftime}, {"isoformat", m_isoformat}, {"date", m_date},
             {"replace", m_replace}, {"weekday", m_weekday}, {"isoweekday", m_isoweekday},
             {"timestamp", m_timestamp}, {"astimezone", m_astimezone}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(a, m[i].name, m[i].fn, d);
    struct tm tm;
    to_tm(d, &tm);
    const struct {
        const char *name;
        long long v;
    } f[] = {{"year", tm.tm_year + 1900}, {"month", tm.tm_mon + 1}, {"day", tm.tm_mday},
             {"hour", tm.tm_hour}, {"minute", tm.tm_min}, {"second", tm.tm_sec},
             {"microsecond", d->us}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcmp(name, f[i].name))
            return jv_int(a, f[i].v);
    if (!strcmp(name, "tzinfo"))
        return d->utc ? jv_strz(a, "UTC") : jv_none(a);
    return NULL;
}

static bool is_dt(const jv *v, const jv_obj_ops *ops) { return v->type == JV_OBJ && v->u.obj.ops == ops; }
static bool dt_binop(jinja_rt *rt, jv_op op, const jv *a, const jv *b, jv **out, bp_status *st);
static const jv_obj_ops dt_ops = {"datetime", dt_getattr, NULL, NULL, dt_str, dt_eq, NULL, 0,
                                  dt_binop};

static bp_status td_total(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    return ret(rt, out, jv_float(RA(rt), (double)((tdobj *)data)->us / 1e6));
}

static jv *td_getattr(jinja_rt *rt, void *self, const char *name)
{
    tdobj *t = self;
    arena *a = RA(rt);
    long long days = t->us / 86400000000LL;
    if (t->us < 0 && t->us % 86400000000LL)
        days--;
    long long rest = t->us - days * 86400000000LL;
    if (!strcmp(name, "days"))
        return jv_int(a, days);
    if (!strcmp(name, "seconds"))
        return jv_int(a, rest / 1000000);
    if (!strcmp(name, "microseconds"))
        return jv_int(a, rest % 1000000);
    if (!strcmp(name, "total_seconds"))
        return jv_func(a, "total_seconds", td_total, t);
    return NULL;
}

static bp_status td_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    tdobj *t = self;
    long long days = t->us / 86400000000LL, rest = t->us % 86400000000LL;
    if (rest < 0) {
        days--;
        rest += 86400000000LL;
    }
    long long s = rest / 1000000;
    if ((days && buf_printf(out, "%lld day%s, ", days, days == 1 || days == -1 ? "" : "s")) ||
        buf_printf(out, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60))
        return BP_ENOMEM;
    return rest % 1000000 ? buf_printf(out, ".%06lld", rest % 1000000) : BP_OK;
}

static const jv_obj_ops td_ops = {"timedelta", td_getattr, NULL, NULL, td_str, NULL, NULL, 0,
                                  dt_binop};

static long long us_of(const dtobj *d) { return d->secs * 1000000LL + d->us; }

/* date and datetime arithmetic as Python's: date +/- timedelta, date - date
 * (a timedelta), timedelta +/- timedelta, timedelta * number, comparisons */
static bool dt_binop(jinja_rt *rt, jv_op op, const jv *a, const jv *b, jv **out, bp_status *st)
{
    arena *ar = RA(rt);
    bool ad = is_dt(a, &dt_ops), bd = is_dt(b, &dt_ops), at = is_dt(a, &td_ops),
         bt = is_dt(b, &td_ops);
    jv *r = NULL;
    if (op >= JV_OP_LT && ((ad && bd) || (at && bt))) {
        long long x = ad ? us_of(a->u.obj.self) : ((tdobj *)a->u.obj.self)->us;
        long long y = bd ? us_of(b->u.obj.self) : ((tdobj *)b->u.obj.self)->us;
        bool v = op == JV_OP_LT ? x < y : op == JV_OP_LE ? x <= y : op == JV_OP_GT ? x > y : x >= y;
        r = jv_bool(ar, v);
    } else if ((op == JV_OP_ADD || op == JV_OP_SUB) && ad && bt) {
        const dtobj *d = a->u.obj.self;
        long long us = us_of(d) + (op == JV_OP_ADD ? 1 : -1) * ((tdobj *)b->u.obj.self)->us;
        long long secs = us / 1000000LL, rem = us % 1000000LL;
        if (rem < 0) {
            secs--;
            rem += 1000000LL;
        }
        r = dt_new(ar, secs, (int)rem, d->date_only, d->utc);
    } else if (op == JV_OP_ADD && at && bd) {
        return dt_binop(rt, op, b, a, out, st);
    } else if (op == JV_OP_SUB && ad && bd) {
        r = td_new(ar, us_of(a->u.obj.self) - us_of(b->u.obj.self));
    } else if ((op == JV_OP_ADD || op == JV_OP_SUB) && at && bt) {
        long long x = ((tdobj *)a->u.obj.self)->us, y = ((tdobj *)b->u.obj.self)->us;
        r = td_new(ar, op == JV_OP_ADD ? x + y : x - y);
    } else if (op == JV_OP_MUL && at && (b->type == JV_INT || b->type == JV_FLOAT)) {
        double k = b->type == JV_INT ? (double)b->u.i : b->u.f;
        r = td_new(ar, (long long)((double)((tdobj *)a->u.obj.self)->us * k));
    } else if (op == JV_OP_MUL && bt && (a->type == JV_INT || a->type == JV_FLOAT)) {
        return dt_binop(rt, op, b, a, out, st);
    } else {
        return false;
    }
    *out = r;
    *st = r ? BP_OK : jinja_fail(rt, "out of memory");
    return true;
}

/* Parse ISO text: 2024-01-31, 2024-01-31T10:00:00[.123][Z|+00:00] */
static bool parse_iso(const char *s, long long *secs, int *us, bool *date_only, bool *utc)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return false;
    const char *p = s + n;
    *us = 0;
    *utc = false;
    *date_only = !*p;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2)
            return false;
        p += 1 + k;
        if (*p == ':' && sscanf(p + 1, "%2d%n", &sec, &k) == 1)
            p += 1 + k;
        if (*p == '.') {
            int digits = 0, v = 0;
            for (p++; isdigit((unsigned char)*p); p++)
                if (digits++ < 6)
                    v = v * 10 + (*p - '0');
            while (digits++ < 6)
                v *= 10;
            *us = v;
        }
        if (*p == 'Z' || !strncmp(p, "+00:00", 6) || !strncmp(p, "+00", 3))
            *utc = true;
    } else if (*p) {
        return false;
    }
    *secs = from_parts(y, mo, d, h, mi, sec);
    return true;
}

/* the classes: datetime, date, timedelta */
typedef enum { CLS_DATETIME, CLS_DATE, CLS_TIMEDELTA } cls_kind;

static const jv_obj_ops cls_ops;
static const cls_kind cls_dt = CLS_DATETIME, cls_date = CLS_DATE, cls_td = CLS_TIMEDELTA;

static bp_status cls_call(jinja_rt *rt, void *self, const jv_args *a, jv **out)
{
    cls_kind k = *(const cls_kind *)self;
    if (k == CLS_TIMEDELTA) {
        double us = 0;
        static const struct {
            const char *name;
            double mul;
        } u[] = {{"days", 86400e6}, {"seconds", 1e6}, {"microseconds", 1},
                 {"milliseconds", 1e3}, {"minutes", 60e6}, {"hours", 3600e6}, {"weeks", 604800e6}};
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
            const jv *v = jinja_arg(a, i < 3 ? i : (size_t)-1, u[i].name);
            if (v && (v->type == JV_INT || v->type == JV_FLOAT))
                us += (v->type == JV_INT ? (double)v->u.i : v->u.f) * u[i].mul;
        }
        return ret(rt, out, td_new(RA(rt), (long long)us));
    }
    int y = (int)arg_int(a, 0, "year", 1970), mo = (int)arg_int(a, 1, "month", 1),
        d = (int)arg_int(a, 2, "day", 1);
    if (k == CLS_DATE)
        return ret(rt, out, dt_new(RA(rt), from_parts(y, mo, d, 0, 0, 0), 0, true, false));
    int h = (int)arg_int(a, 3, "hour", 0), mi = (int)arg_int(a, 4, "minute", 0),
        s = (int)arg_int(a, 5, "second", 0), us = (int)arg_int(a, 6, "microsecond", 0);
    const jv *tz = jinja_arg(a, 7, "tzinfo");
    return ret(rt, out, dt_new(RA(rt), from_parts(y, mo, d, h, mi, s), us, false,
                               tz && tz->type != JV_NONE));
}

static bp_status c_now(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const cls_kind k = *(const cls_kind *)data;
    const jv *tz = jinja_arg(a, 0, "tz");
    jv *v = dbt_mod_now(RA(rt), tz && tz->type != JV_NONE);
    if (v && k == CLS_DATE)
        v = dt_new(RA(rt), ((dtobj *)v->u.obj.self)->secs, 0, true, false);
    return ret(rt, out, v);
}

static bp_status c_utcnow(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    (void)a;
    jv *v = dbt_mod_now(RA(rt), true);
    if (v)
        ((dtobj *)v->u.obj.self)->utc = false; /* utcnow() is naive */
    return ret(rt, out, v);
}

static bp_status c_fromiso(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    const cls_kind k = *(const cls_kind *)data;
    const char *s = arg_str(a, 0, "date_string");
    long long secs;
    int us;
    bool date_only, utc;
    if (!s || !parse_iso(s, &secs, &us, &date_only, &utc))
        return jinja_fail(rt, "Invalid isoformat string: '%s'", s ? s : "");
    return ret(rt, out, dt_new(RA(rt), secs, us, k == CLS_DATE, utc));
}

static bp_status c_strptime(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const char *s = arg_str(a, 0, "date_string"), *fmt = arg_str(a, 1, "format");
    if (!s || !fmt)
        return jinja_fail(rt, "strptime() takes a string and a format");
    struct tm tm = {0};
    tm.tm_mday = 1;
    const char *end = strptime(s, fmt, &tm);
    if (!end || *end)
        return jinja_fail(rt, "time data '%s' does not match format '%s'", s, fmt);
    return ret(rt, out, dt_new(RA(rt), (long long)timegm(&tm), 0, false, false));
}

static bp_status c_fromtimestamp(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    const jv *v = jinja_arg(a, 0, "timestamp");
    double t = v && v->type == JV_INT ? (double)v->u.i : v && v->type == JV_FLOAT ? v->u.f : 0;
    return ret(rt, out, dt_new(RA(rt), (long long)t, (int)((t - (long long)t) * 1e6), false,
                               false));
}

static jv *cls_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"now", c_now}, {"today", c_now}, {"utcnow", c_utcnow},
             {"fromisoformat", c_fromiso}, {"strptime", c_strptime},
             {"fromtimestamp", c_fromtimestamp}};
    if (*(const cls_kind *)self == CLS_TIMEDELTA)
        return NULL;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    return NULL;
}

static const jv_obj_ops cls_ops = {"type", cls_getattr, NULL, cls_call, NULL, NULL, NULL, 0, NULL};

/* ---- re ----------------------------------------------------------------------------------- */

typedef struct {
    const char *s;            /* the subject (render arena) */
    size_t len;
    size_t so[100], eo[100];
    int ngroups;
    const char **names;       /* group names (render arena) */
} matchobj;

static const jv_obj_ops match_ops;

static jv *group_value(arena *a, const matchobj *m, int g)
{
    if (g < 0 || g > m->ngroups || m->so[g] == (size_t)-1)
        return jv_none(a);
    return jv_str(a, m->s + m->so[g], m->eo[g] - m->so[g]);
}

static int group_index(const matchobj *m, const jv *v)
{
    if (!v)
        return 0;
    if (v->type == JV_INT)
        return (int)v->u.i;
    if (v->type == JV_STR)
        for (int g = 1; g <= m->ngroups; g++)
            if (m->names[g] && !strcmp(m->names[g], v->u.s.p))
                return g;
    return -1;
}

static bp_status mm_group(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    matchobj *m = data;
    if (a->npos <= 1) {
        int g = group_index(m, jinja_arg(a, 0, NULL));
        if (g < 0 || g > m->ngroups)
            return jinja_fail(rt, "no such group");
        return ret(rt, out, group_value(RA(rt), m, g));
    }
    jv *l = jv_list(RA(rt), a->npos);
    if (l)
        l->tuple = true;
    for (size_t i = 0; l && i < a->npos; i++)
        if (!jv_list_push(RA(rt), l, group_value(RA(rt), m, group_index(m, a->pos[i]))))
            l = NULL;
    return ret(rt, out, l);
}

static bp_status mm_groups(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    matchobj *m = data;
    const jv *dflt = jinja_arg(a, 0, "default");
    jv *l = jv_list(RA(rt), (size_t)m->ngroups);
    if (l)
        l->tuple = true;
    for (int g = 1; l && g <= m->ngroups; g++) {
        jv *v = group_value(RA(rt), m, g);
        if (v && v->type == JV_NONE && dflt)
            v = (jv *)dflt;
        if (!jv_list_push(RA(rt), l, v))
            l = NULL;
    }
    return ret(rt, out, l);
}

static bp_status mm_groupdict(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)a;
    matchobj *m = data;
    jv *d = jv_dict_new(RA(rt));
    for (int g = 1; d && g <= m->ngroups; g++)
        if (m->names[g] && !jv_dict_set(RA(rt), d, m->names[g], group_value(RA(rt), m, g)))
            d = NULL;
    return ret(rt, out, d);
}

static bp_status mm_pos(jinja_rt *rt, matchobj *m, const jv_args *a, int which, jv **out)
{
    int g = group_index(m, jinja_arg(a, 0, NULL));
    if (g < 0 || g > m->ngroups)
        return jinja_fail(rt, "no such group");
    arena *ar = RA(rt);
    long long so = m->so[g] == (size_t)-1 ? -1 : (long long)m->so[g];
    long long eo = m->eo[g] == (size_t)-1 ? -1 : (long long)m->eo[g];
    if (which < 2)
        return ret(rt, out, jv_int(ar, which == 0 ? so : eo));
    jv *l = jv_list(ar, 2);
    if (l) {
        l->tuple = true;
        if (!jv_list_push(ar, l, jv_int(ar, so)) || !jv_list_push(ar, l, jv_int(ar, eo)))
            l = NULL;
    }
    return ret(rt, out, l);
}
static bp_status mm_start(jinja_rt *rt, void *d, const jv_args *a, jv **out) { return mm_pos(rt, d, a, 0, out); }
static bp_status mm_end(jinja_rt *rt, void *d, const jv_args *a, jv **out) { return mm_pos(rt, d, a, 1, out); }
static bp_status mm_span(jinja_rt *rt, void *d, const jv_args *a, jv **out) { return mm_pos(rt, d, a, 2, out); }

static jv *match_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"group", mm_group}, {"groups", mm_groups}, {"groupdict", mm_groupdict},
             {"start", mm_start}, {"end", mm_end}, {"span", mm_span}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    if (!strcmp(name, "string"))
        return jv_str(RA(rt), ((matchobj *)self)->s, ((matchobj *)self)->len);
    return NULL;
}

static jv *match_getitem(jinja_rt *rt, void *self, const jv *key)
{
    matchobj *m = self;
    return group_value(RA(rt), m, group_index(m, key));
}

static bp_status match_str(jinja_rt *rt, void *self, buf *out)
{
    (void)rt;
    matchobj *m = self;
    return buf_printf(out, "<re.Match object; span=(%zu, %zu), match='%.*s'>", m->so[0], m->eo[0],
                      (int)(m->eo[0] - m->so[0]), m->s + m->so[0]);
}

static const jv_obj_ops match_ops = {"Match", match_getattr, match_getitem, NULL, match_str,
                                     NULL, NULL, 0, NULL};

/* A compiled pattern keeps its text and flags; each call compiles anew. */
typedef struct {
    const char *pattern;
    int flags;
} patobj;

typedef enum { OP_MATCH, OP_SEARCH, OP_FULLMATCH, OP_SUB, OP_FINDALL, OP_SPLIT, OP_FINDITER } re_op;

static bp_status subject(jinja_rt *rt, const jv *v, const char **s)
{
    if (!v || v->type != JV_STR)
        return jinja_fail(rt, "expected string or bytes-like object");
    *s = v->u.s.p;
    return BP_OK;
}

static rx *compile_or_fail(jinja_rt *rt, const char *pat, int flags)
{
    char msg[256];
    rx *r = rx_compile(pat, flags, msg, sizeof msg);
    if (!r)
        jinja_fail(rt, "regular expression '%s': %s", pat, msg);
    return r;
}

/* A match object for the last rx_exec (names copied into the render). */
static jv *new_match(jinja_rt *rt, const rx *r, const char *subj, size_t len, const size_t *so,
                     const size_t *eo)
{
    arena *ar = RA(rt);
    matchobj *m = arena_alloc(ar, sizeof *m);
    const char **names = arena_alloc(ar, 101 * sizeof *names);
    if (!m || !names)
        return NULL;
    m->s = subj;
    m->len = len;
    m->ngroups = rx_ngroups(r);
    m->names = names;
    for (int g = 0; g <= m->ngroups; g++) {
        m->so[g] = so[g];
        m->eo[g] = eo[g];
        const char *nm = rx_group_name(r, g);
        names[g] = nm ? arena_strndup(ar, nm, strlen(nm)) : NULL;
    }
    return jv_obj(ar, &match_ops, m);
}

/* Expand \1, \g<1>, \g<name> in a replacement. */
static bp_status expand_repl(const char *repl, const rx *r, const char *s, const size_t *so,
                             const size_t *eo, buf *out)
{
    int ng = rx_ngroups(r);
    for (const char *p = repl; *p; p++) {
        if (*p != '\\' || !p[1]) {
            if (buf_addc(out, *p))
                return BP_ENOMEM;
            continue;
        }
        p++;
        int g = -1;
        if (isdigit((unsigned char)*p)) {
            g = *p - '0';
            if (isdigit((unsigned char)p[1]) && g * 10 + (p[1] - '0') <= ng)
                g = g * 10 + (*++p - '0');
        } else if (*p == 'g' && p[1] == '<') {
            const char *e = strchr(p + 2, '>');
            if (e) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(e - p - 2), p + 2);
                if (isdigit((unsigned char)name[0]))
                    g = (int)strtol(name, NULL, 10);
                for (int k = 1; g < 0 && k <= ng; k++)
                    if (rx_group_name(r, k) && !strcmp(rx_group_name(r, k), name))
                        g = k;
                p = e;
            }
        } else {
            bool known = strchr("ntr\\", *p) != NULL; /* an unknown escape stays as written */
            if ((!known && buf_addc(out, '\\')) ||
                buf_addc(out, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p))
                return BP_ENOMEM;
            continue;
        }
        if (g >= 0 && g <= ng && so[g] != (size_t)-1 && buf_add(out, s + so[g], eo[g] - so[g]))
            return BP_ENOMEM;
    }
    return BP_OK;
}

static jv *groups_item(jinja_rt *rt, const rx *r, const char *s, const size_t *so,
                       const size_t *eo)
{
    arena *ar = RA(rt);
    int ng = rx_ngroups(r);
    if (ng == 0)
        return jv_str(ar, s + so[0], eo[0] - so[0]);
    if (ng == 1) { /* findall gives '' for a group that did not take part */
        return so[1] == (size_t)-1 ? jv_str(ar, "", 0) : jv_str(ar, s + so[1], eo[1] - so[1]);
    }
    jv *t = jv_list(ar, (size_t)ng);
    if (t)
        t->tuple = true;
    for (int g = 1; t && g <= ng; g++)
        if (!jv_list_push(ar, t, so[g] == (size_t)-1 ? jv_str(ar, "", 0)
                                                     : jv_str(ar, s + so[g], eo[g] - so[g])))
            t = NULL;
    return t;
}

static bp_status re_run(jinja_rt *rt, re_op op, const char *pat, int flags, const jv_args *a,
                        size_t first, jv **out)
{
    arena *ar = RA(rt);
    const char *s = NULL, *repl = NULL;
    long long count = 0;
    if (op == OP_SUB) {
        const jv *r = jinja_arg(a, first, "repl");
        if (!r || r->type != JV_STR)
            return jinja_fail(rt, "re.sub() takes a replacement string");
        repl = r->u.s.p;
        if (subject(rt, jinja_arg(a, first + 1, "string"), &s) != BP_OK)
            return BP_EINPUT;
        count = arg_int(a, first + 2, "count", 0);
        flags |= (int)arg_int(a, first + 3, "flags", 0);
    } else {
        if (subject(rt, jinja_arg(a, first, "string"), &s) != BP_OK)
            return BP_EINPUT;
        if (op == OP_SPLIT) {
            count = arg_int(a, first + 1, "maxsplit", 0);
            flags |= (int)arg_int(a, first + 2, "flags", 0);
        } else {
            flags |= (int)arg_int(a, first + 1, "flags", 0);
        }
    }
    rx *r = compile_or_fail(rt, pat, flags);
    if (!r)
        return BP_EINPUT;
    size_t len = strlen(s);
    const char *subj = arena_strndup(ar, s, len);
    size_t so[100], eo[100];
    bp_status st = BP_OK;
    if (!subj) {
        rx_free(r);
        return jinja_fail(rt, "out of memory");
    }
    if (op == OP_MATCH || op == OP_SEARCH || op == OP_FULLMATCH) {
        rx_mode mode = op == OP_SEARCH ? RX_SEARCH : op == OP_MATCH ? RX_MATCH : RX_FULLMATCH;
        int rc = rx_exec(r, subj, len, 0, mode, false, so, eo);
        if (rc < 0)
            st = jinja_fail(rt, "regular expression '%s': too much backtracking", pat);
        else
            st = ret(rt, out, rc ? new_match(rt, r, subj, len, so, eo) : jv_none(ar));
        rx_free(r);
        return st;
    }
    buf b = {0};
    bool oom = false;
    jv *list = op == OP_SUB ? NULL : jv_list(ar, 8);
    size_t pos = 0, last = 0;
    long long n = 0;
    bool advance = false;
    int rc = 0;
    while (pos <= len && (count == 0 || n < count) &&
           (rc = rx_exec(r, subj, len, pos, RX_SEARCH, advance, so, eo)) == 1) {
        n++;
        if (op == OP_SUB) {
            oom |= buf_add(&b, subj + last, so[0] - last) || expand_repl(repl, r, subj, so, eo, &b);
        } else if (op == OP_FINDALL) {
            if (!list || !jv_list_push(ar, list, groups_item(rt, r, subj, so, eo)))
                list = NULL;
        } else if (op == OP_FINDITER) {
            if (!list || !jv_list_push(ar, list, new_match(rt, r, subj, len, so, eo)))
                list = NULL;
        } else { /* split */
            if (!list || !jv_list_push(ar, list, jv_str(ar, subj + last, so[0] - last)))
                list = NULL;
            for (int g = 1; list && g <= rx_ngroups(r); g++)
                if (!jv_list_push(ar, list, so[g] == (size_t)-1
                                                ? jv_none(ar)
                                                : jv_str(ar, subj + so[g], eo[g] - so[g])))
                    list = NULL;
        }
        last = eo[0];
        advance = eo[0] == so[0]; /* after an empty match, the next must move on */
        pos = eo[0];
    }
    rx_free(r);
    if (rc < 0) {
        buf_free(&b);
        return jinja_fail(rt, "regular expression '%s': too much backtracking", pat);
    }
    if (op == OP_SUB) {
        oom |= buf_add(&b, subj + last, len - last);
        *out = oom ? NULL : jv_str(ar, b.p ? b.p : "", b.len);
        buf_free(&b);
        st = *out ? BP_OK : jinja_fail(rt, "out of memory");
    } else {
        if (op == OP_SPLIT && list && !jv_list_push(ar, list, jv_str(ar, subj + last, len - last)))
            list = NULL;
        st = ret(rt, out, list);
    }
    return st;
}

static bp_status re_fn(jinja_rt *rt, re_op op, const jv_args *a, jv **out)
{
    const jv *p = jinja_arg(a, 0, "pattern");
    if (p && p->type == JV_OBJ && p->u.obj.ops->type_name &&
        !strcmp(p->u.obj.ops->type_name, "Pattern")) {
        const patobj *po = p->u.obj.self;
        return re_run(rt, op, po->pattern, po->flags, a, 1, out);
    }
    if (!p || p->type != JV_STR)
        return jinja_fail(rt, "re functions take a pattern string");
    return re_run(rt, op, p->u.s.p, 0, a, 1, out);
}

#define RE_FN(fname, op)                                                           \
    static bp_status fname(jinja_rt *rt, void *d, const jv_args *a, jv **out)      \
    {                                                                              \
        (void)d;                                                                   \
        return re_fn(rt, op, a, out);                                              \
    }
RE_FN(pyre_match, OP_MATCH)
RE_FN(pyre_search, OP_SEARCH)
RE_FN(pyre_fullmatch, OP_FULLMATCH)
RE_FN(pyre_sub, OP_SUB)
RE_FN(pyre_findall, OP_FINDALL)
RE_FN(pyre_finditer, OP_FINDITER)
RE_FN(pyre_split, OP_SPLIT)

static bp_status pyre_escape(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)d;
    const char *s = NULL;
    if (subject(rt, jinja_arg(a, 0, "pattern"), &s) != BP_OK)
        return BP_EINPUT;
    buf b = {0};
    bool oom = false;
    for (; *s && !oom; s++)
        oom = (!isalnum((unsigned char)*s) && *s != '_' && !((unsigned char)*s & 0x80) &&
               buf_addc(&b, '\\')) || buf_addc(&b, *s);
    *out = oom ? NULL : jv_str(RA(rt), b.p ? b.p : "", b.len);
    buf_free(&b);
    return *out ? BP_OK : jinja_fail(rt, "out of memory");
}

/* pattern objects: p.match(s), p.search(s), ... */
#define PAT_FN(fname, op)                                                          \
    static bp_status fname(jinja_rt *rt, void *d, const jv_args *a, jv **out)      \
    {                                                                              \
        patobj *po = d;                                                            \
        return re_run(rt, op, po->pattern, po->flags, a, 0, out);                  \
    }
PAT_FN(pm_match, OP_MATCH)
PAT_FN(pm_search, OP_SEARCH)
PAT_FN(pm_fullmatch, OP_FULLMATCH)
PAT_FN(pm_sub, OP_SUB)
PAT_FN(pm_findall, OP_FINDALL)
PAT_FN(pm_finditer, OP_FINDITER)
PAT_FN(pm_split, OP_SPLIT)

static jv *pat_getattr(jinja_rt *rt, void *self, const char *name)
{
    static const struct {
        const char *name;
        jv_fn fn;
    } m[] = {{"match", pm_match}, {"search", pm_search}, {"fullmatch", pm_fullmatch},
             {"sub", pm_sub}, {"findall", pm_findall}, {"finditer", pm_finditer},
             {"split", pm_split}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(name, m[i].name))
            return jv_func(RA(rt), m[i].name, m[i].fn, self);
    if (!strcmp(name, "pattern"))
        return jv_strz(RA(rt), ((patobj *)self)->pattern);
    if (!strcmp(name, "flags"))
        return jv_int(RA(rt), ((patobj *)self)->flags);
    return NULL;
}

static const jv_obj_ops pat_ops = {"Pattern", pat_getattr, NULL, NULL, NULL, NULL, NULL, 0, NULL};

static bp_status pyre_compile_fn(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)d;
    const char *p = NULL;
    if (subject(rt, jinja_arg(a, 0, "pattern"), &p) != BP_OK)
        return BP_EINPUT;
    patobj *po = arena_alloc(RA(rt), sizeof *po);
    if (!po || !(po->pattern = arena_strndup(RA(rt), p, strlen(p))))
        return jinja_fail(rt, "out of memory");
    po->flags = (int)arg_int(a, 1, "flags", 0);
    rx *r = compile_or_fail(rt, p, po->flags); /* now, so a bad pattern fails where written */
    if (!r)
        return BP_EINPUT;
    rx_free(r);
    return ret(rt, out, jv_obj(RA(rt), &pat_ops, po));
}

/* ---- the modules dict ----------------------------------------------------------------- */

static jv *re_module(arena *a)
{
    jv *d = jv_dict_new(a);
    static const struct {
        const char *name;
        jv_fn fn;
    } f[] = {{"match", pyre_match}, {"search", pyre_search}, {"fullmatch", pyre_fullmatch},
             {"sub", pyre_sub}, {"findall", pyre_findall}, {"finditer", pyre_finditer},
             {"split", pyre_split}, {"compile", pyre_compile_fn}, {"escape", pyre_escape}};
    for (size_t i = 0; d && i < sizeof f / sizeof f[0]; i++)
        if (!jv_dict_set(a, d, f[i].name, jv_func(a, f[i].name, f[i].fn, NULL)))
            return NULL;
    static const struct {
        const char *name;
        int v;
    } fl[] = {{"I", RX_I}, {"IGNORECASE", RX_I}, {"M", RX_M}, {"MULTILINE", RX_M},
              {"S", RX_S}, {"DOTALL", RX_S}, {"X", RX_X}, {"VERBOSE", RX_X}};
    for (size_t i = 0; d && i < sizeof fl / sizeof fl[0]; i++)
        if (!jv_dict_set(a, d, fl[i].name, jv_int(a, fl[i].v)))
            return NULL;
    return d;
}

static jv *datetime_module(arena *a)
{
    jv *d = jv_dict_new(a), *tz = jv_dict_new(a);
    if (!d || !tz || !jv_dict_set(a, tz, "utc", jv_strz(a, "UTC")) ||
        !jv_dict_set(a, d, "datetime", jv_obj(a, &cls_ops, (void *)&cls_dt)) ||
        !jv_dict_set(a, d, "date", jv_obj(a, &cls_ops, (void *)&cls_date)) ||
        !jv_dict_set(a, d, "timedelta", jv_obj(a, &cls_ops, (void *)&cls_td)) ||
        !jv_dict_set(a, d, "timezone", tz))
        return NULL;
    return d;
}

static bp_status pytz_timezone(jinja_rt *rt, void *d, const jv_args *a, jv **out)
{
    (void)d;
    const char *name = arg_str(a, 0, "zone");
    return ret(rt, out, jv_strz(RA(rt), name ? name : "UTC"));
}

jv *dbt_mod_modules(arena *a)
{
    jv *d = jv_dict_new(a), *pytz = jv_dict_new(a);
    if (!d || !pytz || !jv_dict_set(a, pytz, "utc", jv_strz(a, "UTC")) ||
        !jv_dict_set(a, pytz, "UTC", jv_strz(a, "UTC")) ||
        !jv_dict_set(a, pytz, "timezone", jv_func(a, "timezone", pytz_timezone, NULL)) ||
        !jv_dict_set(a, d, "datetime", datetime_module(a)) ||
        !jv_dict_set(a, d, "re", re_module(a)) || !jv_dict_set(a, d, "pytz", pytz))
        return NULL;
    return d;
}
