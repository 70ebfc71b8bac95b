/* cli.h: what the subcommands share: the command table, flag parsing and
 * the warehouse flags every warehouse-touching command takes.
 *
 * Commands only parse arguments and call the library; messages start with
 * "bookpipe <command>:" and go to stderr, results go to stdout. */
#ifndef BP_CLI_H
#define BP_CLI_H

#include <stdbool.h>

#include "../core/err.h"
#include "../core/version.h"
#include "../orch/orch.h"
#include "../orch/request.h"
#include "../wh/wh.h"


typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage;  /* the full --help text of the command */
} cli_cmd;

#define CLI_WH_HELP                                                                   \
    "  --warehouse FILE   DuckDB warehouse file (default ./bookpipe.duckdb)\n"        \
    "  --schema NAME      schema of the loaded tables (default books_schema)\n"       \
    "  --target NAME      warehouse target: duckdb (default), postgres or redshift\n"\
    "  --dsn DSN          postgres, redshift: conninfo or URI (default: PGHOST, ...)\n"

#define CLI_EXIT_HELP                                                                 \
    "Exit codes: 0 ok, 1 failure, 2 bad command line, 3 bad or missing input,\n"      \
    "            4 warehouse error, 5 lake error, 130 interrupted.\n"

/* Argument cursor: flags are "--name value" or "--name=value". */
typedef struct {
    int argc, i;
    char **argv;
    const char *cmd;
    const char *val;    /* value of the flag just matched */
    bool failed;
} cli_args;

void cli_args_init(cli_args *a, const char *cmd, int argc, char **argv);
/* Is the current argument --name (taking a value when with_value)? On a
 * match the cursor moves past it and a->val holds the value. */
bool cli_flag(cli_args *a, const char *name, bool with_value);
/* Match one of the warehouse flags into w. */
bool cli_wh_flag(cli_args *a, wh_spec *w);
/* Parse an integer flag value within [lo, hi]; complains on failure. */
bool cli_int(cli_args *a, long long lo, long long hi, long long *out);

/* Opening w failed with st and msg: say so, naming the run that holds a
 * DuckDB warehouse when one does; returns the exit code. */
int cli_open_fail(const char *cmd, const wh_spec *w, bp_status st, const char *msg);

/* Print "bookpipe CMD: msg" to stderr and return the exit code for st. */
int cli_fail(const char *cmd, bp_status st, const char *msg);
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Did the user ask for help? (-h, --help) */
bool cli_wants_help(int argc, char **argv);

/* A command's own flags besides run's: true when it matched argv[a->i]. */
typedef bool (*cli_extra_fn)(cli_args *a, void *ctx);
/* Parse run flags (and the caller's, through extra); returns 0 or an exit code. */
int cli_run_parse(const char *cmd, int argc, char **argv, run_request *cr, cli_extra_fn extra,
                  void *ctx);
/* The exit code for a run's outcome. */
int cli_run_exit(const char *cmd, bp_status st, const bp_err *err, const orch_result *res);
/* Ctrl-C / SIGTERM set the flag that cancels runs (orch_request_stop). */
void cli_catch_signals(void);

/* Run sql and print its result as a table (or CSV); returns an exit code. */
int cli_print_query(wh *w, const char *sql, bool csv, long long max_rows, const char *cmd);

int cmd_runs(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_lake(int argc, char **argv);
int cmd_dbt(int argc, char **argv);

extern const cli_cmd cli_commands[];

#endif
