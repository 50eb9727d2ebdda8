/* The Piston v2 envelope: whole execute requests through its decoder
 * (files, encodings, names, limits, versions) against installed-looking
 * specs, HTTP requests through the server's routing to /api/v2/..., and
 * WebSocket messages on /api/v2/connect. Input: pieces separated by 0x1E;
 * the first byte of a piece picks what it is:
 *   '0' an execute body for the decoder      '1' POST /api/v2/execute
 *   '2' a message on the open /api/v2/connect '3' POST /api/v2/packages
 *   '4' DELETE /api/v2/packages               else a semver range. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fuzz_env.h"
#include "piston_req.h"

/* Specs the decoder resolves to (their programs exist, so they count as
 * installed; nothing is ever run from here). */
static const char *const spec_texts[] = {
    "{\"name\":\"python3\",\"display\":\"P\",\"language\":\"python\",\"filename\":\"main.py\","
    "\"run\":[\"/bin/sh\",\"{file}\",\"{args}\"],\"example\":\"x\",\"example_output\":\"\","
    "\"names\":{\"piston\":{\"language\":\"python\",\"aliases\":[\"py\"]}}}",
    "{\"name\":\"java\",\"display\":\"J\",\"language\":\"java\",\"filename\":\"Main.java\","
    "\"compile\":[\"/bin/sh\",\"-d\",\"{build}\",\"{file}\"],"
    "\"run\":[\"/bin/sh\",\"-cp\",\"{build}\",\"{main}\",\"{args}\"],\"example\":\"x\","
    "\"example_output\":\"\",\"names\":{\"piston\":{\"language\":\"java\",\"runtime\":\"jdk\"}}}",
};

static void spec_error(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "fuzz_piston: spec: %s\n", line);
    abort();
}

static rn_specs *own_specs(void)
{
    static rn_specs *specs;
    if (specs)
        return specs;
    char dir[] = "/tmp/runnel-fuzz-piston-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char path[4][128];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path[i], sizeof(path[i]), "%s/s%zu.json", dir, i);
        FILE *f = fopen(path[i], "w");
        if (!f || fputs(spec_texts[i], f) < 0 || fclose(f))
            abort();
    }
    if (rn_specs_load(dir, false, spec_error, NULL, &specs) < 0 || rn_specs_count(specs) != 2)
        abort();
    for (size_t i = 0; i < 2; i++)
        unlink(path[i]);
    rmdir(dir);
    return specs;
}

static void decode(const char *p, size_t n)
{
    static const rn_jobs_limits lim = {.concurrency = 1,
                                       .queue_max = 1,
                                       .wall_ms = 10000,
                                       .memory_bytes = 1 << 28,
                                       .output_bytes = 1 << 20,
                                       .code_bytes = 1 << 18,
                                       .pids = 64,
                                       .nofile = 64};
    cJSON *body = cJSON_ParseWithLength(p, n);
    if (!body)
        return;
    for (int ws = 0; ws < 2; ws++) {
        piston_ctx ctx = {own_specs(), &lim, true, ws};
        piston_req r;
        char msg[512];
        int st = piston_req_parse(body, &ctx, &r, msg, sizeof(msg));
        if (st) {
            if (st != 400 || !memchr(msg, 0, sizeof(msg)))
                abort();
            continue;
        }
        /* What the decoder hands on is what the jobs core accepts. */
        if (!r.spec || !r.job.code || !r.job.entry_name || r.job.nfiles > RN_JOB_MAX_FILES + 1)
            abort();
        for (size_t i = 0; i < r.job.nfiles; i++)
            if (!r.job.files[i].name || !strcmp(r.job.files[i].name, r.job.entry_name))
                abort();
        piston_req_free(&r);
    }
    cJSON_Delete(body);
}

static void tap(void *ud, int status, const char *body, size_t len)
{
    int *replies = ud;
    if (status < 100 || status > 599)
        abort();
    /* Every answer of the envelope is JSON. */
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        abort();
    cJSON_Delete(j);
    ++*replies;
}

static void request(const char *method, const char *path, const char *p, size_t n)
{
    int replies = 0;
    rn_http *h =
        rn_http_new_detached(fz_app()->server, method, path, NULL, NULL, p, n, tap, &replies);
    if (!h)
        abort();
    char msg[256] = "";
    rn_http_dispatch_detached(h, msg, sizeof(msg));
    if (replies != 1)
        abort();
    rn_http_close_detached(h);
}

static void one(const char *p, size_t n, void *ud)
{
    rn_conn *c = ud;
    char kind = n ? p[0] : 0;
    const char *rest = n ? p + 1 : p;
    size_t len = n ? n - 1 : 0;
    switch (kind) {
    case '0':
        decode(rest, len);
        break;
    case '1':
        request("POST", "/api/v2/execute", rest, len);
        break;
    case '2':
        if (c)
            fz_conn_message(c, rest, len, false);
        break;
    case '3':
        request("POST", "/api/v2/packages", rest, len);
        break;
    case '4':
        request("DELETE", "/api/v2/packages", rest, len);
        break;
    default: {
        char *range = strndup(p, n);
        if (!range)
            abort();
        piston_satisfies("3.11.2", range);
        free(range);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_app();
    rn_conn *c = fz_conn_open("/api/v2/connect", NULL);
    fz_split(data, size, one, c);
    if (c)
        fz_conn_close(c);
    fz_settle();
    return 0;
}
