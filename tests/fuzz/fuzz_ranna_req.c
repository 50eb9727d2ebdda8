/* ranna's ExecutionRequest decoder (EXEC args and POST /v1/exec bodies). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ranna_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root)
        return 0;
    ranna_req req;
    char msg[512];
    int code = ranna_req_parse(root, &req, msg, sizeof(msg));
    if (code) {
        if (code < 400 || code > 599 || !memchr(msg, 0, sizeof(msg)) || !msg[0])
            abort();
    } else {
        /* What the jobs manager will read must be there and consistent. */
        if (req.job.code && strlen(req.job.code) < req.job.code_len)
            abort();
        for (size_t i = 0; i < req.job.nargs; i++)
            if (!req.job.args[i])
                abort();
        for (size_t i = 0; i < req.job.nenv; i++)
            if (!req.job.env[i] || !strchr(req.job.env[i], '='))
                abort();
    }
    ranna_req_free(&req);
    cJSON_Delete(root);
    return 0;
}
