/* s3.c: PUT (single and multipart), GET and LIST against S3 or an
 * S3-compatible store, signed by libcurl's SigV4. */
#include "s3.h"

#include "../aws/aws.h"
#include "../core/curlx.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PART (8u << 20)
#define DEFAULT_PARALLEL 4
#define ATTEMPTS 5

/* libcurl's global state is set up once by main() (curl_global_init). */
static s3_opts g_opts;

void s3_configure(const s3_opts *o) { g_opts = *o; }

bool s3_is_url(const char *s) { return s && strncmp(s, "s3://", 5) == 0; }

/* ---- credentials and region (aws.c) ----------------------------------------------- */

static bp_status find_credentials(s3_target *t, bp_err *err)
{
    aws_creds c;
    bp_status st = aws_credentials(&c, err);
    if (st != BP_OK) {
        bp_err_prefix(err, "S3 lake");
        return st;
    }
    snprintf(t->key_id, sizeof t->key_id, "%s", c.key_id);
    snprintf(t->secret, sizeof t->secret, "%s", c.secret);
    snprintf(t->token, sizeof t->token, "%s", c.token);
    snprintf(t->region, sizeof t->region, "%s", c.region);
    aws_creds_wipe(&c);
    return BP_OK;
}

bp_status s3_open(const char *url, s3_target *t, bp_err *err)
{
    memset(t, 0, sizeof *t);
    if (!s3_is_url(url))
        return bp_fail(err, BP_EUSAGE, "not an s3:// URL: %s", url);
    const char *b = url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0 || bl >= sizeof t->bucket)
        return bp_fail(err, BP_EUSAGE, "--lake %s: give s3://BUCKET/PREFIX", url);
    memcpy(t->bucket, b, bl);
    const char *p = slash ? slash + 1 : "";
    snprintf(t->prefix, sizeof t->prefix, "%s", p);
    size_t pl = strlen(t->prefix);
    while (pl && t->prefix[pl - 1] == '/')
        t->prefix[--pl] = 0;
    if (g_opts.endpoint && *g_opts.endpoint)
        snprintf(t->endpoint, sizeof t->endpoint, "%s", g_opts.endpoint);
    aws_env_copy(t->endpoint, sizeof t->endpoint, "AWS_ENDPOINT_URL_S3");
    aws_env_copy(t->endpoint, sizeof t->endpoint, "AWS_ENDPOINT_URL");
    size_t el = strlen(t->endpoint);
    while (el && t->endpoint[el - 1] == '/')
        t->endpoint[--el] = 0;
    /* an S3-compatible store, or a bucket name with dots (TLS names), goes
     * path-style */
    t->path_style = t->endpoint[0] || strchr(t->bucket, '.');
    t->part_size = g_opts.part_size ? g_opts.part_size : DEFAULT_PART;
    t->parallel = g_opts.parallel > 0 ? g_opts.parallel : DEFAULT_PARALLEL;
    bp_status st = find_credentials(t, err);
    if (st == BP_OK && !t->endpoint[0])
        snprintf(t->endpoint, sizeof t->endpoint, "https://s3.%s.amazonaws.com", t->region);
    return st;
}

/* ---- requests ------------------------------------------------------------------------- */

/* Percent-encode s (keeping '/' when keep_slash), as SigV4 wants it. */
static bool add_encoded(buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        if (plain ? buf_addc(b, (char)c) != BP_OK
                  : (buf_addc(b, '%') || buf_addc(b, hex[c >> 4]) || buf_addc(b, hex[c & 15])))
            return false;
    }
    return true;
}

/* The full key: prefix/key. */
static void full_key(char *out, size_t n, const s3_target *t, const char *key)
{
    snprintf(out, n, "%s%s%s", t->prefix, t->prefix[0] && key[0] ? "/" : "", key);
}

/* The URL of key (relative to the target's prefix; absolute when abs) with
 * an already-encoded, sorted query. */
static bool make_url(buf *u, const s3_target *t, const char *key, bool abs, const char *query)
{
    char fk[2048];
    if (abs)
        snprintf(fk, sizeof fk, "%s", key);
    else
        full_key(fk, sizeof fk, t, key);
    bool ok;
    if (t->path_style)
        ok = !buf_adds(u, t->endpoint) && !buf_addc(u, '/') && add_encoded(u, t->bucket, false);
    else {
        const char *host = strstr(t->endpoint, "://");
        ok = !buf_add(u, t->endpoint, (size_t)(host + 3 - t->endpoint)) &&
             add_encoded(u, t->bucket, false) && !buf_addc(u, '.') && !buf_adds(u, host + 3);
    }
    ok = ok && !buf_addc(u, '/') && add_encoded(u, fk, true);
    if (ok && query && *query)
        ok = !buf_addc(u, '?') && !buf_adds(u, query);
    return ok;
}

