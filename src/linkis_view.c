/* JSON written from one Linkis task (linkis_view.h). */
#include "linkis_view.h"

#include <stdio.h>
#include <string.h>

#include "linkis_int.h"

const char *const lk_state_names[LK_NSTATES] = {"Inited", "Scheduled", "Running", "Succeed",
                                                "Failed", "Cancelled", "Timeout"};

int lk_state_parse(const char *s)
{
    for (int i = 0; i < LK_NSTATES; i++)
        if (!strcmp(s, lk_state_names[i]))
            return i;
    return -1;
}

bool lk_view_ended(const lk_view *v)
{
    return v->state >= LK_SUCCEED;
}

static int stages_done(const lk_view *v)
{
    int done = 0;
    bool ok = v->state == LK_SUCCEED;
    for (int i = 0; i < v->nstages; i++)
        if (i < v->stage || (lk_view_ended(v) && ok))
            done++;
    return done;
}

double lk_view_progress(const lk_view *v)
{
    if (lk_view_ended(v))
        return 1.0;
    return v->nstages ? (double)stages_done(v) / v->nstages : 0.0;
}

void lk_write_status(rn_jbuf *b, const lk_view *v)
{
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, v->exec_id);
    rn_jbuf_printf(b, ",\"taskID\":%lld,\"status\":", (long long)v->task_id);
    rn_jbuf_jcstr(b, lk_state_names[v->state]);
    if (lk_view_ended(v) && v->result && v->result[0]) {
        rn_jbuf_str(b, ",\"result\":");
        rn_jbuf_str(b, v->result);
    }
}

void lk_write_progress(rn_jbuf *b, const lk_view *v, bool with_resource)
{
    static const char *const names3[] = {"queue", "compile", "run"};
    static const char *const names2[] = {"queue", "run"};
    const char *const *names = v->nstages == 3 ? names3 : names2;
    bool ended = lk_view_ended(v), ok = v->state == LK_SUCCEED;
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, v->exec_id);
    rn_jbuf_printf(b, ",\"taskID\":%lld", (long long)v->task_id);
    if (ended)
        rn_jbuf_str(b, ",\"progress\":1.0");
    else
        rn_jbuf_printf(b, ",\"progress\":%.4f", lk_view_progress(v));
    rn_jbuf_str(b, ",\"progressInfo\":[");
    for (int i = 0; i < v->nstages && i < 3; i++) {
        int succeed = i < v->stage || (ended && ok);
        int failed = ended && !ok && i == v->stage;
        int running = !ended && i == v->stage;
        if (i)
            rn_jbuf_str(b, ",");
        rn_jbuf_str(b, "{\"id\":");
        rn_jbuf_jcstr(b, names[i]);
        rn_jbuf_printf(b,
                       ",\"succeedTasks\":%d,\"failedTasks\":%d,\"runningTasks\":%d,"
                       "\"totalTasks\":1}",
                       succeed, failed, running);
    }
    rn_jbuf_str(b, "]");
    if (with_resource)
        rn_jbuf_str(b, ",\"yarnResource\":null");
}

void lk_write_log(rn_jbuf *b, const lk_loaded *t, size_t from, long long count, bool distinct,
                  bool push)
{
    const lk_view *v = t->v;
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, v->exec_id);
    rn_jbuf_key(b, "log");
    size_t rel = from >= t->log_from ? from - t->log_from : 0;
    size_t n = lk_log_write(t->log, b, rel, count, distinct);
    rn_jbuf_printf(b, ",\"taskID\":%lld,\"fromLine\":%llu", (long long)v->task_id,
                   (unsigned long long)(from + n + (push ? 0 : 1)));
}

void lk_result_location(const lk_view *v, char *buf, size_t size)
{
    snprintf(buf, size, LK_RESULT_ROOT "%s/%lld", v->um_user, (long long)v->task_id);
}

void lk_log_path(const lk_view *v, char *buf, size_t size)
{
    snprintf(buf, size, LK_RESULT_ROOT "%s/%lld.log", v->um_user, (long long)v->task_id);
}

