/* main.c: bookpipe's entry point; dispatches to cmd_* from a table. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../core/log.h"

static const char run_usage[] =
    "usage: bookpipe run --data DIR|ZIP [options]\n"
    "\n"
    "Run the pipeline (project/pipeline.yml, or --pipeline FILE): a DAG of blocks\n"
    "(extract -> clean -> lake | load -> dbt seed -> dbt models -> tests) run in\n"
    "parallel where the DAG allows, with retries, timeouts and `when` conditions.\n"
    "Each block that changes data does it atomically, so a failed or cancelled\n"
    "run leaves the warehouse and the lake at their last complete state.\n"
    "A block whose inputs (files, settings, SQL, upstream outputs) are unchanged\n"
    "since its last successful run is skipped (`skipped: up to date`).\n"
    "Runs are recorded in schema bookpipe_meta (see `bookpipe runs`).\n"
    "\n"
    "  --data PATH        folder or zip holding Books/Users/Ratings (.csv or .csv.gz)\n"
    "  --kaggle [DATASET] download the data from Kaggle (default dataset\n"
    "                     arashnic/book-recommendation-dataset) with KAGGLE_USERNAME/\n"
    "                     KAGGLE_KEY or kaggle.json, into the cache; unchanged: no download\n"
    "  --lake DIR|s3://BUCKET/PREFIX  Parquet lake folder or S3 bucket (default ./lake);\n"
    "                     S3 uses AWS_* variables or ~/.aws (AWS_PROFILE)\n"
    "  --s3-endpoint URL  an S3-compatible store (or AWS_ENDPOINT_URL); path-style\n"
    "  --s3-part-size SZ  multipart part size (default 8MB)\n"
    "  --s3-parallel N    uploads at once: files, or a big file's parts (default 4)\n"
    "  --lake-rows-per-part N  rows per Parquet part in an S3 lake (default 250000)\n"
    "  --iam-role ARN     redshift: the IAM role its COPY assumes to read the S3 lake\n"
    "                     (default $BOOKPIPE_REDSHIFT_IAM_ROLE)\n"
    "  --no-lake          no lake (sets var lake to ''; the lake block's when is false)\n"
    "  --lake-keep N      lake runs to keep; older ones are removed after a publish\n"
    "                     (default 5; 0 keeps all; `bookpipe lake gc` does it alone)\n"
    "  --allow-empty      let a file with a header and no rows empty its table\n"
    "  --allow-shrink     let a load shrink a table to under half its rows, or\n"
    "                     quarantine more than half of a file (refused otherwise)\n"
    "  --no-models        load only (sets var models to false)\n"
    "  --pipeline FILE    the pipeline file (default: the project's pipeline.yml)\n"
    "  --project-dir DIR  the dbt project (default: the bundled project/)\n"
    "  --var KEY=VALUE    a pipeline variable (repeatable)\n"
    "  --select LIST      only these blocks (comma list; +b adds upstream, b+ downstream);\n"
    "                     a block named here runs even when up to date\n"
    "  --from BLOCK       this block and everything downstream of it\n"
    "  --only BLOCK       this block alone (its upstream outputs must exist)\n"
    "  --full-refresh     run every block, up to date or not\n"
    "  --jobs N           blocks at once (default: the number of cores)\n"
    "  --json             machine-readable events on stdout, one JSON object per line\n"
    "  --plain            one line per event even on a terminal\n"
    "  --quiet            only errors\n"
    "  --state-dir DIR    local working files (default ./.bookpipe)\n"
    "  --min-age N        ages below become NULL (default 5)\n"
    "  --max-age N        ages above become NULL (default 100)\n"
    "  --memory-limit SZ  DuckDB's memory cap for the models, tests and\n"
    "                     recommendations (default: a quarter of the machine's\n"
    "                     memory; DuckDB spills the rest to disk); the loading\n"
    "                     blocks take at most 128MB of it\n"
    CLI_WH_HELP
    "\n"
    "One run at a time per warehouse: a second run is refused while one goes on;\n"
    "the lock of a process that died is taken over.\n"
    "\n" CLI_EXIT_HELP;

static const char runs_usage[] =
    "usage: bookpipe runs [--limit N] [--csv] [options]\n"
    "       bookpipe runs show RUN_ID\n"
    "\n"
    "List recent pipeline runs (status, trigger, start, duration, block counts),\n"
    "or the block runs of one run (status, attempts, duration, rows, error).\n"
    "The history lives in the warehouse: tables bookpipe_meta.runs and\n"
    "bookpipe_meta.block_runs, queryable with `bookpipe query`.\n"
    "\n"
    "  --limit N          runs to list (default 20)\n"
    "  --csv              CSV output\n"
    CLI_WH_HELP "\n" CLI_EXIT_HELP;

static const char logs_usage[] =
    "usage: bookpipe logs RUN_ID BLOCK [options]\n"
    "\n"
    "Print the log of one block of a run (all its attempts) and its error.\n"
    "\n" CLI_WH_HELP "\n" CLI_EXIT_HELP;

static const char schedule_usage[] =
    "usage: bookpipe schedule [--next N] [--max-runs N] [run options]\n"
    "\n"
    "Start runs of the pipeline when its `schedule` (a cron expression: minute\n"
    "hour day-of-month month day-of-week, or @hourly/@daily/@weekly/@monthly)\n"
    "says, in the foreground, for hosts without cron. Runs are recorded with\n"
    "trigger `schedule`; a failed run does not stop the schedule.\n"
    "Runs missed while bookpipe was not running are not replayed: the next run\n"
    "is the next time the expression matches after now.\n"
    "Times are local; set TZ for another zone.\n"
    "\n"
    "  --next N           print the next N run times and exit\n"
    "  --max-runs N       stop after N runs\n"
    "  (and every option of `bookpipe run`)\n"
    "\n" CLI_EXIT_HELP;

static const char serve_usage[] =
    "usage: bookpipe serve [--bind ADDR] [--port N] [--token T|auto] [run options]\n"
    "\n"
    "Serve the web UI on http://127.0.0.1:8080/: dashboards (/d/UID: Grafana\n"
    "dashboard JSON from project/dashboards and --dashboards), the pipeline\n"
    "(/pipeline: DAG, runs, logs, Run now) and a read-only SQL explorer\n"
    "(/explore), all embedded in the binary; and their JSON API under /api/\n"
    "(health, tables, query, pipeline, runs, schedule, dashboards; see README).\n"
    "With --data and a `schedule` in the pipeline, runs start on it (trigger\n"
    "schedule; missed runs are not replayed).\n"
    "\n"
    "The explorer and the panels only read, and the engine enforces it: DuckDB\n"
    "attaches the warehouse read-only with file and network access off and its\n"
    "settings locked; PostgreSQL reads as a login that can only SELECT (the role\n"
    "bookpipe_reader, made with the run's login, or $BOOKPIPE_READ_DSN) in a\n"
    "read-only transaction. One statement per request; anything but SELECT,\n"
    "WITH, VALUES, TABLE, SHOW, DESCRIBE or EXPLAIN of those is refused.\n"
    "The server answers only its own Host (127.0.0.1, localhost, [::1], IP\n"
    "literals, and --allow-host names, with its port); POSTs need the header\n"
    "X-Bookpipe-CSRF: 1 and, from a browser, the server's own Origin.\n"
    "\n"
    "  --bind ADDR        address to listen on (default 127.0.0.1); any address\n"
    "                     that is not loopback requires a token\n"
    "  --port N           port (default 8080; 0 picks a free one and prints it)\n"
    "  --token T          require T on every request (Authorization: Bearer T, or\n"
    "                     ?token=T once, which sets a cookie); default $BOOKPIPE_TOKEN;\n"
    "                     `auto` makes a random one, which the printed URL carries\n"
    "  --allow-host NAME  also answer requests for this host name (repeatable;\n"
    "                     `*` answers any: only behind a proxy that checks it)\n"
    "  --dashboards DIR   more Grafana dashboard JSON files to serve\n"
    "  --no-schedule      do not start runs on the pipeline's schedule\n"
    "  --no-snapshot      DuckDB: during a run started here, answer 503 instead of\n"
    "                     reading a copy of the warehouse taken before it (for a\n"
    "                     warehouse too big to copy on a file system without reflinks)\n"
    "  --max-rows N       explorer row cap per request (default 10000)\n"
    "  --query-timeout S  seconds per explorer or panel statement (default 30)\n"
    "  --request-timeout S  a request's headers and body must arrive within S\n"
    "                     seconds (default 10); slower clients are cut off\n"
    "  --per-ip-connections N  connections one client address may hold (default 128)\n"
    "  (and every option of `bookpipe run`, for the warehouse and Run now)\n"
    "\n" CLI_EXIT_HELP;

static const char doctor_usage[] =
    "usage: bookpipe doctor [run options]\n"
    "\n"
    "Check what a run with these options needs: libraries, the pipeline file,\n"
    "the dbt project, the input data, the warehouse (DuckDB: a writable folder\n"
    "and disk space; PostgreSQL: credentials, connectivity and privileges), the\n"
    "lake folder. Prints what is missing and how to fix it; exit 1 on a problem.\n"
    "Secrets are never printed.\n"
    "\n"
    "  (every option of `bookpipe run`)\n";

static const char ingest_usage[] =
    "usage: bookpipe ingest --data DIR|ZIP [options]\n"
    "\n"
    "Only the load stages, in one pass and one transaction, without the\n"
    "orchestrator (extract, clean, warehouse, lake); `run` runs the pipeline.\n"
    "Takes the same options as `bookpipe run`.\n\n" CLI_EXIT_HELP;

static const char query_usage[] =
    "usage: bookpipe query [--csv] [options] \"SQL\"\n"
    "\n"
    "Run one SQL statement against the warehouse and print the result as an\n"
    "aligned table, or with --csv as a header line and CSV rows. Unqualified\n"
    "table names resolve in the --schema. Read-only: one statement, which must\n"
    "read (SELECT, WITH, VALUES, TABLE, SHOW, DESCRIBE, or EXPLAIN of those);\n"
    "DuckDB attaches the warehouse read-only, PostgreSQL runs it in a read-only\n"
    "transaction. It runs as you: on DuckDB it may read files you can read\n"
    "(read_parquet('lake/latest/books.parquet')), as the duckdb shell does;\n"
    "`bookpipe serve`'s explorer may not.\n"
    "\n"
    "  --csv              CSV output\n"
    "  --max-rows N       table output: print at most N rows (default 1000, 0 = all)\n"
    CLI_WH_HELP
    "\n" CLI_EXIT_HELP;

static const char gen_usage[] =
    "usage: bookpipe gen --out DIR [--scale S] [--seed N] [--tastes T] [--format kaggle|bx] [--zip]\n"
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
    "  --tastes T         0 to 1: the share of a user's ratings that go to books of\n"
    "                     their two favourite genres (of 16) instead of by\n"
    "                     popularity alone (default 0: the files as before; no\n"
    "                     recommender can beat popularity on them). The demo uses 0.5.\n"
    "  --format F         kaggle (Books.csv, ...) or bx (BX-Books.csv, ...)\n"
    "  --zip              also pack the files into DIR/book-recommendation-dataset.zip\n"
    "\n" CLI_EXIT_HELP;

static const char dbt_usage[] =
    "usage: bookpipe dbt <command> [options]\n"
    "\n"
    "Run a dbt project without Python, as dbt-core with dbt-duckdb or dbt-postgres\n"
    "would: models, seeds, snapshots, tests, macros and packages (dbt_packages/).\n"
    "\n"
    "Commands:\n"
    "  build               seeds, models, snapshots and tests, in DAG order\n"
    "  run | seed | snapshot | test   one kind of node\n"
    "  compile             render every node's SQL into target/compiled/\n"
    "  ls (list)           the selected nodes; parse: write target/manifest.json\n"
    "  docs generate       manifest.json and catalog.json (columns from the warehouse)\n"
    "  run-operation M     call macro M (--args '{key: value}')\n"
    "  deps                link local: packages into dbt_packages/ (hub and git\n"
    "                      packages need the network: put a copy there yourself)\n"
    "  debug               check the project, the profile and the connection\n"
    "  clean               remove the project's clean-targets\n"
    "\n"
    "Supported: Jinja as dbt uses it (for, macro, call, set blocks, filters, tests,\n"
    "whitespace control), macros from macro-paths and packages, adapter.dispatch,\n"
    "dbt's cross-database macros, run_query/statement, adapter and api objects,\n"
    "generic tests of any package with severity/warn_if/error_if/where/limit/\n"
    "store_failures, hooks, on-run-start/end, generate_schema_name/alias/database\n"
    "overrides, seeds with dbt's type inference, snapshots (timestamp and check),\n"
    "materialized view, table, incremental (append, delete+insert, merge) and\n"
    "ephemeral, unit tests (dict/csv/sql rows, fixtures, overrides; in test and\n"
    "build; test_type:unit). Not supported, with a message when met: Python\n"
    "models, custom materializations, source freshness, hub/git packages offline.\n"
    "\n"
    "  --project-dir DIR   the dbt project (default: the current folder when it holds\n"
    "                      dbt_project.yml, else the bundled project/)\n"
    "  --profiles-dir DIR  where profiles.yml is (default: $DBT_PROFILES_DIR, the\n"
    "                      project, then ~/.dbt); without a profile, bookpipe's\n"
    "                      --warehouse and --schema are used\n"
    "  -t, --target NAME   the profile's output to use\n"
    "  -s, --select SEL    nodes to run: names, +x, x+, N+x, tag:, path:, ... (dbt syntax)\n"
    "  --exclude SEL       nodes to leave out\n"
    "  --vars YAML         variables, e.g. '{min_reviews: 5}'\n"
    "  --args YAML         run-operation: the macro's arguments\n"
    "  --full-refresh      rebuild incremental models and seeds from scratch\n"
    "  --empty             refs and sources read as zero rows: a schema-only dry run\n"
    "                      (run, build, snapshot, compile)\n"
    "  --store-failures    keep every failing test's rows in a table\n"
    "  -x, --fail-fast     stop at the first failure\n"
    "  --threads N         nodes run at once (default: the profile's, else 2)\n"
    "  -q, --quiet         no per-node lines\n"
    "  --warehouse FILE    DuckDB warehouse when the project has no profile\n"
    "  --schema NAME       schema when the project has no profile (default books_schema)\n"
    "\n"
    "Exit codes: 0 ok, 1 a model or test failed, 2 bad command line, 3 the project\n"
    "            cannot be read or compiled, 4 warehouse error.\n";

static const char lake_usage[] =
    "usage: bookpipe lake show|gc [--lake DIR|s3://BUCKET/PREFIX] [--keep N]\n"
    "\n"
    "The Parquet lake: run=<id>/ folders, one per run, and one pointer for the\n"
    "whole lake, `latest` (a symlink; in S3 an object naming the run), moved in\n"
    "one step when a run's every file is in place. Readers read latest/: every\n"
    "table of one complete run.\n"
    "\n"
    "  show               the published run\n"
    "  gc                 remove old runs: all but the last N (--keep, default 5,\n"
    "                     or --lake-keep) and the published one; `run` does this\n"
    "                     after each publish\n"
    "\n" CLI_EXIT_HELP;

static const char recommend_usage[] =
    "usage: bookpipe recommend [--evaluate | --user ID | --isbn ISBN] [options]\n"
    "\n"
    "Book recommendations from the loaded ratings (run the pipeline first).\n"
    "Without --evaluate, --user or --isbn: train item-kNN on every interaction\n"
    "and publish rec_items, rec_item_neighbors (20 per book) and rec_user_top\n"
    "(10 per user, with the book each is most like) in one swap, as the\n"
    "pipeline's recommend block does.\n"
    "\n"
    "  --evaluate         leave-one-out over the full catalogue: users with 5 or\n"
    "                     more interactions (a seeded sample of --users per seed),\n"
    "                     one held out each, ranked against every item they do not\n"
    "                     have; HR, NDCG at 10 and 100, MRR, with bootstrap 95%%\n"
    "                     intervals, coverage and mean popularity; printed and\n"
    "                     stored in rec_eval\n"
    "  --user ID          that user's list, from rec_user_top (a user without\n"
    "                     ratings gets the most-read books)\n"
    "  --isbn ISBN        the books most like this one, from rec_item_neighbors\n"
    "  --methods LIST     --evaluate: of random, popularity, knn, knn-bm25, ease,\n"
    "                     als (default: all six)\n"
    "  --method M         the method of rec_user_top: popularity, knn (default),\n"
    "                     knn-bm25, ease or als\n"
    "  --items work|isbn  an item is a work (editions grouped by normalised title\n"
    "                     and author; default) or an ISBN\n"
    "  --interactions all|explicit   every rating, implicit 0s too (default), or\n"
    "                     only explicit ratings of 6 and up\n"
    "  --k N              kNN neighbours per item (default 20)\n"
    "  --shrink X         kNN: similarities times c / (c + X), c the readers two\n"
    "                     books share (default 100)\n"
    "  --min-readers N    kNN: books with fewer readers get no neighbours and are\n"
    "                     no one's (default 2)\n"
    "  --ease-n N         EASE: the N most-read items (default sized to the memory,\n"
    "                     at most 6,000)\n"
    "  --ease-lambda X    EASE: L2 weight (default 500)\n"
    "  --factors N        iALS: latent factors (default 32)\n"
    "  --alpha X          iALS: an interaction's confidence is 1 + X (default 10)\n"
    "  --reg X            iALS: L2 weight (default 0.1)\n"
    "  --iterations N     iALS: alternations (default 12)\n"
    "  --users N          --evaluate: test users per seed (default 5,000)\n"
    "  --seeds N          --evaluate: seeds (default 3)\n"
    "  --seed N           --evaluate: the first seed (default 1)\n"
    "  --top N            list length (default 10)\n"
    CLI_WH_HELP
    "\n" CLI_EXIT_HELP;

static const char version_usage[] =
    "usage: bookpipe version\n\nPrint bookpipe's version and the DuckDB it runs on.\n";

const cli_cmd cli_commands[] = {
    {"run", cmd_run, "run the pipeline: extract, clean, lake, load, models, tests", run_usage},
    {"runs", cmd_runs, "list pipeline runs, or show one run's blocks", runs_usage},
    {"logs", cmd_logs, "print one block's log of a run", logs_usage},
    {"schedule", cmd_schedule, "start runs on the pipeline's cron schedule", schedule_usage},
    {"serve", cmd_serve, "the web API: explorer, run history, Run now", serve_usage},
    {"doctor", cmd_doctor, "check what a run needs and say how to fix what is missing",
     doctor_usage},
    {"ingest", cmd_ingest, "only the load stages (extract, clean, warehouse, lake)",
     ingest_usage},
    {"query", cmd_query, "run SQL against the warehouse", query_usage},
    {"gen", cmd_gen, "generate a Book-Crossing-shaped dataset", gen_usage},
    {"recommend", cmd_recommend, "train, evaluate and ask for book recommendations",
     recommend_usage},
    {"dbt", cmd_dbt, "run a dbt project: build, run, test, seed, snapshot, compile, docs...",
     dbt_usage},
    {"lake", cmd_lake, "show the published lake run, or remove old runs (gc)", lake_usage},
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

/* The library's messages, as the command's own: "bookpipe CMD: warning:
 * ..." on stderr; notices on stdout; a thread's scope (serve's request or
 * run) in brackets. */
static void print_log(void *data, bp_log_level level, const char *scope, const char *msg)
{
    const char *cmd = data;
    FILE *f = level == BP_LOG_INFO ? stdout : stderr;
    fprintf(f, "bookpipe %s: %s%s%s%s%s\n", cmd, scope ? "[" : "", scope ? scope : "",
            scope ? "] " : "", level == BP_LOG_WARN ? "warning: " : "", msg);
    fflush(f);
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
        /* A file over `ulimit -f` would kill the process with SIGXFSZ and no
         * word; ignored, the write fails with EFBIG and the error says so. */
        signal(SIGXFSZ, SIG_IGN);
        /* libcurl (Kaggle, S3) is set up once, before any thread starts */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
            fprintf(stderr, "bookpipe: cannot initialize libcurl\n");
            return BP_EXIT_FAIL;
        }
        bp_log_set_sink(print_log, (void *)c->name);
        int rc = c->run(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    fprintf(stderr, "bookpipe: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return BP_EXIT_USAGE;
}
