/* gen.c: the dataset generator (see gen.h). */
#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../clean/isbn.h"
#include "../core/buf.h"
#include "../core/fs.h"

/* ---- random numbers ----------------------------------------------------- */

typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) /* xoshiro256** */
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

static double unif(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static uint64_t below(rng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }
static bool chance(rng *r, double p) { return unif(r) < p; }
#define PICK(r, arr) ((arr)[below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- vocabulary ------------------------------------------------------- */

static const char *const words[] = {
    "The", "Night", "Garden", "Secret", "River", "House", "Love", "War", "Stone", "Shadow",
    "Dream", "Summer", "Winter", "Light", "Dark", "Girl", "Boy", "King", "Queen", "City",
    "Island", "Road", "Last", "First", "Lost", "Wild", "Blue", "Red", "Silent", "Broken",
    "Heart", "Time", "World", "Star", "Moon", "Fire", "Water", "Book", "Story", "Life",
    "Death", "Journey", "Song", "Dance", "Angel", "Devil", "Mystery", "Murder", "Kitchen",
    "Cooking", "Guide", "History", "Science", "Magic", "Harry", "Potter", "Rings", "Lord",
    "Ocean", "Mountain", "Forest", "Child", "Mother", "Father", "Sister", "Brother", "Friend",
};
static const char *const accented[] = {"Café", "Fiancée", "Müller", "Señor", "Déjà",
                                       "Naïve", "Crème", "Brûlée", "Ångström", "Façade"};
static const char *const first_names[] = {
    "John", "Mary", "Stephen", "Anne", "James", "Nora", "Michael", "Laura", "Dan", "Rosamunde",
    "Agatha", "Tom", "Jane", "Mark", "Sue", "Janet", "Dean", "Nicholas", "Barbara", "Terry",
    "Isabel", "Paulo", "Gabriel", "Jürgen", "José", "Amélie", "Søren"};
static const char *const last_names[] = {
    "King", "Roberts", "Grisham", "Brown", "Pilcher", "Christie", "Clancy", "Austen", "Twain",
    "Grafton", "Evanovich", "Koontz", "Sparks", "Steel", "Pratchett", "Allende", "Coelho",
    "García Márquez", "Süskind", "Saramago", "Kierkegaard", "Smith", "Jones"};
static const char *const publishers[] = {
    "Ballantine Books", "Pocket", "Berkley Publishing Group", "Warner Books",
    "Harlequin", "Bantam Books", "Bantam", "Signet Book", "Penguin Books", "Avon",
    "Scholastic", "Tor Books", "Vintage", "HarperCollins", "Fawcett Books", "Gallimard",
    "Goldmann", "Heyne", "Plaza y Janés", "Editions du Seuil", "Unknown"};
static const char *const amp_publishers[] = {"Simon &amp; Schuster", "Farrar, Straus &amp; Giroux",
                                             "Little, Brown &amp; Company", "Harper &amp; Row"};

struct place {
    const char *city, *state, *country;
    double weight;
};

/* Countries with their share of users, including the raw variants. */
static const struct place places[] = {
    {"nyc", "new york", "usa", 30}, {"seattle", "washington", "usa", 10},
    {"austin", "texas", "usa", 9}, {"portland", "oregon", "usa", 1.1},
    {"toronto", "ontario", "canada", 7.8}, {"london", "england", "united kingdom", 6.6},
    {"berlin", "berlin", "germany", 4.1}, {"münchen", "bayern", "germany", 2.0},
    {"madrid", "madrid", "spain", 2.7}, {"barcelona", "catalunya", "spain", 2.0},
    {"sydney", "new south wales", "australia", 4.2}, {"milano", "lombardia", "italy", 4.0},
    {"paris", "île-de-france", "france", 1.2}, {"lisboa", "lisboa", "portugal", 1.0},
    {"amsterdam", "noord-holland", "netherlands", 0.8}, {"zürich", "zürich", "switzerland", 0.6},
    {"århus", "jylland", "denmark", 0.3}, {"kuala lumpur", "n/a", "malaysia", 0.4},
    {"auckland", "auckland", "new zealand", 0.6}, {"dublin", "dublin", "ireland", 0.5},
    {"boston", "massachusetts", "united states", 0.3}, {"denver", "colorado", "us", 0.1},
    {"houston", "texas", "u.s.a.", 0.05}, {"miami", "florida", "america", 0.05},
    {"leeds", "yorkshire", "england", 0.2}, {"glasgow", "lanarkshire", "scotland", 0.1},
    {"hamburg", "hamburg", "deutschland", 0.2}, {"sevilla", "andalucia", "españa", 0.1},
    {"roma", "lazio", "italia", 0.1}, {"roma", "lazio", "l`italia", 0.02},
    {"rotterdam", "zuid-holland", "the netherlands", 0.1}, {"utrecht", "utrecht", "holland", 0.05},
    {"lyon", "rhône", "la france", 0.02}, {"genève", "genève", "suisse", 0.03},
    {"lugano", "ticino", "la svizzera", 0.01}, {"bilbao", "vizcaya", "catalunya spain", 0.01},
    {"vancouver", "british columbia", "usa & canada", 0.01}, {"cardiff", "glamorgan", "wales", 0.05},
    {"belfast", "antrim", "uk", 0.05}, {"oxford", "oxfordshire", "gb", 0.02},
    {"köln", "nrw", "de", 0.02}, {"somewhere", "somewhere", "", 1.64},
};

/* ---- output helpers --------------------------------------------------- */

typedef struct {
    FILE *f;
    bool bx;
    buf line, tmp;
    char path[4096];
} out_file;

/* UTF-8 -> latin-1 for the original release; characters outside latin-1
 * become numeric HTML entities, as in the original files. */
static bp_status to_latin1(buf *out, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned cp = *u;
        int len = 1;
        if (cp >= 0xF0) {
            cp = ((u[0] & 7u) << 18) | ((u[1] & 63u) << 12) | ((u[2] & 63u) << 6) | (u[3] & 63u);
            len = 4;
        } else if (cp >= 0xE0) {
            cp = ((u[0] & 15u) << 12) | ((u[1] & 63u) << 6) | (u[2] & 63u);
            len = 3;
        } else if (cp >= 0xC0) {
            cp = ((u[0] & 31u) << 6) | (u[1] & 63u);
            len = 2;
        }
        bp_status st = cp < 256 ? buf_addc(out, (char)cp) : buf_printf(out, "&#%u;", cp);
        if (st != BP_OK)
            return st;
        u += len;
    }
    return BP_OK;
}

