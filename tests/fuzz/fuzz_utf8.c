/* The UTF-8 repair of program output (rn_utf8_sanitize, fed in chunks as
 * pipes deliver it) and the JSON string writer (rn_jbuf_jstr): the result
 * must be valid UTF-8, equal to the input when the input was valid, and
 * decode back from JSON to exactly the repaired text. Input: one byte of
 * chunk size, then the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    rn_jbuf out;
    rn_jbuf_init(&out, 0);
    unsigned char carry[4];
    size_t carry_len = 0;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rn_utf8_sanitize(&out, carry, &carry_len, in + off, n, false);
        if (carry_len > 3)
            abort();
    }
    rn_utf8_sanitize(&out, carry, &carry_len, "", 0, true);
    if (carry_len != 0 || out.oom)
        abort();
    const char *text = out.data ? out.data : "";
    if (!rn_utf8_valid(text, out.len))
        abort();
    bool valid = rn_utf8_valid(in, len);
    if (valid && (out.len != len || memcmp(text, in, len)))
        abort();
    if (!valid && out.len == len && !memcmp(text, in, len))
        abort();

    rn_jbuf js;
    rn_jbuf_init(&js, 0);
    rn_jbuf_str(&js, "[");
    rn_jbuf_jstr(&js, text, out.len);
    rn_jbuf_str(&js, "]");
    if (!rn_utf8_valid(js.data, js.len))
        abort();
    cJSON *j = cJSON_ParseWithLength(js.data, js.len);
    if (!j || !cJSON_IsString(j->child))
        abort();
    /* cJSON stops at a NUL (\u0000), so compare up to the first one. */
    size_t upto = strnlen(text, out.len);
    if (strlen(j->child->valuestring) != upto || memcmp(j->child->valuestring, text, upto))
        abort();
    cJSON_Delete(j);
    rn_jbuf_free(&js);
    rn_jbuf_free(&out);
    return 0;
}
