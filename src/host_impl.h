/* The host's other side: how main builds the host envelopes see (host.h)
 * from the pieces it owns, and refreshes it on a reload. Not for envelopes. */
#ifndef RUNNEL_HOST_IMPL_H
#define RUNNEL_HOST_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "host.h"

struct rn_box_context;

typedef struct {
    uv_loop_t *loop;
    struct rn_box_context *box; /* may be NULL (tests, fuzzers) */
    rn_jobs *jobs;
    const rn_specs *specs;
    rn_server *server; /* set once listening */
    uint64_t started_ms;
    unsigned per_connection;
    uint64_t message_bytes;
    const char *listen_host;
    bool tls;
    bool playground;
    const char *specs_dir;
    struct rn_store *store; /* may be NULL */
} rn_host_parts;

/* Make a host over parts (copied; the pointers must outlive it). */
int rn_host_new(const rn_host_parts *parts, rn_host **out);

/* Replace the parts after a reload. */
void rn_host_update(rn_host *host, const rn_host_parts *parts);

/* The server, once it listens. */
void rn_host_set_server(rn_host *host, rn_server *server);

/* Drain (a cluster node's SIGTERM): report draining (/readyz 503) and
 * refuse new jobs with -ESHUTDOWN while the running ones finish. */
void rn_host_set_draining(rn_host *host, bool on);

/* Free the host. */
void rn_host_free(rn_host *host);

#endif
