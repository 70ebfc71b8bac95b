/* text.c: transcoding, mojibake repair, HTML entities and whitespace. */
#include "text.h"

#include <string.h>

/* Windows-1252's 0x80..0x9F; 0 where undefined (then read as latin-1). */
static const unsigned short cp1252[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

void text_ctx_free(text_ctx *c)
{
    if (!c)
        return;
    buf_free(&c->a);
    buf_free(&c->b);
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t text_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static unsigned utf8_decode(const unsigned char *s, size_t len)
{
    if (len == 1)
        return s[0];
    unsigned cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

bp_status text_to_utf8(buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (buf_reserve(out, n * 3) != BP_OK)
        return BP_ENOMEM;
    char *o = out->p + out->len;
    for (size_t i = 0; i < n;) {
        size_t l = text_utf8_seq(u + i, n - i);
        if (l) {
            memcpy(o, u + i, l);
            o += l;
            i += l;
            continue;
        }
        unsigned cp = u[i] >= 0x80 && u[i] < 0xA0 && cp1252[u[i] - 0x80] ? cp1252[u[i] - 0x80]
                                                                         : u[i];
        o += put_utf8(o, cp);
        i++;
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
    return BP_OK;
}

/* The byte a code point stood for when UTF-8 bytes were misread as
 * Windows-1252 or latin-1, or -1 when it cannot have come from that. */
static int misread_byte(unsigned cp)
{
    if (cp >= 0x80 && cp <= 0xFF)
        return (int)cp;
    for (int i = 0; i < 32; i++)
        if (cp1252[i] == cp)
            return 0x80 + i;
    return -1;
}

/* Repair one run of misread bytes: decode what forms UTF-8 sequences,
 * keep the rest as it was. Lower-cased lead bytes (ã for Ã, â for Â, as
 * the Users file's lower-casing left them) are accepted where the
 * upper-case one completes a sequence. */
static bool repair_run(buf *out, const unsigned char *bytes, const unsigned *cps, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = 0;
        unsigned char tmp[4];
        if (bytes[i] >= 0xC2) {
            l = text_utf8_seq(bytes + i, n - i);
            if (l >= 2) {
                memcpy(tmp, bytes + i, l);
            } else if ((bytes[i] == 0xE3 || bytes[i] == 0xE2) && i + 1 < n) {
                tmp[0] = (unsigned char)(bytes[i] - 0x20);
                tmp[1] = bytes[i + 1];
                l = text_utf8_seq(tmp, 2) == 2 ? 2 : 0;
            } else {
                l = 0;
            }
        }
        char o[4];
        if (l >= 2) {
            if (buf_add(out, o, put_utf8(o, utf8_decode(tmp, l))) != BP_OK)
                return false;
            i += l;
        } else {
            if (buf_add(out, o, put_utf8(o, cps[i])) != BP_OK)
                return false;
            i++;
        }
    }
    return true;
}

/* Double-encoded UTF-8 repair over valid UTF-8 in -> out: runs of
 * characters that could be misread bytes are handed to repair_run. */
static bool fix_mojibake(const char *in, size_t n, buf *out, bool *changed)
{
    const unsigned char *u = (const unsigned char *)in;
    unsigned char bytes[256];
    unsigned cps[256];
    size_t nb = 0;
    buf_reset(out);
    for (size_t i = 0; i <= n;) {
        size_t l = 1;
        int b = -1;
        if (i < n) {
            l = text_utf8_seq(u + i, n - i);
            l = l ? l : 1;
            unsigned cp = utf8_decode(u + i, l);
            b = cp >= 0x80 ? misread_byte(cp) : -1;
            if (b >= 0 && nb < sizeof bytes) {
                bytes[nb] = (unsigned char)b;
                cps[nb++] = cp;
                i += l;
                continue;
            }
        }
        if (nb && !repair_run(out, bytes, cps, nb))
            return false;
        nb = 0;
        if (b >= 0)
            continue; /* the run was full: this character starts the next */
        if (i < n && buf_add(out, u + i, l) != BP_OK)
            return false;
        i += l;
    }
    *changed = out->len != n || memcmp(out->p, in, n) != 0;
    return true;
}

struct entity {
    const char *name;
    unsigned cp;
};

/* HTML 4 named entities: the latin-1 set and the common typographic ones. */
static const struct entity entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", 160}, {"iexcl", 161}, {"cent", 162}, {"pound", 163}, {"curren", 164},
    {"yen", 165}, {"brvbar", 166}, {"sect", 167}, {"uml", 168}, {"copy", 169},
    {"ordf", 170}, {"laquo", 171}, {"not", 172}, {"shy", 173}, {"reg", 174},
    {"macr", 175}, {"deg", 176}, {"plusmn", 177}, {"sup2", 178}, {"sup3", 179},
    {"acute", 180}, {"micro", 181}, {"para", 182}, {"middot", 183}, {"cedil", 184},
    {"sup1", 185}, {"ordm", 186}, {"raquo", 187}, {"frac14", 188}, {"frac12", 189},
    {"frac34", 190}, {"iquest", 191}, {"Agrave", 192}, {"Aacute", 193}, {"Acirc", 194},
    {"Atilde", 195}, {"Auml", 196}, {"Aring", 197}, {"AElig", 198}, {"Ccedil", 199},
    {"Egrave", 200}, {"Eacute", 201}, {"Ecirc", 202}, {"Euml", 203}, {"Igrave", 204},
    {"Iacute", 205}, {"Icirc", 206}, {"Iuml", 207}, {"ETH", 208}, {"Ntilde", 209},
    {"Ograve", 210}, {"Oacute", 211}, {"Ocirc", 212}, {"Otilde", 213}, {"Ouml", 214},
    {"times", 215}, {"Oslash", 216}, {"Ugrave", 217}, {"Uacute", 218}, {"Ucirc", 219},
    {"Uuml", 220}, {"Yacute", 221}, {"THORN", 222}, {"szlig", 223}, {"agrave", 224},
    {"aacute", 225}, {"acirc", 226}, {"atilde", 227}, {"auml", 228}, {"aring", 229},
    {"aelig", 230}, {"ccedil", 231}, {"egrave", 232}, {"eacute", 233}, {"ecirc", 234},
    {"euml", 235}, {"igrave", 236}, {"iacute", 237}, {"icirc", 238}, {"iuml", 239},
    {"eth", 240}, {"ntilde", 241}, {"ograve", 242}, {"oacute", 243}, {"ocirc", 244},
    {"otilde", 245}, {"ouml", 246}, {"divide", 247}, {"oslash", 248}, {"ugrave", 249},
    {"uacute", 250}, {"ucirc", 251}, {"uuml", 252}, {"yacute", 253}, {"thorn", 254},
    {"yuml", 255}, {"OElig", 0x152}, {"oelig", 0x153}, {"Scaron", 0x160},
    {"scaron", 0x161}, {"Yuml", 0x178}, {"fnof", 0x192}, {"circ", 0x2C6},
    {"tilde", 0x2DC}, {"ndash", 0x2013}, {"mdash", 0x2014}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
    {"bdquo", 0x201E}, {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},
    {"hellip", 0x2026}, {"permil", 0x2030}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A},
    {"euro", 0x20AC}, {"trade", 0x2122},
};

size_t text_entity(const char *s, size_t n, char *out, size_t *outn)
{
    size_t i = 1;
    unsigned long cp = 0;
    if (n < 3 || s[0] != '&')
        return 0;
    if (s[1] == '#') {
        int hex = n > 2 && (s[2] == 'x' || s[2] == 'X');
        i = hex ? 3 : 2;
        size_t d0 = i;
        for (; i < n && i < d0 + 8; i++) {
            char c = s[i];
            int v = c >= '0' && c <= '9' ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (v < 0)
                break;
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
        }
        if (i == d0 || i >= n || s[i] != ';')
            return 0;
        if (cp < 0x20 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0x7F)
            return 0;
        if (cp >= 0x80 && cp < 0xA0 && cp1252[cp - 0x80]) /* &#150; means cp1252's dash */
            cp = cp1252[cp - 0x80];
        *outn = put_utf8(out, (unsigned)cp);
        return i + 1;
    }
    for (; i < n && i < 10 && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                               (s[i] >= '0' && s[i] <= '9'));
         i++)
        ;
    if (i >= n || s[i] != ';' || i == 1)
        return 0;
    for (size_t k = 0; k < sizeof entities / sizeof entities[0]; k++) {
        if (strlen(entities[k].name) == i - 1 && memcmp(entities[k].name, s + 1, i - 1) == 0) {
            *outn = put_utf8(out, entities[k].cp);
            return i + 1;
        }
    }
    return 0;
}

