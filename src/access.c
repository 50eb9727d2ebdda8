#include "access.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Whether a list (newline-separated) has item. */
static bool list_has(const char *list, const char *item, size_t ilen)
{
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == ilen && !memcmp(p, item, ilen))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* The client's address: the peer, or, when the peer is a trusted proxy,
 * the right-most X-Forwarded-For entry that is not a trusted proxy. */
void rn_access_resolve_client(const rn_server_options *o, char *peer, size_t size, const char *xff)
{
    const char *tp = o->trusted_proxies;
    if (!xff || !tp || !*tp || !list_has(tp, peer, strlen(peer)))
        return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a && (size_t)(b - a) < size) {
            if (!list_has(tp, a, (size_t)(b - a)) || start == xff) {
                memcpy(peer, a, (size_t)(b - a));
                peer[b - a] = 0;
                return;
            }
        }
        end = start > xff ? start - 1 : xff;
    }
}

/* The token a request presents: "Authorization: Bearer T" (or ranna-style
 * "Basic T"), else ?token=T (browsers' WebSockets); NULL if none. */
static const char *presented_token(const char *authz, const char *query_token)
{
    const char *tok = NULL;
    if (authz) {
        if (!strncasecmp(authz, "bearer ", 7))
            tok = authz + 7;
        else if (!strncasecmp(authz, "basic ", 6))
            tok = authz + 6;
    }
    if (!tok)
        tok = query_token;
    while (tok && *tok == ' ')
        tok++;
    return tok;
}

bool rn_access_identify(const rn_server_options *o, const char *authz, const char *query_token,
                        char *user, size_t size, bool *admin)
{
    const char *tokens = o->auth_tokens ? o->auth_tokens : "";
    const char *users = o->auth_users ? o->auth_users : "";
    snprintf(user, size, "anonymous");
    *admin = false;
    if (!*tokens && !*users)
        return true; /* no authentication: one tenant, anonymous */
    const char *tok = presented_token(authz, query_token);
    if (!tok)
        return false;
    size_t tl = strlen(tok);
    bool ok = false;
    /* Every entry is compared, whichever matches, so timing says nothing. */
    for (const char *p = tokens; *p;) {
        const char *nl = strchrnul(p, '\n');
        ok |= rn_secret_equal(p, (size_t)(nl - p), tok, tl);
        p = *nl ? nl + 1 : nl;
    }
    const char *named = NULL;
    size_t named_len = 0;
    for (const char *p = users; *p;) {
        const char *nl = strchrnul(p, '\n');
        const char *colon = memchr(p, ':', (size_t)(nl - p));
        if (colon && rn_secret_equal(colon + 1, (size_t)(nl - colon - 1), tok, tl)) {
            named = p;
            named_len = (size_t)(colon - p);
        }
        p = *nl ? nl + 1 : nl;
    }
    if (named) {
        snprintf(user, size, "%.*s", (int)named_len, named);
        *admin = rn_access_list_has(o->auth_admins, user);
        return true;
    }
    return ok;
}

bool rn_access_authorized(const rn_server_options *o, const char *authz, const char *query_token)
{
    char user[128];
    bool admin;
    return rn_access_identify(o, authz, query_token, user, sizeof(user), &admin);
}

bool rn_access_list_has(const char *list, const char *item)
{
    size_t il = strlen(item);
    for (const char *p = list ? list : ""; *p;) {
        const char *nl = strchrnul(p, '\n');
        if ((size_t)(nl - p) == il && !memcmp(p, item, il))
            return true;
        p = *nl ? nl + 1 : nl;
    }
    return false;
}

/* Whether list (newline-separated) has item, ignoring case. */
static bool list_has_nocase(const char *list, const char *item, size_t ilen)
{
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == ilen && !strncasecmp(p, item, ilen))
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* Whether name is an IPv4 or bracketed IPv6 literal. */
static bool is_ip_literal(const char *name, size_t len)
{
    if (len >= 2 && name[0] == '[' && name[len - 1] == ']')
        return true;
    if (!len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.'))
            return false;
    return true;
}

/* A Host header must name this server: a loopback name, the listen
 * address, or one of security.hosts ("*" = any). With a wildcard listen
 * address any IP literal is the server's own: a DNS-rebinding page always
 * comes with a name. No Host at all is not a browser. */
bool rn_access_host_allowed(const rn_server_options *o, const char *listen_host, const char *host)
{
    if (!host)
        return true;
    const char *list = o->hosts;
    size_t full = strlen(host), len = full;
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        len = rb ? (size_t)(rb - host) + 1 : full;
    } else {
        const char *colon = strchr(host, ':');
        if (colon)
            len = (size_t)(colon - host);
    }
    static const char *const loopback[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
        if (len == strlen(loopback[i]) && !strncasecmp(host, loopback[i], len))
            return true;
    if (list && (list_has(list, "*", 1) || list_has_nocase(list, host, len) ||
                 list_has_nocase(list, host, full)))
        return true;
    const char *lh = listen_host ? listen_host : "";
    if (!lh[0] || !strcmp(lh, "0.0.0.0") || !strcmp(lh, "::"))
        return is_ip_literal(host, len);
    if (host[0] == '[')
        return len == strlen(lh) + 2 && !strncasecmp(host + 1, lh, len - 2);
    return len == strlen(lh) && !strncasecmp(host, lh, len);
}

/* Whether origin is listed in security.origins (or the list has "*"). */
bool rn_access_origin_listed(const rn_server_options *o, const char *origin)
{
    const char *list = o->origins;
    return list && (list_has(list, "*", 1) || list_has(list, origin, strlen(origin)));
}

bool rn_access_origin_allowed(const rn_server_options *o, const char *origin, const char *host)
{
    if (!origin || !*origin)
        return true; /* not a browser */
    if (rn_access_origin_listed(o, origin))
        return true;
    const char *at = strstr(origin, "://");
    at = at ? at + 3 : origin;
    return host && !strcasecmp(at, host);
}

/* Whether a CORS preflight's requested headers are a plain list of names. */
bool rn_access_plain_header_list(const char *v)
{
    if (!v || strlen(v) > 512)
        return false;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == ',' || *p == ' '))
            return false;
    return true;
}