typedef struct {
    buf *body;
    char etag[128];
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    reply *r = ctx;
    if (r->body && buf_add(r->body, p, sz * n) != BP_OK)
        return 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t l = sz * n;
    if (l > 5 && !strncasecmp(p, "etag:", 5)) {
        const char *v = p + 5;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(p + l - v);
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf(r->etag, sizeof r->etag, "%.*s", (int)vl, v);
    }
    return l;
}

/* The text of <tag> in an XML reply. */
static bool xml_text(const char *xml, const char *tag, char *out, size_t n)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = xml ? strstr(xml, open) : NULL;
    const char *b = a ? strstr(a, close) : NULL;
    if (!b)
        return false;
    a += strlen(open);
    snprintf(out, n, "%.*s", (int)(b - a), a);
    return true;
}

/* The digest of data as lowercase hex (2 * its size + 1 bytes), and its raw
 * bytes into raw when given (for base64). */
static unsigned digest_hex(const EVP_MD *md, const void *data, size_t n, char *hex,
                           unsigned char raw[EVP_MAX_MD_SIZE])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (!EVP_Digest(data, n, d, &dl, md, NULL))
        memset(d, 0, dl = (unsigned)EVP_MD_get_size(md));
    for (unsigned i = 0; i < dl; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    if (raw)
        memcpy(raw, d, dl);
    return dl;
}

static void md5_of(const void *data, size_t n, char hex[33], char b64[32])
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    digest_hex(EVP_md5(), data, n, hex, raw);
    EVP_EncodeBlock((unsigned char *)b64, raw, 16);
}

typedef struct {
    const char *method;
    const char *key;         /* relative to the prefix */
    const char *query;       /* encoded and sorted, or NULL */
    const void *data;        /* body (PUT/POST), may be NULL */
    size_t n;
    bool verify_md5;         /* send Content-MD5 and compare the ETag */
} s3_req;

