/* block_dbt.c: the dbt and test blocks: the project's commands. */
#include "block_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/fs.h"
#include "../dbt/dbt.h"
#include "meta.h"

/* Every file of the project that can change what dbt does. */
static bp_status hash_tree(const char *dir, fp_state *s, int depth, bp_err *err)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return depth ? BP_OK : bp_fail(err, BP_EINPUT, "dbt project %s: %s", dir,
                                       strerror(errno));
    bp_status st = BP_OK;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat sb;
        bool skip = name[0] == '.' || !strcmp(name, "target") || !strcmp(name, "logs") ||
                    !strcmp(name, "dbt_packages") || !strcmp(name, "dashboards");
        if (st == BP_OK && !skip && stat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode) && depth < 16)
                st = hash_tree(path, s, depth + 1, err);
            else if (S_ISREG(sb.st_mode)) {
                uint64_t h, len;
                if ((st = fp_file(path, &h, &len, err)) == BP_OK) {
                    fp_adds(s, name);
                    fp_add(s, &h, sizeof h);
                }
            }
        }
        free(ents[i]);
    }
    free(ents);
    return st;
}

bp_status blk_dbt_inputs(blk_ctx *c, fp_state *s, bp_err *err)
{
    if (!c->run->project_dir[0])
        return bp_fail(err, BP_EINPUT, "no dbt project (give --project-dir)");
    blk_add_warehouse(s, c->run);
    fp_adds(s, c->run->o->full_refresh ? "full" : "");
    return hash_tree(c->run->project_dir, s, 0, err);
}

/* The nodes of the command that just ran, in the run history (a note in
 * the block's log when they cannot be kept: the block's outcome stands). */
static void keep_nodes(blk_ctx *c)
{
    char path[4300];
    bp_err e = {0};
    if (!fs_pathf(path, sizeof path, "%s/target/run_results.json", c->run->project_dir))
        return;
    if (meta_node_runs(c->conn, c->run->run_id, c->k->b->name, path, &e) != BP_OK)
        fprintf(c->log, "  (the nodes' results were not kept in the run history: %s)\n", e.msg);
}

bp_status blk_dbt_exec(blk_ctx *c, bp_err *err)
{
    orun *r = c->run;
    const pl_block *b = c->k->b;
    dbt_opts o = {0};
    o.command = b->type == BT_TEST ? "test" : b->command;
    o.project_dir = r->project_dir;
    o.select = b->select;
    o.exclude = b->exclude;
    o.full_refresh = r->o->full_refresh;
    o.wh_target = r->o->target;
    o.wh_dsn = r->o->dsn;
    o.wh_path = r->o->warehouse;
    o.wh_schema = r->o->schema;
    o.out = c->log;
    o.conn = c->conn;
    o.stop = &c->k->stop;
    dbt_summary sum;
    bp_status st = dbt_main(&o, &sum, err);
    keep_nodes(c);
    if (st != BP_OK)
        return st;
    c->k->rows_in = sum.total;
    c->k->rows_out = sum.ok + sum.warn;
    if (c->k->stop)
        return bp_fail(err, BP_EINTR, "interrupted after %d of %d nodes", sum.ok + sum.warn,
                       sum.total);
    if (sum.error)
        return bp_fail(err, BP_EWH, "dbt %s: %s%s(%d of %d node(s) failed: PASS=%d WARN=%d "
                       "ERROR=%d SKIP=%d)", o.command, sum.first_error,
                       sum.first_error[0] ? " " : "", sum.error, sum.total, sum.ok, sum.warn,
                       sum.error, sum.skip);
    return BP_OK;
}
