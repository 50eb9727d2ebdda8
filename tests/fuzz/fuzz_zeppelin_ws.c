/* Zeppelin frames ({op, data, principal, ticket, msgId}) through the
 * envelope, two connections watching notes. Input: messages separated by 0x1E; a leading 0x1F sends
 * a binary frame, a leading 0x1D sends on a second connection. */
#include "fuzz_env.h"

typedef struct {
    rn_conn *c[2];
} conns;

static void one(const char *p, size_t n, void *ud)
{
    conns *cs = ud;
    bool second = n && p[0] == 0x1d;
    p += second, n -= second;
    bool binary = n && p[0] == 0x1f;
    if (cs->c[second])
        fz_conn_message(cs->c[second], p + binary, n - binary, binary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{

    fz_app();
    conns cs = {{fz_conn_open("/ws", NULL), fz_conn_open("/ws/", NULL)}};
    fz_split(data, size, one, &cs);
    for (int i = 0; i < 2; i++)
        if (cs.c[i])
            fz_conn_close(cs.c[i]);
    fz_settle();
    return 0;
}
