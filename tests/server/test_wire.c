/* Unit tests of the wire-level pieces: JSON string escaping as ranna's Go
 * encoder does it, UTF-8 repair across chunk boundaries, ExecutionRequest
 * decoding, and the configuration parser's errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "config.h"
#include "jbuf.h"
#include "ranna_req.h"

static const char *jstr(const char *s, size_t n)
{
    static char out[4096];
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_jstr(&b, s, n);
    snprintf(out, sizeof(out), "%s", b.data);
    rn_jbuf_free(&b);
    return out;
}

static void test_escape_like_go(void)
{
    CHECK_STR(jstr("hi\n", 3), "\"hi\\n\"");
    CHECK_STR(jstr("<a>&\"\\", 6), "\"\\u003ca\\u003e\\u0026\\\"\\\\\"");
    CHECK_STR(jstr("\x01\x1f\t\r", 4), "\"\\u0001\\u001f\\t\\r\"");
    CHECK_STR(jstr("a\0b", 3), "\"a\\u0000b\"");
    CHECK_STR(jstr("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"");
    CHECK_STR(jstr("\xf0\x9f\x91\x8b", 4), "\"\xf0\x9f\x91\x8b\"");
}

static const char *sanitize(const char *const *chunks, const size_t *lens, size_t n)
{
    static char out[4096];
    unsigned char carry[4];
    size_t cl = 0;
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        rn_utf8_sanitize(&b, carry, &cl, chunks[i], lens[i], i + 1 == n);
    snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
    rn_jbuf_free(&b);
    return out;
}

static void test_utf8_repair(void)
{
    /* a wave emoji cut after each of its bytes is put back together */
    for (size_t cut = 1; cut < 4; cut++) {
        const char *wave = "\xf0\x9f\x91\x8b";
        const char *chunks[] = {wave, wave + cut};
        size_t lens[] = {cut, 4 - cut};
        CHECK_STR(sanitize(chunks, lens, 2), wave);
    }
    /* invalid bytes become one U+FFFD each */
    {
        const char *chunks[] = {"a\xff\xfe"
                                "b"};
        size_t lens[] = {4};
        CHECK_STR(sanitize(chunks, lens, 1), "a\xef\xbf\xbd\xef\xbf\xbd"
                                             "b");
    }
    /* a truncated sequence at the very end is flushed as U+FFFD */
    {
        const char *chunks[] = {"x\xe4\xb8"};
        size_t lens[] = {3};
        CHECK_STR(sanitize(chunks, lens, 1), "x\xef\xbf\xbd\xef\xbf\xbd");
    }
    /* a cut sequence followed by a non-continuation byte */
    {
        const char *chunks[] = {"\xe4", "A"};
        size_t lens[] = {1, 1};
        CHECK_STR(sanitize(chunks, lens, 2), "\xef\xbf\xbd"
                                             "A");
    }
    /* overlong and surrogate encodings are invalid */
    CHECK(!rn_utf8_valid("\xc0\xaf", 2));
    CHECK(!rn_utf8_valid("\xed\xa0\x80", 3));
    CHECK(rn_utf8_valid("\xe4\xb8\xad\xe6\x96\x87", 6));
}

static int parse(const char *json, ranna_req *req, char *msg)
{
    cJSON *o = cJSON_Parse(json);
    int code = ranna_req_parse(o, req, msg, 256);
    /* strings point into o: copy what tests look at before freeing */
    static char lang[64];
    if (!code)
        snprintf(lang, sizeof(lang), "%s", req->job.language);
    if (!code)
        req->job.language = lang;
    ranna_req_free(req);
    cJSON_Delete(o);
    return code;
}

