/* kaggle.c: download the dataset zip through Kaggle's API with libcurl. */
#include "kaggle.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/curlx.h"
#include "../core/fs.h"
#include "../core/log.h"

#define KAGGLE_API "https://www.kaggle.com/api/v1"

/* ---- credentials ---------------------------------------------------------------------- */

typedef struct {
    char user[256], key[256];
    char from[4200];          /* where they came from, for messages */
} creds;

/* kaggle.json at path; 1 found, 0 absent, -1 unreadable or malformed. */
static int read_json(const char *path, creds *c, bp_err *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 0;
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    const char *u = json_string_value(json_object_get(j, "username"));
    const char *k = json_string_value(json_object_get(j, "key"));
    int rc = 1;
    if (!u || !k || !*u || !*k) {
        bp_fail(err, BP_EINPUT, "%s: not a Kaggle token file (want {\"username\": ..., "
                "\"key\": ...}; download a new one from kaggle.com, Settings, API)", path);
        rc = -1;
    } else {
        snprintf(c->user, sizeof c->user, "%s", u);
        snprintf(c->key, sizeof c->key, "%s", k);
        if (!fs_pathf(c->from, sizeof c->from, "%s", path)) {
            bp_fail(err, BP_EINPUT, "%.200s...: path too long", path);
            rc = -1;
        }
        /* as Kaggle's own client warns */
        if (sb.st_mode & 077)
            bp_log(BP_LOG_WARN, "Your Kaggle API key is readable by other users on this "
                   "system! To fix this, you can run 'chmod 600 %s'", path);
    }
    json_decref(j);
    return rc;
}

static bp_status find_creds(creds *c, bp_err *err)
{
    const char *u = getenv("KAGGLE_USERNAME"), *k = getenv("KAGGLE_KEY");
    if (u && *u && k && *k) {
        snprintf(c->user, sizeof c->user, "%s", u);
        snprintf(c->key, sizeof c->key, "%s", k);
        snprintf(c->from, sizeof c->from, "KAGGLE_USERNAME/KAGGLE_KEY");
        return BP_OK;
    }
    const char *dir = getenv("KAGGLE_CONFIG_DIR"), *home = getenv("HOME");
    char paths[3][4200];
    int np = 0;
    if (dir && *dir)
        snprintf(paths[np++], sizeof paths[0], "%s/kaggle.json", dir);
    if (home && *home) {
        snprintf(paths[np++], sizeof paths[0], "%s/.kaggle/kaggle.json", home);
        snprintf(paths[np++], sizeof paths[0], "%s/.config/kaggle/kaggle.json", home);
    }
    for (int i = 0; i < np; i++) {
        int rc = read_json(paths[i], c, err);
        if (rc)
            return rc > 0 ? BP_OK : BP_EINPUT;
    }
    return bp_fail(err, BP_EINPUT, "no Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY, "
                   "or put kaggle.json (kaggle.com, Settings, API, Create New Token) in "
                   "%s%s%s%s%s (or give --data with the files)",
                   np > 0 ? paths[0] : "~/.kaggle/kaggle.json", np > 1 ? " or " : "",
                   np > 1 ? paths[1] : "", np > 2 ? " or " : "", np > 2 ? paths[2] : "");
}

bp_status kaggle_credentials_from(char *from, size_t n, bp_err *err)
{
    creds c;
    bp_status st = find_creds(&c, err);
    if (st == BP_OK)
        snprintf(from, n, "%s", c.from);
    memset(&c, 0, sizeof c);
    return st;
}

/* ---- the cache ------------------------------------------------------------------------ */

typedef struct {
    char etag[256], modified[128];
    long long size;
} meta;

static void meta_read(const char *path, meta *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "etag ", 5))
            snprintf(m->etag, sizeof m->etag, "%.*s", (int)sizeof m->etag - 1, line + 5);
        else if (!strncmp(line, "last-modified ", 14))
            snprintf(m->modified, sizeof m->modified, "%.*s", (int)sizeof m->modified - 1, line + 14);
        else if (!strncmp(line, "size ", 5))
            m->size = strtoll(line + 5, NULL, 10);
    }
    fclose(f);
}

