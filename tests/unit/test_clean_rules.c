/* test_clean_rules.c: unit tests for the cleaning rules (DESIGN.md 3):
 * ISBNs, text (transcoding, mojibake, entities, scars, whitespace),
 * locations, numbers and the key set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clean/isbn.h"
#include "clean/loc.h"
#include "clean/text.h"
#include "core/keyset.h"
#include "core/keyspill.h"
#include "core/num.h"

/* ---- ISBN ---- */

static void isbn_valid_10(void **state)
{
    (void)state;
    isbn_info i;
    assert_true(isbn_clean("034545104X", 10, &i));
    assert_string_equal(i.norm, "034545104X");
    assert_true(i.checksum_ok);
    assert_string_equal(i.isbn13, "9780345451040");
    assert_false(i.repaired);
}

static void isbn_strips_and_uppercases(void **state)
{
    (void)state;
    isbn_info i;
    assert_true(isbn_clean(" 0-345-45104-x ", 15, &i));
    assert_string_equal(i.norm, "034545104X");
    assert_true(isbn_clean("0 7322 6794 3", 13, &i));
    assert_string_equal(i.norm, "0732267943");
    assert_true(isbn_clean("\"0195153448\\", 12, &i));
    assert_string_equal(i.norm, "0195153448");
    assert_true(isbn_clean("0.19.515344.8", 13, &i));
    assert_string_equal(i.norm, "0195153448");
}

static void isbn_wrong_check_digit_kept(void **state)
{
    (void)state;
    isbn_info i;
    assert_true(isbn_clean("0195153449", 10, &i));
    assert_false(i.checksum_ok);
    assert_string_equal(i.isbn13, "");
}

static void isbn_leading_zero_repaired(void **state)
{
    (void)state;
    isbn_info i;
    assert_true(isbn_clean("195153448", 9, &i)); /* 0195153448 lost its 0 */
    assert_string_equal(i.norm, "0195153448");
    assert_true(i.repaired);
    assert_true(i.checksum_ok);
    /* 9 digits that do not validate with a 0 in front are junk */
    assert_false(isbn_clean("195153447", 9, &i));
}

static void isbn_13(void **state)
{
    (void)state;
    isbn_info i;
    assert_true(isbn_clean("9780345451040", 13, &i));
    assert_true(i.checksum_ok);
    assert_string_equal(i.isbn13, "9780345451040");
    assert_true(isbn_clean("9780345451041", 13, &i));
    assert_false(i.checksum_ok);
}

