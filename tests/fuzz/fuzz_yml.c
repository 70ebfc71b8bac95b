/* fuzz_yml.c: libFuzzer target: the YAML loader (dbt_project.yml,
 * profiles.yml, properties files, pipeline.yml all go through it). */
#include <stdint.h>
#include <stdlib.h>

#include "core/yml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    yml_doc *d = NULL;
    bp_err err;
    if (yml_parse("fuzz.yml", (const char *)data, n, &d, &err) == BP_OK)
        yml_root(d);
    yml_free(d);
    return 0;
}
