/* The Jobe envelope: Jobe's REST API (trampgeek/jobe), what Moodle's
 * CodeRunner and other Jobe clients speak, under /jobe/index.php/restapi/
 * and /jobe/restapi/: GET languages, POST runs, PUT and HEAD files/{id}.
 * Answers, errors (JSON strings) and outcomes are Jobe's; the run_spec is
 * turned into a job by jobe_run.c, uploaded files live in jobe_files.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache.h"
#include "envelope.h"
#include "jbuf.h"
#include "host.h"
#include "jobe_files.h"
#include "jobe_shared.h"
#include "jobe_run.h"
#include "log.h"
#include "util.h"

#define JOBE_RATE_SLOTS 1024

typedef struct {
    char files_dir[1024];
    uint64_t files_max_count;
    uint64_t files_max_bytes;
    uint64_t files_max_age_s;
    uint64_t max_cputime_s;
    uint64_t runs_per_hour;
} jobe_conf;

typedef struct {
    char client[64];
    double tokens;
    uint64_t last_ms;
} rate_slot;

typedef struct {
    rn_host *host;
    jobe_conf conf;
    jobe_files *files;
    rate_slot rate[JOBE_RATE_SLOTS];
} jobe_state;

/* One POST runs, from its request to its answer. */
typedef struct {
    jobe_state *st;
    rn_http *h;
    jobe_run *run;
    rn_job *job;
    char client[64];
    bool compiling;
    bool reached_run;
    bool aborted;
} jobe_req;

/* ---- answers ---- */

/* An error as Jobe sends it: a JSON string. */
static void reply_error(rn_http *h, int status, const char *msg)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_jcstr(&b, msg);
    if (b.oom)
        rn_http_reply(h, 500, "application/json", "\"out of memory\"", 15);
    else
        rn_http_reply(h, status, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

static void jobe_http_error(void *state, rn_http *h, int status, const char *message)
{
    (void)state;
    /* Jobe's router has a route per method: another method is a 404. */
    if (status == 405 || status == 404) {
        char msg[600];
        snprintf(msg, sizeof(msg), "Can't find a route for '%s: %.400s'.", rn_http_method(h),
                 rn_http_path(h));
        reply_error(h, 404, msg);
        return;
    }
    reply_error(h, status, message);
}

/* ---- keys and rate ---- */

/* The API key a request presents: X-API-KEY (Jobe's header), else a
 * bearer token or ?token=; NULL if none. qt holds a query value. */
static const char *presented_key(rn_http *h, char *qt, size_t size)
{
    const char *key = rn_http_header(h, "x-api-key");
    const char *authz = rn_http_header(h, "authorization");
    if (!key && authz) {
        if (!strncasecmp(authz, "bearer ", 7))
            key = authz + 7;
        else if (!strncasecmp(authz, "basic ", 6))
            key = authz + 6;
    }
    if (!key && rn_http_query(h, "token", qt, size) == 0)
        key = qt;
    while (key && *key == ' ')
        key++;
    return key && *key ? key : NULL;
}

/* With auth.tokens set, a request needs a server token, as X-API-KEY (Jobe's
 * header) or as a bearer token; 403 with Jobe's words otherwise. */
static bool check_key(jobe_state *st, rn_http *h)
{
    if (!rn_host_tokens_required(st->host))
        return true;
    char qt[512];
    const char *key = presented_key(h, qt, sizeof(qt));
    if (!key) {
        rn_http_reply(h, 403, "text/plain", "Missing API key", 15);
        return false;
    }
    if (!rn_host_token_valid(st->host, key)) {
        rn_http_reply(h, 403, "text/plain", "Unknown API key", 15);
        return false;
    }
    return true;
}

/* The tenant a request's files belong to: the auth.users name of the key
 * it presents (X-API-KEY, bearer or ?token=), else the anonymous one. */
static void tenant_of(jobe_state *st, rn_http *h, char *user, size_t size)
{
    char qt[512];
    bool admin;
    /* check_key has passed: an unknown key here means no tokens are set */
    if (!rn_host_identify(st->host, presented_key(h, qt, sizeof(qt)), user, size, &admin))
        snprintf(user, size, "anonymous");
}

/* Whom Jobe's throttle counts: the API key (as a hash, never the key
 * itself), as Jobe does; without one, the client address. */
static void rate_identity(rn_http *h, char *out, size_t size)
{
    char qt[512];
    const char *key = presented_key(h, qt, sizeof(qt));
    if (!key) {
        const char *client = rn_host_client_of(NULL, h);
        snprintf(out, size, "%s", client ? client : "");
        return;
    }
    uint8_t d[32];
    rn_cache_sha256(key, strlen(key), d);
    size_t o = (size_t)snprintf(out, size, "key:");
    for (int i = 0; i < 12 && o + 3 <= size; i++, o += 2)
        snprintf(out + o, size - o, "%02x", d[i]);
}

/* Jobe's throttle: runs per hour per API key (else per client address),
 * a token bucket. */
static bool rate_take(jobe_state *st, const char *client)
{
    if (!st->conf.runs_per_hour)
        return true;
    uint64_t now = rn_now_ms();
    double cap = (double)st->conf.runs_per_hour;
    rate_slot *slot = NULL, *oldest = &st->rate[0];
    for (size_t i = 0; i < JOBE_RATE_SLOTS; i++) {
        rate_slot *s = &st->rate[i];
        if (s->client[0] && !strcmp(s->client, client)) {
            slot = s;
            break;
        }
        if (!s->client[0] || s->last_ms < oldest->last_ms)
            oldest = s;
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->client, sizeof(slot->client), "%s", client);
        slot->tokens = cap;
        slot->last_ms = now;
    }
    slot->tokens += (double)(now - slot->last_ms) * cap / 3600000.0;
    if (slot->tokens > cap)
        slot->tokens = cap;
    slot->last_ms = now;
    if (slot->tokens < 1)
        return false;
    slot->tokens -= 1;
    return true;
}

