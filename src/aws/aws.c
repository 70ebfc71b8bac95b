/* aws.c: credentials and region from the environment and ~/.aws, and a
 * SigV4-signed POST for the AWS APIs bookpipe calls (Redshift's temporary
 * credentials). */
#include "aws.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/curlx.h"

void aws_env_copy(char *out, size_t n, const char *name)
{
    const char *v = getenv(name);
    if (v && *v && !out[0])
        snprintf(out, n, "%s", v);
}

/* Read key from [section] of an INI file (~/.aws/credentials, config). */
static bool ini_get(const char *path, const char *section, const char *key, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096];
    bool in = false, found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        s[strcspn(s, "\r\n")] = 0;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e) {
                *e = 0;
                in = !strcmp(s + 1, section);
            }
            continue;
        }
        if (!in || *s == '#' || *s == ';')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            continue;
        char *k = s, *v = eq + 1;
        char *ke = eq;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        *ke = 0;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t l = strlen(v);
        while (l && (v[l - 1] == ' ' || v[l - 1] == '\t'))
            v[--l] = 0;
        if (!strcmp(k, key)) {
            snprintf(out, n, "%s", v);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void aws_file(char *out, size_t n, const char *env, const char *name)
{
    const char *v = getenv(env), *home = getenv("HOME");
    if (v && *v)
        snprintf(out, n, "%s", v);
    else
        snprintf(out, n, "%s/.aws/%s", home ? home : ".", name);
}

bp_status aws_credentials(aws_creds *t, bp_err *err)
{
    memset(t, 0, sizeof *t);
    aws_env_copy(t->key_id, sizeof t->key_id, "AWS_ACCESS_KEY_ID");
    aws_env_copy(t->secret, sizeof t->secret, "AWS_SECRET_ACCESS_KEY");
    aws_env_copy(t->token, sizeof t->token, "AWS_SESSION_TOKEN");
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    char creds[4096], conf[4096], section[300];
    aws_file(creds, sizeof creds, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    aws_file(conf, sizeof conf, "AWS_CONFIG_FILE", "config");
    if (!t->key_id[0] || !t->secret[0]) {
        t->key_id[0] = t->secret[0] = 0;
        ini_get(creds, profile, "aws_access_key_id", t->key_id, sizeof t->key_id);
        ini_get(creds, profile, "aws_secret_access_key", t->secret, sizeof t->secret);
        if (!t->token[0])
            ini_get(creds, profile, "aws_session_token", t->token, sizeof t->token);
    }
    aws_env_copy(t->region, sizeof t->region, "AWS_REGION");
    aws_env_copy(t->region, sizeof t->region, "AWS_DEFAULT_REGION");
    snprintf(section, sizeof section, strcmp(profile, "default") ? "profile %s" : "%s", profile);
    if (!t->region[0])
        ini_get(conf, section, "region", t->region, sizeof t->region);
    if (!t->region[0])
        snprintf(t->region, sizeof t->region, "us-east-1");
    if (!t->key_id[0] || !t->secret[0])
        return bp_fail(err, BP_ELAKE, "no AWS credentials: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in %s (profile "
                       "'%s' looked for)", creds, profile);
    return BP_OK;
}


void aws_creds_wipe(aws_creds *c)
{
    volatile char *p = (volatile char *)c;
    for (size_t i = 0; i < sizeof *c; i++)
        p[i] = 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
    return buf_add(ctx, p, sz * n) == BP_OK ? sz * n : 0;
}

/* The text of "key" in a small JSON or <Key> in an XML error answer. */
static void error_text(const char *body, const char *tag, char *out, size_t n)
{
    char open[64];
    snprintf(open, sizeof open, "<%s>", tag);
    const char *a = strstr(body, open), *e;
    if (a && (e = strchr(a += strlen(open), '<'))) {
        snprintf(out, n, "%.*s", (int)(e - a), a);
        return;
    }
    snprintf(open, sizeof open, "\"%c%s\"", tag[0] | 0x20, tag + 1); /* "code", "message" */
    if ((a = strstr(body, open)) && (a = strchr(a + strlen(open), '"')) &&
        (e = strchr(a + 1, '"')))
        snprintf(out, n, "%.*s", (int)(e - a - 1), a + 1);
}

bp_status aws_post(const aws_creds *c, const char *service, const char *url,
                   const char *content_type, const char *extra_header, const char *body,
                   buf *out, bp_err *err)
{
    CURL *k = curl_easy_init();
    if (!k)
        return bp_fail(err, BP_ENOMEM, "cannot start a libcurl request");
    char sigv4[160], hdr[4200], userpwd[600];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:%s", c->region, service);
    snprintf(userpwd, sizeof userpwd, "%s:%s", c->key_id, c->secret);
    struct curl_slist *h = NULL;
    snprintf(hdr, sizeof hdr, "Content-Type: %s", content_type);
    bool ok = curlx_add_header(&h, hdr) && (!extra_header || curlx_add_header(&h, extra_header));
    if (ok && c->token[0]) {
        snprintf(hdr, sizeof hdr, "x-amz-security-token: %s", c->token);
        ok = curlx_add_header(&h, hdr);
    }
    ok = ok && curl_easy_setopt(k, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_AWS_SIGV4, sigv4) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_USERPWD, userpwd) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_HTTPHEADER, h) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_WRITEDATA, out) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(k, CURLOPT_TIMEOUT, 30L) == CURLE_OK;
    bp_status st = BP_OK;
    CURLcode cc = ok ? curl_easy_perform(k) : CURLE_FAILED_INIT;
    long http = 0;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &http);
    if (!ok)
        st = bp_fail(err, BP_EINTERNAL, "cannot set up a libcurl request");
    else if (cc != CURLE_OK)
        st = bp_fail(err, BP_EWH, "%s at %s: %s", service, url, curl_easy_strerror(cc));
    else if (http < 200 || http >= 300) {
        char code[128] = "", msg[512] = "";
        if (buf_addc(out, 0) == BP_OK) {
            out->len--;
            error_text(out->p, "Code", code, sizeof code);
            error_text(out->p, "Message", msg, sizeof msg);
        }
        st = bp_fail(err, BP_EWH, "%s at %s: HTTP %ld%s%s%s%s", service, url, http,
                     code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
    } else if (buf_addc(out, 0) != BP_OK)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else
        out->len--;
    memset(userpwd, 0, sizeof userpwd);
    curl_slist_free_all(h);
    curl_easy_cleanup(k);
    return st;
}
