/* The ranna envelope: WebSocket at /v1/ws and REST under /v1, with the
 * wire details of ranna's own server (see the README's ranna section). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "jbuf.h"
#include "log.h"
#include "ranna_req.h"

/* The host, from init. */
static rn_host *host;

enum { OP_PING = 0, OP_EXEC = 1, OP_KILL = 2, OP_INPUT = 3 };
enum { EV_PONG = 0, EV_ERROR = 1, EV_SPAWN = 2, EV_LOG = 3, EV_STOP = 4 };

/* One EXEC started over the WebSocket. */
typedef struct {
    rn_conn *conn;
    int64_t nonce; /* 0 = none */
    rn_job *job;
} ws_run;

/* One POST /v1/exec waiting for its job. */
typedef struct {
    rn_http *http;
    rn_job *job;
    rn_jbuf out, err;
} rest_run;

/* ---------------------------------------------------------------- events */

static void event_begin(rn_jbuf *b, int code, int64_t nonce)
{
    rn_jbuf_init(b, 0);
    rn_jbuf_printf(b, "{\"code\":%d", code);
    if (nonce)
        rn_jbuf_printf(b, ",\"nonce\":%lld", (long long)nonce);
    rn_jbuf_str(b, ",\"data\":");
}

static void event_send(rn_conn *c, rn_jbuf *b)
{
    /* Go's encoder ends every frame with a newline; ranna clients see it. */
    rn_jbuf_str(b, "}\n");
    if (!b->oom)
        rn_conn_send(c, b->data, b->len);
    rn_jbuf_free(b);
}

static void send_error(rn_conn *c, int64_t nonce, int code, const char *msg)
{
    rn_jbuf b;
    event_begin(&b, EV_ERROR, nonce);
    rn_jbuf_printf(&b, "{\"code\":%d,\"message\":", code);
    rn_jbuf_jcstr(&b, msg);
    rn_jbuf_str(&b, "}");
    event_send(c, &b);
}

/* The STOP extras, shared by the WebSocket STOP and the REST response. */
static void write_result_fields(rn_jbuf *b, const rn_job_result *r)
{
    rn_jbuf_printf(b, ",\"exectimems\":%llu", (unsigned long long)r->exec_ms);
    rn_jbuf_printf(b, ",\"exitcode\":%d,\"signal\":%d", r->exit_code, r->signal);
    rn_jbuf_key(b, "reason");
    rn_jbuf_jcstr(b, rn_job_end_name(r->reason));
    rn_jbuf_printf(b, ",\"cputimems\":%llu,\"memorypeakbytes\":%llu", (unsigned long long)r->cpu_ms,
                   (unsigned long long)r->memory_peak);
    rn_jbuf_printf(b, ",\"walltimems\":%llu,\"outputbytes\":%llu", (unsigned long long)r->wall_ms,
                   (unsigned long long)r->output_bytes);
    if (r->compiled)
        rn_jbuf_printf(b, ",\"compilecached\":%s", r->compile_cached ? "true" : "false");
    if (r->message[0]) {
        rn_jbuf_key(b, "message");
        rn_jbuf_jcstr(b, r->message);
    }
}

/* ---------------------------------------------------------------- WS runs */

static void ws_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    ws_run *run = ud;
    rn_jbuf b;
    event_begin(&b, EV_LOG, run->nonce);
    rn_jbuf_str(&b, "{\"runid\":");
    rn_jbuf_jcstr(&b, rn_job_id(job));
    rn_jbuf_str(&b, fd == 2 ? ",\"stderr\":" : ",\"stdout\":");
    rn_jbuf_jstr(&b, data, len);
    rn_jbuf_str(&b, "}");
    event_send(run->conn, &b);
}

static void ws_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    ws_run *run = ud;
    rn_jbuf b;
    event_begin(&b, EV_STOP, run->nonce);
    rn_jbuf_str(&b, "{\"runid\":");
    rn_jbuf_jcstr(&b, rn_job_id(job));
    write_result_fields(&b, res);
    rn_jbuf_str(&b, "}");
    event_send(run->conn, &b);
    rn_conn_untrack(run->conn, job);
    rn_conn_unref(run->conn);
    free(run);
}

static const rn_job_callbacks ws_callbacks = {NULL, ws_on_output, ws_on_end};