/* ---- languages ---- */

static int cmp_pair(const void *a, const void *b)
{
    return strcmp(rn_spec_jobe_id(*(const rn_spec *const *)a),
                  rn_spec_jobe_id(*(const rn_spec *const *)b));
}

/* Jobe gives the bare version number ("3.11.2"). */
static void put_version(rn_jbuf *b, const char *v)
{
    const char *p = v ? v : "";
    while (*p && !(*p >= '0' && *p <= '9'))
        p++;
    size_t n = 0;
    while ((p[n] >= '0' && p[n] <= '9') || (p[n] == '.' && p[n + 1] >= '0' && p[n + 1] <= '9'))
        n++;
    if (n)
        rn_jbuf_jstr(b, p, n);
    else
        rn_jbuf_jcstr(b, "Unknown");
}

static void h_languages(void *state, rn_http *h)
{
    jobe_state *st = state;
    if (!check_key(st, h))
        return;
    const rn_specs *specs = rn_host_specs(st->host);
    size_t n = rn_specs_count(specs), k = 0;
    const rn_spec **list = calloc(n ? n : 1, sizeof(*list));
    if (!list) {
        reply_error(h, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (rn_specs_at(specs, i)->available)
            list[k++] = rn_specs_at(specs, i);
    qsort(list, k, sizeof(*list), cmp_pair);
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "[");
    for (size_t i = 0; i < k; i++) {
        if (i && !strcmp(rn_spec_jobe_id(list[i]), rn_spec_jobe_id(list[i - 1])))
            continue;
        rn_jbuf_str(&b, b.len > 1 ? ",[" : "[");
        rn_jbuf_jcstr(&b, rn_spec_jobe_id(list[i]));
        rn_jbuf_str(&b, ",");
        put_version(&b, list[i]->version);
        rn_jbuf_str(&b, "]");
    }
    rn_jbuf_str(&b, "]");
    free(list);
    if (b.oom)
        reply_error(h, 500, "out of memory");
    else
        rn_http_reply(h, 200, "application/json", b.data, b.len);
    rn_jbuf_free(&b);
}

/* ---- runs ---- */

/* The store when several nodes share it (their files are in it), or NULL. */
static rn_store *shared_store(const jobe_state *st)
{
    rn_store *s = rn_host_store(st->host);
    return rn_store_shared(s) ? s : NULL;
}

static void req_free(jobe_req *r)
{
    jobe_run_free(r->run);
    free(r);
}

static void on_stage(rn_job *job, rn_job_stage stage, void *ud)
{
    jobe_req *r = ud;
    (void)job;
    r->compiling = stage == RN_JOB_COMPILING;
    if (stage == RN_JOB_RUNNING)
        r->reached_run = true;
}

static void on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    jobe_req *r = ud;
    (void)job;
    jobe_run_output(r->run, r->compiling, fd, data, len);
}

