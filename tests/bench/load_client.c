/* Load for tests/bench/server.py: K ranna WebSocket connections, each
 * sending its next EXEC as soon as the last one's STOP came, for a number
 * of seconds, from one thread with poll(2), so that the client takes as
 * little of the machine's CPU as it can (the server and its runs share it).
 *
 *   load_client HOST PORT SECONDS K EXEC_JSON STDOUT_JSON
 * EXEC_JSON is the whole op ({"op":1,...}); STDOUT_JSON the run's expected
 * stdout as it appears inside a JSON string (e.g. hi\n). A run is bad when
 * its stdout differs, its STOP's reason is not "exited", or an ERROR came.
 * prints: runs=N bad=B seconds=S p50_ms=X p99_ms=Y client_cpu_s=C */
#include "wsc.h"

#include <poll.h>
#include <sys/resource.h>

#define MAX_K 256

typedef struct {
    wsc c;
    double sent;
    char out[256];
    size_t outlen;
    bool out_over;
} conn;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Append a LOG event's stdout text (still JSON-escaped) to the run's. */
static void take_stdout(conn *k, const char *p, uint64_t len)
{
    const char *s = memmem(p, len, "\"stdout\":\"", 10);
    if (!s)
        return;
    s += 10;
    const char *end = p + len;
    const char *e = s;
    while (e < end && *e != '"')
        e += *e == '\\' ? 2 : 1;
    size_t n = (size_t)(e - s);
    if (k->outlen + n >= sizeof(k->out)) {
        k->out_over = true;
        return;
    }
    memcpy(k->out + k->outlen, s, n);
    k->outlen += n;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT SECONDS K EXEC_JSON STDOUT_JSON\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[3]);
    int K = atoi(argv[4]);
    const char *exec = argv[5], *want = argv[6];
    size_t exec_len = strlen(exec), want_len = strlen(want);
    if (K < 1 || K > MAX_K)
        return 2;
    static conn conns[MAX_K];
    for (int i = 0; i < K; i++)
        if (wsc_connect(&conns[i].c, argv[1], argv[2], "/v1/ws", 1 << 16) < 0)
            return 1;
    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof(*lat));
    unsigned long bad = 0;
    double t0 = wsc_now(), stop_at = t0 + seconds;
    int active = K;
    for (int i = 0; i < K; i++) {
        conns[i].sent = wsc_now();
        if (wsc_send_text(&conns[i].c, exec, exec_len) < 0)
            return 1;
    }
    struct pollfd pfd[MAX_K];
    while (active > 0) {
        for (int i = 0; i < K; i++)
            pfd[i] = (struct pollfd){conns[i].c.fd >= 0 ? conns[i].c.fd : -1, POLLIN, 0};
        if (poll(pfd, (nfds_t)K, 60000) <= 0) {
            fprintf(stderr, "no event for 60 s\n");
            return 1;
        }
        for (int i = 0; i < K; i++) {
            conn *k = &conns[i];
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (wsc_fill(&k->c) < 0) {
                fprintf(stderr, "connection %d lost\n", i);
                return 1;
            }
            int op;
            const char *p;
            uint64_t len;
            while (k->c.fd >= 0 && wsc_frame(&k->c, &op, &p, &len)) {
                if (op != 1)
                    continue;
                bool end = false;
                if (len > 9 && !memcmp(p, "{\"code\":3", 9)) {
                    take_stdout(k, p, len);
                } else if (len > 9 && !memcmp(p, "{\"code\":4", 9)) {
                    end = true;
                    if (!memmem(p, len, "\"reason\":\"exited\"", 17) || k->out_over ||
                        k->outlen != want_len || memcmp(k->out, want, want_len))
                        bad++;
                } else if (len > 9 && !memcmp(p, "{\"code\":1", 9)) {
                    end = true;
                    bad++;
                    if (bad < 5)
                        fprintf(stderr, "error: %.*s\n", (int)len, p);
                }
                if (!end)
                    continue;
                double now = wsc_now();
                if (n == cap) {
                    cap *= 2;
                    lat = realloc(lat, cap * sizeof(*lat));
                }
                lat[n++] = now - k->sent;
                k->outlen = 0;
                k->out_over = false;
                if (now >= stop_at) {
                    close(k->c.fd);
                    k->c.fd = -1;
                    active--;
                    break;
                }
                k->sent = now;
                if (wsc_send_text(&k->c, exec, exec_len) < 0)
                    return 1;
            }
        }
    }
    double took = wsc_now() - t0;
    qsort(lat, n, sizeof(*lat), cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("runs=%zu bad=%lu seconds=%.3f p50_ms=%.2f p99_ms=%.2f client_cpu_s=%.3f\n", n, bad,
           took, n ? lat[n / 2] * 1000 : 0, n ? lat[(size_t)((double)(n - 1) * 0.99)] * 1000 : 0,
           cpu);
    return 0;
}