/* Append one field. Kaggle: quoted only when needed, "" escapes. BX: always
 * quoted, \" escapes. raw_bx: write the BX text as it is (already escaped). */
static bp_status field(out_file *o, const char *s, bool first, bool raw_bx)
{
    buf *l = &o->line;
    if (!first && buf_addc(l, o->bx ? ';' : ','))
        return BP_ENOMEM;
    if (o->bx) {
        buf_reset(&o->tmp);
        if (to_latin1(&o->tmp, s))
            return BP_ENOMEM;
        if (buf_addc(l, '"'))
            return BP_ENOMEM;
        for (const char *p = o->tmp.p ? o->tmp.p : ""; *p; p++)
            if ((*p == '"' && !raw_bx && buf_addc(l, '\\')) || buf_addc(l, *p))
                return BP_ENOMEM;
        return buf_addc(l, '"');
    }
    if (!strpbrk(s, ",\"\r\n"))
        return buf_adds(l, s);
    if (buf_addc(l, '"'))
        return BP_ENOMEM;
    for (; *s; s++)
        if ((*s == '"' && buf_addc(l, '"')) || buf_addc(l, *s))
            return BP_ENOMEM;
    return buf_addc(l, '"');
}

static bp_status end_line(out_file *o)
{
    if (buf_adds(&o->line, o->bx ? "\r\n" : "\n"))
        return BP_ENOMEM;
    if (fwrite(o->line.p, 1, o->line.len, o->f) != o->line.len)
        return BP_EIO;
    buf_reset(&o->line);
    return BP_OK;
}

static bp_status open_out(out_file *o, const char *dir, const char *name, bool bx, bp_err *err)
{
    memset(o, 0, sizeof *o);
    o->bx = bx;
    if (!fs_pathf(o->path, sizeof o->path, "%s/%s", dir, name))
        return bp_fail(err, BP_EIO, "%s/%s: path too long", dir, name);
    o->f = fopen(o->path, "wb");
    if (!o->f)
        return bp_fail(err, BP_EIO, "%s: cannot create: %s", o->path, strerror(errno));
    setvbuf(o->f, NULL, _IOFBF, 1 << 20);
    return BP_OK;
}

