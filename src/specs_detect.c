/* Language versions found in the background (uv_queue_work). */
#include "specs_detect.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "specs_version.h"

typedef struct {
    uv_work_t work;
    rn_version_probe *probe;
    rn_specs **current;
} detect_req;

static unsigned pending;

static void detect_work(uv_work_t *w)
{
    detect_req *r = w->data;

    rn_version_probe_run(r->probe);
}

static void detect_done(uv_work_t *w, int status)
{
    detect_req *r = w->data;
    size_t set = 0;

    if (status == 0)
        set = rn_version_probe_apply(r->probe, *r->current);
    rn_log(RN_LOG_INFO, "specs.versions", "asked=%zu found=%zu", rn_version_probe_count(r->probe),
           set);
    rn_version_probe_free(r->probe);
    free(r);
    pending--;
}

int rn_specs_detect_async(uv_loop_t *loop, rn_specs **current)
{
    detect_req *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return -ENOMEM;
    rc = rn_version_probe_new(*current, RN_SPECS_DETECT_BOUND_MS, &r->probe);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->current = current;
    r->work.data = r;
    rc = uv_queue_work(loop, &r->work, detect_work, detect_done);
    if (rc < 0) {
        rn_version_probe_free(r->probe);
        free(r);
        return rc;
    }
    pending++;
    return 0;
}

unsigned rn_specs_detect_pending(void)
{
    return pending;
}

void rn_specs_detect_cancel(void)
{
    rn_version_probe_cancel_all();
}
