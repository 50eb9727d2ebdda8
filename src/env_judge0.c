/* The Judge0 CE envelope (API of Judge0 1.13.1): submissions created,
 * read, listed, deleted and batched under Judge0's paths, with its query
 * parameters, its 401/403/422/400/503 answers and its tokens, each
 * submission scoped to the user whose token made it (docs/judge0.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge0_int.h"
#include "log.h"

/* ---------------------------------------------------------------- access */

/* A header's value, else the query parameter of the same name (Judge0
 * takes both). */
static const char *header_or_param(rn_http *h, const char *name, char *buf, size_t size)
{
    const char *v = name[0] ? rn_http_header(h, name) : NULL;
    if (v)
        return v;
    if (name[0] && rn_http_query(h, name, buf, size) == 0)
        return buf;
    return NULL;
}

bool j0_authenticate(j0_state *st, rn_http *h, char *user, size_t size, bool *admin)
{
    char buf[512];
    *admin = false;
    snprintf(user, size, "anonymous");
    if (!rn_host_tokens_required(st->host))
        return true;
    const char *tok = header_or_param(h, st->conf.auth_token_header, buf, sizeof(buf));
    if (tok && rn_host_identify(st->host, tok, user, size, admin))
        return true;
    if (rn_http_authorized(h)) { /* Authorization: Bearer, as every envelope */
        snprintf(user, size, "%s", rn_http_user(h, admin));
        return true;
    }
    j0_reply_empty(h, 401);
    return false;
}

/* Judge0's authorization (X-Auth-User) for listing and deleting: a token
 * of an admin (auth.admins), which then sees every user's submissions
 * (*admin set); everyone when the server asks no token. Replies 403
 * itself when not. */
static bool authorize(j0_state *st, rn_http *h, bool *admin)
{
    char buf[512], user[128];
    bool authz_admin = false;
    if (!rn_host_tokens_required(st->host) || *admin)
        return true;
    const char *tok = header_or_param(h, st->conf.auth_user_header, buf, sizeof(buf));
    if (tok && rn_host_identify(st->host, tok, user, sizeof(user), &authz_admin) && authz_admin) {
        *admin = true;
        return true;
    }
    j0_reply_empty(h, 403);
    return false;
}

bool j0_may_see(const j0_state *st, const j0_sub *s, const char *user, bool admin)
{
    return admin || !rn_host_tokens_required(st->host) || !strcmp(s->user, user);
}

/* The token of the path's last segment. */
static const char *path_token(rn_http *h)
{
    const char *p = strrchr(rn_http_path(h), '/');
    return p ? p + 1 : "";
}

/* The sub named by the path's last segment, when the user may see it. */
static j0_sub *find_owned(j0_state *st, rn_http *h, const char *user, bool admin)
{
    j0_sub *s = j0_list_find(st, path_token(h));
    return s && j0_may_see(st, s, user, admin) ? s : NULL;
}

/* ---------------------------------------------------------------- params */

typedef struct {
    bool base64, wait;
    char fields[512];
    bool has_fields;
} j0_params;

static bool query_true(rn_http *h, const char *name)
{
    char v[16];
    return rn_http_query(h, name, v, sizeof(v)) == 0 && !strcmp(v, "true");
}

/* The query parameters; false after a 400 for unknown fields. */
static bool read_params(rn_http *h, j0_params *p)
{
    char bad[600], msg[700];
    memset(p, 0, sizeof(*p));
    p->base64 = query_true(h, "base64_encoded");
    p->wait = query_true(h, "wait");
    p->has_fields = rn_http_query(h, "fields", p->fields, sizeof(p->fields)) == 0;
    if (p->has_fields && !j0_fields_valid(p->fields, bad, sizeof(bad))) {
        snprintf(msg, sizeof(msg), "invalid fields: %s", bad);
        j0_reply_error(h, 400, msg);
        return false;
    }
    return true;
}

