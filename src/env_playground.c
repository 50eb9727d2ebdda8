/* The playground: one self-contained page at / (and /index.html) that runs
 * code through the ranna WebSocket. The page is compiled in (see
 * src/playground/embed.cmake), so it works offline and needs no files on
 * disk. The config key "playground" (default true) turns it off. */
#include <stdio.h>
#include <string.h>

#include "envelope.h"

extern const unsigned char rn_playground_html[];
extern const size_t rn_playground_html_len;
extern const char rn_playground_etag[];

static uv_timer_t announce_timer;
static bool announced;

static void playground_page(void *state, rn_http *h)
{
    rn_host_info info;
    rn_host_info_get(state, &info);
    if (!info.playground) {
        char msg[64];
        snprintf(msg, sizeof(msg), "Cannot %s %s", rn_http_method(h), rn_http_path(h));
        rn_http_reply(h, 404, "text/plain", msg, strlen(msg)); /* the server's plain 404 */
        return;
    }
    /* The page changes with the build: revalidate every time. */
    rn_http_add_header(h, "cache-control", "no-cache");
    rn_http_add_header(h, "etag", rn_playground_etag);
    rn_http_add_header(h, "x-content-type-options", "nosniff");
    rn_http_add_header(h, "referrer-policy", "no-referrer");
    /* Everything is inline and only this server is talked to. */
    rn_http_add_header(h, "content-security-policy",
                       "default-src 'none'; script-src 'unsafe-inline'; "
                       "style-src 'unsafe-inline'; img-src data:; connect-src 'self' ws: wss:; "
                       "base-uri 'none'; form-action 'none'");
    rn_http_reply(h, 200, "text/html; charset=utf-8", (const char *)rn_playground_html,
                  rn_playground_html_len);
}

/* Errors in the page's own plain text. */
static void playground_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    rn_http_reply(h, status, "text/plain", message, strlen(message));
}

static void on_announce(uv_timer_t *t)
{
    rn_host_info info;
    rn_host_info_get(t->data, &info);
    char host[256];
    snprintf(host, sizeof(host), "%s", info.listen_host);
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "[::]") || !strcmp(host, "::") || !host[0])
        snprintf(host, sizeof(host), "localhost");
    fprintf(stderr, "runneld: open %s://%s:%d/ in a browser for the playground\n",
            info.tls ? "https" : "http", host, info.port);
    uv_close((uv_handle_t *)t, NULL);
}

static int playground_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    (void)conf;
    (void)err;
    (void)size;
    *state = host;
    rn_host_info info;
    rn_host_info_get(host, &info);
    if (announced || !info.playground || !info.port)
        return 0;
    announced = true;
    /* After main's "listening" line: the first turn of the loop. */
    announce_timer.data = host;
    uv_timer_init(rn_host_loop(host), &announce_timer);
    uv_timer_start(&announce_timer, on_announce, 0, 0);
    return 0;
}

static const rn_route playground_routes[] = {
    {"GET", "/", RN_ROUTE_PUBLIC, playground_page},
    {"HEAD", "/", RN_ROUTE_PUBLIC, playground_page},
    {"GET", "/index.html", RN_ROUTE_PUBLIC, playground_page},
    {"HEAD", "/index.html", RN_ROUTE_PUBLIC, playground_page},
    {0},
};

const rn_envelope rn_env_playground = {
    .name = "playground",
    .init = playground_init,
    .routes = playground_routes,
    .http_error = playground_error,
};