/* ---------------------------------------------------------------- WS ops */

/* The host's sentence, with where ranna clients find the languages. */
static void refusal_text(const rn_host_refusal *why, char *msg, size_t size)
{
    snprintf(msg, size, "%s%s", why->message,
             why->err == -ENOENT ? " (GET /v1/spec lists them)" : "");
}

static void op_exec(rn_conn *c, int64_t nonce, const cJSON *args)
{
    ranna_req req;
    char msg[512];
    int code = ranna_req_parse(args, &req, msg, sizeof(msg));
    if (code) {
        send_error(c, nonce, code, msg);
        ranna_req_free(&req);
        return;
    }
    ws_run *run = calloc(1, sizeof(*run));
    if (!run) {
        send_error(c, nonce, 500, "out of memory");
        ranna_req_free(&req);
        return;
    }
    run->conn = c;
    run->nonce = nonce;
    rn_host_origin from = {.conn = c, .track = true, .inflight = -1};
    rn_host_refusal why;
    rn_conn_ref(c);
    if (rn_host_submit(host, &from, &req.job, &ws_callbacks, run, &run->job, &why) < 0) {
        rn_conn_unref(c);
        refusal_text(&why, msg, sizeof(msg));
        send_error(c, nonce, why.status, msg);
        free(run);
        ranna_req_free(&req);
        return;
    }
    ranna_req_free(&req);
    rn_jbuf b;
    event_begin(&b, EV_SPAWN, nonce);
    rn_jbuf_str(&b, "{\"runid\":");
    rn_jbuf_jcstr(&b, rn_job_id(run->job));
    rn_jbuf_str(&b, "}");
    event_send(c, &b);
}

static rn_job *find_run(rn_conn *c, const cJSON *args, int64_t nonce)
{
    const cJSON *id = cJSON_IsObject(args) ? cJSON_GetObjectItemCaseSensitive(args, "runid") : NULL;
    if (!cJSON_IsObject(args)) {
        send_error(c, nonce, 400, "missing field 'args'");
        return NULL;
    }
    if (!cJSON_IsString(id)) {
        send_error(c, nonce, 400, "field 'args.runid' must be a string");
        return NULL;
    }
    /* Another connection's run gets the same answer as an unknown one. */
    rn_job *job = rn_conn_find_job(c, id->valuestring);
    if (!job)
        send_error(c, nonce, 400, "sandbox is not running");
    return job;
}

static void op_input(rn_conn *c, int64_t nonce, const cJSON *args)
{
    rn_job *job = find_run(c, args, nonce);
    if (!job)
        return;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(args, "data");
    const cJSON *eof = cJSON_GetObjectItemCaseSensitive(args, "eof");
    if (data && !cJSON_IsString(data)) {
        send_error(c, nonce, 400, "field 'args.data' must be a string");
        return;
    }
    if (eof && !cJSON_IsBool(eof)) {
        send_error(c, nonce, 400, "field 'args.eof' must be a boolean");
        return;
    }
    if (data && data->valuestring[0]) {
        int err = rn_job_write_stdin(job, data->valuestring, strlen(data->valuestring));
        if (err == -ENOBUFS) {
            send_error(c, nonce, 413, "too much input waiting to be read by the program");
            return;
        }
        if (err < 0) {
            send_error(c, nonce, 400, "stdin of this run is closed");
            return;
        }
    }
    if (cJSON_IsTrue(eof))
        rn_job_close_stdin(job);
}

