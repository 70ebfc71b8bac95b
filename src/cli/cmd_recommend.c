/* cmd_recommend.c: `bookpipe recommend`: train and publish, evaluate, or
 * ask for one user's or one book's list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rec/rec.h"
#include "../rec/serve.h"
#include "cli.h"

typedef struct {
    wh_spec wh;
    rec_data_opts data;
    rec_method methods[8];
    int nmethods;
    rec_method publish;     /* the method of rec_user_top */
    rec_eval_opts eval;
    bool evaluate;
    const char *user, *isbn;
    long long top, k, ease_n, min_readers, factors, iterations;
    double lambda, shrink, alpha, reg;
} rec_cli;

static bool parse_methods(rec_cli *c, const char *list)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", list);
    c->nmethods = 0;
    for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (c->nmethods == 8 || !rec_method_parse(t, &c->methods[c->nmethods]))
            return false;
        c->nmethods++;
    }
    return c->nmethods > 0;
}

/* A number above 0 in text into *out. */
static bool positive(const char *text, double *out)
{
    char *end;
    double v = text ? strtod(text, &end) : 0;
    if (!text || *end || !(v > 0))
        return false;
    *out = v;
    return true;
}

static int parse(rec_cli *c, int argc, char **argv)
{
    cli_args a;
    cli_args_init(&a, "recommend", argc, argv);
    while (a.i < argc && !a.failed) {
        long long v;
        if (cli_wh_flag(&a, &c->wh)) {
        } else if (cli_flag(&a, "--evaluate", false)) {
            c->evaluate = true;
        } else if (cli_flag(&a, "--user", true)) {
            c->user = a.val;
        } else if (cli_flag(&a, "--isbn", true)) {
            c->isbn = a.val;
        } else if (cli_flag(&a, "--methods", true)) {
            if (!a.val || !parse_methods(c, a.val))
                return cli_usage_error("recommend", "--methods takes a list of random, "
                                       "popularity, knn, knn-bm25, ease, als");
        } else if (cli_flag(&a, "--method", true)) {
            if (!a.val || !rec_method_parse(a.val, &c->publish) || c->publish.kind < REC_POP)
                return cli_usage_error("recommend", "--method is popularity, knn, knn-bm25, ease or als");
        } else if (cli_flag(&a, "--items", true)) {
            if (!a.val || (strcmp(a.val, "work") && strcmp(a.val, "isbn")))
                return cli_usage_error("recommend", "--items is work or isbn");
            c->data.by_isbn = !strcmp(a.val, "isbn");
        } else if (cli_flag(&a, "--interactions", true)) {
            if (!a.val || (strcmp(a.val, "all") && strcmp(a.val, "explicit")))
                return cli_usage_error("recommend", "--interactions is all or explicit");
            c->data.explicit_only = !strcmp(a.val, "explicit");
        } else if (cli_flag(&a, "--users", true)) {
            if (cli_int(&a, 1, 1000000, &v))
                c->eval.max_users = (uint32_t)v;
        } else if (cli_flag(&a, "--seeds", true)) {
            if (cli_int(&a, 1, 20, &v))
                c->eval.seeds = (int)v;
        } else if (cli_flag(&a, "--seed", true)) {
            if (cli_int(&a, 0, 0x7FFFFFFFLL, &v))
                c->eval.seed = (uint64_t)v;
        } else if (cli_flag(&a, "--top", true)) {
            cli_int(&a, 1, 1000, &c->top);
        } else if (cli_flag(&a, "--k", true)) {
            cli_int(&a, 1, 1000, &c->k);
        } else if (cli_flag(&a, "--factors", true)) {
            cli_int(&a, 2, 512, &c->factors);
        } else if (cli_flag(&a, "--iterations", true)) {
            cli_int(&a, 1, 200, &c->iterations);
        } else if (cli_flag(&a, "--alpha", true)) {
            if (!positive(a.val, &c->alpha))
                return cli_usage_error("recommend", "--alpha takes a positive number");
        } else if (cli_flag(&a, "--reg", true)) {
            if (!positive(a.val, &c->reg))
                return cli_usage_error("recommend", "--reg takes a positive number");
        } else if (cli_flag(&a, "--min-readers", true)) {
            cli_int(&a, 1, 1000000, &c->min_readers);
        } else if (cli_flag(&a, "--ease-n", true)) {
            cli_int(&a, 1, 40000, &c->ease_n);
        } else if (cli_flag(&a, "--shrink", true)) {
            char *end;
            c->shrink = a.val ? strtod(a.val, &end) : -1;
            if (!a.val || *end || !(c->shrink >= 0))
                return cli_usage_error("recommend", "--shrink takes a number, 0 or more");
        } else if (cli_flag(&a, "--ease-lambda", true)) {
            if (!positive(a.val, &c->lambda))
                return cli_usage_error("recommend", "--ease-lambda takes a positive number");
        } else {
            return cli_usage_error("recommend", "unknown argument '%s'", argv[a.i]);
        }
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    for (int i = 0; i < c->nmethods; i++) {
        if (c->k)
            c->methods[i].k = (uint32_t)c->k;
        if (c->ease_n)
            c->methods[i].ease_n = (uint32_t)c->ease_n;
        if (c->lambda > 0)
            c->methods[i].ease_lambda = c->lambda;
        if (c->shrink >= 0)
            c->methods[i].shrink = c->shrink;
        if (c->min_readers)
            c->methods[i].min_readers = (uint32_t)c->min_readers;
        rec_method *mm = &c->methods[i];
        mm->factors = c->factors ? (uint32_t)c->factors : mm->factors;
        mm->iterations = c->iterations ? (uint32_t)c->iterations : mm->iterations;
        mm->alpha = c->alpha > 0 ? c->alpha : mm->alpha;
        mm->reg = c->reg > 0 ? c->reg : mm->reg;
    }
    c->publish.factors = c->factors ? (uint32_t)c->factors : c->publish.factors;
    c->publish.iterations = c->iterations ? (uint32_t)c->iterations : c->publish.iterations;
    c->publish.alpha = c->alpha > 0 ? c->alpha : c->publish.alpha;
    c->publish.reg = c->reg > 0 ? c->reg : c->publish.reg;
    if (c->min_readers)
        c->publish.min_readers = (uint32_t)c->min_readers;
    if (c->k)
        c->publish.k = (uint32_t)c->k;
    if (c->shrink >= 0)
        c->publish.shrink = c->shrink;
    c->data.schema = c->wh.schema;
    return 0;
}

static void progress(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "  %s\n", msg);
}