/* Who calls and with which parameters (see open_call). */
typedef struct {
    char user[128];
    bool admin;
    j0_params p;
    const char *fields; /* p.fields, NULL when none were asked */
} j0_call;

/* Authenticate h, check its X-Auth-User too when authz (listing and
 * deleting), and read its parameters into c: false when h has been
 * answered already. */
static bool open_call(j0_state *st, rn_http *h, bool authz, j0_call *c)
{
    if (!j0_authenticate(st, h, c->user, sizeof(c->user), &c->admin) ||
        (authz && !authorize(st, h, &c->admin)) || !read_params(h, &c->p))
        return false;
    c->fields = c->p.has_fields ? c->p.fields : NULL;
    return true;
}

static void reply_errors(rn_http *h, int status, cJSON *errs)
{
    char *text = cJSON_PrintUnformatted(errs);
    if (text)
        rn_http_reply(h, status, "application/json; charset=utf-8", text, strlen(text));
    else
        j0_reply_error(h, 500, "out of memory");
    free(text);
}

static cJSON *parse_body(rn_http *h)
{
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        j0_reply_error(h, 400, "the request body is not valid JSON");
    return root;
}

/* Create one submission from obj: 0 and *out linked and queued, or an
 * HTTP status with errs (422) or msg filled. */
static int create_one(j0_state *st, rn_http *h, const cJSON *obj, bool base64, const char *user,
                      j0_sub **out, cJSON **errs, char *msg, size_t size)
{
    j0_sub *s;
    int status = j0_req_parse(st, obj, base64, &s, errs, msg, size);
    if (status)
        return status;
    snprintf(s->user, sizeof(s->user), "%s", user);
    rn_host_refusal why;
    if (j0_run_start(st, s, h, NULL, &why) < 0) {
        status = why.err == -EBUSY ? 503 : why.status ? why.status : 500;
        snprintf(msg, size, "%s", why.err == -EBUSY ? "queue is full" : why.message);
        j0_sub_free(s);
        return status;
    }
    j0_list_add(st, s);
    j0_store_save(st, s);
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- submissions */

/* A reply held until the rows saved before it are committed: what is
 * acknowledged survives a crash of this node. */
typedef struct {
    rn_http *h;
    int status;
    size_t len;
    char body[];
} j0_held;

static void held_send(void *ud)
{
    j0_held *r = ud;
    rn_http_reply(r->h, r->status, "application/json; charset=utf-8", r->body, r->len);
    rn_http_release(r->h);
    free(r);
}

void j0_reply_after_commit(j0_state *st, rn_http *h, int status, const char *body, size_t len)
{
    j0_held *r = malloc(sizeof(*r) + len + 1);
    if (!r) {
        j0_reply_error(h, 500, "out of memory");
        return;
    }
    r->h = h;
    r->status = status;
    r->len = len;
    memcpy(r->body, body, len);
    r->body[len] = 0;
    rn_http_hold(h);
    if (j0_store_barrier(st, held_send, r) < 0) {
        free(r);
        j0_reply_error(h, 503, "the state store is closed");
        rn_http_release(h);
    }
}

/* {"token": ...} once the submission's row is committed. */
static void reply_committed(j0_state *st, rn_http *h, int status, const char *token)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"token\":\"%s\"}", token);
    j0_reply_after_commit(st, h, status, body, (size_t)n);
}

