/* Shared set-up for the envelope fuzzers: one in-process server as
 * runneld's main.c makes it (the registry's envelopes started on a host)
 * with detached connections and requests (server.h's test hook), so whole
 * messages go through the server's routing and the envelopes' decoders
 * without sockets.
 *
 * No sandbox is ever spawned: the specs set holds only languages whose
 * programs do not exist (submits fail with "not installed"), there is no
 * box context, and should an envelope get a job queued anyway (its own
 * helper spec), the jobs manager is shut down before the loop runs again,
 * so the queued job is killed, never started. */
#ifndef RUNNEL_FUZZ_ENV_H
#define RUNNEL_FUZZ_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "envelopes.h"
#include "host_impl.h"
#include "jobs.h"
#include "server.h"
#include "specs.h"

/* What the fuzzers share. */
typedef struct {
    uv_loop_t *loop;
    rn_config cfg;
    rn_specs *specs;
    rn_jobs *jobs;
    rn_server *server;
    rn_host *host;
    void *states[RN_ENVELOPES_MAX];
} fz_app_t;

/* Build the app once (idempotent). Aborts when it cannot. */
fz_app_t *fz_app(void);

/* Open a detached connection on path, served by the envelope whose
 * endpoint it is (NULL if none is or its ws_open refused). */
rn_conn *fz_conn_open(const char *path, const char *const *headers);

/* Deliver one message as the server does (ref held, client set). */
void fz_conn_message(rn_conn *c, const char *msg, size_t len, bool binary);

/* The peer went away (call fz_settle after the last one). */
void fz_conn_close(rn_conn *c);

/* After every input, with every connection closed: no job may stay
 * queued (see above); then the loop runs without blocking. */
void fz_settle(void);

/* Split data at the separator byte 0x1E and call fn for each piece. */
void fz_split(const uint8_t *data, size_t size, void (*fn)(const char *p, size_t n, void *ud),
              void *ud);

/* Frames sent by the envelopes so far (a check that output is JSON can
 * be switched on with fz_check_json). */
extern unsigned long fz_frames;
extern bool fz_check_json;

#endif
