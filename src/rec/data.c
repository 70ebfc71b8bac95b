/* data.c: the interaction matrix from the warehouse (see rec.h). */
#include "rec_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/strmap.h"

#define NONE UINT32_MAX

/* ---- building from (user, item) pairs --------------------------------- */

static int cmp_pop(const void *a, const void *b, void *ctx)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const uint32_t *p = ctx;
    if (p[x] != p[y])
        return p[x] > p[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Readers and the popularity order, from the CSR. */
bp_status rec_data_index(rec_data *d, bp_err *err)
{
    free(d->pop), free(d->by_pop), free(d->popos);
    d->pop = calloc(d->n_items ? d->n_items : 1, sizeof *d->pop);
    d->by_pop = malloc((d->n_items ? d->n_items : 1) * sizeof *d->by_pop);
    d->popos = malloc((d->n_items ? d->n_items : 1) * sizeof *d->popos);
    if (!d->pop || !d->by_pop || !d->popos)
        return bp_fail(err, BP_ENOMEM, "out of memory indexing %u items", d->n_items);
    for (size_t k = 0; k < d->nnz; k++)
        d->pop[d->uitem[k]]++;
    for (uint32_t i = 0; i < d->n_items; i++)
        d->by_pop[i] = i;
    qsort_r(d->by_pop, d->n_items, sizeof *d->by_pop, cmp_pop, d->pop);
    for (uint32_t r = 0; r < d->n_items; r++)
        d->popos[d->by_pop[r]] = r;
    return BP_OK;
}

/* The CSR from n rows of (user index, item): counted into place per user,
 * each list sorted and its repeats dropped (no sort of all the rows). */
static bp_status build_csr(rec_data *d, const uint32_t *uix, const uint32_t *item, size_t n,
                           bp_err *err)
{
    d->uptr = calloc((size_t)d->n_users + 1, sizeof *d->uptr);
    d->uitem = malloc((n ? n : 1) * sizeof *d->uitem);
    size_t *fill = malloc(((size_t)d->n_users + 1) * sizeof *fill);
    if (!d->uptr || !d->uitem || !fill) {
        free(fill);
        return bp_fail(err, BP_ENOMEM, "out of memory for %zu interactions", n);
    }
    for (size_t k = 0; k < n; k++)
        d->uptr[uix[k] + 1]++;
    for (uint32_t u = 0; u < d->n_users; u++)
        d->uptr[u + 1] += d->uptr[u];
    memcpy(fill, d->uptr, ((size_t)d->n_users + 1) * sizeof *fill);
    for (size_t k = 0; k < n; k++)
        d->uitem[fill[uix[k]]++] = item[k];
    size_t m = 0;
    for (uint32_t u = 0; u < d->n_users; u++) {
        size_t a = d->uptr[u], b = d->uptr[u + 1];
        rec_sort_u32(d->uitem + a, b - a);
        d->uptr[u] = m;
        for (size_t k = a; k < b; k++)
            if (k == a || d->uitem[k] != d->uitem[k - 1])
                d->uitem[m++] = d->uitem[k];
    }
    d->uptr[d->n_users] = m;
    d->nnz = m;
    free(fill);
    return rec_data_index(d, err);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* User ids -> indexes (the distinct ids, ascending), and each row's
 * index into uix. Ids within a few times the row count (as Book-Crossing's
 * are) go through a table; others are sorted and searched. */
static bp_status index_users(rec_data *d, const int64_t *user, size_t n, uint32_t *uix,
                             bp_err *err)
{
    int64_t lo = n ? user[0] : 0, hi = lo;
    for (size_t k = 1; k < n; k++)
        lo = user[k] < lo ? user[k] : lo, hi = user[k] > hi ? user[k] : hi;
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span <= 4 * (uint64_t)n + 1024 && span < ((uint64_t)1 << 31)) {
        uint32_t *slot = calloc(span, sizeof *slot);
        if (!slot)
            return bp_fail(err, BP_ENOMEM, "out of memory for %zu users", n);
        for (size_t k = 0; k < n; k++)
            slot[user[k] - lo] = 1;
        uint32_t m = 0;
        for (uint64_t i = 0; i < span; i++)
            if (slot[i])
                slot[i] = ++m;
        d->user_id = malloc((m ? m : 1) * sizeof *d->user_id);
        if (!d->user_id) {
            free(slot);
            return bp_fail(err, BP_ENOMEM, "out of memory for %u users", m);
        }
        for (uint64_t i = 0; i < span; i++)
            if (slot[i])
                d->user_id[slot[i] - 1] = lo + (int64_t)i;
        for (size_t k = 0; k < n; k++)
            uix[k] = slot[user[k] - lo] - 1;
        d->n_users = m;
        free(slot);
        return BP_OK;
    }
    d->user_id = malloc((n ? n : 1) * sizeof *d->user_id);
    if (!d->user_id)
        return bp_fail(err, BP_ENOMEM, "out of memory for %zu users", n);
    memcpy(d->user_id, user, n * sizeof *user);
    qsort(d->user_id, n, sizeof *d->user_id, cmp_i64);
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (m == 0 || d->user_id[k] != d->user_id[m - 1])
            d->user_id[m++] = d->user_id[k];
    if (m >= NONE)
        return bp_fail(err, BP_ENOMEM, "too many users (%zu)", m);
    d->n_users = (uint32_t)m;
    for (size_t k = 0; k < n; k++)
        uix[k] = (uint32_t)rec_user_of(d, user[k]);
    return BP_OK;
}

int64_t rec_user_of(const rec_data *d, int64_t user_id)
{
    size_t lo = 0, hi = d->n_users;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->user_id[mid] < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n_users && d->user_id[lo] == user_id ? (int64_t)lo : -1;
}

int64_t rec_item_of(const rec_data *d, const char *isbn)
{
    size_t lo = 0, hi = d->n_editions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(d->ed_isbn[mid], isbn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n_editions && !strcmp(d->ed_isbn[lo], isbn) ? (int64_t)d->ed_item[lo] : -1;
}

/* ---- editions and works ------------------------------------------------ */

typedef struct {
    const char *isbn;
    uint32_t work;      /* NONE: a work of its own */
    uint32_t readers;
    uint32_t item;
} edition;

/* An id in a strmap: id + 1 as the pointer, so that 0 stays "absent". */
static uint32_t map_id(const strmap *m, const char *key)
{
    uintptr_t v = (uintptr_t)strmap_get(m, key);
    return v ? (uint32_t)(v - 1) : NONE;
}

static bool map_set(strmap *m, const char *key, uint32_t id)
{
    return strmap_put(m, key, (void *)(uintptr_t)(id + 1));
}

typedef struct {
    arena a;
    strmap ed_map;      /* ISBN -> edition */
    edition *ed;
    size_t ned, ed_cap;
    strmap work_map;    /* normalised title + author -> work */
    uint32_t nwork;
    int64_t *tu;        /* rating rows: user id, edition */
    uint32_t *te;
    size_t nt, t_cap;
    bool oom;
    /* Rows come sorted by ISBN (ORDER BY): editions are found by walking
     * along, not by hashing (millions of hash probes are millions of cache
     * misses). Rows out of order (another collation) switch to the map. */
    bool mapped;
    size_t nbook_ed;    /* editions made from Books: ed[0 .. nbook_ed), in order */
    size_t cursor;      /* the ratings' walk along them */
    uint32_t last_e;    /* the edition of the last rating row */
} loader;

/* A new edition at the end of the list (and in the map when there is one). */
static uint32_t add_edition(loader *l, const char *isbn)
{
    if (l->ned == l->ed_cap) {
        size_t nc = l->ed_cap ? l->ed_cap * 2 : 4096;
        edition *ne = realloc(l->ed, nc * sizeof *ne);
        if (!ne)
            return NONE;
        l->ed = ne, l->ed_cap = nc;
    }
    char *s = arena_strndup(&l->a, isbn, strlen(isbn));
    if (!s)
        return NONE;
    if (l->mapped && !map_set(&l->ed_map, s, (uint32_t)l->ned))
        return NONE;
    l->ed[l->ned] = (edition){s, NONE, 0, NONE};
    return (uint32_t)l->ned++;
}

/* The edition isbn names, through the map (made or added to). */
static uint32_t edition_of(loader *l, const char *isbn)
{
    uint32_t e = map_id(&l->ed_map, isbn);
    return e != NONE ? e : add_edition(l, isbn);
}

/* Rows came out of order: every edition so far into the map, and the map
 * from now on. */
static bool map_all(loader *l)
{
    l->mapped = true;
    for (size_t e = 0; e < l->ned; e++)
        if (map_id(&l->ed_map, l->ed[e].isbn) == NONE &&
            !map_set(&l->ed_map, l->ed[e].isbn, (uint32_t)e))
            return false;
    return true;
}

/* A book's edition: the next one in ISBN order. */
static uint32_t book_edition(loader *l, const char *isbn)
{
    if (!l->mapped && l->ned) {
        int c = strcmp(isbn, l->ed[l->ned - 1].isbn);
        if (c == 0)
            return (uint32_t)l->ned - 1;
        if (c < 0 && !map_all(l))
            return NONE;
    }
    return l->mapped ? edition_of(l, isbn) : add_edition(l, isbn);
}

/* A rating's edition: the last one again, or further along the Books
 * editions, or one Books does not have. */
static uint32_t rating_edition(loader *l, const char *isbn)
{
    if (l->mapped)
        return edition_of(l, isbn);
    if (l->last_e != NONE) {
        int c = strcmp(isbn, l->ed[l->last_e].isbn);
        if (c == 0)
            return l->last_e;
        if (c < 0)
            return map_all(l) ? edition_of(l, isbn) : NONE;
    }
    while (l->cursor < l->nbook_ed && strcmp(l->ed[l->cursor].isbn, isbn) < 0)
        l->cursor++;
    if (l->cursor < l->nbook_ed && !strcmp(l->ed[l->cursor].isbn, isbn))
        return (uint32_t)l->cursor;
    return add_edition(l, isbn);
}

/* Lower-case letters and digits, one space for any run of the rest:
 * "The Hobbit: or, There and Back Again" and "the hobbit or there and back
 * again" are one work. Bytes above 127 are kept as they are. */
static void norm_text(buf *b, const char *s)
{
    bool gap = false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c >= 128) {
            if (gap && b->len && buf_addc(b, ' ') != BP_OK)
                return;
            gap = false;
            if (buf_addc(b, (char)(c < 128 ? tolower(c) : c)) != BP_OK)
                return;
        } else {
            gap = true;
        }
    }
}

