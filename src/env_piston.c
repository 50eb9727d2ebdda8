/* The Piston v2 envelope: GET /api/v2/runtimes, POST /api/v2/execute, the
 * WebSocket /api/v2/connect and /api/v2/packages, in the shapes of
 * Piston's api/src/api/v2.js and job.js (docs/piston.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "jbuf.h"
#include "piston_req.h"

typedef struct {
    bool any_version;
} piston_conf;

typedef struct {
    rn_host *host;
    piston_conf conf;
} piston_state;

/* One stage's output as Piston keeps it: interleaved, stdout, stderr. */
typedef struct {
    rn_jbuf out[3];
} stage_out;

/* One POST /api/v2/execute waiting for its job. */
typedef struct {
    rn_http *http;
    rn_job *job;
    bool compiled; /* the language has a compile stage */
    int stage;     /* 0 compile, 1 run */
    char language[72];
    char version[32];
    stage_out so[2];
} exec_run;

/* One WebSocket on /api/v2/connect. */
typedef struct {
    piston_state *st;
    rn_conn *conn;
    uv_timer_t *timer; /* the init timeout; closed with the session */
    bool inited;
    bool compiled;
    int stage; /* -1 none yet, 0 compile, 1 run */
    rn_job *job;
} ws_sess;

/* ---------------------------------------------------------------- replies */

static void reply_message(rn_http *h, int status, const char *message)
{
    rn_http_reply_field(h, status, "application/json", "message", message);
}

static void piston_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    reply_message(h, status, status == 404 ? "Not Found" : message);
}

/* A refusal from the host: a full queue is 503 (Piston queues without
 * bound; runnel says so instead). */
static int refusal_status(const rn_host_refusal *why)
{
    return why->err == -EBUSY ? 503 : why->status;
}

/* ---------------------------------------------------------------- results */

/* Piston's figures for one stage: isolate's status letters and messages. */
static void write_stage(rn_jbuf *b, const rn_job_stage_result *st, const stage_out *so, int over_fd,
                        const char *xx_message)
{
    const char *signal = NULL, *status = NULL;
    char message[200] = "";
    int code = -1;
    switch (st->reason) {
    case RN_JOB_END_EXITED:
    case RN_JOB_END_COMPILE_ERROR:
        code = st->exit_code;
        if (code) {
            status = "RE";
            snprintf(message, sizeof(message), "Exited with error status %d", code);
        }
        break;
    case RN_JOB_END_SIGNALED:
        signal = piston_signal_name(st->signal);
        status = "SG";
        snprintf(message, sizeof(message), "Caught fatal signal %d", st->signal);
        break;
    case RN_JOB_END_TIMEOUT:
    case RN_JOB_END_CPU_LIMIT:
        signal = "SIGKILL";
        status = "TO";
        snprintf(message, sizeof(message), "Time limit exceeded%s",
                 st->reason == RN_JOB_END_TIMEOUT ? " (wall clock)" : "");
        break;
    case RN_JOB_END_OUTPUT_LIMIT:
        signal = "SIGKILL";
        status = over_fd == 2 ? "EL" : "OL";
        snprintf(message, sizeof(message), "%s length exceeded",
                 over_fd == 2 ? "stderr" : "stdout");
        break;
    case RN_JOB_END_OOM:
    case RN_JOB_END_KILLED:
        signal = "SIGKILL";
        status = "SG";
        snprintf(message, sizeof(message), "Caught fatal signal 9");
        break;
    default:
        status = "XX";
        snprintf(message, sizeof(message), "%s", xx_message);
        break;
    }
    rn_jbuf_str(b, "{\"signal\":");
    if (signal)
        rn_jbuf_jcstr(b, signal);
    else
        rn_jbuf_str(b, "null");
    for (int fd = 1; fd <= 2; fd++) {
        rn_jbuf_key(b, fd == 1 ? "stdout" : "stderr");
        rn_jbuf_jstr(b, so && so->out[fd].data ? so->out[fd].data : "", so ? so->out[fd].len : 0);
    }
    if (code >= 0)
        rn_jbuf_printf(b, ",\"code\":%d", code);
    else
        rn_jbuf_str(b, ",\"code\":null");
    rn_jbuf_key(b, "output");
    rn_jbuf_jstr(b, so && so->out[0].data ? so->out[0].data : "", so ? so->out[0].len : 0);
    rn_jbuf_printf(b, ",\"memory\":%llu", (unsigned long long)st->memory_peak);
    rn_jbuf_key(b, "message");
    if (message[0])
        rn_jbuf_jcstr(b, message);
    else
        rn_jbuf_str(b, "null");
    rn_jbuf_key(b, "status");
    if (status)
        rn_jbuf_jcstr(b, status);
    else
        rn_jbuf_str(b, "null");
    rn_jbuf_printf(b, ",\"cpu_time\":%llu,\"wall_time\":%llu}", (unsigned long long)st->cpu_ms,
                   (unsigned long long)st->wall_ms);
}

