/* Linkis' stateless wire pieces: method/REST path routing, the execute
 * request decoder with ${var} substitution, and the job log (program
 * output split into lines, paged out as Linkis' log value).
 * Input: a path line, then the rest: a JSON execute body, which is also
 * fed to the log as program output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_env.h"
#include "linkis_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_app_t *app = fz_app();
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t pl = nl ? (size_t)(nl - p) : size;
    char *path = strndup(p, pl);
    if (!path)
        return 0;
    char id[LK_ID_MAX + 1];
    for (size_t sz = 1; sz <= sizeof(id); sz += sizeof(id) / 4) {
        memset(id, 'x', sizeof(id));
        lk_route r = lk_route_parse(path, id, sz);
        if (r != LK_R_NONE && !memchr(id, 0, sz) && r != LK_R_UNKNOWN)
            abort();
    }
    free(path);
    const char *body = nl ? nl + 1 : p + size;
    size_t blen = (size_t)(p + size - body);

    cJSON *root = cJSON_ParseWithLength(body, blen);
    if (root) {
        lk_req req;
        char msg[512];
        memset(&req, 0, sizeof(req));
        if (lk_req_parse(root, app->specs, 4096, &req, msg, sizeof(msg)) == 0) {
            if (!req.code || req.code_len > 4096 || strlen(req.code) > req.code_len)
                abort();
            lk_req_free(&req);
        } else if (!memchr(msg, 0, sizeof(msg))) {
            abort();
        }
        const cJSON *vars = cJSON_GetObjectItemCaseSensitive(root, "variable");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "executionCode");
        if (cJSON_IsString(code)) {
            char *out = NULL;
            size_t outlen = 0;
            if (lk_subst_vars(code->valuestring, strlen(code->valuestring), vars, 8192, &out,
                              &outlen) == 0) {
                if (outlen > 8192 || strlen(out) != outlen)
                    abort();
                free(out);
            }
        }
        cJSON_Delete(root);
    }

    lk_log log;
    lk_log_init(&log, 4096);
    for (size_t off = 0; off < blen; off += 37)
        lk_log_feed(&log, (off / 37) % 2 ? 2 : 1, body + off, blen - off < 37 ? blen - off : 37);
    lk_log_add(&log, LK_LOG_WARN, body, blen > 100 ? 100 : blen);
    lk_log_flush(&log);
    for (int distinct = 0; distinct < 2; distinct++) {
        rn_jbuf b;
        rn_jbuf_init(&b, 0);
        rn_jbuf_str(&b, "[");
        lk_log_write(&log, &b, blen % 5, distinct ? -1 : (long long)(blen % 7), distinct);
        rn_jbuf_str(&b, "]");
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        if (!j)
            abort();
        cJSON_Delete(j);
        rn_jbuf_free(&b);
    }
    lk_log_free(&log);
    return 0;
}