static bp_status close_out(out_file *o, bp_status st, bp_err *err)
{
    if (o->f && fclose(o->f) != 0 && st == BP_OK)
        st = bp_fail(err, BP_EIO, "%s: write failed: %s", o->path, strerror(errno));
    else if (st == BP_EIO)
        bp_fail(err, BP_EIO, "%s: write failed: %s", o->path, strerror(errno));
    else if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&o->line);
    buf_free(&o->tmp);
    return st;
}

/* ---- books ------------------------------------------------------------ */

/* ISBN body number i of the space (a bijection on 0..10^9-1), biased so
 * that most start with 0 like the English-language group. */
static uint64_t isbn_body(uint64_t i)
{
    uint64_t v = (i * UINT64_C(387420489) + 12345) % UINT64_C(1000000000);
    if (v % 10 < 6)
        v %= UINT64_C(100000000); /* leading digit 0 */
    return v;
}

static void make_isbn10(uint64_t body, char out[11])
{
    snprintf(out, 11, "%09llu", (unsigned long long)body);
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (10 - i) * (out[i] - '0');
    int chk = (11 - sum % 11) % 11;
    out[9] = chk == 10 ? 'X' : (char)('0' + chk);
    out[10] = 0;
}

static bp_status title_of(rng *r, buf *t)
{
    buf_reset(t);
    int n = 1 + (int)below(r, 6);
    for (int i = 0; i < n; i++)
        if ((i && buf_addc(t, ' ')) || buf_adds(t, PICK(r, words)))
            return BP_ENOMEM;
    return BP_OK;
}

typedef struct {
    rng r;
    uint64_t nbooks;
    /* tastes (gen_opts.tastes): a stream of its own, so that the main one
     * draws the same numbers whatever the knob says */
    rng t;
    double tastes;
    uint64_t seed, user_genre[2];
} gen_ctx;

/* The genre of book idx: books are dealt round the genres, so every genre
 * has popular and obscure books alike. */
#define GEN_GENRES 16

/* User u's two favourite genres, from the seed alone. */
static void user_genres(gen_ctx *g, uint64_t u)
{
    uint64_t x = g->seed * UINT64_C(0x100000001B3) ^ u;
    g->user_genre[0] = splitmix(&x) % GEN_GENRES;
    g->user_genre[1] = splitmix(&x) % GEN_GENRES;
}

