/* cmd_lake.c: `bookpipe lake`: what the lake holds, and removing old runs. */
#include <stdio.h>
#include <string.h>

#include "../lake/lake.h"
#include "../lake/s3.h"
#include "cli.h"

static int lake_gc_cmd(const run_request *cr, int keep)
{
    int gone = 0;
    bp_err err = {0};
    if (lake_gc(cr->lake, keep, &gone, &err) != BP_OK)
        return cli_fail("lake", err.status, err.msg);
    printf("bookpipe lake: removed %d run(s) from %s; kept the last %d and the published "
           "run=%lld\n", gone, cr->lake, keep, (long long)lake_latest_run(cr->lake));
    return 0;
}

static bool own_flag(cli_args *a, void *ctx)
{
    long long v;
    if (!cli_flag(a, "--keep", true))
        return false;
    if (cli_int(a, 1, 1000000, &v))
        *(int *)ctx = (int)v;
    return true;
}

int cmd_lake(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "gc") != 0 && strcmp(argv[1], "show") != 0))
        return cli_usage_error("lake", "say `gc` or `show`");
    const char *what = argv[1];
    run_request cr;
    int keep = 0;
    int rc = cli_run_parse("lake", argc - 1, argv + 1, &cr, own_flag, &keep);
    if (rc)
        return rc;
    if (!cr.lake)
        return cli_usage_error("lake", "give --lake DIR or s3://BUCKET/PREFIX");
    if (!strcmp(what, "gc"))
        return lake_gc_cmd(&cr, keep ? keep : cr.lake_keep > 0 ? cr.lake_keep : 5);
    int64_t latest = lake_latest_run(cr.lake);
    if (!latest) {
        printf("%s: nothing published yet\n", cr.lake);
        return 0;
    }
    int64_t newest;
    bp_err err = {0};
    bp_status st = lake_max_run(cr.lake, &newest, &err);
    if (st != BP_OK)
        return cli_fail("lake", st, err.msg);
    printf("%s: published run=%lld (the newest of %lld); read %s/latest/<table>%s\n", cr.lake,
           (long long)latest, (long long)newest, cr.lake,
           s3_is_url(cr.lake) ? " (the object `latest` names the run folder)" : ".parquet");
    return 0;
}