/* Entities, scars, quotes and whitespace in one pass over valid UTF-8. */
static bool final_pass(const char *in, size_t n, unsigned flags, buf *out, bool *scar)
{
    buf_reset(out);
    if (buf_reserve(out, n) != BP_OK)
        return false;
    char *o = out->p;
    bool space = true; /* drop leading spaces */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        char ent[4];
        size_t entn = 0, used = 0;
        if (c == '&' && (used = text_entity(in + i, n - i, ent, &entn)) > 0) {
            if (entn == 2 && (unsigned char)ent[0] == 0xC2 && (unsigned char)ent[1] == 0xA0) {
                c = ' '; /* &nbsp; */
            } else {
                memcpy(o, ent, entn); /* entity text is longer than its UTF-8 */
                o += entn;
                space = false;
                i += used - 1;
                continue;
            }
            i += used - 1;
        } else if ((flags & TEXT_STRIP_QUOTES) && (c == '"' || c == '\\')) {
            continue;
        } else if ((flags & TEXT_SCARS) && c == '\\') {
            *scar = true;
            if (i + 1 < n && in[i + 1] == '"')
                i++;
            c = '"';
        } else if (c == 0xC2 && i + 1 < n && (unsigned char)in[i + 1] == 0xA0) {
            c = ' ';
            i++;
        }
        if (c < 0x20 || c == 0x7F || c == ' ') {
            if (!space)
                *o++ = ' ';
            space = true;
            continue;
        }
        *o++ = (char)c;
        space = false;
    }
    while (o > out->p && o[-1] == ' ')
        o--;
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
    return true;
}

