/* Linkis tasks: execute, the job's callbacks and pushes, and where a task
 * lives (linkis_tasks.h). Reads of a task go through lk_tasks_lookup
 * (linkis_lookup.c keeps the store side). */
#include "linkis_tasks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jbuf.h"
#include "linkis_task_int.h"
#include "log.h"

#define LK_LOG_EXTRA 65536 /* log room for runnel's own lines */

lk_tasks_state LK;

rn_store *lk_tasks_store(void)
{
    return LK.store;
}

/* ---------------------------------------------------------------- memory */

void lk_task_free(lk_task *t)
{
    lk_log_free(&t->log);
    lk_capture_free(&t->cap);
    lk_rsets_free(t->sets, t->nsets);
    lk_later_free(t->reply);
    free(t->code);
    free(t->labels);
    free(t->params);
    free(t->source);
    free(t->result);
    free(t->tag);
    free(t);
}

void lk_task_unlink(lk_task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        LK.head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        LK.tail = t->prev;
    LK.n--;
}

static void append_task(lk_task *t)
{
    t->prev = LK.tail;
    t->next = NULL;
    if (LK.tail)
        LK.tail->next = t;
    else
        LK.head = t;
    LK.tail = t;
    LK.n++;
}

/* Whether a task may leave memory: ended, and (with a store) saved. */
static bool task_droppable(const lk_task *t)
{
    return lk_view_ended(&t->v) && !t->saving && !t->job;
}

/* Memory only: drop finished tasks past retention, then the oldest
 * finished while over max_jobs (counting room for one more) or
 * max_log_bytes. */
void lk_tasks_prune(bool room)
{
    uint64_t now = rn_now_ms();
    size_t bytes = 0;
    for (lk_task *t = LK.head, *next; t; t = next) {
        next = t->next;
        if (task_droppable(t) && now - t->ended_ms >= LK.conf.retention_ms) {
            lk_task_unlink(t);
            lk_task_free(t);
        } else {
            bytes += t->log.used;
        }
    }
    for (lk_task *t = LK.head, *next; t; t = next) {
        next = t->next;
        if (LK.n + (room ? 1 : 0) <= LK.conf.max_jobs && bytes <= LK.conf.max_log_bytes)
            break;
        if (!task_droppable(t))
            continue;
        bytes -= t->log.used;
        lk_task_unlink(t);
        lk_task_free(t);
    }
}

lk_task *lk_tasks_find_live(const char *id, int64_t task_id)
{
    if (!LK.store)
        lk_tasks_prune(false);
    for (lk_task *t = LK.head; t; t = t->next)
        if ((id && !strcmp(t->v.exec_id, id)) || (task_id > 0 && t->v.task_id == task_id))
            return t;
    return NULL;
}

const lk_view *lk_tasks_live(int64_t task_id)
{
    lk_task *t = lk_tasks_find_live(NULL, task_id);
    return t ? &t->v : NULL;
}

void lk_tasks_each(void (*fn)(const lk_view *v, void *ud), void *ud)
{
    for (lk_task *t = LK.tail; t; t = t->prev)
        fn(&t->v, ud);
}

bool lk_tasks_kill(int64_t task_id)
{
    lk_task *t = lk_tasks_find_live(NULL, task_id);
    if (!t || !t->job)
        return false;
    rn_log(RN_LOG_INFO, "linkis.kill", "execID=%s taskID=%lld", t->v.exec_id,
           (long long)t->v.task_id);
    rn_job_kill(t->job);
    return true;
}

unsigned lk_tasks_running(const lk_caller *who)
{
    unsigned n = 0;
    for (lk_task *t = LK.head; t; t = t->next)
        if (!lk_view_ended(&t->v) && lk_caller_sees(who, t->v.um_user, t->v.execute_user))
            n++;
    return n;
}

/* ---------------------------------------------------------------- pushes */

static bool can_push(const lk_task *t)
{
    return t->announced && t->conn && rn_conn_open(t->conn);
}

static void push(lk_task *t, const char *what, const char *message, const rn_jbuf *fields)
{
    char method[LK_ID_MAX + 64];
    snprintf(method, sizeof(method), LK_ENTRANCE "%s/%s", t->v.exec_id, what);
    lk_out o = {.conn = t->conn, .method = method, .tag = t->tag};
    lk_out_send(&o, LK_ST_OK, message, fields, 0);
}

