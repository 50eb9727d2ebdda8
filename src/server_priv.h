/* What server.c, server_conn.c, server_http.c and the socket-less test
 * hooks (server_detached.c) share:
 * the connection, request and server records. Not for envelopes. */
#ifndef RUNNEL_SERVER_PRIV_H
#define RUNNEL_SERVER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "envelope.h"
#include "server.h"

#define SERVER_MAX_PATH    1024
#define SERVER_MAX_HEADER  4096
#define RN_SERVER_NHEADERS 17 /* server.c's known_headers */

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
    char user[128]; /* the tenant its token names (auth.users), else "anonymous" */
    bool admin;
    char *headers[RN_SERVER_NHEADERS];
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
    char user[128]; /* the tenant its token names (auth.users), else "anonymous" */
    bool admin;
    char *headers[RN_SERVER_NHEADERS];
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
    /* the answer as written: status line, headers and body */
    unsigned char *out;
    size_t out_len, out_off;
    uint64_t out_progress_ms; /* when the client last took some of it */
    bool partial;             /* the socket once took only part of a write */
    struct rn_http *wnext;    /* server's writers list */
    void *pss;                /* the session that holds it (pss_t) */
    void (*abort_cb)(void *);
    void *abort_ud;
    /* test hook (rn_http_new_detached): no socket, the reply goes to tap */
    bool detached;
    void (*tap)(void *ud, int status, const char *body, size_t len);
    void *tap_ud;
};

/* An HTTP connection, tracked from accept until it closes. Its next request
 * must arrive whole (headers and body) by deadline_ms; while a request is
 * being served the socket is not read, so a pipelined request waits its
 * turn instead of reaching lws in the middle of a transaction. */
typedef struct hsock {
    struct hsock *next, *prev;
    struct lws *wsi;
    uint64_t deadline_ms; /* 0: none (a request is being served, or a WebSocket) */
    bool busy;            /* a request was dispatched; its answer is not all written */
} hsock;

struct rn_server {
    uv_loop_t *loop;
    rn_jobs *jobs;
    rn_server_options opts;
    bool tls; /* opts name a certificate and a key */
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];
    uv_timer_t sweep;
    uint64_t trimmed_ms; /* when memory was last given back (glibc) */
    uv_timer_t close_timer;
    uv_timer_t write_timer;
    rn_http *writers; /* answers being written (see http_write_step) */
    rn_conn *conns;
    unsigned nconns;
    hsock *socks;
    struct srv_link *link;
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

/* The lws context's user pointer (see rn_server_new). */
typedef struct srv_link {
    rn_server *s;            /* NULL once the server is being destroyed */
    struct lws_context *ctx; /* lws sets it NULL when it is all torn down */
    struct srv_link *next;   /* kept links (see link_release) */
} srv_link;

/* A server record with loop, jobs and a copy of opts, nothing started;
 * NULL when out of memory. */
rn_server *rn_srv_alloc(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts);

/* A copied request header by lower-case name, or NULL. */
const char *rn_srv_find_header(char *const *hdrs, const char *name);

/* Copy the known request headers lws holds on wsi into out (NULL where
 * absent or longer than SERVER_MAX_HEADER). */
void rn_srv_copy_headers(struct lws *wsi, char **out);

/* Free copied headers and set them NULL. */
void rn_srv_free_headers(char **hdrs);

/* An HTTP answer is all written and its connection closing: no request
 * deadline, not busy. */
void rn_srv_sock_closing(rn_server *s, struct lws *wsi);

/* Fill hdrs from name, value pairs (NULL-ended) for the known headers. */
void rn_srv_set_headers(char **hdrs, const char *const *pairs);

/* The envelope whose WebSocket endpoint path is, its state and the
 * endpoint's flags; NULL if none. */
const rn_envelope *rn_srv_ws_envelope(const rn_server *s, const char *path, void **state,
                                      unsigned *flags);

/* Serve an HTTP request as the server does (access, auth, routing). */
void rn_srv_http_dispatch(rn_server *s, rn_http *h);

/* The connection is gone: unlink it, kill its runs, tell its envelope. */
void rn_srv_conn_closed(rn_conn *c);

/* Free a request record (its last reference is gone). */
void rn_srv_http_free(rn_http *h);

#endif
