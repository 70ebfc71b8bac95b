/* cron.h: five-field cron expressions and their next firing times.
 *
 * "m h dom mon dow" with *, lists, ranges, steps, month and day names,
 * 7 as Sunday, and @hourly @daily @midnight @weekly @monthly @yearly
 * @annually. As in cron, when both day fields are restricted a day
 * matches either. Times are local (set TZ for another zone). */
#ifndef BP_CRON_H
#define BP_CRON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "../core/err.h"

typedef struct {
    uint64_t min;         /* bit per minute 0-59 */
    uint32_t hour;        /* 0-23 */
    uint32_t dom;         /* 1-31 */
    uint16_t mon;         /* 1-12 */
    uint8_t dow;          /* 0-6, Sunday 0 */
    bool dom_any, dow_any;
} cron_spec;

/* Parse text; errors say which field is wrong and why. */
BP_MUST bp_status cron_parse(const char *text, cron_spec *out, bp_err *err);

/* The scheduler's clock: the system's; or, when BOOKPIPE_CLOCK holds epoch
 * seconds, a clock that read that time when first asked and runs at the
 * system's pace from there (tests reach a cron minute in seconds with it,
 * instead of waiting for one). */
time_t cron_now(void);

/* The first firing time strictly after `after` (whole minutes); -1 when
 * none within eight years (e.g. "0 0 31 2 *"). */
time_t cron_next(const cron_spec *c, time_t after);

#endif
