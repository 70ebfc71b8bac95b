/* builtin.h: dbt's own macros (the .sql files of src/dbt/macros), built into the
 * binary by tools/embed.c: the cross-database macros, the schema and alias
 * naming macros, the built-in generic tests and the helpers projects call. */
#ifndef BP_DBT_BUILTIN_H
#define BP_DBT_BUILTIN_H

#include "../core/embedded.h"

extern const bp_embedded dbt_builtin_macros[];
extern const int dbt_builtin_macros_count;

#endif
