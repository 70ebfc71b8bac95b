/* gtime.h: Grafana's time vocabulary: the range a dashboard shows
 * ("now-6h" .. "now", "now-1d/d", epoch milliseconds, ISO dates), the
 * intervals ("5m", "1h", "100ms") and how Grafana picks $__interval from
 * the range and the panel's width. All times are UTC milliseconds. */
#ifndef BP_GTIME_H
#define BP_GTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse a range end: "now", "now-6h", "now-7d/d", "now/w", epoch ms, or an
 * ISO date/time (UTC unless it says otherwise). A rounding "/unit" goes to
 * the unit's start, or with is_to to its end, as Grafana's date math does.
 * Weeks start on Monday. */
bool gf_time_parse(const char *s, int64_t now_ms, bool is_to, int64_t *ms);

/* "5m", "1h", "30s", "100ms", "2d", "1w", "1M" (30 days), "1y" (365
 * days); a bare number is seconds. Quotes around it are allowed. */
bool gf_interval_parse(const char *s, int64_t *ms);

/* The interval as Grafana writes $__interval: its largest whole unit. */
void gf_interval_format(int64_t ms, char *out, size_t n);

/* Grafana's interval for a range drawn at this resolution (points, the
 * panel's width or maxDataPoints), never under low_ms: rounded to the
 * steps Grafana uses (1s, 2s, 5s, 10s, 15s, 20s, 30s, 1m, ...). */
int64_t gf_interval_calc(int64_t from_ms, int64_t to_ms, int64_t resolution, int64_t low_ms);

/* RFC 3339 UTC with milliseconds only when there are some, as Grafana's
 * macros write a time ("2017-04-21T05:01:17Z"). */
void gf_time_iso(int64_t ms, char *out, size_t n);

/* A time in a moment.js-style format (YYYY, YY, MM, M, DD, D, HH, H, mm,
 * ss, SSS, and text in [brackets]), UTC. */
void gf_time_format(int64_t ms, const char *fmt, char *out, size_t n);

#endif