static void ranna_ws_message(rn_conn *c, const char *msg, size_t len, bool binary)
{
    if (binary) {
        /* Unlike ranna, the payload of a binary frame is not processed. */
        send_error(c, 0, 400, "invalid message type");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!root) {
        send_error(c, 0, 400, "invalid JSON");
        return;
    }
    if (!cJSON_IsObject(root)) {
        send_error(c, 0, 400, "invalid message: expected a JSON object");
        goto out;
    }
    int64_t nonce = 0;
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "nonce");
    if (jn && !cJSON_IsNull(jn)) {
        double d = cJSON_IsNumber(jn) ? jn->valuedouble : NAN;
        if (!cJSON_IsNumber(jn) || d != floor(d) || fabs(d) > 9007199254740991.0) {
            send_error(c, 0, 400, "field 'nonce' must be an integer");
            goto out;
        }
        nonce = (int64_t)d;
    }
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(root, "op");
    if (!op) {
        send_error(c, nonce, 400, "missing field 'op'");
        goto out;
    }
    if (!cJSON_IsNumber(op) || op->valuedouble != floor(op->valuedouble)) {
        send_error(c, nonce, 400, "field 'op' must be an integer");
        goto out;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "args");
    switch ((int)(op->valuedouble >= 0 && op->valuedouble < 16 ? op->valuedouble : -1)) {
    case OP_PING: {
        rn_jbuf b;
        event_begin(&b, EV_PONG, nonce);
        rn_jbuf_str(&b, "\"Pong!\"");
        event_send(c, &b);
        break;
    }
    case OP_EXEC:
        if (!cJSON_IsObject(args)) {
            send_error(c, nonce, 400,
                       args ? "field 'args' must be an object" : "missing field 'args'");
            break;
        }
        op_exec(c, nonce, args);
        break;
    case OP_KILL: {
        rn_job *job = find_run(c, args, nonce);
        if (job)
            rn_job_kill(job); /* no event of its own: the run's STOP follows */
        break;
    }
    case OP_INPUT:
        op_input(c, nonce, args);
        break;
    default:
        send_error(c, nonce, 400, "invalid operation code");
        break;
    }
out:
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------- REST */

static void rest_error(rn_http *h, int code, const char *msg)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"error\":");
    rn_jbuf_jcstr(&b, msg);
    rn_jbuf_printf(&b, ",\"code\":%d}", code);
    rn_http_reply(h, code, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void rest_on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    rest_run *run = ud;
    (void)job;
    rn_jbuf_raw(fd == 2 ? &run->err : &run->out, data, len);
}

static void rest_on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    rest_run *run = ud;
    (void)job;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    /* ranna answers a timeout and output over its cap with a 400 error
     * body (its clients raise on it); runnel's fields come along. */
    const char *error = res->reason == RN_JOB_END_TIMEOUT        ? "code execution timed out"
                        : res->reason == RN_JOB_END_OUTPUT_LIMIT ? "output len exceeded"
                                                                 : NULL;
    int status = error ? 400 : 200;
    if (error) {
        rn_jbuf_str(&b, "{\"error\":");
        rn_jbuf_jcstr(&b, error);
        rn_jbuf_str(&b, ",\"code\":400,\"stdout\":");
    } else {
        rn_jbuf_str(&b, "{\"stdout\":");
    }
    rn_jbuf_jstr(&b, run->out.data ? run->out.data : "", run->out.len);
    rn_jbuf_str(&b, ",\"stderr\":");
    rn_jbuf_jstr(&b, run->err.data ? run->err.data : "", run->err.len);
    write_result_fields(&b, res);
    rn_jbuf_printf(&b, ",\"truncated\":%s}",
                   res->reason == RN_JOB_END_OUTPUT_LIMIT ? "true" : "false");
    if (b.oom)
        rest_error(run->http, 500, "out of memory");
    else
        rn_http_reply(run->http, status, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
    rn_jbuf_free(&run->out);
    rn_jbuf_free(&run->err);
    rn_http_release(run->http);
    free(run);
}

static void rest_on_abort(void *ud)
{
    rest_run *run = ud;
    rn_job_kill(run->job);
}

static const rn_job_callbacks rest_callbacks = {NULL, rest_on_output, rest_on_end};

static void rest_exec(void *state, rn_http *h)
{
    (void)state;
    size_t len;
    const char *body = rn_http_body(h, &len);
    char msg[512];
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        rest_error(h, 400, "invalid JSON");
        return;
    }
    ranna_req req;
    int code = ranna_req_parse(root, &req, msg, sizeof(msg));
    if (code) {
        rest_error(h, code, msg);
        ranna_req_free(&req);
        cJSON_Delete(root);
        return;
    }
    rest_run *run = calloc(1, sizeof(*run));
    if (!run) {
        rest_error(h, 500, "out of memory");
        goto out;
    }
    rn_jbuf_init(&run->out, 0);
    rn_jbuf_init(&run->err, 0);
    run->http = h;
    rn_host_origin from = {.http = h, .inflight = -1};
    rn_host_refusal why;
    if (rn_host_submit(host, &from, &req.job, &rest_callbacks, run, &run->job, &why) < 0) {
        /* ranna's own wording for an unknown language, which clients match */
        if (why.err == -ENOENT)
            snprintf(msg, sizeof(msg), "unsupported language spec");
        else
            refusal_text(&why, msg, sizeof(msg));
        rest_error(h, why.status, msg);
        free(run);
        goto out;
    }
    rn_http_hold(h);
    rn_http_on_abort(h, rest_on_abort, run);