static int on_book(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    loader *l = ctx;
    (void)nc, (void)cols;
    if (!v || !v[0] || !v[1] || !v[2]) /* !v: the columns, before the rows */
        return 0;
    buf key = {0};
    norm_text(&key, v[1]);
    size_t tlen = key.len;
    if (buf_addc(&key, '\x1f') != BP_OK) {
        l->oom = true;
        return 1;
    }
    norm_text(&key, v[2]);
    if (tlen == 0 || !key.p) { /* no title: no work to join */
        buf_free(&key);
        return 0;
    }
    uint32_t e = book_edition(l, v[0]);
    /* the key copied first, so that one lookup finds or adds it (a key
     * already there leaves its copy unused in the arena) */
    char *k = e != NONE ? arena_strndup(&l->a, key.p, key.len) : NULL;
    void *had = NULL;
    uint32_t w = NONE;
    if (k && strmap_add(&l->work_map, k, (void *)(uintptr_t)(l->nwork + 1), &had))
        w = had ? (uint32_t)((uintptr_t)had - 1) : l->nwork++;
    buf_free(&key);
    if (w == NONE) {
        l->oom = true;
        return 1;
    }
    l->ed[e].work = w;
    return 0;
}

static int on_rating(void *ctx, size_t nc, const wh_col *cols, const char *const *v)
{
    loader *l = ctx;
    (void)nc, (void)cols;
    if (!v || !v[0] || !v[1])
        return 0;
    if (l->nt == l->t_cap) {
        size_t nc2 = l->t_cap ? l->t_cap * 2 : 65536;
        int64_t *nu = realloc(l->tu, nc2 * sizeof *nu);
        if (nu)
            l->tu = nu;
        uint32_t *ne = nu ? realloc(l->te, nc2 * sizeof *ne) : NULL;
        if (!ne) {
            l->oom = true;
            return 1;
        }
        l->te = ne, l->t_cap = nc2;
    }
    uint32_t e = rating_edition(l, v[1]);
    if (e == NONE) {
        l->oom = true;
        return 1;
    }
    l->last_e = e;
    l->ed[e].readers++;
    l->tu[l->nt] = strtoll(v[0], NULL, 10);
    l->te[l->nt++] = e;
    return 0;
}

