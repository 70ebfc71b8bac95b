/* curlx.h: small helpers around libcurl shared by the HTTP clients (S3,
 * the AWS APIs, Kaggle). */
#ifndef BP_CURLX_H
#define BP_CURLX_H

#include <curl/curl.h>
#include <stdbool.h>

/* Append a header line to *h. On failure *h stays as it was (and is still
 * the caller's to free): curl_slist_append returns NULL then, and
 * assigning that would lose the list. */
bool curlx_add_header(struct curl_slist **h, const char *line);

#endif
