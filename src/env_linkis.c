/* The Linkis envelope: the entrance WebSocket (…/entrance/connect) with its
 * {method, data, websocketTag} frames and status/log/progress pushes, the
 * entrance REST API it falls back to, and an optional login (see
 * docs/linkis.md).
 *
 * Every job lives in a store until retention_ms after its end, so status,
 * log and figures stay queryable by execID from any socket or by REST. A
 * job belongs to the store, not to its socket: by default it keeps running
 * when the socket that started it goes away (Linkis clients then poll over
 * HTTP), unless kill_on_disconnect is set. Logs are kept line by line with
 * a level (stdout info, stderr error, runnel's own lines info), each capped
 * by the run's output limit; the store is bounded by max_jobs and
 * max_log_bytes, evicting the oldest finished jobs first. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "jbuf.h"
#include "linkis_req.h"
#include "log.h"

#define LK_COOKIE       "linkis_user_session_ticket_id_v1"
#define LK_SESSIONS_MAX 1024
#define LK_TICKET_HEX   16 /* bytes of randomness */
#define LK_INSTANCE_MAX 99
#define LK_LOG_EXTRA    65536 /* log room for runnel's own lines */
#define LK_ENTRANCE     "/api/rest_j/v1/entrance/"
#define LK_USERS_MAX    1000
#define LK_PASSWORD_MAX 256

typedef enum {
    ST_INITED = 0,
    ST_SCHEDULED,
    ST_RUNNING,
    ST_SUCCEED,
    ST_FAILED,
    ST_CANCELLED,
    ST_TIMEOUT,
} lk_state;

static const char *const state_names[] = {"Inited", "Scheduled", "Running", "Succeed",
                                          "Failed", "Cancelled", "Timeout"};

typedef struct {
    char user[LK_NAME_MAX + 1];
    char *password;
    bool admin;
} lk_user;

typedef struct {
    char ticket[2 * LK_TICKET_HEX + 1];
    char user[LK_NAME_MAX + 1];
    uint64_t expires_ms;
} lk_session;

/* Per WebSocket connection. */
typedef struct {
    rn_conn *conn;
    char ticket[2 * LK_TICKET_HEX + 1]; /* from the upgrade's cookie */
    unsigned inflight;                  /* jobs started here and not ended */
} lk_ws;

typedef struct lk_job {
    struct lk_job *prev, *next; /* store, oldest first */
    char exec_id[LK_ID_MAX + 1];
    uint64_t task_id;
    char user[LK_NAME_MAX + 1];
    char *tag;     /* websocketTag of the execute request, or NULL */
    rn_job *job;   /* NULL once ended */
    rn_conn *conn; /* the socket that started it (a ref until the end), or NULL */
    bool tracked;
    lk_state state;
    int nstages; /* queue, [compile,] run */
    int stage;   /* index of the stage running (or where the job ended); -1 = none */
    uint64_t ended_ms;
    rn_job_result res;
    lk_log log;
} lk_job;

/* The linkis section of the configuration. */
typedef struct {
    cJSON *users; /* {enabled, list: [{userName, password, admin}]} */
    uint64_t retention_ms;
    uint64_t max_jobs;
    uint64_t max_log_bytes;
    uint64_t session_timeout_ms;
    char instance[LK_INSTANCE_MAX + 1];
    bool kill_on_disconnect;
} lk_conf;

static struct {
    rn_host *host;
    bool users_enabled;
    lk_user *users;
    size_t nusers;
    uint64_t retention_ms;
    uint64_t max_jobs;
    uint64_t max_log_bytes;
    uint64_t session_timeout_ms;
    bool kill_on_disconnect;
    char instance[LK_INSTANCE_MAX + 1];
    lk_job *head, *tail;
    size_t njobs;
    uint64_t next_task;
    lk_session *sessions;
} G;

static bool tls_on(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    return info.tls;
}

/* ---------------------------------------------------------------- output */

/* Where a reply goes: a socket (with the request's websocketTag) or an
 * HTTP request; method is echoed. */
typedef struct {
    rn_conn *conn;
    rn_http *http;
    const char *method;
    const char *tag;
} lk_out;

static int http_status_of(int status)
{
    switch (status) {
    case LK_ST_NOLOGIN:
        return 401;
    case LK_ST_OK:
        return 200;
    case LK_ST_INVALID:
        return 412;
    case LK_ST_DENIED:
        return 403;
    default:
        return 400;
    }
}

/* A JSON string of text a client may have sent (or that was cut inside a
 * character): invalid UTF-8 becomes U+FFFD rather than a broken frame. */
static void jstr_safe(rn_jbuf *b, const char *s)
{
    if (!s) {
        rn_jbuf_str(b, "null");
        return;
    }
    size_t n = strlen(s);
    if (rn_utf8_valid(s, n)) {
        rn_jbuf_jstr(b, s, n);
        return;
    }
    rn_jbuf clean;
    unsigned char carry[4];
    size_t carry_len = 0;
    rn_jbuf_init(&clean, 0);
    rn_utf8_sanitize(&clean, carry, &carry_len, s, n, true);
    rn_jbuf_jstr(b, clean.data ? clean.data : "", clean.len);
    if (clean.oom)
        b->oom = true;
    rn_jbuf_free(&clean);
}

/* Send {method, status, message, data:{fields[, websocketTag]}[, websocketTag]}.
 * fields is the inside of data (may be NULL); http_status 0 = Linkis' mapping. */
