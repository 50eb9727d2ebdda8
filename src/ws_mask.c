/* recv() below replaces the C library's: a fortified inline recv from
 * <sys/socket.h> (which libwebsockets.h includes) must not clash with it. */
#undef _FORTIFY_SOURCE
#include "ws_mask.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <libwebsockets.h>

/* The close opcode's value in lws_write (not in the public enum). */
#define WS_MASK_WRITE_CLOSE 4

enum { WATCH_NONE = 0, WATCH_ON, WATCH_BAD, WATCH_CLOSING, WATCH_HEAD };

/* Matched at a line start (after CRLF), case-insensitively, in a head. */
static const char upgrade_line[] = "\r\nupgrade:";

/* One watched socket: where its client's byte stream is in the framing. */
typedef struct {
    _Atomic unsigned char state; /* WATCH_*; read by recv() on any thread */
    unsigned char hlen;          /* header bytes seen of the current frame */
    unsigned char need;          /* its header's whole length, once known */
    unsigned char hdr[14];       /* those bytes */
    uint64_t left;               /* payload bytes still to come */
    struct lws *wsi;
    /* WATCH_HEAD: how much of the blank line ending the request head, and
     * of "\r\nupgrade:", the bytes read so far end with; whether an
     * Upgrade header was seen. */
    unsigned char crlf, up;
    bool upgrade;
} ws_watch;

static ws_watch watches[RN_WS_MASK_FDS];
static unsigned long refused;

static ws_watch *watch_of(int fd)
{
    return fd >= 0 && fd < RN_WS_MASK_FDS ? &watches[fd] : NULL;
}

void rn_ws_mask_watch(struct lws *wsi)
{
    ws_watch *w = watch_of(lws_get_socket_fd(wsi));

    if (w == NULL || lws_is_ssl(wsi))
        return;
    w->hlen = w->need = 0;
    w->left = 0;
    w->wsi = wsi;
    atomic_store_explicit(&w->state, WATCH_ON, memory_order_release);
}

void rn_ws_mask_head(int fd)
{
    ws_watch *w = watch_of(fd);

    if (w == NULL)
        return;
    w->crlf = w->up = 0;
    w->upgrade = false;
    w->wsi = NULL;
    atomic_store_explicit(&w->state, WATCH_HEAD, memory_order_release);
}

void rn_ws_mask_unwatch(struct lws *wsi)
{
    ws_watch *w = watch_of(lws_get_socket_fd(wsi));

    if (w != NULL && w->wsi == wsi) {
        atomic_store_explicit(&w->state, WATCH_NONE, memory_order_release);
        w->wsi = NULL;
    }
}

unsigned long rn_ws_mask_refused(void)
{
    return refused;
}

/* Walk n new bytes of w's stream; returns the offset of the first byte of
 * an unmasked frame (0 when its header began in an earlier read), or n
 * when every frame seen is masked. */
static size_t scan(ws_watch *w, const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (w->left > 0) {
            uint64_t skip = w->left < n - i ? w->left : n - i;
            w->left -= skip;
            i += (size_t)skip;
            continue;
        }
        size_t start = w->hlen == 0 ? i : 0;
        w->hdr[w->hlen++] = p[i++];
        if (w->hlen == 2) {
            if (!(w->hdr[1] & 0x80))
                return start;
            unsigned len7 = w->hdr[1] & 0x7f;
            w->need = (unsigned char)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
        }
        if (w->hlen >= 2 && w->hlen == w->need) {
            unsigned len7 = w->hdr[1] & 0x7f;
            uint64_t len = len7;
            if (len7 == 126)
                len = (uint64_t)w->hdr[2] << 8 | w->hdr[3];
            else if (len7 == 127)
                for (int k = 2; k < 10; k++)
                    len = len << 8 | w->hdr[k];
            w->left = len;
            w->hlen = w->need = 0;
        }
    }
    return n;
}

/* How many of the n bytes at p belong to the request head: n when it goes
 * on past them, else up to its blank line (the head is then over). */
static size_t head_scan(ws_watch *w, const unsigned char *p, size_t n, bool *over)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        w->crlf = c == (unsigned char)"\r\n\r\n"[w->crlf] ? w->crlf + 1 : c == '\r';
        if (tolower(c) == upgrade_line[w->up])
            w->up++;
        else
            w->up = c == '\r';
        if (w->up == sizeof(upgrade_line) - 1) {
            w->upgrade = true;
            w->up = 0;
        }
        if (w->crlf == 4) {
            *over = true;
            return i + 1;
        }
    }
    *over = false;
    return n;
}

/* A request head is read up to its blank line and no further when it asks
 * for an upgrade: frames a client sent early stay in the socket, and the
 * watch that starts with the upgrade parses them from their first byte. */
static ssize_t head_recv(ws_watch *w, int fd, void *buf, size_t len, int flags)
{
    ssize_t n = syscall(SYS_recvfrom, fd, buf, len, flags | MSG_PEEK, NULL, NULL);
    bool over;

    if (n <= 0)
        return n;
    size_t take = head_scan(w, buf, (size_t)n, &over);
    if (over) {
        if (!w->upgrade)
            take = (size_t)n; /* a body or the next request: lws's to read */
        atomic_store_explicit(&w->state, WATCH_NONE, memory_order_release);
    }
    return syscall(SYS_recvfrom, fd, buf, take, flags, NULL, NULL);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    ws_watch *w = watch_of(fd);
    unsigned char st = WATCH_NONE;

    if (w != NULL && !(flags & MSG_PEEK))
        st = atomic_load_explicit(&w->state, memory_order_acquire);
    if (st == WATCH_HEAD)
        return head_recv(w, fd, buf, len, flags);
    ssize_t n = syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);

    if (n <= 0 || w == NULL || (flags & MSG_PEEK))
        return n;
    st = atomic_load_explicit(&w->state, memory_order_acquire);
    if (st == WATCH_NONE)
        return n;
    if (st == WATCH_ON) {
        size_t ok = scan(w, buf, (size_t)n);
        if (ok == (size_t)n)
            return n;
        /* the frame and whatever follows it never reach lws */
        atomic_store_explicit(&w->state, WATCH_BAD, memory_order_release);
        lws_callback_on_writable(w->wsi);
        if (ok > 0)
            return (ssize_t)ok;
    }
    /* a refused client's bytes are read and dropped while its close goes out */
    errno = EAGAIN;
    return -1;
}

bool rn_ws_mask_writable(struct lws *wsi)
{
    ws_watch *w = watch_of(lws_get_socket_fd(wsi));
    unsigned char frame[LWS_PRE + 2 + 16];
    static const char reason[] = "unmasked frame";

    if (w == NULL || w->wsi != wsi)
        return false;
    switch (atomic_load_explicit(&w->state, memory_order_acquire)) {
    case WATCH_BAD:
        break;
    case WATCH_CLOSING:
        return true; /* on its way out */
    default:
        return false;
    }
    atomic_store_explicit(&w->state, WATCH_CLOSING, memory_order_release);
    refused++;
    frame[LWS_PRE] = (unsigned char)(LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8);
    frame[LWS_PRE + 1] = (unsigned char)(LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff);
    memcpy(frame + LWS_PRE + 2, reason, sizeof(reason) - 1);
    /* the client's answering close is not waited for (its bytes are
     * dropped): the connection goes as soon as the frame is written */
    (void)lws_write(wsi, frame + LWS_PRE, 2 + sizeof(reason) - 1,
                    (enum lws_write_protocol)WS_MASK_WRITE_CLOSE);
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
    return true;
}
