/* HTTP requests as server.c drives them: the record made from a socket,
 * its body, dispatch, the end of its socket, and the check of a WebSocket
 * upgrade. Envelopes use server.h's rn_http_* instead. */
#ifndef RUNNEL_SERVER_HTTP_H
#define RUNNEL_SERVER_HTTP_H

#include <stddef.h>

#include "server_priv.h"

/* A request record for the request lws holds on wsi (method, path uri,
 * client address, known headers, query); NULL when out of memory. */
rn_http *rn_srv_http_new(rn_server *s, struct lws *wsi, const char *uri);

/* Append len bytes of body; past opts.message_bytes the body is dropped
 * and the request answered 413 at dispatch. -1 when out of memory. */
int rn_srv_http_body(rn_http *h, const void *in, size_t len);

/* The session's socket is gone: the request loses it, an envelope waiting
 * to answer is told (rn_http_on_abort), the session's reference goes. */
void rn_srv_http_detach(pss_t *pss);

/* Call h's abort callback once if it has not been answered. */
void rn_srv_http_abort(rn_http *h);

/* Check a WebSocket upgrade (draining, endpoint, Host, bearer, Origin,
 * per-IP connections, the envelope's own check): 0 lets it through, 1
 * means it was refused with an HTTP answer and the socket closes. */
int rn_srv_http_upgrade_check(rn_server *s, struct lws *wsi);

#endif
