/* The Lenses SQL envelope: Lenses' SQL WebSocket (one query per socket,
 * typed frames back) over per-environment datasets, with SQLite as the
 * engine. The query runs in the sandbox as the runnel-sql helper with the
 * environment's dataset directory bound read-only at /data; the helper
 * writes one frame per line, which this file forwards as WebSocket frames,
 * adding HEARTBEAT, the frames for limits the sandbox enforces, and END.
 * See docs/lenses.md. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "envelope.h"
#include "lenses_config.h"
#include "jbuf.h"
#include "log.h"
#include "util.h"

static rn_host *host;

/* One socket = one query. */
typedef struct {
    rn_conn *conn;
    const lenses_env *env;
    bool started, ended;
    rn_job *job;
    uv_timer_t *heartbeat;
    uint64_t last_send_ms;
    rn_jbuf line; /* a frame line cut by a chunk boundary */
    rn_jbuf err;  /* the helper's stderr, first bytes */
    bool saw_error, saw_sentinel;
    uint64_t records;
    bool stats;
    char id[37];
    int64_t started_at;
} lenses_run;

/* ---------------------------------------------------------------- config */

static int lenses_init(rn_host *h, const void *conf, void **state, char *err, size_t size)
{
    host = h;
    *state = h;
    return lenses_config_load(h, conf, err, size);
}

static void lenses_fini(void *state)
{
    (void)state;
    lenses_config_free();
}

/* ---------------------------------------------------------------- routing */

#define SQL_TAIL "/proxy/api/ws/v2/sql/execute"

/* The environment named by a path, or "" for the default one; false when
 * the path is not a Lenses SQL path. */
static bool path_env(const char *path, const char **name, size_t *len)
{
    size_t n = strlen(path);
    if (n && path[n - 1] == '/')
        n--;
    static const char *const prefixes[] = {"/api/v1/environments/", "/environment/"};
    if (n == strlen("/api/ws/v2/sql/execute") && !strncmp(path, "/api/ws/v2/sql/execute", n)) {
        *name = lenses_cfg.default_env;
        *len = strlen(lenses_cfg.default_env);
        return true;
    }
    size_t tl = strlen(SQL_TAIL);
    if (n <= tl || strncmp(path + n - tl, SQL_TAIL, tl))
        return false;
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(prefixes[i]);
        if (n > pl + tl && !strncmp(path, prefixes[i], pl)) {
            *name = path + pl;
            *len = n - pl - tl;
            return memchr(*name, '/', *len) == NULL;
        }
    }
    return false;
}

static int lenses_ws_accept(void *state, rn_http *h, char *msg, size_t size)
{
    (void)state;
    const char *name;
    size_t len;
    if (!path_env(rn_http_path(h), &name, &len))
        return 404;
    const lenses_env *env = lenses_valid_env_name(name, len) ? lenses_find_env(name, len) : NULL;
    if (!env) {
        snprintf(msg, size, "environment not found");
        return 404;
    }
    const char *a = rn_http_header(h, "authorization");
    if (!env->auth) {
        /* The server-wide rule (auth.tokens) holds here as on every
         * envelope; a Lenses token is accepted in its place. */
        if (rn_http_authorized(h) || lenses_token_of(a))
            return 0;
        snprintf(msg, size, "unauthorized");
        return 401;
    }
    if (!a || strncasecmp(a, "Bearer ", 7)) {
        snprintf(msg, size, "missing bearer token");
        return 401;
    }
    const lenses_token *tok = lenses_token_of(a);
    if (!tok) {
        snprintf(msg, size, "invalid token");
        return 401;
    }
    for (char **e = tok->envs; *e; e++)
        if (!strcmp(*e, "*") || !strcmp(*e, env->name))
            return 0;
    snprintf(msg, size, "token not allowed for environment %s", env->name);
    return 403;
}

/* ---------------------------------------------------------------- frames */

static void run_send(lenses_run *run, const char *data, size_t len)
{
    if (rn_conn_send(run->conn, data, len) == 0)
        run->last_send_ms = rn_now_ms();
}

static void send_error(lenses_run *run, const char *msg)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"type\":\"ERROR\",\"data\":");
    rn_jbuf_jcstr(&b, msg);
    rn_jbuf_str(&b, "}");
    if (!b.oom)
        run_send(run, b.data, b.len);
    rn_jbuf_free(&b);
    run->saw_error = true;
}

