#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EXACT_BONUS 100000

static const char *route_path(const rn_envelope *env, void *state, const rn_route *r)
{
    if (r->flags & RN_ROUTE_CONFIGURED)
        return env->path_of ? env->path_of(state) : NULL;
    return r->path;
}

static bool seg_equal(const char *a, const char *b, size_t n, bool nocase)
{
    return nocase ? !strncasecmp(a, b, n) : !strncmp(a, b, n);
}

/* How well pattern matches path: 0 = not at all; an exact match beats any
 * prefix, a longer pattern a shorter one. */
static int match_score(const char *pattern, unsigned flags, const char *path)
{
    const char *p = pattern, *q = path;
    bool nocase = flags & RN_ROUTE_NOCASE;
    int literal = 0;
    while (*p) {
        if (*p != '/' || *q != '/')
            return 0;
        p++;
        q++;
        const char *pe = strchrnul(p, '/'), *qe = strchrnul(q, '/');
        size_t pl = (size_t)(pe - p), ql = (size_t)(qe - q);
        if (pl == 1 && *p == '*') {
            if (!ql)
                return 0;
        } else if (pl != ql || !seg_equal(p, q, pl, nocase)) {
            return 0;
        } else {
            literal += (int)pl + 1;
        }
        p = pe;
        q = qe;
    }
    if (!*q)
        return EXACT_BONUS + literal + 1;
    if ((flags & RN_ROUTE_SLASH) && q[0] == '/' && !q[1])
        return EXACT_BONUS + literal;
    if ((flags & RN_ROUTE_PREFIX) && *q == '/')
        return literal + 1;
    return 0;
}

static bool method_fits(const rn_route *r, const char *method)
{
    return !r->method || !strcmp(r->method, method);
}

/* The route (with ws, the WebSocket endpoint) whose path matches path
 * best over every envelope, into hit (zeroed first); its score, 0 when
 * none matches. */
static int best_path(const rn_envelope *const *envs, void *const *states, bool ws, const char *path,
                     rn_route_hit *hit)
{
    int best = 0;
    memset(hit, 0, sizeof(*hit));
    for (size_t i = 0; envs[i]; i++) {
        void *state = states ? states[i] : NULL;
        for (const rn_route *r = ws ? envs[i]->ws : envs[i]->routes; r && (r->path || r->flags);
             r++) {
            const char *pat = route_path(envs[i], state, r);
            int sc = pat ? match_score(pat, r->flags, path) : 0;
            if (sc > best) {
                best = sc;
                hit->env = envs[i];
                hit->state = state;
                hit->route = r;
            }
        }
    }
    return best;
}

int rn_routes_http(const rn_envelope *const *envs, void *const *states, const char *method,
                   const char *path, rn_route_hit *hit, char *allow, size_t allow_size)
{
    if (allow_size)
        allow[0] = 0;
    /* The best-matching path first, whatever the method. */
    if (!best_path(envs, states, false, path, hit))
        return -ENOENT;
    hit->route = NULL;
    /* Then that envelope's most specific route taking the method. */
    size_t alen = 0;
    bool any_handler = false;
    int best_fit = 0;
    for (const rn_route *r = hit->env->routes; r && (r->path || r->flags); r++) {
        const char *pat = route_path(hit->env, hit->state, r);
        int sc = pat && r->handle ? match_score(pat, r->flags, path) : 0;
        if (!sc)
            continue;
        any_handler |= sc >= EXACT_BONUS || method_fits(r, method);
        if (method_fits(r, method)) {
            if (sc > best_fit) {
                best_fit = sc;
                hit->route = r;
            }
        } else if (sc < EXACT_BONUS) {
            /* a prefix route of another method says nothing of this path */
        } else if (r->method && alen + strlen(r->method) + 3 < allow_size &&
                   !strstr(allow, r->method)) {
            alen += (size_t)snprintf(allow + alen, allow_size - alen, "%s%s", alen ? ", " : "",
                                     r->method);
        }
    }
    if (hit->route)
        return 0;
    return any_handler ? -EPERM : -ENOENT;
}

int rn_routes_ws(const rn_envelope *const *envs, void *const *states, const char *path,
                 rn_route_hit *hit)
{
    return best_path(envs, states, true, path, hit) ? 0 : -ENOENT;
}

unsigned rn_routes_flags(const rn_envelope *const *envs, void *const *states, const char *method,
                         const char *path)
{
    rn_route_hit hit;
    char allow[8];
    if (rn_routes_http(envs, states, method, path, &hit, allow, sizeof(allow)) == 0)
        return hit.route->flags;
    return 0;
}

/* A path the pattern matches: "*" segments become "x". */
static void sample_of(const char *pattern, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < size; p++) {
        if (*p == '*' && p[-1] == '/' && (!p[1] || p[1] == '/'))
            out[o++] = 'x';
        else
            out[o++] = *p;
    }
    out[o] = 0;
}

static int check_list(const rn_envelope *const *envs, void *const *states, bool ws, char *err,
                      size_t size)
{
    for (size_t i = 0; envs[i]; i++) {
        const rn_route *ri = ws ? envs[i]->ws : envs[i]->routes;
        for (const rn_route *a = ri; a && (a->path || a->flags); a++) {
            const char *pa = route_path(envs[i], states ? states[i] : NULL, a);
            if (!pa)
                continue;
            char sample[512];
            sample_of(pa, sample, sizeof(sample));
            for (size_t j = 0; envs[j]; j++) {
                const rn_route *rj = ws ? envs[j]->ws : envs[j]->routes;
                for (const rn_route *b = rj; b && (b->path || b->flags); b++) {
                    if (a == b)
                        continue;
                    const char *pb = route_path(envs[j], states ? states[j] : NULL, b);
                    if (!pb)
                        continue;
                    bool same_method =
                        ws || !a->method || !b->method || !strcmp(a->method, b->method);
                    int sa = match_score(pa, a->flags, sample);
                    if (!same_method || match_score(pb, b->flags, sample) != sa)
                        continue;
                    if (i == j && (!a->handle || !b->handle || ws))
                        continue; /* a claim beside its own routes */
                    snprintf(err, size, "%s %s %.200s of '%s' overlaps %.200s of '%s'",
                             ws ? "WebSocket" : (a->method ? a->method : "any method"),
                             ws ? "endpoint" : "route", pa, envs[i]->name, pb, envs[j]->name);
                    return -EEXIST;
                }
            }
        }
    }
    return 0;
}

int rn_routes_check(const rn_envelope *const *envs, void *const *states, char *err, size_t size)
{
    int r = check_list(envs, states, false, err, size);
    return r ? r : check_list(envs, states, true, err, size);
}
