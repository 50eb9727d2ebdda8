#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "access.h"
#include "server_conn.h"
#include "server_http.h"
#include "server_priv.h"
#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "ws_mask.h"

#define SERVER_SWEEP_MS       1000
#define SERVER_CLOSE_GRACE_MS 1500
/* limits.request_timeout_ms when the options leave it 0. */
#define SERVER_REQUEST_TIMEOUT_MS 10000
/* Request headers an envelope may ask for, by lower-case name; those lws
 * has no token for (tok -1) are read as custom headers. */
static const struct {
    const char *name;
    int tok;
} known_headers[] = {
    {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
    {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
    {"origin", WSI_TOKEN_ORIGIN},
    {"cookie", WSI_TOKEN_HTTP_COOKIE},
    {"host", WSI_TOKEN_HOST},
    {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR},
    {"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"upgrade", WSI_TOKEN_UPGRADE},
    {"sec-fetch-site", -1},
    {"access-control-request-method", -1},
    {"access-control-request-headers", WSI_TOKEN_HTTP_AC_REQUEST_HEADERS},
    /* Not lws tokens: read as custom headers (Linkis' token login). */
    {"token-user", -1},
    {"token-code", -1},
    /* Jobe's API key. */
    {"x-api-key", -1},
    /* Judge0's authentication and authorization tokens. */
    {"x-auth-token", WSI_TOKEN_X_AUTH_TOKEN},
    {"x-auth-user", -1},
};
#define NHEADERS RN_SERVER_NHEADERS
_Static_assert(sizeof(known_headers) / sizeof(known_headers[0]) == RN_SERVER_NHEADERS,
               "server_priv.h's header count");

static char *copy_header(struct lws *wsi, int tok, const char *name)
{
    char cname[64];
    int cl = snprintf(cname, sizeof(cname), "%s:", name);
    int n = tok >= 0 ? lws_hdr_total_length(wsi, (enum lws_token_indexes)tok)
                     : lws_hdr_custom_length(wsi, cname, cl);
    if (n <= 0 || n > SERVER_MAX_HEADER)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    int r = tok >= 0 ? lws_hdr_copy(wsi, s, n + 1, (enum lws_token_indexes)tok)
                     : lws_hdr_custom_copy(wsi, s, n + 1, cname, cl);
    if (r < 0) {
        free(s);
        return NULL;
    }
    s[n] = 0;
    return s;
}

void rn_srv_copy_headers(struct lws *wsi, char **out)
{
    for (size_t i = 0; i < NHEADERS; i++)
        out[i] = copy_header(wsi, known_headers[i].tok, known_headers[i].name);
}

const char *rn_srv_find_header(char *const *hdrs, const char *name)
{
    for (size_t i = 0; i < NHEADERS; i++)
        if (!strcasecmp(known_headers[i].name, name))
            return hdrs[i];
    return NULL;
}

void rn_srv_free_headers(char **hdrs)
{
    for (size_t i = 0; i < NHEADERS; i++) {
        free(hdrs[i]);
        hdrs[i] = NULL;
    }
}

/* ------------------------------------------------------ http sockets */

static uint64_t request_timeout(const rn_server *s)
{
    return s->opts.request_timeout_ms ? s->opts.request_timeout_ms : SERVER_REQUEST_TIMEOUT_MS;
}

static void sock_add(rn_server *s, struct lws *wsi)
{
    hsock *k = calloc(1, sizeof(*k));
    if (!k)
        return; /* untracked: lws's own timeouts still apply */
    k->wsi = wsi;
    k->deadline_ms = rn_now_ms() + request_timeout(s);
    k->next = s->socks;
    if (s->socks)
        s->socks->prev = k;
    s->socks = k;
}

static hsock *sock_find(rn_server *s, struct lws *wsi)
{
    hsock *k = lws_get_opaque_user_data(wsi);
    if (k && k->wsi == wsi)
        return k;
    for (k = s->socks; k; k = k->next) {
        if (k->wsi == wsi) {
            lws_set_opaque_user_data(wsi, k);
            return k;
        }
    }
    return NULL;
}

static void sock_remove(rn_server *s, struct lws *wsi)
{
    hsock *k = sock_find(s, wsi);
    if (!k)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    if (k->next)
        k->next->prev = k->prev;
    if (k->prev)
        k->prev->next = k->next;
    else
        s->socks = k->next;
    free(k);
}

/* A request is being served: read nothing more from the socket (lws 4.1
 * spins on bytes it holds for a connection in the middle of a
 * transaction, hands a pipelined request's bytes to the one being served,
 * and calls the body's completion again for each). */
static void sock_busy(rn_server *s, struct lws *wsi)
{
    hsock *k = sock_find(s, wsi);
    if (k) {
        k->busy = true;
        k->deadline_ms = 0;
    }
    lws_rx_flow_control(wsi, 0);
}

/* The answer is written and the connection is closing. */
void rn_srv_sock_closing(rn_server *s, struct lws *wsi)
{
    hsock *k = sock_find(s, wsi);
    if (k) {
        k->busy = false;
        k->deadline_ms = 0;
    }
}

/* A WebSocket now: its messages have their own timeout. */
static void sock_upgraded(rn_server *s, struct lws *wsi)
{
    hsock *k = sock_find(s, wsi);
    if (k)
        k->deadline_ms = 0;
}

/* Whether the peer of a connection that is not being read has gone (EOF
 * or an error); bytes it sent ahead (a pipelined request) keep it. */
static bool sock_peer_gone(struct lws *wsi)
{
    int fd = lws_get_socket_fd(wsi);
    char c;
    if (fd < 0)
        return false;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Drop connections whose request is late, and notice clients that left
 * while their request was served (their socket is not being read). */
static void sock_sweep(rn_server *s, uint64_t now)
{
    for (hsock *k = s->socks; k; k = k->next) {
        const char *why = NULL;
        if (k->deadline_ms && now >= k->deadline_ms)
            why = "request_timeout";
        else if (k->busy && sock_peer_gone(k->wsi))
            why = "client_gone";
        if (!why)
            continue;
        char peer[64] = "";
        lws_get_peer_simple(k->wsi, peer, sizeof(peer));
        rn_log(RN_LOG_INFO, "http.drop", "peer=%s reason=%s", peer, why);
        if (!k->busy)
            rn_metrics_add("runnel_requests_refused_total", "reason=\"timeout\"", 1);
        k->deadline_ms = 0;
        k->busy = false;
        /* Closed on lws's next service of it; WSI_DESTROY unlinks it then.
         * A timeout set from outside lws's service is not acted on until
         * something else wakes lws up, so the socket is shut too: its EOF
         * is that wake-up, and the client sees the drop at once. */
        lws_set_timeout(k->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        int fd = lws_get_socket_fd(k->wsi);
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
    }
}

/* ---------------------------------------------------------------- lws */

/* An HTTP request's headers have come: dispatch it now, or when its body
 * has come. */
static int server_http_begin(rn_server *s, struct lws *wsi, pss_t *pss, const char *uri)
{
    if (!pss)
        return -1;
    rn_srv_http_detach(pss);
    rn_http *h = rn_srv_http_new(s, wsi, uri);
    if (!h)
        return -1;
    pss->http = h;
    h->pss = pss;
    if (!strcmp(h->method, "POST") || !strcmp(h->method, "PUT") || !strcmp(h->method, "PATCH") ||
        !strcmp(h->method, "DELETE")) {
        /* The body follows: dispatch on its completion. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            return 0;
    }
    sock_busy(s, wsi);
    rn_srv_http_dispatch(s, h);
    return 0;
}

static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    srv_link *link = ctx ? lws_context_user(ctx) : NULL;
    rn_server *s = link ? link->s : NULL;
    pss_t *pss = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return server_http_begin(s, wsi, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        return rn_srv_http_body(pss ? pss->http : NULL, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->http && !pss->http->replied) {
            sock_busy(s, wsi);
            rn_srv_http_dispatch(s, pss->http);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return 0; /* answers are written by server_http.c's write timer */
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            rn_srv_http_detach(pss);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return rn_srv_http_upgrade_check(s, wsi);
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        /* just accepted (wsi is the listener's; in carries the new fd) */
        if (s && !s->tls)
            rn_ws_mask_head((int)(intptr_t)in);
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        if (s)
            sock_add(s, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        rn_ws_mask_unwatch(wsi);
        if (s)
            sock_remove(s, wsi);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        sock_upgraded(s, wsi);
        rn_ws_mask_watch(wsi);
        return pss ? rn_srv_conn_established(s, wsi, pss) : -1;
    case LWS_CALLBACK_RECEIVE:
        if (!pss || !pss->conn)
            return -1;
        return rn_srv_conn_receive(pss->conn, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (rn_ws_mask_writable(wsi))
            return 0;
        if (!pss || !pss->conn)
            return 0;
        return rn_srv_conn_writable(pss->conn);
    case LWS_CALLBACK_CLOSED:
        rn_ws_mask_unwatch(wsi);
        if (pss && pss->conn) {
            rn_conn *c = pss->conn;
            pss->conn = NULL;
            rn_srv_conn_closed(c);
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Give memory freed after a burst (queues of many clients, big outputs)
 * back to the system now and then, rather than keeping the high-water
 * mark as resident memory. */
#define SERVER_TRIM_MS 10000

static void server_sweep(uv_timer_t *t)
{
    rn_server *s = t->data;
    uint64_t now = rn_now_ms();
#ifdef __GLIBC__
    if (now - s->trimmed_ms >= SERVER_TRIM_MS) {
        s->trimmed_ms = now;
        malloc_trim(0);
    }
#endif
    sock_sweep(s, now);
    rn_srv_conns_sweep(s, now);
}

static int parse_listen(const char *listen, char *host, size_t hsize, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -EINVAL;
    size_t hl = (size_t)(colon - listen);
    const char *h = listen;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= hsize)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || end == colon + 1)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

static void lws_log_bridge(int level, const char *line)
{
    char q[512];
    size_t n = strlen(line);
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    rn_log(level == LLL_ERR ? RN_LOG_ERROR : RN_LOG_DEBUG, "lws", "msg=%s",
           rn_log_quote(tmp, q, sizeof(q)));
}

static void link_release(srv_link *l);

rn_server *rn_srv_alloc(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts)
{
    rn_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->jobs = jobs;
    s->opts = *opts;
    return s;
}

int rn_server_new(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts, rn_server **out)
{
    rn_server *s = rn_srv_alloc(loop, jobs, opts);
    if (!s)
        return -ENOMEM;
    if (parse_listen(opts->listen, s->listen_host, sizeof(s->listen_host), &s->port) < 0) {
        free(s);
        return -EINVAL;
    }
    lws_set_log_level(LLL_ERR | (rn_log_get_level() >= RN_LOG_DEBUG ? LLL_WARN : 0),
                      lws_log_bridge);

    s->protocols[0].name = "runnel";
    s->protocols[0].callback = server_callback;
    s->protocols[0].per_session_data_size = sizeof(pss_t);
    s->protocols[0].rx_buffer_size = 65536;

    void *foreign[1] = {loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    bool tls = opts->tls_cert && *opts->tls_cert && opts->tls_key && *opts->tls_key;
    s->tls = tls;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    /* lws calls back (WSI_DESTROY) while it tears the context down, after
     * the server may be gone: it finds the server through this link. */
    s->link = calloc(1, sizeof(*s->link));
    if (!s->link) {
        free(s);
        return -ENOMEM;
    }
    s->link->s = s;
    info.user = s->link;
    info.pcontext = &s->link->ctx;
    info.timeout_secs = 10;
    info.max_http_header_data = 8192;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(s->link);
        free(s);
        return -EIO;
    }
    s->link->ctx = s->ctx;
    memset(&info, 0, sizeof(info));
    info.port = s->port;
    info.iface = s->listen_host[0] ? s->listen_host : NULL;
    info.protocols = s->protocols;
    info.vhost_name = "runnel";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.timeout_secs = 10;
    info.keepalive_timeout = 30;
    if (tls) {
        /* lws looks for this on the vhost's options too, or serves plain. */
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = opts->tls_cert;
        info.ssl_private_key_filepath = opts->tls_key;
    }
    s->vhost = lws_create_vhost(s->ctx, &info);
    if (!s->vhost) {
        s->link->s = NULL;
        lws_context_destroy(s->ctx);
        link_release(s->link);
        free(s);
        return -EADDRINUSE;
    }
    s->port = lws_get_vhost_listen_port(s->vhost);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, server_sweep, SERVER_SWEEP_MS, SERVER_SWEEP_MS);
    uv_timer_init(loop, &s->close_timer);
    s->close_timer.data = s;
    uv_timer_init(loop, &s->write_timer);
    s->write_timer.data = s;
    *out = s;
    return 0;
}

int rn_server_port(const rn_server *s)
{
    return s->port;
}

bool rn_server_draining(const rn_server *s)
{
    return s->draining;
}

const rn_server_options *rn_server_options_of(const rn_server *s)
{
    return &s->opts;
}

unsigned rn_server_connections(const rn_server *s, const char *envelope)
{
    if (!envelope)
        return s->nconns;
    unsigned n = 0;
    for (rn_conn *c = s->conns; c; c = c->next)
        if (!strcmp(c->env->name, envelope))
            n++;
    return n;
}

/* Links lws may still call back through (its context not all torn down:
 * with a foreign loop that can outlast the loop), kept reachable. */
static srv_link *kept_links;

static void link_release(srv_link *l)
{
    if (!l->ctx) {
        free(l);
        return;
    }
    l->s = NULL;
    l->next = kept_links;
    kept_links = l;
}

static void server_freed(uv_handle_t *h)
{
    rn_server *s = h->data;
    void (*done)(void *) = s->done;
    void *ud = s->done_ud;
    link_release(s->link);
    free(s);
    if (done)
        done(ud);
}

static void server_close_timer_closed(uv_handle_t *h)
{
    rn_server *s = h->data;
    uv_close((uv_handle_t *)&s->write_timer, server_freed);
}

static void server_sweep_closed(uv_handle_t *h)
{
    rn_server *s = h->data;
    uv_close((uv_handle_t *)&s->close_timer, server_close_timer_closed);
}

static void server_destroy(uv_timer_t *t)
{
    rn_server *s = t->data;
    /* The HTTP sockets are forgotten first: lws reports their end after
     * the server is freed. */
    s->link->s = NULL;
    while (s->socks) {
        hsock *k = s->socks;
        s->socks = k->next;
        lws_set_opaque_user_data(k->wsi, NULL);
        free(k);
    }
    /* Whatever has not closed by now is cut off by the context. */
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    uv_timer_stop(&s->write_timer);
    while (s->writers) {
        rn_http *h = s->writers;
        s->writers = h->wnext;
        rn_http_release(h);
    }
    uv_close((uv_handle_t *)&s->sweep, server_sweep_closed);
}

static void server_check_closed(uv_timer_t *t)
{
    rn_server *s = t->data;
    if (s->nconns == 0 || rn_now_ms() - s->drain_started >= SERVER_CLOSE_GRACE_MS) {
        uv_timer_stop(t);
        server_destroy(t);
    }
}

void rn_server_shutdown(rn_server *s, void (*done)(void *ud), void *ud)
{
    if (s->draining)
        return;
    s->draining = true;
    s->done = done;
    s->done_ud = ud;
    for (rn_conn *c = s->conns; c; c = c->next)
        rn_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    /* Give close frames a moment to go out, then tear the context down. */
    s->drain_started = rn_now_ms();
    uv_timer_start(&s->close_timer, server_check_closed, 0, 50);
}

void rn_srv_set_headers(char **hdrs, const char *const *pairs)
{
    for (const char *const *p = pairs; p && p[0] && p[1]; p += 2)
        for (size_t i = 0; i < NHEADERS; i++)
            if (!strcasecmp(known_headers[i].name, p[0]) && !hdrs[i])
                hdrs[i] = strdup(p[1]);
}
