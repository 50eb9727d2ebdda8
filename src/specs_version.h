/* Asking each language's toolchain its version (the spec's version_cmd),
 * split so the slow part can run off the event loop: copy what is needed
 * (new), run the commands anywhere (run), then set the versions on the
 * loop thread (apply) into whatever spec set is current by then. */
#ifndef RUNNEL_SPECS_VERSION_H
#define RUNNEL_SPECS_VERSION_H

#include <stddef.h>

#include "specs.h"

typedef struct rn_version_probe rn_version_probe;

/* Copy the name and version_cmd of every available spec that has one;
 * running them all takes at most bound_ms. -ENOMEM on failure. */
int rn_version_probe_new(const rn_specs *specs, unsigned bound_ms, rn_version_probe **out);

/* Number of commands the probe will run. */
size_t rn_version_probe_count(const rn_version_probe *p);

/* Run every command at once and keep the first non-empty line each prints
 * (stdout, else stderr); blocks up to the bound. Touches no spec, so it may
 * run on another thread. */
void rn_version_probe_run(rn_version_probe *p);

/* Set the version of each spec in specs whose name and version_cmd are the
 * ones probed; returns how many were set. */
size_t rn_version_probe_apply(const rn_version_probe *p, rn_specs *specs);

/* Make every probe running now (any thread) stop within 100 ms, as if its
 * bound had passed; probes made later are not affected. */
void rn_version_probe_cancel_all(void);

/* Free a probe. */
void rn_version_probe_free(rn_version_probe *p);

#endif
