/* WebSocket connections as server.c drives them: set-up from an upgraded
 * socket, incoming messages, writing the queue, the slow-client sweep.
 * Envelopes use server.h's rn_conn_* instead. */
#ifndef RUNNEL_SERVER_CONN_H
#define RUNNEL_SERVER_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "server_priv.h"

/* A connection record for the WebSocket endpoint at path, not yet open to
 * its envelope (see rn_srv_conn_start); NULL if no envelope serves path or
 * out of memory. */
rn_conn *rn_srv_conn_new(rn_server *s, const char *path);

/* Link c into the server's open list and hand it to its envelope; on the
 * envelope's refusal c is closed and -ECONNREFUSED returned. */
int rn_srv_conn_start(rn_conn *c);

/* A socket became a WebSocket: make its connection and start it; -1 tells
 * lws to drop the socket. */
int rn_srv_conn_established(rn_server *s, struct lws *wsi, pss_t *pss);

/* A fragment of an incoming message; a whole message goes to the
 * envelope. -1 (the message is too large, out of memory) closes. */
int rn_srv_conn_receive(rn_conn *c, struct lws *wsi, const char *in, size_t len);

/* The socket can take more: write queued frames (or the close frame);
 * -1 drops the socket. */
int rn_srv_conn_writable(rn_conn *c);

/* Close connections whose client has not read for opts.idle_client_ms. */
void rn_srv_conns_sweep(rn_server *s, uint64_t now);

/* How many open connections come from client address ip. */
unsigned rn_srv_conns_from(const rn_server *s, const char *ip);

/* Drop every frame queued on c. */
void rn_srv_conn_drop_queue(rn_conn *c);

/* Free a connection record (its last reference is gone). */
void rn_srv_conn_free(rn_conn *c);

#endif