static void test_exec_request(void)
{
    ranna_req req;
    char msg[256];
    CHECK_INT(parse("{\"language\":\"python3\",\"code\":\"print(1)\"}", &req, msg), 0);
    CHECK_STR(req.job.language, "python3");
    CHECK_INT(parse("{\"Language\":\"go\",\"CODE\":\"x\"}", &req, msg), 0); /* like Go */
    CHECK_INT(parse("{\"language\":\"python3\",\"code\":\"\"}", &req, msg), 400);
    CHECK_STR(msg, "code is empty");
    CHECK_INT(parse("{\"language\":\"python3\"}", &req, msg), 400);
    CHECK_STR(msg, "code is empty");
    CHECK_INT(parse("{\"code\":\"x\"}", &req, msg), 400);
    CHECK_STR(msg, "missing field 'language'");
    CHECK_INT(parse("{\"language\":5,\"code\":\"x\"}", &req, msg), 400);
    CHECK_STR(msg, "field 'language' must be a string");
    CHECK_INT(parse("{\"language\":\"sh\",\"code\":\"x\",\"arguments\":[1]}", &req, msg), 400);
    CHECK_STR(msg, "field 'arguments' must be an array of strings");
    CHECK_INT(
        parse("{\"language\":\"sh\",\"code\":\"x\",\"environment\":{\"A=B\":\"c\"}}", &req, msg),
        400);
    CHECK_STR(msg, "invalid environment variable name 'A=B'");
    CHECK_INT(parse("{\"language\":\"sh\",\"code\":\"x\",\"environment\":{\"A\":1}}", &req, msg),
              400);
    CHECK_INT(parse("[1]", &req, msg), 400);
    CHECK_INT(
        parse("{\"language\":\"sh\",\"code\":\"x\",\"inline_expression\":\"yes\"}", &req, msg),
        400);

    cJSON *o = cJSON_Parse("{\"language\":\"sh\",\"code\":\"echo\",\"arguments\":[\"a\",\"b c\"],"
                           "\"environment\":{\"K\":\"v=1\"},\"stdin\":\"in\"}");
    REQUIRE(ranna_req_parse(o, &req, msg, sizeof(msg)) == 0);
    CHECK_INT(req.job.nargs, 2);
    CHECK_STR(req.job.args[1], "b c");
    CHECK_INT(req.job.nenv, 1);
    CHECK_STR(req.job.env[0], "K=v=1");
    CHECK_INT(req.job.stdin_len, 2);
    ranna_req_free(&req);
    cJSON_Delete(o);
}

static void test_config(void)
{
    rn_config cfg;
    char err[256];
    rn_config_defaults(&cfg, "/specs");
    CHECK_INT(cfg.wall_ms, 10000);
    CHECK_INT(cfg.queue, 64);
    CHECK_INT(cfg.per_connection, 4);
    CHECK_INT(cfg.memory_bytes, 256u << 20);
    CHECK_INT(rn_config_load_text(&cfg, "c.json", "{\n \"limits\": {\n  \"wall_ms\": 5000\n }\n}",
                                  err, sizeof(err)),
              0);
    CHECK_INT(cfg.wall_ms, 5000);
    CHECK_INT(rn_config_load_text(&cfg, "c.json", "{\n \"limits\": {\n  \"wal_ms\": 5\n }\n}", err,
                                  sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "c.json:3: unknown key 'limits.wal_ms'");
    CHECK_INT(rn_config_load_text(&cfg, "c.json", "{\n\"listen\": 80\n}", err, sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "c.json:2: 'listen' must be a string");
    CHECK_INT(
        rn_config_load_text(&cfg, "c.json", "{\n\"limits\": {\"pids\": 1.5}}", err, sizeof(err)),
        -EINVAL);
    CHECK_STR(err, "c.json:2: 'limits.pids' must be a non-negative integer");
    CHECK_INT(rn_config_load_text(&cfg, "c.json", "{\n\n  \"listen\": ", err, sizeof(err)),
              -EINVAL);
    CHECK_STR(err, "c.json:3: invalid JSON");
    /* a failed load leaves the previous values */
    CHECK_INT(cfg.wall_ms, 5000);

    char *env[] = {"RUNNEL_LIMITS_WALL_MS=7000", "RUNNEL_LISTEN=0.0.0.0:9", "OTHER=1", NULL};
    CHECK_INT(rn_config_apply_env(&cfg, env, err, sizeof(err)), 0);
    CHECK_INT(cfg.wall_ms, 7000);
    CHECK_STR(cfg.listen, "0.0.0.0:9");
    char *bad[] = {"RUNNEL_LIMITS_PIDS=lots", NULL};
    CHECK_INT(rn_config_apply_env(&cfg, bad, err, sizeof(err)), -EINVAL);
    CHECK_STR(err, "environment: RUNNEL_LIMITS_PIDS (limits.pids) has a malformed value");
    rn_config_free(&cfg);
}

int main(void)
{
    RUN_TEST(test_escape_like_go);
    RUN_TEST(test_utf8_repair);
    RUN_TEST(test_exec_request);
    RUN_TEST(test_config);
    return check_report();
}
