/* select.c: dbt's node selection: names, tag:, path:, resource_type:,
 * source:, fqn:, wildcards, graph operators (+x, x+, N+x, x+N, @x), union
 * (space), intersection (comma) and --exclude. Tests attached to a
 * selected node are selected too (dbt's eager indirect selection). */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbt_int.h"

static const char *type_name(node_type t) { return dbt_node_type_name(t); }

static bool path_matches(const char *path, const char *pat)
{
    size_t n = strlen(pat);
    while (n && pat[n - 1] == '/')
        n--;
    return path && strncmp(path, pat, n) == 0 && (path[n] == 0 || path[n] == '/' || n == 0);
}

/* dbt's fqn method (also what a bare name means): the node's own name, or
 * the leading parts of its fqn (package, folders, name; dots in a name
 * split it too), each a glob; a part `*` takes the rest. `elementary`
 * selects that package's nodes, `shop.staging` a folder's. */
static bool fqn_matches(const node *n, const char *sel)
{
    if (fnmatch(sel, n->name, 0) == 0)
        return true;
    char flat[1024], want[512];
    size_t len = 0;
    flat[0] = 0;
    for (int i = 0; i < n->nfqn; i++) { /* fqn parts joined by dots: the flat parts */
        int w = snprintf(flat + len, sizeof flat - len, "%s%s", i ? "." : "", n->fqn[i]);
        if (w < 0 || (size_t)w >= sizeof flat - len)
            return false;
        len += (size_t)w;
    }
    snprintf(want, sizeof want, "%s", sel);
    char *s1 = NULL, *s2 = NULL;
    char *w = strtok_r(want, ".", &s1), *f = strtok_r(flat, ".", &s2);
    for (; w; w = strtok_r(NULL, ".", &s1), f = strtok_r(NULL, ".", &s2)) {
        if (!strcmp(w, "*"))
            return true;
        if (!f || fnmatch(w, f, 0) != 0)
            return false;
    }
    return true;
}

/* Does node n match one method:value atom (no graph operators)? */
static bool atom_matches(const project *p, const node *n, const char *atom)
{
    const char *colon = strchr(atom, ':');
    if (colon) {
        size_t ml = (size_t)(colon - atom);
        const char *v = colon + 1;
        if (!strncmp(atom, "tag", ml) && ml == 3) {
            for (int i = 0; i < n->cfg.ntags; i++)
                if (fnmatch(v, n->cfg.tags[i], 0) == 0)
                    return true;
            return false;
        }
        if (!strncmp(atom, "path", ml) && ml == 4)
            return n->type != NT_SOURCE && path_matches(n->path, v);
        if (!strncmp(atom, "resource_type", ml) && ml == 13)
            return strcmp(type_name(n->type), v) == 0;
        if (!strncmp(atom, "exposure", ml) && ml == 8)
            return n->type == NT_EXPOSURE && fnmatch(v, n->name, 0) == 0;
        if (!strncmp(atom, "package", ml) && ml == 7)
            return n->pkg && fnmatch(v, n->pkg->name, 0) == 0;
        if (!strncmp(atom, "source", ml) && ml == 6)
            return n->type == NT_SOURCE && (fnmatch(v, n->name, 0) == 0 ||
                                            fnmatch(v, n->src_name, 0) == 0);
        if (!strncmp(atom, "fqn", ml) && ml == 3)
            return fqn_matches(n, v);
        if (!strncmp(atom, "config.materialized", ml) && ml == 19)
            return n->cfg.materialized && strcmp(n->cfg.materialized, v) == 0;
        if (!strncmp(atom, "test_type", ml) && ml == 9)
            return n->type == NT_UNIT ? !strcmp(v, "unit")
                   : n->type == NT_TEST && (!strcmp(v, n->test_kind ? "generic" : "singular") ||
                                            !strcmp(v, "data"));
        return false;
    }
    if (strchr(atom, '/'))
        return n->type != NT_SOURCE && path_matches(n->path, atom);
    (void)p;
    return n->type != NT_SOURCE && fqn_matches(n, atom);
}

/* Mark the ancestors (up) or descendants of i within depth steps (-1: all),
 * breadth first: each node once at its nearest distance, so a graph of
 * diamonds costs its edges, not its paths. */
static void mark(const project *p, int i, int depth, bool *set, bool up)
{
    if (depth == 0)
        return;
    int n = p->nnodes;
    int *dist = malloc((size_t)n * sizeof *dist), *queue = malloc((size_t)n * sizeof *queue);
    if (!dist || !queue) {
        free(dist);
        free(queue);
        return;
    }
    for (int k = 0; k < n; k++)
        dist[k] = -1;
    int head = 0, tail = 0;
    dist[i] = 0;
    queue[tail++] = i;
    while (head < tail) {
        int x = queue[head++];
        if (depth > 0 && dist[x] >= depth)
            continue;
        const node *nx = &p->nodes[x];
        int cnt = up ? nx->ndeps : nx->nkids;
        for (int k = 0; k < cnt; k++) {
            int y = up ? nx->deps[k] : nx->kids[k];
            if (dist[y] >= 0)
                continue;
            dist[y] = dist[x] + 1;
            set[y] = true;
            queue[tail++] = y;
        }
    }
    free(dist);
    free(queue);
}

