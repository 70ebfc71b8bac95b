/* test_fuzz.c: random inputs through the reader and every cleaner, in both
 * dialects. Run under ASan/UBSan by `make sanitize`; the properties: no
 * crash, every record is either loaded or quarantined, and every text
 * value that reaches a batch is valid UTF-8. Deterministic (fixed seed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clean/clean.h"
#include "clean/text.h"
#include "core/yml.h"
#include "csv/csv.h"
#include "jinja/jinja.h"

static uint64_t seed = 0x5eed;

static uint64_t next(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

/* Bytes that matter to the parser and the cleaners, and some that do not. */
static const char alphabet[] = ",;\"\\\r\n &#x;0123456789Xx-.abcNULL\xc3\xa9\xe2\x82\xac\xff\xfe\x80\t";

static size_t random_text(char *out, size_t cap)
{
    size_t n = (size_t)(next() % cap);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next();
        out[i] = (r & 7) == 0 ? (char)(r >> 8) : alphabet[(r >> 8) % (sizeof alphabet - 1)];
    }
    return n;
}

static void assert_utf8_batch(const batch *b)
{
    for (int c = 0; c < b->def->ncols; c++) {
        if (b->def->cols[c].type != COL_TEXT)
            continue;
        for (size_t r = 0; r < b->n; r++) {
            if (b->col[c].null[r])
                continue;
            size_t n;
            const unsigned char *s = (const unsigned char *)batch_text(b, c, r, &n);
            for (size_t i = 0; i < n;) {
                size_t l = text_utf8_seq(s + i, n - i);
                assert_true(l > 0);
                i += l;
            }
        }
    }
}

static void fuzz_once(const char *path, const char *data, size_t n, csv_dialect d, src_table t)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
    src_set set;
    memset(&set, 0, sizeof set);
    set.file[t].found = true;
    snprintf(set.file[t].name, sizeof set.file[t].name, "%s", path);
    snprintf(set.file[t].label, sizeof set.file[t].label, "fuzz.csv");
    src_stream *s;
    assert_int_equal(src_open(&set, t, &s, NULL), BP_OK);
    csv_reader *r = csv_new(s, d);
    clean_config cfg;
    clean_config_default(&cfg);
    cleaner *c = clean_new(t, &cfg, "fuzz.csv", 0);
    batch *out = batch_new(clean_table_def(t)), *q = batch_new(&clean_quarantine_def);
    assert_true(r && c && out && q);
    int got;
    while ((got = csv_next(r, NULL)) > 0) {
        assert_int_equal(clean_record(c, r, 1, out, q), BP_OK);
        if (batch_full(out) || batch_full(q)) {
            assert_utf8_batch(out);
            assert_utf8_batch(q);
            batch_clear(out);
            batch_clear(q);
        }
    }
    assert_int_equal(got, 0);
    assert_utf8_batch(out);
    assert_utf8_batch(q);
    const clean_stats *st = clean_get_stats(c);
    assert_int_equal(st->read, st->loaded + st->quarantined);
    batch_free(out);
    batch_free(q);
    clean_free(c);
    csv_free(r);
    src_close(s);
}

static void fuzz_reader_and_cleaners(void **state)
{
    (void)state;
    char path[64], data[4096];
    snprintf(path, sizeof path, "/tmp/bp_fuzz_%d.csv", (int)getpid());
    const csv_dialect dialects[2] = {{',', false}, {';', true}};
    /* BP_FUZZ_ITERS and BP_FUZZ_SEED make longer or other runs */
    const char *it = getenv("BP_FUZZ_ITERS"), *sd = getenv("BP_FUZZ_SEED");
    long iters = it ? strtol(it, NULL, 10) : 3000;
    if (sd)
        seed = strtoull(sd, NULL, 10) | 1;
    for (long i = 0; i < iters; i++) {
        size_t n = random_text(data, sizeof data);
        fuzz_once(path, data, n, dialects[i % 2], (src_table)(i % SRC_NTABLES));
    }
    unlink(path);
}

/* ---- templates and YAML: errors are fine, crashes are not ---------------- */

static bp_status fz_fail(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data, (void)a, (void)out;
    return jinja_fail(rt, "no such thing");
}

static bp_status fz_first(jinja_rt *rt, void *data, const jv_args *a, jv **out)
{
    (void)data;
    *out = a->npos ? a->pos[0] : jv_none(jinja_rt_arena(rt));
    return BP_OK;
}

static bool fz_lookup(void *ctx, jinja_rt *rt, const char *name, jv **out)
{
    (void)ctx;
    arena *a = jinja_rt_arena(rt);
    if (name[0] == 'u')
        return false; /* some names are undefined */
    if (name[0] == 'e')
        return (*out = jv_func(a, name, fz_fail, NULL)) != NULL;
    if (name[0] == 'r')
        return (*out = jv_func(a, name, fz_first, NULL)) != NULL;
    return (*out = jv_strz(a, name)) != NULL;
}

static const char *const pieces[] = {
    "{{", "}}", "{%", "%}", "{#", "#}", "-", " ", "if", "elif", "else", "endif", "set", "x",
    "=", "==", "!=", "and", "or", "not", "in", "(", ")", "[", "]", "{", "}", ",", ":", ".",
    "'s'", "\"t\"", "'", "\"", "1", "2.5", "ref", "e", "u", "true", "none", "\n", "|", "select",
    "for", "endfor", "macro", "endmacro", "call", "endcall", "caller", "loop", "~", "*", "**",
    "/", "//", "%", "is", "defined", "join", "map", "upper", "do", "break", "raw", "endraw",
    "filter", "endfilter", "with", "endwith", "namespace", "range", "items", "+", "0"};

static void fuzz_templates_and_yaml(void **state)
{
    (void)state;
    const jinja_env env = {fz_lookup, NULL, NULL, NULL, NULL};
    char t[2048];
    for (int i = 0; i < 20000; i++) {
        size_t n = 0;
        int k = (int)(next() % 40);
        for (int j = 0; j < k; j++) {
            const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            if (n + l >= sizeof t)
                break;
            memcpy(t + n, p, l);
            n += l;
        }
        buf out = {0};
        bp_err err = {0};
        out.limit = 1 << 20;
        bp_status st = jinja_render_string("f.sql", t, n, &env, NULL, &out, &err);
        assert_true(st == BP_OK || (st == BP_EINPUT && strstr(err.msg, "f.sql:")) ||
                    (st == BP_ENOMEM && out.len > 0));
        buf_free(&out);
        yml_doc *d = NULL;
        if (yml_parse("f.yml", t, n, &d, &err) == BP_OK)
            yml_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuzz_reader_and_cleaners),
        cmocka_unit_test(fuzz_templates_and_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
