/* What an envelope (one wire format) is: a declared value the registry
 * (envelopes.c) lists and the server, the configuration and main read.
 *
 * An envelope names its configuration section's keys (config.c parses and
 * checks them and documents them with `runneld --config-keys`), its HTTP
 * routes and WebSocket endpoints as data (the server matches them, answers
 * 404/405 in the owning envelope's own shape through http_error, and
 * refuses overlapping routes at start), and the callbacks that serve them.
 * It reaches the core only through the host (host.h). */
#ifndef RUNNEL_ENVELOPE_H
#define RUNNEL_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf_keys.h"
#include "host.h"
#include "server.h"

/* Route flags. */
enum {
    /* No bearer token is asked for (health, the playground page). */
    RN_ROUTE_PUBLIC = 1 << 0,
    /* The envelope checks credentials itself. */
    RN_ROUTE_OWN_AUTH = 1 << 1,
    /* Matched case-insensitively. */
    RN_ROUTE_NOCASE = 1 << 2,
    /* Matches the path and everything below it ("/v1" takes "/v1/x"). */
    RN_ROUTE_PREFIX = 1 << 3,
    /* One trailing slash is allowed ("/v1/exec/"). */
    RN_ROUTE_SLASH = 1 << 4,
    /* The path is the envelope's configured path (path_of), not path. */
    RN_ROUTE_CONFIGURED = 1 << 5,
};

/* One HTTP route. The path is literal except "*", which stands for one
 * path segment. An exact match beats a prefix, a longer prefix a shorter.
 * A route without handle claims its paths for the envelope's 404. */
typedef struct {
    const char *method; /* "GET", "POST", ...; NULL = any */
    const char *path;
    unsigned flags;
    void (*handle)(void *state, rn_http *h);
} rn_route;

/* One WebSocket endpoint: a path as in rn_route (method and handle unused). */
typedef rn_route rn_ws_endpoint;

typedef struct rn_envelope {
    const char *name; /* also the config section and the metrics label */
    /* The configuration section: its keys, and the size of the struct
     * they are parsed into (given to init). nkeys 0 = no section. */
    const rn_conf_key *keys;
    size_t nkeys;
    size_t conf_size;
    /* Start (and nothing else): conf is the parsed section; *state is
     * handed back to every callback. Non-zero refuses to start, with a
     * one-line reason in err. May be NULL. */
    int (*init)(rn_host *host, const void *conf, void **state, char *err, size_t size);
    /* Free what init made. May be NULL. */
    void (*fini)(void *state);
    /* A configured path (RN_ROUTE_CONFIGURED routes); may be NULL. */
    const char *(*path_of)(void *state);
    /* Routes and endpoints, each list ended by an entry with a NULL path
     * and no flags. */
    const rn_route *routes;
    const rn_ws_endpoint *ws;
    /* An error in the envelope's own shape (404, 405, 413, 426...). May
     * be NULL: the server's plain JSON error is used. */
    void (*http_error)(void *state, rn_http *h, int status, const char *message);
    /* Before an upgrade (may be NULL): 0 accepts, an HTTP status refuses
     * with message in the body. Only request accessors may be used. */
    int (*ws_accept)(void *state, rn_http *h, char *message, size_t size);
    /* A connection was opened (state via rn_conn_set_data); non-zero refuses. */
    int (*ws_open)(void *state, rn_conn *c);
    /* One whole message (fragments gathered, size-checked). */
    void (*ws_message)(void *state, rn_conn *c, const char *msg, size_t len, bool binary);
    /* The connection is gone: its tracked jobs are being killed. */
    void (*ws_close)(void *state, rn_conn *c);
} rn_envelope;

/* The registry: every envelope, in the order they start (envelopes.c). */
extern const rn_envelope *const rn_envelopes[];

/* Number of envelopes in the registry. */
size_t rn_envelope_count(void);

/* The envelope named name, or NULL. */
const rn_envelope *rn_envelope_find(const char *name);

#endif