static bool meta_write(const char *path, const meta *m)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return false;
    fprintf(f, "etag %s\nlast-modified %s\nsize %lld\n", m->etag, m->modified, m->size);
    bool ok = fclose(f) == 0 && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    return ok;
}

static bool valid_dataset(const char *d)
{
    const char *slash = strchr(d, '/');
    if (!slash || slash == d || !slash[1] || strchr(slash + 1, '/'))
        return false;
    for (const char *p = d; *p; p++)
        if (!(*p == '/' || *p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return strstr(d, "..") == NULL;
}

/* ---- the transfer --------------------------------------------------------------------- */

typedef struct {
    CURL *c;
    const char *part, *pmeta;
    FILE *f;
    long long offset;        /* bytes already in .part when resuming */
    long long written;
    int write_errno;
    meta got;                /* headers of the final answer */
    long long length;        /* its Content-Length, -1 unknown */
    const char *label;
    bool progress;
    double last_shown;
} xfer;

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
    xfer *x = ctx;
    size_t l = sz * n;
    char line[600];
    snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), p);
    line[strcspn(line, "\r\n")] = 0;
    if (!strncmp(line, "HTTP/", 5)) { /* a new answer (after a redirect): start over */
        memset(&x->got, 0, sizeof x->got);
        x->length = -1;
    } else if (!strncasecmp(line, "etag:", 5))
        snprintf(x->got.etag, sizeof x->got.etag, "%s", line + 5 + strspn(line + 5, " "));
    else if (!strncasecmp(line, "last-modified:", 14))
        snprintf(x->got.modified, sizeof x->got.modified, "%s", line + 14 + strspn(line + 14, " "));
    else if (!strncasecmp(line, "content-length:", 15))
        x->length = strtoll(line + 15 + strspn(line + 15, " "), NULL, 10);
    return l;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    xfer *x = ctx;
    if (!x->f) {
        long code = 0;
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200 && code != 206)
            return sz * n; /* an error page: not file content */
        if (code == 200)
            x->offset = 0; /* the server sent the whole file */
        x->f = fopen(x->part, code == 206 ? "ab" : "wb");
        if (!x->f) {
            x->write_errno = errno;
            return 0;
        }
        /* name the partial file's version now: a download killed from here
         * on resumes */
        meta pm = {{0}, {0}, 0};
        snprintf(pm.etag, sizeof pm.etag, "%s", x->got.etag);
        if (pm.etag[0])
            meta_write(x->pmeta, &pm);
        else
            unlink(x->pmeta);
    }
    if (fwrite(p, sz, n, x->f) != n) {
        x->write_errno = errno ? errno : EIO;
        return 0;
    }
    x->written += (long long)(sz * n);
    return sz * n;
}

static int on_progress(void *ctx, curl_off_t total, curl_off_t now, curl_off_t ut, curl_off_t un)
{
    (void)ut, (void)un;
    xfer *x = ctx;
    if (!x->progress || !total)
        return 0;
    double t = (double)(x->offset + total), d = (double)(x->offset + now);
    if (d - x->last_shown < t / 200 && now != total)
        return 0;
    x->last_shown = d;
    int w = 30, fill = (int)(w * d / t);
    fprintf(stderr, "\r  downloading %s [%.*s%*s] %5.1f / %.1f MB", x->label, fill,
            "##############################", w - fill, "", d / 1e6, t / 1e6);
    return 0;
}

