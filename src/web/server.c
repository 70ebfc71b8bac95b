/* server.c: the HTTP side of `bookpipe serve`: binding, limits, the token,
 * the CSRF check, path checks and routing to the API handlers. */
#include "web_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_LIMIT (64 * 1024)

typedef struct {
    buf body;
    bool too_large;
} request;

static bool is_loopback(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, addr, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Compare without an early exit, so timing does not tell how much matched. */
static bool same_secret(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = na != nb;
    for (size_t i = 0; i < na; i++)
        d |= (unsigned char)a[i] ^ (unsigned char)b[i % (nb ? nb : 1)];
    return d == 0;
}

static bool cookie_token(struct MHD_Connection *c, const char *token)
{
    return same_secret(MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "bookpipe_token"), token);
}

static bool authorized(struct MHD_Connection *c, const char *token, bool *set_cookie)
{
    *set_cookie = false;
    if (!token)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0 && same_secret(h + 7, token))
        return true;
    if (cookie_token(c, token))
        return true;
    if (same_secret(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"), token))
        return *set_cookie = true;
    return false;
}

/* Paths are plain: no dot segments, no backslashes, no encoded dots or
 * slashes (libmicrohttpd has decoded the percent escapes already; an
 * escape that survives means it was encoded twice). */
static bool clean_path(const char *url)
{
    if (url[0] != '/' || strchr(url, '\\') || strstr(url, "//"))
        return false;
    for (const char *p = url; *p; p++) {
        if (*p == '%')
            return false;
        if (p[0] == '/' && p[1] == '.' && (p[2] == '.' || p[2] == '/' || p[2] == 0))
            return false;
    }
    return true;
}

/* Queue r with the headers every answer carries. */
static enum MHD_Result queue(const web_req *rq, unsigned status, const char *type,
                             struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* scripts only from this server: a data value that slips into the
     * page as markup still cannot run */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    if (rq->cookie)
        MHD_add_response_header(r, "Set-Cookie", rq->cookie);
    enum MHD_Result ret = MHD_queue_response(rq->c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result web_send(const web_req *rq, unsigned status, const char *type,
                         const char *body, size_t n)
{
    return queue(rq, status, type,
                 MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY));
}

enum MHD_Result web_send_static(const web_req *rq, unsigned status, const char *type,
                                const void *body, size_t n)
{
    return queue(rq, status, type,
                 MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_PERSISTENT));
}

enum MHD_Result web_json(const web_req *rq, unsigned status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (!s)
        return web_send(rq, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    enum MHD_Result r = web_send(rq, status, "application/json", s, strlen(s));
    free(s);
    return r;
}

enum MHD_Result web_error(const web_req *rq, unsigned status, const char *msg)
{
    return web_json(rq, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    web_srv *s = cls;
    request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) { /* the body arrives in pieces; keep at most BODY_LIMIT */
        if (rq->body.len + *upload_size > BODY_LIMIT || buf_add(&rq->body, upload_data,
                                                                *upload_size) != BP_OK)
            rq->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    bool set_cookie;
    char cookie[300];
    web_req r = {c, url, false, rq->body.p ? rq->body.p : "", rq->body.len, NULL};
    if (!authorized(c, s->o->token, &set_cookie))
        return web_error(&r, 401, "a token is required: send `Authorization: Bearer <token>` "
                                  "or open the page once with ?token=<token>");
    if (set_cookie) {
        snprintf(cookie, sizeof cookie, "bookpipe_token=%s; Path=/; HttpOnly; SameSite=Strict",
                 s->o->token);
        r.cookie = cookie;
    }
    if (!clean_path(url))
        return web_error(&r, 400, "bad path");
    if (rq->too_large)
        return web_error(&r, 413, "request body over 64 KiB");
    r.post = !strcmp(method, "POST");
    if (!r.post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return web_error(&r, 405, "only GET and POST");
    if (r.post) {
        /* a page of another origin cannot set this header without a CORS
         * preflight, which this server never grants */
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Bookpipe-CSRF");
        if (!h || strcmp(h, "1") != 0)
            return web_error(&r, 403, "POST needs the header X-Bookpipe-CSRF: 1");
    }
    return web_route(s, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request *rq = *con_cls;
    if (rq) {
        buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

bp_status web_serve(const web_opts *o, bp_err *err)
{
    const char *bind = o->bind ? o->bind : "127.0.0.1";
    if (!is_loopback(bind) && (!o->token || strlen(o->token) < 16))
        return bp_fail(err, BP_EUSAGE, "binding %s (not loopback) needs --token (or "
                       "BOOKPIPE_TOKEN) of at least 16 characters: every request must then "
                       "carry it", bind);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, bind, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, bind, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else
        return bp_fail(err, BP_EUSAGE, "--bind %s: not an IP address", bind);
    web_srv s;
    bp_status st = web_srv_init(&s, o, err);
    if (st != BP_OK)
        return st;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!d) {
        web_srv_free(&s);
        return bp_fail(err, BP_EIO, "cannot listen on %s:%d: %s (is the port in use? try "
                       "--port)", bind, o->port, strerror(errno));
    }
    web_schedule_start(&s);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : o->port;
    printf("bookpipe serve: http://%s%s%s:%d/ (API under /api/; Ctrl-C stops)\n",
           strchr(bind, ':') ? "[" : "", bind, strchr(bind, ':') ? "]" : "", port);
    fflush(stdout);
    while (!cli_stop_requested())
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    web_srv_free(&s);
    return BP_OK;
}
