/* wh_redshift.c: Amazon Redshift, over the PostgreSQL protocol.
 *
 * Redshift speaks PostgreSQL's protocol and, as far as bookpipe uses it,
 * its SQL (wh_pg_int.h has the shared operations); it differs in the way
 * in (port 5439, TLS, temporary credentials from its API), in string
 * literals (a backslash escapes) and in loading: bulk data only through
 * COPY from S3, never COPY FROM STDIN, so this table has no loader and a
 * run loads it from the lake (WH_LOAD_FROM_LAKE, orch/redshift.c). */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aws/aws.h"
#include "../core/buf.h"
#include "wh.h"
#include "wh_pg_int.h"

/* ---- Redshift's temporary credentials ---------------------------------------------- */

/* A value from a JSON or XML answer: "key": "v" or <Key>v</Key>. */
static bool answer_value(const char *body, const char *json_key, const char *xml_tag, char *out,
                         size_t n)
{
    char pat[64];
    const char *a, *e;
    snprintf(pat, sizeof pat, "<%s>", xml_tag);
    if ((a = strstr(body, pat)) && (e = strchr(a += strlen(pat), '<'))) {
        snprintf(out, n, "%.*s", (int)(e - a), a);
        return true;
    }
    snprintf(pat, sizeof pat, "\"%s\"", json_key);
    if ((a = strstr(body, pat)) && (a = strchr(a + strlen(pat), '"')) &&
        (e = strchr(a + 1, '"'))) {
        snprintf(out, n, "%.*s", (int)(e - a - 1), a + 1);
        return true;
    }
    return false;
}

/* Without a password, and with REDSHIFT_CLUSTER_ID (provisioned:
 * GetClusterCredentials for PGUSER) or REDSHIFT_WORKGROUP (serverless:
 * GetCredentials for the caller's IAM identity), ask Redshift's API for a
 * temporary user and password (15 minutes), signed with the AWS
 * credentials. AWS_ENDPOINT_URL_REDSHIFT / _REDSHIFT_SERVERLESS point
 * elsewhere (the tests use a stand-in). */
static bp_status iam_login(const wh_config *cfg, char *user, size_t un, char *pass, size_t pn,
                           bool *used, bp_err *err)
{
    const char *cluster = getenv("REDSHIFT_CLUSTER_ID"), *wg = getenv("REDSHIFT_WORKGROUP");
    const char *pw = getenv("PGPASSWORD");
    *used = false;
    if ((!cluster || !*cluster) && (!wg || !*wg))
        return BP_OK;
    if ((pw && *pw) || (cfg->dsn && strstr(cfg->dsn, "password")))
        return BP_OK; /* a password given wins */
    aws_creds c;
    bp_status st = aws_credentials(&c, err);
    if (st != BP_OK) {
        bp_err_prefix(err, "Redshift temporary credentials");
        return err->status = BP_EWH;
    }
    const char *db = getenv("PGDATABASE"), *pguser = getenv("PGUSER");
    bool serverless = !cluster || !*cluster;
    char url[512], ep[400] = "", *body = NULL;
    aws_env_copy(ep, sizeof ep, serverless ? "AWS_ENDPOINT_URL_REDSHIFT_SERVERLESS"
                                           : "AWS_ENDPOINT_URL_REDSHIFT");
    if (ep[0])
        snprintf(url, sizeof url, "%s/", ep);
    else
        snprintf(url, sizeof url, "https://%s.%s.amazonaws.com/",
                 serverless ? "redshift-serverless" : "redshift", c.region);
    buf form = {0}, ans = {0};
    if (serverless) {
        json_t *j = json_pack("{s:s, s:s, s:i}", "workgroupName", wg, "dbName",
                              db && *db ? db : "dev", "durationSeconds", 900);
        body = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    } else if (!pguser || !*pguser) {
        aws_creds_wipe(&c);
        return bp_fail(err, BP_EUSAGE, "Redshift temporary credentials for cluster %s need the "
                       "database user: set PGUSER", cluster);
    } else {
        char *ec = curl_easy_escape(NULL, cluster, 0), *eu = curl_easy_escape(NULL, pguser, 0),
             *ed = curl_easy_escape(NULL, db && *db ? db : "dev", 0);
        bool built = ec && eu && ed &&
                     !buf_printf(&form, "Action=GetClusterCredentials&ClusterIdentifier=%s&DbName=%s&"
                                 "DbUser=%s&DurationSeconds=900&Version=2012-12-01", ec, ed, eu);
        curl_free(ec);
        curl_free(eu);
        curl_free(ed);
        body = built ? strdup(form.p) : NULL;
    }
    if (!body)
        st = bp_fail(err, BP_ENOMEM, "out of memory");
    else
        st = aws_post(&c, serverless ? "redshift-serverless" : "redshift", url,
                      serverless ? "application/x-amz-json-1.1"
                                 : "application/x-www-form-urlencoded; charset=utf-8",
                      serverless ? "X-Amz-Target: RedshiftServerless.GetCredentials" : NULL, body,
                      &ans, err);
    aws_creds_wipe(&c);
    free(body);
    buf_free(&form);
    if (st == BP_OK && (!answer_value(ans.p, "dbUser", "DbUser", user, un) ||
                        !answer_value(ans.p, "dbPassword", "DbPassword", pass, pn)))
        st = bp_fail(err, BP_EWH, "Redshift's answer to the credentials request has no "
                     "user and password");
    if (ans.p)
        memset(ans.p, 0, ans.len);
    buf_free(&ans);
    if (st != BP_OK)
        bp_err_prefix(err, "Redshift temporary credentials");
    *used = st == BP_OK;
    return st;
}

