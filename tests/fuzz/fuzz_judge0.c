/* The Judge0 envelope: requests through the server's routing (submission
 * bodies, batches, query strings with fields, base64_encoded, wait and
 * tokens, every path and method), and its helpers for what a client sends
 * (the fields list, Ruby-style base64 both ways).
 * Input: one selector byte, then "PATH-SUFFIX?QUERY\n" and the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"
#include "jbuf.h"
#include "judge0_int.h"

static void tap(void *ud, int status, const char *body, size_t len)
{
    int *replies = ud;
    if (status < 100 || status > 599)
        abort();
    /* Every body is JSON but /version, /isolate and /license (text) and
     * the server's own 404 for a path no envelope claims. */
    if (len && body[0] != '1' && strncmp(body, "runnel", 6) && strncmp(body, "Cannot ", 7)) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (!j)
            abort();
        cJSON_Delete(j);
    }
    /* A body-less answer is only Judge0's 401/403 or an empty 200. */
    if (!len && status != 401 && status != 403 && status != 200)
        abort();
    ++*replies;
}

static void helpers(const char *p, size_t n)
{
    char bad[128], fields[256];
    size_t k = n < sizeof(fields) - 1 ? n : sizeof(fields) - 1;
    memcpy(fields, p, k);
    fields[k] = 0;
    j0_fields_valid(fields, bad, sizeof(bad));
    if (!memchr(bad, 0, sizeof(bad)))
        abort();
    /* Encoding (a JSON string's inside) then decoding what a JSON parser
     * reads gives the bytes back. */
    rn_jbuf b;
    rn_jbuf_init(&b, 0);
    rn_jbuf_str(&b, "\"");
    j0_b64_encode(&b, p, n);
    rn_jbuf_str(&b, "\"");
    cJSON *str = b.oom ? NULL : cJSON_ParseWithLength(b.data, b.len);
    if (!cJSON_IsString(str))
        abort();
    j0_bytes back = {0};
    if (j0_b64_decode(str->valuestring, strlen(str->valuestring), &back) < 0)
        abort();
    cJSON_Delete(str);
    if (back.len != n || (n && memcmp(back.p, p, n)))
        abort();
    j0_bytes_clear(&back);
    rn_jbuf_free(&b);
    /* Decoding anything is bounded and NUL-terminated. */
    if (j0_b64_decode(p, n, &back) < 0 || back.len > n || back.p[back.len])
        abort();
    j0_bytes_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
    static const char *const prefixes[] = {"/submissions", "/submissions/batch", "/languages",
                                           "/about"};
    fz_app_t *app = fz_app();
    if (size < 1)
        return 0;
    helpers((const char *)data + 1, size - 1);
    unsigned sel = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t sl = nl ? (size_t)(nl - p) : 0;
    if (sl > 300)
        sl = 300;
    char line[320], path[400];
    memcpy(line, p, sl);
    line[sl] = 0;
    for (size_t i = 0; i < sl; i++)
        if (!line[i])
            line[i] = '_';
    char *q = strchr(line, '?');
    if (q)
        *q++ = 0;
    snprintf(path, sizeof(path), "%s%s", prefixes[(sel >> 2) & 3], line);
    const char *body = nl ? nl + 1 : p;
    const char *const hdrs[] = {"content-type", "application/json", "x-auth-token", "t", NULL};
    int replies = 0;
    rn_http *h = rn_http_new_detached(app->server, methods[sel & 3], path, q, hdrs, body,
                                      (size_t)(end - body), tap, &replies);
    if (!h)
        abort();
    char msg[256] = "";
    rn_http_dispatch_detached(h, msg, sizeof(msg));
    rn_http_close_detached(h);
    fz_settle();
    if (replies > 1)
        abort();
    return 0;
}