static void send_sentinel(lenses_run *run, const char *type, uint64_t amount)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"type\":\"SENTINEL\",\"data\":{\"event\":\"QUERY_LIMIT_REACHED\","
                    "\"reason\":{\"type\":");
    rn_jbuf_jcstr(&b, type);
    if (!strcmp(type, "max.query.time"))
        rn_jbuf_printf(&b, ",\"timeout\":%llu", (unsigned long long)amount);
    rn_jbuf_printf(&b, ",\"source\":\"\",\"sourceId\":\"\",\"amount\":%llu}}}",
                   (unsigned long long)amount);
    if (!b.oom)
        run_send(run, b.data, b.len);
    rn_jbuf_free(&b);
    run->saw_sentinel = true;
}

static int64_t epoch_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A last STATS when the helper could not write its own. */
static void send_stats(lenses_run *run)
{
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "{\"type\":\"STATS\",\"data\":{\"id\":");
    rn_jbuf_jcstr(&b, run->id);
    rn_jbuf_printf(&b,
                   ",\"bytesRead\":0,\"sources\":{},\"sourceConfigs\":{},\"sourcesStats\":{},"
                   "\"badRecordsTotal\":0,\"recordsSkipped\":0,\"results\":%llu,"
                   "\"recordsScanned\":%llu,\"duration\":%lld,\"startedAt\":%lld}}",
                   (unsigned long long)run->records, (unsigned long long)run->records,
                   (long long)(epoch_ms() - run->started_at), (long long)run->started_at);
    if (!b.oom)
        run_send(run, b.data, b.len);
    rn_jbuf_free(&b);
}

static void finish(lenses_run *run)
{
    static const char end[] = "{\"type\":\"END\"}";
    run->ended = true;
    run_send(run, end, sizeof(end) - 1);
    rn_conn_close(run->conn, 1000, "");
}

/* ---------------------------------------------------------------- the run */

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(s, prefix, k);
}

/* One frame line from the helper. */
static void on_line(lenses_run *run, const char *s, size_t n)
{
    if (n < 10 || s[0] != '{')
        return;
    if (starts(s, n, "{\"type\":\"RECORD\""))
        run->records++;
    else if (starts(s, n, "{\"type\":\"ERROR\""))
        run->saw_error = true;
    else if (starts(s, n, "{\"type\":\"SENTINEL\""))
        run->saw_sentinel = true;
    run_send(run, s, n);
}

static void on_output(rn_job *job, int fd, const char *data, size_t len, void *ud)
{
    lenses_run *run = ud;
    if (fd == 2) {
        if (run->err.len < LENSES_STDERR_KEEP)
            rn_jbuf_raw(
                &run->err, data,
                len < LENSES_STDERR_KEEP - run->err.len ? len : LENSES_STDERR_KEEP - run->err.len);
        return;
    }
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            if (run->line.len + (size_t)(end - p) > lenses_cfg.max_record_bytes + 65536) {
                rn_jbuf_reset(&run->line);
                send_error(run, "a record is larger than the limit (max_record_bytes)");
                rn_job_kill(job);
                return;
            }
            rn_jbuf_raw(&run->line, p, (size_t)(end - p));
            return;
        }
        if (run->line.len) {
            rn_jbuf_raw(&run->line, p, (size_t)(nl - p));
            if (!run->line.oom)
                on_line(run, run->line.data, run->line.len);
            rn_jbuf_reset(&run->line);
        } else {
            on_line(run, p, (size_t)(nl - p));
        }
        p = nl + 1;
    }
}

static void heartbeat_closed(uv_handle_t *h)
{
    free(h);
}

static void stop_heartbeat(lenses_run *run)
{
    if (run->heartbeat) {
        uv_timer_stop(run->heartbeat);
        uv_close((uv_handle_t *)run->heartbeat, heartbeat_closed);
        run->heartbeat = NULL;
    }
}

static void on_heartbeat(uv_timer_t *t)
{
    lenses_run *run = t->data;
    static const char hb[] = "{\"type\":\"HEARTBEAT\"}";
    if (rn_now_ms() - run->last_send_ms >= lenses_cfg.heartbeat_ms && rn_conn_open(run->conn))
        run_send(run, hb, sizeof(hb) - 1);
}