/* Redshift speaks PostgreSQL's protocol: port 5439 and TLS required unless
 * PGPORT / PGSSLMODE (or the DSN) say otherwise. */
static bp_status rs_open(const wh_config *cfg, wh **out, bp_err *err)
{
    const char *keys[5], *vals[5];
    char user[256], pass[1024];
    bool iam;
    bp_status st = iam_login(cfg, user, sizeof user, pass, sizeof pass, &iam, err);
    if (st != BP_OK)
        return st;
    int n = 0;
    if (iam) {
        keys[n] = "user";
        vals[n++] = user;
        keys[n] = "password";
        vals[n++] = pass;
    }
    const char *port = getenv("PGPORT"), *ssl = getenv("PGSSLMODE");
    if (!port || !*port) {
        keys[n] = "port";
        vals[n++] = "5439";
    }
    if (!ssl || !*ssl) {
        keys[n] = "sslmode";
        vals[n++] = "require";
    }
    keys[n] = vals[n] = NULL;
    st = pg_connect_as(cfg, &wh_redshift_ops, keys, vals, out, err);
    memset(pass, 0, sizeof pass);
    return st;
}

/* A loader that says why there is none: Redshift takes no COPY FROM STDIN */
static bp_status rs_load_begin(wh *w, const char *schema, const table_def *def, wh_loader **out,
                               bp_err *err)
{
    (void)w, (void)schema, (void)out;
    return bp_fail(err, BP_EINTERNAL, "Redshift loads %s from S3 (COPY from the lake), not "
                   "from this process", def->name);
}

const wh_ops wh_redshift_ops = {
    .name = "redshift", .title = "Redshift", .lock = WH_LOCK_STATE, .load = WH_LOAD_FROM_LAKE,
    .analyze_after_load = true,
    .dispatch = (const char *const[]){"redshift", "postgres", "default", NULL},
    .relation_class = "RedshiftRelation", .float_type = "float8",
    .timestamp_type = "timestamp without time zone", .backslash_literals = true,
    .subquery_alias = true,
    .open = rs_open, .load_begin = rs_load_begin, PG_FAMILY_OPS,
};
