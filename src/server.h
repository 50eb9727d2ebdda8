/* The server: libwebsockets on the libuv loop, HTTP and WebSocket on one
 * port, and the small interface every envelope (wire format) implements.
 *
 * A WebSocket connection is an rn_conn: envelopes queue text frames on it
 * (byte-bounded, with backpressure onto the jobs it tracks) and are told of
 * each complete message. An HTTP request is an rn_http: the envelope reads
 * method, path, query, headers and body and replies now or later.
 */
#ifndef RUNNEL_SERVER_H
#define RUNNEL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <cjson/cJSON.h>

#include "jobs.h"

typedef struct rn_server rn_server;
typedef struct rn_conn rn_conn;
typedef struct rn_http rn_http;

struct rn_envelope;

typedef struct {
    const char *listen;          /* "host:port" */
    uint64_t message_bytes;      /* largest WebSocket message or HTTP body */
    uint64_t queue_bytes;        /* per-connection write queue high-water mark */
    uint64_t idle_client_ms;     /* a client that reads nothing this long is dropped */
    uint64_t request_timeout_ms; /* an HTTP request must arrive whole in this (0 = 10 s) */
    const char *auth_tokens;     /* newline-separated bearer tokens; "" = no auth */
    const char *auth_users;      /* newline-separated "name:token" tenants */
    const char *auth_admins;     /* newline-separated admin user names */
    const char *origins;         /* newline-separated allowed Origins ("*" = any) */
    const char *hosts;           /* newline-separated extra Host names ("*" = any) */
    const char *trusted_proxies; /* newline-separated peers whose X-Forwarded-For counts */
    unsigned connections_per_ip; /* 0 = unlimited */
    const char *tls_cert;        /* PEM paths; both set = HTTPS and WSS */
    const char *tls_key;
    /* The registry (envelope.h), NULL-terminated, and each envelope's
     * state from its init (same order; read at dispatch, so it may be
     * filled in after rn_server_new and before the loop runs). */
    const struct rn_envelope *const *envelopes;
    void *const *states;
} rn_server_options;

/* Start listening on the loop. The jobs manager must outlive the server. */
int rn_server_new(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts, rn_server **out);

/* The port actually bound (useful with port 0). */
int rn_server_port(const rn_server *s);

/* Stop accepting, answer 503 on /readyz, close every WebSocket with 1001
 * and destroy the context; done(ud) runs when everything is closed. */
void rn_server_shutdown(rn_server *s, void (*done)(void *ud), void *ud);

/* Whether the server is draining. */
bool rn_server_draining(const rn_server *s);

/* Options given at start. */
const rn_server_options *rn_server_options_of(const rn_server *s);

/* Whether token is one of auth.tokens (constant-time compare); true when
 * none are configured. */
bool rn_server_token_valid(const rn_server *s, const char *token);

/* Connections open now, per envelope name (NULL = all). */
unsigned rn_server_connections(const rn_server *s, const char *envelope);

/* --- WebSocket connections --- */

/* Queue one text frame (copied). -ENOTCONN once closed. */
int rn_conn_send(rn_conn *c, const char *data, size_t len);

/* Close with a WebSocket status code and a short reason. */
void rn_conn_close(rn_conn *c, int status, const char *reason);

/* Whether the peer is still there. */
bool rn_conn_open(const rn_conn *c);

/* Envelope state; free_fn (may be NULL) runs when the conn is freed. */
void rn_conn_set_data(rn_conn *c, void *data, void (*free_fn)(void *));
void *rn_conn_data(const rn_conn *c);

/* Keep the conn's memory alive past its close (e.g. for a job's callbacks). */
void rn_conn_ref(rn_conn *c);
void rn_conn_unref(rn_conn *c);

/* Track a job: it is paused while the write queue is over the high-water
 * mark, and killed when the connection closes. */
void rn_conn_track(rn_conn *c, rn_job *job);

/* Stop tracking (call from the job's on_end). */
void rn_conn_untrack(rn_conn *c, rn_job *job);

/* Jobs tracked now (for the per-connection limit). */
unsigned rn_conn_job_count(const rn_conn *c);

/* Find a tracked job by run id. */
rn_job *rn_conn_find_job(const rn_conn *c, const char *runid);

/* The request path the socket was opened on. */
const char *rn_conn_path(const rn_conn *c);