static void on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    jobe_req *r = ud;
    size_t len = 0;
    char *body = jobe_run_result(r->run, rn_job_id(job), res, r->reached_run, &len);
    if (body)
        rn_http_reply(r->h, 200, "application/json", body, len);
    else
        reply_error(r->h, 500, "out of memory");
    free(body);
    rn_http_release(r->h);
    req_free(r);
}

static const rn_job_callbacks run_callbacks = {on_stage, on_output, on_end};

static void on_abort(void *ud)
{
    jobe_req *r = ud;
    if (r->job)
        rn_job_kill(r->job);
    else
        r->aborted = true; /* still reading its files */
}

/* Submit; on refusal answer as Jobe would and free r. */
static void submit(jobe_req *r, const jobe_file_data *files)
{
    rn_job_request *q;
    int err = jobe_run_request(r->run, files, &q);
    if (err < 0) {
        reply_error(r->h, 500, "Server exception (out of memory)");
        goto refused;
    }
    rn_host_origin from = {.http = r->h, .inflight = -1};
    rn_host_refusal why;
    err = rn_host_submit(r->st->host, &from, q, &run_callbacks, r, &r->job, &why);
    if (err == 0)
        return;
    if (err == -EBUSY) {
        size_t len;
        char *body = jobe_run_overload(&len);
        if (body)
            rn_http_reply(r->h, 200, "application/json", body, len);
        else
            reply_error(r->h, 500, "out of memory");
        free(body);
    } else if (err == -EDQUOT) {
        rn_http_reply(r->h, 429, "text/plain", "Max RUN rate for this server exceeded", 37);
    } else {
        reply_error(r->h, why.status ? why.status : 500, why.message);
    }
refused:
    rn_http_release(r->h);
    req_free(r);
}

static void on_files_read(void *ud, int err, jobe_file_data *files)
{
    jobe_req *r = ud;
    size_t n;
    jobe_run_file_ids(r->run, &n);
    if (r->aborted) {
        jobe_files_free_read(files, n);
        rn_http_release(r->h);
        req_free(r);
        return;
    }
    if (err < 0) {
        if (err == -ENOENT)
            reply_error(r->h, 404, "One or more of the specified files is missing/unavailable");
        else
            reply_error(r->h, 500, "Server exception (file cache unreadable)");
        rn_http_release(r->h);
        req_free(r);
        return;
    }
    submit(r, files); /* the request holds copies */
    jobe_files_free_read(files, n);
}

/* Read the run's files from the cache, then submit. */
static void read_files(jobe_req *r)
{
    size_t n;
    const char *const *ids = jobe_run_file_ids(r->run, &n);
    if (!n) {
        submit(r, NULL);
        return;
    }
    if (jobe_files_read(r->st->files, ids, n, on_files_read, r) < 0) {
        reply_error(r->h, 500, "out of memory");
        rn_http_release(r->h);
        req_free(r);
    }
}

/* The files this node lacked came from the shared store (or not). */
static void on_filled(void *ud, int err)
{
    jobe_req *r = ud;
    if (!r->aborted && !err) {
        read_files(r);
        return;
    }
    if (!r->aborted && err == -ENOENT)
        reply_error(r->h, 404, "One or more of the specified files is missing/unavailable");
    else if (!r->aborted)
        reply_error(r->h, 500, "Server exception (file store unreadable)");
    rn_http_release(r->h);
    req_free(r);
}

