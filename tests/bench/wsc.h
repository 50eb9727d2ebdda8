/* A minimal blocking WebSocket client for the benchmarks' C load
 * generators (lenses_rows_client.c, load_client.c), so that the client is
 * never what a measurement measures. Header-only: each generator is one
 * file compiled by its Python driver with cc.
 *
 * wsc_connect() opens a TCP connection and upgrades it; wsc_send_text()
 * sends one masked text frame; wsc_frame() returns the next whole frame
 * from the connection's buffer, reading more only when asked to block. */
#ifndef RUNNEL_BENCH_WSC_H
#define RUNNEL_BENCH_WSC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    char *buf;
    size_t size, have, pos;
} wsc;

static inline double wsc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connect to host:port and upgrade on path; 0 or -1 (with a message). */
static inline int wsc_connect(wsc *c, const char *host, const char *port, const char *path,
                              size_t bufsize)
{
    memset(c, 0, sizeof(*c));
    c->buf = malloc(bufsize);
    c->size = bufsize;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (!c->buf || c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: "
                     "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    if (write(c->fd, req, (size_t)n) != n)
        return -1;
    for (;;) { /* the 101 response */
        ssize_t r = read(c->fd, c->buf + c->have, c->size - c->have);
        if (r <= 0)
            return -1;
        c->have += (size_t)r;
        char *e = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (e) {
            if (strncmp(c->buf, "HTTP/1.1 101", 12)) {
                fprintf(stderr, "upgrade refused: %.*s\n", (int)(e - c->buf), c->buf);
                return -1;
            }
            c->pos = (size_t)(e + 4 - c->buf);
            return 0;
        }
    }
}

static inline int wsc_send_text(wsc *c, const char *msg, size_t ml)
{
    unsigned char *frame = malloc(ml + 14);
    if (!frame)
        return -1;
    size_t fl = 0;
    frame[fl++] = 0x81;
    if (ml < 126) {
        frame[fl++] = (unsigned char)(0x80 | ml);
    } else if (ml < 65536) {
        frame[fl++] = 0x80 | 126;
        frame[fl++] = (unsigned char)(ml >> 8);
        frame[fl++] = (unsigned char)ml;
    } else {
        frame[fl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            frame[fl++] = (unsigned char)((uint64_t)ml >> (8 * i));
    }
    static const unsigned char mask[4] = {1, 2, 3, 4};
    memcpy(frame + fl, mask, 4);
    fl += 4;
    for (size_t i = 0; i < ml; i++)
        frame[fl++] = (unsigned char)msg[i] ^ mask[i % 4];
    ssize_t w = write(c->fd, frame, fl);
    free(frame);
    return w == (ssize_t)fl ? 0 : -1;
}

/* Read what the socket has (one read; it blocks only if the socket does). */
static inline int wsc_fill(wsc *c)
{
    if (c->pos) {
        memmove(c->buf, c->buf + c->pos, c->have - c->pos);
        c->have -= c->pos;
        c->pos = 0;
    }
    if (c->have == c->size)
        return -1;
    ssize_t r = read(c->fd, c->buf + c->have, c->size - c->have);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0)
        return -1;
    c->have += (size_t)r;
    return 1;
}

/* The next whole frame in the buffer: 1 with *op, *p and *len set (valid
 * until the next call), 0 if none is whole yet. */
static inline int wsc_frame(wsc *c, int *op, const char **p, uint64_t *len)
{
    size_t avail = c->have - c->pos;
    const unsigned char *b = (const unsigned char *)c->buf + c->pos;
    if (avail < 2)
        return 0;
    uint64_t n = b[1] & 0x7f;
    size_t hl = 2;
    if (n == 126) {
        if (avail < 4)
            return 0;
        n = ((uint64_t)b[2] << 8) | b[3];
        hl = 4;
    } else if (n == 127) {
        if (avail < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | b[2 + i];
        hl = 10;
    }
    if (avail < hl + n)
        return 0;
    *op = b[0] & 0x0f;
    *p = c->buf + c->pos + hl;
    *len = n;
    c->pos += hl + n;
    return 1;
}

#endif