static bp_status write_books(gen_ctx *g, out_file *o, uint64_t n)
{
    static const char *const hdr[] = {"ISBN", "Book-Title", "Book-Author",
                                      "Year-Of-Publication", "Publisher", "Image-URL-S",
                                      "Image-URL-M", "Image-URL-L"};
    buf title = {0}, author = {0}, pub = {0}, url[3] = {{0}};
    bp_status st = BP_OK;
    for (int k = 0; k < 8 && st == BP_OK; k++)
        st = field(o, hdr[k], k == 0, false);
    if (st == BP_OK)
        st = end_line(o);
    /* about 3 shifted rows in the real 271k */
    uint64_t shift_every = (uint64_t)(271360.0 / 3.0);
    rng *r = &g->r;
    for (uint64_t i = 0; i < n && st == BP_OK; i++) {
        char isbn[16];
        make_isbn10(isbn_body(i), isbn);
        if (chance(r, 0.00006))
            snprintf(isbn, sizeof isbn, "B%09llu", (unsigned long long)below(r, 1000000000));
        /* one check per row: a failed append leaves oom set */
        bool oom = title_of(r, &title);
        double u = unif(r);
        if (u < 0.009) { /* double-encoded UTF-8, as in the Kaggle file */
            oom |= buf_adds(&title, " Ã©tÃ© Ã\xC2\xA0Paris");
        } else if (u < 0.02) {
            oom |= buf_adds(&title, "; A Novel");
        } else if (u < 0.0215) { /* the \" scar */
            buf_reset(&title);
            oom |= buf_adds(&title, o->bx ? "A Child Called \\\"It\\\": One Child's Courage to Survive"
                                   : "A Child Called \\It\\\": One Child's Courage to Survive");
        } else if (u < 0.03) {
            oom |= buf_printf(&title, " %s", PICK(r, accented));
        } else if (u < 0.032) {
            oom |= buf_adds(&title, " &amp; Other Stories");
        }
        buf_reset(&author);
        if (chance(r, 0.003))
            oom |= buf_adds(&author, "Unknown");
        else
            oom |= buf_printf(&author, "%s %s", PICK(r, first_names), PICK(r, last_names));
        buf_reset(&pub);
        oom |= buf_adds(&pub, chance(r, 0.038) ? PICK(r, amp_publishers) : PICK(r, publishers));
        double yu = unif(r);
        int year = yu < 0.012 ? 0 : yu < 0.0121 ? 2030 + (int)below(r, 20)
                                   : 1950 + (int)(55 * sqrt(unif(r)));
        static const char *const sz[3] = {"THUMBZZZ", "MZZZZZZZ", "LZZZZZZZ"};
        for (int k = 0; k < 3; k++) {
            buf_reset(&url[k]);
            oom |= buf_printf(&url[k], "http://images.amazon.com/images/P/%s.01.%s.jpg", isbn, sz[k]);
        }
        char ys[16];
        snprintf(ys, sizeof ys, "%d", year);
        bool shifted = i % shift_every == shift_every / 2;
        if (shifted && o->bx) {
            /* the original: a title ending in \" swallows the author */
            oom |= buf_adds(&title, "\\\";") || buf_addc(&title, '"') ||
                   buf_add(&title, author.p, author.len);
            st = oom ? BP_ENOMEM : field(o, isbn, true, false);
            st = st ? st : field(o, title.p, false, true);
            for (int k = 0; st == BP_OK && k < 5; k++)
                st = field(o, k == 0 ? ys : k == 1 ? pub.p : url[k - 2].p, false, false);
        } else if (shifted) {
            /* Kaggle: title `...\";Author"`, then year, publisher, urls, one left */
            buf t2 = {0};
            oom |= buf_printf(&t2, "%s\\\";%s\"", title.p, author.p);
            st = oom ? BP_ENOMEM : field(o, isbn, true, false);
            st = st ? st : field(o, t2.p, false, false);
            for (int k = 0; st == BP_OK && k < 6; k++)
                st = field(o, k == 0 ? ys : k == 1 ? pub.p : k < 5 ? url[k - 2].p : "", false,
                           false);
            buf_free(&t2);
        } else {
            const char *f[8] = {isbn, title.p, author.p, ys, pub.p, url[0].p, url[1].p, url[2].p};
            st = oom ? BP_ENOMEM : BP_OK;
            for (int k = 0; k < 8 && st == BP_OK; k++)
                st = field(o, f[k], k == 0, false);
        }
        if (st == BP_OK)
            st = end_line(o);
    }
    buf_free(&title);
    buf_free(&author);
    buf_free(&pub);
    for (int k = 0; k < 3; k++)
        buf_free(&url[k]);
    return st;
}

/* ---- users ------------------------------------------------------------ */

static double place_total(void)
{
    double t = 0;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        t += places[i].weight;
    return t;
}

static const struct place *pick_place(rng *r, double total)
{
    double u = unif(r) * total;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        u -= places[i].weight;
        if (u < 0)
            return &places[i];
    }
    return &places[0];
}

static int pick_age(rng *r)
{
    double u = unif(r);
    if (u < 0.0015)
        return 0;
    if (u < 0.0032)
        return 1 + (int)below(r, 4);
    if (u < 0.0045)
        return 101 + (int)below(r, 140);
    double q = unif(r); /* quartiles 24 / 32 / 44 */
    if (q < 0.25)
        return 10 + (int)below(r, 14);
    if (q < 0.5)
        return 24 + (int)below(r, 8);
    if (q < 0.75)
        return 32 + (int)below(r, 12);
    return 44 + (int)below(r, 40);
}

