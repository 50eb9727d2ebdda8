/* Route matching over the envelope registry: which envelope's route (or
 * WebSocket endpoint) a request's path is, and whether two envelopes claim
 * the same path (refused at start). */
#ifndef RUNNEL_ROUTES_H
#define RUNNEL_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "envelope.h"

typedef struct {
    const rn_envelope *env; /* NULL: no envelope claims the path */
    void *state;
    const rn_route *route; /* NULL with env set: claimed, no route fits */
} rn_route_hit;

/* The HTTP route for method and path. 0 with hit->route set; -ENOENT when
 * nothing fits (hit->env is the envelope claiming the path, if any, for
 * its 404); -EPERM when routes fit the path but none the method (allow
 * then lists theirs, "GET, POST"). */
int rn_routes_http(const rn_envelope *const *envs, void *const *states, const char *method,
                   const char *path, rn_route_hit *hit, char *allow, size_t allow_size);

/* The envelope whose WebSocket endpoint path is; -ENOENT if none. */
int rn_routes_ws(const rn_envelope *const *envs, void *const *states, const char *path,
                 rn_route_hit *hit);

/* Whether a route with the same method claims the same paths in two
 * envelopes (or twice in one); -EEXIST with both named in err. */
int rn_routes_check(const rn_envelope *const *envs, void *const *states, char *err, size_t size);

/* Whether a route claims the path (auth: RN_ROUTE_PUBLIC, RN_ROUTE_OWN_AUTH). */
unsigned rn_routes_flags(const rn_envelope *const *envs, void *const *states, const char *method,
                         const char *path);

#endif
