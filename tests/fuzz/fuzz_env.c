#include "fuzz_env.h"

#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jbuf.h"
#include "log.h"

static fz_app_t app;
static bool ready;
unsigned long fz_frames;
bool fz_check_json = true;

/* Languages the seeds name, all pointing at programs that do not exist. */
static const char *const spec_texts[] = {
    "{\"name\":\"python3\",\"display\":\"Python 3\",\"language\":\"python\","
    "\"aliases\":[\"python\",\"py\"],\"filename\":\"main.py\","
    "\"run\":[\"/nonexistent/runnel-fuzz/python3\",\"{file}\",\"{args}\"],"
    "\"inline\":{\"import_regex\":\"^(import|from) "
    ".*$\",\"template\":\"$${IMPORTS}\\nprint($${CODE})\"},"
    "\"example\":\"print(1)\",\"example_output\":\"1\\n\"}",
    "{\"name\":\"bash\",\"display\":\"Bash\",\"language\":\"bash\",\"aliases\":[\"shell\",\"sh\"],"
    "\"filename\":\"main.sh\","
    "\"run\":[\"/nonexistent/runnel-fuzz/bash\",\"{file}\",\"{args}\"],"
    "\"inline\":{\"import_regex\":\"\",\"template\":\"$${CODE}\"},"
    "\"example\":\"echo hi\",\"example_output\":\"hi\\n\"}",
    "{\"name\":\"c\",\"display\":\"C\",\"language\":\"c\",\"aliases\":[\"gcc\"],\"filename\":"
    "\"main.c\","
    "\"compile\":[\"/nonexistent/runnel-fuzz/gcc\",\"-o\",\"{build}/a.out\",\"{file}\"],"
    "\"run\":[\"{build}/a.out\",\"{args}\"],"
    "\"example\":\"int main(){return 0;}\",\"example_output\":\"\"}",
    "{\"name\":\"sqlite\",\"display\":\"SQLite\",\"language\":\"sql\",\"aliases\":[\"sql\"],"
    "\"filename\":\"main.sql\","
    "\"run\":[\"/nonexistent/runnel-fuzz/sqlite3\",\"-init\",\"{file}\"],"
    "\"example\":\"select 1;\",\"example_output\":\"1\\n\"}",
};

static void specs_error(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "fuzz: spec: %s\n", line);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, strerror(err < 0 ? -err : err));
    abort();
}

static rn_specs *make_specs(void)
{
    char dir[] = "/tmp/runnel-fuzz-specs-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", errno);
    char path[sizeof(dir) + 32];
    for (size_t i = 0; i < sizeof(spec_texts) / sizeof(spec_texts[0]); i++) {
        snprintf(path, sizeof(path), "%s/s%zu.json", dir, i);
        FILE *f = fopen(path, "w");
        if (!f || fputs(spec_texts[i], f) < 0 || fclose(f))
            die("writing a spec", errno);
    }
    rn_specs *specs = NULL;
    int r = rn_specs_load(dir, false, specs_error, NULL, &specs);
    for (size_t i = 0; i < sizeof(spec_texts) / sizeof(spec_texts[0]); i++) {
        snprintf(path, sizeof(path), "%s/s%zu.json", dir, i);
        unlink(path);
    }
    rmdir(dir);
    if (r < 0)
        die("rn_specs_load", r);
    for (size_t i = 0; i < rn_specs_count(specs); i++)
        if (rn_specs_at(specs, i)->available)
            die("a fuzz spec is available", EINVAL);
    return specs;
}

static rn_jobs_limits limits_of(const rn_config *cfg)
{
    rn_jobs_limits lim;
    memset(&lim, 0, sizeof(lim));
    lim.concurrency = 1;
    lim.queue_max = (unsigned)cfg->queue;
    lim.wall_ms = cfg->wall_ms;
    lim.cpu_ms = cfg->cpu_ms;
    lim.memory_bytes = cfg->memory_bytes;
    lim.output_bytes = cfg->output_bytes;
    lim.tmp_bytes = cfg->tmp_bytes;
    lim.code_bytes = cfg->code_bytes;
    lim.pids = (unsigned)cfg->pids;
    lim.nofile = (unsigned)cfg->nofile;
    return lim;
}

static rn_server_options sopts;

static void make_jobs_and_server(void)
{
    rn_jobs_limits lim = limits_of(&app.cfg);
    /* No box context: a job that started would fail, never spawn. */
    int r = rn_jobs_new(app.loop, NULL, app.specs, &lim, &app.jobs);
    if (r < 0)
        die("rn_jobs_new", r);
    r = rn_server_new_detached(app.loop, app.jobs, &sopts, &app.server);
    if (r < 0)
        die("rn_server_new_detached", r);
    rn_host_parts parts = {
        .loop = app.loop,
        .jobs = app.jobs,
        .specs = app.specs,
        .server = app.server,
        .started_ms = uv_now(app.loop),
        .per_connection = (unsigned)app.cfg.per_connection,
        .message_bytes = app.cfg.message_bytes,
        .listen_host = "127.0.0.1",
        .specs_dir = "/nonexistent/runnel-fuzz/specs",
    };
    if (app.host)
        rn_host_update(app.host, &parts);
    else if (rn_host_new(&parts, &app.host) < 0)
        die("rn_host_new", ENOMEM);
}

