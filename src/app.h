/* The running server's shared pieces, for envelopes that need more than
 * their connection: the specs, the sandbox context, the configuration. */
#ifndef RUNNEL_APP_H
#define RUNNEL_APP_H

#include <stdint.h>

#include <uv.h>

#include "../sandbox/box.h"
#include "config.h"
#include "jobs.h"
#include "server.h"
#include "specs.h"

#define RUNNEL_VERSION "0.1.0"

typedef struct {
    uv_loop_t *loop;
    rn_config cfg;
    rn_box_context *box;
    rn_specs *specs;
    rn_jobs *jobs;
    rn_server *server;
    uint64_t started_ms;
} rn_app;

/* The one app of this process (set up by main). */
rn_app *rn_app_get(void);

/* Names of the envelopes that serve WebSockets (for metrics), NULL-ended. */
extern const char *const rn_envelope_names[];

/* The envelopes, in routing order. */
extern const rn_envelope rn_env_core;
extern const rn_envelope rn_env_playground;
extern const rn_envelope rn_env_ranna;
extern const rn_envelope rn_env_linkis;
extern const rn_envelope rn_env_zeppelin;
extern const rn_envelope rn_env_lenses;

#endif
