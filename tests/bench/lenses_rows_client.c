/* A minimal WebSocket client for tests/bench/lenses_rows.py: sends one
 * Lenses SQL request and counts the frames that come back until the server
 * closes, so the client is never the bottleneck of the measurement.
 *
 *   lenses_rows_client HOST PORT PATH SQL
 * prints: records=N frames=M bytes=B seconds=S first=TYPE last=TYPE */
#include "wsc.h"

static void type_of(const char *p, size_t n, char *out, size_t size)
{
    const char *t = memmem(p, n < 64 ? n : 64, "\"type\":\"", 8);
    size_t k = 0;
    if (t) {
        t += 8;
        while (k + 1 < size && t + k < p + n && t[k] != '"') {
            out[k] = t[k];
            k++;
        }
    }
    out[k] = 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT PATH SQL\n", argv[0]);
        return 2;
    }
    wsc c;
    if (wsc_connect(&c, argv[1], argv[2], argv[3], 1 << 20) < 0)
        return 1;
    char msg[4096];
    int ml = snprintf(msg, sizeof(msg), "{\"sql\":\"%s\"}", argv[4]);
    double t0 = wsc_now();
    if (ml < 0 || (size_t)ml >= sizeof(msg) || wsc_send_text(&c, msg, (size_t)ml) < 0)
        return 1;
    unsigned long long records = 0, frames = 0, bytes = 0;
    char first[32] = "", last[32] = "";
    for (bool closed = false; !closed;) {
        int op;
        const char *p;
        uint64_t len;
        while (!closed && wsc_frame(&c, &op, &p, &len)) {
            if (op == 8) {
                closed = true;
                break;
            }
            frames++;
            bytes += len;
            if (len > 16 && !memcmp(p, "{\"type\":\"RECORD\"", 16))
                records++;
            else
                type_of(p, len, frames == 1 ? first : last, 32);
            if (frames == 1 && !first[0])
                type_of(p, len, first, 32);
        }
        if (!closed && wsc_fill(&c) < 0)
            break;
    }
    double secs = wsc_now() - t0;
    printf("records=%llu frames=%llu bytes=%llu seconds=%.3f first=%s last=%s\n", records, frames,
           bytes, secs, first, last);
    close(c.fd);
    free(c.buf);
    return 0;
}