static int cmp_ed_isbn(const void *a, const void *b)
{
    return strcmp((*(const edition *const *)a)->isbn, (*(const edition *const *)b)->isbn);
}

/* Items from editions: one per work (named by its most-read edition, the
 * smaller ISBN on a tie), or one per edition with by_isbn. */
static bp_status make_items(loader *l, bool by_isbn, rec_data *d, bp_err *err)
{
    uint32_t *rep = malloc(((size_t)l->nwork + 1) * sizeof *rep);
    edition **order = malloc((l->ned ? l->ned : 1) * sizeof *order);
    if (!rep || !order) {
        free(rep), free(order);
        return bp_fail(err, BP_ENOMEM, "out of memory grouping editions");
    }
    for (uint32_t w = 0; w <= l->nwork; w++)
        rep[w] = NONE;
    size_t nrated = 0;
    for (size_t e = 0; e < l->ned; e++) {
        edition *x = &l->ed[e];
        if (!x->readers)
            continue;
        order[nrated++] = x;
        if (by_isbn || x->work == NONE)
            continue;
        uint32_t r = rep[x->work];
        if (r == NONE || x->readers > l->ed[r].readers ||
            (x->readers == l->ed[r].readers && strcmp(x->isbn, l->ed[r].isbn) < 0))
            rep[x->work] = (uint32_t)e;
    }
    qsort(order, nrated, sizeof *order, cmp_ed_isbn);
    /* items are the representatives, numbered in ISBN order */
    d->isbn = malloc((nrated ? nrated : 1) * sizeof *d->isbn);
    d->ed_isbn = malloc((nrated ? nrated : 1) * sizeof *d->ed_isbn);
    d->ed_item = malloc((nrated ? nrated : 1) * sizeof *d->ed_item);
    d->ed_readers = malloc((nrated ? nrated : 1) * sizeof *d->ed_readers);
    if (!d->isbn || !d->ed_isbn || !d->ed_item || !d->ed_readers) {
        free(rep), free(order);
        return bp_fail(err, BP_ENOMEM, "out of memory listing items");
    }
    uint32_t ni = 0;
    for (size_t k = 0; k < nrated; k++) {
        edition *x = order[k];
        bool is_rep = by_isbn || x->work == NONE || &l->ed[rep[x->work]] == x;
        if (is_rep) {
            x->item = ni;
            d->isbn[ni++] = x->isbn;
        }
    }
    d->n_items = ni;
    d->n_editions = nrated;
    for (size_t k = 0; k < nrated; k++) {
        edition *x = order[k];
        if (x->item == NONE)
            x->item = l->ed[rep[x->work]].item;
        d->ed_isbn[k] = x->isbn;
        d->ed_item[k] = x->item;
        d->ed_readers[k] = x->readers;
    }
    free(rep), free(order);
    return BP_OK;
}