static void on_end(rn_job *job, const rn_job_result *res, void *ud)
{
    lenses_run *run = ud;
    char msg[400];
    rn_conn *c = run->conn;
    rn_jbuf_reset(&run->line); /* a cut last line is dropped */
    stop_heartbeat(run);
    if (rn_conn_open(c)) {
        bool told = run->saw_error || run->saw_sentinel;
        switch (res->reason) {
        case RN_JOB_END_EXITED:
            if (res->exit_code != 0 && !told) {
                const char *e = run->err.data && run->err.len ? run->err.data : "";
                snprintf(msg, sizeof(msg), "query failed (exit %d)%s%.300s", res->exit_code,
                         *e ? ": " : "", e);
                char *nl = strchr(msg, '\n');
                if (nl)
                    *nl = 0;
                send_error(run, msg);
            }
            break;
        case RN_JOB_END_TIMEOUT:
        case RN_JOB_END_CPU_LIMIT:
            if (!told)
                send_sentinel(run, "max.query.time", lenses_cfg.max_time_ms);
            break;
        case RN_JOB_END_OUTPUT_LIMIT:
            if (!told)
                send_sentinel(run, "max.size", res->output_bytes);
            break;
        case RN_JOB_END_OOM:
            if (!told)
                send_error(run, "the query ran out of memory");
            break;
        default:
            if (!told) {
                snprintf(msg, sizeof(msg), "query %s%s%s", rn_job_end_name(res->reason),
                         res->message[0] ? ": " : "", res->message);
                send_error(run, msg);
            }
            break;
        }
        if (run->stats && res->reason != RN_JOB_END_EXITED)
            send_stats(run);
        finish(run);
    }
    rn_log(RN_LOG_INFO, "lenses.end", "conn=%lu env=%s records=%llu reason=%s", rn_conn_id(c),
           run->env ? run->env->name : "", (unsigned long long)run->records,
           rn_job_end_name(res->reason));
    run->job = NULL;
    rn_conn_untrack(c, job);
    rn_conn_unref(c); /* may free run */
}

static const rn_job_callbacks callbacks = {NULL, on_output, on_end};

/* The server-wide limits a query also obeys, so the helper's own limits
 * fire first with a SENTINEL. */
static void effective_limits(uint64_t *max_time, uint64_t *max_bytes, uint64_t *wall)
{
    rn_host_info info;
    rn_host_info_get(host, &info);
    const rn_jobs_limits *l = info.limits;
    uint64_t w = l->wall_ms ? l->wall_ms : 10000;
    uint64_t t = lenses_cfg.max_time_ms;
    if (t + 500 > w)
        t = w > 1000 ? w - 500 : w / 2;
    *max_time = t;
    *wall = t + 2000 < w ? t + 2000 : w;
    uint64_t ob = l->output_bytes ? l->output_bytes : (1u << 20);
    uint64_t b = lenses_cfg.max_bytes;
    uint64_t room = ob > 2 * 65536 ? ob - 65536 : ob / 2;
    *max_bytes = b < room ? b : room;
}

