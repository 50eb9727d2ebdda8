/* HTTP requests: the request record envelopes answer through, the
 * answer's bytes and their writing, Host/Origin/CORS and bearer checks
 * before routing, the route match with the server's own 404/405/426, and
 * the check of a WebSocket upgrade. The contract is server_http.h (for
 * server.c) and server.h (for envelopes). */
#include "server_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

#include "access.h"
#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "server_conn.h"

/* The server's own error body: {"error": message, "code": status}. */
static void error_json(rn_jbuf *b, int status, const char *message)
{
    rn_jbuf_init(b, 0);
    rn_jbuf_str(b, "{\"error\":");
    rn_jbuf_jcstr(b, message);
    rn_jbuf_printf(b, ",\"code\":%d}", status);
}

const rn_envelope *rn_srv_ws_envelope(const rn_server *s, const char *path, void **state,
                                      unsigned *flags)
{
    rn_route_hit hit;
    if (rn_routes_ws(s->opts.envelopes, s->opts.states, path, &hit) < 0)
        return NULL;
    *state = hit.state;
    *flags = hit.route->flags;
    return hit.env;
}

void rn_srv_http_free(rn_http *h)
{
    rn_srv_free_headers(h->headers);
    free(h->query);
    free(h->body);
    free(h->ctype);
    free(h->resp);
    free(h->out);
    free(h->extra_headers);
    free(h);
}

void rn_http_hold(rn_http *h)
{
    h->refs++;
}

void rn_http_release(rn_http *h)
{
    if (--h->refs == 0)
        rn_srv_http_free(h);
}

const char *rn_http_method(const rn_http *h)
{
    return h->method;
}

const char *rn_http_path(const rn_http *h)
{
    return h->path;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rn_http_query(const rn_http *h, const char *name, char *buf, size_t size)
{
    size_t nl = strlen(name);
    const char *p = h->query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg >= nl && !strncmp(p, name, nl) && (seg == nl || p[nl] == '=')) {
            const char *v = seg == nl ? p + nl : p + nl + 1;
            size_t vl = seg == nl ? 0 : seg - nl - 1, o = 0;
            for (size_t i = 0; i < vl && o + 1 < size; i++) {
                if (v[i] == '%' && i + 2 < vl && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
                    buf[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
                    i += 2;
                } else {
                    buf[o++] = v[i] == '+' ? ' ' : v[i];
                }
            }
            if (size)
                buf[o] = 0;
            return 0;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -ENOENT;
}

bool rn_server_token_valid(const rn_server *s, const char *token)
{
    return rn_access_authorized(&s->opts, NULL, token ? token : "");
}

const char *rn_http_user(const rn_http *h, bool *admin)
{
    if (admin)
        *admin = h->admin;
    return h->user[0] ? h->user : "anonymous";
}

bool rn_http_authorized(const rn_http *h)
{
    char qt[512];
    return rn_access_authorized(&h->server->opts, rn_srv_find_header(h->headers, "authorization"),
                                rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt : NULL);
}

const char *rn_http_header(const rn_http *h, const char *name)
{
    return rn_srv_find_header(h->headers, name);
}

const char *rn_http_body(const rn_http *h, size_t *len)
{
    if (len)
        *len = h->body_len;
    return h->body ? h->body : "";
}

bool rn_http_is_upgrade(const rn_http *h)
{
    return h->upgrade;
}

const char *rn_http_peer(const rn_http *h)
{
    return h->peer;
}

void rn_http_on_abort(rn_http *h, void (*cb)(void *ud), void *ud)
{
    h->abort_cb = cb;
    h->abort_ud = ud;
}

void rn_http_add_header(rn_http *h, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char *nb = realloc(h->extra_headers, h->extra_len + nl + vl + 3);
    if (!nb)
        return;
    memcpy(nb + h->extra_len, name, nl + 1);
    memcpy(nb + h->extra_len + nl + 1, value, vl + 1);
    h->extra_len += nl + vl + 2;
    nb[h->extra_len] = 0;
    h->extra_headers = nb;
}

static void http_writers_run(uv_timer_t *t);

void rn_http_reply(rn_http *h, int status, const char *content_type, const char *body, size_t len)
{
    if (h->replied)
        return;
    h->replied = true;
    h->abort_cb = NULL;
    if (h->detached && h->tap)
        h->tap(h->tap_ud, status, body, len);
    if (!h->wsi)
        return;
    h->status = status;
    h->ctype = strdup(content_type ? content_type : "application/json");
    h->resp = malloc(len + 1);
    if (h->resp) {
        memcpy(h->resp, body, len);
        h->resp_len = len;
    }
    rn_server *s = h->server;
    rn_http_hold(h);
    h->wnext = s->writers;
    s->writers = h;
    uv_timer_start(&s->write_timer, http_writers_run, 0, 0);
}

void rn_http_reply_field(rn_http *h, int status, const char *content_type, const char *key,
                         const char *text)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{");
    rn_jbuf_jcstr(&b, key);
    rn_jbuf_str(&b, ":");
    rn_jbuf_jcstr(&b, text);
    rn_jbuf_str(&b, "}");
    rn_http_reply(h, status, content_type, b.data, b.len);
    rn_jbuf_free(&b);
}

/* The answer as bytes: status line and headers (lws formats them, so
 * keep-alive and content-length agree with what lws expects), then body. */
static int http_build(rn_http *h, struct lws *wsi)
{
    size_t cap = LWS_PRE + 2048 + h->extra_len * 2 + h->resp_len;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + cap - h->resp_len - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)h->status, h->ctype, h->resp_len, &p, end))
        goto fail;
    for (const char *e = h->extra_headers; e && *e;) {
        const char *name = e, *val = e + strlen(e) + 1;
        char hname[128];
        snprintf(hname, sizeof(hname), "%s:", name);
        if (lws_add_http_header_by_name(wsi, (unsigned char *)hname, (unsigned char *)val,
                                        (int)strlen(val), &p, end))
            goto fail;
        e = val + strlen(val) + 1;
    }
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (unsigned char *)"close", 5, &p,
                                     end) ||
        lws_finalize_http_header(wsi, &p, end))
        goto fail;
    if (h->resp_len)
        memcpy(p, h->resp, h->resp_len);
    p += h->resp_len;
    h->out = buf;
    h->out_off = LWS_PRE;
    h->out_len = (size_t)(p - buf);
    h->out_progress_ms = rn_now_ms();
    return 0;
