/* Starting and stopping every envelope of the registry (envelope.h) with
 * its section of the configuration. */
#ifndef RUNNEL_ENVELOPES_H
#define RUNNEL_ENVELOPES_H

#include <stddef.h>

#include "config.h"
#include "envelope.h"
#include "routes.h"

/* Init every envelope in registry order (states has RN_ENVELOPES_MAX
 * slots), then check that no two claim the same route. On failure the
 * started ones are stopped again and err says which and why. */
int rn_envelopes_start(rn_host *host, const rn_config *cfg, void **states, char *err, size_t size);

/* Fini the first `started` envelopes, last first. */
void rn_envelopes_stop(void **states, size_t started);

#endif