/* The stage that stands for a job that ended before a stage ran. */
static rn_job_stage_result unrun_stage(const rn_job_result *res)
{
    rn_job_stage_result st = {0};
    st.reason = res->reason;
    st.exit_code = -1;
    st.signal = res->signal;
    return st;
}

/* {compile?, run, language, version}: a failed compile is the run too. */
static void write_result(rn_jbuf *b, const rn_job_result *res, const stage_out so[2], bool compiled,
                         const char *language, const char *version)
{
    rn_job_stage_result ok = {.ran = true, .reason = RN_JOB_END_EXITED};
    const rn_job_stage_result *compile = res->compile.ran ? &res->compile : &ok;
    const stage_out *compile_out = res->compile.ran ? &so[0] : NULL;
    rn_job_stage_result none = unrun_stage(res);
    int compile_over = res->run.ran ? 0 : res->output_over_fd;
    rn_jbuf_str(b, "{");
    if (compiled) {
        rn_jbuf_str(b, "\"compile\":");
        write_stage(b, compile, compile_out, compile_over, res->message);
        rn_jbuf_str(b, ",");
    }
    rn_jbuf_str(b, "\"run\":");
    if (res->run.ran)
        write_stage(b, &res->run, &so[1], res->output_over_fd, res->message);
    else if (compiled && res->compile.ran)
        write_stage(b, compile, compile_out, compile_over, res->message);
    else
        write_stage(b, &none, NULL, res->output_over_fd, res->message);
    rn_jbuf_key(b, "language");
    rn_jbuf_jcstr(b, language);
    rn_jbuf_key(b, "version");
    rn_jbuf_jcstr(b, version);
    rn_jbuf_str(b, "}");
}

static void stage_out_free(stage_out *so)
{
    for (int i = 0; i < 3; i++)
        rn_jbuf_free(&so->out[i]);
}

/* ---------------------------------------------------------------- execute */

static void exec_on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    exec_run *run = ud;
    (void)job;
    run->stage = stage == RN_JOB_RUNNING ? 1 : 0;
}

static void exec_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    exec_run *run = ud;
    (void)job;
    stage_out *so = &run->so[run->stage];
    rn_jbuf_raw(&so->out[fd == 2 ? 2 : 1], data, len);
    rn_jbuf_raw(&so->out[0], data, len);
}

static void exec_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    exec_run *run = ud;
    (void)job;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    write_result(&b, res, run->so, run->compiled, run->language, run->version);
    if (b.oom)
        reply_message(run->http, 500, "out of memory");
    else
        rn_http_reply(run->http, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
    for (int i = 0; i < 2; i++)
        stage_out_free(&run->so[i]);
    rn_http_release(run->http);
    free(run);
}

static void exec_on_abort(void *ud)
{
    exec_run *run = ud;
    rn_job_kill(run->job);
}

static const rn_job_callbacks exec_callbacks = {exec_on_stage, exec_on_output, exec_on_end};