fail:
    free(buf);
    return -ENOSPC;
}

/* Write what the socket takes of h's answer; 0 while some is left, 1
 * when done (or the client gone). The socket is not read meanwhile (see
 * sock_busy), and lws does not give writable callbacks to a connection it
 * does not read, so this runs from the server's write timer (every 10 ms
 * while a client is slow to take its answer); what lws holds back from a
 * partial write is pushed on with a zero-length write. */
static int http_write_step(rn_http *h)
{
    struct lws *wsi = h->wsi;
    if (!wsi)
        return 1;
    if (!h->out && http_build(h, wsi) < 0)
        goto fail;
    if (lws_partial_buffered(wsi)) {
        if (lws_write(wsi, NULL, 0, LWS_WRITE_RAW) < 0)
            goto fail;
        if (lws_partial_buffered(wsi))
            goto stalled;
    }
    while (h->out_off < h->out_len) {
        size_t n = h->out_len - h->out_off;
        if (n > 65536)
            n = 65536;
        if (lws_write(wsi, h->out + h->out_off, n, LWS_WRITE_RAW) < 0)
            goto fail;
        h->out_off += n;
        h->out_progress_ms = rn_now_ms();
        if (lws_partial_buffered(wsi)) {
            h->partial = true;
            goto stalled;
        }
    }
    /* All written, and the connection ends with this answer (it says
     * "connection: close"): lws 4.1 spins on a pipelined request it has
     * read ahead of an answer given later, so nothing after the request
     * is read. The write side is shut so the client sees the answer end,
     * and what it sent meanwhile is discarded so the close sends no reset
     * that could cost it the answer. */
    pss_t *pss = h->pss;
    if (pss && pss->http == h)
        pss->http = NULL;
    h->pss = NULL;
    h->wsi = NULL;
    rn_srv_sock_closing(h->server, wsi);
    int fd = lws_get_socket_fd(wsi);
    if (fd >= 0) {
        char junk[4096];
        shutdown(fd, SHUT_WR);
        for (int i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
            ;
    }
    /* A connection that had a partial write may be polled for writing,
     * which lws does not serve while it is not read: close it now. */
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, h->partial ? LWS_TO_KILL_ASYNC : 1);
    rn_http_release(h); /* the session's reference */
    return 1;
stalled:
    if (rn_now_ms() - h->out_progress_ms <= h->server->opts.idle_client_ms)
        return 0;
    rn_log(RN_LOG_WARN, "http.slow_client", "peer=%s", h->peer);
fail:
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    return 1;
}