static void push_status(lk_task *t)
{
    if (!can_push(t))
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    lk_write_status(&f, &t->v);
    push(t, "status", "Return status information", &f);
    rn_jbuf_free(&f);
}

static void push_progress(lk_task *t)
{
    if (!can_push(t))
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    lk_write_progress(&f, &t->v, false);
    push(t, "progress", "Return progress information", &f);
    rn_jbuf_free(&f);
}

/* Push the lines stored since from (nothing when there are none). */
static void push_log_from(lk_task *t, size_t from)
{
    if (!can_push(t) || from >= t->log.n)
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    lk_loaded l = {.v = &t->v, .log = &t->log};
    lk_write_log(&f, &l, from, -1, true, true);
    push(t, "log", "Return log information", &f);
    rn_jbuf_free(&f);
}

/* One of runnel's own lines ("2024-05-01 12:00:00.123 INFO text"), stored
 * and pushed. */
static void note(lk_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(lk_task *t, const char *fmt, ...)
{
    char text[1024], line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(line, sizeof(line), "%s.%03ld INFO %s", date, ts.tv_nsec / 1000000L, text);
    size_t from = t->log.n;
    lk_log_add(&t->log, LK_LOG_INFO, line, strnlen(line, sizeof(line)));
    t->v.log_lines = t->log.n;
    push_log_from(t, from);
}

static void set_state(lk_task *t, lk_state s)
{
    t->v.state = s;
    t->v.updated_ms = rn_store_now_ms();
    push_status(t);
}

/* ---------------------------------------------------------------- job callbacks */

static void on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    lk_task *t = ud;
    if (stage != RN_JOB_COMPILING && stage != RN_JOB_RUNNING)
        return;
    int idx = stage == RN_JOB_COMPILING ? 1 : t->v.nstages - 1;
    if (idx <= t->v.stage)
        return;
    bool first = t->v.state < LK_RUNNING;
    t->v.stage = idx;
    if (first) {
        set_state(t, LK_RUNNING);
        note(t, "Your job is Running now. Please wait it to complete.");
        lk_tasks_save_state(t);
    }
    if (stage == RN_JOB_COMPILING)
        note(t, "Compiling the %s program.", rn_job_spec(job)->name);
    else if (!first)
        note(t, "Compiled; the program is running now.");
    push_progress(t);
}

static void on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    lk_task *t = ud;
    (void)job;
    if (fd == 1)
        lk_capture_feed(&t->cap, data, len);
    if (fd == 1 && t->cap.table)
        return; /* SQL rows are the result set, not the log */
    size_t from = t->log.n;
    lk_log_feed(&t->log, fd, data, len);
    t->v.log_lines = t->log.n;
    push_log_from(t, from);
}

static lk_state end_state(const rn_job_result *r)
{
    switch (r->reason) {
    case RN_JOB_END_EXITED:
        return r->exit_code == 0 ? LK_SUCCEED : LK_FAILED;
    case RN_JOB_END_KILLED:
        return LK_CANCELLED;
    case RN_JOB_END_TIMEOUT:
    case RN_JOB_END_CPU_LIMIT:
        return LK_TIMEOUT;
    default:
        return LK_FAILED;
    }
}