static void print_eval(const rec_eval_row *rows, int n, const rec_data *d)
{
    printf("\nleave-one-out, full ranking over %u items; %u test users x %d seeds "
           "(95%% bootstrap intervals)\n\n", d->n_items, rows[0].users, rows[0].seeds);
    printf("%-28s %-19s %-19s %-19s %-19s %-19s %8s %9s %8s %10s\n", "method", "HR@10",
           "NDCG@10", "MRR", "HR@100", "NDCG@100", "coverage", "mean pop", "train s",
           "users/s");
    for (int i = 0; i < n; i++) {
        const rec_eval_row *r = &rows[i];
        printf("%-28s", r->method);
        for (int k = 0; k < REC_NMETRICS; k++) {
            char cell[40];
            snprintf(cell, sizeof cell, "%.4f [%.3f,%.3f]", r->mean[k], r->lo[k], r->hi[k]);
            printf(" %-19s", cell);
        }
        printf(" %8.4f %9.1f %8.2f %10.0f\n", r->coverage, r->mean_pop, r->train_s,
               r->users_per_s);
    }
}

static void eval_params(const rec_cli *c, char *out, size_t n)
{
    snprintf(out, n, "items=%s interactions=%s users=%u seeds=%d seed=%llu min_items=%u",
             c->data.by_isbn ? "isbn" : "work", c->data.explicit_only ? "explicit" : "all",
             c->eval.max_users, c->eval.seeds, (unsigned long long)c->eval.seed,
             c->eval.min_items);
}

static int evaluate(rec_cli *c, wh *w, const rec_data *d)
{
    rec_eval_row rows[8];
    bp_err err = {0};
    fprintf(stderr, "bookpipe recommend: %u users, %u items, %zu interactions\n", d->n_users,
            d->n_items, d->nnz);
    bp_status st = rec_evaluate(d, c->methods, c->nmethods, &c->eval, rows, progress, NULL, &err);
    if (st != BP_OK)
        return cli_fail("recommend", st, err.msg);
    print_eval(rows, c->nmethods, d);
    char params[256];
    eval_params(c, params, sizeof params);
    rec_publish_opts po = {c->wh.schema, 0, 0, rows, c->nmethods, params};
    st = rec_publish(w, NULL, NULL, &po, &err);
    if (st != BP_OK)
        return cli_fail("recommend", st, err.msg);
    printf("\nsaved in %s.rec_eval\n", c->wh.schema);
    return 0;
}

