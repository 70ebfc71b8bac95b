/* cmd_version.c: `bookpipe version`. */
#include <stdio.h>

#include "cli.h"

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return cli_usage_error("version", "takes no arguments");
    printf("bookpipe %s (DuckDB %s)\n", BOOKPIPE_VERSION, wh_duckdb_version());
    return 0;
}
