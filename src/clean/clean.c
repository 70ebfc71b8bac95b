/* clean.c: row cleaners for Books, Users and Ratings. */
#include "clean.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/keyset.h"
#include "../core/keyspill.h"
#include "../core/num.h"
#include "isbn.h"
#include "loc.h"
#include "text.h"

/* ---- table definitions ------------------------------------------------ */

enum { B_ISBN, B_TITLE, B_AUTHOR, B_YEAR, B_PUBLISHER, B_URL_S, B_URL_M, B_URL_L, B_ISBN13,
       B_CHECKSUM_OK, B_NCOLS };
static const col_def books_cols[] = {
    {"isbn", COL_TEXT, true},       {"title", COL_TEXT, false},
    {"author", COL_TEXT, false},    {"year", COL_INT, false},
    {"publisher", COL_TEXT, false}, {"image_url_s", COL_TEXT, false},
    {"image_url_m", COL_TEXT, false}, {"image_url_l", COL_TEXT, false},
    {"isbn13", COL_TEXT, false},    {"isbn_checksum_ok", COL_BOOL, true},
};
const table_def clean_books_def = {"books", books_cols, B_NCOLS};

enum { U_USER_ID, U_AGE, U_CITY, U_STATE, U_COUNTRY, U_LOCATION, U_NCOLS };
static const col_def users_cols[] = {
    {"user_id", COL_INT, true}, {"age", COL_INT, false},     {"city", COL_TEXT, false},
    {"state", COL_TEXT, false}, {"country", COL_TEXT, false}, {"location", COL_TEXT, false},
};
const table_def clean_users_def = {"users", users_cols, U_NCOLS};

enum { R_USER_ID, R_ISBN, R_RATING, R_IS_IMPLICIT, R_CHECKSUM_OK, R_ISBN13, R_NCOLS };
static const col_def ratings_cols[] = {
    {"user_id", COL_INT, true},     {"isbn", COL_TEXT, true},
    {"rating", COL_INT, true},      {"is_implicit", COL_BOOL, true},
    {"isbn_checksum_ok", COL_BOOL, true}, {"isbn13", COL_TEXT, false},
};
const table_def clean_ratings_def = {"ratings", ratings_cols, R_NCOLS};

enum { Q_RUN_ID, Q_SOURCE, Q_LINE, Q_REASON, Q_RAW, Q_NCOLS };
static const col_def quarantine_cols[] = {
    {"run_id", COL_BIGINT, true}, {"source", COL_TEXT, true}, {"line", COL_BIGINT, true},
    {"reason", COL_TEXT, true},   {"raw", COL_TEXT, false},
};
const table_def clean_quarantine_def = {"quarantine", quarantine_cols, Q_NCOLS};

static const col_def audit_cols[] = {
    {"run_id", COL_BIGINT, true},          {"source", COL_TEXT, true},
    {"table_name", COL_TEXT, true},        {"rows_read", COL_BIGINT, true},
    {"rows_loaded", COL_BIGINT, true},     {"rows_quarantined", COL_BIGINT, true},
    {"rows_repaired", COL_BIGINT, true},   {"values_nulled", COL_TEXT, true},
    {"repairs", COL_TEXT, true},           {"quarantined_by_reason", COL_TEXT, true},
    {"format", COL_TEXT, true},            {"bytes_read", COL_BIGINT, true},
    {"loaded_at", COL_TIMESTAMP, true},
};
const table_def clean_audit_def = {"load_audit", audit_cols, 13};

const table_def *clean_table_def(src_table t)
{
    static const table_def *const defs[] = {&clean_books_def, &clean_users_def,
                                            &clean_ratings_def};
    return defs[t];
}

static const char *const qnames[Q_NREASONS] = {"malformed_row", "isbn_malformed",
                                               "user_id_invalid", "rating_invalid",
                                               "duplicate_key", "unterminated_quote"};
