/* aws.h: AWS credentials as the AWS tools find them, and one signed call.
 *
 * Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * else AWS_PROFILE (default "default") in ~/.aws/credentials
 * (AWS_SHARED_CREDENTIALS_FILE). Region: AWS_REGION / AWS_DEFAULT_REGION,
 * else the profile's region in ~/.aws/config (AWS_CONFIG_FILE), else
 * us-east-1. Requests are signed by libcurl's SigV4. Secrets are never
 * printed. */
#ifndef BP_AWS_H
#define BP_AWS_H

#include <stddef.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct {
    char key_id[256], secret[256], token[4096];
    char region[64];
} aws_creds;

BP_MUST bp_status aws_credentials(aws_creds *c, bp_err *err);
/* Overwrite the secret parts (before the struct goes out of scope). */
void aws_creds_wipe(aws_creds *c);

/* Copy environment variable name into out when out is still empty. */
void aws_env_copy(char *out, size_t n, const char *name);

/* POST body (content_type) to url, signed for service; extra_header may be
 * NULL ("X-Amz-Target: ..."). The answer's body into out; a non-2xx answer
 * is an error naming the service's error code and message. */
BP_MUST bp_status aws_post(const aws_creds *c, const char *service, const char *url,
                   const char *content_type, const char *extra_header, const char *body,
                   buf *out, bp_err *err);

#endif
