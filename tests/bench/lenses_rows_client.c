/* A minimal WebSocket client for tests/bench/lenses_rows.py: sends one
 * Lenses SQL request and counts the frames that come back until the server
 * closes, so the client is never the bottleneck of the measurement.
 *
 *   lenses_rows_client HOST PORT PATH SQL
 * prints: records=N frames=M bytes=B seconds=S first=TYPE last=TYPE */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 20];
static size_t have, pos;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Make at least n bytes available at buf[pos]. */
static int need(int fd, size_t n)
{
    if (have - pos >= n)
        return 0;
    memmove(buf, buf + pos, have - pos);
    have -= pos;
    pos = 0;
    if (n > sizeof(buf))
        return -1;
    while (have < n) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return 0;
}

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
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return 1;
    }
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: "
                     "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     argv[3], argv[1], argv[2]);
    if (write(fd, req, (size_t)n) != n)
        return 1;
    /* the 101 response */
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r <= 0)
            return 1;
        have += (size_t)r;
        char *e = memmem(buf, have, "\r\n\r\n", 4);
        if (e) {
            if (strncmp(buf, "HTTP/1.1 101", 12)) {
                fprintf(stderr, "upgrade refused: %.*s\n", (int)(e - buf), buf);
                return 1;
            }
            pos = (size_t)(e + 4 - buf);
            break;
        }
    }
    char msg[4096];
    int ml = snprintf(msg, sizeof(msg), "{\"sql\":\"%s\"}", argv[4]);
    unsigned char frame[4200];
    size_t fl = 0;
    frame[fl++] = 0x81;
    if (ml < 126) {
        frame[fl++] = (unsigned char)(0x80 | ml);
    } else {
        frame[fl++] = 0x80 | 126;
        frame[fl++] = (unsigned char)(ml >> 8);
        frame[fl++] = (unsigned char)ml;
    }
    unsigned char mask[4] = {1, 2, 3, 4};
    memcpy(frame + fl, mask, 4);
    fl += 4;
    for (int i = 0; i < ml; i++)
        frame[fl++] = (unsigned char)msg[i] ^ mask[i % 4];
    double t0 = now();
    if (write(fd, frame, fl) != (ssize_t)fl)
        return 1;
    unsigned long long records = 0, frames = 0, bytes = 0;
    char first[32] = "", last[32] = "";
    for (;;) {
        if (need(fd, 2) < 0)
            break;
        unsigned char b0 = (unsigned char)buf[pos], b1 = (unsigned char)buf[pos + 1];
        uint64_t len = b1 & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (need(fd, 4) < 0)
                break;
            len = ((uint64_t)(unsigned char)buf[pos + 2] << 8) | (unsigned char)buf[pos + 3];
            hl = 4;
        } else if (len == 127) {
            if (need(fd, 10) < 0)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | (unsigned char)buf[pos + 2 + i];
            hl = 10;
        }
        if (need(fd, hl + len) < 0)
            break;
        const char *p = buf + pos + hl;
        if ((b0 & 0x0f) == 8)
            break;
        frames++;
        bytes += len;
        if (len > 16 && !memcmp(p, "{\"type\":\"RECORD\"", 16))
            records++;
        else
            type_of(p, len, frames == 1 ? first : last, 32);
        if (frames == 1 && !first[0])
            type_of(p, len, first, 32);
        pos += hl + len;
    }
    double secs = now() - t0;
    printf("records=%llu frames=%llu bytes=%llu seconds=%.3f first=%s last=%s\n", records, frames,
           bytes, secs, first, last);
    close(fd);
    return 0;
}
