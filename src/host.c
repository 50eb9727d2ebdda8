#include "host_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sandbox/box.h"
#include "access.h"
#include "jobtext.h"
#include "specs_detect.h"
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
    why->err = err;
    if (err == -EMFILE) {
        snprintf(why->message, sizeof(why->message),
                 "too many runs in flight on this connection (limit %u)",
                 host->parts.per_connection);
        why->status = 429;
        return;
    }
    const rn_spec *spec = language ? rn_specs_find(host->parts.specs, language) : NULL;
    why->status =
        rn_jobtext_error(err, spec, language, rn_jobs_get_limits(host->parts.jobs)->code_bytes,
                         RN_JOB_MAX_ARGS, rn_jobs_queued(host->parts.jobs),
                         rn_jobs_get_rate(host->parts.jobs), why->message, sizeof(why->message));
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
    /* The jobs manager is gone once a shutdown has ended every run (health
     * checks are still answered then). */
    static const rn_jobs_limits none;
    info->running = p->jobs ? rn_jobs_running(p->jobs) : 0;
    info->queued = p->jobs ? rn_jobs_queued(p->jobs) : 0;
    info->limits = p->jobs ? rn_jobs_get_limits(p->jobs) : &none;
    info->per_connection = p->per_connection;
    info->message_bytes = p->message_bytes;
    info->uptime_ms = p->loop ? uv_now(p->loop) - p->started_ms : 0;
    info->listen_host = p->listen_host;
    info->port = p->server ? rn_server_port(p->server) : 0;
    info->tls = p->tls;
    info->draining = p->server ? rn_server_draining(p->server) : false;
    info->playground = p->playground;
    info->specs_dir = p->specs_dir;
    info->versions_pending = rn_specs_detect_pending();
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

struct rn_store *rn_host_store(const rn_host *host)
{
    return host->parts.store;
}

bool rn_host_tokens_required(const rn_host *host)
{
    if (!host->parts.server)
        return false;
    const rn_server_options *o = rn_server_options_of(host->parts.server);
    return (o->auth_tokens && *o->auth_tokens) || (o->auth_users && *o->auth_users);
}

bool rn_host_token_valid(const rn_host *host, const char *token)
{
    return !host->parts.server || rn_server_token_valid(host->parts.server, token);
}

void rn_host_token_user(const rn_host *host, const char *token, char *user, size_t size)
{
    bool admin;

    snprintf(user, size, "anonymous");
    if (host->parts.server && token)
        (void)rn_access_identify(rn_server_options_of(host->parts.server), NULL, token, user, size,
                                 &admin);
}
