/* dbt_int.h: the runner's private types, shared by its modules:
 *
 *   project.c   reading a project: files, configs, the graph of nodes
 *   props.c     properties files: sources, columns, generic tests
 *   macros.c    packages and their macros, adapter.dispatch
 *   context.c   the Jinja context dbt gives templates (ref, config, adapter...)
 *   relation.c  Relation, Column and result-table objects
 *   compile.c   rendering nodes, tests and hooks
 *   select.c    --select / --exclude
 *   exec.c      the scheduler and the command's report
 *   materialize.c  models (view, table, incremental), seeds, snapshots, tests
 *   unit.c      unit tests: their definitions, fixtures and the comparison
 *   artifacts.c target/manifest.json, run_results.json, catalog.json
 *   ops.c       the commands that run no graph: deps, run-operation, debug
 */
#ifndef BP_DBT_INT_H
#define BP_DBT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/strmap.h"
#include "../core/yml.h"
#include "../jinja/jinja.h"
#include "dbt.h"

typedef enum {
    NT_MODEL, NT_SEED, NT_TEST, NT_SOURCE, NT_SNAPSHOT, NT_ANALYSIS, NT_EXPOSURE, NT_UNIT,
    NT_NTYPES
} node_type;

typedef enum { ST_NONE, ST_SUCCESS, ST_ERROR, ST_SKIPPED, ST_PASS, ST_FAIL, ST_WARN } node_status;

#define MAX_TAGS 32

/* The typed view of a node's config (config.all holds every key, for
 * config.get and the manifest). */
typedef struct {
    const char *materialized;  /* view, table, incremental, ephemeral, seed, test, snapshot */
    const char *schema;        /* custom schema, or NULL */
    const char *database;      /* custom database, or NULL */
    const char *alias;         /* custom alias, or NULL */
    bool enabled;
    const char *tags[MAX_TAGS];
    int ntags;
    const char *unique_key;    /* an expression (a list is joined with ", ") */
    const char *severity;      /* tests: error (default) or warn */
    const char *where;         /* tests */
    const char *warn_if, *error_if, *fail_calc;
    long long limit;           /* tests: -1 for none */
    bool store_failures;
    const char *incremental_strategy; /* append, delete+insert, merge */
    int full_refresh;          /* -1 unset, else the node's own setting */
    jv *all;                   /* dict of every key (project arena) */
} node_config;

struct dbt_pkg;
struct unit_def;

typedef struct {
    node_type type;
    const char *name;          /* model/seed/test name; source: "src.table" */
    const char *unique_id;
    const char *path;          /* original_file_path, relative to its package */
    const char *file;          /* full path, for messages */
    struct dbt_pkg *pkg;       /* the package it belongs to */
    const char *fqn[16];
    int nfqn;
    const char *raw;           /* SQL text (models, singular tests, snapshots) */
    size_t raw_n;
    struct jinja_tpl *tpl;     /* raw, parsed (once: renders share it) */
    struct jinja_macro *block; /* a snapshot's {% snapshot %} block */
    node_config cfg;
    const char *database;      /* resolved */
    const char *schema;
    const char *identifier;    /* alias, or the source table's identifier */
    const char *relation;      /* what ref() renders */
    int *deps;                 /* parents (node indexes) */
    int ndeps, capdeps;
    int *kids;                 /* children (made once the graph is complete) */
    int nkids;
    const char *description;
    const yml_node *columns;   /* properties columns: (a list), or NULL */
    const yml_node *meta;
    const yml_node *props;     /* its entry in a properties file, or NULL */
    const char **macro_deps;   /* macro.<package>.<name> it calls (seen while parsing) */
    int nmacro_deps, capmacro_deps;
    bool python;               /* a .py model: refused when run */
    const char *version;       /* a versioned model's v (its name is the model's) */
    char parse_error[600];     /* the parse render failed: the node fails when run */
    /* generic tests */
    const char *test_kind;     /* the test's name (not_null, dbt_utils.equality); NULL: singular */
    struct jinja_macro *test_macro;
    int attached;              /* the model a test belongs to (a unit test: the one it
                                * tests), -1 for none */
    struct unit_def *unit;     /* a unit test's given, expect and overrides */
    const char *column;
    jv *test_kwargs;           /* the arguments as written (strings still Jinja) */
    /* sources */
    const char *src_name, *tbl_name;
    const char *loaded_at_field;
    const yml_node *src_def, *tbl_def;  /* its source: and tables: entries */
    /* compile and run */
    char *compiled;
    char *test_sql;            /* tests: the query inside dbt's wrapper */
    node_status status;
    double secs;
    double began;        /* when it started running, epoch seconds (run_results timing) */
    char message[512];
    const char *detail;        /* a failure's whole story (a unit test's diff), or NULL */
    long long failures;
    bool selected, in_run;
    jv *model_dict;            /* `model` / graph entry (project arena) */
} node;