static void out_send(const lk_out *o, int status, const char *message, const rn_jbuf *fields,
                     int http_status)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"method\":");
    jstr_safe(&b, o->method);
    rn_jbuf_printf(&b, ",\"status\":%d,\"message\":", status);
    jstr_safe(&b, message);
    rn_jbuf_str(&b, ",\"data\":{");
    if (fields && fields->len)
        rn_jbuf_raw(&b, fields->data, fields->len);
    if (o->conn && o->tag) {
        rn_jbuf_key(&b, "websocketTag");
        jstr_safe(&b, o->tag);
    }
    rn_jbuf_str(&b, "}");
    if (o->conn && o->tag) {
        rn_jbuf_key(&b, "websocketTag");
        jstr_safe(&b, o->tag);
    }
    rn_jbuf_str(&b, "}");
    if (fields && fields->oom)
        b.oom = true;
    if (b.oom) {
        static const char oom[] = "{\"method\":null,\"status\":1,\"message\":\"out of memory\","
                                  "\"data\":{\"stack\":\"runnel: out of memory\"}}";
        if (o->conn)
            rn_conn_send(o->conn, oom, sizeof(oom) - 1);
        else if (o->http)
            rn_http_reply(o->http, 500, "application/json", oom, sizeof(oom) - 1);
    } else if (o->conn) {
        rn_conn_send(o->conn, b.data, b.len);
    } else if (o->http) {
        rn_http_reply(o->http, http_status ? http_status : http_status_of(status),
                      "application/json", b.data, b.len);
    }
    rn_jbuf_free(&b);
}

static void out_error(const lk_out *o, int status, const char *message, int http_status)
{
    out_send(o, status, message, NULL, http_status);
}

/* An internal error: status 1 with data.stack. */
static void out_internal(const lk_out *o, const char *message, const char *stack)
{
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_key(&f, "stack");
    rn_jbuf_jcstr(&f, stack);
    out_send(o, LK_ST_ERROR, message, &f, 500);
    rn_jbuf_free(&f);
}

/* ---------------------------------------------------------------- store */

static bool job_ended(const lk_job *j)
{
    return j->state >= ST_SUCCEED;
}

static void job_free(lk_job *j)
{
    lk_log_free(&j->log);
    free(j->tag);
    free(j);
}

static void store_unlink(lk_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        G.head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        G.tail = j->prev;
    G.njobs--;
}

static void store_append(lk_job *j)
{
    j->prev = G.tail;
    j->next = NULL;
    if (G.tail)
        G.tail->next = j;
    else
        G.head = j;
    G.tail = j;
    G.njobs++;
}

/* Drop finished jobs past retention, then the oldest finished ones while
 * over max_jobs (counting room for one more when room) or max_log_bytes. */
static void store_prune(bool room)
{
    uint64_t now = rn_now_ms();
    size_t bytes = 0;
    for (lk_job *j = G.head, *next; j; j = next) {
        next = j->next;
        if (job_ended(j) && now - j->ended_ms >= G.retention_ms) {
            store_unlink(j);
            job_free(j);
        } else {
            bytes += j->log.used;
        }
    }
    for (lk_job *j = G.head, *next; j; j = next) {
        next = j->next;
        if (G.njobs + (room ? 1 : 0) <= G.max_jobs && bytes <= G.max_log_bytes)
            break;
        if (!job_ended(j))
            continue;
        bytes -= j->log.used;
        store_unlink(j);
        job_free(j);
    }
}

/* An execID, or a taskID written as digits. */
static lk_job *store_find(const char *id)
{
    store_prune(false);
    for (lk_job *j = G.head; j; j = j->next)
        if (!strcmp(j->exec_id, id))
            return j;
    char *end;
    errno = 0;
    unsigned long long t = id[0] >= '0' && id[0] <= '9' ? strtoull(id, &end, 10) : 0;
    if (t && !*end && !errno)
        for (lk_job *j = G.head; j; j = j->next)
            if (j->task_id == t)
                return j;
    return NULL;
}

/* ---------------------------------------------------------------- sessions */

static const char *cookie_ticket(const char *cookie, char *buf, size_t size)
{
    buf[0] = 0;
    if (!cookie)
        return NULL;
    const size_t klen = strlen(LK_COOKIE);
    for (const char *p = cookie; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > klen && !strncmp(p, LK_COOKIE, klen) && p[klen] == '=') {
            size_t vl = len - klen - 1;
            if (vl < size) {
                memcpy(buf, p + klen + 1, vl);
                buf[vl] = 0;
                return buf;
            }
        }
        p += len;
    }
    return NULL;
}

static lk_session *session_find(const char *ticket)
{
    if (!ticket || !ticket[0] || !G.sessions)
        return NULL;
    uint64_t now = rn_now_ms();
    for (size_t i = 0; i < LK_SESSIONS_MAX; i++) {
        lk_session *s = &G.sessions[i];
        if (s->ticket[0] && !strcmp(s->ticket, ticket)) {
            if (now >= s->expires_ms) {
                memset(s, 0, sizeof(*s));
                return NULL;
            }
            return s;
        }
    }
    return NULL;
}

static lk_session *session_new(const char *user)
{
    if (!G.sessions)
        return NULL;
    uint64_t now = rn_now_ms();
    lk_session *slot = &G.sessions[0];
    for (size_t i = 0; i < LK_SESSIONS_MAX; i++) {
        lk_session *s = &G.sessions[i];
        if (!s->ticket[0] || now >= s->expires_ms) {
            slot = s;
            break;
        }
        if (s->expires_ms < slot->expires_ms)
            slot = s; /* full: the one closest to expiry goes */
    }
    memset(slot, 0, sizeof(*slot));
    if (rn_random_hex(slot->ticket, LK_TICKET_HEX) < 0)
        return NULL;
    snprintf(slot->user, sizeof(slot->user), "%s", user);
    slot->expires_ms = now + G.session_timeout_ms;
    return slot;
}

/* The user of a request: the session's, or "anonymous" when users are off
 * and there is none. NULL = not logged in (users on). */
static const char *request_user(const char *ticket)
{
    lk_session *s = session_find(ticket);
    if (s) {
        s->expires_ms = rn_now_ms() + G.session_timeout_ms;
        return s->user;
    }
    return G.users_enabled ? NULL : "anonymous";
}

static const char nologin_msg[] =
    "You are not logged in, please login first(您尚未登录，请先登录)!";

/* ---------------------------------------------------------------- job frames */

