/* yml.h: YAML files as a small tree (libyaml underneath).
 *
 * Enough for dbt_project.yml, profiles.yml, properties files and
 * pipeline files: scalars, sequences and mappings, with the line of each
 * node for messages. Anchors and aliases are resolved by copying.
 * A yml_doc owns all its nodes; yml_free releases them (NULL-safe). */
#ifndef BP_YML_H
#define BP_YML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef enum { YML_SCALAR, YML_SEQ, YML_MAP } yml_kind;

typedef struct yml_node yml_node;
struct yml_node {
    yml_kind kind;
    int line;              /* 1-based */
    const char *str;       /* YML_SCALAR: the text */
    bool quoted;           /* YML_SCALAR: written in quotes (so never null/bool/number) */
    size_t n;              /* YML_SEQ / YML_MAP: item count */
    yml_node **items;      /* YML_SEQ: items; YML_MAP: values */
    const char **keys;     /* YML_MAP: keys */
};

typedef struct yml_doc yml_doc;

/* Parse a file (or, with yml_parse, text). An empty document gives a NULL
 * root. Errors name the file, line and column. */
BP_MUST bp_status yml_load(const char *path, yml_doc **out, bp_err *err);
BP_MUST bp_status yml_parse(const char *name, const char *text, size_t n, yml_doc **out, bp_err *err);
yml_node *yml_root(const yml_doc *d);
const char *yml_file(const yml_doc *d);
void yml_free(yml_doc *d);

/* The value of key in a mapping, or NULL (also when m is not a mapping). */
yml_node *yml_get(const yml_node *m, const char *key);
/* The scalar text of key, or dflt. */
const char *yml_get_str(const yml_node *m, const char *key, const char *dflt);
/* Is this scalar YAML's null (~, null, empty, unquoted)? */
bool yml_is_null(const yml_node *n);
/* YAML 1.1 booleans (true/false/yes/no/on/off); dflt for anything else. */
bool yml_bool(const yml_node *n, bool dflt);

#endif