static void piston_ctx_of(piston_state *st, bool ws, piston_ctx *ctx)
{
    rn_host_info info;
    rn_host_info_get(st->host, &info);
    ctx->specs = rn_host_specs(st->host);
    ctx->limits = info.limits;
    ctx->any_version = st->conf.any_version;
    ctx->ws = ws;
}

/* The body, whatever its Content-Type says (piston-client sends none). */
static cJSON *parse_body(rn_http *h)
{
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        reply_message(h, 400, "request body is not valid JSON");
    return root;
}

static void http_execute(void *state, rn_http *h)
{
    piston_state *st = state;
    char msg[512];
    cJSON *root = parse_body(h);
    if (!root)
        return;
    piston_ctx ctx;
    piston_req req;
    piston_ctx_of(st, false, &ctx);
    int status = piston_req_parse(root, &ctx, &req, msg, sizeof(msg));
    cJSON_Delete(root);
    if (status) {
        reply_message(h, status, msg);
        return;
    }
    exec_run *run = calloc(1, sizeof(*run));
    if (!run) {
        reply_message(h, 500, "out of memory");
        piston_req_free(&req);
        return;
    }
    run->http = h;
    run->compiled = req.spec->compile != NULL;
    snprintf(run->language, sizeof(run->language), "%s", req.language);
    snprintf(run->version, sizeof(run->version), "%s", req.version);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
            rn_jbuf_init(&run->so[i].out[k], 0);
    rn_host_origin from = {.http = h, .inflight = -1};
    rn_host_refusal why;
    if (rn_host_submit(st->host, &from, &req.job, &exec_callbacks, run, &run->job, &why) < 0) {
        reply_message(h, refusal_status(&why), why.message);
        free(run);
    } else {
        rn_http_hold(h);
        rn_http_on_abort(h, exec_on_abort, run);
    }
    piston_req_free(&req);
}

/* ---------------------------------------------------------------- runtimes */

static void write_strv(rn_jbuf *b, char **v)
{
    rn_jbuf_str(b, "[");
    for (char **a = v; a && *a; a++) {
        if (a != v)
            rn_jbuf_str(b, ",");
        rn_jbuf_jcstr(b, *a);
    }
    rn_jbuf_str(b, "]");
}

/* GET /api/v2/runtimes (the available languages, their aliases and
 * runtime) or, with packages, GET /api/v2/packages (every language, with
 * whether it is installed). */