out:
    ranna_req_free(&req);
    cJSON_Delete(root);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(((const char *const *)a)[0], ((const char *const *)b)[0]);
}

static void write_argv(rn_jbuf *b, char *const *argv)
{
    rn_jbuf joined;
    rn_jbuf_init(&joined, 0);
    for (char *const *a = argv; a && *a; a++) {
        if (a != argv)
            rn_jbuf_raw(&joined, " ", 1);
        rn_jbuf_str(&joined, *a);
    }
    rn_jbuf_jstr(b, joined.data ? joined.data : "", joined.len);
    rn_jbuf_free(&joined);
}

static void write_strs(rn_jbuf *b, const rn_spec *s, const char *envelope, size_t from)
{
    const char *v;
    rn_jbuf_str(b, "[");
    for (size_t i = from; (v = rn_spec_name_for(s, envelope, i)); i++) {
        if (i > from)
            rn_jbuf_str(b, ",");
        rn_jbuf_jcstr(b, v);
    }
    rn_jbuf_str(b, "]");
}

/* What each envelope calls the language (the spec's names table). */
static void write_names(rn_jbuf *b, const rn_spec *s)
{
    const rn_spec_names *nm = &s->names;
    rn_jbuf_str(b, "{\"ranna\":");
    write_strs(b, s, "ranna", 0);
    rn_jbuf_str(b, ",\"piston\":");
    if (nm->piston) {
        rn_jbuf_str(b, "{\"language\":");
        rn_jbuf_jcstr(b, nm->piston->language);
        rn_jbuf_str(b, ",\"aliases\":");
        write_strs(b, s, "piston", 1);
        rn_jbuf_str(b, ",\"runtime\":");
        if (nm->piston->runtime)
            rn_jbuf_jcstr(b, nm->piston->runtime);
        else
            rn_jbuf_str(b, "null");
        rn_jbuf_str(b, "}");
    } else {
        rn_jbuf_str(b, "null");
    }
    rn_jbuf_str(b, ",\"judge0\":[");
    for (size_t i = 0; i < nm->njudge0; i++) {
        rn_jbuf_printf(b, "%s{\"id\":%d,\"name\":", i ? "," : "", nm->judge0[i].id);
        rn_jbuf_jcstr(b, nm->judge0[i].name);
        rn_jbuf_str(b, "}");
    }
    rn_jbuf_str(b, "],\"jobe\":");
    if (nm->jobe)
        rn_jbuf_jcstr(b, nm->jobe);
    else
        rn_jbuf_str(b, "null");
    rn_jbuf_str(b, ",\"linkis\":");
    write_strs(b, s, "linkis", 0);
    rn_jbuf_str(b, ",\"zeppelin\":");
    write_strs(b, s, "zeppelin", 0);
    rn_jbuf_str(b, "}");
}