static void isbn_malformed(void **state)
{
    (void)state;
    isbn_info i;
    const char *bad[] = {"B.41.6442003", "N3704320196", "BCID615131059", "12345678",
                         "034545104X12", "03454510X4", "", "97803454510401"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_false(isbn_clean(bad[k], strlen(bad[k]), &i));
}

static void isbn_codes_distinct(void **state)
{
    (void)state;
    isbn_info a, b, c;
    assert_true(isbn_clean("034545104X", 10, &a));
    assert_true(isbn_clean("0345451040", 10, &b));
    assert_true(isbn_clean("9780345451040", 13, &c));
    assert_true(isbn_code(&a) != isbn_code(&b));
    assert_true(isbn_code(&b) != isbn_code(&c));
    assert_true(isbn_code(&c) < (UINT64_C(1) << 44));
}

/* ---- text ---- */

static const char *clean(text_ctx *c, const char *s, unsigned flags, unsigned *rep)
{
    static char out[1024];
    size_t n;
    bool oom = false;
    unsigned r;
    const char *t = text_clean(c, s, strlen(s), flags, &n, &r, &oom);
    assert_false(oom);
    if (rep)
        *rep = r;
    if (!t)
        return NULL;
    assert_true(n < sizeof out);
    memcpy(out, t, n);
    out[n] = 0;
    return out;
}

static void text_plain_untouched(void **state)
{
    (void)state;
    text_ctx c = {0};
    unsigned rep;
    assert_string_equal(clean(&c, "Classical Mythology", 0, &rep), "Classical Mythology");
    assert_int_equal(rep, 0);
    text_ctx_free(&c);
}

static void text_latin1_transcoded(void **state)
{
    (void)state;
    text_ctx c = {0};
    assert_string_equal(clean(&c, "M\xfcnchen", 0, NULL), "München");
    assert_string_equal(clean(&c, "caf\xe9 \x96 bar", 0, NULL), "café – bar"); /* cp1252 dash */
    assert_string_equal(clean(&c, "\xe5rhus", 0, NULL), "århus");
    text_ctx_free(&c);
}

static void text_mojibake_repaired(void **state)
{
    (void)state;
    text_ctx c = {0};
    unsigned rep;
    assert_string_equal(clean(&c, "Ã©tÃ©", 0, &rep), "été");
    assert_true(rep & TEXT_R_MOJIBAKE);
    assert_string_equal(clean(&c, "Â¼ pound", 0, NULL), "¼ pound");
    assert_string_equal(clean(&c, "Ã\xc2\xa0 la carte", 0, NULL), "à la carte");
    assert_string_equal(clean(&c, "It\xc3\xa2\xe2\x82\xac\xe2\x84\xa2s", 0, NULL), "It’s");
    /* lower-cased mojibake of the Users file */
    assert_string_equal(clean(&c, "mã¼nchen", 0, NULL), "münchen");
    assert_string_equal(clean(&c, "espaã±a", 0, NULL), "españa");
    /* genuine accents stay as they are */
    assert_string_equal(clean(&c, "café crème", 0, &rep), "café crème");
    assert_int_equal(rep, 0);
    assert_string_equal(clean(&c, "São Paulo", 0, &rep), "São Paulo");
    assert_int_equal(rep, 0);
    text_ctx_free(&c);
}

static void text_entities(void **state)
{
    (void)state;
    text_ctx c = {0};
    assert_string_equal(clean(&c, "Simon &amp; Schuster", 0, NULL), "Simon & Schuster");
    assert_string_equal(clean(&c, "&#321;ód&#378;", 0, NULL), "Łódź");
    assert_string_equal(clean(&c, "&#x4E2D;&#22269;", 0, NULL), "中国");
    assert_string_equal(clean(&c, "caf&eacute; &lt;b&gt;", 0, NULL), "café <b>");
    assert_string_equal(clean(&c, "a&nbsp;&nbsp;b", 0, NULL), "a b");
    /* not entities: left alone */
    assert_string_equal(clean(&c, "AT&T &foo; &#0; &#xZZ;", 0, NULL), "AT&T &foo; &#0; &#xZZ;");
    text_ctx_free(&c);
}

static void text_scars(void **state)
{
    (void)state;
    text_ctx c = {0};
    unsigned rep;
    assert_string_equal(clean(&c, "A Child Called \\It\\\": One Child's Courage to Survive",
                              TEXT_SCARS, &rep),
                        "A Child Called \"It\": One Child's Courage to Survive");
    assert_true(rep & TEXT_R_SCAR);
    assert_string_equal(clean(&c, "Michael Teitelbaum\"", TEXT_SCARS, NULL), "Michael Teitelbaum");
    assert_string_equal(clean(&c, "The \"Best\" Book", TEXT_SCARS, &rep), "The \"Best\" Book");
    assert_int_equal(rep, 0);
    assert_string_equal(clean(&c, "\\\"n/a\\\"", TEXT_STRIP_QUOTES, NULL), "n/a");
    text_ctx_free(&c);
}

static void text_whitespace_and_empty(void **state)
{
    (void)state;
    text_ctx c = {0};
    assert_string_equal(clean(&c, "  a \t\r\n  b  ", 0, NULL), "a b");
    assert_null(clean(&c, "   ", 0, NULL));
    assert_null(clean(&c, "", 0, NULL));
    assert_string_equal(clean(&c, "x\x01y", 0, NULL), "x y");
    text_ctx_free(&c);
}

static void text_always_valid_utf8(void **state)
{
    (void)state;
    text_ctx c = {0};
    const char *s = clean(&c, "\xff\xfe\xc3\x28\xe2\x82 ok", 0, NULL);
    for (size_t i = 0; s[i];) {
        size_t l = text_utf8_seq((const unsigned char *)s + i, strlen(s + i));
        assert_true(l > 0);
        i += l;
    }
    text_ctx_free(&c);
}

/* ---- locations ---- */

static void loc_check(const char *in, const char *city, const char *state, const char *country)
{
    text_ctx c = {0};
    buf b = {0};
    size_t n;
    unsigned rep;
    bool oom = false;
    const char *t = text_clean(&c, in, strlen(in), TEXT_STRIP_QUOTES, &n, &rep, &oom);
    loc_parts p;
    assert_int_equal(loc_parse(t ? t : "", t ? n : 0, &b, &p), BP_OK);
    const char *got[3] = {p.city, p.state, p.country};
    size_t len[3] = {p.city_n, p.state_n, p.country_n};
    const char *want[3] = {city, state, country};
    print_message("location: %s\n", in);
    for (int k = 0; k < 3; k++) {
        if (!want[k]) {
            assert_null(got[k]);
        } else {
            assert_non_null(got[k]);
            assert_int_equal(len[k], strlen(want[k]));
            assert_memory_equal(got[k], want[k], len[k]);
        }
    }
    buf_free(&b);
    text_ctx_free(&c);
}

static void loc_parsing(void **state)
{
    (void)state;
    loc_check("nyc, new york, usa", "nyc", "new york", "usa");
    loc_check("århus, \\n/a\\\", denmark\"", "århus", NULL, "denmark");
    loc_check("lisbon, \\n/a\\\",\"", "lisbon", NULL, NULL);
    loc_check("cernusco s/n, lombardia, milan, italy", "cernusco s/n, lombardia", "milan",
              "italy");
    loc_check("berlin, germany", NULL, "berlin", "germany");
    loc_check("Spain\"", NULL, NULL, "spain");
    loc_check("n/a, n/a, n/a", NULL, NULL, NULL);
    loc_check("", NULL, NULL, NULL);
    loc_check("york, n yorks, UNITED KINGDOM", "york", "n yorks", "united kingdom");
    loc_check("x, ?, usa", NULL, NULL, "usa");
    loc_check("mã¼nchen, bayern, germany", "münchen", "bayern", "germany");
    loc_check("porto, ,  PORTUGAL ", "porto", NULL, "portugal");
    loc_check("sevilla, andalucia, ESPAÑA", "sevilla", "andalucia", "españa");
}

/* ---- numbers ---- */

static void numbers(void **state)
{
    (void)state;
    int64_t v;
    assert_true(num_parse_intlike("18.0", 4, &v));
    assert_int_equal(v, 18);
    assert_true(num_parse_intlike(" 42 ", 4, &v));
    assert_int_equal(v, 42);
    assert_false(num_parse_intlike("18.5", 4, &v));
    assert_false(num_parse_intlike("NULL", 4, &v));
    assert_false(num_parse_intlike("", 0, &v));
    assert_false(num_parse_intlike("1e3", 3, &v));
    assert_false(num_parse_i64("99999999999999999999", 20, &v));
    assert_true(num_parse_i64("-5", 2, &v));
    assert_int_equal(v, -5);
    assert_false(num_parse_intlike("DK Publishing Inc", 17, &v));
}

static void sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(num_parse_size("128MB", &v));
    assert_int_equal(v, 128ULL << 20);
    assert_true(num_parse_size("4 GiB", &v));
    assert_int_equal(v, 4ULL << 30);
    assert_true(num_parse_size("2t", &v));
    assert_int_equal(v, 2ULL << 40);
    assert_true(num_parse_size("1048576", &v));
    assert_int_equal(v, 1048576);
    assert_true(num_parse_size("8kb", &v));
    assert_int_equal(v, 8192);
    assert_false(num_parse_size("0MB", &v));
    assert_false(num_parse_size("5XB", &v));
    assert_false(num_parse_size("MB", &v));
    assert_false(num_parse_size("-1GB", &v));
    assert_false(num_parse_size("12ib", &v));
    assert_false(num_parse_size("1.5GB", &v));
    assert_false(num_parse_size("99999999999TB", &v));
}