/* One GET; *code gets the final status. */
static CURLcode get(xfer *x, const char *url, const creds *c, const meta *have,
                    const meta *partial, long *code)
{
    struct curl_slist *h = NULL;
    char hdr[512];
    bool hok = true;
    if (x->offset > 0 && partial->etag[0]) {
        snprintf(hdr, sizeof hdr, "Range: bytes=%lld-", x->offset);
        hok = curlx_add_header(&h, hdr);
        snprintf(hdr, sizeof hdr, "If-Range: %s", partial->etag);
        hok = hok && curlx_add_header(&h, hdr);
    } else if (have->etag[0] || have->modified[0]) {
        if (have->etag[0]) {
            snprintf(hdr, sizeof hdr, "If-None-Match: %s", have->etag);
            hok = curlx_add_header(&h, hdr);
        }
        if (have->modified[0]) {
            snprintf(hdr, sizeof hdr, "If-Modified-Since: %s", have->modified);
            hok = hok && curlx_add_header(&h, hdr);
        }
    }
    CURL *k = x->c;
    CURLcode rc = hok ? CURLE_OK : CURLE_OUT_OF_MEMORY;
#define SET(o, v) if (rc == CURLE_OK) rc = curl_easy_setopt(k, o, v)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_USERNAME, c->user);
    SET(CURLOPT_PASSWORD, c->key);
    /* the redirect goes to a storage host: libcurl does not send the
     * credentials there (no CURLOPT_UNRESTRICTED_AUTH) */
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 5L);
    SET(CURLOPT_HTTPHEADER, h);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, 20L);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
    SET(CURLOPT_LOW_SPEED_TIME, 60L);
    SET(CURLOPT_USERAGENT, "bookpipe");
#undef SET
    if (rc == CURLE_OK)
        rc = curl_easy_perform(k);
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, code);
    if (x->progress && x->written)
        fputc('\n', stderr);
    curl_slist_free_all(h);
    return rc;
}

static bp_status http_error(long code, const char *dataset, const creds *c, const char *url,
                            bp_err *err)
{
    if (code == 401)
        return bp_fail(err, BP_EINPUT, "Kaggle refused the credentials of user '%s' (from %s; "
                       "HTTP 401): create a new API token on kaggle.com, Settings, API",
                       c->user, c->from);
    if (code == 403)
        return bp_fail(err, BP_EINPUT, "Kaggle answered 403 Forbidden for %s: accept the "
                       "dataset's rules on its Kaggle page, or check the token's user '%s'",
                       dataset, c->user);
    if (code == 404)
        return bp_fail(err, BP_EINPUT, "no dataset %s on Kaggle (HTTP 404 from %s): check the "
                       "name (OWNER/DATASET, as in the dataset's URL)", dataset, url);
    return bp_fail(err, BP_EINPUT, "Kaggle answered HTTP %ld for %s (from %s); try again later",
                   code, dataset, url);
}

/* Is the .part file the whole zip? */
static bp_status check_part(const xfer *x, const char *part, long long *size, bp_err *err)
{
    struct stat sb;
    if (stat(part, &sb) != 0)
        return bp_fail(err, BP_EINPUT, "the download of %s wrote nothing", x->label);
    *size = (long long)sb.st_size;
    if (x->length >= 0 && *size != x->offset + x->length)
        return bp_fail(err, BP_EINPUT, "the download of %s is incomplete (%lld of %lld bytes); "
                       "run again to resume", x->label, *size, x->offset + x->length);
    unsigned char sig[4] = {0};
    FILE *f = fopen(part, "rb");
    size_t got = f ? fread(sig, 1, 4, f) : 0;
    if (f)
        fclose(f);
    if (got != 4 || memcmp(sig, "PK\3\4", 4) != 0)
        return bp_fail(err, BP_EINPUT, "what Kaggle sent for %s is not a zip file", x->label);
    return BP_OK;
}