/* A dbt package: the root project, an installed one, or dbt's own. */
typedef struct dbt_pkg {
    const char *name;
    const char *dir;
    bool root, internal;
    yml_doc *doc;              /* its dbt_project.yml (NULL for dbt's own) */
    strmap macros;             /* name -> jinja_macro (tests as test_<name>) */
    strmap docs;               /* docs blocks: name -> jinja_macro */
    jv *ns;                    /* the namespace value (dbt_utils.x) */
} dbt_pkg;

typedef struct project {
    dbt_opts opts;
    char dir[4096];
    const char *name;
    yml_doc *project_doc, *profiles_doc, *vars_doc;
    yml_doc **docs;            /* properties files */
    const char **doc_pkg;      /* the package each one belongs to */
    int ndocs, capdocs;
    const yml_node *vars;      /* dbt_project.yml vars: */
    const yml_node *cli_vars;  /* --vars */
    /* the active target */
    const char *target_name, *target_type, *target_schema, *target_db, *wh_path;
    const wh_ops *wops;       /* the target type's traits (wh.h); never NULL once loaded */
    const char *profile_name;
    const yml_node *target_out; /* its output in profiles.yml (NULL: bookpipe's) */
    const char *profiles_path;
    const char *dsn;           /* postgres: libpq conninfo (holds the password: never print) */
    const char *catalog;       /* duckdb: the name the file is attached as (target.database) */
    int threads;
    node *nodes;
    int nnodes, capnodes;
    strmap by_name[NT_NTYPES]; /* per node type: name -> index + 1 */
    strmap by_uid;             /* unique_id -> index + 1 */
    strmap fixtures;           /* unit test fixtures: file stem -> full path */
    /* packages: [0] the root, then installed ones, then dbt's own */
    dbt_pkg *pkgs;
    int npkgs;
    strmap pkg_by_name;
    jinja_tpl **tpls;          /* macro files, kept for the macros' life */
    int ntpls, cappls;
    const yml_node *dispatch;  /* dbt_project.yml dispatch: */
    bool override_schema, override_alias, override_database; /* root macros of those names */
    bool parsed;               /* the parse pass is over (execute may be true) */
    dbt_pkg *yml_pkg;          /* loading: the package whose YAML is being rendered */
    const char *invocation_id, *run_started_at;
    jv *graph;                 /* built once, when first asked for */
    jv *flags;
    pthread_mutex_t mu;        /* the arena and the lazily built values */
    arena mem;
} project;

/* A render's state: what the context functions see (jinja_rt_data). */
typedef struct cctx {
    project *p;
    int node;          /* the node being rendered, or -1 */
    bool parse;        /* parse pass: record edges and config(); execute is false */
    bool incremental;  /* what is_incremental() answers */
    wh *w;             /* the connection for run_query and adapter calls, or NULL */
    bp_err *err;
    jv *results;       /* statement results by name (a dict in the render's arena) */
    jv *extra;         /* names the caller adds (on-run-end: results, schemas) */
    const struct unit_ctx *unit; /* rendering a model for a unit test: its inputs, overrides */
    bool fatal;        /* a ref() or source() to nothing: the project's error, not the node's */
    struct dbt_pkg *pkg; /* no node: the package whose text this is (its hooks), or NULL */
    jv *graph;         /* the render's copy of `graph`, once asked for */
} cctx;