static void reply_languages(piston_state *st, rn_http *h, bool packages)
{
    const rn_specs *specs = rn_host_specs(st->host);
    size_t n = rn_specs_count(specs), k = 0;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "[");
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        if (!rn_piston_lang(s) || (!packages && !s->available))
            continue;
        char version[32];
        piston_version(s, version);
        rn_jbuf_str(&b, k++ ? ",{\"language\":" : "{\"language\":");
        rn_jbuf_jcstr(&b, rn_piston_lang(s));
        rn_jbuf_key(&b, packages ? "language_version" : "version");
        rn_jbuf_jcstr(&b, version);
        if (packages) {
            rn_jbuf_printf(&b, ",\"installed\":%s}", s->available ? "true" : "false");
            continue;
        }
        rn_jbuf_key(&b, "aliases");
        write_strv(&b, rn_piston_aliases(s));
        if (rn_piston_runtime(s)) {
            rn_jbuf_key(&b, "runtime");
            rn_jbuf_jcstr(&b, rn_piston_runtime(s));
        }
        rn_jbuf_str(&b, "}");
    }
    rn_jbuf_str(&b, "]");
    rn_http_reply(h, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void http_runtimes(void *state, rn_http *h)
{
    reply_languages(state, h, false);
}

/* ---------------------------------------------------------------- packages */

static void http_packages(void *state, rn_http *h)
{
    reply_languages(state, h, true);
}

/* POST and DELETE: a package is a Piston language or runtime name; none
 * is installed or removed over HTTP here. */
static void http_package_change(void *state, rn_http *h)
{
    piston_state *st = state;
    cJSON *root = parse_body(h);
    if (!root)
        return;
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(root, "language");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const char *l = cJSON_IsString(lang) ? lang->valuestring : "undefined";
    const char *v = cJSON_IsString(ver) ? ver->valuestring : "undefined";
    const rn_specs *specs = rn_host_specs(st->host);
    const rn_spec *found = NULL;
    for (size_t i = 0; i < rn_specs_count(specs) && !found; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        char version[32];
        piston_version(s, version);
        if (rn_piston_lang(s) &&
            (!strcmp(rn_piston_lang(s), l) ||
             (rn_piston_runtime(s) && !strcmp(rn_piston_runtime(s), l))) &&
            piston_satisfies(version, v))
            found = s;
    }
    char msg[400];
    if (!found) {
        snprintf(msg, sizeof(msg), "Requested package %.100s-%.100s does not exist", l, v);
        reply_message(h, 404, msg);
    } else {
        snprintf(msg, sizeof(msg),
                 "Packages are not %s over HTTP: languages are installed on the server with "
                 "runtimes/install.sh (%s is %sinstalled)",
                 strcmp(rn_http_method(h), "DELETE") ? "installed" : "removed",
                 rn_piston_lang(found), found->available ? "" : "not ");
        reply_message(h, 501, msg);
    }
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- WebSocket */

static void ws_send(rn_conn *c, rn_jbuf *b)
{
    if (!b->oom)
        rn_conn_send(c, b->data, b->len);
    rn_jbuf_free(b);
}

/* An error event, then Piston's close for it. */
static void ws_fail(rn_conn *c, const char *message)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"type\":\"error\",\"message\":");
    rn_jbuf_jcstr(&b, message);
    rn_jbuf_str(&b, "}");
    ws_send(c, &b);
    rn_conn_close(c, 4002, "Notified Error");
}

static void ws_stage(ws_sess *s, int stage)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b, "{\"type\":\"stage\",\"stage\":\"%s\"}", stage ? "run" : "compile");
    ws_send(s->conn, &b);
    s->stage = stage;
}

static void ws_exit(ws_sess *s, int stage, int code, const char *signal)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b, "{\"type\":\"exit\",\"stage\":\"%s\",\"code\":", stage ? "run" : "compile");
    if (code >= 0)
        rn_jbuf_printf(&b, "%d", code);
    else
        rn_jbuf_str(&b, "null");
    rn_jbuf_str(&b, ",\"signal\":");
    if (signal)
        rn_jbuf_jcstr(&b, signal);
    else
        rn_jbuf_str(&b, "null");
    rn_jbuf_str(&b, "}");
    ws_send(s->conn, &b);
}

static void ws_on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    ws_sess *s = ud;
    (void)job;
    if (stage == RN_JOB_COMPILING) {
        ws_stage(s, 0);
        return;
    }
    if (stage != RN_JOB_RUNNING)
        return;
    /* A compile that ends in a run succeeded (a cached one too). */
    if (s->compiled && s->stage < 0)
        ws_stage(s, 0);
    if (s->compiled)
        ws_exit(s, 0, 0, NULL);
    ws_stage(s, 1);
}

static void ws_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    ws_sess *s = ud;
    (void)job;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_printf(&b,
                   "{\"type\":\"data\",\"stream\":\"%s\",\"data\":", fd == 2 ? "stderr" : "stdout");
    rn_jbuf_jstr(&b, data, len);
    rn_jbuf_str(&b, "}");
    ws_send(s->conn, &b);
}

/* Code and signal of a stage as Piston's exit event and stage object give
 * them. */