static void http_writers_run(uv_timer_t *t)
{
    rn_server *s = t->data;
    bool left = false;
    for (rn_http **pp = &s->writers; *pp;) {
        rn_http *h = *pp;
        if (http_write_step(h) == 0) {
            left = true;
            pp = &h->wnext;
            continue;
        }
        *pp = h->wnext;
        rn_http_release(h); /* the writers list's reference */
    }
    if (left)
        uv_timer_start(t, http_writers_run, 10, 0);
}

static void http_route(rn_server *s, rn_http *h);

/* The route's flags (public, own auth) of a request. */
static unsigned http_flags(const rn_server *s, const rn_http *h)
{
    return rn_routes_flags(s->opts.envelopes, s->opts.states, h->method, h->path);
}

/* An error in the shape of the envelope that claims the path, else the
 * server's plain JSON one. */
static void http_error(rn_http *h, const rn_route_hit *hit, int status, const char *message)
{
    if (hit && hit->env && hit->env->http_error) {
        hit->env->http_error(hit->state, h, status, message);
        return;
    }
    rn_jbuf b;
    error_json(&b, status, message);
    if (b.oom)
        rn_http_reply(h, 500, "text/plain", "out of memory", 13);
    else
        rn_http_reply(h, status, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void http_refuse(rn_http *h, int status, const char *msg)
{
    rn_jbuf b;
    error_json(&b, status, msg);
    rn_metrics_add("runnel_requests_refused_total",
                   status == 421 ? "reason=\"host\"" : "reason=\"origin\"", 1);
    rn_http_reply(h, status, "application/json", b.oom ? "{}" : b.data, b.oom ? 2 : b.len);
    rn_jbuf_free(&b);
}

/* Host, Origin and CORS for an HTTP request, before any envelope sees it;
 * true when answered here (refused, or a CORS preflight). Health checks
 * are exempt (balancers send what Host they like). */
static bool http_access(rn_server *s, rn_http *h)
{
    const char *host = rn_srv_find_header(h->headers, "host");
    const char *origin = rn_srv_find_header(h->headers, "origin");
    if (!strcmp(h->path, "/healthz") || !strcmp(h->path, "/readyz"))
        return false;
    char msg[512];
    if (!rn_access_host_allowed(&s->opts, s->listen_host, host)) {
        snprintf(msg, sizeof(msg),
                 "unknown host '%.200s': this server answers to localhost, 127.0.0.1, [::1], "
                 "its listen address and the names in security.hosts",
                 host);
        http_refuse(h, 421, msg);
        return true;
    }
    if (origin && *origin) {
        if (!rn_access_origin_allowed(&s->opts, origin, host)) {
            snprintf(msg, sizeof(msg),
                     "origin not allowed: '%.200s' (security.origins lists the allowed ones)",
                     origin);
            http_refuse(h, 403, msg);
            return true;
        }
        if (rn_access_origin_listed(&s->opts, origin)) {
            rn_http_add_header(h, "access-control-allow-origin", origin);
            rn_http_add_header(h, "vary", "Origin");
        }
        if (!strcmp(h->method, "OPTIONS") &&
            rn_srv_find_header(h->headers, "access-control-request-method")) {
            const char *rh = rn_srv_find_header(h->headers, "access-control-request-headers");
            rn_http_add_header(h, "access-control-allow-methods",
                               "GET, POST, PUT, PATCH, DELETE, OPTIONS");
            rn_http_add_header(h, "access-control-allow-headers",
                               rn_access_plain_header_list(rh) ? rh
                                                               : "authorization, content-type");
            rn_http_add_header(h, "access-control-max-age", "600");
            rn_http_reply(h, 204, "text/plain", "", 0);
            return true;
        }
        return false;
    }
    /* No Origin: not a browser, or a browser's navigation or no-cors
     * request (an <img>, a form), which must not reach a route that acts
     * for the caller when it comes from another site. */
    const char *site = rn_srv_find_header(h->headers, "sec-fetch-site");
    if (site && !(http_flags(s, h) & RN_ROUTE_PUBLIC) &&
        (!strcasecmp(site, "cross-site") || !strcasecmp(site, "same-site"))) {
        http_refuse(h, 403, "cross-site request refused");
        return true;
    }
    return false;
}

void rn_srv_http_dispatch(rn_server *s, rn_http *h)
{
    char qt[512];
    if (http_access(s, h))
        return;
    unsigned flags = http_flags(s, h);
    bool known = rn_access_identify(&s->opts, rn_srv_find_header(h->headers, "authorization"),
                                    rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt : NULL,
                                    h->user, sizeof(h->user), &h->admin);
    if (!(flags & (RN_ROUTE_PUBLIC | RN_ROUTE_OWN_AUTH)) && !known) {
        static const char msg[] = "{\"error\":\"unauthorized\",\"code\":401}";
        rn_http_add_header(h, "www-authenticate", "Bearer realm=\"runnel\"");
        rn_http_reply(h, 401, "application/json", msg, sizeof(msg) - 1);
        return;
    }
    if (s->draining && !(flags & RN_ROUTE_PUBLIC)) {
        /* The jobs manager may already be gone: no envelope sees it. */
        static const char msg[] = "{\"error\":\"server is shutting down\",\"code\":503}";
        rn_http_reply(h, 503, "application/json", msg, sizeof(msg) - 1);
        return;
    }
    http_route(s, h);
}

static void http_route(rn_server *s, rn_http *h)
{
    rn_route_hit hit;
    char allow[128];
    int r = rn_routes_http(s->opts.envelopes, s->opts.states, h->method, h->path, &hit, allow,
                           sizeof(allow));
    if (h->body_too_big) {
        http_error(h, &hit, 413, "request body too large");
        return;
    }
    if (r == 0) {
        hit.route->handle(hit.state, h);
        return;
    }
    char msg[SERVER_MAX_PATH + 64];
    void *ws_state;
    unsigned ws_flags;
    const rn_envelope *ws_env = rn_srv_ws_envelope(s, h->path, &ws_state, &ws_flags);
    if (ws_env && (!hit.env || hit.env == ws_env)) {
        rn_route_hit ws_hit = {.env = ws_env, .state = ws_state};
        http_error(h, &ws_hit, 426, "Upgrade Required");
        return;
    }
    if (r == -EPERM) {
        rn_http_add_header(h, "allow", allow);
        http_error(h, &hit, 405, "Method Not Allowed");
        return;
    }
    snprintf(msg, sizeof(msg), "Cannot %s %s", h->method, h->path);
    if (hit.env) {
        http_error(h, &hit, 404, msg);
        return;
    }
    rn_http_reply(h, 404, "text/plain", msg, strlen(msg));
}

static const struct {
    enum lws_token_indexes tok;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},         {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_OPTIONS_URI, "OPTIONS"}, {WSI_TOKEN_PUT_URI, "PUT"},
    {WSI_TOKEN_DELETE_URI, "DELETE"},   {WSI_TOKEN_HEAD_URI, "HEAD"},
    {WSI_TOKEN_PATCH_URI, "PATCH"},
};

rn_http *rn_srv_http_new(rn_server *s, struct lws *wsi, const char *uri)
{
    rn_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->server = s;
    h->wsi = wsi;
    h->refs = 1;
    snprintf(h->method, sizeof(h->method), "GET");
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            snprintf(h->method, sizeof(h->method), "%s", methods[i].name);
            break;
        }
    }
    snprintf(h->path, sizeof(h->path), "%s", uri ? uri : "/");
    lws_get_peer_simple(wsi, h->peer, sizeof(h->peer));
    rn_srv_copy_headers(wsi, h->headers);
    rn_access_resolve_client(&s->opts, h->peer, sizeof(h->peer),
                             rn_srv_find_header(h->headers, "x-forwarded-for"));
    int ql = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (ql > 0 && ql < SERVER_MAX_HEADER) {
        /* lws splits the query into fragments; join them with '&'. */
        h->query = calloc(1, (size_t)ql + 64);
        if (h->query) {
            size_t off = 0;
            char frag[SERVER_MAX_HEADER];
            for (int i = 0;
                 lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) > 0;
                 i++) {
                size_t fl = strlen(frag);
                if (off + fl + 2 > (size_t)ql + 64)
                    break;
                if (off)
                    h->query[off++] = '&';
                memcpy(h->query + off, frag, fl);
                off += fl;
            }
            h->query[off] = 0;
        }
    }
    const char *up = rn_srv_find_header(h->headers, "upgrade");
    h->upgrade = up && !strcasecmp(up, "websocket");
    return h;
}