static void http_create(void *state, rn_http *h)
{
    j0_state *st = state;
    char msg[400];
    j0_call c;
    if (!open_call(st, h, false, &c))
        return;
    if (c.p.wait && !st->conf.enable_wait_result) {
        j0_reply_error(h, 400, "wait not allowed");
        return;
    }
    cJSON *root = parse_body(h);
    if (!root)
        return;
    j0_sub *s = NULL;
    cJSON *errs = NULL;
    int status = create_one(st, h, root, c.p.base64, c.user, &s, &errs, msg, sizeof(msg));
    cJSON_Delete(root);
    if (status == 422 && errs)
        reply_errors(h, 422, errs);
    else if (status)
        j0_reply_error(h, status, msg);
    cJSON_Delete(errs);
    if (status)
        return;
    if (!c.p.wait) {
        reply_committed(st, h, 201, s->token);
        return;
    }
    j0_waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        reply_committed(st, h, 201, s->token);
        return;
    }
    w->http = h;
    w->base64 = c.p.base64;
    snprintf(w->fields, sizeof(w->fields), "%s", c.p.has_fields ? c.p.fields : "");
    w->next = s->waiters;
    s->waiters = w;
    rn_http_hold(h);
}

static void http_get(void *state, rn_http *h)
{
    j0_state *st = state;
    j0_call c;
    if (!open_call(st, h, false, &c))
        return;
    j0_sub *s = find_owned(st, h, c.user, c.admin);
    char *tok = (char *)path_token(h);
    if (!s && !j0_list_find(st, tok) && j0_shared_reads(st) &&
        j0_shared_fetch(st, h, J0_FETCH_GET, &tok, 1, c.user, c.admin, c.fields, c.p.base64) == 0)
        return;
    if (!s) {
        j0_reply_error(h, 404, "submission not found");
        return;
    }
    j0_reply_sub(st, h, 200, s, c.fields, c.p.base64);
}

bool j0_delete_reply(rn_http *h, j0_state *st, const j0_sub *s, const char *fields)
{
    char msg[200];
    if (s->status_id <= J0_PROCESSING) {
        snprintf(msg, sizeof(msg), "submission cannot be deleted because its status is %d (%s)",
                 s->status_id, j0_status_name(s->status_id));
        j0_reply_error(h, 400, msg);
        return false;
    }
    /* Judge0 answers a delete in base64 whatever was asked. */
    j0_reply_sub(st, h, 200, s, fields, true);
    return true;
}

static void http_delete(void *state, rn_http *h)
{
    j0_state *st = state;
    j0_call c;
    if (!open_call(st, h, true, &c))
        return;
    if (!st->conf.enable_submission_delete) {
        j0_reply_error(h, 400, "delete not allowed");
        return;
    }
    j0_sub *s = find_owned(st, h, c.user, true);
    char *tok = (char *)path_token(h);
    if (!s && j0_shared_reads(st) &&
        j0_shared_fetch(st, h, J0_FETCH_DELETE, &tok, 1, c.user, true, c.fields, c.p.base64) == 0)
        return;
    if (!s) {
        j0_reply_error(h, 404, "submission not found");
        return;
    }
    if (!j0_delete_reply(h, st, s, c.fields))
        return;
    j0_store_delete(st, s);
    j0_list_remove(st, s);
    j0_sub_free(s);
}

static void http_index(void *state, rn_http *h)
{
    j0_state *st = state;
    char v[32];
    j0_call c;
    if (!open_call(st, h, true, &c))
        return;
    long page = 1, per = 20;
    if (rn_http_query(h, "page", v, sizeof(v)) == 0 && atol(v) > 0)
        page = atol(v) > 1000000 ? 1000000 : atol(v);
    if (rn_http_query(h, "per_page", v, sizeof(v)) == 0 && atol(v) > 0)
        per = atol(v) > 100 ? 100 : atol(v);
    bool scoped = rn_host_tokens_required(st->host) && !c.admin && strcmp(c.user, "anonymous");
    if (j0_shared_reads(st) &&
        j0_shared_index(st, h, scoped ? c.user : NULL, page, per, c.fields, c.p.base64) == 0)
        return;
    long total = 0, skip = (page - 1) * per, k = 0;
    for (j0_sub *s = st->tail; s; s = s->prev)
        total += !scoped || !strcmp(s->user, c.user);
    const j0_sub **subs = calloc((size_t)per, sizeof(*subs));
    if (!subs) {
        j0_reply_error(h, 500, "out of memory");
        return;
    }
    size_t n = 0;
    for (j0_sub *s = st->tail; s && n < (size_t)per; s = s->prev) {
        if (scoped && strcmp(s->user, c.user))
            continue;
        if (k++ >= skip)
            subs[n++] = s;
    }
    j0_reply_page(st, h, subs, n, page, per, total, c.fields, c.p.base64);
    free(subs);
}

