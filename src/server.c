#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

#include "jbuf.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"

#define SERVER_SWEEP_MS       1000
#define SERVER_MAX_PATH       1024
#define SERVER_MAX_HEADER     4096
#define SERVER_CLOSE_GRACE_MS 1500
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

/* Request headers an envelope may ask for, by lower-case name. */
static const struct {
    const char *name;
    enum lws_token_indexes tok;
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
};
#define NHEADERS (sizeof(known_headers) / sizeof(known_headers[0]))

typedef struct frame {
    struct frame *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE + len */
} frame;

struct rn_conn {
    rn_server *server;
    struct lws *wsi;
    const rn_envelope *env;
    void *env_state;
    struct rn_conn *next, *prev; /* server's open list */
    unsigned long id;
    int refs;
    bool open;
    char path[SERVER_MAX_PATH];
    char peer[64];
    char *headers[NHEADERS];
    void *data;
    void (*data_free)(void *);
    /* outgoing */
    frame *qhead, *qtail;
    size_t qbytes;
    bool paused_jobs;
    bool rx_stopped;
    uint64_t over_since;
    int close_status;
    bool close_sent;
    bool writable_asked; /* lws keeps POLLOUT on until our callback runs */
    char close_reason[64];
    /* incoming message being gathered */
    char *rx;
    size_t rxlen;
    bool rx_binary;
    bool rx_timer; /* the message timeout is armed */
    /* tracked jobs */
    rn_job **jobs;
    unsigned njobs, capjobs;
    uint64_t opened_ms;
    /* test hook (rn_conn_new_detached): no socket, frames go to tap */
    bool detached;
    void (*tap)(void *ud, const char *data, size_t len);
    void *tap_ud;
};

struct rn_http {
    rn_server *server;
    struct lws *wsi;
    int refs;
    char method[12];
    char path[SERVER_MAX_PATH];
    char peer[64];
    char *headers[NHEADERS];
    char *query; /* raw "a=b&c=d" */
    char *body;
    size_t body_len;
    bool body_too_big;
    bool upgrade;
    bool replied;
    /* pending response */
    int status;
    char *ctype;
    char *resp;
    size_t resp_len;
    char *extra_headers; /* "name\0value\0name\0value\0\0" */
    size_t extra_len;
    int write_state; /* 0 nothing, 1 headers next, 2 body next */
    size_t resp_off;
    void (*abort_cb)(void *);
    void *abort_ud;
    /* test hook (rn_http_new_detached): no socket, the reply goes to tap */
    bool detached;
    void (*tap)(void *ud, int status, const char *body, size_t len);
    void *tap_ud;
};

struct rn_server {
    uv_loop_t *loop;
    rn_jobs *jobs;
    rn_server_options opts;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];
    uv_timer_t sweep;
    uint64_t trimmed_ms; /* when memory was last given back (glibc) */
    uv_timer_t close_timer;
    rn_conn *conns;
    unsigned nconns;
    unsigned long next_id;
    bool draining;
    uint64_t drain_started;
    void (*done)(void *);
    void *done_ud;
    char listen_host[128];
    int port;
};

typedef struct {
    rn_conn *conn;
    rn_http *http;
} pss_t;

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

static char *copy_header(struct lws *wsi, enum lws_token_indexes tok)
{
    int n = lws_hdr_total_length(wsi, tok);
    if (n <= 0 || n > SERVER_MAX_HEADER)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    if (lws_hdr_copy(wsi, s, n + 1, tok) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void copy_headers(struct lws *wsi, char **out)
{
    for (size_t i = 0; i < NHEADERS; i++)
        out[i] = copy_header(wsi, known_headers[i].tok);
}

static const char *find_header(char *const *hdrs, const char *name)
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

/* Whether a list (newline-separated) has item. */
static bool list_has(const char *list, const char *item, size_t ilen)
{
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == ilen && !memcmp(p, item, ilen))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* The client's address: the peer, or, when the peer is a trusted proxy,
 * the right-most X-Forwarded-For entry that is not a trusted proxy. */
static void resolve_client(const rn_server *s, char *peer, size_t size, const char *xff)
{
    const char *tp = s->opts.trusted_proxies;
    if (!xff || !tp || !*tp || !list_has(tp, peer, strlen(peer)))
        return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a && (size_t)(b - a) < size) {
            if (!list_has(tp, a, (size_t)(b - a)) || start == xff) {
                memcpy(peer, a, (size_t)(b - a));
                peer[b - a] = 0;
                return;
            }
        }
        end = start > xff ? start - 1 : xff;
    }
}

