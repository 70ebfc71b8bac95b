/* curlx.c: see curlx.h. */
#include "curlx.h"

bool curlx_add_header(struct curl_slist **h, const char *line)
{
    struct curl_slist *n = curl_slist_append(*h, line);
    if (!n)
        return false;
    *h = n;
    return true;
}