/* ---------------------------------------------------------------- batch */

static void http_batch_create(void *state, rn_http *h)
{
    j0_state *st = state;
    char msg[400];
    j0_call c;
    if (!open_call(st, h, false, &c))
        return;
    cJSON *root = parse_body(h);
    if (!root)
        return;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "submissions");
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (n < 1 || n > J0_BATCH_MAX) {
        snprintf(msg, sizeof(msg),
                 n < 1 ? "submissions must be a non-empty array"
                       : "number of submissions in a batch should be less than or equal to %d",
                 J0_BATCH_MAX);
        j0_reply_error(h, 400, msg);
        cJSON_Delete(root);
        return;
    }
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "[");
    int failed = 0, i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        j0_sub *s = NULL;
        cJSON *errs = NULL;
        rn_jbuf_str(&b, i++ ? "," : "");
        int status = create_one(st, h, item, c.p.base64, c.user, &s, &errs, msg, sizeof(msg));
        if (!status) {
            rn_jbuf_str(&b, "{\"token\":");
            rn_jbuf_jcstr(&b, s->token);
            rn_jbuf_str(&b, "}");
            continue;
        }
        failed++;
        char *text = errs ? cJSON_PrintUnformatted(errs) : NULL;
        if (text)
            rn_jbuf_str(&b, text);
        else {
            rn_jbuf_str(&b, "{\"error\":");
            rn_jbuf_jcstr(&b, msg);
            rn_jbuf_str(&b, "}");
        }
        free(text);
        cJSON_Delete(errs);
    }
    rn_jbuf_str(&b, "]");
    cJSON_Delete(root);
    if (failed == n)
        rn_http_reply(h, 422, "application/json; charset=utf-8", b.data, b.len);
    else if (b.oom)
        j0_reply_error(h, 500, "out of memory");
    else
        j0_reply_after_commit(st, h, 201, b.data, b.len);
    rn_jbuf_free(&b);
}

static void http_batch_get(void *state, rn_http *h)
{
    j0_state *st = state;
    char tokens[J0_BATCH_MAX * 40 + 64];
    j0_call c;
    if (!open_call(st, h, false, &c))
        return;
    if (rn_http_query(h, "tokens", tokens, sizeof(tokens)) < 0) {
        j0_reply_error(h, 400, "tokens are required (at most 20, comma-separated)");
        return;
    }
    char *toks[J0_BATCH_MAX];
    const j0_sub *subs[J0_BATCH_MAX];
    size_t n = 0;
    bool missing = false;
    for (char *save = NULL, *t = strtok_r(tokens, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == J0_BATCH_MAX) {
            j0_reply_error(h, 400, "number of tokens should be less than or equal to 20");
            return;
        }
        while (*t == ' ')
            t++;
        j0_sub *s = j0_list_find(st, t);
        missing |= !s;
        toks[n] = t;
        subs[n++] = s && j0_may_see(st, s, c.user, c.admin) ? s : NULL;
    }
    if (missing && j0_shared_reads(st) &&
        j0_shared_fetch(st, h, J0_FETCH_BATCH, toks, n, c.user, c.admin, c.fields, c.p.base64) == 0)
        return;
    j0_reply_batch(st, h, subs, n, c.fields, c.p.base64);
}

/* ---------------------------------------------------------------- auth routes */

static void http_authenticate(void *state, rn_http *h)
{
    char user[128];
    bool admin;
    if (j0_authenticate(state, h, user, sizeof(user), &admin))
        j0_reply_empty(h, 200);
}