/* Compare without an early exit, so timing says nothing of the token. */
static bool token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)a[i] ^ (unsigned char)(i < blen ? b[i] : 0);
    return diff == 0;
}

/* With tokens configured, a request needs "Authorization: Bearer T" (or
 * ranna-style "Basic T"), or ?token=T for browsers' WebSockets. */
static bool authorized(const rn_server *s, const char *authz, const char *query_token)
{
    const char *list = s->opts.auth_tokens;
    if (!list || !*list)
        return true;
    const char *tok = NULL;
    if (authz) {
        if (!strncasecmp(authz, "bearer ", 7))
            tok = authz + 7;
        else if (!strncasecmp(authz, "basic ", 6))
            tok = authz + 6;
    }
    if (!tok)
        tok = query_token;
    if (!tok)
        return false;
    while (*tok == ' ')
        tok++;
    bool ok = false;
    size_t tl = strlen(tok);
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        ok |= token_equal(p, l, tok, tl);
        p = nl ? nl + 1 : NULL;
    }
    return ok;
}

/* A browser's Origin must be listed, or be the server's own (same host). */
static bool origin_allowed(const rn_server *s, const char *origin, const char *host)
{
    if (!origin || !*origin)
        return true; /* not a browser */
    const char *list = s->opts.origins;
    if (list && (list_has(list, "*", 1) || list_has(list, origin, strlen(origin))))
        return true;
    const char *o = strstr(origin, "://");
    o = o ? o + 3 : origin;
    return host && !strcasecmp(o, host);
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
            c->over_since = now_ms();
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
    return find_header(c->headers, name);
}

unsigned long rn_conn_id(const rn_conn *c)
{
    return c->id;
}

static void conn_closed(rn_conn *c)
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
           c->id, c->env->name, c->peer, c->njobs, (unsigned long long)(now_ms() - c->opened_ms));
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

/* ---------------------------------------------------------------- http */