/* One attempt. *http gets the status (0: no answer). */
static bp_status attempt(const s3_target *t, const s3_req *q, reply *r, long *http, bp_err *err)
{
    *http = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return bp_fail(err, BP_ENOMEM, "cannot start a libcurl request");
    buf url = {0}, userpwd = {0};
    struct curl_slist *h = NULL;
    char sigv4[128], hdr[4200], md5hex[33] = "", md5b64[32] = "";
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", t->region);
    bp_status st = BP_OK;
    if (!make_url(&url, t, q->key, false, q->query) || buf_adds(&userpwd, t->key_id) ||
        buf_addc(&userpwd, ':') || buf_adds(&userpwd, t->secret)) {
        st = bp_fail(err, BP_ENOMEM, "out of memory");
        goto done;
    }
    bool hok = true;
    if (t->token[0]) {
        snprintf(hdr, sizeof hdr, "x-amz-security-token: %s", t->token);
        hok = curlx_add_header(&h, hdr);
    }
    /* S3 wants the payload's SHA-256 named; libcurl signs this header */
    char sha[65];
    digest_hex(EVP_sha256(), q->data ? q->data : "", q->n, sha, NULL);
    snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", sha);
    hok = hok && curlx_add_header(&h, hdr);
    if (q->verify_md5) {
        md5_of(q->data ? q->data : "", q->n, md5hex, md5b64);
        snprintf(hdr, sizeof hdr, "Content-MD5: %s", md5b64);
        hok = hok && curlx_add_header(&h, hdr);
    }
    hok = hok && curlx_add_header(&h, "Content-Type: application/octet-stream");
    bool ok = hok && curl_easy_setopt(c, CURLOPT_URL, url.p) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.p) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, r) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HEADERDATA, r) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L) == CURLE_OK &&
              /* stalled transfers end: under 1 KB/s for 60 s */
              curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L) == CURLE_OK;
    if (ok && strcmp(q->method, "GET") != 0) {
        /* a body in memory: libcurl hashes it into the signature */
        ok = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->data ? q->data : "") == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->n) == CURLE_OK;
    }
    if (!ok) {
        st = bp_fail(err, BP_EINTERNAL, "cannot set up a libcurl request");
        goto done;
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        st = bp_fail(err, BP_ELAKE, "S3 %s s3://%s/%s: %s", q->method, t->bucket, q->key,
                     curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (*http >= 300) {
        char code[128] = "", msg[512] = "";
        if (r->body && buf_addc(r->body, 0) == BP_OK) {
            r->body->len--;
            xml_text(r->body->p, "Code", code, sizeof code);
            xml_text(r->body->p, "Message", msg, sizeof msg);
        }
        st = bp_fail(err, *http == 404 ? BP_EINPUT : BP_ELAKE, "S3 %s s3://%s/%s: HTTP %ld%s%s%s%s",
                     q->method, t->bucket, q->key, *http, code[0] ? " " : "", code,
                     msg[0] ? ": " : "", msg);
        goto done;
    }
    if (q->verify_md5 && r->etag[0] && !strchr(r->etag, '-')) {
        char e[64];
        snprintf(e, sizeof e, "\"%s\"", md5hex);
        if (strcasecmp(e, r->etag) != 0 && strcasecmp(md5hex, r->etag) != 0)
            st = bp_fail(err, BP_ELAKE, "S3 PUT s3://%s/%s: the stored object's checksum (%s) "
                         "is not what was sent (%s)", t->bucket, q->key, r->etag, md5hex);
    }
done:
    curl_slist_free_all(h);
    buf_free(&url);
    if (userpwd.p)
        memset(userpwd.p, 0, userpwd.len); /* the secret */
    buf_free(&userpwd);
    curl_easy_cleanup(c);
    return st;
}

/* With retries: transport errors, 5xx and 429 (throttling) are tried again
 * with exponential backoff; other answers are final. */
static bp_status request(const s3_target *t, const s3_req *q, buf *body, char *etag,
                         size_t etag_n, bp_err *err)
{
    bp_status st = BP_OK;
    for (int i = 0; i < ATTEMPTS; i++) {
        if (i) {
            long ms = 200L << (i - 1);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        reply r = {body, ""};
        if (body)
            body->len = 0;
        long http;
        st = attempt(t, q, &r, &http, err);
        if (st == BP_OK) {
            if (etag)
                snprintf(etag, etag_n, "%s", r.etag);
            return BP_OK;
        }
        if (st == BP_ENOMEM || st == BP_EINTERNAL || (http && http < 500 && http != 429))
            return st;
    }
    return st;
}

bp_status s3_put_bytes(const s3_target *t, const char *key, const void *data, size_t n,
                       bp_err *err)
{
    buf body = {0};
    s3_req q = {"PUT", key, NULL, data, n, true};
    bp_status st = request(t, &q, &body, NULL, 0, err);
    buf_free(&body);
    return st;
}

bp_status s3_get(const s3_target *t, const char *key, buf *out, bp_err *err)
{
    s3_req q = {"GET", key, NULL, NULL, 0, false};
    return request(t, &q, out, NULL, 0, err);
}

bp_status s3_delete(const s3_target *t, const char *key, bp_err *err)
{
    s3_req q = {"DELETE", key, NULL, NULL, 0, false};
    return request(t, &q, NULL, NULL, 0, err);
}

/* ---- multipart ------------------------------------------------------------------------ */

typedef struct {
    const s3_target *t;
    const char *key, *upload_id;
    int fd;
    size_t size;
    int nparts;
    char (*etags)[128];
    pthread_mutex_t mu;
    int next;                /* next part to take */
    bool failed;
    bp_err err;
    char *scratch;           /* a part buffer of the caller's, for a lone worker */
} mp_job;

static void *mp_worker(void *arg)
{
    mp_job *j = arg;
    char *own = j->scratch ? NULL : malloc(j->t->part_size);
    char *chunk = j->scratch ? j->scratch : own;
    buf body = {0}, query = {0};
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int part = j->failed || !chunk ? -1 : j->next < j->nparts ? j->next++ : -1;
        if (!chunk && !j->failed) {
            j->failed = true;
            bp_fail(&j->err, BP_ENOMEM, "out of memory for a %zu-byte upload part",
                    j->t->part_size);
        }
        pthread_mutex_unlock(&j->mu);
        if (part < 0)
            break;
        off_t off = (off_t)part * (off_t)j->t->part_size;
        size_t len = j->size - (size_t)off < j->t->part_size ? j->size - (size_t)off
                                                              : j->t->part_size;
        bp_err e = {0};
        bp_status st = BP_OK;
        size_t got = 0;
        while (got < len) {
            ssize_t r = pread(j->fd, chunk + got, len - got, off + (off_t)got);
            if (r <= 0) {
                st = bp_fail(&e, BP_ELAKE, "reading the lake file for upload: %s",
                             r < 0 ? strerror(errno) : "it got shorter");
                break;
            }
            got += (size_t)r;
        }
        query.len = 0;
        if (st == BP_OK) {
            char pn[32];
            snprintf(pn, sizeof pn, "partNumber=%d&uploadId=", part + 1);
            if (buf_adds(&query, pn) || !add_encoded(&query, j->upload_id, false) ||
                buf_addc(&query, 0))
                st = bp_fail(&e, BP_ENOMEM, "out of memory");
        }
        if (st == BP_OK) {
            s3_req q = {"PUT", j->key, query.p, chunk, len, true};
            st = request(j->t, &q, &body, j->etags[part], sizeof j->etags[part], &e);
        }
        if (st != BP_OK) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed)
                j->err = e;
            j->failed = true;
            pthread_mutex_unlock(&j->mu);
        }
    }
    free(own);
    buf_free(&body);
    buf_free(&query);
    return NULL;
}

