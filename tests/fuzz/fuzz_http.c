/* REST requests through every envelope's HTTP routing (ranna /v1/exec and
 * /v1/spec, Linkis entrance and login, Zeppelin, Lenses, health, metrics),
 * WebSocket upgrade checks (ws_accept), and query-string decoding.
 * Input: "METHOD PATH[?QUERY]\n", header lines "name: value\n", an empty
 * line, then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_env.h"

#define MAX_HEADERS 8

static void tap(void *ud, int status, const char *body, size_t len)
{
    (void)body;
    (void)len;
    int *replies = ud;
    if (status < 100 || status > 599)
        abort();
    ++*replies;
}

static char *line_of(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = 0;
    /* A NUL cannot reach the server inside a request line or header. */
    for (size_t i = 0; i < n; i++)
        if (!s[i])
            s[i] = ' ';
    *p = nl ? nl + 1 : end;
    return s;
}

/* /v1/info reports the sandbox context, which the fuzzer does not have. */
static bool needs_box(const char *path)
{
    return !strncasecmp(path, "/v1/info", 8) && (!path[8] || (path[8] == '/' && !path[9]));
}

static void queries(const rn_http *h)
{
    static const char *const names[] = {"token", "fromLine", "size", "", "a", "execID"};
    char buf[64];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (size_t sz = 0; sz <= sizeof(buf); sz += 7) {
            memset(buf, 'x', sizeof(buf));
            if (rn_http_query(h, names[i], buf, sz) == 0 && sz && !memchr(buf, 0, sz))
                abort();
            for (size_t k = sz; k < sizeof(buf); k++)
                if (buf[k] != 'x')
                    abort(); /* wrote past size */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_app_t *app = fz_app();
    const char *p = (const char *)data, *end = p + size;
    char *req = line_of(&p, end);
    char *hdr[MAX_HEADERS];
    const char *kv[2 * MAX_HEADERS + 1];
    size_t nh = 0, nkv = 0;
    while (p < end && *p != '\n' && nh < MAX_HEADERS) {
        char *l = hdr[nh++] = line_of(&p, end);
        char *colon = strchr(l, ':');
        if (!colon)
            continue;
        *colon = 0;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        kv[nkv++] = l;
        kv[nkv++] = v;
    }
    kv[nkv] = NULL;
    if (p < end && *p == '\n')
        p++;
    char *sp = strchr(req, ' ');
    const char *method = "GET", *path = req;
    if (sp) {
        *sp = 0;
        method = req;
        path = sp + 1;
    }
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    if (!*path || needs_box(path))
        goto out;

    int replies = 0;
    rn_http *h =
        rn_http_new_detached(app->server, method, path, q, kv, p, (size_t)(end - p), tap, &replies);
    if (!h)
        abort();
    queries(h);
    char msg[256] = "";
    int st = rn_http_dispatch_detached(h, msg, sizeof(msg));
    if (st && (st < 300 || st > 599 || !memchr(msg, 0, sizeof(msg))))
        abort();
    if (!rn_http_is_upgrade(h) && replies > 1)
        abort();
    rn_http_close_detached(h);
    fz_settle();
out:
    for (size_t i = 0; i < nh; i++)
        free(hdr[i]);
    free(req);
    return 0;
}
