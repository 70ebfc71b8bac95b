/* yml.c: building the node tree from libyaml's events. */
#include "yml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "arena.h"
#include "buf.h"

struct yml_doc {
    arena mem;
    yml_node *root;
    char file[1024];
    /* anchors seen so far */
    struct {
        const char *name;
        yml_node *node;
    } *anchors;
    size_t nanchors, capanchors;
};

static void *dalloc(yml_doc *d, size_t n) { return arena_alloc(&d->mem, n); }
static char *dstrdup(yml_doc *d, const char *s, size_t n) { return arena_strndup(&d->mem, s, n); }

void yml_free(yml_doc *d)
{
    if (!d)
        return;
    arena_free(&d->mem);
    free(d->anchors);
    free(d);
}

yml_node *yml_root(const yml_doc *d) { return d ? d->root : NULL; }
const char *yml_file(const yml_doc *d) { return d->file; }

typedef struct {
    yml_doc *d;
    yaml_parser_t p;
    bp_err *err;
} builder;

static bp_status perr(builder *b, const char *what, int line, int col)
{
    return bp_fail(b->err, BP_EINPUT, "%s:%d:%d: %s", b->d->file, line, col, what);
}

static bp_status next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->p, ev)) {
        char msg[512];
        snprintf(msg, sizeof msg, "YAML error: %s%s%s", b->p.problem ? b->p.problem : "bad YAML",
                 b->p.context ? " " : "", b->p.context ? b->p.context : "");
        return perr(b, msg, (int)b->p.problem_mark.line + 1, (int)b->p.problem_mark.column + 1);
    }
    return BP_OK;
}

static bp_status remember(builder *b, const yaml_char_t *anchor, yml_node *n)
{
    yml_doc *d = b->d;
    if (!anchor)
        return BP_OK;
    if (d->nanchors == d->capanchors) {
        size_t cap = d->capanchors ? d->capanchors * 2 : 8;
        void *a = realloc(d->anchors, cap * sizeof *d->anchors);
        if (!a)
            return bp_fail(b->err, BP_ENOMEM, "out of memory");
        d->anchors = a;
        d->capanchors = cap;
    }
    d->anchors[d->nanchors].name = dstrdup(d, (const char *)anchor, strlen((const char *)anchor));
    d->anchors[d->nanchors++].node = n;
    return BP_OK;
}

/* Build the node that starts with event ev (already read). */
static bp_status build(builder *b, yaml_event_t *ev, yml_node **out)
{
    yml_doc *d = b->d;
    int line = (int)ev->start_mark.line + 1;
    if (ev->type == YAML_ALIAS_EVENT) {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = d->nanchors; i-- > 0;)
            if (strcmp(d->anchors[i].name, name) == 0) {
                *out = d->anchors[i].node;
                return BP_OK;
            }
        return perr(b, "unknown alias", line, (int)ev->start_mark.column + 1);
    }
    yml_node *n = dalloc(d, sizeof *n);
    if (!n)
        return bp_fail(b->err, BP_ENOMEM, "out of memory");
    n->line = line;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->kind = YML_SCALAR;
        n->str = dstrdup(d, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        *out = n;
        return n->str ? remember(b, ev->data.scalar.anchor, n)
                      : bp_fail(b->err, BP_ENOMEM, "out of memory");
    }
    bool map = ev->type == YAML_MAPPING_START_EVENT;
    if (!map && ev->type != YAML_SEQUENCE_START_EVENT)
        return perr(b, "unexpected YAML event", line, (int)ev->start_mark.column + 1);
    n->kind = map ? YML_MAP : YML_SEQ;
    const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (remember(b, anchor, n) != BP_OK)
        return BP_ENOMEM;
    size_t cap = 0;
    for (;;) {
        yaml_event_t e;
        if (next_event(b, &e) != BP_OK)
            return BP_EINPUT;
        if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        const char *key = NULL;
        if (map) {
            if (e.type != YAML_SCALAR_EVENT) {
                int l = (int)e.start_mark.line + 1, c = (int)e.start_mark.column + 1;
                yaml_event_delete(&e);
                return perr(b, "mapping keys must be plain values", l, c);
            }
            key = dstrdup(d, (const char *)e.data.scalar.value, e.data.scalar.length);
            yaml_event_delete(&e);
            if (next_event(b, &e) != BP_OK)
                return BP_EINPUT;
        }
        yml_node *child = NULL;
        bp_status st = build(b, &e, &child);
        yaml_event_delete(&e);
        if (st != BP_OK)
            return st;
        if (n->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            yml_node **items = dalloc(d, nc * sizeof *items);
            const char **keys = map ? dalloc(d, nc * sizeof *keys) : NULL;
            if (!items || (map && !keys))
                return bp_fail(b->err, BP_ENOMEM, "out of memory");
            if (n->n) {
                memcpy(items, n->items, n->n * sizeof *items);
                if (map)
                    memcpy(keys, n->keys, n->n * sizeof *keys);
            }
            n->items = items;
            n->keys = keys;
            cap = nc;
        }
        n->items[n->n] = child;
        if (map)
            n->keys[n->n] = key;
        n->n++;
    }
    *out = n;
    return BP_OK;
}

