/* Paths every deployment needs whatever the envelope: health and
 * readiness for load balancers. */
#include <string.h>

#include "app.h"

static bool core_http(rn_http *h)
{
    const char *path = rn_http_path(h);
    rn_app *app = rn_app_get();
    if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz")) {
        bool draining = rn_server_draining(app->server);
        const char *body = draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}";
        rn_http_reply(h, draining ? 503 : 200, "application/json", body, strlen(body));
        return true;
    }
    return false;
}

const rn_envelope rn_env_core = {
    .name = "core",
    .http = core_http,
};