/* Small limits so that the fuzzers reach the limit checks. */
static const char config_text[] =
    "{\"limits\":{\"per_connection\":2,\"code_bytes\":4096,\"message_bytes\":65536,"
    "\"queue\":2,\"output_bytes\":65536},"
    "\"linkis\":{\"max_jobs\":16,\"retention_ms\":1000},"
    "\"zeppelin\":{\"max_notes\":8,\"max_paragraphs\":8,\"max_watchers\":4,"
    "\"notebook_dir\":\"/dev/null/runnel-fuzz-notebook\"},"
    "\"lenses\":{\"environments\":{\"demo\":\"/nonexistent/runnel-fuzz/demo\","
    "\"secure\":{\"path\":\"/nonexistent/runnel-fuzz/secure\",\"auth\":true}},"
    "\"tokens\":{\"fuzz-token-1\":[\"secure\"]},\"max_sql_bytes\":1024},"
    "\"jobe\":{\"files_dir\":\"/tmp/runnel-fuzz-jobe-files\",\"files_max_count\":8,"
    "\"files_max_bytes\":65536,\"runs_per_hour\":1000}}";

fz_app_t *fz_app(void)
{
    if (ready)
        return &app;
    rn_log_set_level(getenv("RUNNEL_FUZZ_LOG") ? RN_LOG_DEBUG : RN_LOG_ERROR);
    static uv_loop_t loop;
    if (uv_loop_init(&loop))
        die("uv_loop_init", EIO);
    app.loop = &loop;
    if (rn_config_defaults(&app.cfg, "/nonexistent/runnel-fuzz/specs") < 0)
        die("rn_config_defaults", ENOMEM);
    char err[512];
    if (rn_config_load_text(&app.cfg, "fuzz.json", config_text, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz: config: %s\n", err);
        abort();
    }
    app.specs = make_specs();
    sopts.listen = "127.0.0.1:0";
    sopts.message_bytes = app.cfg.message_bytes;
    sopts.queue_bytes = app.cfg.queue_bytes;
    sopts.idle_client_ms = app.cfg.idle_client_ms;
    sopts.auth_tokens = "";
    sopts.origins = "";
    sopts.trusted_proxies = "";
    sopts.envelopes = rn_envelopes;
    sopts.states = app.states;
    make_jobs_and_server();
    if (rn_envelopes_start(app.host, &app.cfg, app.states, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    ready = true;
    return &app;
}

static void tap(void *ud, const char *data, size_t len)
{
    (void)ud;
    fz_frames++;
    if (!fz_check_json)
        return;
    /* Every envelope speaks JSON text: a frame that is not valid UTF-8
     * JSON would break the client. */
    if (!rn_utf8_valid(data, len)) {
        fprintf(stderr, "fuzz: frame is not valid UTF-8: %.*s\n", (int)(len > 300 ? 300 : len),
                data);
        abort();
    }
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!j) {
        fprintf(stderr, "fuzz: frame is not JSON: %.*s\n", (int)(len > 300 ? 300 : len), data);
        abort();
    }
    cJSON_Delete(j);
}

rn_conn *fz_conn_open(const char *path, const char *const *headers)
{
    return rn_conn_new_detached(app.server, path, headers, tap, NULL);
}

void fz_conn_message(rn_conn *c, const char *msg, size_t len, bool binary)
{
    /* lws closes a text frame that is not UTF-8 (1007) before it gets
     * here. */
    if (!binary && !rn_utf8_valid(msg, len))
        return;
    /* The server hands over a NUL-terminated copy. */
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, msg, len);
    copy[len] = 0;
    rn_conn_message_detached(c, copy, len, binary);
    free(copy);
    /* The loop does not run between messages, so nothing can start. */
    if (rn_jobs_running(app.jobs))
        die("a job is running in the fuzzer", EPERM);
}

static bool shut;

static void jobs_down(void *ud)
{
    (void)ud;
    shut = true;
}

void fz_conn_close(rn_conn *c)
{
    rn_conn_close_detached(c);
}

void fz_settle(void)
{
    if (rn_jobs_queued(app.jobs) || rn_jobs_running(app.jobs)) {
        /* Shutting the manager down kills the queued jobs without starting
         * them (the scheduler does nothing once shutting down); their
         * on_end callbacks run on the loop. Then start afresh. */
        if (rn_server_connections(app.server, NULL))
            die("fz_settle with connections open", EBUSY);
        rn_server_free_detached(app.server);
        app.server = NULL;
        shut = false;
        rn_jobs_shutdown(app.jobs, jobs_down, NULL);
        for (int i = 0; i < 1000 && !shut; i++)
            uv_run(app.loop, UV_RUN_NOWAIT);
        if (!shut)
            die("jobs did not shut down", ETIMEDOUT);
        uv_run(app.loop, UV_RUN_NOWAIT);
        make_jobs_and_server();
    }
    for (int i = 0; i < 4; i++)
        uv_run(app.loop, UV_RUN_NOWAIT);
}

void fz_split(const uint8_t *data, size_t size, void (*fn)(const char *p, size_t n, void *ud),
              void *ud)
{
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == 0x1e) {
            fn((const char *)data + start, i - start, ud);
            start = i + 1;
        }
    }
}