static void stage_code(const rn_job_stage_result *st, int *code, const char **signal)
{
    *code = -1;
    *signal = NULL;
    if (st->reason == RN_JOB_END_EXITED || st->reason == RN_JOB_END_COMPILE_ERROR)
        *code = st->exit_code;
    else if (st->reason == RN_JOB_END_SIGNALED)
        *signal = piston_signal_name(st->signal);
    else if (st->reason != RN_JOB_END_SETUP_FAILED && st->reason != RN_JOB_END_INTERNAL)
        *signal = "SIGKILL";
}

static void ws_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    ws_sess *s = ud;
    rn_conn *c = s->conn;
    int code;
    const char *signal;
    s->job = NULL;
    if (res->run.ran || res->compile.ran) {
        const rn_job_stage_result *st = res->run.ran ? &res->run : &res->compile;
        stage_code(st, &code, &signal);
        if (st->reason == RN_JOB_END_SETUP_FAILED || st->reason == RN_JOB_END_INTERNAL)
            ws_fail(c, res->message);
        else {
            ws_exit(s, res->run.ran ? 1 : 0, code, signal);
            rn_conn_close(c, 4999, "Job Completed");
        }
    } else if (res->reason == RN_JOB_END_KILLED) {
        rn_conn_close(c, 4999, "Job Completed");
    } else {
        ws_fail(c, res->message[0] ? res->message : "the run could not start");
    }
    rn_conn_untrack(c, job);
    rn_conn_unref(c);
}

static const rn_job_callbacks ws_callbacks = {ws_on_stage, ws_on_output, ws_on_end};

static void ws_init(ws_sess *s, const cJSON *msg)
{
    char text[512];
    piston_ctx ctx;
    piston_req req;
    if (s->inited) {
        rn_conn_close(s->conn, 4000, "Already Initialized");
        return;
    }
    piston_ctx_of(s->st, true, &ctx);
    if (piston_req_parse(msg, &ctx, &req, text, sizeof(text))) {
        ws_fail(s->conn, text);
        return;
    }
    rn_host_origin from = {.conn = s->conn, .track = true, .inflight = -1};
    rn_host_refusal why;
    s->compiled = req.spec->compile != NULL;
    rn_conn_ref(s->conn);
    if (rn_host_submit(s->st->host, &from, &req.job, &ws_callbacks, s, &s->job, &why) < 0) {
        rn_conn_unref(s->conn);
        ws_fail(s->conn, why.message);
        piston_req_free(&req);
        return;
    }
    s->inited = true;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"type\":\"runtime\",\"language\":");
    rn_jbuf_jcstr(&b, req.language);
    rn_jbuf_key(&b, "version");
    rn_jbuf_jcstr(&b, req.version);
    rn_jbuf_str(&b, "}");
    ws_send(s->conn, &b);
    piston_req_free(&req);
}

static void ws_data(ws_sess *s, const cJSON *msg)
{
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(msg, "stream");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
    if (!s->inited) {
        rn_conn_close(s->conn, 4003, "Not yet initialized");
        return;
    }
    if (!cJSON_IsString(stream) || strcmp(stream->valuestring, "stdin")) {
        rn_conn_close(s->conn, 4004, "Can only write to stdin");
        return;
    }
    if (!cJSON_IsString(data)) {
        ws_fail(s->conn, "data must be a string");
        return;
    }
    if (s->job &&
        rn_job_write_stdin(s->job, data->valuestring, strlen(data->valuestring)) == -ENOBUFS)
        ws_fail(s->conn, "too much input waiting to be read by the program");
}

static void ws_signal(ws_sess *s, const cJSON *msg)
{
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(msg, "signal");
    if (!s->inited) {
        rn_conn_close(s->conn, 4003, "Not yet initialized");
        return;
    }
    int n = cJSON_IsString(sig) ? piston_signal_number(sig->valuestring) : -1;
    if (n < 0) {
        rn_conn_close(s->conn, 4005, "Invalid signal");
        return;
    }
    if (s->job)
        rn_job_signal(s->job, n);
}