void rn_srv_http_detach(pss_t *pss)
{
    rn_http *h = pss->http;
    if (!h)
        return;
    pss->http = NULL;
    h->wsi = NULL;
    h->pss = NULL;
    rn_srv_http_abort(h);
    rn_http_release(h);
}

void rn_srv_http_abort(rn_http *h)
{
    if (!h->replied && h->abort_cb) {
        void (*cb)(void *) = h->abort_cb;
        h->abort_cb = NULL;
        cb(h->abort_ud);
    }
}

/* Answer a refused WebSocket upgrade. lws_return_http_status() says
 * "HTTP/1.0" at this stage, which some WebSocket clients reject before
 * reading the status, so the response is written here as HTTP/1.1 with a
 * JSON body, then the connection is closed. */
static int refuse_upgrade(struct lws *wsi, int status, const char *msg)
{
    static const struct {
        int code;
        const char *text;
    } texts[] = {{401, "Unauthorized"},       {403, "Forbidden"},
                 {404, "Not Found"},          {421, "Misdirected Request"},
                 {426, "Upgrade Required"},   {429, "Too Many Requests"},
                 {503, "Service Unavailable"}};
    const char *text = "Error";
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (texts[i].code == status)
            text = texts[i].text;
    rn_jbuf body;
    error_json(&body, status, msg);
    rn_jbuf out;
    rn_jbuf_init(&out, LWS_PRE);
    rn_jbuf_printf(&out,
                   "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
                   "%sconnection: close\r\n\r\n",
                   status, text, body.len,
                   status == 401 ? "www-authenticate: Bearer realm=\"runnel\"\r\n" : "");
    rn_jbuf_raw(&out, body.data ? body.data : "", body.len);
    if (!out.oom)
        lws_write(wsi, (unsigned char *)out.data, out.len, LWS_WRITE_RAW);
    rn_jbuf_free(&out);
    rn_jbuf_free(&body);
    return 1;
}

