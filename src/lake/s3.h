/* s3.h: the small part of the S3 API the lake needs, over libcurl.
 *
 * Requests are signed by libcurl's own AWS SigV4 (CURLOPT_AWS_SIGV4); the
 * payload is hashed by libcurl and each body also carries Content-MD5, so
 * the server checks what it got, and the ETag it answers is compared with
 * the MD5. Credentials and region follow the AWS conventions:
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else
 * AWS_PROFILE (default "default") in ~/.aws/credentials (AWS_SHARED_
 * CREDENTIALS_FILE); AWS_REGION / AWS_DEFAULT_REGION, else the profile's
 * region in ~/.aws/config (AWS_CONFIG_FILE), else us-east-1. An endpoint
 * (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or --s3-endpoint) selects an
 * S3-compatible store, addressed path-style. Secrets are never printed. */
#ifndef BP_S3_H
#define BP_S3_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct {
    char bucket[256];
    char prefix[1024];       /* without leading or trailing slash; may be "" */
    char endpoint[512];      /* scheme://host[:port], no trailing slash */
    char region[64];
    char key_id[256], secret[256], token[4096];
    bool path_style;
    size_t part_size;        /* multipart part size (bytes) */
    int parallel;            /* part uploads at once */
} s3_target;

/* Tuning, process-wide (set by the command line before any upload). */
typedef struct {
    const char *endpoint;    /* --s3-endpoint, overrides the environment */
    size_t part_size;        /* 0: 8 MiB */
    int parallel;            /* 0: 4 */
} s3_opts;
void s3_configure(const s3_opts *o);

bool s3_is_url(const char *s);

/* Parse s3://bucket/prefix and find the credentials and region. */
BP_MUST bp_status s3_open(const char *url, s3_target *t, bp_err *err);

/* Upload a local file as key (under the prefix): one PUT when it fits in a
 * part, else a multipart upload with `parallel` parts in flight (aborted
 * on failure). scratch, when given, is a buffer of part_size bytes used
 * instead of allocating one (when one part at a time goes). */
BP_MUST bp_status s3_put_file(const s3_target *t, const char *key, const char *path, char *scratch,
                      bp_err *err);
BP_MUST bp_status s3_put_bytes(const s3_target *t, const char *key, const void *data, size_t n,
                       bp_err *err);
/* DELETE key (S3 answers 204 for a key that is not there too). */
BP_MUST bp_status s3_delete(const s3_target *t, const char *key, bp_err *err);
/* GET key into out; BP_EINPUT when there is no such key. */
BP_MUST bp_status s3_get(const s3_target *t, const char *key, buf *out, bp_err *err);
/* One page of the prefix's listing: the bucket, the credentials and the
 * endpoint answer, without paging through the whole prefix. */
BP_MUST bp_status s3_probe(const s3_target *t, bp_err *err);
/* Each key under prefix/sub (relative to the target's prefix). */
typedef void (*s3_key_fn)(void *ctx, const char *key);
BP_MUST bp_status s3_list(const s3_target *t, const char *sub, s3_key_fn fn, void *ctx, bp_err *err);

#endif