static bp_status mp_finish(const s3_target *t, const char *key, const char *id, int nparts,
                           char (*etags)[128], bp_err *err)
{
    buf xml = {0}, query = {0}, body = {0};
    bp_status st = BP_ENOMEM;
    if (buf_adds(&xml, "<CompleteMultipartUpload>"))
        goto done;
    for (int i = 0; i < nparts; i++) {
        char part[256];
        snprintf(part, sizeof part, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                 i + 1, etags[i]);
        if (buf_adds(&xml, part))
            goto done;
    }
    if (buf_adds(&xml, "</CompleteMultipartUpload>") || buf_adds(&query, "uploadId=") ||
        !add_encoded(&query, id, false) || buf_addc(&query, 0))
        goto done;
    s3_req q = {"POST", key, query.p, xml.p, xml.len, true};
    st = request(t, &q, &body, NULL, 0, err);
    /* a 200 can still carry an error (S3 says so for CompleteMultipartUpload) */
    if (st == BP_OK && body.p && buf_addc(&body, 0) == BP_OK && strstr(body.p, "<Error>")) {
        char code[128] = "";
        xml_text(body.p, "Code", code, sizeof code);
        st = bp_fail(err, BP_ELAKE, "S3 completing the upload of s3://%s/%s: %s", t->bucket,
                     key, code);
    }
done:
    if (st == BP_ENOMEM)
        bp_fail(err, st, "out of memory");
    buf_free(&xml);
    buf_free(&query);
    buf_free(&body);
    return st;
}

static void mp_abort(const s3_target *t, const char *key, const char *id)
{
    buf query = {0};
    bp_err e;
    if (!buf_adds(&query, "uploadId=") && add_encoded(&query, id, false) && !buf_addc(&query, 0)) {
        s3_req q = {"DELETE", key, query.p, NULL, 0, false};
        request(t, &q, NULL, NULL, 0, &e);
    }
    buf_free(&query);
}

static bp_status put_multipart(const s3_target *t, const char *key, int fd, size_t size,
                               char *scratch, bp_err *err)
{
    buf body = {0};
    s3_req q = {"POST", key, "uploads=", NULL, 0, false};
    char id[1024] = "";
    bp_status st = request(t, &q, &body, NULL, 0, err);
    if (st == BP_OK && (buf_addc(&body, 0) != BP_OK || !xml_text(body.p, "UploadId", id, sizeof id)))
        st = bp_fail(err, BP_ELAKE, "S3 multipart upload of s3://%s/%s: no UploadId in the "
                     "answer", t->bucket, key);
    buf_free(&body);
    if (st != BP_OK)
        return st;
    mp_job j = {t, key, id, fd, size, (int)((size + t->part_size - 1) / t->part_size), NULL,
                PTHREAD_MUTEX_INITIALIZER, 0, false, {0}, NULL};
    j.etags = calloc((size_t)j.nparts, sizeof *j.etags);
    if (!j.etags) {
        mp_abort(t, key, id);
        return bp_fail(err, BP_ENOMEM, "out of memory");
    }
    int nt = t->parallel < j.nparts ? t->parallel : j.nparts;
    pthread_t th[64];
    int started = 0;
    if (nt <= 1 && scratch) { /* one at a time, in the caller's buffer */
        j.scratch = scratch;
        nt = 0;
    }
    for (int i = 0; i < nt && i < 64; i++)
        if (pthread_create(&th[started], NULL, mp_worker, &j) == 0)
            started++;
    if (!started)
        mp_worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (j.failed) {
        *err = j.err;
        st = err->status ? err->status : BP_ELAKE;
    } else
        st = mp_finish(t, key, id, j.nparts, j.etags, err);
    if (st != BP_OK)
        mp_abort(t, key, id); /* no half object, no billed leftovers */
    free(j.etags);
    pthread_mutex_destroy(&j.mu);
    return st;
}