static void start_query(lenses_run *run, const char *msg, size_t len)
{
    char err[512];
    cJSON *root = cJSON_ParseWithLength(msg, len);
    const cJSON *sql = NULL, *live = NULL, *stats = NULL;
    uint64_t stats_ms = 0;
    if (!root || !cJSON_IsObject(root)) {
        send_error(run, root ? "invalid request: expected a JSON object {sql, live, stats}"
                             : "invalid request: not JSON");
        goto done;
    }
    sql = cJSON_GetObjectItemCaseSensitive(root, "sql");
    live = cJSON_GetObjectItemCaseSensitive(root, "live");
    stats = cJSON_GetObjectItemCaseSensitive(root, "stats");
    if (!sql) {
        send_error(run, "invalid request: missing field 'sql'");
        goto done;
    }
    if (!cJSON_IsString(sql)) {
        send_error(run, "invalid request: field 'sql' must be a string");
        goto done;
    }
    if (!sql->valuestring[strspn(sql->valuestring, " \t\r\n;")]) {
        send_error(run, "invalid request: field 'sql' is empty");
        goto done;
    }
    if (strlen(sql->valuestring) > lenses_cfg.max_sql_bytes) {
        snprintf(err, sizeof(err), "invalid request: field 'sql' is longer than %llu bytes",
                 (unsigned long long)lenses_cfg.max_sql_bytes);
        send_error(run, err);
        goto done;
    }
    if (live && !cJSON_IsNull(live) && !cJSON_IsBool(live)) {
        send_error(run, "invalid request: field 'live' must be a boolean");
        goto done;
    }
    if (stats && !cJSON_IsNull(stats)) {
        double d = cJSON_IsNumber(stats) ? stats->valuedouble : -1;
        if (!cJSON_IsNumber(stats) || d != floor(d) || d < 0 || d > 86400000.0) {
            send_error(run, "invalid request: field 'stats' must be an integer (milliseconds)");
            goto done;
        }
        stats_ms = (uint64_t)d;
        if (stats_ms && stats_ms < LENSES_MIN_STATS_MS)
            stats_ms = LENSES_MIN_STATS_MS;
        run->stats = stats_ms > 0;
    }
    if (!lenses_cfg.spec) {
        send_error(run, "the SQL engine (runnel-sql) is not installed on this server");
        goto done;
    }
    uint64_t max_time, max_bytes, wall;
    effective_limits(&max_time, &max_bytes, &wall);
    rn_random_hex(run->id, 16);
    /* make the run id look like a UUID, as Lenses' ids do */
    char uuid[37];
    snprintf(uuid, sizeof(uuid), "%.8s-%.4s-4%.3s-a%.3s-%.12s", run->id, run->id + 8, run->id + 12,
             run->id + 15, run->id + 18);
    memcpy(run->id, uuid, sizeof(uuid));
    run->started_at = epoch_ms();
    char a_rows[24], a_bytes[24], a_time[24], a_stats[24], a_start[24], a_mem[24], a_rec[24];
    snprintf(a_rows, sizeof(a_rows), "%llu", (unsigned long long)lenses_cfg.max_rows);
    snprintf(a_bytes, sizeof(a_bytes), "%llu", (unsigned long long)max_bytes);
    snprintf(a_time, sizeof(a_time), "%llu", (unsigned long long)max_time);
    snprintf(a_stats, sizeof(a_stats), "%llu", (unsigned long long)stats_ms);
    snprintf(a_start, sizeof(a_start), "%lld", (long long)run->started_at);
    rn_host_info info;
    rn_host_info_get(host, &info);
    uint64_t mem = lenses_cfg.memory_bytes ? lenses_cfg.memory_bytes : info.limits->memory_bytes;
    snprintf(a_mem, sizeof(a_mem), "%llu", (unsigned long long)mem);
    snprintf(a_rec, sizeof(a_rec), "%llu", (unsigned long long)lenses_cfg.max_record_bytes);
    const char *args[] = {"--data",
                          LENSES_DATA_INBOX,
                          "--max-rows",
                          a_rows,
                          "--max-bytes",
                          a_bytes,
                          "--max-time-ms",
                          a_time,
                          "--stats-ms",
                          a_stats,
                          "--id",
                          run->id,
                          "--started-at",
                          a_start,
                          "--memory-bytes",
                          a_mem,
                          "--max-record-bytes",
                          a_rec,
                          "--live"};
    size_t nargs = sizeof(args) / sizeof(args[0]) - (cJSON_IsTrue(live) ? 0 : 1);
    rn_box_bind bind = {run->env->path, LENSES_DATA_INBOX, false, false};
    rn_job_request req;
    memset(&req, 0, sizeof(req));
    req.language = "lenses-sql";
    req.spec = lenses_cfg.spec;
    req.code = sql->valuestring;
    req.code_len = strlen(sql->valuestring);
    req.args = args;
    req.nargs = nargs;
    req.binds = &bind;
    req.nbinds = 1;
    req.wall_ms = wall;
    req.memory_bytes = lenses_cfg.memory_bytes;
    req.output_bytes = 0;
    rn_host_origin from = {.conn = run->conn, .track = true, .inflight = -1};
    rn_host_refusal why;
    rn_conn_ref(run->conn);
    int r = rn_host_submit(host, &from, &req, &callbacks, run, &run->job, &why);
    if (r < 0) {
        rn_conn_unref(run->conn);
        send_error(run, why.message);
        goto done;
    }
    run->heartbeat = malloc(sizeof(*run->heartbeat));
    if (run->heartbeat) {
        uv_timer_init(rn_host_loop(host), run->heartbeat);
        run->heartbeat->data = run;
        uv_timer_start(run->heartbeat, on_heartbeat, lenses_cfg.heartbeat_ms,
                       lenses_cfg.heartbeat_ms);
    }
    char q[200];
    rn_log(RN_LOG_INFO, "lenses.query", "conn=%lu env=%s id=%s sql_bytes=%zu sql=%s",
           rn_conn_id(run->conn), run->env->name, run->id, req.code_len,
           rn_log_quote(sql->valuestring, q, sizeof(q)));
    cJSON_Delete(root);
    return;
done:
    cJSON_Delete(root);
    finish(run);
}

