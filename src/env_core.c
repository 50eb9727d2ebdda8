/* Paths every deployment needs whatever the envelope: health and
 * readiness for load balancers, and Prometheus metrics. */
#include <string.h>

#include "app.h"
#include "jbuf.h"
#include "metrics.h"

static void core_metrics(rn_http *h)
{
    rn_app *app = rn_app_get();
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_metrics_render(&b);
    rn_metrics_gauge(&b, "runnel_runs_in_flight", "Runs holding a sandbox slot now.", NULL,
                     rn_jobs_running(app->jobs));
    rn_metrics_gauge(&b, "runnel_queue_length", "Runs waiting for a slot.", NULL,
                     rn_jobs_queued(app->jobs));
    rn_jbuf_str(&b, "# HELP runnel_connections Open WebSocket connections, by envelope.\n"
                    "# TYPE runnel_connections gauge\n");
    for (const char *const *n = rn_envelope_names; *n; n++)
        rn_jbuf_printf(&b, "runnel_connections{envelope=\"%s\"} %u\n", *n,
                       rn_server_connections(app->server, *n));
    rn_metrics_gauge(&b, "runnel_uptime_seconds", "Seconds since start.", NULL,
                     (double)(uv_now(app->loop) - app->started_ms) / 1000.0);
    rn_metrics_gauge(&b, "runnel_draining", "1 while shutting down.", NULL,
                     rn_server_draining(app->server));
    if (b.oom)
        rn_http_reply(h, 500, "text/plain", "out of memory", 13);
    else
        rn_http_reply(h, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    rn_jbuf_free(&b);
}

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
    if (!strcmp(path, "/metrics")) {
        core_metrics(h);
        return true;
    }
    return false;
}

const rn_envelope rn_env_core = {
    .name = "core",
    .http = core_http,
};