static void write_progress_fields(rn_jbuf *b, const lk_job *j, bool with_resource)
{
    static const char *const names3[] = {"queue", "compile", "run"};
    static const char *const names2[] = {"queue", "run"};
    const char *const *names = j->nstages == 3 ? names3 : names2;
    int done = 0;
    bool ended = job_ended(j), ok = j->state == ST_SUCCEED;
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, j->exec_id);
    rn_jbuf_printf(b, ",\"taskID\":%llu", (unsigned long long)j->task_id);
    for (int i = 0; i < j->nstages; i++)
        if (i < j->stage || (ended && ok))
            done++;
    if (ended)
        rn_jbuf_str(b, ",\"progress\":1.0");
    else
        rn_jbuf_printf(b, ",\"progress\":%.4f", (double)done / j->nstages);
    rn_jbuf_str(b, ",\"progressInfo\":[");
    for (int i = 0; i < j->nstages; i++) {
        int succeed = i < j->stage || (ended && ok);
        int failed = ended && !ok && i == j->stage;
        int running = !ended && i == j->stage;
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

static void write_status_fields(rn_jbuf *b, const lk_job *j)
{
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, j->exec_id);
    rn_jbuf_printf(b, ",\"taskID\":%llu,\"status\":", (unsigned long long)j->task_id);
    rn_jbuf_jcstr(b, state_names[j->state]);
    if (!job_ended(j))
        return;
    const rn_job_result *r = &j->res;
    rn_jbuf_str(b, ",\"result\":{\"reason\":");
    rn_jbuf_jcstr(b, rn_job_end_name(r->reason));
    rn_jbuf_printf(b,
                   ",\"exitCode\":%d,\"signal\":%d,\"costTime\":%llu,\"wallTime\":%llu,"
                   "\"cpuTime\":%llu,\"memoryPeak\":%llu,\"outputBytes\":%llu",
                   r->exit_code, r->signal, (unsigned long long)r->exec_ms,
                   (unsigned long long)r->wall_ms, (unsigned long long)r->cpu_ms,
                   (unsigned long long)r->memory_peak, (unsigned long long)r->output_bytes);
    if (r->message[0]) {
        rn_jbuf_key(b, "message");
        rn_jbuf_jcstr(b, r->message);
    }
    rn_jbuf_str(b, "}");
}

/* Lines [from, from+count) as {execID, log, taskID, fromLine}; fromLine is
 * from plus the lines sent (what to ask for next), as in Linkis. */
static void write_log_fields(rn_jbuf *b, const lk_job *j, size_t from, long long count,
                             bool distinct)
{
    rn_jbuf_key(b, "execID");
    rn_jbuf_jcstr(b, j->exec_id);
    rn_jbuf_key(b, "log");
    size_t n = lk_log_write(&j->log, b, from, count, distinct);
    rn_jbuf_printf(b, ",\"taskID\":%llu,\"fromLine\":%llu", (unsigned long long)j->task_id,
                   (unsigned long long)(from + n));
}

/* A push to the socket that started the job, if it is still there. */
static bool job_can_push(const lk_job *j)
{
    return j->conn && rn_conn_open(j->conn);
}

static void push(lk_job *j, const char *what, const char *message, const rn_jbuf *fields)
{
    char method[LK_ID_MAX + 64];
    snprintf(method, sizeof(method), LK_ENTRANCE "%s/%s", j->exec_id, what);
    lk_out o = {.conn = j->conn, .method = method, .tag = j->tag};
    out_send(&o, LK_ST_OK, message, fields, 0);
}

static void push_status(lk_job *j)
{
    if (!job_can_push(j))
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    write_status_fields(&f, j);
    push(j, "status", "Return status information", &f);
    rn_jbuf_free(&f);
}

static void push_progress(lk_job *j)
{
    if (!job_can_push(j))
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    write_progress_fields(&f, j, false);
    push(j, "progress", "Return progress information", &f);
    rn_jbuf_free(&f);
}

/* Push the lines stored since from (nothing when there are none). */
static void push_log_from(lk_job *j, size_t from)
{
    if (!job_can_push(j) || from >= j->log.n)
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    write_log_fields(&f, j, from, -1, true);
    push(j, "log", "Return log information", &f);
    rn_jbuf_free(&f);
}

/* One of runnel's own lines ("2024-05-01 12:00:00.123 INFO text"), stored
 * and pushed. */
static void job_note(lk_job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void job_note(lk_job *j, const char *fmt, ...)
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
    int n = snprintf(line, sizeof(line), "%s.%03ld INFO %s", date, ts.tv_nsec / 1000000L, text);
    size_t from = j->log.n;
    lk_log_add(&j->log, LK_LOG_INFO, line, n < 0 ? 0 : strnlen(line, sizeof(line)));
    push_log_from(j, from);
}

static void job_set_state(lk_job *j, lk_state s)
{
    j->state = s;
    push_status(j);
}

/* ---------------------------------------------------------------- job callbacks */

static void job_on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    lk_job *j = ud;
    (void)job;
    if (stage != RN_JOB_COMPILING && stage != RN_JOB_RUNNING)
        return;
    int idx = stage == RN_JOB_COMPILING ? 1 : j->nstages - 1;
    if (idx <= j->stage)
        return;
    bool first = j->state < ST_RUNNING;
    j->stage = idx;
    if (first) {
        job_set_state(j, ST_RUNNING);
        job_note(j, "Your job is Running now. Please wait it to complete.");
    }
    if (stage == RN_JOB_COMPILING)
        job_note(j, "Compiling the %s program.", rn_job_spec(job)->name);
    else if (!first)
        job_note(j, "Compiled; the program is running now.");
    push_progress(j);
}

static void job_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    lk_job *j = ud;
    (void)job;
    size_t from = j->log.n;
    lk_log_feed(&j->log, fd, data, len);
    push_log_from(j, from);
}

static lk_state end_state(const rn_job_result *r)
{
    switch (r->reason) {
    case RN_JOB_END_EXITED:
        return r->exit_code == 0 ? ST_SUCCEED : ST_FAILED;
    case RN_JOB_END_KILLED:
        return ST_CANCELLED;
    case RN_JOB_END_TIMEOUT:
    case RN_JOB_END_CPU_LIMIT:
        return ST_TIMEOUT;
    default:
        return ST_FAILED;
    }
}