/* A scar leaves an unmatched quote at the end ("...Survive\"" style): drop
 * it when the quotes do not pair up. */
static void drop_unpaired_tail_quote(buf *b)
{
    size_t q = 0;
    for (size_t i = 0; i < b->len; i++)
        q += b->p[i] == '"';
    if (q % 2 == 1 && b->len && b->p[b->len - 1] == '"') {
        b->len--;
        while (b->len && b->p[b->len - 1] == ' ')
            b->len--;
        b->p[b->len] = 0;
    }
}

/* True when s needs none of the work: printable ASCII without entities,
 * backslashes, quotes (with flags) or extra spaces. */
static bool already_clean(const char *s, size_t n, unsigned flags)
{
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F || c == '&' || c == '\\')
            return false;
        if (c == '"' && flags)
            return false;
        if (c == ' ' && s[i + 1] == ' ')
            return false;
    }
    return true;
}

const char *text_clean(text_ctx *c, const char *s, size_t n, unsigned flags, size_t *outn,
                       unsigned *repairs, bool *oom)
{
    *repairs = 0;
    if (already_clean(s, n, flags)) {
        *outn = n;
        return s;
    }
    buf_reset(&c->a);
    if (text_to_utf8(&c->a, s, n) != BP_OK)
        goto fail;
    const char *cur = c->a.p;
    size_t curn = c->a.len;
    bool hi = false;
    for (size_t i = 0; i < curn && !hi; i++)
        hi = (unsigned char)cur[i] >= 0xC2;
    if (hi) {
        bool changed = false;
        if (!fix_mojibake(cur, curn, &c->b, &changed))
            goto fail;
        if (changed) {
            *repairs |= TEXT_R_MOJIBAKE;
            buf tmp = c->a;
            c->a = c->b;
            c->b = tmp;
            cur = c->a.p;
            curn = c->a.len;
        }
    }
    bool scar = false;
    if (!final_pass(cur, curn, flags, &c->b, &scar))
        goto fail;
    if (scar)
        *repairs |= TEXT_R_SCAR;
    if (flags & TEXT_SCARS)
        drop_unpaired_tail_quote(&c->b);
    *outn = c->b.len;
    return c->b.len ? c->b.p : NULL;
fail:
    *oom = true;
    return NULL;
}