static char *result_json(const rn_job_result *r)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"reason\":");
    rn_jbuf_jcstr(&b, rn_job_end_name(r->reason));
    rn_jbuf_printf(&b,
                   ",\"exitCode\":%d,\"signal\":%d,\"costTime\":%llu,\"wallTime\":%llu,"
                   "\"cpuTime\":%llu,\"memoryPeak\":%llu,\"outputBytes\":%llu",
                   r->exit_code, r->signal, (unsigned long long)r->exec_ms,
                   (unsigned long long)r->wall_ms, (unsigned long long)r->cpu_ms,
                   (unsigned long long)r->memory_peak, (unsigned long long)r->output_bytes);
    if (r->message[0]) {
        rn_jbuf_key(&b, "message");
        rn_jbuf_jcstr(&b, r->message);
    }
    rn_jbuf_raw(&b, "}", 2); /* with the NUL */
    if (b.oom) {
        rn_jbuf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The result sets from the capture, with a note in the log. */
static void finish_results(lk_task *t)
{
    if (lk_capture_finish(&t->cap, &t->sets, &t->nsets) < 0)
        note(t, "The result could not be kept: out of memory.");
    t->v.result_sets = t->nsets;
    uint64_t rows = 0;
    bool cut = false;
    for (size_t i = 0; i < t->nsets; i++) {
        rows += t->sets[i].records;
        cut |= t->sets[i].truncated;
    }
    if (t->nsets)
        note(t, "%zu result set%s with %llu %s written to %s.", t->nsets, t->nsets == 1 ? "" : "s",
             (unsigned long long)rows, t->cap.table ? "rows" : "lines", "resultLocation");
    if (cut)
        note(t, "The result was cut at %llu bytes (linkis.result_max_bytes).",
             (unsigned long long)LK.conf.result_max_bytes);
}

static void on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    lk_task *t = ud;
    size_t from = t->log.n;
    lk_log_flush(&t->log);
    push_log_from(t, from);
    lk_state st = end_state(res);
    finish_results(t);
    if (res->reason == RN_JOB_END_EXITED)
        note(t,
             "Your job is %s: the program exited with code %d (%llu ms, cpu %llu ms, "
             "peak memory %llu bytes).",
             lk_state_names[st], res->exit_code, (unsigned long long)res->exec_ms,
             (unsigned long long)res->cpu_ms, (unsigned long long)res->memory_peak);
    else
        note(t, "Your job is %s: %s (reason %s, %llu ms).", lk_state_names[st],
             res->message[0] ? res->message : rn_job_end_name(res->reason),
             rn_job_end_name(res->reason), (unsigned long long)res->exec_ms);
    t->result = result_json(res);
    t->v.result = t->result;
    if (st != LK_SUCCEED) {
        t->v.err_code = res->reason == RN_JOB_END_EXITED && res->exit_code > 0 ? res->exit_code : 1;
        if (res->reason == RN_JOB_END_EXITED)
            snprintf(t->v.err_desc, sizeof(t->v.err_desc), "the program exited with code %d",
                     res->exit_code);
        else
            snprintf(t->v.err_desc, sizeof(t->v.err_desc), "%s",
                     res->message[0] ? res->message : rn_job_end_name(res->reason));
    }
    t->v.cost_ms = (int64_t)res->exec_ms;
    t->v.state = st;
    t->v.updated_ms = rn_store_now_ms();
    t->ended_ms = rn_now_ms();
    t->job = NULL;
    push_progress(t);
    push_status(t);
    rn_log(RN_LOG_DEBUG, "linkis.end", "execID=%s taskID=%lld status=%s lines=%zu sets=%zu",
           t->v.exec_id, (long long)t->v.task_id, lk_state_names[st], t->log.n, t->nsets);
    if (t->conn) {
        lk_ws *w = rn_conn_data(t->conn);
        if (w && w->inflight)
            w->inflight--;
        if (t->tracked)
            rn_conn_untrack(t->conn, job);
        rn_conn_unref(t->conn);
        t->conn = NULL;
    }
    lk_tasks_save_end(t);
}

static const rn_job_callbacks job_callbacks = {on_stage, on_output, on_end};

/* ---------------------------------------------------------------- execute */

/* Who the task belongs to (see docs/linkis.md): 0, or an error in msg. */
static int task_users(lk_task *t, const cJSON *data, const lk_caller *who, char *msg, size_t size)
{
    const cJSON *eu = cJSON_GetObjectItemCaseSensitive(data, "executeUser");
    const char *asked = cJSON_IsString(eu) && eu->valuestring[0] ? eu->valuestring : NULL;
    if (asked && !lk_name_ok(asked)) {
        snprintf(msg, size,
                 "executeUser must be 1 to %d characters of letters, digits, '.', '_', '@', '-'",
                 LK_NAME_MAX);
        return LK_ST_INVALID;
    }
    snprintf(t->v.um_user, sizeof(t->v.um_user), "%s", who->user);
    if (!asked || !strcmp(asked, who->user)) {
        snprintf(t->v.execute_user, sizeof(t->v.execute_user), "%s", who->user);
        return 0;
    }
    if (!who->declared) /* nobody named: the body names the user */
        snprintf(t->v.um_user, sizeof(t->v.um_user), "%s", asked);
    else if (!who->admin) {
        snprintf(msg, size, "%s may not submit jobs as %s: only an admin may name another user",
                 who->user, asked);
        return LK_ST_DENIED;
    }
    snprintf(t->v.execute_user, sizeof(t->v.execute_user), "%s", asked);
    return 0;
}