static void job_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    lk_job *j = ud;
    size_t from = j->log.n;
    lk_log_flush(&j->log);
    push_log_from(j, from);
    j->res = *res;
    lk_state st = end_state(res);
    if (res->reason == RN_JOB_END_EXITED)
        job_note(j,
                 "Your job is %s: the program exited with code %d (%llu ms, cpu %llu ms, "
                 "peak memory %llu bytes).",
                 state_names[st], res->exit_code, (unsigned long long)res->exec_ms,
                 (unsigned long long)res->cpu_ms, (unsigned long long)res->memory_peak);
    else
        job_note(j, "Your job is %s: %s (reason %s, %llu ms).", state_names[st],
                 res->message[0] ? res->message : rn_job_end_name(res->reason),
                 rn_job_end_name(res->reason), (unsigned long long)res->exec_ms);
    j->state = st;
    j->ended_ms = rn_now_ms();
    j->job = NULL;
    push_progress(j);
    push_status(j);
    rn_log(RN_LOG_DEBUG, "linkis.end", "execID=%s taskID=%llu status=%s lines=%zu", j->exec_id,
           (unsigned long long)j->task_id, state_names[st], j->log.n);
    if (j->conn) {
        lk_ws *w = rn_conn_data(j->conn);
        if (w && w->inflight)
            w->inflight--;
        if (j->tracked)
            rn_conn_untrack(j->conn, job);
        rn_conn_unref(j->conn);
        j->conn = NULL;
    }
}

static const rn_job_callbacks job_callbacks = {job_on_stage, job_on_output, job_on_end};

/* ---------------------------------------------------------------- requests */

/* A request parameter: the query of a REST call or a field of a WebSocket
 * frame's data (string, number or boolean), as text. */
typedef struct {
    rn_http *http;
    const cJSON *data;
} lk_params;

static bool param(const lk_params *p, const char *name, char *buf, size_t size)
{
    if (p->http)
        return rn_http_query(p->http, name, buf, size) == 0;
    const cJSON *v =
        cJSON_IsObject(p->data) ? cJSON_GetObjectItemCaseSensitive(p->data, name) : NULL;
    if (cJSON_IsString(v))
        snprintf(buf, size, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        return false;
    return true;
}

/* An integer parameter (absent or blank = dflt); false when not an integer. */
static bool param_int(const lk_params *p, const char *name, long long dflt, long long *out)
{
    char buf[64];
    *out = dflt;
    if (!param(p, name, buf, sizeof(buf)) || !buf[0])
        return true;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno)
        return false;
    *out = v;
    return true;
}

static void do_execute(const lk_out *o, const cJSON *data, const char *user, lk_ws *w)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    char msg[1024];
    if (w && w->inflight >= info.per_connection) {
        snprintf(msg, sizeof(msg), "too many jobs running on this connection (limit %u)",
                 info.per_connection);
        out_error(o, LK_ST_ERROR, msg, 0);
        return;
    }
    const rn_jobs_limits *lim = info.limits;
    lk_req req;
    int st = lk_req_parse(data, rn_host_specs(G.host), lim->code_bytes, &req, msg, sizeof(msg));
    if (st) {
        out_error(o, st, msg, 0);
        lk_req_free(&req);
        return;
    }
    store_prune(true);
    if (G.njobs >= G.max_jobs) {
        snprintf(msg, sizeof(msg),
                 "server is busy: %zu Linkis jobs are running or queued, try again later", G.njobs);
        out_error(o, LK_ST_ERROR, msg, 0);
        lk_req_free(&req);
        return;
    }
    lk_job *j = calloc(1, sizeof(*j));
    if (!j) {
        out_internal(o, "out of memory", "runnel: calloc: out of memory");
        lk_req_free(&req);
        return;
    }
    uint64_t out_max = lim->output_bytes;
    if (req.output_bytes && req.output_bytes < out_max)
        out_max = req.output_bytes;
    lk_log_init(&j->log, (size_t)(2 * out_max + LK_LOG_EXTRA));
    j->task_id = G.next_task + 1;
    snprintf(j->user, sizeof(j->user), "%s", user);
    j->stage = -1;
    j->nstages = req.spec->compile ? 3 : 2;
    if (lk_exec_id(j->exec_id, sizeof(j->exec_id), req.creator, req.engine, G.instance, user,
                   j->task_id) < 0) {
        out_error(o, LK_ST_INVALID, "execID would be too long", 0);
        goto fail;
    }
    if (o->tag && !(j->tag = strdup(o->tag))) {
        out_internal(o, "out of memory", "runnel: strdup: out of memory");
        goto fail;
    }
    rn_job_request jr = {
        .language = req.spec->name,
        .code = req.code,
        .code_len = req.code_len,
        .wall_ms = req.wall_ms,
        .memory_bytes = req.memory_bytes,
        .output_bytes = req.output_bytes,
    };
    rn_host_origin from = {.conn = w ? w->conn : NULL,
                           .http = w ? NULL : o->http,
                           .track = w && G.kill_on_disconnect,
                           .inflight = w ? (int)w->inflight : -1};
    rn_host_refusal why;
    int err = rn_host_submit(G.host, &from, &jr, &job_callbacks, j, &j->job, &why);
    if (err < 0) {
        if (why.status == 500) {
            char stack[128];
            snprintf(stack, sizeof(stack), "runnel: rn_jobs_submit: %s", strerror(-err));
            out_internal(o, why.message, stack);
        } else {
            out_error(o, why.status == 400 || why.status == 413 ? LK_ST_INVALID : LK_ST_ERROR,
                      why.message, 0);
        }
        goto fail;
    }
    G.next_task++;
    store_append(j);
    if (w) {
        j->conn = w->conn;
        rn_conn_ref(w->conn);
        w->inflight++;
        j->tracked = G.kill_on_disconnect;
    }
    rn_log(RN_LOG_INFO, "linkis.execute",
           "execID=%s taskID=%llu user=%s runType=%s engine=%s language=%s runid=%s", j->exec_id,
           (unsigned long long)j->task_id, j->user, req.run_type[0] ? req.run_type : "-",
           req.engine, req.spec->name, rn_job_id(j->job));
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_key(&f, "execID");
    rn_jbuf_jcstr(&f, j->exec_id);
    rn_jbuf_printf(&f, ",\"taskID\":%llu", (unsigned long long)j->task_id);
    out_send(o, LK_ST_OK, "The request was executed successfully", &f, 0);
    rn_jbuf_free(&f);

    push_status(j); /* Inited */
    job_note(j, "Job with execID %s and taskID %llu submitted: runType %s runs as %s.", j->exec_id,
             (unsigned long long)j->task_id, req.run_type[0] ? req.run_type : req.engine,
             req.spec->name);
    j->stage = 0;
    job_set_state(j, ST_SCHEDULED);
    job_note(j, "Your job is Scheduled. Please wait it to run.");
    push_progress(j);
    lk_req_free(&req);
    return;