static void http_authorize(void *state, rn_http *h)
{
    bool admin = false;
    if (authorize(state, h, &admin))
        j0_reply_empty(h, 200);
}

/* ---------------------------------------------------------------- envelope */

static void j0_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    j0_reply_error(h, status, status == 404 ? "not found" : message);
}

static int j0_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    j0_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->host = host;
    st->conf = *(const j0_conf *)conf;
    st->store = rn_host_store(host);
    const j0_conf *c = &st->conf;
    if (c->cpu_time_limit_ms > c->max_cpu_time_limit_ms ||
        c->wall_time_limit_ms > c->max_wall_time_limit_ms ||
        c->memory_limit_kb > c->max_memory_limit_kb || c->stack_limit_kb > c->max_stack_limit_kb ||
        c->max_file_size_kb > c->max_max_file_size_kb ||
        c->number_of_runs > c->max_number_of_runs ||
        c->cpu_extra_time_ms > c->max_cpu_extra_time_ms ||
        c->max_processes_and_or_threads > c->max_max_processes_and_or_threads) {
        snprintf(err, size, "a default is over its maximum (judge0.X > judge0.max_X)");
        free(st);
        return -EINVAL;
    }
    int r = j0_store_init(st, err, size);
    if (r == 0 && (r = j0_shared_init(st)) < 0)
        snprintf(err, size, "cannot take part in the cluster: %s", strerror(-r));
    if (r < 0) {
        free(st);
        return r;
    }
    *state = st;
    return 0;
}

static void j0_fini(void *state)
{
    j0_state *st = state;
    while (st->head) {
        j0_sub *s = st->head;
        j0_list_remove(st, s);
        j0_sub_free(s); /* every job has ended by now */
    }
    free(st);
}

