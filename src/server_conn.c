/* WebSocket connections: set-up, the outgoing queue and its backpressure
 * (pausing the connection's jobs, dropping a client that does not read),
 * gathering incoming messages, tracked jobs and the close. The contract is
 * server_conn.h (for server.c) and server.h (for envelopes). */
#include "server_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "access.h"
#include "log.h"
#include "metrics.h"

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

unsigned rn_srv_conns_from(const rn_server *s, const char *ip)
{
    unsigned n = 0;
    for (const rn_conn *c = s->conns; c; c = c->next)
        n += !strcmp(c->peer, ip);
    return n;
}

/* ---------------------------------------------------------------- conn */

void rn_srv_conn_drop_queue(rn_conn *c)
{
    for (frame *f = c->qhead, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    c->qhead = c->qtail = NULL;
    c->qbytes = 0;
}

void rn_srv_conn_free(rn_conn *c)
{
    if (c->data_free)
        c->data_free(c->data);
    rn_srv_conn_drop_queue(c);
    rn_srv_free_headers(c->headers);
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
        rn_srv_conn_free(c);
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
        rn_srv_conn_drop_queue(c);
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

int rn_srv_conn_writable(rn_conn *c)
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

int rn_srv_conn_receive(rn_conn *c, struct lws *wsi, const char *in, size_t len)
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

const char *rn_conn_user(const rn_conn *c, bool *admin)
{
    if (admin)
        *admin = c->admin;
    return c->user[0] ? c->user : "anonymous";
}

rn_conn *rn_srv_conn_new(rn_server *s, const char *path)
{
    void *state;
    unsigned flags;
    const rn_envelope *env = rn_srv_ws_envelope(s, path, &state, &flags);
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
    c->id = ++s->next_id;
    c->opened_ms = rn_now_ms();
    snprintf(c->path, sizeof(c->path), "%s", path);
    return c;
}

int rn_srv_conn_start(rn_conn *c)
{
    rn_server *s = c->server;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (c->env->ws_open && c->env->ws_open(c->env_state, c) != 0) {
        rn_srv_conn_closed(c);
        return -ECONNREFUSED;
    }
    return 0;
}

int rn_srv_conn_established(rn_server *s, struct lws *wsi, pss_t *pss)
{
    char path[SERVER_MAX_PATH];
    if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
        path[0] = 0;
    rn_conn *c = rn_srv_conn_new(s, path);
    if (!c)
        return -1;
    c->wsi = wsi;
    lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
    rn_srv_copy_headers(wsi, c->headers);
    rn_access_resolve_client(&s->opts, c->peer, sizeof(c->peer),
                             rn_srv_find_header(c->headers, "x-forwarded-for"));
    char qt[512];
    const char *q = lws_get_urlarg_by_name(wsi, "token=", qt, (int)sizeof(qt)) ? qt : NULL;
    rn_access_identify(&s->opts, rn_srv_find_header(c->headers, "authorization"), q, c->user,
                       sizeof(c->user), &c->admin);
    pss->conn = c;
    char lbl[64];
    snprintf(lbl, sizeof(lbl), "envelope=\"%s\"", c->env->name);
    rn_metrics_add("runnel_connections_total", lbl, 1);
    rn_log(RN_LOG_INFO, "conn.open", "conn=%lu envelope=%s peer=%s path=%s", c->id, c->env->name,
           c->peer, c->path);
    if (rn_srv_conn_start(c) < 0) {
        pss->conn = NULL;
        return -1;
    }
    return 0;
}

void rn_srv_conns_sweep(rn_server *s, uint64_t now)
{
    for (rn_conn *c = s->conns; c; c = c->next) {
        if (c->over_since && now - c->over_since > s->opts.idle_client_ms) {
            rn_log(RN_LOG_WARN, "conn.slow_client", "conn=%lu queued=%zu", c->id, c->qbytes);
            /* Its queue will never drain: drop it instead of flushing. */
            rn_srv_conn_drop_queue(c);
            c->over_since = 0;
            rn_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "client does not read");
            /* A close frame would wait for room the client never makes:
             * the socket is torn down now. */
            if (c->wsi)
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
}