static const char *const nnames[N_NREASONS] = {
    "year_missing", "year_zero", "year_out_of_range", "age_missing", "age_invalid",
    "age_out_of_range", "city_placeholder", "state_placeholder", "country_missing",
    "title_empty", "author_empty", "publisher_empty", "location_empty"};
static const char *const rnames[R_NKINDS] = {"isbn_leading_zero", "mojibake", "escape_scar",
                                             "shifted_row"};

const char *clean_qreason_name(clean_qreason r) { return qnames[r]; }
const char *clean_nreason_name(clean_nreason r) { return nnames[r]; }
const char *clean_repair_name(clean_repair r) { return rnames[r]; }

void clean_config_default(clean_config *c)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    c->age_min = 5;
    c->age_max = 100;
    c->max_year = tm.tm_year + 1900;
}

/* ---- the cleaner ------------------------------------------------------ */

/* rough bytes per row of each source, to size the key set once */
static const size_t row_bytes[SRC_NTABLES] = {250, 40, 20};

struct cleaner {
    src_table table;
    clean_config cfg;
    char label[256];
    clean_stats st;
    keyset keys;
    keyset_spill *spill;       /* a first pass: keys go here, rows nowhere */
    const keyset_lines *dups;  /* a second pass: the lines whose key came before */
    bp_err err;                /* why clean_record failed */
    text_ctx tx;
    buf scratch, locbuf, raw;
    bool row_repaired;
};

cleaner *clean_new(src_table t, const clean_config *cfg, const char *label, size_t size_hint)
{
    cleaner *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->table = t;
    c->cfg = *cfg;
    snprintf(c->label, sizeof c->label, "%s", label);
    if (keyset_init(&c->keys, size_hint / row_bytes[t]) != BP_OK) {
        free(c);
        return NULL;
    }
    return c;
}

void clean_free(cleaner *c)
{
    if (!c)
        return;
    keyset_free(&c->keys);
    text_ctx_free(&c->tx);
    buf_free(&c->scratch);
    buf_free(&c->locbuf);
    buf_free(&c->raw);
    free(c);
}

const clean_stats *clean_get_stats(const cleaner *c) { return &c->st; }

bool clean_keys_fit(src_table t, size_t size_hint)
{
    /* BOOKPIPE_KEYS_MEMORY: another budget (a machine with less memory, tests) */
    const char *env = getenv("BOOKPIPE_KEYS_MEMORY");
    uint64_t budget = CLEAN_KEYS_BUDGET;
    if (env && !num_parse_size(env, &budget))
        budget = CLEAN_KEYS_BUDGET;
    return keyset_bytes(size_hint / row_bytes[t]) <= budget;
}

void clean_keys_to(cleaner *c, keyset_spill *s) { c->spill = s; }
void clean_dups_from(cleaner *c, const keyset_lines *l) { c->dups = l; }
const char *clean_error(const cleaner *c) { return c->err.msg[0] ? c->err.msg : "out of memory"; }

typedef enum { KEY_NEW, KEY_DUP, KEY_SPILLED } key_seen;

/* Is the row's key new? In memory, or from a first pass's findings; in a
 * first pass the key is written down and the row goes no further. */
static bp_status check_key(cleaner *c, const csv_reader *r, uint16_t hi, uint64_t lo,
                           key_seen *ks)
{
    if (c->spill) {
        *ks = KEY_SPILLED;
        return keyset_spill_add(c->spill, hi, lo, csv_line(r), &c->err);
    }
    if (c->dups) {
        *ks = keyset_lines_dup(c->dups, csv_line(r)) ? KEY_DUP : KEY_NEW;
        return BP_OK;
    }
    bool added;
    if (keyset_add(&c->keys, hi, lo, &added) != BP_OK)
        return bp_fail(&c->err, BP_ENOMEM, "out of memory");
    *ks = added ? KEY_NEW : KEY_DUP;
    return BP_OK;
}

