/* The Linkis entrance routes of one job: status, progress, log, kill and
 * pause, answered from memory or the store (linkis_routes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkis_routes.h"
#include "linkis_tasks.h"

typedef struct {
    lk_later *later;
    lk_route r;
    lk_caller who;
    size_t from; /* log: 0-based */
    long long count;
    bool distinct;
    char id[LK_ID_MAX + 1];
} job_q;

static void answer(const lk_out *o, const job_q *q, const lk_loaded *t)
{
    const lk_view *v = t->v;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    switch (q->r) {
    case LK_R_STATUS:
        lk_write_status(&f, v);
        lk_out_send(o, LK_ST_OK, "Return status information", &f, 0);
        break;
    case LK_R_PROGRESS:
    case LK_R_PROGRESS_RES:
        lk_write_progress(&f, v, q->r == LK_R_PROGRESS_RES);
        lk_out_send(o, LK_ST_OK, "Return progress information", &f, 0);
        break;
    case LK_R_LOG:
        lk_write_log(&f, t, q->from, q->count, q->distinct, false);
        lk_out_send(o, LK_ST_OK, "Return log information", &f, 0);
        break;
    case LK_R_KILL:
        rn_jbuf_key(&f, "execID");
        rn_jbuf_jcstr(&f, v->exec_id);
        rn_jbuf_printf(&f, ",\"taskID\":%lld", (long long)v->task_id);
        if (!lk_view_ended(v) && lk_tasks_kill(v->task_id)) {
            lk_out_send(o, LK_ST_OK, "Successfully killed the job", &f, 0);
        } else {
            char msg[128];
            snprintf(msg, sizeof(msg), "The job had already ended with status %s",
                     lk_state_names[v->state]);
            rn_jbuf_str(&f, ",\"status\":");
            rn_jbuf_jcstr(&f, lk_state_names[v->state]);
            lk_out_send(o, LK_ST_OK, msg, &f, 0);
        }
        break;
    case LK_R_PAUSE:
        rn_jbuf_key(&f, "execID");
        rn_jbuf_jcstr(&f, v->exec_id);
        lk_out_send(o, LK_ST_OK, "success to pause job (runnel does not pause jobs)", &f, 0);
        break;
    default:
        lk_out_error(o, LK_ST_ERROR, "unknown request", 0);
        break;
    }
    rn_jbuf_free(&f);
}

static void on_job(const lk_loaded *t, int err, void *ud)
{
    job_q *q = ud;
    const lk_out *o = &q->later->out;
    char msg[LK_ID_MAX + 128];
    if (err < 0) {
        lk_out_internal(o, "the task could not be read", "runnel: store read failed");
    } else if (!t) {
        snprintf(msg, sizeof(msg), "no such execID: %s", q->id);
        lk_out_error(o, LK_ST_ERROR, msg, 404);
    } else if (!lk_caller_sees(&q->who, t->v->um_user, t->v->execute_user)) {
        snprintf(msg, sizeof(msg), "%s may not access the job %s", q->who.user, q->id);
        lk_out_error(o, LK_ST_DENIED, msg, 0);
    } else {
        answer(o, q, t);
    }
    lk_later_free(q->later);
    free(q);
}

void lk_route_job(const lk_out *o, lk_route r, const char *id, const lk_params *p,
                  const lk_caller *who)
{
    long long from = 1, size = 100;
    char dl[16] = "";
    if (r == LK_R_LOG) {
        if (!lk_param_int(p, "fromLine", 1, &from) || !lk_param_int(p, "size", 100, &size)) {
            lk_out_error(o, LK_ST_INVALID, "fromLine and size must be integers", 0);
            return;
        }
        lk_param(p, "distinctLevel", dl, sizeof(dl));
    }
    job_q *q = calloc(1, sizeof(*q));
    if (!q) {
        lk_out_internal(o, "out of memory", "runnel: calloc: out of memory");
        return;
    }
    if (!(q->later = lk_later_new(o))) {
        free(q);
        return;
    }
    q->r = r;
    q->who = *who;
    /* fromLine is 1-based as in Linkis' LogReader; below 1 reads from 1. */
    q->from = from < 1 ? 0 : (size_t)(from - 1);
    q->count = size < 0 ? -1 : size;
    q->distinct = strcmp(dl, "false") != 0;
    snprintf(q->id, sizeof(q->id), "%s", id);
    lk_want want = {
        .log = r == LK_R_LOG, .log_from = q->from, .log_count = q->count, .set_index = -1};
    lk_tasks_lookup(id, &want, on_job, q);
}

void lk_route_runningtask(const lk_out *o, const lk_caller *who)
{
    unsigned n = lk_tasks_running(who);
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_printf(&f, "\"runningTaskNumber\":%u,\"isCompleted\":%s", n, n ? "false" : "true");
    lk_out_send(o, LK_ST_OK, "success", &f, 0);
    rn_jbuf_free(&f);
}