static void write_spec(rn_jbuf *b, const rn_spec *s)
{
    rn_jbuf_str(b, "{\"image\":\"\",\"entrypoint\":\"\",\"cmd\":");
    write_argv(b, s->run);
    rn_jbuf_key(b, "filename");
    rn_jbuf_jcstr(b, s->filename);
    rn_jbuf_key(b, "language");
    rn_jbuf_jcstr(b, s->language ? s->language : s->name);
    rn_jbuf_key(b, "example");
    rn_jbuf_jcstr(b, s->example ? s->example : "");
    if (s->inline_template) {
        rn_jbuf_str(b, ",\"inline\":{\"import_regex\":");
        rn_jbuf_jcstr(b, s->inline_import_regex ? s->inline_import_regex : "");
        rn_jbuf_str(b, ",\"template\":");
        rn_jbuf_jcstr(b, s->inline_template);
        rn_jbuf_str(b, "}");
    }
    rn_jbuf_key(b, "name");
    rn_jbuf_jcstr(b, s->name);
    rn_jbuf_key(b, "display");
    rn_jbuf_jcstr(b, s->display ? s->display : s->name);
    rn_jbuf_key(b, "version");
    rn_jbuf_jcstr(b, s->version ? s->version : "");
    rn_jbuf_printf(b, ",\"available\":%s", s->available ? "true" : "false");
    if (!s->available && s->missing) {
        rn_jbuf_key(b, "missing");
        rn_jbuf_jcstr(b, s->missing);
    }
    rn_jbuf_printf(b, ",\"compiled\":%s", s->compile ? "true" : "false");
    rn_jbuf_str(b, ",\"aliases\":[");
    for (char **a = s->aliases; a && *a; a++) {
        if (a != s->aliases)
            rn_jbuf_str(b, ",");
        rn_jbuf_jcstr(b, *a);
    }
    rn_jbuf_str(b, "],\"names\":");
    write_names(b, s);
    rn_jbuf_str(b, "}");
}

/* Is name one of the spec's ranna keys (full entries in the map)? */
static bool is_ranna_key(const rn_spec *s, const char *name)
{
    const char *k;
    if (!strcmp(s->name, name))
        return true;
    for (size_t i = 0; (k = rn_spec_name_for(s, "ranna", i)); i++)
        if (!strcmp(k, name))
            return true;
    return false;
}

/* ranna's spec map: the name and ranna keys of each spec are full entries,
 * other aliases {"use": <first ranna key>}; sorted like Go's maps, except
 * that an alias never comes first (ranna's web app starts on the first key
 * and needs its example). */