static const char *const headers[SRC_NTABLES] = {
    ("ISBN,Book-Title,Book-Author,Year-Of-Publication,Publisher,Image-URL-S,Image-URL-M,"
     "Image-URL-L"),
    "User-ID,Location,Age",
    "User-ID,ISBN,Book-Rating",
};

const char *clean_expected_header(src_table t) { return headers[t]; }

/* Compare a header cell with a name, ignoring case, '-', '_' and spaces. */
static bool header_eq(const char *cell, size_t n, const char *name, size_t m)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < n && (cell[i] == '-' || cell[i] == '_' || cell[i] == ' '))
            i++;
        while (j < m && (name[j] == '-' || name[j] == '_' || name[j] == ' '))
            j++;
        if (i == n || j == m)
            return i == n && j == m;
        char a = cell[i], b = name[j];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (b >= 'A' && b <= 'Z')
            b = (char)(b + 32);
        if (a != b)
            return false;
        i++;
        j++;
    }
}

bp_status clean_header(cleaner *c, const csv_reader *r, const char *where, bp_err *err)
{
    const char *exp = headers[c->table];
    size_t nf = csv_nfields(r), k = 0;
    const char *p = exp;
    bool ok = true;
    while (*p && ok) {
        const char *comma = strchr(p, ',');
        size_t m = comma ? (size_t)(comma - p) : strlen(p);
        if (k >= nf) {
            ok = false;
            break;
        }
        csv_cell cell = csv_field(r, k++);
        ok = header_eq(cell.p, cell.len, p, m);
        p += m + (comma ? 1 : 0);
    }
    if (ok && k == nf)
        return BP_OK;
    buf got = {0};
    csv_cell raw = csv_raw(r);
    bool shown = text_to_utf8(&got, raw.p, raw.len < 200 ? raw.len : 200) == BP_OK;
    bp_fail(err, BP_EINPUT, "%s: line 1: unexpected header \"%s\" (expected %s); is this the "
            "right file?", where, shown && got.p ? got.p : "", exp);
    buf_free(&got);
    return BP_EINPUT;
}

/* ---- helpers for one record ------------------------------------------- */

static bp_status quarantine(cleaner *c, const csv_reader *r, int64_t run_id, batch *q,
                            clean_qreason why)
{
    csv_cell raw = csv_raw(r);
    buf_reset(&c->raw);
    if (text_to_utf8(&c->raw, raw.p, raw.len) != BP_OK)
        return BP_ENOMEM;
    batch_set_int(q, Q_RUN_ID, run_id);
    batch_set_int(q, Q_LINE, (int64_t)csv_line(r));
    if (batch_set_text(q, Q_SOURCE, c->label, strlen(c->label)) != BP_OK ||
        batch_set_text(q, Q_REASON, qnames[why], strlen(qnames[why])) != BP_OK ||
        batch_set_text(q, Q_RAW, c->raw.p, c->raw.len) != BP_OK)
        return BP_ENOMEM;
    batch_commit(q);
    c->st.quarantined++;
    c->st.q[why]++;
    return BP_OK;
}

static void repaired(cleaner *c, clean_repair what)
{
    c->st.repairs[what]++;
    c->row_repaired = true;
}

/* Clean a text cell into column col of out; NULL (counted) when empty. */
static bp_status put_text(cleaner *c, batch *out, int col, csv_cell cell, unsigned flags,
                          int null_reason)
{
    size_t n;
    unsigned rep;
    bool oom = false;
    const char *t = text_clean(&c->tx, cell.p, cell.len, flags, &n, &rep, &oom);
    if (oom)
        return BP_ENOMEM;
    if (rep & TEXT_R_MOJIBAKE)
        repaired(c, R_MOJIBAKE);
    if (rep & TEXT_R_SCAR)
        repaired(c, R_ESCAPE_SCAR);
    if (!t && null_reason >= 0 && cell.len > 0)
        c->st.nulled[null_reason]++;
    return batch_set_text_or_null(out, col, t, n);
}