static void keyset_exact(void **state)
{
    (void)state;
    keyset s;
    bool added;
    assert_int_equal(keyset_init(&s, 0), BP_OK);
    for (uint64_t i = 0; i < 100000; i++) {
        assert_int_equal(keyset_add(&s, (uint16_t)(i & 7), i * 7919, &added), BP_OK);
        assert_true(added);
    }
    assert_int_equal(keyset_add(&s, 4, 11 * 7919, &added), BP_OK);
    assert_true(added); /* same lo, other hi */
    assert_int_equal(keyset_add(&s, 3, 3 * 7919, &added), BP_OK);
    assert_false(added);
    assert_int_equal(s.n, 100001);
    keyset_free(&s);
}

static void keyset_spill_finds_repeats(void **state)
{
    (void)state;
    keyset_spill *sp;
    bp_err err = {0};
    assert_int_equal(keyset_spill_new("/tmp", &sp, &err), BP_OK);
    /* line i has key i % 1000: lines 1000.. repeat a key; hi tells keys apart */
    for (uint64_t i = 0; i < 5000; i++)
        assert_int_equal(keyset_spill_add(sp, 0, (i % 1000) * 7919, i, &err), BP_OK);
    assert_int_equal(keyset_spill_add(sp, 3, 5 * 7919, 5000, &err), BP_OK); /* new: other hi */
    assert_int_equal(keyset_spill_add(sp, 3, 5 * 7919, 5001, &err), BP_OK); /* its repeat */
    keyset_lines l;
    assert_int_equal(keyset_spill_resolve(sp, &l, &err), BP_OK);
    keyset_spill_free(sp);
    assert_int_equal(l.ndup, 4001);
    for (uint64_t i = 0; i < 1000; i++)
        assert_false(keyset_lines_dup(&l, i));
    for (uint64_t i = 1000; i < 5000; i++)
        assert_true(keyset_lines_dup(&l, i));
    assert_false(keyset_lines_dup(&l, 5000));
    assert_true(keyset_lines_dup(&l, 5001));
    assert_false(keyset_lines_dup(&l, 999999)); /* past the last line */
    keyset_lines_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(isbn_valid_10),
        cmocka_unit_test(isbn_strips_and_uppercases),
        cmocka_unit_test(isbn_wrong_check_digit_kept),
        cmocka_unit_test(isbn_leading_zero_repaired),
        cmocka_unit_test(isbn_13),
        cmocka_unit_test(isbn_malformed),
        cmocka_unit_test(isbn_codes_distinct),
        cmocka_unit_test(text_plain_untouched),
        cmocka_unit_test(text_latin1_transcoded),
        cmocka_unit_test(text_mojibake_repaired),
        cmocka_unit_test(text_entities),
        cmocka_unit_test(text_scars),
        cmocka_unit_test(text_whitespace_and_empty),
        cmocka_unit_test(text_always_valid_utf8),
        cmocka_unit_test(loc_parsing),
        cmocka_unit_test(numbers),
        cmocka_unit_test(sizes),
        cmocka_unit_test(keyset_exact),
        cmocka_unit_test(keyset_spill_finds_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
