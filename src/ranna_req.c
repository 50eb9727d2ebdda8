#include "ranna_req.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_MAX_ITEMS 256

int ranna_req_parse(const cJSON *obj, ranna_req *req, char *msg, size_t size)
{
    memset(req, 0, sizeof(*req));
    if (!cJSON_IsObject(obj)) {
        snprintf(msg, size, "the execution request must be a JSON object");
        return 400;
    }
    const cJSON *lang = cJSON_GetObjectItem(obj, "language");
    const cJSON *code = cJSON_GetObjectItem(obj, "code");
    const cJSON *inl = cJSON_GetObjectItem(obj, "inline_expression");
    const cJSON *args = cJSON_GetObjectItem(obj, "arguments");
    const cJSON *env = cJSON_GetObjectItem(obj, "environment");
    const cJSON *in = cJSON_GetObjectItem(obj, "stdin");
    const cJSON *interactive = cJSON_GetObjectItem(obj, "interactive");

    if (code && !cJSON_IsNull(code) && !cJSON_IsString(code)) {
        snprintf(msg, size, "field 'code' must be a string");
        return 400;
    }
    if (!cJSON_IsString(code) || !code->valuestring[0]) {
        snprintf(msg, size, "code is empty");
        return 400;
    }
    if (!lang || cJSON_IsNull(lang)) {
        snprintf(msg, size, "missing field 'language'");
        return 400;
    }
    if (!cJSON_IsString(lang)) {
        snprintf(msg, size, "field 'language' must be a string");
        return 400;
    }
    if (inl && !cJSON_IsNull(inl) && !cJSON_IsBool(inl)) {
        snprintf(msg, size, "field 'inline_expression' must be a boolean");
        return 400;
    }
    if (in && !cJSON_IsNull(in) && !cJSON_IsString(in)) {
        snprintf(msg, size, "field 'stdin' must be a string");
        return 400;
    }
    if (interactive && !cJSON_IsNull(interactive) && !cJSON_IsBool(interactive)) {
        snprintf(msg, size, "field 'interactive' must be a boolean");
        return 400;
    }
    /* stdin stays open for INPUT ops only when asked: ranna's programs get
     * EOF at once, and a forgotten input() must not hang until the timeout. */
    req->job.keep_stdin = cJSON_IsTrue(interactive);
    req->job.language = lang->valuestring;
    req->job.code = code->valuestring;
    req->job.code_len = strlen(code->valuestring);
    req->job.inline_expression = cJSON_IsTrue(inl);
    if (cJSON_IsString(in)) {
        req->job.stdin_data = in->valuestring;
        req->job.stdin_len = strlen(in->valuestring);
    }

    if (args && !cJSON_IsNull(args)) {
        if (!cJSON_IsArray(args)) {
            snprintf(msg, size, "field 'arguments' must be an array of strings");
            return 400;
        }
        int n = cJSON_GetArraySize(args);
        if (n > REQ_MAX_ITEMS) {
            snprintf(msg, size, "too many arguments (limit %d)", REQ_MAX_ITEMS);
            return 413;
        }
        req->args = calloc((size_t)n + 1, sizeof(char *));
        if (!req->args) {
            snprintf(msg, size, "out of memory");
            return 500;
        }
        size_t i = 0;
        for (const cJSON *a = args->child; a; a = a->next) {
            if (!cJSON_IsString(a)) {
                snprintf(msg, size, "field 'arguments' must be an array of strings");
                return 400;
            }
            req->args[i++] = a->valuestring;
        }
        req->job.args = (const char *const *)req->args;
        req->job.nargs = i;
    }
    if (env && !cJSON_IsNull(env)) {
        if (!cJSON_IsObject(env)) {
            snprintf(msg, size, "field 'environment' must be an object of strings");
            return 400;
        }
        int n = cJSON_GetArraySize(env);
        if (n > REQ_MAX_ITEMS) {
            snprintf(msg, size, "too many environment variables (limit %d)", REQ_MAX_ITEMS);
            return 413;
        }
        req->env = calloc((size_t)n + 1, sizeof(char *));
        if (!req->env) {
            snprintf(msg, size, "out of memory");
            return 500;
        }
        size_t i = 0;
        for (const cJSON *e = env->child; e; e = e->next) {
            if (!cJSON_IsString(e)) {
                snprintf(msg, size, "environment variable '%.64s' must be a string", e->string);
                return 400;
            }
            if (!e->string[0] || strchr(e->string, '=')) {
                snprintf(msg, size, "invalid environment variable name '%.64s'", e->string);
                return 400;
            }
            size_t kl = strlen(e->string), vl = strlen(e->valuestring);
            char *kv = malloc(kl + vl + 2);
            if (!kv) {
                snprintf(msg, size, "out of memory");
                return 500;
            }
            memcpy(kv, e->string, kl);
            kv[kl] = '=';
            memcpy(kv + kl + 1, e->valuestring, vl + 1);
            req->env[i++] = kv;
        }
        req->job.env = (const char *const *)req->env;
        req->job.nenv = i;
    }
    return 0;
}

void ranna_req_free(ranna_req *req)
{
    free(req->args); /* borrowed strings */
    rn_strv_free(req->env);
    req->args = NULL;
    req->env = NULL;
}
