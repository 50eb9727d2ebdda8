/* The host: the one door from an envelope into the core.
 *
 * An envelope submits jobs through it (the per-connection limit, the
 * client's address for per-IP run rates, tracking on the connection and the
 * refusal's wording are applied here, once, for every envelope) and reads
 * what it reports about the server (version, limits in force after a
 * reload, sandbox protections, languages). Everything else an envelope
 * needs is its own connection or request (server.h) and the job handle
 * (jobs.h). */
#ifndef RUNNEL_HOST_H
#define RUNNEL_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "jobs.h"
#include "server.h"
#include "specs.h"

typedef struct rn_host rn_host;
struct rn_store;

/* Where a job comes from. Exactly one of conn, http and client is set. */
typedef struct {
    /* A WebSocket connection: its client address counts for rates, and the
     * per-connection limit applies. */
    rn_conn *conn;
    /* An HTTP request: its client address counts for rates. */
    rn_http *http;
    /* A job caused by an earlier request (a queued re-run, a retry): the
     * client address saved from that request (rn_host_client_of). */
    const char *client;
    /* conn only: track the job on the connection (paused while its write
     * queue is full, killed when it closes). The envelope untracks it in
     * on_end with rn_conn_untrack. */
    bool track;
    /* conn only: runs the envelope counts as in flight for this client
     * when it keeps them past the connection; -1 = the connection's
     * tracked jobs. */
    int inflight;
} rn_host_origin;

/* Why a submission was refused: the errno, an HTTP-like status (400, 413,
 * 429, 500, 503) and a sentence for the client. */
typedef struct {
    int err;
    int status;
    char message[320];
} rn_host_refusal;

/* What the host reports about the server. Pointers stay valid until the
 * next reload. */
typedef struct {
    const char *version;         /* runnel's own */
    const char *sandbox_version; /* the sandbox library's */
    const char *protections[16]; /* active protections, by the sandbox's names */
    size_t nprotections;
    unsigned warm; /* sandboxes built ahead and waiting */
    unsigned running, queued;
    const rn_jobs_limits *limits; /* in force now */
    unsigned per_connection;
    uint64_t message_bytes;
    uint64_t uptime_ms;
    const char *listen_host; /* as configured, without the port */
    int port;                /* bound */
    bool tls;
    bool draining;
    bool playground;       /* the page at / is served */
    const char *specs_dir; /* where the specs were read from */
    bool versions_pending; /* toolchain versions are still being detected */
} rn_host_info;

/* Submit req on behalf of from. 0 and *out (valid until on_end returns)
 * on success; a negative errno and why filled in on refusal. */
int rn_host_submit(rn_host *host, const rn_host_origin *from, const rn_job_request *req,
                   const rn_job_callbacks *cb, void *ud, rn_job **out, rn_host_refusal *why);

/* The client address of a connection or request (X-Forwarded-For from a
 * trusted proxy applied), to keep for jobs it causes later. */
const char *rn_host_client_of(const rn_conn *conn, const rn_http *http);

/* Fill info with the server's figures now. */
void rn_host_info_get(const rn_host *host, rn_host_info *info);

/* The language specs in force now (swapped by a reload). */
const rn_specs *rn_host_specs(const rn_host *host);

/* The event loop, for the envelope's own timers. */
uv_loop_t *rn_host_loop(const rn_host *host);

/* The state store (store.h), or NULL when the server keeps no state. */
struct rn_store *rn_host_store(const rn_host *host);

/* Whether the server asks clients for a token (auth.tokens is set), for an
 * envelope that checks credentials itself (RN_ROUTE_OWN_AUTH). */
bool rn_host_tokens_required(const rn_host *host);

/* Whether token is one of the server's tokens (true when none are set). */
bool rn_host_token_valid(const rn_host *host, const char *token);

/* The auth.users name token stands for ("anonymous" when it names none or
 * the server has no users: the one tenant). */
void rn_host_token_user(const rn_host *host, const char *token, char *user, size_t size);

/* WebSocket connections open now on an envelope (NULL = all). */
unsigned rn_host_connections(const rn_host *host, const char *envelope);

#endif