bp_status yml_parse(const char *name, const char *text, size_t len, yml_doc **out, bp_err *err)
{
    builder b = {calloc(1, sizeof(yml_doc)), {0}, err};
    if (!b.d)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    snprintf(b.d->file, sizeof b.d->file, "%s", name);
    if (!yaml_parser_initialize(&b.p)) {
        yml_free(b.d);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&b.p, (const unsigned char *)text, len);
    bp_status st = BP_OK;
    yaml_event_t e;
    bool in_doc = false;
    while ((st = next_event(&b, &e)) == BP_OK) {
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (in_doc || b.d->root) {
                int l = (int)e.start_mark.line + 1;
                yaml_event_delete(&e);
                st = perr(&b, "only one YAML document per file is read", l, 1);
                break;
            }
            in_doc = true;
        } else if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                   t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            st = build(&b, &e, &b.d->root);
        } else if (t == YAML_DOCUMENT_END_EVENT) {
            in_doc = false;
        }
        yaml_event_delete(&e);
        if (st != BP_OK)
            break;
    }
    yaml_parser_delete(&b.p);
    if (st != BP_OK) {
        yml_free(b.d);
        return st;
    }
    *out = b.d;
    return BP_OK;
}

bp_status yml_load(const char *path, yml_doc **out, bp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bp_fail(err, BP_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    buf text = {0};
    text.limit = 64u << 20;
    char chunk[65536];
    size_t n;
    bp_status st = BP_OK;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(&text, chunk, n) != BP_OK) {
            st = bp_fail(err, BP_EINPUT, "%s: too large for a YAML file", path);
            break;
        }
    if (st == BP_OK && ferror(f))
        st = bp_fail(err, BP_EINPUT, "%s: read failed", path);
    fclose(f);
    if (st == BP_OK)
        st = yml_parse(path, text.p ? text.p : "", text.len, out, err);
    buf_free(&text);
    return st;
}

yml_node *yml_get(const yml_node *m, const char *key)
{
    if (!m || m->kind != YML_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->items[i];
    return NULL;
}

const char *yml_get_str(const yml_node *m, const char *key, const char *dflt)
{
    yml_node *v = yml_get(m, key);
    return v && v->kind == YML_SCALAR && !yml_is_null(v) ? v->str : dflt;
}

bool yml_is_null(const yml_node *n)
{
    if (!n)
        return true;
    if (n->kind != YML_SCALAR || n->quoted)
        return false;
    return !*n->str || strcmp(n->str, "~") == 0 || strcasecmp(n->str, "null") == 0;
}

bool yml_bool(const yml_node *n, bool dflt)
{
    if (!n || n->kind != YML_SCALAR)
        return dflt;
    static const char *const yes[] = {"true", "yes", "on", "y"}, *const no[] = {"false", "no",
                                                                                 "off", "n"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(n->str, yes[i]) == 0)
            return true;
        if (strcasecmp(n->str, no[i]) == 0)
            return false;
    }
    return dflt;
}
