/* assets.h: the front end, embedded at build time (tools/embed.c). */
#ifndef BP_WEB_ASSETS_H
#define BP_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *url;   /* "/assets/app.js" */
    const char *type;  /* Content-Type */
    const unsigned char *data;
    long len;
} web_asset;

extern const web_asset web_assets[];
extern const int web_nassets;

#endif