static void h_runs(void *state, rn_http *h)
{
    jobe_state *st = state;
    if (!check_key(st, h))
        return;
    char who[64];
    rate_identity(h, who, sizeof(who));
    if (!rate_take(st, who)) {
        rn_http_reply(h, 429, "text/plain", "Max RUN rate for this server exceeded", 37);
        return;
    }
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = cJSON_ParseWithLength(body, len);
    char msg[512] = "";
    jobe_run *run = NULL;
    rn_host_info info;
    rn_host_info_get(st->host, &info);
    jobe_run_limits lim = {.max_cputime_s = st->conf.max_cputime_s,
                           .max_files = RN_JOB_MAX_FILES,
                           .compile_ms = info.limits ? info.limits->wall_ms : 0};
    int status = jobe_run_parse(root, rn_host_specs(st->host), &lim, &run, msg, sizeof(msg));
    cJSON_Delete(root);
    if (status) {
        reply_error(h, status, msg);
        return;
    }
    size_t n;
    const char *const *given = jobe_run_file_ids(run, &n);
    /* the files are the caller's own: ids scoped by tenant */
    char user[128], own[JOBE_FILE_ID_MAX + 1];
    tenant_of(st, h, user, sizeof(user));
    for (size_t i = 0; i < n; i++) {
        jobe_files_tenant_id(user, given[i], own);
        if (jobe_run_set_file_id(run, i, own) < 0) {
            reply_error(h, 500, "out of memory");
            jobe_run_free(run);
            return;
        }
    }
    const char *const *ids = jobe_run_file_ids(run, &n);
    bool missing = false;
    for (size_t i = 0; i < n; i++)
        missing = missing || !jobe_files_has(st->files, ids[i]);
    rn_store *shared = shared_store(st);
    if (missing && !shared) {
        reply_error(h, 404, "One or more of the specified files is missing/unavailable");
        jobe_run_free(run);
        return;
    }
    jobe_req *r = calloc(1, sizeof(*r));
    if (!r) {
        jobe_run_free(run);
        reply_error(h, 500, "out of memory");
        return;
    }
    r->st = st;
    r->h = h;
    r->run = run;
    const char *client = rn_host_client_of(NULL, h);
    snprintf(r->client, sizeof(r->client), "%s", client ? client : "");
    rn_http_hold(h);
    rn_http_on_abort(h, on_abort, r);
    if (!missing) {
        read_files(r);
    } else if (jobe_shared_fill(shared, st->files, ids, n, on_filled, r) < 0) {
        reply_error(h, 500, "Server exception (file store unreadable)");
        rn_http_release(h);
        req_free(r);
    }
}

/* ---- files ---- */

/* The id: the path's last segment. */
static const char *file_id(rn_http *h)
{
    const char *p = strrchr(rn_http_path(h), '/');
    return p ? p + 1 : "";
}

/* Strict base64 as PHP's base64_decode(s, true): the alphabet only
 * (whitespace skipped), '=' only at the end. -EINVAL otherwise. */
static int b64_decode(const char *s, size_t n, char **out, size_t *outlen)
{
    char *o = malloc(n / 4 * 3 + 4);
    if (!o)
        return -ENOMEM;
    size_t k = 0, pad = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = rn_base64_value(c, false);
        if (v < 0 || pad) {
            free(o);
            return -EINVAL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(o);
        return -EINVAL;
    }
    *out = o;
    *outlen = k;
    return 0;
}

static void on_put(void *ud, int err)
{
    rn_http *h = ud;
    if (err < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "put: failed to write file %s to cache", file_id(h));
        reply_error(h, 500, msg);
        rn_log(RN_LOG_ERROR, "jobe.file_put_failed", "error=%d", err);
    } else {
        rn_http_reply(h, 204, NULL, "", 0);
    }
    rn_http_release(h);
}

/* A PUT on a shared store: the cache and the store both written. */
typedef struct {
    rn_http *h;
    int pending;
    int err;
} put_join;

static void on_put_part(void *ud, int err)
{
    put_join *j = ud;
    if (err < 0 && !j->err)
        j->err = err;
    if (--j->pending)
        return;
    on_put(j->h, j->err);
    free(j);
}

