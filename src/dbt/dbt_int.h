/* dbt_int.h: the runner's private types, shared by project.c (loading and
 * the graph), compile.c (Jinja and SQL), select.c and exec.c. */
#ifndef BP_DBT_INT_H
#define BP_DBT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/yml.h"
#include "dbt.h"

typedef enum { NT_MODEL, NT_SEED, NT_TEST, NT_SOURCE } node_type;

typedef enum { ST_NONE, ST_SUCCESS, ST_ERROR, ST_SKIPPED, ST_PASS, ST_FAIL, ST_WARN } node_status;

typedef struct {
    const char *materialized;  /* view, table, incremental, ephemeral */
    const char *schema;        /* custom schema, or NULL */
    bool enabled;
    const char *tags[16];
    int ntags;
    const char *unique_key;
    const char *severity;      /* tests: error (default) or warn */
    const char *where;         /* tests */
    const yml_node *column_types; /* seeds */
} node_config;

typedef struct {
    node_type type;
    const char *name;          /* model/seed/test name; source: "src.table" */
    const char *unique_id;
    const char *path;          /* original_file_path, relative to the project */
    const char *file;          /* full path, for messages */
    const char *fqn[16];
    int nfqn;
    const char *raw;           /* SQL text (models, singular tests) */
    size_t raw_n;
    struct jinja_tpl *tpl;     /* raw, parsed (once: renders share it) */
    node_config cfg;
    const char *schema;        /* resolved */
    const char *relation;      /* what ref() renders */
    int *deps;                 /* parents (node indexes) */
    int ndeps, capdeps;
    /* generic tests */
    const char *test_kind;     /* not_null, unique, accepted_values, relationships; NULL: singular */
    int attached;              /* the model a test belongs to, -1 for none */
    const char *column;
    const yml_node *test_args; /* the test's arguments (values, to, field, quote) */
    /* sources */
    const char *src_name, *tbl_name;
    /* compile and run */
    char *compiled;
    node_status status;
    double secs;
    char message[512];
    long long failures;
    bool selected, in_run;
} node;


typedef struct {
    dbt_opts opts;
    char dir[4096];
    const char *name;
    yml_doc *project_doc, *profiles_doc, *vars_doc;
    yml_doc **docs;            /* properties files */
    int ndocs, capdocs;
    const yml_node *vars;      /* dbt_project.yml vars: */
    const yml_node *cli_vars;  /* --vars */
    /* the active target */
    const char *target_name, *target_type, *target_schema, *target_db, *wh_path;
    const char *dsn;           /* postgres: libpq conninfo (holds the password: never print) */
    int threads;
    int macro_files;
    node *nodes;
    int nnodes, capnodes;
    arena mem;
} project;

/* project.c */
bp_status proj_load(project *p, const dbt_opts *o, bp_err *err);
void proj_free(project *p);
const char *proj_str(project *p, const char *s, size_t n);  /* arena copy */
const char *proj_strf(project *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int proj_find(const project *p, node_type t, const char *name);
bp_status proj_add_dep(project *p, int child, int parent, bp_err *err);

/* compile.c */
/* Parse pass: render every model and singular test once to learn refs,
 * sources and config() calls. */
bp_status compile_parse(project *p, bp_err *err);
/* Edges from relationships tests to the model their `to:` names. */
bp_status compile_test_edges(project *p, bp_err *err);
/* Compile node i (models with ephemeral CTEs injected, tests wrapped). */
bp_status compile_node(project *p, int i, bool incremental_ready, bp_err *err);
/* Render a string holding Jinja (profiles values, relationships `to:`). */
bp_status compile_string(project *p, const char *what, const char *text, buf *out, int child,
                         bp_err *err);

/* select.c */
/* Mark p->nodes[i].selected for the --select/--exclude expressions. */
bp_status select_nodes(project *p, const char *select, const char *exclude, bp_err *err);

/* exec.c */
bp_status exec_command(project *p, dbt_summary *sum, bp_err *err);

#endif