static void run_free(void *p)
{
    lenses_run *run = p;
    stop_heartbeat(run);
    rn_jbuf_free(&run->line);
    rn_jbuf_free(&run->err);
    free(run);
}

static int lenses_ws_open(void *state, rn_conn *c)
{
    (void)state;
    const char *name;
    size_t len;
    if (!path_env(rn_conn_path(c), &name, &len))
        return -ENOENT;
    const lenses_env *env = lenses_find_env(name, len);
    if (!env)
        return -ENOENT;
    lenses_run *run = calloc(1, sizeof(*run));
    if (!run)
        return -ENOMEM;
    run->conn = c;
    run->env = env;
    run->last_send_ms = rn_now_ms();
    rn_jbuf_init(&run->line, 0);
    rn_jbuf_init(&run->err, 0);
    rn_conn_set_data(c, run, run_free);
    return 0;
}

static void lenses_ws_message(void *state, rn_conn *c, const char *msg, size_t len, bool binary)
{
    (void)state;
    lenses_run *run = rn_conn_data(c);
    if (!run || run->started)
        return; /* one query per socket; later messages are ignored */
    run->started = true;
    if (binary) {
        send_error(run, "invalid request: expected a text message");
        finish(run);
        return;
    }
    start_query(run, msg, len);
}

/* The checks of the path's environment are ws_accept's. */
#define LENSES_WS (RN_ROUTE_SLASH | RN_ROUTE_OWN_AUTH)
static const rn_ws_endpoint lenses_ws[] = {
    {NULL, "/api/ws/v2/sql/execute", LENSES_WS, NULL},
    {NULL, "/api/v1/environments/*" SQL_TAIL, LENSES_WS, NULL},
    {NULL, "/environment/*" SQL_TAIL, LENSES_WS, NULL},
    {0},
};

static const rn_conf_key lenses_keys[] = {
    RN_CONF_KEY_JSON("environments", lenses_conf, environments,
                     "datasets: name: path or name: {path, auth} (default: the demo)"),
    RN_CONF_KEY_JSON("tokens", lenses_conf, tokens, "Lenses tokens: token: [environment, ...]"),
    RN_CONF_KEY_BOOL("auth", lenses_conf, auth, "true",
                     "environments need a token unless they say otherwise"),
    RN_CONF_KEY_STR("default_environment", lenses_conf, default_environment, NULL,
                    "environment of /api/ws/v2/sql/execute (default: demo, else the first)"),
    RN_CONF_KEY_U64("max_rows", lenses_conf, max_rows, 1, 9007199254740991ull, "10000",
                    "rows per query"),
    RN_CONF_KEY_U64("max_bytes", lenses_conf, max_bytes, 1024, 9007199254740991ull, "20971520",
                    "record bytes per query"),
    RN_CONF_KEY_U64("max_time_ms", lenses_conf, max_time_ms, 100, 9007199254740991ull, "30000",
                    "time per query"),
    RN_CONF_KEY_U64("heartbeat_ms", lenses_conf, heartbeat_ms, 100, 9007199254740991ull, "5000",
                    "HEARTBEAT frames while a query runs"),
    RN_CONF_KEY_U64("max_sql_bytes", lenses_conf, max_sql_bytes, 16, 1048576, "65536",
                    "SQL text per query"),
    RN_CONF_KEY_U64("memory_bytes", lenses_conf, memory_bytes, 0, 9007199254740991ull, "0",
                    "memory per query (0 = limits.memory_bytes)"),
    RN_CONF_KEY_U64("max_record_bytes", lenses_conf, max_record_bytes, 1024, 9007199254740991ull,
                    "4194304", "bytes of one record"),
    RN_CONF_KEY_STR("helper", lenses_conf, helper, NULL,
                    "path of runnel-sql (default: beside runneld, then libexec)"),
};

const rn_envelope rn_env_lenses = {
    .name = "lenses",
    .keys = lenses_keys,
    .nkeys = sizeof(lenses_keys) / sizeof(lenses_keys[0]),
    .conf_size = sizeof(lenses_conf),
    .init = lenses_init,
    .fini = lenses_fini,
    .ws = lenses_ws,
    .ws_accept = lenses_ws_accept,
    .ws_open = lenses_ws_open,
    .ws_message = lenses_ws_message,
};
