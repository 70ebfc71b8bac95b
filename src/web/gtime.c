/* gtime.c: Grafana's time range, date math and intervals (see gtime.h). */
#include "gtime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/num.h"

#define SEC_MS 1000LL
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

/* The fixed length of a unit; months and years are 30 and 365 days where
 * a length is needed (an interval), calendar steps in date math. */
static int64_t unit_ms(const char *u, size_t n)
{
    if (n == 2 && !memcmp(u, "ms", 2))
        return 1;
    if (n != 1)
        return 0;
    switch (*u) {
    case 's': return SEC_MS;
    case 'm': return MIN_MS;
    case 'h': return HOUR_MS;
    case 'd': return DAY_MS;
    case 'w': return 7 * DAY_MS;
    case 'M': return 30 * DAY_MS;
    case 'y': return 365 * DAY_MS;
    default: return 0;
    }
}

bool gf_interval_parse(const char *s, int64_t *ms)
{
    while (*s == ' ' || *s == '\'' || *s == '"')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\'' || s[n - 1] == '"'))
        n--;
    size_t d = 0;
    while (d < n && isdigit((unsigned char)s[d]))
        d++;
    int64_t count;
    if (!d || d > 12 || !num_parse_i64(s, d, &count))
        return false;
    int64_t u = d == n ? SEC_MS : unit_ms(s + d, n - d);
    if (!u || count > INT64_MAX / u)
        return false;
    *ms = count * u;
    return true;
}

void gf_interval_format(int64_t ms, char *out, size_t n)
{
    static const struct { int64_t len; const char *unit; } steps[] = {
        {365 * DAY_MS, "y"}, {DAY_MS, "d"}, {HOUR_MS, "h"}, {MIN_MS, "m"}, {SEC_MS, "s"}, {1, "ms"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (ms >= steps[i].len) {
            snprintf(out, n, "%lld%s", (long long)(ms / steps[i].len), steps[i].unit);
            return;
        }
    snprintf(out, n, "1ms");
}

/* Grafana's rangeutil.roundInterval: the step nearest below each bound. */
static int64_t round_interval(int64_t ms)
{
    static const int64_t table[][2] = {
        {10, 1}, {15, 10}, {35, 20}, {75, 50}, {150, 100}, {350, 200}, {750, 500},
        {1500, 1000}, {3500, 2000}, {7500, 5000}, {12500, 10000}, {17500, 15000},
        {25000, 20000}, {45000, 30000}, {90000, 60000}, {210000, 120000}, {450000, 300000},
        {750000, 600000}, {1050000, 900000}, {1500000, 1200000}, {2700000, 1800000},
        {5400000, 3600000}, {9000000, 7200000}, {16200000, 10800000}, {32400000, 21600000},
        {86400000, 43200000}, {604800000, 86400000}, {1814400000, 604800000},
        {3628800000, 2592000000},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (ms < table[i][0])
            return table[i][1];
    return 31536000000;
}

int64_t gf_interval_calc(int64_t from_ms, int64_t to_ms, int64_t resolution, int64_t low_ms)
{
    if (resolution < 1)
        resolution = 1;
    int64_t span = to_ms > from_ms ? to_ms - from_ms : 0;
    int64_t ms = round_interval(span / resolution);
    return low_ms > ms ? low_ms : ms;
}

/* ---- date math ------------------------------------------------------------------------------ */

static int64_t tm_ms(struct tm *tm) { return (int64_t)timegm(tm) * SEC_MS; }

static void ms_tm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)(ms >= 0 ? ms / SEC_MS : -((-ms + SEC_MS - 1) / SEC_MS));
    gmtime_r(&t, tm);
}

/* ms plus n units, months and years on the calendar. */
static bool add_units(int64_t *ms, long long n, char unit)
{
    if (unit == 'M' || unit == 'y') {
        struct tm tm;
        int64_t frac = ((*ms % SEC_MS) + SEC_MS) % SEC_MS;
        ms_tm(*ms, &tm);
        if (unit == 'M')
            tm.tm_mon += (int)n;
        else
            tm.tm_year += (int)n;
        *ms = tm_ms(&tm) + frac;
        return true;
    }
    char u[2] = {unit, 0};
    int64_t len = unit_ms(u, 1);
    if (!len)
        return false;
    *ms += (int64_t)n * len;
    return true;
}

/* The start of the unit ms falls in. */
static int64_t start_of(int64_t ms, char unit)
{
    struct tm tm;
    ms_tm(ms, &tm);
    switch (unit) {
    case 's': break; /* tm_ms drops the milliseconds */
    case 'm': tm.tm_sec = 0; break;
    case 'h': tm.tm_sec = tm.tm_min = 0; break;
    case 'd': tm.tm_sec = tm.tm_min = tm.tm_hour = 0; break;
    case 'w':
        tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
        tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday */
        break;
    case 'M': tm.tm_sec = tm.tm_min = tm.tm_hour = 0; tm.tm_mday = 1; break;
    case 'y': tm.tm_sec = tm.tm_min = tm.tm_hour = 0; tm.tm_mday = 1; tm.tm_mon = 0; break;
    default: return ms;
    }
    return tm_ms(&tm);
}

static bool date_math(const char *s, int64_t now_ms, bool is_to, int64_t *ms)
{
    int64_t t = now_ms;
    while (*s) {
        char op = *s++;
        if (op == '/') {
            char unit = *s++;
            if (!strchr("smhdwMy", unit) || !unit)
                return false;
            t = start_of(t, unit);
            if (is_to) { /* the end of the unit: the next one's start, less 1 ms */
                if (!add_units(&t, 1, unit))
                    return false;
                t -= 1;
            }
            continue;
        }
        if (op != '+' && op != '-')
            return false;
        long long n = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits < 9) {
            n = n * 10 + (*s++ - '0');
            digits++;
        }
        if (!digits)
            n = 1;
        char unit = *s++;
        if (!unit || !strchr("smhdwMy", unit) || !add_units(&t, op == '-' ? -n : n, unit))
            return false;
    }
    *ms = t;
    return true;
}