fail:
    lk_req_free(&req);
    job_free(j);
}

/* Look up the job of a per-job route; answers the error itself. */
static lk_job *find_job(const lk_out *o, const char *id, const char *user)
{
    lk_job *j = store_find(id);
    char msg[LK_ID_MAX + 64];
    if (!j) {
        snprintf(msg, sizeof(msg), "no such execID: %s", id);
        out_error(o, LK_ST_ERROR, msg, 404);
        return NULL;
    }
    if (G.users_enabled && strcmp(j->user, user)) {
        snprintf(msg, sizeof(msg), "%s may not access the job %s", user, id);
        out_error(o, LK_ST_DENIED, msg, 0);
        return NULL;
    }
    return j;
}

static void do_job_route(const lk_out *o, lk_route r, const char *id, const lk_params *p,
                         const char *user)
{
    lk_job *j = find_job(o, id, user);
    if (!j)
        return;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    switch (r) {
    case LK_R_STATUS:
        write_status_fields(&f, j);
        out_send(o, LK_ST_OK, "Return status information", &f, 0);
        break;
    case LK_R_PROGRESS:
    case LK_R_PROGRESS_RES:
        write_progress_fields(&f, j, r == LK_R_PROGRESS_RES);
        out_send(o, LK_ST_OK, "Return progress information", &f, 0);
        break;
    case LK_R_LOG: {
        long long from, size;
        char dl[16] = "";
        if (!param_int(p, "fromLine", 0, &from) || !param_int(p, "size", 100, &size)) {
            out_error(o, LK_ST_INVALID, "fromLine and size must be integers", 0);
            break;
        }
        param(p, "distinctLevel", dl, sizeof(dl));
        write_log_fields(&f, j, from < 0 ? 0 : (size_t)from, size < 0 ? -1 : size,
                         strcmp(dl, "false") != 0);
        out_send(o, LK_ST_OK, "Return log information", &f, 0);
        break;
    }
    case LK_R_KILL: {
        rn_jbuf_key(&f, "execID");
        rn_jbuf_jcstr(&f, j->exec_id);
        rn_jbuf_printf(&f, ",\"taskID\":%llu", (unsigned long long)j->task_id);
        if (j->job) {
            rn_log(RN_LOG_INFO, "linkis.kill", "execID=%s taskID=%llu", j->exec_id,
                   (unsigned long long)j->task_id);
            rn_job_kill(j->job);
            out_send(o, LK_ST_OK, "Successfully killed the job", &f, 0);
        } else {
            char msg[128];
            snprintf(msg, sizeof(msg), "The job had already ended with status %s",
                     state_names[j->state]);
            rn_jbuf_str(&f, ",\"status\":");
            rn_jbuf_jcstr(&f, state_names[j->state]);
            out_send(o, LK_ST_OK, msg, &f, 0);
        }
        break;
    }
    case LK_R_PAUSE:
        rn_jbuf_key(&f, "execID");
        rn_jbuf_jcstr(&f, j->exec_id);
        out_send(o, LK_ST_OK, "success to pause job (runnel does not pause jobs)", &f, 0);
        break;
    default:
        out_error(o, LK_ST_ERROR, "unknown request", 0);
        break;
    }
    rn_jbuf_free(&f);
}

static void do_runningtask(const lk_out *o, const char *user)
{
    unsigned n = 0;
    store_prune(false);
    for (lk_job *j = G.head; j; j = j->next)
        if (!job_ended(j) && (!G.users_enabled || !strcmp(j->user, user)))
            n++;
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    rn_jbuf_printf(&f, "\"runningTaskNumber\":%u,\"isCompleted\":%s", n, n ? "false" : "true");
    out_send(o, LK_ST_OK, "success", &f, 0);
    rn_jbuf_free(&f);
}

static void write_user_fields(rn_jbuf *f, const char *user)
{
    bool admin = false;
    for (size_t i = 0; i < G.nusers; i++)
        if (!strcmp(G.users[i].user, user))
            admin = G.users[i].admin;
    rn_jbuf_key(f, "userName");
    rn_jbuf_jcstr(f, user);
    rn_jbuf_printf(f, ",\"isAdmin\":%s,\"sessionTimeOut\":%llu,\"enableWatermark\":false",
                   admin ? "true" : "false", (unsigned long long)G.session_timeout_ms);
}

/* Compare without an early exit, so timing tells nothing of the password. */
static bool secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0 && lb;
}

