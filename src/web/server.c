/* server.c: the HTTP side of `bookpipe serve`: binding, limits, the token,
 * the CSRF check, path checks and routing to the API handlers. */
#include "web_int.h"
#include "../core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_LIMIT (64 * 1024)
#define URI_LIMIT 8192       /* path and query string */
#define HEADERS_LIMIT 16384  /* all header names and values */

typedef struct {
    buf body;
    bool too_large;
} request;

/* Called with the whole request line's URI before the handler: its
 * length is noted on the connection, to be judged with the request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    web_conn *k = ci ? ci->socket_context : NULL;
    if (k)
        k->uri_len = strlen(uri);
    return NULL;
}

static enum MHD_Result add_header_len(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0);
    return MHD_YES;
}

static size_t headers_len(struct MHD_Connection *c)
{
    size_t n = 0;
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_header_len, &n);
    return n;
}

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

/* ---- whom the server answers ---------------------------------------------------
 *
 * A web page the user visits can make the browser send requests to
 * 127.0.0.1 under the page's own name (DNS rebinding): the Host header is
 * then that name. The server answers only Host values it serves: IP
 * literals (a rebinding needs a name), localhost, and the names given with
 * --allow-host; with the port it listens on. POSTs must come from a page of
 * the same server (the Origin header, which browsers always send). */

static bool host_name_ok(const web_srv *s, const char *name, size_t n)
{
    char h[256];
    if (n == 0 || n >= sizeof h)
        return false;
    memcpy(h, name, n);
    h[n] = 0;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1 ||
        !strcasecmp(h, "localhost"))
        return true;
    for (int i = 0; i < s->o->nallow_host; i++)
        if (!strcmp(s->o->allow_host[i], "*") || !strcasecmp(s->o->allow_host[i], h))
            return true;
    return false;
}

/* host[:port] or [v6]:port, as in a Host header or after an Origin's
 * scheme; the port must be ours (absent means 80). */
static bool host_ok(const web_srv *s, const char *v)
{
    if (!v || !*v)
        return false;
    const char *name = v, *end, *colon;
    if (*v == '[') {
        if (!(end = strchr(v, ']')))
            return false;
        name = v + 1;
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            return false;
    } else {
        colon = strchr(v, ':');
        end = colon ? colon : v + strlen(v);
    }
    long port = 80;
    if (colon) {
        char *e;
        port = strtol(colon + 1, &e, 10);
        if (*e || e == colon + 1)
            return false;
    }
    return port == s->port && host_name_ok(s, name, (size_t)(end - name));
}