int rn_srv_http_upgrade_check(rn_server *s, struct lws *wsi)
{
    char path[SERVER_MAX_PATH];
    if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
        return 1;
    void *env_state = NULL;
    unsigned env_flags = 0;
    const rn_envelope *env = rn_srv_ws_envelope(s, path, &env_state, &env_flags);
    int status = 0;
    char msg[256] = "";
    if (s->draining) {
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
        snprintf(msg, sizeof(msg), "server is shutting down");
    } else if (!env) {
        status = HTTP_STATUS_NOT_FOUND;
        snprintf(msg, sizeof(msg), "no WebSocket endpoint at %.200s", path);
    } else {
        rn_http *h = rn_srv_http_new(s, wsi, path);
        char qt[512];
        if (!h)
            return 1;
        if (!rn_access_host_allowed(&s->opts, s->listen_host,
                                    rn_srv_find_header(h->headers, "host"))) {
            status = 421;
            snprintf(msg, sizeof(msg),
                     "unknown host: this server answers to localhost, 127.0.0.1, [::1], its "
                     "listen address and the names in security.hosts");
        } else if (!(env_flags & RN_ROUTE_OWN_AUTH) &&
                   !rn_access_authorized(&s->opts, rn_srv_find_header(h->headers, "authorization"),
                                         rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt
                                                                                        : NULL)) {
            status = HTTP_STATUS_UNAUTHORIZED;
            snprintf(msg, sizeof(msg), "unauthorized");
        } else if (!rn_access_origin_allowed(&s->opts, rn_srv_find_header(h->headers, "origin"),
                                             rn_srv_find_header(h->headers, "host"))) {
            status = HTTP_STATUS_FORBIDDEN;
            snprintf(msg, sizeof(msg), "origin not allowed");
        } else if (s->opts.connections_per_ip &&
                   rn_srv_conns_from(s, h->peer) >= s->opts.connections_per_ip) {
            status = 429;
            snprintf(msg, sizeof(msg), "too many connections from %s", h->peer);
        } else if (env->ws_accept) {
            status = env->ws_accept(env_state, h, msg, sizeof(msg));
        }
        if (status)
            rn_metrics_add("runnel_requests_refused_total", "reason=\"upgrade\"", 1);
        h->wsi = NULL;
        rn_http_release(h);
    }
    if (!status)
        return 0;
    return refuse_upgrade(wsi, status, msg);
}

int rn_srv_http_body(rn_http *h, const void *in, size_t len)
{
    if (!h || h->body_too_big)
        return 0;
    if (h->body_len + len > h->server->opts.message_bytes) {
        h->body_too_big = true;
        free(h->body);
        h->body = NULL;
        h->body_len = 0;
        return 0;
    }
    char *nb = realloc(h->body, h->body_len + len + 1);
    if (!nb)
        return -1;
    if (len)
        memcpy(nb + h->body_len, in, len);
    h->body = nb;
    h->body_len += len;
    h->body[h->body_len] = 0;
    return 0;
}