static bp_status write_users(gen_ctx *g, out_file *o, uint64_t n)
{
    rng *r = &g->r;
    buf loc = {0};
    char id[24], age[24];
    double total = place_total();
    bp_status st = field(o, "User-ID", true, false);
    st = st ? st : field(o, "Location", false, false);
    st = st ? st : field(o, "Age", false, false);
    st = st ? st : end_line(o);
    for (uint64_t i = 1; i <= n && st == BP_OK; i++) {
        const struct place *p = pick_place(r, total);
        buf_reset(&loc);
        bool oom = false;
        double u = unif(r);
        bool raw = false;
        if (i == 275081 || (n < 275081 && i == n / 2)) {
            oom |= buf_printf(&loc, "cernusco s\n, milan, italy"); /* the quoted line break */
        } else if (u < 0.00245) { /* a "n/a" in quotes: escaped in BX, scarred in Kaggle */
            if (o->bx)
                oom |= buf_printf(&loc, "%s, \\\"n/a\\\", %s", p->city, p->country);
            else
                oom |= buf_printf(&loc, "%s, \\n/a\\\", %s\"", p->city, p->country);
            raw = o->bx;
        } else if (u < 0.048) {
            oom |= buf_printf(&loc, "%s, n/a, %s", p->city, p->country);
        } else if (u < 0.0534) {
            oom |= buf_printf(&loc, "%s, %s, %s, %s", p->city, "district", p->state, p->country);
        } else if (u < 0.0535) {
            oom |= buf_printf(&loc, "%s, %s", p->city, p->country);
        } else if (u < 0.05363) { /* mojibake of a lower-cased file */
            oom |= buf_printf(&loc, "mã¼nchen, bayern, germany");
        } else if (u < 0.05415) {
            oom |= buf_printf(&loc, "&#321;ód&#378;, lodzkie, poland");
        } else {
            oom |= buf_printf(&loc, "%s, %s, %s", p->city, p->state, p->country);
        }
        snprintf(id, sizeof id, "%llu", (unsigned long long)i);
        bool missing = chance(r, 0.397);
        if (missing)
            snprintf(age, sizeof age, "%s", o->bx ? "NULL" : "");
        else
            snprintf(age, sizeof age, o->bx ? "%d" : "%d.0", pick_age(r));
        st = oom ? BP_ENOMEM : field(o, id, true, false);
        st = st ? st : field(o, loc.p, false, raw);
        if (st == BP_OK && o->bx && missing) /* BX writes NULL bare */
            st = buf_adds(&o->line, ";NULL");
        else if (st == BP_OK)
            st = field(o, age, false, false);
        st = st ? st : end_line(o);
    }
    buf_free(&loc);
    return st;
}

/* ---- ratings ---------------------------------------------------------- */

/* Ratings per active user: heavy-tailed (median 1, p99 about 140), capped. */
static uint64_t activity(rng *r)
{
    double x = 0.55 * pow(1.0 - unif(r), -1.2);
    uint64_t n = x < 1 ? 1 : (uint64_t)x;
    return n > 2512 ? 2512 : n;
}

static int pick_rating(rng *r)
{
    static const int hist[10] = {70, 87, 218, 282, 1963, 1295, 2593, 3569, 2154, 2880};
    if (chance(r, 0.615))
        return 0;
    int u = (int)below(r, 15111);
    for (int k = 0; k < 10; k++) {
        u -= hist[k];
        if (u < 0)
            return k + 1;
    }
    return 10;
}

/* The raw ISBN text a rating carries, in the forms PROFILE.md counts. */
static void rating_isbn(gen_ctx *g, char *out, size_t n)
{
    rng *r = &g->r;
    char isbn[16];
    double u = unif(r);
    /* popularity: a power law over book ranks; 10% are not in Books */
    uint64_t idx = u < 0.10 ? g->nbooks + below(r, g->nbooks * 4 + 1000)
                            : (uint64_t)((double)g->nbooks * pow(unif(r), 3.0));
    if (u >= 0.10 && g->tastes > 0 && chance(&g->t, g->tastes)) {
        /* a book of one of the user's genres, by popularity within it */
        uint64_t genre = g->user_genre[below(&g->t, 2)];
        uint64_t per = g->nbooks / GEN_GENRES;
        idx = per ? (uint64_t)((double)per * pow(unif(&g->t), 3.0)) * GEN_GENRES + genre : 0;
    }
    if (idx >= g->nbooks && u >= 0.10)
        idx = g->nbooks - 1;
    make_isbn10(isbn_body(idx), isbn);
    double f = unif(r);
    if (f < 0.0044 && isbn[0] == '0') {
        snprintf(out, n, "%s", isbn + 1); /* leading zero lost */
    } else if (f < 0.0081) {
        isbn[9] = isbn[9] == '1' ? '2' : '1'; /* wrong check digit */
        snprintf(out, n, "%s", isbn);
    } else if (f < 0.0111) {
        static const char *const junk[] = {"B.41.6442003", "N3704320196", "BCID615131059",
                                           "0-ASIN-X", "ZZZ"};
        snprintf(out, n, "%s", PICK(r, junk));
    } else if (f < 0.0134) {
        snprintf(out, n, "%s%02d", isbn, (int)below(r, 100)); /* 11-12 digits */
    } else if (f < 0.0142) {
        snprintf(out, n, "%.8s", isbn);
    } else if (f < 0.0150) {
        isbn_info ib;
        if (isbn_clean(isbn, 10, &ib) && ib.isbn13[0])
            snprintf(out, n, "%s", ib.isbn13);
        else
            snprintf(out, n, "%s", isbn);
    } else if (f < 0.01525 && isbn[9] == 'X') {
        isbn[9] = 'x';
        snprintf(out, n, "%s", isbn);
    } else if (f < 0.01530) {
        snprintf(out, n, "%c %.4s %.4s %c", isbn[0], isbn + 1, isbn + 5, isbn[9]);
    } else {
        snprintf(out, n, "%s", isbn);
    }
}

