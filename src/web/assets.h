/* assets.h: the front end, embedded at build time (tools/embed.c). */
#ifndef BP_WEB_ASSETS_H
#define BP_WEB_ASSETS_H

#include "../core/embedded.h"

typedef bp_embedded web_asset;

extern const web_asset web_assets[];
extern const int web_nassets;

#endif