static void mark_up(const project *p, int i, int depth, bool *set) { mark(p, i, depth, set, true); }

static void mark_down(const project *p, int i, int depth, bool *set)
{
    mark(p, i, depth, set, false);
}

/* Evaluate one term with its graph operators into set. */
static bp_status term(const project *p, const char *t, bool *set, bp_err *err)
{
    int up = 0, down = 0;
    bool at = false;
    const char *s = t;
    if (*s == '@') {
        at = true;
        s++;
    }
    if (isdigit((unsigned char)*s)) {
        char *e;
        long v = strtol(s, &e, 10);
        if (*e == '+') {
            up = (int)v;
            s = e + 1;
        }
    } else if (*s == '+') {
        up = -1;
        s++;
    }
    char atom[512];
    snprintf(atom, sizeof atom, "%s", s);
    char *plus = strrchr(atom, '+');
    if (plus && (plus[1] == 0 || isdigit((unsigned char)plus[1]))) {
        down = plus[1] ? (int)strtol(plus + 1, NULL, 10) : -1;
        *plus = 0;
    }
    if (!*atom)
        return bp_fail(err, BP_EUSAGE, "empty selector in '%s'", t);
    bool *base = calloc((size_t)p->nnodes + 1, 1);
    if (!base)
        return bp_fail(err, BP_ENOMEM, "out of memory");
    for (int i = 0; i < p->nnodes; i++)
        if (atom_matches(p, &p->nodes[i], atom))
            base[i] = true;
    for (int i = 0; i < p->nnodes; i++) {
        if (!base[i])
            continue;
        set[i] = true;
        if (up)
            mark_up(p, i, up, set);
        if (down || at)
            mark_down(p, i, at ? -1 : down, set);
    }
    if (at) /* ancestors of all those descendants */
        for (int i = 0; i < p->nnodes; i++)
            if (set[i])
                mark_up(p, i, -1, set);
    free(base);
    return BP_OK;
}

/* Tests follow the nodes they test (dbt's eager indirect selection): a
 * test with a selected parent other than a source, a unit test whose
 * model is selected. */
static void add_tests(const project *p, bool *sel)
{
    for (int i = 0; i < p->nnodes; i++) {
        const node *t = &p->nodes[i];
        if (t->type == NT_UNIT && !sel[i])
            sel[i] = sel[t->attached];
        if (t->type != NT_TEST || sel[i])
            continue;
        for (int k = 0; k < t->ndeps && !sel[i]; k++)
            sel[i] = sel[t->deps[k]] && p->nodes[t->deps[k]].type != NT_SOURCE;
    }
}

/* Evaluate a space-separated union of comma-separated intersections. As
 * dbt combines them, an intersection keeps what every part selects, and
 * the tests every part selects directly or through its nodes:
 * `dim_customers,test_type:unit` is that model's unit tests. */
static bp_status expression(const project *p, const char *expr, bool *out, bp_err *err)
{
    size_t n = (size_t)p->nnodes + 1;
    bool *inter = malloc(n), *tests = malloc(n), *t = malloc(n);
    char *copy = strdup(expr);
    bp_status st = BP_OK;
    if (!inter || !tests || !t || !copy) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    char *save1 = NULL;
    for (char *word = strtok_r(copy, " \t", &save1); word && st == BP_OK;
         word = strtok_r(NULL, " \t", &save1)) {
        memset(inter, 1, n);
        memset(tests, 1, n);
        char *save2 = NULL;
        for (char *part = strtok_r(word, ",", &save2); part && st == BP_OK;
             part = strtok_r(NULL, ",", &save2)) {
            memset(t, 0, n);
            st = term(p, part, t, err);
            for (size_t i = 0; i < n; i++)
                inter[i] = inter[i] && t[i];
            add_tests(p, t);
            for (size_t i = 0; i < n; i++)
                tests[i] = tests[i] && t[i];
        }
        for (int i = 0; i < p->nnodes; i++)
            out[i] = out[i] || inter[i] ||
                     (tests[i] && (p->nodes[i].type == NT_TEST || p->nodes[i].type == NT_UNIT));
    }
done:
    free(inter);
    free(tests);
    free(t);
    free(copy);
    return st;
}

bp_status dbt_select_nodes(project *p, const char *select, const char *exclude, bp_err *err)
{
    size_t n = (size_t)p->nnodes + 1;
    bool *sel = calloc(n, 1), *exc = calloc(n, 1);
    bp_status st = BP_OK;
    if (!sel || !exc) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    if (select && *select)
        st = expression(p, select, sel, err);
    else
        memset(sel, 1, n);
    if (st == BP_OK && exclude && *exclude)
        st = expression(p, exclude, exc, err);
    if (st != BP_OK)
        goto done;
    add_tests(p, sel);
    for (int i = 0; i < p->nnodes; i++)
        p->nodes[i].selected = sel[i] && !exc[i] && p->nodes[i].cfg.enabled &&
                               p->nodes[i].type != NT_SOURCE;
done:
    free(sel);
    free(exc);
    return st;
}