static csv_cell cell_of(const char *p, size_t n) { return (csv_cell){p, n, false}; }

static bool is_url_or_empty(csv_cell c)
{
    return c.len == 0 || (c.len > 7 && memcmp(c.p, "http", 4) == 0);
}

/* A Books row whose title swallowed `\";Author` (a broken quote) has every
 * later column moved one to the left. Recognise it and put the columns back:
 * fields become isbn, title, author, year, publisher, url_s, url_m, url_l. */
static bool unshift_books(cleaner *c, const csv_reader *r, csv_cell f[8])
{
    size_t nf = csv_nfields(r);
    if (nf < 7 || nf > 8)
        return false;
    csv_cell title = csv_field(r, 1);
    const char *split = NULL;
    for (size_t i = 0; i + 1 < title.len; i++)
        if (title.p[i] == '"' && title.p[i + 1] == ';')
            split = title.p + i;
    if (!split)
        return false;
    csv_cell yr = csv_field(r, 2);
    int64_t y;
    if (!num_parse_intlike(yr.p, yr.len, &y))
        return false;
    if (nf == 8 && csv_field(r, 7).len != 0)
        return false;
    for (size_t k = 4; k < nf; k++)
        if (!is_url_or_empty(csv_field(r, k)))
            return false;
    size_t tl = (size_t)(split - title.p);
    while (tl && title.p[tl - 1] == '\\')
        tl--;
    f[0] = csv_field(r, 0);
    f[1] = cell_of(title.p, tl);
    /* the author keeps the broken quote's leftovers on either side */
    const char *a = split + 2;
    size_t an = title.len - (size_t)(split - title.p) - 2;
    while (an && (*a == '"' || *a == '\\')) {
        a++;
        an--;
    }
    while (an && (a[an - 1] == '"' || a[an - 1] == '\\'))
        an--;
    f[2] = cell_of(a, an);
    f[3] = yr;
    f[4] = csv_field(r, 3);
    f[5] = csv_field(r, 4);
    f[6] = csv_field(r, 5);
    f[7] = nf >= 7 ? csv_field(r, 6) : cell_of("", 0);
    repaired(c, R_SHIFTED_ROW);
    return true;
}

static bp_status set_isbn_cols(batch *out, int c_isbn, int c_ok, int c_13, const isbn_info *ib)
{
    batch_set_int(out, c_ok, ib->checksum_ok);
    if (batch_set_text(out, c_isbn, ib->norm, (size_t)ib->len) != BP_OK)
        return BP_ENOMEM;
    return batch_set_text_or_null(out, c_13, ib->isbn13[0] ? ib->isbn13 : NULL, 13);
}

/* ---- per-table cleaners ----------------------------------------------- */

