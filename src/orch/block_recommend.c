/* block_recommend.c: the recommend block: train on the loaded ratings and
 * publish rec_items, rec_item_neighbors and rec_user_top in one swap (see
 * src/rec/rec.h). `command` names the method of the users' lists
 * (popularity, knn (default), knn-bm25, ease, als); the neighbours are
 * always item-kNN's, which serves "similar books" and lists for new
 * readers. `command: evaluate` runs `bookpipe recommend --evaluate`'s
 * protocol instead (random, popularity, item-kNN, EASE, iALS; 3 seeds of
 * 5,000 users) and swaps in rec_eval. */
#include "block_int.h"

#include <stdio.h>
#include <string.h>

#include "../rec/rec.h"

static void eval_progress(void *ctx, const char *msg) { fprintf(ctx, "  %s\n", msg); }

/* The evaluation, its table in the log and in rec_eval. */
static bp_status evaluate(blk_ctx *c, const rec_data *d, bp_err *err)
{
    static const char *const names[] = {"random", "popularity", "knn", "ease", "als"};
    rec_method ms[5];
    rec_eval_row rows[5];
    for (int i = 0; i < 5; i++)
        if (!rec_method_parse(names[i], &ms[i]))
            return bp_fail(err, BP_EINTERNAL, "no method %s", names[i]);
    rec_eval_opts eo;
    rec_eval_defaults(&eo);
    bp_status st = rec_evaluate(d, ms, 5, &eo, rows, eval_progress, c->log, err);
    if (st != BP_OK)
        return st;
    fprintf(c->log, "  %-34s %8s %8s %8s %8s %8s\n", "method", "HR@10", "NDCG@10", "MRR", "HR@100",
            "NDCG@100");
    for (int i = 0; i < 5; i++)
        fprintf(c->log, "  %-34s %8.4f %8.4f %8.4f %8.4f %8.4f\n", rows[i].method, rows[i].mean[0],
                rows[i].mean[1], rows[i].mean[2], rows[i].mean[3], rows[i].mean[4]);
    char params[160];
    snprintf(params, sizeof params, "items=work interactions=all users=%u seeds=%d seed=%llu "
             "min_items=%u (pipeline block %s)", eo.max_users, eo.seeds,
             (unsigned long long)eo.seed, eo.min_items, c->k->b->name);
    rec_publish_opts po = {c->run->o->schema, 0, 0, rows, 5, params};
    return rec_publish(c->conn, NULL, NULL, &po, err);
}

bp_status blk_recommend_exec(blk_ctx *c, bp_err *err)
{
    const orch_opts *o = c->run->o;
    const char *method = c->k->b->command ? c->k->b->command : "knn";
    bool eval = !strcmp(method, "evaluate");
    rec_method lists;
    if (!eval && (!rec_method_parse(method, &lists) || lists.kind == REC_RANDOM))
        return bp_fail(err, BP_EUSAGE, "recommend block '%s': command is popularity, knn, "
                       "knn-bm25, ease, als or evaluate, not '%s'", c->k->b->name, method);
    rec_data_opts dopts = {o->schema, false, false};
    rec_data d;
    double t0 = rec_now();
    bp_status st = rec_data_load(c->conn, &dopts, &d, err);
    if (st != BP_OK)
        return st;
    fprintf(c->log, "  %u users, %u items (works), %zu interactions read in %.2f s\n",
            d.n_users, d.n_items, d.nnz, rec_now() - t0);
    if (eval) {
        st = evaluate(c, &d, err);
        rec_data_free(&d);
        return st;
    }
    double train_s = 0, write_s = 0;
    rec_publish_opts po = {o->schema, 10, 20, NULL, 0, NULL};
    st = rec_refresh(c->conn, &d, &lists, &po, &train_s, &write_s, err);
    if (st == BP_OK) {
        char name[96];
        rec_method_name(&lists, name, sizeof name);
        fprintf(c->log, "  trained in %.2f s; users' lists by %s\n", train_s, name);
        fprintf(c->log, "  %s.rec_items, rec_item_neighbors, rec_user_top swapped in (%.2f s)\n",
                o->schema, write_s);
        c->k->rows_in = (int64_t)d.nnz;
        c->k->rows_out = (int64_t)d.n_users;
    }
    rec_data_free(&d);
    return st;
}

bool blk_recommend_outputs_ok(blk_ctx *c)
{
    const char *cmd = c->k->b->command;
    if (cmd && !strcmp(cmd, "evaluate")) {
        bool ok = false;
        return wh_exists(c->conn, c->run->o->schema, "rec_eval", &ok, NULL) == BP_OK && ok;
    }
    for (int t = 0; t < 3; t++) {
        bool ok = false;
        if (wh_exists(c->conn, c->run->o->schema, rec_tables[t], &ok, NULL) != BP_OK || !ok)
            return false;
    }
    return true;
}