/* Write the cache (and the shared store); on_put(h) answers. */
static int put_both(jobe_state *st, rn_http *h, const char *id, const char *data, size_t len)
{
    rn_store *shared = shared_store(st);
    if (!shared)
        return jobe_files_put(st->files, id, data, len, on_put, h);
    put_join *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->h = h;
    j->pending = 2;
    int r = jobe_files_put(st->files, id, data, len, on_put_part, j);
    if (r < 0) {
        free(j);
        return r;
    }
    if ((r = jobe_shared_put(shared, id, data, len, on_put_part, j)) < 0)
        on_put_part(j, r); /* the cache's write still answers, with the error */
    return 0;
}

static void h_put_file(void *state, rn_http *h)
{
    jobe_state *st = state;
    if (!check_key(st, h))
        return;
    const char *id = file_id(h);
    char msg[300];
    if (!*id) {
        reply_error(h, 400, "No file id in URL");
        return;
    }
    if (!jobe_files_id_valid(id)) {
        snprintf(msg, sizeof(msg), "Can't find a route for 'PUT: %.200s'.", rn_http_path(h));
        reply_error(h, 404, msg);
        return;
    }
    size_t len;
    const char *body = rn_http_body(h, &len);
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *fc = cJSON_GetObjectItemCaseSensitive(root, "file_contents");
    if (!cJSON_IsObject(root) || !cJSON_IsString(fc)) {
        cJSON_Delete(root);
        reply_error(h, 400, "put: missing file_contents parameter");
        return;
    }
    char *data = NULL;
    size_t dlen = 0;
    int err = b64_decode(fc->valuestring, strlen(fc->valuestring), &data, &dlen);
    cJSON_Delete(root);
    if (err == -EINVAL) {
        snprintf(msg, sizeof(msg), "put: contents of file %s are not valid base-64", id);
        reply_error(h, 400, msg);
        return;
    }
    if (err == 0) {
        char own[JOBE_FILE_ID_MAX + 1], user[128];
        tenant_of(st, h, user, sizeof(user));
        jobe_files_tenant_id(user, id, own);
        rn_http_hold(h); /* released by on_put */
        err = put_both(st, h, own, data, dlen);
        if (err < 0)
            rn_http_release(h);
    }
    free(data);
    if (err < 0) {
        if (err == -EFBIG)
            snprintf(msg, sizeof(msg), "put: file %s is larger than the file cache", id);
        else
            snprintf(msg, sizeof(msg), "put: failed to write file %s to cache", id);
        reply_error(h, err == -EFBIG ? 413 : 500, msg);
    }
}

/* HEAD of an id this node lacked: 204 once the shared store gave it. */
static void on_head_filled(void *ud, int err)
{
    rn_http *h = ud;
    rn_http_reply(h, err == 0 ? 204 : 404, NULL, "", 0);
    rn_http_release(h);
}

static void h_head_file(void *state, rn_http *h)
{
    jobe_state *st = state;
    if (!check_key(st, h))
        return;
    const char *id = file_id(h);
    char own[JOBE_FILE_ID_MAX + 1] = "", user[128];
    tenant_of(st, h, user, sizeof(user));
    bool valid = jobe_files_id_valid(id);
    if (valid)
        jobe_files_tenant_id(user, id, own);
    bool ok = valid && jobe_files_has(st->files, own);
    rn_store *shared = shared_store(st);
    if (ok || !valid || !shared) {
        rn_http_reply(h, ok ? 204 : 404, NULL, "", 0);
        return;
    }
    rn_http_hold(h); /* released by on_head_filled */
    const char *want = own;
    if (jobe_shared_fill(shared, st->files, &want, 1, on_head_filled, h) < 0) {
        rn_http_reply(h, 404, NULL, "", 0);
        rn_http_release(h);
    }
}