#define KEY_MS(n, f, lo, hi, d, doc) RN_CONF_KEY_U64(n, j0_conf, f, lo, hi, d, doc)
static const rn_conf_key j0_keys[] = {
    RN_CONF_KEY_BOOL("enable_wait_result", j0_conf, enable_wait_result, "true",
                     "POST /submissions?wait=true runs and answers in one request (Judge0's "
                     "ENABLE_WAIT_RESULT)"),
    RN_CONF_KEY_BOOL("enable_submission_delete", j0_conf, enable_submission_delete, "false",
                     "DELETE /submissions/{token} is allowed to authorized users"),
    RN_CONF_KEY_BOOL("allow_enable_network", j0_conf, allow_enable_network, "false",
                     "a submission may ask enable_network; false answers 422 (runs never get "
                     "a network here)"),
    RN_CONF_KEY_BOOL("enable_per_process_and_thread_time_limit", j0_conf,
                     enable_per_process_and_thread_time_limit, "false",
                     "the default of the submission field of the same name"),
    RN_CONF_KEY_BOOL("enable_per_process_and_thread_memory_limit", j0_conf,
                     enable_per_process_and_thread_memory_limit, "false",
                     "the default of the submission field of the same name"),
    RN_CONF_KEY_STR("auth_token_header", j0_conf, auth_token_header, "\"X-Auth-Token\"",
                    "header (or query parameter) carrying an authentication token"),
    RN_CONF_KEY_STR("auth_user_header", j0_conf, auth_user_header, "\"X-Auth-User\"",
                    "header (or query parameter) carrying an authorization token (an "
                    "auth.admins user's)"),
    KEY_MS("cpu_time_limit_ms", cpu_time_limit_ms, 0, 3600000, "5000",
           "default cpu_time_limit, ms"),
    KEY_MS("max_cpu_time_limit_ms", max_cpu_time_limit_ms, 0, 3600000, "15000",
           "maximum cpu_time_limit, ms"),
    KEY_MS("cpu_extra_time_ms", cpu_extra_time_ms, 0, 3600000, "1000",
           "default cpu_extra_time, ms"),
    KEY_MS("max_cpu_extra_time_ms", max_cpu_extra_time_ms, 0, 3600000, "5000",
           "maximum cpu_extra_time, ms"),
    KEY_MS("wall_time_limit_ms", wall_time_limit_ms, 1000, 3600000, "10000",
           "default wall_time_limit, ms"),
    KEY_MS("max_wall_time_limit_ms", max_wall_time_limit_ms, 1000, 3600000, "20000",
           "maximum wall_time_limit, ms"),
    KEY_MS("memory_limit_kb", memory_limit_kb, 2048, 1u << 30, "128000",
           "default memory_limit, KB"),
    KEY_MS("max_memory_limit_kb", max_memory_limit_kb, 2048, 1u << 30, "512000",
           "maximum memory_limit, KB"),
    KEY_MS("stack_limit_kb", stack_limit_kb, 0, 1u << 30, "64000", "default stack_limit, KB"),
    KEY_MS("max_stack_limit_kb", max_stack_limit_kb, 0, 1u << 30, "128000",
           "maximum stack_limit, KB"),
    KEY_MS("max_processes_and_or_threads", max_processes_and_or_threads, 1, 4096, "60",
           "default max_processes_and_or_threads"),
    KEY_MS("max_max_processes_and_or_threads", max_max_processes_and_or_threads, 1, 4096, "120",
           "maximum max_processes_and_or_threads"),
    KEY_MS("max_file_size_kb", max_file_size_kb, 0, 1u << 30, "1024", "default max_file_size, KB"),
    KEY_MS("max_max_file_size_kb", max_max_file_size_kb, 0, 1u << 30, "4096",
           "maximum max_file_size, KB"),
    KEY_MS("number_of_runs", number_of_runs, 1, 100, "1", "default number_of_runs"),
    KEY_MS("max_number_of_runs", max_number_of_runs, 1, 100, "20", "maximum number_of_runs"),
    KEY_MS("max_extract_size_kb", max_extract_size_kb, 1, 1u << 20, "10240",
           "additional_files: bytes unpacked at most, KB"),
    KEY_MS("max_extract_files", max_extract_files, 1, 4096, "64",
           "additional_files: files unpacked at most"),
    KEY_MS("max_submissions", max_submissions, 1, 10000000, "10000",
           "submissions kept (finished ones beyond go, oldest first)"),
    RN_CONF_KEY_LIST("callback_allow", j0_conf, callback_allow,
                     "hosts or CIDR ranges a callback_url may name although loopback, "
                     "link-local, private or the server's own"),
};

static const rn_route j0_routes[] = {
    {"POST", "/submissions", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_create},
    {"GET", "/submissions", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_index},
    {"POST", "/submissions/batch", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_batch_create},
    {"GET", "/submissions/batch", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_batch_get},
    {"GET", "/submissions/*", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_get},
    {"DELETE", "/submissions/*", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_delete},
    {"GET", "/languages", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_languages},
    {"GET", "/languages/all", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_languages_all},
    {"GET", "/languages/*", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_language},
    {"GET", "/statuses", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_statuses},
    {"GET", "/about", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_about},
    {"GET", "/version", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_version},
    {"GET", "/isolate", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_isolate},
    {"GET", "/license", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_license},
    {"GET", "/system_info", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_system_info},
    {"GET", "/config_info", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_config_info},
    {"GET", "/workers", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_workers},
    {"GET", "/statistics", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, j0_http_statistics},
    {"POST", "/authenticate", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_authenticate},
    {"POST", "/authorize", RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH, http_authorize},
    {0},
};

const rn_envelope rn_env_judge0 = {
    .name = "judge0",
    .keys = j0_keys,
    .nkeys = sizeof(j0_keys) / sizeof(j0_keys[0]),
    .conf_size = sizeof(j0_conf),
    .init = j0_init,
    .fini = j0_fini,
    .routes = j0_routes,
    .http_error = j0_http_error,
};
