/* Who may use the front door: bearer tokens (auth.tokens), the Host a
 * request names (security.hosts), the Origin of a browser's page
 * (security.origins, also the CORS list), and the client address behind a
 * trusted proxy (X-Forwarded-For). Pure functions of the configured lists
 * and the request's header values; no sockets. */
#ifndef RUNNEL_ACCESS_H
#define RUNNEL_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* Replace peer (the socket's address) with the client's when peer is a
 * trusted proxy: the right-most X-Forwarded-For entry that is not one. */
void rn_access_resolve_client(const rn_server_options *o, char *peer, size_t size, const char *xff);

/* With auth.tokens or auth.users set, whether "Authorization: Bearer T"
 * (or "Basic T") or the ?token= value names one of them (compared in
 * constant time); true when none is configured. */
bool rn_access_authorized(const rn_server_options *o, const char *authz, const char *query_token);

/* The same check, also naming the tenant: the user whose auth.users token
 * was presented (admin when listed in auth.admins), else "anonymous" (no
 * authentication, or a plain auth.tokens token). */
bool rn_access_identify(const rn_server_options *o, const char *authz, const char *query_token,
                        char *user, size_t size, bool *admin);

/* Whether item is one of the newline-separated entries of list. */
bool rn_access_list_has(const char *list, const char *item);

/* Whether a Host header names this server: a loopback name, the listen
 * address, or security.hosts; NULL (no Host) is allowed. */
bool rn_access_host_allowed(const rn_server_options *o, const char *listen_host, const char *host);

/* Whether origin is in security.origins (or the list has "*"). */
bool rn_access_origin_listed(const rn_server_options *o, const char *origin);

/* Whether a request with this Origin may be served: none, listed, or the
 * server's own (its host equals the already-checked Host). */
bool rn_access_origin_allowed(const rn_server_options *o, const char *origin, const char *host);

/* Whether a CORS preflight's requested headers are a plain list of names
 * (safe to echo back). */
bool rn_access_plain_header_list(const char *v);

#endif
