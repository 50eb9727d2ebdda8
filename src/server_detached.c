/* Test hook: a server, connections and requests without sockets, for
 * fuzzing the envelopes in-process (see server.h). Built into the fuzz
 * targets only, not into runneld. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jbuf.h"
#include "server_conn.h"
#include "server_http.h"
#include "server_priv.h"

int rn_server_new_detached(uv_loop_t *loop, rn_jobs *jobs, const rn_server_options *opts,
                           rn_server **out)
{
    rn_server *s = rn_srv_alloc(loop, jobs, opts);
    if (!s)
        return -ENOMEM;
    *out = s;
    return 0;
}

void rn_server_free_detached(rn_server *s)
{
    free(s);
}

rn_conn *rn_conn_new_detached(rn_server *s, const char *path, const char *const *headers,
                              void (*tap)(void *ud, const char *data, size_t len), void *ud)
{
    rn_conn *c = rn_srv_conn_new(s, path);
    if (!c)
        return NULL;
    c->detached = true;
    c->tap = tap;
    c->tap_ud = ud;
    snprintf(c->peer, sizeof(c->peer), "127.0.0.1");
    rn_srv_set_headers(c->headers, headers);
    if (rn_srv_conn_start(c) < 0)
        return NULL;
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
    rn_srv_conn_closed(c);
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
    rn_srv_set_headers(h->headers, headers);
    const char *up = rn_srv_find_header(h->headers, "upgrade");
    h->upgrade = up && !strcasecmp(up, "websocket");
    h->query = query ? strdup(query) : NULL;
    h->body = malloc(len + 1);
    if (!h->body || (query && !h->query)) {
        rn_srv_http_free(h);
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
        rn_srv_http_dispatch(s, h);
        return 0;
    }
    void *state;
    unsigned flags;
    const rn_envelope *env = rn_srv_ws_envelope(s, h->path, &state, &flags);
    if (!env) {
        snprintf(message, size, "no WebSocket endpoint at %.200s", h->path);
        return 404;
    }
    return env->ws_accept ? env->ws_accept(state, h, message, size) : 0;
}

void rn_http_close_detached(rn_http *h)
{
    h->detached = false;
    rn_srv_http_abort(h);
    rn_http_release(h);
}