static bp_status clean_books(cleaner *c, const csv_reader *r, int64_t run_id, batch *out,
                             batch *q)
{
    csv_cell f[8];
    size_t nf = csv_nfields(r);
    int64_t year = 0;
    bool year_ok = false;
    if (nf == 8 && !csv_malformed(r)) {
        for (int k = 0; k < 8; k++)
            f[k] = csv_field(r, (size_t)k);
        csv_cell y = f[3];
        year_ok = y.len == 0 || num_parse_intlike(y.p, y.len, &year);
    }
    if (!year_ok && !unshift_books(c, r, f))
        return quarantine(c, r, run_id, q, Q_MALFORMED_ROW);
    isbn_info ib;
    if (!isbn_clean(f[0].p, f[0].len, &ib))
        return quarantine(c, r, run_id, q, Q_ISBN_MALFORMED);
    key_seen ks;
    bp_status st = check_key(c, r, 0, isbn_code(&ib), &ks);
    if (st != BP_OK || ks == KEY_SPILLED)
        return st;
    if (ks == KEY_DUP)
        return quarantine(c, r, run_id, q, Q_DUPLICATE_KEY);
    if (ib.repaired)
        repaired(c, R_ISBN_LEADING_ZERO);
    if (set_isbn_cols(out, B_ISBN, B_CHECKSUM_OK, B_ISBN13, &ib) != BP_OK ||
        put_text(c, out, B_TITLE, f[1], TEXT_SCARS, N_TITLE_EMPTY) != BP_OK ||
        put_text(c, out, B_AUTHOR, f[2], TEXT_SCARS, N_AUTHOR_EMPTY) != BP_OK ||
        put_text(c, out, B_PUBLISHER, f[4], TEXT_SCARS, N_PUBLISHER_EMPTY) != BP_OK ||
        put_text(c, out, B_URL_S, f[5], 0, -1) != BP_OK ||
        put_text(c, out, B_URL_M, f[6], 0, -1) != BP_OK ||
        put_text(c, out, B_URL_L, f[7], 0, -1) != BP_OK)
        return BP_ENOMEM;
    if (f[3].len == 0 || !num_parse_intlike(f[3].p, f[3].len, &year)) {
        batch_set_null(out, B_YEAR);
        c->st.nulled[N_YEAR_MISSING]++;
    } else if (year == 0) {
        batch_set_null(out, B_YEAR);
        c->st.nulled[N_YEAR_ZERO]++;
    } else if (year < 0 || year > c->cfg.max_year) {
        batch_set_null(out, B_YEAR);
        c->st.nulled[N_YEAR_OUT_OF_RANGE]++;
    } else {
        batch_set_int(out, B_YEAR, year);
    }
    batch_commit(out);
    return BP_OK;
}

static bp_status parse_user_id(csv_cell cell, int64_t *id)
{
    return num_parse_intlike(cell.p, cell.len, id) && *id > 0 && *id <= INT32_MAX ? BP_OK
                                                                                  : BP_EINPUT;
}

static bp_status clean_users(cleaner *c, const csv_reader *r, int64_t run_id, batch *out,
                             batch *q)
{
    if (csv_nfields(r) != 3 || csv_malformed(r))
        return quarantine(c, r, run_id, q, Q_MALFORMED_ROW);
    int64_t id;
    if (parse_user_id(csv_field(r, 0), &id) != BP_OK)
        return quarantine(c, r, run_id, q, Q_USER_ID_INVALID);
    key_seen ks;
    bp_status st = check_key(c, r, 0, (uint64_t)id, &ks);
    if (st != BP_OK || ks == KEY_SPILLED)
        return st;
    if (ks == KEY_DUP)
        return quarantine(c, r, run_id, q, Q_DUPLICATE_KEY);
    batch_set_int(out, U_USER_ID, id);

    csv_cell lc = csv_field(r, 1);
    size_t n;
    unsigned rep;
    bool oom = false;
    const char *loc = text_clean(&c->tx, lc.p, lc.len, TEXT_STRIP_QUOTES, &n, &rep, &oom);
    if (oom)
        return BP_ENOMEM;
    if (rep & TEXT_R_MOJIBAKE)
        repaired(c, R_MOJIBAKE);
    if (memchr(lc.p, '\\', lc.len))
        repaired(c, R_ESCAPE_SCAR);
    loc_parts lp;
    if (loc_parse(loc ? loc : "", loc ? n : 0, &c->locbuf, &lp) != BP_OK)
        return BP_ENOMEM;
    if (!loc)
        c->st.nulled[N_LOCATION_EMPTY]++;
    c->st.nulled[N_CITY_PLACEHOLDER] += lp.city_placeholder;
    c->st.nulled[N_STATE_PLACEHOLDER] += lp.state_placeholder;
    if (!lp.country)
        c->st.nulled[N_COUNTRY_MISSING]++;
    if (batch_set_text_or_null(out, U_LOCATION, loc, n) != BP_OK ||
        batch_set_text_or_null(out, U_CITY, lp.city, lp.city_n) != BP_OK ||
        batch_set_text_or_null(out, U_STATE, lp.state, lp.state_n) != BP_OK ||
        batch_set_text_or_null(out, U_COUNTRY, lp.country, lp.country_n) != BP_OK)
        return BP_ENOMEM;

    csv_cell ac = csv_field(r, 2);
    int64_t age;
    if (ac.len == 0 || (ac.len == 4 && memcmp(ac.p, "NULL", 4) == 0)) {
        batch_set_null(out, U_AGE);
        c->st.nulled[N_AGE_MISSING]++;
    } else if (!num_parse_intlike(ac.p, ac.len, &age)) {
        batch_set_null(out, U_AGE);
        c->st.nulled[N_AGE_INVALID]++;
    } else if (age < c->cfg.age_min || age > c->cfg.age_max) {
        batch_set_null(out, U_AGE);
        c->st.nulled[N_AGE_OUT_OF_RANGE]++;
    } else {
        batch_set_int(out, U_AGE, age);
    }
    batch_commit(out);
    return BP_OK;
}