static char *json_text(const cJSON *data, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
    return v && !cJSON_IsNull(v) ? cJSON_PrintUnformatted(v) : NULL;
}

/* Fill a new task from a decoded request. */
static int task_fill(lk_task *t, const lk_req *req, const cJSON *data, lk_ws *w, const lk_out *o)
{
    int64_t now = rn_store_now_ms();
    if (LK.cluster) {
        int64_t id = rn_cluster_ids_take(&LK.ids);
        if (id < 0)
            return (int)id;
        t->v.task_id = id;
    } else {
        t->v.task_id = ++LK.last_task;
    }
    snprintf(t->v.instance, sizeof(t->v.instance), "%s", LK.conf.instance);
    snprintf(t->v.engine, sizeof(t->v.engine), "%s", req->engine);
    snprintf(t->v.run_type, sizeof(t->v.run_type), "%s", req->run_type);
    snprintf(t->v.creator, sizeof(t->v.creator), "%s", req->creator);
    snprintf(t->v.language, sizeof(t->v.language), "%s", req->spec->name);
    t->v.created_ms = t->v.updated_ms = now;
    t->v.stage = -1;
    t->v.nstages = req->spec->compile ? 3 : 2;
    t->sql = LK.sql_spec && !strcmp(req->spec->name, "sqlite");
    t->wall_ms = req->wall_ms;
    t->memory_bytes = req->memory_bytes;
    t->output_bytes = req->output_bytes;
    uint64_t out_max = LK.out_max;
    if (req->output_bytes && req->output_bytes < out_max)
        out_max = req->output_bytes;
    lk_log_init(&t->log, (size_t)(2 * out_max + LK_LOG_EXTRA));
    lk_capture_init(&t->cap, LK.conf.result_max_bytes, t->sql);
    if (!(t->code = malloc(req->code_len + 1)))
        return -ENOMEM;
    memcpy(t->code, req->code, req->code_len);
    t->code[req->code_len] = 0;
    t->v.code = t->code;
    t->v.code_len = req->code_len;
    t->labels = json_text(data, "labels");
    t->params = json_text(data, "params");
    t->source = json_text(data, "source");
    t->v.labels = t->labels;
    t->v.params = t->params;
    t->v.source = t->source;
    snprintf(t->client, sizeof(t->client), "%s",
             rn_host_client_of(w ? w->conn : NULL, w ? NULL : o->http));
    if (lk_exec_id(t->v.exec_id, sizeof(t->v.exec_id), req->creator, req->engine, LK.conf.instance,
                   t->v.um_user, (uint64_t)t->v.task_id) < 0)
        return -ENAMETOOLONG;
    if (o->tag && !(t->tag = strdup(o->tag)))
        return -ENOMEM;
    return 0;
}

/* The task's row is saved (or there is no store): start its job and
 * answer the execute request. */
void lk_tasks_start(lk_task *t, const lk_out *o)
{
    rn_job_request jr = {
        .language = t->v.language,
        .code = t->code,
        .code_len = t->v.code_len,
        .wall_ms = t->wall_ms,
        .memory_bytes = t->memory_bytes,
        .output_bytes = t->output_bytes,
        .spec = t->sql ? LK.sql_spec : NULL,
    };
    rn_host_info info;
    rn_host_info_get(LK.host, &info);
    if (info.draining) { /* the row was saved as the server began to stop */
        lk_out_error(o, LK_ST_ERROR, "server is shutting down: try again on another node", 0);
        lk_tasks_refused(t, "server is shutting down");
        return;
    }
    bool open = t->conn && rn_conn_open(t->conn);
    lk_ws *w = open ? rn_conn_data(t->conn) : NULL;
    rn_host_origin from = {.conn = open ? t->conn : NULL,
                           .http = open ? NULL : o->http,
                           .client = open || o->http ? NULL : t->client,
                           .track = open && LK.conf.kill_on_disconnect,
                           .inflight = w ? (int)w->inflight - 1 : -1};
    rn_host_refusal why;
    int err = rn_host_submit(LK.host, &from, &jr, &job_callbacks, t, &t->job, &why);
    if (err < 0) {
        if (why.status == 500) {
            char stack[128];
            snprintf(stack, sizeof(stack), "runnel: rn_jobs_submit: %s", strerror(-err));
            lk_out_internal(o, why.message, stack);
        } else {
            lk_out_error(o, why.status == 400 || why.status == 413 ? LK_ST_INVALID : LK_ST_ERROR,
                         why.message, 0);
        }
        lk_tasks_refused(t, why.message);
        return;
    }
    t->tracked = from.track;
    rn_log(RN_LOG_INFO, "linkis.execute",
           "execID=%s taskID=%lld user=%s executeUser=%s runType=%s engine=%s language=%s "
           "runid=%s",
           t->v.exec_id, (long long)t->v.task_id, t->v.um_user, t->v.execute_user,
           t->v.run_type[0] ? t->v.run_type : "-", t->v.engine, t->v.language, rn_job_id(t->job));
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_key(&f, "execID");
    rn_jbuf_jcstr(&f, t->v.exec_id);
    rn_jbuf_printf(&f, ",\"taskID\":%lld", (long long)t->v.task_id);
    lk_out_send(o, LK_ST_OK, "The request was executed successfully", &f, 0);
    rn_jbuf_free(&f);
    t->announced = true;
    push_status(t); /* Inited */
    note(t, "Job with execID %s and taskID %lld submitted: runType %s runs as %s.", t->v.exec_id,
         (long long)t->v.task_id, t->v.run_type[0] ? t->v.run_type : t->v.engine, t->v.language);
    t->v.stage = 0;
    set_state(t, LK_SCHEDULED);
    note(t, "Your job is Scheduled. Please wait it to run.");
    push_progress(t);
}

