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
#include "server_priv.h"
#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "ws_mask.h"

#define SERVER_SWEEP_MS       1000
#define SERVER_MAX_HEADER     4096
#define SERVER_CLOSE_GRACE_MS 1500
/* limits.request_timeout_ms when the options leave it 0. */
#define SERVER_REQUEST_TIMEOUT_MS 10000
/* A message begun must be complete within this (a one-byte-a-second
 * trickle must not hold a connection forever). */
#define SERVER_MESSAGE_TIMEOUT_S 20
/* Frames shorter than this are batched into one write (see conn_write_batch). */
#define SERVER_COALESCE_FRAME 4096
#define SERVER_BATCH_BYTES    65536
/* A connection's queue may hold this many high-water marks (plus one
 * message) before its client is dropped as not reading. */
#define SERVER_QUEUE_HARD_FACTOR 16
/* The close opcode's value in lws_write (not in the public enum). */
#define WS_WRITE_CLOSE 4

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

/* A header lws has no token for, by its lower-case name. */
static void copy_headers(struct lws *wsi, char **out)
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

static void free_headers(char **hdrs)
{
    for (size_t i = 0; i < NHEADERS; i++) {
        free(hdrs[i]);
        hdrs[i] = NULL;
    }
}

static const rn_envelope *find_ws_envelope(const rn_server *s, const char *path, void **state,
                                           unsigned *flags)
{
    rn_route_hit hit;
    if (rn_routes_ws(s->opts.envelopes, s->opts.states, path, &hit) < 0)
        return NULL;
    *state = hit.state;
    *flags = hit.route->flags;
    return hit.env;
}

static unsigned conns_from(const rn_server *s, const char *ip)
{
    unsigned n = 0;
    for (const rn_conn *c = s->conns; c; c = c->next)
        n += !strcmp(c->peer, ip);
    return n;
}

/* ---------------------------------------------------------------- conn */