static void http_free(rn_http *h)
{
    free_headers(h->headers);
    free(h->query);
    free(h->body);
    free(h->ctype);
    free(h->resp);
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
        http_free(h);
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

const char *rn_http_header(const rn_http *h, const char *name)
{
    return find_header(h->headers, name);
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
    h->resp = malloc(LWS_PRE + len + 1);
    if (h->resp) {
        memcpy(h->resp + LWS_PRE, body, len);
        h->resp_len = len;
    }
    h->write_state = 1;
    lws_callback_on_writable(h->wsi);
}

static int http_write_headers(rn_http *h, struct lws *wsi)
{
    size_t cap = LWS_PRE + 2048 + h->extra_len * 2;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return -1;
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + cap - 1;
    int ret = -1;
    if (lws_add_http_common_headers(wsi, (unsigned int)h->status, h->ctype, h->resp_len, &p, end))
        goto out;
    for (const char *e = h->extra_headers; e && *e;) {
        const char *name = e, *val = e + strlen(e) + 1;
        char hname[128];
        snprintf(hname, sizeof(hname), "%s:", name);
        if (lws_add_http_header_by_name(wsi, (unsigned char *)hname, (unsigned char *)val,
                                        (int)strlen(val), &p, end))
            goto out;
        e = val + strlen(val) + 1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        goto out;
    ret = 0;
out:
    free(buf);
    return ret;
}

static int http_writable(pss_t *pss, struct lws *wsi)
{
    rn_http *h = pss->http;
    if (h->write_state == 1) {
        if (http_write_headers(h, wsi) < 0)
            return -1;
        h->write_state = 2;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (h->write_state != 2)
        return 0;
    size_t left = h->resp_len - h->resp_off;
    size_t chunk = left > 65536 ? 65536 : left;
    enum lws_write_protocol wp = chunk == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
    if (h->resp) {
        /* Each write needs LWS_PRE spare bytes in front of it. */
        unsigned char *at = (unsigned char *)h->resp + LWS_PRE + h->resp_off;
        unsigned char save[LWS_PRE];
        memcpy(save, at - LWS_PRE, LWS_PRE);
        int n = lws_write(wsi, at, chunk, wp);
        memcpy(at - LWS_PRE, save, LWS_PRE);
        if (n < 0)
            return -1;
    }
    h->resp_off += chunk;
    if (h->resp_off < h->resp_len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    h->write_state = 0;
    /* Completing the transaction may free pss (keep-alive resets the
     * session), so the request is let go of first. */
    pss->http = NULL;
    h->wsi = NULL;
    rn_http_release(h);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void http_route(rn_server *s, rn_http *h);

/* An error in the shape of the envelope that claims the path, else the
 * server's plain JSON one. */
static void http_error(rn_server *s, rn_http *h, const rn_route_hit *hit, int status,
                       const char *message)
{
    (void)s;
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

static void http_dispatch(rn_server *s, rn_http *h)
{
    char qt[512];
    unsigned flags = rn_routes_flags(s->opts.envelopes, s->opts.states, h->method, h->path);
    if (!(flags & (RN_ROUTE_PUBLIC | RN_ROUTE_OWN_AUTH)) &&
        !authorized(s, find_header(h->headers, "authorization"),
                    rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt : NULL)) {
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
        http_error(s, h, &hit, 413, "request body too large");
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
        http_error(s, h, &ws_hit, 426, "Upgrade Required");
        return;
    }
    if (r == -EPERM) {
        rn_http_add_header(h, "allow", allow);
        http_error(s, h, &hit, 405, "Method Not Allowed");
        return;
    }
    snprintf(msg, sizeof(msg), "Cannot %s %s", h->method, h->path);
    if (hit.env) {
        http_error(s, h, &hit, 404, msg);
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
    resolve_client(s, h->peer, sizeof(h->peer), find_header(h->headers, "x-forwarded-for"));
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
    const char *up = find_header(h->headers, "upgrade");
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
    } texts[] = {{401, "Unauthorized"},      {403, "Forbidden"},
                 {404, "Not Found"},         {426, "Upgrade Required"},
                 {429, "Too Many Requests"}, {503, "Service Unavailable"}};
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
    rn_server *s = ctx ? lws_context_user(ctx) : NULL;
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
        if (!strcmp(h->method, "POST") || !strcmp(h->method, "PUT") ||
            !strcmp(h->method, "PATCH")) {
            /* The body follows: dispatch on its completion. */
            if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
                return 0;
        }
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
        if (pss && pss->http && !pss->http->replied)
            http_dispatch(s, pss->http);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->http)
            return http_writable(pss, wsi);
        return 0;
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
            if (!(env_flags & RN_ROUTE_OWN_AUTH) &&
                !authorized(s, find_header(h->headers, "authorization"),
                            rn_http_query(h, "token", qt, sizeof(qt)) == 0 ? qt : NULL)) {
                status = HTTP_STATUS_UNAUTHORIZED;
                snprintf(msg, sizeof(msg), "unauthorized");
            } else if (!origin_allowed(s, find_header(h->headers, "origin"),
                                       find_header(h->headers, "host"))) {
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
    case LWS_CALLBACK_ESTABLISHED: {
        rn_conn *c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->server = s;
        c->wsi = wsi;
        c->refs = 1;
        c->open = true;
        c->id = ++s->next_id;
        c->opened_ms = now_ms();
        lws_hdr_copy(wsi, c->path, sizeof(c->path), WSI_TOKEN_GET_URI);
        lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
        copy_headers(wsi, c->headers);
        resolve_client(s, c->peer, sizeof(c->peer), find_header(c->headers, "x-forwarded-for"));
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
            conn_closed(c);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        if (!pss || !pss->conn)
            return -1;
        return conn_receive(pss->conn, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!pss || !pss->conn)
            return 0;
        return conn_writable(pss->conn);
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->conn) {
            rn_conn *c = pss->conn;
            pss->conn = NULL;
            conn_closed(c);
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
    uint64_t now = now_ms();
#ifdef __GLIBC__
    if (now - s->trimmed_ms >= SERVER_TRIM_MS) {
        s->trimmed_ms = now;
        malloc_trim(0);
    }
#endif
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
    info.user = s;
    info.timeout_secs = 10;
    info.max_http_header_data = 8192;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        free(s);
        return -EIO;
    }
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
        lws_context_destroy(s->ctx);
        free(s);
        return -EADDRINUSE;
    }
    s->port = lws_get_vhost_listen_port(s->vhost);
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, server_sweep, SERVER_SWEEP_MS, SERVER_SWEEP_MS);
    uv_timer_init(loop, &s->close_timer);
    s->close_timer.data = s;
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

static void server_freed(uv_handle_t *h)
{
    rn_server *s = h->data;
    void (*done)(void *) = s->done;
    void *ud = s->done_ud;
    free(s);
    if (done)
        done(ud);
}

static void server_sweep_closed(uv_handle_t *h)
{
    rn_server *s = h->data;
    uv_close((uv_handle_t *)&s->close_timer, server_freed);
}

static void server_destroy(uv_timer_t *t)
{
    rn_server *s = t->data;
    /* Whatever has not closed by now is cut off by the context. */
    lws_context_destroy(s->ctx);
    s->ctx = NULL;
    uv_close((uv_handle_t *)&s->sweep, server_sweep_closed);
}

static void server_check_closed(uv_timer_t *t)
{
    rn_server *s = t->data;
    if (s->nconns == 0 || now_ms() - s->drain_started >= SERVER_CLOSE_GRACE_MS) {
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
    s->drain_started = now_ms();
    uv_timer_start(&s->close_timer, server_check_closed, 0, 50);
}

/* ------------------------------------------------- test hook: detached */

int rn_server_new_detached(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts,
                           rn_server **out)
{
    rn_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->jobs = jobs;
    s->opts = *opts;
    *out = s;
    return 0;
}

void rn_server_free_detached(rn_server *s)
{
    free(s);
}

static void set_detached_headers(char **hdrs, const char *const *headers)
{
    for (const char *const *p = headers; p && p[0] && p[1]; p += 2)
        for (size_t i = 0; i < NHEADERS; i++)
            if (!strcasecmp(known_headers[i].name, p[0]) && !hdrs[i])
                hdrs[i] = strdup(p[1]);
}

rn_conn *rn_conn_new_detached(rn_server *s, const char *path, const char *const *headers,
                              void (*tap)(void *ud, const char *data, size_t len), void *ud)
{
    void *state;
    unsigned flags;
    const rn_envelope *env = find_ws_envelope(s, path, &state, &flags);
    if (!env)
        return NULL;
    rn_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->server = s;
    c->env = env;
    c->env_state = state;
    c->refs = 1;
    c->open = true;
    c->detached = true;
    c->tap = tap;
    c->tap_ud = ud;
    c->id = ++s->next_id;
    c->opened_ms = now_ms();
    snprintf(c->path, sizeof(c->path), "%s", path);
    snprintf(c->peer, sizeof(c->peer), "127.0.0.1");
    set_detached_headers(c->headers, headers);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (env->ws_open && env->ws_open(state, c) != 0) {
        conn_closed(c);
        return NULL;
    }
    return c;
}

void rn_conn_message_detached(rn_conn *c, const char *msg, size_t len, bool binary)
{
    if (!c->open || !c->env->ws_message)
        return;
    rn_conn_ref(c);
    c->env->ws_message(c->env_state, c, msg, len, binary);
    rn_conn_unref(c);
}

void rn_conn_close_detached(rn_conn *c)
{
    conn_closed(c);
}

rn_http *rn_http_new_detached(rn_server *s, const char *method, const char *path, const char *query,
                              const char *const *headers, const char *body, size_t len,
                              void (*tap)(void *ud, int status, const char *body, size_t len),
                              void *ud)
{
    rn_http *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->server = s;
    h->refs = 1;
    h->detached = true;
    h->tap = tap;
    h->tap_ud = ud;
    snprintf(h->method, sizeof(h->method), "%s", method);
    snprintf(h->path, sizeof(h->path), "%s", path);
    snprintf(h->peer, sizeof(h->peer), "127.0.0.1");
    set_detached_headers(h->headers, headers);
    const char *up = find_header(h->headers, "upgrade");
    h->upgrade = up && !strcasecmp(up, "websocket");
    h->query = query ? strdup(query) : NULL;
    h->body = malloc(len + 1);
    if (!h->body || (query && !h->query)) {
        http_free(h);
        return NULL;
    }
    memcpy(h->body, body, len);
    h->body[len] = 0;
    h->body_len = len;
    return h;
}

int rn_http_dispatch_detached(rn_http *h, char *message, size_t size)
{
    rn_server *s = h->server;
    if (!h->upgrade) {
        http_dispatch(s, h);
        return 0;
    }
    void *state;
    unsigned flags;
    const rn_envelope *env = find_ws_envelope(s, h->path, &state, &flags);
    if (!env) {
        snprintf(message, size, "no WebSocket endpoint at %.200s", h->path);
        return 404;
    }
    return env->ws_accept ? env->ws_accept(state, h, message, size) : 0;
}

void rn_http_close_detached(rn_http *h)
{
    h->detached = false;
    if (!h->replied && h->abort_cb) {
        void (*cb)(void *) = h->abort_cb;
        h->abort_cb = NULL;
        cb(h->abort_ud);
    }
    rn_http_release(h);
}
