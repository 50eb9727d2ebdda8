/* The playground: one self-contained page at / (and /index.html) that runs
 * code through the ranna WebSocket. The page is compiled in (see
 * src/playground/embed.cmake), so it works offline and needs no files on
 * disk. The config key "playground" (default true) turns it off. */
#include <stdio.h>
#include <string.h>

#include "app.h"

extern const unsigned char rn_playground_html[];
extern const size_t rn_playground_html_len;
extern const char rn_playground_etag[];

static uv_timer_t announce_timer;
static bool announced;

static bool playground_http(rn_http *h)
{
    const char *path = rn_http_path(h), *m = rn_http_method(h);
    if (strcmp(path, "/") && strcmp(path, "/index.html"))
        return false;
    if (!rn_app_get()->cfg.playground)
        return false; /* the server's plain 404 */
    if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
        static const char msg[] = "Method Not Allowed";
        rn_http_add_header(h, "allow", "GET, HEAD");
        rn_http_reply(h, 405, "text/plain", msg, sizeof(msg) - 1);
        return true;
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
    return true;
}

static void on_announce(uv_timer_t *t)
{
    rn_app *app = rn_app_get();
    char host[256];
    snprintf(host, sizeof(host), "%s", app->cfg.listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = 0;
    if (!strcmp(host, "0.0.0.0") || !strcmp(host, "[::]") || !strcmp(host, "::") || !host[0])
        snprintf(host, sizeof(host), "localhost");
    fprintf(stderr, "runneld: open %s://%s:%d/ in a browser for the playground\n",
            app->cfg.tls_cert[0] ? "https" : "http", host, rn_server_port(app->server));
    uv_close((uv_handle_t *)t, NULL);
}

static int playground_init(const cJSON *section, char *err, size_t size)
{
    rn_app *app = rn_app_get();
    (void)section;
    (void)err;
    (void)size;
    if (announced || !app->cfg.playground || !app->loop || !app->server)
        return 0;
    announced = true;
    /* After main's "listening" line: the first turn of the loop. */
    uv_timer_init(app->loop, &announce_timer);
    uv_timer_start(&announce_timer, on_announce, 0, 0);
    return 0;
}

const rn_envelope rn_env_playground = {
    .name = "playground",
    .init = playground_init,
    .http = playground_http,
};
