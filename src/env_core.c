/* Paths every deployment needs whatever the envelope: health and
 * readiness for load balancers, and Prometheus metrics. */
#include <string.h>

#include "cluster.h"
#include "envelope.h"
#include "jbuf.h"
#include "metrics.h"
#include "store.h"

static int core_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    (void)conf;
    (void)err;
    (void)size;
    *state = host;
    return 0;
}

static void core_health(void *state, rn_http *h)
{
    rn_host_info info;
    rn_host_info_get(state, &info);
    const char *body = info.draining ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}";
    rn_http_reply(h, info.draining ? 503 : 200, "application/json", body, strlen(body));
}

/* Ready for traffic: not draining, and (in a cluster) the shared store
 * answered this node's last heartbeat in time. */
static void core_ready(void *state, rn_http *h)
{
    rn_host_info info;
    rn_host_info_get(state, &info);
    const char *body = "{\"status\":\"ok\"}";
    int status = 200;
    if (info.draining) {
        body = "{\"status\":\"draining\"}";
        status = 503;
    } else if (!rn_cluster_store_ok()) {
        body = "{\"status\":\"store unreachable\"}";
        status = 503;
    }
    rn_http_reply(h, status, "application/json", body, strlen(body));
}

static void core_metrics(void *state, rn_http *h)
{
    rn_host *host = state;
    rn_host_info info;
    rn_host_info_get(host, &info);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_metrics_render(&b);
    rn_metrics_gauge(&b, "runnel_runs_in_flight", "Runs holding a sandbox slot now.", NULL,
                     info.running);
    rn_metrics_gauge(&b, "runnel_queue_length", "Runs waiting for a slot.", NULL, info.queued);
    rn_jbuf_str(&b, "# HELP runnel_connections Open WebSocket connections, by envelope.\n"
                    "# TYPE runnel_connections gauge\n");
    for (size_t i = 0; rn_envelopes[i]; i++)
        if (rn_envelopes[i]->ws)
            rn_jbuf_printf(&b, "runnel_connections{envelope=\"%s\"} %u\n", rn_envelopes[i]->name,
                           rn_host_connections(host, rn_envelopes[i]->name));
    rn_metrics_gauge(&b, "runnel_uptime_seconds", "Seconds since start.", NULL,
                     (double)info.uptime_ms / 1000.0);
    rn_metrics_gauge(&b, "runnel_draining", "1 while shutting down.", NULL, info.draining);
    const rn_store *store = rn_host_store(host);
    int64_t store_mem = store ? rn_store_memory_bytes(store) : -1;
    if (store_mem >= 0)
        rn_metrics_gauge(&b, "runnel_store_memory_bytes",
                         "Heap the embedded store's library holds (its page cache).", NULL,
                         (double)store_mem);
    if (b.oom)
        rn_http_reply(h, 500, "text/plain", "out of memory", 13);
    else
        rn_http_reply(h, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    rn_jbuf_free(&b);
}

static const rn_route core_routes[] = {
    {NULL, "/healthz", RN_ROUTE_PUBLIC, core_health},
    {NULL, "/readyz", RN_ROUTE_PUBLIC, core_ready},
    {NULL, "/metrics", 0, core_metrics},
    {0},
};

const rn_envelope rn_env_core = {
    .name = "core",
    .init = core_init,
    .routes = core_routes,
};