static bool origin_ok(const web_srv *s, const char *origin)
{
    if (!origin)
        return true; /* not a browser: the CSRF header below still applies */
    if (strncmp(origin, "http://", 7) != 0)
        return false;
    return host_ok(s, origin + 7);
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
     * page as markup still cannot run; images also from the dataset's
     * cover host (the book page) */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: http://images.amazon.com "
                            "https://images.amazon.com; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    if (rq->cookie)
        MHD_add_response_header(r, "Set-Cookie", rq->cookie);
    enum MHD_Result ret = MHD_queue_response(rq->c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result web_send_response(const web_req *rq, unsigned status, const char *type,
                                  struct MHD_Response *resp)
{
    return queue(rq, status, type, resp);
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

enum MHD_Result web_busy(const web_req *rq, const char *msg)
{
    json_t *j = json_pack("{s:s, s:i}", "error", msg, "retry_after", 5);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    struct MHD_Response *r =
        s ? MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(s);
        return web_send(rq, 500, "application/json", "{\"error\":\"out of memory\"}", 25);
    }
    MHD_add_response_header(r, "Retry-After", "5");
    return queue(rq, 503, "application/json", r);
}

/* ---- request deadlines ------------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static web_srv *g_conn_srv; /* the one server of this process, for conn_busy */

/* A request is being answered (busy) or has been (the next one's clock
 * starts now). */
static void conn_busy(struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        c ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    web_conn *k = ci ? ci->socket_context : NULL;
    if (!k || !g_conn_srv)
        return;
    pthread_mutex_lock(&g_conn_srv->conns_mu);
    k->busy = busy;
    if (!busy)
        k->since = mono_s();
    pthread_mutex_unlock(&g_conn_srv->conns_mu);
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    web_srv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        web_conn *k = calloc(1, sizeof *k);
        if (!k || !ci) {
            free(k);
            return;
        }
        /* our own descriptor of the socket: shutting it down never hits a
         * descriptor number reused by a newer connection */
        k->fd = fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0);
        k->since = mono_s();
        pthread_mutex_lock(&s->conns_mu);
        k->next = s->conns;
        s->conns = k;
        pthread_mutex_unlock(&s->conns_mu);
        *socket_context = k;
        return;
    }
    web_conn *k = *socket_context;
    if (!k)
        return;
    pthread_mutex_lock(&s->conns_mu);
    for (web_conn **pp = &s->conns; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    pthread_mutex_unlock(&s->conns_mu);
    if (k->fd >= 0)
        close(k->fd);
    free(k);
    *socket_context = NULL;
}

/* Cut connections whose request did not arrive whole in time. */
static void *reaper(void *arg)
{
    web_srv *s = arg;
    double limit = s->o->request_timeout_s > 0 ? s->o->request_timeout_s : 10;
    while (!orch_stop_requested()) {
        usleep(200 * 1000);
        double now = mono_s();
        pthread_mutex_lock(&s->conns_mu);
        for (web_conn *k = s->conns; k; k = k->next)
            if (!k->busy && !k->cut && k->fd >= 0 && now - k->since > limit) {
                shutdown(k->fd, SHUT_RDWR);
                k->cut = true;
            }
        pthread_mutex_unlock(&s->conns_mu);
    }
    return NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    web_srv *s = cls;
    request *rq = *con_cls;
    /* messages while answering name the request (threads serve many) */
    char scope[160];
    snprintf(scope, sizeof scope, "%s %.120s", method, url);
    bp_log_scope(scope);
    if (!rq) { /* the first call: the headers are in, the body may follow */
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
    conn_busy(c, true);
    bool set_cookie;
    char cookie[300];
    web_req r = {c, url, false, rq->body.p ? rq->body.p : "", rq->body.len, NULL};
    if (!host_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return web_error(&r, 421, "this server answers only its own address (Host "
                                  "127.0.0.1, localhost or [::1] with its port); start it with "
                                  "--allow-host NAME to serve another name");
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
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    const web_conn *k = ci ? ci->socket_context : NULL;
    if (k && k->uri_len > URI_LIMIT)
        return web_error(&r, 414, "the address is over 8 KiB");
    if (headers_len(c) > HEADERS_LIMIT)
        return web_error(&r, 431, "the request headers are over 16 KiB");
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
        if (!origin_ok(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin")))
            return web_error(&r, 403, "POST from a page of another origin");
    }
    return web_route(s, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)toe;
    conn_busy(c, false);
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
    static web_srv s; /* one server per process (conn_busy finds it) */
    bp_status st = web_srv_init(&s, o, err);
    if (st != BP_OK)
        return st;
    if (pthread_mutex_init(&s.conns_mu, NULL) != 0) {
        web_srv_free(&s);
        return bp_fail(err, BP_EINTERNAL, "cannot set up a lock");
    }
    g_conn_srv = &s;
    s.port = o->port;
    /* Many connections (a thread each), few per client address; slow
     * clients are cut at the request deadline by the reaper, so they cannot
     * hold the slots for long. */
    unsigned per_ip = o->per_ip_connections > 0 ? (unsigned)o->per_ip_connections : 128;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify,
        &s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(256 * 1024), MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_END);
    if (!d) {
        g_conn_srv = NULL;
        pthread_mutex_destroy(&s.conns_mu);
        web_srv_free(&s);
        return bp_fail(err, BP_EIO, "cannot listen on %s:%d: %s (is the port in use? try "
                       "--port)", bind, o->port, strerror(errno));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : o->port;
    s.port = port;
    s.reaper_started = pthread_create(&s.reaper, NULL, reaper, &s) == 0;
    web_schedule_start(&s);
    /* A token made here (--token auto) rides in the printed URL once (it
     * becomes a cookie), as Jupyter does: the user has no other way to
     * learn it. A token the user gave is never printed. */
    bool show = o->token && o->token_made;
    bp_log(BP_LOG_INFO, "http://%s%s%s:%d/%s%s (API under /api/; Ctrl-C stops)",
           strchr(bind, ':') ? "[" : "", bind, strchr(bind, ':') ? "]" : "", port,
           show ? "?token=" : "", show ? o->token : "");
    while (!orch_stop_requested())
        usleep(100 * 1000);
    MHD_stop_daemon(d);
    if (s.reaper_started)
        pthread_join(s.reaper, NULL);
    g_conn_srv = NULL;
    pthread_mutex_destroy(&s.conns_mu);
    web_srv_free(&s);
    return BP_OK;
}