static void conn_drop_queue(rn_conn *c)
{
    for (frame *f = c->qhead, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    c->qhead = c->qtail = NULL;
    c->qbytes = 0;
}

static void conn_free(rn_conn *c)
{
    if (c->data_free)
        c->data_free(c->data);
    conn_drop_queue(c);
    free_headers(c->headers);
    free(c->rx);
    free(c->jobs);
    free(c);
}

void rn_conn_ref(rn_conn *c)
{
    c->refs++;
}

/* Ask lws for a writable callback once: asking again for every frame
 * queued restarts the socket's libuv poll each time, which is two epoll_ctl
 * calls per frame. */
static void conn_ask_writable(rn_conn *c)
{
    if (c->writable_asked || !c->wsi)
        return;
    c->writable_asked = true;
    lws_callback_on_writable(c->wsi);
}

void rn_conn_unref(rn_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void conn_set_jobs_paused(rn_conn *c, bool pause)
{
    if (c->paused_jobs == pause)
        return;
    c->paused_jobs = pause;
    for (unsigned i = 0; i < c->njobs; i++)
        rn_job_pause(c->jobs[i], pause);
}

static void conn_update_pressure(rn_conn *c)
{
    uint64_t high = c->server->opts.queue_bytes;
    if (c->qbytes > high) {
        if (!c->over_since)
            c->over_since = rn_now_ms();
        conn_set_jobs_paused(c, true);
    } else if (c->qbytes <= high / 4) {
        c->over_since = 0;
        conn_set_jobs_paused(c, false);
    }
    /* A client that floods requests without reading replies: stop reading
     * it until it catches up, so its replies cannot grow without bound. */
    if (c->wsi) {
        if (!c->rx_stopped && c->qbytes > 4 * high + c->server->opts.message_bytes) {
            c->rx_stopped = true;
            lws_rx_flow_control(c->wsi, 0);
        } else if (c->rx_stopped && c->qbytes <= high) {
            c->rx_stopped = false;
            lws_rx_flow_control(c->wsi, 1);
        }
    }
}

int rn_conn_send(rn_conn *c, const char *data, size_t len)
{
    if (c->detached) {
        if (!c->open || c->close_status)
            return -ENOTCONN;
        if (c->tap)
            c->tap(c->tap_ud, data, len);
        return 0;
    }
    if (!c->open || !c->wsi || c->close_status)
        return -ENOTCONN;
    /* Output of jobs this connection tracks is paused at the high-water
     * mark; anything else that keeps coming for a client that does not read
     * (jobs that outlive their socket, replies to a flood) is bounded here:
     * past the hard cap the client is dropped rather than buffered for. */
    uint64_t hard =
        SERVER_QUEUE_HARD_FACTOR * c->server->opts.queue_bytes + c->server->opts.message_bytes;
    if (c->qbytes + len > hard) {
        rn_log(RN_LOG_WARN, "conn.slow_client", "conn=%lu queued=%zu cap=%llu", c->id, c->qbytes,
               (unsigned long long)hard);
        conn_drop_queue(c);
        rn_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "client does not read");
        return -ENOBUFS;
    }
    frame *f = malloc(sizeof(*f) + LWS_PRE + len);
    if (!f)
        return -ENOMEM;
    f->next = NULL;
    f->len = len;
    memcpy(f->data + LWS_PRE, data, len);
    if (c->qtail)
        c->qtail->next = f;
    else
        c->qhead = f;
    c->qtail = f;
    c->qbytes += len;
    conn_update_pressure(c);
    conn_ask_writable(c);
    return 0;
}

void rn_conn_close(rn_conn *c, int status, const char *reason)
{
    if (c->detached && c->open && !c->close_status) {
        c->close_status = status;
        snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
        return;
    }
    if (!c->open || !c->wsi || c->close_status)
        return;
    c->close_status = status;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
    conn_ask_writable(c);
}

bool rn_conn_open(const rn_conn *c)
{
    return c->open && !c->close_status;
}

void rn_conn_set_data(rn_conn *c, void *data, void (*free_fn)(void *))
{
    c->data = data;
    c->data_free = free_fn;
}

void *rn_conn_data(const rn_conn *c)
{
    return c->data;
}

void rn_conn_track(rn_conn *c, rn_job *job)
{
    if (c->njobs == c->capjobs) {
        unsigned cap = c->capjobs ? c->capjobs * 2 : 8;
        rn_job **nj = realloc(c->jobs, cap * sizeof(*nj));
        if (!nj) {
            /* Cannot track it: do not let it run untracked. */
            rn_job_kill(job);
            return;
        }
        c->jobs = nj;
        c->capjobs = cap;
    }
    c->jobs[c->njobs++] = job;
    if (c->paused_jobs)
        rn_job_pause(job, true);
    if (!c->open)
        rn_job_kill(job);
}

void rn_conn_untrack(rn_conn *c, rn_job *job)
{
    for (unsigned i = 0; i < c->njobs; i++) {
        if (c->jobs[i] == job) {
            c->jobs[i] = c->jobs[--c->njobs];
            return;
        }
    }
}

unsigned rn_conn_job_count(const rn_conn *c)
{
    return c->njobs;
}

rn_job *rn_conn_find_job(const rn_conn *c, const char *runid)
{
    for (unsigned i = 0; i < c->njobs; i++)
        if (!strcmp(rn_job_id(c->jobs[i]), runid))
            return c->jobs[i];
    return NULL;
}

const char *rn_conn_path(const rn_conn *c)
{
    return c->path;
}

const char *rn_conn_peer(const rn_conn *c)
{
    return c->peer;
}

const char *rn_conn_header(const rn_conn *c, const char *name)
{
    return rn_srv_find_header(c->headers, name);
}

unsigned long rn_conn_id(const rn_conn *c)
{
    return c->id;
}

void rn_srv_conn_closed(rn_conn *c)
{
    rn_server *s = c->server;
    if (!c->open)
        return;
    c->open = false;
    c->wsi = NULL;
    if (c->next)
        c->next->prev = c->prev;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    s->nconns--;
    rn_log(RN_LOG_INFO, "conn.close", "conn=%lu envelope=%s peer=%s runs=%u duration_ms=%llu",
           c->id, c->env->name, c->peer, c->njobs,
           (unsigned long long)(rn_now_ms() - c->opened_ms));
    /* Every run of a vanished client dies now. */
    for (unsigned i = 0; i < c->njobs; i++)
        rn_job_kill(c->jobs[i]);
    if (c->env->ws_close)
        c->env->ws_close(c->env_state, c);
    rn_conn_unref(c);
}

/* Frame the queued small frames (RFC 6455 server frames: FIN + text,
 * unmasked) into one buffer and hand it to lws as raw bytes. */
static int conn_write_batch(rn_conn *c)
{
    unsigned char *buf = malloc(LWS_PRE + SERVER_BATCH_BYTES);
    if (!buf)
        return -1;
    size_t o = LWS_PRE;
    while (c->qhead && c->qhead->len < SERVER_COALESCE_FRAME &&
           o + 4 + c->qhead->len <= LWS_PRE + SERVER_BATCH_BYTES) {
        frame *f = c->qhead;
        buf[o++] = 0x81;
        if (f->len < 126) {
            buf[o++] = (unsigned char)f->len;
        } else {
            buf[o++] = 126;
            buf[o++] = (unsigned char)(f->len >> 8);
            buf[o++] = (unsigned char)(f->len & 0xff);
        }
        memcpy(buf + o, f->data + LWS_PRE, f->len);
        o += f->len;
        c->qhead = f->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->qbytes -= f->len;
        free(f);
    }
    int n = lws_write(c->wsi, buf + LWS_PRE, o - LWS_PRE, LWS_WRITE_RAW);
    free(buf);
    return n < 0 ? -1 : 0;
}

static int conn_writable(rn_conn *c)
{
    c->writable_asked = false;
    if (c->close_status && !c->qhead) {
        if (c->close_sent)
            return 0;
        c->close_sent = true;
        rn_log(RN_LOG_DEBUG, "conn.closing", "conn=%lu status=%d", c->id, c->close_status);
        /* lws 4.1 drops the socket without a close frame when a writable
         * callback returns -1, so the frame is written here, then the peer's
         * answering close ends the connection (or the timeout does). */
        unsigned char frame[LWS_PRE + 2 + sizeof(c->close_reason)];
        size_t rl = strlen(c->close_reason);
        frame[LWS_PRE] = (unsigned char)(c->close_status >> 8);
        frame[LWS_PRE + 1] = (unsigned char)(c->close_status & 0xff);
        memcpy(frame + LWS_PRE + 2, c->close_reason, rl);
        if (lws_write(c->wsi, frame + LWS_PRE, 2 + rl, (enum lws_write_protocol)WS_WRITE_CLOSE) < 0)
            return -1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
        return 0;
    }
    /* Small frames are framed here and sent many to one write: one
     * lws_write per frame costs a system call (and a poll round trip)
     * per frame, which caps record-per-frame protocols. Big frames go
     * through lws_write as they are. lws keeps what the kernel refused and
     * reports the pipe choked until it has gone out. */
    unsigned budget = 1024;
    while (c->qhead && budget--) {
        frame *f = c->qhead;
        if (f->len >= SERVER_COALESCE_FRAME || !f->next) {
            c->qhead = f->next;
            if (!c->qhead)
                c->qtail = NULL;
            c->qbytes -= f->len;
            int n = lws_write(c->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT);
            free(f);
            if (n < 0)
                return -1;
        } else if (conn_write_batch(c) < 0) {
            return -1;
        }
        if (lws_send_pipe_choked(c->wsi))
            break;
    }
    conn_update_pressure(c);
    if (c->qhead || c->close_status)
        conn_ask_writable(c);
    return 0;
}

static int conn_receive(rn_conn *c, struct lws *wsi, const char *in, size_t len)
{
    uint64_t max = c->server->opts.message_bytes;
    if (lws_is_first_fragment(wsi)) {
        c->rxlen = 0;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (c->rxlen + len > max) {
        static const char msg[] = "message too large";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)msg,
                         sizeof(msg) - 1);
        rn_log(RN_LOG_WARN, "conn.too_large", "conn=%lu limit=%llu", c->id,
               (unsigned long long)max);
        return -1;
    }
    char *nb = realloc(c->rx, c->rxlen + len + 1);
    if (!nb)
        return -1;
    c->rx = nb;
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    c->rx[c->rxlen] = 0;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) {
        if (!c->rx_timer && !c->close_sent) {
            c->rx_timer = true;
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, SERVER_MESSAGE_TIMEOUT_S);
        }
        return 0;
    }
    if (c->rx_timer) {
        c->rx_timer = false;
        if (!c->close_sent)
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    }
    size_t n = c->rxlen;
    c->rxlen = 0;
    if (c->server->draining)
        return 0; /* closing with 1001; the jobs manager may be gone */
    rn_conn_ref(c);
    c->env->ws_message(c->env_state, c, c->rx, n, c->rx_binary);
    bool gone = !c->open;
    rn_conn_unref(c);
    (void)gone;
    /* Keep the buffer small between messages. */
    if (c->open && n > 65536) {
        free(c->rx);
        c->rx = NULL;
    }
    return 0;
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
static void sock_closing(rn_server *s, struct lws *wsi)
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
        /* Closed on the next service; WSI_DESTROY unlinks it then. */
        lws_set_timeout(k->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

/* ---------------------------------------------------------------- http */

void rn_srv_http_free(rn_http *h)
{
    free_headers(h->headers);
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

const char *rn_conn_user(const rn_conn *c, bool *admin)
{
    if (admin)
        *admin = c->admin;
    return c->user[0] ? c->user : "anonymous";
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
    sock_closing(h->server, wsi);
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
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"error\":");
    rn_jbuf_jcstr(&b, message);
    rn_jbuf_printf(&b, ",\"code\":%d}", status);
    if (b.oom)
        rn_http_reply(h, 500, "text/plain", "out of memory", 13);
    else
        rn_http_reply(h, status, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void http_refuse(rn_http *h, int status, const char *msg)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"error\":");
    rn_jbuf_jcstr(&b, msg);
    rn_jbuf_printf(&b, ",\"code\":%d}", status);
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

static void http_dispatch(rn_server *s, rn_http *h)
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

const rn_envelope *rn_srv_ws_envelope(const rn_server *s, const char *path, void **state,
                                      unsigned *flags)
{
    return find_ws_envelope(s, path, state, flags);
}

void rn_srv_http_dispatch(rn_server *s, rn_http *h)
{
    http_dispatch(s, h);
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
    const rn_envelope *ws_env = find_ws_envelope(s, h->path, &ws_state, &ws_flags);
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

static rn_http *http_new(rn_server *s, struct lws *wsi, const char *uri)
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
    copy_headers(wsi, h->headers);
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

static void http_detach(pss_t *pss)
{
    rn_http *h = pss->http;
    if (!h)
        return;
    pss->http = NULL;
    h->wsi = NULL;
    h->pss = NULL;
    if (!h->replied && h->abort_cb) {
        void (*cb)(void *) = h->abort_cb;
        h->abort_cb = NULL;
        cb(h->abort_ud);
    }
    rn_http_release(h);
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
    rn_jbuf_init(&body, 0);
    rn_jbuf_str(&body, "{\"error\":");
    rn_jbuf_jcstr(&body, msg);
    rn_jbuf_printf(&body, ",\"code\":%d}", status);
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

/* ---------------------------------------------------------------- lws */

static int server_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    srv_link *link = ctx ? lws_context_user(ctx) : NULL;
    rn_server *s = link ? link->s : NULL;
    pss_t *pss = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        if (!pss)
            return -1;
        http_detach(pss);
        rn_http *h = http_new(s, wsi, in);
        if (!h)
            return -1;
        pss->http = h;
        h->pss = pss;
        if (!strcmp(h->method, "POST") || !strcmp(h->method, "PUT") ||
            !strcmp(h->method, "PATCH") || !strcmp(h->method, "DELETE")) {
            /* The body follows: dispatch on its completion. */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
                return 0;
        }
        sock_busy(s, wsi);
        http_dispatch(s, h);
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY: {
        rn_http *h = pss ? pss->http : NULL;
        if (!h || h->body_too_big)
            return 0;
        if (h->body_len + len > s->opts.message_bytes) {
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
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->http && !pss->http->replied) {
            sock_busy(s, wsi);
            http_dispatch(s, pss->http);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return 0; /* answers are written by http_writers_run */
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            http_detach(pss);
        return 0;

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char path[SERVER_MAX_PATH];
        if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
            return 1;
        void *env_state = NULL;
        unsigned env_flags = 0;
        const rn_envelope *env = find_ws_envelope(s, path, &env_state, &env_flags);
        int status = 0;
        char msg[256] = "";
        if (s->draining) {
            status = HTTP_STATUS_SERVICE_UNAVAILABLE;
            snprintf(msg, sizeof(msg), "server is shutting down");
        } else if (!env) {
            status = HTTP_STATUS_NOT_FOUND;
            snprintf(msg, sizeof(msg), "no WebSocket endpoint at %.200s", path);
        } else {
            rn_http *h = http_new(s, wsi, path);
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
                       !rn_access_authorized(
                           &s->opts, rn_srv_find_header(h->headers, "authorization"),
                           rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt : NULL)) {
                status = HTTP_STATUS_UNAUTHORIZED;
                snprintf(msg, sizeof(msg), "unauthorized");
            } else if (!rn_access_origin_allowed(&s->opts, rn_srv_find_header(h->headers, "origin"),
                                                 rn_srv_find_header(h->headers, "host"))) {
                status = HTTP_STATUS_FORBIDDEN;
                snprintf(msg, sizeof(msg), "origin not allowed");
            } else if (s->opts.connections_per_ip &&
                       conns_from(s, h->peer) >= s->opts.connections_per_ip) {
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
    case LWS_CALLBACK_WSI_CREATE:
        if (s)
            sock_add(s, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        rn_ws_mask_unwatch(wsi);
        if (s)
            sock_remove(s, wsi);
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        sock_upgraded(s, wsi);
        rn_ws_mask_watch(wsi);
        rn_conn *c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->server = s;
        c->wsi = wsi;
        c->refs = 1;
        c->open = true;
        c->id = ++s->next_id;
        c->opened_ms = rn_now_ms();
        lws_hdr_copy(wsi, c->path, sizeof(c->path), WSI_TOKEN_GET_URI);
        lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
        copy_headers(wsi, c->headers);
        rn_access_resolve_client(&s->opts, c->peer, sizeof(c->peer),
                                 rn_srv_find_header(c->headers, "x-forwarded-for"));
        {
            char qt[512];
            const char *q = lws_get_urlarg_by_name(wsi, "token=", qt, (int)sizeof(qt)) ? qt : NULL;
            rn_access_identify(&s->opts, rn_srv_find_header(c->headers, "authorization"), q,
                               c->user, sizeof(c->user), &c->admin);
        }
        unsigned env_flags = 0;
        c->env = find_ws_envelope(s, c->path, &c->env_state, &env_flags);
        if (!c->env) {
            conn_free(c);
            return -1;
        }
        pss->conn = c;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        {
            char lbl[64];
            snprintf(lbl, sizeof(lbl), "envelope=\"%s\"", c->env->name);
            rn_metrics_add("runnel_connections_total", lbl, 1);
        }
        rn_log(RN_LOG_INFO, "conn.open", "conn=%lu envelope=%s peer=%s path=%s", c->id,
               c->env->name, c->peer, c->path);
        if (c->env->ws_open && c->env->ws_open(c->env_state, c) != 0) {
            pss->conn = NULL;
            rn_srv_conn_closed(c);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!pss || !pss->conn)
            return -1;
        return conn_receive(pss->conn, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (rn_ws_mask_writable(wsi))
            return 0;
        if (!pss || !pss->conn)
            return 0;
        return conn_writable(pss->conn);
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
    for (rn_conn *c = s->conns; c; c = c->next) {
        if (c->over_since && now - c->over_since > s->opts.idle_client_ms) {
            rn_log(RN_LOG_WARN, "conn.slow_client", "conn=%lu queued=%zu", c->id, c->qbytes);
            /* Its queue will never drain: drop it instead of flushing. */
            conn_drop_queue(c);
            c->over_since = 0;
            rn_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "client does not read");
            /* A close frame would wait for room the client never makes:
             * the socket is torn down now. */
            if (c->wsi)
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
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

int rn_server_new(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts, rn_server **out)
{
    rn_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->jobs = jobs;
    s->opts = *opts;
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
