/* The Jobe envelope: requests through the server's routing (languages,
 * runs with run_spec bodies, PUT and HEAD of files with base64 bodies,
 * other methods and paths under both prefixes), and the helpers that read
 * what a client sends (Java's main class) or make what it gets (Jobe's
 * cleaning of output that is not UTF-8).
 * Input: one selector byte, then "PATH-SUFFIX\n" and the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_env.h"
#include "jbuf.h"
#include "jobe_run.h"

static void tap(void *ud, int status, const char *body, size_t len)
{
    int *replies = ud;
    if (status < 100 || status > 599)
        abort();
    /* Every answer with a body is JSON (a result or Jobe's string), but
     * the key and rate refusals, which Jobe sends as plain text. */
    if (len && status != 403 && status != 429) {
        cJSON *j = cJSON_ParseWithLength(body, len);
        if (!j)
            abort();
        cJSON_Delete(j);
    }
    if (!rn_utf8_valid(body, len))
        abort();
    ++*replies;
}

static void helpers(const char *p, size_t n)
{
    size_t len = 0;
    char *c = jobe_clean(p, n, &len);
    if (!c || !rn_utf8_valid(c, len) || c[len])
        abort();
    /* Valid text stays as it is; anything else only grows. */
    if (rn_utf8_valid(p, n) ? (len != n || memcmp(c, p, n)) : len < n)
        abort();
    free(c);
    char cls[64];
    memset(cls, 'x', sizeof(cls));
    if (jobe_java_main_class(p, n, cls, sizeof(cls)) && !memchr(cls, 0, sizeof(cls)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE"};
    static const char *const prefixes[] = {"/jobe/index.php/restapi/", "/jobe/restapi/"};
    fz_app_t *app = fz_app();
    if (size < 1)
        return 0;
    helpers((const char *)data + 1, size - 1);
    unsigned sel = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t sl = nl ? (size_t)(nl - p) : 0;
    if (sl > 200)
        sl = 200;
    char path[300];
    int n = snprintf(path, sizeof(path), "%s%.*s", prefixes[(sel >> 3) & 1], (int)sl, p);
    for (int i = 0; i < n; i++)
        if (!path[i] || path[i] == '?')
            path[i] = '_';
    const char *body = nl ? nl + 1 : p;
    const char *const hdrs[] = {"content-type", "application/json", NULL};
    int replies = 0;
    rn_http *h = rn_http_new_detached(app->server, methods[sel % 6], path, NULL, hdrs, body,
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