static void loader_free(loader *l)
{
    strmap_free(&l->ed_map), strmap_free(&l->work_map);
    free(l->ed), free(l->tu), free(l->te);
}

/* The loader's rows as the matrix. */
static bp_status rows_to_csr(loader *l, rec_data *d, bp_err *err)
{
    uint32_t *uix = malloc((l->nt ? l->nt : 1) * sizeof *uix);
    if (!uix)
        return bp_fail(err, BP_ENOMEM, "out of memory for %zu ratings", l->nt);
    bp_status st = index_users(d, l->tu, l->nt, uix, err);
    /* te[] becomes the rows' items, in place */
    for (size_t k = 0; st == BP_OK && k < l->nt; k++)
        l->te[k] = l->ed[l->te[k]].item;
    st = st ? st : build_csr(d, uix, l->te, l->nt, err);
    free(uix);
    return st;
}

static bp_status finish(loader *l, bool by_isbn, rec_data *d, bp_err *err)
{
    bp_status st = make_items(l, by_isbn, d, err);
    st = st ? st : rows_to_csr(l, d, err);
    /* the ISBN strings live in the loader's arena: the matrix keeps it */
    d->a = l->a;
    l->a = (arena){0};
    d->owns_isbns = true;
    loader_free(l);
    return st;
}

