/* The Lenses SQL first message ({sql, live, stats}) through the envelope.
 * Input: one byte choosing the path (default, named and unknown
 * environments), then messages separated by 0x1E (only the first counts;
 * a leading 0x1F sends a binary frame). */
#include "fuzz_env.h"

static void one(const char *p, size_t n, void *ud)
{
    bool binary = n && p[0] == 0x1f;
    fz_conn_message(ud, p + binary, n - binary, binary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {
        "/api/ws/v2/sql/execute",
        "/api/v1/environments/demo/proxy/api/ws/v2/sql/execute",
        "/environment/secure/proxy/api/ws/v2/sql/execute/",
        "/api/v1/environments/nope/proxy/api/ws/v2/sql/execute",
    };
    fz_app();
    if (!size)
        return 0;
    rn_conn *c = fz_conn_open(paths[data[0] % 4], NULL);
    if (c) {
        fz_split(data + 1, size - 1, one, c);
        fz_conn_close(c);
    }
    fz_settle();
    return 0;
}
