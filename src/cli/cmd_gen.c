/* cmd_gen.c: `bookpipe gen`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../gen/gen.h"
#include "cli.h"

/* Pack the files into a zip with the system's zip tool (tests and demos
 * only; reading zips needs no tool). */
static int make_zip(const gen_report *r, const char *out)
{
    char zip[4200];
    snprintf(zip, sizeof zip, "%s/book-recommendation-dataset.zip", out);
    unlink(zip);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("zip", "zip", "-q", "-j", zip, r->files[0], r->files[1], r->files[2],
               (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    printf("  zip: %s\n", zip);
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    cli_args a;
    gen_opts o = {NULL, 1.0, 42, false, 0};
    bool zip = false;
    cli_args_init(&a, "gen", argc, argv);
    while (a.i < argc && !a.failed) {
        if (cli_flag(&a, "--out", true)) {
            o.out = a.val;
        } else if (cli_flag(&a, "--scale", true)) {
            char *end;
            o.scale = a.val ? strtod(a.val, &end) : 0;
            if (!a.val || *end || o.scale < 0.001 || o.scale > 100)
                return cli_usage_error("gen", "--scale takes a number from 0.001 to 100");
        } else if (cli_flag(&a, "--seed", true)) {
            long long v;
            if (cli_int(&a, 0, 0x7FFFFFFFFFFFFFFFLL, &v))
                o.seed = (uint64_t)v;
        } else if (cli_flag(&a, "--format", true)) {
            if (a.val && strcmp(a.val, "bx") == 0)
                o.bx = true;
            else if (!a.val || strcmp(a.val, "kaggle") != 0)
                return cli_usage_error("gen", "--format is kaggle or bx");
        } else if (cli_flag(&a, "--tastes", true)) {
            char *end;
            o.tastes = a.val ? strtod(a.val, &end) : -1;
            if (!a.val || *end || !(o.tastes >= 0 && o.tastes <= 1))
                return cli_usage_error("gen", "--tastes takes a number from 0 to 1");
        } else if (cli_flag(&a, "--zip", false)) {
            zip = true;
        } else {
            return cli_usage_error("gen", "unknown argument '%s'", argv[a.i]);
        }
    }
    if (a.failed)
        return BP_EXIT_USAGE;
    if (!o.out)
        return cli_usage_error("gen", "--out DIR is required");
    gen_report r;
    bp_err err = {0};
    bp_status st = gen_run(&o, &r, &err);
    if (st != BP_OK)
        return cli_fail("gen", st, err.msg);
    printf("generated %s format, scale %g, seed %llu, tastes %g: %llu books, %llu users, %llu ratings\n",
           o.bx ? "bx" : "kaggle", o.scale, (unsigned long long)o.seed, o.tastes,
           (unsigned long long)r.books, (unsigned long long)r.users,
           (unsigned long long)r.ratings);
    for (int t = 0; t < 3; t++)
        printf("  %s\n", r.files[t]);
    if (zip && make_zip(&r, o.out) != 0)
        return cli_fail("gen", BP_EIO, "could not run `zip` to pack the files (install zip)");
    return 0;
}