/* The job was refused: the task ends Failed with the reason. */
void lk_tasks_refused(lk_task *t, const char *why)
{
    if (t->conn) {
        lk_ws *w = rn_conn_data(t->conn);
        if (w && w->inflight)
            w->inflight--;
        rn_conn_unref(t->conn);
        t->conn = NULL;
    }
    t->v.state = LK_FAILED;
    t->v.err_code = 1;
    snprintf(t->v.err_desc, sizeof(t->v.err_desc), "%s", why);
    t->v.updated_ms = rn_store_now_ms();
    t->ended_ms = rn_now_ms();
    lk_log_add(&t->log, LK_LOG_ERROR, why, strlen(why));
    t->v.log_lines = t->log.n;
    if (t->row_saved) {
        lk_tasks_save_end(t);
    } else {
        lk_task_unlink(t);
        lk_task_free(t);
    }
}

void lk_tasks_execute(const lk_out *o, const cJSON *data, const lk_caller *who, lk_ws *w)
{
    rn_host_info info;
    rn_host_info_get(LK.host, &info);
    char msg[1024];
    if (w && w->inflight >= info.per_connection) {
        snprintf(msg, sizeof(msg), "too many jobs running on this connection (limit %u)",
                 info.per_connection);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        return;
    }
    LK.out_max = info.limits->output_bytes;
    lk_req req;
    int st =
        lk_req_parse(data, rn_host_specs(LK.host), info.limits->code_bytes, &req, msg, sizeof(msg));
    if (st) {
        lk_out_error(o, st, msg, 0);
        lk_req_free(&req);
        return;
    }
    if (!LK.store)
        lk_tasks_prune(true);
    if (LK.n >= LK.conf.max_jobs) {
        snprintf(msg, sizeof(msg),
                 "server is busy: %zu Linkis jobs are running or queued, try again later", LK.n);
        lk_out_error(o, LK_ST_ERROR, msg, 0);
        lk_req_free(&req);
        return;
    }
    lk_task *t = calloc(1, sizeof(*t));
    if (!t) {
        lk_out_internal(o, "out of memory", "runnel: calloc: out of memory");
        lk_req_free(&req);
        return;
    }
    st = task_users(t, data, who, msg, sizeof(msg));
    int r = st ? 0 : task_fill(t, &req, data, w, o);
    lk_req_free(&req);
    if (st || r < 0) {
        if (st)
            lk_out_error(o, st, msg, 0);
        else if (r == -ENAMETOOLONG)
            lk_out_error(o, LK_ST_INVALID, "execID would be too long", 0);
        else
            lk_out_internal(o, "out of memory", "runnel: out of memory");
        lk_task_free(t);
        return;
    }
    append_task(t);
    if (w) {
        t->conn = w->conn;
        rn_conn_ref(w->conn);
        w->inflight++;
    }
    if (!LK.store) {
        lk_tasks_start(t, o);
        return;
    }
    if (!(t->reply = lk_later_new(o))) {
        lk_tasks_refused(t, "out of memory");
        return;
    }
    lk_tasks_save_row(t);
}