static void rest_login(rn_http *h, const lk_out *o, const char *ticket)
{
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
    char qu[LK_NAME_MAX + 2] = "", qp[LK_PASSWORD_MAX + 2] = "";
    const char *name = NULL, *pass = NULL;
    if (len && !cJSON_IsObject(root)) {
        out_error(o, LK_ST_ERROR, "invalid JSON body", 0);
        goto out;
    }
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "userName");
    const cJSON *jp = cJSON_GetObjectItemCaseSensitive(root, "password");
    if (!jp)
        jp = cJSON_GetObjectItemCaseSensitive(root, "passwdEncrypt");
    if (cJSON_IsString(jn))
        name = jn->valuestring;
    else if (rn_http_query(h, "userName", qu, sizeof(qu)) == 0)
        name = qu;
    if (cJSON_IsString(jp))
        pass = jp->valuestring;
    else if (rn_http_query(h, "password", qp, sizeof(qp)) == 0)
        pass = qp;

    lk_session *s = session_find(ticket);
    char msg[256];
    rn_jbuf f;
    rn_jbuf_init(&f, 0);
    if (s) {
        snprintf(msg, sizeof(msg),
                 "%s already logged in, please log out before signing in"
                 "(已经登录，请先退出再进行登录)！",
                 s->user);
        rn_jbuf_key(&f, "userName");
        rn_jbuf_jcstr(&f, s->user);
        out_send(o, LK_ST_OK, msg, &f, 0);
        goto done;
    }
    if (G.users_enabled) {
        if (!name || !name[0]) {
            out_error(o, LK_ST_ERROR, "Username can not be empty(用户名不能为空)！", 0);
            goto done;
        }
        if (!pass || !pass[0]) {
            out_error(o, LK_ST_ERROR, "Password can not be blank(密码不能为空)！", 0);
            goto done;
        }
        const lk_user *u = NULL;
        for (size_t i = 0; i < G.nusers; i++)
            if (!strcmp(G.users[i].user, name))
                u = &G.users[i];
        /* compare even for an unknown user, so timing does not tell */
        bool ok = secret_equal(pass, u ? u->password : "\x01");
        if (!u || !ok) {
            rn_log(RN_LOG_INFO, "linkis.login_failed", "peer=%s", rn_http_peer(h));
            out_error(o, LK_ST_ERROR, "wrong user name or password(用户名或密码错误)！", 0);
            goto done;
        }
    } else if (!name || !name[0]) {
        name = "anonymous";
    } else if (!lk_name_ok(name)) {
        out_error(o, LK_ST_ERROR,
                  "userName must be 1 to 64 characters of letters, digits, '.', '_', '@', '-'", 0);
        goto done;
    }
    s = session_new(name);
    if (!s) {
        out_internal(o, "cannot create a session", "runnel: getrandom failed");
        goto done;
    }
    char cookie[256];
    snprintf(cookie, sizeof(cookie), LK_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax%s", s->ticket,
             tls_on() ? "; Secure" : "");
    rn_http_add_header(h, "set-cookie", cookie);
    write_user_fields(&f, s->user);
    out_send(o, LK_ST_OK, "login successful(登录成功)！", &f, 0);
done:
    rn_jbuf_free(&f);
out:
    cJSON_Delete(root);
}

static void rest_logout(rn_http *h, const lk_out *o, const char *ticket)
{
    lk_session *s = session_find(ticket);
    if (s)
        memset(s, 0, sizeof(*s));
    rn_http_add_header(h, "set-cookie", LK_COOKIE "=; Path=/; Max-Age=0");
    out_error(o, LK_ST_OK, "Logout successful(退出登录成功)！", 0);
}

/* Routes both transports share once the user is known. */
static void dispatch(const lk_out *o, lk_route r, const char *id, const lk_params *p,
                     const cJSON *exec_data, const char *user, lk_ws *w)
{
    switch (r) {
    case LK_R_EXECUTE:
        do_execute(o, exec_data, user, w);
        break;
    case LK_R_STATUS:
    case LK_R_LOG:
    case LK_R_PROGRESS:
    case LK_R_PROGRESS_RES:
    case LK_R_KILL:
    case LK_R_PAUSE:
        do_job_route(o, r, id, p, user);
        break;
    case LK_R_RUNNINGTASK:
        do_runningtask(o, user);
        break;
    case LK_R_USERINFO: {
        rn_jbuf f;
        rn_jbuf_init(&f, 0);
        rn_jbuf_key(&f, "userName");
        rn_jbuf_jcstr(&f, user);
        out_send(o, LK_ST_OK, "get user information succeed!", &f, 0);
        rn_jbuf_free(&f);
        break;
    }
    case LK_R_HEARTBEAT:
        out_error(o, LK_ST_OK, "Maintain heartbeat success(维系心跳成功)", 0);
        break;
    default: {
        char msg[LK_ID_MAX + 200];
        snprintf(msg, sizeof(msg), "Unresolvable request: %.300s", o->method ? o->method : "");
        out_error(o, LK_ST_ERROR, msg, 404);
        break;
    }
    }
}

/* ---------------------------------------------------------------- WebSocket */

static int linkis_ws_open(void *state, rn_conn *c)
{
    (void)state;
    lk_ws *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->conn = c;
    cookie_ticket(rn_conn_header(c, "cookie"), w->ticket, sizeof(w->ticket));
    rn_conn_set_data(c, w, free);
    return 0;
}

static void linkis_ws_message(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    lk_ws *w = rn_conn_data(c);
    lk_out o = {.conn = c};
    if (binary) {
        out_error(&o, LK_ST_ERROR, "binary frames are not supported: send JSON text", 0);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!cJSON_IsObject(root)) {
        out_error(&o, LK_ST_ERROR,
                  root ? "invalid request: expected a JSON object" : "invalid JSON", 0);
        goto out;
    }
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *tag = cJSON_GetObjectItemCaseSensitive(root, "websocketTag");
    if (!tag || cJSON_IsNull(tag))
        tag = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "websocketTag") : NULL;
    if (cJSON_IsString(tag) && strlen(tag->valuestring) <= LK_TAG_MAX)
        o.tag = tag->valuestring;
    if (cJSON_IsString(method))
        o.method = method->valuestring;
    if (tag && !cJSON_IsNull(tag) && !o.tag) {
        char m[96];
        snprintf(m, sizeof(m), "websocketTag must be a string of at most %d characters",
                 LK_TAG_MAX);
        out_error(&o, LK_ST_INVALID, m, 0);
        goto out;
    }
    if (!o.method) {
        out_error(&o, LK_ST_ERROR,
                  method ? "method must be a string"
                         : "missing method: send {method, data, "
                           "websocketTag}",
                  0);
        goto out;
    }
    if (data && !cJSON_IsNull(data) && !cJSON_IsObject(data)) {
        out_error(&o, LK_ST_INVALID, "data must be an object", 0);
        goto out;
    }
    char id[LK_ID_MAX + 1];
    lk_route r = lk_route_parse(o.method, id, sizeof(id));
    if (r == LK_R_LOGIN || r == LK_R_LOGOUT) {
        out_error(&o, LK_ST_ERROR,
                  "log in and out over HTTP (POST /api/rest_j/v1/user/login), then connect "
                  "with the session cookie",
                  0);
        goto out;
    }
    if (r == LK_R_NONE || r == LK_R_UNKNOWN || r == LK_R_CONNECT) {
        char m[600];
        snprintf(m, sizeof(m), "Unresolvable webSocket request: %.500s", o.method);
        out_error(&o, LK_ST_ERROR, m, 0);
        goto out;
    }
    const char *user = request_user(w ? w->ticket : NULL);
    if (!user) {
        out_error(&o, LK_ST_NOLOGIN, nologin_msg, 0);
        goto out;
    }
    lk_params p = {.data = data};
    dispatch(&o, r, id, &p, data, user, w);
