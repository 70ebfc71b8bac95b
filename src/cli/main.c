/* main.c: bookpipe's entry point; dispatches to cmd_* from a table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char run_usage[] =
    "usage: bookpipe run --data DIR|ZIP [options]\n"
    "\n"
    "Run the pipeline: extract the three Book-Crossing files (Kaggle or original\n"
    "BX release, a folder or the Kaggle zip), clean them, load the warehouse and\n"
    "write the Parquet lake, all or nothing; then build the dbt project (seeds,\n"
    "models, tests) on the loaded warehouse.\n"
    "\n"
    "  --data PATH        folder or zip holding Books/Users/Ratings (.csv or .csv.gz)\n"
    "  --lake DIR         Parquet lake folder (default ./lake)\n"
    "  --no-lake          skip the lake\n"
    "  --no-models        load only; do not build the dbt project\n"
    "  --project-dir DIR  the dbt project to build (default: the bundled project/)\n"
    "  --min-age N        ages below become NULL (default 5)\n"
    "  --max-age N        ages above become NULL (default 100)\n"
    "  --memory-limit SZ  DuckDB's memory cap during the load (default 128MB)\n"
    "  --quiet            no progress or summary, only errors\n"
    CLI_WH_HELP
    "\n" CLI_EXIT_HELP;

static const char ingest_usage[] =
    "usage: bookpipe ingest --data DIR|ZIP [options]\n"
    "\n"
    "Only the load stages of the pipeline (extract, clean, warehouse, lake);\n"
    "`run` adds the models and tests of the dbt project.\n"
    "Takes the same options as `bookpipe run`.\n\n" CLI_EXIT_HELP;

static const char query_usage[] =
    "usage: bookpipe query [--csv] [options] \"SQL\"\n"
    "\n"
    "Run one SQL statement against the warehouse (read-only) and print the result\n"
    "as an aligned table, or with --csv as a header line and CSV rows.\n"
    "Unqualified table names resolve in the --schema.\n"
    "\n"
    "  --csv              CSV output\n"
    "  --max-rows N       table output: print at most N rows (default 1000, 0 = all)\n"
    CLI_WH_HELP
    "\n" CLI_EXIT_HELP;

static const char gen_usage[] =
    "usage: bookpipe gen --out DIR [--scale S] [--seed N] [--format kaggle|bx] [--zip]\n"
    "\n"
    "Write a Book-Crossing-shaped dataset: at scale 1 the real row counts\n"
    "(271,360 books, 278,858 users, 1,149,780 ratings), with the messiness of the\n"
    "real files (ISBN forms, year and age anomalies, HTML entities, mojibake,\n"
    "\\\" scars, shifted rows, location variants) at the measured rates.\n"
    "Deterministic for a given seed.\n"
    "\n"
    "  --out DIR          output folder (created)\n"
    "  --scale S          size relative to the real data (default 1; 0.001 to 100)\n"
    "  --seed N           random seed (default 42)\n"
    "  --format F         kaggle (Books.csv, ...) or bx (BX-Books.csv, ...)\n"
    "  --zip              also pack the files into DIR/book-recommendation-dataset.zip\n"
    "\n" CLI_EXIT_HELP;

static const char dbt_usage[] =
    "usage: bookpipe dbt <build|run|test|seed|compile|ls> [options]\n"
    "\n"
    "Run a dbt project without Python: models (.sql with the Jinja subset dbt\n"
    "projects use), seeds, schema and singular tests, on the warehouse.\n"
    "Writes target/manifest.json and target/run_results.json as dbt does.\n"
    "\n"
    "  --project-dir DIR   the dbt project (default ./project, the bundled one)\n"
    "  --profiles-dir DIR  where profiles.yml is (default: the project, then ~/.dbt);\n"
    "                      without a profile, bookpipe's --warehouse and --schema are used\n"
    "  -t, --target NAME   the profile's output to use\n"
    "  -s, --select SEL    nodes to run: names, +x, x+, N+x, tag:, path:, ... (dbt syntax)\n"
    "  --exclude SEL       nodes to leave out\n"
    "  --vars YAML         variables, e.g. '{min_reviews: 5}'\n"
    "  --full-refresh      rebuild incremental models and seeds from scratch\n"
    "  --threads N         nodes run at once (default: the profile's, else 2)\n"
    "  -q, --quiet         no per-node lines\n"
    "  --warehouse FILE    DuckDB warehouse when the project has no profile\n"
    "  --schema NAME       schema when the project has no profile (default books_schema)\n"
    "\n"
    "Exit codes: 0 ok, 1 a model or test failed, 2 bad command line, 3 the project\n"
    "            cannot be read or compiled, 4 warehouse error.\n";

static const char version_usage[] =
    "usage: bookpipe version\n\nPrint bookpipe's version and the DuckDB it runs on.\n";

const cli_cmd cli_commands[] = {
    {"run", cmd_run, "extract, clean, load the warehouse and the lake, build the models",
     run_usage},
    {"ingest", cmd_ingest, "only the load stages (extract, clean, warehouse, lake)",
     ingest_usage},
    {"query", cmd_query, "run SQL against the warehouse", query_usage},
    {"gen", cmd_gen, "generate a Book-Crossing-shaped dataset", gen_usage},
    {"dbt", cmd_dbt, "run a dbt project: build, run, test, seed, compile, ls", dbt_usage},
    {"version", cmd_version, "print the version", version_usage},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bookpipe <command> [options]\n\n"
               "bookpipe runs the Book-Crossing data pipeline: extract, clean, lake,\n"
               "warehouse (DuckDB or PostgreSQL), dbt-compatible models and tests.\n\n"
               "commands:\n");
    for (const cli_cmd *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n`bookpipe <command> --help` describes a command.\n\n%s", CLI_EXIT_HELP);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BP_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv);
    for (const cli_cmd *c = cli_commands; c->name; c++) {
        if (strcmp(c->name, argv[1]) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(c->usage, stdout);
            return 0;
        }
        return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "bookpipe: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return BP_EXIT_USAGE;
}