static bp_status clean_ratings(cleaner *c, const csv_reader *r, int64_t run_id, batch *out,
                               batch *q)
{
    if (csv_nfields(r) != 3 || csv_malformed(r))
        return quarantine(c, r, run_id, q, Q_MALFORMED_ROW);
    int64_t id, rating;
    if (parse_user_id(csv_field(r, 0), &id) != BP_OK)
        return quarantine(c, r, run_id, q, Q_USER_ID_INVALID);
    csv_cell ic = csv_field(r, 1);
    isbn_info ib;
    if (!isbn_clean(ic.p, ic.len, &ib))
        return quarantine(c, r, run_id, q, Q_ISBN_MALFORMED);
    csv_cell rc = csv_field(r, 2);
    if (!num_parse_intlike(rc.p, rc.len, &rating) || rating < 0 || rating > 10)
        return quarantine(c, r, run_id, q, Q_RATING_INVALID);
    /* key: isbn code (44 bits) and user id (31 bits) */
    uint64_t lo = isbn_code(&ib) | ((uint64_t)id << 44);
    key_seen ks;
    bp_status st = check_key(c, r, (uint16_t)((uint64_t)id >> 20), lo, &ks);
    if (st != BP_OK || ks == KEY_SPILLED)
        return st;
    if (ks == KEY_DUP)
        return quarantine(c, r, run_id, q, Q_DUPLICATE_KEY);
    if (ib.repaired)
        repaired(c, R_ISBN_LEADING_ZERO);
    batch_set_int(out, R_USER_ID, id);
    batch_set_int(out, R_RATING, rating);
    batch_set_int(out, R_IS_IMPLICIT, rating == 0);
    if (set_isbn_cols(out, R_ISBN, R_CHECKSUM_OK, R_ISBN13, &ib) != BP_OK)
        return BP_ENOMEM;
    batch_commit(out);
    return BP_OK;
}

bp_status clean_record(cleaner *c, const csv_reader *r, int64_t run_id, batch *out, batch *q)
{
    bp_status st;
    c->st.read++;
    c->row_repaired = false;
    uint64_t before = c->st.quarantined;
    if (csv_runaway(r))
        return quarantine(c, r, run_id, q, Q_UNTERMINATED_QUOTE);
    switch (c->table) {
    case SRC_BOOKS:
        st = clean_books(c, r, run_id, out, q);
        break;
    case SRC_USERS:
        st = clean_users(c, r, run_id, out, q);
        break;
    default:
        st = clean_ratings(c, r, run_id, out, q);
        break;
    }
    if (st != BP_OK)
        return st;
    if (c->st.quarantined == before) {
        c->st.loaded++;
        c->st.repaired += c->row_repaired;
    }
    return BP_OK;
}