static int train_publish(rec_cli *c, wh *w, const rec_data *d)
{
    bp_err err = {0};
    double train_s = 0, write_s = 0;
    rec_publish_opts po = {c->wh.schema, (uint32_t)c->top, 20, NULL, 0, NULL};
    bp_status st = rec_refresh(w, d, &c->publish, &po, &train_s, &write_s, &err);
    if (st != BP_OK)
        return cli_fail("recommend", st, err.msg);
    printf("recommend: %u users, %u items, %zu interactions; item-knn trained in %.2f s, "
           "tables written in %.2f s (%s.rec_items, rec_item_neighbors, rec_user_top)\n",
           d->n_users, d->n_items, d->nnz, train_s, write_s, c->wh.schema);
    return 0;
}

/* s in exactly width columns (one a code point): cut at a character,
 * never inside one, then padded. */
static void print_cell(const char *s, size_t width)
{
    size_t cols = 0;
    const char *p = s ? s : "";
    while (*p && cols < width) {
        const char *next = p + 1;
        while ((*next & 0xC0) == 0x80)
            next++;
        fwrite(p, 1, (size_t)(next - p), stdout);
        p = next;
        cols++;
    }
    for (; cols < width; cols++)
        putchar(' ');
}

static int lookup(rec_cli *c, wh *w)
{
    rec_list l;
    bp_err err = {0};
    bp_status st = c->user ? rec_serve_user(w, c->wh.schema, c->user, (int)c->top, &l, &err)
                           : rec_serve_similar(w, c->wh.schema, c->isbn, (int)c->top, &l, &err);
    if (st != BP_OK)
        return cli_fail("recommend", st, err.msg);
    if (c->user && !l.known)
        printf("user %s has no ratings: the most-read books\n", c->user);
    if (c->user && l.known && l.n == 0)
        printf("user %s has read every book there is to recommend\n", c->user);
    if (c->isbn && !l.known) {
        rec_list_free(&l);
        return cli_fail("recommend", BP_EINPUT, "no one in the data has read that ISBN");
    }
    printf("%4s  %-13s %-50s %-25s %8s  %s\n", "rank", "isbn", "title", "author", "score",
           "because you read");
    for (size_t i = 0; i < l.n; i++) {
        const rec_book *b = &l.v[i];
        char score[32] = "";
        if (b->has_score)
            snprintf(score, sizeof score, "%.4f", b->score);
        printf("%4zu  %-13s ", i + 1, b->isbn);
        print_cell(b->title, 50);
        putchar(' ');
        print_cell(b->author, 25);
        printf(" %8s  %s\n", score,
               b->because_title ? b->because_title : b->because_isbn ? b->because_isbn : "");
    }
    rec_list_free(&l);
    return 0;
}

int cmd_recommend(int argc, char **argv)
{
    rec_cli c = {0};
    c.shrink = -1;
    wh_spec_defaults(&c.wh);
    rec_eval_defaults(&c.eval);
    c.top = 10;
    rec_method_parse("knn", &c.publish);
    parse_methods(&c, "random,popularity,knn,knn-bm25,ease,als");
    int rc = parse(&c, argc, argv);
    if (rc)
        return rc;
    if (c.user && c.isbn)
        return cli_usage_error("recommend", "--user and --isbn: one at a time");
    bool lookup_only = c.user || c.isbn;
    wh *w = NULL;
    bp_err err = {0};
    bp_status st = wh_spec_open(&c.wh, lookup_only ? WH_OPEN_READ : WH_OPEN_WRITE, &w, &err);
    if (st != BP_OK)
        return cli_open_fail("recommend", &c.wh, st, err.msg);
    if (lookup_only) {
        rc = lookup(&c, w);
        wh_close(w);
        return rc;
    }
    rec_data d;
    double t0 = rec_now();
    st = rec_data_load(w, &c.data, &d, &err);
    if (st == BP_OK)
        fprintf(stderr, "bookpipe recommend: ratings read in %.2f s\n", rec_now() - t0);
    if (st != BP_OK) {
        wh_close(w);
        return cli_fail("recommend", st, err.msg);
    }
    rc = c.evaluate ? evaluate(&c, w, &d) : train_publish(&c, w, &d);
    rec_data_free(&d);
    wh_close(w);
    return rc;
}