static void rest_spec(void *state, rn_http *h)
{
    (void)state;
    const rn_specs *specs = rn_host_specs(host);
    size_t n = rn_specs_count(specs), cap = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        cap += 1;
        for (size_t j = 0; rn_spec_name_for(s, "ranna", j); j++)
            cap++;
        for (char **a = s->aliases; a && *a; a++)
            cap++;
    }
    /* (key, spec, alias-target) triples */
    const char *(*keys)[3] = calloc(cap + 1, sizeof(*keys));
    if (!keys) {
        rest_error(h, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        const char *r, *first = rn_spec_name_for(s, "ranna", 0);
        keys[k][0] = s->name;
        keys[k++][1] = (const char *)s;
        for (size_t j = 0; (r = rn_spec_name_for(s, "ranna", j)); j++) {
            keys[k][0] = r;
            keys[k++][1] = (const char *)s;
        }
        for (char **a = s->aliases; a && *a; a++) {
            if (is_ranna_key(s, *a))
                continue;
            keys[k][0] = *a;
            keys[k][2] = first ? first : s->name;
            k++;
        }
    }
    qsort(keys, k, sizeof(*keys), cmp_str);
    for (size_t i = 0; i < k && !keys[0][1]; i++) {
        if (keys[i][1]) {
            const char *t[3] = {keys[i][0], keys[i][1], keys[i][2]};
            memmove(&keys[1], &keys[0], i * sizeof(*keys));
            memcpy(keys[0], t, sizeof(t));
        }
    }
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{");
    for (size_t i = 0; i < k; i++) {
        /* sorted but for the first: a repeat is next to its twin or is it */
        if (i && (!strcmp(keys[i][0], keys[i - 1][0]) || !strcmp(keys[i][0], keys[0][0])))
            continue;
        rn_jbuf_key(&b, keys[i][0]);
        if (keys[i][1]) {
            write_spec(&b, (const rn_spec *)keys[i][1]);
        } else {
            rn_jbuf_str(&b, "{\"use\":");
            rn_jbuf_jcstr(&b, keys[i][2]);
            rn_jbuf_str(&b, "}");
        }
    }
    rn_jbuf_str(&b, "}");
    rn_http_reply(h, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
    free(keys);
}

static void rest_info(void *state, rn_http *h)
{
    (void)state;
    rn_host_info info;
    rn_host_info_get(host, &info);
    const rn_jobs_limits *l = info.limits;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"version\":");
    rn_jbuf_jcstr(&b, info.version);
    rn_jbuf_str(&b, ",\"builddate\":\"" __DATE__ "\",\"go_version\":\"\",\"sandbox\":{"
                    "\"type\":\"runnel\",\"version\":");
    rn_jbuf_jcstr(&b, info.sandbox_version);
    rn_jbuf_str(&b, "},\"protections\":[");
    for (size_t i = 0; i < info.nprotections; i++) {
        if (i)
            rn_jbuf_str(&b, ",");
        rn_jbuf_jcstr(&b, info.protections[i]);
    }
    rn_jbuf_str(&b, "]");
    rn_jbuf_printf(&b,
                   ",\"limits\":{\"concurrency\":%u,\"queue\":%u,\"per_connection\":%u,"
                   "\"wall_ms\":%llu,\"cpu_ms\":%llu,\"memory_bytes\":%llu,\"output_bytes\":%llu,"
                   "\"code_bytes\":%llu,\"message_bytes\":%llu,\"pids\":%u,\"tmp_bytes\":%llu}",
                   l->concurrency, l->queue_max, info.per_connection,
                   (unsigned long long)l->wall_ms,
                   (unsigned long long)(l->cpu_ms ? l->cpu_ms : l->wall_ms),
                   (unsigned long long)l->memory_bytes, (unsigned long long)l->output_bytes,
                   (unsigned long long)l->code_bytes, (unsigned long long)info.message_bytes,
                   l->pids, (unsigned long long)l->tmp_bytes);
    rn_jbuf_printf(&b, ",\"running\":%u,\"queued\":%u,\"warm\":%u", info.running, info.queued,
                   info.warm);
    const rn_specs *specs = rn_host_specs(host);
    size_t n = rn_specs_count(specs), avail = 0;
    rn_jbuf_str(&b, ",\"languages\":[");
    for (size_t i = 0; i < n; i++) {
        const rn_spec *s = rn_specs_at(specs, i);
        avail += s->available;
        if (i)
            rn_jbuf_str(&b, ",");
        rn_jbuf_str(&b, "{\"name\":");
        rn_jbuf_jcstr(&b, s->name);
        rn_jbuf_str(&b, ",\"version\":");
        rn_jbuf_jcstr(&b, s->version ? s->version : "");
        rn_jbuf_printf(&b, ",\"available\":%s,\"names\":", s->available ? "true" : "false");
        write_names(&b, s);
        rn_jbuf_str(&b, "}");
    }
    rn_jbuf_printf(&b, "],\"languages_available\":%zu,\"versions_pending\":%s}", avail,
                   info.versions_pending ? "true" : "false");
    rn_http_reply(h, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void rest_options(void *state, rn_http *h)
{
    (void)state;
    /* CORS preflights are answered by the server (security.origins). */
    rn_http_add_header(h, "allow", "GET, POST, OPTIONS");
    rn_http_reply(h, 200, "text/plain", "OK", 2);
}

static void ranna_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    rest_error(h, status, message);
}

static int ranna_init(rn_host *h, const void *conf, void **state, char *err, size_t size)
{
    (void)conf;
    (void)err;
    (void)size;
    host = h;
    *state = h;
    return 0;
}

static void ranna_ws_message_cb(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    ranna_ws_message(c, msg, len, binary);
}

/* Routing as ranna's framework does it: case-insensitive, one trailing
 * slash ignored. */
#define RANNA_ROUTE (RN_ROUTE_NOCASE | RN_ROUTE_SLASH)
static const rn_route ranna_routes[] = {
    {"POST", "/v1/exec", RANNA_ROUTE, rest_exec},
    {"GET", "/v1/spec", RANNA_ROUTE, rest_spec},
    {"GET", "/v1/info", RANNA_ROUTE, rest_info},
    {"OPTIONS", "/v1", RN_ROUTE_NOCASE | RN_ROUTE_PREFIX, rest_options},
    {NULL, "/v1", RN_ROUTE_NOCASE | RN_ROUTE_PREFIX, NULL},
    {0},
};

static const rn_ws_endpoint ranna_ws[] = {
    {NULL, "/v1/ws", RANNA_ROUTE, NULL},
    {0},
};

const rn_envelope rn_env_ranna = {
    .name = "ranna",
    .init = ranna_init,
    .routes = ranna_routes,
    .ws = ranna_ws,
    .http_error = ranna_error,
    .ws_message = ranna_ws_message_cb,
};
