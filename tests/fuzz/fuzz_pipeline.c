/* fuzz_pipeline.c: libFuzzer target: pipeline.yml (blocks, upstream,
 * retries, cron, when conditions). Errors are fine; crashes and leaks are
 * not. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "orch/pipeline_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[64];
    int fd = fuzz_file(data, n, path, sizeof path);
    if (fd < 0)
        return 0;
    pl_pipeline p;
    bp_err err;
    if (pl_load(path, &p, &err) == BP_OK)
        pl_free(&p);
    close(fd);
    return 0;
}