bp_status s3_put_file(const s3_target *t, const char *key, const char *path, char *scratch,
                      bp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        bp_status st = bp_fail(err, BP_ELAKE, "cannot read %s for upload: %s", path,
                               strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    size_t size = (size_t)sb.st_size;
    bp_status st;
    if (size > t->part_size)
        st = put_multipart(t, key, fd, size, scratch, err);
    else {
        char *own = scratch ? NULL : malloc(size ? size : 1);
        char *data = scratch ? scratch : own;
        size_t got = 0;
        while (data && got < size) {
            ssize_t r = read(fd, data + got, size - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        st = !data ? bp_fail(err, BP_ENOMEM, "out of memory")
             : got != size ? bp_fail(err, BP_ELAKE, "cannot read %s for upload", path)
                           : s3_put_bytes(t, key, data, size, err);
        free(own);
    }
    close(fd);
    return st;
}
/* ---- listing -------------------------------------------------------------------------- */

bp_status s3_probe(const s3_target *t, bp_err *err)
{
    char fk[2048];
    full_key(fk, sizeof fk, t, "");
    buf query = {0}, body = {0};
    bp_status st = BP_OK;
    /* one page, never the whole prefix (no max-keys: s3rver answers 500
     * to a truncated page) */
    if (buf_adds(&query, "list-type=2&prefix=") || !add_encoded(&query, fk, false) ||
        buf_addc(&query, 0))
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    if (st == BP_OK) {
        s3_target root = *t; /* the bucket itself: an empty key, no prefix */
        root.prefix[0] = 0;
        s3_req q = {"GET", "", query.p, NULL, 0, false};
        st = request(&root, &q, &body, NULL, 0, err);
        memset(&root, 0, sizeof root);
    }
    buf_free(&query);
    buf_free(&body);
    return st;
}

bp_status s3_list(const s3_target *t, const char *sub, s3_key_fn fn, void *ctx, bp_err *err)
{
    char fk[2048], token[1024] = "";
    full_key(fk, sizeof fk, t, sub);
    buf body = {0}, query = {0};
    bp_status st = BP_OK;
    for (int page = 0; page < 1000 && st == BP_OK; page++) {
        query.len = 0;
        if ((token[0] && (buf_adds(&query, "continuation-token=") ||
                          !add_encoded(&query, token, false) || buf_addc(&query, '&'))) ||
            buf_adds(&query, "list-type=2&prefix=") || !add_encoded(&query, fk, false) ||
            buf_addc(&query, 0)) {
            st = bp_fail(err, BP_ENOMEM, "out of memory");
            break;
        }
        /* the bucket itself: an empty key, no prefix */
        s3_target root = *t;
        root.prefix[0] = 0;
        s3_req q = {"GET", "", query.p, NULL, 0, false};
        if ((st = request(&root, &q, &body, NULL, 0, err)) != BP_OK || buf_addc(&body, 0))
            break;
        for (const char *p = body.p; (p = strstr(p, "<Key>"));) {
            const char *e = strstr(p, "</Key>");
            if (!e)
                break;
            char key[2048];
            snprintf(key, sizeof key, "%.*s", (int)(e - p - 5), p + 5);
            fn(ctx, key);
            p = e;
        }
        if (!strstr(body.p, "<IsTruncated>true</IsTruncated>") ||
            !xml_text(body.p, "NextContinuationToken", token, sizeof token))
            break;
    }
    buf_free(&body);
    buf_free(&query);
    return st;
}
