/* Unmasked client frames on server WebSockets: RFC 6455 5.1 says a server
 * MUST close the connection when a client frame is not masked, with 1002.
 * libwebsockets 4.1 neither checks the mask bit nor tells its user, so
 * this module watches the frame headers of upgraded connections itself, as
 * lws reads them: it defines recv() for the process (lws reads plain
 * sockets with recv), passes every call to the kernel, and parses the
 * frame headers only of the fds registered here.
 *
 * When a frame is unmasked, recv returns the bytes before it (or EAGAIN
 * when there are none), so lws never sees that frame; the connection is
 * marked and a writable callback asked for, in which the server sends a
 * close frame with 1002 and then drops the socket. Later bytes from that
 * client are read and thrown away.
 *
 * Parsing starts with the first byte after the upgrade request's head: a
 * request head is read up to its blank line and no further when it has an
 * Upgrade header, so frames a client sends early (before the 101, against
 * RFC 6455 4.1) stay in the socket until the watch starts.
 *
 * Limits: fds at or over RN_WS_MASK_FDS are not watched; TLS connections
 * are not watched (recv sees ciphertext).
 *
 * Everything runs on the event loop's thread, but for recv() itself, which
 * any thread may call: other threads' fds are never registered. */
#ifndef RUNNEL_WS_MASK_H
#define RUNNEL_WS_MASK_H

#include <stdbool.h>

struct lws;

/* Highest fd + 1 that is watched (a fixed table, no allocation). */
#define RN_WS_MASK_FDS 65536

/* A connection just accepted on fd (plain, not TLS): its request head is
 * read as said above. */
void rn_ws_mask_head(int fd);

/* Start watching wsi's socket (a server WebSocket just upgraded); nothing
 * for a TLS connection or an fd out of the table. */
void rn_ws_mask_watch(struct lws *wsi);

/* Stop watching wsi's socket (closing or destroyed); harmless when it was
 * not watched. */
void rn_ws_mask_unwatch(struct lws *wsi);

/* In wsi's writable callback, before anything else: true when the client
 * sent an unmasked frame; the close frame (1002) is then written, the
 * connection dropped right after, and the callback only returns 0. */
bool rn_ws_mask_writable(struct lws *wsi);

/* How many connections were closed for an unmasked frame. */
unsigned long rn_ws_mask_refused(void);

#endif
