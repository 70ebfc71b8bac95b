/* modules.h: dbt's `modules` (datetime, re, pytz) as Jinja values. */
#ifndef BP_DBT_MODULES_H
#define BP_DBT_MODULES_H

#include <stdbool.h>

#include "../jinja/jinja.h"

/* The modules dict (in arena a). */
jv *dbt_mod_modules(arena *a);
/* datetime.now() (utc: aware, in UTC; else local and naive). */
jv *dbt_mod_now(arena *a, bool utc);

#endif
