/* pages.c: the front end: embedded assets (tools/embed.c) and the page
 * routes, which all answer with the one page; app.js draws the room the
 * path names (/d/UID, /pipeline, /explore). */
#include "web_int.h"

#include <string.h>

#include "assets.h"

static const web_asset *find_asset(const char *url)
{
    for (int i = 0; i < web_nassets; i++)
        if (!strcmp(web_assets[i].name, url))
            return &web_assets[i];
    return NULL;
}

/* Paths app.js draws: "/", "/dashboards", "/d/<uid>", "/pipeline",
 * "/explore" (a run or table may follow after a slash), "/books/<isbn>",
 * "/users/<id>", "/search". */
static bool is_page(const char *u)
{
    static const char *const rooms[] = {"/dashboards", "/d/", "/pipeline", "/explore",
                                        "/books/", "/users/", "/search"};
    if (!strcmp(u, "/"))
        return true;
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        size_t n = strlen(rooms[i]);
        if (!strncmp(u, rooms[i], n) && (u[n] == 0 || u[n] == '/' || rooms[i][n - 1] == '/'))
            return true;
    }
    return false;
}

bool web_page(const web_req *r, enum MHD_Result *res)
{
    if (r->post)
        return false;
    const web_asset *a = NULL;
    if (is_page(r->url))
        a = find_asset("/assets/index.html");
    else if (!strncmp(r->url, "/assets/", 8))
        a = find_asset(r->url);
    if (!a)
        return false;
    *res = web_send_static(r, 200, a->type, a->data, (size_t)a->len);
    return true;
}
