/* Language versions found in the background: the version commands run on
 * a libuv worker thread; the results are set on the loop thread. */
#ifndef RUNNEL_SPECS_DETECT_H
#define RUNNEL_SPECS_DETECT_H

#include <uv.h>

#include "specs.h"

/* Ask every available toolchain in *current its version off the loop;
 * when done (at most RN_SPECS_DETECT_BOUND_MS later), set the versions in
 * the spec set *current points to at that moment (a set loaded since with
 * the same name and version_cmd gets them too). current must outlive the
 * loop. 0, or -errno when the work cannot be queued. */
int rn_specs_detect_async(uv_loop_t *loop, rn_specs **current);

/* Version commands still running (0 when every version is known or given
 * up on). */
unsigned rn_specs_detect_pending(void);

/* Stop the version commands still running (at shutdown): the pending
 * work then ends within 100 ms and keeps the loop no longer. */
void rn_specs_detect_cancel(void);

#define RN_SPECS_DETECT_BOUND_MS 30000

#endif