static void key_str(rn_jbuf *b, const char *key, const char *s)
{
    rn_jbuf_key(b, key);
    lk_jstr_safe(b, s);
}

/* A JSON text kept as sent, or null. */
static void key_raw(rn_jbuf *b, const char *key, const char *json)
{
    rn_jbuf_key(b, key);
    rn_jbuf_str(b, json && json[0] ? json : "null");
}

void lk_write_task_vo(rn_jbuf *b, const lk_view *v, size_t code_max)
{
    char buf[LK_NAME_MAX * 2 + 64];
    bool ended = lk_view_ended(v);
    rn_jbuf_printf(b, "{\"taskID\":%lld", (long long)v->task_id);
    key_str(b, "instance", v->instance);
    key_str(b, "execId", v->exec_id);
    key_str(b, "strongerExecId", v->exec_id);
    key_str(b, "umUser", v->um_user);
    key_str(b, "executeUser", v->execute_user);
    key_str(b, "submitUser", v->um_user);
    key_str(b, "engineInstance", NULL);
    rn_jbuf_key(b, "executionCode");
    size_t code_len = v->code ? v->code_len : 0;
    if (code_len > code_max) {
        /* cut text is made valid UTF-8 by lk_jstrn_safe */
        rn_jbuf cut;
        rn_jbuf_init(&cut, 0);
        rn_jbuf_raw(&cut, v->code, code_max);
        rn_jbuf_str(&cut,
                    "\n-- [runnel: the code is cut here; jobhistory/{taskID}/get has it all]");
        rn_jbuf_jstr_safe(b, cut.data ? cut.data : "", cut.len);
        if (cut.oom)
            b->oom = true;
        rn_jbuf_free(&cut);
    } else {
        rn_jbuf_jstr_safe(b, v->code ? v->code : "", code_len);
    }
    rn_jbuf_printf(b, ",\"progress\":\"%.4g\"", lk_view_progress(v));
    lk_log_path(v, buf, sizeof(buf));
    key_str(b, "logPath", buf);
    lk_result_location(v, buf, sizeof(buf));
    key_str(b, "resultLocation", ended ? buf : NULL);
    key_str(b, "status", lk_state_names[v->state]);
    rn_jbuf_printf(b, ",\"createdTime\":%lld,\"updatedTime\":%lld", (long long)v->created_ms,
                   (long long)v->updated_ms);
    key_str(b, "engineType", v->engine);
    /* Linkis hides a running task's error. */
    if (ended && v->err_code) {
        rn_jbuf_printf(b, ",\"errCode\":%lld", (long long)v->err_code);
        key_str(b, "errDesc", v->err_desc);
    } else {
        rn_jbuf_str(b, ",\"errCode\":null,\"errDesc\":null");
    }
    key_str(b, "executeApplicationName", v->engine);
    key_str(b, "requestApplicationName", v->creator);
    key_str(b, "runType", v->run_type[0] ? v->run_type : v->engine);
    rn_jbuf_key(b, "paramsJson");
    lk_jstr_safe(b, v->params);
    rn_jbuf_key(b, "sourceJson");
    lk_jstr_safe(b, v->source);
    rn_jbuf_printf(b, ",\"costTime\":%lld", (long long)v->cost_ms);
    rn_jbuf_printf(b, ",\"engineStartTime\":%lld", (long long)v->created_ms);
    key_raw(b, "labels", v->labels);
    rn_jbuf_str(b, ",\"canRetry\":false,\"isReuse\":false");
    rn_jbuf_printf(b, ",\"requestStartTime\":%lld", (long long)v->created_ms);
    if (ended)
        rn_jbuf_printf(b, ",\"requestEndTime\":%lld,\"requestSpendTime\":%lld",
                       (long long)v->updated_ms, (long long)v->cost_ms);
    else
        rn_jbuf_str(b, ",\"requestEndTime\":null,\"requestSpendTime\":null");
    key_str(b, "language", v->language);
    rn_jbuf_printf(b, ",\"resultSets\":%llu}", (unsigned long long)v->result_sets);
}