bp_status kaggle_fetch(const kaggle_opts *o, char *zip, size_t n, kaggle_result *res,
                       bp_err *err)
{
    memset(res, 0, sizeof *res);
    if (!valid_dataset(o->dataset))
        return bp_fail(err, BP_EUSAGE, "--kaggle %s: give OWNER/DATASET, as in the dataset's "
                       "URL (default " KAGGLE_DEFAULT_DATASET ")", o->dataset);
    creds c;
    bp_status st = find_creds(&c, err);
    if (st != BP_OK)
        return st;
    char dir[4200], part[4400], zmeta[4400], pmeta[4400], url[2048];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (o->cache_dir)
        snprintf(dir, sizeof dir, "%s/%s", o->cache_dir, o->dataset);
    else if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/bookpipe/kaggle/%s", xdg, o->dataset);
    else
        snprintf(dir, sizeof dir, "%s/.cache/bookpipe/kaggle/%s", home ? home : ".", o->dataset);
    if ((st = fs_mkdir_p(dir, BP_EINPUT, "Kaggle cache folder", err)) != BP_OK)
        return st;
    snprintf(zip, n, "%s/dataset.zip", dir);
    snprintf(part, sizeof part, "%s/dataset.zip.part", dir);
    snprintf(zmeta, sizeof zmeta, "%s/dataset.zip.meta", dir);
    snprintf(pmeta, sizeof pmeta, "%s/dataset.zip.part.meta", dir);
    const char *base = getenv("BOOKPIPE_KAGGLE_URL");
    snprintf(url, sizeof url, "%s/datasets/download/%s", base && *base ? base : KAGGLE_API,
             o->dataset);
    meta have, partial;
    struct stat sb;
    meta_read(zmeta, &have);
    if (stat(zip, &sb) != 0 || (long long)sb.st_size != have.size)
        memset(&have, 0, sizeof have); /* no usable cached zip */
    meta_read(pmeta, &partial);
    xfer x = {curl_easy_init(), part, pmeta, NULL, 0, 0, 0, {{0}, {0}, 0}, -1, o->dataset,
              o->progress, 0};
    if (!x.c)
        return bp_fail(err, BP_ENOMEM, "cannot start a libcurl request");
    if (partial.etag[0] && stat(part, &sb) == 0)
        x.offset = (long long)sb.st_size;
    long code = 0;
    CURLcode cc = get(&x, url, &c, &have, &partial, &code);
    if (x.f && fclose(x.f) != 0 && !x.write_errno)
        x.write_errno = errno;
    curl_easy_cleanup(x.c);
    if (x.write_errno)
        st = bp_fail(err, BP_EINPUT, "cannot write the download to %s: %s%s", part,
                     strerror(x.write_errno), x.write_errno == ENOSPC ? " (the disk is full; "
                     "free space or set XDG_CACHE_HOME elsewhere)" : "");
    else if (cc != CURLE_OK)
        st = bp_fail(err, BP_EINPUT, "cannot download %s from %s: %s (check the network; "
                     "a later run resumes)", o->dataset, url, curl_easy_strerror(cc));
    else if (code == 304 && have.size > 0) {
        res->bytes = have.size;
        return BP_OK; /* unchanged: the cached zip is current */
    } else if (code != 200 && code != 206)
        st = http_error(code, o->dataset, &c, url, err);
    if (st != BP_OK) {
        /* keep what arrived when it can be resumed (on_body named its
         * version), else it is useless */
        bool resumable = x.written && x.got.etag[0] && code >= 200 && code < 300 &&
                         !x.write_errno;
        if (!resumable && (x.written || x.write_errno)) {
            unlink(part);
            unlink(pmeta);
        }
        return st;
    }
    long long size = 0;
    if ((st = check_part(&x, part, &size, err)) != BP_OK) {
        unlink(part);
        unlink(pmeta);
        return st;
    }
    if (rename(part, zip) != 0)
        return bp_fail(err, BP_EINPUT, "cannot move %s into place: %s", part, strerror(errno));
    unlink(pmeta);
    x.got.size = size;
    if (!meta_write(zmeta, &x.got))
        bp_log(BP_LOG_WARN, "cannot write %s (the next run downloads again)", zmeta);
    res->downloaded = true;
    res->resumed = code == 206;
    res->bytes = size;
    return BP_OK;
}