static void ws_message(void *state, rn_conn *c, const char *text, size_t len, bool binary)
{
    (void)state;
    (void)binary; /* Piston parses a binary frame as JSON text too */
    ws_sess *s = rn_conn_data(c);
    if (!s)
        return;
    cJSON *msg = cJSON_ParseWithLength(text, len);
    if (!msg) {
        ws_fail(c, "message is not valid JSON");
        return;
    }
    const cJSON *type = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "type") : NULL;
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (!strcmp(t, "init"))
        ws_init(s, msg);
    else if (!strcmp(t, "data"))
        ws_data(s, msg);
    else if (!strcmp(t, "signal"))
        ws_signal(s, msg);
    cJSON_Delete(msg);
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

static void sess_free(void *p)
{
    ws_sess *s = p;
    uv_timer_stop(s->timer);
    s->timer->data = NULL;
    uv_close((uv_handle_t *)s->timer, timer_closed);
    free(s);
}

static void init_timeout(uv_timer_t *t)
{
    ws_sess *s = t->data;
    if (s && !s->inited && rn_conn_open(s->conn))
        rn_conn_close(s->conn, 4001, "Initialization Timeout");
}

static int ws_open(void *state, rn_conn *c)
{
    piston_state *st = state;
    ws_sess *s = calloc(1, sizeof(*s));
    uv_timer_t *t = malloc(sizeof(*t));
    if (!s || !t) {
        free(s);
        free(t);
        return -ENOMEM;
    }
    s->st = st;
    s->conn = c;
    s->stage = -1;
    s->timer = t;
    uv_timer_init(rn_host_loop(st->host), t);
    t->data = s;
    uv_timer_start(t, init_timeout, 1000, 0);
    rn_conn_set_data(c, s, sess_free);
    return 0;
}

static void ws_close(void *state, rn_conn *c)
{
    (void)state;
    ws_sess *s = rn_conn_data(c);
    if (s)
        uv_timer_stop(s->timer);
}

/* ---------------------------------------------------------------- envelope */

static int piston_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    (void)err;
    (void)size;
    piston_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->host = host;
    st->conf = *(const piston_conf *)conf;
    *state = st;
    return 0;
}

static void piston_fini(void *state)
{
    free(state);
}

static const rn_conf_key piston_keys[] = {
    RN_CONF_KEY_BOOL("any_version", piston_conf, any_version, "true",
                     "a version no installed runtime matches runs the installed one (the "
                     "response names it); false answers Piston's 400 'runtime is unknown'"),
};

/* Piston's own paths, and the public instance's (/api/v2/piston/...),
 * which some clients have written in. */
static const rn_route piston_routes[] = {
    {"GET", "/api/v2/runtimes", RN_ROUTE_SLASH, http_runtimes},
    {"POST", "/api/v2/execute", RN_ROUTE_SLASH, http_execute},
    {"GET", "/api/v2/piston/runtimes", RN_ROUTE_SLASH, http_runtimes},
    {"POST", "/api/v2/piston/execute", RN_ROUTE_SLASH, http_execute},
    {"GET", "/api/v2/packages", RN_ROUTE_SLASH, http_packages},
    {"POST", "/api/v2/packages", RN_ROUTE_SLASH, http_package_change},
    {"DELETE", "/api/v2/packages", RN_ROUTE_SLASH, http_package_change},
    {NULL, "/api/v2", RN_ROUTE_PREFIX, NULL},
    {0},
};

static const rn_ws_endpoint piston_ws[] = {
    {NULL, "/api/v2/connect", RN_ROUTE_SLASH, NULL},
    {0},
};

const rn_envelope rn_env_piston = {
    .name = "piston",
    .keys = piston_keys,
    .nkeys = sizeof(piston_keys) / sizeof(piston_keys[0]),
    .conf_size = sizeof(piston_conf),
    .init = piston_init,
    .fini = piston_fini,
    .routes = piston_routes,
    .ws = piston_ws,
    .http_error = piston_http_error,
    .ws_open = ws_open,
    .ws_message = ws_message,
    .ws_close = ws_close,
};