/* "2024-01-31", "2024-01-31 10:00:00", "2024-01-31T10:00:00.5Z",
 * "2024-01-31T10:00:00+02:00", or Grafana's URL form "20240131T100000". */
static bool iso(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    double frac = 0;
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) == 6 &&
        used == 15 && !s[used])
        goto done;
    used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return false;
    s += used;
    if (*s == 'T' || *s == ' ') {
        used = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &used) != 2 || used != 5)
            return false;
        s += 1 + used;
        if (*s == ':') {
            used = 0;
            if (sscanf(s + 1, "%2d%n", &sec, &used) != 1 || used != 2)
                return false;
            s += 3;
            if (*s == '.') {
                double scale = 0.1;
                for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
                    frac += (*s - '0') * scale;
            }
        }
    }
    int off_min = 0;
    if (*s == 'Z')
        s++;
    else if (*s == '+' || *s == '-') {
        int oh, om = 0;
        used = 0;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &used) != 2 &&
            sscanf(s + 1, "%2d%n", &oh, &used) != 1)
            return false;
        off_min = (*s == '-' ? -1 : 1) * (oh * 60 + om);
        s += 1 + used;
    }
    if (*s)
        return false;
    mi -= off_min;
done:
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || sec > 60)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ms = tm_ms(&tm) + (int64_t)(frac * 1000 + 0.5);
    return true;
}

bool gf_time_parse(const char *s, int64_t now_ms, bool is_to, int64_t *ms)
{
    if (!s || !*s)
        return false;
    if (!strncmp(s, "now", 3))
        return date_math(s + 3, now_ms, is_to, ms);
    size_t n = strlen(s);
    if (n <= 15 && strspn(s, "0123456789") == n) /* epoch milliseconds */
        return num_parse_i64(s, n, ms);
    return iso(s, ms);
}

void gf_time_iso(int64_t ms, char *out, size_t n)
{
    struct tm tm;
    ms_tm(ms, &tm);
    int frac = (int)(((ms % SEC_MS) + SEC_MS) % SEC_MS);
    char base[40];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac)
        snprintf(out, n, "%s.%03dZ", base, frac);
    else
        snprintf(out, n, "%sZ", base);
}

void gf_time_format(int64_t ms, const char *fmt, char *out, size_t n)
{
    static const struct { const char *tok; const char *f; int width; } toks[] = {
        {"YYYY", "%04d", 'Y'}, {"YY", "%02d", 'y'}, {"MM", "%02d", 'M'}, {"M", "%d", 'M'},
        {"DD", "%02d", 'D'}, {"D", "%d", 'D'}, {"HH", "%02d", 'H'}, {"H", "%d", 'H'},
        {"mm", "%02d", 'm'}, {"ss", "%02d", 's'}, {"SSS", "%03d", 'S'},
    };
    struct tm tm;
    ms_tm(ms, &tm);
    size_t o = 0;
    if (!n)
        return;
    out[0] = 0;
    while (*fmt && o + 1 < n) {
        if (*fmt == '[') { /* literal text */
            const char *e = strchr(fmt + 1, ']');
            size_t l = e ? (size_t)(e - fmt - 1) : strlen(fmt + 1);
            int w = snprintf(out + o, n - o, "%.*s", (int)l, fmt + 1);
            o += w > 0 ? ((size_t)w < n - o ? (size_t)w : n - o - 1) : 0;
            fmt += l + 1 + (e != NULL);
            continue;
        }
        size_t i = 0;
        for (; i < sizeof toks / sizeof toks[0]; i++)
            if (!strncmp(fmt, toks[i].tok, strlen(toks[i].tok)))
                break;
        if (i == sizeof toks / sizeof toks[0]) {
            out[o++] = *fmt++;
            out[o] = 0;
            continue;
        }
        int v = 0;
        switch (toks[i].width) {
        case 'Y': v = tm.tm_year + 1900; break;
        case 'y': v = (tm.tm_year + 1900) % 100; break;
        case 'M': v = tm.tm_mon + 1; break;
        case 'D': v = tm.tm_mday; break;
        case 'H': v = tm.tm_hour; break;
        case 'm': v = tm.tm_min; break;
        case 's': v = tm.tm_sec; break;
        default: v = (int)(((ms % SEC_MS) + SEC_MS) % SEC_MS); break;
        }
        int w = snprintf(out + o, n - o, toks[i].f, v);
        o += w > 0 ? ((size_t)w < n - o ? (size_t)w : n - o - 1) : 0;
        fmt += strlen(toks[i].tok);
    }
}