/* The peer address, e.g. "127.0.0.1". */
const char *rn_conn_peer(const rn_conn *c);

/* A request header of the upgrade ("authorization"), or NULL. */
const char *rn_conn_header(const rn_conn *c, const char *name);

/* Connection id for logs. */
unsigned long rn_conn_id(const rn_conn *c);

/* --- HTTP requests --- */

/* "GET", "POST", "OPTIONS", ... */
const char *rn_http_method(const rn_http *h);

/* The path without the query. */
const char *rn_http_path(const rn_http *h);

/* A query argument's value (URL-decoded) into buf; -ENOENT if absent. */
int rn_http_query(const rn_http *h, const char *name, char *buf, size_t size);

/* A request header ("content-type"), or NULL. */
const char *rn_http_header(const rn_http *h, const char *name);

/* Whether the request carries a valid server-wide token (auth.tokens), or
 * none is configured. */
bool rn_http_authorized(const rn_http *h);

/* The tenant of a request or connection: the user its token names
 * (auth.users), else "anonymous"; *admin (may be NULL) when the user is in
 * auth.admins. */
const char *rn_http_user(const rn_http *h, bool *admin);
const char *rn_conn_user(const rn_conn *c, bool *admin);

/* The request body (NUL-terminated), possibly empty. */
const char *rn_http_body(const rn_http *h, size_t *len);

/* Whether this was a WebSocket upgrade request (plain GET otherwise). */
bool rn_http_is_upgrade(const rn_http *h);

/* The peer address. */
const char *rn_http_peer(const rn_http *h);

/* Add a response header before replying (copied). */
void rn_http_add_header(rn_http *h, const char *name, const char *value);

/* Send the whole response. Safe after the client left (then a no-op). */
void rn_http_reply(rn_http *h, int status, const char *content_type, const char *body, size_t len);

/* Send the JSON object {key: text} (text escaped) as the whole response. */
void rn_http_reply_field(rn_http *h, int status, const char *content_type, const char *key,
                         const char *text);

/* Take a reference to reply later (async); release with rn_http_release. */
void rn_http_hold(rn_http *h);
void rn_http_release(rn_http *h);

/* Run cb(ud) if the client goes away before the reply (one per request). */
void rn_http_on_abort(rn_http *h, void (*cb)(void *ud), void *ud);

/* --- Test hook: a server, connections and requests without sockets ---
 *
 * For fuzzing the envelopes' decoders in-process: a detached server has no
 * lws context and never listens; a detached connection runs the envelope's
 * ws_open and hands every frame sent on it to tap (NULL: discarded); a
 * detached request hands its reply to tap. Feed messages with the
 * envelope's ws_message / http. Defined in server_detached.c, which only
 * the fuzz targets build; runneld has none of it. */

/* A server that only carries jobs and options (free with the next call). */
int rn_server_new_detached(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts,
                           rn_server **out);
void rn_server_free_detached(rn_server *s);

/* Open a connection on path (the envelope whose endpoint it is); headers
 * are name, value pairs, NULL-ended (may be NULL). NULL when no envelope
 * has the path or its ws_open refused it. */
rn_conn *rn_conn_new_detached(rn_server *s, const char *path, const char *const *headers,
                              void (*tap)(void *ud, const char *data, size_t len), void *ud);

/* Deliver one whole message as the server does. */
void rn_conn_message_detached(rn_conn *c, const char *msg, size_t len, bool binary);

/* The peer went away: its runs are killed, ws_close runs, the conn is let go. */
void rn_conn_close_detached(rn_conn *c);

/* A complete request (body copied; query raw "a=b&c=d", may be NULL). */
rn_http *rn_http_new_detached(rn_server *s, const char *method, const char *path, const char *query,
                              const char *const *headers, const char *body, size_t len,
                              void (*tap)(void *ud, int status, const char *body, size_t len),
                              void *ud);

/* Route and serve the request as the server does (auth, 404/405 and the
 * envelope's handler); an upgrade request only runs the endpoint's
 * ws_accept and returns its status (0 = accepted) with the message. */
int rn_http_dispatch_detached(rn_http *h, char *message, size_t size);

/* The client went away: the abort callback runs if no reply was given. */
void rn_http_close_detached(rn_http *h);

#endif
