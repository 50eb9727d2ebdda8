/* Whole ranna WebSocket messages (JSON -> op dispatch -> ExecutionRequest
 * -> jobs) through the envelope, on a detached connection. Input: messages
 * separated by 0x1E; a message starting with 0x1F goes as a binary frame. */
#include "fuzz_env.h"

static void one(const char *p, size_t n, void *ud)
{
    bool binary = n && p[0] == 0x1f;
    fz_conn_message(ud, p + binary, n - binary, binary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_app();
    rn_conn *c = fz_conn_open("/v1/ws", NULL);
    if (c) {
        fz_split(data, size, one, c);
        fz_conn_close(c);
    }
    fz_settle();
    return 0;
}