out:
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- REST */

static void linkis_http(void *state, rn_http *h)
{
    (void)state;
    const char *path = rn_http_path(h), *m = rn_http_method(h);
    char id[LK_ID_MAX + 1];
    lk_route r = lk_route_parse(path, id, sizeof(id));
    lk_out o = {.http = h, .method = path};
    if (r == LK_R_NONE || r == LK_R_UNKNOWN) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Unresolvable request: %s %.1000s", m, path);
        out_error(&o, LK_ST_ERROR, msg, 404);
        return;
    }
    if (r == LK_R_CONNECT) {
        out_error(&o, LK_ST_ERROR, "Upgrade Required: open a WebSocket here", 426);
        return;
    }
    bool post_only = r == LK_R_EXECUTE || r == LK_R_LOGIN;
    if (post_only ? strcmp(m, "POST") : (strcmp(m, "GET") && strcmp(m, "POST"))) {
        out_error(&o, LK_ST_ERROR, "Method Not Allowed", 405);
        return;
    }
    char tbuf[128];
    const char *ticket = cookie_ticket(rn_http_header(h, "cookie"), tbuf, sizeof(tbuf));
    if (r == LK_R_LOGIN) {
        rest_login(h, &o, ticket);
        return;
    }
    if (r == LK_R_LOGOUT) {
        rest_logout(h, &o, ticket);
        return;
    }
    const char *user = request_user(ticket);
    if (!user) {
        out_error(&o, LK_ST_NOLOGIN, nologin_msg, 0);
        return;
    }
    cJSON *root = NULL;
    const cJSON *exec_data = NULL;
    if (r == LK_R_EXECUTE) {
        size_t len;
        const char *body = rn_http_body(h, &len);
        root = cJSON_ParseWithLength(body, len);
        if (!cJSON_IsObject(root)) {
            out_error(&o, LK_ST_ERROR,
                      root ? "invalid request: expected a JSON object" : "invalid JSON", 0);
            cJSON_Delete(root);
            return;
        }
        /* The whole WebSocket frame {method, data} posted is accepted too. */
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
        exec_data = root;
        if (cJSON_IsObject(d) && !cJSON_GetObjectItemCaseSensitive(root, "executionCode") &&
            !cJSON_GetObjectItemCaseSensitive(root, "executionContent"))
            exec_data = d;
    }
    lk_params p = {.http = h};
    dispatch(&o, r, id, &p, exec_data, user, NULL);
    cJSON_Delete(root);
    return;
}

/* ---------------------------------------------------------------- config */

static void free_users(void)
{
    for (size_t i = 0; i < G.nusers; i++)
        free(G.users[i].password);
    free(G.users);
    G.users = NULL;
    G.nusers = 0;
}

static int cfg_users(const cJSON *u, char *err, size_t size)
{
    if (!u || cJSON_IsNull(u))
        return 0;
    if (!cJSON_IsObject(u)) {
        snprintf(err, size, "linkis.users: must be an object {enabled, list}");
        return -EINVAL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, u)
    {
        if (strcmp(it->string, "enabled") && strcmp(it->string, "list")) {
            snprintf(err, size, "linkis.users.%.64s: unknown key (enabled, list)", it->string);
            return -EINVAL;
        }
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(u, "enabled");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(u, "list");
    if (en && !cJSON_IsBool(en)) {
        snprintf(err, size, "linkis.users.enabled: must be true or false");
        return -EINVAL;
    }
    if (list && !cJSON_IsArray(list)) {
        snprintf(err, size, "linkis.users.list: must be an array of {userName, password}");
        return -EINVAL;
    }
    int n = list ? cJSON_GetArraySize(list) : 0;
    if (n > LK_USERS_MAX) {
        snprintf(err, size, "linkis.users.list: at most %d users", LK_USERS_MAX);
        return -EINVAL;
    }
    G.users_enabled = cJSON_IsTrue(en);
    if (G.users_enabled && n == 0) {
        snprintf(err, size, "linkis.users.list: must name at least one user when enabled");
        return -EINVAL;
    }
    if (n && !(G.users = calloc((size_t)n, sizeof(*G.users)))) {
        snprintf(err, size, "linkis.users: out of memory");
        return -ENOMEM;
    }
    int i = 0;
    cJSON_ArrayForEach(it, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "userName");
        const cJSON *pw = cJSON_GetObjectItemCaseSensitive(it, "password");
        const cJSON *adm = cJSON_GetObjectItemCaseSensitive(it, "admin");
        if (!cJSON_IsObject(it) || !cJSON_IsString(name) || !lk_name_ok(name->valuestring)) {
            snprintf(err, size,
                     "linkis.users.list[%d].userName: must be 1 to %d characters of letters, "
                     "digits, '.', '_', '@', '-'",
                     i, LK_NAME_MAX);
            return -EINVAL;
        }
        if (!cJSON_IsString(pw) || !pw->valuestring[0] ||
            strlen(pw->valuestring) > LK_PASSWORD_MAX) {
            snprintf(err, size, "linkis.users.list[%d].password: must be a non-empty string", i);
            return -EINVAL;
        }
        if (adm && !cJSON_IsBool(adm)) {
            snprintf(err, size, "linkis.users.list[%d].admin: must be true or false", i);
            return -EINVAL;
        }
        for (size_t k = 0; k < G.nusers; k++) {
            if (!strcmp(G.users[k].user, name->valuestring)) {
                snprintf(err, size, "linkis.users.list[%d].userName: '%s' is listed twice", i,
                         name->valuestring);
                return -EINVAL;
            }
        }
        lk_user *usr = &G.users[G.nusers];
        if (!(usr->password = strdup(pw->valuestring))) {
            snprintf(err, size, "linkis.users: out of memory");
            return -ENOMEM;
        }
        snprintf(usr->user, sizeof(usr->user), "%s", name->valuestring);
        usr->admin = cJSON_IsTrue(adm);
        G.nusers++;
        i++;
    }
    return 0;
}