bp_status rec_data_from_pairs(const rec_pairs *p, rec_data *d, bp_err *err)
{
    loader l = {.last_e = NONE, .mapped = true}; /* pairs in any order */
    memset(d, 0, sizeof *d);
    for (size_t k = 0; k < p->n && !l.oom; k++) {
        const char *v[2] = {"", p->isbn[k]};
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)p->user[k]);
        v[0] = id;
        (void)on_rating(&l, 2, NULL, v);
    }
    if (l.oom) {
        loader_free(&l);
        arena_free(&l.a);
        return bp_fail(err, BP_ENOMEM, "out of memory reading pairs");
    }
    bp_status st = finish(&l, true, d, err);
    if (st != BP_OK)
        rec_data_free(d);
    return st;
}

/* Every row of sql to fn, streamed (a plain query would hold the whole
 * result first, and reading it back cell by cell grows worse than linearly). */
static bp_status stream(wh *w, const char *sql, wh_row_fn fn, void *ctx, bp_err *err)
{
    wh_user_query q = {0, 0, 0, NULL};
    bool truncated = false;
    return wh_query_user(w, sql, &q, fn, ctx, &truncated, err);
}

bp_status rec_data_load(wh *w, const rec_data_opts *o, rec_data *d, bp_err *err)
{
    loader l = {.last_e = NONE};
    buf q = {0};
    bp_status st = BP_OK;
    memset(d, 0, sizeof *d);
    if (!o->by_isbn) {
        if (buf_adds(&q, "SELECT isbn, title, author FROM ") ||
            buf_add_relation(&q, o->schema, "books") || buf_adds(&q, " ORDER BY isbn"))
            st = bp_fail(err, BP_ENOMEM, "out of memory");
        st = st ? st : stream(w, q.p, on_book, &l, err);
    }
    l.nbook_ed = l.mapped ? 0 : l.ned;
    q.len = 0;
    if (st == BP_OK && (buf_adds(&q, "SELECT user_id, isbn FROM ") ||
                        buf_add_relation(&q, o->schema, "ratings") ||
                        buf_adds(&q, o->explicit_only ? " WHERE rating >= 6" : "") ||
                        buf_adds(&q, " ORDER BY isbn")))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    st = st ? st : stream(w, q.p, on_rating, &l, err);
    buf_free(&q);
    if (st == BP_OK && l.oom)
        st = bp_fail(err, BP_ENOMEM, "out of memory reading the ratings");
    if (st != BP_OK) {
        loader_free(&l);
        arena_free(&l.a);
        bp_err_prefix(err, "reading the interactions");
        return st;
    }
    st = finish(&l, o->by_isbn, d, err);
    if (st != BP_OK)
        rec_data_free(d);
    return st;
}

void rec_data_free(rec_data *d)
{
    free(d->user_id), free(d->uptr), free(d->uitem), free(d->pop), free(d->by_pop);
    free(d->popos);
    if (d->owns_isbns) {
        free(d->isbn), free(d->ed_isbn), free(d->ed_item), free(d->ed_readers);
        arena_free(&d->a);
    }
    memset(d, 0, sizeof *d);
}

/* A training copy of d without the held-out (user, item) pairs (hold[u]
 * is the item left out of user u, NONE for none). Shares d's ISBNs. */
bp_status rec_data_without(const rec_data *d, const uint32_t *hold, rec_data *t, bp_err *err)
{
    memset(t, 0, sizeof *t);
    t->n_users = d->n_users, t->n_items = d->n_items;
    t->user_id = malloc((d->n_users ? d->n_users : 1) * sizeof *t->user_id);
    t->uptr = calloc((size_t)d->n_users + 1, sizeof *t->uptr);
    t->uitem = malloc((d->nnz ? d->nnz : 1) * sizeof *t->uitem);
    if (!t->user_id || !t->uptr || !t->uitem) {
        rec_data_free(t);
        return bp_fail(err, BP_ENOMEM, "out of memory copying the matrix");
    }
    memcpy(t->user_id, d->user_id, d->n_users * sizeof *t->user_id);
    size_t m = 0;
    for (uint32_t u = 0; u < d->n_users; u++) {
        for (size_t k = d->uptr[u]; k < d->uptr[u + 1]; k++)
            if (d->uitem[k] != hold[u])
                t->uitem[m++] = d->uitem[k];
        t->uptr[u + 1] = m;
    }
    t->nnz = m;
    t->isbn = d->isbn;
    t->n_editions = d->n_editions;
    t->ed_isbn = d->ed_isbn, t->ed_item = d->ed_item, t->ed_readers = d->ed_readers;
    bp_status st = rec_data_index(t, err);
    if (st != BP_OK)
        rec_data_free(t);
    return st;
}
