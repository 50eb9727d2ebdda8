#include "host_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sandbox/box.h"
#include "version.h"

struct rn_host {
    rn_host_parts parts;
};

int rn_host_new(const rn_host_parts *parts, rn_host **out)
{
    rn_host *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->parts = *parts;
    *out = h;
    return 0;
}

void rn_host_update(rn_host *host, const rn_host_parts *parts)
{
    host->parts = *parts;
}

void rn_host_set_server(rn_host *host, rn_server *server)
{
    host->parts.server = server;
}

void rn_host_free(rn_host *host)
{
    free(host);
}

const char *rn_host_client_of(const rn_conn *conn, const rn_http *http)
{
    if (conn)
        return rn_conn_peer(conn);
    if (http)
        return rn_http_peer(http);
    return NULL;
}

/* The refusal's wording, the same for every envelope. */
static void refusal_text(const rn_host *host, int err, const char *language, rn_host_refusal *why)
{
    const rn_jobs_limits *lim = rn_jobs_get_limits(host->parts.jobs);
    const rn_spec *spec = language ? rn_specs_find(host->parts.specs, language) : NULL;
    char *msg = why->message;
    size_t size = sizeof(why->message);
    why->err = err;
    switch (err) {
    case -ENOENT:
        snprintf(msg, size, "unsupported language spec: '%.64s'", language ? language : "");
        why->status = 400;
        break;
    case -ENOTSUP:
        snprintf(msg, size, "this spec has no support for inline expressions");
        why->status = 400;
        break;
    case -E2BIG:
        snprintf(msg, size,
                 "request too large: code is limited to %llu bytes, arguments and "
                 "environment to %d entries",
                 (unsigned long long)lim->code_bytes, RN_JOB_MAX_ARGS);
        why->status = 413;
        break;
    case -EBUSY:
        snprintf(msg, size, "server is busy: %u runs are queued, try again later",
                 rn_jobs_queued(host->parts.jobs));
        why->status = 429;
        break;
    case -EMFILE:
        snprintf(msg, size, "too many runs in flight on this connection (limit %u)",
                 host->parts.per_connection);
        why->status = 429;
        break;
    case -ENOEXEC:
        snprintf(msg, size, "language '%.64s' is not installed on this server%s%.200s%s",
                 language ? language : "", spec && spec->missing ? " (missing " : "",
                 spec && spec->missing ? spec->missing : "", spec && spec->missing ? ")" : "");
        why->status = 503;
        break;
    case -EDQUOT:
        snprintf(msg, size, "you have been rate limited: %u runs per minute per client",
                 rn_jobs_get_rate(host->parts.jobs));
        why->status = 429;
        break;
    case -ESHUTDOWN:
        snprintf(msg, size, "server is shutting down");
        why->status = 503;
        break;
    case -EINVAL:
        snprintf(msg, size, "invalid request: empty code, or a bad argument or environment entry");
        why->status = 400;
        break;
    default:
        snprintf(msg, size, "internal error: %s", strerror(-err));
        why->status = 500;
        break;
    }
}

int rn_host_submit(rn_host *host, const rn_host_origin *from, const rn_job_request *req,
                   const rn_job_callbacks *cb, void *ud, rn_job **out, rn_host_refusal *why)
{
    rn_job_request r = *req;
    const char *language = req->spec ? req->spec->name : req->language;
    int err;
    if (from->conn) {
        unsigned inflight =
            from->inflight >= 0 ? (unsigned)from->inflight : rn_conn_job_count(from->conn);
        if (inflight >= host->parts.per_connection) {
            err = -EMFILE;
            goto refuse;
        }
    }
    r.client = from->client ? from->client : rn_host_client_of(from->conn, from->http);
    if (!r.client) {
        /* A job nobody asked for would escape the per-client rate. */
        err = -EINVAL;
        goto refuse;
    }
    err = rn_jobs_submit(host->parts.jobs, &r, cb, ud, out);
    if (err < 0)
        goto refuse;
    if (from->conn && from->track)
        rn_conn_track(from->conn, *out);
    return 0;
refuse:
    refusal_text(host, err, language, why);
    return err;
}

void rn_host_info_get(const rn_host *host, rn_host_info *info)
{
    const rn_host_parts *p = &host->parts;
    memset(info, 0, sizeof(*info));
    info->version = RUNNEL_VERSION;
    info->sandbox_version = RN_BOX_VERSION;
    unsigned mask = p->box ? rn_box_context_protections(p->box) : 0;
    for (unsigned bit = 0; bit < 32 && info->nprotections < 16; bit++) {
        const char *name = (mask & (1u << bit)) ? rn_box_protection_name(1u << bit) : NULL;
        if (name)
            info->protections[info->nprotections++] = name;
    }
    info->warm = p->box ? rn_box_warm_count(p->box) : 0;
    info->running = rn_jobs_running(p->jobs);
    info->queued = rn_jobs_queued(p->jobs);
    info->limits = rn_jobs_get_limits(p->jobs);
    info->per_connection = p->per_connection;
    info->message_bytes = p->message_bytes;
    info->uptime_ms = p->loop ? uv_now(p->loop) - p->started_ms : 0;
    info->listen_host = p->listen_host;
    info->port = p->server ? rn_server_port(p->server) : 0;
    info->tls = p->tls;
    info->draining = p->server ? rn_server_draining(p->server) : false;
    info->playground = p->playground;
    info->specs_dir = p->specs_dir;
}

const rn_specs *rn_host_specs(const rn_host *host)
{
    return host->parts.specs;
}

uv_loop_t *rn_host_loop(const rn_host *host)
{
    return host->parts.loop;
}

unsigned rn_host_connections(const rn_host *host, const char *envelope)
{
    return host->parts.server ? rn_server_connections(host->parts.server, envelope) : 0;
}