static void default_instance(void)
{
    rn_host_info info;
    rn_host_info_get(G.host, &info);
    char host[256];
    snprintf(host, sizeof(host), "%s", info.listen_host);
    if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "[::]")) {
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = 0;
    }
    int port = info.port;
    snprintf(G.instance, sizeof(G.instance), "%.80s:%d", host, port);
}

static int linkis_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    const lk_conf *c = conf;
    int r = -EINVAL;
    free_users();
    G.host = host;
    *state = &G;
    G.users_enabled = false;
    G.retention_ms = c->retention_ms;
    G.max_jobs = c->max_jobs;
    G.max_log_bytes = c->max_log_bytes;
    G.session_timeout_ms = c->session_timeout_ms;
    G.kill_on_disconnect = c->kill_on_disconnect;
    G.instance[0] = 0;
    if (c->instance[0]) {
        const char *s = c->instance;
        bool ok = true;
        for (const char *p = s; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr(".-_:[]", *p);
        if (!ok) {
            snprintf(err, size,
                     "linkis.instance: must be host:port, at most %d characters of letters, "
                     "digits and . - _ : [ ]",
                     LK_INSTANCE_MAX);
            goto fail;
        }
        snprintf(G.instance, sizeof(G.instance), "%s", s);
    } else {
        default_instance();
    }
    if ((r = cfg_users(c->users, err, size)))
        goto fail;
    if (!G.sessions && !(G.sessions = calloc(LK_SESSIONS_MAX, sizeof(*G.sessions)))) {
        snprintf(err, size, "linkis: out of memory");
        r = -ENOMEM;
        goto fail;
    }
    rn_log(RN_LOG_DEBUG, "linkis.init", "instance=%s users=%s retention_ms=%llu max_jobs=%llu",
           G.instance, G.users_enabled ? "on" : "off", (unsigned long long)G.retention_ms,
           (unsigned long long)G.max_jobs);
    return 0;
fail:
    free_users();
    G.users_enabled = false;
    return r;
}

static void linkis_fini(void *state)
{
    (void)state;
    while (G.head) {
        lk_job *j = G.head;
        store_unlink(j);
        job_free(j); /* every job has ended by now; the server is gone */
    }
    free_users();
    free(G.sessions);
    G.sessions = NULL;
}

static void linkis_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    char msg[1200];
    lk_out o = {.http = h, .method = rn_http_path(h)};
    if (status == 404)
        snprintf(msg, sizeof(msg), "Unresolvable request: %s %.1000s", rn_http_method(h),
                 rn_http_path(h));
    else if (status == 426)
        snprintf(msg, sizeof(msg), "Upgrade Required: open a WebSocket here");
    else
        snprintf(msg, sizeof(msg), "%s", message);
    out_error(&o, LK_ST_ERROR, msg, status);
}

#define LK_SLASH RN_ROUTE_SLASH
static const rn_ws_endpoint linkis_ws[] = {
    {NULL, "/api/rest_j/v1/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/rest_j/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/res_j/entrance/connect", LK_SLASH, NULL},
    {NULL, "/api/res_j/v1/entrance/connect", LK_SLASH, NULL},
    {NULL, "/ws/api/entrance/connect", LK_SLASH, NULL},
    {0},
};

/* Linkis' own router (linkis_req.c) splits the paths below these. */
static const rn_route linkis_routes[] = {
    {NULL, "/api/rest_j", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/api/res_j", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/api/entrance", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/ws/api/entrance", RN_ROUTE_PREFIX, linkis_http},
    {NULL, "/ws/api/user", RN_ROUTE_PREFIX, linkis_http},
    {0},
};

static const rn_conf_key linkis_keys[] = {
    RN_CONF_KEY_JSON("users", lk_conf, users,
                     "Linkis logins: {enabled, list: [{userName, password, admin}]}"),
    RN_CONF_KEY_U64("retention_ms", lk_conf, retention_ms, 0, 9007199254740991ull, "600000",
                    "how long a finished job stays answerable"),
    RN_CONF_KEY_U64("max_jobs", lk_conf, max_jobs, 1, 9007199254740991ull, "1000",
                    "jobs kept (running and finished)"),
    RN_CONF_KEY_U64("max_log_bytes", lk_conf, max_log_bytes, 0, 9007199254740991ull, "268435456",
                    "log bytes kept over all jobs"),
    RN_CONF_KEY_U64("session_timeout_ms", lk_conf, session_timeout_ms, 1000, 9007199254740991ull,
                    "7200000", "idle time before a login session ends"),
    RN_CONF_KEY_STR("instance", lk_conf, instance, NULL,
                    "host:port in execIDs (default: the listen address)"),
    RN_CONF_KEY_BOOL("kill_on_disconnect", lk_conf, kill_on_disconnect, "false",
                     "kill a WebSocket's jobs when it closes"),
};

const rn_envelope rn_env_linkis = {
    .name = "linkis",
    .keys = linkis_keys,
    .nkeys = sizeof(linkis_keys) / sizeof(linkis_keys[0]),
    .conf_size = sizeof(lk_conf),
    .init = linkis_init,
    .fini = linkis_fini,
    .routes = linkis_routes,
    .ws = linkis_ws,
    .http_error = linkis_http_error,
    .ws_open = linkis_ws_open,
    .ws_message = linkis_ws_message,
};