/* project.c */
BP_MUST bp_status dbt_proj_load(project *p, const dbt_opts *o, bp_err *err);
/* Only dbt_project.yml, the vars and the profile (for debug). */
BP_MUST bp_status dbt_proj_load_config(project *p, const dbt_opts *o, bp_err *err);
void dbt_proj_free(project *p);
const char *dbt_proj_str(project *p, const char *s, size_t n);  /* arena copy (thread-safe) */
const char *dbt_proj_strf(project *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *dbt_proj_trim(project *p, const char *s);  /* arena copy without outer spaces */
int dbt_proj_find(const project *p, node_type t, const char *name);
int dbt_proj_find_uid(const project *p, const char *uid);
int dbt_proj_add_node(project *p, node_type t, const char *name, bp_err *err);
/* Give n its unique_id (NULL: out of memory) and index it. */
BP_MUST bp_status dbt_proj_set_uid(project *p, node *n, const char *uid, bp_err *err);
BP_MUST bp_status dbt_proj_add_dep(project *p, int child, int parent, bp_err *err);
BP_MUST bp_status dbt_proj_read_file(project *p, const char *path, const char **out, size_t *n, bp_err *err);
/* Configs: set one key (from YAML or a config() call) with dbt's merge
 * rules (tags and hooks add up, meta and the like merge, the rest wins). */
BP_MUST bp_status dbt_cfg_set(project *p, node *n, const char *key, const jv *v);
BP_MUST bp_status dbt_cfg_set_yml(project *p, node *n, const yml_node *map);
BP_MUST bp_status dbt_cfg_set_yml_key(project *p, node *n, const char *key, const yml_node *v);
/* The configs of dbt_project.yml's tree_key (models, seeds, ...) for n. */
/* Does s hold Jinja ({{ or {%)? */
bool dbt_has_jinja(const char *s);
/* profile.c: the target (type, connection, schema, database, threads) */
BP_MUST bp_status dbt_profile_load(project *p, bp_err *err);
/* A connection to the target: its own (wh_open), with the DuckDB settings
 * of the output's `settings:` (dbt-duckdb: memory_limit, threads, ...). */
BP_MUST bp_status dbt_profile_open(project *p, wh **out, bp_err *err);
BP_MUST bp_status dbt_proj_apply_tree(project *p, node *n, const char *tree_key);
jv *dbt_cfg_get(const node *n, const char *key);
/* node.config as dbt shows it: the type's defaults, then what was set */
jv *dbt_cfg_full(arena *a, const node *n);
const char *dbt_cfg_str(const node *n, const char *key);
/* Render the Jinja in a YAML tree's strings, in place, as dbt does for
 * dbt_project.yml and properties (keys in skip are left as written). */
BP_MUST bp_status dbt_proj_render_yml(project *p, yml_node *v, const char *file,
                          const char *const *skip, bp_err *err);
jv *dbt_proj_yml_value(arena *a, const yml_node *v);
const char *dbt_node_type_name(node_type t);
/* Now in UTC, ISO 8601 with microseconds, then zone ("Z", "+00:00"). */
void dbt_proj_iso_now(char *out, size_t n, const char *zone);
bool dbt_node_is_ephemeral(const node *n);

/* props.c */
BP_MUST bp_status dbt_props_load(project *p, bp_err *err);
BP_MUST bp_status dbt_props_tests(project *p, bp_err *err);
/* A file's path inside its package (dbt's original_file_path). */
const char *dbt_props_rel_path(const dbt_pkg *pkg, const char *file);
/* Start n's fqn as dbt does for what a properties file declares: its
 * package, then the file's folders below its resource path (n->path and
 * n->pkg set); the caller adds the names. */
void dbt_props_fqn_folders(project *p, node *n);

/* macros.c */
BP_MUST bp_status dbt_macros_load(project *p, bp_err *err);
void dbt_macros_free(project *p);
dbt_pkg *dbt_pkg_find(const project *p, const char *name);
/* A macro by name as the template at hand sees it (the node's package,
 * the root project, dbt's own); NULL when none. */
struct jinja_macro *dbt_macro_lookup(const project *p, const dbt_pkg *local, const char *name);
struct jinja_macro *dbt_macro_in(const dbt_pkg *pkg, const char *name);
/* adapter.dispatch(name, namespace): the macro, or NULL with *tried set. */
struct jinja_macro *dbt_macro_dispatch(const project *p, const dbt_pkg *local, const char *name,
                                   const char *ns, buf *tried);
/* The adapter's macro prefixes, most specific first, then default. */
const char *const *dbt_adapter_prefixes(const project *p);
/* dbt_packages (or the project's packages-install-path) */
const char *dbt_pkg_install_dir(const project *p, char *out, size_t n);

/* context.c */
extern const jinja_env dbt_env;
/* Start a render for node (or -1) on connection w (NULL: none). */
jinja_rt *dbt_ctx_new(cctx *c, project *p, int node, bool parse, wh *w, bp_err *err);
dbt_pkg *dbt_ctx_local_pkg(jinja_rt *rt);
jv *dbt_ctx_relation_of(jinja_rt *rt, project *p, int node);
jv *dbt_ctx_model_dict(project *p, int node);
/* Record that node calls macro m (depends_on.macros). */
void dbt_ctx_macro_dep(project *p, int node, const struct jinja_macro *m);

/* relation.c */
typedef struct {
    const char *database, *schema, *identifier;
    const char *type;          /* table, view, cte, external, materialized_view or NULL */
    bool inc_db, inc_schema, inc_ident;
    bool q_db, q_schema, q_ident;
    const char *cte;           /* ephemeral: the CTE name it renders as */
    bool empty;                /* --empty: as text, a query of none of its rows */
} dbt_rel;
jv *dbt_rel_new(arena *a, const project *p, const dbt_rel *r);
bool dbt_rel_from(const jv *v, dbt_rel *out);
BP_MUST bp_status dbt_rel_render(const project *p, const dbt_rel *r, buf *out);
jv *dbt_rel_api(arena *a, project *p);     /* api: Relation, Column */
jv *dbt_col_new(arena *a, const char *name, const char *dtype, long long char_size,
            long long precision, long long scale);
/* A result table (agate-like) from rows of text. */
typedef struct rtable rtable;
rtable *dbt_rtable_new(arena *a);
bool dbt_rtable_set_cols(rtable *t, arena *a, size_t nc, const wh_col *cols);
bool dbt_rtable_add_row(rtable *t, arena *a, const char *const *vals);
jv *dbt_rtable_value(arena *a, rtable *t);
/* A table's rows (a list of Row objects), or NULL. */
jv *dbt_rel_table_rows(jinja_rt *rt, jv *table);
/* wh_query callback filling an rtable */
int dbt_rtable_take(void *ctx, size_t nc, const wh_col *cols, const char *const *vals);
/* Run sql and fill a table (in the render's arena); its column values are
 * typed from the column types. */
BP_MUST bp_status dbt_rel_query_table(jinja_rt *rt, wh *w, const char *sql, jv **table, bp_err *err);

/* compile.c */
/* Parse pass: render every model, singular test, snapshot and analysis
 * once (execute false) to learn refs, sources and config() calls. */
BP_MUST bp_status dbt_compile_parse(project *p, bp_err *err);
/* Compile node i on w (models with ephemeral CTEs injected, tests
 * wrapped). */
BP_MUST bp_status dbt_compile_node(project *p, int i, wh *w, bool incremental_ready, bp_err *err);
/* Render a string holding Jinja in node child's context (-1: none). */
BP_MUST bp_status dbt_compile_string(project *p, const char *what, const char *text, buf *out, int child,
                         bp_err *err);
/* The same, as dbt's native renderer: the value ("{{ var('x', false) }}" is false). */
BP_MUST bp_status dbt_compile_native(project *p, const char *what, const char *text, int child, arena *a,
                         jv **out, bp_err *err);
/* A test's arguments rendered as dbt does (ref('x') strings become
 * relations), into the render rt's arena: the dict the test macro gets. */
BP_MUST bp_status dbt_compile_test_kwargs(jinja_rt *rt, project *p, int i, jv **out, bp_err *err);
/* Parse expr (ref('x'), source('a', 'b')) for node i: its edges. */
BP_MUST bp_status dbt_compile_ref_expr(project *p, int i, const char *expr, bp_err *err);
/* The parse pass for a generic test: edges to what its arguments ref(). */
BP_MUST bp_status dbt_compile_test_refs(project *p, int i, bp_err *err);
/* Run the hooks of kind ("pre-hook", "post-hook") of node i on w. */
BP_MUST bp_status dbt_compile_run_hooks(project *p, int i, wh *w, const char *kind, bp_err *err);
/* Call a macro by name (with the dbt context) and keep its text result. */
BP_MUST bp_status dbt_compile_call_macro(project *p, int node, wh *w, const char *name, const jv_args *a,
                             buf *out, jv *extra, bp_err *err);
/* A unit test's render of model i (refs, sources and `this` as its
 * inputs' CTEs, its overrides in the context). */
BP_MUST bp_status dbt_compile_unit_model(project *p, int i, wh *w, const struct unit_ctx *u,
                                         buf *out, bp_err *err);
/* Put "name as (...), ..." (ctes) in front of sql as dbt injects CTEs:
 * into the query's own WITH, or a new one. */
BP_MUST bp_status dbt_compile_splice_ctes(buf *sql, const buf *ctes, bp_err *err);
/* Names of schema/alias/database for node i (generate_*_name). */
BP_MUST bp_status dbt_compile_names(project *p, int i, bp_err *err);

/* select.c */
/* Mark p->nodes[i].selected for the --select/--exclude expressions. */
BP_MUST bp_status dbt_select_nodes(project *p, const char *select, const char *exclude, bp_err *err);

/* materialize.c */
/* The columns of a relation (information_schema), names and types. */
typedef struct {
    char **names;
    char **types;
    size_t n, cap;
} colset;
BP_MUST bp_status dbt_mat_columns(wh *w, const char *schema, const char *name, colset *out,
                                  bp_err *err);
void dbt_mat_colset_free(colset *c);
/* ident + suffix as a name that keeps its suffix within PostgreSQL's 63
 * bytes (the identifier cut first). */
void dbt_mat_work_name(const char *ident, const char *suffix, char *out, size_t sz);
BP_MUST bp_status dbt_mat_model(project *p, wh *w, int i, bp_err *err);
BP_MUST bp_status dbt_mat_seed(project *p, wh *w, int i, long long *rows, bp_err *err);
BP_MUST bp_status dbt_mat_snapshot(project *p, wh *w, int i, bp_err *err);
BP_MUST bp_status dbt_mat_test(project *p, wh *w, int i, bp_err *err);
BP_MUST bp_status dbt_mat_relation_kind(wh *w, const char *schema, const char *name, char *out, size_t n,
                            bp_err *err);
BP_MUST bp_status dbt_mat_ensure_schema(wh *w, const char *schema, bp_err *err);

/* seed.c */
typedef struct {
    char **cells;   /* rows * ncols, NULL for empty and "null" */
    size_t rows, ncols, cap;
    char **names;
} seed_data;
BP_MUST bp_status dbt_seed_read(const node *n, char delimiter, seed_data *s, bp_err *err);
void dbt_seed_free(seed_data *s);
/* The column type dbt would give column c, for target type ttype. */
const char *dbt_seed_infer_type(const seed_data *s, size_t c, const wh_ops *target);

/* unit.c */
/* Unit tests of the root project's properties files (unit_tests:), once
 * the models' refs are known. */
BP_MUST bp_status dbt_unit_load(project *p, bp_err *err);
BP_MUST bp_status dbt_mat_unit(project *p, wh *w, int i, bp_err *err);
/* For context.c: what a name means in a unit test's render. The input
 * that stands for node k (its CTE's relation), or NULL when the test
 * gives none. */
jv *dbt_unit_input_rel(jinja_rt *rt, const struct unit_ctx *u, int k);
bool dbt_unit_this(const struct unit_ctx *u);
/* The override of a macro, var or env var (kind "macros", "vars",
 * "env_vars"), or NULL. */
const yml_node *dbt_unit_override(const struct unit_ctx *u, const char *kind, const char *name);

/* exec.c */
BP_MUST bp_status dbt_exec_command(project *p, dbt_summary *sum, bp_err *err);

/* artifacts.c */
BP_MUST bp_status dbt_art_manifest(project *p, bp_err *err);
BP_MUST bp_status dbt_art_run_results(project *p, const int *order, int n, double elapsed,
                          const char *started_at, bp_err *err);
BP_MUST bp_status dbt_art_catalog(project *p, wh *w, bp_err *err);
void dbt_art_write_compiled(project *p, const node *n);

/* ops.c */
BP_MUST bp_status dbt_ops_deps(const dbt_opts *o, bp_err *err);
BP_MUST bp_status dbt_ops_run_operation(project *p, bp_err *err);
BP_MUST bp_status dbt_ops_debug(const dbt_opts *o, bp_err *err);
BP_MUST bp_status dbt_ops_clean(const dbt_opts *o, bp_err *err);

#endif