static bp_status write_ratings(gen_ctx *g, out_file *o, uint64_t users, uint64_t target,
                               uint64_t *written)
{
    rng *r = &g->r;
    char id[24], isbn[40], rating[16];
    bp_status st = field(o, "User-ID", true, false);
    st = st ? st : field(o, "ISBN", false, false);
    st = st ? st : field(o, "Book-Rating", false, false);
    st = st ? st : end_line(o);
    uint64_t total = 0;
    char (*seen)[40] = malloc(2600 * sizeof *seen);
    if (!seen)
        return BP_ENOMEM;
    for (int pass = 0; total < target && st == BP_OK && pass < 64; pass++) {
        for (uint64_t u = 1; u <= users && total < target && st == BP_OK; u++) {
            if (!chance(r, 0.38))
                continue;
            uint64_t k = activity(r);
            if (k > target - total)
                k = target - total;
            snprintf(id, sizeof id, "%llu", (unsigned long long)u);
            user_genres(g, u);
            int nseen = 0;
            for (uint64_t j = 0; j < k && st == BP_OK; j++) {
                bool dup;
                int tries = 0;
                do { /* distinct books per user, except a rare planted duplicate */
                    rating_isbn(g, isbn, sizeof isbn);
                    dup = false;
                    for (int s = 0; s < nseen && !dup; s++)
                        dup = strcmp(seen[s], isbn) == 0;
                } while (dup && ++tries < 20 && !chance(r, 0.0002));
                if (nseen < 2600)
                    snprintf(seen[nseen++], 40, "%s", isbn);
                snprintf(rating, sizeof rating, "%d", pick_rating(r));
                st = field(o, id, true, false);
                st = st ? st : field(o, isbn, false, false);
                st = st ? st : field(o, rating, false, false);
                st = st ? st : end_line(o);
                total++;
            }
        }
    }
    free(seen);
    *written = total;
    return st;
}

bp_status gen_run(const gen_opts *o, gen_report *rep, bp_err *err)
{
    if (o->scale <= 0 || o->scale > 100)
        return bp_fail(err, BP_EUSAGE, "scale must be above 0 and at most 100");
    if (!(o->tastes >= 0 && o->tastes <= 1))
        return bp_fail(err, BP_EUSAGE, "tastes must be from 0 to 1");
    if (fs_mkdir_p(o->out, BP_EIO, "output folder", err) != BP_OK)
        return BP_EIO;
    gen_ctx g = {.tastes = o->tastes, .seed = o->seed};
    rng_seed(&g.t, o->seed * 3 + 3);
    uint64_t nb = (uint64_t)llround((o->bx ? 271379 : 271360) * o->scale);
    uint64_t nu = (uint64_t)llround(278858 * o->scale);
    uint64_t nr = (uint64_t)llround(1149780 * o->scale);
    g.nbooks = nb ? nb : 1;
    nu = nu ? nu : 1;
    static const char *const kn[3] = {"Books.csv", "Users.csv", "Ratings.csv"};
    static const char *const bn[3] = {"BX-Books.csv", "BX-Users.csv", "BX-Book-Ratings.csv"};
    memset(rep, 0, sizeof *rep);
    for (int t = 0; t < 3; t++) {
        out_file f;
        bp_status st = open_out(&f, o->out, o->bx ? bn[t] : kn[t], o->bx, err);
        if (st != BP_OK)
            return st;
        snprintf(rep->files[t], sizeof rep->files[t], "%s", f.path);
        /* one stream per table, so that both formats get the same users */
        rng_seed(&g.r, o->seed * 3 + (uint64_t)t);
        if (t == 0)
            st = write_books(&g, &f, g.nbooks);
        else if (t == 1)
            st = write_users(&g, &f, nu);
        else
            st = write_ratings(&g, &f, nu, nr, &rep->ratings);
        if ((st = close_out(&f, st, err)) != BP_OK)
            return st;
    }
    rep->books = g.nbooks;
    rep->users = nu;
    return BP_OK;
}