static void h_options(void *state, rn_http *h)
{
    (void)state;
    rn_http_add_header(h, "access-control-allow-origin", "*");
    rn_http_add_header(h, "access-control-allow-methods", "GET, POST, PUT, HEAD, OPTIONS");
    rn_http_add_header(h, "access-control-allow-headers", "Content-Type, X-API-KEY");
    rn_http_reply(h, 204, NULL, "", 0);
}

/* ---- the envelope ---- */

static int jobe_init(rn_host *host, const void *conf, void **state, char *err, size_t size)
{
    jobe_state *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->host = host;
    st->conf = *(const jobe_conf *)conf;
    if (!st->conf.files_dir[0]) {
        snprintf(err, size, "jobe.files_dir: must not be empty");
        free(st);
        return -EINVAL;
    }
    jobe_files_options fo = {
        .dir = st->conf.files_dir,
        .max_count = st->conf.files_max_count,
        .max_bytes = st->conf.files_max_bytes,
        .max_age_s = st->conf.files_max_age_s,
    };
    int r = jobe_files_open(rn_host_loop(host), &fo, &st->files, err, size);
    if (r < 0) {
        free(st);
        return r;
    }
    rn_store *shared = shared_store(st);
    if (shared && (r = jobe_shared_retention(shared)) < 0)
        rn_log(RN_LOG_WARN, "jobe.no_shared_retention", "err=%d", r);
    *state = st;
    return 0;
}

static void jobe_fini(void *state)
{
    jobe_state *st = state;
    if (!st)
        return;
    jobe_files_close(st->files);
    free(st);
}

static const rn_conf_key jobe_keys[] = {
    RN_CONF_KEY_STR("files_dir", jobe_conf, files_dir, "\"runnel-state/jobe-files\"",
                    "uploaded files (relative: to the working directory); made at the first PUT"),
    RN_CONF_KEY_U64("files_max_count", jobe_conf, files_max_count, 1, 1000000, "4096",
                    "uploaded files kept (least recently used dropped first)"),
    RN_CONF_KEY_U64("files_max_bytes", jobe_conf, files_max_bytes, 1024, 1ull << 40, "268435456",
                    "bytes of uploaded files kept (distinct contents)"),
    RN_CONF_KEY_U64("files_max_age_s", jobe_conf, files_max_age_s, 0, 10ull * 365 * 86400, "86400",
                    "an uploaded file unused this long is dropped (0 = never)"),
    RN_CONF_KEY_U64("max_cputime", jobe_conf, max_cputime_s, 1, 86400, "120",
                    "largest cputime parameter in seconds (above: 400, as Jobe)"),
    RN_CONF_KEY_U64("runs_per_hour", jobe_conf, runs_per_hour, 0, 1000000000, "0",
                    "runs per hour per API key, else per client address (429 above; 0 = no limit)"),
};

#define JOBE_AUTH (RN_ROUTE_OWN_AUTH | RN_ROUTE_SLASH)
#define JOBE_ROUTES(P)                                                                             \
    {"GET", P "/languages", JOBE_AUTH, h_languages}, {"POST", P "/runs", JOBE_AUTH, h_runs},       \
        {"PUT", P "/files/*", JOBE_AUTH, h_put_file},                                              \
        {"HEAD", P "/files/*", JOBE_AUTH, h_head_file},                                            \
        {"OPTIONS", P, RN_ROUTE_PUBLIC | RN_ROUTE_PREFIX, h_options},                              \
    {                                                                                              \
        NULL, P, RN_ROUTE_OWN_AUTH | RN_ROUTE_PREFIX, NULL                                         \
    }

static const rn_route jobe_routes[] = {
    JOBE_ROUTES("/jobe/index.php/restapi"),
    JOBE_ROUTES("/jobe/restapi"),
    {0},
};

static const rn_ws_endpoint jobe_ws[] = {
    {0},
};

const rn_envelope rn_env_jobe = {
    .name = "jobe",
    .keys = jobe_keys,
    .nkeys = sizeof(jobe_keys) / sizeof(jobe_keys[0]),
    .conf_size = sizeof(jobe_conf),
    .init = jobe_init,
    .fini = jobe_fini,
    .routes = jobe_routes,
    .ws = jobe_ws,
    .http_error = jobe_http_error,
};
